//! The last steps before execve: turning the init into the configured process (limits,
//! user, capabilities, no_new_privs), finding the program, and handing over exactly the
//! fds and signal state the container process should start with.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability as Cap, CapsHashSet};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{AccessFlags, Gid, Uid, setgroups, setresgid, setresuid};
use oci_spec::runtime::{Capabilities, PosixRlimitType, Process};

use crate::error::{Ctx, StepError};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn resource(t: PosixRlimitType) -> Option<Resource> {
    use PosixRlimitType as T;
    Some(match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// process.rlimits, set while still privileged (raising a hard limit needs
/// CAP_SYS_RESOURCE, which the process may not keep).
pub fn set_rlimits(process: &Process) -> Result<(), StepError> {
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        let res = resource(r.typ()).ok_or_else(|| {
            StepError::msg(
                format!("process.rlimits[{i}].type"),
                "not supported on Linux",
            )
        })?;
        setrlimit(res, r.soft(), r.hard())
            .ctx(|| format!("process.rlimits[{i}] ({:?})", r.typ()))?;
    }
    Ok(())
}

/// OCI capability names → the caps crate's, via their shared CAP_* spelling. A name this
/// kernel's capability table lacks is an error naming it.
fn to_caps(set: &Option<Capabilities>, field: &str) -> Result<CapsHashSet, StepError> {
    let mut out = CapsHashSet::new();
    for c in set.iter().flatten() {
        let name = crate::config::caps_name(c);
        let cap: Cap = name
            .parse()
            .map_err(|_| StepError::msg(field, format!("{name}: unknown capability")))?;
        out.insert(cap);
    }
    Ok(out)
}

struct CapSets {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

fn cap_sets(process: &Process) -> Result<CapSets, StepError> {
    // No process.capabilities means no capabilities at all: never more than the config
    // lists.
    let Some(c) = process.capabilities() else {
        return Ok(CapSets {
            bounding: CapsHashSet::new(),
            effective: CapsHashSet::new(),
            permitted: CapsHashSet::new(),
            inheritable: CapsHashSet::new(),
            ambient: CapsHashSet::new(),
        });
    };
    Ok(CapSets {
        bounding: to_caps(c.bounding(), "process.capabilities.bounding")?,
        effective: to_caps(c.effective(), "process.capabilities.effective")?,
        permitted: to_caps(c.permitted(), "process.capabilities.permitted")?,
        inheritable: to_caps(c.inheritable(), "process.capabilities.inheritable")?,
        ambient: to_caps(c.ambient(), "process.capabilities.ambient")?,
    })
}

fn cap_names(s: &CapsHashSet) -> String {
    let mut v: Vec<String> = s.iter().map(|c| c.to_string()).collect();
    v.sort();
    v.join(", ")
}

/// Becomes process.user with exactly the configured capabilities.
///
/// Order matters: the bounding set can only be reduced while CAP_SETPCAP is effective;
/// PR_SET_KEEPCAPS keeps the permitted set across the uid change (which otherwise clears
/// it); effective must be narrowed before permitted (effective ⊆ permitted at every
/// capset); ambient capabilities can only be raised once permitted and inheritable hold
/// them.
///
/// `keep_admin`: the container's seccomp filter is installed last, right before execve,
/// and without no_new_privs the kernel wants CAP_SYS_ADMIN for that. It then stays in the
/// permitted and effective sets until execve, which recomputes both from the bounding,
/// inheritable and ambient sets and the file's capabilities; without no_new_privs (and
/// with nobody ptracing this non-dumpable process) the old permitted set plays no part,
/// so the process still starts with exactly the configured capabilities.
fn become_user(process: &Process, may_setgroups: bool, keep_admin: bool) -> Result<(), StepError> {
    let mut sets = cap_sets(process)?;
    let user = process.user();
    let all = caps::all();

    for cap in all.difference(&sets.bounding) {
        // Dropping one that is not in the set succeeds too, so no prctl asks first; a
        // failure counts only while the capability is still there (one this kernel does
        // not know is in no bounding set).
        if let Err(e) = caps::drop(None, CapSet::Bounding, *cap)
            && caps::has_cap(None, CapSet::Bounding, *cap).unwrap_or(false)
        {
            return Err(StepError::msg(
                "process.capabilities.bounding",
                e.to_string(),
            ));
        }
    }

    nix::sys::prctl::set_keepcaps(true).ctx(|| "PR_SET_KEEPCAPS")?;
    if may_setgroups {
        let gids: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        // Also with an empty list: rt's own supplementary groups must not leak in.
        setgroups(&gids).ctx(|| "process.user.additionalGids: setgroups")?;
    } else if user
        .additional_gids()
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        return Err(StepError::msg(
            "process.user.additionalGids",
            "setgroups is denied in this user namespace",
        ));
    }
    let gid = Gid::from_raw(user.gid());
    let uid = Uid::from_raw(user.uid());
    setresgid(gid, gid, gid).ctx(|| format!("process.user.gid: setresgid {gid}"))?;
    setresuid(uid, uid, uid).ctx(|| format!("process.user.uid: setresuid {uid}"))?;
    nix::sys::prctl::set_keepcaps(false).ctx(|| "PR_SET_KEEPCAPS")?;

    let outside_bounding: CapsHashSet = sets
        .inheritable
        .difference(&sets.bounding)
        .copied()
        .collect();
    if !outside_bounding.is_empty() {
        return Err(StepError::msg(
            "process.capabilities.inheritable",
            format!("{} not in the bounding set", cap_names(&outside_bounding)),
        ));
    }
    caps::set(None, CapSet::Inheritable, &sets.inheritable)
        .map_err(|e| StepError::msg("process.capabilities.inheritable", e.to_string()))?;
    let admin_held =
        keep_admin && caps::has_cap(None, CapSet::Permitted, Cap::CAP_SYS_ADMIN).unwrap_or(false);
    // Ambient capabilities must be in the configured permitted set, not the kept one.
    let raisable_ambient: CapsHashSet = sets
        .ambient
        .intersection(&sets.permitted)
        .filter(|c| sets.inheritable.contains(c))
        .copied()
        .collect();
    let eff_not_perm: CapsHashSet = sets
        .effective
        .difference(&sets.permitted)
        .copied()
        .collect();
    if !eff_not_perm.is_empty() {
        return Err(StepError::msg(
            "process.capabilities.effective",
            format!("{} not in the permitted set", cap_names(&eff_not_perm)),
        ));
    }
    if admin_held {
        sets.effective.insert(Cap::CAP_SYS_ADMIN);
        sets.permitted.insert(Cap::CAP_SYS_ADMIN);
    }
    caps::set(None, CapSet::Effective, &sets.effective)
        .map_err(|e| StepError::msg("process.capabilities.effective", e.to_string()))?;
    caps::set(None, CapSet::Permitted, &sets.permitted)
        .map_err(|e| StepError::msg("process.capabilities.permitted", e.to_string()))?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| StepError::msg("process.capabilities.ambient", e.to_string()))?;
    // Those the kernel would refuse were reported as a warning by the parent
    // (config::warn_unraisable_ambient); like runc, they are skipped.
    for cap in &raisable_ambient {
        caps::raise(None, CapSet::Ambient, *cap)
            .map_err(|e| StepError::msg("process.capabilities.ambient", format!("{cap}: {e}")))?;
    }
    Ok(())
}

