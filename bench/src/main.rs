//! rt-bench: measures OCI runtimes side by side (see bench/README.md). Started by bench/run,
//! which installs the runtimes, builds the launcher and passes their paths.

mod args;
mod bundle;
mod cgroups;
mod launch;
mod report;
mod scale;
mod stats;
mod sysinfo;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use report::{Cell, Row, Unit};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Run,
    Lifecycle,
    Exec,
    Throughput,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario::Run,
    Scenario::Lifecycle,
    Scenario::Exec,
    Scenario::Throughput,
];

impl Scenario {
    fn name(self) -> &'static str {
        args::SCENARIO_NAMES[self.index()]
    }

    fn index(self) -> usize {
        self as usize
    }
}

struct Sample {
    round: usize,
    warmup: bool,
    scenario: Scenario,
    runtime: usize,
    wall_ns: u64,
    maxrss_kib: Option<u64>,
    /// create, start, wait for exit, delete (lifecycle only).
    steps_ns: Option<[u64; 4]>,
}

/// One sample as a scenario measured it.
struct Measured {
    wall_ns: u64,
    maxrss_kib: Option<u64>,
    steps_ns: Option<[u64; 4]>,
}

struct Runtime {
    name: String,
    path: PathBuf,
    /// The runtime's own `--root` state directory.
    root: PathBuf,
    /// Per scenario: why this runtime stopped being measured there.
    failed: [Option<String>; 4],
    /// The long-running container the exec scenario execs into.
    exec_pid: Option<Pid>,
}

struct Bench {
    launcher: PathBuf,
    timeout: Duration,
    logs: PathBuf,
    bundles: PathBuf,
    concurrency: usize,
    rts: Vec<Runtime>,
    samples: Vec<Sample>,
    /// Anything that went wrong outside a measured cell; makes the run fail too.
    problems: Vec<String>,
    /// /proc/loadavg before and after the rounds: other work on the machine shows there.
    load: (String, String),
    /// Worth knowing, not a failure.
    warnings: Vec<String>,
    known_failures: Vec<(String, String)>,
    /// What the scale rows need to make bundles of their own.
    base_spec: serde_json::Value,
    rootfs: PathBuf,
    cgroup_parent: String,
    /// The scale rows, measured after the rounds (none with `--scale-sizes 0`).
    scale: Option<scale::Scale>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("rt-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ok(false) when the results were written but something failed.
fn real_main() -> Result<bool> {
    let Some(args) = args::parse(std::env::args().skip(1))? else {
        println!("{}", args::USAGE);
        return Ok(true);
    };

    // Containers whose runtime exits before they do (every `create`) are reparented to the
    // nearest subreaper; being it lets the driver wait for them, as containerd's shim does.
    nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")?;
    // Stop between samples on ^C/SIGTERM, so that cleanup still runs.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_interrupt as *const () as libc::sighandler_t);
        }
    }

    let cgroup_parent = match &args.cgroup_parent {
        Some(p) => p.clone(),
        None => {
            let text =
                fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
            let own = cgroups::own_cgroup(&text)
                .context("no memory or unified cgroup in /proc/self/cgroup")?;
            cgroups::default_parent(&own)
        }
    };
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let snapshot = cgroups::Snapshot::take(&cgroup_parent, &cgroups::hierarchy_mounts(&mountinfo));
    let mut warnings = Vec::new();
    if snapshot.parent_existed() {
        // Not ours then: it stays after the run, and so do its parents.
        warnings.push(format!(
            "the cgroup parent {cgroup_parent} existed before the run (left by an earlier run?); it is not removed"
        ));
    }

    let tmp = make_tmp_dir(&std::env::temp_dir())?;
    let (state, state_mounted) = make_state_dir(&tmp, &mut warnings);
    let result = snapshot
        .create()
        .map_err(anyhow::Error::msg)
        .and_then(|()| prepare_and_measure(&args, &tmp, &state, &cgroup_parent, warnings));
    let ids = all_ids(&args);
    let dirs = [(tmp.as_path(), false), (state.as_path(), state_mounted)];
    let mut bench = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = cleanup(&dirs, &snapshot, &ids);
            return Err(e);
        }
    };
    bench.teardown_exec_containers();
    reap_strays();
    let c = cleanup(&dirs, &snapshot, &ids);
    bench.problems.extend(c.problems);
    bench.warnings.extend(c.warnings);

    let ok = write_results(&args, &bench)?;
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!(
            "interrupted; partial results written to {}",
            args.out.display()
        );
    }
    Ok(ok)
}

