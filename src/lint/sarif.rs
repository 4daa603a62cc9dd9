//! SARIF 2.1.0 output, the format code-scanning services read.

use serde_json::{json, Value};

use super::rules;
use crate::diag::{Diagnostic, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(span: &crate::source::Span) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": span.file.name.trim_start_matches("./") },
            "region": {
                "startLine": span.line,
                "startColumn": span.col,
                "endLine": span.end_line,
                "endColumn": span.end_col.max(span.col + 1),
            }
        }
    })
}

pub fn to_sarif(diags: &[Diagnostic]) -> Value {
    let rule_list: Vec<&'static super::Rule> = rules::all().collect();
    let rules_json: Vec<Value> = rule_list
        .iter()
        .map(|r| {
            let mut help = r.doc();
            if let Some(note) = super::unsuppressible_note(r) {
                help.push_str(&format!("\n{note}\n"));
            }
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.title() },
                "fullDescription": { "text": r.doc() },
                "helpUri": r.help_uri(),
                "help": { "text": help, "markdown": help },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "suppressible": r.unsuppressible().is_none() },
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "level": level(d.severity),
                "message": { "text": match &d.help { Some(h) => format!("{} Help: {h}", d.message), None => d.message.clone() } },
            });
            if let Some(i) = rule_list.iter().position(|r| d.code == r.id) {
                result["ruleIndex"] = json!(i);
            }
            let primary: Vec<Value> = d.labels.iter().filter(|l| l.primary).map(|l| location(&l.span)).collect();
            let related: Vec<Value> = d
                .labels
                .iter()
                .filter(|l| !l.primary)
                .enumerate()
                .map(|(i, l)| {
                    let mut loc = location(&l.span);
                    loc["id"] = json!(i);
                    loc["message"] = json!({ "text": l.message });
                    loc
                })
                .collect();
            result["locations"] = json!(primary);
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "mqttforge",
                    "informationUri": "https://github.com/mqttforge/mqttforge",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules_json,
                }
            },
            "results": results,
        }]
    })
}
