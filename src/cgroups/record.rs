//! What rt records in state.json about the cgroup it made for a container.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::unparsed::Unparsed;

/// The cgroup rt made for the container: enough for `delete` to remove exactly what it
/// created, even when `create` was killed halfway.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CgroupRecord {
    /// Path from the hierarchy's root (v1) or the unified root (v2), in every hierarchy
    /// not listed in `elsewhere`.
    pub path: PathBuf,
    /// A relative cgroupsPath goes below rt's own cgroup in each hierarchy, and on v1 that
    /// can differ between hierarchies: hierarchy root → the path there, where it is not
    /// `path`. Stored, not derived again, since a later `delete` may run in other cgroups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    elsewhere: BTreeMap<PathBuf, PathBuf>,
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
            elsewhere: BTreeMap::new(),
            created: None,
            systemd,
            unit_dir,
        }
    }

    /// A record whose path differs in some hierarchies (hierarchy root → path there).
    pub fn placed(path: PathBuf, elsewhere: BTreeMap<PathBuf, PathBuf>) -> CgroupRecord {
        CgroupRecord {
            elsewhere,
            ..CgroupRecord::new(path, false, None)
        }
    }

    /// The container's path in the hierarchy mounted at `root`, from that root.
    pub fn path_in(&self, root: &Path) -> &Path {
        self.elsewhere.get(root).unwrap_or(&self.path)
    }

    /// The container's directory in the hierarchy mounted at `root` (with the systemd
    /// driver, its unit's).
    pub fn dir_in(&self, root: &Path) -> PathBuf {
        let path = self.unit_dir.as_deref().unwrap_or(self.path_in(root));
        root.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// The record of the cgroup `rel` below this one, in every hierarchy.
    pub fn below(&self, rel: &Path) -> CgroupRecord {
        let elsewhere = self
            .elsewhere
            .iter()
            .map(|(root, path)| (root.clone(), path.join(rel)))
            .collect();
        CgroupRecord::placed(self.path.join(rel), elsewhere)
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
