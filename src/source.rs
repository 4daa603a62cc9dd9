//! Source files and positions: a file's text, [`Span`]s into it, the
//! [`SpanMap`] from JSON pointers back to positions, and the one bounded
//! reader every input goes through. The bottom layer: nothing here reports a
//! diagnostic (the loaders in `formats` do, with these spans).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Largest spec file accepted.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// A loaded source file: its name as the user gave it and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Spans of secret values (inline passwords): every snippet of this file
    /// shows them masked, whatever diagnostic prints the line.
    secrets: std::sync::Mutex<Vec<Span>>,
    /// Byte offset of the start of every line, built on first use, so that
    /// [`SourceFile::line_text`] costs O(log lines) instead of a scan.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// Why [`read_bounded`] returned no bytes.
#[derive(Debug)]
pub enum ReadError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// The file holds more than the limit: `known_size` is its size when the
    /// file system knows it (regular files), None for devices, FIFOs and pipes.
    TooLarge { known_size: Option<u64> },
}

/// Reads a whole file, refusing it once it holds more than `limit` bytes.
/// Every input (spec, audited files, certificates) is read through this one
/// reader: the size in the file's metadata is only a first check, the read
/// itself stops at `limit + 1` bytes, so `/dev/zero`, a FIFO or a pipe that
/// never ends is refused after `limit` bytes like a large regular file.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let known_size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if known_size.is_some_and(|size| size > limit as u64) {
        return Err(ReadError::TooLarge { known_size });
    }
    let mut bytes = Vec::with_capacity(known_size.unwrap_or(0).min(limit as u64) as usize);
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge { known_size: None });
    }
    Ok(bytes)
}

/// What a refused read means to the user: the file named, with the limit.
pub fn read_error_message(name: &str, limit: usize, what: &str, error: &ReadError) -> String {
    match error {
        ReadError::Io(e) => format!("cannot read `{name}`: {e}"),
        ReadError::TooLarge {
            known_size: Some(size),
        } => format!("`{name}` is {size} bytes; {what} may be at most {limit} bytes"),
        ReadError::TooLarge { known_size: None } => format!(
            "`{name}` holds more than {limit} bytes (read stopped there); {what} may be at most {limit} bytes"
        ),
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: std::sync::OnceLock::new(),
            secrets: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Marks a span of this file as a secret value: [`SourceFile::shown_line`]
    /// masks it from then on.
    pub fn mark_secret(&self, span: &Span) {
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.push(span.clone());
        }
    }

    /// A 1-based line as diagnostics show it: secret values masked with `*`
    /// (one per character), control characters as `\u{..}` (a line cannot
    /// carry terminal escapes or break the snippet).
    pub fn shown_line(&self, line: usize) -> String {
        let text = self.line_text(line).unwrap_or("");
        let secrets = self.secrets.lock().map(|s| s.clone()).unwrap_or_default();
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let col = i + 1;
                let secret = secrets.iter().any(|s| {
                    (s.line < line || (s.line == line && s.col <= col))
                        && (s.end_line > line || (s.end_line == line && col < s.end_col))
                });
                if secret {
                    '*'
                } else if c.is_control() && c != '\t' {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect()
    }

    /// The text of a 1-based line, without its line ending (as `str::lines`
    /// gives it). O(log lines) after a first O(bytes) pass.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(at, _)| at + 1))
                .filter(|&at| at < self.text.len())
                .collect()
        });
        let start = *starts.get(line.checked_sub(1)?)?;
        let rest = &self.text[start..];
        Some(match rest.split_once('\n') {
            Some((text, _)) => text.strip_suffix('\r').unwrap_or(text),
            None => rest,
        })
    }

    /// How many lines `str::lines` yields for the text.
    pub fn line_count(&self) -> usize {
        // Built by line_text; a line past the end yields None.
        let _ = self.line_text(1);
        self.line_starts.get().map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn line_text_agrees_with_str_lines() {
        for text in [
            "",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\r\n",
            "\n\n",
            "a\r",
            "a\rb\nc\r",
            "é\nü\r\n\n",
        ] {
            let file = SourceFile::new("t", text);
            let expected: Vec<&str> = text.lines().collect();
            for line in 0..expected.len() + 3 {
                let want = line.checked_sub(1).and_then(|i| expected.get(i).copied());
                assert_eq!(file.line_text(line), want, "{text:?} line {line}");
            }
            assert_eq!(file.line_count(), expected.len(), "{text:?}");
        }
    }

    #[test]
    fn bounded_reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let exact = dir.path().join("exact");
        std::fs::write(&exact, b"0123456789").unwrap();
        assert_eq!(read_bounded(&exact, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_bounded(&exact, 9),
            Err(ReadError::TooLarge {
                known_size: Some(10)
            })
        ));
        // A device has no size: the read itself stops one byte past the limit.
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::TooLarge { known_size: None })
        ));
        assert!(matches!(
            read_bounded(dir.path(), 10),
            Err(ReadError::Io(_))
        ));
    }
}

/// A position range in a source file. Lines are 1-based, columns are 1-based
/// and count characters.
#[derive(Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

impl Span {
    pub fn point(file: &Arc<SourceFile>, line: usize, col: usize) -> Span {
        Span {
            file: file.clone(),
            line,
            col,
            end_line: line,
            end_col: col + 1,
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.name, self.line, self.col)
    }
}

/// Where a JSON pointer's value sits in the source, and its key if it is a
/// mapping entry.
#[derive(Clone, Debug)]
pub struct Located {
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON pointer -> position, for every value of a loaded document.
#[derive(Clone, Debug)]
pub struct SpanMap {
    file: Arc<SourceFile>,
    entries: HashMap<String, Located>,
}

impl SpanMap {
    /// A map of `file`'s pointers (built by the YAML loader).
    pub fn new(file: Arc<SourceFile>, entries: HashMap<String, Located>) -> SpanMap {
        SpanMap { file, entries }
    }

    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    /// Every pointer and its position, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Located)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn get(&self, pointer: &str) -> Option<&Located> {
        self.entries.get(pointer)
    }

    /// The span of the value at `pointer`, or of its nearest ancestor present.
    pub fn value(&self, pointer: &str) -> Span {
        self.nearest(pointer).value.clone()
    }

    /// The span of the key naming `pointer` (the value's span for sequence
    /// items and the root), or of its nearest ancestor present.
    pub fn key(&self, pointer: &str) -> Span {
        let located = self.nearest(pointer);
        located.key.clone().unwrap_or_else(|| located.value.clone())
    }

    fn nearest(&self, pointer: &str) -> &Located {
        let mut p = pointer;
        loop {
            if let Some(l) = self.entries.get(p) {
                return l;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.entries.get("").expect("root is always mapped"),
            }
        }
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Joins a pointer and a segment.
pub fn pointer_join(base: &str, segment: impl fmt::Display) -> String {
    format!("{base}/{}", pointer_segment(&segment.to_string()))
}
