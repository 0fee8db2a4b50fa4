//! What `rt` remembers about a container between commands (state.json), and how the
//! status shown to users is derived from it and from the live process.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};

pub use crate::cgroups::CgroupRecord;
pub use crate::oci_state::{OciState, Status};

/// A member of state.json that only some commands use, kept as its JSON text when the state
/// is read (serde_json checks its syntax and builds nothing) and parsed by the command that
/// needs it. `list` and `state` read every container's state.json, and a seccomp profile
/// (runc's default: 350 syscall names) is most of the file: building it cost each of them
/// about half their time per container. The process (args, env, capabilities: a third of
/// a state without seccomp) is kept the same way for `exec`, its only reader.
#[derive(Debug, Clone)]
pub struct Unparsed<T> {
    json: Box<serde_json::value::RawValue>,
    of: std::marker::PhantomData<T>,
}

impl<T: Serialize + serde::de::DeserializeOwned> Unparsed<T> {
    pub fn new(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Unparsed {
            json: serde_json::value::to_raw_value(value)?,
            of: std::marker::PhantomData,
        })
    }

    pub fn parse(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json.get())
    }
}

impl<T> Serialize for Unparsed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Unparsed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Box::<serde_json::value::RawValue>::deserialize(d)?;
        // Capturing the text does not apply serde_json's nesting limit, so a member nested
        // too deep to parse later is refused here, when the state is read, as it was
        // before the member was deferred.
        if nesting(json.get()) > MAX_NESTING {
            return Err(serde::de::Error::custom("recursion limit exceeded"));
        }
        Ok(Unparsed {
            json,
            of: std::marker::PhantomData,
        })
    }
}

/// How deep a member of state.json may nest: serde_json refuses a document nested 128
/// deep, and the member sits inside the state's own object.
const MAX_NESTING: usize = 126;

/// How deep arrays and objects nest in `json`, a text serde_json accepted as JSON (so that
/// brackets inside strings are the only ones to skip).
fn nesting(json: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0, false, false);
    for b in json.bytes() {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (_, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A process identified by pid *and* start time (clock ticks since boot, field 22 of
/// /proc/<pid>/stat): a recycled pid has a different start time, so it is never taken for
/// the container and never signalled.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

/// Where in its lifecycle rt left the container. `Creating` until `create` has finished
/// every step; the split between created and running is derived from the live process.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Creating,
    Created,
}

/// A container without a mount namespace of its own has its mounts on the host's mount
/// table, below a bind of its rootfs onto itself (rootfs::shared): the mount ids that let
/// `delete` detach exactly that bind and nothing else.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedMounts {
    /// The mount at root.path before the init made its bind.
    pub before: u64,
    /// The bind, once the init is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<u64>,
}

/// The hooks that run after `create` has returned; kept because the bundle's config.json
/// may change after create and the spec says such changes must not affect the container.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct LaterHooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, as runc prints it.
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub phase: Phase,
    /// The `rt create`/`rt run` process while the container is being created.
    pub creator: ProcId,
    /// The container's init process, once it exists.
    pub init: Option<ProcId>,
    /// Whether the container has its own pid namespace: then killing init ends every
    /// process in it; otherwise `kill --all`/`delete` must signal the cgroup's processes.
    pub own_pid_ns: bool,
    pub cgroup: Option<CgroupRecord>,
    #[serde(default)]
    pub hooks: LaterHooks,
    /// The container's process as created: the defaults of `rt exec` (the bundle's
    /// config.json may have changed since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Unparsed<oci_spec::runtime::Process>>,
    /// The container's linux.seccomp, which every `exec` installs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Unparsed<oci_spec::runtime::LinuxSeccomp>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_mounts: Option<SharedMounts>,
    /// linux.personality and linux.memoryPolicy, which every `exec` sets too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<oci_spec::runtime::LinuxMemoryPolicy>,
    /// The caller's NOTIFY_SOCKET at create: `start` passes the container's sd_notify
    /// messages on to it (see notify.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_socket: Option<String>,
    /// The resctrl group of linux.intelRdt, recorded before it is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdt: Option<crate::rdt::RdtRecord>,
    /// linux.netDevices and where they went, recorded before any is moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_devices: Option<crate::netdev::NetDevRecord>,
}

/// Liveness of the processes a state refers to; kept separate from `State` so that status
/// derivation is a pure function that unit tests can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub creator_alive: bool,
    pub init_alive: bool,
    /// The init still waits for `start` (its start socket exists).
    pub waiting_for_start: bool,
    pub frozen: bool,
}

