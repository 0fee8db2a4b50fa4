//! User namespaces (several ranges, what works inside them), the time namespace, and
//! systemd socket activation fds.

use std::fs;

use serde_json::json;

use crate::common::*;
use crate::namespaces::chown_tree;

fn with_userns(b: &mut Bundle, uid_maps: serde_json::Value, gid_maps: serde_json::Value) {
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = uid_maps;
        c["linux"]["gidMappings"] = gid_maps;
    });
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn several_id_ranges() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/x; stat -c '%u %g' /tmp/x",
    );
    chown_tree(&b.rootfs(), 100000, 100000);
    with_userns(
        &mut b,
        json!([{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 1000, "hostID": 5000, "size": 10}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 1000, "hostID": 6000, "size": 10}]),
    );
    b.edit(|c| c["process"]["user"] = json!({"uid": 1003, "gid": 1004}));
    let out = rt.output(&b);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], vec!["0", "100000", "1000"]);
    assert_eq!(rows[1], vec!["1000", "5000", "10"]);
    assert_eq!(rows[2], vec!["0", "100000", "1000"]);
    assert_eq!(rows[3], vec!["1000", "6000", "10"]);
    assert_eq!(rows[4], vec!["1003", "1004"], "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn sysfs_without_a_network_namespace_in_a_user_namespace() {
    need_root();
    let rt = Rt::new();
    // No network namespace of its own: sysfs cannot be mounted, the host's is bound.
    let mut b = Bundle::sh("ls /sys/class/net | grep -c . ; touch /sys/x 2>&1 | grep -c Read-only");
    chown_tree(&b.rootfs(), 100000, 100000);
    with_userns(
        &mut b,
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    );
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([{"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}]);
    });
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    let host_links = fs::read_dir("/sys/class/net").unwrap().count();
    assert_eq!(lines[0], host_links.to_string(), "{out}");
    assert_eq!(lines[1], "1", "the bound /sys is not read-only: {out}");
}

/// A time namespace next to a new user namespace (runc's run.bats "joining existing
/// container namespaces" makes its target so): the offsets are written by the process
/// that made both, as root of the new user namespace.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn time_namespace_offsets_in_a_user_namespace() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("cat /proc/self/timens_offsets; id -u; cat /proc/self/uid_map");
    b.in_user_namespace().edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] =
            json!({"boottime": {"secs": 1337, "nanosecs": 3141519}, "monotonic": {"secs": 7881, "nanosecs": 2718281}});
    });
    let out = rt.output(&b);
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "monotonic 7881 2718281",
            "boottime 1337 3141519",
            "0",
            "0 100000 65536"
        ],
        "{out}"
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn time_namespace_offsets() {
    need_root();
    let rt = Rt::new();
    let year = 365 * 24 * 3600;
    let mut b = Bundle::sh("cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time");
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] =
            json!({"boottime": {"secs": year, "nanosecs": 0}, "monotonic": {"secs": 3600}});
    });
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    let uptime: i64 = lines[0].parse().unwrap();
    let host: i64 = fs::read_to_string("/proc/uptime")
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        uptime >= host + year - 5 && uptime <= host + year + 60,
        "{uptime} vs host {host}"
    );
    assert_ne!(
        lines[1],
        fs::read_link("/proc/self/ns/time")
            .unwrap()
            .to_str()
            .unwrap()
    );
    // Offsets need a time namespace of the container's own.
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 5}}));
    let id = unique("tns");
    rt.create(&b, &id)
        .fails_with("linux.timeOffsets: needs a time namespace");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn socket_activation_fds_are_passed_on() {
    need_root();
    let rt = Rt::new();
    let dir = TempDir::new("listen");
    fs::write(dir.path().join("sock-standin"), "activated\n").unwrap();
    let b = Bundle::sh(
        "echo $LISTEN_FDS $LISTEN_PID; cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '",
    );
    // The shell sets LISTEN_PID to its own pid and execs rt, which keeps that pid: exactly
    // what systemd does.
    let script = format!(
        "exec 3<{}; LISTEN_PID=$$ LISTEN_FDS=1 exec {RT} --root {} run --bundle {} {}",
        dir.path().join("sock-standin").display(),
        rt.root().display(),
        b.path().display(),
        unique("listen")
    );
    let out = capture(std::process::Command::new("sh").args(["-c", &script]));
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1 1", "{text}");
    assert_eq!(lines[1], "activated");
    assert_eq!(lines[2].trim(), "0 1 2 3 4", "{text}");
}

