//! The in-root lookups and directory creation that container setup repeats dozens of
//! times, without libpathrs' per-call overhead.
//!
//! libpathrs builds every error eagerly with the path of the fd involved (a readlink of
//! /proc/thread-self/fd/N behind a re-validated procfs handle), and `Root::mkdir_all`
//! re-opens its result through procfs: about twenty syscalls per call that finds nothing
//! or creates something — together a third of a container's start-up. On kernels with
//! openat2 the guarantee rt needs (no symlink, `..` or magic link leads out of the root)
//! is the kernel's own RESOLVE_IN_ROOT, which is also what libpathrs uses there; a missing
//! directory is created with mkdirat in its already-resolved parent and opened with
//! O_NOFOLLOW|O_DIRECTORY, so a symlink swapped in between is never followed. Whenever
//! the fast path cannot answer (no openat2, EAGAIN from a racing rename, anything
//! unexpected) libpathrs does the work, and produces the error.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path};

use pathrs::{Handle, Root};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// What openat2 said: an fd, "nothing there", or "ask libpathrs".
enum Found {
    Fd(OwnedFd),
    Missing,
    Unknown,
}

fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlags) -> Found {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    match rustix::fs::openat2(
        root,
        path,
        flags | OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => Found::Fd(fd),
        Err(Errno::NOENT) => Found::Missing,
        Err(_) => Found::Unknown,
    }
}

/// `root.resolve(path)` (trailing symlinks followed), None if nothing is there.
pub fn try_resolve(root: &Root, path: &Path) -> Option<Handle> {
    match open_in_root(root.as_fd(), path, OFlags::empty()) {
        Found::Fd(fd) => Some(Handle::from_fd(fd)),
        Found::Missing => None,
        Found::Unknown => root.resolve(path).ok(),
    }
}

/// `root.resolve_nofollow(path)`, None if nothing is there.
pub fn try_resolve_nofollow(root: &Root, path: &Path) -> Option<Handle> {
    match open_in_root(root.as_fd(), path, OFlags::NOFOLLOW) {
        Found::Fd(fd) => Some(Handle::from_fd(fd)),
        Found::Missing => None,
        Found::Unknown => root.resolve_nofollow(path).ok(),
    }
}

/// `root.readlink(path).ok()`: the target if `path` is a symlink, None otherwise.
pub fn read_link(root: &Root, path: &Path) -> Option<std::path::PathBuf> {
    let fd = match open_in_root(root.as_fd(), path, OFlags::NOFOLLOW) {
        Found::Fd(fd) => fd,
        Found::Missing => return None,
        Found::Unknown => return root.readlink(path).ok(),
    };
    // readlinkat on an O_PATH fd of a symlink with an empty path reads that symlink; any
    // other file type gives ENOENT.
    match rustix::fs::readlinkat(&fd, "", Vec::new()) {
        Ok(target) => Some(std::ffi::OsString::from_vec(target.into_bytes()).into()),
        Err(_) => None,
    }
}

/// The file type and device numbers of what `h` refers to (fstat works on O_PATH fds).
pub fn stat(h: &Handle) -> std::io::Result<rustix::fs::Stat> {
    rustix::fs::fstat(h).map_err(std::io::Error::from)
}

/// `root.mkdir_all(path, mode)`: the directory, created with any missing parents.
pub fn mkdir_all(root: &Root, path: &Path, mode: u32) -> Result<Handle, pathrs::error::Error> {
    match fast_mkdir_all(root.as_fd(), path, mode) {
        Some(fd) => Ok(Handle::from_fd(fd)),
        None => {
            use std::os::unix::fs::PermissionsExt;
            root.mkdir_all(path, &std::fs::Permissions::from_mode(mode))
        }
    }
}

fn fast_mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> Option<OwnedFd> {
    match open_in_root(root, path, OFlags::DIRECTORY) {
        Found::Fd(fd) => return Some(fd),
        Found::Missing => {}
        Found::Unknown => return None,
    }
    // Only a plain last component is created here; "..", "." and the like are left to
    // libpathrs, which knows what they mean for a path that does not exist yet.
    let Some(Component::Normal(name)) = path.components().next_back() else {
        return None;
    };
    let parent = fast_mkdir_all(root, path.parent()?, mode)?;
    match rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(mode)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(_) => return None,
    }
    rustix::fs::openat(
        &parent,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rt-inroot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn path_of(h: &Handle) -> std::path::PathBuf {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&h.as_fd());
        std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap()
    }

    #[test]
    fn creates_missing_parents_inside_the_root() {
        let d = tmp("mk");
        let root = Root::open(&d).unwrap();
        let h = mkdir_all(&root, Path::new("a/b/c"), 0o755).unwrap();
        assert_eq!(path_of(&h), d.join("a/b/c"));
        // Existing: the same directory again.
        let h = mkdir_all(&root, Path::new("a/b/c"), 0o755).unwrap();
        assert_eq!(path_of(&h), d.join("a/b/c"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlinks_cannot_lead_out_of_the_root() {
        let d = tmp("esc");
        std::fs::create_dir_all(d.join("r/inside")).unwrap();
        // Absolute targets and ".." are taken inside the root: /tmp/rt-inroot-target would
        // be outside, r/tmp/rt-inroot-target inside.
        let outside = std::env::temp_dir().join(format!("rt-inroot-target-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        symlink("/inside", d.join("r/abs")).unwrap();
        symlink(&outside, d.join("r/out")).unwrap();
        symlink("../../../../../..", d.join("r/up")).unwrap();
        let root = Root::open(d.join("r")).unwrap();
        let h = mkdir_all(&root, Path::new("abs/x"), 0o755).unwrap();
        assert_eq!(path_of(&h), d.join("r/inside/x"));
        let h = mkdir_all(&root, Path::new("up/y"), 0o755).unwrap();
        assert_eq!(path_of(&h), d.join("r/y"));
        // A symlink to a directory that exists only outside: never followed out.
        assert!(mkdir_all(&root, Path::new("out/z"), 0o755).is_err());
        assert!(!outside.join("z").exists());
        assert!(try_resolve(&root, Path::new("out")).is_none());
        assert!(try_resolve(&root, Path::new("up/nothing")).is_none());
        assert_eq!(
            read_link(&root, Path::new("up")),
            Some("../../../../../..".into())
        );
        assert_eq!(read_link(&root, Path::new("y")), None);
        assert_eq!(read_link(&root, Path::new("nothing")), None);
        let h = try_resolve_nofollow(&root, Path::new("abs")).unwrap();
        let meta = rustix::fs::fstat(&h).unwrap();
        assert_eq!(
            rustix::fs::FileType::from_raw_mode(meta.st_mode),
            rustix::fs::FileType::Symlink
        );
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let d = tmp("file");
        std::fs::write(d.join("f"), "").unwrap();
        let root = Root::open(&d).unwrap();
        assert!(mkdir_all(&root, Path::new("f/x"), 0o755).is_err());
        assert!(mkdir_all(&root, Path::new("f"), 0o755).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
