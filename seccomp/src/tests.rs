use super::*;
use fuzz::Rng;
use serde_json::json;
use sim::Call;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_THREAD: u32 = libc::SECCOMP_RET_KILL_THREAD;
const TRAP: u32 = libc::SECCOMP_RET_TRAP;
const LOG: u32 = libc::SECCOMP_RET_LOG;
const NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;

fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("test profile parses")
}

fn filter(v: serde_json::Value) -> Filter {
    compile(&profile(v)).expect("test profile compiles")
}

fn nr(abi: Abi, name: &str) -> u32 {
    abi.table()[name]
}

fn x64(name: &str, args: [u64; 6]) -> Call {
    Call::new(AUDIT_ARCH_X86_64, nr(Abi::X86_64, name), args)
}

fn verdict(f: &Filter, c: Call) -> u32 {
    f.verdict(&c).expect("program runs")
}

const NO_ARGS: [u64; 6] = [0; 6];

#[test]
fn default_action_and_errno() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}));
    assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), errno(38));
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO"}));
    assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), errno(libc::EPERM));
    let f = filter(json!({"defaultAction": "SCMP_ACT_LOG"}));
    assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), LOG);
}

#[test]
fn every_action_maps_to_its_kernel_value() {
    let cases = [
        ("SCMP_ACT_KILL", KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", KILL_THREAD),
        ("SCMP_ACT_KILL_PROCESS", KILL_PROCESS),
        ("SCMP_ACT_TRAP", TRAP),
        ("SCMP_ACT_ERRNO", errno(libc::EPERM)),
        (
            "SCMP_ACT_TRACE",
            libc::SECCOMP_RET_TRACE | libc::EPERM as u32,
        ),
        ("SCMP_ACT_LOG", LOG),
    ];
    for (action, ret) in cases {
        let f = filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": action}]
        }));
        assert_eq!(verdict(&f, x64("getppid", NO_ARGS)), ret, "{action}");
        assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), ALLOW, "{action}");
    }
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]
    }));
    assert_eq!(
        verdict(&f, x64("mkdir", NO_ARGS)),
        libc::SECCOMP_RET_TRACE | 7
    );
}

#[test]
fn allowlist_with_errno_rules() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}
        ]
    }));
    assert_eq!(verdict(&f, x64("read", NO_ARGS)), ALLOW);
    assert_eq!(verdict(&f, x64("exit_group", NO_ARGS)), ALLOW);
    assert_eq!(verdict(&f, x64("mkdir", NO_ARGS)), errno(28));
    assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), errno(libc::EPERM));
    // Newer than every call the profile names (exit_group is 231): ENOSYS.
    assert_eq!(verdict(&f, x64("unshare", NO_ARGS)), errno(libc::ENOSYS));
}

/// runc's rule for calls a profile predates: newer than the newest call it names (on
/// that ABI) gets ENOSYS, so that libc falls back (clone3 → clone); only where the
/// default refuses, never for -1 (a tracer's skip), per ABI.
#[test]
fn calls_newer_than_the_profile_get_enosys() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}
        ]
    }));
    let newest = nr(Abi::X86_64, "unshare");
    assert_eq!(verdict(&f, x64("getpid", NO_ARGS)), errno(libc::EPERM));
    assert_eq!(verdict(&f, x64("unshare", NO_ARGS)), errno(libc::EPERM));
    assert_eq!(verdict(&f, x64("clone3", NO_ARGS)), errno(libc::ENOSYS));
    let native = |n| Call::new(AUDIT_ARCH_X86_64, n, NO_ARGS);
    assert_eq!(verdict(&f, native(newest + 1)), errno(libc::ENOSYS));
    assert_eq!(verdict(&f, native(1000)), errno(libc::ENOSYS));
    assert_eq!(verdict(&f, native(u32::MAX)), errno(libc::EPERM));
    // i386 and x32 against their own newest.
    let i386 = |n| Call::new(AUDIT_ARCH_I386, n, NO_ARGS);
    assert_eq!(
        verdict(&f, i386(nr(Abi::I386, "getpid"))),
        errno(libc::EPERM)
    );
    assert_eq!(
        verdict(&f, i386(nr(Abi::I386, "unshare") + 1)),
        errno(libc::ENOSYS)
    );
    let x32 = |n| Call::new(AUDIT_ARCH_X86_64, n, NO_ARGS);
    assert_eq!(verdict(&f, x32(nr(Abi::X32, "getpid"))), errno(libc::EPERM));
    assert_eq!(
        verdict(&f, x32(nr(Abi::X32, "clone3"))),
        errno(libc::ENOSYS)
    );
    // A default that lets calls through stays as it is.
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let f = filter(json!({
            "defaultAction": default,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert!(
            verdict(&f, native(1000)) != errno(libc::ENOSYS),
            "{default}"
        );
    }
    // A profile naming no call has nothing to compare with: the default.
    let f = filter(json!({"defaultAction": "SCMP_ACT_KILL"}));
    assert_eq!(verdict(&f, native(1000)), KILL_THREAD);
}

#[test]
fn arguments_on_distinct_indexes_are_anded() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
            {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}
        ]}]
    }));
    assert_eq!(verdict(&f, x64("socket", [16, 3, 9, 0, 0, 0])), errno(1));
    assert_eq!(verdict(&f, x64("socket", [16, 3, 0, 0, 0, 0])), ALLOW);
    assert_eq!(verdict(&f, x64("socket", [2, 3, 9, 0, 0, 0])), ALLOW);
}

