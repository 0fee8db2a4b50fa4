//! Turns an OCI `linux.seccomp` profile into one seccomp BPF program and installs it.
//!
//! seccompiler compiles the rule chains (syscall numbers, argument comparisons); this crate
//! decides what the OCI profile means and stitches seccompiler's pieces into one program:
//!
//! ```text
//!   load arch ─┬─ x86_64 ─ load nr ─┬─ nr has the x32 bit ─ x32 sections (or KILL_PROCESS)
//!              │                    └─ x86_64 sections
//!              ├─ i386 ─── i386 sections                     (only if the profile lists x86)
//!              └─ anything else ─ KILL_PROCESS
//!   sections:  one per action, most severe first (KILL_PROCESS, KILL_THREAD, TRAP, ERRNO,
//!              NOTIFY, TRACE, LOG, ALLOW); a call no section matches gets defaultAction.
//! ```
//!
//! Ordering the sections by severity gives a call that several rules match the verdict the
//! kernel would give if each action were its own stacked filter, independent of rule order.
//! Rules follow runc and libseccomp: several `args` on different indexes are ANDed, args that
//! repeat an index become separate rules (ORed), MASKED_EQ compares `arg & value` with
//! `valueTwo`, rules whose action equals defaultAction are dropped, and names the kernel's
//! tables do not know are skipped (returned in [`Filter::skipped`] for a debug log).

mod arch;
pub mod profile;
pub mod sim;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

pub use arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Abi, X32_SYSCALL_BIT};
pub use libc::sock_filter;

/// The kernel refuses longer programs (BPF_MAXINSNS).
pub const MAX_INSTRUCTIONS: usize = 4096;

const EPERM: u32 = libc::EPERM as u32;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const ENOSYS_VERDICT: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

/// A profile that cannot be turned into a filter. `field` is the path of the offending value
/// below `linux.seccomp`, so the caller can print `linux.seccomp.syscalls[2].args[0].index: …`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("the filter needs {0} BPF instructions; the kernel allows {MAX_INSTRUCTIONS}")]
    TooLarge(usize),
    #[error("compiling the rules: {0}")]
    Compile(#[from] seccompiler::BackendError),
    #[error("unexpected program from seccompiler: {0}")]
    Internal(&'static str),
    #[error("seccomp(SECCOMP_SET_MODE_FILTER): {0}")]
    Install(std::io::Error),
    #[error("handing the notify fd over: {0}")]
    HandOver(std::io::Error),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Where the notify fd goes (SCMP_ACT_NOTIFY): the runtime sends it with the container's
/// state to this socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

/// A compiled profile, ready to install.
#[derive(Clone, Debug)]
pub struct Filter {
    /// In install order; see [`assemble`].
    pub programs: Vec<Program>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2).
    pub flags: u32,
    /// Set when a rule uses SCMP_ACT_NOTIFY: installing then yields a listener fd.
    pub listener: Option<Listener>,
    /// Syscall names (per ABI) no table knows, skipped as runc skips them.
    pub skipped: Vec<String>,
    /// Architectures listed in the profile that this kernel can never report (e.g. arm on an
    /// x86_64 host): they need no section.
    pub foreign_arches: Vec<String>,
}

/// An action with its data, as the kernel sees it (SECCOMP_RET_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Verdict {
    /// Position in the kernel's precedence: 0 is the most severe.
    rank: u8,
    ret: u32,
}

