//! `rt create`, parent side, top to bottom in the order it happens. The init's side of the
//! same conversation is init/steps.rs; the channel and its messages are spawn/sync.rs.
//!
//! ```text
//!  rt create                                 init (clone3 child)
//!  load, check and plan the bundle
//!  the state directory appears
//!  cgroups claimed, recorded, made
//!  (v2: limited too; not for the
//!  systemd driver, an intermediate
//!  or a rootless or userns v1 init)
//!  clone3(CLONE_NEW*|CLONE_PIDFD,  ───────▶ waits for Go
//!  CLONE_INTO_CGROUP on v2/hybrid)
//!  uid/gid maps (or on the
//!  intermediate's MapIds)
//!  init recorded; affinity,
//!  oom_score_adj, resctrl group;
//!  (otherwise: cgroups claimed,
//!  recorded, init moved in)
//!  Go(host pid)                    ───────▶ v1: joins its cgroups (tasks); setns
//!                                           joins, cgroupns, mounts
//!  v1: limits, LimitsSet           ───────▶ devices
//!                                  ◀─────── HostSteps  (only for hooks or netDevices)
//!  netDevices moved in, prestart
//!  + createRuntime hooks
//!  HostStepsDone                   ───────▶ hostname, sysctls, createContainer hooks,
//!                                           pivot_root, user, capabilities, program lookup
//!                                  ◀─────── Ready
//!  pidfd socket, pid file,
//!  state.json "created"
//!  Commit{start_now}               ───────▶ waits for `start` (or goes on, for rt run)
//! ```
//!
//! When namespaces must be joined before a user namespace is created, or a user/pid/time
//! namespace is involved in a way clone3 cannot express, an intermediate process does the
//! setns/unshare calls and forks the init (init/intermediate.rs); it reports the init's pid
//! and exits. Whatever fails on the way is undone by `Unwind`, a Drop guard: the init, the
//! cgroups, the network devices, the resctrl group, the state directory and the pid file.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context as _, anyhow, bail};
use oci_spec::runtime::Spec;

use super::lifecycle::destroy_failed;
use super::process::{initial_oom_score_adj, write_pid_file};
use super::state::{CgroupRecord, LaterHooks, SharedMounts, Unparsed};
use super::{Container, Phase, ProcId, State, Status};
use crate::cgroups;
use crate::config::{self, Bundle};
use crate::fault::point;
use crate::hooks;
use crate::init;
use crate::rootfs::shared;
use crate::spawn::namespaces::{self, NsPlan};
use crate::spawn::sync::{self, Channel, Msg};
use crate::spawn::{self, Forked, SpawnError, Spawned};

/// What a create is asked to do: the command line's flags, as plain values.
pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub pidfd_socket: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// rt run: the init goes on to start right after Commit.
    pub start_now: bool,
    /// --systemd-cgroup: cgroupsPath is slice:prefix:name and systemd owns the cgroup.
    pub systemd_cgroup: bool,
    /// rt run in the foreground: a terminal without --console-socket is rt's own to proxy.
    pub terminal_proxy: bool,
    /// Rootless mode: a user namespace is required and cgroups only where delegated.
    pub rootless: bool,
}

/// What `create` leaves for the caller: the init, waiting for start.
pub struct Created {
    pub container: Container,
    pub spawned: Spawned,
    /// The pty master, when rt itself proxies the container's terminal.
    pub console: Option<OwnedFd>,
    /// The container's sd_notify socket, when the caller gave a NOTIFY_SOCKET and the
    /// container starts at once (rt run).
    pub notify: Option<std::os::unix::net::UnixDatagram>,
}

