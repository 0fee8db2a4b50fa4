//! The driver's command line, parsed by hand: a dozen flags do not justify a parser crate.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: rt-bench --runtime NAME=PATH... --launcher PATH [options]

  --runtime NAME=PATH    a runtime to measure, repeated; the first one is compared with the others
  --launcher PATH        the static launcher built from bench/launch.c
  --rounds N             counted rounds (default 30)
  --warmup N             warm-up rounds, run and discarded (default 3)
  --concurrency N        containers started at once in the throughput scenario (default 50)
  --out DIR              where results.md, results.png and raw.csv go (default bench/results)
  --short                3 rounds and 1 warm-up, for CI (overrides --rounds and --warmup);
                         the scale rows with 10 containers, 100 processes, 3 samples
  --scale-sizes N,N...   how many containers are present for the list/state/create rows
                         (default 10,100,1000; 0 alone: no scale rows)
  --scale-procs N        processes in the container of the ps/events rows (default 1000)
  --scale-samples N      samples per scale cell (default 10)
  --cgroup-parent PATH   cgroup below which every container is placed
                         (default: the driver's own memory cgroup + /rt-bench)
  --busybox PATH         static busybox for the rootfs (default /bin/busybox)
  --timeout SECONDS      a runtime command (or a throughput batch) still running after this
                         long is killed and counts as failed (default 30)
  --known-failure NAME:SCENARIO
                         a failure of that runtime in that scenario (run, lifecycle, exec,
                         throughput) is still reported, but does not fail the run; repeated
  --note TEXT            a line for the header of results.md, repeated";

pub const SCENARIO_NAMES: [&str; 4] = ["run", "lifecycle", "exec", "throughput"];

#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug)]
pub struct Args {
    /// Container counts of the scale rows, ascending; empty: no scale rows.
    pub scale_sizes: Vec<usize>,
    pub scale_procs: usize,
    pub scale_samples: usize,
    pub runtimes: Vec<Runtime>,
    pub launcher: PathBuf,
    pub rounds: usize,
    pub warmup: usize,
    pub concurrency: usize,
    pub out: PathBuf,
    pub cgroup_parent: Option<String>,
    pub busybox: PathBuf,
    pub timeout_s: u32,
    /// (runtime, scenario) pairs whose failure does not fail the run.
    pub known_failures: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// `None` means `--help` was asked for.
pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut runtimes = Vec::new();
    let mut launcher = None;
    let mut rounds = 30;
    let mut warmup = 3;
    let mut concurrency = 50;
    let mut out = PathBuf::from("bench/results");
    let mut short = false;
    let mut cgroup_parent = None;
    let mut busybox = PathBuf::from("/bin/busybox");
    let mut timeout_s = 30;
    let mut known_failures = Vec::new();
    let mut notes = Vec::new();
    let mut scale_sizes = vec![10, 100, 1000];
    let mut scale_procs = 1000;
    let mut scale_samples = 10;

    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().with_context(|| format!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runtime" => runtimes.push(parse_runtime(&value()?)?),
            "--launcher" => launcher = Some(PathBuf::from(value()?)),
            "--rounds" => rounds = parse_count(&flag, &value()?)?,
            "--warmup" => warmup = parse_count(&flag, &value()?)?,
            "--concurrency" => concurrency = parse_count(&flag, &value()?)?,
            "--out" => out = PathBuf::from(value()?),
            "--short" => short = true,
            "--cgroup-parent" => cgroup_parent = Some(parse_cgroup_parent(&value()?)?),
            "--busybox" => busybox = PathBuf::from(value()?),
            "--timeout" => timeout_s = parse_count(&flag, &value()?)?,
            "--known-failure" => known_failures.push(parse_known_failure(&value()?)?),
            "--note" => notes.push(value()?),
            "--scale-sizes" => scale_sizes = parse_sizes(&value()?)?,
            "--scale-procs" => scale_procs = parse_count(&flag, &value()?)?,
            "--scale-samples" => scale_samples = parse_count(&flag, &value()?)?,
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    if short {
        rounds = 3;
        warmup = 1;
        scale_sizes.retain(|n| *n <= 10);
        scale_procs = scale_procs.min(100);
        scale_samples = scale_samples.min(3);
    }
    if runtimes.is_empty() {
        bail!("no --runtime given\n{USAGE}");
    }
    if rounds == 0 || concurrency == 0 || timeout_s == 0 || scale_procs == 0 || scale_samples == 0 {
        bail!(
            "--rounds, --concurrency, --timeout, --scale-procs and --scale-samples must be at least 1"
        );
    }
    for (i, r) in runtimes.iter().enumerate() {
        if runtimes[..i].iter().any(|o| o.name == r.name) {
            bail!("--runtime {} given twice", r.name);
        }
    }
    for (r, _) in &known_failures {
        if !runtimes.iter().any(|rt| rt.name == *r) {
            bail!("--known-failure {r}:…: no --runtime {r}");
        }
    }
    let launcher = launcher.with_context(|| format!("no --launcher given\n{USAGE}"))?;
    Ok(Some(Args {
        runtimes,
        launcher,
        rounds,
        warmup,
        concurrency,
        out,
        cgroup_parent,
        busybox,
        timeout_s,
        known_failures,
        notes,
        scale_sizes,
        scale_procs,
        scale_samples,
    }))
}

/// `10,100,1000`: ascending container counts; `0` alone turns the scale rows off.
fn parse_sizes(s: &str) -> Result<Vec<usize>> {
    if s == "0" {
        return Ok(Vec::new());
    }
    let sizes: Vec<usize> = s
        .split(',')
        .map(|n| parse_count("--scale-sizes", n.trim()))
        .collect::<Result<_>>()?;
    if sizes.is_empty() || sizes.contains(&0) || !sizes.windows(2).all(|w| w[0] < w[1]) {
        bail!("--scale-sizes {s:?}: counts above 0, ascending (or 0 alone)");
    }
    Ok(sizes)
}

fn parse_runtime(s: &str) -> Result<Runtime> {
    let (name, path) = s
        .split_once('=')
        .with_context(|| format!("--runtime {s:?}: expected NAME=PATH"))?;
    // The name becomes part of container ids, file names and table headers.
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid || path.is_empty() {
        bail!("--runtime {s:?}: NAME must be [a-z0-9_]+ and PATH non-empty");
    }
    Ok(Runtime {
        name: name.to_string(),
        path: PathBuf::from(path),
    })
}

fn parse_known_failure(s: &str) -> Result<(String, String)> {
    match s.split_once(':') {
        Some((r, sc)) if SCENARIO_NAMES.contains(&sc) => Ok((r.to_string(), sc.to_string())),
        _ => bail!(
            "--known-failure {s:?}: expected RUNTIME:SCENARIO, SCENARIO one of {}",
            SCENARIO_NAMES.join(", ")
        ),
    }
}

fn parse_count<T>(flag: &str, s: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse()
        .with_context(|| format!("{flag} {s:?}: not a non-negative number"))
}

fn parse_cgroup_parent(s: &str) -> Result<String> {
    if !s.starts_with('/') || s.split('/').any(|c| c == "..") {
        bail!("--cgroup-parent {s:?}: must be an absolute cgroup path without '..'");
    }
    Ok(s.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Option<Args>> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_and_forms() {
        let a = args("--runtime rt=/x/rt --runtime=runc=/usr/sbin/runc --launcher=/l")
            .unwrap()
            .unwrap();
        assert_eq!(a.runtimes.len(), 2);
        assert_eq!(a.runtimes[1].name, "runc");
        assert_eq!(a.runtimes[1].path, PathBuf::from("/usr/sbin/runc"));
        assert_eq!(
            (a.rounds, a.warmup, a.concurrency, a.timeout_s),
            (30, 3, 50, 30)
        );
        assert_eq!(a.out, PathBuf::from("bench/results"));
        assert_eq!(
            (a.scale_sizes, a.scale_procs, a.scale_samples),
            (vec![10, 100, 1000], 1000, 10)
        );
    }

    #[test]
    fn scale_flags() {
        let a = args("--runtime rt=/r --launcher /l --scale-sizes 5,50 --scale-procs 7")
            .unwrap()
            .unwrap();
        assert_eq!((a.scale_sizes, a.scale_procs), (vec![5, 50], 7));
        let a = args("--runtime rt=/r --launcher /l --short")
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.scale_sizes, a.scale_procs, a.scale_samples),
            (vec![10], 100, 3)
        );
        let a = args("--runtime rt=/r --launcher /l --scale-sizes 0")
            .unwrap()
            .unwrap();
        assert!(a.scale_sizes.is_empty());
        for bad in ["10,5", "10,10", "1,0", "", "x", "0,10"] {
            assert!(
                args(&format!(
                    "--runtime rt=/r --launcher /l --scale-sizes={bad}"
                ))
                .is_err(),
                "{bad}"
            );
        }
        assert!(args("--runtime rt=/r --launcher /l --scale-procs 0").is_err());
    }

    #[test]
    fn short_and_later_flags_win() {
        let a = args("--runtime rt=/r --launcher /l --rounds 9 --short --out a --out b")
            .unwrap()
            .unwrap();
        assert_eq!((a.rounds, a.warmup), (3, 1));
        assert_eq!(a.out, PathBuf::from("b"));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(args("--launcher /l").is_err());
        assert!(args("--runtime rt --launcher /l").is_err());
        assert!(args("--runtime RT=/x --launcher /l").is_err());
        assert!(args("--runtime rt=/x --runtime rt=/y --launcher /l").is_err());
        assert!(args("--runtime rt=/x --launcher /l --cgroup-parent a/b").is_err());
        assert!(args("--runtime rt=/x --launcher /l --rounds x").is_err());
        assert!(args("--runtime rt=/x").is_err());
        assert!(args("--help").unwrap().is_none());
        assert!(args("--runtime rt=/x --launcher /l --known-failure rt:boot").is_err());
        assert!(args("--runtime rt=/x --launcher /l --known-failure youki:run").is_err());
        let a = args("--runtime rt=/x --launcher /l --known-failure rt:throughput")
            .unwrap()
            .unwrap();
        assert_eq!(
            a.known_failures,
            vec![("rt".to_string(), "throughput".to_string())]
        );
    }
}
