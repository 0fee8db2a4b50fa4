//! `rt events`: statistics and OOM notifications as runc prints them, one JSON object per
//! line: `{"type":"stats","id":…,"data":{…}}` and `{"type":"oom","id":…}`.
//!
//! OOM kills are noticed by watching the kernel's `oom_kill` counter of the container's
//! memory cgroup, which both cgroup versions keep; checking it every 100 ms is simpler
//! than an eventfd (v1) or inotify (v2) registration and just as reliable.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cgroups::{self, resources::Mode};
use crate::cli::EventsArgs;
use crate::container::preconditions::Op;
use crate::container::{Container, ContainerError, Status, lifecycle};

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu_user: Vec<u64>,
    kernel: u64,
    user: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    throttled_periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    throttled_time: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Cpu {
    usage: CpuUsage,
    throttling: Throttling,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct MemoryEntry {
    limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max: u64,
    failcnt: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    cache: u64,
    usage: MemoryEntry,
    swap: MemoryEntry,
    kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    raw: BTreeMap<String, u64>,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    limit: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    op: String,
    #[serde(skip_serializing_if = "is_zero")]
    value: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioQueueRecursive", skip_serializing_if = "Vec::is_empty")]
    io_queued_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_merged_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    io_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max: u64,
    failcnt: u64,
}

/// runc's `types.Stats`, field for field.
#[derive(Serialize, Default, Debug, PartialEq)]
pub struct RuncStats {
    cpu: Cpu,
    memory: Memory,
    pids: Pids,
    blkio: Blkio,
    hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Serialize, Debug)]
struct Event<'a> {
    #[serde(rename = "type")]
    typ: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<RuncStats>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn entry(d: &MemoryData) -> MemoryEntry {
    MemoryEntry {
        limit: d.limit,
        usage: d.usage,
        max: d.max_usage,
        failcnt: d.fail_count,
    }
}

fn blkio(v: &[BlkioDeviceStat]) -> Vec<BlkioEntry> {
    v.iter()
        .map(|s| BlkioEntry {
            major: s.major,
            minor: s.minor,
            op: s.op_type.clone().unwrap_or_default(),
            value: s.value,
        })
        .collect()
}

/// libcgroups' statistics in runc's shape. cgroup v2 reports CPU time in microseconds
/// where v1 (and runc's format) uses nanoseconds.
pub fn convert(s: &Stats, mode: Mode) -> RuncStats {
    let k = if mode == Mode::V2 { 1000 } else { 1 };
    let u = &s.cpu.usage;
    let scale = |v: &Vec<u64>| v.iter().map(|x| x * k).collect::<Vec<_>>();
    RuncStats {
        cpu: Cpu {
            usage: CpuUsage {
                total: u.usage_total * k,
                percpu: scale(&u.per_core_usage_total),
                percpu_kernel: scale(&u.per_core_usage_kernel),
                percpu_user: scale(&u.per_core_usage_user),
                kernel: u.usage_kernel * k,
                user: u.usage_user * k,
            },
            throttling: Throttling {
                periods: s.cpu.throttling.periods,
                throttled_periods: s.cpu.throttling.throttled_periods,
                throttled_time: s.cpu.throttling.throttled_time * k,
            },
        },
        memory: Memory {
            cache: s.memory.cache,
            usage: entry(&s.memory.memory),
            swap: entry(&s.memory.memswap),
            kernel: entry(&s.memory.kernel),
            kernel_tcp: entry(&s.memory.kernel_tcp),
            raw: s
                .memory
                .stats
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        },
        pids: Pids {
            current: s.pids.current,
            limit: s.pids.limit,
        },
        blkio: Blkio {
            io_service_bytes_recursive: blkio(&s.blkio.service_bytes),
            io_serviced_recursive: blkio(&s.blkio.serviced),
            io_queued_recursive: blkio(&s.blkio.queued),
            io_service_time_recursive: blkio(&s.blkio.service_time),
            io_wait_time_recursive: blkio(&s.blkio.wait_time),
            io_merged_recursive: blkio(&s.blkio.merged),
            io_time_recursive: blkio(&s.blkio.time),
            sectors_recursive: blkio(&s.blkio.sectors),
        },
        hugetlb: s
            .hugetlb
            .iter()
            .map(|(size, h)| {
                (
                    size.clone(),
                    Hugetlb {
                        usage: h.usage,
                        max: h.max_usage,
                        failcnt: h.fail_count,
                    },
                )
            })
            .collect(),
    }
}

