//! Reading Prometheus files loaded with [`crate::formats::yaml::load_yaml`]: scrape
//! jobs of a `prometheus.yml`, alerts and recording rules of a rule file.
//! Shared by the audit parser (`crate::facts::files::prometheus`) and the spec
//! extractor, which reads the rendered files.

use serde_json::Value;

use crate::facts::{AlertFact, Facts, ScrapeJobFact};
use crate::formats::yaml::Document;

/// An alerting rule as written.
#[derive(Clone, Debug)]
pub struct PromAlert {
    pub name: String,
    pub expr: String,
    /// Its `labels.severity`.
    pub severity: Option<String>,
    /// Its name, then its annotation and label values, one per line.
    pub text: String,
    /// JSON pointer of its `expr`.
    pub expr_pointer: String,
}

/// The scrape jobs of a prometheus.yml (static targets only), each with the
/// span of its `metrics_path` (or of its `job_name` when the path is the default).
pub fn scrape_jobs(doc: &Document) -> Vec<ScrapeJobFact> {
    let mut out = Vec::new();
    let Some(jobs) = doc.json.get("scrape_configs").and_then(Value::as_array) else {
        return out;
    };
    for (i, job) in jobs.iter().enumerate() {
        let base = format!("/scrape_configs/{i}");
        let Some(name) = job.get("job_name").and_then(Value::as_str) else {
            continue;
        };
        let path = job
            .get("metrics_path")
            .and_then(Value::as_str)
            .unwrap_or("/metrics");
        let mut targets = Vec::new();
        if let Some(statics) = job.get("static_configs").and_then(Value::as_array) {
            for s in statics {
                if let Some(ts) = s.get("targets").and_then(Value::as_array) {
                    targets.extend(ts.iter().filter_map(Value::as_str).map(String::from));
                }
            }
        }
        let span = if job.get("metrics_path").is_some() {
            doc.spans.value(&format!("{base}/metrics_path"))
        } else {
            doc.spans.value(&format!("{base}/job_name"))
        };
        out.push(ScrapeJobFact {
            job: name.to_string(),
            metrics_path: path.to_string(),
            targets,
            span,
        });
    }
    out
}

/// The alerting rules and the names recording rules define.
pub fn rules(doc: &Document) -> (Vec<PromAlert>, Vec<String>) {
    let mut alerts = Vec::new();
    let mut recorded = Vec::new();
    let Some(groups) = doc.json.get("groups").and_then(Value::as_array) else {
        return (alerts, recorded);
    };
    for (g, group) in groups.iter().enumerate() {
        let Some(rules) = group.get("rules").and_then(Value::as_array) else {
            continue;
        };
        for (r, rule) in rules.iter().enumerate() {
            let expr = match rule.get("expr") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            if let Some(record) = rule.get("record").and_then(Value::as_str) {
                recorded.push(record.to_string());
                continue;
            }
            let Some(name) = rule.get("alert").and_then(Value::as_str) else {
                continue;
            };
            let mut text = vec![name.to_string()];
            for key in ["annotations", "labels"] {
                if let Some(map) = rule.get(key).and_then(Value::as_object) {
                    text.extend(map.values().filter_map(Value::as_str).map(String::from));
                }
            }
            alerts.push(PromAlert {
                name: name.to_string(),
                expr,
                severity: rule
                    .pointer("/labels/severity")
                    .and_then(Value::as_str)
                    .map(String::from),
                text: text.join("\n"),
                expr_pointer: format!("/groups/{g}/rules/{r}/expr"),
            });
        }
    }
    (alerts, recorded)
}

/// The annotations and labels written with an alert (empty if none).
pub fn alert_text<'a>(facts: &'a Facts, alert: &AlertFact) -> &'a str {
    facts
        .obs
        .alert_text
        .iter()
        .find(|(s, text)| {
            s.file.name == alert.span.file.name
                && s.line == alert.span.line
                && s.col == alert.span.col
                && text.lines().next() == Some(alert.name.as_str())
        })
        .map(|(_, t)| t.as_str())
        .unwrap_or("")
}
