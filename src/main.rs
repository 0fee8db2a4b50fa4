//! rt: a low-level OCI container runtime, command-line compatible with runc.

mod cgroups;
mod cli;
mod commands;
mod config;
mod console;
mod container;
mod error;
mod hooks;
mod init;
mod log;
mod procfs;
mod rootfs;
mod seal;
mod security;
mod signal;
mod spawn;

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
    for fd in 3..3 + n as i32 {
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).map_err(|e| {
            anyhow::anyhow!("--preserve-fds {n}: fd {fd} is not open: {}", e.desc())
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
    if matches!(cmd, Command::Create(_) | Command::Run(_) | Command::Exec(_)) {
        seal::ensure_sealed()?;
    }
    commands::dispatch(&cli.global, cmd)
}

/// Parses the command line. A usage error is one line on stderr naming the argument,
/// with exit code 1 like every other error; help and version go to stdout.
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
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

fn main() {
    // Rust ignores SIGPIPE, turning a closed stdout (`rt state ID | head -1`) into a panic
    // and, with panic=abort, a core dump. Like runc and every C tool, die of SIGPIPE.
    // SAFETY: installs the default disposition; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = parse_args();
    if cli.global.version {
        println!("rt version {}", env!("CARGO_PKG_VERSION"));
        println!("spec: {}", oci_spec::runtime::VERSION);
        return;
    }
    log::init(
        cli.global.log.as_deref(),
        cli.global.log_format,
        cli.global.debug,
    );
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            log::error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}
