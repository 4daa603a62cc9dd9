//! The lint facts of a parsed ACL file (audit): one [`AclFact`] per topic of
//! each rule, the identifiers it names, and whether it denies by default.
//!
//! Principals: Mosquitto `pattern` lines (and EMQX `all` rules whose topics
//! hold placeholders) are [`Principal::Pattern`]; Mosquitto topics before any
//! `user` line (clients without a username) and EMQX `all` are
//! [`Principal::All`]; a user whose rules name its own id as a topic level
//! (`user temp-001` / `topic write devices/temp-001/#`, or EMQX
//! `{username, "esp32-001"}` with `${username}` topics) is taken for a
//! device ([`Principal::Device`]), other users are [`Principal::User`]; an
//! EMQX `{re, ...}` principal is a group of devices ([`Principal::Role`]).
//!
//! Cost: linear in the rules and their topics' bytes.

use crate::acl::emqx::{Action, EmqxAcl, Permission, StrMatch, TopicSpec, WhoSpec, PLACEHOLDERS};
use crate::acl::mosquitto::{MosqAccess, MosquittoAcl, Owner};
use crate::acl::Acl;
use crate::facts::{AclAccess, AclFact, Facts, IdentFact, Principal};
use crate::formats::erlang::{self, Spanned, Term};
use crate::source::Span;

