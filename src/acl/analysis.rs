//! Rules of an ACL that can never decide anything: duplicated, shadowed by
//! another rule that always decides first, or unable to match at all. Each
//! engine's own order is respected (Mosquitto walks a client's denies
//! first, then its allows, then the patterns; EMQX stops at the first rule
//! that matches).

use std::collections::{HashMap, HashSet};

use super::emqx::{self, EmqxAcl, Permission, TopicSpec};
use super::index::{FilterTrie, Placeholders};
use super::mosquitto::{Entry, MosqAccess, MosquittoAcl, Owner};
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

/// Index of an access in per-topic tables.
fn access_index(a: MosqAccess) -> usize {
    match a {
        MosqAccess::Read => 0,
        MosqAccess::Write => 1,
        MosqAccess::ReadWrite => 2,
        MosqAccess::Deny => 3,
    }
}

const ACCESSES: [MosqAccess; 4] = [
    MosqAccess::Read,
    MosqAccess::Write,
    MosqAccess::ReadWrite,
    MosqAccess::Deny,
];

/// The grants of a list by distinct topic: for each topic, the first grant
/// of each access; and the topics in a [`FilterTrie`].
struct GrantIndex<'a> {
    topic_ids: HashMap<&'a str, usize>,
    topics: Vec<&'a str>,
    first: Vec<[Option<usize>; 4]>,
    trie: FilterTrie,
}

