//! Erlang term parser (EMQX `acl.conf`) with positions.
//!
//! Reads a file of Erlang terms, each ending with `.` (what
//! `file:consult/1` accepts), keeping the 1-based line:column [`Pos`] of
//! every term. It is a small hand-written lexer plus a recursive-descent
//! parser; it never panics and reports every problem as a [`ParseError`].
//! Why hand-written: no Rust crate reads `file:consult/1` terms with
//! positions; it lexes on the shared [`super::cursor`].
//!
//! Supported: atoms (plain and `'quoted'`), strings with Erlang escapes
//! (adjacent strings are concatenated, as in Erlang), integers (with `_`
//! separators, `Base#digits` and `$c` characters), floats, unary minus,
//! tuples, lists (including `[a | [b]]` with a list tail), string binaries
//! `<<"...">>` (parsed as [`Term::Str`]) and `%` comments. Variables, maps,
//! pids and other expressions are rejected. Nesting deeper than
//! [`MAX_DEPTH`] levels is rejected so hostile input cannot overflow the
//! stack.
//!
//! Cost: linear in the text's bytes (one lexing pass, a recursive descent of
//! bounded depth).

use super::cursor::Cursor;
pub use super::cursor::Pos;

use std::fmt;

/// Maximum nesting of tuples and lists accepted.
pub const MAX_DEPTH: usize = 64;

/// An Erlang term.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// A plain or `'quoted'` atom (quotes removed).
    Atom(String),
    /// A `"double quoted"` string or a `<<"binary">>`, escapes resolved.
    Str(String),
    Int(i64),
    Float(f64),
    Tuple(Vec<Spanned>),
    List(Vec<Spanned>),
}

/// A term with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    pub term: Term,
    pub pos: Pos,
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

/// All top-level terms of the file (each must end with `.`).
pub fn parse(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let (terms, errors) = parse_recovering(text);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(terms),
    }
}

/// The terms of the file that parse, and every syntax error: after an
/// error, parsing resumes after the next term-ending `.` (a `.` followed by
/// whitespace, a comment or the end), so one broken term does not hide the
/// rest. Still linear: the resynchronisation only moves forward.
pub fn parse_recovering(text: &str) -> (Vec<Spanned>, Vec<ParseError>) {
    let mut p = Parser {
        lex: Lexer::new(text),
        peeked: None,
        last_end: Pos { line: 1, col: 1 },
        last_was_dot: false,
    };
    let mut terms = Vec::new();
    let mut errors = Vec::new();
    loop {
        match p.top_level_term() {
            Ok(Some(term)) => terms.push(term),
            Ok(None) => return (terms, errors),
            Err(e) => {
                errors.push(e);
                p.resynchronise();
            }
        }
    }
}

impl Parser {
    /// The next top-level term and its ending `.`; None at the end.
    fn top_level_term(&mut self) -> Result<Option<Spanned>, ParseError> {
        if self.peek()?.tok == Tok::Eof {
            return Ok(None);
        }
        let term = self.parse_term(0)?;
        let end = self.last_end.clone();
        let next = self.next()?;
        match next.tok {
            Tok::Dot => Ok(Some(term)),
            Tok::Eof => Err(ParseError {
                pos: end,
                message: format!(
                    "missing '.' at the end of the term starting at {}",
                    term.pos
                ),
            }),
            other => Err(ParseError {
                pos: end,
                message: format!(
                    "expected '.' to end the term starting at {}, found {}",
                    term.pos,
                    other.describe()
                ),
            }),
        }
    }

    /// After an error: unless the error's token was itself a term-ending
    /// `.`, skips the text to just after the next `.` followed by
    /// whitespace, a `%` comment or the end.
    fn resynchronise(&mut self) {
        let dot_consumed = self.last_was_dot;
        self.peeked = None;
        self.last_was_dot = false;
        if dot_consumed {
            return;
        }
        let cur = &mut self.lex.cur;
        while let Some(c) = cur.bump() {
            if c == '.' && cur.peek().is_none_or(|n| n.is_whitespace() || n == '%') {
                return;
            }
        }
    }
}

/// Renders a term back as Erlang source (for messages), e.g.
/// `{allow,all,publish,["a/#"]}`. Atoms are quoted when needed.
pub fn to_source(t: &Term) -> String {
    let mut out = String::new();
    write_term(t, &mut out);
    out
}

