//! A tiny regular-expression matcher for EMQX `{re, "..."}` principals.
//!
//! EMQX runs such patterns with Erlang's `re:run/2` (PCRE, unanchored
//! search). The subset supported here covers what mqttforge generates
//! (`^sensor-[0-9]{4}$`, `^valve-[0-9]+$`, `[.]` for a literal dot) and the
//! usual hand-written shapes:
//!
//! - literals, `.` (any character), escapes `\.` `\-` `\\` ... and the
//!   classes `\d` `\w` `\s` (and `\D` `\W` `\S`);
//! - bracket classes `[a-z0-9_.]`, negated `[^/]`;
//! - quantifiers `*` `+` `?` `{n}` `{n,}` `{n,m}` (greedy);
//! - anchors `^` at the start and `$` at the end of the pattern.
//!
//! Groups, alternation, lazy or possessive quantifiers, back-references and
//! look-around are refused with [`Unsupported`], so a caller can say that it
//! cannot evaluate the rule rather than guess. Matching is memoised, so no
//! pattern takes more than (pattern length x input length squared) steps.

use std::collections::HashSet;
use std::fmt;

/// The most repetitions a `{n,m}` bound may ask for.
const MAX_REPEAT: usize = 1000;

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regex {
    source: String,
    start: bool,
    end: bool,
    items: Vec<Item>,
}

/// A pattern outside the supported subset, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Char(char),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn accepts(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            // PCRE's `.` does not match a newline by default.
            Atom::Any => c != '\n',
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

fn digit() -> Vec<(char, char)> {
    vec![('0', '9')]
}

fn word() -> Vec<(char, char)> {
    vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]
}

fn space() -> Vec<(char, char)> {
    vec![('\t', '\r'), (' ', ' ')]
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, Unsupported> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let mut start = false;
        let mut end = false;
        let mut items: Vec<Item> = Vec::new();
        if chars.first() == Some(&'^') {
            start = true;
            i = 1;
        }
        while i < chars.len() {
            let c = chars[i];
            let atom = match c {
                '$' if i + 1 == chars.len() => {
                    end = true;
                    i += 1;
                    continue;
                }
                '$' | '^' => {
                    return Err(Unsupported(format!(
                        "the anchor `{c}` is only supported at the {} of the pattern",
                        if c == '^' { "start" } else { "end" }
                    )))
                }
                '(' | ')' => return Err(Unsupported("groups `( )` are not supported".into())),
                '|' => return Err(Unsupported("alternation `|` is not supported".into())),
                '*' | '+' | '?' | '{' => {
                    return Err(Unsupported(format!(
                        "`{c}` at position {} repeats nothing",
                        i + 1
                    )));
                }
                '.' => {
                    i += 1;
                    Atom::Any
                }
                '\\' => {
                    let Some(&e) = chars.get(i + 1) else {
                        return Err(Unsupported("the pattern ends with a lone `\\`".into()));
                    };
                    i += 2;
                    escape_atom(e)?
                }
                '[' => {
                    let (atom, next) = class(&chars, i)?;
                    i = next;
                    atom
                }
                c => {
                    i += 1;
                    Atom::Char(c)
                }
            };
            let (min, max, next) = quantifier(&chars, i)?;
            i = next;
            items.push(Item { atom, min, max });
        }
        Ok(Regex {
            source: pattern.to_string(),
            start,
            end,
            items,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches somewhere in `text` (anchors respected),
    /// as `re:run/2` does.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let starts: Vec<usize> = if self.start {
            vec![0]
        } else {
            (0..=chars.len()).collect()
        };
        let mut failed = HashSet::new();
        starts
            .into_iter()
            .any(|s| self.at(0, s, &chars, &mut failed))
    }

    fn at(
        &self,
        idx: usize,
        pos: usize,
        text: &[char],
        failed: &mut HashSet<(usize, usize)>,
    ) -> bool {
        if idx == self.items.len() {
            return !self.end || pos == text.len();
        }
        if failed.contains(&(idx, pos)) {
            return false;
        }
        let item = &self.items[idx];
        let mut run = 0;
        while run < item.max && pos + run < text.len() && item.atom.accepts(text[pos + run]) {
            run += 1;
        }
        if run >= item.min {
            for k in (item.min..=run).rev() {
                if self.at(idx + 1, pos + k, text, failed) {
                    return true;
                }
            }
        }
        failed.insert((idx, pos));
        false
    }
}

