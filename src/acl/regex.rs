//! Regular expressions of EMQX `{re, "..."}` principals, on the `regex`
//! crate (already in the build through jsonschema).
//!
//! EMQX runs such patterns with Erlang's `re:run/2` (PCRE, unanchored
//! search). The `regex` crate searches the same way and agrees with PCRE on
//! the common syntax (literals, classes, `\d \w \s`, quantifiers, groups,
//! alternation, anchors). Where the two read a pattern differently, or PCRE
//! has what `regex` lacks, the pattern is refused with [`Unsupported`] so a
//! caller can say it cannot evaluate the rule rather than guess:
//! back-references and look-around (absent from `regex`), POSIX classes
//! `[[:digit:]]` and possessive quantifiers (different or absent), and
//! Unicode-aware `\w`/`\d` (PCRE's are ASCII by default: the pattern is
//! compiled ASCII-only here too).
//!
//! Matching is linear in the input (`regex` guarantees it), and patterns are
//! bounded in size.

use std::fmt;

/// The longest pattern accepted (EMQX rules are short; this bounds compile time).
const MAX_PATTERN: usize = 4096;

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    source: String,
    compiled: regex::bytes::Regex,
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source
    }
}

impl Eq for Regex {}

/// A pattern outside the supported subset, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// PCRE constructs that `regex` lacks or reads differently.
const PCRE_ONLY: &[(&str, &str)] = &[
    ("(?=", "look-ahead"),
    ("(?!", "negative look-ahead"),
    ("(?<=", "look-behind"),
    ("(?<!", "negative look-behind"),
    ("(?>", "atomic groups"),
    ("[[:", "POSIX character classes"),
    ("*+", "possessive quantifiers"),
    ("++", "possessive quantifiers"),
    ("?+", "possessive quantifiers"),
];

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, Unsupported> {
        if pattern.len() > MAX_PATTERN {
            return Err(Unsupported(format!(
                "the pattern is longer than {MAX_PATTERN} bytes"
            )));
        }
        if let Some((_, what)) = PCRE_ONLY.iter().find(|(s, _)| pattern.contains(s)) {
            return Err(Unsupported(format!("{what} are not evaluated")));
        }
        if has_backreference(pattern) {
            return Err(Unsupported("back-references are not evaluated".into()));
        }
        let compiled = regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| Unsupported(format!("the pattern does not parse: {e}")))?;
        Ok(Regex {
            source: pattern.to_string(),
            compiled,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches anywhere in `text` (as `re:run/2`).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text.as_bytes())
    }
}

/// `\1`..`\9` (PCRE back-references; an escaped backslash is not one).
fn has_backreference(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(d) if d.is_ascii_digit() && d != '0' => return true,
                _ => {}
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn generated_fleet_patterns() {
        let r = re("^sensor-[0-9]{4}$");
        assert!(r.is_match("sensor-0001"));
        assert!(r.is_match("sensor-5000"));
        assert!(!r.is_match("sensor-001"));
        assert!(!r.is_match("sensor-00001"));
        assert!(!r.is_match("xsensor-0001"));
        assert!(!r.is_match("sensor-000a"));
        let r = re("^valve-[0-9]+$");
        assert!(r.is_match("valve-7"));
        assert!(r.is_match("valve-123456"));
        assert!(!r.is_match("valve-"));
        let r = re("^lab[.]dev-[0-9]{2}$");
        assert!(r.is_match("lab.dev-01"));
        assert!(!r.is_match("labxdev-01"));
        let r = re("^sensor-(000[1-9]|00[1-9][0-9]|0[1-4][0-9]{2}|0500)$");
        assert!(r.is_match("sensor-0001"));
        assert!(r.is_match("sensor-0500"));
        assert!(!r.is_match("sensor-0000"));
        assert!(!r.is_match("sensor-0501"));
    }

    #[test]
    fn unanchored_patterns_search() {
        assert!(re("dev").is_match("my-device"));
        assert!(re("^dev").is_match("device"));
        assert!(!re("^dev").is_match("my-device"));
        assert!(re("ice$").is_match("my-device"));
        assert!(!re("ice$").is_match("icey"));
        assert!(re("").is_match("anything"));
    }

    #[test]
    fn classes_escapes_and_quantifiers() {
        assert!(re(r"^\d{2,3}$").is_match("123"));
        assert!(!re(r"^\d{2,3}$").is_match("1234"));
        assert!(re(r"^a\.b$").is_match("a.b"));
        assert!(!re(r"^a\.b$").is_match("axb"));
        assert!(re("^a.b$").is_match("axb"));
        assert!(re("^[^/]+$").is_match("abc"));
        assert!(!re("^[^/]+$").is_match("a/c"));
        assert!(re("^[a-c_-]*x?$").is_match("ab_-c"));
        assert!(re(r"^\w+\s\S$").is_match("ab_1 z"));
        assert!(re("^a{2,}$").is_match("aaaa"));
        assert!(!re("^a{2,}$").is_match("a"));
        assert!(re("^(a|b)c$").is_match("bc"));
        // PCRE's \d is ASCII by default, and so is this one.
        assert!(!re(r"^\d$").is_match("٣"));
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for p in [
            "[a",
            "a{2",
            "a{3,1}",
            "*a",
            r"\1",
            "(a)\\2",
            "[[:digit:]]",
            r"a\",
            "a(?=b)",
            "(?<!a)b",
            "a++",
            "(?>a)",
        ] {
            assert!(Regex::new(p).is_err(), "{p} should be refused");
        }
        assert!(Regex::new(&"a".repeat(MAX_PATTERN + 1)).is_err());
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let r = re("^a*a*a*a*a*a*a*a*a*a*b$");
        let text = "a".repeat(20_000);
        assert!(!r.is_match(&text));
    }
}
