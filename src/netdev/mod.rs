//! linux.netDevices: host network devices moved into the container's network namespace
//! (renamed on the way when the config says so) with their addresses of global scope and
//! their up state, as runc 1.4 does. The kernel drops a device's addresses when it
//! changes namespace and destroys a virtual device (dummy, veth, macvlan...) whose
//! namespace dies: so when rt made the namespace, it holds it with a bind mount in the
//! container's state directory (`netns`), and `delete` moves each device back under its
//! host name the same way before it lets the namespace go. A namespace joined by path is
//! its owner's: its devices stay there after `delete` (runc's rule), and only a create
//! that failed halfway takes back what it moved.
//!
//! The plan is recorded in the container's state before anything is moved, so a `delete`
//! after rt was killed at any point finds every device wherever it got to.

mod rtnl;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, LinuxNetDevice, Spec};
use serde::{Deserialize, Serialize};

use rtnl::Rtnl;

/// The bind of the container's network namespace in its state directory.
pub const HELD: &str = "netns";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct NetDevRecord {
    pub netns: Netns,
    /// By host name.
    pub devices: Vec<Moved>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Netns {
    /// rt makes the namespace and holds it at `<state dir>/netns` from the move on.
    Held,
    /// The namespace at this path (linux.namespaces), someone else's.
    Joined(PathBuf),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The device's name on the host (the key in linux.netDevices).
    pub host: String,
    /// Its name in the container.
    pub name: String,
    #[serde(default, skip_serializing_if = "Where::is_host")]
    pub at: Where,
    /// While `Moving` or `Leaving`: its addresses (`address/prefix`) and up state where it
    /// was, which the kernel drops with the move, for `release` to give back if rt dies
    /// before it copied them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub up: bool,
}

/// Where a device is, as recorded around each move: `release` takes back only what may
/// have been moved, so never a device of the container's own that bears the same name.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Where {
    #[default]
    Host,
    /// Being moved in (rt may have been killed during the move): wherever it is.
    Moving,
    Container,
    /// Being moved back to the host.
    Leaving,
}

impl Where {
    fn is_host(&self) -> bool {
        *self == Where::Host
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("linux.netDevices{field}: {reason}")]
pub struct NetDevError {
    /// After "linux.netDevices": "" or ".eth1" or ".eth1.name".
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> NetDevError {
    NetDevError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn io_err(field: String, what: &str) -> impl FnOnce(io::Error) -> NetDevError + '_ {
    move |e| err(field, format!("{what}: {}", crate::error::io_text(&e)))
}

/// The kernel's rule for interface names (dev_valid_name): 1 to 15 bytes, not "." or
/// "..", no '/', ':' or white space.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err("an interface name has 1 to 15 bytes".into());
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err("not an interface name (no /, : or blanks; not . or ..)".into());
    }
    Ok(())
}

/// What linux.netDevices asks for, checked on its own: valid names, distinct in the
/// container, and a network namespace of the container's (moving into the host's own
/// would move nothing). None when it asks for nothing.
pub fn plan(spec: &Spec) -> Result<Option<NetDevRecord>, NetDevError> {
    let Some(linux) = spec.linux() else {
        return Ok(None);
    };
    let Some(wanted) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let netns = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .ok_or_else(|| {
            err(
                "",
                "needs a network namespace of the container's (linux.namespaces has no network entry)",
            )
        })?;
    let netns = match netns.path() {
        Some(p) if !p.as_os_str().is_empty() => Netns::Joined(p.clone()),
        _ => Netns::Held,
    };
    Ok(Some(NetDevRecord {
        netns,
        devices: devices(wanted)?,
    }))
}

fn devices(wanted: &HashMap<String, LinuxNetDevice>) -> Result<Vec<Moved>, NetDevError> {
    let mut hosts: Vec<&String> = wanted.keys().collect();
    hosts.sort();
    let mut names = BTreeSet::new();
    let mut moved = Vec::with_capacity(hosts.len());
    for host in hosts {
        check_name(host).map_err(|r| err("", format!("{}: {r}", crate::error::quoted(host))))?;
        let name = match wanted[host].name().as_deref().filter(|n| !n.is_empty()) {
            Some(n) => {
                check_name(n).map_err(|r| {
                    err(
                        format!(".{host}.name"),
                        format!("{}: {r}", crate::error::quoted(n)),
                    )
                })?;
                n.to_owned()
            }
            None => host.clone(),
        };
        if !names.insert(name.clone()) {
            return Err(err(
                format!(".{host}"),
                format!(
                    "{} is the container's name of another device too",
                    crate::error::quoted(&name)
                ),
            ));
        }
        moved.push(Moved {
            host: host.clone(),
            name,
            at: Where::Host,
            addresses: Vec::new(),
            up: false,
        });
    }
    Ok(moved)
}