fn write_term(t: &Term, out: &mut String) {
    match t {
        Term::Atom(a) => {
            if atom_needs_quotes(a) {
                out.push('\'');
                escape_into(a, '\'', out);
                out.push('\'');
            } else {
                out.push_str(a);
            }
        }
        Term::Str(s) => {
            out.push('"');
            escape_into(s, '"', out);
            out.push('"');
        }
        Term::Int(i) => out.push_str(&i.to_string()),
        Term::Float(f) => {
            // Erlang floats need a '.' before any exponent: 1.0e20, not 1e20.
            let s = format!("{f:?}");
            match s.find('e') {
                Some(i) if !s[..i].contains('.') => {
                    out.push_str(&s[..i]);
                    out.push_str(".0");
                    out.push_str(&s[i..]);
                }
                _ => out.push_str(&s),
            }
        }
        Term::Tuple(items) => write_seq(items, '{', '}', out),
        Term::List(items) => write_seq(items, '[', ']', out),
    }
}

fn write_seq(items: &[Spanned], open: char, close: char, out: &mut String) {
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_term(&item.term, out);
    }
    out.push(close);
}

/// Erlang reserved words: atoms spelled like these must be quoted.
const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or",
    "orelse", "receive", "rem", "try", "when", "xor",
];

fn atom_needs_quotes(a: &str) -> bool {
    let mut chars = a.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => {}
        _ => return true,
    }
    !chars.all(is_atom_char) || RESERVED.contains(&a)
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@'
}

/// Appends `s` escaped for a literal delimited by `quote`.
fn escape_into(s: &str, quote: char, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Atom(String),
    Str(String),
    /// Magnitude of an integer literal (the sign is a separate token).
    Int(i128),
    Float(f64),
    Var(String),
    /// One of `{ } [ ] , |`.
    Punct(char),
    /// `-` (unary minus).
    Minus,
    /// `<<`
    BinOpen,
    /// `>>`
    BinClose,
    /// The `.` ending a term.
    Dot,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Atom(a) => format!("atom '{a}'"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Int(_) | Tok::Float(_) => "a number".to_string(),
            Tok::Var(v) => format!("variable '{v}'"),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Minus => "'-'".to_string(),
            Tok::BinOpen => "'<<'".to_string(),
            Tok::BinClose => "'>>'".to_string(),
            Tok::Dot => "'.'".to_string(),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

/// A token with its start position and the position just after it.
#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    pos: Pos,
    end: Pos,
}

struct Lexer {
    cur: Cursor,
}

fn err(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        pos,
        message: message.into(),
    }
}

fn describe_char(c: Option<char>) -> String {
    match c {
        None => "end of input".to_string(),
        Some('\n') => "end of line".to_string(),
        Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
        Some(c) => format!("'{c}'"),
    }
}

impl Lexer {
    fn new(text: &str) -> Self {
        let mut cur = Cursor::new(text);
        if cur.peek() == Some('\u{feff}') {
            cur.bump();
        }
        Lexer { cur }
    }

