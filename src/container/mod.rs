//! Containers on disk: one directory per container under `--root`, holding state.json and,
//! while the container waits for `start`, the init's start socket.
//!
//! The directory appears atomically: `create` builds it under a temporary name that is not
//! a valid container ID, locks it, writes state.json, and renames it into place with
//! RENAME_NOREPLACE, so exactly one of several concurrent creates of an ID wins and nobody
//! ever sees a container directory without a state. Every command that changes a container
//! holds an exclusive flock on its directory.

pub mod create;
pub mod criu;
pub mod exec;
pub mod id;
pub mod lifecycle;
pub mod notify;
pub mod pidfd;
pub mod preconditions;
pub mod process;
pub mod restore;
pub mod state;
pub mod supervise;

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg, RenameFlags, renameat2};

pub use state::{Liveness, OciState, Phase, ProcId, State, Status};

pub const STATE_FILE: &str = "state.json";
/// The socket the init listens on while it waits for `start`.
pub const START_SOCKET: &str = "init.sock";

/// The restore root (see criu::bind_root), in the container's state directory.
pub const CRIU_ROOT_DIR: &str = "criu-root";

/// Where `create` builds a container's state directory before it appears under its ID
/// (one rename, so no reader ever sees half of one). ':' cannot occur in an ID, so
/// nothing here is ever mistaken for a container, and `list` needs no filtering.
const STAGING_DIR: &str = ":staging";

/// A staging directory is named after its creator: pid and start time, which together
/// name one process for the life of the system (a pid alone is reused).
fn staging_name(pid: i32) -> String {
    format!("{pid}:{}", proc_start_time(pid).unwrap_or(0))
}

/// Makes `tmp` inside `staging`, making `staging` too: it exists only while some create
/// stages (each removes it when it is empty), so another create may remove it between
/// the two mkdirs; then both are made again.
fn make_staging_dir(staging: &Path, tmp: &Path) -> Result<(), ContainerError> {
    let mut attempts = 0;
    loop {
        match fs::DirBuilder::new().mode(0o700).create(staging) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(staging)(e)),
        }
        match fs::DirBuilder::new().mode(0o711).create(tmp) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 10 => attempts += 1,
            other => return other.map_err(io_err(tmp)),
        }
    }
}

/// Removes what creators killed before their rename left in `staging` (a SIGKILL in the
/// first milliseconds of `create`): every directory whose creator is gone. One whose
/// creator still runs is never touched; two sweepers racing only see ENOENT.
fn sweep_stale_staging(staging: &Path) {
    let Ok(entries) = fs::read_dir(staging) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some((pid, start)) = name.to_str().and_then(|n| n.split_once(':')) else {
            continue;
        };
        let (Ok(pid), Ok(start)) = (pid.parse::<i32>(), start.parse::<u64>()) else {
            continue;
        };
        if !is_alive(ProcId { pid, start }) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    let _ = fs::remove_dir(staging);
}

