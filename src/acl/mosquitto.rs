//! Mosquitto ACL files (`acl_file`): the parser, with positions, and the
//! evaluator with Mosquitto 2.0's semantics (`mosquitto_acl_check_default`
//! and `aclfile__parse` in src/security_default.c).
//!
//! The file, as Mosquitto 2.0 reads it:
//! - trailing whitespace is stripped; a line whose first character is `#`
//!   is a comment; words are separated by spaces only (a tab is part of a
//!   word); a blank line is skipped; any other first word is an error;
//! - `topic [read|write|readwrite|deny] <topic>` (the rest of the line,
//!   trimmed, is the topic; without an access word the access is
//!   `readwrite`); `pattern ...` likewise; `user <name>` (the rest of the
//!   line, trimmed) starts the block of that user; `topic` lines before any
//!   `user` line belong to clients that connect without a username;
//!   blocks of the same user are merged.
//!
//! The check, for a client with a username, a client id and a topic:
//! 1. the client's own list (its user block, or the anonymous topics when it
//!    has no username) is walked with every `deny` moved to the front: a
//!    matching deny denies, a matching entry that grants the access allows;
//!    a topic starting with `$` is only compared with entries starting with `$`;
//! 2. if `pattern` lines exist, a username or client id holding `+` or `#`
//!    is denied;
//! 3. the patterns are walked the same way (denies first), with a level that
//!    is exactly `%u` replaced by the username and `%c` by the client id;
//!    patterns holding `%u` are skipped for clients without a username;
//! 4. anything else is denied.
//!
//! Subscriptions: Mosquitto 2.0 accepts a SUBSCRIBE and checks `read` access
//! for every message it would deliver. For a filter with wildcards the
//! evaluator answers whether every message the filter can deliver is
//! readable: an entry must cover the whole filter; a deny covering it denies
//! it, and a deny that only overlaps it is named in the decision's note
//! (Mosquitto accepts the subscription and drops those messages).

use std::collections::HashMap;
use std::sync::Arc;

use super::index::{FilterTrie, Placeholders};
use super::{topic, Access, Decision, ParseError, Who};
use crate::source::{SourceFile, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MosqAccess {
    Read,
    Write,
    ReadWrite,
    Deny,
}

impl MosqAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            MosqAccess::Read => "read",
            MosqAccess::Write => "write",
            MosqAccess::ReadWrite => "readwrite",
            MosqAccess::Deny => "deny",
        }
    }

    /// Whether the entry grants `access`.
    pub fn grants(self, access: Access) -> bool {
        matches!(
            (self, access),
            (MosqAccess::ReadWrite, _)
                | (MosqAccess::Read, Access::Read)
                | (MosqAccess::Write, Access::Write)
        )
    }

    /// Whether this entry grants at least everything `other` grants.
    pub fn includes(self, other: MosqAccess) -> bool {
        self == other || (self == MosqAccess::ReadWrite && other != MosqAccess::Deny)
    }
}

/// Whose list an entry belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// `topic` lines before any `user` line: clients without a username.
    Anonymous,
    /// `topic` lines in the block of this user.
    User(String),
    /// `pattern` lines: every client, with `%u`/`%c` substituted.
    Pattern,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub owner: Owner,
    pub access: MosqAccess,
    /// Whether the line named the access (without it, `readwrite`).
    pub access_given: bool,
    pub topic: String,
    /// The whole line.
    pub span: Span,
    /// The topic on the line.
    pub topic_span: Span,
    /// The line as written (trimmed).
    pub text: String,
}

