//! Logging to stderr and to `--log FILE`.
//!
//! containerd's shim reads the `--log` file written with `--log-format json` and reports the
//! last `"level":"error"` object to its caller, so that format is one logrus-style object per
//! line: `{"level":"error","msg":"...","time":"..."}`. The text format mirrors logrus' too:
//! `time="..." level=error msg="..."`. An error also goes to stderr as one `rt: ...` line,
//! as runc's does. Warnings and debug lines (with `--debug`) go to the log file if there is
//! one, and to stderr only if there is none: an engine gives rt the container's stdio as
//! its own (containerd's shim passes the container's pipes to `create`, `start` and
//! `exec`), so a warning on stderr would land in the container's logs.
//!
//! Deliberately tiny: start-up cost matters (every `rt` invocation pays it) and nothing here
//! needs a subscriber framework.

use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// The --log-format values (cli.rs names them for clap; main.rs maps them here, so that
/// this bottom-layer file needs nothing of the command line's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

static DEBUG: AtomicBool = AtomicBool::new(false);
static SINK: OnceLock<Sink> = OnceLock::new();
/// Lines meant for stderr while the container's process runs on the same stderr (see
/// hold_stderr).
static HELD: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// From now on, until release_stderr, lines for stderr are kept instead of written: a
/// foreground `rt run` shares its stderr with the container, and a warning (a failing
/// poststart hook) printed while the container runs would land between its own lines.
/// With --log nothing but errors goes to stderr anyway.
pub fn hold_stderr() {
    if let Ok(mut held) = HELD.lock() {
        held.get_or_insert_with(Vec::new);
    }
}

/// Writes what hold_stderr kept, after the container's own output.
pub fn release_stderr() {
    let lines = HELD.lock().ok().and_then(|mut h| h.take());
    for line in lines.into_iter().flatten() {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// Set in a created container's init once `create` has returned: its stderr is the
/// container's (an engine's log pipe), and whatever it would say goes to `rt start`
/// over the start socket, or to the --log file.
static MUTED: AtomicBool = AtomicBool::new(false);

pub fn mute_stderr() {
    MUTED.store(true, Ordering::Relaxed);
}

fn to_stderr(line: String) {
    if MUTED.load(Ordering::Relaxed) {
        return;
    }
    if let Ok(mut held) = HELD.lock()
        && let Some(held) = held.as_mut()
    {
        held.push(line);
        return;
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The --log file's fd, which children of rt keep (they log through it until execve).
pub fn file_fd() -> Option<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    SINK.get()?.file.as_ref().map(|f| f.as_raw_fd())
}

struct Sink {
    file: Option<File>,
    format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

/// Sets up logging. A log file that cannot be opened is reported and otherwise ignored:
/// failing the whole command because of its log would hide the command's own result.
pub fn init(file: Option<&Path>, format: LogFormat, debug: bool) {
    DEBUG.store(debug, Ordering::Relaxed);
    let file = file.and_then(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| eprintln!("rt: --log {}: {e}", path.display()))
            .ok()
    });
    let _ = SINK.set(Sink { file, format });
}

pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// One log line in the `--log-format` syntax, without the trailing newline.
fn format_line(format: LogFormat, level: Level, msg: &str, time: SystemTime) -> String {
    let time = humantime::format_rfc3339_seconds(time).to_string();
    match format {
        LogFormat::Json => {
            serde_json::json!({ "level": level.as_str(), "msg": msg, "time": time }).to_string()
        }
        LogFormat::Text => {
            // logrus quotes values with serde-compatible escaping.
            let quoted = serde_json::Value::String(msg.to_owned()).to_string();
            format!("time=\"{time}\" level={} msg={quoted}", level.as_str())
        }
    }
}

pub fn log(level: Level, msg: &dyn Display) {
    let msg = msg.to_string();
    let sink = SINK.get();
    let file = sink.and_then(|s| s.file.as_ref());
    if level == Level::Error || file.is_none() {
        to_stderr(match level {
            Level::Error => format!("rt: {msg}"),
            Level::Warn => format!("rt: warning: {msg}"),
            // A trace for tools more than for people: in the syntax of `--log`'s lines,
            // as runc's --debug without --log writes them to stderr.
            Level::Debug => format_line(LogFormat::Text, level, &msg, SystemTime::now()),
        });
    }
    if let (Some(sink), Some(mut f)) = (sink, file) {
        let mut line = format_line(sink.format, level, &msg, SystemTime::now());
        line.push('\n');
        // One write(2) per line so concurrent writers with O_APPEND never interleave.
        let _ = f.write_all(line.as_bytes());
    }
}

pub fn error(msg: &dyn Display) {
    log(Level::Error, msg);
}

pub fn warn(msg: &dyn Display) {
    log(Level::Warn, msg);
}

/// `debug!("...", args)`: formats only when `--debug` was given.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::debug_enabled() {
            $crate::log::log($crate::log::Level::Debug, &format_args!($($arg)*));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn json_line_is_logrus_shaped() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let line = format_line(LogFormat::Json, Level::Error, "container \"x\" failed", t);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" failed");
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn text_line_quotes_message() {
        let t = SystemTime::UNIX_EPOCH;
        let line = format_line(LogFormat::Text, Level::Warn, "a \"b\"\nc", t);
        assert_eq!(
            line,
            r#"time="1970-01-01T00:00:00Z" level=warning msg="a \"b\"\nc""#
        );
    }
}
