//! The production-readiness linter: a registry of rules with stable IDs
//! (../shared/RULES.md), each in its own file under `rules/<area>/`, named
//! `mq_<area>_<nnn>_<pattern>.rs`. A rule reads [`Facts`] and reports
//! [`Finding`]s; the same rules run on a spec (`lint`, facts from the site
//! and what it renders) and on hand-written files (`audit`, facts from
//! `crate::audit`).
//!
//! A rule's file starts with `//!` lines that are its documentation (What it
//! does / Why it matters / Example / Use instead): `mqttforge explain` prints
//! them and `docs/rules.md` is generated from them.

pub mod baseline;
pub mod rules;
pub mod sarif;
mod site;

pub use site::{lint_site, suppressions};

use crate::diag::Code;
use crate::diag::{Diagnostic, Label, Severity};
pub use crate::facts::Facts;
use crate::source::Span;

/// The published rule documentation (`docs/rules.md` of the repository);
/// each rule has the anchor of its lower-case ID there.
pub const RULES_DOC_URL: &str = "https://github.com/mqttforge/mqttforge/blob/main/docs/rules.md";

/// Where a rule's facts can be seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub lint: bool,
    pub audit: bool,
}

pub const BOTH: Scope = Scope {
    lint: true,
    audit: true,
};
pub const LINT_ONLY: Scope = Scope {
    lint: true,
    audit: false,
};
pub const AUDIT_ONLY: Scope = Scope {
    lint: false,
    audit: true,
};

/// One rule of the catalog.
pub struct Rule {
    pub id: &'static str,
    /// The pattern it flags, as in its file name (`plaintext_listener`).
    pub name: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    /// The rule's source file; its leading `//!` lines are its documentation.
    pub source: &'static str,
    pub check: fn(&Facts, &mut Vec<Finding>),
}

impl Rule {
    /// The documentation: the leading `//!` comment of the rule's file.
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.source.lines() {
            let Some(rest) = line.strip_prefix("//!") else {
                break;
            };
            out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            out.push('\n');
        }
        out
    }

    /// Where the rule's documentation is published: its anchor in
    /// `docs/rules.md` ([`RULES_DOC_URL`]`#mq-tls-001`), the `helpUri` of SARIF.
    pub fn help_uri(&self) -> String {
        format!("{RULES_DOC_URL}#{}", self.anchor())
    }

    /// The rule's anchor in `docs/rules.md` (`mq-tls-001`).
    pub fn anchor(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    /// Why no suppression can switch the rule off, if none can
    /// ([`rules::UNSUPPRESSIBLE`]).
    pub fn unsuppressible(&self) -> Option<&'static str> {
        rules::unsuppressible(self.id)
    }

    /// The first line of the documentation.
    pub fn title(&self) -> String {
        self.doc()
            .lines()
            .next()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_string()
    }
}

/// A finding: what is wrong with which value, and how to fix it.
#[derive(Clone, Debug)]
pub struct Finding {
    pub message: String,
    pub help: String,
    pub span: Span,
    /// A second location ("client certificates required here").
    pub related: Option<(Span, String)>,
    /// Severity if lower than the rule's (non-production sites, info cases).
    pub severity: Option<Severity>,
}

impl Finding {
    pub fn new(span: &Span, message: impl Into<String>, help: impl Into<String>) -> Finding {
        Finding {
            message: message.into(),
            help: help.into(),
            span: span.clone(),
            related: None,
            severity: None,
        }
    }

    pub fn with_related(mut self, span: &Span, note: impl Into<String>) -> Finding {
        self.related = Some((span.clone(), note.into()));
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = Some(severity);
        self
    }
}

/// A suppressed rule: by the spec's `lint.ignore` or an inline comment.
#[derive(Clone, Debug)]
pub struct Suppression {
    pub id: String,
    pub reason: String,
    /// Inline suppressions apply to their file only.
    pub file: Option<String>,
    /// Inline suppressions apply to their line and the next.
    pub line: Option<usize>,
    /// The last day it applies; after it, it is reported as expired and
    /// the rule applies again.
    pub until: Option<time::Date>,
    /// Where it is written (the spec key, the comment): findings about the
    /// suppression itself point here.
    pub span: Span,
}

