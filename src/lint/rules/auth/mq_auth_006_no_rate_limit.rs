//! A production listener accepts connections at any rate.
//!
//! What it does: in production, flags listeners reachable beyond loopback
//! that nothing rate-limits. In a spec: no `limits.connect_rate` is declared
//! (HAProxy enforces it as `rate-limit sessions`) and no load balancer
//! rate-limits in front; EMQX sites pass, as their listeners always get a
//! `max_conn_rate` (derived from capacity when none is declared). In an
//! audit: an EMQX listener without `max_conn_rate` (EMQX's default is no
//! limit); a Mosquitto listener (it has no connection-rate option of its
//! own) only when the load balancer in front of it is among the audited
//! files and does not rate-limit (HAProxy `rate-limit sessions`). A missing
//! `max_connections` alone is MQ-PERF-004, not this rule.
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
use crate::spec::model::Engine;

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
            Origin::File if l.engine == Some(Engine::Emqx) => (
                format!("{} has no `max_conn_rate`: EMQX accepts new connections on it at any rate", label(l)),
                "set `max_conn_rate` on the listener (new connections per second, e.g. `max_conn_rate = \"500/s\"`), or rate-limit in front of it (HAProxy `rate-limit sessions`)",
            ),
            // Mosquitto cannot rate-limit connections itself: only a load
            // balancer among the audited files tells what is in front.
            Origin::File if facts.lb.is_some() => (
                format!("{} has no connection-rate limit in the load balancer in front of it", label(l)),
                "rate-limit new connections in the load balancer (HAProxy `rate-limit sessions N` in the frontend)",
            ),
            Origin::File => continue,
        };
        out.push(Finding::new(&l.span, message, help));
    }
}
