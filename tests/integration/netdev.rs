//! linux.netDevices (issue 14): a host device (one end of a veth pair made here; this
//! build host's kernel has no dummy driver) moves into the
//! container's network namespace under its new name, with its MTU, MAC, global addresses
//! and up state, and comes back under its host name when the container ends; a namespace
//! joined by path keeps it (runc's rule); a create that fails gives back what it moved.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;

use crate::common::*;

fn ip(args: &[&str]) -> Out {
    capture(Command::new("ip").args(args))
}

/// One end of a veth pair on the host; the pair goes (wherever this end is) when dropped,
/// with the peer that stays on the host.
pub struct Dummy {
    pub name: String,
    netns: Option<String>,
}

impl Dummy {
    /// Up, with MTU 1789, a fixed MAC, an IPv4 and an IPv6 address of global scope and
    /// one of host scope (which the kernel's move drops and rt does not copy).
    pub fn new() -> Dummy {
        Dummy::named("rtd")
    }

    fn named(prefix: &str) -> Dummy {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        ip(&[
            "link",
            "add",
            &name,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{name}p"),
        ])
        .ok();
        let d = Dummy { name, netns: None };
        let n = d.name.as_str();
        ip(&[
            "link",
            "set",
            "dev",
            n,
            "mtu",
            "1789",
            "address",
            "02:11:22:33:44:55",
        ])
        .ok();
        ip(&["addr", "add", "169.254.77.1/32", "dev", n]).ok();
        ip(&["addr", "add", "fd00:77::1/64", "dev", n, "nodad"]).ok();
        ip(&["addr", "add", "127.0.0.77/8", "dev", n, "scope", "host"]).ok();
        ip(&["link", "set", "dev", n, "up"]).ok();
        d
    }

