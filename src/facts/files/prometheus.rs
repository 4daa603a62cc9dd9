//! Prometheus files: `prometheus.yml` (scrape config) and rule files
//! (`groups:`), read with [`crate::formats::yaml::load_yaml`] so every fact keeps
//! its position.
//!
//! Facts: scrape jobs (job, metrics path, static targets), alerts (name,
//! expression, annotations), recording rule names, the rule file itself
//! (where missing checklist alerts are reported), and problems for
//! MQ-OBS-005: a file holding both scrape config and rule groups, and what
//! `promtool check rules` rejects. When `promtool` is not on PATH, the rule
//! file's structure is checked here instead (group and rule keys, names,
//! durations, balanced expressions).
//!
//! Any of these files may declare the site's capacity, which the capacity
//! rules (MQ-OBS-004, MQ-PERF-002) need and hand-written files do not
//! otherwise say, with a comment:
//! `# mqttforge:capacity clients=300000 connect_rate=1000/s max_payload=4KiB`
//! (`connect_rate` is per broker node; both it and `max_payload` are optional).
//!
//! Cost: linear in the file's bytes: the YAML loader keeps one span per value,
//! and each expression is tokenized once (`crate::formats::promql`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{parse_error, Input};
use crate::diag::Diagnostic;
use crate::facts::prometheus_files as files;
use crate::facts::{AlertFact, CapacityFact, Facts};
use crate::formats::yaml::{load_yaml, Document};
use crate::source::Span;

/// The capacity comment's marker.
pub const CAPACITY_MARKER: &str = "mqttforge:capacity";

/// Top-level keys of a rule file.
const RULE_FILE_KEYS: &[&str] = &["groups"];
/// Keys of a rule group (Prometheus 2.x/3.x).
const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
];
/// Keys of a rule.
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];
/// Top-level keys of prometheus.yml.
const CONFIG_KEYS: &[&str] = &[
    "global",
    "rule_files",
    "scrape_config_files",
    "scrape_configs",
    "alerting",
    "remote_write",
    "remote_read",
    "storage",
    "tracing",
    "runtime",
    "otlp",
];