pub fn set_umask(process: &Process) {
    let mask = process.user().umask().unwrap_or(0o022);
    umask(Mode::from_bits_truncate(mask & 0o777));
}

pub fn set_no_new_privs(process: &Process) -> Result<(), StepError> {
    if process.no_new_privileges().unwrap_or(false) {
        nix::sys::prctl::set_no_new_privs().ctx(|| "process.noNewPrivileges")?;
    }
    Ok(())
}

fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|kv| kv.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

/// Whether execve may run `p` as far as permissions go, judged as execve judges it: with
/// the effective ids and capabilities (AT_EACCESS). Plain access(2) uses the real ids and
/// drops every capability for a non-root user, so CAP_DAC_OVERRIDE would not count
/// (runc's start_hello.bats: a user with it runs a program only root may execute).
fn may_execute(p: &Path) -> nix::Result<()> {
    nix::unistd::faccessat(None, p, AccessFlags::X_OK, nix::fcntl::AtFlags::AT_EACCESS)
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file()) && may_execute(p).is_ok()
}

/// The program must be a file of the container's root: resolved again with openat2 under
/// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so that a path through a /proc/self/fd or
/// /proc/PID/root magic link (to a directory of the host that some fd still reaches) is
/// refused rather than executed. Kernels without openat2 (< 5.6) rely on the inherited
/// fds being closed (close_inherited).
fn stays_in_root(program: &Path, arg0: &str) -> Result<(), StepError> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let field = || format!("process.args[0]: {arg0}");
    let abs = if program.is_absolute() {
        program.to_path_buf()
    } else {
        std::env::current_dir().ctx(field)?.join(program)
    };
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .ctx(field)?;
    match rustix::fs::openat2(
        &root,
        &abs,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(_) => Ok(()),
        Err(rustix::io::Errno::NOSYS) => Ok(()),
        Err(rustix::io::Errno::LOOP | rustix::io::Errno::XDEV) => Err(StepError::msg(
            field(),
            "must resolve inside the container's root, without /proc magic links",
        )),
        Err(e) => Err(std::io::Error::from(e)).ctx(field),
    }
}

