//! A connected-clients alert threshold does not fit the declared capacity.
//!
//! What it does: reads the threshold of every alert on connected clients
//! (`sum(emqx_live_connections_count) > 240000`) and compares it with the
//! site: a threshold at or above the connections the brokers accept at all
//! (their listeners' `max_connections` across active nodes) can never be
//! reached; a hard-coded threshold above the declared capacity warns only
//! once the site is past it; a site-wide (`sum(...)`) threshold below half
//! of it fires under normal load.
//!
//! Audited files do not declare a capacity: give it in a comment of the
//! rule file (or the sysctl or systemd file), one per site:
//!     # mqttforge:capacity clients=300000 connect_rate=1000/s max_payload=4KiB
//!
//! Why it matters: a threshold copied from another site, or left behind
//! when the capacity changed, either pages every day (and gets silenced)
//! or never pages at all. Thresholds belong to the capacity, not to
//! constants (the checklist: warning at 80%, critical at 95%).
//!
//! Example:
//!     # mqttforge:capacity clients=300000
//!     expr: sum(emqx_live_connections_count) > 40000
//!
//! Use instead:
//!     expr: sum(emqx_live_connections_count) > 240000   (80% of 300000)
//!
//! In a spec the thresholds derive from `capacity.clients`, so the rule
//! fires when `max_connections` set on the device listeners caps the site
//! below its own alert thresholds.
//!
//! Severity: warning in production; info elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::formats::promql;
use crate::lint::rules::obs::exporters::{self, Item};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-OBS-004",
    name: "capacity_threshold_mismatch",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_obs_004_capacity_threshold_mismatch.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let clients_metrics = exporters::checklist(Item::Clients).metrics;
    for alert in &facts.alerts {
        for cmp in promql::comparisons(&alert.expr) {
            if cmp.op != ">" && cmp.op != ">=" {
                continue;
            }
            let reads_clients = cmp.lhs.iter().any(
                |t| matches!(t, promql::Tok::Ident(m, _) if clients_metrics.contains(&m.as_str())),
            );
            if !reads_clients {
                continue;
            }
            let threshold = cmp.threshold;
            let site_wide = promql::calls(&cmp.lhs, &["sum"]);
            let mut f = None;
            if let Some((ceiling, how, span)) = &facts.obs.device_connection_ceiling {
                if threshold >= *ceiling as f64 {
                    f = Some(
                        Finding::new(
                            &alert.span,
                            format!(
                                "alert `{}` fires above {} connected clients, but the brokers accept at most {ceiling} device connections ({how}): it can never fire",
                                alert.name,
                                threshold as u64
                            ),
                            "raise the device listeners' `max_connections` so the active nodes carry `capacity.clients` with margin, or leave it unset to derive it from the capacity",
                        )
                        .with_related(span, "connection limit set here"),
                    );
                }
            }
            if f.is_none() && facts.origin == Origin::File {
                if let Some(cap) = &facts.capacity {
                    let clients = cap.clients as f64;
                    let pct = threshold / clients * 100.0;
                    let help = format!(
                        "derive the thresholds from the capacity: warning above {} (80%), critical above {} (95%)",
                        (clients * 0.8).floor() as u64,
                        (clients * 0.95).floor() as u64
                    );
                    if threshold > clients {
                        f = Some(
                            Finding::new(
                                &alert.span,
                                format!(
                                    "alert `{}` fires above {} connected clients, more than the declared capacity of {}: the site is past its capacity before anyone is warned",
                                    alert.name, threshold as u64, cap.clients
                                ),
                                help,
                            )
                            .with_related(&cap.span, "capacity declared here"),
                        );
                    } else if site_wide && pct < 50.0 {
                        f = Some(
                            Finding::new(
                                &alert.span,
                                format!(
                                    "alert `{}` fires above {} connected clients, {:.0}% of the declared capacity of {}: it fires under normal load",
                                    alert.name, threshold as u64, pct, cap.clients
                                ),
                                help,
                            )
                            .with_related(&cap.span, "capacity declared here"),
                        );
                    }
                }
            }
            if let Some(mut f) = f {
                if let Some(s) = relaxed(facts, Severity::Info) {
                    f = f.with_severity(s);
                }
                out.push(f);
                break;
            }
        }
    }
}
