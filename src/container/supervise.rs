//! A foreground `rt run` or `rt exec` stands in for the process it started: it forwards
//! the signals it gets, reaps children (as a subreaper, orphans too) and reports the
//! process's exit as its own (128+N for a death by signal N).

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{Context as _, bail};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::process;

/// Signals a foreground `rt run`/`rt exec` passes on to its process. Faults (SEGV, BUS, ...) are
/// rt's own, SIGCHLD is how it learns the container exited, KILL/STOP cannot be caught.
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGWINCH,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
];

/// The signals to block before the process exists (so none is lost) and then read from a
/// signalfd; SIGCHLD included.
pub fn forwarded_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Reaps every exited child; returns the init's exit code once it is among them.
fn reap(init: i32) -> anyhow::Result<Option<i32>> {
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == init => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == init => {
                return Ok(Some(128 + sig as i32));
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::Error::EINTR) => continue,
            Err(nix::Error::ECHILD) => bail!("the container's init is not a child of rt"),
            Err(e) => return Err(e).context("waiting for the container"),
        }
    }
}

/// Reaps the orphans this subreaper adopted from a container without a pid namespace of its
/// own, after the container was destroyed (its cgroup killed and removed): they are dying
/// or dead, and left unreaped they would be handed on as zombies to whatever reaps above
/// us, which may be slow to do it. Bounded: a child that will not die is left behind.
pub fn reap_adopted(within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        match waitpid(
            Pid::from_raw(-1),
            Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
        ) {
            Ok(WaitStatus::StillAlive) => {
                if std::time::Instant::now() >= deadline {
                    crate::debug!("children still alive after the container was destroyed");
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// Waits for `pid` (a child of this process) while forwarding signals to it through
/// its pidfd; returns its exit code.
pub fn wait_and_forward(init: i32, pidfd: &OwnedFd, set: &SigSet) -> anyhow::Result<i32> {
    use nix::poll::{PollFd, PollFlags, poll};
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    let mut shed = Shed::default();
    loop {
        if let Some(code) = reap(init)? {
            return Ok(code);
        }
        match poll(
            &mut [PollFd::new(sfd.as_fd(), PollFlags::POLLIN)],
            shed.timeout(),
        ) {
            Ok(0) => {
                shed.now();
                continue;
            }
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container"),
            Ok(_) => {}
        }
        let Some(info) = sfd.read_signal().context("reading signals")? else {
            continue;
        };
        let sig = info.ssi_signo as i32;
        if sig != libc::SIGCHLD {
            crate::debug!("forwarding signal {sig} to the container");
            let _ = process::send_signal(pidfd.as_fd(), sig);
        }
    }
}

/// As `wait_and_forward`, while proxying between the caller's terminal and the pty
/// master: the caller's terminal goes raw, its window size follows (SIGWINCH), and the
/// process's output is drained after it exits.
pub fn wait_with_terminal(
    pid: i32,
    pidfd: &OwnedFd,
    set: &SigSet,
    master: &OwnedFd,
) -> anyhow::Result<i32> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    let _raw = nix::unistd::isatty(libc::STDIN_FILENO)
        .unwrap_or(false)
        .then(crate::console::RawMode::enter);
    crate::console::copy_window_size(master.as_fd());
    let mut stdin_open = true;
    let mut exit_code = None;
    let mut shed = Shed::default();
    loop {
        if exit_code.is_none() {
            exit_code = reap(pid)?;
        }
        let stdin = std::io::stdin();
        let mut fds = vec![
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open && exit_code.is_none() {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the process is gone, only drain what it left in the pty.
        let timeout = if exit_code.is_some() {
            PollTimeout::from(100u16)
        } else {
            shed.timeout()
        };
        match poll(&mut fds, timeout) {
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container"),
            Ok(0) if exit_code.is_none() => {
                shed.now();
                continue;
            }
            Ok(0) => return Ok(exit_code.unwrap_or(0)),
            Ok(_) => {}
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        if sig_ready && let Some(info) = sfd.read_signal().context("reading signals")? {
            match info.ssi_signo as i32 {
                libc::SIGCHLD => {}
                libc::SIGWINCH => crate::console::copy_window_size(master.as_fd()),
                sig => {
                    let _ = process::send_signal(pidfd.as_fd(), sig);
                }
            }
        }
        if !crate::console::pump(master.as_fd(), stdin_ready, master_ready, &mut stdin_open)
            && let Some(code) = exit_code
        {
            return Ok(code);
        }
    }
}

/// A foreground `rt run` or `rt exec` stays for the whole life of its process, one per
/// container on a host that runs them this way: once that process has run for
/// `SHED_AFTER_MS`, rt gives back what only its start needed. The delay keeps the cost (and
/// the page faults that follow) off short-lived processes, which exit before it.
#[derive(Default)]
struct Shed {
    done: bool,
}

const SHED_AFTER_MS: u16 = 1000;

impl Shed {
    fn timeout(&self) -> nix::poll::PollTimeout {
        if self.done {
            nix::poll::PollTimeout::NONE
        } else {
            nix::poll::PollTimeout::from(SHED_AFTER_MS)
        }
    }

    fn now(&mut self) {
        if !self.done {
            self.done = true;
            shed_memory();
        }
    }
}

/// Returns free heap to the kernel and unmaps the pages of rt's own code and read-only
/// data: a static binary whose start touched most of its text (the kernel maps file
/// pages 64 KiB around each fault) holds megabytes it will not run again while it waits.
/// The waiting loop faults back in the little it uses.
fn shed_memory() {
    // SAFETY: malloc_trim only hands free chunks of the heap back; no live allocation moves.
    unsafe { libc::malloc_trim(0) };
    let Ok(maps) = procfs::process::Process::myself().and_then(|p| p.smaps()) else {
        return;
    };
    for map in maps {
        let file_backed = matches!(map.pathname, procfs::process::MMapPath::Path(_));
        let read_only = !map.perms.contains(procfs::process::MMPermissions::WRITE);
        // A page of a private mapping that was ever written (relocations in RELRO, a
        // debugger's breakpoint) is an anonymous copy: dropping it would bring back the
        // file's bytes, so only mappings with no such page qualify.
        let pristine = map.extension.map.get("Anonymous") == Some(&0);
        if !(file_backed && read_only && pristine) {
            continue;
        }
        let (start, end) = map.address;
        let Ok(len) = usize::try_from(end - start) else {
            continue;
        };
        // SAFETY: the range is a whole mapping of this process, read-only, file-backed and
        // without private copies, so its pages hold exactly the file's contents:
        // MADV_DONTNEED only drops the page table entries, and any later access faults the
        // same bytes back in from the page cache. No Rust reference is invalidated.
        let _ = unsafe {
            libc::madvise(
                start as usize as *mut libc::c_void,
                len,
                libc::MADV_DONTNEED,
            )
        };
    }
}
