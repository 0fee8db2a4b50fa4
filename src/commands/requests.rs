//! The command line's flags (cli.rs) as the plain requests container/ takes, so that
//! nothing below commands/ knows clap's types.

use std::path::Path;

use crate::cli::{CreateOpts, ExecArgs};
use crate::container::create::CreateRequest;
use crate::container::exec::ExecRequest;

/// exec's flags as the plain values container/exec.rs takes.
pub fn exec_request(a: ExecArgs) -> ExecRequest {
    ExecRequest {
        process: a.process,
        cwd: a.cwd,
        env: a.env,
        user: a.user,
        additional_gids: a.additional_gids,
        cap: a.cap,
        no_new_privs: a.no_new_privs,
        apparmor: a.apparmor,
        process_label: a.process_label,
        tty: a.tty,
        console_socket: a.console_socket,
        pidfd_socket: a.pidfd_socket,
        detach: a.detach,
        pid_file: a.pid_file,
        preserve_fds: a.preserve_fds,
        cgroup: a.cgroup,
        ignore_paused: a.ignore_paused,
        id: a.id,
        args: a.args,
    }
}

/// create's flags as the plain values container/create.rs takes; `start_now` and
/// `terminal_proxy` are rt run's to set.
pub fn create_request<'a>(
    opts: &'a CreateOpts,
    root: &'a Path,
    id: &'a str,
    bundle: &'a Path,
    systemd_cgroup: bool,
    rootless: bool,
) -> CreateRequest<'a> {
    CreateRequest {
        root,
        id,
        bundle,
        console_socket: opts.console_socket.as_deref(),
        pid_file: opts.pid_file.as_deref(),
        pidfd_socket: opts.pidfd_socket.as_deref(),
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        start_now: false,
        systemd_cgroup,
        terminal_proxy: false,
        rootless,
    }
}