fn prepare_and_measure(
    args: &args::Args,
    tmp: &Path,
    state: &Path,
    cgroup_parent: &str,
    warnings: Vec<String>,
) -> Result<Bench> {
    let logs = tmp.join("logs");
    let bundles = tmp.join("bundles");
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let rootfs = bundle::make_rootfs(tmp, &args.busybox)?;
    let runc = args
        .runtimes
        .iter()
        .find(|r| r.name == "runc")
        .map_or_else(|| PathBuf::from("runc"), |r| r.path.clone());
    let base = bundle::runc_default_spec(&runc, &tmp.join("spec"))?;

    let rts: Vec<Runtime> = args
        .runtimes
        .iter()
        .map(|r| Runtime {
            name: r.name.clone(),
            path: r.path.clone(),
            root: state.join(&r.name),
            failed: Default::default(),
            exec_pid: None,
        })
        .collect();
    let mut bench = Bench {
        launcher: args.launcher.clone(),
        timeout: Duration::from_secs(args.timeout_s.into()),
        logs,
        bundles,
        concurrency: args.concurrency,
        rts,
        samples: Vec::new(),
        problems: Vec::new(),
        load: (sysinfo::loadavg(), String::new()),
        warnings,
        known_failures: args.known_failures.clone(),
        base_spec: base,
        rootfs,
        cgroup_parent: cgroup_parent.to_string(),
        scale: None,
    };
    for r in &bench.rts {
        for id in round_ids(&r.name, args.concurrency) {
            let process: &[&str] = if id.ends_with("-exec") {
                &["/bin/sleep", "1000000"]
            } else {
                &["/bin/true"]
            };
            bench
                .write_bundle(&id, process)
                .map_err(anyhow::Error::msg)?;
        }
    }
    bench.measure(args.warmup, args.rounds);
    bench.load.1 = sysinfo::loadavg();
    if !args.scale_sizes.is_empty() && !INTERRUPTED.load(Ordering::SeqCst) {
        // The exec containers would count as present in every list.
        bench.teardown_exec_containers();
        reap_strays();
        let plan = scale::Plan {
            sizes: args.scale_sizes.clone(),
            procs: args.scale_procs,
            samples: args.scale_samples,
        };
        bench.scale = Some(bench.measure_scale(plan));
    }
    Ok(bench)
}

/// Container ids of one runtime in the rounds; reused every round, each round deletes its
/// containers.
fn round_ids(runtime: &str, concurrency: usize) -> Vec<String> {
    let mut ids: Vec<String> = ["run", "life", "exec"]
        .iter()
        .map(|w| format!("b-{runtime}-{w}"))
        .collect();
    ids.extend((0..concurrency).map(|k| format!("b-{runtime}-tp{k}")));
    ids
}

/// Every container id of one runtime: the rounds', and the scale rows' (scale.rs:
/// `population` containers and three more), which write their own bundles.
fn ids_of(runtime: &str, concurrency: usize, population: usize) -> Vec<String> {
    let mut ids = round_ids(runtime, concurrency);
    ids.extend(
        ["sx", "ps", "fg"]
            .iter()
            .map(|w| format!("b-{runtime}-{w}")),
    );
    ids.extend((0..population).map(|k| format!("b-{runtime}-s{k}")));
    ids
}

fn all_ids(args: &args::Args) -> HashSet<String> {
    let population = args.scale_sizes.last().copied().unwrap_or(0);
    args.runtimes
        .iter()
        .flat_map(|r| ids_of(&r.name, args.concurrency, population))
        .collect()
}

fn make_tmp_dir(parent: &Path) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = parent.join(format!("rt-bench.{}.{nanos}", std::process::id()));
    // create_dir, not create_dir_all: the directory must be new, hence ours to remove.
    fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The directory for the runtimes' state directories, on tmpfs as every engine keeps them
/// (runc's default /run/runc, containerd's /run/containerd/runc and docker's /run/docker
/// are on the tmpfs /run of a systemd host): on a disk each mkdir and rmdir of a state
/// directory costs a journal write, and on an ext4 mounted with `discard` a synchronous
/// discard, which no engine's caller pays. A new directory in /run, with a tmpfs of its
/// own mounted on it where /run is not one (then true: cleanup unmounts it).
fn make_state_dir(tmp: &Path, warnings: &mut Vec<String>) -> (PathBuf, bool) {
    let fallback = |warnings: &mut Vec<String>, why: String| {
        warnings.push(format!(
            "{why}; the state directories are in {}",
            tmp.display()
        ));
        (tmp.join("state"), false)
    };
    let dir = match make_tmp_dir(Path::new("/run")) {
        Ok(dir) => dir,
        Err(e) => return fallback(warnings, format!("{e:#}")),
    };
    let on_tmpfs = nix::sys::statfs::statfs(&dir)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    if on_tmpfs {
        return (dir, false);
    }
    match nix::mount::mount(
        Some("tmpfs"),
        &dir,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
        Some("mode=0700,size=256m"),
    ) {
        Ok(()) => (dir, true),
        Err(e) => {
            let _ = fs::remove_dir(&dir);
            fallback(
                warnings,
                format!("mounting a tmpfs on {}: {e}", dir.display()),
            )
        }
    }
}

/// Collects zombies reparented to the driver. Only called when no launcher or runtime child
/// is outstanding: it would steal their exit status from Child::wait.
fn reap_strays() {
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(-1)
}

impl Bench {
    /// (runtime, scenario, message, declared known) of every failed cell.
    fn failures(&self) -> Vec<(&str, Scenario, &str, bool)> {
        let mut out = Vec::new();
        for r in &self.rts {
            for sc in SCENARIOS {
                if let Some(m) = &r.failed[sc.index()] {
                    let known = self
                        .known_failures
                        .iter()
                        .any(|(kr, ks)| *kr == r.name && ks == sc.name());
                    out.push((r.name.as_str(), sc, m.as_str(), known));
                }
            }
        }
        out
    }