impl Verdict {
    fn of(action: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<Self, Error> {
        let data = errno.unwrap_or(EPERM);
        if errno.is_some()
            && !matches!(
                action,
                LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
            )
        {
            return Err(invalid(
                field,
                "an errno value is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            ));
        }
        if data > 0xffff {
            return Err(invalid(field, "errno value must be at most 65535"));
        }
        let (rank, ret) = match action {
            LinuxSeccompAction::ScmpActKillProcess => (0, KILL_PROCESS),
            // libseccomp's SCMP_ACT_KILL has always meant killing the thread.
            LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
                (1, libc::SECCOMP_RET_KILL_THREAD)
            }
            LinuxSeccompAction::ScmpActTrap => (2, libc::SECCOMP_RET_TRAP),
            LinuxSeccompAction::ScmpActErrno => (3, libc::SECCOMP_RET_ERRNO | data),
            LinuxSeccompAction::ScmpActNotify => (4, libc::SECCOMP_RET_USER_NOTIF),
            LinuxSeccompAction::ScmpActTrace => (5, libc::SECCOMP_RET_TRACE | data),
            LinuxSeccompAction::ScmpActLog => (6, libc::SECCOMP_RET_LOG),
            LinuxSeccompAction::ScmpActAllow => (7, libc::SECCOMP_RET_ALLOW),
        };
        Ok(Verdict { rank, ret })
    }
}

/// One argument comparison, after OCI → kernel translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cond {
    index: u8,
    op: Op,
    value: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq(u64),
}

impl Cond {
    fn from_oci(arg: &LinuxSeccompArg, field: &str) -> Result<Self, Error> {
        let index = u8::try_from(arg.index())
            .ok()
            .filter(|i| *i <= 5)
            .ok_or_else(|| {
                invalid(
                    format!("{field}.index"),
                    format!("{} is not an argument index (0 to 5)", arg.index()),
                )
            })?;
        let (op, value) = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => (Op::Ne, arg.value()),
            LinuxSeccompOperator::ScmpCmpLt => (Op::Lt, arg.value()),
            LinuxSeccompOperator::ScmpCmpLe => (Op::Le, arg.value()),
            LinuxSeccompOperator::ScmpCmpEq => (Op::Eq, arg.value()),
            LinuxSeccompOperator::ScmpCmpGe => (Op::Ge, arg.value()),
            LinuxSeccompOperator::ScmpCmpGt => (Op::Gt, arg.value()),
            // The OCI spec (like libseccomp) puts the mask in `value` and the expected
            // masked result in `valueTwo`.
            LinuxSeccompOperator::ScmpCmpMaskedEq => {
                (Op::MaskedEq(arg.value()), arg.value_two().unwrap_or(0))
            }
        };
        Ok(Cond { index, op, value })
    }

    /// Whether the call's argument satisfies this comparison (the reference semantics; the
    /// BPF program must agree).
    #[cfg(test)]
    fn holds(&self, args: &[u64; 6]) -> bool {
        let a = args[usize::from(self.index)];
        match self.op {
            Op::Ne => a != self.value,
            Op::Lt => a < self.value,
            Op::Le => a <= self.value,
            Op::Eq => a == self.value,
            Op::Ge => a >= self.value,
            Op::Gt => a > self.value,
            Op::MaskedEq(mask) => a & mask == self.value,
        }
    }

    fn to_seccompiler(self) -> Result<SeccompCondition, Error> {
        let op = match self.op {
            Op::Ne => SeccompCmpOp::Ne,
            Op::Lt => SeccompCmpOp::Lt,
            Op::Le => SeccompCmpOp::Le,
            Op::Eq => SeccompCmpOp::Eq,
            Op::Ge => SeccompCmpOp::Ge,
            Op::Gt => SeccompCmpOp::Gt,
            Op::MaskedEq(mask) => SeccompCmpOp::MaskedEq(mask),
        };
        // Always all 64 bits, as libseccomp compares on 64-bit ABIs; on i386 the kernel
        // zero-extends the 32-bit registers, so the upper half is simply 0 there.
        Ok(SeccompCondition::new(
            self.index,
            SeccompCmpArgLen::Qword,
            op,
            self.value,
        )?)
    }
}

/// The conditions under which a rule matches: any of the alternatives, each an AND of
/// comparisons. An empty alternative matches every call.
type Alternatives = BTreeSet<Vec<Cond>>;

/// A profile after validation and name resolution, before code generation. Public only
/// within the crate: tests compare its semantics with the program's verdicts.
#[derive(Debug, Default)]
struct Plan {
    default: Option<Verdict>,
    /// ABI → section verdict → syscall number → alternatives.
    sections: BTreeMap<Abi, BTreeMap<Verdict, BTreeMap<u32, Alternatives>>>,
    /// ABI → the newest call the profile names (any rule, any action), where a call
    /// newer than that gets ENOSYS instead of a refusing default (see `unknown_call`).
    newest: BTreeMap<Abi, u32>,
}

