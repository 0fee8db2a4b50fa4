//! The host's cgroup hierarchies: its mode (v1, hybrid, v2, detected once), where each v1
//! controller is mounted, the hierarchies without a controller libcgroups manages, rt's own
//! cgroup in each, and a container's directory in each.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libcgroups::common::{CgroupSetup, DEFAULT_CGROUP_ROOT};
use procfs::process::MountInfo;

use super::error::CgroupError;
use super::record::CgroupRecord;
use super::resources;

/// The host's cgroup mode, detected once per process (two statfs calls).
pub(super) fn setup() -> Result<CgroupSetup, CgroupError> {
    static SETUP: OnceLock<Result<CgroupSetup, String>> = OnceLock::new();
    SETUP
        .get_or_init(|| libcgroups::common::get_cgroup_setup().map_err(|e| e.to_string()))
        .as_ref()
        .map(|s| match s {
            CgroupSetup::Unified => CgroupSetup::Unified,
            CgroupSetup::Hybrid => CgroupSetup::Hybrid,
            CgroupSetup::Legacy => CgroupSetup::Legacy,
        })
        .map_err(|e| CgroupError::Setup(e.clone()))
}

/// v1 (legacy or hybrid: limits live in v1 hierarchies) or v2.
pub fn mode() -> Result<resources::Mode, CgroupError> {
    Ok(match setup()? {
        CgroupSetup::Unified => resources::Mode::V2,
        CgroupSetup::Legacy | CgroupSetup::Hybrid => resources::Mode::V1,
    })
}

/// The kernel's v1 controllers, and whether libcgroups' manager handles each (its
/// CONTROLLERS list); the others (rdma, misc) only tell hierarchies apart.
pub(super) const V1_CONTROLLERS: [(&str, bool); 14] = [
    ("cpu", true),
    ("cpuacct", true),
    ("cpuset", true),
    ("devices", true),
    ("hugetlb", true),
    ("memory", true),
    ("pids", true),
    ("perf_event", true),
    ("blkio", true),
    ("net_prio", true),
    ("net_cls", true),
    ("freezer", true),
    ("rdma", false),
    ("misc", false),
];

/// Whether `name` is a v1 controller of the kernel's (not a named hierarchy's option).
pub fn is_v1_controller(name: &str) -> bool {
    V1_CONTROLLERS.iter().any(|(c, _)| *c == name)
}

/// Whether a v1 hierarchy mounted at `mount_point` is the one libcgroups picks for
/// `controller`: it goes by the mount point's name, co-mounts included.
pub(super) fn serves(controller: &str, mount_point: &Path) -> bool {
    let names: &[&str] = match controller {
        "net_cls" => &["net_cls,net_prio", "net_prio,net_cls", "net_cls"],
        "net_prio" => &["net_cls,net_prio", "net_prio,net_cls", "net_prio"],
        "cpu" => &["cpu,cpuacct", "cpu"],
        "cpuacct" => &["cpu,cpuacct", "cpuacct"],
        other => return mount_point.ends_with(other),
    };
    names.iter().any(|n| mount_point.ends_with(n))
}

/// The host's cgroup and cgroup2 mounts, in mountinfo's order: read once per process for
/// everything this module derives from them.
pub(super) fn cgroup_mounts() -> Result<&'static Vec<MountInfo>, CgroupError> {
    static MOUNTS: OnceLock<Result<Vec<MountInfo>, String>> = OnceLock::new();
    MOUNTS
        .get_or_init(|| {
            let mounts = procfs::process::Process::myself()
                .and_then(|p| p.mountinfo())
                .map_err(|e| format!("reading mountinfo: {e}"))?;
            Ok(mounts
                .into_iter()
                .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
                .collect())
        })
        .as_ref()
        .map_err(|e| CgroupError::Setup(e.clone()))
}

/// Mount points of the v1 controllers rt manages, read once per process, with the rule
/// libcgroups' manager uses (the first cgroup mount whose name matches). libcgroups'
/// public helper, get_subsystem_mount_point, re-reads mountinfo on every call, through a
/// procfs handle it re-validates every time: one read here instead.
pub(super) fn v1_mount_points() -> Result<&'static HashMap<String, PathBuf>, CgroupError> {
    static POINTS: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();
    POINTS
        .get_or_init(|| {
            let mounts = cgroup_mounts().map_err(|e| e.to_string())?;
            let mut points = HashMap::new();
            for m in mounts.iter().filter(|m| m.fs_type == "cgroup") {
                for c in V1_CONTROLLERS.iter().filter(|c| c.1).map(|c| c.0) {
                    if !points.contains_key(c) && serves(c, &m.mount_point) {
                        points.insert(c.to_owned(), m.mount_point.clone());
                    }
                }
            }
            Ok(points)
        })
        .as_ref()
        .map_err(|e| CgroupError::Setup(e.clone()))
}

/// Hierarchies without a controller libcgroups manages, which rt places the container in
/// itself: named v1 hierarchies (name=systemd) and, on a hybrid host, the cgroup2 mount.
/// Without a place of its own there the container's cgroup mount would show it the host's
/// whole tree in them (other tenants' cgroups, host-wide pressure files); runc places its
/// containers in every mounted hierarchy too. The first mount of each, as for the others.
pub(super) fn unmanaged_roots() -> Result<&'static Vec<PathBuf>, CgroupError> {
    static ROOTS: OnceLock<Result<Vec<PathBuf>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let setup = setup().map_err(|e| e.to_string())?;
            let managed = managed_roots(&setup).map_err(|e| e.to_string())?;
            let hybrid = matches!(setup, CgroupSetup::Hybrid);
            let mounts = cgroup_mounts().map_err(|e| e.to_string())?;
            let mut seen: Vec<String> = Vec::new();
            let mut roots = Vec::new();
            for m in mounts {
                let key = match m.fs_type.as_str() {
                    "cgroup2" if hybrid => "cgroup2".to_owned(),
                    "cgroup" => match m.super_options.get("name") {
                        Some(Some(name)) => format!("name={name}"),
                        _ => continue,
                    },
                    _ => continue,
                };
                if seen.contains(&key) || managed.contains(&m.mount_point) {
                    continue;
                }
                seen.push(key);
                roots.push(m.mount_point.clone());
            }
            Ok(roots)
        })
        .as_ref()
        .map_err(|e| CgroupError::Setup(e.clone()))
}

