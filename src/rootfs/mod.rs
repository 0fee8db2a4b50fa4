//! The container's file system view, built inside its new mount namespace.
//!
//! Everything that names a path inside the rootfs is resolved *inside* it with libpathrs
//! (openat2 RESOLVE_IN_ROOT where available): a symlink in the image can point anywhere, but
//! it is followed as if the rootfs were `/`, so it can never redirect a mount, a mkdir or a
//! mknod to the host. The kernel then gets the resolved object as `/proc/self/fd/N`; this
//! runs before pivot_root, so that /proc is the host's own procfs, not one the image could
//! have faked.
//!
//! The steps, called in this order by init/steps.rs:
//!
//! 1. `begin`: stop propagation to the host, make the rootfs a mount point;
//!    `mount_all`: mounts[] in their order;
//!    (the init waits for its cgroup limits here: the device cgroup governs mknod)
//!    `make_devices`: device nodes, /dev links, process.cwd;
//! 2. (createContainer hooks and the terminal, in init)
//! 3. `paths::protect`: linux.maskedPaths and linux.readonlyPaths;
//! 4. `pivot::enter`: pivot_root (or MS_MOVE + chroot, or only chroot) and detach the old
//!    root;
//! 5. `finish`: rootfsPropagation and root.readonly on the new `/`.
//!
//! In a mount namespace the container shares with rt (none in the config), the same steps
//! run on the host's mount table, below the rootfs bind that `shared::detach` removes. In
//! a pid namespace joined by path, proc mounts and whatever lies below them wait until
//! after step 4, for the init (`Deferred`, `mount_deferred`).

pub mod cgroupfs;
mod context;
mod copyup;
pub mod devices;
pub mod idmap;
pub mod inroot;
pub mod mount;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod shared;

pub use context::{Deferred, Mounting, Prepared, RootfsConfig};
use mount::{
    attach, attrs_of, detached_bind, remount_read_only, set_bind_flags, set_propagation,
    set_recursive_attrs,
};
pub use mount::{fd_path, in_root, mount_setattr, resolve_in_root};

use std::fs;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use oci_spec::runtime::{Mount, Spec};
use pathrs::flags::OpenFlags;
use pathrs::{Handle, Root};

use crate::error::{Ctx, StepError};
use options::MountOptions;

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

/// Step 1a: the rootfs becomes a mount point of its own, cut off from the host's mount
/// events; nothing of mounts[] is mounted yet.
pub fn begin(cfg: &RootfsConfig) -> Result<Mounting, StepError> {
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
    Ok(Mounting {
        root,
        deferred: Deferred::default(),
    })
}

/// Step 1b: mounts[] in their order, and the host's /dev/null kept for masked paths that
/// wait for a deferred proc mount.
pub fn mount_all(cfg: &RootfsConfig, m: &mut Mounting) -> Result<(), StepError> {
    mount_entries(cfg, m)?;
    let masked = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default();
    let mut null = None;
    for (i, p) in masked.iter().enumerate() {
        if m.deferred.covers(Path::new(p)) {
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
            m.deferred.nulls.push((i, tree));
        }
    }
    Ok(())
}

fn mount_entries(cfg: &RootfsConfig, at: &mut Mounting) -> Result<(), StepError> {
    let mounts = cfg.spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        if !(cfg.defer_proc && at.deferred.take(i, m)) {
            mount_entry(&at.root, cfg, i, m)?;
            continue;
        }
        let is_bind = m.typ().as_deref() == Some("bind")
            || options::parse(m.options().as_deref().unwrap_or_default()).is_bind();
        if is_bind && !cfg.idmapped.iter().any(|(j, _)| *j == i) {
            let src = bind_source(cfg.bundle, m);
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
            at.deferred.trees.push((i, tree));
        }
    }
    Ok(())
}

