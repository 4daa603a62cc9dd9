//! An alert of the production checklist is missing.
//!
//! What it does: sorts the alerts of the rule files by what they watch (by
//! their metrics, `histogram_quantile(0.99, ...)` for latency, else words
//! of their names) and reports each checklist item no alert covers:
//! connected clients vs capacity, queued messages, publish latency P99,
//! authentication failures, broker CPU and memory. An item the site's
//! exporters cannot measure (publish latency everywhere; authentication
//! failures on Mosquitto, whose `$SYS` tree has no such counter) is
//! reported as info naming the gap. A rule file with no alert at all, or a
//! production spec without `monitoring.prometheus`, is one finding.
//!
//! Why it matters: each item is a way the site fails before users notice:
//! a fleet outgrowing its capacity, consumers falling behind, a slow
//! broker, a credential-stuffing attack, a host running out of CPU or
//! memory. An alert that does not exist is a page that never comes.
//!
//! Example:
//!     groups:
//!       - name: mqtt
//!         rules:
//!           - alert: BrokerDown
//!             expr: up{job="emqx"} == 0
//!
//! Use instead:
//!     alerts on sum(emqx_live_connections_count) (80%/95% of capacity),
//!     max(emqx_vm_process_messages_in_queues) (10k/50k),
//!     rate(emqx_authentication_failure[5m]) * 60 (100/500 per minute),
//!     node CPU (70%/90%) and memory (80%/95%), and a probe's P99 latency.
//!
//! In a spec, the generated rules cover every item the engine's exporter
//! measures and name the rest in the rule file's header; the rule reports
//! (info) a threshold the spec sets for an item no alert can carry, and
//! a production site that declares no Prometheus monitoring.
//!
//! Severity: warning in production; info elsewhere. Gaps are info.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::rules::obs::exporters::{self, Exporter, Item, CHECKLIST, EXPORTERS, LATENCY_GAP};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-OBS-003",
    name: "checklist_alert_missing",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_obs_003_checklist_alert_missing.rs"),
    check,
};

/// The engine the alerts are about: the site's, or the one whose exporter
/// the alerts and scrape jobs use.
fn engine(facts: &Facts) -> Option<Engine> {
    if facts.engine.is_some() {
        return facts.engine;
    }
    let from_alerts = facts.alerts.iter().find_map(|a| {
        crate::formats::promql::metric_names(&a.expr)
            .into_iter()
            .find_map(|(m, _)| exporters::exporter_of_metric(&m).and_then(|e| e.engine))
    });
    from_alerts.or_else(|| {
        facts
            .scrape_jobs
            .iter()
            .find_map(|j| exporters::exporter_of_job(j).and_then(|e| e.engine))
    })
}

/// The exporters a site has: its engine's, and node_exporter for hosts.
fn site_exporters(engine: Option<Engine>) -> Vec<&'static Exporter> {
    EXPORTERS
        .iter()
        .filter(|e| e.engine.is_none() || (engine.is_some() && e.engine == engine))
        .collect()
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(place) = facts.obs.rule_files.first() else {
        return;
    };
    let relax = |f: Finding| match relaxed(facts, Severity::Info) {
        Some(s) => f.with_severity(s),
        None => f,
    };
    if facts.alerts.is_empty() {
        let f = if facts.origin == Origin::Spec {
            Finding::new(
                place,
                "the site declares no Prometheus monitoring: no alert rules are generated, so none of the checklist alerts (connected clients, queued messages, latency, auth failures, CPU, memory) exists",
                "add `monitoring: { prometheus: { scrape_interval: 15s } }`; the alert rules then derive from the capacity",
            )
        } else {
            Finding::new(
                place,
                "this rule file has no alerting rule: none of the checklist alerts (connected clients, queued messages, latency, auth failures, CPU, memory) exists",
                "add alerts for each checklist item (see `mqttforge explain MQ-OBS-003`)",
            )
        };
        out.push(relax(f));
        return;
    }
    let covered: Vec<Item> = facts
        .alerts
        .iter()
        .flat_map(|a| exporters::covers(&a.name, &a.expr))
        .collect();
    let engine = engine(facts);
    let available = site_exporters(engine);
    for item in CHECKLIST {
        if covered.contains(&item.item) {
            continue;
        }
        let provider = available.iter().find_map(|e| {
            e.provides
                .iter()
                .find(|(i, _)| *i == item.item)
                .map(|(_, m)| (*e, *m))
        });
        match provider {
            Some((e, metric)) => out.push(relax(Finding::new(
                place,
                format!(
                    "no alert watches {} (checklist: {})",
                    item.title, item.thresholds
                ),
                format!(
                    "add a warning and a critical alert on `{metric}` ({})",
                    e.name
                ),
            ))),
            None => {
                let why = if item.item == Item::LatencyP99 {
                    LATENCY_GAP.to_string()
                } else {
                    match engine
                        .and_then(exporters::exporter_of_engine)
                        .and_then(|e| e.gap(item.item))
                    {
                        Some(why) => why.to_string(),
                        None => "no exporter the site's alerts use measures it".to_string(),
                    }
                };
                let help = match item.item {
                    Item::LatencyP99 => "run a probe client that publishes and times a round trip, and alert on histogram_quantile(0.99, ...) of its histogram",
                    Item::AuthFailures => "alert on authentication failures from the broker log (log shipping with connection messages on), or use an engine that exports them (EMQX: emqx_authentication_failure)",
                    _ => "measure it with another exporter, or accept the gap and say so in the rule file",
                };
                if facts.origin == Origin::Spec {
                    // The generated rule file names the gap; report only a
                    // threshold the spec sets that no alert can carry.
                    let Some((_, span)) = facts.obs.thresholds.iter().find(|(k, _)| k == item.key)
                    else {
                        continue;
                    };
                    out.push(
                        Finding::new(
                            span,
                            format!("`monitoring.alerts.{}_*` is set, but no alert on {} can be generated: {why}", item.key, item.title),
                            format!("remove the threshold, or watch {} another way: {help}", item.title),
                        )
                        .with_severity(Severity::Info),
                    );
                } else {
                    out.push(
                        Finding::new(
                            place,
                            format!("no alert watches {}: {why}", item.title),
                            help.to_string(),
                        )
                        .with_severity(Severity::Info),
                    );
                }
            }
        }
    }
}
