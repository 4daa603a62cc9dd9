//! `mqttforge lint SPEC`, `mqttforge audit FILE...` and `mqttforge explain RULE`.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style};
use crate::diag::{self, Diagnostic};
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

/// Production-readiness rules over a spec and everything it renders.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 clean (or only warnings/info), 1 errors (or warnings with --deny warnings), 2 usage.\n\n\
Suppress a rule in the spec with a reason: `lint: { ignore: { MQ-HA-001: \"edge site\" } }`.\n\n\
Examples:\n  mqttforge lint site-examples/emqx-cluster.yaml\n  mqttforge lint site.yaml --deny warnings --format sarif > mqttforge.sarif\n  mqttforge lint site.yaml --select MQ-TLS-001"
)]
pub struct LintArgs {
    /// The site specs (YAML).
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Fail on warnings too.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    /// Run only these rules (repeatable).
    #[arg(long, value_name = "RULE")]
    pub select: Vec<String>,
}

/// The production-readiness rules over hand-written configuration files.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Files given together are one site: cross-file rules (a health check against brokers\n\
that require client certificates) see all of them. Kinds are detected from names and\n\
content; override with --kind FILE=KIND (or --kind KIND for every file).\n\
Suppress inline with a comment: `# mqttforge:ignore MQ-AUTH-003 <reason>`.\n\n\
Examples:\n  mqttforge audit /etc/mosquitto/mosquitto.conf /etc/mosquitto/acl /etc/haproxy/haproxy.cfg\n  mqttforge audit conf/* --format sarif > audit.sarif\n  mqttforge audit broker.cfg --kind broker.cfg=mosquitto-conf"
)]
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
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    #[arg(long, value_name = "RULE")]
    pub select: Vec<String>,
    /// The Mosquitto release the files are for: 2.0 (default, the release
    /// mqttforge targets) or 2.1, whose directives are then known.
    #[arg(long, value_name = "X.Y")]
    pub mosquitto_version: Option<String>,
    /// The EMQX release the files are for: 5.7, 5.8 (default, the release
    /// mqttforge targets), 5.9 or 5.10; keys of that release are then known.
    #[arg(long, value_name = "X.Y")]
    pub emqx_version: Option<String>,
}

/// The releases `audit` accepts, checked against what mqttforge has tables for.
fn releases(args: &AuditArgs) -> Result<crate::facts::Releases, String> {
    use crate::facts::Releases;
    let pick = |flag: &str, text: &Option<String>, known: &[(u32, u32)]| match text {
        None => Ok(None),
        Some(t) => match Releases::parse(t) {
            Some(v) if known.contains(&v) => Ok(Some(v)),
            _ => Err(format!(
                "error: --{flag} `{t}` is not a release mqttforge knows; use one of: {}",
                known
                    .iter()
                    .map(|(a, b)| format!("{a}.{b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    };
    Ok(Releases {
        mosquitto: pick(
            "mosquitto-version",
            &args.mosquitto_version,
            &[(2, 0), (2, 1)],
        )?,
        emqx: pick(
            "emqx-version",
            &args.emqx_version,
            &[(5, 7), (5, 8), (5, 9), (5, 10)],
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

fn selected(diags: Vec<Diagnostic>, select: &[String]) -> Vec<Diagnostic> {
    if select.is_empty() {
        return diags;
    }
    diags
        .into_iter()
        .filter(|d| select.iter().any(|s| s.eq_ignore_ascii_case(&d.code)))
        .collect()
}

fn report(diags: &[Diagnostic], format: LintFormat, deny: Option<Deny>, what: &str) -> u8 {
    match format {
        LintFormat::Text => {
            print!("{}", diag::render_text(diags, stdout_style()));
            let count = |s: diag::Severity| diags.iter().filter(|d| d.severity == s).count();
            println!(
                "{what}: {} error{}, {} warning{}, {} info",
                count(diag::Severity::Error),
                if count(diag::Severity::Error) == 1 {
                    ""
                } else {
                    "s"
                },
                count(diag::Severity::Warning),
                if count(diag::Severity::Warning) == 1 {
                    ""
                } else {
                    "s"
                },
                count(diag::Severity::Info),
            );
        }
        LintFormat::Json => {
            let doc = json!({ "diagnostics": diags.iter().map(diag::to_json).collect::<Vec<_>>() });
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        }
        LintFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&lint::sarif::to_sarif(diags)).expect("JSON")
        ),
    }
    if lint::fails(diags, deny == Some(Deny::Warnings)) {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn unknown_selects(select: &[String]) -> Option<u8> {
    for s in select {
        if rules::find(s).is_none() {
            eprintln!("error: `{s}` is not a rule of mqttforge (see `mqttforge explain --all`)");
            return Some(exit::USAGE);
        }
    }
    None
}

pub fn lint(args: LintArgs) -> u8 {
    if let Some(code) = unknown_selects(&args.select) {
        return code;
    }
    let mut code = exit::OK;
    for spec_path in &args.specs {
        code = code.max(lint_one(spec_path, &args));
    }
    code
}

fn lint_one(spec_path: &std::path::Path, args: &LintArgs) -> u8 {
    let site = match spec::load(spec_path) {
        Ok(s) => s,
        Err(diags) => {
            print!("{}", diag::render_text(&diags, stdout_style()));
            return exit::FAILED;
        }
    };
    let diags = match lint::lint_site(&site, &spec_path.display().to_string()) {
        Ok(d) => selected(d, &args.select),
        Err(diags) => {
            print!("{}", diag::render_text(&diags, stdout_style()));
            return exit::FAILED;
        }
    };
    report(
        &diags,
        args.format,
        args.deny,
        &spec_path.display().to_string(),
    )
}

pub fn audit(args: AuditArgs) -> u8 {
    if let Some(code) = unknown_selects(&args.select) {
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
                    eprintln!("error: unknown kind `{k}`; kinds: {}", names.join(", "));
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
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    let diags = crate::audit::run_for(&files, env, releases);
    let diags = selected(diags, &args.select);
    report(
        &diags,
        args.format,
        args.deny,
        &format!(
            "{} file{}",
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" }
        ),
    )
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
            exit::OK
        }
        None => {
            let ids: Vec<&str> = rules::all().map(|r| r.id).collect();
            let hint = crate::suggest::did_you_mean(&id, ids.iter().copied())
                .map(|s| format!(" Did you mean {s}?"))
                .unwrap_or_default();
            eprintln!("error: `{id}` is not a rule of mqttforge.{hint} `mqttforge explain --all` lists them.");
            exit::FAILED
        }
    }
}
