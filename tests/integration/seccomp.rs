//! linux.seccomp, checked from inside the container: a static probe (probe/sysprobe.c,
//! compiled here) makes the system calls and prints what the kernel answered.

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Command;
use std::thread;

use serde_json::{Value, json};

use crate::common::*;

const EPERM: i64 = 1;
const ENOSPC: i64 = 28;
const ENOSYS: i64 = 38;
const EDQUOT: i64 = 122;
/// A distinctive errno no kernel path here would return for these calls.
const EREMOTEIO: i64 = 121;
const SIGSYS_EXIT: i64 = 128 + 31;

/// A bundle whose container runs `script` with the probe at /bin/sysprobe.
fn bundle(script: &str, seccomp: Value) -> Bundle {
    let mut b = Bundle::sh(script);
    fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
    b.edit(|c| c["linux"]["seccomp"] = seccomp);
    b
}

/// NAME=VALUE lines of the probe's output.
fn results(out: &str) -> BTreeMap<String, i64> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.trim().parse().ok()?)))
        .collect()
}

fn status_field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} missing from {out}"))
        .trim()
        .to_owned()
}

/// The profile `rt spec` writes.
fn spec_profile() -> Value {
    let dir = TempDir::new("spec");
    let out = capture(Command::new(RT).args(["spec", "--bundle", dir.path().to_str().unwrap()]));
    out.ok();
    let c: Value =
        serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    c["linux"]["seccomp"].clone()
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rules_and_errno_values_apply_inside_the_container() {
    need_root();
    let rt = Rt::new();
    let b = bundle(
        "sysprobe mkdir getppid keyctl; grep ^Seccomp /proc/self/status",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSPC},
                // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING = -3): a 64-bit match.
                {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 1, "value": u64::MAX - 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 2}]},
                {"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}
            ]
        }),
    );
    let log = TempDir::new("seclog");
    let log_file = log.path().join("rt.log");
    let id = unique("secrules");
    let run = capture(rt.cmd().arg("--debug").arg("--log").arg(&log_file).args([
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    let out = run.ok().to_owned();
    let r = results(&out);
    assert_eq!(r["mkdir"], ENOSPC, "{out}");
    assert_eq!(r["keyctl"], EPERM, "{out}");
    // Unknown names are skipped, as runc does, and said so in the debug log.
    let logged = fs::read_to_string(&log_file).unwrap();
    assert!(logged.contains("no_such_syscall (x86_64)"), "{logged}");
    // valueTwo has a bit outside the mask: libseccomp's rule can never match.
    assert_eq!(r["getppid"], 0, "{out}");
    assert_eq!(status_field(&out, "Seccomp"), "2", "filter mode");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn default_profile_blocks_privileged_calls_even_with_cap_sys_admin() {
    need_root();
    let rt = Rt::new();
    let script = "sysprobe unshare mount keyctl kexec_load clone_newuser; \
                  ls / >/dev/null && echo ls=0; echo hi | cat | grep -q hi && echo pipe=0; \
                  sleep 0.01 && echo sleep=0; grep ^Seccomp_filters /proc/self/status";
    let admin = |c: &mut Value| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
    };

    // Control: without a profile, CAP_SYS_ADMIN makes these calls work, so the EPERMs
    // below come from the filter.
    let mut open = bundle(script, Value::Null);
    open.edit(|c| {
        admin(c);
        c["linux"].as_object_mut().unwrap().remove("seccomp");
    });
    let r = results(&rt.output(&open));
    assert_eq!((r["unshare"], r["mount"], r["keyctl"]), (0, 0, 0), "{r:?}");

    let mut b = bundle(script, spec_profile());
    b.edit(admin);
    let out = rt.output(&b);
    let r = results(&out);
    for call in ["unshare", "mount", "keyctl", "kexec_load", "clone_newuser"] {
        assert_eq!(r[call], EPERM, "{call}: {out}");
    }
    for ordinary in ["ls", "pipe", "sleep"] {
        assert_eq!(r[ordinary], 0, "{ordinary}: {out}");
    }
    assert_eq!(
        status_field(&out, "Seccomp_filters"),
        "3",
        "one program per ABI"
    );

    // With another defaultErrnoRet the same calls return it: the verdict is the profile's,
    // not the kernel's own EPERM (kexec_load fails without CAP_SYS_BOOT anyway).
    let mut profile = spec_profile();
    profile["defaultErrnoRet"] = json!(EREMOTEIO);
    let mut b = bundle(script, profile);
    b.edit(admin);
    let r = results(&rt.output(&b));
    for call in ["unshare", "mount", "keyctl", "kexec_load", "clone_newuser"] {
        assert_eq!(r[call], EREMOTEIO, "{call}: {r:?}");
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn calls_of_other_abis_cannot_slip_past_the_filter() {
    need_root();
    let rt = Rt::new();
    let rules = json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSPC}]);
    let native_only = json!({"defaultAction": "SCMP_ACT_ALLOW",
                             "architectures": ["SCMP_ARCH_X86_64"], "syscalls": rules});
    // i386 (int 0x80) and x32 calls from an x86_64-only profile: killed, not let through.
    for call in ["i386_mkdir", "i386_getpid", "x32_getpid"] {
        let b = bundle(
            &format!("sysprobe mkdir {call}; echo rc=$?"),
            native_only.clone(),
        );
        let r = results(&rt.output(&b));
        assert_eq!(r["mkdir"], ENOSPC);
        assert_eq!(r.get(call), None, "{call} returned: {r:?}");
        assert_eq!(r["rc"], SIGSYS_EXIT, "{call}: {r:?}");
    }
    // Listed compat ABIs get the rules under their own syscall numbers.
    let all = json!({"defaultAction": "SCMP_ACT_ALLOW",
                     "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                     "syscalls": rules});
    let b = bundle("sysprobe i386_mkdir i386_getpid x32_getpid", all);
    let r = results(&rt.output(&b));
    assert_eq!(r["i386_mkdir"], ENOSPC, "{r:?}");
    assert_eq!(r["i386_getpid"], 0, "{r:?}");
    // Kernels without CONFIG_X86_X32_ABI answer ENOSYS, after the filter let it through.
    assert!(matches!(r["x32_getpid"], 0 | ENOSYS), "{r:?}");
}

/// The profile `rt spec` writes (an allowlist: errno by default) without `names`, as
/// profiles written before those calls existed are.
fn allowlist_without(names: &[&str]) -> Value {
    let mut p = spec_profile();
    assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    let rules = p["syscalls"].as_array_mut().unwrap();
    for rule in rules.iter_mut() {
        rule["names"]
            .as_array_mut()
            .unwrap()
            .retain(|n| !names.contains(&n.as_str().unwrap()));
    }
    rules.retain(|r| !r["names"].as_array().unwrap().is_empty());
    p
}

/// rt makes no system call of its own once the container's filter is installed: an
/// allowlist without close_range (and without fcntl) still runs the init and `exec`, with
/// and without no_new_privileges, and the process keeps exactly its configured
/// capabilities (the CAP_SYS_ADMIN rt holds to install the filter is gone).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn allowlists_without_close_range_or_fcntl_run_init_and_exec() {
    need_root();
    let probes =
        "sysprobe close_range fcntl getppid; grep -E '^(CapEff|CapPrm|Seccomp):' /proc/self/status";
    for (blocked, nnp, uid) in [
        (&["close_range"][..], true, 0),
        (&["close_range", "fcntl"][..], true, 0),
        (&["close_range", "fcntl"][..], false, 0),
        (&["close_range", "fcntl"][..], false, 1000),
    ] {
        let case = format!("{blocked:?} nnp={nnp} uid={uid}");
        let check = |who: &str, out: &str| {
            let r = results(out);
            let fcntl = if blocked.contains(&"fcntl") { EPERM } else { 0 };
            assert_eq!(
                (r["close_range"], r["fcntl"], r["getppid"]),
                (EPERM, fcntl, 0),
                "{case} {who}: {out}"
            );
            assert_eq!(status_field(out, "Seccomp"), "2", "{case} {who}");
            // AUDIT_WRITE, KILL, NET_BIND_SERVICE for root; none for a user without
            // ambient capabilities.
            let caps = if uid == 0 {
                "0000000020000420"
            } else {
                "0000000000000000"
            };
            assert_eq!(status_field(out, "CapEff"), caps, "{case} {who}");
            assert_eq!(status_field(out, "CapPrm"), caps, "{case} {who}");
        };
        let with_process = |b: &mut Bundle| {
            b.edit(|c| {
                c["process"]["noNewPrivileges"] = json!(nnp);
                c["process"]["user"] = json!({"uid": uid, "gid": uid});
            });
        };
        let rt = Rt::new();
        let mut b = bundle(probes, allowlist_without(blocked));
        with_process(&mut b);
        check("init", &rt.output(&b));

        let mut b = bundle("sleep 60", allowlist_without(blocked));
        with_process(&mut b);
        let id = unique("allow");
        rt.create(&b, &id).ok();
        rt.rt(&["start", &id]).ok();
        check("exec", rt.rt(&["exec", &id, "sh", "-c", probes]).ok());
        rt.rt(&["delete", "-f", &id]).ok();
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_gets_the_containers_filter() {
    need_root();
    let rt = Rt::new();
    let b = bundle(
        "sleep 60",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSPC}]}),
    );
    let id = unique("secexec");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    let out = rt.rt(&["exec", &id, "sysprobe", "mkdir", "getppid"]);
    let r = results(out.ok());
    assert_eq!((r["mkdir"], r["getppid"]), (ENOSPC, 0), "{r:?}");
    rt.rt(&["delete", "-f", &id]).ok();
}

