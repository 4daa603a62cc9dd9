//! The templates (`templates/<target>/*.j2`, compiled into the binary) and
//! the strict minijinja environment that renders them, with one escaping
//! function per output syntax.
//!
//! # The escaping contract
//!
//! Every template has a syntax, chosen from its name ([`Syntax::of_template`];
//! a template without one cannot print anything). Every `{{ value }}` a
//! template prints goes through the environment's formatter, which applies
//! that syntax's rule for a bare value ([`Syntax::bare`]); numbers and
//! booleans print as they are. A value that cannot be written bare is
//! refused: rendering fails with an error naming the template and line.
//! The filters below return *safe* strings, which the formatter prints
//! unchanged, so the only way for text to reach a file unescaped is through
//! them (a test keeps `safe` and `autoescape` out of the templates):
//!
//! - `quote`: the value as a string literal of the template's syntax
//!   ([`Syntax::quote`]);
//! - `c_str`: a C string literal ([`c_str`]), `sh_quote`: a shell word
//!   ([`sh_quote`]), in any template;
//! - `comment`: text for a comment of the template's syntax
//!   ([`Syntax::comment`]).
//!
//! "Line hazards" are the characters that end or split a line somewhere:
//! every control character (C0, DEL, C1 with U+0085 NEL) and U+2028/U+2029.
//!
//! | syntax | bare value | `quote` | comments |
//! |---|---|---|---|
//! | mosquitto.conf, Mosquitto ACL, sysctl, Erlang terms | refused if it holds a line hazard (no quoting exists; a Mosquitto value runs to the end of its line, an Erlang `%%` comment too) | refused (no quoting) | line hazards shown escaped |
//! | systemd unit | as above, and `\` refused (a trailing one continues the line) | refused | as above |
//! | modules-load | a module name, `[A-Za-z0-9_-]*`; anything else refused | refused | as above |
//! | HAProxy cfg | refused if empty or if it holds a line hazard, a blank, `#`, `"`, `'` or `\` (outside quotes they split or end the line's words) | single-quoted (`'` as `'\''`), line hazards refused | as above |
//! | nginx.conf | refused if empty or if it holds a line hazard, a blank, `;`, `{`, `}`, `#`, `"`, `'`, `\` or `$` (they end the directive, open a block, start a comment or a variable) | `"..."` with `"` and `\` backslash-escaped; line hazards and `$` refused (nginx expands variables inside quotes in some directives) | as above |
//! | rsyslog.conf (RainerScript) | `[A-Za-z0-9_.:/-]*`; anything else refused | `"..."`; line hazards, `"`, `\` and `` ` `` refused (nothing relies on rsyslog's escapes) | as above |
//! | Grafana Alloy (config.alloy) | refused (every value is quoted) | `"..."`; line hazards, `"` and `\` refused (nothing relies on Alloy's escapes) | `/* */`: as C |
//! | keepalived.conf | refused if empty or if it holds a line hazard, a blank, `#`, `!`, `"`, `'`, `\`, `{` or `}` (they split words, start a comment or open a block) | refused (no quoting) | as above |
//! | JSON | refused (every string is quoted) | `"..."`, `\"`, `\\`, `\uXXXX` for line hazards | none (JSON has no comments) |
//! | HOCON, TOML | `[A-Za-z0-9_-]+` as is; anything else quoted (a quoted string is valid wherever the bare token is: value, key segment, and harmless in a comment) | `"..."`, `\"`, `\\`, `\uXXXX` for line hazards | as above |
//! | YAML | `[A-Za-z0-9_./-]*` as is; anything else refused (a bare value may sit inside a plain scalar, where quotes would not close it) | `"..."`, `\"`, `\\`, `\uXXXX` for line hazards and U+FEFF | as above |
//! | shell (bash) | `[A-Za-z0-9_./@%+=:,-]*` as is; anything else refused | `'...'` (`'` as `'\''`); with line hazards `$'...'` and `\xHH` bytes; NUL refused (bash strings cannot hold it) | as above |
//! | C | `[A-Za-z0-9_.-]*` as is; anything else refused | `"..."`: `"`, `\`, `?` (trigraphs) escaped, control and non-ASCII bytes as 3-digit octal | line hazards escaped, `*/`, `/*` and `??` broken |
//! | Erlang terms (quote) | | `"..."`, `\"`, `\\`, `\x{H}` for line hazards | |
//! | Markdown | line hazards shown escaped (`\n`); `` \ ` * _ [ ] < > \| ~ & ! `` backslash-escaped anywhere, and `# + - = :` or a leading number's `.`/`)` where the value begins (a block marker if the value starts a list item) | a code span, its fence longer than any run of backticks in the value; a value holding `\|` as escaped text (a table splits cells on it first) | `<!-- -->`: as `#` comments, and `--` broken so `-->` cannot end it |
//!
//! In comments, `\` is shown as `\\` so an escaped line break cannot be
//! confused with a typed one, and U+FEFF (which YAML refuses anywhere) is
//! escaped too. The spec's values are validated before they
//! get here (identifiers, topics and every free-form string refuse line
//! hazards at their position): this is the second line of defence, and the
//! one that holds for values that do not come from the spec (the spec's own
//! path, in every file's header).

