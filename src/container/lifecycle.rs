//! create / start / kill / delete: the OCI lifecycle on top of the state directory,
//! the cgroup and the init process.

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use oci_spec::runtime::Spec;

use super::state::{LaterHooks, SharedMounts};
use super::{Container, ContainerError, Phase, ProcId, State, Status};
use crate::cgroups;
use crate::cli::CreateOpts;
use crate::config::{self, Bundle};
use crate::hooks;
use crate::init;
use crate::rootfs::shared;
use crate::spawn::{self, Spawned, Supervisor, namespaces, sync::Msg};

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

fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

fn self_proc() -> anyhow::Result<ProcId> {
    let pid = std::process::id() as i32;
    let start = super::proc_start_time(pid).context("reading this process's start time")?;
    Ok(ProcId { pid, start })
}

/// process.execCPUAffinity.initial: set by rt on the new process before it joins its
/// cgroups (a cpuset cgroup replaces it then, and the process sets `final` itself before
/// execve), so that it runs where the caller wants while it is set up.
pub fn initial_affinity(
    process: Option<&oci_spec::runtime::Process>,
    pid: i32,
) -> anyhow::Result<()> {
    if let Some(list) = process
        .and_then(|p| p.exec_cpu_affinity().as_ref())
        .and_then(|a| a.initial().as_deref())
    {
        init::sched::set_affinity(pid, list, "process.execCPUAffinity.initial")?;
    }
    Ok(())
}

/// process.oomScoreAdj, set by rt (root of the host) on the new process — the init or an
/// exec process — before it goes on: one inside a user namespace could not lower its own
/// (that takes CAP_SYS_RESOURCE in the host's user namespace), as runc's can't either
/// once in it, which is why runc writes it first. Through a private procfs (procfs.rs):
/// the process waits for Go, so its pid is its own.
pub fn initial_oom_score_adj(
    process: Option<&oci_spec::runtime::Process>,
    pid: i32,
) -> anyhow::Result<()> {
    if let Some(adj) = process.and_then(|p| p.oom_score_adj()) {
        let pid = u32::try_from(pid).map_err(|_| anyhow!("pid {pid}"))?;
        crate::procfs::write(
            crate::procfs::Base::ProcPid(pid),
            "oom_score_adj",
            adj.to_string().as_bytes(),
            "process.oomScoreAdj",
        )?;
    }
    Ok(())
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

/// The state JSON hooks get on stdin.
pub fn hook_state(state: &State, status: Status, pid: i32) -> Vec<u8> {
    let mut s = state.oci(status);
    s.pid = pid;
    let mut v = serde_json::to_vec(&s).unwrap_or_default();
    v.push(b'\n');
    v
}

fn check_supported(spec: &Spec, opts: &CreateOpts, terminal_proxy: bool) -> anyhow::Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| anyhow!("process: must be set"))?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() && !terminal_proxy {
        bail!(
            "process.terminal: a terminal needs --console-socket (or rt run in the foreground, \
             which connects it to its own)"
        );
    }
    if !terminal && opts.console_socket.is_some() {
        bail!("--console-socket: process.terminal is false, there is no terminal to send");
    }
    Ok(())
}

/// Writes the pid file atomically (readers never see a partial number).
pub fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let path =
        std::path::absolute(path).with_context(|| format!("--pid-file {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(
        ".{}.rt-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(pid.to_string().as_bytes())?;
        fs::rename(&tmp, &path)
    };
    write().with_context(|| format!("--pid-file {}", path.display()))
}

struct CreateSupervisor<'a> {
    container: &'a mut Container,
    spec: &'a Spec,
    init: Option<ProcId>,
    /// The init moves itself into its cgroups (see cgroups::self_join_files).
    self_join: bool,
}

impl CreateSupervisor<'_> {
    fn record_init(&mut self, pid: i32) -> anyhow::Result<()> {
        let start = super::read_start_time(pid)
            .map_err(|e| anyhow!("reading the start time of the container process {pid}: {e}"))?
            .ok_or_else(|| anyhow!("the container process {pid} died during setup"))?;
        let proc_id = ProcId { pid, start };
        self.init = Some(proc_id);
        self.container.state.init = Some(proc_id);
        Ok(())
    }
}

