//! The structure of src/, checked: which file may use which (ARCHITECTURE.md).
//!
//! - No import cycle between files. A directory's mod.rs counts as the file above its
//!   children: it may use them, and so they must not use what it defines.
//! - No upward import between the top-level modules: each may use only the modules below
//!   it in `LAYERS`.
//!
//! A file's uses are the `crate::…`, `super::…` and `self::…` paths in it, and in a mod.rs
//! (or main.rs) the paths that start with one of its own child modules; test modules
//! (`#[cfg(test)]` and everything after it) are not counted. Plain text matching: rt's
//! sources keep to `use` lists and qualified paths, which this reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The top-level modules of src/, bottom first.
const LAYERS: &[&str] = &[
    "error",
    "fault",
    "procfs",
    "signal",
    "log",
    "oci_state",
    "passwd",
    "unparsed",
    "json_fold",
    "spawn",
    "security",
    "console",
    "hooks",
    "netdev",
    "rdt",
    "config",
    "cgroups",
    "rootfs",
    "seal",
    "init",
    "container",
    "cli",
    "commands",
    "fuzz_targets",
    "main",
];

struct File {
    /// Module path: `container::create`, `container` for container/mod.rs, `main`.
    module: String,
    /// Child modules declared in it (`mod x;`).
    children: Vec<String>,
    text: String,
}

fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Drops comments and string literals, which may mention paths that are not uses.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '{' or '"'.
            out.push_str("' '");
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn read_files(dir: &Path, root: &Path, out: &mut Vec<File>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_files(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(root).unwrap();
            let raw = fs::read_to_string(&p).unwrap();
            let text = code_only(without_tests(&raw));
            let children = text
                .lines()
                .filter_map(|l| {
                    let l = l.trim();
                    let l = l.strip_prefix("pub ").unwrap_or(l);
                    let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
                    l.strip_prefix("mod ")?
                        .strip_suffix(';')
                        .map(|n| n.trim().to_owned())
                })
                .collect();
            out.push(File {
                module: module_of(rel),
                children,
                text,
            });
        }
    }
}

/// Every path in `text` that starts with `prefix` (followed by `::`), as the segments
/// after it, with `{a, b::c}` groups expanded.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let needle = format!("{prefix}::");
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let at = from + i;
        from = at + needle.len();
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        expand(&text[from..], Vec::new(), &mut found);
    }
    found
}

/// Reads one path (possibly a `{…}` group) at the start of `rest`, below `base`.
fn expand(rest: &str, base: Vec<String>, found: &mut Vec<Vec<String>>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&group[start..i], base.clone(), found);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&group[start..i], base.clone(), found);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if !base.is_empty() {
            found.push(base);
        }
        return;
    }
    let mut path = base;
    path.push(ident.clone());
    let after = &rest[ident.len()..];
    match after.strip_prefix("::") {
        Some(more) => expand(more, path, found),
        None => found.push(path),
    }
}

/// The longest module among `modules` that `path` (absolute segments) lies in.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_files(&root, &root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges = BTreeMap::new();
    for f in &files {
        let own: Vec<String> = if f.module == "main" {
            Vec::new()
        } else {
            f.module.split("::").map(str::to_owned).collect()
        };
        let is_dir_module = f.children.iter().any(|c| {
            let mut p = own.clone();
            p.push(c.clone());
            modules.contains(&p.join("::"))
        });
        // `super` of a mod.rs (or main.rs) is its parent directory's module; of any other
        // file, its own directory's module.
        let parent: Vec<String> = if is_dir_module || f.module == "main" {
            own[..own.len().saturating_sub(1)].to_vec()
        } else {
            own[..own.len() - 1].to_vec()
        };
        let mut deps = BTreeSet::new();
        let mut add = |abs: Vec<String>| {
            if let Some(m) = resolve(&abs, &modules)
                && m != f.module
            {
                deps.insert(m);
            }
        };
        for p in paths_after(&f.text, "crate") {
            add(p);
        }
        for p in paths_after(&f.text, "super") {
            let mut abs = parent.clone();
            abs.extend(p);
            add(abs);
        }
        for p in paths_after(&f.text, "self") {
            let mut abs = own.clone();
            abs.extend(p);
            add(abs);
        }
        for child in &f.children {
            for p in paths_after(&f.text, child) {
                let mut abs = own.clone();
                abs.push(child.clone());
                abs.extend(p);
                add(abs);
            }
        }
        edges.insert(f.module.clone(), deps);
    }
    edges
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.found.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_file_imports_one_that_imports_it() {
    let edges = graph();
    let found = cycles(&edges);
    let shown: Vec<String> = found
        .iter()
        .map(|c| {
            let inner: Vec<String> = c
                .iter()
                .map(|m| {
                    let to: Vec<&String> = edges[m].iter().filter(|d| c.contains(d)).collect();
                    format!("  {m} -> {to:?}")
                })
                .collect();
            inner.join("\n")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles in src/:\n{}",
        shown.join("\n\n")
    );
}

#[test]
fn no_module_imports_one_above_it() {
    let edges = graph();
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == top(m));
    let mut upward = Vec::new();
    for (m, deps) in &edges {
        let Some(r) = rank(m) else {
            upward.push(format!("{m}: not in LAYERS (tests/layers.rs)"));
            continue;
        };
        for d in deps {
            if top(d) == top(m) {
                continue;
            }
            match rank(d) {
                Some(rd) if rd < r => {}
                _ => upward.push(format!("{m} -> {d}")),
            }
        }
    }
    assert!(
        upward.is_empty(),
        "upward imports (LAYERS, bottom first: {LAYERS:?}):\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn the_checker_sees_uses() {
    let text = "use crate::a::{b, c::{d, e}};\nfn f() { super::g::h(); x::y(); }";
    let crate_paths = paths_after(text, "crate");
    assert_eq!(
        crate_paths,
        vec![
            vec!["a".to_owned(), "b".into()],
            vec!["a".into(), "c".into(), "d".into()],
            vec!["a".into(), "c".into(), "e".into()],
        ]
    );
    assert_eq!(
        paths_after(text, "super"),
        vec![vec!["g".to_owned(), "h".into()]]
    );
    assert!(paths_after(&code_only("// crate::a\nlet s = \"crate::b\";"), "crate").is_empty());
    let edges = graph();
    assert!(edges["container::create"].contains("init"), "{edges:?}");
    assert!(edges["init"].contains("init::steps"), "{edges:?}");
}
