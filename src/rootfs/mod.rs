//! The container's file system view, built inside its new mount namespace.
//!
//! Everything that names a path inside the rootfs is resolved *inside* it with libpathrs
//! (openat2 RESOLVE_IN_ROOT where available): a symlink in the image can point anywhere, but
//! it is followed as if the rootfs were `/`, so it can never redirect a mount, a mkdir or a
//! mknod to the host. The kernel then gets the resolved object as `/proc/self/fd/N`; this
//! runs before pivot_root, so that /proc is the host's own procfs, not one the image could
//! have faked.
//!
//! Order (each a function below, called in this order by init):
//! In a mount namespace the container shares with rt (none in the config), the same steps
//! run on the host's mount table, below the rootfs bind that `shared::detach` removes.
//!
//! 1. `prepare`: stop propagation to the host, make the rootfs a mount point, mount
//!    `mounts[]`, create devices and /dev links, create process.cwd;
//! 2. (createContainer hooks run here, in init)
//! 3. `mask_and_protect`: linux.maskedPaths and linux.readonlyPaths;
//! 4. `pivot::enter`: pivot_root (or MS_MOVE + chroot, or only chroot) and detach the old
//!    root;
//! 5. `finish`: rootfsPropagation and root.readonly on the new `/`.
//!
//! In a pid namespace joined by path, proc mounts and whatever lies below them wait until
//! after step 4, for the init (`Deferred`, `mount_deferred`).

pub mod cgroupfs;
mod copyup;
pub mod devices;
pub mod idmap;
pub mod inroot;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod shared;

use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, statvfs};
use oci_spec::runtime::{Mount, Spec};
use pathrs::flags::OpenFlags;
use pathrs::{Handle, Root};

use crate::error::{Ctx, StepError};
use options::MountOptions;

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
        match inroot::read_link(root, &candidate) {
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

pub struct Prepared {
    pub root: Root,
    pub deferred: Deferred,
}

/// What waits for the container's init when it joins a pid namespace by path (a pod's).
/// That init is only created after pivot_root (see init::setup), so that nothing in the
/// pod ever sees a process of rt's with the host's root; but a procfs shows the pid
/// namespace of the process that creates it. So every proc mount, whatever mounts[] puts
/// below one after it, and the masked and read-only paths below them are left to the
/// init. Binds among them are cloned now, while their sources are reachable, and the
/// host's /dev/null (what masks a file) is opened now.
#[derive(Default)]
pub struct Deferred {
    dirs: Vec<PathBuf>,
    pub mounts: Vec<usize>,
    pub trees: Vec<(usize, rustix::fd::OwnedFd)>,
    /// Detached clones of the host's /dev/null, by index in linux.maskedPaths: a bind
    /// from it is refused once its mount is no longer in the namespace.
    pub nulls: Vec<(usize, rustix::fd::OwnedFd)>,
}

impl Deferred {
    /// Whether `path` (of the container) lies at or below a deferred proc mount.
    pub fn covers(&self, path: &Path) -> bool {
        let rel = in_root(path);
        self.dirs.iter().any(|d| rel.starts_with(d))
    }

    /// Takes mounts[i] when it is a proc mount or below one taken before.
    fn take(&mut self, i: usize, m: &Mount) -> bool {
        if m.typ().as_deref() == Some("proc") {
            self.dirs.push(in_root(m.destination()));
        }
        let taken = self.covers(m.destination());
        if taken {
            self.mounts.push(i);
        }
        taken
    }
}

/// What the rootfs steps need to know about the container.
pub struct RootfsConfig<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub in_user_ns: bool,
    /// False when the container shares rt's mount namespace (spawn::namespaces::MountNs):
    /// then nothing of the namespace's own propagation is changed.
    pub own_mount_ns: bool,
    pub cgroup_ns: bool,
    pub cgroup_path: Option<&'a Path>,
    /// Detached trees prepared beforehand (idmapped ones by the parent, deferred binds),
    /// by index in mounts[].
    pub idmapped: &'a [(usize, RawFd)],
    /// The init will join a pid namespace after pivot_root: see Deferred.
    pub defer_proc: bool,
    /// Called before a cgroup file system is mounted: the container's cgroup must exist
    /// (and, with a cgroup namespace, the init be in it).
    pub before_cgroup_mount: &'a dyn Fn() -> Result<(), StepError>,
    /// Called before the first device node is made: the device cgroup decides mknod too,
    /// so its rules must be in place (see init's wait for LimitsSet).
    pub before_devices: &'a dyn Fn() -> Result<(), StepError>,
}

