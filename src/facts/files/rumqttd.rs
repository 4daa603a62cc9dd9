//! rumqttd.toml (the bundled broker, rumqttd 0.20): the TOML subset it uses
//! (`[a.b]` tables, dotted keys, strings, integers, floats, booleans,
//! arrays and inline tables), read with positions by a small parser of its
//! own, and checked against rumqttd 0.20's `Config` structs. Why its own:
//! audit needs the position of every key as well as every value, which only
//! `toml_edit` gives, and `toml_edit` (with `winnow`, `toml_datetime`,
//! `serde_spanned`) is not in the default build: only the tests and the
//! `broker` feature carry it. This subset is what rumqttd.toml uses, and it
//! lexes on the shared [`crate::formats::cursor`].
//!
//! rumqttd's structs have no `deny_unknown_fields`: a misspelled or
//! outdated key (`max_client_id_len`, `throttle_delay_ms`, ...) is dropped
//! without a word. Its `connection_timeout_ms` is a u16, its `listen` a
//! literal `ip:port`, and `[router] max_connections = 0` refuses every
//! client. Each of those is a [`RumqttdFact`] for MQ-CFG-004.
//!
//! Cost: linear in the file's bytes: keys have at most 32 dotted parts and
//! values nest at most 32 deep, so a path costs a bounded amount to copy;
//! the checks visit each table once per field of its shape, through a tree
//! of the document's paths.

use std::path::Path;
use std::sync::Arc;

use super::Input;
use crate::diag::Diagnostic;
use crate::facts::{AdminFact, Facts, NodeFact, RumqttdFact, RumqttdListenerFact};
use crate::source::{SourceFile, Span};
use crate::spec::model::Engine;

#[derive(Clone, Debug, PartialEq)]
pub enum TomlValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<TomlValue>),
    /// Inline tables are flattened into entries; this marks where one was.
    Table,
}

impl TomlValue {
    fn kind(&self) -> &'static str {
        match self {
            TomlValue::String(_) => "a string",
            TomlValue::Integer(_) => "an integer",
            TomlValue::Float(_) => "a float",
            TomlValue::Bool(_) => "a boolean",
            TomlValue::Array(_) => "an array",
            TomlValue::Table => "a table",
        }
    }
}

/// A position range on one line (1-based, end exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub line: usize,
    pub col: usize,
    pub end_col: usize,
}

/// A `key = value` with its full path (table path + key path).
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: Vec<String>,
    pub key: At,
    pub value: TomlValue,
    pub value_at: At,
}

/// A `[table]` header.
#[derive(Clone, Debug)]
pub struct Table {
    pub path: Vec<String>,
    pub at: At,
}

#[derive(Clone, Debug, Default)]
pub struct Document {
    pub tables: Vec<Table>,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Most nesting of arrays and inline tables accepted.
const MAX_DEPTH: usize = 32;
/// Most dotted parts of one key or table header (paths stay short, so
/// their copies and prefixes cost a bounded amount per key).
const MAX_KEY_PARTS: usize = 32;

/// The shared cursor ([`crate::formats::cursor`]) with the TOML lexing
/// steps rumqttd.toml needs.
struct Cursor {
    inner: crate::formats::cursor::Cursor,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.inner.peek()
    }

    fn col(&self) -> usize {
        self.inner.col()
    }

    fn line(&self) -> usize {
        self.inner.line()
    }

    fn bump(&mut self) -> Option<char> {
        self.inner.bump()
    }

