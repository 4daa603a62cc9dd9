//! Rules of an ACL that can never decide anything: duplicated, shadowed by
//! another rule that always decides first, or unable to match at all. Each
//! engine's own order is respected (Mosquitto walks a client's denies
//! first, then its allows, then the patterns; EMQX stops at the first rule
//! that matches).

use super::emqx::{self, EmqxAcl, Permission, TopicSpec};
use super::mosquitto::{MosqAccess, MosquittoAcl, Owner};
use super::topic;
use crate::formats::erlang;
use crate::source::Span;

/// A rule that never changes a decision, and why.
#[derive(Clone, Debug)]
pub struct DeadRule {
    pub span: Span,
    /// What is wrong with this rule.
    pub message: String,
    pub help: String,
    /// The rule that makes it dead.
    pub related: Option<(Span, String)>,
}

/// One grant of a list Mosquitto walks (a user's lines, the patterns) or of
/// a role in a spec: denies are checked before allows, allows in any order.
#[derive(Clone, Debug)]
pub struct Grant {
    pub access: MosqAccess,
    pub topic: String,
    /// The rule as written, for messages.
    pub text: String,
    pub span: Span,
    /// Mosquitto refuses client publishes to `$SYS` before reading the ACL.
    pub mosquitto: bool,
}

fn quote(s: &str) -> String {
    format!("`{s}`")
}

/// Dead grants of one deny-first list.
pub fn dead_grants(list: &[Grant]) -> Vec<DeadRule> {
    let mut out = Vec::new();
    for (j, b) in list.iter().enumerate() {
        if b.mosquitto
            && b.access == MosqAccess::Write
            && is_sys(&b.topic)
            && !topic::covers("$SYS/broker/connection/+/state", &b.topic)
        {
            out.push(DeadRule {
                span: b.span.clone(),
                message: format!("{} can never allow anything: Mosquitto refuses client publishes to `$SYS` topics before it reads the ACL", quote(&b.text)),
                help: "remove it; `$SYS` topics are written by the broker itself (grant `read` to clients that monitor it)".into(),
                related: None,
            });
            continue;
        }
        if let Some(a) = list[..j]
            .iter()
            .find(|a| a.access == b.access && a.topic == b.topic)
        {
            out.push(DeadRule {
                span: b.span.clone(),
                message: format!("{} duplicates line {}", quote(&b.text), a.span.line),
                help: "remove the duplicate".into(),
                related: Some((a.span.clone(), "first granted here".into())),
            });
            continue;
        }
        if b.access != MosqAccess::Deny {
            if let Some(d) = list
                .iter()
                .find(|d| d.access == MosqAccess::Deny && topic::covers(&d.topic, &b.topic))
            {
                out.push(DeadRule {
                    span: b.span.clone(),
                    message: format!(
                        "{} can never allow anything: the deny on line {} ({}) covers it, and denies are checked first",
                        quote(&b.text),
                        d.span.line,
                        quote(&d.text)
                    ),
                    help: "remove the allow, or narrow the deny so that it no longer covers it".into(),
                    related: Some((d.span.clone(), "denied here first".into())),
                });
                continue;
            }
        }
        let covering = list.iter().enumerate().find(|(i, a)| {
            *i != j
                && !(a.access == b.access && a.topic == b.topic)
                && a.access.includes(b.access)
                && topic::covers(&a.topic, &b.topic)
                // Of two rules covering each other, only the narrower access is redundant.
                && !(b.access.includes(a.access) && topic::covers(&b.topic, &a.topic) && *i > j)
        });
        if let Some((_, a)) = covering {
            let verb = if b.access == MosqAccess::Deny {
                "denies"
            } else {
                "allows"
            };
            out.push(DeadRule {
                span: b.span.clone(),
                message: format!(
                    "{} never changes a decision: line {} ({}) already {verb} everything it does",
                    quote(&b.text),
                    a.span.line,
                    quote(&a.text)
                ),
                help: "remove the narrower rule, or narrow the broader one if it grants too much"
                    .into(),
                related: Some((a.span.clone(), "already decided here".into())),
            });
        }
    }
    out
}

fn is_sys(t: &str) -> bool {
    t == "$SYS" || t.starts_with("$SYS/")
}

