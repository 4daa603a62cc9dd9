//! An ACL rule that can never match: duplicated, shadowed by a rule that always decides first, or refused by the broker.
//!
//! What it does: reads the ACL with the broker's own order and flags rules
//! that never change a decision:
//! - duplicates of an earlier rule;
//! - allows covered by a deny (Mosquitto checks a client's denies first;
//!   EMQX stops at the first matching rule, so an earlier deny, or an
//!   earlier catch-all such as `{deny, all}.`, hides everything after it);
//! - rules covered by a broader rule of the same principal (a `write` on
//!   `devices/{id}/telemetry/temp` next to a `write` on
//!   `devices/{id}/telemetry/#`);
//! - Mosquitto `pattern deny` lines that a user's own `topic` lines bypass
//!   (Mosquitto checks the user's block before any pattern);
//! - rules that cannot match at all: a Mosquitto `write` on `$SYS` (the
//!   broker refuses client publishes there), `topic read` with no topic,
//!   `%u`/`%c` inside a level (Mosquitto 2 only replaces whole levels), an
//!   EMQX `publish` rule on `{eq, ...}` filters with wildcards.
//!
//! In a spec, the permissions of each role are checked (denies first, as
//! both generated ACLs order them).
//!
//! Why it matters: a dead rule misleads whoever reads the ACL. A deny that
//! never applies, or an allow that a deny hides, means the site does not
//! enforce what its authors believe; reviews and audits then approve the
//! wrong policy.
//!
//! Example:
//!     {deny, all}.
//!     {allow, {username, "monitoring"}, subscribe, ["devices/+/status"]}.
//!
//! Use instead:
//!     {allow, {username, "monitoring"}, subscribe, ["devices/+/status"]}.
//!     {deny, all}.
//!
//! Severity: warning.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-ACL-004",
    name: "dead_rule",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_acl_004_dead_rule.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for d in &facts.acl_model.dead {
        let mut f = Finding::new(&d.span, d.message.clone(), d.help.clone());
        if let Some((span, note)) = &d.related {
            f = f.with_related(span, note.clone());
        }
        out.push(f);
    }
}
