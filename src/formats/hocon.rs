//! HOCON (EMQX 5 `emqx.conf`) parser with positions.
//!
//! This is a small hand-written parser for the subset of HOCON that EMQX
//! configuration files use. It exists to check rendered files structurally
//! and to audit hand-written ones, so it never panics: every problem is a
//! [`ParseError`] carrying a 1-based line:column [`Pos`] and a message that
//! names what was expected.
//!
//! Why hand-written: no maintained Rust HOCON crate keeps positions or
//! reads EMQX's dialect (triple-quoted strings, `${VAR}` substitutions,
//! unquoted `10000/s`); the lexer steps on the shared [`super::cursor`].
//!
//! Supported:
//! - `#` and `//` comments;
//! - `key = value`, `key : value`, `key { ... }` and dotted keys
//!   `a.b.c = v` (a quoted segment such as `"a.b"` stays one segment);
//! - an optional pair of braces around the whole file;
//! - fields and array elements separated by commas or new lines;
//! - quoted strings with JSON escapes, triple-quoted strings `"""..."""`,
//!   unquoted strings (`verify_peer`, `1h`, `10000/s`, ...) running to the
//!   end of the line, a comma, `}`, `]` or a comment, and value
//!   concatenation on one line (`${HOME}/data`, `foo bar`);
//! - `true`, `false`, `null` and numbers (kept as written);
//! - substitutions `${VAR}` / `${?VAR}`, kept verbatim as strings.
//!
//! `include "file"` (and `include required(...)`, `file(...)`) is read and
//! skipped: the included file is parsed on its own when it is audited.
//!
//! Not supported (reported as errors): `+=`, and concatenating
//! arrays or objects with other values. Nesting deeper than
//! [`MAX_DEPTH`] levels is rejected so hostile input cannot overflow the
//! stack.
//!
//! [`flatten`] turns the parsed tree into `(dotted.path, key position,
//! value)` leaves with HOCON merge semantics.
//!
//! Cost: linear in the text's bytes to parse (nesting is bounded); `flatten`
//! is linear in the number of leaves times their depth.

use std::collections::HashMap;
use std::fmt;

/// Maximum nesting (objects, arrays and dotted key segments) accepted.
pub const MAX_DEPTH: usize = 64;

use super::cursor::Cursor;
pub use super::cursor::Pos;

/// A parsed HOCON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Fields in source order; the same key may appear several times (see
    /// [`flatten`] for how they merge).
    Object(Vec<Field>),
    Array(Vec<Node>),
    /// Quoted, triple-quoted or unquoted string, a substitution kept
    /// verbatim (`${VAR}`), or a concatenation of those.
    String(String),
    /// A numeric literal exactly as written, e.g. `"1883"`, `"0.5"`.
    Number(String),
    Bool(bool),
    Null,
}

/// A value with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// One `key = value` (or `key { ... }`) entry of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The key path split on unquoted dots: `a.b.c` is `["a", "b", "c"]`.
    pub key: Vec<String>,
    /// Position of the first character of the key.
    pub key_pos: Pos,
    pub value: Node,
}

/// A syntax error with the position it refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole HOCON file. The result is always an object node; braces
/// around the whole file are optional.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut p = Parser::new(text);
    if p.cur.peek() == Some('\u{feff}') {
        p.cur.bump();
    }
    p.skip_blank();
    if p.cur.peek() == Some('{') {
        let node = p.parse_braced_object(0)?;
        p.skip_blank();
        if let Some(c) = p.cur.peek() {
            return Err(p.error_here(format!(
                "unexpected {} after the closing '}}' of the root object: expected end of input",
                describe(Some(c))
            )));
        }
        Ok(node)
    } else {
        let fields = p.parse_fields(None, 0)?;
        Ok(Node {
            value: Value::Object(fields),
            pos: Pos { line: 1, col: 1 },
        })
    }
}

/// Every leaf as `(dotted path, position of its key, value node)`.
///
/// Objects are merged in order the HOCON way: a later `a { y = 2 }` merges
/// into an earlier `a { x = 1 }`, while a later non-object value for a path
/// replaces whatever was there (and a later object replaces an earlier
/// non-object). Arrays are leaves: their elements are not descended into.
/// An object that ends up empty (`a {}`) is reported as a leaf holding an
/// empty object so the key is not lost. Leaves come out in the order their
/// paths first appeared; path segments are joined with `.`.
pub fn flatten(root: &Node) -> Vec<(String, Pos, Node)> {
    let mut out = Vec::new();
    match &root.value {
        Value::Object(fields) => {
            let mut top = Children::default();
            top.merge_fields(fields);
            emit_children(&top, "", &mut out);
        }
        _ => out.push((String::new(), root.pos.clone(), root.clone())),
    }
    out
}