#[test]
fn arguments_repeating_an_index_are_ored() {
    // runc's rule: libseccomp cannot AND two comparisons of one argument.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}
        ]}]
    }));
    assert_eq!(
        verdict(&f, x64("personality", [1, 0, 0, 0, 0, 0])),
        errno(1)
    );
    assert_eq!(
        verdict(&f, x64("personality", [5, 0, 0, 0, 0, 0])),
        errno(1)
    );
    assert_eq!(verdict(&f, x64("personality", [3, 0, 0, 0, 0, 0])), ALLOW);
}

#[test]
fn every_operator_on_64_bit_values() {
    let big = 0x1_0000_0005u64;
    type Case<'a> = (&'a str, Option<u64>, &'a [(u64, bool)]);
    let cases: [Case; 7] = [
        (
            "SCMP_CMP_NE",
            None,
            &[(big, false), (5, true), (big + 1, true)],
        ),
        (
            "SCMP_CMP_LT",
            None,
            &[(big - 1, true), (5, true), (big, false), (u64::MAX, false)],
        ),
        (
            "SCMP_CMP_LE",
            None,
            &[
                (big, true),
                (big + 1, false),
                (0x2_0000_0000, false),
                (0, true),
            ],
        ),
        (
            "SCMP_CMP_EQ",
            None,
            &[(big, true), (5, false), (0x2_0000_0005, false)],
        ),
        (
            "SCMP_CMP_GE",
            None,
            &[
                (big, true),
                (big - 1, false),
                (0x2_0000_0000, true),
                (6, false),
            ],
        ),
        (
            "SCMP_CMP_GT",
            None,
            &[
                (big, false),
                (big + 1, true),
                (0x1_0000_0000, false),
                (u64::MAX, true),
            ],
        ),
        // mask (value) and expected (valueTwo)
        (
            "SCMP_CMP_MASKED_EQ",
            Some(0x1_0000_0001),
            &[
                (0x1_0000_0001, true),
                (0xff_0000_0011, true),
                (big, false),
                (1, false),
            ],
        ),
    ];
    for (op, two, samples) in cases {
        let (value, value_two) = match two {
            Some(expected) => (0x1_0000_000f_u64, Some(expected)),
            None => (big, None),
        };
        let mut a = json!({"index": 3, "value": value, "op": op});
        if let Some(v2) = value_two {
            a["valueTwo"] = json!(v2);
        }
        let f = filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_KILL_PROCESS", "args": [a]}]
        }));
        for (arg, matches) in samples {
            let want = if *matches { KILL_PROCESS } else { ALLOW };
            assert_eq!(
                verdict(&f, x64("ioctl", [0, 0, 0, *arg, 0, 0])),
                want,
                "{op} with arg {arg:#x}"
            );
        }
    }
}

