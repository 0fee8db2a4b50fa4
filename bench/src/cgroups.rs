//! Where the containers' cgroups go, and removing what the run created there.
//!
//! Every container gets `linux.cgroupsPath = <parent>/<id>`, and the runtimes create any
//! missing directory of that path in every hierarchy they use. The driver records which
//! directories of `<parent>` existed before the run and removes, with rmdir only, those that
//! did not: never a cgroup it did not cause to exist.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The cgroup this process is in, from the text of /proc/self/cgroup: the v1 `memory`
/// hierarchy's path if there is one (the machine limits and accounts memory there), else the
/// unified hierarchy's.
pub fn own_cgroup(proc_self_cgroup: &str) -> Option<String> {
    let mut unified = None;
    for line in proc_self_cgroup.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if ctrls.split(',').any(|c| c == "memory") {
            return Some(path.to_string());
        }
        if id == "0" && ctrls.is_empty() {
            unified = Some(path.to_string());
        }
    }
    unified
}

/// The default parent: `rt-bench` below our own cgroup.
pub fn default_parent(own: &str) -> String {
    format!("{}/rt-bench", own.trim_end_matches('/'))
}

/// Mount points of every cgroup (v1) and cgroup2 hierarchy, from the text of
/// /proc/self/mountinfo; one per hierarchy, and only mounts of a hierarchy's root, where a
/// cgroup path maps to `<mount point><path>`.
pub fn hierarchy_mounts(mountinfo: &str) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut mounts = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let fstype = right.split(' ').next().unwrap_or("");
        if l.len() < 5 || !(fstype == "cgroup" || fstype == "cgroup2") || l[3] != "/" {
            continue;
        }
        // The same hierarchy mounted twice has one device number.
        if seen.insert(l[2].to_string()) {
            mounts.push(PathBuf::from(unescape_mountinfo(l[4])));
        }
    }
    mounts
}

/// mountinfo writes space, tab, newline and backslash in paths as octal escapes.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c));
        if octal {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// "/a/b/c" → ["/a", "/a/b", "/a/b/c"].
pub fn path_prefixes(cgroup: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in cgroup.split('/').filter(|c| !c.is_empty()) {
        cur.push('/');
        cur.push_str(c);
        out.push(cur.clone());
    }
    out
}

/// Which directories of the parent path existed, per hierarchy, before the run.
pub struct Snapshot {
    parent: String,
    /// (hierarchy mount point, prefixes of `parent` missing there before the run)
    missing: Vec<(PathBuf, Vec<String>)>,
}

impl Snapshot {
    pub fn take(parent: &str, mounts: &[PathBuf]) -> Snapshot {
        let missing = mounts
            .iter()
            .map(|m| {
                let absent = path_prefixes(parent)
                    .into_iter()
                    .filter(|p| !m.join(&p[1..]).exists())
                    .collect();
                (m.clone(), absent)
            })
            .collect();
        Snapshot {
            parent: parent.to_string(),
            missing,
        }
    }

    /// Creates the missing directories of the parent path in every hierarchy, shallowest
    /// first, before any runtime runs. The parent then belongs to the benchmark: a
    /// runtime that records the parent directories it creates itself (rt does, to remove
    /// a shared parent with its last container) never sees one here, so no runtime's
    /// bookkeeping outlives the run's own `cleanup`.
    pub fn create(&self) -> Result<(), String> {
        for (mount, absent) in &self.missing {
            for p in absent {
                let dir = mount.join(&p[1..]);
                match fs::create_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(format!("creating cgroup {}: {e}", dir.display())),
                }
            }
        }
        Ok(())
    }

    /// True if `<parent>` itself existed in some hierarchy: a leftover of an earlier run, or
    /// someone else's cgroup.
    pub fn parent_existed(&self) -> bool {
        self.missing
            .iter()
            .any(|(_, absent)| !absent.contains(&self.parent))
    }

    /// Removes the container cgroups named in `ids` that a runtime left below the parent
    /// (a problem: that is a runtime bug), then the directories of the parent path that the
    /// run created, deepest first. Directories above the parent may have gained other users
    /// meanwhile; failing to remove those is only a warning.
    pub fn cleanup(&self, ids: &HashSet<String>) -> Cleanup {
        let mut out = Cleanup::default();
        for (mount, absent) in &self.missing {
            let parent_dir = mount.join(&self.parent[1..]);
            if let Ok(entries) = fs::read_dir(&parent_dir) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if ids.contains(&name) && e.path().is_dir() {
                        out.problems.push(format!(
                            "a runtime left the cgroup {} behind; removed it",
                            e.path().display()
                        ));
                        if let Err(w) = rmdir(&e.path()) {
                            out.problems.push(w);
                        }
                    }
                }
            }
            for p in absent.iter().rev() {
                if let Err(w) = rmdir(&mount.join(&p[1..])) {
                    if *p == self.parent {
                        out.problems.push(w);
                    } else {
                        out.warnings.push(format!("{w} (in use by someone else?)"));
                    }
                    // Its parents are not empty either.
                    break;
                }
            }
        }
        out
    }
}

#[derive(Default)]
pub struct Cleanup {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

fn rmdir(dir: &Path) -> Result<(), String> {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("could not remove cgroup {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "9:name=systemd:/\n4:memory:/process_api/c09b\n1:cpu:/\n0::/\n";

    #[test]
    fn own_cgroup_prefers_memory() {
        assert_eq!(own_cgroup(HYBRID).as_deref(), Some("/process_api/c09b"));
        assert_eq!(own_cgroup("3:cpu,memory:/x\n").as_deref(), Some("/x"));
        assert_eq!(
            own_cgroup("0::/user.slice/a.scope\n").as_deref(),
            Some("/user.slice/a.scope")
        );
        assert_eq!(own_cgroup("1:cpu:/\n"), None);
        assert_eq!(
            default_parent("/process_api/c09b"),
            "/process_api/c09b/rt-bench"
        );
        assert_eq!(default_parent("/"), "/rt-bench");
    }

    #[test]
    fn mounts_of_hierarchy_roots() {
        let mi = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:29 / /mnt/cpu\\040again rw - cgroup cgroup rw,cpu
51 23 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw
52 23 0:60 / /run/rt-bench/hugetlb rw shared:9 - cgroup none rw,hugetlb
";
        assert_eq!(
            hierarchy_mounts(mi),
            vec![
                PathBuf::from("/sys/fs/cgroup/cpu"),
                PathBuf::from("/sys/fs/cgroup/unified"),
                PathBuf::from("/run/rt-bench/hugetlb"),
            ]
        );
        assert_eq!(unescape_mountinfo("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape_mountinfo("/end\\04"), "/end\\04");
    }

    #[test]
    fn prefixes() {
        assert_eq!(path_prefixes("/a/b/c"), vec!["/a", "/a/b", "/a/b/c"]);
        assert!(path_prefixes("/").is_empty());
    }
}
