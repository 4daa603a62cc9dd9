//! `mqttforge audit`: facts from hand-written files, with positions. Each
//! file's kind is detected from its name and content (or given with
//! `--kind`); files given together are one site, so cross-file rules see
//! all of them. A file that cannot be parsed is a diagnostic, never a crash.

mod emqx_acl;
mod emqx_conf;
pub mod haproxy;
mod mosquitto_acl;
pub mod mosquitto_conf;
mod pem;
mod prometheus;
pub(crate) mod rumqttd;
mod shell;
mod sysctl;
mod systemd;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Label};
use crate::lint::facts::{Facts, Origin};
use crate::source::{SourceFile, Span};
use crate::spec::model::Environment;

/// A file to audit.
pub struct Input {
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
}

/// One kind of file: how to recognise it and what facts it holds.
pub struct Kind {
    pub name: &'static str,
    pub description: &'static str,
    /// Recognises the kind from the file name and text.
    pub detect: fn(&Path, &str) -> bool,
    pub extract: fn(&Input, &mut Facts) -> Result<(), Diagnostic>,
}

/// Detection runs in this order; the first kind that recognises a file wins.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "pem-key",
        description: "a PEM private key (modes checked)",
        detect: pem::detect_key,
        extract: pem::extract_key,
    },
    Kind {
        name: "pem-cert",
        description: "a PEM certificate",
        detect: pem::detect_cert,
        extract: pem::extract_cert,
    },
    Kind {
        name: "shell",
        description: "a backup or restore shell script",
        detect: shell::detect,
        extract: shell::extract,
    },
    Kind {
        name: "haproxy",
        description: "haproxy.cfg",
        detect: haproxy::detect,
        extract: haproxy::extract,
    },
    Kind {
        name: "emqx-acl",
        description: "EMQX acl.conf (Erlang terms)",
        detect: emqx_acl::detect,
        extract: emqx_acl::extract,
    },
    Kind {
        name: "emqx-conf",
        description: "EMQX 5 emqx.conf (HOCON)",
        detect: emqx_conf::detect,
        extract: emqx_conf::extract,
    },
    Kind {
        name: "rumqttd",
        description: "rumqttd.toml",
        detect: rumqttd::detect,
        extract: rumqttd::extract,
    },
    Kind {
        name: "prometheus-rules",
        description: "a Prometheus rule file",
        detect: prometheus::detect_rules,
        extract: prometheus::extract_rules,
    },
    Kind {
        name: "prometheus",
        description: "prometheus.yml (scrape config)",
        detect: prometheus::detect_config,
        extract: prometheus::extract_config,
    },
    Kind {
        name: "systemd",
        description: "a systemd unit or drop-in",
        detect: systemd::detect,
        extract: systemd::extract,
    },
    Kind {
        name: "sysctl",
        description: "a sysctl file",
        detect: sysctl::detect,
        extract: sysctl::extract,
    },
    Kind {
        name: "mosquitto-acl",
        description: "a Mosquitto ACL file",
        detect: mosquitto_acl::detect,
        extract: mosquitto_acl::extract,
    },
    Kind {
        name: "mosquitto-conf",
        description: "mosquitto.conf",
        detect: mosquitto_conf::detect,
        extract: mosquitto_conf::extract,
    },
];

pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

pub fn detect(path: &Path, text: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| (k.detect)(path, text))
}

/// The file name, for detection.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Audits files as one site: reads them (bounded), extracts their facts,
/// runs the audit rules with the files' inline suppressions. Every problem
/// of every file, sorted; unreadable or unparsable files are reported and
/// the others still audited.
pub fn run(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut read = Vec::new();
    for (path, forced) in files {
        match read_text(path) {
            Ok(file) => read.push((path.clone(), file, *forced)),
            Err(d) => diags.push(d),
        }
    }
    diags.extend(run_sources(read, environment));
    crate::diag::sort(&mut diags);
    diags
}

