//! `verify --runtime local --drill`: the rendered backup script runs against
//! the serving Mosquitto (age-encrypted to a local off-site stand-in), the
//! rendered restore script restores onto a fresh host, and what came back is
//! checked and timed against the spec's RTO and RPO. Needs mosquitto and age
//! (scripts/install-test-deps.sh).

mod common;

use serde_json::Value;

const DRILL_PROBES: &[&str] = &[
    "drill: the rendered backup script runs while the broker serves",
    "drill: the rendered restore script restores onto a fresh host",
    "drill: restore time within the RTO",
    "drill: restored data age within the RPO",
    "drill: retained messages restored",
    "drill: queued session messages restored",
    "drill: ACL restored",
    "drill: password file restored",
    "drill: certificates restored",
];

fn drill(example: &str) -> (Option<i32>, Value) {
    let out = common::mqttforge(&[
        "verify",
        &format!("site-examples/{example}.yaml"),
        "--runtime",
        "local",
        "--drill",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{example}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), doc)
}

/// The drill restores as root, as production does (owners and modes come back).
fn require_root() {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    assert!(
        root,
        "the drill restores as root, as production does: run this test as root (CI does)"
    );
}

fn probe<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no probe `{name}`: {doc:#}"))
}

fn assert_drill_passes(doc: &Value) {
    for name in DRILL_PROBES {
        assert_eq!(probe(doc, name)["result"], "pass", "{name}: {doc:#}");
    }
    let rto = probe(doc, "drill: restore time within the RTO")["detail"]
        .as_str()
        .unwrap();
    assert!(
        rto.starts_with("measured restore time ") && rto.contains("RTO 15m"),
        "{rto}"
    );
    let rpo = probe(doc, "drill: restored data age within the RPO")["detail"]
        .as_str()
        .unwrap();
    assert!(rpo.contains("RPO 1h"), "{rpo}");
}

#[test]
fn the_drill_passes_on_the_edge_example() {
    require_root();
    let (code, doc) = drill("edge-mosquitto");
    assert_eq!(code, Some(0), "{doc:#}");
    assert_drill_passes(&doc);
    let backup = probe(
        &doc,
        "drill: the rendered backup script runs while the broker serves",
    )["detail"]
        .as_str()
        .unwrap();
    assert!(backup.contains(".tar.gz.age (age-encrypted)"), "{backup}");
}

/// The pair behind HAProxy: the failover probe stops node 0 before the
/// drill, which starts it again and drills on it.
#[test]
fn the_drill_passes_on_the_ha_example() {
    require_root();
    let (_, doc) = drill("mosquitto-ha");
    assert_drill_passes(&doc);
}

/// A restore script that skips the persistence database: the archive is
/// complete, the script succeeds, and the drill says what did not come back.
#[test]
fn a_restore_that_skips_the_retained_store_fails_the_drill() {
    require_root();
    let site =
        mqttforge::spec::load(&common::root().join("site-examples/edge-mosquitto.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let probes = mqttforge::verify::local::run_with_options(
        &site,
        "edge-mosquitto.yaml",
        work.path(),
        true,
        mqttforge::verify::local::Options { drill: true },
        &|tree| {
            let f = tree.files.get_mut("backup/restore.sh").unwrap();
            let text = String::from_utf8(f.contents.clone()).unwrap();
            let extract = "tar -C / -xzf \"$archive\"\n";
            assert!(text.contains(extract), "{text}");
            f.contents = text
                .replace(
                    extract,
                    "tar -C / -xzf \"$archive\" --exclude=\"${DATA_DIR#/}/mosquitto.db\"\n",
                )
                .into_bytes();
        },
    )
    .unwrap();
    let outcome = |name: &str| {
        probes
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no probe `{name}`: {probes:?}"))
            .outcome
            .clone()
    };
    use mqttforge::verify::Outcome;
    assert!(
        matches!(
            outcome("drill: the rendered restore script restores onto a fresh host"),
            Outcome::Pass(_)
        ),
        "{probes:?}"
    );
    match outcome("drill: retained messages restored") {
        Outcome::Fail(why) => assert!(
            why.contains("the retained store was not restored")
                && why.contains("devices/press-01/status"),
            "{why}"
        ),
        other => panic!("a restore without the retained store passed: {other:?}"),
    }
    match outcome("drill: queued session messages restored") {
        Outcome::Fail(why) => assert!(
            why.contains("the persistent session was not restored"),
            "{why}"
        ),
        other => panic!("a restore without the sessions passed: {other:?}"),
    }
    // The configuration did come back: the failure names only what is missing.
    assert!(matches!(outcome("drill: ACL restored"), Outcome::Pass(_)));
    assert!(!mqttforge::verify::all_passed(&probes));
}

/// EMQX: the drill is not run on the local runtime, says what it needs, and
/// does not count as passing.
#[test]
fn the_drill_on_an_emqx_site_says_what_it_needs() {
    let (_, doc) = drill("emqx-cluster");
    let p = probe(&doc, "backup→restore drill");
    assert_eq!(p["result"], "not_applicable", "{doc:#}");
    let why = p["detail"].as_str().unwrap();
    assert!(
        why.starts_with("not run") && why.contains("EMQX image"),
        "{why}"
    );
}

/// Another runtime: the drill is reported not run, naming the runtime it needs.
#[test]
fn the_drill_on_the_bundled_runtime_names_the_local_one() {
    let out = common::mqttforge(&[
        "verify",
        "site-examples/dev-rumqttd.yaml",
        "--drill",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let p = probe(&doc, "backup→restore drill");
    assert_eq!(p["result"], "not_applicable", "{doc:#}");
    assert!(
        p["detail"].as_str().unwrap().contains("--runtime local"),
        "{doc:#}"
    );
}
