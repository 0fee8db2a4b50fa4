//! Terminals: a pty from the container's own devpts, its master sent over
//! --console-socket as one SCM_RIGHTS message with one fd, /dev/console, consoleSize,
//! and rt's own proxy for foreground run/exec.

use std::fs;
use std::io::Write;

use serde_json::json;

use crate::common::*;

fn terminal_bundle(script: &str) -> Bundle {
    let mut b = Bundle::sh(script);
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 40, "width": 100});
    });
    b
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn create_sends_the_master_over_the_console_socket() {
    need_root();
    let rt = Rt::new();
    let b = terminal_bundle(
        "tty; stty size; stat -c '%F %t' /dev/console; [ -t 0 ] && echo stdin-is-tty; echo done",
    );
    let sock = ConsoleSocket::new();
    let id = unique("tty");
    rt.rt(&[
        "create",
        "--console-socket",
        sock.path.to_str().unwrap(),
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ])
    .ok();
    let master = sock.receive();
    rt.rt(&["start", &id]).ok();
    let out = read_pty(&master, 10);
    assert!(out.contains("/dev/pts/0\n"), "{out}");
    assert!(out.contains("40 100\n"), "consoleSize not applied: {out}");
    // /dev/console is the pty slave (devpts major 136 = 0x88).
    assert!(out.contains("character special file 88\n"), "{out}");
    assert!(out.contains("stdin-is-tty"), "{out}");
    assert!(out.contains("done"), "{out}");
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn the_terminal_takes_input() {
    need_root();
    let rt = Rt::new();
    let b = terminal_bundle("read line; echo got: $line");
    let sock = ConsoleSocket::new();
    let id = unique("ttyin");
    rt.rt(&[
        "run",
        "-d",
        "--console-socket",
        sock.path.to_str().unwrap(),
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ])
    .ok();
    let master = sock.receive();
    let mut m = fs::File::from(master.try_clone().unwrap());
    m.write_all(b"hello\n").unwrap();
    let out = read_pty(&master, 10);
    assert!(out.contains("got: hello"), "{out}");
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn foreground_run_proxies_the_terminal() {
    need_root();
    let rt = Rt::new();
    // As a user other than root: the terminal is the user's (runc's tty.bats: "tty owner").
    let mut b =
        terminal_bundle("tty; stat -c owner=%u:%g $(tty); read line; echo got: $line; exit 5");
    b.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 100}));
    let mut child = rt
        .cmd()
        .args([
            "run",
            "--bundle",
            b.path().to_str().unwrap(),
            &unique("proxy"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("/dev/pts/0\n"), "{text}");
    assert!(text.contains("owner=1000:5\n"), "{text}");
    assert!(text.contains("got: typed"), "{text}");
    // rt's stdout is a pipe here: the output as the process wrote it, no "\r\n" (runc's).
    assert!(!text.contains('\r'), "{text:?}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_with_a_terminal() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("exectty");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let sock = ConsoleSocket::new();
    rt.rt(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock.path.to_str().unwrap(),
        "--user",
        "1000:100",
        &id,
        "sh",
        "-c",
        "tty; stat -c owner=%u:%g $(tty); echo exec-tty",
    ])
    .ok();
    let master = sock.receive();
    let out = read_pty(&master, 10);
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("owner=1000:5"), "{out}");
    assert!(out.contains("exec-tty"), "{out}");
    // Foreground exec -t: rt proxies.
    let mut child = rt
        .cmd()
        .args([
            "exec",
            "-t",
            &id,
            "sh",
            "-c",
            "read x; echo echoed-$x; exit 6",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("echoed-abc\n"), "{text:?}");
    assert!(!text.contains('\r'), "{text:?}");
    rt.rt(&["delete", "-f", &id]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn terminal_misconfigurations_are_errors() {
    need_root();
    let rt = Rt::new();
    let b = terminal_bundle("true");
    let id = unique("noconsole");
    rt.create(&b, &id)
        .fails_with("process.terminal: a terminal needs --console-socket");
    assert_no_trace(&rt, &id, &b);
    let plain = Bundle::new(&["true"]);
    let sock = ConsoleSocket::new();
    rt.rt(&[
        "create",
        "--console-socket",
        sock.path.to_str().unwrap(),
        "--bundle",
        plain.path().to_str().unwrap(),
        &id,
    ])
    .fails_with("--console-socket: process.terminal is false");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .fails_with("--console-socket");
    assert_no_trace(&rt, &id, &b);
}

/// containerd's go-runc reads what `create` prints to its end (a pipe as stdout and
/// stderr) before it takes the master from the console socket: an init that kept the pipe
/// while waiting for `start` hung `docker run -it` for good (found by the e2e lane). With
/// a terminal the init lets go of its caller's stdio at once.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn create_with_a_terminal_keeps_no_pipe_of_the_callers_open() {
    need_root();
    let rt = Rt::new();
    let b = terminal_bundle("echo done");
    let sock = ConsoleSocket::new();
    let id = unique("ttypipe");
    let mut child = rt
        .cmd()
        .args([
            "create",
            "--console-socket",
            sock.path.to_str().unwrap(),
            "--bundle",
            b.path().to_str().unwrap(),
            &id,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        let _ = tx.send(text);
    });
    let eof = rx.recv_timeout(std::time::Duration::from_secs(10));
    assert!(child.wait().unwrap().success());
    let master = sock.receive();
    if eof.is_err() {
        // Let the reader go before failing: delete ends the init that holds the pipe.
        rt.rt(&["delete", "-f", &id]).ok();
        panic!("the container's init kept rt create's stdout open until start");
    }
    rt.rt(&["start", &id]).ok();
    assert!(read_pty(&master, 10).contains("done"));
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}
