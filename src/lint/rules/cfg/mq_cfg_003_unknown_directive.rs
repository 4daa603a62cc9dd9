//! A config file holds a directive its software does not know.
//!
//! What it does: flags directives that are not in the keyword set mqttforge
//! knows for the file's format: the Mosquitto 2.0 directives (with the
//! `plugin_opt_*`/`auth_opt_*` families) for mosquitto.conf, and the keyword
//! sets of other audited formats. It suggests the directive that was
//! probably meant, names directives Mosquitto 2.0 removed, and points out
//! names that are not what they seem: a tab between name and value (Mosquitto
//! only splits on spaces), a comment indented with spaces, a different case.
//! A directive Mosquitto 2.1 added (`enable_control_api`, `plugin_load`, ...)
//! is named as such, as a warning, when the files are judged as 2.0
//! (`audit --mosquitto-version 2.0`, or a `mosquitto-2.0.x/` directory):
//! valid on 2.1, refused by 2.0. Otherwise a file using one is judged as
//! 2.1 (2.0 would not start on it), where it is a directive like any other.
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
use crate::facts::files::mosquitto_conf::SINCE_2_1;
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
        if d.format == "mosquitto" && SINCE_2_1.contains(&d.name.as_str()) {
            if facts.releases.mosquitto >= Some((2, 1)) {
                continue;
            }
            out.push(
                Finding::new(
                    &d.span,
                    format!("`{shown}` is a Mosquitto 2.1 directive: Mosquitto 2.0 (the release audited) refuses to start on it (\"Unknown configuration variable\", exit 3)"),
                    "keep it only where the broker runs Mosquitto 2.1 or later; on 2.0 remove it",
                )
                .with_severity(Severity::Warning),
            );
            continue;
        }
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