/// The environment variable that sets the day suppressions are judged on
/// (`YYYY-MM-DD`), so that a run, a test or a CI job can be reproduced.
pub const TODAY_VAR: &str = "MQTTFORGE_TODAY";

/// The day `until:` dates are judged on: [`TODAY_VAR`] if set, else
/// today's date in UTC. Err: the variable is set but is not a date.
pub fn today() -> Result<time::Date, String> {
    match std::env::var(TODAY_VAR) {
        Ok(text) => crate::spec::units::parse_date(&text)
            .ok_or_else(|| format!("{TODAY_VAR}=`{text}` is not a date; write YYYY-MM-DD")),
        Err(_) => Ok(time::OffsetDateTime::now_utc().date()),
    }
}

/// Runs every rule that applies in `scope` and converts findings into
/// diagnostics, dropping suppressed ones. Sorted by position. Suppressions
/// are judged on [`today`] (the clock if [`TODAY_VAR`] is not a date: the
/// command line refuses such a value before it gets here).
pub fn run(facts: &Facts, audit: bool, suppressions: &[Suppression]) -> Vec<Diagnostic> {
    let today = today().unwrap_or_else(|_| time::OffsetDateTime::now_utc().date());
    run_on(facts, audit, suppressions, today)
}

/// [`run`] with suppressions judged on `today`: an expired suppression or
/// one of a rule that cannot be suppressed does not apply, and is itself
/// reported at its position.
pub fn run_on(
    facts: &Facts,
    audit: bool,
    suppressions: &[Suppression],
    today: time::Date,
) -> Vec<Diagnostic> {
    let (active, mut out) = judge_suppressions(suppressions, today);
    let suppressed = SuppressionIndex::new(&active);
    for rule in rules::all() {
        if (audit && !rule.scope.audit) || (!audit && !rule.scope.lint) {
            continue;
        }
        let mut findings = Vec::new();
        (rule.check)(facts, &mut findings);
        for f in findings {
            if suppressed.covers(rule.id, &f.span) {
                continue;
            }
            let mut d = Diagnostic::error(Code::Rule(rule.id), f.message)
                .with_label(Label::primary(f.span, "here"))
                .with_help(f.help);
            d.severity = f.severity.unwrap_or(rule.severity).min(rule.severity);
            if let Some((span, note)) = f.related {
                d = d.with_label(Label::secondary(span, note));
            }
            out.push(d);
        }
    }
    crate::diag::sort(&mut out);
    out
}

/// The suppressions that apply on `today`, and a finding for each that does
/// not: expired (a warning: the rule applies again) or of a rule that
/// cannot be suppressed (an error naming the rule).
fn judge_suppressions(
    suppressions: &[Suppression],
    today: time::Date,
) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut active = Vec::new();
    let mut out = Vec::new();
    for s in suppressions {
        if let Some(why) = rules::unsuppressible(&s.id) {
            out.push(unsuppressible_finding(
                &s.id,
                why,
                s.span.clone(),
                "suppressed here",
            ));
        } else if let Some(until) = s.until.filter(|until| *until < today) {
            let mut d = Diagnostic::error(
                Code::Suppression,
                format!(
                    "the suppression of {} expired on {until}: the rule applies again",
                    s.id
                ),
            )
            .with_label(Label::primary(s.span.clone(), format!("expired on {until}")))
            .with_help(format!(
                "fix what {} reports, or renew the suppression with a later `until` if its reason ({}) still holds",
                s.id, s.reason
            ));
            d.severity = Severity::Warning;
            out.push(d);
        } else {
            active.push(s.clone());
        }
    }
    (active, out)
}

/// The error for a suppression (spec, inline or baseline) of a rule that
/// cannot be suppressed; the rule's findings are reported all the same.
pub fn unsuppressible_finding(id: &str, why: &str, span: Span, label: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Suppression,
        format!("{id} cannot be suppressed: {why}"),
    )
    .with_label(Label::primary(span, label))
    .with_help(format!(
        "remove the suppression and fix what {id} reports (`mqttforge explain {id}`)"
    ))
}

