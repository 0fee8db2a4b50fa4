//! `rt update`: runc's flags, or a LinuxResources document (`--resources FILE|-`, which is
//! what containerd sends on stdin); flags override fields of the document.

use std::path::Path;

use anyhow::Context as _;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use crate::cli::UpdateArgs;
use crate::container::lifecycle;

/// A byte count as runc takes it: a number, optionally with a binary suffix k, m, g, t or
/// p (case-insensitive, an optional trailing b), or -1 for "no limit".
pub fn parse_bytes(flag: &str, s: &str) -> anyhow::Result<i64> {
    let bad = || {
        anyhow::anyhow!(
            "{flag}: {}: not a size (bytes, or a number with k, m, g, t or p)",
            crate::error::quoted(s)
        )
    };
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        Some('p') => (&t[..t.len() - 1], 50),
        _ => (t, 0),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    let bytes = n * (1u64 << shift) as f64;
    if bytes > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

fn read_document(path: &Path) -> anyhow::Result<LinuxResources> {
    let what = format!("--resources {}", path.display());
    let text = if path == Path::new("-") {
        crate::config::read_json_text(std::io::stdin(), &what)?
    } else {
        let file = std::fs::File::open(path).with_context(|| what.clone())?;
        crate::config::read_json_text(file, &what)?
    };
    parse_document(&text)
}

/// An `update --resources` document (runc's: a LinuxResources object).
pub fn parse_document(text: &[u8]) -> anyhow::Result<LinuxResources> {
    let r = crate::config::parse_with_path(text, "--resources", "--resources: ")?;
    Ok(r)
}

/// The resources `rt update` applies: the document (if any) with the flags on top.
pub fn resources(a: &UpdateArgs) -> anyhow::Result<LinuxResources> {
    let mut r = match &a.resources {
        Some(p) => read_document(p)?,
        None => LinuxResources::default(),
    };
    if a.memory.is_some() || a.memory_swap.is_some() || a.memory_reservation.is_some() {
        let mut m: LinuxMemory = r.memory().unwrap_or_default();
        if let Some(v) = &a.memory {
            m.set_limit(Some(parse_bytes("--memory", v)?));
        }
        if let Some(v) = &a.memory_swap {
            m.set_swap(Some(parse_bytes("--memory-swap", v)?));
        }
        if let Some(v) = &a.memory_reservation {
            m.set_reservation(Some(parse_bytes("--memory-reservation", v)?));
        }
        r.set_memory(Some(m));
    }
    for (flag, given) in [
        ("--kernel-memory", &a.kernel_memory),
        ("--kernel-memory-tcp", &a.kernel_memory_tcp),
    ] {
        if given.is_some() {
            crate::log::warn(&format_args!(
                "{flag}: ignored, as by runc (kernel memory limits are deprecated, gone since Linux 5.16)"
            ));
        }
    }
    let cpu_flag = a.cpu_shares.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_period.is_some()
        || a.cpu_burst.is_some()
        || a.cpu_idle.is_some()
        || a.cpu_rt_period.is_some()
        || a.cpu_rt_runtime.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some();
    if cpu_flag {
        let mut c: LinuxCpu = r.cpu().clone().unwrap_or_default();
        if a.cpu_shares.is_some() {
            c.set_shares(a.cpu_shares);
        }
        if a.cpu_quota.is_some() {
            c.set_quota(a.cpu_quota);
        }
        if a.cpu_period.is_some() {
            c.set_period(a.cpu_period);
        }
        if a.cpu_burst.is_some() {
            c.set_burst(a.cpu_burst);
        }
        if a.cpu_idle.is_some() {
            c.set_idle(a.cpu_idle);
        }
        if a.cpu_rt_period.is_some() {
            c.set_realtime_period(a.cpu_rt_period);
        }
        if a.cpu_rt_runtime.is_some() {
            c.set_realtime_runtime(a.cpu_rt_runtime);
        }
        if a.cpuset_cpus.is_some() {
            c.set_cpus(a.cpuset_cpus.clone());
        }
        if a.cpuset_mems.is_some() {
            c.set_mems(a.cpuset_mems.clone());
        }
        r.set_cpu(Some(c));
    }
    if let Some(limit) = a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(w) = a.blkio_weight {
        let mut b: LinuxBlockIo = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

pub fn update(root: &Path, a: &UpdateArgs) -> anyhow::Result<()> {
    let r = resources(a)?;
    let schemata: Vec<String> = [&a.l3_cache_schema, &a.mem_bw_schema]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    lifecycle::update(root, &a.id, &r, &schemata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("--memory", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("--memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("--memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("--memory", "512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("--memory", "1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("--memory-swap", "-1").unwrap(), -1);
        for bad in ["", "x", "12q", "-5", "k"] {
            let e = parse_bytes("--memory", bad).unwrap_err().to_string();
            assert!(e.starts_with("--memory: "), "{e}");
        }
    }
}
