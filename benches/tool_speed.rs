//! The tool's own speed at fleet scale, end to end through the built binary
//! (what a user waits for): validate, lint, render, a no-change plan, apply
//! and PKI issuance on generated large sites, each against what it is
//! measured beside.
//!
//! Sites: `listed` has 5 EMQX nodes and 10,000 devices listed one by one
//! (one firmware header each, about 10,000 files); `fleets` has 5 nodes and
//! 100,000 devices in fleets. Each step runs RUNS times; the median is
//! printed. Comparisons: `cp -r` of the rendered tree, and (when Python 3
//! with PyYAML and Jinja2 is installed) `scripts/speed-baseline.py`, which
//! renders only the device headers from the same template.
//!
//! Run: `cargo bench --bench tool_speed` (the README quotes its figures).
//! `TOOL_SPEED_RUNS=N` changes the number of runs (default 5).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const NODES: usize = 5;
const LISTED: usize = 10_000;
const IN_FLEETS: usize = 100_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mqttforge")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The emqx-cluster example with `NODES` nodes and the given device list.
fn spec(devices: &str) -> String {
    let example = std::fs::read_to_string(root().join("site-examples/emqx-cluster.yaml"))
        .expect("the emqx-cluster example");
    let mut out = String::new();
    let mut skipping = false;
    for line in example.lines() {
        if line.starts_with("nodes:") {
            out.push_str("nodes:\n");
            for n in 1..=NODES {
                out.push_str(&format!(
                    "  - {{ name: mqtt{n}, address: 10.0.1.{} }}\n",
                    9 + n
                ));
            }
            skipping = true;
            continue;
        }
        if line.starts_with("devices:") {
            out.push_str("devices:\n");
            out.push_str(devices);
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with("  ") || line.is_empty()) {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn listed() -> String {
    let mut devices = String::new();
    for i in 0..LISTED {
        let role = if i % 10 == 0 { "actuator" } else { "sensor" };
        devices.push_str(&format!(
            "  - {{ id: dev-{i:05}, role: {role}, firmware: esp32 }}\n"
        ));
    }
    spec(&devices)
}

fn fleets() -> String {
    let sensors = IN_FLEETS * 9 / 10;
    spec(&format!(
        "  - {{ fleet: {{ prefix: sensor-, from: 1, to: {sensors}, width: 6 }}, role: sensor, firmware: esp32 }}\n  \
         - {{ fleet: {{ prefix: valve-, from: 1, to: {}, width: 6 }}, role: actuator, firmware: esp32 }}\n",
        IN_FLEETS - sensors
    ))
}

fn runs() -> usize {
    std::env::var("TOOL_SPEED_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Runs a command, failing the bench if it fails; its wall time.
fn timed(cmd: &mut Command) -> Duration {
    timed_allowing(cmd, &[0])
}

/// Runs a command that may exit with one of `codes` (lint exits 1 on
/// findings); its wall time.
fn timed_allowing(cmd: &mut Command, codes: &[i32]) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("the command runs");
    let took = start.elapsed();
    if !out.status.code().is_some_and(|c| codes.contains(&c)) {
        eprintln!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    took
}

fn mqttforge(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).env("NO_COLOR", "1");
    cmd
}

/// Median of `runs()` runs of `step`, each given a fresh scratch directory.
fn median(work: &Path, mut step: impl FnMut(&Path) -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs())
        .map(|run| {
            let scratch = work.join(format!("run-{run}"));
            std::fs::create_dir_all(&scratch).expect("a scratch directory");
            let took = step(&scratch);
            std::fs::remove_dir_all(&scratch).expect("remove the scratch directory");
            took
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn show(label: &str, d: Duration) {
    println!("{label:<48} {:>9.3} s", d.as_secs_f64());
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        files_under(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn site(work: &Path, name: &str, text: &str) {
    let spec_path = work.join(format!("{name}.yaml"));
    std::fs::write(&spec_path, text).expect("write the spec");
    let spec = spec_path.to_str().expect("a UTF-8 path");
    println!("\n{name}: {} bytes of spec", text.len());

    show(
        "validate",
        median(work, |_| timed(&mut mqttforge(&["validate", spec]))),
    );
    show(
        "lint",
        median(work, |_| {
            timed_allowing(&mut mqttforge(&["lint", spec]), &[0, 1])
        }),
    );

    let kept = work.join(format!("{name}-tree"));
    timed(&mut mqttforge(&[
        "render",
        spec,
        "--out",
        kept.to_str().unwrap(),
        "--no-secrets",
    ]));
    println!("{:<48} {:>9}", "files rendered", files_under(&kept));
    let render = median(work, |s| {
        let out = s.join("out");
        timed(&mut mqttforge(&[
            "render",
            spec,
            "--out",
            out.to_str().unwrap(),
            "--no-secrets",
        ]))
    });
    show("render", render);
    let copy = median(work, |s| {
        timed(Command::new("cp").arg("-r").arg(&kept).arg(s.join("copy")))
    });
    show("cp -r of the rendered tree", copy);
    println!(
        "{:<48} {:>9.1}x",
        "render / cp -r",
        render.as_secs_f64() / copy.as_secs_f64()
    );
    baseline(work, spec, render);

    let applied = work.join(format!("{name}-applied"));
    let apply = |out: &Path| {
        timed(&mut mqttforge(&[
            "apply",
            spec,
            "--out",
            out.to_str().unwrap(),
            "--auto-approve",
            "--no-secrets",
        ]))
    };
    show(
        "apply (into an empty directory)",
        median(work, |s| apply(&s.join("out"))),
    );
    apply(&applied);
    show(
        "plan with nothing to change",
        median(work, |_| {
            timed(&mut mqttforge(&[
                "plan",
                spec,
                "--out",
                applied.to_str().unwrap(),
                "--no-secrets",
            ]))
        }),
    );

    let pki = |dir: &Path, what: &[&str]| {
        let mut args = vec!["pki"];
        args.extend_from_slice(what);
        args.extend_from_slice(&[spec, "--dir", dir.to_str().unwrap()]);
        timed(&mut mqttforge(&args))
    };
    show(
        "pki issue device (every device, on disk)",
        median(work, |s| {
            let dir = s.join("pki");
            pki(&dir, &["init"]);
            pki(&dir, &["issue", "server"]);
            pki(&dir, &["issue", "device"])
        }),
    );
}

/// The Python PyYAML + Jinja2 script rendering only the device headers.
fn baseline(work: &Path, spec: &str, render: Duration) {
    let script = root().join("scripts/speed-baseline.py");
    let ready = Command::new("python3")
        .args(["-c", "import yaml, jinja2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        println!("{:<48} {:>9}", "python3 + PyYAML + Jinja2", "absent");
        return;
    }
    let python = median(work, |s| {
        timed(
            Command::new("python3")
                .arg(&script)
                .arg(spec)
                .arg(root().join("templates/firmware/mqtt_config.h.j2"))
                .arg(s.join("headers")),
        )
    });
    show("python3 PyYAML+Jinja2, device headers only", python);
    println!(
        "{:<48} {:>9.1}x",
        "python / render",
        python.as_secs_f64() / render.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is not used.
    let work = tempfile::tempdir().expect("a temporary directory");
    println!(
        "tool speed, medians of {} runs, {} CPUs, work directory {}",
        runs(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        work.path().display()
    );
    site(work.path(), "listed", &listed());
    site(work.path(), "fleets", &fleets());
    println!("\nlint of each example (external checkers included):");
    for example in [
        "edge-mosquitto",
        "mosquitto-ha",
        "emqx-cluster",
        "dev-rumqttd",
    ] {
        let spec = root().join(format!("site-examples/{example}.yaml"));
        let spec = spec.to_str().unwrap().to_string();
        show(
            &format!("lint {example}"),
            median(work.path(), |_| {
                timed_allowing(&mut mqttforge(&["lint", &spec]), &[0, 1])
            }),
        );
    }
}
