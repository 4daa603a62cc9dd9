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

pub mod rules;
pub mod sarif;
mod site;

pub use site::{lint_site, suppressions};

use crate::diag::Code;
use crate::diag::{Diagnostic, Label, Severity};
pub use crate::facts::Facts;
use crate::source::Span;

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
}

/// Runs every rule that applies in `scope` and converts findings into
/// diagnostics, dropping suppressed ones. Sorted by position.
pub fn run(facts: &Facts, audit: bool, suppressions: &[Suppression]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let suppressed = SuppressionIndex::new(suppressions);
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

/// Inline suppressions in a text file: `# mqttforge:ignore MQ-XXX-NNN reason`
/// (any comment syntax). A suppression without a reason is itself reported.
pub fn inline_suppressions(
    file: &std::sync::Arc<crate::source::SourceFile>,
) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut sup = Vec::new();
    let mut diags = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let Some(pos) = line.find("mqttforge:ignore") else {
            continue;
        };
        let rest = line[pos + "mqttforge:ignore".len()..].trim();
        let mut parts = rest.splitn(2, char::is_whitespace);
        let id = parts.next().unwrap_or("").to_string();
        let reason = parts
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches("*/")
            .trim()
            .to_string();
        let col = line[..pos].chars().count() + 1;
        let span = Span::point(file, i + 1, col);
        if crate::catalog::find(&id).is_none() {
            diags.push(
                Diagnostic::error(Code::Suppression, format!("`{id}` is not a rule ID"))
                    .with_label(Label::primary(span, "here"))
                    .with_help("write `mqttforge:ignore MQ-XXX-NNN <reason>`"),
            );
        } else if reason.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::Suppression,
                    format!("the suppression of {id} gives no reason"),
                )
                .with_label(Label::primary(span, "here"))
                .with_help(
                    "say why the rule does not apply: `mqttforge:ignore MQ-XXX-NNN <reason>`",
                ),
            );
        } else {
            sup.push(Suppression {
                id,
                reason,
                file: Some(file.name.clone()),
                line: Some(i + 1),
            });
        }
    }
    (sup, diags)
}

/// The documentation of every rule as Markdown (`docs/rules.md`).
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# mqttforge rules\n\n<!-- generated by `mqttforge explain --all`; a test keeps it in sync -->\n\n| ID | severity | lint | audit | rule |\n|---|---|---|---|---|\n",
    );
    for r in rules::all() {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} |\n",
            r.id,
            r.id.to_lowercase(),
            r.severity.as_str(),
            if r.scope.lint { "yes" } else { "" },
            if r.scope.audit { "yes" } else { "" },
            r.title()
        ));
    }
    for r in rules::all() {
        out.push_str(&format!(
            "\n## {}\n\n`{}` — {}\n\n",
            r.id,
            r.name,
            r.severity.as_str()
        ));
        out.push_str(&r.doc());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_index_agrees_with_the_rule_it_indexes() {
        use crate::source::{SourceFile, Span};
        let sup = |id: &str, file: Option<&str>, line: Option<usize>| Suppression {
            id: id.into(),
            reason: "r".into(),
            file: file.map(str::to_string),
            line,
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