    fn err(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line: self.line(),
            col: self.col(),
            message: message.into(),
        }
    }

    /// Spaces and tabs.
    fn blank(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    /// Blanks, new lines and comments (inside arrays).
    fn space(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => {
                    self.bump();
                }
                Some('#') => self.comment(),
                _ => return,
            }
        }
    }

    fn comment(&mut self) {
        while !matches!(self.peek(), Some('\n') | None) {
            self.bump();
        }
    }

    /// After a value or header: blanks, an optional comment, then a new line or the end.
    fn end_of_line(&mut self) -> Result<(), SyntaxError> {
        self.blank();
        if self.peek() == Some('#') {
            self.comment();
        }
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some(c) => Err(self.err(format!(
                "unexpected `{c}` after the value: expected the end of the line"
            ))),
        }
    }

    fn key_part(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some('"') => self.basic_string(),
            Some('\'') => self.literal_string(),
            Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-' => {
                let mut s = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                {
                    s.push(c);
                    self.bump();
                }
                Ok(s)
            }
            Some(c) => Err(self.err(format!("unexpected `{c}`: expected a key"))),
            None => Err(self.err("unexpected end of file: expected a key")),
        }
    }

    /// `a.b."c d"` with the span of the whole key.
    fn key(&mut self) -> Result<(Vec<String>, At), SyntaxError> {
        let line = self.line();
        let col = self.col();
        let mut parts = vec![self.key_part()?];
        let mut end_col = self.col();
        loop {
            self.blank();
            if self.peek() != Some('.') {
                break;
            }
            if parts.len() >= MAX_KEY_PARTS {
                return Err(self.err(format!(
                    "keys have at most {MAX_KEY_PARTS} dotted parts (rumqttd's deepest setting has 4)"
                )));
            }
            self.bump();
            self.blank();
            parts.push(self.key_part()?);
            end_col = self.col();
        }
        Ok((parts, At { line, col, end_col }))
    }

    fn basic_string(&mut self) -> Result<String, SyntaxError> {
        self.bump();
        if self.peek() == Some('"') && self.inner.peek_at(1) == Some('"') {
            return Err(self.err("multi-line strings are not used in rumqttd.toml"));
        }
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("unterminated string")),
                Some('"') => return Ok(s),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('b') => s.push('\u{8}'),
                    Some('f') => s.push('\u{c}'),
                    Some('"') => s.push('"'),
                    Some('\\') => s.push('\\'),
                    Some(u @ ('u' | 'U')) => {
                        let n = if u == 'u' { 4 } else { 8 };
                        let hex: String = (0..n).filter_map(|_| self.bump()).collect();
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                self.err(format!("`\\{u}{hex}` is not a Unicode escape"))
                            })?;
                        s.push(c);
                    }
                    Some(c) => return Err(self.err(format!("`\\{c}` is not a string escape"))),
                    None => return Err(self.err("unterminated string")),
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, SyntaxError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("unterminated string")),
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }

    /// A value; inline tables add their entries under `path`.
    fn value(
        &mut self,
        path: &[String],
        depth: usize,
        out: &mut Vec<Entry>,
    ) -> Result<(TomlValue, At), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("values nested too deeply"));
        }
        let line = self.line();
        let col = self.col();
        let v = match self.peek() {
            Some('"') => TomlValue::String(self.basic_string()?),
            Some('\'') => TomlValue::String(self.literal_string()?),
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.space();
                    if self.peek() == Some(']') {
                        self.bump();
                        break;
                    }
                    let (v, _) = self.value(path, depth + 1, out)?;
                    items.push(v);
                    self.space();
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(']') => {
                            self.bump();
                            break;
                        }
                        _ => return Err(self.err("expected `,` or `]` in the array")),
                    }
                }
                TomlValue::Array(items)
            }
            Some('{') => {
                self.bump();
                self.blank();
                if self.peek() == Some('}') {
                    self.bump();
                } else {
                    loop {
                        self.blank();
                        let (mut key, key_at) = self.key()?;
                        self.blank();
                        if self.peek() != Some('=') {
                            return Err(self.err("expected `=` after the key"));
                        }
                        self.bump();
                        self.blank();
                        let mut full = path.to_vec();
                        full.append(&mut key);
                        let (v, value_at) = self.value(&full, depth + 1, out)?;
                        out.push(Entry {
                            path: full,
                            key: key_at,
                            value: v,
                            value_at,
                        });
                        self.blank();
                        match self.peek() {
                            Some(',') => {
                                self.bump();
                            }
                            Some('}') => {
                                self.bump();
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `}` in the inline table")),
                        }
                    }
                }
                TomlValue::Table
            }
            Some(_) => {
                let mut word = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || "+-_.:".contains(*c))
                {
                    word.push(c);
                    self.bump();
                }
                scalar(&word).ok_or_else(|| SyntaxError {
                    line,
                    col,
                    message: if word.is_empty() {
                        "expected a value".into()
                    } else {
                        format!("`{word}` is not a TOML value (quote strings)")
                    },
                })?
            }
            None => return Err(self.err("unexpected end of file: expected a value")),
        };
        let end_col = if self.line() == line {
            self.col()
        } else {
            col + 1
        };
        Ok((v, At { line, col, end_col }))
    }
}

fn scalar(word: &str) -> Option<TomlValue> {
    match word {
        "true" => return Some(TomlValue::Bool(true)),
        "false" => return Some(TomlValue::Bool(false)),
        _ => {}
    }
    let clean = word.replace('_', "");
    if let Some(hex) = clean.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(TomlValue::Integer);
    }
    if !clean.is_empty()
        && clean
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        return clean.parse().ok().map(TomlValue::Integer);
    }
    if clean.chars().any(|c| c.is_ascii_digit()) {
        if let Ok(f) = clean.parse::<f64>() {
            return Some(TomlValue::Float(f));
        }
    }
    None
}