/// Whether a diagnostic is a rule's finding. Everything else (a file that
/// cannot be read or parsed, an unknown kind, a bad suppression, an expired
/// one) is never hidden by `--select`, `--severity` or a baseline.
pub fn is_rule_finding(d: &Diagnostic) -> bool {
    d.code.is_rule()
}

/// Lowers a finding's severity outside production, as the rule docs say.
pub fn relaxed(facts: &Facts, severity: Severity) -> Option<Severity> {
    (!facts.production()).then_some(severity)
}

/// Whether the findings fail the run: errors always, warnings with `--deny warnings`.
/// Suppressions by what they name (rule, file or any, line or any), so
/// that each finding costs a few lookups, not one per suppression.
struct SuppressionIndex<'a> {
    keys: std::collections::HashSet<(&'a str, Option<&'a str>, Option<usize>)>,
}

impl<'a> SuppressionIndex<'a> {
    fn new(suppressions: &'a [Suppression]) -> SuppressionIndex<'a> {
        SuppressionIndex {
            keys: suppressions
                .iter()
                .map(|s| (s.id.as_str(), s.file.as_deref(), s.line))
                .collect(),
        }
    }

    /// Whether a suppression of `id` applies to a finding at `span`: on its
    /// file (or any) and on its line or the line above (or any line).
    fn covers(&self, id: &str, span: &Span) -> bool {
        let mut lines = vec![None, Some(span.line)];
        lines.extend(span.line.checked_sub(1).map(Some));
        [None, Some(span.file.name.as_str())].iter().any(|file| {
            lines
                .iter()
                .any(|line| self.keys.contains(&(id, *file, *line)))
        })
    }
}

pub fn fails(diags: &[Diagnostic], deny_warnings: bool) -> bool {
    diags.iter().any(|d| {
        d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning)
    })
}

/// The inline suppression comment's keyword.
pub const INLINE_DIRECTIVE: &str = "mqttforge:ignore";

/// Inline suppressions in a text file (any comment syntax):
/// `# mqttforge:ignore MQ-XXX-NNN [until=YYYY-MM-DD] <reason>`. A
/// suppression without a reason, of an unknown rule or with a malformed
/// date is itself reported, at its position.
pub fn inline_suppressions(
    file: &std::sync::Arc<crate::source::SourceFile>,
) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut sup = Vec::new();
    let mut diags = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let Some(pos) = line.find(INLINE_DIRECTIVE) else {
            continue;
        };
        match inline_suppression(file, i + 1, line, pos) {
            Ok(s) => sup.push(s),
            Err(d) => diags.push(d),
        }
    }
    (sup, diags)
}

/// One inline suppression: the directive at byte `pos` of line `number`.
fn inline_suppression(
    file: &std::sync::Arc<crate::source::SourceFile>,
    number: usize,
    line: &str,
    pos: usize,
) -> Result<Suppression, Diagnostic> {
    let col = |byte: usize| line[..byte].chars().count() + 1;
    let span = Span::point(file, number, col(pos));
    let bad = |span: Span, message: String, help: &str| {
        Diagnostic::error(Code::Suppression, message)
            .with_label(Label::primary(span, "here"))
            .with_help(help.to_string())
    };
    const FORM: &str = "write `mqttforge:ignore MQ-XXX-NNN [until=YYYY-MM-DD] <reason>`";
    // Each word with its byte offset in the line.
    let mut words = line[pos + INLINE_DIRECTIVE.len()..]
        .split_whitespace()
        .map(|w| (w, w.as_ptr() as usize - line.as_ptr() as usize));
    let (id, mut rest_at) = match words.next() {
        Some((w, at)) => (w.trim_end_matches("*/").to_string(), at + w.len()),
        None => (String::new(), line.len()),
    };
    if crate::catalog::find(&id).is_none() {
        return Err(bad(span, format!("`{id}` is not a rule ID"), FORM));
    }
    let mut until = None;
    if let Some((word, at)) = words
        .next()
        .filter(|(w, _)| w.starts_with("until=") || w.starts_with("until:"))
    {
        // `until:DATE` and other forms: the error points at the whole word.
        let date = word.strip_prefix("until=").unwrap_or(word);
        let date_at = at + word.len() - date.len();
        let date_span = Span {
            end_col: col(at + word.len()).max(col(date_at) + 1),
            ..Span::point(file, number, col(date_at))
        };
        until = Some(crate::spec::units::parse_date(date).ok_or_else(|| {
            bad(
                date_span,
                format!("`{word}` does not give a date: the suppression of {id} needs `until=YYYY-MM-DD`, a day of the calendar"),
                "write the last day the suppression applies, such as `until=2027-03-01`",
            )
        })?);
        rest_at = at + word.len();
    }
    let reason = line[rest_at..]
        .trim()
        .trim_end_matches("*/")
        .trim()
        .to_string();
    if reason.is_empty() {
        return Err(bad(
            span,
            format!("the suppression of {id} gives no reason"),
            "say why the rule does not apply: `mqttforge:ignore MQ-XXX-NNN [until=YYYY-MM-DD] <reason>`",
        ));
    }
    Ok(Suppression {
        id,
        reason,
        file: Some(file.name.clone()),
        line: Some(number),
        until,
        span,
    })
}

