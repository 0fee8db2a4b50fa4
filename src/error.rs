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

/// What the last panic of a thread other than main said (see main's panic hook): a
/// dependency that panics there (libpathrs does when it cannot open /proc/thread-self,
/// out of fds) is caught by the thread's join and reported as an error with this text.
pub static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

pub fn last_panic() -> String {
    LAST_PANIC
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_else(|| "it panicked".to_owned())
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
            reason: errno_text(e as i32),
        })
    }
}

impl<T> Ctx<T> for io::Result<T> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            what: what().into(),
            reason: io_text(&e),
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
            "mounts[2]: /dev/shm: no such file or directory"
        );
        let r: io::Result<()> = Err(io::Error::from_raw_os_error(libc::EPERM));
        let e = r.ctx(|| "hostname").unwrap_err();
        assert_eq!(e.to_string(), "hostname: operation not permitted");
    }
}
