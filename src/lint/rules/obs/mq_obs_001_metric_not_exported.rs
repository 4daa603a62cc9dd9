//! A scrape target, scrape path or alert metric is not something the exporters serve.
//!
//! What it does: checks every scrape job and every alert against what the
//! exporters serve (mosquitto-exporter's `broker_*` names, EMQX 5's
//! `emqx_*` names and `/api/v5/prometheus/*` paths, node_exporter's
//! `/metrics`): a path that is not Prometheus text (EMQX 4.x's
//! `/api/v4/metrics` JSON API, gone in EMQX 5), a job that scrapes a port
//! where the broker serves no metrics (an `exporter_port` that is not
//! EMQX's dashboard listener or rumqttd's `[prometheus]` port), an alert
//! on a metric name its exporter does not export (a `_total` suffix on
//! EMQX and mosquitto-exporter counters, which have none), on another
//! engine's metrics, or on an exporter no scrape job collects (when a
//! prometheus.yml is audited with the rule file). Recording rules and
//! names outside the known namespaces are left alone, and so is a job whose
//! name suggests an exporter but whose path and target ports are another's.
//!
//! Why it matters: Prometheus records a failed scrape as `up == 0` and
//! otherwise stays quiet, and an alert on a series that does not exist
//! never fires. The site runs without the alerts everyone believes are
//! armed, and the gap shows only in the post-mortem of an unpaged outage.
//!
//! Example:
//!     - job_name: emqx
//!       metrics_path: /api/v4/metrics
//!     expr: sum(emqx_connections_total) > 240000
//!
//! Use instead:
//!     - job_name: emqx
//!       metrics_path: /api/v5/prometheus/stats
//!     expr: sum(emqx_live_connections_count) > 240000
//!
//! In a spec, the generated paths and alerts come from the engine's table,
//! so the rule fires on what the spec chooses: an `exporter_port` where the
//! engine serves nothing.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, ScrapeJobFact};
use crate::formats::promql;
use crate::lint::rules::obs::exporters::{self, Exporter, WRONG_PATHS};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-OBS-001",
    name: "metric_not_exported",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_obs_001_metric_not_exported.rs"),
    check,
};

fn push(facts: &Facts, out: &mut Vec<Finding>, f: Finding) {
    out.push(match relaxed(facts, Severity::Warning) {
        Some(s) => f.with_severity(s),
        None => f,
    });
}

/// The span of `needle` inside `span`'s text (the metric inside an
/// expression), or `span` itself.
pub fn narrow(span: &Span, needle: &str, nth: usize) -> Span {
    let text = &span.file.text;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 == span.line {
            offset += line
                .char_indices()
                .nth(span.col.saturating_sub(1))
                .map(|(b, _)| b)
                .unwrap_or(line.len());
            break;
        }
        offset += line.len();
    }
    let Some(rest) = text.get(offset..) else {
        return span.clone();
    };
    let Some((found, _)) = rest.match_indices(needle).nth(nth) else {
        return span.clone();
    };
    let abs = offset + found;
    let before = &text[..abs];
    let line = before.matches('\n').count() + 1;
    if line > span.end_line {
        return span.clone();
    }
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..abs].chars().count() + 1;
    Span {
        file: span.file.clone(),
        line,
        col,
        end_line: line,
        end_col: col + needle.chars().count(),
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for job in &facts.scrape_jobs {
        check_job(facts, job, out);
    }
    check_alerts(facts, out);
}

