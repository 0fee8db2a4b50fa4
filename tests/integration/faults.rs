//! Faults (issue 13). rt killed at every step of create, start, exec, kill and delete
//! (its fault points, see src/fault.rs), with the container's init killed while create
//! waits, with rt's parent dying mid-create; and faults rt cannot prevent: a full state
//! directory, too few file descriptors. Each ends with one clear line and exit code 1, or
//! with a `delete -f` that works; and then nothing is left: no state or staging directory,
//! no cgroup, no process, no mount.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde_json::json;

use crate::common::*;

/// A small tmpfs of the test's own, unmounted (lazily) when dropped.
struct SmallTmpfs(TempDir);

impl SmallTmpfs {
    fn new(size: &str) -> SmallTmpfs {
        let dir = TempDir::new("tmpfs");
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(format!("size={size}").as_str()),
        )
        .unwrap();
        SmallTmpfs(dir)
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.0.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

fn assert_nothing_of(id: &str, bundle: &Bundle) {
    assert_eq!(cgroup_dirs_named(id), Vec::<std::path::PathBuf>::new());
    assert_eq!(processes_mentioning(id), Vec::<i32>::new());
    assert_eq!(host_mounts_under(bundle.path()), Vec::<String>::new());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn full_state_directory_fails_cleanly() {
    need_root();
    let root = SmallTmpfs::new("64k");
    // Full to the last block.
    let _ = fs::write(root.0.path().join("filler"), vec![0u8; 1 << 20]);
    let b = Bundle::new(&["true"]);
    let id = unique("full");
    let out = capture(Command::new(RT).arg("--root").arg(root.0.path()).args([
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no space left on device"),
        "{}",
        out.stderr
    );
    let left: Vec<_> = fs::read_dir(root.0.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("filler")]);
    assert_nothing_of(&id, &b);
}

/// A rootfs without a free inode: the mount point a mount needs cannot be made. One line
/// names the mount and the kernel's reason, and nothing is left.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn full_rootfs_fails_cleanly() {
    need_root();
    let disk = SmallTmpfs::new("16m");
    let rootfs = disk.0.path().join("rootfs");
    make_rootfs(&rootfs);
    let used = nix::sys::statvfs::statvfs(disk.0.path()).unwrap();
    let used = used.files() - used.files_free();
    nix::mount::mount(
        None::<&str>,
        disk.0.path(),
        None::<&str>,
        nix::mount::MsFlags::MS_REMOUNT,
        Some(format!("nr_inodes={used}").as_str()),
    )
    .unwrap();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["root"]["path"] = json!(rootfs))
        .add_mount(json!({"destination": "/new/dir", "type": "tmpfs", "source": "tmpfs"}));
    let id = unique("fullroot");
    let rt = Rt::new();
    let out = rt.run(&b, &id);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("mounts[") && out.stderr.contains("no space left on device"),
        "{}",
        out.stderr
    );
    assert!(!rootfs.join("new").exists());
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn too_few_file_descriptors_fail_cleanly() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    // Each limit runs out at a different step of create. Around 8 or 9, libpathrs (a
    // dependency) can panic when it cannot open /proc/thread-self: that is one line and a
    // failed create too.
    for limit in 4..=14 {
        let id = unique("emfile");
        let out = capture(
            Command::new("prlimit")
                .arg(format!("--nofile={limit}:{limit}"))
                .arg(RT)
                .arg("--root")
                .arg(rt.root())
                .args(["run", "--bundle", b.path().to_str().unwrap(), &id]),
        );
        if out.code == 0 {
            // Enough for rt after all: then it must have worked completely.
            assert_no_trace(&rt, &id, &b);
            continue;
        }
        assert_eq!(out.code, 1, "limit {limit}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "limit {limit}: {}",
            out.stderr
        );
        // What is said depends on where the fds ran out, in rt ("too many open files"),
        // in the config's RLIMIT_NOFILE of 1024 above a hard limit this machine's root
        // may not raise, or inside a library that misreads EMFILE (libcgroups: "cgroup
        // devices ... is not supported"): one line in every case.
        eprintln!("limit {limit}: {}", out.stderr.trim());
        rt.rt(&["list", "-q"]).ok();
        assert_no_trace(&rt, &id, &b);
    }
}