/// Earlier rt staged in `root` itself, as `creating:<pid>:<nanos>`: debris of those is
/// swept by `list` (whose creator is gone: no such pid, as nanos never match a start).
fn sweep_legacy_staging(root: &Path, name: &str) {
    let Some(pid) = name
        .strip_prefix("creating:")
        .and_then(|r| r.split(':').next())
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    if proc_start_time(pid).is_none() {
        let _ = fs::remove_dir_all(root.join(name));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("container does not exist: {0}")]
    NotExist(String),
    #[error("container with id exists: {0}")]
    Exists(String),
    #[error(transparent)]
    BadId(#[from] id::BadId),
    // The reasons are part of the message, not sources: an error chain prints its sources
    // again (the text came out twice), and errno text is lower case as runc's.
    #[error("--root {path}: {}", crate::error::io_text(.reason))]
    Root { path: PathBuf, reason: io::Error },
    #[error("{path}: {}", crate::error::io_text(.reason))]
    Io { path: PathBuf, reason: io::Error },
    #[error("{path}: corrupt state: {}", crate::config::tidy_parse_error(&.reason.to_string()))]
    Corrupt {
        path: PathBuf,
        reason: serde_json::Error,
    },
    #[error("{path}: locking: {}", crate::error::errno_text(*.reason as i32))]
    Lock { path: PathBuf, reason: nix::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ContainerError + '_ {
    move |reason| ContainerError::Io {
        path: path.to_path_buf(),
        reason,
    }
}

pub struct Container {
    pub dir: PathBuf,
    pub state: State,
    /// Held for as long as this handle lives when the container was opened for change.
    lock: Option<Flock<File>>,
}

fn open_dir(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

fn lock(dir: File, path: &Path) -> Result<Flock<File>, ContainerError> {
    Flock::lock(dir, FlockArg::LockExclusive).map_err(|(_, reason)| ContainerError::Lock {
        path: path.to_path_buf(),
        reason,
    })
}

/// The rt process that holds the lock of container `id`: the first of the directory's
/// entries in /proc/locks, as the kernel lists a lock's holder before those waiting for
/// it. `None` when the holder is no rt (neither our executable nor our command name) or
/// cannot be told: nobody else takes these locks, and a process that is not ours is not
/// ours to end.
pub fn lock_holder(root: &Path, id: &str) -> Option<ProcId> {
    use std::os::unix::fs::MetadataExt;
    let dir = fs::metadata(container_dir(root, id)).ok()?;
    let (major, minor) = (libc::major(dir.dev()), libc::minor(dir.dev()));
    let pid = procfs::locks()
        .ok()?
        .into_iter()
        .find(|l| {
            l.lock_type == procfs::LockType::FLock
                && (l.devmaj, l.devmin, l.inode) == (major, minor, dir.ino())
        })?
        .pid?;
    let same_file = |a: &fs::Metadata, b: &fs::Metadata| (a.dev(), a.ino()) == (b.dev(), b.ino());
    let exe = |p: &str| fs::metadata(format!("/proc/{p}/exe"));
    let comm = |p: &str| fs::read(format!("/proc/{p}/comm"));
    let pid_text = pid.to_string();
    let ours = match (exe(&pid_text), exe("self")) {
        (Ok(a), Ok(b)) if same_file(&a, &b) => true,
        _ => matches!((comm(&pid_text), comm("self")), (Ok(a), Ok(b)) if a == b),
    };
    let start = proc_start_time(pid)?;
    ours.then_some(ProcId { pid, start })
}

/// The lock, waited for if `wait`; otherwise `None` at once when somebody holds it.
fn take_lock(dir: File, path: &Path, wait: bool) -> Result<Option<Flock<File>>, ContainerError> {
    if wait {
        return lock(dir, path).map(Some);
    }
    match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
        Ok(guard) => Ok(Some(guard)),
        Err((_, nix::Error::EWOULDBLOCK)) => Ok(None),
        Err((_, reason)) => Err(ContainerError::Lock {
            path: path.to_path_buf(),
            reason,
        }),
    }
}

/// Locks the directory now at `dir`. The lock is on the directory opened, which may no
/// longer be the one at `dir` once the lock is ours: a `delete` that held it removed that
/// one, and a `create` of the same ID may have put a new one in its place. Acting on the
/// old lock would then kill and remove the new container under its creator (the
/// concurrency stress found it), so the lock is taken again on whatever is there now.
fn lock_current(dir: &Path, id: &str) -> Result<Flock<File>, ContainerError> {
    // Waiting, it never comes back without the lock or an error.
    lock_current_if(dir, id, true)?.ok_or_else(|| ContainerError::Lock {
        path: dir.to_path_buf(),
        reason: nix::Error::EWOULDBLOCK,
    })
}

/// lock_current, or `None` at once when another process holds the lock and `wait` is
/// false.
fn lock_current_if(
    dir: &Path,
    id: &str,
    wait: bool,
) -> Result<Option<Flock<File>>, ContainerError> {
    use std::os::unix::fs::MetadataExt;
    loop {
        let file = match open_dir(dir) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist(id.to_owned()));
            }
            Err(e) => return Err(io_err(dir)(e)),
        };
        let Some(guard) = take_lock(file, dir, wait)? else {
            return Ok(None);
        };
        let locked = guard.metadata().map_err(io_err(dir))?;
        match fs::metadata(dir) {
            Ok(now) if (now.dev(), now.ino()) == (locked.dev(), locked.ino()) => {
                return Ok(Some(guard));
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist(id.to_owned()));
            }
            Err(e) => return Err(io_err(dir)(e)),
        }
    }
}

fn read_state(dir: &Path) -> Result<State, ContainerError> {
    let path = dir.join(STATE_FILE);
    let text = read_small(&path).map_err(io_err(&path))?;
    serde_json::from_slice(&text).map_err(|reason| ContainerError::Corrupt { path, reason })
}

