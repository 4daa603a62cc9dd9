//! Sessions are declared to survive reconnects, but the broker's configuration drops them.
//!
//! What it does: flags a site that declares persistent sessions while its
//! broker cannot keep them: in a spec, `persistence.session_expiry` with
//! `persistence.enabled: false` on Mosquitto (or any session persistence
//! on the bundled broker, rumqttd, which keeps nothing on disk); in a
//! mosquitto.conf, `persistent_client_expiration` (sessions are meant to
//! outlive disconnects) with `persistence false` or no `persistence` line
//! (Mosquitto's default is off).
//!
//! Why it matters: without persistence, sessions, their subscriptions and
//! queued QoS 1/2 messages live only in the broker's memory. A restart, an
//! upgrade or a failover to the standby loses them: devices that connect
//! with clean session off come back to no subscriptions and miss every
//! message sent while they were away. The production checklist asks for
//! session persistence tested on reconnect.
//!
//! Example:
//!     persistence false
//!     persistent_client_expiration 12h
//!
//! Use instead:
//!     persistence true
//!     persistence_location /var/lib/mosquitto/
//!     autosave_interval 30
//!     persistent_client_expiration 12h
//!
//! Severity: error in production; warning elsewhere.

use super::{last, mosquitto_files};
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-HA-008",
    name: "sessions_not_kept",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_ha_008_sessions_not_kept.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let mut found = Vec::new();
    if let Some(s) = facts.session.as_ref().filter(|s| s.declared && !s.kept) {
        let (message, help) = match (facts.origin, facts.engine) {
            (Origin::Spec, Some(Engine::Rumqttd)) => (
                "the site declares persistent sessions, but the bundled broker (rumqttd) keeps sessions only in memory: a restart loses them".to_string(),
                "remove `persistence` from a bundled-broker site, or choose `engine: mosquitto` or `emqx` where sessions must survive".to_string(),
            ),
            (Origin::Spec, Some(Engine::Emqx)) => (
                "persistence is enabled, but `persistence.session_expiry` is 0: EMQX drops a session as soon as its client disconnects".to_string(),
                "set `session_expiry` to how long a device may stay away, e.g. `2h`".to_string(),
            ),
            (Origin::Spec, _) => (
                "sessions are declared to outlive disconnects (`persistence.session_expiry`), but `persistence.enabled` is false: Mosquitto keeps them only in memory, so a restart or failover loses them".to_string(),
                "set `persistence: { enabled: true, ... }`, or drop `session_expiry` if sessions need not survive".to_string(),
            ),
            (Origin::File, _) => ("sessions are declared to survive reconnects, but the broker's configuration does not keep them".to_string(), "turn persistence on".to_string()),
        };
        found.push(Finding::new(&s.span, message, help));
    }
    if facts.origin == Origin::File {
        for (_, ds) in mosquitto_files(facts) {
            let Some(expiration) = last(&ds, "persistent_client_expiration") else {
                continue;
            };
            let persistence = last(&ds, "persistence");
            if persistence.is_some_and(|p| p.value.trim() == "true") {
                continue;
            }
            let (span, off) = match persistence {
                Some(p) => (
                    &p.span,
                    format!("`persistence {}` turns persistence off", p.value.trim()),
                ),
                None => (
                    &expiration.span,
                    "persistence is off (Mosquitto's default, no `persistence` line)".to_string(),
                ),
            };
            let mut f = Finding::new(
                span,
                format!("`persistent_client_expiration {}` keeps disconnected sessions, but {off}: they live only in memory, so a restart or failover loses them", expiration.value.trim()),
                "set `persistence true`, with `persistence_location /var/lib/mosquitto/` and an `autosave_interval`",
            );
            if persistence.is_some() {
                f = f.with_related(
                    &expiration.span,
                    "sessions meant to outlive disconnects here",
                );
            }
            found.push(f);
        }
    }
    for mut f in found {
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
