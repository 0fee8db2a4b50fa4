//! CVE-2019-5736: a container must never be able to write to the host's rt binary.
//!
//! The container's init is a clone of `rt create`, so until its execve its
//! /proc/self/exe is rt's binary — and so is that of any process that execs
//! /proc/self/exe (directly, as a #! interpreter or as an ELF interpreter) on the way in.
//! A process in the container can keep an O_PATH handle on it and, once rt has exited,
//! reopen it for writing. The defence is to make sure that what /proc/self/exe points to
//! cannot be written at all: before creating a container, rt re-executes itself from a
//! read-only, detached bind mount of its own binary (a mount no namespace can see, so
//! nobody can remount it read-write). If the mount API is unavailable, a sealed memfd copy
//! (F_SEAL_WRITE etc.) serves instead. Both checks for "already sealed" are one syscall, so
//! the re-exec happens once per command and never loops.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MemFdCreateFlag, memfd_create};
use nix::sys::statvfs::{FsFlags, statvfs};

use crate::error::{Ctx, StepError};

const SELF_EXE: &str = "/proc/self/exe";

fn is_sealed() -> bool {
    if statvfs(SELF_EXE).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY)) {
        return true;
    }
    File::open(SELF_EXE)
        .ok()
        .and_then(|f| fcntl(f.as_raw_fd(), FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|seals| SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE))
}

/// A detached, read-only bind mount of our own binary.
fn read_only_clone() -> io::Result<OwnedFd> {
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        SELF_EXE,
        rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
            | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )?;
    // Detached, so no namespace can see (or remount) it; read-only, so nothing can write
    // through it.
    crate::rootfs::mount_setattr(
        tree.as_fd(),
        false,
        crate::rootfs::options::attr::RDONLY | crate::rootfs::options::attr::NOSUID,
        0,
        None,
    )?;
    Ok(tree)
}

/// A sealed in-memory copy of our binary: no write can ever succeed on it.
fn sealed_copy() -> io::Result<OwnedFd> {
    let fd = memfd_create(
        c"rt",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )?;
    let mut dst = File::from(fd);
    let mut src = File::open(SELF_EXE)?;
    io::copy(&mut src, &mut dst)?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(dst.as_raw_fd(), FcntlArg::F_ADD_SEALS(seals))?;
    Ok(OwnedFd::from(dst))
}

/// Re-executes rt from a read-only view of its binary unless it already runs from one.
/// Returns only if no re-exec was needed; on failure nothing is created.
pub fn ensure_sealed() -> Result<(), StepError> {
    if is_sealed() {
        return Ok(());
    }
    let fd = match read_only_clone() {
        Ok(fd) => fd,
        Err(e) => {
            crate::debug!("sealing via a read-only bind mount failed ({e}); copying to a memfd");
            sealed_copy().ctx(|| "sealing rt's binary against CVE-2019-5736")?
        }
    };
    let to_c = |s: std::ffi::OsString| CString::new(s.into_vec());
    let args: Result<Vec<CString>, _> = std::env::args_os().map(to_c).collect();
    let env: Result<Vec<CString>, _> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv)
        })
        .collect();
    let (args, env) = match (args, env) {
        (Ok(a), Ok(e)) => (a, e),
        _ => {
            return Err(StepError::msg(
                "re-executing rt",
                "argument with a NUL byte",
            ));
        }
    };
    let Err(e) = nix::unistd::execveat(
        Some(fd.as_raw_fd()),
        c"",
        &args,
        &env,
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    );
    Err(e).ctx(|| "re-executing rt from its sealed binary")
}
