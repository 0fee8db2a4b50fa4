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
fn new_namespaces_are_private() {
    if !need_root() {
        return;
    }
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
fn cgroup_namespace_shows_own_cgroup_as_root() {
    if !need_root() {
        return;
    }
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
fn host_namespaces_when_not_listed() {
    if !need_root() {
        return;
    }
    let rt = Rt::new();
    let mut b = Bundle::sh("readlink /proc/self/ns/net; readlink /proc/self/ns/ipc");
    b.set_namespaces(json!([{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]));
    let out = rt.output(&b);
    assert_eq!(out, format!("{}\n{}\n", host_ns("net"), host_ns("ipc")));
}

#[test]
fn user_namespace_with_mappings() {
    if !need_root() {
        return;
    }
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c '%u %g' /bin/busybox /dev/null",
    );
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // The sysfs of a network namespace owned by the new user namespace is mountable.
    });
    // The rootfs must be owned by the mapped root for the container to use it.
    chown_tree(&b.rootfs(), 100000, 100000);
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

#[test]
fn join_namespaces_by_path() {
    if !need_root() {
        return;
    }
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
fn join_pid_namespace_by_path() {
    if !need_root() {
        return;
    }
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
fn join_user_namespace_by_path() {
    if !need_root() {
        return;
    }
    let rt = Rt::new();
    // A container with its own user namespace to join.
    let mut tb = Bundle::new(&["sleep", "1000"]);
    tb.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    chown_tree(&tb.rootfs(), 200000, 200000);
    let tid = unique("userns");
    rt.rt(&["run", "-d", "--bundle", tb.path().to_str().unwrap(), &tid])
        .ok();
    let pid = rt.state(&tid)["pid"].as_i64().unwrap();

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
    rt.rt(&["delete", "-f", &tid]).ok();
}

#[test]
fn new_user_namespace_with_joined_network() {
    if !need_root() {
        return;
    }
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

#[test]
fn join_mount_and_cgroup_namespaces_by_path() {
    if !need_root() {
        return;
    }
    let rt = Rt::new();
    let (tb, tid, pid) = sleeper(&rt);
    fs::write(tb.rootfs().join("target-marker"), "in the target's root\n").unwrap();
    let mut b =
        Bundle::sh("cat /target-marker; readlink /proc/self/ns/mnt; readlink /proc/self/ns/cgroup");
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "mount", "path": format!("/proc/{pid}/ns/mnt")},
            {"type": "cgroup", "path": format!("/proc/{pid}/ns/cgroup")},
            // Its /proc shows only its own pid namespace: join that too, or /proc/self
            // would not exist for us there.
            {"type": "pid", "path": format!("/proc/{pid}/ns/pid")},
            {"type": "uts"}, {"type": "ipc"}, {"type": "network"}
        ]);
    });
    let out = rt.output(&b);
    let target = |n: &str| {
        fs::read_link(format!("/proc/{pid}/ns/{n}"))
            .unwrap()
            .display()
            .to_string()
    };
    assert_eq!(
        out,
        format!(
            "in the target's root\n{}\n{}\n",
            target("mnt"),
            target("cgroup")
        )
    );
    rt.rt(&["delete", "-f", &tid]).ok();
}
