//! systemd units and drop-ins of the broker service: the `[Service]`
//! `LimitNOFILE=` that bounds the broker's open files (and so its
//! connections), with positions.
//!
//! Syntax (systemd.syntax(7)): `[Section]` headers, `Key=Value`, `#`/`;`
//! comments, a trailing `\` continues a line, an empty assignment resets the
//! key, the last assignment wins. `LimitNOFILE=` takes a number, `infinity`,
//! or `soft:hard` (the soft limit is what the process gets). A complete
//! unit (one with `ExecStart=`) without `LimitNOFILE=` runs with systemd's
//! default soft limit of 1024 (`DefaultLimitNOFILE=1024:524288`); a drop-in
//! without it says nothing. Units of other services (haproxy, ...) are
//! recognised by name and ignored. The file may carry the
//! `# mqttforge:capacity ...` comment (see `super::prometheus`).
//!
//! Cost: linear in the file's bytes (one pass over its lines).

use std::path::Path;
use std::sync::Arc;

use super::{parse_error, Input};
use crate::diag::Diagnostic;
use crate::facts::Facts;
use crate::source::{SourceFile, Span};

/// systemd's default soft limit on open files.
pub const SYSTEMD_DEFAULT_NOFILE: u64 = 1024;

/// Broker services, by the words of their unit name or ExecStart.
const BROKERS: &[&str] = &["mosquitto", "emqx", "rumqttd", "vernemq", "hivemq"];

fn is_section(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('[') && t.ends_with(']') && t.len() > 2
}

pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path);
    let in_dropin_dir = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|d| d.to_string_lossy().ends_with(".service.d"));
    if name.ends_with(".service") || in_dropin_dir {
        return true;
    }
    text.lines()
        .any(|l| matches!(l.trim(), "[Service]" | "[Unit]" | "[Install]"))
}

/// The service a unit file belongs to, from its path (`X.service`,
/// `X.service.d/*.conf`), if it says.
fn service_name(path: &Path) -> Option<String> {
    let name = super::file_name(path);
    if let Some(s) = name.strip_suffix(".service") {
        return Some(s.to_string());
    }
    let dir = path.parent()?.file_name()?.to_string_lossy().into_owned();
    dir.strip_suffix(".service.d").map(String::from)
}

