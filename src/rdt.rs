//! linux.intelRdt: the container's processes in a resctrl group (Intel RDT, AMD PQoS),
//! whose schemata limit their L3 cache ways and memory bandwidth; with enableMonitoring
//! also in a monitoring group of the container's own, which counts their use. resctrl is
//! a file system (/sys/fs/resctrl): a group is a directory, its `schemata` file takes one
//! line per resource, its `tasks` file takes pids. Everything here takes the mount point
//! as a parameter, so the unit tests run it on a fake tree; this build host has no
//! resctrl, and a config asking for RDT is refused here with that reason.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

pub const ROOT: &str = "/sys/fs/resctrl";

/// The group a container's processes go to, as recorded in its state (before it is
/// made, so that `delete` after a crash removes it).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RdtRecord {
    pub group: PathBuf,
    /// Whether rt made the group: then `delete` removes it. A closID group that existed
    /// before is shared with whoever made it, and stays.
    pub created: bool,
    /// The container's monitoring group (always rt's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("linux.intelRdt{field}: {reason}")]
pub struct RdtError {
    /// After "linux.intelRdt": "" or ".closID" and so on.
    pub field: String,
    pub reason: String,
}

fn err(field: &str, reason: impl Into<String>) -> RdtError {
    RdtError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn io_err<'a>(field: &'a str, what: &'a Path) -> impl FnOnce(io::Error) -> RdtError + 'a {
    move |e| {
        err(
            field,
            format!("{}: {}", what.display(), crate::error::io_text(&e)),
        )
    }
}

/// The config on its own: a closID names one group directly below the root, and the
/// schemata come either whole or as l3CacheSchema/memBwSchema, each of its resource.
pub fn validate(rdt: &LinuxIntelRdt) -> Result<(), RdtError> {
    if let Some(id) = rdt.clos_id()
        && (id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\n'))
    {
        return Err(err(
            ".closID",
            format!("{}: must name a group (no /)", crate::error::quoted(id)),
        ));
    }
    let whole = rdt.schemata().as_ref().is_some_and(|s| !s.is_empty());
    if whole && (rdt.l3_cache_schema().is_some() || rdt.mem_bw_schema().is_some()) {
        return Err(err(
            ".schemata",
            "replaces l3CacheSchema and memBwSchema: give one or the others",
        ));
    }
    for (field, value, prefix) in [
        (".l3CacheSchema", rdt.l3_cache_schema(), "L3"),
        (".memBwSchema", rdt.mem_bw_schema(), "MB:"),
    ] {
        if let Some(v) = value
            && !v.lines().all(|l| l.trim_start().starts_with(prefix))
        {
            return Err(err(
                field,
                format!(
                    "{}: every line must start with {prefix}",
                    crate::error::quoted(v)
                ),
            ));
        }
    }
    Ok(())
}

/// The schemata lines the config asks for.
pub fn lines(rdt: &LinuxIntelRdt) -> Vec<String> {
    match rdt.schemata().as_ref().filter(|s| !s.is_empty()) {
        Some(all) => all.clone(),
        None => [rdt.l3_cache_schema(), rdt.mem_bw_schema()]
            .into_iter()
            .flatten()
            .flat_map(|s| s.lines().map(|l| l.trim().to_owned()))
            .filter(|l| !l.is_empty())
            .collect(),
    }
}

/// Whether the host can do it at all: resctrl mounted at `root`.
pub fn check_host(root: &Path) -> Result<(), RdtError> {
    if root.join("info").is_dir() {
        return Ok(());
    }
    Err(err(
        "",
        format!(
            "this host has no resctrl file system (nothing mounted at {}; RDT needs a CPU \
             with RDT or PQoS and a kernel with resctrl)",
            root.display()
        ),
    ))
}

/// What `make` will make, to be recorded first.
pub fn plan(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> RdtRecord {
    let group = root.join(rdt.clos_id().as_deref().unwrap_or(id));
    let monitor =
        (*rdt.enable_monitoring() == Some(true)).then(|| group.join("mon_groups").join(id));
    RdtRecord {
        group,
        created: true,
        monitor,
    }
}

/// Makes the planned group (or joins the existing closID group, whose schemata must
/// already be what the config asks: rt does not change a group others use) and the
/// monitoring group. Returns the record as it is (`created` false for an existing group).
pub fn make(root: &Path, rdt: &LinuxIntelRdt, planned: &RdtRecord) -> Result<RdtRecord, RdtError> {
    let mut record = planned.clone();
    let wanted = lines(rdt);
    match fs::create_dir(&record.group) {
        Ok(()) => {
            if !wanted.is_empty()
                && let Err(e) = write_schemata(root, &record.group, &wanted)
            {
                let _ = fs::remove_dir(&record.group);
                return Err(e);
            }
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            record.created = false;
            let have = fs::read_to_string(record.group.join("schemata"))
                .map_err(io_err(".closID", &record.group))?;
            let have: Vec<String> = have.lines().map(normalized).collect();
            if let Some(missing) = wanted.iter().find(|l| !have.contains(&normalized(l))) {
                return Err(err(
                    ".closID",
                    format!(
                        "{} exists with other schemata (no line {}); rt does not change a group others use",
                        record.group.display(),
                        crate::error::quoted(missing)
                    ),
                ));
            }
        }
        Err(e) => return Err(io_err("", &record.group)(e)),
    }
    if let Some(m) = &record.monitor
        && let Err(e) = fs::create_dir_all(m)
    {
        let e = io_err(".enableMonitoring", m)(e);
        let _ = remove(&record);
        return Err(e);
    }
    Ok(record)
}

/// A schemata line as resctrl shows it back: no blanks, lower-case hex.
fn normalized(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// All lines in one write; on a refusal, the kernel's reason from info/last_cmd_status.
fn write_schemata(root: &Path, group: &Path, lines: &[String]) -> Result<(), RdtError> {
    let file = group.join("schemata");
    let mut text = lines.join("\n");
    text.push('\n');
    // create(true): resctrl made the file with the group; the unit tests' fake did not.
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&file)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        let why = fs::read_to_string(root.join("info/last_cmd_status"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| crate::error::io_text(&e));
        return Err(err(".schemata", format!("{}: {why}", file.display())));
    }
    Ok(())
}

/// `rt update --l3-cache-schema/--mem-bw-schema`: new schemata lines (whole lines, as
/// in the config: "L3:0=ff", "MB:0=50") for the container's own group. A closID group
/// that existed before is shared and is not changed, as at create.
pub fn update(record: &RdtRecord, lines: &[String]) -> Result<(), RdtError> {
    if !record.created {
        return Err(err(
            ".closID",
            format!(
                "{} existed before the container; rt does not change a group others use",
                record.group.display()
            ),
        ));
    }
    write_schemata(Path::new(ROOT), &record.group, lines)
}

/// Puts `pid` in the container's group (through its monitoring group, which is a part of
/// it, when there is one).
pub fn add(record: &RdtRecord, pid: i32) -> Result<(), RdtError> {
    let dir = record.monitor.as_ref().unwrap_or(&record.group);
    let tasks = dir.join("tasks");
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tasks)
        .and_then(|mut f| f.write_all(pid.to_string().as_bytes()))
        .map_err(io_err("", &tasks))
}

/// Removes what rt made (a group's processes go back to the default group by itself).
pub fn remove(record: &RdtRecord) -> Result<(), RdtError> {
    let dirs = record
        .monitor
        .iter()
        .chain(record.created.then_some(&record.group));
    for d in dirs {
        match fs::remove_dir(d) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("", d)(e)),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(v: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(v).expect("test config parses")
    }

    /// A resctrl root as the kernel shows it, with one existing group "shared".
    fn fake() -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "rt-resctrl-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("info")).unwrap();
        fs::create_dir_all(root.join("shared")).unwrap();
        fs::write(root.join("shared/schemata"), "L3:0=ff\nMB:0=50\n").unwrap();
        root
    }

    /// resctrl removes a group with its files; a fake directory needs them gone first.
    fn drop_files(dir: &Path) {
        for f in ["schemata", "tasks"] {
            let _ = fs::remove_file(dir.join(f));
        }
    }

    #[test]
    fn update_rewrites_the_containers_own_group_only() {
        let root = fake();
        let r = rdt(serde_json::json!({"l3CacheSchema": "L3:0=f0"}));
        let made = make(&root, &r, &plan(&root, &r, "c2")).unwrap();
        update(&made, &["L3:0=0f".to_owned(), "MB:0=30".to_owned()]).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("c2/schemata")).unwrap(),
            "L3:0=0f\nMB:0=30\n"
        );
        let shared = rdt(serde_json::json!({"closID": "shared", "l3CacheSchema": "L3:0=ff"}));
        let joined = make(&root, &shared, &plan(&root, &shared, "c3")).unwrap();
        let e = update(&joined, &["L3:0=0f".to_owned()]).unwrap_err();
        assert!(
            e.to_string().contains("existed before the container"),
            "{e}"
        );
        assert_eq!(
            fs::read_to_string(root.join("shared/schemata")).unwrap(),
            "L3:0=ff\nMB:0=50\n"
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_new_group_gets_the_schemata_and_the_pid_and_goes_with_delete() {
        let root = fake();
        let r = rdt(
            serde_json::json!({"l3CacheSchema": "L3:0=f0", "memBwSchema": "MB:0=20",
                                       "enableMonitoring": true}),
        );
        validate(&r).unwrap();
        let planned = plan(&root, &r, "c1");
        assert_eq!(planned.group, root.join("c1"));
        assert_eq!(planned.monitor, Some(root.join("c1/mon_groups/c1")));
        let made = make(&root, &r, &planned).unwrap();
        assert_eq!(made, planned);
        assert_eq!(
            fs::read_to_string(root.join("c1/schemata")).unwrap(),
            "L3:0=f0\nMB:0=20\n"
        );
        add(&made, 4242).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("c1/mon_groups/c1/tasks")).unwrap(),
            "4242"
        );
        drop_files(&root.join("c1/mon_groups/c1"));
        drop_files(&root.join("c1"));
        // The kernel's mon_groups directory stays with the group; the fake's goes by hand.
        remove(&RdtRecord {
            created: false,
            ..made.clone()
        })
        .unwrap();
        fs::remove_dir(root.join("c1/mon_groups")).unwrap();
        remove(&made).unwrap();
        assert!(!root.join("c1").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_existing_clos_group_is_joined_only_with_its_schemata_and_kept() {
        let root = fake();
        let same = rdt(serde_json::json!({"closID": "shared", "schemata": ["L3:0=FF", "MB:0=50"]}));
        let made = make(&root, &same, &plan(&root, &same, "c2")).unwrap();
        assert!(!made.created);
        remove(&made).unwrap();
        assert!(
            root.join("shared").is_dir(),
            "someone else's group was removed"
        );
        let other = rdt(serde_json::json!({"closID": "shared", "l3CacheSchema": "L3:0=0f"}));
        let e = make(&root, &other, &plan(&root, &other, "c3")).unwrap_err();
        assert!(e.to_string().starts_with("linux.intelRdt.closID: "), "{e}");
        assert!(e.to_string().contains("\"L3:0=0f\""), "{e}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_configs_and_hosts_without_resctrl_are_refused_naming_why() {
        for (v, field) in [
            (
                serde_json::json!({"closID": "../x"}),
                "linux.intelRdt.closID: ",
            ),
            (
                serde_json::json!({"schemata": ["L3:0=f"], "memBwSchema": "MB:0=1"}),
                "linux.intelRdt.schemata: ",
            ),
            (
                serde_json::json!({"memBwSchema": "L3:0=1"}),
                "linux.intelRdt.memBwSchema: ",
            ),
        ] {
            let e = validate(&rdt(v.clone())).unwrap_err().to_string();
            assert!(e.starts_with(field), "{v}: {e}");
        }
        let none = std::env::temp_dir().join("rt-no-resctrl-here");
        let e = check_host(&none).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.intelRdt: this host has no resctrl"),
            "{e}"
        );
    }
}
