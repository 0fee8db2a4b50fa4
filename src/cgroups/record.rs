//! What rt records in state.json about the cgroup it made for a container.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::unparsed::Unparsed;

/// The cgroup rt made for the container: enough for `delete` to remove exactly what it
/// created, even when `create` was killed halfway.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CgroupRecord {
    /// Path relative to each hierarchy's root (v1) or the unified root (v2).
    pub path: PathBuf,
    /// Directories rt created, per hierarchy (the leaf and any missing ancestors), deepest
    /// first: exactly what `delete` removes. None: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<Unparsed<Vec<PathBuf>>>,
    #[serde(default)]
    pub systemd: bool,
    /// With the systemd driver `path` is systemd's `slice:prefix:name`; this is the unit's
    /// directory below the cgroup root, where its files are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_dir: Option<PathBuf>,
}

impl CgroupRecord {
    /// A record of `path` before rt has created anything for it.
    pub fn new(path: PathBuf, systemd: bool, unit_dir: Option<PathBuf>) -> CgroupRecord {
        CgroupRecord {
            path,
            created: None,
            systemd,
            unit_dir,
        }
    }

    /// The directories rt created, deepest first.
    pub fn created(&self) -> Result<Vec<PathBuf>, serde_json::Error> {
        self.created
            .as_ref()
            .map_or(Ok(Vec::new()), Unparsed::parse)
    }

    pub fn set_created(&mut self, dirs: &[PathBuf]) -> Result<(), serde_json::Error> {
        self.created = match dirs {
            [] => None,
            _ => Some(Unparsed::new(&dirs.to_vec())?),
        };
        Ok(())
    }
}
