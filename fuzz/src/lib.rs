//! A mutation fuzzer that runs inside `cargo test` on the stable toolchain (cargo-fuzz
//! needs nightly; cargo-afl needs an instrumented build and a separate runner).
//!
//! A target is a function of a byte string that must not panic (and may assert its own
//! properties). [`run`] feeds it the target's seed corpus (`fuzz/corpus/<target>/`, which
//! also holds the regression inputs of crashes once found), then mutated inputs until its
//! time budget is spent. There is no coverage feedback; instead a target returns a short
//! *outcome* for each input (the error's kind, or "ok"), and an input with an outcome not
//! seen before joins the working corpus: for parsers whose errors name the field and the
//! reason, new outcomes are new paths.
//!
//! JSON inputs get structure-aware mutations (values replaced by edge cases, keys removed,
//! arrays grown, subtrees copied across, deep nesting) besides byte-level ones, so that
//! most inputs get past the parser into validation.
//!
//! A panic is caught, the input is written to `target/fuzz-crashes/<target>-<hash>`, and
//! the run fails naming that file: copy it into the corpus directory as the regression.
//! `RT_FUZZ_SECS` sets the budget per target (default 2 s); `RT_FUZZ_SEED` replays a run.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// xorshift64*: small, fast and good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that break parsers and validators: limits of every integer width, signs,
/// empties, long and odd strings, the wrong type.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "-0",
    "127",
    "128",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "1e309",
    "-1e309",
    "0.5",
    "1.0",
    "1e-400",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    ".",
    "..",
    "/",
    "//",
    "../../etc",
    "/proc/self/fd/0",
    "a/../../b",
    "\u{0}",
    "\n",
    "%s%n",
    "\u{202e}",
    "é",
    "-1",
    "0x10",
    "1m",
    "5s",
    "SIGKILL",
    "KILL",
    "RTMIN+1",
    "max",
    "none",
    "*",
    "rw,nosuid",
    "0-1023",
    "0,1",
    "4294967296",
];

fn edge_value(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 | 3 => {
            let n: &&str = rng.pick(NUMBERS);
            serde_json::from_str::<Value>(n).unwrap_or(Value::Null)
        }
        4 | 5 => Value::String((*rng.pick(STRINGS)).to_owned()),
        6 => Value::String("A".repeat(1 << rng.below(17))),
        _ => match rng.below(2) {
            0 => Value::Array(Vec::new()),
            _ => Value::Object(serde_json::Map::new()),
        },
    }
}

/// Every node's path in `v`, to pick one uniformly.
fn paths(v: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(at.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                paths(item, at, out);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                at.push(PathStep::Key(k.clone()));
                paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Index(usize),
    Key(String),
}

fn node<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (PathStep::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One structural change to a JSON document.
fn mutate_json(v: &mut Value, rng: &mut Rng, donor: Option<&Value>) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = rng.pick(&all).clone();
    let donated = donor.map(|d| {
        let mut theirs = Vec::new();
        paths(d, &mut Vec::new(), &mut theirs);
        let p = rng.pick(&theirs).clone();
        let mut d = d.clone();
        node(&mut d, &p).map(|n| n.take()).unwrap_or(Value::Null)
    });
    let choice = rng.below(10);
    let Some(target) = node(v, &path) else {
        return;
    };
    match (choice, target) {
        (0..=3, t) => *t = edge_value(rng),
        (4, Value::Object(map)) if !map.is_empty() => {
            let k = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .unwrap_or_default();
            map.remove(&k);
        }
        (5, Value::Array(items)) if !items.is_empty() => {
            let i = rng.below(items.len());
            let copy = items[i].clone();
            for _ in 0..1 + rng.below(3) {
                items.push(copy.clone());
            }
        }
        (6, Value::Array(items)) if !items.is_empty() => {
            items.remove(rng.below(items.len()));
        }
        (7, t) => {
            if let Some(d) = donated {
                *t = d;
            }
        }
        (8, t) => {
            // Deep nesting: parsers must refuse or handle it, never overflow the stack.
            let mut deep = t.take();
            for _ in 0..1 + rng.below(300) {
                deep = Value::Array(vec![deep]);
            }
            *t = deep;
        }
        (_, Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            let delta = [1.0, -1.0, 2.0f64.powi(31), 2.0f64.powi(32), 2.0f64.powi(63)];
            *n = serde_json::Number::from_f64(f + rng.pick(&delta))
                .unwrap_or_else(|| serde_json::Number::from(0));
        }
        (_, t) => *t = edge_value(rng),
    }
}

/// One byte-level change.
fn mutate_bytes(data: &mut Vec<u8>, rng: &mut Rng, donor: Option<&[u8]>) {
    const INTERESTING: &[u8] = b"\0\x01\x7f\x80\xff/.-+:,{}[]\"\\ \n0123456789";
    match rng.below(7) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = *rng.pick(INTERESTING);
        }
        2 => {
            let i = rng.below(data.len() + 1);
            data.insert(i, *rng.pick(INTERESTING));
        }
        3 if !data.is_empty() => {
            let i = rng.below(data.len());
            let n = 1 + rng.below((data.len() - i).min(16));
            data.drain(i..i + n);
        }
        4 if !data.is_empty() => {
            // Repeat a chunk: long runs, long numbers.
            let i = rng.below(data.len());
            let n = 1 + rng.below((data.len() - i).min(8));
            let chunk = data[i..i + n].to_vec();
            for _ in 0..1 + rng.below(64) {
                data.splice(i..i, chunk.iter().copied());
            }
        }
        5 => {
            if let Some(d) = donor.filter(|d| !d.is_empty()) {
                let from = rng.below(d.len());
                let n = 1 + rng.below(d.len() - from);
                let at = rng.below(data.len() + 1);
                data.splice(at..at, d[from..from + n].iter().copied());
            }
        }
        _ => {
            let s = rng.pick(STRINGS).as_bytes();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, s.iter().copied());
        }
    }
    data.truncate(1 << 20);
}

