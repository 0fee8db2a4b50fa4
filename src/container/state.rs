//! What `rt` remembers about a container between commands (state.json), and how the
//! status shown to users is derived from it and from the live process.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::Hook;
use serde::{Deserialize, Serialize};

pub use crate::cgroups::CgroupRecord;
pub use crate::oci_state::{OciState, Status};
pub use crate::unparsed::Unparsed;

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