    /// Skips whitespace and `%` comments.
    fn skip_blank(&mut self) {
        while let Some(c) = self.cur.peek() {
            if c == '%' {
                while !matches!(self.cur.peek(), Some('\n') | None) {
                    self.cur.bump();
                }
            } else if c.is_whitespace() {
                self.cur.bump();
            } else {
                return;
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_blank();
        let pos = self.cur.pos();
        let tok = match self.cur.peek() {
            None => Tok::Eof,
            Some(c) if c.is_ascii_lowercase() => Tok::Atom(self.word()),
            Some(c) if c.is_ascii_uppercase() || c == '_' => Tok::Var(self.word()),
            Some(c) if c.is_ascii_digit() => self.number(&pos)?,
            Some('\'') => Tok::Atom(self.quoted('\'', "quoted atom")?),
            Some('"') => Tok::Str(self.quoted('"', "string")?),
            Some('$') => {
                self.cur.bump();
                let c = match self.cur.peek() {
                    Some('\\') => self.escape()?,
                    Some(c) => {
                        self.cur.bump();
                        c
                    }
                    None => return Err(err(pos, "expected a character after '$'")),
                };
                Tok::Int(i128::from(u32::from(c)))
            }
            Some(c @ ('{' | '}' | '[' | ']' | ',' | '|')) => {
                self.cur.bump();
                Tok::Punct(c)
            }
            Some('-') => {
                self.cur.bump();
                Tok::Minus
            }
            Some('<') if self.cur.peek_at(1) == Some('<') => {
                self.cur.bump();
                self.cur.bump();
                Tok::BinOpen
            }
            Some('>') if self.cur.peek_at(1) == Some('>') => {
                self.cur.bump();
                self.cur.bump();
                Tok::BinClose
            }
            Some('.') => {
                self.cur.bump();
                match self.cur.peek() {
                    None | Some('%') => {}
                    Some(c) if c.is_whitespace() => {}
                    c => {
                        return Err(err(
                            self.cur.pos(),
                            format!(
                                "expected whitespace or a new line after the '.' ending a term, found {}",
                                describe_char(c)
                            ),
                        ));
                    }
                }
                Tok::Dot
            }
            Some(c) => {
                return Err(err(
                    pos,
                    format!(
                        "unexpected character {}: expected a term (atom, string, number, tuple or list)",
                        describe_char(Some(c))
                    ),
                ));
            }
        };
        Ok(Token {
            tok,
            pos,
            end: self.cur.pos(),
        })
    }

    /// An atom or variable name: letters, digits, `_` and `@`.
    fn word(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.cur.peek().filter(|&c| is_atom_char(c)) {
            s.push(c);
            self.cur.bump();
        }
        s
    }

    /// Digits of `radix` with optional single `_` separators between them.
    fn digits(&mut self, radix: u32) -> String {
        let mut s = String::new();
        while let Some(c) = self.cur.peek() {
            if c.is_digit(radix) {
                s.push(c);
                self.cur.bump();
            } else if c == '_'
                && !s.is_empty()
                && self.cur.peek_at(1).is_some_and(|d| d.is_digit(radix))
            {
                self.cur.bump();
            } else {
                break;
            }
        }
        s
    }

    /// An integer (`123`, `16#ff`) or float (`1.5`, `2.0e-3`) literal.
    fn number(&mut self, pos: &Pos) -> Result<Tok, ParseError> {
        let too_large = || err(pos.clone(), "integer literal is too large");
        let int = self.digits(10);
        if self.cur.peek() == Some('#') {
            let radix: u32 = int.parse().unwrap_or(0);
            if !(2..=36).contains(&radix) {
                return Err(err(
                    pos.clone(),
                    format!("invalid integer base {int} (expected 2..36)"),
                ));
            }
            self.cur.bump();
            let digits = self.digits(radix);
            if digits.is_empty() {
                return Err(err(
                    self.cur.pos(),
                    format!("expected base-{radix} digits after '#'"),
                ));
            }
            return i128::from_str_radix(&digits, radix)
                .map(Tok::Int)
                .map_err(|_| too_large());
        }
        let is_float =
            self.cur.peek() == Some('.') && self.cur.peek_at(1).is_some_and(|c| c.is_ascii_digit());
        if !is_float {
            return int.parse::<i128>().map(Tok::Int).map_err(|_| too_large());
        }
        self.cur.bump(); // '.'
        let mut text = format!("{int}.{}", self.digits(10));
        if matches!(self.cur.peek(), Some('e' | 'E')) {
            let sign = self.cur.peek_at(1).filter(|c| *c == '+' || *c == '-');
            let digit_at = if sign.is_some() { 2 } else { 1 };
            if self
                .cur
                .peek_at(digit_at)
                .is_some_and(|c| c.is_ascii_digit())
            {
                self.cur.bump();
                text.push('e');
                if let Some(s) = sign {
                    self.cur.bump();
                    text.push(s);
                }
                text.push_str(&self.digits(10));
            }
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
            _ => Err(err(pos.clone(), "float literal is out of range")),
        }
    }

    /// A `'quoted atom'` or `"string"` delimited by `quote`; returns its
    /// contents with escapes resolved.
    fn quoted(&mut self, quote: char, what: &str) -> Result<String, ParseError> {
        let open = self.cur.pos();
        self.cur.bump();
        let mut out = String::new();
        loop {
            match self.cur.peek() {
                None => {
                    let shown = if quote == '"' { "'\"'" } else { "\"'\"" };
                    return Err(err(
                        open,
                        format!(
                            "unterminated {what}: expected a closing {shown} before end of input"
                        ),
                    ));
                }
                Some(c) if c == quote => {
                    self.cur.bump();
                    return Ok(out);
                }
                Some('\\') => out.push(self.escape()?),
                Some(c) => {
                    out.push(c);
                    self.cur.bump();
                }
            }
        }
    }

    /// An Erlang escape sequence starting at the backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let at = self.cur.pos();
        self.cur.bump(); // '\\'
        let Some(c) = self.cur.bump() else {
            return Err(err(at, "unterminated escape sequence at end of input"));
        };
        let code = match c {
            'b' => 8,
            'd' => 127,
            'e' => 27,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            's' => 32,
            't' => 9,
            'v' => 11,
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.cur.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.cur.bump();
                        }
                        None => break,
                    }
                }
                v
            }
            'x' => {
                let digits = if self.cur.peek() == Some('{') {
                    self.cur.bump();
                    let d = self.digits(16);
                    if self.cur.bump() != Some('}') {
                        return Err(err(
                            at,
                            "invalid \\x{...} escape: expected hex digits and '}'",
                        ));
                    }
                    d
                } else {
                    let mut d = String::new();
                    for _ in 0..2 {
                        match self.cur.peek().filter(|c| c.is_ascii_hexdigit()) {
                            Some(h) => {
                                d.push(h);
                                self.cur.bump();
                            }
                            None => break,
                        }
                    }
                    if d.len() != 2 {
                        return Err(err(at, "invalid \\x escape: expected two hex digits"));
                    }
                    d
                };
                u32::from_str_radix(&digits, 16).unwrap_or(u32::MAX)
            }
            '^' => match self.cur.bump() {
                Some(k) if k.is_ascii_alphabetic() => u32::from(k) & 31,
                _ => return Err(err(at, "invalid \\^ escape: expected a letter")),
            },
            // Any other escaped character stands for itself (\\ \" \' ...).
            other => u32::from(other),
        };
        char::from_u32(code).ok_or_else(|| err(at, "escape is not a valid Unicode character"))
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

