//! What every fuzz target checks, whatever it feeds: the promises the tool
//! makes about hostile input.
//!
//! - No panic (libFuzzer reports one as a crash).
//! - No worse than linear time: left to libFuzzer's `-timeout` (the smoke run
//!   sets it; a quadratic parser on a `-max_len` input exceeds it), and
//!   `tests/scaling.rs` measures the growth.
//! - Diagnostics never carry the input's control characters: a message, a
//!   label or a help line holds none (no terminal escapes, no forged lines),
//!   and the rendered text holds none but its own line breaks and the tabs
//!   that keep a snippet's caret aligned.
//! - No diagnostic repeats a line of a private key's body (audit refuses a
//!   key given as another kind without quoting it).

use std::path::PathBuf;
use std::sync::Arc;

use mqttforge::diag::{render_text, Diagnostic, Style};
use mqttforge::source::SourceFile;
use mqttforge::spec::model::Environment;

/// Loads and validates fuzzed bytes as a spec, as `mqttforge validate` does
/// after its bounded read (which refuses only what is not UTF-8).
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.yaml", text);
    if let Err(diags) = mqttforge::spec::load_source(file) {
        check_diagnostics(text, &diags);
    }
}

/// Audits fuzzed bytes as one file of the named kind (`audit --kind`),
/// through the whole audit (extraction and the audit rules). `name` is the
/// file name the kind usually has.
pub fn audit(kind: &str, name: &str, data: &[u8]) {
    let Some(text) = audit_text(data) else {
        return;
    };
    let kind = mqttforge::audit::kind(kind).expect("a kind of mqttforge::audit::KINDS");
    let file = SourceFile::new(name, text);
    let diags = mqttforge::audit::run_sources(
        vec![(PathBuf::from(name), Arc::clone(&file), Some(kind))],
        Environment::Production,
    );
    check_diagnostics(text, &diags);
}

/// Audits fuzzed bytes with the kind detected from the name and text, as
/// `mqttforge audit FILE` does.
pub fn audit_detected(name: &str, data: &[u8]) {
    let Some(text) = audit_text(data) else {
        return;
    };
    let file = SourceFile::new(name, text);
    let diags = mqttforge::audit::run_sources(
        vec![(PathBuf::from(name), file, None)],
        Environment::Production,
    );
    check_diagnostics(text, &diags);
}

/// The text audit reads: what `facts::files::read_text` lets through (UTF-8,
/// no control character but tab, line feed, carriage return and form feed).
fn audit_text(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'));
    (!binary).then_some(text)
}

/// The promises about diagnostics of `input`, checked on the diagnostics
/// and on their rendered text (and JSON, which must serialise).
pub fn check_diagnostics(input: &str, diags: &[Diagnostic]) {
    for d in diags {
        let mut fields: Vec<(&str, &str)> =
            vec![("message", &d.message), ("code", d.code.as_str())];
        if let Some(help) = &d.help {
            fields.push(("help", help));
        }
        for label in &d.labels {
            fields.push(("label", &label.message));
        }
        for (what, text) in fields {
            if let Some(c) = text.chars().find(|c| c.is_control()) {
                panic!(
                    "a diagnostic's {what} holds the control character U+{:04X}: {text:?}",
                    c as u32
                );
            }
        }
        let _ = mqttforge::diag::to_json(d).to_string();
    }
    let rendered = render_text(diags, Style::Plain);
    if let Some(c) = rendered
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        panic!(
            "rendered diagnostics hold the control character U+{:04X}:\n{rendered}",
            c as u32
        );
    }
    for line in private_key_lines(input) {
        assert!(
            !rendered.contains(line),
            "a diagnostic repeats a private key's line {line:?}:\n{rendered}"
        );
    }
}

/// The base64 body lines of every well-formed PEM private key block in the
/// text (exact `-----BEGIN ...PRIVATE KEY-----` and matching END lines), long
/// enough not to occur by chance, and not also part of a line outside the
/// blocks (which a snippet may show for its own sake).
fn private_key_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut body = Vec::new();
    let mut outside = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let begin = lines[i];
        let label = begin
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .filter(|l| l.ends_with("PRIVATE KEY"));
        let end = label.and_then(|label| {
            let end = format!("-----END {label}-----");
            (i + 1..lines.len()).find(|&j| lines[j] == end)
        });
        match end {
            Some(j) => {
                body.extend(lines[i + 1..j].iter().copied().filter(|l| {
                    l.len() >= 16
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                }));
                i = j + 1;
            }
            None => {
                outside.push(begin);
                i += 1;
            }
        }
    }
    body.retain(|b| !outside.iter().any(|o| o.contains(b)));
    body
}
