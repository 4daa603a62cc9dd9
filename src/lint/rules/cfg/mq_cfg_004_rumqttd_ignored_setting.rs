//! The bundled broker (rumqttd) is given a setting it silently ignores or a value it cannot hold.
//!
//! What it does: checks a rumqttd.toml against rumqttd 0.20's configuration
//! structs: keys they do not have (rumqttd ignores them without a word, e.g.
//! `max_client_id_len`, `throttle_delay_ms`, `max_inflight_size`, `[router]
//! id`), a `connection_timeout_ms` over 65535 (a u16), a `listen` that is not
//! a literal `ip:port`, values of the wrong type, missing required keys,
//! `[router] max_connections = 0` (the router refuses every client), and a
//! deprecated `[prometheus] port` that makes rumqttd ignore `listen`. In a
//! spec it also checks the device certificates' Organization
//! (`pki.device_org`): rumqttd turns it into a tenant id and drops every
//! client whose Organization is not alphanumeric (`acme-labs` is refused,
//! `acmelabs` is fine).
//!
//! Why it matters: rumqttd's config structs do not deny unknown fields, so
//! a setting that is believed to limit clients does nothing; a value its
//! types cannot hold stops the broker from loading its config; and a
//! tenant Organization with a `-` or a space lets the TLS handshake succeed
//! and then closes every device's connection before its CONNACK.
//!
//! Example:
//!     [v4.1.connections]
//!     connection_timeout_ms = 100000
//!     max_client_id_len = 256
//!
//! Use instead:
//!     [v4.1.connections]
//!     connection_timeout_ms = 60000
//!     max_payload_size = 20480
//!     max_inflight_count = 100
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-CFG-004",
    name: "rumqttd_ignored_setting",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_cfg_004_rumqttd_ignored_setting.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for p in &facts.rumqttd {
        let mut f = Finding::new(&p.span, p.problem.clone(), p.help.clone());
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