/// A parsed `LimitNOFILE=` value: the soft limit.
fn parse_nofile(value: &str) -> Option<u64> {
    let soft = value.split(':').next()?.trim();
    if soft.eq_ignore_ascii_case("infinity") {
        return Some(u64::MAX);
    }
    // systemd accepts size suffixes on limits (K, M, G: powers of 1024).
    let (digits, mult) = match soft.char_indices().last() {
        Some((i, 'K')) => (&soft[..i], 1u64 << 10),
        Some((i, 'M')) => (&soft[..i], 1 << 20),
        Some((i, 'G')) => (&soft[..i], 1 << 30),
        _ => (soft, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    super::prometheus::capacity_comment(input, facts)?;
    let file = &input.file;
    let mut unit = Unit::default();
    let mut continued = false;
    for (i, line) in file.text.lines().enumerate() {
        let was_continued = continued;
        continued = line.trim_end().ends_with('\\');
        if !was_continued {
            unit.read(file, i + 1, line)?;
        }
    }
    unit.apply(input, facts);
    Ok(())
}

/// What a unit file says, so far, about the broker's service.
#[derive(Default)]
struct Unit {
    section: String,
    service_header: Option<Span>,
    exec_start: Option<String>,
    nofile: Option<(u64, Span)>,
}

impl Unit {
    /// Reads line `n` (not a continuation): a comment, a `[Section]`
    /// header, or a `Key=Value` setting.
    fn read(&mut self, file: &Arc<SourceFile>, n: usize, line: &str) -> Result<(), Diagnostic> {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            return Ok(());
        }
        let indent = line[..line.len() - line.trim_start().len()].chars().count();
        let refuse = |message: String| parse_error(file, n, indent + 1, "a systemd unit", message);
        if t.starts_with('[') {
            if !is_section(t) {
                return Err(refuse("a section header is `[Name]`".into()));
            }
            self.section = t[1..t.len() - 1].to_string();
            if self.section == "Service" {
                self.service_header = Some(super::line_span(file, n));
            }
            return Ok(());
        }
        let Some(eq) = line.find('=') else {
            return Err(refuse(
                "expected `Key=Value` or a `[Section]` header".into(),
            ));
        };
        let key = line[..eq].trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(refuse(format!("`{key}` is not a unit setting name")));
        }
        if self.section.is_empty() {
            return Err(refuse(format!(
                "`{key}=` comes before any `[Section]` header"
            )));
        }
        if self.section == "Service" {
            self.service_setting(file, n, line, eq)?;
        }
        Ok(())
    }

    /// A `[Service]` setting whose `=` is at byte `eq` of line `n`.
    fn service_setting(
        &mut self,
        file: &Arc<SourceFile>,
        n: usize,
        line: &str,
        eq: usize,
    ) -> Result<(), Diagnostic> {
        let after = &line[eq + 1..];
        let value = after.trim().trim_end_matches('\\').trim();
        let lead = after.len() - after.trim_start().len();
        let col = line[..eq + 1 + lead].chars().count() + 1;
        match line[..eq].trim() {
            "ExecStart" if !value.is_empty() => self.exec_start = Some(value.to_string()),
            "LimitNOFILE" if value.is_empty() => self.nofile = None,
            "LimitNOFILE" => {
                let Some(v) = parse_nofile(value) else {
                    return Err(parse_error(
                        file,
                        n,
                        col,
                        "a systemd unit",
                        format!("LimitNOFILE=`{value}` is not a number, `infinity` or `soft:hard`"),
                    ));
                };
                let span = Span {
                    file: file.clone(),
                    line: n,
                    col,
                    end_line: n,
                    end_col: col + value.chars().count(),
                };
                self.nofile = Some((v, span));
            }
            _ => {}
        }
        Ok(())
    }

    /// The broker's open-file limit, if the unit is a broker's: its own
    /// LimitNOFILE, or systemd's default for a service that sets none.
    fn apply(self, input: &Input, facts: &mut Facts) {
        // Whose unit is it?
        let words = [service_name(&input.path), self.exec_start.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        let named = service_name(&input.path).is_some() || self.exec_start.is_some();
        if named && !BROKERS.iter().any(|b| words.contains(b)) {
            return;
        }
        match self.nofile {
            Some(n) => {
                facts.nofile = Some(n);
                facts.obs.nofile_default = None;
            }
            None if self.exec_start.is_some() && facts.nofile.is_none() => {
                let span = self
                    .service_header
                    .unwrap_or_else(|| super::line_span(&input.file, 1));
                facts.nofile = Some((SYSTEMD_DEFAULT_NOFILE, span));
                facts.obs.nofile_default = Some(format!(
                    "this unit sets no LimitNOFILE=, so systemd's default soft limit of {SYSTEMD_DEFAULT_NOFILE} applies"
                ));
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, text: &str) -> (Facts, Result<(), Diagnostic>) {
        crate::facts::files::extract_text(extract, path, text)
    }

    #[test]
    fn detection() {
        assert!(detect(
            Path::new("/etc/systemd/system/mosquitto.service.d/limits.conf"),
            ""
        ));
        assert!(detect(
            Path::new("limits.conf"),
            "[Service]\nLimitNOFILE=65536\n"
        ));
        assert!(!detect(
            Path::new("/etc/security/limits.conf"),
            "* soft nofile 65535\n"
        ));
        assert!(!detect(
            Path::new("sysctl.conf"),
            "net.core.somaxconn = 1\n"
        ));
    }

    #[test]
    fn limit_nofile_with_position() {
        let (facts, r) = run(
            "mosquitto.service.d/limits.conf",
            "# x\n[Service]\nLimitNOFILE=8192\n",
        );
        r.unwrap();
        let (v, s) = facts.nofile.unwrap();
        assert_eq!((v, s.line, s.col), (8192, 3, 13));
        let (facts, _) = run("a.conf", "[Service]\nLimitNOFILE = 4096:524288\n");
        assert_eq!(facts.nofile.unwrap().0, 4096);
        let (facts, _) = run("a.conf", "[Service]\nLimitNOFILE=infinity\n");
        assert_eq!(facts.nofile.unwrap().0, u64::MAX);
        let (facts, _) = run("a.conf", "[Service]\nLimitNOFILE=64K\n");
        assert_eq!(facts.nofile.unwrap().0, 65536);
        let (facts, _) = run("a.conf", "[Service]\nLimitNOFILE=100\nLimitNOFILE=\n");
        assert!(facts.nofile.is_none());
    }

    #[test]
    fn full_units_default_and_other_services_are_ignored() {
        let (facts, r) = run("mosquitto.service", "[Unit]\nDescription=x\n[Service]\nExecStart=/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf\n");
        r.unwrap();
        assert_eq!(facts.nofile.as_ref().unwrap().0, 1024);
        assert_eq!(facts.nofile.as_ref().unwrap().1.line, 3);
        assert!(facts.obs.nofile_default.is_some());
        let (facts, _) = run(
            "haproxy.service.d/limits.conf",
            "[Service]\nLimitNOFILE=100\n",
        );
        assert!(facts.nofile.is_none());
        let (facts, _) = run(
            "limits.conf",
            "[Service]\nExecStart=/usr/bin/emqx foreground\nLimitNOFILE=1048576\n",
        );
        assert_eq!(facts.nofile.unwrap().0, 1_048_576);
    }

    #[test]
    fn garbage_is_a_positioned_error() {
        let (_, r) = run("a.conf", "[Service]\nLimitNOFILE=lots\n");
        let d = r.unwrap_err();
        assert_eq!(d.primary_span().unwrap().line, 2);
        let (_, r) = run("a.conf", "LimitNOFILE=1\n");
        assert!(r.is_err());
        let (_, r) = run("a.conf", "[Service\n");
        assert!(r.is_err());
        for text in [
            "[",
            "[]",
            "=\n",
            "[Service]\n=3\n",
            "[Service]\nA=\\\n",
            "\u{0}",
        ] {
            let _ = run("a.conf", text);
        }
    }
}
