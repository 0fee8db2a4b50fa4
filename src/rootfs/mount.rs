//! Mount primitives the rootfs steps share: paths handed to the kernel by fd, per-mount
//! flags and attributes, detached bind trees and attaching them.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, statvfs};
use pathrs::Root;

use super::options::MountOptions;
use crate::error::{Ctx, StepError};

/// `/proc/self/fd/N` for an fd: how the kernel is handed an already-resolved path.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// A path inside the container, without its leading `/`, as libpathrs wants it.
pub fn in_root(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect()
}

/// Resolves the symlinks in `path` as if `root` were `/`, without requiring the result
/// to exist: a dangling symlink (an image's /etc/resolv.conf pointing into /run, say)
/// yields the path it points to, inside the root, so that it can be created there.
/// `..` never climbs above the root. The result has no symlinks in its existing prefix;
/// creating it afterwards goes through libpathrs, so a symlink swapped in meanwhile
/// still cannot lead outside.
pub fn resolve_in_root(root: &Root, path: &Path) -> Result<PathBuf, StepError> {
    use std::collections::VecDeque;
    use std::path::Component;
    const MAX_LINKS: usize = 40;
    let mut todo: VecDeque<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut done = PathBuf::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            done.pop();
            continue;
        }
        let candidate = done.join(&c);
        match super::inroot::read_link(root, &candidate) {
            Some(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(StepError::msg(
                        path.display().to_string(),
                        "too many levels of symbolic links",
                    ));
                }
                if target.is_absolute() {
                    done = PathBuf::new();
                }
                for (i, t) in target
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s.to_owned()),
                        Component::ParentDir => Some("..".into()),
                        _ => None,
                    })
                    .enumerate()
                {
                    todo.insert(i, t);
                }
            }
            // Not a symlink, or not there (yet): take it as it is.
            None => done = candidate,
        }
    }
    Ok(done)
}

/// The per-mount flags a mount has now, as MS_* bits.
fn current_flags(target: &str) -> nix::Result<MsFlags> {
    let current = statvfs(target)?.flags();
    let mut flags = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(fs) {
            flags |= ms;
        }
    }
    Ok(flags)
}

/// Makes the mount at `target` read-only, keeping its other per-mount flags: the kernel
/// changes them only through a bind remount, which replaces all of them.
pub(super) fn remount_read_only(target: &str, what: impl Fn() -> String) -> Result<(), StepError> {
    let flags = MsFlags::MS_RDONLY | current_flags(target).ctx(&what)?;
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags,
        None::<&str>,
    )
    .ctx(what)
}

pub(super) fn set_propagation(
    target: &str,
    opts: &MountOptions,
    field: &str,
) -> Result<(), StepError> {
    for p in &opts.propagation {
        mount(None::<&str>, target, None::<&str>, *p, None::<&str>)
            .ctx(|| format!("{field}: setting propagation"))?;
    }
    Ok(())
}

/// Kernel ABI of `struct mount_attr` (include/uapi/linux/mount.h, MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount `fd` refers to (`recursive`: and every mount below it).
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    userns: Option<BorrowedFd<'_>>,
) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: userns.map(|u| u.as_raw_fd() as u64).unwrap_or(0),
    };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr reads `size_of::<MountAttr>()` bytes from a valid, initialised
    // struct that outlives the call; the path is a NUL-terminated empty string used with
    // AT_EMPTY_PATH on an fd we own.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// "rro" and friends: mount_setattr with AT_RECURSIVE is the only way to make a whole tree
/// read-only (or nosuid, ...) at once.
pub(super) fn set_recursive_attrs(
    fd: BorrowedFd<'_>,
    set: u64,
    clr: u64,
    field: &str,
) -> Result<(), StepError> {
    mount_setattr(fd, true, set, clr, None)
        .ctx(|| format!("{field}: applying recursive mount attributes"))
}

