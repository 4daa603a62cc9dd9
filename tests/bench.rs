//! `mqttforge bench` against the real Mosquitto from PATH, on loopback: its
//! counts agree with the broker's own `$SYS` counters, a broker that dies or
//! freezes mid-run is reported and the run ends by itself, a QoS 1 run loses
//! nothing, and `--spec` judges a run against the site's targets.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not on PATH: install the Debian packages mosquitto and mosquitto-clients (scripts/install-test-deps.sh)")
        })
}

/// Mosquitto on a free loopback port, logging to a file; killed on drop.
struct Mosquitto {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    fn start() -> Mosquitto {
        Mosquitto::start_with("")
    }

    /// With extra configuration lines (global options).
    fn start_with(extra: &str) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("{extra}listener {port} 127.0.0.1\nallow_anonymous true\nsys_interval 1\nlog_dest stderr\nlog_type all\n"),
        )
        .unwrap();
        // Mosquitto drops root before it would open a log file in this root-owned
        // directory: its stderr goes to a file the test opens instead.
        let log_path = dir.path().join("mosquitto.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(on_path("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut broker = Mosquitto {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logged = std::fs::read_to_string(&log_path).unwrap_or_default();
            if logged.contains(" running") {
                return broker;
            }
            if let Some(status) = broker.child.try_wait().unwrap() {
                panic!("mosquitto exited ({status}):\n{logged}");
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not report running:\n{logged}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// The current value of a `$SYS` counter (retained, so it comes at once).
    fn sys(&self, topic: &str) -> u64 {
        let out = Command::new(on_path("mosquitto_sub"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-C", "1", "-W", "5", "-t", topic])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "{topic}: `{text}` ({})",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench(args: &[&str]) -> Output {
    common::mqttforge(&[&["bench"], args].concat())
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn count(report: &Value, pointer: &str) -> u64 {
    report
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} missing from {report:#}"))
}

/// Mosquitto 2.0.11 publishes both `$SYS/broker/messages/received` (every
/// packet: CONNECT, SUBSCRIBE, PUBACK, DISCONNECT... as well) and
/// `$SYS/broker/publish/messages/received` (PUBLISH packets only); the
/// second is what bench's `sent` counts. Its delta must equal `sent`
/// exactly: on loopback at QoS 1 the broker acknowledged every publish
/// (asserted), nobody else publishes, and the counter is read only once it
/// has stopped moving (the tolerance is zero: nothing else can move it). `$SYS/broker/publish/messages/sent` counts bench's
/// deliveries plus the `$SYS` messages this test's own readers receive,
/// so its delta lies between `received` and `received` + the reads made.
#[test]
fn counts_agree_with_the_brokers_sys_counters() {
    let broker = Mosquitto::start();
    let reads = std::cell::Cell::new(0u64);
    let sys = |topic: &str| {
        reads.set(reads.get() + 1);
        broker.sys(topic)
    };
    let published_before = sys("$SYS/broker/publish/messages/received");
    let delivered_before = sys("$SYS/broker/publish/messages/sent");
    let reads_before = reads.get();
    let out = bench(&[
        &broker.url(),
        "--publishers",
        "4",
        "--subscribers",
        "2",
        "--rate",
        "200/s",
        "--qos",
        "1",
        "--duration",
        "2s",
        "--warmup",
        "500ms",
        "--format",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let sent = count(&report, "/messages/sent");
    let received = count(&report, "/messages/received");
    assert_eq!(count(&report, "/messages/acked"), sent, "{report:#}");
    // 4 x 200/s over 2.5 s.
    assert_eq!(sent, 2000, "{report:#}");
    let mut published_after = sys("$SYS/broker/publish/messages/received");
    // Mosquitto 2.0.11 refreshes $SYS when `now - sys_interval > last_update`
    // (whole seconds): every 2 s with sys_interval 1. Two equal reads 3 s
    // apart are the settled value.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_secs(3));
        let again = sys("$SYS/broker/publish/messages/received");
        if again == published_after {
            break;
        }
        published_after = again;
    }
    let delivered_after = sys("$SYS/broker/publish/messages/sent");
    assert_eq!(
        published_after - published_before,
        sent,
        "broker's PUBLISH count vs bench's sent"
    );
    let delivered = delivered_after - delivered_before;
    let own_reads = reads.get() - reads_before + 2;
    assert!(
        (received..=received + own_reads).contains(&delivered),
        "broker delivered {delivered}, bench received {received} (+ at most {own_reads} $SYS reads)"
    );
}

/// Loss as the broker sees it: with one QoS 1 message in flight and one
/// queued per client, Mosquitto drops what a subscriber cannot take
/// (`$SYS/broker/publish/messages/dropped`); bench's `lost` is that count.
#[test]
fn lost_agrees_with_the_brokers_dropped_counter() {
    let broker = Mosquitto::start_with("max_inflight_messages 1\nmax_queued_messages 1\n");
    let dropped_before = broker.sys("$SYS/broker/publish/messages/dropped");
    let out = bench(&[
        &broker.url(),
        "--publishers",
        "4",
        "--subscribers",
        "1",
        "--rate",
        "5000/s",
        "--qos",
        "1",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--drain-timeout",
        "2s",
        "--format",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let lost = count(&report, "/messages/lost");
    assert!(lost > 0, "{report:#}");
    assert_eq!(count(&report, "/messages/duplicated"), 0, "{report:#}");
    let mut dropped = broker.sys("$SYS/broker/publish/messages/dropped") - dropped_before;
    // $SYS refreshes every 2 s (see above): wait for it, at most 10 s.
    for _ in 0..20 {
        if dropped == lost {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        dropped = broker.sys("$SYS/broker/publish/messages/dropped") - dropped_before;
    }
    assert_eq!(dropped, lost, "broker dropped vs bench lost: {report:#}");
}

/// The broker is killed mid-run: the run ends early by itself, reports the
/// lost connections (and any message that was in flight), and exits 1.
#[test]
fn a_broker_killed_mid_run_is_reported_and_the_run_ends() {
    let mut broker = Mosquitto::start();
    let (duration, drain) = (6.0, 2.0);
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args([
            "bench",
            &broker.url(),
            "--publishers",
            "2",
            "--subscribers",
            "1",
        ])
        .args([
            "--rate",
            "500/s",
            "--qos",
            "1",
            "--duration",
            "6s",
            "--warmup",
            "0s",
        ])
        .args(["--drain-timeout", "2s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    broker.child.kill().unwrap();
    broker.child.wait().unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed().as_secs_f64();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert!(took < duration + drain + 5.0, "took {took:.1} s");
    assert!(
        took < duration,
        "a dead broker should end the run early, took {took:.1} s"
    );
    assert!(
        count(&report, "/messages/lost") > 0 || count(&report, "/connections/lost") > 0,
        "{report:#}"
    );
    assert_eq!(count(&report, "/connections/lost"), 3, "{report:#}");
    assert_eq!(
        report["stopped_by"], "publishers_disconnected",
        "{report:#}"
    );
    assert!(
        count(&report, "/errors/run: connection lost/count") >= 1,
        "{report:#}"
    );
}

/// The broker freezes (SIGSTOP): connections stay open but nothing moves.
/// The window, the drain timeout and the disconnect bound the run; the
/// messages that never arrived are lost, and the run exits 1.
#[test]
fn a_frozen_broker_does_not_hang_the_run() {
    let broker = Mosquitto::start();
    let pid = broker.child.id().to_string();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args([
            "bench",
            &broker.url(),
            "--publishers",
            "2",
            "--subscribers",
            "1",
        ])
        .args([
            "--rate",
            "500/s",
            "--qos",
            "1",
            "--duration",
            "3s",
            "--warmup",
            "0s",
        ])
        .args(["--drain-timeout", "1s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed().as_secs_f64();
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    // 3 s window + 1 s drain + 1 s stalled publishers + 1 s disconnect + margin.
    assert!(took < 3.0 + 1.0 + 5.0, "took {took:.1} s");
    assert!(count(&report, "/messages/lost") > 0, "{report:#}");
    assert_eq!(report["drained"], false, "{report:#}");
}

/// QoS 1 on a healthy broker: every message reaches every subscriber once.
/// The password comes from the environment and appears nowhere in the output.
#[test]
fn qos1_loses_nothing_and_keeps_the_password_out_of_the_output() {
    let broker = Mosquitto::start();
    let secret = "Bench-secret-4711";
    let out = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args([
            "bench",
            &broker.url(),
            "--publishers",
            "3",
            "--subscribers",
            "3",
        ])
        .args([
            "--rate",
            "100/s",
            "--qos",
            "1",
            "--duration",
            "2s",
            "--warmup",
            "500ms",
        ])
        .args([
            "--payload",
            "1KiB",
            "--username",
            "bench",
            "--password-env",
            "BENCH_TEST_PASSWORD",
        ])
        .args(["--format", "json"])
        .env("BENCH_TEST_PASSWORD", secret)
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let sent = count(&report, "/messages/sent");
    assert_eq!(sent, 750, "3 x 100/s over 2.5 s: {report:#}");
    assert_eq!(count(&report, "/messages/lost"), 0, "{report:#}");
    assert_eq!(count(&report, "/messages/duplicated"), 0, "{report:#}");
    assert_eq!(count(&report, "/messages/received"), sent * 3, "{report:#}");
    assert_eq!(count(&report, "/connections/subscribed"), 3, "{report:#}");
    // The latency histogram holds every first delivery after the warm-up.
    assert_eq!(count(&report, "/latency_ms/count"), 600 * 3, "{report:#}");
    assert!(report["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(count(&report, "/connect_ms/count"), 6, "{report:#}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(secret), "the password leaked:\n{all}");
    assert!(
        out.stderr.is_empty(),
        "no progress line when stderr is not a terminal:\n{all}"
    );
}

fn fixture(name: &str) -> String {
    common::root()
        .join("tests/fixtures/bench")
        .join(name)
        .display()
        .to_string()
}

/// `--spec`: the load is the site's load_test, and the verdict lists each
/// target with what was required, where from, and what was measured.
#[test]
fn spec_runs_the_sites_load_test_and_judges_each_target() {
    let broker = Mosquitto::start();
    let spec = fixture("small-load.yaml");
    let out = bench(&[
        &broker.url(),
        "--spec",
        &spec,
        "--warmup",
        "500ms",
        "--format",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["passed"], true);
    // load_test: 4 publishers at 50/s, 2 subscribers, 2 s.
    assert_eq!(count(&report, "/load/publishers"), 4);
    assert_eq!(count(&report, "/load/subscribers"), 2);
    assert_eq!(count(&report, "/load/payload_bytes"), 128);
    assert_eq!(count(&report, "/scale/declared_publishers"), 4);
    let targets = report["verdict"]["targets"].as_array().unwrap();
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "latency P99 under the alert threshold",
            "no loss",
            "declared rate sustained",
            "every client connected and stayed connected"
        ]
    );
    for t in targets {
        assert_eq!(t["outcome"], "held", "{t:#}");
        assert!(!t["measured"].as_str().unwrap().is_empty());
    }
    assert_eq!(targets[0]["required"], "< 250 ms");
    assert!(
        targets[0]["source"]
            .as_str()
            .unwrap()
            .contains("small-load.yaml:"),
        "{:#}",
        targets[0]
    );
    // The text verdict prints every target, required vs measured.
    let text = bench(&[
        &broker.url(),
        "--spec",
        &spec,
        "--duration",
        "1s",
        "--warmup",
        "0s",
    ]);
    let stdout = common::stdout(&text);
    assert_eq!(text.status.code(), Some(0), "{stdout}");
    for name in names {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
    assert_eq!(stdout.matches("        required ").count(), 4, "{stdout}");
    assert_eq!(stdout.matches("        measured ").count(), 4, "{stdout}");
    assert!(
        stdout.contains("the window is 1 s (--duration), not the declared 2 s"),
        "{stdout}"
    );
}

/// A target the run cannot meet makes the verdict fail: nothing listens on
/// the port, so no target holds, and the exit status is 1.
#[test]
fn spec_verdict_fails_when_the_broker_is_absent() {
    let url = format!("mqtt://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = bench(&[
        &url,
        "--spec",
        &fixture("small-load.yaml"),
        "--format",
        "json",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["stopped_by"], "no_connection");
    assert_eq!(report["verdict"]["held"], false);
    assert!(
        count(&report, "/errors/connect: tcp refused/count") >= 1,
        "{report:#}"
    );
    let missed = report["verdict"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "missed")
        .count();
    assert_eq!(missed, 4, "{report:#}");
}

#[test]
fn bad_command_lines_exit_2_with_a_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&["http://127.0.0.1:1883"], "not an MQTT URL"),
        (&["mqtt://u:p@127.0.0.1:1883"], "--password-env"),
        (
            &["mqtt://127.0.0.1:1883", "--payload", "10"],
            "at least 28 B",
        ),
        (&["mqtt://127.0.0.1:1883", "--qos", "3"], "3"),
        (&["mqtt://127.0.0.1:1883", "--rate", "fast"], "not a rate"),
        (
            &["mqtt://127.0.0.1:1883", "--client-id", "same"],
            "to two clients",
        ),
        (&["mqtt://127.0.0.1:1883", "--topic", "a/#"], "wildcard"),
        (
            &[
                "mqtt://127.0.0.1:1883",
                "--username",
                "u",
                "--password-env",
                "MQTTFORGE_BENCH_UNSET",
            ],
            "is not set",
        ),
        (&["mqtt://127.0.0.1:1883", "--password", "p"], "--password"),
        (&["mqtts://127.0.0.1:8883"], "--ca"),
        (&["mqtt://127.0.0.1:1883", "--ca", "ca.pem"], "mqtts://"),
    ];
    for (args, reason) in cases {
        let out = bench(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(reason),
            "{args:?}: `{reason}` not in {stderr}"
        );
    }
    let spec = fixture("small-load.yaml");
    let out = bench(&[
        "mqtt://127.0.0.1:1883",
        "--spec",
        &spec,
        "--publishers",
        "9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--publishers set the load"));
}

#[test]
fn a_spec_without_load_test_is_refused_at_its_file() {
    let out = bench(&[
        "mqtt://127.0.0.1:1883",
        "--spec",
        &common::root()
            .join("site-examples/dev-rumqttd.yaml")
            .display()
            .to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the site declares no `load_test`"),
        "{stderr}"
    );
    assert!(stderr.contains("dev-rumqttd.yaml:"), "{stderr}");
}

#[test]
fn help_shows_examples() {
    let out = bench(&["--help"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("Examples:"), "{stdout}");
    assert!(
        stdout.contains("mqttforge bench mqtt://127.0.0.1:1883"),
        "{stdout}"
    );
}

/// A listener that accepts TCP but never answers CONNECT: each connection
/// fails at the connect timeout, and the run ends with exit 1.
#[test]
fn a_silent_listener_fails_at_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("mqtt://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok((stream, _)) = listener.accept() {
                open.push(stream);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let started = Instant::now();
    let out = bench(&[
        &url,
        "--connect-timeout",
        "1s",
        "--duration",
        "1s",
        "--format",
        "json",
    ]);
    let took = started.elapsed();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(report["stopped_by"], "no_connection", "{report:#}");
    assert_eq!(count(&report, "/connections/failed"), 2, "{report:#}");
    assert!(
        report["errors"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("timeout")),
        "{report:#}"
    );
    drop(held);
}

/// The bundled broker (`mqttforge broker`, rumqttd) of the dev example on
/// free ports; killed on drop.
struct Bundled {
    child: Child,
    tls_port: u16,
    dir: tempfile::TempDir,
}

impl Bundled {
    fn start() -> Bundled {
        let dir = tempfile::tempdir().unwrap();
        let (tls_port, plain_port) = (free_port(), free_port());
        let spec = std::fs::read_to_string(common::root().join("site-examples/dev-rumqttd.yaml"))
            .unwrap()
            .replace("port: 8883", &format!("port: {tls_port}"))
            .replace("port: 1883", &format!("port: {plain_port}"));
        let spec_path = dir.path().join("site.yaml");
        std::fs::write(&spec_path, spec).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
            .arg("broker")
            .arg(&spec_path)
            .arg("--dir")
            .arg(dir.path().join("broker"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("PKI in") {
            line.clear();
            let read = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
            assert!(read > 0, "the bundled broker stopped before it was ready");
        }
        Bundled {
            child,
            tls_port,
            dir,
        }
    }

    fn pki(&self) -> String {
        self.dir.path().join("broker/pki").display().to_string()
    }
}

impl Drop for Bundled {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// mTLS with the site's device certificates (rustls, the CA and a server
/// name other than the dialled address): nothing lost; a wrong server name
/// and a missing client certificate are connect errors of their kind.
#[test]
fn mtls_with_the_sites_device_certificates_on_the_bundled_broker() {
    let broker = Bundled::start();
    let url = format!("mqtts://127.0.0.1:{}", broker.tls_port);
    let pki = broker.pki();
    let run = |extra: &[&str]| {
        let args = [
            &[
                url.as_str(),
                "--duration",
                "1s",
                "--warmup",
                "0s",
                "--format",
                "json",
            ],
            extra,
        ]
        .concat();
        let out = bench(&args);
        (out.status.code(), json(&out))
    };
    let (code, report) = run(&[
        "--pki",
        &pki,
        "--server-name",
        "localhost",
        "--publishers",
        "3",
    ]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(count(&report, "/messages/sent"), 300, "{report:#}");
    assert_eq!(count(&report, "/messages/lost"), 0, "{report:#}");
    assert_eq!(report["load"]["topic"], "devices/{device}/telemetry/bench");
    let (code, report) = run(&["--pki", &pki, "--server-name", "wrong.example"]);
    assert_eq!(code, Some(1), "{report:#}");
    let first = report["errors"]["connect: tls"]["first"]
        .as_str()
        .unwrap_or_default();
    assert!(first.contains("not valid for name"), "{report:#}");
    let ca = format!("{pki}/ca.pem");
    let (code, report) = run(&["--ca", &ca]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(count(&report, "/connections/failed"), 2, "{report:#}");
    assert!(
        report["errors"].to_string().contains("CertificateRequired"),
        "{report:#}"
    );
}
