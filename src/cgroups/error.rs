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
    /// libcgroups refused: what rt was doing, and libcgroups' own error as the source
    /// (printed after it by the error chain).
    #[error("cgroups{}{what}", if .what.is_empty() { "" } else { ": " })]
    Libcgroups {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("linux.resources: {0}")]
    Apply(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The list of directories rt created, as state.json keeps it.
    #[error("cgroups: the record of the directories rt created: {0}")]
    Record(serde_json::Error),
    #[error("cgroups: removing {path}: {}", crate::error::io_text(.reason))]
    Remove {
        path: PathBuf,
        reason: std::io::Error,
    },
}

impl CgroupError {
    pub(super) fn libcgroups(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> CgroupError {
        CgroupError::Libcgroups {
            what: what.into(),
            source: Box::new(source),
        }
    }
}