impl Plan {
    /// What a call newer than every call the profile names gets, if not the default: a
    /// profile written before that call existed cannot mean to refuse it, and ENOSYS is
    /// what makes libc fall back to the older call it replaces (clone3 → clone, openat2 →
    /// openat, faccessat2 → faccessat); EPERM would read as "refused". As runc does; only
    /// where the default refuses (not ALLOW or LOG), and never for -1, a tracer's skip.
    fn unknown_call(&self, abi: Abi) -> Option<u32> {
        let default = self.default?;
        let refuses =
            default.ret != libc::SECCOMP_RET_ALLOW && default.ret != libc::SECCOMP_RET_LOG;
        refuses.then(|| self.newest.get(&abi).copied()).flatten()
    }

    /// What the profile says a call gets, evaluated directly (the reference for tests).
    #[cfg(test)]
    fn verdict(&self, call: &sim::Call) -> u32 {
        let abi = match call.arch {
            AUDIT_ARCH_X86_64 if call.nr & X32_SYSCALL_BIT != 0 && call.nr != u32::MAX => Abi::X32,
            AUDIT_ARCH_X86_64 => Abi::X86_64,
            AUDIT_ARCH_I386 => Abi::I386,
            _ => return KILL_PROCESS,
        };
        let Some(sections) = self.sections.get(&abi) else {
            return KILL_PROCESS;
        };
        for (verdict, calls) in sections {
            if let Some(alts) = calls.get(&call.nr)
                && alts
                    .iter()
                    .any(|all| all.iter().all(|c| c.holds(&call.args)))
            {
                return verdict.ret;
            }
        }
        if let Some(newest) = self.unknown_call(abi)
            && call.nr > newest
            && call.nr != u32::MAX
        {
            return ENOSYS_VERDICT;
        }
        self.default.map_or(KILL_PROCESS, |d| d.ret)
    }
}

fn abis_of(spec: &LinuxSeccomp, foreign: &mut Vec<String>) -> BTreeSet<Abi> {
    // The native ABI is always filtered: libseccomp filters start with it and runc never
    // removes it, so a profile listing only foreign arches still confines the container.
    let mut abis = BTreeSet::from([Abi::X86_64]);
    for a in spec.architectures().iter().flatten() {
        match a {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => {}
            Arch::ScmpArchX86 => {
                abis.insert(Abi::I386);
            }
            Arch::ScmpArchX32 => {
                abis.insert(Abi::X32);
            }
            other => foreign.push(other.to_string()),
        }
    }
    abis
}

