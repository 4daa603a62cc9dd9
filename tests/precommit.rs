//! The pre-commit hooks (`.pre-commit-hooks.yaml`), run by the real
//! `pre-commit` tool (from PyPI; scripts/install-test-deps.sh installs it)
//! in a throwaway git repository that uses them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `pre-commit` command: on PATH, or as `python3 -m pre_commit` (pip may
/// install the script where PATH does not look).
fn pre_commit() -> Command {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("pre-commit");
        if p.is_file() {
            return Command::new(p);
        }
    }
    let module = Command::new("python3")
        .args(["-c", "import pre_commit"])
        .output();
    if module.is_ok_and(|o| o.status.success()) {
        let mut c = Command::new("python3");
        c.args(["-m", "pre_commit"]);
        return c;
    }
    panic!("`pre-commit` is not installed: `python3 -m pip install pre-commit` (scripts/install-test-deps.sh does)");
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Project {
    _dir: tempfile::TempDir,
    path: PathBuf,
    home: PathBuf,
}

impl Project {
    /// A hooks repository holding this project's `.pre-commit-hooks.yaml`,
    /// and a project repository using all its hooks.
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        std::fs::copy(
            common::root().join(".pre-commit-hooks.yaml"),
            hooks.join(".pre-commit-hooks.yaml"),
        )
        .unwrap();
        git(&hooks, &["init", "-q"]);
        git(&hooks, &["add", "."]);
        git(&hooks, &["commit", "-q", "-m", "hooks"]);
        let rev = String::from_utf8(
            Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(&hooks)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let path = dir.path().join("project");
        std::fs::create_dir_all(path.join("sites")).unwrap();
        std::fs::copy(
            common::root().join("site-examples/mosquitto-ha.yaml"),
            path.join("sites/berlin.yaml"),
        )
        .unwrap();
        std::fs::write(
            path.join(".pre-commit-config.yaml"),
            format!(
                "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: mqttforge-validate\n      - id: mqttforge-lint\n      - id: mqttforge-plan\n        args: [--out, rendered/]\n",
                hooks.display(),
                rev.trim()
            ),
        )
        .unwrap();
        git(&path, &["init", "-q"]);
        let home = dir.path().join("pre-commit-home");
        Project {
            _dir: dir,
            path,
            home,
        }
    }

    fn mqttforge(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mqttforge"))
            .args(args)
            .current_dir(&self.path)
            .output()
            .unwrap()
    }

    fn run(&self, hook: &str) -> Output {
        git(&self.path, &["add", "-A"]);
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_mqttforge"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        pre_commit()
            .args(["run", hook, "--files", "sites/berlin.yaml"])
            .current_dir(&self.path)
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", &self.home)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

#[test]
fn the_hooks_pass_on_a_good_site_and_fail_on_problems() {
    let p = Project::new();
    // The rendered tree is committed beside the spec, as the CI snippet in the README shows.
    let o = p.mqttforge(&[
        "apply",
        "sites/berlin.yaml",
        "--out",
        "rendered",
        "--auto-approve",
        "--no-secrets",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for hook in ["mqttforge-validate", "mqttforge-lint", "mqttforge-plan"] {
        let o = p.run(hook);
        assert!(
            o.status.success(),
            "{hook} failed on a good site:\n{}",
            text(&o)
        );
        assert!(text(&o).contains("Passed"), "{hook}:\n{}", text(&o));
    }
    // A change to the spec without re-rendering: the plan hook fails and shows the diff.
    let spec = p.path.join("sites/berlin.yaml");
    let t = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, t.replace("max_inflight: 20", "max_inflight: 24")).unwrap();
    let o = p.run("mqttforge-plan");
    assert!(
        !o.status.success(),
        "the plan hook passed on a stale tree:\n{}",
        text(&o)
    );
    assert!(
        text(&o).contains("+max_inflight_messages 24"),
        "{}",
        text(&o)
    );
    // A typo: the validate hook fails with the position and a suggestion.
    std::fs::write(&spec, t.replace("listeners:", "listners:")).unwrap();
    let o = p.run("mqttforge-validate");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("sites/berlin.yaml:") && text(&o).contains("did you mean `listeners`?"),
        "{}",
        text(&o)
    );
}