/// How a command run with a fault point armed ended.
enum Reached {
    /// Stopped at the point named.
    Point(String),
    /// Passed fewer points than asked: it ran to its end with this exit code.
    End(i32),
}

/// `rt ARGS` with `_RT_FAULT_STOP_AT=n`: it runs until it stops itself at its nth fault
/// point, or ends. A stopped rt is left stopped, for the caller to kill or continue.
struct Armed {
    pid: Pid,
    stderr: fs::File,
}

impl Armed {
    // Reaped with waitpid (WUNTRACED: std's Child cannot see a stop).
    #[allow(clippy::zombie_processes)]
    fn start(rt: &Rt, args: &[&str], n: u32) -> Armed {
        let stderr = memfd("faulted-stderr");
        let child = rt
            .cmd()
            .args(args)
            .env("_RT_FAULT_STOP_AT", n.to_string())
            .stdout(Stdio::null())
            .stderr(stderr.try_clone().unwrap())
            .spawn()
            .unwrap();
        Armed {
            pid: Pid::from_raw(child.id() as i32),
            stderr,
        }
    }

    /// Waits until rt stops at its point or ends (a hung rt fails the test).
    fn reached(&self) -> Reached {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match waitpid(
                self.pid,
                Some(WaitPidFlag::WUNTRACED | WaitPidFlag::WNOHANG),
            ) {
                Ok(WaitStatus::Stopped(..)) => {
                    let text = self.stderr_text();
                    let name = text
                        .lines()
                        .find_map(|l| l.strip_prefix("rt: fault point "))
                        .and_then(|l| l.split_once(": "))
                        .map(|(_, name)| name.to_owned())
                        .unwrap_or_else(|| panic!("stopped without naming its point: {text}"));
                    return Reached::Point(name);
                }
                Ok(WaitStatus::Exited(_, code)) => return Reached::End(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Reached::End(128 + sig as i32),
                Ok(_) => {}
                Err(e) => panic!("waitpid {}: {e}", self.pid),
            }
            assert!(Instant::now() < deadline, "rt neither stopped nor ended");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGKILL, after letting rt go on for `after` first (if any); reaps it.
    fn kill(&self, after: Option<Duration>) {
        if let Some(d) = after {
            kill(self.pid, Signal::SIGCONT).unwrap();
            std::thread::sleep(d);
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = waitpid(self.pid, None);
    }

    /// Lets a stopped rt go on to its end; its exit code.
    fn finish(&self) -> i32 {
        kill(self.pid, Signal::SIGCONT).unwrap();
        match waitpid(self.pid, None).unwrap() {
            WaitStatus::Exited(_, code) => code,
            WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
            other => panic!("{other:?}"),
        }
    }

    /// What rt said, without the line naming its fault point.
    fn stderr_text(&self) -> String {
        read_all(self.stderr.try_clone().unwrap())
    }

    fn error_lines(&self) -> Vec<String> {
        self.stderr_text()
            .lines()
            .filter(|l| !l.starts_with("rt: fault point "))
            .map(str::to_owned)
            .collect()
    }
}

/// The processes whose parent is `pid` (this kernel has no /proc/PID/task/TID/children).
fn children_of(pid: Pid) -> Vec<Pid> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s[s.rfind(')')? + 2..].to_owned();
                    after.split(' ').nth(1)?.parse::<i32>().ok()
                })
                == Some(pid.as_raw())
        })
        .map(Pid::from_raw)
        .collect()
}

/// After a fault: `list` works, `state` either finds the container or says it does not
/// exist (never a corrupt state), and `delete -f` works.
fn recover(rt: &Rt, id: &str, at: &str) {
    rt.rt(&["list"]).ok();
    let state = rt.rt(&["state", id]);
    if state.code == 0 {
        let v: serde_json::Value = serde_json::from_str(&state.stdout).unwrap_or_else(|e| {
            panic!("at {at}: state of {id} is not JSON ({e}): {}", state.stdout)
        });
        assert_eq!(v["id"], id, "at {at}");
    } else {
        assert!(
            state.stderr.contains("container does not exist"),
            "at {at}: rt state: {}",
            state.stderr
        );
    }
    let out = rt.rt(&["delete", "-f", id]);
    assert_eq!(out.code, 0, "at {at}: delete -f: {}", out.stderr);
    let listed = rt.rt(&["list", "-q"]);
    assert!(
        !listed.ok().lines().any(|l| l == id),
        "at {at}: still listed after delete -f"
    );
}

