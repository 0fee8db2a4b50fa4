//! The `rt exec` children, from clone3 to execve: an intermediate child enters the running
//! container's namespaces and clones the exec process into them (see `intermediate`),
//! which becomes the requested process there through the same last steps as the init
//! (process::become_process and process::exec).

use std::convert::Infallible;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sched::{CloneFlags, setns};

use oci_spec::runtime::Process;

use super::process;
use crate::error::{Ctx, StepError};
use crate::spawn::exec::ContainerNs;
use crate::spawn::sync::{Channel, Msg};
use crate::spawn::{self, Forked, clone_process, exit};

pub struct ExecContext<'a> {
    pub process: &'a Process,
    pub preserve_fds: u32,
    /// Where the pty master goes when process.terminal is set.
    pub console_socket: Option<BorrowedFd<'a>>,
    /// rt relays the pty to a stdout that is not a terminal (console::open_in).
    pub relay_verbatim: bool,
    /// Whether setgroups(2) works in the container's user namespace (not where a rootless
    /// rt mapped only itself).
    pub setgroups_allowed: bool,
    /// The container's linux.seccomp, compiled by the parent.
    pub seccomp: Option<&'a crate::security::seccomp::Filter>,
    /// The container's linux.personality and linux.memoryPolicy.
    pub wide: super::sched::ContainerWide<'a>,
    /// The cgroup `tasks` files this process writes itself into on Go (empty: the parent
    /// moves it).
    pub cgroup_self_join: &'a [std::path::PathBuf],
}

/// A pty from the container's devpts instance (rt is inside the container's mount
/// namespace by now, so / is the container's root).
fn open_terminal(ctx: &ExecContext) -> Result<OwnedFd, StepError> {
    let socket = ctx
        .console_socket
        .ok_or_else(|| StepError::msg("process.terminal", "no console socket"))?;
    let root = pathrs::Root::open("/").ctx(|| "process.terminal: opening the container's root")?;
    let pty = crate::console::open_in(&root, ctx.process, ctx.relay_verbatim)?;
    crate::console::send_master(socket, &pty.master)?;
    Ok(pty.slave)
}

/// The exec process, born in every namespace of the container (see `intermediate`) but not yet
/// in its cgroups: `cgroup_files` are the host's cgroup files (tasks, cgroup.procs) the
/// intermediate opened for it, where it writes itself once rt lets it go on.
fn run(
    ctx: &ExecContext,
    chan: &Channel,
    cgroup_files: Vec<std::fs::File>,
) -> Result<Infallible, StepError> {
    // rt's memory (the container's config among it) stays unreadable to the container's
    // processes until execve.
    nix::sys::prctl::set_dumpable(false).ctx(|| "PR_SET_DUMPABLE")?;
    match chan.recv().ctx(|| "waiting for the go-ahead from rt")? {
        Some(Msg::Go(_)) => {}
        // rt exec is gone: nobody wants this process any more.
        None => exit(1),
        Some(other) => return Err(StepError::msg("sync", format!("unexpected {other:?}"))),
    }
    crate::debug!("child process in init(): the exec process, in the container");
    let p = ctx.process;
    for mut f in cgroup_files {
        // "0": the writer itself.
        std::io::Write::write_all(&mut f, b"0").ctx(|| "cgroups: moving the process in")?;
    }
    let terminal = if p.terminal() == Some(true) {
        Some(open_terminal(ctx)?)
    } else {
        None
    };
    let target = process::become_process(
        p,
        ctx.wide,
        super::sched::Role::Exec,
        ctx.setgroups_allowed,
        ctx.seccomp,
    )?;
    crate::debug!("setns_init: about to exec the process");
    process::exec(
        &target,
        ctx.preserve_fds,
        terminal.as_ref(),
        ctx.seccomp,
        |fd| chan.send_fd(&Msg::SeccompFd, fd.as_fd()),
    )
}

pub fn main(ctx: &ExecContext, chan: Channel, cgroup_files: Vec<std::fs::File>) -> ! {
    let e = match run(ctx, &chan, cgroup_files) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Msg::Error(e.to_string()));
    exit(e.exit_code())
}

/// The intermediate child of `rt exec` (see container::exec::clone_exec_process): it
/// enters the container and clones the exec process into it, reports that one's pid and
/// exits.
pub fn intermediate(ns: &ContainerNs, ctx: &ExecContext, chan: Channel) -> ! {
    let fail = |chan: &Channel, e: StepError| -> ! {
        let _ = chan.send(&Msg::Error(e.to_string()));
        exit(1)
    };
    let cgroup_files = match enter(ns, ctx, &chan) {
        Ok(files) => files,
        Err(e) => fail(&chan, e),
    };
    match clone_process(libc::CLONE_PARENT as u64) {
        Ok(Forked::Child) => main(ctx, chan, cgroup_files),
        Ok(Forked::Parent { pid, .. }) => {
            let code = chan.send(&Msg::InitPid(pid)).map(|_| 0).unwrap_or(1);
            exit(code)
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
fn enter(ns: &ContainerNs, ctx: &ExecContext, chan: &Channel) -> Result<Vec<File>, StepError> {
    // runc's name for this milestone in its --debug trace (see init::enter).
    crate::debug!("nsexec container setup: entering the container's namespaces");
    // Nothing of rt's caller stays open (see init::process::close_inherited).
    let mut keep = vec![chan.as_fd().as_raw_fd()];
    keep.extend(ctx.console_socket.map(|fd| fd.as_raw_fd()));
    keep.extend(ns.user.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.others.iter().map(|(_, _, f)| f.as_raw_fd()));
    keep.extend(ns.root.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.pid.iter().map(|f| f.as_raw_fd()));
    keep.extend(ns.time.iter().map(|f| f.as_raw_fd()));
    keep.extend(crate::log::file_fd());
    process::close_inherited(ctx.preserve_fds, &keep)?;
    process::release_callers_stdio(Some(ctx.process))?;
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
    spawn::exec::join(ns)?;
    if let Some(p) = &ns.pid {
        setns(p.as_fd(), CloneFlags::CLONE_NEWPID)
            .ctx(|| "entering the container's pid namespace")?;
    }
    if let Some(t) = &ns.time {
        let flag = CloneFlags::from_bits_retain(spawn::namespaces::CLONE_NEWTIME as i32);
        setns(t.as_fd(), flag).ctx(|| "entering the container's time namespace")?;
    }
    Ok(cgroup_files)
}
