//! Issuing a 10,000-device fleet: a new ECDSA P-256 key, a signed device
//! certificate and both files written (keys 0600) for every device, into a
//! temporary PKI directory; then `ensure` with nothing left to do, and
//! `status` over the whole directory. It runs once in the system's temporary
//! directory (a disk: file creation often dominates) and once in /dev/shm
//! when there is one (memory: what mqttforge itself costs).
//!
//! Run: `cargo bench --bench pki_fleet` (the README quotes its figures).

use std::path::Path;
use std::time::{Duration, Instant};

use mqttforge::pki::{self, Pki, Role};
use mqttforge::source::SourceFile;
use mqttforge::spec;

const DEVICES: u64 = 10_000;

fn spec_text() -> String {
    format!(
        r#"site: bench-fleet
environment: production
engine: mosquitto
capacity: {{ clients: 20000, msg_per_s: 10000, max_payload: 1KiB }}
nodes:
  - {{ name: mqtt1, address: 10.0.0.11 }}
listeners:
  - {{ name: devices, port: 8883, tls: {{ min_version: "1.3", client_certs: required, identity: username }} }}
pki:
  ca: {{ cn: "Bench CA", org: ACME }}
  device_org: ACME
roles:
  sensor: [ {{ write: "devices/{{id}}/telemetry/#" }} ]
devices:
  - {{ fleet: {{ prefix: sensor-, from: 1, to: {DEVICES}, width: 5 }}, role: sensor }}
"#
    )
}

fn per_cert(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

/// Issues the fleet into a fresh directory under `base`; prints the figures.
fn run(site: &spec::Site, base: &Path, label: &str) {
    let dir = tempfile::tempdir_in(base).expect("a temporary directory");
    let mut p = Pki::open(site, dir.path()).expect("the PKI opens");
    if p.init().is_err() || p.issue(Role::Server, &[], false).is_err() {
        eprintln!("init failed");
        std::process::exit(1);
    }

    let start = Instant::now();
    let issued = match p.issue(Role::Device, &[], false) {
        Ok(i) => i,
        Err(d) => {
            eprintln!(
                "{}",
                mqttforge::diag::render_text(&d, mqttforge::diag::Style::Plain)
            );
            std::process::exit(1);
        }
    };
    let took = start.elapsed();
    assert_eq!(issued.len() as u64, DEVICES);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{label} ({}):", base.display());
    println!(
        "  issue device: {} certificates + keys in {:.2} s ({:.0} µs per certificate, {threads} threads)",
        issued.len(),
        took.as_secs_f64(),
        per_cert(took, issued.len())
    );

    let start = Instant::now();
    let report = pki::ensure(site, dir.path()).expect("ensure");
    assert!(report.is_empty());
    println!(
        "  ensure, nothing to do: {:.3} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let status = Pki::open(site, dir.path())
        .expect("the PKI opens")
        .status()
        .expect("status");
    let took = start.elapsed();
    println!(
        "  status: {} certificates in {:.2} s ({:.0} µs per certificate)",
        status.certificates.len(),
        took.as_secs_f64(),
        per_cert(took, status.certificates.len())
    );
}

fn main() {
    let site = match spec::load_source(SourceFile::new("bench-fleet.yaml", spec_text())) {
        Ok(s) => s,
        Err(d) => {
            eprintln!(
                "{}",
                mqttforge::diag::render_text(&d, mqttforge::diag::Style::Plain)
            );
            std::process::exit(1);
        }
    };
    // The disk the temporary directory is on: what a real run pays.
    run(&site, &std::env::temp_dir(), "temporary directory");
    // A memory file system, where file creation is nearly free: the cost of
    // mqttforge itself (key generation, signing, encoding).
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        run(&site, shm, "memory file system");
    }
}