/// A Go duration ("5s", "500ms", "1m30s", "1.5h", "250us"), as runc's --interval takes.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * secs;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

fn print(event: &Event) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(event).context("formatting event")?
    );
    Ok(())
}

fn stats_event<'a>(
    reader: &cgroups::StatsReader,
    id: &'a str,
    mode: Mode,
) -> anyhow::Result<Event<'a>> {
    let s = reader.read()?;
    Ok(Event {
        typ: "stats",
        id,
        data: Some(convert(&s, mode)),
    })
}

fn still_running(root: &Path, id: &str) -> bool {
    match Container::load(root, id) {
        Ok(c) => !matches!(c.status(), Status::Stopped),
        Err(ContainerError::NotExist(_)) => false,
        Err(_) => false,
    }
}

pub fn events(root: &Path, a: &EventsArgs) -> anyhow::Result<()> {
    let (record, _) = lifecycle::readable_cgroup(root, &a.id, Op::Read)?;
    let mode = cgroups::mode()?;
    let reader = cgroups::StatsReader::open(&record, &a.id)?;
    if a.stats {
        return print(&stats_event(&reader, &a.id, mode)?);
    }
    let interval = match parse_go_duration(&a.interval) {
        Some(d) if !d.is_zero() => d,
        _ => bail!(
            "--interval {:?}: not a positive duration like 5s or 500ms",
            a.interval
        ),
    };
    let tick = Duration::from_millis(100).min(interval);
    let mut ooms = cgroups::oom_kills(&record).unwrap_or(0);
    let mut next_stats = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_stats {
            match stats_event(&reader, &a.id, mode) {
                Ok(e) => print(&e)?,
                // The container went away between two ticks: that ends the stream.
                Err(_) if !still_running(root, &a.id) => return Ok(()),
                Err(e) => return Err(e),
            }
            next_stats = now + interval;
        }
        if let Some(n) = cgroups::oom_kills(&record)
            && n > ooms
        {
            ooms = n;
            print(&Event {
                typ: "oom",
                id: &a.id,
                data: None,
            })?;
        }
        if !still_running(root, &a.id) {
            return Ok(());
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-1s", "1.2.3s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn stats_have_runcs_shape() {
        let mut s = Stats::default();
        s.cpu.usage.usage_total = 7;
        s.cpu.throttling.throttled_periods = 3;
        s.memory.memory.usage = 4096;
        s.memory.memory.limit = 8192;
        s.pids.current = 2;
        let v = serde_json::to_value(Event {
            typ: "stats",
            id: "c",
            data: Some(convert(&s, Mode::V2)),
        })
        .unwrap();
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c");
        assert_eq!(v["data"]["cpu"]["usage"]["total"], 7000);
        assert_eq!(v["data"]["cpu"]["throttling"]["throttledPeriods"], 3);
        assert_eq!(v["data"]["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["data"]["memory"]["usage"]["limit"], 8192);
        assert_eq!(v["data"]["pids"]["current"], 2);
        assert!(v["data"]["memory"].get("kernelTCP").is_some());
        let oom = serde_json::to_string(&Event {
            typ: "oom",
            id: "c",
            data: None,
        })
        .unwrap();
        assert_eq!(oom, r#"{"type":"oom","id":"c"}"#);
    }
}