    fn measure(&mut self, warmup: usize, rounds: usize) {
        for r in 0..self.rts.len() {
            self.setup_exec_container(r);
        }
        let n = self.rts.len();
        let total = warmup + rounds;
        for round in 0..total {
            let t = Instant::now();
            let is_warmup = round < warmup;
            for sc in SCENARIOS {
                // Round r starts at runtime r mod n: nobody is always first (cold caches)
                // or always last.
                for k in 0..n {
                    if INTERRUPTED.load(Ordering::SeqCst) {
                        return;
                    }
                    let r = (round + k) % n;
                    if self.rts[r].failed[sc.index()].is_none() {
                        self.sample(sc, r, round, is_warmup);
                    }
                }
                reap_strays();
            }
            eprintln!(
                "rt-bench: round {}/{total}{} done in {:.1} s",
                round + 1,
                if is_warmup { " (warm-up)" } else { "" },
                t.elapsed().as_secs_f64()
            );
        }
    }

    fn id(&self, r: usize, what: &str) -> String {
        format!("b-{}-{what}", self.rts[r].name)
    }

    fn log(&self, r: usize) -> PathBuf {
        self.logs.join(format!("{}.log", self.rts[r].name))
    }

    /// `--root <state> args...` for runtime `r`.
    fn rt_args(&self, r: usize, args: &[&str]) -> Vec<OsString> {
        let mut v = vec![
            OsString::from("--root"),
            self.rts[r].root.clone().into_os_string(),
        ];
        v.extend(args.iter().map(OsString::from));
        v
    }

    /// One runtime command through the launcher. A non-zero exit is a failure, reported by
    /// the relevant line of its output.
    /// `create --bundle B --pid-file P ID` through the launcher.
    fn create(&self, r: usize, id: &str, pid_file: &Path) -> Result<launch::Launched, String> {
        let pf = pid_file.to_string_lossy();
        let bundle = self.bundle(id);
        self.step(r, &["create", "--bundle", &bundle, "--pid-file", &pf, id])
    }

    fn step(&self, r: usize, args: &[&str]) -> Result<launch::Launched, String> {
        let log = self.log(r);
        let timeout_s = u32::try_from(self.timeout.as_secs()).unwrap_or(u32::MAX);
        match launch::launch(
            &self.launcher,
            timeout_s,
            &self.rts[r].path,
            &self.rt_args(r, args),
            &log,
        ) {
            Err(e) => Err(format!("harness: {e:#}")),
            Ok(l) if l.status != 0 => {
                let out = fs::read_to_string(&log).unwrap_or_default();
                Err(report::failure_line(&out, l.status))
            }
            Ok(l) => Ok(l),
        }
    }

    /// Writes the bundle of container `id`: runc's default spec running `args`, with the
    /// shared rootfs and the container's own cgroup below the parent.
    fn write_bundle(&self, id: &str, args: &[&str]) -> Result<(), String> {
        bundle::container_spec(
            &self.base_spec,
            &self.rootfs,
            args,
            &format!("{}/{id}", self.cgroup_parent),
        )
        .and_then(|spec| bundle::write_bundle(&self.bundles.join(id), &spec))
        .map_err(|e| format!("harness: {e:#}"))
    }

    fn bundle(&self, id: &str) -> String {
        self.bundles.join(id).to_string_lossy().into_owned()
    }

    fn pid_file(&self, id: &str) -> PathBuf {
        self.logs.join(format!("{id}.pid"))
    }

    fn sample(&mut self, sc: Scenario, r: usize, round: usize, warmup: bool) {
        let result = match sc {
            Scenario::Run => self.sample_run(r),
            Scenario::Lifecycle => self.sample_lifecycle(r),
            Scenario::Exec => self.sample_exec(r),
            Scenario::Throughput => self.sample_throughput(r),
        };
        match result {
            Ok(Measured {
                wall_ns,
                maxrss_kib,
                steps_ns,
            }) => self.samples.push(Sample {
                round,
                warmup,
                scenario: sc,
                runtime: r,
                wall_ns,
                maxrss_kib,
                steps_ns,
            }),
            Err(msg) => self.fail(r, sc, msg),
        }
    }

    /// Stops measuring (runtime, scenario) and removes what its containers left.
    fn fail(&mut self, r: usize, sc: Scenario, msg: String) {
        eprintln!("rt-bench: {} {} failed: {msg}", self.rts[r].name, sc.name());
        let ids: Vec<String> = match sc {
            Scenario::Run => vec![self.id(r, "run")],
            Scenario::Lifecycle => vec![self.id(r, "life")],
            Scenario::Exec => vec![self.id(r, "exec")],
            Scenario::Throughput => (0..self.concurrency)
                .map(|k| self.id(r, &format!("tp{k}")))
                .collect(),
        };
        for id in &ids {
            self.force_delete(r, id);
        }
        if sc == Scenario::Exec {
            self.rts[r].exec_pid = None;
        }
        reap_strays();
        self.rts[r].failed[sc.index()] = Some(msg);
    }

    /// `delete -f`, for cleanup: its own failure only matters if the container exists.
    fn force_delete(&self, r: usize, id: &str) -> Option<String> {
        let log = self.logs.join(format!("{}.cleanup.log", self.rts[r].name));
        let out = File::create(&log).and_then(|f| {
            let e = f.try_clone()?;
            Command::new(&self.rts[r].path)
                .args(self.rt_args(r, &["delete", "-f", id]))
                .stdin(Stdio::null())
                .stdout(f)
                .stderr(e)
                .status()
        });
        match out {
            Ok(s) if s.success() => None,
            Ok(s) => Some(report::failure_line(
                &fs::read_to_string(&log).unwrap_or_default(),
                exit_code(s),
            )),
            Err(e) => Some(format!("running delete -f {id}: {e}")),
        }
    }

