//! `rt list`: runc's table (tabwriter, min width 12, padding 3), JSON, or IDs only.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::{ListArgs, ListFormat};
use crate::container::{self, Container, OciState};

fn table(rows: &[OciState]) -> String {
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.pid.to_string(),
                s.status.to_string(),
                s.bundle.display().to_string(),
                s.created.clone(),
                s.owner.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.len());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let widths = widths.map(|w| (w + 3).max(12));
    let mut out = String::new();
    let mut line = |row: Vec<&str>| {
        for (i, c) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

pub fn list(root: &Path, a: &ListArgs) -> anyhow::Result<()> {
    let mut states = Vec::new();
    for id in container::list_ids(root)? {
        // A container deleted while we list is simply not listed.
        if let Ok(c) = Container::load(root, &id) {
            states.push(c.oci_state());
        }
    }
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    match a.format {
        ListFormat::Json => println!("{}", serde_json::to_string(&states).context("formatting")?),
        ListFormat::Table => print!("{}", table(&states)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Status;

    #[test]
    fn table_matches_runc_layout() {
        let s = OciState {
            oci_version: "1.2.0".into(),
            id: "t2".into(),
            pid: 2579,
            status: Status::Created,
            bundle: "/tmp/rb".into(),
            rootfs: "/tmp/rb/rootfs".into(),
            created: "2026-11-25T14:27:32.798029631Z".into(),
            owner: "root".into(),
            annotations: Default::default(),
        };
        let t = table(&[s]);
        let expected = "ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n\
                        t2          2579        created     /tmp/rb     2026-11-25T14:27:32.798029631Z   root\n";
        assert_eq!(t, expected);
    }
}
