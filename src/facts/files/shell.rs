//! Backup and restore shell scripts: a file named `*.sh`, or one whose first
//! line is a `sh`/`bash` shebang.
//!
//! The script is read as commands (a small shell lexer: quotes, `$(...)`,
//! `${...}`, pipelines, comments, heredocs, line continuations; simple
//! `NAME=value` assignments are expanded in later words) and matched against
//! the tables below:
//! - strict mode: `set -euo pipefail` in any spelling (`set -e -u -o
//!   pipefail`, `set -o errexit -o nounset -o pipefail`, shebang flags);
//! - shellcheck errors, from `shellcheck --format=json1 -` on the script's
//!   text when `shellcheck` is on PATH (without it only strict mode is
//!   checked);
//! - what the script does to backups: encryption (`age`, `gpg -e/-c`,
//!   `openssl enc`/`smime -encrypt`/`cms -encrypt`, restic, borg,
//!   duplicity), shipping off-site (`aws s3 cp/mv/sync` to `s3://`, `rsync`
//!   and `scp` to `host:`, `rclone`, `gsutil`, `az storage blob upload`,
//!   `curl -T`), retention (`find ... -mtime +N -delete`, `aws s3 rm` with a
//!   date cutoff, `rclone delete --min-age`, `restic forget`, `borg prune`,
//!   `ls -t | tail -n +N | xargs rm`, a bucket lifecycle rule, or a comment
//!   naming one), stopping the broker (`systemctl stop mosquitto`, `service
//!   mosquitto stop`, `emqx stop`, `docker stop`, `pkill`/`kill` without a
//!   save signal), keys or credentials shipped as they are;
//! - whether it is a restore script: named `*restore*`, or (unnamed) it
//!   extracts, decrypts or imports a backup.
//!
//! Facts: every script is a [`ScriptFact`]; a backup script (or a restore
//! script) contributes to the site's one [`BackupFact`], so a backup and its
//! restore audited together are one procedure.
//!
//! Cost: linear in the script's bytes: one lexing pass, one pass over the
//! commands; variables are looked up by name, and what the rest of a pipeline
//! does is summarised once from its end.

use crate::formats::cursor::{Cursor, Pos};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::{file_name, line_span, Input};
use crate::diag::Diagnostic;
use crate::facts::{BackupFact, Facts, ScriptFact};
use crate::source::{SourceFile, Span};

/// Broker names: services, processes, containers.
const BROKERS: &[&str] = &["mosquitto", "emqx", "rumqttd", "vernemq", "hivemq"];

/// Shells whose scripts this kind reads.
const SHELLS: &[&str] = &["sh", "bash", "dash", "ksh", "zsh", "ash", "busybox"];

/// Extensions of files that are already encrypted.
const ENCRYPTED_SUFFIXES: &[&str] = &[".age", ".gpg", ".pgp", ".asc", ".enc", ".aes"];

/// What in a path says it holds keys or credentials, and how to name it.
const SECRET_PATTERNS: &[(&str, &str)] = &[
    (".key", "a private key"),
    ("private", "a private key"),
    ("passwd", "the password file"),
    ("password", "a password file"),
    ("secret", "secrets"),
    ("credential", "credentials"),
    (".p12", "a PKCS#12 key bundle"),
    (".pfx", "a PKCS#12 key bundle"),
    (
        "/etc/mosquitto",
        "the broker's configuration (keys and password file)",
    ),
    (
        "/etc/emqx",
        "the broker's configuration (keys and credentials)",
    ),
    ("/etc/rumqttd", "the broker's configuration (keys)"),
    ("/certs", "certificates and keys"),
    ("/pki", "the PKI (keys)"),
    ("/ssl", "certificates and keys"),
];

/// `aws` options that take a value (so the value is not a path).
const AWS_VALUE_FLAGS: &[&str] = &[
    "--sse",
    "--sse-c",
    "--sse-c-key",
    "--sse-kms-key-id",
    "--storage-class",
    "--exclude",
    "--include",
    "--profile",
    "--region",
    "--acl",
    "--endpoint-url",
    "--expected-size",
    "--cache-control",
    "--content-type",
    "--metadata",
    "--grants",
    "--expires",
    "--output",
];

/// restic/borg options that take a value.
const BACKUP_TOOL_VALUE_FLAGS: &[&str] = &[
    "-r",
    "--repo",
    "-p",
    "--password-file",
    "--password-command",
    "--cache-dir",
    "-o",
    "--option",
    "--tag",
    "--host",
    "-H",
    "-e",
    "--exclude",
    "--exclude-file",
    "--files-from",
    "--keep-last",
    "--keep-hourly",
    "--keep-daily",
    "--keep-weekly",
    "--keep-monthly",
    "--keep-yearly",
    "--keep-within",
    "--compression",
];

/// Recognises a shell script by name or shebang.
pub fn detect(path: &Path, text: &str) -> bool {
    if file_name(path).ends_with(".sh") {
        return true;
    }
    shebang_shell(text.lines().next().unwrap_or("")).is_some()
}

/// The shell a `#!` line names, with the flags it passes.
fn shebang_shell(line: &str) -> Option<(String, Vec<String>)> {
    let rest = line.strip_prefix("#!")?.trim();
    let mut parts = rest.split_whitespace();
    let mut prog = parts.next()?;
    let mut args: Vec<&str> = parts.collect();
    if base_name(prog) == "env" {
        while args.first().is_some_and(|a| a.starts_with('-')) {
            args.remove(0);
        }
        if args.is_empty() {
            return None;
        }
        prog = args.remove(0);
    }
    let name = base_name(prog);
    SHELLS.contains(&name).then(|| {
        (
            name.to_string(),
            args.iter().map(|a| a.to_string()).collect(),
        )
    })
}

fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    if file.text.contains('\0') {
        return Err(super::parse_error(
            file,
            1,
            1,
            "shell script",
            "the file holds NUL bytes",
        ));
    }
    let a = analyze(&file.text);
    let name = file_name(&input.path).to_ascii_lowercase();
    let (backup, restore) = if name.contains("restore") {
        (false, true)
    } else if name.contains("backup") {
        (true, false)
    } else {
        let restore = a.extracts || a.decrypts || a.imports;
        let backup = a.creates || !a.ships.is_empty() || a.encrypts || a.exports;
        (backup, restore)
    };
    let first = line_span(file, 1);
    let strict_span = a
        .set_line
        .map(|l| line_span(file, l))
        .unwrap_or_else(|| first.clone());
    let errors = shellcheck(&file.text)
        .unwrap_or_default()
        .into_iter()
        .map(|e| (span(file, e.loc), e.message))
        .collect();
    facts.scripts.push(ScriptFact {
        path: file.name.clone(),
        strict: a.errexit && a.nounset && a.pipefail,
        lacks: [
            (a.errexit, "-e"),
            (a.nounset, "-u"),
            (a.pipefail, "-o pipefail"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, flag)| flag)
        .collect(),
        errors,
        span: strict_span,
    });
    if backup {
        let fact = BackupFact {
            every_s: None,
            scheduled: false,
            encrypted: a.encrypts,
            retention: a.retention,
            restore,
            stops_broker: a.stop.is_some(),
            span: first,
            declared: true,
            ship_span: a.ships.first().map(|l| span(file, *l)),
            stop_span: a.stop.map(|l| span(file, l)),
            plaintext: a
                .plaintext
                .iter()
                .map(|(l, what)| (span(file, *l), what.clone()))
                .collect(),
        };
        merge_backup(facts, fact);
    } else if restore {
        match facts.backup.as_mut() {
            Some(b) => b.restore = true,
            None => {
                facts.backup = Some(BackupFact {
                    every_s: None,
                    scheduled: false,
                    encrypted: false,
                    retention: false,
                    restore: true,
                    stops_broker: false,
                    span: first,
                    declared: false,
                    ship_span: None,
                    stop_span: None,
                    plaintext: Vec::new(),
                })
            }
        }
    }
    Ok(())
}

