//! Which namespaces the container gets, and how: created by clone3 itself (the fast
//! path), joined by path afterwards, or — when the order of joins and creation matters —
//! through an intermediate process. Pure, so that the decision is unit-tested.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub const CLONE_NEWTIME: u64 = libc::CLONE_NEWTIME as u64;

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

    pub fn mount_ns(&self) -> MountNs {
        if self.new_mount() {
            MountNs::New
        } else if self.join.iter().any(|j| j.typ == LinuxNamespaceType::Mount) {
            MountNs::Joined
        } else {
            MountNs::Shared
        }
    }
}

/// Where the container's mounts are made. The rootfs is set up the same way in all three
/// (root.path, mounts, devices, maskedPaths, readonlyPaths), as runc does; they differ in
/// how the container enters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountNs {
    /// Its own, created with it: isolated from the host, then pivot_root.
    New,
    /// One joined by linux.namespaces[].path: isolated from the host the same way and
    /// pivot_root'ed, so the container's root becomes that namespace's root (for every
    /// process in it whose root was the old one, as pivot_root(2) does).
    Joined,
    /// None in the config: the runtime spec says it is then shared with the runtime's, the
    /// host's. The mounts are made there, below a bind of the rootfs onto itself that
    /// `delete` detaches again, and the container is chroot'ed into it: the host's mount
    /// table is the container's, and a process that may chroot can leave its root.
    Shared,
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
    p.decide_intermediate();
    p
}

impl NsPlan {
    fn decide_intermediate(&mut self) {
        self.intermediate = self.join_user.is_some()
            || self.join_pid.is_some()
            || self.new_time()
            || (self.new_user() && !self.join.is_empty());
    }

    /// A mount namespace "joined" by a path that is rt's own (the host's, say
    /// /proc/1/ns/mnt) is the shared case, not a joined one: pivot_root there would change
    /// the root of the host's processes. `is_own` tells whether a path is rt's namespace.
    pub fn forget_own_mount_ns(&mut self, is_own: impl Fn(&std::path::Path) -> bool) {
        self.join
            .retain(|j| !(j.typ == LinuxNamespaceType::Mount && is_own(&j.path)));
        self.decide_intermediate();
    }
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

    #[test]
    fn joining_own_mount_namespace_is_sharing_it() {
        let mut p = plan(&spec(
            json!([{"type": "mount", "path": "/proc/1/ns/mnt"}, {"type": "pid"}]),
        ));
        p.forget_own_mount_ns(|path| path == std::path::Path::new("/proc/1/ns/mnt"));
        assert_eq!(p.mount_ns(), MountNs::Shared);
        let mut p = plan(&spec(json!([{"type": "mount", "path": "/run/ns/mnt"}])));
        p.forget_own_mount_ns(|_| false);
        assert_eq!(p.mount_ns(), MountNs::Joined);
    }

    #[test]
    fn mount_namespace_kinds() {
        assert_eq!(
            plan(&spec(json!([{"type": "mount"}]))).mount_ns(),
            MountNs::New
        );
        assert_eq!(
            plan(&spec(json!([{"type": "mount", "path": "/proc/1/ns/mnt"}]))).mount_ns(),
            MountNs::Joined
        );
        assert_eq!(
            plan(&spec(json!([{"type": "pid"}]))).mount_ns(),
            MountNs::Shared
        );
        assert_eq!(plan(&spec(json!([]))).mount_ns(), MountNs::Shared);
    }
}
