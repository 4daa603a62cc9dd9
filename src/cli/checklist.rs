//! `mqttforge checklist SPEC`: the 24-item production checklist for a site.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{exit, stdout_style};
use crate::diag;
use crate::spec;

/// The production checklist: each item generated, checked, proven or missing for this site.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each of the 24 items of the production checklist is generated (which rendered file),\n\
checked (which lint rules), proven (which `verify` probe), or missing (what to do). Lint\n\
findings of an item's rules are listed beside it. The Markdown table is the one RUNBOOK.md embeds.\n\n\
Exit status: 0 nothing missing, 1 an item is missing (or the spec is invalid), 2 usage error.\n\n\
Examples:\n  mqttforge checklist site-examples/emqx-cluster.yaml\n  mqttforge checklist site.yaml --format json | jq '.items[] | select(.status == \"missing\")'"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ChecklistFormat::Text)]
    pub format: ChecklistFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChecklistFormat {
    Text,
    Markdown,
    Json,
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
    let items = match crate::checklist::checklist(&site, &name) {
        Ok(i) => i,
        Err(d) => {
            eprint!("{}", diag::render_text(&d, stdout_style()));
            return exit::FAILED;
        }
    };
    match args.format {
        ChecklistFormat::Text => print!("{}", crate::checklist::text(&items)),
        ChecklistFormat::Markdown => match crate::checklist::markdown(&items) {
            Ok(md) => print!("{md}"),
            Err(d) => {
                eprint!("{}", diag::render_text(&d, stdout_style()));
                return exit::FAILED;
            }
        },
        ChecklistFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&crate::checklist::json(&site, &items)).expect("JSON")
        ),
    }
    if crate::checklist::any_missing(&items) {
        exit::FAILED
    } else {
        exit::OK
    }
}
