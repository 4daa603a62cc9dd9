//! A listener accepts unlimited connections.
//!
//! What it does: flags listeners without a connection limit: Mosquitto's
//! `max_connections` absent or `-1` (per listener), EMQX's
//! `max_connections = infinity` (the default). Loopback-only listeners are
//! reported as info.
//!
//! Why it matters: without a limit, a reconnect storm, a fleet grown past
//! its plan or a client stuck in a connect loop takes the broker to its
//! file-descriptor and memory limits, where it fails for every client
//! instead of refusing the excess ones. A limit per listener keeps the
//! node inside the capacity it was sized and tested for.
//!
//! Example:
//!     listener 8883
//!     max_connections -1
//!
//! Use instead:
//!     listener 8883
//!     max_connections 44000
//!
//! Audit only: the generated configs always set a limit (the listener's
//! `max_connections`, or the capacity's share of a node).
//!
//! Severity: warning in production; info elsewhere and on loopback listeners.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-PERF-004",
    name: "no_connection_limit",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_perf_004_no_connection_limit.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        if l.max_connections.is_some() {
            continue;
        }
        let mut f = Finding::new(
            &l.span,
            if l.name == l.port.to_string() {
                format!("the listener on port {} accepts unlimited connections", l.port)
            } else {
                format!("listener `{}` on port {} accepts unlimited connections", l.name, l.port)
            },
            "set a connection limit for it: Mosquitto `max_connections N` under the listener line, EMQX `max_connections = N` in the listener (N: the node's share of the capacity plus margin)",
        );
        let lowered = if l.loopback() {
            Some(Severity::Info)
        } else {
            relaxed(facts, Severity::Info)
        };
        if let Some(s) = lowered {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
