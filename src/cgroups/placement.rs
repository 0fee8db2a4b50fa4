//! Where a container's cgroup goes, and whose its directories are: cgroupsPath resolved
//! below rt's own cgroup (pure, unit-tested), the systemd driver's slice:prefix:name, and
//! the claim of the directories rt will create, recorded under the registry lock before
//! any is made.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use libcgroups::common::{CgroupSetup, DEFAULT_CGROUP_ROOT};
use oci_spec::runtime::Spec;

use super::error::CgroupError;
use super::host::*;
use super::record::CgroupRecord;
use super::registry::Registry;
use super::remove::*;
use super::resources;

/// Lexically normalises `rel` (no "..", no root) so it cannot climb out of `base`.
pub(super) fn clean_relative(rel: &Path) -> Result<PathBuf, CgroupError> {
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

/// The container's cgroup, per the placement policy: an absolute path is the same in
/// every hierarchy; a relative one goes below this process's own cgroup in each (`own`:
/// hierarchy root and own path there). `path` is the one below the deepest own cgroup.
pub fn resolve_path(
    spec_path: Option<&Path>,
    id: &str,
    own: &[(PathBuf, PathBuf)],
) -> Result<CgroupRecord, CgroupError> {
    if let Some(p) = spec_path.filter(|p| p.is_absolute()) {
        let path = Path::new("/").join(clean_relative(p)?);
        return Ok(CgroupRecord::new(path, false, None));
    }
    let rel = clean_relative(spec_path.unwrap_or(Path::new(id)))?;
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::Path("must name a cgroup".into()));
    }
    let below = |base: &Path| Path::new("/").join(base).join(&rel);
    let deepest = own
        .iter()
        .map(|(_, base)| base)
        .max_by_key(|base| base.components().count())
        .map_or(PathBuf::from("/"), |base| base.clone());
    let elsewhere = own
        .iter()
        .filter(|(_, base)| *base != deepest)
        .map(|(root, base)| (root.clone(), below(base)))
        .collect();
    Ok(CgroupRecord::placed(below(&deepest), elsewhere))
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
    let own = own_by_root(&setup)?;
    if rootless && !delegated(&setup, &own) {
        check_no_limits(spec)?;
        return Ok(None);
    }
    resolve_path(spec_path, id, &own).map(Some)
}

/// Whether this (rootless) process may create cgroups below its own: only on cgroup v2,
/// where a cgroup can be delegated to a user by making it writable for them.
pub(super) fn delegated(setup: &CgroupSetup, own: &[(PathBuf, PathBuf)]) -> bool {
    let (CgroupSetup::Unified, [(_, own)]) = (setup, own) else {
        return false;
    };
    let dir = Path::new(DEFAULT_CGROUP_ROOT).join(own.strip_prefix("/").unwrap_or(own));
    nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// A container without a cgroup can enforce no limits; asking for any is an error
/// (device rules excepted: in a user namespace no device node can be made anyway). A part
/// that asks for nothing is no limit: rootless Docker sends `"memory": {}` and
/// `"blockIO": {}` for every container (and zeros, which the config loader clears), and
/// runc, which fails only when a write fails, runs such a container without a cgroup.
pub(super) fn check_no_limits(spec: &Spec) -> Result<(), CgroupError> {
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return Ok(());
    };
    if let Some((name, _)) = resources::parts(r)
        .into_iter()
        .find(|(n, part)| *n != "devices" && asks_for_something(part))
    {
        return Err(CgroupError::Field {
            field: format!("linux.resources.{name}"),
            reason: "a rootless container has no cgroup here (none is delegated to this user), so no limit can be enforced".into(),
        });
    }
    Ok(())
}

/// Whether a part of linux.resources holds any value that would be written: a number, a
/// non-empty string, `true`; not null, `false` or an empty list or object.
fn asks_for_something(part: &oci_spec::runtime::LinuxResources) -> bool {
    fn meaningful(v: &serde_json::Value) -> bool {
        use serde_json::Value;
        match v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(_) => true,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => a.iter().any(meaningful),
            Value::Object(o) => o.values().any(meaningful),
        }
    }
    // Serialising plain config structs cannot fail; if it did, count it as a limit, so
    // that the container is refused rather than run without one.
    serde_json::to_value(part).map_or(true, |v| meaningful(&v))
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

