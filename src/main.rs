//! rt: a low-level OCI container runtime, command-line compatible with runc.
// rt supplies the C `main` itself: std's start-up installs a stack-overflow handler whose
// setup reads and sscanf-parses /proc/self/maps (twice per create, as rt re-executes
// itself once) and pulls glibc's scanf and printf machinery into every process's resident
// set; with panic=abort and no threads of note rt gains nothing from it. glibc hands std
// the arguments through .init_array, so std::env::args works the same, and
// std::process::exit flushes stdout as returning from std's main would.
#![cfg_attr(not(test), no_main)]

mod cgroups;
mod cli;
mod commands;
mod config;
mod console;
mod container;
mod error;
mod fault;
#[cfg(test)]
mod fuzz_targets;
mod hooks;
mod init;
mod json_fold;
mod log;
mod netdev;
mod oci_state;
mod passwd;
mod procfs;
mod rdt;
mod rootfs;
mod seal;
mod security;
mod signal;
mod spawn;
mod unparsed;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

/// --preserve-fds N promises fds 3..3+N: they must be open before rt opens anything of its
/// own, or one of rt's fds would take such a number and be handed to the container.
fn check_preserved_fds(cmd: &Command) -> anyhow::Result<()> {
    let n = match cmd {
        Command::Create(a) => a.opts.preserve_fds,
        Command::Run(a) => a.opts.preserve_fds,
        Command::Exec(a) => a.preserve_fds,
        _ => return Ok(()),
    } + init::process::listen_fds();
    for (i, fd) in (3..3 + n as i32).enumerate() {
        // runc's words ("unable to stat preserved-fd I (of N)") as well as the fd's number.
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).map_err(|e| {
            anyhow::anyhow!(
                "--preserve-fds {n}: unable to stat preserved-fd {i} (of {n}): fd {fd} is not open: {}",
                e.desc()
            )
        })?;
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let Some(cmd) = cli.command else {
        Cli::command().print_help()?;
        return Ok(0);
    };
    check_preserved_fds(&cmd)?;
    fault::arm();
    if matches!(cmd, Command::Create(_) | Command::Run(_) | Command::Exec(_)) {
        // A no-op when `seal_early` already re-executed rt; this is the check that counts.
        seal::ensure_sealed()?;
    }
    commands::dispatch(&cli.global, cmd)
}

/// rt's exit code when it fails itself. `exec` passes on the code of the process it ran,
/// so its own failures use 255, out of that range in practice, as runc's do: a caller
/// tells "the command exited 1" from "there was nothing to run".
fn failure_code(exec: bool) -> i32 {
    if exec { 255 } else { 1 }
}

/// The subcommand, found without clap: the first argument that is neither a global
/// option nor the value of one.
fn subcommand(args: &[std::ffi::OsString]) -> Option<&std::ffi::OsStr> {
    const TAKES_VALUE: [&str; 4] = ["--root", "--log", "--log-format", "--rootless"];
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else {
            return Some(a);
        };
        if TAKES_VALUE.contains(&s) {
            it.next();
        } else if !s.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// Re-executes a create, run or exec from the sealed binary before clap builds its
/// parser (a third of rt's start-up), which would otherwise be done twice. Anything the
/// scan gets wrong is caught by the check in `run`.
fn seal_early() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if matches!(
        subcommand(&args).and_then(|s| s.to_str()),
        Some("create" | "run" | "exec")
    ) && let Err(e) = seal::ensure_sealed()
    {
        eprintln!("rt: {e}");
        std::process::exit(failure_code(subcommand(&args).is_some_and(|s| s == "exec")));
    }
}

/// Parses the command line. A usage error is one line on stderr naming the argument,
/// with exit code 1 like every other error; help and version go to stdout.
/// The name rt was called by (`runc`, where it is installed as one): its help and version
/// say it, as runc's say "runc".
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "rt".to_owned())
}

