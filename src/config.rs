//! Reading a bundle's config.json and refusing what cannot work, before anything is created.
//!
//! Every error names the config field the user has to change (`linux.namespaces[2].path`),
//! so a config mistake is one line the user can act on rather than a failure deep inside the
//! container's setup.

use std::collections::HashSet;
use std::fmt::Display;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, Capability, Hook, Hooks, LinuxNamespaceType, LinuxResources, Process, Spec,
};

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
///
/// Keys are matched as runc's Go matches them (json_fold), which takes the slower parse
/// too, only for a config with a capitalised key.
pub fn parse(text: &[u8]) -> Result<Spec, ConfigError> {
    let fast = |text: &[u8]| {
        if crate::json_fold::has_capitalised_key(text) {
            None
        } else {
            serde_json::from_slice(text).ok()
        }
    };
    let mut spec: Spec = match fast(text) {
        Some(spec) => spec,
        None => match mended(text) {
            Some(mended) => match fast(&mended) {
                Some(spec) => spec,
                None => parse_with_path(&mended, "config.json", "")?,
            },
            None => parse_with_path(text, "config.json", "")?,
        },
    };
    empty_namespace_paths_are_none(&mut spec);
    Ok(spec)
}

/// `"path": ""` in linux.namespaces means a new namespace, as runc reads it (Go cannot
/// tell an empty string from a missing one, and runc's own tests write it so).
fn empty_namespace_paths_are_none(spec: &mut Spec) {
    let Some(namespaces) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.namespaces_mut().as_mut())
    else {
        return;
    };
    for ns in namespaces {
        if ns.path().as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            ns.set_path(None);
        }
    }
}

/// A copy of config.json with what the runtime spec (or runc) allows and oci-spec 0.10
/// refuses made acceptable to oci-spec, or None when there is nothing to mend; tried only
/// after a failed parse. An empty `linux.memoryPolicy` (`{}`) goes: runc takes it as no
/// policy, and its own tests rely on that, while oci-spec wants its mode.
fn mended(text: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(text).ok()?;
    let mut changed = false;
    if let Some(linux) = v
        .get_mut("linux")
        .and_then(serde_json::Value::as_object_mut)
        && linux
            .get("memoryPolicy")
            .and_then(serde_json::Value::as_object)
            .is_some_and(serde_json::Map::is_empty)
    {
        linux.remove("memoryPolicy");
        changed = true;
    }
    if let Some(p) = v.get_mut("process") {
        changed |= mend_process(p);
    }
    changed.then(|| serde_json::to_vec(&v).ok()).flatten()
}

/// oci-spec 0.10 spells the runtime spec's scheduler flag SCHED_FLAG_RESET_ON_FORK as
/// SCHED_RESET_ON_FORK and refuses the spec's name: renamed in a process document (of
/// config.json or `exec --process`) before it is read. Whether anything changed.
pub fn mend_process(process: &mut serde_json::Value) -> bool {
    let Some(flags) = process
        .pointer_mut("/scheduler/flags")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return false;
    };
    let mut changed = false;
    for f in flags
        .iter_mut()
        .filter(|f| *f == "SCHED_FLAG_RESET_ON_FORK")
    {
        *f = "SCHED_RESET_ON_FORK".into();
        changed = true;
    }
    changed
}

/// Deserializes JSON from outside; an error names the field (its JSON path after
/// `prefix`, or `whole` for the document itself) and the reason, both one short line.
/// Keys are matched as runc's Go matches them (json_fold).
pub fn parse_with_path<T: serde::de::DeserializeOwned>(
    text: &[u8],
    whole: &str,
    prefix: &str,
) -> Result<T, ConfigError> {
    let named = |e| field_error(e, whole, prefix);
    if crate::json_fold::has_capitalised_key(text) {
        let de = &mut serde_json::Deserializer::from_slice(text);
        let doc: serde_json::Value = serde_path_to_error::deserialize(de).map_err(named)?;
        return serde_path_to_error::deserialize(crate::json_fold::Folded(doc)).map_err(named);
    }
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(named)
}

fn field_error(
    e: serde_path_to_error::Error<serde_json::Error>,
    whole: &str,
    prefix: &str,
) -> ConfigError {
    let path = e.path().to_string();
    let mut field = if path == "." {
        whole.to_owned()
    } else {
        format!("{prefix}{}", one_line(&path))
    };
    let mut reason = tidy_parse_error(&e.into_inner().to_string());
    if let Some(member) = reason
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        field = format!("{field}.{member}");
        reason = "missing; the runtime spec requires it".into();
    }
    if let Some(words) = runc_words(&field) {
        reason = format!("{words}: {reason}");
    }
    err(field, reason)
}

/// runc's words for the refusal of a field, where callers (runc's own tests among them)
/// look for them.
fn runc_words(field: &str) -> Option<&'static str> {
    let field = field.trim_end_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']');
    match field {
        "linux.memoryPolicy.mode" => Some("invalid memory policy mode"),
        "linux.memoryPolicy.flags" => Some("invalid memory policy flag"),
        "linux.memoryPolicy.nodes" => Some("invalid memory policy nodes"),
        _ => None,
    }
}