    fn sample_run(&self, r: usize) -> Result<Measured, String> {
        let id = self.id(r, "run");
        let l = self.step(r, &["run", "--bundle", &self.bundle(&id), &id])?;
        Ok(Measured {
            wall_ns: l.wall_ns,
            maxrss_kib: Some(l.maxrss_kib),
            steps_ns: None,
        })
    }

    fn sample_lifecycle(&self, r: usize) -> Result<Measured, String> {
        let id = self.id(r, "life");
        let pid_file = self.pid_file(&id);
        let _ = fs::remove_file(&pid_file);
        let create = self.create(r, &id, &pid_file)?;
        let pid = read_pid(&pid_file)?;
        let start = self.step(r, &["start", &id])?;
        let t = Instant::now();
        wait_container(pid)?;
        let wait = ns(t.elapsed());
        let delete = self.step(r, &["delete", &id])?;
        let steps = [create.wall_ns, start.wall_ns, wait, delete.wall_ns];
        Ok(Measured {
            wall_ns: steps.iter().sum(),
            maxrss_kib: None,
            steps_ns: Some(steps),
        })
    }

    fn setup_exec_container(&mut self, r: usize) {
        let id = self.id(r, "exec");
        let pid_file = self.pid_file(&id);
        let result = self
            .create(r, &id, &pid_file)
            .and_then(|_| read_pid(&pid_file))
            .and_then(|pid| self.step(r, &["start", &id]).map(|_| pid));
        match result {
            Ok(pid) => self.rts[r].exec_pid = Some(pid),
            Err(msg) => self.fail(
                r,
                Scenario::Exec,
                format!("starting the container to exec into: {msg}"),
            ),
        }
    }

    fn sample_exec(&self, r: usize) -> Result<Measured, String> {
        let id = self.id(r, "exec");
        let l = self.step(r, &["exec", &id, "/bin/true"])?;
        Ok(Measured {
            wall_ns: l.wall_ns,
            maxrss_kib: Some(l.maxrss_kib),
            steps_ns: None,
        })
    }

    /// `concurrency` plain `run`s at once; no launcher, the batch's wall time is the sample.
    fn sample_throughput(&self, r: usize) -> Result<Measured, String> {
        let mut cmds = Vec::with_capacity(self.concurrency);
        for k in 0..self.concurrency {
            let id = self.id(r, &format!("tp{k}"));
            let log = self.logs.join(format!("{id}.log"));
            let out = File::create(&log)
                .map_err(|e| format!("harness: creating {}: {e}", log.display()))?;
            let err = out.try_clone().map_err(|e| format!("harness: {e}"))?;
            let mut cmd = Command::new(&self.rts[r].path);
            cmd.args(self.rt_args(r, &["run", "--bundle", &self.bundle(&id), &id]))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            cmds.push((id, log, cmd));
        }

        let t = Instant::now();
        let mut pending = Vec::with_capacity(cmds.len());
        let mut failure = None;
        for (id, log, mut cmd) in cmds {
            match cmd.spawn().and_then(|c| Ok((pidfd_open(c.id())?, c))) {
                Ok((fd, c)) => pending.push((id, log, c, fd)),
                Err(e) => {
                    failure = Some(format!("harness: starting {id}: {e}"));
                    break;
                }
            }
        }
        // Wait for whichever exits first, up to the deadline: a hung `run` must not hang
        // the benchmark. A pidfd turns readable when its process exits.
        let deadline = t + self.timeout;
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let n = pending.len();
                let (id, _, child, _) = &pending[0];
                let why = if zombie_children(child.id()) > 0 {
                    ", although its container process had exited and was never reaped"
                } else {
                    ""
                };
                failure.get_or_insert(format!(
                    "{id}: `run` still running after {} s{why}; killed it and {} more",
                    self.timeout.as_secs(),
                    n - 1
                ));
                for (_, _, mut child, _) in pending.drain(..) {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                break;
            }
            let mut fds: Vec<libc::pollfd> = pending
                .iter()
                .map(|(_, _, _, fd)| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = libc::c_int::try_from(left.as_millis() + 1).unwrap_or(libc::c_int::MAX);
            // SAFETY: fds is a valid array of fds.len() pollfd structs for the whole call.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                failure.get_or_insert(format!("harness: poll: {e}"));
                ready_all(&mut fds);
            }
            for i in (0..fds.len()).rev() {
                if fds[i].revents == 0 {
                    continue;
                }
                let (id, log, mut child, _) = pending.swap_remove(i);
                let msg = match child.wait() {
                    Ok(s) if s.success() => continue,
                    Ok(s) => format!(
                        "{id}: {}",
                        report::failure_line(
                            &fs::read_to_string(&log).unwrap_or_default(),
                            exit_code(s)
                        )
                    ),
                    Err(e) => format!("harness: waiting for {id}: {e}"),
                };
                failure.get_or_insert(msg);
            }
        }
        let wall = ns(t.elapsed());
        match failure {
            Some(f) => Err(f),
            None => Ok(Measured {
                wall_ns: wall,
                maxrss_kib: None,
                steps_ns: None,
            }),
        }
    }

    fn teardown_exec_containers(&mut self) {
        for r in 0..self.rts.len() {
            let Some(pid) = self.rts[r].exec_pid.take() else {
                continue;
            };
            let id = self.id(r, "exec");
            if let Some(msg) = self.force_delete(r, &id) {
                self.problems.push(format!(
                    "{}: delete -f {id} failed: {msg}",
                    self.rts[r].name
                ));
            }
            if let Some(msg) = reap_within(pid, Duration::from_secs(5)) {
                self.problems
                    .push(format!("{}: {id}: {msg}", self.rts[r].name));
            }
        }
    }
}

