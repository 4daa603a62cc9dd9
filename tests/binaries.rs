//! The rendered files, checked by the real programs that read them:
//! promtool, shellcheck, haproxy, mosquitto (started on loopback ports and
//! used), gcc, rumqttd's own config type, and the EMQX key table and
//! HOCON/Erlang-term parsers (no EMQX binary exists here).
//!
//! The programs come from Debian packages: `scripts/install-test-deps.sh`
//! installs them (CI runs it). A missing program fails the test with the
//! package to install; nothing is skipped.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mqttforge::formats::{emqx_keys, erlang, hocon};
use mqttforge::render::{render, OutputTree, RenderOptions, SecretMode, Sensitivity};
use mqttforge::spec::{self, Site};

fn require(tool: &str, package: &str) -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let p = Path::new(dir).join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{tool}` is not installed: install the Debian package `{package}` (scripts/install-test-deps.sh does)");
}

fn load(example: &str) -> Site {
    spec::load(&common::root().join(format!("site-examples/{example}.yaml")))
        .expect("valid example")
}

fn production(example: &str) -> OutputTree {
    let site = load(example);
    render(
        &site,
        &RenderOptions::production(format!("site-examples/{example}.yaml"), SecretMode::Skip),
    )
    .expect("renders")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(tree: &OutputTree, path: &str) -> String {
    String::from_utf8(
        tree.files
            .get(path)
            .unwrap_or_else(|| panic!("{path} not rendered"))
            .contents
            .clone(),
    )
    .unwrap()
}

/// A test variant of a site, installed under a temporary root (one directory per host).
struct Variant {
    _dir: tempfile::TempDir,
    root: PathBuf,
    tree: OutputTree,
    ports: BTreeMap<String, u16>,
    secrets: BTreeMap<String, String>,
}

fn variant(example: &str) -> Variant {
    variant_of(load(example), example)
}

fn variant_of(site: Site, example: &str) -> Variant {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut ports = BTreeMap::new();
    for l in &site.spec.listeners {
        ports.insert(l.name.0.clone(), free_port());
        ports.insert(format!("lb.{}", l.name), free_port());
    }
    ports.insert("lb.stats".into(), free_port());
    let secrets = mqttforge::verify::generated_secrets(&site);
    let opts = RenderOptions {
        spec_name: format!("site-examples/{example}.yaml"),
        root: root.display().to_string(),
        ports: ports.clone(),
        loopback: true,
        containers: None,
        secrets: SecretMode::Resolve,
        secret_values: secrets.clone(),
        pki_dir: None,
        previous_secrets: Default::default(),
    };
    let tree = render(&site, &opts).expect("the test variant renders");
    tree.install_into(&root).unwrap();
    Variant {
        _dir: dir,
        root,
        tree,
        ports,
        secrets,
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const EXAMPLES: &[&str] = &[
    "dev-rumqttd",
    "edge-mosquitto",
    "emqx-cluster",
    "mosquitto-ha",
];

// ---------------------------------------------------------------- prometheus

#[test]
fn promtool_accepts_the_rules_and_their_tests() {
    let promtool = require("promtool", "prometheus");
    for example in EXAMPLES {
        let v = variant(example);
        let rules = v.root.join("prometheus/etc/prometheus/rules");
        let (ok, out) = run(Command::new(&promtool)
            .args(["check", "rules"])
            .arg(rules.join("mqttforge.rules.yml")));
        assert!(ok, "{example}: promtool check rules:\n{out}");
        let (ok, out) = run(Command::new(&promtool)
            .args(["test", "rules", "mqttforge.rules.test.yml"])
            .current_dir(&rules));
        assert!(ok, "{example}: promtool test rules:\n{out}");
        let (ok, out) = run(Command::new(&promtool)
            .args(["check", "config"])
            .arg(v.root.join("prometheus/etc/prometheus/prometheus.yml")));
        assert!(ok, "{example}: promtool check config:\n{out}");
    }
}

#[test]
fn the_rule_tests_catch_a_threshold_one_below() {
    let promtool = require("promtool", "prometheus");
    let v = variant("mosquitto-ha");
    let rules = v.root.join("prometheus/etc/prometheus/rules");
    let file = rules.join("mqttforge.rules.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    assert!(
        original.contains("sum(broker_clients_connected) > 6400"),
        "{original}"
    );
    std::fs::write(&file, original.replace("> 6400", "> 6399")).unwrap();
    let (ok, out) = run(Command::new(&promtool)
        .args(["test", "rules", "mqttforge.rules.test.yml"])
        .current_dir(&rules));
    assert!(
        !ok,
        "a rule firing below its threshold must fail the generated tests:\n{out}"
    );
    assert!(out.contains("MQTTConnectionsWarning"), "{out}");
}

// ---------------------------------------------------------------- shellcheck

#[test]
fn shellcheck_passes_every_script() {
    let shellcheck = require("shellcheck", "shellcheck");
    let mut checked = 0;
    for example in EXAMPLES {
        let tree = production(example);
        for (path, file) in &tree.files {
            if !path.ends_with(".sh") {
                continue;
            }
            let text = String::from_utf8(file.contents.clone()).unwrap();
            assert!(
                text.starts_with("#!/usr/bin/env bash\n"),
                "{example}/{path}"
            );
            assert!(
                text.contains("\nset -euo pipefail\n"),
                "{example}/{path} lacks strict mode"
            );
            let mut child = Command::new(&shellcheck)
                .args(["--shell=bash", "--severity=style", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{example}/{path}:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} scripts");
}

// ---------------------------------------------------------------- haproxy

#[test]
fn haproxy_accepts_the_config() {
    let haproxy = require("haproxy", "haproxy");
    for example in ["emqx-cluster", "mosquitto-ha"] {
        let v = variant(example);
        let cfg = v.root.join("lb/etc/haproxy/haproxy.cfg");
        let (ok, out) = run(Command::new(&haproxy)
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .env("HAPROXY_STATS_PASSWORD", "test-stats-pw"));
        assert!(
            ok,
            "{example}: haproxy -c:\n{out}\n{}",
            std::fs::read_to_string(&cfg).unwrap()
        );
    }
}

// ---------------------------------------------------------------- nginx

fn nginx_test(nginx: &Path, conf: &Path) -> (bool, String) {
    run(Command::new(nginx).arg("-t").arg("-c").arg(conf))
}

#[test]
fn nginx_accepts_the_passthrough_config() {
    let nginx = require("nginx", "nginx libnginx-mod-stream");
    let v = variant("nginx-vip");
    let conf = v.root.join("lb/etc/nginx/nginx.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let (ok, out) = nginx_test(&nginx, &conf);
    assert!(ok, "nginx -t:\n{out}\n{text}");
    for (name, port) in &v.ports {
        if name == "lb.devices" {
            assert!(text.contains(&format!("listen {port};")), "{text}");
        }
    }
    assert!(text.contains("max_fails=3 fail_timeout=5s"), "{text}");
    // The check reads the stream block: without the module nginx refuses it.
    let broken = conf.with_file_name("broken.conf");
    std::fs::write(&broken, text.replace("load_module", "# load_module")).unwrap();
    let (ok, out) = nginx_test(&nginx, &broken);
    assert!(!ok && out.contains("stream"), "nginx -t accepted:\n{out}");
}

#[test]
fn nginx_accepts_the_terminating_config_with_its_certificates() {
    let nginx = require("nginx", "nginx libnginx-mod-stream");
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("nginx-terminate.yaml");
    let text = std::fs::read_to_string(common::root().join("site-examples/nginx-vip.yaml"))
        .unwrap()
        .replace("tls: passthrough", "tls: terminate");
    assert!(text.contains("tls: terminate"));
    std::fs::write(&spec, text).unwrap();
    let site = spec::load(&spec).expect("valid spec");
    let v = variant_of(site, "nginx-terminate");
    let certs = v.root.join("lb/etc/nginx/certs");
    let pki = dir.path().join("pki");
    openssl_pki(&pki, &[("lb".into(), "127.0.0.1".into())], "device");
    std::fs::create_dir_all(&certs).unwrap();
    let pem = [
        std::fs::read_to_string(pki.join("lb.pem")).unwrap(),
        std::fs::read_to_string(pki.join("lb.key")).unwrap(),
    ]
    .concat();
    std::fs::write(certs.join("frontend.pem"), pem).unwrap();
    std::fs::copy(pki.join("ca.pem"), certs.join("ca.pem")).unwrap();
    let conf = v.root.join("lb/etc/nginx/nginx.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains(" ssl;") && text.contains("ssl_verify_client on;"),
        "{text}"
    );
    let (ok, out) = nginx_test(&nginx, &conf);
    assert!(ok, "nginx -t:\n{out}\n{text}");
    // Without the certificate the same file is refused: nginx read the paths.
    std::fs::remove_file(certs.join("frontend.pem")).unwrap();
    let (ok, out) = nginx_test(&nginx, &conf);
    assert!(!ok, "nginx -t accepted a missing certificate:\n{out}");
}

// ---------------------------------------------------------------- grafana

/// Every dashboard panel's query, checked by promtool as a recording rule;
/// the panels cover what the alerts watch, with the alerts' thresholds.
#[test]
fn promtool_parses_every_dashboard_query() {
    let promtool = require("promtool", "prometheus");
    let mut checked = 0;
    for example in [
        "edge-mosquitto",
        "emqx-cluster",
        "mosquitto-ha",
        "nginx-vip",
    ] {
        let tree = production(example);
        let (path, _) = tree
            .files
            .iter()
            .find(|(p, _)| p.starts_with("grafana/dashboards/") && p.ends_with(".json"))
            .unwrap_or_else(|| panic!("{example}: no dashboard"));
        let doc: serde_json::Value = serde_json::from_str(&text(&tree, path)).unwrap();
        // The alert rules, their quoted expressions unescaped.
        let rules_text = text(&tree, "prometheus/rules/mqttforge.rules.yml").replace("\\\"", "\"");
        let mut rules = String::from("groups:\n  - name: panels\n    rules:\n");
        for (i, p) in doc["panels"].as_array().unwrap().iter().enumerate() {
            let Some(expr) = p["targets"][0]["expr"].as_str() else {
                assert_eq!(p["type"], "text", "{example}: {p}");
                continue;
            };
            rules.push_str(&format!(
                "      - record: mqttforge:panel_{i}\n        expr: {}\n",
                serde_json::to_string(expr).unwrap()
            ));
            // A threshold is an alert's: the same number in the same query.
            for step in p["fieldConfig"]["defaults"]["thresholds"]["steps"]
                .as_array()
                .unwrap()
                .iter()
                .skip(1)
            {
                let v = step["value"].as_f64().unwrap();
                let shown = if v.fract() == 0.0 {
                    format!("{}", v as i64)
                } else {
                    format!("{v}")
                };
                assert!(
                    rules_text.contains(&format!("{expr} > {shown}"))
                        || rules_text.contains(&format!("{expr} > {}", (v - 1.0) as i64)),
                    "{example}: panel `{}` threshold {shown} is no alert's:\n{rules_text}",
                    p["title"]
                );
            }
            checked += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("panels.yml");
        std::fs::write(&file, &rules).unwrap();
        let (ok, out) = run(Command::new(&promtool).arg("check").arg("rules").arg(&file));
        assert!(ok, "{example}: promtool check rules:\n{out}\n{rules}");
    }
    assert!(checked >= 20, "only {checked} panel queries");
}

// ---------------------------------------------------------------- logs

/// `rsyslogd -N1` on the file as Debian installs it: included by the
/// package's own /etc/rsyslog.conf (its work directory moved to `dir`).
fn rsyslogd_check(rsyslogd: &Path, conf: &Path, dir: &Path) -> (bool, String) {
    let debian = std::fs::read_to_string("/etc/rsyslog.conf")
        .expect("/etc/rsyslog.conf of the Debian package `rsyslog`");
    let include = "$IncludeConfig /etc/rsyslog.d/*.conf";
    let work = "$WorkDirectory /var/spool/rsyslog";
    assert!(
        debian.contains(include) && debian.contains(work),
        "{debian}"
    );
    let master = debian
        .replace(include, &format!("$IncludeConfig {}", conf.display()))
        .replace(work, &format!("$WorkDirectory {}", dir.display()));
    let path = dir.join("rsyslog.conf");
    std::fs::write(&path, master).unwrap();
    run(Command::new(rsyslogd).arg("-N1").arg("-f").arg(&path))
}

/// The log shipper rendered for `monitoring.logs`, checked by rsyslog's own
/// configuration check, for every engine and syslog transport; a broken
/// copy is refused, so the check is not vacuous.
#[test]
fn rsyslogd_accepts_the_log_shipping_config() {
    let rsyslogd = require("rsyslogd", "rsyslog");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (example, url) in [
        ("edge-mosquitto", None),
        ("emqx-cluster", Some("syslog+udp://[2001:db8::10]:6514")),
        ("mosquitto-ha", Some("syslog+tcp://10.0.0.9")),
        ("dev-rumqttd", Some("syslog://logs.example.net:1514")),
    ] {
        let mut site = load(example);
        if let Some(url) = url {
            let m = site.spec.monitoring.get_or_insert_with(Default::default);
            m.logs = Some(spec::model::Url(url.to_string()));
        }
        let tree = render(
            &site,
            &RenderOptions::production(format!("site-examples/{example}.yaml"), SecretMode::Skip),
        )
        .expect("renders");
        let conf = text(&tree, "logs/rsyslog.conf");
        let path = dir.path().join(format!("{example}.conf"));
        std::fs::write(&path, &conf).unwrap();
        let (ok, out) = rsyslogd_check(&rsyslogd, &path, dir.path());
        assert!(ok, "{example}: rsyslogd -N1:\n{out}\n{conf}");
        if let Some(url) = url {
            let host = url.split("://").nth(1).unwrap().split('/').next().unwrap();
            let host = host.trim_start_matches('[').split(']').next().unwrap();
            let host = if host.contains("::") {
                host
            } else {
                host.split(':').next().unwrap()
            };
            assert!(
                conf.contains(&format!("Target=\"{host}\"")),
                "{example}:\n{conf}"
            );
        }
        let broken = conf.replacen("ruleset(name=", "ruleset(nme=", 1);
        std::fs::write(&path, &broken).unwrap();
        let (ok, out) = rsyslogd_check(&rsyslogd, &path, dir.path());
        assert!(
            !ok,
            "{example}: rsyslogd -N1 accepted a broken file:\n{out}"
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
    // Loki: no rsyslog file; Grafana Alloy's file instead, which no Debian
    // package can check (tests/alloy.rs checks its structure).
    let tree = production("mosquitto-ha");
    assert!(!tree.files.contains_key("logs/rsyslog.conf"));
    assert!(tree.files.contains_key("logs/config.alloy"));
}

// ---------------------------------------------------------------- keepalived

#[test]
fn keepalived_accepts_the_config_on_both_hosts() {
    let keepalived = require("keepalived", "keepalived");
    let v = variant("nginx-vip");
    let conf = v.root.join("lb/etc/keepalived/keepalived.conf");
    let auth = v.root.join("lb/etc/mqttforge/keepalived-auth.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let password = &v.secrets["VRRP_PASSWORD"];
    assert!(!text.contains(password.as_str()), "{text}");
    let auth_text = std::fs::read_to_string(&auth).unwrap();
    assert!(
        auth_text.contains(&format!("auth_pass {password}\n")),
        "{auth_text}"
    );
    for host in ["lb-a", "lb-b"] {
        let (ok, out) = run(Command::new(&keepalived)
            .arg("--config-test")
            .arg("-i")
            .arg(host)
            .arg("-f")
            .arg(&conf));
        assert!(ok, "{host}: keepalived --config-test:\n{out}\n{text}");
    }
    // The test reads what it includes: without the password file, refused.
    std::fs::remove_file(&auth).unwrap();
    let (ok, out) = run(Command::new(&keepalived)
        .arg("--config-test")
        .arg("-i")
        .arg("lb-a")
        .arg("-f")
        .arg(&conf));
    assert!(!ok, "keepalived accepted a missing password file:\n{out}");
}

// ---------------------------------------------------------------- mosquitto

/// A throwaway PKI made with openssl: CA, a server certificate per node, a device certificate.
fn openssl_pki(dir: &Path, nodes: &[(String, String)], device: &str) {
    let openssl = require("openssl", "openssl");
    std::fs::create_dir_all(dir).unwrap();
    let sh = |args: &[&str]| {
        let (ok, out) = run(Command::new(&openssl).args(args).current_dir(dir));
        assert!(ok, "openssl {args:?}:\n{out}");
    };
    sh(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ca.key",
    ]);
    sh(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=test CA",
        "-days",
        "2",
        "-out",
        "ca.pem",
    ]);
    let sign = |name: &str, ext: &str| {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        sh(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &format!("{name}.key"),
        ]);
        sh(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/O=Test/CN={name}"),
            "-out",
            &format!("{name}.csr"),
        ]);
        sh(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
    };
    for (name, address) in nodes {
        sign(name, &format!("subjectAltName=DNS:{name},IP:{address}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n"));
    }
    sign(
        device,
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    );
}

struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes a node's tree usable by the `mosquitto` user the broker drops to
/// when started as root: Mosquitto reads its keys after dropping root.
fn hand_to_broker_user(host_root: &Path) {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !is_root {
        return;
    }
    let mut p = host_root.to_path_buf();
    while let Some(parent) = p.parent() {
        let _ = std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        if parent == Path::new("/") || parent == Path::new("/tmp") {
            break;
        }
        p = parent.to_path_buf();
    }
    let (ok, out) = run(Command::new("chown")
        .args(["-R", "mosquitto:mosquitto"])
        .arg(host_root));
    assert!(ok, "chown: {out}");
}

fn start_mosquitto(conf: &Path, log: &Path) -> Running {
    let mosquitto = require("mosquitto", "mosquitto");
    let child = Command::new(mosquitto)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logged = std::fs::read_to_string(log).unwrap_or_default();
        if logged.contains(" running") {
            return running;
        }
        if let Some(status) = running.0.try_wait().unwrap() {
            let mut err = String::new();
            running
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!(
                "mosquitto exited ({status}) with {}:\n{err}\n{logged}",
                conf.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "mosquitto did not report running:\n{logged}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mosquitto_runs_the_rendered_config_and_enforces_it() {
    let pub_ = require("mosquitto_pub", "mosquitto-clients");
    for example in ["edge-mosquitto", "mosquitto-ha"] {
        let site = load(example);
        let v = variant(example);
        let device = "device-under-test";
        let mut brokers = Vec::new();
        for (i, node) in site.spec.nodes.iter().enumerate() {
            let address = format!("127.0.0.{}", 11 + i);
            let host = v.root.join(&node.name.0);
            let certs = host.join("etc/mosquitto/certs");
            openssl_pki(&certs, &[(node.name.0.clone(), address.clone())], device);
            for d in ["run/mosquitto", "var/log/mosquitto", "var/lib/mosquitto"] {
                std::fs::create_dir_all(host.join(d)).unwrap();
            }
            hand_to_broker_user(&host);
            let log = host.join("var/log/mosquitto/mosquitto.log");
            brokers.push((
                start_mosquitto(&host.join("etc/mosquitto/mosquitto.conf"), &log),
                address,
                certs,
            ));
        }
        // mTLS on the device listener: a certificate from the site's CA is accepted.
        let devices = v.ports["devices"].to_string();
        for (_, address, certs) in &brokers {
            let c = |f: &str| certs.join(f).display().to_string();
            let (ok, out) = run(Command::new(&pub_).args([
                "-h",
                address,
                "-p",
                &devices,
                "--cafile",
                &c("ca.pem"),
                "--cert",
                &c(&format!("{device}.pem")),
                "--key",
                &c(&format!("{device}.key")),
                "-t",
                &format!("devices/{device}/status"),
                "-m",
                "up",
                "-q",
                "1",
            ]));
            assert!(ok, "{example}: mTLS publish refused:\n{out}");
            // Without a client certificate the handshake fails.
            let (ok, _) = run(Command::new(&pub_).args([
                "-h",
                address,
                "-p",
                &devices,
                "--cafile",
                &c("ca.pem"),
                "-t",
                "x",
                "-m",
                "x",
            ]));
            assert!(
                !ok,
                "{example}: a client without a certificate was accepted"
            );
        }
        // Password authentication on the loopback listener: hashes written by mqttforge.
        let local = site
            .spec
            .listeners
            .iter()
            .find(|l| l.name.as_str() == "local")
            .unwrap();
        let user = site
            .spec
            .users
            .iter()
            .find(|u| u.password.is_some())
            .unwrap();
        let secret = &v.secrets[user
            .password
            .as_ref()
            .unwrap()
            .env
            .as_ref()
            .or(user.password.as_ref().unwrap().file.as_ref())
            .unwrap()];
        let port = v.ports[local.name.as_str()].to_string();
        let (ok, out) = run(Command::new(&pub_).args([
            "-h",
            &brokers[0].1,
            "-p",
            &port,
            "-u",
            user.name.as_str(),
            "-P",
            secret,
            "-t",
            "t",
            "-m",
            "m",
        ]));
        assert!(ok, "{example}: the rendered password was refused:\n{out}");
        let (ok, out) = run(Command::new(&pub_).args([
            "-h",
            &brokers[0].1,
            "-p",
            &port,
            "-u",
            user.name.as_str(),
            "-P",
            "wrong",
            "-t",
            "t",
            "-m",
            "m",
        ]));
        assert!(
            !ok && out.contains("not authorised"),
            "{example}: a wrong password was accepted:\n{out}"
        );
        let passwd = text(&v.tree, "mosquitto/passwd");
        assert!(
            !passwd.contains(secret.as_str()),
            "plaintext secret in the password file"
        );
        no_listener_takes_a_claimed_username(example, &site, &v, &brokers[0].1);
    }
}

/// On every listener without TLS (the health check's, the local one), a
/// client that says it is `admin` (or a device) without a password is
/// refused; only the anonymous health listener admits a client that sends
/// no username at all.
fn no_listener_takes_a_claimed_username(example: &str, site: &Site, v: &Variant, address: &str) {
    let pub_ = require("mosquitto_pub", "mosquitto-clients");
    let mut checked = 0;
    for l in site.spec.listeners.iter().filter(|l| l.tls.is_none()) {
        let port = v.ports[l.name.as_str()].to_string();
        for claimed in ["admin", "monitoring", "temp-001", "scanner-0001"] {
            let (ok, out) = run(Command::new(&pub_).args([
                "-h",
                address,
                "-p",
                &port,
                "-u",
                claimed,
                "-t",
                "devices/x/cmd",
                "-m",
                "m",
            ]));
            assert!(
                !ok && out.contains("not authorised"),
                "{example}: listener `{}` let a client claim `{claimed}` without a password:\n{out}",
                l.name
            );
        }
        let (ok, out) = run(Command::new(&pub_).args([
            "-h",
            address,
            "-p",
            &port,
            "-t",
            "devices/x/cmd",
            "-m",
            "m",
        ]));
        assert_eq!(
            ok, l.anonymous,
            "{example}: listener `{}` (anonymous: {}) and a client without a username:\n{out}",
            l.name, l.anonymous
        );
        checked += 1;
    }
    assert!(checked >= 1, "{example} has no listener without TLS");
}

// ---------------------------------------------------------------- firmware

#[test]
fn firmware_headers_compile() {
    let gcc = require("gcc", "gcc");
    let dir = tempfile::tempdir().unwrap();
    let mut compiled = 0;
    for example in EXAMPLES {
        let tree = production(example);
        for (path, file) in tree.files.iter().filter(|(p, _)| p.ends_with(".h")) {
            let header = dir.path().join("mqtt_config.h");
            std::fs::write(&header, &file.contents).unwrap();
            let text = String::from_utf8(file.contents.clone()).unwrap();
            // Use every macro, as a string or a number, so a malformed one fails.
            let mut body = String::from("#include <stddef.h>\n#include \"mqtt_config.h\"\n");
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("#define ") else {
                    continue;
                };
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                if name.starts_with("MQTTFORGE_") || value.is_empty() {
                    continue;
                }
                if value.starts_with('"') || value.contains("MQTT_DEVICE_ID") {
                    body.push_str(&format!("const char *use_{name} = {name};\n"));
                } else {
                    body.push_str(&format!("const unsigned long use_{name} = {name};\n"));
                }
            }
            assert!(
                body.contains("use_MQTT_BUFFER_SIZE") && body.contains("use_MQTT_BROKER_HOST"),
                "{path}"
            );
            let c = dir.path().join("use.c");
            std::fs::write(&c, body).unwrap();
            let mut cmd = Command::new(&gcc);
            cmd.args(["-fsyntax-only", "-std=c11", "-Wall", "-Wextra", "-Werror"])
                .arg(&c);
            if path.contains("/role-") {
                cmd.arg("-DMQTT_DEVICE_ID=\"sensor-0001\"");
            }
            let (ok, out) = run(&mut cmd);
            assert!(ok, "{example}/{path} does not compile:\n{out}\n{text}");
            compiled += 1;
        }
    }
    assert!(compiled >= 5, "only {compiled} headers");
}

#[test]
fn a_fleet_header_refuses_to_build_without_a_device_id() {
    let gcc = require("gcc", "gcc");
    let tree = production("emqx-cluster");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h.h"),
        &tree.files["firmware/esp32/role-sensor.h"].contents,
    )
    .unwrap();
    std::fs::write(dir.path().join("u.c"), "#include \"h.h\"\n").unwrap();
    let (ok, out) = run(Command::new(&gcc)
        .args(["-fsyntax-only"])
        .arg(dir.path().join("u.c")));
    assert!(!ok && out.contains("MQTT_DEVICE_ID"), "{out}");
}

// ---------------------------------------------------------------- rumqttd

#[test]
fn rumqttd_reads_every_key_of_its_config() {
    let tree = production("dev-rumqttd");
    let toml = text(&tree, "rumqttd/lab1/rumqttd.toml");
    let parsed = mqttforge_broker::parse_config(&toml)
        .unwrap_or_else(|e| panic!("rumqttd rejects its config: {e}\n{toml}"));
    assert!(
        parsed.unknown_keys.is_empty(),
        "keys rumqttd ignores: {:?}",
        parsed.unknown_keys
    );
    assert_eq!(parsed.config.v4.as_ref().map(|v| v.len()), Some(2));
    let devices = &parsed.config.v4.as_ref().unwrap()["devices"];
    assert!(devices.tls.is_some());
    assert!(devices.connections.connection_timeout_ms > 0);
}

// ---------------------------------------------------------------- emqx

#[test]
fn emqx_conf_is_hocon_with_known_keys_only() {
    let tree = production("emqx-cluster");
    let mut checked = 0;
    for (path, file) in tree.files.iter().filter(|(p, _)| p.ends_with("emqx.conf")) {
        let text = String::from_utf8(file.contents.clone()).unwrap();
        let root = hocon::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let leaves = hocon::flatten(&root);
        for (key, pos, _) in &leaves {
            let info = emqx_keys::info(key).unwrap_or_else(|| {
                panic!(
                    "{path}:{pos}: `{key}` is not an EMQX {} key",
                    emqx_keys::TARGET
                )
            });
            assert!(
                !info.deprecated && !info.hidden && info.alias_of.is_none(),
                "{path}:{pos}: `{key}` is deprecated, hidden or an alias in EMQX {}: {info:?}",
                emqx_keys::TARGET
            );
        }
        let get = |k: &str| {
            leaves
                .iter()
                .find(|(p, _, _)| p == k)
                .map(|(_, _, n)| n.value.clone())
        };
        let s = |v: &str| Some(hocon::Value::String(v.into()));
        assert_eq!(
            get("listeners.ssl.devices.ssl_options.verify"),
            s("verify_peer")
        );
        assert_eq!(
            get("listeners.ssl.devices.ssl_options.fail_if_no_peer_cert"),
            Some(hocon::Value::Bool(true))
        );
        assert_eq!(get("mqtt.peer_cert_as_username"), s("cn"));
        assert_eq!(get("authorization.no_match"), s("deny"));
        assert_eq!(get("cluster.discovery_strategy"), s("etcd"));
        // The file source: exactly type, enable, path.
        let Some(hocon::Value::Array(sources)) = get("authorization.sources") else {
            panic!("no sources")
        };
        let hocon::Value::Object(fields) = &sources[0].value else {
            panic!("source is not an object")
        };
        let keys: Vec<String> = fields.iter().map(|f| f.key.join(".")).collect();
        assert_eq!(keys, vec!["type", "enable", "path"]);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// A second, independent HOCON parser (pyhocon, from PyPI) reads every
/// rendered EMQX file to the same leaves as mqttforge's parser, and every
/// path it sees, inside arrays of objects too, is a documented key of the
/// targeted release.
#[test]
fn a_second_hocon_parser_agrees_and_sees_only_known_keys() {
    let python = require("python3", "python3");
    let tree = production("emqx-cluster");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (path, file) in tree.files.iter().filter(|(p, _)| p.ends_with("emqx.conf")) {
        let on_disk = dir.path().join(path.replace('/', "_"));
        std::fs::write(&on_disk, &file.contents).unwrap();
        let out = Command::new(&python)
            .arg(common::root().join("scripts/hocon-keys.py"))
            .arg(&on_disk)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pyhocon cannot read {path} (install it: python3 -m pip install pyhocon): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: BTreeMap<String, (String, String)> =
            serde_json::from_slice(&out.stdout).unwrap();
        for key in theirs.keys() {
            let info = emqx_keys::info(key).unwrap_or_else(|| {
                panic!(
                    "{path}: pyhocon reads `{key}`, not an EMQX {} key",
                    emqx_keys::TARGET
                )
            });
            assert!(!info.deprecated && !info.hidden, "{path}: `{key}` {info:?}");
        }
        let text = String::from_utf8(file.contents.clone()).unwrap();
        let ours: BTreeMap<String, String> = hocon::flatten(&hocon::parse(&text).unwrap())
            .into_iter()
            .filter_map(|(k, _, n)| match n.value {
                hocon::Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect();
        for (key, value) in &ours {
            match theirs.get(key) {
                Some((kind, text)) if kind == "s" => {
                    assert_eq!(text, value, "{path}: `{key}` reads differently")
                }
                Some(_) => {} // a number, boolean or duration to pyhocon
                None => panic!("{path}: pyhocon does not see `{key}`"),
            }
        }
        assert!(
            ours.len() > 20 && theirs.len() > ours.len(),
            "{path}: {} / {}",
            ours.len(),
            theirs.len()
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// No EMQX runs here, so the rule decides: every listener of the rendered
/// EMQX site authenticates its clients, takes a required certificate's CN,
/// or is mounted apart (MQ-AUTH-003 finds nothing); take the mountpoint or
/// the authenticator away and it finds the hole.
#[test]
fn every_emqx_listener_authenticates_or_grants_nothing() {
    let tree = production("emqx-cluster");
    let conf = text(&tree, "emqx/mqtt1/emqx.conf");
    let dir = tempfile::tempdir().unwrap();
    let audit = |text: &str| {
        let f = dir.path().join("emqx.conf");
        std::fs::write(&f, text).unwrap();
        let out = common::mqttforge(&[
            "audit",
            &f.display().to_string(),
            "--select",
            "MQ-AUTH-003",
            "--format",
            "json",
        ]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(audit(&conf), Vec::<String>::new());
    let unmounted: String = conf
        .lines()
        .filter(|l| !l.trim_start().starts_with("mountpoint"))
        .map(|l| format!("{l}\n"))
        .collect();
    let found = audit(&unmounted);
    assert!(
        found.iter().any(|m| m.contains("`tcp.health`")),
        "{found:?}"
    );
    // Without an authenticator EMQX admits anyone: the password listener,
    // once reachable beyond loopback, is open.
    let start = conf.find("authentication = [").unwrap();
    let end = start + conf[start..].find("\n]\n").unwrap() + 3;
    let open = format!("{}{}", &conf[..start], &conf[end..])
        .replace("bind = \"127.0.0.1:1883\"", "bind = \"0.0.0.0:1883\"");
    let found = audit(&open);
    assert!(
        found
            .iter()
            .any(|m| m.contains("`tcp.internal`") && m.contains("anonymous")),
        "{found:?}"
    );
}

#[test]
fn emqx_acl_is_erlang_terms_ending_in_deny_all() {
    let tree = production("emqx-cluster");
    let text = text(&tree, "emqx/acl.conf");
    let terms = erlang::parse(&text).unwrap_or_else(|e| panic!("acl.conf: {e}"));
    assert!(terms.len() > 10);
    let last = terms.last().unwrap();
    assert_eq!(erlang::to_source(&last.term), "{deny,all}");
    for t in &terms[..terms.len() - 1] {
        let erlang::Term::Tuple(parts) = &t.term else {
            panic!("{t:?}")
        };
        assert_eq!(parts.len(), 4, "{}", erlang::to_source(&t.term));
        assert!(matches!(&parts[0].term, erlang::Term::Atom(a) if a == "allow" || a == "deny"));
        assert!(
            matches!(&parts[2].term, erlang::Term::Atom(a) if ["publish", "subscribe", "all"].contains(&a.as_str()))
        );
        let erlang::Term::List(topics) = &parts[3].term else {
            panic!("topics")
        };
        for topic in topics {
            let erlang::Term::Str(s) = &topic.term else {
                panic!("topic")
            };
            assert!(
                !s.contains("%u") && !s.contains("%c"),
                "Mosquitto placeholder in EMQX ACL: {s}"
            );
        }
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_never_land_in_public_files() {
    for example in EXAMPLES {
        let v = variant(example);
        for (path, file) in &v.tree.files {
            let text = String::from_utf8_lossy(&file.contents);
            // Environment files carry secrets to services (systemd reads
            // them as root): secret, root only, and nothing else may.
            if path.ends_with(".env") {
                assert_eq!(file.sensitivity, Sensitivity::Secret, "{path}");
                assert_eq!((file.mode, file.group.as_deref()), (0o600, None), "{path}");
                continue;
            }
            for secret in v.secrets.values() {
                assert!(
                    !text.contains(secret.as_str()),
                    "{example}/{path} contains a secret"
                );
            }
            if path.ends_with("passwd") || path.ends_with("users.csv") {
                assert_eq!(file.sensitivity, Sensitivity::Secret);
                assert_eq!(file.mode, 0o640);
            }
        }
        assert!(v.ports.len() >= 2);
    }
}

#[test]
fn the_ca_header_compiles_and_holds_the_ca() {
    let gcc = require("gcc", "gcc");
    let site = load("edge-mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    mqttforge::pki::ensure(&site, &pki).expect("the PKI is created");
    let mut opts = RenderOptions::production("site-examples/edge-mosquitto.yaml", SecretMode::Skip);
    opts.pki_dir = Some(pki.clone());
    let tree = render(&site, &opts).unwrap();
    let header = &tree.files["firmware/mqtt_ca.h"];
    assert_eq!(header.sensitivity, Sensitivity::Material);
    std::fs::write(dir.path().join("mqtt_ca.h"), &header.contents).unwrap();
    // Print the certificate from the header and compare it with the CA file.
    std::fs::write(
        dir.path().join("ca.c"),
        "#include <stdio.h>\n#include \"mqtt_ca.h\"\nint main(void) { fputs(MQTT_CA_CERT, stdout); return 0; }\n",
    )
    .unwrap();
    let exe = dir.path().join("ca");
    let (ok, out) = run(Command::new(&gcc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(dir.path().join("ca.c")));
    assert!(ok, "{out}");
    let printed = Command::new(&exe).output().unwrap().stdout;
    assert_eq!(
        String::from_utf8(printed).unwrap(),
        std::fs::read_to_string(pki.join("ca.pem")).unwrap()
    );
}

#[test]
fn a_revocation_makes_mosquitto_check_the_crl() {
    let site = load("edge-mosquitto");
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    mqttforge::pki::ensure(&site, &pki).unwrap();
    let mut opts = RenderOptions::production("site-examples/edge-mosquitto.yaml", SecretMode::Skip);
    opts.pki_dir = Some(pki.clone());
    assert!(!text(
        &render(&site, &opts).unwrap(),
        "mosquitto/edge1/mosquitto.conf"
    )
    .contains("crlfile"));
    let spec = common::root().join("site-examples/edge-mosquitto.yaml");
    let o = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["pki", "revoke"])
        .arg(&spec)
        .arg("press-01")
        .arg("--dir")
        .arg(&pki)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conf = text(
        &render(&site, &opts).unwrap(),
        "mosquitto/edge1/mosquitto.conf",
    );
    assert!(
        conf.contains("\ncrlfile /etc/mosquitto/certs/crl.pem\n"),
        "{conf}"
    );
}
