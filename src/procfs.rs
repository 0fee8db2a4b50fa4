//! Writes to procfs files that configure the container (sysctls, oom_score_adj, time
//! namespace offsets, LSM exec labels) go through a private procfs instance from libpathrs
//! (fsopen("proc") where the kernel allows it), never through a /proc path: a /proc the
//! container's mounts (or a racing container sharing a volume) can shape could redirect
//! such a write to another file or swallow it (CVE-2025-52881, CVE-2019-16884). libpathrs
//! also refuses mount crossings and trailing symlinks inside that procfs.

use std::io::Write;

use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle};

use crate::error::{Ctx, StepError};

pub use pathrs::procfs::ProcfsBase as Base;

/// Writes `data` to `subpath` below `base` in one write(2) (procfs files act on each write
/// call). `what` names the config field for the error.
pub fn write(base: ProcfsBase, subpath: &str, data: &[u8], what: &str) -> Result<(), StepError> {
    let procfs = ProcfsHandle::new().map_err(|e| failure(what, e))?;
    let mut f = procfs
        .open(base, subpath, OpenFlags::O_WRONLY | OpenFlags::O_CLOEXEC)
        .map_err(|e| failure(what, e))?;
    f.write_all(data).ctx(|| what.to_owned())
}

/// The errno's text where there is one (ENOENT for a sysctl the kernel lacks reads as
/// "no such file or directory"), libpathrs's own account otherwise (a mount crossing or
/// symlink it refused).
fn failure(what: &str, e: pathrs::error::Error) -> StepError {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(n)) => {
            StepError::msg(what, crate::error::errno_text(n))
        }
        _ => StepError::msg(what, e.to_string()),
    }
}

/// Whether `subpath` below `base` exists in a private procfs (e.g. an LSM's attr directory).
pub fn exists(base: ProcfsBase, subpath: &str) -> bool {
    ProcfsHandle::new()
        .and_then(|p| p.open(base, subpath, OpenFlags::O_PATH | OpenFlags::O_CLOEXEC))
        .is_ok()
}