// ---------------------------------------------------------------------------
// Flattening / merging
// ---------------------------------------------------------------------------

/// One merged entry: either a leaf value or an object of merged children.
enum Merged {
    Leaf {
        key_pos: Pos,
        node: Node,
    },
    Object {
        key_pos: Pos,
        pos: Pos,
        children: Children,
    },
}

/// Ordered children of a merged object, with an index for fast lookup.
#[derive(Default)]
struct Children {
    entries: Vec<(String, Merged)>,
    index: HashMap<String, usize>,
}

impl Children {
    fn merge_fields(&mut self, fields: &[Field]) {
        for field in fields {
            self.insert(&field.key, &field.key_pos, &field.value);
        }
    }

    /// Returns the slot for `key`, creating it with `make` if absent.
    fn slot(&mut self, key: &str, make: impl FnOnce() -> Merged) -> &mut Merged {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                self.entries.push((key.to_string(), make()));
                self.index.insert(key.to_string(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    fn insert(&mut self, path: &[String], key_pos: &Pos, value: &Node) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let new_object = |pos: &Pos| Merged::Object {
            key_pos: key_pos.clone(),
            pos: pos.clone(),
            children: Children::default(),
        };
        if rest.is_empty() {
            match &value.value {
                Value::Object(fields) => {
                    let slot = self.slot(first, || new_object(&value.pos));
                    if !matches!(slot, Merged::Object { .. }) {
                        *slot = new_object(&value.pos);
                    }
                    if let Merged::Object { children, .. } = slot {
                        children.merge_fields(fields);
                    }
                }
                _ => {
                    let leaf = Merged::Leaf {
                        key_pos: key_pos.clone(),
                        node: value.clone(),
                    };
                    *self.slot(first, || new_object(key_pos)) = leaf;
                }
            }
        } else {
            let slot = self.slot(first, || new_object(key_pos));
            if !matches!(slot, Merged::Object { .. }) {
                *slot = new_object(key_pos);
            }
            if let Merged::Object { children, .. } = slot {
                children.insert(rest, key_pos, value);
            }
        }
    }
}

fn emit_children(children: &Children, prefix: &str, out: &mut Vec<(String, Pos, Node)>) {
    for (key, entry) in &children.entries {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match entry {
            Merged::Leaf { key_pos, node } => out.push((path, key_pos.clone(), node.clone())),
            Merged::Object {
                key_pos,
                pos,
                children,
            } => {
                if children.entries.is_empty() {
                    let node = Node {
                        value: Value::Object(Vec::new()),
                        pos: pos.clone(),
                    };
                    out.push((path, key_pos.clone(), node));
                } else {
                    emit_children(children, &path, out);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Character cursor
// ---------------------------------------------------------------------------

/// Human-readable name of a character (or end of input) for messages.
fn describe(c: Option<char>) -> String {
    match c {
        None => "end of input".to_string(),
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
        Some(c) => format!("'{c}'"),
    }
}

/// Characters allowed in an unquoted key segment.
fn is_key_char(c: char) -> bool {
    !c.is_whitespace() && !"$\"{}[]:=,+#`^?!@*&\\.'".contains(c)
}

/// The unquoted text is a numeric literal: `-?digits(.digits)?([eE][+-]?digits)?`.
fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// What kind of piece of a (possibly concatenated) scalar value was read.
#[derive(PartialEq)]
enum PieceKind {
    Unquoted,
    Quoted,
    Substitution,
}

/// Recursive-descent parser working directly on the character cursor.
struct Parser {
    cur: Cursor,
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser {
            cur: Cursor::new(text),
        }
    }

    fn error_at(&self, pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError {
            pos,
            message: message.into(),
        }
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.cur.pos(), message)
    }

    fn at_comment(&self) -> bool {
        self.cur.peek() == Some('#') || self.cur.starts_with("//")
    }

    /// Skips spaces, tabs and a trailing comment, stopping at a new line.
    fn skip_inline(&mut self) {
        loop {
            match self.cur.peek() {
                Some('\n') | None => return,
                Some(c) if c.is_whitespace() || c == '\u{feff}' => {
                    self.cur.bump();
                }
                _ if self.at_comment() => {
                    while !matches!(self.cur.peek(), Some('\n') | None) {
                        self.cur.bump();
                    }
                }
                _ => return,
            }
        }
    }

    /// Skips whitespace, new lines and comments.
    fn skip_blank(&mut self) {
        loop {
            self.skip_inline();
            if self.cur.peek() == Some('\n') {
                self.cur.bump();
            } else {
                return;
            }
        }
    }

    /// At the end of a value: end of line/input, a separator, a closing
    /// bracket or a comment.
    fn at_value_end(&self) -> bool {
        matches!(self.cur.peek(), None | Some('\n' | ',' | '}' | ']')) || self.at_comment()
    }

    fn check_depth(&self, depth: usize, pos: &Pos) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(self.error_at(
                pos.clone(),
                format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
            ))
        } else {
            Ok(())
        }
    }

    /// `{ fields }` starting at the opening brace.
    fn parse_braced_object(&mut self, depth: usize) -> Result<Node, ParseError> {
        let pos = self.cur.pos();
        self.check_depth(depth, &pos)?;
        self.cur.bump(); // '{'
        let fields = self.parse_fields(Some(&pos), depth)?;
        Ok(Node {
            value: Value::Object(fields),
            pos,
        })
    }

    /// The fields of an object up to its closing `}` (when `open` is the
    /// position of the opening brace) or up to the end of input (root).
    fn parse_fields(&mut self, open: Option<&Pos>, depth: usize) -> Result<Vec<Field>, ParseError> {
        let mut fields = Vec::new();
        loop {
            self.skip_blank();
            match self.cur.peek() {
                None => {
                    return match open {
                        Some(open) => Err(self.error_at(
                            open.clone(),
                            "unterminated object: this '{' is never closed (expected '}' before end of input)",
                        )),
                        None => Ok(fields),
                    };
                }
                Some('}') => {
                    if open.is_some() {
                        self.cur.bump();
                        return Ok(fields);
                    }
                    return Err(self.error_here("unexpected '}': no object is open here"));
                }
                Some(c @ (',' | ']' | '=' | ':' | '[')) => {
                    let expected = if open.is_some() {
                        "a key or '}'"
                    } else {
                        "a key"
                    };
                    return Err(self
                        .error_here(format!("expected {expected}, found {}", describe(Some(c)))));
                }
                Some(_) => {}
            }
            if self.at_include() {
                // `include "file"`: EMQX reads that file there. Its settings
                // are that file's; audit it together with this one.
                self.skip_include();
                continue;
            }
            let field = self.parse_field(depth)?;
            let key = field.key.join(".");
            fields.push(field);
            self.skip_inline();
            match self.cur.peek() {
                Some(',') => {
                    self.cur.bump();
                }
                None | Some('\n' | '}') => {}
                c => {
                    return Err(self.error_here(format!(
                        "expected ',' or a new line after the value of '{key}', found {}",
                        describe(c)
                    )));
                }
            }
        }
    }

    /// One `key = value`, `key : value` or `key { ... }` entry.
    fn parse_field(&mut self, depth: usize) -> Result<Field, ParseError> {
        let key_pos = self.cur.pos();
        let key = self.parse_key()?;
        let inner = depth + key.len();
        self.check_depth(inner, &key_pos)?;
        let name = key.join(".");
        self.skip_inline();
        let value = match self.cur.peek() {
            Some('=' | ':') => {
                self.cur.bump();
                self.skip_inline();
                self.parse_value(inner, &format!("'{name}'"))?
            }
            Some('{') => self.parse_braced_object(inner)?,
            Some('+') if self.cur.peek_at(1) == Some('=') => {
                return Err(self.error_here("'+=' (append) is not supported"));
            }
            c => {
                return Err(self.error_here(format!(
                    "expected '=', ':' or '{{' after key '{name}', found {}",
                    describe(c)
                )));
            }
        };
        Ok(Field {
            key,
            key_pos,
            value,
        })
    }

    /// Skips an `include` directive, to the end of its line (or the `}`
    /// that closes the object it stands in).
    fn skip_include(&mut self) {
        let mut quoted = false;
        while let Some(c) = self.cur.peek() {
            match c {
                '"' => quoted = !quoted,
                '\n' => break,
                '}' | '#' if !quoted => break,
                _ => {}
            }
            self.cur.bump();
        }
    }

    /// An `include "file"` / `include required(...)` directive starts here.
    fn at_include(&self) -> bool {
        if !self.cur.starts_with("include") {
            return false;
        }
        let mut n = "include".len();
        let mut spaced = false;
        while matches!(self.cur.peek_at(n), Some(' ' | '\t')) {
            n += 1;
            spaced = true;
        }
        let rest: String = (n..n + 10).filter_map(|k| self.cur.peek_at(k)).collect();
        rest.starts_with('"')
            || (spaced
                && ["required(", "file(", "url(", "classpath("]
                    .iter()
                    .any(|p| rest.starts_with(p)))
    }

    /// A key path: segments of unquoted key characters and quoted strings,
    /// separated by unquoted dots.
    fn parse_key(&mut self) -> Result<Vec<String>, ParseError> {
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut has_content = false;
        loop {
            match self.cur.peek() {
                Some('"') => {
                    if self.cur.starts_with("\"\"\"") {
                        return Err(
                            self.error_here("a triple-quoted string cannot be used as a key")
                        );
                    }
                    current.push_str(&self.parse_quoted()?);
                    has_content = true;
                }
                Some('.') => {
                    if !has_content {
                        return Err(self.error_here("expected a key segment before '.'"));
                    }
                    segments.push(std::mem::take(&mut current));
                    has_content = false;
                    self.cur.bump();
                }
                Some(c) if is_key_char(c) && !self.cur.starts_with("//") => {
                    while let Some(c) = self.cur.peek() {
                        if !is_key_char(c) || self.cur.starts_with("//") {
                            break;
                        }
                        current.push(c);
                        self.cur.bump();
                    }
                    has_content = true;
                }
                c => {
                    if !has_content {
                        let what = if segments.is_empty() {
                            "a key"
                        } else {
                            "a key segment after '.'"
                        };
                        return Err(
                            self.error_here(format!("expected {what}, found {}", describe(c)))
                        );
                    }
                    segments.push(current);
                    return Ok(segments);
                }
            }
        }
    }

    /// A value after a separator or as an array element. `what` names the
    /// key (or array) for the missing-value message.
    fn parse_value(&mut self, depth: usize, what: &str) -> Result<Node, ParseError> {
        if self.at_value_end() {
            let c = if self.at_comment() {
                "a comment".to_string()
            } else {
                describe(self.cur.peek())
            };
            return Err(self.error_here(format!(
                "missing value for {what}: expected a value on the same line, found {c}"
            )));
        }
        match self.cur.peek() {
            Some('{') => self.parse_braced_object(depth),
            Some('[') => self.parse_array(depth),
            _ => self.parse_scalar(),
        }
    }

    /// `[ elements ]` starting at the opening bracket.
    fn parse_array(&mut self, depth: usize) -> Result<Node, ParseError> {
        let pos = self.cur.pos();
        self.check_depth(depth, &pos)?;
        self.cur.bump(); // '['
        let unterminated = |p: &Self| {
            p.error_at(
                pos.clone(),
                "unterminated array: this '[' is never closed (expected ']' before end of input)",
            )
        };
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.cur.peek() {
                None => return Err(unterminated(self)),
                Some(']') => {
                    self.cur.bump();
                    return Ok(Node {
                        value: Value::Array(items),
                        pos,
                    });
                }
                Some(c @ (',' | '}')) => {
                    return Err(self.error_here(format!(
                        "expected an array element or ']', found {}",
                        describe(Some(c))
                    )));
                }
                Some(_) => {}
            }
            items.push(self.parse_value(depth + 1, "array element")?);
            self.skip_inline();
            match self.cur.peek() {
                Some(',') => {
                    self.cur.bump();
                }
                Some('\n' | ']') => {}
                None => return Err(unterminated(self)),
                c => {
                    return Err(self.error_here(format!(
                        "expected ',', ']' or a new line after an array element, found {}",
                        describe(c)
                    )));
                }
            }
        }
    }

    /// A scalar: one or more quoted, triple-quoted, substitution or unquoted
    /// pieces on the same line, concatenated.
    fn parse_scalar(&mut self) -> Result<Node, ParseError> {
        let pos = self.cur.pos();
        let mut pieces: Vec<(PieceKind, String)> = Vec::new();
        loop {
            match self.cur.peek() {
                Some('"') => {
                    let s = if self.cur.starts_with("\"\"\"") {
                        self.parse_triple_quoted()?
                    } else {
                        self.parse_quoted()?
                    };
                    pieces.push((PieceKind::Quoted, s));
                }
                Some('$') if self.cur.peek_at(1) == Some('{') => {
                    pieces.push((PieceKind::Substitution, self.parse_substitution()?));
                }
                Some(c @ ('{' | '[')) => {
                    return Err(self.error_here(format!(
                        "unexpected {} inside a value: concatenating objects or arrays with other values is not supported (quote the value?)",
                        describe(Some(c))
                    )));
                }
                _ => {
                    let mut s = String::new();
                    while let Some(c) = self.cur.peek() {
                        let stop = matches!(c, '\n' | ',' | '}' | ']' | '"' | '{' | '[')
                            || self.at_comment()
                            || (c == '$' && self.cur.peek_at(1) == Some('{'));
                        if stop {
                            break;
                        }
                        s.push(c);
                        self.cur.bump();
                    }
                    pieces.push((PieceKind::Unquoted, s));
                }
            }
            if self.at_value_end() {
                break;
            }
        }
        // Whitespace before the end of the value is not part of it.
        if let Some((PieceKind::Unquoted, last)) = pieces.last_mut() {
            let trimmed = last.trim_end().len();
            last.truncate(trimmed);
            if last.is_empty() && pieces.len() > 1 {
                pieces.pop();
            }
        }
        let value = match pieces.as_slice() {
            [(PieceKind::Unquoted, s)] => match s.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                s if is_number(s) => Value::Number(s.to_string()),
                s => Value::String(s.to_string()),
            },
            _ => Value::String(pieces.into_iter().map(|(_, s)| s).collect()),
        };
        Ok(Node { value, pos })
    }

    /// A `"..."` string with JSON escapes; returns its contents.
    fn parse_quoted(&mut self) -> Result<String, ParseError> {
        let open = self.cur.pos();
        self.cur.bump(); // '"'
        let mut out = String::new();
        loop {
            match self.cur.peek() {
                None => {
                    return Err(self.error_at(
                        open,
                        "unterminated string: expected a closing '\"' before end of input",
                    ));
                }
                Some('\n') => {
                    return Err(self.error_at(
                        open,
                        "unterminated string: expected a closing '\"' before end of line (use \"\"\" for multi-line strings)",
                    ));
                }
                Some('"') => {
                    self.cur.bump();
                    return Ok(out);
                }
                Some('\\') => out.push(self.parse_escape()?),
                Some(c) => {
                    out.push(c);
                    self.cur.bump();
                }
            }
        }
    }

    /// A JSON escape sequence starting at the backslash.
    fn parse_escape(&mut self) -> Result<char, ParseError> {
        let at = self.cur.pos();
        self.cur.bump(); // '\\'
        let c = self.cur.peek();
        let simple = match c {
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            Some('/') => Some('/'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            _ => None,
        };
        if let Some(s) = simple {
            self.cur.bump();
            return Ok(s);
        }
        if c != Some('u') {
            let shown = match c {
                Some(c) if !c.is_control() => format!("'\\{c}'"),
                _ => "'\\'".to_string(),
            };
            return Err(self.error_at(
                at,
                format!(
                    "invalid escape {shown} in string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
                ),
            ));
        }
        self.cur.bump(); // 'u'
        let hi = self.hex4(&at)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.cur.starts_with("\\u") {
                return Err(self.error_at(
                    at,
                    "invalid \\u escape: high surrogate without a low surrogate",
                ));
            }
            self.cur.bump();
            self.cur.bump();
            let lo = self.hex4(&at)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.error_at(
                    at,
                    "invalid \\u escape: high surrogate without a low surrogate",
                ));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| self.error_at(at, "invalid \\u escape: not a Unicode scalar value"))
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self, at: &Pos) -> Result<u32, ParseError> {
        let mut v = 0;
        for _ in 0..4 {
            match self.cur.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.cur.bump();
                }
                None => {
                    return Err(
                        self.error_at(at.clone(), "invalid \\u escape: expected four hex digits")
                    );
                }
            }
        }
        Ok(v)
    }

    /// A `"""..."""` string (no escapes); extra quotes before the closing
    /// `"""` belong to the contents.
    fn parse_triple_quoted(&mut self) -> Result<String, ParseError> {
        let open = self.cur.pos();
        for _ in 0..3 {
            self.cur.bump();
        }
        let mut out = String::new();
        loop {
            if self.cur.starts_with("\"\"\"") {
                let mut quotes = 0;
                while self.cur.peek() == Some('"') {
                    self.cur.bump();
                    quotes += 1;
                }
                out.extend(std::iter::repeat_n('"', quotes - 3));
                return Ok(out);
            }
            match self.cur.bump() {
                Some(c) => out.push(c),
                None => {
                    return Err(self.error_at(
                        open,
                        "unterminated triple-quoted string: expected a closing '\"\"\"' before end of input",
                    ));
                }
            }
        }
    }

    /// `${VAR}` or `${?VAR}`, returned verbatim (not resolved).
    fn parse_substitution(&mut self) -> Result<String, ParseError> {
        let open = self.cur.pos();
        self.cur.bump(); // '$'
        self.cur.bump(); // '{'
        let mut inner = String::new();
        loop {
            match self.cur.peek() {
                Some('}') => {
                    self.cur.bump();
                    break;
                }
                None | Some('\n') => {
                    return Err(self.error_at(
                        open,
                        format!(
                            "unterminated substitution: expected '}}' before {}",
                            describe(self.cur.peek())
                        ),
                    ));
                }
                Some(c) => {
                    inner.push(c);
                    self.cur.bump();
                }
            }
        }
        let name = inner.strip_prefix('?').unwrap_or(&inner).trim();
        if name.is_empty() {
            return Err(self.error_at(open, "empty substitution: expected a name inside '${...}'"));
        }
        Ok(format!("${{{inner}}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMQX_CONF: &str = r#"node {
  name = "emqx@10.0.1.10"
  cookie = "${EMQX_NODE__COOKIE}"
  data_dir = "/var/lib/emqx"
}
cluster {
  name = factory-lyon
  discovery_strategy = etcd
  etcd {
    server = "http://etcd1:2379,http://etcd2:2379"
    prefix = emqxcl
    node_ttl = 1m
  }
}
listeners.ssl.default {
  bind = "0.0.0.0:8883"
  max_connections = 110000
  ssl_options {
    cacertfile = "/etc/emqx/certs/ca.pem"
    verify = verify_peer
    fail_if_no_peer_cert = true
    versions = [tlsv1.3]
  }
}
mqtt.max_packet_size = 1MB
authorization {
  no_match = deny
  sources = [ { type = file, enable = true, path = "/etc/emqx/acl.conf" } ]
}
"#;

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn leaf<'a>(flat: &'a [(String, Pos, Node)], path: &str) -> &'a (String, Pos, Node) {
        flat.iter().find(|(p, _, _)| p == path).unwrap_or_else(|| {
            panic!(
                "no leaf {path} in {:?}",
                flat.iter().map(|l| &l.0).collect::<Vec<_>>()
            )
        })
    }

    fn err(text: &str) -> ParseError {
        parse(text).expect_err("expected a parse error")
    }

    #[test]
    fn emqx_conf_flattens_with_positions() {
        let root = parse(EMQX_CONF).unwrap();
        let flat = flatten(&root);
        let paths: Vec<&str> = flat.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "node.name",
                "node.cookie",
                "node.data_dir",
                "cluster.name",
                "cluster.discovery_strategy",
                "cluster.etcd.server",
                "cluster.etcd.prefix",
                "cluster.etcd.node_ttl",
                "listeners.ssl.default.bind",
                "listeners.ssl.default.max_connections",
                "listeners.ssl.default.ssl_options.cacertfile",
                "listeners.ssl.default.ssl_options.verify",
                "listeners.ssl.default.ssl_options.fail_if_no_peer_cert",
                "listeners.ssl.default.ssl_options.versions",
                "mqtt.max_packet_size",
                "authorization.no_match",
                "authorization.sources",
            ]
        );

        let (_, kp, v) = leaf(&flat, "listeners.ssl.default.ssl_options.verify");
        assert_eq!(*kp, pos(20, 5));
        assert_eq!(v.pos, pos(20, 14));
        assert_eq!(v.value, s("verify_peer"));

        let (_, kp, v) = leaf(&flat, "mqtt.max_packet_size");
        assert_eq!(*kp, pos(25, 1));
        assert_eq!(v.pos, pos(25, 24));
        assert_eq!(v.value, s("1MB"));

        let (_, kp, v) = leaf(&flat, "authorization.sources");
        assert_eq!(*kp, pos(28, 3));
        assert_eq!(v.pos, pos(28, 13));
        let Value::Array(items) = &v.value else {
            panic!("sources is not an array: {v:?}");
        };
        assert_eq!(items.len(), 1);
        let Value::Object(fields) = &items[0].value else {
            panic!("source is not an object");
        };
        assert_eq!(items[0].pos, pos(28, 15));
        let summary: Vec<(String, Value)> = fields
            .iter()
            .map(|f| (f.key.join("."), f.value.value.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("type".to_string(), s("file")),
                ("enable".to_string(), Value::Bool(true)),
                ("path".to_string(), s("/etc/emqx/acl.conf")),
            ]
        );
        assert_eq!(fields[2].key_pos, pos(28, 45));

        let (_, _, v) = leaf(&flat, "node.cookie");
        assert_eq!(v.value, s("${EMQX_NODE__COOKIE}"));
        let (_, _, v) = leaf(&flat, "cluster.name");
        assert_eq!(v.value, s("factory-lyon"));
        let (_, _, v) = leaf(&flat, "cluster.etcd.server");
        assert_eq!(v.value, s("http://etcd1:2379,http://etcd2:2379"));
        let (_, _, v) = leaf(&flat, "cluster.etcd.node_ttl");
        assert_eq!(v.value, s("1m"));
        let (_, kp, v) = leaf(&flat, "listeners.ssl.default.max_connections");
        assert_eq!(*kp, pos(17, 3));
        assert_eq!(v.value, Value::Number("110000".into()));
        let (_, _, v) = leaf(
            &flat,
            "listeners.ssl.default.ssl_options.fail_if_no_peer_cert",
        );
        assert_eq!(v.value, Value::Bool(true));
        let (_, _, v) = leaf(&flat, "listeners.ssl.default.ssl_options.versions");
        assert_eq!(
            v.value,
            Value::Array(vec![Node {
                value: s("tlsv1.3"),
                pos: pos(22, 17)
            }])
        );
    }

    #[test]
    fn dotted_keys_are_split_and_quoted_segments_kept() {
        let root = parse("listeners.ssl.default { bind = 1 }\n\"a.b\".c = 2").unwrap();
        let Value::Object(fields) = &root.value else {
            panic!()
        };
        assert_eq!(fields[0].key, ["listeners", "ssl", "default"]);
        assert_eq!(fields[1].key, ["a.b", "c"]);
        assert_eq!(fields[1].key_pos, pos(2, 1));
    }

    #[test]
    fn repeated_objects_merge_and_scalars_replace() {
        let text =
            "a { x = 1 }\nb = 1\na { y = 2 }\na.x = 3\nb { z = true }\nc = [1]\nc = [2, 3]\nd {}\n";
        let flat = flatten(&parse(text).unwrap());
        let got: Vec<(&str, Pos, &Value)> = flat
            .iter()
            .map(|(p, kp, n)| (p.as_str(), kp.clone(), &n.value))
            .collect();
        assert_eq!(got[0], ("a.x", pos(4, 1), &Value::Number("3".into())));
        assert_eq!(got[1], ("a.y", pos(3, 5), &Value::Number("2".into())));
        assert_eq!(got[2], ("b.z", pos(5, 5), &Value::Bool(true)));
        assert_eq!(got[3].0, "c");
        assert_eq!(got[3].1, pos(7, 1));
        assert!(matches!(got[3].2, Value::Array(v) if v.len() == 2));
        assert_eq!(got[4], ("d", pos(8, 1), &Value::Object(vec![])));
        assert_eq!(got.len(), 5);

        // A later object replaces an earlier scalar and vice versa.
        let flat = flatten(&parse("a = 1\na { x = 1 }\nb { x = 1 }\nb = off").unwrap());
        let got: Vec<(&str, &Value)> = flat
            .iter()
            .map(|(p, _, n)| (p.as_str(), &n.value))
            .collect();
        assert_eq!(got, [("a.x", &Value::Number("1".into())), ("b", &s("off"))]);
    }

    #[test]
    fn separators_comments_and_root_braces() {
        let text = "{\n  # comment\n  a : 1, b = \"x\" // trailing\n  c {d = 0.5, e = -2e3}\n  f = [1\n 2,\n 3,]\n}\n";
        let flat = flatten(&parse(text).unwrap());
        let got: Vec<(&str, &Value)> = flat
            .iter()
            .map(|(p, _, n)| (p.as_str(), &n.value))
            .collect();
        assert_eq!(got[0], ("a", &Value::Number("1".into())));
        assert_eq!(got[1], ("b", &s("x")));
        assert_eq!(got[2], ("c.d", &Value::Number("0.5".into())));
        assert_eq!(got[3], ("c.e", &Value::Number("-2e3".into())));
        let Value::Array(items) = got[4].1 else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].pos, pos(6, 2));
    }

    #[test]
    fn scalars_strings_and_substitutions() {
        let text = concat!(
            "a = null\n",
            "b = false\n",
            "c = \"tab\\there \\u00e9 \\\"q\\\" \\ud83d\\ude00\"\n",
            "d = \"\"\"multi\n\"line\"\"\"\"\n",
            "e = ${?HOME}/data  # comment\n",
            "f = 10000/s\n",
            "g = some words here   \n",
            "h = ${X}\n",
            "i = 1.2.3\n",
            "j = http://x/y // comment\n",
        );
        let flat = flatten(&parse(text).unwrap());
        let got: Vec<&Value> = flat.iter().map(|(_, _, n)| &n.value).collect();
        assert_eq!(
            got,
            [
                &Value::Null,
                &Value::Bool(false),
                &s("tab\there é \"q\" 😀"),
                &s("multi\n\"line\""),
                &s("${?HOME}/data"),
                &s("10000/s"),
                &s("some words here"),
                &s("${X}"),
                &s("1.2.3"),
                &s("http:"),
            ]
        );
    }

    #[test]
    fn unterminated_constructs_report_their_opening_position() {
        let e = err("a {\n  b {\n    c = 1\n  }\n");
        assert_eq!(e.pos, pos(1, 3));
        assert!(e.message.contains("unterminated object"), "{}", e.message);
        assert!(e.message.contains("'}'"), "{}", e.message);

        let e = err("a = 1\nb = \"abc\nc = 2\n");
        assert_eq!(e.pos, pos(2, 5));
        assert!(e.message.contains("unterminated string"), "{}", e.message);

        let e = err("a = \"abc");
        assert_eq!(e.pos, pos(1, 5));
        assert!(e.message.contains("end of input"), "{}", e.message);

        let e = err("x = 1\nb = [1, 2");
        assert_eq!(e.pos, pos(2, 5));
        assert!(e.message.contains("unterminated array"), "{}", e.message);

        let e = err("t = \"\"\"never closed\n");
        assert_eq!(e.pos, pos(1, 5));
        assert!(e.message.contains("triple-quoted"), "{}", e.message);

        let e = err("s = ${FOO\n");
        assert_eq!(e.pos, pos(1, 5));
        assert!(e.message.contains("substitution"), "{}", e.message);
    }

    #[test]
    fn other_errors_are_positioned() {
        let e = err("a {\n  b =\n}\n");
        assert_eq!(e.pos, pos(2, 6));
        assert!(
            e.message.contains("missing value for 'a.b'")
                || e.message.contains("missing value for 'b'")
        );

        // `include` directives are skipped; the fields around them stay.
        let root =
            parse("a = 1\n  include \"other.conf\"\nb { include required(\"x.conf\") }\nc = 3\n")
                .unwrap();
        let paths: Vec<String> = flatten(&root).into_iter().map(|(p, _, _)| p).collect();
        // (`b { }` holds only the include: an empty object, still a leaf.)
        assert_eq!(paths, ["a", "b", "c"]);
        // `include` as an ordinary key is fine.
        assert!(parse("include = 1\ninclude { a = 2 }").is_ok());

        let e = err("a b = 1");
        assert_eq!(e.pos, pos(1, 3));
        assert!(
            e.message.contains("expected '=', ':' or '{' after key 'a'"),
            "{}",
            e.message
        );

        let e = err("a = 1\n= 2");
        assert_eq!(e.pos, pos(2, 1));
        assert!(e.message.contains("expected a key"), "{}", e.message);

        let e = err("a = \"x\" \"y\" [1]");
        assert_eq!(e.pos, pos(1, 13));

        let e = err("a = [1] 2");
        assert_eq!(e.pos, pos(1, 9));
        assert!(e.message.contains("expected ','"), "{}", e.message);

        let e = err("a { b = 1 ]");
        assert_eq!(e.pos, pos(1, 11));

        let e = err("a = \"\\q\"");
        assert_eq!(e.pos, pos(1, 6));
        assert!(e.message.contains("invalid escape"), "{}", e.message);

        let e = err("{ a = 1 } b = 2");
        assert_eq!(e.pos, pos(1, 11));

        let e = err("a..b = 1");
        assert_eq!(e.pos, pos(1, 3));

        let e = err("a += 1");
        assert!(e.message.contains("+="), "{}", e.message);

        let e = err("}");
        assert_eq!(e.pos, pos(1, 1));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let ok = format!("{}{}", "a{".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let e = err(&format!(
            "{}{}",
            "a{".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        ));
        assert!(e.message.contains("nesting"), "{}", e.message);
        let e = err(&format!("a = {}", "[".repeat(100_000)));
        assert!(e.message.contains("nesting"), "{}", e.message);
        let long_key = vec!["k"; 1000].join(".");
        let e = err(&format!("{long_key} = 1"));
        assert_eq!(e.pos, pos(1, 1));
    }

    #[test]
    fn prefixes_and_garbage_never_panic() {
        let chars: Vec<char> = EMQX_CONF.chars().collect();
        for n in 0..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            if let Ok(root) = parse(&prefix) {
                let _ = flatten(&root);
            }
        }
        // Deterministic pseudo-random garbage over HOCON-significant characters.
        let alphabet: Vec<char> = "{}[]=:,.\"\\$?#/ \n\tabc1-+u\u{e9}".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let len = (seed % 40) as usize;
            let mut text = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            if let Ok(root) = parse(&text) {
                let _ = flatten(&root);
            }
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        }
    }
}