/// [`run`] on files already in memory (path, text, forced kind).
pub fn run_sources(
    files: Vec<(PathBuf, Arc<SourceFile>, Option<&'static Kind>)>,
    environment: Environment,
) -> Vec<Diagnostic> {
    let (facts, sources, mut diags) = facts_of_sources(files, environment);
    let mut suppressions = Vec::new();
    for f in &sources {
        let (s, d) = crate::lint::inline_suppressions(f);
        suppressions.extend(s);
        diags.extend(d);
    }
    diags.extend(crate::lint::run(&facts, true, &suppressions));
    crate::diag::sort(&mut diags);
    diags
}

/// Extracts the facts of all files as one site. Unreadable, unrecognised or
/// unparsable files are reported, and the others still audited.
pub fn facts(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
) -> (Facts, Vec<Arc<SourceFile>>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut read = Vec::new();
    for (path, forced) in files {
        match read_text(path) {
            Ok(file) => read.push((path.clone(), file, *forced)),
            Err(d) => diags.push(d),
        }
    }
    let (facts, sources, more) = facts_of_sources(read, environment);
    diags.extend(more);
    (facts, sources, diags)
}

/// The facts of files already read.
fn facts_of_sources(
    files: Vec<(PathBuf, Arc<SourceFile>, Option<&'static Kind>)>,
    environment: Environment,
) -> (Facts, Vec<Arc<SourceFile>>, Vec<Diagnostic>) {
    let mut facts = Facts::new(Origin::File, environment);
    let mut sources = Vec::new();
    let mut diags = Vec::new();
    for (path, file, forced) in files {
        let kind = match forced.or_else(|| detect(&path, &file.text)) {
            Some(k) => k,
            None => {
                diags.push(unknown_kind(&file));
                continue;
            }
        };
        if let Some(d) = key_in_wrong_kind(&file, kind) {
            diags.push(d);
            continue;
        }
        let input = Input {
            path,
            file: file.clone(),
        };
        if let Err(d) = (kind.extract)(&input, &mut facts) {
            diags.push(d);
        }
        sources.push(file);
    }
    (facts, sources, diags)
}

fn unknown_kind(file: &Arc<SourceFile>) -> Diagnostic {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    Diagnostic::error(
        "audit",
        format!("cannot tell what kind of file `{}` is", file.name),
    )
    .with_label(Label::primary(Span::point(file, 1, 1), "kind unknown"))
    .with_help(format!(
        "name it with --kind {}=KIND, where KIND is one of: {}",
        file.name,
        names.join(", ")
    ))
}

/// A private key is only ever read by the PEM kinds, which print none of
/// it: any other parser would quote its lines in findings and snippets.
fn key_in_wrong_kind(file: &Arc<SourceFile>, kind: &Kind) -> Option<Diagnostic> {
    if kind.name.starts_with("pem-") {
        return None;
    }
    let line = file.text.lines().position(pem::is_key_begin)? + 1;
    Some(
        Diagnostic::error(
            "audit",
            format!(
                "`{}` holds a private key (line {line}): it is not read as {}, whose findings would quote it",
                file.name, kind.name
            ),
        )
        .with_label(Label::primary(line_span(file, line), "the key begins here"))
        .with_help(format!(
            "audit it without --kind (or with --kind {}=pem-key) to check its mode and owner; keep keys out of configuration files",
            file.name
        )),
    )
}

/// Largest file `audit` reads (the spec's limit): a hand-written config,
/// ACL or certificate is far smaller.
pub const MAX_AUDIT_FILE_BYTES: usize = crate::source::MAX_FILE_BYTES;

/// Reads a file as text through the bounded reader; binary files (DER,
/// anything not UTF-8 or holding control characters) get a clear error that
/// never repeats their bytes.
pub fn read_text(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let name = path.display().to_string();
    let limit = MAX_AUDIT_FILE_BYTES;
    let bytes = crate::source::read_bounded(path, limit).map_err(|e| {
        Diagnostic::error(
            "io",
            crate::source::read_error_message(&name, limit, "an audited file", &e),
        )
        .with_help(match e {
            crate::source::ReadError::Io(_) => "check the path and its permissions",
            crate::source::ReadError::TooLarge { .. } => {
                "audit the file in parts, or check that the path names a configuration file"
            }
        })
    })?;
    if let Some(problem) = binary_problem(&bytes) {
        return Err(Diagnostic::error("io", format!("`{name}` is {problem}"))
            .with_help("audit reads text files: configurations, ACLs, scripts and PEM certificates and keys (convert DER with `openssl x509 -inform DER -outform PEM` or `openssl pkey -inform DER -outform PEM`)"));
    }
    let text = String::from_utf8(bytes).expect("checked by binary_problem");
    Ok(SourceFile::new(name, text))
}

/// Why bytes are not a text file, said without repeating them: not UTF-8
/// (DER named as such), or a control character no configuration holds.
fn binary_problem(bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let der = bytes.first() == Some(&0x30) && bytes.get(1).is_some_and(|b| *b >= 0x80);
            return Some(if der {
                "binary (DER-encoded ASN.1, not PEM)".to_string()
            } else {
                format!(
                    "binary, not text (not UTF-8 at byte offset {})",
                    e.valid_up_to()
                )
            });
        }
    };
    let (at, c) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))?;
    let line = text[..at].matches('\n').count() + 1;
    Some(format!(
        "binary, not text (control character U+{:04X} on line {line})",
        c as u32
    ))
}

/// A parse error of an audited file, at its position.
pub fn parse_error(
    file: &Arc<SourceFile>,
    line: usize,
    col: usize,
    what: &str,
    message: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error("audit", format!("cannot parse {what}: {}", message.into()))
        .with_label(Label::primary(
            Span::point(file, line.max(1), col.max(1)),
            "here",
        ))
        .with_help("fix the syntax, or name the kind with --kind if it was detected wrongly")
}