/// Nothing of `id` is left. A killed rt's init that was not recorded yet goes by itself
/// when rt's end of its channel closes: processes get a deadline.
fn assert_nothing_left(rt: &Rt, id: &str, b: &Bundle, at: &str) {
    let marker = bundle_arg(b);
    let alive = || [processes_mentioning(id), processes_mentioning(&marker)].concat();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !alive().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let entries: Vec<_> = fs::read_dir(rt.root())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "at {at}: left under --root: {entries:?}"
    );
    assert_eq!(
        cgroup_dirs_named(id),
        Vec::<std::path::PathBuf>::new(),
        "at {at}: cgroups"
    );
    let described: Vec<String> = alive()
        .into_iter()
        .map(|p| {
            let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let stat = fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let wchan = fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split(' ').nth(2))
                .unwrap_or("0")
                .to_owned();
            let pcmd = fs::read(format!("/proc/{ppid}/cmdline")).unwrap_or_default();
            let pstat = fs::read_to_string(format!("/proc/{ppid}/stat")).unwrap_or_default();
            let pwchan = fs::read_to_string(format!("/proc/{ppid}/wchan")).unwrap_or_default();
            let status: String = children_of(Pid::from_raw(p))
                .iter()
                .map(|c| {
                    let cmd = fs::read(format!("/proc/{c}/cmdline")).unwrap_or_default();
                    let st = fs::read_to_string(format!("/proc/{c}/stat")).unwrap_or_default();
                    let w = fs::read_to_string(format!("/proc/{c}/wchan")).unwrap_or_default();
                    let fds: Vec<String> = fs::read_dir(format!("/proc/{c}/fd"))
                        .map(|d| {
                            d.flatten()
                                .map(|e| {
                                    format!(
                                        "{:?}->{:?}",
                                        e.file_name(),
                                        fs::read_link(e.path()).unwrap_or_default()
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    format!(
                        "child {c}: {} [{}] wchan {w} fds {fds:?}",
                        String::from_utf8_lossy(&cmd).replace('\0', " "),
                        st.trim()
                    )
                })
                .collect();
            format!(
                "{p}: {} [{}] wchan {wchan} {status}; parent {} [{}] wchan {pwchan}",
                String::from_utf8_lossy(&cmd).replace('\0', " "),
                stat.trim(),
                String::from_utf8_lossy(&pcmd).replace('\0', " "),
                pstat.trim()
            )
        })
        .collect();
    assert_eq!(described, Vec::<String>::new(), "at {at}: processes");
    assert_eq!(
        host_mounts_under(b.path()),
        Vec::<String>::new(),
        "at {at}: mounts"
    );
}

/// What each fault does to the stopped rt.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// SIGKILL rt where it stopped.
    Rt,
    /// Let rt go on for 0–30 ms, then SIGKILL it: between the points.
    RtSoon,
    /// SIGKILL what rt started (the container's init, or the process that makes it), then
    /// let rt go on: it must fail cleanly by itself, or end with a container to delete.
    Init,
}

/// A command under test: `setup` makes what it works on, `args` is the command.
struct Step<'a> {
    name: &'a str,
    setup: &'a dyn Fn(&Rt, &str),
    args: &'a dyn Fn(&str) -> Vec<String>,
}

/// Runs `step` once for every fault point it passes, with `fault` at that point, and
/// checks what is left each time (and `check`, with the point's name). Returns the names
/// of the points.
fn every_point(
    rt: &Rt,
    b: &Bundle,
    step: &Step,
    fault: Kill,
    rand: &mut dyn FnMut(u64) -> u64,
    check: &dyn Fn(&str),
) -> Vec<String> {
    let mut points = Vec::new();
    for n in 1.. {
        assert!(n < 100, "{}: more fault points than expected", step.name);
        let id = unique("fault");
        (step.setup)(rt, &id);
        let args = (step.args)(&id);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let armed = Armed::start(rt, &args, n);
        let at = match armed.reached() {
            Reached::End(code) => {
                // Past the last point: the command as it is without faults.
                assert_eq!(code, 0, "{}: {:?}", step.name, armed.stderr_text());
                recover(rt, &id, "the end");
                assert_nothing_left(rt, &id, b, "the end");
                check("the end");
                break;
            }
            Reached::Point(name) => name,
        };
        let at = format!(
            "{} at {n} ({at}), {fault:?}, rt {}, {id}",
            step.name, armed.pid
        );
        match fault {
            Kill::Rt => armed.kill(None),
            Kill::RtSoon => armed.kill(Some(Duration::from_micros(rand(30_000)))),
            Kill::Init => {
                for child in children_of(armed.pid) {
                    let _ = kill(child, Signal::SIGKILL);
                }
                let code = armed.finish();
                let lines = armed.error_lines();
                if code != 0 {
                    assert_eq!(code, 1, "{at}: {lines:?}");
                    assert_eq!(lines.len(), 1, "{at}: not one line: {lines:?}");
                    assert!(lines[0].starts_with("rt: "), "{at}: {lines:?}");
                    // A failed create removes everything itself.
                    assert_nothing_left(rt, &id, b, &at);
                }
            }
        }
        recover(rt, &id, &at);
        assert_nothing_left(rt, &id, b, &at);
        check(&at);
        points.push(at);
    }
    points
}

fn bundle_arg(b: &Bundle) -> String {
    b.path().to_str().unwrap().to_owned()
}

/// The whole lifecycle, step by step, each killed at each of its points.
fn lifecycle_under_faults(b: &Bundle, faults: &[Kill]) {
    lifecycle_under_faults_checked(b, faults, &|_| {});
}

fn lifecycle_under_faults_checked(b: &Bundle, faults: &[Kill], check: &dyn Fn(&str)) {
    let rt = Rt::new();
    let dir = bundle_arg(b);
    let none = |_: &Rt, _: &str| {};
    let created = |rt: &Rt, id: &str| {
        rt.rt(&["create", "--bundle", &dir, id]).ok();
    };
    let running = |rt: &Rt, id: &str| {
        rt.rt(&["run", "-d", "--bundle", &dir, id]).ok();
    };
    let stopped = |rt: &Rt, id: &str| {
        rt.rt(&["run", "-d", "--bundle", &dir, id]).ok();
        rt.rt(&["kill", id, "KILL"]).ok();
        rt.wait_status(id, "stopped");
    };
    let steps = [
        Step {
            name: "run -d",
            setup: &none,
            args: &|id| {
                vec![
                    "run".into(),
                    "-d".into(),
                    "--bundle".into(),
                    dir.clone(),
                    id.into(),
                ]
            },
        },
        Step {
            name: "create",
            setup: &none,
            args: &|id| vec!["create".into(), "--bundle".into(), dir.clone(), id.into()],
        },
        Step {
            name: "start",
            setup: &created,
            args: &|id| vec!["start".into(), id.into()],
        },
        Step {
            name: "exec",
            setup: &running,
            args: &|id| vec!["exec".into(), id.into(), "true".into()],
        },
        Step {
            name: "delete -f",
            setup: &running,
            args: &|id| vec!["delete".into(), "-f".into(), id.into()],
        },
        Step {
            name: "delete",
            setup: &stopped,
            args: &|id| vec!["delete".into(), id.into()],
        },
    ];
    let mut rand = xorshift(0x9e37_79b9_7f4a_7c15);
    for fault in faults {
        for step in &steps {
            if matches!(fault, Kill::Init)
                && !step.name.starts_with("create")
                && step.name != "run -d"
            {
                continue;
            }
            let points = every_point(&rt, b, step, *fault, &mut rand, check);
            eprintln!(
                "{} ({fault:?}): {} points: {points:?}",
                step.name,
                points.len()
            );
            if matches!(fault, Kill::Rt) {
                assert!(!points.is_empty(), "{}: no fault point passed", step.name);
            }
        }
    }
}

/// A bundle whose container process and hooks (createRuntime, poststart, poststop)
/// carry the bundle's path on their command lines, so that any of them left running is
/// found (`assert_nothing_left`). The hooks are still running when rt is killed at its
/// "hook: running" points: they must not outlive it.
fn marked(edit: impl FnOnce(&mut serde_json::Value)) -> Bundle {
    let mut b = Bundle::new(&["true"]);
    let marker = bundle_arg(&b);
    let hook =
        json!({"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/null; sleep 0.05", &marker]});
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", "sleep 100; :", &marker]);
        c["hooks"] = json!({"createRuntime": [hook], "poststart": [hook], "poststop": [hook]});
        edit(c);
    });
    b
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn killed_at_every_step_leaves_nothing() {
    need_root();
    let b = marked(|_| {});
    lifecycle_under_faults(&b, &[Kill::Rt, Kill::RtSoon, Kill::Init]);
}

