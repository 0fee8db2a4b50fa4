//! /dev: default nodes, linux.devices, links, and that the nodes actually work.

use serde_json::json;

use crate::common::*;

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn default_devices_exist_and_work() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; \
         head -c 4 /dev/zero | od -An -tx1; echo discard > /dev/null && echo null-ok; \
         head -c 8 /dev/urandom | wc -c",
    );
    let out = rt.output(&b);
    for (name, maj, min) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let want = format!("/dev/{name} character special file {maj:x}:{min:x} 666");
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    assert!(out.contains(" 00 00 00 00\n"), "{out}");
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.trim_end().ends_with('8'), "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn configured_devices_with_mode_and_owner() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/sub/myfifo /dev/loopx");
    b.edit(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620, "uid": 1000, "gid": 5},
            {"path": "/dev/sub/myfifo", "type": "p", "fileMode": 0o600},
            {"path": "/dev/loopx", "type": "b", "major": 7, "minor": 200, "fileMode": 0o640, "gid": 6}
        ]);
    });
    let out = rt.output(&b);
    assert!(
        out.contains("/dev/mynull character special file 1:3 620 1000:5"),
        "{out}"
    );
    assert!(out.contains("/dev/sub/myfifo fifo 0:0 600 0:0"), "{out}");
    assert!(
        out.contains("/dev/loopx block special file 7:c8 640 0:6"),
        "{out}"
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn configured_device_is_usable_through_the_device_cgroup() {
    need_root();
    let rt = Rt::new();
    // The default resources deny every device; listed devices are allowed anyway.
    let mut b = Bundle::sh("head -c 3 /dev/myzero | od -An -tx1");
    b.edit(|c| {
        c["linux"]["devices"] =
            json!([{"path": "/dev/myzero", "type": "c", "major": 1, "minor": 5}]);
    });
    assert_eq!(rt.output(&b).trim(), "00 00 00");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn device_links() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done; ls /dev/fd/ | head -1",
    );
    let out = rt.output(&b);
    for want in [
        "fd=/proc/self/fd",
        "stdin=/proc/self/fd/0",
        "stdout=/proc/self/fd/1",
        "stderr=/proc/self/fd/2",
        "ptmx=pts/ptmx",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn pty_allocation_uses_the_containers_devpts() {
    need_root();
    let rt = Rt::new();
    // Opening /dev/ptmx allocates pty 0 in the container's private devpts instance.
    let b = Bundle::sh("exec 3<>/dev/ptmx; ls /dev/pts");
    let out = rt.output(&b);
    assert!(out.lines().any(|l| l == "0"), "{out}");
    assert!(out.lines().any(|l| l == "ptmx"), "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn devices_in_a_user_namespace_are_bind_mounted() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "echo x > /dev/null && echo null-ok; head -c 2 /dev/zero | od -An -tx1; stat -c '%t:%T' /dev/zero",
    );
    b.in_user_namespace();
    let out = rt.output(&b);
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("00 00"), "{out}");
    assert!(out.contains("1:5"), "{out}");
}
