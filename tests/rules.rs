//! Every rule has fixtures that fire and fixtures that do not, in `lint`
//! (a spec) and in `audit` (hand-written files) wherever the rule applies,
//! and fires exactly where its snapshot says.
//!
//! Layout, per rule ID under tests/fixtures/rules/<ID>/:
//!   lint-fire.yaml, lint-pass.yaml      specs (rules whose scope includes lint)
//!   audit-fire/, audit-pass/            files audited together (scope audit);
//!                                       `kinds` (FILE=KIND) and `args` (one
//!                                       argument a line) add to the command
//!   lint-fire.stdout, audit-fire.stdout the exact output, findings of <ID> only
//! `UPDATE_SNAPSHOTS=1 cargo test --test rules` rewrites the snapshots.
//!
//! Each fixture is its own test case, named `<ID>::<case>` (for example
//! `MQ-ACL-001::lint-fire`), so one rule runs alone
//! (`cargo test --test rules -- MQ-ACL-001`) and the cases run in parallel.
//! The case list comes from the rule registry at run time, which libtest's
//! `#[test]` cannot express, so this file is its own small harness
//! (`harness = false` in Cargo.toml) that speaks libtest's command line:
//! a name filter, `--exact`, `--skip`, `--list`, `--test-threads`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{check_snapshot, mqttforge, root, stdout};
use mqttforge::lint::rules;

/// What a case expects of its fixture.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// The rule fires, with exactly the snapshot's output.
    Fire,
    /// Exit 0 and no finding at all.
    Pass,
}

struct Case {
    name: String,
    run: Run,
}

enum Run {
    Fixture {
        rule: &'static str,
        expect: Expect,
        snapshot: PathBuf,
        args: Vec<String>,
    },
    FixtureDirectoriesBelongToRules,
}

/// The files of a fixture directory, its subdirectories' too (a
/// `conf.d/` read through `include_dir`).
fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(fixture_files(&p));
        } else if p.file_name().is_some_and(|n| n != "kinds" && n != "args") {
            out.push(p);
        }
    }
    out
}

fn audit_args(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fixture_files(dir)
        .into_iter()
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    files.sort();
    // Optional `args` file: further `audit` arguments, one a line
    // (`--mosquitto-version=2.1`).
    if let Ok(args) = std::fs::read_to_string(dir.join("args")) {
        files.extend(
            args.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    // Optional `kinds` file: lines FILE=KIND for files detection cannot name.
    if let Ok(kinds) = std::fs::read_to_string(dir.join("kinds")) {
        let rel = dir.strip_prefix(root()).unwrap().display().to_string();
        for line in kinds.lines().filter(|l| !l.trim().is_empty()) {
            files.push(format!("--kind={rel}/{}", line.trim()));
        }
    }
    files
}

/// The audit cases of a rule: `audit-fire` and `audit-pass`, and any further
/// `audit-fire-<what>` / `audit-pass-<what>` directory (one per behaviour,
/// e.g. a false-positive class that must stay quiet).
fn audit_cases(dir: &Path) -> Vec<String> {
    let mut cases = vec!["audit-fire".to_string(), "audit-pass".to_string()];
    let mut extra: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("audit-fire-") || n.starts_with("audit-pass-"))
                .collect()
        })
        .unwrap_or_default();
    extra.sort();
    cases.extend(extra);
    cases
}

/// One case per rule and fixture, from the registry.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for rule in rules::all() {
        let dir = root().join("tests/fixtures/rules").join(rule.id);
        let rel = format!("tests/fixtures/rules/{}", rule.id);
        let mut fixtures: Vec<(String, Vec<String>)> = Vec::new();
        if rule.scope.lint {
            for case in ["lint-fire", "lint-pass"] {
                fixtures.push((
                    case.to_string(),
                    vec!["lint".into(), format!("{rel}/{case}.yaml")],
                ));
            }
        }
        if rule.scope.audit {
            for case in audit_cases(&dir) {
                let mut args = vec!["audit".to_string()];
                args.extend(audit_args(&dir.join(&case)));
                fixtures.push((case, args));
            }
        }
        for (case, mut args) in fixtures {
            args.push(format!("--select={}", rule.id));
            let expect = if case.ends_with("fire") || case.starts_with("audit-fire-") {
                Expect::Fire
            } else {
                Expect::Pass
            };
            cases.push(Case {
                name: format!("{}::{case}", rule.id),
                run: Run::Fixture {
                    rule: rule.id,
                    expect,
                    snapshot: dir.join(format!("{case}.stdout")),
                    args,
                },
            });
        }
    }
    cases.push(Case {
        name: "fixture_directories_belong_to_rules".into(),
        run: Run::FixtureDirectoriesBelongToRules,
    });
    cases
}

