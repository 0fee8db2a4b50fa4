//! Namespaces, created and joined, checked from inside the container.

use std::fs;

use serde_json::json;

use crate::common::*;

fn host_ns(kind: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn new_namespaces_are_private() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "echo me=$$; for n in net ipc uts mnt cgroup pid; do echo $n=$(readlink /proc/self/ns/$n); done; \
         echo links=$(ls /sys/class/net | tr '\\n' ' '); hostname",
    );
    let out = rt.output(&b);
    assert!(out.starts_with("me=1\n"), "{out}");
    for n in ["net", "ipc", "uts", "mnt", "cgroup", "pid"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{n}=")))
            .unwrap();
        assert_ne!(
            &line[n.len() + 1..],
            host_ns(n),
            "{n} namespace is the host's"
        );
    }
    assert!(out.contains("links=lo\n"), "{out}");
    assert!(out.ends_with("rt-test\n"), "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cgroup_namespace_shows_own_cgroup_as_root() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("cat /proc/self/cgroup");
    let out = rt.output(&b);
    for line in out.lines() {
        assert!(
            line.ends_with(":/"),
            "cgroup not rooted at the container: {line}"
        );
    }
    // Without a cgroup namespace the container sees where it really is.
    let mut b = Bundle::sh("cat /proc/self/cgroup");
    b.set_namespaces(json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "ipc"}]));
    let id = unique("nocgns");
    let out = rt.run(&b, &id);
    let mem = out
        .ok()
        .lines()
        .find(|l| l.contains(":memory:"))
        .unwrap()
        .to_owned();
    assert!(mem.ends_with(&format!("/{id}")), "{mem}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn host_namespaces_when_not_listed() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("readlink /proc/self/ns/net; readlink /proc/self/ns/ipc");
    b.set_namespaces(json!([{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]));
    let out = rt.output(&b);
    assert_eq!(out, format!("{}\n{}\n", host_ns("net"), host_ns("ipc")));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn user_namespace_with_mappings() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c '%u %g' /bin/busybox /dev/null",
    );
    // The rootfs is owned by the mapped root, for the container to use it; the sysfs of
    // a network namespace owned by the new user namespace is mountable.
    b.in_user_namespace();
    let out = rt.output(&b);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], vec!["0", "100000", "65536"], "{out}");
    assert_eq!(lines[1], vec!["0", "100000", "65536"], "{out}");
    assert_eq!(lines[2], vec!["0"], "{out}");
    assert_eq!(
        lines[3],
        vec!["0", "0"],
        "rootfs files as container root: {out}"
    );
    // /dev/null in a user namespace is the host's node bind-mounted, owned by nobody.
    assert_eq!(lines[4], vec!["65534", "65534"], "{out}");
}

