//! Regression tests for the known classes of container runtime vulnerabilities, one or
//! more per CVE, named after it. Each reproduces the attack's pattern against rt and
//! checks, from the host and from inside the container, that it did not work; each would
//! fail on a runtime that lacks the defence (see the comments).

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::common::*;

/// The host-side checks shared by the exe tests: `exe` is rt's binary, and reopening it
/// for writing fails because it lies on a read-only mount.
fn assert_exe_is_sealed_rt(pid: i64) {
    let handle = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(format!("/proc/{pid}/exe"))
        .unwrap();
    let via = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let exe_meta = fs::metadata(&via).unwrap();
    let rt_meta = fs::metadata(RT).unwrap();
    assert_eq!(
        (exe_meta.dev(), exe_meta.ino()),
        (rt_meta.dev(), rt_meta.ino()),
        "process {pid} does not run rt's binary"
    );
    match fs::OpenOptions::new().write(true).open(&via) {
        Err(e) => assert!(
            matches!(e.raw_os_error(), Some(libc::EROFS) | Some(libc::ETXTBSY)),
            "{e}"
        ),
        Ok(_) => panic!("rt's binary could be opened for writing through /proc/{pid}/exe"),
    }
    let st = nix::sys::statvfs::statvfs(via.as_str()).unwrap();
    assert!(
        st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY),
        "rt's binary is on a writable mount"
    );
}

/// CVE-2019-5736: a process in the container grabs the init's /proc/<pid>/exe (rt's own
/// binary until execve) and reopens it for writing once rt is gone. rt runs from a
/// read-only view of its binary, so the reopen fails with EROFS.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2019_5736_container_cannot_reopen_rt_for_writing() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["true"]);
    let id = unique("cve5736");
    rt.create(&b, &id).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    // An O_PATH handle on what the created init runs: rt's binary.
    let handle = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(format!("/proc/{pid}/exe"))
        .unwrap();
    let exe_meta = fs::metadata(format!("/proc/self/fd/{}", handle.as_raw_fd())).unwrap();
    let rt_meta = fs::metadata(RT).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (exe_meta.dev(), exe_meta.ino()),
        (rt_meta.dev(), rt_meta.ino()),
        "not rt's binary"
    );
    rt.rt(&["delete", &id]).ok();
    std::thread::sleep(std::time::Duration::from_millis(100));
    // rt is gone; the reopen through the handle must not give a writable file.
    let reopen = fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{}", handle.as_raw_fd()));
    // EROFS: the handle is on a read-only mount. (ETXTBSY if another rt happens to run
    // from the same file right now, as in a parallel test run.)
    match reopen {
        Err(e) => assert!(
            matches!(e.raw_os_error(), Some(libc::EROFS) | Some(libc::ETXTBSY)),
            "{e}"
        ),
        Ok(_) => panic!("the container could have overwritten rt's binary"),
    }
    let st = nix::sys::statvfs::statvfs(format!("/proc/self/fd/{}", handle.as_raw_fd()).as_str())
        .unwrap();
    assert!(
        st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY),
        "the init's binary is on a writable mount"
    );
}

/// CVE-2019-5736 during exec: the exec'd process is rt's binary until its execve. In a
/// paused container the exec child freezes before that moment, which lets the test hold it
/// there: its exe must be the sealed, read-only rt.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2019_5736_exec_child_cannot_reopen_rt_for_writing() {
    need_root();
    let rt = Rt::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cve5736x");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    rt.rt(&["pause", &id]).ok();
    let dir = TempDir::new("pidfile");
    let pid_file = dir.path().join("exec.pid");
    rt.rt(&[
        "exec",
        "-d",
        "--ignore-paused",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
        "true",
    ])
    .ok();
    let pid: i64 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_exe_is_sealed_rt(pid);
    rt.rt(&["resume", &id]).ok();
    rt.rt(&["delete", "-f", &id]).ok();
}

/// CVE-2024-21626: runc leaked an fd of a host directory into the container's init, and a
/// process.cwd of /proc/self/fd/N then put the container's cwd on the host. No cwd
/// through rt's own fds may lead outside the rootfs: each attempt either fails create with
/// a process.cwd error or ends inside the container.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2024_21626_cwd_through_leaked_fds_stays_inside() {
    need_root();
    let rt = Rt::new();
    // A host directory open (inheritably) in rt's caller, as a careless caller's would be.
    let host = TempDir::new("hostdir");
    fs::write(host.path().join("host-secret"), "x").unwrap();
    let dir = fs::File::open(host.path()).unwrap();
    nix::fcntl::fcntl(
        dir.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    for n in 3..16 {
        let mut b = Bundle::sh("ls -a . .. ../.. 2>&1; readlink /proc/self/cwd");
        b.edit(|c| c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}")));
        let id = unique("cve21626");
        let out = rt.run(&b, &id);
        if out.code == 0 {
            assert!(
                !out.stdout.contains("host-secret"),
                "fd {n}: {}",
                out.stdout
            );
            let cwd = out.stdout.lines().last().unwrap_or_default();
            assert!(
                !cwd.contains("rt-tests") && !cwd.contains("(unreachable)"),
                "fd {n}: cwd {cwd}"
            );
        } else {
            out.fails_with("process.cwd");
        }
        assert_no_trace(&rt, &id, &b);
    }
    // The same through exec --cwd.
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cve21626x");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    for n in 3..16 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = rt.rt(&[
            "exec",
            "--cwd",
            &cwd,
            &id,
            "sh",
            "-c",
            "ls -a . ..; readlink /proc/self/cwd",
        ]);
        assert!(
            !out.stdout.contains("host-secret"),
            "exec fd {n}: {}",
            out.stdout
        );
        assert!(
            !out.stdout.contains("rt-tests"),
            "exec fd {n}: {}",
            out.stdout
        );
    }
    rt.rt(&["delete", "-f", &id]).ok();
    drop(dir);
}

