//! Entering namespaces in an order the kernel allows, for create and for exec alike.

use std::os::fd::BorrowedFd;

use nix::sched::{CloneFlags, setns};

use crate::error::{Ctx, StepError};

/// Enters each `(flag, fd, what)` with setns, a user namespace among them after the
/// others, while this process still has the capabilities it holds where it is: a
/// namespace the user namespace does not own (the host's network next to a container's
/// user namespace, runc's userns.bats "wrong userns owner"; a pod network an engine made
/// on the host, next to the pod's user namespace) can only be entered from outside it.
/// One refused then (EPERM: owned by the user namespace, for a runtime that is not root)
/// is tried again after it. `field` names an entry in errors.
pub fn enter_user_last<T>(
    entries: Vec<(CloneFlags, BorrowedFd<'_>, T)>,
    field: impl Fn(&T) -> String,
) -> Result<(), StepError> {
    let (user, others): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(flag, _, _)| *flag == CloneFlags::CLONE_NEWUSER);
    let mut later = Vec::new();
    for (flag, fd, what) in others {
        match setns(fd, flag) {
            Err(nix::Error::EPERM) if !user.is_empty() => later.push((flag, fd, what)),
            r => r.ctx(|| field(&what))?,
        }
    }
    for (flag, fd, what) in user.into_iter().chain(later) {
        setns(fd, flag).ctx(|| field(&what))?;
    }
    Ok(())
}
