//! The broker's open-file limit (LimitNOFILE) is below its connection limit plus margin.
//!
//! What it does: compares the broker's `LimitNOFILE` (a systemd unit or
//! drop-in; a unit without one keeps systemd's default soft limit of 1024)
//! with the connections its listeners accept (the sum of their
//! `max_connections`) plus 10% and 1024 files for logs, persistence,
//! certificates and listening sockets.
//!
//! Why it matters: every MQTT connection is a file descriptor. Once the
//! process runs out, `accept()` fails with EMFILE: new clients are refused
//! (and Mosquitto also fails to open its persistence file) long before the
//! configured connection limit, and `fs.file-max` does not help — it is a
//! system-wide ceiling, not the process's own limit.
//!
//! Example:
//!     # mosquitto.conf: listener 8883 / max_connections 40000
//!     # mosquitto.service.d/limits.conf
//!     [Service]
//!     LimitNOFILE=4096
//!
//! Use instead:
//!     [Service]
//!     LimitNOFILE=49152
//!
//! In a spec the drop-in derives from the connections; the rule fires when
//! no drop-in is rendered (no `os` section) and the engine's packaged unit
//! keeps a limit below them (Mosquitto's Debian unit sets none).
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PERF-001",
    name: "nofile_below_connections",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_perf_001_nofile_below_connections.rs"),
    check,
};

/// Files a broker needs besides its connections.
const SPARE_FILES: u64 = 1024;

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some((nofile, span)) = &facts.nofile else {
        return;
    };
    let Some((conns, conn_span)) = super::connections_per_process(facts) else {
        return;
    };
    let required = conns + conns / 10 + SPARE_FILES;
    if *nofile >= required {
        return;
    }
    let suggested = required.div_ceil(1024) * 1024;
    let message = match &facts.obs.nofile_default {
        Some(why) => format!("the broker may open only {nofile} files, fewer than the {conns} connections its listeners accept plus margin ({required}): {why}"),
        None => format!("LimitNOFILE={nofile} is fewer open files than the {conns} connections the broker's listeners accept plus margin ({required}: 10% and {SPARE_FILES} for logs, persistence and certificates)"),
    };
    let help = if facts.origin == Origin::Spec {
        format!("add an `os:` section (e.g. `os: {{ sysctl: true }}`): the site then renders a systemd drop-in with LimitNOFILE={suggested}")
    } else {
        format!("set LimitNOFILE={suggested} in the broker's drop-in (/etc/systemd/system/<service>.service.d/limits.conf), then `systemctl daemon-reload` and restart")
    };
    let mut f =
        Finding::new(span, message, help).with_related(&conn_span, "connections counted from here");
    if let Some(s) = relaxed(facts, Severity::Warning) {
        f = f.with_severity(s);
    }
    out.push(f);
}
