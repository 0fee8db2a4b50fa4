//! process.scheduler, process.ioPriority, process.execCPUAffinity, linux.personality and
//! linux.memoryPolicy (issue 14), each read back from inside the container by sysprobe's
//! `attrs` (sched_getattr, ioprio_get, personality, get_mempolicy), for the init and for
//! an exec process.

use std::fs;

use serde_json::{Value, json};

use crate::common::*;

/// A bundle running `sysprobe attrs` (or `args`), edited by `edit`.
fn probe(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
    let mut b = Bundle::new(args);
    fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
    b.edit(edit);
    b
}

/// The `key=value` fields of sysprobe's attrs line.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {out:?}"))
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn scheduler_policies_and_nice_are_seen_inside() {
    need_root();
    let rt = Rt::new();
    for (scheduler, policy, nice) in [
        (json!({"policy": "SCHED_BATCH", "nice": 7}), "3", "7"),
        (json!({"policy": "SCHED_IDLE"}), "5", "0"),
        (json!({"policy": "SCHED_OTHER", "nice": -5}), "0", "-5"),
        (
            json!({"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 10000000, "period": 10000000}),
            "6",
            "0",
        ),
    ] {
        let b = probe(&["sysprobe", "attrs"], |c| {
            c["process"]["scheduler"] = scheduler.clone()
        });
        let out = rt.output(&b);
        assert_eq!(field(&out, "sched"), "0", "{out}");
        assert_eq!(field(&out, "policy"), policy, "{scheduler}: {out}");
        assert_eq!(field(&out, "nice"), nice, "{scheduler}: {out}");
    }
}

/// The runtime spec's SCHED_FLAG_RESET_ON_FORK (which oci-spec spells without FLAG_) is
/// taken in config.json and in an `exec --process` document, and set: flags=1 inside.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn scheduler_flag_reset_on_fork_is_taken_by_its_spec_name() {
    need_root();
    let rt = Rt::new();
    let scheduler = json!({"policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                           "runtime": 42000, "deadline": 100000, "period": 1000000});
    let b = probe(&["sysprobe", "attrs"], |c| {
        c["process"]["scheduler"] = scheduler.clone();
    });
    let out = rt.output(&b);
    assert_eq!(field(&out, "policy"), "6", "{out}");
    assert_eq!(field(&out, "flags"), "1", "{out}");

    let b = probe(&["sleep", "100"], |_| {});
    let id = unique("rof");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let doc = b.path().join("exec.json");
    let process = json!({"args": ["sysprobe", "attrs"], "cwd": "/", "scheduler": scheduler});
    fs::write(&doc, process.to_string()).unwrap();
    let out = rt.rt(&["exec", "--process", doc.to_str().unwrap(), &id]);
    rt.rt(&["delete", "-f", &id]).ok();
    let out = out.ok();
    assert_eq!(field(out, "policy"), "6", "{out}");
    assert_eq!(field(out, "flags"), "1", "{out}");
}

/// SCHED_DEADLINE needs a process allowed on every CPU, which a cpuset of fewer CPUs
/// prevents: the kernel's EPERM comes in runc's words (its tests look for them).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn deadline_scheduler_with_a_cpuset_says_why() {
    need_root();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs two CPUs");
        return;
    }
    let rt = Rt::new();
    let b = probe(&["true"], |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_DEADLINE", "runtime": 42000,
                                           "deadline": 1000000, "period": 1000000});
        c["linux"]["resources"]["cpu"] = json!({"cpus": "0"});
    });
    let id = unique("dlcpus");
    rt.run(&b, &id)
        .fails_with("process.scheduler: process scheduler can't be used together with AllowedCPUs");
    assert_no_trace(&rt, &id, &b);
}

