//! The JSON Schema of the site spec: generated from the Rust model, committed
//! as `schema/site.schema.json` (a test keeps them equal), and used to
//! validate specs with every error mapped back to its file:line:col.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::model::SiteSpec;
use super::units;
use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::source::{pointer_join, SpanMap};
use crate::suggest::did_you_mean;

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/site.schema.json";
const SCHEMA_ID: &str = "https://mqttforge.dev/schema/site.schema.json";

/// The schema as a JSON value, generated from [`SiteSpec`].
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = SchemaSettings::draft2020_12()
            .for_deserialize()
            .into_generator();
        let schema = generator.into_root_schema_for::<SiteSpec>();
        let mut value = serde_json::to_value(schema).expect("a schema is JSON");
        strip_null(&mut value);
        if let Value::Object(map) = &mut value {
            map.insert("$id".into(), Value::String(SCHEMA_ID.into()));
        }
        value
    })
}

/// The schema as the committed file holds it (pretty JSON, trailing newline).
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(schema()).expect("a schema is JSON");
    text.push('\n');
    text
}

/// Optional fields are simply absent in a spec: `key: null` is not a way to
/// write them, so the schema does not offer `null` as an alternative.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(any)) = map.get("anyOf") {
                let rest: Vec<Value> = any
                    .iter()
                    .filter(|s| s.get("type") != Some(&Value::String("null".into())))
                    .cloned()
                    .collect();
                if rest.len() == 1 && any.len() == 2 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = rest.into_iter().next().unwrap_or_default() {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".into(), only);
                }
            }
            for v in map.values_mut() {
                strip_null(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .build(schema())
            .expect("the generated schema is a valid JSON Schema")
    })
}

/// Validates a loaded spec against the schema: every violation, in source order.
pub fn validate(json: &Value, spans: &SpanMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for error in validator().iter_errors(json) {
        describe(&error, spans, &mut out);
    }
    integral_floats(json, "", spans, &mut out);
    out
}

/// The schema node that describes the value at a JSON pointer of a spec
/// (`$ref`s followed), if the schema describes it.
pub fn schema_for(pointer: &str) -> Option<&'static Value> {
    let mut node = resolve_ref(schema())?;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        // A value of several forms (`anyOf`): the first form that has this key.
        let next = child_schema(node, &seg).or_else(|| {
            node.get("anyOf")?
                .as_array()?
                .iter()
                .find_map(|form| child_schema(resolve_ref(form)?, &seg))
        })?;
        node = resolve_ref(next)?;
    }
    Some(node)
}

/// The schema of a key or index under an object or array schema node.
fn child_schema(node: &'static Value, seg: &str) -> Option<&'static Value> {
    node.get("properties")
        .and_then(|p| p.get(seg))
        .or_else(|| node.get("additionalProperties").filter(|v| v.is_object()))
        .or_else(|| {
            seg.parse::<usize>()
                .ok()
                .and_then(|_| node.get("items").filter(|v| v.is_object()))
        })
}

fn resolve_ref(node: &'static Value) -> Option<&'static Value> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(target) => schema().pointer(target.strip_prefix('#')?),
        None => Some(node),
    }
}

/// Whether the value at a pointer is an inline secret (`password.value`,
/// `age_recipient.value`, ...), which no message may echo.
pub fn is_secret_value(pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let secret = schema().pointer("/$defs/Secret");
    last == "value"
        && matches!((schema_for(parent), secret), (Some(a), Some(b)) if std::ptr::eq(a, b))
}

/// Whether a schema node takes integers and no other numbers.
fn wants_integer(node: &Value) -> bool {
    let has = |t: &str| match node.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    };
    has("integer") && !has("number")
}