fn top_level_key(text: &str, key: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

fn yaml_name(path: &Path) -> bool {
    let name = super::file_name(path);
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// A rule file: a YAML file with a top-level `groups:` key.
pub fn detect_rules(path: &Path, text: &str) -> bool {
    top_level_key(text, "groups") && (yaml_name(path) || text.contains("rules:"))
}

/// prometheus.yml: a top-level `scrape_configs:`, or a YAML file named
/// `prometheus*` that is not a `promtool test rules` file.
pub fn detect_config(path: &Path, text: &str) -> bool {
    if top_level_key(text, "tests") {
        return false;
    }
    top_level_key(text, "scrape_configs")
        || (yaml_name(path)
            && super::file_name(path).starts_with("prometheus")
            && top_level_key(text, "global"))
}

pub fn extract_config(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    extract(input, facts)
}

pub fn extract_rules(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    extract(input, facts)
}

/// Both kinds: a file is what its keys say, and a file with both is a finding.
fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    capacity_comment(input, facts)?;
    let file = &input.file;
    let doc = load(input)?;
    let Some(root) = doc.json.as_object() else {
        if doc.json.is_null() {
            return Ok(());
        }
        return Err(parse_error(
            file,
            1,
            1,
            "a Prometheus file",
            "the top level is not a mapping of keys",
        ));
    };
    let has_groups = root.contains_key("groups");
    let has_scrape = root.contains_key("scrape_configs");
    if has_groups && has_scrape {
        let groups = doc.spans.key("/groups");
        facts.prometheus_problems.push((
            "this file holds both scrape configuration (`scrape_configs`) and rule groups (`groups`): Prometheus loads rule files through `rule_files`, and `promtool check rules` rejects the scrape keys".into(),
            groups,
        ));
    }
    if has_scrape || root.contains_key("global") {
        scrape_jobs(&doc, facts);
    }
    if has_groups {
        facts.obs.rule_files.push(doc.spans.key("/groups"));
        rules(&doc, facts);
        if !has_scrape {
            let problems = match promtool(&input.path, &input.file.text) {
                Some(out) => parse_promtool(input, &out),
                None => structure(&doc),
            };
            facts.prometheus_problems.extend(problems);
        }
    }
    Ok(())
}

fn load(input: &Input) -> Result<Document, Diagnostic> {
    load_yaml(&input.file).map_err(|diags| {
        let first = diags.into_iter().next();
        let (line, col, msg) = match &first {
            Some(d) => {
                let (l, c) = d.primary_span().map(|s| (s.line, s.col)).unwrap_or((1, 1));
                (l, c, d.message.clone())
            }
            None => (1, 1, "not YAML".to_string()),
        };
        parse_error(&input.file, line, col, "a Prometheus YAML file", msg)
    })
}

fn scrape_jobs(doc: &Document, facts: &mut Facts) {
    facts.scrape_jobs.extend(files::scrape_jobs(doc));
}

fn rules(doc: &Document, facts: &mut Facts) {
    let (alerts, recorded) = files::rules(doc);
    facts.obs.recorded.extend(recorded);
    for a in alerts {
        let span = doc.spans.value(&a.expr_pointer);
        facts.obs.alert_text.push((span.clone(), a.text));
        facts.alerts.push(AlertFact {
            name: a.name,
            expr: a.expr,
            span,
        });
    }
}

/// Runs `promtool check rules` when it is on PATH; its combined output, or
/// None when it is not installed.
/// Its verdict on the same bytes at the same path is kept
/// ([`crate::facts::tool_cache`]).
fn promtool(path: &Path, text: &str) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    let bytes = text.as_bytes();
    let shown = path.to_str()?;
    let out =
        crate::facts::tool_cache::cached("promtool", &["check", "rules", shown], bytes, || {
            let out = Command::new("promtool")
                .arg("check")
                .arg("rules")
                .arg(path)
                .output()
                .ok()?;
            if out.status.success() {
                return Some(Vec::new());
            }
            // promtool exits 1 on a file it judged; anything else is not a verdict.
            out.status.code().filter(|c| *c == 1)?;
            Some([out.stdout, out.stderr].concat())
        })?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// promtool's complaints, at their positions: `FILE: L:C: msg`,
/// `FILE: yaml: line L: msg`, `FILE: yaml: unmarshal errors:` followed by
/// `  line L: msg`, or `FILE: msg` (at the `groups` key).
fn parse_promtool(input: &Input, out: &str) -> Vec<(String, Span)> {
    let file = &input.file;
    let name = input.path.display().to_string();
    let at = |line: usize, col: usize| {
        let line = line.clamp(1, file.text.lines().count().max(1));
        Span::point(file, line, col.max(1))
    };
    let fallback = || {
        load_yaml(file)
            .map(|d| d.spans.key("/groups"))
            .unwrap_or_else(|_| at(1, 1))
    };
    let mut problems = Vec::new();
    let mut in_unmarshal = false;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(&format!("{name}: ")) {
            in_unmarshal = false;
            if let Some((l, c, msg)) = line_col(rest) {
                problems.push((format!("promtool check rules: {msg}"), at(l, c)));
            } else if let Some(yaml) = rest.strip_prefix("yaml: ") {
                if yaml.trim() == "unmarshal errors:" {
                    in_unmarshal = true;
                } else if let Some((l, msg)) = yaml_line(yaml) {
                    problems.push((format!("promtool check rules: {msg}"), at(l, 1)));
                } else {
                    problems.push((format!("promtool check rules: {yaml}"), fallback()));
                }
            } else {
                problems.push((format!("promtool check rules: {rest}"), fallback()));
            }
        } else if in_unmarshal {
            if let Some((l, msg)) = yaml_line(line.trim()) {
                problems.push((format!("promtool check rules: {msg}"), at(l, 1)));
            }
        }
    }
    problems
}

/// `12:5: message`.
fn line_col(s: &str) -> Option<(usize, usize, &str)> {
    let (l, rest) = s.split_once(':')?;
    let (c, msg) = rest.split_once(':')?;
    Some((l.trim().parse().ok()?, c.trim().parse().ok()?, msg.trim()))
}

