//! `--pidfd-socket PATH` (runc 1.2+) on create, run and exec: the caller gets a pidfd of
//! the container's process, one SCM_RIGHTS message on a unix socket it listens on. With
//! it, a shim can wait for and signal exactly that process, whatever happens to its pid.
//! The socket is connected before anything is created (a wrong path fails early, as
//! with --console-socket) and the pidfd is sent once the process exists.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context as _;
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};

pub struct PidfdSocket(UnixStream);

impl PidfdSocket {
    pub fn connect(path: &Path) -> anyhow::Result<PidfdSocket> {
        let s = UnixStream::connect(path)
            .with_context(|| format!("--pidfd-socket {}", path.display()))?;
        Ok(PidfdSocket(s))
    }

    pub fn send(self, pidfd: BorrowedFd<'_>) -> anyhow::Result<()> {
        let fds = [pidfd.as_raw_fd()];
        sendmsg::<()>(
            self.0.as_raw_fd(),
            &[IoSlice::new(b"pidfd")],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| anyhow::anyhow!("--pidfd-socket: sending the pidfd: {}", e.desc()))?;
        Ok(())
    }
}
