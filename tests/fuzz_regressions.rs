//! Inputs the fuzz targets (`fuzz/`, `scripts/fuzz-smoke.sh`) found, each
//! through the CLI as a user would hit it, with the promise it broke.

mod common;

use std::process::Output;

/// Audits `text` as a file of `kind` and returns the output.
fn audit(kind: &str, text: &str) -> Output {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("input");
    std::fs::write(&path, text).expect("write the input");
    common::mqttforge(&[
        "audit",
        "--kind",
        kind,
        path.to_str().expect("a UTF-8 temp path"),
    ])
}

/// The output's control characters other than line breaks and the tabs
/// that align a snippet's caret.
fn control_characters(out: &Output) -> Vec<char> {
    String::from_utf8_lossy(&out.stdout)
        .chars()
        .chain(String::from_utf8_lossy(&out.stderr).chars())
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        .collect()
}

/// audit_mosquitto_conf: a form feed (which audit reads as text) in a
/// listener's bind address reached MQ-TLS-001's message raw; a carriage
/// return there could overwrite the line on a terminal.
#[test]
fn a_bind_address_cannot_put_control_characters_in_a_message() {
    for c in ['\u{c}', '\r'] {
        let out = audit(
            "mosquitto-conf",
            &format!("listener 1883 {c}127.0.0.1\nallow_anonymous false\n"),
        );
        let stdout = common::stdout(&out);
        assert!(
            stdout.contains("MQ-TLS-001"),
            "the finding is still reported: {stdout}"
        );
        assert_eq!(control_characters(&out), Vec::<char>::new(), "{stdout:?}");
    }
}

/// The fuzz target's `--kind`, or None when it detects the kind.
const TARGET_KINDS: &[(&str, Option<&str>)] = &[
    ("audit_detect", None),
    ("audit_emqx_acl", Some("emqx-acl")),
    ("audit_emqx_conf", Some("emqx-conf")),
    ("audit_haproxy", Some("haproxy")),
    ("audit_mosquitto_acl", Some("mosquitto-acl")),
    ("audit_mosquitto_conf", Some("mosquitto-conf")),
    ("audit_pem_cert", Some("pem-cert")),
    ("audit_pem_key", Some("pem-key")),
    ("audit_prometheus", Some("prometheus")),
    ("audit_prometheus_rules", Some("prometheus-rules")),
    ("audit_rumqttd", Some("rumqttd")),
    ("audit_shell", Some("shell")),
    ("audit_sysctl", Some("sysctl")),
    ("audit_systemd", Some("systemd")),
];

/// Every input a fuzz target reported, kept in `tests/fixtures/fuzz/<target>/`
/// as libFuzzer wrote it: audited through the CLI, no panic (exit 0 or 1, a
/// diagnostic) and no control character in the output. The first run of the
/// targets found one in nearly every parser's messages (a tab, a carriage
/// return or a line break of the input quoted in a parse error or a finding),
/// fixed in the one place every diagnostic's text goes through.
#[test]
fn every_input_the_fuzzers_found_is_audited_cleanly() {
    let root = common::root().join("tests/fixtures/fuzz");
    let mut checked = 0;
    for (target, kind) in TARGET_KINDS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a fixture").path();
            let mut args = vec!["audit"];
            if let Some(kind) = kind {
                args.extend(["--kind", kind]);
            }
            args.push(path.to_str().expect("a UTF-8 path"));
            let out = common::mqttforge(&args);
            args.extend(["--format", "json"]);
            let json = common::mqttforge(&args);
            let json: serde_json::Value =
                serde_json::from_slice(&json.stdout).expect("audit's JSON output");
            let mut texts = Vec::new();
            message_texts(&json, &mut texts);
            for text in texts {
                assert!(
                    !text.chars().any(char::is_control),
                    "{}: a message, label or help holds a control character: {text:?}",
                    path.display()
                );
            }
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}: {}\n{}",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                control_characters(&out),
                Vec::<char>::new(),
                "{}: {:?}",
                path.display(),
                common::stdout(&out)
            );
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} fuzz fixtures found");
}

/// The `message` and `help` strings anywhere in audit's JSON output
/// (diagnostics and their labels).
fn message_texts<'a>(json: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("message" | "help", serde_json::Value::String(s)) => out.push(s),
                    _ => message_texts(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| message_texts(v, out)),
        _ => {}
    }
}
