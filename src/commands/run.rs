//! `rt run`: create + start, then (in the foreground) stand in for the container: forward
//! signals to it, reap orphans as a subreaper, delete it when it exits and exit with its
//! code (128+N when killed by signal N).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::cli::RunArgs;
use crate::container::{Container, ContainerError, create, id, lifecycle, supervise};

/// `rt run DIR/`: a directory holding config.json given where the ID goes, with no
/// --bundle, is the bundle; the ID is derived from its name. When the argument is also a
/// valid ID and the current directory is itself a bundle, runc's reading wins.
fn bundle_dir_argument(a: &RunArgs) -> Option<PathBuf> {
    if a.opts.bundle.is_some() {
        return None;
    }
    let p = Path::new(&a.id);
    if !p.join("config.json").is_file() {
        return None;
    }
    if id::validate(&a.id).is_ok() && Path::new("config.json").is_file() {
        return None;
    }
    Some(p.to_path_buf())
}

/// An ID from a directory name: disallowed characters become '-'.
pub fn id_from_dir(dir: &Path) -> String {
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == '-').to_owned();
    if cleaned.is_empty() {
        "container".to_owned()
    } else {
        cleaned.chars().take(id::MAX_LEN - 8).collect()
    }
}

pub fn run(root: &Path, a: RunArgs, systemd_cgroup: bool, rootless: bool) -> anyhow::Result<i32> {
    let derived = bundle_dir_argument(&a);
    let bundle = derived
        .clone()
        .or_else(|| a.opts.bundle.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let base_id = match &derived {
        Some(dir) => id_from_dir(dir),
        None => a.id.clone(),
    };

    let set = supervise::forwarded_set();
    if !a.detach {
        // Before the init exists, so that no signal meant for the container is lost and
        // orphans of a container without its own pid namespace are reaped here.
        nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
        set.thread_block().context("blocking signals")?;
    }

    let mut n = 1;
    let created = loop {
        let id = if n == 1 {
            base_id.clone()
        } else {
            format!("{base_id}-{n}")
        };
        let req = create::CreateRequest {
            start_now: true,
            terminal_proxy: !a.detach && a.opts.console_socket.is_none(),
            ..super::requests::create_request(&a.opts, root, &id, &bundle, systemd_cgroup, rootless)
        };
        match create::create(&req) {
            Ok(c) => break c,
            Err(e)
                if derived.is_some()
                    && n < 1000
                    && matches!(
                        e.downcast_ref::<ContainerError>(),
                        Some(ContainerError::Exists(_))
                    ) =>
            {
                n += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let create::Created {
        mut container,
        spawned,
        console,
        notify,
    } = created;
    let id = container.state.id.clone();

    crate::fault::point("run: created");
    let started = lifecycle::wait_started(&container, spawned.pid, &spawned.chan);
    crate::fault::point("run: started");
    if started.is_ok() {
        if !a.detach {
            // The container's process runs on our stderr now: rt's own lines wait.
            crate::log::hold_stderr();
        }
        lifecycle::run_poststart(&container);
    }
    // Other commands (kill, delete -f, state) must not wait for this one.
    container.unlock();
    if let Err(e) = started {
        if !a.detach {
            let _ = reap_blocking(spawned.pid);
        }
        if !a.keep {
            remove(root, &id);
        }
        return Err(e);
    }
    let notified = notify
        .zip(container.state.notify_socket.clone())
        .zip(container.state.init);
    if a.detach {
        // As `rt start`: back once the container said READY=1 (or is gone).
        if let Some(((sock, caller), init)) = notified {
            crate::container::notify::forward(&sock, &caller, init.pid, || {
                crate::container::is_alive(init)
            })?;
        }
        return Ok(0);
    }
    if let Some(((sock, caller), init)) = notified {
        // The foreground run waits for the container meanwhile; messages after READY=1
        // are not passed on (as runc).
        std::thread::spawn(move || {
            let alive = || crate::container::is_alive(init);
            if let Err(e) = crate::container::notify::forward(&sock, &caller, init.pid, alive) {
                crate::log::warn(&format!("{e:#}"));
            }
        });
    }
    let code = match &console {
        Some(master) => supervise::wait_with_terminal(spawned.pid, &spawned.pidfd, &set, master)?,
        None => supervise::wait_and_forward(spawned.pid, &spawned.pidfd, &set)?,
    };
    crate::fault::point("run: container exited");
    if !a.keep {
        remove(root, &id);
        supervise::reap_adopted(std::time::Duration::from_secs(2));
    }
    Ok(code)
}

fn reap_blocking(pid: i32) -> nix::Result<WaitStatus> {
    waitpid(Pid::from_raw(pid), Some(WaitPidFlag::__WALL))
}

/// Deletes the container after it ran; someone may already have deleted it.
pub(super) fn remove(root: &Path, id: &str) {
    match Container::load_locked(root, id) {
        Ok(mut c) => {
            if let Err(e) = lifecycle::destroy(&mut c) {
                crate::log::warn(&format!("deleting {id}: {e:#}"));
            }
        }
        Err(ContainerError::NotExist(_)) => {}
        Err(e) => crate::log::warn(&format!("deleting {id}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_directory_names() {
        assert_eq!(id_from_dir(Path::new("/tmp/my bundle/")), "my-bundle");
        assert_eq!(id_from_dir(Path::new("/srv/web.v2")), "web.v2");
        assert_eq!(id_from_dir(Path::new("/")), "container");
        assert!(id::validate(&id_from_dir(Path::new("/x/ünï:còde"))).is_ok());
    }
}
