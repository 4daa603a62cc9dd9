//! `mqttforge validate`: the examples are valid, every invalid fixture gives
//! exactly its snapshot, and the machine-readable form carries positions.

mod common;

use common::{check_snapshot, mqttforge, root, stdout};
use serde_json::Value;

fn examples() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("site-examples"))
        .expect("site-examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("site-examples/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_is_valid() {
    let files = examples();
    assert!(files.len() >= 3, "at least three examples");
    for f in files {
        let out = mqttforge(&["validate", &f]);
        assert_eq!(out.status.code(), Some(0), "{f}:\n{}", stdout(&out));
        assert!(stdout(&out).starts_with(&format!("{f}: valid")));
    }
}

#[test]
fn every_example_points_editors_at_the_schema() {
    for f in examples() {
        let text = std::fs::read_to_string(root().join(&f)).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/site.schema.json\n"),
            "{f} must start with the yaml-language-server line"
        );
    }
}

#[test]
fn invalid_fixtures_match_their_snapshots() {
    let dir = root().join("tests/fixtures/invalid");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 25, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    for path in &fixtures {
        let rel = format!(
            "tests/fixtures/invalid/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let out = mqttforge(&["validate", &rel]);
        if out.status.code() != Some(1) {
            failures.push(format!("{rel}: exit {:?}, expected 1", out.status.code()));
        }
        if !out.stderr.is_empty() {
            failures.push(format!(
                "{rel}: wrote to stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if let Err(diff) = check_snapshot(&path.with_extension("stdout"), &stdout(&out)) {
            failures.push(diff);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_snapshot_has_a_fixture() {
    let dir = root().join("tests/fixtures/invalid");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stdout") {
            assert!(
                path.with_extension("yaml").exists(),
                "stale snapshot {}",
                path.display()
            );
        }
    }
}

#[test]
fn json_output_is_machine_readable() {
    let out = mqttforge(&[
        "validate",
        "tests/fixtures/invalid/unknown-key-top-level.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["valid"], false);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "unknown-key");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        d["file"],
        "tests/fixtures/invalid/unknown-key-top-level.yaml"
    );
    assert_eq!(d["line"], 7);
    assert_eq!(d["column"], 1);
    assert_eq!(d["help"], "did you mean `listeners`?");
    assert!(d["message"].as_str().unwrap().contains("listners"));
}

#[test]
fn json_output_of_a_valid_spec() {
    let out = mqttforge(&[
        "validate",
        "site-examples/emqx-cluster.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["site"], "factory-lyon");
    assert_eq!(doc["diagnostics"], Value::Array(vec![]));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(mqttforge(&["validate"]).status.code(), Some(2));
    assert_eq!(
        mqttforge(&["validate", "x.yaml", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(mqttforge(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = mqttforge(&["validate", "no/such/site.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("cannot read `no/such/site.yaml`"));
}

#[test]
fn help_has_examples() {
    let out = mqttforge(&["validate", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("mqttforge validate site-examples/edge-mosquitto.yaml"));
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = mqttforge(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schema/site.schema.json")).unwrap();
    if common::update_snapshots() {
        std::fs::write(root().join("schema/site.schema.json"), &out.stdout).unwrap();
        return;
    }
    assert!(
        committed.as_bytes() == out.stdout.as_slice(),
        "schema/site.schema.json drifted from the Rust model; regenerate it with \
         `cargo run -- schema > schema/site.schema.json` (or UPDATE_SNAPSHOTS=1) and review the diff"
    );
}