/// serde's message, made one short line: without the position (the field names where),
/// without the list of every allowed name (one line of 600 characters for an unknown
/// seccomp architecture), and with what it quotes from the input escaped and cut short
/// (serde quotes an unknown name raw, newlines and all).
pub fn tidy_parse_error(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    };
    if let Some(rest) = msg.strip_prefix("unknown variant `")
        && let Some((value, allowed)) = rest.split_once("`, expected ")
    {
        let n = allowed.matches('`').count() / 2;
        return format!(
            "unknown value {} (not one of the {n} the runtime spec allows)",
            crate::error::quoted(value)
        );
    }
    if let Some(rest) = msg.strip_prefix("no variant for ") {
        // oci-spec's capability parser: "no variant for CAP_X (converted to X)".
        let name = rest.split(" (converted").next().unwrap_or(rest);
        return one_line(&format!("unknown capability {name}"));
    }
    one_line(msg)
}

/// Control characters escaped, and at most 300 bytes.
fn one_line(msg: &str) -> String {
    let mut out = String::new();
    for c in msg.chars() {
        if out.len() >= 300 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// process.scheduler, process.ioPriority and process.execCPUAffinity as the kernel will
/// take them (sched(7), ioprio_set(2)); for `create` and for an exec's process.
pub fn check_scheduling(p: &Process) -> Result<(), ConfigError> {
    use oci_spec::runtime::LinuxSchedulerPolicy as P;
    if let Some(s) = p.scheduler() {
        let f = "process.scheduler";
        if s.nice().is_some_and(|n| !(-20..=19).contains(&n)) {
            return Err(err(format!("{f}.nice"), "must be between -20 and 19"));
        }
        let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
        match *s.priority() {
            Some(n) if realtime && !(1..=99).contains(&n) => {
                return Err(err(format!("{f}.priority"), "must be between 1 and 99"));
            }
            Some(n) if !realtime && n != 0 => {
                return Err(err(
                    format!("{f}.priority"),
                    "only SCHED_FIFO and SCHED_RR take a priority",
                ));
            }
            None if realtime => {
                return Err(err(
                    format!("{f}.priority"),
                    "SCHED_FIFO and SCHED_RR need one",
                ));
            }
            _ => {}
        }
        let deadline = *s.policy() == P::SchedDeadline;
        let times = [s.runtime(), s.deadline(), s.period()];
        if !deadline && times.iter().any(|t| t.is_some()) {
            return Err(err(
                f,
                "runtime, deadline and period are for SCHED_DEADLINE only",
            ));
        }
        if deadline {
            let runtime = s.runtime().unwrap_or(0);
            let dl = s.deadline().unwrap_or(0);
            let period = s.period().unwrap_or(0);
            let period = if period == 0 { dl } else { period };
            if runtime == 0 || dl == 0 || runtime > dl || dl > period {
                return Err(err(
                    f,
                    "SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0: the deadline)",
                ));
            }
        }
    }
    if let Some(io) = p.io_priority()
        && !(0..=7).contains(&io.priority())
    {
        return Err(err(
            "process.ioPriority.priority",
            "must be between 0 and 7",
        ));
    }
    if let Some(a) = p.exec_cpu_affinity() {
        for (name, list) in [("initial", a.initial()), ("final", a.cpu_affinity_final())] {
            if let Some(list) = list
                && !is_list(list)
            {
                return Err(err(
                    format!("process.execCPUAffinity.{name}"),
                    format!("{}: not a CPU list like 0-3,5", crate::error::quoted(list)),
                ));
            }
        }
    }
    Ok(())
}

/// linux.personality and linux.memoryPolicy (personality(2), set_mempolicy(2)).
fn check_personality_and_memory_policy(l: &oci_spec::runtime::Linux) -> Result<(), ConfigError> {
    use oci_spec::runtime::{MemoryPolicyFlagType as F, MemoryPolicyModeType as M};
    if let Some(p) = l.personality()
        && p.flags().as_ref().is_some_and(|f| !f.is_empty())
    {
        return Err(err(
            "linux.personality.flags",
            "the runtime spec defines no flag (only the domain, LINUX or LINUX32)",
        ));
    }
    if let Some(m) = l.memory_policy() {
        let f = "linux.memoryPolicy";
        let nodes = m
            .nodes()
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(list) = nodes
            && !is_list(list)
        {
            return Err(err(
                format!("{f}.nodes"),
                format!(
                    "invalid memory policy nodes {}: not a node list like 0-3,5",
                    crate::error::quoted(list)
                ),
            ));
        }
        // What set_mempolicy(2) would refuse with EINVAL, refused before any process
        // exists; the reason keeps the kernel's words, which runc reports (after the fact).
        let einval = |field: &str, why: &str| {
            err(
                format!("{f}.{field}"),
                format!("{why} (set_mempolicy: invalid argument)"),
            )
        };
        match (m.mode(), nodes) {
            (M::MpolDefault | M::MpolLocal, Some(_)) => {
                return Err(einval(
                    "nodes",
                    "must be empty for MPOL_DEFAULT and MPOL_LOCAL",
                ));
            }
            (
                M::MpolBind | M::MpolInterleave | M::MpolPreferredMany | M::MpolWeightedInterleave,
                None,
            ) => {
                return Err(einval("nodes", "this mode needs nodes"));
            }
            _ => {}
        }
        let flags = m.flags().as_deref().unwrap_or_default();
        if flags.contains(&F::MpolFStaticNodes) && flags.contains(&F::MpolFRelativeNodes) {
            return Err(einval(
                "flags",
                "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
            ));
        }
        if !flags.is_empty() && matches!(m.mode(), M::MpolDefault | M::MpolLocal) {
            return Err(einval("flags", "MPOL_DEFAULT and MPOL_LOCAL take no flags"));
        }
    }
    Ok(())
}

/// The kernel's list format for CPUs and memory nodes ("0-3,5,7-8"), as its ranges; None
/// if it is not one, or names a number above 65535 (no CPU or node set is that large).
fn list_ranges(s: &str) -> Option<Vec<(u32, u32)>> {
    const MAX: u32 = 65535;
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.split(',')
        .map(|part| {
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
                None => {
                    let n = part.trim().parse::<u32>().ok()?;
                    (n, n)
                }
            };
            (lo <= hi && hi <= MAX).then_some((lo, hi))
        })
        .collect()
}

/// Whether `s` is a CPU or memory node list (see list_ranges).
pub fn is_list(s: &str) -> bool {
    list_ranges(s).is_some()
}

/// A CPU or memory node list (see list_ranges), expanded.
pub fn parse_list(s: &str) -> Option<Vec<u32>> {
    Some(
        list_ranges(s)?
            .into_iter()
            .flat_map(|(lo, hi)| lo..=hi)
            .collect(),
    )
}

/// runc's rule for linux.resources, which the engines rely on: a limit of 0 means "not
/// set" (Docker sends `cpu.shares: 0` for every container started without --cpu-shares,
/// and containerd's `update` sends whole documents with zeros for what it leaves alone).
/// Taken literally, a memory limit of 0 would kill the container at once and a CPU share
/// of 0 is out of range. Only fields for which 0 is no meaningful limit are cleared:
/// swappiness 0 and a hugepage limit of 0 stay what they say.
pub fn unset_zero_limits(r: &mut LinuxResources) {
    fn clear<T: PartialEq + Default>(v: Option<T>) -> Option<T> {
        v.filter(|x| *x != T::default())
    }
    if let Some(mut m) = *r.memory() {
        m.set_limit(clear(m.limit()));
        m.set_reservation(clear(m.reservation()));
        m.set_swap(clear(m.swap()));
        m.set_kernel(clear(m.kernel()));
        m.set_kernel_tcp(clear(m.kernel_tcp()));
        r.set_memory(Some(m));
    }
    if let Some(mut c) = r.cpu().clone() {
        c.set_shares(clear(c.shares()));
        c.set_quota(clear(c.quota()));
        c.set_period(clear(c.period()));
        c.set_realtime_runtime(clear(c.realtime_runtime()));
        c.set_realtime_period(clear(c.realtime_period()));
        r.set_cpu(Some(c));
    }
    if r.pids().is_some_and(|p| p.limit() == 0) {
        r.set_pids(None);
    }
    if let Some(mut b) = r.block_io().clone() {
        b.set_weight(clear(b.weight()));
        b.set_leaf_weight(clear(b.leaf_weight()));
        r.set_block_io(Some(b));
    }
    if let Some(mut n) = r.network().clone() {
        n.set_class_id(clear(n.class_id()));
        r.set_network(Some(n));
    }
}

/// The largest JSON document rt reads from its caller (config.json, `exec --process`,
/// `update --resources`): real ones are kilobytes. A 100 MB config cost rt 514 MB of
/// memory before; a document this big is a mistake or an attack, refused up front.
/// (Nesting is bounded by serde_json's own limit of 128 levels.)
pub const JSON_LIMIT: u64 = 16 << 20;

/// Reads a JSON document of at most JSON_LIMIT bytes; `what` names it in errors.
pub fn read_json_text(reader: impl std::io::Read, what: &str) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    let mut text = Vec::new();
    reader
        .take(JSON_LIMIT + 1)
        .read_to_end(&mut text)
        .map_err(|e| err(what, crate::error::io_text(&e)))?;
    if text.len() as u64 > JSON_LIMIT {
        return Err(err(
            what,
            format!("larger than {} MiB; refusing to read it", JSON_LIMIT >> 20),
        ));
    }
    Ok(text)
}

