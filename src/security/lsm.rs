//! AppArmor and SELinux: process.apparmorProfile, process.selinuxLabel and
//! linux.mountLabel (and exec's --apparmor/--process-label). A label the host cannot
//! apply is an error before anything is created — running the container unconfined
//! instead would be a silent downgrade.
//!
//! The exec labels are written to this thread's procfs attr files through a private
//! procfs (crate::procfs), so no mount in the container can redirect or swallow them
//! (CVE-2019-16884, CVE-2023-27561, CVE-2025-52881). They take effect at execve.

use anyhow::bail;
use oci_spec::runtime::{Process, Spec};

use crate::error::StepError;
use crate::procfs::{self, Base};

const APPARMOR_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
/// SELINUX_MAGIC from linux/magic.h: selinuxfs, mounted where SELinux is active.
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string(APPARMOR_ENABLED).is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    nix::sys::statfs::statfs("/sys/fs/selinux")
        .is_ok_and(|s| s.filesystem_type().0 == SELINUX_MAGIC)
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// The labels a process asks for must be applicable on this host. `apparmor` and
/// `selinux` name the fields (or flags) for the error.
pub fn check_process(p: &Process, apparmor: &str, selinux: &str) -> anyhow::Result<()> {
    if let Some(profile) = set(p.apparmor_profile()) {
        if !apparmor_enabled() {
            bail!(
                "{apparmor}: {}: AppArmor is not enabled on this host",
                crate::error::quoted(profile)
            );
        }
        if profile.contains('\n') {
            bail!(
                "{apparmor}: {}: not a profile name",
                crate::error::quoted(profile)
            );
        }
    }
    if let Some(label) = set(p.selinux_label()) {
        if !selinux_enabled() {
            bail!(
                "{selinux}: {}: SELinux is not enabled on this host",
                crate::error::quoted(label)
            );
        }
        if label.contains('\n') {
            bail!(
                "{selinux}: {}: not an SELinux context",
                crate::error::quoted(label)
            );
        }
    }
    Ok(())
}

/// The config's labels, checked at create before anything exists.
pub fn check(spec: &Spec) -> anyhow::Result<()> {
    if let Some(p) = spec.process() {
        check_process(p, "process.apparmorProfile", "process.selinuxLabel")?;
    }
    if let Some(label) = spec.linux().as_ref().and_then(|l| set(l.mount_label()))
        && !selinux_enabled()
    {
        bail!(
            "linux.mountLabel: {}: SELinux is not enabled on this host",
            crate::error::quoted(label)
        );
    }
    Ok(())
}

/// The mount option that gives a file system the config's SELinux mount label, for the
/// mount types that take one (tmpfs-backed /dev, /dev/shm, /tmp; devpts).
pub fn mount_label_option(spec: &Spec, fs_type: &str) -> Option<String> {
    let label = spec.linux().as_ref().and_then(|l| set(l.mount_label()))?;
    matches!(fs_type, "tmpfs" | "devpts").then(|| format!("context=\"{label}\""))
}

/// Sets the labels the process gets at execve. Called by the init and exec children after
/// pivot_root/setns and before the switch to the container's user (a non-dumpable process's
/// attr files belong to root).
pub fn set_exec_labels(p: &Process) -> Result<(), StepError> {
    if let Some(profile) = set(p.apparmor_profile()) {
        // AppArmor's own attr directory (kernels with LSM stacking); the shared one before.
        let attr = if procfs::exists(Base::ProcThreadSelf, "attr/apparmor/exec") {
            "attr/apparmor/exec"
        } else {
            "attr/exec"
        };
        procfs::write(
            Base::ProcThreadSelf,
            attr,
            format!("exec {profile}").as_bytes(),
            "process.apparmorProfile",
        )
        .map_err(|mut e| {
            // The kernel's answer to a profile it has not loaded.
            if e.errno() == Some(nix::errno::Errno::ENOENT) {
                e.cause = crate::error::Cause::Text(format!(
                    "{}: no such profile is loaded",
                    crate::error::quoted(profile)
                ));
            }
            e
        })?;
    }
    if let Some(label) = set(p.selinux_label()) {
        procfs::write(
            Base::ProcThreadSelf,
            "attr/exec",
            label.as_bytes(),
            "process.selinuxLabel",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_this_host_lacks_are_refused_naming_the_field() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "process": {"cwd": "/", "args": ["true"], "user": {"uid": 0, "gid": 0},
                        "apparmorProfile": "rt-test"},
            "root": {"path": "rootfs"}
        }))
        .unwrap();
        if apparmor_enabled() {
            assert!(check(&spec).is_ok());
        } else {
            let e = check(&spec).unwrap_err().to_string();
            assert!(
                e.starts_with("process.apparmorProfile: \"rt-test\": "),
                "{e}"
            );
        }
    }

    #[test]
    fn mount_label_goes_to_tmpfs_and_devpts_only() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"mountLabel": "system_u:object_r:container_file_t:s0:c1,c2"}
        }))
        .unwrap();
        assert_eq!(
            mount_label_option(&spec, "tmpfs").as_deref(),
            Some("context=\"system_u:object_r:container_file_t:s0:c1,c2\"")
        );
        assert_eq!(mount_label_option(&spec, "proc"), None);
        assert_eq!(mount_label_option(&Spec::default(), "tmpfs"), None);
    }
}
