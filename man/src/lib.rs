//! Generation of man pages and completions for any clap command (rt's: see main.rs).

use std::fs;
use std::io;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

/// Writes `dir/man1/*.1` and `dir/completions/*` for the command `C`.
pub fn generate<C: CommandFactory>(dir: &Path) -> io::Result<()> {
    let mut cmd = C::command();
    cmd.build();
    let man = dir.join("man1");
    fs::create_dir_all(&man)?;
    write_page(&man, &cmd, "rt")?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // clap takes a command's name as &'static str; this runs once per page.
        let name: &'static str = Box::leak(format!("rt-{}", sub.get_name()).into_boxed_str());
        let page = sub.clone().name(name);
        write_page(&man, &page, name)?;
    }
    let completions = dir.join("completions");
    fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let file = match shell {
            Shell::Bash => "rt.bash",
            Shell::Zsh => "_rt",
            _ => "rt.fish",
        };
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "rt", &mut out);
        fs::write(completions.join(file), out)?;
    }
    Ok(())
}

fn write_page(dir: &Path, cmd: &clap::Command, name: &str) -> io::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .manual("rt manual")
        .render(&mut out)?;
    fs::write(dir.join(format!("{name}.1")), out)
}
