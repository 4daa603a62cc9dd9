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
    merge_included(files)
}

/// A file read through another's `include_dir` is part of that broker, not
/// a broker of its own: its directives join the including file's (after
/// them, as Mosquitto reads the directory where `include_dir` stands, and
/// usually last). The included directory is matched by its name
/// (`include_dir /etc/mosquitto/conf.d` takes the audited `…/conf.d/*.conf`),
/// as the audited copy rarely sits at the path the broker reads.
fn merge_included(
    mut files: Vec<(String, Vec<&DirectiveFact>)>,
) -> Vec<(String, Vec<&DirectiveFact>)> {
    let parent_name = |f: &str| {
        std::path::Path::new(f)
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    };
    let includes: Vec<(String, String)> = files
        .iter()
        .flat_map(|(f, ds)| {
            ds.iter()
                .filter(|d| d.name == "include_dir")
                .filter_map(|d| {
                    let dir = d.value.trim().trim_end_matches('/');
                    let name = dir.rsplit('/').next().filter(|n| !n.is_empty())?;
                    Some((f.clone(), name.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (including, dir) in includes {
        let (fragments, rest): (Vec<_>, Vec<_>) = files
            .into_iter()
            .partition(|(f, _)| *f != including && parent_name(f).as_deref() == Some(dir.as_str()));
        files = rest;
        if let Some((_, ds)) = files.iter_mut().find(|(f, _)| *f == including) {
            for (_, fragment) in fragments {
                ds.extend(fragment);
            }
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
