//! Idmapped mounts (a mount's uidMappings/gidMappings, or the "idmap"/"ridmap" option):
//! files appear with their owners shifted through a user namespace's mapping.
//!
//! Idmapping a mount needs CAP_SYS_ADMIN over the file system's user namespace — the
//! host's for ordinary file systems — which the container's init, living in its own user
//! namespace, does not have. So, as runc does, the parent `rt` prepares each such mount
//! as a detached tree (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)) before the init
//! exists, and the init only moves it into place.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use super::options;
use crate::error::{Ctx, StepError};
use crate::spawn::{Forked, clone_process, exit, id_map_text};

const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// An fd for a user namespace with exactly these mappings: a short-lived child is
/// created in a new user namespace, mapped, its namespace file opened, and the child
/// let go.
pub fn userns_fd(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd, StepError> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ctx(|| "idmap: pipe")?;
    let forked = clone_process(CloneFlags::CLONE_NEWUSER.bits() as u64)
        .ctx(|| "idmap: creating a user namespace")?;
    let pid = match forked {
        Forked::Child => {
            drop(w);
            let mut b = [0u8; 1];
            // Returns when the parent closes its end: it has what it needs.
            let _ = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&r), &mut b);
            exit(0)
        }
        Forked::Parent { pid, .. } => pid,
    };
    drop(r);
    let result = (|| {
        fs::write(format!("/proc/{pid}/uid_map"), id_map_text(uid))
            .ctx(|| "idmap: uid mappings")?;
        fs::write(format!("/proc/{pid}/gid_map"), id_map_text(gid))
            .ctx(|| "idmap: gid mappings")?;
        fs::File::open(format!("/proc/{pid}/ns/user"))
            .map(OwnedFd::from)
            .ctx(|| "idmap: opening the user namespace")
    })();
    drop(w);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    result
}

fn wants_idmap(m: &Mount, opts: &options::MountOptions) -> bool {
    opts.idmap || m.uid_mappings().is_some() || m.gid_mappings().is_some()
}

/// Detached trees the parent prepares, by index in mounts[]: the idmapped ones, and, for
/// an init in a new user namespace made by root, every other bind too. Mapped to an
/// unprivileged uid, the init could not open a source only the host's root may reach
/// (a 0700 directory, a kubelet volume), which the config names all the same; runc also
/// opens them before the user namespace.
pub fn prepare(
    spec: &Spec,
    bundle: &Path,
    new_userns: bool,
) -> Result<Vec<(usize, OwnedFd)>, StepError> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    let by_root = nix::unistd::geteuid().is_root();
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let field = format!("mounts[{i}] ({})", m.destination().display());
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        let is_bind = opts.is_bind() || m.typ().as_deref() == Some("bind");
        if wants_idmap(m, &opts) {
            // "invalid mount": runc's words, which its idmap tests look for.
            if !is_bind {
                return Err(StepError::msg(
                    field,
                    "invalid mount: idmapped mounts must be bind mounts",
                ));
            }
            // The runtime spec: with one of a mount's mappings, the other MUST be given.
            if m.uid_mappings().is_some() != m.gid_mappings().is_some() {
                return Err(StepError::msg(
                    field,
                    "invalid mount: uidMappings and gidMappings must be given together",
                ));
            }
            out.push((i, idmapped_tree(spec, m, &opts, bundle, &field)?));
        } else if is_bind && new_userns && by_root {
            let src = super::bind_source(bundle, m);
            out.push((i, clone_tree(&src, &opts, &field)?));
        }
    }
    Ok(out)
}

/// A detached copy of the bind's source (recursive for "rbind").
fn clone_tree(src: &Path, opts: &options::MountOptions, field: &str) -> Result<OwnedFd, StepError> {
    let mut flags = rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
        | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if opts.flags.contains(nix::mount::MsFlags::MS_REC) {
        flags |= rustix::mount::OpenTreeFlags::AT_RECURSIVE;
    }
    rustix::mount::open_tree(rustix::fs::CWD, src, flags)
        .map_err(std::io::Error::from)
        .ctx(|| format!("{field}: cloning {}", src.display()))
}

fn idmapped_tree(
    spec: &Spec,
    m: &Mount,
    opts: &options::MountOptions,
    bundle: &Path,
    field: &str,
) -> Result<OwnedFd, StepError> {
    let linux = spec.linux().as_ref();
    // The mount's own mappings, else the container's ("idmap" alone).
    let uid = m
        .uid_mappings()
        .clone()
        .or_else(|| linux.and_then(|l| l.uid_mappings().clone()));
    let gid = m
        .gid_mappings()
        .clone()
        .or_else(|| linux.and_then(|l| l.gid_mappings().clone()));
    let (Some(uid), Some(gid)) = (uid, gid) else {
        return Err(StepError::msg(
            field,
            "idmap needs uidMappings and gidMappings (on the mount or for a user namespace)",
        ));
    };
    let userns = userns_fd(&uid, &gid).map_err(|e| StepError::msg(field, e.to_string()))?;
    let src = super::bind_source(bundle, m);
    let recursive = opts.flags.contains(nix::mount::MsFlags::MS_REC);
    let tree = clone_tree(&src, opts, field)?;
    super::mount_setattr(
        tree.as_fd(),
        recursive,
        MOUNT_ATTR_IDMAP,
        0,
        Some(userns.as_fd()),
    )
    .ctx(|| {
        format!(
            "{field}: idmapping {} (does its file system support idmapped mounts?)",
            src.display()
        )
    })?;
    Ok(tree)
}
