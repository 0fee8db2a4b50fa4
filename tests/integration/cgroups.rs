//! linux.resources and the cgroup commands (pause, resume, update, events, ps), checked
//! through their effects: OOM kills, refused forks, throttling, refused devices, frozen
//! processes, and what the container itself reads in its cgroup files.

use std::fs;
use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// Waits up to 5 s for a file to exist in the container (through /proc/<pid>/root).
fn wait_for_file(pid: i64, path: &str) {
    let p = format!("/proc/{pid}/root{path}");
    for _ in 0..500 {
        if fs::metadata(&p).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{p} never appeared");
}

fn detached(rt: &Rt, b: &Bundle) -> (String, i64) {
    let id = unique("cg");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    (id, pid)
}

/// containerd's way of updating: a LinuxResources document on stdin.
fn update_with_document(rt: &Rt, id: &str, doc: &[u8]) {
    let mut child = rt
        .cmd()
        .args(["update", "--resources", "-", id])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc).unwrap();
    assert!(child.wait().unwrap().success());
}

fn resources(b: &mut Bundle, r: Value) {
    b.edit(|c| {
        for (k, v) in r.as_object().unwrap() {
            c["linux"]["resources"][k] = v.clone();
        }
    });
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn memory_limit_oom_kills_and_events_report_it() {
    need_root();
    let rt = Rt::new();
    // Waits for the go signal in /dev/shm, then holds ~200 MB in a shell variable.
    let mut b = Bundle::sh(
        "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
    );
    resources(
        &mut b,
        json!({"memory": {"limit": 33554432, "swap": 33554432}}),
    );
    let (id, pid) = detached(&rt, &b);
    let out = memfd("events");
    let mut watcher = rt
        .cmd()
        .args(["events", "--interval", "100ms", &id])
        .stdout(out.try_clone().unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fs::write(format!("/proc/{pid}/root/dev/shm/go"), "").unwrap();
    rt.wait_status(&id, "stopped");
    // events ends by itself once the container has stopped.
    let mut waited = 0;
    while watcher.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
        assert!(
            waited < 200,
            "events did not end after the container stopped"
        );
    }
    let text = read_all(out);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["type"] == "stats"), "{text}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "oom" && e["id"] == id.as_str()),
        "no oom event:\n{text}"
    );
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn oom_kill_ends_run_with_sigkill_status() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived");
    resources(
        &mut b,
        json!({"memory": {"limit": 33554432, "swap": 33554432}}),
    );
    let out = rt.run(&b, &unique("oom"));
    assert_eq!(
        out.code,
        128 + 9,
        "stdout: {} stderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("survived"));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn pids_limit_stops_a_fork_loop() {
    need_root();
    let rt = Rt::new();
    // The loop runs in a subshell: a failed fork aborts a shell. After it, only shell
    // builtins (read, echo) are used: nothing else could fork any more.
    let mut b = Bundle::sh(
        "cat /sys/fs/cgroup/pids/pids.max; (for i in $(seq 30); do sleep 5 & done) 2>/dev/null; \
         read cur < /sys/fs/cgroup/pids/pids.current; echo current $cur; \
         while read k v; do echo $k $v; done < /sys/fs/cgroup/pids/pids.events",
    );
    resources(&mut b, json!({"pids": {"limit": 10}}));
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "10");
    // At the refused fork 10 tasks existed; the subshell that hit it has exited since.
    let current: u64 = lines[1].strip_prefix("current ").unwrap().parse().unwrap();
    assert!((9..=10).contains(&current), "{out}");
    let refused: u64 = lines[2].strip_prefix("max ").unwrap().parse().unwrap();
    assert!(refused > 0, "no fork was refused: {out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cpu_quota_throttles() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "timeout 1 sh -c 'while :; do :; done'; grep -E '^nr_(periods|throttled) ' /sys/fs/cgroup/cpu/cpu.stat; \
         cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
    );
    resources(
        &mut b,
        json!({"cpu": {"quota": 10000, "period": 100000, "shares": 512}}),
    );
    let out = rt.output(&b);
    let get = |k: &str| -> u64 {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| panic!("{k} missing: {out}"))
            .parse()
            .unwrap()
    };
    assert!(get("nr_periods") > 0, "{out}");
    assert!(
        get("nr_throttled") > 0,
        "a busy loop under a 10% quota was never throttled: {out}"
    );
    assert!(out.contains("\n10000\n100000\n"), "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn denied_device_cannot_be_opened() {
    need_root();
    let rt = Rt::new();
    let script = "echo rt-device-test > /root/kmsg && echo opened || echo refused";
    // A /dev/kmsg node (1:11) placed in the image, outside /dev: the device cgroup, not the
    // path, decides.
    let mut denied = Bundle::sh(script);
    let status = std::process::Command::new("mknod")
        .args([
            denied.rootfs().join("root/kmsg").to_str().unwrap(),
            "c",
            "1",
            "11",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    resources(
        &mut denied,
        json!({"devices": [{"allow": false, "access": "rwm"}]}),
    );
    let out = rt.output(&denied);
    assert_eq!(out, "refused\n", "{out}");
    // The same node, allowed for writing: it opens.
    let mut allowed = Bundle::sh(script);
    std::process::Command::new("mknod")
        .args([
            allowed.rootfs().join("root/kmsg").to_str().unwrap(),
            "c",
            "1",
            "11",
        ])
        .status()
        .unwrap();
    resources(
        &mut allowed,
        json!({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}),
    );
    assert_eq!(rt.output(&allowed), "opened\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn pause_freezes_and_resume_thaws() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n.tmp; mv /dev/shm/n.tmp /dev/shm/n; sleep 0.02; done",
    );
    let (id, pid) = detached(&rt, &b);
    wait_for_file(pid, "/dev/shm/n");
    let count = || -> u64 {
        fs::read_to_string(format!("/proc/{pid}/root/dev/shm/n"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    rt.rt(&["pause", &id]).ok();
    assert_eq!(rt.status(&id), "paused");
    // `list` decides "paused" from the init's state letter before it reads the freezer.
    let listed: serde_json::Value =
        serde_json::from_str(rt.rt(&["list", "--format", "json"]).ok()).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str());
    assert_eq!(entry.unwrap()["status"], "paused", "{listed}");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(), frozen, "processes kept running while paused");
    rt.rt(&["pause", &id]).fails_with("already paused");
    rt.rt(&["resume", &id]).ok();
    assert_eq!(rt.status(&id), "running");
    std::thread::sleep(Duration::from_millis(400));
    assert!(count() > frozen, "processes did not resume");
    rt.rt(&["resume", &id]).fails_with("not paused");
    // A paused container can be force-deleted: it is thawed after the kill is queued.
    rt.rt(&["pause", &id]).ok();
    rt.rt(&["delete", "--force", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

/// Keys are matched as runc's Go matches them, ignoring case where no key is spelled
/// exactly (runc's update.bats "update cpuset parameters via resources.CPU"): in
/// config.json, in `update -r` and in `exec --process`; free keys (annotations) keep
/// theirs.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn keys_are_matched_ignoring_case_as_runc_does() {
    need_root();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs two CPUs");
        return;
    }
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["resources"]["CPU"] = json!({"Cpus": "0", "Mems": "0"});
        c["Annotations"] = json!({"Org.Example.Key": "v"});
    });
    let (id, pid) = detached(&rt, &b);
    let read = |f: &str| fs::read_to_string(format!("/proc/{pid}/root/sys/fs/cgroup/{f}")).unwrap();
    assert_eq!(read("cpuset/cpuset.cpus").trim(), "0");
    let state = rt.state(&id);
    assert_eq!(state["annotations"]["Org.Example.Key"], "v", "{state}");

    let doc = b.path().join("update.json");
    fs::write(&doc, r#"{"CPU": {"Cpus": "1"}}"#).unwrap();
    rt.rt(&["update", "-r", doc.to_str().unwrap(), &id]).ok();
    assert_eq!(read("cpuset/cpuset.cpus").trim(), "1");

    let process = b.path().join("process.json");
    fs::write(
        &process,
        r#"{"Args": ["grep", "Cpus_allowed_list", "/proc/1/status"], "Cwd": "/",
            "User": {"UID": 0, "GID": 0}}"#,
    )
    .unwrap();
    let out = rt.rt(&["exec", "--process", process.to_str().unwrap(), &id]);
    rt.rt(&["delete", "-f", &id]).ok();
    assert_eq!(out.ok(), "Cpus_allowed_list:\t1\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn update_changes_limits_the_container_sees() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    resources(
        &mut b,
        json!({"memory": {"limit": 67108864}, "pids": {"limit": 100}}),
    );
    let (id, pid) = detached(&rt, &b);
    let read = |f: &str| fs::read_to_string(format!("/proc/{pid}/root/sys/fs/cgroup/{f}")).unwrap();
    assert_eq!(read("memory/memory.limit_in_bytes").trim(), "67108864");
    rt.rt(&["update", "--memory", "32m", "--cpu-shares", "256", &id])
        .ok();
    assert_eq!(read("memory/memory.limit_in_bytes").trim(), "33554432");
    assert_eq!(read("cpu/cpu.shares").trim(), "256");
    update_with_document(
        &rt,
        &id,
        br#"{"pids": {"limit": 42}, "cpu": {"quota": 20000, "period": 100000}}"#,
    );
    assert_eq!(read("pids/pids.max").trim(), "42");
    assert_eq!(read("cpu/cpu.cfs_quota_us").trim(), "20000");
    // runc's spellings and negative values (update.bats).
    rt.rt(&[
        "update",
        "--cpu-share",
        "300",
        "--memory-swap",
        "-1",
        "--cpu-idle",
        "1",
        &id,
    ])
    .ok();
    assert_eq!(read("cpu/cpu.idle").trim(), "1");
    rt.rt(&["update", "--cpu-idle", "0", "--cpu-share", "300", &id])
        .ok();
    assert_eq!(read("cpu/cpu.shares").trim(), "300");
    assert_eq!(
        read("memory/memory.memsw.limit_in_bytes").trim(),
        "9223372036854771712"
    );
    rt.rt(&["update", "--memory", "lots", &id])
        .fails_with("--memory");
    // Nothing to change is no error (runc's), and changes nothing.
    let shares = read("cpu/cpu.shares");
    rt.rt(&["update", &id]).ok();
    let empty = b.path().join("empty.json");
    fs::write(&empty, "{}").unwrap();
    rt.rt(&["update", "-r", empty.to_str().unwrap(), &id]).ok();
    assert_eq!(read("cpu/cpu.shares"), shares);
    // runc's Intel RDT flags, for a container without a group (this host has no resctrl).
    rt.rt(&[
        "update",
        "--l3-cache-schema",
        "L3:0=f",
        "--cpu-share",
        "512",
        &id,
    ])
    .fails_with("has no Intel RDT group (its config has no linux.intelRdt)");
    assert_eq!(read("cpu/cpu.shares"), shares);
    rt.rt(&["delete", "-f", &id]).ok();
    rt.rt(&["update", "--memory", "32m", &id])
        .fails_with("container does not exist");
}

/// Under a parent with a CPU limit, a shorter period with a quota that fits is accepted
/// (update.bats "cpu period in a pod cgroup"): v1 checks each file against the parent's
/// ratio as it is written, so the order of the two writes decides.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn update_cpu_period_and_quota_under_a_limited_parent() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let pod = unique("pod");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{pod}/ct")));
    let (id, _) = detached(&rt, &b);
    let dir = cgroup_dirs_named("ct")
        .into_iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/cpu/") && p.parent().unwrap().ends_with(&pod))
        .unwrap();
    fs::write(dir.parent().unwrap().join("cpu.cfs_quota_us"), "50000").unwrap();
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap().trim().to_owned();
    // 60 % of a CPU under a parent allowed 50 %: refused by the kernel.
    rt.rt(&["update", "--cpu-quota", "60000", &id])
        .fails_with("linux.resources.cpu");
    rt.rt(&[
        "update",
        "--cpu-period",
        "10000",
        "--cpu-quota",
        "3000",
        &id,
    ])
    .ok();
    assert_eq!(
        (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us")),
        ("3000".into(), "10000".into())
    );
    // And back to a longer period with a larger quota.
    rt.rt(&[
        "update",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "40000",
        &id,
    ])
    .ok();
    assert_eq!(
        (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us")),
        ("40000".into(), "100000".into())
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn update_check_before_update_refuses_a_limit_below_usage() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "x=$(head -c 20000000 /dev/zero | tr '\\0' a); touch /dev/shm/ready; sleep 1000; true",
    );
    resources(&mut b, json!({"memory": {"limit": 268435456}}));
    let (id, pid) = detached(&rt, &b);
    wait_for_file(pid, "/dev/shm/ready");
    let doc = b.path().join("update.json");
    fs::write(
        &doc,
        r#"{"memory": {"limit": 4194304, "checkBeforeUpdate": true}}"#,
    )
    .unwrap();
    rt.rt(&["update", "--resources", doc.to_str().unwrap(), &id])
        .fails_with("linux.resources.memory.limit: 4194304 is below the current usage");
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn events_stats_report_real_usage() {
    need_root();
    let rt = Rt::new();
    // `; true`: otherwise the shell execs its last command and frees what it holds.
    let mut b = Bundle::sh(
        "x=$(head -c 10000000 /dev/zero | tr '\\0' a); touch /dev/shm/ready; sleep 1000; true",
    );
    resources(
        &mut b,
        json!({"memory": {"limit": 268435456}, "pids": {"limit": 64}}),
    );
    let (id, pid) = detached(&rt, &b);
    wait_for_file(pid, "/dev/shm/ready");
    let out = rt.rt(&["events", "--stats", &id]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 1);
    let e: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(e["type"], "stats");
    assert_eq!(e["id"], id.as_str());
    let d = &e["data"];
    assert!(
        d["memory"]["usage"]["usage"].as_u64().unwrap() > 10_000_000,
        "{d}"
    );
    assert_eq!(d["memory"]["usage"]["limit"], 268435456);
    assert_eq!(d["pids"]["current"], 2, "{d}");
    assert_eq!(d["pids"]["limit"], 64);
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    rt.rt(&["events", "--interval", "nonsense", &id])
        .fails_with("--interval");
    rt.rt(&["delete", "-f", &id]).ok();
    rt.rt(&["events", "--stats", &id])
        .fails_with("container does not exist");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn ps_lists_the_containers_processes() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("sleep 1000 & touch /dev/shm/ready; wait");
    let (id, pid) = detached(&rt, &b);
    wait_for_file(pid, "/dev/shm/ready");
    std::thread::sleep(Duration::from_millis(100));
    let out = rt.rt(&["ps", "--format", "json", &id]);
    let mut pids: Vec<i64> = serde_json::from_str(out.ok()).unwrap();
    pids.sort();
    let procs_file = cgroup_dirs_named(&id)
        .into_iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/pids"))
        .unwrap()
        .join("cgroup.procs");
    let mut want: Vec<i64> = fs::read_to_string(procs_file)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    want.sort();
    assert_eq!(pids, want);
    assert_eq!(pids.len(), 2);
    assert!(pids.contains(&pid));
    let table = rt.rt(&["ps", &id]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert!(lines[0].contains("PID"), "{}", table.stdout);
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    assert!(lines.iter().any(|l| l.contains("sleep 1000")));
    let custom = rt.rt(&["ps", &id, "-o", "pid,comm"]);
    assert!(
        custom
            .ok()
            .lines()
            .skip(1)
            .all(|l| l.split_whitespace().count() == 2)
    );
    // Once stopped there is nothing to list, which is no error (runc).
    rt.rt(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    assert_eq!(rt.rt(&["ps", "--format", "json", &id]).ok().trim(), "[]");
    let table = rt.rt(&["ps", &id]);
    assert_eq!(table.ok().lines().count(), 1, "{}", table.stdout);
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn resources_the_host_cannot_honour_are_errors() {
    need_root();
    let rt = Rt::new();
    let cases = [
        (
            json!({"unified": {"memory.high": "100000000"}}),
            "linux.resources.unified",
        ),
        (
            json!({"memory": {"limit": -5}}),
            "linux.resources.memory.limit: must be positive",
        ),
        (
            json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 1048576}]}),
            "linux.resources.hugepageLimits",
        ),
        (
            json!({"network": {"classID": 1048577}}),
            "linux.resources.network",
        ),
        (json!({"cpu": {"cpus": "0-1023"}}), "linux.resources.cpu"),
    ];
    for (r, needle) in cases {
        let mut b = Bundle::new(&["true"]);
        resources(&mut b, r);
        let id = unique("bad");
        rt.create(&b, &id).fails_with(needle);
        assert_no_trace(&rt, &id, &b);
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn block_io_throttle_and_weight_are_seen_inside() {
    need_root();
    let rt = Rt::new();
    // The device of the file system the test runs on.
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata("/").unwrap().dev();
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let mut b = Bundle::sh("cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device");
    resources(
        &mut b,
        json!({"blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}]}}),
    );
    assert_eq!(rt.output(&b), format!("{major}:{minor} 1048576\n"));
    // The weight: in blkio.weight, or in blkio.bfq.weight where BFQ provides it.
    let mut b = Bundle::sh(
        "cat /sys/fs/cgroup/blkio/blkio.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.bfq.weight",
    );
    resources(&mut b, json!({"blockIO": {"weight": 500}}));
    let blkio = std::path::Path::new("/sys/fs/cgroup/blkio");
    if ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .any(|f| blkio.join(f).exists())
    {
        let out = rt.output(&b);
        assert!(out == "500\n" || out == "default 500\n", "{out}");
    } else {
        // Neither CFQ nor BFQ on this host (no weight file at all): refused, naming it.
        let id = unique("noweight");
        rt.create(&b, &id).fails_with("linux.resources.blockIO");
        assert_no_trace(&rt, &id, &b);
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn memory_and_cpu_settings_are_seen_inside() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "cd /sys/fs/cgroup; cat memory/memory.soft_limit_in_bytes memory/memory.swappiness; \
         grep oom_kill_disable memory/memory.oom_control; cat cpuset/cpuset.cpus cpuset/cpuset.mems \
         cpu/cpu.cfs_burst_us cpu/cpu.idle",
    );
    resources(
        &mut b,
        json!({
            "memory": {"limit": 134217728, "reservation": 33554432, "swappiness": 10, "disableOOMKiller": true},
            "cpu": {"cpus": "0", "mems": "0", "quota": 50000, "period": 100000, "burst": 1000, "idle": 1}
        }),
    );
    let out = rt.output(&b);
    assert_eq!(out, "33554432\n10\noom_kill_disable 1\n0\n0\n1000\n1\n");
}

/// Engines send 0 for limits they leave alone (Docker: `cpu.shares: 0` for every
/// container; containerd's update: whole documents): runc takes 0 as "not set", and so
/// must rt, at create and at update. Seen from inside: no limit where 0 was sent, the
/// real limit where one was.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn zero_limits_mean_not_set_as_engines_send_them() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    resources(
        &mut b,
        json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0},
            "pids": {"limit": 0},
            "blockIO": {"weight": 0, "leafWeight": 0}
        }),
    );
    let (id, pid) = detached(&rt, &b);
    let read = |f: &str| {
        fs::read_to_string(format!("/proc/{pid}/root/sys/fs/cgroup/{f}"))
            .unwrap()
            .trim()
            .to_owned()
    };
    // Unlimited: the kernel's default (a page-aligned maximum), not 0.
    assert!(read("memory/memory.limit_in_bytes").parse::<u64>().unwrap() > 1 << 60);
    assert_eq!(read("cpu/cpu.shares"), "1024");
    assert_eq!(read("cpu/cpu.cfs_quota_us"), "-1");
    assert_eq!(read("pids/pids.max"), "max");
    update_with_document(
        &rt,
        &id,
        br#"{"memory": {"limit": 67108864, "swap": 0}, "cpu": {"shares": 0, "quota": 0}, "pids": {"limit": 0}}"#,
    );
    assert_eq!(read("memory/memory.limit_in_bytes"), "67108864");
    assert_eq!(read("cpu/cpu.shares"), "1024");
    assert_eq!(read("pids/pids.max"), "max");
    rt.rt(&["delete", "-f", &id]).ok();
}

/// A private tracefs instance with the kernel's cgroup:cgroup_attach_task tracepoint on:
/// it fires for every move of a process into a cgroup (a write to cgroup.procs or tasks)
/// and for no birth in one (clone3's CLONE_INTO_CGROUP). Private, so that nobody else's
/// tracing on the host is touched; removed on drop.
struct AttachTrace(std::path::PathBuf);

impl AttachTrace {
    fn start() -> Option<AttachTrace> {
        let root = std::path::Path::new("/sys/kernel/tracing/instances");
        if !root.is_dir() {
            return None;
        }
        let dir = root.join(unique("rt-attach"));
        fs::create_dir(&dir).ok()?;
        let t = AttachTrace(dir);
        fs::write(t.0.join("events/cgroup/cgroup_attach_task/enable"), "1").ok()?;
        Some(t)
    }

    fn stop(&self) -> String {
        let _ = fs::write(self.0.join("events/cgroup/cgroup_attach_task/enable"), "0");
        fs::read_to_string(self.0.join("trace")).unwrap()
    }
}

impl Drop for AttachTrace {
    fn drop(&mut self) {
        let _ = fs::write(self.0.join("events/cgroup/cgroup_attach_task/enable"), "0");
        let _ = fs::remove_dir(&self.0);
    }
}

/// On a hybrid host the container's init and its exec processes are born in their
/// directory of the cgroup2 hierarchy, never moved there (a move by cgroup.procs waits for
/// an RCU grace period, 5–9 ms here); the v1 hierarchies, named ones included, are joined
/// by the process itself through `tasks`, which the trace shows as moves (the control
/// that the trace works). Both processes are in the container's cgroup in every hierarchy.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn hybrid_host_processes_are_born_in_their_cgroup2_directory() {
    need_root();
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    if !unified.join("cgroup.procs").exists() {
        eprintln!("not a hybrid host: skipped");
        return;
    }
    let Some(trace) = AttachTrace::start() else {
        eprintln!("no tracefs instance with cgroup:cgroup_attach_task: skipped");
        return;
    };
    let rt = Rt::new();
    let b = Bundle::sh("sleep 1000");
    let (id, pid) = detached(&rt, &b);
    let exec = rt.rt(&["exec", &id, "sh", "-c", "cat /proc/self/cgroup"]);
    let text = trace.stop();
    rt.rt(&["delete", "-f", &id]).ok();
    let inside = exec.ok();

    let into = |l: &&str| l.contains("cgroup_attach_task:") && l.contains(&format!("/{id} "));
    let cgroup2: Vec<&str> = text
        .lines()
        .filter(into)
        .filter(|l| l.contains("dst_root=0 "))
        .collect();
    let v1 = text.lines().filter(into).count();
    assert!(
        cgroup2.is_empty(),
        "processes were moved into the container's cgroup2 directory:\n{}",
        cgroup2.join("\n")
    );
    // Every v1 hierarchy, by the init and by the exec process.
    let hierarchies = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        v1 >= 2,
        "the trace saw no move into the v1 hierarchies (init {pid} was in {hierarchies}):\n{text}"
    );
    let lines: Vec<&str> = inside.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("0::")) && lines.iter().all(|l| l.ends_with(":/")),
        "the exec process is not in the container's cgroup in every hierarchy:\n{inside}"
    );
}