/// After a failed poll, fall back to blocking waits for everyone.
fn ready_all(fds: &mut [libc::pollfd]) {
    for f in fds {
        f.revents = libc::POLLIN;
    }
}

fn pidfd_open(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd or -1; the pid is an
    // unreaped child of ours, so it names that child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// How many children of `pid` (of any of its threads) have exited but were not reaped: a
/// runtime hanging with its container process in that state has missed that exit.
fn zombie_children(pid: u32) -> usize {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|child| {
            fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
                .unwrap_or(false)
        })
        .count()
}

fn read_pid(pid_file: &Path) -> Result<Pid, String> {
    let text = fs::read_to_string(pid_file)
        .map_err(|e| format!("reading the pid file {}: {e}", pid_file.display()))?;
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
        .map(Pid::from_raw)
        .ok_or_else(|| format!("pid file {}: {text:?} is not a pid", pid_file.display()))
}

/// Waits for a started container's process, which is the driver's child by then (the
/// runtime that forked it has exited and the driver is the subreaper); it must exit 0.
fn wait_container(pid: Pid) -> Result<(), String> {
    loop {
        return match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, c)) => {
                Err(format!("the container process exited with status {c}"))
            }
            Ok(WaitStatus::Signaled(_, s, _)) => {
                Err(format!("the container process was killed by {s}"))
            }
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => Err(format!(
                "the container process {pid} is not a child of the driver, it cannot be waited for"
            )),
            Err(e) => Err(format!("waiting for the container process {pid}: {e}")),
        };
    }
}

/// Reaps a container process that `delete -f` should have killed; kills it if it did not,
/// rather than leave a process behind, and says so.
fn reap_within(pid: Pid, limit: Duration) -> Option<String> {
    let t = Instant::now();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if t.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Ok(WaitStatus::StillAlive) => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return Some(format!(
                    "its process {pid} was still running {} s after delete -f; the driver killed it",
                    limit.as_secs()
                ));
            }
            // ECHILD: already reaped as a stray.
            Ok(_) | Err(_) => return None,
        }
    }
}

/// Removes the temporary directories (bundles, rootfs, logs; the state dirs, each with
/// whether the driver mounted a tmpfs on it) and the cgroups the run created.
fn cleanup(
    dirs: &[(&Path, bool)],
    snapshot: &cgroups::Snapshot,
    ids: &HashSet<String>,
) -> cgroups::Cleanup {
    let mut out = snapshot.cleanup(ids);
    let mountinfo = fs::read_to_string("/proc/self/mountinfo");
    for &(dir, own_mount) in dirs.iter().filter(|(d, _)| d.exists()) {
        // A mount below it (a runtime's leftover) would make remove_dir_all reach into it.
        let mounted = mountinfo
            .as_ref()
            .map(|mi| {
                mi.lines().any(|l| {
                    l.split(' ').nth(4).is_some_and(|m| {
                        Path::new(m).starts_with(dir) && !(own_mount && Path::new(m) == dir)
                    })
                })
            })
            .unwrap_or(true);
        if mounted {
            out.problems.push(format!(
                "something is mounted below {} (or mountinfo is unreadable); left in place",
                dir.display()
            ));
            continue;
        }
        if own_mount && let Err(e) = nix::mount::umount(dir) {
            out.problems
                .push(format!("unmounting the tmpfs on {}: {e}", dir.display()));
            continue;
        }
        if let Err(e) = fs::remove_dir_all(dir) {
            out.problems
                .push(format!("removing {}: {e}", dir.display()));
        }
    }
    out
}

