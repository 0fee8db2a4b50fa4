//! `rt exec`: a new process in a running container, in all its namespaces and its cgroup,
//! with the container's process settings as defaults (or exactly a --process document).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use nix::sched::{CloneFlags, setns};
use oci_spec::runtime::{Capabilities, Capability, Process};

use super::preconditions::{Op, check};
use super::{Container, Status, process, supervise};
use crate::cgroups;
use crate::cgroups::resources::Mode;
use crate::error::Ctx;
use crate::init::exec::ExecContext;
use crate::spawn::exec::{self as spawn_exec, ContainerNs};
use crate::spawn::sync::Msg;
use crate::spawn::{self, Forked, SpawnError, Spawned};

/// What an exec is asked to do: the command line's flags (cli.rs's ExecRequest), as plain
/// values.
#[derive(Debug, Default)]
pub struct ExecRequest {
    pub process: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub cap: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub pidfd_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub cgroup: Vec<String>,
    pub ignore_paused: bool,
    pub id: String,
    pub args: Vec<String>,
}

fn parse_process_file(path: &Path) -> anyhow::Result<Process> {
    let what = format!("--process {}", path.display());
    let file = std::fs::File::open(path).with_context(|| what.clone())?;
    let text = crate::config::read_json_text(file, &what)?;
    let mut doc: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        anyhow!(
            "{what}: {}",
            crate::config::tidy_parse_error(&e.to_string())
        )
    })?;
    // runc takes a process document without "user" or "cwd" (Go leaves them zero): root
    // in the container's root directory.
    if let Some(p) = doc.as_object_mut() {
        p.entry("user")
            .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
        p.entry("cwd").or_insert_with(|| "/".into());
    }
    crate::config::mend_process(&mut doc);
    // Keys are matched as runc's Go matches them.
    serde_path_to_error::deserialize(crate::json_fold::Folded(doc)).map_err(|e| {
        let at = e.path().to_string();
        anyhow!(
            "{what}: {at}: {}",
            crate::config::tidy_parse_error(&e.into_inner().to_string())
        )
    })
}

fn parse_user(s: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let bad = || {
        anyhow!(
            "--user {}: must be UID or UID:GID (numbers)",
            crate::error::quoted(s)
        )
    };
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

fn parse_cap(name: &str) -> anyhow::Result<Capability> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| anyhow!("--cap {name}: unknown capability"))
}

/// The process to run: the --process document as it is, or the container's own process
/// with the command line and flags applied (runc's rules; --cap adds to bounding,
/// effective and permitted only, never to inheritable or ambient: CVE-2022-29162).
pub fn build_process(
    a: &ExecRequest,
    container_process: Option<&Process>,
) -> anyhow::Result<Process> {
    let mut p = if let Some(path) = &a.process {
        let p = parse_process_file(path)?;
        if p.args().as_ref().is_none_or(|v| v.is_empty()) {
            bail!(
                "--process {}: args: must name a program to run",
                path.display()
            );
        }
        p
    } else {
        if a.args.is_empty() {
            bail!("exec: no command given (rt exec ID COMMAND [ARG...], or --process FILE)");
        }
        let mut p = container_process.cloned().unwrap_or_default();
        p.set_args(Some(a.args.clone()));
        if let Some(cwd) = &a.cwd {
            p.set_cwd(cwd.clone());
        }
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
        p.set_terminal(Some(a.tty));
        if a.no_new_privs {
            p.set_no_new_privileges(Some(true));
        }
        if let Some(u) = &a.user {
            let (uid, gid) = parse_user(u)?;
            p.user_mut().set_uid(uid);
            if let Some(g) = gid {
                p.user_mut().set_gid(g);
            }
        }
        if !a.additional_gids.is_empty() {
            let mut gids = p.user().additional_gids().clone().unwrap_or_default();
            gids.extend(&a.additional_gids);
            p.user_mut().set_additional_gids(Some(gids));
        }
        if !a.cap.is_empty() {
            let mut caps = p.capabilities().clone().unwrap_or_default();
            let add = |set: &Option<Capabilities>, extra: &[Capability]| {
                let mut s = set.clone().unwrap_or_default();
                s.extend(extra.iter().copied());
                Some(s)
            };
            let extra: Vec<Capability> = a
                .cap
                .iter()
                .map(|c| parse_cap(c))
                .collect::<anyhow::Result<_>>()?;
            caps.set_bounding(add(caps.bounding(), &extra));
            caps.set_effective(add(caps.effective(), &extra));
            caps.set_permitted(add(caps.permitted(), &extra));
            // runc's rule (exec.bats, capabilities.bats): --cap never touches the
            // inheritable set, and an ambient capability needs an inheritable one, so it
            // goes to ambient only where the config has an inheritable set at all.
            if caps.inheritable().is_some() {
                caps.set_ambient(add(caps.ambient(), &extra));
            }
            p.set_capabilities(Some(caps));
        }
        if a.apparmor.is_some() {
            p.set_apparmor_profile(a.apparmor.clone());
        }
        if a.process_label.is_some() {
            p.set_selinux_label(a.process_label.clone());
        }
        p
    };
    if !p.cwd().is_absolute() {
        bail!(
            "process.cwd: {}: must be an absolute path",
            p.cwd().display()
        );
    }
    crate::config::drop_ungrantable_caps(&mut p);
    crate::config::warn_unraisable_ambient(&p);
    crate::security::lsm::check_process(
        &p,
        "process.apparmorProfile (--apparmor)",
        "process.selinuxLabel (--process-label)",
    )?;
    // Normalise: a process.json without terminal means none.
    if p.terminal().is_none() {
        p.set_terminal(Some(false));
    }
    Ok(p)
}

