//! `mqttforge runbook` as a library call: the site's `RUNBOOK.md`, exactly as
//! `render` and `apply` write it (the render pipeline builds it, see
//! [`crate::render::targets::runbook`]), in Markdown or as plain text.

use crate::diag::Diagnostic;
use crate::render::{self, targets::runbook::PATH, RenderOptions, SecretMode};
use crate::spec::Site;

/// The runbook's Markdown, as the rendered tree holds it.
pub fn markdown(site: &Site, spec_name: &str) -> Result<String, Vec<Diagnostic>> {
    let opts = RenderOptions::production(spec_name.to_string(), SecretMode::Skip);
    let tree = render::render(site, &opts)?;
    let file = tree
        .files
        .get(PATH)
        .expect("every rendered tree holds the runbook");
    Ok(String::from_utf8_lossy(&file.contents).into_owned())
}

/// Plain text for a terminal: headings underlined, tables as aligned
/// columns, code blocks indented, Markdown escapes and emphasis removed.
pub fn text(markdown: &str) -> String {
    let mut out = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if !line.starts_with('|') || in_code {
            flush_table(&mut table, &mut out);
        }
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if line.starts_with('|') {
            if !line.starts_with("|---") {
                table.push(cells(line));
            }
            continue;
        }
        if line.starts_with("<!--") {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            let title = inline(&line[hashes + 1..]);
            let rule = if hashes == 1 { '=' } else { '-' };
            out.push_str(&format!(
                "{title}\n{}\n",
                rule.to_string().repeat(title.chars().count())
            ));
            continue;
        }
        out.push_str(&inline(line));
        out.push('\n');
    }
    flush_table(&mut table, &mut out);
    out
}

/// A table row's cells (split on unescaped `|`), as plain text.
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut escaped = false;
    for c in line.trim().trim_start_matches('|').chars() {
        match c {
            '|' if !escaped => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    if !cell.trim().is_empty() {
        cells.push(cell);
    }
    cells.iter().map(|c| inline(c.trim())).collect()
}

fn flush_table(table: &mut Vec<Vec<String>>, out: &mut String) {
    if table.is_empty() {
        return;
    }
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            table
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in table.drain(..) {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
}

/// Inline Markdown as text: backslash escapes resolved, code-span
/// backticks and `**` dropped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| n.is_ascii_punctuation()) => {
                out.extend(chars.next());
            }
            '`' => {}
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_resolves_markdown() {
        let md = "<!-- x -->\n# Title\n| a | b |\n|---|---|\n| `x\\|y` | **ok** |\n```sh\nls /\n```\nuse \\`tick\\`\n";
        assert_eq!(
            text(md),
            "Title\n=====\na    b\nx|y  ok\n    ls /\nuse `tick`\n"
        );
    }
}