/// The kind of input a target takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A JSON document: structural mutations most of the time.
    Json,
    /// A short string: byte mutations.
    Text,
}

/// The repository's fuzz directory (this crate's own).
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn load_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn hash(data: &[u8]) -> u64 {
    // FNV-1a: names crash files.
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What a run did, for the test's output.
pub struct Report {
    pub execs: u64,
    pub outcomes: usize,
    pub corpus: usize,
}

/// Fuzzes `f` for the budget; panics (naming the saved input) if any input made it panic.
pub fn run(target: &str, input: Input, f: impl Fn(&[u8]) -> String) -> Report {
    let secs: u64 = std::env::var("RT_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let seed: u64 = std::env::var("RT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let seeds = load_corpus(target);
    assert!(!seeds.is_empty(), "fuzz/corpus/{target}/ has no seed");
    let mut rng = Rng::new(seed ^ hash(target.as_bytes()));
    let mut seen = HashSet::new();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut execs = 0u64;
    let mut try_one = |data: Vec<u8>, corpus: &mut Vec<Vec<u8>>| {
        execs += 1;
        match catch_unwind(AssertUnwindSafe(|| f(&data))) {
            Ok(outcome) => {
                if seen.insert(outcome) && corpus.len() < 2000 {
                    corpus.push(data);
                }
            }
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
                let _ = std::fs::create_dir_all(&dir);
                let file = dir.join(format!("{target}-{:016x}", hash(&data)));
                let _ = std::fs::write(&file, &data);
                panic!(
                    "fuzz target {target} panicked ({msg}) on {} (seed {seed}; {:?}); \
                     add it to fuzz/corpus/{target}/ as a regression",
                    file.display(),
                    String::from_utf8_lossy(&data[..data.len().min(300)])
                );
            }
        }
    };
    for s in &seeds {
        try_one(s.clone(), &mut corpus);
    }
    if corpus.is_empty() {
        corpus.extend(seeds.iter().cloned());
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let base = rng.below(corpus.len());
        let donor = rng.below(corpus.len());
        let mut data = corpus[base].clone();
        let rounds = 1 + rng.below(4);
        let json = (input == Input::Json)
            .then(|| serde_json::from_slice::<Value>(&data).ok())
            .flatten();
        match json {
            Some(mut v) if rng.below(10) < 8 => {
                let d = serde_json::from_slice::<Value>(&corpus[donor]).ok();
                for _ in 0..rounds {
                    mutate_json(&mut v, &mut rng, d.as_ref());
                }
                data = serde_json::to_vec(&v).unwrap_or_default();
            }
            _ => {
                let d = corpus[donor].clone();
                for _ in 0..rounds {
                    mutate_bytes(&mut data, &mut rng, Some(&d));
                }
            }
        }
        try_one(data, &mut corpus);
    }
    let report = Report {
        execs,
        outcomes: seen.len(),
        corpus: corpus.len(),
    };
    eprintln!(
        "fuzz {target}: {} inputs in {secs} s, {} distinct outcomes, seed {seed}",
        report.execs, report.outcomes
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_target_is_caught_and_its_input_saved() {
        let r = catch_unwind(|| {
            run("selftest", Input::Text, |d| {
                assert!(!d.contains(&b'/'), "found it");
                "ok".into()
            })
        });
        let msg = r
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(msg.contains("found it"), "{msg}");
        assert!(msg.contains("target/fuzz-crashes/selftest-"), "{msg}");
    }

    #[test]
    fn json_mutations_keep_most_documents_parseable() {
        let mut rng = Rng::new(7);
        let doc: Value = serde_json::json!({"a": [1, {"b": "c"}], "d": {"e": null}});
        for _ in 0..1000 {
            let mut v = doc.clone();
            mutate_json(&mut v, &mut rng, Some(&doc));
            let text = serde_json::to_vec(&v).unwrap();
            if let Err(e) = serde_json::from_slice::<Value>(&text) {
                // Only the deep nesting mutation makes what the parser refuses.
                assert!(e.to_string().contains("recursion limit"), "{e}");
            }
        }
    }
}
