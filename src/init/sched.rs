//! How the kernel runs the container's processes: process.scheduler (sched_setattr),
//! process.ioPriority (ioprio_set), process.execCPUAffinity (sched_setaffinity),
//! linux.personality and linux.memoryPolicy (set_mempolicy). The init and every exec
//! process set them on themselves, after their cgroups (a cpuset cgroup resets the CPU
//! affinity of a process it receives) and before they give up their capabilities
//! (real-time policies and I/O classes need CAP_SYS_NICE / CAP_SYS_ADMIN). The config
//! checks live in config.rs; what is left here is what only the kernel can refuse.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType, MemoryPolicyModeType,
    Scheduler,
};

use crate::error::{Ctx, StepError};

/// What linux.* sets for every process of the container, the init's and exec's alike.
#[derive(Clone, Copy, Default)]
pub struct ContainerWide<'a> {
    pub personality: Option<&'a LinuxPersonality>,
    pub memory_policy: Option<&'a LinuxMemoryPolicy>,
    /// linux.resources.cpu.cpus is set: the container's cpuset may leave out CPUs, which
    /// SCHED_DEADLINE cannot live with.
    pub cpus_limited: bool,
}

/// Whose settings these are: process.execCPUAffinity is not for the container's init
/// (runtime spec).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Init,
    Exec,
}

/// Everything of this module, in the order that works: after the cgroups were joined,
/// before the capabilities are dropped.
pub fn apply(
    process: &oci_spec::runtime::Process,
    wide: ContainerWide,
    role: Role,
) -> Result<(), StepError> {
    if let Some(p) = wide.personality {
        set_personality(p)?;
    }
    if let Some(m) = wide.memory_policy {
        set_memory_policy(m)?;
    }
    if let Some(io) = process.io_priority() {
        set_io_priority(io)?;
    }
    if let Some(s) = process.scheduler() {
        set_scheduler(s, wide.cpus_limited)?;
    }
    let last = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().as_deref())
        .filter(|_| role == Role::Exec);
    match last {
        Some(list) => {
            set_affinity(0, list, "process.execCPUAffinity.final")?;
        }
        None => every_cpu_the_cgroup_allows(),
    }
    Ok(())
}

/// Since Linux 6.2 the kernel keeps the CPU affinity a process asked for (or inherited:
/// `taskset -c 0 rt run …`) across cpuset changes, so joining the container's cpuset no
/// longer resets it: the container would run on its caller's CPUs only. Asking for every
/// CPU gets those of the cpuset (the kernel intersects), as runc does since 1.2. A
/// refusal leaves the inherited affinity, which still works.
fn every_cpu_the_cgroup_allows() {
    let mut set = nix::sched::CpuSet::new();
    for cpu in 0..nix::sched::CpuSet::count() {
        let _ = set.set(cpu);
    }
    if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
        crate::debug!("resetting the CPU affinity: {e}");
    }
}

/// A CPU list as the hexadecimal mask runc's debug output shows ("0-1" is 0x3).
pub fn cpu_mask_hex(cpus: &[u32]) -> String {
    let mut words = vec![0u64; cpus.iter().max().map_or(1, |m| *m as usize / 64 + 1)];
    for &c in cpus {
        words[c as usize / 64] |= 1 << (c % 64);
    }
    let mut hex = String::from("0x");
    for (i, w) in words.iter().rev().enumerate() {
        if i == 0 {
            hex.push_str(&format!("{w:x}"));
        } else {
            hex.push_str(&format!("{w:016x}"));
        }
    }
    hex
}

/// struct sched_attr (include/uapi/linux/sched/types.h), SCHED_ATTR_SIZE_VER1.
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// A raw syscall's result: the errno, named after `field`, if it failed.
fn checked(r: libc::c_long, field: &str) -> Result<(), StepError> {
    if r < 0 {
        return Err::<(), _>(std::io::Error::last_os_error()).ctx(|| field);
    }
    Ok(())
}

/// The kernel's numbers (include/uapi/linux/sched.h).
pub fn policy_number(p: LinuxSchedulerPolicy) -> u32 {
    match p {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    }
}

fn flag_bit(f: LinuxSchedulerFlag) -> u64 {
    match f {
        LinuxSchedulerFlag::SchedResetOnFork => 0x01,
        LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
        LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
        LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
        LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
        LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
        LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
    }
}