/// A `user` line.
#[derive(Clone, Debug)]
pub struct UserLine {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct MosquittoAcl {
    pub file: Arc<SourceFile>,
    pub entries: Vec<Entry>,
    pub users: Vec<UserLine>,
    /// Each list Mosquitto walks, indexed by topic.
    lists: HashMap<Owner, OwnerList>,
}

/// One owner's entries: in the order Mosquitto walks them, and by topic.
#[derive(Clone, Debug, Default)]
struct OwnerList {
    /// Entry indices, denies first (last read first), then the others.
    walk: Vec<usize>,
    /// Entry index -> position in `walk`.
    position: HashMap<usize, usize>,
    /// The entries' topics, built on the first decision that reads a long
    /// list (most lists of a big file are never asked about).
    topics: std::sync::OnceLock<FilterTrie>,
}

/// Lists up to this long are walked whole: an index would cost more.
const SHORT_LIST: usize = 16;

impl OwnerList {
    fn of(entries: &[Entry]) -> HashMap<Owner, OwnerList> {
        let mut by_owner: HashMap<Owner, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_owner.entry(e.owner.clone()).or_default().push(i);
        }
        by_owner
            .into_iter()
            .map(|(owner, mine)| {
                let mut walk: Vec<usize> = mine
                    .iter()
                    .rev()
                    .copied()
                    .filter(|&i| entries[i].access == MosqAccess::Deny)
                    .collect();
                walk.extend(
                    mine.iter()
                        .filter(|&&i| entries[i].access != MosqAccess::Deny),
                );
                let position = walk.iter().enumerate().map(|(p, &i)| (i, p)).collect();
                (
                    owner,
                    OwnerList {
                        walk,
                        position,
                        topics: std::sync::OnceLock::new(),
                    },
                )
            })
            .collect()
    }
}

/// Characters of a line from 0-based char index `start` to `end`, as a span.
fn span_of(file: &Arc<SourceFile>, line: usize, start: usize, end: usize) -> Span {
    Span {
        file: file.clone(),
        line,
        col: start + 1,
        end_line: line,
        end_col: end.max(start + 1) + 1,
    }
}

/// Parses an ACL file the way Mosquitto 2.0 does; lines it would refuse are errors.
pub fn parse(file: &Arc<SourceFile>) -> Result<MosquittoAcl, ParseError> {
    let mut entries = Vec::new();
    let mut users = Vec::new();
    let mut user: Option<String> = None;
    for (i, raw) in file.text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches(|c: char| c.is_ascii_whitespace());
        if line.starts_with('#') {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        // Words separated by spaces, as strtok_r(buf, " ") splits them.
        let mut pos = 0;
        let word = |pos: &mut usize| -> Option<(usize, usize)> {
            while *pos < chars.len() && chars[*pos] == ' ' {
                *pos += 1;
            }
            let start = *pos;
            while *pos < chars.len() && chars[*pos] != ' ' {
                *pos += 1;
            }
            (start < *pos).then_some((start, *pos))
        };
        let Some((ks, ke)) = word(&mut pos) else {
            continue;
        };
        let keyword: String = chars[ks..ke].iter().collect();
        let rest = |from: usize| -> Option<(usize, usize)> {
            let mut s = from;
            while s < chars.len() && chars[s] == ' ' {
                s += 1;
            }
            let mut e = chars.len();
            while e > s && chars[e - 1] == ' ' {
                e -= 1;
            }
            (s < e).then_some((s, e))
        };
        let err = |col: usize, message: String| ParseError {
            line: line_no,
            col: col + 1,
            message,
        };
        match keyword.as_str() {
            "topic" | "pattern" => {
                let Some((as_, ae)) = word(&mut pos) else {
                    return Err(err(ke, format!("`{keyword}` without a topic (Mosquitto refuses the file: \"Empty topic in acl_file\")")));
                };
                let access_word: String = chars[as_..ae].iter().collect();
                let (access, access_given, ts, te) = match rest(ae) {
                    Some((ts, te)) => {
                        let access = match access_word.as_str() {
                            "read" => MosqAccess::Read,
                            "write" => MosqAccess::Write,
                            "readwrite" => MosqAccess::ReadWrite,
                            "deny" => MosqAccess::Deny,
                            other => {
                                return Err(err(
                                    as_,
                                    format!("`{other}` is not an access (Mosquitto refuses the file: \"Invalid topic access type\"); write read, write, readwrite or deny"),
                                ));
                            }
                        };
                        (access, true, ts, te)
                    }
                    None => (MosqAccess::ReadWrite, false, as_, ae),
                };
                let topic: String = chars[ts..te].iter().collect();
                let owner = if keyword == "pattern" {
                    Owner::Pattern
                } else {
                    match &user {
                        Some(u) => Owner::User(u.clone()),
                        None => Owner::Anonymous,
                    }
                };
                entries.push(Entry {
                    owner,
                    access,
                    access_given,
                    topic,
                    span: span_of(file, line_no, ks, chars.len()),
                    topic_span: span_of(file, line_no, ts, te),
                    text: chars[ks..].iter().collect(),
                });
            }
            "user" => {
                let Some((us, ue)) = rest(ke) else {
                    return Err(err(ks, "`user` without a name (Mosquitto refuses the file: \"Missing username in acl_file\")".into()));
                };
                let name: String = chars[us..ue].iter().collect();
                users.push(UserLine {
                    name: name.clone(),
                    span: span_of(file, line_no, us, ue),
                });
                user = Some(name);
            }
            other => {
                let shown: String = other.chars().flat_map(char::escape_debug).collect();
                return Err(err(
                    ks,
                    format!("`{shown}` is not an ACL line (Mosquitto refuses the file: \"Invalid line in acl_file\"); lines are `user NAME`, `topic [ACCESS] TOPIC` or `pattern [ACCESS] TOPIC`, and comments start with `#` in the first column"),
                ));
            }
        }
    }
    Ok(MosquittoAcl {
        file: file.clone(),
        lists: OwnerList::of(&entries),
        entries,
        users,
    })
}

