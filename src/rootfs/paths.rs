//! linux.maskedPaths and linux.readonlyPaths, applied before pivot_root while the host's
//! own /proc and /dev are still at hand.
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

use super::{fd_path, in_root};
use crate::error::{Ctx, StepError};

fn open_dev_null() -> Result<File, StepError> {
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

pub fn mask(root: &Root, paths: &[String]) -> Result<(), StepError> {
    if paths.is_empty() {
        return Ok(());
    }
    let null = open_dev_null()?;
    for (i, p) in paths.iter().enumerate() {
        let field = format!("linux.maskedPaths[{i}] ({p})");
        let rel = in_root(Path::new(p));
        let Some(target) = super::inroot::try_resolve(root, &rel) else {
            // Nothing there, nothing to hide.
            continue;
        };
        check_procfs(p, &target, &paths[..i], &field)?;
        let meta = super::inroot::stat(&target).ctx(|| format!("{field}: inspecting"))?;
        let target_path = fd_path(target.as_fd());
        if rustix::fs::FileType::from_raw_mode(meta.st_mode) == rustix::fs::FileType::Directory {
            mount(
                Some("tmpfs"),
                target_path.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("size=0,mode=0"),
            )
            .ctx(|| format!("{field}: mounting an empty tmpfs"))?;
        } else {
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

pub fn make_readonly(root: &Root, paths: &[String], masked: &[String]) -> Result<(), StepError> {
    for (i, p) in paths.iter().enumerate() {
        let field = format!("linux.readonlyPaths[{i}] ({p})");
        let rel = in_root(Path::new(p));
        let Some(target) = super::inroot::try_resolve(root, &rel) else {
            continue;
        };
        check_procfs(p, &target, masked, &field)?;
        // A read-only copy of what is there (and of every mount below it), made and
        // flagged detached, then put on top: no path is resolved again.
        let tree = super::detached_bind(
            target.as_fd(),
            Path::new(""),
            true,
            MsFlags::MS_RDONLY,
            true,
            || format!("{field}: making a read-only copy"),
        )?;
        super::attach(tree.as_fd(), target.as_fd(), || {
            format!("{field}: mounting the read-only copy")
        })?;
    }
    Ok(())
}