/// Dead lines of a Mosquitto ACL file.
pub fn mosquitto(acl: &MosquittoAcl) -> Vec<DeadRule> {
    let mut out = Vec::new();
    let mut owners: Vec<Owner> = Vec::new();
    for e in &acl.entries {
        if !owners.contains(&e.owner) {
            owners.push(e.owner.clone());
        }
    }
    for owner in &owners {
        let mine: Vec<_> = acl.entries.iter().filter(|e| e.owner == *owner).collect();
        let mut list = Vec::new();
        for e in &mine {
            if !e.access_given && ["read", "write", "readwrite", "deny"].contains(&e.topic.as_str())
            {
                out.push(DeadRule {
                    span: e.span.clone(),
                    message: format!(
                        "{} names no topic: Mosquitto reads `{}` as the topic and grants readwrite on it, which no real topic matches",
                        quote(&e.text),
                        e.topic
                    ),
                    help: format!("write the topic after the access: `{} {} <topic>`", if *owner == Owner::Pattern { "pattern" } else { "topic" }, e.topic),
                    related: None,
                });
                continue;
            }
            if *owner == Owner::Pattern
                && e.topic
                    .split('/')
                    .any(|l| l != "%u" && l != "%c" && (l.contains("%u") || l.contains("%c")))
            {
                out.push(DeadRule {
                    span: e.topic_span.clone(),
                    message: format!(
                        "`{}` never matches a client's own topic: Mosquitto 2 replaces `%u` and `%c` only when they are a whole topic level",
                        e.topic
                    ),
                    help: "make the placeholder a level of its own, e.g. `devices/%u/telemetry/#`".into(),
                    related: None,
                });
                continue;
            }
            list.push(Grant {
                access: e.access,
                topic: e.topic.clone(),
                text: e.text.clone(),
                span: e.span.clone(),
                mosquitto: true,
            });
        }
        out.extend(dead_grants(&list));
    }
    // A pattern deny is only reached when the client's own lines did not decide.
    for d in acl
        .entries
        .iter()
        .filter(|e| e.owner == Owner::Pattern && e.access == MosqAccess::Deny)
    {
        let mut bypass: Vec<(&str, &super::mosquitto::Entry)> = Vec::new();
        for u in &acl.users {
            if bypass.iter().any(|(n, _)| *n == u.name) {
                continue;
            }
            let expanded: String = d
                .topic
                .split('/')
                .map(|l| match l {
                    "%u" => u.name.as_str(),
                    "%c" => "+",
                    l => l,
                })
                .collect::<Vec<_>>()
                .join("/");
            let own = Owner::User(u.name.clone());
            // The user's own deny, checked first, already covers it.
            if acl.entries.iter().any(|a| {
                a.owner == own && a.access == MosqAccess::Deny && topic::covers(&a.topic, &expanded)
            }) {
                continue;
            }
            let hit = acl.entries.iter().find(|a| {
                a.owner == Owner::User(u.name.clone())
                    && a.access != MosqAccess::Deny
                    && a.access != MosqAccess::Read
                    && topic::intersects(&a.topic, &expanded)
            });
            if let Some(a) = hit {
                bypass.push((u.name.as_str(), a));
            }
        }
        if let Some((name, a)) = bypass.first() {
            let others = if bypass.len() > 1 {
                format!(" (and {} other users)", bypass.len() - 1)
            } else {
                String::new()
            };
            out.push(DeadRule {
                span: d.span.clone(),
                message: format!(
                    "{} does not apply to user `{name}`{others}: Mosquitto checks a user's own lines first, and line {} ({}) allows what it denies",
                    quote(&d.text),
                    a.span.line,
                    quote(&a.text)
                ),
                help: format!("repeat the deny in the user's block (`topic deny ...`), which Mosquitto checks before the user's allows, or narrow line {}", a.span.line),
                related: Some((a.span.clone(), "decides first".into())),
            });
        }
    }
    out.sort_by_key(|d| (d.span.line, d.span.col));
    out
}

/// Whether every topic `b` matches, `a` matches too (rule topics of EMQX).
fn emqx_topic_covers(a: &TopicSpec, b: &TopicSpec) -> bool {
    let placeholders = |t: &str| emqx::PLACEHOLDERS.iter().any(|p| t.contains(p));
    match (a, b) {
        (TopicSpec::Eq(x), TopicSpec::Eq(y)) => x == y,
        (TopicSpec::Filter(f), TopicSpec::Eq(e)) => !placeholders(f) && emqx::topic_match(e, f),
        (TopicSpec::Eq(e), TopicSpec::Filter(f)) => {
            e == f && !topic::has_wildcard(f) && !placeholders(f)
        }
        (TopicSpec::Filter(x), TopicSpec::Filter(y)) => topic::covers(x, y),
    }
}