/// A thread racing rt from inside a rootfs, stopped and joined on drop, so that a failing
/// test does not leave it recreating files in a bundle that is being removed.
struct Racer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Racer {
    fn start(body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Racer {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        Racer {
            stop,
            thread: Some(std::thread::spawn(move || body(s))),
        }
    }
}

impl Drop for Racer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Flips `link` between a directory and a symlink to `target` until `stop` is set.
fn flip(
    link: std::path::PathBuf,
    target: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let tmp = link.with_extension("flip");
        while !stop.load(Ordering::Relaxed) {
            let _ = fs::remove_file(&tmp);
            let _ = symlink(&target, &tmp);
            let _ = fs::rename(&tmp, &link);
            std::thread::yield_now();
            let _ = fs::remove_file(&link);
            let _ = fs::create_dir(&link);
            std::thread::yield_now();
            let _ = fs::remove_dir(&link);
        }
    })
}

/// Runs `b` `rounds` times while `link` in its rootfs flips between a directory and a
/// symlink to `host`; afterwards nothing may have been created or mounted in `host`.
fn race_mounts(b: &Bundle, link: &str, host: &Path, rounds: usize) {
    let rt = Rt::new();
    let (link, target) = (b.rootfs().join(link), host.to_path_buf());
    let flipper = Racer::start(move |stop| {
        let _ = flip(link, target, stop).join();
    });
    let mut ran = 0;
    for _ in 0..rounds {
        let id = unique("race");
        let out = rt.run(b, &id);
        if out.code == 0 {
            ran += 1;
        }
        assert!(
            host_mounts_under(host).is_empty(),
            "a mount landed on the host"
        );
    }
    drop(flipper);
    let entries: Vec<_> = fs::read_dir(host)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(entries.is_empty(), "created on the host: {entries:?}");
    assert!(host_mounts_under(host).is_empty());
    eprintln!("{ran}/{rounds} containers started during the race");
}

/// CVE-2021-30465: a symlink swapped in between runc's check of a mount destination and
/// the mount redirected the mount to the host. Destinations are resolved inside the rootfs
/// and mounted by fd, so however the race falls, the mount stays in the rootfs.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2021_30465_symlink_swap_cannot_redirect_a_mount() {
    need_root();
    let host = TempDir::new("victim");
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs"}));
    race_mounts(&b, "race", host.path(), 40);
}

/// CVE-2024-45310: racing a shared volume made runc create empty files and directories on
/// the host while making mount points. rt makes mount points (directories for tmpfs, files
/// for a bind of a file) inside the rootfs only.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2024_45310_mount_point_creation_stays_in_the_rootfs() {
    need_root();
    let host = TempDir::new("victim");
    let src = TempDir::new("src");
    fs::write(src.path().join("file"), "x").unwrap();
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/race/a/b/file", "type": "bind",
                       "source": src.path().join("file"), "options": ["bind"]}));
    b.add_mount(json!({"destination": "/race/c/d", "type": "tmpfs", "source": "tmpfs"}));
    race_mounts(&b, "race", host.path(), 40);
}

/// CVE-2019-16884 / CVE-2023-27561: an image whose /proc is a symlink, or a config that
/// stacks another file system on /proc, gave runc a fake procfs for its LSM and sysctl
/// writes. rt refuses to mount procfs through a symlink, writes through a private procfs
/// (nothing lands in a fake), and refuses to mask look-alikes under /proc.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2019_16884_and_2023_27561_fake_proc_soaks_up_nothing() {
    need_root();
    let rt = Rt::new();
    // /proc in the image is a symlink to a directory of the image.
    let b = Bundle::new(&["true"]);
    fs::remove_dir(b.rootfs().join("proc")).unwrap();
    fs::create_dir(b.rootfs().join("fakeproc")).unwrap();
    symlink("/fakeproc", b.rootfs().join("proc")).unwrap();
    let id = unique("cve27561");
    rt.run(&b, &id).fails_with(
        "proc must be mounted on ordinary directory, and this is a symlink in the rootfs",
    );
    assert_no_trace(&rt, &id, &b);

    // A tmpfs stacked on /proc/sys after the real proc mount: the sysctl and the oom score
    // must reach the kernel, and nothing may be written into the tmpfs.
    let mut b = Bundle::sh("ls -A /proc/sys | wc -l >/tmp/entries; sleep 1000");
    b.add_mount(json!({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}));
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"kernel.domainname": "soaked.example"});
        c["process"]["oomScoreAdj"] = json!(123);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let id = unique("cve27561s");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let entries = rt.rt(&[
        "exec",
        &id,
        "sh",
        "-c",
        "while [ ! -s /tmp/entries ]; do sleep 0.05; done; cat /tmp/entries",
    ]);
    assert_eq!(entries.ok().trim(), "0", "rt wrote into the fake /proc/sys");
    let adj = fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "123");
    // The container's UTS namespace, read through the host's /proc.
    let domain = std::process::Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-u",
            "cat",
            "/proc/sys/kernel/domainname",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&domain.stdout).trim(),
        "soaked.example"
    );
    rt.rt(&["delete", "-f", &id]).ok();

    // A look-alike file under /proc (on the stacked tmpfs) is not masked as if it were
    // the real one: the mask target must be a procfs file.
    let mut b = Bundle::new(&["true"]);
    b.add_mount(json!({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}));
    b.edit(|c| c["linux"]["readonlyPaths"] = json!(["/proc/sys"]));
    let id = unique("cve27561m");
    rt.run(&b, &id).fails_with("not a file of a procfs");
    assert_no_trace(&rt, &id, &b);
}

