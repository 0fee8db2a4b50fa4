//! Signal names and numbers as `rt kill` accepts them: containerd sends numbers ("9"),
//! people type names with or without the SIG prefix ("KILL", "SIGTERM", "term").

use std::str::FromStr;

use nix::sys::signal::Signal;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("signal {}: not a signal name or number", crate::error::quoted(.0))]
pub struct BadSignal(pub String);

/// Parses a signal given as a number (0..=SIGRTMAX; 0 only asks whether the container's
/// init is alive, as kill(1)'s `-0`) or a name, case-insensitively, with or without "SIG";
/// real-time signals as RTMIN, RTMIN+N and RTMAX-N.
pub fn parse(s: &str) -> Result<i32, BadSignal> {
    let bad = || BadSignal(s.to_owned());
    let rtmin = libc::SIGRTMIN();
    let rtmax = libc::SIGRTMAX();
    if let Ok(n) = s.parse::<i32>() {
        return if (0..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off = rt_offset(rest, '+').ok_or_else(bad)?;
        let n = rtmin + off;
        return if n <= rtmax { Ok(n) } else { Err(bad()) };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off = rt_offset(rest, '-').ok_or_else(bad)?;
        let n = rtmax - off;
        return if n >= rtmin { Ok(n) } else { Err(bad()) };
    }
    Signal::from_str(&format!("SIG{name}"))
        .map(|sig| sig as i32)
        .map_err(|_| bad())
}

fn rt_offset(rest: &str, sign: char) -> Option<i32> {
    if rest.is_empty() {
        return Some(0);
    }
    rest.strip_prefix(sign)?
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("SIGKILL"), Ok(9));
        assert_eq!(parse("sigterm"), Ok(15));
        assert_eq!(parse("hup"), Ok(1));
        assert_eq!(parse("USR1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("WINCH"), Ok(libc::SIGWINCH));
    }

    #[test]
    fn realtime() {
        assert_eq!(parse("RTMIN"), Ok(libc::SIGRTMIN()));
        assert_eq!(parse("SIGRTMIN+3"), Ok(libc::SIGRTMIN() + 3));
        assert_eq!(parse("RTMAX-1"), Ok(libc::SIGRTMAX() - 1));
        assert!(parse("RTMIN+100").is_err());
        assert_eq!(parse(&libc::SIGRTMAX().to_string()), Ok(libc::SIGRTMAX()));
    }

    #[test]
    fn rejects_garbage() {
        for s in ["-1", "65", "NOPE", "SIG", "", "RTMIN-1", "9x"] {
            assert!(parse(s).is_err(), "{s:?} accepted");
        }
    }
}
