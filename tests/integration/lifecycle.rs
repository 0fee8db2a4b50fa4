//! create / start / state / kill / delete / run / list as containerd and users drive them.

use std::fs;
use std::time::Duration;

use crate::common::*;

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn containerd_flow_create_start_kill_delete() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cd");
    let pid_file = b.path().join("init.pid");
    rt.rt(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ])
    .ok();
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let st = rt.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"], pid);
    assert_eq!(st["id"], id.as_str());
    assert_eq!(st["bundle"], b.path().to_str().unwrap());
    assert_eq!(st["rootfs"], b.rootfs().to_str().unwrap());
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["owner"], "root");
    let created = st["created"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");
    // created: the init exists but runs rt's code, not yet `sleep`.
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    rt.rt(&["start", &id]).ok();
    assert_eq!(rt.status(&id), "running");
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep");

    rt.rt(&["kill", &id, "9"]).ok();
    rt.wait_status(&id, "stopped");
    assert_eq!(rt.state(&id)["pid"], 0);
    rt.rt(&["delete", &id]).ok();
    rt.rt(&["state", &id])
        .fails_with("container does not exist");
    assert_no_trace(&rt, &id, &b);
}

/// A container that was created and never started ends on `kill` with the default
/// SIGTERM (and on HUP, INT, QUIT), as runc's does (its pidfd-socket.bats kills one so):
/// its waiting init is pid 1 of its namespace, where a signal without a handler would be
/// dropped. USR1 is not one of them: it is ignored there, as runc's init ignores it.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn created_container_ends_on_sigterm() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    for sig in ["TERM", "HUP", "INT", "QUIT"] {
        let id = unique("ct");
        rt.create(&b, &id).ok();
        rt.rt(&["kill", &id, sig]).ok();
        rt.wait_status(&id, "stopped");
        rt.rt(&["delete", &id]).ok();
    }
    let id = unique("ct");
    rt.create(&b, &id).ok();
    rt.rt(&["kill", &id, "USR1"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(rt.status(&id), "created");
    rt.rt(&["start", &id]).ok();
    assert_eq!(rt.status(&id), "running");
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn relative_pid_file_is_relative_to_cwd() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let id = unique("pf");
    capture(rt.cmd().current_dir(b.path()).args([
        "create",
        "--bundle",
        ".",
        "--pid-file",
        "sub.pid",
        &id,
    ]))
    .ok();
    let pid: i32 = fs::read_to_string(b.path().join("sub.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rt.state(&id)["pid"], pid);
    assert_eq!(rt.state(&id)["bundle"], b.path().to_str().unwrap());
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_propagates_exit_codes() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("exit 7");
    assert_eq!(rt.run(&b, &unique("ex")).code, 7);
    let b = Bundle::sh("exit 0");
    assert_eq!(rt.run(&b, &unique("ex")).code, 0);
    // Killed by a signal: 128+N. (pid 1 ignores signals it has no handler for, even
    // SIGKILL from inside its namespace, so kill a child of the shell's.)
    let mut b = Bundle::sh("kill -9 $$");
    b.edit(|c| {
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "ipc"}]);
        c.as_object_mut().unwrap().remove("hostname");
    });
    assert_eq!(rt.run(&b, &unique("ex")).code, 128 + 9);
    let leftovers: Vec<_> = fs::read_dir(rt.root()).unwrap().collect();
    assert!(leftovers.is_empty(), "run left state behind");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_shows_container_output_and_deletes() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("echo hello from $$; echo oops >&2");
    let id = unique("out");
    let out = rt.run(&b, &id);
    assert_eq!(out.ok(), "hello from 1\n");
    assert_eq!(out.stderr, "oops\n");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_keep_leaves_stopped_container() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("exit 3");
    let id = unique("keep");
    let out = rt.rt(&["run", "--keep", "--bundle", b.path().to_str().unwrap(), &id]);
    assert_eq!(out.code, 3);
    assert_eq!(rt.status(&id), "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_detach_returns_while_container_runs() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("det");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    assert_eq!(rt.status(&id), "running");
    rt.rt(&["delete", &id]).fails_with("not stopped");
    rt.rt(&["delete", "--force", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_forwards_signals_to_the_container() {
    need_root();
    let rt = Rt::new();
    let dir = TempDir::new("sig");
    let b =
        Bundle::sh("trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done");
    let id = unique("sig");
    let child = rt
        .cmd()
        .args(["run", "--bundle", b.path().to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = dir;
    rt.wait_status(&id, "running");
    // Give the shell time to install its trap.
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ready\ngot TERM\n");
    assert_no_trace(&rt, &id, &b);
}

/// VmRSS of `pid` in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A foreground `rt run` stays for its container's whole life; once the container has run
/// for a second it gives back what only its start needed (supervise.rs, Shed), and still
/// forwards signals and reports the exit afterwards.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_waiting_foreground_run_gives_back_its_start_up_memory() {
    use std::io::BufRead;
    need_root();
    let rt = Rt::new();
    let b =
        Bundle::sh("trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done");
    let id = unique("shed");
    let mut child = rt
        .cmd()
        .args(["run", "--bundle", b.path().to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let before = vm_rss_kib(child.id());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut after = before;
    while after * 10 > before * 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = vm_rss_kib(child.id());
    }
    assert!(
        after * 10 <= before * 6,
        "rt run still holds {after} KiB of the {before} KiB it had when the container started"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    assert_eq!(child.wait().unwrap().code(), Some(42));
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn start_output_goes_to_the_fds_create_was_given() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("echo to-stdout; echo to-stderr >&2");
    let id = unique("stdio");
    let out_file = b.path().join("out");
    let err_file = b.path().join("err");
    let status = rt
        .cmd()
        .args(["create", "--bundle", b.path().to_str().unwrap(), &id])
        .stdout(fs::File::create(&out_file).unwrap())
        .stderr(fs::File::create(&err_file).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{}",
        fs::read_to_string(&err_file).unwrap()
    );
    // `start` itself prints nothing; the container writes to create's fds.
    let start = rt.rt(&["start", &id]);
    assert_eq!(start.ok(), "");
    rt.wait_status(&id, "stopped");
    assert_eq!(fs::read_to_string(&out_file).unwrap(), "to-stdout\n");
    assert_eq!(fs::read_to_string(&err_file).unwrap(), "to-stderr\n");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn start_twice_and_start_stopped_fail() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("st2");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    rt.rt(&["start", &id]).fails_with("already running");
    rt.rt(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    rt.rt(&["start", &id]).fails_with("stopped");
    rt.rt(&["kill", &id, "TERM"])
        .fails_with("container not running");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn delete_created_container_without_force() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let id = unique("dc");
    rt.create(&b, &id).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap() as i32;
    let start = start_time(pid).unwrap();
    rt.rt(&["delete", &id]).ok();
    // delete waits for the init to die (a zombie waiting for pid 1 counts as dead).
    assert_ne!(
        start_time(pid),
        Some(start),
        "the created init survived delete"
    );
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn kill_accepts_names_and_numbers() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "trap 'echo usr1 >> /dev/shm/log' USR1; trap 'echo hup >> /dev/shm/log' HUP; echo ready > /dev/shm/ready; while :; do sleep 0.05; done",
    );
    let id = unique("kn");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let shm = format!("/proc/{pid}/root/dev/shm");
    for _ in 0..500 {
        if fs::metadata(format!("{shm}/ready")).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    rt.rt(&["kill", &id, "SIGUSR1"]).ok();
    std::thread::sleep(Duration::from_millis(200));
    rt.rt(&["kill", &id, "hup"]).ok();
    std::thread::sleep(Duration::from_millis(200));
    rt.rt(&["kill", &id, "10"]).ok();
    std::thread::sleep(Duration::from_millis(200));
    let log = fs::read_to_string(format!("{shm}/log")).unwrap();
    assert_eq!(log, "usr1\nhup\nusr1\n");
    rt.rt(&["kill", &id, "NOTASIGNAL"]).fails_with("NOTASIGNAL");
    // Default signal is SIGTERM; the shell has no TERM trap, but as pid 1 it ignores
    // unhandled signals, so the container keeps running.
    rt.rt(&["kill", &id]).ok();
    rt.rt(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn kill_all_signals_every_process() {
    need_root();
    let rt = Rt::new();
    // Host pid namespace: killing init alone would leave the background sleep behind.
    let mut b = Bundle::sh("sleep 1000 & sleep 1000");
    b.set_namespaces(serde_json::json!([{"type": "mount"}, {"type": "uts"}]));
    b.edit(|c| c["hostname"] = serde_json::json!("h"));
    let id = unique("ka");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    std::thread::sleep(Duration::from_millis(200));
    let state = rt.state(&id);
    let cg = cgroup_dirs_named(&id);
    let procs = fs::read_to_string(
        cg.iter()
            .find(|p| p.starts_with("/sys/fs/cgroup/pids"))
            .unwrap()
            .join("cgroup.procs"),
    )
    .unwrap();
    assert!(procs.lines().count() >= 2, "{procs}");
    let victims: Vec<(i32, u64)> = procs
        .lines()
        .map(|p| p.parse().unwrap())
        .filter_map(|p| start_time(p).map(|t| (p, t)))
        .collect();
    rt.rt(&["kill", "--all", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    let _ = state;
    for (p, t) in victims {
        assert!(wait_dead(p, t), "process {p} survived kill --all");
    }
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

/// The processes of a running container's pids cgroup, with their start times.
fn cgroup_members(id: &str) -> Vec<(i32, u64)> {
    let cg = cgroup_dirs_named(id);
    let dir = cg
        .iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/pids") || p.starts_with("/sys/fs/cgroup/unified"))
        .unwrap();
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap()
        .lines()
        .map(|p| p.parse().unwrap())
        .filter_map(|p| start_time(p).map(|t| (p, t)))
        .collect()
}

/// Without a pid namespace of its own, a container's init takes nobody along when it dies:
/// `kill ID KILL` (no --all) kills every process of its cgroup, also when the init is gone
/// already and the container counts as stopped (runc 1.2's kill.bats); once nothing is
/// left, it fails as the spec asks. Signal 0 only asks, and fails on a stopped container;
/// --all on a stopped one is no error.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn kill_without_pid_namespace_kills_every_process() {
    need_root();
    let rt = Rt::new();
    for init_gone in [false, true] {
        let mut b = Bundle::sh("sleep 1000 & sleep 1000 & exec sleep 1000");
        b.set_namespaces(serde_json::json!([{"type": "mount"}, {"type": "uts"}]));
        b.edit(|c| c["hostname"] = serde_json::json!("h"));
        let id = unique("kh");
        rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
            .ok();
        rt.rt(&["kill", &id, "0"]).ok();
        let mut victims = cgroup_members(&id);
        for _ in 0..100 {
            if victims.len() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            victims = cgroup_members(&id);
        }
        assert!(victims.len() >= 3, "{victims:?}");
        if init_gone {
            let init = rt.state(&id)["pid"].as_i64().unwrap() as i32;
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(init),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            rt.wait_status(&id, "stopped");
            rt.rt(&["kill", &id, "TERM"])
                .fails_with("container not running");
        }
        rt.rt(&["kill", &id, "KILL"]).ok();
        for (p, t) in victims {
            assert!(
                wait_dead(p, t),
                "process {p} survived kill KILL (init gone: {init_gone})"
            );
        }
        rt.wait_status(&id, "stopped");
        rt.rt(&["kill", &id, "0"])
            .fails_with("container not running");
        // Stopped with nothing left: an error, as the runtime spec says.
        rt.rt(&["kill", &id, "KILL"])
            .fails_with("container not running");
        rt.rt(&["kill", "--all", &id, "0"]).ok();
        rt.rt(&["delete", &id]).ok();
        assert_no_trace(&rt, &id, &b);
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn list_shows_containers() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let a = unique("la");
    let c = unique("lb");
    rt.create(&b, &a).ok();
    rt.create(&b, &c).ok();
    rt.rt(&["start", &c]).ok();
    let table = rt.rt(&["list"]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert!(
        lines[0].starts_with("ID ") && lines[0].contains("STATUS") && lines[0].ends_with("OWNER")
    );
    assert_eq!(lines.len(), 3, "{table:?}", table = table.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&a) && l.contains(" created "))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&c) && l.contains(" running "))
    );
    let quiet = rt.rt(&["list", "-q"]);
    let mut ids: Vec<&str> = quiet.ok().lines().collect();
    ids.sort();
    let mut want = vec![a.as_str(), c.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let json: serde_json::Value =
        serde_json::from_str(rt.rt(&["list", "--format", "json"]).ok()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|s| s["pid"].as_i64().unwrap() > 0)
    );
    rt.rt(&["delete", "--force", &a]).ok();
    rt.rt(&["delete", "--force", &c]).ok();
    assert_eq!(rt.rt(&["list", "-f", "json"]).ok().trim(), "[]");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn concurrent_creates_of_one_id_have_one_winner() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("race");
    // stderr in anonymous files: the winner's container keeps its copy open.
    let children: Vec<_> = (0..4)
        .map(|_| {
            let err = memfd("race-stderr");
            let child = rt
                .cmd()
                .args(["create", "--bundle", b.path().to_str().unwrap(), &id])
                .stdout(std::process::Stdio::null())
                .stderr(err.try_clone().unwrap())
                .spawn()
                .unwrap();
            (child, err)
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|(mut c, err)| (c.wait().unwrap(), read_all(err)))
        .collect();
    let winners = outs.iter().filter(|(s, _)| s.success()).count();
    assert_eq!(winners, 1, "{outs:?}");
    for (_, err) in outs.iter().filter(|(s, _)| !s.success()) {
        assert!(err.contains("container with id exists"), "{err}");
    }
    assert_eq!(rt.status(&id), "created");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_bundle_directory_derives_an_id() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let dir = b.path().to_str().unwrap().to_owned() + "/";
    let name = b.path().file_name().unwrap().to_str().unwrap().to_owned();
    rt.rt(&["run", "-d", &dir]).ok();
    assert_eq!(rt.status(&name), "running");
    // Taken: the second one gets a suffix.
    rt.rt(&["run", "-d", &dir]).ok();
    assert_eq!(rt.status(&format!("{name}-2")), "running");
    rt.rt(&["delete", "-f", &name]).ok();
    rt.rt(&["delete", "-f", &format!("{name}-2")]).ok();
    // In the foreground it behaves like any run.
    let b2 = Bundle::sh("exit 5");
    let out = rt.rt(&["run", b2.path().to_str().unwrap()]);
    assert_eq!(out.code, 5, "{}", out.stderr);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_without_pid_namespace_leaves_no_orphans() {
    need_root();
    let rt = Rt::new();
    // The init exits while a child it started keeps running: without a pid namespace the
    // kernel does not kill it; rt reaps it as subreaper and kills it with the container.
    let marker = unique("orphan");
    let mut b = Bundle::new(&["sh", "-c", "sleep 300 & exit 3", &marker]);
    b.edit(|c| {
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "ipc"}]);
        c.as_object_mut().unwrap().remove("hostname");
    });
    let id = unique("nopidns");
    let t = std::time::Instant::now();
    let out = rt.run(&b, &id);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(t.elapsed() < Duration::from_secs(30));
    // The sleep lived in the container's cgroup and died with it.
    let sleeps: Vec<(i32, u64)> = processes_mentioning("sleep 300")
        .into_iter()
        .filter_map(|p| start_time(p).map(|t| (p, t)))
        .collect();
    for (p, t) in &sleeps {
        assert!(wait_dead(*p, *t), "orphan {p} left behind");
    }
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn kill_all_delivers_real_time_signals() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "trap 'echo rt >> /dev/shm/got' 35; touch /dev/shm/ready; while :; do sleep 0.05; done",
    );
    let id = unique("rtsig");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let shm = format!("/proc/{pid}/root/dev/shm");
    for _ in 0..500 {
        if fs::metadata(format!("{shm}/ready")).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    rt.rt(&["kill", "--all", &id, "35"]).ok();
    for _ in 0..300 {
        if fs::read_to_string(format!("{shm}/got")).is_ok_and(|s| s == "rt\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(fs::read_to_string(format!("{shm}/got")).unwrap(), "rt\n");
    rt.rt(&["delete", "-f", &id]).ok();
}
