//! `mqttforge lint SPEC`, `mqttforge audit FILE...` and `mqttforge explain RULE`.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style};
use crate::diag::Code;
use crate::diag::{self, Diagnostic};
use crate::lint::baseline::{self, Baseline};
use crate::lint::{self, rules};
use crate::spec::{self, model::Environment};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    Warnings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    Info,
    Warning,
    Error,
}

impl SeverityArg {
    fn level(self) -> diag::Severity {
        match self {
            SeverityArg::Info => diag::Severity::Info,
            SeverityArg::Warning => diag::Severity::Warning,
            SeverityArg::Error => diag::Severity::Error,
        }
    }
}

/// What `lint` and `audit` report, and how.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Fail on warnings too.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    /// Run only these rules (repeatable).
    #[arg(long, value_name = "RULE")]
    pub select: Vec<String>,
    /// Report only findings at or above LEVEL (info, warning, error).
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = SeverityArg::Info)]
    pub severity: SeverityArg,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the findings --select and --severity leave to FILE as a baseline (JSON).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// What `lint --help` and `audit --help` say about the options they share.
fn reporting_help() -> String {
    let fixed: Vec<&str> = rules::UNSUPPRESSIBLE.iter().map(|u| u.id).collect();
    format!("Exit status: 0 clean (or only warnings/info), 1 errors (or warnings with --deny warnings), 2 usage.\n\
Only the findings reported count: --select and --severity narrow the rules' findings, a baseline\n\
accepts those it lists. What is not a rule's finding (a file that cannot be read or parsed, an\n\
unknown kind, a bad or expired suppression, a bad baseline) is always reported, and counts.\n\n\
Baselines: --write-baseline FILE records the findings --select and --severity leave (JSON, sorted;\n\
each by rule, file and a fingerprint of its line's text, not its line number); --baseline FILE\n\
then reports only findings not in it and says how many it accepted. Run both from the same\n\
directory.\n\n\
Suppressions may expire: after their `until` day they no longer apply and are reported\n\
(warning[suppression]). The day is today in UTC, or {}=YYYY-MM-DD.\n\
These rules cannot be suppressed (spec, inline or baseline): {} (`mqttforge explain` says why).",
        lint::TODAY_VAR,
        fixed.join(", ")
    )
}

