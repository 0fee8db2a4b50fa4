//! The "tmpcopyup" mount option (a runc extension podman and CRI-O use for `--read-only`
//! containers' /tmp, /var/tmp and /run): a tmpfs mounted over a directory of the image
//! starts with a copy of what that directory held.
//!
//! The image is hostile: everything is read through fds below the directory's own
//! (openat with O_NOFOLLOW, never a path from the top), symlinks are copied as symlinks
//! and never followed, and only directories, regular files and symlinks are copied (a
//! device node or FIFO of the image is left out, as a tmpfs of one's own would not have
//! it). The depth is bounded; a tree too big for the tmpfs fails the mount (ENOSPC).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// Deeper trees are refused rather than recursed into.
const MAX_DEPTH: usize = 64;

fn open_dir(dir: BorrowedFd<'_>, name: &std::ffi::CStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Copies the contents of the directory `src` into the directory `dst`, keeping modes,
/// owners and symlinks.
pub fn copy_contents(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    copy_dir(src, dst, 0)
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "more than {MAX_DEPTH} levels of directories"
        )));
    }
    for entry in rustix::fs::Dir::read_from(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let st = rustix::fs::statat(src, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                rustix::fs::mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
                let from = open_dir(src, name)?;
                let to = open_dir(dst, name)?;
                copy_dir(from.as_fd(), to.as_fd(), depth + 1)?;
                set_owner_and_mode(to.as_fd(), &st, mode)?;
            }
            FileType::RegularFile => {
                let from = rustix::fs::openat(
                    src,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let to = rustix::fs::openat(
                    dst,
                    name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let mut from = std::fs::File::from(from);
                let mut to = std::fs::File::from(to);
                io::copy(&mut from, &mut to)?;
                set_owner_and_mode(to.as_fd(), &st, mode)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(src, name, Vec::new())?;
                rustix::fs::symlinkat(&target, dst, name)?;
                rustix::fs::chownat(
                    dst,
                    name,
                    Some(rustix::fs::Uid::from_raw(st.st_uid)),
                    Some(rustix::fs::Gid::from_raw(st.st_gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn set_owner_and_mode(fd: BorrowedFd<'_>, st: &rustix::fs::Stat, mode: Mode) -> io::Result<()> {
    rustix::fs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw(st.st_uid)),
        Some(rustix::fs::Gid::from_raw(st.st_gid)),
    )?;
    // After the chown, which clears set-id bits.
    Ok(rustix::fs::fchmod(fd, mode)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    #[test]
    fn copies_files_dirs_and_symlinks_without_following() {
        let base = std::env::temp_dir().join(format!("rt-copyup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("sub/deeper/f"), "data").unwrap();
        std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::write(src.join("exe"), "x").unwrap();
        std::fs::set_permissions(src.join("exe"), std::fs::Permissions::from_mode(0o751)).unwrap();
        symlink("/etc/passwd", src.join("host")).unwrap();
        let open = |p: &std::path::Path| std::fs::File::open(p).unwrap();
        copy_contents(open(&src).as_fd(), open(&dst).as_fd()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dst.join("sub/deeper/f")).unwrap(),
            "data"
        );
        let mode = |p: &str| std::fs::symlink_metadata(dst.join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("sub"), 0o1777);
        assert_eq!(mode("exe"), 0o751);
        assert_eq!(
            std::fs::read_link(dst.join("host")).unwrap(),
            std::path::Path::new("/etc/passwd")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
