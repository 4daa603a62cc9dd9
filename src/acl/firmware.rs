//! The MQTT settings of a device firmware configuration header (the
//! `mqtt_config.h` mqttforge writes, or a hand-written one of the same
//! shape): `#define` lines whose values are C string literals, other
//! macros and integers, e.g.
//!
//! ```c
//! #define MQTT_TOPIC_TELEMETRY "devices/" MQTT_DEVICE_ID "/telemetry"
//! #define MQTT_SUBSCRIBE_CMD "devices/" MQTT_DEVICE_ID "/cmd/#"
//! #define MQTT_BUFFER_SIZE 4136
//! ```
//!
//! Topics are what the firmware publishes (`MQTT_TOPIC_*`, and the last
//! will `MQTT_LWT_TOPIC`, which the broker authorizes as a publish) and
//! subscribes to (`MQTT_SUBSCRIBE_*`). A header for a fleet leaves
//! `MQTT_DEVICE_ID` to the build (`-DMQTT_DEVICE_ID=...`); the caller gives
//! the id to use then.
//!
//! Cost: linear in the header's bytes.

use super::ParseError;

/// Deepest chain of macros referring to macros that is followed.
const MAX_EXPANSION: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    pub name: String,
    /// The value as written (comments removed, trimmed).
    pub body: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Header {
    pub defines: Vec<Define>,
    /// The last define of each name (the one the preprocessor keeps).
    last: std::collections::HashMap<String, usize>,
}

/// Reads the `#define` lines of a header (other lines are ignored; a
/// `#define` split with `\` continuations is joined).
pub fn parse(text: &str) -> Result<Header, ParseError> {
    let mut defines = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    let mut in_comment = false;
    while i < lines.len() {
        let line_no = i + 1;
        let mut line = strip_comments(lines[i].trim_end_matches('\r'), &mut in_comment);
        while line.ends_with('\\') && i + 1 < lines.len() {
            line.pop();
            i += 1;
            line.push(' ');
            line.push_str(&strip_comments(
                lines[i].trim_end_matches('\r'),
                &mut in_comment,
            ));
        }
        i += 1;
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(def) = rest.strip_prefix("define") else {
            continue;
        };
        if !def.starts_with([' ', '\t']) {
            continue;
        }
        let def = def.trim_start();
        let name: String = def
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let col = lines[line_no - 1]
            .find(&name)
            .map(|b| lines[line_no - 1][..b].chars().count() + 1)
            .unwrap_or(1);
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(ParseError {
                line: line_no,
                col,
                message: "`#define` without a macro name".into(),
            });
        }
        let body = def[name.len()..].to_string();
        if body.starts_with('(') {
            // A function-like macro: not a setting.
            continue;
        }
        defines.push(Define {
            name,
            body: body.trim().to_string(),
            line: line_no,
            col,
        });
    }
    let last = defines
        .iter()
        .enumerate()
        .map(|(i, d): (usize, &Define)| (d.name.clone(), i))
        .collect();
    Ok(Header { defines, last })
}

