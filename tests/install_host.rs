//! Host install mode: `apply SPEC --root DIR --host NODE` and
//! `plan::install_host`, which the verify runtimes call. The acceptance test
//! of issue 10: a Mosquitto example applied as root into a staging root
//! starts from there as the `mosquitto` user, and breaking the ACL's group
//! makes it exit with "Unable to open acl_file".

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mqttforge::plan::{install_host, HostOptions};
use mqttforge::render::{render, RenderOptions, SecretMode};

const EDGE: &str = "site-examples/edge-mosquitto.yaml";

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

fn gid_of(group: &str) -> u32 {
    std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == group).then(|| f[2].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no group {group}: install the mosquitto package"))
}

fn uid_of(user: &str) -> u32 {
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == user).then(|| f[2].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no user {user}: install the mosquitto package"))
}

fn owner_and_mode(p: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A broker process stopped when dropped.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts mosquitto; `Ok` once its log says "running", `Err` with its
/// stderr and log when it exits first.
fn start_mosquitto(conf: &Path, log: &Path) -> Result<Broker, String> {
    let seen = std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(" running")
        .count();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto is installed (scripts/install-test-deps.sh)");
    let mut broker = Broker(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logged = std::fs::read_to_string(log).unwrap_or_default();
        if logged.matches(" running").count() > seen {
            return Ok(broker);
        }
        if let Some(status) = broker.0.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = broker.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return Err(format!("exited ({status}): {err} {logged}"));
        }
        assert!(
            Instant::now() < deadline,
            "mosquitto never said running: {logged}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The acceptance test of issue 10: the test variant of the edge example
/// (free loopback ports, every path under the staging root), installed by
/// `install_host` as root with the owners and modes apply gives in
/// production, starts Mosquitto, which drops to its user before it reads
/// the ACL and its key; with the ACL's group broken it cannot start.
#[test]
fn mosquitto_starts_from_what_install_host_installs_and_not_from_a_broken_acl() {
    assert!(
        is_root(),
        "this test installs as root, as apply does in production (CI runs as root)"
    );
    let mosquitto_gid = gid_of("mosquitto");
    let site = mqttforge::spec::load(&common::root().join(EDGE)).unwrap();
    let work = tempfile::tempdir().unwrap();
    // The broker's user must traverse the staging root.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = work.path().join("root");
    let pki = work.path().join("pki");
    mqttforge::pki::ensure(&site, &pki).unwrap();
    let mut ports = BTreeMap::new();
    for l in &site.spec.listeners {
        ports.insert(l.name.0.clone(), free_port());
    }
    let secrets: BTreeMap<String, String> = [
        ("MQTT_GATEWAY_PASSWORD", "gateway-pw"),
        ("/etc/mqttforge/secrets/monitoring", "monitoring-pw"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let opts = RenderOptions {
        spec_name: EDGE.into(),
        root: root.display().to_string(),
        ports,
        loopback: true,
        containers: None,
        secrets: SecretMode::Resolve,
        secret_values: secrets,
        pki_dir: Some(pki.clone()),
        previous_secrets: Default::default(),
    };
    let tree = render(&site, &opts).expect("the test variant renders");
    // A test variant gives each host its own directory under the root.
    let host = root.join("edge1");
    let report = install_host(
        &tree,
        Some(&pki),
        "edge1",
        &host,
        &HostOptions::for_site(&site),
    )
    .expect("install_host");
    assert!(report.pending.is_empty(), "{:?}", report.pending);
    let conf = host.join("etc/mosquitto/mosquitto.conf");
    for (path, want) in [
        ("etc/mosquitto/mosquitto.conf", (0, 0, 0o644)),
        ("etc/mosquitto/acl", (0, mosquitto_gid, 0o640)),
        ("etc/mosquitto/passwd", (0, mosquitto_gid, 0o640)),
        ("etc/mosquitto/certs/ca.pem", (0, 0, 0o644)),
        ("etc/mosquitto/certs/edge1.pem", (0, 0, 0o644)),
        ("etc/mosquitto/certs/edge1.key", (0, mosquitto_gid, 0o640)),
        (
            "var/lib/mqttforge/plant-lyon-edge.manifest.json",
            (0, 0, 0o644),
        ),
    ] {
        assert_eq!(owner_and_mode(&host.join(path)), want, "{path}");
    }
    assert_no_ca_key(&host);
    // What the package creates: the broker's own run, log and data dirs.
    let mosquitto_uid = uid_of("mosquitto");
    for d in ["run/mosquitto", "var/log/mosquitto", "var/lib/mosquitto"] {
        std::fs::create_dir_all(host.join(d)).unwrap();
        std::os::unix::fs::chown(host.join(d), Some(mosquitto_uid), Some(mosquitto_gid)).unwrap();
    }
    let log = host.join("var/log/mosquitto/mosquitto.log");
    let running = start_mosquitto(&conf, &log).unwrap_or_else(|e| panic!("mosquitto: {e}"));
    drop(running);
    // Break one file's group: the ACL root:root 0640.
    std::os::unix::fs::chown(host.join("etc/mosquitto/acl"), Some(0), Some(0)).unwrap();
    let e = start_mosquitto(&conf, &log)
        .err()
        .expect("mosquitto must not start");
    assert!(e.contains("Unable to open acl_file"), "{e}");
    // The next install puts the group back, and Mosquitto starts again.
    let report = install_host(
        &tree,
        Some(&pki),
        "edge1",
        &host,
        &HostOptions::for_site(&site),
    )
    .unwrap();
    assert_eq!(report.owners, ["etc/mosquitto/acl"]);
    drop(start_mosquitto(&conf, &log).unwrap_or_else(|e| panic!("mosquitto: {e}")));
}

fn assert_no_ca_key(root: &Path) {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    let keys: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .contains("PRIVATE KEY")
        })
        .collect();
    assert_eq!(
        keys,
        [&root.join("etc/mosquitto/certs/edge1.key")],
        "the CA key never leaves the PKI directory"
    );
}

fn mqttforge(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("MQTT_GATEWAY_PASSWORD", "gateway-pw")
        .env("MQTT_MONITORING_PASSWORD", "monitoring-pw")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `apply --root DIR --host NODE` through the CLI with production paths:
/// the node's files at DIR + their install paths with the PKI material
/// (issued first), the host's manifest, a clean plan afterwards, unmanaged
/// files refused, unknown hosts named.
#[test]
fn apply_root_host_installs_the_nodes_files_and_plans_clean() {
    let work = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::root().join(EDGE))
        .unwrap()
        .replace(
            "password: { file: /etc/mqttforge/secrets/monitoring }",
            "password: { env: MQTT_MONITORING_PASSWORD }",
        );
    std::fs::write(work.path().join("site.yaml"), text).unwrap();
    let w = work.path();
    let o = mqttforge(
        &[
            "apply",
            "site.yaml",
            "--root",
            "host",
            "--host",
            "edge1",
            "--pki",
            "pki",
            "--auto-approve",
        ],
        w,
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains("PKI: CA created, 51 certificates issued in pki."),
        "{}",
        out(&o)
    );
    let host = w.join("host");
    for f in [
        "etc/mosquitto/mosquitto.conf",
        "etc/mosquitto/acl",
        "etc/mosquitto/passwd",
        "etc/mosquitto/certs/ca.pem",
        "etc/mosquitto/certs/edge1.pem",
        "etc/mosquitto/certs/edge1.key",
        "etc/sysctl.d/99-mqttforge.conf",
        "var/lib/mqttforge/plant-lyon-edge.manifest.json",
    ] {
        assert!(host.join(f).is_file(), "{f} not installed:\n{}", out(&o));
    }
    assert!(
        !host.join("etc/prometheus").exists(),
        "prometheus' files are another host's"
    );
    assert_eq!(
        std::fs::read(host.join("etc/mosquitto/certs/edge1.key")).unwrap(),
        std::fs::read(w.join("pki/servers/edge1.key")).unwrap()
    );
    assert_eq!(
        owner_and_mode(&host.join("etc/mosquitto/certs/edge1.key")).2,
        0o640
    );
    assert_no_ca_key(&host);
    let plan_for =
        |host: &str| mqttforge(&["plan", "site.yaml", "--root", "host", "--host", host], w);
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            "site.yaml",
            "--root",
            "host",
            "--host",
            "edge1",
            "--pki",
            "pki",
        ];
        args.extend_from_slice(extra);
        mqttforge(&args, w)
    };
    let o = plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // A hand edit on the host is drift; an unmanaged file in the way is refused.
    std::fs::write(host.join("etc/mosquitto/acl"), "topic readwrite #\n").unwrap();
    let o = plan(&["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o).contains("  ~ etc/mosquitto/acl (update, edited by hand since the last apply"),
        "{}",
        out(&o)
    );
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("etc/mosquitto")).unwrap();
    std::fs::write(
        other.path().join("etc/mosquitto/mosquitto.conf"),
        "# the package's\n",
    )
    .unwrap();
    let o = mqttforge(
        &[
            "apply",
            "site.yaml",
            "--root",
            other.path().to_str().unwrap(),
            "--host",
            "edge1",
            "--pki",
            "pki",
            "--auto-approve",
        ],
        w,
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(
            "refusing to overwrite 1 file mqttforge does not manage: etc/mosquitto/mosquitto.conf"
        ),
        "{}",
        out(&o)
    );
    assert_eq!(
        std::fs::read_to_string(other.path().join("etc/mosquitto/mosquitto.conf")).unwrap(),
        "# the package's\n"
    );
    let o = plan_for("edge2");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).contains(
            "`edge2` is not a host of this site; did you mean `edge1`? (its hosts: edge1, prometheus)"
        ),
        "{}",
        out(&o)
    );
    let o = mqttforge(
        &[
            "plan",
            "site.yaml",
            "--out",
            "x",
            "--root",
            "host",
            "--host",
            "edge1",
        ],
        w,
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "--out and --root exclude each other: {}",
        out(&o)
    );
}
