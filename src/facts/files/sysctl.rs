//! sysctl files (`/etc/sysctl.conf`, `/etc/sysctl.d/*.conf`) and the
//! kernel modules loaded at boot (`/etc/modules-load.d/*.conf`,
//! `/etc/modules`), which a sysctl such as `tcp_congestion_control = bbr`
//! depends on.
//!
//! sysctl syntax (sysctl.d(5)): `key = value` per line, `#` and `;` start
//! comments, a leading `-` on the key tolerates a missing key, and `/` may
//! separate the key's parts instead of `.` (normalised to dots here). Each
//! fact keeps the position of its value. A modules-load file lists one
//! module per line. Either may carry the `# mqttforge:capacity ...`
//! comment (see `super::prometheus`).
//!
//! Cost: linear in the file's bytes (one pass over its lines).

use std::path::Path;

use super::{parse_error, Input};
use crate::diag::Diagnostic;
use crate::facts::{Facts, SysctlFact};
use crate::source::Span;

/// Top-level sysctl namespaces, to recognise a sysctl file by its content.
const NAMESPACES: &[&str] = &[
    "net.", "fs.", "kernel.", "vm.", "net/", "fs/", "kernel/", "vm/",
];

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with(';')
}

/// A modules-load.d file or /etc/modules (by its path).
fn is_modules_file(path: &Path) -> bool {
    let name = super::file_name(path);
    name == "modules"
        || name.contains("modules-load")
        || path.components().any(|c| c.as_os_str() == "modules-load.d")
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-' | '*'))
}

fn valid_module(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn detect(path: &Path, text: &str) -> bool {
    if is_modules_file(path) {
        return true;
    }
    let name = super::file_name(path);
    let in_sysctl_dir = path.components().any(|c| c.as_os_str() == "sysctl.d");
    if name.contains("sysctl") || (in_sysctl_dir && name.ends_with(".conf")) {
        return true;
    }
    // By content: every line an assignment, at least one in a kernel namespace.
    let mut any = false;
    for line in text.lines().filter(|l| !is_comment_or_blank(l)) {
        let Some((key, _)) = line.split_once('=') else {
            return false;
        };
        let key = key.trim().trim_start_matches('-');
        if !valid_key(key) {
            return false;
        }
        any |= NAMESPACES.iter().any(|n| key.starts_with(n));
    }
    any
}

/// A sysctl key with `/` separators written with dots.
pub fn normalize_key(key: &str) -> String {
    let first_sep = key.find(['.', '/']);
    match first_sep {
        Some(i) if key.as_bytes()[i] == b'/' => key.replace('/', "."),
        _ => key.to_string(),
    }
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    super::prometheus::capacity_comment(input, facts)?;
    if is_modules_file(&input.path) {
        return modules(input, facts);
    }
    let file = &input.file;
    let mut found = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let n = i + 1;
        let Some(eq) = line.find('=') else {
            let col = line.len() - line.trim_start().len() + 1;
            return Err(parse_error(
                file,
                n,
                col,
                "a sysctl file",
                "expected `key = value` (this line is not an assignment)",
            ));
        };
        let raw_key = line[..eq].trim();
        let key = raw_key.trim_start_matches('-');
        if !valid_key(key) {
            let col = line[..line.len() - line.trim_start().len()].chars().count() + 1;
            return Err(parse_error(
                file,
                n,
                col,
                "a sysctl file",
                format!("`{raw_key}` is not a sysctl key"),
            ));
        }
        let after = &line[eq + 1..];
        let value = after.trim();
        let lead = after.len() - after.trim_start().len();
        let col = line[..eq + 1 + lead].chars().count() + 1;
        let span = Span {
            file: file.clone(),
            line: n,
            col,
            end_line: n,
            end_col: col + value.chars().count().max(1),
        };
        found.push(SysctlFact {
            key: normalize_key(key),
            value: value.to_string(),
            span,
        });
    }
    facts.sysctls.extend(found);
    Ok(())
}

fn modules(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    let mut found = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let name = line.trim();
        if !valid_module(name) {
            let col = line.len() - line.trim_start().len() + 1;
            return Err(parse_error(
                file,
                i + 1,
                col,
                "a modules-load file",
                format!("`{name}` is not a kernel module name (one module per line)"),
            ));
        }
        found.push(name.replace('-', "_"));
    }
    facts.modules.extend(found);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, text: &str) -> (Facts, Result<(), Diagnostic>) {
        crate::facts::files::extract_text(extract, path, text)
    }

    #[test]
    fn detection() {
        assert!(detect(Path::new("/etc/sysctl.d/99-mqtt.conf"), ""));
        assert!(detect(
            Path::new("tuning.conf"),
            "# x\nnet.core.somaxconn = 4096\n"
        ));
        assert!(!detect(
            Path::new("mosquitto.conf"),
            "listener 1883\nallow_anonymous false\n"
        ));
        assert!(!detect(Path::new("x.conf"), "a = b\n"));
        assert!(detect(
            Path::new("/etc/modules-load.d/bbr.conf"),
            "tcp_bbr\n"
        ));
    }

    #[test]
    fn keys_values_and_positions() {
        let (facts, r) = run("s.conf", "# tuning\nnet.core.somaxconn = 4096\n  -net/ipv4/tcp_max_syn_backlog=1024\n; c\nnet.ipv4.tcp_rmem = 4096 87380 67108864\n");
        r.unwrap();
        assert_eq!(facts.sysctls.len(), 3);
        let s = &facts.sysctls[0];
        assert_eq!(
            (s.key.as_str(), s.value.as_str(), s.span.line, s.span.col),
            ("net.core.somaxconn", "4096", 2, 22)
        );
        let s = &facts.sysctls[1];
        assert_eq!(
            (s.key.as_str(), s.value.as_str(), s.span.col),
            ("net.ipv4.tcp_max_syn_backlog", "1024", 33)
        );
        assert_eq!(facts.sysctls[2].value, "4096 87380 67108864");
    }

    #[test]
    fn modules_files() {
        let (facts, r) = run(
            "/etc/modules-load.d/mqttforge.conf",
            "# bbr\ntcp_bbr\nsch-fq\n",
        );
        r.unwrap();
        assert_eq!(facts.modules, ["tcp_bbr", "sch_fq"]);
        let (_, r) = run("/etc/modules-load.d/x.conf", "tcp bbr\n");
        assert!(r.is_err());
    }

    #[test]
    fn garbage_is_a_positioned_error() {
        let (_, r) = run("s.conf", "net.core.somaxconn = 1\nthis is not sysctl\n");
        let d = r.unwrap_err();
        assert_eq!(d.primary_span().unwrap().line, 2);
        let (_, r) = run("s.conf", "bad key! = 3\n");
        assert!(r.is_err());
        for text in ["=", "\u{0}=\u{0}", "é=1", "= = =", "\n\n\n"] {
            let _ = run("s.conf", text);
        }
    }

    #[test]
    fn slashes_become_dots() {
        assert_eq!(
            normalize_key("net/ipv4/tcp_fin_timeout"),
            "net.ipv4.tcp_fin_timeout"
        );
        assert_eq!(
            normalize_key("net.ipv4.conf.eth0/1.rp_filter"),
            "net.ipv4.conf.eth0/1.rp_filter"
        );
    }
}
