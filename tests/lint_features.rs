//! The linter's reporting features, through the built binary: filters never
//! hide errors that are not findings, `--severity`, suppressions that
//! expire, baselines, rules that cannot be suppressed, SARIF help links.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::root;
use serde_json::Value;

/// Runs `mqttforge ARGS` in `dir` with `MQTTFORGE_TODAY` set to `today`.
fn run_in(dir: &Path, today: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MQTTFORGE_TODAY", today)
        .output()
        .expect("the mqttforge binary runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)))
}

/// (code, severity, line, column) of every diagnostic of a JSON report.
fn found(doc: &Value) -> Vec<(String, String, u64, u64)> {
    doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["severity"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn codes(doc: &Value) -> Vec<String> {
    found(doc).into_iter().map(|f| f.0).collect()
}

/// A directory holding a copy of the MQ-TLS-001 audit fixture (a plaintext
/// listener on line 32 of mosquitto.conf), with `edit` applied to its text.
fn plant(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(
        root().join("tests/fixtures/rules/MQ-TLS-001/audit-fire/mosquitto.conf"),
    )
    .unwrap();
    std::fs::write(dir.path().join("mosquitto.conf"), edit(&original)).unwrap();
    dir
}

/// A directory holding a copy of the broken broker of the audit-site
/// fixture as mosquitto.conf: errors and warnings of many rules, among
/// them MQ-AUTH-001 and MQ-AUTH-002 (line 17), which cannot be suppressed.
fn broken() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fixtures/audit-site/broken/mosquitto/mosquitto.conf"),
        dir.path().join("mosquitto.conf"),
    )
    .unwrap();
    dir
}

const TODAY: &str = "2027-03-01";

/// The case: `audit bad.conf --select MQ-TLS-001` dropped the
/// parse error and exited 0. No filter hides an error that is not a
/// rule's finding: parse errors, unreadable files, unknown kinds.
#[test]
fn select_never_hides_a_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.conf"),
        "listeners.tcp.default {\n  bind = \"0.0.0.0:1883\"\n",
    )
    .unwrap();
    let args = ["audit", "bad.conf", "--kind", "emqx-conf"];
    let plain = run_in(dir.path(), TODAY, &args);
    let out = text(&plain);
    assert!(out.contains("error[audit]"), "{out}");
    assert_eq!(plain.status.code(), Some(1), "{out}");
    let position = out
        .lines()
        .find(|l| l.trim_start().starts_with("--> bad.conf:"))
        .unwrap_or_else(|| panic!("no position:\n{out}"))
        .to_string();

    let mut selected = args.to_vec();
    selected.extend(["--select", "MQ-TLS-001"]);
    let o = run_in(dir.path(), TODAY, &selected);
    assert!(text(&o).contains("error[audit]"), "{}", text(&o));
    assert!(text(&o).contains(&position), "{}", text(&o));
    assert_eq!(o.status.code(), Some(1), "--select hid the parse error");

    for filter in [
        &["--severity", "error"][..],
        &["--select", "MQ-TLS-001", "--severity", "error"],
        &["--select", "MQ-HA-001", "--format", "json"],
    ] {
        let mut a = args.to_vec();
        a.extend(filter);
        let o = run_in(dir.path(), TODAY, &a);
        assert!(text(&o).contains("audit"), "{filter:?}: {}", text(&o));
        assert_eq!(o.status.code(), Some(1), "{filter:?}");
    }
}

#[test]
fn filters_never_hide_unreadable_or_unknown_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing a broker reads\n").unwrap();
    for file in ["missing.conf", "notes.txt"] {
        for filter in [&["--select", "MQ-TLS-001"][..], &["--severity", "error"]] {
            let mut a = vec!["audit", file, "--format", "json"];
            a.extend(filter);
            let o = run_in(dir.path(), TODAY, &a);
            let doc = json(&o);
            let c = codes(&doc);
            assert!(
                c.iter().any(|c| c == "io" || c == "audit"),
                "{file} {filter:?}: {c:?}"
            );
            assert_eq!(o.status.code(), Some(1), "{file} {filter:?}");
        }
    }
}