/// MS_* per-mount flags as mount_setattr(2) attributes: (to set, to clear first). An atime
/// mode clears the whole atime field before it sets its own.
pub(super) fn attrs_of(flags: MsFlags) -> (u64, u64) {
    use super::options::attr;
    let mut set = 0;
    let mut clr = 0;
    for (ms, a) in [
        (MsFlags::MS_RDONLY, attr::RDONLY),
        (MsFlags::MS_NOSUID, attr::NOSUID),
        (MsFlags::MS_NODEV, attr::NODEV),
        (MsFlags::MS_NOEXEC, attr::NOEXEC),
        (MsFlags::MS_NODIRATIME, attr::NODIRATIME),
    ] {
        if flags.contains(ms) {
            set |= a;
        }
    }
    for (ms, a) in [
        (MsFlags::MS_NOATIME, attr::NOATIME),
        (MsFlags::MS_STRICTATIME, attr::STRICTATIME),
        (MsFlags::MS_RELATIME, attr::RELATIME),
    ] {
        if flags.contains(ms) {
            set = (set & !attr::ATIME_MASK) | a;
            clr |= attr::ATIME_MASK;
        }
    }
    (set, clr)
}

/// Gives a detached bind tree the per-mount `flags` before it is attached anywhere, so no
/// path is resolved again afterwards (a remount through a re-resolved path could be
/// redirected by whoever shares the mount's source). The top mount gets exactly `flags`
/// (`keep`: they are added to what it has), as a bind remount would give it; with
/// `recursive`, read-only, nosuid, nodev and noexec also hold for every mount below it
/// (the CVE-2023-25809 class: a read-only rbind of /sys whose cgroup mounts below stayed
/// writable).
pub(super) fn set_bind_flags(
    tree: BorrowedFd<'_>,
    flags: MsFlags,
    keep: bool,
    recursive: bool,
    what: &impl Fn() -> String,
) -> Result<(), StepError> {
    use super::options::attr;
    let (set, atime_clr) = attrs_of(flags & super::options::PER_MOUNT_FLAGS);
    let others =
        (attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC | attr::NODIRATIME) & !set;
    let clr = if keep { atime_clr } else { atime_clr | others };
    match mount_setattr(tree, false, set, clr, None) {
        // Flags locked by a user namespace cannot be cleared: keep them, as a remount would.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && clr != atime_clr => {
            mount_setattr(tree, false, set, atime_clr, None).ctx(what)?
        }
        other => other.ctx(what)?,
    }
    let restrict = set & (attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC);
    if recursive && restrict != 0 {
        mount_setattr(tree, true, restrict, 0, None).ctx(what)?;
    }
    Ok(())
}

/// A detached copy of the mount tree at `path` (below `dirfd`; "" for `dirfd` itself),
/// recursive with `recursive`, with `flags` already applied (see set_bind_flags).
pub fn detached_bind(
    dirfd: BorrowedFd<'_>,
    path: &Path,
    recursive: bool,
    flags: MsFlags,
    keep: bool,
    what: impl Fn() -> String,
) -> Result<rustix::fd::OwnedFd, StepError> {
    use rustix::mount::OpenTreeFlags;
    let mut of = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        of |= OpenTreeFlags::AT_RECURSIVE;
    }
    if path.as_os_str().is_empty() {
        of |= OpenTreeFlags::AT_EMPTY_PATH;
    }
    let tree = rustix::mount::open_tree(dirfd, path, of)
        .map_err(std::io::Error::from)
        .ctx(&what)?;
    set_bind_flags(tree.as_fd(), flags, keep, recursive, &what)?;
    Ok(tree)
}

/// Attaches a detached tree onto `target` (an fd of the mount point).
pub fn attach(
    tree: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    what: impl Fn() -> String,
) -> Result<(), StepError> {
    use rustix::mount::MoveMountFlags;
    rustix::mount::move_mount(
        tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(std::io::Error::from)
    .ctx(what)
}