impl MosquittoAcl {
    /// The entries of one list in the order Mosquitto walks it: every deny
    /// first (each was put at the front when read, so the last one read comes
    /// first), then the others in file order.
    pub fn list(&self, owner: &Owner) -> Vec<&Entry> {
        self.lists
            .get(owner)
            .map(|l| l.walk.iter().map(|&i| &self.entries[i]).collect())
            .unwrap_or_default()
    }

    /// The entries of one list that may match, cover or overlap `requested`
    /// (a superset, found through the list's [`FilterTrie`]), in walk order:
    /// the others decide nothing for it.
    fn candidates(&self, owner: &Owner, requested: &str, who: Option<&Who>) -> Vec<&Entry> {
        let Some(list) = self.lists.get(owner) else {
            return Vec::new();
        };
        if list.walk.len() <= SHORT_LIST {
            return list.walk.iter().map(|&i| &self.entries[i]).collect();
        }
        let topics = list.topics.get_or_init(|| {
            let mut trie = FilterTrie::default();
            for &i in &list.walk {
                trie.insert(&self.entries[i].topic, i);
            }
            trie
        });
        let mut found = Vec::new();
        let placeholders = who.map(|w| Placeholders {
            user: w.username.as_deref().unwrap_or(""),
            client: &w.client_id,
        });
        topics.intersecting(requested, placeholders, &mut found);
        let mut positions: Vec<usize> = found.iter().map(|i| list.position[i]).collect();
        positions.sort_unstable();
        positions.dedup();
        positions
            .into_iter()
            .map(|p| &self.entries[list.walk[p]])
            .collect()
    }

    pub fn has_patterns(&self) -> bool {
        self.lists.contains_key(&Owner::Pattern)
    }

    /// What Mosquitto decides. Cost: O(levels + entries of the client's
    /// lists that may match the topic), not the length of the lists.
    pub fn decide(&self, who: &Who, access: Access, requested: &str) -> Decision {
        self.decide_walking(who, access, requested, |owner, placeholders| {
            self.candidates(owner, requested, placeholders)
        })
    }

