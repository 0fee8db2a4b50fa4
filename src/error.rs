//! The error of one privileged step: what was being done (naming the config field or path
//! the user controls) and why it failed. Steps build it with `.ctx(|| ...)`, so the context
//! is only formatted on failure.
//!
//! The rule for errors in rt: a module that can fail in ways its callers tell apart has a
//! typed error (thiserror; this one, cgroups::CgroupError, hooks::HookError,
//! spawn::SpawnError, container::ContainerError, ...), whose text names the config field
//! or argument and the reason. Commands, at the edge, add context with anyhow, and main
//! prints the chain as one line. A reason is written once: either in a variant's text or
//! as its `source`, never both (the chain would repeat it).

use std::fmt;
use std::io;

use nix::errno::Errno;

#[derive(Debug)]
pub struct StepError {
    pub what: String,
    pub cause: Cause,
}

/// Why a step failed.
#[derive(Debug)]
pub enum Cause {
    /// The kernel refused, with this errno.
    Errno(Errno),
    /// execve(2) of the container's program failed, with this errno: the process exits
    /// 127 then, as a shell does for a command it cannot run (engines read that code).
    Exec(Errno),
    /// A reason in words: a helper's stderr, a library's message, a rule of rt's.
    Text(String),
    /// An error of another module whose own text is the whole message (a failed hook).
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Errno(e) | Cause::Exec(e) => {
                write!(f, "{}: {}", self.what, errno_text(*e as i32))
            }
            Cause::Text(reason) if reason.is_empty() => f.write_str(&self.what),
            Cause::Text(reason) => write!(f, "{}: {reason}", self.what),
            Cause::Other(e) => write!(f, "{e}"),
        }
    }
}

// The cause is part of the text (it travels to rt as text over the sync channel), so it
// is not also a `source`.
impl std::error::Error for StepError {}

impl StepError {
    pub fn msg(what: impl Into<String>, reason: impl Into<String>) -> StepError {
        StepError {
            what: what.into(),
            cause: Cause::Text(reason.into()),
        }
    }

    /// Another module's error, whose text says everything.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> StepError {
        StepError {
            what: String::new(),
            cause: Cause::Other(Box::new(e)),
        }
    }

    /// The exit code of a container process that ends with this error before execve.
    pub fn exit_code(&self) -> i32 {
        match self.cause {
            Cause::Exec(_) => 127,
            _ => 1,
        }
    }

    /// The errno, when the kernel said no.
    pub fn errno(&self) -> Option<Errno> {
        match self.cause {
            Cause::Errno(e) | Cause::Exec(e) => Some(e),
            _ => None,
        }
    }
}

/// A value from outside quoted back in an error: escaped as a Rust string literal, and
/// cut after about 70 characters with its length, so that one bad argument is one short
/// line (a 1 MB ID or a string of control characters is not echoed back in full).
pub fn quoted(s: &str) -> String {
    const MAX: usize = 70;
    let mut out = String::from("\"");
    for (i, c) in s.char_indices() {
        if out.len() > MAX {
            return format!("{out}…\" ({} bytes, cut at byte {i})", s.len());
        }
        // As `{:?}` escapes it (a lone char's escape_debug would also escape ').
        let piece = format!("{:?}", &s[i..i + c.len_utf8()]);
        out.push_str(&piece[1..piece.len() - 1]);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod quoted_tests {
    use super::quoted;

    #[test]
    fn quoted_is_debug_text_cut_short() {
        for s in ["", "a'b\"c", "tab\there", "é\u{7f}\0"] {
            assert_eq!(quoted(s), format!("{s:?}"));
        }
        let long = "\u{7f}".repeat(10_000);
        let q = quoted(&long);
        assert!(q.len() < 120, "{q}");
        assert!(q.ends_with("…\" (10000 bytes, cut at byte 12)"), "{q}");
    }
}

/// Text for an errno as runc prints it: the C library's message in lower case (Go's
/// syscall.Errno strings), without Rust's " (os error N)" suffix. Engines read it: Docker
/// gives a start that failed with "no such file or directory" exit code 127 and one with
/// "permission denied" 126, matching only the lower-case text.
pub fn errno_text(errno: i32) -> String {
    let desc = nix::Error::from_raw(errno).desc();
    let mut chars = desc.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An io::Error's text, its errno as errno_text gives it.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_text(n),
        None => e.to_string(),
    }
}

pub trait Ctx<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError>;
}

impl<T> Ctx<T> for nix::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            cause: Cause::Errno(e),
        })
    }
}

impl<T> Ctx<T> for io::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            cause: match e.raw_os_error() {
                Some(n) => Cause::Errno(Errno::from_raw(n)),
                None => Cause::Text(e.to_string()),
            },
        })
    }
}

impl<T> Ctx<T> for rustix::io::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            cause: Cause::Errno(Errno::from_raw(e.raw_os_error())),
        })
    }
}

impl<T> Ctx<T> for Result<T, pathrs::error::Error> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        // libpathrs says which of its steps failed ("create next directory component
        // failed"); the kernel's reason (ENOSPC on a full rootfs, EROFS) is only in its
        // kind, and without it the message does not say what to mend.
        self.map_err(|e| StepError {
            what: what().into(),
            cause: match e.kind() {
                pathrs::error::ErrorKind::OsError(Some(n)) => {
                    Cause::Text(format!("{e}: {}", errno_text(n)))
                }
                _ => Cause::Text(e.to_string()),
            },
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
            "mounts[2]: /dev/shm: no such file or directory"
        );
        let r: io::Result<()> = Err(io::Error::from_raw_os_error(libc::EPERM));
        let e = r.ctx(|| "hostname").unwrap_err();
        assert_eq!(e.to_string(), "hostname: operation not permitted");
        assert_eq!(e.errno(), Some(Errno::EPERM));
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn a_failed_exec_exits_127_and_says_why() {
        let e = StepError {
            what: "exec /bin/nope".into(),
            cause: Cause::Exec(Errno::ENOENT),
        };
        assert_eq!(e.exit_code(), 127);
        assert_eq!(e.to_string(), "exec /bin/nope: no such file or directory");
        // Text that merely starts like it is no exec failure.
        assert_eq!(StepError::msg("exec something", "else").exit_code(), 1);
    }

    #[test]
    fn another_modules_error_is_its_own_text() {
        let e = StepError::other(io::Error::other("hooks.prestart[0]: /x: exit status 3"));
        assert_eq!(e.to_string(), "hooks.prestart[0]: /x: exit status 3");
        assert_eq!(e.errno(), None);
    }
}
