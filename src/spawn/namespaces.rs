//! Which namespaces the container gets, and how: created by clone3 itself (the fast
//! path), joined by path afterwards, or — when the order of joins and creation matters —
//! through an intermediate process. Pure, so that the decision is unit-tested.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub const CLONE_NEWTIME: u64 = 0x0000_0080;

/// Whether this process is root of the host: uid 0 in the initial user namespace (whose
/// uid_map is the identity over the whole id range).
pub fn is_host_root() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

pub fn clone_flag(t: LinuxNamespaceType) -> u64 {
    (match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => CLONE_NEWTIME as i32,
    }) as u32 as u64
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub typ: LinuxNamespaceType,
    pub path: PathBuf,
    /// Index in linux.namespaces, for error messages.
    pub index: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsPlan {
    /// CLONE_NEW* bits of the namespaces to create, except cgroup: a cgroup namespace is
    /// rooted at the creator's cgroup at the moment of creation, so the init unshares it
    /// only after the parent has moved it into the container's cgroup.
    pub create: u64,
    pub new_cgroup: bool,
    /// Joined by path, in config order (user and pid excluded; see below).
    pub join: Vec<Join>,
    pub join_user: Option<Join>,
    pub join_pid: Option<Join>,
    /// Create the namespaces in an intermediate process which then forks the init:
    /// needed when a namespace must be joined before the user namespace is created (the
    /// joined one belongs to the host's user namespace), when a user or pid namespace is
    /// joined (setns into them only affects children, or must come first), and for a new
    /// time namespace (its clock offsets must be written before any process enters it).
    pub intermediate: bool,
}

impl NsPlan {
    pub fn new_user(&self) -> bool {
        self.create & clone_flag(LinuxNamespaceType::User) != 0
    }

    pub fn new_pid(&self) -> bool {
        self.create & clone_flag(LinuxNamespaceType::Pid) != 0
    }

    pub fn new_mount(&self) -> bool {
        self.create & clone_flag(LinuxNamespaceType::Mount) != 0
    }

    pub fn new_time(&self) -> bool {
        self.create & CLONE_NEWTIME != 0
    }

    pub fn in_user_ns(&self) -> bool {
        self.new_user() || self.join_user.is_some()
    }
}

pub fn plan(spec: &Spec) -> NsPlan {
    let mut p = NsPlan::default();
    let namespaces = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default();
    for (index, ns) in namespaces.iter().enumerate() {
        match ns.path() {
            None if ns.typ() == LinuxNamespaceType::Cgroup => p.new_cgroup = true,
            None => p.create |= clone_flag(ns.typ()),
            Some(path) => {
                let j = Join {
                    typ: ns.typ(),
                    path: path.clone(),
                    index,
                };
                match ns.typ() {
                    LinuxNamespaceType::User => p.join_user = Some(j),
                    LinuxNamespaceType::Pid => p.join_pid = Some(j),
                    _ => p.join.push(j),
                }
            }
        }
    }
    p.intermediate = p.join_user.is_some()
        || p.join_pid.is_some()
        || p.new_time()
        || (p.new_user() && !p.join.is_empty());
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(ns: serde_json::Value) -> Spec {
        serde_json::from_value(json!({
            "ociVersion": "1.2.0",
            "linux": {"namespaces": ns}
        }))
        .unwrap()
    }

    #[test]
    fn default_namespaces_take_the_fast_path() {
        let p = plan(&spec(json!([
            {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
            {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
        ])));
        assert!(!p.intermediate);
        assert!(p.new_cgroup);
        assert_eq!(p.create & libc::CLONE_NEWCGROUP as u64, 0);
        assert!(p.new_pid() && p.new_mount() && !p.new_user());
        assert!(p.join.is_empty());
    }

    #[test]
    fn joins_without_user_ns_stay_on_the_fast_path() {
        let p = plan(&spec(json!([
            {"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "mount"}
        ])));
        assert!(!p.intermediate);
        assert_eq!(p.join.len(), 1);
        assert_eq!(p.join[0].index, 1);
        assert_eq!(p.create & libc::CLONE_NEWNET as u64, 0);
    }

    #[test]
    fn orderings_that_need_an_intermediate() {
        let p = plan(&spec(
            json!([{"type": "pid", "path": "/proc/1/ns/pid"}, {"type": "mount"}]),
        ));
        assert!(p.intermediate && p.join_pid.is_some());
        let p = plan(&spec(
            json!([{"type": "user", "path": "/proc/1/ns/user"}, {"type": "mount"}]),
        ));
        assert!(p.intermediate && p.in_user_ns() && !p.new_user());
        let p = plan(&spec(
            json!([{"type": "user"}, {"type": "network", "path": "/x"}]),
        ));
        assert!(p.intermediate && p.new_user());
        let p = plan(&spec(
            json!([{"type": "user"}, {"type": "mount"}, {"type": "pid"}]),
        ));
        assert!(!p.intermediate && p.new_user());
        let p = plan(&spec(json!([{"type": "time"}, {"type": "mount"}])));
        assert!(p.intermediate && p.new_time());
    }
}