/// In a user namespace the parent places the init in its cgroups (it cannot move itself);
/// without a pid namespace the container's processes are killed through its cgroup.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn killed_at_every_step_leaves_nothing_in_other_namespace_layouts() {
    need_root();
    let userns = marked(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    lifecycle_under_faults(&userns, &[Kill::Rt]);
    let shared_pid = marked(|c| {
        c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]);
    });
    lifecycle_under_faults(&shared_pid, &[Kill::Rt, Kill::Init]);
}

/// The state letter of a process (R, S, T, Z, ...), None once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// A hook still running when rt is killed dies with it (runc leaves it running). What the
/// hook started itself is not rt's to end: here, a short sleep.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_running_hook_dies_with_rt() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    let marker = bundle_arg(&b);
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", "while :; do sleep 0.1; done", &marker]}
        ]})
    });
    for n in 1.. {
        let id = unique("hookdies");
        let armed = Armed::start(&rt, &["create", "--bundle", &marker, &id], n);
        let Reached::Point(point) = armed.reached() else {
            panic!("create ended without running its hook");
        };
        armed.kill(None);
        if point == "hook: running" {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(
                processes_mentioning(&marker),
                Vec::<i32>::new(),
                "the hook outlived rt"
            );
            recover(&rt, &id, &point);
            assert_nothing_left(&rt, &id, &b, &point);
            return;
        }
        recover(&rt, &id, &point);
    }
}