fn plan(spec: &LinuxSeccomp) -> Result<(Plan, Vec<String>, Vec<String>), Error> {
    let default_action = spec.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(invalid(
            "defaultAction",
            "SCMP_ACT_NOTIFY cannot be used as default action (the runtime itself could \
             not finish starting the container)",
        ));
    }
    let default = Verdict::of(default_action, spec.default_errno_ret(), "defaultErrnoRet")?;
    let mut foreign = Vec::new();
    let abis = abis_of(spec, &mut foreign);
    let tables: BTreeMap<Abi, _> = abis.iter().map(|a| (*a, a.table())).collect();
    let mut plan = Plan {
        default: Some(default),
        ..Plan::default()
    };
    let mut skipped = Vec::new();
    for (i, rule) in spec.syscalls().iter().flatten().enumerate() {
        let field = format!("syscalls[{i}]");
        if rule.names().is_empty() {
            return Err(invalid(format!("{field}.names"), "must not be empty"));
        }
        for name in rule.names() {
            for (abi, table) in &tables {
                if let Some(nr) = table.get(name.as_str()) {
                    let newest = plan.newest.entry(*abi).or_insert(*nr);
                    *newest = (*newest).max(*nr);
                }
            }
        }
        let verdict = Verdict::of(
            rule.action(),
            rule.errno_ret(),
            &format!("{field}.errnoRet"),
        )?;
        let mut conds = rule
            .args()
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, a)| Cond::from_oci(a, &format!("{field}.args[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if verdict == default {
            continue;
        }
        if verdict.ret == libc::SECCOMP_RET_USER_NOTIF
            && rule.names().iter().any(|n| n == "sendmsg")
        {
            return Err(invalid(
                field,
                "SCMP_ACT_NOTIFY on sendmsg: the runtime hands the notify fd to its caller \
                 with sendmsg, which would wait for an agent that does not have the fd yet",
            ));
        }
        // In runc's words (its seccomp-notify.bats looks for them): a container whose
        // every write waits for an agent cannot report its own start-up failure.
        if verdict.ret == libc::SECCOMP_RET_USER_NOTIF && rule.names().iter().any(|n| n == "write")
        {
            return Err(invalid(
                field,
                "SCMP_ACT_NOTIFY cannot be used for the write syscall",
            ));
        }
        // libseccomp compares `arg & mask` with valueTwo as given: bits of valueTwo outside
        // the mask can never match. seccompiler masks valueTwo first, which would turn such
        // a comparison into a match, so it is resolved here.
        let impossible = |c: &Cond| matches!(c.op, Op::MaskedEq(m) if c.value & !m != 0);
        // libseccomp cannot AND two comparisons of one argument, so runc turns a rule
        // whose args repeat an index into one rule per comparison (ORed); otherwise all
        // comparisons must hold together.
        let mut seen = BTreeSet::new();
        let repeats = conds.iter().any(|c| !seen.insert(c.index));
        let alternatives: Vec<Vec<Cond>> = if repeats {
            conds.retain(|c| !impossible(c));
            if conds.is_empty() {
                continue;
            }
            conds.iter().map(|c| vec![*c]).collect()
        } else if conds.iter().any(impossible) {
            continue;
        } else {
            vec![conds]
        };
        for name in rule.names() {
            for (abi, table) in &tables {
                let Some(nr) = table.get(name.as_str()) else {
                    skipped.push(format!("{name} ({})", abi.name()));
                    continue;
                };
                let alts = plan
                    .sections
                    .entry(*abi)
                    .or_default()
                    .entry(verdict)
                    .or_default()
                    .entry(*nr)
                    .or_default();
                alts.extend(alternatives.iter().cloned());
            }
        }
    }
    for abi in &abis {
        plan.sections.entry(*abi).or_default();
    }
    // An unconditional alternative makes the others redundant.
    for sections in plan.sections.values_mut() {
        for calls in sections.values_mut() {
            for alts in calls.values_mut() {
                if alts.contains(&Vec::new()) {
                    alts.retain(|a| a.is_empty());
                }
            }
        }
    }
    Ok((plan, skipped, foreign))
}

/// Placeholders for seccompiler's two actions: a section is compiled with these and its
/// RETs are rewritten afterwards (seccompiler has no notify action and no "fall through").
const MATCHED: SeccompAction = SeccompAction::Trace(0xfff1);
const UNMATCHED: SeccompAction = SeccompAction::Trace(0xfff2);

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}
const LD_ABS: u16 = 0x20;
const JEQ: u16 = 0x15;
const JGE: u16 = 0x35;
const JGT: u16 = 0x25;
const JA: u16 = 0x05;
const RET: u16 = 0x06;