pub(super) fn plan_systemd(
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
    Ok(CgroupRecord::new(
        PathBuf::from(format!("{slice}:{prefix}:{name}")),
        true,
        Some(systemd_unit_dir(&slice, &prefix, &name)),
    ))
}

/// Every directory on the way to the container's cgroup, in every hierarchy, deepest
/// first (the order removal needs).
pub(super) fn dirs_on_the_way(record: &CgroupRecord) -> Result<Vec<PathBuf>, CgroupError> {
    let mut dirs = Vec::new();
    for root in hierarchy_roots(&setup()?)? {
        let mut dir = root.clone();
        for c in record.path_in(&root).components().skip(1) {
            dir.push(c);
            dirs.push(dir.clone());
        }
    }
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    Ok(dirs)
}

/// The hierarchies that can freeze a cgroup: v1's freezer and cgroup2.
fn freezer_roots() -> Result<Vec<PathBuf>, CgroupError> {
    Ok(match setup()? {
        CgroupSetup::Unified => vec![PathBuf::from(DEFAULT_CGROUP_ROOT)],
        _ => v1_mount_points()?
            .get("freezer")
            .cloned()
            .into_iter()
            .chain(hybrid_cgroup2_root()?.map(Path::to_path_buf))
            .collect(),
    })
}

/// Whether an existing cgroup directory is frozen or freezing, also through a frozen
/// ancestor (v1 freezer.state, v2 cgroup.events); one without those files is not.
fn frozen(dir: &Path) -> bool {
    let read = |f: &str| libcgroups::common::read_cgroup_file(dir.join(f)).ok();
    read("freezer.state").is_some_and(|s| s.trim() != "THAWED")
        || read("cgroup.events").is_some_and(|s| s.lines().any(|l| l.trim() == "frozen 1"))
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
    reg.forget_stale();
    let leaves = leaf_dirs(record)?;
    let mut ours = Vec::new();
    // Deepest first: once a directory exists, so do the ones above it, and those are not
    // asked about again (with ten hierarchies, half of the lookups of a usual create).
    let mut present: HashSet<PathBuf> = HashSet::new();
    let freezers = freezer_roots()?;
    for dir in &dirs_on_the_way(record)? {
        let is_leaf = leaves.contains(dir);
        // The deepest existing directory of each hierarchy.
        let found = !present.contains(dir) && dir.exists();
        let exists = found || present.contains(dir);
        if found {
            present.extend(dir.ancestors().skip(1).map(Path::to_path_buf));
            if freezers.iter().any(|r| dir.starts_with(r)) && frozen(dir) {
                // The init would stop there half-way (a new cgroup below a frozen one is
                // born frozen), and create would wait for it for good.
                return Err(CgroupError::Path(format!(
                    "{}: container's cgroup unexpectedly frozen ({}); thaw it or choose \
                     another",
                    record.path.display(),
                    dir.display()
                )));
            }
        }
        if !exists {
            if !is_leaf {
                reg.note(dir).map_err(|reason| CgroupError::Remove {
                    path: PathBuf::from(super::registry::REGISTRY),
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
                "{}: container's cgroup is not empty: {} holds processes; it must be new or empty",
                record.path.display(),
                busy.display()
            )));
        }
    }
    record.set_created(&ours).map_err(CgroupError::Record)?;
    Ok(Some(reg))
}

