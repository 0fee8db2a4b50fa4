//! Removing exactly what rt created for a container: the leaf directories (after killing
//! what is left in them) and the ancestors no other container still uses.

use std::fs;
use std::path::{Path, PathBuf};

use libcgroups::common::CgroupManager;

use super::apply::*;
use super::error::CgroupError;
use super::host::leaf_dirs;
use super::record::CgroupRecord;
use super::registry::Registry;

/// The container's leaf directories that rt created, one per hierarchy where it did: the
/// only ones whose contents (sub-cgroups, processes) rt may remove. A leaf that existed
/// before the container is never emptied or removed.
fn created_leaves(leaves: &[PathBuf], created: &[PathBuf]) -> Vec<PathBuf> {
    created
        .iter()
        .filter(|d| leaves.contains(d))
        .cloned()
        .collect()
}

/// `dir` and the cgroups below it, deepest first.
pub(super) fn subtree(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), out);
            }
        }
        out.push(dir.to_path_buf());
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

pub(super) fn procs_of(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Empties and removes the leaves rt created, with the cgroups the container made below
/// them (for its processes or `exec --cgroup`). What is still inside is the container's
/// (rt refused a non-empty cgroup at create, see `claim`) and is killed, by pidfd, only
/// while it is still listed in that cgroup; then the directories go, deepest first.
pub(super) fn remove_leaves(leaves: &[PathBuf]) -> Result<(), CgroupError> {
    const ROUNDS: usize = 200;
    // Mostly the container has exited and left its cgroups empty, without sub-cgroups:
    // then one rmdir per leaf does, without listing directories and reading cgroup.procs
    // (a quarter of delete's syscalls on a v1 host). The kernel refuses to remove a cgroup
    // that still has processes or children, so a leaf that is not empty stays for the
    // rounds below.
    let mut busy = Vec::new();
    for leaf in leaves {
        match fs::remove_dir(leaf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => busy.push(leaf.clone()),
        }
    }
    let leaves = busy.as_slice();
    for round in 0..ROUNDS {
        let mut left = false;
        for leaf in leaves {
            for dir in subtree(leaf) {
                for pid in procs_of(&dir) {
                    kill_if_in(&dir, pid);
                }
                match fs::remove_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {
                        left = true;
                    }
                    Err(reason) => return Err(CgroupError::Remove { path: dir, reason }),
                }
            }
        }
        if !left {
            return Ok(());
        }
        // Killed processes leave their cgroup only once they are reaped.
        if round + 1 < ROUNDS {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let busy = leaves
        .iter()
        .find(|l| l.exists())
        .cloned()
        .unwrap_or_default();
    Err(CgroupError::Remove {
        path: busy,
        reason: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

/// SIGKILL for `pid` if it is still in `dir`: checked through a pidfd opened first, so a
/// pid recycled meanwhile is never signalled.
pub(super) fn kill_if_in(dir: &Path, pid: i32) {
    let Some(rpid) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    if procs_of(dir).contains(&pid) {
        let _ = rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL);
    }
}

/// Removes what rt created: the leaf (after killing what is left in it) and any ancestors
/// it created that no other container still uses. Already-removed directories are fine:
/// delete must be idempotent.
pub fn remove(record: &CgroupRecord, id: &str) -> Result<(), CgroupError> {
    if record.systemd {
        return manager(record, id)?
            .remove()
            .map_err(|e| CgroupError::libcgroups("", e));
    }
    let reg = Registry::open()?;
    let created = record.created().map_err(CgroupError::Record)?;
    let leaves = created_leaves(&leaf_dirs(record)?, &created);
    remove_leaves(&leaves)?;
    // The leaves are gone now, and were never noted (see claim): only the ancestors rt
    // created are left to try.
    for dir in created.iter().filter(|d| !leaves.contains(d)) {
        match fs::remove_dir(dir) {
            Ok(()) => reg.forget(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => reg.forget(dir),
            // Another container still uses a shared ancestor: it removes it later.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
            Err(reason) => {
                return Err(CgroupError::Remove {
                    path: dir.clone(),
                    reason,
                });
            }
        }
    }
    reg.forget_stale();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(v: &[&str]) -> Vec<PathBuf> {
        v.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn leaf_ownership() {
        let mut r = CgroupRecord::new("/a/c1".into(), false, None);
        let made = pb(&[
            "/sys/fs/cgroup/cpu/a/c1",
            "/sys/fs/cgroup/cpu/a",
            "/sys/fs/cgroup/memory/a",
        ]);
        r.set_created(&made).unwrap();
        // Only where rt made the leaf (cpu), not where it existed (memory).
        assert_eq!(
            created_leaves(
                &pb(&["/sys/fs/cgroup/cpu/a/c1", "/sys/fs/cgroup/memory/a/c1"]),
                &r.created().unwrap()
            ),
            pb(&["/sys/fs/cgroup/cpu/a/c1"])
        );
        // Kept as written, and read back the same.
        let back: CgroupRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.created().unwrap(), made);
        r.set_created(&[]).unwrap();
        assert!(r.created().unwrap().is_empty());
        assert!(!serde_json::to_string(&r).unwrap().contains("created"));
    }
}
