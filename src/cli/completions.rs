//! `mqttforge completions SHELL` and `mqttforge man`: shell completions and
//! man pages generated from the clap definitions, so they never drift from
//! the commands.

use std::path::PathBuf;

use clap::CommandFactory;

use super::{exit, Cli};
use crate::diag::Code;

/// Print a shell's completion script for mqttforge.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mqttforge completions bash > /etc/bash_completion.d/mqttforge\n  mqttforge completions zsh > \"${fpath[1]}/_mqttforge\"\n  mqttforge completions fish > ~/.config/fish/completions/mqttforge.fish"
)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Write the man pages of mqttforge and of every subcommand.
#[derive(clap::Args, Debug)]
#[command(after_help = "Without --out, prints mqttforge(1) on stdout.\n\n\
Examples:\n  mqttforge man | man -l -\n  mqttforge man --out /usr/local/share/man/man1")]
pub struct ManArgs {
    /// A directory to write mqttforge.1 and mqttforge-<command>.1 into.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> u8 {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "mqttforge", &mut std::io::stdout());
    exit::OK
}

pub fn man(args: ManArgs) -> u8 {
    let cmd = Cli::command();
    let Some(dir) = args.out else {
        let mut out = std::io::stdout().lock();
        return match clap_mangen::Man::new(cmd).render(&mut out) {
            Ok(()) => exit::OK,
            Err(e) => {
                super::report(
                    Code::Io,
                    format!("cannot write the man page: {e}"),
                    "write it to a directory instead: `mqttforge man --out DIR`",
                );
                exit::FAILED
            }
        };
    };
    match write_pages(&cmd, &dir) {
        Ok(n) => {
            println!("wrote {n} man pages to {}", dir.display());
            exit::OK
        }
        Err(e) => {
            super::report(
                Code::Io,
                format!("cannot write the man pages to {}: {e}", dir.display()),
                "give a directory this user can create and write",
            );
            exit::FAILED
        }
    }
}

/// mqttforge.1, then mqttforge-<sub>.1 for each subcommand (one level: `pki`
/// and `acl` list theirs on their own page).
fn write_pages(cmd: &clap::Command, dir: &std::path::Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = 0;
    let mut pages = vec![(String::from("mqttforge"), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("mqttforge-{}", sub.get_name());
        let page = sub.clone().name(name.clone());
        pages.push((name, page));
    }
    for (name, page) in pages {
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written += 1;
    }
    Ok(written)
}