fn escape_atom(e: char) -> Result<Atom, Unsupported> {
    Ok(match e {
        'd' => Atom::Class {
            negated: false,
            ranges: digit(),
        },
        'D' => Atom::Class {
            negated: true,
            ranges: digit(),
        },
        'w' => Atom::Class {
            negated: false,
            ranges: word(),
        },
        'W' => Atom::Class {
            negated: true,
            ranges: word(),
        },
        's' => Atom::Class {
            negated: false,
            ranges: space(),
        },
        'S' => Atom::Class {
            negated: true,
            ranges: space(),
        },
        'n' => Atom::Char('\n'),
        't' => Atom::Char('\t'),
        'r' => Atom::Char('\r'),
        c if c.is_ascii_alphanumeric() => {
            return Err(Unsupported(format!("the escape `\\{c}` is not supported")))
        }
        c => Atom::Char(c),
    })
}

/// A bracket class starting at `chars[open] == '['`; returns the atom and the index after `]`.
fn class(chars: &[char], open: usize) -> Result<(Atom, usize), Unsupported> {
    let mut i = open + 1;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(Unsupported("a `[` class is not closed".into()));
        };
        if c == ']' && !first {
            return Ok((Atom::Class { negated, ranges }, i + 1));
        }
        first = false;
        let lo = if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err(Unsupported("a `[` class is not closed".into()));
            };
            i += 2;
            match escape_atom(e)? {
                Atom::Char(x) => x,
                Atom::Class {
                    negated: false,
                    ranges: r,
                } => {
                    ranges.extend(r);
                    continue;
                }
                _ => {
                    return Err(Unsupported(format!(
                        "`\\{e}` inside a class is not supported"
                    )))
                }
            }
        } else if c == '[' && chars.get(i + 1) == Some(&':') {
            return Err(Unsupported(
                "POSIX classes such as `[:digit:]` are not supported".into(),
            ));
        } else {
            i += 1;
            c
        };
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
            let hi = chars[i + 1];
            if hi == '\\' {
                return Err(Unsupported(
                    "an escaped range end inside a class is not supported".into(),
                ));
            }
            if hi < lo {
                return Err(Unsupported(format!("the range `{lo}-{hi}` is backwards")));
            }
            ranges.push((lo, hi));
            i += 2;
        } else {
            ranges.push((lo, lo));
        }
    }
}

/// The quantifier at `chars[i]`, if any: (min, max, index after it).
fn quantifier(chars: &[char], i: usize) -> Result<(usize, usize, usize), Unsupported> {
    let (min, max, next) = match chars.get(i) {
        Some('*') => (0, usize::MAX, i + 1),
        Some('+') => (1, usize::MAX, i + 1),
        Some('?') => (0, 1, i + 1),
        Some('{') => {
            let close = chars[i..].iter().position(|c| *c == '}').map(|p| p + i);
            let Some(close) = close else {
                return Err(Unsupported("a `{` bound is not closed".into()));
            };
            let body: String = chars[i + 1..close].iter().collect();
            let num = |s: &str| -> Result<usize, Unsupported> {
                let n: usize = s
                    .trim()
                    .parse()
                    .map_err(|_| Unsupported(format!("`{{{body}}}` is not a repetition bound")))?;
                if n > MAX_REPEAT {
                    return Err(Unsupported(format!(
                        "repetition bounds above {MAX_REPEAT} are not supported"
                    )));
                }
                Ok(n)
            };
            let (min, max) = match body.split_once(',') {
                None => {
                    let n = num(&body)?;
                    (n, n)
                }
                Some((lo, "")) => (num(lo)?, usize::MAX),
                Some((lo, hi)) => (num(lo)?, num(hi)?),
            };
            if max < min {
                return Err(Unsupported(format!(
                    "`{{{body}}}` has its bounds backwards"
                )));
            }
            (min, max, close + 1)
        }
        _ => return Ok((1, 1, i)),
    };
    if matches!(chars.get(next), Some('?') | Some('+')) {
        return Err(Unsupported(
            "lazy and possessive quantifiers are not supported".into(),
        ));
    }
    Ok((min, max, next))
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
        assert!(re("^[]a]$").is_match("]"));
        assert!(re("^a{2,}$").is_match("aaaa"));
        assert!(!re("^a{2,}$").is_match("a"));
    }

    #[test]
    fn unsupported_patterns_are_refused() {
        for p in [
            "(a|b)",
            "a|b",
            "a*?",
            "^a$b",
            "[a",
            "a{2",
            "a{3,1}",
            "*a",
            r"\1",
            "[[:digit:]]",
            r"a\",
            "a{99999}",
        ] {
            assert!(Regex::new(p).is_err(), "{p} should be refused");
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let r = re("^a*a*a*a*a*a*a*a*a*a*b$");
        let text = "a".repeat(200);
        assert!(!r.is_match(&text));
    }
}
