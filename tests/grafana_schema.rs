//! Every rendered Grafana dashboard matches Grafana's published dashboard
//! schema (tests/fixtures/grafana/dashboard.jsonschema.json; its SOURCE.md
//! names the repository, path and commit it was copied from).

mod common;

use mqttforge::render::{render, RenderOptions, SecretMode};
use mqttforge::spec;
use serde_json::Value;

fn dashboard_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        common::root().join("tests/fixtures/grafana/dashboard.jsonschema.json"),
    )
    .expect("the Grafana dashboard schema fixture");
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .build(&schema)
        .expect("the Grafana dashboard schema compiles")
}

/// (example, dashboard path, parsed dashboard) for every example that
/// declares `monitoring.dashboards`.
fn dashboards() -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let mut examples: Vec<_> = std::fs::read_dir(common::root().join("site-examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    for path in examples {
        let name = format!(
            "site-examples/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let site = spec::load(&path).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let declared = site
            .spec
            .monitoring
            .as_ref()
            .is_some_and(|m| m.dashboards.is_some());
        let tree = render(
            &site,
            &RenderOptions::production(name.clone(), SecretMode::Skip),
        )
        .unwrap_or_else(|d| panic!("{name} does not render: {d:?}"));
        let found: Vec<_> = tree
            .files
            .iter()
            .filter(|(p, _)| p.starts_with("grafana/dashboards/") && p.ends_with(".json"))
            .collect();
        assert_eq!(
            !found.is_empty(),
            declared,
            "{name}: dashboards declared: {declared}, rendered: {}",
            found.len()
        );
        for (p, f) in found {
            let doc: Value = serde_json::from_slice(&f.contents)
                .unwrap_or_else(|e| panic!("{name}: {p} is not JSON: {e}"));
            out.push((name.clone(), p.clone(), doc));
        }
    }
    out
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_rendered_dashboard_matches_grafanas_dashboard_schema() {
    let v = dashboard_schema();
    let all = dashboards();
    assert!(all.len() >= 4, "only {} dashboards rendered", all.len());
    for (example, path, doc) in &all {
        let errs = errors(&v, doc);
        assert!(
            errs.is_empty(),
            "{example}: {path} does not match Grafana's dashboard schema:\n{}",
            errs.join("\n")
        );
    }
}

/// The schema really constrains what we render: each of these breakages of
/// a rendered dashboard is rejected.
#[test]
fn the_dashboard_schema_rejects_broken_dashboards() {
    let v = dashboard_schema();
    let (_, _, doc) = dashboards().into_iter().next().expect("a dashboard");
    type Break = fn(&mut Value);
    let breaks: [(&str, Break); 6] = [
        ("no schemaVersion", |d| {
            d.as_object_mut().unwrap().remove("schemaVersion");
        }),
        ("no annotations", |d| {
            d.as_object_mut().unwrap().remove("annotations");
        }),
        ("an unknown top-level key", |d| {
            d["panel"] = Value::Array(vec![]);
        }),
        ("a threshold value as a string", |d| {
            d["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] =
                Value::String("90".into());
        }),
        ("a panel without a type", |d| {
            d["panels"][0].as_object_mut().unwrap().remove("type");
        }),
        ("gridPos without its height", |d| {
            d["panels"][0]["gridPos"]
                .as_object_mut()
                .unwrap()
                .remove("h");
        }),
    ];
    assert!(
        errors(&v, &doc).is_empty(),
        "the unbroken dashboard is accepted"
    );
    for (what, f) in breaks {
        let mut broken = doc.clone();
        f(&mut broken);
        assert!(
            !errors(&v, &broken).is_empty(),
            "the schema accepted a dashboard with {what}"
        );
    }
}