#[test]
fn the_most_severe_matching_action_wins() {
    // Listed in any order, a call matched by several rules gets the most severe verdict,
    // as it would from stacked kernel filters.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["kill"], "action": "SCMP_ACT_LOG", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_TRAP", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    assert_eq!(verdict(&f, x64("kill", [5, 15, 0, 0, 0, 0])), ALLOW);
    assert_eq!(verdict(&f, x64("kill", [5, 0, 0, 0, 0, 0])), LOG);
    assert_eq!(verdict(&f, x64("kill", [5, 9, 0, 0, 0, 0])), TRAP);
    assert_eq!(verdict(&f, x64("kill", [1, 9, 0, 0, 0, 0])), KILL_PROCESS);
}

#[test]
fn rules_repeating_the_default_are_dropped_and_unconditional_rules_absorb_conditions() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 4, "op": "SCMP_CMP_EQ"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO"}
        ]
    }));
    assert_eq!(verdict(&f, x64("dup", [3, 0, 0, 0, 0, 0])), errno(1));
    assert_eq!(verdict(&f, x64("dup", [9, 0, 0, 0, 0, 0])), errno(1));
}

#[test]
fn unknown_names_are_skipped_and_reported() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_call", "getcwd"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(f.skipped, vec!["no_such_call (x86_64)".to_string()]);
    assert_eq!(verdict(&f, x64("getcwd", NO_ARGS)), errno(1));
}

#[test]
fn foreign_abis_are_killed_unless_listed() {
    let deny_unshare = |arches: serde_json::Value| {
        filter(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": arches,
            "syscalls": [{"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO"}]
        }))
    };
    let i386_mount = Call::new(AUDIT_ARCH_I386, 21, NO_ARGS);
    let i386_getpid = Call::new(AUDIT_ARCH_I386, nr(Abi::I386, "getpid"), NO_ARGS);
    let x32_unshare = Call::new(AUDIT_ARCH_X86_64, nr(Abi::X32, "unshare"), NO_ARGS);
    let x32_getpid = Call::new(AUDIT_ARCH_X86_64, nr(Abi::X32, "getpid"), NO_ARGS);
    let arm = Call::new(183 | 0x8000_0000 | 0x4000_0000, 0, NO_ARGS);

    // Only the native ABI: an i386 or x32 call cannot slip past the rules, it kills.
    let f = deny_unshare(json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(verdict(&f, x64("unshare", NO_ARGS)), errno(1));
    assert_eq!(verdict(&f, i386_mount), KILL_PROCESS);
    assert_eq!(verdict(&f, x32_unshare), KILL_PROCESS);
    assert_eq!(verdict(&f, x32_getpid), KILL_PROCESS);
    assert_eq!(verdict(&f, arm), KILL_PROCESS);
    // -1 is what a tracer sets to skip a call: it reaches the native rules.
    let skip = Call::new(AUDIT_ARCH_X86_64, u32::MAX, NO_ARGS);
    assert_eq!(verdict(&f, skip), ALLOW);

    // Listed compat ABIs get the same rules under their own numbers.
    let f = deny_unshare(json!([
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32"
    ]));
    assert_eq!(verdict(&f, i386_mount), errno(1));
    assert_eq!(verdict(&f, i386_getpid), ALLOW);
    assert_eq!(verdict(&f, x32_unshare), errno(1));
    assert_eq!(verdict(&f, x32_getpid), ALLOW);
    assert_eq!(verdict(&f, arm), KILL_PROCESS);
    // The i386 number of mount is an unrelated x86_64 call (21 = access).
    assert_eq!(
        verdict(&f, Call::new(AUDIT_ARCH_X86_64, 21, NO_ARGS)),
        ALLOW
    );

    // A profile naming only other architectures still filters the native one.
    let f = deny_unshare(json!(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]));
    assert_eq!(verdict(&f, x64("unshare", NO_ARGS)), errno(1));
    assert_eq!(f.foreign_arches.len(), 2);
}

