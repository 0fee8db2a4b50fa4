//! hostname, domainname, sysctl, args/env/cwd, user, umask, rlimits, oomScoreAdj,
//! capabilities — all read back from inside the container.

use std::fs;

use serde_json::json;

use crate::common::*;

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn hostname_and_domainname() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("hostname; cat /proc/sys/kernel/domainname");
    b.edit(|c| {
        c["hostname"] = json!("box-1");
        c["domainname"] = json!("example.test");
    });
    assert_eq!(rt.output(&b), "box-1\nexample.test\n");
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-1");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn sysctls_change_the_container_not_the_host() {
    need_root();
    let rt = Rt::new();
    let host_fwd = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shm = fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    let mut b = Bundle::sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni");
    let want_fwd = if host_fwd.trim() == "1" { "0" } else { "1" };
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want_fwd, "kernel.shmmni": "1234"})
    });
    assert_eq!(rt.output(&b), format!("{want_fwd}\n1234\n"));
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/shmmni").unwrap(),
        host_shm
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn host_sysctls_are_refused() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "10"}));
    let id = unique("sysctl");
    rt.create(&b, &id).fails_with("linux.sysctl.vm.swappiness");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn args_env_and_cwd() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "echo \"$0|$1|$FOO|$HOME|$(pwd)\"",
        "zero",
        "one two",
    ]);
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("FOO=bar baz"));
        c["process"]["cwd"] = json!("/tmp");
    });
    assert_eq!(rt.output(&b), "zero|one two|bar baz|/root|/tmp\n");
    // No variable rt did not put there leaks from rt's own environment.
    let b = Bundle::new(&["env"]);
    let out = rt
        .cmd()
        .env("RT_TEST_LEAK", "leaked")
        .args([
            "run",
            "--bundle",
            b.path().to_str().unwrap(),
            &unique("env"),
        ])
        .output()
        .unwrap();
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(!env.contains("RT_TEST_LEAK"), "{env}");
    let mut names: Vec<&str> = env.lines().map(|l| l.split('=').next().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["HOME", "PATH", "TERM"]);
    // A name given twice is set once, to its last value; an empty HOME counts as none
    // (runc's env.bats; Docker relies on both).
    let mut b = Bundle::new(&["env"]);
    b.edit(|c| {
        c["process"]["env"] = json!(["ONE=two", "HOME=/x", "HOME=", "PATH=/bin", "ONE=three"])
    });
    let env = rt.output(&b);
    let mut lines: Vec<&str> = env.lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["HOME=/root", "ONE=three", "PATH=/bin"], "{env}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn user_groups_and_umask() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "id; umask; touch /tmp/f; stat -c '%u:%g %a' /tmp/f; grep Groups /proc/self/status",
    );
    b.edit(|c| {
        c["process"]["user"] =
            json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 77], "umask": 23});
    });
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("uid=1000(user1) gid=1000(user1)"),
        "{out}"
    );
    assert_eq!(lines[1], "0027");
    assert_eq!(lines[2], "1000:1000 640");
    let groups: Vec<&str> = lines[3].split_whitespace().skip(1).collect();
    assert_eq!(groups, vec!["5", "77"], "supplementary groups: {out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn root_user_has_no_supplementary_groups_from_rt() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("grep Groups /proc/self/status");
    let out = rt.output(&b);
    assert_eq!(out.trim(), "Groups:", "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rlimits_and_oom_score_adj() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("ulimit -n; ulimit -Hn; ulimit -c; cat /proc/self/oom_score_adj");
    b.edit(|c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
        ]);
        c["process"]["oomScoreAdj"] = json!(537);
    });
    assert_eq!(rt.output(&b), "321\n654\n0\n537\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn capabilities_are_exactly_the_configured_ones() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("grep ^Cap /proc/self/status; grep NoNewPrivs /proc/self/status");
    b.edit(|c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"]
        });
    });
    let out = rt.output(&b);
    let cap = |name: &str| {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    let (chown, kill, net_raw) = (1u64 << 0, 1u64 << 5, 1u64 << 13);
    assert_eq!(cap("CapBnd"), chown | kill | net_raw, "{out}");
    assert_eq!(cap("CapInh"), kill, "{out}");
    assert_eq!(cap("CapAmb"), kill, "{out}");
    // As root after execve: permitted = effective = bounding ∩ (inheritable | all) → bounding.
    assert_eq!(cap("CapPrm") & !(chown | kill | net_raw), 0, "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
}

/// A caller with a reduced bounding set (here without CAP_SYS_TIME, via setpriv): the
/// capabilities it cannot pass on are left out with a warning naming them, as the runtime
/// spec asks, and the container gets the rest; through `exec` too.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn capabilities_the_caller_lacks_are_left_out_with_a_warning() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "60"]);
    let wanted = ["CAP_KILL", "CAP_SYS_TIME"];
    b.edit(|c| {
        c["process"]["capabilities"] =
            json!({"bounding": wanted, "effective": wanted, "permitted": wanted})
    });
    let reduced = |args: &[&str]| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--bounding-set", "-sys_time", "--", RT, "--root"])
            .arg(rt.root())
            .args(args)
            .stdin(std::process::Stdio::null());
        capture(&mut cmd)
    };
    let id = unique("lesscaps");
    let created = reduced(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    created.ok();
    assert!(
        created.stderr.contains("warning") && created.stderr.contains("CAP_SYS_TIME not granted"),
        "{}",
        created.stderr
    );
    rt.rt(&["start", &id]).ok();
    let exec = reduced(&[
        "exec",
        "--cap",
        "CAP_SYS_TIME",
        &id,
        "grep",
        "^CapBnd",
        "/proc/1/status",
        "/proc/self/status",
    ]);
    assert!(
        exec.stderr.contains("CAP_SYS_TIME not granted"),
        "{}",
        exec.stderr
    );
    let kill = 1u64 << 5;
    assert_eq!(
        exec.ok(),
        format!("/proc/1/status:CapBnd:\t{kill:016x}\n/proc/self/status:CapBnd:\t{kill:016x}\n")
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn capabilities_of_an_unprivileged_user() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("grep ^Cap /proc/self/status");
    b.edit(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
            "effective": ["CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"]
        });
    });
    let out = rt.output(&b);
    let nbs = 1u64 << 10;
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        let line = out.lines().find(|l| l.starts_with(set)).unwrap();
        let v = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(v, nbs, "{set}: {out}");
    }
}