const DIR_MODE: u32 = 0o755;

/// Stops mount events from propagating back to the host: a slave receives the host's
/// mount events but sends none, so nothing rt mounts from here on is seen outside.
fn isolate_from_host() -> Result<(), StepError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| "making / a recursive slave in the container's mount namespace")
}

/// pivot_root needs the new root to be a mount point; a recursive bind of the rootfs onto
/// itself makes it one (and brings along whatever was mounted below it).
fn bind_rootfs_onto_itself(rootfs: &Path) -> Result<(), StepError> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| format!("root.path: bind-mounting {} onto itself", rootfs.display()))
}

/// On the host's own mount table (no mount namespace of the container's), the rest of the
/// container's mounts must not propagate to the host's peers and slaves (other mount
/// namespaces, other containers): the bind is made private, recursively, instead of
/// changing `/`'s propagation as isolate_from_host does in a namespace of our own.
fn keep_below_rootfs(rootfs: &Path) -> Result<(), StepError> {
    mount(
        None::<&str>,
        rootfs,
        None::<&str>,
        MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        None::<&str>,
    )
    .ctx(|| format!("root.path: making the bind of {} private", rootfs.display()))
}

pub fn prepare(cfg: &RootfsConfig) -> Result<Prepared, StepError> {
    if cfg.own_mount_ns {
        isolate_from_host()?;
    }
    bind_rootfs_onto_itself(cfg.rootfs)?;
    if !cfg.own_mount_ns {
        keep_below_rootfs(cfg.rootfs)?;
    }
    // Opened after the bind so that it refers to the new mount, not the directory under it.
    let root =
        Root::open(cfg.rootfs).ctx(|| format!("root.path: opening {}", cfg.rootfs.display()))?;
    let mounts = cfg.spec.mounts().as_deref().unwrap_or_default();
    let mut deferred = Deferred::default();
    for (i, m) in mounts.iter().enumerate() {
        if !(cfg.defer_proc && deferred.take(i, m)) {
            mount_entry(&root, cfg, i, m)?;
            continue;
        }
        let is_bind = m.typ().as_deref() == Some("bind")
            || options::parse(m.options().as_deref().unwrap_or_default()).is_bind();
        if is_bind && !cfg.idmapped.iter().any(|(j, _)| *j == i) {
            let src = bind_source(cfg, m);
            let recursive = options::parse(m.options().as_deref().unwrap_or_default())
                .flags
                .contains(MsFlags::MS_REC);
            let tree = detached_bind(
                rustix::fs::CWD,
                &src,
                recursive,
                MsFlags::empty(),
                true,
                || format!("mounts[{i}]: cloning {}", src.display()),
            )?;
            deferred.trees.push((i, tree));
        }
    }
    let masked = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default();
    let mut null = None;
    for (i, p) in masked.iter().enumerate() {
        if deferred.covers(Path::new(p)) {
            let null = match &mut null {
                Some(f) => f,
                None => null.insert(paths::open_dev_null()?),
            };
            let tree = detached_bind(
                null.as_fd(),
                Path::new(""),
                false,
                MsFlags::empty(),
                true,
                || format!("linux.maskedPaths[{i}]: cloning the host's /dev/null"),
            )?;
            deferred.nulls.push((i, tree));
        }
    }
    let dev_is_bind = mounts.iter().any(|m| {
        in_root(m.destination()) == Path::new("dev")
            && (m.typ().as_deref() == Some("bind")
                || options::parse(m.options().as_deref().unwrap_or_default()).is_bind())
    });
    let linux_devices = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default();
    (cfg.before_devices)()?;
    if !dev_is_bind {
        devices::create_defaults(&root, linux_devices, cfg.in_user_ns)?;
    }
    devices::create_configured(&root, linux_devices, cfg.in_user_ns)?;
    devices::create_links(&root, mounts)?;
    if let Some(process) = cfg.spec.process() {
        let cwd = resolve_in_root(&root, process.cwd())?;
        if !cwd.as_os_str().is_empty() {
            inroot::mkdir_all(&root, &cwd, DIR_MODE)
                .ctx(|| format!("process.cwd: creating {}", process.cwd().display()))?;
        }
    }
    Ok(Prepared { root, deferred })
}

