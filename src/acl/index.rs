//! Topic filters indexed level by level, so that the analyses find the
//! filters that may cover or overlap a given one without comparing every
//! pair of rules.
//!
//! A query walks only the branches that can matter (the level itself, `+`,
//! `#`, and for overlaps the pattern placeholders) and returns a superset of
//! the filters that cover (or intersect) the query: callers confirm each
//! candidate with the exact predicate of [`super::topic`], so the index
//! never changes an answer, only how many filters are compared. A walk costs
//! O(levels of the query + nodes on the branches it follows + candidates).

use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
struct Node {
    children: HashMap<Box<str>, usize>,
    /// Ids of the filters that end here.
    ids: Vec<usize>,
}

/// Topic filters by level; each inserted with an id of the caller's choice.
#[derive(Clone, Debug)]
pub struct FilterTrie {
    nodes: Vec<Node>,
}

impl Default for FilterTrie {
    fn default() -> Self {
        FilterTrie {
            nodes: vec![Node::default()],
        }
    }
}

impl FilterTrie {
    pub fn insert(&mut self, filter: &str, id: usize) {
        let mut at = 0;
        for level in filter.split('/') {
            at = match self.nodes[at].children.get(level) {
                Some(&child) => child,
                None => {
                    self.nodes.push(Node::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[at].children.insert(level.into(), child);
                    child
                }
            };
        }
        self.nodes[at].ids.push(id);
    }

    fn child(&self, node: usize, level: &str) -> Option<usize> {
        self.nodes[node].children.get(level).copied()
    }

    /// Every id at `node` and below it.
    fn subtree(&self, node: usize, out: &mut Vec<usize>) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            out.extend(&self.nodes[n].ids);
            stack.extend(self.nodes[n].children.values());
        }
    }

    /// Ids of the filters that may cover `query` (as [`super::topic::covers`]
    /// does) or match it as a topic name, or equal it: a superset.
    pub fn covering(&self, query: &str, out: &mut Vec<usize>) {
        let levels: Vec<&str> = query.split('/').collect();
        let mut frontier = vec![0];
        for level in &levels {
            let mut next = Vec::new();
            for &node in &frontier {
                // `#` covers whatever remains (a `#` in the middle is only
                // ever compared, and taken as a candidate too).
                if let Some(hash) = self.child(node, "#") {
                    self.subtree(hash, out);
                }
                next.extend(self.child(node, "+"));
                if *level != "+" && *level != "#" {
                    next.extend(self.child(node, level));
                }
            }
            frontier = next;
        }
        for node in frontier {
            out.extend(&self.nodes[node].ids);
            if let Some(hash) = self.child(node, "#") {
                self.subtree(hash, out);
            }
        }
    }

    /// Ids of the filters that may match `query` as a topic name (EMQX
    /// `emqx_topic:match/2`, after the placeholder levels of `placeholders`
    /// are replaced by their values, None: no value), or equal it: a
    /// superset. A level holding a placeholder among other text is not
    /// looked up here: callers keep such filters aside.
    pub fn matching(
        &self,
        query: &str,
        placeholders: &[(&str, Option<&str>)],
        out: &mut Vec<usize>,
    ) {
        let mut frontier = vec![0];
        for level in query.split('/') {
            let mut next = Vec::new();
            for &node in &frontier {
                if let Some(hash) = self.child(node, "#") {
                    self.subtree(hash, out);
                }
                next.extend(self.child(node, "+"));
                if level != "+" && level != "#" {
                    next.extend(self.child(node, level));
                }
                for (token, value) in placeholders {
                    let Some(child) = self.child(node, token) else {
                        continue;
                    };
                    match value.map(Expansion::of_rendered) {
                        Some(Expansion::Any) => next.push(child),
                        Some(Expansion::Level(v)) if v == level => next.push(child),
                        Some(Expansion::Level(_)) => {}
                        _ => self.subtree(child, out),
                    }
                }
            }
            frontier = next;
        }
        for node in frontier {
            out.extend(&self.nodes[node].ids);
            if let Some(hash) = self.child(node, "#") {
                self.subtree(hash, out);
            }
            for (token, value) in placeholders {
                if let Some(child) = self.child(node, token) {
                    if !matches!(
                        value.map(Expansion::of_rendered),
                        Some(Expansion::Level(_) | Expansion::Any)
                    ) {
                        self.subtree(child, out);
                    }
                }
            }
        }
    }

    /// Ids of the filters that may share a topic with `query` (as
    /// [`super::topic::intersects`] does): a superset. With `placeholders`,
    /// stored levels `%u` and `%c` stand for the values they expand to
    /// (Mosquitto `pattern` lines); without, they are levels like others.
    pub fn intersecting(
        &self,
        query: &str,
        placeholders: Option<Placeholders<'_>>,
        out: &mut Vec<usize>,
    ) {
        let mut frontier = vec![0];
        for level in query.split('/') {
            let mut next = Vec::new();
            for &node in &frontier {
                if level == "#" {
                    self.subtree(node, out);
                    continue;
                }
                for (name, &child) in self.matching_children(node, level, placeholders.is_some()) {
                    let value = match (name, placeholders) {
                        ("#", _) => {
                            self.subtree(child, out);
                            continue;
                        }
                        ("%u", Some(p)) => p.user,
                        ("%c", Some(p)) => p.client,
                        _ => {
                            next.push(child);
                            continue;
                        }
                    };
                    match Expansion::of(value) {
                        Expansion::Any => next.push(child),
                        Expansion::Level(v) if level == "+" || level == v => next.push(child),
                        Expansion::Level(_) => {}
                        Expansion::Unknown => self.subtree(child, out),
                    }
                }
            }
            frontier = next;
        }
        for node in frontier {
            out.extend(&self.nodes[node].ids);
            if let Some(hash) = self.child(node, "#") {
                self.subtree(hash, out);
            }
            if let Some(p) = placeholders {
                for (name, value) in [("%u", p.user), ("%c", p.client)] {
                    if let (Some(child), Expansion::Unknown) =
                        (self.child(node, name), Expansion::of(value))
                    {
                        self.subtree(child, out);
                    }
                }
            }
        }
    }

    /// The children of `node` a query level may meet: all of them for `+`,
    /// else the level itself, the wildcards and the placeholders.
    fn matching_children<'a>(
        &'a self,
        node: usize,
        level: &'a str,
        placeholders: bool,
    ) -> Box<dyn Iterator<Item = (&'a str, &'a usize)> + 'a> {
        let children = &self.nodes[node].children;
        if level == "+" {
            return Box::new(children.iter().map(|(k, v)| (&**k, v)));
        }
        let mut names = vec!["#", "+"];
        if placeholders {
            names.extend(["%c", "%u"]);
        }
        if !names.contains(&level) {
            names.push(level);
        }
        Box::new(
            names
                .into_iter()
                .filter_map(move |n| children.get_key_value(n).map(|(k, v)| (&**k, v))),
        )
    }
}

