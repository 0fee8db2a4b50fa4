//! Building an `rt exec` process, parent side: a clone of `rt exec` that enters every
//! namespace of the running container and becomes the requested process there.
//!
//! The pid and time namespaces only apply to children of the process that joins them: an
//! intermediate child joins the others (user first, as the rest may belong to it), then
//! those two, and clones the exec process into all of them at once (see `spawn`). All
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

pub struct ExecChild {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub chan: Channel,
}

/// Makes the exec process in two steps, so that nothing of it is in the container's pid
/// namespace (where a process with CAP_SYS_PTRACE could attach to it, or read
/// /proc/PID/root, while it still had the host's root, cwd and mounts) before it is in
/// every other namespace of the container. An intermediate child (still in the host's pid
/// namespace) joins the user namespace, the others and the root, opens the cgroup files
/// the process moves itself into, then enters the pid and time namespaces for its children
/// and clones the process with CLONE_PARENT: born inside, and a child of `rt exec`, which
/// waits for it. The intermediate reports its pid and exits.
pub fn spawn(
    ns: &ContainerNs,
    ctx: &crate::init::exec::ExecContext,
) -> Result<ExecChild, SpawnError> {
    let (parent_end, child_end) = sync::pair().map_err(SpawnError::Sync)?;
    if let Some(user) = ns.user.as_ref().filter(|_| ns.user_by_parent) {
        setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
            .ctx(|| "joining the container's user namespace")?;
    }
    let (pid, _pidfd) = match clone_process(0).map_err(SpawnError::Clone)? {
        Forked::Child => {
            drop(parent_end);
            intermediate(ns, ctx, child_end)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_end);
    let reported = parent_end.recv();
    // The intermediate exits right after it has reported (or failed).
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    let exec_pid = match reported.map_err(SpawnError::Sync)? {
        Some(Msg::InitPid(p)) => p,
        Some(Msg::Error(e)) => return Err(SpawnError::Child(e)),
        Some(other) => return Err(SpawnError::Protocol(format!("{other:?}"))),
        None => return Err(SpawnError::ChildDied),
    };
    Ok(ExecChild {
        pid: exec_pid,
        pidfd: super::pidfd_of_reported(exec_pid)?,
        chan: parent_end,
    })
}

/// The intermediate child (see `spawn`).
fn intermediate(ns: &ContainerNs, ctx: &crate::init::exec::ExecContext, chan: Channel) -> ! {
    let fail = |chan: &Channel, e: StepError| -> ! {
        let _ = chan.send(&Msg::Error(e.to_string()));
        crate::init::exit(1)
    };
    let cgroup_files = match enter(ns, ctx, &chan) {
        Ok(files) => files,
        Err(e) => fail(&chan, e),
    };
    match clone_process(libc::CLONE_PARENT as u64) {
        Ok(Forked::Child) => crate::init::exec::main(ctx, chan, cgroup_files),
        Ok(Forked::Parent { pid, .. }) => {
            let code = chan.send(&Msg::InitPid(pid)).map(|_| 0).unwrap_or(1);
            crate::init::exit(code)
        }
        Err(e) => fail(
            &chan,
            StepError::msg("creating the process in the container", e.to_string()),
        ),
    }
}

/// The intermediate's steps before it clones the process: close what rt inherited, open
/// the cgroup files (the host's, reachable only now), join every namespace and the root,
/// and make the pid and time namespaces its children's.
fn enter(
    ns: &ContainerNs,
    ctx: &crate::init::exec::ExecContext,
    chan: &Channel,
) -> Result<Vec<File>, StepError> {
    // Nothing of rt's caller stays open (see init::process::close_inherited).
    let mut keep = vec![chan.as_fd().as_raw_fd()];
    keep.extend(ctx.console_socket);
    keep.extend(ns.user.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.others.iter().map(|(_, f)| f.as_raw_fd()));
    keep.extend(ns.root.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.pid.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.time.iter().map(|f| f.as_raw_fd()));
    keep.extend(crate::log::file_fd());
    crate::init::process::close_inherited(ctx.preserve_fds, &keep)?;
    crate::init::process::release_callers_stdio(Some(ctx.process))?;
    let cgroup_files = ctx
        .cgroup_self_join
        .iter()
        .map(|f| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(f)
                .ctx(|| format!("cgroups: opening {}", f.display()))
        })
        .collect::<Result<Vec<File>, StepError>>()?;
    join(ns)?;
    if let Some(p) = &ns.pid {
        setns(p.as_fd(), CloneFlags::CLONE_NEWPID)
            .ctx(|| "entering the container's pid namespace")?;
    }
    if let Some(t) = &ns.time {
        let flag = CloneFlags::from_bits_retain(super::namespaces::CLONE_NEWTIME as i32);
        setns(t.as_fd(), flag).ctx(|| "entering the container's time namespace")?;
    }
    Ok(cgroup_files)
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
