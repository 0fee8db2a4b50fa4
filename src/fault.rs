//! Fault points for the fault-injection tests (tests/integration/faults.rs): with
//! `_RT_FAULT_STOP_AT=N` in its environment, rt stops itself (SIGSTOP) at the Nth point it
//! passes, after naming it on stderr, so that a test can SIGKILL it exactly there and then
//! check what a `delete -f` leaves. Points mark the steps of create, start, exec, kill and
//! delete where something on the host (a directory, a cgroup, a process, a record) has
//! just been made or removed. Without the variable a point costs one load.
//!
//! Only the rt process that read the variable stops: the processes it clones (the init,
//! an intermediate, an exec helper) share this code and its statics but not its pid.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

const VAR: &str = "_RT_FAULT_STOP_AT";

/// (the point to stop at, the pid of the rt process that stops there).
static ARMED: OnceLock<Option<(u32, u32)>> = OnceLock::new();
static PASSED: AtomicU32 = AtomicU32::new(0);

/// Reads the variable once, in rt's own process, before any point can be passed.
pub fn arm() {
    ARMED.get_or_init(|| {
        let n = std::env::var(VAR).ok()?.parse().ok()?;
        Some((n, std::process::id()))
    });
}

pub fn point(name: &str) {
    let Some(Some((target, pid))) = ARMED.get() else {
        return;
    };
    if std::process::id() != *pid {
        return;
    }
    let n = PASSED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == *target {
        let _ = writeln!(std::io::stderr(), "rt: fault point {n}: {name}");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}
