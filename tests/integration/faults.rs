//! Faults rt cannot prevent (issue 13): a full state directory, too few file descriptors.
//! Each must end with one clear line, exit code 1 and nothing left: no state or staging
//! directory, no cgroup, no process, no mount.

use std::fs;
use std::process::Command;

use crate::common::*;

/// A small tmpfs of the test's own, unmounted (lazily) when dropped.
struct SmallTmpfs(TempDir);

impl SmallTmpfs {
    fn new(size: &str) -> SmallTmpfs {
        let dir = TempDir::new("tmpfs");
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(format!("size={size}").as_str()),
        )
        .unwrap();
        SmallTmpfs(dir)
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.0.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

fn assert_nothing_of(id: &str, bundle: &Bundle) {
    assert_eq!(cgroup_dirs_named(id), Vec::<std::path::PathBuf>::new());
    assert_eq!(processes_mentioning(id), Vec::<i32>::new());
    assert_eq!(host_mounts_under(bundle.path()), Vec::<String>::new());
}

#[test]
fn full_state_directory_fails_cleanly() {
    if !need_root() {
        return;
    }
    let root = SmallTmpfs::new("64k");
    // Full to the last block.
    let _ = fs::write(root.0.path().join("filler"), vec![0u8; 1 << 20]);
    let b = Bundle::new(&["true"]);
    let id = unique("full");
    let out = capture(Command::new(RT).arg("--root").arg(root.0.path()).args([
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no space left on device"),
        "{}",
        out.stderr
    );
    let left: Vec<_> = fs::read_dir(root.0.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("filler")]);
    assert_nothing_of(&id, &b);
}

#[test]
fn too_few_file_descriptors_fail_cleanly() {
    if !need_root() {
        return;
    }
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    // Each limit runs out at a different step of create. Around 8 or 9, libpathrs (a
    // dependency) panics in rt's cgroup-manager thread when it cannot open
    // /proc/thread-self: that is one line and a failed create too.
    for limit in 4..=14 {
        let id = unique("emfile");
        let out = capture(
            Command::new("prlimit")
                .arg(format!("--nofile={limit}:{limit}"))
                .arg(RT)
                .arg("--root")
                .arg(rt.root())
                .args(["run", "--bundle", b.path().to_str().unwrap(), &id]),
        );
        if out.code == 0 {
            // Enough for rt after all: then it must have worked completely.
            assert_no_trace(&rt, &id, &b);
            continue;
        }
        assert_eq!(out.code, 1, "limit {limit}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "limit {limit}: {}",
            out.stderr
        );
        // What is said depends on where the fds ran out, in rt ("too many open files"),
        // in the config's RLIMIT_NOFILE of 1024 above a hard limit this machine's root
        // may not raise, or inside a library that misreads EMFILE (libcgroups: "cgroup
        // devices ... is not supported"): one line in every case.
        eprintln!("limit {limit}: {}", out.stderr.trim());
        rt.rt(&["list", "-q"]).ok();
        assert_no_trace(&rt, &id, &b);
    }
}
