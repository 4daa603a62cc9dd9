//! `mqttforge lint` as a library call: a validated site rendered as
//! production renders it, its facts, the rules.

use super::Suppression;
use crate::diag::Diagnostic;
use crate::render::{self, Derived, RenderOptions, SecretMode};
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

/// The spec's `lint.ignore` entries (each with its required reason).
pub fn suppressions(site: &Site) -> Vec<Suppression> {
    site.spec
        .lint
        .ignore
        .iter()
        .map(|(id, reason)| Suppression {
            id: id.clone(),
            reason: reason.0.clone(),
            file: None,
            line: None,
        })
        .collect()
}