/// Step 1d: device nodes and /dev links, and process.cwd. The device cgroup decides mknod
/// too: its rules must be in place by now (the init waits for LimitsSet before this).
pub fn make_devices(cfg: &RootfsConfig, m: Mounting) -> Result<Prepared, StepError> {
    let Mounting { root, deferred, .. } = m;
    let mounts = cfg.spec.mounts().as_deref().unwrap_or_default();
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

/// A bind's source on the host: relative sources are relative to the bundle.
fn bind_source(bundle: &Path, m: &Mount) -> PathBuf {
    let src = m.source().clone().unwrap_or_default();
    if src.is_absolute() {
        src
    } else {
        bundle.join(src)
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

/// How a mounts[] entry is made, decided from its type and options alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// A cgroup file system: rootfs/cgroupfs.rs, one per host hierarchy.
    Cgroup,
    /// A detached copy of the source (or of the tree the parent prepared), given its
    /// per-mount `flags` before it is attached: a bind mount(2) ignores every flag but
    /// MS_BIND|MS_REC, and a remount after it would resolve the path again.
    Bind { recursive: bool, flags: MsFlags },
    /// procfs through fsopen/fsmount, keeping its source, flags and data.
    Proc,
    /// A tmpfs that gets a copy of what it covers (tmpcopyup).
    TmpfsCopyUp,
    /// mount(2) on the resolved path, with these flags.
    Plain { flags: MsFlags },
}

fn way_of(typ: &str, opts: &MountOptions) -> Way {
    match typ {
        "cgroup" | "cgroup2" => Way::Cgroup,
        _ if opts.is_bind() || typ == "bind" => Way::Bind {
            recursive: opts.flags.contains(MsFlags::MS_REC),
            flags: opts.flags & options::PER_MOUNT_FLAGS,
        },
        "proc" => Way::Proc,
        "tmpfs" if opts.tmpcopyup => Way::TmpfsCopyUp,
        _ => Way::Plain {
            flags: opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC),
        },
    }
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
    // A procfs or sysfs reached through a symlink the image planted lands somewhere the
    // container's tools (and LSM helpers) do not look, leaving a fake at the real path
    // (CVE-2019-16884, CVE-2023-27561); runc refuses these too.
    if matches!(typ, "proc" | "sysfs") && inroot::read_link(root, &dest).is_some() {
        return Err(StepError::msg(
            field,
            format!(
                "{typ} must be mounted on ordinary directory, and this is a symlink in the rootfs"
            ),
        ));
    }
    // The new mount itself (not the directory under it): what propagation and recursive
    // attributes apply to.
    let way = way_of(typ, &opts);
    // A tmpfs over a directory of the image keeps that directory's mode unless the options
    // give one (runc's rule): a /tmp of 1777 or a 2775 group directory stays so under it.
    if matches!(way, Way::Plain { .. } | Way::TmpfsCopyUp)
        && typ == "tmpfs"
        && !opts.data.iter().any(|d| d.starts_with("mode="))
        && let Some(mode) = existing_dir_mode(root, &dest)
    {
        opts.data.insert(0, format!("mode={mode:o}"));
    }
    let target: rustix::fd::OwnedFd = match way {
        Way::Cgroup => return cgroupfs::mount(root, cfg, &dest, &opts, &field),
        Way::Bind { recursive, flags } => {
            let src = bind_source(cfg.bundle, m);
            let is_dir = match idmapped {
                // Prepared elsewhere (the source may not be reachable from here: see Deferred).
                Some(tree) => rustix::fs::fstat(tree)
                    .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
                    .map_err(std::io::Error::from)
                    .ctx(|| format!("mounts[{i}].source: the prepared tree"))?,
                None => fs::metadata(&src)
                    .ctx(|| format!("mounts[{i}].source: {}", src.display()))?
                    .is_dir(),
            };
            let point = make_mount_point(root, &dest, !is_dir, &field)?;
            let what = || {
                format!(
                    "{field}: applying {:?} to the bind of {}",
                    m.options().as_deref().unwrap_or_default(),
                    src.display()
                )
            };
            let tree = if let Some(tree) = idmapped {
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
        }
        Way::Proc => {
            let target = make_mount_point(root, &dest, false, &field)?;
            let source = m.source().as_ref().map(|s| s.display().to_string());
            let mnt = new_detached_fs(
                "proc",
                source.as_deref().unwrap_or("proc"),
                cfg.proc_pidns,
                &opts,
                &field,
            )?;
            attach(mnt.as_fd(), target.as_fd(), || {
                format!("{field}: mounting proc")
            })?;
            mnt
        }
        Way::TmpfsCopyUp => {
            // Only here: a tmpfs made detached and moved into place cost `rt run` of true
            // about 3 ms more than mount(2) on the path (15.0 against 12.3 ms, median of 60,
            // with the default config's two tmpfs), so a plain tmpfs keeps the mount below.
            mount_tmpfs(root, m, &dest, &opts, &field)?
        }
        Way::Plain { mut flags } => {
            // /dev gets its nodes, links and console after it is mounted: a read-only /dev
            // is made read-only at the end (`finish`), as runc does.
            if dev_read_only_later(m) {
                flags.remove(MsFlags::MS_RDONLY);
            }
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
                flags,
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

/// A tmpfs with "tmpcopyup" (its mode already in `opts`, see mount_entry), made detached
/// and filled before it is attached.
fn mount_tmpfs(
    root: &Root,
    m: &Mount,
    dest: &Path,
    opts: &MountOptions,
    field: &str,
) -> Result<rustix::fd::OwnedFd, StepError> {
    let target = make_mount_point(root, dest, false, field)?;
    let source = m.source().as_ref().map(|s| s.display().to_string());
    // Read-only only once it is filled.
    let mut writable = opts.clone();
    writable.flags.remove(MsFlags::MS_RDONLY);
    let mnt = new_detached_fs(
        "tmpfs",
        source.as_deref().unwrap_or("tmpfs"),
        None,
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
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        mount_setattr(mnt.as_fd(), false, options::attr::RDONLY, 0, None)
            .ctx(|| format!("{field}: making the tmpfs read-only"))?;
    }
    attach(mnt.as_fd(), target.as_fd(), || {
        format!("{field}: mounting tmpfs")
    })?;
    Ok(mnt)
}

/// The permission bits (with setuid, setgid and sticky) of the directory the rootfs has
/// at `dest`; None where there is none and the mount point will be made.
fn existing_dir_mode(root: &Root, dest: &Path) -> Option<u32> {
    resolve_in_root(root, dest)
        .ok()
        .and_then(|rel| inroot::try_resolve(root, &rel))
        .and_then(|h| inroot::stat(&h).ok())
        .filter(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
        .map(|st| st.st_mode & 0o7777)
}

/// A new file system instance (proc, tmpfs), detached. Made through fsopen rather than
/// mount(2) on a path, so that no /proc is needed to name the mount point: in a joined
/// pid namespace a procfs is made after pivot_root, where the container has no /proc yet
/// (see Deferred); a procfs shows the pid namespace of the process that creates it,
/// whatever its pid_for_children, unless `pidns` names another.
fn new_detached_fs(
    typ: &str,
    source: &str,
    pidns: Option<BorrowedFd<'_>>,
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
    if let Some(ns) = pidns {
        rustix::mount::fsconfig_set_fd(&fs, "pidns", ns)
            .map_err(std::io::Error::from)
            .ctx(|| format!("{field}: naming the joined pid namespace"))?;
    }
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

/// The pid namespace this process joined for its children, when the kernel lets a proc
/// mount name it (procfs' "pidns" option, Linux 6.18): then proc mounts are made before
/// pivot_root like any other, showing that namespace, and nothing waits for the init
/// (Deferred). That matters in a joined user namespace: there the kernel allows a new
/// proc mount only where a proc is already fully visible, which after pivot_root none
/// is. None where the kernel does not know the option, or refuses it, and the proc
/// mounts wait as before.
pub fn joined_pid_ns_for_proc() -> Option<rustix::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let ns = rustix::fs::open(
        "/proc/thread-self/ns/pid_for_children",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let probe = rustix::mount::fsopen("proc", rustix::mount::FsOpenFlags::FSOPEN_CLOEXEC).ok()?;
    match rustix::mount::fsconfig_set_fd(&probe, "pidns", &ns) {
        Ok(()) => Some(ns),
        Err(e) => {
            crate::debug!(
                "proc cannot name the joined pid namespace ({e}); mounting it after pivot_root"
            );
            None
        }
    }
}

/// A /dev mount (not a bind) with "ro": mounted writable, made read-only by `finish`.
fn dev_read_only_later(m: &Mount) -> bool {
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    in_root(m.destination()) == Path::new("dev")
        && m.typ().as_deref() != Some("bind")
        && !opts.is_bind()
        && opts.flags.contains(MsFlags::MS_RDONLY)
}

/// Steps on the new `/`, after pivot_root.
pub fn finish(spec: &Spec) -> Result<(), StepError> {
    if spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(dev_read_only_later)
    {
        remount_read_only("/dev", || {
            "mounts (/dev): remounting /dev read-only".to_owned()
        })?;
    }
    let linux = spec.linux().as_ref();
    if let Some(flag) =
        crate::config::root_propagation(linux.and_then(|l| l.rootfs_propagation().as_deref()))
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
mod way_tests {
    use super::*;

    fn way(typ: &str, options: &[&str]) -> Way {
        let opts: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        way_of(typ, &options::parse(&opts))
    }

    #[test]
    fn each_entry_is_made_its_own_way() {
        assert_eq!(way("cgroup", &["ro"]), Way::Cgroup);
        assert_eq!(way("cgroup2", &[]), Way::Cgroup);
        // A bind by type or by option; rbind is recursive; ro and friends are per-mount
        // flags of the copy, MS_BIND and MS_REC are not.
        assert_eq!(
            way("bind", &["ro", "nosuid"]),
            Way::Bind {
                recursive: false,
                flags: MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
            }
        );
        assert_eq!(
            way("none", &["rbind", "nodev"]),
            Way::Bind {
                recursive: true,
                flags: MsFlags::MS_NODEV
            }
        );
        assert_eq!(way("proc", &["nosuid"]), Way::Proc);
        assert_eq!(way("tmpfs", &["tmpcopyup"]), Way::TmpfsCopyUp);
        assert_eq!(
            way("tmpfs", &["nosuid", "mode=755"]),
            Way::Plain {
                flags: MsFlags::MS_NOSUID
            }
        );
        assert_eq!(
            way("sysfs", &["ro", "noexec"]),
            Way::Plain {
                flags: MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC
            }
        );
        // A cgroup mount is a cgroup mount even when its options say bind.
        assert_eq!(way("cgroup", &["bind"]), Way::Cgroup);
    }
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