/// Finds process.args[0] the way execvp would, using the container's PATH (or the default
/// one), so that a missing program fails `create` with a clear message instead of a bare
/// exit code after `start`.
pub fn find_program(arg0: &str, env: &[String]) -> Result<PathBuf, StepError> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        let meta = std::fs::metadata(&p).ctx(|| format!("process.args[0]: {arg0}"))?;
        if meta.is_dir() {
            return Err(StepError::msg(
                format!("process.args[0]: {arg0}"),
                "is a directory",
            ));
        }
        may_execute(&p).ctx(|| format!("process.args[0]: {arg0}"))?;
        stays_in_root(&p, arg0)?;
        return Ok(p);
    }
    let path = env_value(env, "PATH").unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        if is_executable_file(&candidate) {
            stays_in_root(&candidate, arg0)?;
            return Ok(candidate);
        }
    }
    Err(StepError::msg(
        format!("process.args[0]: {arg0:?}"),
        "executable file not found in $PATH",
    ))
}

/// The most rt reads of a file of the image (/etc/passwd): real ones are kilobytes.
const IMAGE_FILE_LIMIT: u64 = 4 << 20;

/// A text file of the container's image, which is hostile: only a regular file, opened
/// without blocking (a FIFO would hang rt; O_NONBLOCK makes its open return at once) and
/// read up to IMAGE_FILE_LIMIT (a link to /dev/zero would grow rt until the OOM killer
/// came). Anything else reads as absent.
fn read_image_file(path: &str) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > IMAGE_FILE_LIMIT {
        return None;
    }
    let mut text = String::new();
    f.take(IMAGE_FILE_LIMIT).read_to_string(&mut text).ok()?;
    Some(text)
}

/// HOME from the container's /etc/passwd when the config does not set it, as runc does.
/// /etc/passwd is read directly: NSS would load shared objects from the container's image
/// into this still-privileged process.
pub fn default_home(uid: u32) -> String {
    let Some(text) = read_image_file("/etc/passwd") else {
        return "/".into();
    };
    crate::passwd::entry(&text, uid)
        .map(|e| e.home)
        .filter(|h| !h.is_empty())
        .unwrap_or("/")
        .to_owned()
}

/// The environment the process gets: process.env with each name once, where the last
/// value given wins (runc's rule, and Go's os/exec's: `exec --env` overrides the config),
/// and HOME from /etc/passwd when it is missing or empty.
pub fn environment(process: &Process) -> Vec<String> {
    let given = process.env().clone().unwrap_or_default();
    let name = |kv: &str| kv.split_once('=').map_or(kv, |(n, _)| n).to_owned();
    let mut seen = HashSet::new();
    let mut env: Vec<String> = given
        .into_iter()
        .rev()
        .filter(|kv| seen.insert(name(kv)))
        .collect();
    env.reverse();
    if env_value(&env, "HOME").is_none_or(str::is_empty) {
        env.retain(|kv| name(kv) != "HOME");
        env.push(format!("HOME={}", default_home(process.user().uid())));
    }
    env
}

/// systemd socket activation: when LISTEN_PID names this process, the LISTEN_FDS fds
/// from 3 on are the container's too (before any --preserve-fds ones), as runc passes them.
pub fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The variables that tell the container's process about passed sockets (it is pid 1
/// of its namespace as far as LISTEN_PID goes, which is what runc sets too).
pub fn listen_env(n: u32) -> [String; 2] {
    [format!("LISTEN_FDS={n}"), "LISTEN_PID=1".to_owned()]
}

