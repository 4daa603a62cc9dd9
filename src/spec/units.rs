//! Human units: `30s`, `1h`, `30d`; `4KiB`, `1MiB`; `1000/s`, `100/min`;
//! `80%`. Each type has one pattern, used by the JSON Schema, by the
//! deserializer and by the diagnostics that explain a bad value.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Identifiers that reach line-based configs (ACL files, password files,
/// certificate subjects, topic segments). The first character is a letter or
/// digit; the rest letters, digits, `.`, `_`, `-`.
pub const IDENT_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
pub const DURATION_PATTERN: &str = "^(0|[0-9]{1,9}(ms|s|m|h|d|w))$";
pub const SIZE_PATTERN: &str = "^[0-9]{1,9}(B|KB|KiB|MB|MiB|GB|GiB)$";
pub const RATE_PATTERN: &str = "^[0-9]{1,9}/(s|min|h)$";
pub const PERCENT_PATTERN: &str = "^[0-9]{1,3}(\\.[0-9]{1,2})?%$";
pub const ADDRESS_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$";
pub const URL_PATTERN: &str =
    "^[a-z][a-z0-9+.-]{0,15}://[A-Za-z0-9.:\\[\\]-]{1,255}(/[A-Za-z0-9._/-]*)?$";
/// A lint suppression's reason: anything but blank.
pub const REASON_PATTERN: &str = "\\S";
/// A calendar date (a lint suppression's `until`); [`parse_date`] checks the day exists.
pub const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// Whether `text` has the form of [`DATE_PATTERN`] (digits and dashes).
pub fn is_date_shaped(text: &str) -> bool {
    text.len() == 10
        && text.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// A `YYYY-MM-DD` date that exists in the calendar (`2027-02-30` does not).
pub fn parse_date(text: &str) -> Option<time::Date> {
    if !is_date_shaped(text) {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    let month: u8 = text[5..7].parse().ok()?;
    let day: u8 = text[8..].parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

/// What a pattern means, for messages about values that do not match it.
pub struct PatternInfo {
    pub pattern: &'static str,
    /// "a duration"
    pub what: &'static str,
    /// Help text: how to write a valid value.
    pub help: &'static str,
    /// Optional finer explanation of why this value is wrong.
    pub explain: Option<fn(&str) -> String>,
}

pub const PATTERNS: &[PatternInfo] = &[
    PatternInfo {
        pattern: IDENT_PATTERN,
        what: "a safe identifier",
        help: "use letters, digits, `.`, `_` and `-` only (at most 63 characters, starting with a letter or digit): identifiers end up in ACL files, certificate names and topic segments",
        explain: Some(explain_ident),
    },
    PatternInfo {
        pattern: DURATION_PATTERN,
        what: "a duration",
        help: "write a whole number and a unit: `500ms`, `30s`, `5m`, `1h`, `30d`, `2w` (or `0`)",
        explain: None,
    },
    PatternInfo {
        pattern: SIZE_PATTERN,
        what: "a size",
        help: "write a whole number and a unit: `256B`, `4KiB`, `1MiB`, `2GiB` (KB/MB/GB are powers of 1000)",
        explain: None,
    },
    PatternInfo {
        pattern: RATE_PATTERN,
        what: "a rate",
        help: "write a whole number per unit of time: `1000/s`, `100/min`, `5000/h`",
        explain: None,
    },
    PatternInfo {
        pattern: PERCENT_PATTERN,
        what: "a percentage",
        help: "write a number followed by `%`, such as `80%` or `99.5%`",
        explain: None,
    },
    PatternInfo {
        pattern: ADDRESS_PATTERN,
        what: "an IP address or host name",
        help: "write an IPv4 or IPv6 address (`10.0.1.10`, `::1`) or a DNS name (`mqtt1.example.net`)",
        explain: None,
    },
    PatternInfo {
        pattern: URL_PATTERN,
        what: "a URL",
        help: "write a URL with a scheme, host and optional port and path, such as `http://etcd1.example.net:2379`",
        explain: None,
    },
    PatternInfo {
        pattern: DATE_PATTERN,
        what: "a date",
        help: "write the last day the suppression applies as YYYY-MM-DD, such as `2027-03-01`",
        explain: None,
    },
    PatternInfo {
        pattern: REASON_PATTERN,
        what: "a reason",
        help: "say why the rule does not apply to this site; a suppression without a reason is not accepted",
        explain: None,
    },
];

pub fn pattern_info(pattern: &str) -> Option<&'static PatternInfo> {
    PATTERNS.iter().find(|p| p.pattern == pattern)
}

/// Names the first character that makes an identifier unsafe.
pub fn explain_ident(value: &str) -> String {
    let describe = |c: char| -> String {
        match c {
            '\n' => {
                "a newline, which would start a new line in line-based configs such as ACL files"
                    .into()
            }
            '\r' => "a carriage return, which would start a new line in line-based configs".into(),
            '\0' => "a NUL byte".into(),
            '#' => "`#`, the MQTT multi-level wildcard".into(),
            '+' => "`+`, the MQTT single-level wildcard".into(),
            '/' => "`/`, the MQTT topic level separator".into(),
            c if c.is_whitespace() => {
                "whitespace, which splits fields in line-based configs".into()
            }
            c if c.is_control() => format!("the control character U+{:04X}", c as u32),
            c => format!("`{c}`, which is not allowed in identifiers"),
        }
    };
    if value.is_empty() {
        return "it is empty".into();
    }
    let first = value.chars().next().unwrap_or(' ');
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return format!("it contains {}", describe(c));
    }
    if !first.is_ascii_alphanumeric() {
        return format!("it starts with `{first}`; it must start with a letter or digit");
    }
    if value.chars().count() > 63 {
        return format!(
            "it is {} characters long; at most 63 are allowed",
            value.chars().count()
        );
    }
    "it does not match the identifier rules".into()
}

pub fn is_ident(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && value.chars().count() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn split_number(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 9 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn string_schema(pattern: &str, description: &str, examples: &[&str]) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": pattern,
        "description": description,
        "examples": examples,
    })
}

