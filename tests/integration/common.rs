//! Shared test harness: busybox bundles built on the fly, a private --root per test, and
//! guards that delete every container and directory a test made, even when it fails.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

pub const RT: &str = env!("CARGO_BIN_EXE_rt");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Integration tests need root (namespaces, mounts, cgroups). Without it they say so and
/// pass vacuously; CI runs them as root.
/// The integration tests act on the host (namespaces, mounts, cgroups) and need root.
/// Each is `#[ignore]`d with that reason, so that a plain `cargo test` shows them as
/// ignored instead of passing them unrun; run as root with `-- --include-ignored` (as
/// scripts/test.sh does), and run by anyone else, they fail here saying why.
#[track_caller]
pub fn need_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (it creates namespaces, mounts and cgroups)"
    );
}

fn busybox() -> &'static Path {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        for p in ["/bin/busybox", "/usr/bin/busybox"] {
            if Path::new(p).exists() {
                return PathBuf::from(p);
            }
        }
        panic!("busybox-static is not installed (apt-get install busybox-static)");
    })
}

fn applets() -> &'static Vec<String> {
    static A: OnceLock<Vec<String>> = OnceLock::new();
    A.get_or_init(|| {
        let out = Command::new(busybox()).arg("--list").output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty() && *l != "busybox")
            .map(String::from)
            .collect()
    })
}

/// A unique name for this test run: the test process's pid plus a counter. The counter
/// has a fixed width: no name is then a part of another (`x-1-13` of `x-1-133`), which
/// searches by name (processes_mentioning) rely on while other tests run beside.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{:06}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temporary directory removed on drop (after unmounting anything a test left there).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join("rt-tests").join(unique(prefix));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes a busybox root file system into `rootfs`.
pub fn make_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin).unwrap();
    fs::copy(busybox(), bin.join("busybox")).unwrap();
    for a in applets() {
        let _ = symlink("busybox", bin.join(a));
    }
    for d in ["proc", "sys", "dev", "etc", "tmp", "root"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser1:x:1000:1000::/home/user1:/bin/sh\n",
    )
    .unwrap();
    fs::write(rootfs.join("etc/group"), "root:x:0:\nuser1:x:1000:\n").unwrap();
}

/// runc's default spec, without a terminal, running `args`.
pub fn default_config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "rt-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// A bundle (config.json + busybox rootfs) in its own temporary directory.
pub struct Bundle {
    pub dir: TempDir,
    pub config: Value,
}

impl Bundle {
    pub fn new(args: &[&str]) -> Bundle {
        let dir = TempDir::new("bundle");
        make_rootfs(&dir.path().join("rootfs"));
        let b = Bundle {
            dir,
            config: default_config(args),
        };
        b.save();
        b
    }

    /// A bundle running `sh -c script`.
    pub fn sh(script: &str) -> Bundle {
        Bundle::new(&["sh", "-c", script])
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.path().join("rootfs")
    }

    pub fn save(&self) {
        fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Changes the config with `f` and writes it back.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.save();
        self
    }

    pub fn add_mount(&mut self, m: Value) -> &mut Self {
        self.edit(|c| c["mounts"].as_array_mut().unwrap().push(m))
    }

    pub fn set_namespaces(&mut self, ns: Value) -> &mut Self {
        self.edit(|c| c["linux"]["namespaces"] = ns)
    }

    /// A user namespace of the container's own, its root mapped to host uid and gid 100000
    /// (65536 ids), and the rootfs owned by that root.
    pub fn in_user_namespace(&mut self) -> &mut Self {
        crate::namespaces::chown_tree(&self.rootfs(), 100000, 100000);
        self.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        })
    }
}

/// A private state root; every container created under it is force-deleted on drop.
pub struct Rt {
    pub root: TempDir,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The code rt exits with when it fails itself: 255 for exec (runc's, apart from
    /// the codes of the process exec runs), 1 for every other command.
    pub failure_code: i32,
}

/// Runs `cmd` with stdout and stderr captured in anonymous files rather than pipes: a
/// container created by the command inherits them and may keep them open long after `rt`
/// has exited, which would make waiting for EOF on a pipe hang.
pub fn capture(cmd: &mut Command) -> Out {
    let out = memfd("rt-test-stdout");
    let err = memfd("rt-test-stderr");
    let mut child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap();
    // A hung rt must fail its test, not hang the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within 90 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Out {
        code: status.code().unwrap_or(128 + status.signal().unwrap_or(0)),
        stdout: read_all(out),
        stderr: read_all(err),
        failure_code: if cmd.get_args().any(|a| a == "exec") {
            255
        } else {
            1
        },
    }
}