/// `line 12: message`.
fn yaml_line(s: &str) -> Option<(usize, &str)> {
    let rest = s.strip_prefix("line ")?;
    let (l, msg) = rest.split_once(':')?;
    Some((l.trim().parse().ok()?, msg.trim()))
}

fn valid_name(s: &str, colons: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':'))
}

/// A Prometheus duration: `5m`, `1h30m`, `0s`.
fn valid_duration(s: &str) -> bool {
    crate::formats::promql::parse_duration(s).is_some()
}

/// Why an expression cannot parse, for the checks promtool would make:
/// empty, unbalanced brackets, an unterminated string.
fn expr_problem(expr: &str) -> Option<String> {
    if expr.trim().is_empty() {
        return Some("the expression is empty".into());
    }
    let mut stack = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Some(format!("unterminated string: a {c} is never closed"));
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Some(format!("unexpected `{c}`"));
                }
            }
            _ => {}
        }
    }
    stack.last().map(|c| format!("unclosed `{c}`"))
}

/// The structure `promtool check rules` verifies, checked without it.
fn structure(doc: &Document) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let Some(root) = doc.json.as_object() else {
        return out;
    };
    for key in root.keys() {
        if !RULE_FILE_KEYS.contains(&key.as_str()) && !CONFIG_KEYS.contains(&key.as_str()) {
            out.push((
                format!("`{key}` is not a key of a rule file (only `groups`)"),
                doc.spans.key(&format!("/{key}")),
            ));
        }
    }
    let Some(groups) = root.get("groups").and_then(Value::as_array) else {
        out.push((
            "`groups` must be a list of rule groups".into(),
            doc.spans.value("/groups"),
        ));
        return out;
    };
    let mut names: Vec<&str> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        rule_group(doc, &format!("/groups/{g}"), group, &mut names, &mut out);
    }
    out
}

/// One rule group at `gp`: its keys, a unique name, its interval and rules.
fn rule_group<'a>(
    doc: &Document,
    gp: &str,
    group: &'a Value,
    names: &mut Vec<&'a str>,
    out: &mut Vec<(String, Span)>,
) {
    let Some(obj) = group.as_object() else {
        out.push((
            "a rule group must be a mapping with `name` and `rules`".into(),
            doc.spans.value(gp),
        ));
        return;
    };
    unknown_keys(doc, gp, obj, GROUP_KEYS, "a rule group", out);
    match obj.get("name").and_then(Value::as_str) {
        Some(n) if !n.trim().is_empty() => {
            if names.contains(&n) {
                out.push((
                    format!("group name `{n}` is repeated in the same file"),
                    doc.spans.value(&format!("{gp}/name")),
                ));
            }
            names.push(n);
        }
        _ => out.push((
            "a rule group needs a non-empty `name`".into(),
            doc.spans.key(gp),
        )),
    }
    if let Some(interval) = obj.get("interval") {
        if !interval.as_str().is_some_and(valid_duration) {
            out.push((
                "`interval` is not a duration (e.g. 1m)".into(),
                doc.spans.value(&format!("{gp}/interval")),
            ));
        }
    }
    let Some(rules) = obj.get("rules").and_then(Value::as_array) else {
        if obj.get("rules").is_some_and(|r| !r.is_null()) {
            out.push((
                "`rules` must be a list".into(),
                doc.spans.value(&format!("{gp}/rules")),
            ));
        }
        return;
    };
    for (r, rule) in rules.iter().enumerate() {
        let rp = format!("{gp}/rules/{r}");
        let Some(rule) = rule.as_object() else {
            out.push(("a rule must be a mapping".into(), doc.spans.value(&rp)));
            continue;
        };
        unknown_keys(doc, &rp, rule, RULE_KEYS, "a rule", out);
        rule_kind(doc, &rp, rule, out);
        rule_fields(doc, &rp, rule, out);
    }
}

/// Keys of the mapping at `at` that are not in `known`.
fn unknown_keys(
    doc: &Document,
    at: &str,
    obj: &serde_json::Map<String, Value>,
    known: &[&str],
    what: &str,
    out: &mut Vec<(String, Span)>,
) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            out.push((
                format!("`{key}` is not a key of {what}"),
                doc.spans.key(&format!("{at}/{key}")),
            ));
        }
    }
}

