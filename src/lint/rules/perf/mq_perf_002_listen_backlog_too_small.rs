//! Listen backlog sysctls (somaxconn, tcp_max_syn_backlog) are too small for the connect rate.
//!
//! What it does: compares both backlogs with the new connections a broker
//! node must accept in one second (at most 65535): the declared connect
//! rate (`limits.connect_rate`, per node), or, when none is declared, every
//! connection the node accepts reconnecting within a minute after a
//! restart. Where no sysctl file applies, `somaxconn` is the kernel's
//! default of 4096 (Linux 5.4 and later). Audited files declare the rate in
//! a comment of the sysctl file (or a rule or systemd file):
//!     # mqttforge:capacity clients=40000 connect_rate=200/s
//! or it is derived from the audited broker config's `max_connections`.
//!
//! Why it matters: after a broker restart or a network blip, the whole
//! fleet reconnects at once. Connections beyond the backlog are dropped
//! (SYNs ignored or reset); devices retry with backoff, the storm lasts
//! minutes instead of seconds, and the load balancer may mark the broker
//! down meanwhile.
//!
//! Example:
//!     # mqttforge:capacity clients=40000 connect_rate=1000/s
//!     net.core.somaxconn = 128
//!
//! Use instead:
//!     net.core.somaxconn = 4096
//!     net.ipv4.tcp_max_syn_backlog = 4096
//!
//! Severity: warning in production; info elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-PERF-002",
    name: "listen_backlog_too_small",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_perf_002_listen_backlog_too_small.rs"),
    check,
};

/// Linux's default `net.core.somaxconn` since 5.4.
const KERNEL_SOMAXCONN: u64 = 4096;
/// The largest backlog worth asking for.
const MAX_BACKLOG: u64 = 65535;

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let (rate, why) = match facts.capacity.as_ref().and_then(|c| c.connect_rate_per_s.map(|r| (r, c.span.clone()))) {
        Some((r, span)) => {
            let (span, note) = facts.obs.connect_rate_source.clone().unwrap_or((span, "connect rate declared here".to_string()));
            (r.ceil() as u64, (span, note, format!("{} new connections per second", r.ceil() as u64)))
        }
        None => match super::connections_per_process(facts) {
            Some((n, span)) => (
                n.div_ceil(60),
                (span, "connection limit set here".to_string(), format!("{} new connections per second (all {n} connections of a node reconnecting within a minute)", n.div_ceil(60))),
            ),
            None => return,
        },
    };
    let required = rate.min(MAX_BACKLOG);
    let suggested = (rate * 2)
        .max(1)
        .next_power_of_two()
        .clamp(4096, MAX_BACKLOG);
    for key in ["net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"] {
        let (value, span, default): (u64, Span, bool) = match facts.sysctl(key) {
            Some(s) => match s
                .value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
            {
                Some(v) => (v, s.span.clone(), false),
                None => continue,
            },
            None => match (&facts.obs.kernel_defaults, key) {
                (Some(span), "net.core.somaxconn") => (KERNEL_SOMAXCONN, span.clone(), true),
                _ => continue,
            },
        };
        if value >= required {
            continue;
        }
        let (rel_span, rel_note, rate_text) = &why;
        let message = if default {
            format!("no sysctl file applies, so {key} is the kernel default {value}, fewer pending connections than the {rate_text} a node must accept: a reconnect storm overflows the listen queue")
        } else {
            format!("{key} = {value} holds fewer pending connections than the {rate_text} a node must accept: a reconnect storm overflows the listen queue")
        };
        let help = if facts.origin == Origin::Spec && default {
            format!("let the site render its sysctl file (`os: {{ sysctl: true }}`): it sets both backlogs to {suggested}")
        } else {
            format!("set net.core.somaxconn and net.ipv4.tcp_max_syn_backlog to {suggested} (twice the connect rate, at most {MAX_BACKLOG})")
        };
        let mut f = Finding::new(&span, message, help);
        if rel_span.file.name != span.file.name || rel_span.line != span.line {
            f = f.with_related(rel_span, rel_note.clone());
        }
        if let Some(s) = relaxed(facts, Severity::Info) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
