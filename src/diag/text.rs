//! Human output: `severity[code]: message`, then file:line:col, the source
//! line with a caret under the offending value, and the help line.

use std::fmt::Write;

use super::{Diagnostic, Label, Severity};

/// Whether to colour the output (only ever on a terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

struct Paint(Style);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        match self.0 {
            Style::Plain => s.to_string(),
            Style::Color => format!("\x1b[{code}m{s}\x1b[0m"),
        }
    }
}

pub fn render_text(diags: &[Diagnostic], style: Style) -> String {
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, d, style);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, d: &Diagnostic, style: Style) {
    let p = Paint(style);
    let sev_color = match d.severity {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "1;36",
    };
    let _ = writeln!(
        out,
        "{}: {}",
        p.wrap(sev_color, &format!("{}[{}]", d.severity.as_str(), d.code)),
        p.wrap("1", &d.message)
    );
    let width = d
        .labels
        .iter()
        .map(|l| l.span.line.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);
    let mut ordered: Vec<&Label> = d.labels.iter().filter(|l| l.primary).collect();
    ordered.extend(d.labels.iter().filter(|l| !l.primary));
    for (i, label) in ordered.iter().enumerate() {
        let s = &label.span;
        let arrow = if i == 0 { "-->" } else { ":::" };
        let _ = writeln!(
            out,
            "{pad}{} {}:{}:{}",
            p.wrap("1;34", arrow),
            s.file.name.escape_debug(),
            s.line,
            s.col
        );
        let bar = p.wrap("1;34", "|");
        let _ = writeln!(out, "{pad} {bar}");
        let line_text = s.file.shown_line(s.line);
        let _ = writeln!(
            out,
            "{} {bar} {}",
            p.wrap("1;34", &format!("{:>width$}", s.line)),
            line_text
        );
        let chars: Vec<char> = line_text.chars().collect();
        let start = s.col.saturating_sub(1).min(chars.len());
        let end = if s.end_line == s.line {
            s.end_col.saturating_sub(1).min(chars.len())
        } else {
            chars.len()
        };
        let len = end.saturating_sub(start).max(1);
        // Keep tabs so the caret lines up under the value.
        let lead: String = chars[..start]
            .iter()
            .map(|c| if *c == '\t' { '\t' } else { ' ' })
            .collect();
        let mark = if label.primary { "^" } else { "-" };
        let color = if label.primary { sev_color } else { "1;34" };
        let underline = p.wrap(color, &format!("{} {}", mark.repeat(len), label.message));
        let _ = writeln!(out, "{pad} {bar} {lead}{}", underline.trim_end());
    }
    if let Some(help) = &d.help {
        let _ = writeln!(
            out,
            "{pad} {} {}: {help}",
            p.wrap("1;34", "="),
            p.wrap("1", "help")
        );
    }
}