/// Adds a backup script's facts to the site's backup: the procedure is as
/// weak as its weakest script.
fn merge_backup(facts: &mut Facts, new: BackupFact) {
    let Some(old) = facts.backup.as_mut() else {
        facts.backup = Some(new);
        return;
    };
    if !old.declared {
        // Only a restore script was seen so far.
        let restore = old.restore;
        *old = BackupFact {
            every_s: None,
            restore: restore || new.restore,
            ..new
        };
        return;
    }
    if old.encrypted && !new.encrypted || old.retention && !new.retention {
        old.span = new.span.clone();
        old.ship_span = new.ship_span.clone().or(old.ship_span.take());
    }
    old.encrypted &= new.encrypted;
    old.retention &= new.retention;
    old.restore |= new.restore;
    if !old.stops_broker && new.stops_broker {
        old.stops_broker = true;
        old.stop_span = new.stop_span;
    }
    old.plaintext.extend(new.plaintext);
}

// ------------------------------------------------------------------ lexer

/// A position range in the script (1-based lines and character columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Loc {
    line: usize,
    col: usize,
    end_line: usize,
    end_col: usize,
}

fn span(file: &Arc<SourceFile>, l: Loc) -> Span {
    Span {
        file: file.clone(),
        line: l.line,
        col: l.col,
        end_line: l.end_line,
        end_col: l.end_col.max(l.col + 1),
    }
}

#[derive(Clone, Debug)]
struct Word {
    /// The word with quotes removed (`$VAR`, `${...}`, `$(...)` kept as written).
    text: String,
    loc: Loc,
}

#[derive(Clone, Debug, Default)]
struct Cmd {
    words: Vec<Word>,
    /// Connected to the previous command by `|`.
    piped: bool,
}

impl Cmd {
    fn loc(&self) -> Option<Loc> {
        let first = self.words.first()?.loc;
        let last = self.words.last()?.loc;
        Some(Loc {
            line: first.line,
            col: first.col,
            end_line: last.end_line,
            end_col: last.end_col,
        })
    }
}

#[derive(Debug, Default)]
struct Lexed {
    cmds: Vec<Cmd>,
    comments: Vec<(usize, String)>,
}

struct Lexer {
    /// The shared cursor ([`crate::formats::cursor`]).
    src: Cursor,
    out: Lexed,
    cur: Cmd,
    next_piped: bool,
    heredocs: Vec<(String, bool)>,
    /// Nesting of `$(...)` lexed recursively (bounded: garbage cannot recurse forever).
    depth: usize,
}

/// Splits a script into commands. Never fails: unbalanced quotes or
/// parentheses end at the end of the text.
fn lex(text: &str) -> Lexed {
    let mut lx = Lexer::new(text, 1, 1, 0);
    lx.run();
    lx.out
}

impl Lexer {
    fn new(text: &str, line: usize, col: usize, depth: usize) -> Lexer {
        Lexer {
            src: Cursor::at(text, Pos { line, col }),
            out: Lexed::default(),
            cur: Cmd::default(),
            next_piped: false,
            heredocs: Vec::new(),
            depth,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src.peek()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src.peek_at(n)
    }

    fn bump(&mut self) -> Option<char> {
        self.src.bump()
    }

    fn end_cmd(&mut self) {
        let cmd = std::mem::take(&mut self.cur);
        if !cmd.words.is_empty() {
            self.out.cmds.push(Cmd {
                piped: self.next_piped,
                ..cmd
            });
        }
        self.next_piped = false;
    }

    fn run(&mut self) {
        let mut drop_next_word = false;
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                '\\' if self.peek_at(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                '\n' => {
                    self.bump();
                    self.end_cmd();
                    self.skip_heredocs();
                }
                '#' => {
                    let line = self.src.line();
                    let mut text = String::new();
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        text.push(c);
                        self.bump();
                    }
                    self.out.comments.push((line, text));
                }
                ';' | '(' | ')' | '`' => {
                    self.bump();
                    self.end_cmd();
                }
                '&' if self.peek_at(1) == Some('>') => {
                    self.bump();
                    self.bump();
                    if self.peek() == Some('>') {
                        self.bump();
                    }
                    drop_next_word = true;
                }
                '&' => {
                    self.bump();
                    if self.peek() == Some('&') {
                        self.bump();
                    }
                    self.end_cmd();
                }
                '|' => {
                    self.bump();
                    // `||` is a list, `|` and `|&` a pipe.
                    let pipe = !matches!(self.peek(), Some('|'));
                    if matches!(self.peek(), Some('|' | '&')) {
                        self.bump();
                    }
                    self.end_cmd();
                    self.next_piped = pipe;
                }
                '<' | '>' => {
                    if self.redirect() {
                        drop_next_word = true;
                    }
                }
                _ => {
                    let word = self.word();
                    let fd_before_redirect = matches!(self.peek(), Some('<' | '>'))
                        && !word.text.is_empty()
                        && word.text.chars().all(|c| c.is_ascii_digit());
                    if drop_next_word {
                        drop_next_word = false;
                    } else if !fd_before_redirect {
                        self.cur.words.push(word);
                    }
                }
            }
        }
        self.end_cmd();
    }

    /// A redirection operator; returns whether a target word follows.
    fn redirect(&mut self) -> bool {
        let first = self.bump().unwrap_or('>');
        if first == '<' && self.peek() == Some('<') {
            self.bump();
            if self.peek() == Some('<') {
                // Here-string: the next word is data.
                self.bump();
                return true;
            }
            let strip = self.peek() == Some('-');
            if strip {
                self.bump();
            }
            while matches!(self.peek(), Some(' ' | '\t')) {
                self.bump();
            }
            let delim = self.word().text;
            if !delim.is_empty() {
                self.heredocs.push((delim, strip));
            }
            return false;
        }
        while matches!(self.peek(), Some('>' | '&' | '|')) {
            self.bump();
        }
        // `2>&1`, `>&2`: the target is a descriptor.
        if self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-')
            && self.src.previous() == Some('&')
        {
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-') {
                self.bump();
            }
            return false;
        }
        true
    }

    fn skip_heredocs(&mut self) {
        let pending = std::mem::take(&mut self.heredocs);
        for (delim, strip) in pending {
            loop {
                if self.peek().is_none() {
                    return;
                }
                let mut line = String::new();
                while let Some(c) = self.peek() {
                    self.bump();
                    if c == '\n' {
                        break;
                    }
                    line.push(c);
                }
                let body = if strip {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if body.trim_end_matches('\r') == delim {
                    break;
                }
            }
        }
    }

    fn word(&mut self) -> Word {
        let (line, col) = (self.src.line(), self.src.col());
        let mut text = String::new();
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(c) => text.push(c),
                    }
                }
                '\'' => {
                    self.bump();
                    while let Some(c) = self.bump() {
                        if c == '\'' {
                            break;
                        }
                        text.push(c);
                    }
                }
                '"' => {
                    self.bump();
                    self.double_quoted(&mut text);
                }
                '$' if self.peek_at(1) == Some('(') => {
                    let inner = self.substitution();
                    text.push_str(&inner);
                }
                '$' if self.peek_at(1) == Some('{') => {
                    self.braced(&mut text);
                }
                _ => {
                    text.push(c);
                    self.bump();
                }
            }
        }
        Word {
            text,
            loc: Loc {
                line,
                col,
                end_line: self.src.line(),
                end_col: self.src.col(),
            },
        }
    }

    fn double_quoted(&mut self, text: &mut String) {
        while let Some(c) = self.peek() {
            match c {
                '"' => {
                    self.bump();
                    return;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(c @ ('"' | '\\' | '$' | '`')) => text.push(c),
                        Some(c) => {
                            text.push('\\');
                            text.push(c);
                        }
                    }
                }
                '$' if self.peek_at(1) == Some('(') => {
                    let inner = self.substitution();
                    text.push_str(&inner);
                }
                '$' if self.peek_at(1) == Some('{') => self.braced(text),
                _ => {
                    text.push(c);
                    self.bump();
                }
            }
        }
    }

    /// `${...}`, kept as written.
    fn braced(&mut self, text: &mut String) {
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            text.push(c);
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// `$(...)`: its commands are lexed too; the word keeps the text.
    fn substitution(&mut self) -> String {
        self.bump(); // $
        self.bump(); // (
        let (line, col) = (self.src.line(), self.src.col());
        let start = self.src.index();
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some('\''), '\'') => quote = None,
                (Some('\''), _) => {}
                (_, '\\') => {
                    self.bump();
                }
                (Some('"'), '"') => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            self.bump();
        }
        let inner = self.src.since(start);
        self.bump(); // )
        if self.depth < 8 {
            let mut sub = Lexer::new(&inner, line, col, self.depth + 1);
            sub.run();
            self.out.cmds.extend(sub.out.cmds);
            self.out.comments.extend(sub.out.comments);
        }
        format!("$({inner})")
    }
}