/// What `%u` and `%c` expand to in a pattern.
#[derive(Clone, Copy, Debug)]
pub struct Placeholders<'a> {
    pub user: &'a str,
    pub client: &'a str,
}

/// A placeholder's value as a level.
enum Expansion<'a> {
    /// `+`: any one level.
    Any,
    /// One plain level.
    Level(&'a str),
    /// Several levels, `#` or nothing: any continuation (a superset).
    Unknown,
}

impl Expansion<'_> {
    /// A value EMQX renders into a filter, where a value holding another
    /// placeholder is rendered again.
    fn of_rendered(value: &str) -> Expansion<'_> {
        if value.contains("${") {
            return Expansion::Unknown;
        }
        Expansion::of(value)
    }

    fn of(value: &str) -> Expansion<'_> {
        match value {
            "+" => Expansion::Any,
            "" | "#" => Expansion::Unknown,
            v if v.contains('/') => Expansion::Unknown,
            v => Expansion::Level(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::topic;

    const FILTERS: &[&str] = &[
        "#", "a", "a/#", "a/+", "a/b", "a/b/#", "+/b", "+/+", "+", "$SYS/#", "$SYS/x", "a/#/b",
        "a/+/c", "a/b/c", "b/%u/x", "b/%c/x", "b/%u", "%u/#", "x/y/z", "a//b", "", "/", "+/#",
        "a/%u/+", "b/u/x", "b/+/x",
    ];
    const QUERIES: &[&str] = &[
        "a", "a/b", "a/b/c", "a/+", "a/#", "#", "+", "+/b", "$SYS/x", "$SYS/#", "b/u/x", "b/v/x",
        "b/+/x", "b/u", "u/q", "a//b", "", "/", "x/y", "b/#", "a/#/b", "u/#", "b/u/x/y",
    ];

    fn expand(filter: &str, user: &str, client: &str) -> String {
        filter
            .split('/')
            .map(|l| match l {
                "%u" => user,
                "%c" => client,
                l => l,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn covering_is_a_superset_of_covers() {
        let mut trie = FilterTrie::default();
        for (i, f) in FILTERS.iter().enumerate() {
            trie.insert(f, i);
        }
        for q in QUERIES.iter().chain(FILTERS) {
            let mut found = Vec::new();
            trie.covering(q, &mut found);
            for (i, f) in FILTERS.iter().enumerate() {
                if topic::covers(f, q) || topic::matches(f, q) || f == q {
                    assert!(found.contains(&i), "`{f}` covers `{q}` but was not found");
                }
            }
        }
    }

    #[test]
    fn matching_is_a_superset_of_emqx_matches_after_rendering() {
        use crate::acl::emqx::{render, topic_match};
        use crate::acl::Who;
        let filters = [
            "a/${username}/b",
            "${clientid}/#",
            "a/${username}",
            "${username}",
            "a/+/b",
            "#",
            "a/b",
            "$SYS/#",
            "a/${cert_common_name}/+",
            "x/#/y",
            "a/#",
            "+/+",
        ];
        let mut trie = FilterTrie::default();
        for (i, f) in filters.iter().enumerate() {
            trie.insert(f, i);
        }
        let values = [
            Some("u"),
            Some("a"),
            Some("+"),
            Some("#"),
            Some("x/y"),
            Some(""),
            None,
            Some("${clientid}"),
        ];
        for user in values {
            for client in ["c", "a/b", "+", "${username}"] {
                let who = Who {
                    username: user.map(str::to_string),
                    client_id: client.into(),
                    cert_common_name: user.map(str::to_string),
                    peer: None,
                    client_attrs: Default::default(),
                };
                let placeholders = [
                    ("${username}", who.username.as_deref()),
                    ("${clientid}", Some(who.client_id.as_str())),
                    ("${cert_common_name}", who.cert_common_name.as_deref()),
                ];
                for q in QUERIES
                    .iter()
                    .chain(filters.iter())
                    .chain(["a/u/b", "c/x", "a/x/y/b", "u", "a/c/b"].iter())
                {
                    let mut found = Vec::new();
                    trie.matching(q, &placeholders, &mut found);
                    for (i, f) in filters.iter().enumerate() {
                        let hit = *f == *q || render(f, &who).is_some_and(|r| topic_match(q, &r));
                        if hit {
                            assert!(
                                found.contains(&i),
                                "`{f}` for {who:?} matches `{q}` but was not found"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn intersecting_is_a_superset_of_intersects_after_expansion() {
        let mut trie = FilterTrie::default();
        for (i, f) in FILTERS.iter().enumerate() {
            trie.insert(f, i);
        }
        let values = ["u", "v", "+", "#", "a/b", "b", ""];
        for user in values {
            for client in values {
                for q in QUERIES.iter().chain(FILTERS) {
                    let mut found = Vec::new();
                    trie.intersecting(q, Some(Placeholders { user, client }), &mut found);
                    for (i, f) in FILTERS.iter().enumerate() {
                        if topic::intersects(q, &expand(f, user, client))
                            || topic::matches(&expand(f, user, client), q)
                        {
                            assert!(
                                found.contains(&i),
                                "`{f}` for `{user}`/`{client}` meets `{q}` but was not found"
                            );
                        }
                    }
                }
            }
        }
        // Without placeholders, `%u` is a level like any other.
        for q in QUERIES.iter().chain(FILTERS) {
            let mut found = Vec::new();
            trie.intersecting(q, None, &mut found);
            for (i, f) in FILTERS.iter().enumerate() {
                if topic::intersects(q, f) || topic::matches(f, q) || topic::covers(f, q) {
                    assert!(found.contains(&i), "`{f}` meets `{q}` but was not found");
                }
            }
        }
    }
}
