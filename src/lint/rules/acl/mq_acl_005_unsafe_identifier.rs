//! An identifier (username, client id, device id, topic segment) that is unsafe in a line-based config.
//!
//! What it does: flags identifiers in ACL files holding a line break, a
//! NUL byte or another control character, whitespace in a name, or (where a single
//! topic segment is expected: usernames, client ids, device ids) `#`, `+`
//! or `/`; and topic filters whose `+` or `#` is not a whole level.
//!
//! Why it matters: Mosquitto's ACL file is line-based. A name with a line
//! break ends its line early and turns the rest into a new rule (injection);
//! a NUL cuts the line there; whitespace becomes part of the name. (A
//! topic filter may hold spaces: MQTT allows them and Mosquitto keeps them,
//! so they are not flagged there.) A username or id used as a topic segment (`%u`, `${username}`)
//! that holds `/` reaches into another subtree, and one holding `+` or `#`
//! acts as a wildcard (Mosquitto then denies that client everything once
//! patterns exist). A filter with `+` or `#` inside a level is invalid:
//! Mosquitto refuses to start ("Invalid ACL topic").
//!
//! Example:
//!     user temp/001
//!     topic write devices/temp 001/telemetry/#
//!
//! Use instead:
//!     user temp-001
//!     topic write devices/temp-001/telemetry/#
//!
//! Audit only: a spec cannot hold such identifiers, because `mqttforge
//! validate` already rejects them where they are written (identifiers must
//! match `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`, topic filters are checked
//! level by level), so nothing unsafe reaches a generated file.
//!
//! Severity: error.

use crate::diag::Severity;
use crate::facts::{Facts, IdentFact};
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-ACL-005",
    name: "unsafe_identifier",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_acl_005_unsafe_identifier.rs"),
    check,
};

/// What is wrong with an identifier, if anything.
fn problem(id: &IdentFact) -> Option<(String, &'static str)> {
    let v = &id.value;
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Some(match c {
            '\n' | '\r' => (
                "a line break, which ends the config line there and turns the rest into a new line"
                    .into(),
                "remove the line break",
            ),
            '\0' => (
                "a NUL byte, where the broker stops reading the line".into(),
                "remove the NUL byte",
            ),
            c => (
                format!("the control character U+{:04X}", c as u32),
                "remove the control character",
            ),
        });
    }
    // A topic may hold spaces (MQTT 5 4.7.3) and Mosquitto keeps them (the
    // filter is the rest of the line, trimmed): only names are flagged.
    if id.what != "topic filter" && v.chars().any(char::is_whitespace) {
        return Some((
            "whitespace, which a line-based config reads as part of the value".into(),
            "use `-`, `_` or `.` instead of spaces",
        ));
    }
    if id.what == "topic filter" {
        let levels: Vec<&str> = v.split('/').collect();
        for (i, l) in levels.iter().enumerate() {
            if l.contains('+') && *l != "+" {
                return Some((format!("`+` inside the level `{l}`: a wildcard must be a whole level (Mosquitto refuses to start)"), "make `+` a level of its own, or remove it from the name"));
            }
            if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
                return Some((format!("`#` in the level `{l}`: `#` must be a whole level and the last one (Mosquitto refuses to start)"), "make `#` the last level, or remove it from the name"));
            }
        }
        return None;
    }
    if let Some(c) = v.chars().find(|c| matches!(c, '#' | '+' | '/')) {
        let why = if c == '/' {
            "`/`, which turns one topic segment into several (through `%u` or `${username}` it reaches another subtree)".to_string()
        } else {
            format!("`{c}`, which acts as a wildcard wherever the name becomes a topic segment (Mosquitto denies such clients once patterns exist)")
        };
        return Some((why, "use letters, digits, `-`, `_` and `.` only"));
    }
    None
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for id in &facts.identifiers {
        if let Some((why, help)) = problem(id) {
            let shown: String = id.value.chars().flat_map(char::escape_debug).collect();
            out.push(Finding::new(
                &id.span,
                format!("{} `{shown}` contains {why}", id.what),
                help,
            ));
        }
    }
}