/// Runs `rt` with the given capability sets in the caller: a process of the host that
/// holds inheritable (and ambient) capabilities, as in CVE-2022-29162.
fn run_with_inheritable_caps(rt: &Rt, args: &[&str]) -> Out {
    use std::os::unix::process::CommandExt;
    let mut cmd = rt.cmd();
    cmd.args(args);
    // SAFETY: only raw syscalls between fork and exec (capget/capset/prctl).
    unsafe {
        cmd.pre_exec(|| {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: i32,
            }
            #[repr(C)]
            #[derive(Clone, Copy, Default)]
            struct Data {
                effective: u32,
                permitted: u32,
                inheritable: u32,
            }
            let mut h = Header {
                version: 0x2008_0522,
                pid: 0,
            };
            let mut d = [Data::default(); 2];
            if libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Every permitted capability also inheritable...
            d[0].inheritable = d[0].permitted;
            d[1].inheritable = d[1].permitted;
            if libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // ...and a few ambient, which survive execve into rt.
            for cap in [
                21, // CAP_SYS_ADMIN
                12, // CAP_NET_ADMIN
                19, // CAP_SYS_PTRACE
            ] {
                if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    capture(&mut cmd)
}

fn caps_of(out: &str) -> std::collections::BTreeMap<String, u64> {
    out.lines()
        .filter(|l| l.starts_with("Cap"))
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_owned(), u64::from_str_radix(v.trim(), 16).ok()?))
        })
        .collect()
}

/// CVE-2022-29162: runc gave the container's process inheritable capabilities that the
/// config did not list. rt sets all five sets from the config alone, whatever its caller
/// holds: with no inheritable/ambient in the config they are empty, and a non-root user
/// ends with nothing.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2022_29162_no_capability_beyond_the_config() {
    need_root();
    let rt = Rt::new();
    let (kill, net_bind, audit_write) = (1u64 << 5, 1u64 << 10, 1u64 << 29);
    let configured = kill | net_bind | audit_write;
    let b = Bundle::sh("grep ^Cap /proc/self/status");
    let id = unique("cve29162");
    let out = run_with_inheritable_caps(&rt, &["run", "--bundle", b.path().to_str().unwrap(), &id]);
    let caps = caps_of(out.ok());
    assert_eq!(caps["CapInh"], 0, "{caps:x?}");
    assert_eq!(caps["CapAmb"], 0, "{caps:x?}");
    assert_eq!(caps["CapBnd"], configured, "{caps:x?}");
    assert_eq!(caps["CapEff"], configured, "{caps:x?}");
    assert_eq!(caps["CapPrm"], configured, "{caps:x?}");

    // A non-root user: nothing at all (inheritable caps plus a file capability or
    // execve rules would otherwise hand some back).
    let mut b = Bundle::sh("grep ^Cap /proc/self/status");
    b.edit(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    let id = unique("cve29162u");
    let out = run_with_inheritable_caps(&rt, &["run", "--bundle", b.path().to_str().unwrap(), &id]);
    let caps = caps_of(out.ok());
    for set in ["CapInh", "CapAmb", "CapEff", "CapPrm"] {
        assert_eq!(caps[set], 0, "{set}: {caps:x?}");
    }

    // exec --cap adds to bounding/effective/permitted only.
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cve29162x");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    let out = run_with_inheritable_caps(
        &rt,
        &[
            "exec",
            "--cap",
            "CAP_NET_RAW",
            &id,
            "grep",
            "^Cap",
            "/proc/self/status",
        ],
    );
    let caps = caps_of(out.ok());
    assert_eq!((caps["CapInh"], caps["CapAmb"]), (0, 0), "{caps:x?}");
    assert_eq!(caps["CapEff"], configured | (1 << 13), "{caps:x?}");
    rt.rt(&["delete", "-f", &id]).ok();

    // An unknown capability name is an error naming it.
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_FLY"]));
    let id = unique("cve29162n");
    rt.run(&b, &id).fails_with("process.capabilities.bounding");
    assert_no_trace(&rt, &id, &b);
}

/// A bundle whose /dev comes from the image (no tmpfs mounted on it), as with a
/// container sharing /dev with an attacker-controlled volume.
fn image_dev_bundle(script: &str) -> Bundle {
    let mut b = Bundle::sh(script);
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/dev");
    });
    b
}

