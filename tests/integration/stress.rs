//! Concurrency (issue 13): many callers racing on the same containers, as a kubelet
//! retrying `delete` while `start` runs, or two engines' shims, would. Every command must
//! end, with success or one of the errors runc gives for the state it found, never with a
//! torn or corrupt state, a lock error or a hang; afterwards nothing is left.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

/// What a command may answer when another one got there first.
const EXPECTED_ERRORS: &[&str] = &[
    "container does not exist",
    "container with id exists",
    "container not running",
    "cannot start a container that has stopped",
    "cannot start a container that is still being created",
    "cannot start an already running container",
    "that is not stopped",
    "is already paused",
    "is not paused",
    "cannot exec in a paused container",
];

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn racing_callers_get_runc_answers_and_leave_nothing() {
    need_root();
    let rt = Arc::new(Rt::new());
    let bundle = Arc::new(Bundle::new(&["sleep", "1000"]));
    let shared: Arc<Vec<String>> = Arc::new((0..4).map(|_| unique("race")).collect());
    let problems = Arc::new(Mutex::new(Vec::<String>::new()));
    let commands = Arc::new(AtomicUsize::new(0));
    // The test command runs 32 workers for a minute; 16 for 15 s by default.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n_workers, secs) = (env("RT_STRESS_WORKERS", 16), env("RT_STRESS_SECS", 15));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..n_workers)
        .map(|w| {
            let (rt, bundle, shared, problems, commands) = (
                rt.clone(),
                bundle.clone(),
                shared.clone(),
                problems.clone(),
                commands.clone(),
            );
            std::thread::spawn(move || {
                let own = unique("solo");
                let mut rand = xorshift(w.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
                let mut next = move |n: u64| rand(n) as usize;
                let path = bundle.path().to_str().unwrap().to_owned();
                while Instant::now() < deadline {
                    let id = if next(4) == 0 {
                        own.clone()
                    } else {
                        shared[next(shared.len() as u64)].clone()
                    };
                    let args: Vec<&str> = match next(9) {
                        0 | 1 => vec!["create", "--bundle", &path, &id],
                        2 => vec!["start", &id],
                        3 => vec!["exec", &id, "true"],
                        4 => vec!["pause", &id],
                        5 => vec!["resume", &id],
                        6 => vec!["kill", &id, "KILL"],
                        7 => vec!["delete", &id],
                        _ => vec!["delete", "-f", &id],
                    };
                    commands.fetch_add(1, Ordering::Relaxed);
                    // A hang fails the test (rt.rt gives a command 90 s).
                    let out = rt.rt(&args);
                    // The exec'd process may be killed with its container by another caller.
                    let exec_killed = args[0] == "exec"
                        && out.code == 128 + libc::SIGKILL
                        && out.stderr.is_empty();
                    if out.code != 0
                        && !exec_killed
                        && !EXPECTED_ERRORS.iter().any(|e| out.stderr.contains(e))
                    {
                        problems
                            .lock()
                            .unwrap()
                            .push(format!("rt {args:?}: {}", out.stderr.trim()));
                    }
                    // Whatever happened, state must read back whole.
                    let out = rt.rt(&["state", &id]);
                    if out.code == 0
                        && serde_json::from_str::<serde_json::Value>(&out.stdout).is_err()
                    {
                        problems
                            .lock()
                            .unwrap()
                            .push(format!("torn state of {id}: {}", out.stdout));
                    }
                }
                rt.rt(&["delete", "-f", &own]).ok();
                own
            })
        })
        .collect();
    // A container paused by one caller just after another's exec checked it holds that
    // exec's process frozen until someone resumes it (runc's exec blocks the same way):
    // once the workers stop, resume the shared ones until every worker has finished.
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    while !workers.iter().all(|w| w.is_finished()) {
        for id in shared.iter() {
            let _ = rt.rt(&["resume", id]);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let own: Vec<String> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    for id in shared.iter() {
        rt.rt(&["delete", "-f", id]).ok();
    }
    let problems = problems.lock().unwrap();
    eprintln!(
        "{} commands by {n_workers} racing callers in {secs} s, {} unexpected answers",
        commands.load(Ordering::Relaxed),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for id in shared.iter().chain(own.iter()) {
        assert_no_trace(&rt, id, &bundle);
    }
}