fn count(out: &str, id: &str) -> usize {
    out.lines()
        .filter(|l| l.contains(&format!("[{id}]:")))
        .count()
}

fn run_fixture(rule: &str, expect: Expect, snapshot: &Path, args: &[String]) -> Result<(), String> {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = mqttforge(&argv);
    let text = stdout(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match expect {
        Expect::Fire => {
            if count(&text, rule) == 0 {
                return Err(format!("the rule did not fire:\n{text}{stderr}"));
            }
            check_snapshot(snapshot, &text)
        }
        Expect::Pass => {
            if count(&text, rule) != 0 {
                return Err(format!("the rule fired where it must not:\n{text}"));
            }
            if out.status.code() != Some(0) {
                return Err(format!(
                    "`mqttforge {}` exited {:?}, not 0:\n{text}{stderr}",
                    args.join(" "),
                    out.status.code()
                ));
            }
            // Only the summary line: `<input>: 0 errors, 0 warnings, 0 info`.
            let clean = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| l.ends_with(": 0 errors, 0 warnings, 0 info"));
            if !clean {
                return Err(format!("a pass fixture printed findings:\n{text}"));
            }
            Ok(())
        }
    }
}

fn fixture_directories_belong_to_rules() -> Result<(), String> {
    for e in std::fs::read_dir(root().join("tests/fixtures/rules")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if rules::find(&name).is_none() {
            return Err(format!("tests/fixtures/rules/{name} has no rule"));
        }
    }
    Ok(())
}

fn run(case: &Case) -> Result<(), String> {
    match &case.run {
        Run::Fixture {
            rule,
            expect,
            snapshot,
            args,
        } => run_fixture(rule, *expect, snapshot, args),
        Run::FixtureDirectoriesBelongToRules => fixture_directories_belong_to_rules(),
    }
}

/// The part of libtest's command line this harness honours.
#[derive(Default)]
struct Args {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    ignored: bool,
    threads: Option<usize>,
}

fn parse_args() -> Args {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--exact" => args.exact = true,
            "--list" => args.list = true,
            "--ignored" => args.ignored = true,
            "--skip" => args.skip.extend(it.next()),
            "--test-threads" => args.threads = it.next().and_then(|n| n.parse().ok()),
            "--format" | "--color" | "-Z" | "--logfile" | "--report-time" => {
                it.next();
            }
            other if other.starts_with("--test-threads=") => {
                args.threads = other["--test-threads=".len()..].parse().ok();
            }
            other if other.starts_with("--skip=") => args.skip.push(other[7..].into()),
            other if other.starts_with('-') => {}
            filter => args.filters.push(filter.to_string()),
        }
    }
    args
}

fn selected(args: &Args, name: &str) -> bool {
    let matches = |f: &String| {
        if args.exact {
            name == f
        } else {
            name.contains(f.as_str())
        }
    };
    (args.filters.is_empty() || args.filters.iter().any(matches))
        && !args.skip.iter().any(|s| name.contains(s.as_str()))
}

fn main() -> std::process::ExitCode {
    let args = parse_args();
    let all = cases();
    let total = all.len();
    // No case is #[ignore]d: a run of ignored tests runs nothing.
    let chosen: Vec<Case> = all
        .into_iter()
        .filter(|c| !args.ignored && selected(&args, &c.name))
        .collect();
    if args.list {
        for case in &chosen {
            println!("{}: test", case.name);
        }
        return std::process::ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", chosen.len());
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(case) = chosen.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let result = run(case);
                    println!(
                        "test {} ... {}",
                        case.name,
                        if result.is_ok() { "ok" } else { "FAILED" }
                    );
                    if let Err(why) = result {
                        failures.lock().unwrap().push((case.name.clone(), why));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, why) in &failures {
            println!("---- {name} ----\n{why}\n");
        }
        println!("failures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        if failures.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failures.len(),
        failures.len(),
        total - chosen.len()
    );
    if failures.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(101)
    }
}
