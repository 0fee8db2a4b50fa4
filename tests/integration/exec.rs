//! rt exec: a new process in every namespace and the cgroup of a running container, with
//! the container's settings as defaults; exit codes, detach, errors.

use std::fs;

use serde_json::json;

use crate::common::*;

fn running(rt: &Rt, b: &Bundle) -> (String, i64) {
    let id = unique("ex");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    (id, pid)
}

fn ns(pid: i64, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_joins_every_namespace_and_the_cgroup() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("FROM_CONFIG=yes"));
        c["process"]["cwd"] = json!("/tmp");
    });
    let (id, pid) = running(&rt, &b);
    let out = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "for n in mnt net ipc uts pid cgroup; do readlink /proc/self/ns/$n; done; \
         echo me=$$; hostname; pwd; echo $FROM_CONFIG; cat /proc/self/cgroup | grep memory",
    ]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    for (i, kind) in ["mnt", "net", "ipc", "uts", "pid", "cgroup"]
        .iter()
        .enumerate()
    {
        assert_eq!(lines[i], ns(pid, kind), "{kind}: {text}");
    }
    // Inside the container's pid namespace, next to its pid 1.
    assert!(lines[6].starts_with("me=") && lines[6] != "me=1", "{text}");
    assert_eq!(&lines[7..10], &["rt-test", "/tmp", "yes"]);
    assert!(
        lines[10].ends_with(":/"),
        "not in the container's cgroup (ns root): {text}"
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_exit_codes_and_errors() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (id, _) = running(&rt, &b);
    assert_eq!(rt.rt(&["exec", &id, "sh", "-c", "exit 9"]).code, 9);
    assert_eq!(
        rt.rt(&["exec", &id, "sh", "-c", "kill -TERM $$"]).code,
        128 + 15
    );
    rt.rt(&["exec", &id, "no-such-program"])
        .fails_with("\"no-such-program\": executable file not found in $PATH");
    rt.rt(&["exec", &id]).fails_with("no command given");
    rt.rt(&["exec", "nope", "true"])
        .fails_with("container does not exist");
    rt.rt(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    rt.rt(&["exec", &id, "true"])
        .fails_with("container not running");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_user_env_cwd_and_capabilities() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (id, _) = running(&rt, &b);
    let out = rt.rt(&[
        "exec", "-u", "1000:1000", "-g", "77", "-e", "EXTRA=1", "--cwd", "/bin", &id, "sh", "-c",
        "id -u; id -g; grep Groups /proc/self/status; echo $EXTRA; pwd; grep CapEff /proc/self/status",
    ]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "1000");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        vec!["Groups:", "77"]
    );
    assert_eq!(lines[3], "1");
    assert_eq!(lines[4], "/bin");
    // Non-root without ambient capabilities: nothing effective.
    assert!(lines[5].ends_with("0000000000000000"), "{text}");
    // --cap adds to bounding/effective/permitted, never to inheritable or ambient.
    let out = rt.rt(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "grep",
        "^Cap",
        "/proc/self/status",
    ]);
    let text = out.ok();
    let cap = |name: &str| {
        let l = text.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    let sys_admin = 1u64 << 21;
    assert_ne!(cap("CapBnd") & sys_admin, 0, "{text}");
    assert_ne!(cap("CapEff") & sys_admin, 0, "{text}");
    assert_eq!(cap("CapInh"), 0, "{text}");
    assert_eq!(cap("CapAmb"), 0, "{text}");
    rt.rt(&["delete", "-f", &id]).ok();
}

