//! `cargo run -p rt-man -- DIR`: rt's man pages (DIR/man1/rt.1 and one rt-COMMAND.1 per
//! subcommand) and shell completions (DIR/completions/rt.bash, _rt for zsh, rt.fish),
//! generated from the clap definitions rt itself parses with (src/cli.rs, compiled in
//! here), so they cannot drift from the binary. The copies in man/generated/ are checked
//! against a fresh generation by this crate's test; scripts/install.sh installs them.

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
mod cli;

use std::path::Path;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: rt-man DIR");
        std::process::exit(2);
    };
    if let Err(e) = rt_man::generate::<cli::Cli>(Path::new(&dir)) {
        eprintln!("rt-man: {e}");
        std::process::exit(1);
    }
}
