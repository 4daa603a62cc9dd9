//! The command line as a whole: completions and man pages come from the
//! clap definitions and cover every subcommand.

mod common;

use std::process::Command;

/// The subcommands `mqttforge --help` lists.
fn subcommands() -> Vec<String> {
    let out = common::mqttforge(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues on a line indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn bash_completion_parses_and_knows_every_subcommand() {
    let out = common::mqttforge(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mqttforge.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let subs = subcommands();
    assert!(subs.len() >= 12, "{subs:?}");
    for sub in &subs {
        assert!(script.contains(sub.as_str()), "completion lacks `{sub}`");
    }
}

#[test]
fn a_man_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::mqttforge(&["man", "--out", &dir.path().display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in std::iter::once("mqttforge".to_string())
        .chain(subcommands().into_iter().map(|s| format!("mqttforge-{s}")))
    {
        let text = std::fs::read_to_string(dir.path().join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(
            text.contains(&format!(".TH {page} 1")),
            "{page}: {}",
            &text[..200.min(text.len())]
        );
    }
}

/// `mqttforge ... | head` closes the pipe early: the command ends quietly
/// with 141 (128 + SIGPIPE, as a shell reports `cat` in the same place),
/// never with a panic message about a failed print.
#[test]
fn a_closed_stdout_ends_the_command_without_a_panic() {
    use std::io::Read as _;
    // More than a pipe holds (64 KiB), so the command is still writing
    // when the reader goes away.
    let whole = common::mqttforge(&["explain", "--all"]).stdout.len();
    assert!(whole > 65_536, "explain --all prints only {whole} bytes");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["explain", "--all"])
        .current_dir(common::root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed now; the rest of the output has nowhere to go.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{:?}", out.status);
}

/// Errors that are not at a position in a file still print as every
/// diagnostic does: `error[CODE]: message` and a help line, never a bare
/// `error: ...` without a code.
#[test]
fn errors_without_a_position_carry_a_code_and_help() {
    let out_dir = tempfile::tempdir().unwrap();
    let taken = out_dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("mine.txt"), "not mqttforge's").unwrap();
    let spec = "site-examples/edge-mosquitto.yaml";
    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (
            vec!["explain", "MQ-TLS-01"],
            "error[usage]: `MQ-TLS-01` is not a rule",
            1,
        ),
        (
            vec!["lint", spec, "--select", "MQ-NOPE-001"],
            "error[usage]: `MQ-NOPE-001`",
            2,
        ),
        (
            vec!["audit", spec, "--kind", "nginx"],
            "error[usage]: unknown kind `nginx`",
            2,
        ),
        (
            vec!["verify", spec, "--runtime", "docker", "--image", "nginx"],
            "error[usage]: --image takes",
            2,
        ),
        (
            vec!["acl", "check", spec, "--user", "x", "--write", "a/#"],
            "error[invalid-topic]:",
            2,
        ),
        (
            vec![
                "render",
                spec,
                "--out",
                taken.to_str().unwrap(),
                "--no-secrets",
            ],
            "error[plan]:",
            1,
        ),
    ];
    for (args, want, code) in cases {
        let out = common::mqttforge(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(
            stderr.contains("= help: "),
            "{args:?} prints no help: {stderr}"
        );
        assert!(
            !stderr.lines().any(|l| l.starts_with("error: ")),
            "{args:?} prints a bare error: {stderr}"
        );
    }
}