/// On entry to every process rt clones for a container (init, intermediate, exec child):
/// rt is a copy of its caller, so every fd the caller left open without close-on-exec is
/// here too, and a path such as `/proc/self/fd/N/...` in the config (process.args[0], a
/// hook, a mount source) would reach the caller's files through it. All are closed but
/// stdio, the `--preserve-fds` range (the caller's on purpose) and `keep`, the fds this
/// process itself uses; before anything reads a path from the config.
/// With process.terminal, the container's stdio will be the pty: the caller's stdio is
/// let go of at once, replaced by /dev/null until execve. An engine reads `create`'s
/// output to its end (containerd's go-runc waits for EOF on the pipe it gave as stdout and
/// stderr), and an init still holding that pipe while it waits for `start` would hang the
/// engine forever (`docker run -it` did, found by the e2e lane).
pub fn release_callers_stdio(
    process: Option<&oci_spec::runtime::Process>,
) -> Result<(), StepError> {
    if process.and_then(|p| p.terminal()) != Some(true) {
        return Ok(());
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ctx(|| "process.terminal: opening /dev/null for the time before execve")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the stdio numbers; no Rust object owns fds 0-2 here (std's
        // handles borrow them and stay valid: they now refer to /dev/null).
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| "process.terminal: letting go of the caller's stdio");
        }
    }
    Ok(())
}

pub fn close_inherited(preserve: u32, keep: &[RawFd]) -> Result<(), StepError> {
    let first = 3u32.saturating_add(preserve);
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd >= first)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut ranges = Vec::new();
    let mut lo = first;
    for k in keep.iter().copied() {
        if k > lo {
            ranges.push((lo, k - 1));
        }
        lo = k + 1;
    }
    ranges.push((lo, u32::MAX));
    for (lo, hi) in ranges {
        // SAFETY: close_range takes plain integers; the fds it closes are owned by no live
        // Rust object this process uses (those are in `keep`).
        let ret = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) };
        if ret != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOSYS) {
                return Err(e).ctx(|| "closing the fds rt inherited");
            }
            for fd in open_fds().ctx(|| "listing the fds rt inherited")? {
                if (lo as i64..=hi as i64).contains(&(fd as i64)) {
                    // SAFETY: as above, for one fd.
                    unsafe { libc::close(fd) };
                }
            }
        }
    }
    // pathrs keeps a cached procfs fd that may have been among them: make it notice now,
    // while that fd number is still closed, so it never trusts a reused number later.
    let _ = pathrs::procfs::ProcfsHandle::new();
    Ok(())
}

/// Only stdio and the `--preserve-fds` range survive execve: everything else rt holds
/// (sockets, the state directory, its own binary) is marked close-on-exec, in one syscall
/// where the kernel has close_range(CLOSE_RANGE_CLOEXEC) (5.11) and a seccomp filter rt
/// runs under does not refuse it, else one fd at a time from a private procfs's list.
fn seal_fds(preserve: u32) -> Result<(), StepError> {
    let first = 3u32.saturating_add(preserve);
    for fd in 3..first {
        let fd = fd as i32;
        if let Ok(flags) = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD) {
            let mut flags = nix::fcntl::FdFlag::from_bits_truncate(flags);
            flags.remove(nix::fcntl::FdFlag::FD_CLOEXEC);
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flags))
                .ctx(|| format!("--preserve-fds: fd {fd}"))?;
        }
    }
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on fds; no memory is
    // passed and no fd is closed under a live Rust owner.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let refused = std::io::Error::last_os_error();
    crate::debug!("close_range(CLOSE_RANGE_CLOEXEC): {refused}; marking fds one by one");
    for fd in open_fds().ctx(|| "listing rt's fds to mark them close-on-exec")? {
        if fd < first as i32 {
            continue;
        }
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .ctx(|| format!("marking fd {fd} close-on-exec"))?;
    }
    Ok(())
}

/// This process's open fds, listed from a private procfs (no /proc the container shaped
/// can hide one), collected before any is changed.
fn open_fds() -> std::io::Result<Vec<i32>> {
    let procfs = pathrs::procfs::ProcfsHandle::new().map_err(std::io::Error::other)?;
    let dir = procfs
        .open(
            pathrs::procfs::ProcfsBase::ProcSelf,
            "fd",
            pathrs::flags::OpenFlags::O_RDONLY
                | pathrs::flags::OpenFlags::O_DIRECTORY
                | pathrs::flags::OpenFlags::O_CLOEXEC,
        )
        .map_err(std::io::Error::other)?;
    let listed = std::os::fd::IntoRawFd::into_raw_fd(dir);
    // Dir owns the fd from here and closes it when dropped.
    let mut dir = nix::dir::Dir::from_fd(listed)?;
    let mut fds = Vec::new();
    for entry in dir.iter() {
        let entry = entry?;
        if let Some(fd) = entry.file_name().to_str().ok().and_then(|n| n.parse().ok())
            && fd != listed
        {
            fds.push(fd);
        }
    }
    Ok(fds)
}

