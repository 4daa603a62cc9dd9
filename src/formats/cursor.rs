//! The one character cursor of the hand-written parsers (HOCON, Erlang
//! terms, rumqttd's TOML): characters with their 1-based line and column
//! (columns count chars, not bytes), so every parser reports positions the
//! same way and a diagnostic can point at them.

use std::fmt;

/// A 1-based line and column; the column counts chars, not bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A cursor over the characters of a text that tracks line and column.
pub struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Cursor {
    pub fn new(text: &str) -> Cursor {
        Cursor::at(text, Pos { line: 1, col: 1 })
    }

    /// A cursor over a text that starts at `start` of a larger one (a
    /// shell `$(...)` lexed on its own keeps the script's positions).
    pub fn at(text: &str, start: Pos) -> Cursor {
        Cursor {
            chars: text.chars().collect(),
            i: 0,
            line: start.line,
            col: start.col,
        }
    }

    /// How many characters have been consumed.
    pub fn index(&self) -> usize {
        self.i
    }

    /// The character consumed last.
    pub fn previous(&self) -> Option<char> {
        self.i
            .checked_sub(1)
            .and_then(|i| self.chars.get(i).copied())
    }

    /// The text from character index `start` up to the cursor.
    pub fn since(&self, start: usize) -> String {
        self.chars[start.min(self.i)..self.i].iter().collect()
    }

    /// The next character, not consumed.
    pub fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    /// The character `n` after the next one, not consumed.
    pub fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.i + n).copied()
    }

    /// Whether the text at the cursor starts with `s`.
    pub fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(n, c)| self.peek_at(n) == Some(c))
    }

    /// Consumes the next character.
    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    /// Where the next character is.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    pub fn line(&self) -> usize {
        self.line
    }

    pub fn col(&self) -> usize {
        self.col
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_chars() {
        let mut c = Cursor::new("é=1\nab");
        assert!(c.starts_with("é="));
        assert_eq!(c.peek_at(1), Some('='));
        c.bump();
        assert_eq!(c.pos(), Pos { line: 1, col: 2 });
        for _ in 0..3 {
            c.bump();
        }
        assert_eq!((c.line(), c.col()), (2, 1));
        assert_eq!(c.bump(), Some('a'));
        assert_eq!(c.pos().to_string(), "2:2");
        c.bump();
        assert_eq!(c.bump(), None);
        let mut c = Cursor::at("a&b", Pos { line: 7, col: 3 });
        assert_eq!(c.previous(), None);
        c.bump();
        let start = c.index();
        c.bump();
        assert_eq!((c.previous(), c.since(start)), (Some('&'), "&".to_string()));
        assert_eq!(c.pos(), Pos { line: 7, col: 5 });
    }
}
