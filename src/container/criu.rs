//! `checkpoint` and `restore` through CRIU's command line (`criu dump`, `criu restore`), as
//! runc drives it through CRIU's RPC: the same images, the same external mounts (a bind
//! from the host is recorded under its destination and found again from the config at
//! restore; every masked file is the host's /dev/null), the init's stdio pipes handed
//! back with --inherit-fd (descriptors.json in the image directory, as runc writes it).
//!
//! Unlike runc, rt leaves cgroups out of CRIU's hands by default: the restoring criu is
//! placed in the new container's cgroup (with its limits) before it execs, so every
//! restored process is born there. `--manage-cgroups-mode` hands them to CRIU instead.
//! A failure is reported with CRIU's own first error line and the path of its log.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use oci_spec::runtime::Spec;

/// Options that checkpoint and restore both pass to CRIU.
pub struct CriuOpts {
    pub image_path: PathBuf,
    /// Default: the image directory (so the log stays with the images).
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<String>,
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

pub struct CheckpointOpts {
    pub criu: CriuOpts,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub pre_dump: bool,
}

const DESCRIPTORS: &str = "descriptors.json";

pub use super::CRIU_ROOT_DIR as ROOT_DIR;

/// The criu binary on PATH.
pub fn binary() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join("criu"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!("criu: not found in PATH; checkpoint and restore need CRIU (Debian: apt-get install criu)")
        })
}

impl CriuOpts {
    pub fn work_dir(&self) -> &Path {
        self.work_path.as_deref().unwrap_or(&self.image_path)
    }

    /// Returns the arguments common to dump and restore, and makes the directories once
    /// the flags are known to be good (a refused flag leaves no directory behind).
    fn args(&self, log: &str) -> anyhow::Result<Vec<OsString>> {
        let mut a: Vec<OsString> = vec![
            "-D".into(),
            self.image_path.clone().into(),
            "-W".into(),
            self.work_dir().into(),
            "-o".into(),
            log.into(),
            "-v4".into(),
        ];
        for (on, flag) in [
            (self.tcp_established, "--tcp-established"),
            (self.ext_unix_sk, "--ext-unix-sk"),
            (self.shell_job, "--shell-job"),
            (self.file_locks, "--file-locks"),
            (self.auto_dedup, "--auto-dedup"),
            (self.lazy_pages, "--lazy-pages"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        match self.manage_cgroups_mode.as_deref() {
            None => a.push("--manage-cgroups=ignore".into()),
            Some(m @ ("soft" | "full" | "strict" | "ignore")) => {
                a.push(format!("--manage-cgroups={m}").into())
            }
            Some(other) => bail!(
                "--manage-cgroups-mode: {}: must be soft, full, strict or ignore",
                crate::error::quoted(other)
            ),
        }
        for ns in &self.empty_ns {
            match ns.as_str() {
                "network" | "net" => a.extend(["--empty-ns".into(), "net".into()]),
                other => bail!(
                    "--empty-ns: {}: CRIU can leave only the network namespace empty",
                    crate::error::quoted(other)
                ),
            }
        }
        for d in [self.image_path.as_path(), self.work_dir()] {
            fs::DirBuilder::new()
                .recursive(true)
                .create(d)
                .with_context(|| format!("{}", d.display()))?;
        }
        Ok(a)
    }
}

/// A mount CRIU must be told about: one whose source is outside the container (a bind
/// from the host, or the host's /dev/null on a masked file).
struct External {
    /// Where it is in the container.
    dest: String,
    /// The name it is recorded under in the images (every masked file: "/dev/null").
    key: String,
    /// What it is bound from at restore.
    source: PathBuf,
}

/// The external mounts of `spec`; masked paths only where `root_now` (the container's
/// root, while it runs) shows a file there (a directory is masked with a tmpfs, which
/// CRIU dumps like any other).
fn external_mounts(spec: &Spec, bundle: &Path, root_now: Option<&Path>) -> Vec<External> {
    let mut out = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let opts = crate::rootfs::options::parse(m.options().as_deref().unwrap_or_default());
        if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
            continue;
        }
        let src = m.source().clone().unwrap_or_default();
        let source = if src.is_absolute() {
            src
        } else {
            bundle.join(src)
        };
        let dest = m.destination().display().to_string();
        out.push(External {
            key: dest.clone(),
            dest,
            source,
        });
    }
    let masked = spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_ref());
    for p in masked.into_iter().flatten() {
        let is_file = root_now.is_some_and(|r| {
            fs::metadata(r.join(p.trim_start_matches('/'))).is_ok_and(|md| !md.is_dir())
        });
        if is_file || (root_now.is_none() && out.iter().all(|e| e.key != "/dev/null")) {
            out.push(External {
                dest: p.clone(),
                key: "/dev/null".into(),
                source: PathBuf::from("/dev/null"),
            });
        }
    }
    out
}