pub fn load(bundle: &Path) -> Result<Bundle, ConfigError> {
    let dir =
        std::path::absolute(bundle).map_err(|e| err("--bundle", crate::error::io_text(&e)))?;
    let config = dir.join("config.json");
    let file =
        fs::File::open(&config).map_err(|e| err(config.display(), crate::error::io_text(&e)))?;
    let text = read_json_text(file, &config.display().to_string())?;
    let mut spec = parse(&text)?;
    if let Some(r) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.resources_mut().as_mut())
    {
        unset_zero_limits(r);
    }
    validate(&spec)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| err("root", "must be set"))?;
    // The bundle is trusted: a root.path that is a symlink is followed here, once, so
    // that everything later works on the real directory.
    let rootfs = match fs::canonicalize(dir.join(root.path())) {
        Ok(p) => p,
        Err(e) => {
            return Err(err(
                "root.path",
                format!(
                    "{}: {}",
                    dir.join(root.path()).display(),
                    crate::error::io_text(&e)
                ),
            ));
        }
    };
    if !rootfs.is_dir() {
        return Err(err(
            "root.path",
            format!("{}: not a directory", rootfs.display()),
        ));
    }
    check_namespace_paths(&spec)?;
    if let Some(p) = spec.process_mut() {
        drop_ungrantable_caps(p);
        warn_unraisable_ambient(p);
    }
    Ok(Bundle { dir, rootfs, spec })
}

/// The caps crate's name for an OCI capability (oci-spec displays it without CAP_).
pub fn caps_name(c: &Capability) -> String {
    format!("CAP_{c}")
}

