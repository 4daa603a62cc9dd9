//! `mqttforge checklist`: each example's checklist is a snapshot
//! (`tests/fixtures/checklist/<example>.json`, rewritten with
//! UPDATE_SNAPSHOTS=1), its Markdown is the table RUNBOOK.md embeds, its
//! rules and probes exist, and a site without backups has its DR items
//! missing.

mod common;

use mqttforge::checklist::{self, Item};
use mqttforge::render::checklist::{Status, ITEMS};
use mqttforge::source::SourceFile;
use mqttforge::spec::{self, Site};

const EXAMPLES: &[&str] = &[
    "dev-rumqttd",
    "edge-mosquitto",
    "emqx-cluster",
    "mosquitto-ha",
];

fn load(name: &str, text: &str) -> Site {
    spec::load_source(SourceFile::new(name, text)).unwrap_or_else(|d| panic!("{name}: {d:?}"))
}

fn example(example: &str) -> (String, String) {
    let name = format!("site-examples/{example}.yaml");
    let text = std::fs::read_to_string(common::root().join(&name)).unwrap();
    (name, text)
}

fn status(items: &[Item], id: &str) -> Status {
    items.iter().find(|i| i.row.id == id).unwrap().row.status
}

#[test]
fn each_example_matches_its_snapshot() {
    let mut failures = Vec::new();
    for example in EXAMPLES {
        let spec = format!("site-examples/{example}.yaml");
        let out = common::mqttforge(&["checklist", &spec, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let missing = json["missing"].as_u64().unwrap();
        assert_eq!(
            out.status.code(),
            Some(if missing > 0 { 1 } else { 0 }),
            "{example}"
        );
        assert_eq!(json["items"].as_array().unwrap().len(), 24, "{example}");
        let path = common::root().join(format!("tests/fixtures/checklist/{example}.json"));
        if let Err(diff) = common::check_snapshot(&path, &common::stdout(&out)) {
            failures.push(diff);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_markdown_is_the_table_the_runbook_embeds() {
    for example in EXAMPLES {
        let spec = format!("site-examples/{example}.yaml");
        let md = common::stdout(&common::mqttforge(&[
            "checklist",
            &spec,
            "--format",
            "markdown",
        ]));
        let table: String = md
            .lines()
            .take_while(|l| l.starts_with('|'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            table.lines().count(),
            26,
            "{example}: header, rule and 24 rows\n{md}"
        );
        let runbook =
            std::fs::read_to_string(common::root().join(format!("golden/{example}/RUNBOOK.md")))
                .unwrap();
        let embedded = runbook
            .split("## 4. Production checklist\n\n")
            .nth(1)
            .unwrap();
        assert!(
            embedded.starts_with(&table),
            "{example}: RUNBOOK.md embeds another table"
        );
    }
}

#[test]
fn removing_backups_turns_the_dr_items_to_missing() {
    let (name, text) = example("mosquitto-ha");
    let before = checklist::checklist(&load(&name, &text), &name).unwrap();
    let start = text.find("\nbackup:\n").unwrap() + 1;
    let end = start + text[start..].find("\n\n").unwrap() + 1;
    let without = format!("{}{}", &text[..start], &text[end..]);
    assert!(!without.contains("age_recipient"));
    let after = checklist::checklist(&load(&name, &without), &name).unwrap();
    for id in ["DR-1", "DR-2"] {
        assert_ne!(status(&before, id), Status::Missing, "{id} before");
        assert_eq!(status(&after, id), Status::Missing, "{id} without backups");
        let row = &after.iter().find(|i| i.row.id == id).unwrap().row;
        assert!(row.todo.as_deref().unwrap().contains("backup:"), "{row:?}");
    }
    // Lint reports the missing backup on the item that checks it.
    let dr1 = after.iter().find(|i| i.row.id == "DR-1").unwrap();
    assert!(dr1.findings.contains(&"MQ-DR-001".to_string()), "{dr1:?}");
    // Nothing else changed status.
    for (b, a) in before.iter().zip(&after) {
        if !a.row.id.starts_with("DR-") {
            assert_eq!(b.row.status, a.row.status, "{}", a.row.id);
        }
    }
}

#[test]
fn every_item_names_real_rules_and_probes() {
    assert_eq!(ITEMS.len(), 24);
    let verify_sources: String = [
        "src/verify/local.rs",
        "src/verify/bundled.rs",
        "src/verify/mod.rs",
        "src/verify/emqx.rs",
        "src/verify/drill.rs",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(common::root().join(p)).unwrap())
    .collect();
    for item in ITEMS {
        for rule in item.rules {
            assert!(
                mqttforge::lint::rules::all().any(|r| r.id == *rule),
                "{}: no rule {rule}",
                item.id
            );
        }
        for probe in item.probes.iter().map(|p| p.name) {
            assert!(
                verify_sources.contains(&format!("name: \"{probe}\""))
                    || verify_sources.contains(&format!(": &str = \"{probe}\";")),
                "{}: verify has no probe named {probe:?}",
                item.id
            );
        }
    }
}