#[test]
fn flags_and_notify() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]
    }));
    // TSYNC is accepted and left out (single-threaded processes only).
    assert_eq!(f.flags, 2 | 4);
    assert_eq!(f.programs.len(), 1);
    assert!(f.listener.is_none());

    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "listenerMetadata": "hello",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["mknod", "mknodat"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(verdict(&f, x64("mknodat", NO_ARGS)), NOTIFY);
    assert_eq!(
        f.listener,
        Some(Listener {
            path: "/run/agent.sock".into(),
            metadata: "hello".into()
        })
    );
    // Only the notify program asks for a listener.
    let listening: Vec<_> = f.programs.iter().filter(|p| p.listener).collect();
    assert_eq!(listening.len(), 1);
    assert_eq!(f.flags_for(listening[0]), 8);
    assert_eq!(f.flags_for(f.programs.last().expect("programs")), 0);

    // No flags: SPEC_ALLOW, as runc; an empty list: none.
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert_eq!(f.flags, 4);
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": []}));
    assert_eq!(f.flags, 0);
}

fn compile_err(v: serde_json::Value) -> String {
    match compile(&profile(v)) {
        Ok(_) => panic!("profile should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_profiles_are_refused_naming_the_field() {
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}
        ]})),
        "syscalls[1].args[0].index: 6 is not an argument index (0 to 5)"
    );
    assert!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 5}
        ]}))
        .starts_with("syscalls[0].errnoRet: ")
    );
    assert!(
        compile_err(json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 5}))
            .starts_with("defaultErrnoRet: ")
    );
    assert!(
        compile_err(json!({"defaultAction": "SCMP_ACT_NOTIFY"})).starts_with("defaultAction: ")
    );
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_NOTIFY"}
        ]})),
        "listenerPath: required when a rule uses SCMP_ACT_NOTIFY"
    );
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": [], "action": "SCMP_ACT_ERRNO"}
        ]})),
        "syscalls[0].names: must not be empty"
    );
    // Far more comparisons than a kernel filter may hold.
    let many: Vec<_> = (0..2000)
        .map(|v| json!({"index": 1, "value": v, "op": "SCMP_CMP_EQ"}))
        .collect();
    assert!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": many}
        ]}))
        .contains("BPF instructions"),
    );
}

/// xorshift64*: deterministic pseudo-random inputs without a dependency.
/// A random call on a random ABI to one of `names`, its first `n` arguments at, just
/// above or just below one of `values` (or anything).
fn call_near(
    rng: &mut Rng,
    tables: &BTreeMap<Abi, std::collections::HashMap<&'static str, u32>>,
    names: &[&str],
    values: &[u64],
    n: usize,
) -> Call {
    let abi = *rng.pick(&[Abi::X86_64, Abi::I386, Abi::X32]);
    let arch = if abi == Abi::I386 {
        AUDIT_ARCH_I386
    } else {
        AUDIT_ARCH_X86_64
    };
    let nr = tables[&abi].get(rng.pick(names)).copied().unwrap_or(1);
    let mut args = [0u64; 6];
    for a in args.iter_mut().take(n) {
        let base = *rng.pick(values);
        *a = match rng.below(4) {
            0 => base,
            1 => base.wrapping_add(1),
            2 => base.wrapping_sub(1),
            _ => rng.next_u64(),
        };
    }
    Call::new(arch, nr, args)
}

