//! `mqttforge pki ...`: the site's CA, server and device certificates, CSR
//! signing, expiry status, renewal and revocation. The work is done by
//! [`crate::pki`]; this file parses arguments and prints subjects, serials and
//! paths (never key material).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use super::{exit, stdout_style, Format};
use crate::diag::Code;
use crate::diag::{self, Diagnostic};
use crate::pki::{
    self, CrlState, InitOutcome, Issued, KeyOrigin, Pki, Reason, Role, State, StatusReport, Target,
};
use crate::spec::{self, units, Site};

/// Manage the site's PKI: root CA, server and device certificates, CSRs, expiry, revocation.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The PKI directory is --dir, else the spec's `pki.dir`, else `pki` \
(relative to the current directory):\n  ca.pem ca.key  servers/<node>.pem .key  devices/<id>.pem .key|.csr  crl.pem  index.json\n\
Keys are 0600 (server keys 0640, for the broker's group); existing keys are never regenerated.\n\n\
Examples:\n  mqttforge pki init site.yaml\n  mqttforge pki issue server site.yaml\n  mqttforge pki issue device site.yaml --id press-01\n  mqttforge pki sign site.yaml --csr press-01.csr\n  mqttforge pki status site.yaml --format json\n  mqttforge pki renew site.yaml --within 30d\n  mqttforge pki revoke site.yaml press-01 --reason keyCompromise"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: PkiCommand,
}

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Create the root CA (an existing CA is kept as it is).
    #[command(
        after_help = "Exit status: 0 created or already there, 1 error.\n\nExample:\n  mqttforge pki init site-examples/edge-mosquitto.yaml --dir /tmp/pki"
    )]
    Init(Common),
    /// Issue server or device certificates (replacing existing ones; keys are kept unless --new-keys).
    Issue(IssueArgs),
    /// Sign a device's own CSR (its key stays on the device) with the device profile.
    #[command(
        after_help = "The CSR's common name must be a device id of the spec; its requested extensions are ignored.\n\
PEM or DER. Accepted keys: ECDSA P-256 or P-384, Ed25519, RSA of 2048 bits or more; signatures\n\
with SHA-256/384/512 (PKCS#1 v1.5 for RSA). When the device had a key generated here, that key\n\
is removed and its certificates revoked (superseded).\n\nExit status: 0 signed, 1 refused or error.\n\nExample:\n  mqttforge pki sign site.yaml --csr press-01.csr --out press-01.pem"
    )]
    Sign(SignArgs),
    /// Every certificate with its subject, expiry, days left and state.
    #[command(
        after_help = "States: ok, expiring (30 days or less), expired, revoked, foreign (not signed by this CA),\nmismatched (the key beside it, or the device's kept CSR, is not its key).\n\nExit status: 0, or 1 when a certificate has expired, is foreign or mismatched, or the CRL is past its next update.\n\nExample:\n  mqttforge pki status site.yaml --format json | jq '.certificates[] | select(.state != \"ok\")'"
    )]
    Status(StatusArgs),
    /// Reissue the certificates that expire within a window (the CA is kept).
    #[command(
        after_help = "Exit status: 0, or 1 when a certificate could not be renewed.\n\nExample:\n  mqttforge pki renew site.yaml --within 30d\n  mqttforge pki renew site.yaml --within 30d --new-keys"
    )]
    Renew(RenewArgs),
    /// Revoke a device's (or with --server a node's) certificate and write the CRL.
    #[command(
        after_help = "The CRL (crl.pem) is valid for 7 days; `mqttforge pki crl` and `apply` re-sign it.\n\nExample:\n  mqttforge pki revoke site.yaml press-01 --reason keyCompromise"
    )]
    Revoke(RevokeArgs),
    /// Re-sign the CRL (it is valid for 7 days; `apply` also re-signs it when due).
    Crl(Common),
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// The PKI directory (default: the spec's `pki.dir`, else `pki`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct IssueArgs {
    #[command(subcommand)]
    pub what: IssueWhat,
}

