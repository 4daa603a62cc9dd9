//! Just enough PromQL for the OBS rules: the metric names an expression
//! reads, its top-level comparison with a number, and the unit of the side
//! compared (per second for `rate()`, per window for `increase()`, scaled by
//! constant factors). A tokenizer, not a parser: it never fails and never
//! panics; what it cannot tell it leaves unknown. Why hand-written: the
//! Rust PromQL parsers are unmaintained or pull a large tree for the three
//! facts read here, and promtool (when installed) judges full syntax.
//!
//! Cost: linear in the expression's bytes (one tokenizing pass; the queries
//! scan the tokens once).

/// PromQL keywords and modifiers that look like identifiers.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
    "inf",
    "nan",
];

/// Aggregation operators: `sum by (job) (x)` puts the modifier between the
/// operator and its parenthesis.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An identifier (metric, function, keyword) and its byte offset.
    Ident(String, usize),
    Number(f64),
    /// A duration inside `[...]` or after `offset`, in seconds.
    Duration(f64),
    /// A string literal (content not kept).
    Str,
    /// Punctuation or an operator: `(`, `)`, `{`, `}`, `[`, `]`, `,`, `>`, `>=`, `*`, ...
    Op(String),
}

/// Splits an expression into tokens. Unknown characters are skipped.
pub fn tokens(expr: &str) -> Vec<Tok> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            // A comment runs to the end of the line.
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            let q = c;
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' && q != b'`' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str);
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let word = &expr[start..i];
            match word.to_ascii_lowercase().as_str() {
                "inf" => out.push(Tok::Number(f64::INFINITY)),
                "nan" => out.push(Tok::Number(f64::NAN)),
                _ => out.push(Tok::Ident(word.to_string(), start)),
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                // Exponents: 1e+3.
                if (b[i] == b'e' || b[i] == b'E')
                    && matches!(b.get(i + 1), Some(b'+') | Some(b'-'))
                    && !expr[start..i].contains(|ch: char| ch.is_ascii_alphabetic())
                {
                    i += 1;
                }
                i += 1;
            }
            let text = &expr[start..i];
            match parse_number(text) {
                Some(n) => out.push(Tok::Number(n)),
                None => match parse_duration(text) {
                    Some(d) => out.push(Tok::Duration(d)),
                    None => out.push(Tok::Ident(text.to_string(), start)),
                },
            }
        } else {
            let two = expr.get(i..i + 2).unwrap_or("");
            if matches!(two, ">=" | "<=" | "==" | "!=" | "=~" | "!~") {
                out.push(Tok::Op(two.to_string()));
                i += 2;
            } else {
                let ch = expr[i..].chars().next().unwrap_or(' ');
                out.push(Tok::Op(ch.to_string()));
                i += ch.len_utf8();
            }
        }
    }
    out
}

fn parse_number(text: &str) -> Option<f64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    text.replace('_', "")
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
}

/// A PromQL duration (`5m`, `1h30m`, `90s`, `500ms`) in seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            match rest.chars().next() {
                Some('s') => (1.0, 1),
                Some('m') => (60.0, 1),
                Some('h') => (3600.0, 1),
                Some('d') => (86_400.0, 1),
                Some('w') => (604_800.0, 1),
                Some('y') => (31_536_000.0, 1),
                _ => return None,
            }
        };
        total += n * unit;
        rest = &rest[len..];
    }
    Some(total)
}

/// The metric names an expression reads, with their byte offsets, in order
/// (duplicates kept). Functions, keywords, label names and label values are
/// not metric names.
pub fn metric_names(expr: &str) -> Vec<(String, usize)> {
    let toks = tokens(expr);
    let mut out = Vec::new();
    let mut brace = 0usize;
    let mut bracket = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Op(o) if o == "{" => brace += 1,
            Tok::Op(o) if o == "}" => brace = brace.saturating_sub(1),
            Tok::Op(o) if o == "[" => bracket += 1,
            Tok::Op(o) if o == "]" => bracket = bracket.saturating_sub(1),
            Tok::Ident(word, off) if brace == 0 && bracket == 0 => {
                let lower = word.to_ascii_lowercase();
                let next_is_paren = matches!(toks.get(i + 1), Some(Tok::Op(o)) if o == "(")
                    || (AGGREGATIONS.contains(&lower.as_str())
                        && matches!(toks.get(i + 1), Some(Tok::Ident(m, _)) if m == "by" || m == "without"));
                if LABEL_LISTS.contains(&lower.as_str()) && next_is_paren {
                    // Skip the label list.
                    let mut depth = 0usize;
                    i += 1;
                    while i < toks.len() {
                        match &toks[i] {
                            Tok::Op(o) if o == "(" => depth += 1,
                            Tok::Op(o) if o == ")" => {
                                depth = depth.saturating_sub(1);
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                } else if lower == "offset" {
                    // `offset 5m`: the duration is not a metric.
                    if matches!(toks.get(i + 1), Some(Tok::Ident(..))) {
                        i += 1;
                    }
                } else if !next_is_paren
                    && !KEYWORDS.contains(&lower.as_str())
                    && !word.starts_with(|c: char| c.is_ascii_digit())
                {
                    out.push((word.clone(), *off));
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Comparison operators.
const COMPARISONS: &[&str] = &[">", ">=", "<", "<=", "==", "!="];

/// A top-level comparison of an expression with a number.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The operator, normalised so the expression is on the left (`100 < x` is `x > 100`).
    pub op: String,
    pub threshold: f64,
    /// The side compared with the number.
    pub lhs: Vec<Tok>,
}

/// The last comparison at parenthesis depth 0 whose other side is a plain
/// number (`expr > 100`, `100 < expr`). `and`/`or`/`unless` split the
/// expression; the first comparison found in any part is returned.
pub fn comparisons(expr: &str) -> Vec<Comparison> {
    let toks = tokens(expr);
    // Split on top-level set operators.
    let mut parts: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut depth = 0i32;
    for t in toks {
        match &t {
            Tok::Op(o) if o == "(" || o == "{" || o == "[" => depth += 1,
            Tok::Op(o) if o == ")" || o == "}" || o == "]" => depth -= 1,
            Tok::Ident(w, _)
                if depth == 0
                    && matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "unless") =>
            {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(t);
        }
    }
    let mut out = Vec::new();
    for part in parts {
        let mut depth = 0i32;
        let mut found = None;
        for (i, t) in part.iter().enumerate() {
            match t {
                Tok::Op(o) if o == "(" || o == "{" || o == "[" => depth += 1,
                Tok::Op(o) if o == ")" || o == "}" || o == "]" => depth -= 1,
                Tok::Op(o) if depth == 0 && COMPARISONS.contains(&o.as_str()) => {
                    found = Some((i, o.clone()))
                }
                _ => {}
            }
        }
        let Some((i, op)) = found else { continue };
        let mut right: Vec<Tok> = part[i + 1..].to_vec();
        if matches!(right.first(), Some(Tok::Ident(w, _)) if w == "bool") {
            right.remove(0);
        }
        let left: Vec<Tok> = part[..i].to_vec();
        if let Some(n) = plain_number(&right) {
            out.push(Comparison {
                op,
                threshold: n,
                lhs: left,
            });
        } else if let Some(n) = plain_number(&left) {
            let flipped = match op.as_str() {
                ">" => "<",
                ">=" => "<=",
                "<" => ">",
                "<=" => ">=",
                o => o,
            };
            out.push(Comparison {
                op: flipped.to_string(),
                threshold: n,
                lhs: right,
            });
        }
    }
    out
}

/// The value of tokens that are just a number (possibly negative or in parentheses).
fn plain_number(toks: &[Tok]) -> Option<f64> {
    let inner: Vec<&Tok> = toks
        .iter()
        .filter(|t| !matches!(t, Tok::Op(o) if o == "(" || o == ")"))
        .collect();
    match inner.as_slice() {
        [Tok::Number(n)] => Some(*n),
        [Tok::Op(m), Tok::Number(n)] if m == "-" => Some(-n),
        _ => None,
    }
}

/// The time unit (in seconds) a counter expression's value is "per": 1 for
/// `rate(x[5m])`, 60 for `rate(x[5m]) * 60` or `increase(x[1m])`, 300 for
/// `increase(x[5m])`. None when the expression has no `rate`/`irate`/
/// `increase` or when it cannot tell.
pub fn per_unit_seconds(lhs: &[Tok]) -> Option<f64> {
    // The counter function and its window.
    let mut base: Option<f64> = None;
    for (i, t) in lhs.iter().enumerate() {
        let Tok::Ident(w, _) = t else { continue };
        let next_paren = matches!(lhs.get(i + 1), Some(Tok::Op(o)) if o == "(");
        if !next_paren {
            continue;
        }
        match w.as_str() {
            "rate" | "irate" => {
                base = Some(1.0);
                break;
            }
            "increase" => {
                // The first duration inside the call is its window.
                let window = lhs[i..].iter().find_map(|t| match t {
                    Tok::Duration(d) => Some(*d),
                    _ => None,
                })?;
                base = Some(window);
                break;
            }
            _ => {}
        }
    }
    let base = base?;
    // Constant factors at depth 0 of the compared side: `* 60`, `60 *`, `/ 5`.
    let mut factor = 1.0;
    let mut depth = 0i32;
    for (i, t) in lhs.iter().enumerate() {
        match t {
            Tok::Op(o) if o == "(" || o == "{" || o == "[" => depth += 1,
            Tok::Op(o) if o == ")" || o == "}" || o == "]" => depth -= 1,
            Tok::Op(o) if depth == 0 && (o == "*" || o == "/") => {
                if let Some(Tok::Number(n)) = lhs.get(i + 1) {
                    if *n != 0.0 {
                        factor *= if o == "*" { *n } else { 1.0 / n };
                    }
                } else if o == "*" {
                    if let Some(Tok::Number(n)) = i.checked_sub(1).and_then(|j| lhs.get(j)) {
                        factor *= *n;
                    }
                }
            }
            _ => {}
        }
    }
    // rate() * f counts events per f seconds; increase(x[W]) * f per W*f seconds.
    Some(base * factor)
}

/// The time unit a sentence speaks of ("per minute", "/min", "per second",
/// "/s", "per hour"), in seconds. Alert names in CamelCase count too
/// (`AuthFailuresPerMinute`).
pub fn text_unit_seconds(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    let squashed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    const UNITS: &[(&[&str], f64)] = &[
        (
            &[
                "perminute",
                "permin",
                "/min",
                "/minute",
                "aminute",
                "eachminute",
                "everyminute",
            ],
            60.0,
        ),
        (
            &[
                "persecond",
                "persec",
                "/sec",
                "/second",
                "asecond",
                "eachsecond",
                "everysecond",
            ],
            1.0,
        ),
        (
            &["perhour", "/hour", "anhour", "eachhour", "everyhour"],
            3600.0,
        ),
    ];
    let mut found: Option<f64> = None;
    for (words, unit) in UNITS {
        if words.iter().any(|w| squashed.contains(w)) {
            if found.is_some() {
                // Two units named: cannot tell.
                return None;
            }
            found = Some(*unit);
        }
    }
    if found.is_none() {
        // `/s` and `/h` only as a word end ("10/s", "msg/s"), never in paths.
        for (suffix, unit) in [("/s", 1.0), ("/h", 3600.0)] {
            let hit = lower.match_indices(suffix).any(|(i, _)| {
                let after = lower[i + suffix.len()..].chars().next();
                after.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '/')
            });
            if hit {
                if found.is_some() {
                    return None;
                }
                found = Some(unit);
            }
        }
    }
    found
}

/// A unit in words.
pub fn unit_words(seconds: f64) -> String {
    match seconds {
        s if (s - 1.0).abs() < 1e-9 => "per second".into(),
        s if (s - 60.0).abs() < 1e-9 => "per minute".into(),
        s if (s - 3600.0).abs() < 1e-9 => "per hour".into(),
        s if s > 0.0 && (s % 60.0).abs() < 1e-9 => format!("per {} minutes", s / 60.0),
        s => format!("per {s} seconds"),
    }
}

/// Whether the tokens call one of `functions`.
pub fn calls(toks: &[Tok], functions: &[&str]) -> bool {
    toks.windows(2)
        .any(|w| matches!((&w[0], &w[1]), (Tok::Ident(f, _), Tok::Op(o)) if o == "(" && functions.contains(&f.as_str())))
}

/// The quantile of a `histogram_quantile(q, ...)` call, if any.
pub fn histogram_quantile(expr: &str) -> Option<f64> {
    let toks = tokens(expr);
    toks.windows(3).find_map(|w| match (&w[0], &w[1], &w[2]) {
        (Tok::Ident(f, _), Tok::Op(o), Tok::Number(q)) if f == "histogram_quantile" && o == "(" => {
            Some(*q)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn metric_names_skip_functions_labels_and_keywords() {
        assert_eq!(
            names("sum(emqx_live_connections_count) > 240000"),
            ["emqx_live_connections_count"]
        );
        assert_eq!(
            names(
                r#"100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{job="node",mode="idle"}[5m]))) > 70"#
            ),
            ["node_cpu_seconds_total"]
        );
        assert_eq!(
            names("a / on(instance) group_left(job) b offset 5m and c unless d"),
            ["a", "b", "c", "d"]
        );
        assert_eq!(names(r#"sum without (pod) (x{le="0.5"}) by (job)"#), ["x"]);
        assert_eq!(names("rate(x[5m:1m])"), ["x"]);
        assert_eq!(names("job:requests:rate5m > 1e3"), ["job:requests:rate5m"]);
        assert!(names("").is_empty());
    }

    #[test]
    fn offsets_point_at_the_name() {
        let e = "sum(rate(broker_clients_connected[1m]))";
        let (n, off) = &metric_names(e)[0];
        assert_eq!(&e[*off..*off + n.len()], n);
    }

    #[test]
    fn comparisons_with_numbers() {
        let c = comparisons("sum(rate(x[1m])) > 100");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].op, ">");
        assert_eq!(c[0].threshold, 100.0);
        let c = comparisons("100 < sum(x)");
        assert_eq!(c[0].op, ">");
        let c = comparisons("x > bool 5");
        assert_eq!(c[0].threshold, 5.0);
        assert!(comparisons("x > y").is_empty());
        assert!(comparisons("sum(x > 3)").is_empty());
        assert_eq!(comparisons("a > 1 and b > 2").len(), 2);
        assert_eq!(comparisons("x >= 1.5e3")[0].threshold, 1500.0);
    }

    #[test]
    fn units_of_counter_expressions() {
        let unit = |e: &str| per_unit_seconds(&comparisons(e)[0].lhs);
        assert_eq!(unit("rate(x[1m]) > 100"), Some(1.0));
        assert_eq!(unit("sum(rate(x[5m])) * 60 > 100"), Some(60.0));
        assert_eq!(unit("60 * sum(irate(x[5m])) > 100"), Some(60.0));
        assert_eq!(unit("increase(x[1m]) > 100"), Some(60.0));
        assert_eq!(unit("increase(x[5m]) > 100"), Some(300.0));
        assert_eq!(unit("increase(x[5m]) / 5 > 100"), Some(60.0));
        assert_eq!(unit("sum(x) > 100"), None);
    }

    #[test]
    fn units_in_words() {
        assert_eq!(
            text_unit_seconds("More than 100 failures per minute"),
            Some(60.0)
        );
        assert_eq!(text_unit_seconds("100/min"), Some(60.0));
        assert_eq!(text_unit_seconds("AuthFailuresPerMinute"), Some(60.0));
        assert_eq!(text_unit_seconds("10 msg/s"), Some(1.0));
        assert_eq!(text_unit_seconds("see /srv/docs"), None);
        assert_eq!(text_unit_seconds("per second or per minute"), None);
        assert_eq!(text_unit_seconds("queue is full"), None);
    }

    #[test]
    fn garbage_never_panics() {
        for e in [
            "",
            "(((",
            ")))",
            "{",
            "x[",
            "\"unterminated",
            "0x",
            "1e",
            "é > 3",
            "> 5",
            "rate(",
            "increase(x[zz]) > 1",
            "1e+",
            "\\",
        ] {
            let _ = metric_names(e);
            for c in comparisons(e) {
                let _ = per_unit_seconds(&c.lhs);
            }
            let _ = histogram_quantile(e);
            let _ = text_unit_seconds(e);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
