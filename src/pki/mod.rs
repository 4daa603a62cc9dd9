//! The site's PKI: a root CA, a server certificate per broker node, a device
//! certificate per device (fleets expanded), signing of devices' own CSRs,
//! expiry status, renewal and revocation (CRL). Built on rcgen (ring backend)
//! and x509-parser.
//!
//! # The PKI directory
//!
//! `mqttforge pki` works on the spec's `pki.dir` (default `pki`, relative to
//! the current directory; `--dir` overrides it). `apply` calls [`ensure`] on
//! the directory inside its output tree.
//!
//! | path | what | mode |
//! |---|---|---|
//! | `ca.pem` | the root CA certificate | 0644 |
//! | `ca.key` | the CA private key | 0600 |
//! | `servers/<node>.pem` | a broker node's certificate | 0644 |
//! | `servers/<node>.key` | its private key, read by the broker through its group (`apply` sets the owner and group) | 0640 |
//! | `devices/<id>.pem` | a device's certificate | 0644 |
//! | `devices/<id>.key` | its private key, when generated here | 0600 |
//! | `devices/<id>.csr` | the device's own CSR, when its key lives on the device (`pki sign`) | 0644 |
//! | `crl.pem` | the CRL signed by the CA, once something is revoked | 0644 |
//! | `index.json` | state: every certificate issued to each target (serial, subject, not-after), revocations (serial, time, reason), CRL number | 0644 |
//!
//! Directories are 0755. Keys are unencrypted PKCS#8 PEM, protected by their
//! modes; nothing here ever prints key material (output names subjects,
//! serials and paths).
//!
//! # Rules
//!
//! - An existing key is never regenerated: a missing certificate is reissued
//!   with the key (or the device's CSR) already in the directory; only
//!   `--new-keys` replaces keys.
//! - The CA is created once (`init` or [`ensure`]); `renew` never touches it.
//! - Profiles (what each certificate holds) live in [`profile`]; no leaf
//!   certificate is valid for more than 365 days, and none outlives the CA.

pub mod crl;
pub mod inspect;
pub mod keys;
pub mod profile;
pub mod store;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, Issuer, KeyPair, PublicKeyData};
use ring::rand::SystemRandom;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::diag::Diagnostic;
use crate::spec::model::KeyAlgorithm;
use crate::spec::Site;
use crate::suggest::did_you_mean;

pub use crl::Reason;
use inspect::{CertInfo, Csr};
pub use profile::Profile;
use store::{read_text, write_file, Durability, Index, IssuedRecord, RevokedRecord};
pub use store::{Role, Store, Target};

/// The CRL's path when the directory has one, for the renderers
/// (Mosquitto `crlfile`).
pub fn crl_path(dir: &Path) -> Option<PathBuf> {
    let p = Store::new(dir).crl_path();
    p.is_file().then_some(p)
}

/// Creates whatever PKI material of the site is missing in `dir`, and only
/// that: the CA if there is none, then every server and device certificate
/// (fleets expanded) that does not exist. A missing certificate is reissued
/// with the key (or CSR) already there; an existing key is never replaced. A
/// server certificate whose key is gone is reissued with a new key (the broker
/// cannot use it without one). The CRL is re-signed when it is missing or due.
/// Existing files are otherwise left byte for byte as they are.
pub fn ensure(site: &Site, dir: &Path) -> Result<EnsureReport, Vec<Diagnostic>> {
    Pki::open(site, dir)?.ensure()
}

/// What [`ensure`] created.
#[derive(Clone, Debug, Default)]
pub struct EnsureReport {
    /// The CA, when it was created.
    pub ca: Option<Issued>,
    /// Server and device certificates issued.
    pub issued: Vec<Issued>,
    /// The CRL, when it was (re)written.
    pub crl: Option<PathBuf>,
}

impl EnsureReport {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.issued.is_empty() && self.crl.is_none()
    }

    /// Every file written, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut out: BTreeSet<PathBuf> = BTreeSet::new();
        for i in self.ca.iter().chain(&self.issued) {
            out.insert(i.cert_path.clone());
            out.extend(i.new_key.clone());
        }
        out.extend(self.crl.clone());
        out.into_iter().collect()
    }
}

/// Where the key of an issued certificate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// Generated now and written beside the certificate.
    Generated,
    /// The key already in the directory.
    Existing,
    /// The device's own CSR (the key stays on the device).
    Csr,
}

/// One certificate issued.
#[derive(Clone, Debug)]
pub struct Issued {
    pub target: Target,
    pub subject: String,
    pub serial: String,
    pub not_after: OffsetDateTime,
    pub cert_path: PathBuf,
    /// The key file, when a key was generated.
    pub new_key: Option<PathBuf>,
    pub key: KeyOrigin,
}

/// A loaded CA: the issuer rcgen signs with, and its certificate.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its subject key identifier (the CRL's authority key identifier).
    key_id: Option<Vec<u8>>,
    pub info: CertInfo,
}

/// What `init` did.
pub enum InitOutcome {
    Created(Issued),
    /// The CA was already there.
    Exists(CertInfo),
}