/// A small file, whole, by plain read(2)s into a buffer of 8 KiB that grows as needed.
/// fs::read and procfs' readers ask for the size first (statx, and lseek on /proc
/// files): two syscalls more per file, which `list` pays for every container's
/// state.json and /proc/PID/stat. A read that leaves room in the buffer ends the file:
/// procfs hands out a one-record file like stat whole in each read that can hold it, and
/// a regular file returns all it has up to its end, so asking again for the 0 that says
/// "end" would be one syscall more per file for nothing.
fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut f = File::open(path)?;
    let mut buf = vec![0; 8192];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(n) => {
                len += n;
                if len < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Writes `state` as `dir/state.json` atomically: readers see the old or the new file,
/// never a torn one.
fn write_state(dir: &Path, state: &State) -> Result<(), ContainerError> {
    let tmp = dir.join("state.json.tmp");
    let dst = dir.join(STATE_FILE);
    let text = serde_json::to_vec(state).map_err(|e| ContainerError::Io {
        path: dst.clone(),
        reason: io::Error::other(e),
    })?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(&text).map_err(io_err(&tmp))?;
    drop(f);
    crate::fault::point("state: temporary file written");
    replace(&tmp, &dst)
}

/// Moves `tmp` over `dst` atomically: a reader sees the old file or the new one. An
/// existing `dst` is swapped out with RENAME_EXCHANGE and then unlinked, because ext4
/// (auto_da_alloc, its default) starts writeback of the new file's data in every rename
/// that replaces a file: the state directory is on disk where /run is not a tmpfs, and
/// that flush was the dearest step of `start` (0.2-0.3 ms against 0.03 for a rename onto a
/// free name). An rt killed between the two steps leaves the old state in the temporary
/// file, which the next write truncates.
fn replace(tmp: &Path, dst: &Path) -> Result<(), ContainerError> {
    match renameat2(None, tmp, None, dst, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => match fs::remove_file(tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(tmp)(e)),
            _ => Ok(()),
        },
        // No file to swap with (the first write), or a filesystem without the flag.
        Err(nix::Error::ENOENT | nix::Error::EINVAL) => fs::rename(tmp, dst).map_err(io_err(dst)),
        Err(e) => Err(io_err(dst)(e.into())),
    }
}

/// Mounts rt makes in a state directory: a held network namespace (netdev.rs) and the
/// root CRIU restores into (criu.rs), a bind of the bundle's rootfs.
const MOUNTS_INSIDE: [&str; 2] = [crate::netdev::HELD, CRIU_ROOT_DIR];

/// Removes a state directory, after detaching what rt may have mounted in it (left there
/// by an rt killed in between). Never through a mount: removing the entries of the
/// restore root would remove the bundle's rootfs.
fn remove_tree(dir: &Path) -> Result<(), ContainerError> {
    use std::os::unix::fs::MetadataExt;
    for m in MOUNTS_INSIDE {
        let _ = nix::mount::umount2(&dir.join(m), nix::mount::MntFlags::MNT_DETACH);
    }
    let dev = match fs::symlink_metadata(dir) {
        Ok(md) => md.dev(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in fs::read_dir(dir).map_err(io_err(dir))?.flatten() {
        let path = entry.path();
        if fs::symlink_metadata(&path).is_ok_and(|md| md.dev() != dev) {
            return Err(io_err(&path)(io::Error::from_raw_os_error(libc::EBUSY)));
        }
    }
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(dir)(e)),
        _ => Ok(()),
    }
}

pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