/// CVE-2025-31133: runc masked paths by bind-mounting the container's /dev/null, which an
/// attacker could swap for a symlink to a procfs file such as core_pattern, turning the
/// mask into a writable window on it. rt masks with the host's own /dev/null (checked to
/// be the device 1:3), and a symlink at the image's /dev/null is refused, never followed.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2025_31133_dev_null_symlink_cannot_redirect_masking() {
    need_root();
    let rt = Rt::new();
    let b = image_dev_bundle("stat -c '%F %t:%T' /proc/timer_list");
    symlink("/proc/sys/kernel/core_pattern", b.rootfs().join("dev/null")).unwrap();
    let id = unique("cve31133");
    rt.run(&b, &id).fails_with("/dev/null");
    assert_no_trace(&rt, &id, &b);

    // With a proper /dev, the masked files are the real null device (not every kernel has
    // each of them; these two exist here).
    let b = Bundle::sh(
        "stat -c '%F %t:%T' /proc/timer_list /proc/keys; grep -c core_pattern /proc/self/mountinfo; true",
    );
    let out = rt.output(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "character special file 1:3", "{out}");
    assert_eq!(lines[1], "character special file 1:3", "{out}");
    assert_eq!(
        lines[2], "0",
        "something was mounted on core_pattern: {out}"
    );
}

/// CVE-2025-52565: runc bind-mounted the pty onto /dev/console without checking what
/// /dev/console was; an image's symlink there redirected the mount. rt binds the console
/// by fd onto a node it resolves inside the rootfs, and a symlink in the way is refused.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2025_52565_console_symlink_cannot_redirect_the_pty() {
    need_root();
    let rt = Rt::new();
    let victim = TempDir::new("console-victim");
    fs::write(victim.path().join("target"), "untouched").unwrap();
    // Absolute (to the host file) and relative escapes at /dev/console.
    let targets = [
        victim.path().join("target").display().to_string(),
        "../../../../../../../../proc/sys/kernel/core_pattern".to_string(),
    ];
    for target in targets {
        let mut b = image_dev_bundle("true");
        fs::create_dir_all(b.rootfs().join("dev")).unwrap();
        symlink(&target, b.rootfs().join("dev/console")).unwrap();
        b.edit(|c| c["process"]["terminal"] = json!(true));
        let console = ConsoleSocket::new();
        let id = unique("cve52565");
        let out = rt.rt(&[
            "create",
            "--bundle",
            b.path().to_str().unwrap(),
            "--console-socket",
            console.path.to_str().unwrap(),
            &id,
        ]);
        out.fails_with("/dev/console: is a symlink in the image");
        assert_eq!(
            fs::read_to_string(victim.path().join("target")).unwrap(),
            "untouched"
        );
        assert!(host_mounts_under(victim.path()).is_empty());
        let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !host_mounts.contains("core_pattern"),
            "a mount on the host's core_pattern"
        );
        assert_no_trace(&rt, &id, &b);
    }
}

/// CVE-2025-52881: writes to procfs (sysctls, LSM labels) that a racing mount redirected
/// to another file. rt writes them through a private procfs instance, so what the
/// container's mount table holds at the sysctl's path does not matter, and it refuses a
/// sysctl name that walks out of /proc/sys. (The redirect targets here are harmless files,
/// so a regression cannot damage the host.)
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2025_52881_procfs_writes_cannot_be_redirected() {
    need_root();
    let rt = Rt::new();
    for key in [
        "net/../../self/comm",
        "net.ipv4.ip_forward/../../../../self/comm",
    ] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["linux"]["sysctl"] = json!({key: "1"}));
        let id = unique("cve52881");
        rt.run(&b, &id).fails_with("linux.sysctl");
        assert_no_trace(&rt, &id, &b);
    }
    // A file bound over the sysctl's path in the container (what the CVE's race
    // produces): the write must reach the kernel's sysctl, not the file bound over it.
    let decoy = TempDir::new("decoy");
    fs::write(decoy.path().join("ip_forward"), "decoy\n").unwrap();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.add_mount(
        json!({"destination": "/proc/sys/net/ipv4/ip_forward", "type": "bind",
                       "source": decoy.path().join("ip_forward"), "options": ["bind"]}),
    );
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let id = unique("cve52881b");
    rt.create(&b, &id).ok();
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        fs::read_to_string(decoy.path().join("ip_forward")).unwrap(),
        "decoy\n",
        "the sysctl was written into the file mounted over it"
    );
    // The container's network namespace, read through the host's /proc.
    let fwd = std::process::Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-n",
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&fwd.stdout).trim(), "1");
    rt.rt(&["delete", "-f", &id]).ok();
}