// --------------------------------------------------------------- analysis

/// What a script does, from its commands.
#[derive(Debug, Default)]
struct Analysis {
    errexit: bool,
    nounset: bool,
    pipefail: bool,
    /// The first `set` command: where strict mode belongs.
    set_line: Option<usize>,
    creates: bool,
    extracts: bool,
    exports: bool,
    imports: bool,
    encrypts: bool,
    decrypts: bool,
    ships: Vec<Loc>,
    retention: bool,
    stop: Option<Loc>,
    plaintext: Vec<(Loc, String)>,
}

/// Words that precede the command proper.
const PREFIXES: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "exec", "nohup",
    "command", "builtin", "eval",
];

/// Leading assignments and keywords dropped; assignments recorded.
fn command_words(cmd: &Cmd, vars: &mut Vec<(String, String)>) -> Vec<Word> {
    // Words are taken from the front: a deque, so each costs O(1).
    let mut words: std::collections::VecDeque<Word> = cmd.words.iter().cloned().collect();
    while let Some(first) = words.front() {
        let t = first.text.as_str();
        if PREFIXES.contains(&t) {
            words.pop_front();
        } else if let Some((name, value)) = assignment(t) {
            vars.push((name.to_string(), value.to_string()));
            words.pop_front();
        } else if matches!(t, "readonly" | "export" | "declare" | "local" | "typeset") {
            words.pop_front();
            for w in &words {
                if let Some((name, value)) = assignment(&w.text) {
                    vars.push((name.to_string(), value.to_string()));
                }
            }
            return Vec::new();
        } else if matches!(
            t,
            "sudo" | "nice" | "ionice" | "timeout" | "env" | "doas" | "chronic"
        ) {
            let wrapper = t.to_string();
            words.pop_front();
            while let Some(w) = words.front() {
                let t = w.text.as_str();
                let takes_value = matches!(
                    (wrapper.as_str(), t),
                    ("sudo" | "doas", "-u" | "-g" | "-C" | "-D")
                        | ("nice", "-n")
                        | ("ionice", "-c" | "-n")
                        | ("timeout", "-s" | "-k")
                );
                if t.starts_with('-') {
                    words.pop_front();
                    if takes_value && !words.is_empty() {
                        words.pop_front();
                    }
                } else if wrapper == "env" && assignment(t).is_some()
                    || wrapper == "timeout" && t.chars().next().is_some_and(|c| c.is_ascii_digit())
                {
                    words.pop_front();
                } else {
                    break;
                }
            }
        } else {
            break;
        }
    }
    if words.front().is_some_and(|w| {
        matches!(
            w.text.as_str(),
            "for" | "case" | "select" | "function" | "fi" | "done" | "esac" | "}" | "in"
        )
    }) {
        return Vec::new();
    }
    words.into()
}

/// `NAME=value` (also `NAME+=value`).
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let name = name.strip_suffix('+').unwrap_or(name);
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((name, value))
}