/// Parses the TOML subset rumqttd.toml uses; never panics.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut c = Cursor {
        inner: crate::formats::cursor::Cursor::new(text),
    };
    let mut doc = Document::default();
    let mut table: Vec<String> = Vec::new();
    loop {
        c.space();
        match c.peek() {
            None => return Ok(doc),
            Some('[') => {
                let line = c.line();
                let col = c.col();
                c.bump();
                if c.peek() == Some('[') {
                    return Err(c.err("arrays of tables (`[[...]]`) are not used in rumqttd.toml"));
                }
                c.blank();
                let (path, _) = c.key()?;
                c.blank();
                if c.peek() != Some(']') {
                    return Err(c.err("expected `]` to close the table header"));
                }
                c.bump();
                let at = At {
                    line,
                    col,
                    end_col: c.col(),
                };
                c.end_of_line()?;
                table = path.clone();
                doc.tables.push(Table { path, at });
            }
            Some(_) => {
                let (key, key_at) = c.key()?;
                c.blank();
                if c.peek() != Some('=') {
                    return Err(c.err("expected `=` after the key"));
                }
                c.bump();
                c.blank();
                let mut path = table.clone();
                path.extend(key);
                let mut inner = Vec::new();
                let (value, value_at) = c.value(&path, 0, &mut inner)?;
                doc.entries.push(Entry {
                    path,
                    key: key_at,
                    value,
                    value_at,
                });
                doc.entries.extend(inner);
                c.end_of_line()?;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// rumqttd 0.20's Config
// ---------------------------------------------------------------------------

/// What a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    /// An unsigned integer that must fit in 16 bits.
    U16,
    Str,
    Bool,
    /// A literal `ip:port` (std `SocketAddr`, no host names).
    Addr,
    /// `roundrobin`, `random` or `sticky`.
    Strategy,
    Any,
}

/// The shape of rumqttd's config (`Option`al fields and required ones).
enum Shape {
    Struct(&'static [Field]),
    /// A map with free keys (listener names, user names, filters).
    Map(&'static Shape),
    Leaf(Kind),
}

struct Field {
    name: &'static str,
    required: bool,
    shape: Shape,
}

const fn f(name: &'static str, required: bool, shape: Shape) -> Field {
    Field {
        name,
        required,
        shape,
    }
}

const CONNECTIONS: &[Field] = &[
    f("connection_timeout_ms", true, Shape::Leaf(Kind::U16)),
    f("max_payload_size", true, Shape::Leaf(Kind::Int)),
    f("max_inflight_count", true, Shape::Leaf(Kind::Int)),
    f("auth", false, Shape::Map(&Shape::Leaf(Kind::Str))),
    f("dynamic_filters", false, Shape::Leaf(Kind::Bool)),
];

const TLS: &[Field] = &[
    f("capath", false, Shape::Leaf(Kind::Str)),
    f("certpath", false, Shape::Leaf(Kind::Str)),
    f("keypath", false, Shape::Leaf(Kind::Str)),
    f("pkcs12path", false, Shape::Leaf(Kind::Str)),
    f("pkcs12pass", false, Shape::Leaf(Kind::Str)),
];

const SERVER: &[Field] = &[
    f("name", true, Shape::Leaf(Kind::Str)),
    f("listen", true, Shape::Leaf(Kind::Addr)),
    f("tls", false, Shape::Struct(TLS)),
    f("next_connection_delay_ms", true, Shape::Leaf(Kind::Int)),
    f("connections", true, Shape::Struct(CONNECTIONS)),
];

const SEGMENT: &[Field] = &[
    f("max_segment_size", true, Shape::Leaf(Kind::Int)),
    f("max_segment_count", true, Shape::Leaf(Kind::Int)),
];

const ROUTER: &[Field] = &[
    f("max_connections", true, Shape::Leaf(Kind::Int)),
    f("max_outgoing_packet_count", true, Shape::Leaf(Kind::Int)),
    f("max_segment_size", true, Shape::Leaf(Kind::Int)),
    f("max_segment_count", true, Shape::Leaf(Kind::Int)),
    f("custom_segment", false, Shape::Map(&Shape::Struct(SEGMENT))),
    f("initialized_filters", false, Shape::Leaf(Kind::Any)),
    f(
        "shared_subscriptions_strategy",
        false,
        Shape::Leaf(Kind::Strategy),
    ),
];

const CLIENT_AUTH: &[Field] = &[
    f("certs", true, Shape::Leaf(Kind::Str)),
    f("key", true, Shape::Leaf(Kind::Str)),
];
const TRANSPORT_TLS: &[Field] = &[
    f("ca", true, Shape::Leaf(Kind::Str)),
    f("client_auth", false, Shape::Struct(CLIENT_AUTH)),
];
const TRANSPORT: &[Field] = &[f("tls", false, Shape::Struct(TRANSPORT_TLS))];

const BRIDGE: &[Field] = &[
    f("name", true, Shape::Leaf(Kind::Str)),
    f("addr", true, Shape::Leaf(Kind::Str)),
    f("qos", true, Shape::Leaf(Kind::Int)),
    f("sub_path", true, Shape::Leaf(Kind::Str)),
    f("reconnection_delay", true, Shape::Leaf(Kind::Int)),
    f("ping_delay", true, Shape::Leaf(Kind::Int)),
    f("connections", true, Shape::Struct(CONNECTIONS)),
    // `transport = "tcp"` or `[bridge.transport.tls]`.
    f("transport", false, Shape::Struct(TRANSPORT)),
];

const CLUSTER: &[Field] = &[
    f("node_id", true, Shape::Leaf(Kind::Int)),
    f("listen", true, Shape::Leaf(Kind::Str)),
    f("seniors", true, Shape::Leaf(Kind::Any)),
];
const CONSOLE: &[Field] = &[f("listen", true, Shape::Leaf(Kind::Str))];
const PROMETHEUS: &[Field] = &[
    f("port", false, Shape::Leaf(Kind::Int)),
    f("listen", false, Shape::Leaf(Kind::Addr)),
    f("interval", true, Shape::Leaf(Kind::Int)),
];
const METRIC: &[Field] = &[f("push_interval", true, Shape::Leaf(Kind::Int))];
const METRICS: &[Field] = &[
    f("alerts", false, Shape::Struct(METRIC)),
    f("meters", false, Shape::Struct(METRIC)),
];

const CONFIG: &[Field] = &[
    f("id", true, Shape::Leaf(Kind::Int)),
    f("router", true, Shape::Struct(ROUTER)),
    f("v4", false, Shape::Map(&Shape::Struct(SERVER))),
    f("v5", false, Shape::Map(&Shape::Struct(SERVER))),
    f("ws", false, Shape::Map(&Shape::Struct(SERVER))),
    f("cluster", false, Shape::Struct(CLUSTER)),
    f("console", false, Shape::Struct(CONSOLE)),
    f("bridge", false, Shape::Struct(BRIDGE)),
    f("prometheus", false, Shape::Struct(PROMETHEUS)),
    f("metrics", false, Shape::Struct(METRICS)),
];

/// Where a path lands in the shape.
enum Lookup {
    Leaf(Kind),
    /// A table (struct or map), with its path so far.
    Table,
    /// `path[..i]` exists, `path[i]` is not a key of the struct there.
    Unknown(usize, &'static [Field]),
    /// A value where a table is expected, or a table key under a leaf.
    Misplaced,
}

fn lookup(path: &[String]) -> Lookup {
    let mut shape: &Shape = &Shape::Struct(CONFIG);
    for (i, seg) in path.iter().enumerate() {
        shape = match shape {
            Shape::Struct(fields) => match fields.iter().find(|f| f.name == seg) {
                Some(f) => &f.shape,
                None => return Lookup::Unknown(i, fields),
            },
            Shape::Map(inner) => inner,
            Shape::Leaf(_) => return Lookup::Misplaced,
        };
    }
    match shape {
        Shape::Leaf(k) => Lookup::Leaf(*k),
        _ => Lookup::Table,
    }
}

/// A problem for MQ-CFG-004: message, help, and where (line, col, end_col).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
    pub at: At,
}

fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// Checks a parsed rumqttd.toml against rumqttd 0.20's `Config`.
pub fn check(doc: &Document) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut reported = Reported::default();
    for t in &doc.tables {
        table_problem(t, &mut reported, &mut out);
    }
    for e in &doc.entries {
        if !reported.covers(&e.path) {
            entry_problem(e, &mut reported, &mut out);
        }
    }
    // Required keys: rumqttd refuses to load a config without them.
    required(doc, &PathTree::of(doc), 0, &[], CONFIG, &mut out);
    // `[prometheus] port` (deprecated) makes rumqttd ignore `listen`.
    if let (Some(port), Some(_)) = (
        find(doc, &["prometheus", "port"]),
        find(doc, &["prometheus", "listen"]),
    ) {
        out.push(Problem {
            message: "`[prometheus] port` is set, so rumqttd ignores `listen` and serves metrics on 127.0.0.1".into(),
            help: "remove the deprecated `port` and keep `listen`".into(),
            at: port.key,
        });
    }
    out.sort_by_key(|p| (p.at.line, p.at.col));
    out
}

/// Unknown keys reported, by path: nothing under them is reported again.
#[derive(Default)]
struct Reported<'a> {
    paths: std::collections::HashSet<&'a [String]>,
    longest: usize,
}

impl<'a> Reported<'a> {
    /// Records `path[..=i]`; false if it was reported already.
    fn insert(&mut self, path: &'a [String], i: usize) -> bool {
        self.longest = self.longest.max(i + 1);
        self.paths.insert(&path[..=i])
    }

    /// Whether `path` is under a reported path.
    fn covers(&self, path: &[String]) -> bool {
        (1..=path.len().min(self.longest)).any(|n| self.paths.contains(&path[..n]))
    }
}

/// A key rumqttd does not know: `path[i]`, in the table `path[..i]`.
fn unknown_key(path: &[String], i: usize, known: &[Field], at: At) -> Problem {
    let names: Vec<&str> = known.iter().map(|f| f.name).collect();
    let help = match crate::suggest::did_you_mean(&path[i], names.iter().copied()) {
        Some(s) => format!(
            "did you mean `{s}`? rumqttd 0.20 reads only: {}",
            names.join(", ")
        ),
        None => format!("remove it; rumqttd 0.20 reads only: {}", names.join(", ")),
    };
    let at_table = if i == 0 {
        String::new()
    } else {
        format!(" in `[{}]`", dotted(&path[..i]))
    };
    Problem {
        message: format!(
            "`{}`{at_table} is not a rumqttd 0.20 setting: rumqttd ignores it without a word",
            path[i]
        ),
        help,
        at,
    }
}

/// A `[table]` header rumqttd does not know, or where it expects a value.
fn table_problem<'a>(t: &'a Table, reported: &mut Reported<'a>, out: &mut Vec<Problem>) {
    match lookup(&t.path) {
        Lookup::Unknown(i, known) => {
            // Longest is raised only for a path reported for the first time.
            if !reported.paths.contains(&t.path[..=i]) {
                reported.insert(&t.path, i);
                out.push(unknown_key(&t.path, i, known, t.at));
            }
        }
        Lookup::Leaf(_) | Lookup::Misplaced => out.push(Problem {
            message: format!(
                "`[{}]` is a table where rumqttd expects a value",
                dotted(&t.path)
            ),
            help: format!(
                "write `{} = <value>` in its parent table",
                t.path.last().map(String::as_str).unwrap_or("")
            ),
            at: t.at,
        }),
        Lookup::Table => {}
    }
}

/// A `key = value` rumqttd does not know, misplaces, or cannot read.
fn entry_problem<'a>(e: &'a Entry, reported: &mut Reported<'a>, out: &mut Vec<Problem>) {
    // `transport = "tcp"` is the plain variant of the bridge's transport enum.
    if e.path.len() == 2
        && e.path[0] == "bridge"
        && e.path[1] == "transport"
        && e.value == TomlValue::String("tcp".into())
    {
        return;
    }
    match lookup(&e.path) {
        Lookup::Unknown(i, known) => {
            reported.insert(&e.path, i);
            out.push(unknown_key(&e.path, i, known, e.key));
        }
        Lookup::Misplaced => out.push(Problem {
            message: format!("`{}` sits under a value, not a table", dotted(&e.path)),
            help: "move the key to the table it belongs to".into(),
            at: e.key,
        }),
        Lookup::Table => {
            if e.value != TomlValue::Table {
                out.push(Problem {
                    message: format!(
                        "`{}` is {}, but rumqttd expects a table there",
                        dotted(&e.path),
                        e.value.kind()
                    ),
                    help: format!("write it as `[{}]` with its keys", dotted(&e.path)),
                    at: e.value_at,
                });
            }
        }
        Lookup::Leaf(kind) => {
            if let Some(p) = value_problem(&e.path, kind, &e.value) {
                out.push(Problem {
                    message: p.0,
                    help: p.1,
                    at: e.value_at,
                });
            }
        }
    }
}