impl Container {
    /// Creates the state directory of a new container, locked, with `state` in it.
    pub fn create(root: &Path, state: State) -> Result<Container, ContainerError> {
        id::validate(&state.id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|reason| ContainerError::Root {
                path: root.to_path_buf(),
                reason,
            })?;
        let staging = root.join(STAGING_DIR);
        sweep_stale_staging(&staging);
        let tmp_name = staging_name(std::process::id() as i32);
        let tmp = staging.join(&tmp_name);
        make_staging_dir(&staging, &tmp)?;
        crate::fault::point("create: staging directory made");
        let result = (|| {
            let dir = open_dir(&tmp).map_err(io_err(&tmp))?;
            let guard = lock(dir, &tmp)?;
            write_state(&tmp, &state)?;
            crate::fault::point("create: state written in staging");
            let root_dir = open_dir(root).map_err(io_err(root))?;
            let staging_dir = open_dir(&staging).map_err(io_err(&staging))?;
            match renameat2(
                Some(staging_dir.as_raw_fd()),
                tmp_name.as_str(),
                Some(root_dir.as_raw_fd()),
                state.id.as_str(),
                RenameFlags::RENAME_NOREPLACE,
            ) {
                Ok(()) => Ok(guard),
                Err(nix::Error::EEXIST) | Err(nix::Error::ENOTEMPTY) => {
                    Err(ContainerError::Exists(state.id.clone()))
                }
                Err(e) => Err(ContainerError::Io {
                    path: container_dir(root, &state.id),
                    reason: e.into(),
                }),
            }
        })();
        // Another create may be staging: then it stays (ENOTEMPTY), and that one removes it.
        let cleanup = |result| {
            let _ = fs::remove_dir(&staging);
            result
        };
        match result {
            Ok(guard) => cleanup(Ok(Container {
                dir: container_dir(root, &state.id),
                state,
                lock: Some(guard),
            })),
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                cleanup(Err(e))
            }
        }
    }

    /// Opens an existing container for reading; no lock is taken.
    pub fn load(root: &Path, id: &str) -> Result<Container, ContainerError> {
        id::validate(id)?;
        let dir = container_dir(root, id);
        let state = match read_state(&dir) {
            Err(ContainerError::Io { reason, .. }) if reason.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist(id.to_owned()));
            }
            other => other?,
        };
        Ok(Container {
            dir,
            state,
            lock: None,
        })
    }

    /// Opens an existing container for change: waits for the exclusive lock, then reads the
    /// state (which may have changed while waiting).
    pub fn load_locked(root: &Path, id: &str) -> Result<Container, ContainerError> {
        id::validate(id)?;
        let dir = container_dir(root, id);
        let guard = lock_current(&dir, id)?;
        Self::read_locked(dir, id, guard)
    }

    /// load_locked, or `None` at once when another process holds the lock.
    pub fn try_load_locked(root: &Path, id: &str) -> Result<Option<Container>, ContainerError> {
        id::validate(id)?;
        let dir = container_dir(root, id);
        match lock_current_if(&dir, id, false)? {
            Some(guard) => Self::read_locked(dir, id, guard).map(Some),
            None => Ok(None),
        }
    }

    fn read_locked(
        dir: PathBuf,
        id: &str,
        guard: Flock<File>,
    ) -> Result<Container, ContainerError> {
        // A concurrent delete may have removed the directory while we waited.
        let state = match read_state(&dir) {
            Err(ContainerError::Io { reason, .. }) if reason.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist(id.to_owned()));
            }
            other => other?,
        };
        Ok(Container {
            dir,
            state,
            lock: Some(guard),
        })
    }

    /// Removes what is left of a container directory without a state file: a removal cut
    /// short (rt killed inside `delete`, or a foreground `rt run` killed while removing its
    /// container) takes state.json first. No create leaves one (its directory appears
    /// under the ID with its state, in one rename), so it is debris; under its lock.
    pub fn remove_stateless(root: &Path, id: &str) -> Result<(), ContainerError> {
        id::validate(id)?;
        // A create of this ID killed before its rename left its staging directory, not
        // one under the ID: `delete -f` is what an engine runs after such a kill, and may
        // be the last rt command for this root for a long time.
        sweep_stale_staging(&root.join(STAGING_DIR));
        let dir = container_dir(root, id);
        let _guard = match lock_current(&dir, id) {
            Ok(g) => g,
            Err(ContainerError::NotExist(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if dir.join(STATE_FILE).exists() {
            return Ok(());
        }
        remove_tree(&dir)
    }

    /// Releases the lock early, for a command that goes on waiting (rt run) and must not
    /// block others meanwhile.
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    pub fn save(&self) -> Result<(), ContainerError> {
        write_state(&self.dir, &self.state)
    }

    pub fn start_socket(&self) -> PathBuf {
        self.dir.join(START_SOCKET)
    }

    /// Only what `derive_status` looks at for this phase is read (`list` calls this once
    /// per container): the creator only while creating, the start socket only for a live
    /// init that is not frozen.
    pub fn liveness(&self) -> Liveness {
        let creating = self.state.phase == Phase::Creating;
        let init_state = self.state.init.filter(|_| !creating).and_then(alive_state);
        let init_alive = init_state.is_some();
        let frozen = init_state.is_some_and(|letter| {
            self.state
                .cgroup
                .as_ref()
                .is_some_and(|record| crate::cgroups::is_paused(record, letter))
        });
        Liveness {
            creator_alive: creating && is_alive(self.state.creator),
            init_alive,
            waiting_for_start: init_alive && !frozen && self.start_socket().exists(),
            frozen,
        }
    }

    pub fn status(&self) -> Status {
        state::derive_status(self.state.phase, self.liveness())
    }

    pub fn oci_state(&self) -> OciState {
        self.state.oci(self.status())
    }

    /// Removes the state directory. The lock (if held) dies with the handle.
    pub fn remove_dir(&self) -> Result<(), ContainerError> {
        remove_tree(&self.dir)
    }
}

/// The IDs of all containers under `root`, sorted.
/// A socket for the start socket in `dir` and its address. The init listens on it until
/// `rt start` connects (create.rs binds it before the init exists); SOCK_SEQPACKET, so a
/// connection is a sync channel (spawn::sync), which carries a seccomp notify fd and the
/// init's error, if any. The address goes through /proc/self/fd/N of the directory, so
/// that the path length of --root and the ID (up to 1024 bytes) never hits the 108-byte
/// limit of socket addresses; the caller keeps the returned directory open until it has
/// bound or connected.
pub(crate) fn start_socket(
    dir: &Path,
) -> std::io::Result<(OwnedFd, nix::sys::socket::UnixAddr, fs::File)> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};
    let d = fs::File::open(dir)?;
    let addr = UnixAddr::new(format!("/proc/self/fd/{}/{}", d.as_raw_fd(), START_SOCKET).as_str())?;
    let fd = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    Ok((fd, addr, d))
}