/// The code for one ABI: each section's rule chains in severity order, falling through to
/// the next section and finally to `default`. `keep` selects the sections to emit and
/// `ret` gives the verdict a matching section returns.
fn emit_sections(
    sections: &BTreeMap<Verdict, BTreeMap<u32, Alternatives>>,
    keep: impl Fn(&Verdict) -> bool,
    ret: impl Fn(&Verdict) -> u32,
    default: u32,
    newest: Option<u32>,
) -> Result<Vec<sock_filter>, Error> {
    let mut bodies = Vec::new();
    for (verdict, calls) in sections.iter().filter(|(v, _)| keep(v)) {
        let mut rules = BTreeMap::new();
        for (nr, alts) in calls {
            let chain = if alts.iter().any(Vec::is_empty) {
                Vec::new()
            } else {
                alts.iter()
                    .map(|all| {
                        let conds = all
                            .iter()
                            .map(|c| c.to_seccompiler())
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(SeccompRule::new(conds)?)
                    })
                    .collect::<Result<Vec<_>, Error>>()?
            };
            rules.insert(i64::from(*nr), chain);
        }
        if rules.is_empty() {
            continue;
        }
        let filter = SeccompFilter::new(rules, UNMATCHED, MATCHED, TargetArch::x86_64)?;
        let prog: seccompiler::BpfProgram = filter.try_into()?;
        // seccompiler starts every program with its own 3-instruction arch check; the
        // dispatch in `dispatch` replaces it.
        if prog.len() < 4 || prog[0].code != LD_ABS || prog[0].k != 4 || prog[2].code != RET {
            return Err(Error::Internal("missing arch check"));
        }
        bodies.push((ret(verdict), prog[3..].to_vec()));
    }
    let total: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(total + 1);
    let mut end_of_body = 0;
    for (ret, body) in bodies {
        end_of_body += body.len();
        for i in body {
            let code = i.code;
            let k = i.k;
            out.push(match (code, k) {
                (RET, k) if k == u32::from(MATCHED) => ins(RET, 0, 0, ret),
                (RET, k) if k == u32::from(UNMATCHED) => {
                    // On to the first instruction after this body: the next section, or
                    // the default verdict.
                    let here = out.len();
                    ins(JA, 0, 0, (end_of_body - here - 1) as u32)
                }
                (RET, _) => return Err(Error::Internal("unknown return")),
                _ => ins(code, i.jt, i.jf, k),
            });
        }
    }
    if let Some(newest) = newest {
        // nr > newest, and not -1: ENOSYS (Plan::unknown_call).
        out.push(ins(LD_ABS, 0, 0, 0));
        out.push(ins(JGT, 0, 2, newest));
        out.push(ins(JEQ, 1, 0, u32::MAX));
        out.push(ins(RET, 0, 0, ENOSYS_VERDICT));
    }
    out.push(ins(RET, 0, 0, default));
    Ok(out)
}

/// What a program does with calls of one ABI: run a body, or return a fixed verdict.
enum Part {
    Body(Vec<sock_filter>),
    Fixed(u32),
}

/// A program that routes each call to the part for its ABI:
///
/// ```text
///  0  ld arch
///  1  jeq X86_64 ? 2 : 3        5  ret <other arches>
///  2  ja native                 native: ld nr
///  3  jeq I386 ? 4 : 5                  jge X32_BIT ? next : body
///  4  ja i386 (or ret)                  jeq -1 ? body : next
///                                       ja x32 (or ret)
///                                       body; x32 body; i386 body
/// ```
///
/// -1 is what a tracer sets to skip a call; it goes to the native rules like libseccomp's.
fn dispatch(native: Part, x32: Part, i386: Part, other: u32) -> Vec<sock_filter> {
    // The native calls fall through from the head, so they always need code.
    let native = match native {
        Part::Fixed(r) => Part::Body(vec![ins(RET, 0, 0, r)]),
        body => body,
    };
    let len = |p: &Part| match p {
        Part::Body(b) => b.len(),
        Part::Fixed(_) => 0,
    };
    let head = 6;
    let native_head = 4;
    let native_len = native_head + len(&native) + len(&x32);
    let mut p = Vec::with_capacity(head + native_len + len(&i386));
    p.push(ins(LD_ABS, 0, 0, 4));
    p.push(ins(JEQ, 0, 1, AUDIT_ARCH_X86_64));
    p.push(ins(JA, 0, 0, (head - 3) as u32));
    p.push(ins(JEQ, 0, 1, AUDIT_ARCH_I386));
    p.push(match &i386 {
        Part::Body(_) => ins(JA, 0, 0, (head + native_len - 5) as u32),
        Part::Fixed(r) => ins(RET, 0, 0, *r),
    });
    p.push(ins(RET, 0, 0, other));

    p.push(ins(LD_ABS, 0, 0, 0));
    p.push(ins(JGE, 0, 2, X32_SYSCALL_BIT));
    p.push(ins(JEQ, 1, 0, u32::MAX));
    p.push(match &x32 {
        Part::Body(_) => ins(JA, 0, 0, len(&native) as u32),
        Part::Fixed(r) => ins(RET, 0, 0, *r),
    });
    for part in [native, x32, i386] {
        if let Part::Body(b) = part {
            p.extend(b);
        }
    }
    p
}

