//! Machine output: one JSON object per diagnostic.

use serde_json::{json, Value};

use super::Diagnostic;

pub fn to_json(d: &Diagnostic) -> Value {
    let primary = d.primary_span();
    let labels: Vec<Value> = d
        .labels
        .iter()
        .map(|l| {
            json!({
                "file": l.span.file.name,
                "line": l.span.line,
                "column": l.span.col,
                "end_line": l.span.end_line,
                "end_column": l.span.end_col,
                "message": l.message,
                "primary": l.primary,
            })
        })
        .collect();
    json!({
        "code": d.code.as_str(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "file": primary.map(|s| s.file.name.clone()),
        "line": primary.map(|s| s.line),
        "column": primary.map(|s| s.col),
        "end_line": primary.map(|s| s.end_line),
        "end_column": primary.map(|s| s.end_col),
        "help": d.help,
        "labels": labels,
    })
}