impl Supervisor for CreateSupervisor<'_> {
    fn init_started(&mut self, pid: i32, _pidfd: &OwnedFd) -> anyhow::Result<()> {
        // Recorded before anything else is created for it, so that `delete` can clean up
        // even if this process is killed from here on.
        self.record_init(pid)?;
        crate::fault::point("create: init cloned");
        initial_affinity(self.spec.process().as_ref(), pid)?;
        initial_oom_score_adj(self.spec.process().as_ref(), pid)?;
        if let Some(r) = &self.container.state.rdt {
            crate::rdt::add(r, pid)?;
        }
        if self.self_join {
            // Recorded with its cgroups in init_going; until then an init whose rt died
            // exits (its channel closes) and nothing of it is on the host.
            return Ok(());
        }
        let Some(mut record) = self.container.state.cgroup.clone() else {
            self.container.save()?;
            crate::fault::point("create: init recorded");
            return Ok(());
        };
        {
            // Which directories are rt's is decided under the registry lock and recorded
            // (with the init, in one write) before any is created, so a delete after a
            // crash removes exactly those.
            let _registry = cgroups::claim(&mut record)?;
            self.container.state.cgroup = Some(record.clone());
            self.container.save()?;
            crate::fault::point("create: cgroups claimed and recorded");
            cgroups::join(&record, self.spec, &self.container.state.id, pid)?;
        }
        crate::fault::point("create: init placed in its cgroups");
        Ok(())
    }

    /// A self-joining init (v1) sets up its mounts while its cgroups are made: the
    /// directories first (it moves in before the cgroup mount), then the limits (building
    /// libcgroups' manager reads mountinfo a dozen times; the init waits only before it
    /// makes device nodes, as the device cgroup governs mknod). A send fails only if the
    /// init already failed: what it said is the error to report, read by the caller.
    fn init_going(&mut self, _pid: i32, chan: &spawn::sync::Channel) -> anyhow::Result<()> {
        if !self.self_join {
            return Ok(());
        }
        let Some(mut record) = self.container.state.cgroup.clone() else {
            return Ok(());
        };
        let build = cgroups::ManagerBuild::start(&record, &self.container.state.id);
        {
            let _registry = cgroups::claim(&mut record)?;
            self.container.state.cgroup = Some(record.clone());
            self.container.save()?;
            crate::fault::point("create: cgroups claimed and recorded");
            cgroups::create_dirs(&record)?;
        }
        crate::fault::point("create: cgroup directories made");
        let _ = chan.send(&Msg::CgroupsReady);
        cgroups::apply_resources(&record, self.spec, &self.container.state.id, build)?;
        crate::fault::point("create: limits set");
        let _ = chan.send(&Msg::LimitsSet);
        Ok(())
    }

    fn init_reborn(&mut self, pid: i32, _pidfd: &OwnedFd) -> anyhow::Result<()> {
        self.record_init(pid)?;
        self.container.save()?;
        crate::fault::point("create: reborn init recorded");
        Ok(())
    }

    #[allow(deprecated)]
    fn host_steps(&mut self, pid: i32) -> anyhow::Result<()> {
        if let Some(mut devices) = self.container.state.net_devices.clone() {
            if devices.netns == crate::netdev::Netns::Held {
                crate::netdev::hold(pid, &self.container.dir)?;
                crate::fault::point("create: network namespace held");
            }
            crate::netdev::move_in(pid, &mut devices, &mut recorder(self.container))?;
        }
        let state = hook_state(&self.container.state, Status::Creating, pid);
        let hooks = self.spec.hooks().as_ref();
        hooks::run_all(
            "prestart",
            hooks
                .and_then(|h| h.prestart().as_deref())
                .unwrap_or_default(),
            &state,
        )?;
        hooks::run_all(
            "createRuntime",
            hooks
                .and_then(|h| h.create_runtime().as_deref())
                .unwrap_or_default(),
            &state,
        )?;
        Ok(())
    }
}

