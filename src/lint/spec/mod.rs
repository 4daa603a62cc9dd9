//! Facts from a validated site and the tree it renders (`mqttforge lint`).
//! Spans point at the spec's values; one module per group of facts.

mod access;
mod ha;
mod listeners;
mod observability;
mod recovery;

use super::facts::{Facts, NodeFact, Origin};
use super::Suppression;
use crate::diag::Diagnostic;
use crate::render::{self, Derived, OutputTree, RenderOptions, SecretMode};
use crate::spec::Site;

/// What extractors read.
pub struct Input<'a> {
    pub site: &'a Site,
    pub derived: &'a Derived,
    pub tree: &'a OutputTree,
}

impl Input<'_> {
    /// The span of a spec value (or its nearest present ancestor).
    pub fn span(&self, pointer: &str) -> crate::source::Span {
        self.site.spans.value(pointer)
    }

    /// The span of a key (for values that are absent, point at their parent's key).
    pub fn key_span(&self, pointer: &str) -> crate::source::Span {
        self.site.spans.key(pointer)
    }
}

pub fn facts(site: &Site, derived: &Derived, tree: &OutputTree) -> Facts {
    let input = Input {
        site,
        derived,
        tree,
    };
    let mut f = Facts::new(Origin::Spec, site.spec.environment);
    f.edge = site.spec.edge;
    f.engine = Some(site.spec.engine);
    f.nodes = site
        .spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeFact {
            name: n.name.0.clone(),
            span: input.span(&format!("/nodes/{i}/name")),
        })
        .collect();
    listeners::extract(&input, &mut f);
    access::extract(&input, &mut f);
    ha::extract(&input, &mut f);
    observability::extract(&input, &mut f);
    recovery::extract(&input, &mut f);
    f
}

/// `mqttforge lint` on a validated site: render it as production would
/// (secrets left out), extract the facts, run the lint rules. Err: the
/// render's own errors.
pub fn lint_site(site: &Site, spec_name: &str) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let opts = RenderOptions::production(spec_name.to_string(), SecretMode::Skip);
    let tree = render::render(site, &opts)?;
    let derived = Derived::new(site, &opts.placement());
    let facts = facts(site, &derived, &tree);
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
