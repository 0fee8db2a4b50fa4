//! Running one runtime command through the static launcher (bench/launch.c), which reports
//! the wall time and peak RSS of exactly that command on fd 3.

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launched {
    pub wall_ns: u64,
    pub maxrss_kib: u64,
    /// Exit status, or minus the signal that killed the command.
    pub status: i32,
}

/// Runs `program args...` through `launcher`, its stdout and stderr going to `log`
/// (truncated first); the launcher kills it after `timeout_s` seconds. An error here is the
/// harness's; the command's own failure is in `Launched::status`.
pub fn launch<S: AsRef<OsStr>>(
    launcher: &Path,
    timeout_s: u32,
    program: &Path,
    args: &[S],
    log: &Path,
) -> Result<Launched> {
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone().context("duplicating the log file")?;
    let (rd, wr) = pipe2(OFlag::O_CLOEXEC).context("creating the report pipe")?;
    let wr_fd = wr.as_raw_fd();

    let mut cmd = Command::new(launcher);
    cmd.arg("-t")
        .arg(timeout_s.to_string())
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl) on an fd
    // that is open in the child, no allocation. dup2 clears FD_CLOEXEC on the copy; when
    // the pipe already is fd 3 there is nothing to copy and the flag is cleared by hand.
    unsafe {
        cmd.pre_exec(move || {
            let r = if wr_fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(wr_fd, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting the launcher {}", launcher.display()))?;
    // Only the launcher may hold the write end, or the read below never sees end-of-file.
    drop(wr);
    let mut report = String::new();
    let read = File::from(rd).read_to_string(&mut report);
    let status = child.wait().context("waiting for the launcher")?;
    read.context("reading the launcher's report")?;
    if !status.success() {
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        bail!(
            "the launcher failed ({status}): {}",
            log_text.lines().last().unwrap_or("no output")
        );
    }
    parse_report(&report)
}

fn parse_report(line: &str) -> Result<Launched> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let bad = || format!("unexpected launcher report {line:?}");
    if f.len() != 3 {
        bail!(bad());
    }
    Ok(Launched {
        wall_ns: f[0].parse().with_context(bad)?,
        maxrss_kib: f[1].parse().with_context(bad)?,
        status: f[2].parse().with_context(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line() {
        assert_eq!(
            parse_report("23000000 5120 0\n").unwrap(),
            Launched {
                wall_ns: 23_000_000,
                maxrss_kib: 5120,
                status: 0
            }
        );
        assert_eq!(parse_report("1 2 -9").unwrap().status, -9);
        assert!(parse_report("").is_err());
        assert!(parse_report("1 2").is_err());
        assert!(parse_report("a 2 0").is_err());
    }
}