/// The value of each variable's last simple assignment whose value holds
/// no expansion itself.
fn last_values(vars: &[(String, String)]) -> HashMap<&str, &str> {
    vars.iter()
        .filter(|(_, value)| !value.contains('$'))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Expands `$NAME` and `${NAME}` of known simple assignments (three rounds,
/// for values that form new references). Linear in the word's length per
/// round.
fn expand(word: &str, values: &HashMap<&str, &str>) -> String {
    let mut out = word.to_string();
    for _ in 0..3 {
        let (next, changed) = expand_once(&out, values);
        out = next;
        if !changed {
            break;
        }
    }
    out
}

/// One pass of [`expand`]: every reference to a known variable replaced.
fn expand_once(word: &str, values: &HashMap<&str, &str>) -> (String, bool) {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(word.len());
    let mut changed = false;
    let mut rest = word;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match values.get(name).filter(|_| len > 0) {
            Some(value) => {
                out.push_str(value);
                changed = true;
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, changed)
}

/// For each command: whether a later command of its pipeline removes files,
/// and whether one is `tail` or `head` (computed from the end, once).
fn rest_of_pipelines(cmds: &[(Vec<Word>, bool, Option<Loc>)]) -> Vec<(bool, bool)> {
    let mut rest = vec![(false, false); cmds.len()];
    for idx in (0..cmds.len().saturating_sub(1)).rev() {
        let (next, piped, _) = &cmds[idx + 1];
        if !piped {
            continue;
        }
        let tail_or_head = next
            .first()
            .is_some_and(|w| matches!(base_name(&w.text), "tail" | "head"));
        rest[idx] = (
            removes(next) || rest[idx + 1].0,
            tail_or_head || rest[idx + 1].1,
        );
    }
    rest
}

fn analyze(text: &str) -> Analysis {
    let mut a = Analysis::default();
    if let Some((_, flags)) = shebang_shell(text.lines().next().unwrap_or("")) {
        set_flags(&mut a, &flags);
    }
    let lexed = lex(text);
    let mut vars: Vec<(String, String)> = Vec::new();
    let cmds: Vec<(Vec<Word>, bool, Option<Loc>)> = lexed
        .cmds
        .iter()
        .map(|c| (command_words(c, &mut vars), c.piped, c.loc()))
        .collect();
    let has_date_cutoff = has_date_cutoff(&cmds);
    let rest_of_pipeline = rest_of_pipelines(&cmds);
    let values = last_values(&vars);
    for (idx, (words, _, loc)) in cmds.iter().enumerate() {
        let Some(name) = words.first() else { continue };
        let (later_removes, later_tail_or_head) = rest_of_pipeline[idx];
        let call = Call {
            name: base_name(&name.text),
            path: &name.text,
            args: words[1..]
                .iter()
                .map(|w| expand(&w.text, &values))
                .collect(),
            loc: loc.unwrap_or(Loc {
                line: 1,
                col: 1,
                end_line: 1,
                end_col: 2,
            }),
            later_removes,
            later_tail_or_head,
            has_date_cutoff,
        };
        let handler = COMMANDS
            .iter()
            .find(|(names, _)| names.contains(&call.name))
            .map_or(init_script as Handler, |(_, handler)| *handler);
        handler(&mut a, &call);
    }
    if lexed
        .comments
        .iter()
        .any(|(_, c)| c.to_ascii_lowercase().contains("lifecycle"))
    {
        a.retention = true;
    }
    a
}

/// Whether a command computes a date to compare against (`date -d ...`).
fn has_date_cutoff(cmds: &[(Vec<Word>, bool, Option<Loc>)]) -> bool {
    cmds.iter().any(|(w, _, _)| {
        w.first().is_some_and(|n| base_name(&n.text) == "date")
            && w.iter().any(|x| {
                x.text == "-d"
                    || x.text.starts_with("--date")
                    || x.text.starts_with("-v")
                    || x.text.starts_with("-d")
            })
    })
}

/// One command of the script, as a handler sees it.
struct Call<'a> {
    /// The command's base name (`tar` for `/usr/bin/tar`).
    name: &'a str,
    /// The command word as written.
    path: &'a str,
    /// The arguments, known variables expanded.
    args: Vec<String>,
    loc: Loc,
    /// A later command of its pipeline removes files.
    later_removes: bool,
    /// A later command of its pipeline is `tail` or `head`.
    later_tail_or_head: bool,
    /// Some command of the script computes a date cutoff.
    has_date_cutoff: bool,
}

impl Call<'_> {
    fn has(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    /// The first argument that is not a flag.
    fn subcommand(&self) -> Option<&str> {
        self.args
            .iter()
            .find(|a| !a.starts_with('-'))
            .map(String::as_str)
    }
}

type Handler = fn(&mut Analysis, &Call);

/// What each command does to a backup: one handler per command (by base
/// name); any other command goes to [`init_script`].
const COMMANDS: &[(&[&str], Handler)] = &[
    (&["set"], set_command),
    (&["tar", "bsdtar"], tar),
    (&["zip", "7z", "pg_dump", "mosquitto_sub"], |a, _| {
        a.creates = true
    }),
    (&["unzip"], |a, _| a.extracts = true),
    (&["emqx", "emqx_ctl"], emqx),
    (&["age"], age),
    (&["gpg", "gpg2"], gpg),
    (&["openssl"], openssl),
    (&["restic"], restic),
    (&["borg"], borg),
    (&["duplicity"], duplicity),
    (&["aws"], |a, c| aws(a, &c.args, c.loc, c.has_date_cutoff)),
    (&["gsutil"], gsutil),
    (&["az"], az),
    (&["rclone"], rclone),
    (&["rsync", "scp"], rsync),
    (&["curl"], curl),
    (&["find"], find),
    (&["ls", "tail", "head"], listing),
    (&["systemctl"], systemctl),
    (&["service", "rc-service", "invoke-rc.d"], service),
    (
        &["docker", "podman", "docker-compose", "nerdctl"],
        container,
    ),
    (&["pkill", "killall", "kill"], kill),
    (&["vernemq", "mosquitto_ctrl"], |a, c| {
        if c.has("stop") {
            a.stop = a.stop.or(Some(c.loc));
        }
    }),
];

fn set_command(a: &mut Analysis, c: &Call) {
    if a.set_line.is_none() {
        a.set_line = Some(c.loc.line);
    }
    set_flags(a, &c.args);
}

fn tar(a: &mut Analysis, c: &Call) {
    let (creates, extracts) = tar_mode(&c.args);
    a.creates |= creates;
    a.extracts |= extracts;
}

/// `emqx ctl data export|import`, `emqx stop`.
fn emqx(a: &mut Analysis, c: &Call) {
    let rest: Vec<&str> = c
        .args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "ctl")
        .collect();
    match rest.as_slice() {
        ["data", "export", ..] => a.exports = true,
        ["data", "import", ..] => a.imports = true,
        ["stop", ..] => a.stop = a.stop.or(Some(c.loc)),
        _ => {}
    }
}

fn age(a: &mut Analysis, c: &Call) {
    if c.has("-d") || c.has("--decrypt") {
        a.decrypts = true;
    } else {
        a.encrypts = true;
    }
}

/// `gpg -d` decrypts; `--encrypt`, `--symmetric` or a short flag cluster
/// with `e` or `c` encrypts.
fn gpg(a: &mut Analysis, c: &Call) {
    let decrypt = c.has("-d") || c.has("--decrypt");
    let encrypt = c.args.iter().any(|f| {
        f == "--encrypt"
            || f == "--symmetric"
            || (f.len() > 1
                && f.starts_with('-')
                && !f.starts_with("--")
                && f[1..].chars().all(|c| c.is_ascii_alphabetic())
                && (f.contains('e') || f.contains('c')))
    });
    if decrypt {
        a.decrypts = true;
    } else if encrypt {
        a.encrypts = true;
    }
}

/// `openssl smime|cms -encrypt|-decrypt`, `openssl enc` and cipher commands.
fn openssl(a: &mut Analysis, c: &Call) {
    match c.args.first().map(String::as_str) {
        Some("smime" | "cms") if c.has("-encrypt") => a.encrypts = true,
        Some("smime" | "cms") if c.has("-decrypt") => a.decrypts = true,
        Some(sub)
            if sub == "enc"
                || sub.starts_with("aes")
                || sub.starts_with("chacha")
                || sub.starts_with("camellia") =>
        {
            if c.has("-d") {
                a.decrypts = true;
            } else {
                a.encrypts = true;
            }
        }
        _ => {}
    }
}

/// The subcommand of a backup tool, skipping flags and their values.
fn backup_tool_subcommand(c: &Call) -> Option<String> {
    positionals(&c.args, BACKUP_TOOL_VALUE_FLAGS)
        .into_iter()
        .next()
}

/// restic encrypts what it backs up, to its repository.
fn restic(a: &mut Analysis, c: &Call) {
    match backup_tool_subcommand(c).as_deref() {
        Some("backup") => encrypted_backup(a, c),
        Some("forget" | "prune") => a.retention = true,
        Some("restore") => a.extracts = true,
        _ => {}
    }
}

/// borg encrypts what it backs up, to its repository.
fn borg(a: &mut Analysis, c: &Call) {
    match backup_tool_subcommand(c).as_deref() {
        Some("create") => encrypted_backup(a, c),
        Some("prune") => a.retention = true,
        Some("extract") => a.extracts = true,
        _ => {}
    }
}

/// A backup tool that creates, encrypts and ships in one command.
fn encrypted_backup(a: &mut Analysis, c: &Call) {
    a.creates = true;
    a.encrypts = true;
    a.ships.push(c.loc);
}

/// duplicity backs up (encrypted unless `--no-encryption`) by default.
fn duplicity(a: &mut Analysis, c: &Call) {
    match c.subcommand() {
        Some("remove-older-than" | "remove-all-but-n-full" | "remove-all-inc-of-but-n-full") => {
            a.retention = true
        }
        Some("restore") => a.extracts = true,
        _ => {
            a.creates = true;
            a.encrypts |= !c.has("--no-encryption");
            a.ships.push(c.loc);
        }
    }
}

/// `gsutil cp|rsync|mv ... gs://...`.
fn gsutil(a: &mut Analysis, c: &Call) {
    if let Some(sub @ ("cp" | "rsync" | "mv")) = c.subcommand() {
        let pos = positionals(&c.args, &[]);
        let sub_at = pos.iter().position(|p| p == sub).unwrap_or(0);
        ship(a, &pos[sub_at + 1..], c.loc, |d| d.starts_with("gs://"));
    }
}

/// `az storage blob upload[-batch] --file|--source ...`.
fn az(a: &mut Analysis, c: &Call) {
    if c.args.iter().any(|x| x == "upload" || x == "upload-batch") {
        a.ships.push(c.loc);
        let sources: Vec<String> = c
            .args
            .windows(2)
            .filter(|w| w[0] == "--file" || w[0] == "-f" || w[0] == "--source" || w[0] == "-s")
            .map(|w| w[1].clone())
            .collect();
        plaintext(a, &sources, c.loc);
    }
}

/// `rclone copy|sync|move ... remote:`, `rclone delete --min-age`.
fn rclone(a: &mut Analysis, c: &Call) {
    match c.subcommand() {
        Some(sub @ ("copy" | "sync" | "move" | "copyto" | "moveto")) => {
            let pos = positionals(
                &c.args,
                &[
                    "--config",
                    "--min-age",
                    "--max-age",
                    "--include",
                    "--exclude",
                    "--filter",
                    "--transfers",
                    "--bwlimit",
                ],
            );
            let sub_at = pos.iter().position(|p| p == sub).unwrap_or(0);
            ship(a, &pos[sub_at + 1..], c.loc, remote_path);
        }
        Some("delete" | "purge") if c.args.iter().any(|x| x.starts_with("--min-age")) => {
            a.retention = true
        }
        _ => {}
    }
}

/// `rsync`/`scp ... host:path`.
fn rsync(a: &mut Analysis, c: &Call) {
    let pos = positionals(
        &c.args,
        &[
            "-e",
            "--rsh",
            "-i",
            "-P",
            "-o",
            "-F",
            "--exclude",
            "--include",
            "--filter",
            "-c",
            "-l",
            "-S",
            "--chmod",
            "--chown",
        ],
    );
    ship(a, &pos, c.loc, |d| {
        remote_path(d) || d.starts_with("rsync://")
    });
}

/// `curl -T FILE`: an upload.
fn curl(a: &mut Analysis, c: &Call) {
    let uploads: Vec<String> = c
        .args
        .windows(2)
        .filter(|w| w[0] == "-T" || w[0] == "--upload-file")
        .map(|w| w[1].clone())
        .collect();
    if !uploads.is_empty() {
        a.ships.push(c.loc);
        plaintext(a, &uploads, c.loc);
    }
}

/// `find ... -mtime +N -delete` (or `-exec rm`, or piped to a removal): retention.
fn find(a: &mut Analysis, c: &Call) {
    let aged = c.args.iter().any(|x| {
        matches!(
            x.as_str(),
            "-mtime" | "-mmin" | "-ctime" | "-cmin" | "-atime" | "-amin" | "-newermt" | "-newer"
        )
    });
    let deletes = c.has("-delete")
        || c.args
            .windows(2)
            .any(|w| (w[0] == "-exec" || w[0] == "-execdir") && base_name(&w[1]) == "rm")
        || c.later_removes;
    a.retention |= aged && deletes;
}

/// `ls -t | tail -n +N | xargs rm`: retention.
fn listing(a: &mut Analysis, c: &Call) {
    if c.later_removes && (c.name != "ls" || c.later_tail_or_head) {
        a.retention = true;
    }
}

/// `systemctl stop|kill BROKER` (a kill with a save signal does not stop it).
fn systemctl(a: &mut Analysis, c: &Call) {
    let pos = positionals(
        &c.args,
        &[
            "-H",
            "--host",
            "-M",
            "--machine",
            "-s",
            "--signal",
            "--kill-who",
        ],
    );
    if let Some(verb @ ("stop" | "kill")) = pos.first().map(String::as_str) {
        let save_signal = verb == "kill"
            && c.args
                .iter()
                .any(|x| x.contains("USR1") || x.contains("HUP"));
        if !save_signal && pos[1..].iter().any(|u| is_broker(u)) {
            a.stop = a.stop.or(Some(c.loc));
        }
    }
}

/// `service BROKER stop`.
fn service(a: &mut Analysis, c: &Call) {
    if c.args.len() >= 2 && c.args[1] == "stop" && is_broker(&c.args[0]) {
        a.stop = a.stop.or(Some(c.loc));
    }
}

/// `docker stop|kill|down` naming the broker.
fn container(a: &mut Analysis, c: &Call) {
    let stops = c
        .args
        .iter()
        .any(|x| x == "stop" || x == "kill" || x == "down");
    if stops && c.args.iter().any(|x| is_broker(x)) {
        a.stop = a.stop.or(Some(c.loc));
    }
}

/// `pkill`/`killall`/`kill` of the broker without a save signal.
fn kill(a: &mut Analysis, c: &Call) {
    let save = c.args.iter().any(|x| {
        x.contains("USR1")
            || x.contains("USR2")
            || x.contains("HUP")
            || x == "-0"
            || x == "-10"
            || x == "-12"
            || x == "-1"
    });
    if !save && c.args.iter().any(|x| is_broker(x)) {
        a.stop = a.stop.or(Some(c.loc));
    }
}

/// Any other command: `/etc/init.d/mosquitto stop`.
fn init_script(a: &mut Analysis, c: &Call) {
    if c.path.contains("init.d/") && is_broker(c.name) && c.has("stop") {
        a.stop = a.stop.or(Some(c.loc));
    }
}

/// Applies `set` arguments (or shebang flags) to the strict-mode flags.
fn set_flags(a: &mut Analysis, args: &[String]) {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let (on, flags) = match arg.strip_prefix('-') {
            Some(f) => (true, f),
            None => match arg.strip_prefix('+') {
                Some(f) => (false, f),
                None => {
                    i += 1;
                    continue;
                }
            },
        };
        if flags.starts_with('-') {
            i += 1;
            continue;
        }
        for c in flags.chars() {
            match c {
                'e' => a.errexit = on,
                'u' => a.nounset = on,
                'o' => {
                    i += 1;
                    match args.get(i).map(String::as_str) {
                        Some("errexit") => a.errexit = on,
                        Some("nounset") => a.nounset = on,
                        Some("pipefail") => a.pipefail = on,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
}

/// (creates, extracts) from tar's arguments.
fn tar_mode(args: &[String]) -> (bool, bool) {
    let mut c = false;
    let mut x = false;
    for (i, arg) in args.iter().enumerate() {
        if let Some(long) = arg.strip_prefix("--") {
            c |= long == "create";
            x |= long == "extract" || long == "get";
        } else if let Some(short) = arg.strip_prefix('-') {
            if short.chars().all(|ch| ch.is_ascii_alphabetic()) {
                c |= short.contains('c');
                x |= short.contains('x');
            }
        } else if i == 0 && arg.chars().all(|ch| ch.is_ascii_alphabetic()) {
            // Old style: `tar czf out.tgz dir`.
            c |= arg.contains('c');
            x |= arg.contains('x');
        }
    }
    (c, x)
}

/// Arguments that are not options (nor the values of `value_flags`).
fn positionals(args: &[String], value_flags: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            skip = value_flags.contains(&a.as_str());
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// `host:path`, `user@host:path`, `remote:path` (not a local path or URL).
fn remote_path(d: &str) -> bool {
    if d.starts_with('/') || d.starts_with('.') || d.starts_with('$') || d.contains("://") {
        return false;
    }
    match d.split_once(':') {
        Some((host, _)) => !host.is_empty() && !host.contains('/') && !host.contains('$'),
        None => false,
    }
}

/// A copy whose last path is off-site: records the shipment and the
/// sources that are keys or credentials.
fn ship(a: &mut Analysis, paths: &[String], loc: Loc, remote: impl Fn(&str) -> bool) {
    let Some((dest, sources)) = paths.split_last() else {
        return;
    };
    if !remote(dest) || sources.iter().any(|s| remote(s)) {
        return;
    }
    a.ships.push(loc);
    plaintext(a, sources, loc);
}

fn plaintext(a: &mut Analysis, sources: &[String], loc: Loc) {
    for s in sources {
        let lower = s.to_ascii_lowercase();
        if ENCRYPTED_SUFFIXES.iter().any(|e| lower.ends_with(e)) {
            continue;
        }
        if let Some((_, what)) = SECRET_PATTERNS.iter().find(|(p, _)| lower.contains(p)) {
            a.plaintext.push((loc, format!("`{s}` ({what})")));
        }
    }
}

fn aws(a: &mut Analysis, args: &[String], loc: Loc, date_cutoff: bool) {
    let pos = positionals(args, AWS_VALUE_FLAGS);
    match pos
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["s3", "cp" | "mv" | "sync", paths @ ..] => {
            let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
            ship(a, &paths, loc, |d| d.starts_with("s3://"));
        }
        ["s3", "rm", ..] | ["s3api", "delete-object" | "delete-objects", ..] if date_cutoff => {
            a.retention = true
        }
        ["s3api", "put-bucket-lifecycle-configuration" | "put-bucket-lifecycle", ..] => {
            a.retention = true
        }
        _ => {}
    }
}

/// `xargs rm`, `rm`, `xargs -r rm -f`.
fn removes(words: &[Word]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    match base_name(&first.text) {
        "rm" => true,
        "xargs" => words[1..]
            .iter()
            .find(|w| !w.text.starts_with('-'))
            .is_some_and(|w| base_name(&w.text) == "rm"),
        _ => false,
    }
}

fn is_broker(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    BROKERS.iter().any(|b| lower.contains(b))
}

// ------------------------------------------------------------- shellcheck

struct ShellcheckError {
    loc: Loc,
    message: String,
}

/// Errors shellcheck reports on the script; None when shellcheck is not on
/// PATH (or does not answer in its JSON format). Its verdict on the same
/// bytes is kept ([`crate::facts::tool_cache`]).
fn shellcheck(text: &str) -> Option<Vec<ShellcheckError>> {
    let out =
        crate::facts::tool_cache::cached("shellcheck", &SHELLCHECK_ARGS, text.as_bytes(), || {
            run_shellcheck(text)
        })?;
    parse_shellcheck(&out)
}

const SHELLCHECK_ARGS: [&str; 2] = ["--format=json1", "-"];

/// shellcheck's JSON output on the script, when it finished in time.
fn run_shellcheck(text: &str) -> Option<Vec<u8>> {
    let mut child = Command::new("shellcheck")
        .args(SHELLCHECK_ARGS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let mut stdout = child.stdout.take()?;
    let owned = text.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(owned.as_bytes());
    });
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut out);
        out
    });
    // Shellcheck is fast; a script that keeps it busy this long is not
    // worth stalling the audit for.
    let deadline = std::time::Instant::now() + SHELLCHECK_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let _ = writer.join();
    // Only a verdict in shellcheck's format is worth keeping.
    reader
        .join()
        .ok()
        .filter(|out| parse_shellcheck(out).is_some())
}

const SHELLCHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Error-level comments of shellcheck's `json1` output (columns count characters).
fn parse_shellcheck(json: &[u8]) -> Option<Vec<ShellcheckError>> {
    let doc: serde_json::Value = serde_json::from_slice(json).ok()?;
    let comments = doc.get("comments")?.as_array()?;
    let num =
        |c: &serde_json::Value, k: &str| c.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
    Some(
        comments
            .iter()
            .filter(|c| c.get("level").and_then(|l| l.as_str()) == Some("error"))
            .filter_map(|c| {
                let line = num(c, "line")?.max(1);
                let col = num(c, "column")?.max(1);
                let end_line = num(c, "endLine").unwrap_or(line).max(line);
                let end_col = num(c, "endColumn").unwrap_or(col + 1);
                let end_col = if end_line == line {
                    end_col.max(col + 1)
                } else {
                    end_col
                };
                let code = num(c, "code").unwrap_or(0);
                let message = c
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("")
                    .to_string();
                Some(ShellcheckError {
                    loc: Loc {
                        line,
                        col,
                        end_line,
                        end_col,
                    },
                    message: format!("SC{code}: {message}"),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Environment;
    use std::path::PathBuf;

    fn facts_of(files: &[(&str, &str)]) -> Facts {
        let mut facts = Facts::new(crate::facts::Origin::File, Environment::Production);
        for (name, text) in files {
            let input = Input {
                path: PathBuf::from(name),
                file: SourceFile::new(*name, *text),
            };
            extract(&input, &mut facts).unwrap();
        }
        facts
    }

    fn golden(path: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("golden")
                .join(path),
        )
        .unwrap()
    }

    #[test]
    fn expansion_uses_each_variables_last_plain_value() {
        let vars: Vec<(String, String)> =
            [("A", "1"), ("B", "x"), ("A", "2"), ("C", "$A"), ("D", "$")]
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
        let values = last_values(&vars);
        assert_eq!(
            expand("$A/${B}/$AB/${A}x/$C/$$/${Q:-$B}/${", &values),
            "2/x/$AB/2x/$C/$$/${Q:-x}/${"
        );
        // A long word is expanded in one pass, not once per variable.
        let word = "$B".repeat(100_000);
        assert_eq!(expand(&word, &values), "x".repeat(100_000));
    }

    #[test]
    fn detects_scripts_by_name_or_shebang() {
        assert!(detect(Path::new("/x/backup.sh"), ""));
        assert!(detect(Path::new("mqtt-backup"), "#!/usr/bin/env bash\n"));
        assert!(detect(Path::new("mqtt-backup"), "#!/bin/sh -e\n"));
        assert!(detect(Path::new("x"), "#!/usr/bin/env -S bash -eu\n"));
        assert!(!detect(Path::new("x.py"), "#!/usr/bin/env python3\n"));
        assert!(!detect(Path::new("mosquitto.conf"), "listener 1883\n"));
    }

    #[test]
    fn strict_mode_in_every_spelling() {
        for (text, strict) in [
            ("#!/bin/bash\nset -euo pipefail\n", true),
            ("#!/bin/bash\nset -e -u -o pipefail\n", true),
            ("#!/bin/bash\nset -Eeuo pipefail\n", true),
            ("#!/bin/bash\nset -o errexit -o nounset -o pipefail\n", true),
            ("#!/bin/bash -eu\nset -o pipefail\n", true),
            ("#!/usr/bin/env -S bash -euo pipefail\n", true),
            ("#!/bin/bash\nset -eu\n", false),
            ("#!/bin/bash\nset -e\n", false),
            ("#!/bin/bash\n# set -euo pipefail\n", false),
            ("#!/bin/bash\necho 'set -euo pipefail'\n", false),
            ("#!/bin/bash\nset -euo pipefail\nset +u\n", false),
        ] {
            let a = analyze(text);
            assert_eq!(a.errexit && a.nounset && a.pipefail, strict, "{text}");
        }
    }

    #[test]
    fn the_generated_scripts_are_read_as_what_they_are() {
        for site in ["edge-mosquitto", "emqx-cluster", "mosquitto-ha"] {
            let b = golden(&format!("{site}/backup/backup.sh"));
            let r = golden(&format!("{site}/backup/restore.sh"));
            let facts = facts_of(&[("backup.sh", &b), ("restore.sh", &r)]);
            let backup = facts.backup.as_ref().unwrap();
            assert!(
                backup.declared && backup.encrypted && backup.retention && backup.restore,
                "{site}: {backup:?}"
            );
            assert!(!backup.stops_broker, "{site}: {:?}", backup.stop_span);
            assert!(
                backup.plaintext.is_empty(),
                "{site}: {:?}",
                backup.plaintext
            );
            assert!(backup.ship_span.is_some(), "{site}");
            assert_eq!(facts.scripts.len(), 2);
            assert!(
                facts
                    .scripts
                    .iter()
                    .all(|s| s.strict && s.errors.is_empty()),
                "{site}: {:?}",
                facts.scripts
            );
            // The restore script alone is not a backup, whatever its name.
            let a = analyze(&r);
            assert!(a.extracts && a.decrypts && a.stop.is_some());
        }
    }

    #[test]
    fn a_plain_backup_script_is_read_command_by_command() {
        let text = "#!/bin/bash\nset -e\nDEST=\"backup@vault.example:/srv/mqtt\"\nsystemctl stop mosquitto.service\ntar -czf /tmp/mqtt.tgz /etc/mosquitto /var/lib/mosquitto\nsystemctl start mosquitto\nscp /tmp/mqtt.tgz \"$DEST/\"\nscp /etc/mosquitto/certs/server.key \"${DEST}/keys/\"\n";
        let facts = facts_of(&[("nightly.sh", text)]);
        let b = facts.backup.as_ref().unwrap();
        assert!(b.declared && !b.encrypted && !b.retention && !b.restore && b.stops_broker);
        assert_eq!(b.stop_span.as_ref().unwrap().line, 4);
        assert_eq!(b.ship_span.as_ref().unwrap().line, 7);
        assert_eq!(b.plaintext.len(), 1, "{:?}", b.plaintext);
        assert_eq!(b.plaintext[0].0.line, 8);
        assert!(b.plaintext[0].1.contains("server.key"));
        let s = &facts.scripts[0];
        assert!(!s.strict);
        assert_eq!(s.span.line, 2, "strict mode belongs on the set line");
    }

    #[test]
    fn encryption_shipping_and_retention_patterns() {
        let cases: &[(&str, bool, bool, bool)] = &[
            // (script, encrypted, shipped, retention)
            ("gpg --batch -e -r ops@acme.example a.tgz\naws s3 cp a.tgz.gpg s3://b/\n", true, true, false),
            ("gpg -c a.tgz\n", true, false, false),
            ("gpg --decrypt a.gpg > a.tgz\n", false, false, false),
            ("openssl enc -aes-256-cbc -pbkdf2 -in a -out a.enc -pass env:K\n", true, false, false),
            ("openssl enc -d -aes-256-cbc -in a.enc\n", false, false, false),
            ("openssl smime -encrypt -aes256 -in a -out a.p7 cert.pem\n", true, false, false),
            ("age -r age1xyz -o a.age a\nrclone copy a.age remote:mqtt\n", true, true, false),
            ("rsync -a /srv/b/ backup@host:/b/\nfind /srv/b -name '*.tgz' -mtime +30 -delete\n", false, true, true),
            ("find /srv/b -mtime +7 -exec rm -f {} \\;\n", false, false, true),
            ("find /srv/b -mtime +7 | xargs rm -f\n", false, false, true),
            ("find /srv/b -name '*.tgz' -print\n", false, false, false),
            ("ls -1t /srv/b/*.tgz | tail -n +15 | xargs -r rm --\n", false, false, true),
            ("cutoff=$(date -d '-30 days' +%F)\naws s3 rm \"s3://b/$cutoff.tgz\"\n", false, false, true),
            ("aws s3 rm s3://b/tmp.tgz\n", false, false, false),
            ("# retention: the bucket's S3 lifecycle rule expires objects after 30 days\naws s3 cp a s3://b/a\n", false, true, true),
            ("aws s3 cp s3://b/a.tgz /tmp/a.tgz\n", false, false, false),
            ("aws s3 cp --sse AES256 /tmp/a.tgz s3://b/a.tgz\n", false, true, false),
            ("restic -r s3:s3.amazonaws.com/b backup /etc/mosquitto\nrestic forget --keep-daily 30 --prune\n", true, true, true),
            ("curl -T a.tgz https://store.example/put\n", false, true, false),
            ("cp a.tgz /mnt/backup/\n", false, false, false),
        ];
        for (body, enc, shipped, retention) in cases {
            let a = analyze(&format!("#!/bin/bash\n{body}"));
            assert_eq!(
                (a.encrypts, !a.ships.is_empty(), a.retention),
                (*enc, *shipped, *retention),
                "{body}"
            );
        }
    }

    #[test]
    fn stopping_the_broker() {
        for (body, stops) in [
            ("systemctl stop mosquitto\n", true),
            ("sudo systemctl stop mosquitto.service\n", true),
            ("SERVICE=emqx\nsystemctl stop \"$SERVICE\"\n", true),
            ("service mosquitto stop\n", true),
            ("/etc/init.d/mosquitto stop\n", true),
            ("emqx stop\n", true),
            ("docker stop mqtt-mosquitto-1\n", true),
            ("pkill mosquitto\n", true),
            ("kill \"$(cat /run/mosquitto/mosquitto.pid)\"\n", true),
            (
                "kill -USR1 \"$(cat /run/mosquitto/mosquitto.pid)\"\n",
                false,
            ),
            ("pkill -HUP mosquitto\n", false),
            ("systemctl kill -s SIGUSR1 mosquitto\n", false),
            ("systemctl stop nginx\n", false),
            ("systemctl status mosquitto\n", false),
            ("echo 'systemctl stop mosquitto'\n", false),
            ("# systemctl stop mosquitto\n", false),
        ] {
            let a = analyze(&format!("#!/bin/bash\n{body}"));
            assert_eq!(a.stop.is_some(), stops, "{body}");
        }
    }

    #[test]
    fn heredocs_and_quotes_are_data() {
        let text = "#!/bin/bash\ncat <<EOF > /etc/note\nsystemctl stop mosquitto\nEOF\ncat <<-'END'\n\taws s3 cp /etc/mosquitto/passwd s3://b/\n\tEND\necho \"systemctl stop mosquitto\"\ngrep -q x <<<\"systemctl stop mosquitto\"\n";
        let a = analyze(text);
        assert!(a.stop.is_none() && a.ships.is_empty(), "{a:?}");
    }

    #[test]
    fn restore_scripts_by_name_or_content() {
        let facts = facts_of(&[(
            "restore-mqtt.sh",
            "#!/bin/bash\nset -euo pipefail\ncp /b/a.tgz /tmp/\n",
        )]);
        let b = facts.backup.as_ref().unwrap();
        assert!(b.restore && !b.declared);
        let facts = facts_of(&[(
            "mqtt-recover",
            "#!/bin/bash\nage -d -i key.txt a.age | tar -xz -C /\n",
        )]);
        assert!(facts.backup.as_ref().unwrap().restore);
        // Order does not matter: backup first, or restore first.
        let backup = "#!/bin/bash\ntar -czf a.tgz /etc/mosquitto\n";
        let restore = "#!/bin/bash\ntar -xzf a.tgz -C /\n";
        for files in [
            [("backup.sh", backup), ("restore.sh", restore)],
            [("restore.sh", restore), ("backup.sh", backup)],
        ] {
            let f = facts_of(&files);
            let b = f.backup.as_ref().unwrap();
            assert!(b.declared && b.restore);
        }
        let f = facts_of(&[("backup.sh", backup)]);
        assert!(!f.backup.as_ref().unwrap().restore);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "\"unterminated",
            "'unterminated",
            "$(",
            "$((((((((((((((((((((",
            "${",
            "cat <<EOF\nno end",
            "\\",
            "a | | ; && || & > < >> <<< <<",
            "\u{feff}#!/bin/bash\n\u{1F600} é \"$(echo \"${x:-\u{e9}}\")\"",
            "set -o",
            "tar",
            "aws s3 cp",
            "systemctl",
            "find -delete",
        ] {
            let _ = analyze(text);
            let f = SourceFile::new("g.sh", text);
            let mut facts = Facts::new(crate::facts::Origin::File, Environment::Production);
            let _ = extract(
                &Input {
                    path: PathBuf::from("g.sh"),
                    file: f,
                },
                &mut facts,
            );
        }
        let f = SourceFile::new("nul.sh", "a\0b");
        let mut facts = Facts::new(crate::facts::Origin::File, Environment::Production);
        assert!(extract(
            &Input {
                path: PathBuf::from("nul.sh"),
                file: f
            },
            &mut facts
        )
        .is_err());
    }

    #[test]
    fn shellcheck_json_is_read_and_garbage_ignored() {
        let json = br#"{"comments":[{"file":"-","line":3,"endLine":3,"column":1,"endColumn":9,"level":"error","code":1073,"message":"Couldn't parse this test expression.","fix":null},{"file":"-","line":2,"endLine":2,"column":1,"endColumn":5,"level":"warning","code":2034,"message":"x appears unused.","fix":null}]}"#;
        let errors = parse_shellcheck(json).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].loc,
            Loc {
                line: 3,
                col: 1,
                end_line: 3,
                end_col: 9
            }
        );
        assert_eq!(
            errors[0].message,
            "SC1073: Couldn't parse this test expression."
        );
        assert!(parse_shellcheck(b"not json").is_none());
        assert!(parse_shellcheck(b"{}").is_none());
        assert_eq!(
            parse_shellcheck(br#"{"comments":[{"level":"error"}]}"#)
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn shellcheck_errors_become_facts_when_shellcheck_is_installed() {
        if Command::new("shellcheck")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: shellcheck is not on PATH");
            return;
        }
        let text = "#!/bin/bash\nset -euo pipefail\nif [ \"$1\" = ]; then\n  echo x\nfi\n";
        let facts = facts_of(&[("backup.sh", text)]);
        let s = &facts.scripts[0];
        assert!(s.strict);
        assert!(!s.errors.is_empty(), "{s:?}");
        assert!(
            s.errors
                .iter()
                .all(|(span, m)| span.line == 3 && m.starts_with("SC")),
            "{:?}",
            s.errors
        );
        let clean = golden("edge-mosquitto/backup/backup.sh");
        assert!(facts_of(&[("backup.sh", &clean)]).scripts[0]
            .errors
            .is_empty());
    }
}
