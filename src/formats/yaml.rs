//! YAML loading that keeps positions, and reading input files as text.
//!
//! The spec is parsed with `saphyr-parser`'s event API into a [`Node`] tree in
//! which every value carries the [`Span`] it came from. That tree is turned
//! into a `serde_json::Value` (what the JSON Schema and the typed model read)
//! and a [`SpanMap`] from JSON pointers back to positions, so any later stage
//! can point at the exact key or value it is talking about. A crate serves
//! the parsing (saphyr-parser); what is hand-written is the positioned tree
//! and its bounds.
//!
//! Hostile input is bounded: file size, nesting depth and the number of nodes
//! after alias expansion all have hard limits, and duplicate keys are errors.
//! Cost: linear in the input's bytes (aliases counted where they expand).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::source::{
    pointer_join, read_bounded, read_error_message, Located, ReadError, SourceFile, Span, SpanMap,
    MAX_FILE_BYTES,
};

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases count every time they are used).
pub const MAX_NODES: usize = 200_000;

/// Reads a spec, refusing anything over [`MAX_FILE_BYTES`] or not UTF-8.
pub fn read_spec(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    read_source(
        path,
        MAX_FILE_BYTES,
        "a site spec",
        "split the fleet into ranges (`fleet: {prefix, from, to}`) instead of listing every device",
    )
}

/// Reads a file of at most `limit` bytes (see [`read_bounded`]) as UTF-8
/// text; `what` names the kind of file in errors ("a site spec"), `help`
/// says what to do with a file over the limit.
pub fn read_source(
    path: &Path,
    limit: usize,
    what: &str,
    help: &str,
) -> Result<Arc<SourceFile>, Diagnostic> {
    let name = path.display().to_string();
    let bytes = read_bounded(path, limit).map_err(|e| {
        let d = Diagnostic::error(Code::Io, read_error_message(&name, limit, what, &e));
        match e {
            ReadError::Io(_) => d.with_help("check the path and its permissions"),
            ReadError::TooLarge { .. } => d.with_help(help),
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            Code::Io,
            format!(
                "`{name}` is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
        .with_help("save the file as UTF-8")
    })?;
    Ok(SourceFile::new(name, text))
}

/// The span of a parser event, 1-based, at least one character wide.
fn span_of(file: &Arc<SourceFile>, span: saphyr_parser::Span) -> Span {
    let line = span.start.line().max(1);
    let col = span.start.col() + 1;
    let end_line = span.end.line().max(line);
    let mut end_col = span.end.col() + 1;
    if end_line == line && end_col <= col {
        end_col = col + 1;
    }
    Span {
        file: file.clone(),
        line,
        col,
        end_line,
        end_col,
    }
}

/// A YAML value with its position.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The string form of a scalar key (`80:` and `"80":` are both the key "80").
    fn key_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null => Some("null".into()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// A loaded document: the JSON form the schema and model read, and its spans.
pub struct Document {
    pub json: serde_json::Value,
    pub spans: SpanMap,
}

/// Parses YAML text into a positioned document. Errors are final: a file that
/// is not well-formed YAML yields no tree to validate further.
pub fn load_yaml(file: &Arc<SourceFile>) -> Result<Document, Vec<Diagnostic>> {
    let root = Builder::new(file).run()?;
    let mut entries = HashMap::new();
    let mut diags = Vec::new();
    let json = to_json(&root, String::new(), None, &mut entries, &mut diags);
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Document {
        json,
        spans: SpanMap::new(file.clone(), entries),
    })
}

fn to_json(
    node: &Node,
    pointer: String,
    key: Option<Span>,
    entries: &mut HashMap<String, Located>,
    diags: &mut Vec<Diagnostic>,
) -> serde_json::Value {
    use serde_json::Value as J;
    let out = match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => J::Number(n),
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::YamlSyntax,
                        "infinite or NaN numbers are not allowed here",
                    )
                    .with_label(Label::primary(node.span.clone(), "not a finite number"))
                    .with_help("write a finite number, or quote the value to make it a string"),
                );
                J::Null
            }
        },
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| to_json(n, pointer_join(&pointer, i), None, entries, diags))
                .collect(),
        ),
        Value::Map(pairs) => {
            let mut map = serde_json::Map::new();
            for (k, v) in pairs {
                // Keys were checked to be scalars while building the tree.
                let name = k.key_string().unwrap_or_default();
                let child = to_json(
                    v,
                    pointer_join(&pointer, &name),
                    Some(k.span.clone()),
                    entries,
                    diags,
                );
                map.insert(name, child);
            }
            J::Object(map)
        }
    };
    entries.insert(
        pointer,
        Located {
            key,
            value: node.span.clone(),
        },
    );
    out
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        pairs: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

