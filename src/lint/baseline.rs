//! Baselines: the findings a team has accepted for now, so that a run
//! reports only new ones (`--write-baseline FILE`, then `--baseline FILE`).
//!
//! A baseline is JSON, sorted, one entry per finding:
//!
//! ```json
//! { "mqttforge_baseline": 1,
//!   "findings": [ { "rule": "MQ-TLS-001", "file": "conf/mosquitto.conf",
//!                   "fingerprint": "3f1c...", "message": "..." } ] }
//! ```
//!
//! A finding matches an entry with the same rule, file and fingerprint. The
//! fingerprint hashes the text of the finding's line (whitespace collapsed,
//! secrets masked) and of the value it points at, never its line number,
//! so lines inserted above do not invalidate the baseline; editing the
//! line itself makes it a new finding. Entries are counted: two identical
//! findings need two entries. `message` is for the reader and not matched.
//! Rules that cannot be suppressed are never written, and an entry of one
//! is an error.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{is_rule_finding, rules, unsuppressible_finding};
use crate::diag::{Code, Diagnostic, Label};
use crate::source::{pointer_join, SourceFile, Span, MAX_FILE_BYTES};

/// The format's version, the value of `mqttforge_baseline`.
pub const VERSION: u64 = 1;

/// What identifies a finding across edits elsewhere in its file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub file: String,
    pub rule: String,
    pub fingerprint: String,
}

