//! `rt ps`: the container's processes, as ps(1) shows them or as a JSON array of pids.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::cgroups;
use crate::cli::{ListFormat, PsArgs};
use crate::container::preconditions::Op;
use crate::container::{Status, lifecycle};

/// Keeps the header and the rows of `ps` output whose PID column is one of `pids`.
pub fn filter_ps_output(text: &str, pids: &[i32]) -> anyhow::Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("ps: its output has no PID column (include pid in -o)");
    };
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

pub fn ps(root: &Path, a: &PsArgs) -> anyhow::Result<()> {
    let (record, status) = lifecycle::readable_cgroup(root, &a.id, Op::Ps)?;
    // A stopped container's cgroup may be gone already (systemd removes an empty scope):
    // nothing to list.
    let mut pids = match cgroups::pids(&record, &a.id) {
        Err(_) if status == Status::Stopped => Vec::new(),
        other => other?,
    };
    pids.sort_unstable();
    if a.format == ListFormat::Json {
        println!("{}", serde_json::to_string(&pids).context("formatting")?);
        return Ok(());
    }
    let args: Vec<&str> = if a.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        a.ps_args.iter().map(String::as_str).collect()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .context("ps: running ps(1)")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    print!(
        "{}",
        filter_ps_output(&String::from_utf8_lossy(&out.stdout), &pids)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_container_rows() {
        let text = "UID   PID  PPID CMD\nroot    1     0 init\nroot  200     1 sleep\nroot  300     1 other\n";
        assert_eq!(
            filter_ps_output(text, &[200]).unwrap(),
            "UID   PID  PPID CMD\nroot  200     1 sleep\n"
        );
        assert!(filter_ps_output("USER CMD\n", &[1]).is_err());
    }
}