/// Random profiles (every action, operator and ABI, repeated indexes, unknown names) and
/// random calls near the rules' values: the compiled program must give exactly the verdict
/// the profile's meaning gives.
#[test]
fn compiled_programs_agree_with_the_profile_on_random_inputs() {
    const ACTIONS: &[&str] = &[
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",
    ];
    const OPS: &[&str] = &[
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    const NAMES: &[&str] = &[
        "read",
        "write",
        "openat",
        "ioctl",
        "clone",
        "socket",
        "mmap",
        "futex",
        "no_such_call",
    ];
    const VALUES: &[u64] = &[
        0,
        1,
        2,
        0xff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x8000_0000_0000_0000,
        u64::MAX,
    ];
    const ARCHES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    let tables: BTreeMap<Abi, _> = [Abi::X86_64, Abi::I386, Abi::X32]
        .into_iter()
        .map(|a| (a, a.table()))
        .collect();
    for _ in 0..150 {
        let mut rules = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let names: Vec<&str> = (0..1 + rng.below(3)).map(|_| *rng.pick(NAMES)).collect();
            let args: Vec<_> = (0..rng.below(4))
                .map(|_| {
                    json!({"index": rng.below(3), "value": rng.pick(VALUES),
                           "valueTwo": rng.pick(VALUES), "op": rng.pick(OPS)})
                })
                .collect();
            let mut r = json!({"names": names, "action": rng.pick(ACTIONS), "args": args});
            if r["action"] == "SCMP_ACT_ERRNO" {
                r["errnoRet"] = json!(rng.below(100));
            }
            rules.push(r);
        }
        let arches: Vec<&str> = ARCHES
            .iter()
            .copied()
            .filter(|_| rng.below(2) == 0)
            .collect();
        let spec = profile(json!({
            "defaultAction": rng.pick(ACTIONS), "architectures": arches, "syscalls": rules
        }));
        let f = compile(&spec).expect("random profile compiles");
        let (plan, _, _) = plan(&spec).expect("plans");
        for _ in 0..200 {
            let call = call_near(&mut rng, &tables, NAMES, VALUES, 3);
            assert_eq!(
                verdict(&f, call),
                plan.verdict(&call),
                "profile {spec:?}\ncall {call:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 30_000);
}

mod default_profile {
    use super::*;

    fn f() -> Filter {
        match compile(&profile::default_profile().expect("builds")) {
            Ok(f) => f,
            Err(e) => panic!("the default profile does not compile: {e}"),
        }
    }

    #[test]
    fn ordinary_calls_are_allowed_on_every_abi() {
        let f = f();
        for name in [
            "read",
            "write",
            "openat",
            "execve",
            "exit_group",
            "mmap",
            "futex",
            "wait4",
        ] {
            assert_eq!(verdict(&f, x64(name, NO_ARGS)), ALLOW, "{name}");
            let x32 = Call::new(AUDIT_ARCH_X86_64, nr(Abi::X32, name), NO_ARGS);
            assert_eq!(verdict(&f, x32), ALLOW, "x32 {name}");
        }
        for name in ["read", "socketcall", "mmap2", "waitpid"] {
            let c = Call::new(AUDIT_ARCH_I386, nr(Abi::I386, name), NO_ARGS);
            assert_eq!(verdict(&f, c), ALLOW, "i386 {name}");
        }
        assert_eq!(f.programs.len(), 3, "one program per ABI");
    }

    #[test]
    fn privileged_calls_fail_with_eperm() {
        let f = f();
        for name in [
            "unshare",
            "setns",
            "mount",
            "umount2",
            "pivot_root",
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "bpf",
            "perf_event_open",
            "reboot",
            "swapon",
            "open_by_handle_at",
            "fsopen",
            "move_mount",
            "open_tree",
            "userfaultfd",
            "iopl",
            "settimeofday",
            "io_uring_setup",
            "process_vm_writev",
        ] {
            assert_eq!(
                verdict(&f, x64(name, NO_ARGS)),
                errno(libc::EPERM),
                "{name}"
            );
            let i386 = Abi::I386.table();
            if let Some(n) = i386.get(name) {
                let c = Call::new(AUDIT_ARCH_I386, *n, NO_ARGS);
                assert_eq!(verdict(&f, c), errno(libc::EPERM), "i386 {name}");
            }
        }
    }

    #[test]
    fn clone_without_namespace_flags_and_clone3_falls_back() {
        let f = f();
        let thread =
            (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(verdict(&f, x64("clone", [thread, 0, 0, 0, 0, 0])), ALLOW);
        assert_eq!(
            verdict(&f, x64("clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0])),
            ALLOW
        );
        for ns in [
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWNS,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWPID,
        ] {
            let flags = ns as u64 | libc::SIGCHLD as u64;
            assert_eq!(
                verdict(&f, x64("clone", [flags, 0, 0, 0, 0, 0])),
                errno(libc::EPERM)
            );
        }
        assert_eq!(verdict(&f, x64("clone3", NO_ARGS)), errno(libc::ENOSYS));
    }

    #[test]
    fn personality_only_for_linux_personas() {
        let f = f();
        assert_eq!(verdict(&f, x64("personality", [0, 0, 0, 0, 0, 0])), ALLOW);
        assert_eq!(
            verdict(&f, x64("personality", [0xffff_ffff, 0, 0, 0, 0, 0])),
            ALLOW
        );
        // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE: weakening the container's own hardening.
        assert_eq!(
            verdict(&f, x64("personality", [0x0400_0000, 0, 0, 0, 0, 0])),
            errno(1)
        );
        assert_eq!(
            verdict(&f, x64("personality", [0x0040_0000, 0, 0, 0, 0, 0])),
            errno(1)
        );
    }
}

/// Installs a filter in a forked child and checks the kernel's verdict from inside it.
#[test]
fn installed_filter_changes_what_the_kernel_does() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
                     {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 78,
                      "args": [{"index": 0, "value": 4242, "op": "SCMP_CMP_EQ"}]}]
    }));
    // SAFETY: the child only makes raw syscalls (no allocation, no locks) before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain syscalls in the forked child; see above.
        unsafe {
            let code = if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || f.install(|_| Ok(())).is_err()
            {
                10
            } else if libc::syscall(libc::SYS_getppid) != -1 || *libc::__errno_location() != 77 {
                11
            } else if libc::syscall(libc::SYS_getpgid, 4242) != -1
                || *libc::__errno_location() != 78
            {
                12
            } else if libc::syscall(libc::SYS_getpgid, 0) < 0 {
                13
            } else {
                0
            };
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "0 = all verdicts as configured"
    );
}

#[test]
fn installing_a_notify_filter_yields_a_listener_fd() {
    // An allowlist without fcntl: the listener fd is handed over while the profile's own
    // verdicts are not in force yet (fcntl works in hand_over), and they are afterwards.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 77,
        "listenerPath": "/nonexistent",
        "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_NOTIFY"},
                     {"names": ["exit_group", "exit", "seccomp"], "action": "SCMP_ACT_ALLOW"}]
    }));
    // SAFETY: as above, the child only makes raw syscalls before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: as above.
        unsafe {
            let mut handed = -1;
            let code = if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                10
            } else {
                let r = f.install(|fd| {
                    use std::os::fd::IntoRawFd;
                    handed = fd.into_raw_fd();
                    if libc::fcntl(handed, libc::F_GETFD) >= 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
                if r.is_err() {
                    11
                } else if handed < 0 {
                    12
                } else if libc::fcntl(handed, libc::F_GETFD) != -1
                    || *libc::__errno_location() != 77
                {
                    13
                } else {
                    0
                }
            };
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "0 = fd handed over before the allowlist, which is in force afterwards"
    );
}

