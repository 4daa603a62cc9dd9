//! EMQX 5 file authorization (`acl.conf`, Erlang terms): the parser, with
//! positions, and the evaluator with EMQX's semantics (`emqx_authz_rule`,
//! `emqx_topic:match/2`).
//!
//! Rules are read in order and the first one that matches the client, the
//! action and the topic decides; when none matches, `authorization.no_match`
//! decides (deny in the configs mqttforge writes). A rule is
//! `{Permission, Who, Action, Topics}` or the catch-all `{Permission, all}`
//! (all actions on `#`), where:
//! - Permission: `allow` | `deny`;
//! - Who: `all` | `{username, "u"}` | `{username, {re, "regex"}}` |
//!   `{clientid, ...}` (the same two forms; `user` and `client` are accepted
//!   aliases) | `{ipaddr, "10.0.0.0/8"}` | `{ipaddrs, [...]}` |
//!   `{'and', [Who, ...]}` | `{'or', [Who, ...]}` |
//!   `{client_attr, "name", "value" | {re, "regex"}}` (EMQX 5.7+);
//! - Action: `publish` | `subscribe` | `all`, or `{Action, [Options]}`
//!   (qos/retain options are kept as written but not evaluated: such a
//!   rule is taken to match any QoS and retain flag);
//! - Topics: a list of filters, which may hold the placeholders
//!   `${username}`, `${clientid}` and `${cert_common_name}` (a rule whose
//!   placeholder has no value for the client does not match), or
//!   `{eq, "t"}` / `"eq t"` for a filter compared literally.
//!
//! Matching is `emqx_topic:match/2`: the topic (for a subscription, the
//! filter the client asks for, taken as a name) is compared level by level;
//! `+` in the rule matches any one level (even a `+` or `#` the client
//! asked for), `#` the rest; a topic starting with `$` is not matched by a
//! rule filter starting with a wildcard.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::index::FilterTrie;
use super::regex::Regex;
use super::{Access, Decision, ParseError, Who};
use crate::formats::erlang::{self, Spanned, Term};
use crate::source::{SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Allow,
    Deny,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Publish,
    Subscribe,
    All,
}

impl Action {
    pub fn applies(self, access: Access) -> bool {
        matches!(
            (self, access),
            (Action::All, _) | (Action::Publish, Access::Write) | (Action::Subscribe, Access::Read)
        )
    }

    /// Whether this action includes everything `other` does.
    pub fn includes(self, other: Action) -> bool {
        self == Action::All || self == other
    }
}

/// A string condition on a username or client id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrMatch {
    Eq(String),
    /// The pattern as written and its compiled form (or why it is outside the supported subset).
    Re {
        source: String,
        compiled: Result<Regex, String>,
    },
}

impl StrMatch {
    /// Some(matches), or None when the regex cannot be evaluated.
    fn test(&self, value: &str) -> Option<bool> {
        match self {
            StrMatch::Eq(s) => Some(s == value),
            StrMatch::Re { compiled, .. } => compiled.as_ref().ok().map(|r| r.is_match(value)),
        }
    }
}

/// An IP network `{ipaddr, "10.0.0.0/8"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|n| *n <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhoSpec {
    All,
    Username(StrMatch),
    ClientId(StrMatch),
    IpAddrs(Vec<Cidr>),
    /// `{client_attr, Name, Value | {re, Regex}}` (EMQX 5.7+).
    ClientAttr(String, StrMatch),
    /// `{zone, Name | {re, Regex}}` (EMQX 5.9+).
    Zone(StrMatch),
    /// `{listener, Name | {re, Regex}}`, e.g. "tcp:default" (EMQX 5.9+).
    Listener(StrMatch),
    And(Vec<WhoSpec>),
    Or(Vec<WhoSpec>),
}