/// The start socket, bound in the state directory before the init exists. Bound through
/// /proc/self/fd so that the path length of --root and the ID (up to 1024 bytes) never hits
/// the 108-byte limit of socket addresses. SOCK_SEQPACKET: a connection is a sync channel
/// (spawn::sync), which carries a seccomp notify fd and the init's error, if any.
fn bind_start_socket(dir: &Path) -> anyhow::Result<OwnedFd> {
    use nix::sys::socket::{Backlog, bind, listen};
    let bound = || -> std::io::Result<OwnedFd> {
        let (fd, addr, _dir) = start_socket(dir)?;
        bind(fd.as_raw_fd(), &addr)?;
        listen(&fd, Backlog::new(1)?)?;
        Ok(fd)
    };
    bound().with_context(|| format!("{}: creating the start socket", dir.display()))
}

fn connect_start_socket(dir: &Path) -> std::io::Result<spawn::sync::Channel> {
    let (fd, addr, _dir) = start_socket(dir)?;
    nix::sys::socket::connect(fd.as_raw_fd(), &addr)?;
    Ok(spawn::sync::Channel::from(fd))
}

/// A SOCK_SEQPACKET socket and the start socket's address in `dir`, named through an fd of
/// the directory (a path of any length fits in sun_path that way), which the caller keeps
/// open until it has bound or connected.
fn start_socket(dir: &Path) -> std::io::Result<(OwnedFd, nix::sys::socket::UnixAddr, fs::File)> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};
    let d = fs::File::open(dir)?;
    let addr =
        UnixAddr::new(format!("/proc/self/fd/{}/{}", d.as_raw_fd(), super::START_SOCKET).as_str())?;
    let fd = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    Ok((fd, addr, d))
}

/// Waits until the init has exec'd the container's process (its end of `chan` closes) or
/// reports why it could not; a seccomp notify fd on the way goes to the profile's agent.
pub fn wait_started(c: &Container, pid: i32, chan: &spawn::sync::Channel) -> anyhow::Result<()> {
    wait_started_raw(c, pid, chan).map_err(started_error)
}

fn wait_started_raw(
    c: &Container,
    pid: i32,
    chan: &spawn::sync::Channel,
) -> Result<(), spawn::SpawnError> {
    let listener = crate::security::seccomp::listener_of(c.state.seccomp.as_ref());
    spawn::exec::wait_exec(chan, |fd| {
        let listener = listener
            .as_ref()
            .ok_or_else(|| anyhow!("linux.seccomp: a notify fd arrived without a listenerPath"))?;
        let state = hook_state(&c.state, Status::Created, pid);
        crate::security::seccomp::send_to_listener(listener, fd, pid, &state)
    })
}

fn started_error(e: spawn::SpawnError) -> anyhow::Error {
    match e {
        spawn::SpawnError::Child(text) => anyhow!(text),
        other => anyhow::Error::from(other).context("waiting for the container process to start"),
    }
}

pub struct CreateRequest<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub opts: &'a CreateOpts,
    /// rt run: the init goes on to start right after Commit.
    pub start_now: bool,
    /// --systemd-cgroup: cgroupsPath is slice:prefix:name and systemd owns the cgroup.
    pub systemd_cgroup: bool,
    /// rt run in the foreground: a terminal without --console-socket is rt's own to proxy.
    pub terminal_proxy: bool,
    /// Rootless mode: a user namespace is required and cgroups only where delegated.
    pub rootless: bool,
}

/// Where the pty master goes: a caller's --console-socket, or rt's own end (proxy).
fn console_channel(
    req: &CreateRequest,
    spec: &Spec,
) -> anyhow::Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    if !terminal {
        return Ok((None, None));
    }
    if let Some(path) = &req.opts.console_socket {
        let s = UnixStream::connect(path)
            .with_context(|| format!("--console-socket {}", path.display()))?;
        return Ok((Some(OwnedFd::from(s)), None));
    }
    let (ours, theirs) = UnixStream::pair().context("terminal: socketpair")?;
    Ok((Some(OwnedFd::from(theirs)), Some(OwnedFd::from(ours))))
}

/// Loads and checks the bundle; nothing is created on disk yet.
pub fn load_bundle(req: &CreateRequest) -> anyhow::Result<(Bundle, namespaces::NsPlan)> {
    super::id::validate(req.id)?;
    let bundle = config::load(req.bundle)?;
    let mut ns = namespaces::plan(&bundle.spec);
    ns.forget_own_mount_ns(|path| {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
        id(path).is_some() && id(path) == id(Path::new("/proc/self/ns/mnt"))
    });
    check_supported(&bundle.spec, req.opts, req.terminal_proxy)?;
    cgroups::validate(&bundle.spec)?;
    Ok((bundle, ns))
}

