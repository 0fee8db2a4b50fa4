//! `rt checkpoint` and `rt restore` (CRIU; see container/criu.rs). A restore in the
//! foreground stands in for the container as `rt run` does: it forwards signals, waits for
//! the init, deletes the container and exits with its code.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::cli::{CheckpointArgs, CriuArgs, RestoreArgs};
use crate::container::criu::{self, CheckpointOpts, CriuOpts};
use crate::container::{Container, Status, create, lifecycle, restore, supervise};

fn criu_opts(a: CriuArgs) -> CriuOpts {
    CriuOpts {
        image_path: a.image_path,
        work_path: a.work_path,
        tcp_established: a.tcp_established,
        ext_unix_sk: a.ext_unix_sk,
        shell_job: a.shell_job,
        file_locks: a.file_locks,
        manage_cgroups_mode: a.manage_cgroups_mode,
        empty_ns: a.empty_ns,
        auto_dedup: a.auto_dedup,
        lazy_pages: a.lazy_pages,
    }
}

pub fn checkpoint(root: &Path, a: CheckpointArgs) -> anyhow::Result<()> {
    let mut c = Container::load_locked(root, &a.id)?;
    match c.status() {
        Status::Running => {}
        Status::Paused => bail!("container {} is paused: resume it first", a.id),
        _ => bail!("container not running: {}", a.id),
    }
    let opts = CheckpointOpts {
        criu: criu_opts(a.criu),
        parent_path: a.parent_path,
        leave_running: a.leave_running,
        pre_dump: a.pre_dump,
    };
    if criu::checkpoint(&c, &opts)? {
        // CRIU ended the container's processes with the dump: the container goes, as
        // with runc.
        lifecycle::destroy(&mut c)?;
    }
    Ok(())
}

pub fn restore(
    root: &Path,
    a: RestoreArgs,
    systemd_cgroup: bool,
    rootless: bool,
) -> anyhow::Result<i32> {
    let bundle = a.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let set = supervise::forwarded_set();
    if !a.detach {
        if !a.no_subreaper {
            nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
        }
        set.thread_block().context("blocking signals")?;
    }
    let req = create::CreateRequest {
        root,
        id: &a.id,
        bundle: &bundle,
        console_socket: a.console_socket.as_deref(),
        pid_file: a.pid_file.as_deref(),
        pidfd_socket: None,
        no_pivot: a.no_pivot,
        no_new_keyring: false,
        preserve_fds: 0,
        start_now: true,
        systemd_cgroup,
        terminal_proxy: false,
        rootless,
    };
    let restore::Restored { mut container, pid } = restore::restore(&req, &criu_opts(a.criu))?;
    container.unlock();
    if a.detach {
        return Ok(0);
    }
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).context("the restored pid")?,
        rustix::process::PidfdFlags::empty(),
    )
    .context("pidfd of the restored process")?;
    let code = supervise::wait_and_forward(pid, &pidfd, &set)?;
    super::run::remove(root, &a.id);
    if !a.no_subreaper {
        supervise::reap_adopted(std::time::Duration::from_secs(2));
    }
    Ok(code)
}
