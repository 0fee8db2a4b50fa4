//! Fuzz targets (issue 13): every parser of what rt's callers hand it — config.json and
//! what follows from it (validation, seccomp compilation, namespace plan, mount options),
//! container IDs, signal names, Go durations, `update` documents and flags, state.json.
//! They run under `cargo test` with the mutation fuzzer in fuzz/ (seed corpora and crash
//! regressions in fuzz/corpus/<target>/). Besides never panicking, every error must be one
//! line, and the properties each parser promises must hold for whatever it accepts.

use fuzz::{Input, run};

use crate::container::state::{self, Liveness, State};
use crate::{cgroups, config, signal};

/// The outcome class of an error: its text up to the reason, digits folded, so that
/// "linux.resources.memory.limit: must be positive" counts once however it got there.
fn class(text: &str) -> String {
    text.chars()
        .take(60)
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// The longest string in a JSON input (errors may quote it back).
fn longest_string(d: &[u8]) -> usize {
    fn walk(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) => s.len(),
            serde_json::Value::Array(a) => a.iter().map(walk).max().unwrap_or(0),
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| k.len().max(walk(v)))
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }
    serde_json::from_slice(d)
        .map(|v| walk(&v))
        .unwrap_or(d.len())
}

/// A refusal as users see it: one line, and short unless it quotes a long input back.
fn refusal(what: &str, text: String, d: &[u8]) -> String {
    assert!(
        !text.contains('\n'),
        "{what}: error of several lines: {text}"
    );
    assert!(
        text.len() <= 300 + 2 * longest_string(d),
        "{what}: error of {} bytes: {text}",
        text.len()
    );
    format!("{what}: {}", class(&text))
}

/// A target of text: inputs that are not UTF-8 (rt's arguments are strings) are one outcome.
fn run_text(target: &str, f: impl Fn(&str) -> String) {
    run(target, Input::Text, |d| match std::str::from_utf8(d) {
        Ok(s) => f(s),
        Err(_) => "not utf-8".into(),
    });
}

#[test]
fn config_json() {
    run("config", Input::Json, |d| {
        let mut spec = match config::parse(d) {
            Ok(s) => s,
            Err(e) => return refusal("parse", e.to_string(), d),
        };
        if let Some(r) = spec
            .linux_mut()
            .as_mut()
            .and_then(|l| l.resources_mut().as_mut())
        {
            config::unset_zero_limits(r);
        }
        if let Err(e) = config::validate(&spec) {
            return refusal("validate", e.to_string(), d);
        }
        if let Err(e) = cgroups::validate(&spec) {
            return refusal("cgroups", e.to_string(), d);
        }
        if let Err(e) = crate::security::seccomp::compile(&spec) {
            return refusal("seccomp", format!("{e:#}"), d);
        }
        let ns = crate::spawn::namespaces::plan(&spec);
        for m in spec.mounts().iter().flatten() {
            let _ = crate::rootfs::options::parse(m.options().as_deref().unwrap_or_default());
        }
        let propagation = spec
            .linux()
            .as_ref()
            .and_then(|l| l.rootfs_propagation().as_deref());
        let _ = crate::config::root_propagation(propagation);
        format!("ok {}", ns.new_pid())
    });
}

#[test]
fn container_ids() {
    run_text("id", |id| {
        let d = id.as_bytes();
        match crate::container::id::validate(id) {
            Ok(()) => {
                // An accepted ID names exactly one directory right under --root.
                let root = std::path::Path::new("/run/rt");
                let dir = root.join(id);
                assert_eq!(dir.parent(), Some(root), "{id:?} escapes --root");
                assert_eq!(dir.file_name().map(|n| n.len()), Some(id.len()), "{id:?}");
                assert!(id != "." && id != ".." && !id.contains('/'), "{id:?}");
                "ok".into()
            }
            Err(e) => refusal("id", e.to_string(), d),
        }
    });
}

#[test]
fn signal_names() {
    run_text("signal", |s| {
        let d = s.as_bytes();
        match signal::parse(s) {
            Ok(n) => {
                assert!((0..=64).contains(&n), "{s:?} gave signal {n}");
                "ok".into()
            }
            Err(e) => refusal("signal", e.to_string(), d),
        }
    });
}

#[test]
fn go_durations() {
    run_text(
        "duration",
        |s| match crate::commands::events::parse_go_duration(s) {
            Some(t) => format!("ok {}", t.is_zero()),
            None => "refused".into(),
        },
    );
}

#[test]
fn update_documents_and_byte_flags() {
    run(
        "update",
        Input::Json,
        |d| match crate::commands::update::parse_document(d) {
            Ok(mut r) => {
                config::unset_zero_limits(&mut r);
                "ok".into()
            }
            Err(e) => refusal("update", format!("{e:#}"), d),
        },
    );
    run_text("bytes", |s| {
        let d = s.as_bytes();
        match crate::commands::update::parse_bytes("--memory", s) {
            Ok(n) => format!("ok {}", n.signum()),
            Err(e) => refusal("bytes", format!("{e:#}"), d),
        }
    });
}

/// A written state as a JSON value; capability sets (hash sets in oci-spec) sorted.
fn comparable(text: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        // A number beyond f64's range (the fuzzer's 8,000-digit seccomp argument, kept
        // verbatim in a deferred member) is JSON that a Value cannot hold: then the text
        // must still be JSON, and only its length is compared (capability sets may come
        // back in another order, never in another length).
        Err(e) if e.to_string().starts_with("number out of range") => {
            serde_json::from_slice::<serde::de::IgnoredAny>(text).expect("rt wrote JSON");
            return serde_json::Value::from(text.len());
        }
        Err(e) => panic!("rt wrote JSON: {e}"),
    };
    if let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    {
        for set in caps.values_mut() {
            if let Some(a) = set.as_array_mut() {
                a.sort_by_key(|x| x.to_string());
            }
        }
    }
    v
}

#[test]
fn state_json() {
    run("state", Input::Json, |d| {
        let s: State = match serde_json::from_slice(d) {
            Ok(s) => s,
            Err(reason) => {
                let e = crate::container::ContainerError::Corrupt {
                    path: "/run/rt/c/state.json".into(),
                    reason,
                };
                return refusal("state", e.to_string(), d);
            }
        };
        // What rt loads it writes back the same, and can always show.
        let text = serde_json::to_vec(&s).expect("a loaded state serializes");
        let again: State = serde_json::from_slice(&text).expect("a written state loads");
        let back = serde_json::to_vec(&again).expect("serializes");
        assert_eq!(
            comparable(&back),
            comparable(&text),
            "state.json changes when written back"
        );
        let live = Liveness {
            creator_alive: d.len() % 2 == 0,
            init_alive: d.len() % 3 == 0,
            waiting_for_start: d.len() % 5 == 0,
            frozen: d.len() % 7 == 0,
        };
        let status = state::derive_status(s.phase, live);
        let shown = serde_json::to_string(&s.oci(status)).expect("the OCI state serializes");
        format!("ok {status:?} {}", shown.is_empty())
    });
}
