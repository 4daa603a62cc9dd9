//! The site declares a capacity but no load test profile.
//!
//! What it does: in a production spec, reports a `capacity` without a
//! `load_test` (publishers, subscribers, rate, payload, QoS, duration).
//!
//! Why it matters: every limit, sysctl, alert threshold and LimitNOFILE
//! the site renders derives from the declared capacity. Until a load test
//! at that scale has run (throughput and latency percentiles measured),
//! the capacity is a hope, and the first real peak is the test.
//!
//! Example:
//!     capacity: { clients: 40000, msg_per_s: 8000, max_payload: 16KiB }
//!
//! Use instead:
//!     capacity: { clients: 40000, msg_per_s: 8000, max_payload: 16KiB }
//!     load_test: { publishers: 1260, subscribers: 4, rate: 5/s, payload: 1KiB, qos: 1, duration: 15m }
//!     (then `mqttforge bench` with it before go-live)
//!
//! Lint only: hand-written configs do not declare a capacity to validate.
//! Only production sites are checked.
//!
//! Severity: info.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, LINT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-PERF-006",
    name: "no_load_test",
    severity: Severity::Info,
    scope: LINT_ONLY,
    source: include_str!("mq_perf_006_no_load_test.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.production() || facts.load_test.is_some() {
        return;
    }
    let Some(cap) = &facts.capacity else { return };
    out.push(Finding::new(
        &cap.span,
        format!("the capacity of {} clients is declared but never validated: the site has no `load_test` profile", cap.clients),
        "add `load_test: { publishers, subscribers, rate, payload, qos, duration }` at the declared scale and run `mqttforge bench` with it before go-live",
    ));
}