/// One seccomp program; a compiled profile is a stack of them.
#[derive(Clone, Debug)]
pub struct Program {
    pub instructions: Vec<sock_filter>,
    /// Installed with SECCOMP_FILTER_FLAG_NEW_LISTENER (it holds the notify rules).
    pub listener: bool,
}

/// The profile as a stack of programs, in install order. The kernel runs every installed
/// program and keeps the most severe verdict, so splitting changes nothing about verdicts;
/// it keeps each program under the kernel's 4096-instruction limit (an allowlist for three
/// ABIs does not fit in one). One program per ABI returns that ABI's verdicts and ALLOW for
/// the others; the native one also kills unlisted ABIs. NOTIFY rules live in one extra
/// program of their own, because a filter tree may hold only one listener; the per-ABI
/// programs give their calls ALLOW at NOTIFY's place in the order, so the notify program's
/// verdict shows through exactly when no more severe rule matches.
fn assemble(plan: &Plan, default: u32) -> Result<Vec<Program>, Error> {
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    let is_notify = |v: &Verdict| v.ret == libc::SECCOMP_RET_USER_NOTIF;
    let empty = BTreeMap::new();
    let sections = |abi| plan.sections.get(&abi);
    let listed = |abi| sections(abi).is_some();
    let body = |abi| {
        emit_sections(
            sections(abi).unwrap_or(&empty),
            |_| true,
            |v| if is_notify(v) { ALLOW } else { v.ret },
            default,
            plan.unknown_call(abi),
        )
        .map(Part::Body)
    };
    let unlisted = |abi| Part::Fixed(if listed(abi) { ALLOW } else { KILL_PROCESS });

    let mut programs = Vec::new();
    let program = |instructions: Vec<sock_filter>, listener| {
        if instructions.len() > MAX_INSTRUCTIONS {
            return Err(Error::TooLarge(instructions.len()));
        }
        Ok(Program {
            instructions,
            listener,
        })
    };
    if listed(Abi::I386) {
        let p = dispatch(
            Part::Fixed(ALLOW),
            Part::Fixed(ALLOW),
            body(Abi::I386)?,
            ALLOW,
        );
        programs.push(program(p, false)?);
    }
    if listed(Abi::X32) {
        let p = dispatch(
            Part::Fixed(ALLOW),
            body(Abi::X32)?,
            Part::Fixed(ALLOW),
            ALLOW,
        );
        programs.push(program(p, false)?);
    }
    let has_notify = plan.sections.values().any(|s| s.keys().any(is_notify));
    if has_notify {
        let part = |abi| -> Result<Part, Error> {
            match sections(abi) {
                Some(s) if s.keys().any(is_notify) => Ok(Part::Body(emit_sections(
                    s,
                    is_notify,
                    |v| v.ret,
                    ALLOW,
                    None,
                )?)),
                _ => Ok(Part::Fixed(ALLOW)),
            }
        };
        let p = dispatch(part(Abi::X86_64)?, part(Abi::X32)?, part(Abi::I386)?, ALLOW);
        programs.push(program(p, true)?);
    }
    // Last: once it is installed, the profile also judges rt's own seccomp(2) calls.
    let p = dispatch(
        body(Abi::X86_64)?,
        unlisted(Abi::X32),
        unlisted(Abi::I386),
        KILL_PROCESS,
    );
    programs.push(program(p, false)?);
    Ok(programs)
}

/// seccomp(2)'s bit for a profile's flag.
pub fn flag_bits(f: LinuxSeccompFilterFlag) -> u32 {
    (match f {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        }
    }) as u32
}

