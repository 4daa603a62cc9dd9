//! `mqttforge acl check` on the example sites, and the ACL matrix (every
//! device role x own / other device x read / write) evaluated on the ACL
//! each example renders, with the broker's own semantics.

mod common;

use common::{mqttforge, root, stdout};
use mqttforge::acl::{self, Access, Who};
use mqttforge::render::{self, RenderOptions, SecretMode};
use serde_json::Value;

/// Runs `acl check`; returns (exit code, stdout).
fn check(spec: &str, user: &str, access: &str, topic: &str) -> (i32, String) {
    let out = mqttforge(&["acl", "check", spec, "--user", user, access, topic]);
    (out.status.code().unwrap_or(-1), stdout(&out))
}

/// The answer names the rule that decided: `file:line: text`, or the ACL's default.
fn assert_names_rule(out: &str, file: &str) {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("decided by"))
        .unwrap_or_else(|| panic!("no `decided by` line:\n{out}"));
    assert!(line.contains(file), "{line}");
    let with_line = line.contains(&format!("{file}:"))
        && line
            .split(&format!("{file}:"))
            .nth(1)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    assert!(with_line || line.contains("default"), "{line}");
}

#[test]
fn mosquitto_edge_site() {
    let spec = "site-examples/edge-mosquitto.yaml";
    let (code, out) = check(
        spec,
        "temp-001",
        "--write",
        "devices/temp-001/telemetry/line1",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("allow:"), "{out}");
    assert!(
        out.contains("mosquitto/acl:") && out.contains("topic write devices/temp-001/telemetry/#"),
        "{out}"
    );
    assert_names_rule(&out, "mosquitto/acl");

    let (code, out) = check(
        spec,
        "temp-001",
        "--write",
        "devices/temp-002/telemetry/line1",
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("deny:"), "{out}");
    assert_names_rule(&out, "mosquitto/acl");
    assert!(out.contains("denies by default"), "{out}");

    let (code, out) = check(spec, "temp-001", "--read", "devices/temp-001/cmd/#");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pattern read devices/%u/cmd/#"), "{out}");
    let (code, out) = check(spec, "temp-001", "--read", "devices/temp-002/cmd/#");
    assert_eq!(code, 3, "{out}");

    let (code, out) = check(
        spec,
        "monitoring",
        "--read",
        "$SYS/broker/clients/connected",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("topic read $SYS/#"), "{out}");
    let (code, out) = check(spec, "monitoring", "--write", "devices/temp-001/cmd/reboot");
    assert_eq!(code, 3, "{out}");
    let (code, out) = check(
        spec,
        "gateway-01",
        "--write",
        "devices/temp-007/telemetry/x",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn emqx_cluster_site() {
    let spec = "site-examples/emqx-cluster.yaml";
    let (code, out) = check(
        spec,
        "sensor-0042",
        "--write",
        "devices/sensor-0042/telemetry/temp",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("emqx/acl.conf:")
            && out.contains(
                "{re, \"^sensor-(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-4][0-9]{3}|5000)$\"}"
            ),
        "{out}"
    );
    assert_names_rule(&out, "emqx/acl.conf");

    // The fleet is sensor-0001..sensor-5000: ids of its shape outside the
    // range are not members and get nothing.
    for outsider in ["sensor-0000", "sensor-5001", "sensor-9999"] {
        let (code, out) = check(
            spec,
            outsider,
            "--write",
            &format!("devices/{outsider}/telemetry/temp"),
        );
        assert_eq!(code, 3, "{outsider} is not in the fleet: {out}");
    }

    let (code, out) = check(
        spec,
        "sensor-0042",
        "--write",
        "devices/sensor-0043/telemetry/temp",
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("{deny, all}."), "{out}");
    assert_names_rule(&out, "emqx/acl.conf");

    let (code, out) = check(spec, "esp32-001", "--read", "devices/esp32-001/cmd/#");
    assert_eq!(code, 0, "{out}");
    let (code, out) = check(spec, "valve-001", "--write", "devices/valve-001/telemetry");
    assert_eq!(code, 3, "an actuator has no telemetry: {out}");

    for (access, topic) in [
        ("--write", "devices/sensor-0001/cmd/reboot"),
        ("--read", "#"),
        ("--write", "anything/else"),
    ] {
        let (code, out) = check(spec, "admin", access, topic);
        assert_eq!(code, 0, "admin {access} {topic}: {out}");
        assert!(
            out.contains("{allow, {username, \"admin\"}, all, [\"#\"]}."),
            "{out}"
        );
    }
    let (code, out) = check(spec, "monitoring", "--read", "$SYS/#");
    assert_eq!(code, 0, "{out}");
    assert_names_rule(&out, "emqx/acl.conf");
}

#[test]
fn mosquitto_ha_site() {
    let spec = "site-examples/mosquitto-ha.yaml";
    for (user, access, topic, code) in [
        (
            "scanner-0001",
            "--write",
            "devices/scanner-0001/telemetry/scan",
            0,
        ),
        (
            "scanner-0001",
            "--write",
            "devices/scanner-0002/telemetry/scan",
            3,
        ),
        (
            "scanner-0001",
            "--write",
            "devices/scanner-0001/response/x",
            3,
        ),
        (
            "forklift-07",
            "--write",
            "devices/forklift-07/response/ack",
            0,
        ),
        ("forklift-07", "--read", "devices/forklift-07/cmd/#", 0),
        ("dispatch", "--write", "devices/forklift-07/cmd/stop", 0),
        ("dispatch", "--write", "devices/forklift-07/status", 3),
        ("admin", "--write", "devices/forklift-07/cmd/stop", 0),
        ("admin", "--read", "#", 0),
        ("monitoring", "--read", "$SYS/#", 0),
        ("monitoring", "--read", "$SYS/broker/uptime", 0),
    ] {
        let (got, out) = check(spec, user, access, topic);
        assert_eq!(got, code, "{user} {access} {topic}:\n{out}");
        assert_names_rule(&out, "mosquitto/acl");
    }
}

#[test]
fn json_output() {
    let out = mqttforge(&[
        "acl",
        "check",
        "site-examples/emqx-cluster.yaml",
        "--user",
        "sensor-0042",
        "--client-id",
        "fw-sensor-0042",
        "--write",
        "devices/sensor-0041/status",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["allowed"], false);
    assert_eq!(doc["decision"], "deny");
    assert_eq!(doc["engine"], "emqx");
    assert_eq!(doc["client_id"], "fw-sensor-0042");
    assert_eq!(doc["rule"]["file"], "emqx/acl.conf");
    assert_eq!(doc["rule"]["text"], "{deny, all}.");
    assert!(doc["rule"]["line"].as_u64().unwrap() > 1);
    let out = mqttforge(&[
        "acl",
        "check",
        "site-examples/edge-mosquitto.yaml",
        "--user",
        "temp-001",
        "--read",
        "devices/temp-001/cmd/+",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["allowed"], true);
    assert_eq!(doc["rule"]["text"], "pattern read devices/%u/cmd/#");
}

#[test]
fn rumqttd_has_no_topic_authorization() {
    let out = mqttforge(&[
        "acl",
        "check",
        "site-examples/dev-rumqttd.yaml",
        "--user",
        "bench-01",
        "--write",
        "devices/bench-01/telemetry",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no topic authorization"));
}

#[test]
fn usage_errors() {
    let spec = "site-examples/edge-mosquitto.yaml";
    let out = mqttforge(&[
        "acl",
        "check",
        spec,
        "--user",
        "a",
        "--write",
        "devices/+/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = mqttforge(&["acl", "check", spec, "--user", "a", "--read", "a/#/b"]);
    assert_eq!(out.status.code(), Some(2));
    let out = mqttforge(&[
        "acl", "check", spec, "--user", "a", "--read", "a", "--write", "b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = mqttforge(&["acl", "check", spec, "--user", "a"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A topic inside a grant's filter: wildcards replaced by concrete levels.
fn concrete(filter: &str) -> String {
    filter
        .split('/')
        .map(|l| if l == "+" || l == "#" { "x" } else { l })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every device role x own / other device x read / write, on the ACL each
/// example renders: a device may use its own topics and not another
/// device's.
#[test]
fn acl_matrix_of_the_examples() {
    let mut checked = 0;
    for e in std::fs::read_dir(root().join("site-examples")).unwrap() {
        let path = e.unwrap().path();
        let site = mqttforge::spec::load(&path).expect("the example is valid");
        let tree = render::render(
            &site,
            &RenderOptions::production(path.display().to_string(), SecretMode::Skip),
        )
        .expect("renders");
        let Some(acl) = acl::from_tree(site.spec.engine, &tree).expect("the generated ACL parses")
        else {
            continue;
        };
        let devices: Vec<_> = site.devices().collect();
        for (i, d) in devices.iter().enumerate() {
            // The first device of each entry, and a device of another entry as "other".
            if i > 0 && devices[i - 1].entry == d.entry {
                continue;
            }
            let other = devices
                .iter()
                .find(|o| o.entry != d.entry)
                .map(|o| o.id.clone())
                .unwrap_or_else(|| "intruder-1".to_string());
            let who = Who::new(Some(&d.id), &d.id);
            for g in mqttforge::render::targets::access::grants(&site.role(d.role).unwrap()) {
                if !g.topic.contains("{id}")
                    || g.access == mqttforge::render::targets::access::Access::Deny
                {
                    continue;
                }
                let mut asks = Vec::new();
                if g.access.publishes() {
                    asks.push((
                        Access::Write,
                        concrete(&g.topic_for(&d.id)),
                        concrete(&g.topic_for(&other)),
                    ));
                }
                if g.access.subscribes() {
                    asks.push((Access::Read, g.topic_for(&d.id), g.topic_for(&other)));
                }
                for (access, own, foreign) in asks {
                    let yes = acl::decide(&acl, &who, access, &own);
                    assert!(
                        yes.allowed,
                        "{}: {} {access:?} {own}: {yes:?}",
                        path.display(),
                        d.id
                    );
                    assert!(yes.rule.is_some(), "an allow names its rule");
                    let no = acl::decide(&acl, &who, access, &foreign);
                    assert!(
                        !no.allowed,
                        "{}: {} {access:?} {foreign}: {no:?}",
                        path.display(),
                        d.id
                    );
                    assert!(
                        no.rule.is_some() || no.note.is_some(),
                        "a deny says what decided"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} checks ran");
}