#[test]
fn severity_reports_only_findings_at_or_above_the_level() {
    let dir = broken();
    let all = json(&run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--format", "json"],
    ));
    let all = found(&all);
    let severities: Vec<&str> = all.iter().map(|f| f.1.as_str()).collect();
    assert!(
        severities.contains(&"error") && severities.contains(&"warning"),
        "the fixture needs errors and warnings: {all:?}"
    );
    for (level, kept) in [
        ("info", &["info", "warning", "error"][..]),
        ("warning", &["warning", "error"]),
        ("error", &["error"]),
    ] {
        let o = run_in(
            dir.path(),
            TODAY,
            &[
                "audit",
                "mosquitto.conf",
                "--format",
                "json",
                "--severity",
                level,
            ],
        );
        let want: Vec<_> = all
            .iter()
            .filter(|f| kept.contains(&f.1.as_str()))
            .cloned()
            .collect();
        assert_eq!(found(&json(&o)), want, "--severity {level}");
        assert_eq!(o.status.code(), Some(1), "errors remain at every level");
    }
    let o = run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--severity", "loud"],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn severity_error_with_deny_warnings_counts_only_what_is_reported() {
    // Only warnings: one rule that warns, selected.
    let dir = broken();
    let doc = json(&run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--format", "json"],
    ));
    let warning_rule = found(&doc)
        .into_iter()
        .find(|f| f.1 == "warning")
        .expect("a warning")
        .0;
    let base = ["audit", "mosquitto.conf", "--select", warning_rule.as_str()];
    let o = run_in(dir.path(), TODAY, &base);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut deny = base.to_vec();
    deny.extend(["--deny", "warnings"]);
    assert_eq!(run_in(dir.path(), TODAY, &deny).status.code(), Some(1));
    deny.extend(["--severity", "error"]);
    let o = run_in(dir.path(), TODAY, &deny);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 errors, 0 warnings"), "{}", text(&o));
}

/// The plaintext listener (`listener 1883`, line 32) suppressed inline.
fn with_inline(comment: &str) -> tempfile::TempDir {
    plant(|t| t.replace("listener 1883\n", &format!("{comment}\nlistener 1883\n")))
}

#[test]
fn inline_suppressions_expire_after_their_day() {
    let dir = with_inline(
        "# mqttforge:ignore MQ-TLS-001 until=2027-03-01 line gateway, until the TLS upgrade",
    );
    let args = [
        "audit",
        "mosquitto.conf",
        "--format",
        "json",
        "--select",
        "MQ-TLS-001",
    ];
    // On the day itself: still suppressed, nothing to report.
    // (The plant's bridge, line 43, sends credentials without TLS: another
    // MQ-TLS-001 finding, not suppressed, so only the listener's is judged.)
    let o = run_in(dir.path(), "2027-03-01", &args);
    let f = found(&json(&o));
    assert!(
        !f.iter().any(|f| f.2 == 33 || f.0 == "suppression"),
        "{f:?}"
    );
    assert!(f.iter().any(|f| f.0 == "MQ-TLS-001" && f.2 == 43), "{f:?}");
    // The day after: the finding is back, and the expiry is reported at
    // the comment (line 32, the directive at column 3).
    let o = run_in(dir.path(), "2027-03-02", &args);
    let f = found(&json(&o));
    assert!(
        f.contains(&("suppression".into(), "warning".into(), 32, 3)),
        "{f:?}"
    );
    assert!(f.iter().any(|f| f.0 == "MQ-TLS-001" && f.2 == 33), "{f:?}");
    assert_eq!(o.status.code(), Some(1));
    let out = text(&run_in(dir.path(), "2027-03-02", &args[..2]));
    assert!(
        out.contains("the suppression of MQ-TLS-001 expired on 2027-03-01"),
        "{out}"
    );
    // Without a date the suppression keeps applying.
    let dir = with_inline("# mqttforge:ignore MQ-TLS-001 line gateway");
    let o = run_in(dir.path(), "2099-01-01", &args);
    let f = found(&json(&o));
    assert!(
        !f.iter().any(|f| f.2 == 33 || f.0 == "suppression"),
        "{f:?}"
    );
}

