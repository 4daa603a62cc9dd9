//! Mosquitto ACL files (`acl_file`): `user`, `topic` and `pattern` lines,
//! parsed the way Mosquitto 2.0 reads them (`crate::acl::mosquitto`), into
//! the ACL facts, the identifiers the file names, and the file itself for
//! the rules that evaluate it. A line Mosquitto would refuse to load is a
//! positioned parse error.
//!
//! Cost: linear in the file's bytes to parse and extract; the dead-rule
//! analysis and the decisions the rules ask for are indexed (see
//! `crate::acl::analysis` and `crate::acl::mosquitto` for their bounds).

use std::path::Path;

use super::{parse_error, Input};
use crate::acl::{self, Acl};
use crate::diag::Diagnostic;
use crate::facts::Facts;

/// First words of the lines an ACL file holds.
const KEYWORDS: &[&str] = &["user", "topic", "pattern"];

/// Recognised by name (`acl`, `acl_file`, `mosquitto.acl`, `*.acl`, ...)
/// when the text is not Erlang terms, or by content: every line that is not
/// a comment or blank is a `user`, `topic` or `pattern` line.
pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path).to_ascii_lowercase();
    let erlang = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('%'))
        .is_some_and(|l| l.starts_with('{'));
    if erlang {
        return false;
    }
    let stem = name.split('.').next().unwrap_or("");
    if stem == "acl"
        || stem.ends_with("acl")
        || stem.ends_with("acls")
        || stem.starts_with("acl_")
        || name.ends_with(".acl")
    {
        return true;
    }
    let mut any = false;
    for line in text.lines() {
        let t = line.trim_end();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let first = t.split(' ').find(|w| !w.is_empty()).unwrap_or("");
        if !KEYWORDS.contains(&first) {
            return false;
        }
        any = true;
    }
    any
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let parsed = acl::mosquitto::parse(&input.file).map_err(|e| {
        parse_error(
            &input.file,
            e.line,
            e.col,
            "the Mosquitto ACL file",
            e.message,
        )
    })?;
    crate::facts::acl::add(&Acl::Mosquitto(parsed), facts);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Origin;
    use crate::source::SourceFile;
    use crate::spec::model::Environment;

    fn run(name: &str, text: &str) -> Result<Facts, Diagnostic> {
        let mut f = Facts::new(Origin::File, Environment::Production);
        let input = Input {
            path: name.into(),
            file: SourceFile::new(name, text),
        };
        extract(&input, &mut f).map(|_| f)
    }

    #[test]
    fn detection() {
        assert!(detect(Path::new("/etc/mosquitto/acl"), ""));
        assert!(detect(Path::new("mosquitto.acl"), "user a\n"));
        assert!(detect(Path::new("site_acl"), "user a\n"));
        assert!(detect(
            Path::new("rules.txt"),
            "# ACL\nuser a\ntopic read x\n\npattern write y/%u\n"
        ));
        assert!(!detect(Path::new("rules.txt"), "user a\nlistener 1883\n"));
        assert!(!detect(
            Path::new("mosquitto.conf"),
            "listener 8883\nacl_file /etc/mosquitto/acl\n"
        ));
        assert!(!detect(Path::new("acl.conf"), "%% EMQX\n{allow, all}.\n"));
        assert!(!detect(Path::new("empty.txt"), "# nothing\n"));
    }

    #[test]
    fn facts_and_positioned_errors() {
        let f = run("acl", "user a\ntopic write devices/a/#\n").unwrap();
        assert_eq!(f.acl.len(), 1);
        assert_eq!((f.acl[0].span.line, f.acl[0].span.col), (2, 13));
        assert_eq!(f.acl_model.files.len(), 1);
        let d = run("acl", "user a\ntopic wirte devices/a/#\n").unwrap_err();
        let s = d.primary_span().unwrap();
        assert_eq!((s.line, s.col), (2, 7));
        assert!(
            d.message.contains("Invalid topic access type"),
            "{}",
            d.message
        );
        for garbage in [
            "\u{0}",
            "\u{feff}user a",
            "topic",
            "x y z",
            "user a\ntopic read \u{0}\n",
        ] {
            let _ = run("acl", garbage);
        }
    }
}