struct Builder<'a> {
    file: &'a Arc<SourceFile>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    documents: usize,
    root: Option<Node>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a Arc<SourceFile>) -> Self {
        Builder {
            file,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            documents: 0,
            root: None,
        }
    }

    fn run(mut self) -> Result<Node, Vec<Diagnostic>> {
        let mut parser = Parser::new_from_str(&self.file.text);
        while let Some(event) = parser.next_event() {
            let (event, span) = match event {
                Ok(ok) => ok,
                Err(e) => {
                    let m = e.marker();
                    let span = Span::point(self.file, m.line().max(1), m.col() + 1);
                    return Err(vec![Diagnostic::error(
                        Code::YamlSyntax,
                        format!("invalid YAML: {}", e.info()),
                    )
                    .with_label(Label::primary(span, "here"))
                    .with_help(
                        "fix the YAML syntax; indentation must use spaces and be consistent",
                    )]);
                }
            };
            let span = span_of(self.file, span);
            self.event(event, span).map_err(|d| vec![d])?;
        }
        self.root.ok_or_else(|| {
            vec![Diagnostic::error(Code::YamlSyntax, "the spec is empty")
                .with_label(Label::primary(
                    Span::point(self.file, 1, 1),
                    "no document here",
                ))
                .with_help("start from one of the files in site-examples/")]
        })
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                Code::YamlLimit,
                format!("the document expands to more than {MAX_NODES} values"),
            )
            .with_label(Label::primary(span.clone(), "limit reached here"))
            .with_help("aliases are expanded every time they are used; describe fleets with `fleet: {prefix, from, to}`"));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(()),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::error(
                        Code::YamlSyntax,
                        "a spec file holds one YAML document; found a second one",
                    )
                    .with_label(Label::primary(span, "second document starts here"))
                    .with_help("put each site in its own file"));
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, &span)?;
                let value = resolve_scalar(&text, style, tag.as_deref(), &span)?;
                let node = Node { value, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node)
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(
                        Diagnostic::error(Code::YamlSyntax, "alias to an unknown anchor")
                            .with_label(Label::primary(span, "unknown anchor"))
                            .with_help("define the anchor (`&name`) before using it (`*name`)"),
                    );
                };
                self.count(size, &span)?;
                self.push(node)
            }
            Event::SequenceStart(anchor, tag) => {
                self.reject_tag(tag.as_deref(), &span)?;
                self.count(1, &span)?;
                self.open(
                    Frame::Seq {
                        span: span.clone(),
                        anchor,
                        items: Vec::new(),
                    },
                    &span,
                )
            }
            Event::MappingStart(anchor, tag) => {
                self.reject_tag(tag.as_deref(), &span)?;
                self.count(1, &span)?;
                self.open(
                    Frame::Map {
                        span: span.clone(),
                        anchor,
                        pairs: Vec::new(),
                        pending_key: None,
                    },
                    &span,
                )
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self
                    .stack
                    .pop()
                    .expect("parser balances start and end events");
                let (node, anchor) = match frame {
                    Frame::Seq {
                        span,
                        anchor,
                        items,
                    } => (
                        Node {
                            value: Value::Seq(items),
                            span,
                        },
                        anchor,
                    ),
                    Frame::Map {
                        span,
                        anchor,
                        pairs,
                        ..
                    } => (
                        Node {
                            value: Value::Map(pairs),
                            span,
                        },
                        anchor,
                    ),
                };
                if anchor > 0 {
                    let size = node_size(&node);
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                self.push(node)
            }
        }
    }

    fn reject_tag(&self, tag: Option<&saphyr_parser::Tag>, span: &Span) -> Result<(), Diagnostic> {
        match tag {
            None => Ok(()),
            Some(t) if t.is_yaml_core_schema() && matches!(t.suffix.as_str(), "map" | "seq") => {
                Ok(())
            }
            Some(t) => Err(unsupported_tag(t, span)),
        }
    }

    fn open(&mut self, frame: Frame, span: &Span) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::error(
                Code::YamlLimit,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            )
            .with_label(Label::primary(span.clone(), "limit reached here"))
            .with_help("a site spec is a few levels deep; flatten this structure"));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                pairs, pending_key, ..
            }) => {
                match pending_key.take() {
                    None => {
                        let Some(name) = node.key_string() else {
                            return Err(Diagnostic::error(
                                Code::YamlSyntax,
                                "mapping keys must be plain names, not lists or mappings",
                            )
                            .with_label(Label::primary(node.span, "complex key"))
                            .with_help("use a plain name as the key"));
                        };
                        if let Some((first, _)) = pairs
                            .iter()
                            .find(|(k, _)| k.key_string().as_deref() == Some(&name))
                        {
                            return Err(Diagnostic::error(
                            Code::DuplicateKey,
                            format!("duplicate key `{name}`"),
                        )
                        .with_label(Label::primary(node.span.clone(), "defined again here"))
                        .with_label(Label::secondary(first.span.clone(), "first defined here"))
                        .with_help("remove one of the two entries; YAML would silently keep only the last"));
                        }
                        *pending_key = Some(node);
                        Ok(())
                    }
                    Some(key) => {
                        pairs.push((key, node));
                        Ok(())
                    }
                }
            }
        }
    }
}

