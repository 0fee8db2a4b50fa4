//! start / kill / delete / pause / resume / update of an existing container, and the
//! removal of what a container was given (shared by delete and a failed create).

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

use super::preconditions::{Go, Op, check};
use super::process::{signal_proc, wait_gone};
use super::{Container, ContainerError, Phase, ProcId, Status};
use crate::cgroups;
use crate::hooks;
use crate::rootfs::shared;
use crate::spawn::{self, SpawnError, sync::Channel};

fn connect_start_socket(dir: &Path) -> std::io::Result<Channel> {
    let (fd, addr, _dir) = super::start_socket(dir)?;
    nix::sys::socket::connect(fd.as_raw_fd(), &addr)?;
    Ok(Channel::from(fd))
}

/// Waits until the init has exec'd the container's process (its end of `chan` closes) or
/// reports why it could not; a seccomp notify fd on the way goes to the profile's agent.
pub fn wait_started(c: &Container, pid: i32, chan: &Channel) -> anyhow::Result<()> {
    wait_started_raw(c, pid, chan).map_err(started_error)
}

fn wait_started_raw(c: &Container, pid: i32, chan: &Channel) -> Result<(), SpawnError> {
    spawn::wait_exec(chan, |fd| {
        // Parsed only here: without a notify fd there is nothing to hand over.
        let profile = c.state.seccomp.as_ref().map(|d| d.parse()).transpose();
        let profile = profile.context("state.json: seccomp")?;
        let listener = crate::security::seccomp::listener_of(profile.as_ref())
            .ok_or_else(|| anyhow!("linux.seccomp: a notify fd arrived without a listenerPath"))?;
        let state = c.state.hook_input(Status::Created, pid);
        crate::security::seccomp::send_to_listener(&listener, fd, pid, &state)
    })
}

fn started_error(e: SpawnError) -> anyhow::Error {
    match e {
        SpawnError::Child(text) => anyhow!(text),
        other => anyhow::Error::from(other).context("waiting for the container process to start"),
    }
}

/// SIGKILLs the container (init, and every process of its cgroup when the container shares
/// a pid namespace, where init's death does not take the others along) and waits for init.
fn kill_everything(c: &Container) -> anyhow::Result<()> {
    if !c.state.own_pid_ns {
        kill_cgroup(c, libc::SIGKILL);
    }
    crate::fault::point("delete: cgroup killed");
    if let Some(init) = c.state.init {
        signal_proc(init, libc::SIGKILL).context("killing the container's init")?;
    }
    crate::fault::point("delete: init killed");
    thaw_for_kill(c)?;
    if let Some(init) = c.state.init {
        wait_gone(init, Duration::from_secs(10))?;
    }
    Ok(())
}

/// Signals every process of the container's cgroup; returns how many it signalled. For
/// SIGKILL the cgroup is frozen first, so that no process forks a child past the list,
/// and thawed after, so that the frozen processes can act on the signal (cgroup v1 holds
/// it until then).
fn kill_cgroup(c: &Container, sig: i32) -> usize {
    let Some(record) = &c.state.cgroup else {
        return 0;
    };
    let mut signalled = 0;
    let frozen = sig == libc::SIGKILL
        && cgroups::has_freezer(record)
        && (cgroups::is_frozen(record) || cgroups::freeze(record, &c.state.id, true).is_ok());
    if let Ok(pids) = cgroups::pids(record, &c.state.id) {
        for pid in pids.into_iter().filter(|p| *p > 0) {
            // Raw kill(2): nix's Signal has no real-time signals. A process that exited
            // meanwhile (ESRCH) is fine. The pids come from the container's own cgroup, so
            // a recycled pid would have to be in it, i.e. be the container's.
            // SAFETY: kill takes plain integers and touches no memory of ours.
            if unsafe { libc::kill(pid, sig) } == 0 {
                signalled += 1;
            }
        }
    }
    if frozen {
        // Best effort, as before: kill_everything and the kill of a paused container thaw
        // once more and report a failure.
        let _ = thaw_for_kill(c);
    }
    signalled
}

