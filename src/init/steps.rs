//! The container's init, from Go to execve, in the order it runs.
//!
//! Until `Ready` every error goes back to the parent over the sync channel and fails
//! `create`. After `Commit` the init waits for `start`; from then on errors go to whoever
//! started it (the `rt start` connection, or the parent for `rt run`).

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::{Mode, umask};
use oci_spec::runtime::{Hook, Spec};

use crate::error::{Ctx, StepError};
use crate::hooks;
use crate::oci_state::Status;
use crate::rootfs::{self, RootfsConfig};
use crate::spawn::namespaces::MountNs;
use crate::spawn::sync::{Channel, Msg};
use crate::spawn::{become_ns_root, exit, join_namespaces};

use super::context::Context;
use super::{process, sched};

/// What execve will get.
struct Exec {
    target: process::Target,
    /// The pty slave that becomes the process's stdio and controlling terminal.
    terminal: Option<OwnedFd>,
}

fn hooks_of<'a>(
    ctx: &'a Context,
    pick: impl Fn(&'a oci_spec::runtime::Hooks) -> &'a Option<Vec<Hook>>,
) -> &'a [Hook] {
    ctx.spec
        .hooks()
        .as_ref()
        .and_then(|h| pick(h).as_deref())
        .unwrap_or_default()
}

/// Whether the parent has work to do in the container's namespaces (Msg::HostSteps).
#[allow(deprecated)]
fn has_host_steps(ctx: &Context) -> bool {
    !hooks_of(ctx, |h| h.prestart()).is_empty()
        || !hooks_of(ctx, |h| h.create_runtime()).is_empty()
        || ctx.net_devices
}

fn wait_for(chan: &Channel, what: &str) -> Result<Msg, StepError> {
    match chan.recv().ctx(|| format!("waiting for {what}"))? {
        Some(m) => Ok(m),
        // The parent is gone: nobody will ever record or start this container.
        None => exit(1),
    }
}

fn set_hostname(spec: &Spec) -> Result<(), StepError> {
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("hostname: {}", crate::error::quoted(h)))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        rustix::system::setdomainname(d.as_bytes())
            .ctx(|| format!("domainname: {}", crate::error::quoted(d)))?;
    }
    Ok(())
}

/// linux.sysctl, written through a private procfs (see crate::procfs): the net, ipc and uts
/// tables under /proc/sys belong to the namespaces of the process that opens them — the
/// container's — and no mount of the container's can redirect or swallow the write.
fn set_sysctls(spec: &Spec) -> Result<(), StepError> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    let mut keys: Vec<_> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let rel = if key.contains('/') {
            key.clone()
        } else {
            key.replace('.', "/")
        };
        if rel.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(StepError::msg(
                format!("linux.sysctl.{key}"),
                "not a sysctl name",
            ));
        }
        crate::procfs::write(
            crate::procfs::Base::ProcRoot,
            &format!("sys/{rel}"),
            sysctl[key].as_bytes(),
            &format!("linux.sysctl.{key}"),
        )?;
    }
    Ok(())
}

/// A session keyring of its own, so the container cannot read or add to the keys of the
/// session rt was started from. Anonymous (a NULL name): joining by a name such as
/// `_ses.<id>` joins an existing keyring of that name when its permissions allow, and a
/// container that may call keyctl could plant one for a container it knows the id of.
fn join_new_session_keyring() -> Result<(), StepError> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name asks for a new anonymous keyring; nothing of ours is read.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if ret < 0 {
        let e = std::io::Error::last_os_error();
        // Kernels without keyrings: nothing to isolate.
        if e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(e).ctx(|| "joining a new session keyring (try --no-new-keyring)");
        }
    }
    Ok(())
}

