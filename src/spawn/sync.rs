//! The channel between `rt` and the process it is turning into a container: a
//! SOCK_SEQPACKET socketpair, one JSON message per packet. Packets keep message
//! boundaries without framing code, and the kernel reports the peer's death as EOF, which
//! is how each side notices that the other one is gone.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use serde::{Deserialize, Serialize};

/// Largest packet either side sends; error texts are truncated to fit.
const MAX_PACKET: usize = 64 * 1024;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// parent → intermediate: the user namespace is mapped and the cgroup joined.
    Mapped,
    /// intermediate → parent: the new user namespace exists; write its id maps.
    MapIds,
    /// intermediate → parent: host pid of the container's init.
    InitPid(i32),
    /// parent → init: ids mapped, cgroup joined; carries the init's host pid.
    Go(i32),
    /// init → parent: run the prestart and createRuntime hooks now.
    RunHooks,
    /// parent → init: those hooks succeeded.
    HooksDone,
    /// init → parent: everything is in place; only `start` is missing.
    Ready,
    /// parent → init: the container is recorded as created. With `start_now` (rt run)
    /// the init proceeds at once instead of waiting on its start socket.
    Commit { start_now: bool },
    /// Either way: the step failed; the text names the field and the reason.
    Error(String),
}

pub struct Channel(OwnedFd);

pub fn pair() -> io::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        let mut bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
        if bytes.len() > MAX_PACKET {
            if let Msg::Error(text) = msg {
                let mut cut = MAX_PACKET / 2;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                bytes = serde_json::to_vec(&Msg::Error(text[..cut].to_owned()))
                    .map_err(io::Error::other)?;
            } else {
                return Err(io::Error::other("sync message too large"));
            }
        }
        loop {
            match send(self.0.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next message, or None when the peer has closed its end (exited or exec'd).
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        let mut buf = vec![0u8; MAX_PACKET];
        let n = loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => break n,
                Err(nix::Error::EINTR) => continue,
                // The peer died with data unread on our side.
                Err(nix::Error::ECONNRESET) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_eof() {
        let (a, b) = pair().unwrap();
        a.send(&Msg::Go(42)).unwrap();
        a.send(&Msg::Commit { start_now: true }).unwrap();
        a.send(&Msg::Error("x: y".into())).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Msg::Go(42)));
        assert_eq!(b.recv().unwrap(), Some(Msg::Commit { start_now: true }));
        assert_eq!(b.recv().unwrap(), Some(Msg::Error("x: y".into())));
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }

    #[test]
    fn huge_errors_are_truncated_not_lost() {
        let (a, b) = pair().unwrap();
        a.send(&Msg::Error("é".repeat(MAX_PACKET))).unwrap();
        match b.recv().unwrap() {
            Some(Msg::Error(t)) => assert!(!t.is_empty() && t.len() <= MAX_PACKET),
            other => panic!("{other:?}"),
        }
    }
}