/// Capabilities rt cannot grant because it does not hold them itself (not in its own
/// bounding set, as when its caller runs with a reduced set) are left out with a warning:
/// the runtime spec says a runtime SHOULD NOT fail for them, and capset(2) would.
pub fn drop_ungrantable_caps(p: &mut Process) {
    let Some(mut c) = p.capabilities().clone() else {
        return;
    };
    // Each capability the config names is looked up once (a config names about 14;
    // reading the whole bounding set asks the kernel about all 41).
    let mut held = std::collections::HashMap::new();
    let mut dropped = std::collections::BTreeSet::new();
    let mut keep = |set: &Option<Capabilities>| -> Option<Capabilities> {
        set.as_ref().map(|s| {
            s.iter()
                .filter(|cap| {
                    let granted = caps_name(cap)
                        .parse::<caps::Capability>()
                        .map_or(true, |k| {
                            *held.entry(k).or_insert_with(|| {
                                caps::has_cap(None, caps::CapSet::Bounding, k).unwrap_or(false)
                            })
                        });
                    if !granted {
                        dropped.insert(caps_name(cap));
                    }
                    granted
                })
                .copied()
                .collect()
        })
    };
    let sets = [
        keep(c.bounding()),
        keep(c.effective()),
        keep(c.permitted()),
        keep(c.inheritable()),
        keep(c.ambient()),
    ];
    if dropped.is_empty() {
        return;
    }
    // One only in the bounding set changes nothing the process could have had (rt's own
    // bounding set lacks it already): runc is silent there, and so is rt; one the
    // process was to hold is worth a line.
    let held_by_process: std::collections::BTreeSet<String> =
        [c.effective(), c.permitted(), c.inheritable(), c.ambient()]
            .into_iter()
            .flatten()
            .flatten()
            .map(caps_name)
            .collect();
    dropped.retain(|name| held_by_process.contains(name));
    let [bounding, effective, permitted, inheritable, ambient] = sets;
    c.set_bounding(bounding)
        .set_effective(effective)
        .set_permitted(permitted)
        .set_inheritable(inheritable)
        .set_ambient(ambient);
    p.set_capabilities(Some(c));
    if dropped.is_empty() {
        return;
    }
    crate::log::warn(&format_args!(
        "process.capabilities: {} not granted: rt itself does not hold them (not in its bounding set)",
        dropped.into_iter().collect::<Vec<_>>().join(", ")
    ));
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
/// granted; `runc spec` itself writes ambient capabilities without inheritable ones, so
/// refusing them would refuse runc's own default bundle. One line per capability in
/// runc's words (its capabilities.bats looks for them), with the field and the reason,
/// where the config lists inheritable capabilities and so means to raise ambient ones.
/// Without any (runc 1.1's default bundle, which every caller of `runc spec` runs), only
/// under --debug: runc 1.1 is silent there, and callers compare rt's output to exact
/// text (three warnings on every run, create and exec broke runc's tty, mask and
/// propagation tests).
pub fn warn_unraisable_ambient(p: &Process) {
    let meant = p
        .capabilities()
        .as_ref()
        .and_then(|c| c.inheritable().as_ref())
        .is_some_and(|s| !s.is_empty());
    for cap in unraisable_ambient(p) {
        // oci-spec displays capabilities without the CAP_ prefix the config uses.
        let n = cap.to_string();
        let name = if n.starts_with("CAP_") {
            n
        } else {
            format!("CAP_{n}")
        };
        let line = format_args!(
            "process.capabilities.ambient: can't raise ambient capability {name}: operation not permitted (it must also be permitted and inheritable)"
        );
        if meant {
            crate::log::warn(&line);
        } else {
            crate::debug!("{line}");
        }
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
    } else if name.starts_with("user.") {
        // The ucount limits (user.max_user_namespaces, ...) are per user namespace; root
        // of a user namespace sets its own (runc allows them since 1.4).
        Some(LinuxNamespaceType::User)
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

/// Every kind of hook rt runs, by its config name (`rt features` lists these).
pub fn hook_lists(h: &Hooks) -> [(&'static str, &Option<Vec<Hook>>); 6] {
    #[allow(deprecated)]
    [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ]
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

/// Every string of the config that reaches the kernel (or execve) as a C string: a NUL byte
/// inside one would silently cut it short there (`"ab\0cd"` as hostname gives "ab").
fn c_strings(spec: &Spec) -> Vec<(String, &[u8])> {
    fn path(p: &Path) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes()
    }
    fn list<'a>(v: &mut Vec<(String, &'a [u8])>, field: &str, items: &'a Option<Vec<String>>) {
        for (i, s) in items.iter().flatten().enumerate() {
            v.push((format!("{field}[{i}]"), s.as_bytes()));
        }
    }
    let mut v: Vec<(String, &[u8])> = Vec::new();
    if let Some(r) = spec.root() {
        v.push(("root.path".into(), path(r.path())));
    }
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if let Some(h) = value {
            v.push((field.into(), h.as_bytes()));
        }
    }
    if let Some(p) = spec.process() {
        list(&mut v, "process.args", p.args());
        list(&mut v, "process.env", p.env());
        v.push(("process.cwd".into(), path(p.cwd())));
        for (field, value) in [
            ("process.apparmorProfile", p.apparmor_profile()),
            ("process.selinuxLabel", p.selinux_label()),
        ] {
            if let Some(s) = value {
                v.push((field.into(), s.as_bytes()));
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        v.push((format!("mounts[{i}].destination"), path(m.destination())));
        if let Some(s) = m.source() {
            v.push((format!("mounts[{i}].source"), path(s)));
        }
        if let Some(t) = m.typ() {
            v.push((format!("mounts[{i}].type"), t.as_bytes()));
        }
        list(&mut v, &format!("mounts[{i}].options"), m.options());
    }
    if let Some(l) = spec.linux() {
        let mut sysctls: Vec<_> = l.sysctl().iter().flatten().collect();
        sysctls.sort();
        for (k, val) in sysctls {
            v.push((
                format!("linux.sysctl key {}", crate::error::quoted(k)),
                k.as_bytes(),
            ));
            v.push((format!("linux.sysctl.{k}"), val.as_bytes()));
        }
        list(&mut v, "linux.maskedPaths", l.masked_paths());
        list(&mut v, "linux.readonlyPaths", l.readonly_paths());
        if let Some(s) = l.mount_label() {
            v.push(("linux.mountLabel".into(), s.as_bytes()));
        }
        if let Some(s) = l.cgroups_path() {
            v.push(("linux.cgroupsPath".into(), path(s)));
        }
        for (i, ns) in l.namespaces().iter().flatten().enumerate() {
            if let Some(p) = ns.path() {
                v.push((format!("linux.namespaces[{i}].path"), path(p)));
            }
        }
        for (i, d) in l.devices().iter().flatten().enumerate() {
            v.push((format!("linux.devices[{i}].path"), path(d.path())));
        }
    }
    if let Some(h) = spec.hooks() {
        for (kind, hooks) in hook_lists(h) {
            for (i, hook) in hooks.iter().flatten().enumerate() {
                v.push((format!("hooks.{kind}[{i}].path"), path(hook.path())));
                list(&mut v, &format!("hooks.{kind}[{i}].args"), hook.args());
                list(&mut v, &format!("hooks.{kind}[{i}].env"), hook.env());
            }
        }
    }
    v
}

/// linux.maskedPaths and linux.readonlyPaths: the spec says they MUST be absolute.
fn check_protected_paths(spec: &Spec) -> Result<(), ConfigError> {
    let Some(l) = spec.linux() else { return Ok(()) };
    for (field, paths) in [
        ("linux.maskedPaths", l.masked_paths()),
        ("linux.readonlyPaths", l.readonly_paths()),
    ] {
        for (i, p) in paths.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(err(
                    format!("{field}[{i}]"),
                    format!("{}: must be an absolute path", crate::error::quoted(p)),
                ));
            }
        }
    }
    Ok(())
}

/// SemVer 2.0.0 (semver.org): MAJOR.MINOR.PATCH, numbers without leading zeros, then an
/// optional -pre.release and +build, each dot-separated [0-9A-Za-z-] identifiers. Returns
/// the major version.
fn semver_major(v: &str) -> Option<u64> {
    let ident_ok =
        |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let number = |n: &str| {
        (!n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n == "0" || !n.starts_with('0')))
        .then(|| n.parse::<u64>().ok())
        .flatten()
    };
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    if build.is_some_and(|b| !b.split('.').all(ident_ok)) {
        return None;
    }
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    if let Some(pre) = pre {
        let numeric_ok = |id: &str| !id.bytes().all(|b| b.is_ascii_digit()) || number(id).is_some();
        if !pre.split('.').all(|id| ident_ok(id) && numeric_ok(id)) {
            return None;
        }
    }
    let parts: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = parts[..] else {
        return None;
    };
    number(minor)?;
    number(patch)?;
    number(major)
}

