//! Facts about the machine and the runtime binaries, for the header of results.md.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn kernel() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The three load averages of /proc/loadavg.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string())
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// UTC, from `date` (the driver has no calendar code of its own).
pub fn date() -> String {
    first_stdout_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The first line `<runtime> --version` prints.
pub fn version(path: &Path) -> String {
    first_stdout_line(Command::new(path).arg("--version"))
        .unwrap_or_else(|| "unknown (--version failed)".to_string())
}

fn first_stdout_line(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

#[derive(Debug, PartialEq)]
pub enum Linkage {
    Static,
    /// Shared libraries other than the C library's own, with their file sizes.
    Dynamic(Vec<(String, u64)>),
    Unknown(String),
}

pub fn linkage(binary: &Path) -> Linkage {
    let out = match Command::new("ldd")
        .arg(binary)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(e) => return Linkage::Unknown(format!("ldd: {e}")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match parse_ldd(&text) {
        None => Linkage::Static,
        Some(libs) => Linkage::Dynamic(
            libs.into_iter()
                .filter(|(name, _)| !is_libc(name))
                .map(|(name, path)| {
                    let size = path
                        .and_then(|p| fs::metadata(p).ok())
                        .map_or(0, |m| m.len());
                    (name, size)
                })
                .collect(),
        ),
    }
}

/// `None` for a static binary, else the libraries ldd lists and where it found them.
fn parse_ldd(text: &str) -> Option<Vec<(String, Option<PathBuf>)>> {
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return None;
    }
    let libs = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (name, rest) = match l.split_once(" => ") {
                Some((n, r)) => (n.trim(), r.trim()),
                None => (l.split_whitespace().next()?, l),
            };
            let path = rest
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
                .map(PathBuf::from);
            let name = name.rsplit('/').next().unwrap_or(name);
            Some((name.to_string(), path))
        })
        .collect();
    Some(libs)
}

/// Parts of glibc itself (and the kernel's vDSO), present for every dynamic binary.
fn is_libc(name: &str) -> bool {
    const LIBC: [&str; 9] = [
        "libc.so",
        "libm.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
        "libresolv.so",
        "ld-linux",
        "linux-vdso",
        "linux-gate",
    ];
    LIBC.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let crun = "\tlinux-vdso.so.1 (0x00007f70140ca000)
\tlibsystemd.so.0 => /lib/x86_64-linux-gnu/libsystemd.so.0 (0x00007f7013f71000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f7013d57000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f70140cc000)
";
        let libs = parse_ldd(crun).unwrap();
        assert_eq!(libs.len(), 4);
        assert_eq!(
            libs[1],
            (
                "libsystemd.so.0".to_string(),
                Some(PathBuf::from("/lib/x86_64-linux-gnu/libsystemd.so.0"))
            )
        );
        assert_eq!(libs[3].0, "ld-linux-x86-64.so.2");
        let non_libc: Vec<_> = libs.iter().filter(|(n, _)| !is_libc(n)).collect();
        assert_eq!(non_libc.len(), 1);
        assert_eq!(parse_ldd("\tnot a dynamic executable\n"), None);
        assert_eq!(parse_ldd("\tstatically linked\n"), None);
    }
}
