//! A running container's namespaces, for `rt exec`: which of them differ from rt's own,
//! opened up front (while /proc/<init> is still the host's view and the init has been
//! checked to be the container's), and joined (see `join` for the order).
//! The pid and time namespaces only apply to children of the process that enters them:
//! init/exec.rs enters them last, then clones the exec process into all of them at once.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use nix::sched::CloneFlags;

use crate::error::{Ctx, StepError};

/// The container's namespaces that differ from this process's, opened.
pub struct ContainerNs {
    pub user: Option<File>,
    /// Rootless: the container's pid namespace belongs to its user namespace, and only
    /// from inside that can it be entered, so the parent joins the user namespace itself
    /// (for good: it needs no host privilege afterwards, and its host uid stays what it
    /// was). Root joins it in the child, keeping the parent on the host.
    pub user_by_parent: bool,
    /// ipc, uts, net, cgroup, mnt: joined by the child (see `join`).
    pub others: Vec<(CloneFlags, &'static str, File)>,
    pub pid: Option<File>,
    pub time: Option<File>,
    /// The init's root directory, when the container shares this process's mount
    /// namespace (none of its own) and only a chroot makes its root: entered after the
    /// namespaces, as joining a mount namespace would have.
    pub root: Option<File>,
}

fn differs(kind: &str, pid: i32) -> Result<Option<File>, StepError> {
    let theirs = format!("/proc/{pid}/ns/{kind}");
    let f = match File::open(&theirs) {
        Ok(f) => f,
        // A kernel without this namespace type.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).ctx(|| format!("opening {theirs}")),
    };
    let a = f.metadata().ctx(|| format!("inspecting {theirs}"))?;
    let b =
        std::fs::metadata(format!("/proc/self/ns/{kind}")).ctx(|| "inspecting /proc/self/ns")?;
    Ok(((a.dev(), a.ino()) != (b.dev(), b.ino())).then_some(f))
}

fn chroot_of(pid: i32) -> Result<Option<File>, StepError> {
    let theirs = format!("/proc/{pid}/root");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(&theirs)
        .ctx(|| format!("opening {theirs}"))?;
    let a = f.metadata().ctx(|| format!("inspecting {theirs}"))?;
    let b = std::fs::metadata("/").ctx(|| "inspecting /")?;
    Ok(((a.dev(), a.ino()) != (b.dev(), b.ino())).then_some(f))
}

pub fn open_namespaces(init_pid: i32) -> Result<ContainerNs, StepError> {
    let mut others = Vec::new();
    // The /proc/PID/ns name, and the namespace's name in errors (the config's words).
    for (kind, name, flag) in [
        ("ipc", "ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", "uts", CloneFlags::CLONE_NEWUTS),
        ("net", "network", CloneFlags::CLONE_NEWNET),
        ("cgroup", "cgroup", CloneFlags::CLONE_NEWCGROUP),
        // Last: joining it changes root and cwd to the container's.
        ("mnt", "mount", CloneFlags::CLONE_NEWNS),
    ] {
        if let Some(f) = differs(kind, init_pid)? {
            others.push((flag, name, f));
        }
    }
    let user = differs("user", init_pid)?;
    let root = if others.iter().any(|(f, _, _)| *f == CloneFlags::CLONE_NEWNS) {
        None
    } else {
        chroot_of(init_pid)?
    };
    Ok(ContainerNs {
        root,
        user_by_parent: user.is_some() && !crate::spawn::namespaces::is_host_root(),
        user,
        others,
        pid: differs("pid", init_pid)?,
        time: differs("time", init_pid)?,
    })
}

/// In the child: joins the container's namespaces, a user namespace after the others
/// (see setns::enter_user_last).
pub fn join(ns: &ContainerNs) -> Result<(), StepError> {
    let user = ns.user.as_ref().filter(|_| !ns.user_by_parent);
    let entries = user
        .map(|f| (CloneFlags::CLONE_NEWUSER, f.as_fd(), "user"))
        .into_iter()
        .chain(
            ns.others
                .iter()
                .map(|(flag, name, f)| (*flag, f.as_fd(), *name)),
        )
        .collect();
    super::setns::enter_user_last(entries, |name| {
        format!("joining the container's {name} namespace")
    })?;
    if let Some(root) = &ns.root {
        nix::unistd::fchdir(root.as_raw_fd()).ctx(|| "entering the container's root")?;
        nix::unistd::chroot(".").ctx(|| "chroot into the container's root")?;
        nix::unistd::chdir("/").ctx(|| "entering /")?;
    }
    Ok(())
}
