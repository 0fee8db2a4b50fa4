//! The default profile `rt spec` writes: an allowlist with the effect of Docker's default
//! profile for a container without extra capabilities, written for rt from the syscall
//! facts. Everything not listed fails with EPERM; among what is left out on purpose:
//!
//! - namespaces and mounts: unshare, setns, mount, umount2, pivot_root, the new mount API
//!   (fsopen, fsmount, fsconfig, fspick, move_mount, open_tree, mount_setattr), clone and
//!   clone3 with namespace flags;
//! - the kernel itself: init/finit/delete_module, kexec_load, kexec_file_load, reboot, bpf,
//!   perf_event_open, iopl, ioperm, swapon, swapoff, acct, syslog, quotactl, lookup_dcookie,
//!   _sysctl, sysfs, ustat, uselib, vm86, nfsservctl;
//! - the kernel keyring (add_key, keyctl, request_key), which is not namespaced;
//! - clocks (settimeofday, clock_settime, clock_adjtime, stime);
//! - other processes' memory and handles (process_vm_readv/writev, kcmp, pidfd_getfd,
//!   open_by_handle_at, name_to_handle_at), NUMA policy (mbind, set_mempolicy,
//!   get_mempolicy, move_pages, migrate_pages), userfaultfd, fanotify_init, io_uring.
//!
//! clone3 gets ENOSYS instead of EPERM: its flags live in memory a filter cannot read, and
//! ENOSYS makes libc fall back to clone, whose flags the filter checks.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

use crate::Error;

/// Calls every container may make, grouped by what they touch. Names a given ABI does not
/// have (the i386-only variants, new calls on old tables) are skipped when compiling.
#[rustfmt::skip]
const ALLOWED: &[&[&str]] = &[
    // Files and descriptors.
    &[
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
        "lseek", "_llseek", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64",
        "flock", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate",
        "truncate64", "ftruncate", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64",
        "readahead", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
        "ioctl", "stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat",
        "fstatat64", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "access",
        "faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64",
        "getcwd", "chdir", "fchdir", "chroot", "mkdir", "mkdirat", "rmdir", "rename",
        "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink",
        "unlinkat", "mknod", "mknodat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
        "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask", "utime",
        "utimes", "utimensat", "utimensat_time64", "futimesat", "getxattr", "lgetxattr",
        "fgetxattr", "getxattrat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
        "listxattr", "llistxattr", "flistxattr", "listxattrat", "removexattr",
        "lremovexattr", "fremovexattr", "removexattrat", "file_getattr", "file_setattr",
        "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
        "fanotify_mark", "statmount", "listmount",
    ],
    // Memory.
    &[
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc",
        "pkey_free", "madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
        "mincore", "msync", "remap_file_pages", "membarrier", "memfd_create", "memfd_secret",
        "mseal", "map_shadow_stack", "cachestat",
    ],
    // Processes, threads, credentials and scheduling.
    &[
        "exit", "exit_group", "fork", "vfork", "execve", "execveat", "wait4", "waitid",
        "waitpid", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid",
        "setsid", "set_tid_address", "set_robust_list", "get_robust_list", "arch_prctl",
        "prctl", "rseq", "get_thread_area", "set_thread_area", "sched_yield",
        "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
        "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_getattr", "sched_setattr", "getpriority", "setpriority", "nice", "ioprio_get",
        "ioprio_set", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage",
        "times", "capget", "capset", "uname", "olduname", "oldolduname", "getuid",
        "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid",
        "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32", "getresuid",
        "getresuid32", "getresgid", "getresgid32", "setfsuid", "setfsuid32", "setfsgid",
        "setfsgid32", "getgroups", "getgroups32", "setgroups", "setgroups32", "pidfd_open",
        "pidfd_send_signal", "ptrace", "kill", "tkill", "tgkill", "restart_syscall",
        "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
        "uretprobe",
    ],
    // Signals.
    &[
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
        "sigaction", "sigprocmask", "sigreturn", "sigsuspend", "sigpending", "sigaltstack",
        "signal", "signalfd", "signalfd4", "alarm", "pause",
    ],
    // Time (reading it; setting clocks needs CAP_SYS_TIME and is left out).
    &[
        "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
        "clock_nanosleep", "clock_nanosleep_time64", "nanosleep", "gettimeofday", "time",
        "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "adjtimex",
    ],
    // Waiting and events.
    &[
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll",
        "ppoll_time64", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
        "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "futex", "futex_time64",
        "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "io_setup", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_submit", "io_cancel",
    ],
    // System V and POSIX IPC (namespaced by the ipc namespace).
    &[
        "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open",
        "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    ],
    // Sockets (namespaced by the network namespace).
    &[
        "socket", "socketpair", "socketcall", "bind", "listen", "accept", "accept4",
        "connect", "getsockname", "getpeername", "getsockopt", "setsockopt", "sendto",
        "recvfrom", "send", "recv", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
        "recvmmsg_time64", "shutdown",
    ],
    // Information.
    &["getrandom", "sysinfo", "getcpu"],
];

/// personality(2) domains a container may switch to: Linux, 32-bit Linux, the UNAME26
/// variants, and 0xffffffff (query the current persona).
const PERSONAS: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
/// CLONE_NEWPID | CLONE_NEWNET: clone may be called with none of these.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7e02_0000;

fn rule(names: &[&str], action: LinuxSeccompAction, args: Vec<LinuxSeccompArg>) -> LinuxSyscall {
    let mut r = LinuxSyscall::default();
    r.set_names(names.iter().map(|n| (*n).to_string()).collect());
    r.set_action(action);
    if !args.is_empty() {
        r.set_args(Some(args));
    }
    r
}

fn arg(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> Result<LinuxSeccompArg, Error> {
    let b = LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value);
    let b = match value_two {
        Some(v) => b.value_two(v),
        None => b,
    };
    b.build().map_err(|e| Error::Internal(static_str(e)))
}

/// The builder only fails for missing fields, which these calls always set.
fn static_str(_: oci_spec::OciSpecError) -> &'static str {
    "building the default profile"
}

/// The profile `rt spec` puts in config.json.
pub fn default_profile() -> Result<LinuxSeccomp, Error> {
    use LinuxSeccompAction::{ScmpActAllow, ScmpActErrno};
    let all: Vec<&str> = ALLOWED.iter().flat_map(|g| g.iter().copied()).collect();
    let mut syscalls = vec![rule(&all, ScmpActAllow, Vec::new())];
    for p in PERSONAS {
        syscalls.push(rule(
            &["personality"],
            ScmpActAllow,
            vec![arg(0, LinuxSeccompOperator::ScmpCmpEq, *p, None)?],
        ));
    }
    // clone's flags are its first argument on x86, x86_64 and x32.
    syscalls.push(rule(
        &["clone"],
        ScmpActAllow,
        vec![arg(
            0,
            LinuxSeccompOperator::ScmpCmpMaskedEq,
            CLONE_NAMESPACE_FLAGS,
            Some(0),
        )?],
    ));
    let mut clone3 = rule(&["clone3"], ScmpActErrno, Vec::new());
    clone3.set_errno_ret(Some(libc::ENOSYS as u32));
    syscalls.push(clone3);

    let mut p = LinuxSeccomp::default();
    p.set_default_action(ScmpActErrno);
    p.set_default_errno_ret(Some(libc::EPERM as u32));
    p.set_architectures(Some(vec![
        Arch::ScmpArchX86_64,
        Arch::ScmpArchX86,
        Arch::ScmpArchX32,
    ]));
    p.set_syscalls(Some(syscalls));
    Ok(p)
}
