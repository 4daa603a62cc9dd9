//! `mqttforge checklist` as a library call: the 24-item production
//! checklist of DOMAIN.md section 8 for a site, each item generated (which
//! file), checked (which lint rules), proven (which `verify` probe) or
//! missing (what to do). The rows are the ones `RUNBOOK.md` embeds
//! ([`crate::render::checklist`]); this adds, per item, the lint findings
//! its rules report on the site.

use serde_json::{json, Value};

use crate::diag::{Diagnostic, Severity};
use crate::render::checklist::{Row, Status};
use crate::render::{self, targets::runbook, RenderOptions, SecretMode};
use crate::spec::Site;

/// One item of a site's checklist and what lint says about it.
#[derive(Clone, Debug)]
pub struct Item {
    pub row: Row,
    /// Rule IDs of the item's rules that report errors or warnings on the site.
    pub findings: Vec<String>,
}

/// The site's checklist.
pub fn checklist(site: &Site, spec_name: &str) -> Result<Vec<Item>, Vec<Diagnostic>> {
    let opts = RenderOptions::production(spec_name.to_string(), SecretMode::Skip);
    let rows = render::checklist(site, &opts)?;
    let diags = crate::lint::lint_site(site, spec_name)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut findings: Vec<String> = row
                .checked
                .iter()
                .filter(|id| {
                    diags
                        .iter()
                        .any(|d| d.code == **id && d.severity >= Severity::Warning)
                })
                .map(|id| id.to_string())
                .collect();
            findings.dedup();
            Item { row, findings }
        })
        .collect())
}

/// Whether any item is missing (`mqttforge checklist` then exits 1).
pub fn any_missing(items: &[Item]) -> bool {
    items.iter().any(|i| i.row.status == Status::Missing)
}

/// The Markdown table `RUNBOOK.md` embeds, then the findings.
pub fn markdown(items: &[Item]) -> Result<String, Vec<Diagnostic>> {
    let rows: Vec<Row> = items.iter().map(|i| i.row.clone()).collect();
    let mut out = runbook::checklist_markdown(&rows)?;
    let flagged: Vec<&Item> = items.iter().filter(|i| !i.findings.is_empty()).collect();
    if !flagged.is_empty() {
        out.push_str("\nLint findings (`mqttforge lint`):\n\n");
        for i in flagged {
            out.push_str(&format!("- {}: {}\n", i.row.id, i.findings.join(", ")));
        }
    }
    Ok(out)
}

/// How an item is covered, in one line of text.
fn how(row: &Row) -> String {
    let mut parts = Vec::new();
    if !row.generated.is_empty() {
        parts.push(format!("generated: {}", row.generated.join(", ")));
    }
    if !row.checked.is_empty() {
        parts.push(format!("checked: {}", row.checked.join(", ")));
    }
    if let Some(p) = row.proven {
        parts.push(format!("proven: verify \"{p}\""));
    }
    if let Some(t) = &row.todo {
        parts.push(format!("to do: {t}"));
    }
    parts.join("; ")
}

/// One line per item: id, status, title, how it is covered, findings.
pub fn text(items: &[Item]) -> String {
    let mut out = String::new();
    for i in items {
        let r = &i.row;
        out.push_str(&format!(
            "{:<7} {:<9} {}\n        {}\n",
            r.id,
            r.status.as_str(),
            r.title,
            how(r)
        ));
        if !i.findings.is_empty() {
            out.push_str(&format!(
                "        lint findings: {}\n",
                i.findings.join(", ")
            ));
        }
    }
    let count = |s: Status| items.iter().filter(|i| i.row.status == s).count();
    out.push_str(&format!(
        "{} items: {} proven, {} generated, {} checked, {} missing\n",
        items.len(),
        count(Status::Proven),
        count(Status::Generated),
        count(Status::Checked),
        count(Status::Missing)
    ));
    out
}

pub fn json(site: &Site, items: &[Item]) -> Value {
    json!({
        "site": site.name(),
        "missing": items.iter().filter(|i| i.row.status == Status::Missing).count(),
        "items": items.iter().map(|i| {
            let mut v = serde_json::to_value(&i.row).expect("rows serialize");
            v["findings"] = json!(i.findings);
            v
        }).collect::<Vec<_>>(),
    })
}
