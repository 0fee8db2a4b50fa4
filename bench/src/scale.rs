//! Cost as work grows, after the rounds: `list`, `state` and `create` with 10, 100 and 1000
//! containers already present; `ps` and `events --stats` of a container holding 1000
//! processes; and the resident size of a foreground `run` while its container runs (such a
//! runtime process stays for the container's whole life, one per container).
//!
//! Runtimes are measured one after the other: each fills the host with its own containers
//! (created, not started: every created container holds one waiting process) and removes
//! them before the next begins, so that no runtime's population weighs on another's.

use std::fs;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::report::{Cell, Row, Unit};
use crate::{Bench, INTERRUPTED, stats};

/// The commands measured against the number of containers present.
pub const COMMANDS: [&str; 3] = ["list", "state", "create"];

/// How long the foreground `run` has been waiting when its resident size is read: past
/// start-up, and past rt's one second before it gives start-up memory back.
pub const RESIDENT_AFTER: Duration = Duration::from_secs(2);

pub struct Plan {
    pub sizes: Vec<usize>,
    pub procs: usize,
    pub samples: usize,
}

pub enum Outcome {
    /// Milliseconds (MiB for the resident size).
    Samples(Vec<f64>),
    Failed(String),
    Absent(String),
}

/// What one runtime gave, by key: `list@100`, `ps`, `events`, `resident`.
type Outcomes = Vec<(String, Outcome)>;

pub struct Scale {
    pub plan: Plan,
    /// Per runtime.
    pub outcomes: Vec<Outcomes>,
}

fn ms(l: crate::launch::Launched) -> f64 {
    l.wall_ns as f64 / 1e6
}

impl Bench {
    pub fn measure_scale(&mut self, plan: Plan) -> Scale {
        let mut outcomes = Vec::new();
        for r in 0..self.rts.len() {
            let mut got = Outcomes::new();
            if !INTERRUPTED.load(Ordering::SeqCst) {
                self.population(r, &plan, &mut got);
            }
            if !INTERRUPTED.load(Ordering::SeqCst) {
                got.push(("resident".into(), self.foreground_resident(r)));
            }
            if !INTERRUPTED.load(Ordering::SeqCst) {
                self.many_processes(r, &plan, &mut got);
            }
            crate::reap_strays();
            for (key, o) in &got {
                if let Outcome::Failed(msg) = o {
                    eprintln!("rt-bench: {} scale {key} failed: {msg}", self.rts[r].name);
                    self.problems
                        .push(format!("{} scale {key}: {msg}", self.rts[r].name));
                }
            }
            eprintln!("rt-bench: scale rows of {} done", self.rts[r].name);
            outcomes.push(got);
        }
        Scale { plan, outcomes }
    }

    /// list/state/create at each size; the containers are removed at the end, also after a
    /// failure.
    fn population(&self, r: usize, plan: &Plan, got: &mut Outcomes) {
        let mut present = Vec::new();
        let result = self.grow_and_sample(r, plan, &mut present, got);
        for id in &present {
            if let Some(msg) = self.force_delete(r, id) {
                got.push((format!("cleanup of {id}"), Outcome::Failed(msg)));
            }
        }
        crate::reap_strays();
        if let Err(msg) = result {
            for n in &plan.sizes {
                for c in COMMANDS {
                    let key = format!("{c}@{n}");
                    if !got.iter().any(|(k, _)| *k == key) {
                        got.push((key, Outcome::Failed(msg.clone())));
                    }
                }
            }
        }
    }