/// The filter with identity placeholders (and the principal's own id as a
/// whole level) written `{id}`.
pub fn normalize(topic: &str, own: Option<&str>) -> String {
    topic
        .split('/')
        .map(|l| {
            if l == "%u" || l == "%c" || PLACEHOLDERS.contains(&l) || Some(l) == own || l == "{id}"
            {
                "{id}"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn mosq_access(a: MosqAccess) -> AclAccess {
    match a {
        MosqAccess::Read => AclAccess::Read,
        MosqAccess::Write => AclAccess::Write,
        MosqAccess::ReadWrite => AclAccess::ReadWrite,
        MosqAccess::Deny => AclAccess::Deny,
    }
}

/// Adds the facts of an audited ACL file.
pub fn add(acl: &Acl, facts: &mut Facts) {
    match acl {
        Acl::Mosquitto(a) => mosquitto(a, facts),
        Acl::Emqx(a) => emqx(a, facts),
    }
    facts.acl_model.dead.extend(acl.dead_rules());
    facts.acl_model.files.push(acl.clone());
}

fn mosquitto(acl: &MosquittoAcl, facts: &mut Facts) {
    // Users whose own lines name their id as a topic level: devices.
    let devices: std::collections::HashSet<&str> = acl
        .entries
        .iter()
        .filter_map(|x| match &x.owner {
            Owner::User(u) if x.topic.split('/').any(|l| l == u) => Some(u.as_str()),
            _ => None,
        })
        .collect();
    for e in &acl.entries {
        let (principal, own) = match &e.owner {
            Owner::Anonymous => (Principal::All, None),
            Owner::Pattern => (Principal::Pattern, None),
            Owner::User(u) => {
                let device = devices.contains(u.as_str());
                (
                    if device {
                        Principal::Device(u.clone())
                    } else {
                        Principal::User(u.clone())
                    },
                    Some(u.as_str()),
                )
            }
        };
        facts.acl.push(AclFact {
            admin: own == Some("admin"),
            principal,
            access: mosq_access(e.access),
            topic: e.topic.clone(),
            normalized: normalize(&e.topic, own),
            span: e.topic_span.clone(),
        });
        facts.identifiers.push(IdentFact {
            what: "topic filter".into(),
            value: e.topic.clone(),
            span: e.topic_span.clone(),
        });
    }
    for u in &acl.users {
        facts.identifiers.push(IdentFact {
            what: "username".into(),
            value: u.name.clone(),
            span: u.span.clone(),
        });
    }
    // Mosquitto denies whatever no line allows once an acl_file is loaded.
    facts.acl_default_deny = Some(true);
}

fn emqx(acl: &EmqxAcl, facts: &mut Facts) {
    for r in &acl.rules {
        let who_term = match &r.term {
            Term::Tuple(items) if items.len() == 4 => Some(&items[1]),
            _ => None,
        };
        if let Some(w) = who_term {
            who_identifiers(&acl.file, w, facts, 0);
        }
        let own_placeholder = r
            .topics
            .iter()
            .any(|t| PLACEHOLDERS.iter().any(|p| t.topic.text().contains(p)));
        let (principal, own) = match &r.who {
            WhoSpec::All if own_placeholder => (Principal::Pattern, None),
            WhoSpec::All => (Principal::All, None),
            WhoSpec::Username(StrMatch::Eq(u)) => {
                let device = own_placeholder
                    || r.topics
                        .iter()
                        .any(|t| t.topic.text().split('/').any(|l| l == u));
                (
                    if device {
                        Principal::Device(u.clone())
                    } else {
                        Principal::User(u.clone())
                    },
                    Some(u.as_str()),
                )
            }
            WhoSpec::ClientId(StrMatch::Eq(c)) => (Principal::Device(c.clone()), Some(c.as_str())),
            WhoSpec::Username(StrMatch::Re { source, .. })
            | WhoSpec::ClientId(StrMatch::Re { source, .. }) => (
                Principal::Role {
                    name: format!("{{re, \"{source}\"}}"),
                    devices: true,
                },
                None,
            ),
            _ => (
                Principal::User(
                    who_term
                        .map(|w| erlang::to_source(&w.term))
                        .unwrap_or_else(|| "?".into()),
                ),
                None,
            ),
        };
        let access = match (r.permission, r.action) {
            (Permission::Deny, _) => AclAccess::Deny,
            (Permission::Allow, Action::Publish) => AclAccess::Write,
            (Permission::Allow, Action::Subscribe) => AclAccess::Read,
            (Permission::Allow, Action::All) => AclAccess::ReadWrite,
        };
        for t in &r.topics {
            let text = t.topic.text();
            facts.acl.push(AclFact {
                admin: own == Some("admin"),
                principal: principal.clone(),
                access,
                topic: text.to_string(),
                // An `eq` topic is literal: its wildcards are not wildcards.
                normalized: match &t.topic {
                    TopicSpec::Eq(e) => normalize(&e.replace(['+', '#'], "_"), own),
                    TopicSpec::Filter(f) => normalize(f, own),
                },
                span: t.span.clone(),
            });
            if !r.catch_all {
                facts.identifiers.push(IdentFact {
                    what: "topic filter".into(),
                    value: text.to_string(),
                    span: t.span.clone(),
                });
            }
        }
    }
    if let Some(last) = acl.rules.iter().rev().find(|r| r.catch_all) {
        facts.acl_default_deny = Some(last.permission == Permission::Deny);
    }
}

/// Usernames and client ids an EMQX principal names literally.
fn who_identifiers(
    file: &std::sync::Arc<crate::source::SourceFile>,
    w: &Spanned,
    facts: &mut Facts,
    depth: usize,
) {
    let Term::Tuple(t) = &w.term else { return };
    if t.len() != 2 || depth > 16 {
        return;
    }
    let kind = match &t[0].term {
        Term::Atom(a) => a.as_str(),
        _ => return,
    };
    match (kind, &t[1].term) {
        ("username" | "user" | "clientid" | "client", Term::Str(v)) => {
            let len = erlang::to_source(&t[1].term).chars().count();
            let span = Span {
                file: file.clone(),
                line: t[1].pos.line,
                col: t[1].pos.col,
                end_line: t[1].pos.line,
                end_col: t[1].pos.col + len,
            };
            let what = if kind.starts_with("user") {
                "username"
            } else {
                "client id"
            };
            facts.identifiers.push(IdentFact {
                what: what.into(),
                value: v.clone(),
                span,
            });
        }
        ("and" | "or", Term::List(l)) => {
            for x in l {
                who_identifiers(file, x, facts, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::spec::model::Environment;

    fn facts_of(acl: Acl) -> Facts {
        let mut f = Facts::new(crate::facts::Origin::File, Environment::Production);
        add(&acl, &mut f);
        f
    }

    #[test]
    fn mosquitto_principals() {
        let text = "topic read public/#\nuser gateway\ntopic readwrite devices/+/telemetry/#\nuser temp-001\ntopic write devices/temp-001/telemetry/#\npattern read devices/%u/cmd/#\nuser admin\ntopic readwrite #\n";
        let f = facts_of(Acl::Mosquitto(
            crate::acl::mosquitto::parse(&SourceFile::new("acl", text)).unwrap(),
        ));
        let p: Vec<(&Principal, &str, bool)> = f
            .acl
            .iter()
            .map(|a| (&a.principal, a.normalized.as_str(), a.admin))
            .collect();
        assert_eq!(
            p,
            vec![
                (&Principal::All, "public/#", false),
                (
                    &Principal::User("gateway".into()),
                    "devices/+/telemetry/#",
                    false
                ),
                (
                    &Principal::Device("temp-001".into()),
                    "devices/{id}/telemetry/#",
                    false
                ),
                (&Principal::Pattern, "devices/{id}/cmd/#", false),
                (&Principal::User("admin".into()), "#", true),
            ]
        );
        assert_eq!(f.acl_default_deny, Some(true));
        assert_eq!(
            f.identifiers
                .iter()
                .filter(|i| i.what == "username")
                .count(),
            3
        );
        assert_eq!(f.acl_model.files.len(), 1);
    }

    #[test]
    fn emqx_principals() {
        let text = concat!(
            "{allow, {username, \"esp\"}, publish, [\"devices/${username}/t\"]}.\n",
            "{allow, {username, {re, \"^s-[0-9]+$\"}}, publish, [\"devices/${username}/t\"]}.\n",
            "{allow, {'or', [{username, \"ops\"}, {clientid, \"c1\"}]}, subscribe, [\"devices/+/t\"]}.\n",
            "{allow, all}.\n",
        );
        let f = facts_of(Acl::Emqx(
            crate::acl::emqx::parse(&SourceFile::new("acl.conf", text)).unwrap(),
        ));
        assert_eq!(f.acl[0].principal, Principal::Device("esp".into()));
        assert_eq!(f.acl[0].normalized, "devices/{id}/t");
        assert!(matches!(
            &f.acl[1].principal,
            Principal::Role { devices: true, .. }
        ));
        assert_eq!(
            f.acl[2].principal,
            Principal::User("{'or',[{username,\"ops\"},{clientid,\"c1\"}]}".into())
        );
        assert_eq!(
            (&f.acl[3].principal, f.acl[3].access),
            (&Principal::All, AclAccess::ReadWrite)
        );
        assert_eq!(f.acl_default_deny, Some(false));
        let ids: Vec<(&str, &str, usize)> = f
            .identifiers
            .iter()
            .filter(|i| i.what != "topic filter")
            .map(|i| (i.what.as_str(), i.value.as_str(), i.span.col))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("username", "esp", 20),
                ("username", "ops", 28),
                ("client id", "c1", 47)
            ]
        );
    }
}