/// JSON Schema's `integer` accepts `2000.0` and `2e3`, which the model's
/// integer types do not: each such number is a type error at its position
/// (out-of-range ones are reported by the range check already).
fn integral_floats(json: &Value, pointer: &str, spans: &SpanMap, out: &mut Vec<Diagnostic>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                integral_floats(v, &pointer_join(pointer, k), spans, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                integral_floats(v, &pointer_join(pointer, i), spans, out);
            }
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let Some(node) = schema_for(pointer).filter(|n| wants_integer(n)) else {
                return;
            };
            let bound = |key: &str| node.get(key).and_then(Value::as_f64);
            let in_range =
                bound("minimum").is_none_or(|m| f >= m) && bound("maximum").is_none_or(|m| f <= m);
            if f.fract() != 0.0 || !in_range {
                return; // the schema's type or range check reports it
            }
            let at = human_path(pointer);
            out.push(
                Diagnostic::error(Code::Type, format!("{at} must be an integer, found `{n}`"))
                    .with_label(Label::primary(spans.value(pointer), "expected an integer"))
                    .with_help(format!(
                        "write it without a decimal point or exponent: `{}`",
                        f as i64
                    )),
            );
        }
        _ => {}
    }
}

/// `/nodes/1/name` -> `nodes[1].name`; the root is "the site".
pub fn human_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the site".into();
    }
    let mut out = String::new();
    for seg in pointer.trim_start_matches('/').split('/') {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    format!("`{out}`")
}

/// The schema node a schema-path names, following `$ref`s.
fn schema_at(path: &str) -> Option<&'static Value> {
    let root = schema();
    let mut node = root;
    for seg in path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
    {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?;
            node = root.pointer(target.strip_prefix('#')?)?;
            continue;
        }
        node = match node {
            Value::Object(m) => m.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The schema node of the object whose keyword failed (the path minus its last segment).
fn parent_schema(path: &str) -> Option<&'static Value> {
    let (parent, _) = path.rsplit_once('/')?;
    let node = schema_at(parent)?;
    match node.get("$ref").and_then(Value::as_str) {
        Some(target) => schema().pointer(target.strip_prefix('#')?),
        None => Some(node),
    }
}

/// A value as messages show it: strings escaped and, past 40 characters,
/// shortened (the length is what matters then).
fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) if s.chars().count() > 40 => {
            let head: String = s.chars().take(40).collect();
            format!(
                "`{}...` ({} characters)",
                head.escape_debug(),
                s.chars().count()
            )
        }
        Value::String(s) => format!("`{}`", s.escape_debug()),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn json_type_phrase(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "nothing",
        _ => "a value",
    }
}

fn describe(error: &ValidationError<'_>, spans: &SpanMap, out: &mut Vec<Diagnostic>) {
    let pointer = error.instance_path().as_str().to_string();
    let schema_path = error.schema_path().as_str().to_string();
    // An inline secret is never echoed: messages see its length only.
    let hidden;
    let instance: &Value = match error.instance().as_str() {
        Some(s) if is_secret_value(&pointer) => {
            hidden = Value::String(format!("<secret of {} characters>", s.chars().count()));
            &hidden
        }
        _ => error.instance(),
    };
    let f = Failure {
        at: human_path(&pointer),
        value_span: spans.value(&pointer),
        pointer,
        schema_path,
        instance,
        spans,
    };
    let diagnostic = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(unexpected.iter().map(|key| f.unknown_key(key)));
            return;
        }
        ValidationErrorKind::Required { property } => f.missing_key(property),
        ValidationErrorKind::Type { kind } => f.wrong_type(kind),
        ValidationErrorKind::Enum { options } => f.not_an_option(options),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            f.out_of_bounds(format!("below the minimum {limit}"))
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            f.out_of_bounds(format!("above the maximum {limit}"))
        }
        ValidationErrorKind::MinLength { limit } => f.range(if *limit == 1 {
            "empty".to_string()
        } else {
            format!("shorter than {limit} characters")
        }),
        ValidationErrorKind::MaxLength { limit } => {
            f.range(format!("longer than {limit} characters"))
        }
        ValidationErrorKind::MinItems { limit } => f.too_few_items(*limit),
        ValidationErrorKind::MaxItems { limit } => f.too_many_items(*limit),
        ValidationErrorKind::Pattern { pattern } => {
            pattern_diag(&f.at, f.instance, f.value_span.clone(), pattern)
        }
        ValidationErrorKind::PropertyNames { error } => f.bad_key_name(error),
        ValidationErrorKind::AnyOf { context } => {
            if let Some(errors) = form_of_instance(&f.pointer, context) {
                errors.iter().for_each(|e| describe(e, spans, out));
                return;
            }
            f.no_form(context.len())
        }
        _ => Diagnostic::error(Code::Schema, format!("{}: {error}", f.at))
            .with_label(Label::primary(f.value_span.clone(), "here"))
            .with_help(format!("see {SCHEMA_PATH}")),
    };
    out.push(diagnostic);
}