/// Bind sources only the host's root may reach (a 0700 directory, as kubelet's volume
/// directories are) still mount in a user namespace, plain, recursive or read-only: the
/// parent clones them before the init, mapped to an unprivileged uid, could be refused
/// (runc's userns.bats "2 inaccessible mounts"). exec sees them too.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn root_only_bind_sources_mount_in_a_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("private");
    for d in ["a", "b"] {
        fs::create_dir_all(host.path().join(d).join("dir")).unwrap();
        fs::write(host.path().join(d).join("dir/foo"), d).unwrap();
        fs::set_permissions(host.path().join(d), fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut b = Bundle::new(&["sleep", "1000"]);
    chown_tree(&b.rootfs(), 100000, 100000);
    with_userns(
        &mut b,
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    );
    b.add_mount(json!({"destination": "/m1", "type": "bind", "source": host.path().join("a/dir"), "options": ["bind"]}));
    b.add_mount(json!({"destination": "/m2", "type": "bind", "source": host.path().join("b/dir"), "options": ["rbind", "ro"]}));
    let id = unique("private");
    rt.rt(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let out = rt.rt(&["exec", &id, "cat", "/m1/foo", "/m2/foo"]);
    assert_eq!(out.ok(), "ab");
    let out = rt.rt(&["exec", &id, "touch", "/m2/x"]);
    assert!(
        out.stderr.contains("Read-only file system")
            || out.stdout.contains("Read-only file system"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    rt.rt(&["delete", "-f", &id]).ok();
    assert_no_trace(&rt, &id, &b);
}

/// A host directory with a file owned by root and one owned by 1000.
fn owned_files() -> TempDir {
    let d = TempDir::new("idmap");
    fs::write(d.path().join("root-file"), "r").unwrap();
    fs::write(d.path().join("user-file"), "u").unwrap();
    nix::unistd::chown(
        &d.path().join("user-file"),
        Some(1000.into()),
        Some(1000.into()),
    )
    .unwrap();
    d
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn idmapped_mount_with_the_containers_mapping() {
    need_root();
    let rt = Rt::new();
    let host = owned_files();
    let script = "stat -c '%n %u:%g' /plain/root-file /mapped/root-file /mapped/user-file; touch /mapped/new";
    let mut b = Bundle::sh(script);
    chown_tree(&b.rootfs(), 100000, 100000);
    with_userns(
        &mut b,
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    );
    b.add_mount(json!({"destination": "/plain", "type": "bind", "source": host.path(), "options": ["bind"]}));
    b.add_mount(json!({"destination": "/mapped", "type": "bind", "source": host.path(), "options": ["bind", "idmap"]}));
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    // Without idmapping the host's root is nobody in the container; with it, root.
    assert_eq!(lines[0], "/plain/root-file 65534:65534", "{out}");
    assert_eq!(lines[1], "/mapped/root-file 0:0", "{out}");
    assert_eq!(lines[2], "/mapped/user-file 1000:1000", "{out}");
    // What the container's root creates there belongs to the host's root.
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(host.path().join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn idmapped_mount_with_its_own_mappings() {
    need_root();
    let rt = Rt::new();
    let host = owned_files();
    let mut b = Bundle::sh("stat -c '%u:%g' /data/root-file /data/user-file");
    b.add_mount(json!({
        "destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind"],
        "uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}, {"containerID": 1000, "hostID": 2000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 4321, "size": 1}, {"containerID": 1000, "hostID": 3000, "size": 1}]
    }));
    assert_eq!(rt.output(&b), "1234:4321\n2000:3000\n");
    // idmap without any mapping to use is an error naming the mount.
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["bind", "idmap"]}));
    let id = unique("idmapbad");
    rt.create(&b, &id)
        .fails_with("mounts[8] (/data): idmap needs uidMappings");
    assert_no_trace(&rt, &id, &b);
    // runc's idmap-with-userns.bats: one mapping without the other, or an idmapped mount
    // that is no bind, is an "invalid mount".
    let map = json!([{"containerID": 0, "hostID": 1234, "size": 1}]);
    for (key, typ, opts) in [
        ("uidMappings", "bind", json!(["rbind"])),
        ("gidMappings", "bind", json!(["rbind"])),
        ("uidMappings", "tmpfs", json!([""])),
    ] {
        let mut b = Bundle::new(&["true"]);
        let mut m =
            json!({"destination": "/data", "type": typ, "source": host.path(), "options": opts});
        m[key] = map.clone();
        if typ == "tmpfs" {
            m["gidMappings"] = map.clone();
        }
        b.add_mount(m);
        let id = unique("idmapbad");
        rt.create(&b, &id)
            .fails_with("mounts[8] (/data): invalid mount: ");
        assert_no_trace(&rt, &id, &b);
    }
}

/// user.* sysctls are limits of the user namespace they are set in: allowed with a user
/// namespace of the container's own (as runc 1.4), seen inside, not changed on the host.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn user_sysctls_in_a_user_namespace() {
    need_root();
    let rt = Rt::new();
    let host = fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap();
    let mut b = Bundle::sh("cat /proc/sys/user/max_user_namespaces");
    with_userns(
        &mut b,
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
    );
    b.edit(|c| c["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"}));
    assert_eq!(rt.output(&b), "7\n");
    assert_eq!(
        fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap(),
        host
    );
}
