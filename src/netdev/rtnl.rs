//! A small synchronous rtnetlink client: the few requests moving a network device
//! between namespaces takes. Messages are built and parsed by netlink-packet-route; the
//! socket is nix's. A socket stays in the network namespace it was made in, whatever its
//! user does later: `in_netns` makes one in another namespace from a short-lived thread,
//! so rt's own threads never leave the host's namespace.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily as Family, RouteNetlinkMessage};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, connect, recv, send,
    socket,
};

pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

/// A link as moving it needs it: its index where it is, whether it is up, and its
/// addresses of global scope (the kernel drops every address of a device that changes
/// namespace; link- and host-scoped ones are the kernel's to make again).
pub struct Link {
    pub index: u32,
    pub up: bool,
    pub addresses: Vec<AddressMessage>,
}

impl Link {
    /// The addresses as `address/prefix` text, to be recorded.
    pub fn cidrs(&self) -> Vec<String> {
        self.addresses
            .iter()
            .filter_map(|a| {
                a.attributes.iter().find_map(|at| match at {
                    AddressAttribute::Local(ip) | AddressAttribute::Address(ip) => {
                        Some(format!("{ip}/{}", a.header.prefix_len))
                    }
                    _ => None,
                })
            })
            .collect()
    }

    /// A link as recorded by `cidrs` (its index is the caller's to give).
    pub fn recorded(cidrs: &[String], up: bool) -> Link {
        let addresses = cidrs
            .iter()
            .filter_map(|c| {
                let (ip, len) = c.split_once('/')?;
                let ip: std::net::IpAddr = ip.parse().ok()?;
                let mut a = AddressMessage::default();
                a.header.prefix_len = len.parse().ok()?;
                a.header.scope = AddressScope::Universe;
                a.header.family = if ip.is_ipv4() {
                    // IPv4 wants the local address; the kernel takes it as the peer too.
                    a.attributes.push(AddressAttribute::Local(ip));
                    Family::Inet
                } else {
                    Family::Inet6
                };
                a.attributes.push(AddressAttribute::Address(ip));
                Some(a)
            })
            .collect();
        Link {
            index: 0,
            up,
            addresses,
        }
    }
}

impl Rtnl {
    /// A socket in the caller's network namespace.
    pub fn here() -> io::Result<Rtnl> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        connect(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Rtnl { fd, seq: 0 })
    }

    /// A socket in the network namespace `netns` refers to.
    pub fn in_netns(netns: BorrowedFd) -> io::Result<Rtnl> {
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET)?;
                Rtnl::here()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the netlink thread panicked")))
        })
    }

    /// Sends one request and collects the replies up to its acknowledgement (or, for a
    /// dump, its end); a negative acknowledgement is its errno.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        let end = if flags & NLM_F_DUMP == NLM_F_DUMP {
            0
        } else {
            NLM_F_ACK
        };
        header.flags = NLM_F_REQUEST | flags | end;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        send(self.fd.as_raw_fd(), &out, MsgFlags::empty())?;

        let mut replies = Vec::new();
        // A dump's parts are at most a page or two each; 64 KiB holds any.
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut rest = &buf[..n];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < 16 || len > rest.len() {
                    return Err(io::Error::other("a truncated netlink message"));
                }
                let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                    .map_err(|e| io::Error::other(format!("an unreadable netlink message: {e}")))?;
                rest = &rest[len.next_multiple_of(4).min(rest.len())..];
                if parsed.header.sequence_number != self.seq {
                    continue;
                }
                match parsed.payload {
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    _ => {}
                }
            }
        }
    }

    /// The link named `name` with its global addresses; ENODEV when there is none.
    pub fn link(&mut self, name: &str) -> io::Result<Link> {
        let mut get = LinkMessage::default();
        get.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let found = self
            .request(RouteNetlinkMessage::GetLink(get), 0)?
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        let index = found.header.index;
        let addresses = self
            .request(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                NLM_F_DUMP,
            )?
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a)
                    if a.header.index == index && a.header.scope == AddressScope::Universe =>
                {
                    Some(a)
                }
                _ => None,
            })
            .collect();
        Ok(Link {
            index,
            up: found.header.flags.contains(LinkFlags::Up),
            addresses,
        })
    }

    /// Moves link `index` into the network namespace `netns` under `name`, in one request:
    /// no other process ever sees it there under its old name.
    pub fn move_link(&mut self, index: u32, netns: BorrowedFd, name: &str) -> io::Result<()> {
        let mut set = LinkMessage::default();
        set.header.index = index;
        set.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        set.attributes.push(LinkAttribute::IfName(name.to_owned()));
        self.request(RouteNetlinkMessage::SetLink(set), 0).map(drop)
    }

    /// Gives link `index` the addresses `from` had, and brings it up if `from` was up.
    pub fn restore(&mut self, index: u32, from: &Link) -> io::Result<()> {
        for a in &from.addresses {
            let mut add = AddressMessage::default();
            add.header = a.header.clone();
            add.header.index = index;
            // A label must begin with the device's name, which may have changed: the
            // kernel's default (the name itself) goes instead. Cache info (lifetimes) and
            // the kernel's flags are the kernel's.
            add.attributes = a
                .attributes
                .iter()
                .filter(|at| {
                    matches!(
                        at,
                        AddressAttribute::Address(_)
                            | AddressAttribute::Local(_)
                            | AddressAttribute::Broadcast(_)
                    )
                })
                .cloned()
                .collect();
            match self.request(
                RouteNetlinkMessage::NewAddress(add),
                NLM_F_CREATE | NLM_F_EXCL,
            ) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                other => other.map(drop)?,
            }
        }
        if from.up {
            let mut up = LinkMessage::default();
            up.header.index = index;
            up.header.flags = LinkFlags::Up;
            up.header.change_mask = LinkFlags::Up;
            self.request(RouteNetlinkMessage::SetLink(up), 0)?;
        }
        Ok(())
    }
}
