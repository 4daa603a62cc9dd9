//! `mqttforge validate SPEC`: schema and semantic checks, every problem at
//! once, each at file:line:col.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::diag::{self, Severity};
use crate::spec;

/// Check a site spec against the schema and the semantic rules.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 valid, 1 invalid, 2 usage error.\n\nExamples:\n  mqttforge validate site-examples/edge-mosquitto.yaml\n  mqttforge validate site.yaml --format json | jq '.diagnostics[].message'"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> u8 {
    let name = args.spec.display().to_string();
    let result = spec::load(&args.spec);
    match args.format {
        Format::Json => {
            let (valid, site, diags) = match &result {
                Ok(site) => (true, Some(site.name().to_string()), Vec::new()),
                Err(d) => (false, None, d.clone()),
            };
            let doc = json!({
                "file": name,
                "valid": valid,
                "site": site,
                "errors": diags.iter().filter(|d| d.severity == Severity::Error).count(),
                "diagnostics": diags.iter().map(diag::to_json).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        }
        Format::Text => match &result {
            Ok(site) => {
                let s = &site.spec;
                println!(
                    "{name}: valid: site `{}` ({}, {}), {} node{}, {} listener{}, {} device{}",
                    site.name(),
                    s.engine.as_str(),
                    format!("{:?}", s.environment).to_lowercase(),
                    s.nodes.len(),
                    plural(s.nodes.len() as u64),
                    s.listeners.len(),
                    plural(s.listeners.len() as u64),
                    site.device_count(),
                    plural(site.device_count()),
                );
            }
            Err(diags) => {
                print!("{}", diag::render_text(diags, stdout_style()));
                let n = diags.len();
                println!("{name}: invalid: {n} error{}", plural(n as u64));
            }
        },
    }
    if result.is_ok() {
        exit::OK
    } else {
        exit::FAILED
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
