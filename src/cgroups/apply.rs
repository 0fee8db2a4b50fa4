//! linux.resources onto a container's cgroup through libcgroups' managers (at create and
//! on update), rdma.max (which libcgroups lacks), the freezer, and what `events` and `ps`
//! read.

use std::path::{Path, PathBuf};

use libcgroups::common::{
    AnyCgroupManager, CgroupConfig, CgroupManager, CgroupSetup, ControllerOpt, DEFAULT_CGROUP_ROOT,
};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Spec};

use super::error::CgroupError;
use super::host::*;
use super::record::CgroupRecord;
use super::resources;

pub(super) fn manager(record: &CgroupRecord, id: &str) -> Result<AnyCgroupManager, CgroupError> {
    if !record.systemd && mode()? == resources::Mode::V1 {
        // Each controller's directory as rt placed it (see CgroupRecord::dir_in), from
        // the mount points read once per process.
        let points = v1_mount_points()?;
        let m = libcgroups::v1::manager::Manager::with_subsystem_paths(|c| {
            points.get(&c.to_string()).map(|m| record.dir_in(m))
        });
        return Ok(m.any());
    }
    libcgroups::common::create_cgroup_manager(CgroupConfig {
        cgroup_path: record.path.clone(),
        systemd_cgroup: record.systemd,
        container_name: id.to_owned(),
    })
    .map_err(|e| CgroupError::libcgroups("", e))
}

/// linux.resources plus an allow rule for every linux.devices entry: the spec says those
/// devices must be usable in the container, so the device cgroup must not deny them.
pub(super) fn resources_with_devices(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    // Device cgroup rules know only character and block devices (a FIFO needs none).
    let extra: Vec<LinuxDeviceCgroup> = linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let typ = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => LinuxDeviceType::C,
                LinuxDeviceType::B => LinuxDeviceType::B,
                _ => return None,
            };
            let mut rule = LinuxDeviceCgroup::from(d);
            rule.set_typ(Some(typ));
            Some(rule)
        })
        .collect();
    if !extra.is_empty() {
        let mut all = resources.devices().clone().unwrap_or_default();
        all.extend(extra);
        resources.set_devices(Some(all));
    }
    resources
}

/// Writes linux.resources, with the device rules linux.devices implies, through `m`.
pub(super) fn apply_spec(
    record: &CgroupRecord,
    spec: &Spec,
    id: &str,
    m: &AnyCgroupManager,
) -> Result<(), CgroupError> {
    apply_all(
        record,
        id,
        m,
        &resources::effective(resources_with_devices(spec), mode()?),
    )
}

/// Applies linux.resources (and the device rules linux.devices implies) to the
/// container's existing cgroups.
pub fn apply_resources(record: &CgroupRecord, spec: &Spec, id: &str) -> Result<(), CgroupError> {
    apply_spec(record, spec, id, &manager(record, id)?)
}

/// libcgroups' systemd driver applies only what systemd has properties for (cpu, cpuset,
/// io, memory, pids). The rest — the device allow list (an eBPF program), raw unified
/// keys, hugetlb limits — goes straight into the unit's cgroup, which systemd delegates
/// to rt: silently dropping a device rule would be a hole in the container.
pub(super) fn split_for_systemd(r: &LinuxResources) -> (LinuxResources, LinuxResources) {
    let mut via_systemd = r.clone();
    via_systemd.set_devices(None);
    via_systemd.set_unified(None);
    via_systemd.set_hugepage_limits(None);
    let mut direct = LinuxResources::default();
    direct.set_devices(r.devices().clone());
    direct.set_unified(r.unified().clone());
    direct.set_hugepage_limits(r.hugepage_limits().clone());
    (via_systemd, direct)
}

pub(super) fn apply_all(
    record: &CgroupRecord,
    id: &str,
    m: &AnyCgroupManager,
    r: &LinuxResources,
) -> Result<(), CgroupError> {
    apply_rdma(record, r)?;
    let Some(dir) = record.unit_dir.as_ref().filter(|_| record.systemd) else {
        return apply(m, r);
    };
    let (via_systemd, direct) = split_for_systemd(r);
    apply(m, &via_systemd)?;
    if direct != LinuxResources::default() {
        let fs =
            libcgroups::v2::manager::Manager::new(PathBuf::from(DEFAULT_CGROUP_ROOT), dir.clone())
                .map_err(|e| CgroupError::libcgroups(id, e))?
                .any();
        apply(&fs, &direct)?;
    }
    Ok(())
}