/// A rule is an alert with a name, or a record with a metric name and no
/// alerting keys.
fn rule_kind(
    doc: &Document,
    rp: &str,
    rule: &serde_json::Map<String, Value>,
    out: &mut Vec<(String, Span)>,
) {
    match (rule.get("alert"), rule.get("record")) {
        (Some(_), Some(_)) => out.push((
            "a rule is either an `alert` or a `record`, not both".into(),
            doc.spans.key(&format!("{rp}/record")),
        )),
        (None, None) => out.push((
            "a rule needs `alert` or `record`".into(),
            doc.spans.value(rp),
        )),
        (Some(a), None) => {
            if a.as_str().is_none_or(|s| s.trim().is_empty()) {
                out.push((
                    "the alert name must be a non-empty string".into(),
                    doc.spans.value(&format!("{rp}/alert")),
                ));
            }
        }
        (None, Some(rec)) => {
            if !rec.as_str().is_some_and(|s| valid_name(s, true)) {
                out.push(("invalid recording rule name: it must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".into(), doc.spans.value(&format!("{rp}/record"))));
            }
            for key in ["for", "keep_firing_for", "annotations"] {
                if rule.contains_key(key) {
                    out.push((
                        format!("`{key}` only applies to alerting rules"),
                        doc.spans.key(&format!("{rp}/{key}")),
                    ));
                }
            }
        }
    }
}

/// A rule's expression, durations and label names.
fn rule_fields(
    doc: &Document,
    rp: &str,
    rule: &serde_json::Map<String, Value>,
    out: &mut Vec<(String, Span)>,
) {
    match rule.get("expr") {
        Some(Value::String(e)) => {
            if let Some(p) = expr_problem(e) {
                out.push((
                    format!("could not parse expression: {p}"),
                    doc.spans.value(&format!("{rp}/expr")),
                ));
            }
        }
        Some(Value::Number(_)) => {}
        _ => out.push(("a rule needs an `expr` string".into(), doc.spans.key(rp))),
    }
    for key in ["for", "keep_firing_for"] {
        if let Some(v) = rule.get(key) {
            if !v.as_str().is_some_and(valid_duration) {
                out.push((
                    format!("`{key}` is not a duration (e.g. 5m)"),
                    doc.spans.value(&format!("{rp}/{key}")),
                ));
            }
        }
    }
    if let Some(labels) = rule.get("labels").and_then(Value::as_object) {
        for name in labels.keys() {
            if !valid_name(name, false) {
                out.push((
                    format!("invalid label name `{name}`"),
                    doc.spans.key(&format!(
                        "{rp}/labels/{}",
                        crate::source::pointer_segment(name)
                    )),
                ));
            }
        }
    }
}

