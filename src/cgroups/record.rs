//! What rt records in state.json about the cgroup it made for a container.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The cgroup rt made for the container: enough for `delete` to remove exactly what it
/// created, even when `create` was killed halfway.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CgroupRecord {
    /// Path relative to each hierarchy's root (v1) or the unified root (v2).
    pub path: PathBuf,
    /// Directories rt created, per hierarchy (the leaf and any missing ancestors), deepest
    /// first: exactly what `delete` removes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<PathBuf>,
    #[serde(default)]
    pub systemd: bool,
    /// With the systemd driver `path` is systemd's `slice:prefix:name`; this is the unit's
    /// directory below the cgroup root, where its files are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_dir: Option<PathBuf>,
}
