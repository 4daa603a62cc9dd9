//! The linter's command line: explain, generated rule docs, output formats
//! (SARIF validated against the SARIF 2.1.0 schema), exit codes.

mod common;

use common::{check_snapshot, mqttforge, root, stdout};
use serde_json::Value;

#[test]
fn docs_rules_md_is_generated_from_the_rules() {
    let out = mqttforge(&["explain", "--all"]);
    assert_eq!(out.status.code(), Some(0));
    if let Err(diff) = check_snapshot(&root().join("docs/rules.md"), &stdout(&out)) {
        panic!("docs/rules.md is stale; regenerate with `mqttforge explain --all > docs/rules.md` (or UPDATE_SNAPSHOTS=1):\n{diff}");
    }
}

#[test]
fn explain_prints_a_rule_and_rejects_unknown_ids() {
    for rule in mqttforge::lint::rules::all() {
        let out = mqttforge(&["explain", rule.id]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(
            text.starts_with(rule.id) && text.contains("What it does"),
            "{text}"
        );
    }
    let out = mqttforge(&["explain", "MQ-NOPE-001"]);
    assert_eq!(out.status.code(), Some(1));
}

fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
        .expect("the SARIF schema fixture");
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .build(&schema)
        .expect("the SARIF schema compiles")
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_schema();
    // The schema really constrains: a wrong version and a result without a message fail.
    let bad = serde_json::json!({"version": "9.9", "runs": []});
    assert!(validator.iter_errors(&bad).next().is_some());
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "X"}]}]});
    assert!(
        validator.iter_errors(&bad).next().is_some(),
        "a result needs a message"
    );
    let mut checked = 0;
    for rule in mqttforge::lint::rules::all() {
        let dir = root()
            .join("tests/fixtures/rules")
            .join(rule.id)
            .join("audit-fire");
        if !rule.scope.audit || !dir.exists() {
            continue;
        }
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n != "kinds"))
            .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
            .collect();
        files.sort();
        let mut args = vec!["audit", "--format", "sarif"];
        args.extend(files.iter().map(String::as_str));
        let out = mqttforge(&args);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", rule.id));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: SARIF invalid: {errors:?}", rule.id);
        assert!(!doc["runs"][0]["results"].as_array().unwrap().is_empty());
        checked += 1;
    }
    // The spec linter's SARIF too.
    let out = mqttforge(&[
        "lint",
        "site-examples/emqx-cluster.yaml",
        "--format",
        "sarif",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.iter_errors(&doc).next().is_none());
    assert!(checked > 0 || mqttforge::lint::rules::all().count() == 0);
}

#[test]
fn unknown_selects_are_usage_errors() {
    let out = mqttforge(&[
        "lint",
        "site-examples/emqx-cluster.yaml",
        "--select",
        "MQ-NOPE-001",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_examples_lint_without_errors() {
    for e in std::fs::read_dir(root().join("site-examples")).unwrap() {
        let p = e.unwrap().path();
        let rel = format!("site-examples/{}", p.file_name().unwrap().to_string_lossy());
        let out = mqttforge(&["lint", &rel, "--format", "json"]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<&Value> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{rel}: {errors:#?}");
        assert_eq!(out.status.code(), Some(0), "{rel}");
    }
}