/// An rt hung in a hook without a timeout holds the container's lock for good: in
/// createRuntime that is `create`, in poststart `start`. `delete -f` waits a while, then
/// ends that rt (and with it the hook) and deletes the container. (runc's delete -f does
/// not see a container whose create has not finished, and leaves it running.)
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn delete_force_ends_an_rt_hung_in_a_hook() {
    need_root();
    let rt = Rt::new();
    for (hook, held_by) in [("createRuntime", "create"), ("poststart", "start")] {
        let mut b = Bundle::new(&["sleep", "1000"]);
        let marker = bundle_arg(&b);
        b.edit(|c| {
            c["hooks"] = json!({ hook: [
                {"path": "/bin/sh", "args": ["sh", "-c", "while :; do sleep 0.1; done", &marker]}
            ]})
        });
        let id = unique("hung");
        if held_by == "start" {
            rt.create(&b, &id).ok();
        }
        let args = match held_by {
            "start" => vec!["start", &id],
            _ => vec!["create", "--bundle", &marker, &id],
        };
        let mut hung = rt
            .cmd()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let hook_runs = || {
            processes_mentioning(&marker).iter().any(|p| {
                fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"sh\0"))
            })
        };
        while !hook_runs() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(hook_runs(), "{hook}: the hook never ran");
        assert!(
            hung.try_wait().unwrap().is_none(),
            "{hook}: rt {held_by} ended"
        );
        // Without a bound, an rt that waits for good would hang the suite.
        let bounded = |args: &[&str]| {
            capture(
                Command::new("timeout")
                    .arg("20")
                    .arg(RT)
                    .arg("--root")
                    .arg(rt.root())
                    .args(args),
            )
        };
        if held_by == "start" {
            // The container runs; a kill reaches it past the hung start.
            let init = rt.state(&id)["pid"].as_i64().unwrap() as i32;
            let since = start_time(init).unwrap();
            let out = bounded(&["kill", &id, "KILL"]);
            assert_eq!(out.code, 0, "{hook}: kill: {}", out.stderr);
            assert!(wait_dead(init, since), "{hook}: the init outlived kill");
        }
        let began = Instant::now();
        let out = bounded(&["delete", "-f", &id]);
        assert_eq!(out.code, 0, "{hook}: delete -f: {}", out.stderr);
        assert!(
            out.stderr.contains("killing it"),
            "{hook}: no word of the killed holder: {}",
            out.stderr
        );
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{hook}: delete -f took long"
        );
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(hung.wait().unwrap().signal(), Some(libc::SIGKILL), "{hook}");
        assert_nothing_left(&rt, &id, &b, hook);
    }
}