/// Removes `/* */` (across lines) and `//` comments, keeping string literals intact.
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_str = false;
    while i < chars.len() {
        let c = chars[i];
        if *in_comment {
            if c == '*' && chars.get(i + 1) == Some(&'/') {
                *in_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match (c, chars.get(i + 1)) {
            ('/', Some('*')) => {
                *in_comment = true;
                out.push(' ');
                i += 2;
            }
            ('/', Some('/')) => break,
            ('"', _) => {
                in_str = true;
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

impl Header {
    pub fn get(&self, name: &str) -> Option<&Define> {
        self.last.get(name).map(|&i| &self.defines[i])
    }

    /// The string a macro expands to: adjacent literals and macros
    /// concatenated. `given` supplies macros the header leaves to the build.
    pub fn string(&self, name: &str, given: &[(&str, &str)]) -> Result<String, String> {
        self.expand(name, given, 0)
    }

    fn expand(&self, name: &str, given: &[(&str, &str)], depth: usize) -> Result<String, String> {
        if depth > MAX_EXPANSION {
            return Err(format!(
                "`{name}` expands too deeply (a macro refers to itself?)"
            ));
        }
        let Some(d) = self.get(name) else {
            return match given.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => Ok(v.to_string()),
                None => Err(format!("`{name}` is not defined")),
            };
        };
        let chars: Vec<char> = d.body.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut any = false;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '"' {
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(format!("`{name}` has an unterminated string"));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let (ch, next) = unescape(&chars, i)
                                .ok_or_else(|| format!("`{name}` has a bad escape"))?;
                            out.push_str(&ch);
                            i = next;
                        }
                        c => out.push(c),
                    }
                }
                any = true;
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let inner: String = chars[start..i].iter().collect();
                out.push_str(&self.expand(&inner, given, depth + 1)?);
                any = true;
            } else {
                return Err(format!("`{name}` is not a string: `{}`", d.body));
            }
        }
        if !any {
            return Err(format!("`{name}` is empty"));
        }
        Ok(out)
    }

    /// An integer macro (`4136`, `1000UL`).
    pub fn integer(&self, name: &str) -> Option<u64> {
        let d = self.get(name)?;
        let body = d.body.trim().trim_start_matches('(').trim_end_matches(')');
        let digits = body.trim_end_matches(['u', 'U', 'l', 'L']);
        digits.parse().ok()
    }

    /// Topics the firmware publishes to: `MQTT_TOPIC_*` and the last will.
    pub fn publish(&self, given: &[(&str, &str)]) -> Vec<(String, Result<String, String>)> {
        self.topics(
            |n| n.starts_with("MQTT_TOPIC_") || n == "MQTT_LWT_TOPIC",
            given,
        )
    }

    /// Filters the firmware subscribes to: `MQTT_SUBSCRIBE_*`.
    pub fn subscribe(&self, given: &[(&str, &str)]) -> Vec<(String, Result<String, String>)> {
        self.topics(|n| n.starts_with("MQTT_SUBSCRIBE_"), given)
    }

    fn topics(
        &self,
        pick: impl Fn(&str) -> bool,
        given: &[(&str, &str)],
    ) -> Vec<(String, Result<String, String>)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for d in &self.defines {
            if pick(&d.name) && seen.insert(d.name.as_str()) {
                out.push((d.name.clone(), self.string(&d.name, given)));
            }
        }
        out
    }
}

/// A C escape after the backslash at `chars[i - 1]`: (text, index after it).
fn unescape(chars: &[char], i: usize) -> Option<(String, usize)> {
    let c = *chars.get(i)?;
    let simple = match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        '0'..='7' => None,
        'x' => None,
        '\\' | '"' | '\'' | '?' => Some(c),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        _ => return None,
    };
    if let Some(s) = simple {
        return Some((s.to_string(), i + 1));
    }
    // Octal (up to 3 digits) or hex bytes; consecutive bytes form UTF-8.
    let mut bytes = Vec::new();
    let mut j = i;
    loop {
        match chars.get(j) {
            Some('x') => {
                let mut k = j + 1;
                let mut v: u32 = 0;
                while k < chars.len() && chars[k].is_ascii_hexdigit() && k < j + 3 {
                    v = v * 16 + chars[k].to_digit(16)?;
                    k += 1;
                }
                if k == j + 1 {
                    return None;
                }
                bytes.push(v as u8);
                j = k;
            }
            Some(d) if d.is_digit(8) => {
                let mut k = j;
                let mut v: u32 = 0;
                while k < chars.len() && chars[k].is_digit(8) && k < j + 3 {
                    v = v * 8 + chars[k].to_digit(8)?;
                    k += 1;
                }
                bytes.push(v.min(255) as u8);
                j = k;
            }
            _ => return None,
        }
        if chars.get(j) == Some(&'\\')
            && chars.get(j + 1).is_some_and(|n| n.is_digit(8) || *n == 'x')
        {
            j += 1;
            continue;
        }
        break;
    }
    Some((String::from_utf8_lossy(&bytes).into_owned(), j))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = r#"/* generated */
