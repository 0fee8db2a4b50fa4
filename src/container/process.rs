//! A container process seen from rt: the first settings rt makes on a new one (the init
//! or an exec process) before it lets it go on, where its terminal goes, its pid file, and
//! signals that reach exactly the recorded process.

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::ProcId;

/// process.execCPUAffinity.initial of an exec process (not the init's: runtime spec): set
/// by rt on the new process before it joins its cgroups (it sets `final`, or every CPU of
/// its cpuset, itself before execve), so that it runs where the caller wants while it is
/// set up.
pub fn initial_affinity(
    process: Option<&oci_spec::runtime::Process>,
    pid: i32,
) -> anyhow::Result<()> {
    if let Some(list) = process
        .and_then(|p| p.exec_cpu_affinity().as_ref())
        .and_then(|a| a.initial().as_deref())
    {
        let cpus = crate::init::sched::set_affinity(pid, list, "process.execCPUAffinity.initial")?;
        // In runc's words, which it prints for `initial` (cpu_affinity.bats greps for them).
        crate::debug!(
            "nsexec: affinity: {}",
            crate::init::sched::cpu_mask_hex(&cpus)
        );
    }
    Ok(())
}

/// process.oomScoreAdj, set by rt (root of the host) on the new process — the init or an
/// exec process — before it goes on: one inside a user namespace could not lower its own
/// (that takes CAP_SYS_RESOURCE in the host's user namespace), as runc's can't either
/// once in it, which is why runc writes it first. Through a private procfs (procfs.rs):
/// the process waits for Go, so its pid is its own.
pub fn initial_oom_score_adj(
    process: Option<&oci_spec::runtime::Process>,
    pid: i32,
) -> anyhow::Result<()> {
    if let Some(adj) = process.and_then(|p| p.oom_score_adj()) {
        let pid = u32::try_from(pid).map_err(|_| anyhow!("pid {pid}"))?;
        crate::procfs::write(
            crate::procfs::Base::ProcPid(pid),
            "oom_score_adj",
            adj.to_string().as_bytes(),
            "process.oomScoreAdj",
        )?;
    }
    Ok(())
}

/// Writes the pid file atomically (readers never see a partial number).
pub fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let path =
        std::path::absolute(path).with_context(|| format!("--pid-file {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let tmp = dir.join(format!(
        ".{}.rt-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(pid.to_string().as_bytes())?;
        fs::rename(&tmp, &path)
    };
    write().with_context(|| format!("--pid-file {}", path.display()))
}

/// Where a new process's pty master goes: to the caller's --console-socket, or, without
/// one, to rt's own end of a socketpair (rt proxies the terminal). Returns the end the
/// process sends the master to and rt's end, if rt proxies. None without a terminal.
pub fn console_channel(
    terminal: bool,
    console_socket: Option<&Path>,
) -> anyhow::Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match (terminal, console_socket) {
        (false, _) => Ok((None, None)),
        (true, Some(path)) => {
            let s = UnixStream::connect(path)
                .with_context(|| format!("--console-socket {}", path.display()))?;
            Ok((Some(OwnedFd::from(s)), None))
        }
        (true, None) => {
            let (ours, theirs) = UnixStream::pair().context("terminal: socketpair")?;
            Ok((Some(OwnedFd::from(theirs)), Some(OwnedFd::from(ours))))
        }
    }
}

/// Sends `sig` to a process only if it is still the one recorded (pid and start time), via
/// a pidfd so that the check and the kill refer to the same process.
pub fn signal_proc(p: ProcId, sig: i32) -> std::io::Result<bool> {
    let Some(rpid) = rustix::process::Pid::from_raw(p.pid) else {
        return Ok(false);
    };
    let pidfd = match rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if super::proc_start_time(p.pid) != Some(p.start) {
        return Ok(false);
    }
    send_signal(pidfd.as_fd(), sig)
}

/// pidfd_send_signal(2): the signal reaches exactly the process the pidfd refers to.
pub fn send_signal(pidfd: std::os::fd::BorrowedFd<'_>, sig: i32) -> std::io::Result<bool> {
    // SAFETY: plain syscall on a valid pidfd; a NULL siginfo means "as kill(2) would".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(true)
}

/// Waits until the recorded process has exited (zombie or gone).
pub fn wait_gone(p: ProcId, timeout: Duration) -> anyhow::Result<()> {
    let Some(rpid) = rustix::process::Pid::from_raw(p.pid) else {
        return Ok(());
    };
    let pidfd = match rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(_) => return Ok(()),
    };
    if super::proc_start_time(p.pid) != Some(p.start) {
        return Ok(());
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "process {} did not exit within {}s of SIGKILL",
                p.pid,
                timeout.as_secs()
            );
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return Ok(()),
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container to exit"),
        }
    }
}
