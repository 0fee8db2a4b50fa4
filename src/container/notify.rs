//! NOTIFY_SOCKET (sd_notify): when rt is run with NOTIFY_SOCKET set — systemd's
//! Type=notify, podman's `--sdnotify=container` — the container's processes get a socket
//! of their own at /run/notify/notify.sock (a bind of `<state dir>/notify`), and `rt
//! start` / `rt run -d` pass what arrives there on to the caller's socket until the
//! container says READY=1, with MAINPID set to the container's init; then they return,
//! as runc does. The caller's socket is never bound into the container itself.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use oci_spec::runtime::{MountBuilder, Spec};

/// Where the container sees its socket.
pub const IN_CONTAINER: &str = "/run/notify/notify.sock";

/// The caller's NOTIFY_SOCKET, if rt was given one.
pub fn callers_socket() -> Option<String> {
    std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The container's side: a read-only bind of `<state dir>/notify` at /run/notify and
/// NOTIFY_SOCKET in the process's environment.
pub fn add_to_spec(spec: &mut Spec, state_dir: &Path) -> anyhow::Result<()> {
    let mount = MountBuilder::default()
        .destination("/run/notify")
        .typ("bind")
        .source(state_dir.join("notify"))
        .options(
            ["bind", "nosuid", "noexec", "nodev", "ro"]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .context("NOTIFY_SOCKET: the mount of the notify socket")?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(p) = spec.process_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={IN_CONTAINER}"));
        p.set_env(Some(env));
    }
    Ok(())
}

/// The directory the bind comes from; made before the init mounts it.
pub fn make_dir(state_dir: &Path) -> anyhow::Result<()> {
    let dir = state_dir.join("notify");
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)))
        .with_context(|| format!("NOTIFY_SOCKET: {}", dir.display()))
}

/// The container's socket, bound afresh (a socket left by an earlier rt no longer has a
/// reader) before the container's process may run; anyone in the container may send.
pub fn bind(state_dir: &Path) -> anyhow::Result<UnixDatagram> {
    let path = state_dir.join("notify").join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let s = UnixDatagram::bind(&path)
        .and_then(|s| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
            Ok(s)
        })
        .with_context(|| format!("NOTIFY_SOCKET: binding {}", path.display()))?;
    Ok(s)
}

/// Sends one datagram to the caller's socket: a path, or "@name" in the abstract space.
fn send_to_caller(caller: &str, msg: &[u8]) -> anyhow::Result<()> {
    use nix::sys::socket::{MsgFlags, UnixAddr, sendto};
    let out = UnixDatagram::unbound().context("NOTIFY_SOCKET: socket")?;
    let addr = match caller.strip_prefix('@') {
        Some(name) => UnixAddr::new_abstract(name.as_bytes()),
        None => UnixAddr::new(PathBuf::from(caller).as_path()),
    }
    .map_err(|e| anyhow!("NOTIFY_SOCKET {caller}: {}", e.desc()))?;
    sendto(out.as_raw_fd(), msg, &addr, MsgFlags::empty())
        .map_err(|e| anyhow!("NOTIFY_SOCKET {caller}: {}", e.desc()))?;
    Ok(())
}

/// Passes the container's messages on until one says READY=1 (sent after MAINPID=`pid`)
/// or the init `alive` says it is gone.
pub fn forward(
    socket: &UnixDatagram,
    caller: &str,
    pid: i32,
    alive: impl Fn() -> bool,
) -> anyhow::Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(nix::Error::EINTR) => {
                if !alive() {
                    return Ok(());
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(e).context("NOTIFY_SOCKET: waiting for the container"),
        }
        let n = socket
            .recv(&mut buf)
            .context("NOTIFY_SOCKET: reading the container's message")?;
        let msg = &buf[..n];
        let ready = msg.split(|b| *b == b'\n').any(|l| l == b"READY=1");
        if ready {
            send_to_caller(caller, format!("MAINPID={pid}\n").as_bytes())?;
        }
        send_to_caller(caller, msg)?;
        if ready {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_until_ready_with_mainpid_first() {
        let dir = std::env::temp_dir().join(format!("rt-notify-{}", std::process::id()));
        make_dir(&dir).unwrap();
        let theirs = bind(&dir).unwrap();
        let caller = dir.join("caller.sock");
        let host = UnixDatagram::bind(&caller).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        let inside = dir.join("notify/notify.sock");
        sender.send_to(b"STATUS=starting", &inside).unwrap();
        sender.send_to(b"STATUS=almost\nREADY=1", &inside).unwrap();
        sender.send_to(b"STATUS=after", &inside).unwrap();
        forward(&theirs, caller.to_str().unwrap(), 42, || true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        host.set_nonblocking(true).unwrap();
        while let Ok(n) = host.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            ["STATUS=starting", "MAINPID=42\n", "STATUS=almost\nREADY=1"]
        );
    }

    #[test]
    fn stops_when_the_container_is_gone() {
        let dir = std::env::temp_dir().join(format!("rt-notify-gone-{}", std::process::id()));
        make_dir(&dir).unwrap();
        let theirs = bind(&dir).unwrap();
        forward(&theirs, "/nonexistent", 1, || false).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