pub fn create(req: &CreateRequest) -> anyhow::Result<Created> {
    // Load, check and plan. Nothing exists on the host yet.
    let (mut bundle, ns) = load_bundle(req)?;
    let listen = init::process::listen_fds();
    if listen > 0
        && let Some(p) = bundle.spec.process_mut()
    {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(init::process::listen_env(listen));
        p.set_env(Some(env));
    }
    let notify_socket = super::notify::callers_socket();
    if notify_socket.is_some() {
        super::notify::add_to_spec(&mut bundle.spec, &super::container_dir(req.root, req.id))?;
    }
    let spec = &bundle.spec;
    // Only a runtime that is not uid 0 needs the container's own user namespace to do
    // privileged work. uid 0 of a user namespace (rootless Docker and podman run their
    // runtime so, as the root of RootlessKit's or podman's namespace) has the
    // capabilities it needs over the namespaces it creates, and the configs those
    // engines write have no user namespace; runc takes them too.
    if req.rootless && !ns.in_user_ns() && !nix::unistd::geteuid().is_root() {
        bail!(
            "linux.namespaces: a rootless container needs a user namespace (see rt spec --rootless)"
        );
    }
    crate::security::lsm::check(spec)?;
    let seccomp = crate::security::seccomp::compile(spec)?;
    let rdt_config = spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref());
    let rdt_root = Path::new(crate::rdt::ROOT);
    if rdt_config.is_some() {
        crate::rdt::check_host(rdt_root)?;
    }
    let net_devices = crate::netdev::plan(spec)?;
    if let Some(d) = &net_devices {
        crate::netdev::check_host(d)?;
    }
    let cgroup = cgroups::plan(spec, req.id, req.systemd_cgroup, req.rootless)?;
    crate::debug!(
        "create {}: bundle {}, namespaces {ns:?}, cgroup {cgroup:?}",
        req.id,
        bundle.dir.display(),
    );
    let mut state = initial_state(req, &bundle, &ns, cgroup)?;
    state.notify_socket = notify_socket;
    state.rdt = rdt_config.map(|r| crate::rdt::plan(rdt_root, r, req.id));
    state.net_devices = net_devices;
    let (console_socket, console_ours) = console_channel(req, spec)?;
    let pidfd_socket = req
        .pidfd_socket
        .map(super::pidfd::PidfdSocket::connect)
        .transpose()?;

    // The state directory appears. From here on whatever fails is undone by the guard.
    let mut container = Container::create(req.root, state)?;
    let mut c = Unwind::new(&mut container, req.pid_file, "create");
    let notify = notify_prepared(&c, req.start_now)?;
    if let (Some(r), Some(planned)) = (rdt_config, &c.state.rdt) {
        let made = crate::rdt::make(rdt_root, r, planned)?;
        c.state.rdt = Some(made);
        c.save()?;
    }
    let listener = match req.start_now {
        true => None,
        false => Some(bind_start_socket(&c.dir)?),
    };
    point("create: start socket bound");
    let idmapped = crate::rootfs::idmap::prepare(spec, &bundle.dir, ns.new_user())?;
    // An init created by an intermediate process, or in a new user namespace, cannot be
    // relied on to move itself: the parent does it.
    let self_join = match &c.state.cgroup {
        Some(record) if !ns.intermediate && !ns.new_user() => {
            cgroups::self_join_files(record)?.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let oci_state = c.state.oci(Status::Creating);
    let cgroup = c.state.cgroup.clone();
    let id_maps = id_map_writer(spec);
    let ctx = init::Context {
        spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        ns: &ns,
        no_pivot: req.no_pivot,
        no_new_keyring: req.no_new_keyring,
        preserve_fds: req.preserve_fds + listen,
        start_listener: listener.as_ref().map(|l| l.as_fd()),
        cgroup: cgroup.as_ref(),
        cgroup_self_join: &self_join,
        oci_state: &oci_state,
        net_devices: c.state.net_devices.is_some(),
        console_socket: console_socket.as_ref().map(|f| f.as_fd()),
        relay_verbatim: console_ours.is_some() && crate::console::relay_verbatim(),
        id_maps,
        idmapped: idmapped.iter().map(|(i, fd)| (*i, fd.as_fd())).collect(),
        seccomp: seccomp.as_ref(),
        runtime_in_user_ns: !namespaces::is_host_root(),
    };

    // The init's cgroups, made before the clone where it is born in them (v2, and a
    // hybrid host's cgroup2 hierarchy) or moves itself in (v1).
    let build = cgroups_made_before_clone(&mut c, spec, !self_join.is_empty(), ns.intermediate)?;

    // Clone the init (directly into its new namespaces, or through the intermediate).
    let (chan, child_end) = sync::pair().map_err(SpawnError::Sync)?;
    let flags = if ns.intermediate { 0 } else { ns.create };
    let born_in = build.as_ref().and_then(|b| b.born_in.as_ref());
    let (forked, born_inside) =
        spawn::clone_process_in(flags, born_in.map(|d| d.as_fd())).map_err(SpawnError::Clone)?;
    let (pid, pidfd) = match forked {
        Forked::Child => {
            drop(chan);
            init::enter(&ctx, child_end)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_end);
    let (mut pid, mut pidfd) = map_ids(&chan, &ns, spec, id_maps, pid, pidfd)?;

    // Recorded before anything else is made for it, so that `delete` can clean up even
    // if rt is killed from here on.
    c.record_init(pid)?;
    point("create: init cloned");
    initial_oom_score_adj(spec.process().as_ref(), pid)?;
    if let Some(r) = &c.state.rdt {
        crate::rdt::add(r, pid)?;
    }
    match build {
        Some(BuiltBeforeClone { born_in, registry }) => {
            // The cgroups are recorded and made already; the init is recorded now.
            c.save()?;
            point("create: init recorded");
            if born_in.is_some()
                && !born_inside
                && let Some(record) = &c.state.cgroup
            {
                // The kernel refused the clone into it (before 5.7, or a seccomp profile
                // without clone3): moved in.
                cgroups::move_to_clone_target(record, pid)?;
                point("create: init placed in its cgroups");
            }
            // Only now is the init in a cgroup of the container, also where it was moved
            // in: until then another create could claim the same empty cgroup.
            drop(registry);
        }
        None => place_in_cgroups(&mut c, spec, pid)?,
    }
    if let (Some(record), Some(uid)) = (&c.state.cgroup, cgroup_owner(spec, &ns, pid)?) {
        cgroups::delegate_to(record, uid)?;
    }

    chan.send(&Msg::Go(pid)).map_err(SpawnError::Sync)?;
    if !self_join.is_empty() {
        limit_while_the_init_mounts(&c, spec, &chan)?;
    }

    // Serve the init until it is Ready.
    loop {
        match spawn::expect(&chan)? {
            Msg::HostSteps => {
                host_steps(&mut c, spec, pid)?;
                chan.send(&Msg::HostStepsDone).map_err(SpawnError::Sync)?;
            }
            Msg::InitPid(init) if ns.join_pid.is_some() => {
                // In a joined pid namespace the init proper exists only now, after
                // pivot_root; `pid` so far was the process that built the container (see
                // init/steps.rs, born_in_joined_pid_ns), which exits right after its report.
                let init_pidfd = spawn::pidfd_of_reported(init)?;
                c.record_init(init)?;
                c.save()?;
                point("create: reborn init recorded");
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                (pid, pidfd) = (init, init_pidfd);
            }
            Msg::Ready => break,
            other => return Err(SpawnError::Protocol(format!("{other:?}")).into()),
        }
    }
    crate::debug!("create {}: init {pid} is ready", req.id);
    point("create: init ready");

    // The init holds its own copy of the listener; ours would only keep the socket alive.
    drop(listener);
    drop(console_socket);
    let console = match console_ours {
        Some(ours) => Some(crate::console::recv_master(ours.as_fd())?),
        None => None,
    };
    if let Some(s) = pidfd_socket {
        s.send(pidfd.as_fd())?;
    }
    if let Some(p) = req.pid_file {
        write_pid_file(p, pid)?;
        point("create: pid file written");
    }
    if let Some(m) = &mut c.state.shared_mounts {
        let now = shared::mount_id(&bundle.rootfs).context("the rootfs bind")?;
        if now != m.before {
            m.bind = Some(now);
        }
    }
    c.state.phase = Phase::Created;
    c.save()?;
    point("create: saved as created");
    chan.send(&Msg::Commit {
        start_now: req.start_now,
    })
    .context("committing the container")?;
    point("create: committed");
    c.disarm();
    Ok(Created {
        container,
        spawned: Spawned { pid, pidfd, chan },
        console,
        notify,
    })
}

/// Undoes a create that fails on its way: what was made for the container (see
/// lifecycle::destroy_failed) and the pid file. Disarmed once the container is committed.
pub(super) struct Unwind<'a> {
    container: &'a mut Container,
    pid_file: Option<&'a Path>,
    /// The command, for the warning if the undoing fails too.
    what: &'static str,
    armed: bool,
}

impl<'a> Unwind<'a> {
    pub(super) fn new(
        container: &'a mut Container,
        pid_file: Option<&'a Path>,
        what: &'static str,
    ) -> Unwind<'a> {
        Unwind {
            container,
            pid_file,
            what,
            armed: true,
        }
    }

    pub(super) fn disarm(mut self) {
        self.armed = false;
    }
}