#[test]
fn malformed_dates_are_errors_at_their_position() {
    for (comment, col) in [
        ("# mqttforge:ignore MQ-TLS-001 until=2027-02-30 gateway", 37),
        ("# mqttforge:ignore MQ-TLS-001 until=03/01/2027 gateway", 37),
        ("# mqttforge:ignore MQ-TLS-001 until= gateway", 37),
        ("# mqttforge:ignore MQ-TLS-001 until:2027-03-01 gateway", 31),
    ] {
        let dir = with_inline(comment);
        let o = run_in(
            dir.path(),
            TODAY,
            &[
                "audit",
                "mosquitto.conf",
                "--format",
                "json",
                "--select",
                "MQ-TLS-001",
            ],
        );
        let f = found(&json(&o));
        assert!(
            f.contains(&("suppression".into(), "error".into(), 32, col)),
            "{comment}: {f:?}"
        );
        // The malformed suppression does not apply.
        assert!(f.iter().any(|f| f.0 == "MQ-TLS-001"), "{comment}: {f:?}");
        assert_eq!(o.status.code(), Some(1));
    }
    let dir = with_inline("# mqttforge:ignore MQ-TLS-001 until=2027-02-30 gateway");
    let out = text(&run_in(dir.path(), TODAY, &["audit", "mosquitto.conf"]));
    assert!(out.contains("--> mosquitto.conf:32:37"), "{out}");
    assert!(
        out.contains("`until=2027-02-30` does not give a date"),
        "{out}"
    );
    // A malformed MQTTFORGE_TODAY is a usage error.
    let o = run_in(dir.path(), "tomorrow", &["audit", "mosquitto.conf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("MQTTFORGE_TODAY"));
}

/// A spec whose single node fires MQ-HA-001, with `ignore` as its
/// `lint.ignore` mapping (YAML flow text).
fn spec_with_ignore(ignore: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yaml"),
        format!(
            "site: plant\nenvironment: production\nengine: mosquitto\n\
             capacity: {{ clients: 100, msg_per_s: 10, max_payload: 1KiB }}\n\
             nodes:\n  - {{ name: n1, address: 10.0.0.1 }}\n\
             listeners:\n  - {{ name: devices, port: 8883, tls: {{ client_certs: required, identity: username }} }}\n\
             roles:\n  sensor:\n    - {{ write: \"devices/{{id}}/telemetry/#\" }}\n\
             devices:\n  - {{ id: dev-1, role: sensor }}\n\
             lint:\n  ignore:\n    {ignore}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn spec_suppressions_expire_and_the_string_form_still_works() {
    let args = [
        "lint",
        "site.yaml",
        "--format",
        "json",
        "--select",
        "MQ-HA-001",
    ];
    let plain = spec_with_ignore("MQ-TLS-002: \"not this rule\"");
    let o = run_in(plain.path(), TODAY, &args);
    assert!(
        codes(&json(&o)).contains(&"MQ-HA-001".to_string()),
        "{}",
        text(&o)
    );

    let string_form = spec_with_ignore("MQ-HA-001: \"a lab site\"");
    let o = run_in(string_form.path(), "2099-01-01", &args);
    assert_eq!(found(&json(&o)), vec![], "{}", text(&o));

    let dated = spec_with_ignore("MQ-HA-001: { reason: \"a lab site\", until: 2027-03-01 }");
    let o = run_in(dated.path(), "2027-03-01", &args);
    assert_eq!(found(&json(&o)), vec![], "{}", text(&o));
    let o = run_in(dated.path(), "2027-03-02", &args);
    let f = found(&json(&o));
    // At the suppression's key: line 16, column 5.
    assert!(
        f.contains(&("suppression".into(), "warning".into(), 16, 5)),
        "{f:?}"
    );
    assert!(f.iter().any(|f| f.0 == "MQ-HA-001"), "{f:?}");
}

#[test]
fn spec_suppressions_with_bad_dates_or_keys_are_errors_at_their_position() {
    for (ignore, message, col) in [
        (
            "MQ-HA-001: { reason: \"lab\", until: 2027-02-30 }",
            "`2027-02-30` is not a day of the calendar",
            40,
        ),
        (
            "MQ-HA-001: { reason: \"lab\", until: 03/01/2027 }",
            "`03/01/2027` is not a date",
            40,
        ),
        (
            "MQ-HA-001: { reason: \"lab\", untill: 2027-03-01 }",
            "untill",
            33,
        ),
        (
            "MQ-HA-001: { until: 2027-03-01 }",
            "the required key `reason`",
            5,
        ),
        ("MQ-HA-001: 5", "none of the 2 forms", 16),
        (
            "MQ-HA-001: { reason: \" \", until: 2027-03-01 }",
            "is not a reason",
            26,
        ),
    ] {
        let dir = spec_with_ignore(ignore);
        let o = run_in(dir.path(), TODAY, &["lint", "site.yaml"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{ignore}: {out}");
        assert!(out.contains(message), "{ignore}: {out}");
        assert!(
            out.contains(&format!("--> site.yaml:16:{col}")),
            "{ignore}: {out}"
        );
    }
}

fn write_baseline(dir: &Path, file: &str) -> Value {
    let o = run_in(
        dir,
        TODAY,
        &["audit", "mosquitto.conf", "--write-baseline", file],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "findings still reported and counted"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("to the baseline `{file}`")),
        "{stderr}"
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

#[test]
fn a_baseline_accepts_known_findings_even_after_lines_are_inserted() {
    let dir = broken();
    let doc = write_baseline(dir.path(), "baseline.json");
    assert_eq!(doc["mqttforge_baseline"], 1);
    let entries = doc["findings"].as_array().unwrap();
    let keys: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().into(),
                e["rule"].as_str().unwrap().into(),
                e["fingerprint"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "entries are sorted");
    assert!(keys.iter().all(|k| k.0 == "mosquitto.conf"));
    let all = found(&json(&run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--format", "json"],
    )));
    let fixed = |id: &str| mqttforge::lint::rules::unsuppressible(id).is_some();
    let accepted = all.iter().filter(|f| !fixed(&f.0)).count();
    assert!(accepted > 10, "{all:?}");
    assert_eq!(entries.len(), accepted, "{all:?}");

    // Lines inserted above every finding: all of them still baselined;
    // the rules that cannot be suppressed still show (line 17 + 3).
    let text_before = std::fs::read_to_string(dir.path().join("mosquitto.conf")).unwrap();
    std::fs::write(
        dir.path().join("mosquitto.conf"),
        format!("# reviewed 2027\n\n# by ops\n{text_before}"),
    )
    .unwrap();
    let args = ["audit", "mosquitto.conf", "--baseline", "baseline.json"];
    let out = text(&run_in(dir.path(), TODAY, &args));
    assert!(
        out.contains(&format!("({accepted} findings in the baseline, not shown)")),
        "{out}"
    );
    let mut as_json = args.to_vec();
    as_json.extend(["--format", "json"]);
    let doc = json(&run_in(dir.path(), TODAY, &as_json));
    assert_eq!(doc["baselined"], accepted);
    let left: Vec<(String, u64)> = found(&doc).into_iter().map(|f| (f.0, f.2)).collect();
    assert!(left.iter().all(|f| fixed(&f.0)), "{left:?}");
    for id in ["MQ-AUTH-001", "MQ-AUTH-002"] {
        assert!(left.contains(&(id.to_string(), 20)), "{left:?}");
    }

    // The offending line edited: that finding is new again.
    let edited = std::fs::read_to_string(dir.path().join("mosquitto.conf"))
        .unwrap()
        .replace("listener 1883\n", "listener 1884\n");
    std::fs::write(dir.path().join("mosquitto.conf"), edited).unwrap();
    let f = found(&json(&run_in(dir.path(), TODAY, &as_json)));
    assert!(f.iter().any(|f| f.0 == "MQ-TLS-001" && f.2 == 26), "{f:?}");
    // Only what that line changed is new.
    assert!(f.iter().all(|f| f.2 == 26 || fixed(&f.0)), "{f:?}");
}

#[test]
fn a_malformed_baseline_is_an_error_at_its_position_and_hides_nothing() {
    let dir = broken();
    let all = found(&json(&run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--format", "json"],
    )));
    for (content, message, position) in [
        ("{\n  \"findings\": [\n    }\n", "the baseline is not JSON", "baseline.json:3:5"),
        ("{\"mqttforge_baseline\": 7, \"findings\": []}\n", "is not a baseline of this version", "baseline.json:1:24"),
        ("{\"mqttforge_baseline\": 1,\n \"findings\": [{\"rule\": \"MQ-TLS-001\"}]}\n", "needs `rule`, `file` and `fingerprint`", "baseline.json:2:15"),
        ("{\"mqttforge_baseline\": 1,\n \"findings\": [{\"rule\": \"MQ-NOPE-001\", \"file\": \"a\", \"fingerprint\": \"b\"}]}\n", "`MQ-NOPE-001` is not a rule", "baseline.json:2:24"),
    ] {
        std::fs::write(dir.path().join("baseline.json"), content).unwrap();
        let args = ["audit", "mosquitto.conf", "--baseline", "baseline.json"];
        let o = run_in(dir.path(), TODAY, &args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(message), "{content}: {out}");
        assert!(out.contains(&format!("--> {position}")), "{content}: {out}");
        let mut as_json = args.to_vec();
        as_json.extend(["--format", "json"]);
        let f = found(&json(&run_in(dir.path(), TODAY, &as_json)));
        let rules: Vec<_> = f.into_iter().filter(|f| f.0 != "baseline").collect();
        assert_eq!(rules, all, "a bad baseline hides nothing");
    }
    let o = run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--baseline", "absent.json"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("absent.json"), "{}", text(&o));
}

/// The MQ-AUTH-002 audit fixture: inline passwords on lines 25 and 43.
fn secrets(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(
        root().join("tests/fixtures/rules/MQ-AUTH-002/audit-fire/mosquitto.conf"),
    )
    .unwrap();
    std::fs::write(dir.path().join("mosquitto.conf"), edit(&original)).unwrap();
    dir
}

#[test]
fn secrets_cannot_be_suppressed_inline_in_a_spec_or_by_a_baseline() {
    let args = [
        "audit",
        "mosquitto.conf",
        "--format",
        "json",
        "--select",
        "MQ-AUTH-002",
    ];
    let unsuppressed = found(&json(&run_in(secrets(str::to_string).path(), TODAY, &args)))
        .iter()
        .filter(|f| f.0 == "MQ-AUTH-002")
        .count();
    assert!(unsuppressed >= 2, "the fixture has two inline secrets");
    // Inline: the comment is an error, every finding still shows.
    let dir = secrets(|t| {
        t.replace(
            "plugin_opt_pg_password",
            "# mqttforge:ignore MQ-AUTH-002 the database is on loopback\nplugin_opt_pg_password",
        )
    });
    let o = run_in(dir.path(), TODAY, &args);
    let f = found(&json(&o));
    assert_eq!(
        f.iter().filter(|f| f.0 == "MQ-AUTH-002").count(),
        unsuppressed,
        "{f:?}"
    );
    assert!(
        f.contains(&("suppression".into(), "error".into(), 25, 3)),
        "{f:?}"
    );
    let out = text(&run_in(dir.path(), TODAY, &args[..2]));
    assert!(out.contains("MQ-AUTH-002 cannot be suppressed"), "{out}");

    // Baseline: --write-baseline leaves the rule out; a hand-written entry
    // is an error and accepts nothing.
    let dir = secrets(str::to_string);
    let doc = write_baseline(dir.path(), "baseline.json");
    let entries = doc["findings"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["rule"] != "MQ-AUTH-002"), "{doc}");
    let stderr = String::from_utf8_lossy(
        &run_in(
            dir.path(),
            TODAY,
            &["audit", "mosquitto.conf", "--write-baseline", "b2.json"],
        )
        .stderr,
    )
    .into_owned();
    let fixed = found(&json(&run_in(
        dir.path(),
        TODAY,
        &["audit", "mosquitto.conf", "--format", "json"],
    )))
    .iter()
    .filter(|f| mqttforge::lint::rules::unsuppressible(&f.0).is_some())
    .count();
    assert!(fixed >= unsuppressed);
    assert!(stderr.contains(&format!("{fixed} left out")), "{stderr}");
    std::fs::write(
        dir.path().join("forged.json"),
        "{\"mqttforge_baseline\": 1,\n \"findings\": [\n  {\"rule\": \"MQ-AUTH-002\", \"file\": \"mosquitto.conf\", \"fingerprint\": \"0\"}\n ]}\n",
    )
    .unwrap();
    let mut with = args.to_vec();
    with.extend(["--baseline", "forged.json"]);
    let f = found(&json(&run_in(dir.path(), TODAY, &with)));
    assert!(
        f.contains(&("suppression".into(), "error".into(), 3, 12)),
        "{f:?}"
    );
    assert_eq!(
        f.iter().filter(|f| f.0 == "MQ-AUTH-002").count(),
        unsuppressed,
        "{f:?}"
    );

    // In a spec's lint.ignore.
    let spec = spec_with_ignore("MQ-AUTH-001: \"lab credentials\"");
    let o = run_in(
        spec.path(),
        TODAY,
        &["lint", "site.yaml", "--format", "json"],
    );
    let f = found(&json(&o));
    assert!(
        f.contains(&("suppression".into(), "error".into(), 16, 5)),
        "{f:?}"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn explain_and_the_rule_docs_say_which_rules_cannot_be_suppressed() {
    for rule in mqttforge::lint::rules::all() {
        let o = common::mqttforge(&["explain", rule.id]);
        let out = text(&o);
        assert_eq!(
            out.contains("Cannot be suppressed"),
            rule.unsuppressible().is_some(),
            "{}: {out}",
            rule.id
        );
        assert!(out.contains(&rule.help_uri()), "{out}");
    }
    for id in ["MQ-AUTH-001", "MQ-AUTH-002", "MQ-AUTH-005"] {
        let rule = mqttforge::lint::rules::find(id).unwrap();
        assert!(rule.unsuppressible().is_some(), "{id}");
    }
    let docs = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    assert!(docs.contains("| [MQ-AUTH-002](#mq-auth-002) | error | yes | yes | no |"));
}

/// Every rule in SARIF links to its section of docs/rules.md, and that
/// section exists (its anchor is written in the file).
#[test]
fn sarif_rules_link_to_their_documentation() {
    let o = common::mqttforge(&[
        "audit",
        "--format",
        "sarif",
        "tests/fixtures/rules/MQ-TLS-001/audit-fire/mosquitto.conf",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let docs = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), mqttforge::lint::rules::all().count());
    for r in rules {
        let id = r["id"].as_str().unwrap();
        let uri = r["helpUri"].as_str().unwrap();
        let anchor = id.to_ascii_lowercase();
        assert_eq!(
            uri,
            format!("https://github.com/mqttforge/mqttforge/blob/main/docs/rules.md#{anchor}")
        );
        assert!(
            docs.contains(&format!("<a id=\"{anchor}\"></a>\n\n## {id}\n")),
            "docs/rules.md has no anchor for {id}"
        );
        let help = r["help"]["text"].as_str().unwrap();
        assert!(help.contains("What it does"), "{id}: {help}");
    }
}

/// A bad baseline is reported even when the spec it would filter does not
/// load (no report takes it then).
#[test]
fn baseline_problems_show_even_when_no_spec_loads() {
    let dir = spec_with_ignore("MQ-HA-001: 5");
    std::fs::write(dir.path().join("baseline.json"), "[1, 2\n").unwrap();
    let o = run_in(
        dir.path(),
        TODAY,
        &["lint", "site.yaml", "--baseline", "baseline.json"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("none of the 2 forms"), "{out}");
    assert!(out.contains("the baseline is not JSON"), "{out}");
    assert!(out.contains("--> baseline.json:2:1"), "{out}");
}

/// A spec that does not load is reported in the format asked for (a SARIF
/// or JSON consumer gets a document it can read), whatever the filters.
#[test]
fn a_spec_that_does_not_load_is_reported_in_the_format_asked_for() {
    let dir = spec_with_ignore("MQ-HA-001: 5");
    for format in ["json", "sarif"] {
        let o = run_in(
            dir.path(),
            TODAY,
            &[
                "lint",
                "site.yaml",
                "--format",
                format,
                "--select",
                "MQ-TLS-001",
                "--severity",
                "error",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{format}");
        let doc = json(&o);
        let codes: Vec<&str> = if format == "json" {
            doc["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["code"].as_str().unwrap())
                .collect()
        } else {
            doc["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["ruleId"].as_str().unwrap())
                .collect()
        };
        assert_eq!(codes, ["type"], "{format}");
    }
}

/// `--help` documents the syntax chosen: the inline `until=`, the spec's
/// `until:`, the injectable day, the options and the unsuppressible rules.
#[test]
fn help_documents_the_suppression_and_baseline_syntax() {
    for (command, needles) in [
        (
            "audit",
            &[
                "# mqttforge:ignore MQ-AUTH-003 until=2027-03-01 <reason>",
                "--baseline audit-baseline.json",
            ][..],
        ),
        (
            "lint",
            &["until: 2027-03-01", "--write-baseline lint-baseline.json"],
        ),
    ] {
        let out = text(&common::mqttforge(&[command, "--help"]));
        for needle in needles.iter().chain(&[
            "MQTTFORGE_TODAY=YYYY-MM-DD",
            "--severity <LEVEL>",
            "MQ-AUTH-001, MQ-AUTH-002, MQ-AUTH-005",
        ]) {
            assert!(
                out.contains(needle),
                "{command} --help lacks {needle}:\n{out}"
            );
        }
    }
}

/// SARIF with a baseline still validates against the SARIF 2.1.0 schema,
/// and carries the count of baselined findings.
#[test]
fn sarif_with_a_baseline_validates_and_counts() {
    let text_schema =
        std::fs::read_to_string(root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"))
            .unwrap();
    let schema: Value = serde_json::from_str(&text_schema).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let dir = broken();
    write_baseline(dir.path(), "baseline.json");
    let o = run_in(
        dir.path(),
        TODAY,
        &[
            "audit",
            "mosquitto.conf",
            "--baseline",
            "baseline.json",
            "--format",
            "sarif",
        ],
    );
    let doc = json(&o);
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let baselined = doc["runs"][0]["properties"]["baselined"].as_u64().unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(baselined > 10);
    assert!(results
        .iter()
        .all(|r| mqttforge::lint::rules::unsuppressible(r["ruleId"].as_str().unwrap()).is_some()));
}
