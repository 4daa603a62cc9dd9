//! `mqttforge render SPEC --out DIR`: write every file of the site into a new
//! (or empty) directory.

use std::path::PathBuf;

use super::{exit, stdout_style};
use crate::diag;
use crate::diag::Code;
use crate::render::{self, RenderOptions, SecretMode, Sensitivity};
use crate::spec;

/// Render every file of the site into a new or empty directory.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 written, 1 invalid spec or render error, 2 usage error.\n\n\
Secrets referenced by the spec (`password: { env: NAME }`) are read from the environment\n\
or the named file and land only as hashes; --no-secrets leaves those files out.\n\n\
Examples:\n  mqttforge render site-examples/edge-mosquitto.yaml --out rendered/ --no-secrets\n  MQTT_ADMIN_PASSWORD=... mqttforge render site.yaml --out /tmp/site"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Directory to write into; it must not exist or be empty.
    #[arg(long)]
    pub out: PathBuf,
    /// Leave out files that need secrets (the password file).
    #[arg(long)]
    pub no_secrets: bool,
}

pub fn run(args: Args) -> u8 {
    let style = stdout_style();
    let site = match spec::load(&args.spec) {
        Ok(site) => site,
        Err(diags) => {
            print!("{}", diag::render_text(&diags, style));
            return exit::FAILED;
        }
    };
    let mode = if args.no_secrets {
        SecretMode::Skip
    } else {
        SecretMode::Resolve
    };
    let opts = RenderOptions::production(args.spec.display().to_string(), mode);
    let tree = match render::render(&site, &opts) {
        Ok(t) => t,
        Err(diags) => {
            print!("{}", diag::render_text(&diags, style));
            return exit::FAILED;
        }
    };
    if let Err(e) = crate::plan::write_new_tree(&tree, &args.out) {
        super::report(
            Code::Plan,
            e,
            "render writes a new tree only; to update an existing one use `mqttforge plan` and `mqttforge apply`",
        );
        return exit::FAILED;
    }
    let secret = tree
        .files
        .values()
        .filter(|f| f.sensitivity == Sensitivity::Secret)
        .count();
    println!(
        "wrote {} files to {}{}",
        tree.files.len(),
        args.out.display(),
        if secret > 0 {
            format!(" ({secret} holding hashed secrets)")
        } else {
            String::new()
        }
    );
    exit::OK
}