/// For a value of several forms (`anyOf`) that fits none: the errors of the
/// one form whose type the value has (a string against the string form, a
/// mapping against the mapping form), which say what is wrong with it.
/// None when no form or several forms have its type.
fn form_of_instance<'e>(
    pointer: &str,
    context: &'e [Vec<ValidationError<'static>>],
) -> Option<&'e [ValidationError<'static>]> {
    let own_type = |errors: &&Vec<ValidationError<'static>>| {
        !errors.iter().any(|e| {
            e.instance_path().as_str() == pointer
                && matches!(e.kind(), ValidationErrorKind::Type { .. })
        })
    };
    let mut forms = context.iter().filter(own_type);
    let form = forms.next()?;
    forms.next().is_none().then_some(form.as_slice())
}

/// A schema error, where it is and what it found: one method per kind of error.
struct Failure<'a> {
    pointer: String,
    schema_path: String,
    instance: &'a Value,
    /// The value's place in words (`listeners[0].port`).
    at: String,
    value_span: crate::source::Span,
    spans: &'a SpanMap,
}

impl Failure<'_> {
    /// A key the schema does not allow here, with the closest allowed one.
    fn unknown_key(&self, key: &str) -> Diagnostic {
        let allowed: Vec<String> = parent_schema(&self.schema_path)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let span = self.spans.key(&pointer_join(&self.pointer, key));
        let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the keys allowed here are: {}", allowed.join(", ")),
        };
        Diagnostic::error(
            Code::UnknownKey,
            format!("unknown key `{}` in {}", key.escape_debug(), self.at),
        )
        .with_label(Label::primary(span, "unknown key"))
        .with_help(help)
    }

    /// A required key missing, with its description.
    fn missing_key(&self, property: &Value) -> Diagnostic {
        let name = property.as_str().unwrap_or_default();
        let what = parent_schema(&self.schema_path)
            .and_then(|s| s.pointer(&format!("/properties/{name}/description")))
            .and_then(Value::as_str)
            .map(|d| format!(" ({})", d.trim_end_matches('.')))
            .unwrap_or_default();
        Diagnostic::error(
            Code::MissingKey,
            format!("{} is missing the required key `{name}`", self.at),
        )
        .with_label(Label::primary(
            self.spans.key(&self.pointer),
            format!("`{name}` missing here"),
        ))
        .with_help(format!("add `{name}:`{what}"))
    }

    fn wrong_type(&self, kind: &TypeKind) -> Diagnostic {
        let expected: Vec<&str> = match kind {
            TypeKind::Single(t) => vec![json_type_phrase(&t.to_string())],
            TypeKind::Multiple(set) => set
                .iter()
                .map(|t| json_type_phrase(&t.to_string()))
                .collect(),
        };
        let expected = expected.join(" or ");
        Diagnostic::error(
            Code::Type,
            format!(
                "{} must be {expected}, found {}",
                self.at,
                type_name(self.instance)
            ),
        )
        .with_label(Label::primary(
            self.value_span.clone(),
            format!("expected {expected}"),
        ))
        .with_help(type_help(&self.schema_path))
    }

    /// A value outside an enum, with the closest option.
    fn not_an_option(&self, options: &Value) -> Diagnostic {
        let options: Vec<String> = options
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        o.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| o.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let given = self
            .instance
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| self.instance.to_string());
        let help = match did_you_mean(&given, options.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use one of: {}", options.join(", ")),
        };
        Diagnostic::error(
            Code::Enum,
            format!(
                "{} is not a valid value for {}; expected one of: {}",
                describe_value(self.instance),
                self.at,
                options.join(", ")
            ),
        )
        .with_label(Label::primary(
            self.value_span.clone(),
            "not an allowed value",
        ))
        .with_help(help)
    }

    /// A number below a minimum or above a maximum; a duration without its
    /// unit says so (durations accept the integer 0 only).
    fn out_of_bounds(&self, what: String) -> Diagnostic {
        match unitless_duration(&self.schema_path, self.instance) {
            Some(help) => help_pattern_diag(
                &self.at,
                self.instance,
                self.value_span.clone(),
                "a duration",
                &help,
            ),
            None => self.range(what),
        }
    }

    fn range(&self, what: String) -> Diagnostic {
        range_diag(
            &self.at,
            self.instance,
            self.value_span.clone(),
            what,
            &self.schema_path,
        )
    }

    fn too_few_items(&self, limit: u64) -> Diagnostic {
        Diagnostic::error(
            Code::OutOfRange,
            format!(
                "{} needs at least {limit} entr{}",
                self.at,
                if limit == 1 { "y" } else { "ies" }
            ),
        )
        .with_label(Label::primary(
            self.spans.key(&self.pointer),
            "too few entries",
        ))
        .with_help(type_help(&self.schema_path))
    }

    fn too_many_items(&self, limit: u64) -> Diagnostic {
        Diagnostic::error(
            Code::OutOfRange,
            format!("{} has more than {limit} entries", self.at),
        )
        .with_label(Label::primary(
            self.spans.key(&self.pointer),
            "too many entries",
        ))
        .with_help("split the site, or describe numbered devices as a fleet")
    }

    /// A value of several forms (`anyOf`) that has none of their types.
    fn no_form(&self, forms: usize) -> Diagnostic {
        Diagnostic::error(
            Code::Type,
            format!(
                "{} is {}, which is none of the {forms} forms {} takes",
                describe_value(self.instance),
                type_name(self.instance),
                self.at
            ),
        )
        .with_label(Label::primary(
            self.value_span.clone(),
            "not a form it takes",
        ))
        .with_help(format!("see {SCHEMA_PATH} for the forms of {}", self.at))
    }

    /// A key whose name does not match the pattern (rule IDs in suppressions).
    fn bad_key_name(&self, error: &ValidationError<'_>) -> Diagnostic {
        let key = error.instance().as_str().unwrap_or_default().to_string();
        let span = self.spans.key(&pointer_join(&self.pointer, &key));
        let pattern = match error.kind() {
            ValidationErrorKind::Pattern { pattern } => pattern.clone(),
            _ => String::new(),
        };
        let mut d = pattern_diag(
            &format!("a key of {}", self.at),
            error.instance(),
            span,
            &pattern,
        );
        if pattern.starts_with("^MQ-") {
            d.message = format!("`{}` is not a rule ID", key.escape_debug());
            d.help = Some("rule IDs look like `MQ-TLS-001`".into());
        }
        d
    }
}

