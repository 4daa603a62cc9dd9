//! Rules of the HA area, and what several of them share.

pub mod mq_ha_001_single_node;
pub mod mq_ha_002_health_check_not_mqtt;
pub mod mq_ha_003_malformed_check_connect;
pub mod mq_ha_004_check_cannot_pass;
pub mod mq_ha_005_tls_mode_contradiction;
pub mod mq_ha_006_lb_timeout_below_keepalive;
pub mod mq_ha_007_unclustered_nodes;
pub mod mq_ha_008_sessions_not_kept;

use crate::facts::{DirectiveFact, Facts};
use crate::lint::Rule;
use crate::source::Span;

pub const RULES: &[Rule] = &[
    mq_ha_001_single_node::RULE,
    mq_ha_002_health_check_not_mqtt::RULE,
    mq_ha_003_malformed_check_connect::RULE,
    mq_ha_004_check_cannot_pass::RULE,
    mq_ha_005_tls_mode_contradiction::RULE,
    mq_ha_006_lb_timeout_below_keepalive::RULE,
    mq_ha_007_unclustered_nodes::RULE,
    mq_ha_008_sessions_not_kept::RULE,
];

/// Two spans start at the same place of the same file.
pub(crate) fn same_place(a: &Span, b: &Span) -> bool {
    place(a) == place(b)
}

/// Where a span starts: file, line, column.
pub(crate) type Place<'a> = (&'a str, usize, usize);

/// Where a span starts, as a key: spans at the same place have the same key.
pub(crate) fn place(s: &Span) -> Place<'_> {
    (s.file.name.as_str(), s.line, s.col)
}

/// The audited mosquitto.conf files, each with its directives in order.
pub(crate) fn mosquitto_files(facts: &Facts) -> Vec<(String, Vec<&DirectiveFact>)> {
    let mut files: Vec<(String, Vec<&DirectiveFact>)> = Vec::new();
    for d in facts.directives.iter().filter(|d| d.format == "mosquitto") {
        match files.iter_mut().find(|(name, _)| *name == d.span.file.name) {
            Some((_, ds)) => ds.push(d),
            None => files.push((d.span.file.name.clone(), vec![d])),
        }
    }
    files
}

/// The last value a mosquitto.conf gives a directive (Mosquitto keeps the last).
pub(crate) fn last<'a>(directives: &[&'a DirectiveFact], name: &str) -> Option<&'a DirectiveFact> {
    directives.iter().rev().find(|d| d.name == name).copied()
}

/// Names in prose: `a`, `a` and `b`, `a`, `b` and `c`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
