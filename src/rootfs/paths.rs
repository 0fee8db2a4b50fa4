//! linux.maskedPaths and linux.readonlyPaths, applied before pivot_root while the host's
//! own /proc and /dev are still at hand (those below a proc mount deferred for a joined pid
//! namespace after it, with clones of /dev/null made before: see rootfs::Deferred).
//!
//! A masked file gets the host's /dev/null bind-mounted over it, a masked directory an
//! empty read-only tmpfs; a read-only path is bind-mounted onto itself and remounted
//! read-only. Targets are resolved inside the rootfs (so a symlink planted in the image
//! cannot aim the mount at a host file) and handed to mount(2) by fd. The /dev/null used
//! is opened once and checked to be the real character device 1:3, so a swapped-in file
//! cannot become what masks the container's view of /proc. Targets under /proc must be
//! files of a real procfs: a look-alike planted in the image or mounted over /proc would
//! take the mask while the real file stayed reachable (CVE-2019-16884, CVE-2023-27561).

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::mount::{MsFlags, mount};
use pathrs::Root;

use super::mount::{fd_path, in_root};
use crate::error::{Ctx, StepError};

pub fn open_dev_null() -> Result<File, StepError> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_path()
        .open("/dev/null")
        .ctx(|| "linux.maskedPaths: opening the host's /dev/null")?;
    let meta = f
        .metadata()
        .ctx(|| "linux.maskedPaths: inspecting /dev/null")?;
    if !meta.file_type().is_char_device() || meta.rdev() != nix::sys::stat::makedev(1, 3) {
        return Err(StepError::msg(
            "linux.maskedPaths",
            "the host's /dev/null is not the character device 1:3",
        ));
    }
    Ok(f)
}

trait PathOpen {
    fn custom_flags_path(&mut self) -> &mut Self;
}

impl PathOpen for std::fs::OpenOptions {
    fn custom_flags_path(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW)
    }
}

/// Whether `p` names something below /proc.
fn under_proc(p: &str) -> bool {
    Path::new(p)
        .strip_prefix("/proc")
        .is_ok_and(|r| !r.as_os_str().is_empty())
}

/// For a target below /proc: is it a procfs file? Anything else is refused, unless it lies
/// below a path masked a moment ago (then it is rt's own empty tmpfs).
fn check_procfs(
    p: &str,
    target: &pathrs::Handle,
    masked: &[String],
    field: &str,
) -> Result<(), StepError> {
    if !under_proc(p) {
        return Ok(());
    }
    let st = nix::sys::statfs::fstatfs(target.as_fd()).ctx(|| format!("{field}: statfs"))?;
    if st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC {
        return Ok(());
    }
    if masked
        .iter()
        .any(|m| Path::new(p).starts_with(m) && under_proc(m))
    {
        return Ok(());
    }
    Err(StepError::msg(
        field,
        "not a file of a procfs (is the container's /proc a real proc mount?)",
    ))
}

/// What masks a file.
pub enum Null<'a> {
    /// The host's /dev/null, opened here.
    Open,
    /// Detached clones of it made before pivot_root, by index in linux.maskedPaths.
    Clones(&'a [(usize, rustix::fd::OwnedFd)]),
}

/// linux.maskedPaths, then linux.readonlyPaths: those `pick` selects (by path in the
/// container).
pub fn protect(
    root: &Root,
    spec: &oci_spec::runtime::Spec,
    null: Null,
    pick: impl Fn(&Path) -> bool,
) -> Result<(), StepError> {
    let linux = spec.linux().as_ref();
    let select = |paths: Option<&Vec<String>>| -> Vec<(usize, String)> {
        paths
            .map(|v| v.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, p)| pick(Path::new(p)))
            .map(|(i, p)| (i, p.clone()))
            .collect()
    };
    let masked = select(linux.and_then(|l| l.masked_paths().as_ref()));
    let readonly = select(linux.and_then(|l| l.readonly_paths().as_ref()));
    if !masked.is_empty() {
        mask(root, &masked, null)?;
    }
    let masked: Vec<String> = masked.into_iter().map(|(_, p)| p).collect();
    make_readonly(root, &readonly, &masked)
}

fn mask(root: &Root, paths: &[(usize, String)], null: Null) -> Result<(), StepError> {
    let opened = match null {
        Null::Open => Some(open_dev_null()?),
        Null::Clones(_) => None,
    };
    for (n, (i, p)) in paths.iter().enumerate() {
        let field = format!("linux.maskedPaths[{i}] ({p})");
        let rel = in_root(Path::new(p));
        let Some(target) = super::inroot::try_resolve(root, &rel) else {
            // Nothing there, nothing to hide.
            continue;
        };
        let before: Vec<String> = paths[..n].iter().map(|(_, p)| p.clone()).collect();
        check_procfs(p, &target, &before, &field)?;
        let meta = super::inroot::stat(&target).ctx(|| format!("{field}: inspecting"))?;
        let target_path = fd_path(target.as_fd());
        if rustix::fs::FileType::from_raw_mode(meta.st_mode) == rustix::fs::FileType::Directory {
            mount(
                Some("tmpfs"),
                target_path.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("size=0,mode=755"),
            )
            .ctx(|| format!("{field}: mounting an empty tmpfs"))?;
        } else if let Null::Clones(clones) = null {
            let clone = clones
                .iter()
                .find(|(j, _)| j == i)
                .map(|(_, fd)| fd)
                .ok_or_else(|| StepError::msg(&field, "no /dev/null prepared for it"))?;
            super::mount::attach(clone.as_fd(), target.as_fd(), || {
                format!("{field}: mounting /dev/null")
            })?;
        } else if let Some(null) = &opened {
            mount(
                Some(fd_path(null.as_fd()).as_str()),
                target_path.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .ctx(|| format!("{field}: bind-mounting /dev/null"))?;
        }
    }
    Ok(())
}

fn make_readonly(
    root: &Root,
    paths: &[(usize, String)],
    masked: &[String],
) -> Result<(), StepError> {
    for (i, p) in paths {
        let field = format!("linux.readonlyPaths[{i}] ({p})");
        let rel = in_root(Path::new(p));
        let Some(target) = super::inroot::try_resolve(root, &rel) else {
            continue;
        };
        check_procfs(p, &target, masked, &field)?;
        // A read-only copy of what is there (and of every mount below it), made and
        // flagged detached, then put on top: no path is resolved again.
        let tree = super::mount::detached_bind(
            target.as_fd(),
            Path::new(""),
            true,
            MsFlags::MS_RDONLY,
            true,
            || format!("{field}: making a read-only copy"),
        )?;
        super::mount::attach(tree.as_fd(), target.as_fd(), || {
            format!("{field}: mounting the read-only copy")
        })?;
    }
    Ok(())
}
