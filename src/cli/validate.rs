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
    /// The site specs (YAML); each is validated on its own.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> u8 {
    let mut code = exit::OK;
    let mut docs = Vec::new();
    for spec_path in &args.specs {
        let (c, doc) = one(spec_path, args.format);
        code = code.max(c);
        docs.extend(doc);
    }
    if args.format == Format::Json {
        let out = if docs.len() == 1 {
            docs.remove(0)
        } else {
            serde_json::Value::Array(docs)
        };
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    }
    code
}

/// Validates one spec: prints text output, or returns its JSON document.
fn one(spec_path: &std::path::Path, format: Format) -> (u8, Option<serde_json::Value>) {
    let name = spec_path.display().to_string();
    let result = spec::load(spec_path);
    let mut json_doc = None;
    match format {
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
            json_doc = Some(doc);
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
    (
        if result.is_ok() {
            exit::OK
        } else {
            exit::FAILED
        },
        json_doc,
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
