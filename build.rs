//! Records the versions of the crates that decide what rt supports (from Cargo.lock), for
//! `rt features`' annotations, as runc reports its libseccomp's.

use std::fs;

const REPORTED: &[&str] = &["oci-spec", "libcgroups", "seccompiler", "caps", "pathrs"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
            && REPORTED.contains(&n.as_str())
        {
            found.push(format!("{n}={}", v.trim_matches('"')));
        }
    }
    println!("cargo:rustc-env=RT_DEPENDENCY_VERSIONS={}", found.join(","));
    commit();
}

/// The commit rt is built from, for `rt --version`'s `commit:` line as runc prints it
/// (Docker's `docker info` reads that line). "unknown" outside a git checkout.
fn commit() {
    for watched in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(watched).exists() {
            println!("cargo:rerun-if-changed={watched}");
        }
    }
    let hash = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RT_COMMIT={hash}");
}
