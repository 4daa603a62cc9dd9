//! Facts from hand-written files (`mqttforge audit`): one extractor per
//! kind of file, each reading its file with positions (parsers of their
//! own where no crate reads the format as the broker does: each module
//! says why, and states its cost bound) into the [`Facts`] the rules read.

pub mod emqx_acl;
pub mod emqx_conf;
pub mod haproxy;
pub mod mosquitto_acl;
pub mod mosquitto_conf;
pub mod pem;
pub mod prometheus;
pub mod rumqttd;
pub mod shell;
pub mod sysctl;
pub mod systemd;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
#[cfg(test)]
use crate::facts::Facts;
#[cfg(test)]
use crate::facts::Origin;
use crate::source::{SourceFile, Span};
#[cfg(test)]
use crate::spec::model::Environment;

/// A file to audit.
pub struct Input {
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
}

/// The file name, for detection.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The largest audited file read.
pub const MAX_AUDIT_FILE_BYTES: usize = crate::source::MAX_FILE_BYTES;

/// Reads a file as text through the bounded reader; binary files (DER,
/// anything not UTF-8 or holding control characters) get a clear error that
/// never repeats their bytes.
pub fn read_text(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let name = path.display().to_string();
    let limit = MAX_AUDIT_FILE_BYTES;
    let bytes = crate::source::read_bounded(path, limit).map_err(|e| {
        Diagnostic::error(
            Code::Io,
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
        return Err(Diagnostic::error(Code::Io, format!("`{name}` is {problem}"))
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
    Diagnostic::error(
        Code::Audit,
        format!("cannot parse {what}: {}", message.into()),
    )
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