struct Info {
    version: String,
    size: u64,
    linkage: sysinfo::Linkage,
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// Writes raw.csv, the gnuplot files and plot, and results.md; prints the table. Returns
/// whether everything succeeded.
fn write_results(args: &args::Args, bench: &Bench) -> Result<bool> {
    let out = &args.out;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let names: Vec<String> = bench.rts.iter().map(|r| r.name.clone()).collect();

    let mut csv = String::from(
        "round,warmup,scenario,runtime,wall_ns,maxrss_kib,create_ns,start_ns,wait_ns,delete_ns\n",
    );
    for s in &bench.samples {
        let _ = write!(
            csv,
            "{},{},{},{},{},{}",
            s.round,
            u8::from(s.warmup),
            s.scenario.name(),
            names[s.runtime],
            s.wall_ns,
            s.maxrss_kib.map(|v| v.to_string()).unwrap_or_default()
        );
        match s.steps_ns {
            Some(st) => {
                let _ = writeln!(csv, ",{},{},{},{}", st[0], st[1], st[2], st[3]);
            }
            None => csv.push_str(",,,,\n"),
        }
    }
    fs::write(out.join("raw.csv"), csv).context("writing raw.csv")?;

    // Counted samples of (scenario, runtime), mapped to the unit shown.
    let values = |sc: Scenario, r: usize, f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<f64> {
        bench
            .samples
            .iter()
            .filter(|s| !s.warmup && s.scenario == sc && s.runtime == r)
            .filter_map(f)
            .collect()
    };
    let row = |label: String,
               unit: Unit,
               sc: Scenario,
               use_max: bool,
               f: &dyn Fn(&Sample) -> Option<f64>| Row {
        label,
        unit,
        cells: (0..bench.rts.len())
            .map(|r| match &bench.rts[r].failed[sc.index()] {
                // The RSS rows come from the same samples as the time rows above them.
                Some(_) if use_max => Cell::Failed(format!("see {}", sc.name())),
                Some(msg) => Cell::Failed(msg.clone()),
                None => Cell::from_summary(stats::summarize(&values(sc, r, f)), |s| {
                    if use_max { s.max } else { s.p90 }
                }),
            })
            .collect(),
    };
    let ms = |s: &Sample| Some(s.wall_ns as f64 / 1e6);
    let secs = |s: &Sample| Some(s.wall_ns as f64 / 1e9);
    let rss = |s: &Sample| s.maxrss_kib.map(|k| k as f64 / 1024.0);
    let infos: Vec<Info> = bench
        .rts
        .iter()
        .map(|r| Info {
            version: sysinfo::version(&r.path),
            size: fs::metadata(&r.path).map_or(0, |m| m.len()),
            linkage: sysinfo::linkage(&r.path),
        })
        .collect();
    let n = args.concurrency;
    let mut rows = vec![
        row("run (ms)".into(), Unit::Ms, Scenario::Run, false, &ms),
        row(
            "lifecycle (ms)".into(),
            Unit::Ms,
            Scenario::Lifecycle,
            false,
            &ms,
        ),
        row("exec (ms)".into(), Unit::Ms, Scenario::Exec, false, &ms),
        row(
            format!("throughput, {n} runs at once (s)"),
            Unit::S,
            Scenario::Throughput,
            false,
            &secs,
        ),
        row(
            "peak RSS run (MiB, median (max))".into(),
            Unit::MiB,
            Scenario::Run,
            true,
            &rss,
        ),
        row(
            "peak RSS exec (MiB, median (max))".into(),
            Unit::MiB,
            Scenario::Exec,
            true,
            &rss,
        ),
        Row {
            label: "binary size (MiB)".into(),
            unit: Unit::MiB,
            cells: infos
                .iter()
                .map(|i| Cell::Single(mib(i.size as f64)))
                .collect(),
        },
    ];
    if let Some(sc) = &bench.scale {
        rows.insert(6, sc.resident_row());
    }
    let table = report::render_table(&names, &rows);
    let scale_table = bench
        .scale
        .as_ref()
        .map(|sc| report::render_table(&names, &sc.rows()));

    let plot = plot(out, &names, &rows, args.concurrency, bench.scale.as_ref());
    let md = render_markdown(
        args,
        bench,
        &infos,
        &rows,
        &table,
        scale_table.as_deref(),
        &plot,
    );
    fs::write(out.join("results.md"), md).context("writing results.md")?;

    println!("{table}");
    if let Some(t) = &scale_table {
        println!("{t}");
    }
    let mut unexpected = 0;
    for (r, sc, msg, known) in bench.failures() {
        unexpected += usize::from(!known);
        let tag = if known { "FAILED (known)" } else { "FAILED" };
        eprintln!("rt-bench: {tag} {r} {}: {msg}", sc.name());
    }
    for p in &bench.problems {
        eprintln!("rt-bench: PROBLEM {p}");
    }
    for w in &bench.warnings {
        eprintln!("rt-bench: warning: {w}");
    }
    if let Err(p) = &plot {
        eprintln!("rt-bench: plot: {p}");
    }
    println!("results in {}", out.display());
    Ok(unexpected == 0 && bench.problems.is_empty() && !matches!(plot, Err(PlotError::Failed(_))))
}

enum PlotError {
    /// Not a failure of the run: the table has everything.
    Missing(String),
    Failed(String),
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlotError::Missing(m) | PlotError::Failed(m) => f.write_str(m),
        }
    }
}

fn plot_failed(what: &str, e: &dyn std::fmt::Display) -> PlotError {
    PlotError::Failed(format!("{what}: {e}"))
}

