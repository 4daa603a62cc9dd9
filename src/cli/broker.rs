//! `mqttforge broker SPEC`: run the site on the bundled broker, in the
//! foreground, until Ctrl-C.

use std::path::PathBuf;

/// Run the bundled broker (rumqttd) for the site, for development and edge use.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Renders rumqttd.toml for the site and its PKI (CA, server and device certificates,\n\
kept across runs) under --dir, starts rumqttd on the spec's ports and waits for Ctrl-C.\n\
Devices connect with the certificates in DIR/pki/devices/.\n\n\
Examples:\n  mqttforge broker site-examples/dev-rumqttd.yaml\n  mqttforge broker site.yaml --dir /var/lib/mqttforge-broker"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Working directory for the rendered config and the PKI.
    #[arg(long, default_value = ".mqttforge-broker")]
    pub dir: PathBuf,
}

#[cfg(not(feature = "broker"))]
pub fn run(_args: Args) -> u8 {
    super::feature_missing("broker", "`mqttforge broker` (the bundled broker)")
}

#[cfg(feature = "broker")]
pub fn run(args: Args) -> u8 {
    use crate::diag::Code;
    use std::time::Duration;

    use super::{exit, stdout_style};
    use crate::diag;
    use crate::spec;

    let site = match spec::load(&args.spec) {
        Ok(s) => s,
        Err(d) => {
            print!("{}", diag::render_text(&d, stdout_style()));
            return exit::FAILED;
        }
    };
    let prepared = match crate::verify::prepare(
        &site,
        &args.spec.display().to_string(),
        &args.dir,
        false,
        false,
    ) {
        Ok(p) => p,
        Err(d) => {
            print!("{}", diag::render_text(&d, stdout_style()));
            return exit::FAILED;
        }
    };
    let text = match std::fs::read_to_string(&prepared.toml_path) {
        Ok(t) => t,
        Err(e) => {
            super::report(
                Code::Io,
                format!("cannot read {}: {e}", prepared.toml_path.display()),
                "the broker's config was rendered there a moment ago: check the directory is still writable and not cleaned underneath",
            );
            return exit::FAILED;
        }
    };
    let config = match mqttforge_broker::parse_config(&text) {
        Ok(p) => p.config,
        Err(e) => {
            super::report(
                Code::Render,
                format!("rumqttd rejects {}: {e}", prepared.toml_path.display()),
                "`mqttforge lint SPEC` names the setting (MQ-CFG-004); this is a bug in mqttforge if lint is clean",
            );
            return exit::FAILED;
        }
    };
    match mqttforge_broker::start(config, Duration::from_secs(10)) {
        Ok(running) => {
            for (name, addr) in &running.listeners {
                println!("mqttforge broker: listener `{name}` ready on {addr}");
            }
            println!(
                "mqttforge broker: PKI in {} (Ctrl-C stops)",
                prepared.pki.display()
            );
            mqttforge_broker::wait_for_interrupt();
            println!("mqttforge broker: stopped");
            exit::OK
        }
        Err(e) => {
            super::report(
                Code::Verify,
                format!("the bundled broker did not start: {e}"),
                "another process may hold a listener's port (`ss -ltnp`); stop it or change the port in the spec",
            );
            exit::FAILED
        }
    }
}
