//! One function per subcommand: parse → call container/… → print.

mod checkpoint;
pub mod events;
mod features;
mod list;
mod ps;
pub mod requests;
mod run;
mod spec;
pub mod update;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{Command, GlobalOpts, Rootless};
use crate::container::exec;
use crate::container::{Container, create, lifecycle};

/// Whether rt runs rootless: --rootless true/false, or (auto) when it is not root of the
/// host: not uid 0, or uid 0 of a user namespace that does not map the whole id range.
pub fn rootless(global: &GlobalOpts) -> bool {
    match global.rootless {
        Rootless::True => true,
        Rootless::False => false,
        Rootless::Auto => !crate::spawn::namespaces::is_host_root(),
    }
}

/// The state root: --root, else $XDG_RUNTIME_DIR/rt for an ordinary user and for uid 0
/// of a user namespace (runc's rule), else /run/rt.
pub fn state_root(global: &GlobalOpts) -> anyhow::Result<PathBuf> {
    if let Some(r) = &global.root {
        return Ok(r.clone());
    }
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty());
    if !nix::unistd::geteuid().is_root() {
        let xdg = xdg.ok_or_else(|| {
            anyhow::anyhow!(
                "--root: not given, and XDG_RUNTIME_DIR (where rootless state goes) is not set"
            )
        })?;
        return Ok(Path::new(&xdg).join("rt"));
    }
    // Rootless podman runs its runtime as uid 0 of its user namespace, where /run is the
    // host's and not writable, and passes no --root: the user's XDG_RUNTIME_DIR is the
    // place. USER=root there means a root session that happens to run in a namespace,
    // whose XDG_RUNTIME_DIR (/run/user/0) is not where runtimes keep state.
    if let Some(xdg) = xdg
        && !crate::spawn::namespaces::is_host_root()
        && std::env::var_os("USER").is_none_or(|u| u != "root")
    {
        return Ok(Path::new(&xdg).join("rt"));
    }
    Ok(PathBuf::from("/run/rt"))
}

pub fn dispatch(global: &GlobalOpts, cmd: Command) -> anyhow::Result<i32> {
    // Worked out only by the commands that have a container: an ordinary user without
    // XDG_RUNTIME_DIR can still write a spec or read the features.
    let root = || state_root(global);
    let rootless = rootless(global);
    match cmd {
        Command::Create(a) => {
            let bundle = a.opts.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
            let root = root()?;
            create::create(&requests::create_request(
                &a.opts,
                &root,
                &a.id,
                &bundle,
                global.systemd_cgroup,
                rootless,
            ))?;
            Ok(0)
        }
        Command::Start(a) => lifecycle::start(&root()?, &a.id).map(|_| 0),
        Command::State(a) => {
            let c = Container::load(&root()?, &a.id)?;
            let text = serde_json::to_string_pretty(&c.oci_state()).context("formatting state")?;
            println!("{text}");
            Ok(0)
        }
        Command::Kill(a) => {
            let sig = match &a.signal {
                Some(s) => crate::signal::parse(s)?,
                None => libc::SIGTERM,
            };
            lifecycle::kill(&root()?, &a.id, sig, a.all).map(|_| 0)
        }
        Command::Delete(a) => lifecycle::delete(&root()?, &a.id, a.force).map(|_| 0),
        Command::Run(a) => run::run(&root()?, a, global.systemd_cgroup, rootless),
        Command::List(a) => list::list(&root()?, &a).map(|_| 0),
        Command::Spec(a) => spec::spec(&a).map(|_| 0),
        Command::Features => features::features().map(|_| 0),
        Command::Pause(a) => lifecycle::pause(&root()?, &a.id).map(|_| 0),
        Command::Resume(a) => lifecycle::resume(&root()?, &a.id).map(|_| 0),
        Command::Update(a) => update::update(&root()?, &a).map(|_| 0),
        Command::Events(a) => events::events(&root()?, &a).map(|_| 0),
        Command::Ps(a) => ps::ps(&root()?, &a).map(|_| 0),
        Command::Exec(a) => exec::exec(&root()?, &requests::exec_request(a)),
        Command::Checkpoint(a) => checkpoint::checkpoint(&root()?, a).map(|_| 0),
        Command::Restore(a) => checkpoint::restore(&root()?, a, global.systemd_cgroup, rootless),
    }
}