/// results.png from times.dat, rss.dat and plot.gp, and scale.png from scale.dat and
/// scale.gp, all kept in `out`.
fn plot(
    out: &Path,
    names: &[String],
    rows: &[Row],
    concurrency: usize,
    scale: Option<&scale::Scale>,
) -> Result<(), PlotError> {
    let failed = plot_failed;
    // An old plot next to new numbers would mislead.
    for old in ["results.png", "scale.png"] {
        match fs::remove_file(out.join(old)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(failed(&format!("removing the old {old}"), &e));
            }
            _ => {}
        }
    }
    let terminals = match Command::new("gnuplot")
        .args(["-e", "set terminal"])
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlotError::Missing(
                "gnuplot is not installed, so there is no results.png".into(),
            ));
        }
        Err(e) => return Err(failed("running gnuplot", &e)),
    };
    let terminal = if terminals.contains("pngcairo") {
        "pngcairo font ',10'"
    } else if terminals
        .lines()
        .any(|l| l.trim_start().starts_with("png "))
    {
        "png"
    } else {
        return Err(PlotError::Missing(
            "this gnuplot has neither the pngcairo nor the png terminal, so there is no results.png".into(),
        ));
    };

    let tp = format!("throughput ({concurrency} at once)");
    let times = report::gnuplot_data(
        names,
        &[
            ("run", &rows[0], 1.0),
            ("lifecycle", &rows[1], 1.0),
            ("exec", &rows[2], 1.0),
            (&tp, &rows[3], 1000.0),
        ],
    );
    let rss = report::gnuplot_data(names, &[("run", &rows[4], 1.0), ("exec", &rows[5], 1.0)]);
    let script = report::gnuplot_script(
        names,
        terminal,
        "OCI runtimes side by side (bench/results.md)",
        "Time: median, error bar up to p90 (ms, log scale)",
        "Peak RSS of the runtime process (ru_maxrss): median, error bar up to max (MiB)",
    );
    for (file, text) in [
        ("times.dat", &times),
        ("rss.dat", &rss),
        ("plot.gp", &script),
    ] {
        fs::write(out.join(file), text).map_err(|e| failed(&format!("writing {file}"), &e))?;
    }
    gnuplot(out, "plot.gp", "results.png")?;
    if let Some(sc) = scale {
        for (file, text) in [
            ("scale.dat", sc.gnuplot_data()),
            ("scale.gp", scale::gnuplot_script(names, terminal)),
        ] {
            fs::write(out.join(file), text).map_err(|e| failed(&format!("writing {file}"), &e))?;
        }
        gnuplot(out, "scale.gp", "scale.png")?;
    }
    Ok(())
}

