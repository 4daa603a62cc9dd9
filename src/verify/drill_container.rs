//! The backup→restore drill on the docker runtime: the drill of
//! [`super::drill`], run by this same binary as root inside a throwaway
//! container of the Mosquitto image (Debian's mosquitto and age, nothing
//! else of this machine). The drill's host is then a fresh Debian system
//! and verify needs no root here: the container is the host that is backed
//! up, lost and restored onto.
//!
//! The container has no network (`--network none`: loopback only) and sees
//! only this binary and the spec's directory, both read-only; it is removed
//! when the drill ends. Its probes come back as JSON and are reported as
//! the drill's own.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{drill, Outcome, Probe};

/// How long the drill may take in its container before it is stopped.
const DEADLINE: Duration = Duration::from_secs(300);

/// Runs the drill for the spec at `spec` in a container of `image`.
pub fn run(spec: &Path, image: &str) -> Vec<Probe> {
    match run_in_container(spec, image) {
        Ok(probes) => probes,
        Err(why) => vec![Probe {
            name: drill::DRILL,
            outcome: Outcome::Fail(why),
        }],
    }
}

fn run_in_container(spec: &Path, image: &str) -> Result<Vec<Probe>, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this mqttforge binary to run in the container: {e}"))?;
    let spec = spec
        .canonicalize()
        .map_err(|e| format!("{}: {e}", spec.display()))?;
    let spec_dir = spec.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = format!("mqttforge-drill-{}", std::process::id());
    let _container = Removed(name.clone());
    let mut cmd = Command::new("timeout");
    // `--init`: the drill is not PID 1, so the deadline's SIGTERM ends it.
    cmd.args(["-k", "10"])
        .arg(DEADLINE.as_secs().to_string())
        .args(["docker", "run", "--rm", "--init", "--name", &name])
        .args(["--network", "none"])
        .args([
            "-v",
            &format!("{}:/usr/local/bin/mqttforge:ro", exe.display()),
        ])
        .args(["-v", &format!("{0}:{0}:ro", spec_dir.display())])
        .args(["-w", &spec_dir.display().to_string()])
        .arg(image)
        .args(["mqttforge", "verify", "--runtime", "local", "--drill"])
        .args(["--format", "json"])
        .arg(&spec);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `docker run {image}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).map_err(|_| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        format!(
            "the drill in a container of {image} gave no report ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    })?;
    drill_probes(&report, image)
}

/// The drill's probes out of the container's verify report, under the
/// drill's own names (any other probe is the local runtime's, already
/// proven by the docker runtime's own probes, and left out).
fn drill_probes(report: &serde_json::Value, image: &str) -> Result<Vec<Probe>, String> {
    let probes = report["probes"]
        .as_array()
        .ok_or("the container's verify report has no probes")?;
    let mut out = Vec::new();
    for p in probes {
        let name = p["name"].as_str().unwrap_or_default();
        let Some(name) = drill::PROBES.iter().find(|n| **n == name) else {
            continue;
        };
        let detail = p["detail"].as_str().unwrap_or_default().to_string();
        let detail = format!("{detail} (in a fresh container of {image}, as root)");
        let outcome = match p["result"].as_str() {
            Some("pass") => Outcome::Pass(detail),
            Some("fail") => Outcome::Fail(detail),
            Some("not_applicable") => Outcome::NotApplicable(detail),
            other => return Err(format!("probe `{name}` has the result {other:?}")),
        };
        out.push(Probe { name, outcome });
    }
    if out.is_empty() {
        return Err("the container's verify report holds no drill probe".into());
    }
    Ok(out)
}

/// Removes the drill's container if it is still there (a timeout, a
/// panic): `docker run --rm` removes it only when it ends by itself.
struct Removed(String);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_drill_probes_come_back_and_results_map() {
        let report = serde_json::json!({"probes": [
            {"name": "config loads", "result": "pass", "detail": "x"},
            {"name": drill::PROBES[1], "result": "fail", "detail": "restore broke"},
            {"name": drill::PROBES[2], "result": "pass", "detail": "ok"},
        ]});
        let probes = drill_probes(&report, "img").unwrap();
        assert_eq!(probes.len(), 2);
        assert_eq!(probes[0].name, drill::PROBES[1]);
        assert_eq!(
            probes[0].outcome,
            Outcome::Fail("restore broke (in a fresh container of img, as root)".into())
        );
        assert!(drill_probes(&serde_json::json!({"probes": []}), "img").is_err());
        let odd = serde_json::json!({"probes": [{"name": drill::DRILL, "result": "maybe"}]});
        assert!(drill_probes(&odd, "img").is_err());
    }
}
