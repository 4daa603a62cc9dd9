//! The templates (`templates/<target>/*.j2`, compiled into the binary) and
//! the strict minijinja environment that renders them.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};

/// Every template: its name (path under `templates/`) and source. A test
/// checks that every file under `templates/` is listed here.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "mosquitto/mosquitto.conf.j2",
        include_str!("../../templates/mosquitto/mosquitto.conf.j2"),
    ),
    (
        "mosquitto/acl.j2",
        include_str!("../../templates/mosquitto/acl.j2"),
    ),
    (
        "emqx/emqx.conf.j2",
        include_str!("../../templates/emqx/emqx.conf.j2"),
    ),
    (
        "emqx/acl.conf.j2",
        include_str!("../../templates/emqx/acl.conf.j2"),
    ),
    (
        "rumqttd/rumqttd.toml.j2",
        include_str!("../../templates/rumqttd/rumqttd.toml.j2"),
    ),
    (
        "haproxy/haproxy.cfg.j2",
        include_str!("../../templates/haproxy/haproxy.cfg.j2"),
    ),
    (
        "os/sysctl.conf.j2",
        include_str!("../../templates/os/sysctl.conf.j2"),
    ),
    (
        "os/limits.conf.j2",
        include_str!("../../templates/os/limits.conf.j2"),
    ),
    (
        "os/secrets-dropin.conf.j2",
        include_str!("../../templates/os/secrets-dropin.conf.j2"),
    ),
    (
        "os/modules-load.conf.j2",
        include_str!("../../templates/os/modules-load.conf.j2"),
    ),
    (
        "prometheus/prometheus.yml.j2",
        include_str!("../../templates/prometheus/prometheus.yml.j2"),
    ),
    (
        "prometheus/rules.yml.j2",
        include_str!("../../templates/prometheus/rules.yml.j2"),
    ),
    (
        "prometheus/rules.test.yml.j2",
        include_str!("../../templates/prometheus/rules.test.yml.j2"),
    ),
    (
        "backup/backup.sh.j2",
        include_str!("../../templates/backup/backup.sh.j2"),
    ),
    (
        "backup/restore.sh.j2",
        include_str!("../../templates/backup/restore.sh.j2"),
    ),
    (
        "firmware/mqtt_config.h.j2",
        include_str!("../../templates/firmware/mqtt_config.h.j2"),
    ),
    (
        "firmware/mqtt_ca.h.j2",
        include_str!("../../templates/firmware/mqtt_ca.h.j2"),
    ),
];

/// The environment: strict undefined (a missing value is an error naming the
/// template and line), no HTML escaping, block tags that leave no blank lines.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("valid syntax config"),
    );
    env.add_filter("quote", quote);
    env.add_filter("c_str", c_str);
    env.add_filter("sh_quote", sh_quote);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
    }
    env
}

/// A double-quoted string for HOCON, YAML, TOML and Erlang: `"` and `\`
/// escaped, control characters as `\uXXXX` (they never reach here: the
/// spec's values are validated, this is the second line of defence).
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A C string literal; control characters as octal escapes.
pub fn c_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() || !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted shell word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        for target in std::fs::read_dir(&dir).unwrap() {
            let target = target.unwrap().path();
            for f in std::fs::read_dir(&target).unwrap() {
                let f = f.unwrap().path();
                files.push(format!(
                    "{}/{}",
                    target.file_name().unwrap().to_string_lossy(),
                    f.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        for f in &files {
            assert!(
                TEMPLATES.iter().any(|(n, _)| n == f),
                "templates/{f} is not in TEMPLATES"
            );
        }
        assert_eq!(files.len(), TEMPLATES.len());
    }

    #[test]
    fn escaping() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\u000ad\"");
        assert_eq!(c_str("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn undefined_values_are_errors_with_template_and_line() {
        let mut env = environment();
        env.add_template("t.j2", "ok\n{{ missing }}\n").unwrap();
        let err = env
            .get_template("t.j2")
            .unwrap()
            .render(minijinja::context! {})
            .unwrap_err();
        assert_eq!(err.name(), Some("t.j2"));
        assert_eq!(err.line(), Some(2));
    }
}
