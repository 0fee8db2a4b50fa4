//! Processes into a container's cgroup: the init by rt (`join`) or by itself on v1
//! (`create_dirs`, then `join_self` in the init), and `rt exec` processes, which only ever
//! join cgroups that exist.

use std::collections::HashMap;
use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libcgroups::common::{AnyCgroupManager, CgroupManager, CgroupSetup};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use super::apply::*;
use super::error::CgroupError;
use super::host::*;
use super::placement::*;
use super::record::CgroupRecord;
use super::resources;

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
                .map_err(|e| CgroupError::libcgroups(format!("adding pid {pid}"), e))?;
        }
    }
    Ok(())
}

/// The cgroup2 directory where a process of the container is born (clone3's
/// CLONE_INTO_CGROUP) rather than moved in: on v2 the container's cgroup; on a hybrid host
/// its directory in the cgroup2 hierarchy, which holds no controller rt uses (the v1
/// hierarchies are joined through `tasks`, see self_join_files). A move writes
/// cgroup.procs, which takes the global cgroup_threadgroup_rwsem for writing and so waits
/// for an RCU grace period (5–9 ms for each move after a quiet moment, measured on this
/// project's hybrid host, against 0.15 ms for a write to `tasks`); a birth in the cgroup
/// only takes it for reading. None with the systemd driver (systemd places processes in
/// its units), for a caller that is not root (an unprivileged rt's cgroup may not be
/// writable; it keeps the move, which tolerates that), and on a host without cgroup2.
pub fn clone_target(record: &CgroupRecord) -> Result<Option<PathBuf>, CgroupError> {
    if record.systemd || !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match mode()? {
        resources::Mode::V2 => controller_dir(record, "").map(Some),
        resources::Mode::V1 => Ok(hybrid_cgroup2_root()?.map(|root| record.dir_in(root))),
    }
}

/// Whether the init's cgroups are made before its clone: on v2 where it is born in them
/// (clone_target), on v1 where it moves itself in (`self_join`, see self_join_files).
/// Elsewhere rt moves it in after the clone (`join`).
pub fn made_before_clone(record: &CgroupRecord, self_join: bool) -> Result<bool, CgroupError> {
    Ok(self_join || (mode()? == resources::Mode::V2 && clone_target(record)?.is_some()))
}

/// Makes the init's cgroups before its clone (see made_before_clone) and returns the
/// directory it is born in, open for clone3, if there is one (clone_target). On v2 the
/// cgroup is made with the controllers enabled on the way, as libcgroups does when it
/// moves a process, and limited: linux.resources are in force from the init's first
/// instruction. On v1 only the directories are made (`create_dirs`): the init moves
/// itself in, and the limits follow (`apply_resources`) while it mounts.
pub fn make_for_clone(
    record: &CgroupRecord,
    spec: &Spec,
    id: &str,
) -> Result<Option<OwnedFd>, CgroupError> {
    match mode()? {
        resources::Mode::V2 => {
            let m = manager(record, id)?;
            let AnyCgroupManager::V2(v2) = &m else {
                return Err(CgroupError::Manager(
                    "a cgroup v2 host without libcgroups' v2 manager".into(),
                ));
            };
            v2.create_cgroup()
                .map_err(|e| CgroupError::libcgroups("creating the cgroup", e))?;
            apply_spec(record, spec, id, &m)?;
        }
        resources::Mode::V1 => create_dirs(record)?,
    }
    open_for_clone(record)
}

/// Whether the cgroup a process would be born in (clone_target) has no pids limit of its
/// own ("max", or no pids controller there). An `rt exec` process born in the cgroup
/// arrives through an intermediate born there too, and each birth is checked against
/// pids.max, where a move is not checked at all: so under a limit of its own, the exec
/// process is moved in, and an exec into a container at its limit still works, as it does
/// with runc. A v1 pids limit does not count: the exec process joins that hierarchy by a
/// move.
pub fn no_pids_limit(record: &CgroupRecord) -> bool {
    clone_target(record)
        .ok()
        .flatten()
        .and_then(|d| libcgroups::common::read_cgroup_file(d.join("pids.max")).ok())
        .is_none_or(|max| max.trim() == "max")
}

/// The container's existing clone_target directory (or `exec --cgroup`'s sub-cgroup's),
/// open for clone3's CLONE_INTO_CGROUP, which wants a directory opened for reading (not
/// O_PATH); None where there is no clone target.
pub fn open_for_clone(record: &CgroupRecord) -> Result<Option<OwnedFd>, CgroupError> {
    let Some(dir) = clone_target(record)? else {
        return Ok(None);
    };
    fs::File::open(&dir)
        .map(|f| Some(OwnedFd::from(f)))
        .map_err(|e| {
            CgroupError::Manager(format!(
                "opening {}: {}",
                dir.display(),
                crate::error::io_text(&e)
            ))
        })
}

