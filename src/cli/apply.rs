//! `mqttforge apply SPEC --out DIR` (or `--root DIR --host NODE`): show the
//! plan, confirm, write atomically under the destination's lock.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::plan::{
    host_options, host_pki_dir, load_spec, pki_note, pki_rel, render_site, write_plan, Target,
    Where,
};
use super::{exit, stdout_style};
use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::fs::owner::{self, Ownership, OwnershipFix};
use crate::fs::root::Root;
use crate::pki::{EnsureReport, Pki, Store};
use crate::plan::stamp::{self, StampInputs};
use crate::plan::{self, ApplyOptions, ApplyReport, Destination, Plan};
use crate::render::OutputTree;
use crate::spec::Site;

/// Write the site's files into an output directory (or onto a host), atomically.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 applied (or nothing to do), 1 error or refused.\n\n\
apply never overwrites or deletes a file it does not manage (see .mqttforge/manifest.json,\n\
or var/lib/mqttforge/<site>.manifest.json under --root); --adopt takes such files over on purpose.\n\
One apply at a time: a second waits a few seconds for the lock, then fails naming the holder.\n\
As root, files the broker reads after dropping root become root:<broker group>, the rest\n\
root:root; otherwise apply prints the chown commands to run as root.\n\n\
Examples:\n  mqttforge apply site.yaml --out rendered/\n  mqttforge apply site.yaml --out rendered/ --auto-approve   # CI, scripts\n  mqttforge apply site.yaml --root / --host edge1 --pki /srv/pki   # on the broker host"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    #[command(flatten)]
    pub at: Where,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Take over files in the way that mqttforge does not manage yet.
    #[arg(long)]
    pub adopt: bool,
    /// Leave files that need secrets alone.
    #[arg(long)]
    pub no_secrets: bool,
}

fn failed(e: impl std::fmt::Display) -> u8 {
    super::report(
        Code::Plan,
        e.to_string(),
        "`mqttforge plan` shows what apply would change; `mqttforge apply --help` explains --adopt",
    );
    exit::FAILED
}

fn failed_diags(diags: &[Diagnostic]) -> u8 {
    print!("{}", crate::diag::render_text(diags, stdout_style()));
    exit::FAILED
}

pub fn run(args: Args) -> u8 {
    let site = match load_spec(&args.spec) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match args.at.target() {
        Target::Tree { out } => apply_tree(&args, &site, &out),
        Target::Host { root, host } => apply_host(&args, &site, &root, &host),
    }
}

/// Asks for confirmation on a terminal (unless --auto-approve); `false`
/// when refused or impossible (the reason printed).
fn confirmed(args: &Args, shown: &Path, out: &mut dyn Write) -> bool {
    if args.auto_approve {
        return true;
    }
    if !std::io::stdin().is_terminal() {
        super::report(
            Code::Usage,
            "apply needs confirmation, and stdin is not a terminal",
            "run it on a terminal, or pass --auto-approve (in CI, after reviewing `mqttforge plan`)",
        );
        return false;
    }
    let _ = write!(
        out,
        "\nApply these changes to {}? Only 'yes' is accepted: ",
        shown.display()
    );
    let _ = out.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() != "yes" {
        let _ = writeln!(out, "Apply cancelled.");
        return false;
    }
    true
}