impl<'a> GrantIndex<'a> {
    fn new(list: &'a [Grant]) -> GrantIndex<'a> {
        let mut index = GrantIndex {
            topic_ids: HashMap::new(),
            topics: Vec::new(),
            first: Vec::new(),
            trie: FilterTrie::default(),
        };
        for (i, g) in list.iter().enumerate() {
            let next = index.topics.len();
            let id = *index.topic_ids.entry(g.topic.as_str()).or_insert(next);
            if id == next {
                index.trie.insert(&g.topic, id);
                index.topics.push(&g.topic);
                index.first.push([None; 4]);
            }
            index.first[id][access_index(g.access)].get_or_insert(i);
        }
        index
    }

    /// Distinct topics of the list that cover `filter`.
    fn covering(&self, filter: &str) -> Vec<usize> {
        let mut found = Vec::new();
        self.trie.covering(filter, &mut found);
        found.sort_unstable();
        found.dedup();
        found.retain(|&t| topic::covers(self.topics[t], filter));
        found
    }
}

/// Dead grants of one deny-first list.
///
/// Cost: each grant is compared only with the distinct topics that cover it
/// (found through a [`FilterTrie`]), so O(grants x (levels + topics covering
/// a grant)): linear for real lists, where a topic is covered by a handful
/// of wildcards.
pub fn dead_grants(list: &[Grant]) -> Vec<DeadRule> {
    let index = GrantIndex::new(list);
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
        let own_topic = index.topic_ids[b.topic.as_str()];
        if let Some(first) = index.first[own_topic][access_index(b.access)].filter(|i| *i < j) {
            let a = &list[first];
            out.push(DeadRule {
                span: b.span.clone(),
                message: format!("{} duplicates line {}", quote(&b.text), a.span.line),
                help: "remove the duplicate".into(),
                related: Some((a.span.clone(), "first granted here".into())),
            });
            continue;
        }
        let covering = index.covering(&b.topic);
        if b.access != MosqAccess::Deny {
            let deny = covering
                .iter()
                .filter_map(|&t| index.first[t][access_index(MosqAccess::Deny)])
                .min();
            if let Some(d) = deny.map(|i| &list[i]) {
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
        if let Some(a) = first_covering(&index, &covering, b, j).map(|i| &list[i]) {
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

/// The first grant (by index) other than `b` (at `j`) that decides
/// everything `b` does. Within one topic and access only the first grant
/// can be it: the others differ from it only by coming later.
fn first_covering(
    index: &GrantIndex<'_>,
    covering: &[usize],
    b: &Grant,
    j: usize,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for &t in covering {
        let a_topic = index.topics[t];
        for access in ACCESSES {
            let Some(i) = index.first[t][access_index(access)] else {
                continue;
            };
            let same = access == b.access && a_topic == b.topic;
            // Of two rules covering each other, only the narrower access is redundant.
            let mutual_later =
                b.access.includes(access) && i > j && topic::covers(&b.topic, a_topic);
            if i != j && !same && access.includes(b.access) && !mutual_later {
                best = Some(best.map_or(i, |x| x.min(i)));
            }
        }
    }
    best
}

fn is_sys(t: &str) -> bool {
    t == "$SYS" || t.starts_with("$SYS/")
}

/// Dead lines of a Mosquitto ACL file.
///
/// Cost: O(lines) to group the lists, [`dead_grants`] per list, and for the
/// pattern denies one walk of a [`FilterTrie`] per allowing user line:
/// O(lines x levels + (pattern deny, user line) pairs that overlap).
pub fn mosquitto(acl: &MosquittoAcl) -> Vec<DeadRule> {
    let mut out = Vec::new();
    let mut owners: Vec<&Owner> = Vec::new();
    let mut lists: HashMap<&Owner, Vec<&Entry>> = HashMap::new();
    for e in &acl.entries {
        let list = lists.entry(&e.owner).or_default();
        if list.is_empty() {
            owners.push(&e.owner);
        }
        list.push(e);
    }
    for owner in owners {
        let mut list = Vec::new();
        for e in &lists[owner] {
            if let Some(dead) = unusable_line(owner, e) {
                out.push(dead);
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
    out.extend(bypassed_pattern_denies(acl, &lists));
    out.sort_by_key(|d| (d.span.line, d.span.col));
    out
}

/// A line that can never match: no topic, or a placeholder inside a level.
fn unusable_line(owner: &Owner, e: &Entry) -> Option<DeadRule> {
    if !e.access_given && ["read", "write", "readwrite", "deny"].contains(&e.topic.as_str()) {
        return Some(DeadRule {
            span: e.span.clone(),
            message: format!(
                "{} names no topic: Mosquitto reads `{}` as the topic and grants readwrite on it, which no real topic matches",
                quote(&e.text),
                e.topic
            ),
            help: format!("write the topic after the access: `{} {} <topic>`", if *owner == Owner::Pattern { "pattern" } else { "topic" }, e.topic),
            related: None,
        });
    }
    if *owner == Owner::Pattern
        && e.topic
            .split('/')
            .any(|l| l != "%u" && l != "%c" && (l.contains("%u") || l.contains("%c")))
    {
        return Some(DeadRule {
            span: e.topic_span.clone(),
            message: format!(
                "`{}` never matches a client's own topic: Mosquitto 2 replaces `%u` and `%c` only when they are a whole topic level",
                e.topic
            ),
            help: "make the placeholder a level of its own, e.g. `devices/%u/telemetry/#`".into(),
            related: None,
        });
    }
    None
}

/// A pattern deny as one user meets it: `%u` replaced by the name, `%c` by `+`.
fn expand_for(pattern: &str, user: &str) -> String {
    pattern
        .split('/')
        .map(|l| match l {
            "%u" => user,
            "%c" => "+",
            l => l,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A pattern deny is only reached when the client's own lines did not
/// decide: report each one a user's own allow decides first.
fn bypassed_pattern_denies<'a>(
    acl: &'a MosquittoAcl,
    lists: &HashMap<&Owner, Vec<&'a Entry>>,
) -> Vec<DeadRule> {
    let denies: Vec<&Entry> = lists
        .get(&Owner::Pattern)
        .map(|l| {
            l.iter()
                .copied()
                .filter(|e| e.access == MosqAccess::Deny)
                .collect()
        })
        .unwrap_or_default();
    if denies.is_empty() {
        return Vec::new();
    }
    let mut trie = FilterTrie::default();
    for (i, d) in denies.iter().enumerate() {
        trie.insert(&d.topic, i);
    }
    // For each deny, the users (in order of their first `user` line) whose
    // own allow overlaps it first.
    let mut bypass: Vec<Vec<(&str, &Entry)>> = vec![Vec::new(); denies.len()];
    let mut seen: HashSet<&str> = HashSet::new();
    for u in &acl.users {
        if !seen.insert(u.name.as_str()) {
            continue;
        }
        let owner = Owner::User(u.name.clone());
        let Some(own) = lists.get(&owner) else {
            continue;
        };
        for (d, entry) in user_bypasses(&denies, &trie, u.name.as_str(), own) {
            bypass[d].push((u.name.as_str(), entry));
        }
    }
    let mut out = Vec::new();
    for (d, users) in denies.iter().zip(&bypass) {
        let Some((name, a)) = users.first() else {
            continue;
        };
        let others = if users.len() > 1 {
            format!(" (and {} other users)", users.len() - 1)
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
    out
}

/// The pattern denies (by index) one user's own lines decide first, each
/// with the user's first line that allows publishing what it denies; denies
/// the user's own deny already covers are not bypassed.
fn user_bypasses<'a>(
    denies: &[&Entry],
    trie: &FilterTrie,
    user: &str,
    own: &[&'a Entry],
) -> Vec<(usize, &'a Entry)> {
    let mut first_hit: HashMap<usize, &Entry> = HashMap::new();
    let mut order = Vec::new();
    let mut found = Vec::new();
    for a in own
        .iter()
        .filter(|a| a.access != MosqAccess::Deny && a.access != MosqAccess::Read)
    {
        found.clear();
        trie.intersecting(
            &a.topic,
            Some(Placeholders { user, client: "+" }),
            &mut found,
        );
        for &d in &found {
            if first_hit.contains_key(&d) {
                continue;
            }
            if topic::intersects(&a.topic, &expand_for(&denies[d].topic, user)) {
                first_hit.insert(d, a);
                order.push(d);
            }
        }
    }
    if order.is_empty() {
        return Vec::new();
    }
    let own_denies: Vec<&Entry> = own
        .iter()
        .copied()
        .filter(|a| a.access == MosqAccess::Deny)
        .collect();
    let mut deny_trie = FilterTrie::default();
    for (i, a) in own_denies.iter().enumerate() {
        deny_trie.insert(&a.topic, i);
    }
    order.sort_unstable();
    order
        .into_iter()
        .filter(|&d| {
            let expanded = expand_for(&denies[d].topic, user);
            let mut candidates = Vec::new();
            deny_trie.covering(&expanded, &mut candidates);
            !candidates
                .iter()
                .any(|&i| topic::covers(&own_denies[i].topic, &expanded))
        })
        .map(|d| (d, first_hit[&d]))
        .collect()
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

/// The rules read so far, by principal, to find the first one that
/// shadows a later rule without comparing every pair.
#[derive(Default)]
struct EarlierRules {
    /// Rules by principal (its debug form: equal principals, equal keys);
    /// an `or` rule also under each of its members.
    by_who: HashMap<String, WhoGroup>,
    /// Rules with a username regex (or one among the members of an `or`).
    username_regexes: Vec<usize>,
    /// Rules with a client id regex (or one among the members of an `or`).
    clientid_regexes: Vec<usize>,
}

/// The rules of one principal: their topics, and the first rule of each action.
#[derive(Default)]
struct WhoGroup {
    topics: FilterTrie,
    first_by_action: HashMap<emqx::Action, usize>,
}

fn who_key(who: &emqx::WhoSpec) -> String {
    format!("{who:?}")
}

impl EarlierRules {
    /// Files rule `j` under every principal that can make it include
    /// another: its own, and each member of an `or` (as
    /// [`emqx::WhoSpec::includes`] reads them).
    fn add(&mut self, j: usize, rule: &emqx::Rule, who: &emqx::WhoSpec) {
        use emqx::{StrMatch, WhoSpec};
        let group = self.by_who.entry(who_key(who)).or_default();
        for t in &rule.topics {
            group.topics.insert(t.topic.text(), j);
        }
        group.first_by_action.entry(rule.action).or_insert(j);
        match who {
            WhoSpec::Username(StrMatch::Re { .. }) => self.username_regexes.push(j),
            WhoSpec::ClientId(StrMatch::Re { .. }) => self.clientid_regexes.push(j),
            WhoSpec::Or(members) => {
                for m in members {
                    self.add(j, rule, m);
                }
            }
            _ => {}
        }
    }

    /// Candidates (a superset) among the earlier rules whose principal may
    /// include `who`: equal ones, `all`, regexes of the same field for one
    /// name, and for `and` those of each member.
    fn candidates(&self, who: &emqx::WhoSpec, first_topic: Option<&str>, out: &mut Vec<usize>) {
        use emqx::{StrMatch, WhoSpec};
        for key in [who_key(who), who_key(&WhoSpec::All)] {
            if let Some(group) = self.by_who.get(&key) {
                match first_topic {
                    Some(t) => group.topics.covering(t, out),
                    None => out.extend(group.first_by_action.values()),
                }
            }
        }
        match who {
            WhoSpec::Username(StrMatch::Eq(_)) => out.extend(&self.username_regexes),
            WhoSpec::ClientId(StrMatch::Eq(_)) => out.extend(&self.clientid_regexes),
            WhoSpec::And(members) => {
                for m in members {
                    self.candidates(m, first_topic, out);
                }
            }
            _ => {}
        }
    }

    /// The first earlier rule that matches everything `b` matches.
    fn first_shadowing(&self, rules: &[emqx::Rule], b: &emqx::Rule) -> Option<usize> {
        let mut candidates = Vec::new();
        self.candidates(
            &b.who,
            b.topics.first().map(|t| t.topic.text()),
            &mut candidates,
        );
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().find(|&i| {
            let a = &rules[i];
            a.who.includes(&b.who)
                && a.action.includes(b.action)
                && b.topics.iter().all(|tb| {
                    a.topics
                        .iter()
                        .any(|ta| emqx_topic_covers(&ta.topic, &tb.topic))
                })
        })
    }
}

/// Dead rules of an EMQX acl.conf.
///
/// Cost: each rule is compared with the earlier rules of its own principal
/// (and `all`, and the `or`s naming it) whose topics may cover its first
/// topic (through a [`FilterTrie`]), and, for a single username or client
/// id, with the earlier regexes on that field: O(rules x (levels + covering
/// rules + regex principals)).
pub fn emqx(acl: &EmqxAcl) -> Vec<DeadRule> {
    let mut out = Vec::new();
    let mut earlier = EarlierRules::default();
    for (j, b) in acl.rules.iter().enumerate() {
        let shadow = earlier.first_shadowing(&acl.rules, b);
        earlier.add(j, b, &b.who);
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
        let Some(a) = shadow.map(|i| &acl.rules[i]) else {
            continue;
        };
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

/// The quadratic analysis this module replaced, kept as the reference the
/// indexed one must agree with on every input.
#[cfg(test)]
mod reference {
    use super::*;

    /// Dead grants of one deny-first list.
    fn reference_dead_grants(list: &[Grant]) -> Vec<DeadRule> {
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

    /// Dead lines of a Mosquitto ACL file.
    pub(super) fn reference_mosquitto(acl: &MosquittoAcl) -> Vec<DeadRule> {
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
                if !e.access_given
                    && ["read", "write", "readwrite", "deny"].contains(&e.topic.as_str())
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
            out.extend(reference_dead_grants(&list));
        }
        // A pattern deny is only reached when the client's own lines did not decide.
        for d in acl
            .entries
            .iter()
            .filter(|e| e.owner == Owner::Pattern && e.access == MosqAccess::Deny)
        {
            let mut bypass: Vec<(&str, &Entry)> = Vec::new();
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
                    a.owner == own
                        && a.access == MosqAccess::Deny
                        && topic::covers(&a.topic, &expanded)
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

    /// Dead rules of an EMQX acl.conf.
    pub(super) fn reference_emqx(acl: &EmqxAcl) -> Vec<DeadRule> {
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
                        "allows everything it would deny first, so this deny never applies"
                            .to_string()
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
}

#[cfg(test)]
mod agreement {
    use super::*;
    use crate::acl::mosquitto as m;
    use crate::source::SourceFile;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    fn random_acl(rng: &mut Rng) -> String {
        const LEVELS: &[&str] = &["a", "b", "u1", "+", "#", "%u", "%c", "$SYS", "x%u", ""];
        const ACCESS: &[&str] = &["read ", "write ", "readwrite ", "deny ", ""];
        let mut text = String::new();
        for _ in 0..rng.next(24) {
            match rng.next(6) {
                0 => text.push_str(["user u1\n", "user u2\n", "user a\n"][rng.next(3)]),
                k => {
                    text.push_str(if k == 1 { "pattern " } else { "topic " });
                    text.push_str(ACCESS[rng.next(ACCESS.len())]);
                    let levels: Vec<&str> = (0..1 + rng.next(4))
                        .map(|_| LEVELS[rng.next(LEVELS.len())])
                        .collect();
                    let topic = levels.join("/");
                    text.push_str(if topic.trim().is_empty() { "a" } else { &topic });
                    text.push('\n');
                }
            }
        }
        text
    }

    fn shape(d: &[DeadRule]) -> Vec<(usize, usize, String, String, Option<usize>)> {
        d.iter()
            .map(|d| {
                (
                    d.span.line,
                    d.span.col,
                    d.message.clone(),
                    d.help.clone(),
                    d.related.as_ref().map(|r| r.0.line),
                )
            })
            .collect()
    }

    fn random_emqx_acl(rng: &mut Rng) -> String {
        const WHO: &[&str] = &[
            "all",
            "{username, \"u1\"}",
            "{username, \"s-1\"}",
            "{username, {re, \"^s-[0-9]+$\"}}",
            "{clientid, \"c\"}",
            "{clientid, {re, \"^c\"}}",
            "{'or', [{username, \"u1\"}, {clientid, \"c\"}]}",
            "{'and', [{username, \"u1\"}, {clientid, \"c\"}]}",
            "{ipaddr, \"10.0.0.0/8\"}",
            "{'or', [{'and', [{username, \"u1\"}, {clientid, \"c\"}]}, {username, {re, \"^s\"}}]}",
            "{'and', [{'or', [{username, \"u1\"}, {clientid, {re, \"^c\"}}]}, {clientid, \"c\"}]}",
            "{'and', [{'and', [{username, \"s-1\"}, {ipaddr, \"10.0.0.0/8\"}]}, {clientid, \"c\"}]}",
            "{'or', [{'or', [{username, \"s-1\"}, {clientid, \"c\"}]}, {ipaddr, \"10.0.0.0/8\"}]}",
        ];
        const ACTIONS: &[&str] = &["publish", "subscribe", "all"];
        const TOPICS: &[&str] = &[
            "\"#\"",
            "\"a/#\"",
            "\"a/+\"",
            "\"a/b\"",
            "\"+/b\"",
            "{eq, \"a/#\"}",
            "{eq, \"a/b\"}",
            "\"d/${username}/#\"",
            "\"d/s-1/x\"",
            "\"$SYS/#\"",
        ];
        let mut text = String::new();
        for _ in 0..rng.next(16) {
            if rng.next(12) == 0 {
                text.push_str(["{allow, all}.\n", "{deny, all}.\n"][rng.next(2)]);
                continue;
            }
            let topics: Vec<&str> = (0..1 + rng.next(3))
                .map(|_| TOPICS[rng.next(TOPICS.len())])
                .collect();
            text.push_str(&format!(
                "{{{}, {}, {}, [{}]}}.\n",
                ["allow", "deny"][rng.next(2)],
                WHO[rng.next(WHO.len())],
                ACTIONS[rng.next(ACTIONS.len())],
                topics.join(", ")
            ));
        }
        text
    }

    #[test]
    fn the_indexed_emqx_analysis_reports_what_the_pairwise_one_did() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut reported = 0;
        for _ in 0..6000 {
            let text = random_emqx_acl(&mut rng);
            let acl = match crate::acl::emqx::parse(&SourceFile::new("acl.conf", text.as_str())) {
                Ok(a) => a,
                Err(e) => panic!("{e}\n{text}"),
            };
            let want = shape(&reference::reference_emqx(&acl));
            assert_eq!(shape(&emqx(&acl)), want, "{text}");
            reported += want.len();
        }
        assert!(
            reported > 1000,
            "the generator finds too few dead rules ({reported})"
        );
    }

    #[test]
    fn the_indexed_analysis_reports_what_the_pairwise_one_did() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut reported = 0;
        for _ in 0..4000 {
            let text = random_acl(&mut rng);
            let Ok(acl) = m::parse(&SourceFile::new("acl", text.as_str())) else {
                continue;
            };
            let want = shape(&reference::reference_mosquitto(&acl));
            assert_eq!(shape(&mosquitto(&acl)), want, "{text}");
            reported += want.len();
        }
        assert!(
            reported > 1000,
            "the generator finds too few dead rules ({reported})"
        );
    }
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