/// Source of a bind mount: absolute, or relative to the bundle (as runc resolves it).
fn bind_source(cfg: &RootfsConfig, m: &Mount) -> PathBuf {
    let src = m.source().clone().unwrap_or_default();
    if src.is_absolute() {
        src
    } else {
        cfg.bundle.join(src)
    }
}

/// Creates the mount point for a mount: a file for a bind of a non-directory, a directory
/// otherwise. Missing parents are created, all inside the rootfs.
fn make_mount_point(
    root: &Root,
    dest: &Path,
    want_file: bool,
    field: &str,
) -> Result<Handle, StepError> {
    let dest = &resolve_in_root(root, dest).map_err(|e| StepError::msg(field, e.to_string()))?;
    if !want_file {
        return inroot::mkdir_all(root, dest, DIR_MODE)
            .ctx(|| format!("{field}: creating mount point"));
    }
    if let Some(h) = inroot::try_resolve(root, dest) {
        return Ok(h);
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        inroot::mkdir_all(root, parent, DIR_MODE)
            .ctx(|| format!("{field}: creating mount point"))?;
    }
    root.create_file(
        dest,
        OpenFlags::O_CREAT | OpenFlags::O_EXCL | OpenFlags::O_CLOEXEC,
        &fs::Permissions::from_mode(0o644),
    )
    .ctx(|| format!("{field}: creating mount point"))?;
    root.resolve(dest)
        .ctx(|| format!("{field}: opening mount point"))
}