/// The key of a rule's finding (None for diagnostics that are not).
pub fn key(d: &Diagnostic) -> Option<Key> {
    if !is_rule_finding(d) {
        return None;
    }
    let (file, text) = match d.primary_span() {
        // `./conf/x` and `conf/x` are one file.
        Some(span) => (
            span.file.name.trim_start_matches("./").to_string(),
            located_text(span),
        ),
        None => (String::new(), d.message.clone()),
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let fingerprint = digest.as_ref()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(Key {
        file,
        rule: d.code.as_str().to_string(),
        fingerprint,
    })
}

/// The text a fingerprint hashes: the span's line and the part of it the
/// span covers, as diagnostics show them (secrets masked), whitespace
/// runs collapsed.
fn located_text(span: &Span) -> String {
    let line = span.file.shown_line(span.line);
    let end = if span.end_line == span.line {
        span.end_col
    } else {
        usize::MAX
    };
    let value: String = line
        .chars()
        .skip(span.col.saturating_sub(1))
        .take(end.saturating_sub(span.col))
        .collect();
    let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{}\n{}", collapse(&line), collapse(&value))
}

/// The baseline of `diags` as its file's text, and how many findings it
/// leaves out because their rule cannot be suppressed.
pub fn write(diags: &[Diagnostic]) -> (String, usize) {
    let mut entries: Vec<(Key, &str)> = Vec::new();
    let mut left_out = 0;
    for d in diags {
        let Some(key) = key(d) else { continue };
        if rules::unsuppressible(&key.rule).is_some() {
            left_out += 1;
            continue;
        }
        entries.push((key, d.message.as_str()));
    }
    entries.sort();
    let findings: Vec<Value> = entries
        .iter()
        .map(|(k, message)| {
            json!({
                "rule": k.rule,
                "file": k.file,
                "fingerprint": k.fingerprint,
                "message": message,
            })
        })
        .collect();
    let doc = json!({ "mqttforge_baseline": VERSION, "findings": findings });
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON");
    text.push('\n');
    (text, left_out)
}

/// A loaded baseline: how many findings of each key it accepts.
#[derive(Debug, Default)]
pub struct Baseline {
    counts: HashMap<Key, usize>,
    /// Entries of rules that cannot be suppressed, reported once applied.
    refused: Vec<Diagnostic>,
}

/// What applying a baseline leaves: the diagnostics to report and how
/// many findings it accepted.
pub struct Applied {
    pub diags: Vec<Diagnostic>,
    pub baselined: usize,
}

impl Baseline {
    /// The errors for its entries of rules that cannot be suppressed.
    pub fn refused(&self) -> &[Diagnostic] {
        &self.refused
    }

    /// Drops the findings the baseline accepts (each entry once).
    /// Diagnostics that are not rule findings and findings of rules that
    /// cannot be suppressed (never entries: see [`Baseline::refused`]) stay.
    pub fn apply(&self, diags: Vec<Diagnostic>) -> Applied {
        let mut left = self.counts.clone();
        let mut kept = Vec::new();
        let mut baselined = 0;
        for d in diags {
            let accepted = key(&d).and_then(|k| left.get_mut(&k)).filter(|n| **n > 0);
            match accepted {
                Some(n) => {
                    *n -= 1;
                    baselined += 1;
                }
                None => kept.push(d),
            }
        }
        crate::diag::sort(&mut kept);
        Applied {
            diags: kept,
            baselined,
        }
    }
}

/// Reads a baseline file. Err: it cannot be read, is not JSON, or is not a
/// baseline (each problem at its position in the file).
pub fn load(path: &Path) -> Result<Baseline, Vec<Diagnostic>> {
    let file = crate::formats::yaml::read_source(
        path,
        MAX_FILE_BYTES,
        "a baseline",
        "a baseline lists findings once each; regenerate it with --write-baseline",
    )
    .map_err(|d| vec![d])?;
    if let Err(e) = serde_json::from_str::<Value>(&file.text) {
        let span = Span::point(&file, e.line().max(1), e.column().max(1));
        // The position is the diagnostic's: the message without serde's.
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        return Err(vec![bad(
            &span,
            format!("the baseline is not JSON: {message}"),
        )]);
    }
    // The same text as YAML (JSON is YAML) for the position of every value.
    let doc = crate::formats::yaml::load_yaml(&file)?;
    from_document(&file, &doc.json, &doc.spans)
}

fn bad(span: &Span, message: String) -> Diagnostic {
    Diagnostic::error(Code::Baseline, message)
        .with_label(Label::primary(span.clone(), "here"))
        .with_help(format!(
            "a baseline is `{{\"mqttforge_baseline\": {VERSION}, \"findings\": [{{\"rule\", \"file\", \"fingerprint\", \"message\"}}, ...]}}` as --write-baseline writes it; regenerate it"
        ))
}

fn from_document(
    file: &Arc<SourceFile>,
    json: &Value,
    spans: &crate::source::SpanMap,
) -> Result<Baseline, Vec<Diagnostic>> {
    let at = |pointer: &str| spans.value(pointer);
    if json.get("mqttforge_baseline").and_then(Value::as_u64) != Some(VERSION) {
        let pointer = if json.get("mqttforge_baseline").is_some() {
            "/mqttforge_baseline"
        } else {
            ""
        };
        return Err(vec![bad(
            &at(pointer),
            format!(
                "`{}` is not a baseline of this version of mqttforge (it needs `\"mqttforge_baseline\": {VERSION}`)",
                file.name
            ),
        )]);
    }
    let Some(findings) = json.get("findings").and_then(Value::as_array) else {
        return Err(vec![bad(
            &at("/findings"),
            "the baseline has no `findings` list".into(),
        )]);
    };
    let mut baseline = Baseline::default();
    let mut errors = Vec::new();
    for (i, entry) in findings.iter().enumerate() {
        let pointer = pointer_join("/findings", i);
        let field = |name: &str| entry.get(name).and_then(Value::as_str);
        let (Some(rule), Some(file_name), Some(fingerprint)) =
            (field("rule"), field("file"), field("fingerprint"))
        else {
            errors.push(bad(
                &at(&pointer),
                format!(
                    "finding {i} of the baseline needs `rule`, `file` and `fingerprint` strings"
                ),
            ));
            continue;
        };
        let Some(rule) = rules::find(rule) else {
            errors.push(bad(
                &at(&pointer_join(&pointer, "rule")),
                format!("`{rule}` is not a rule of mqttforge"),
            ));
            continue;
        };
        if let Some(why) = rule.unsuppressible() {
            let span = at(&pointer_join(&pointer, "rule"));
            baseline
                .refused
                .push(unsuppressible_finding(rule.id, why, span, "baselined here"));
            continue;
        }
        let key = Key {
            file: file_name.to_string(),
            rule: rule.id.to_string(),
            fingerprint: fingerprint.to_string(),
        };
        *baseline.counts.entry(key).or_default() += 1;
    }
    if errors.is_empty() {
        Ok(baseline)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(file: &Arc<SourceFile>, rule: &'static str, line: usize, col: usize) -> Diagnostic {
        Diagnostic::error(Code::Rule(rule), "m").with_label(Label::primary(
            Span {
                end_col: col + 4,
                ..Span::point(file, line, col)
            },
            "here",
        ))
    }

    #[test]
    fn fingerprints_ignore_line_numbers_but_not_the_line() {
        let before = SourceFile::new("m.conf", "listener 1883\n");
        let after = SourceFile::new("m.conf", "# new\n\nlistener 1883\n");
        let edited = SourceFile::new("m.conf", "listener 1884\n");
        let k = |f, line| key(&finding(f, "MQ-TLS-001", line, 10)).unwrap();
        assert_eq!(k(&before, 1), k(&after, 3));
        // Indentation and trailing blanks are not the line's text.
        let indented = SourceFile::new("m.conf", "  listener 1883\t\n");
        assert_eq!(
            k(&before, 1),
            key(&finding(&indented, "MQ-TLS-001", 1, 12)).unwrap()
        );
        assert_ne!(k(&before, 1), k(&edited, 1));
        let other_rule = key(&finding(&before, "MQ-AUTH-003", 1, 10)).unwrap();
        assert_ne!(k(&before, 1), other_rule);
        let dotted = SourceFile::new("./m.conf", "listener 1883\n");
        assert_eq!(k(&before, 1), k(&dotted, 1));
        // Not a rule's finding: no key.
        assert!(key(&Diagnostic::error(Code::Io, "m")
            .with_label(Label::primary(Span::point(&before, 1, 1), "here")))
        .is_none());
    }

    #[test]
    fn written_baselines_load_and_accept_each_finding_once() {
        let f = SourceFile::new("m.conf", "listener 1883\nlistener 1883\n");
        let diags = vec![
            finding(&f, "MQ-TLS-001", 1, 10),
            finding(&f, "MQ-AUTH-002", 1, 10),
        ];
        let (text, left_out) = write(&diags);
        assert_eq!(left_out, 1, "MQ-AUTH-002 cannot be baselined");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, &text).unwrap();
        let baseline = load(&path).unwrap();
        // The same finding twice (line 2 has the same text): one is new.
        let now = vec![
            finding(&f, "MQ-TLS-001", 1, 10),
            finding(&f, "MQ-TLS-001", 2, 10),
            finding(&f, "MQ-AUTH-002", 1, 10),
        ];
        let applied = baseline.apply(now);
        assert_eq!(applied.baselined, 1);
        let codes: Vec<&str> = applied.diags.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["MQ-AUTH-002", "MQ-TLS-001"]);
        assert_eq!(applied.diags[1].primary_span().unwrap().line, 2);
        assert!(baseline.refused().is_empty());
    }
}