/// A frozen process cannot act on SIGKILL until it is thawed; thawing after the kill is
/// queued means nothing in the container runs another instruction. cgroup v2 lets a
/// frozen process die of SIGKILL, and systemd removes a scope once its last process is
/// gone: a thaw that fails because the cgroup went meanwhile has nothing left to do.
fn thaw_for_kill(c: &Container) -> anyhow::Result<()> {
    if let Some(record) = &c.state.cgroup
        && cgroups::is_frozen(record)
        && let Err(e) = cgroups::freeze(record, &c.state.id, false)
        && cgroups::is_frozen(record)
    {
        return Err(e.into());
    }
    Ok(())
}

/// Saves the container's network devices as netdev records their moves.
pub(super) fn recorder(
    c: &mut Container,
) -> impl FnMut(&crate::netdev::NetDevRecord) -> anyhow::Result<()> {
    move |now| {
        c.state.net_devices = Some(now.clone());
        Ok(c.save()?)
    }
}

/// linux.netDevices back to the host, as far as they are its (see netdev::release).
fn release_net_devices(c: &mut Container, failed: bool) -> anyhow::Result<()> {
    let Some(mut devices) = c.state.net_devices.clone() else {
        return Ok(());
    };
    let dir = c.dir.clone();
    crate::netdev::release(&dir, &mut devices, failed, &mut recorder(c))
}

/// Undoes a create that failed halfway: the init (if it got that far), the cgroup, the
/// state directory.
pub(super) fn destroy_failed(c: &mut Container, init: Option<ProcId>) -> anyhow::Result<()> {
    crate::debug!(
        "create {} failed: removing init {init:?} and what was made for it",
        c.state.id
    );
    if let Some(init) = init {
        let _ = signal_proc(init, libc::SIGKILL);
        // Our own child in the fast path: reap it so no zombie is left either.
        let _ = nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(init.pid),
            Some(nix::sys::wait::WaitPidFlag::__WALL),
        );
        wait_gone(init, Duration::from_secs(10))?;
    }
    detach_shared_mounts(c)?;
    if let Some(record) = &c.state.cgroup {
        cgroups::remove(record, &c.state.id)?;
    }
    if let Some(r) = &c.state.rdt {
        crate::rdt::remove(r)?;
    }
    release_net_devices(c, true)?;
    c.remove_dir()?;
    Ok(())
}

/// The host-side mounts of a container without a mount namespace of its own. A create
/// that failed before the init was ready has no bind id recorded: then whatever is now at
/// root.path and was not there before create is the init's bind.
fn detach_shared_mounts(c: &Container) -> anyhow::Result<()> {
    let Some(m) = c.state.shared_mounts else {
        return Ok(());
    };
    let rootfs = &c.state.rootfs;
    let bind = match m.bind {
        Some(b) => b,
        None => match shared::mount_id(rootfs) {
            Ok(now) if now != m.before => now,
            _ => return Ok(()),
        },
    };
    let detached = shared::detach(rootfs, bind)
        .with_context(|| format!("detaching the container's mounts at {}", rootfs.display()))?;
    crate::debug!(
        "{}: mounts at {} (bind {bind}) detached: {detached}",
        c.state.id,
        rootfs.display()
    );
    Ok(())
}

/// Removes a stopped container: what is left in its cgroup, the cgroup, its state
/// directory; then the poststop hooks, whose failures are only warnings.
pub fn destroy(c: &mut Container) -> anyhow::Result<()> {
    crate::debug!("destroying {}", c.state.id);
    if !c.state.own_pid_ns {
        kill_cgroup(c, libc::SIGKILL);
    }
    crate::fault::point("delete: destroying");
    detach_shared_mounts(c)?;
    crate::fault::point("delete: mounts detached");
    if let Some(record) = &c.state.cgroup {
        cgroups::remove(record, &c.state.id)?;
    }
    crate::fault::point("delete: cgroups removed");
    if let Some(r) = &c.state.rdt {
        crate::rdt::remove(r)?;
    }
    // A create that never got to Commit failed, whoever ends it.
    release_net_devices(c, c.state.phase == Phase::Creating)?;
    crate::fault::point("delete: network devices back");
    let state = c.state.hook_input(Status::Stopped, 0);
    for (i, h) in c.state.hooks.poststop.iter().enumerate() {
        if let Err(e) = hooks::run(&format!("poststop[{i}]"), h, &state, None) {
            crate::log::warn(&e);
        }
    }
    crate::fault::point("delete: poststop hooks run");
    c.remove_dir()?;
    Ok(())
}