/// A frozen cgroup (or one below a frozen parent) is refused at create: the init would
/// stop there half-way and create would wait for good (runc's cgroups.bats: "should refuse
/// pre-existing frozen cgroup"; rt hung there before).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_frozen_cgroup_is_refused_not_waited_for() {
    need_root();
    let rt = Rt::new();
    let pod = unique("frz");
    let mut first = Bundle::new(&["sleep", "1000"]);
    first.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{pod}/a")));
    let (a, _) = detached(&rt, &first);
    let parent = cgroup_dirs_named("a")
        .into_iter()
        .find(|p| p.starts_with("/sys/fs/cgroup/freezer/") && p.parent().unwrap().ends_with(&pod))
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let frozen = parent.join("b");
    fs::create_dir(&frozen).unwrap();
    fs::write(frozen.join("freezer.state"), "FROZEN").unwrap();
    let try_run = |leaf: &str| {
        let other = Rt::new();
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("{pod}/{leaf}")));
        let id = unique("frz");
        let t = std::time::Instant::now();
        let out = other.run(&b, &id);
        assert!(t.elapsed() < Duration::from_secs(20));
        out.fails_with("container's cgroup unexpectedly frozen");
        assert_no_trace(&other, &id, &b);
    };
    try_run("b");
    fs::write(frozen.join("freezer.state"), "THAWED").unwrap();
    fs::remove_dir(&frozen).unwrap();
    // A new cgroup below a frozen parent would be born frozen.
    fs::write(parent.join("freezer.state"), "FROZEN").unwrap();
    try_run("c");
    fs::write(parent.join("freezer.state"), "THAWED").unwrap();
    rt.rt(&["delete", "-f", &a]).ok();
    assert_no_trace(&rt, &a, &first);
}