/// Production-readiness rules over a spec and everything it renders.
#[derive(clap::Args, Debug)]
#[command(after_help = format!("{}\n\n\
Suppress a rule in the spec with a reason: `lint: {{ ignore: {{ MQ-HA-001: \"edge site\" }} }}`,\n\
or until a day: `lint: {{ ignore: {{ MQ-HA-001: {{ reason: \"edge site\", until: 2027-03-01 }} }} }}`.\n\n\
Examples:\n  mqttforge lint site-examples/emqx-cluster.yaml\n  mqttforge lint site.yaml --deny warnings --format sarif > mqttforge.sarif\n  mqttforge lint site.yaml --select MQ-TLS-001\n  mqttforge lint site.yaml --severity error\n  mqttforge lint site.yaml --write-baseline lint-baseline.json\n  mqttforge lint site.yaml --baseline lint-baseline.json", reporting_help()))]
pub struct LintArgs {
    /// The site specs (YAML).
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The production-readiness rules over hand-written configuration files.
#[derive(clap::Args, Debug)]
#[command(after_help = format!("Files given together are one site: cross-file rules (a health check against brokers\n\
that require client certificates) see all of them. Kinds are detected from names and\n\
content; override with --kind FILE=KIND (or --kind KIND for every file).\n\n\
Releases: files are judged for the release --mosquitto-version / --emqx-version names, else the\n\
one the files say, else the releases mqttforge targets (Mosquitto 2.0, EMQX 5.8). Files say it by:\n  \
- a directory of their path named as an unpacked release, `emqx-5.9.0/`, `mosquitto-2.1.2/`;\n  \
- a directive only Mosquitto 2.1 has (`enable_control_api`, ...): 2.0 refuses to start on it.\n\
Nothing else is read: EMQX's shipped files name no release. The summary line (JSON: `judged_as`;\n\
SARIF: the run's properties) says which release the files were judged as when it is not the\n\
targeted one, and why.\n\n\
{}\n\n\
Suppress inline with a comment on the line or the line above:\n  # mqttforge:ignore MQ-AUTH-003 <reason>\n  # mqttforge:ignore MQ-AUTH-003 until=2027-03-01 <reason>\n\n\
Examples:\n  mqttforge audit /etc/mosquitto/mosquitto.conf /etc/mosquitto/acl /etc/haproxy/haproxy.cfg\n  mqttforge audit conf/* --format sarif > audit.sarif\n  mqttforge audit broker.cfg --kind broker.cfg=mosquitto-conf\n  mqttforge audit conf/* --severity warning\n  mqttforge audit conf/* --write-baseline audit-baseline.json\n  mqttforge audit conf/* --baseline audit-baseline.json", reporting_help()))]
pub struct AuditArgs {
    /// Files to audit.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Force a file's kind: FILE=KIND, or KIND for all files.
    #[arg(long)]
    pub kind: Vec<String>,
    /// The environment the files serve (rules are stricter in production).
    #[arg(long, value_enum, default_value_t = EnvArg::Production)]
    pub environment: EnvArg,
    #[command(flatten)]
    pub report: ReportArgs,
    /// The Mosquitto release the files are for: 2.0 or 2.1, whose directives
    /// are then known. Default: what the files say, else 2.0 (see below).
    #[arg(long, value_name = "X.Y")]
    pub mosquitto_version: Option<String>,
    /// The EMQX release the files are for: 5.7, 5.8, 5.9, 5.10 or 6.0; keys
    /// and acl.conf forms of that release are then known (6.0's keys are
    /// judged as 5.10's). Default: what the files say, else 5.8 (see below).
    #[arg(long, value_name = "X.Y")]
    pub emqx_version: Option<String>,
}

/// The releases `audit` accepts, checked against what mqttforge has tables for.
fn releases(args: &AuditArgs) -> Result<crate::facts::Releases, (String, String)> {
    use crate::facts::Releases;
    let pick = |flag: &str, text: &Option<String>, known: &[(u32, u32)]| match text {
        None => Ok(None),
        Some(t) => match Releases::parse(t) {
            Some(v) if known.contains(&v) => Ok(Some(v)),
            _ => Err((
                format!("--{flag} `{t}` is not a release mqttforge knows"),
                format!(
                    "use one of: {}",
                    known
                        .iter()
                        .map(|(a, b)| format!("{a}.{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    };
    Ok(Releases {
        mosquitto: pick(
            "mosquitto-version",
            &args.mosquitto_version,
            crate::facts::MOSQUITTO_RELEASES,
        )?,
        emqx: pick(
            "emqx-version",
            &args.emqx_version,
            crate::facts::EMQX_RELEASES,
        )?,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvArg {
    Production,
    Staging,
    Development,
}

/// Print a rule's documentation.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mqttforge explain MQ-TLS-003\n  mqttforge explain --all > docs/rules.md"
)]
pub struct ExplainArgs {
    /// The rule ID (MQ-XXX-NNN).
    #[arg(required_unless_present = "all")]
    pub rule: Option<String>,
    /// Every rule, as Markdown.
    #[arg(long)]
    pub all: bool,
}

/// The diagnostics to report: every one that is not a rule's finding, and
/// the findings of the selected rules at or above the severity threshold.
fn filtered(diags: Vec<Diagnostic>, args: &ReportArgs) -> Vec<Diagnostic> {
    let level = args.severity.level();
    let chosen = |d: &Diagnostic| {
        (args.select.is_empty()
            || args
                .select
                .iter()
                .any(|s| s.eq_ignore_ascii_case(d.code.as_str())))
            && d.severity >= level
    };
    diags
        .into_iter()
        .filter(|d| !lint::is_rule_finding(d) || chosen(d))
        .collect()
}

/// One run's reporting state: the baseline read once, the findings
/// gathered for `--write-baseline`, diagnostics about the baseline itself
/// (reported with the first report).
struct Reporter<'a> {
    args: &'a ReportArgs,
    baseline: Option<Baseline>,
    pending: Vec<Diagnostic>,
    to_write: Vec<Diagnostic>,
    /// The releases audited files were judged as when not the targeted
    /// ones, and why (`EMQX 5.9 (--emqx-version)`).
    judged: Vec<String>,
}

impl<'a> Reporter<'a> {
    fn new(args: &'a ReportArgs) -> Reporter<'a> {
        let (baseline, pending) = match &args.baseline {
            None => (None, Vec::new()),
            Some(path) => match baseline::load(path) {
                Ok(b) => {
                    let refused = b.refused().to_vec();
                    (Some(b), refused)
                }
                Err(diags) => (None, diags),
            },
        };
        Reporter {
            args,
            baseline,
            pending,
            to_write: Vec::new(),
            judged: Vec::new(),
        }
    }

    /// Filters, applies the baseline, prints; the exit status.
    fn report(&mut self, diags: Vec<Diagnostic>, what: &str) -> u8 {
        let mut diags = filtered(diags, self.args);
        if self.args.write_baseline.is_some() {
            self.to_write.extend(diags.iter().cloned());
        }
        let mut baselined = None;
        if let Some(b) = &self.baseline {
            let applied = b.apply(diags);
            diags = applied.diags;
            baselined = Some(applied.baselined);
        }
        if !self.pending.is_empty() {
            diags.append(&mut self.pending);
            diag::sort(&mut diags);
        }
        report(&diags, self.args, what, baselined, &self.judged)
    }

    /// Reports what is left about the baseline (no report took it: every
    /// spec failed to load) and writes the baseline if asked; the exit
    /// status of that.
    fn finish(mut self) -> u8 {
        let mut code = exit::OK;
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let name = self.args.baseline.as_ref().map(|p| p.display().to_string());
            code = report(&pending, self.args, &name.unwrap_or_default(), None, &[]);
        }
        let Some(path) = &self.args.write_baseline else {
            return code;
        };
        let (text, left_out) = baseline::write(&self.to_write);
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write the baseline `{}`: {e}", path.display());
            return exit::FAILED;
        }
        let written = self
            .to_write
            .iter()
            .filter(|d| lint::is_rule_finding(d))
            .count()
            - left_out;
        eprintln!(
            "wrote {written} finding{} to the baseline `{}`{}",
            if written == 1 { "" } else { "s" },
            path.display(),
            if left_out > 0 {
                format!(" ({left_out} left out: their rules cannot be suppressed)")
            } else {
                String::new()
            }
        );
        code
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Prints the diagnostics in the chosen format with the run's summary
/// (the baselined count, the releases files were judged as); the exit status.
fn report(
    diags: &[Diagnostic],
    args: &ReportArgs,
    what: &str,
    baselined: Option<usize>,
    judged: &[String],
) -> u8 {
    match args.format {
        LintFormat::Text => {
            print!("{}", diag::render_text(diags, stdout_style()));
            let count = |s: diag::Severity| diags.iter().filter(|d| d.severity == s).count();
            let judged = if judged.is_empty() {
                String::new()
            } else {
                format!(" judged as {}", judged.join(" and "))
            };
            println!(
                "{what}{judged}: {}, {}, {} info{}",
                plural(count(diag::Severity::Error), "error"),
                plural(count(diag::Severity::Warning), "warning"),
                count(diag::Severity::Info),
                baselined
                    .map(|n| format!(" ({} in the baseline, not shown)", plural(n, "finding")))
                    .unwrap_or_default()
            );
        }
        LintFormat::Json => {
            let mut doc =
                json!({ "diagnostics": diags.iter().map(diag::to_json).collect::<Vec<_>>() });
            if let Some(n) = baselined {
                doc["baselined"] = json!(n);
            }
            if !judged.is_empty() {
                doc["judged_as"] = json!(judged);
            }
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        }
        LintFormat::Sarif => {
            let mut doc = lint::sarif::to_sarif(diags);
            if let Some(n) = baselined {
                doc["runs"][0]["properties"]["baselined"] = json!(n);
            }
            if !judged.is_empty() {
                doc["runs"][0]["properties"]["judged_as"] = json!(judged);
            }
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        }
    }
    if lint::fails(diags, args.deny == Some(Deny::Warnings)) {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Usage errors of the reporting options: an unknown rule in --select, a
/// malformed MQTTFORGE_TODAY.
fn usage_error(args: &ReportArgs) -> Option<u8> {
    for s in &args.select {
        if rules::find(s).is_none() {
            let ids: Vec<&str> = rules::all().map(|r| r.id).collect();
            let hint = crate::suggest::did_you_mean(s, ids.iter().copied())
                .map(|s| format!("did you mean {s}? "))
                .unwrap_or_default();
            super::report(
                Code::Usage,
                format!("`{s}` is not a rule of mqttforge"),
                format!("{hint}`mqttforge explain --all` lists the rules"),
            );
            return Some(exit::USAGE);
        }
    }
    if let Err(e) = lint::today() {
        eprintln!("error: {e}");
        return Some(exit::USAGE);
    }
    None
}

pub fn lint(args: LintArgs) -> u8 {
    if let Some(code) = usage_error(&args.report) {
        return code;
    }
    let mut reporter = Reporter::new(&args.report);
    let mut code = exit::OK;
    for spec_path in &args.specs {
        code = code.max(lint_one(spec_path, &mut reporter));
    }
    code.max(reporter.finish())
}

/// Lints one spec. A spec that does not load or render is reported like
/// findings (in the chosen format), and fails the run.
fn lint_one(spec_path: &std::path::Path, reporter: &mut Reporter<'_>) -> u8 {
    let name = spec_path.display().to_string();
    match spec::load(spec_path).and_then(|site| lint::lint_site(&site, &name)) {
        Ok(diags) => reporter.report(diags, &name),
        Err(errors) => reporter.report(errors, &name).max(exit::FAILED),
    }
}

pub fn audit(args: AuditArgs) -> u8 {
    if let Some(code) = usage_error(&args.report) {
        return code;
    }
    let mut files = Vec::new();
    let all_kind = args.kind.iter().find(|k| !k.contains('='));
    for path in &args.files {
        let name = path.display().to_string();
        let forced = args
            .kind
            .iter()
            .find_map(|k| {
                k.split_once('=')
                    .filter(|(f, _)| *f == name)
                    .map(|(_, k)| k)
            })
            .or(all_kind.map(String::as_str));
        let kind = match forced {
            None => None,
            Some(k) => match crate::audit::kind(k) {
                Some(kind) => Some(kind),
                None => {
                    let names: Vec<&str> = crate::audit::KINDS.iter().map(|k| k.name).collect();
                    super::report(
                        Code::Usage,
                        format!("unknown kind `{k}`"),
                        format!("kinds: {}", names.join(", ")),
                    );
                    return exit::USAGE;
                }
            },
        };
        files.push((path.clone(), kind));
    }
    let env = match args.environment {
        EnvArg::Production => Environment::Production,
        EnvArg::Staging => Environment::Staging,
        EnvArg::Development => Environment::Development,
    };
    let releases = match releases(&args) {
        Ok(r) => r,
        Err((message, help)) => {
            super::report(Code::Usage, message, help);
            return exit::USAGE;
        }
    };
    let (diags, judged) = crate::audit::run_judged(&files, env, releases);
    let mut reporter = Reporter::new(&args.report);
    reporter.judged = judged.iter().map(|j| j.describe()).collect();
    let code = reporter.report(diags, &plural(args.files.len(), "file"));
    code.max(reporter.finish())
}

pub fn explain(args: ExplainArgs) -> u8 {
    if args.all {
        print!("{}", lint::rules_markdown());
        return exit::OK;
    }
    let id = args.rule.unwrap_or_default();
    match rules::find(&id) {
        Some(r) => {
            println!("{} ({}, {})\n", r.id, r.name, r.severity.as_str());
            print!("{}", r.doc());
            if let Some(note) = lint::unsuppressible_note(r) {
                println!("\n{note}");
            }
            println!("\nDocs: {}", r.help_uri());
            exit::OK
        }
        None => {
            let ids: Vec<&str> = rules::all().map(|r| r.id).collect();
            let hint = crate::suggest::did_you_mean(&id, ids.iter().copied())
                .map(|s| format!("did you mean {s}? "))
                .unwrap_or_default();
            super::report(
                Code::Usage,
                format!("`{id}` is not a rule of mqttforge"),
                format!("{hint}`mqttforge explain --all` lists them"),
            );
            exit::FAILED
        }
    }
}