fn node_size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(node_size).sum::<usize>(),
        Value::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| node_size(k) + node_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn unsupported_tag(t: &saphyr_parser::Tag, span: &Span) -> Diagnostic {
    Diagnostic::error(
        Code::YamlSyntax,
        format!(
            "YAML tag `{}{}` is not supported in a site spec",
            t.handle, t.suffix
        ),
    )
    .with_label(Label::primary(span.clone(), "tag used here"))
    .with_help("remove the tag; quote the value if it must be a string")
}

/// YAML 1.2 core schema resolution of a scalar.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    span: &Span,
) -> Result<Value, Diagnostic> {
    if let Some(t) = tag {
        if t.is_yaml_core_schema() && t.suffix == "str" {
            return Ok(Value::Str(text.to_string()));
        }
        return Err(unsupported_tag(t, span));
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => {
            if let Some(i) = parse_int(text) {
                Value::Int(i)
            } else if is_float(text) {
                match text.parse::<f64>() {
                    Ok(f) => Value::Float(f),
                    Err(_) => Value::Str(text.to_string()),
                }
            } else if looks_numeric(text) {
                // An integer too large for 64 bits: keep it a number so range
                // checks report it, rather than letting it pass as a string.
                Value::Float(text.parse::<f64>().unwrap_or(f64::MAX))
            } else {
                Value::Str(text.to_string())
            }
        }
    })
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

fn looks_numeric(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(text: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = match exponent {
        None => mantissa.contains('.'),
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
        }
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_device_stops_at_the_limit() {
        let e = read_spec(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            e.message,
            format!("`/dev/zero` holds more than {MAX_FILE_BYTES} bytes (read stopped there); a site spec may be at most {MAX_FILE_BYTES} bytes")
        );
    }

    fn load(text: &str) -> Result<Document, Vec<Diagnostic>> {
        load_yaml(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let doc = load("a:\n  b: [1, two]\n  c: x\n").unwrap();
        let b1 = doc.spans.value("/a/b/1");
        assert_eq!((b1.line, b1.col), (2, 10));
        let c = doc.spans.get("/a/c").unwrap();
        let key = c.key.as_ref().unwrap();
        assert_eq!((key.line, key.col, c.value.line, c.value.col), (3, 3, 3, 6));
        assert_eq!(doc.json["a"]["b"][0], 1);
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let doc = load("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 0x10\ng: 1h\n").unwrap();
        assert_eq!(
            doc.json,
            serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":16,"g":"1h"})
        );
    }

    #[test]
    fn huge_integers_stay_numbers() {
        let doc = load("a: 99999999999999999999999\n").unwrap();
        assert!(doc.json["a"].is_number());
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let err = load("a: 1\nb: 2\na: 3\n").err().unwrap();
        assert_eq!(err[0].code, "duplicate-key");
        let span = &err[0].labels[0].span;
        assert_eq!((span.line, span.col), (3, 1));
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = load(&text).err().unwrap();
        assert_eq!(err[0].code, "yaml-limit");
    }

    #[test]
    fn nesting_is_bounded() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = load(&text).err().unwrap();
        assert_eq!(err[0].code, "yaml-limit");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = load("a: [1, 2\nb: 3\n").err().unwrap();
        assert_eq!(err[0].code, "yaml-syntax");
    }

    #[test]
    fn a_second_document_is_an_error() {
        let err = load("a: 1\n---\nb: 2\n").err().unwrap();
        assert!(err[0].message.contains("second"));
    }
}