fn gnuplot(out: &Path, script: &str, png: &str) -> Result<(), PlotError> {
    let o = Command::new("gnuplot")
        .arg(script)
        .current_dir(out)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| plot_failed("running gnuplot", &e))?;
    if !o.status.success() || !out.join(png).exists() {
        return Err(PlotError::Failed(format!(
            "gnuplot {script} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    Ok(())
}

fn render_markdown(
    args: &args::Args,
    bench: &Bench,
    infos: &[Info],
    rows: &[Row],
    table: &str,
    scale_table: Option<&str>,
    plot: &Result<(), PlotError>,
) -> String {
    let mut md = String::new();
    let names: Vec<&str> = bench.rts.iter().map(|r| r.name.as_str()).collect();
    let n = names.len();
    let first = names.first().copied().unwrap_or("");
    let cgroup_parent = &bench.cgroup_parent;
    let _ = writeln!(md, "# Benchmark: {}\n", names.join(", "));
    let _ = writeln!(md, "- Date: {}", sysinfo::date());
    let _ = writeln!(
        md,
        "- Machine: kernel {}, {} ({} logical CPUs)",
        sysinfo::kernel(),
        sysinfo::cpu_model(),
        sysinfo::cores()
    );
    let _ = writeln!(
        md,
        "- Load average (1, 5, 15 min) before the rounds: {}; after: {} (the throughput scenario raises it; other work on the machine adds noise)",
        bench.load.0, bench.load.1
    );
    let _ = writeln!(
        md,
        "- Rounds: {} counted, after {} warm-up round(s) that were run and discarded",
        args.rounds, args.warmup
    );
    let _ = writeln!(md, "- Runtimes:");
    for (r, i) in bench.rts.iter().zip(infos) {
        let _ = writeln!(md, "  - {}: `{}` ({})", r.name, i.version, r.path.display());
    }
    for note in &args.notes {
        let _ = writeln!(md, "- {note}");
    }

    let _ = writeln!(md, "\n## Method\n");
    let _ = writeln!(
        md,
        "- Bundle: a rootfs holding one static busybox (`/bin/true`, `/bin/sh`, `/bin/sleep`), and \
runc's default spec (`runc spec`) with `process.args` = `[\"/bin/true\"]` and `process.terminal` = false: \
the benchmark has no tty to give a container. Each container has its own `linux.cgroupsPath` = \
`{cgroup_parent}/<id>` (below the driver's own cgroup, so no runtime creates cgroups elsewhere), and each \
runtime its own `--root` state directory, on tmpfs (in /run, where engines keep theirs)."
    );
    let _ = writeln!(
        md,
        "- Interleaving: in every round, each scenario is measured for every runtime in turn, and round r \
starts with runtime r mod {n}, so that no runtime is always first."
    );
    let _ = writeln!(
        md,
        "- `run`: `run --bundle B ID` of `/bin/true`, through a small static launcher that forks the runtime, \
times fork→wait4 and reads `ru_maxrss` (the runtime and the descendants it reaped, such as the container init)."
    );
    let _ = writeln!(
        md,
        "- `lifecycle`: `create` + `start` + waiting for the container process to exit (the driver is a child \
subreaper, so the container init becomes its child once the runtime exits) + `delete`."
    );
    let _ = writeln!(
        md,
        "- `exec`: `exec ID /bin/true` into a long-running container (`/bin/sleep`) started before the rounds."
    );
    let _ = writeln!(
        md,
        "- `throughput`: {} `run`s of `/bin/true` started at once; the sample is the wall time from the first \
spawn to the last exit.",
        args.concurrency
    );
    let _ = writeln!(
        md,
        "- Cells: median (p90, nearest rank) of the counted rounds; peak RSS rows: median (max) of `ru_maxrss` \
of the `run` and `exec` samples. Ratios are {first} / other of the medians (below 1: {first} is faster or smaller)."
    );

    let _ = writeln!(md, "\n## Results\n\n{table}");
    let mut rates = Vec::new();
    for (name, c) in names.iter().zip(&rows[3].cells) {
        if let Cell::Spread(m, _) = c {
            rates.push(format!("{name} {:.0}", args.concurrency as f64 / m));
        }
    }
    if !rates.is_empty() {
        let _ = writeln!(
            md,
            "Throughput as containers per second (median batch): {}.\n",
            rates.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "Lifecycle steps, medians in ms (create / start / wait for exit / delete):\n"
    );
    for (r, name) in names.iter().enumerate() {
        if bench.rts[r].failed[Scenario::Lifecycle.index()].is_some() {
            continue;
        }
        let steps: Vec<[u64; 4]> = bench
            .samples
            .iter()
            .filter(|s| !s.warmup && s.runtime == r && s.scenario == Scenario::Lifecycle)
            .filter_map(|s| s.steps_ns)
            .collect();
        let med: Vec<String> = (0..4)
            .map(|k| {
                let v: Vec<f64> = steps.iter().map(|s| s[k] as f64 / 1e6).collect();
                stats::summarize(&v).map_or("–".to_string(), |s| format!("{:.1}", s.median))
            })
            .collect();
        let _ = writeln!(md, "- {name}: {}", med.join(" / "));
    }

    if let (Some(t), Some(sc)) = (scale_table, &bench.scale) {
        let p = &sc.plan;
        let sizes: Vec<String> = p.sizes.iter().map(usize::to_string).collect();
        let _ = writeln!(md, "\n## Cost as work grows\n");
        let _ = writeln!(
            md,
            "Measured after the rounds, one runtime at a time: each runtime creates (and does not start) \
{} containers of its own, and with each count present measures `list`, `state` of one of them and `create` of \
one more (deleted after each sample), {} samples each, median (p90). Then `ps` (rt and runc run the host's `ps -ef` \
and keep the container's rows, crun prints the pids), `ps --format json` (the pids) and `events --stats` of a container \
whose shell started {} `sleep`s. Its containers are removed before the next runtime begins.\n",
            sizes.join(", then "),
            p.samples,
            p.procs
        );
        let _ = writeln!(
            md,
            "The resident size in the table above is `VmRSS` of a foreground `run` (no `-d`) {} s after its \
container (`sleep`) started: such a runtime process stays for the container's whole life, one per container.\n",
            scale::RESIDENT_AFTER.as_secs()
        );
        let _ = writeln!(md, "{t}");
        if plot.is_ok() {
            let _ = writeln!(md, "![scale](scale.png)");
        }
    }

    let _ = writeln!(md, "\n## Binaries\n");
    for (r, i) in bench.rts.iter().zip(infos) {
        let link = match &i.linkage {
            sysinfo::Linkage::Static => {
                "statically linked (ldd: not a dynamic executable)".to_string()
            }
            sysinfo::Linkage::Dynamic(libs) if libs.is_empty() => {
                "dynamically linked against glibc only".to_string()
            }
            sysinfo::Linkage::Dynamic(libs) => {
                let total: u64 = libs.iter().map(|(_, s)| s).sum();
                let list: Vec<String> = libs
                    .iter()
                    .map(|(l, s)| format!("{l} ({:.2} MiB)", mib(*s as f64)))
                    .collect();
                format!(
                    "dynamically linked; shared libraries besides glibc, {:.1} MiB in all: {}",
                    mib(total as f64),
                    list.join(", ")
                )
            }
            sysinfo::Linkage::Unknown(e) => format!("linkage unknown ({e})"),
        };
        let _ = writeln!(md, "- {}: {:.1} MiB, {link}", r.name, mib(i.size as f64));
    }

    let failures: Vec<String> = bench
        .failures()
        .into_iter()
        .map(|(r, sc, m, known)| {
            let known = if known {
                " (a known failure, declared with --known-failure: see bench/README.md)"
            } else {
                ""
            };
            format!("- {r} `{}`{known}: {}", sc.name(), report::escape(m))
        })
        .chain(
            bench
                .problems
                .iter()
                .map(|p| format!("- {}", report::escape(p))),
        )
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\n## Failures\n\n{}", failures.join("\n"));
    }
    if !bench.warnings.is_empty() {
        let w: Vec<String> = bench
            .warnings
            .iter()
            .map(|w| format!("- {}", report::escape(w)))
            .collect();
        let _ = writeln!(md, "\n## Warnings\n\n{}", w.join("\n"));
    }

    let _ = writeln!(md, "\n## Plot\n");
    match plot {
        Ok(()) => {
            let _ = writeln!(md, "![results](results.png)");
        }
        Err(e) => {
            let _ = writeln!(md, "No plot: {e}.");
        }
    }
    md
}
