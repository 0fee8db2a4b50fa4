//! What confines the container's processes beyond namespaces and capabilities: the LSM
//! labels (`lsm`) and the seccomp filter (`seccomp`, compiled by the workspace's seccomp
//! crate) with its notify listener.

pub mod lsm;
pub mod seccomp;