fn find<'a>(doc: &'a Document, path: &[&str]) -> Option<&'a Entry> {
    doc.entries
        .iter()
        .find(|e| e.path.len() == path.len() && e.path.iter().zip(path).all(|(a, b)| a == b))
}

fn value_problem(path: &[String], kind: Kind, v: &TomlValue) -> Option<(String, String)> {
    let key = dotted(path);
    let last = path.last().map(String::as_str).unwrap_or("");
    match (kind, v) {
        (Kind::U16, TomlValue::Integer(n)) if !(0..=65535).contains(n) => Some((
            format!("`{last} = {n}` does not fit rumqttd's u16 (at most 65535 ms): rumqttd refuses to load the config"),
            "use at most 65535 (about 65 s), e.g. 60000".into(),
        )),
        (Kind::Int | Kind::U16, TomlValue::Integer(n)) if *n < 0 => Some((format!("`{last} = {n}` is negative; rumqttd reads it as an unsigned integer"), "use a positive integer".into())),
        (Kind::Int | Kind::U16, TomlValue::Integer(0)) if key == "router.max_connections" => {
            Some(("`max_connections = 0`: rumqttd's router refuses every connection".into(), "set the number of clients the node must carry".into()))
        }
        (Kind::Int | Kind::U16, TomlValue::Integer(_)) => None,
        (Kind::Int | Kind::U16, other) => Some((format!("`{key}` is {}, but rumqttd expects an integer: it refuses to load the config", other.kind()), "write a bare integer, without quotes".into())),
        (Kind::Bool, TomlValue::Bool(_)) => None,
        (Kind::Bool, other) => Some((format!("`{key}` is {}, but rumqttd expects true or false", other.kind()), "write `true` or `false`, without quotes".into())),
        (Kind::Str, TomlValue::String(_)) => None,
        (Kind::Str, other) => Some((format!("`{key}` is {}, but rumqttd expects a string", other.kind()), "quote the value".into())),
        (Kind::Addr, TomlValue::String(s)) => match s.parse::<std::net::SocketAddr>() {
            Ok(_) => None,
            Err(_) => Some((
                format!("`{last} = \"{s}\"` is not an `ip:port` address: rumqttd reads a literal socket address (no host names) and refuses to load the config"),
                "write an IP address and port, e.g. \"0.0.0.0:1883\" or \"[::]:1883\"".into(),
            )),
        },
        (Kind::Addr, other) => Some((format!("`{key}` is {}, but rumqttd expects an \"ip:port\" string", other.kind()), "write it as \"0.0.0.0:1883\"".into())),
        (Kind::Strategy, TomlValue::String(s)) if ["roundrobin", "random", "sticky"].contains(&s.as_str()) => None,
        (Kind::Strategy, _) => Some((format!("`{key}` must be \"roundrobin\", \"random\" or \"sticky\""), "use one of the three strategies rumqttd knows".into())),
        (Kind::Any, _) => None,
    }
}