impl WhoSpec {
    /// Some(matches), or None when a regex in it cannot be evaluated.
    pub fn test(&self, who: &Who) -> Option<bool> {
        match self {
            WhoSpec::All => Some(true),
            WhoSpec::Username(m) => match &who.username {
                Some(u) => m.test(u),
                None => Some(false),
            },
            WhoSpec::ClientId(m) => m.test(&who.client_id),
            // A client without the attribute never matches (emqx_authz_rule).
            WhoSpec::ClientAttr(name, m) => match who.client_attrs.get(name) {
                Some(v) => m.test(v),
                None => Some(false),
            },
            // The client's zone and listener are not part of a query.
            WhoSpec::Zone(_) | WhoSpec::Listener(_) => None,
            WhoSpec::IpAddrs(nets) => Some(
                who.peer
                    .is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
            ),
            WhoSpec::And(l) => {
                let mut unknown = false;
                for w in l {
                    match w.test(who) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            WhoSpec::Or(l) => {
                let mut unknown = false;
                for w in l {
                    match w.test(who) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
        }
    }

    /// Whether every client this matches is also matched by `self`
    /// (conservative: false when unsure).
    pub fn includes(&self, other: &WhoSpec) -> bool {
        if self == other || *self == WhoSpec::All {
            return true;
        }
        match (self, other) {
            (
                WhoSpec::Username(StrMatch::Re {
                    compiled: Ok(r), ..
                }),
                WhoSpec::Username(StrMatch::Eq(v)),
            )
            | (
                WhoSpec::ClientId(StrMatch::Re {
                    compiled: Ok(r), ..
                }),
                WhoSpec::ClientId(StrMatch::Eq(v)),
            ) => r.is_match(v),
            (WhoSpec::Or(l), o) => l.iter().any(|w| w.includes(o)),
            (s, WhoSpec::And(l)) => l.iter().any(|w| s.includes(w)),
            _ => false,
        }
    }

    /// The principal's name when it is one user (`{username, "x"}`).
    pub fn username(&self) -> Option<&str> {
        match self {
            WhoSpec::Username(StrMatch::Eq(u)) => Some(u),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicSpec {
    /// A filter, possibly with placeholders.
    Filter(String),
    /// `{eq, "t"}`: compared literally.
    Eq(String),
}

impl TopicSpec {
    pub fn text(&self) -> &str {
        match self {
            TopicSpec::Filter(t) | TopicSpec::Eq(t) => t,
        }
    }
}

/// One topic of a rule, with its position.
#[derive(Clone, Debug)]
pub struct RuleTopic {
    pub topic: TopicSpec,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub permission: Permission,
    pub who: WhoSpec,
    pub action: Action,
    /// Options of `{Action, [...]}` as written (qos, retain), not evaluated.
    pub action_options: Option<String>,
    pub topics: Vec<RuleTopic>,
    /// `{allow, all}` / `{deny, all}`.
    pub catch_all: bool,
    /// From the start of the term to its final `.`.
    pub span: Span,
    /// The rule as written (on one line).
    pub text: String,
    /// The term as parsed (compare rules with `erlang::to_source`, which leaves positions out).
    pub term: Term,
}

#[derive(Clone, Debug)]
pub struct EmqxAcl {
    pub file: Arc<SourceFile>,
    pub rules: Vec<Rule>,
    /// `authorization.no_match` of emqx.conf (deny in generated configs).
    pub no_match: Permission,
    /// The rules by principal and topic, so that a decision reads only the
    /// rules that can match the client and the topic.
    index: RuleIndex,
}

/// The rules of one principal (equal `Who`s), their topics in a trie.
#[derive(Clone, Debug)]
struct PrincipalGroup {
    /// A rule of the group, whose principal the group shares.
    first: usize,
    /// Every rule of the group.
    members: Vec<usize>,
    topics: FilterTrie,
    /// Rules with a topic the trie cannot hold (a placeholder inside a
    /// level): always compared.
    always: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct RuleIndex {
    groups: Vec<PrincipalGroup>,
    /// Groups of `{username, "u"}` and `{clientid, "c"}`, by the name.
    by_username: HashMap<String, usize>,
    by_clientid: HashMap<String, usize>,
    /// Groups whose principal is tested per client (`all`, regexes,
    /// addresses, `and`/`or`).
    tested: Vec<usize>,
}

impl RuleIndex {
    fn of(rules: &[Rule]) -> RuleIndex {
        let mut index = RuleIndex::default();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let key = format!("{:?}", r.who);
            let g = match by_key.get(&key) {
                Some(&g) => g,
                None => {
                    let g = index.groups.len();
                    by_key.insert(key, g);
                    index.groups.push(PrincipalGroup {
                        first: i,
                        members: Vec::new(),
                        topics: FilterTrie::default(),
                        always: Vec::new(),
                    });
                    match &r.who {
                        WhoSpec::Username(StrMatch::Eq(u)) => {
                            index.by_username.insert(u.clone(), g);
                        }
                        WhoSpec::ClientId(StrMatch::Eq(c)) => {
                            index.by_clientid.insert(c.clone(), g);
                        }
                        _ => index.tested.push(g),
                    }
                    g
                }
            };
            let group = &mut index.groups[g];
            group.members.push(i);
            for t in &r.topics {
                let text = t.topic.text();
                let whole_levels = text
                    .split('/')
                    .all(|l| !l.contains("${") || PLACEHOLDERS.contains(&l));
                if whole_levels {
                    group.topics.insert(text, i);
                } else {
                    group.always.push(i);
                }
            }
        }
        index
    }

    /// Rules (a superset, in file order) that can match `who` asking for
    /// `requested`, or that cannot be evaluated for it (their notes).
    fn candidates(&self, rules: &[Rule], who: &Who, requested: &str) -> Vec<usize> {
        let placeholders = [
            ("${username}", who.username.as_deref()),
            ("${clientid}", Some(who.client_id.as_str())),
            ("${cert_common_name}", who.cert_common_name.as_deref()),
        ];
        let mut out = Vec::new();
        let add = |g: &PrincipalGroup, out: &mut Vec<usize>| {
            g.topics.matching(requested, &placeholders, out);
            out.extend(&g.always);
        };
        if let Some(&g) = who.username.as_ref().and_then(|u| self.by_username.get(u)) {
            add(&self.groups[g], &mut out);
        }
        if let Some(&g) = self.by_clientid.get(&who.client_id) {
            add(&self.groups[g], &mut out);
        }
        for &g in &self.tested {
            let group = &self.groups[g];
            match rules[group.first].who.test(who) {
                Some(true) => add(group, &mut out),
                Some(false) => {}
                // Every rule of the group says it could not be evaluated.
                None => out.extend(&group.members),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The placeholders EMQX fills in topics.
pub const PLACEHOLDERS: &[&str] = &["${username}", "${clientid}", "${cert_common_name}"];

/// Parses acl.conf as EMQX 5.8 reads it; anything it would refuse to load
/// is an error.
pub fn parse(file: &Arc<SourceFile>) -> Result<EmqxAcl, ParseError> {
    let (acl, errors) = parse_all(file, (5, 8));
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(acl),
    }
}

/// Parses acl.conf as EMQX `release` reads it: the rules that load, and an
/// error for every term the release would refuse (syntax or shape). After a
/// bad term the following ones are still read (`erlang::parse_recovering`),
/// so the rules are what the file holds besides its broken terms.
pub fn parse_all(file: &Arc<SourceFile>, release: (u32, u32)) -> (EmqxAcl, Vec<ParseError>) {
    let (terms, syntax) = erlang::parse_recovering(&file.text);
    let mut errors: Vec<ParseError> = syntax
        .into_iter()
        .map(|e| ParseError {
            line: e.pos.line,
            col: e.pos.col,
            message: e.message,
        })
        .collect();
    let index = LineIndex::new(&file.text);
    let mut rules = Vec::new();
    for t in &terms {
        match rule(file, &index, t, release) {
            Ok(r) => rules.push(r),
            Err(e) => errors.push(e),
        }
    }
    errors.sort_by_key(|e| (e.line, e.col));
    let acl = EmqxAcl {
        file: file.clone(),
        index: RuleIndex::of(&rules),
        rules,
        no_match: Permission::Deny,
    };
    (acl, errors)
}

fn err(s: &Spanned, message: impl Into<String>) -> ParseError {
    ParseError {
        line: s.pos.line,
        col: s.pos.col,
        message: message.into(),
    }
}

fn atom(s: &Spanned) -> Option<&str> {
    match &s.term {
        Term::Atom(a) => Some(a),
        _ => None,
    }
}

fn string(s: &Spanned) -> Option<&str> {
    match &s.term {
        Term::Str(v) => Some(v),
        _ => None,
    }
}

const RULE_SHAPE: &str =
    "a rule is `{allow | deny, Who, Action, [Topics]}` or `{allow | deny, all}`";

fn rule(
    file: &Arc<SourceFile>,
    index: &LineIndex,
    t: &Spanned,
    release: (u32, u32),
) -> Result<Rule, ParseError> {
    let Term::Tuple(items) = &t.term else {
        return Err(err(
            t,
            format!(
                "expected a rule tuple, found `{}`: {RULE_SHAPE}",
                erlang::to_source(&t.term)
            ),
        ));
    };
    let permission = permission(t, items)?;
    let (end_line, end_col, text) = term_text(file, index, t);
    let span = Span {
        file: file.clone(),
        line: t.pos.line,
        col: t.pos.col,
        end_line,
        end_col,
    };
    match items.len() {
        2 => {
            if atom(&items[1]) != Some("all") {
                return Err(err(
                    &items[1],
                    format!(
                        "a two-element rule must be `{{{}, all}}`: {RULE_SHAPE}",
                        permission.as_str()
                    ),
                ));
            }
            Ok(Rule {
                permission,
                who: WhoSpec::All,
                action: Action::All,
                action_options: None,
                topics: vec![RuleTopic {
                    topic: TopicSpec::Filter("#".into()),
                    span: span.clone(),
                }],
                catch_all: true,
                span,
                text,
                term: t.term.clone(),
            })
        }
        4 => {
            let who = who(&items[1], 0, release)?;
            let (action, action_options) = action(&items[2])?;
            let list: Vec<&Spanned> = match &items[3].term {
                Term::List(l) => l.iter().collect(),
                // `{allow, Who, Action, all}`: every topic (EMQX 5.8+).
                Term::Atom(a) if a == "all" => {
                    let topic = RuleTopic {
                        topic: TopicSpec::Filter("#".into()),
                        span: span.clone(),
                    };
                    return Ok(Rule {
                        permission,
                        who,
                        action,
                        action_options,
                        topics: vec![topic],
                        catch_all: false,
                        span,
                        text,
                        term: t.term.clone(),
                    });
                }
                _ => return Err(err(&items[3], format!("the topics of a rule are a list such as [\"devices/${{username}}/#\"], not `{}`", erlang::to_source(&items[3].term)))),
            };
            let topics = list
                .into_iter()
                .map(|s| rule_topic(file, s))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Rule {
                permission,
                who,
                action,
                action_options,
                topics,
                catch_all: false,
                span,
                text,
                term: t.term.clone(),
            })
        }
        _ => Err(err(
            t,
            format!(
                "a rule has 2 or 4 elements, this one has {}: {RULE_SHAPE}",
                items.len()
            ),
        )),
    }
}

/// A rule's first element: `allow` or `deny`.
fn permission(t: &Spanned, items: &[Spanned]) -> Result<Permission, ParseError> {
    match items.first().and_then(atom) {
        Some("allow") => Ok(Permission::Allow),
        Some("deny") => Ok(Permission::Deny),
        _ => {
            let at = items.first().unwrap_or(t);
            Err(err(
                at,
                format!(
                    "a rule starts with `allow` or `deny`, not `{}`",
                    erlang::to_source(&at.term)
                ),
            ))
        }
    }
}

/// One topic of a rule's list: a filter string, `"eq topic"` or `{eq, "topic"}`.
fn rule_topic(file: &Arc<SourceFile>, s: &Spanned) -> Result<RuleTopic, ParseError> {
    let topic = match &s.term {
        Term::Str(v) => match v.strip_prefix("eq ") {
            Some(rest) => TopicSpec::Eq(rest.to_string()),
            None => TopicSpec::Filter(v.clone()),
        },
        Term::Tuple(eq)
            if eq.len() == 2 && atom(&eq[0]) == Some("eq") && string(&eq[1]).is_some() =>
        {
            TopicSpec::Eq(string(&eq[1]).unwrap_or_default().to_string())
        }
        other => {
            return Err(err(
                s,
                format!(
                    "a topic is a string or `{{eq, \"topic\"}}`, not `{}`",
                    erlang::to_source(other)
                ),
            ))
        }
    };
    if topic.text().is_empty() {
        return Err(err(s, "a topic filter cannot be empty"));
    }
    let len = erlang::to_source(&s.term).chars().count().max(1);
    Ok(RuleTopic {
        topic,
        span: Span {
            file: file.clone(),
            line: s.pos.line,
            col: s.pos.col,
            end_line: s.pos.line,
            end_col: s.pos.col + len,
        },
    })
}

fn str_match(s: &Spanned, what: &str) -> Result<StrMatch, ParseError> {
    match &s.term {
        Term::Str(v) => Ok(StrMatch::Eq(v.clone())),
        Term::Tuple(t) if t.len() == 2 && atom(&t[0]) == Some("re") => match string(&t[1]) {
            Some(p) => Ok(StrMatch::Re {
                source: p.to_string(),
                compiled: Regex::new(p).map_err(|e| e.0),
            }),
            None => Err(err(
                &t[1],
                format!("the regex of {what} is a string, such as {{re, \"^sensor-[0-9]+$\"}}"),
            )),
        },
        other => Err(err(
            s,
            format!(
                "{what} is a string or {{re, \"regex\"}}, not `{}`",
                erlang::to_source(other)
            ),
        )),
    }
}

/// Principals later EMQX releases added: (tag, the release that added it).
/// From `compile_who/1` of emqx_authz_rule.erl: `zone` and `listener`
/// appear in e5.9.0 and are absent from v5.8.9.
const WHO_SINCE: &[(&str, (u32, u32))] = &[("zone", (5, 9)), ("listener", (5, 9))];

fn who(s: &Spanned, depth: usize, release: (u32, u32)) -> Result<WhoSpec, ParseError> {
    if depth > 16 {
        return Err(err(s, "principals nested too deeply"));
    }
    if atom(s) == Some("all") {
        return Ok(WhoSpec::All);
    }
    let who_shape = "the principal is `all`, {username, ...}, {clientid, ...}, {client_attr, Name, Value}, {ipaddr, \"CIDR\"}, {ipaddrs, [...]}, {'and', [...]} or {'or', [...]} (EMQX 5.9+ adds {zone, ...} and {listener, ...})";
    if let Term::Tuple(t) = &s.term {
        if t.len() == 3 && atom(&t[0]) == Some("client_attr") {
            let name =
                string(&t[1]).ok_or_else(|| err(&t[1], "a client attribute's name is a string"))?;
            return Ok(WhoSpec::ClientAttr(
                name.to_string(),
                str_match(&t[2], "an attribute value")?,
            ));
        }
    }
    let Term::Tuple(t) = &s.term else {
        return Err(err(
            s,
            format!(
                "`{}` is not a principal: {who_shape}",
                erlang::to_source(&s.term)
            ),
        ));
    };
    if t.len() != 2 {
        return Err(err(
            s,
            format!(
                "`{}` is not a principal: {who_shape}",
                erlang::to_source(&s.term)
            ),
        ));
    }
    let cidr = |v: &Spanned| -> Result<Cidr, ParseError> {
        let text =
            string(v).ok_or_else(|| err(v, "an address is a string such as \"10.0.0.0/8\""))?;
        Cidr::parse(text)
            .ok_or_else(|| err(v, format!("`{text}` is not an IP address or CIDR range")))
    };
    match atom(&t[0]) {
        Some("username") | Some("user") => Ok(WhoSpec::Username(str_match(&t[1], "a username")?)),
        Some("clientid") | Some("client") => {
            Ok(WhoSpec::ClientId(str_match(&t[1], "a client id")?))
        }
        Some("ipaddr") => Ok(WhoSpec::IpAddrs(vec![cidr(&t[1])?])),
        Some("ipaddrs") => match &t[1].term {
            Term::List(l) => Ok(WhoSpec::IpAddrs(
                l.iter().map(cidr).collect::<Result<_, _>>()?,
            )),
            _ => Err(err(&t[1], "`ipaddrs` takes a list of addresses")),
        },
        Some(tag @ ("zone" | "listener")) => {
            let since = WHO_SINCE
                .iter()
                .find(|(t, _)| *t == tag)
                .map_or((5, 9), |(_, v)| *v);
            if release < since {
                return Err(err(
                    s,
                    format!(
                        "`{{{tag}, ...}}` needs EMQX {}.{} or later; EMQX {}.{}, the release this file is judged as, refuses it (pass --emqx-version {}.{} if the file is for that release)",
                        since.0, since.1, release.0, release.1, since.0, since.1
                    ),
                ));
            }
            let m = str_match(&t[1], &format!("a {tag} name"))?;
            Ok(if tag == "zone" {
                WhoSpec::Zone(m)
            } else {
                WhoSpec::Listener(m)
            })
        }
        Some(op @ ("and" | "or")) => match &t[1].term {
            Term::List(l) => {
                let l = l
                    .iter()
                    .map(|w| who(w, depth + 1, release))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    WhoSpec::And(l)
                } else {
                    WhoSpec::Or(l)
                })
            }
            _ => Err(err(&t[1], format!("`'{op}'` takes a list of principals"))),
        },
        _ => Err(err(
            s,
            format!(
                "`{}` is not a principal: {who_shape}",
                erlang::to_source(&s.term)
            ),
        )),
    }
}

fn action(s: &Spanned) -> Result<(Action, Option<String>), ParseError> {
    let simple = |a: Option<&str>| match a {
        Some("publish") => Some(Action::Publish),
        Some("subscribe") => Some(Action::Subscribe),
        Some("all") => Some(Action::All),
        _ => None,
    };
    if let Some(a) = simple(atom(s)) {
        return Ok((a, None));
    }
    if let Term::Tuple(t) = &s.term {
        if t.len() == 2 && matches!(t[1].term, Term::List(_)) {
            if let Some(a) = simple(atom(&t[0])) {
                return Ok((a, Some(erlang::to_source(&t[1].term))));
            }
        }
    }
    let shown = erlang::to_source(&s.term);
    let hint = if atom(s) == Some("pubsub") {
        " (`pubsub` is EMQX 4.x's; EMQX 5 writes `all`)"
    } else {
        ""
    };
    Err(err(
        s,
        format!("`{shown}` is not an action: write publish, subscribe or all{hint}"),
    ))
}

/// Char offsets of line starts, to turn positions into offsets.
struct LineIndex {
    chars: Vec<char>,
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let chars: Vec<char> = text.chars().collect();
        let mut starts = vec![0];
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { chars, starts }
    }

    fn offset(&self, line: usize, col: usize) -> usize {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.chars.len());
        (start + col.saturating_sub(1)).min(self.chars.len())
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// The end (line, column after the final `.`) and the text of a top-level
/// term, whitespace runs and comments collapsed to single spaces.
fn term_text(_file: &Arc<SourceFile>, index: &LineIndex, t: &Spanned) -> (usize, usize, String) {
    let chars = &index.chars;
    let start = index.offset(t.pos.line, t.pos.col);
    let mut i = start;
    let mut depth = 0usize;
    let mut out = String::new();
    let mut space = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                if space {
                    out.push(' ');
                    space = false;
                }
                out.push(c);
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                    }
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push(c);
                }
                i += 1;
                continue;
            }
            '$' if i + 1 < chars.len() => {
                out.push(c);
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '%' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                space = !out.is_empty();
                continue;
            }
            c if c.is_whitespace() => {
                space = !out.is_empty();
                i += 1;
                continue;
            }
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0
                && chars
                    .get(i + 1)
                    .is_none_or(|n| n.is_whitespace() || *n == '%') =>
            {
                out.push('.');
                let (line, col) = index.position(i);
                return (line, col + 1, out);
            }
            _ => {}
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        i += 1;
    }
    let (line, col) = index.position(chars.len().saturating_sub(1));
    (line, col + 1, out)
}

/// Fills `${...}` placeholders; None when one has no value for the client.
pub fn render(filter: &str, who: &Who) -> Option<String> {
    let mut out = filter.to_string();
    for (ph, value) in [
        ("${username}", who.username.as_deref()),
        ("${clientid}", Some(who.client_id.as_str())),
        ("${cert_common_name}", who.cert_common_name.as_deref()),
    ] {
        if out.contains(ph) {
            out = out.replace(ph, value?);
        }
    }
    Some(out)
}

/// `emqx_topic:match/2`: `name` (a topic, or a filter a client subscribes
/// with, taken as a name) against `filter`.
pub fn topic_match(name: &str, filter: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let n: Vec<&str> = name.split('/').collect();
    let f: Vec<&str> = filter.split('/').collect();
    let mut i = 0;
    loop {
        match (n.get(i), f.get(i)) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(&"+")) => {}
            (_, Some(&"#")) if i + 1 == f.len() => return true,
            _ => return false,
        }
        i += 1;
    }
}

impl EmqxAcl {
    /// What EMQX decides. Cost: O(principals tested per client (`all`,
    /// regexes, `and`/`or`) + levels + rules that may match), not the
    /// number of rules.
    pub fn decide(&self, who: &Who, access: Access, requested: &str) -> Decision {
        let candidates = self.index.candidates(&self.rules, who, requested);
        self.decide_among(who, access, requested, candidates.into_iter())
    }