/// Signal dispositions and mask as a fresh process has them. execve keeps ignored signals
/// and the blocked mask; rt ignores SIGPIPE and blocks signals it forwards, and the
/// container's process must not inherit either.
pub fn reset_signals() {
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_DFL installs no Rust handler; nothing runs asynchronously.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// A created container's init waits for `start` as pid 1 of its pid namespace, where the
/// kernel drops every signal from outside that the process has no handler for. runc's
/// init (a Go program, whose runtime handles them) dies of SIGHUP, SIGINT, SIGTERM and
/// SIGQUIT, and callers rely on that: `kill` (TERM by default) ends a container that was
/// never started, as runc's pidfd-socket.bats checks. So these end the waiting init, as
/// if by the signal (exit status 128+N). execve resets the handlers.
pub fn die_on_termination_signals() -> Result<(), StepError> {
    extern "C" fn die(sig: libc::c_int) {
        // SAFETY: _exit is async-signal-safe and ends the process at once.
        unsafe { libc::_exit(128 + sig) }
    }
    let action = nix::sys::signal::SigAction::new(
        SigHandler::Handler(die),
        nix::sys::signal::SaFlags::empty(),
        SigSet::empty(),
    );
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGQUIT,
    ] {
        // SAFETY: the handler calls only _exit, which is async-signal-safe.
        unsafe { nix::sys::signal::sigaction(sig, &action) }
            .ctx(|| format!("installing a handler for {sig}"))?;
        set.add(sig);
    }
    sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None).ctx(|| "unblocking signals")
}

/// `cwd`, entered as root before the user switch. getcwd() afterwards proves the
/// directory is reachable from the new root: a cwd reached through a leaked host fd (such
/// as /proc/self/fd/N, CVE-2024-21626) is reported by the kernel as unreachable.
pub fn enter_cwd(cwd: &Path) -> Result<(), StepError> {
    nix::unistd::chdir(cwd).ctx(|| format!("process.cwd: {}", cwd.display()))?;
    nix::unistd::getcwd()
        .ctx(|| format!("process.cwd: {}: outside the container", cwd.display()))?;
    Ok(())
}

