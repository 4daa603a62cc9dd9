//! `mqttforge plan SPEC --out DIR` (or `--root DIR --host NODE`): what apply
//! would create, change and delete, with unified diffs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::diag::Code;
use crate::diag::{self, Style};
use crate::fs::owner::Ownership;
use crate::plan::{self, Action, Destination, HostOptions, Plan};
use crate::render::{self, OutputTree, RenderOptions, SecretMode};
use crate::spec;

/// Where plan and apply look: an output directory, or a host's root.
#[derive(clap::Args, Debug, Clone)]
pub struct Where {
    /// The output directory apply writes the whole tree to.
    #[arg(long, required_unless_present = "root", conflicts_with_all = ["root", "host", "pki"])]
    pub out: Option<PathBuf>,
    /// Host install mode: the root the host's files go under, at their
    /// install paths (`/` on the host itself, a staging directory in tests).
    #[arg(long, requires = "host", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The node (or `lb`, `prometheus`) whose files are installed.
    #[arg(long, requires = "root", value_name = "NODE")]
    pub host: Option<String>,
    /// Host install mode: the PKI directory the node's certificate and key
    /// come from (default: the spec's `pki.dir`, else `pki`).
    #[arg(long, requires = "root", value_name = "DIR")]
    pub pki: Option<PathBuf>,
}

/// The destination of a plan or an apply, resolved.
pub enum Target {
    /// `--out DIR`.
    Tree { out: PathBuf },
    /// `--root DIR --host NODE`.
    Host { root: PathBuf, host: String },
}

impl Where {
    pub fn target(&self) -> Target {
        match (&self.out, &self.root, &self.host) {
            (Some(out), _, _) => Target::Tree { out: out.clone() },
            (None, Some(root), Some(host)) => Target::Host {
                root: root.clone(),
                host: host.clone(),
            },
            // clap requires --out, or --root with --host.
            _ => Target::Tree {
                out: PathBuf::from("."),
            },
        }
    }
}

/// Show what `apply` would change in an output directory (or on a host).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 success (no changes, or changes without --detailed-exitcode),\n\
2 changes (with --detailed-exitcode), 1 error.\n\n\
Running as root, owners and groups are compared too (root:<broker group> for what the broker\n\
reads after dropping root, root:root for the rest).\n\n\
Examples:\n  mqttforge plan site.yaml --out rendered/\n  mqttforge plan site.yaml --out rendered/ --no-secrets --detailed-exitcode   # CI: fail on drift\n  mqttforge plan site.yaml --out rendered/ --format json\n  mqttforge plan site.yaml --root / --host edge1   # on the broker host itself"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    #[command(flatten)]
    pub at: Where,
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
pub fn load_spec(spec_path: &Path) -> Result<spec::Site, u8> {
    spec::load(spec_path).map_err(|d| {
        print!("{}", diag::render_text(&d, stdout_style()));
        exit::FAILED
    })
}

/// The PKI directory relative to the output directory (`pki.dir`, else
/// `pki`; validation keeps it inside), unless secrets are left alone or
/// the site has no PKI.
pub fn pki_rel(site: &spec::Site, no_secrets: bool) -> Option<String> {
    let pki = site.spec.pki.as_ref()?;
    (!no_secrets).then(|| pki.dir.clone().unwrap_or_else(|| "pki".into()))
}

/// The site's PKI directory inside the output directory.
pub fn pki_dir(site: &spec::Site, out: &Path, no_secrets: bool) -> Option<PathBuf> {
    pki_rel(site, no_secrets).map(|rel| out.join(rel))
}

/// Host mode's PKI directory: `--pki`, else the spec's `pki.dir`, else
/// `pki` (relative to the current directory, as `mqttforge pki` reads it).
pub fn host_pki_dir(site: &spec::Site, at: &Where, no_secrets: bool) -> Option<PathBuf> {
    let rel = pki_rel(site, no_secrets)?;
    Some(at.pki.clone().unwrap_or_else(|| PathBuf::from(rel)))
}

/// Renders a site for plan and apply; prints diagnostics on failure.
/// `previous`: the secret files an earlier apply wrote (a password whose
/// secret did not change keeps its hash and salt, so plans stay clean).
pub fn render_site(
    site: &spec::Site,
    spec_path: &Path,
    no_secrets: bool,
    pki: Option<PathBuf>,
    previous: BTreeMap<String, Vec<u8>>,
) -> Result<OutputTree, u8> {
    let mode = if no_secrets {
        SecretMode::Skip
    } else {
        SecretMode::Resolve
    };
    let mut opts = RenderOptions::production(spec_path.display().to_string(), mode);
    opts.pki_dir = pki;
    opts.previous_secrets = previous;
    render::render(site, &opts).map_err(|d| {
        print!("{}", diag::render_text(&d, stdout_style()));
        exit::FAILED
    })
}