pub fn set_scheduler(s: &Scheduler, cpus_limited: bool) -> Result<(), StepError> {
    let mut attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: policy_number(*s.policy()),
        flags: s.flags().iter().flatten().map(|f| flag_bit(*f)).sum(),
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..SchedAttr::default()
    };
    // SAFETY: sched_setattr reads `attr`, which we own, of the size it says it is.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &mut attr as *mut SchedAttr, 0) };
    // The kernel refuses SCHED_DEADLINE (EPERM) to a process not allowed on every CPU of
    // its root domain (sched_setattr(2)), which a cpuset of some CPUs makes it: said in
    // runc's words, which its tests look for.
    if r == -1 && cpus_limited && nix::errno::Errno::last() == nix::errno::Errno::EPERM {
        return Err(StepError::msg(
            "process.scheduler",
            "process scheduler can't be used together with AllowedCPUs \
             (linux.resources.cpu.cpus): sched_setattr: operation not permitted",
        ));
    }
    checked(r, "process.scheduler")
}

pub fn set_io_priority(p: &LinuxIOPriority) -> Result<(), StepError> {
    const WHO_PROCESS: i32 = 1;
    let class: i64 = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let value = (class << 13) | p.priority();
    // SAFETY: plain integers.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, WHO_PROCESS, 0, value) };
    checked(r, "process.ioPriority")
}

/// The CPUs of `list` ("0-3,5") for `pid` (0: this process); returns them.
pub fn set_affinity(pid: i32, list: &str, field: &str) -> Result<Vec<u32>, StepError> {
    let cpus = crate::config::parse_list(list).ok_or_else(|| {
        StepError::msg(
            field,
            format!("{}: not a CPU list", crate::error::quoted(list)),
        )
    })?;
    let mut set = nix::sched::CpuSet::new();
    for &cpu in &cpus {
        set.set(cpu as usize).map_err(|_| {
            StepError::msg(
                field,
                format!("CPU {cpu}: beyond what the kernel's CPU sets hold"),
            )
        })?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(pid), &set)
        .ctx(|| field.to_owned())?;
    Ok(cpus)
}

pub fn set_personality(p: &LinuxPersonality) -> Result<(), StepError> {
    let domain: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    // SAFETY: personality takes an integer; it changes how the kernel presents itself to
    // this process (uname's machine) and nothing of our memory.
    let r = unsafe { libc::personality(domain) };
    checked(r.into(), "linux.personality")
}

pub fn set_memory_policy(p: &LinuxMemoryPolicy) -> Result<(), StepError> {
    let mode: i64 = match p.mode() {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    };
    let flags: i64 = p
        .flags()
        .iter()
        .flatten()
        .map(|f| match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        })
        .sum();
    let nodes = match p.nodes().as_deref().filter(|n| !n.trim().is_empty()) {
        Some(list) => crate::config::parse_list(list).ok_or_else(|| {
            StepError::msg(
                "linux.memoryPolicy.nodes",
                format!("{}: not a node list", crate::error::quoted(list)),
            )
        })?,
        None => Vec::new(),
    };
    let bits = usize::BITS as usize;
    let words = nodes.iter().max().map_or(0, |m| *m as usize / bits + 1);
    let mut mask = vec![0 as libc::c_ulong; words];
    for n in &nodes {
        mask[*n as usize / bits] |= 1 << (*n as usize % bits);
    }
    // The kernel reads maxnode - 1 bits (set_mempolicy(2): an off-by-one kept for
    // compatibility), so one more than the mask holds.
    let maxnode = if mask.is_empty() {
        0
    } else {
        mask.len() * bits + 1
    };
    let ptr = if mask.is_empty() {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: the kernel reads at most maxnode - 1 bits from `mask`, which holds them.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode | flags, ptr, maxnode) };
    checked(r, "linux.memoryPolicy")
}

#[cfg(test)]
mod tests {
    use super::cpu_mask_hex;

    #[test]
    fn cpu_masks_read_as_runcs_debug_output() {
        assert_eq!(cpu_mask_hex(&[1]), "0x2");
        assert_eq!(cpu_mask_hex(&[0, 1]), "0x3");
        assert_eq!(cpu_mask_hex(&[0, 64]), "0x10000000000000001");
    }
}
