//! The committed man pages and completions (man/generated/) are what the clap definitions
//! give now: a flag added to rt without regenerating them fails here. Regenerate with
//! `cargo run -p rt-man -- man/generated`.

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["man1", "completions"] {
        for e in fs::read_dir(dir.join(sub)).unwrap().flatten() {
            out.insert(
                Path::new(sub).join(e.file_name()),
                fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

#[test]
fn committed_pages_and_completions_are_current() {
    let fresh = std::env::temp_dir().join(format!("rt-man-{}", std::process::id()));
    let _ = fs::remove_dir_all(&fresh);
    rt_man::generate::<cli::Cli>(&fresh).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    let (now, then) = (files(&fresh), files(&committed));
    fs::remove_dir_all(&fresh).unwrap();
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&now),
        names(&then),
        "regenerate: cargo run -p rt-man -- man/generated"
    );
    for (name, text) in &now {
        assert!(
            &then[name] == text,
            "{} is stale; regenerate: cargo run -p rt-man -- man/generated",
            name.display()
        );
    }
    // Every subcommand has its page, and the completions know every one of them.
    let bash = String::from_utf8_lossy(&now[Path::new("completions/rt.bash")]).into_owned();
    for sub in [
        "create",
        "start",
        "checkpoint",
        "restore",
        "exec",
        "features",
    ] {
        assert!(
            now.contains_key(&Path::new("man1").join(format!("rt-{sub}.1"))),
            "{sub}"
        );
        assert!(bash.contains(sub), "{sub}");
    }
}