/// Dead rules of an EMQX acl.conf.
pub fn emqx(acl: &EmqxAcl) -> Vec<DeadRule> {
    let mut out = Vec::new();
    for (j, b) in acl.rules.iter().enumerate() {
        if b.action == emqx::Action::Publish
            && b.topics
                .iter()
                .all(|t| matches!(&t.topic, TopicSpec::Eq(e) if topic::has_wildcard(e)))
        {
            out.push(DeadRule {
                span: b.span.clone(),
                message: format!("{} can never match: it compares published topics literally with filters holding `+` or `#`, and a published topic never holds them", quote(&b.text)),
                help: "drop `eq` so the filter matches topics, or make the rule `subscribe`".into(),
                related: None,
            });
            continue;
        }
        let shadow = acl.rules[..j].iter().find(|a| {
            a.who.includes(&b.who)
                && a.action.includes(b.action)
                && b.topics.iter().all(|tb| {
                    a.topics
                        .iter()
                        .any(|ta| emqx_topic_covers(&ta.topic, &tb.topic))
                })
        });
        let Some(a) = shadow else { continue };
        let (message, help) = if erlang::to_source(&a.term) == erlang::to_source(&b.term) {
            (
                format!("{} duplicates line {}", quote(&b.text), a.span.line),
                "remove the duplicate".to_string(),
            )
        } else {
            let why = match (a.permission, b.permission) {
                (Permission::Deny, Permission::Allow) => {
                    "denies everything it would allow first".to_string()
                }
                (Permission::Allow, Permission::Deny) => {
                    "allows everything it would deny first, so this deny never applies".to_string()
                }
                (p, _) => format!("already {}s everything it matches", p.as_str()),
            };
            (
                format!("{} is never reached: line {} ({}) {why} (EMQX stops at the first matching rule)", quote(&b.text), a.span.line, quote(&a.text)),
                if a.catch_all {
                    "move the rule above the catch-all, which must stay last".to_string()
                } else {
                    "move the narrower rule above the broader one, or remove it".to_string()
                },
            )
        };
        out.push(DeadRule {
            span: b.span.clone(),
            message,
            help,
            related: Some((a.span.clone(), "matches first".into())),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{emqx as e, mosquitto as m};
    use crate::source::SourceFile;

    fn mosq(text: &str) -> Vec<DeadRule> {
        mosquitto(&m::parse(&SourceFile::new("acl", text)).unwrap())
    }

    fn lines(d: &[DeadRule]) -> Vec<usize> {
        d.iter().map(|d| d.span.line).collect()
    }

    #[test]
    fn a_clean_file_has_no_dead_lines() {
        let d = mosq("user admin\ntopic readwrite #\nuser mon\ntopic read $SYS/#\ntopic read devices/+/status\npattern read devices/%u/cmd/#\npattern write devices/%u/status\n");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn mosquitto_duplicates_shadows_and_redundancy() {
        let d = mosq(concat!(
            "user a\n",
            "topic write devices/a/telemetry/#\n",
            "topic write devices/a/telemetry/#\n",
            "topic write devices/a/telemetry/temp\n",
            "topic deny devices/a/private/#\n",
            "topic readwrite devices/a/private/x\n",
            "topic write $SYS/broker/x\n",
            "topic read\n",
            "pattern write devices/x%u/y\n",
        ));
        assert_eq!(lines(&d), vec![3, 4, 6, 7, 8, 9], "{d:#?}");
        assert!(d[0].message.contains("duplicates line 2"));
        assert!(d[1].message.contains("already allows"));
        assert!(d[2].message.contains("the deny on line 5"));
        assert!(d[3].message.contains("$SYS"));
        assert!(d[4].message.contains("names no topic"));
        assert!(d[5].message.contains("whole topic level"));
    }

    #[test]
    fn mosquitto_user_lines_bypass_pattern_denies() {
        let d = mosq("pattern deny devices/%u/private/#\npattern write devices/%u/#\nuser a\ntopic write devices/a/#\nuser b\ntopic write devices/b/#\n");
        assert_eq!(lines(&d), vec![1], "{d:#?}");
        assert!(
            d[0].message.contains("user `a` (and 1 other users)"),
            "{}",
            d[0].message
        );
        // Repeating the deny in the user's block closes the gap.
        let d = mosq("pattern deny devices/%u/private/#\nuser a\ntopic deny devices/a/private/#\ntopic write devices/a/#\n");
        assert!(d.is_empty(), "{d:#?}");
    }

    #[test]
    fn readwrite_covers_read_but_not_the_other_way() {
        let d = mosq("user a\ntopic read x/#\ntopic readwrite x/#\n");
        assert_eq!(lines(&d), vec![2]);
    }

    #[test]
    fn emqx_first_match_shadows() {
        let a = e::parse(&SourceFile::new(
            "acl.conf",
            concat!(
                "{allow, {username, {re, \"^s-[0-9]+$\"}}, publish, [\"devices/${username}/#\"]}.\n",
                "{allow, {username, \"s-1\"}, publish, [\"devices/${username}/t\"]}.\n",
                "{deny, {username, \"s-2\"}, all, [\"devices/s-2/#\"]}.\n",
                "{allow, {username, \"s-2\"}, publish, [\"devices/s-2/x\"]}.\n",
                "{allow, all, publish, [{eq, \"a/#\"}]}.\n",
                "{deny, all}.\n",
                "{allow, {username, \"admin\"}, all, [\"#\"]}.\n",
                "{allow, {username, \"mon\"}, subscribe, [\"$SYS/#\"]}.\n",
                "{deny, all}.\n",
            ),
        ))
        .unwrap();
        let d = emqx(&a);
        assert_eq!(lines(&d), vec![2, 4, 5, 7, 9], "{d:#?}");
        assert!(d[0].message.contains("line 1"));
        assert!(d[1].message.contains("denies everything"));
        assert!(d[2].message.contains("can never match"));
        assert!(d[3].help.contains("catch-all"));
        assert!(d[4].message.contains("duplicates line 6"));
    }
}
