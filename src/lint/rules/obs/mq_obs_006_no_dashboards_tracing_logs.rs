//! A production site declares no dashboards, tracing or central log shipping.
//!
//! What it does: in a production spec, reports which of
//! `monitoring.dashboards` (Grafana), `monitoring.tracing` (an
//! OpenTelemetry endpoint) and `monitoring.logs` (Loki, ELK) are missing.
//!
//! Why it matters: alerts say that something is wrong; dashboards, traces
//! around connect and message handling, and the brokers' logs in one place
//! say what and where. Without them an incident starts with ssh to each
//! node and ends when the logs have rotated away.
//!
//! Example:
//!     environment: production
//!     monitoring: { prometheus: { scrape_interval: 15s } }
//!
//! Use instead:
//!     monitoring:
//!       prometheus: { scrape_interval: 15s }
//!       dashboards: grafana
//!       tracing: "http://otel-collector.example:4317"
//!       logs: "loki://loki.example:3100"
//!
//! Lint only: hand-written broker configs do not say where dashboards,
//! traces and logs live. Only production sites are checked.
//!
//! Severity: info.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, LINT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-OBS-006",
    name: "no_dashboards_tracing_logs",
    severity: Severity::Info,
    scope: LINT_ONLY,
    source: include_str!("mq_obs_006_no_dashboards_tracing_logs.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.production() {
        return;
    }
    let m = &facts.monitoring;
    let missing: Vec<&str> = [
        (m.dashboards, "dashboards (`monitoring.dashboards`)"),
        (m.tracing, "distributed tracing (`monitoring.tracing`)"),
        (m.logs, "central logs (`monitoring.logs`)"),
    ]
    .iter()
    .filter(|(present, _)| !present)
    .map(|(_, what)| *what)
    .collect();
    if missing.is_empty() {
        return;
    }
    let Some(span) = m.span.as_ref().or(facts.obs.rule_files.first()) else {
        return;
    };
    out.push(Finding::new(
        span,
        format!("this production site declares no {}", join(&missing)),
        "say where they live: `dashboards: grafana`, `tracing: \"http://otel-collector:4317\"`, `logs: \"loki://loki:3100\"`",
    ));
}

fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
