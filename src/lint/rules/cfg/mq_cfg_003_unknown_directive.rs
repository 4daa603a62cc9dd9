//! A config file holds a directive its software does not know.
//!
//! What it does: flags directives that are not in the keyword set mqttforge
//! knows for the file's format: the Mosquitto 2.0 directives (with the
//! `plugin_opt_*`/`auth_opt_*` families) for mosquitto.conf, and the keyword
//! sets of other audited formats. It suggests the directive that was
//! probably meant, names directives Mosquitto 2.0 removed, and points out
//! names that are not what they seem: a tab between name and value (Mosquitto
//! only splits on spaces), a comment indented with spaces, a different case.
//!
//! Applies to audited configs only: a spec is validated against its schema,
//! and the configs mqttforge generates use known directives only.
//!
//! Why it matters: Mosquitto treats an unknown directive as fatal ("Unknown
//! configuration variable", exit 3) and has no dry-run, so a typo is found
//! when the broker fails to restart, in production.
//!
//! Example:
//!     allow_anonymos false
//!
//! Use instead:
//!     allow_anonymous false
//!
//! Severity: error in every environment.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-CFG-003",
    name: "unknown_directive",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_cfg_003_unknown_directive.rs"),
    check,
};

fn software(format: &str) -> &str {
    match format {
        "mosquitto" => "Mosquitto",
        "haproxy" => "HAProxy",
        other => other,
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for d in facts.directives.iter().filter(|d| !d.known) {
        let shown = d.name.escape_debug().to_string();
        let message = match d.format {
            "mosquitto" => format!("`{shown}` is not a Mosquitto directive: Mosquitto refuses to start (\"Unknown configuration variable\", exit 3)"),
            f => format!("`{shown}` is not a {} keyword mqttforge knows", software(f)),
        };
        let help = facts
            .tls_auth
            .unknown_directive_help
            .iter()
            .find(|(f, _)| *f == d.format)
            .and_then(|(_, hint)| hint(&d.name))
            .unwrap_or_else(|| {
                format!(
                    "check the spelling against the {} documentation, or remove the line",
                    software(d.format)
                )
            });
        out.push(Finding::new(&d.span, message, help));
    }
}