/// Help that names the schema's description and examples of the failing value.
fn type_help(schema_path: &str) -> String {
    let node = parent_schema(schema_path);
    let description = node
        .and_then(|n| n.get("description"))
        .and_then(Value::as_str);
    let examples = node
        .and_then(|n| n.get("examples"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    e.as_str()
                        .map(|s| format!("`{s}`"))
                        .unwrap_or_else(|| e.to_string())
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
    match (description, examples) {
        (Some(d), Some(e)) => format!("{} For example {e}.", d.trim_end()),
        (Some(d), None) => d.trim_end().to_string(),
        (None, Some(e)) => format!("for example {e}"),
        (None, None) => format!("see {SCHEMA_PATH}"),
    }
}

fn unitless_duration(schema_path: &str, instance: &Value) -> Option<String> {
    let node = parent_schema(schema_path)?;
    if node.get("pattern").and_then(Value::as_str) == Some(units::DURATION_PATTERN)
        && instance.is_number()
    {
        Some(format!(
            "a duration needs a unit: `{instance}s`, `{instance}m`, `{instance}h` ..."
        ))
    } else {
        None
    }
}

fn range_diag(
    at: &str,
    instance: &Value,
    span: crate::source::Span,
    what: String,
    schema_path: &str,
) -> Diagnostic {
    let node = parent_schema(schema_path);
    let min = node.and_then(|n| n.get("minimum").or_else(|| n.get("minLength")));
    let max = node.and_then(|n| n.get("maximum").or_else(|| n.get("maxLength")));
    let help = match (min, max) {
        (Some(a), Some(b)) if node.and_then(|n| n.get("minLength")).is_some() => {
            format!("use {a} to {b} characters")
        }
        (Some(a), Some(b)) => format!("use a value from {a} to {b}"),
        (Some(a), None) => format!("use a value of at least {a}"),
        (None, Some(b)) => format!("use a value of at most {b}"),
        (None, None) => format!("see {SCHEMA_PATH}"),
    };
    Diagnostic::error(
        Code::OutOfRange,
        format!("{at} is {}: {what}", describe_value(instance)),
    )
    .with_label(Label::primary(span, "out of range"))
    .with_help(help)
}

fn help_pattern_diag(
    at: &str,
    instance: &Value,
    span: crate::source::Span,
    what: &str,
    help: &str,
) -> Diagnostic {
    Diagnostic::error(
        Code::Pattern,
        format!("{} is not {what} ({at})", describe_value(instance)),
    )
    .with_label(Label::primary(span, format!("not {what}")))
    .with_help(help.to_string())
}

fn pattern_diag(
    at: &str,
    instance: &Value,
    span: crate::source::Span,
    pattern: &str,
) -> Diagnostic {
    let value = instance.as_str().unwrap_or_default();
    match units::pattern_info(pattern) {
        Some(info) => {
            let why = info
                .explain
                .map(|f| format!(": {}", f(value)))
                .unwrap_or_default();
            let code = if info.pattern == units::IDENT_PATTERN {
                Code::UnsafeIdentifier
            } else {
                Code::Pattern
            };
            Diagnostic::error(
                code,
                format!(
                    "{} is not {} ({at}){why}",
                    describe_value(instance),
                    info.what
                ),
            )
            .with_label(Label::primary(span, format!("not {}", info.what)))
            .with_help(info.help)
        }
        None => Diagnostic::error(
            Code::Pattern,
            format!(
                "{} does not have the form {at} needs",
                describe_value(instance)
            ),
        )
        .with_label(Label::primary(span, format!("does not match `{pattern}`")))
        .with_help(format!("the value must match the pattern `{pattern}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_paths() {
        assert_eq!(human_path(""), "the site");
        assert_eq!(human_path("/nodes/1/name"), "`nodes[1].name`");
        assert_eq!(human_path("/roles/a~1b"), "`roles.a/b`");
    }

    #[test]
    fn the_schema_offers_no_nulls() {
        assert!(!schema_text().contains("\"null\""));
    }

    #[test]
    fn every_integer_is_bounded() {
        fn walk(v: &Value, path: &str, bad: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    let is_int = m.get("type").is_some_and(|t| {
                        t == "integer"
                            || t.as_array()
                                .is_some_and(|a| a.iter().any(|x| x == "integer"))
                    });
                    if is_int && (m.get("maximum").is_none() || m.get("minimum").is_none()) {
                        bad.push(path.to_string());
                    }
                    for (k, c) in m {
                        walk(c, &format!("{path}/{k}"), bad);
                    }
                }
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, c)| walk(c, &format!("{path}/{i}"), bad)),
                _ => {}
            }
        }
        let mut bad = Vec::new();
        walk(schema(), "", &mut bad);
        assert!(bad.is_empty(), "integers without a range: {bad:?}");
    }

    #[test]
    fn every_object_rejects_unknown_keys() {
        fn walk(v: &Value, path: &str, bad: &mut Vec<String>) {
            if let Value::Object(m) = v {
                if m.get("type") == Some(&Value::String("object".into()))
                    && m.contains_key("properties")
                    && m.get("additionalProperties") != Some(&Value::Bool(false))
                {
                    bad.push(path.to_string());
                }
                for (k, c) in m {
                    walk(c, &format!("{path}/{k}"), bad);
                }
            }
        }
        let mut bad = Vec::new();
        walk(schema(), "", &mut bad);
        assert!(bad.is_empty(), "objects that accept unknown keys: {bad:?}");
    }
}
