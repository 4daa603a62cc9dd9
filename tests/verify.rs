//! `verify --runtime bundled` and `mqttforge broker`: the site really runs on
//! the bundled broker (rumqttd) with its rendered config and a PKI issued by
//! mqttforge, and the probes say what they proved.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn verify_json(example: &str) -> (Option<i32>, Value) {
    let out = common::mqttforge(&[
        "verify",
        &format!("site-examples/{example}.yaml"),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{example}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), doc)
}

fn result(doc: &Value, probe: &str) -> String {
    doc["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == probe)
        .map(|p| p["result"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no probe `{probe}`: {doc}"))
}

#[test]
fn the_edge_example_passes_on_the_bundled_broker() {
    let (code, doc) = verify_json("edge-mosquitto");
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["passed"], true);
    for probe in [
        "config loads",
        "TLS handshake with the site's server certificate",
        "mTLS: a device certificate is accepted",
        "mTLS: no client certificate is rejected",
        "mTLS: a foreign CA's certificate is rejected",
        "publish/subscribe round trip",
        "session survives a reconnect",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
    // What the bundled broker cannot prove is said, not skipped silently.
    assert_eq!(
        result(&doc, "ACL matrix agrees with `acl check`"),
        "not_applicable"
    );
    assert_eq!(
        result(&doc, "TLS 1.2 refused where 1.3 is required"),
        "not_applicable"
    );
}

#[test]
fn the_dev_example_passes_on_the_bundled_broker() {
    let (code, doc) = verify_json("dev-rumqttd");
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(
        result(&doc, "mTLS: a foreign CA's certificate is rejected"),
        "pass"
    );
}

#[test]
fn the_broker_command_serves_the_site_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (tls_port, plain_port) = (free(), free());
    let text =
        std::fs::read_to_string(common::root().join("site-examples/dev-rumqttd.yaml")).unwrap();
    let spec = dir.path().join("site.yaml");
    std::fs::write(
        &spec,
        text.replace("port: 8883", &format!("port: {tls_port}"))
            .replace("port: 1883", &format!("port: {plain_port}")),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args([
            "broker",
            spec.to_str().unwrap(),
            "--dir",
            dir.path().join("state").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ready = Vec::new();
    while ready.len() < 2 && Instant::now() < deadline {
        let line = lines.next().unwrap().unwrap();
        if line.contains("ready on") {
            ready.push(line);
        }
    }
    assert_eq!(ready.len(), 2, "{ready:?}");
    // A plain MQTT client on the loopback listener gets CONNACK 0.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], plain_port));
    let mut c = mqttforge::verify::client::Client::open(addr, None).unwrap();
    assert_eq!(c.connect("broker-test", true).unwrap(), (false, 0));
    c.disconnect();
    // Ctrl-C stops it cleanly.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    assert!(dir.path().join("state/pki/ca.pem").exists());
}
