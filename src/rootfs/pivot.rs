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
    match pivot_root(".", ".") {
        Ok(()) => {}
        // The host's root is the kernel's rootfs (rt runs from an initramfs): it is the
        // mount namespace's root mount, which has no parent, and pivot_root refuses to
        // move it. What --no-pivot does is then the only way in; runc's initramfs test
        // expects a plain `run` to work there.
        Err(nix::Error::EINVAL) if root_is_namespace_root() => return move_and_chroot(root),
        Err(e) => return Err(e).ctx(|| "pivot_root"),
    }
    umount2(".", MntFlags::MNT_DETACH).ctx(|| "pivot_root: detaching the old root")?;
    chdir("/").ctx(|| "pivot_root: entering /")
}

/// Whether this process's root is its mount namespace's root mount (its own parent in
/// mountinfo), as the kernel's rootfs is when an initramfs is the host's root.
fn root_is_namespace_root() -> bool {
    procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .is_ok_and(|infos| {
            infos
                .iter()
                .rev()
                .find(|m| m.mount_point == std::path::Path::new("/"))
                .is_some_and(|m| m.mnt_id == m.pid)
        })
}

/// --no-pivot, for roots pivot_root refuses (an initramfs): move the rootfs mount over `/`
/// and chroot into it. The host's mounts stay in the namespace, merely unreachable by path,
/// so its proc and sysfs mounts go first (`hide_host_kernel_fs`).
fn move_and_chroot(root: &Root) -> Result<(), StepError> {
    hide_host_kernel_fs(root)?;
    fchdir(root.as_fd().as_raw_fd()).ctx(|| "--no-pivot: entering the rootfs")?;
    mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
        .ctx(|| "--no-pivot: moving the rootfs onto /")?;
    chroot(".").ctx(|| "--no-pivot: chroot")?;
    chdir("/").ctx(|| "--no-pivot: entering /")
}

/// The kernel lets a process mount a new proc or sysfs (in a user namespace of its own)
/// only where one is already fully visible in its mount namespace, so that the new one
/// shows nothing the old one hid. After --no-pivot the host's unmasked /proc and /sys are
/// still in the container's namespace, merely out of reach by path: they would allow a
/// proc mount without the container's maskedPaths (runc's no_pivot.bats). Each is
/// unmounted from this namespace (a slave of the host's: nothing propagates back), or,
/// where the kernel keeps it locked (a user namespace's inherited mounts), covered by an
/// empty read-only tmpfs. The rootfs' own mounts stay.
fn hide_host_kernel_fs(root: &Root) -> Result<(), StepError> {
    let rootfs = std::fs::read_link(super::mount::fd_path(root.as_fd()))
        .ctx(|| "--no-pivot: locating the rootfs")?;
    let infos = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(|e| StepError::msg("--no-pivot: reading /proc/self/mountinfo", e.to_string()))?;
    let mut host: Vec<_> = infos
        .iter()
        .filter(|m| matches!(m.fs_type.as_str(), "proc" | "sysfs"))
        .filter(|m| !m.mount_point.starts_with(&rootfs))
        .map(|m| m.mount_point.clone())
        .collect();
    // Deepest first; a mount already gone with its parent's detach is no error.
    host.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in host {
        let what = || format!("--no-pivot: hiding the host's {}", point.display());
        match umount2(&point, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::ENOENT) => {}
            Err(nix::Error::EINVAL) if !is_mount_point(&point) => {}
            Err(_) => mount(
                Some("tmpfs"),
                &point,
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("size=0,mode=555"),
            )
            .ctx(what)?,
        }
    }
    Ok(())
}

/// Whether `path` is still a mount point in this namespace.
fn is_mount_point(path: &std::path::Path) -> bool {
    procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .is_ok_and(|infos| infos.iter().any(|m| m.mount_point == path))
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
