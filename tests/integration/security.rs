//! Security properties of the process model (more in the security issue's suite).

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::common::*;

/// CVE-2019-5736: a process in the container grabs the init's /proc/<pid>/exe (rt's own
/// binary until execve) and reopens it for writing once rt is gone. rt runs from a
/// read-only view of its binary, so the reopen fails with EROFS.
#[test]
fn cve_2019_5736_container_cannot_reopen_rt_for_writing() {
    if !need_root() {
        return;
    }
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
