//! The root file system: root.path, read-only roots, propagation, pivot_root.

use std::fs;

use serde_json::json;

use crate::common::*;

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn absolute_root_path() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("cat /marker");
    fs::write(b.rootfs().join("marker"), "absolute\n").unwrap();
    let abs = b.rootfs();
    b.edit(|c| c["root"]["path"] = json!(abs));
    assert_eq!(rt.output(&b), "absolute\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn missing_root_path_is_a_config_error() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["root"]["path"] = json!("no-such-rootfs"));
    let id = unique("nor");
    rt.create(&b, &id).fails_with("root.path");
    assert_no_trace(&rt, &id, &b);
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn readonly_root_refuses_writes() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("touch /newfile 2>&1; echo rc=$?; touch /tmp/ok && echo tmp-ok");
    let out = rt.output(&b);
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    assert!(out.contains("tmp-ok"), "{out}");
    assert!(!b.rootfs().join("newfile").exists());

    let mut b = Bundle::sh("touch /newfile && echo written");
    b.edit(|c| c["root"]["readonly"] = json!(false));
    assert_eq!(rt.output(&b), "written\n");
    assert!(b.rootfs().join("newfile").exists());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn old_root_is_detached() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("cat /proc/self/mountinfo");
    let out = rt.output(&b);
    let bundle = b.path().to_str().unwrap();
    for line in out.lines() {
        let mp = line.split(' ').nth(4).unwrap();
        assert!(
            mp == "/"
                || mp.starts_with("/proc")
                || mp.starts_with("/dev")
                || mp.starts_with("/sys")
                || mp.starts_with("/tmp"),
            "host mount visible in the container: {line}"
        );
        assert!(!line.contains(bundle) || mp == "/", "{line}");
    }
    // The root is the bundle's rootfs (its root field names the rootfs directory).
    let root = mount_line(&out, "/");
    assert!(
        root.split(' ').nth(3).unwrap().ends_with("/rootfs"),
        "{root}"
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn no_pivot_uses_move_and_chroot() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("echo pid=$$; ls /bin/busybox; cat /proc/self/mountinfo | wc -l");
    let id = unique("np");
    let out = rt.rt(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    let text = out.ok();
    assert!(text.starts_with("pid=1\n/bin/busybox\n"), "{text}");
}

/// After --no-pivot the host's mounts stay in the container's mount namespace; its /proc
/// must not count as a fully visible procfs there, or a user namespace of the container's
/// could mount a new proc without the masked paths (runc's no_pivot.bats). As a user
/// other than root, whose unshare -r needs no CAP_SETFCAP.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn no_pivot_leaves_no_host_proc_to_mount_a_bare_proc_by() {
    need_root();
    let rt = Rt::new();
    for no_pivot in [true, false] {
        let mut b = Bundle::new(&[
            "unshare",
            "-mrpf",
            "sh",
            "-c",
            "mount -t proc none /proc 2>&1 && echo MOUNTED; true",
        ]);
        b.edit(|c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["root"]["readonly"] = json!(false);
        });
        let bundle = b.path().to_str().unwrap().to_owned();
        let id = unique("npproc");
        let mut args = vec!["run", "--bundle", &bundle, &id];
        if no_pivot {
            args.insert(1, "--no-pivot");
        }
        let out = rt.rt(&args);
        let text = out.ok();
        assert!(!text.contains("MOUNTED"), "no_pivot {no_pivot}: {text}");
        assert!(
            text.contains("permission denied"),
            "no_pivot {no_pivot}: {text}"
        );
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootfs_propagation() {
    need_root();
    let rt = Rt::new();
    // A slave only has a master if the host's mount was shared; whether it is depends
    // on the host, so "master:" is only required where the host's root is shared.
    let host_root_shared = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/") && l.contains(" shared:"));
    // The r- spellings are containerd's CRI and Docker's (pod and volume propagation).
    for (value, expect_shared, expect_master) in [
        ("shared", Some(true), None),
        ("rshared", Some(true), None),
        ("slave", Some(false), host_root_shared.then_some(true)),
        ("rslave", Some(false), host_root_shared.then_some(true)),
        ("private", Some(false), Some(false)),
        ("rprivate", Some(false), Some(false)),
    ] {
        let mut b = Bundle::sh("cat /proc/self/mountinfo");
        b.edit(|c| c["linux"]["rootfsPropagation"] = json!(value));
        let out = rt.output(&b);
        let root = mount_line(&out, "/");
        if let Some(s) = expect_shared {
            assert_eq!(root.contains(" shared:"), s, "{value}: {root}");
        }
        if let Some(m) = expect_master {
            assert_eq!(root.contains(" master:"), m, "{value}: {root}");
        }
    }
    for value in ["unbindable", "runbindable"] {
        let mut b = Bundle::sh("cat /proc/self/mountinfo");
        b.edit(|c| c["linux"]["rootfsPropagation"] = json!(value));
        let out = rt.output(&b);
        assert!(mount_line(&out, "/").contains(" unbindable"), "{out}");
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cwd_is_entered_and_created() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("pwd");
    b.edit(|c| c["process"]["cwd"] = json!("/work/dir"));
    assert_eq!(rt.output(&b), "/work/dir\n");
    assert!(b.rootfs().join("work/dir").is_dir());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn symlinked_cwd_stays_inside() {
    need_root();
    let rt = Rt::new();
    let host_dir = TempDir::new("hostcwd");
    let mut b = Bundle::sh("pwd; ls");
    // An absolute symlink in the image pointing at a host directory.
    std::os::unix::fs::symlink(host_dir.path(), b.rootfs().join("escape")).unwrap();
    fs::write(host_dir.path().join("host-secret"), "x").unwrap();
    b.edit(|c| c["process"]["cwd"] = json!("/escape"));
    let out = rt.output(&b);
    assert!(
        !out.contains("host-secret"),
        "cwd resolved to the host: {out}"
    );
}

/// root.path may be a symlink (the bundle is trusted): it is followed once, up front, and
/// the container runs on the real directory; a dangling one is refused naming the field.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn rootfs_through_a_symlink() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh("echo inside");
    fs::rename(b.rootfs(), b.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real", b.rootfs()).unwrap();
    assert_eq!(rt.output(&b), "inside\n");
    fs::rename(b.path().join("real"), b.path().join("gone")).unwrap();
    let id = unique("danglingroot");
    rt.create(&b, &id).fails_with("root.path");
    assert_no_trace(&rt, &id, &b);
}

/// A masked directory reads as empty and refuses writes (runc's: an empty read-only
/// tmpfs), and a process without CAP_DAC_OVERRIDE can still list it; a masked file reads
/// as empty.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn masked_paths_read_as_empty() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "ls -a /secretdir | tr '\\n' ' '; echo; cat /secretfile; echo end; \
         touch /secretdir/x 2>&1; rm -f /secretfile 2>&1; true",
    );
    fs::create_dir(b.rootfs().join("secretdir")).unwrap();
    fs::write(b.rootfs().join("secretdir/hidden"), "h").unwrap();
    fs::write(b.rootfs().join("secretfile"), "forbidden").unwrap();
    b.edit(|c| c["linux"]["maskedPaths"] = json!(["/secretdir", "/secretfile"]));
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), ". ..", "{out}");
    assert_eq!(lines[1], "end", "{out}");
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
}