/// Without `flags`, a filter is installed with SECCOMP_FILTER_FLAG_SPEC_ALLOW, as runc
/// does: the container's processes keep the host's speculative store bypass setting
/// whatever the kernel's seccomp mitigation mode; `"flags": []` asks for none. The flags
/// show in `--debug` in runc's words (its seccomp.bats reads them there).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn no_flags_means_spec_allow_as_runc() {
    need_root();
    let rt = Rt::new();
    let host = status_field(
        &fs::read_to_string("/proc/self/status").unwrap(),
        "Speculation_Store_Bypass",
    );
    let allow = json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let b = bundle(
        "grep Speculation_Store_Bypass /proc/self/status",
        allow.clone(),
    );
    let id = unique("ssb");
    let out = rt.run_debug(&b, &id);
    assert_eq!(status_field(out.ok(), "Speculation_Store_Bypass"), host);
    assert!(
        out.stderr.contains("seccomp filter flags: 4"),
        "{}",
        out.stderr
    );
    // (Since Linux 5.16 the kernel forces the mitigation for seccomp only when booted
    // with spec_store_bypass_disable=seccomp, so the effect of `[]` is not checked here.)
    let mut none = allow;
    none["flags"] = json!([]);
    let b = bundle("true", none);
    let id = unique("ssb");
    let out = rt.run_debug(&b, &id);
    out.ok();
    assert!(
        out.stderr.contains("seccomp filter flags: 0"),
        "{}",
        out.stderr
    );
}