/// The directories that hold the hierarchies the container is placed in: every supported
/// v1 controller's mount point (co-mounted controllers share one) and the unmanaged ones,
/// or the unified root.
pub(super) fn hierarchy_roots(setup: &CgroupSetup) -> Result<Vec<PathBuf>, CgroupError> {
    let mut roots = managed_roots(setup)?;
    if !matches!(setup, CgroupSetup::Unified) {
        roots.extend(unmanaged_roots()?.iter().cloned());
    }
    roots.sort();
    roots.dedup();
    Ok(roots)
}

/// The hierarchies with a controller libcgroups manages (where the container can make
/// sub-cgroups of its own), or the unified root.
pub(super) fn managed_roots(setup: &CgroupSetup) -> Result<Vec<PathBuf>, CgroupError> {
    Ok(match setup {
        CgroupSetup::Unified => vec![PathBuf::from(DEFAULT_CGROUP_ROOT)],
        CgroupSetup::Legacy | CgroupSetup::Hybrid => v1_mount_points()?.values().cloned().collect(),
    })
}

/// The container's directories in the unmanaged hierarchies (see unmanaged_roots).
pub(super) fn unmanaged_dirs(record: &CgroupRecord) -> Result<Vec<PathBuf>, CgroupError> {
    if record.systemd || !matches!(setup()?, CgroupSetup::Legacy | CgroupSetup::Hybrid) {
        // systemd places its units in every hierarchy itself.
        return Ok(Vec::new());
    }
    Ok(unmanaged_roots()?
        .iter()
        .map(|r| record.dir_in(r))
        .collect())
}

/// The container's directory in every hierarchy it is placed in (`hierarchy_roots`).
pub(super) fn leaf_dirs(record: &CgroupRecord) -> Result<Vec<PathBuf>, CgroupError> {
    Ok(hierarchy_roots(&setup()?)?
        .iter()
        .map(|r| record.dir_in(r))
        .collect())
}

/// The cgroup2 mount of a hybrid host, the one unmanaged hierarchy that is not v1 (it has
/// no `tasks` file: see join::self_join_files).
pub(super) fn hybrid_cgroup2_root() -> Result<Option<&'static Path>, CgroupError> {
    if !matches!(setup()?, CgroupSetup::Hybrid) {
        return Ok(None);
    }
    let roots = unmanaged_roots()?;
    Ok(cgroup_mounts()?
        .iter()
        .find(|m| m.fs_type == "cgroup2" && roots.contains(&m.mount_point))
        .map(|m| m.mount_point.as_path()))
}

/// The container's directory in the hierarchy of `controller` ("memory", "freezer", ...;
/// ignored on v2, where there is one hierarchy).
pub(super) fn controller_dir(
    record: &CgroupRecord,
    controller: &str,
) -> Result<PathBuf, CgroupError> {
    match setup()? {
        CgroupSetup::Unified => Ok(record.dir_in(Path::new(DEFAULT_CGROUP_ROOT))),
        _ => v1_mount_points()?
            .get(controller)
            .map(|m| record.dir_in(m))
            .ok_or_else(|| {
                CgroupError::Manager(format!("no {controller} controller on this host"))
            }),
    }
}

/// This process's own cgroup in each hierarchy a container is placed in
/// (`hierarchy_roots`): (the hierarchy's root, the path from it). A hierarchy missing from
/// /proc/self/cgroup is left out.
pub(super) fn own_by_root(setup: &CgroupSetup) -> Result<Vec<(PathBuf, PathBuf)>, CgroupError> {
    let cgroups = procfs::process::Process::myself()
        .and_then(|p| p.cgroups())
        .map_err(|e| CgroupError::Own(e.to_string()))?;
    let unified = matches!(setup, CgroupSetup::Unified);
    let points = match unified {
        true => None,
        false => Some(v1_mount_points()?),
    };
    let mounts = cgroup_mounts()?;
    // Whether a line of /proc/self/cgroup is the hierarchy mounted at `root`: the v2
    // line (0::) for cgroup2, else one naming a controller mounted there or the
    // hierarchy's name (name=systemd).
    let is_at = |cg: &procfs::ProcessCGroup, root: &Path| {
        let mount = mounts.iter().find(|m| m.mount_point == root);
        if unified || mount.is_some_and(|m| m.fs_type == "cgroup2") {
            return cg.hierarchy == 0;
        }
        let name = mount
            .and_then(|m| m.super_options.get("name"))
            .cloned()
            .flatten();
        cg.controllers.iter().any(|c| {
            points.is_some_and(|p| p.get(c).is_some_and(|m| m == root))
                || name
                    .as_deref()
                    .is_some_and(|n| c.strip_prefix("name=") == Some(n))
        })
    };
    let mut own = Vec::new();
    for root in hierarchy_roots(setup)? {
        if let Some(cg) = cgroups.0.iter().find(|cg| is_at(cg, &root)) {
            own.push((root, PathBuf::from(&cg.pathname)));
        }
    }
    Ok(own)
}
