//! /dev inside the container: the default device nodes every container gets, the ones
//! listed in linux.devices, and the conventional links (/dev/fd, /dev/std*, /dev/ptmx).
//!
//! Device nodes are made with mknod. Inside a user namespace mknod is refused for device
//! nodes, so there the host's node is bind-mounted onto an empty file instead (what the
//! container then sees is the host device, subject to the device cgroup).

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount};
use pathrs::flags::OpenFlags;
use pathrs::{InodeType, Root};

use super::mount::{fd_path, in_root};
use crate::error::{Ctx, StepError};

/// The device nodes runc gives every container whose /dev is not the host's.
const DEFAULTS: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub struct Node {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

fn node_from_config(d: &LinuxDevice) -> Result<Node, StepError> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(StepError::msg(
                format!("linux.devices ({})", d.path().display()),
                "type \"a\" is only valid in linux.resources.devices",
            ));
        }
    };
    Ok(Node {
        path: d.path().clone(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// Makes `node` inside the rootfs. An existing node of the same kind and numbers is left
/// alone; anything else in the way is an error rather than silently replaced.
fn make_node(root: &Root, node: &Node, in_user_ns: bool) -> Result<(), StepError> {
    let field = format!("linux.devices ({})", node.path.display());
    let rel = in_root(&node.path);
    if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        super::inroot::mkdir_all(root, parent, 0o755)
            .ctx(|| format!("{field}: creating parent directory"))?;
    }
    if let Some(existing) = super::inroot::try_resolve_nofollow(root, &rel) {
        use rustix::fs::FileType;
        let meta =
            super::inroot::stat(&existing).ctx(|| format!("{field}: inspecting existing file"))?;
        let kind = FileType::from_raw_mode(meta.st_mode);
        if kind == FileType::Symlink {
            return Err(StepError::msg(field, "a symlink is in the way"));
        }
        let same = match node.kind {
            SFlag::S_IFCHR => kind == FileType::CharacterDevice,
            SFlag::S_IFBLK => kind == FileType::BlockDevice,
            _ => kind == FileType::Fifo,
        } && (node.kind == SFlag::S_IFIFO
            || meta.st_rdev == nix::sys::stat::makedev(node.major, node.minor));
        if same {
            return Ok(());
        }
        return Err(StepError::msg(
            field,
            "a different file already exists there",
        ));
    }
    let perm = fs::Permissions::from_mode(node.mode);
    let dev = nix::sys::stat::makedev(node.major, node.minor);
    let made = match node.kind {
        SFlag::S_IFCHR => root.create(&rel, &InodeType::CharacterDevice(perm, dev)),
        SFlag::S_IFBLK => root.create(&rel, &InodeType::BlockDevice(perm, dev)),
        _ => root.create(&rel, &InodeType::Fifo(perm)),
    };
    match made {
        Ok(()) => {}
        Err(e) if in_user_ns && node.kind != SFlag::S_IFIFO => {
            crate::debug!("{field}: mknod failed ({e}); bind-mounting the host device");
            return bind_host_device(root, node, &rel, &field);
        }
        Err(e) => return Err(e).ctx(|| format!("{field}: mknod")),
    }
    let handle = root
        .resolve_nofollow(&rel)
        .ctx(|| format!("{field}: opening new node"))?;
    let path = fd_path(handle.as_fd());
    // The umask must not trim fileMode, and mknod applies it: set the mode explicitly.
    fchmodat(
        None,
        path.as_str(),
        Mode::from_bits_truncate(node.mode),
        FchmodatFlags::FollowSymlink,
    )
    .ctx(|| format!("{field}: chmod"))?;
    nix::unistd::chown(
        path.as_str(),
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
    )
    .ctx(|| format!("{field}: chown {}:{}", node.uid, node.gid))
}

fn bind_host_device(root: &Root, node: &Node, rel: &Path, field: &str) -> Result<(), StepError> {
    let meta = fs::metadata(&node.path).ctx(|| format!("{field}: host device"))?;
    if meta.rdev() != nix::sys::stat::makedev(node.major, node.minor) {
        return Err(StepError::msg(
            field,
            "cannot mknod in a user namespace and the host's node has other numbers",
        ));
    }
    root.create_file(
        rel,
        OpenFlags::O_CREAT | OpenFlags::O_EXCL | OpenFlags::O_CLOEXEC,
        &fs::Permissions::from_mode(0o644),
    )
    .ctx(|| format!("{field}: creating mount point"))?;
    let target = root
        .resolve_nofollow(rel)
        .ctx(|| format!("{field}: opening mount point"))?;
    mount(
        Some(&node.path),
        fd_path(target.as_fd()).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .ctx(|| format!("{field}: bind-mounting the host device"))
}

pub fn create_defaults(
    root: &Root,
    configured: &[LinuxDevice],
    in_user_ns: bool,
) -> Result<(), StepError> {
    for (path, major, minor) in DEFAULTS {
        // linux.devices may redefine a default node (other owner or mode): it wins.
        if configured.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        let node = Node {
            path: PathBuf::from(path),
            kind: SFlag::S_IFCHR,
            major: *major as u64,
            minor: *minor as u64,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        make_node(root, &node, in_user_ns)?;
    }
    Ok(())
}

pub fn create_configured(
    root: &Root,
    configured: &[LinuxDevice],
    in_user_ns: bool,
) -> Result<(), StepError> {
    for (i, d) in configured.iter().enumerate() {
        let node = node_from_config(d).map_err(|e| StepError {
            what: format!("linux.devices[{i}]"),
            ..e
        })?;
        make_node(root, &node, in_user_ns).map_err(|e| StepError {
            what: e
                .what
                .replacen("linux.devices", &format!("linux.devices[{i}]"), 1),
            ..e
        })?;
    }
    Ok(())
}

/// /dev/fd and /dev/std{in,out,err} (for shells), /dev/ptmx pointing into the
/// container's own devpts instance. Existing entries are kept.
pub fn create_links(root: &Root, mounts: &[Mount]) -> Result<(), StepError> {
    let mut links = vec![
        ("dev/fd", "/proc/self/fd"),
        ("dev/stdin", "/proc/self/fd/0"),
        ("dev/stdout", "/proc/self/fd/1"),
        ("dev/stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("dev/core", "/proc/kcore"));
    }
    let has_devpts = mounts.iter().any(|m| {
        in_root(m.destination()) == Path::new("dev/pts") && m.typ().as_deref() == Some("devpts")
    });
    if has_devpts {
        // With a private devpts instance, /dev/ptmx must be its ptmx, or ptys would be
        // allocated from the host's instance.
        let is_link = super::inroot::read_link(root, Path::new("dev/ptmx")).is_some();
        if !is_link && super::inroot::try_resolve_nofollow(root, Path::new("dev/ptmx")).is_some() {
            root.remove_file("dev/ptmx").ctx(|| "/dev/ptmx: removing")?;
        }
        links.push(("dev/ptmx", "pts/ptmx"));
    }
    for (link, target) in links {
        if super::inroot::try_resolve_nofollow(root, Path::new(link)).is_some() {
            continue;
        }
        root.create(link, &InodeType::Symlink(PathBuf::from(target)))
            .ctx(|| format!("/{link}: creating symlink to {target}"))?;
    }
    Ok(())
}

/// Bind-mounts the pty slave (by fd: a detached clone of it via open_tree, moved onto the
/// target by fd) on /dev/console, creating the mount point if needed.
pub fn bind_console(root: &Root, slave: &std::os::fd::OwnedFd) -> Result<(), StepError> {
    use rustix::mount::{MoveMountFlags, OpenTreeFlags, move_mount, open_tree};
    if root.resolve_nofollow("dev/console").is_err() {
        root.create_file(
            "dev/console",
            OpenFlags::O_CREAT | OpenFlags::O_EXCL | OpenFlags::O_CLOEXEC,
            &fs::Permissions::from_mode(0o666),
        )
        .ctx(|| "/dev/console: creating the mount point")?;
    }
    if root.readlink("dev/console").is_ok() {
        return Err(StepError::msg("/dev/console", "is a symlink in the image"));
    }
    let target = root
        .resolve_nofollow("dev/console")
        .ctx(|| "/dev/console: opening the mount point")?;
    let tree = open_tree(
        slave.as_fd(),
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_EMPTY_PATH,
    )
    .map_err(std::io::Error::from)
    .ctx(|| "/dev/console: cloning the pty")?;
    move_mount(
        tree.as_fd(),
        "",
        target.as_fd(),
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(std::io::Error::from)
    .ctx(|| "/dev/console: mounting the pty")
}
