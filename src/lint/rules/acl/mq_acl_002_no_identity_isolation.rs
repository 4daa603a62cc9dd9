//! Devices may publish to a topic that does not hold their own id: one device can publish as another.
//!
//! What it does: flags write (or readwrite) permissions held by devices (a
//! device, a role devices hold, a Mosquitto `pattern`, EMQX `all`) on a
//! topic without wildcards that names no device identity: no `{id}` in a
//! spec role, no `%u`/`%c` in a Mosquitto pattern, no `${username}` /
//! `${clientid}` in EMQX, and not the device's own id. Filters with
//! wildcards are MQ-ACL-001's.
//!
//! In a Mosquitto ACL it also flags a `pattern` line without `%u`/`%c`
//! written in a user's block (right under its `user` line or its `topic`
//! lines, no blank line between), whatever its access: Mosquitto applies
//! every `pattern` line to every client wherever it is written (its ACL
//! parser keeps one global pattern list), so what was meant for one user
//! is granted to all.
//!
//! Why it matters: when every device of a role may publish to
//! `plant/alarms` or `devices/status`, nothing tells the consumer which
//! device spoke, and any one of them (a stolen key, a buggy firmware) can
//! overwrite another's retained status or raise its alarms. Identity
//! isolation is the device id in the topic, enforced by the broker from
//! the certificate.
//!
//! Example:
//!     roles:
//!       sensor:
//!         - { write: "plant/alarms" }
//!
//! Use instead:
//!     roles:
//!       sensor:
//!         - { write: "plant/alarms/{id}" }
//!
//! (In a Mosquitto ACL, `pattern write plant/alarms/%u`; in EMQX,
//! `["plant/alarms/${username}"]`.)
//!
//! Example (Mosquitto ACL):
//!     user historian
//!     pattern read plant/#
//!
//! Use instead:
//!     user historian
//!     topic read plant/#
//!
//! Severity: error in production; warning elsewhere.

use super::{device_principal, principal, verb, writes};
use crate::acl::mosquitto::{Entry, MosqAccess, Owner, UserLine};
use crate::acl::topic::has_wildcard;
use crate::acl::Acl;
use crate::diag::Severity;
use crate::facts::{Facts, Principal};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-ACL-002",
    name: "no_identity_isolation",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_acl_002_no_identity_isolation.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let misplaced = patterns_in_user_blocks(facts);
    for (entry, user) in &misplaced {
        let finding = Finding::new(
            &entry.topic_span,
            format!(
                "`{}` is written in the block of user `{}`, but Mosquitto applies `pattern` lines to every client: every client may {} `{}`",
                entry.text,
                user.name,
                access_verb(entry.access),
                entry.topic
            ),
            format!(
                "grant it to that user alone with `topic {} {}` under `user {}`; keep `pattern` lines for grants every client gets, scoped with `%u` or `%c`",
                access_word(entry.access),
                entry.topic,
                user.name
            ),
        )
        .with_related(&user.span, "this user's block");
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => finding.with_severity(s),
            None => finding,
        });
    }
    for f in &facts.acl {
        if f.admin || !writes(f.access) || !device_principal(&f.principal) {
            continue;
        }
        if misplaced
            .iter()
            .any(|(e, _)| same_place(&e.topic_span, &f.span))
        {
            continue;
        }
        if has_wildcard(&f.normalized) || f.normalized.split('/').any(|l| l == "{id}") {
            continue;
        }
        let help = match &f.principal {
            Principal::Role { name, .. } if !name.starts_with('{') => format!("put the device id in the topic, e.g. `{}/{{id}}`", f.topic),
            _ => "put the device id in the topic: `%u` in a Mosquitto pattern, `${username}` in EMQX (e.g. `devices/${username}/status`)".to_string(),
        };
        let finding = Finding::new(
            &f.span,
            format!("{} may {} `{}`, a topic that does not hold the publishing device's own id: any device holding it can publish as another", principal(f), verb(f.access), f.topic),
            help,
        );
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => finding.with_severity(s),
            None => finding,
        });
    }
}

fn same_place(a: &Span, b: &Span) -> bool {
    a.file.name == b.file.name && a.line == b.line && a.col == b.col
}

fn access_verb(a: MosqAccess) -> &'static str {
    match a {
        MosqAccess::Read => "subscribe to",
        MosqAccess::Write => "publish to",
        MosqAccess::ReadWrite => "publish and subscribe to",
        MosqAccess::Deny => "be denied",
    }
}

fn access_word(a: MosqAccess) -> &'static str {
    match a {
        MosqAccess::Read => "read",
        MosqAccess::Write => "write",
        MosqAccess::ReadWrite => "readwrite",
        MosqAccess::Deny => "deny",
    }
}

/// Mosquitto `pattern` lines without `%u`/`%c` written inside a user's
/// block: after its `user` line with no blank or comment line between
/// them. Mosquitto's ACL parser adds `pattern` lines to the global pattern
/// list whatever user line precedes them (security_default.c,
/// `add__acl_pattern` takes no user), so the grant reaches every client.
fn patterns_in_user_blocks(facts: &Facts) -> Vec<(&Entry, &UserLine)> {
    let mut out = Vec::new();
    for acl in &facts.acl_model.files {
        let Acl::Mosquitto(m) = acl else { continue };
        // For each line, the last blank or comment line at or above it: a
        // block is unbroken when that line is above its `user` line.
        let mut last_break = vec![0usize; m.file.text.lines().count() + 2];
        for (i, text) in m.file.text.lines().enumerate() {
            let t = text.trim();
            last_break[i + 1] = if t.is_empty() || t.starts_with('#') {
                i + 1
            } else {
                last_break[i]
            };
        }
        // Users by line, walked along with the entries (both in file order).
        let mut users = m.users.iter().peekable();
        let mut current: Option<&UserLine> = None;
        for e in &m.entries {
            while let Some(u) = users.next_if(|u| u.span.line < e.span.line) {
                current = Some(u);
            }
            let Some(user) = current else { continue };
            let scoped = e.topic.contains("%u") || e.topic.contains("%c");
            if e.owner != Owner::Pattern || e.access == MosqAccess::Deny || scoped {
                continue;
            }
            let unbroken = last_break
                .get(e.span.line)
                .is_some_and(|b| *b < user.span.line);
            if unbroken {
                out.push((e, user));
            }
        }
    }
    out
}