/// A real-time policy needs real-time time in the container's cpu cgroup (cgroup v1 with
/// RT group scheduling, as here): with none, the kernel refuses, and rt says so in one
/// line naming the field. With linux.resources.cpu.realtimeRuntime it works, where the
/// cgroup rt places containers in has real-time time to give (this build host's test
/// cgroup has none, and it is not ours to change: then only the refusal is checked).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn real_time_scheduling_needs_real_time_budget() {
    need_root();
    let rt = Rt::new();
    let fifo = json!({"policy": "SCHED_FIFO", "priority": 10});
    let mut b = probe(&["sysprobe", "attrs"], |c| {
        c["process"]["scheduler"] = fifo.clone()
    });
    // Containers go below this process's deepest cgroup (the memory one here), in every
    // hierarchy: that cgroup's cpu.rt_runtime_us is what they can get.
    let budget = std::path::Path::new("/sys/fs/cgroup/cpu")
        .join(own_cgroup("memory").trim_start_matches('/'))
        .join("cpu.rt_runtime_us");
    if !std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        // No RT group scheduling: real-time works as on the host.
        let out = rt.output(&b);
        assert_eq!(field(&out, "policy"), "1", "{out}");
        return;
    }
    // A cpu cgroup rt has yet to make starts with no real-time time (the kernel's
    // default for a new group), as the one it is made in would have none to give.
    let runtime = fs::read_to_string(&budget).unwrap_or_else(|_| "0".into());
    let id = unique("fifo");
    rt.create(&b, &id)
        .fails_with("process.scheduler: operation not permitted");
    assert_no_trace(&rt, &id, &b);
    if runtime.trim() == "0" {
        eprintln!(
            "{}: 0, no real-time time to give a container",
            budget.display()
        );
        return;
    }
    b.edit(|c| {
        c["linux"]["resources"] =
            json!({"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}})
    });
    let out = rt.output(&b);
    assert_eq!(field(&out, "policy"), "1", "{out}");
    assert_eq!(field(&out, "priority"), "10", "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn io_priority_is_seen_inside() {
    need_root();
    let rt = Rt::new();
    for (prio, class, level) in [
        (json!({"class": "IOPRIO_CLASS_BE", "priority": 3}), "2", "3"),
        (
            json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
            "3",
            "0",
        ),
        (json!({"class": "IOPRIO_CLASS_RT", "priority": 6}), "1", "6"),
    ] {
        let b = probe(&["sysprobe", "attrs"], |c| {
            c["process"]["ioPriority"] = prio.clone()
        });
        let out = rt.output(&b);
        assert_eq!(field(&out, "ioprio_class"), class, "{prio}: {out}");
        assert_eq!(field(&out, "ioprio_level"), level, "{prio}: {out}");
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn personality_and_memory_policy_hold_for_init_and_exec() {
    need_root();
    let rt = Rt::new();
    let b = probe(&["sh", "-c", "uname -m; sysprobe attrs; sleep 100"], |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
        c["linux"]["memoryPolicy"] =
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    });
    let id = unique("pers");
    let log = TempDir::new("perslog");
    let out_file = log.path().join("out");
    let mut cmd = rt.cmd();
    cmd.args(["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .stdout(fs::File::create(&out_file).unwrap());
    assert!(cmd.status().unwrap().success());
    let mut init_out = String::new();
    for _ in 0..500 {
        init_out = fs::read_to_string(&out_file).unwrap();
        if init_out.contains("nodes=") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let exec_out = rt.rt(&["exec", &id, "sh", "-c", "uname -m; sysprobe attrs"]);
    rt.rt(&["delete", "-f", &id]).ok();
    for out in [init_out.as_str(), exec_out.ok()] {
        assert!(out.starts_with("i686\n"), "{out}");
        assert_eq!(field(out, "personality"), "0x8", "{out}");
        assert_eq!(field(out, "mempolicy"), "0", "{out}");
        // MPOL_BIND (2) with MPOL_F_STATIC_NODES (1 << 15), node 0.
        assert_eq!(field(out, "mode"), "32770", "{out}");
        assert_eq!(field(out, "nodes"), "0x1", "{out}");
    }
}

/// An empty linux.memoryPolicy is no policy, as runc takes it (oci-spec alone would refuse
/// it for want of a mode).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn empty_memory_policy_is_none() {
    need_root();
    let rt = Rt::new();
    let b = probe(&["sysprobe", "attrs"], |c| {
        c["linux"]["memoryPolicy"] = json!({});
    });
    let out = rt.output(&b);
    // MPOL_DEFAULT (0), no nodes.
    assert_eq!(field(&out, "mode"), "0", "{out}");
}

/// process.execCPUAffinity is for exec processes only (runtime spec), from the config or
/// from --process; and no container process keeps the CPU affinity of rt's caller
/// (`taskset -c 0 rt …`, runc's cpu_affinity.bats): since Linux 6.2 the kernel keeps it
/// across the cpuset join.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_cpu_affinity_is_for_exec_and_the_callers_is_not_inherited() {
    need_root();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs two CPUs");
        return;
    }
    let allowed = |status: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let all = allowed(&fs::read_to_string("/proc/self/status").unwrap());
    assert_ne!(all, "0", "this test needs more than CPU 0 allowed");
    let rt = Rt::new();
    let on_cpu0 = |args: &[&str]| {
        let mut cmd = std::process::Command::new("taskset");
        cmd.args(["-c", "0", RT, "--root"])
            .arg(rt.root())
            .args(args)
            .stdin(std::process::Stdio::null());
        capture(&mut cmd)
    };
    let mut b = Bundle::new(&["sleep", "100"]);
    b.edit(|c| c["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "1"}));
    let id = unique("aff");
    on_cpu0(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id]).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let init = allowed(&fs::read_to_string(format!("/proc/{pid}/status")).unwrap());

    let grep = ["grep", "Cpus_allowed_list", "/proc/self/status"];
    let mut args = vec!["--debug", "exec", &id];
    args.extend(grep);
    let from_config = on_cpu0(&args);

    let process = TempDir::new("affproc");
    let file = process.path().join("process.json");
    let with = |affinity: Value| {
        let mut p = json!({"args": grep, "cwd": "/", "user": {"uid": 0, "gid": 0},
                           "scheduler": {"policy": "SCHED_BATCH", "nice": 3}});
        if !affinity.is_null() {
            p["execCPUAffinity"] = affinity;
        }
        fs::write(&file, p.to_string()).unwrap();
        on_cpu0(&["exec", "--process", file.to_str().unwrap(), &id])
    };
    let from_process = with(json!({"final": "0"}));
    let without = with(Value::Null);
    rt.rt(&["delete", "-f", &id]).ok();

    assert_eq!(
        init, all,
        "the init got execCPUAffinity or its caller's CPU"
    );
    assert_eq!(from_config.ok(), "Cpus_allowed_list:\t1\n");
    assert!(
        from_config.stderr.contains("nsexec: affinity: 0x1"),
        "{}",
        from_config.stderr
    );
    assert_eq!(from_process.ok(), "Cpus_allowed_list:\t0\n");
    assert_eq!(without.ok(), format!("Cpus_allowed_list:\t{all}\n"));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bad_scheduling_fields_are_refused_naming_them() {
    need_root();
    let rt = Rt::new();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "nice": 25}),
            "process.scheduler.nice: must be between -20 and 19",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_BATCH", "priority": 5}),
            "process.scheduler.priority: only SCHED_FIFO and SCHED_RR",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_RR", "priority": 100}),
            "process.scheduler.priority: must be between 1 and 99",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_DEADLINE", "runtime": 5, "deadline": 2}),
            "process.scheduler: SCHED_DEADLINE needs",
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
            "process.ioPriority.priority: must be between 0 and 7",
        ),
        (
            "/process/execCPUAffinity",
            json!({"final": "1-0"}),
            "process.execCPUAffinity",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX", "flags": ["X"]}),
            "linux.personality.flags",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
            "linux.memoryPolicy.nodes: must be empty for MPOL_DEFAULT and MPOL_LOCAL (set_mempolicy: invalid argument)",
        ),
        // runc's words, which its tests look for, after the field.
        (
            "/linux/memoryPolicy",
            json!({"mode": "INTERLEAVE", "nodes": "0"}),
            "linux.memoryPolicy.mode: invalid memory policy mode: unknown value",
        ),
        (
            "/linux/memoryPolicy",
            json!({"nodes": "0-7"}),
            "linux.memoryPolicy.mode: invalid memory policy mode: missing",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES", "badflag"]}),
            "linux.memoryPolicy.flags[1]: invalid memory policy flag: unknown value",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "0-9876543210"}),
            "linux.memoryPolicy.nodes: invalid memory policy nodes",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes: this mode needs nodes",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "exclude each other",
        ),
    ];
    for (pointer, value, needle) in cases {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            c.pointer_mut(parent).unwrap()[key] = value.clone();
        });
        let id = unique("badsched");
        rt.create(&b, &id).fails_with(needle);
        assert_no_trace(&rt, &id, &b);
    }
}
