//! `rt features`: the runtime spec's Features structure (features.md) for this rt on this
//! host, as containerd reads it (go-runc's Features) to decide what it may ask for.
//!
//! Nothing here is a list of claims kept by hand. Each candidate name (the runtime spec's
//! vocabulary) is put through the code that accepts or refuses that field in a config:
//! config.json parsing, the seccomp compiler, the capability and mount-option tables, the
//! hook table. What that code refuses is not listed, so the output cannot drift from what
//! rt does; tests/integration/features.rs checks both directions through `rt create`.

use std::collections::BTreeMap;

use oci_spec::runtime::{Capability, LinuxNamespaceType, LinuxSeccomp};
use serde_json::{Value, json};

/// The runtime spec's names; only those rt accepts are printed.
const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
];
const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
const SECCOMP_OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
const SECCOMP_ARCHS: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
];
const SECCOMP_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

pub fn features() -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(&build())?;
    text.push('\n');
    std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
    Ok(())
}

fn build() -> Value {
    let hooks: Vec<&str> = crate::config::hook_lists(&Default::default())
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let mut mount_options: Vec<&str> = crate::rootfs::options::known().collect();
    mount_options.sort_unstable();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.1",
        "hooks": hooks,
        "mountOptions": mount_options,
        "linux": {
            "namespaces": namespaces(),
            "capabilities": capabilities(),
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": true,
                // --systemd-cgroup with a rootless container is refused (cgroups::plan);
                // rdma limits where the host has the controller (cgroups::apply_rdma).
                "systemdUser": false,
                "rdma": crate::cgroups::rdma_available()
            },
            "seccomp": seccomp(),
            // As runc: whether the host has them. Where it does not, a config asking for a
            // label is refused (security::lsm::check), never run unlabelled.
            "apparmor": {"enabled": crate::security::lsm::apparmor_enabled()},
            "selinux": {"enabled": crate::security::lsm::selinux_enabled()},
            // Through resctrl (rdt.rs): as the host has it, as runc.
            "intelRdt": {
                "enabled": crate::rdt::check_host(std::path::Path::new(crate::rdt::ROOT)).is_ok()
            },
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        "annotations": annotations(),
        // rt interprets no annotation of the config.
        "potentiallyUnsafeConfigAnnotations": []
    })
}

fn namespaces() -> Vec<&'static str> {
    NAMESPACES
        .iter()
        .copied()
        .filter(|n| {
            serde_json::from_value::<LinuxNamespaceType>(json!(n))
                .is_ok_and(|t| crate::spawn::namespaces::clone_flag(t) != 0)
        })
        .collect()
}

/// Those of the running kernel that the config's parser and init's capability table
/// (config::caps_name) both know by the same name. Those rt does not hold itself are
/// accepted too, and left out with a warning (config::drop_ungrantable_caps).
fn capabilities() -> Vec<String> {
    let mut v: Vec<String> = caps::runtime::thread_all_supported()
        .into_iter()
        .map(|c| c.to_string())
        .filter(|name| {
            serde_json::from_value::<Capability>(json!(name))
                .is_ok_and(|c| crate::config::caps_name(&c) == *name)
        })
        .collect();
    v.sort();
    v
}

/// Whether rt's seccomp compiler accepts `profile` (JSON of linux.seccomp).
fn compiles(profile: Value) -> bool {
    serde_json::from_value::<LinuxSeccomp>(profile).is_ok_and(|p| ::seccomp::compile(&p).is_ok())
}

fn seccomp() -> Value {
    let rule = |action: &str| json!({"names": ["getpid"], "action": action});
    let actions: Vec<&str> = SECCOMP_ACTIONS
        .iter()
        .copied()
        .filter(|a| {
            compiles(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": "/run/features.sock",
                "syscalls": [rule(a)]
            }))
        })
        .collect();
    let operators: Vec<&str> = SECCOMP_OPERATORS
        .iter()
        .copied()
        .filter(|op| {
            compiles(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]
            }))
        })
        .collect();
    let archs: Vec<&str> = SECCOMP_ARCHS
        .iter()
        .copied()
        .filter(|arch| {
            compiles(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": [arch],
                "syscalls": [rule("SCMP_ACT_ERRNO")]
            }))
        })
        .collect();
    let known: Vec<&str> = SECCOMP_FLAGS
        .iter()
        .copied()
        .filter(|f| {
            compiles(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": "/run/features.sock",
                "flags": [f],
                "syscalls": [rule("SCMP_ACT_NOTIFY")]
            }))
        })
        .collect();
    let supported: Vec<&str> = known
        .iter()
        .copied()
        .filter(|f| kernel_takes_flag(f))
        .collect();
    json!({
        "enabled": true,
        "actions": actions,
        "operators": operators,
        "archs": archs,
        "knownFlags": known,
        "supportedFlags": supported
    })
}

/// Asks the kernel: seccomp(SET_MODE_FILTER) checks the flags before it reads the program,
/// so a NULL program gives EFAULT for flags it knows and EINVAL for the others. Nothing is
/// installed either way.
fn kernel_takes_flag(name: &str) -> bool {
    let Ok(flag) = serde_json::from_value::<oci_spec::runtime::LinuxSeccompFilterFlag>(json!(name))
    else {
        return false;
    };
    let mut bits = ::seccomp::flag_bits(flag);
    if bits == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32 {
        // Only valid together with a listener.
        bits |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
    }
    // SAFETY: a NULL program pointer is never dereferenced by the kernel past the flag
    // check's EFAULT; no memory of ours is touched and no filter can be installed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            bits,
            std::ptr::null::<libc::c_void>(),
        )
    };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

fn annotations() -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(
        "org.rt.version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );
    for dep in env!("RT_DEPENDENCY_VERSIONS").split(',') {
        if let Some((name, version)) = dep.split_once('=') {
            a.insert(
                format!("org.rt.dependency.{name}.version"),
                version.to_owned(),
            );
        }
    }
    a
}
