//! OCI hooks: when they run, in which namespaces, with what on stdin, and what their
//! failure does.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::*;

/// A hook running `/bin/sh -c script` on the host, args shifted so $1.. are usable.
fn hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

/// Reads the JSON state a hook saved.
fn saved_state(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn every_hook_runs_in_order_with_state_on_stdin() {
    need_root();
    let rt = Rt::new();
    let out = TempDir::new("hooks");
    let o = out.path().display().to_string();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let log = |name: &str| {
        hook(&format!(
            "cat > {o}/{name}.json; echo {name} >> {o}/order; readlink /proc/self/ns/mnt > {o}/{name}.mnt"
        ))
    };
    b.edit(|c| {
        c["hooks"] = json!({
            "prestart": [log("prestart")],
            "createRuntime": [log("createRuntime")],
            "createContainer": [log("createContainer")],
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer.json; echo ok > /tmp/started"]}],
            "poststart": [log("poststart")],
            "poststop": [log("poststop")]
        });
    });
    let id = unique("hk");
    rt.create(&b, &id).ok();
    let order = || fs::read_to_string(out.path().join("order")).unwrap_or_default();
    assert_eq!(order(), "prestart\ncreateRuntime\ncreateContainer\n");
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    for name in ["prestart", "createRuntime", "createContainer"] {
        let s = saved_state(&out.path().join(format!("{name}.json")));
        assert_eq!(s["id"], id.as_str(), "{name}");
        assert_eq!(s["pid"], pid, "{name}");
        assert_eq!(s["status"], "creating", "{name}");
        assert_eq!(s["bundle"], b.path().to_str().unwrap());
    }
    let host_mnt = fs::read_link("/proc/self/ns/mnt").unwrap();
    let mnt = |name: &str| fs::read_to_string(out.path().join(format!("{name}.mnt"))).unwrap();
    // Runtime namespace for prestart/createRuntime, the container's for createContainer.
    assert_eq!(mnt("createRuntime").trim(), host_mnt.to_str().unwrap());
    assert_eq!(mnt("prestart").trim(), host_mnt.to_str().unwrap());
    let container_mnt = fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_eq!(
        mnt("createContainer").trim(),
        container_mnt.to_str().unwrap()
    );

    rt.rt(&["start", &id]).ok();
    assert_eq!(
        order(),
        "prestart\ncreateRuntime\ncreateContainer\npoststart\n"
    );
    let s = saved_state(&out.path().join("poststart.json"));
    assert_eq!(s["status"], "running");
    assert_eq!(s["pid"], pid);
    // startContainer ran inside the container: its files are in the container's /tmp.
    let inner = format!("/proc/{pid}/root/tmp");
    assert_eq!(
        fs::read_to_string(format!("{inner}/started")).unwrap(),
        "ok\n"
    );
    let s = saved_state(Path::new(&format!("{inner}/startContainer.json")));
    assert_eq!(s["status"], "created");
    assert_eq!(s["id"], id.as_str());

    rt.rt(&["kill", &id, "KILL"]).ok();
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_eq!(
        order(),
        "prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n"
    );
    let s = saved_state(&out.path().join("poststop.json"));
    assert_eq!(s["status"], "stopped");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn hook_args_env_and_timeout() {
    need_root();
    let rt = Rt::new();
    let out = TempDir::new("hookenv");
    let o = out.path().display().to_string();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("echo \"$0 $1 [$GREETING] [${{HOME-unset}}]\" > {o}/env"), "first", "second"],
            "env": ["GREETING=hello"]
        }]});
    });
    rt.run(&b, &unique("he")).ok();
    assert_eq!(
        fs::read_to_string(out.path().join("env")).unwrap(),
        "first second [hello] [unset]\n"
    );

    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}));
    let id = unique("hto");
    let t = std::time::Instant::now();
    rt.create(&b, &id)
        .fails_with("hooks.createRuntime[0]: error running createRuntime hook #0: /bin/sleep: timed out after 1s");
    assert!(t.elapsed().as_secs() < 10);
    assert_no_trace(&rt, &id, &b);
}