/// A pty from the container's own devpts instance, its slave bind-mounted on
/// /dev/console and its master sent to the console socket. Done before pivot_root, with
/// every path resolved inside the rootfs and the slave handled only by fd.
fn setup_terminal(
    root: &pathrs::Root,
    process: &oci_spec::runtime::Process,
    socket: Option<BorrowedFd<'_>>,
    relay_verbatim: bool,
) -> Result<OwnedFd, StepError> {
    let socket = socket.ok_or_else(|| StepError::msg("process.terminal", "no console socket"))?;
    let pty = crate::console::open_in(root, process, relay_verbatim)?;
    rootfs::devices::bind_console(root, &pty.slave)?;
    crate::console::send_master(socket, &pty.master)?;
    Ok(pty.slave)
}

/// Everything up to Ready.
fn setup(ctx: &Context, chan: &Channel) -> Result<(Exec, i32), StepError> {
    let pid = match wait_for(chan, "the go-ahead from rt")? {
        Msg::Go(pid) => pid,
        other => return Err(StepError::msg("sync", format!("unexpected {other:?}"))),
    };
    // The init runs rt's code with rt's memory until execve: no process in the container
    // may ptrace it or open its /proc files meanwhile. Not before Go: a non-dumpable
    // process's /proc files belong to root, and a rootless parent must still write its
    // uid_map; until Go the init is alone in its namespaces and does nothing.
    nix::sys::prctl::set_dumpable(false).ctx(|| "PR_SET_DUMPABLE")?;
    // A self-joining init (v1, see cgroups::self_join_files) moves itself into the
    // cgroups rt made before the clone: before it joins any namespace, as the paths are
    // the host's (a joined mount namespace may not even have them), and before its cgroup
    // namespace, which is rooted where it is at that moment. Device nodes wait for the
    // limits rt writes meanwhile (mknod is subject to the device cgroup), and so does
    // everything after the rootfs: hooks, hostname, execve.
    crate::cgroups::join_self(ctx.cgroup_self_join)?;
    if !ctx.ns.intermediate {
        if ctx.ns.new_user() {
            become_ns_root()?;
        }
        join_namespaces(&ctx.ns.join)?;
    }
    // Any other init is in its cgroups since before Go.
    if ctx.ns.new_cgroup {
        unshare(CloneFlags::CLONE_NEWCGROUP).ctx(|| "creating the cgroup namespace")?;
    }
    // The init is in its final user namespace now. setgroups(2) may be denied there also
    // where rt did not make it so (rt itself in a namespace made by `unshare -r`, a joined
    // one), which only the namespace's own file tells; read while the host's /proc is
    // still mounted.
    let setgroups_allowed = ctx.id_maps.setgroups_allowed()
        && (!(ctx.ns.in_user_ns() || ctx.runtime_in_user_ns)
            || std::fs::read_to_string("/proc/self/setgroups")
                .map_or(true, |s| s.trim() != "deny"));
    // Modes given in the config (devices, mount points) are meant exactly.
    umask(Mode::empty());

    let mount_ns = ctx.ns.mount_ns();
    let proc_pidns = ctx
        .ns
        .join_pid
        .as_ref()
        .and_then(|_| rootfs::joined_pid_ns_for_proc());
    let rootfs_cfg = RootfsConfig {
        spec: ctx.spec,
        bundle: ctx.bundle,
        rootfs: ctx.rootfs,
        in_user_ns: ctx.ns.in_user_ns() || ctx.runtime_in_user_ns,
        own_mount_ns: mount_ns != MountNs::Shared,
        cgroup_ns: ctx.ns.new_cgroup,
        cgroup: ctx.cgroup,
        idmapped: &ctx.idmapped,
        defer_proc: ctx.ns.join_pid.is_some() && proc_pidns.is_none(),
        proc_pidns: proc_pidns.as_ref().map(|fd| fd.as_fd()),
    };
    // Also in a joined mount namespace and in none (see MountNs): skipping it there would
    // leave the container on the host's root.
    let mut mounting = rootfs::begin(&rootfs_cfg)?;
    rootfs::mount_all(&rootfs_cfg, &mut mounting)?;
    if !ctx.cgroup_self_join.is_empty() {
        match wait_for(chan, "the container's cgroup limits")? {
            Msg::LimitsSet => {}
            other => return Err(StepError::msg("sync", format!("unexpected {other:?}"))),
        }
    }
    let prepared = rootfs::make_devices(&rootfs_cfg, mounting)?;
    // Before the sysctls: net.* keys may name a device the parent moves in here. The
    // prestart and createRuntime hooks see the container before its hostname, as runc's.
    if has_host_steps(ctx) {
        chan.send(&Msg::HostSteps).ctx(|| "sync")?;
        match wait_for(chan, "the runtime hooks")? {
            Msg::HostStepsDone => {}
            other => return Err(StepError::msg("sync", format!("unexpected {other:?}"))),
        }
    }
    set_hostname(ctx.spec)?;
    set_sysctls(ctx.spec)?;
    let create_container = hooks_of(ctx, |h| h.create_container());
    if !create_container.is_empty() {
        // The hooks start in the container's rootfs, still reached by its host path in
        // this mount namespace, as runc's do (which chdirs there before running them):
        // hooks written for runc use paths relative to it ("./lib/...").
        nix::unistd::fchdir(prepared.root.as_fd().as_raw_fd())
            .ctx(|| "hooks.createContainer: entering the rootfs")?;
    }
    hooks::run_all(
        "createContainer",
        create_container,
        &ctx.oci_state.hook_input(Status::Creating, pid),
        None,
    )
    .map_err(StepError::other)?;

    let terminal = match ctx.spec.process().as_ref() {
        Some(process) if process.terminal() == Some(true) => Some(setup_terminal(
            &prepared.root,
            process,
            ctx.console_socket,
            ctx.relay_verbatim,
        )?),
        _ => None,
    };
    let deferred = &prepared.deferred;
    rootfs::paths::protect(&prepared.root, ctx.spec, rootfs::paths::Null::Open, |p| {
        !deferred.covers(p)
    })?;
    let entry = match mount_ns {
        MountNs::Shared => rootfs::pivot::Entry::Chroot,
        _ if ctx.no_pivot => rootfs::pivot::Entry::MoveAndChroot,
        _ => rootfs::pivot::Entry::Pivot,
    };
    rootfs::pivot::enter(&prepared.root, entry)?;
    let rootfs::Prepared { root, deferred } = prepared;
    drop(root);
    let pid = if ctx.ns.join_pid.is_some() {
        let pid = born_in_joined_pid_ns(chan)?;
        let mut trees = ctx.idmapped.clone();
        trees.extend(deferred.trees.iter().map(|(i, fd)| (*i, fd.as_fd())));
        let later = RootfsConfig {
            idmapped: &trees,
            defer_proc: false,
            proc_pidns: None,
            ..rootfs_cfg
        };
        let root = rootfs::mount_deferred(&later, &deferred)?;
        let null = rootfs::paths::Null::Clones(&deferred.nulls);
        rootfs::paths::protect(&root, ctx.spec, null, |p| deferred.covers(p))?;
        pid
    } else {
        pid
    };
    drop(deferred);
    rootfs::finish(ctx.spec)?;
    if !ctx.no_new_keyring {
        join_new_session_keyring()?;
    }

    let process = ctx
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| StepError::msg("process", "must be set"))?;
    let wide = sched::ContainerWide {
        personality: ctx
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.personality().as_ref()),
        memory_policy: ctx
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.memory_policy().as_ref()),
        cpus_limited: ctx
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.cpu().as_ref())
            .and_then(|c| c.cpus().as_deref())
            .is_some_and(|c| !c.trim().is_empty()),
    };
    let target = process::become_process(
        process,
        wide,
        sched::Role::Init,
        setgroups_allowed,
        ctx.seccomp,
    )?;
    Ok((Exec { target, terminal }, pid))
}

