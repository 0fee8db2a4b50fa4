//! What goes wrong with cgroups, by kind; each names the config field or the step.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroups: detecting the host's cgroup setup: {0}")]
    Setup(String),
    #[error("linux.cgroupsPath: {0}")]
    Path(String),
    #[error("cgroups: reading this process's cgroup: {0}")]
    Own(String),
    #[error("cgroups: {0}")]
    Manager(String),
    #[error("linux.resources: {0}")]
    Apply(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cgroups: removing {path}: {}", crate::error::io_text(.reason))]
    Remove {
        path: PathBuf,
        reason: std::io::Error,
    },
}
