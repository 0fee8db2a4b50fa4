//! The intermediate process, for when the order of namespace operations needs one (see
//! spawn::namespaces::NsPlan::intermediate): it joins and creates the namespaces, with rt
//! writing the id maps of a new user namespace on its MapIds, and forks the init into
//! them.

use nix::sched::{CloneFlags, unshare};

use super::context::Context;
use super::steps;
use crate::error::Ctx;
use crate::spawn::sync::{Channel, Msg};
use crate::spawn::{
    Forked, SpawnError, become_ns_root, clone_process, exit, join_namespaces, write_time_offsets,
};

/// The namespace work of the intermediate process, in the order the kernel needs: joins
/// first (a namespace owned by the host's user namespace cannot be joined from inside a
/// new one), then the new user namespace and its id maps, then everything else.
fn enter_namespaces(ctx: &Context, chan: &Channel) -> Result<(), SpawnError> {
    let plan = ctx.ns;
    // The user namespace first: the others may belong to it.
    join_namespaces(
        plan.join_user
            .iter()
            .chain(plan.join.iter())
            .chain(plan.join_pid.iter()),
    )?;
    if plan.new_user() {
        unshare(CloneFlags::CLONE_NEWUSER).ctx(|| "creating the user namespace")?;
        chan.send(&Msg::MapIds).map_err(SpawnError::Sync)?;
        match chan.recv().map_err(SpawnError::Sync)? {
            Some(Msg::Mapped) => {}
            Some(other) => return Err(SpawnError::Protocol(format!("{other:?}"))),
            None => return Err(SpawnError::ChildDied),
        }
    }
    if plan.in_user_ns() {
        become_ns_root()?;
    }
    let rest = plan.create & !(libc::CLONE_NEWUSER as u64);
    if rest != 0 {
        unshare(CloneFlags::from_bits_retain(rest as i32))
            .ctx(|| "creating the container's namespaces")?;
    }
    if plan.new_time() {
        write_time_offsets(ctx.spec)?;
    }
    Ok(())
}

/// The intermediate process: enters the namespaces, forks the init into them, reports its
/// pid and exits. With a pid namespace joined by path it builds the container itself
/// instead, and forks the init only after pivot_root (see steps::born_in_joined_pid_ns).
pub fn run(ctx: &Context, chan: Channel) -> ! {
    let result = enter_namespaces(ctx, &chan).and_then(|_| {
        if ctx.ns.join_pid.is_some() {
            Ok(Forked::Child)
        } else {
            clone_process(0).map_err(SpawnError::Clone)
        }
    });
    let code = match result {
        Ok(Forked::Child) => steps::main(ctx, chan),
        Ok(Forked::Parent { pid, .. }) => chan.send(&Msg::InitPid(pid)).map(|_| 0).unwrap_or(1),
        Err(e) => {
            let _ = chan.send(&Msg::Error(e.to_string()));
            1
        }
    };
    exit(code)
}