pub fn exec(root: &Path, a: &ExecRequest) -> anyhow::Result<i32> {
    let c = Container::load(root, &a.id)?;
    let status = c.status();
    let op = Op::Exec {
        ignore_paused: a.ignore_paused,
    };
    check(op, status, &a.id)?;
    let init = c
        .state
        .init
        .ok_or_else(|| anyhow!("container not running: {}", a.id))?;
    // A container that stops while rt exec joins it (killed by another caller) makes the
    // setup fail half-way, with whatever the kernel said then (ENOENT from /proc/<pid>,
    // EPIPE from the exec child): the answer is runc's, "container not running".
    exec_in(&c, a, init, status).map_err(|e| {
        if super::is_ending(init) {
            anyhow!("container not running: {}", a.id)
        } else {
            e
        }
    })
}

fn exec_in(
    c: &Container,
    a: &ExecRequest,
    init: super::ProcId,
    status: Status,
) -> anyhow::Result<i32> {
    let recorded = c
        .state
        .process
        .as_ref()
        .map(|p| p.parse())
        .transpose()
        .context("state.json: process")?;
    let mut process = build_process(a, recorded.as_ref())?;
    crate::config::check_scheduling(&process)?;
    let listen = crate::init::process::listen_fds();
    if listen > 0 {
        let mut env = process.env().clone().unwrap_or_default();
        env.extend(crate::init::process::listen_env(listen));
        process.set_env(Some(env));
    }
    let terminal = process.terminal() == Some(true);
    if terminal && a.console_socket.is_none() && a.detach {
        bail!("--tty: a detached exec needs --console-socket to hand its terminal to");
    }
    if !terminal && a.console_socket.is_some() {
        bail!("--console-socket: the process has no terminal (use --tty)");
    }
    // One PATH: that sub-cgroup in every hierarchy. CONTROLLER:PATH forms: the files of
    // the hierarchies' cgroups, which rt writes the process into.
    let (cgroup, cgroup_files) = match (&c.state.cgroup, a.cgroup.as_slice()) {
        (None, [_, ..]) => bail!("--cgroup: the container has no cgroup"),
        (record, []) => (record.clone(), Vec::new()),
        (Some(record), [sub]) if !sub.contains(':') => {
            (Some(cgroups::sub_cgroup(record, sub)?), Vec::new())
        }
        (Some(record), subs) => (None, cgroups::exec_cgroup_files(record, subs)?),
    };
    let ns = spawn_exec::open_namespaces(init.pid)?;
    // The namespace files must be the container's: check that the pid was not reused
    // while they were opened.
    if !super::is_alive(init) {
        bail!("container not running: {}", a.id);
    }
    crate::fault::point("exec: namespaces opened");

    let pidfd_socket = a
        .pidfd_socket
        .as_deref()
        .map(super::pidfd::PidfdSocket::connect)
        .transpose()?;
    let (console_socket, console_ours) =
        process::console_channel(terminal, a.console_socket.as_deref())?;
    let set = supervise::forwarded_set();
    if !a.detach {
        nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
        set.thread_block().context("blocking signals")?;
    }
    let seccomp = c
        .state
        .seccomp
        .as_ref()
        .map(|d| {
            let profile = d.parse().context("state.json: seccomp")?;
            crate::security::seccomp::compile_profile(&profile)
        })
        .transpose()?;
    let self_join = match (&cgroup, &c.state.cgroup) {
        (Some(record), Some(container)) => match cgroups::self_join_files(record)? {
            Some(files) => {
                cgroups::fill_cpuset(record)?;
                cgroups::unmanaged_for_exec(container, record)?;
                files
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    let ctx = ExecContext {
        cgroup_self_join: &self_join,
        process: &process,
        preserve_fds: a.preserve_fds + listen,
        console_socket: console_socket.as_ref().map(|f| f.as_fd()),
        relay_verbatim: console_ours.is_some() && crate::console::relay_verbatim(),
        setgroups_allowed: std::fs::read_to_string(format!("/proc/{}/setgroups", init.pid))
            .map(|s| s.trim() != "deny")
            .unwrap_or(true),
        seccomp: seccomp.as_ref(),
        wide: crate::init::sched::ContainerWide {
            personality: c.state.personality.as_ref(),
            memory_policy: c.state.memory_policy.as_ref(),
            // Not recorded for exec (`update` may change it since): the kernel's EPERM
            // is reported as it is.
            cpus_limited: false,
        },
    };
    // The process is born in its cgroup (v2) or its hybrid host's cgroup2 directory,
    // through its intermediate (see cgroups::clone_target). Not in a paused v2 container:
    // there the intermediate would be frozen before it had joined the container (a v1
    // freezer cgroup is joined by a move, after the birth); nor under a pids limit there
    // (see cgroups::no_pids_limit).
    let frozen_at_birth = status == Status::Paused && cgroups::mode()? == Mode::V2;
    let born_in = match &cgroup {
        Some(record)
            if !frozen_at_birth && cgroup_files.is_empty() && cgroups::no_pids_limit(record) =>
        {
            cgroups::open_for_clone(record)?
        }
        _ => None,
    };
    let (child, born_inside) = clone_exec_process(&ns, &ctx, born_in.as_ref().map(|d| d.as_fd()))?;
    drop(born_in);
    crate::fault::point("exec: process cloned");
    let placed = process::initial_affinity(Some(&process), child.pid);
    drop(console_socket);
    let started = (|| -> anyhow::Result<()> {
        placed?;
        if let Some(record) = cgroup.as_ref().filter(|_| !born_inside) {
            // A self-joining process moves itself into the v1 hierarchies; on a hybrid
            // host it was to be born in the cgroup2 one.
            match self_join.is_empty() {
                true => cgroups::add_process(record, &a.id, child.pid)?,
                false => cgroups::move_to_clone_target(record, child.pid)?,
            }
            crate::fault::point("exec: process placed in the cgroup");
        }
        cgroups::add_to_files(&cgroup_files, child.pid)?;
        if let Some(r) = &c.state.rdt {
            crate::rdt::add(r, child.pid)?;
        }
        process::initial_oom_score_adj(Some(&process), child.pid)?;
        child
            .chan
            .send(&Msg::Go(child.pid))
            .context("starting the process")?;
        crate::fault::point("exec: process let go");
        // In a frozen cgroup the process is frozen as soon as it is placed there: it
        // starts when the container is resumed, and no exec result can be waited for.
        if status != Status::Paused {
            spawn::wait_exec(&child.chan, |fd| {
                let listener = seccomp
                    .as_ref()
                    .and_then(|f| f.listener.as_ref())
                    .ok_or_else(|| {
                        anyhow!("linux.seccomp: a notify fd arrived without a listenerPath")
                    })?;
                let state = c.state.hook_input(Status::Running, child.pid);
                crate::security::seccomp::send_to_listener(listener, fd, child.pid, &state)
            })?;
        }
        Ok(())
    })();
    if let Err(e) = started {
        let _ = process::send_signal(std::os::fd::AsFd::as_fd(&child.pidfd), libc::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child.pid), None);
        return Err(e);
    }
    crate::fault::point("exec: process started");
    if let Some(p) = &a.pid_file {
        process::write_pid_file(p, child.pid)?;
    }
    if let Some(s) = pidfd_socket {
        s.send(std::os::fd::AsFd::as_fd(&child.pidfd))?;
    }
    if a.detach {
        return Ok(0);
    }
    let console = match console_ours {
        Some(ours) => Some(crate::console::recv_master(ours.as_fd())?),
        None => None,
    };
    match &console {
        Some(master) => supervise::wait_with_terminal(child.pid, &child.pidfd, &set, master),
        None => supervise::wait_and_forward(child.pid, &child.pidfd, &set),
    }
}

/// Makes the exec process in two steps, so that nothing of it is in the container's pid
/// namespace (where a process with CAP_SYS_PTRACE could attach to it, or read
/// /proc/PID/root, while it still had the host's root, cwd and mounts) before it is in
/// every other namespace of the container. An intermediate child (still in the host's pid
/// namespace) joins the user namespace, the others and the root, opens the cgroup files
/// the process moves itself into, then enters the pid and time namespaces for its children
/// and clones the process with CLONE_PARENT: born inside, and a child of `rt exec`, which
/// waits for it. The intermediate reports its pid and exits. With `cgroup`, the
/// intermediate is born in that cgroup v2 directory, and so is the process; returned is
/// whether that happened (the kernel may refuse it, see spawn::clone_process_in).
fn clone_exec_process(
    ns: &ContainerNs,
    ctx: &ExecContext,
    cgroup: Option<BorrowedFd>,
) -> Result<(Spawned, bool), SpawnError> {
    let (parent_end, child_end) = spawn::sync::pair().map_err(SpawnError::Sync)?;
    if let Some(user) = ns.user.as_ref().filter(|_| ns.user_by_parent) {
        setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
            .ctx(|| "joining the container's user namespace")?;
    }
    let (forked, born_inside) = spawn::clone_process_in(0, cgroup).map_err(SpawnError::Clone)?;
    let (pid, _pidfd) = match forked {
        Forked::Child => {
            drop(parent_end);
            crate::init::exec::intermediate(ns, ctx, child_end)
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
    let spawned = Spawned {
        pid: exec_pid,
        pidfd: spawn::pidfd_of_reported(exec_pid)?,
        chan: parent_end,
    };
    Ok((spawned, born_inside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(v: &[&str]) -> ExecRequest {
        let mut full = vec!["rt", "exec"];
        full.extend(v);
        match crate::cli::Cli::parse_from(full).command {
            Some(crate::cli::Command::Exec(a)) => crate::commands::requests::exec_request(a),
            other => panic!("{other:?}"),
        }
    }

    fn base() -> Process {
        serde_json::from_value(serde_json::json!({
            "args": ["sleep", "1"], "cwd": "/work", "env": ["PATH=/bin", "A=1"],
            "user": {"uid": 0, "gid": 0},
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"], "inheritable": [], "ambient": []}
        }))
        .unwrap()
    }

    #[test]
    fn flags_override_the_containers_process() {
        let a = args(&[
            "-e", "B=2", "-u", "1000:100", "-g", "5", "--cwd", "/tmp", "c1", "ls", "-la",
        ]);
        let p = build_process(&a, Some(&base())).unwrap();
        assert_eq!(
            p.args().as_ref().unwrap(),
            &vec!["ls".to_string(), "-la".into()]
        );
        assert_eq!(
            p.env().as_ref().unwrap(),
            &vec!["PATH=/bin".to_string(), "A=1".into(), "B=2".into()]
        );
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        assert_eq!(p.user().additional_gids().as_ref().unwrap(), &vec![5]);
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(p.terminal(), Some(false));
    }

    #[test]
    fn cap_reaches_ambient_only_with_an_inheritable_set() {
        let a = args(&["--cap", "CAP_NET_ADMIN", "c1", "true"]);
        let mut no_inheritable = base();
        let mut c = no_inheritable.capabilities().clone().unwrap();
        c.set_inheritable(None);
        c.set_ambient(None);
        no_inheritable.set_capabilities(Some(c));
        let p = build_process(&a, Some(&no_inheritable)).unwrap();
        let caps = p.capabilities().as_ref().unwrap();
        assert!(caps.inheritable().is_none());
        assert!(caps.ambient().as_ref().is_none_or(|s| s.is_empty()));
        let p = build_process(&a, Some(&base())).unwrap();
        let caps = p.capabilities().as_ref().unwrap();
        assert!(caps.inheritable().as_ref().unwrap().is_empty());
        assert!(
            caps.ambient()
                .as_ref()
                .unwrap()
                .contains(&Capability::NetAdmin)
        );
    }

    #[test]
    fn cap_never_reaches_inheritable() {
        let a = args(&["--cap", "CAP_NET_ADMIN", "c1", "true"]);
        let p = build_process(&a, Some(&base())).unwrap();
        let caps = p.capabilities().as_ref().unwrap();
        assert!(
            caps.bounding()
                .as_ref()
                .unwrap()
                .contains(&Capability::NetAdmin)
        );
        assert!(
            caps.effective()
                .as_ref()
                .unwrap()
                .contains(&Capability::NetAdmin)
        );
        assert!(
            caps.permitted()
                .as_ref()
                .unwrap()
                .contains(&Capability::NetAdmin)
        );
        assert!(caps.inheritable().as_ref().unwrap().is_empty());
        assert!(build_process(&args(&["--cap", "CAP_FLY", "c1", "true"]), Some(&base())).is_err());
    }

    #[test]
    fn bad_input() {
        assert!(build_process(&args(&["c1"]), Some(&base())).is_err());
        assert!(build_process(&args(&["-u", "root", "c1", "true"]), Some(&base())).is_err());
        assert!(build_process(&args(&["--cwd", "rel", "c1", "true"]), Some(&base())).is_err());
    }
}