/// `runc spec` lists ambient capabilities without inheritable ones; the kernel refuses to
/// raise those. Like runc, rt runs the container without them, silently as runc 1.1 (and
/// under --debug, says so); where the config lists inheritable ones, with a warning as
/// newer runc's capabilities.bats expects.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn ambient_capabilities_the_kernel_refuses_are_skipped_warning_where_meant() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("grep ^Cap /proc/self/status");
    b.edit(|c| {
        let set = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
        c["process"]["capabilities"] = json!({
            "bounding": set, "effective": set, "permitted": set, "ambient": set
        });
    });
    let out = rt.run(&b, &unique("amb"));
    let stdout = out.ok();
    let line = stdout.lines().find(|l| l.starts_with("CapAmb")).unwrap();
    assert!(line.ends_with("0000000000000000"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("CapEff")).unwrap();
    let v = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(v, (1 << 29) | (1 << 5) | (1 << 10), "{stdout}");
    assert_eq!(
        out.stderr, "",
        "runc 1.1's default bundle must run silently"
    );
    let id = unique("amb");
    let out = rt.run_debug(&b, &id);
    out.ok();
    for cap in ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"] {
        assert!(
            out.stderr.contains(&format!(
                "can't raise ambient capability {cap}: operation not permitted"
            )),
            "{}",
            out.stderr
        );
    }
    // runc's capabilities.bats: an ambient capability that is inheritable too is raised,
    // and only the other one is warned about.
    let mut b = Bundle::sh("grep ^CapAmb /proc/self/status");
    b.edit(|c| {
        c["process"]["capabilities"]["inheritable"] = json!(["CAP_KILL"]);
        c["process"]["capabilities"]["ambient"] = json!(["CAP_KILL", "CAP_CHOWN"]);
    });
    let out = rt.run(&b, &unique("amb"));
    assert_eq!(out.ok().trim(), "CapAmb:\t0000000000000020");
    assert!(
        out.stderr
            .contains("can't raise ambient capability CAP_CHOWN: ")
            && !out.stderr.contains("CAP_KILL"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn missing_program_fails_create() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["no-such-program"]);
    let id = unique("noprog");
    rt.create(&b, &id)
        .fails_with("\"no-such-program\": executable file not found in $PATH");
    assert_no_trace(&rt, &id, &b);
    let b = Bundle::new(&["/bin/missing"]);
    let id = unique("noprog");
    let out = rt.run(&b, &id);
    out.fails_with("process.args[0]: /bin/missing: no such file or directory");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2024_21626_no_host_fd_reaches_the_container() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("ls /proc/self/fd | sort -n | tr '\\n' ' '");
    let extra = fs::File::open("/etc/hostname").unwrap();
    use std::os::fd::AsRawFd;
    let fd = extra.as_raw_fd();
    // Make the fd inheritable, as a careless caller's would be.
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let out = rt.output(&b);
    // 0, 1, 2 and the fd `ls` itself opens on /proc/self/fd.
    assert_eq!(out.trim(), "0 1 2 3", "{out}");
    drop(extra);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn preserve_fds_passes_exactly_n() {
    need_root();
    let rt = Rt::new();
    let dir = TempDir::new("pfd");
    let f = dir.path().join("passed");
    fs::write(&f, "through fd 3\n").unwrap();
    let b = Bundle::sh("cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '");
    let file = fs::File::open(&f).unwrap();
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let raw = file.as_raw_fd();
    let mut cmd = rt.cmd();
    cmd.args([
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        b.path().to_str().unwrap(),
        &unique("pfd"),
    ]);
    // SAFETY (test): dup2 in the child before exec, no allocation.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps O_CLOEXEC; clear it explicitly.
            if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("through fd 3\n"), "{text}");
    assert_eq!(text.lines().nth(1).unwrap().trim(), "0 1 2 3 4", "{text}");
    // With fd 3 closed there is nothing to pass: refused in runc's words (run.bats
    // "runc run --preserve-fds with no inherited fd").
    let id = unique("pfd");
    let mut cmd = rt.cmd();
    cmd.args(["run", "--preserve-fds", "1", "--bundle"])
        .arg(b.path())
        .arg(&id);
    // SAFETY (test): close in the child before exec, no allocation.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(3);
            Ok(())
        });
    }
    capture(&mut cmd).fails_with("unable to stat preserved-fd 0 (of 1)");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn session_keyring_is_new_unless_told_otherwise() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sysprobe", "session"]);
    fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
    b.save();
    // SAFETY: KEYCTL_GET_KEYRING_ID of the session keyring reads no memory of ours.
    let ours = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 0) };
    assert!(ours > 0);
    let session = |extra: &[&str]| {
        let id = unique("keys");
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend(["--bundle", b.path().to_str().unwrap(), &id]);
        let out = rt.rt(&args);
        out.ok()
            .trim()
            .strip_prefix("session=")
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    // A new (anonymous) keyring of its own; with --no-new-keyring, rt's caller's.
    let own = session(&[]);
    assert!(own > 0 && own != ours, "{own} vs {ours}");
    assert_eq!(session(&["--no-new-keyring"]), ours);
}

