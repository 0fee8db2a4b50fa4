//! OCI hooks: each runs with exactly its own args and env, the container's state JSON on
//! stdin, and its timeout enforced. Where it runs (runtime or container namespaces) is
//! decided by the caller, which is the parent `rt` for prestart/createRuntime/poststart/
//! poststop and the container's init for createContainer/startContainer.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::memfd::{MemFdCreateFlag, memfd_create};
use oci_spec::runtime::Hook;

/// Each message names the field, then runc's words for it ("error running prestart hook
/// #1", which callers written for runc look for), then the hook's path and what happened.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The reason is part of the message, not a `source`: error chains are printed with
    /// their sources, and the reason would appear twice.
    #[error("hooks.{field}: {}: {path}: {reason}", runc_words(field))]
    Spawn {
        field: String,
        path: String,
        reason: String,
    },
    #[error("hooks.{field}: {}: {path}: {status}{output}", runc_words(field))]
    Failed {
        field: String,
        path: String,
        status: String,
        output: String,
    },
    #[error(
        "hooks.{field}: {}: {path}: timed out after {secs}s",
        runc_words(field)
    )]
    Timeout {
        field: String,
        path: String,
        secs: i64,
    },
}

/// "prestart[1]" as runc says it: "error running prestart hook #1".
fn runc_words(field: &str) -> String {
    match field.split_once('[') {
        Some((kind, rest)) => format!("error running {kind} hook #{}", rest.trim_end_matches(']')),
        None => format!("error running {field} hook"),
    }
}

fn capture_file() -> io::Result<File> {
    let fd = memfd_create(c"rt-hook-output", MemFdCreateFlag::MFD_CLOEXEC)?;
    Ok(File::from(fd))
}

/// The tail of what the hook printed, for the error message (one line).
fn tail(mut f: &File) -> String {
    // Only the end: a hook may print without bound, rt reads a few KiB of it.
    let mut out = Vec::new();
    let from_end = f
        .seek(io::SeekFrom::End(0))
        .unwrap_or(0)
        .saturating_sub(4096);
    if f.seek(io::SeekFrom::Start(from_end)).is_err() || f.read_to_end(&mut out).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&out);
    let text = text.trim();
    let start = text.len().saturating_sub(512);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].replace('\n', " ")
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => signal_words(sig),
        _ => status.to_string(),
    }
}

/// A death by signal as Go words it for runc ("signal: bad system call"), with the
/// signal's name.
fn signal_words(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a NUL-terminated description that stays
    // valid until the next call; it is copied at once, on this thread.
    let text = unsafe {
        let p = libc::strsignal(sig);
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
    };
    let mut words = text.unwrap_or_else(|| format!("signal {sig}"));
    if let Some(first) = words.get(..1) {
        words = first.to_ascii_lowercase() + &words[1..];
    }
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(name) => format!("signal: {words} ({name})"),
        Err(_) => format!("signal: {words}"),
    }
}

/// Waits for the child for at most `timeout`; None when it is still running.
fn wait_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> io::Result<Option<ExitStatus>> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32)
        .ok_or_else(|| io::Error::other("hook has no pid"))?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(0) if left.is_zero() => return Ok(None),
            Ok(0) => continue,
            Ok(_) => return child.wait().map(Some),
        }
    }
}

/// Ignores SIGPIPE while it lives; rt otherwise has the default disposition.
struct IgnoreSigpipe(libc::sighandler_t);

impl IgnoreSigpipe {
    fn new() -> IgnoreSigpipe {
        // SAFETY: SIG_IGN installs no handler code.
        IgnoreSigpipe(unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) })
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved in `new` (SIG_DFL or SIG_IGN).
        unsafe { libc::signal(libc::SIGPIPE, self.0) };
    }
}

/// Marks every fd from 3 on close-on-exec (std's own exec-error pipe already is, so it
/// keeps working); one fd at a time up to RLIMIT_NOFILE where close_range lacks
/// CLOSE_RANGE_CLOEXEC (< 5.11).
/// PR_SET_PDEATHSIG, then a check that rt did not die before it was set.
fn die_with(rt: nix::unistd::Pid) -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    if nix::unistd::getppid() != rt {
        return Err(std::io::Error::other("rt is gone"));
    }
    Ok(())
}