/// CVE-2026-41579: an image whose /dev is a symlink out of the rootfs made /dev setup
/// create device nodes and links in a host directory. rt resolves /dev inside the rootfs.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn cve_2026_41579_dev_symlink_cannot_point_dev_setup_at_the_host() {
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("devvictim");
    for target in [
        host.path().display().to_string(),
        "../../../../../../../..".to_string() + &host.path().display().to_string(),
    ] {
        for image_dev in [false, true] {
            let mut b = if image_dev {
                image_dev_bundle("ls /dev >/dev/null")
            } else {
                Bundle::sh("ls /dev >/dev/null")
            };
            fs::remove_dir(b.rootfs().join("dev")).unwrap();
            symlink(&target, b.rootfs().join("dev")).unwrap();
            b.edit(|c| {
                c["linux"]["devices"] =
                    json!([{"path": "/dev/rt-test-fuse", "type": "c", "major": 10, "minor": 229}]);
                c["linux"]["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
            });
            let id = unique("cve41579");
            let _ = rt.run(&b, &id);
            let entries: Vec<_> = fs::read_dir(host.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert!(
                entries.is_empty(),
                "/dev setup wrote to the host ({target}): {entries:?}"
            );
            assert!(host_mounts_under(host.path()).is_empty());
            assert_no_trace(&rt, &id, &b);
        }
    }
}

/// LSM labels the host cannot apply are refused before anything is created (running the
/// container unconfined instead would be a silent downgrade).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn lsm_labels_this_host_lacks_are_refused() {
    need_root();
    let rt = Rt::new();
    let apparmor = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    let selinux = nix::sys::statfs::statfs("/sys/fs/selinux")
        .is_ok_and(|s| s.filesystem_type().0 == 0xf97c_ff8c);
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: [(&str, bool, Edit); 3] = [
        (
            "process.apparmorProfile",
            apparmor,
            Box::new(|c: &mut Value| c["process"]["apparmorProfile"] = json!("unconfined")),
        ),
        (
            "process.selinuxLabel",
            selinux,
            Box::new(|c: &mut Value| {
                c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0")
            }),
        ),
        (
            "linux.mountLabel",
            selinux,
            Box::new(|c: &mut Value| {
                c["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")
            }),
        ),
    ];
    for (field, host_has_it, edit) in cases {
        let mut b = Bundle::sh("cat /proc/self/attr/current");
        b.edit(|c| edit(c));
        let id = unique("lsm");
        let out = rt.run(&b, &id);
        if host_has_it {
            out.ok();
        } else {
            out.fails_with(&format!("{field}: "));
            assert!(
                out.stderr.contains("is not enabled on this host"),
                "{}",
                out.stderr
            );
        }
        assert_no_trace(&rt, &id, &b);
    }
    if !apparmor {
        let b = Bundle::new(&["sleep", "1000"]);
        let id = unique("lsmx");
        rt.create(&b, &id).ok();
        rt.rt(&["start", &id]).ok();
        rt.rt(&["exec", "--apparmor", "unconfined", &id, "true"])
            .fails_with("--apparmor");
        rt.rt(&["delete", "-f", &id]).ok();
    }
}

/// Issue 11 item 7: a container that may call keyctl plants a session keyring named
/// `_ses.<id>` of a container it knows the id of, open to anyone; the victim must not join
/// it (rt's keyrings are anonymous, never joined by name).
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn planted_session_keyring_is_not_joined() {
    need_root();
    let rt = Rt::new();
    let victim = unique("victim");
    // The keyring lives while a process holds it as its session keyring: the planter stays.
    let mut attacker = Bundle::sh(&format!("exec sysprobe join=_ses.{victim} hold"));
    fs::copy(sysprobe(), attacker.rootfs().join("bin/sysprobe")).unwrap();
    attacker.edit(|c| c["process"]["terminal"] = json!(false));
    let aid = unique("planter");
    let log = attacker.path().join("out");
    let out = fs::File::create(&log).unwrap();
    let mut cmd = rt.cmd();
    cmd.args([
        "run",
        "-d",
        "--bundle",
        attacker.path().to_str().unwrap(),
        &aid,
    ])
    .stdout(out);
    assert!(cmd.status().unwrap().success());
    let reported = || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("join="))
            .map(|v| v.trim().to_owned())
    };
    let mut planted = reported();
    for _ in 0..500 {
        if planted.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        planted = reported();
    }
    let planted = planted.expect("the planter never reported its keyring");
    assert!(
        planted.parse::<i64>().unwrap() > 0,
        "planting failed: {planted}"
    );

    let b = Bundle::sh("sysprobe session");
    fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
    let out = rt.run(&b, &victim);
    let session = out
        .ok()
        .lines()
        .find_map(|l| l.strip_prefix("session="))
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(session, planted, "the victim joined the planted keyring");
    assert!(session.parse::<i64>().unwrap() > 0, "{session}");
    rt.rt(&["delete", "-f", &aid]).ok();
}

/// Issue 11 item 6: the image's /etc/passwd (read for HOME) as a FIFO would hang `run` and
/// `exec`, as a link to /dev/zero would grow rt until the OOM killer came: only a regular
/// file of sane size is read; anything else means HOME=/.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn hostile_passwd_cannot_hang_or_bloat_rt() {
    need_root();
    let rt = Rt::new();
    let hostile = |script: &str, kind: &str| {
        let mut b = Bundle::sh(script);
        b.edit(|c| c["process"]["env"] = json!(["PATH=/bin"]));
        let passwd = b.rootfs().join("etc/passwd");
        fs::remove_file(&passwd).unwrap();
        if kind == "fifo" {
            nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        } else {
            std::os::unix::fs::symlink("/dev/zero", &passwd).unwrap();
        }
        b
    };
    for kind in ["fifo", "zero"] {
        let b = hostile("sleep 60", kind);
        let id = unique("passwd");
        rt.create(&b, &id).ok();
        rt.rt(&["start", &id]).ok();
        let exec = rt.rt(&["exec", &id, "sh", "-c", "echo home=$HOME"]);
        assert_eq!(exec.ok(), "home=/\n", "{kind}");
        rt.rt(&["delete", "-f", &id]).ok();
        assert_eq!(
            rt.output(&hostile("echo home=$HOME", kind)),
            "home=/\n",
            "{kind}"
        );
    }
}

