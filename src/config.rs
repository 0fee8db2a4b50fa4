//! Reading a bundle's config.json and refusing what cannot work, before anything is created.
//!
//! Every error names the config field the user has to change (`linux.namespaces[2].path`),
//! so a config mistake is one line the user can act on rather than a failure deep inside the
//! container's setup.

use std::collections::HashSet;
use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capabilities, Capability, Hook, LinuxNamespaceType, Process, Spec};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

pub fn err(field: impl Display, reason: impl Display) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

/// A bundle with its parsed config and absolute paths.
pub struct Bundle {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub spec: Spec,
}

/// Parses config.json text; a syntax or type error names the JSON path of the offending
/// field (serde_path_to_error), e.g. `linux.resources.memory.limit: invalid type ...`.
/// A valid config is parsed without path tracking, which more than doubles the code a
/// parse runs (and so the pages of rt's binary every `create` maps); only a failed parse
/// is repeated with it to find the field.
pub fn parse(text: &[u8]) -> Result<Spec, ConfigError> {
    if let Ok(spec) = serde_json::from_slice(text) {
        return Ok(spec);
    }
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "config.json".to_owned()
        } else {
            path
        };
        err(field, e.into_inner())
    })
}

pub fn load(bundle: &Path) -> Result<Bundle, ConfigError> {
    let dir = std::path::absolute(bundle).map_err(|e| err("--bundle", e))?;
    let config = dir.join("config.json");
    let text = fs::read(&config).map_err(|e| err(config.display(), e))?;
    let spec = parse(&text)?;
    validate(&spec)?;
    refuse_unsupported(&spec)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| err("root", "must be set"))?;
    let rootfs = dir.join(root.path());
    match fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(err(
                "root.path",
                format!("{}: not a directory", rootfs.display()),
            ));
        }
        Err(e) => return Err(err("root.path", format!("{}: {e}", rootfs.display()))),
    }
    check_namespace_paths(&spec)?;
    if let Some(p) = spec.process() {
        warn_unraisable_ambient(p);
    }
    Ok(Bundle { dir, rootfs, spec })
}

/// Ambient capabilities the kernel will refuse to raise because the config does not also
/// list them as permitted and inheritable.
pub fn unraisable_ambient(p: &Process) -> Vec<Capability> {
    let Some(c) = p.capabilities() else {
        return Vec::new();
    };
    let has = |set: &Option<Capabilities>, cap: &Capability| {
        set.as_ref().is_some_and(|s| s.contains(cap))
    };
    let mut v: Vec<Capability> = c
        .ambient()
        .iter()
        .flatten()
        .filter(|cap| !has(c.permitted(), cap) || !has(c.inheritable(), cap))
        .copied()
        .collect();
    v.sort_by_key(|c| c.to_string());
    v
}

/// The runtime spec asks for a warning, not a failure, for capabilities that cannot be
/// granted; `runc spec` itself writes ambient capabilities without inheritable ones (runc
/// ignores the kernel's refusal), so refusing them would refuse runc's own default bundle.
pub fn warn_unraisable_ambient(p: &Process) {
    let caps = unraisable_ambient(p);
    if !caps.is_empty() {
        // oci-spec displays capabilities without the CAP_ prefix the config uses.
        let names: Vec<String> = caps
            .iter()
            .map(|c| {
                let n = c.to_string();
                if n.starts_with("CAP_") {
                    n
                } else {
                    format!("CAP_{n}")
                }
            })
            .collect();
        crate::log::warn(&format_args!(
            "process.capabilities.ambient: {} not raised: an ambient capability must also be permitted and inheritable",
            names.join(", ")
        ));
    }
}

fn check_namespace_paths(spec: &Spec) -> Result<(), ConfigError> {
    let Some(namespaces) = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()) else {
        return Ok(());
    };
    for (i, ns) in namespaces.iter().enumerate() {
        if let Some(path) = ns.path()
            && let Err(e) = fs::metadata(path)
        {
            return Err(err(
                format!("linux.namespaces[{i}].path"),
                format!("{}: {e}", path.display()),
            ));
        }
    }
    Ok(())
}

/// Sysctls that are isolated by a namespace, and which one. Anything else would change
/// the host, so it is refused (as runc does).
fn sysctl_namespace(name: &str) -> Option<LinuxNamespaceType> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&name) || name.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if name.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

