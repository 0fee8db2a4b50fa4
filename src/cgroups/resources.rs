//! linux.resources: values checked before anything is written, and a failed write traced
//! back to the config field that asked for it.
//!
//! libcgroups reports a failure by cgroup file ("failed to write 5 to .../cpu.shares").
//! The user controls config fields, so when applying everything at once fails, rt applies
//! each part on its own to find the one the host refused and names that field.

use oci_spec::runtime::LinuxResources;

use crate::config::{ConfigError, err};

/// Whether the host's hierarchy is cgroup v2 only, or v1/hybrid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    V1,
    V2,
}

fn positive_or_unlimited(field: &str, v: Option<i64>) -> Result<(), ConfigError> {
    match v {
        Some(n) if n == -1 || n > 0 => Ok(()),
        Some(_) => Err(err(field, "must be positive (or -1 for no limit)")),
        None => Ok(()),
    }
}

/// Checks values and their fit with the host's cgroup version. Fields the runtime spec
/// deprecates and lets runtimes ignore (kernel memory) are ignored; everything else the
/// host cannot honour is an error naming the field.
pub fn validate(r: &LinuxResources, mode: Mode) -> Result<(), ConfigError> {
    const P: &str = "linux.resources";
    if let Some(m) = r.memory() {
        positive_or_unlimited(&format!("{P}.memory.limit"), m.limit())?;
        positive_or_unlimited(&format!("{P}.memory.reservation"), m.reservation())?;
        positive_or_unlimited(&format!("{P}.memory.swap"), m.swap())?;
        if let (Some(limit), Some(swap)) = (m.limit(), m.swap())
            && limit > 0
            && swap > 0
            && swap < limit
        {
            return Err(err(
                format!("{P}.memory.swap"),
                "is memory plus swap, so it must not be below memory.limit",
            ));
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(err(format!("{P}.memory.swappiness"), "must be 0..100"));
            }
            if mode == Mode::V2 {
                return Err(err(
                    format!("{P}.memory.swappiness"),
                    "cgroup v2 has no per-cgroup swappiness",
                ));
            }
        }
        if m.disable_oom_killer() == Some(true) && mode == Mode::V2 {
            return Err(err(
                format!("{P}.memory.disableOOMKiller"),
                "cgroup v2 cannot disable the OOM killer",
            ));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares()
            && !(2..=262144).contains(&s)
        {
            return Err(err(format!("{P}.cpu.shares"), "must be 2..262144"));
        }
        positive_or_unlimited(&format!("{P}.cpu.quota"), c.quota())?;
        if let Some(p) = c.period()
            && !(1000..=1_000_000).contains(&p)
        {
            return Err(err(
                format!("{P}.cpu.period"),
                "must be 1000..1000000 microseconds",
            ));
        }
        if mode == Mode::V2 && (c.realtime_runtime().is_some() || c.realtime_period().is_some()) {
            return Err(err(
                format!("{P}.cpu.realtimeRuntime"),
                "cgroup v2 has no real-time scheduling limits",
            ));
        }
        for (name, v) in [("cpus", c.cpus()), ("mems", c.mems())] {
            if let Some(list) = v
                && !crate::config::is_list(list)
            {
                return Err(err(
                    format!("{P}.cpu.{name}"),
                    format!("{}: not a list like 0-3,5", crate::error::quoted(list)),
                ));
            }
        }
    }
    if let Some(p) = r.pids() {
        positive_or_unlimited(&format!("{P}.pids.limit"), Some(p.limit()))?;
    }
    if let Some(b) = r.block_io()
        && let Some(w) = b.weight()
        && !(10..=1000).contains(&w)
    {
        return Err(err(format!("{P}.blockIO.weight"), "must be 10..1000"));
    }
    for (i, d) in r.devices().iter().flatten().enumerate() {
        // The kernel knows r, w and m; anything else it refuses at the write, long after
        // the config could have been named. Each letter once, as runc asks.
        if let Some(a) = d.access()
            && (a.chars().any(|c| !"rwm".contains(c))
                || a.char_indices().any(|(k, c)| a[..k].contains(c)))
        {
            return Err(err(
                format!("{P}.devices[{i}].access"),
                format!(
                    "{}: only the letters r, w and m, each once",
                    crate::error::quoted(a)
                ),
            ));
        }
    }
    for name in r.rdma().iter().flat_map(|m| m.keys()) {
        // One line of rdma.max per device: "NAME hca_handle=N hca_object=M".
        if name.is_empty() || name.len() > 64 || name.contains(|c: char| c.is_whitespace()) {
            return Err(err(
                format!("{P}.rdma"),
                format!("{}: not an RDMA device name", crate::error::quoted(name)),
            ));
        }
    }
    if mode == Mode::V1 {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(err(
                format!("{P}.unified"),
                "invalid configuration: raw cgroup v2 settings on a host without cgroup v2 controllers",
            ));
        }
    } else if r.network().is_some() {
        return Err(err(
            format!("{P}.network"),
            "cgroup v2 has no net_cls/net_prio controllers",
        ));
    }
    Ok(())
}

