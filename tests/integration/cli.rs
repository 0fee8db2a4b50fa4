//! The command line itself: version, spec, IDs, error messages, --log.

use std::fs;

use serde_json::json;

use crate::common::*;

#[test]
fn version_names_rt_and_the_spec() {
    let out = std::process::Command::new(RT)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("rt version "), "{text}");
    // runc's layout, which Docker's `docker info` parses for the commit.
    assert!(lines[1].starts_with("commit: "), "{text}");
    assert!(lines[1].len() > "commit: ".len(), "{text}");
    assert!(lines[2].starts_with("spec: 1."), "{text}");
}

/// runc's help.bats and version.bats: help in urfave/cli's layout (NAME:, then
/// "NAME - what"), runc's words for help on an unknown command, and the name rt is
/// called by (runc, where it is installed as runc) in help and version.
#[test]
fn help_and_version_in_runcs_layout_under_the_name_called() {
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    for flag in ["-h", "--help"] {
        let out = capture(std::process::Command::new(RT).arg(flag));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let l = lines(&out.stdout);
        assert_eq!(l[0], "NAME:", "{}", out.stdout);
        assert!(
            l[1].contains("rt - Open Container Initiative runtime"),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("VERSION"), "{}", out.stdout);
    }
    for cmd in [
        "checkpoint",
        "delete",
        "events",
        "exec",
        "kill",
        "list",
        "pause",
        "restore",
        "resume",
        "spec",
        "start",
        "run",
        "state",
        "update",
    ] {
        let out = capture(std::process::Command::new(RT).args([cmd, "-h"]));
        assert_eq!(out.code, 0, "{cmd}: {}", out.stderr);
        let l = lines(&out.stdout);
        assert_eq!(l[0], "NAME:", "{cmd}: {}", out.stdout);
        assert!(
            l[1].trim_start().starts_with(&format!("rt {cmd} - ")),
            "{}",
            out.stdout
        );
    }
    let out = capture(std::process::Command::new(RT).args(["foo", "-h"]));
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("No help topic for 'foo'"),
        "{}",
        out.stderr
    );
    // Installed as runc.
    let dir = TempDir::new("as-runc");
    let runc = dir.path().join("runc");
    if fs::hard_link(RT, &runc).is_err() {
        fs::copy(RT, &runc).unwrap();
    }
    let out = capture(std::process::Command::new(&runc).arg("-v"));
    assert!(out.stdout.starts_with("runc version 0."), "{}", out.stdout);
    let out = capture(std::process::Command::new(&runc).args(["list", "--help"]));
    let l = lines(&out.stdout);
    assert!(
        l[1].trim_start().starts_with("runc list - "),
        "{}",
        out.stdout
    );
}

