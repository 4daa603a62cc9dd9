//! `mqttforge audit`: facts from hand-written files, with positions. Each
//! file's kind is detected from its name and content (or given with
//! `--kind`); files given together are one site, so cross-file rules see
//! all of them. A file that cannot be parsed is a diagnostic, never a crash.
//! The broker releases the files are judged as: [`releases`].

pub mod releases;

use crate::diag::Code;
pub use crate::facts::files::read_text;
pub use crate::facts::files::Input;
use crate::facts::files::{
    emqx_acl, emqx_conf, haproxy, line_span, mosquitto_acl, mosquitto_conf, pem, prometheus,
    rumqttd, shell, sysctl, systemd,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Label};
use crate::facts::{Facts, Origin, Releases};
use crate::source::{SourceFile, Span};
use crate::spec::model::Environment;

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

/// Audits files as one site: reads them (bounded), extracts their facts,
/// runs the audit rules with the files' inline suppressions. Every problem
/// of every file, sorted; unreadable or unparsable files are reported and
/// the others still audited.
pub fn run(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
) -> Vec<Diagnostic> {
    run_for(files, environment, Releases::default())
}

/// [`run`] for files of given broker releases (`--mosquitto-version`,
/// `--emqx-version`).
pub fn run_for(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
    releases: Releases,
) -> Vec<Diagnostic> {
    run_judged(files, environment, releases).0
}

/// [`run_for`], and the releases the files were judged as when not the
/// targeted ones (from the flags, or what the files say: [`releases`]).
pub fn run_judged(
    files: &[(PathBuf, Option<&'static Kind>)],
    environment: Environment,
    releases: Releases,
) -> (Vec<Diagnostic>, Vec<releases::Judged>) {
    let mut diags = Vec::new();
    let mut read = Vec::new();
    for (path, forced) in files {
        match read_text(path) {
            Ok(file) => read.push((path.clone(), file, *forced)),
            Err(d) => diags.push(d),
        }
    }
    let (more, judged) = run_sources_for(read, environment, releases);
    diags.extend(more);
    crate::diag::sort(&mut diags);
    (diags, judged)
}

/// [`run`] on files already in memory (path, text, forced kind).
pub fn run_sources(
    files: Vec<(PathBuf, Arc<SourceFile>, Option<&'static Kind>)>,
    environment: Environment,
) -> Vec<Diagnostic> {
    run_sources_for(files, environment, Releases::default()).0
}

fn run_sources_for(
    files: Vec<(PathBuf, Arc<SourceFile>, Option<&'static Kind>)>,
    environment: Environment,
    flags: Releases,
) -> (Vec<Diagnostic>, Vec<releases::Judged>) {
    let paths: Vec<PathBuf> = files.iter().map(|(p, _, _)| p.clone()).collect();
    let (chosen, mut judged) = releases::before_extraction(flags, &paths);
    let (mut facts, sources, mut diags) = facts_of_sources(files, environment, chosen);
    releases::after_extraction(&mut facts, &mut judged);
    let mut suppressions = Vec::new();
    for f in &sources {
        let (s, d) = crate::lint::inline_suppressions(f);
        suppressions.extend(s);
        diags.extend(d);
    }
    diags.extend(crate::lint::run(&facts, true, &suppressions));
    crate::diag::sort(&mut diags);
    (diags, judged)
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
    let (facts, sources, more) = facts_of_sources(read, environment, Releases::default());
    diags.extend(more);
    (facts, sources, diags)
}

/// The facts of files already read.
fn facts_of_sources(
    files: Vec<(PathBuf, Arc<SourceFile>, Option<&'static Kind>)>,
    environment: Environment,
    releases: Releases,
) -> (Facts, Vec<Arc<SourceFile>>, Vec<Diagnostic>) {
    let mut facts = Facts::new(Origin::File, environment);
    facts.releases = releases;
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
        diags.append(&mut facts.recovered);
        sources.push(file);
    }
    emqx_conf::one_node_per_directory(&mut facts);
    pem::roles_from_use(&mut facts);
    (facts, sources, diags)
}

fn unknown_kind(file: &Arc<SourceFile>) -> Diagnostic {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    Diagnostic::error(
        Code::Audit,
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
            Code::Audit,
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