fn check_hooks(field: &str, hooks: &Option<Vec<Hook>>) -> Result<(), ConfigError> {
    for (i, h) in hooks.iter().flatten().enumerate() {
        if !h.path().is_absolute() {
            return Err(err(
                format!("hooks.{field}[{i}].path"),
                format!("{}: must be an absolute path", h.path().display()),
            ));
        }
        if h.timeout().is_some_and(|t| t <= 0) {
            return Err(err(
                format!("hooks.{field}[{i}].timeout"),
                "must be positive",
            ));
        }
    }
    Ok(())
}

/// Settings rt does not implement (yet). Each would change what the container may do or
/// how it runs, so a config asking for one is refused rather than run without it.
pub fn refuse_unsupported(spec: &Spec) -> Result<(), ConfigError> {
    const NOT_YET: &str = "not supported by rt yet";
    if let Some(p) = spec.process() {
        if p.io_priority().is_some() {
            return Err(err("process.ioPriority", NOT_YET));
        }
        if p.scheduler().is_some() {
            return Err(err("process.scheduler", NOT_YET));
        }
        if p.exec_cpu_affinity().is_some() {
            return Err(err("process.execCPUAffinity", NOT_YET));
        }
    }
    if let Some(l) = spec.linux() {
        if l.intel_rdt().is_some() {
            return Err(err("linux.intelRdt", NOT_YET));
        }
        if l.personality().is_some() {
            return Err(err("linux.personality", NOT_YET));
        }
        if l.memory_policy().is_some() {
            return Err(err("linux.memoryPolicy", NOT_YET));
        }
        if l.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(err("linux.netDevices", NOT_YET));
        }
    }
    Ok(())
}