    /// [`EmqxAcl::decide`] reading only the rules at `indices` (ascending):
    /// the others must neither match nor be unevaluable for the client.
    fn decide_among(
        &self,
        who: &Who,
        access: Access,
        requested: &str,
        indices: impl Iterator<Item = usize>,
    ) -> Decision {
        let mut notes: Vec<String> = Vec::new();
        for r in indices.map(|i| &self.rules[i]) {
            if !r.action.applies(access) {
                continue;
            }
            match r.who.test(who) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    notes.push(format!(
                        "line {} uses a regex outside the supported subset; it was taken as not matching",
                        r.span.line
                    ));
                    continue;
                }
            }
            let hit = r.topics.iter().any(|t| match &t.topic {
                TopicSpec::Eq(e) => e == requested,
                TopicSpec::Filter(f) => render(f, who).is_some_and(|f| topic_match(requested, &f)),
            });
            if hit {
                let mut note = notes.join("; ");
                if r.action_options.is_some() {
                    if !note.is_empty() {
                        note.push_str("; ");
                    }
                    note.push_str("the rule's qos/retain conditions were not evaluated");
                }
                return Decision {
                    allowed: r.permission == Permission::Allow,
                    rule: Some((r.span.clone(), r.text.clone())),
                    note: (!note.is_empty()).then_some(note),
                };
            }
        }
        notes.push(format!(
            "no rule of {} matches: authorization.no_match ({}) decides",
            self.file.name,
            self.no_match.as_str()
        ));
        Decision {
            allowed: self.no_match == Permission::Allow,
            rule: None,
            note: Some(notes.join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_releases_forms() {
        let file = SourceFile::new(
            "acl.conf",
            "{allow, {zone, {re, \"^ext\"}}, publish, [\"a/${zone}\"]}.\n{allow, {listener, \"ssl:default\"}, {publish, [{qos, [1, 2]}, {retain, false}]}, all}.\n{deny, all}.\n",
        );
        // 5.8 refuses zone and listener principals, naming the release.
        let (acl, errors) = parse_all(&file, (5, 8));
        assert_eq!(acl.rules.len(), 1);
        let shown: Vec<(usize, usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.col, e.message.as_str()))
            .collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!((shown[0].0, shown[0].1), (1, 9));
        assert!(shown[0]
            .2
            .starts_with("`{zone, ...}` needs EMQX 5.9 or later"));
        assert!(shown[1]
            .2
            .starts_with("`{listener, ...}` needs EMQX 5.9 or later"));
        for release in [(5, 9), (5, 10), (6, 0)] {
            let (acl, errors) = parse_all(&file, release);
            assert!(errors.is_empty(), "{release:?}: {errors:?}");
            assert_eq!(acl.rules.len(), 3);
            assert!(matches!(
                acl.rules[0].who,
                WhoSpec::Zone(StrMatch::Re { .. })
            ));
            assert_eq!(
                acl.rules[1].who,
                WhoSpec::Listener(StrMatch::Eq("ssl:default".into()))
            );
            // `all` topics: every topic, as EMQX compiles it.
            assert_eq!(acl.rules[1].topics[0].topic, TopicSpec::Filter("#".into()));
            assert!(acl.rules[1].action_options.is_some());
        }
        // A client's zone and listener are not known to a query: undecided.
        let who = WhoSpec::Zone(StrMatch::Eq("external".into()));
        assert_eq!(who.test(&Who::new(Some("u"), "c")), None);
        assert!(!who.includes(&WhoSpec::Listener(StrMatch::Eq("external".into()))));
    }

    const ACL: &str = r##"%% generated
{allow, {username, "admin"}, all, ["#"]}.
{allow, {username, "monitoring"}, subscribe, ["$SYS/#"]}.

%% fleet
{deny, {username, {re, "^sensor-[0-9]{4}$"}}, publish, ["devices/${username}/telemetry/secret"]}.
{allow, {username, {re, "^sensor-[0-9]{4}$"}},
        publish, ["devices/${username}/telemetry/#", "devices/${username}/status"]}.
{allow, {username, {re, "^sensor-[0-9]{4}$"}}, subscribe, ["devices/${username}/cmd/#"]}.
{allow, {clientid, "box-1"}, publish, [{eq, "boxes/#"}, "eq boxes/+"]}.
{allow, {'and', [{ipaddr, "10.1.0.0/16"}, {username, "gw"}]}, all, ["gw/${clientid}/#"]}.
{deny, all}.
"##;

    #[test]
    fn indexed_rules_decide_as_reading_every_rule() {
        let mut state: u64 = 0x6c07_8965_91ba_0d5b;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        const WHO: &[&str] = &[
            "all",
            "{username, \"u\"}",
            "{username, \"a\"}",
            "{username, {re, \"^s-[0-9]+$\"}}",
            "{username, {re, \"(a|b)\"}}",
            "{clientid, \"c\"}",
            "{clientid, {re, \"^c\"}}",
            "{'or', [{username, \"u\"}, {clientid, \"c\"}]}",
            "{'and', [{username, \"s-1\"}, {clientid, \"c\"}]}",
            "{ipaddr, \"10.0.0.0/8\"}",
        ];
        const TOPICS: &[&str] = &[
            "\"#\"",
            "\"a/#\"",
            "\"a/+\"",
            "\"a/b\"",
            "\"+/b\"",
            "{eq, \"a/#\"}",
            "{eq, \"a/${username}\"}",
            "\"d/${username}/#\"",
            "\"d/${clientid}\"",
            "\"x${username}/y\"",
            "\"${cert_common_name}\"",
            "\"$SYS/#\"",
        ];
        const NAMES: &[&str] = &[
            "a",
            "b",
            "u",
            "c",
            "s-1",
            "d",
            "x/y",
            "$SYS",
            "#",
            "+",
            "${username}",
            "xu",
            "xa",
            "y",
        ];
        let mut compared = 0;
        for _ in 0..1500 {
            let mut text = String::new();
            for _ in 0..next(12) {
                let topics: Vec<&str> = (0..1 + next(2))
                    .map(|_| TOPICS[next(TOPICS.len())])
                    .collect();
                text.push_str(&format!(
                    "{{{}, {}, {}, [{}]}}.\n",
                    ["allow", "deny"][next(2)],
                    WHO[next(WHO.len())],
                    ["publish", "subscribe", "all", "{publish, [{qos, 1}]}"][next(4)],
                    topics.join(", ")
                ));
            }
            if next(3) == 0 {
                text.push_str("{deny, all}.\n");
            }
            let a = parse(&SourceFile::new("acl.conf", text.as_str()))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            for _ in 0..20 {
                let pick =
                    |next: &mut dyn FnMut(usize) -> usize| NAMES[next(NAMES.len())].to_string();
                let who = Who {
                    username: (next(4) > 0).then(|| pick(&mut next)),
                    client_id: pick(&mut next),
                    cert_common_name: (next(2) > 0).then(|| pick(&mut next)),
                    peer: (next(2) > 0).then(|| "10.1.2.3".parse().unwrap()),
                    client_attrs: Default::default(),
                };
                let levels: Vec<String> = (0..1 + next(3)).map(|_| pick(&mut next)).collect();
                // Half the time, a topic some rule names, rendered for the client.
                let named = (!a.rules.is_empty() && next(2) == 0)
                    .then(|| &a.rules[next(a.rules.len())])
                    .and_then(|r| render(r.topics[0].topic.text(), &who));
                let requested = named.unwrap_or_else(|| levels.join("/"));
                let access = [Access::Read, Access::Write][next(2)];
                let all = a.decide_among(&who, access, &requested, 0..a.rules.len());
                let indexed = a.decide(&who, access, &requested);
                let shape = |d: &Decision| {
                    (
                        d.allowed,
                        d.rule.as_ref().map(|r| (r.0.line, r.1.clone())),
                        d.note.clone(),
                    )
                };
                assert_eq!(
                    shape(&indexed),
                    shape(&all),
                    "{text}{who:?} {access:?} {requested}"
                );
                compared += 1;
            }
        }
        assert!(compared > 10_000);
    }

    fn acl() -> EmqxAcl {
        parse(&SourceFile::new("acl.conf", ACL)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_rules_with_positions_and_text() {
        let a = acl();
        assert_eq!(a.rules.len(), 8);
        let r = &a.rules[3];
        assert_eq!((r.span.line, r.span.col, r.span.end_line), (7, 1, 8));
        assert_eq!(
            r.text,
            r##"{allow, {username, {re, "^sensor-[0-9]{4}$"}}, publish, ["devices/${username}/telemetry/#", "devices/${username}/status"]}."##
        );
        assert_eq!(r.topics[1].span.line, 8);
        assert!(a.rules[7].catch_all);
        assert_eq!(a.rules[5].topics[1].topic, TopicSpec::Eq("boxes/+".into()));
    }

    #[test]
    fn first_match_wins() {
        let a = acl();
        let s = Who::new(Some("sensor-0042"), "sensor-0042");
        let d = a.decide(&s, Access::Write, "devices/sensor-0042/telemetry/secret");
        assert!(!d.allowed);
        assert_eq!(d.rule.unwrap().0.line, 6);
        let d = a.decide(&s, Access::Write, "devices/sensor-0042/telemetry/temp");
        assert!(d.allowed);
        assert_eq!(d.rule.unwrap().0.line, 7);
        assert!(
            a.decide(&s, Access::Write, "devices/sensor-0042/telemetry")
                .allowed
        );
        let d = a.decide(&s, Access::Write, "devices/sensor-0043/telemetry/temp");
        assert!(!d.allowed);
        assert_eq!(d.rule.unwrap().1, "{deny, all}.");
        assert!(
            a.decide(&s, Access::Read, "devices/sensor-0042/cmd/#")
                .allowed
        );
        assert!(!a.decide(&s, Access::Read, "devices/+/cmd/#").allowed);
        assert!(
            !a.decide(
                &Who::new(Some("sensor-42"), "x"),
                Access::Write,
                "devices/sensor-42/status"
            )
            .allowed
        );
    }

    #[test]
    fn placeholders_need_a_value() {
        let a = acl();
        let anon = Who::new(None, "sensor-0042");
        assert!(
            !a.decide(&anon, Access::Write, "devices/sensor-0042/status")
                .allowed
        );
        let mut gw = Who::new(Some("gw"), "gw-7");
        assert!(
            !a.decide(&gw, Access::Write, "gw/gw-7/x").allowed,
            "no peer address"
        );
        gw.peer = Some("10.1.2.3".parse().unwrap());
        assert!(a.decide(&gw, Access::Write, "gw/gw-7/x").allowed);
        assert!(!a.decide(&gw, Access::Write, "gw/gw/x").allowed);
        gw.peer = Some("10.2.0.1".parse().unwrap());
        assert!(!a.decide(&gw, Access::Write, "gw/gw-7/x").allowed);
    }

    #[test]
    fn eq_topics_are_literal() {
        let a = acl();
        let b = Who::new(None, "box-1");
        assert!(a.decide(&b, Access::Write, "boxes/#").allowed);
        assert!(a.decide(&b, Access::Write, "boxes/+").allowed);
        assert!(!a.decide(&b, Access::Write, "boxes/a").allowed);
    }

    #[test]
    fn sys_topics_and_wildcards() {
        let a = acl();
        let admin = Who::new(Some("admin"), "admin");
        assert!(a.decide(&admin, Access::Write, "a/b").allowed);
        let d = a.decide(&admin, Access::Read, "$SYS/broker/uptime");
        assert!(!d.allowed && d.rule.is_none());
        assert!(d.note.unwrap().contains("no_match"));
        assert!(
            a.decide(&Who::new(Some("monitoring"), "m"), Access::Read, "$SYS/#")
                .allowed
        );
        assert!(
            topic_match("a/#", "a/+"),
            "EMQX lets a `+` rule level match a requested `#`"
        );
        assert!(topic_match("a", "a/#"));
        assert!(!topic_match("a/b", "a/+/c"));
    }

    #[test]
    fn unsupported_regexes_are_reported_not_guessed() {
        let a = parse(&SourceFile::new(
            "acl.conf",
            "{allow, {username, {re, \"^(a)\\\\1$\"}}, all, [\"#\"]}.\n{deny, all}.\n",
        ))
        .unwrap();
        let d = a.decide(&Who::new(Some("a"), "a"), Access::Write, "x");
        assert!(!d.allowed);
        assert!(d.note.unwrap().contains("outside the supported subset"));
    }

    #[test]
    fn cidr() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains("127.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
    }

    #[test]
    fn refuses_what_emqx_refuses() {
        for (text, line, col) in [
            ("{allow, {username, \"a\"}, publish}.", 1, 1),
            ("{permit, all}.", 1, 2),
            ("{allow, {username, \"a\"}}.", 1, 9),
            ("\n{allow, {nick, \"a\"}, all, [\"#\"]}.", 2, 9),
            ("{allow, all, write, [\"#\"]}.", 1, 14),
            ("{allow, all, all, \"#\"}.", 1, 19),
            ("{allow, all, all, [foo]}.", 1, 20),
            ("{allow, {ipaddr, \"300.1.1.1\"}, all, [\"#\"]}.", 1, 18),
            ("{allow, all, all, [\"#\"]}", 1, 25),
            ("allow.", 1, 1),
        ] {
            let e = parse(&SourceFile::new("acl.conf", text)).unwrap_err();
            assert_eq!((e.line, e.col), (line, col), "{text}: {}", e.message);
        }
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "{",
            "}",
            "%%",
            "{allow, all}.{deny",
            "{'and', [[[[",
            "\u{0}",
            "{allow, {'or', []}, all, []}.",
            "{deny, all}. % x\n",
        ] {
            if let Ok(a) = parse(&SourceFile::new("acl.conf", text)) {
                let _ = a.decide(&Who::new(Some("u"), "c"), Access::Read, "a/#");
            }
        }
    }
}