pub fn start(root: &Path, id: &str) -> anyhow::Result<()> {
    let mut c = Container::load_locked(root, id)?;
    check(Op::Start, c.status(), id)?;
    // An init killed by another caller since the status was read: runc's answer (but
    // what the init itself reported, such as a failed startContainer hook, stays).
    let ending = || c.state.init.is_none_or(super::is_ending);
    let stopped = || anyhow!("cannot start a container that has stopped: {id}");
    // Bound before the init may exec, so that no early message is lost.
    let notify = match &c.state.notify_socket {
        Some(_) => Some(super::notify::bind(&c.dir)?),
        None => None,
    };
    let conn = match connect_start_socket(&c.dir) {
        Ok(conn) => conn,
        Err(_) if ending() => return Err(stopped()),
        Err(e) => return Err(anyhow::Error::from(e).context("reaching the container's init")),
    };
    // From here the init proceeds whatever happens to this process; without the socket
    // the container counts as running.
    crate::fault::point("start: connected to the init");
    let _ = fs::remove_file(c.start_socket());
    crate::fault::point("start: start socket removed");
    let pid = c.state.init.map(|p| p.pid).unwrap_or(0);
    match wait_started_raw(&c, pid, &conn) {
        Ok(()) => {}
        Err(e @ SpawnError::Child(_)) => return Err(started_error(e)),
        Err(_) if ending() => return Err(stopped()),
        Err(e) => return Err(started_error(e)),
    }
    crate::fault::point("start: started");
    run_poststart(&c);
    c.unlock();
    if let (Some(sock), Some(caller), Some(init)) = (notify, &c.state.notify_socket, c.state.init) {
        super::notify::forward(&sock, caller, init.pid, || super::is_alive(init))?;
    }
    Ok(())
}

