//! `rt spec`: a starter config.json, like runc's.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use oci_spec::runtime::Spec;

use crate::cli::SpecArgs;

/// runc's default spec: an interactive `sh` in fresh namespaces (cgroup only on a cgroup
/// v2 host), read-only rootfs, the usual mounts, masked and read-only /proc paths, Docker's
/// default capabilities — plus, unlike runc's, a seccomp allowlist with the effect of
/// Docker's default profile.
pub fn default_spec(rootless: bool) -> anyhow::Result<Spec> {
    let mut spec = if rootless {
        // The caller mapped to root in a user namespace, no network namespace, the host's
        // /sys bound instead of a sysfs, devpts without gid=5 (unmapped).
        Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version(oci_spec::runtime::VERSION.to_string());
    spec.set_hostname(Some("rt".into()));
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
        // runc's spec since CVE-2022-29162: no inheritable or ambient capabilities, which
        // would let a non-root process (or a file capability) pick them up at execve.
        if let Some(mut caps) = p.capabilities().clone() {
            caps.set_inheritable(None);
            caps.set_ambient(None);
            p.set_capabilities(Some(caps));
        }
    }
    if rootless && let Some(mounts) = spec.mounts_mut() {
        // No cgroup of its own to show; the bound /sys has the host's, read-only all the
        // way down: "rro" says so for any runtime (a plain "ro" bind left the cgroup
        // mounts below /sys writable in runc, the CVE-2023-25809 class; rt makes every
        // read-only bind recursive anyway).
        mounts.retain(|m| m.typ().as_deref() != Some("cgroup"));
        for m in mounts.iter_mut() {
            if m.destination() == std::path::Path::new("/sys") {
                let mut options = m.options().clone().unwrap_or_default();
                if !options.iter().any(|o| o == "rro") {
                    options.push("rro".into());
                }
                m.set_options(Some(options));
            }
        }
    }
    if let Some(linux) = spec.linux_mut() {
        // As runc's: a cgroup namespace only where the host is cgroup v2 alone. On a v1 or
        // hybrid host the container sees its cgroup paths as the host names them, which is
        // what tools inside it (and callers that add the namespace themselves) expect there.
        if !matches!(
            crate::cgroups::mode(),
            Ok(crate::cgroups::resources::Mode::V2)
        ) && let Some(namespaces) = linux.namespaces_mut()
        {
            namespaces.retain(|n| n.typ() != oci_spec::runtime::LinuxNamespaceType::Cgroup);
        }
        linux.set_seccomp(Some(
            seccomp::profile::default_profile().context("the default seccomp profile")?,
        ));
    }
    Ok(spec)
}

pub fn spec(a: &SpecArgs) -> anyhow::Result<()> {
    let dir = a.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    let text =
        serde_json::to_string_pretty(&default_spec(a.rootless)?).context("formatting spec")?;
    let mut f = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{}: exists; remove it first", path.display())
        }
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    };
    f.write_all(text.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .with_context(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_validates_and_looks_like_runcs() {
        let s = default_spec(false).unwrap();
        crate::config::validate(&s).unwrap();
        crate::security::seccomp::compile(&s)
            .unwrap()
            .expect("a seccomp profile");
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["process"]["args"][0], "sh");
        assert_eq!(v["root"]["readonly"], true);
        let caps = &v["process"]["capabilities"];
        assert!(
            caps["inheritable"].is_null() && caps["ambient"].is_null(),
            "{caps}"
        );
        assert!(caps["bounding"].as_array().is_some_and(|b| !b.is_empty()));
        let ns: Vec<_> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_owned())
            .collect();
        for t in ["pid", "network", "ipc", "uts", "mount"] {
            assert!(ns.contains(&t.to_owned()), "{t} missing from {ns:?}");
        }
        assert!(
            v["linux"]["maskedPaths"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "/proc/kcore")
        );
    }

    #[test]
    fn rootless_spec_binds_sys_read_only_recursively() {
        let spec = default_spec(true).unwrap();
        let sys = spec
            .mounts()
            .iter()
            .flatten()
            .find(|m| m.destination() == std::path::Path::new("/sys"))
            .unwrap();
        let options = sys.options().clone().unwrap_or_default();
        assert!(options.iter().any(|o| o == "rbind"), "{options:?}");
        assert!(options.iter().any(|o| o == "rro"), "{options:?}");
    }

    #[test]
    fn rootless_spec_maps_the_caller() {
        let s = default_spec(true).unwrap();
        crate::config::validate(&s).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["linux"]["uidMappings"][0]["hostID"],
            nix::unistd::geteuid().as_raw()
        );
        assert!(
            v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "user")
        );
    }
}