    /// `ip -d addr show` of it on the host, or None when it is not there.
    pub fn on_host(&self) -> Option<String> {
        let out = ip(&["addr", "show", "dev", &self.name]);
        (out.code == 0).then(|| out.stdout.clone())
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}p", self.name)])
            .output();
        if let Some(ns) = &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// What `ip addr show` says of the device, on the host or in a container.
#[track_caller]
fn assert_moved_whole(shown: &str, name: &str) {
    // A veth is shown as NAME@ifPEER.
    assert!(shown.contains(&format!(": {name}@")), "{shown}");
    assert!(shown.contains("mtu 1789"), "{shown}");
    assert!(shown.contains("link/ether 02:11:22:33:44:55"), "{shown}");
    assert!(shown.contains("inet 169.254.77.1/32"), "{shown}");
    assert!(shown.contains("inet6 fd00:77::1/64"), "{shown}");
    assert!(shown.contains(",UP"), "not up: {shown}");
}

/// A bridge on the host: the kernel never lets one change its namespace.
struct Bridge(String);

impl Bridge {
    fn new() -> Bridge {
        let b = Bridge(format!("rtz{}", std::process::id() % 100_000));
        ip(&["link", "add", &b.0, "type", "bridge"]).ok();
        b
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

fn with_devices(args: &[&str], devices: serde_json::Value) -> Bundle {
    let mut b = Bundle::new(args);
    b.edit(|c| c["linux"]["netDevices"] = devices);
    b
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_device_moves_in_renamed_whole_and_comes_back_on_delete() {
    need_root();
    let rt = Rt::new();
    let d = Dummy::new();
    let b = with_devices(&["sleep", "100"], json!({ &d.name: {"name": "ctr0"} }));
    let id = unique("netdev");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    assert_eq!(d.on_host(), None, "still on the host");
    let inside = rt.rt(&["exec", &id, "ip", "addr", "show", "dev", "ctr0"]);
    assert_moved_whole(inside.ok(), "ctr0");
    assert!(!inside.stdout.contains("127.0.0.77"), "{}", inside.stdout);
    // The container's own view through sysfs agrees.
    let mtu = rt.rt(&["exec", &id, "cat", "/sys/class/net/ctr0/mtu"]);
    assert_eq!(mtu.ok().trim(), "1789");

    rt.rt(&["delete", "-f", &id]).ok();
    let back = d.on_host().expect("not back on the host");
    assert_moved_whole(&back, &d.name);
    assert_no_trace(&rt, &id, &b);
}

/// The container's process ends by itself: the namespace rt holds keeps the (virtual)
/// device from being destroyed with it, until `rt run` deletes the container.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_container_that_ends_by_itself_gives_it_back() {
    need_root();
    let rt = Rt::new();
    let d = Dummy::new();
    let b = with_devices(&["ip", "-o", "link", "show"], json!({ &d.name: {} }));
    let out = rt.output(&b);
    assert!(out.contains(&format!(": {}@", d.name)), "{out}");
    assert_moved_whole(&d.on_host().expect("destroyed"), &d.name);
}

/// runc's rule: a namespace joined by path is its owner's, and so is what was moved in.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_joined_namespace_keeps_it() {
    need_root();
    let rt = Rt::new();
    let mut d = Dummy::new();
    let ns = format!("{}ns", d.name);
    ip(&["netns", "add", &ns]).ok();
    d.netns = Some(ns.clone());
    let mut b = with_devices(
        &["ip", "addr", "show"],
        json!({ &d.name: {"name": "eth7"} }),
    );
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "mount"}, {"type": "uts"},
            {"type": "network", "path": format!("/run/netns/{ns}")}
        ])
    });
    assert_moved_whole(&rt.output(&b), "eth7");
    assert_eq!(d.on_host(), None);
    let there = ip(&["-n", &ns, "addr", "show", "dev", "eth7"]);
    assert_moved_whole(there.ok(), "eth7");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn a_failed_create_gives_back_what_it_moved_and_says_why() {
    need_root();
    let rt = Rt::new();
    // Moved first (sorted by host name), then the second, a bridge, cannot change its
    // namespace: create fails after the first is in, and must give it back whole.
    let first = Dummy::new();
    let bridge = Bridge::new();
    let b = with_devices(
        &["true"],
        json!({ &first.name: {"name": "ctr0"}, &bridge.0: {} }),
    );
    let id = unique("netdev");
    rt.create(&b, &id).fails_with(&format!(
        "linux.netDevices.{}: moving it into the container: ",
        bridge.0
    ));
    assert_no_trace(&rt, &id, &b);
    assert_moved_whole(&first.on_host().expect("lost"), &first.name);
    assert!(
        ip(&["link", "show", "dev", &bridge.0]).code == 0,
        "bridge gone"
    );

    // A name the new namespace has already (its loopback) is refused before any move.
    let b = with_devices(&["true"], json!({ &first.name: {"name": "lo"} }));
    let id = unique("netdev");
    rt.create(&b, &id).fails_with(&format!(
        "linux.netDevices.{}: \"lo\" is taken in the container's network namespace",
        first.name
    ));
    assert_no_trace(&rt, &id, &b);
    assert_moved_whole(&first.on_host().expect("lost"), &first.name);

    for (devices, namespaces, needle) in [
        (
            json!({"rtnosuchdev0": {}}),
            None,
            "linux.netDevices.rtnosuchdev0: no such network device on the host",
        ),
        (
            json!({"eth0": {"name": "a/b"}}),
            None,
            "linux.netDevices.eth0.name: \"a/b\": not an interface name",
        ),
        (
            json!({"eth0": {}}),
            Some(json!([{"type": "mount"}])),
            "linux.netDevices: needs a network namespace of the container's",
        ),
    ] {
        let mut b = with_devices(&["true"], devices);
        if let Some(ns) = namespaces {
            b.edit(|c| c["linux"]["namespaces"] = ns);
        }
        let id = unique("netdev");
        rt.create(&b, &id).fails_with(needle);
        assert_no_trace(&rt, &id, &b);
    }
}