/// linux.resources.rdma, which libcgroups has no controller for: each device's limits go
/// to the container's rdma.max through libcgroups' file helper, one device per write as
/// the kernel takes them ("NAME hca_handle=N hca_object=M"; a limit not given is "max").
/// The kernel refuses a device it does not know (ENODEV), naming it here.
pub(super) fn apply_rdma(record: &CgroupRecord, r: &LinuxResources) -> Result<(), CgroupError> {
    let Some(devices) = r.rdma().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let root = rdma_root().map_err(|reason| CgroupError::Field {
        field: "linux.resources.rdma".into(),
        reason,
    })?;
    let file = record.dir_in(&root).join("rdma.max");
    let mut names: Vec<&String> = devices.keys().collect();
    names.sort();
    for name in names {
        let d = &devices[name];
        let limit = |n: Option<u32>| n.map_or_else(|| "max".to_owned(), |n| n.to_string());
        let line = format!(
            "{name} hca_handle={} hca_object={}",
            limit(d.hca_handles()),
            limit(d.hca_objects())
        );
        libcgroups::common::write_cgroup_file_str(&file, &line).map_err(|e| {
            // The kernel's answer in runc's words (ENODEV: no such device).
            let why = crate::error::io_text(e.inner());
            CgroupError::Field {
                field: format!("linux.resources.rdma.{name}"),
                reason: format!("this host refused it: {why}"),
            }
        })?;
    }
    Ok(())
}

/// The root of the rdma controller's hierarchy: the unified one where it is enabled
/// there, else the v1 hierarchy mounted with it.
pub(super) fn rdma_root() -> Result<PathBuf, String> {
    let missing = || "this host has no rdma cgroup controller".to_owned();
    if matches!(setup(), Ok(CgroupSetup::Unified)) {
        let root = Path::new(DEFAULT_CGROUP_ROOT);
        let controllers = libcgroups::common::read_cgroup_file(root.join("cgroup.controllers"))
            .map_err(|e| e.to_string())?;
        if !controllers.split_whitespace().any(|c| c == "rdma") {
            return Err(missing());
        }
        return Ok(root.to_path_buf());
    }
    cgroup_mounts()
        .map_err(|e| e.to_string())?
        .iter()
        .find(|m| m.fs_type == "cgroup" && m.super_options.contains_key("rdma"))
        .map(|m| m.mount_point.clone())
        .ok_or_else(missing)
}

/// Whether linux.resources.rdma can be honoured here (`rt features`).
pub fn rdma_available() -> bool {
    rdma_root().is_ok()
}

/// systemd enables only the controllers it manages, and hugetlb is not one: without it in
/// the unit's cgroup there are no hugetlb limits and libcgroups cannot read statistics.
/// Enabled from the root down to the unit's parent, best effort (as libcgroups does for
/// its own cgroups); systemd leaves controllers it does not know alone.
pub(super) fn enable_hugetlb_down_to(unit_dir: &Path) {
    let root = Path::new(DEFAULT_CGROUP_ROOT);
    let available = libcgroups::common::read_cgroup_file(root.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|x| x == "hugetlb"));
    if !available {
        return;
    }
    let mut dir = root.to_path_buf();
    let parents: Vec<_> = unit_dir.components().skip(1).collect();
    for (i, c) in parents.iter().enumerate() {
        let _ = libcgroups::common::write_cgroup_file_str(
            dir.join("cgroup.subtree_control"),
            "+hugetlb",
        );
        if i + 1 == parents.len() {
            break;
        }
        dir.push(c);
    }
}

/// Writes `r` to the cgroup. On failure, applies each part of `r` on its own to name the
/// config field the host refused.
pub(super) fn controller_opt(r: &LinuxResources) -> ControllerOpt<'_> {
    ControllerOpt {
        resources: r,
        disable_oom_killer: r
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false),
        oom_score_adj: None,
        freezer_state: None,
    }
}

pub(super) fn apply(m: &AnyCgroupManager, r: &LinuxResources) -> Result<(), CgroupError> {
    let Err(whole) = m.apply(&controller_opt(r)) else {
        return Ok(());
    };
    for (name, part) in resources::parts(r) {
        if let Err(e) = m.apply(&controller_opt(&part)) {
            return Err(CgroupError::Field {
                field: format!("linux.resources.{name}"),
                reason: format!("this host refused it: {e}"),
            });
        }
    }
    Err(CgroupError::Apply(whole.to_string()))
}

