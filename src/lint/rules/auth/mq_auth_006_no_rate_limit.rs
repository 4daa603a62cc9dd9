//! A production listener accepts connections at any rate.
//!
//! What it does: in production, flags listeners reachable beyond loopback
//! that nothing rate-limits. In a spec: no `limits.connect_rate` is declared
//! (HAProxy enforces it as `rate-limit sessions`) and no load balancer
//! rate-limits in front; EMQX sites pass, as their listeners always get a
//! `max_conn_rate` (derived from capacity when none is declared). In an
//! audit: no connection-rate limit in front of the listener (HAProxy
//! `rate-limit sessions`) and no `max_connections` bound on it (Mosquitto has
//! no connection-rate option of its own).
//!
//! Why it matters: a reconnect storm (a fleet rebooting after a power cut,
//! a network flap) or a connection flood exhausts file descriptors, TLS
//! handshake CPU and memory; without a limit one misbehaving client set
//! takes the broker down for everyone (anti-DDoS item of the production
//! checklist).
//!
//! Example:
//!     environment: production
//!     limits: { max_inflight: 32 }
//!
//! Use instead:
//!     environment: production
//!     limits: { max_inflight: 32, connect_rate: 200/s, message_rate: 50/s }
//!
//! Severity: warning in production; not checked elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::rules::tls::{exposed, label};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-006",
    name: "no_rate_limit",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_auth_006_no_rate_limit.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.production() || facts.lb.as_ref().is_some_and(|lb| lb.rate_limited) {
        return;
    }
    for l in &facts.listeners {
        if !exposed(facts, l) || l.rate_limited {
            continue;
        }
        let (message, help) = match facts.origin {
            Origin::Spec => (
                format!("{} accepts new connections at any rate: the spec declares no `limits.connect_rate`", label(l)),
                "declare `limits.connect_rate` (new connections per second per node, e.g. `200/s`) and a `message_rate`; EMQX enforces them per listener, and a `load_balancer` enforces the connection rate in front of Mosquitto",
            ),
            Origin::File if l.max_connections.is_none() => (
                format!("{} has no connection limit and no connection-rate limit in front of it", label(l)),
                "bound it with `max_connections` and rate-limit new connections in front of it (HAProxy `rate-limit sessions`)",
            ),
            Origin::File => continue,
        };
        out.push(Finding::new(&l.span, message, help));
    }
}