/// Every path of a document as a tree: which tables and keys exist under
/// a prefix (children in order of first appearance, tables before keys),
/// where its table is declared and its first key.
#[derive(Default)]
struct PathTree {
    nodes: Vec<PathNode>,
}

#[derive(Default)]
struct PathNode {
    children: Vec<(String, usize)>,
    by_name: std::collections::HashMap<String, usize>,
    table_at: Option<At>,
    first_key: Option<At>,
}

impl PathTree {
    fn of(doc: &Document) -> PathTree {
        let mut tree = PathTree {
            nodes: vec![PathNode::default()],
        };
        for t in &doc.tables {
            let node = tree.insert(&t.path, None);
            tree.nodes[node].table_at.get_or_insert(t.at);
        }
        for e in &doc.entries {
            tree.insert(&e.path, Some(e.key));
        }
        tree
    }

    /// The node of `path`, created as needed; `key` marks every node on the
    /// way as holding a key at that position (the first one wins).
    fn insert(&mut self, path: &[String], key: Option<At>) -> usize {
        let mut at = 0;
        for seg in path {
            if let Some(k) = key {
                self.nodes[at].first_key.get_or_insert(k);
            }
            at = match self.nodes[at].by_name.get(seg) {
                Some(&child) => child,
                None => {
                    self.nodes.push(PathNode::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[at].by_name.insert(seg.clone(), child);
                    self.nodes[at].children.push((seg.clone(), child));
                    child
                }
            };
        }
        if let Some(k) = key {
            self.nodes[at].first_key.get_or_insert(k);
        }
        at
    }

    fn child(&self, node: usize, name: &str) -> Option<usize> {
        self.nodes[node].by_name.get(name).copied()
    }
}

/// Reports the required keys missing from every table that is present.
/// Cost: one visit of each present table per field of its shape.
fn required(
    doc: &Document,
    tree: &PathTree,
    node: usize,
    prefix: &[String],
    fields: &'static [Field],
    out: &mut Vec<Problem>,
) {
    let here = &tree.nodes[node];
    let at = here.table_at.or(here.first_key).unwrap_or(At {
        line: 1,
        col: 1,
        end_col: 2,
    });
    for field in fields {
        let Some(child) = tree.child(node, field.name) else {
            if field.required
                && !(prefix.is_empty()
                    && field.name == "id"
                    && doc.entries.is_empty()
                    && doc.tables.is_empty())
            {
                let table = if prefix.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`[{}]`", dotted(prefix))
                };
                out.push(Problem {
                    message: format!("{table} lacks `{}`, which rumqttd 0.20 requires: it refuses to load the config", field.name),
                    help: format!("add `{}`", field.name),
                    at,
                });
            }
            continue;
        };
        let mut path = prefix.to_vec();
        path.push(field.name.to_string());
        match &field.shape {
            Shape::Struct(inner) => required(doc, tree, child, &path, inner, out),
            Shape::Map(inner) => {
                if let Shape::Struct(inner) = inner {
                    for (key, grandchild) in &tree.nodes[child].children {
                        let mut p = path.clone();
                        p.push(key.clone());
                        required(doc, tree, *grandchild, &p, inner, out);
                    }
                }
            }
            Shape::Leaf(_) => {}
        }
    }
    if prefix.is_empty()
        && !["v4", "v5", "ws"]
            .iter()
            .any(|k| tree.child(node, k).is_some())
        && !(doc.entries.is_empty() && doc.tables.is_empty())
    {
        out.push(Problem {
            message: "no `[v4.<name>]`, `[v5.<name>]` or `[ws.<name>]` server: rumqttd refuses to start without one".into(),
            help: "add a server, e.g. `[v4.1]` with name, listen, next_connection_delay_ms and `[v4.1.connections]`".into(),
            at: At { line: 1, col: 1, end_col: 2 },
        });
    }
}

pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path);
    name == "rumqttd.toml"
        || (name.ends_with(".toml")
            && text.lines().any(|l| {
                l.trim() == "[router]"
                    || l.trim_start().starts_with("[v4.")
                    || l.trim_start().starts_with("[v5.")
            }))
}

fn span(file: &Arc<SourceFile>, at: At) -> Span {
    Span {
        file: file.clone(),
        line: at.line,
        col: at.col,
        end_line: at.line,
        end_col: at.end_col.max(at.col + 1),
    }
}

/// The problems of one rumqttd.toml, positioned in that file.
pub fn problems(file: &Arc<SourceFile>) -> Result<Vec<RumqttdFact>, Diagnostic> {
    let doc = parse(&file.text)
        .map_err(|e| super::parse_error(file, e.line, e.col, "rumqttd.toml", e.message))?;
    Ok(check(&doc)
        .into_iter()
        .map(|p| RumqttdFact {
            problem: p.message,
            span: span(file, p.at),
            help: p.help,
        })
        .collect())
}

/// The servers (`[v4.*]`, `[v5.*]`, `[ws.*]`): their address, TLS and
/// authentication (rumqttd 0.20: a `connections.auth` table of users and
/// passwords, else any client; `tls.capath` makes client certificates
/// required).
fn listeners(file: &Arc<SourceFile>, doc: &Document, facts: &mut Facts) {
    // Every path prefix of three and four parts (`v4.1.tls`,
    // `v4.1.connections.auth`) that an entry or a table header holds, so
    // that what a server has costs a lookup.
    let mut present = std::collections::HashSet::new();
    for path in doc
        .entries
        .iter()
        .map(|e| &e.path)
        .chain(doc.tables.iter().map(|t| &t.path))
    {
        for n in 3..=path.len().min(4) {
            present.insert(path[..n].join("\0"));
        }
    }
    for e in &doc.entries {
        let [kind, name, key] = e.path.as_slice() else {
            continue;
        };
        if !matches!(kind.as_str(), "v4" | "v5" | "ws") || key != "listen" {
            continue;
        }
        let TomlValue::String(listen) = &e.value else {
            continue;
        };
        let has = |rest: &[&str]| {
            let mut parts = vec![kind.as_str(), name.as_str()];
            parts.extend(rest);
            present.contains(&parts.join("\0"))
        };
        facts.tls_auth.rumqttd_listeners.push(RumqttdListenerFact {
            name: format!("{kind}.{name}"),
            listen: listen.clone(),
            bind: super::haproxy::bind_host(listen),
            tls: has(&["tls"]),
            anonymous: !has(&["connections", "auth"]),
            client_certs: has(&["tls", "capath"]),
            span: span(file, e.value_at),
        });
    }
}

