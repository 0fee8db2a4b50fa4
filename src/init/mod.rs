//! The code that runs in the processes rt clones, from clone3 to execve, in the order it
//! runs: `enter` (below), then the intermediate process if the namespaces need one
//! (intermediate.rs), then the init's steps (steps.rs) up to Ready, `start` and execve,
//! through the last steps every container process takes (process.rs). An `rt exec`
//! process takes exec.rs's way to the same last steps.

pub mod context;
pub mod exec;
mod intermediate;
pub mod process;
pub mod sched;
mod steps;

use std::os::fd::{AsFd, AsRawFd};

pub use context::Context;

use crate::spawn::exit;
use crate::spawn::sync::{Channel, Msg};

/// The first steps of the process rt cloned for a container, whatever it becomes next.
pub fn enter(ctx: &Context, chan: Channel) -> ! {
    // First of all: nothing of rt's caller (nor the flock on the state directory, which
    // `rt start` needs) stays open in the container's processes.
    let mut keep = vec![chan.as_fd().as_raw_fd()];
    keep.extend(ctx.start_listener.map(|fd| fd.as_raw_fd()));
    keep.extend(ctx.console_socket.map(|fd| fd.as_raw_fd()));
    keep.extend(ctx.idmapped.iter().map(|(_, fd)| fd.as_raw_fd()));
    keep.extend(crate::log::file_fd());
    if let Err(e) = process::close_inherited(ctx.preserve_fds, &keep)
        .and_then(|_| process::release_callers_stdio(ctx.spec.process().as_ref()))
    {
        let _ = chan.send(&Msg::Error(e.to_string()));
        exit(1)
    }
    // The --debug trace names its milestones as runc's does (its debug.bats looks for
    // them): here, the process rt cloned is in the container's new namespaces.
    crate::debug!("nsexec container setup: cloned into the container's namespaces");
    if ctx.ns.intermediate {
        intermediate::run(ctx, chan)
    } else {
        steps::main(ctx, chan)
    }
}
