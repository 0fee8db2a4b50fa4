//! Turning samples into the results table, raw.csv and the gnuplot files.

use crate::stats::Summary;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Ms,
    S,
    MiB,
}

impl Unit {
    fn format(self, v: f64) -> String {
        match self {
            Unit::Ms | Unit::MiB => format!("{v:.1}"),
            Unit::S => format!("{v:.2}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A central value and, in parentheses, a spread (p90 or max, as the row says).
    Spread(f64, f64),
    Single(f64),
    Failed(String),
    /// The runtime has no such command: not a failure, nothing to compare.
    Absent(String),
    NoData,
}

impl Cell {
    pub fn from_summary(s: Option<Summary>, spread: impl Fn(&Summary) -> f64) -> Cell {
        match s {
            Some(s) => Cell::Spread(s.median, spread(&s)),
            None => Cell::NoData,
        }
    }

    fn central(&self) -> Option<f64> {
        match self {
            Cell::Spread(m, _) | Cell::Single(m) => Some(*m),
            _ => None,
        }
    }

    fn render(&self, unit: Unit) -> String {
        match self {
            Cell::Spread(m, s) => format!("{} ({})", unit.format(*m), unit.format(*s)),
            Cell::Single(v) => unit.format(*v),
            Cell::Failed(msg) => format!("failed: {}", escape(msg)),
            Cell::Absent(msg) => escape(msg),
            Cell::NoData => "–".to_string(),
        }
    }
}

pub struct Row {
    pub label: String,
    pub unit: Unit,
    pub cells: Vec<Cell>,
}

/// `a/b` with two decimals, or a dash when either side has no value.
pub fn ratio(a: &Cell, b: &Cell) -> String {
    match (a.central(), b.central()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".to_string(),
    }
}

/// One markdown table: a column per runtime, then the first runtime's ratio to each other.
pub fn render_table(runtimes: &[String], rows: &[Row]) -> String {
    let mut header = vec!["scenario".to_string()];
    header.extend(runtimes.iter().cloned());
    let first = runtimes.first().map_or("", String::as_str);
    header.extend(runtimes.iter().skip(1).map(|r| format!("{first}/{r}")));

    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let mut cols = vec![row.label.clone()];
        cols.extend(row.cells.iter().map(|c| c.render(row.unit)));
        if let Some(f) = row.cells.first() {
            cols.extend(row.cells.iter().skip(1).map(|c| ratio(f, c)));
        }
        let _ = writeln!(out, "| {} |", cols.join(" | "));
    }
    out
}

/// Keeps a runtime's error message from breaking the table: one line, no pipe, bounded.
pub fn escape(msg: &str) -> String {
    let one_line = msg.lines().next().unwrap_or("").trim();
    let mut s: String = one_line.chars().take(140).collect();
    if one_line.chars().count() > 140 {
        s.push('…');
    }
    s.replace('|', "\\|")
}

/// The line of a failed command's output worth showing: the launcher's own verdict (a
/// timeout, a failed exec) if any, else the first line that is not a warning (rt, for one,
/// warns on runc's default spec), else the first line at all.
pub fn failure_line(output: &str, status: i32) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(l) = lines.iter().find(|l| l.starts_with("launch: ")) {
        return l.to_string();
    }
    let is_warning = |l: &&str| {
        let head: String = l.chars().take(40).collect::<String>().to_lowercase();
        head.contains("warn")
    };
    if let Some(l) = lines.iter().find(|l| !is_warning(l)).or(lines.first()) {
        return l.to_string();
    }
    if status < 0 {
        format!("killed by signal {}", -status)
    } else {
        format!("exit status {status}, no output")
    }
}

/// A gnuplot data file: one line per label, then per runtime the central value and the top
/// of its error bar; `?` where there is no value. `scale` converts a row's unit to the plot's.
pub fn gnuplot_data(runtimes: &[String], rows: &[(&str, &Row, f64)]) -> String {
    let mut out = String::from("# label");
    for r in runtimes {
        let _ = write!(out, " {r} {r}_top");
    }
    out.push('\n');
    for (label, row, scale) in rows {
        let _ = write!(out, "\"{label}\"");
        for c in &row.cells {
            match c {
                Cell::Spread(m, s) => {
                    let _ = write!(out, " {} {}", m * scale, s * scale);
                }
                Cell::Single(v) => {
                    let _ = write!(out, " {} {}", v * scale, v * scale);
                }
                _ => out.push_str(" ? ?"),
            }
        }
        out.push('\n');
    }
    out
}

pub fn gnuplot_script(
    runtimes: &[String],
    terminal: &str,
    title: &str,
    times_title: &str,
    rss_title: &str,
) -> String {
    let plot = |file: &str| {
        runtimes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (m, top) = (2 + 2 * i, 3 + 2 * i);
                let src = if i == 0 {
                    format!("'{file}'")
                } else {
                    "''".to_string()
                };
                let xtic = if i == 0 { ":xtic(1)" } else { "" };
                format!("{src} using {m}:{m}:{top}{xtic} title '{r}'")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "set terminal {terminal} size 1200,1000 noenhanced
set output 'results.png'
set datafile missing '?'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set grid ytics
set key top left
set multiplot layout 2,1 title \"{title}\"
set title \"{times_title}\"
set ylabel 'ms (log scale)'
set logscale y
plot {}
unset logscale y
set title \"{rss_title}\"
set ylabel 'MiB'
set yrange [0:*]
plot {}
unset multiplot
",
        plot("times.dat"),
        plot("rss.dat")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["rt", "runc", "crun"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn ratios() {
        assert_eq!(
            ratio(&Cell::Spread(23.0, 30.0), &Cell::Spread(11.5, 12.0)),
            "2.00"
        );
        assert_eq!(ratio(&Cell::Single(1.0), &Cell::Single(3.0)), "0.33");
        assert_eq!(ratio(&Cell::Failed("x".into()), &Cell::Single(3.0)), "–");
        assert_eq!(ratio(&Cell::Single(1.0), &Cell::NoData), "–");
        assert_eq!(ratio(&Cell::Single(1.0), &Cell::Single(0.0)), "–");
    }

    #[test]
    fn table() {
        let rows = vec![
            Row {
                label: "run (ms)".into(),
                unit: Unit::Ms,
                cells: vec![
                    Cell::Spread(23.04, 25.06),
                    Cell::Spread(29.7, 31.0),
                    Cell::Failed("cgroups | hybrid\nsecond line".into()),
                ],
            },
            Row {
                label: "throughput (s)".into(),
                unit: Unit::S,
                cells: vec![Cell::Single(1.234), Cell::Single(2.0), Cell::NoData],
            },
        ];
        let t = render_table(&names(), &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "| scenario | rt | runc | crun | rt/runc | rt/crun |"
        );
        assert_eq!(lines[1], "|---|---|---|---|---|---|");
        assert_eq!(
            lines[2],
            "| run (ms) | 23.0 (25.1) | 29.7 (31.0) | failed: cgroups \\| hybrid | 0.78 | – |"
        );
        assert_eq!(lines[3], "| throughput (s) | 1.23 | 2.00 | – | 0.62 | – |");
    }

    #[test]
    fn failure_lines() {
        let rt =
            "rt: warning: process.capabilities.ambient: not raised\nrt: create: no such file\n";
        assert_eq!(failure_line(rt, 1), "rt: create: no such file");
        let runc = "time=\"x\" level=warning msg=\"w\"\ntime=\"x\" level=error msg=\"e\"\n";
        assert_eq!(failure_line(runc, 1), "time=\"x\" level=error msg=\"e\"");
        assert_eq!(failure_line("rt: warning: only\n", 1), "rt: warning: only");
        let timeout = "some error\nlaunch: youki still running after 30 s; killed it\n";
        assert_eq!(
            failure_line(timeout, -9),
            "launch: youki still running after 30 s; killed it"
        );
        assert_eq!(failure_line("", 2), "exit status 2, no output");
        assert_eq!(failure_line("\n", -9), "killed by signal 9");
    }

    #[test]
    fn plot_data() {
        let row = Row {
            label: "run".into(),
            unit: Unit::Ms,
            cells: vec![Cell::Spread(1.5, 2.0), Cell::Single(3.0), Cell::NoData],
        };
        let d = gnuplot_data(&names(), &[("run", &row, 1.0)]);
        assert_eq!(
            d,
            "# label rt rt_top runc runc_top crun crun_top\n\"run\" 1.5 2 3 3 ? ?\n"
        );
    }
}