/// The console (`[console] listen`): an HTTP API with no authentication
/// that shows every connection and can change the log filter.
fn console(file: &Arc<SourceFile>, doc: &Document, facts: &mut Facts) {
    let Some(e) = find(doc, &["console", "listen"]) else {
        return;
    };
    let TomlValue::String(listen) = &e.value else {
        return;
    };
    facts.admin.push(AdminFact {
        what: format!("the rumqttd console (`listen = \"{listen}\"`)"),
        bind: super::haproxy::bind_host(listen),
        credentials: "none".into(),
        span: span(file, e.value_at),
    });
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let found = problems(&input.file)?;
    if let Ok(doc) = parse(&input.file.text) {
        listeners(&input.file, &doc, facts);
        console(&input.file, &doc, facts);
    }
    facts.engine.get_or_insert(Engine::Rumqttd);
    facts.nodes.push(NodeFact {
        name: input.path.display().to_string(),
        span: Span::point(&input.file, 1, 1),
    });
    facts.rumqttd.extend(found);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        check(&parse(text).unwrap())
            .into_iter()
            .map(|p| format!("{}:{} {}", p.at.line, p.at.col, p.message))
            .collect()
    }

    #[test]
    fn parses_the_subset() {
        let d = parse("id = 0 # c\n[v4.\"a b\"]\nname = 'x'\nlisten = \"0.0.0.0:1\"\nauth = { u1 = \"p\", u2 = \"q\" }\nf = [\"a\", \n  \"b\", # c\n]\nx.y = 1_000\nz = -2\nw = 1.5\nb = true\n").unwrap();
        assert_eq!(d.tables[0].path, ["v4", "a b"]);
        let e = |p: &str| d.entries.iter().find(|e| dotted(&e.path) == p).unwrap();
        assert_eq!(e("v4.a b.auth.u2").value, TomlValue::String("q".into()));
        assert_eq!(e("v4.a b.x.y").value, TomlValue::Integer(1000));
        assert_eq!(e("v4.a b.z").value, TomlValue::Integer(-2));
        assert_eq!(e("v4.a b.w").value, TomlValue::Float(1.5));
        assert_eq!(
            e("v4.a b.f").value,
            TomlValue::Array(vec![
                TomlValue::String("a".into()),
                TomlValue::String("b".into())
            ])
        );
        assert_eq!(
            e("v4.a b.name").key,
            At {
                line: 3,
                col: 1,
                end_col: 5
            }
        );
        assert_eq!(
            e("v4.a b.listen").value_at,
            At {
                line: 4,
                col: 10,
                end_col: 21
            }
        );
    }

    #[test]
    fn keys_nest_a_bounded_number_of_parts() {
        let ok = vec!["a"; MAX_KEY_PARTS].join(".");
        assert!(parse(&format!("[{ok}]\nk = 1\n")).is_ok());
        let deep = vec!["a"; 100_000].join(".");
        let e = parse(&format!("id = 0\n[{deep}]\n")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("at most 32 dotted parts"),
            "{}",
            e.message
        );
    }

    #[test]
    fn servers_and_console() {
        let t = "id = 0\n[v4.1]\nlisten = \"0.0.0.0:1883\"\n[v4.2]\nlisten = \"0.0.0.0:8883\"\n[v4.2.tls]\ncapath = \"/ca.pem\"\ncertpath = \"/c.pem\"\nkeypath = \"/k.pem\"\n[v5.1]\nlisten = \"10.0.0.1:1884\"\nconnections.auth = { u = \"p\" }\n[console]\nlisten = \"127.0.0.1:3030\"\n";
        let (f, _) = crate::facts::files::extract_text(extract, "rumqttd.toml", t);
        let l: Vec<(String, Option<String>, bool, bool, bool)> = f
            .tls_auth
            .rumqttd_listeners
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.bind.clone(),
                    r.tls,
                    r.anonymous,
                    r.client_certs,
                )
            })
            .collect();
        assert_eq!(
            l,
            [
                ("v4.1".into(), None, false, true, false),
                ("v4.2".into(), None, true, true, true),
                ("v5.1".into(), Some("10.0.0.1".into()), false, false, false),
            ]
        );
        assert_eq!(f.admin.len(), 1);
        assert_eq!(f.admin[0].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(f.admin[0].span.line, 14);
    }

    #[test]
    fn garbage_is_a_positioned_error() {
        let e = parse("id = 0\n[router\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 8));
        assert!(parse("a = \"x").is_err());
        assert!(parse("a = nope")
            .unwrap_err()
            .message
            .contains("not a TOML value"));
        assert!(parse("a = 1 2").is_err());
        assert!(parse("[[x]]").is_err());
        assert!(parse("a = \"\"\"x\"\"\"").is_err());
        let deep = format!("a = {}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep).is_err());
        for t in [
            "=",
            "[",
            "a.",
            "a = {",
            "a = [1,",
            "a = \"\\u12\"",
            "\u{0}",
            "a = {b = }",
            "'",
            "a = 0x",
        ] {
            let _ = parse(t);
        }
    }

    #[test]
    fn the_generated_config_is_clean() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/golden/dev-rumqttd/rumqttd/lab1/rumqttd.toml"
        ))
        .unwrap();
        assert_eq!(messages(&text), Vec::<String>::new());
    }

    #[test]
    fn finds_what_rumqttd_ignores_or_refuses() {
        let base = "id = 0\n[router]\nmax_connections = 10\nmax_outgoing_packet_count = 200\nmax_segment_size = 1000\nmax_segment_count = 10\n[v4.1]\nname = \"v4-1\"\nlisten = \"0.0.0.0:1883\"\nnext_connection_delay_ms = 1\n[v4.1.connections]\nconnection_timeout_ms = 60000\nmax_payload_size = 20480\nmax_inflight_count = 100\n";
        assert_eq!(messages(base), Vec::<String>::new());
        let m = messages(&base.replace(
            "connection_timeout_ms = 60000",
            "connection_timeout_ms = 120000\nthrottle_delay_ms = 0",
        ));
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("12:25 `connection_timeout_ms = 120000` does not fit"));
        assert!(m[1].starts_with(
            "13:1 `throttle_delay_ms` in `[v4.1.connections]` is not a rumqttd 0.20 setting"
        ));
        let m = messages(&base.replace("max_connections = 10", "max_connections = 0\nid = 1"));
        assert!(m[0].contains("refuses every connection"), "{m:?}");
        assert!(m[1].contains("`id` in `[router]`"), "{m:?}");
        let m = messages(&base.replace("0.0.0.0:1883", "localhost:1883"));
        assert!(m[0].contains("not an `ip:port`"));
        let m = messages(&base.replace("max_inflight_count = 100\n", ""));
        assert!(m[0].contains("lacks `max_inflight_count`"), "{m:?}");
        let m = messages(&format!("{base}[consol]\nlisten = \"0.0.0.0:3030\"\n"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("`consol` is not"));
        assert!(
            check(&parse(&format!("{base}[bridge]\ntransport = \"tcp\"\n")).unwrap())
                .iter()
                .all(|p| !p.message.contains("transport"))
        );
    }

    #[test]
    fn detection() {
        assert!(detect(Path::new("rumqttd.toml"), ""));
        assert!(detect(Path::new("broker.toml"), "id = 0\n[router]\n"));
        assert!(!detect(Path::new("Cargo.toml"), "[package]\n"));
    }
}