/// A host cgroup made by hand (in the memory hierarchy only) below this process's own,
/// with a host process (`sleep`) in it; both gone on drop.
struct HostCgroup {
    dir: std::path::PathBuf,
    sleeper: std::process::Child,
}

impl HostCgroup {
    fn new(name: &str) -> HostCgroup {
        let dir = own_memory_dir().join(name);
        fs::create_dir(&dir).unwrap();
        let sleeper = std::process::Command::new("sleep")
            .arg("600")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let cg = HostCgroup { dir, sleeper };
        fs::write(cg.dir.join("cgroup.procs"), cg.pid().to_string()).unwrap();
        cg
    }

    fn pid(&self) -> i32 {
        self.sleeper.id() as i32
    }

    /// Moves the host process back out, leaving the cgroup empty.
    fn empty(&self) {
        let parent = self.dir.parent().unwrap().join("cgroup.procs");
        fs::write(parent, self.pid().to_string()).unwrap();
    }
}

impl Drop for HostCgroup {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Issue 11 item 8: a cgroupsPath naming an existing cgroup that holds a host process.
/// rt used to put the container in with it, then killed it and removed the cgroup when the
/// container ended. Now create refuses it, naming the field, and touches nothing; an
/// existing empty cgroup is joined and, after delete, still there with the host process
/// rt never knew of untouched.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn existing_cgroup_with_host_processes_is_refused_and_never_emptied() {
    need_root();
    let rt = Rt::new();
    let name = unique("hostcg");
    let host = HostCgroup::new(&name);

    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(name.clone()));
    let id = unique("cgsteal");
    rt.run(&b, &id).fails_with("linux.cgroupsPath");
    assert_no_trace(&rt, &id, &b);
    assert!(
        start_time(host.pid()).is_some(),
        "the host process was killed"
    );
    assert!(host.dir.is_dir(), "the host's cgroup was removed");

    // Empty: joined (the container runs in it), and still there after the container.
    host.empty();
    let mut b = Bundle::sh("grep :memory: /proc/self/cgroup");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(name.clone()));
    b.set_namespaces(json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]));
    let out = rt.output(&b);
    assert!(out.trim_end().ends_with(&format!("/{name}")), "{out}");
    assert!(
        host.dir.is_dir(),
        "delete removed a cgroup rt did not create"
    );
    assert!(start_time(host.pid()).is_some());
}

/// An fd to a host directory that rt's caller leaves open without close-on-exec (closed
/// again on drop).
fn leaked_dir_fd(dir: &std::path::Path) -> std::os::fd::OwnedFd {
    use std::os::fd::AsRawFd;
    let fd = std::os::fd::OwnedFd::from(fs::File::open(dir).unwrap());
    nix::fcntl::fcntl(
        fd.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    fd
}

/// Issue 11 item 1: rt is a copy of its caller, so an fd the caller left open reached the
/// container's setup: process.args[0] = /proc/self/fd/N/hostprobe ran a host binary
/// (through run and exec), and hooks got the fd. Now every inherited fd is closed on entry
/// to the init and the exec child, args[0] must resolve inside the root without magic
/// links, and hooks get only their stdio.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn callers_fds_do_not_reach_the_container() {
    use std::os::fd::AsRawFd;
    need_root();
    let rt = Rt::new();
    let host = TempDir::new("hostdir");
    fs::copy(sysprobe(), host.path().join("hostprobe")).unwrap();
    let fd = leaked_dir_fd(host.path());
    let n = fd.as_raw_fd();
    let via = format!("/proc/self/fd/{n}/hostprobe");

    let b = Bundle::new(&[&via, "getppid"]);
    let id = unique("fdleak");
    let out = rt.run(&b, &id);
    assert!(
        !out.stdout.contains("getppid="),
        "a host binary ran: {}",
        out.stdout
    );
    out.fails_with("process.args[0]");
    assert_no_trace(&rt, &id, &b);

    // Hooks: the parent's (createRuntime) and the container's (startContainer) see only
    // their stdio.
    let marks = TempDir::new("hookfds");
    let probe = |dir: &str, kind: &str| {
        json!([{"path": "/bin/sh", "args": ["sh", "-c",
            format!("if [ -e /proc/self/fd/{n} ]; then echo leaked; else echo clean; fi > {dir}/{kind}")]}])
    };
    let mut b = Bundle::new(&["sleep", "60"]);
    b.add_mount(json!({"destination": "/marks", "type": "bind", "source": marks.path(), "options": ["bind"]}));
    let host_marks = marks.path().display().to_string();
    b.edit(|c| {
        c["hooks"] = json!({
            "createRuntime": probe(&host_marks, "createRuntime"),
            "startContainer": probe("/marks", "startContainer"),
        })
    });
    let id = unique("fdleak");
    rt.create(&b, &id).ok();
    rt.rt(&["start", &id]).ok();
    for kind in ["createRuntime", "startContainer"] {
        assert_eq!(
            fs::read_to_string(marks.path().join(kind)).unwrap(),
            "clean\n",
            "{kind} hook"
        );
    }
    // exec, by the same path.
    let out = rt.rt(&["exec", &id, &via, "getppid"]);
    assert!(
        !out.stdout.contains("getppid="),
        "a host binary ran: {}",
        out.stdout
    );
    out.fails_with("process.args[0]");
    // A magic link the container itself could name: refused as well.
    let out = rt.rt(&["exec", &id, "/proc/1/root/bin/true"]);
    out.fails_with("process.args[0]");
    rt.rt(&["delete", "-f", &id]).ok();
    drop(fd);
}