    fn grow_and_sample(
        &self,
        r: usize,
        plan: &Plan,
        present: &mut Vec<String>,
        got: &mut Outcomes,
    ) -> Result<(), String> {
        let probe = self.id(r, "sx");
        self.write_bundle(&probe, &["/bin/true"])?;
        for &n in &plan.sizes {
            while present.len() < n {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    return Err("interrupted".into());
                }
                let id = self.id(r, &format!("s{}", present.len()));
                self.write_bundle(&id, &["/bin/true"])?;
                self.create(r, &id, &self.pid_file(&id))
                    .map_err(|e| format!("creating container {}: {e}", present.len() + 1))?;
                present.push(id);
            }
            let target = present[n / 2].clone();
            let mut times: [Vec<f64>; 3] = Default::default();
            for _ in 0..plan.samples {
                times[0].push(ms(self.step(r, &["list"])?));
                times[1].push(ms(self.step(r, &["state", &target])?));
                let created = self.create(r, &probe, &self.pid_file(&probe));
                let deleted = self.force_delete(r, &probe);
                times[2].push(ms(created?));
                if let Some(msg) = deleted {
                    return Err(format!("delete -f {probe}: {msg}"));
                }
            }
            crate::reap_strays();
            for (c, t) in COMMANDS.iter().zip(times) {
                got.push((format!("{c}@{n}"), Outcome::Samples(t)));
            }
        }
        Ok(())
    }

    /// `ps` and `events --stats` of one container whose shell started `procs` sleeps.
    fn many_processes(&self, r: usize, plan: &Plan, got: &mut Outcomes) {
        let id = self.id(r, "ps");
        let script = format!(
            "i=0; while [ $i -lt {} ]; do /bin/sleep 1000000 & i=$((i + 1)); done; exec /bin/sleep 1000000",
            plan.procs
        );
        let pid_file = self.pid_file(&id);
        let started = self
            .write_bundle(&id, &["/bin/sh", "-c", &script])
            .and_then(|()| self.create(r, &id, &pid_file))
            .and_then(|_| crate::read_pid(&pid_file))
            .and_then(|pid| self.step(r, &["start", &id]).map(|_| pid))
            .and_then(|pid| wait_children(pid.as_raw(), plan.procs).map(|()| pid));
        match started {
            Ok(pid) => {
                for (key, args) in [
                    ("ps", vec!["ps", &id]),
                    ("ps-json", vec!["ps", "--format", "json", &id]),
                    ("events", vec!["events", "--stats", &id]),
                ] {
                    got.push((key.to_string(), self.sample_command(r, &args, plan.samples)));
                }
                if let Some(msg) = self.force_delete(r, &id) {
                    got.push((format!("cleanup of {id}"), Outcome::Failed(msg)));
                }
                if let Some(msg) = crate::reap_within(pid, Duration::from_secs(10)) {
                    got.push((format!("cleanup of {id}"), Outcome::Failed(msg)));
                }
            }
            Err(msg) => {
                let _ = self.force_delete(r, &id);
                for key in ["ps", "ps-json", "events"] {
                    got.push((key.to_string(), Outcome::Failed(msg.clone())));
                }
            }
        }
        crate::reap_strays();
    }

    fn sample_command(&self, r: usize, args: &[&str], samples: usize) -> Outcome {
        let mut times = Vec::new();
        for _ in 0..samples {
            match self.step(r, args) {
                Ok(l) => times.push(ms(l)),
                // crun has no `events`.
                Err(msg) if msg.contains("unknown command") || msg.contains("unrecognized") => {
                    return Outcome::Absent(format!("no `{}` command", args[0]));
                }
                Err(msg) => return Outcome::Failed(msg),
            }
        }
        Outcome::Samples(times)
    }

    /// VmRSS of a foreground `run` whose container sleeps, `RESIDENT_AFTER` after start.
    fn foreground_resident(&self, r: usize) -> Outcome {
        let id = self.id(r, "fg");
        if let Err(msg) = self.write_bundle(&id, &["/bin/sleep", "1000000"]) {
            return Outcome::Failed(msg);
        }
        let log = self.logs.join(format!("{id}.log"));
        let child = fs::File::create(&log)
            .and_then(|out| Ok((out.try_clone()?, out)))
            .and_then(|(err, out)| {
                Command::new(&self.rts[r].path)
                    .args(self.rt_args(r, &["run", "--bundle", &self.bundle(&id), &id]))
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .spawn()
            });
        let child = match child {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("harness: starting run: {e}")),
        };
        let rss = self.wait_running(r, &id).and_then(|()| {
            std::thread::sleep(RESIDENT_AFTER);
            vm_rss_kib(child.id())
        });
        let _ = self.step(r, &["kill", &id, "KILL"]);
        // The runtime exits once its container does; one that does not is killed.
        let _ = crate::reap_within(Pid::from_raw(child.id() as i32), Duration::from_secs(10));
        let _ = self.force_delete(r, &id);
        crate::reap_strays();
        match rss {
            Ok(kib) => Outcome::Samples(vec![kib as f64 / 1024.0]),
            Err(msg) => Outcome::Failed(msg),
        }
    }

    fn wait_running(&self, r: usize, id: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let out = Command::new(&self.rts[r].path)
                .args(self.rt_args(r, &["state", id]))
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("harness: state: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("\"running\"") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{id} not running after {} s",
                    self.timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Waits (two minutes at most) until `pid` has `n` children.
fn wait_children(pid: i32, n: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let have = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .map(|c| c.split_whitespace().count())
            .unwrap_or(0);
        if have >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the container started {have} of {n} processes in 120 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn vm_rss_kib(pid: u32) -> Result<u64, String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e} (did run exit?)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

impl Scale {
    fn cell(&self, r: usize, key: &str) -> Cell {
        match self
            .outcomes
            .get(r)
            .and_then(|o| o.iter().find(|(k, _)| k == key))
        {
            Some((_, Outcome::Samples(v))) => Cell::from_summary(stats::summarize(v), |s| s.p90),
            Some((_, Outcome::Failed(m))) => Cell::Failed(m.clone()),
            Some((_, Outcome::Absent(m))) => Cell::Absent(m.clone()),
            None => Cell::NoData,
        }
    }

    fn row(&self, label: String, unit: Unit, key: &str) -> Row {
        Row {
            label,
            unit,
            cells: (0..self.outcomes.len())
                .map(|r| self.cell(r, key))
                .collect(),
        }
    }

    /// The main table's row: what a waiting foreground `run` holds.
    pub fn resident_row(&self) -> Row {
        self.row(
            "resident size of a foreground run while its container runs (MiB)".into(),
            Unit::MiB,
            "resident",
        )
    }

    /// One row per command and size, then ps and events.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for c in COMMANDS {
            for n in &self.plan.sizes {
                rows.push(self.row(
                    format!("{c}, {n} containers present (ms)"),
                    Unit::Ms,
                    &format!("{c}@{n}"),
                ));
            }
        }
        let p = self.plan.procs;
        rows.push(self.row(format!("ps, {p} processes (ms)"), Unit::Ms, "ps"));
        rows.push(self.row(
            format!("ps --format json, {p} processes (ms)"),
            Unit::Ms,
            "ps-json",
        ));
        rows.push(self.row(
            format!("events --stats, {p} processes (ms)"),
            Unit::Ms,
            "events",
        ));
        rows
    }

    /// scale.dat: a block per command (gnuplot's `index`), a line per size, the median of
    /// every runtime (`?` where there is none).
    pub fn gnuplot_data(&self) -> String {
        let mut out = String::new();
        for c in COMMANDS {
            out.push_str(&format!(
                "# {c}: containers present, then the median (ms) per runtime\n"
            ));
            for n in &self.plan.sizes {
                out.push_str(&n.to_string());
                for r in 0..self.outcomes.len() {
                    match self.cell(r, &format!("{c}@{n}")) {
                        Cell::Spread(m, _) => out.push_str(&format!(" {m}")),
                        _ => out.push_str(" ?"),
                    }
                }
                out.push('\n');
            }
            out.push_str("\n\n");
        }
        out
    }
}

/// scale.gp: one panel per command, time against containers present, both axes
/// logarithmic (a flat line is constant cost, a slope of one is linear).
pub fn gnuplot_script(runtimes: &[String], terminal: &str) -> String {
    let mut s = format!(
        "set terminal {terminal} size 1500,500 noenhanced
set output 'scale.png'
set datafile missing '?'
set logscale xy
set grid
set key top left
set xlabel 'containers present'
set ylabel 'ms, median'
set multiplot layout 1,{} title 'Cost as the host fills up (bench/results.md)'
",
        COMMANDS.len()
    );
    for (i, c) in COMMANDS.iter().enumerate() {
        let lines: Vec<String> = runtimes
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let src = if k == 0 {
                    "'scale.dat'".to_string()
                } else {
                    "''".to_string()
                };
                format!(
                    "{src} index {i} using 1:{} with linespoints title '{r}'",
                    k + 2
                )
            })
            .collect();
        s.push_str(&format!("set title '{c}'\nplot {}\n", lines.join(", ")));
    }
    s.push_str("unset multiplot\n");
    s
}
