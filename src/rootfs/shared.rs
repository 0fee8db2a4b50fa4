//! A container without a mount namespace of its own (none in linux.namespaces: shared
//! with rt's, the host's) gets its mounts made on the host's mount table, all below the
//! bind of the rootfs onto itself that `prepare` makes first. runc leaves such mounts
//! behind on the host for good; rt detaches that one bind when the container is deleted
//! (or its create fails), which takes every mount below it along.
//!
//! The bind is recognised by its mount id, not by path alone: `create` notes the id of
//! the mount at root.path before the init exists and the id of the bind once the init is
//! ready, and only a mount at root.path with that id is ever detached.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags, open, statx};

/// STATX_MNT_ID_UNIQUE (Linux 6.8): a 64-bit mount id that is never reused. Older kernels
/// answer with the reusable STATX_MNT_ID instead, which is still exact while the mount
/// exists.
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;

fn mount_id_of(fd: BorrowedFd<'_>) -> std::io::Result<u64> {
    let st = statx(
        fd,
        "",
        AtFlags::EMPTY_PATH,
        StatxFlags::MNT_ID | StatxFlags::from_bits_retain(STATX_MNT_ID_UNIQUE),
    )?;
    Ok(st.stx_mnt_id)
}

fn open_dir(path: &Path) -> std::io::Result<rustix::fd::OwnedFd> {
    Ok(open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The id of the mount `path` (a directory) is on, or, if `path` is a mount point, of
/// the topmost mount there.
pub fn mount_id(path: &Path) -> std::io::Result<u64> {
    mount_id_of(open_dir(path)?.as_fd())
}

/// Detaches the mount at `rootfs` if it is still the one with id `bind`, with everything
/// mounted below it. Returns whether it did. The mount is named through an fd of the
/// checked mount, so a path swapped in meanwhile cannot redirect the unmount.
pub fn detach(rootfs: &Path, bind: u64) -> std::io::Result<bool> {
    let fd = match open_dir(rootfs) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if mount_id_of(fd.as_fd())? != bind {
        return Ok(false);
    }
    let by_fd = format!("/proc/self/fd/{}", fd.as_raw_fd());
    nix::mount::umount2(by_fd.as_str(), nix::mount::MntFlags::MNT_DETACH)?;
    Ok(true)
}