fn check_job(facts: &Facts, job: &ScrapeJobFact, out: &mut Vec<Finding>) {
    let path = job.metrics_path.trim_end_matches('/');
    if let Some((_, what)) = WRONG_PATHS.iter().find(|(p, _)| *p == path) {
        push(
            facts,
            out,
            Finding::new(
                &job.span,
                format!(
                    "job `{}` scrapes `{}`, which {what}: every scrape fails",
                    job.job, job.metrics_path
                ),
                "scrape EMQX 5 at `metrics_path: /api/v5/prometheus/stats` (port 18083)",
            ),
        );
        return;
    }
    let Some(exporter) = exporters::exporter_of_job(job) else {
        return;
    };
    if !exporter.paths.contains(&path) {
        push(
            facts,
            out,
            Finding::new(
                &job.span,
                format!(
                    "job `{}` scrapes `{}`, but {} serves Prometheus metrics at {}",
                    job.job,
                    job.metrics_path,
                    exporter.name,
                    exporter.paths.join(", ")
                ),
                format!("set `metrics_path: {}`", exporter.paths[0]),
            ),
        );
        return;
    }
    // The broker's own endpoint (EMQX, rumqttd): the job must scrape its port.
    let serves_itself = facts.engine.is_some_and(|e| exporter.engine == Some(e))
        && !facts.obs.broker_metrics_ports.is_empty();
    if serves_itself {
        for t in &job.targets {
            let Some(port) = exporters::target_port(t) else {
                continue;
            };
            if !facts
                .obs
                .broker_metrics_ports
                .iter()
                .any(|(p, _)| *p == port)
            {
                let (want, what) = &facts.obs.broker_metrics_ports[0];
                push(
                    facts,
                    out,
                    Finding::new(
                        &job.span,
                        format!("job `{}` scrapes port {port} (target `{t}`), but the broker serves {} on port {want}, {what}", job.job, job.metrics_path, ),
                        format!("scrape port {want}: remove `exporter_port` or set it to {want}"),
                    ),
                );
                break;
            }
        }
    }
}

fn scraped(facts: &Facts, e: &Exporter) -> bool {
    facts
        .scrape_jobs
        .iter()
        .any(|j| exporters::exporter_of_job(j).is_some_and(|x| x.name == e.name))
}

fn check_alerts(facts: &Facts, out: &mut Vec<Finding>) {
    let recorded: std::collections::HashSet<&str> =
        facts.obs.recorded.iter().map(String::as_str).collect();
    for alert in &facts.alerts {
        let mut seen = std::collections::HashSet::new();
        for (metric, _) in promql::metric_names(&alert.expr) {
            if recorded.contains(metric.as_str())
                || metric.contains(':')
                || !seen.insert(metric.clone())
            {
                continue;
            }
            let Some(exporter) = exporters::exporter_of_metric(&metric) else {
                continue;
            };
            let span = narrow(&alert.span, &metric, 0);
            let finding = if !(exporter.exports)(&metric) {
                let base = metric
                    .strip_suffix("_total")
                    .filter(|b| (exporter.exports)(b));
                let deprecated = exporters::MOSQUITTO_DEPRECATED
                    .iter()
                    .find(|(old, _)| *old == metric);
                let (why, fix) = match (base, deprecated) {
                    (Some(b), _) => (
                        format!("{} counters have no `_total` suffix", exporter.name),
                        format!("use `{b}`"),
                    ),
                    (_, Some((_, new))) => (
                        "it is a deprecated $SYS alias mosquitto-exporter skips".to_string(),
                        format!("use `{new}`"),
                    ),
                    _ => {
                        let fix = match crate::suggest::did_you_mean(
                            &metric,
                            exporter.names.iter().copied(),
                        ) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "use a metric {} exports (see its documentation)",
                                exporter.name
                            ),
                        };
                        (format!("{} does not export it", exporter.name), fix)
                    }
                };
                Some(Finding::new(&span, format!("alert `{}` reads `{metric}`, which never exists: {why}; the alert can never fire", alert.name), fix))
            } else if let (Some(engine), Some(other)) = (facts.engine, exporter.engine) {
                (engine != other).then(|| {
                    Finding::new(
                        &span,
                        format!("alert `{}` reads `{metric}`, a {} metric, but the site runs {}: the alert can never fire", alert.name, exporter.name, engine.as_str()),
                        match exporters::exporter_of_engine(engine) {
                            Some(e) if !e.prefix.is_empty() => format!("use the {} metric ({}...)", e.name, e.prefix),
                            _ => "alert on metrics the site's exporters serve".to_string(),
                        },
                    )
                })
            } else if !facts.scrape_jobs.is_empty() && !scraped(facts, exporter) {
                Some(Finding::new(
                    &span,
                    format!("alert `{}` reads `{metric}`, but no scrape job collects {}: the series never exists and the alert can never fire", alert.name, exporter.name),
                    format!(
                        "add a scrape job for {} (`metrics_path: {}`, targets on port {}), or alert on a metric a scraped exporter serves",
                        exporter.name, exporter.paths[0], exporter.default_port
                    ),
                ))
            } else {
                None
            };
            if let Some(f) = finding {
                push(facts, out, f);
            }
        }
    }
}
