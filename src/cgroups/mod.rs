//! The only place that talks to libcgroups.
//!
//! Placement policy: a relative `linux.cgroupsPath` (and the default, the container ID) is
//! taken relative to the cgroup `rt` itself runs in, so rt only ever creates cgroups below
//! its own. On v1 every hierarchy has its own "own cgroup"; libcgroups' v1 manager takes a
//! single path for all hierarchies, so rt uses the deepest of its own paths, provided every
//! other one is an ancestor of it (true when a supervisor confines only some controllers,
//! as on this project's build hosts); otherwise it refuses rather than guess.
//!
//! Ownership: rt records which directories it created (the leaf and any missing ancestors,
//! per hierarchy) and removes exactly those. A cgroupsPath naming an existing cgroup is
//! joined but never removed; one that already holds processes is refused (`claim`), so
//! whatever is in the container's cgroup is the container's.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use libcgroups::common::{
    AnyCgroupManager, CgroupConfig, CgroupManager, CgroupSetup, ControllerOpt, DEFAULT_CGROUP_ROOT,
};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Spec};

mod error;
mod record;
mod registry;
pub mod resources;

pub use error::CgroupError;
pub use record::CgroupRecord;

use registry::Registry;

/// The host's cgroup mode, detected once per process (two statfs calls).
fn setup() -> Result<CgroupSetup, CgroupError> {
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
const V1_CONTROLLERS: [(&str, bool); 14] = [
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
fn serves(controller: &str, mount_point: &Path) -> bool {
    let names: &[&str] = match controller {
        "net_cls" => &["net_cls,net_prio", "net_prio,net_cls", "net_cls"],
        "net_prio" => &["net_cls,net_prio", "net_prio,net_cls", "net_prio"],
        "cpu" => &["cpu,cpuacct", "cpu"],
        "cpuacct" => &["cpu,cpuacct", "cpuacct"],
        other => return mount_point.ends_with(other),
    };
    names.iter().any(|n| mount_point.ends_with(n))
}

/// Mount points of the v1 controllers rt manages, read once per process, with the rule
/// libcgroups' manager uses (the first cgroup mount whose name matches). libcgroups'
/// own helper re-reads mountinfo for each of its twelve controllers, through a procfs
/// handle it re-validates every time: one read here instead.
fn v1_mount_points() -> Result<&'static HashMap<String, PathBuf>, CgroupError> {
    static POINTS: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();
    POINTS
        .get_or_init(|| {
            let mounts = procfs::process::Process::myself()
                .and_then(|p| p.mountinfo())
                .map_err(|e| format!("reading mountinfo: {e}"))?;
            let mut points = HashMap::new();
            for m in mounts.into_iter().filter(|m| m.fs_type == "cgroup") {
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
fn unmanaged_roots() -> Result<&'static Vec<PathBuf>, CgroupError> {
    static ROOTS: OnceLock<Result<Vec<PathBuf>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let setup = setup().map_err(|e| e.to_string())?;
            let managed = managed_roots(&setup).map_err(|e| e.to_string())?;
            let hybrid = matches!(setup, CgroupSetup::Hybrid);
            let mounts = procfs::process::Process::myself()
                .and_then(|p| p.mountinfo())
                .map_err(|e| format!("reading mountinfo: {e}"))?;
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
fn hierarchy_roots(setup: &CgroupSetup) -> Result<Vec<PathBuf>, CgroupError> {
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
fn managed_roots(setup: &CgroupSetup) -> Result<Vec<PathBuf>, CgroupError> {
    Ok(match setup {
        CgroupSetup::Unified => vec![PathBuf::from(DEFAULT_CGROUP_ROOT)],
        CgroupSetup::Legacy | CgroupSetup::Hybrid => v1_mount_points()?.values().cloned().collect(),
    })
}

/// The container's directories in the unmanaged hierarchies (see unmanaged_roots).
fn unmanaged_dirs(record: &CgroupRecord) -> Result<Vec<PathBuf>, CgroupError> {
    if record.systemd || !matches!(setup()?, CgroupSetup::Legacy | CgroupSetup::Hybrid) {
        // systemd places its units in every hierarchy itself.
        return Ok(Vec::new());
    }
    let rel = record.path.strip_prefix("/").unwrap_or(&record.path);
    Ok(unmanaged_roots()?.iter().map(|r| r.join(rel)).collect())
}

/// An exec process's directories in the unmanaged hierarchies. The container's own were
/// made by its create and are never made again here: an exec that loaded the container
/// just before a `delete -f` removed them would otherwise bring them back, for good (the
/// stress test caught it). For `exec --cgroup SUB` the sub-cgroup is made below them when
/// missing (the container makes its sub-cgroups only where it has controllers); if the
/// container's own is gone, that fails.
pub fn unmanaged_for_exec(
    container: &CgroupRecord,
    target: &CgroupRecord,
) -> Result<(), CgroupError> {
    for (own, dir) in unmanaged_dirs(container)?
        .into_iter()
        .zip(unmanaged_dirs(target)?)
    {
        let Ok(below) = dir.strip_prefix(&own) else {
            continue;
        };
        let mut at = own.clone();
        for part in below.components() {
            at.push(part);
            match fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(CgroupError::Manager(format!(
                        "creating {}: {}",
                        at.display(),
                        crate::error::io_text(&e)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Creates the container's directories in the unmanaged hierarchies and, with `pid`,
/// moves it there.
pub fn place_unmanaged(record: &CgroupRecord, pid: Option<i32>) -> Result<(), CgroupError> {
    for dir in unmanaged_dirs(record)? {
        fs::create_dir_all(&dir)
            .map_err(|e| CgroupError::Manager(format!("creating {}: {e}", dir.display())))?;
        if let Some(pid) = pid {
            libcgroups::common::write_cgroup_file_str(dir.join("cgroup.procs"), &pid.to_string())
                .map_err(|e| CgroupError::Manager(format!("adding pid {pid}: {e}")))?;
        }
    }
    Ok(())
}

/// The container's directory in the hierarchy of `controller` ("memory", "freezer", ...;
/// ignored on v2, where there is one hierarchy).
fn controller_dir(record: &CgroupRecord, controller: &str) -> Result<PathBuf, CgroupError> {
    let path = record.unit_dir.as_ref().unwrap_or(&record.path);
    let rel = path.strip_prefix("/").unwrap_or(path);
    match setup()? {
        CgroupSetup::Unified => Ok(Path::new(DEFAULT_CGROUP_ROOT).join(rel)),
        _ => v1_mount_points()?
            .get(controller)
            .map(|m| m.join(rel))
            .ok_or_else(|| {
                CgroupError::Manager(format!("no {controller} controller on this host"))
            }),
    }
}

/// This process's own cgroup paths, one per managed hierarchy.
fn own_paths(setup: &CgroupSetup) -> Result<Vec<PathBuf>, CgroupError> {
    let cgroups = procfs::process::Process::myself()
        .and_then(|p| p.cgroups())
        .map_err(|e| CgroupError::Own(e.to_string()))?;
    let supported: Vec<String> = match setup {
        CgroupSetup::Unified => Vec::new(),
        _ => v1_mount_points()?.keys().cloned().collect(),
    };
    let paths = cgroups
        .into_iter()
        .filter(|cg| match setup {
            CgroupSetup::Unified => cg.hierarchy == 0,
            _ => cg.controllers.iter().any(|c| supported.contains(c)),
        })
        .map(|cg| PathBuf::from(cg.pathname))
        .collect();
    Ok(paths)
}

/// The deepest of `paths` if all others are its ancestors (or equal).
fn common_base(paths: &[PathBuf]) -> Option<PathBuf> {
    let deepest = paths.iter().max_by_key(|p| p.components().count())?;
    paths
        .iter()
        .all(|p| deepest.starts_with(p))
        .then(|| deepest.clone())
}

/// Lexically normalises `rel` (no "..", no root) so it cannot climb out of `base`.
fn clean_relative(rel: &Path) -> Result<PathBuf, CgroupError> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                return Err(CgroupError::Path(format!(
                    "{}: must not contain \"..\"",
                    rel.display()
                )));
            }
        }
    }
    Ok(out)
}

/// The container's cgroup path from the hierarchy root, per the placement policy.
pub fn resolve_path(
    spec_path: Option<&Path>,
    id: &str,
    own: &[PathBuf],
) -> Result<PathBuf, CgroupError> {
    match spec_path {
        Some(p) if p.is_absolute() => Ok(Path::new("/").join(clean_relative(p)?)),
        other => {
            let rel = clean_relative(other.unwrap_or(Path::new(id)))?;
            if rel.as_os_str().is_empty() {
                return Err(CgroupError::Path("must name a cgroup".into()));
            }
            let base = common_base(own).ok_or_else(|| {
                CgroupError::Path(format!(
                    "relative path, but this process's cgroups differ across hierarchies \
                     ({own:?}); give an absolute path"
                ))
            })?;
            Ok(Path::new("/").join(base).join(rel))
        }
    }
}

/// Decides where the container's cgroup goes; nothing is created (and so nothing is
/// recorded as created) until `claim`.
pub fn plan(
    spec: &Spec,
    id: &str,
    systemd: bool,
    rootless: bool,
) -> Result<Option<CgroupRecord>, CgroupError> {
    let setup = setup()?;
    let spec_path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    if systemd {
        if rootless {
            return Err(CgroupError::Field {
                field: "--systemd-cgroup".into(),
                reason: "not with rootless containers".into(),
            });
        }
        return plan_systemd(spec_path, id, &setup).map(Some);
    }
    let own = own_paths(&setup)?;
    if rootless && !delegated(&setup, &own) {
        check_no_limits(spec)?;
        return Ok(None);
    }
    let path = resolve_path(spec_path, id, &own)?;
    Ok(Some(CgroupRecord {
        path,
        created: Vec::new(),
        systemd: false,
        unit_dir: None,
    }))
}

/// Whether this (rootless) process may create cgroups below its own: only on cgroup v2,
/// where a cgroup can be delegated to a user by making it writable for them.
fn delegated(setup: &CgroupSetup, own: &[PathBuf]) -> bool {
    let (CgroupSetup::Unified, [own]) = (setup, own) else {
        return false;
    };
    let dir = Path::new(DEFAULT_CGROUP_ROOT).join(own.strip_prefix("/").unwrap_or(own));
    nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// A container without a cgroup can enforce no limits; asking for any is an error
/// (device rules excepted: in a user namespace no device node can be made anyway).
fn check_no_limits(spec: &Spec) -> Result<(), CgroupError> {
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return Ok(());
    };
    if let Some((name, _)) = resources::parts(r)
        .into_iter()
        .find(|(n, _)| *n != "devices")
    {
        return Err(CgroupError::Field {
            field: format!("linux.resources.{name}"),
            reason: "a rootless container has no cgroup here (none is delegated to this user), so no limit can be enforced".into(),
        });
    }
    Ok(())
}

/// A systemd unit's place: `slice:prefix:name` (runc's --systemd-cgroup form), the
/// default being `system.slice:rt:<id>`. Returns (slice, prefix, name).
pub fn systemd_parts(
    spec_path: Option<&Path>,
    id: &str,
) -> Result<(String, String, String), CgroupError> {
    let Some(p) = spec_path else {
        return Ok(("system.slice".into(), "rt".into(), id.into()));
    };
    let bad = |why: &str| CgroupError::Path(format!("{}: {why}", p.display()));
    let s = p.to_str().ok_or_else(|| bad("not UTF-8"))?;
    let parts: Vec<&str> = s.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(bad("with --systemd-cgroup it must be slice:prefix:name"));
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    if !slice.ends_with(".slice") || slice.len() <= ".slice".len() || slice.contains('/') {
        return Err(bad("the slice must be a unit name ending in .slice"));
    }
    if name.is_empty() || name.contains('/') || prefix.contains('/') {
        return Err(bad("prefix and name must be plain names, name not empty"));
    }
    Ok((slice.into(), prefix.into(), name.into()))
}

/// Where systemd puts the unit below its cgroup root: each dash of a slice name is a
/// level ("a-b.slice" is /a.slice/a-b.slice), and the unit is prefix-name.scope.
pub fn systemd_unit_dir(slice: &str, prefix: &str, name: &str) -> PathBuf {
    let mut dir = PathBuf::from("/");
    let stem = slice.trim_end_matches(".slice");
    if stem != "-" {
        let mut acc = String::new();
        for part in stem.split('-') {
            acc = if acc.is_empty() {
                part.to_owned()
            } else {
                format!("{acc}-{part}")
            };
            dir.push(format!("{acc}.slice"));
        }
    }
    if name.ends_with(".slice") {
        dir.push(name);
    } else {
        dir.push(format!("{prefix}-{name}.scope"));
    }
    dir
}

fn plan_systemd(
    spec_path: Option<&Path>,
    id: &str,
    setup: &CgroupSetup,
) -> Result<CgroupRecord, CgroupError> {
    if !matches!(setup, CgroupSetup::Unified) {
        return Err(CgroupError::Field {
            field: "--systemd-cgroup".into(),
            reason: "libcgroups drives systemd only on cgroup v2 hosts; this one is v1/hybrid"
                .into(),
        });
    }
    if !libcgroups::systemd::booted() {
        return Err(CgroupError::Field {
            field: "--systemd-cgroup".into(),
            reason: "systemd is not running on this host (no /run/systemd/system)".into(),
        });
    }
    let (slice, prefix, name) = systemd_parts(spec_path, id)?;
    Ok(CgroupRecord {
        path: PathBuf::from(format!("{slice}:{prefix}:{name}")),
        created: Vec::new(),
        systemd: true,
        unit_dir: Some(systemd_unit_dir(&slice, &prefix, &name)),
    })
}

/// Every directory on the way to the container's cgroup, in every hierarchy, deepest
/// first (the order removal needs).
fn dirs_on_the_way(path: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut dirs = Vec::new();
    for root in hierarchy_roots(&setup()?)? {
        let mut dir = root.clone();
        for c in path.components().skip(1) {
            dir.push(c);
            dirs.push(dir.clone());
        }
    }
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    Ok(dirs)
}

/// Decides which of the planned directories are rt's: those missing now (rt is about to
/// create them) and those another rt container created. Returns the registry still
/// locked: the caller records the result, then joins, then drops it.
pub fn claim(record: &mut CgroupRecord) -> Result<Option<Registry>, CgroupError> {
    if record.systemd {
        // systemd creates and removes the unit's cgroup itself.
        return Ok(None);
    }
    let reg = Registry::open()?;
    let leaf = record
        .path
        .strip_prefix("/")
        .unwrap_or(&record.path)
        .to_path_buf();
    let mut ours = Vec::new();
    for dir in &dirs_on_the_way(&record.path)? {
        let is_leaf = dir.ends_with(&leaf);
        if !dir.exists() {
            if !is_leaf {
                reg.note(dir).map_err(|reason| CgroupError::Remove {
                    path: PathBuf::from(registry::REGISTRY),
                    reason,
                })?;
            }
            ours.push(dir.clone());
        } else if !is_leaf && reg.is_noted(dir) {
            ours.push(dir.clone());
        } else if is_leaf
            && let Some(busy) = subtree(dir).into_iter().find(|d| !procs_of(d).is_empty())
        {
            // rt would share it with processes that are not the container's, and a
            // container without its own pid namespace is ended by killing its cgroup.
            // runc refuses this on cgroup v2 and only warns on v1; rt refuses both.
            return Err(CgroupError::Path(format!(
                "{}: already holds processes ({}); a container's cgroup must be new or empty",
                record.path.display(),
                busy.display()
            )));
        }
    }
    record.created = ours;
    Ok(Some(reg))
}

fn manager(record: &CgroupRecord, id: &str) -> Result<AnyCgroupManager, CgroupError> {
    libcgroups::common::create_cgroup_manager(CgroupConfig {
        cgroup_path: record.path.clone(),
        systemd_cgroup: record.systemd,
        container_name: id.to_owned(),
    })
    .map_err(|e| CgroupError::Manager(e.to_string()))
}

/// linux.resources plus an allow rule for every linux.devices entry: the spec says those
/// devices must be usable in the container, so the device cgroup must not deny them.
fn resources_with_devices(spec: &Spec) -> LinuxResources {
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

/// Creates the cgroup, moves `pid` into it and applies linux.resources.
pub fn join(record: &CgroupRecord, spec: &Spec, id: &str, pid: i32) -> Result<(), CgroupError> {
    place_unmanaged(record, Some(pid))?;
    let m = manager(record, id)?;
    m.add_task(Pid::from_raw(pid))
        .map_err(|e| CgroupError::Manager(format!("adding pid {pid}: {e}")))?;
    if let Some(dir) = &record.unit_dir {
        enable_hugetlb_down_to(dir);
    }
    apply_spec(record, spec, id, &m)
}

/// Writes linux.resources, with the device rules linux.devices implies, through `m`.
fn apply_spec(
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

/// Kernel quirk that dominates container start-up: moving a process by writing its pid
/// to `cgroup.procs` takes the global cgroup_threadgroup_rwsem for writing, and taking it
/// waits for an RCU grace period (5–15 ms on this project's hosts, more than all of rt's
/// other work together). A single-threaded process that moves itself by writing "0" to a
/// v1 `tasks` file needs no threadgroup stability and current kernels skip that lock
/// (measured here: 0.04 ms instead of ~10 ms). So on v1 the parent only creates the
/// directories (`create_dirs`), the init moves itself in (`join_self`) once they exist and
/// before its first cgroup mount (init/steps.rs, join_own_cgroups; an exec process right
/// after Go), and the parent writes the limits (`apply_resources`) while the init mounts,
/// before the init makes device nodes. libcgroups can only move a
/// process by pid through cgroup.procs; the directories, the cpuset inheritance and the
/// writes below use its file helpers.
///
/// Returns the `tasks` files, or None where the parent must move the process: the systemd
/// driver, cgroup v2 (no `tasks` file outside threaded subtrees), or a caller that is not
/// root (a rootless process cannot write to the container's cgroup itself).
pub fn self_join_files(record: &CgroupRecord) -> Result<Option<Vec<PathBuf>>, CgroupError> {
    if record.systemd || !nix::unistd::geteuid().is_root() || mode()? != resources::Mode::V1 {
        return Ok(None);
    }
    let files = v1_mount_points()?
        .keys()
        .map(|c| controller_dir(record, c).map(|d| d.join("tasks")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(with_unmanaged(record, files)?))
}

/// `files` of the managed hierarchies plus the container's cgroup.procs in the unmanaged
/// ones, each once (co-mounted controllers, cpu,cpuacct, share one hierarchy).
fn with_unmanaged(
    record: &CgroupRecord,
    mut files: Vec<PathBuf>,
) -> Result<Vec<PathBuf>, CgroupError> {
    files.extend(
        unmanaged_dirs(record)?
            .into_iter()
            .map(|d| d.join("cgroup.procs")),
    );
    files.sort();
    files.dedup();
    Ok(files)
}

/// Creates the container's v1 cgroups, ready for the init to move itself in with
/// `join_self`; linux.resources follow with `apply_resources`.
pub fn create_dirs(record: &CgroupRecord) -> Result<(), CgroupError> {
    place_unmanaged(record, None)?;
    for controller in v1_mount_points()?.keys() {
        let dir = controller_dir(record, controller)?;
        fs::create_dir_all(&dir)
            .map_err(|e| CgroupError::Manager(format!("creating {}: {e}", dir.display())))?;
    }
    fill_cpuset(record)
}

/// libcgroups' manager for the container's cgroups, built on another thread: its
/// constructor reads mountinfo and /proc/self/cgroup once per controller (two dozen procfs
/// reads through libpathrs' checks, about a millisecond) and needs none of the directories
/// to exist, so it can overlap with claiming and creating them. Built in place if no
/// thread can be started.
pub struct ManagerBuild(
    Result<std::thread::JoinHandle<Result<AnyCgroupManager, CgroupError>>, (CgroupRecord, String)>,
);

impl ManagerBuild {
    pub fn start(record: &CgroupRecord, id: &str) -> ManagerBuild {
        let (r, i) = (record.clone(), id.to_owned());
        let spawned = std::thread::Builder::new()
            .name("cgroup-manager".into())
            .spawn(move || manager(&r, &i));
        ManagerBuild(spawned.map_err(|_| (record.clone(), id.to_owned())))
    }

    fn finish(self) -> Result<AnyCgroupManager, CgroupError> {
        match self.0 {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(CgroupError::Manager(format!(
                    "building the cgroup manager failed: {}",
                    crate::error::last_panic()
                )))
            }),
            Err((record, id)) => manager(&record, &id),
        }
    }
}

/// Applies linux.resources (and the device rules linux.devices implies) to the
/// container's existing cgroups.
pub fn apply_resources(
    record: &CgroupRecord,
    spec: &Spec,
    id: &str,
    build: ManagerBuild,
) -> Result<(), CgroupError> {
    apply_spec(record, spec, id, &build.finish()?)
}

/// Makes the v1 cpuset cgroup of `record` joinable (see `inherit_cpuset`), as libcgroups
/// does before it moves a process; needed before `join_self`, also for an existing cgroup
/// (exec --cgroup into one the container made).
pub fn fill_cpuset(record: &CgroupRecord) -> Result<(), CgroupError> {
    if let Some(mount) = v1_mount_points()?.get("cpuset") {
        let dir = controller_dir(record, "cpuset")?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            inherit_cpuset(mount, &dir, file)?;
        }
    }
    Ok(())
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and no task can join it
/// until both are set: each level without its own value takes its parent's.
fn inherit_cpuset(mount: &Path, dir: &Path, file: &str) -> Result<(), CgroupError> {
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    let mut current = mount.to_path_buf();
    let read = |p: &Path| {
        libcgroups::common::read_cgroup_file(p.join(file))
            .map_err(|e| CgroupError::Manager(e.to_string()))
    };
    let mut value = read(&current)?;
    for c in rel.components() {
        current.push(c);
        let own = read(&current)?;
        if own.trim().is_empty() {
            libcgroups::common::write_cgroup_file_str(current.join(file), value.trim())
                .map_err(|e| CgroupError::Manager(e.to_string()))?;
        } else {
            value = own;
        }
    }
    Ok(())
}

/// In the container's process, before it joins any namespace: moves this (single-threaded)
/// process into the cgroups `self_join_files` named.
pub fn join_self(files: &[PathBuf]) -> Result<(), crate::error::StepError> {
    for f in files {
        libcgroups::common::write_cgroup_file_str(f, "0")
            .map_err(|e| crate::error::StepError::msg("cgroups", e.to_string()))?;
    }
    Ok(())
}

/// libcgroups' systemd driver applies only what systemd has properties for (cpu, cpuset,
/// io, memory, pids). The rest — the device allow list (an eBPF program), raw unified
/// keys, hugetlb limits — goes straight into the unit's cgroup, which systemd delegates
/// to rt: silently dropping a device rule would be a hole in the container.
fn split_for_systemd(r: &LinuxResources) -> (LinuxResources, LinuxResources) {
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

fn apply_all(
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
                .map_err(|e| CgroupError::Manager(format!("{id}: {e}")))?
                .any();
        apply(&fs, &direct)?;
    }
    Ok(())
}

/// linux.resources.rdma, which libcgroups has no controller for: each device's limits go
/// to the container's rdma.max through libcgroups' file helper, one device per write as
/// the kernel takes them ("NAME hca_handle=N hca_object=M"; a limit not given is "max").
/// The kernel refuses a device it does not know (ENODEV), naming it here.
fn apply_rdma(record: &CgroupRecord, r: &LinuxResources) -> Result<(), CgroupError> {
    let Some(devices) = r.rdma().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let path = record.unit_dir.as_ref().unwrap_or(&record.path);
    let file = rdma_dir(path.strip_prefix("/").unwrap_or(path))
        .map_err(|reason| CgroupError::Field {
            field: "linux.resources.rdma".into(),
            reason,
        })?
        .join("rdma.max");
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

/// Directory `rel` in the hierarchy of the rdma controller: the unified one where it is
/// enabled there, else the v1 hierarchy mounted with it.
fn rdma_dir(rel: &Path) -> Result<PathBuf, String> {
    let missing = || "this host has no rdma cgroup controller".to_owned();
    if matches!(setup(), Ok(CgroupSetup::Unified)) {
        let root = Path::new(DEFAULT_CGROUP_ROOT);
        let controllers = libcgroups::common::read_cgroup_file(root.join("cgroup.controllers"))
            .map_err(|e| e.to_string())?;
        if !controllers.split_whitespace().any(|c| c == "rdma") {
            return Err(missing());
        }
        return Ok(root.join(rel));
    }
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(|e| format!("reading mountinfo: {e}"))?;
    mounts
        .into_iter()
        .find(|m| m.fs_type == "cgroup" && m.super_options.contains_key("rdma"))
        .map(|m| m.mount_point.join(rel))
        .ok_or_else(missing)
}

/// Whether linux.resources.rdma can be honoured here (`rt features`).
pub fn rdma_available() -> bool {
    rdma_dir(Path::new("")).is_ok()
}

/// systemd enables only the controllers it manages, and hugetlb is not one: without it in
/// the unit's cgroup there are no hugetlb limits and libcgroups cannot read statistics.
/// Enabled from the root down to the unit's parent, best effort (as libcgroups does for
/// its own cgroups); systemd leaves controllers it does not know alone.
fn enable_hugetlb_down_to(unit_dir: &Path) {
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
fn controller_opt(r: &LinuxResources) -> ControllerOpt<'_> {
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

fn apply(m: &AnyCgroupManager, r: &LinuxResources) -> Result<(), CgroupError> {
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
            && let Err(reason) = rdma_dir(Path::new(""))
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
    let r = &r;
    let m = manager(record, id)?;
    if r.memory().as_ref().and_then(|m| m.check_before_update()) == Some(true)
        && let Some(limit) = r.memory().as_ref().and_then(|m| m.limit())
        && limit > 0
    {
        let usage = m
            .stats()
            .map_err(|e| CgroupError::Manager(e.to_string()))?
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
fn keep_cpu_quota(record: &CgroupRecord, r: &mut LinuxResources) {
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

/// Freezes (pause) or thaws (resume) every process of the container.
pub fn freeze(record: &CgroupRecord, id: &str, frozen: bool) -> Result<(), CgroupError> {
    let state = if frozen {
        libcgroups::common::FreezerState::Frozen
    } else {
        libcgroups::common::FreezerState::Thawed
    };
    manager(record, id)?
        .freeze(state)
        .map_err(|e| CgroupError::Manager(format!("freezer: {e}")))
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
            .map_err(|e| CgroupError::Manager(format!("reading statistics: {e}")))
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

/// `rt exec --cgroup SUB`: an existing cgroup below the container's (never created: the
/// container made it, and it is the container's to remove).
pub fn sub_cgroup(record: &CgroupRecord, sub: &str) -> Result<CgroupRecord, CgroupError> {
    let bad = |why: &str| CgroupError::Field {
        field: "--cgroup".into(),
        reason: format!("{}: {why}", crate::error::quoted(sub)),
    };
    let rel = clean_relative(Path::new(sub)).map_err(|_| bad("must not contain .."))?;
    if rel.as_os_str().is_empty() || record.systemd {
        return Err(bad(
            "must be a path below the container's (non-systemd) cgroup",
        ));
    }
    let sub_record = CgroupRecord {
        path: record.path.join(&rel),
        created: Vec::new(),
        systemd: false,
        unit_dir: None,
    };
    // Where the container can have made it: the hierarchies with controllers.
    let roots = managed_roots(&setup()?)?;
    let leaf = sub_record
        .path
        .strip_prefix("/")
        .unwrap_or(&sub_record.path);
    if let Some(missing) = roots.iter().map(|r| r.join(leaf)).find(|d| !d.is_dir()) {
        return Err(bad(&format!("{} does not exist", missing.display())));
    }
    Ok(sub_record)
}

/// `rt exec --cgroup CONTROLLER[,CONTROLLER...]:PATH` (repeatable; a plain PATH among
/// them is for the other controllers), runc's form for cgroup v1: the `cgroup.procs`
/// file of each hierarchy the process goes to — the named sub-cgroup below the
/// container's where a controller of the hierarchy is named, the plain PATH (or the
/// container's own cgroup) elsewhere. Only existing cgroups: the container makes its
/// sub-cgroups, rt never does.
pub fn exec_cgroup_files(
    record: &CgroupRecord,
    args: &[String],
) -> Result<Vec<PathBuf>, CgroupError> {
    let field = |reason: String| CgroupError::Field {
        field: "--cgroup".into(),
        reason,
    };
    if record.systemd || mode()? != resources::Mode::V1 {
        return Err(field(
            "CONTROLLER:PATH needs cgroup v1 and a container cgroup not managed by systemd;              give one PATH"
                .into(),
        ));
    }
    let points = v1_mount_points()?;
    let mut default = PathBuf::new();
    let mut named: HashMap<&str, PathBuf> = HashMap::new();
    for arg in args {
        let (controllers, path) = match arg.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, arg.as_str()),
        };
        let rel = clean_relative(Path::new(path)).map_err(|_| {
            field(format!(
                "{}: must not contain ..",
                crate::error::quoted(arg)
            ))
        })?;
        match controllers {
            None => default = rel,
            Some(list) => {
                for c in list.split(',') {
                    if !points.contains_key(c) {
                        return Err(field(format!(
                            "{}: no {} controller on this host",
                            crate::error::quoted(arg),
                            crate::error::quoted(c)
                        )));
                    }
                    named.insert(c, rel.clone());
                }
            }
        }
    }
    let base = record.path.strip_prefix("/").unwrap_or(&record.path);
    let mut files = Vec::new();
    for (controller, mount) in points {
        // Co-mounted controllers (cpu,cpuacct) share a hierarchy: a name for either counts.
        let sub = points
            .iter()
            .filter(|(c, m)| *m == mount && named.contains_key(c.as_str()))
            .find_map(|(c, _)| named.get(c.as_str()))
            .unwrap_or(&default);
        let dir = mount.join(base).join(sub);
        if !dir.is_dir() {
            return Err(field(format!(
                "{controller}: {} does not exist",
                dir.display()
            )));
        }
        files.push(dir.join("cgroup.procs"));
    }
    with_unmanaged(record, files)
}

/// Moves `pid` into each of `files` (cgroup.procs files, from exec_cgroup_files).
pub fn add_to_files(files: &[PathBuf], pid: i32) -> Result<(), CgroupError> {
    for f in files {
        libcgroups::common::write_cgroup_file_str(f, &pid.to_string()).map_err(|e| {
            CgroupError::Manager(format!("adding pid {pid} to {}: {e}", f.display()))
        })?;
    }
    Ok(())
}

/// Moves another process (`rt exec`) into the container's existing cgroup: the
/// cgroup.procs file of its directory in every hierarchy, opened without creating
/// anything. A directory that a concurrent `delete -f` removed makes this fail; it is
/// never made again (libcgroups' add_task would make it, and an exec that loaded the
/// container just before the delete would bring its cgroup back for good). With the
/// systemd driver systemd places the process.
pub fn add_process(record: &CgroupRecord, id: &str, pid: i32) -> Result<(), CgroupError> {
    if record.systemd {
        return manager(record, id)?
            .add_task(Pid::from_raw(pid))
            .map_err(|e| CgroupError::Manager(format!("adding pid {pid}: {e}")));
    }
    let files = match setup()? {
        CgroupSetup::Unified => vec![controller_dir(record, "")?.join("cgroup.procs")],
        _ => {
            let base = record.path.strip_prefix("/").unwrap_or(&record.path);
            let managed = v1_mount_points()?
                .values()
                .map(|m| m.join(base).join("cgroup.procs"))
                .collect();
            with_unmanaged(record, managed)?
        }
    };
    add_to_files(&files, pid)
}

/// Processes in the container's cgroup (host pids).
pub fn pids(record: &CgroupRecord, id: &str) -> Result<Vec<i32>, CgroupError> {
    let m = manager(record, id)?;
    m.get_all_pids()
        .map(|v| v.into_iter().map(|p| p.as_raw()).collect())
        .map_err(|e| CgroupError::Manager(e.to_string()))
}

/// The container's leaf directories that rt created, one per hierarchy where it did: the
/// only ones whose contents (sub-cgroups, processes) rt may remove. A leaf that existed
/// before the container is never emptied or removed.
fn created_leaves(record: &CgroupRecord) -> Vec<PathBuf> {
    let leaf = record.path.strip_prefix("/").unwrap_or(&record.path);
    record
        .created
        .iter()
        .filter(|d| d.ends_with(leaf))
        .cloned()
        .collect()
}

/// `dir` and the cgroups below it, deepest first.
fn subtree(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&e.path(), out);
            }
        }
        out.push(dir.to_path_buf());
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

fn procs_of(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Empties and removes the leaves rt created, with the cgroups the container made below
/// them (for its processes or `exec --cgroup`). What is still inside is the container's
/// (rt refused a non-empty cgroup at create, see `claim`) and is killed, by pidfd, only
/// while it is still listed in that cgroup; then the directories go, deepest first.
fn remove_leaves(leaves: &[PathBuf]) -> Result<(), CgroupError> {
    const ROUNDS: usize = 200;
    for round in 0..ROUNDS {
        let mut left = false;
        for leaf in leaves {
            for dir in subtree(leaf) {
                for pid in procs_of(&dir) {
                    kill_if_in(&dir, pid);
                }
                match fs::remove_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {
                        left = true;
                    }
                    Err(reason) => return Err(CgroupError::Remove { path: dir, reason }),
                }
            }
        }
        if !left {
            return Ok(());
        }
        // Killed processes leave their cgroup only once they are reaped.
        if round + 1 < ROUNDS {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let busy = leaves
        .iter()
        .find(|l| l.exists())
        .cloned()
        .unwrap_or_default();
    Err(CgroupError::Remove {
        path: busy,
        reason: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

/// SIGKILL for `pid` if it is still in `dir`: checked through a pidfd opened first, so a
/// pid recycled meanwhile is never signalled.
fn kill_if_in(dir: &Path, pid: i32) {
    let Some(rpid) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    if procs_of(dir).contains(&pid) {
        let _ = rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL);
    }
}

/// Removes what rt created: the leaf (after killing what is left in it) and any ancestors
/// it created that no other container still uses. Already-removed directories are fine:
/// delete must be idempotent.
pub fn remove(record: &CgroupRecord, id: &str) -> Result<(), CgroupError> {
    if record.systemd {
        return manager(record, id)?
            .remove()
            .map_err(|e| CgroupError::Manager(e.to_string()));
    }
    let reg = Registry::open()?;
    remove_leaves(&created_leaves(record))?;
    for dir in &record.created {
        match fs::remove_dir(dir) {
            Ok(()) => reg.forget(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => reg.forget(dir),
            // Another container still uses a shared ancestor: it removes it later.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
            Err(reason) => {
                return Err(CgroupError::Remove {
                    path: dir.clone(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(v: &[&str]) -> Vec<PathBuf> {
        v.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn base_is_deepest_compatible_path() {
        assert_eq!(
            common_base(&pb(&["/", "/a/b", "/", "/a"])),
            Some(PathBuf::from("/a/b"))
        );
        assert_eq!(common_base(&pb(&["/", "/"])), Some(PathBuf::from("/")));
        assert_eq!(common_base(&pb(&["/a/x", "/b/y"])), None);
        assert_eq!(common_base(&pb(&[])), None);
    }

    #[test]
    fn relative_paths_go_below_own_cgroup() {
        let own = pb(&["/", "/sup/job1"]);
        assert_eq!(
            resolve_path(None, "c1", &own).unwrap(),
            PathBuf::from("/sup/job1/c1")
        );
        assert_eq!(
            resolve_path(Some(Path::new("pods/c1")), "c1", &own).unwrap(),
            PathBuf::from("/sup/job1/pods/c1")
        );
        assert_eq!(
            resolve_path(Some(Path::new("/abs/c1")), "c1", &own).unwrap(),
            PathBuf::from("/abs/c1")
        );
    }

    #[test]
    fn dotdot_is_refused() {
        let own = pb(&["/"]);
        assert!(resolve_path(Some(Path::new("../../x")), "c", &own).is_err());
        assert!(resolve_path(Some(Path::new("/a/../../x")), "c", &own).is_err());
    }

    #[test]
    fn incompatible_own_paths_need_absolute() {
        let own = pb(&["/a", "/b"]);
        assert!(resolve_path(None, "c", &own).is_err());
        assert!(resolve_path(Some(Path::new("/x/c")), "c", &own).is_ok());
    }

    #[test]
    fn systemd_paths() {
        let p = |s: &str| systemd_parts(Some(Path::new(s)), "c1");
        assert_eq!(
            systemd_parts(None, "c1").unwrap(),
            ("system.slice".into(), "rt".into(), "c1".into())
        );
        assert_eq!(p("machine.slice:docker:abc").unwrap().1, "docker");
        assert_eq!(p(":rt:x").unwrap().0, "system.slice");
        for bad in [
            "a:b",
            "a:b:c:d",
            "nope:rt:x",
            "x.slice:rt:",
            "a/b.slice:rt:x",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(
            systemd_unit_dir("system.slice", "rt", "c1"),
            PathBuf::from("/system.slice/rt-c1.scope")
        );
        assert_eq!(
            systemd_unit_dir("kubepods-burstable.slice", "cri", "x"),
            PathBuf::from("/kubepods.slice/kubepods-burstable.slice/cri-x.scope")
        );
        assert_eq!(
            systemd_unit_dir("-.slice", "rt", "my.slice"),
            PathBuf::from("/my.slice")
        );
    }

    #[test]
    fn leaf_ownership() {
        let mut r = CgroupRecord {
            path: "/a/c1".into(),
            created: pb(&[
                "/sys/fs/cgroup/cpu/a/c1",
                "/sys/fs/cgroup/cpu/a",
                "/sys/fs/cgroup/memory/a",
            ]),
            systemd: false,
            unit_dir: None,
        };
        // Only where rt made the leaf (cpu), not where it existed (memory).
        assert_eq!(created_leaves(&r), pb(&["/sys/fs/cgroup/cpu/a/c1"]));
        r.created.clear();
        assert!(created_leaves(&r).is_empty());
    }
}