/// startContainer hooks run in the container under its filter, as runc's (seccomp.bats
/// "startContainer hook"): with no_new_privs and without (the filter then needs the
/// CAP_SYS_ADMIN the init keeps until its execve).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn start_container_hooks_run_under_the_containers_filter() {
    need_root();
    let rt = Rt::new();
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]});
    for nnp in [true, false] {
        let hook = |script: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", script]});
        let mut b = bundle("cat /tmp/hook-status", profile.clone());
        b.edit(|c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["hooks"] = json!({"startContainer": [
                hook("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status > /tmp/hook-status")
            ]});
        });
        let out = rt.output(&b);
        assert_eq!(status_field(&out, "Seccomp"), "2", "nnp {nnp}: {out}");
        assert_eq!(
            status_field(&out, "NoNewPrivs"),
            if nnp { "1" } else { "0" }
        );

        b.edit(|c| c["hooks"] = json!({"startContainer": [hook("mkdir /tmp/made")]}));
        let id = unique("sechook");
        let out = rt.run(&b, &id);
        // In runc's words too (its seccomp.bats greps for both).
        out.fails_with(
            "hooks.startContainer[0]: error running startContainer hook #0: /bin/sh: \
             signal: bad system call (SIGSYS)",
        );
        assert!(!b.rootfs().join("tmp/made").exists());
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn filter_without_no_new_privileges_is_installed_before_the_user_switch() {
    need_root();
    let rt = Rt::new();
    let mut b = bundle(
        "sysprobe mkdir; id -u; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSPC}]}),
    );
    b.edit(|c| {
        c["process"]["noNewPrivileges"] = json!(false);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let out = rt.output(&b);
    assert_eq!(results(&out)["mkdir"], ENOSPC, "{out}");
    assert!(out.lines().any(|l| l == "1000"), "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
    assert_eq!(status_field(&out, "Seccomp"), "2");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bad_profiles_fail_create_naming_the_field_and_leave_nothing() {
    need_root();
    let rt = Rt::new();
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent/agent.sock",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath /nonexistent/agent.sock: failed to connect with seccomp agent",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_FLY"}),
            "linux.seccomp.defaultAction",
        ),
        // In runc's words (seccomp-notify.bats).
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent/agent.sock",
                   "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/nonexistent/agent.sock"}),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action",
        ),
    ];
    for (profile, field) in cases {
        let b = bundle("true", profile);
        let id = unique("secbad");
        rt.run(&b, &id).fails_with(field);
        assert_no_trace(&rt, &id, &b);
    }
}

