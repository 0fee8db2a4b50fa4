//! What both sides of the clone use: making a process (clone3 with a pidfd), the sync
//! channel and its messages (sync.rs), the namespace plan (namespaces.rs), joining and
//! entering namespaces (here and exec.rs), and the id maps of a new user namespace.
//!
//! Nothing here knows what a container is. The parent side of the protocol is driven by
//! container/create.rs (the init) and container/exec.rs (an exec process); the child side
//! runs in init/. The messages and their order are drawn in container/create.rs.

pub mod exec;
pub mod namespaces;
pub mod setns;
pub mod sync;

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid, setresgid, setresuid};
use oci_spec::runtime::{LinuxIdMapping, Spec};

use crate::error::{Ctx, StepError};
use namespaces::Join;
use sync::{Channel, Msg};

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("creating the container process: {}", crate::error::io_text(.0))]
    Clone(io::Error),
    #[error("talking to the container process: {}", crate::error::io_text(.0))]
    Sync(io::Error),
    /// The container process's own report: already names the field and the reason.
    #[error("{0}")]
    Child(String),
    #[error("the container process exited during setup without saying why")]
    ChildDied,
    #[error("the container process sent {0:?} out of turn")]
    Protocol(String),
    #[error(transparent)]
    Step(#[from] StepError),
    /// What rt's own handling of a message failed with (see `wait_exec`).
    #[error(transparent)]
    Handler(anyhow::Error),
}

/// How a cloned child leaves when it does not execve: _exit, so that nothing of the
/// parent's (atexit handlers, stdio buffers it holds copies of) runs twice.
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process without running atexit handlers or flushing stdio
    // buffers that are copies of the parent's.
    unsafe { libc::_exit(code) }
}

/// A process made by `clone_process` and driven over its channel: a container's init or
/// an exec process.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub chan: Channel,
}

/// Kernel ABI of `struct clone_args` (include/uapi/linux/sched.h, CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// include/uapi/linux/sched.h. The libc crate declares it as a c_int, which cannot hold
/// bit 33.
const CLONE_INTO_CGROUP: u64 = 0x200000000;

pub enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// A pidfd for the process an intermediate made and reported (Msg::InitPid). That process
/// waits on the channel until it is told to go on, so the pid is still its own here.
pub fn pidfd_of_reported(pid: i32) -> Result<OwnedFd, SpawnError> {
    let rpid = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| SpawnError::Protocol(format!("InitPid({pid})")))?;
    rustix::process::pidfd_open(rpid, rustix::process::PidfdFlags::empty())
        .map_err(|e| SpawnError::Clone(e.into()))
}

/// fork(2) with namespace flags and a pidfd for the child.
///
/// The child is a copy of this process (no CLONE_VM) and rt is single-threaded here, so
/// no lock can be held by a thread that does not exist in the child; the child only ever
/// leaves through execve or _exit.
pub fn clone_process(flags: u64) -> io::Result<Forked> {
    clone_with(flags, None)
}

/// clone_process, with the child born in the cgroup v2 directory `cgroup` where one is
/// given and the kernel allows it (clone3's CLONE_INTO_CGROUP, Linux 5.7). Returns whether
/// it was: where the kernel or a seccomp profile refuses the flag (ENOSYS, EINVAL, E2BIG,
/// EPERM), the child is cloned plainly and the caller moves it.
pub fn clone_process_in(flags: u64, cgroup: Option<BorrowedFd>) -> io::Result<(Forked, bool)> {
    let Some(dir) = cgroup else {
        return clone_with(flags, None).map(|f| (f, false));
    };
    match clone_with(flags, Some(dir)) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG | libc::EPERM)
            ) =>
        {
            crate::debug!("clone3 into the cgroup: {e}; the process is moved there instead");
            clone_with(flags, None).map(|f| (f, false))
        }
        other => other.map(|f| (f, true)),
    }
}