/// Checks that need no file system: the parts of the spec rt would otherwise trip over
/// halfway through create. One check per section of the spec, in this order; each is
/// pure and its own unit tests drive it.
pub fn validate(spec: &Spec) -> Result<(), ConfigError> {
    check_version(spec.version())?;
    for (field, bytes) in c_strings(spec) {
        if bytes.contains(&0) {
            return Err(err(field, "contains a NUL byte"));
        }
    }
    check_protected_paths(spec)?;
    check_root(spec)?;
    check_process(spec)?;
    if let Some(l) = spec.linux() {
        check_personality_and_memory_policy(l)?;
        if let Some(r) = l.intel_rdt() {
            crate::rdt::validate(r)
                .map_err(|e| err(format!("linux.intelRdt{}", e.field), e.reason))?;
        }
        crate::netdev::plan(spec)
            .map_err(|e| err(format!("linux.netDevices{}", e.field), e.reason))?;
    }
    let (types, new_user) = check_namespaces(spec)?;
    check_id_mappings(spec, new_user)?;
    let private = |t: LinuxNamespaceType| types.contains(&t);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !private(LinuxNamespaceType::Uts)
    {
        return Err(err("hostname", "needs a private uts namespace"));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !private(LinuxNamespaceType::Uts)
    {
        return Err(err("domainname", "needs a private uts namespace"));
    }
    if let Some(linux) = spec.linux() {
        check_linux(linux, &private)?;
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(err(format!("mounts[{i}].destination"), "must not be empty"));
        }
    }
    if let Some(hooks) = spec.hooks() {
        for (kind, list) in hook_lists(hooks) {
            check_hooks(kind, list)?;
        }
    }
    Ok(())
}

/// ociVersion: any 1.x.
fn check_version(version: &str) -> Result<(), ConfigError> {
    match semver_major(version) {
        Some(1) => Ok(()),
        Some(_) => Err(err(
            "ociVersion",
            format!(
                "{}: rt implements runtime-spec 1.x",
                crate::error::quoted(version)
            ),
        )),
        None => Err(err(
            "ociVersion",
            format!(
                "{}: must be a SemVer 2.0.0 version",
                crate::error::quoted(version)
            ),
        )),
    }
}

fn check_root(spec: &Spec) -> Result<(), ConfigError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| err("root", "must be set"))?;
    if root.path().as_os_str().is_empty() {
        return Err(err("root.path", "must not be empty"));
    }
    Ok(())
}