#[test]
fn notify_on_sendmsg_is_refused() {
    let e = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]
    })))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "syscalls[0]: SCMP_ACT_NOTIFY on sendmsg: the runtime hands the notify fd to its \
         caller with sendmsg, which would wait for an agent that does not have the fd yet"
    );
}

/// Fuzzing (see fuzz/): profiles as callers write them, mutated. What is refused is
/// refused in one line; what compiles must give, on calls to its rules' names with values
/// near its rules' values, exactly the verdict the profile's meaning gives.
#[test]
fn fuzzed_profiles_compile_to_their_meaning() {
    let tables: BTreeMap<Abi, _> = [Abi::X86_64, Abi::I386, Abi::X32]
        .into_iter()
        .map(|a| (a, a.table()))
        .collect();
    fuzz::run("seccomp", fuzz::Input::Json, |d| {
        let Ok(spec) = serde_json::from_slice::<LinuxSeccomp>(d) else {
            return "not a profile".into();
        };
        let f = match compile(&spec) {
            Ok(f) => f,
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains('\n'), "{text}");
                return text
                    .chars()
                    .take(40)
                    .filter(|c| !c.is_ascii_digit())
                    .collect();
            }
        };
        let (plan, _, _) = plan(&spec).expect("a profile that compiles has a plan");
        let rules = spec.syscalls().as_deref().unwrap_or_default();
        let names: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.names().iter().map(String::as_str))
            .chain(["read", "clone"])
            .collect();
        let values: Vec<u64> = rules
            .iter()
            .flat_map(|r| r.args().as_deref().unwrap_or_default())
            .flat_map(|a| [a.value(), a.value_two().unwrap_or(0)])
            .chain([0, u64::MAX])
            .collect();
        let mut rng = Rng::new(d.len() as u64 * 0x9e37_79b9 + 1);
        for _ in 0..32 {
            let call = call_near(&mut rng, &tables, &names, &values, 6);
            assert_eq!(verdict(&f, call), plan.verdict(&call), "call {call:?}");
        }
        "ok".into()
    });
}