/// Tree mode: the whole site into `out`, its PKI in `out/<pki.dir>`.
fn apply_tree(args: &Args, site: &Site, out: &Path) -> u8 {
    let dest = Destination::tree(out);
    // Held from the plan to the end: a second apply waits, then fails.
    let _lock = match dest.lock() {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    // Before the plan reads anything: what changes after this is checked
    // again before it is stamped.
    let since = std::time::SystemTime::now();
    let pki = pki_rel(site, args.no_secrets).map(|rel| out.join(rel));
    let previous = crate::render::secrets::read_previous(out);
    let mut tree = match render_site(
        site,
        &args.spec,
        args.no_secrets,
        pki.clone(),
        previous.clone(),
    ) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let ownership = Ownership::detect();
    let mut plan = match plan::plan(&tree, &dest, args.no_secrets, ownership) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = write_plan(&mut stdout, &plan, stdout_style());
    if let Some(dir) = &pki {
        let _ = writeln!(stdout, "{}", pki_note(dir));
    }
    let opts = ApplyOptions {
        adopt: args.adopt,
        ownership,
    };
    if plan.conflicts().next().is_some() && !args.adopt {
        // Refuse before touching anything, PKI included; apply() names the files.
        return failed(
            plan::apply(&tree, &dest, &plan, &opts)
                .err()
                .unwrap_or_default(),
        );
    }
    let pki_missing = pki.as_ref().is_some_and(|d| !d.join("ca.pem").exists());
    let anything = !plan.is_empty() || pki_missing;
    if anything && !confirmed(args, out, &mut stdout) {
        return exit::FAILED;
    }
    let mut pending = Vec::new();
    if let Some(rel) = pki_rel(site, args.no_secrets) {
        let report = match tree_pki(site, out, &rel, &mut pending) {
            Ok(r) => r,
            Err(d) => return failed_diags(&d),
        };
        if !report.is_empty() {
            let _ = writeln!(stdout, "{}", pki_summary(&report, &out.join(&rel)));
        }
        // A new CA or CRL changes what renders (firmware CA header, crlfile).
        if pki_missing || report.crl.is_some() {
            tree = match render_site(site, &args.spec, args.no_secrets, pki.clone(), previous) {
                Ok(t) => t,
                Err(code) => return code,
            };
            plan = match plan::plan(&tree, &dest, args.no_secrets, ownership) {
                Ok(p) => p,
                Err(e) => return failed(e),
            };
        }
    }
    // Only a render that the spec alone decides is stamped.
    let stamp = args
        .no_secrets
        .then(|| {
            let name = args.spec.display().to_string();
            stamp::fingerprint(&name, &site.spans.file().text, ownership)
        })
        .flatten()
        .map(|fingerprint| StampInputs { fingerprint, since });
    finish(
        &tree,
        &dest,
        &plan,
        &opts,
        stamp.as_ref(),
        pending,
        &mut stdout,
    )
}

/// The PKI inside the output tree (reached without following links):
/// what is missing is issued, server keys go to the broker's group (root),
/// and keys whose owner apply cannot set are added to `pending`.
fn tree_pki(
    site: &Site,
    out: &Path,
    rel: &str,
    pending: &mut Vec<OwnershipFix>,
) -> Result<EnsureReport, Vec<Diagnostic>> {
    let io = |e: String| vec![Diagnostic::error(Code::Io, e)];
    let out_root = Root::create(out).map_err(io)?;
    let dir = out_root
        .subdir(rel, true)
        .map_err(io)?
        .ok_or_else(|| io(format!("cannot create {rel}")))?;
    let mut pki = Pki::with_store(site, Store::within(dir))?;
    let report = pki.ensure()?;
    pki.hand_server_keys()?;
    pending.extend(pki.pending_key_owners().map_err(|d| vec![d])?);
    Ok(report)
}

fn pki_summary(report: &EnsureReport, dir: &Path) -> String {
    format!(
        "PKI: {}{} certificate{} issued in {}.",
        if report.ca.is_some() {
            "CA created, "
        } else {
            ""
        },
        report.issued.len(),
        if report.issued.len() == 1 { "" } else { "s" },
        dir.display()
    )
}

/// Applies, prints the outcome and the ownership commands left to root.
fn finish(
    tree: &OutputTree,
    dest: &Destination,
    plan: &Plan,
    opts: &ApplyOptions,
    stamp: Option<&StampInputs>,
    mut pending: Vec<OwnershipFix>,
    stdout: &mut dyn Write,
) -> u8 {
    // Even with nothing to change, apply runs: it removes the temporaries a
    // killed apply left behind.
    let report: ApplyReport = match plan::apply_stamped(tree, dest, plan, opts, stamp) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let _ = writeln!(
        stdout,
        "\nApply complete: {} written, {} mode{} changed, {} owner{} changed, {} deleted.",
        report.written.len(),
        report.modes.len(),
        if report.modes.len() == 1 { "" } else { "s" },
        report.owners.len(),
        if report.owners.len() == 1 { "" } else { "s" },
        report.deleted.len()
    );
    pending.extend(report.pending);
    print_ownership(&pending, opts.ownership, stdout);
    exit::OK
}

/// Once, sorted: what an operator must run as root.
fn print_ownership(pending: &[OwnershipFix], ownership: Ownership, out: &mut dyn Write) {
    if pending.is_empty() {
        return;
    }
    let why = match ownership {
        Ownership::Report => "not running as root, owners were left alone",
        Ownership::Manage => "the broker's group does not exist on this machine",
    };
    let _ = writeln!(
        out,
        "\nOwnership: {why}. Where these files are installed, run as root:"
    );
    for cmd in owner::commands(pending) {
        let _ = writeln!(out, "  {cmd}");
    }
}

/// Host mode: the host's files at their install paths under `root`, its
/// PKI material from the PKI directory (missing material issued first).
fn apply_host(args: &Args, site: &Site, root: &Path, host: &str) -> u8 {
    let pki = host_pki_dir(site, &args.at, args.no_secrets);
    let mut stdout = std::io::stdout().lock();
    if let Some(dir) = &pki {
        match Pki::open(site, dir).and_then(|mut p| p.ensure()) {
            Ok(report) if !report.is_empty() => {
                let _ = writeln!(stdout, "{}", pki_summary(&report, dir));
            }
            Ok(_) => {}
            Err(d) => return failed_diags(&d),
        }
    }
    let previous = crate::render::secrets::read_previous_installed(site, root);
    let tree = match render_site(site, &args.spec, args.no_secrets, pki.clone(), previous) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let opts = host_options(site, args.adopt, args.no_secrets);
    let dest = match Destination::host(root, &opts.site) {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let files = match plan::host_tree(&tree, pki.as_deref(), host, &opts) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let _lock = match dest.lock() {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let plan = match plan::plan(&files, &dest, args.no_secrets, opts.ownership) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let _ = write_plan(&mut stdout, &plan, stdout_style());
    let apply_opts = ApplyOptions {
        adopt: args.adopt,
        ownership: opts.ownership,
    };
    if plan.conflicts().next().is_some() && !args.adopt {
        return failed(
            plan::apply(&files, &dest, &plan, &apply_opts)
                .err()
                .unwrap_or_default(),
        );
    }
    if !plan.is_empty() && !confirmed(args, root, &mut stdout) {
        return exit::FAILED;
    }
    finish(
        &files,
        &dest,
        &plan,
        &apply_opts,
        None,
        Vec::new(),
        &mut stdout,
    )
}
