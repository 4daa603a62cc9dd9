//! A non-admin principal may publish to `#`, or devices may publish through a wildcard that spans other devices.
//!
//! What it does: flags write (or readwrite) permissions on `#` (or `+/#`,
//! the same thing) held by anyone but an admin, and write permissions held
//! by devices (a device, a role devices hold, a Mosquitto `pattern`, EMQX
//! `all`) whose filter has a wildcard where the device id goes, or a
//! wildcard and no device id at all. Named users such as a gateway or a
//! dispatcher are services meant to reach many devices: for them only `#`
//! is flagged.
//!
//! Every client reading everything is flagged too: a read of `#` granted to
//! every client (a Mosquitto `pattern read #`, EMQX `{allow, all,
//! subscribe, ["#"]}`), and EMQX's `authorization.no_match = allow`, which
//! lets every client publish and subscribe to whatever no authorization
//! source decides: written, or left to EMQX 5's default in a file with an
//! `authorization` block. It is not flagged when an acl.conf of the site
//! ends with `{deny, all}.`, which decides every request.
//!
//! Why it matters: least privilege is the last layer of defence. A device
//! whose key leaks, or whose firmware is compromised, can then publish
//! commands, status or telemetry for every other device of the site
//! (`devices/+/cmd/#`), and a service account that may write `#` can
//! impersonate anything, `$`-less system topics included.
//!
//! Example:
//!     roles:
//!       sensor:
//!         - { write: "devices/+/telemetry/#" }
//!
//! Use instead:
//!     roles:
//!       sensor:
//!         - { write: "devices/{id}/telemetry/#" }
//!
//! (In a Mosquitto ACL, `pattern write devices/%u/telemetry/#`; in EMQX,
//! `["devices/${username}/telemetry/#"]`.)
//!
//! Example (audit):
//!     pattern read #                  (Mosquitto ACL: every client reads all)
//!     authorization.no_match = allow  (emqx.conf)
//!
//! Use instead:
//!     pattern read devices/%u/#
//!     authorization.no_match = deny
//!
//! Severity: error in production; warning elsewhere.

use super::{device_principal, principal, verb, writes};
use crate::acl::emqx::Permission;
use crate::acl::Acl;
use crate::diag::Severity;
use crate::facts::{AclAccess, AclFact, Facts, Principal};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-ACL-001",
    name: "wildcard_write",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_acl_001_wildcard_write.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    wildcard_grants(facts, out);
    no_match_allow(facts, out);
}

/// A read of `#` granted to every client (a Mosquitto `pattern`, EMQX
/// `all`): whoever connects reads every device's topics.
fn everyone_reads_everything(facts: &Facts, f: &AclFact) -> Option<Finding> {
    let everyone = matches!(f.principal, Principal::Pattern | Principal::All);
    if !everyone || f.access != AclAccess::Read || !(f.normalized == "#" || f.normalized == "+/#") {
        return None;
    }
    let finding = Finding::new(
        &f.span,
        format!(
            "{} may subscribe to `{}`: every topic of the site, other devices' telemetry and commands included",
            principal(f),
            f.topic
        ),
        if emqx_file(facts, f) {
            "grant subscriptions to the whole tree only to a named service user (`{allow, {username, \"historian\"}, subscribe, [\"#\"]}.`), and give every client only its own subtree (`{allow, all, subscribe, [\"devices/${username}/#\"]}.`)"
        } else {
            "grant reads of the whole tree only to a named service user (`user historian` then `topic read #`), and give every client only its own subtree (`pattern read devices/%u/#`)"
        },
    );
    Some(match relaxed(facts, Severity::Warning) {
        Some(s) => finding.with_severity(s),
        None => finding,
    })
}

/// Whether the fact comes from an EMQX acl.conf.
fn emqx_file(facts: &Facts, f: &AclFact) -> bool {
    facts
        .acl_model
        .files
        .iter()
        .any(|a| matches!(a, Acl::Emqx(_)) && a.file().name == f.span.file.name)
}

/// EMQX's `authorization.no_match = allow`: every request no source decides
/// is allowed, unless an acl.conf of the site ends with `{deny, all}.`
/// (then it decides every request and `no_match` is never reached).
fn no_match_allow(facts: &Facts, out: &mut Vec<Finding>) {
    let Some((span, written)) = &facts.acl_model.no_match_allow else {
        return;
    };
    let closed = facts.acl_model.files.iter().any(|a| match a {
        Acl::Emqx(e) => e
            .rules
            .iter()
            .rev()
            .find(|r| r.catch_all)
            .is_some_and(|r| r.permission == Permission::Deny),
        Acl::Mosquitto(_) => false,
    });
    if closed {
        return;
    }
    let how = if *written {
        "`authorization.no_match = allow`"
    } else {
        "`authorization` sets no `no_match`, and EMQX 5's default is `allow`"
    };
    let f = Finding::new(
        span,
        format!("every client may publish and subscribe to `#` when no authorization source decides ({how}): every topic of the site, other devices' commands included"),
        "set `authorization.no_match = deny` and grant each principal only the subtrees it needs in the authorization sources (an acl.conf ending with `{deny, all}.`)",
    );
    out.push(match relaxed(facts, Severity::Warning) {
        Some(s) => f.with_severity(s),
        None => f,
    });
}

fn wildcard_grants(facts: &Facts, out: &mut Vec<Finding>) {
    for f in &facts.acl {
        if f.admin {
            continue;
        }
        if !writes(f.access) {
            out.extend(everyone_reads_everything(facts, f));
            continue;
        }
        let levels: Vec<&str> = f.normalized.split('/').collect();
        let everything = f.normalized == "#" || f.normalized == "+/#";
        let finding = if everything {
            let help = if f.principal == Principal::All {
                "end an EMQX acl.conf with `{deny, all}.`, and grant each principal only the subtrees it needs; keep `#` for the admin role"
            } else {
                "grant only the subtrees this principal needs (e.g. `devices/+/telemetry/#` read-only for a collector); keep `#` for the admin role"
            };
            Finding::new(
                &f.span,
                format!(
                    "{} may {} `{}`: every topic of the site, other devices' commands included",
                    principal(f),
                    verb(f.access),
                    f.topic
                ),
                help,
            )
        } else if device_principal(&f.principal) {
            let id_level = levels.iter().position(|l| *l == "{id}");
            let wild = levels.iter().position(|l| *l == "+" || *l == "#");
            match (wild, id_level) {
                (Some(w), Some(i)) if w < i => Finding::new(
                    &f.span,
                    format!("{} may {} `{}`, whose `{}` comes before the device id: one device can write other devices' topics", principal(f), verb(f.access), f.topic, levels[w]),
                    "put the device's own id at that level (`{id}` in a spec role, `%u` in a Mosquitto pattern, `${username}` in EMQX)",
                ),
                (Some(w), None) => Finding::new(
                    &f.span,
                    format!("{} may {} `{}`, whose `{}` spans every device's topics: one device can write what others write", principal(f), verb(f.access), f.topic, levels[w]),
                    "scope the filter to the device's own id (`devices/{id}/...` in a spec role, `%u` in a Mosquitto pattern, `${username}` in EMQX)",
                ),
                _ => continue,
            }
        } else {
            continue;
        };
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => finding.with_severity(s),
            None => finding,
        });
    }
}