struct Parser {
    lex: Lexer,
    peeked: Option<Token>,
    /// Position just after the last consumed token.
    last_end: Pos,
    /// The last consumed token was a `.` (for error recovery).
    last_was_dot: bool,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next_token()?);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => unreachable!("peeked token was just filled"),
        }
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex.next_token()?,
        };
        self.last_end = t.end.clone();
        self.last_was_dot = t.tok == Tok::Dot;
        Ok(t)
    }

    fn parse_term(&mut self, depth: usize) -> Result<Spanned, ParseError> {
        let t = self.next()?;
        let pos = t.pos.clone();
        let term = match t.tok {
            Tok::Atom(a) => Term::Atom(a),
            Tok::Str(mut s) => {
                // Adjacent string literals concatenate: "a" "b" is "ab".
                while let Tok::Str(more) = &self.peek()?.tok {
                    s.push_str(more);
                    self.next()?;
                }
                Term::Str(s)
            }
            Tok::Int(i) => Term::Int(to_i64(i, &pos)?),
            Tok::Float(f) => Term::Float(f),
            Tok::Minus => {
                let n = self.next()?;
                match n.tok {
                    Tok::Int(i) => Term::Int(to_i64(-i, &pos)?),
                    Tok::Float(f) => Term::Float(-f),
                    other => {
                        return Err(err(
                            n.pos,
                            format!("expected a number after '-', found {}", other.describe()),
                        ));
                    }
                }
            }
            Tok::Punct('{') => Term::Tuple(self.parse_seq(depth + 1, &pos, '}', "tuple")?),
            Tok::Punct('[') => Term::List(self.parse_seq(depth + 1, &pos, ']', "list")?),
            Tok::BinOpen => Term::Str(self.parse_binary(&pos)?),
            Tok::Var(v) => {
                return Err(err(
                    pos,
                    format!("unexpected variable '{v}': only constant terms are allowed (quote it as '{v}' for an atom)"),
                ));
            }
            other => {
                return Err(err(
                    pos,
                    format!(
                        "expected a term (atom, string, number, tuple or list), found {}",
                        other.describe()
                    ),
                ));
            }
        };
        Ok(Spanned { term, pos })
    }

    /// The elements of a tuple or list after its opening bracket at `open`,
    /// up to and including `close`.
    fn parse_seq(
        &mut self,
        depth: usize,
        open: &Pos,
        close: char,
        what: &str,
    ) -> Result<Vec<Spanned>, ParseError> {
        if depth > MAX_DEPTH {
            return Err(err(
                open.clone(),
                format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
            ));
        }
        let opener = if close == '}' { '{' } else { '[' };
        let unterminated = || {
            err(
                open.clone(),
                format!("unterminated {what}: this '{opener}' is never closed (expected '{close}' before end of input)"),
            )
        };
        let mut items = Vec::new();
        if self.peek()?.tok == Tok::Punct(close) {
            self.next()?;
            return Ok(items);
        }
        loop {
            if self.peek()?.tok == Tok::Eof {
                return Err(unterminated());
            }
            items.push(self.parse_term(depth)?);
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => {}
                Tok::Punct(c) if c == close => return Ok(items),
                Tok::Punct('|') if close == ']' => {
                    let tail = self.parse_term(depth)?;
                    match tail.term {
                        Term::List(rest) => items.extend(rest),
                        _ => {
                            return Err(err(
                                tail.pos,
                                "improper lists are not supported: the tail after '|' must be a list",
                            ));
                        }
                    }
                    let t = self.next()?;
                    return match t.tok {
                        Tok::Punct(']') => Ok(items),
                        Tok::Eof => Err(unterminated()),
                        other => Err(err(
                            t.pos,
                            format!(
                                "expected ']' after the list tail, found {}",
                                other.describe()
                            ),
                        )),
                    };
                }
                Tok::Eof => return Err(unterminated()),
                other => {
                    return Err(err(
                        t.pos,
                        format!(
                            "expected ',' or '{close}' in the {what} opened at {open}, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
        }
    }

    /// A binary after `<<`: string segments separated by commas, up to `>>`.
    fn parse_binary(&mut self, open: &Pos) -> Result<String, ParseError> {
        let mut out = String::new();
        if self.peek()?.tok == Tok::BinClose {
            self.next()?;
            return Ok(out);
        }
        loop {
            let t = self.next()?;
            match t.tok {
                Tok::Str(s) => out.push_str(&s),
                Tok::Eof => {
                    return Err(err(
                        open.clone(),
                        "unterminated binary: this '<<' is never closed (expected '>>')",
                    ));
                }
                other => {
                    return Err(err(
                        t.pos,
                        format!(
                            "only string binaries like <<\"text\">> are supported, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => {}
                Tok::BinClose => return Ok(out),
                Tok::Eof => {
                    return Err(err(
                        open.clone(),
                        "unterminated binary: this '<<' is never closed (expected '>>')",
                    ));
                }
                other => {
                    return Err(err(
                        t.pos,
                        format!("expected ',' or '>>' in binary, found {}", other.describe()),
                    ));
                }
            }
        }
    }
}

/// Converts a literal to `i64`, or reports it out of range.
fn to_i64(v: i128, pos: &Pos) -> Result<i64, ParseError> {
    i64::try_from(v).map_err(|_| err(pos.clone(), "integer is out of the 64-bit range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_resumes_after_the_next_term_end() {
        let text = "{a, 1}.\n{b \"x\"}.\n{c, 3}.\n{d, . {e}.\n{f, \"no end\"\n";
        let (terms, errors) = parse_recovering(text);
        let heads: Vec<String> = terms.iter().map(|t| to_source(&t.term)).collect();
        // `{d, .` fails on the '.', which ends that term: `{e}` is read.
        assert_eq!(heads, ["{a,1}", "{c,3}", "{e}"]);
        let at: Vec<(usize, usize)> = errors.iter().map(|e| (e.pos.line, e.pos.col)).collect();
        assert_eq!(at, [(2, 4), (4, 5), (5, 1)], "{errors:?}");
        // A '.' inside a term that is not followed by a blank is no resync point.
        let (terms, errors) = parse_recovering("{a b.c}.\n{ok}.\n");
        assert_eq!(terms.len(), 1, "{errors:?}");
        assert_eq!(errors.len(), 1);
        // parse is the strict form: the first error.
        assert_eq!(parse(text).unwrap_err(), errors_of(text)[0]);
    }

    fn errors_of(text: &str) -> Vec<ParseError> {
        parse_recovering(text).1
    }

    const ACL: &str = r##"%% comment
{allow, {username, {re, "^dashboard$"}}, subscribe, ["$SYS/#"]}.
{allow, {ipaddr, "127.0.0.1"}, all, ["$SYS/#", "#"]}.
{allow, {username, "admin"}, all, ["#"]}.
{allow, all, publish, ["devices/${username}/telemetry/#"]}.
{allow, {'and', [{username, "u"}, {clientid, "c"}]}, subscribe, [{eq, "devices/#"}]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
{deny, all}."##;

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    fn atom(a: &str) -> Term {
        Term::Atom(a.to_string())
    }

    fn items(t: &Spanned) -> &[Spanned] {
        match &t.term {
            Term::Tuple(v) | Term::List(v) => v,
            other => panic!("not a tuple or list: {other:?}"),
        }
    }

    fn fails(text: &str) -> ParseError {
        parse(text).expect_err("expected a parse error")
    }

    #[test]
    fn acl_sample_parses_with_positions() {
        let terms = parse(ACL).unwrap();
        assert_eq!(terms.len(), 7);
        for (i, t) in terms.iter().enumerate() {
            assert_eq!(t.pos, pos(i + 2, 1));
            assert!(matches!(t.term, Term::Tuple(_)));
        }
        let sources: Vec<String> = terms.iter().map(|t| to_source(&t.term)).collect();
        assert_eq!(
            sources,
            [
                r##"{allow,{username,{re,"^dashboard$"}},subscribe,["$SYS/#"]}"##,
                r##"{allow,{ipaddr,"127.0.0.1"},all,["$SYS/#","#"]}"##,
                r##"{allow,{username,"admin"},all,["#"]}"##,
                r##"{allow,all,publish,["devices/${username}/telemetry/#"]}"##,
                r##"{allow,{'and',[{username,"u"},{clientid,"c"}]},subscribe,[{eq,"devices/#"}]}"##,
                r##"{deny,all,subscribe,["$SYS/#",{eq,"#"}]}"##,
                "{deny,all}",
            ]
        );

        // Nested positions in the fifth rule.
        let rule = &terms[4];
        let parts = items(rule);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].term, atom("allow"));
        assert_eq!(parts[0].pos, pos(6, 2));
        let who = items(&parts[1]);
        assert_eq!(parts[1].pos, pos(6, 9));
        assert_eq!(who[0].term, atom("and"));
        assert_eq!(who[0].pos, pos(6, 10));
        let conds = items(&who[1]);
        assert_eq!(who[1].pos, pos(6, 17));
        assert_eq!(conds.len(), 2);
        assert_eq!(conds[1].pos, pos(6, 35));
        assert_eq!(items(&conds[1])[1].term, Term::Str("c".into()));
        assert_eq!(items(&conds[1])[1].pos, pos(6, 46));
        assert_eq!(parts[2].term, atom("subscribe"));
        let topics = items(&parts[3]);
        assert_eq!(topics[0].pos, pos(6, 66));
        assert_eq!(items(&topics[0])[1].term, Term::Str("devices/#".into()));
        assert_eq!(
            terms[6].term,
            Term::Tuple(vec![
                Spanned {
                    term: atom("deny"),
                    pos: pos(8, 2)
                },
                Spanned {
                    term: atom("all"),
                    pos: pos(8, 8)
                },
            ])
        );
    }

    #[test]
    fn missing_final_dot_is_an_error_at_the_end() {
        let text = ACL.trim_end_matches('.');
        let e = fails(text);
        assert_eq!(e.pos, pos(8, 12));
        assert!(e.message.contains("missing '.'"), "{}", e.message);
        assert!(e.message.contains("8:1"), "{}", e.message);

        // A forgotten dot between two terms points at the end of the first.
        let e = fails("{a, b}\n{c, d}.\n");
        assert_eq!(e.pos, pos(1, 7));
        assert!(e.message.contains("expected '.'"), "{}", e.message);
    }

    #[test]
    fn scalars_escapes_and_binaries() {
        let text = concat!(
            "[foo, 'Quoted atom', \"a\\n\\t\\\\\\\"b\", \"x\" \"y\",\n",
            " 42, -7, 1_000, 16#ff, $a, 1.5, -2.5e3, node@host, <<\"bin\">>, <<>>,\n",
            " \"\\x41\\x{263A}\\101\\s\", [], {}, [a | [b]], 'a\\'b'].\n",
        );
        let terms = parse(text).unwrap();
        assert_eq!(terms.len(), 1);
        let got: Vec<Term> = items(&terms[0]).iter().map(|s| s.term.clone()).collect();
        let b = |s: &str| Term::Str(s.to_string());
        assert_eq!(
            got,
            [
                atom("foo"),
                atom("Quoted atom"),
                b("a\n\t\\\"b"),
                b("xy"),
                Term::Int(42),
                Term::Int(-7),
                Term::Int(1000),
                Term::Int(255),
                Term::Int(97),
                Term::Float(1.5),
                Term::Float(-2500.0),
                atom("node@host"),
                b("bin"),
                b(""),
                b("A☺A "),
                Term::List(vec![]),
                Term::Tuple(vec![]),
                Term::List(vec![
                    Spanned {
                        term: atom("a"),
                        pos: pos(3, 33)
                    },
                    Spanned {
                        term: atom("b"),
                        pos: pos(3, 38)
                    },
                ]),
                atom("a'b"),
            ]
        );
        assert_eq!(to_source(&atom("Quoted atom")), "'Quoted atom'");
        assert_eq!(to_source(&atom("a'b")), "'a\\'b'");
        assert_eq!(to_source(&b("q\"\n")), "\"q\\\"\\n\"");
        assert_eq!(to_source(&Term::Float(1e20)), "1.0e20");
        assert_eq!(to_source(&Term::Float(-0.5)), "-0.5");
        assert_eq!(to_source(&Term::Int(-3)), "-3");
        assert_eq!(
            parse("-9223372036854775808.").unwrap()[0].term,
            Term::Int(i64::MIN)
        );
        assert!(parse("9223372036854775808.").is_err());
        assert!(parse("").unwrap().is_empty());
        assert!(parse("% only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn errors_are_positioned() {
        let e = fails("{allow, all, publish, [\"a/#]}.\n");
        assert_eq!(e.pos, pos(1, 24));
        assert!(e.message.contains("unterminated string"), "{}", e.message);

        let e = fails("\n  {allow, {user, \"x\"}, all\n");
        assert_eq!(e.pos, pos(2, 3));
        assert!(e.message.contains("unterminated tuple"), "{}", e.message);

        let e = fails("{allow, all, sub, [\"a\", \"b\",");
        assert_eq!(e.pos, pos(1, 19));
        assert!(e.message.contains("unterminated list"), "{}", e.message);

        let e = fails("{allow, all, sub, [\"a\"}.");
        assert_eq!(e.pos, pos(1, 23));
        assert!(e.message.contains("expected ',' or ']'"), "{}", e.message);

        let e = fails("{allow, # all}.");
        assert_eq!(e.pos, pos(1, 9));
        assert!(
            e.message.contains("unexpected character '#'"),
            "{}",
            e.message
        );

        let e = fails("{allow, User}.");
        assert_eq!(e.pos, pos(1, 9));
        assert!(e.message.contains("variable"), "{}", e.message);

        let e = fails("{a}.{b}.");
        assert_eq!(e.pos, pos(1, 5));

        let e = fails("{a,,b}.");
        assert_eq!(e.pos, pos(1, 4));

        let e = fails("[a | b].");
        assert_eq!(e.pos, pos(1, 6));
        assert!(e.message.contains("improper"), "{}", e.message);

        let e = fails("'abc");
        assert_eq!(e.pos, pos(1, 1));
        assert!(
            e.message.contains("unterminated quoted atom"),
            "{}",
            e.message
        );

        let e = fails("- a.");
        assert_eq!(e.pos, pos(1, 3));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let ok = format!("{}{}.", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let e = fails(&format!(
            "{}{}.",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        ));
        assert!(e.message.contains("nesting"), "{}", e.message);
        let e = fails(&"{".repeat(100_000));
        assert!(e.message.contains("nesting"), "{}", e.message);
    }

    #[test]
    fn prefixes_and_garbage_never_panic() {
        let chars: Vec<char> = ACL.chars().collect();
        for n in 0..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            if let Ok(terms) = parse(&prefix) {
                for t in &terms {
                    let _ = to_source(&t.term);
                }
            }
        }
        let alphabet: Vec<char> = "{}[],.|'\"\\%$#<>-_ \nAa19e\u{e9}x".chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let len = (seed % 40) as usize;
            let mut text = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&text);
            seed = seed.wrapping_add(0x2545_f491_4f6c_dd1d);
        }
    }
}