/// The key a certificate is issued for.
enum KeySource {
    Generate,
    Existing(Box<KeyPair>),
    Csr(Csr),
}

struct Job {
    target: Target,
    key: KeySource,
    /// Where the certificate goes when not to its place in the directory.
    out: Option<PathBuf>,
}

/// The PKI of one site in one directory.
pub struct Pki<'a> {
    site: &'a Site,
    pub profile: Profile,
    pub store: Store,
    index: Index,
    index_dirty: bool,
    rng: SystemRandom,
    now: OffsetDateTime,
}

/// RFC 3339, second precision.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn now_utc() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

impl<'a> Pki<'a> {
    /// Opens the PKI of `site` in `dir` (which need not exist yet).
    pub fn open(site: &'a Site, dir: &Path) -> Result<Pki<'a>, Vec<Diagnostic>> {
        let profile = Profile::from_site(site)?;
        let store = Store::new(dir);
        let index = Index::load(&store.index_path()).map_err(|d| vec![d])?;
        Ok(Pki {
            site,
            profile,
            store,
            index,
            index_dirty: false,
            rng: SystemRandom::new(),
            now: now_utc(),
        })
    }

    /// Acts as if the time were `now`: certificates are issued from then and
    /// status counts days from then (tests, expiry drills).
    pub fn at(mut self, now: OffsetDateTime) -> Pki<'a> {
        self.now = now.replace_nanosecond(0).unwrap_or(now);
        self
    }