#[test]
fn spec_writes_a_runnable_default_and_refuses_to_overwrite() {
    let dir = TempDir::new("spec");
    let out = std::process::Command::new(RT)
        .args(["spec", "--bundle", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(v["process"]["args"], json!(["sh"]));
    assert_eq!(v["root"]["path"], "rootfs");
    assert_eq!(v["process"]["terminal"], true);
    // runc's rule: a cgroup namespace only on a host with cgroup v2 alone.
    let unified = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup") && l.contains(" - cgroup2 "));
    let has_cgroupns = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "cgroup");
    assert_eq!(has_cgroupns, unified, "{}", v["linux"]["namespaces"]);
    let again = std::process::Command::new(RT)
        .args(["spec", "-b", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}

#[test]
fn missing_containers_read_as_runc_says() {
    let rt = Rt::new();
    for cmd in [
        &["state", "nope"][..],
        &["start", "nope"],
        &["kill", "nope"],
        &["delete", "nope"],
    ] {
        rt.rt(cmd).fails_with("container does not exist");
    }
    // delete --force of a missing container succeeds, as with runc.
    assert_eq!(rt.rt(&["delete", "--force", "nope"]).code, 0);
}

#[test]
fn bad_ids_are_rejected_before_touching_the_disk() {
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let long = "x".repeat(1025);
    for id in ["a/b", "..", ".", "x y", "../escape", long.as_str(), ""] {
        let out = rt.create(&b, id);
        out.fails_with("container id");
    }
    let entries: Vec<_> = fs::read_dir(rt.root())
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "{entries:?}");
    assert!(!b.path().parent().unwrap().join("escape").exists());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn long_ids_work() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    // Longer than a unix socket path can be: the start socket must still work.
    let id = format!("{}-{}", unique("long"), "y".repeat(200));
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
fn json_log_gets_the_error_line() {
    let rt = Rt::new();
    let log = rt
        .root()
        .join("../rt-log-".to_owned() + &unique("l") + ".json");
    let out = rt
        .cmd()
        .args([
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = fs::read_to_string(&log).unwrap();
    fs::remove_file(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"]
            .as_str()
            .unwrap()
            .contains("container does not exist")
    );
    assert!(humantime::parse_rfc3339(last["time"].as_str().unwrap()).is_ok());
}

#[test]
fn text_log_is_logrus_style() {
    let rt = Rt::new();
    let log = rt
        .root()
        .join("../rt-log-".to_owned() + &unique("l") + ".txt");
    let out = rt
        .cmd()
        .args(["--log", log.to_str().unwrap(), "kill", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = fs::read_to_string(&log).unwrap();
    fs::remove_file(&log).unwrap();
    assert!(text.starts_with("time=\""), "{text}");
    assert!(
        text.contains("level=error msg=\"container does not exist"),
        "{text}"
    );
}

/// runc's debug.bats and exec.bats: `--debug` traces the container's milestones under
/// runc's names, to stderr, or only to the `--log` file when there is one.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn debug_trace_names_runcs_milestones() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["echo", "Hello World"]);
    let out = capture(
        rt.cmd()
            .args(["--debug", "run", "--bundle"])
            .arg(b.path())
            .arg(unique("dbg")),
    );
    assert_eq!(out.stdout, "Hello World\n");
    for m in [
        "level=debug",
        "nsexec container setup",
        "child process in init()",
        "init: closing the pipe to signal completion",
    ] {
        assert!(out.stderr.contains(m), "no {m:?} in: {}", out.stderr);
    }
    let log = TempDir::new("dbg-log");
    let file = log.path().join("log.out");
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("dbg");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let out = capture(
        rt.cmd()
            .args(["--debug", "--log"])
            .arg(&file)
            .args(["exec", &id, "true"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("level=debug"), "{}", out.stderr);
    let text = fs::read_to_string(&file).unwrap();
    for m in [
        "level=debug",
        "nsexec container setup",
        "child process in init()",
        "setns_init: about to exec",
    ] {
        assert!(text.contains(m), "no {m:?} in: {text}");
    }
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn duplicate_create_is_refused() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let id = unique("dup");
    rt.create(&b, &id).ok();
    rt.create(&b, &id).fails_with("container with id exists");
    assert_eq!(rt.status(&id), "created");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn config_errors_name_the_field() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": "lots"}));
    rt.create(&b, &unique("cfg"))
        .fails_with("linux.resources.memory.limit");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["process"]["cwd"] = json!("relative/dir"));
    rt.create(&b, &unique("cfg")).fails_with("process.cwd");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["linux"]["namespaces"] =
            json!([{"type": "mount"}, {"type": "network", "path": "/proc/999999999/ns/net"}])
    });
    b.edit(|c| {
        c.as_object_mut().unwrap().remove("hostname");
    });
    rt.create(&b, &unique("cfg"))
        .fails_with("linux.namespaces[1].path: /proc/999999999/ns/net");
    let entries: Vec<_> = fs::read_dir(rt.root())
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "{entries:?}");
}

#[test]
fn global_modes_are_checked_where_they_matter() {
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let id = unique("mode");
    // The systemd driver needs systemd and cgroup v2; this host has neither.
    let out = capture(rt.cmd().args([
        "--systemd-cgroup",
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    out.fails_with("--systemd-cgroup");
    // Rootless mode forced as root: as with runc, only a runtime that is not uid 0 needs
    // the config's own user namespace; what it changes is the cgroup, which a rootless
    // container on this host (nothing delegated) does not get.
    let out = capture(rt.cmd().args([
        "--rootless",
        "true",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        cgroup_dirs_named(&id).is_empty(),
        "{:?}",
        cgroup_dirs_named(&id)
    );
    // Accepted where they change nothing.
    let out = capture(rt.cmd().args(["--systemd-cgroup", "list", "-q"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let entries: Vec<_> = fs::read_dir(rt.root())
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "{entries:?}");
}

#[test]
fn usage_errors_are_one_line_naming_the_argument() {
    let rt = Rt::new();
    rt.rt(&["create", "--no-such-flag", "x"])
        .fails_with("--no-such-flag");
    rt.rt(&["frobnicate"]).fails_with("frobnicate");
    rt.rt(&["start"]).fails_with("<ID>");
    rt.rt(&["kill", "--preserve-fds", "x"])
        .fails_with("--preserve-fds");
    let help = rt.rt(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("create"), "{}", help.stdout);
}

#[test]
fn closed_stdout_ends_rt_quietly() {
    // `rt --version | true`: the reader is gone before rt writes. Close-on-exec, or a
    // child another test thread starts meanwhile keeps a copy of the reader alive (and
    // rt's write succeeds).
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    drop(r);
    let err = memfd("sigpipe-stderr");
    let status = std::process::Command::new(RT)
        .arg("--version")
        .stdout(std::process::Stdio::from(w))
        .stderr(err.try_clone().unwrap())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
    assert_eq!(read_all(err), "");
}

/// Issue 13: a 100 MB config.json was read whole (514 MB of rt's memory). Documents from
/// the caller are read up to 16 MiB and refused beyond, naming the document; deep nesting
/// neither crashes rt nor gives more than one clear line. Nothing is left behind.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn oversized_and_deeply_nested_documents_are_refused() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let mut config: serde_json::Value =
        serde_json::from_slice(&fs::read(b.path().join("config.json")).unwrap()).unwrap();
    config["annotations"] = serde_json::json!({"padding": "x".repeat(17 << 20)});
    fs::write(b.path().join("config.json"), config.to_string()).unwrap();
    let id = unique("big");
    let out = rt.create(&b, &id);
    out.fails_with("config.json: larger than 16 MiB");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_no_trace(&rt, &id, &b);

    // 200 000 levels in a field rt does not know: skipped without recursing (no stack
    // overflow); in a known field a type error; serde_json stops at 128 levels anyway.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    config["annotations"] = serde_json::json!({});
    let text = config.to_string();
    fs::write(
        b.path().join("config.json"),
        format!("{{\"x-deep\": {deep}, {}", &text[1..]),
    )
    .unwrap();
    rt.create(&b, &id).ok();
    rt.rt(&["delete", "-f", &id]).ok();
    fs::write(
        b.path().join("config.json"),
        text.replacen(
            "\"hostname\"",
            &format!("\"domainname\": {deep}, \"hostname\""),
            1,
        ),
    )
    .unwrap();
    let out = rt.create(&b, &id);
    out.fails_with("domainname: ");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_no_trace(&rt, &id, &b);

    let mut child = rt
        .cmd()
        .args(["update", "--resources", "-", "nope"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &vec![b' '; 17 << 20]);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--resources -: larger than 16 MiB"),
        "{stderr}"
    );
}