impl std::ops::Deref for Unwind<'_> {
    type Target = Container;
    fn deref(&self) -> &Container {
        self.container
    }
}

impl std::ops::DerefMut for Unwind<'_> {
    fn deref_mut(&mut self) -> &mut Container {
        self.container
    }
}

impl Drop for Unwind<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let init = self.container.state.init;
        if let Err(e) = destroy_failed(self.container, init) {
            crate::log::warn(&format!(
                "cleaning up after the failed {}: {e:#}",
                self.what
            ));
        }
        if let Some(p) = self.pid_file {
            let _ = fs::remove_file(p);
        }
    }
}

impl Container {
    /// The init's pid and start time, from now on what `delete` kills.
    fn record_init(&mut self, pid: i32) -> anyhow::Result<()> {
        let start = super::read_start_time(pid)
            .map_err(|e| anyhow!("reading the start time of the container process {pid}: {e}"))?
            .ok_or_else(|| anyhow!("the container process {pid} died during setup"))?;
        self.state.init = Some(ProcId { pid, start });
        Ok(())
    }
}

/// Loads and checks the bundle; nothing is created on disk yet.
pub(super) fn load_bundle(req: &CreateRequest) -> anyhow::Result<(Bundle, NsPlan)> {
    super::id::validate(req.id)?;
    let bundle = config::load(req.bundle)?;
    let mut ns = namespaces::plan(&bundle.spec);
    ns.forget_own_mount_ns(|path| {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
        id(path).is_some() && id(path) == id(Path::new("/proc/self/ns/mnt"))
    });
    check_terminal(&bundle.spec, req)?;
    cgroups::validate(&bundle.spec)?;
    Ok((bundle, ns))
}