pub fn list_ids(root: &Path) -> Result<Vec<String>, ContainerError> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(reason) => {
            return Err(ContainerError::Root {
                path: root.to_path_buf(),
                reason,
            });
        }
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    sweep_stale_staging(&root.join(STAGING_DIR));
    for name in &names {
        sweep_legacy_staging(root, name);
    }
    let mut ids: Vec<String> = names
        .into_iter()
        .filter(|name| id::validate(name).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// Start time of a live, non-zombie process, or None.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    read_start_time(pid).ok().flatten()
}

/// Start time of a live, non-zombie process; None if there is none; an error if /proc
/// could not be read (out of fds, say: that is no answer about the process).
pub fn read_start_time(pid: i32) -> Result<Option<u64>, procfs::ProcError> {
    Ok(read_stat(pid)?.map(|(start, _)| start))
}

/// Start time and state letter (R, S, D, ...) of a live, non-zombie process.
/// The file is opened by path rather than through procfs' Process: that opens and checks
/// /proc/<pid> first, and `list` reads one of these per container.
fn read_stat(pid: i32) -> Result<Option<(u64, char)>, procfs::ProcError> {
    use procfs::FromRead;
    let path = PathBuf::from(format!("/proc/{pid}/stat"));
    let text = match read_small(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Reaped between the open and the read.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
        Err(e) => return Err(procfs::ProcError::Io(e, Some(path))),
    };
    let stat = procfs::process::Stat::from_read(text.as_slice())?;
    Ok(match stat.state {
        'Z' | 'X' | 'x' => None,
        state => Some((stat.starttime, state)),
    })
}

pub fn is_alive(p: ProcId) -> bool {
    alive_state(p).is_some()
}

/// The state letter of `p` if it is alive (the same process: pid and start time).
fn alive_state(p: ProcId) -> Option<char> {
    if p.pid <= 0 {
        return None;
    }
    match read_stat(p.pid) {
        Ok(Some((start, state))) if start == p.start => Some(state),
        _ => None,
    }
}

/// Whether `p` is gone or on its way out (PF_EXITING: its files, root and namespaces are
/// already released, so /proc/<pid>/root and ns/ fail although it is not a zombie yet).
pub fn is_ending(p: ProcId) -> bool {
    const PF_EXITING: u32 = 0x4;
    if !is_alive(p) {
        return true;
    }
    procfs::process::Process::new(p.pid)
        .and_then(|proc| proc.stat())
        .map_or(true, |st| st.flags & PF_EXITING != 0)
}

/// The user name for a uid, as `list` shows the owner; the number if it has no name.
/// Read from /etc/passwd directly, as runc does: no NSS machinery (and no dlopen in a
/// static binary) on the create path for one name.
pub fn owner_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    crate::passwd::entry(&passwd, uid)
        .map(|e| e.name)
        .filter(|n| !n.is_empty())
        .map_or_else(|| uid.to_string(), str::to_owned)
}
