//! `--pidfd-socket` (issue 14, runc 1.2+): create, run and exec send a pidfd of the
//! container's process as one SCM_RIGHTS message; the receiver can signal exactly that
//! process through it.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use crate::common::*;

/// The pid a pidfd refers to, from its fdinfo.
fn pid_of(pidfd: &OwnedFd) -> i64 {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("not a pidfd: {info}"))
}

/// The one pidfd sent to a socket, after `run` made its sender send it.
fn received(run: impl FnOnce(&str)) -> OwnedFd {
    let dir = TempDir::new("pidfdsock");
    let path = dir.path().join("pidfd.sock");
    let listener = UnixListener::bind(&path).unwrap();
    run(path.to_str().unwrap());
    let (conn, _) = listener.accept().unwrap();
    let (msg, mut fds) = recv_message(&conn);
    assert_eq!(msg, b"pidfd");
    assert_eq!(fds.len(), 1, "one fd per message");
    fds.remove(0)
}

/// SIGKILL through the pidfd; true once the process is gone (the pidfd turns readable).
fn kill_through(pidfd: &OwnedFd) -> bool {
    use std::os::fd::AsFd;
    // SAFETY (test): a syscall on a pidfd we own; a NULL siginfo is allowed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "pidfd_send_signal: {}",
        std::io::Error::last_os_error()
    );
    let mut fds = [nix::poll::PollFd::new(
        pidfd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10_000u16)).unwrap() == 1
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn create_and_exec_send_pidfds_of_their_processes() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "100"]);
    let id = unique("pidfd");
    let init = received(|sock| {
        rt.rt(&[
            "create",
            "--pidfd-socket",
            sock,
            "--bundle",
            b.path().to_str().unwrap(),
            &id,
        ])
        .ok();
    });
    assert_eq!(pid_of(&init), rt.state(&id)["pid"].as_i64().unwrap());
    rt.rt(&["start", &id]).ok();

    let pid_file = TempDir::new("execpid");
    let pid_path = pid_file.path().join("pid");
    let exec = received(|sock| {
        rt.rt(&[
            "exec",
            "-d",
            "--pidfd-socket",
            sock,
            "--pid-file",
            pid_path.to_str().unwrap(),
            &id,
            "sleep",
            "100",
        ])
        .ok();
    });
    let exec_pid: i64 = fs::read_to_string(&pid_path).unwrap().parse().unwrap();
    assert_eq!(pid_of(&exec), exec_pid);
    assert!(kill_through(&exec), "the exec process did not die");
    assert_eq!(
        rt.status(&id),
        "running",
        "the init went with the exec process"
    );

    assert!(kill_through(&init), "the init did not die");
    rt.wait_status(&id, "stopped");
    rt.rt(&["delete", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn run_sends_the_pidfd_and_a_missing_socket_fails_early() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "100"]);
    let id = unique("pidfdrun");
    let init = received(|sock| {
        rt.rt(&[
            "run",
            "-d",
            "--pidfd-socket",
            sock,
            "--bundle",
            b.path().to_str().unwrap(),
            &id,
        ])
        .ok();
    });
    assert_eq!(pid_of(&init), rt.state(&id)["pid"].as_i64().unwrap());
    rt.rt(&["delete", "-f", &id]).ok();

    let id = unique("pidfdnone");
    rt.rt(&[
        "create",
        "--pidfd-socket",
        "/nonexistent/pidfd.sock",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ])
    .fails_with("--pidfd-socket /nonexistent/pidfd.sock: no such file or directory");
    assert_no_trace(&rt, &id, &b);
}