/// Where the kernel refused the birth in clone_target (before 5.7, or a seccomp profile
/// without clone3): moves `pid` there instead.
pub fn move_to_clone_target(record: &CgroupRecord, pid: i32) -> Result<(), CgroupError> {
    match clone_target(record)? {
        Some(dir) => add_to_files(&[dir.join("cgroup.procs")], pid),
        None => Ok(()),
    }
}

/// Creates the cgroup, moves `pid` into it and applies linux.resources.
pub fn join(record: &CgroupRecord, spec: &Spec, id: &str, pid: i32) -> Result<(), CgroupError> {
    place_unmanaged(record, Some(pid))?;
    let m = manager(record, id)?;
    m.add_task(Pid::from_raw(pid))
        .map_err(|e| CgroupError::libcgroups(format!("adding pid {pid}"), e))?;
    if let Some(dir) = &record.unit_dir {
        enable_hugetlb_down_to(dir);
    }
    apply_spec(record, spec, id, &m)
}

/// Kernel quirk that dominates container start-up: moving a process by writing its pid
/// to `cgroup.procs` takes the global cgroup_threadgroup_rwsem for writing, and taking it
/// waits for an RCU grace period (5–15 ms on this project's hosts, more than all of rt's
/// other work together). A single-threaded process that moves itself by writing "0" to a
/// v1 `tasks` file needs no threadgroup stability and current kernels skip that lock
/// (measured here: 0.15 ms instead of 5–9 ms). So on v1 the parent creates the directories
/// before the clone (`create_dirs`), the init moves itself in (`join_self`) right after
/// Go, before it joins any namespace (an exec process right after Go), and the parent
/// writes the limits (`apply_resources`) while the init mounts, before the init makes
/// device nodes. That holds for the named v1 hierarchies (name=systemd) too; a hybrid
/// host's cgroup2 hierarchy has no `tasks` file outside threaded subtrees, and there the
/// process is born in its directory instead (clone_target). libcgroups can only move a
/// process by pid through cgroup.procs; the directories, the cpuset inheritance and the
/// writes below use its file helpers.
///
/// Returns the `tasks` files, or None where the parent must move the process: the systemd
/// driver, cgroup v2, or a caller that is not root (a rootless process cannot write to
/// the container's cgroup itself).
pub fn self_join_files(record: &CgroupRecord) -> Result<Option<Vec<PathBuf>>, CgroupError> {
    if record.systemd || !nix::unistd::geteuid().is_root() || mode()? != resources::Mode::V1 {
        return Ok(None);
    }
    let cgroup2 = clone_target(record)?;
    let mut files = v1_mount_points()?
        .keys()
        .map(|c| controller_dir(record, c).map(|d| d.join("tasks")))
        .collect::<Result<Vec<_>, _>>()?;
    files.extend(
        unmanaged_dirs(record)?
            .into_iter()
            .filter(|d| Some(d) != cgroup2.as_ref())
            .map(|d| d.join("tasks")),
    );
    files.sort();
    files.dedup();
    Ok(Some(files))
}