/// `rt exec --cgroup SUB`: an existing cgroup below the container's (never created: the
/// container made it, and it is the container's to remove).
pub fn sub_cgroup(record: &CgroupRecord, sub: &str) -> Result<CgroupRecord, CgroupError> {
    let bad = |why: &str| CgroupError::Field {
        field: "--cgroup".into(),
        reason: format!("{}: {why}", crate::error::quoted(sub)),
    };
    // runc's words, which its exec.bats looks for: "bad sub cgroup path", and "adding
    // pid ... no such file or directory" (checked here, before the process exists).
    let rel = clean_relative(Path::new(sub))
        .map_err(|_| bad("bad sub cgroup path: .. leads out of the container's cgroup"))?;
    if rel.as_os_str().is_empty() {
        // "/": the container's own cgroup, where exec goes anyway.
        return Ok(record.clone());
    }
    if record.systemd {
        return Err(bad(
            "a sub-cgroup of a systemd unit's cgroup is systemd's, not rt's to join",
        ));
    }
    let sub_record = record.below(&rel);
    // Where the container can have made it: the hierarchies with controllers.
    let roots = managed_roots(&setup()?)?;
    if let Some(missing) = roots
        .iter()
        .map(|r| sub_record.dir_in(r))
        .find(|d| !d.is_dir())
    {
        return Err(bad(&format!(
            "adding pid to {}: no such file or directory",
            missing.display()
        )));
    }
    Ok(sub_record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_at(v: &[(&str, &str)]) -> Vec<(PathBuf, PathBuf)> {
        v.iter()
            .map(|(r, p)| (PathBuf::from(r), PathBuf::from(p)))
            .collect()
    }

    #[test]
    fn relative_paths_go_below_own_cgroup_in_each_hierarchy() {
        let own = own_at(&[("/cg/cpu", "/"), ("/cg/memory", "/sup/job1")]);
        let r = resolve_path(None, "c1", &own).unwrap();
        assert_eq!(r.path, PathBuf::from("/sup/job1/c1"));
        assert_eq!(
            r.dir_in(Path::new("/cg/memory")),
            Path::new("/cg/memory/sup/job1/c1")
        );
        assert_eq!(r.dir_in(Path::new("/cg/cpu")), Path::new("/cg/cpu/c1"));
        let r = resolve_path(Some(Path::new("pods/c1")), "c1", &own).unwrap();
        assert_eq!(
            r.dir_in(Path::new("/cg/memory")),
            Path::new("/cg/memory/sup/job1/pods/c1")
        );
        assert_eq!(r.dir_in(Path::new("/cg/cpu")), Path::new("/cg/cpu/pods/c1"));
        // A hierarchy rt did not find its own cgroup in takes the deepest one's path.
        assert_eq!(
            r.dir_in(Path::new("/cg/pids")),
            Path::new("/cg/pids/sup/job1/pods/c1")
        );
        let r = resolve_path(Some(Path::new("/abs/c1")), "c1", &own).unwrap();
        assert_eq!(r.dir_in(Path::new("/cg/cpu")), Path::new("/cg/cpu/abs/c1"));
        assert_eq!(
            r.dir_in(Path::new("/cg/memory")),
            Path::new("/cg/memory/abs/c1")
        );
        // Unrelated own cgroups (no one an ancestor of the others) are no obstacle.
        let r = resolve_path(None, "c", &own_at(&[("/x", "/a"), ("/y", "/b")])).unwrap();
        assert_eq!(r.dir_in(Path::new("/y")), Path::new("/y/b/c"));
        assert_eq!(r.dir_in(Path::new("/x")), Path::new("/x/a/c"));
        // The record of a sub-cgroup is below the container's in each hierarchy.
        let sub = resolve_path(None, "c1", &own)
            .unwrap()
            .below(Path::new("s"));
        assert_eq!(sub.dir_in(Path::new("/cg/cpu")), Path::new("/cg/cpu/c1/s"));
        assert_eq!(
            sub.dir_in(Path::new("/cg/memory")),
            Path::new("/cg/memory/sup/job1/c1/s")
        );
    }

    #[test]
    fn dotdot_is_refused() {
        let own = own_at(&[("/cg", "/")]);
        assert!(resolve_path(Some(Path::new("../../x")), "c", &own).is_err());
        assert!(resolve_path(Some(Path::new("/a/../../x")), "c", &own).is_err());
        assert!(resolve_path(Some(Path::new("")), "c", &own).is_err());
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
}