use std::borrow::Cow;
use std::fmt;

pub use crate::spec::checks::{describe_char, is_line_hazard};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value,
};

/// Every template: its name (path under `templates/`) and source. A test
/// checks that every file under `templates/` is listed here.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "mosquitto/mosquitto.conf.j2",
        include_str!("../../templates/mosquitto/mosquitto.conf.j2"),
    ),
    (
        "mosquitto/acl.j2",
        include_str!("../../templates/mosquitto/acl.j2"),
    ),
    (
        "emqx/emqx.conf.j2",
        include_str!("../../templates/emqx/emqx.conf.j2"),
    ),
    (
        "emqx/acl.conf.j2",
        include_str!("../../templates/emqx/acl.conf.j2"),
    ),
    (
        "rumqttd/rumqttd.toml.j2",
        include_str!("../../templates/rumqttd/rumqttd.toml.j2"),
    ),
    (
        "haproxy/haproxy.cfg.j2",
        include_str!("../../templates/haproxy/haproxy.cfg.j2"),
    ),
    (
        "nginx/nginx.conf.j2",
        include_str!("../../templates/nginx/nginx.conf.j2"),
    ),
    (
        "keepalived/keepalived.conf.j2",
        include_str!("../../templates/keepalived/keepalived.conf.j2"),
    ),
    (
        "logs/rsyslog.conf.j2",
        include_str!("../../templates/logs/rsyslog.conf.j2"),
    ),
    (
        "logs/config.alloy.j2",
        include_str!("../../templates/logs/config.alloy.j2"),
    ),
    (
        "grafana/dashboard.json.j2",
        include_str!("../../templates/grafana/dashboard.json.j2"),
    ),
    (
        "grafana/provisioning.yaml.j2",
        include_str!("../../templates/grafana/provisioning.yaml.j2"),
    ),
    (
        "os/sysctl.conf.j2",
        include_str!("../../templates/os/sysctl.conf.j2"),
    ),
    (
        "os/limits.conf.j2",
        include_str!("../../templates/os/limits.conf.j2"),
    ),
    (
        "os/secrets-dropin.conf.j2",
        include_str!("../../templates/os/secrets-dropin.conf.j2"),
    ),
    (
        "os/modules-load.conf.j2",
        include_str!("../../templates/os/modules-load.conf.j2"),
    ),
    (
        "prometheus/prometheus.yml.j2",
        include_str!("../../templates/prometheus/prometheus.yml.j2"),
    ),
    (
        "prometheus/rules.yml.j2",
        include_str!("../../templates/prometheus/rules.yml.j2"),
    ),
    (
        "prometheus/rules.test.yml.j2",
        include_str!("../../templates/prometheus/rules.test.yml.j2"),
    ),
    (
        "backup/backup.sh.j2",
        include_str!("../../templates/backup/backup.sh.j2"),
    ),
    (
        "backup/restore.sh.j2",
        include_str!("../../templates/backup/restore.sh.j2"),
    ),
    (
        "firmware/mqtt_config.h.j2",
        include_str!("../../templates/firmware/mqtt_config.h.j2"),
    ),
    (
        "firmware/mqtt_ca.h.j2",
        include_str!("../../templates/firmware/mqtt_ca.h.j2"),
    ),
    (
        "runbook/RUNBOOK.md.j2",
        include_str!("../../templates/runbook/RUNBOOK.md.j2"),
    ),
    (
        "runbook/checklist.md.j2",
        include_str!("../../templates/runbook/checklist.md.j2"),
    ),
];