/// What rt writes for `r`: `r` itself, plus a raw key where libcgroups falls short.
///
/// libcgroups 0.7 turns the spec's memory+swap into cgroup v2's swap-only value as
/// `swap - limit` and skips writing 0, so swap == limit (no swap at all) would leave
/// memory.swap.max unlimited. The unified key `memory.swap.max = 0`, written after the
/// memory controller's settings, says what the config means.
pub fn effective(mut r: LinuxResources, mode: Mode) -> LinuxResources {
    if mode == Mode::V2
        && let Some(m) = r.memory()
        && let (Some(limit), Some(swap)) = (m.limit(), m.swap())
        && limit > 0
        && swap == limit
    {
        let mut unified = r.unified().clone().unwrap_or_default();
        unified
            .entry("memory.swap.max".to_owned())
            .or_insert_with(|| "0".to_owned());
        r.set_unified(Some(unified));
    }
    r
}

/// linux.resources split into its top-level parts, each named by its config field, for
/// finding which one a failed write belongs to.
pub fn parts(r: &LinuxResources) -> Vec<(&'static str, LinuxResources)> {
    let mut out = Vec::new();
    let empty = LinuxResources::default;
    if let Some(m) = r.memory() {
        let mut p = empty();
        p.set_memory(Some(*m));
        out.push(("memory", p));
    }
    if let Some(c) = r.cpu() {
        let mut p = empty();
        p.set_cpu(Some(c.clone()));
        out.push(("cpu", p));
    }
    if let Some(x) = r.pids() {
        let mut p = empty();
        p.set_pids(Some(*x));
        out.push(("pids", p));
    }
    if let Some(x) = r.block_io() {
        let mut p = empty();
        p.set_block_io(Some(x.clone()));
        out.push(("blockIO", p));
    }
    if let Some(x) = r.hugepage_limits() {
        let mut p = empty();
        p.set_hugepage_limits(Some(x.clone()));
        out.push(("hugepageLimits", p));
    }
    if let Some(x) = r.network() {
        let mut p = empty();
        p.set_network(Some(x.clone()));
        out.push(("network", p));
    }
    if let Some(x) = r.devices() {
        let mut p = empty();
        p.set_devices(Some(x.clone()));
        out.push(("devices", p));
    }
    if let Some(x) = r.rdma() {
        let mut p = empty();
        p.set_rdma(Some(x.clone()));
        out.push(("rdma", p));
    }
    if let Some(x) = r.unified() {
        let mut p = empty();
        p.set_unified(Some(x.clone()));
        out.push(("unified", p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn field(v: serde_json::Value, mode: Mode) -> String {
        validate(&res(v), mode).unwrap_err().field
    }

    #[test]
    fn memory_values() {
        assert_eq!(
            validate(
                &res(json!({"memory": {"limit": 1048576, "swap": 2097152}})),
                Mode::V1
            ),
            Ok(())
        );
        assert_eq!(
            validate(&res(json!({"memory": {"limit": -1}})), Mode::V2),
            Ok(())
        );
        let e = validate(&res(json!({"memory": {"limit": -5}})), Mode::V1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.resources.memory.limit: must be positive (or -1 for no limit)"
        );
        assert_eq!(
            field(
                json!({"memory": {"limit": 2000000, "swap": 1000000}}),
                Mode::V1
            ),
            "linux.resources.memory.swap"
        );
        assert_eq!(
            field(json!({"memory": {"swappiness": 101}}), Mode::V1),
            "linux.resources.memory.swappiness"
        );
        assert_eq!(
            field(json!({"memory": {"swappiness": 10}}), Mode::V2),
            "linux.resources.memory.swappiness"
        );
        assert_eq!(
            field(json!({"memory": {"disableOOMKiller": true}}), Mode::V2),
            "linux.resources.memory.disableOOMKiller"
        );
        assert_eq!(
            validate(
                &res(json!({"memory": {"disableOOMKiller": true}})),
                Mode::V1
            ),
            Ok(())
        );
    }

    #[test]
    fn device_access_letters() {
        let rule = |a: &str| json!({"devices": [{"allow": true}, {"allow": false, "access": a}]});
        for good in ["", "r", "rwm", "mwr", "wm"] {
            assert!(validate(&res(rule(good)), Mode::V1).is_ok(), "{good}");
        }
        for bad in ["rwa", "rr", "x", "R"] {
            assert_eq!(
                field(rule(bad), Mode::V1),
                "linux.resources.devices[1].access",
                "{bad}"
            );
        }
    }

    #[test]
    fn cpu_values() {
        assert_eq!(
            validate(
                &res(
                    json!({"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"}})
                ),
                Mode::V1
            ),
            Ok(())
        );
        assert_eq!(
            field(json!({"cpu": {"shares": 1}}), Mode::V1),
            "linux.resources.cpu.shares"
        );
        assert_eq!(
            field(json!({"cpu": {"quota": 0}}), Mode::V1),
            "linux.resources.cpu.quota"
        );
        assert_eq!(
            field(json!({"cpu": {"period": 10}}), Mode::V1),
            "linux.resources.cpu.period"
        );
        assert_eq!(
            field(json!({"cpu": {"cpus": "0-x"}}), Mode::V1),
            "linux.resources.cpu.cpus"
        );
        assert_eq!(
            field(json!({"cpu": {"mems": "3-1"}}), Mode::V1),
            "linux.resources.cpu.mems"
        );
        assert_eq!(
            field(json!({"cpu": {"realtimeRuntime": 1000}}), Mode::V2),
            "linux.resources.cpu.realtimeRuntime"
        );
    }

    #[test]
    fn version_specific_parts() {
        assert_eq!(
            field(json!({"unified": {"memory.high": "1000000"}}), Mode::V1),
            "linux.resources.unified"
        );
        assert_eq!(
            validate(
                &res(json!({"unified": {"memory.high": "1000000"}})),
                Mode::V2
            ),
            Ok(())
        );
        assert_eq!(
            field(json!({"network": {"classID": 1}}), Mode::V2),
            "linux.resources.network"
        );
        assert_eq!(
            field(json!({"pids": {"limit": -7}}), Mode::V2),
            "linux.resources.pids.limit"
        );
        assert_eq!(
            field(json!({"blockIO": {"weight": 5}}), Mode::V1),
            "linux.resources.blockIO.weight"
        );
        assert_eq!(
            field(json!({"rdma": {"mlx5 0": {"hcaHandles": 3}}}), Mode::V2),
            "linux.resources.rdma"
        );
    }

    #[test]
    fn swap_equal_to_limit_means_no_swap_on_v2() {
        let r = res(json!({"memory": {"limit": 1048576, "swap": 1048576}}));
        let e = effective(r.clone(), Mode::V2);
        assert_eq!(e.unified().as_ref().unwrap()["memory.swap.max"], "0");
        assert_eq!(effective(r, Mode::V1).unified(), &None);
        let r = res(json!({"memory": {"limit": 1048576, "swap": 2097152}}));
        assert_eq!(effective(r, Mode::V2).unified(), &None);
        let r = res(
            json!({"memory": {"limit": 1048576, "swap": 1048576}, "unified": {"memory.swap.max": "5"}}),
        );
        assert_eq!(
            effective(r, Mode::V2).unified().as_ref().unwrap()["memory.swap.max"],
            "5"
        );
    }

    #[test]
    fn parts_are_named_by_field() {
        let r = res(json!({"memory": {"limit": 100000000}, "pids": {"limit": 10}, "unified": {}}));
        let names: Vec<&str> = parts(&r).iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec!["memory", "pids", "unified"]);
        assert!(parts(&r)[1].1.memory().is_none());
    }
}