fn close_on_exec_from_3() -> std::io::Result<()> {
    // SAFETY: plain integer arguments; only fd flags change.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let max = lim.rlim_cur.min(1 << 20) as i32;
    for fd in 3..max {
        // SAFETY: fcntl on an fd number that may not be open: EBADF is harmless.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// `confine`: the container's seccomp filter, installed in the hook's process right
/// before its execve (startContainer hooks run in the container, as runc's do once its
/// filter is in place: runc's seccomp.bats "startContainer hook"). A notify listener made
/// there has no agent and is closed: such calls of the hook fail with ENOSYS.
pub fn run(
    field: &str,
    hook: &Hook,
    state_json: &[u8],
    confine: Option<&crate::security::seccomp::Filter>,
) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let spawn_err = |reason: io::Error| HookError::Spawn {
        field: field.to_owned(),
        path: path.clone(),
        reason: crate::error::io_text(&reason),
    };
    let out = capture_file().map_err(spawn_err)?;
    let mut cmd = Command::new(hook.path());
    let args = hook.args().as_deref().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        // An entry without '=' names an empty variable, as execve would pass it.
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        cmd.env(OsStr::from_bytes(k.as_bytes()), v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(out.try_clone().map_err(spawn_err)?))
        .stderr(Stdio::from(out.try_clone().map_err(spawn_err)?));
    // A hook gets the state on stdin and its stdout/stderr, nothing else: not the fds
    // rt's caller left open without close-on-exec, nor rt's own.
    // SAFETY: runs in the forked child before execve and only makes system calls, which
    // are async-signal-safe; no memory is allocated or shared.
    unsafe { cmd.pre_exec(close_on_exec_from_3) };
    // A hook dies with rt: a killed `rt create` must not leave its hook running on the
    // host with nobody to wait for it (runc leaves it). Its own process group, so that a
    // timeout takes what it started along.
    let rt_pid = nix::unistd::getpid();
    // SAFETY: as above, system calls only.
    unsafe { cmd.pre_exec(move || die_with(rt_pid)) };
    cmd.process_group(0);
    if let Some(filter) = confine {
        let filter = filter.clone();
        // SAFETY: runs in the forked child as the last step before execve: seccomp(2) on
        // programs built before the fork and close(2) of a listener; nothing is allocated
        // unless it fails.
        unsafe {
            cmd.pre_exec(move || {
                filter
                    .install(|listener| {
                        drop(listener);
                        Ok(())
                    })
                    .map_err(|e| io::Error::other(e.to_string()))
            })
        };
    }
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin closes the pipe early: not an error, and
        // not a reason to die of SIGPIPE either.
        let _quiet = IgnoreSigpipe::new();
        let _ = stdin.write_all(state_json);
    }
    crate::fault::point("hook: running");
    let status = match hook.timeout() {
        Some(secs) if secs > 0 => {
            let limit = Duration::from_secs(secs as u64);
            match wait_timeout(&mut child, limit).map_err(spawn_err)? {
                Some(status) => status,
                None => {
                    let group = nix::unistd::Pid::from_raw(child.id() as i32);
                    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                    let _ = child.wait();
                    return Err(HookError::Timeout {
                        field: field.to_owned(),
                        path,
                        secs,
                    });
                }
            }
        }
        _ => child.wait().map_err(spawn_err)?,
    };
    if status.success() {
        return Ok(());
    }
    let printed = tail(&out);
    Err(HookError::Failed {
        field: field.to_owned(),
        path,
        status: describe(status),
        output: if printed.is_empty() {
            String::new()
        } else {
            format!(": {printed}")
        },
    })
}

/// Runs `hooks` in order; the first failure stops the list.
pub fn run_all(
    kind: &str,
    hooks: &[Hook],
    state_json: &[u8],
    confine: Option<&crate::security::seccomp::Filter>,
) -> Result<(), HookError> {
    for (i, hook) in hooks.iter().enumerate() {
        run(&format!("{kind}[{i}]"), hook, state_json, confine)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str], env: &[&str], timeout: Option<i64>) -> Hook {
        let mut h = Hook::default();
        h.set_path("/bin/sh".into());
        h.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
        h.set_env(Some(env.iter().map(|s| s.to_string()).collect()));
        h.set_timeout(timeout);
        h
    }

    #[test]
    fn passes_stdin_env_and_args() {
        let dir = std::env::temp_dir().join(format!("rt-hook-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let script = format!(
            "read -r line; echo \"$0|$1|$FOO|$line|${{HOME:-nohome}}\" > {}",
            out.display()
        );
        let h = hook(&["myhook", "-c", &script, "argone"], &["FOO=bar"], None);
        // sh -c SCRIPT NAME ARG: $0 = NAME... here $0 is "argone" since -c consumes the script.
        run("createRuntime[0]", &h, b"{\"id\":\"x\"}\n", None).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got.trim(), "argone||bar|{\"id\":\"x\"}|nohome");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_names_the_hook_and_shows_output() {
        let h = hook(&["sh", "-c", "echo broken >&2; exit 3"], &[], None);
        let e = run("poststop[1]", &h, b"{}", None).unwrap_err().to_string();
        assert_eq!(
            e,
            "hooks.poststop[1]: error running poststop hook #1: /bin/sh: exit status 3: broken"
        );
    }

    #[test]
    fn timeout_kills_the_hook() {
        let h = hook(&["sh", "-c", "sleep 30"], &[], Some(1));
        let t = std::time::Instant::now();
        let e = run("prestart[0]", &h, b"{}", None).unwrap_err();
        assert!(matches!(e, HookError::Timeout { secs: 1, .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_binary_is_a_spawn_error() {
        let mut h = Hook::default();
        h.set_path("/nonexistent/hook".into());
        let e = run("createRuntime[0]", &h, b"{}", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "hooks.createRuntime[0]: error running createRuntime hook #0: /nonexistent/hook: "
            ),
            "{e}"
        );
    }
}
