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