/// A safe identifier (see [`IDENT_PATTERN`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(transparent)]
pub struct Ident(pub String);

impl Ident {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for Ident {
    fn schema_name() -> Cow<'static, str> {
        "Ident".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            IDENT_PATTERN,
            "A name that is safe in ACL files, certificate subjects and topic segments: letters, digits, `.`, `_`, `-`.",
            &["mqtt1", "esp32-001"],
        )
    }
}

/// A host: an IP address or DNS name (checked further by the semantic pass).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Address(pub String);

impl JsonSchema for Address {
    fn schema_name() -> Cow<'static, str> {
        "Address".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            ADDRESS_PATTERN,
            "An IPv4/IPv6 address or a DNS name.",
            &["10.0.1.10", "mqtt1.example.net"],
        )
    }
}

/// A span of time, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

impl Duration {
    pub fn parse(s: &str) -> Option<Duration> {
        if s == "0" {
            return Some(Duration(0));
        }
        let (n, unit) = split_number(s)?;
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return None,
        };
        Some(Duration(n * ms))
    }

    pub fn millis(self) -> u64 {
        self.0
    }

    pub fn secs(self) -> u64 {
        self.0 / 1000
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(0) => Ok(Duration(0)),
            Raw::Int(n) => Err(de::Error::custom(format!(
                "`{n}` needs a unit, such as `{n}s`"
            ))),
            Raw::Str(s) => Duration::parse(&s)
                .ok_or_else(|| de::Error::custom(format!("`{s}` is not a duration"))),
        }
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "integer"],
            "pattern": DURATION_PATTERN,
            "minimum": 0,
            "maximum": 0,
            "description": "A duration: a whole number and a unit (ms, s, m, h, d, w), or 0.",
            "examples": ["30s", "5m", "1h", "30d"],
        })
    }
}

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Option<ByteSize> {
        let (n, unit) = split_number(s)?;
        let mult: u64 = match unit {
            "B" => 1,
            "KB" => 1_000,
            "KiB" => 1 << 10,
            "MB" => 1_000_000,
            "MiB" => 1 << 20,
            "GB" => 1_000_000_000,
            "GiB" => 1 << 30,
            _ => return None,
        };
        Some(ByteSize(n * mult))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ByteSize::parse(&s).ok_or_else(|| de::Error::custom(format!("`{s}` is not a size")))
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            SIZE_PATTERN,
            "A size: a whole number and a unit (B, KB, KiB, MB, MiB, GB, GiB).",
            &["256B", "4KiB", "1MiB"],
        )
    }
}