pub fn chown_tree(p: &std::path::Path, uid: u32, gid: u32) {
    let status = std::process::Command::new("chown")
        .args(["-R", "-h", &format!("{uid}:{gid}"), p.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts a long-running container and returns (rt, bundle, id, pid).
fn sleeper(rt: &Rt) -> (Bundle, String, i64) {
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("target");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    (b, id, pid)
}

/// Starts a long-running container with a user namespace of its own (ids 200000 on).
fn userns_sleeper(rt: &Rt) -> (Bundle, String, i64) {
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    chown_tree(&b.rootfs(), 200000, 200000);
    let id = unique("userns");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    (b, id, pid)
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn join_namespaces_by_path() {
    need_root();
    let rt = Rt::new();
    let (_tb, tid, pid) = sleeper(&rt);
    let target = |n: &str| {
        fs::read_link(format!("/proc/{pid}/ns/{n}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let mut b = Bundle::sh("for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname");
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "mount"}, {"type": "pid"},
            {"type": "network", "path": format!("/proc/{pid}/ns/net")},
            {"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")},
            {"type": "uts", "path": format!("/proc/{pid}/ns/uts")}
        ]);
        c.as_object_mut().unwrap().remove("hostname");
    });
    let out = rt.output(&b);
    assert_eq!(
        out,
        format!(
            "{}\n{}\n{}\nrt-test\n",
            target("net"),
            target("ipc"),
            target("uts")
        )
    );
    rt.rt(&["delete", "-f", &tid]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn join_pid_namespace_by_path() {
    need_root();
    let rt = Rt::new();
    let (_tb, tid, pid) = sleeper(&rt);
    let mut b =
        Bundle::sh("readlink /proc/self/ns/pid; echo me=$$; ps -o pid,comm | grep -c sleep");
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "ipc"},
            {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}
        ]);
    });
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    let target = fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    assert_eq!(lines[0], target.to_str().unwrap());
    // Not pid 1: the target's sleep is pid 1 there, and visible.
    assert_ne!(lines[1], "me=1");
    assert_eq!(lines[2], "1", "{out}");
    rt.rt(&["delete", "-f", &tid]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn join_user_namespace_by_path() {
    need_root();
    let rt = Rt::new();
    // A container with its own user namespace to join.
    let (_tb, tid, pid) = userns_sleeper(&rt);

    let mut b = Bundle::sh("readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u");
    chown_tree(&b.rootfs(), 200000, 200000);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "user", "path": format!("/proc/{pid}/ns/user")},
            {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}
        ]);
    });
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    let target = fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    assert_eq!(lines[0], target.to_str().unwrap(), "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["0", "200000", "65536"]
    );
    assert_eq!(lines[2], "0");
    // runc's userns.bats "wrong userns owner": next to that user namespace, the host's
    // network namespace, which it does not own (joined before the user namespace).
    let mut b = Bundle::sh("readlink /proc/self/ns/user; readlink /proc/self/ns/net");
    chown_tree(&b.rootfs(), 200000, 200000);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "user", "path": format!("/proc/{pid}/ns/user")},
            {"type": "network", "path": "/proc/self/ns/net"},
            {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}
        ]);
    });
    let out = rt.output(&b);
    let host_net = fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [target.to_str().unwrap(), host_net.to_str().unwrap()],
        "{out}"
    );
    // The same with another container's network namespace (the host's user namespace
    // owns it, as an engine's pod network next to a pod's user namespace), for the
    // container and for `exec` into it.
    let (_nb, nid, npid) = sleeper(&rt);
    let net = fs::read_link(format!("/proc/{npid}/ns/net")).unwrap();
    let mut b = Bundle::new(&["sleep", "1000"]);
    chown_tree(&b.rootfs(), 200000, 200000);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "user", "path": format!("/proc/{pid}/ns/user")},
            {"type": "network", "path": format!("/proc/{npid}/ns/net")},
            {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}
        ]);
    });
    let id = unique("owner");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let out = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "readlink /proc/self/ns/user; readlink /proc/self/ns/net",
    ]);
    assert_eq!(
        out.ok().lines().collect::<Vec<_>>(),
        [target.to_str().unwrap(), net.to_str().unwrap()],
        "{}",
        out.stdout
    );
    for c in [&id, &nid, &tid] {
        rt.rt(&["delete", "-f", c]).ok();
    }
}

/// runc's run.bats "joining existing container namespaces": a second container joins
/// the first's user and pid namespaces, with a mount namespace and /proc of its own. In a
/// joined user namespace the kernel allows a new proc mount only where one is already
/// fully visible, so it has to be made before pivot_root, naming the joined pid namespace.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn join_user_and_pid_namespaces_with_own_proc() {
    need_root();
    let rt = Rt::new();
    let (_tb, tid, pid) = userns_sleeper(&rt);

    let mut b = Bundle::sh(
        "readlink /proc/self/ns/pid; readlink /proc/self/ns/user; cat /proc/1/comm; \
         echo me=$$; stat -c %t:%T /proc/keys; grep -c '^[^ ]* [^ ]* [^ ]* / /proc .* - proc ' /proc/self/mountinfo",
    );
    chown_tree(&b.rootfs(), 200000, 200000);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "user", "path": format!("/proc/{pid}/ns/user")},
            {"type": "pid", "path": format!("/proc/{pid}/ns/pid")},
            {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}
        ]);
    });
    let out = rt.output(&b);
    let ns = |n: &str| {
        fs::read_link(format!("/proc/{pid}/ns/{n}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[0], ns("pid"), "{out}");
    assert_eq!(lines[1], ns("user"), "{out}");
    // Its /proc shows the joined pid namespace: the first container's sleep is pid 1.
    assert_eq!(lines[2], "sleep", "{out}");
    assert_ne!(lines[3], "me=1", "{out}");
    // The masked paths below it are masked (/dev/null's 1:3 over /proc/keys).
    assert_eq!(lines[4], "1:3", "{out}");
    assert_eq!(lines[5], "1", "{out}");
    rt.rt(&["delete", "-f", &tid]).ok();
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn new_user_namespace_with_joined_network() {
    need_root();
    let rt = Rt::new();
    let (_tb, tid, pid) = sleeper(&rt);
    let mut b = Bundle::sh("readlink /proc/self/ns/net; cat /proc/self/uid_map");
    chown_tree(&b.rootfs(), 300000, 300000);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "network", "path": format!("/proc/{pid}/ns/net")},
            {"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}
        ]);
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
        // sysfs belongs to the joined network namespace's user namespace (the host's):
        // a container root cannot mount it; bind the host's instead.
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/sys" {
                *m = json!({"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]});
            }
        }
    });
    let out = rt.output(&b);
    let target = fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert!(out.starts_with(&format!("{}\n", target.display())), "{out}");
    assert!(out.contains("300000"), "{out}");
    rt.rt(&["delete", "-f", &tid]).ok();
}

