//! `rt restore`: a new container from the bundle, its process tree from CRIU's images
//! (see criu.rs). It opens as `create` does (the bundle loaded, checked and planned, the
//! state directory made, everything undone by create's guard on failure) and is recorded
//! like a created container whose init has started.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};

use super::create::{CreateRequest, Unwind, initial_state, load_bundle};
use super::criu::{self, CriuOpts};
use super::process::write_pid_file;
use super::{Container, Phase, ProcId};
use crate::cgroups;
use crate::config::Bundle;

/// A container brought back by `restore`: its init is this process's child (CRIU
/// restores it as a sibling of itself).
pub struct Restored {
    pub container: Container,
    pub pid: i32,
}

pub fn restore(req: &CreateRequest, opts: &CriuOpts) -> anyhow::Result<Restored> {
    let (bundle, ns) = load_bundle(req)?;
    let spec = &bundle.spec;
    if req.rootless {
        bail!("restore: CRIU restores only as root of the host");
    }
    if spec.process().as_ref().and_then(|p| p.terminal()) == Some(true) {
        bail!("process.terminal: restoring a container with a terminal is not supported by rt yet");
    }
    if let Some(l) = spec.linux() {
        if l.intel_rdt().is_some() {
            bail!("linux.intelRdt: not supported by rt's restore yet");
        }
        if l.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
            bail!(
                "linux.netDevices: not supported by rt's restore yet (CRIU restores the namespace's own devices)"
            );
        }
    }
    let binary = criu::binary()?;
    let cgroup = cgroups::plan(spec, req.id, req.systemd_cgroup, req.rootless)?;
    let state = initial_state(req, &bundle, &ns, cgroup)?;
    let mut container = Container::create(req.root, state)?;
    let mut c = Unwind::new(&mut container, req.pid_file, "restore");
    let pid = restore_in(&mut c, &bundle, &binary, opts)?;
    if let Some(p) = req.pid_file {
        write_pid_file(p, pid)?;
    }
    c.disarm();
    Ok(Restored { container, pid })
}

fn restore_in(
    c: &mut Container,
    bundle: &Bundle,
    criu: &Path,
    opts: &CriuOpts,
) -> anyhow::Result<i32> {
    let root = c.dir.join(criu::ROOT_DIR);
    let pidfile = c.dir.join("criu.pid");
    criu::bind_root(&bundle.rootfs, &root)?;
    let restored = (|| {
        let held = criu::hold_restore(criu, opts, &bundle.spec, &bundle.dir, &root, &pidfile)?;
        if let Some(mut record) = c.state.cgroup.clone() {
            let _registry = cgroups::claim(&mut record)?;
            c.state.cgroup = Some(record.clone());
            c.save()?;
            cgroups::join(&record, &bundle.spec, &c.state.id, held.pid)?;
        }
        held.run(&opts.work_dir().join("restore.log"))?;
        let text = fs::read_to_string(&pidfile)
            .with_context(|| format!("{}: criu's pid file", pidfile.display()))?;
        let pid: i32 = text
            .trim()
            .parse()
            .map_err(|_| anyhow!("criu's pid file says {}", crate::error::quoted(&text)))?;
        let start = super::read_start_time(pid)
            .map_err(|e| anyhow!("reading the start time of the restored process {pid}: {e}"))?
            .ok_or_else(|| anyhow!("the restored process {pid} is gone"))?;
        c.state.init = Some(ProcId { pid, start });
        c.state.phase = Phase::Created;
        c.save()?;
        Ok(pid)
    })();
    criu::unbind_root(&root);
    let _ = fs::remove_file(&pidfile);
    restored
}