/// A tmpfs without "mode=" over a directory of the image takes that directory's mode,
/// setuid, setgid and sticky bits included (runc's rule); with "mode=" the option wins,
/// and where rt makes the mount point the tmpfs keeps its own default.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn tmpfs_takes_the_mode_of_what_it_covers() {
    need_root();
    use std::os::unix::fs::PermissionsExt;
    let rt = Rt::new();
    let mut b = Bundle::sh("stat -c %a /srv/a /srv/b /srv/c");
    for d in ["srv/a", "srv/b"] {
        fs::create_dir_all(b.rootfs().join(d)).unwrap();
        fs::set_permissions(b.rootfs().join(d), fs::Permissions::from_mode(0o6771)).unwrap();
    }
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(json!({"destination": "/srv/a", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}));
        m.push(json!({"destination": "/srv/b", "type": "tmpfs", "source": "tmpfs", "options": ["mode=750"]}));
        m.push(json!({"destination": "/srv/c", "type": "tmpfs", "source": "tmpfs"}));
    });
    assert_eq!(rt.output(&b), "6771\n750\n1777\n");
}

/// A read-only /dev still gets its devpts, nodes and links (runc issue 3248): it is
/// mounted writable and made read-only once they are in place.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn read_only_dev_gets_its_nodes_first() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "grep -E '^[^ ]+ /dev(/pts)? ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; \
         echo x > /dev/null && echo null-ok; ls /dev/stdout >/dev/null && echo links-ok; \
         touch /dev/new 2>&1; true",
    );
    b.edit(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                m["options"].as_array_mut().unwrap().push(json!("ro"));
            }
        }
    });
    let out = rt.output(&b);
    assert!(out.contains("/dev ro\n"), "{out}");
    assert!(out.contains("/dev/pts rw\n"), "{out}");
    assert!(out.contains("null-ok\nlinks-ok\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
}
