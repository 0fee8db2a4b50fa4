//! checkpoint and restore (issue 14). CRIU round trips are tested in the VM lane
//! (tests/vm/scenarios/72-checkpoint.sh: Debian's kernel and criu). Here, where CRIU
//! cannot work (Debian's criu 3.17 fails on this host's kernel: vdso), both commands
//! must fail in one line with CRIU's reason and its log, the checkpointed container must
//! go on untouched and a failed restore must leave nothing; and rt's own refusals.

use std::fs;
use std::process::Command;

use serde_json::json;

use crate::common::*;

/// A counter on a tmpfs, as in the VM scenario.
fn counter() -> Bundle {
    Bundle::sh(
        "i=0; while :; do i=$((i + 1)); echo $i >/dev/shm/count.tmp; mv /dev/shm/count.tmp /dev/shm/count; sleep 0.05; done",
    )
}

fn criu_works() -> Option<bool> {
    let out = Command::new("criu").arg("check").output().ok()?;
    Some(out.status.success())
}

fn count(pid: i64) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/root/dev/shm/count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits (10 s at most) for the counter of `pid` to pass `above`.
#[track_caller]
fn wait_count_above(pid: i64, above: u64) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = count(pid);
        if n > above {
            return n;
        }
        assert!(std::time::Instant::now() < deadline, "counter stuck at {n}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn where_criu_cannot_work_both_commands_fail_cleanly() {
    need_root();
    let Some(works) = criu_works() else {
        eprintln!("no criu here: checkpoint/restore are tested in the VM lane only");
        return;
    };
    let rt = Rt::new();
    let b = counter();
    let id = unique("cpt");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let before = wait_count_above(pid, 0);
    let images = TempDir::new("images");
    let img = images.path().join("img");
    let out = rt.rt(&["checkpoint", "--image-path", img.to_str().unwrap(), &id]);
    let back = unique("cpt");
    let restore = || {
        let (img, dir) = (img.to_str().unwrap(), b.path().to_str().unwrap());
        rt.rt(&["restore", "-d", "--image-path", img, "--bundle", dir, &back])
    };
    if works {
        // A host where CRIU works: the dump ended the container, as with runc.
        out.ok();
        assert_eq!(rt.rt(&["state", &id]).code, 1);
        restore().ok();
        let pid = rt.state(&back)["pid"].as_i64().unwrap();
        assert!(count(pid) >= before);
        rt.rt(&["delete", "-f", &back]).ok();
        assert_no_trace(&rt, &back, &b);
        return;
    }
    out.fails_with("criu dump failed: ");
    assert!(out.stderr.contains("(log: "), "{}", out.stderr);
    assert!(img.join("dump.log").is_file());
    // Untouched: still running, still counting.
    assert_eq!(rt.status(&id), "running");
    wait_count_above(pid, count(pid));

    restore().fails_with("criu restore failed: ");
    assert!(img.join("restore.log").is_file());
    assert_eq!(rt.rt(&["state", &back]).code, 1);
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
    assert_no_trace(&rt, &back, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn checkpoint_and_restore_refusals_name_the_reason() {
    need_root();
    let rt = Rt::new();
    let b = counter();
    let dir = b.path().to_str().unwrap();
    let id = unique("cpt");
    rt.create(&b, &id).ok();
    // The default image directory ("checkpoint") is relative to the caller's: this
    // test's own, not the checkout's.
    let cwd = TempDir::new("cptcwd");
    let in_cwd = |args: &[&str]| capture(rt.cmd().current_dir(cwd.path()).args(args));
    in_cwd(&["checkpoint", &id]).fails_with(&format!("container not running: {id}"));
    in_cwd(&["checkpoint", "nosuchcontainer"]).fails_with("does not exist");
    rt.rt(&["start", &id]).ok();
    in_cwd(&["checkpoint", "--manage-cgroups-mode", "bogus", &id])
        .fails_with("--manage-cgroups-mode: \"bogus\": must be soft, full, strict or ignore");
    in_cwd(&["checkpoint", "--empty-ns", "ipc", &id])
        .fails_with("--empty-ns: \"ipc\": CRIU can leave only the network namespace empty");
    rt.rt(&["pause", &id]).ok();
    in_cwd(&["checkpoint", &id]).fails_with("is paused: resume it first");
    assert!(
        !cwd.path().join("checkpoint").exists(),
        "a refused checkpoint left its image directory behind"
    );
    rt.rt(&["resume", &id]).ok();
    assert_eq!(rt.status(&id), "running");
    // An ID in use is refused before CRIU is asked anything.
    let images = TempDir::new("images");
    let img = images.path().to_str().unwrap();
    rt.rt(&["restore", "--image-path", img, "--bundle", dir, &id])
        .fails_with("exists");
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);

    let mut tty = counter();
    tty.edit(|c| c["process"]["terminal"] = json!(true));
    let id = unique("cpt");
    rt.rt(&[
        "restore",
        "--console-socket",
        "/nonexistent.sock",
        "--image-path",
        img,
        "--bundle",
        tty.path().to_str().unwrap(),
        &id,
    ])
    .fails_with("process.terminal: restoring a container with a terminal is not supported");
    assert_no_trace(&rt, &id, &tty);
}

/// As runc's: the container's init and every exec process lead their own session, with
/// or without a terminal (CRIU also refuses a tree whose session leader is outside it).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn container_processes_lead_their_own_session() {
    need_root();
    let rt = Rt::new();
    // Field 6 of /proc/self/stat is the session; `exec cut` keeps the pid the shell's.
    let b = Bundle::sh("cut -d' ' -f6 /proc/self/stat >/dev/shm/sid; exec sleep 100");
    let id = unique("sid");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let sid_file = format!("/proc/{pid}/root/dev/shm/sid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fs::read_to_string(&sid_file).map_or(true, |s| s.trim().is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no session id written"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The shell is pid 1 of the container's pid namespace; `cut` ran in its session.
    assert_eq!(fs::read_to_string(&sid_file).unwrap().trim(), "1");
    let out = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo $$; cut -d' ' -f6 /proc/self/stat",
    ]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0], lines[1],
        "exec's shell is not its session's leader"
    );
    rt.rt(&["delete", "-f", &id]).ok();
}
