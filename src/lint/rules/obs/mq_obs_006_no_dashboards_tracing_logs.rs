//! A production site declares no dashboards, tracing or central log shipping.
//!
//! What it does: in a production spec, reports which of
//! `monitoring.dashboards` (Grafana), `monitoring.tracing` (an
//! OpenTelemetry endpoint) and `monitoring.logs` (a syslog receiver) are missing.
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
//!       logs: "syslog://syslog-receiver.example:514"
//!
//! It also says, in every environment, where a declared destination gets
//! nothing:
//! - `monitoring.tracing` is declared, but no engine mqttforge targets
//!   exports traces: EMQX 5.8 open source has no OpenTelemetry (an EMQX
//!   Enterprise feature from 5.8 on), Mosquitto and rumqttd have no tracing.
//!   Only clients and applications that trace themselves reach the collector.
//! - `monitoring.logs` names a backend mqttforge renders no shipper for (an
//!   unknown scheme), or one whose shipper nothing checks: `loki://` and
//!   `lokis://` get a Grafana Alloy configuration (logs/config.alloy) that
//!   no test runs Alloy on, as no Debian package has Alloy. `syslog://`,
//!   `syslog+tcp://` and `syslog+udp://` get an rsyslog configuration
//!   (logs/rsyslog.conf), checked by `rsyslogd -N1`, and nothing is said.
//!
//! Example:
//!     engine: mosquitto
//!     monitoring:
//!       tracing: "http://otel-collector.example:4317"
//!       logs: "loki://loki.example:3100"
//!
//! Use instead:
//!     monitoring:
//!       logs: "syslog://syslog-receiver.example:514"
//!     # and trace in the clients and applications
//!
//! Lint only: hand-written broker configs do not say where dashboards,
//! traces and logs live. Missing declarations are reported on production
//! sites only.
//!
//! Severity: info.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, LINT_ONLY};
use crate::render::targets::observability::{
    log_backend, why_no_traces, ALLOY_CHECK, ALLOY_UNCHECKED, UNKNOWN_BACKEND,
};

pub const RULE: Rule = Rule {
    id: "MQ-OBS-006",
    name: "no_dashboards_tracing_logs",
    severity: Severity::Info,
    scope: LINT_ONLY,
    source: include_str!("mq_obs_006_no_dashboards_tracing_logs.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    unserved(facts, out);
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
        "say where they live: `dashboards: grafana`, `tracing: \"http://otel-collector:4317\"`, `logs: \"syslog://logs:514\"`",
    ));
}

fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Declared destinations nothing sends to: traces (no engine exports them)
/// and logs whose backend gets no rendered shipper.
fn unserved(facts: &Facts, out: &mut Vec<Finding>) {
    let m = &facts.monitoring;
    if let (Some((url, span)), Some(engine)) = (&m.tracing_url, facts.engine) {
        out.push(Finding::new(
            span,
            format!(
                "`{url}` gets no traces from the brokers: {}",
                why_no_traces(engine)
            ),
            "trace in the clients and applications, which send to the collector themselves (an MQTT 5 `traceparent` user property passes through the broker unchanged)",
        ));
    }
    if let Some((url, span)) = &m.logs_url {
        match log_backend(url).and_then(|b| b.shipper()) {
            // rsyslog: rendered and checked by rsyslogd -N1.
            Some(shipper) if shipper.checked => {}
            Some(shipper) => out.push(Finding::new(
                span,
                format!(
                    "`{url}` gets the brokers' logs through {} ({}), unchecked: {ALLOY_UNCHECKED}",
                    shipper.file, shipper.name
                ),
                ALLOY_CHECK,
            )),
            _ => out.push(Finding::new(
                span,
                format!("nothing ships the brokers' logs to `{url}`: {UNKNOWN_BACKEND}"),
                "declare a syslog receiver (`logs: \"syslog://RECEIVER:514\"`) or Loki (`logs: \"loki://LOKI:3100\"`): mqttforge renders the configuration that ships to it",
            )),
        }
    }
}
