//! The `rt exec` child, from clone3 to execve: it enters the running container's
//! namespaces and becomes the requested process there, through the same last steps as the
//! init (init::process::become_process and exec).

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd, RawFd};

use oci_spec::runtime::Process;

use super::process;
use crate::error::{Ctx, StepError};
use crate::spawn::sync::{Channel, Msg};

pub struct ExecContext<'a> {
    pub process: &'a Process,
    pub preserve_fds: u32,
    /// Where the pty master goes when process.terminal is set.
    pub console_socket: Option<RawFd>,
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
fn open_terminal(p: &Process, socket: Option<RawFd>) -> Result<OwnedFd, StepError> {
    let socket = socket.ok_or_else(|| StepError::msg("process.terminal", "no console socket"))?;
    let root = pathrs::Root::open("/").ctx(|| "process.terminal: opening the container's root")?;
    let pty = crate::console::open_in(&root, p)?;
    crate::console::send_master(socket, &pty.master)?;
    Ok(pty.slave)
}

/// The exec process, born in every namespace of the container (spawn::exec) but not yet
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
        None => super::exit(1),
        Some(other) => return Err(StepError::msg("sync", format!("unexpected {other:?}"))),
    }
    let p = ctx.process;
    for mut f in cgroup_files {
        // "0": the writer itself.
        std::io::Write::write_all(&mut f, b"0").ctx(|| "cgroups: moving the process in")?;
    }
    let terminal = if p.terminal() == Some(true) {
        Some(open_terminal(p, ctx.console_socket)?)
    } else {
        None
    };
    let target = process::become_process(p, ctx.wide, ctx.setgroups_allowed, ctx.seccomp)?;
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
    super::exit(if e.what.starts_with("exec ") { 127 } else { 1 })
}
