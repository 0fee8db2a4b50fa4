//! The channel between `rt` and the process it is turning into a container: a
//! SOCK_SEQPACKET socketpair, one JSON message per packet. Packets keep message
//! boundaries without framing code, and the kernel reports the peer's death as EOF, which
//! is how each side notices that the other one is gone.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};

/// Largest packet either side sends; error texts are truncated to fit. Small because
/// every receive zeroes a buffer this size: 64 KiB would be 16 pages of peak RSS in both
/// rt and the container's init for messages that are a few dozen bytes (an error line is
/// the longest).
const MAX_PACKET: usize = 8 * 1024;

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
    /// parent → init (when the init moved itself into its v1 cgroups): linux.resources,
    /// device rules included, are written; device nodes may be made now.
    LimitsSet,
    /// init → parent: the init is in its namespaces with its rootfs mounted; the parent's
    /// turn: move linux.netDevices in, then run the prestart and createRuntime hooks.
    HostSteps,
    /// parent → init: those steps succeeded.
    HostStepsDone,
    /// init → parent: everything is in place; only `start` is missing.
    Ready,
    /// parent → init: the container is recorded as created. With `start_now` (rt run)
    /// the init proceeds at once instead of waiting on its start socket.
    Commit { start_now: bool },
    /// init/exec child → parent, with the seccomp notify fd attached (SCM_RIGHTS): pass
    /// it to linux.seccomp.listenerPath.
    SeccompFd,
    /// Either way: the step failed; the text names the field and the reason.
    Error(String),
}

pub struct Channel(OwnedFd);

/// A connected SOCK_SEQPACKET socket (the start socket's connections).
impl From<OwnedFd> for Channel {
    fn from(fd: OwnedFd) -> Channel {
        Channel(fd)
    }
}

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
    fn encode(msg: &Msg) -> io::Result<Vec<u8>> {
        let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
        if bytes.len() <= MAX_PACKET {
            return Ok(bytes);
        }
        let Msg::Error(text) = msg else {
            return Err(io::Error::other("sync message too large"));
        };
        let mut cut = MAX_PACKET / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        serde_json::to_vec(&Msg::Error(text[..cut].to_owned())).map_err(io::Error::other)
    }

    fn send_with(&self, msg: &Msg, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let bytes = Self::encode(msg)?;
        let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
        let rights = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
        loop {
            match sendmsg::<()>(
                self.0.as_raw_fd(),
                &[IoSlice::new(&bytes)],
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        self.send_with(msg, None)
    }

    /// Sends `msg` with a copy of `fd` attached.
    pub fn send_fd(&self, msg: &Msg, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.send_with(msg, Some(fd))
    }

    /// The next message and the fd that came with it, or None when the peer has closed its
    /// end (exited or exec'd).
    pub fn recv_with_fd(&self) -> io::Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let mut reset = false;
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => {
                    let mut fd = None;
                    for c in m.cmsgs()? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for raw in fds {
                                // SAFETY: fds that arrive in SCM_RIGHTS are new in this
                                // process and owned by nothing else.
                                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (m.bytes, fd);
                }
                Err(nix::Error::EINTR) => continue,
                // The peer closed its end with messages of ours unread (LimitsSet to an init
                // that failed before it read it): the kernel reports ECONNRESET before the
                // messages the peer sent last, such as its Error. Reported once; the next
                // read returns those, then end-of-file.
                Err(nix::Error::ECONNRESET) if !reset => {
                    reset = true;
                    continue;
                }
                Err(nix::Error::ECONNRESET) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(|m| Some((m, fd)))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The next message (an fd that came with it is closed), or None when the peer has
    /// closed its end.
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        Ok(self.recv_with_fd()?.map(|(m, _)| m))
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

    /// The init fails before it reads LimitsSet: its last words must still arrive, although
    /// the kernel reports ECONNRESET first (3 in 100 failed creates lost their error).
    #[test]
    fn last_message_of_a_peer_that_left_ours_unread_arrives() {
        let (parent, init) = pair().unwrap();
        parent.send(&Msg::LimitsSet).unwrap();
        init.send(&Msg::Error("mounts[7]: no such device".into()))
            .unwrap();
        drop(init);
        assert_eq!(
            parent.recv().unwrap(),
            Some(Msg::Error("mounts[7]: no such device".into()))
        );
        assert_eq!(parent.recv().unwrap(), None);
    }

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
    fn fds_travel_with_their_message() {
        let (a, b) = pair().unwrap();
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        a.send_fd(&Msg::SeccompFd, f.as_fd()).unwrap();
        a.send(&Msg::Ready).unwrap();
        let (m, fd) = b.recv_with_fd().unwrap().unwrap();
        assert_eq!(m, Msg::SeccompFd);
        let fd = fd.expect("an fd arrives");
        assert_ne!(fd.as_raw_fd(), f.as_raw_fd());
        let (m, fd) = b.recv_with_fd().unwrap().unwrap();
        assert_eq!((m, fd.is_none()), (Msg::Ready, true));
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
