//! Rules of the PERF area, and what they share: the connections one broker
//! process accepts.

pub mod mq_perf_001_nofile_below_connections;
pub mod mq_perf_002_listen_backlog_too_small;
pub mod mq_perf_003_bbr_without_module;
pub mod mq_perf_004_no_connection_limit;
pub mod mq_perf_005_device_buffer_too_small;
pub mod mq_perf_006_no_load_test;

use crate::facts::Facts;
use crate::lint::Rule;
use crate::source::Span;

pub const RULES: &[Rule] = &[
    mq_perf_001_nofile_below_connections::RULE,
    mq_perf_002_listen_backlog_too_small::RULE,
    mq_perf_003_bbr_without_module::RULE,
    mq_perf_004_no_connection_limit::RULE,
    mq_perf_005_device_buffer_too_small::RULE,
    mq_perf_006_no_load_test::RULE,
];

/// The most connections one broker process accepts across its listeners,
/// and where they are set: derived in a spec; in audited files, the sum of
/// `max_connections` over the listeners of each broker config file (the
/// largest file wins). None when a listener has no limit (MQ-PERF-004) or
/// no listener is known.
pub fn connections_per_process(facts: &Facts) -> Option<(u64, Span)> {
    if let Some(c) = &facts.obs.connections_per_node {
        return Some(c.clone());
    }
    let mut files: Vec<(&str, u64, Span)> = Vec::new();
    let mut unlimited: Vec<&str> = Vec::new();
    for l in &facts.listeners {
        let name = l.span.file.name.as_str();
        match l.max_connections {
            None => unlimited.push(name),
            Some(n) => match files.iter_mut().find(|(f, _, _)| *f == name) {
                Some(entry) => entry.1 += n,
                None => files.push((name, n, l.span.clone())),
            },
        }
    }
    files
        .into_iter()
        .filter(|(f, _, _)| !unlimited.contains(f))
        .max_by_key(|(_, n, _)| *n)
        .map(|(_, n, s)| (n, s))
}
