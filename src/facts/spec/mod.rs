//! Facts from a validated site and the tree it renders (`mqttforge lint`).
//! Spans point at the spec's values; one module per group of facts.

mod access;
mod ha;
mod listeners;
mod observability;
mod recovery;

use crate::facts::{Facts, NodeFact, Origin};
use crate::render::{Derived, OutputTree};
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