/// Compiles `spec` (the config's `linux.seccomp`). Errors name the field below
/// `linux.seccomp`.
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter, Error> {
    let (plan, skipped, foreign_arches) = plan(spec)?;
    let default = plan.default.map_or(KILL_PROCESS, |d| d.ret);
    let programs = assemble(&plan, default)?;
    let notify = plan
        .sections
        .values()
        .flat_map(|s| s.keys())
        .any(|v| v.ret == libc::SECCOMP_RET_USER_NOTIF);
    let listener = match (notify, spec.listener_path()) {
        (false, _) => None,
        (true, None) => {
            return Err(invalid(
                "listenerPath",
                "required when a rule uses SCMP_ACT_NOTIFY",
            ));
        }
        (true, Some(path)) => Some(Listener {
            path: path.clone(),
            metadata: spec.listener_metadata().clone().unwrap_or_default(),
        }),
    };
    // Without flags, SPEC_ALLOW, as runc and Docker install filters: otherwise the
    // kernel forces the speculative store bypass mitigation on every process of the
    // container (a cost a filter alone should not bring). `"flags": []` is no flag.
    let mut flags = match spec.flags() {
        None => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
        Some(_) => 0,
    };
    for f in spec.flags().iter().flatten() {
        // Every process a filter is installed in is single-threaded (the container's
        // init, an exec process, a startContainer hook): TSYNC has nothing to
        // synchronise, and is accepted and left out, as runc does.
        if *f == LinuxSeccompFilterFlag::SeccompFilterFlagTsync {
            continue;
        }
        if *f == LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv && listener.is_none() {
            return Err(invalid(
                "flags",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule",
            ));
        }
        flags |= flag_bits(*f);
    }
    Ok(Filter {
        programs,
        flags,
        listener,
        skipped,
        foreign_arches,
    })
}

impl Filter {
    /// The seccomp(2) flags for one of the programs.
    pub fn flags_for(&self, program: &Program) -> u32 {
        const LISTENER_ONLY: u32 = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
        if !program.listener {
            return self.flags & !LISTENER_ONLY;
        }
        self.flags | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32
    }

    /// Installs the programs on the calling thread (all threads with TSYNC). Without
    /// no_new_privs this needs CAP_SYS_ADMIN in the caller's user namespace.
    ///
    /// When the profile has SCMP_ACT_NOTIFY rules, the listener fd goes to `hand_over` as
    /// soon as the notify program is in place and before the last program (the native
    /// ABI's, which holds the profile's allowlist or denylist): handing it over takes a
    /// syscall of the runtime's own (sendmsg), which the profile must not be able to deny.
    /// After the last program no syscall is made. Makes no allocation on success.
    pub fn install(
        &self,
        hand_over: impl FnOnce(OwnedFd) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut hand_over = Some(hand_over);
        for program in &self.programs {
            let flags = self.flags_for(program);
            let prog = libc::sock_fprog {
                len: program.instructions.len() as u16,
                filter: program.instructions.as_ptr().cast_mut(),
            };
            // SAFETY: `prog` points at `program.instructions`, which outlives the call; the
            // kernel copies the instructions before returning.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    libc::c_ulong::from(flags),
                    &prog as *const libc::sock_fprog,
                )
            };
            if rc < 0 {
                return Err(Error::Install(std::io::Error::last_os_error()));
            }
            if program.listener {
                let fd =
                    i32::try_from(rc).map_err(|_| Error::Internal("listener fd out of range"))?;
                // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER the return value is a new fd
                // that nothing else owns.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                if let Some(f) = hand_over.take() {
                    f(fd).map_err(Error::HandOver)?;
                }
            } else if rc > 0 {
                return Err(Error::Install(std::io::Error::other(format!(
                    "TSYNC: thread {rc} could not be synchronised"
                ))));
            }
        }
        Ok(())
    }

    /// The verdict (SECCOMP_RET_* value) the kernel gives `call` with all programs
    /// installed: it runs every program, newest first, and keeps the first of the most
    /// severe verdicts.
    pub fn verdict(&self, call: &sim::Call) -> Result<u32, sim::SimError> {
        let severity = |ret: u32| (ret & libc::SECCOMP_RET_ACTION_FULL) as i32;
        let mut best: Option<u32> = None;
        for program in self.programs.iter().rev() {
            let ret = sim::run(&program.instructions, call)?;
            if best.is_none_or(|b| severity(ret) < severity(b)) {
                best = Some(ret);
            }
        }
        best.ok_or(sim::SimError::Length)
    }
}

#[cfg(test)]
mod tests;