/// Checks that need no file system: the parts of the spec rt would otherwise trip over
/// halfway through create.
pub fn validate(spec: &Spec) -> Result<(), ConfigError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| err("root", "must be set"))?;
    if root.path().as_os_str().is_empty() {
        return Err(err("root.path", "must not be empty"));
    }

    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| err("process", "must be set"))?;
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => return Err(err("process.args", "must name a program to run")),
    }
    if !process.cwd().is_absolute() {
        return Err(err(
            "process.cwd",
            format!("{:?}: must be an absolute path", process.cwd()),
        ));
    }
    if process
        .oom_score_adj()
        .is_some_and(|adj| !(-1000..=1000).contains(&adj))
    {
        return Err(err("process.oomScoreAdj", "must be between -1000 and 1000"));
    }
    let mut seen_rlimits = Vec::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if seen_rlimits.contains(&r.typ()) {
            return Err(err(format!("process.rlimits[{i}].type"), "duplicate type"));
        }
        seen_rlimits.push(r.typ());
        if r.soft() > r.hard() {
            return Err(err(
                format!("process.rlimits[{i}]"),
                "soft limit exceeds hard limit",
            ));
        }
    }

    let linux = spec.linux().as_ref();
    let namespaces = linux
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default();
    let mut types = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !types.insert(ns.typ()) {
            return Err(err(
                format!("linux.namespaces[{i}].type"),
                format!("{}: listed twice", ns_name(ns.typ())),
            ));
        }
        if let Some(p) = ns.path()
            && !p.is_absolute()
        {
            return Err(err(
                format!("linux.namespaces[{i}].path"),
                format!("{}: must be an absolute path", p.display()),
            ));
        }
    }
    let private = |t: LinuxNamespaceType| types.contains(&t);
    let new_user = namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    let uid_maps = linux.and_then(|l| l.uid_mappings().as_ref());
    let gid_maps = linux.and_then(|l| l.gid_mappings().as_ref());
    if new_user {
        if uid_maps.is_none_or(|m| m.is_empty()) {
            return Err(err(
                "linux.uidMappings",
                "a new user namespace needs uid mappings",
            ));
        }
        if gid_maps.is_none_or(|m| m.is_empty()) {
            return Err(err(
                "linux.gidMappings",
                "a new user namespace needs gid mappings",
            ));
        }
    } else {
        if uid_maps.is_some_and(|m| !m.is_empty()) {
            return Err(err(
                "linux.uidMappings",
                "only valid with a new user namespace",
            ));
        }
        if gid_maps.is_some_and(|m| !m.is_empty()) {
            return Err(err(
                "linux.gidMappings",
                "only valid with a new user namespace",
            ));
        }
    }
    for (field, maps) in [
        ("linux.uidMappings", uid_maps),
        ("linux.gidMappings", gid_maps),
    ] {
        for (i, m) in maps.into_iter().flatten().enumerate() {
            if m.size() == 0 {
                return Err(err(format!("{field}[{i}].size"), "must be positive"));
            }
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !private(LinuxNamespaceType::Uts)
    {
        return Err(err("hostname", "needs a private uts namespace"));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !private(LinuxNamespaceType::Uts)
    {
        return Err(err("domainname", "needs a private uts namespace"));
    }
    if let Some(linux) = linux {
        let mut names: Vec<_> = linux.sysctl().iter().flatten().map(|(k, _)| k).collect();
        names.sort();
        for name in names {
            let field = format!("linux.sysctl.{name}");
            match sysctl_namespace(name) {
                None => {
                    return Err(err(
                        field,
                        "not isolated by any namespace; refusing to change the host",
                    ));
                }
                Some(t) if !private(t) => {
                    return Err(err(
                        field,
                        format!("needs a private {} namespace", ns_name(t)),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(p) = linux.rootfs_propagation()
            && !matches!(
                p.as_str(),
                "" | "shared" | "slave" | "private" | "unbindable"
            )
        {
            return Err(err(
                "linux.rootfsPropagation",
                format!("{p:?}: must be shared, slave, private or unbindable"),
            ));
        }
        for (i, d) in linux.devices().iter().flatten().enumerate() {
            let p = d.path();
            if !p.starts_with("/dev/") || p.components().any(|c| c.as_os_str() == "..") {
                return Err(err(
                    format!("linux.devices[{i}].path"),
                    format!("{}: must be below /dev", p.display()),
                ));
            }
        }
        if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
            && !private(LinuxNamespaceType::Time)
        {
            return Err(err("linux.timeOffsets", "needs a time namespace"));
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(err(format!("mounts[{i}].destination"), "must not be empty"));
        }
    }
    if let Some(hooks) = spec.hooks() {
        #[allow(deprecated)]
        check_hooks("prestart", hooks.prestart())?;
        check_hooks("createRuntime", hooks.create_runtime())?;
        check_hooks("createContainer", hooks.create_container())?;
        check_hooks("startContainer", hooks.start_container())?;
        check_hooks("poststart", hooks.poststart())?;
        check_hooks("poststop", hooks.poststop())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]}
        })
    }

    fn check(v: serde_json::Value) -> Result<(), ConfigError> {
        let spec = parse(v.to_string().as_bytes())?;
        validate(&spec)
    }

    fn field_of(v: serde_json::Value) -> String {
        check(v).unwrap_err().field
    }

    #[test]
    fn accepts_minimal_config() {
        assert_eq!(check(base()), Ok(()));
    }

    #[test]
    fn type_errors_name_the_json_path() {
        let mut v = base();
        v["linux"]["resources"] = json!({"memory": {"limit": "lots"}});
        let e = check(v).unwrap_err();
        assert_eq!(e.field, "linux.resources.memory.limit");
        assert!(e.reason.contains("invalid type"), "{}", e.reason);
    }

    #[test]
    fn unknown_capability_is_named() {
        let mut v = base();
        v["process"]["capabilities"] = json!({"bounding": ["CAP_CHOWN", "CAP_MAKE_COFFEE"]});
        let e = check(v).unwrap_err();
        assert!(e.field.starts_with("process.capabilities.bounding"), "{e}");
        assert!(e.to_string().contains("MAKE_COFFEE"), "{e}");
    }

    #[test]
    fn process_checks() {
        let mut v = base();
        v["process"]["args"] = json!([]);
        assert_eq!(field_of(v), "process.args");
        let mut v = base();
        v["process"]["cwd"] = json!("relative");
        assert_eq!(field_of(v), "process.cwd");
        let mut v = base();
        v["process"]["oomScoreAdj"] = json!(1001);
        assert_eq!(field_of(v), "process.oomScoreAdj");
        let mut v = base();
        v["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20},
            {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}
        ]);
        assert_eq!(field_of(v), "process.rlimits[1].type");
        let mut v = base();
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 30, "hard": 20}]);
        assert_eq!(field_of(v), "process.rlimits[0]");
        let mut v = base();
        v.as_object_mut().unwrap().remove("process");
        assert_eq!(field_of(v), "process");
    }

    #[test]
    fn namespace_checks() {
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "pid"}]);
        assert_eq!(field_of(v), "linux.namespaces[1].type");
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "network", "path": "proc/1/ns/net"}]);
        assert_eq!(field_of(v), "linux.namespaces[0].path");
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "nonsense"}]);
        assert_eq!(field_of(v), "linux.namespaces[0].type");
    }

    #[test]
    fn user_namespace_needs_mappings_and_vice_versa() {
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "user"}]);
        assert_eq!(field_of(v), "linux.uidMappings");
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "user"}]);
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        assert_eq!(field_of(v), "linux.gidMappings");
        let mut v = base();
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        assert_eq!(field_of(v), "linux.uidMappings");
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type": "user"}]);
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        assert_eq!(field_of(v), "linux.uidMappings[0].size");
    }

    #[test]
    fn hostname_needs_uts() {
        let mut v = base();
        v["hostname"] = json!("box");
        assert_eq!(check(v.clone()), Ok(()));
        v["linux"]["namespaces"] = json!([{"type": "pid"}]);
        assert_eq!(field_of(v), "hostname");
    }

    #[test]
    fn sysctl_rules() {
        let mut v = base();
        v["linux"]["sysctl"] = json!({"kernel.shmmax": "1000"});
        assert_eq!(field_of(v.clone()), "linux.sysctl.kernel.shmmax");
        v["linux"]["namespaces"] = json!([{"type": "ipc"}]);
        assert_eq!(check(v.clone()), Ok(()));
        v["linux"]["sysctl"] = json!({"vm.swappiness": "10"});
        let e = check(v.clone()).unwrap_err();
        assert_eq!(e.field, "linux.sysctl.vm.swappiness");
        assert!(e.reason.contains("not isolated"));
        v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        assert_eq!(field_of(v.clone()), "linux.sysctl.net.ipv4.ip_forward");
        v["linux"]["namespaces"] = json!([{"type": "network"}]);
        assert_eq!(check(v), Ok(()));
    }

    #[test]
    fn hooks_must_be_absolute_with_positive_timeout() {
        let mut v = base();
        v["hooks"] = json!({"createRuntime": [{"path": "bin/true"}]});
        assert_eq!(field_of(v), "hooks.createRuntime[0].path");
        let mut v = base();
        v["hooks"] = json!({"poststop": [{"path": "/bin/true", "timeout": 0}]});
        assert_eq!(field_of(v), "hooks.poststop[0].timeout");
    }

    #[test]
    fn unimplemented_settings_are_refused_not_ignored() {
        let cases = [
            (
                json!({"process": {"ioPriority": {"class": "IOPRIO_CLASS_IDLE"}}}),
                "process.ioPriority",
            ),
            (
                json!({"linux": {"personality": {"domain": "LINUX32"}}}),
                "linux.personality",
            ),
        ];
        for (patch, field) in cases {
            let mut v = base();
            for (k, val) in patch.as_object().unwrap() {
                for (k2, val2) in val.as_object().unwrap() {
                    v[k][k2] = val2.clone();
                }
            }
            let spec = parse(v.to_string().as_bytes()).unwrap();
            assert_eq!(refuse_unsupported(&spec).unwrap_err().field, field);
        }
        assert_eq!(
            refuse_unsupported(&parse(base().to_string().as_bytes()).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn devices_and_propagation() {
        let mut v = base();
        v["linux"]["devices"] =
            json!([{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]);
        assert_eq!(field_of(v), "linux.devices[0].path");
        let mut v = base();
        v["linux"]["devices"] =
            json!([{"path": "/dev/../etc/x", "type": "c", "major": 1, "minor": 3}]);
        assert_eq!(field_of(v), "linux.devices[0].path");
        let mut v = base();
        v["linux"]["rootfsPropagation"] = json!("sideways");
        assert_eq!(field_of(v), "linux.rootfsPropagation");
    }
}
