//! Making the rootfs the container's `/` and leaving nothing of the host's tree behind.

use std::os::fd::{AsFd, AsRawFd};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use pathrs::Root;

use crate::error::{Ctx, StepError};

/// pivot_root(".", ".") stacks the old root on top of the new one at the same place, so
/// no directory for the old root is needed inside the image; unmounting "." right after
/// then detaches the whole host tree (umount2 resolves "." to the topmost mount there).
///
/// The unmount cannot propagate to the host: the whole tree was made a recursive slave
/// before anything else (`isolate_from_host`), and a slave sends no events. Making "."
/// a slave again here, as is often done, would be wrong: mount(2) resolves "." to the new
/// root, not the old one, and would strip the propagation that mounts[] asked for.
fn pivot(root: &Root) -> Result<(), StepError> {
    fchdir(root.as_fd().as_raw_fd()).ctx(|| "pivot_root: entering the rootfs")?;
    pivot_root(".", ".").ctx(|| "pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "pivot_root: detaching the old root")?;
    chdir("/").ctx(|| "pivot_root: entering /")
}

/// --no-pivot, for roots pivot_root refuses (an initramfs): move the rootfs mount over `/`
/// and chroot into it. The host's mounts stay in the namespace, merely unreachable by path.
fn move_and_chroot(root: &Root) -> Result<(), StepError> {
    fchdir(root.as_fd().as_raw_fd()).ctx(|| "--no-pivot: entering the rootfs")?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .ctx(|| "--no-pivot: moving the rootfs onto /")?;
    chroot(".").ctx(|| "--no-pivot: chroot")?;
    chdir("/").ctx(|| "--no-pivot: entering /")
}

/// A mount namespace shared with rt (the host's): pivot_root would change the root of
/// every process on the host, and moving the rootfs over `/` would hide the host's root
/// from them, so the container only gets the rootfs as its root directory.
fn chroot_only(root: &Root) -> Result<(), StepError> {
    fchdir(root.as_fd().as_raw_fd()).ctx(|| "chroot: entering the rootfs")?;
    chroot(".").ctx(|| "chroot")?;
    chdir("/").ctx(|| "chroot: entering /")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Pivot,
    /// --no-pivot.
    MoveAndChroot,
    /// No mount namespace of the container's own.
    Chroot,
}

pub fn enter(root: &Root, how: Entry) -> Result<(), StepError> {
    match how {
        Entry::Pivot => pivot(root),
        Entry::MoveAndChroot => move_and_chroot(root),
        Entry::Chroot => chroot_only(root),
    }
}