    pub fn site(&self) -> &'a Site {
        self.site
    }

    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    fn display(p: &Path) -> String {
        p.display().to_string()
    }

    // ------------------------------------------------------------------ CA

    /// Creates the CA unless there is one: a new key (or the `ca.key` already
    /// there) and a self-signed certificate.
    pub fn init(&mut self) -> Result<InitOutcome, Vec<Diagnostic>> {
        self.store.create_dirs().map_err(|d| vec![d])?;
        if self.store.cert_path(&Target::ca()).exists() {
            let ca = self.load_ca().map_err(|d| vec![d])?;
            return Ok(InitOutcome::Exists(ca.info));
        }
        let t = Target::ca();
        let key_path = self.store.key_path(&t);
        let (key, origin) = match read_text(&key_path).map_err(|d| vec![d])? {
            Some(pem) => (
                keys::load(&Self::display(&key_path), &pem).map_err(|d| vec![d])?,
                KeyOrigin::Existing,
            ),
            None => {
                self.refuse_new_ca_over_old_certificates()
                    .map_err(|d| vec![d])?;
                (
                    self.generate_key().map_err(|d| vec![d])?,
                    KeyOrigin::Generated,
                )
            }
        };
        let serial = keys::random_serial(&self.rng).map_err(|d| vec![d])?;
        let params = self.profile.ca_params(serial, self.now);
        let cert = params.self_signed(&key).map_err(|e| {
            vec![
                Diagnostic::error("pki", format!("cannot sign the CA certificate: {e}"))
                    .with_help("the CA key must be ECDSA P-256/P-384 or RSA (PKCS#8)"),
            ]
        })?;
        if origin == KeyOrigin::Generated {
            write_file(
                &key_path,
                key.serialize_pem().as_bytes(),
                store::MODE_SECRET,
                Durability::Sync,
            )
            .map_err(|d| vec![d])?;
        }
        let cert_path = self.store.cert_path(&t);
        write_file(
            &cert_path,
            cert.pem().as_bytes(),
            store::MODE_PUBLIC,
            Durability::Sync,
        )
        .map_err(|d| vec![d])?;
        let info = inspect::cert_from_der(&Self::display(&cert_path), cert.der().to_vec())
            .map_err(|d| vec![d])?;
        let issued = Issued {
            target: t.clone(),
            subject: info.subject.clone(),
            serial: info.serial.clone(),
            not_after: info.not_after,
            cert_path,
            new_key: (origin == KeyOrigin::Generated).then_some(key_path),
            key: origin,
        };
        self.record(&issued);
        self.save_index().map_err(|d| vec![d])?;
        Ok(InitOutcome::Created(issued))
    }

    /// A new CA key in a directory that still holds certificates of the old
    /// CA would fork the PKI silently (every device refused once the brokers
    /// get the new CA): refuse, and say how to recover.
    fn refuse_new_ca_over_old_certificates(&self) -> Result<(), Diagnostic> {
        let servers = self.store.list(Role::Server)?.len();
        let devices = self.store.list(Role::Device)?.len();
        if servers + devices == 0 {
            return Ok(());
        }
        Err(Diagnostic::error(
            "pki",
            format!(
                "the CA of {} is gone (no {} and no {}) but {servers} server and {devices} device certificates it issued remain; refusing to create a new CA over them",
                self.store.root().display(),
                store::CA_CERT,
                store::CA_KEY
            ),
        )
        .with_help("restore ca.pem and ca.key from a backup; to start a new PKI on purpose, move the directory aside first (every certificate must then be reissued)"))
    }

    /// Loads the CA certificate and key, checking that they belong together.
    pub fn load_ca(&self) -> Result<Ca, Diagnostic> {
        let t = Target::ca();
        let cert_path = self.store.cert_path(&t);
        let key_path = self.store.key_path(&t);
        let cert_name = Self::display(&cert_path);
        let Some(cert_pem) = read_text(&cert_path)? else {
            return Err(Diagnostic::error(
                "pki",
                format!(
                    "there is no CA in {} ({cert_name} does not exist)",
                    self.store.root().display()
                ),
            )
            .with_help("create it with `mqttforge pki init SPEC` (or let `apply` create it)"));
        };
        let info = inspect::parse_cert(&cert_name, &cert_pem)?;
        let Some(key_pem) = read_text(&key_path)? else {
            return Err(Diagnostic::error(
                "pki",
                format!(
                    "the CA key {} is missing: nothing can be signed",
                    key_path.display()
                ),
            )
            .with_help(format!(
                "restore it from a backup; without it the CA in {cert_name} cannot issue or revoke (a new CA means every certificate must be reissued)"
            )));
        };
        let key = keys::load(&Self::display(&key_path), &key_pem)?;
        if key.der_bytes() != info.public_key.as_slice() {
            return Err(Diagnostic::error(
                "pki",
                format!(
                    "the CA key {} does not belong to the CA certificate {cert_name}",
                    key_path.display()
                ),
            )
            .with_help("restore the matching pair from a backup"));
        }
        let key_id = ca_key_id(&info.der);
        let issuer = Issuer::from_ca_cert_der(&info.der.clone().into(), key).map_err(|e| {
            Diagnostic::error(
                "pki",
                format!("{cert_name} cannot be used as an issuer: {e}"),
            )
            .with_help("restore the CA certificate from a backup")
        })?;
        Ok(Ca {
            issuer,
            key_id,
            info,
        })
    }

    fn generate_key(&self) -> Result<KeyPair, Diagnostic> {
        keys::generate(self.profile.key).map_err(|keys::KeyGenError(why)| {
            Diagnostic::error("pki", format!("key generation failed: {why}"))
                .with_help("check the system random number generator")
        })
    }

    // -------------------------------------------------------------- issuing

    /// Issues a certificate for each job (in parallel), writes the files,
    /// records the serials.
    fn run_jobs(&mut self, ca: &Ca, jobs: Vec<Job>) -> Result<Vec<Issued>, Vec<Diagnostic>> {
        self.store.create_dirs().map_err(|d| vec![d])?;
        let this = &*self;
        let results = parallel_map(jobs, |job| this.run_job(ca, job));
        let mut issued = Vec::new();
        let mut diags = Vec::new();
        for r in results {
            match r {
                Ok(i) => issued.push(i),
                Err(d) => diags.push(d),
            }
        }
        for i in &issued {
            self.record(i);
        }
        // Record what was written even when some jobs failed.
        let saved = self.save_index();
        if let Err(d) = saved {
            diags.push(d);
        }
        if diags.is_empty() {
            Ok(issued)
        } else {
            Err(diags)
        }
    }

    fn run_job(&self, ca: &Ca, job: Job) -> Result<Issued, Diagnostic> {
        let t = &job.target;
        let serial = keys::random_serial(&self.rng)?;
        let mut params = self.leaf_params(t, &job.key, serial)?;
        // A certificate never outlives its CA.
        if params.not_after > ca.info.not_after {
            params.not_after = ca.info.not_after;
        }
        let sign_error = |e: rcgen::Error| {
            Diagnostic::error(
                "pki",
                format!("cannot sign the certificate of {}: {e}", t.key()),
            )
            .with_help("check the key in the PKI directory")
        };
        let (cert, new_key, origin) = match &job.key {
            KeySource::Generate => {
                let key = self.generate_key()?;
                let cert = params.signed_by(&key, &ca.issuer).map_err(sign_error)?;
                (cert, Some(key), KeyOrigin::Generated)
            }
            KeySource::Existing(key) => (
                params
                    .signed_by(key.as_ref(), &ca.issuer)
                    .map_err(sign_error)?,
                None,
                KeyOrigin::Existing,
            ),
            KeySource::Csr(csr) => (
                params
                    .signed_by(&csr.public_key, &ca.issuer)
                    .map_err(sign_error)?,
                None,
                KeyOrigin::Csr,
            ),
        };
        let key_path = self.store.key_path(t);
        let cert_path = job.out.clone().unwrap_or_else(|| self.store.cert_path(t));
        if let Some(key) = &new_key {
            write_file(
                &key_path,
                key.serialize_pem().as_bytes(),
                t.key_mode(),
                Durability::Lazy,
            )?;
            if t.role == Role::Device {
                // The device no longer uses the key of its old CSR.
                store::remove_file(&self.store.csr_path(t))?;
            }
        }
        write_file(
            &cert_path,
            cert.pem().as_bytes(),
            store::MODE_PUBLIC,
            Durability::Lazy,
        )?;
        let info = inspect::cert_from_der(&Self::display(&cert_path), cert.der().to_vec())?;
        Ok(Issued {
            target: t.clone(),
            subject: info.subject,
            serial: info.serial,
            not_after: info.not_after,
            cert_path,
            new_key: new_key.map(|_| key_path),
            key: origin,
        })
    }

    fn leaf_params(
        &self,
        t: &Target,
        key: &KeySource,
        serial: rcgen::SerialNumber,
    ) -> Result<CertificateParams, Diagnostic> {
        match t.role {
            Role::Server => {
                let node = self
                    .site
                    .spec
                    .nodes
                    .iter()
                    .find(|n| n.name.as_str() == t.name)
                    .ok_or_else(|| {
                        Diagnostic::error("pki", format!("`{}` is not a node of the site", t.name))
                    })?;
                let rsa = match key {
                    KeySource::Generate => self.profile.key == KeyAlgorithm::Rsa3072,
                    KeySource::Existing(k) => keys::is_rsa(k),
                    KeySource::Csr(c) => [
                        &rcgen::PKCS_RSA_SHA256,
                        &rcgen::PKCS_RSA_SHA384,
                        &rcgen::PKCS_RSA_SHA512,
                    ]
                    .contains(&c.public_key.algorithm()),
                };
                self.profile
                    .server_params(self.site, node, rsa, serial, self.now)
            }
            Role::Device => Ok(self.profile.device_params(&t.name, serial, self.now)),
            Role::Ca => Err(Diagnostic::error(
                "pki",
                "the CA is created by `init`, not issued as a leaf",
            )),
        }
    }

    fn record(&mut self, i: &Issued) {
        let rec = IssuedRecord {
            serial: i.serial.clone(),
            subject: i.subject.clone(),
            not_after: rfc3339(i.not_after),
        };
        let history = self.index.issued.entry(i.target.key()).or_default();
        if history.last() != Some(&rec) {
            history.push(rec);
            self.index_dirty = true;
        }
    }

    fn save_index(&mut self) -> Result<(), Diagnostic> {
        if !self.index_dirty {
            return Ok(());
        }
        self.store.create_dirs()?;
        write_file(
            &self.store.index_path(),
            self.index.to_json().as_bytes(),
            store::MODE_PUBLIC,
            Durability::Sync,
        )?;
        self.index_dirty = false;
        Ok(())
    }

    /// The key to reissue `t` with: with `new_keys` a new one; otherwise the
    /// key (or device CSR) that belongs to the current certificate; without a
    /// certificate, the CSR, else the key file, else a new key.
    fn key_for(
        &self,
        t: &Target,
        current: Option<&CertInfo>,
        new_keys: bool,
    ) -> Result<KeySource, Diagnostic> {
        if new_keys {
            return Ok(KeySource::Generate);
        }
        let key_path = self.store.key_path(t);
        let csr_path = self.store.csr_path(t);
        let load_key = || -> Result<Option<KeyPair>, Diagnostic> {
            read_text(&key_path)?
                .map(|pem| keys::load(&Self::display(&key_path), &pem))
                .transpose()
        };
        let load_csr = || -> Result<Option<Csr>, Diagnostic> {
            if t.role != Role::Device {
                return Ok(None);
            }
            read_text(&csr_path)?
                .map(|pem| inspect::parse_csr(&Self::display(&csr_path), &pem))
                .transpose()
        };
        match current {
            None => {
                if let Some(csr) = load_csr()? {
                    return Ok(KeySource::Csr(csr));
                }
                Ok(match load_key()? {
                    Some(k) => KeySource::Existing(Box::new(k)),
                    None => KeySource::Generate,
                })
            }
            Some(info) => {
                if let Some(k) = load_key()? {
                    if k.der_bytes() == info.public_key.as_slice() {
                        return Ok(KeySource::Existing(Box::new(k)));
                    }
                }
                if let Some(csr) = load_csr()? {
                    if csr.public_key_bits() == info.public_key.as_slice() {
                        return Ok(KeySource::Csr(csr));
                    }
                }
                Err(Diagnostic::error(
                    "pki",
                    format!(
                        "no key in {} belongs to the certificate {} (`{}`)",
                        self.store.root().display(),
                        self.store.cert_path(t).display(),
                        info.subject
                    ),
                )
                .with_help(if t.role == Role::Device {
                    "its key may live on the device: sign a new CSR from it (`mqttforge pki sign SPEC --csr FILE`), or pass --new-keys to generate a key here"
                } else {
                    "pass --new-keys to generate a new key"
                }))
            }
        }
    }

    fn current_cert(&self, t: &Target) -> Result<Option<CertInfo>, Diagnostic> {
        let path = self.store.cert_path(t);
        read_text(&path)?
            .map(|pem| inspect::parse_cert(&Self::display(&path), &pem))
            .transpose()
    }

    /// Every device id of the spec, in spec order.
    fn device_ids(&self) -> Vec<String> {
        self.site.devices().map(|d| d.id).collect()
    }

    fn node_names(&self) -> Vec<String> {
        self.site
            .spec
            .nodes
            .iter()
            .map(|n| n.name.0.clone())
            .collect()
    }

    /// Checks `names` against the spec's nodes or devices; empty means all.
    fn select(&self, role: Role, names: &[String]) -> Result<Vec<String>, Vec<Diagnostic>> {
        let all = match role {
            Role::Server => self.node_names(),
            Role::Device => self.device_ids(),
            Role::Ca => vec!["ca".into()],
        };
        if names.is_empty() {
            return Ok(all);
        }
        let known: HashSet<&str> = all.iter().map(String::as_str).collect();
        let mut diags = Vec::new();
        let mut out = Vec::new();
        for n in names {
            if known.contains(n.as_str()) {
                if !out.contains(n) {
                    out.push(n.clone());
                }
                continue;
            }
            let what = if role == Role::Server {
                "node"
            } else {
                "device"
            };
            let mut d = Diagnostic::error(
                "pki",
                format!("`{n}` is not a {what} of site `{}`", self.site.name()),
            );
            d = match did_you_mean(n, all.iter().map(String::as_str)) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!(
                    "the {what}s are listed under `{}` in the spec",
                    if role == Role::Server {
                        "nodes"
                    } else {
                        "devices"
                    }
                )),
            };
            diags.push(d);
        }
        if diags.is_empty() {
            Ok(out)
        } else {
            Err(diags)
        }
    }

    /// (Re)issues the certificates of the given nodes or devices (all when
    /// `names` is empty), with their current keys unless `new_keys`.
    pub fn issue(
        &mut self,
        role: Role,
        names: &[String],
        new_keys: bool,
    ) -> Result<Vec<Issued>, Vec<Diagnostic>> {
        let names = self.select(role, names)?;
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let mut jobs = Vec::new();
        let mut diags = Vec::new();
        for name in names {
            let target = Target { role, name };
            let planned = self
                .current_cert(&target)
                .and_then(|cur| self.key_for(&target, cur.as_ref(), new_keys));
            match planned {
                Ok(key) => jobs.push(Job {
                    target,
                    key,
                    out: None,
                }),
                Err(d) => diags.push(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        self.run_jobs(&ca, jobs)
    }

    /// Signs a device's own CSR with the device profile. The CSR's common
    /// name must be a device of the spec; its requested extensions are
    /// ignored. The certificate goes to `out` (default `devices/<cn>.pem`)
    /// and the CSR is kept as `devices/<cn>.csr` for renewals.
    pub fn sign_csr(
        &mut self,
        csr_name: &str,
        csr_pem: &str,
        out: Option<&Path>,
    ) -> Result<Issued, Vec<Diagnostic>> {
        let csr = inspect::parse_csr(csr_name, csr_pem).map_err(|d| vec![d])?;
        let Some(cn) = csr.common_name.clone() else {
            return Err(vec![Diagnostic::error(
                "pki",
                format!("{csr_name}: the request has no common name (CN)"),
            )
            .with_help("the CN must be the device id (client id = certificate CN = topic segment): `openssl req -new -key device.key -subj /CN=<device id>`")]);
        };
        let ids = self.device_ids();
        if !ids.contains(&cn) {
            let mut d = Diagnostic::error(
                "pki",
                format!(
                    "{csr_name}: the request's common name `{cn}` is not a device of site `{}`; refusing to sign it",
                    self.site.name()
                ),
            );
            d = match did_you_mean(&cn, ids.iter().map(String::as_str)) {
                Some(s) => d.with_help(format!(
                    "did you mean `{s}`? The CN must be exactly the device id"
                )),
                None => d.with_help(
                    "add the device to `devices:` in the spec first, or fix the CN of the request",
                ),
            };
            return Err(vec![d]);
        }
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let target = Target::device(&cn);
        self.store.create_dirs().map_err(|d| vec![d])?;
        let issued = self
            .run_job(
                &ca,
                Job {
                    target: target.clone(),
                    key: KeySource::Csr(csr.clone()),
                    out: out.map(Path::to_path_buf),
                },
            )
            .map_err(|d| vec![d])?;
        write_file(
            &self.store.csr_path(&target),
            csr.pem.as_bytes(),
            store::MODE_PUBLIC,
            Durability::Lazy,
        )
        .map_err(|d| vec![d])?;
        self.record(&issued);
        self.save_index().map_err(|d| vec![d])?;
        Ok(issued)
    }

    // ------------------------------------------------------------- ensure

    /// See [`ensure`].
    pub fn ensure(mut self) -> Result<EnsureReport, Vec<Diagnostic>> {
        let mut report = EnsureReport::default();
        self.store.create_dirs().map_err(|d| vec![d])?;
        if !self.store.cert_path(&Target::ca()).exists() {
            if let InitOutcome::Created(i) = self.init()? {
                report.ca = Some(i);
            }
        }
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let mut jobs = Vec::new();
        let mut diags = Vec::new();
        for node in self.node_names() {
            let t = Target::server(node);
            let cert = self.store.cert_path(&t).exists();
            let key = self.store.key_path(&t).exists();
            let planned = match (cert, key) {
                (true, true) => continue,
                // The broker cannot use a certificate without its key.
                (true, false) => Ok(KeySource::Generate),
                (false, _) => self.key_for(&t, None, false),
            };
            match planned {
                Ok(key) => jobs.push(Job {
                    target: t,
                    key,
                    out: None,
                }),
                Err(d) => diags.push(d),
            }
        }
        for id in self.device_ids() {
            let t = Target::device(id);
            if self.store.cert_path(&t).exists() {
                continue;
            }
            match self.key_for(&t, None, false) {
                Ok(key) => jobs.push(Job {
                    target: t,
                    key,
                    out: None,
                }),
                Err(d) => diags.push(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        report.issued = self.run_jobs(&ca, jobs)?;
        if self.crl_due().map_err(|d| vec![d])? {
            report.crl = Some(self.write_crl(&ca).map_err(|d| vec![d])?);
        }
        self.save_index().map_err(|d| vec![d])?;
        Ok(report)
    }

    // -------------------------------------------------------------- renew

    /// Reissues the server and device certificates of the spec that expire
    /// within `within` (expired ones included), with their current keys
    /// unless `new_keys`. The CA is kept; revoked certificates are skipped.
    pub fn renew(
        &mut self,
        within: Duration,
        new_keys: bool,
    ) -> Result<RenewReport, Vec<Diagnostic>> {
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let mut report = RenewReport {
            ca_expires_within: (ca.info.not_after - self.now <= within)
                .then_some(ca.info.not_after),
            ..RenewReport::default()
        };
        let mut jobs = Vec::new();
        let mut diags = Vec::new();
        let targets = self
            .node_names()
            .into_iter()
            .map(Target::server)
            .chain(self.device_ids().into_iter().map(Target::device));
        for t in targets {
            let cur = match self.current_cert(&t) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            if cur.not_after - self.now > within {
                continue;
            }
            if self.index.is_revoked(&cur.serial).is_some() {
                report.skipped.push(Skipped {
                    target: t,
                    reason: format!(
                        "serial {} is revoked; issue it explicitly (`mqttforge pki issue`) if it is trusted again",
                        cur.serial
                    ),
                    problem: false,
                });
                continue;
            }
            let has_key = self.store.key_path(&t).exists();
            if new_keys && t.role == Role::Device && !has_key && self.store.csr_path(&t).exists() {
                report.skipped.push(Skipped {
                    target: t,
                    reason: "its key lives on the device: sign a new CSR from it with `mqttforge pki sign`".into(),
                    problem: true,
                });
                continue;
            }
            match self.key_for(&t, Some(&cur), new_keys) {
                Ok(key) => jobs.push(Job {
                    target: t,
                    key,
                    out: None,
                }),
                Err(d) => report.skipped.push(Skipped {
                    target: t,
                    reason: d.message.clone(),
                    problem: true,
                }),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        report.renewed = self.run_jobs(&ca, jobs)?;
        Ok(report)
    }

    // ------------------------------------------------------------- revoke

    /// Revokes every unexpired certificate issued to `t` (the current one in
    /// the directory, and earlier ones the state file lists) and writes the
    /// CRL. The target need not be in the spec any more (a decommissioned
    /// device).
    pub fn revoke(&mut self, t: &Target, reason: Reason) -> Result<Revoked, Vec<Diagnostic>> {
        let current = self.current_cert(t).map_err(|d| vec![d])?;
        // (serial, subject) of every certificate of the target still valid.
        let mut candidates: Vec<(String, String)> = Vec::new();
        for r in self.index.issued.get(&t.key()).into_iter().flatten() {
            let expired = OffsetDateTime::parse(&r.not_after, &Rfc3339)
                .map(|n| n <= self.now)
                .unwrap_or(false);
            if !expired {
                candidates.push((r.serial.clone(), r.subject.clone()));
            }
        }
        if let Some(c) = &current {
            candidates.push((c.serial.clone(), c.subject.clone()));
        }
        candidates.sort();
        candidates.dedup_by(|a, b| a.0 == b.0);
        if candidates.is_empty() {
            return Err(vec![self.nothing_to_revoke(t).map_err(|d| vec![d])?]);
        }
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let subject = current
            .map(|c| c.subject)
            .unwrap_or_else(|| candidates[0].1.clone());
        let fresh: Vec<(String, String)> = candidates
            .iter()
            .filter(|(serial, _)| self.index.is_revoked(serial).is_none())
            .cloned()
            .collect();
        if fresh.is_empty() {
            let earlier = self
                .index
                .is_revoked(&candidates[0].0)
                .map(|r| r.reason.clone())
                .unwrap_or_default();
            return Ok(Revoked {
                target: t.clone(),
                subject,
                serials: candidates.into_iter().map(|c| c.0).collect(),
                already: true,
                reason: earlier,
                crl: self.store.crl_path(),
            });
        }
        for (serial, subj) in &fresh {
            self.index.revoked.push(RevokedRecord {
                serial: serial.clone(),
                target: t.key(),
                subject: subj.clone(),
                revoked_at: rfc3339(self.now),
                reason: reason.as_str().into(),
            });
        }
        self.index_dirty = true;
        let crl = self.write_crl(&ca).map_err(|d| vec![d])?;
        Ok(Revoked {
            target: t.clone(),
            subject,
            serials: fresh.into_iter().map(|c| c.0).collect(),
            already: false,
            reason: reason.as_str().into(),
            crl,
        })
    }

    /// The error for a revocation of a target without any certificate.
    fn nothing_to_revoke(&self, t: &Target) -> Result<Diagnostic, Diagnostic> {
        let (role, what) = match t.role {
            Role::Server => (Role::Server, "node"),
            _ => (Role::Device, "device"),
        };
        let mut names = self.store.list(role)?;
        names.extend(if role == Role::Server {
            self.node_names()
        } else {
            self.device_ids()
        });
        let d = Diagnostic::error(
            "pki",
            format!(
                "there is no certificate to revoke for {what} `{}` ({} does not exist and the state file lists none)",
                t.name,
                self.store.cert_path(t).display()
            ),
        );
        Ok(match did_you_mean(&t.name, names.iter().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if role == Role::Device => d.with_help(
                "name a device id with a certificate in the PKI directory (`--server` for a broker node)",
            ),
            None => d.with_help("name a broker node with a certificate in the PKI directory"),
        })
    }

    /// Re-signs the CRL from the state file (nothing revoked: no CRL).
    pub fn refresh_crl(&mut self) -> Result<Option<PathBuf>, Vec<Diagnostic>> {
        if self.index.revoked.is_empty() {
            return Ok(None);
        }
        let ca = self.load_ca().map_err(|d| vec![d])?;
        self.write_crl(&ca).map(Some).map_err(|d| vec![d])
    }

    /// Whether the CRL must be (re)written: something is revoked and the CRL
    /// is missing, lists other serials, or is due within [`crl::CRL_REFRESH`].
    fn crl_due(&self) -> Result<bool, Diagnostic> {
        if self.index.revoked.is_empty() {
            return Ok(false);
        }
        let path = self.store.crl_path();
        let Some(text) = read_text(&path)? else {
            return Ok(true);
        };
        let info = inspect::parse_crl(&Self::display(&path), &text)?;
        let listed: BTreeSet<&str> = info.serials.iter().map(String::as_str).collect();
        let revoked: BTreeSet<&str> = self
            .index
            .revoked
            .iter()
            .map(|r| r.serial.as_str())
            .collect();
        Ok(listed != revoked
            || info
                .next_update
                .is_none_or(|n| n - self.now <= crl::CRL_REFRESH))
    }

    fn write_crl(&mut self, ca: &Ca) -> Result<PathBuf, Diagnostic> {
        self.index.crl_number += 1;
        self.index_dirty = true;
        let index_name = Self::display(&self.store.index_path());
        let pem = crl::sign(ca, &self.index, &index_name, self.now)?;
        let path = self.store.crl_path();
        write_file(&path, pem.as_bytes(), store::MODE_PUBLIC, Durability::Sync)?;
        self.save_index()?;
        Ok(path)
    }

    // ------------------------------------------------------------- status

    /// Every certificate in the directory and every one the spec needs.
    pub fn status(&self) -> Result<StatusReport, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut certs = Vec::new();
        let mut missing = Vec::new();
        let ca_der = match self.current_cert(&Target::ca()) {
            Ok(c) => c.map(|c| c.der),
            Err(d) => {
                diags.push(d);
                None
            }
        };
        let groups = [
            (Role::Ca, vec!["ca".to_string()]),
            (Role::Server, self.node_names()),
            (Role::Device, self.device_ids()),
        ];
        for (role, wanted) in groups {
            let present = match self.store.list(role) {
                Ok(p) => p,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
            // The spec's order first, then what is only on disk, sorted.
            let mut names: Vec<&str> = wanted.iter().map(String::as_str).collect();
            names.extend(
                present
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !wanted_set.contains(n)),
            );
            for name in names {
                let t = Target {
                    role,
                    name: name.to_string(),
                };
                let path = self.store.cert_path(&t);
                if !path.exists() {
                    missing.push(MissingCert {
                        role,
                        name: name.to_string(),
                        path: Self::display(&path),
                    });
                    continue;
                }
                match self.current_cert(&t) {
                    Ok(Some(info)) => certs.push(self.cert_status(
                        &t,
                        &path,
                        info,
                        wanted_set.contains(name),
                        ca_der.as_deref(),
                    )),
                    Ok(None) => missing.push(MissingCert {
                        role,
                        name: name.to_string(),
                        path: Self::display(&path),
                    }),
                    Err(d) => diags.push(d),
                }
            }
        }
        let crl = match self.crl_status() {
            Ok(c) => c,
            Err(d) => {
                diags.push(d);
                None
            }
        };
        if !diags.is_empty() {
            return Err(diags);
        }
        let count = |s: State| certs.iter().filter(|c| c.state == s).count();
        let summary = Summary {
            certificates: certs.len(),
            ok: count(State::Ok),
            expiring: count(State::Expiring),
            expired: count(State::Expired),
            revoked: count(State::Revoked),
            foreign: count(State::Foreign),
            missing: missing.len(),
        };
        Ok(StatusReport {
            site: self.site.name().to_string(),
            dir: Self::display(self.store.root()),
            now: rfc3339(self.now),
            certificates: certs,
            missing,
            crl,
            summary,
        })
    }

    fn cert_status(
        &self,
        t: &Target,
        path: &Path,
        info: CertInfo,
        in_spec: bool,
        ca_der: Option<&[u8]>,
    ) -> CertStatus {
        let left = info.not_after - self.now;
        let days_left = left.whole_seconds().div_euclid(86_400);
        let revoked = self.index.is_revoked(&info.serial);
        let foreign =
            t.role != Role::Ca && ca_der.is_none_or(|ca| !inspect::issued_by(&info.der, ca));
        let state = if revoked.is_some() {
            State::Revoked
        } else if foreign {
            State::Foreign
        } else if left <= Duration::ZERO {
            State::Expired
        } else if left <= Duration::days(profile::EXPIRY_WARNING_DAYS) {
            State::Expiring
        } else {
            State::Ok
        };
        CertStatus {
            role: t.role,
            name: t.name.clone(),
            path: Self::display(path),
            subject: info.subject,
            serial: info.serial,
            not_before: rfc3339(info.not_before),
            not_after: rfc3339(info.not_after),
            days_left,
            state,
            in_spec,
            revoked: revoked.map(|r| RevocationStatus {
                at: r.revoked_at.clone(),
                reason: r.reason.clone(),
            }),
        }
    }

    fn crl_status(&self) -> Result<Option<CrlStatus>, Diagnostic> {
        let path = self.store.crl_path();
        let Some(text) = read_text(&path)? else {
            return Ok(None);
        };
        let info = inspect::parse_crl(&Self::display(&path), &text)?;
        let state = match info.next_update {
            Some(n) if n <= self.now => CrlState::Expired,
            Some(n) if n - self.now <= crl::CRL_REFRESH => CrlState::Due,
            Some(_) => CrlState::Ok,
            None => CrlState::Due,
        };
        Ok(Some(CrlStatus {
            path: Self::display(&path),
            this_update: rfc3339(info.this_update),
            next_update: info.next_update.map(rfc3339),
            revoked: info.serials.len(),
            state,
        }))
    }
}

/// The subject key identifier of a CA certificate.
fn ca_key_id(der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let id = cert
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    id
}

/// What `renew` did.
#[derive(Debug, Default)]
pub struct RenewReport {
    pub renewed: Vec<Issued>,
    pub skipped: Vec<Skipped>,
    /// When the CA itself expires within the window (renew keeps it).
    pub ca_expires_within: Option<OffsetDateTime>,
}

#[derive(Debug)]
pub struct Skipped {
    pub target: Target,
    pub reason: String,
    /// Whether it needs the operator's attention (not just a revoked certificate).
    pub problem: bool,
}

/// What `revoke` did.
#[derive(Debug)]
pub struct Revoked {
    pub target: Target,
    pub subject: String,
    /// The serials revoked now (or, with `already`, revoked before).
    pub serials: Vec<String>,
    /// It was revoked before; nothing changed.
    pub already: bool,
    pub reason: String,
    pub crl: PathBuf,
}

/// The state of a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// 30 days or less left.
    Expiring,
    Expired,
    Revoked,
    /// Not signed by the directory's CA.
    Foreign,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Revoked => "revoked",
            State::Foreign => "foreign",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusReport {
    pub site: String,
    pub dir: String,
    /// The time days are counted from.
    pub now: String,
    pub certificates: Vec<CertStatus>,
    /// Certificates the spec needs that are not in the directory.
    pub missing: Vec<MissingCert>,
    pub crl: Option<CrlStatus>,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize)]
pub struct CertStatus {
    pub role: Role,
    pub name: String,
    pub path: String,
    pub subject: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until not_after (negative once expired).
    pub days_left: i64,
    pub state: State,
    /// Whether the spec still has this node or device.
    pub in_spec: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevocationStatus>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RevocationStatus {
    pub at: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct MissingCert {
    pub role: Role,
    pub name: String,
    pub path: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CrlState {
    Ok,
    /// Next update within two days: re-sign it (`pki crl`, or `apply`).
    Due,
    /// Past its next update: OpenSSL-based brokers reject every client.
    Expired,
}

#[derive(Clone, Debug, Serialize)]
pub struct CrlStatus {
    pub path: String,
    pub this_update: String,
    pub next_update: Option<String>,
    pub revoked: usize,
    pub state: CrlState,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub certificates: usize,
    pub ok: usize,
    pub expiring: usize,
    pub expired: usize,
    pub revoked: usize,
    pub foreign: usize,
    pub missing: usize,
}

/// Maps `f` over `items` on every core, keeping the order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16);
    if threads <= 1 || items.len() < 32 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut it = items.into_iter();
    loop {
        let chunk: Vec<T> = it.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| s.spawn(move || chunk.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