/// process.oomScoreAdj in a user namespace, for the init and an exec process: rt sets it
/// from outside, before the process goes on. A negative one (lowering takes
/// CAP_SYS_RESOURCE in the host's user namespace, which no process inside has) where this
/// host lets root lower it at all; this build host's root cannot (its sandbox lacks
/// CAP_SYS_RESOURCE), so there a positive one.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn oom_score_adj_in_a_user_namespace() {
    need_root();
    let rt = Rt::new();
    let mut probe = std::process::Command::new("sleep")
        .arg("10")
        .spawn()
        .unwrap();
    let can_lower = fs::write(format!("/proc/{}/oom_score_adj", probe.id()), "-1").is_ok();
    let _ = probe.kill();
    let _ = probe.wait();
    let adj = if can_lower { -500 } else { 500 };
    let mut b = Bundle::sh("cat /proc/self/oom_score_adj; exec sleep 100");
    b.in_user_namespace()
        .edit(|c| c["process"]["oomScoreAdj"] = json!(adj));
    let id = unique("oom");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap()
            .trim(),
        adj.to_string()
    );
    let out = rt.rt(&["exec", &id, "cat", "/proc/self/oom_score_adj"]);
    assert_eq!(out.ok().trim(), adj.to_string());
    rt.rt(&["delete", "-f", &id]).ok();
}

/// A program only its owner (root) may execute runs for a user holding CAP_DAC_OVERRIDE,
/// as execve itself allows; without the capability it is refused at create, naming the
/// field (runc's start_hello.bats).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn dac_override_lets_a_user_run_a_root_only_program() {
    use std::os::unix::fs::PermissionsExt;
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["/ro/echo", "ran"]);
    fs::create_dir(b.rootfs().join("ro")).unwrap();
    fs::copy(b.rootfs().join("bin/busybox"), b.rootfs().join("ro/echo")).unwrap();
    fs::set_permissions(
        b.rootfs().join("ro/echo"),
        fs::Permissions::from_mode(0o744),
    )
    .unwrap();
    b.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 100}));
    rt.run(&b, &unique("dac"))
        .fails_with("process.args[0]: /ro/echo: permission denied");
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_DAC_OVERRIDE"));
        }
    });
    assert_eq!(rt.output(&b), "ran\n");
}
