//! `mqttforge plan SPEC --out DIR`: what apply would create, change and
//! delete, with unified diffs.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::diag::{self, Style};
use crate::plan::{self, Action, Plan};
use crate::render::{self, OutputTree, RenderOptions, SecretMode};
use crate::spec;

/// Show what `apply` would change in an output directory.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 success (no changes, or changes without --detailed-exitcode),\n\
2 changes (with --detailed-exitcode), 1 error.\n\n\
Examples:\n  mqttforge plan site.yaml --out rendered/\n  mqttforge plan site.yaml --out rendered/ --no-secrets --detailed-exitcode   # CI: fail on drift\n  mqttforge plan site.yaml --out rendered/ --format json"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// The output directory apply writes to.
    #[arg(long)]
    pub out: PathBuf,
    /// Exit 2 when there are changes (as terraform plan does).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Leave files that need secrets alone (for CI, where secrets are absent).
    #[arg(long)]
    pub no_secrets: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Loads a spec for plan and apply; prints diagnostics on failure.
pub fn load_spec(spec_path: &std::path::Path) -> Result<spec::Site, u8> {
    spec::load(spec_path).map_err(|d| {
        print!("{}", diag::render_text(&d, stdout_style()));
        exit::FAILED
    })
}

/// The site's PKI directory inside the output directory (`pki.dir`, else
/// `pki`), unless secrets are left alone or the site has no PKI.
pub fn pki_dir(
    site: &spec::Site,
    out: &std::path::Path,
    no_secrets: bool,
) -> Option<std::path::PathBuf> {
    let pki = site.spec.pki.as_ref()?;
    (!no_secrets).then(|| out.join(pki.dir.as_deref().unwrap_or("pki")))
}

/// Renders a site for plan and apply; prints diagnostics on failure.
pub fn render_site(
    site: &spec::Site,
    spec_path: &std::path::Path,
    out: &std::path::Path,
    no_secrets: bool,
    pki: Option<std::path::PathBuf>,
) -> Result<OutputTree, u8> {
    let mode = if no_secrets {
        SecretMode::Skip
    } else {
        SecretMode::Resolve
    };
    let mut opts = RenderOptions::production(spec_path.display().to_string(), mode);
    opts.pki_dir = pki;
    // A password whose secret did not change keeps its hash and salt.
    opts.previous_secrets = render::secrets::read_previous(out);
    render::render(site, &opts).map_err(|d| {
        print!("{}", diag::render_text(&d, stdout_style()));
        exit::FAILED
    })
}

pub fn run(args: Args) -> u8 {
    let site = match load_spec(&args.spec) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let pki = pki_dir(&site, &args.out, args.no_secrets);
    let tree = match render_site(&site, &args.spec, &args.out, args.no_secrets, pki.clone()) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let plan = match plan::plan(&tree, &args.out, args.no_secrets) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan_json(&plan)).expect("JSON")
        ),
        Format::Text => {
            let mut out = std::io::stdout().lock();
            let _ = write_plan(&mut out, &plan, stdout_style());
            if let Some(dir) = &pki {
                let _ = writeln!(out, "{}", pki_note(dir));
            }
        }
    }
    if args.detailed_exitcode && !plan.is_empty() {
        2
    } else {
        exit::OK
    }
}

/// What apply will do with the PKI (it never regenerates an existing key).
pub fn pki_note(dir: &std::path::Path) -> String {
    if dir.join("ca.pem").exists() {
        format!(
            "PKI: {} is checked; missing certificates are issued, existing keys are kept.",
            dir.display()
        )
    } else {
        format!(
            "PKI: {} has no CA yet; apply creates the CA and every certificate and key.",
            dir.display()
        )
    }
}

pub fn plan_json(plan: &Plan) -> serde_json::Value {
    json!({
        "summary": {
            "add": plan.count(Action::Create),
            "change": plan.count(Action::Update) + plan.count(Action::Mode),
            "destroy": plan.count(Action::Delete),
            "conflicts": plan.count(Action::Conflict),
        },
        "changes": plan.changes,
    })
}

fn paint(style: Style, code: &str, s: &str) -> String {
    match style {
        Style::Color => format!("\x1b[{code}m{s}\x1b[0m"),
        Style::Plain => s.to_string(),
    }
}

/// The human form of a plan: one line per file, unified diffs for changed
/// public files, "(sensitive)" for secrets, and the summary line.
pub fn write_plan(out: &mut dyn Write, plan: &Plan, style: Style) -> std::io::Result<()> {
    if plan.is_empty() {
        return writeln!(out, "{}", plan.summary());
    }
    writeln!(out, "mqttforge will perform the following actions:\n")?;
    for c in &plan.changes {
        let mode = |m: Option<u32>| m.map(|m| format!("{m:04o}")).unwrap_or_default();
        let drift = if c.drifted {
            ", edited by hand since the last apply"
        } else {
            ""
        };
        let line = match c.action {
            Action::Create => paint(style, "32", &format!("  + {} (create, mode {})", c.path, mode(c.new_mode))),
            Action::Update => paint(style, "33", &format!("  ~ {} (update{drift})", c.path)),
            Action::Mode => paint(style, "33", &format!("  ~ {} (mode {} -> {})", c.path, mode(c.old_mode), mode(c.new_mode))),
            Action::Delete => paint(style, "31", &format!("  - {} (delete)", c.path)),
            Action::Conflict => paint(
                style,
                "1;31",
                &format!("  ! {} exists but mqttforge does not manage it: apply refuses to overwrite it (--adopt takes it over)", c.path),
            ),
        };
        writeln!(out, "{line}")?;
        if c.sensitive {
            if matches!(c.action, Action::Update | Action::Conflict) {
                writeln!(out, "      (sensitive, changed)")?;
            }
            continue;
        }
        if matches!(c.action, Action::Update | Action::Conflict) {
            let old = String::from_utf8_lossy(c.old.as_deref().unwrap_or_default());
            let new = String::from_utf8_lossy(c.new.as_deref().unwrap_or_default());
            let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
            let text = diff
                .unified_diff()
                .context_radius(2)
                .header(&format!("a/{}", c.path), &format!("b/{}", c.path))
                .to_string();
            for l in text.lines() {
                let colored = match l.chars().next() {
                    Some('+') if !l.starts_with("+++") => paint(style, "32", l),
                    Some('-') if !l.starts_with("---") => paint(style, "31", l),
                    Some('@') => paint(style, "36", l),
                    _ => l.to_string(),
                };
                writeln!(out, "      {colored}")?;
            }
        }
    }
    writeln!(out, "\n{}", plan.summary())
}