#[derive(Subcommand, Debug)]
pub enum IssueWhat {
    /// One certificate per broker node (SANs: node names and address, load balancer name, VIP).
    #[command(
        after_help = "Example:\n  mqttforge pki issue server site.yaml\n  mqttforge pki issue server site.yaml --node mqtt1 --new-keys"
    )]
    Server(IssueServer),
    /// One certificate per device, fleets expanded (CN = device id, EKU clientAuth).
    #[command(
        after_help = "Example:\n  mqttforge pki issue device site.yaml\n  mqttforge pki issue device site.yaml --id press-01 --id press-02"
    )]
    Device(IssueDevice),
}

#[derive(clap::Args, Debug)]
pub struct IssueServer {
    #[command(flatten)]
    pub common: Common,
    /// Only this node (repeatable); all nodes when absent.
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
    /// Generate new keys instead of reusing the existing ones.
    #[arg(long)]
    pub new_keys: bool,
}

#[derive(clap::Args, Debug)]
pub struct IssueDevice {
    #[command(flatten)]
    pub common: Common,
    /// Only this device (repeatable); every device when absent.
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Generate new keys instead of reusing the existing ones.
    #[arg(long)]
    pub new_keys: bool,
}

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub common: Common,
    /// The device's CSR (PEM, or DER).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,
    /// Where to write the certificate (default: devices/<cn>.pem in the PKI directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct RenewArgs {
    #[command(flatten)]
    pub common: Common,
    /// Renew what expires within this duration (`30d`, `2w`); expired certificates included.
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub within: time::Duration,
    /// Generate new keys instead of reusing the existing ones.
    #[arg(long)]
    pub new_keys: bool,
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub common: Common,
    /// The device id (or node name with --server) whose current certificate is revoked.
    pub id: String,
    /// The ID is a broker node, not a device.
    #[arg(long)]
    pub server: bool,
    /// Why (RFC 5280 reason code).
    #[arg(long, value_enum, default_value_t = ReasonArg::Unspecified)]
    pub reason: ReasonArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReasonArg {
    #[value(name = "unspecified")]
    Unspecified,
    #[value(name = "keyCompromise")]
    KeyCompromise,
    #[value(name = "cACompromise")]
    CaCompromise,
    #[value(name = "affiliationChanged")]
    AffiliationChanged,
    #[value(name = "superseded")]
    Superseded,
    #[value(name = "cessationOfOperation")]
    CessationOfOperation,
    #[value(name = "certificateHold")]
    CertificateHold,
    #[value(name = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
}

impl From<ReasonArg> for Reason {
    fn from(r: ReasonArg) -> Reason {
        match r {
            ReasonArg::Unspecified => Reason::Unspecified,
            ReasonArg::KeyCompromise => Reason::KeyCompromise,
            ReasonArg::CaCompromise => Reason::CaCompromise,
            ReasonArg::AffiliationChanged => Reason::AffiliationChanged,
            ReasonArg::Superseded => Reason::Superseded,
            ReasonArg::CessationOfOperation => Reason::CessationOfOperation,
            ReasonArg::CertificateHold => Reason::CertificateHold,
            ReasonArg::PrivilegeWithdrawn => Reason::PrivilegeWithdrawn,
        }
    }
}

fn parse_duration(s: &str) -> Result<time::Duration, String> {
    let d = units::Duration::parse(s).ok_or_else(|| {
        format!("`{s}` is not a duration: write a number and a unit, such as `30d`, `2w` or `12h`")
    })?;
    Ok(time::Duration::milliseconds(
        i64::try_from(d.millis()).unwrap_or(i64::MAX),
    ))
}

