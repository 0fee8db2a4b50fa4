//! mounts[]: bind, tmpfs, proc, sysfs, devpts, mqueue, cgroup — options checked in the
//! container's own mountinfo and by trying the operations they forbid.

use std::fs;

use serde_json::json;

use crate::common::*;

/// Mount options (per-mount field 6) of mount point `mp` in a mountinfo text.
fn opts(mountinfo: &str, mp: &str) -> Vec<String> {
    let line = mount_line(mountinfo, mp);
    line.split(' ')
        .nth(5)
        .unwrap()
        .split(',')
        .map(String::from)
        .collect()
}

fn fs_type<'a>(mountinfo: &'a str, mp: &str) -> &'a str {
    let line = mount_line(mountinfo, mp);
    let after = line.split(" - ").nth(1).unwrap();
    after.split(' ').next().unwrap()
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn read_only_bind_mount() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("bindro");
    fs::write(host.path().join("file"), "from host\n").unwrap();
    let mut b = Bundle::sh(
        "cat /data/file; (echo x > /data/file) 2>&1; echo rc=$?; cat /proc/self/mountinfo",
    );
    b.add_mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["bind", "ro"]}));
    let out = rt.output(&b);
    assert!(out.starts_with("from host\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(opts(&out, "/data").contains(&"ro".to_string()));
    assert_eq!(
        fs::read_to_string(host.path().join("file")).unwrap(),
        "from host\n"
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bind_mount_flags() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("bindfl");
    fs::copy("/bin/busybox", host.path().join("bb")).unwrap();
    let mut b = Bundle::sh(
        "/data/bb true 2>&1; echo rc=$?; echo w > /data/w && echo writable; cat /proc/self/mountinfo",
    );
    b.add_mount(json!({"destination": "/data", "source": host.path(), "options": ["rbind", "rw", "nosuid", "nodev", "noexec", "relatime"]}));
    let out = rt.output(&b);
    assert!(
        out.contains("Permission denied") && out.contains("rc=126"),
        "noexec ignored: {out}"
    );
    assert!(out.contains("writable"), "{out}");
    let o = opts(&out, "/data");
    for want in ["rw", "nosuid", "nodev", "noexec", "relatime"] {
        assert!(o.contains(&want.to_string()), "{want} missing in {o:?}");
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bind_versus_rbind() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("rbind");
    fs::create_dir(host.path().join("sub")).unwrap();
    let status = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "tmpfs",
            host.path().join("sub").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(host.path().join("sub/inner"), "inner\n").unwrap();
    let run = |opt: &str| {
        let mut b = Bundle::sh("cat /data/sub/inner 2>/dev/null || echo absent");
        b.add_mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": [opt]}));
        rt.output(&b)
    };
    let rbind = run("rbind");
    let bind = run("bind");
    let _ = std::process::Command::new("umount")
        .arg(host.path().join("sub"))
        .status();
    assert_eq!(rbind, "inner\n");
    assert_eq!(bind, "absent\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bind_mount_of_a_file_and_relative_source() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh("cat /etc/injected.conf");
    fs::write(b.path().join("injected.conf"), "relative to bundle\n").unwrap();
    b.add_mount(json!({"destination": "/etc/injected.conf", "type": "bind", "source": "injected.conf", "options": ["bind", "ro"]}));
    assert_eq!(rt.output(&b), "relative to bundle\n");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn mount_propagation_option() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("prop");
    let mut b = Bundle::sh("cat /proc/self/mountinfo");
    b.add_mount(json!({"destination": "/shared", "type": "bind", "source": host.path(), "options": ["rbind", "rshared"]}));
    b.add_mount(json!({"destination": "/private", "type": "bind", "source": host.path(), "options": ["rbind", "rprivate"]}));
    let out = rt.output(&b);
    let line = |mp: &str| mount_line(&out, mp).to_owned();
    assert!(line("/shared").contains(" shared:"), "{}", line("/shared"));
    assert!(!line("/private").contains(" shared:") && !line("/private").contains(" master:"));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn tmpfs_size_and_mode() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "stat -c %a /scratch; df -k /scratch | tail -1 | awk '{print $2}'; cat /proc/self/mountinfo",
    );
    b.add_mount(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m", "mode=710", "nosuid"]}));
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "710");
    assert_eq!(lines[1], "2048");
    assert_eq!(fs_type(&out, "/scratch"), "tmpfs");
    assert!(opts(&out, "/scratch").contains(&"nosuid".to_string()));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn special_file_systems() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "cat /proc/self/mountinfo; echo ---; stat -c '%a %g' /dev/pts/ptmx; ls /sys/kernel >/dev/null && echo sysfs-ok",
    );
    let out = rt.output(&b);
    let (mi, rest) = out.split_once("---\n").unwrap();
    assert_eq!(fs_type(mi, "/proc"), "proc");
    assert_eq!(fs_type(mi, "/sys"), "sysfs");
    assert!(opts(mi, "/sys").contains(&"ro".to_string()));
    assert_eq!(fs_type(mi, "/dev/pts"), "devpts");
    assert_eq!(fs_type(mi, "/dev/mqueue"), "mqueue");
    assert_eq!(fs_type(mi, "/dev/shm"), "tmpfs");
    let pts_line = mount_line(mi, "/dev/pts");
    assert!(
        pts_line.contains("ptmxmode=666")
            && pts_line.contains("gid=5")
            && pts_line.contains("mode=620"),
        "{pts_line}"
    );
    assert!(rest.starts_with("666 0\n"), "{rest}");
    assert!(rest.contains("sysfs-ok"));
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cgroup_mount_shows_the_containers_cgroup() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::sh(
        "cat /sys/fs/cgroup/pids/cgroup.procs | wc -l; touch /sys/fs/cgroup/x 2>&1; ls /sys/fs/cgroup",
    );
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    // Only the container's own processes (sh and its children) are in its cgroup root.
    let n: usize = lines[0].trim().parse().unwrap();
    assert!((1..=3).contains(&n), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("memory") && out.contains("pids"), "{out}");
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn destinations_are_created_inside_the_rootfs() {
    need_root();
    let rt = Rt::new();
    let host_target = TempDir::new("victim");
    let src = TempDir::new("src");
    fs::write(src.path().join("payload"), "payload\n").unwrap();
    let mut b = Bundle::sh("cat /evil/deep/dir/payload");
    // The image has /evil -> <a host directory>: the mount must land inside the rootfs.
    std::os::unix::fs::symlink(host_target.path(), b.rootfs().join("evil")).unwrap();
    b.add_mount(json!({"destination": "/evil/deep/dir", "type": "bind", "source": src.path(), "options": ["bind"]}));
    let out = rt.output(&b);
    assert_eq!(out, "payload\n");
    assert!(
        fs::read_dir(host_target.path()).unwrap().next().is_none(),
        "a mount point was created on the host"
    );
    assert!(host_mounts_under(host_target.path()).is_empty());
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn recursive_read_only() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("rro");
    fs::create_dir(host.path().join("sub")).unwrap();
    let status = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "tmpfs",
            host.path().join("sub").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let mut b = Bundle::sh("touch /data/sub/f 2>&1; echo rc=$?");
    b.add_mount(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind", "rro"]}));
    let out = rt.output(&b);
    let _ = std::process::Command::new("umount")
        .arg(host.path().join("sub"))
        .status();
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn bad_mount_fails_create_cleanly() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/data", "type": "bind", "source": "/nonexistent/source", "options": ["bind"]}));
    let id = unique("badm");
    rt.create(&b, &id).fails_with("/nonexistent/source");
    assert_no_trace(&rt, &id, &b);
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/x", "type": "nosuchfs", "source": "none"}));
    let id = unique("badm");
    rt.create(&b, &id)
        .fails_with("mounts[8] (/x): mounting nosuchfs");
    assert_no_trace(&rt, &id, &b);
}

/// procfs is made through fsopen (so that the init of a joined pid namespace can make it
/// after pivot_root): its source, per-mount flags and data options must still be the
/// config's, as mount(2) gave them, in a new pid namespace and in a joined one.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn proc_mount_keeps_source_flags_and_options() {
    need_root();
    let rt = Rt::new();
    let script = "cat /proc/self/mountinfo; cat /proc/[0-9]*/comm | grep -c '^sleep$'; true";
    let holder = Bundle::new(&["sleep", "1000"]);
    let hid = unique("procholder");
    rt.rt(&[
        "run",
        "-d",
        "--bundle",
        holder.path().to_str().unwrap(),
        &hid,
    ])
    .ok();
    let pid = rt.state(&hid)["pid"].as_i64().unwrap();
    for joined in [false, true] {
        let mut b = Bundle::sh(script);
        b.edit(|c| {
            c["mounts"][0]["source"] = json!("myproc");
            c["mounts"][0]["options"] = json!(["nosuid", "nodev", "noexec", "hidepid=invisible"]);
            if joined {
                c["linux"]["namespaces"] = json!([
                    {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "ipc"},
                    {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}
                ]);
            }
        });
        let out = rt.output(&b);
        let line = mount_line(&out, "/proc");
        assert_eq!(fs_type(&out, "/proc"), "proc", "{line}");
        assert!(line.contains(" - proc myproc "), "{line}");
        let o = opts(&out, "/proc");
        for f in ["nosuid", "nodev", "noexec"] {
            assert!(
                o.iter().any(|x| x == f),
                "joined={joined}: {f} missing: {line}"
            );
        }
        assert!(line.contains("hidepid=invisible"), "{line}");
        // The procfs is the container's pid namespace's: the holder's sleep is in it only
        // when joined.
        let sleeps: usize = out.lines().last().unwrap().trim().parse().unwrap();
        assert_eq!(
            sleeps,
            if joined { 1 } else { 0 },
            "joined={joined}:\n{out}"
        );
    }
    rt.rt(&["delete", "-f", &hid]).ok();
}

/// "tmpcopyup" (runc's extension, which podman puts on /tmp, /var/tmp and /run of a
/// --read-only container; rt refused it until the e2e lane showed): the tmpfs starts with
/// a copy of what it covers, symlinks copied and not followed, and keeps the covered
/// directory's mode; a read-only one is filled before it turns read-only. Writes stay in
/// the tmpfs.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn tmpfs_copy_up_fills_the_tmpfs_and_keeps_the_mode() {
    need_root();
    let rt = Rt::new();
    let mut b = Bundle::sh(
        "cat /seed/a /seed/sub/b; readlink /seed/link; stat -c %a /seed; \
         echo new > /seed/new && cat /seed/new; cat /rotmp/f; \
         (echo x > /rotmp/g) 2>/dev/null || echo ro-refused; \
         grep -c ' /seed .* - tmpfs ' /proc/self/mountinfo",
    );
    let seed = b.rootfs().join("seed");
    fs::create_dir_all(seed.join("sub")).unwrap();
    fs::write(seed.join("a"), "a-file\n").unwrap();
    fs::write(seed.join("sub/b"), "b-file\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", seed.join("link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&seed, fs::Permissions::from_mode(0o1770)).unwrap();
    fs::create_dir_all(b.rootfs().join("rotmp")).unwrap();
    fs::write(b.rootfs().join("rotmp/f"), "ro-file\n").unwrap();
    b.add_mount(json!({"destination": "/seed", "type": "tmpfs", "source": "tmpfs", "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}));
    b.add_mount(json!({"destination": "/rotmp", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "tmpcopyup"]}));
    let out = rt.output(&b);
    assert_eq!(
        out,
        "a-file\nb-file\n/etc/passwd\n1770\nnew\nro-file\nro-refused\n1\n"
    );
    assert!(!seed.join("new").exists(), "the write reached the image");
}
