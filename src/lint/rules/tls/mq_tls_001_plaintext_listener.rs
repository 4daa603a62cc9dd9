//! A plaintext MQTT listener is reachable beyond loopback in production.
//!
//! What it does: flags listeners without TLS that bind to a non-loopback
//! address (or to all interfaces), except a listener that only serves the
//! load balancer's health check. In a spec: a listener without `tls:` and
//! without a loopback `bind:`; in a mosquitto.conf: a `listener` without
//! `certfile`/`keyfile` (or `psk_hint`), including the default listener
//! Mosquitto opens on port 1883 when listener options precede any
//! `listener` line.
//!
//! Why it matters: usernames, passwords and every payload cross the network
//! in clear text; anyone on the path can read them, or inject commands to
//! devices.
//!
//! Example:
//!     listener 1883
//!     allow_anonymous false
//!
//! Use instead:
//!     listener 1883 127.0.0.1        (local tools only)
//!     listener 8883                  (devices, with TLS)
//!     certfile /etc/mosquitto/certs/server.pem
//!     keyfile /etc/mosquitto/certs/server.key
//!
//! Severity: error in production; warning elsewhere.

use super::{exposed, label};
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-001",
    name: "plaintext_listener",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_001_plaintext_listener.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        if l.tls.is_some() || !exposed(facts, l) {
            continue;
        }
        let bind = match l.bind.as_deref() {
            None | Some("") | Some("0.0.0.0") | Some("::") => "all interfaces".to_string(),
            Some(b) => format!("`{b}`"),
        };
        let mut f = Finding::new(
            &l.span,
            format!("{} accepts plaintext MQTT on {bind}", label(l)),
            "bind it to 127.0.0.1 if only local tools use it; otherwise give it TLS (a certificate and key, port 8883)",
        );
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