pub fn memfd(name: &str) -> fs::File {
    let name = std::ffi::CString::new(name).unwrap();
    let fd = nix::sys::memfd::memfd_create(&name, nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC)
        .unwrap();
    fs::File::from(fd)
}

pub fn read_all(mut f: fs::File) -> String {
    use std::io::{Read, Seek};
    let mut s = Vec::new();
    f.rewind().unwrap();
    f.read_to_end(&mut s).unwrap();
    String::from_utf8_lossy(&s).into_owned()
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "rt failed (exit {}):\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts failure with rt's exit code for its own failures (1; 255 for exec) and a
    /// one-line error containing `needle`.
    #[track_caller]
    pub fn fails_with(&self, needle: &str) {
        assert_eq!(
            self.code, self.failure_code,
            "expected exit 1, got {}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr does not mention {needle:?}:\n{}",
            self.stderr
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.contains("warning"))
            .collect();
        assert_eq!(lines.len(), 1, "error is not one line:\n{}", self.stderr);
        assert!(lines[0].starts_with("rt: "), "{}", self.stderr);
    }
}

impl Rt {
    pub fn new() -> Rt {
        Rt {
            root: TempDir::new("root"),
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(RT);
        c.arg("--root").arg(self.root.path());
        c.stdin(Stdio::null());
        c
    }

    pub fn rt(&self, args: &[&str]) -> Out {
        capture(self.cmd().args(args))
    }

    /// `rt run --bundle B ID`, capturing output.
    pub fn run(&self, bundle: &Bundle, id: &str) -> Out {
        self.rt(&["run", "--bundle", bundle.path().to_str().unwrap(), id])
    }

    /// `rt --debug run --bundle B ID`, capturing output (the trace is on stderr).
    pub fn run_debug(&self, bundle: &Bundle, id: &str) -> Out {
        self.rt(&[
            "--debug",
            "run",
            "--bundle",
            bundle.path().to_str().unwrap(),
            id,
        ])
    }

    /// Runs the bundle to completion and returns the container's stdout, asserting success.
    #[track_caller]
    pub fn output(&self, bundle: &Bundle) -> String {
        let id = unique("c");
        let out = self.run(bundle, &id);
        out.ok().to_owned()
    }

    pub fn create(&self, bundle: &Bundle, id: &str) -> Out {
        self.rt(&["create", "--bundle", bundle.path().to_str().unwrap(), id])
    }

    pub fn state(&self, id: &str) -> Value {
        let out = self.rt(&["state", id]);
        serde_json::from_str(out.ok()).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s) for a container to reach `status`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) {
        for _ in 0..1000 {
            let out = self.rt(&["state", id]);
            if out.code == 0 && out.stdout.contains(&format!("\"status\": \"{status}\"")) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "{id} never became {status}: {:?}",
            self.rt(&["state", id]).stdout
        );
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(self.root.path()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.cmd().args(["delete", "--force", &id]).output();
            }
        }
    }
}

/// This test process's cgroup path in a hierarchy (v1 controller name or "" for cgroup2).
pub fn own_cgroup(controller: &str) -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        if ctrls.split(',').any(|c| c == controller) || (controller.is_empty() && ctrls.is_empty())
        {
            return path.to_owned();
        }
    }
    panic!("no {controller} cgroup for this process")
}

/// This test process's own cgroup directory in the v1 memory hierarchy.
pub fn own_memory_dir() -> PathBuf {
    std::path::Path::new("/sys/fs/cgroup/memory").join(own_cgroup("memory").trim_start_matches('/'))
}

/// A small reproducible random source (xorshift64): `rand(m)` is below `m`. `seed` must
/// not be 0.
pub fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |m| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    }
}

/// Every cgroup directory (any hierarchy) whose name is `id`.
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    cgroup_dirs_where(|name| name == id)
}

/// Every cgroup directory (any hierarchy) whose name `pick` accepts.
pub fn cgroup_dirs_where(pick: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    fn walk(dir: &Path, id: &dyn Fn(&str) -> bool, found: &mut Vec<PathBuf>, depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if !t.is_dir() {
                continue;
            }
            let p = e.path();
            if id(&e.file_name().to_string_lossy()) {
                found.push(p.clone());
            }
            walk(&p, id, found, depth + 1);
        }
    }
    walk(Path::new("/sys/fs/cgroup"), &pick, &mut found, 0);
    found
}