#ifndef GUARD
#define GUARD

#ifndef MQTT_DEVICE_ID
#error "build with -DMQTT_DEVICE_ID='\"<device id>\"'"
#endif
#define MQTT_CLIENT_ID MQTT_DEVICE_ID

/* Topics this role publishes to. */
#define MQTT_TOPIC_TELEMETRY "devices/" MQTT_DEVICE_ID "/telemetry"
#define MQTT_TOPIC_STATUS "devices/" MQTT_DEVICE_ID "/status"
#define MQTT_SUBSCRIBE_CMD "devices/" MQTT_DEVICE_ID "/cmd/#" // commands
#define MQTT_LWT_TOPIC "devices/" MQTT_DEVICE_ID "/status"
#define MQTT_LWT_PAYLOAD "{\"status\":\"offline\"}"
#define MQTT_BACKOFF_MAX_MS 300000UL
#define MQTT_BUFFER_SIZE 4136
#define MQTT_MULTI "a" \
    "b"
#endif
"#;

    #[test]
    fn topics_and_buffer_of_a_fleet_header() {
        let h = parse(FLEET).unwrap();
        let id = [("MQTT_DEVICE_ID", "temp-007")];
        let publish: Vec<(String, String)> = h
            .publish(&id)
            .into_iter()
            .map(|(n, t)| (n, t.unwrap()))
            .collect();
        assert_eq!(
            publish,
            vec![
                (
                    "MQTT_TOPIC_TELEMETRY".to_string(),
                    "devices/temp-007/telemetry".to_string()
                ),
                (
                    "MQTT_TOPIC_STATUS".to_string(),
                    "devices/temp-007/status".to_string()
                ),
                (
                    "MQTT_LWT_TOPIC".to_string(),
                    "devices/temp-007/status".to_string()
                ),
            ]
        );
        assert_eq!(
            h.subscribe(&id)[0].1.as_deref(),
            Ok("devices/temp-007/cmd/#")
        );
        assert_eq!(h.integer("MQTT_BUFFER_SIZE"), Some(4136));
        assert_eq!(h.integer("MQTT_BACKOFF_MAX_MS"), Some(300_000));
        assert_eq!(
            h.string("MQTT_LWT_PAYLOAD", &[]).unwrap(),
            "{\"status\":\"offline\"}"
        );
        assert_eq!(h.string("MQTT_MULTI", &[]).unwrap(), "ab");
        assert_eq!(h.get("MQTT_TOPIC_STATUS").unwrap().line, 12);
        assert!(h
            .string("MQTT_TOPIC_STATUS", &[])
            .unwrap_err()
            .contains("MQTT_DEVICE_ID"));
    }

    #[test]
    fn escapes_and_fixed_ids() {
        let h = parse("#define MQTT_DEVICE_ID \"press\\055\\x30\\061\"\n#define MQTT_TOPIC_X \"d/\" MQTT_DEVICE_ID\n").unwrap();
        assert_eq!(h.string("MQTT_TOPIC_X", &[]).unwrap(), "d/press-01");
        let h = parse("#define A \"caf\\303\\251\"\n").unwrap();
        assert_eq!(h.string("A", &[]).unwrap(), "café");
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let h = parse("#define A A\n#define B 12\n#define C \"x\n#define D \"\\q\"\n#define E\n#define F(x) x\n").unwrap();
        assert!(h.string("A", &[]).unwrap_err().contains("too deeply"));
        assert!(h.string("B", &[]).is_err());
        assert!(h.string("C", &[]).is_err());
        assert!(h.string("D", &[]).is_err());
        assert!(h.string("E", &[]).is_err());
        assert!(h.get("F").is_none());
        let e = parse("#define 9x 1\n").unwrap_err();
        assert_eq!(e.line, 1);
        for garbage in [
            "\u{0}#define",
            "#define",
            "/* unterminated",
            "#define X \"\\",
            "#define X \\",
            "#define X \"\\x\"",
        ] {
            if let Ok(h) = parse(garbage) {
                let _ = h.string("X", &[]);
            }
        }
    }
}
