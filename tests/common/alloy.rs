//! A lexer and block reader for Grafana Alloy's configuration syntax, for
//! the tests that check a rendered config.alloy without Alloy (no Debian
//! package has it). Follows grafana/alloy at commit
//! 66ebea856dffb242f921775e9552a133f60dc5c1,
//! docs/sources/get-started/syntax.md (`//` and `/* */` comments, blocks,
//! attributes) and docs/sources/get-started/expressions/types_and_values.md
//! (strings with `\` escapes, arrays, objects with quoted keys).

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Ident(String),
    Str(String),
    Punct(char),
    Newline,
}

/// Tokens of `text`; an unterminated string or block comment, a newline in
/// a string, an unknown escape or a stray character is an error.
pub fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' => out.push(Token::Newline),
            c if c.is_whitespace() => {}
            '/' if it.peek() == Some(&'/') => {
                for c in it.by_ref() {
                    if c == '\n' {
                        out.push(Token::Newline);
                        break;
                    }
                }
            }
            '/' if it.peek() == Some(&'*') => {
                it.next();
                let mut last = '\0';
                loop {
                    match it.next() {
                        None => return Err("unterminated /* comment".into()),
                        Some('/') if last == '*' => break,
                        Some(c) => last = c,
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match it.next() {
                        None | Some('\n') => return Err(format!("unterminated string {s:?}")),
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            other => return Err(format!("escape \\{other:?} in {s:?}")),
                        },
                        Some(c) => s.push(c),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = c.to_string();
                while let Some(&c) = it.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        s.push(c);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Ident(s));
            }
            '{' | '}' | '[' | ']' | '(' | ')' | '=' | ',' | '.' => out.push(Token::Punct(c)),
            c => return Err(format!("unexpected {c:?}")),
        }
    }
    Ok(out)
}

/// A block: its dotted name, its label, its attributes (name and value
/// tokens) and the blocks inside it.
#[derive(Debug, Default)]
pub struct Block {
    pub name: String,
    pub label: Option<String>,
    pub attrs: Vec<(String, Vec<Token>)>,
    pub blocks: Vec<Block>,
}

impl Block {
    pub fn attr(&self, name: &str) -> Option<&[Token]> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

/// The file's top-level blocks (as the `blocks` of a nameless root);
/// brackets must balance and every statement must be a block or an
/// attribute.
pub fn parse(text: &str) -> Result<Block, String> {
    let tokens = lex(text)?;
    let mut pos = 0;
    let root = body(&tokens, &mut pos, true)?;
    Ok(root)
}

fn body(t: &[Token], pos: &mut usize, top: bool) -> Result<Block, String> {
    let mut block = Block::default();
    loop {
        match t.get(*pos) {
            None if top => return Ok(block),
            None => return Err("unclosed block".into()),
            Some(Token::Newline) => *pos += 1,
            Some(Token::Punct('}')) if !top => {
                *pos += 1;
                return Ok(block);
            }
            Some(Token::Ident(first)) => {
                let mut name = first.clone();
                *pos += 1;
                while t.get(*pos) == Some(&Token::Punct('.')) {
                    match t.get(*pos + 1) {
                        Some(Token::Ident(next)) => name = format!("{name}.{next}"),
                        other => return Err(format!("{name}. followed by {other:?}")),
                    }
                    *pos += 2;
                }
                match t.get(*pos) {
                    Some(Token::Punct('=')) if !name.contains('.') && !top => {
                        *pos += 1;
                        let value = expression(t, pos)?;
                        block.attrs.push((name, value));
                    }
                    Some(Token::Str(label)) if t.get(*pos + 1) == Some(&Token::Punct('{')) => {
                        *pos += 2;
                        let mut inner = body(t, pos, false)?;
                        inner.name = name;
                        inner.label = Some(label.clone());
                        block.blocks.push(inner);
                    }
                    Some(Token::Punct('{')) => {
                        *pos += 1;
                        let mut inner = body(t, pos, false)?;
                        inner.name = name;
                        block.blocks.push(inner);
                    }
                    other => return Err(format!("{name} followed by {other:?}")),
                }
            }
            Some(other) => return Err(format!("unexpected {other:?}")),
        }
    }
}

/// An attribute's value: tokens up to the end of its line, brackets
/// balanced (newlines inside them dropped).
fn expression(t: &[Token], pos: &mut usize) -> Result<Vec<Token>, String> {
    let mut stack = Vec::new();
    let mut out = Vec::new();
    while let Some(tok) = t.get(*pos) {
        match tok {
            Token::Newline if stack.is_empty() => break,
            Token::Newline => {}
            Token::Punct(c @ ('{' | '[' | '(')) => stack.push(*c),
            Token::Punct(c @ ('}' | ']' | ')')) => {
                let open = match c {
                    '}' => '{',
                    ']' => '[',
                    _ => '(',
                };
                if stack.last() == Some(&open) {
                    stack.pop();
                } else if stack.is_empty() && *c == '}' {
                    break; // the block's own closing brace
                } else {
                    return Err(format!("unbalanced {c}"));
                }
            }
            _ => {}
        }
        if *tok != Token::Newline {
            out.push(tok.clone());
        }
        *pos += 1;
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if out.is_empty() {
        return Err("empty value".into());
    }
    Ok(out)
}