fn check_terminal(spec: &Spec, req: &CreateRequest) -> anyhow::Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| anyhow!("process: must be set"))?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && req.console_socket.is_none() && !req.terminal_proxy {
        bail!(
            "process.terminal: a terminal needs --console-socket (or rt run in the foreground, \
             which connects it to its own)"
        );
    }
    if !terminal && req.console_socket.is_some() {
        bail!("--console-socket: process.terminal is false, there is no terminal to send");
    }
    Ok(())
}

/// A new container's state as recorded before anything is made for it.
pub(super) fn initial_state(
    req: &CreateRequest,
    bundle: &Bundle,
    ns: &NsPlan,
    cgroup: Option<CgroupRecord>,
) -> anyhow::Result<State> {
    let spec = &bundle.spec;
    let hooks = spec.hooks().as_ref();
    let pid = std::process::id() as i32;
    let start = super::proc_start_time(pid).context("reading this process's start time")?;
    Ok(State {
        oci_version: spec.version().clone(),
        id: req.id.to_owned(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: humantime::format_rfc3339_nanos(SystemTime::now()).to_string(),
        owner: super::owner_name(nix::unistd::geteuid().as_raw()),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        phase: Phase::Creating,
        creator: ProcId { pid, start },
        init: None,
        own_pid_ns: ns.new_pid(),
        cgroup,
        hooks: LaterHooks {
            poststart: hooks
                .and_then(|h| h.poststart().clone())
                .unwrap_or_default(),
            poststop: hooks.and_then(|h| h.poststop().clone()).unwrap_or_default(),
        },
        process: spec
            .process()
            .as_ref()
            .map(Unparsed::new)
            .transpose()
            .context("recording process")?,
        seccomp: spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(Unparsed::new)
            .transpose()
            .context("recording linux.seccomp")?,
        personality: spec.linux().as_ref().and_then(|l| l.personality().clone()),
        memory_policy: spec
            .linux()
            .as_ref()
            .and_then(|l| l.memory_policy().clone()),
        notify_socket: None,
        rdt: None,
        net_devices: None,
        shared_mounts: match ns.mount_ns() {
            namespaces::MountNs::Shared => Some(SharedMounts {
                before: shared::mount_id(&bundle.rootfs)
                    .with_context(|| format!("root.path {}", bundle.rootfs.display()))?,
                bind: None,
            }),
            _ => None,
        },
    })
}

/// Where the pty master goes: a caller's --console-socket, or rt's own end (proxy).
fn console_channel(
    req: &CreateRequest,
    spec: &Spec,
) -> anyhow::Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    super::process::console_channel(terminal, req.console_socket)
}