/// What a seccomp agent received on one connection.
struct Delivery {
    payload: Value,
    answered: usize,
}

/// A minimal seccomp agent: takes the fd and state from each connection, then answers
/// every notification with EDQUOT until the filter's last user is gone.
fn agent(listener: UnixListener, connections: usize) -> thread::JoinHandle<Vec<Delivery>> {
    thread::spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..connections {
            let (conn, _) = listener.accept().unwrap();
            let (bytes, mut fds) = recv_message(&conn);
            let payload: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(fds.len(), 1, "the notify fd came with the state");
            let fd = fds.remove(0);
            handlers.push(thread::spawn(move || Delivery {
                payload,
                answered: answer_all(fd),
            }));
        }
        handlers.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn answer_all(fd: OwnedFd) -> usize {
    let mut answered = 0;
    loop {
        // SAFETY: plain-data kernel structs, zeroed as SECCOMP_IOCTL_NOTIF_RECV requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: the ioctl fills `req`, a valid seccomp_notif.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
        if r < 0 {
            // ENOENT: no process uses the filter any more.
            return answered;
        }
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: -(EDQUOT as i32),
            flags: 0,
        };
        // SAFETY: `resp` is a valid seccomp_notif_resp for this fd.
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
        answered += 1;
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn notify_hands_the_fd_and_state_to_the_listener() {
    need_root();
    let rt = Rt::new();
    let dir = TempDir::new("agent");
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let agent = agent(listener, 2);
    let b = bundle(
        "sysprobe mkdir getppid >/tmp/init.out; sleep 60",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "meta-1",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    let id = unique("secnotify");
    rt.create(&b, &id).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    rt.rt(&["start", &id]).ok();
    // The exec'd process is another user of the filter: a second delivery.
    let out = rt.rt(&["exec", &id, "sysprobe", "mkdir"]);
    assert_eq!(
        results(out.ok())["mkdir"],
        EDQUOT,
        "the agent answered the exec'd mkdir"
    );
    let init_out = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "for i in $(seq 100); do [ -s /tmp/init.out ] && break; sleep 0.1; done; cat /tmp/init.out",
    ]);
    let r = results(init_out.ok());
    assert_eq!(
        (r["mkdir"], r["getppid"]),
        (EDQUOT, 0),
        "the agent answered the init's mkdir"
    );
    rt.rt(&["delete", "-f", &id]).ok();
    let deliveries = agent.join().unwrap();
    let first = &deliveries[0].payload;
    assert_eq!(first["fds"], json!(["seccompFd"]));
    assert_eq!(first["metadata"], "meta-1");
    assert_eq!(first["pid"], pid);
    assert_eq!(first["state"]["id"], id.as_str());
    // The fd is handed over by `rt start`, just before the container's process runs.
    assert_eq!(first["state"]["status"], "created");
    assert_eq!(first["state"]["pid"], pid);
    let second = &deliveries[1].payload;
    assert_eq!(second["state"]["status"], "running");
    assert_ne!(second["pid"], pid);
    // The init's own mkdir and the exec'd one were both answered by the agent.
    assert_eq!(deliveries.iter().map(|d| d.answered).sum::<usize>(), 2);
}
