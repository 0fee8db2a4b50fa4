//! `rt features` tells the truth: everything it claims is accepted by `rt create` (and
//! has its effect, where one container can show it), and every name of the runtime spec's
//! vocabulary it leaves out is refused. The vocabulary is written out here from the
//! runtime spec, independently of rt's own lists.

use std::collections::BTreeSet;
use std::fs;

use serde_json::{Value, json};

use crate::common::*;

fn features() -> Value {
    let out = capture(std::process::Command::new(RT).arg("features"));
    let v: Value = serde_json::from_str(out.ok()).unwrap();
    // The shape is the runtime spec's Features structure.
    serde_json::from_value::<oci_spec::runtime::Features>(v.clone())
        .unwrap_or_else(|e| panic!("not a Features structure: {e}\n{v:#}"));
    v
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Creates (and deletes) a container from `b`; Ok, or the error text.
fn try_create(rt: &Rt, b: &Bundle) -> Result<(), String> {
    let id = unique("feat");
    let out = rt.create(b, &id);
    if out.code == 0 {
        rt.rt(&["delete", "-f", &id]).ok();
        Ok(())
    } else {
        assert_no_trace(rt, &id, b);
        Err(out.stderr)
    }
}

/// Each name of `vocabulary`, put into a config by `edit`: claimed ones are accepted,
/// the others refused naming `field`.
fn check_vocabulary(
    rt: &Rt,
    what: &str,
    vocabulary: &[&str],
    claimed: &BTreeSet<String>,
    field: &str,
    edit: impl Fn(&mut Value, &str),
) {
    for name in vocabulary {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| edit(c, name));
        match (claimed.contains(*name), try_create(rt, &b)) {
            (true, Ok(())) => {}
            (true, Err(e)) => panic!("{what} {name} is claimed but refused: {e}"),
            (false, Ok(())) => panic!("{what} {name} is not claimed but accepted"),
            (false, Err(e)) => assert!(e.contains(field), "{what} {name}: {e}"),
        }
    }
    // Nothing is claimed outside the spec's vocabulary.
    for c in claimed {
        assert!(
            vocabulary.contains(&c.as_str()),
            "{what}: {c} is not the spec's"
        );
    }
}

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn features_claims_exactly_what_create_accepts() {
    need_root();
    let f = features();
    let linux = &f["linux"];
    let rt = Rt::new();

    let seccomp = &linux["seccomp"];
    assert_eq!(seccomp["enabled"], true);
    check_vocabulary(
        &rt,
        "seccomp action",
        &[
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
            "SCMP_ACT_BOGUS",
        ],
        &names(&seccomp["actions"]),
        "linux.seccomp",
        |c, a| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/nobody.sock",
                "syscalls": [{"names": ["getppid"], "action": a}]})
        },
    );
    check_vocabulary(
        &rt,
        "seccomp operator",
        &[
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_BOGUS",
        ],
        &names(&seccomp["operators"]),
        "linux.seccomp",
        |c, op| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]})
        },
    );
    check_vocabulary(
        &rt,
        "seccomp architecture",
        &[
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
            "SCMP_ARCH_BOGUS",
        ],
        &names(&seccomp["archs"]),
        "linux.seccomp",
        |c, arch| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", arch],
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]})
        },
    );
    let flags = [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        "SECCOMP_FILTER_FLAG_BOGUS",
    ];
    check_vocabulary(
        &rt,
        "seccomp flag",
        &flags,
        &names(&seccomp["knownFlags"]),
        "linux.seccomp",
        |c, flag| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/nobody.sock",
                "flags": [flag],
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})
        },
    );
    let supported = names(&seccomp["supportedFlags"]);
    assert!(supported.is_subset(&names(&seccomp["knownFlags"])));

    // Namespaces: each claimed one is created (seen from inside as a namespace other than
    // the host's).
    let claimed = names(&linux["namespaces"]);
    for (ns, proc_name) in [
        ("cgroup", "cgroup"),
        ("ipc", "ipc"),
        ("mount", "mnt"),
        ("network", "net"),
        ("pid", "pid"),
        ("user", "user"),
        ("uts", "uts"),
        ("time", "time"),
    ] {
        assert!(claimed.contains(ns), "namespace {ns} not claimed");
        let mut b = Bundle::sh(&format!("readlink /proc/self/ns/{proc_name}"));
        let mut list = vec![json!({"type": "mount"}), json!({"type": "uts"})];
        if !["mount", "uts"].contains(&ns) {
            list.push(json!({"type": ns}));
        }
        if ns == "user" {
            // proc, sysfs and mqueue need pid, network and ipc namespaces it owns.
            list.extend([
                json!({"type": "pid"}),
                json!({"type": "network"}),
                json!({"type": "ipc"}),
            ]);
            b.edit(|c| {
                c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
                c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            });
        }
        b.set_namespaces(json!(list));
        let inside = rt.output(&b);
        let host = fs::read_link(format!("/proc/self/ns/{proc_name}")).unwrap();
        assert_ne!(inside.trim(), host.to_str().unwrap(), "{ns}");
    }
    let mut b = Bundle::new(&["true"]);
    b.set_namespaces(json!([{"type": "mount"}, {"type": "bogus"}]));
    assert!(
        try_create(&rt, &b)
            .unwrap_err()
            .contains("linux.namespaces")
    );

    // Capabilities: all claimed ones at once, seen in the bounding set from inside; a
    // name the kernel or rt does not know is refused.
    let caps = names(&linux["capabilities"]);
    let list: Vec<&String> = caps.iter().collect();
    let mut b = Bundle::sh("grep CapBnd /proc/self/status");
    b.edit(|c| {
        c["process"]["capabilities"] =
            json!({"bounding": list, "effective": list, "permitted": list})
    });
    let last_cap: u32 = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let all = (1u64 << (last_cap + 1)) - 1;
    assert_eq!(caps.len() as u32, last_cap + 1, "{caps:?}");
    // Those the caller itself lacks are left out with a warning, not refused (runtime
    // spec: a runtime SHOULD NOT fail for capabilities it cannot grant).
    let own = fs::read_to_string("/proc/self/status").unwrap();
    let own_bounding = u64::from_str_radix(
        own.lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim(),
        16,
    )
    .unwrap();
    let out = rt.run(&b, &unique("allcaps"));
    assert_eq!(
        out.ok().trim(),
        format!("CapBnd:\t{:016x}", all & own_bounding)
    );
    assert_eq!(
        out.stderr.contains("not granted"),
        all & own_bounding != all,
        "{}",
        out.stderr
    );
    for bogus in ["CAP_BOGUS", &format!("CAP_{}", last_cap + 1)] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["process"]["capabilities"]["bounding"] = json!([bogus]));
        assert!(
            try_create(&rt, &b)
                .unwrap_err()
                .contains("process.capabilities.bounding[0]")
        );
    }

    // Hooks: every claimed kind runs.
    let hooks = names(&f["hooks"]);
    assert_eq!(
        hooks,
        names(&json!([
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]))
    );
    let marks = TempDir::new("hookmarks");
    let mut b = Bundle::new(&["true"]);
    let mut config_hooks = json!({});
    for kind in &hooks {
        // createContainer runs in the container's mount namespace before pivot_root
        // (the bind is below the rootfs there), startContainer in its root; the others
        // on the host.
        let dir = match kind.as_str() {
            "createContainer" => b.rootfs().join("marks").display().to_string(),
            "startContainer" => "/marks".to_owned(),
            _ => marks.path().display().to_string(),
        };
        config_hooks[kind] =
            json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("touch {dir}/{kind}")]}]);
    }
    b.add_mount(json!({"destination": "/marks", "type": "bind", "source": marks.path(), "options": ["bind"]}));
    b.edit(|c| c["hooks"] = config_hooks);
    rt.output(&b);
    for kind in &hooks {
        assert!(marks.path().join(kind).exists(), "hook {kind} did not run");
    }

    // Mount options: each claimed one is taken on a bind mount (anything else would be
    // passed on to the file system as data, as runc does, so there is nothing to refuse).
    let src = TempDir::new("mntopt");
    for opt in names(&f["mountOptions"]) {
        let mut m = json!({"destination": "/opt-test", "type": "bind", "source": src.path(), "options": ["rbind", opt]});
        if opt.contains("idmap") {
            m["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            m["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        }
        let mut b = Bundle::new(&["true"]);
        b.add_mount(m);
        if let Err(e) = try_create(&rt, &b) {
            panic!("mount option {opt} is claimed but refused: {e}");
        }
    }

    // Claimed off: refused naming the field. Intel RDT as the host has it (resctrl).
    let rdt = std::path::Path::new("/sys/fs/resctrl/info").is_dir();
    assert_eq!(linux["intelRdt"]["enabled"], rdt);
    assert_eq!(linux["netDevices"]["enabled"], true);
    let rdma = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" - cgroup ") && l.split(',').any(|o| o == "rdma"))
        || fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "rdma"));
    assert_eq!(linux["cgroup"]["rdma"], rdma);
    if !rdt {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["linux"]["intelRdt"] = json!({"closID": "x"}));
        let e = try_create(&rt, &b).unwrap_err();
        assert!(
            e.contains("linux.intelRdt: this host has no resctrl"),
            "{e}"
        );
    }
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["resources"]["rdma"] = json!({"mlx5_0": {"hcaHandles": 1}}));
    let e = try_create(&rt, &b).unwrap_err();
    // Without the controller: refused saying so; with it: the kernel knows no such device.
    let why = if rdma {
        "linux.resources.rdma.mlx5_0: this host refused it"
    } else {
        "linux.resources.rdma: this host has no rdma cgroup controller"
    };
    assert!(e.contains(why), "{e}");
    // AppArmor as the host has it: claimed only if a profile can be applied.
    let apparmor = linux["apparmor"]["enabled"] == true;
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["process"]["apparmorProfile"] = json!("unconfined"));
    assert_eq!(try_create(&rt, &b).is_ok(), apparmor, "apparmor");
}