/// Help in the layout of runc's (urfave/cli): a NAME section first, "NAME - what" on the
/// next line. Scripts and runc's help.bats read those two lines.
fn with_runcs_help_layout(cmd: clap::Command) -> clap::Command {
    let prog = program_name();
    let root = format!(
        "NAME:\n   {prog} - Open Container Initiative runtime\n\n{{about}}\n\nUSAGE:\n   {{usage}}\n\n{{all-args}}"
    );
    cmd.help_template(root).mut_subcommands(|s| {
        let sub = format!(
            "NAME:\n   {prog} {} - {{about}}\n\nUSAGE:\n   {{usage}}\n\n{{all-args}}",
            s.get_name()
        );
        s.help_template(sub)
    })
}

fn parse_args() -> Cli {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            // Only for help is the command rebuilt in runc's layout: every other run of rt
            // would pay for the templates (clap code and memory of each subcommand's).
            let e = with_runcs_help_layout(Cli::command())
                .try_get_matches()
                .err()
                .unwrap_or(e);
            e.exit()
        }
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e)
            if e.kind() == clap::error::ErrorKind::InvalidSubcommand
                && std::env::args().any(|a| a == "-h" || a == "--help") =>
        {
            // runc's words for help on a command that does not exist.
            let topic = match e.get(clap::error::ContextKind::InvalidSubcommand) {
                Some(clap::error::ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            eprintln!("{}: No help topic for '{topic}'", program_name());
            std::process::exit(1);
        }
        Err(e) => {
            // clap's message up to its usage block, folded into one line.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            eprintln!("rt: {}", message.join(" "));
            std::process::exit(1);
        }
    }
}

/// The error and its causes on one line, as `{:#}` prints them, but with every errno in
/// runc's words (lower case, without Rust's " (os error N)"): engines match on them.
fn error_text(e: &anyhow::Error) -> String {
    e.chain()
        .map(|cause| {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                error::io_text(io)
            } else if let Some(errno) = cause.downcast_ref::<nix::Error>() {
                error::errno_text(*errno as i32)
            } else {
                cause.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// A panic is one line, never a multi-line report with a backtrace in the container's
/// logs.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        log::error(&format!("internal error: {msg}{at}"));
    }));
}

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    rt_main();
    0
}

#[cfg_attr(test, allow(dead_code))]
fn rt_main() {
    // A SIGPIPE ignored by whoever started rt would turn a closed stdout (`rt state ID |
    // head -1`) into an error, and in Rust's print macros a panic (with panic=abort, a core
    // dump). Like runc and every C tool, die of SIGPIPE.
    // SAFETY: installs the default disposition; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    seal_early();
    let cli = parse_args();
    if cli.global.version {
        println!("{} version {}", program_name(), env!("CARGO_PKG_VERSION"));
        println!("commit: {}", env!("RT_COMMIT"));
        println!("spec: {}", oci_spec::runtime::VERSION);
        return;
    }
    log::init(
        cli.global.log.as_deref(),
        match cli.global.log_format {
            cli::LogFormat::Text => log::LogFormat::Text,
            cli::LogFormat::Json => log::LogFormat::Json,
        },
        cli.global.debug,
    );
    install_panic_hook();
    let failed = failure_code(matches!(cli.command, Some(Command::Exec(_))));
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            log::release_stderr();
            log::error(&error_text(&e));
            failed
        }
    };
    log::release_stderr();
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::subcommand;
    use std::ffi::OsString;

    fn sub(args: &[&str]) -> Option<String> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        subcommand(&v).map(|s| s.to_string_lossy().into_owned())
    }

    #[test]
    fn finds_the_subcommand_past_global_options() {
        assert_eq!(sub(&["rt", "run", "x"]).as_deref(), Some("run"));
        assert_eq!(
            sub(&["rt", "--root", "run", "state", "x"]).as_deref(),
            Some("state")
        );
        assert_eq!(
            sub(&[
                "rt",
                "--debug",
                "--log",
                "/l",
                "--log-format",
                "json",
                "exec",
                "x"
            ])
            .as_deref(),
            Some("exec")
        );
        assert_eq!(
            sub(&["rt", "--root=/r", "create", "x"]).as_deref(),
            Some("create")
        );
        assert_eq!(sub(&["rt", "--version"]), None);
    }
}
