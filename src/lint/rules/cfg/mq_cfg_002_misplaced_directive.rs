//! A Mosquitto option is placed where it does not do what it says.
//!
//! What it does: flags, in mosquitto.conf,
//! - a listener option (`certfile`, `require_certificate`, `max_connections`,
//!   `mount_point`, ...) written before the first `listener` line of a file
//!   that declares listeners: Mosquitto applies it to its default listener,
//!   which most such options make it open on port 1883 on all interfaces;
//! - `per_listener_settings true` after a security option (`allow_anonymous`,
//!   `password_file`, `acl_file`, ...), and a `plugin_opt_*`/`auth_opt_*`
//!   option before any plugin: Mosquitto refuses to start on both;
//! - a `persistence_location` without a trailing slash (info): Mosquitto
//!   before 2.0.3 concatenated it with the file name, so
//!   `/var/lib/mosquitto` wrote `/var/lib/mosquittomosquitto.db`.
//!
//! Applies to audited configs only: the configs mqttforge generates place
//! every option under its listener.
//!
//! Why it matters: options are positional in mosquitto.conf; a TLS option
//! above the `listener` it was meant for leaves that listener without it and
//! opens a second, unintended listener.
//!
//! Example:
//!     certfile /etc/mosquitto/certs/server.pem
//!     keyfile /etc/mosquitto/certs/server.key
//!     listener 8883
//!
//! Use instead:
//!     listener 8883
//!     certfile /etc/mosquitto/certs/server.pem
//!     keyfile /etc/mosquitto/certs/server.key
//!
//! Severity: error for misplaced options; info for `persistence_location`.

use crate::diag::Severity;
use crate::facts::{DirectiveFact, Facts};
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-CFG-002",
    name: "misplaced_directive",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_cfg_002_misplaced_directive.rs"),
    check,
};

/// The first `listener` line after `d` in the same file.
fn next_listener<'a>(facts: &'a Facts, d: &DirectiveFact) -> Option<&'a DirectiveFact> {
    facts.directives.iter().find(|o| {
        o.format == "mosquitto"
            && o.name == "listener"
            && o.span.file.name == d.span.file.name
            && o.span.line > d.span.line
    })
}

/// The span of the value on the directive's line.
fn value_span(d: &DirectiveFact) -> crate::source::Span {
    crate::lint::rules::tls::narrow(
        &crate::source::Span {
            end_line: d.span.line,
            end_col: usize::MAX,
            ..d.span.clone()
        },
        &d.value,
    )
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for d in facts.directives.iter().filter(|d| d.format == "mosquitto") {
        if d.misplaced {
            let f = if d.name == "per_listener_settings" {
                Finding::new(
                    &d.span,
                    "`per_listener_settings` comes after security options: Mosquitto refuses to start (\"per_listener_settings must be set before any other security settings\")",
                    "move `per_listener_settings` above every `allow_anonymous`, `password_file`, `acl_file`, `plugin` and `psk_file` line (the top of the file)",
                )
            } else if d.name.starts_with("plugin_opt_") || d.name.starts_with("auth_opt_") {
                Finding::new(
                    &d.span,
                    format!("`{}` comes before any plugin: Mosquitto refuses to start (\"An auth_opt_ option exists in the config file without an auth_plugin\")", d.name),
                    "move the option below the `plugin` line it configures",
                )
            } else {
                let mut f = Finding::new(
                    &d.span,
                    format!("`{}` is a listener option written before the first `listener` line: Mosquitto applies it to its default listener (port 1883, all interfaces), not to the listener below", d.name),
                    "move it below the `listener` line it belongs to; each listener takes the options written between its `listener` line and the next",
                );
                if let Some(l) = next_listener(facts, d) {
                    f = f.with_related(&l.span, "the listener it was probably meant for");
                }
                f
            };
            out.push(f);
        }
        if d.name == "persistence_location" && !d.value.is_empty() && !d.value.ends_with('/') {
            out.push(
                Finding::new(
                    &value_span(d),
                    format!("`persistence_location {}` has no trailing slash: Mosquitto before 2.0.3 appends the file name directly (`{}mosquitto.db`)", d.value, d.value),
                    format!("write `persistence_location {}/`, which every Mosquitto version reads as the directory", d.value),
                )
                .with_severity(Severity::Info),
            );
        }
    }
}