/// poststart hooks; a failure stops the container (runtime-spec 1.2 lifecycle step 9).
/// The runtime spec's lifecycle: "If any poststart hook fails, the runtime MUST log a
/// warning, but the remaining hooks and lifecycle continue as if the hook had succeeded."
/// (runc instead kills the container and fails `start`.)
pub fn run_poststart(c: &Container) {
    let pid = c.state.init.map(|p| p.pid).unwrap_or(0);
    let state = c.state.hook_input(Status::Running, pid);
    for (i, h) in c.state.hooks.poststart.iter().enumerate() {
        if let Err(e) = hooks::run(&format!("poststart[{i}]"), h, &state, None) {
            crate::log::warn(&e);
        }
    }
}

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> anyhow::Result<()> {
    // Behind an rt hung in a hook (a `start` in its poststart hooks), the signal goes out
    // all the same: a caller that stops a container must not wait for its hook. The state
    // read is then the holder's last saved one, and every signal goes through a pidfd of
    // the recorded process, so nothing else is hit.
    let c = match load_within(root, id, HUNG_HOLDER)? {
        Some(c) => c,
        None => Container::load(root, id)?,
    };
    let status = c.status();
    // Without a pid namespace of its own, the init's death takes nobody along: SIGKILL goes
    // to every process of the cgroup, also once the init is gone and the container counts
    // as stopped (runc 1.2: what `kill -a` was needed for before). A stopped container
    // with nothing left in its cgroup is still an error, as the spec says.
    if sig == libc::SIGKILL && !c.state.own_pid_ns && status != Status::Creating {
        let signalled = kill_cgroup(&c, sig);
        if let Some(init) = c.state.init {
            signal_proc(init, sig).context("sending the signal")?;
        }
        if status == Status::Stopped && signalled == 0 {
            bail!("container not running: {id}");
        }
        return Ok(());
    }
    match check(Op::Kill, status, id) {
        Ok(_) => {}
        // `--all` on a stopped container has nothing left to signal: no error (runc).
        Err(_) if all && status == Status::Stopped => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    if all {
        kill_cgroup(&c, sig);
        return Ok(());
    }
    let init = c
        .state
        .init
        .ok_or_else(|| anyhow!("container not running: {id}"))?;
    if !signal_proc(init, sig).context("sending the signal")? {
        bail!("container not running: {id}");
    }
    if sig == libc::SIGKILL && status == Status::Paused {
        thaw_for_kill(&c)?;
    }
    Ok(())
}

pub fn delete(root: &Path, id: &str, force: bool) -> anyhow::Result<()> {
    let loaded = match force {
        true => load_breaking_a_hung_holder(root, id),
        false => Container::load_locked(root, id).map_err(anyhow::Error::from),
    };
    let mut c = match loaded {
        Ok(c) => c,
        Err(e) if force && matches!(e.downcast_ref(), Some(ContainerError::NotExist(_))) => {
            return Ok(Container::remove_stateless(root, id)?);
        }
        Err(e) => return Err(e),
    };
    match check(Op::Delete { force }, c.status(), id)? {
        Go::On => {}
        Go::KillFirst => kill_everything(&c)?,
    }
    destroy(&mut c)
}

/// How long `delete --force` and `kill` wait for the container's lock before they take
/// the holder for hung. Every command holds the lock for milliseconds, except while it
/// runs what the config asked for: hooks (a hook's timeout is optional), CRIU. runc takes
/// no lock and deletes nothing it cannot see: a `runc run` hung in a createRuntime hook
/// stays, with its container, and `runc delete -f` says nothing.
const HUNG_HOLDER: Duration = Duration::from_secs(2);

/// load_locked for `delete --force`: waits HUNG_HOLDER for the lock, then ends the rt
/// process that holds it (SIGKILL: its hooks die with it, and what it left is the debris
/// a killed rt leaves at any point, which the deletion then removes).
fn load_breaking_a_hung_holder(root: &Path, id: &str) -> anyhow::Result<Container> {
    if let Some(c) = load_within(root, id, HUNG_HOLDER)? {
        return Ok(c);
    }
    if let Some(holder) = super::lock_holder(root, id) {
        crate::log::warn(&format_args!(
            "container {id}: rt process {} held it for over {}s; killing it",
            holder.pid,
            HUNG_HOLDER.as_secs()
        ));
        signal_proc(holder, libc::SIGKILL).context("killing the hung rt process")?;
        wait_gone(holder, Duration::from_secs(10))?;
    }
    Ok(Container::load_locked(root, id)?)
}

/// load_locked, giving up after `patience` if another process still holds the lock.
fn load_within(root: &Path, id: &str, patience: Duration) -> anyhow::Result<Option<Container>> {
    let deadline = std::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(c) = Container::try_load_locked(root, id)? {
            return Ok(Some(c));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn cgroup_of(c: &Container) -> anyhow::Result<&super::state::CgroupRecord> {
    c.state
        .cgroup
        .as_ref()
        .ok_or_else(|| anyhow!("container {} has no cgroup", c.state.id))
}

pub fn pause(root: &Path, id: &str) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    check(Op::Pause, c.status(), id)?;
    cgroups::freeze(cgroup_of(&c)?, id, true)?;
    Ok(())
}

pub fn resume(root: &Path, id: &str) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    check(Op::Resume, c.status(), id)?;
    cgroups::freeze(cgroup_of(&c)?, id, false)?;
    Ok(())
}

pub fn update(
    root: &Path,
    id: &str,
    r: &oci_spec::runtime::LinuxResources,
    rdt_schemata: &[String],
) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    check(Op::Update, c.status(), id)?;
    if !rdt_schemata.is_empty() {
        let record = c.state.rdt.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "--l3-cache-schema/--mem-bw-schema: container {id} has no Intel RDT group (its config has no linux.intelRdt)"
            )
        })?;
        crate::rdt::update(record, rdt_schemata)?;
    }
    // Nothing asked (no flags, `{}`, only keys rt ignores): runc succeeds without a
    // change, and engines send such updates.
    if *r == oci_spec::runtime::LinuxResources::default() {
        return Ok(());
    }
    cgroups::update(cgroup_of(&c)?, id, r)?;
    Ok(())
}

/// The container's cgroup and status, for a command that reads the cgroup (`Op::Read`:
/// events; `Op::Ps`).
pub fn readable_cgroup(
    root: &Path,
    id: &str,
    op: Op,
) -> anyhow::Result<(super::state::CgroupRecord, Status)> {
    let c = Container::load(root, id)?;
    let status = c.status();
    check(op, status, id)?;
    Ok((cgroup_of(&c)?.clone(), status))
}