/// process: args, cwd, oomScoreAdj, rlimits, scheduling.
fn check_process(spec: &Spec) -> Result<(), ConfigError> {
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
            format!(
                "{}: must be an absolute path",
                crate::error::quoted(&process.cwd().to_string_lossy())
            ),
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
    check_scheduling(process)
}

/// linux.namespaces: each type once, paths absolute. Returns the namespace types the
/// container gets (created or joined), and whether it creates a user namespace.
fn check_namespaces(spec: &Spec) -> Result<(HashSet<LinuxNamespaceType>, bool), ConfigError> {
    let namespaces = spec
        .linux()
        .as_ref()
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
    let new_user = namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    Ok((types, new_user))
}

/// linux.uidMappings and gidMappings: present exactly when a user namespace is created,
/// every range non-empty.
fn check_id_mappings(spec: &Spec, new_user: bool) -> Result<(), ConfigError> {
    let linux = spec.linux().as_ref();
    let uid_maps = linux.and_then(|l| l.uid_mappings().as_ref());
    let gid_maps = linux.and_then(|l| l.gid_mappings().as_ref());
    for (field, what, maps) in [
        ("linux.uidMappings", "uid", uid_maps),
        ("linux.gidMappings", "gid", gid_maps),
    ] {
        let given = maps.is_some_and(|m| !m.is_empty());
        if new_user && !given {
            return Err(err(
                field,
                format!("a new user namespace needs {what} mappings"),
            ));
        }
        if !new_user && given {
            return Err(err(field, "only valid with a new user namespace"));
        }
        for (i, m) in maps.into_iter().flatten().enumerate() {
            if m.size() == 0 {
                return Err(err(format!("{field}[{i}].size"), "must be positive"));
            }
        }
    }
    Ok(())
}