/// A tmpfs mounted below `dir` on the host, unmounted on drop.
struct HostSubmount(std::path::PathBuf);

impl HostSubmount {
    fn new(dir: &std::path::Path) -> HostSubmount {
        let sub = dir.join("sub");
        fs::create_dir(&sub).unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=1m"),
        )
        .unwrap();
        HostSubmount(sub)
    }
}

impl Drop for HostSubmount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Issue 11 item 4 (the CVE-2023-25809 class): "ro" on a recursive bind made only its top
/// mount read-only, so mounts below it (the host's cgroup mounts under an rbind of /sys in
/// a rootless container) stayed writable. Read-only is now recursive wherever rt makes a
/// bind read-only: a volume, and the host's /sys bound into a user namespace.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn read_only_binds_are_read_only_all_the_way_down() {
    need_root();
    let rt = Rt::new();
    let vol = TempDir::new("rovol");
    let _sub = HostSubmount::new(vol.path());
    let mut b = Bundle::sh(
        "touch /vol/x 2>/dev/null && echo top-writable; touch /vol/sub/x 2>/dev/null && echo sub-writable; echo done",
    );
    b.add_mount(json!({"destination": "/vol", "type": "bind", "source": vol.path(), "options": ["rbind", "ro"]}));
    assert_eq!(rt.output(&b), "done\n");
    assert!(!vol.path().join("sub/x").exists());

    // The host's /sys, bound (sysfs cannot be mounted without a network namespace of the
    // user namespace's): every mount below it read-only too.
    let mut b = Bundle::sh(
        "awk '$5 ~ \"^/sys\" { split($6, o, \",\"); print $5, o[1] }' /proc/self/mountinfo | grep -v ' ro$'; echo done",
    );
    b.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}
        ]);
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // Its cgroup mount would be the container's own; the host's under /sys is the point.
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "cgroup" && m["type"] != "mqueue");
    });
    assert_eq!(
        rt.output(&b),
        "done\n",
        "writable mounts below the bound /sys"
    );
}

/// Issue 11 item 5: a read-only bind was made, then its path resolved again to remount
/// it read-only. Whoever can rename in the rootfs meanwhile (a co-tenant sharing it) moves
/// the directory holding the new mount away and puts a symlink to /dev in its place: the
/// remount lands on /dev/shm and the volume stays writable. The flags are now set on the
/// detached copy before it is attached: every mount of the volume is read-only, however
/// the race falls.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn read_only_bind_flags_cannot_be_raced_off() {
    need_root();
    let rt = Rt::new();
    let vol = TempDir::new("racevol");
    let root_of_vol = vol.path().display().to_string();
    let mut b = Bundle::sh(&format!(
        "awk -v r='{root_of_vol}' '$4 == r {{ split($6, o, \",\"); print $5, o[1] }}' /proc/self/mountinfo"
    ));
    b.add_mount(json!({"destination": "/race/shm", "type": "bind", "source": vol.path(), "options": ["rbind", "ro"]}));
    let flipper = {
        let link = b.rootfs().join("race");
        let aside = b.rootfs().join("race.old");
        Racer::start(move |stop| {
            while !stop.load(Ordering::Relaxed) {
                if fs::rename(&link, &aside).is_ok() {
                    let _ = symlink("/dev", &link);
                    let _ = fs::remove_file(&link);
                    let _ = fs::rename(&aside, &link);
                }
                std::thread::yield_now();
            }
        })
    };
    let mut seen = 0;
    for _ in 0..400 {
        let out = rt.run(&b, &unique("rorace"));
        if out.code != 0 {
            continue;
        }
        for line in out.stdout.lines() {
            seen += 1;
            assert!(
                line.ends_with(" ro"),
                "a writable mount of the volume: {line}"
            );
        }
    }
    drop(flipper);
    assert!(seen > 0, "no container ever got the volume");
    assert!(fs::read_dir(vol.path()).unwrap().next().is_none());
}

/// This process's cgroup directory in the hierarchy mounted at `mount` (a v1 `name=`
/// hierarchy or the cgroup2 one of a hybrid host).
fn own_dir_in(mount: &str, line_matches: impl Fn(&str) -> bool) -> std::path::PathBuf {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap();
    let line = text.lines().find(|l| line_matches(l)).unwrap();
    let path = line.splitn(3, ':').nth(2).unwrap();
    std::path::Path::new(mount).join(path.trim_start_matches('/'))
}