pub fn derive_status(phase: Phase, live: Liveness) -> Status {
    match phase {
        Phase::Creating if live.creator_alive => Status::Creating,
        // The creator died before finishing: whatever is left is debris for `delete`.
        Phase::Creating => Status::Stopped,
        Phase::Created if !live.init_alive => Status::Stopped,
        Phase::Created if live.frozen => Status::Paused,
        Phase::Created if live.waiting_for_start => Status::Created,
        Phase::Created => Status::Running,
    }
}

impl State {
    /// What a hook gets on stdin at a moment of this container's life.
    pub fn hook_input(&self, status: Status, pid: i32) -> Vec<u8> {
        self.oci(status).hook_input(status, pid)
    }

    pub fn oci(&self, status: Status) -> OciState {
        let pid = match (status, self.init) {
            (Status::Stopped, _) | (_, None) => 0,
            (_, Some(init)) => init.pid,
        };
        OciState {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            pid,
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seccomp profile recorded in state.json is written as it was given, read back
    /// without being built, and parses to the same profile when exec asks for it; a member
    /// that is not JSON still fails the read.
    #[test]
    fn unparsed_members_round_trip() {
        let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        #[derive(Serialize, Deserialize)]
        struct Doc {
            seccomp: Unparsed<oci_spec::runtime::LinuxSeccomp>,
        }
        let text = serde_json::to_string(&Doc {
            seccomp: Unparsed::new(&profile).unwrap(),
        })
        .unwrap();
        let back: Doc = serde_json::from_str(&text).unwrap();
        assert_eq!(back.seccomp.parse().unwrap(), profile);
        assert!(serde_json::from_str::<Doc>(r#"{"seccomp": {"defaultAction": }"#).is_err());
        let deep = format!(
            r#"{{"seccomp": {{"x": {}{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(serde_json::from_str::<Doc>(&deep).is_err());
        assert_eq!(nesting(r#"{"a": ["[{\"]", {"b": []}]}"#), 4);
        assert_eq!(nesting(r#""{[""#), 0);
        let wrong: Doc = serde_json::from_str(r#"{"seccomp": {"defaultAction": 7}}"#).unwrap();
        assert!(wrong.seccomp.parse().is_err());
    }

    fn live(creator: bool, init: bool, waiting: bool, frozen: bool) -> Liveness {
        Liveness {
            creator_alive: creator,
            init_alive: init,
            waiting_for_start: waiting,
            frozen,
        }
    }

    #[test]
    fn status_from_phase_and_processes() {
        use Phase::*;
        assert_eq!(
            derive_status(Creating, live(true, true, true, false)),
            Status::Creating
        );
        assert_eq!(
            derive_status(Creating, live(false, true, true, false)),
            Status::Stopped
        );
        assert_eq!(
            derive_status(Created, live(false, true, true, false)),
            Status::Created
        );
        assert_eq!(
            derive_status(Created, live(false, true, false, false)),
            Status::Running
        );
        assert_eq!(
            derive_status(Created, live(false, true, false, true)),
            Status::Paused
        );
        assert_eq!(
            derive_status(Created, live(false, false, true, false)),
            Status::Stopped
        );
    }

    fn sample() -> State {
        State {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2026-01-01T00:00:00.000000001Z".into(),
            owner: "root".into(),
            annotations: BTreeMap::new(),
            phase: Phase::Created,
            creator: ProcId { pid: 10, start: 1 },
            init: Some(ProcId { pid: 42, start: 7 }),
            own_pid_ns: true,
            cgroup: None,
            hooks: LaterHooks::default(),
            process: None,
            seccomp: None,
            shared_mounts: None,
            personality: None,
            memory_policy: None,
            notify_socket: None,
            rdt: None,
            net_devices: None,
        }
    }

    #[test]
    fn oci_state_json_shape() {
        let s = sample();
        let v = serde_json::to_value(s.oci(Status::Running)).unwrap();
        assert_eq!(v["ociVersion"], "1.2.0");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["status"], "running");
        assert_eq!(v["rootfs"], "/b/rootfs");
        assert!(v.get("annotations").is_none());
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 8);
    }

    #[test]
    fn stopped_container_reports_pid_zero() {
        let v = serde_json::to_value(sample().oci(Status::Stopped)).unwrap();
        assert_eq!(v["pid"], 0);
        assert_eq!(v["status"], "stopped");
    }

    #[test]
    fn state_round_trips() {
        let s = sample();
        let text = serde_json::to_string(&s).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        assert_eq!(back.init, s.init);
        assert_eq!(back.phase, s.phase);
    }
}