/// The notify directory the container's mount needs, and for `rt run` its socket, bound
/// before the init may exec.
fn notify_prepared(
    c: &Container,
    start_now: bool,
) -> anyhow::Result<Option<std::os::unix::net::UnixDatagram>> {
    if c.state.notify_socket.is_none() {
        return Ok(None);
    }
    super::notify::make_dir(&c.dir)?;
    Ok(if start_now {
        Some(super::notify::bind(&c.dir)?)
    } else {
        None
    })
}

/// The start socket, bound in the state directory before the init exists (see
/// Container::start_socket_address).
fn bind_start_socket(dir: &Path) -> anyhow::Result<OwnedFd> {
    use nix::sys::socket::{Backlog, bind, listen};
    let bound = || -> std::io::Result<OwnedFd> {
        let (fd, addr, _dir) = super::start_socket(dir)?;
        bind(fd.as_raw_fd(), &addr)?;
        listen(&fd, Backlog::new(1)?)?;
        Ok(fd)
    };
    bound().with_context(|| format!("{}: creating the start socket", dir.display()))
}

/// How this rt may write the id maps of a new user namespace. uid 0 writes them itself
/// also as the root of a user namespace (rootless podman's `--userns keep-id`): it may map
/// whatever its own namespace maps, and the setuid helpers would check /etc/subuid for
/// the host user instead, refusing ranges of podman's namespace.
fn id_map_writer(spec: &Spec) -> spawn::IdMapWriter {
    let linux = spec.linux().as_ref();
    spawn::id_map_writer(
        nix::unistd::geteuid().is_root(),
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
        linux
            .and_then(|l| l.uid_mappings().as_deref())
            .unwrap_or_default(),
        linux
            .and_then(|l| l.gid_mappings().as_deref())
            .unwrap_or_default(),
    )
}

