//! The soak (issue 13): 1000 container lifecycles — foreground run, create/start/kill/
//! delete, run -d/exec/delete -f — with a SIGKILL of rt at a random instant in a quarter
//! of them (then `delete -f`, as an engine recovering would). Afterwards every kind of
//! leak is counted: state or staging directories, cgroup directories, processes, mounts.
//! All must be zero.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

#[test]
#[ignore = "needs root: scripts/test.sh runs it (cargo test -- --include-ignored, as root)"]
fn thousand_lifecycles_with_kills_leak_nothing() {
    need_root();
    let n: u64 = std::env::var("RT_SOAK_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = Rt::new();
    let quick = Bundle::new(&["true"]);
    let long = Bundle::new(&["sleep", "1000"]);
    let prefix = format!("soak-{}-", std::process::id());
    let mut rand = xorshift(0x2545_f491_4f6c_dd1d);
    let (mut kills, mut outcomes) = (0, [0u32; 3]);
    for _ in 0..n {
        let id = unique("soak");
        let scenario = rand(3) as usize;
        outcomes[scenario] += 1;
        let first: Vec<&str> = match scenario {
            0 => vec!["run", "--bundle", quick.path().to_str().unwrap(), &id],
            1 => vec!["create", "--bundle", long.path().to_str().unwrap(), &id],
            _ => vec!["run", "-d", "--bundle", long.path().to_str().unwrap(), &id],
        };
        if rand(4) == 0 {
            kills += 1;
            let mut child = rt
                .cmd()
                .args(&first)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(rand(25_000)));
            let _ = child.kill();
            let _ = child.wait();
        } else {
            rt.rt(&first).ok();
            match scenario {
                1 => {
                    rt.rt(&["start", &id]).ok();
                    rt.rt(&["kill", &id, "KILL"]).ok();
                }
                2 => {
                    rt.rt(&["exec", &id, "true"]).ok();
                }
                _ => {}
            }
        }
        rt.rt(&["delete", "-f", &id]).ok();
    }
    rt.rt(&["list", "-q"]).ok();
    // Killed inits go with their rt's channel; give the last ones a moment.
    let mut processes = Vec::new();
    for _ in 0..500 {
        processes = processes_mentioning(&prefix);
        if processes.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let state: Vec<_> = std::fs::read_dir(rt.root())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let cgroups = cgroup_dirs_where(|name| name.starts_with(&prefix));
    let mounts: Vec<String> = [&quick, &long]
        .iter()
        .flat_map(|b| host_mounts_under(b.path()))
        .collect();
    eprintln!(
        "{n} lifecycles ({} run, {} create/start/kill/delete, {} run -d/exec/delete -f), \
         {kills} with rt SIGKILLed: left {} state entries, {} cgroups, {} processes, {} mounts",
        outcomes[0],
        outcomes[1],
        outcomes[2],
        state.len(),
        cgroups.len(),
        processes.len(),
        mounts.len()
    );
    assert!(state.is_empty(), "state left: {state:?}");
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    assert!(processes.is_empty(), "processes left: {processes:?}");
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
}