/// A new container's state as recorded before anything is made for it.
fn initial_state(
    req: &CreateRequest,
    bundle: &Bundle,
    ns: &namespaces::NsPlan,
    cgroup: Option<super::state::CgroupRecord>,
) -> anyhow::Result<State> {
    let spec = &bundle.spec;
    let hooks = spec.hooks().as_ref();
    Ok(State {
        oci_version: spec.version().clone(),
        id: req.id.to_owned(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: now_rfc3339(),
        owner: super::owner_name(nix::unistd::geteuid().as_raw()),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        phase: Phase::Creating,
        creator: self_proc()?,
        init: None,
        own_pid_ns: ns.new_pid(),
        cgroup,
        hooks: LaterHooks {
            poststart: hooks
                .and_then(|h| h.poststart().clone())
                .unwrap_or_default(),
            poststop: hooks.and_then(|h| h.poststop().clone()).unwrap_or_default(),
        },
        process: spec.process().clone(),
        seccomp: spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
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

pub fn create(req: &CreateRequest) -> anyhow::Result<Created> {
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
    if req.rootless && !ns.in_user_ns() {
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
    let rdt_plan = rdt_config.map(|r| crate::rdt::plan(rdt_root, r, req.id));
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
    state.rdt = rdt_plan;
    state.net_devices = net_devices;
    let (console_socket, console_ours) = console_channel(req, spec)?;
    let pidfd_socket = req
        .opts
        .pidfd_socket
        .as_deref()
        .map(super::pidfd::PidfdSocket::connect)
        .transpose()?;
    let mut container = Container::create(req.root, state)?;
    let prepared = notify_prepared(&container, req.start_now).and_then(|notify| {
        if let (Some(r), Some(planned)) = (rdt_config, &container.state.rdt) {
            let made = crate::rdt::make(rdt_root, r, planned)?;
            container.state.rdt = Some(made);
            container.save()?;
        }
        Ok(notify)
    });
    let notify = match prepared {
        Ok(n) => n,
        Err(e) => {
            let _ = destroy_failed(&mut container, None);
            return Err(e);
        }
    };
    let mut init_seen = None;
    let console_fd = console_socket.as_ref().map(|f| f.as_raw_fd());
    match create_in(
        &mut container,
        &bundle,
        &ns,
        req,
        &mut init_seen,
        console_fd,
        seccomp.as_ref(),
    )
    .and_then(|spawned| {
        // Once the init exists; a failure to send fails the create.
        if let Some(s) = pidfd_socket {
            s.send(spawned.pidfd.as_fd())?;
        }
        Ok(spawned)
    }) {
        Ok(spawned) => {
            drop(console_socket);
            let console = match console_ours {
                Some(ours) => Some(crate::console::recv_master(ours.as_raw_fd())?),
                None => None,
            };
            Ok(Created {
                container,
                spawned,
                console,
                notify,
            })
        }
        Err(e) => {
            if let Err(cleanup) = destroy_failed(&mut container, init_seen) {
                crate::log::warn(&format!("cleaning up after the failed create: {cleanup:#}"));
            }
            if let Some(p) = &req.opts.pid_file {
                let _ = fs::remove_file(p);
            }
            Err(e)
        }
    }
}

fn create_in(
    container: &mut Container,
    bundle: &Bundle,
    ns: &namespaces::NsPlan,
    req: &CreateRequest,
    init_seen: &mut Option<ProcId>,
    console_socket: Option<std::os::fd::RawFd>,
    seccomp: Option<&crate::security::seccomp::Filter>,
) -> anyhow::Result<Spawned> {
    let listener = if req.start_now {
        None
    } else {
        Some(bind_start_socket(&container.dir)?)
    };
    crate::fault::point("create: start socket bound");
    let idmapped = crate::rootfs::idmap::prepare(&bundle.spec, &bundle.dir)?;
    let state_copy = container.state.clone();
    let cgroup_path = state_copy.cgroup.as_ref().map(|c| c.path.clone());
    // An init created by an intermediate process, or in a new user namespace, cannot be
    // relied on to move itself: the parent does it.
    let self_join = match &state_copy.cgroup {
        Some(record) if !ns.intermediate && !ns.new_user() => {
            cgroups::self_join_files(record)?.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let ctx = init::Context {
        spec: &bundle.spec,
        bundle: &bundle.dir,
        rootfs: &bundle.rootfs,
        ns,
        no_pivot: req.opts.no_pivot,
        no_new_keyring: req.opts.no_new_keyring,
        preserve_fds: req.opts.preserve_fds + init::process::listen_fds(),
        start_listener: listener.as_ref().map(|l| l.as_raw_fd()),
        cgroup_path: cgroup_path.as_deref(),
        cgroup_self_join: &self_join,
        state: &state_copy,
        console_socket,
        id_maps: spawn::id_map_writer(
            namespaces::is_host_root(),
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
            bundle
                .spec
                .linux()
                .as_ref()
                .and_then(|l| l.uid_mappings().as_deref())
                .unwrap_or_default(),
            bundle
                .spec
                .linux()
                .as_ref()
                .and_then(|l| l.gid_mappings().as_deref())
                .unwrap_or_default(),
        ),
        idmapped: idmapped
            .iter()
            .map(|(i, fd)| (*i, fd.as_raw_fd()))
            .collect(),
        seccomp,
    };
    let mut sup = CreateSupervisor {
        container,
        spec: &bundle.spec,
        init: None,
        self_join: !self_join.is_empty(),
    };
    let result = spawn::spawn(&ctx, &mut sup);
    *init_seen = sup.init;
    let spawned = result?;
    crate::debug!("create {}: init {} is ready", req.id, spawned.pid);
    crate::fault::point("create: init ready");
    // The init holds its own copy of the listener; ours would only keep the socket alive.
    drop(listener);
    if let Some(p) = &req.opts.pid_file {
        write_pid_file(p, spawned.pid)?;
        crate::fault::point("create: pid file written");
    }
    if let Some(m) = &mut container.state.shared_mounts {
        let now = shared::mount_id(&bundle.rootfs).context("the rootfs bind")?;
        if now != m.before {
            m.bind = Some(now);
        }
    }
    container.state.phase = Phase::Created;
    container.save()?;
    crate::fault::point("create: saved as created");
    spawned
        .chan
        .send(&Msg::Commit {
            start_now: req.start_now,
        })
        .context("committing the container")?;
    crate::fault::point("create: committed");
    Ok(spawned)
}

/// Sends `sig` to a process only if it is still the one recorded (pid and start time), via
/// a pidfd so that the check and the kill refer to the same process.
pub fn signal_proc(p: ProcId, sig: i32) -> std::io::Result<bool> {
    let Some(rpid) = rustix::process::Pid::from_raw(p.pid) else {
        return Ok(false);
    };
    let pidfd = match rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if super::proc_start_time(p.pid) != Some(p.start) {
        return Ok(false);
    }
    send_signal(pidfd.as_fd(), sig)
}

/// pidfd_send_signal(2): the signal reaches exactly the process the pidfd refers to.
pub fn send_signal(pidfd: std::os::fd::BorrowedFd<'_>, sig: i32) -> std::io::Result<bool> {
    // SAFETY: plain syscall on a valid pidfd; a NULL siginfo means "as kill(2) would".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(true)
}

/// Waits until the recorded process has exited (zombie or gone).
fn wait_gone(p: ProcId, timeout: Duration) -> anyhow::Result<()> {
    let Some(rpid) = rustix::process::Pid::from_raw(p.pid) else {
        return Ok(());
    };
    let pidfd = match rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(_) => return Ok(()),
    };
    if super::proc_start_time(p.pid) != Some(p.start) {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "process {} did not exit within {}s of SIGKILL",
                p.pid,
                timeout.as_secs()
            );
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return Ok(()),
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container to exit"),
        }
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
    // A frozen process cannot act on SIGKILL until it is thawed; thawing after the kill is
    // queued means nothing in the container runs another instruction.
    if let Some(record) = &c.state.cgroup
        && cgroups::is_frozen(record)
    {
        cgroups::freeze(record, &c.state.id, false)?;
    }
    if let Some(init) = c.state.init {
        wait_gone(init, Duration::from_secs(10))?;
    }
    Ok(())
}

fn kill_cgroup(c: &Container, sig: i32) {
    let Some(record) = &c.state.cgroup else {
        return;
    };
    if let Ok(pids) = cgroups::pids(record, &c.state.id) {
        for pid in pids.into_iter().filter(|p| *p > 0) {
            // Raw kill(2): nix's Signal has no real-time signals. A process that exited
            // meanwhile (ESRCH) is fine. The pids come from the container's own cgroup, so
            // a recycled pid would have to be in it, i.e. be the container's.
            // SAFETY: kill takes plain integers and touches no memory of ours.
            let _ = unsafe { libc::kill(pid, sig) };
        }
    }
}

/// A container brought back by `restore`: its init is this process's child (CRIU
/// restores it as a sibling of itself).
pub struct Restored {
    pub container: Container,
    pub pid: i32,
}

/// `rt restore`: a new container from the bundle, its process tree from CRIU's images
/// (see criu.rs). Recorded like a created container whose init has started; on failure
/// everything made for it is removed, as after a failed create.
pub fn restore(req: &CreateRequest, opts: &super::criu::CriuOpts) -> anyhow::Result<Restored> {
    let (bundle, ns) = load_bundle(req)?;
    let spec = &bundle.spec;
    if req.rootless {
        bail!("restore: CRIU restores only as root of the host");
    }
    if spec.process().as_ref().and_then(|p| p.terminal()) == Some(true) {
        bail!("process.terminal: restoring a container with a terminal is not supported by rt yet");
    }
    if let Some(l) = spec.linux() {
        if l.intel_rdt().is_some() {
            bail!("linux.intelRdt: not supported by rt's restore yet");
        }
        if l.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            bail!(
                "linux.netDevices: not supported by rt's restore yet (CRIU restores the namespace's own devices)"
            );
        }
    }
    let criu = super::criu::binary()?;
    let cgroup = cgroups::plan(spec, req.id, req.systemd_cgroup, req.rootless)?;
    let state = initial_state(req, &bundle, &ns, cgroup)?;
    let mut container = Container::create(req.root, state)?;
    match restore_in(&mut container, &bundle, &criu, opts) {
        Ok(pid) => {
            if let Some(p) = &req.opts.pid_file {
                write_pid_file(p, pid)?;
            }
            Ok(Restored { container, pid })
        }
        Err(e) => {
            let init = container.state.init;
            if let Err(cleanup) = destroy_failed(&mut container, init) {
                crate::log::warn(&format!(
                    "cleaning up after the failed restore: {cleanup:#}"
                ));
            }
            Err(e)
        }
    }
}

fn restore_in(
    c: &mut Container,
    bundle: &Bundle,
    criu: &Path,
    opts: &super::criu::CriuOpts,
) -> anyhow::Result<i32> {
    let root = c.dir.join(super::criu::ROOT_DIR);
    let pidfile = c.dir.join("criu.pid");
    super::criu::bind_root(&bundle.rootfs, &root)?;
    let restored = (|| {
        let held =
            super::criu::hold_restore(criu, opts, &bundle.spec, &bundle.dir, &root, &pidfile)?;
        if let Some(mut record) = c.state.cgroup.clone() {
            let _registry = cgroups::claim(&mut record)?;
            c.state.cgroup = Some(record.clone());
            c.save()?;
            cgroups::join(&record, &bundle.spec, &c.state.id, held.pid)?;
        }
        held.run(&opts.work_dir().join("restore.log"))?;
        let text = fs::read_to_string(&pidfile)
            .with_context(|| format!("{}: criu's pid file", pidfile.display()))?;
        let pid: i32 = text
            .trim()
            .parse()
            .map_err(|_| anyhow!("criu's pid file says {}", crate::error::quoted(&text)))?;
        let start = super::read_start_time(pid)
            .map_err(|e| anyhow!("reading the start time of the restored process {pid}: {e}"))?
            .ok_or_else(|| anyhow!("the restored process {pid} is gone"))?;
        c.state.init = Some(ProcId { pid, start });
        c.state.phase = Phase::Created;
        c.save()?;
        Ok(pid)
    })();
    super::criu::unbind_root(&root);
    let _ = fs::remove_file(&pidfile);
    restored
}

/// Saves the container's network devices as netdev records their moves.
fn recorder(c: &mut Container) -> impl FnMut(&crate::netdev::NetDevRecord) -> anyhow::Result<()> {
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
fn destroy_failed(c: &mut Container, init: Option<ProcId>) -> anyhow::Result<()> {
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
    let state = hook_state(&c.state, Status::Stopped, 0);
    for (i, h) in c.state.hooks.poststop.iter().enumerate() {
        if let Err(e) = hooks::run(&format!("poststop[{i}]"), h, &state) {
            crate::log::warn(&e);
        }
    }
    crate::fault::point("delete: poststop hooks run");
    c.remove_dir()?;
    Ok(())
}

pub fn start(root: &Path, id: &str) -> anyhow::Result<()> {
    let mut c = Container::load_locked(root, id)?;
    match c.status() {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped: {id}"),
        Status::Creating => bail!("cannot start a container that is still being created: {id}"),
        Status::Running | Status::Paused => {
            bail!("cannot start an already running container: {id}")
        }
    }
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
        Err(e @ spawn::SpawnError::Child(_)) => return Err(started_error(e)),
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
    let state = hook_state(&c.state, Status::Running, pid);
    for (i, h) in c.state.hooks.poststart.iter().enumerate() {
        if let Err(e) = hooks::run(&format!("poststart[{i}]"), h, &state) {
            crate::log::warn(&e);
        }
    }
}

pub fn kill(root: &Path, id: &str, sig: i32, all: bool) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    match c.status() {
        Status::Stopped | Status::Creating => bail!("container not running: {id}"),
        _ => {}
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
    Ok(())
}

pub fn delete(root: &Path, id: &str, force: bool) -> anyhow::Result<()> {
    let mut c = match Container::load_locked(root, id) {
        Ok(c) => c,
        Err(ContainerError::NotExist(_)) if force => {
            return Ok(Container::remove_stateless(root, id)?);
        }
        Err(e) => return Err(e.into()),
    };
    match c.status() {
        Status::Stopped => {}
        // runc deletes a created container without --force: it never ran anything.
        Status::Created | Status::Creating => kill_everything(&c)?,
        s @ (Status::Running | Status::Paused) => {
            if !force {
                bail!("cannot delete container {id} that is not stopped: {s}");
            }
            kill_everything(&c)?;
        }
    }
    destroy(&mut c)
}

fn cgroup_of(c: &Container) -> anyhow::Result<&super::state::CgroupRecord> {
    c.state
        .cgroup
        .as_ref()
        .ok_or_else(|| anyhow!("container {} has no cgroup", c.state.id))
}

pub fn pause(root: &Path, id: &str) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    match c.status() {
        Status::Running | Status::Created => {}
        Status::Paused => bail!("container {id} is already paused"),
        _ => bail!("container not running: {id}"),
    }
    cgroups::freeze(cgroup_of(&c)?, id, true)?;
    Ok(())
}

pub fn resume(root: &Path, id: &str) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    match c.status() {
        Status::Paused => {}
        Status::Stopped | Status::Creating => bail!("container not running: {id}"),
        s => bail!("container {id} is not paused: {s}"),
    }
    cgroups::freeze(cgroup_of(&c)?, id, false)?;
    Ok(())
}

pub fn update(root: &Path, id: &str, r: &oci_spec::runtime::LinuxResources) -> anyhow::Result<()> {
    let c = Container::load_locked(root, id)?;
    if matches!(c.status(), Status::Stopped | Status::Creating) {
        bail!("container not running: {id}");
    }
    cgroups::update(cgroup_of(&c)?, id, r)?;
    Ok(())
}

/// The container's cgroup, for commands that read it (events, ps); it must be running.
pub fn running_cgroup(root: &Path, id: &str) -> anyhow::Result<super::state::CgroupRecord> {
    let c = Container::load(root, id)?;
    if matches!(c.status(), Status::Stopped | Status::Creating) {
        bail!("container not running: {id}");
    }
    Ok(cgroup_of(&c)?.clone())
}
