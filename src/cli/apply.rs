//! `mqttforge apply SPEC --out DIR`: show the plan, confirm, write atomically.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use super::plan::{load_spec, pki_dir, pki_note, render_site, write_plan};
use super::{exit, stdout_style};
use crate::plan::{self, ApplyOptions};

/// Write the site's files into an output directory, atomically.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 applied (or nothing to do), 1 error or refused.\n\n\
apply never overwrites or deletes a file it does not manage (see .mqttforge/manifest.json);\n\
--adopt takes such files over on purpose.\n\n\
Examples:\n  mqttforge apply site.yaml --out rendered/\n  mqttforge apply site.yaml --out rendered/ --auto-approve   # CI, scripts"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// The output directory.
    #[arg(long)]
    pub out: PathBuf,
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

pub fn run(args: Args) -> u8 {
    let site = match load_spec(&args.spec) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let pki = pki_dir(&site, &args.out, args.no_secrets);
    let mut tree = match render_site(&site, &args.spec, args.no_secrets, pki.clone()) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut plan = match plan::plan(&tree, &args.out, args.no_secrets) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let style = stdout_style();
    let mut stdout = std::io::stdout().lock();
    let _ = write_plan(&mut stdout, &plan, style);
    if let Some(dir) = &pki {
        let _ = writeln!(stdout, "{}", pki_note(dir));
    }
    let pki_missing = pki.as_ref().is_some_and(|d| !d.join("ca.pem").exists());
    // Even with nothing to change, apply runs: it removes the temporaries a
    // killed apply left behind.
    if plan.conflicts().next().is_some() && !args.adopt {
        // apply() refuses below with the names; say it before asking anything.
    } else if !args.auto_approve && (!plan.is_empty() || pki_missing) {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: apply needs confirmation: run it on a terminal, or pass --auto-approve"
            );
            return exit::FAILED;
        }
        let _ = write!(
            stdout,
            "\nApply these changes to {}? Only 'yes' is accepted: ",
            args.out.display()
        );
        let _ = stdout.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            let _ = writeln!(stdout, "Apply cancelled.");
            return exit::FAILED;
        }
    }
    if !args.adopt && plan.conflicts().next().is_some() {
        // Refuse before touching anything, PKI included; apply() names the files.
        if let Err(e) = plan::apply(&tree, &args.out, &plan, &ApplyOptions { adopt: false }) {
            eprintln!("error: {e}");
        }
        return exit::FAILED;
    }
    if let Some(dir) = &pki {
        match crate::pki::ensure(&site, dir) {
            Ok(report) => {
                if !report.is_empty() {
                    let _ = writeln!(
                        stdout,
                        "PKI: {}{} certificate{} issued in {}.",
                        if report.ca.is_some() {
                            "CA created, "
                        } else {
                            ""
                        },
                        report.issued.len(),
                        if report.issued.len() == 1 { "" } else { "s" },
                        dir.display()
                    );
                }
                if let Err(e) = crate::plan::write::hand_keys_to_broker(dir, site.spec.engine) {
                    eprintln!("error: {e}");
                    return exit::FAILED;
                }
                // A new CA or CRL changes what renders (firmware CA header, crlfile).
                if pki_missing || report.crl.is_some() {
                    tree = match render_site(&site, &args.spec, args.no_secrets, pki.clone()) {
                        Ok(t) => t,
                        Err(code) => return code,
                    };
                    plan = match plan::plan(&tree, &args.out, args.no_secrets) {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return exit::FAILED;
                        }
                    };
                }
            }
            Err(diags) => {
                print!("{}", crate::diag::render_text(&diags, style));
                return exit::FAILED;
            }
        }
    }
    match plan::apply(&tree, &args.out, &plan, &ApplyOptions { adopt: args.adopt }) {
        Ok(report) => {
            let _ = writeln!(
                stdout,
                "\nApply complete: {} written, {} mode{} changed, {} deleted.",
                report.written.len(),
                report.modes.len(),
                if report.modes.len() == 1 { "" } else { "s" },
                report.deleted.len()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}