/// Before anything is made: the host can do it (root, each device there).
pub fn check_host(record: &NetDevRecord) -> Result<(), NetDevError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(err(
            "",
            "moving a host's network device needs root on the host",
        ));
    }
    let mut host = Rtnl::here().map_err(io_err(String::new(), "rtnetlink"))?;
    for d in &record.devices {
        host.link(&d.host).map_err(|e| {
            let reason = if e.raw_os_error() == Some(libc::ENODEV) {
                "no such network device on the host".to_owned()
            } else {
                crate::error::io_text(&e)
            };
            err(format!(".{}", d.host), reason)
        })?;
    }
    Ok(())
}

/// Binds the network namespace of `pid` (the container's init, which rt made it for) at
/// `dir/netns`, so that it outlives the container's processes until `release`.
pub fn hold(pid: i32, dir: &Path) -> Result<(), NetDevError> {
    let at = dir.join(HELD);
    let field = String::new();
    File::create(&at).map_err(io_err(field.clone(), "holding the network namespace"))?;
    nix::mount::mount(
        Some(Path::new(&format!("/proc/{pid}/ns/net"))),
        &at,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| io_err(field, "holding the network namespace")(e.into()))
}

/// Moves each device into the network namespace of `pid`. Each name must be free there
/// first: then whatever has that name in the namespace later is the device moved in, and
/// `release` takes back exactly those (never the container's own `lo`).
/// `save` records the devices' whereabouts before and after each move.
pub fn move_in(
    pid: i32,
    record: &mut NetDevRecord,
    save: &mut dyn FnMut(&NetDevRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&ns_path).map_err(io_err(String::new(), &ns_path))?;
    let mut host = Rtnl::here().map_err(io_err(String::new(), "rtnetlink"))?;
    let mut inside =
        Rtnl::in_netns(netns.as_fd()).map_err(io_err(String::new(), "rtnetlink inside"))?;
    for d in &record.devices {
        match inside.link(&d.name) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
            Err(e) => return Err(io_err(format!(".{}", d.host), "in the container")(e).into()),
            Ok(_) => {
                return Err(err(
                    format!(".{}", d.host),
                    format!(
                        "{} is taken in the container's network namespace",
                        crate::error::quoted(&d.name)
                    ),
                )
                .into());
            }
        }
    }
    for i in 0..record.devices.len() {
        let d = record.devices[i].clone();
        let field = format!(".{}", d.host);
        let link = host
            .link(&d.host)
            .map_err(io_err(field.clone(), "on the host"))?;
        let dev = &mut record.devices[i];
        (dev.at, dev.addresses, dev.up) = (Where::Moving, link.cidrs(), link.up);
        save(record)?;
        if let Err(e) = host.move_link(link.index, netns.as_fd(), &d.name) {
            record.devices[i].at = Where::Host;
            save(record)?;
            return Err(io_err(field, "moving it into the container")(e).into());
        }
        crate::fault::point("create: a network device moved");
        let index = inside
            .link(&d.name)
            .map_err(io_err(field.clone(), "in the container"))?
            .index;
        inside
            .restore(index, &link)
            .map_err(io_err(field, "setting its addresses in the container"))?;
        let dev = &mut record.devices[i];
        (dev.at, dev.addresses, dev.up) = (Where::Container, Vec::new(), false);
        save(record)?;
    }
    Ok(())
}