/// The `# mqttforge:capacity clients=N [connect_rate=R/s] [max_payload=SIZE]`
/// comment of a hand-written file, if any, as the site's capacity.
pub fn capacity_comment(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    for (i, line) in file.text.lines().enumerate() {
        let trimmed = line.trim_start();
        if !(trimmed.starts_with('#') || trimmed.starts_with(';') || trimmed.starts_with("//")) {
            continue;
        }
        let Some(pos) = line.find(CAPACITY_MARKER) else {
            continue;
        };
        let col = line[..pos].chars().count() + 1;
        let mut clients = None;
        let mut rate = None;
        let mut payload = 0;
        for word in line[pos + CAPACITY_MARKER.len()..].split_whitespace() {
            let bad = |what: &str| {
                parse_error(
                    file,
                    i + 1,
                    col,
                    "the capacity comment",
                    format!("`{word}`: {what}; write `# {CAPACITY_MARKER} clients=300000 connect_rate=1000/s max_payload=4KiB`"),
                )
            };
            let Some((key, value)) = word.split_once('=') else {
                return Err(bad("expected key=value"));
            };
            match key {
                "clients" => {
                    clients = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| bad("clients is a whole number"))?,
                    )
                }
                "connect_rate" => {
                    rate = Some(
                        crate::spec::units::Rate::parse(value)
                            .ok_or_else(|| bad("connect_rate is a rate such as 1000/s"))?
                            .per_second(),
                    )
                }
                "max_payload" => {
                    payload = crate::spec::units::ByteSize::parse(value)
                        .ok_or_else(|| bad("max_payload is a size such as 4KiB"))?
                        .bytes()
                }
                _ => return Err(bad("unknown key (clients, connect_rate, max_payload)")),
            }
        }
        let Some(clients) = clients else {
            return Err(parse_error(
                file,
                i + 1,
                col,
                "the capacity comment",
                "it must give `clients=N`",
            ));
        };
        let text = line.trim_end();
        let span = Span {
            file: file.clone(),
            line: i + 1,
            col,
            end_line: i + 1,
            end_col: text.chars().count() + 1,
        };
        match &facts.capacity {
            Some(c)
                if c.clients != clients
                    || c.connect_rate_per_s != rate
                    || c.max_payload != payload =>
            {
                return Err(parse_error(
                    file,
                    i + 1,
                    col,
                    "the capacity comment",
                    format!(
                        "it contradicts the capacity declared at {}:{}",
                        c.span.file.name, c.span.line
                    ),
                ));
            }
            Some(_) => {}
            None => {
                facts.capacity = Some(CapacityFact {
                    clients,
                    connect_rate_per_s: rate,
                    max_payload: payload,
                    span,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Origin;
    use crate::source::SourceFile;
    use crate::spec::model::Environment;
    use std::path::PathBuf;

    fn run(name: &str, text: &str) -> (Facts, Result<(), Diagnostic>) {
        let mut facts = Facts::new(Origin::File, Environment::Production);
        let input = Input {
            path: PathBuf::from(format!("/nonexistent/{name}")),
            file: SourceFile::new(name, text),
        };
        let r = extract(&input, &mut facts);
        (facts, r)
    }

    #[test]
    fn detects_kinds() {
        assert!(detect_rules(
            Path::new("alerts.yml"),
            "groups:\n  - name: a\n"
        ));
        assert!(!detect_rules(
            Path::new("prometheus.yml"),
            "global:\n  scrape_interval: 15s\n"
        ));
        assert!(detect_config(
            Path::new("x.yml"),
            "scrape_configs:\n  - job_name: a\n"
        ));
        assert!(detect_config(
            Path::new("prometheus.yml"),
            "global:\n  scrape_interval: 15s\n"
        ));
        assert!(!detect_config(
            Path::new("prometheus.rules.test.yml"),
            "rule_files: [a]\ntests: []\n"
        ));
        assert!(!detect_rules(Path::new("notes.txt"), "nothing"));
    }

    #[test]
    fn scrape_jobs_and_alerts_with_positions() {
        let text = "scrape_configs:\n  - job_name: emqx\n    metrics_path: /api/v4/metrics\n    static_configs:\n      - targets: ['10.0.0.1:18083']\n";
        let (facts, r) = run("prometheus.yml", text);
        r.unwrap();
        let job = &facts.scrape_jobs[0];
        assert_eq!(
            (job.job.as_str(), job.metrics_path.as_str()),
            ("emqx", "/api/v4/metrics")
        );
        assert_eq!(job.targets, ["10.0.0.1:18083"]);
        assert_eq!((job.span.line, job.span.col), (3, 19));
        let text = "groups:\n  - name: g\n    rules:\n      - record: job:x:rate5m\n        expr: rate(x[5m])\n      - alert: A\n        expr: job:x:rate5m > 1\n        annotations:\n          summary: \"More than 1 per minute\"\n";
        let (facts, r) = run("rules.yml", text);
        r.unwrap();
        assert_eq!(facts.alerts.len(), 1);
        assert_eq!(facts.alerts[0].span.line, 7);
        assert_eq!(facts.obs.recorded, ["job:x:rate5m"]);
        assert!(facts.obs.alert_text[0].1.contains("per minute"));
        assert_eq!(facts.obs.rule_files[0].line, 1);
    }

    #[test]
    fn mixed_files_are_a_problem() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\ngroups:\n  - name: g\n    rules: []\n";
        let (facts, r) = run("prometheus.yml", text);
        r.unwrap();
        assert_eq!(facts.prometheus_problems.len(), 1);
        assert_eq!(facts.prometheus_problems[0].1.line, 5);
        assert_eq!(facts.scrape_jobs.len(), 1);
    }

    #[test]
    fn structure_without_promtool() {
        let text = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(rate(x[1m]) >\n        for: 5x\n        forr: 1m\n  - name: a\n    rules:\n      - record: \"bad name\"\n        expr: up\n";
        let file = SourceFile::new("r.yml", text);
        let doc = load_yaml(&file).unwrap();
        let p = structure(&doc);
        let lines: Vec<(usize, &str)> = p.iter().map(|(m, s)| (s.line, m.as_str())).collect();
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 5 && m.contains("unclosed `(`")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 6 && m.contains("duration")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 7 && m.contains("forr")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 8 && m.contains("repeated")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 10 && m.contains("recording rule name")),
            "{lines:?}"
        );
        let ok = SourceFile::new("ok.yml", "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up == 0\n        for: 5m\n");
        assert!(structure(&load_yaml(&ok).unwrap()).is_empty());
    }

    #[test]
    fn promtool_output_is_positioned() {
        let text = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(\n";
        let input = Input {
            path: PathBuf::from("r.yml"),
            file: SourceFile::new("r.yml", text),
        };
        let out = "Checking r.yml\n  FAILED:\nr.yml: 5:15: group \"a\", rule 1, \"X\": could not parse expression\nr.yml: yaml: unmarshal errors:\n  line 4: field forr not found\nr.yml: not a valid duration string: \"5x\"\n";
        let p = parse_promtool(&input, out);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].1.line, p[0].1.col), (5, 15));
        assert_eq!(p[1].1.line, 4);
        assert_eq!(p[2].1.line, 1);
        assert!(p[2].0.contains("5x"));
    }

    #[test]
    fn promtool_when_installed() {
        if Command::new("promtool").arg("--version").output().is_err() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("mqttforge-promtool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.rules.yml");
        let text = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(rate(x[1m]) > 1\n";
        std::fs::write(&path, text).unwrap();
        let input = Input {
            path: path.clone(),
            file: SourceFile::new(path.display().to_string(), text),
        };
        let mut facts = Facts::new(Origin::File, Environment::Production);
        extract(&input, &mut facts).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(
            facts.prometheus_problems.len(),
            1,
            "{:?}",
            facts.prometheus_problems
        );
        assert_eq!(facts.prometheus_problems[0].1.line, 5);
    }

    #[test]
    fn capacity_comments() {
        let (facts, r) = run("r.yml", "# mqttforge:capacity clients=300000 connect_rate=1000/s max_payload=4KiB\ngroups: []\n");
        r.unwrap();
        let c = facts.capacity.unwrap();
        assert_eq!(
            (c.clients, c.connect_rate_per_s, c.max_payload),
            (300_000, Some(1000.0), 4096)
        );
        assert_eq!((c.span.line, c.span.col), (1, 3));
        let (_, r) = run("r.yml", "# mqttforge:capacity clients=lots\n");
        assert!(r.unwrap_err().message.contains("whole number"));
        let (_, r) = run("r.yml", "# mqttforge:capacity rate=1/s\n");
        assert!(r.is_err());
        let (_, r) = run("r.yml", "# mqttforge:capacity connect_rate=1/s\n");
        assert!(r.unwrap_err().message.contains("clients=N"));
    }

    #[test]
    fn garbage_is_a_positioned_error_or_nothing() {
        for text in [
            "groups: [\n",
            "- a\n- b\n",
            "\u{0}\u{1}",
            "groups: 5\n",
            "groups:\n  - 7\n  - rules: 3\n",
            "scrape_configs: {a: 1}\n",
            "",
        ] {
            let (_, r) = run("g.yml", text);
            if let Err(d) = r {
                assert!(d.primary_span().is_some());
            }
        }
        let file = SourceFile::new("g.yml", "groups:\n  - 7\n  - rules: 3\n");
        let p = structure(&load_yaml(&file).unwrap());
        assert!(p.len() >= 2);
    }
}
