//! A listener reachable beyond loopback accepts anonymous clients.
//!
//! What it does: flags listeners that let clients connect without
//! credentials (spec `anonymous: true`, Mosquitto `allow_anonymous true`,
//! which applies to every listener when `per_listener_settings` is false)
//! and that bind a non-loopback address. Exempt: listeners that require a
//! client certificate (the TLS handshake authenticates the client), and the
//! listener that only serves the load balancer's MQTT health check, which
//! must connect without credentials (spec:
//! `load_balancer.health_check.listener`; audit: the port an HAProxy
//! `check port` targets, next to the listener clients use).
//!
//! Why it matters: anonymous clients are only limited by the ACL's default
//! rules; on a network listener anyone who can reach the port can publish
//! commands or read telemetry, and exhaust connection slots.
//!
//! Example:
//!     listener 1883
//!     allow_anonymous true
//!
//! Use instead:
//!     listener 1883 127.0.0.1
//!     allow_anonymous true
//!
//!     listener 8883
//!     allow_anonymous false
//!     password_file /etc/mosquitto/passwd
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::lint::facts::{Facts, Origin};
use crate::lint::rules::tls::{exposed, label, setting_span};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-003",
    name: "anonymous_listener",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_auth_003_anonymous_listener.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    // One finding per place that turns anonymous access on (a global
    // `allow_anonymous true` covers several listeners).
    let mut groups: Vec<(Span, Vec<String>)> = Vec::new();
    let mut group_at: std::collections::HashMap<(String, usize, usize), usize> =
        std::collections::HashMap::new();
    for (i, l) in facts.listeners.iter().enumerate() {
        let cert_required = l.tls.as_ref().is_some_and(|t| t.require_client_cert);
        if !l.anonymous || cert_required || !exposed(facts, l) {
            continue;
        }
        let span = setting_span(facts, i, "anonymous")
            .unwrap_or(&l.span)
            .clone();
        let key = (span.file.name.clone(), span.line, span.col);
        match group_at.get(&key) {
            Some(&g) => groups[g].1.push(label(l)),
            None => {
                group_at.insert(key, groups.len());
                groups.push((span, vec![label(l)]));
            }
        }
    }
    let help = match facts.origin {
        Origin::Spec => "drop `anonymous: true`, or bind the listener to 127.0.0.1; a listener only the load balancer's health check uses is named by `load_balancer.health_check.listener`",
        Origin::File => "set `allow_anonymous false` and authenticate clients (`password_file`, client certificates), or bind the listener to 127.0.0.1",
    };
    for (span, labels) in groups {
        let mut f = Finding::new(
            &span,
            format!(
                "{} accept{} anonymous clients from beyond loopback",
                labels.join(" and "),
                if labels.len() == 1 { "s" } else { "" }
            ),
            help,
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}