/// The rest of linux: sysctls only where a namespace of the container's isolates them,
/// rootfsPropagation, device paths below /dev, timeOffsets with a time namespace.
fn check_linux(
    linux: &oci_spec::runtime::Linux,
    private: &dyn Fn(LinuxNamespaceType) -> bool,
) -> Result<(), ConfigError> {
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
        && !p.is_empty()
        && root_propagation(Some(p)).is_none()
    {
        return Err(err(
            "linux.rootfsPropagation",
            format!(
                "{}: must be (r)shared, (r)slave, (r)private or (r)unbindable",
                crate::error::quoted(p)
            ),
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
    Ok(())
}

/// rootfsPropagation → the flag applied (recursively: the whole tree under the new `/`
/// is the container's) to the container's root mount. The r- spellings are what the
/// engines write: Docker "rslave" for a volume with slave propagation, containerd's CRI
/// "rslave" or "rshared" for a pod volume with HostToContainer or Bidirectional
/// propagation; runc and runtime-tools' generator take them.
pub fn root_propagation(value: Option<&str>) -> Option<nix::mount::MsFlags> {
    match value.unwrap_or("") {
        "shared" | "rshared" => Some(nix::mount::MsFlags::MS_SHARED),
        "slave" | "rslave" => Some(nix::mount::MsFlags::MS_SLAVE),
        "private" | "rprivate" => Some(nix::mount::MsFlags::MS_PRIVATE),
        "unbindable" | "runbindable" => Some(nix::mount::MsFlags::MS_UNBINDABLE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_propagation_values() {
        use nix::mount::MsFlags;
        for (name, flag) in [
            ("shared", MsFlags::MS_SHARED),
            ("rshared", MsFlags::MS_SHARED),
            ("slave", MsFlags::MS_SLAVE),
            ("rslave", MsFlags::MS_SLAVE),
            ("private", MsFlags::MS_PRIVATE),
            ("rprivate", MsFlags::MS_PRIVATE),
            ("unbindable", MsFlags::MS_UNBINDABLE),
            ("runbindable", MsFlags::MS_UNBINDABLE),
        ] {
            assert_eq!(root_propagation(Some(name)), Some(flag), "{name}");
        }
        assert_eq!(root_propagation(Some("")), None);
        assert_eq!(root_propagation(Some("sideways")), None);
        assert_eq!(root_propagation(None), None);
    }

    use serde_json::json;

    #[test]
    fn zero_limits_are_unset_and_other_zeros_kept() {
        let mut r: LinuxResources = serde_json::from_value(json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "swappiness": 0},
            "cpu": {"shares": 0, "quota": 50000, "period": 0, "cpus": "0"},
            "pids": {"limit": 0},
            "blockIO": {"weight": 0},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
        }))
        .unwrap();
        unset_zero_limits(&mut r);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["memory"], json!({"swappiness": 0}));
        assert_eq!(v["cpu"], json!({"quota": 50000, "cpus": "0"}));
        assert!(v.get("pids").is_none());
        assert_eq!(v["blockIO"], json!({}));
        assert_eq!(v["hugepageLimits"][0]["limit"], 0);
    }

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

    fn spec(v: serde_json::Value) -> Spec {
        parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn version_section() {
        assert!(check_version("1.0.0").is_ok());
        assert!(check_version("1.2.1-rc.1+build").is_ok());
        let e = check_version("2.0.0").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("ociVersion", "\"2.0.0\": rt implements runtime-spec 1.x")
        );
        assert!(check_version("1.0").unwrap_err().reason.contains("SemVer"));
    }

    #[test]
    fn process_section() {
        assert!(check_process(&spec(base())).is_ok());
        let cases = [
            (json!({"args": [""], "cwd": "/"}), "process.args"),
            (json!({"args": ["sh"], "cwd": "rel"}), "process.cwd"),
            (
                json!({"args": ["sh"], "cwd": "/", "oomScoreAdj": 1001}),
                "process.oomScoreAdj",
            ),
            (
                json!({"args": ["sh"], "cwd": "/", "rlimits": [
                    {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
                    {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}]}),
                "process.rlimits[1].type",
            ),
            (
                json!({"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_CORE", "soft": 3, "hard": 2}]}),
                "process.rlimits[0]",
            ),
        ];
        for (process, field) in cases {
            let mut v = base();
            v["process"] = process;
            v["process"]["user"] = json!({"uid": 0, "gid": 0});
            assert_eq!(check_process(&spec(v)).unwrap_err().field, field);
        }
    }

    #[test]
    fn namespace_and_id_mapping_sections() {
        let mut v = base();
        v["linux"]["namespaces"] =
            json!([{"type": "user"}, {"type": "network", "path": "/proc/1/ns/net"}]);
        let (types, new_user) = check_namespaces(&spec(v.clone())).unwrap();
        assert!(new_user);
        assert!(types.contains(&LinuxNamespaceType::Network));
        assert!(!types.contains(&LinuxNamespaceType::Uts));
        // A new user namespace needs both maps; maps without one are refused.
        assert_eq!(
            check_id_mappings(&spec(v.clone()), true).unwrap_err().field,
            "linux.uidMappings"
        );
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        assert_eq!(
            check_id_mappings(&spec(v.clone()), true).unwrap_err().field,
            "linux.gidMappings"
        );
        v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        assert_eq!(
            check_id_mappings(&spec(v.clone()), true).unwrap_err().field,
            "linux.gidMappings[0].size"
        );
        assert_eq!(
            check_id_mappings(&spec(v.clone()), false)
                .unwrap_err()
                .field,
            "linux.uidMappings"
        );
        // A joined user namespace is no new one.
        v["linux"]["namespaces"] = json!([{"type": "user", "path": "/proc/1/ns/user"}]);
        assert!(!check_namespaces(&spec(v.clone())).unwrap().1);
        // An empty path is a new namespace (runc's reading); a relative one is refused.
        v["linux"]["namespaces"] = json!([{"type": "user", "path": ""}]);
        let parsed = parse(v.to_string().as_bytes()).unwrap();
        assert!(check_namespaces(&parsed).unwrap().1);
        v["linux"]["namespaces"] = json!([{"type": "mount", "path": "ns/mnt"}]);
        assert_eq!(field_of(v.clone()), "linux.namespaces[0].path");
        v["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "pid"}]);
        assert_eq!(
            check_namespaces(&spec(v.clone())).unwrap_err().field,
            "linux.namespaces[1].type"
        );
        v["linux"]["namespaces"] = json!([{"type": "pid", "path": "rel"}]);
        assert_eq!(
            check_namespaces(&spec(v)).unwrap_err().field,
            "linux.namespaces[0].path"
        );
    }

    #[test]
    fn linux_section() {
        let linux = |l: serde_json::Value| -> oci_spec::runtime::Linux {
            serde_json::from_value(l).unwrap()
        };
        let net_only = |t: LinuxNamespaceType| t == LinuxNamespaceType::Network;
        let ok = linux(
            json!({"sysctl": {"net.ipv4.ip_forward": "1"}, "rootfsPropagation": "slave",
            "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]}),
        );
        assert!(check_linux(&ok, &net_only).is_ok());
        let cases = [
            (
                json!({"sysctl": {"kernel.shmmax": "1"}}),
                "linux.sysctl.kernel.shmmax",
            ),
            (
                json!({"sysctl": {"vm.swappiness": "1"}}),
                "linux.sysctl.vm.swappiness",
            ),
            (
                json!({"rootfsPropagation": "sideways"}),
                "linux.rootfsPropagation",
            ),
            (
                json!({"devices": [{"path": "/dev/../etc/x", "type": "c", "major": 1, "minor": 3}]}),
                "linux.devices[0].path",
            ),
            (
                json!({"timeOffsets": {"monotonic": {"secs": 1}}}),
                "linux.timeOffsets",
            ),
        ];
        for (l, field) in cases {
            assert_eq!(check_linux(&linux(l), &net_only).unwrap_err().field, field);
        }
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
    fn nul_bytes_in_c_strings_are_refused_naming_the_field() {
        let cases = [
            (json!({"hostname": "ab\0cd"}), "hostname"),
            (json!({"domainname": "x\0"}), "domainname"),
            (
                json!({"process": {"args": ["sh", "a\0b"]}}),
                "process.args[1]",
            ),
            (json!({"process": {"env": ["A=1\0B=2"]}}), "process.env[0]"),
            (json!({"process": {"cwd": "/a\0b"}}), "process.cwd"),
            (json!({"root": {"path": "root\0fs"}}), "root.path"),
            (
                json!({"linux": {"sysctl": {"net.ipv4.ip_forward": "1\x000"}}}),
                "linux.sysctl.net.ipv4.ip_forward",
            ),
            (
                json!({"linux": {"sysctl": {"net.ipv4\0.x": "1"}}}),
                "linux.sysctl key \"net.ipv4\\0.x\"",
            ),
            (
                json!({"mounts": [{"destination": "/a\0", "type": "tmpfs", "source": "tmpfs"}]}),
                "mounts[0].destination",
            ),
            (
                json!({"mounts": [{"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755\0,suid"]}]}),
                "mounts[0].options[0]",
            ),
            (
                json!({"mounts": [{"destination": "/a", "type": "bind", "source": "/x\0y"}]}),
                "mounts[0].source",
            ),
            (
                json!({"linux": {"maskedPaths": ["/proc/kcore\0x"]}}),
                "linux.maskedPaths[0]",
            ),
            (
                json!({"hooks": {"poststop": [{"path": "/bin/true", "args": ["t", "\0"]}]}}),
                "hooks.poststop[0].args[1]",
            ),
        ];
        for (patch, field) in cases {
            let mut v = base();
            json_patch(&mut v, &patch);
            let e = check(v).expect_err(field);
            assert_eq!(
                (e.field.as_str(), e.reason.as_str()),
                (field, "contains a NUL byte")
            );
        }
    }

    #[test]
    fn cpu_and_node_lists() {
        assert_eq!(parse_list("0-2,5, 7"), Some(vec![0, 1, 2, 5, 7]));
        assert_eq!(parse_list(" 3 "), Some(vec![3]));
        for bad in [
            "",
            "1-0",
            "a",
            "1,",
            "1,,2",
            "1-",
            "-1",
            "0-65536",
            "0-4294967295",
        ] {
            assert_eq!(parse_list(bad), None, "{bad:?}");
            assert!(!is_list(bad), "{bad:?}");
        }
        for ok in ["0", "0-3", "0,2,4-7", " 1 ", "0-65535"] {
            assert!(is_list(ok), "{ok:?}");
        }
    }

    #[test]
    fn unknown_names_give_one_short_line() {
        let mut v = base();
        v["process"]["rlimits"] = json!([{"type": "RLIMIT_TEST", "soft": 1, "hard": 1}]);
        let e = check(v).unwrap_err();
        assert_eq!(e.field, "process.rlimits[0].type");
        assert_eq!(
            e.reason,
            "unknown value \"RLIMIT_TEST\" (not one of the 16 the runtime spec allows)"
        );
        let mut v = base();
        v["linux"]["seccomp"] =
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_FOO"]});
        let e = check(v).unwrap_err();
        assert_eq!(e.field, "linux.seccomp.architectures[0]");
        assert!(
            e.reason
                .starts_with("unknown value \"SCMP_ARCH_FOO\" (not one of the "),
            "{e}"
        );
        assert!(e.to_string().len() < 120, "{e}");
        let mut v = base();
        v["process"]["capabilities"] = json!({"bounding": ["CAP_KILL", "CAP_TEST"]});
        let e = check(v).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            (
                "process.capabilities.bounding[1]",
                "unknown capability CAP_TEST"
            )
        );
    }

    #[test]
    fn oci_version_must_be_semver_1x() {
        for ok in [
            "1.0.0",
            "1.2.1",
            "1.0.2-dev",
            "1.1.0-rc.1",
            "1.0.0+build.5",
            "1.3.0-rc.1+x",
        ] {
            assert_eq!(semver_major(ok), Some(1), "{ok}");
        }
        for bad in [
            "invalid", "1.0", "1.0.0.0", "01.0.0", "1.02.0", "1.0.0-", "1.0.0-01", "1.0.0+",
            "v1.0.0", "",
        ] {
            assert_eq!(semver_major(bad), None, "{bad}");
        }
        let mut v = base();
        v["ociVersion"] = json!("invalid");
        assert_eq!(field_of(v), "ociVersion");
        let mut v = base();
        v["ociVersion"] = json!("2.0.0");
        let e = check(v).unwrap_err();
        assert_eq!(e.field, "ociVersion");
        assert!(e.reason.contains("1.x"), "{e}");
    }

    #[test]
    fn masked_and_readonly_paths_must_be_absolute() {
        for (key, field) in [
            ("maskedPaths", "linux.maskedPaths[1]"),
            ("readonlyPaths", "linux.readonlyPaths[1]"),
        ] {
            let mut v = base();
            v["linux"][key] = json!(["/proc/kcore", "proc/keys"]);
            let e = check(v).unwrap_err();
            assert_eq!(e.field, field);
            assert!(e.reason.contains("must be an absolute path"), "{e}");
        }
    }

    /// Merges `patch` into `v` (objects key by key, anything else replaced).
    fn json_patch(v: &mut serde_json::Value, patch: &serde_json::Value) {
        match (v, patch) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, pv) in b {
                    json_patch(a.entry(k.clone()).or_insert(serde_json::Value::Null), pv);
                }
            }
            (v, p) => *v = p.clone(),
        }
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
        assert_eq!(check(v.clone()), Ok(()));
        v["linux"]["sysctl"] = json!({"user.max_user_namespaces": "10"});
        assert_eq!(
            check(v.clone()).unwrap_err().reason,
            "needs a private user namespace"
        );
        v["linux"]["namespaces"] = json!([{"type": "user"}]);
        let map = json!([{"containerID": 0, "hostID": 100000, "size": 1}]);
        v["linux"]["uidMappings"] = map.clone();
        v["linux"]["gidMappings"] = map;
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
    fn net_devices_are_checked_with_the_config() {
        let mut v = base();
        v["linux"]["netDevices"] = json!({"eth1": {"name": "eth9"}});
        v["linux"]["namespaces"] = json!([{"type": "mount"}]);
        assert_eq!(field_of(v.clone()), "linux.netDevices");
        v["linux"]["namespaces"] = json!([{"type": "network"}]);
        v["linux"]["netDevices"] = json!({"eth1": {"name": "eth 9"}});
        assert_eq!(field_of(v), "linux.netDevices.eth1.name");
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