/// rt's caller (a shim, a shell) dying while rt creates changes nothing: rt finishes and
/// the container runs. At every point of `run -d`.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn the_callers_death_mid_create_changes_nothing() {
    need_root();
    let rt = Rt::new();
    let b = marked(|_| {});
    let dir = bundle_arg(&b);
    let mut points = 0;
    for n in 1.. {
        let id = unique("orphaned");
        let mut caller = Command::new("sh")
            .args(["-c", "\"$@\" & echo $!; wait", "sh", RT, "--root"])
            .arg(rt.root())
            .args(["run", "-d", "--bundle", &dir, &id])
            .env("_RT_FAULT_STOP_AT", n.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(caller.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        let pid: i32 = line.trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let stopped = loop {
            match proc_state(pid) {
                Some('T') => break true,
                None | Some('Z') => break false,
                _ => {}
            }
            assert!(Instant::now() < deadline, "rt neither stopped nor ended");
            std::thread::sleep(Duration::from_millis(1));
        };
        let _ = caller.kill();
        let _ = caller.wait();
        if stopped {
            points += 1;
            kill(Pid::from_raw(pid), Signal::SIGCONT).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !matches!(proc_state(pid), None | Some('Z')) {
                assert!(Instant::now() < deadline, "rt did not finish");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let at = format!("point {n}");
        assert_eq!(
            rt.status(&id),
            "running",
            "{at}: the container does not run"
        );
        recover(&rt, &id, &at);
        assert_nothing_left(&rt, &id, &b, &at);
        if !stopped {
            break;
        }
    }
    assert!(points > 10, "only {points} points");
}

/// linux.netDevices: wherever rt is killed, the device is back on the host under its own
/// name after `delete -f` (never destroyed with the container's namespace), with its MTU,
/// MAC and addresses, even when rt died between moving it and copying its addresses.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn killed_at_every_step_gives_network_devices_back() {
    need_root();
    let veth = crate::netdev::Dummy::new();
    let b = marked(|c| c["linux"]["netDevices"] = json!({ &veth.name: {"name": "ctr0"} }));
    lifecycle_under_faults_checked(&b, &[Kill::Rt, Kill::RtSoon, Kill::Init], &|at| {
        let shown = veth
            .on_host()
            .unwrap_or_else(|| panic!("{at}: {} is not back on the host", veth.name));
        assert!(shown.contains("mtu 1789"), "{at}: {shown}");
        assert!(shown.contains("02:11:22:33:44:55"), "{at}: {shown}");
        assert!(shown.contains("inet 169.254.77.1/32"), "{at}: {shown}");
        assert!(shown.contains("inet6 fd00:77::1/64"), "{at}: {shown}");
        assert!(shown.contains(",UP"), "{at}: {shown}");
    });
}

/// An exec that a `delete -f` overtakes after it has opened the container's namespaces
/// answers as runc does and makes nothing of the container's again. The stress test
/// caught an exec, later on its way, bringing back the container's directories in the
/// unmanaged hierarchies (name=systemd, and cgroup2 on a hybrid host) for good; on cgroup
/// v2 libcgroups' add_task would make the whole cgroup again. Since then exec writes
/// itself only into existing cgroups. That later window cannot be held open from here: an
/// exec process already cloned into the container is a child of the stopped `rt exec`,
/// and the container's pid namespace cannot end until it is reaped.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn an_exec_racing_a_delete_makes_nothing_again() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "100"]);
    let id = unique("xrace");
    rt.rt(&["run", "-d", "--bundle", &bundle_arg(&b), &id]).ok();
    let exec = Armed::start(&rt, &["exec", &id, "true"], 1);
    match exec.reached() {
        Reached::Point(p) => assert_eq!(p, "exec: namespaces opened"),
        Reached::End(code) => panic!("exec ended ({code}) before its first fault point"),
    }
    rt.rt(&["delete", "-f", &id]).ok();
    let code = exec.finish();
    assert_eq!(code, 255, "{}", exec.stderr_text());
    assert_eq!(
        exec.error_lines(),
        vec![format!("rt: container not running: {id}")]
    );
    assert_no_trace(&rt, &id, &b);
}