pub fn run(args: Args) -> u8 {
    match args.command {
        PkiCommand::Init(c) => with_pki(&c, init),
        PkiCommand::Issue(IssueArgs {
            what: IssueWhat::Server(a),
        }) => with_pki(&a.common, |p| issue(p, Role::Server, &a.nodes, a.new_keys)),
        PkiCommand::Issue(IssueArgs {
            what: IssueWhat::Device(a),
        }) => with_pki(&a.common, |p| issue(p, Role::Device, &a.ids, a.new_keys)),
        PkiCommand::Sign(a) => with_pki(&a.common, |p| sign(p, &a)),
        PkiCommand::Status(a) => with_pki(&a.common, |p| status(p, a.format)),
        PkiCommand::Renew(a) => with_pki(&a.common, |p| renew(p, a.within, a.new_keys)),
        PkiCommand::Revoke(a) => with_pki(&a.common, |p| revoke(p, &a)),
        PkiCommand::Crl(c) => with_pki(&c, crl),
    }
}

fn fail(diags: &[Diagnostic]) -> u8 {
    print!("{}", diag::render_text(diags, stdout_style()));
    exit::FAILED
}

/// Loads the spec, opens its PKI directory, runs `f`.
fn with_pki(common: &Common, f: impl FnOnce(&mut Pki<'_>) -> Result<u8, Vec<Diagnostic>>) -> u8 {
    let site: Site = match spec::load(&common.spec) {
        Ok(s) => s,
        Err(d) => return fail(&d),
    };
    let dir = common.dir.clone().unwrap_or_else(|| {
        PathBuf::from(
            site.spec
                .pki
                .as_ref()
                .and_then(|p| p.dir.clone())
                .unwrap_or_else(|| "pki".into()),
        )
    });
    let mut pki = match Pki::open(&site, &dir) {
        Ok(p) => p,
        Err(d) => return fail(&d),
    };
    match f(&mut pki) {
        Ok(code) => code,
        Err(d) => fail(&d),
    }
}

fn init(p: &mut Pki<'_>) -> Result<u8, Vec<Diagnostic>> {
    match p.init()? {
        InitOutcome::Created(i) => print_issued(&[i]),
        InitOutcome::Exists(info) => println!(
            "the CA is already there: \"{}\" serial {}, valid until {} ({}); nothing changed",
            info.subject,
            info.serial,
            pki::rfc3339(info.not_after),
            p.store.cert_path(&Target::ca()).display()
        ),
    }
    Ok(exit::OK)
}

fn issue(
    p: &mut Pki<'_>,
    role: Role,
    names: &[String],
    new_keys: bool,
) -> Result<u8, Vec<Diagnostic>> {
    let count = if !names.is_empty() {
        names.len() as u64
    } else if role == Role::Device {
        p.site().device_count()
    } else {
        0
    };
    if count >= 1000 && std::io::stderr().is_terminal() {
        eprintln!("issuing {count} {} certificates...", role.as_str());
    }
    let issued = p.issue(role, names, new_keys)?;
    if issued.is_empty() {
        println!("nothing to issue: the site has no {}s", role.as_str());
    }
    print_issued(&issued);
    Ok(exit::OK)
}

fn sign(p: &mut Pki<'_>, a: &SignArgs) -> Result<u8, Vec<Diagnostic>> {
    let name = a.csr.display().to_string();
    let bytes = match std::fs::read(&a.csr) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![Diagnostic::error(
                Code::Io,
                format!("cannot read the CSR {name}: {e}"),
            )
            .with_help("pass the PEM file the device produced: --csr FILE")])
        }
    };
    let signed = p.sign_csr(&name, &bytes, a.out.as_deref())?;
    if !signed.superseded.is_empty() {
        println!(
            "revoked the earlier certificate{} of device `{}` for another key (superseded): serial{} {}; its key was removed; CRL written to {}",
            if signed.superseded.len() == 1 { "" } else { "s" },
            signed.issued.target.name,
            if signed.superseded.len() == 1 { "" } else { "s" },
            signed.superseded.join(", "),
            p.store.crl_path().display()
        );
    }
    print_issued(&[signed.issued]);
    Ok(exit::OK)
}