/// The id maps of a new user namespace, written when the process that made it asks (the
/// intermediate's MapIds) or at once (clone3 made it); and, from an intermediate that
/// forked the init, the init's pid. Returns the init, or, with a pid namespace joined by
/// path, the process that builds the container until the init is born (see the loop in
/// `create`).
fn map_ids(
    chan: &Channel,
    ns: &NsPlan,
    spec: &Spec,
    writer: spawn::IdMapWriter,
    pid: i32,
    pidfd: OwnedFd,
) -> Result<(i32, OwnedFd), SpawnError> {
    if !ns.intermediate {
        if ns.new_user() {
            spawn::write_id_maps(pid, spec, writer)?;
        }
        return Ok((pid, pidfd));
    }
    if ns.join_pid.is_some() {
        if ns.new_user() {
            match spawn::expect(chan)? {
                Msg::MapIds => spawn::write_id_maps(pid, spec, writer)?,
                other => return Err(SpawnError::Protocol(format!("{other:?}"))),
            }
            chan.send(&Msg::Mapped).map_err(SpawnError::Sync)?;
        }
        return Ok((pid, pidfd));
    }
    let reap = || {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    };
    let init_pid = loop {
        match spawn::expect(chan) {
            Ok(Msg::MapIds) => {
                spawn::write_id_maps(pid, spec, writer)?;
                chan.send(&Msg::Mapped).map_err(SpawnError::Sync)?;
            }
            Ok(Msg::InitPid(p)) => break p,
            Ok(other) => return Err(SpawnError::Protocol(format!("{other:?}"))),
            Err(e) => {
                reap();
                return Err(e);
            }
        }
    };
    // The intermediate exits right after its report.
    reap();
    Ok((init_pid, spawn::pidfd_of_reported(init_pid)?))
}

/// The init into its cgroups, by rt. Which directories are rt's is decided under the
/// registry lock and recorded (with the init, in one write) before any is created, so a
/// delete after a crash removes exactly those.
fn place_in_cgroups(c: &mut Container, spec: &Spec, pid: i32) -> anyhow::Result<()> {
    let Some(mut record) = c.state.cgroup.clone() else {
        c.save()?;
        point("create: init recorded");
        return Ok(());
    };
    {
        let _registry = cgroups::claim(&mut record)?;
        c.state.cgroup = Some(record.clone());
        c.save()?;
        point("create: cgroups claimed and recorded");
        cgroups::join(&record, spec, &c.state.id, pid)?;
    }
    point("create: init placed in its cgroups");
    Ok(())
}

/// The host uid the container's cgroup is handed to (cgroups::delegate_to), where the
/// runtime spec says a runtime should: a cgroup namespace of its own, and the cgroup file
/// system mounted read-write at /sys/fs/cgroup (source "cgroup", no "ro"); cgroup v2 is
/// checked by delegate_to. The uid is process.user.uid as the host sees it, through the
/// init's uid_map (new, joined or no user namespace alike); None where it is unmapped.
fn cgroup_owner(spec: &Spec, ns: &NsPlan, pid: i32) -> anyhow::Result<Option<u32>> {
    let rw_cgroupfs = spec.mounts().iter().flatten().any(|m| {
        m.source().as_deref() == Some(Path::new("cgroup"))
            && m.destination() == Path::new("/sys/fs/cgroup")
            && !m.options().iter().flatten().any(|o| o == "ro")
    });
    if !ns.new_cgroup || !rw_cgroupfs {
        return Ok(None);
    }
    let uid = spec.process().as_ref().map_or(0, |p| p.user().uid());
    let map = fs::read_to_string(format!("/proc/{pid}/uid_map"))
        .with_context(|| format!("reading the uid_map of the init ({pid})"))?;
    Ok(host_id(&map, uid))
}

/// `id` as the host sees it, through a uid_map or gid_map ("inside outside count" lines).
fn host_id(map: &str, id: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut n = line.split_whitespace().map(|f| f.parse::<u64>().ok());
        let (inside, outside, count) = (n.next()??, n.next()??, n.next()??);
        let id = u64::from(id);
        (inside <= id && id < inside + count)
            .then(|| u32::try_from(outside + (id - inside)).ok())
            .flatten()
    })
}