/// runc's capabilities.bats "exec --cap [ambient is set from spec]": with an inheritable
/// set in the config, the init gets the config's ambient capability, and `exec --cap`
/// adds the capability to ambient as well (bounding, effective, permitted too; never to
/// inheritable).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_cap_reaches_ambient_where_the_config_has_inheritable() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        c["process"]["capabilities"] = json!({
            "inheritable": ["CAP_CHOWN", "CAP_SYSLOG"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"],
            "ambient": ["CAP_CHOWN"]
        });
    });
    let (id, _) = running(&rt, &b);
    let caps = |extra: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&id, "grep", "^Cap", "/proc/self/status"]);
        let out = rt.rt(&args);
        out.ok()
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        caps(&[]),
        [
            "CapInh: 0000000400000001",
            "CapPrm: 0000000000000021",
            "CapEff: 0000000000000021",
            "CapBnd: 0000000400000021",
            "CapAmb: 0000000000000001"
        ]
    );
    assert_eq!(
        caps(&["--cap", "CAP_SYSLOG"]),
        [
            "CapInh: 0000000400000001",
            "CapPrm: 0000000400000021",
            "CapEff: 0000000400000021",
            "CapBnd: 0000000400000021",
            "CapAmb: 0000000400000001"
        ]
    );
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_with_process_json_detached_and_pid_file() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (id, pid) = running(&rt, &b);
    let pj = b.path().join("process.json");
    fs::write(
        &pj,
        json!({
            "args": ["sh", "-c", "echo from-process-json > /dev/shm/out; sleep 1000"],
            "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}
        })
        .to_string(),
    )
    .unwrap();
    let pid_file = b.path().join("exec.pid");
    rt.rt(&[
        "exec",
        "--process",
        pj.to_str().unwrap(),
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ])
    .ok();
    let exec_pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let shm = format!("/proc/{pid}/root/dev/shm/out");
    for _ in 0..500 {
        if fs::metadata(&shm).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(fs::read_to_string(&shm).unwrap(), "from-process-json\n");
    // It is one of the container's processes.
    let ps: Vec<i64> = serde_json::from_str(rt.rt(&["ps", "-f", "json", &id]).ok()).unwrap();
    assert!(ps.contains(&exec_pid), "{ps:?} lacks {exec_pid}");
    // A document without "user" and "cwd" runs as root in / (runc: Go's zero values).
    fs::write(
        &pj,
        json!({"args": ["sh", "-c", "echo $(id -u):$(pwd)"], "env": ["PATH=/bin"]}).to_string(),
    )
    .unwrap();
    let out = rt.rt(&["exec", "--process", pj.to_str().unwrap(), &id]);
    assert_eq!(out.ok(), "0:/\n");
    // Deleting the container ends it too.
    let start = start_time(exec_pid as i32).unwrap();
    rt.rt(&["delete", "-f", &id]).ok();
    assert!(wait_dead(exec_pid as i32, start));
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_into_paused_container_needs_ignore_paused() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (id, _) = running(&rt, &b);
    rt.rt(&["pause", &id]).ok();
    rt.rt(&["exec", &id, "true"]).fails_with("paused");
    rt.rt(&["exec", "-d", "--ignore-paused", &id, "true"]).ok();
    rt.rt(&["resume", &id]).ok();
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2024_21626_exec_sees_no_host_fd() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (id, _) = running(&rt, &b);
    let extra = fs::File::open("/etc/hostname").unwrap();
    use std::os::fd::AsRawFd;
    nix::fcntl::fcntl(
        extra.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let out = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "ls /proc/self/fd | sort -n | tr '\\n' ' '",
    ]);
    assert_eq!(out.ok().trim(), "0 1 2 3", "{}", out.stdout);
    drop(extra);
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_into_a_sub_cgroup() {
    need_root();
    let rt = Rt::new();
    // The container makes its sub-cgroup itself (in every hierarchy, through its own
    // cgroup mount, which rt mounts read-only: so make it read-write here).
    let mut b = Bundle::sh(
        "for d in /sys/fs/cgroup/*/; do mkdir -p $d/sub $d/other; done; touch /dev/shm/ready; sleep 1000; true",
    );
    b.edit(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["type"] == "cgroup" {
                m["options"] = json!(["nosuid", "noexec", "nodev", "rw"]);
            }
        }
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"]
        });
    });
    let (id, pid) = running(&rt, &b);
    for _ in 0..500 {
        if fs::metadata(format!("/proc/{pid}/root/dev/shm/ready")).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = rt.rt(&[
        "exec",
        "--cgroup",
        "sub",
        &id,
        "grep",
        "memory",
        "/proc/self/cgroup",
    ]);
    assert!(out.ok().trim().ends_with(":/sub"), "{}", out.stdout);
    // runc's v1 form: CONTROLLER[,CONTROLLER...]:PATH, repeatable; a plain PATH for the
    // rest. Inside, the container's cgroup namespace shows its own cgroup as "/".
    let out = rt.rt(&[
        "exec",
        "--cgroup",
        "memory:sub",
        "--cgroup",
        "cpu,cpuacct:other",
        "--cgroup",
        "sub",
        &id,
        "cat",
        "/proc/self/cgroup",
    ]);
    let path = |text: &str, ctrl: &str| {
        text.lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|c| c.split(',').any(|x| x == ctrl))
            })
            .and_then(|l| l.rsplit(':').next())
            .unwrap_or_else(|| panic!("no {ctrl} line: {text}"))
            .to_owned()
    };
    let text = out.ok();
    assert_eq!(path(text, "memory"), "/sub", "{text}");
    assert_eq!(path(text, "cpu"), "/other", "{text}");
    assert_eq!(path(text, "cpuacct"), "/other", "{text}");
    assert_eq!(path(text, "pids"), "/sub", "{text}");
    let out = rt.rt(&[
        "exec",
        "--cgroup",
        "memory:other",
        &id,
        "cat",
        "/proc/self/cgroup",
    ]);
    let text = out.ok();
    assert_eq!(path(text, "memory"), "/other", "{text}");
    assert_eq!(path(text, "pids"), "/", "{text}");
    // runc's exec.bats: its words for each refusal, and "/" as the container's own cgroup.
    rt.rt(&["exec", "--cgroup", "nosuch:sub", &id, "true"])
        .fails_with("--cgroup: \"nosuch:sub\": unknown controller \"nosuch\"");
    rt.rt(&["exec", "--cgroup", "memory:nope", &id, "true"])
        .fails_with("adding pid to /sys/fs/cgroup/memory/");
    let out = rt.rt(&["exec", "--cgroup", "nope", &id, "true"]);
    out.fails_with("--cgroup: \"nope\": adding pid to ");
    assert!(
        out.stderr.contains("nope: no such file or directory"),
        "{}",
        out.stderr
    );
    for bad in ["..", "../x", "cpu:../x"] {
        rt.rt(&["exec", "--cgroup", bad, &id, "true"])
            .fails_with("bad sub cgroup path");
    }
    let out = rt.rt(&["exec", "--cgroup", "/", &id, "cat", "/proc/self/cgroup"]);
    let text = out.ok();
    assert!(text.lines().all(|l| l.ends_with(":/")), "{text}");
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}
