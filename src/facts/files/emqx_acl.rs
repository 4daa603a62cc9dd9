//! EMQX 5 `acl.conf` (file authorization, Erlang terms), parsed with
//! positions by `crate::formats::erlang` and read with EMQX's semantics
//! (`crate::acl::emqx`), into the ACL facts, the usernames and client ids it
//! names, whether it ends in a catch-all deny, and the file itself for the
//! rules that evaluate it. A term EMQX would refuse to load is a positioned
//! parse error.
//!
//! Cost: linear in the file's bytes to parse (see `crate::formats::erlang`);
//! the dead-rule analysis and decisions are indexed (`crate::acl::analysis`,
//! `crate::acl::emqx`).

use std::path::Path;

use super::{parse_error, Input};
use crate::acl::{self, Acl};
use crate::diag::Diagnostic;
use crate::facts::Facts;

/// Recognised by content: the first term (after `%` comments) is a tuple
/// starting with `allow` or `deny`.
pub fn detect(path: &Path, text: &str) -> bool {
    // Every rule commented out (`%%` lines only): an EMQX acl.conf by its
    // name, never a Mosquitto ACL (whose comments are `#`).
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let named = super::file_name(path).to_ascii_lowercase().contains("acl");
    if named && lines.clone().next().is_some() && lines.all(|l| l.starts_with('%')) {
        return true;
    }
    let mut body = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('%'));
    let Some(first) = body.next() else {
        return false;
    };
    let Some(rest) = first.strip_prefix('{') else {
        return false;
    };
    let rest = rest.trim_start();
    rest.starts_with("allow") || rest.starts_with("deny")
}

/// Reads the file as the EMQX release the site is judged as. Every term
/// that release would refuse is a positioned error (in `facts.recovered`),
/// and the terms around it are still audited.
pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let (parsed, errors) = acl::emqx::parse_all(&input.file, facts.releases.emqx_or_target());
    for e in errors {
        facts.recovered.push(parse_error(
            &input.file,
            e.line,
            e.col,
            "the EMQX acl.conf",
            e.message,
        ));
    }
    crate::facts::acl::add(&Acl::Emqx(parsed), facts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Origin;
    use crate::source::SourceFile;
    use crate::spec::model::Environment;

    fn run(text: &str) -> Result<Facts, Diagnostic> {
        let mut f = Facts::new(Origin::File, Environment::Production);
        let input = Input {
            path: "acl.conf".into(),
            file: SourceFile::new("acl.conf", text),
        };
        extract(&input, &mut f)?;
        match f.recovered.first() {
            Some(d) => Err(d.clone()),
            None => Ok(f),
        }
    }

    #[test]
    fn detection() {
        assert!(detect(
            Path::new("acl.conf"),
            "%% rules\n{allow, {username, \"a\"}, all, [\"#\"]}.\n"
        ));
        assert!(detect(Path::new("x"), "{deny, all}.\n"));
        assert!(!detect(
            Path::new("emqx.conf"),
            "node {\n  name = \"emqx@127.0.0.1\"\n}\n"
        ));
        assert!(!detect(Path::new("acl"), "user a\ntopic read x\n"));
        assert!(!detect(Path::new("acl.conf"), ""));
        // Every rule commented out: still EMQX's, not a Mosquitto ACL.
        assert!(detect(
            Path::new("acl.conf"),
            "%% rules come later\n%% {allow, all}.\n"
        ));
        assert!(!detect(Path::new("notes.txt"), "%% a comment\n"));
    }

    #[test]
    fn facts_and_positioned_errors() {
        let f = run(
            "{allow, {username, \"a\"}, publish, [\"devices/${username}/#\"]}.\n{deny, all}.\n",
        )
        .unwrap();
        assert_eq!(f.acl.len(), 2);
        assert_eq!(f.acl_default_deny, Some(true));
        let d = run("{allow, {username, \"a\"}, publish, [\"devices/#\"]}.\n{deny, al}.\n")
            .unwrap_err();
        let s = d.primary_span().unwrap();
        assert_eq!((s.line, s.col), (2, 8));
        let d = run("{allow, all, publish, [\"a\"]\n").unwrap_err();
        assert!(d.message.contains("EMQX acl.conf"), "{}", d.message);
        for garbage in [
            "{",
            "{allow",
            "\u{0}",
            "{deny, all}. {",
            "[[[[[[",
            "{allow, {re, \"(\"}, all, []}.",
        ] {
            let _ = run(garbage);
        }
    }
}
