//! NOTIFY_SOCKET (issue 14): rt proxies the container's sd_notify messages to the
//! caller's socket, as runc does for systemd's Type=notify and podman's
//! `--sdnotify=container`: the container sees its own socket at
//! /run/notify/notify.sock; `start` (and `run -d`) return once it said READY=1, which
//! reaches the caller after MAINPID=<the container's init>.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::common::*;

/// The caller's socket and what arrived on it.
struct Caller {
    _dir: TempDir,
    path: std::path::PathBuf,
    socket: UnixDatagram,
}

impl Caller {
    fn new() -> Caller {
        let dir = TempDir::new("notifycaller");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_nonblocking(true).unwrap();
        Caller {
            _dir: dir,
            path,
            socket,
        }
    }

    fn received(&self) -> Vec<String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    }
}

/// A container that says what it is doing, then READY=1 once its file is there.
fn notifying_bundle() -> Bundle {
    let b = Bundle::sh(
        "echo $NOTIFY_SOCKET > /dev/shm/env; sysprobe notify=STATUS=starting; \
         sysprobe notify='STATUS=up|READY=1'; sysprobe notify=STATUS=later; sleep 100",
    );
    fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
    b
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn start_passes_sd_notify_on_until_ready() {
    need_root();
    let rt = Rt::new();
    let caller = Caller::new();
    let b = notifying_bundle();
    let id = unique("notify");
    let with_socket =
        |args: &[&str]| capture(rt.cmd().args(args).env("NOTIFY_SOCKET", &caller.path));
    with_socket(&["create", "--bundle", b.path().to_str().unwrap(), &id]).ok();
    assert!(caller.received().is_empty(), "a message before start");
    with_socket(&["start", &id]).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    // `start` returned after READY=1: it is there, after MAINPID.
    let got = caller.received();
    assert_eq!(
        got,
        [
            "STATUS=starting".to_owned(),
            format!("MAINPID={pid}\n"),
            "STATUS=up\nREADY=1".to_owned()
        ]
    );
    let env = fs::read_to_string(format!("/proc/{pid}/root/dev/shm/env")).unwrap();
    assert_eq!(env, "/run/notify/notify.sock\n");
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_detached_waits_for_ready_and_a_container_that_never_says_it_ends_the_wait() {
    need_root();
    let rt = Rt::new();
    let caller = Caller::new();
    let b = notifying_bundle();
    let id = unique("notifyrun");
    let run = |b: &Bundle, id: &str| {
        capture(
            rt.cmd()
                .args(["run", "-d", "--bundle", b.path().to_str().unwrap(), id])
                .env("NOTIFY_SOCKET", &caller.path),
        )
    };
    run(&b, &id).ok();
    let got = caller.received();
    assert!(
        got.last().is_some_and(|m| m.ends_with("READY=1")),
        "{got:?}"
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);

    // A container that exits without READY=1: run -d returns all the same.
    let quiet = Bundle::sh("sleep 0.2");
    let id = unique("notifyquiet");
    let t = std::time::Instant::now();
    run(&quiet, &id).ok();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(caller.received().is_empty());
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &quiet);
}