fn clone_with(flags: u64, cgroup: Option<BorrowedFd>) -> io::Result<Forked> {
    // The dumpable flag is copied with the memory: made non-dumpable here, the child is
    // born so, not only from its first step on. Until then a process in the container
    // (the child may be born into its pid namespace) could ptrace it or read its /proc
    // files, with rt's memory and fds in them. rt itself has no use for being dumpable.
    // Not rootless: a non-dumpable child's /proc files belong to root, and an
    // unprivileged rt must write its uid_map (it runs as the same user as the container's
    // processes anyway).
    if namespaces::is_host_root() {
        nix::sys::prctl::set_dumpable(false)?;
    }
    let mut pidfd: libc::c_int = -1;
    // With CLONE_PARENT the child is its grandparent's, with this process's own exit
    // signal; clone3 wants 0 there then.
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: clone3 reads `args` (valid for its full size) and writes the pidfd into
    // `pidfd`, which outlives the call. Without CLONE_VM the child runs on its own copy of
    // our stack, so returning into Rust code in both processes is sound.
    let mut ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret < 0
        && cgroup.is_none()
        && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS)
    {
        // Kernels before 5.3, or seccomp profiles that hide clone3: the legacy clone
        // takes the same flags (none of ours needs clone3-only bits here) and stores the
        // pidfd through its parent_tid argument.
        // SAFETY: a NULL stack makes clone behave like fork; the pidfd pointer is valid.
        ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (flags | libc::CLONE_PIDFD as u64 | libc::SIGCHLD as u64) as libc::c_ulong,
                std::ptr::null_mut::<libc::c_void>(),
                &mut pidfd as *mut libc::c_int,
                std::ptr::null_mut::<libc::c_int>(),
                0 as libc::c_ulong,
            )
        };
    }
    match ret {
        r if r < 0 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: the kernel just returned this fd to us and nothing else owns it.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

/// The text of a uid_map or gid_map file: one line per range.
pub fn id_map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// How the id maps of a new user namespace get written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMapWriter {
    /// rt is privileged in the parent user namespace: any ranges, written directly.
    Direct,
    /// An unprivileged rt mapping only itself: allowed by the kernel once setgroups(2)
    /// is denied in the new namespace (so the container cannot drop groups to gain
    /// access), written directly.
    OwnIdsDenySetgroups,
    /// An unprivileged rt mapping more (its /etc/subuid and /etc/subgid ranges): only the
    /// setuid helpers newuidmap and newgidmap (Debian's uidmap package) may.
    Helpers,
}

impl IdMapWriter {
    pub fn setgroups_allowed(self) -> bool {
        self != IdMapWriter::OwnIdsDenySetgroups
    }
}

/// Chooses how to write the maps for a caller with `euid`/`egid`.
pub fn id_map_writer(
    privileged: bool,
    euid: u32,
    egid: u32,
    uid_maps: &[LinuxIdMapping],
    gid_maps: &[LinuxIdMapping],
) -> IdMapWriter {
    let own = |maps: &[LinuxIdMapping], id: u32| {
        maps.len() == 1 && maps[0].host_id() == id && maps[0].size() == 1
    };
    if privileged {
        IdMapWriter::Direct
    } else if own(uid_maps, euid) && own(gid_maps, egid) {
        IdMapWriter::OwnIdsDenySetgroups
    } else {
        IdMapWriter::Helpers
    }
}

