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

/// Extracts the facts of all files as one site. Unreadable, unrecognised or
/// unparsable files are reported, and the others still audited.
pub fn facts(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
) -> (Facts, Vec<Arc<SourceFile>>, Vec<Diagnostic>) {
    let mut facts = Facts::new(Origin::File, environment);
    let mut sources = Vec::new();
    let mut diags = Vec::new();
    for (path, forced) in files {
        let file = match read_text(path) {
            Ok(f) => f,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let kind = match forced.or_else(|| detect(path, &file.text)) {
            Some(k) => k,
            None => {
                let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
                diags.push(
                    Diagnostic::error(
                        "audit",
                        format!("cannot tell what kind of file `{}` is", file.name),
                    )
                    .with_label(Label::primary(Span::point(&file, 1, 1), "kind unknown"))
                    .with_help(format!(
                        "name it with --kind {}=KIND, where KIND is one of: {}",
                        file.name,
                        names.join(", ")
                    )),
                );
                continue;
            }
        };
        let input = Input {
            path: path.clone(),
            file: file.clone(),
        };
        if let Err(d) = (kind.extract)(&input, &mut facts) {
            diags.push(d);
        }
        sources.push(file);
    }
    (facts, sources, diags)
}

/// Reads a file as text; binary files get a clear error.
fn read_text(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    SourceFile::read(path)
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