/// Checks linux.resources against the host's cgroup version before anything is created.
pub fn validate(spec: &Spec) -> Result<(), CgroupError> {
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        resources::validate(r, mode()?)?;
        if r.rdma().as_ref().is_some_and(|d| !d.is_empty())
            && let Err(reason) = rdma_root()
        {
            return Err(CgroupError::Field {
                field: "linux.resources.rdma".into(),
                reason,
            });
        }
    }
    Ok(())
}

/// `rt update`: writes new limits to a running container's cgroup.
pub fn update(record: &CgroupRecord, id: &str, r: &LinuxResources) -> Result<(), CgroupError> {
    let mut r = r.clone();
    crate::config::unset_zero_limits(&mut r);
    resources::validate(&r, mode()?)?;
    keep_cpu_quota(record, &mut r);
    v1_cpu_ahead(record, &r)?;
    let r = &r;
    let m = manager(record, id)?;
    if r.memory().as_ref().and_then(|m| m.check_before_update()) == Some(true)
        && let Some(limit) = r.memory().as_ref().and_then(|m| m.limit())
        && limit > 0
    {
        let usage = m
            .stats()
            .map_err(|e| CgroupError::libcgroups("reading the usage", e))?
            .memory
            .memory
            .usage;
        if (limit as u64) < usage {
            return Err(CgroupError::Field {
                field: "linux.resources.memory.limit".into(),
                reason: format!(
                    "{limit} is below the current usage of {usage} (checkBeforeUpdate)"
                ),
            });
        }
    }
    apply_all(record, id, &m, &resources::effective(r.clone(), mode()?))
}

/// libcgroups' systemd driver sends "no quota" whenever a cpu update lacks one, so
/// `update --cpu-shares` alone would lift the container's CPU limit. The unit's current
/// quota is restated instead, as the cgroupfs driver leaves it.
pub(super) fn keep_cpu_quota(record: &CgroupRecord, r: &mut LinuxResources) {
    let (Some(dir), Some(cpu)) = (
        record.unit_dir.as_ref().filter(|_| record.systemd),
        r.cpu().clone(),
    ) else {
        return;
    };
    if cpu.quota().is_some() {
        return;
    }
    let file = Path::new(DEFAULT_CGROUP_ROOT)
        .join(dir.strip_prefix("/").unwrap_or(dir))
        .join("cpu.max");
    let Ok(text) = libcgroups::common::read_cgroup_file(file) else {
        return;
    };
    let mut fields = text.split_whitespace();
    let (Some(Ok(quota)), Some(Ok(period))) = (
        fields.next().map(str::parse::<i64>),
        fields.next().map(str::parse::<u64>),
    ) else {
        return;
    };
    let mut cpu = cpu;
    cpu.set_quota(Some(quota));
    if cpu.period().is_none() {
        cpu.set_period(Some(period));
    }
    r.set_cpu(Some(cpu));
}

/// libcgroups writes v1's cpu files in one fixed order (shares, period, quota, ..., idle),
/// and the kernel checks each write against the others' current values, so some updates
/// that fit as a whole are refused half-way. Two are written ahead here:
/// - the quota: cfs_quota_us/cfs_period_us must fit the parent's ratio at each write, and
///   a shorter period under the old quota may not (if the quota is the write refused, a
///   larger quota under the old period, libcgroups' period-then-quota order fits);
/// - cpu.idle turned off: an idle group refuses cpu.shares.
fn v1_cpu_ahead(record: &CgroupRecord, r: &LinuxResources) -> Result<(), CgroupError> {
    let Some(cpu) = r.cpu() else {
        return Ok(());
    };
    if record.systemd || mode()? != resources::Mode::V1 {
        return Ok(());
    }
    let dir = controller_dir(record, "cpu")?;
    if let (Some(quota), Some(_)) = (cpu.quota().filter(|q| *q != 0), cpu.period()) {
        match libcgroups::common::write_cgroup_file(dir.join("cpu.cfs_quota_us"), quota) {
            Err(e) if !is_einval(&e) => {
                return Err(CgroupError::libcgroups("linux.resources.cpu.quota", e));
            }
            _ => {}
        }
    }
    if cpu.idle() == Some(0) && cpu.shares().is_some() {
        libcgroups::common::write_cgroup_file(dir.join("cpu.idle"), 0)
            .map_err(|e| CgroupError::libcgroups("linux.resources.cpu.idle", e))?;
    }
    Ok(())
}

fn is_einval(e: &libcgroups::common::WrappedIoError) -> bool {
    e.inner().raw_os_error() == Some(libc::EINVAL)
}

