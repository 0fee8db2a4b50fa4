//! Terminals: a pty allocated inside the container's own devpts instance, its master sent
//! over the console socket (one SCM_RIGHTS message carrying one fd, which is what
//! containerd's receiver expects), and, for a foreground `rt run`/`rt exec` without a
//! console socket, rt's own proxy between the caller's terminal and that master.
//!
//! The slave is reached with TIOCGPTPEER from the master, never through a /dev/pts/N
//! path: a path inside the container could be swapped for a symlink between allocating
//! the pty and opening it (CVE-2025-52565).

use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{Ctx, StepError};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// A pty from the devpts instance mounted at `root`/dev/pts (ptmx resolved inside `root`),
/// sized as process.consoleSize asks and owned by the process's user; with
/// `relay_verbatim` (see `relay_verbatim()`) it leaves newlines as written. Settled here,
/// before the master leaves: the process may write before rt's relay has the master.
pub fn open_in(
    root: &pathrs::Root,
    process: &oci_spec::runtime::Process,
    relay_verbatim: bool,
) -> Result<Pty, StepError> {
    use pathrs::flags::OpenFlags;
    let ptmx = root
        .resolve("dev/pts/ptmx")
        .ctx(|| "process.terminal: the container has no devpts at /dev/pts")?
        .reopen(OpenFlags::O_RDWR | OpenFlags::O_NOCTTY | OpenFlags::O_CLOEXEC)
        .ctx(|| "process.terminal: opening /dev/pts/ptmx")?;
    let pty = open_pty(ptmx)?;
    if let Some(size) = process.console_size() {
        set_size(
            pty.master.as_fd(),
            size.height() as u16,
            size.width() as u16,
        )?;
    }
    give_to_user(pty.slave.as_fd(), process)?;
    if relay_verbatim {
        clear_onlcr(pty.slave.as_fd())?;
    }
    Ok(pty)
}

/// Makes the process's user the owner of its terminal, as a login does (and runc): it can
/// then change the terminal's settings and mode itself. The group stays the one devpts
/// gave (its gid= option, tty in the usual configs).
fn give_to_user(
    slave: BorrowedFd<'_>,
    process: &oci_spec::runtime::Process,
) -> Result<(), StepError> {
    let uid = process.user().uid();
    if uid == 0 {
        return Ok(());
    }
    rustix::fs::fchown(slave, Some(rustix::fs::Uid::from_raw(uid)), None)
        .map_err(std::io::Error::from)
        .ctx(|| format!("process.terminal: giving the terminal to uid {uid}"))
}

/// Allocates a pty from the devpts instance that `ptmx` (an open `ptmx` of that
/// instance) belongs to.
pub fn open_pty(ptmx: File) -> Result<Pty, StepError> {
    let st = nix::sys::statfs::fstatfs(&ptmx).ctx(|| "terminal: inspecting ptmx")?;
    if st.filesystem_type().0 as i64 != libc::DEVPTS_SUPER_MAGIC {
        return Err(StepError::msg(
            "terminal",
            "ptmx is not on a devpts file system",
        ));
    }
    let master = OwnedFd::from(ptmx);
    rustix::pty::unlockpt(&master).ctx(|| "terminal: unlocking the pty")?;
    // TIOCGPTPEER: the slave of exactly this master, without a path lookup in a devpts the
    // container could have replaced.
    use rustix::pty::OpenptFlags;
    let slave = rustix::pty::ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .ctx(|| "terminal: opening the pty's slave")?;
    Ok(Pty { master, slave })
}

/// Whether a pty that rt relays to its own stdout should leave newlines alone: yes when
/// that stdout is not a terminal (a pipe or a file takes the container's output as it was
/// written, "\n" and not "\r\n", as with runc). On a terminal the pty keeps translating
/// them, which the caller's terminal in raw mode needs.
pub fn relay_verbatim() -> bool {
    !nix::unistd::isatty(libc::STDOUT_FILENO).unwrap_or(false)
}

/// Turns off the pty's "\n" to "\r\n" translation (ONLCR).
fn clear_onlcr(fd: BorrowedFd<'_>) -> Result<(), StepError> {
    let mut t = termios::tcgetattr(fd).ctx(|| "terminal: reading its settings")?;
    t.output_flags.remove(termios::OutputFlags::ONLCR);
    termios::tcsetattr(fd, SetArg::TCSANOW, &t).ctx(|| "terminal: clearing ONLCR")
}

/// Sets the window size of a terminal (process.consoleSize, or the caller's terminal).
pub fn set_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), StepError> {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, ws).ctx(|| "process.consoleSize")
}

fn get_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(fd).ok()?;
    Some((ws.ws_row, ws.ws_col))
}

/// Sends the master as runc does: one message, the fd in SCM_RIGHTS, the device's name as
/// the payload. The socket is shut down right after (it is used for nothing else), so the
/// receiver sees the end of the conversation at once instead of when the last copy of the
/// socket closes (this process's, at execve).
pub fn send_master(socket: BorrowedFd<'_>, master: &OwnedFd) -> Result<(), StepError> {
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let name = b"/dev/ptmx";
    let sent = sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(name)],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .ctx(|| "--console-socket: sending the terminal");
    let _ = nix::sys::socket::shutdown(socket.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    sent.map(|_| ())
}

/// Receives a master sent by `send_master`.
pub fn recv_master(socket: BorrowedFd<'_>) -> Result<OwnedFd, StepError> {
    let mut buf = [0u8; 256];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ctx(|| "terminal: receiving the pty master")?;
    for c in msg.cmsgs().ctx(|| "terminal: receiving the pty master")? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the fd arrived in SCM_RIGHTS and is now ours alone.
            return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    Err(StepError::msg("terminal", "no pty master arrived"))
}

/// Makes `slave` the controlling terminal and stdio of the calling process (just before
/// execve): a new session, TIOCSCTTY, and fds 0, 1, 2.
pub fn become_terminal_process(slave: &OwnedFd) -> Result<(), StepError> {
    nix::unistd::setsid().ctx(|| "terminal: setsid")?;
    rustix::process::ioctl_tiocsctty(slave)
        .ctx(|| "terminal: making it the controlling terminal")?;
    for target in 0..=2 {
        nix::unistd::dup2(slave.as_raw_fd(), target).ctx(|| "terminal: attaching stdio")?;
    }
    Ok(())
}

/// The caller's terminal in raw mode for as long as this lives; restored on drop.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Copies the caller's window size to the pty (at start and on SIGWINCH).
pub fn copy_window_size(master: BorrowedFd<'_>) {
    if let Some((rows, cols)) = get_size(io::stdin().as_fd()) {
        let _ = set_size(master, rows, cols);
    }
}

/// One round of the proxy: moves what is readable between stdin and the master.
/// Returns false once the master has reached its end (the process side closed).
pub fn pump(
    master: BorrowedFd<'_>,
    stdin_ready: bool,
    master_ready: bool,
    stdin_open: &mut bool,
) -> bool {
    let mut buf = [0u8; 8192];
    if stdin_ready && *stdin_open {
        match nix::unistd::read(libc::STDIN_FILENO, &mut buf) {
            Ok(0) | Err(_) => *stdin_open = false,
            Ok(n) => write_all(master, &buf[..n]),
        }
    }
    if master_ready {
        match nix::unistd::read(master.as_raw_fd(), &mut buf) {
            // EIO: every slave fd is closed, the process side is gone.
            Ok(0) | Err(_) => return false,
            Ok(n) => write_all(io::stdout().as_fd(), &buf[..n]),
        }
    }
    true
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EINTR) => continue,
            Err(_) => return,
        }
    }
}
