//! What the parent hands the process it clones to become the container's init: borrowed
//! from the parent's memory, which the child is a copy of.

use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::oci_state::OciState;
use crate::spawn::IdMapWriter;
use crate::spawn::namespaces::NsPlan;

/// Everything the init needs, borrowed from the parent's memory (the init is a copy of it).
pub struct Context<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub ns: &'a NsPlan,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// The start socket (`rt create`); None for `rt run`, which starts through the channel.
    pub start_listener: Option<BorrowedFd<'a>>,
    pub cgroup: Option<&'a crate::cgroups::CgroupRecord>,
    /// The cgroup `tasks` files this process writes itself into on Go (empty: the parent
    /// moves it).
    pub cgroup_self_join: &'a [PathBuf],
    /// The container's state document, for the createContainer and startContainer hooks.
    pub oci_state: &'a OciState,
    /// linux.netDevices: the parent moves them in at HostSteps.
    pub net_devices: bool,
    /// Where the pty master goes when process.terminal is set.
    pub console_socket: Option<BorrowedFd<'a>>,
    /// rt relays the pty to a stdout that is not a terminal (console::open_in).
    pub relay_verbatim: bool,
    /// Bind trees the parent prepared (see rootfs::idmap::prepare), by index in mounts[].
    pub idmapped: Vec<(usize, BorrowedFd<'a>)>,
    /// How the parent writes the id maps (and so whether setgroups works inside).
    pub id_maps: IdMapWriter,
    /// linux.seccomp, compiled by the parent.
    pub seccomp: Option<&'a crate::security::seccomp::Filter>,
    /// rt itself runs in a user namespace other than the host's (as rootless Docker and
    /// podman run it): the container is in one then even when its config names none.
    pub runtime_in_user_ns: bool,
}