/// Issue 11 item 3: on a hybrid host the container was placed only in the hierarchies with
/// controllers; in name=systemd and the cgroup2 mount its cgroup mount showed the host's
/// tree (other tenants' cgroups). It now has a cgroup of its own there too, and sees no
/// cgroup but its own, with and without a cgroup namespace.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn hybrid_hierarchies_show_only_the_containers_cgroup() {
    need_root();
    let systemd = std::path::Path::new("/sys/fs/cgroup/systemd");
    let unified = std::path::Path::new("/sys/fs/cgroup/unified");
    if !systemd.is_dir() || !unified.join("cgroup.procs").exists() {
        eprintln!("not a hybrid host with name=systemd: skipped");
        return;
    }
    let tenant = unique("tenant");
    let dirs = [
        own_dir_in("/sys/fs/cgroup/systemd", |l| l.contains(":name=systemd:")).join(&tenant),
        own_dir_in("/sys/fs/cgroup/unified", |l| l.starts_with("0::")).join(&tenant),
    ];
    struct Gone<'a>(&'a [std::path::PathBuf]);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            for d in self.0 {
                let _ = fs::remove_dir(d);
            }
        }
    }
    for d in &dirs {
        fs::create_dir(d).unwrap();
    }
    let _gone = Gone(&dirs);
    let rt = Rt::new();
    for cgroupns in [true, false] {
        let mut b = Bundle::sh(
            "find /sys/fs/cgroup/systemd /sys/fs/cgroup/unified -mindepth 1 -type d; grep -E ':name=systemd:|^0::' /proc/self/cgroup",
        );
        if !cgroupns {
            b.set_namespaces(json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]));
        }
        let id = unique("hybrid");
        let out = rt.run(&b, &id);
        let text = out.ok();
        assert!(
            !text.contains(&tenant),
            "cgroupns={cgroupns}: another tenant's cgroup is visible:\n{text}"
        );
        let dirs: Vec<&str> = text.lines().filter(|l| l.starts_with("/sys/")).collect();
        assert!(
            dirs.is_empty(),
            "cgroupns={cgroupns}: cgroups other than its own:\n{text}"
        );
        // Placed in both: its own path there (the namespace root, or the container's path).
        for line in text.lines().filter(|l| !l.starts_with("/sys/")) {
            let path = line.splitn(3, ':').nth(2).unwrap();
            if cgroupns {
                assert_eq!(path, "/", "{line}");
            } else {
                assert!(path.ends_with(&format!("/{id}")), "{line}");
            }
        }
        assert_no_trace(&rt, &id, &b);
    }
}

/// A container whose process (with CAP_SYS_PTRACE, as a privileged pod mate or a
/// debugging sidecar has it) opens /proc/PID/root<host file> for every process it sees,
/// until /tmp/stop exists.
struct Scanner {
    rt: Rt,
    id: String,
    log: std::path::PathBuf,
    _bundle: Bundle,
    _marker: TempDir,
}

impl Scanner {
    fn start() -> Scanner {
        let rt = Rt::new();
        let marker = TempDir::new("hostmarker");
        let secret = marker.path().join("secret");
        fs::write(&secret, "host\n").unwrap();
        // "hold" after the scan: the scanner is pid 1 of its namespace, and its exit would
        // SIGKILL the `touch` that stopped it before that touch could exit by itself.
        let mut b = Bundle::new(&["sysprobe", &format!("scan={}", secret.display()), "hold"]);
        fs::copy(sysprobe(), b.rootfs().join("bin/sysprobe")).unwrap();
        let caps = json!(["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"]);
        b.edit(|c| {
            c["process"]["capabilities"] =
                json!({"bounding": caps, "effective": caps, "permitted": caps})
        });
        let id = unique("scanner");
        let log = b.path().join("out");
        let mut cmd = rt.cmd();
        cmd.args(["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
            .stdout(fs::File::create(&log).unwrap());
        assert!(cmd.status().unwrap().success());
        Scanner {
            rt,
            id,
            log,
            _bundle: b,
            _marker: marker,
        }
    }

    /// Stops the scan; asserts that it reached no host file.
    fn assert_nothing_found(&self) {
        self.rt.rt(&["exec", &self.id, "touch", "/tmp/stop"]).ok();
        let mut text = String::new();
        for _ in 0..500 {
            text = fs::read_to_string(&self.log).unwrap();
            if text.contains("scan=") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            text.contains("scan=0\n"),
            "a process in the container reached the host's root:\n{text}"
        );
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.rt.rt(&["delete", "-f", &self.id]).ok();
    }
}

/// Issue 11 item 2: the exec process used to be cloned into the container's pid namespace
/// while it still had the host's mount namespace, root and cwd, until rt let it go on: a
/// container process with CAP_SYS_PTRACE could reach host files through /proc/PID/root.
/// It is now born in every namespace of the container at once (an intermediate joins
/// them first). The scanner runs while exec after exec starts.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn exec_process_is_never_visible_with_the_hosts_root() {
    need_root();
    let scanner = Scanner::start();
    for _ in 0..150 {
        scanner.rt.rt(&["exec", &scanner.id, "true"]).ok();
    }
    scanner.assert_nothing_found();
}

/// Issue 11 item 2, pod style: a container joining another's pid namespace by path used to
/// have its init born there before pivot_root, with the host's root and mounts, through
/// its whole setup. It is now built outside and born there after pivot_root. The scanner
/// holds the pid namespace while pod mates start and end.
#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn pod_mate_is_never_visible_with_the_hosts_root() {
    need_root();
    let scanner = Scanner::start();
    let rt = &scanner.rt;
    let pid = rt.state(&scanner.id)["pid"].as_i64().unwrap();
    let mut mate = Bundle::sh("grep -q sysprobe /proc/1/cmdline && test ! -s /proc/kcore");
    mate.edit(|c| {
        c["linux"]["namespaces"] = json!([
            {"type": "mount"}, {"type": "uts"}, {"type": "network"}, {"type": "ipc"},
            {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}
        ]);
        c["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
    });
    for _ in 0..60 {
        let out = rt.run(&mate, &unique("podmate"));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    scanner.assert_nothing_found();
}