/// An output syntax: how values are written into files of that kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    MosquittoConf,
    MosquittoAcl,
    Haproxy,
    Nginx,
    Keepalived,
    Rsyslog,
    Alloy,
    Json,
    Hocon,
    Erlang,
    Toml,
    Yaml,
    Shell,
    C,
    Sysctl,
    Systemd,
    ModulesLoad,
    Markdown,
}

/// Every syntax, for tests that go through all of them.
pub const SYNTAXES: [Syntax; 18] = [
    Syntax::MosquittoConf,
    Syntax::MosquittoAcl,
    Syntax::Haproxy,
    Syntax::Nginx,
    Syntax::Keepalived,
    Syntax::Rsyslog,
    Syntax::Alloy,
    Syntax::Json,
    Syntax::Hocon,
    Syntax::Erlang,
    Syntax::Toml,
    Syntax::Yaml,
    Syntax::Shell,
    Syntax::C,
    Syntax::Sysctl,
    Syntax::Systemd,
    Syntax::ModulesLoad,
    Syntax::Markdown,
];

/// Why a value cannot be written into a file of some syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub syntax: Syntax,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.syntax.name(), self.reason)
    }
}

impl Syntax {
    /// The name used as minijinja's auto-escape mode and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Syntax::MosquittoConf => "mosquitto.conf",
            Syntax::MosquittoAcl => "Mosquitto ACL",
            Syntax::Haproxy => "haproxy.cfg",
            Syntax::Nginx => "nginx.conf",
            Syntax::Keepalived => "keepalived.conf",
            Syntax::Rsyslog => "rsyslog.conf",
            Syntax::Alloy => "config.alloy",
            Syntax::Json => "JSON",
            Syntax::Hocon => "HOCON",
            Syntax::Erlang => "Erlang terms",
            Syntax::Toml => "TOML",
            Syntax::Yaml => "YAML",
            Syntax::Shell => "shell",
            Syntax::C => "C",
            Syntax::Sysctl => "sysctl",
            Syntax::Systemd => "systemd unit",
            Syntax::ModulesLoad => "modules-load",
            Syntax::Markdown => "Markdown",
        }
    }

    pub fn from_name(name: &str) -> Option<Syntax> {
        SYNTAXES.into_iter().find(|s| s.name() == name)
    }

    /// The syntax of a template, from its name (`<target>/<file>.j2`).
    pub fn of_template(template: &str) -> Option<Syntax> {
        let file = template.strip_suffix(".j2")?;
        let (dir, base) = file.rsplit_once('/').unwrap_or(("", file));
        let ext = base.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Some(match (dir, base, ext) {
            (_, _, "sh") => Syntax::Shell,
            (_, _, "h") => Syntax::C,
            (_, _, "yml" | "yaml") => Syntax::Yaml,
            (_, _, "toml") => Syntax::Toml,
            (_, _, "json") => Syntax::Json,
            (_, _, "hocon") => Syntax::Hocon,
            (_, _, "md") => Syntax::Markdown,
            ("haproxy", _, "cfg") => Syntax::Haproxy,
            ("nginx", _, "conf") => Syntax::Nginx,
            ("keepalived", _, "conf") => Syntax::Keepalived,
            ("logs", "rsyslog.conf", _) => Syntax::Rsyslog,
            ("logs", _, "alloy") => Syntax::Alloy,
            ("mosquitto", "acl", _) => Syntax::MosquittoAcl,
            ("mosquitto", _, "conf") => Syntax::MosquittoConf,
            ("emqx", "acl.conf", _) => Syntax::Erlang,
            ("emqx", _, "conf") => Syntax::Hocon,
            ("os", b, _) if b.starts_with("sysctl") => Syntax::Sysctl,
            ("os", b, _) if b.starts_with("modules-load") => Syntax::ModulesLoad,
            ("os", b, _) if b.starts_with("limits") || b.starts_with("secrets-dropin") => {
                Syntax::Systemd
            }
            _ => return None,
        })
    }

    fn refuse(self, reason: impl Into<String>) -> Refusal {
        Refusal {
            syntax: self,
            reason: reason.into(),
        }
    }

    /// How a value the template prints bare is written, or why it cannot be.
    pub fn bare(self, value: &str) -> Result<Cow<'_, str>, Refusal> {
        let token = |allowed: fn(char) -> bool| value.chars().all(allowed);
        match self {
            Syntax::MosquittoConf | Syntax::MosquittoAcl | Syntax::Sysctl | Syntax::Erlang => {
                self.line_safe(value, |_| false)
            }
            Syntax::ModulesLoad => {
                self.token(value, |c| c.is_ascii_alphanumeric() || "_-".contains(c))
            }
            Syntax::Systemd => self.line_safe(value, |c| c == '\\'),
            Syntax::Haproxy if value.is_empty() => {
                Err(self.refuse("an empty value would drop a word from the line"))
            }
            Syntax::Haproxy => self.line_safe(value, |c| {
                c.is_whitespace() || matches!(c, '#' | '"' | '\'' | '\\')
            }),
            Syntax::Nginx if value.is_empty() => {
                Err(self.refuse("an empty value would drop a word from the directive"))
            }
            Syntax::Nginx => self.line_safe(value, |c| {
                c.is_whitespace() || matches!(c, ';' | '{' | '}' | '#' | '"' | '\'' | '\\' | '$')
            }),
            Syntax::Keepalived if value.is_empty() => {
                Err(self.refuse("an empty value would drop a word from the line"))
            }
            Syntax::Keepalived => self.line_safe(value, |c| {
                c.is_whitespace() || matches!(c, '#' | '!' | '"' | '\'' | '\\' | '{' | '}')
            }),
            Syntax::Rsyslog => {
                self.token(value, |c| c.is_ascii_alphanumeric() || "_.:/-".contains(c))
            }
            Syntax::Json => {
                Err(self.refuse("a JSON string must be quoted; the template must quote this value"))
            }
            Syntax::Alloy => Err(self.refuse(
                "an Alloy value must be a quoted string; the template must quote this value",
            )),
            Syntax::Hocon | Syntax::Toml => {
                if !value.is_empty() && token(|c| c.is_ascii_alphanumeric() || "_-".contains(c)) {
                    Ok(Cow::Borrowed(value))
                } else {
                    self.quote(value).map(Cow::Owned)
                }
            }
            Syntax::Yaml => self.token(value, |c| c.is_ascii_alphanumeric() || "_./-".contains(c)),
            Syntax::Shell => self.token(value, |c| {
                c.is_ascii_alphanumeric() || "_./@%+=:,-".contains(c)
            }),
            Syntax::C => self.token(value, |c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
            Syntax::Markdown => Ok(Cow::Owned(markdown_text(&show_hazards(value)))),
        }
    }

    /// Line-based syntaxes: the value as it is, unless it holds a line
    /// hazard or a character `also` refuses.
    fn line_safe<'v>(
        self,
        value: &'v str,
        also: fn(char) -> bool,
    ) -> Result<Cow<'v, str>, Refusal> {
        match value.chars().find(|&c| is_line_hazard(c) || also(c)) {
            Some(c) => Err(self.refuse(format!(
                "{} cannot be written here (a {} file has no quoting for it)",
                describe_char(c),
                self.name()
            ))),
            None => Ok(Cow::Borrowed(value)),
        }
    }

    fn token<'v>(self, value: &'v str, allowed: fn(char) -> bool) -> Result<Cow<'v, str>, Refusal> {
        match value.chars().find(|&c| !allowed(c)) {
            Some(c) => Err(self.refuse(format!(
                "{} cannot be written bare; the template must quote this value",
                describe_char(c)
            ))),
            None => Ok(Cow::Borrowed(value)),
        }
    }

    /// The value as a string literal of this syntax.
    pub fn quote(self, value: &str) -> Result<String, Refusal> {
        match self {
            Syntax::Hocon | Syntax::Toml | Syntax::Json => Ok(json_str(value)),
            Syntax::Yaml => Ok(yaml_str(value)),
            Syntax::Erlang => Ok(erlang_str(value)),
            Syntax::C => Ok(c_str(value)),
            Syntax::Markdown => Ok(markdown_code(&show_hazards(value))),
            Syntax::Shell => sh_word(value).ok_or_else(|| {
                self.refuse("a NUL byte cannot be held by a bash string".to_string())
            }),
            Syntax::Haproxy => {
                self.line_safe(value, |_| false)?;
                Ok(format!("'{}'", value.replace('\'', "'\\''")))
            }
            // RainerScript string constants: no escaping is relied on, so
            // what could end the string or start an escape is refused.
            Syntax::Rsyslog => {
                self.line_safe(value, |c| matches!(c, '"' | '\\' | '`'))?;
                Ok(format!("\"{value}\""))
            }
            // Alloy string literals: no escaping is relied on, so what could
            // end the string or start an escape is refused.
            Syntax::Alloy => {
                self.line_safe(value, |c| matches!(c, '"' | '\\'))?;
                Ok(format!("\"{value}\""))
            }
            Syntax::Nginx => {
                self.line_safe(value, |c| c == '$')?;
                Ok(format!(
                    "\"{}\"",
                    value.replace('\\', "\\\\").replace('"', "\\\"")
                ))
            }
            Syntax::MosquittoConf
            | Syntax::MosquittoAcl
            | Syntax::Keepalived
            | Syntax::Sysctl
            | Syntax::Systemd
            | Syntax::ModulesLoad => Err(self.refuse(format!(
                "a {} file has no quoting; write the value bare",
                self.name()
            ))),
        }
    }

    /// Text for a comment of this syntax: line hazards and `\` shown
    /// escaped; in C, `*/`, `/*` and `??` broken so the comment cannot end
    /// early, nest, or hold a trigraph.
    pub fn comment(self, text: &str) -> String {
        match self {
            Syntax::C | Syntax::Alloy => c_comment(text),
            Syntax::Markdown => html_comment(text),
            _ => hash_comment(text),
        }
    }
}

