//! A `cgroup` mount in the container: the container's own cgroup, in the layout the host
//! uses. On a unified host that is one cgroup2 mount; on v1 and hybrid hosts it is a tmpfs
//! holding one mount per hierarchy (and `unified` for the cgroup2 one), like runc builds.
//! With a cgroup namespace each hierarchy is mounted afresh, so the container sees its own
//! cgroup as the root; without one, the container's cgroup directories are bind-mounted.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount as sys_mount};
use pathrs::Root;

use super::context::RootfsConfig;
use super::mount::fd_path;
use super::options::MountOptions;
use crate::error::{Ctx, StepError};

struct HostHierarchy {
    mount_point: PathBuf,
    fs_type: String,
    /// Mount data that selects the hierarchy ("cpu", "name=systemd"); never anything that
    /// would change the hierarchy (release_agent and the like).
    data: String,
}

/// The host's cgroup hierarchies; mounts already made inside the rootfs (an earlier
/// cgroup entry in mounts[]) are not hierarchies of the host. A hierarchy mounted more
/// than once counts once, as its first (oldest) mount: the later ones can be binds of a
/// subdirectory, such as those of a container without a mount namespace of its own, whose
/// cgroup mounts are on the host's table.
fn host_hierarchies(rootfs: &Path) -> Result<Vec<HostHierarchy>, StepError> {
    let infos = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map_err(|e| StepError::msg("cgroup mount: reading /proc/self/mountinfo", e.to_string()))?;
    let mut out = Vec::new();
    for m in infos.iter().filter(|m| !m.mount_point.starts_with(rootfs)) {
        match m.fs_type.as_str() {
            "cgroup" => {
                let mut sel: Vec<String> = m
                    .super_options
                    .iter()
                    .filter_map(|(k, v)| match (k.as_str(), v) {
                        ("name", Some(n)) => Some(format!("name={n}")),
                        (k, None) if crate::cgroups::is_v1_controller(k) => Some(k.to_owned()),
                        _ => None,
                    })
                    .collect();
                sel.sort();
                let data = sel.join(",");
                if out
                    .iter()
                    .any(|h: &HostHierarchy| h.data == data && h.fs_type == "cgroup")
                {
                    continue;
                }
                out.push(HostHierarchy {
                    mount_point: m.mount_point.clone(),
                    fs_type: "cgroup".into(),
                    data,
                });
            }
            "cgroup2" if !out.iter().any(|h| h.fs_type == "cgroup2") => out.push(HostHierarchy {
                mount_point: m.mount_point.clone(),
                fs_type: "cgroup2".into(),
                data: String::new(),
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// Mounts one hierarchy at `dest` (inside the rootfs): fresh in a cgroup namespace, else a
/// bind of the container's cgroup directory.
fn mount_hierarchy(
    root: &Root,
    cfg: &RootfsConfig,
    h: &HostHierarchy,
    dest: &Path,
    flags: MsFlags,
    field: &str,
) -> Result<(), StepError> {
    let handle = super::inroot::mkdir_all(root, dest, 0o755)
        .ctx(|| format!("{field}: creating {}", dest.display()))?;
    let target = fd_path(handle.as_fd());
    let target = target.as_str();
    // A fresh mount shows the namespace's view; v1 hierarchies cannot be mounted from a
    // user namespace, so there the bind is the only way.
    if cfg.cgroup_ns && (h.fs_type == "cgroup2" || !cfg.in_user_ns) {
        let data = (!h.data.is_empty()).then_some(h.data.as_str());
        return sys_mount(
            Some(h.fs_type.as_str()),
            target,
            Some(h.fs_type.as_str()),
            flags,
            data,
        )
        .ctx(|| format!("{field}: mounting {} {}", h.fs_type, h.data));
    }
    // Only the container's own cgroup is shown: with none (no cgroups, as for a rootless
    // container without delegation) or none in this hierarchy, the directory stays empty
    // rather than showing the host's whole tree.
    let Some(record) = cfg.cgroup else {
        return Ok(());
    };
    let src = record.dir_in(&h.mount_point);
    if !src.exists() {
        return Ok(());
    }
    let tree = super::mount::detached_bind(rustix::fs::CWD, &src, true, flags, false, || {
        format!("{field}: binding {}", src.display())
    })?;
    super::mount::attach(tree.as_fd(), handle.as_fd(), || {
        format!("{field}: bind-mounting {}", src.display())
    })
}

pub fn mount(
    root: &Root,
    cfg: &RootfsConfig,
    dest: &Path,
    opts: &MountOptions,
    field: &str,
) -> Result<(), StepError> {
    let unified = crate::cgroups::mode().map_err(|e| StepError::msg(field, e.to_string()))?
        == crate::cgroups::resources::Mode::V2;
    let flags = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    let hierarchies = host_hierarchies(cfg.rootfs)?;
    if unified {
        let h = hierarchies
            .iter()
            .find(|h| h.fs_type == "cgroup2")
            .ok_or_else(|| StepError::msg(field, "no cgroup2 mount on the host"))?;
        return mount_hierarchy(root, cfg, h, dest, flags, field);
    }
    let target = super::inroot::mkdir_all(root, dest, 0o755)
        .ctx(|| format!("{field}: creating mount point"))?;
    // v1/hybrid: a tmpfs to hold one directory per hierarchy, read-only at the end.
    sys_mount(
        Some("tmpfs"),
        fd_path(target.as_fd()).as_str(),
        Some("tmpfs"),
        (flags & !MsFlags::MS_RDONLY) | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=755"),
    )
    .ctx(|| format!("{field}: mounting tmpfs"))?;
    for h in &hierarchies {
        let Some(name) = h.mount_point.file_name() else {
            continue;
        };
        mount_hierarchy(root, cfg, h, &dest.join(name), flags, field)?;
        // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
        let name = name.to_string_lossy();
        if name.contains(',') {
            for alias in name.split(',') {
                let link = dest.join(alias);
                if super::inroot::try_resolve_nofollow(root, &link).is_none() {
                    root.create(
                        &link,
                        &pathrs::InodeType::Symlink(PathBuf::from(name.as_ref())),
                    )
                    .ctx(|| format!("{field}: linking {alias}"))?;
                }
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let top = root.resolve(dest).ctx(|| format!("{field}: reopening"))?;
        sys_mount(
            None::<&str>,
            fd_path(top.as_fd()).as_str(),
            None::<&str>,
            MsFlags::MS_REMOUNT
                | flags
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            Some("mode=755"),
        )
        .ctx(|| format!("{field}: remounting read-only"))?;
    }
    Ok(())
}
