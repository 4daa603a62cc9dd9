//! `audit` over realistic hand-written production sets: every planted
//! mistake is reported with its rule at its position (and the whole output
//! is a snapshot), and the corrected sets report nothing.

mod common;

use common::{check_snapshot, mqttforge, root, stdout};

fn files(dir: &str) -> Vec<String> {
    fn walk(d: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_none_or(|x| x != "stdout") {
                out.push(p.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out.sort();
    out
}

fn audit(dir: &str) -> (Option<i32>, String) {
    let mut args = vec!["audit".to_string()];
    args.extend(files(dir));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = mqttforge(&argv);
    (out.status.code(), stdout(&out))
}

/// (file, line, rule): the mistakes planted in each broken set.
const MOSQUITTO_MISTAKES: &[(&str, usize, &str)] = &[
    ("mosquitto.conf", 3, "MQ-AUTH-003"),  // allow_anonymous true
    ("mosquitto.conf", 4, "MQ-CFG-002"),   // cafile before any listener
    ("mosquitto.conf", 12, "MQ-AUTH-007"), // connection_messages false
    ("mosquitto.conf", 15, "MQ-AUTH-004"), // auth_plugin
    ("mosquitto.conf", 17, "MQ-AUTH-001"), // auth_opt_password changeme
    ("mosquitto.conf", 23, "MQ-TLS-001"),  // plaintext listener 1883
    ("mosquitto.conf", 29, "MQ-TLS-002"),  // tls_version tlsv1.2
    ("mosquitto.conf", 30, "MQ-TLS-003"),  // TLS 1.3 names in ciphers
    ("mosquitto.conf", 32, "MQ-TLS-006"),  // identity without required certs
    ("mosquitto.conf", 33, "MQ-CFG-003"),  // max_connection typo
    ("acl", 10, "MQ-ACL-001"),             // sensor may write #
    ("acl", 12, "MQ-ACL-001"),             // pattern spanning devices
    ("acl", 14, "MQ-ACL-004"),             // duplicate pattern
    ("haproxy.cfg", 10, "MQ-HA-006"),      // timeout client 60s vs keepalive
    ("haproxy.cfg", 21, "MQ-HA-003"),      // CONNECT remaining length
    ("haproxy.cfg", 23, "MQ-HA-001"),      // a single broker
    ("haproxy.cfg", 30, "MQ-AUTH-005"),    // stats on all interfaces, admin:admin
    ("prometheus.yml", 12, "MQ-OBS-005"),  // scrape config and rules in one file
    ("prometheus.yml", 16, "MQ-OBS-001"),  // a metric the exporter does not export
    ("prometheus.yml", 19, "MQ-OBS-002"),  // per-second rate vs per-minute text
    ("99-mqtt.conf", 5, "MQ-PERF-003"),    // bbr without tcp_bbr
    ("backup.sh", 1, "MQ-DR-005"),         // no strict mode
    ("backup.sh", 3, "MQ-DR-003"),         // stops the only broker
    ("backup.sh", 5, "MQ-DR-002"),         // shipped unencrypted
];

const EMQX_MISTAKES: &[(&str, usize, &str)] = &[
    ("emqx.conf", 4, "MQ-AUTH-001"),     // EMQX's default cookie
    ("emqx.conf", 4, "MQ-AUTH-002"),     // inline Erlang cookie
    ("emqx.conf", 8, "MQ-CFG-001"),      // listener.ssl.external (4.x)
    ("emqx.conf", 9, "MQ-CFG-001"),      // zone.external.* (4.x)
    ("emqx.conf", 16, "MQ-TLS-005"),     // verify_none on the device listener
    ("emqx.conf", 28, "MQ-AUTH-005"),    // dashboard on all interfaces
    ("emqx.conf", 29, "MQ-AUTH-001"),    // default_password = public
    ("emqx.conf", 23, "MQ-ACL-001"),     // no_match = allow
    ("acl.conf", 4, "MQ-ACL-001"),       // publish across devices
    ("acl.conf", 5, "MQ-ACL-001"),       // a sensor with all on #
    ("acl.conf", 6, "MQ-ACL-001"),       // {allow, all}
    ("prometheus.yml", 6, "MQ-OBS-001"), // /api/v4/metrics against EMQX 5
];

fn check_broken(set: &str, mistakes: &[(&str, usize, &str)]) {
    let dir = format!("tests/fixtures/audit-site/broken/{set}");
    let (code, out) = audit(&dir);
    assert_eq!(code, Some(1), "{out}");
    let mut missing = Vec::new();
    for (file, line, rule) in mistakes {
        let at = format!("{dir}/{file}:{line}:");
        let found = out
            .split("\n\n")
            .any(|block| block.contains(&format!("[{rule}]:")) && block.contains(&at));
        if !found {
            missing.push(format!("{rule} at {at}"));
        }
    }
    assert!(missing.is_empty(), "not reported: {missing:?}\n{out}");
    if let Err(diff) = check_snapshot(&root().join(format!("{dir}.stdout")), &out) {
        panic!("{diff}");
    }
}

#[test]
fn a_hand_written_mosquitto_site_reports_each_mistake() {
    check_broken("mosquitto", MOSQUITTO_MISTAKES);
}

#[test]
fn a_hand_written_emqx_site_reports_each_mistake() {
    check_broken("emqx", EMQX_MISTAKES);
}

#[test]
fn the_corrected_sets_report_nothing() {
    for set in ["mosquitto", "emqx"] {
        let (code, out) = audit(&format!("tests/fixtures/audit-site/clean/{set}"));
        assert_eq!(code, Some(0), "{out}");
        assert!(
            out.ends_with("files: 0 errors, 0 warnings, 0 info\n"),
            "{set}:\n{out}"
        );
    }
}