/// The span of a whole line's trimmed content (1-based line).
pub fn line_span(file: &Arc<SourceFile>, line: usize) -> Span {
    let text = file.line_text(line).unwrap_or("");
    let start = text.len() - text.trim_start().len();
    let col = text[..start].chars().count() + 1;
    Span {
        file: file.clone(),
        line,
        col,
        end_line: line,
        end_col: col + text.trim().chars().count().max(1),
    }
}

/// The span of the `n`th whitespace-separated word of a line (0-based).
pub fn word_span(file: &Arc<SourceFile>, line: usize, n: usize) -> Span {
    let text = file.line_text(line).unwrap_or("");
    let mut idx = 0;
    let mut count = 0;
    let chars: Vec<char> = text.chars().collect();
    while idx < chars.len() {
        while idx < chars.len() && chars[idx].is_whitespace() {
            idx += 1;
        }
        let start = idx;
        while idx < chars.len() && !chars[idx].is_whitespace() {
            idx += 1;
        }
        if start < idx {
            if count == n {
                return Span {
                    file: file.clone(),
                    line,
                    col: start + 1,
                    end_line: line,
                    end_col: idx + 1,
                };
            }
            count += 1;
        }
    }
    line_span(file, line)
}

/// The rest of a line from its `n`th word on (for values with spaces).
pub fn rest_span(file: &Arc<SourceFile>, line: usize, n: usize) -> Span {
    let mut s = word_span(file, line, n);
    let text = file.line_text(line).unwrap_or("");
    s.end_col = text.trim_end().chars().count() + 1;
    s
}

/// Test helper: runs one kind's extractor on text, as if read from `path`.
#[cfg(test)]
pub(crate) fn extract_text(
    extract: fn(&Input, &mut Facts) -> Result<(), Diagnostic>,
    path: &str,
    text: &str,
) -> (Facts, Result<(), Diagnostic>) {
    let mut facts = Facts::new(Origin::File, Environment::Production);
    let input = Input {
        path: PathBuf::from(path),
        file: SourceFile::new(path, text),
    };
    let r = extract(&input, &mut facts);
    (facts, r)
}

#[cfg(test)]
mod read_tests {
    use super::*;

    fn audit_bytes(name: &str, bytes: &[u8], kind: Option<&str>) -> Vec<Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let forced = kind.map(|k| super::kind(k).unwrap());
        facts(&[(path, forced)], Environment::Production).2
    }

    fn shown(diags: &[Diagnostic]) -> String {
        crate::diag::render_text(diags, crate::diag::Style::Plain)
    }

    #[test]
    fn der_and_binary_files_are_refused_without_their_bytes() {
        // A DER certificate's first bytes (SEQUENCE, long length), then junk.
        let der = [0x30, 0x82, 0x01, 0x0a, 0x30, 0x81, 0xb0, 0xa0, 0x03, 0x02];
        let d = audit_bytes("c.der", &der, None);
        assert!(
            d[0].message
                .ends_with("is binary (DER-encoded ASN.1, not PEM)"),
            "{}",
            d[0].message
        );
        let d = audit_bytes("c.der", &der, Some("mosquitto-conf"));
        assert!(d[0].message.contains("DER-encoded"));
        // UTF-8 but not text: an escape sequence would reach the terminal.
        let d = audit_bytes(
            "x.conf",
            b"listener 1883\nlog_dest \x1b]0;owned\x07\n",
            Some("mosquitto-conf"),
        );
        let out = shown(&d);
        assert!(out.contains("control character U+001B on line 2"), "{out}");
        assert!(!out.contains('\x1b') && !out.contains("owned"), "{out}");
        let d = audit_bytes("nul.conf", b"listener 1883\0\n", None);
        assert!(shown(&d).contains("U+0000 on line 1"));
        let d = audit_bytes("latin1.conf", b"user caf\xe9\n", None);
        assert!(shown(&d).contains("not UTF-8 at byte offset 8"));
    }

    #[test]
    fn a_private_key_is_never_parsed_as_another_kind() {
        let key = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLwl1P5QEA2mkOqFY\n-----END PRIVATE KEY-----\n";
        for kind in [
            "mosquitto-conf",
            "mosquitto-acl",
            "haproxy",
            "shell",
            "sysctl",
            "emqx-conf",
        ] {
            let d = audit_bytes("k.pem", key, Some(kind));
            let out = shown(&d);
            assert_eq!(d.len(), 1, "{out}");
            assert!(out.contains("holds a private key (line 1)"), "{out}");
            assert!(!out.contains("MIGHAgEA"), "{kind}: key material in\n{out}");
        }
    }
}