fn status(p: &mut Pki<'_>, format: Format) -> Result<u8, Vec<Diagnostic>> {
    let report = p.status()?;
    match format {
        Format::Json => emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        )),
        Format::Text => print_status(&report),
    }
    let failing: Vec<_> = report
        .certificates
        .iter()
        .filter(|c| matches!(c.state, State::Expired | State::Foreign | State::Mismatched))
        .collect();
    let crl_expired = report
        .crl
        .as_ref()
        .is_some_and(|c| c.state == CrlState::Expired);
    if failing.is_empty() && !crl_expired {
        return Ok(exit::OK);
    }
    // Why the exit status is 1 (on stderr, so JSON on stdout stays clean).
    for c in failing {
        let (what, help) = match c.state {
            State::Mismatched => (
                format!("does not belong to the key beside it ({}): whoever holds the pair cannot use it", c.path),
                "reissue it with `mqttforge pki issue` (or sign the device's CSR again)".to_string(),
            ),
            State::Expired => (
                format!("expired on {} ({}): clients are refused", c.not_after, c.path),
                "renew it with `mqttforge pki renew SPEC`".to_string(),
            ),
            _ => (
                format!("({}) is not signed by the CA of {}: peers will refuse it", c.path, report.dir),
                "reissue it with `mqttforge pki issue`".to_string(),
            ),
        };
        super::report(
            Code::Pki,
            format!("{} `{}` {what}", c.role.as_str(), c.name),
            help,
        );
    }
    if let Some(c) = report.crl.as_ref().filter(|_| crl_expired) {
        super::report(
            Code::Pki,
            format!(
                "the CRL {} is past its next update ({}): brokers that check it refuse every client",
                c.path,
                c.next_update.as_deref().unwrap_or("-")
            ),
            "re-sign it with `mqttforge pki crl SPEC`",
        );
    }
    Ok(exit::FAILED)
}

fn renew(p: &mut Pki<'_>, within: time::Duration, new_keys: bool) -> Result<u8, Vec<Diagnostic>> {
    let report = p.renew(within, new_keys)?;
    if report.renewed.is_empty() {
        println!(
            "nothing to renew: no certificate expires within {} days",
            within.whole_days()
        );
    }
    print_issued(&report.renewed);
    for s in &report.skipped {
        println!(
            "{}: not renewed {}: {}",
            if s.problem { "warning" } else { "note" },
            s.target.key(),
            s.reason
        );
    }
    if let Some(ca) = report.ca_expires_within {
        println!(
            "warning: the CA itself expires on {}; renew keeps it: plan a new CA and reissue every certificate before then",
            pki::rfc3339(ca)
        );
    }
    Ok(if report.skipped.iter().any(|s| s.problem) {
        exit::FAILED
    } else {
        exit::OK
    })
}

fn revoke(p: &mut Pki<'_>, a: &RevokeArgs) -> Result<u8, Vec<Diagnostic>> {
    let role = if a.server { Role::Server } else { Role::Device };
    let target = p.target_named(role, &a.id)?;
    let r = p.revoke(&target, a.reason.into())?;
    let serials = r.serials.join(", ");
    let plural = if r.serials.len() == 1 { "" } else { "s" };
    if r.already {
        println!(
            "{} \"{}\" serial{plural} {serials} already revoked ({}); nothing changed",
            r.target.role.as_str(),
            r.subject,
            r.reason
        );
    } else {
        println!(
            "revoked {} \"{}\" serial{plural} {serials} ({}); CRL written to {}: restart or reload the brokers so they read it",
            r.target.role.as_str(),
            r.subject,
            r.reason,
            r.crl.display()
        );
    }
    Ok(exit::OK)
}

