//! The integration suite: the built `rt` binary driven as containerd and people drive it,
//! on generated busybox bundles, with every effect checked from inside the container.
//! Needs root; run with `cargo test`.

mod common;

mod cgroups;
mod checkpoint;
mod cleanup;
mod cli;
mod devices;
mod exec;
mod faults;
mod features;
mod hooks;
mod lifecycle;
mod mounts;
mod namespaces;
mod netdev;
mod notify;
mod pidfd;
mod process;
mod rootfs;
mod rootless;
mod scheduling;
mod seccomp;
mod security;
mod soak;
mod stress;
mod terminal;
mod userns;