/// Gives the devices back, as far as they are the host's to have back: from a held
/// namespace always, from a joined one only when create failed (`failed`). Then lets the
/// held namespace go. Every device is tried; the first failure is returned, and then the
/// namespace stays held so that a later `delete` can try again (a device whose host name
/// was taken meanwhile would otherwise be destroyed with the namespace). `save` records
/// each device's whereabouts before and after its move.
pub fn release(
    dir: &Path,
    record: &mut NetDevRecord,
    failed: bool,
    save: &mut dyn FnMut(&NetDevRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let held = dir.join(HELD);
    let netns = match &record.netns {
        Netns::Held => match File::open(&held) {
            Ok(f) if is_netns(&f) => Some(f),
            _ => None,
        },
        Netns::Joined(path) if failed => File::open(path).ok().filter(is_netns),
        Netns::Joined(_) => None,
    };
    let joined_and_kept = matches!(record.netns, Netns::Joined(_)) && !failed;
    if !joined_and_kept {
        move_out(netns.as_ref(), record, save)?;
    }
    if record.netns == Netns::Held {
        let field = String::new();
        match nix::mount::umount2(&held, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => {
                return Err(io_err(field, "releasing the network namespace")(e.into()).into());
            }
        }
        match std::fs::remove_file(&held) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_err(field, "releasing the network namespace")(e).into());
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_netns(f: &File) -> bool {
    nix::sys::statfs::fstatfs(f).is_ok_and(|s| s.filesystem_type().0 == libc::NSFS_MAGIC)
}

/// Each device not on the host goes back under its host name with the addresses and up
/// state it has in the container; one rt died moving in gets the host's own as recorded
/// too, and one rt died moving out (no longer in `netns`, or no `netns` left) gets what
/// was recorded before that move.
fn move_out(
    netns: Option<&File>,
    record: &mut NetDevRecord,
    save: &mut dyn FnMut(&NetDevRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let here = File::open("/proc/thread-self/ns/net")
        .map_err(io_err(String::new(), "/proc/thread-self/ns/net"))?;
    let mut host = Rtnl::here().map_err(io_err(String::new(), "rtnetlink"))?;
    let mut inside = netns
        .map(|ns| Rtnl::in_netns(ns.as_fd()))
        .transpose()
        .map_err(io_err(String::new(), "rtnetlink inside"))?;
    let mut first = None;
    for i in 0..record.devices.len() {
        let d = record.devices[i].clone();
        if d.at == Where::Host {
            continue;
        }
        let field = format!(".{}", d.host);
        let mut back = || -> anyhow::Result<()> {
            let found = match inside.as_mut().map(|r| r.link(&d.name)) {
                Some(Ok(link)) => Some(link),
                // Never moved in (create stopped before), or the container removed it.
                Some(Err(e)) if e.raw_os_error() == Some(libc::ENODEV) => None,
                Some(Err(e)) => return Err(io_err(field.clone(), "in the container")(e).into()),
                None => None,
            };
            let restore_recorded = |host: &mut Rtnl, index| {
                host.restore(index, &rtnl::Link::recorded(&d.addresses, d.up))
                    .map_err(io_err(field.clone(), "setting its addresses on the host"))
            };
            match (found, inside.as_mut()) {
                (Some(link), Some(inside)) => {
                    let dev = &mut record.devices[i];
                    if d.at == Where::Container {
                        (dev.addresses, dev.up) = (link.cidrs(), link.up);
                    }
                    dev.at = Where::Leaving;
                    save(record)?;
                    inside
                        .move_link(link.index, here.as_fd(), &d.host)
                        .map_err(io_err(field.clone(), "moving it back to the host"))?;
                    crate::fault::point("delete: a network device moved back");
                    let index = host
                        .link(&d.host)
                        .map_err(io_err(field.clone(), "on the host"))?
                        .index;
                    host.restore(index, &link)
                        .map_err(io_err(field.clone(), "setting its addresses on the host"))?;
                    if d.at != Where::Container {
                        // rt died moving it: what was recorded then goes back too.
                        restore_recorded(&mut host, index)?;
                    }
                }
                _ if d.at == Where::Leaving => {
                    // rt died after moving it back, maybe before its addresses.
                    if let Ok(h) = host.link(&d.host) {
                        restore_recorded(&mut host, h.index)?;
                    }
                }
                _ => {}
            }
            let dev = &mut record.devices[i];
            (dev.at, dev.addresses, dev.up) = (Where::Host, Vec::new(), false);
            save(record)
        };
        if let Err(e) = back() {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(linux: serde_json::Value) -> Spec {
        let mut v = serde_json::json!({"ociVersion": "1.2.0", "root": {"path": "rootfs"}});
        v["linux"] = linux;
        serde_json::from_value(v).expect("test spec parses")
    }

    #[test]
    fn plans_name_each_device_once_in_the_container() {
        let s = spec(serde_json::json!({
            "namespaces": [{"type": "network"}],
            "netDevices": {"eth1": {"name": "ctr0"}, "dummy0": {}, "eth2": {"name": ""}}
        }));
        let r = plan(&s).unwrap().unwrap();
        assert_eq!(r.netns, Netns::Held);
        let pairs: Vec<_> = r
            .devices
            .iter()
            .map(|m| (m.host.as_str(), m.name.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("dummy0", "dummy0"), ("eth1", "ctr0"), ("eth2", "eth2")]
        );
        let joined = spec(serde_json::json!({
            "namespaces": [{"type": "network", "path": "/run/netns/x"}],
            "netDevices": {"eth1": {}}
        }));
        assert_eq!(
            plan(&joined).unwrap().unwrap().netns,
            Netns::Joined("/run/netns/x".into())
        );
        assert_eq!(plan(&spec(serde_json::json!({"netDevices": {}}))), Ok(None));
    }

    #[test]
    fn bad_plans_name_the_field() {
        for (linux, field) in [
            (serde_json::json!({"netDevices": {"eth1": {}}}), ""),
            (
                serde_json::json!({"namespaces": [{"type": "network"}],
                                   "netDevices": {"eth1/x": {}}}),
                "",
            ),
            (
                serde_json::json!({"namespaces": [{"type": "network"}],
                                   "netDevices": {"eth1": {"name": "a-name-far-too-long"}}}),
                ".eth1.name",
            ),
            (
                serde_json::json!({"namespaces": [{"type": "network"}],
                                   "netDevices": {"eth1": {"name": "x"}, "eth2": {"name": "x"}}}),
                ".eth2",
            ),
            (
                serde_json::json!({"namespaces": [{"type": "network"}],
                                   "netDevices": {"eth1": {"name": "x"}, "x": {}}}),
                ".x",
            ),
        ] {
            let e = plan(&spec(linux.clone())).unwrap_err();
            assert_eq!(e.field, field, "{linux}: {e}");
        }
    }
}