/// In a pid namespace joined by path (a pod's), rt's process built the container's
/// rootfs outside of it (its pid_for_children is the pod's, since before any other
/// namespace was entered, as the kernel requires): until pivot_root it had the host's root
/// and mounts, and anyone in the pod with CAP_SYS_PTRACE could have reached them through
/// it. Only now, on the container's root with the host's mounts gone, is the init born
/// there: CLONE_PARENT makes it rt's child, as the builder's sibling. The builder reports
/// its host pid to rt, then to the init through a pipe (the init only knows its pid in the
/// pod's namespace), and exits; the init goes on once it has read it, so rt hears of it
/// before anything the init says.
fn born_in_joined_pid_ns(chan: &Channel) -> Result<i32, StepError> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "pipe")?;
    match crate::spawn::clone_process(libc::CLONE_PARENT as u64)
        .ctx(|| "creating the init in the joined pid namespace")?
    {
        crate::spawn::Forked::Child => {
            drop(w);
            let mut buf = [0u8; 4];
            let mut f = std::fs::File::from(r);
            std::io::Read::read_exact(&mut f, &mut buf)
                .ctx(|| "waiting for the pid namespace's init to be reported")?;
            Ok(i32::from_ne_bytes(buf))
        }
        crate::spawn::Forked::Parent { pid, .. } => {
            drop(r);
            if chan.send(&Msg::InitPid(pid)).is_err() {
                exit(1)
            }
            let mut f = std::fs::File::from(w);
            let code = std::io::Write::write_all(&mut f, &pid.to_ne_bytes()).map_or(1, |_| 0);
            exit(code)
        }
    }
}