/// A process holding a mount namespace of its own (`unshare --mount`), killed on drop.
struct MountNsHolder(std::process::Child);

impl MountNsHolder {
    fn new() -> MountNsHolder {
        let child = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sleep", "600"])
            .spawn()
            .expect("unshare (util-linux) runs");
        let h = MountNsHolder(child);
        for _ in 0..500 {
            if fs::read_link(h.ns_path()).is_ok_and(|l| l.to_string_lossy() != host_ns("mnt")) {
                return h;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("unshare --mount never made its namespace");
    }

    fn ns_path(&self) -> String {
        format!("/proc/{}/ns/mnt", self.0.id())
    }
}

impl Drop for MountNsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the container sees of its root: its own rootfs (busybox, no Debian files),
/// /proc/timer_list masked, /proc/sys read-only.
const ROOT_PROBE: &str = "test -x /bin/busybox && echo rootfs; test -e /etc/debian_version && echo host; \
     echo timer_list=$(wc -c < /proc/timer_list); grep -q ' /proc/sys ro,' /proc/self/mountinfo && echo sys-ro; \
     readlink /proc/self/ns/mnt";

/// Joining a mount namespace by path builds the container's root inside it (root.path,
/// mounts, maskedPaths, readonlyPaths, pivot_root), as runc does; the host's mount table
/// is not touched.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn joined_mount_namespace_gets_the_containers_rootfs() {
    need_root();
    let rt = Rt::new();
    let holder = MountNsHolder::new();
    let mut b = Bundle::sh(ROOT_PROBE);
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "mount", "path": holder.ns_path()},
            {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}
        ]);
    });
    let id = unique("joinmnt");
    let out = rt.run(&b, &id);
    let ns = fs::read_link(holder.ns_path()).unwrap();
    assert_eq!(
        out.ok(),
        format!("rootfs\ntimer_list=0\nsys-ro\n{}\n", ns.display())
    );
    assert_no_trace(&rt, &id, &b);
}

/// No mount namespace in the config: shared with rt's (the host's), as the runtime spec
/// says and runc does. The container still gets its rootfs (chroot), its mounts and
/// masks; they are made on the host's table below the rootfs and gone after delete.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn no_mount_namespace_runs_chrooted_and_delete_unmounts() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(&format!("{ROOT_PROBE}; sleep 600"));
    b.set_namespaces(json!([{"type": "pid"}, {"type": "uts"}, {"type": "ipc"}]));
    let id = unique("nomnt");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    let exec = rt.rt(&["exec", &id, "sh", "-c", ROOT_PROBE]);
    let expected = format!("rootfs\ntimer_list=0\nsys-ro\n{}\n", host_ns("mnt"));
    assert_eq!(exec.ok(), expected, "exec");
    assert!(
        !host_mounts_under(b.path()).is_empty(),
        "the container's mounts are on the host's table"
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);

    let id = unique("nomnt");
    let mut b = Bundle::sh(ROOT_PROBE);
    b.set_namespaces(json!([{"type": "pid"}, {"type": "uts"}]));
    assert_eq!(rt.run(&b, &id).ok(), expected, "init");
    assert_no_trace(&rt, &id, &b);

    // "Joining" rt's own mount namespace by path is sharing it: no pivot_root of the
    // host's root, no change to its propagation.
    let id = unique("ownmnt");
    let root_before =
        mount_line(&fs::read_to_string("/proc/self/mountinfo").unwrap(), "/").to_owned();
    b.set_namespaces(json!([
        {"type": "mount", "path": format!("/proc/{}/ns/mnt", std::process::id())},
        {"type": "pid"}, {"type": "uts"}
    ]));
    assert_eq!(rt.run(&b, &id).ok(), expected, "own namespace by path");
    assert_no_trace(&rt, &id, &b);
    assert_eq!(
        mount_line(&fs::read_to_string("/proc/self/mountinfo").unwrap(), "/"),
        root_before
    );

    // A create that fails after some of the mounts were made leaves none of them.
    let id = unique("nomnt");
    b.add_mount(json!({"destination": "/mnt", "type": "no-such-fs", "source": "none"}));
    rt.create(&b, &id).fails_with("mounts[8]");
    assert_no_trace(&rt, &id, &b);
}
