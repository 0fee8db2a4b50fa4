//! Building an `rt exec` process, parent side: a clone of `rt exec` that enters every
//! namespace of the running container and becomes the requested process there.
//!
//! The pid and time namespaces only apply to children of the process that joins them, so
//! the parent joins those two itself just around clone3 (its own pid and time never
//! change: setns only sets the namespaces for its children) and the child is born inside.
//! The others — user first, as the rest may belong to it — the child joins itself. All
//! namespace files are opened up front, while /proc/<init> is still the host's view and
//! the init has been checked to be the container's.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use nix::sched::{CloneFlags, setns};

use super::sync::{self, Channel, Msg};
use super::{Forked, SpawnError, clone_process};
use crate::error::{Ctx, StepError};

/// The container's namespaces that differ from this process's, opened.
pub struct ContainerNs {
    pub user: Option<File>,
    /// Rootless: the container's pid namespace belongs to its user namespace, and only
    /// from inside that can it be entered, so the parent joins the user namespace itself
    /// (for good: it needs no host privilege afterwards, and its host uid stays what it
    /// was). Root joins it in the child, keeping the parent on the host.
    pub user_by_parent: bool,
    /// mnt, net, ipc, uts, cgroup: joined by the child after the user namespace.
    pub others: Vec<(CloneFlags, File)>,
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
    for (kind, flag) in [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
        // Last: joining it changes root and cwd to the container's.
        ("mnt", CloneFlags::CLONE_NEWNS),
    ] {
        if let Some(f) = differs(kind, init_pid)? {
            others.push((flag, f));
        }
    }
    let user = differs("user", init_pid)?;
    let root = if others.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWNS) {
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

/// In the child: joins the user namespace, then the others.
pub fn join(ns: &ContainerNs) -> Result<(), StepError> {
    if let Some(f) = ns.user.as_ref().filter(|_| !ns.user_by_parent) {
        setns(f.as_fd(), CloneFlags::CLONE_NEWUSER)
            .ctx(|| "joining the container's user namespace")?;
    }
    for (flag, f) in &ns.others {
        setns(f.as_fd(), *flag).ctx(|| format!("joining the container's {flag:?}"))?;
    }
    if let Some(root) = &ns.root {
        nix::unistd::fchdir(root.as_raw_fd()).ctx(|| "entering the container's root")?;
        nix::unistd::chroot(".").ctx(|| "chroot into the container's root")?;
        nix::unistd::chdir("/").ctx(|| "entering /")?;
    }
    Ok(())
}

/// Sets the namespace this process's children are born in (pid or time), returning the
/// previous one to restore.
fn for_children(
    target: &Option<File>,
    kind: &str,
    flag: CloneFlags,
) -> Result<Option<File>, StepError> {
    let Some(t) = target else { return Ok(None) };
    let own = File::open(format!("/proc/self/ns/{kind}"))
        .ctx(|| format!("opening own {kind} namespace"))?;
    setns(t.as_fd(), flag).ctx(|| format!("entering the container's {kind} namespace"))?;
    Ok(Some(own))
}

pub struct ExecChild {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub chan: Channel,
}

/// Clones the exec child into the container's pid and time namespaces; `child` runs in it.
pub fn spawn(
    ns: &ContainerNs,
    ctx: &crate::init::exec::ExecContext,
) -> Result<ExecChild, SpawnError> {
    let (parent_end, child_end) = sync::pair().map_err(SpawnError::Sync)?;
    if let Some(user) = ns.user.as_ref().filter(|_| ns.user_by_parent) {
        setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
            .ctx(|| "joining the container's user namespace")?;
    }
    let own_pid = for_children(&ns.pid, "pid", CloneFlags::CLONE_NEWPID)?;
    let own_time = for_children(&ns.time, "time", CloneFlags::from_bits_retain(0x80))?;
    let forked = clone_process(0);
    if let Ok(Forked::Child) = forked {
        // The child is where it belongs; only the parent goes back.
        drop(parent_end);
        // Nothing of rt's caller stays open (see init::process::close_inherited).
        let mut keep = vec![child_end.as_fd().as_raw_fd()];
        keep.extend(ctx.console_socket);
        keep.extend(ns.user.iter().map(|f| f.as_raw_fd()));
        keep.extend(ns.others.iter().map(|(_, f)| f.as_raw_fd()));
        keep.extend(ns.root.iter().map(|f| f.as_raw_fd()));
        keep.extend(crate::log::file_fd());
        if let Err(e) = crate::init::process::close_inherited(ctx.preserve_fds, &keep) {
            let _ = child_end.send(&Msg::Error(e.to_string()));
            crate::init::exit(1)
        }
        crate::init::exec::main(ctx, child_end)
    }
    // Back to our own namespaces for any later child. A rootless parent, now in the
    // container's user namespace, cannot go back, and starts no other child.
    let (own_time, own_pid) = if ns.user_by_parent {
        (None, None)
    } else {
        (own_time, own_pid)
    };
    if let Some(t) = own_time {
        setns(t.as_fd(), CloneFlags::from_bits_retain(0x80))
            .ctx(|| "returning to rt's time namespace")?;
    }
    if let Some(p) = own_pid {
        setns(p.as_fd(), CloneFlags::CLONE_NEWPID).ctx(|| "returning to rt's pid namespace")?;
    }
    match forked.map_err(SpawnError::Clone)? {
        Forked::Child => unreachable_child(),
        Forked::Parent { pid, pidfd } => {
            drop(child_end);
            Ok(ExecChild {
                pid,
                pidfd,
                chan: parent_end,
            })
        }
    }
}

/// The child branch was taken above; this keeps the match total without a panic.
fn unreachable_child() -> Result<ExecChild, SpawnError> {
    Err(SpawnError::Protocol(
        "child returned into the parent's code".into(),
    ))
}

/// After Go: EOF means the process exec'd; a message carries its error. A seccomp notify
/// fd on the way goes to `on_seccomp_fd`.
pub fn wait_exec(
    chan: &Channel,
    mut on_seccomp_fd: impl FnMut(OwnedFd) -> anyhow::Result<()>,
) -> Result<(), SpawnError> {
    loop {
        match chan.recv_with_fd().map_err(SpawnError::Sync)? {
            None => return Ok(()),
            Some((Msg::SeccompFd, Some(fd))) => {
                on_seccomp_fd(fd).map_err(SpawnError::Supervisor)?;
            }
            Some((Msg::Error(e), _)) => return Err(SpawnError::Child(e)),
            Some((other, _)) => return Err(SpawnError::Protocol(format!("{other:?}"))),
        }
    }
}
