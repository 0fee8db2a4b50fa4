//! linux.seccomp: compiled in the parent before anything is created (a bad profile fails
//! `create` with the field named), installed by the init or exec child, and — for
//! SCMP_ACT_NOTIFY — its listener fd handed to linux.seccomp.listenerPath.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use anyhow::{Context, anyhow};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use oci_spec::runtime::{LinuxSeccomp, Spec};

use crate::error::StepError;

pub use ::seccomp::{Filter, Listener};

/// The config's profile as a ready filter (None without linux.seccomp).
pub fn compile(spec: &Spec) -> anyhow::Result<Option<Filter>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(compile_profile)
        .transpose()
}

/// A linux.seccomp profile as a ready filter; errors name the field.
pub fn compile_profile(profile: &LinuxSeccomp) -> anyhow::Result<Filter> {
    let filter = ::seccomp::compile(profile).map_err(|e| match e {
        ::seccomp::Error::Invalid { field, reason } => {
            anyhow!("linux.seccomp.{field}: {reason}")
        }
        other => anyhow!("linux.seccomp: {other}"),
    })?;
    if !filter.skipped.is_empty() {
        crate::debug!(
            "linux.seccomp: syscalls this kernel's tables do not know, skipped: {}",
            filter.skipped.join(", ")
        );
    }
    if !filter.foreign_arches.is_empty() {
        crate::debug!(
            "linux.seccomp: architectures an x86_64 kernel never runs, ignored: {}",
            filter.foreign_arches.join(", ")
        );
    }
    Ok(filter)
}

/// Installs the filter in the calling process (the container's init or an exec child),
/// the last step before execve (see `init::process::exec`); a notify fd goes to
/// `hand_over` on the way.
pub fn install(
    filter: Option<&Filter>,
    hand_over: impl FnOnce(OwnedFd) -> std::io::Result<()>,
) -> Result<(), StepError> {
    let Some(filter) = filter else {
        return Ok(());
    };
    // runc's words: its seccomp.bats reads the flags from this line.
    crate::debug!("seccomp filter flags: {}", filter.flags);
    filter
        .install(hand_over)
        .map_err(|e| StepError::msg("linux.seccomp", e.to_string()))
}

/// The agent a notify fd goes to, from the profile recorded in the container's state.
pub fn listener_of(profile: Option<&LinuxSeccomp>) -> Option<Listener> {
    let profile = profile?;
    Some(Listener {
        path: profile.listener_path().clone()?,
        metadata: profile.listener_metadata().clone().unwrap_or_default(),
    })
}

/// Hands the notify fd to the seccomp agent as the runtime spec describes: one message on
/// a new connection to listenerPath, the fd in SCM_RIGHTS and the container process state
/// (`ContainerProcessState`) as the payload.
pub fn send_to_listener(
    listener: &Listener,
    fd: OwnedFd,
    pid: i32,
    state: &[u8],
) -> anyhow::Result<()> {
    let field = || format!("linux.seccomp.listenerPath {}", listener.path.display());
    let state: serde_json::Value = serde_json::from_slice(state).context("container state")?;
    let payload = serde_json::json!({
        "ociVersion": state.get("ociVersion").cloned().unwrap_or_default(),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": listener.metadata,
        "state": state,
    });
    let bytes = serde_json::to_vec(&payload)?;
    // "failed to connect with seccomp agent": runc's words, which callers look for.
    let conn = UnixStream::connect(&listener.path)
        .with_context(|| format!("{}: failed to connect with seccomp agent", field()))?;
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(std::io::Error::from)
    .with_context(field)?;
    Ok(())
}