/// Pids of processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(cmd) = fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&cmd)
                .replace('\0', " ")
                .contains(needle)
        {
            pids.push(pid);
        }
    }
    pids
}

/// Host mounts whose mount point lies under `dir`.
pub fn host_mounts_under(dir: &Path) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|mp| Path::new(mp).starts_with(dir))
        })
        .map(String::from)
        .collect()
}

/// Asserts that nothing of container `id` is left: state directory, cgroups, processes,
/// host mounts under the bundle.
#[track_caller]
pub fn assert_no_trace(rt: &Rt, id: &str, bundle: &Bundle) {
    assert!(
        !rt.root().join(id).exists(),
        "state directory of {id} left behind"
    );
    let leftovers: Vec<_> = fs::read_dir(rt.root())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "--root not empty: {leftovers:?}");
    assert_eq!(
        cgroup_dirs_named(id),
        Vec::<PathBuf>::new(),
        "cgroups left behind"
    );
    assert_eq!(
        processes_mentioning(id),
        Vec::<i32>::new(),
        "processes left behind"
    );
    assert_eq!(
        host_mounts_under(bundle.path()),
        Vec::<String>::new(),
        "mounts left behind"
    );
    assert_eq!(
        host_mounts_under(rt.root()),
        Vec::<String>::new(),
        "mounts left under --root"
    );
}

/// The (topmost) mountinfo line of mount point `mp`.
#[track_caller]
pub fn mount_line<'a>(mountinfo: &'a str, mp: &str) -> &'a str {
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(mp))
        .unwrap_or_else(|| panic!("{mp} not mounted:\n{mountinfo}"))
}

/// Start time (clock ticks since boot) of a process, if it exists and is not a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    if fields[0] == "Z" || fields[0] == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Waits (up to 5 s) until the process that had `start` as its start time is gone
/// (exited, a zombie, or its pid taken by another process); false if it never went.
pub fn wait_dead(pid: i32, start: u64) -> bool {
    for _ in 0..500 {
        if start_time(pid) != Some(start) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// A --console-socket: a listening unix socket that receives the pty master.
pub struct ConsoleSocket {
    pub path: PathBuf,
    listener: std::os::unix::net::UnixListener,
    _dir: TempDir,
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = TempDir::new("console");
        let path = dir.path().join("console.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        ConsoleSocket {
            path,
            listener,
            _dir: dir,
        }
    }

    /// Accepts rt's connection and receives the master; asserts that it came as exactly
    /// one message carrying exactly one fd, and nothing after it.
    pub fn receive(&self) -> std::os::fd::OwnedFd {
        use nix::sys::socket::MsgFlags;
        use std::os::fd::AsRawFd;
        let (conn, _) = self.listener.accept().unwrap();
        let (_, mut fds) = recv_message(&conn);
        assert_eq!(fds.len(), 1, "expected exactly one fd, got {fds:?}");
        let mut rest = [0u8; 16];
        let n = nix::sys::socket::recv(conn.as_raw_fd(), &mut rest, MsgFlags::empty()).unwrap();
        assert_eq!(n, 0, "more than one message on the console socket");
        fds.remove(0)
    }
}

/// One message from a unix socket: its bytes and the fds that came with it.
pub fn recv_message(conn: &std::os::unix::net::UnixStream) -> (Vec<u8>, Vec<std::os::fd::OwnedFd>) {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(f) = c {
            // SAFETY (test): fds that arrive in SCM_RIGHTS are ours alone.
            fds.extend(
                f.into_iter()
                    .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let n = msg.bytes;
    buf.truncate(n);
    (buf, fds)
}

/// Reads a pty master until its process side is gone (EIO) or `deadline_secs` pass.
pub fn read_pty(master: &std::os::fd::OwnedFd, deadline_secs: u64) -> String {
    use std::os::fd::AsFd;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(deadline_secs);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        let mut fds = [nix::poll::PollFd::new(
            master.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)) {
            Ok(0) => continue,
            Ok(_) => match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(master), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            },
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}

/// The static probe (probe/sysprobe.c) that makes system calls and prints what the kernel
/// answered, compiled once per test run.
pub fn sysprobe() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/probe/sysprobe.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let tmp = dir.join(format!("sysprobe.{}", std::process::id()));
        let st = Command::new("cc")
            .args(["-static", "-O1", "-no-pie", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("cc (gcc) is installed");
        assert!(st.success(), "compiling {}", src.display());
        let out = dir.join("sysprobe");
        fs::rename(&tmp, &out).unwrap();
        out
    })
}
