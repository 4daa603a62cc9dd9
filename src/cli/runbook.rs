//! `mqttforge runbook SPEC`: the site's disaster-recovery runbook, the same
//! `RUNBOOK.md` every rendered tree holds.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{exit, stdout_style};
use crate::diag;
use crate::spec;

/// Print the site's disaster-recovery runbook (also RUNBOOK.md in every rendered tree).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The runbook names this site's hosts, paths, ports and services, judges each recovery\n\
objective (the reasoning of MQ-DR-004), gives each scenario's commands, checks and roll-back,\n\
and embeds the production checklist (`mqttforge checklist`).\n\n\
Exit status: 0 printed, 1 invalid spec or render error, 2 usage error.\n\n\
Examples:\n  mqttforge runbook site-examples/mosquitto-ha.yaml > RUNBOOK.md\n  mqttforge runbook site.yaml --format text | less"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunbookFormat::Markdown)]
    pub format: RunbookFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunbookFormat {
    Markdown,
    Text,
}

pub fn run(args: Args) -> u8 {
    let name = args.spec.display().to_string();
    let site = match spec::load(&args.spec) {
        Ok(s) => s,
        Err(d) => {
            eprint!("{}", diag::render_text(&d, stdout_style()));
            return exit::FAILED;
        }
    };
    match crate::runbook::markdown(&site, &name) {
        Ok(md) => {
            match args.format {
                RunbookFormat::Markdown => print!("{md}"),
                RunbookFormat::Text => print!("{}", crate::runbook::text(&md)),
            }
            exit::OK
        }
        Err(d) => {
            eprint!("{}", diag::render_text(&d, stdout_style()));
            exit::FAILED
        }
    }
}