    /// [`MosquittoAcl::decide`], walking the entries `list` gives for an
    /// owner (None: the client's own list; Some: the patterns, expanded for it).
    fn decide_walking<'a>(
        &'a self,
        who: &Who,
        access: Access,
        requested: &str,
        list: impl Fn(&Owner, Option<&Who>) -> Vec<&'a Entry>,
    ) -> Decision {
        let own = match &who.username {
            Some(u) => Owner::User(u.clone()),
            None => Owner::Anonymous,
        };
        // Checked by the broker before any ACL (acl__check_dollar): clients
        // may not publish to `$SYS`, bridge state topics aside.
        if access == Access::Write
            && (requested == "$SYS" || requested.starts_with("$SYS/"))
            && !topic::matches("$SYS/broker/connection/+/state", requested)
        {
            return Decision {
                allowed: false,
                rule: None,
                note: Some(
                    "Mosquitto refuses client publishes to `$SYS` topics before it reads the ACL"
                        .into(),
                ),
            };
        }
        let filter_read = access == Access::Read && topic::has_wildcard(requested);
        // Denies that only overlap a subscription: it is accepted, those messages are dropped.
        let mut partial: Vec<String> = Vec::new();
        let decided = |e: &Entry, allowed: bool, note: Option<String>, partial: &[String]| {
            let mut notes: Vec<String> = note.into_iter().collect();
            if allowed && !partial.is_empty() {
                notes.push(format!(
                    "messages on topics that {} deny(ies) are not delivered",
                    partial.join(", ")
                ));
            }
            Decision {
                allowed,
                rule: Some((e.span.clone(), e.text.clone())),
                note: (!notes.is_empty()).then(|| notes.join("; ")),
            }
        };
        let block_note = |e: &Entry| match &e.owner {
            Owner::User(u) => Some(format!("in the block of user `{u}`")),
            Owner::Anonymous => Some("among the topics for clients without a username".to_string()),
            Owner::Pattern => None,
        };
        for e in list(&own, None) {
            // A topic starting with `$` is only compared with entries starting with `$`.
            if requested.starts_with('$') && !e.topic.starts_with('$') {
                continue;
            }
            match check(e, &e.topic, access, requested, filter_read) {
                Outcome::Decides(d) => return decided(e, d, block_note(e), &partial),
                Outcome::Overlaps => partial.push(format!("line {}", e.span.line)),
                Outcome::Nothing => {}
            }
        }
        if self.has_patterns() {
            for (what, value) in [
                ("username", who.username.as_deref()),
                ("client id", Some(who.client_id.as_str())),
            ] {
                if let Some(v) = value.filter(|v| v.contains(['+', '#'])) {
                    return Decision {
                        allowed: false,
                        rule: None,
                        note: Some(format!("the {what} `{v}` holds `+` or `#`: Mosquitto denies such clients whenever pattern lines exist")),
                    };
                }
            }
        }
        for e in list(&Owner::Pattern, Some(who)) {
            if e.topic.split('/').any(|l| l == "%u") && who.username.is_none() {
                continue;
            }
            let expanded = expand(&e.topic, who);
            let note = (expanded != e.topic)
                .then(|| format!("the pattern expands to `{expanded}` for this client"));
            match check(e, &expanded, access, requested, filter_read) {
                Outcome::Decides(d) => return decided(e, d, note, &partial),
                Outcome::Overlaps => partial.push(format!("line {}", e.span.line)),
                Outcome::Nothing => {}
            }
        }
        Decision {
            allowed: false,
            rule: None,
            note: Some(format!(
                "no line of {} matches: Mosquitto denies by default",
                self.file.name
            )),
        }
    }
}