fn crl(p: &mut Pki<'_>) -> Result<u8, Vec<Diagnostic>> {
    match p.refresh_crl()? {
        Some(path) => println!("CRL re-signed: {}", path.display()),
        None => println!("nothing is revoked: no CRL to write"),
    }
    Ok(exit::OK)
}

/// One line per certificate; a summary for large batches.
fn print_issued(list: &[Issued]) {
    const EACH: usize = 20;
    let line = |i: &Issued| {
        let key = match (&i.key, &i.new_key) {
            (KeyOrigin::Generated, Some(k)) => {
                format!("new key {} ({:04o})", k.display(), i.target.key_mode())
            }
            (KeyOrigin::Csr, _) => "key on the device (CSR)".to_string(),
            _ => "existing key".to_string(),
        };
        let what = match i.target.role {
            Role::Ca => "created CA".to_string(),
            r => format!("issued {}", r.as_str()),
        };
        format!(
            "{what} \"{}\" serial {}, valid until {}: {}, {key}",
            i.subject,
            i.serial,
            pki::rfc3339(i.not_after),
            i.cert_path.display()
        )
    };
    if list.len() <= EACH {
        for i in list {
            println!("{}", line(i));
        }
        return;
    }
    let new_keys = list.iter().filter(|i| i.new_key.is_some()).count();
    let first = &list[0];
    let last = &list[list.len() - 1];
    println!(
        "issued {} certificates ({new_keys} with new keys), from {} to {}",
        list.len(),
        first.target.key(),
        last.target.key()
    );
    println!("  first: {}", line(first));
    println!("  last:  {}", line(last));
}

/// Writes to stdout, ignoring a closed pipe (`pki status | head`).
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn print_status(r: &StatusReport) {
    use std::fmt::Write;
    let mut out = String::new();
    let mut rows: Vec<[String; 6]> = vec![[
        "ROLE".into(),
        "NAME".into(),
        "STATE".into(),
        "DAYS".into(),
        "NOT AFTER".into(),
        "SUBJECT".into(),
    ]];
    for c in &r.certificates {
        rows.push([
            c.role.as_str().into(),
            c.name.clone(),
            format!("{}{}", c.state.as_str(), if c.in_spec { "" } else { "*" }),
            c.days_left.to_string(),
            c.not_after.clone(),
            c.subject.clone(),
        ]);
    }
    // A fleet not issued yet would be thousands of identical lines.
    const MISSING_SHOWN: usize = 20;
    for m in r.missing.iter().take(MISSING_SHOWN) {
        rows.push([
            m.role.as_str().into(),
            m.name.clone(),
            "missing".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == row.len() - 1 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if r.missing.len() > MISSING_SHOWN {
        let _ = writeln!(
            out,
            "... and {} more missing (`--format json` lists them all)",
            r.missing.len() - MISSING_SHOWN
        );
    }
    if r.certificates.iter().any(|c| !c.in_spec) {
        out.push_str("* no longer in the spec\n");
    }
    if let Some(c) = &r.crl {
        let _ = writeln!(
            out,
            "crl: {} lists {} revoked, next update {} ({})",
            c.path,
            c.revoked,
            c.next_update.as_deref().unwrap_or("-"),
            match c.state {
                CrlState::Ok => "ok",
                CrlState::Due => "due: re-sign it with `mqttforge pki crl`",
                CrlState::Expired => "EXPIRED",
            }
        );
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} certificate{} in {}: {} ok, {} expiring, {} expired, {} revoked{}; {} missing",
        s.certificates,
        if s.certificates == 1 { "" } else { "s" },
        r.dir,
        s.ok,
        s.expiring,
        s.expired,
        s.revoked,
        [(s.foreign, "foreign"), (s.mismatched, "mismatched")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!(", {n} {what}"))
            .collect::<String>(),
        s.missing
    );
    emit(&out);
}
