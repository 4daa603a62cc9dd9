//! The rule registry: one table per area, one file per rule. IDs come from
//! the catalog (`crate::catalog`, ../shared/RULES.md) and never change.

pub mod acl;
pub mod auth;
pub mod cfg;
pub mod dr;
pub mod ha;
pub mod obs;
pub mod perf;
pub mod pki;
pub mod tls;

use super::Rule;

/// Every area's table, in catalog order.
pub const AREAS: &[&[Rule]] = &[
    tls::RULES,
    pki::RULES,
    auth::RULES,
    acl::RULES,
    ha::RULES,
    obs::RULES,
    perf::RULES,
    dr::RULES,
    cfg::RULES,
];

/// Every rule, in catalog order.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    AREAS.iter().flat_map(|a| a.iter())
}

pub fn find(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// A rule no suppression switches off (spec `lint.ignore`, inline comment,
/// baseline), and why: a suppression of it is itself an error and its
/// findings are reported all the same.
pub struct Unsuppressible {
    pub id: &'static str,
    pub why: &'static str,
}

/// The rules that cannot be suppressed: secrets and open admin access,
/// where no site's circumstances make the finding harmless.
pub const UNSUPPRESSIBLE: &[Unsuppressible] = &[
    Unsuppressible {
        id: "MQ-AUTH-001",
        why: "a placeholder or well-known default secret is known to everyone who read the same example or manual, whatever the site",
    },
    Unsuppressible {
        id: "MQ-AUTH-002",
        why: "a secret written in a committed file has leaked with every copy of it; only moving it out (and rotating it) ends the risk",
    },
    Unsuppressible {
        id: "MQ-AUTH-005",
        why: "an admin interface reachable beyond loopback with default, weak, inline or no credentials hands control of the site to whoever reaches it",
    },
];

/// Why rule `id` cannot be suppressed, if it cannot.
pub fn unsuppressible(id: &str) -> Option<&'static str> {
    UNSUPPRESSIBLE
        .iter()
        .find(|u| u.id.eq_ignore_ascii_case(id))
        .map(|u| u.why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule of the catalog (../shared/RULES.md) is implemented.
    #[test]
    fn every_catalog_rule_is_implemented() {
        let missing: Vec<&str> = crate::catalog::RULES
            .iter()
            .map(|r| r.id)
            .filter(|id| find(id).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "rules of the catalog without an implementation: {missing:?}"
        );
    }

    /// The table of unsuppressible rules names rules of the registry, once each.
    #[test]
    fn unsuppressible_rules_are_rules() {
        for (i, u) in UNSUPPRESSIBLE.iter().enumerate() {
            assert!(find(u.id).is_some(), "{} is not a rule", u.id);
            assert!(
                UNSUPPRESSIBLE[i + 1..].iter().all(|o| o.id != u.id),
                "{} listed twice",
                u.id
            );
            assert_eq!(find(u.id).unwrap().unsuppressible(), Some(u.why));
        }
        assert_eq!(find("MQ-TLS-001").unwrap().unsuppressible(), None);
    }

    /// IDs are unique, in the catalog, in the right area table, and each
    /// rule's file is named `mq_<area>_<nnn>_<name>.rs` with its docs.
    #[test]
    fn the_registry_is_consistent() {
        let rules: Vec<&Rule> = all().collect();
        for (i, r) in rules.iter().enumerate() {
            assert!(
                rules[i + 1..].iter().all(|o| o.id != r.id),
                "{} registered twice",
                r.id
            );
            assert!(
                crate::catalog::find(r.id).is_some(),
                "{} is not in the catalog",
                r.id
            );
            let doc = r.doc();
            for section in ["What it does", "Why it matters", "Example", "Use instead"] {
                assert!(
                    doc.contains(section),
                    "{}: its doc comment lacks `{section}`",
                    r.id
                );
            }
            assert!(
                !r.name.is_empty() && r.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                r.id
            );
        }
    }
}
