//! The OCI state document — what `rt state` prints, `list --format json` lists and hooks
//! read on stdin — and the status values in it. Below everything that runs hooks, so that
//! the init can give its hooks their state without knowing the container's records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OCI state document (`rt state`, hooks' stdin, `list --format json`), with runc's
/// extra fields in runc's order.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl OciState {
    /// The document as a hook gets it on stdin: with the status and pid of its moment.
    pub fn hook_input(&self, status: Status, pid: i32) -> Vec<u8> {
        let mut s = self.clone();
        s.status = status;
        s.pid = pid;
        let mut v = serde_json::to_vec(&s).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