/// Events per unit of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    /// The unit of time, in seconds (1, 60 or 3600).
    pub per_secs: u64,
}

impl Rate {
    pub fn parse(s: &str) -> Option<Rate> {
        let (count, rest) = split_number(s)?;
        let per_secs = match rest {
            "/s" => 1,
            "/min" => 60,
            "/h" => 3600,
            _ => return None,
        };
        Some(Rate { count, per_secs })
    }

    pub fn per_second(self) -> f64 {
        self.count as f64 / self.per_secs as f64
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rate::parse(&s).ok_or_else(|| de::Error::custom(format!("`{s}` is not a rate")))
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            RATE_PATTERN,
            "A rate: a whole number per second, minute or hour.",
            &["1000/s", "100/min"],
        )
    }
}

/// A percentage, 0 to 100.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl Percent {
    pub fn parse(s: &str) -> Option<Percent> {
        let n = s.strip_suffix('%')?;
        if n.is_empty() || n.len() > 6 || !n.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        n.parse().ok().map(Percent)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Percent::parse(&s).ok_or_else(|| de::Error::custom(format!("`{s}` is not a percentage")))
    }
}

impl JsonSchema for Percent {
    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        string_schema(
            PERCENT_PATTERN,
            "A percentage, 0% to 100%.",
            &["80%", "95%"],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_exist_in_the_calendar() {
        let d = parse_date("2027-03-01").unwrap();
        assert_eq!((d.year(), d.month() as u8, d.day()), (2027, 3, 1));
        assert!(parse_date("2028-02-29").is_some());
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-04-31",
            "2027-3-1",
            "27-03-01",
            "2027/03/01",
            "2027-03-01x",
            "+027-03-01",
            "",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("1h"), Some(Duration(3_600_000)));
        assert_eq!(Duration::parse("30d").unwrap().secs(), 30 * 86_400);
        assert_eq!(Duration::parse("500ms"), Some(Duration(500)));
        assert_eq!(Duration::parse("0"), Some(Duration(0)));
        assert_eq!(Duration::parse("1x"), None);
        assert_eq!(Duration::parse("h"), None);
        assert_eq!(Duration::parse("9999999999s"), None);
    }

    #[test]
    fn sizes_rates_percents() {
        assert_eq!(ByteSize::parse("4KiB"), Some(ByteSize(4096)));
        assert_eq!(ByteSize::parse("1MB"), Some(ByteSize(1_000_000)));
        assert_eq!(Rate::parse("100/min").unwrap().per_second(), 100.0 / 60.0);
        assert_eq!(Rate::parse("1000/s").unwrap().count, 1000);
        assert_eq!(Percent::parse("80%"), Some(Percent(80.0)));
        assert_eq!(Percent::parse("80"), None);
    }

    #[test]
    fn identifiers_name_the_offending_character() {
        assert!(is_ident("esp32-001"));
        assert!(!is_ident("a/b"));
        assert!(explain_ident("dev\n1").contains("newline"));
        assert!(explain_ident("dev#").contains("multi-level wildcard"));
        assert!(explain_ident("-dev").contains("starts with"));
    }

    #[test]
    fn every_pattern_is_described_once() {
        for p in PATTERNS {
            assert_eq!(
                PATTERNS.iter().filter(|q| q.pattern == p.pattern).count(),
                1
            );
        }
    }
}