/// What cgroups_made_before_clone made: the cgroup2 directory the init is born in, and
/// the registry (still locked: until the init is in the cgroup, another create could
/// claim the same empty cgroup, as claim refuses only one with processes).
struct BuiltBeforeClone {
    born_in: Option<OwnedFd>,
    registry: Option<cgroups::Registry>,
}

/// The init's cgroups where they are made before its clone (see
/// cgroups::made_before_clone): claimed and recorded, then made, so that a delete after a
/// crash at any point removes exactly those. On v2 they are limited too; a self-joining
/// init (v1, see cgroups::self_join_files) moves itself in right after Go and sets up its
/// mounts while rt writes the limits (limit_while_the_init_mounts). None where the init
/// is moved in after the clone (place_in_cgroups).
fn cgroups_made_before_clone(
    c: &mut Container,
    spec: &Spec,
    self_join: bool,
    intermediate: bool,
) -> anyhow::Result<Option<BuiltBeforeClone>> {
    let Some(mut record) = c.state.cgroup.clone() else {
        return Ok(None);
    };
    if intermediate || !cgroups::made_before_clone(&record, self_join)? {
        return Ok(None);
    }
    let registry = cgroups::claim(&mut record)?;
    c.state.cgroup = Some(record.clone());
    c.save()?;
    point("create: cgroups claimed and recorded");
    let born_in = cgroups::make_for_clone(&record, spec, &c.state.id)?;
    point("create: cgroup made for the init");
    Ok(Some(BuiltBeforeClone { born_in, registry }))
}

/// A self-joining init sets up its mounts while rt writes its cgroup limits (building
/// libcgroups' manager reads mountinfo and /proc); it waits for them (LimitsSet) only
/// before it makes device nodes, as the device cgroup governs mknod. Not before the
/// clone: no thread may run in rt when it clones the init (a lock held by another thread
/// at that instant stays held forever in the child). A send fails only if the init
/// already failed: what it said is the error to report, read in the loop that follows.
fn limit_while_the_init_mounts(c: &Container, spec: &Spec, chan: &Channel) -> anyhow::Result<()> {
    let Some(record) = &c.state.cgroup else {
        return Ok(());
    };
    cgroups::apply_resources(record, spec, &c.state.id)?;
    point("create: limits set");
    let _ = chan.send(&Msg::LimitsSet);
    Ok(())
}

/// What rt does on the host while the init is in its namespaces with its rootfs mounted:
/// linux.netDevices moved in, then the prestart and createRuntime hooks.
#[allow(deprecated)]
fn host_steps(c: &mut Container, spec: &Spec, pid: i32) -> anyhow::Result<()> {
    if let Some(mut devices) = c.state.net_devices.clone() {
        if devices.netns == crate::netdev::Netns::Held {
            crate::netdev::hold(pid, &c.dir)?;
            point("create: network namespace held");
        }
        crate::netdev::move_in(pid, &mut devices, &mut super::lifecycle::recorder(c))?;
    }
    let state = c.state.hook_input(Status::Creating, pid);
    let hooks = spec.hooks().as_ref();
    hooks::run_all(
        "prestart",
        hooks
            .and_then(|h| h.prestart().as_deref())
            .unwrap_or_default(),
        &state,
        None,
    )?;
    hooks::run_all(
        "createRuntime",
        hooks
            .and_then(|h| h.create_runtime().as_deref())
            .unwrap_or_default(),
        &state,
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::host_id;

    #[test]
    fn ids_through_a_map() {
        let map = "         0     100000      65536\n     65536          0          1\n";
        assert_eq!(host_id(map, 0), Some(100000));
        assert_eq!(host_id(map, 1000), Some(101000));
        assert_eq!(host_id(map, 65536), Some(0));
        assert_eq!(host_id(map, 65537), None);
        // No user namespace: the identity map of the initial namespace.
        assert_eq!(host_id("0 0 4294967295\n", 1000), Some(1000));
        assert_eq!(host_id("", 0), None);
    }
}
