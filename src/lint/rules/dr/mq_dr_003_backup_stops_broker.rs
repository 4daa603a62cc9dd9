//! The backup stops the only running broker.
//!
//! What it does: flags a backup script that stops the broker (`systemctl
//! stop mosquitto`, `service mosquitto stop`, `emqx stop`, `docker stop`,
//! `pkill mosquitto`) when no other node serves its clients (a single broker,
//! no cluster, no standby or bridge among the audited files).
//!
//! Why it matters: every backup becomes an outage. All clients are
//! disconnected, reconnect at once when the broker is back, and messages
//! published meanwhile are lost. Mosquitto writes its persistence database
//! on SIGUSR1 while it keeps serving; EMQX exports its data while it serves.
//!
//! Example:
//!     systemctl stop mosquitto
//!     cp /var/lib/mosquitto/mosquitto.db /backup/
//!     systemctl start mosquitto
//!
//! Use instead:
//!     kill -USR1 "$(cat /run/mosquitto/mosquitto.pid)"   # save now, keep serving
//!     cp /var/lib/mosquitto/mosquitto.db /backup/
//!
//! Scope: hand-written scripts. The scripts mqttforge generates never stop
//! the broker (SIGUSR1 for Mosquitto, `emqx ctl data export` for EMQX), so
//! no spec can ask for it.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-DR-003",
    name: "backup_stops_broker",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_dr_003_backup_stops_broker.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(b) = &facts.backup else { return };
    let other_nodes =
        facts.cluster.clustered || facts.cluster.standby_or_bridge || facts.nodes.len() > 1;
    if !b.declared || !b.stops_broker || other_nodes {
        return;
    }
    let mut f = Finding::new(
        b.stop_span.as_ref().unwrap_or(&b.span),
        "the backup stops the broker: every client is disconnected while files are copied, and no other node takes them over",
        "back up while the broker serves: Mosquitto saves its persistence file on `kill -USR1 \"$(cat /run/mosquitto/mosquitto.pid)\"` (copy it once its mtime changes); EMQX exports with `emqx ctl data export`",
    );
    if let Some(s) = relaxed(facts, Severity::Warning) {
        f = f.with_severity(s);
    }
    out.push(f);
}