/// Runs criu with `args`; on failure, CRIU's first error line and its log's path.
fn run(criu: &Path, args: &[OsString], log: &Path, what: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new(criu)
        .args(args)
        .stdin(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", criu.display()))?;
    if status.success() {
        return Ok(());
    }
    Err(failure(what, log))
}

/// "criu dump failed: <CRIU's first error> (log: PATH)".
fn failure(what: &str, log: &Path) -> anyhow::Error {
    let text = fs::read_to_string(log).unwrap_or_default();
    // The first error is the cause; the ones after it are how CRIU gave up.
    let last = text
        .lines()
        .find(|l| l.contains("Error ("))
        .map(|l| match l.split_once("): ") {
            Some((_, msg)) => msg.trim().to_owned(),
            None => l.trim().to_owned(),
        });
    // One line, of a sane length, whatever CRIU wrote.
    let reason: String = last
        .as_deref()
        .unwrap_or("no error in its log")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    anyhow!("criu {what} failed: {reason} (log: {})", log.display())
}

/// `rt checkpoint`: dumps the running container `c`'s process tree into the image
/// directory. Returns whether the container's processes are gone (a dump without
/// --leave-running or --pre-dump), in which case the caller deletes the container.
pub fn checkpoint(c: &super::Container, opts: &CheckpointOpts) -> anyhow::Result<bool> {
    let init = c
        .state
        .init
        .ok_or_else(|| anyhow!("container not running: {}", c.state.id))?;
    let criu = binary()?;
    let bundle = crate::config::load(&c.state.bundle)?;
    let verb = if opts.pre_dump { "pre-dump" } else { "dump" };
    let log_name = format!("{verb}.log");
    let mut args: Vec<OsString> = vec![verb.into()];
    args.extend(["-t".into(), init.pid.to_string().into()]);
    args.extend(opts.criu.args(&log_name)?);
    if let Some(parent) = &opts.parent_path {
        args.extend([
            "--prev-images-dir".into(),
            parent.into(),
            "--track-mem".into(),
        ]);
    }
    if opts.leave_running {
        args.push("--leave-running".into());
    }
    if !opts.pre_dump {
        let root_now = PathBuf::from(format!("/proc/{}/root", init.pid));
        for e in external_mounts(&bundle.spec, &bundle.dir, Some(&root_now)) {
            args.extend([
                "--external".into(),
                format!("mnt[{}]:{}", e.dest, e.key).into(),
            ]);
        }
        for file in write_descriptors(&opts.criu.image_path, init.pid)? {
            args.extend(["--external".into(), file.into()]);
        }
    }
    let log = opts.criu.work_dir().join(&log_name);
    run(&criu, &args, &log, verb)?;
    Ok(!opts.leave_running && !opts.pre_dump)
}

/// What the init's stdin, stdout and stderr are, as CRIU names them: `pipe:[INO]`, or for
/// a file (a host's /dev/null, a log file) `file[MNT_ID:INO]` (hex), which CRIU can dump
/// only as an external resource: its mount is not the container's. Written to
/// descriptors.json for restore, which hands its own stdio over in their place (as runc
/// does for pipes). Returns the files, for `--external`.
fn write_descriptors(images: &Path, pid: i32) -> anyhow::Result<Vec<String>> {
    use rustix::fs::{AtFlags, CWD, StatxFlags, statx};
    let mut keys = Vec::new();
    for fd in 0..3 {
        let path = format!("/proc/{pid}/fd/{fd}");
        let link = fs::read_link(&path)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // The mount id and inode of the open file, in one call through the magic link
        // (STATX_MNT_ID: Linux 5.8; older kernels leave it out of stx_mask).
        let file = (link.starts_with('/') && !link.starts_with("/dev/pts/"))
            .then(|| {
                statx(
                    CWD,
                    path.as_str(),
                    AtFlags::empty(),
                    StatxFlags::MNT_ID | StatxFlags::INO,
                )
                .ok()
            })
            .flatten()
            .filter(|st| st.stx_mask & StatxFlags::MNT_ID.bits() != 0);
        keys.push(match file {
            Some(st) => format!("file[{:x}:{:x}]", st.stx_mnt_id, st.stx_ino),
            None => link,
        });
    }
    let path = images.join(DESCRIPTORS);
    fs::write(&path, serde_json::to_vec(&keys)?).with_context(|| format!("{}", path.display()))?;
    let mut files: Vec<String> = keys
        .into_iter()
        .filter(|k| k.starts_with("file["))
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The --inherit-fd arguments that give the restored processes this process's stdio
/// where the checkpointed init had a pipe or a file from outside.
fn inherited_stdio(images: &Path) -> Vec<OsString> {
    let fds: Vec<String> = fs::read(images.join(DESCRIPTORS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    fds.iter()
        .enumerate()
        .filter(|(_, d)| d.starts_with("pipe:") || d.starts_with("file["))
        .flat_map(|(i, d)| ["--inherit-fd".into(), format!("fd[{i}]:{d}").into()])
        .collect()
}

/// A criu restore child: forked now, held until `go` before it execs, so that the caller
/// can put it in the container's cgroup first (every restored process is born there).
pub struct Held {
    pub pid: i32,
    go: Option<OwnedFd>,
}

impl Held {
    /// Lets criu go on, and waits for it (it returns once the tree is restored and
    /// running, with --restore-detached).
    pub fn run(mut self, log: &Path) -> anyhow::Result<()> {
        let go = self
            .go
            .take()
            .ok_or_else(|| anyhow!("criu already let go"))?;
        nix::unistd::write(&go, b"g").context("letting criu go")?;
        drop(go);
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None)
            .context("waiting for criu")?;
        match status {
            nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
            _ => Err(failure("restore", log)),
        }
    }
}

impl Drop for Held {
    /// Never let go: the child sees its pipe close and exits without restoring.
    fn drop(&mut self) {
        if self.go.take().is_some() {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
        }
    }
}

/// The root CRIU restores into must be a mount point whose parent is not overmounted: a
/// recursive bind of the rootfs at `at`.
pub fn bind_root(rootfs: &Path, at: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(at).with_context(|| format!("{}", at.display()))?;
    nix::mount::mount(
        Some(rootfs),
        at,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("root.path {}: binding it for criu", rootfs.display()))
}

pub fn unbind_root(at: &Path) {
    let _ = nix::mount::umount2(at, nix::mount::MntFlags::MNT_DETACH);
    let _ = fs::remove_dir(at);
}

/// Forks the criu restore process (see `Held`), restoring into `root` (see `bind_root`)
/// and writing the restored init's pid to `pidfile`.
pub fn hold_restore(
    criu: &Path,
    opts: &CriuOpts,
    spec: &Spec,
    bundle: &Path,
    root: &Path,
    pidfile: &Path,
) -> anyhow::Result<Held> {
    let mut args: Vec<OsString> = vec!["restore".into()];
    args.extend(opts.args("restore.log")?);
    args.extend([
        "--root".into(),
        root.into(),
        "--restore-detached".into(),
        "--restore-sibling".into(),
        "--pidfile".into(),
        pidfile.into(),
    ]);
    for e in external_mounts(spec, bundle, None) {
        args.extend([
            "--external".into(),
            format!("mnt[{}]:{}", e.key, e.source.display()).into(),
        ]);
    }
    args.extend(inherited_stdio(&opts.image_path));

    // Everything the child needs is made before the fork: it only reads and execs.
    let program = CString::new(criu.as_os_str().as_bytes()).context("criu's path")?;
    let argv: Vec<CString> = std::iter::once(OsStr::new("criu"))
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .context("criu's arguments")?;
    let (wait_end, go_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    match crate::spawn::clone_process(0).context("forking criu")? {
        crate::spawn::Forked::Child => {
            drop(go_end);
            let mut b = [0u8; 1];
            // A closed pipe (rt died or gave up) ends the child without restoring.
            if nix::unistd::read(wait_end.as_raw_fd(), &mut b) == Ok(1) {
                let _ = nix::unistd::execv(&program, &argv);
            }
            crate::spawn::exit(127)
        }
        crate::spawn::Forked::Parent { pid, .. } => {
            drop(wait_end);
            Ok(Held {
                pid,
                go: Some(go_end),
            })
        }
    }
}
