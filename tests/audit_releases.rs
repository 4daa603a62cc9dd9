//! `audit` judges files as the broker release the flags name, else the one
//! the files say, else the targeted one (Mosquitto 2.0, EMQX 5.8); acl.conf
//! forms of later EMQX releases are accepted for those releases and refused
//! with the release they need otherwise; an acl.conf is audited past a bad
//! term. Through the built binary.

mod common;

use std::path::Path;

use common::{mqttforge, stdout};

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn audit(args: &[&str]) -> (Option<i32>, String) {
    let mut argv = vec!["audit"];
    argv.extend_from_slice(args);
    let out = mqttforge(&argv);
    (out.status.code(), stdout(&out))
}

fn summary(out: &str) -> &str {
    out.lines().last().unwrap_or_default()
}

const MOSQUITTO_2_1: &str = "listener 1883 127.0.0.1\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\nenable_control_api true\n";

#[test]
fn a_mosquitto_2_1_directive_says_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "mosquitto.conf", MOSQUITTO_2_1);
    let (_, out) = audit(&[&conf]);
    assert!(!out.contains("MQ-CFG-003"), "{out}");
    assert!(
        summary(&out).starts_with(&format!(
            "1 file judged as Mosquitto 2.1 ({conf}:4 uses `enable_control_api`, which only 2.1 has): "
        )),
        "{out}"
    );
    // JSON and SARIF carry it too.
    let (_, out) = audit(&[&conf, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["judged_as"][0],
        format!("Mosquitto 2.1 ({conf}:4 uses `enable_control_api`, which only 2.1 has)")
    );
    let (_, out) = audit(&[&conf, "--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(doc["runs"][0]["properties"]["judged_as"][0]
        .as_str()
        .unwrap()
        .starts_with("Mosquitto 2.1 ("));
    // The flag wins: a broker that runs 2.0 refuses the directive.
    let (_, out) = audit(&[&conf, "--mosquitto-version", "2.0"]);
    assert!(
        out.contains("warning[MQ-CFG-003]: `enable_control_api` is a Mosquitto 2.1 directive"),
        "{out}"
    );
    assert!(summary(&out).starts_with("1 file: "), "{out}");
    let (_, out) = audit(&[&conf, "--mosquitto-version", "2.0", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(doc.get("judged_as").is_none(), "{out}");
}

const ZONE_ACL: &str = "{allow, {zone, \"external\"}, publish, [\"devices/${clientid}/#\"]}.\n{allow, {'and', [{listener, {re, \"^ssl:\"}}, {username, \"ops\"}]}, subscribe, [\"devices/+/status\"]}.\n{deny, all}.\n";

#[test]
fn emqx_5_9_principals_need_5_9() {
    let dir = tempfile::tempdir().unwrap();
    // Judged as 5.8 (nothing says otherwise): refused, each at its position,
    // naming the release that has it.
    let plain = write(dir.path(), "plain/acl.conf", ZONE_ACL);
    let (code, out) = audit(&[&plain]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("error[audit]: cannot parse the EMQX acl.conf: `{{zone, ...}}` needs EMQX 5.9 or later; EMQX 5.8, the release this file is judged as, refuses it (pass --emqx-version 5.9 if the file is for that release)\n --> {plain}:1:9")), "{out}");
    assert!(
        out.contains("`{listener, ...}` needs EMQX 5.9 or later"),
        "{out}"
    );
    assert!(out.contains(&format!(" --> {plain}:2:18")), "{out}");
    for release in ["5.9", "5.10", "6.0"] {
        let (code, out) = audit(&[&plain, "--emqx-version", release]);
        assert_eq!(code, Some(0), "{release}: {out}");
        assert!(
            summary(&out).starts_with(&format!(
                "1 file judged as EMQX {release} (--emqx-version): 0 errors"
            )),
            "{out}"
        );
    }
    let (code, out) = audit(&[&plain, "--emqx-version", "5.7"]);
    assert_eq!(code, Some(1), "{out}");
    // A path naming an unpacked release says it.
    let shipped = write(dir.path(), "emqx-5.10.1/etc/acl.conf", ZONE_ACL);
    let (code, out) = audit(&[&shipped]);
    assert_eq!(code, Some(0), "{out}");
    assert!(summary(&out).contains("judged as EMQX 5.10 ("), "{out}");
    assert!(summary(&out).contains("is under emqx-5.10.1/)"), "{out}");
    // A release mqttforge has no tables for is a usage error naming those it has.
    let out = mqttforge(&["audit", &plain, "--emqx-version", "6.3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("5.7, 5.8, 5.9, 5.10, 6.0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_acl_conf_is_audited_past_a_bad_term() {
    let dir = tempfile::tempdir().unwrap();
    let acl = write(
        dir.path(),
        "acl.conf",
        "{allow, {username, \"a\"}, pubsub, [\"a/#\"]}.\n{allow, {username \"b\"}, publish, [\"b/#\"]}.\n{allow, {username, \"c\"}, publish, all}.\n{allow, all}.\n",
    );
    let (code, out) = audit(&[&acl]);
    assert_eq!(code, Some(1), "{out}");
    // The 4.x action and the syntax error, each at its line:col...
    assert!(out.contains(&format!("`pubsub` is not an action: write publish, subscribe or all (`pubsub` is EMQX 4.x's; EMQX 5 writes `all`)\n --> {acl}:1:26")), "{out}");
    assert!(
        out.contains(&format!(
            "expected ',' or '}}' in the tuple opened at 2:9, found a string\n --> {acl}:2:19"
        )),
        "{out}"
    );
    // ...and the terms after them still audited: `all` topics and the
    // catch-all allow.
    assert!(
        out.contains(&format!(
            "error[MQ-ACL-001]: user `c` may publish to `#`: every topic of the site, other devices' commands included\n --> {acl}:3:1"
        )),
        "{out}"
    );
    assert!(out.contains(&format!(" --> {acl}:4:1")), "{out}");
}

#[test]
fn audit_help_says_where_the_release_comes_from() {
    let out = mqttforge(&["audit", "--help"]);
    let help = stdout(&out);
    for said in [
        "else the\none the files say, else the releases mqttforge targets (Mosquitto 2.0, EMQX 5.8)",
        "`emqx-5.9.0/`, `mosquitto-2.1.2/`",
        "a directive only Mosquitto 2.1 has (`enable_control_api`, ...)",
        "5.7, 5.8, 5.9, 5.10 or 6.0",
    ] {
        assert!(help.contains(said), "{said}\n{help}");
    }
}
