//! The one diagnostic type every stage reports with, and its renderers.
//!
//! Stages build [`Diagnostic`]s (code, severity, message, labelled spans,
//! help); `text` and `json` turn a batch of them into output. Nothing else
//! formats a problem for the user.

mod code;
mod json;
mod text;

pub use code::{markdown as codes_markdown, Code, CODES};
pub use json::to_json;
pub use text::{render_text, Style};

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A position with a note: the primary label is where the problem is, a
/// secondary one gives context ("first defined here").
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

impl Label {
    pub fn primary(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: one_line(message.into()),
            primary: true,
        }
    }

    pub fn secondary(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: one_line(message.into()),
            primary: false,
        }
    }
}

/// A message, label or help as every output shows it: one line, control
/// characters escaped (`\u{c}`, `\r`, `\n`), whatever value of the input it
/// quotes, so no input can send terminal escapes or forge a line of output.
/// Every diagnostic's text goes through here (the constructors below); the
/// source lines of snippets through `SourceFile::shown_line`.
fn one_line(text: String) -> String {
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One problem: what is wrong with which value, and how to fix it.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: one_line(message.into()),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: Label) -> Diagnostic {
        self.labels.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(one_line(help.into()));
        self
    }

    /// Where the problem is: the first primary label.
    pub fn primary_span(&self) -> Option<&Span> {
        self.labels.iter().find(|l| l.primary).map(|l| &l.span)
    }
}

/// Orders diagnostics by file, line and column (stable for equal positions),
/// so output does not depend on the order checks ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.primary_span()
                .map(|s| (s.file.name.clone(), s.line, s.col))
                .unwrap_or_default()
        };
        key(a).cmp(&key(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_labels_and_help_hold_no_control_character() {
        let file = crate::source::SourceFile::new("x", "a\n");
        let d = Diagnostic::error(Code::Internal, "on `\u{c}127.0.0.1`\rforged\x1b[31m")
            .with_label(Label::primary(Span::point(&file, 1, 1), "at\nhere"))
            .with_help("use\ta word");
        assert_eq!(d.message, "on `\\u{c}127.0.0.1`\\rforged\\u{1b}[31m");
        assert_eq!(d.labels[0].message, "at\\nhere");
        assert_eq!(d.help.as_deref(), Some("use\\ta word"));
        assert_eq!(one_line("plain `text` é".into()), "plain `text` é");
    }
}