fn run_map_helper(
    helper: &str,
    field: &str,
    pid: i32,
    maps: &[LinuxIdMapping],
) -> Result<(), StepError> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd
        .output()
        .ctx(|| format!("{field}: running {helper} (apt-get install uidmap)"))?;
    if !out.status.success() {
        return Err(StepError::msg(
            format!("{field}: {helper}"),
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(())
}

/// Writes the user namespace's id maps for `pid`.
pub fn write_id_maps(pid: i32, spec: &Spec, writer: IdMapWriter) -> Result<(), StepError> {
    let linux = spec.linux().as_ref();
    let uid_maps = linux
        .and_then(|l| l.uid_mappings().as_deref())
        .unwrap_or_default();
    let gid_maps = linux
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default();
    match writer {
        IdMapWriter::Helpers => {
            run_map_helper("newuidmap", "linux.uidMappings", pid, uid_maps)?;
            run_map_helper("newgidmap", "linux.gidMappings", pid, gid_maps)
        }
        IdMapWriter::Direct | IdMapWriter::OwnIdsDenySetgroups => {
            fs::write(format!("/proc/{pid}/uid_map"), id_map_text(uid_maps))
                .ctx(|| "linux.uidMappings: writing uid_map")?;
            if writer == IdMapWriter::OwnIdsDenySetgroups {
                fs::write(format!("/proc/{pid}/setgroups"), "deny")
                    .ctx(|| "linux.gidMappings: denying setgroups")?;
            }
            fs::write(format!("/proc/{pid}/gid_map"), id_map_text(gid_maps))
                .ctx(|| "linux.gidMappings: writing gid_map")
        }
    }
}

/// Joins the namespaces in `joins`, in order. Every path is opened before the first
/// setns: once a mount namespace is joined, /proc is that namespace's, and a path like
/// /proc/<host pid>/ns/cgroup would no longer lead anywhere. A user namespace among them
/// is entered after the others (see setns::enter_user_last).
pub fn join_namespaces<'a>(joins: impl IntoIterator<Item = &'a Join>) -> Result<(), StepError> {
    let mut opened = Vec::new();
    for j in joins {
        let f = fs::File::open(&j.path).ctx(|| join_field(j))?;
        opened.push((j, f));
    }
    let entries = opened
        .iter()
        .map(|(j, f)| {
            let flag = CloneFlags::from_bits_retain(namespaces::clone_flag(j.typ) as i32);
            (flag, f.as_fd(), *j)
        })
        .collect();
    setns::enter_user_last(entries, |j| join_field(j))
}

fn join_field(j: &Join) -> String {
    format!("linux.namespaces[{}].path: {}", j.index, j.path.display())
}

/// In a new user namespace, become its root: until then the process has the overflow ids
/// and files it creates would belong to nobody.
pub fn become_ns_root() -> Result<(), StepError> {
    let root_gid = Gid::from_raw(0);
    let root_uid = Uid::from_raw(0);
    setresgid(root_gid, root_gid, root_gid)
        .ctx(|| "linux.gidMappings: becoming gid 0 in the user namespace (is 0 mapped?)")?;
    setresuid(root_uid, root_uid, root_uid)
        .ctx(|| "linux.uidMappings: becoming uid 0 in the user namespace (is 0 mapped?)")
}

/// linux.timeOffsets, written by a process that has just made a time namespace for its
/// children (before any child exists: the offsets are fixed by the first).
pub fn write_time_offsets(spec: &Spec) -> Result<(), StepError> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    let mut clocks: Vec<_> = offsets.iter().collect();
    clocks.sort_by(|a, b| a.0.cmp(b.0));
    for (clock, off) in clocks {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    // A non-dumpable process's /proc files belong to the host's root, which uid 0 of a
    // new user namespace is not: its write would be refused (EACCES). So the process is
    // dumpable for the write only. Nothing runs in its new namespaces yet, and a process
    // of another user namespace may not ptrace it whatever the flag.
    let dumpable = nix::sys::prctl::get_dumpable().ctx(|| "PR_GET_DUMPABLE")?;
    if !dumpable {
        nix::sys::prctl::set_dumpable(true).ctx(|| "PR_SET_DUMPABLE")?;
    }
    let written = crate::procfs::write(
        crate::procfs::Base::ProcSelf,
        "timens_offsets",
        text.as_bytes(),
        "linux.timeOffsets",
    );
    if !dumpable {
        nix::sys::prctl::set_dumpable(false).ctx(|| "PR_SET_DUMPABLE")?;
    }
    written?;
    Ok(())
}

/// The next message; the child's own error report is the error.
pub fn expect(chan: &Channel) -> Result<Msg, SpawnError> {
    expect_with_fd(chan).map(|(m, _)| m)
}

/// The next message and the fd that came with it, if any.
pub fn expect_with_fd(chan: &Channel) -> Result<(Msg, Option<OwnedFd>), SpawnError> {
    match chan.recv_with_fd().map_err(SpawnError::Sync)? {
        Some((Msg::Error(e), _)) => Err(SpawnError::Child(e)),
        Some(m) => Ok(m),
        None => Err(SpawnError::ChildDied),
    }
}

/// After Go: EOF means the process exec'd (the channel is close-on-exec); a message
/// carries its error. A seccomp notify fd on the way goes to `on_seccomp_fd`.
pub fn wait_exec(
    chan: &Channel,
    mut on_seccomp_fd: impl FnMut(OwnedFd) -> anyhow::Result<()>,
) -> Result<(), SpawnError> {
    loop {
        match chan.recv_with_fd().map_err(SpawnError::Sync)? {
            None => return Ok(()),
            Some((Msg::SeccompFd, Some(fd))) => {
                on_seccomp_fd(fd).map_err(SpawnError::Handler)?;
            }
            Some((Msg::Error(e), _)) => return Err(SpawnError::Child(e)),
            Some((other, _)) => return Err(SpawnError::Protocol(format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_map_writer_choice() {
        let m = |c: u32, h: u32, s: u32| -> LinuxIdMapping {
            serde_json::from_value(serde_json::json!({"containerID": c, "hostID": h, "size": s}))
                .unwrap()
        };
        assert_eq!(
            id_map_writer(true, 0, 0, &[m(0, 100000, 65536)], &[m(0, 100000, 65536)]),
            IdMapWriter::Direct
        );
        assert_eq!(
            id_map_writer(false, 1000, 1000, &[m(0, 1000, 1)], &[m(0, 1000, 1)]),
            IdMapWriter::OwnIdsDenySetgroups
        );
        assert_eq!(
            id_map_writer(
                false,
                1000,
                1000,
                &[m(0, 1000, 1), m(1, 100000, 65536)],
                &[m(0, 1000, 1)]
            ),
            IdMapWriter::Helpers
        );
        assert_eq!(
            id_map_writer(false, 1000, 1000, &[m(0, 1001, 1)], &[m(0, 1000, 1)]),
            IdMapWriter::Helpers
        );
        assert!(!IdMapWriter::OwnIdsDenySetgroups.setgroups_allowed());
        assert!(IdMapWriter::Helpers.setgroups_allowed());
    }

    #[test]
    fn id_maps_are_one_line_per_range() {
        let maps: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":100000,"size":1000},{"containerID":1000,"hostID":5000,"size":1}]"#,
        )
        .unwrap();
        assert_eq!(id_map_text(&maps), "0 100000 1000\n1000 5000 1\n");
    }
}
