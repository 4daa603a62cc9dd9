//! The configuration keys of the one EMQX release mqttforge targets
//! ([`TARGET`]), taken from that release's own schema source, not by hand:
//! `scripts/emqx-key-table.py` evaluates `emqx_conf_schema:roots()` of the
//! tagged emqx/emqx source and writes `src/formats/emqx/emqx-5.8.keys`
//! (every struct and leaf path, with its deprecated / hidden / alias flags)
//! and `src/formats/emqx/other-releases.keys` (keys of 5.7, 5.8 enterprise,
//! 5.9 and 5.10 that the target lacks, with the releases that have them).
//! See docs/emqx-target.md for the tag, the commit and what the table
//! cannot express.
//!
//! In a path, `<name>` stands for any map key (a listener's name, a log
//! handler) and `[]` for an array element (`authentication[].mechanism`).
//! Lookups walk a trie of path segments: linear in the path's length.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The release every rendered emqx.conf targets and audits default to.
pub const TARGET: &str = "5.8.9";

const TABLE: &str = include_str!("emqx/emqx-5.8.keys");
const OTHER_RELEASES: &str = include_str!("emqx/other-releases.keys");

/// What the schema says of a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyInfo {
    pub deprecated: bool,
    /// `importance => hidden`: accepted, not documented.
    pub hidden: bool,
    /// The key this one is an official alias of (`log.console_handler` ->
    /// `log.console`).
    pub alias_of: Option<String>,
    /// For keys the target lacks: the other releases that have it.
    pub releases: Option<&'static str>,
}

#[derive(Default)]
struct Node {
    children: HashMap<String, Node>,
    /// The `<name>` child: any map key.
    any: Option<Box<Node>>,
    info: Option<KeyInfo>,
}

impl Node {
    fn insert(&mut self, segments: &[&str], info: KeyInfo) {
        let Some((first, rest)) = segments.split_first() else {
            self.info = Some(info);
            return;
        };
        let child = if *first == "<name>" {
            self.any.get_or_insert_with(Box::default)
        } else {
            self.children.entry((*first).to_string()).or_default()
        };
        child.insert(rest, info);
    }

    /// Exact segments first, then `<name>` (at most one branch point per
    /// level, and paths are a few segments long).
    fn find(&self, segments: &[&str]) -> Option<&KeyInfo> {
        let Some((first, rest)) = segments.split_first() else {
            return self.info.as_ref();
        };
        self.children
            .get(*first)
            .and_then(|c| c.find(rest))
            .or_else(|| {
                (!first.is_empty())
                    .then_some(self.any.as_deref())
                    .flatten()
                    .and_then(|c| c.find(rest))
            })
    }
}

struct Table {
    root: Node,
    /// Every path as written in the table (for suggestions).
    paths: Vec<&'static str>,
    /// Keys the target lacks, with the releases that have them.
    other: Node,
}

fn table() -> &'static Table {
    static TABLE_CELL: OnceLock<Table> = OnceLock::new();
    TABLE_CELL.get_or_init(|| {
        let mut root = Node::default();
        let mut paths = Vec::new();
        for (path, flags) in rows(TABLE) {
            let mut info = KeyInfo::default();
            for flag in flags.split(',') {
                match flag {
                    "deprecated" => info.deprecated = true,
                    "hidden" => info.hidden = true,
                    f => info.alias_of = f.strip_prefix("alias-of=").map(str::to_string),
                }
            }
            root.insert(&split(path), info);
            paths.push(path);
        }
        let mut other = Node::default();
        for (path, releases) in rows(OTHER_RELEASES) {
            let info = KeyInfo {
                releases: Some(releases),
                ..KeyInfo::default()
            };
            other.insert(&split(path), info);
        }
        Table { root, paths, other }
    })
}

/// `path<TAB>flags` rows of a table file, comments skipped.
fn rows(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once('\t'))
}

/// A dotted path's segments; `a[].b` keeps `a[]` as one segment.
fn split(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

/// What the target release's schema says of a dotted key path, if it has it.
pub fn info(path: &str) -> Option<&'static KeyInfo> {
    table().root.find(&split(path))
}

/// Whether a dotted key path is a key of the target release.
pub fn is_known(path: &str) -> bool {
    info(path).is_some()
}

/// The other releases (5.7, 5.9, 5.10, the 5.8 enterprise build) that have
/// a key the target lacks, e.g. `"5.9.3,5.10.4"`.
pub fn other_releases(path: &str) -> Option<&'static str> {
    table().other.find(&split(path))?.releases
}

/// Every path of the target's table, as written (`<name>` placeholders).
pub fn paths() -> &'static [&'static str] {
    &table().paths
}

/// The root keys of the target release (`node`, `listeners`, ...).
pub fn is_root(name: &str) -> bool {
    table().root.children.contains_key(name)
}

/// Every root key of the target release, sorted.
pub fn roots() -> Vec<&'static str> {
    let mut roots: Vec<&'static str> = table().root.children.keys().map(String::as_str).collect();
    roots.sort_unstable();
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_release_keys() {
        assert!(is_known("listeners.ssl.devices.ssl_options.verify"));
        assert!(is_known("mqtt.max_packet_size"));
        assert!(is_known("log.file.default.path"));
        assert!(is_known("node.cookie"));
        assert!(is_known("authentication"));
        assert!(is_known("authentication[].bootstrap_file"));
        assert!(is_known("durable_sessions.enable"));
        assert!(!is_known("listener.ssl.external.keyfile"));
        assert!(!is_known("mqtt.max_packet_sise"));
        assert!(!is_known("allow_anonymous"));
        assert!(is_root("listeners") && !is_root("listener"));
    }

    #[test]
    fn flags_and_aliases() {
        let alias = info("log.console_handler").expect("an official alias");
        assert_eq!(alias.alias_of.as_deref(), Some("log.console"));
        assert!(info("zones.default.mqtt.max_inflight").unwrap().hidden);
        assert!(!info("mqtt.max_inflight").unwrap().hidden);
        assert!(paths().len() > 4000);
    }

    #[test]
    fn keys_of_other_releases_name_them() {
        let r = other_releases("listeners.tcp.default.max_conn_burst").unwrap();
        assert!(r.contains("5.9"), "{r}");
        assert_eq!(other_releases("mqtt.max_packet_size"), None);
    }
}
