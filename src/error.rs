//! The error of one privileged step: what was being done (naming the config field or path
//! the user controls) and why the kernel refused. Steps build it with `.ctx(|| ...)`, so
//! the context is only formatted on failure.

use std::fmt;
use std::io;

#[derive(Debug, thiserror::Error)]
pub struct StepError {
    pub what: String,
    pub reason: String,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            // Errors whose text is complete in `what` (a hook's own report).
            f.write_str(&self.what)
        } else {
            write!(f, "{}: {}", self.what, self.reason)
        }
    }
}

impl StepError {
    pub fn msg(what: impl Into<String>, reason: impl Into<String>) -> StepError {
        StepError {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Human text for an errno without Rust's " (os error N)" suffix.
pub fn errno_text(errno: i32) -> String {
    nix::Error::from_raw(errno).desc().to_owned()
}

pub trait Ctx<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError>;
}

impl<T> Ctx<T> for nix::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            reason: e.desc().to_owned(),
        })
    }
}

impl<T> Ctx<T> for io::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            reason: match e.raw_os_error() {
                Some(n) => errno_text(n),
                None => e.to_string(),
            },
        })
    }
}

impl<T> Ctx<T> for Result<T, pathrs::error::Error> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_without_os_error_suffix() {
        let r: nix::Result<()> = Err(nix::Error::ENOENT);
        let e = r.ctx(|| "mounts[2]: /dev/shm").unwrap_err();
        assert_eq!(
            e.to_string(),
            "mounts[2]: /dev/shm: No such file or directory"
        );
        let r: io::Result<()> = Err(io::Error::from_raw_os_error(libc::EPERM));
        let e = r.ctx(|| "hostname").unwrap_err();
        assert_eq!(e.to_string(), "hostname: Operation not permitted");
    }
}