/// createContainer hooks start in the container's rootfs, as runc's do: hooks written
/// for runc bind files into it by relative path (runc's hooks_so.bats binds libraries
/// to ./lib/...), and what they mount there is the container's.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn create_container_hooks_start_in_the_rootfs() {
    need_root();
    let rt = Rt::new();
    let out = TempDir::new("hookcwd");
    let o = out.path().display().to_string();
    fs::write(out.path().join("lib.so"), "from-the-hook\n").unwrap();
    let mut b = Bundle::sh("cat /lib/hooked.so");
    fs::create_dir_all(b.rootfs().join("lib")).unwrap();
    b.edit(|c| {
        c["hooks"] = json!({"createContainer": [hook(&format!(
            "pwd -P > {o}/cwd; touch ./lib/hooked.so && mount --bind {o}/lib.so ./lib/hooked.so"
        ))]});
    });
    assert_eq!(rt.output(&b), "from-the-hook\n");
    let rootfs = fs::canonicalize(b.rootfs()).unwrap();
    assert_eq!(
        fs::read_to_string(out.path().join("cwd")).unwrap().trim(),
        rootfs.display().to_string()
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn failing_create_hooks_fail_create_and_leave_nothing() {
    need_root();
    let rt = Rt::new();
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["hooks"] = json!({kind: [hook("echo hook says no >&2; exit 3")]}));
        let id = unique("hf");
        rt.create(&b, &id).fails_with(&format!(
            "hooks.{kind}[0]: error running {kind} hook #0: /bin/sh: exit status 3: hook says no"
        ));
        assert_no_trace(&rt, &id, &b);
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn failing_start_container_hook_fails_start() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| c["hooks"] = json!({"startContainer": [hook("exit 4")]}));
    let id = unique("sc");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).fails_with(
        "hooks.startContainer[0]: error running startContainer hook #0: /bin/sh: exit status 4",
    );
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

/// The runtime spec: a failing poststart hook is a warning; the remaining hooks run and
/// the container goes on (runc kills it instead).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn failing_poststart_hook_only_warns() {
    need_root();
    let rt = Rt::new();
    let marks = TempDir::new("poststart");
    let second = marks.path().join("second");
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        c["hooks"] =
            json!({"poststart": [hook("exit 5"), hook(&format!("touch {}", second.display()))]})
    });
    let id = unique("ps");
    rt.create(&b, &id).ok();
    let out = rt.rt(&["start", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("hooks.poststart[0]"),
        "{}",
        out.stderr
    );
    assert!(second.exists(), "the next hook did not run");
    assert_eq!(rt.status(&id), "running");
    rt.rt(&["delete", "-f", &id]).ok();
    // rt run: the container runs to its end and its exit code is rt's.
    fs::remove_file(&second).unwrap();
    // The warning of the foreground run waits until the container's output is over: it
    // shares rt's stderr (issue 13: it landed between the container's lines).
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", "echo one >&2; sleep 0.3; echo two >&2; exit 3"])
    });
    let id = unique("ps");
    let out = rt.run(&b, &id);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let warning = out.stderr.find("hooks.poststart[0]");
    let two = out.stderr.find("two\n");
    assert!(
        warning.is_some() && two.is_some() && warning > two,
        "{}",
        out.stderr
    );
    assert!(second.exists(), "the next hook did not run");
    assert_no_trace(&rt, &id, &b);
}

/// With --log (as every engine passes it), a warning goes to the log only: rt's stderr is
/// the container's under containerd's shim, and Docker showed rt's warnings in
/// `docker logs` (found by the e2e lane).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn warnings_go_to_the_log_file_not_the_containers_stderr() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("echo out; echo err >&2");
    b.edit(|c| c["hooks"] = json!({"poststart": [hook("exit 5")]}));
    let log = b.path().join("log.json");
    let id = unique("wl");
    let out = capture(rt.cmd().args([
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let text = fs::read_to_string(&log).unwrap();
    let warning = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["level"] == "warning")
        .unwrap_or_else(|| panic!("no warning in the log:\n{text}"));
    assert!(
        warning["msg"]
            .as_str()
            .unwrap()
            .contains("hooks.poststart[0]"),
        "{warning}"
    );
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn failing_poststop_hook_only_warns() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["hooks"] = json!({"poststop": [hook("exit 6"), hook("exit 0")]}));
    let id = unique("pst");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    rt.wait_status(&id, "stopped");
    let out = rt.rt(&["delete", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("hooks.poststop[0]"),
        "{}",
        out.stderr
    );
    assert_no_trace(&rt, &id, &b);
}

/// A hook binary that does not exist: one line naming the hook, the reason once.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn missing_hook_binary_is_one_clear_line() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["hooks"] = json!({"createRuntime": [{"path": "/nonexistent/hook"}]}));
    let id = unique("nohook");
    let out = rt.create(&b, &id);
    out.fails_with(
        "hooks.createRuntime[0]: error running createRuntime hook #0: /nonexistent/hook: no such file or directory",
    );
    assert_eq!(
        out.stderr.matches("no such file").count(),
        1,
        "{}",
        out.stderr
    );
    assert_no_trace(&rt, &id, &b);
}
