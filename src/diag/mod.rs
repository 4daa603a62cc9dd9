//! The one diagnostic type every stage reports with, and its renderers.
//!
//! Stages build [`Diagnostic`]s (code, severity, message, labelled spans,
//! help); `text` and `json` turn a batch of them into output. Nothing else
//! formats a problem for the user.

mod json;
mod text;

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
            message: message.into(),
            primary: true,
        }
    }

    pub fn secondary(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
            primary: false,
        }
    }
}

/// One problem: what is wrong with which value, and how to fix it.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: code.into(),
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: Label) -> Diagnostic {
        self.labels.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
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
