//! Every rule has fixtures that fire and fixtures that do not, in `lint`
//! (a spec) and in `audit` (hand-written files) wherever the rule applies,
//! and fires exactly where its snapshot says.
//!
//! Layout, per rule ID under tests/fixtures/rules/<ID>/:
//!   lint-fire.yaml, lint-pass.yaml      specs (rules whose scope includes lint)
//!   audit-fire/, audit-pass/            files audited together (scope audit)
//!   lint-fire.stdout, audit-fire.stdout the exact output, findings of <ID> only
//! `UPDATE_SNAPSHOTS=1 cargo test --test rules` rewrites the snapshots.

mod common;

use std::path::Path;

use common::{check_snapshot, mqttforge, root, stdout};
use mqttforge::lint::rules;

fn audit_args(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "kinds"))
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    files.sort();
    // Optional `kinds` file: lines FILE=KIND for files detection cannot name.
    if let Ok(kinds) = std::fs::read_to_string(dir.join("kinds")) {
        let rel = dir.strip_prefix(root()).unwrap().display().to_string();
        for line in kinds.lines().filter(|l| !l.trim().is_empty()) {
            files.push(format!("--kind={rel}/{}", line.trim()));
        }
    }
    files
}

fn count(out: &str, id: &str) -> usize {
    out.lines()
        .filter(|l| l.contains(&format!("[{id}]:")))
        .count()
}

#[test]
fn every_rule_fires_on_its_fixtures_and_only_there() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in rules::all() {
        let dir = root().join("tests/fixtures/rules").join(rule.id);
        let rel = format!("tests/fixtures/rules/{}", rule.id);
        let mut cases: Vec<(&str, Vec<String>)> = Vec::new();
        if rule.scope.lint {
            cases.push((
                "lint-fire",
                vec!["lint".into(), format!("{rel}/lint-fire.yaml")],
            ));
            cases.push((
                "lint-pass",
                vec!["lint".into(), format!("{rel}/lint-pass.yaml")],
            ));
        }
        if rule.scope.audit {
            let mut fire = vec!["audit".to_string()];
            fire.extend(audit_args(&dir.join("audit-fire")));
            cases.push(("audit-fire", fire));
            let mut pass = vec!["audit".to_string()];
            pass.extend(audit_args(&dir.join("audit-pass")));
            cases.push(("audit-pass", pass));
        }
        for (case, mut args) in cases {
            args.push(format!("--select={}", rule.id));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = mqttforge(&argv);
            let text = stdout(&out);
            let n = count(&text, rule.id);
            checked += 1;
            if case.ends_with("fire") {
                if n == 0 {
                    failures.push(format!(
                        "{} {case}: the rule did not fire:\n{text}{}",
                        rule.id,
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                if let Err(diff) = check_snapshot(&dir.join(format!("{case}.stdout")), &text) {
                    failures.push(format!("{} {case}:\n{diff}", rule.id));
                }
            } else if n != 0 {
                failures.push(format!(
                    "{} {case}: the rule fired where it must not:\n{text}",
                    rule.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked > 0 || rules::all().count() == 0);
}

#[test]
fn every_fixture_directory_belongs_to_a_rule() {
    for e in std::fs::read_dir(root().join("tests/fixtures/rules")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            rules::find(&name).is_some(),
            "tests/fixtures/rules/{name} has no rule"
        );
    }
}