/// Re-resolves `dest` after something was mounted on it: a handle taken before the mount
/// refers to the directory *under* the new mount, so follow-up operations (remount,
/// propagation, attributes) need a fresh one.
fn reopen(root: &Root, dest: &Path, field: &str) -> Result<Handle, StepError> {
    root.resolve(dest)
        .ctx(|| format!("{field}: opening the new mount"))
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
fn remount_read_only(target: &str, what: impl Fn() -> String) -> Result<(), StepError> {
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

fn set_propagation(target: &str, opts: &MountOptions, field: &str) -> Result<(), StepError> {
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
fn set_recursive_attrs(
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
fn attrs_of(flags: MsFlags) -> (u64, u64) {
    use options::attr;
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
fn set_bind_flags(
    tree: BorrowedFd<'_>,
    flags: MsFlags,
    keep: bool,
    recursive: bool,
    what: &impl Fn() -> String,
) -> Result<(), StepError> {
    use options::attr;
    let (set, atime_clr) = attrs_of(flags & options::PER_MOUNT_FLAGS);
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

fn mount_entry(root: &Root, cfg: &RootfsConfig, i: usize, m: &Mount) -> Result<(), StepError> {
    let dest = in_root(m.destination());
    let field = format!("mounts[{i}] ({})", m.destination().display());
    let mut opts = options::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    if let Some(context) = crate::security::lsm::mount_label_option(cfg.spec, typ) {
        opts.data.push(context);
    }
    let idmapped = cfg
        .idmapped
        .iter()
        .find(|(j, _)| *j == i)
        .map(|(_, fd)| *fd);
    if typ == "cgroup" || typ == "cgroup2" {
        (cfg.before_cgroup_mount)()?;
        return cgroupfs::mount(root, cfg, &dest, &opts, &field);
    }
    // A procfs or sysfs reached through a symlink the image planted lands somewhere the
    // container's tools (and LSM helpers) do not look, leaving a fake at the real path
    // (CVE-2019-16884, CVE-2023-27561); runc refuses these too.
    if matches!(typ, "proc" | "sysfs") && inroot::read_link(root, &dest).is_some() {
        return Err(StepError::msg(
            field,
            format!("is a symlink in the rootfs; refusing to mount {typ} through it"),
        ));
    }
    let is_bind = opts.is_bind() || typ == "bind";
    // The new mount itself (not the directory under it): what propagation and recursive
    // attributes apply to.
    let target: rustix::fd::OwnedFd = if is_bind {
        let src = bind_source(cfg, m);
        let is_dir = match idmapped {
            // Prepared elsewhere (the source may not be reachable from here: see Deferred).
            // SAFETY: the fd was prepared for this mount and stays open for this call.
            Some(tree) => rustix::fs::fstat(unsafe { BorrowedFd::borrow_raw(tree) })
                .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
                .map_err(std::io::Error::from)
                .ctx(|| format!("mounts[{i}].source: the prepared tree"))?,
            None => fs::metadata(&src)
                .ctx(|| format!("mounts[{i}].source: {}", src.display()))?
                .is_dir(),
        };
        let point = make_mount_point(root, &dest, !is_dir, &field)?;
        let recursive = opts.flags.contains(MsFlags::MS_REC);
        // A bind mount ignores every flag but MS_BIND|MS_REC; "ro", "nosuid" etc. are set
        // on the detached copy before it is attached.
        let flags = opts.flags & options::PER_MOUNT_FLAGS;
        let what = || {
            format!(
                "{field}: applying {:?} to the bind of {}",
                m.options().as_deref().unwrap_or_default(),
                src.display()
            )
        };
        let tree = if let Some(tree) = idmapped {
            // SAFETY: the parent prepared this fd for this mount and nothing else uses it.
            let tree = unsafe { BorrowedFd::borrow_raw(tree) };
            if !flags.is_empty() {
                set_bind_flags(tree, flags, false, recursive, &what)?;
            }
            rustix::io::fcntl_dupfd_cloexec(tree, 0)
                .map_err(std::io::Error::from)
                .ctx(|| format!("{field}: the idmapped tree"))?
        } else if flags.is_empty() {
            detached_bind(
                rustix::fs::CWD,
                &src,
                recursive,
                MsFlags::empty(),
                true,
                || format!("{field}: bind-mounting {}", src.display()),
            )?
        } else {
            detached_bind(rustix::fs::CWD, &src, recursive, flags, false, what)?
        };
        attach(tree.as_fd(), point.as_fd(), || {
            format!("{field}: bind-mounting {}", src.display())
        })?;
        tree
    } else if typ == "proc" {
        let target = make_mount_point(root, &dest, false, &field)?;
        let source = m.source().as_ref().map(|s| s.display().to_string());
        let mnt = new_detached_fs("proc", source.as_deref().unwrap_or("proc"), &opts, &field)?;
        attach(mnt.as_fd(), target.as_fd(), || {
            format!("{field}: mounting proc")
        })?;
        mnt
    } else if typ == "tmpfs" && opts.tmpcopyup {
        // Only here: a tmpfs made detached and moved into place cost `rt run` of true
        // about 3 ms more than mount(2) on the path (15.0 against 12.3 ms, median of 60,
        // with the default config's two tmpfs), so a plain tmpfs keeps the mount below.
        mount_tmpfs(root, m, &dest, &opts, &field)?
    } else {
        let target = make_mount_point(root, &dest, false, &field)?;
        let source = m
            .source()
            .as_ref()
            .map(|s| s.display().to_string())
            .unwrap_or_else(|| typ.to_owned());
        let data = opts.data_string();
        let mounted = mount(
            Some(source.as_str()),
            fd_path(target.as_fd()).as_str(),
            Some(typ),
            opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC),
            (!data.is_empty()).then_some(data.as_str()),
        );
        match mounted {
            // sysfs can only be mounted by the owner of the network namespace; a user
            // namespace sharing the host's network gets the host's sysfs bound instead
            // (as runc does), with the same flags, recursively.
            Err(nix::Error::EPERM) if typ == "sysfs" && cfg.in_user_ns => {
                crate::debug!("{field}: sysfs refused in this user namespace; binding /sys");
                let tree = detached_bind(
                    rustix::fs::CWD,
                    Path::new("/sys"),
                    true,
                    opts.flags,
                    false,
                    || format!("{field}: binding the host's /sys"),
                )?;
                attach(tree.as_fd(), target.as_fd(), || {
                    format!("{field}: bind-mounting the host's /sys")
                })?;
                tree
            }
            other => {
                other.ctx(|| format!("{field}: mounting {typ}"))?;
                reopen(root, &dest, &field)?.into()
            }
        }
    };
    set_propagation(&fd_path(target.as_fd()), &opts, &field)?;
    if opts.rec_attr_set != 0 || opts.rec_attr_clr != 0 {
        set_recursive_attrs(target.as_fd(), opts.rec_attr_set, opts.rec_attr_clr, &field)?;
    }
    Ok(())
}

/// The init's half of the rootfs in a joined pid namespace (see Deferred), on the new `/`:
/// the deferred mounts in mounts[] order. `cfg.idmapped` must hold `deferred.trees`.
pub fn mount_deferred(cfg: &RootfsConfig, deferred: &Deferred) -> Result<Root, StepError> {
    let root = Root::open("/").ctx(|| "opening the container's new root")?;
    let mounts = cfg.spec.mounts().as_deref().unwrap_or_default();
    for &i in &deferred.mounts {
        if let Some(m) = mounts.get(i) {
            mount_entry(&root, cfg, i, m)?;
        }
    }
    Ok(root)
}

/// A tmpfs with "tmpcopyup", made detached, filled and given the mode of the directory
/// it covers (unless the options say "mode="), as runc does, before it is attached: a
/// container's /tmp stays 1777 under a tmpfs of its own.
fn mount_tmpfs(
    root: &Root,
    m: &Mount,
    dest: &Path,
    opts: &MountOptions,
    field: &str,
) -> Result<rustix::fd::OwnedFd, StepError> {
    let existed = resolve_in_root(root, dest)
        .ok()
        .and_then(|rel| inroot::try_resolve(root, &rel))
        .and_then(|h| inroot::stat(&h).ok())
        .filter(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir());
    let target = make_mount_point(root, dest, false, field)?;
    let source = m.source().as_ref().map(|s| s.display().to_string());
    // Read-only only once it is filled.
    let mut writable = opts.clone();
    writable.flags.remove(MsFlags::MS_RDONLY);
    let mnt = new_detached_fs(
        "tmpfs",
        source.as_deref().unwrap_or("tmpfs"),
        &writable,
        field,
    )?;
    let open_dir = |fd: BorrowedFd<'_>| {
        rustix::fs::openat(
            fd,
            ".",
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(std::io::Error::from)
    };
    let new_root = open_dir(mnt.as_fd()).ctx(|| format!("{field}: opening the new tmpfs"))?;
    if opts.tmpcopyup {
        let old =
            open_dir(target.as_fd()).ctx(|| format!("{field}: opening what tmpcopyup copies"))?;
        copyup::copy_contents(old.as_fd(), new_root.as_fd())
            .ctx(|| format!("{field}: tmpcopyup"))?;
    }
    if let Some(st) = existed
        && !opts.data.iter().any(|d| d.starts_with("mode="))
    {
        rustix::fs::fchmod(
            &new_root,
            rustix::fs::Mode::from_raw_mode(st.st_mode & 0o7777),
        )
        .map_err(std::io::Error::from)
        .ctx(|| format!("{field}: keeping the mode of the directory it covers"))?;
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        mount_setattr(mnt.as_fd(), false, options::attr::RDONLY, 0, None)
            .ctx(|| format!("{field}: making the tmpfs read-only"))?;
    }
    attach(mnt.as_fd(), target.as_fd(), || {
        format!("{field}: mounting tmpfs")
    })?;
    Ok(mnt)
}

/// A new file system instance (proc, tmpfs), detached. Made through fsopen rather than
/// mount(2) on a path, so that no /proc is needed to name the mount point: in a joined
/// pid namespace a procfs is made after pivot_root, where the container has no /proc yet
/// (see Deferred); a procfs shows the pid namespace of the process that creates it,
/// whatever its pid_for_children.
fn new_detached_fs(
    typ: &str,
    source: &str,
    opts: &MountOptions,
    field: &str,
) -> Result<rustix::fd::OwnedFd, StepError> {
    use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags};
    let what = || format!("{field}: mounting {typ}");
    let fs = rustix::mount::fsopen(typ, FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(std::io::Error::from)
        .ctx(what)?;
    // What mountinfo shows as the source (mount(2) takes it as its first argument).
    rustix::mount::fsconfig_set_string(&fs, "source", source)
        .map_err(std::io::Error::from)
        .ctx(|| format!("{field}: source {}", crate::error::quoted(source)))?;
    for o in &opts.data {
        match o.split_once('=') {
            Some((k, v)) => rustix::mount::fsconfig_set_string(&fs, k, v),
            None => rustix::mount::fsconfig_set_flag(&fs, o.as_str()),
        }
        .map_err(std::io::Error::from)
        .ctx(|| format!("{field}: {typ} option {}", crate::error::quoted(o)))?;
    }
    // Superblock flags mount(2) takes as MS_* bits are fsconfig flags here.
    for (ms, name) in [
        (MsFlags::MS_SYNCHRONOUS, "sync"),
        (MsFlags::MS_DIRSYNC, "dirsync"),
        (MsFlags::MS_LAZYTIME, "lazytime"),
        (MsFlags::MS_MANDLOCK, "mand"),
    ] {
        if opts.flags.contains(ms) {
            rustix::mount::fsconfig_set_flag(&fs, name)
                .map_err(std::io::Error::from)
                .ctx(|| format!("{field}: {typ} option {name:?}"))?;
        }
    }
    rustix::mount::fsconfig_create(&fs)
        .map_err(std::io::Error::from)
        .ctx(what)?;
    let (set, _) = attrs_of(opts.flags & options::PER_MOUNT_FLAGS);
    rustix::mount::fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::from_bits_retain(set as u32),
    )
    .map_err(std::io::Error::from)
    .ctx(what)
}

/// Steps on the new `/`, after pivot_root.
pub fn finish(spec: &Spec) -> Result<(), StepError> {
    let linux = spec.linux().as_ref();
    if let Some(flag) =
        options::root_propagation(linux.and_then(|l| l.rootfs_propagation().as_deref()))
    {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            flag | MsFlags::MS_REC,
            None::<&str>,
        )
        .ctx(|| "linux.rootfsPropagation: setting propagation of /")?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        remount_read_only("/", || "root.readonly: remounting / read-only".to_owned())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolution_stays_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("rt-resolve-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("real/sub")).unwrap();
        symlink("/real", dir.join("abs")).unwrap();
        symlink("real/sub", dir.join("rel")).unwrap();
        symlink("/etc/passwd", dir.join("host")).unwrap();
        symlink("../../../../..", dir.join("up")).unwrap();
        symlink("loop2", dir.join("loop1")).unwrap();
        symlink("loop1", dir.join("loop2")).unwrap();
        symlink("/run/systemd/resolve/stub.conf", dir.join("dangling")).unwrap();
        let root = Root::open(&dir).unwrap();
        let r = |p: &str| resolve_in_root(&root, Path::new(p)).map(|p| p.display().to_string());
        assert_eq!(r("/abs/sub/x").unwrap(), "real/sub/x");
        assert_eq!(r("rel/new/dirs").unwrap(), "real/sub/new/dirs");
        assert_eq!(r("/host").unwrap(), "etc/passwd");
        assert_eq!(r("/up/etc").unwrap(), "etc");
        assert_eq!(r("/../../x").unwrap(), "x");
        assert_eq!(r("/dangling").unwrap(), "run/systemd/resolve/stub.conf");
        assert!(r("/loop1").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