/// Host options for the CLI.
pub fn host_options(site: &spec::Site, adopt: bool, no_secrets: bool) -> HostOptions {
    HostOptions {
        adopt,
        keep_secrets: no_secrets,
        ..HostOptions::for_site(site)
    }
}

/// The PKI directory a host plan reads, when it holds the node's
/// certificate (apply issues missing material first; plan does not).
fn host_plan_pki(site: &spec::Site, pki: Option<PathBuf>, host: &str) -> Option<PathBuf> {
    let dir = pki?;
    let is_node = site.spec.nodes.iter().any(|n| n.name.as_str() == host);
    let store = crate::pki::Store::new(&dir);
    let issued = crate::pki::Target::named(crate::pki::Role::Server, host)
        .is_some_and(|t| store.exists(&t.cert_file()).unwrap_or(false));
    (!is_node || issued).then_some(dir)
}

/// The no-change plan without a render: with `--no-secrets` into an output
/// directory, when the stamp the last apply left matches this
/// spec, this binary and every file's `stat` data ([`plan::stamp`]).
fn unchanged_by_stamp(args: &Args) -> bool {
    let (Target::Tree { out }, true) = (args.at.target(), args.no_secrets) else {
        return false;
    };
    let Ok(file) = crate::formats::yaml::read_spec(&args.spec) else {
        return false;
    };
    let name = args.spec.display().to_string();
    let Some(fingerprint) = plan::stamp::fingerprint(&name, &file.text, Ownership::detect()) else {
        return false;
    };
    let dest = Destination::tree(&out);
    match crate::fs::root::Root::open(&dest.dir) {
        Ok(Some(root)) => plan::stamp::unchanged(&root, &dest.manifest, &fingerprint),
        _ => false,
    }
}

pub fn run(args: Args) -> u8 {
    if unchanged_by_stamp(&args) {
        let plan = Plan::default();
        match args.format {
            Format::Json => {
                let mut json = plan_json(&plan);
                json["checked"] = json!("stamp");
                println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
            }
            Format::Text => println!("{}", plan.summary()),
        }
        return exit::OK;
    }
    let site = match load_spec(&args.spec) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (plan, pki) = match args.at.target() {
        Target::Tree { out } => {
            let pki = pki_dir(&site, &out, args.no_secrets);
            let previous = render::secrets::read_previous(&out);
            let tree = match render_site(&site, &args.spec, args.no_secrets, pki.clone(), previous)
            {
                Ok(t) => t,
                Err(code) => return code,
            };
            let dest = Destination::tree(&out);
            (
                plan::plan(&tree, &dest, args.no_secrets, Ownership::detect()),
                pki,
            )
        }
        Target::Host { root, host } => {
            let pki = host_pki_dir(&site, &args.at, args.no_secrets);
            let usable = host_plan_pki(&site, pki.clone(), &host);
            let previous = render::secrets::read_previous_installed(&site, &root);
            let tree = match render_site(&site, &args.spec, args.no_secrets, pki.clone(), previous)
            {
                Ok(t) => t,
                Err(code) => return code,
            };
            let opts = host_options(&site, false, args.no_secrets);
            let planned = plan::plan_host(&tree, usable.as_deref(), &host, &root, &opts);
            (planned, pki.filter(|_| usable.is_none()))
        }
    };
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            super::report(
                Code::Plan,
                e,
                "nothing was changed; `mqttforge plan --help` explains --adopt for files mqttforge did not write",
            );
            return exit::FAILED;
        }
    };
    match args.format {
        Format::Json => {
            let mut json = plan_json(&plan);
            json["checked"] = json!("render");
            println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
        }
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
            "change": plan.to_change(),
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
        let owner = match (&c.old_owner, &c.new_owner) {
            (Some(old), Some(new)) => format!("owner {old} -> {new}"),
            _ => String::new(),
        };
        let and_owner = if owner.is_empty() {
            String::new()
        } else {
            format!(", {owner}")
        };
        let drift = if c.drifted {
            ", edited by hand since the last apply"
        } else {
            ""
        };
        let line = match c.action {
            Action::Create => paint(style, "32", &format!("  + {} (create, mode {})", c.path, mode(c.new_mode))),
            Action::Update => paint(style, "33", &format!("  ~ {} (update{drift}{and_owner})", c.path)),
            Action::Mode => paint(style, "33", &format!("  ~ {} (mode {} -> {}{and_owner})", c.path, mode(c.old_mode), mode(c.new_mode))),
            Action::Owner => paint(style, "33", &format!("  ~ {} ({owner})", c.path)),
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
