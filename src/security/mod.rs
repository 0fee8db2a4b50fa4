//! What confines the container's processes beyond namespaces: the seccomp filter (compiled
//! by the workspace's `seccomp` crate) and its notify listener.

pub mod seccomp;
