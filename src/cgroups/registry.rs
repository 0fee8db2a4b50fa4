//! The note of intermediate cgroup directories rt created, shared by every rt on the host.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::CgroupError;

/// Where rt notes the intermediate cgroup directories it created. Two containers can
/// share such a parent (both below rt's own cgroup, say); whichever of them is deleted
/// last removes it, and a directory rt did not create is never removed. The note lives
/// outside any --root, as cgroups are shared by every --root on the host.
pub const REGISTRY: &str = "/run/rt.cgroups";

/// FNV-1a: a stable file name for a cgroup path of any length.
fn registry_name(dir: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The locked registry; dropping it unlocks.
pub struct Registry {
    dir: PathBuf,
    _lock: nix::fcntl::Flock<fs::File>,
    /// The notes (name, and the directory written in it), read at the first question and
    /// kept up to date by this handle (no other rt changes them while it holds the lock):
    /// a claim asks about every existing directory on the way to the container's cgroup
    /// (30 on a hybrid host for a path three levels deep), and opening a note that does
    /// not exist costs a path lookup each time. A note that cannot be read is left out, as
    /// if it were not there. None until read, or if the directory could not be listed
    /// (then each note is opened).
    notes: RefCell<Option<HashMap<String, Vec<u8>>>>,
}

impl Registry {
    pub fn open() -> Result<Registry, CgroupError> {
        Registry::open_at(Path::new(REGISTRY))
    }

    fn open_at(dir: &Path) -> Result<Registry, CgroupError> {
        let err = |reason| CgroupError::Remove {
            path: dir.to_path_buf(),
            reason,
        };
        fs::create_dir_all(dir).map_err(err)?;
        let f = fs::File::open(dir).map_err(err)?;
        let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| err(e.into()))?;
        Ok(Registry {
            dir: dir.to_path_buf(),
            _lock: lock,
            notes: RefCell::new(None),
        })
    }

    pub fn note(&self, cgroup_dir: &Path) -> std::io::Result<()> {
        let name = registry_name(cgroup_dir);
        let content = cgroup_dir.as_os_str().as_encoded_bytes();
        fs::write(self.dir.join(&name), content)?;
        if let Some(notes) = self.notes.borrow_mut().as_mut() {
            notes.insert(name, content.to_vec());
        }
        Ok(())
    }

    /// Reads the notes once per handle (see `notes`).
    fn read_all(&self) {
        if self.notes.borrow().is_some() {
            return;
        }
        let read = fs::read_dir(&self.dir).and_then(|entries| {
            let mut notes = HashMap::new();
            for e in entries {
                let name = e?.file_name().to_string_lossy().into_owned();
                if let Ok(content) = fs::read(self.dir.join(&name)) {
                    notes.insert(name, content);
                }
            }
            Ok(notes)
        });
        *self.notes.borrow_mut() = read.ok();
    }

    pub fn is_noted(&self, cgroup_dir: &Path) -> bool {
        let name = registry_name(cgroup_dir);
        let mine = |content: &[u8]| content == cgroup_dir.as_os_str().as_encoded_bytes();
        self.read_all();
        // The name is a hash: the note's content tells whether it is this directory's.
        match self.notes.borrow().as_ref() {
            Some(notes) => notes.get(&name).is_some_and(|c| mine(c)),
            None => fs::read(self.dir.join(&name)).is_ok_and(|c| mine(&c)),
        }
    }

    /// Forgets the notes of directories that do not exist. A note is written before its
    /// directory is made, both under this lock, so with the lock held a note without its
    /// directory is one whose creator was killed in between (or whose directory someone
    /// removed): kept, it would make rt take for its own a directory that another
    /// runtime or an administrator makes there later, and remove it with the last
    /// container below it. Called by every claim and every removal.
    pub fn forget_stale(&self) {
        self.read_all();
        let stale: Vec<String> = match self.notes.borrow().as_ref() {
            Some(notes) => notes
                .iter()
                // An empty note is one whose writer was killed mid-write.
                .filter(|(_, content)| content.is_empty() || !exists(content))
                .map(|(name, _)| name.clone())
                .collect(),
            None => return,
        };
        for name in stale {
            self.forget_name(&name);
        }
    }

    pub fn forget(&self, cgroup_dir: &Path) {
        self.forget_name(&registry_name(cgroup_dir));
    }

    fn forget_name(&self, name: &str) {
        let _ = fs::remove_file(self.dir.join(name));
        if let Some(notes) = self.notes.borrow_mut().as_mut() {
            notes.remove(name);
        }
    }
}

/// Whether the directory written in a note exists; an error other than "not found"
/// counts as existing (the note is kept).
fn exists(content: &[u8]) -> bool {
    match fs::symlink_metadata(Path::new(std::ffi::OsStr::from_bytes(content))) {
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        Ok(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tells_shared_parents_apart() {
        let dir = std::env::temp_dir().join(format!("rt-registry-{}", std::process::id()));
        let reg = Registry::open_at(&dir).unwrap();
        let a = Path::new("/sys/fs/cgroup/cpu/x");
        let b = Path::new("/sys/fs/cgroup/cpu/y");
        reg.note(a).unwrap();
        assert!(reg.is_noted(a));
        assert!(!reg.is_noted(b));
        // Listed now: notes and forgets through the handle keep the listing true.
        reg.note(b).unwrap();
        assert!(reg.is_noted(b));
        reg.forget(a);
        assert!(!reg.is_noted(a));
        assert!(reg.is_noted(b));
        // A note whose content names another directory (a hash collision) is not this one's.
        fs::write(dir.join(registry_name(a)), "/elsewhere").unwrap();
        drop(reg);
        let reg = Registry::open_at(&dir).unwrap();
        assert!(!reg.is_noted(a));
        assert!(reg.is_noted(b));
        // Notes of directories that do not exist (a creator killed between its note and
        // its mkdir) and empty ones (killed mid-write) are forgotten; others stay.
        let existing = dir.join("made");
        fs::create_dir(&existing).unwrap();
        reg.note(&existing).unwrap();
        fs::write(dir.join("0000000000000000"), "").unwrap();
        drop(reg);
        let reg = Registry::open_at(&dir).unwrap();
        reg.forget_stale();
        assert!(!reg.is_noted(b), "/sys/fs/cgroup/cpu/y does not exist");
        assert!(
            !dir.join(registry_name(a)).exists(),
            "/elsewhere does not exist"
        );
        assert!(reg.is_noted(&existing));
        assert!(!dir.join("0000000000000000").exists());
        assert_ne!(registry_name(a), registry_name(b));
        assert_eq!(registry_name(a).len(), 16);
        drop(reg);
        fs::remove_dir_all(&dir).unwrap();
    }
}