/// Comment text for `#`, `%%`, `;` and `//` comments: line hazards shown as
/// `\n`, `\r`, `\t`, `\0` or `\u{XXXX}`, and `\` as `\\`.
pub fn hash_comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_line_hazard(c) || c == '\u{feff}' => {
                out.push_str(&format!("\\u{{{:04X}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Comment text inside `/* ... */`: as [`hash_comment`], and no `*/`, `/*`
/// or `??` left in it (a backslash goes between the two characters).
pub fn c_comment(text: &str) -> String {
    let escaped = hash_comment(text);
    let mut out = String::with_capacity(escaped.len());
    let mut last = '\0';
    for c in escaped.chars() {
        if matches!((last, c), ('*', '/') | ('/', '*') | ('?', '?')) {
            out.push('\\');
        }
        out.push(c);
        last = c;
    }
    out
}

/// Comment text inside `<!-- ... -->` (Markdown's only comment): as
/// [`hash_comment`], and no `--` left in it, so `-->` cannot end it early.
pub fn html_comment(text: &str) -> String {
    let escaped = hash_comment(text);
    let mut out = String::with_capacity(escaped.len());
    let mut last = '\0';
    for c in escaped.chars() {
        if last == '-' && c == '-' {
            out.push('\\');
        }
        out.push(c);
        last = c;
    }
    out
}

/// Line hazards shown as `\n`, `\r`, `\t`, `\0` or `\u{XXXX}`, the rest
/// as it is: Markdown has no way to hold them on a line, and showing a value
/// escaped is better than refusing it in a document meant for people.
pub fn show_hazards(value: &str) -> Cow<'_, str> {
    if !value.chars().any(|c| is_line_hazard(c) || c == '\u{feff}') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_line_hazard(c) || c == '\u{feff}' => {
                out.push_str(&format!("\\u{{{:04X}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Markdown text: characters that open inline markup anywhere (emphasis,
/// code, links, HTML, entities, table cells, strike-through) backslash-
/// escaped, and those that open a block at the start of a line (heading,
/// list, quote, thematic break, ordered list) escaped where the value
/// begins, since a template may print it first in a list item.
pub fn markdown_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let digits = value.chars().take_while(|c| c.is_ascii_digit()).count();
    for (i, c) in value.chars().enumerate() {
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!'
        );
        let at_start = i == 0 && matches!(c, '#' | '+' | '-' | '=' | ':');
        let ordered = i == digits && digits > 0 && matches!(c, '.' | ')');
        if inline || at_start || ordered {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code span: fenced with one backtick more than the longest
/// run of backticks in the value (padded where the value starts or ends
/// with one). A GitHub table splits its cells on `|` before it reads code
/// spans, and a backslash before that `|` may itself be escaped, so a value
/// holding `|` is written as escaped text ([`markdown_text`]) instead.
pub fn markdown_code(value: &str) -> String {
    if value.contains('|') {
        return markdown_text(value);
    }
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

/// A double-quoted string with JSON escapes: HOCON and TOML read it.
fn json_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if is_line_hazard(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML double-quoted scalar.
fn yaml_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if is_line_hazard(c) || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An Erlang string literal (what `file:consult/1` reads).
pub fn erlang_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_line_hazard(c) => out.push_str(&format!("\\x{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bash word: `'...'`, or `$'...'` with `\xHH` bytes when the value holds
/// line hazards. `None` for a NUL byte, which no bash string can hold.
fn sh_word(value: &str) -> Option<String> {
    if value.contains('\0') {
        return None;
    }
    if !value.chars().any(is_line_hazard) {
        return Some(format!("'{}'", value.replace('\'', "'\\''")));
    }
    let mut out = String::from("$'");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if is_line_hazard(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}

/// A double-quoted string for HOCON (JSON escapes). Values in Erlang terms
/// take [`erlang_str`]; templates use the `quote` filter, which picks the
/// template's own syntax.
pub fn quote(s: &str) -> String {
    json_str(s)
}

/// A C string literal: `"`, `\` and `?` escaped (`??/` is a trigraph for
/// `\` in ISO C modes), control and non-ASCII bytes as 3-digit octal escapes
/// (exactly three digits, so a following digit is never swallowed).
pub fn c_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '?' => out.push_str("\\?"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() || !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted shell word (see [`Syntax::quote`] for the `$'...'` form
/// and the NUL refusal, which the `sh_quote` filter applies).
pub fn sh_quote(s: &str) -> String {
    sh_word(s).unwrap_or_else(|| sh_word(&s.replace('\0', "")).unwrap_or_default())
}

/// The environment: strict undefined (a missing value is an error naming the
/// template and line), block tags that leave no blank lines, and every
/// printed value escaped for the template's syntax (see the module doc).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("valid syntax config"),
    );
    env.set_auto_escape_callback(|name| match Syntax::of_template(name) {
        Some(syntax) => AutoEscape::Custom(syntax.name().into()),
        None => AutoEscape::Custom(UNKNOWN_SYNTAX.into()),
    });
    env.set_formatter(format_value);
    env.add_filter("quote", quote_filter);
    env.add_filter("c_str", |value: &Value| {
        Value::from_safe_string(c_str(&text_of(value)))
    });
    env.add_filter("sh_quote", sh_quote_filter);
    env.add_filter("sh_arg", sh_arg_filter);
    env.add_filter("comment", comment_filter);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
    }
    env
}

const UNKNOWN_SYNTAX: &str = "no known syntax";

/// The syntax of the template being rendered: its auto-escape mode, else
/// its name (an `{% autoescape false %}` block does not switch escaping off).
fn syntax_of(state: &State) -> Result<Syntax, Error> {
    let from_mode = match state.auto_escape() {
        AutoEscape::Custom(name) => Syntax::from_name(name),
        _ => None,
    };
    from_mode
        .or_else(|| Syntax::of_template(state.name()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "template {} has no known output syntax, so it cannot print values",
                    state.name()
                ),
            )
        })
}

fn text_of(value: &Value) -> String {
    value
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| value.to_string())
}

/// A refused value, shown escaped and shortened.
fn refusal_error(refusal: Refusal, value: &str) -> Error {
    let mut shown: String = value.chars().take(60).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    Error::new(
        ErrorKind::InvalidOperation,
        format!("refused to write \"{}\": {refusal}", shown.escape_debug()),
    )
}

/// The formatter: safe strings as they are, numbers and booleans as they
/// are, strings through the syntax's bare rule, anything else refused.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let write = |out: &mut Output, text: &str| out.write_str(text).map_err(Error::from);
    if value.is_safe() {
        return write(out, &text_of(value));
    }
    match value.kind() {
        ValueKind::Number | ValueKind::Bool => write(out, &value.to_string()),
        ValueKind::Undefined => Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::String => {
            let syntax = syntax_of(state)?;
            let text = value.as_str().unwrap_or_default();
            let bare = syntax.bare(text).map_err(|r| refusal_error(r, text))?;
            write(out, &bare)
        }
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a {kind} cannot be printed as a whole; print its items"),
        )),
    }
}

fn quote_filter(state: &State, value: &Value) -> Result<Value, Error> {
    let text = text_of(value);
    let quoted = syntax_of(state)?
        .quote(&text)
        .map_err(|r| refusal_error(r, &text))?;
    Ok(Value::from_safe_string(quoted))
}

fn sh_quote_filter(value: &Value) -> Result<Value, Error> {
    let text = text_of(value);
    Syntax::Shell
        .quote(&text)
        .map(Value::from_safe_string)
        .map_err(|r| refusal_error(r, &text))
}

/// A shell word as short as it can be: bare when the shell reads it as one
/// word as it is, else quoted (commands the runbook shows).
fn sh_arg_filter(value: &Value) -> Result<Value, Error> {
    let text = text_of(value);
    match Syntax::Shell.bare(&text) {
        Ok(bare) if !bare.is_empty() => Ok(Value::from_safe_string(bare.into_owned())),
        _ => sh_quote_filter(value),
    }
}

fn comment_filter(state: &State, value: &Value) -> Result<Value, Error> {
    Ok(Value::from_safe_string(
        syntax_of(state)?.comment(&text_of(value)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        for target in std::fs::read_dir(&dir).unwrap() {
            let target = target.unwrap().path();
            for f in std::fs::read_dir(&target).unwrap() {
                let f = f.unwrap().path();
                files.push(format!(
                    "{}/{}",
                    target.file_name().unwrap().to_string_lossy(),
                    f.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        for f in &files {
            assert!(
                TEMPLATES.iter().any(|(n, _)| n == f),
                "templates/{f} is not in TEMPLATES"
            );
        }
        assert_eq!(files.len(), TEMPLATES.len());
    }

    #[test]
    fn escaping() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(c_str("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(c_str("??/"), "\"\\?\\?/\"");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(Syntax::Shell.quote("a\nb").unwrap(), "$'a\\x0ab'");
        assert!(Syntax::Shell.quote("a\0b").is_err());
        assert_eq!(erlang_str("a\n\"}."), "\"a\\x{a}\\\"}.\"");
        assert_eq!(Syntax::Yaml.quote("a\u{2028}").unwrap(), "\"a\\u2028\"");
    }

    #[test]
    fn every_template_has_an_output_syntax() {
        for (name, _) in TEMPLATES {
            assert!(Syntax::of_template(name).is_some(), "{name} has no syntax");
        }
        for syntax in SYNTAXES {
            assert_eq!(Syntax::from_name(syntax.name()), Some(syntax));
        }
    }

    #[test]
    fn no_template_switches_escaping_off() {
        for (name, source) in TEMPLATES {
            let squeezed: String = source.chars().filter(|c| !c.is_whitespace()).collect();
            for banned in ["|safe", "autoescape"] {
                assert!(
                    !squeezed.contains(banned),
                    "{name} uses `{banned}`: print values through the escaping filters instead"
                );
            }
        }
    }

    #[test]
    fn line_hazards_are_refused_by_every_bare_rule() {
        for syntax in SYNTAXES {
            for hazard in ["a\nb", "a\rb", "a\0b", "a\u{2028}b", "a\u{85}b", "a\u{7f}b"] {
                match syntax.bare(hazard) {
                    Err(_) => {}
                    Ok(text) => assert!(
                        !text.chars().any(is_line_hazard),
                        "{} wrote {hazard:?} as {text:?}",
                        syntax.name()
                    ),
                }
            }
        }
    }

    #[test]
    fn markdown_values_cannot_open_markup() {
        assert_eq!(
            Syntax::Markdown.bare("# *a* | [b](c) <d>").unwrap(),
            "\\# \\*a\\* \\| \\[b\\](c) \\<d\\>"
        );
        assert_eq!(Syntax::Markdown.bare("1. x").unwrap(), "1\\. x");
        assert_eq!(
            Syntax::Markdown.bare("a-b 10.0.0.1").unwrap(),
            "a-b 10.0.0.1"
        );
        assert_eq!(Syntax::Markdown.bare("a\nb").unwrap(), "a\\\\nb");
        assert_eq!(Syntax::Markdown.quote("/etc/x").unwrap(), "`/etc/x`");
        assert_eq!(Syntax::Markdown.quote("a`b").unwrap(), "``a`b``");
        assert_eq!(Syntax::Markdown.quote("`a").unwrap(), "`` `a ``");
        assert_eq!(Syntax::Markdown.quote("a|b").unwrap(), "a\\|b");
        assert_eq!(html_comment("a-->b"), "a-\\->b");
    }

    #[test]
    fn comments_cannot_end_early() {
        assert_eq!(hash_comment("a\nb\\"), "a\\nb\\\\");
        let c = c_comment("x */ y /* z ??/ w ??? */*/");
        assert!(
            !c.contains("*/") && !c.contains("/*") && !c.contains("??"),
            "{c}"
        );
        assert_eq!(c_comment("a*/b"), "a*\\/b");
    }

    fn render_one(name: &str, source: &str, value: &str) -> Result<String, minijinja::Error> {
        let mut env = environment();
        env.add_template_owned(name.to_string(), source.to_string())
            .unwrap();
        env.get_template(name)
            .unwrap()
            .render(minijinja::context! { v => value })
    }

    #[test]
    fn the_formatter_refuses_with_the_template_and_line() {
        let err = render_one(
            "mosquitto/t.conf.j2",
            "a\nuser {{ v }}\n",
            "x\ntopic readwrite #",
        )
        .unwrap_err();
        assert_eq!(err.name(), Some("mosquitto/t.conf.j2"));
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("a line break"), "{err}");
        let err = render_one("firmware/t.h.j2", "#define X {{ v }}\n", "\"a\"").unwrap_err();
        assert!(err.to_string().contains("must quote"), "{err}");
        let err = render_one("nowhere/t.txt.j2", "{{ v }}", "a").unwrap_err();
        assert!(err.to_string().contains("no known output syntax"), "{err}");
    }

    #[test]
    fn filters_pick_the_template_syntax() {
        let q = |name: &str| render_one(name, "{{ v | quote }}", "a\"\n").unwrap();
        assert_eq!(q("emqx/emqx.conf.j2"), "\"a\\\"\\n\"");
        assert_eq!(q("emqx/acl.conf.j2"), "\"a\\\"\\x{a}\"");
        assert_eq!(q("backup/x.sh.j2"), "$'a\"\\x0a'");
        assert!(render_one("os/sysctl.conf.j2", "{{ v | quote }}", "a").is_err());
        let c = render_one("firmware/x.h.j2", "/* {{ v | comment }} */", "*/\n").unwrap();
        assert_eq!(c, "/* *\\/\\n */");
        // Values a token allows are written as they are; others are quoted.
        assert_eq!(
            render_one("rumqttd/x.toml.j2", "[a.{{ v }}]", "b-1").unwrap(),
            "[a.b-1]"
        );
        assert_eq!(
            render_one("rumqttd/x.toml.j2", "[a.{{ v }}]", "b.c").unwrap(),
            "[a.\"b.c\"]"
        );
    }

    #[test]
    fn undefined_values_are_errors_with_template_and_line() {
        let mut env = environment();
        env.add_template("t.j2", "ok\n{{ missing }}\n").unwrap();
        let err = env
            .get_template("t.j2")
            .unwrap()
            .render(minijinja::context! {})
            .unwrap_err();
        assert_eq!(err.name(), Some("t.j2"));
        assert_eq!(err.line(), Some(2));
    }
}
