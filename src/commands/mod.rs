//! One function per subcommand: parse → call container/… → print.

mod events;
mod list;
mod ps;
mod run;
mod spec;
mod update;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{Command, GlobalOpts, Rootless};
use crate::container::{Container, lifecycle};

/// The state root: --root, else /run/rt for root and $XDG_RUNTIME_DIR/rt for others.
pub fn state_root(global: &GlobalOpts) -> PathBuf {
    if let Some(r) = &global.root {
        return r.clone();
    }
    if !nix::unistd::geteuid().is_root()
        && let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR")
    {
        return Path::new(&xdg).join("rt");
    }
    PathBuf::from("/run/rt")
}

/// Runs the command; the result is the process's exit code.
/// Global flags that are accepted (containerd passes them) but whose modes rt cannot
/// honour yet: refusing to create a container is better than silently ignoring them.
fn check_modes(global: &GlobalOpts) -> anyhow::Result<()> {
    if global.rootless == Rootless::True {
        anyhow::bail!("--rootless true: rootless containers are not supported yet");
    }
    Ok(())
}

pub fn dispatch(global: &GlobalOpts, cmd: Command) -> anyhow::Result<i32> {
    let root = state_root(global);
    if matches!(cmd, Command::Create(_) | Command::Run(_)) {
        check_modes(global)?;
    }
    match cmd {
        Command::Create(a) => {
            let bundle = a.opts.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
            lifecycle::create(&lifecycle::CreateRequest {
                root: &root,
                id: &a.id,
                bundle: &bundle,
                opts: &a.opts,
                start_now: false,
                systemd_cgroup: global.systemd_cgroup,
                terminal_proxy: false,
            })?;
            Ok(0)
        }
        Command::Start(a) => lifecycle::start(&root, &a.id).map(|_| 0),
        Command::State(a) => {
            let c = Container::load(&root, &a.id)?;
            let text = serde_json::to_string_pretty(&c.oci_state()).context("formatting state")?;
            println!("{text}");
            Ok(0)
        }
        Command::Kill(a) => {
            let sig = match &a.signal {
                Some(s) => crate::signal::parse(s)?,
                None => libc::SIGTERM,
            };
            lifecycle::kill(&root, &a.id, sig, a.all).map(|_| 0)
        }
        Command::Delete(a) => lifecycle::delete(&root, &a.id, a.force).map(|_| 0),
        Command::Run(a) => run::run(&root, a, global.systemd_cgroup),
        Command::List(a) => list::list(&root, &a).map(|_| 0),
        Command::Spec(a) => spec::spec(&a).map(|_| 0),
        Command::Pause(a) => lifecycle::pause(&root, &a.id).map(|_| 0),
        Command::Resume(a) => lifecycle::resume(&root, &a.id).map(|_| 0),
        Command::Update(a) => update::update(&root, &a).map(|_| 0),
        Command::Events(a) => events::events(&root, &a).map(|_| 0),
        Command::Ps(a) => ps::ps(&root, &a).map(|_| 0),
        Command::Exec(a) => crate::container::exec::exec(&root, &a),
    }
}
