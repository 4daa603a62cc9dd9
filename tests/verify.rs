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

// ---------------------------------------------------------------- local runtime

fn local(spec: &str) -> (Option<i32>, Value) {
    let out = common::mqttforge(&["verify", spec, "--runtime", "local", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{spec}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), doc)
}

fn detail(doc: &Value, probe: &str) -> String {
    doc["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == probe)
        .map(|p| p["detail"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// A Mosquitto active/standby pair behind HAProxy (the mosquitto-ha example
/// with a small capacity, so HAProxy's maxconn fits this machine's open-file
/// limit, and a 1 s health-check interval): every probe passes.
#[test]
fn a_mosquitto_pair_behind_haproxy_passes_every_probe_locally() {
    let (code, doc) = local("tests/fixtures/verify/small-ha.yaml");
    assert_eq!(code, Some(0), "{doc:#}");
    for probe in [
        "config loads",
        "mTLS: a device certificate is accepted",
        "mTLS: no client certificate is rejected",
        "mTLS: a foreign CA's certificate is rejected",
        "TLS 1.2 refused where 1.3 is required",
        "publish/subscribe round trip",
        "session survives a reconnect",
        "retained message survives a broker restart",
        "ACL matrix agrees with `acl check`",
        "every broker's health check goes UP",
        "a stopped broker goes DOWN",
        "clients fail over through the load balancer",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
    assert!(detail(&doc, "every broker's health check goes UP").contains("L7OK"));
}

#[test]
fn the_edge_example_passes_locally() {
    let (code, doc) = local("site-examples/edge-mosquitto.yaml");
    assert_eq!(code, Some(0), "{doc:#}");
    // The site has no administrator: the test variant's observer identity
    // lets every probe run.
    for probe in [
        "TLS 1.2 refused where 1.3 is required",
        "session survives a reconnect",
        "retained message survives a broker restart",
        "ACL matrix agrees with `acl check`",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
}

/// The brokers start from what apply installs, with its owners: an ACL left
/// root:root (as apply wrote it before the fix) makes the broker exit once
/// it has dropped root, and the probe says so.
#[test]
fn an_acl_the_brokers_user_cannot_read_fails_config_loads() {
    if !running_as_root() {
        panic!("this test proves ownership as installed: run it as root (CI does)");
    }
    let site =
        mqttforge::spec::load(&common::root().join("site-examples/edge-mosquitto.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let probes = mqttforge::verify::local::run_with(
        &site,
        "edge-mosquitto.yaml",
        work.path(),
        true,
        &|tree| {
            tree.files.get_mut("mosquitto/acl").unwrap().group = None;
        },
    )
    .unwrap();
    let loads = probes.iter().find(|p| p.name == "config loads").unwrap();
    match &loads.outcome {
        mqttforge::verify::Outcome::Fail(why) => {
            assert!(why.contains("Unable to open acl_file"), "{why}")
        }
        other => panic!("a root:root ACL was not caught: {other:?}"),
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

fn broken(from: &str, to: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::root().join("tests/fixtures/verify/small-ha.yaml"))
        .unwrap();
    assert!(text.contains(from), "{from}");
    let p = dir.path().join("site.yaml");
    std::fs::write(&p, text.replace(from, to)).unwrap();
    let path = p.display().to_string();
    (dir, path)
}

#[test]
fn an_acl_granting_another_devices_topics_fails_the_acl_probe() {
    let (_dir, spec) = broken(
        "- { write: \"devices/{id}/telemetry/#\" }",
        "- { write: \"devices/+/telemetry/#\" }",
    );
    let (code, doc) = local(&spec);
    assert_eq!(code, Some(1));
    assert_eq!(
        result(&doc, "ACL matrix agrees with `acl check`"),
        "fail",
        "{doc:#}"
    );
    assert!(
        detail(&doc, "ACL matrix agrees with `acl check`")
            .contains("may write another device's topic"),
        "{doc:#}"
    );
}

#[test]
fn a_cipher_list_mosquitto_rejects_fails_config_loads() {
    let (_dir, spec) = broken(
        "      min_version: \"1.3\"",
        "      min_version: \"1.2\"\n      ciphers: [TLS_AES_256_GCM_SHA384]",
    );
    let (code, doc) = local(&spec);
    assert_eq!(code, Some(1));
    assert_eq!(result(&doc, "config loads"), "fail");
    assert!(
        detail(&doc, "config loads").contains("Unable to set TLS ciphers"),
        "{doc:#}"
    );
}

#[test]
fn a_health_check_with_a_bad_connect_never_goes_up() {
    let site =
        mqttforge::spec::load(&common::root().join("tests/fixtures/verify/small-ha.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let probes =
        mqttforge::verify::local::run_with(&site, "small-ha.yaml", work.path(), true, &|tree| {
            let f = tree.files.get_mut("haproxy/haproxy.cfg").unwrap();
            let text = String::from_utf8(f.contents.clone()).unwrap();
            // One byte too many announced in the remaining length.
            f.contents = text
                .replace(
                    "send-binary 100c00044d5154540402003c0000",
                    "send-binary 100d00044d5154540402003c0000",
                )
                .into_bytes();
        })
        .unwrap();
    let up = probes
        .iter()
        .find(|p| p.name == "every broker's health check goes UP")
        .unwrap();
    match &up.outcome {
        mqttforge::verify::Outcome::Fail(why) => assert!(why.contains("expected UP"), "{why}"),
        other => panic!("the bad CONNECT was not caught: {other:?}"),
    }
}

#[test]
fn an_emqx_site_reports_its_structural_probes_and_what_needs_an_image() {
    let (code, doc) = local("site-examples/emqx-cluster.yaml");
    assert_eq!(code, Some(0), "{doc:#}");
    for probe in [
        "emqx.conf holds only keys of the targeted EMQX release",
        "a second HOCON parser reads the same configuration",
        "no listener admits an unproven identity",
        "acl.conf isolates devices (mqttforge's evaluator)",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
    for probe in mqttforge::verify::emqx::NEEDS_EMQX {
        assert_eq!(result(&doc, probe), "not_applicable", "{probe}");
        assert!(detail(&doc, probe).contains("needs a running EMQX 5.8.9"));
    }
}

// ---------------------------------------------------------------- docker runtime

const MOSQUITTO_IMAGE: &str = "mqttforge-local/mosquitto:2.0.11";
const HAPROXY_IMAGE: &str = "mqttforge-local/haproxy:2.6.12";

/// The docker runtime needs an engine and the images scripts/build-images.sh
/// builds. Where either is missing the test says so and returns, unless
/// MQTTFORGE_REQUIRE_DOCKER=1 (CI), where it fails.
fn docker_ready() -> bool {
    let required = std::env::var("MQTTFORGE_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let why = if !mqttforge::verify::docker::engine_available() {
        Some("no docker engine answers".to_string())
    } else {
        [MOSQUITTO_IMAGE, HAPROXY_IMAGE]
            .iter()
            .find(|i| {
                !Command::new("docker")
                    .args(["image", "inspect", i])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .map(|i| format!("image {i} is missing: run scripts/build-images.sh"))
    };
    match why {
        None => true,
        Some(why) if required => panic!("MQTTFORGE_REQUIRE_DOCKER=1 but {why}"),
        Some(why) => {
            eprintln!("SKIPPED (docker runtime): {why}");
            false
        }
    }
}

fn docker(spec: &str) -> (Option<i32>, Value) {
    let (out, doc) = docker_output(spec);
    (out.status.code(), doc)
}

/// `verify SPEC --runtime docker --format json` on the local images: what
/// it printed, and its report.
fn docker_output(spec: &str) -> (std::process::Output, Value) {
    let out = common::mqttforge(&[
        "verify",
        spec,
        "--runtime",
        "docker",
        "--image",
        &format!("mosquitto={MOSQUITTO_IMAGE}"),
        "--image",
        &format!("haproxy={HAPROXY_IMAGE}"),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{spec}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out, doc)
}

/// The drill on the docker runtime: run as root in a fresh container of the
/// Mosquitto image (no root here), every drill probe passes and says where
/// it ran.
#[test]
fn the_drill_passes_in_a_container() {
    if !docker_ready() {
        return;
    }
    let out = common::mqttforge(&[
        "verify",
        "site-examples/edge-mosquitto.yaml",
        "--runtime",
        "docker",
        "--image",
        &format!("mosquitto={MOSQUITTO_IMAGE}"),
        "--drill",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let probes = doc["probes"].as_array().unwrap();
    for name in mqttforge::verify::drill::PROBES.iter().skip(1) {
        let p = probes
            .iter()
            .find(|p| p["name"] == *name)
            .unwrap_or_else(|| panic!("no probe `{name}`: {doc:#}"));
        assert_eq!(p["result"], "pass", "{name}: {doc:#}");
        assert!(
            p["detail"].as_str().unwrap().ends_with(&format!(
                "(in a fresh container of {MOSQUITTO_IMAGE}, as root)"
            )),
            "{p:#}"
        );
    }
}

#[test]
fn a_mosquitto_pair_behind_haproxy_passes_every_probe_in_containers() {
    if !docker_ready() {
        return;
    }
    let (code, doc) = docker("tests/fixtures/verify/small-ha.yaml");
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["runtime"], "docker");
    for probe in [
        "config loads",
        "mTLS: a device certificate is accepted",
        "mTLS: a foreign CA's certificate is rejected",
        "TLS 1.2 refused where 1.3 is required",
        "session survives a reconnect",
        "retained message survives a broker restart",
        "ACL matrix agrees with `acl check`",
        "every broker's health check goes UP",
        "a stopped broker goes DOWN",
        "clients fail over through the load balancer",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
}

#[test]
fn an_acl_granting_another_devices_topics_fails_in_containers_too() {
    if !docker_ready() {
        return;
    }
    let (_dir, spec) = broken(
        "- { write: \"devices/{id}/telemetry/#\" }",
        "- { write: \"devices/+/telemetry/#\" }",
    );
    let (code, doc) = docker(&spec);
    assert_eq!(code, Some(1));
    assert_eq!(
        result(&doc, "ACL matrix agrees with `acl check`"),
        "fail",
        "{doc:#}"
    );
}

/// In containers too, the broker starts as root from the tree apply installs
/// (owners carried by name into the image's own users) and drops to
/// `mosquitto`: a root:root ACL stops it.
#[test]
fn an_acl_the_brokers_user_cannot_read_fails_in_containers_too() {
    if !docker_ready() {
        return;
    }
    let site =
        mqttforge::spec::load(&common::root().join("tests/fixtures/verify/small-ha.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let images = mqttforge::verify::docker::Images {
        mosquitto: MOSQUITTO_IMAGE.into(),
        haproxy: HAPROXY_IMAGE.into(),
    };
    let probes = mqttforge::verify::docker::run_with(
        &site,
        "small-ha.yaml",
        work.path(),
        &images,
        true,
        &|tree| tree.files.get_mut("mosquitto/acl").unwrap().group = None,
    )
    .unwrap();
    let loads = probes.iter().find(|p| p.name == "config loads").unwrap();
    match &loads.outcome {
        mqttforge::verify::Outcome::Fail(why) => {
            assert!(why.contains("Unable to open acl_file"), "{why}")
        }
        other => panic!("a root:root ACL was not caught in a container: {other:?}"),
    }
}

/// Where an image is missing and no registry answers, verify says how to
/// build the local images and what to pass, not the engine's pull error.
#[test]
fn a_missing_image_says_how_to_build_it() {
    if !docker_ready() {
        return;
    }
    let out = common::mqttforge(&[
        "verify",
        "tests/fixtures/verify/small-ha.yaml",
        "--runtime",
        "docker",
        "--image",
        "mosquitto=mqttforge-local/no-such-image:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("scripts/build-images.sh")
            && text.contains("--image mosquitto=mqttforge-local/mosquitto:2.0.11"),
        "{text}"
    );
}

/// The mosquitto-ha example itself, HAProxy failover included, in both runtimes.
#[test]
fn the_mosquitto_ha_example_passes_locally_and_in_containers() {
    let (code, doc) = local("site-examples/mosquitto-ha.yaml");
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(
        result(&doc, "clients fail over through the load balancer"),
        "pass"
    );
    if docker_ready() {
        let (code, doc) = docker("site-examples/mosquitto-ha.yaml");
        assert_eq!(code, Some(0), "{doc:#}");
        assert_eq!(
            result(&doc, "clients fail over through the load balancer"),
            "pass"
        );
    }
}

// ---------------------------------------------------------------- NGINX and the VIP

/// The VIP probes create a network on the spec's subnet (10.30.0.0/24 for
/// nginx-vip): one test at a time may hold it.
static VIP_NETWORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn vip_network() -> std::sync::MutexGuard<'static, ()> {
    VIP_NETWORK.lock().unwrap_or_else(|e| e.into_inner())
}

/// No container or network of a run is left, also after a failing probe.
fn nothing_left() {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .unwrap();
    let ours: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|n| {
            n.starts_with("lb-a-mqttforge-verify-") || n.starts_with("lb-b-mqttforge-verify-")
        })
        .map(str::to_string)
        .collect();
    assert!(ours.is_empty(), "containers left: {ours:?}");
}

/// nginx-vip in containers: NGINX with the rendered nginx.conf passes the
/// load-balancer probes that apply to it (and says which do not), and the
/// virtual IP moves to the other load-balancer host within the RTO when
/// its holder is killed. The VRRP password is never printed.
#[test]
fn the_nginx_vip_example_passes_the_nginx_and_vip_probes() {
    if !docker_ready() {
        return;
    }
    let _net = vip_network();
    let (out, doc) = docker_output("site-examples/nginx-vip.yaml");
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    for probe in [
        "the load balancer's config loads",
        "a device connects through the load balancer",
        "clients fail over through the load balancer",
        "a stopped broker goes DOWN",
        "the virtual IP is held by one load balancer",
        "a device connects through the virtual IP",
        "the virtual IP moves when the active load balancer dies",
    ] {
        assert_eq!(result(&doc, probe), "pass", "{probe}: {doc:#}");
    }
    assert_eq!(
        result(&doc, "every broker's health check goes UP"),
        "not_applicable"
    );
    assert!(detail(&doc, "clients fail over through the load balancer").contains("MQ-HA-002"));
    assert!(detail(&doc, "a stopped broker goes DOWN").contains("temporarily disabled"));
    let takeover = detail(
        &doc,
        "the virtual IP moves when the active load balancer dies",
    );
    assert!(takeover.contains("RTO 60 s"), "{takeover}");
    // generated_secrets: the VRRP password is `Vr` and six digits.
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let leaked = printed.match_indices("Vr").any(|(i, _)| {
        printed[i + 2..]
            .chars()
            .take(6)
            .filter(char::is_ascii_digit)
            .count()
            == 6
    });
    assert!(!leaked, "the VRRP password was printed:\n{printed}");
    nothing_left();
}

fn nginx_vip_with(
    tamper: &dyn Fn(&mut mqttforge::render::OutputTree),
) -> Vec<mqttforge::verify::Probe> {
    let site = mqttforge::spec::load(&common::root().join("site-examples/nginx-vip.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let images = mqttforge::verify::docker::Images {
        mosquitto: MOSQUITTO_IMAGE.into(),
        haproxy: HAPROXY_IMAGE.into(),
    };
    mqttforge::verify::docker::run_with(&site, "nginx-vip.yaml", work.path(), &images, true, tamper)
        .unwrap()
}

/// Replaces `from` (which must be there) by `to` in one rendered file.
fn replace_in(tree: &mut mqttforge::render::OutputTree, path: &str, from: &str, to: &str) {
    let f = tree.files.get_mut(path).unwrap();
    let text = String::from_utf8(f.contents.clone()).unwrap();
    assert!(text.contains(from), "{path} has no {from:?}");
    f.contents = text.replace(from, to).into_bytes();
}

fn failed(probes: &[mqttforge::verify::Probe], name: &str) -> String {
    let p = probes
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no probe `{name}`: {probes:#?}"));
    match &p.outcome {
        mqttforge::verify::Outcome::Fail(why) => why.clone(),
        other => panic!("`{name}` did not fail: {other:?}"),
    }
}

/// NGINX pointed at a port no broker listens on: no device gets through.
#[test]
fn nginx_pointed_at_a_dead_backend_fails_the_nginx_probe() {
    if !docker_ready() {
        return;
    }
    let _net = vip_network();
    let probes = nginx_vip_with(&|tree| {
        replace_in(
            tree,
            "nginx/nginx.conf",
            ":8883 max_fails",
            ":8884 max_fails",
        )
    });
    let why = failed(&probes, "a device connects through the load balancer");
    assert!(why.contains("through NGINX"), "{why}");
    failed(&probes, "clients fail over through the load balancer");
    nothing_left();
}

/// The backup load balancer's track script always fails (its keepalived
/// goes FAULT): it cannot take the virtual IP over, and the probe says so.
#[test]
fn a_backup_load_balancer_that_cannot_take_over_fails_the_vip_probe() {
    if !docker_ready() {
        return;
    }
    let _net = vip_network();
    let probes = nginx_vip_with(&|tree| {
        let line = "    script \"/usr/bin/systemctl is-active --quiet nginx.service\"\n";
        let with_false = format!("{line}@lb-b    script \"/bin/false\"\n");
        replace_in(tree, "keepalived/keepalived.conf", line, &with_false)
    });
    assert!(matches!(
        probes
            .iter()
            .find(|p| p.name == "the virtual IP is held by one load balancer")
            .map(|p| &p.outcome),
        Some(mqttforge::verify::Outcome::Pass(_))
    ));
    let why = failed(
        &probes,
        "the virtual IP moves when the active load balancer dies",
    );
    assert!(
        why.contains("lb-b") && why.contains("not ready to take over") && why.contains("failed"),
        "{why}"
    );
    nothing_left();
}

/// A docker network already on the VIP's subnet: verify names it and stops
/// before starting anything.
#[test]
fn a_network_on_the_vips_subnet_is_named() {
    if !docker_ready() {
        return;
    }
    let _net = vip_network();
    let name = format!("mqttforge-test-collide-{}", std::process::id());
    let created = Command::new("docker")
        .args(["network", "create", "--subnet=10.30.0.0/25", &name])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let out = common::mqttforge(&[
        "verify",
        "site-examples/nginx-vip.yaml",
        "--runtime",
        "docker",
        "--image",
        &format!("mosquitto={MOSQUITTO_IMAGE}"),
        "--image",
        &format!("haproxy={HAPROXY_IMAGE}"),
    ]);
    let _ = Command::new("docker")
        .args(["network", "rm", &name])
        .output();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("10.30.0.0/24") && text.contains(&name),
        "{text}"
    );
}