/// What execve gets, prepared while rt may still make any syscall: after the container's
/// seccomp filter is in place nothing may allocate (malloc can call brk or mmap).
pub struct Target {
    pub program: PathBuf,
    c_program: CString,
    // The pointer arrays point into these.
    _c_args: Vec<CString>,
    _c_env: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl Target {
    fn new(program: PathBuf, args: &[String], env: &[String]) -> Result<Target, StepError> {
        let c_program = path_cstring(&program)?;
        let c_args = cstrings(args.iter().map(String::as_str))?;
        let c_env = cstrings(env.iter().map(String::as_str))?;
        let argv = null_terminated(&c_args);
        let envp = null_terminated(&c_env);
        Ok(Target {
            program,
            c_program,
            _c_args: c_args,
            _c_env: c_env,
            argv,
            envp,
        })
    }
}

fn null_terminated(items: &[CString]) -> Vec<*const libc::c_char> {
    items
        .iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The security-ordered steps that turn rt's child into the configured process, the same
/// for the container's init and for `rt exec`: limits while still privileged, the working
/// directory (entered as root, checked to be inside the container), the LSM labels for
/// execve, user and capabilities, umask, no_new_privs, and the program found in the
/// container. Only `exec` (stdio, signals, fds, the seccomp filter, execve) is left.
pub fn become_process(
    process: &Process,
    wide: super::sched::ContainerWide,
    role: super::sched::Role,
    setgroups_allowed: bool,
    seccomp: Option<&crate::security::seccomp::Filter>,
) -> Result<Target, StepError> {
    set_rlimits(process)?;
    enter_cwd(process.cwd())?;
    crate::security::lsm::set_exec_labels(process)?;
    // With the capabilities still held: real-time policies and I/O classes need them.
    super::sched::apply(process, wide, role)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    become_user(process, setgroups_allowed, seccomp.is_some() && !nnp)?;
    set_umask(process);
    set_no_new_privs(process)?;
    let env = environment(process);
    let args = process.args().clone().unwrap_or_default();
    let arg0 = args
        .first()
        .ok_or_else(|| StepError::msg("process.args", "must name a program to run"))?;
    let program = find_program(arg0, &env)?;
    Target::new(program, &args, &env)
}

/// The last steps: stdio (the terminal, if any), signals and fds as the process must get
/// them, the container's seccomp filter, execve. Once the filter is in place rt makes no
/// syscall but execve (a notify fd goes to `hand_over` before the profile's own verdicts
/// apply, see seccomp::Filter::install), so no profile needs to allow anything of rt's:
/// allowlists written before close_range existed work. Returns only the error.
pub fn exec(
    target: &Target,
    preserve_fds: u32,
    terminal: Option<&std::os::fd::OwnedFd>,
    seccomp: Option<&crate::security::seccomp::Filter>,
    hand_over: impl FnOnce(std::os::fd::OwnedFd) -> std::io::Result<()>,
) -> Result<std::convert::Infallible, StepError> {
    match terminal {
        Some(slave) => crate::console::become_terminal_process(slave)?,
        // A session of its own without a terminal too, as runc's processes get: nothing
        // sent to the caller's terminal's process group reaches it, and CRIU can dump the
        // container (it refuses a tree whose session leader is outside it). EPERM: it
        // leads a process group already, which is as good.
        None => match nix::unistd::setsid() {
            Ok(_) | Err(nix::errno::Errno::EPERM) => {}
            Err(e) => return Err(e).ctx(|| "setsid"),
        },
    }
    reset_signals();
    seal_fds(preserve_fds)?;
    crate::security::seccomp::install(seccomp, hand_over)?;
    // SAFETY: the program path and both arrays are NUL-terminated and live in `target` for
    // the whole call; execve returns only on failure.
    unsafe {
        libc::execve(
            target.c_program.as_ptr(),
            target.argv.as_ptr(),
            target.envp.as_ptr(),
        )
    };
    Err(StepError {
        what: format!("exec {}", target.program.display()),
        cause: crate::error::Cause::Exec(nix::errno::Errno::last()),
    })
}

pub fn cstrings<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<CString>, StepError> {
    items
        .into_iter()
        .map(|s| {
            CString::new(s).map_err(|_| {
                StepError::msg(
                    "process",
                    format!("{}: contains a NUL byte", crate::error::quoted(s)),
                )
            })
        })
        .collect()
}

pub fn path_cstring(p: &Path) -> Result<CString, StepError> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| StepError::msg("process.args[0]", "contains a NUL byte"))
}

/// Names of capabilities in a set, for tests and debug output.
#[allow(dead_code)]
pub fn names(set: &HashSet<Cap>) -> Vec<String> {
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_lookup_uses_container_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let p = find_program("sh", &env).unwrap();
        assert!(p.ends_with("sh"));
        let e = find_program("definitely-not-a-program", &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "process.args[0]: \"definitely-not-a-program\": executable file not found in $PATH"
        );
        let e = find_program("/nonexistent/x", &env).unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
        assert!(find_program("/", &env).is_err());
    }

    #[test]
    fn env_lookup_takes_last_definition() {
        let env = vec!["A=1".to_string(), "AB=2".into(), "A=3".into()];
        assert_eq!(env_value(&env, "A"), Some("3"));
        assert_eq!(env_value(&env, "AB"), Some("2"));
        assert_eq!(env_value(&env, "B"), None);
    }

    #[test]
    fn environment_has_each_name_once_and_a_home() {
        let mut p = Process::default();
        let given = [
            "ONE=two",
            "HOME=/x",
            "ONE=",
            "HOME=",
            "PATH=/bin",
            "ONE=three",
        ];
        p.set_env(Some(given.iter().map(|s| s.to_string()).collect()));
        let home = format!("HOME={}", default_home(p.user().uid()));
        assert_eq!(
            environment(&p),
            vec!["PATH=/bin".to_string(), "ONE=three".into(), home]
        );
        p.set_env(Some(vec!["HOME=/override".into(), "ONE=".into()]));
        assert_eq!(environment(&p), vec!["HOME=/override", "ONE="]);
    }

    #[test]
    fn oci_capability_names_map_to_caps() {
        let mut set = Capabilities::new();
        set.insert(oci_spec::runtime::Capability::NetBindService);
        set.insert(oci_spec::runtime::Capability::SysAdmin);
        let caps = to_caps(&Some(set), "x").unwrap();
        assert_eq!(names(&caps), vec!["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]);
    }
}
