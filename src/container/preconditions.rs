//! What each command may do to a container in each status: one table, pure, so that every
//! pair is unit-tested. The refusals are runc's words, which engines match.

use super::Status;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Start,
    Kill,
    Delete {
        force: bool,
    },
    Pause,
    Resume,
    Update,
    /// events: read the running container's cgroup.
    Read,
    /// ps: list what is in the container's cgroup, also once it stopped (runc: an empty
    /// list; without a pid namespace of its own, what outlived the init).
    Ps,
    Exec {
        ignore_paused: bool,
    },
}

/// What the command does once it may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    On,
    /// delete of a container that is not stopped: its processes are killed first.
    KillFirst,
}

/// A command refused in the container's status: runc's words for it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Whether `op` may act on container `id` in `status`.
pub fn check(op: Op, status: Status, id: &str) -> Result<Go, Refusal> {
    rule(op, status, id).map_err(Refusal)
}

fn rule(op: Op, status: Status, id: &str) -> Result<Go, String> {
    use Status::*;
    let not_running = || Err(format!("container not running: {id}"));
    match (op, status) {
        (Op::Start, Created) => Ok(Go::On),
        (Op::Start, Stopped) => Err(format!("cannot start a container that has stopped: {id}")),
        (Op::Start, Creating) => Err(format!(
            "cannot start a container that is still being created: {id}"
        )),
        (Op::Start, Running | Paused) => {
            Err(format!("cannot start an already running container: {id}"))
        }

        (Op::Delete { .. }, Stopped) => Ok(Go::On),
        // runc deletes a created container without --force: it never ran anything.
        (Op::Delete { .. }, Created | Creating) => Ok(Go::KillFirst),
        (Op::Delete { force: true }, Running | Paused) => Ok(Go::KillFirst),
        (Op::Delete { force: false }, s) => Err(format!(
            "cannot delete container {id} that is not stopped: {s}"
        )),

        (Op::Pause, Running | Created) => Ok(Go::On),
        (Op::Pause, Paused) => Err(format!("container {id} is already paused")),

        (Op::Resume, Paused) => Ok(Go::On),
        (Op::Resume, s @ (Running | Created)) => Err(format!("container {id} is not paused: {s}")),

        (Op::Exec { .. }, Running | Created) => Ok(Go::On),
        (
            Op::Exec {
                ignore_paused: true,
            },
            Paused,
        ) => Ok(Go::On),
        (
            Op::Exec {
                ignore_paused: false,
            },
            Paused,
        ) => Err(format!(
            "cannot exec in a paused container: {id} (use --ignore-paused to exec anyway)"
        )),

        (Op::Kill | Op::Update | Op::Read, Running | Created | Paused) => Ok(Go::On),
        (Op::Ps, Running | Created | Paused | Stopped) => Ok(Go::On),

        (_, Stopped | Creating) => not_running(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Status; 5] = [
        Status::Creating,
        Status::Created,
        Status::Running,
        Status::Paused,
        Status::Stopped,
    ];

    /// The whole table, written out: G = go on, K = kill first, else the refusal's start.
    #[test]
    fn every_command_in_every_status() {
        let ops: [(Op, [&str; 5]); 11] = [
            // creating, created, running, paused, stopped
            (
                Op::Start,
                [
                    "cannot start a container that is still being created",
                    "G",
                    "cannot start an already running",
                    "cannot start an already running",
                    "cannot start a container that has stopped",
                ],
            ),
            (
                Op::Kill,
                [
                    "container not running",
                    "G",
                    "G",
                    "G",
                    "container not running",
                ],
            ),
            (
                Op::Delete { force: false },
                [
                    "K",
                    "K",
                    "cannot delete container c that is not stopped: running",
                    "cannot delete container c that is not stopped: paused",
                    "G",
                ],
            ),
            (Op::Delete { force: true }, ["K", "K", "K", "K", "G"]),
            (
                Op::Pause,
                [
                    "container not running",
                    "G",
                    "G",
                    "container c is already paused",
                    "container not running",
                ],
            ),
            (
                Op::Resume,
                [
                    "container not running",
                    "container c is not paused: created",
                    "container c is not paused: running",
                    "G",
                    "container not running",
                ],
            ),
            (
                Op::Update,
                [
                    "container not running",
                    "G",
                    "G",
                    "G",
                    "container not running",
                ],
            ),
            (
                Op::Read,
                [
                    "container not running",
                    "G",
                    "G",
                    "G",
                    "container not running",
                ],
            ),
            (Op::Ps, ["container not running", "G", "G", "G", "G"]),
            (
                Op::Exec {
                    ignore_paused: false,
                },
                [
                    "container not running",
                    "G",
                    "G",
                    "cannot exec in a paused container: c (use --ignore-paused",
                    "container not running",
                ],
            ),
            (
                Op::Exec {
                    ignore_paused: true,
                },
                [
                    "container not running",
                    "G",
                    "G",
                    "G",
                    "container not running",
                ],
            ),
        ];
        for (op, row) in ops {
            for (status, want) in ALL.iter().zip(row) {
                let got = check(op, *status, "c");
                match (want, &got) {
                    ("G", Ok(Go::On)) | ("K", Ok(Go::KillFirst)) => {}
                    (w, Err(Refusal(text))) if w.len() > 1 && text.starts_with(w) => {
                        assert!(text.ends_with('c') || text.contains(" c "), "{text}");
                    }
                    _ => panic!("{op:?} in {status}: want {want}, got {got:?}"),
                }
            }
        }
    }
}
