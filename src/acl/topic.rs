//! MQTT topic matching as brokers do it: a filter (with `+` and `#`) against
//! a topic name, whether one filter covers another (every topic the second
//! matches, the first matches too: what a subscription needs), and whether
//! two filters overlap.
//!
//! Levels are compared as strings; `#` also matches its parent level
//! (`a/#` matches `a`), and a filter whose first level is a wildcard never
//! matches a topic whose first level starts with `$` (`#` does not match
//! `$SYS/broker/uptime`), as MQTT 3.1.1 section 4.7.2 requires and both
//! Mosquitto and EMQX implement.
//!
//! Cost: each predicate is linear in the two filters' lengths.

/// Whether `filter` (possibly with wildcards) matches the topic name `topic`.
/// A `topic` holding wildcards is compared level by level as a literal name.
pub fn matches(filter: &str, topic: &str) -> bool {
    if dollar_mismatch(filter, topic) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    let mut i = 0;
    loop {
        match (f.get(i), t.get(i)) {
            (Some(&"#"), _) if i + 1 == f.len() => return true,
            (Some(&"+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
        i += 1;
    }
}

/// Whether every topic matched by the filter `sub` is matched by `acl`:
/// a subscription to `sub` then only ever receives topics `acl` allows.
pub fn covers(acl: &str, sub: &str) -> bool {
    if dollar_mismatch(acl, sub) {
        return false;
    }
    let a: Vec<&str> = acl.split('/').collect();
    let s: Vec<&str> = sub.split('/').collect();
    let mut i = 0;
    loop {
        match (a.get(i), s.get(i)) {
            // `#` (last level) covers whatever remains, the parent level included.
            (Some(&"#"), _) if i + 1 == a.len() => return true,
            // Only `#` covers `#`.
            (_, Some(&"#")) => return false,
            (Some(&"+"), Some(_)) => {}
            (Some(x), Some(y)) if x == y && *y != "+" => {}
            (None, None) => return true,
            _ => return false,
        }
        i += 1;
    }
}

/// Whether some topic name is matched by both filters.
pub fn intersects(a: &str, b: &str) -> bool {
    if dollar_mismatch(a, b) {
        return false;
    }
    let x: Vec<&str> = a.split('/').collect();
    let y: Vec<&str> = b.split('/').collect();
    let mut i = 0;
    loop {
        match (x.get(i), y.get(i)) {
            (Some(&"#"), _) | (_, Some(&"#")) => return true,
            (Some(&"+"), Some(_)) | (Some(_), Some(&"+")) => {}
            (Some(p), Some(q)) if p == q => {}
            (None, None) => return true,
            _ => return false,
        }
        i += 1;
    }
}

/// Whether a filter holds a wildcard level.
pub fn has_wildcard(filter: &str) -> bool {
    filter.split('/').any(|l| l == "+" || l == "#")
}

/// A topic starting with `$` is never matched by a filter whose first level
/// is a wildcard, and the other way round.
fn dollar_mismatch(a: &str, b: &str) -> bool {
    let wild = |s: &str| s.starts_with('+') || s.starts_with('#');
    (a.starts_with('$') && wild(b)) || (b.starts_with('$') && wild(a))
}

/// Why a string is not a valid topic filter (MQTT 3.1.1 section 4.7), if it is not.
pub fn filter_problem(filter: &str) -> Option<String> {
    if filter.is_empty() {
        return Some("it is empty".into());
    }
    if filter.contains('\0') {
        return Some("it contains a NUL byte".into());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Some("`#` must be a whole level and the last one".into());
        }
        if level.contains('+') && *level != "+" {
            return Some("`+` must be a whole level".into());
        }
    }
    None
}

/// Why a string is not a valid topic name (for publishing), if it is not.
pub fn name_problem(topic: &str) -> Option<String> {
    if topic.is_empty() {
        return Some("it is empty".into());
    }
    if topic.contains('\0') {
        return Some("it contains a NUL byte".into());
    }
    if topic.contains('+') || topic.contains('#') {
        return Some("a topic a client publishes to cannot hold the wildcards `+` or `#`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_matches_exactly_one_level() {
        assert!(matches("devices/+/status", "devices/a/status"));
        assert!(!matches("devices/+/status", "devices/a/b/status"));
        assert!(!matches("devices/+/status", "devices/status"));
        assert!(matches("devices/+", "devices/"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("+", "a/b"));
    }

    #[test]
    fn hash_matches_the_rest_and_the_parent() {
        assert!(matches("devices/#", "devices/a/b/c"));
        assert!(matches("devices/#", "devices"));
        assert!(matches("devices/a/telemetry/#", "devices/a/telemetry"));
        assert!(!matches("devices/a/telemetry/#", "devices/b/telemetry"));
        assert!(matches("#", "a/b"));
        assert!(!matches("devices/#", "device"));
    }

    #[test]
    fn dollar_topics_need_a_literal_first_level() {
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/broker/uptime", "$SYS/broker/uptime"));
        assert!(matches("$SYS/#", "$SYS/broker/uptime"));
        assert!(matches("$SYS/+/uptime", "$SYS/broker/uptime"));
        assert!(!covers("#", "$SYS/#"));
        assert!(covers("$SYS/#", "$SYS/broker/+"));
        assert!(!intersects("#", "$SYS/broker"));
        assert!(intersects("$SYS/#", "$SYS/broker/+"));
    }

    #[test]
    fn coverage_of_filters() {
        assert!(covers("devices/a/cmd/#", "devices/a/cmd/#"));
        assert!(covers("devices/a/cmd/#", "devices/a/cmd/reboot"));
        assert!(covers("devices/a/cmd/#", "devices/a/cmd/+"));
        assert!(covers("devices/+/status", "devices/a/status"));
        assert!(covers("devices/+/status", "devices/+/status"));
        assert!(!covers("devices/a/status", "devices/+/status"));
        assert!(!covers("devices/+/cmd/+", "devices/a/cmd/#"));
        assert!(!covers("devices/a/cmd/#", "devices/#"));
        assert!(covers("#", "devices/#"));
        assert!(covers("a/#", "a"));
        assert!(!covers("a/+/#", "a"));
    }

    #[test]
    fn overlap_of_filters() {
        assert!(intersects("devices/+/telemetry/#", "devices/a/#"));
        assert!(intersects("devices/a", "devices/#"));
        assert!(intersects("a/#", "a"));
        assert!(!intersects("devices/a/status", "devices/b/+"));
        assert!(!intersects("a/b", "a/b/c"));
    }

    #[test]
    fn validity() {
        assert_eq!(filter_problem("devices/+/telemetry/#"), None);
        assert!(filter_problem("a/#/b").is_some());
        assert!(filter_problem("a/b+").is_some());
        assert!(filter_problem("").is_some());
        assert_eq!(name_problem("devices/a/telemetry"), None);
        assert!(name_problem("devices/+/telemetry").is_some());
    }
}