/// The documentation of every rule as Markdown (`docs/rules.md`); each
/// rule's section has an explicit anchor, its lower-case ID, which SARIF's
/// `helpUri` links to.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# mqttforge rules\n\n<!-- generated by `mqttforge explain --all`; a test keeps it in sync -->\n\n| ID | severity | lint | audit | suppressible | rule |\n|---|---|---|---|---|---|\n",
    );
    for r in rules::all() {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} | {} |\n",
            r.id,
            r.anchor(),
            r.severity.as_str(),
            if r.scope.lint { "yes" } else { "" },
            if r.scope.audit { "yes" } else { "" },
            if r.unsuppressible().is_some() {
                "no"
            } else {
                "yes"
            },
            r.title()
        ));
    }
    for r in rules::all() {
        out.push_str(&format!(
            "\n<a id=\"{}\"></a>\n\n## {}\n\n`{}` — {}\n\n",
            r.anchor(),
            r.id,
            r.name,
            r.severity.as_str()
        ));
        out.push_str(&r.doc());
        if let Some(note) = unsuppressible_note(r) {
            out.push_str(&format!("\n{note}\n"));
        }
    }
    out
}

/// The line rule docs (`explain`, `docs/rules.md`, SARIF help) add for a
/// rule that cannot be suppressed.
pub fn unsuppressible_note(rule: &Rule) -> Option<String> {
    rule.unsuppressible().map(|why| {
        format!("Cannot be suppressed (`lint.ignore`, `mqttforge:ignore` or a baseline): {why}.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_index_agrees_with_the_rule_it_indexes() {
        use crate::source::{SourceFile, Span};
        let at = SourceFile::new("spec.yaml", "");
        let sup = |id: &str, file: Option<&str>, line: Option<usize>| Suppression {
            id: id.into(),
            reason: "r".into(),
            file: file.map(str::to_string),
            line,
            until: None,
            span: Span::point(&at, 1, 1),
        };
        let all = [
            sup("MQ-A", None, None),
            sup("MQ-B", Some("a.conf"), Some(3)),
            sup("MQ-C", Some("b.conf"), None),
            sup("MQ-D", None, Some(1)),
        ];
        let files = [SourceFile::new("a.conf", ""), SourceFile::new("b.conf", "")];
        for n in 0..=all.len() {
            let given = &all[..n];
            let index = SuppressionIndex::new(given);
            for id in ["MQ-A", "MQ-B", "MQ-C", "MQ-D", "MQ-E"] {
                for file in &files {
                    for line in 0..6 {
                        let span = Span::point(file, line, 1);
                        let want = given.iter().any(|s| {
                            s.id == id
                                && s.file.as_ref().is_none_or(|f| *f == span.file.name)
                                && s.line.is_none_or(|l| span.line == l || span.line == l + 1)
                        });
                        assert_eq!(
                            index.covers(id, &span),
                            want,
                            "{id} {} {line} {n}",
                            file.name
                        );
                    }
                }
            }
        }
    }
}