/// From `start` to execve. `chan` reaches whoever started the container (the `rt start`
/// connection, or the parent for `rt run`): it gets a seccomp notify fd, and the error if
/// there is one; execve closes it.
fn start(ctx: &Context, exec: &Exec, pid: i32, chan: &Channel) -> Result<Infallible, StepError> {
    hooks::run_all(
        "startContainer",
        hooks_of(ctx, |h| h.start_container()),
        &ctx.oci_state.hook_input(Status::Created, pid),
        ctx.seccomp,
    )
    .map_err(StepError::other)?;
    process::exec(
        &exec.target,
        ctx.preserve_fds,
        exec.terminal.as_ref(),
        ctx.seccomp,
        |fd| chan.send_fd(&Msg::SeccompFd, fd.as_fd()),
    )
}

/// Blocks until `rt start` connects to the start socket.
/// The listening socket stays open until execve closes it (close-on-exec); `rt start`
/// removes its path once connected, so nobody else reaches it meanwhile.
fn wait_for_start(listener: BorrowedFd<'_>) -> Result<Channel, StepError> {
    loop {
        match nix::sys::socket::accept4(
            listener.as_raw_fd(),
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        ) {
            // SAFETY: accept4 returned a new fd that nothing else owns.
            Ok(fd) => return Ok(Channel::from(unsafe { OwnedFd::from_raw_fd(fd) })),
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).ctx(|| "waiting for start"),
        }
    }
}

pub fn main(ctx: &Context, chan: Channel) -> ! {
    crate::debug!("child process in init(): setting up the container");
    let (exec, pid) = match setup(ctx, &chan) {
        Ok(x) => x,
        Err(e) => {
            let _ = chan.send(&Msg::Error(e.to_string()));
            exit(1)
        }
    };
    crate::debug!("init: closing the pipe to signal completion: the container is ready");
    if chan.send(&Msg::Ready).is_err() {
        exit(1);
    }
    let start_now = match wait_for(&chan, "commit") {
        Ok(Msg::Commit { start_now }) => start_now,
        _ => exit(1),
    };
    let chan = if start_now {
        chan
    } else {
        // `rt create` returns now: no line of rt's may appear on the container's stderr
        // from here on (runc's init logs through its parent, which is gone by then).
        crate::log::mute_stderr();
        drop(chan);
        let Some(listener) = ctx.start_listener else {
            exit(1)
        };
        if process::die_on_termination_signals().is_err() {
            exit(1);
        }
        match wait_for_start(listener) {
            Ok(conn) => conn,
            Err(_) => exit(1),
        }
    };
    let e = match start(ctx, &exec, pid, &chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Msg::Error(e.to_string()));
    exit(e.exit_code())
}
