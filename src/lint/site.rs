//! `mqttforge lint` as a library call: a validated site rendered as
//! production renders it, its facts, the rules.

use super::Suppression;
use crate::diag::Diagnostic;
use crate::render::{self, Derived, RenderOptions, SecretMode};
use crate::source::pointer_join;
use crate::spec::Site;

/// `mqttforge lint` on a validated site: render it as production would
/// (secrets left out), extract the facts, run the lint rules. Err: the
/// render's own errors.
pub fn lint_site(site: &Site, spec_name: &str) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let opts = RenderOptions::production(spec_name.to_string(), SecretMode::Skip);
    let tree = render::render(site, &opts)?;
    let derived = Derived::new(site, &opts.placement());
    let facts = crate::facts::spec::facts(site, &derived, &tree);
    Ok(super::run(&facts, false, &suppressions(site)))
}

/// The spec's `lint.ignore` entries (each with its required reason and,
/// optionally, the last day it applies), at the position of their key.
pub fn suppressions(site: &Site) -> Vec<Suppression> {
    site.spec
        .lint
        .ignore
        .iter()
        .map(|(id, entry)| {
            let pointer = pointer_join("/lint/ignore", id);
            Suppression {
                id: id.clone(),
                reason: entry.reason().to_string(),
                file: None,
                line: None,
                // Validated at load (a day of the calendar).
                until: entry.until().and_then(crate::spec::units::parse_date),
                span: site.spans.key(&pointer),
            }
        })
        .collect()
}
