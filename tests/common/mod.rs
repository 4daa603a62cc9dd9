//! Helpers shared by the integration tests: run the built binary, compare
//! against snapshot files with a unified diff.
#![allow(dead_code)]

pub mod alloy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mqttforge ARGS` from the repository root (so paths in output are relative).
pub fn mqttforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the mqttforge binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn update_snapshots() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

/// Compares `actual` with the snapshot at `path` (rewritten when
/// UPDATE_SNAPSHOTS is set). Returns a unified diff on mismatch.
pub fn check_snapshot(path: &Path, actual: &str) -> Result<(), String> {
    if update_snapshots() {
        std::fs::write(path, actual).expect("write snapshot");
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: missing snapshot ({e}); run with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
        .unified_diff()
        .header(&path.display().to_string(), "actual")
        .to_string();
    Err(diff)
}