/// Replaces levels that are exactly `%u` / `%c` (Mosquitto 2.0 substitutes whole levels only).
pub fn expand(pattern: &str, who: &Who) -> String {
    pattern
        .split('/')
        .map(|l| match l {
            "%u" => who.username.clone().unwrap_or_else(|| l.to_string()),
            "%c" => who.client_id.clone(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

enum Outcome {
    Decides(bool),
    /// A deny overlapping (not covering) a subscription.
    Overlaps,
    Nothing,
}

/// What one entry does to a request.
fn check(
    e: &Entry,
    acl_topic: &str,
    access: Access,
    requested: &str,
    filter_read: bool,
) -> Outcome {
    if e.access == MosqAccess::Deny {
        if filter_read {
            if topic::covers(acl_topic, requested) {
                return Outcome::Decides(false);
            }
            if topic::intersects(acl_topic, requested) {
                return Outcome::Overlaps;
            }
            return Outcome::Nothing;
        }
        return if topic::matches(acl_topic, requested) {
            Outcome::Decides(false)
        } else {
            Outcome::Nothing
        };
    }
    if !e.access.grants(access) {
        return Outcome::Nothing;
    }
    let hit = if filter_read {
        topic::covers(acl_topic, requested)
    } else {
        topic::matches(acl_topic, requested)
    };
    if hit {
        Outcome::Decides(true)
    } else {
        Outcome::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(text: &str) -> MosquittoAcl {
        parse(&SourceFile::new("acl", text)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn who(u: Option<&str>, c: &str) -> Who {
        Who::new(u, c)
    }

    const SITE: &str = "\
# users
user admin
topic readwrite #

user monitoring
topic read $SYS/#
topic read devices/+/status

pattern read devices/%u/cmd/#
pattern write devices/%u/status
pattern write clients/%c/log

user temp-001
topic write devices/temp-001/telemetry/#
";

    #[test]
    fn parses_lines_with_positions() {
        let a = acl(SITE);
        assert_eq!(a.entries.len(), 7);
        let e = &a.entries[0];
        assert_eq!((e.span.line, e.span.col, e.topic_span.col), (3, 1, 17));
        assert_eq!(e.owner, Owner::User("admin".into()));
        assert_eq!(a.entries[3].owner, Owner::Pattern);
        assert_eq!(a.users.len(), 3);
        assert_eq!(a.users[2].span.line, 13);
    }

    #[test]
    fn users_patterns_and_default_deny() {
        let a = acl(SITE);
        let t = who(Some("temp-001"), "temp-001");
        let d = a.decide(&t, Access::Write, "devices/temp-001/telemetry/t1");
        assert!(d.allowed);
        assert_eq!(d.rule.as_ref().unwrap().0.line, 14);
        assert!(
            !a.decide(&t, Access::Write, "devices/temp-002/telemetry/t1")
                .allowed
        );
        assert!(a.decide(&t, Access::Read, "devices/temp-001/cmd/#").allowed);
        assert!(
            a.decide(&t, Access::Read, "devices/temp-001/cmd/reboot")
                .allowed
        );
        assert!(!a.decide(&t, Access::Read, "devices/+/cmd/#").allowed);
        assert!(
            !a.decide(&t, Access::Write, "devices/temp-001/cmd/x")
                .allowed
        );
        let d = a.decide(&t, Access::Write, "devices/temp-001/status");
        assert!(d.allowed);
        assert_eq!(d.rule.unwrap().1, "pattern write devices/%u/status");
        let d = a.decide(&t, Access::Write, "elsewhere");
        assert!(!d.allowed && d.rule.is_none());
        assert!(d.note.unwrap().contains("denies by default"));
    }

    #[test]
    fn percent_c_is_the_client_id_and_percent_u_needs_a_username() {
        let a = acl(SITE);
        assert!(
            a.decide(&who(None, "box-7"), Access::Write, "clients/box-7/log")
                .allowed
        );
        assert!(
            !a.decide(&who(None, "box-7"), Access::Write, "devices/box-7/status")
                .allowed
        );
        assert!(
            !a.decide(&who(Some("u"), "box-7"), Access::Write, "clients/u/log")
                .allowed
        );
        // Only whole levels are substituted.
        let p = acl("pattern write a/x%u/b\n");
        assert!(
            !p.decide(&who(Some("u"), "c"), Access::Write, "a/xu/b")
                .allowed
        );
    }

    #[test]
    fn wildcards_and_sys() {
        let a = acl(SITE);
        let admin = who(Some("admin"), "admin");
        assert!(a.decide(&admin, Access::Write, "anything/at/all").allowed);
        assert!(a.decide(&admin, Access::Read, "#").allowed);
        assert!(!a.decide(&admin, Access::Read, "$SYS/broker/uptime").allowed);
        let m = who(Some("monitoring"), "prom");
        assert!(
            a.decide(&m, Access::Read, "$SYS/broker/clients/connected")
                .allowed
        );
        assert!(a.decide(&m, Access::Read, "$SYS/#").allowed);
        assert!(
            a.decide(&m, Access::Read, "devices/temp-001/status")
                .allowed
        );
        assert!(
            !a.decide(&m, Access::Write, "devices/temp-001/status")
                .allowed
        );
        let sys = acl("user bridge\ntopic write $SYS/#\n");
        let d = sys.decide(
            &who(Some("bridge"), "b"),
            Access::Write,
            "$SYS/broker/uptime",
        );
        assert!(!d.allowed && d.note.unwrap().contains("before it reads the ACL"));
        assert!(
            sys.decide(
                &who(Some("bridge"), "b"),
                Access::Write,
                "$SYS/broker/connection/b1/state"
            )
            .allowed
        );
    }

    #[test]
    fn denies_come_first_in_each_list() {
        let a = acl("user u\ntopic readwrite devices/#\ntopic deny devices/secret/#\npattern deny devices/%u/private\n");
        let u = who(Some("u"), "u");
        let d = a.decide(&u, Access::Write, "devices/secret/x");
        assert!(!d.allowed);
        assert_eq!(d.rule.unwrap().0.line, 3);
        assert!(a.decide(&u, Access::Read, "devices/other").allowed);
        // A subscription a deny only overlaps is accepted; those messages are dropped.
        let d = a.decide(&u, Access::Read, "devices/#");
        assert!(d.allowed);
        assert!(d.note.unwrap().contains("line 3"));
        assert!(!a.decide(&u, Access::Read, "devices/secret/#").allowed);
        // The user's own allow decides before the pattern deny is reached.
        assert!(a.decide(&u, Access::Write, "devices/u/private").allowed);
    }

    #[test]
    fn anonymous_topics_apply_to_clients_without_a_username() {
        let a = acl("topic read public/#\nuser u\ntopic read private/#\n");
        assert!(a.decide(&who(None, "x"), Access::Read, "public/a").allowed);
        assert!(
            !a.decide(&who(Some("u"), "x"), Access::Read, "public/a")
                .allowed
        );
        assert!(
            a.decide(&who(Some("u"), "x"), Access::Read, "private/a")
                .allowed
        );
    }

    #[test]
    fn dangerous_identifiers_are_denied_with_patterns() {
        let a = acl("pattern readwrite devices/%u/#\n");
        let d = a.decide(&who(Some("a+b"), "c"), Access::Write, "devices/a+b/x");
        assert!(!d.allowed && d.note.unwrap().contains("`+` or `#`"));
    }

    #[test]
    fn access_defaults_and_errors() {
        let a = acl("topic some/topic\n  \n");
        assert_eq!(a.entries[0].access, MosqAccess::ReadWrite);
        assert!(!a.entries[0].access_given);
        for (text, line, col) in [
            ("user u\ntopic wirte a/b\n", 2, 7),
            ("topic\n", 1, 6),
            ("user\n", 1, 1),
            ("acl_file x\n", 1, 1),
            ("  # indented comment\n", 1, 3),
            ("topic\tread a\n", 1, 1),
        ] {
            let e = parse(&SourceFile::new("acl", text)).unwrap_err();
            assert_eq!((e.line, e.col), (line, col), "{text:?}: {e}");
        }
    }

    #[test]
    fn indexed_lists_decide_as_walking_every_entry() {
        let mut state: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        const LEVELS: &[&str] = &["a", "b", "u", "c", "+", "#", "%u", "%c", "$SYS", ""];
        const NAMES: &[&str] = &["a", "b", "u", "c", "x/y", "$SYS", ""];
        let topic = |next: &mut dyn FnMut(usize) -> usize, levels: &[&str]| {
            (0..1 + next(4))
                .map(|_| levels[next(levels.len())])
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut compared = 0;
        for _ in 0..1500 {
            let mut text = String::new();
            // Long enough lists that decisions go through the index.
            for _ in 0..next(5 * SHORT_LIST) {
                match next(8) {
                    0 => text.push_str(&format!("user {}\n", ["u", "a", "x/y"][next(3)])),
                    k => text.push_str(&format!(
                        "{} {} {}\n",
                        if k <= 3 { "pattern" } else { "topic" },
                        ["read", "write", "readwrite", "deny"][next(4)],
                        topic(&mut next, LEVELS)
                    )),
                }
            }
            let Ok(a) = parse(&SourceFile::new("acl", text.as_str())) else {
                continue;
            };
            for _ in 0..20 {
                let user = [None, Some("u"), Some("a"), Some("x/y"), Some("+")][next(5)];
                let w = who(user, NAMES[next(NAMES.len())]);
                let access = [Access::Read, Access::Write][next(2)];
                let requested = topic(&mut next, NAMES);
                let walked = a.decide_walking(&w, access, &requested, |owner, _| a.list(owner));
                let indexed = a.decide(&w, access, &requested);
                let shape = |d: &Decision| {
                    (
                        d.allowed,
                        d.rule.as_ref().map(|r| (r.0.line, r.1.clone())),
                        d.note.clone(),
                    )
                };
                assert_eq!(
                    shape(&indexed),
                    shape(&walked),
                    "{text}{w:?} {access:?} {requested}"
                );
                compared += 1;
            }
        }
        assert!(compared > 10_000);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "\u{0}\u{1}\u{2}",
            "topic read \u{0}",
            "user \r\n",
            "pattern deny",
            "\u{feff}topic a",
            "topic read a\nuser  x  \ntopic  write   b  ",
        ] {
            let _ = parse(&SourceFile::new("acl", text))
                .map(|a| a.decide(&Who::new(Some("x"), "x"), Access::Read, "a"));
        }
    }
}