/// `files` of the managed hierarchies plus the container's cgroup.procs in the unmanaged
/// ones, each once (co-mounted controllers, cpu,cpuacct, share one hierarchy).
pub(super) fn with_unmanaged(
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
/// `join_self` (and to be born in its cgroup2 directory on a hybrid host);
/// linux.resources follow with `apply_resources`.
pub fn create_dirs(record: &CgroupRecord) -> Result<(), CgroupError> {
    place_unmanaged(record, None)?;
    for controller in v1_mount_points()?.keys() {
        let dir = controller_dir(record, controller)?;
        fs::create_dir_all(&dir)
            .map_err(|e| CgroupError::Manager(format!("creating {}: {e}", dir.display())))?;
    }
    fill_cpuset(record)
}

/// Hands the container's cgroup v2 directory to host uid `uid` (the runtime spec's
/// "Cgroup ownership"): the directory and those files of /sys/kernel/cgroup/delegate that
/// exist in it (cgroup.procs, cgroup.subtree_control and cgroup.threads where the kernel
/// has no list), so that the container can make and fill sub-cgroups of its own. Never
/// the other files: they distribute the parent's resources, and an owner could raise its
/// own limits with them. The group stays as it is. Nothing on v1, where delegation is not
/// safe.
pub fn delegate_to(record: &CgroupRecord, uid: u32) -> Result<(), CgroupError> {
    if mode()? != resources::Mode::V2 {
        return Ok(());
    }
    let dir = controller_dir(record, "")?;
    let listed = fs::read_to_string("/sys/kernel/cgroup/delegate");
    let names: Vec<&str> = match &listed {
        Ok(list) => list.split_whitespace().collect(),
        Err(_) => vec!["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"],
    };
    let files = names
        .into_iter()
        .filter(|n| !n.contains('/') && !matches!(*n, "." | ".."))
        .map(|n| dir.join(n));
    for path in std::iter::once(dir.clone()).chain(files) {
        match std::os::unix::fs::lchown(&path, Some(uid), None) {
            Ok(()) => {}
            // Not every listed file exists in every cgroup (the spec: not an error).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path != dir => {}
            Err(e) => {
                return Err(CgroupError::Manager(format!(
                    "handing {} to uid {uid}: {}",
                    path.display(),
                    crate::error::io_text(&e)
                )));
            }
        }
    }
    Ok(())
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
/// until both are set: each level without its own value takes its parent's. Read from
/// the leaf up, and only as far as the first level with a value of its own (usually the
/// container's parent), then written down to the leaf.
pub(super) fn inherit_cpuset(mount: &Path, dir: &Path, file: &str) -> Result<(), CgroupError> {
    let read = |p: &Path| {
        libcgroups::common::read_cgroup_file(p.join(file))
            .map_err(|e| CgroupError::libcgroups("", e))
    };
    let mut empty = Vec::new();
    let mut current = dir;
    let value = loop {
        let own = read(current)?;
        if !own.trim().is_empty() {
            break own;
        }
        empty.push(current);
        match current.parent() {
            Some(up) if current != mount && up.starts_with(mount) => current = up,
            // The hierarchy's root always has a value; a root without one leaves nothing
            // to inherit.
            _ => return Ok(()),
        }
    };
    for level in empty.iter().rev() {
        libcgroups::common::write_cgroup_file_str(level.join(file), value.trim())
            .map_err(|e| CgroupError::libcgroups("", e))?;
    }
    Ok(())
}

/// In the container's process, before it joins any namespace (the paths are the host's):
/// moves this (single-threaded) process into the cgroups `self_join_files` named.
pub fn join_self(files: &[PathBuf]) -> Result<(), crate::error::StepError> {
    for f in files {
        libcgroups::common::write_cgroup_file_str(f, "0")
            .map_err(|e| crate::error::StepError::msg("cgroups", e.to_string()))?;
    }
    Ok(())
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
        // runc's words, which its exec.bats looks for: "bad sub cgroup path", "unknown
        // controller", "adding pid ... no such file or directory".
        let rel = clean_relative(Path::new(path)).map_err(|_| {
            field(format!(
                "{}: bad sub cgroup path: .. leads out of the container's cgroup",
                crate::error::quoted(arg)
            ))
        })?;
        match controllers {
            None => default = rel,
            Some(list) => {
                for c in list.split(',') {
                    if !points.contains_key(c) {
                        return Err(field(format!(
                            "{}: unknown controller {} (none such on this host)",
                            crate::error::quoted(arg),
                            crate::error::quoted(c)
                        )));
                    }
                    named.insert(c, rel.clone());
                }
            }
        }
    }
    let mut files = Vec::new();
    for (controller, mount) in points {
        // Co-mounted controllers (cpu,cpuacct) share a hierarchy: a name for either counts.
        let sub = points
            .iter()
            .filter(|(c, m)| *m == mount && named.contains_key(c.as_str()))
            .find_map(|(c, _)| named.get(c.as_str()))
            .unwrap_or(&default);
        let dir = record.dir_in(mount).join(sub);
        if !dir.is_dir() {
            return Err(field(format!(
                "{controller}: adding pid to {}: no such file or directory",
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
            CgroupError::libcgroups(format!("adding pid {pid} to {}", f.display()), e)
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
            .map_err(|e| CgroupError::libcgroups(format!("adding pid {pid}"), e));
    }
    let files = match setup()? {
        CgroupSetup::Unified => vec![controller_dir(record, "")?.join("cgroup.procs")],
        _ => {
            let managed = v1_mount_points()?
                .values()
                .map(|m| record.dir_in(m).join("cgroup.procs"))
                .collect();
            with_unmanaged(record, managed)?
        }
    };
    add_to_files(&files, pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels without a value of their own take the nearest one above them; a level with
    /// its own is left alone, and so is everything above the first such level.
    #[test]
    fn cpuset_is_inherited_from_the_nearest_level_with_a_value() {
        let mount = std::env::temp_dir().join(format!("rt-cpuset-{}", std::process::id()));
        let leaf = mount.join("a/b/c");
        fs::create_dir_all(&leaf).unwrap();
        let file = "cpuset.cpus";
        for (level, value) in [("", "0-1\n"), ("a", "0\n"), ("a/b", ""), ("a/b/c", "")] {
            fs::write(mount.join(level).join(file), value).unwrap();
        }
        inherit_cpuset(&mount, &leaf, file).unwrap();
        let read = |level: &str| fs::read_to_string(mount.join(level).join(file)).unwrap();
        assert_eq!(
            [read(""), read("a"), read("a/b"), read("a/b/c")],
            ["0-1\n", "0\n", "0", "0"]
        );
        fs::write(leaf.join(file), "1").unwrap();
        fs::write(mount.join("a/b").join(file), "").unwrap();
        inherit_cpuset(&mount, &leaf, file).unwrap();
        assert_eq!([read("a/b"), read("a/b/c")], ["", "1"]);
        fs::remove_dir_all(&mount).unwrap();
    }
}