/// Freezes (pause) or thaws (resume) every process of the container.
pub fn freeze(record: &CgroupRecord, id: &str, frozen: bool) -> Result<(), CgroupError> {
    let state = if frozen {
        libcgroups::common::FreezerState::Frozen
    } else {
        libcgroups::common::FreezerState::Thawed
    };
    manager(record, id)?
        .freeze(state)
        .map_err(|e| CgroupError::libcgroups("freezer", e))
}

/// Whether the container's freezer cgroup exists: freezing through libcgroups makes the
/// directory when it is missing, which must not happen to a half-made or removed one.
pub fn has_freezer(record: &CgroupRecord) -> bool {
    controller_dir(record, "freezer").is_ok_and(|d| d.is_dir())
}

/// Whether the container's cgroup is frozen. libcgroups can set the freezer state but
/// not read it back, so its file is read here (through libcgroups' reader).
pub fn is_frozen(record: &CgroupRecord) -> bool {
    let (file, frozen) = match mode() {
        Ok(resources::Mode::V2) => ("cgroup.freeze", "1"),
        Ok(resources::Mode::V1) => ("freezer.state", "FROZEN"),
        Err(_) => return false,
    };
    controller_dir(record, "freezer")
        .ok()
        .and_then(|d| libcgroups::common::read_cgroup_file(d.join(file)).ok())
        .is_some_and(|s| s.trim() == frozen)
}

/// Whether the container is paused, given the state letter of its live init (from
/// /proc/PID/stat), for `list` and `state`, which ask this of every container: most are
/// not paused, and the letter answers for them without a read of the freezer.
/// A v1 freezer calls a cgroup FROZEN only once each of its tasks is frozen, and since
/// Linux 6.1 (the freezer rewrite that made TASK_FROZEN a task state) procfs reports every
/// frozen task as 'D'; so on v1 an init in any other state means not paused. Older kernels
/// count a task sleeping in freezable_schedule() (nanosleep, say: 'S') as frozen, and on
/// v2 a frozen task waits in an interruptible sleep ('S'): there the file is read.
pub fn is_paused(record: &CgroupRecord, init_state: char) -> bool {
    static FROZEN_IS_D: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let frozen_is_d =
        || procfs::KernelVersion::current().is_ok_and(|v| v >= procfs::KernelVersion::new(6, 1, 0));
    if init_state != 'D'
        && matches!(mode(), Ok(resources::Mode::V1))
        && *FROZEN_IS_D.get_or_init(frozen_is_d)
    {
        return false;
    }
    is_frozen(record)
}

/// Reads the container's resource usage; one manager (and, with systemd, one D-Bus
/// connection) serves every read of an `rt events` stream.
pub struct StatsReader(AnyCgroupManager);

impl StatsReader {
    pub fn open(record: &CgroupRecord, id: &str) -> Result<StatsReader, CgroupError> {
        manager(record, id).map(StatsReader)
    }

    pub fn read(&self) -> Result<libcgroups::stats::Stats, CgroupError> {
        self.0
            .stats()
            .map_err(|e| CgroupError::libcgroups("reading statistics", e))
    }
}

/// How many times the kernel's OOM killer has killed a process of the container
/// (memory.oom_control on v1, memory.events on v2; both have an `oom_kill` line).
pub fn oom_kills(record: &CgroupRecord) -> Option<u64> {
    let file = match mode().ok()? {
        resources::Mode::V2 => "memory.events",
        resources::Mode::V1 => "memory.oom_control",
    };
    let text =
        libcgroups::common::read_cgroup_file(controller_dir(record, "memory").ok()?.join(file))
            .ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("oom_kill ")
            .and_then(|n| n.trim().parse().ok())
    })
}

/// Processes in the container's cgroup and below (host pids), from the cgroup.procs files
/// of the hierarchy libcgroups' own managers read them from (devices on v1, the unified
/// one on v2): by libcgroups' walk, without building a manager, which reads mountinfo and
/// /proc/self/cgroup (once per controller before the patch in vendor/libcgroups: then
/// most of what `ps` and `kill --all` cost).
pub fn pids(record: &CgroupRecord, id: &str) -> Result<Vec<i32>, CgroupError> {
    let found = match controller_dir(record, "devices") {
        Ok(dir) => {
            libcgroups::common::get_all_pids(&dir).map_err(|e| CgroupError::libcgroups("", e))
        }
        // No devices hierarchy (an unusual v1 host): whatever the manager finds.
        Err(_) => manager(record, id)?
            .get_all_pids()
            .map_err(|e| CgroupError::libcgroups("", e)),
    };
    found.map(|v| v.into_iter().map(|p| p.as_raw()).collect())
}
