//! What the rootfs steps are given, and what they hand back to the init.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};
use pathrs::Root;

use super::mount::in_root;

/// The rootfs while mounts[] are mounted (see rootfs::begin, in steps).
pub struct Mounting {
    pub(super) root: Root,
    pub(super) deferred: Deferred,
}

pub struct Prepared {
    pub root: Root,
    pub deferred: Deferred,
}

/// What waits for the container's init when it joins a pid namespace by path (a pod's).
/// That init is only created after pivot_root (see init/steps.rs,
/// born_in_joined_pid_ns), so that nothing in the pod ever sees a process of rt's with
/// the host's root; but a procfs shows the pid namespace of the process that creates
/// it, unless the kernel lets it be named (Linux 6.18, rootfs::joined_pid_ns_for_proc:
/// then nothing is deferred). Before that, every proc mount, whatever mounts[] puts
/// below one after it, and the masked and read-only paths below them are left to the
/// init. Binds among them are cloned now, while their sources are reachable, and the
/// host's /dev/null (what masks a file) is opened now.
#[derive(Default)]
pub struct Deferred {
    dirs: Vec<PathBuf>,
    pub mounts: Vec<usize>,
    pub trees: Vec<(usize, rustix::fd::OwnedFd)>,
    /// Detached clones of the host's /dev/null, by index in linux.maskedPaths: a bind
    /// from it is refused once its mount is no longer in the namespace.
    pub nulls: Vec<(usize, rustix::fd::OwnedFd)>,
}

impl Deferred {
    /// Whether `path` (of the container) lies at or below a deferred proc mount.
    pub fn covers(&self, path: &Path) -> bool {
        let rel = in_root(path);
        self.dirs.iter().any(|d| rel.starts_with(d))
    }

    /// Takes mounts[i] when it is a proc mount or below one taken before.
    pub(super) fn take(&mut self, i: usize, m: &Mount) -> bool {
        if m.typ().as_deref() == Some("proc") {
            self.dirs.push(in_root(m.destination()));
        }
        let taken = self.covers(m.destination());
        if taken {
            self.mounts.push(i);
        }
        taken
    }
}

/// What the rootfs steps need to know about the container.
pub struct RootfsConfig<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub in_user_ns: bool,
    /// False when the container shares rt's mount namespace (spawn::namespaces::MountNs):
    /// then nothing of the namespace's own propagation is changed.
    pub own_mount_ns: bool,
    pub cgroup_ns: bool,
    pub cgroup: Option<&'a crate::cgroups::CgroupRecord>,
    /// Detached trees prepared beforehand (idmapped ones by the parent, deferred binds),
    /// by index in mounts[].
    pub idmapped: &'a [(usize, BorrowedFd<'a>)],
    /// The init will join a pid namespace after pivot_root: see Deferred.
    pub defer_proc: bool,
    /// The pid namespace proc mounts show when it is not this process's own: a joined
    /// one, named to the kernel (see rootfs::joined_pid_ns_for_proc).
    pub proc_pidns: Option<BorrowedFd<'a>>,
}
