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

use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::spec::model::KeyAlgorithm;
use crate::spec::Site;
use crate::suggest::did_you_mean;

use crate::fs::root::{Lock, Owner};
pub use crl::Reason;
use inspect::{CertInfo, Csr};
pub use profile::Profile;
use store::{Durability, Index, IssuedRecord, RevokedRecord};
pub use store::{Role, Store, Target};

/// The CRL's path when the directory has one, for the renderers
/// (Mosquitto `crlfile`).
pub fn crl_path(dir: &Path) -> Option<PathBuf> {
    let store = Store::new(dir);
    store
        .exists(store::CRL)
        .unwrap_or(false)
        .then(|| store.crl_path())
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

/// [`ensure`] on a PKI directory already opened (inside an output tree,
/// reached through its root without following links).
pub fn ensure_in(site: &Site, store: Store) -> Result<EnsureReport, Vec<Diagnostic>> {
    Pki::with_store(site, store)?.ensure()
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

/// What `sign` did.
#[derive(Debug)]
pub struct Signed {
    pub issued: Issued,
    /// Serials of the device's certificates for another key, revoked
    /// (superseded) because the device's own key replaces it.
    pub superseded: Vec<String>,
}

/// Writes a certificate where `pki sign --out FILE` asks (outside the PKI
/// directory): atomically, 0644, never through a link at FILE itself.
fn write_outside(path: &Path, pem: &[u8]) -> Result<(), Diagnostic> {
    let (parent, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(p), Some(n)) if !p.as_os_str().is_empty() => (p, n),
        (_, Some(n)) => (Path::new("."), n),
        _ => {
            return Err(store::fs_error(format!(
                "{} is not a file name",
                path.display()
            )))
        }
    };
    let dir = crate::fs::root::Root::create(parent).map_err(store::fs_error)?;
    dir.write(
        name,
        crate::fs::root::NewFile {
            contents: pem,
            mode: store::MODE_PUBLIC,
            owner: None,
            durability: Durability::Sync,
        },
    )
    .map_err(store::fs_error)
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
    /// Where the certificate goes when not to its place in the directory
    /// (`pki sign --out FILE`).
    out: Option<PathBuf>,
    /// The device's CSR file and its key file may exist (a batch removes
    /// only what may be there).
    had_csr: bool,
    had_key: bool,
}

/// A job done in memory: the files to write and what to record.
struct Made {
    key_pem: Option<String>,
    cert_pem: String,
    out: Option<PathBuf>,
    had_csr: bool,
    had_key: bool,
    issued: Issued,
}

/// The PKI of one site in one directory.
pub struct Pki<'a> {
    site: &'a Site,
    pub profile: Profile,
    pub store: Store,
    index: Index,
    /// The state file as it was when `index` was read (unchanged: no need
    /// to read it again under the lock).
    index_seen: Option<crate::fs::root::FileMeta>,
    index_dirty: bool,
    rng: SystemRandom,
    now: OffsetDateTime,
    /// Held while a command writes (see [`Pki::locked`]).
    lock: Option<Lock>,
    /// The names in `servers/` and `devices/` (`servers/<file>`), listed
    /// once under the lock while a command plans its jobs: a file not
    /// listed is not read (one listing instead of three failed lookups per
    /// device). `None`: every file is looked up.
    listing: Option<HashSet<String>>,
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
        Pki::with_store(site, Store::new(dir))
    }

    /// Opens the PKI of `site` in a store already opened.
    pub fn with_store(site: &'a Site, store: Store) -> Result<Pki<'a>, Vec<Diagnostic>> {
        let profile = Profile::from_site(site)?;
        let index_seen = store.meta(store::INDEX).map_err(|d| vec![d])?;
        let index = Index::load(&store).map_err(|d| vec![d])?;
        Ok(Pki {
            site,
            profile,
            store,
            index,
            index_seen,
            index_dirty: false,
            rng: SystemRandom::new(),
            now: now_utc(),
            lock: None,
            listing: None,
        })
    }

    /// Runs a command that writes under the directory's lock: takes it
    /// (waiting a few seconds for another writer), removes what a killed
    /// writer left, reads the state file again (another writer may have
    /// changed it) and records every certificate on disk it lacks, runs
    /// `op`, releases the lock. Nested calls run under the outer lock.
    fn locked<T>(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<T, Vec<Diagnostic>>,
    ) -> Result<T, Vec<Diagnostic>> {
        if self.lock.is_some() {
            let result = op(self);
            self.listing = None;
            return result;
        }
        self.lock = Some(self.store.lock().map_err(|d| vec![d])?);
        let result = self
            .reload_index()
            .map_err(|d| vec![d])
            .and_then(|()| op(self));
        self.listing = None;
        self.lock = None;
        result
    }

    /// The state file as on disk, with the certificates it lacks recorded.
    fn reload_index(&mut self) -> Result<(), Diagnostic> {
        let seen = self.store.meta(store::INDEX)?;
        let unchanged = match (&seen, &self.index_seen) {
            (Some(now), Some(then)) => {
                (now.inode, now.size, now.modified_ns) == (then.inode, then.size, then.modified_ns)
            }
            (None, None) => true,
            _ => false,
        };
        if !unchanged || self.index_dirty {
            self.index = Index::load(&self.store)?;
            self.index_seen = seen;
        }
        self.index_dirty = false;
        if self.reconcile_index()? > 0 {
            self.save_index()?;
        }
        Ok(())
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
        self.locked(Self::init_locked)
    }

    fn init_locked(&mut self) -> Result<InitOutcome, Vec<Diagnostic>> {
        let t = Target::ca();
        if self.store.exists(&t.cert_file()).map_err(|d| vec![d])? {
            let ca = self.load_ca().map_err(|d| vec![d])?;
            return Ok(InitOutcome::Exists(ca.info));
        }
        let key_path = self.store.key_path(&t);
        let (key, origin) = match self.store.read(&t.key_file()).map_err(|d| vec![d])? {
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
                Diagnostic::error(Code::Pki, format!("cannot sign the CA certificate: {e}"))
                    .with_help("the CA key must be ECDSA P-256/P-384 or RSA (PKCS#8)"),
            ]
        })?;
        if origin == KeyOrigin::Generated {
            self.store
                .write(
                    &t.key_file(),
                    key.serialize_pem().as_bytes(),
                    store::MODE_SECRET,
                    None,
                    Durability::Sync,
                )
                .map_err(|d| vec![d])?;
        }
        let cert_path = self.store.cert_path(&t);
        self.store
            .write(
                &t.cert_file(),
                cert.pem().as_bytes(),
                store::MODE_PUBLIC,
                None,
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
            Code::Pki,
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
        let Some(cert_pem) = self.store.read(&t.cert_file())? else {
            return Err(Diagnostic::error(
                Code::Pki,
                format!(
                    "there is no CA in {} ({cert_name} does not exist)",
                    self.store.root().display()
                ),
            )
            .with_help("create it with `mqttforge pki init SPEC` (or let `apply` create it)"));
        };
        let info = inspect::parse_cert(&cert_name, &cert_pem)?;
        let Some(key_pem) = self.store.read(&t.key_file())? else {
            return Err(Diagnostic::error(
                Code::Pki,
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
                Code::Pki,
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
                Code::Pki,
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
            Diagnostic::error(Code::Pki, format!("key generation failed: {why}"))
                .with_help("check the system random number generator")
        })
    }

    // -------------------------------------------------------------- issuing

    /// Issues a certificate for each job (keys generated and certificates
    /// signed in parallel), writes the files in one batch, records the
    /// serials.
    ///
    /// The batch: every key and certificate goes to a temporary beside its
    /// place (created with its final mode, so a key is never readable by
    /// others), one `syncfs` makes them durable, each is renamed over its
    /// place, and a second `syncfs` makes the renames durable, before the
    /// state file is written (fsynced). A crash at any point leaves each
    /// file as it was or whole and durable, never half written; temporaries
    /// it leaves are removed by the next command under the lock, and a
    /// certificate on disk that the state file does not know yet is
    /// recorded by the next command ([`Pki::reconcile_index`]).
    fn run_jobs(&mut self, ca: &Ca, jobs: Vec<Job>) -> Result<Vec<Issued>, Vec<Diagnostic>> {
        let this = &*self;
        let mut batch = Batch::new(this.store.open_dir().map_err(|d| vec![d])?);
        let mut made = Vec::new();
        let mut diags = Vec::new();
        // Each file is staged as soon as its job is done: writing overlaps
        // the signing of the next ones.
        parallel_each(
            jobs,
            |job| this.make(ca, job),
            |r| match r {
                Ok(m) => {
                    batch.stage(this, &m);
                    made.push(m);
                }
                Err(d) => diags.push(d),
            },
        );
        let (written, result) = batch.commit(this, &made);
        // The batch changed the directory: look files up from now on.
        self.listing = None;
        if let Err(d) = result {
            diags.push(d);
        }
        let issued: Vec<Issued> = made.into_iter().take(written).map(|m| m.issued).collect();
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

    /// After a batch: certificates that go outside the directory, and the
    /// files the new ones replace.
    fn finish_batch(&self, made: &[Made]) -> Result<(), Diagnostic> {
        for m in made {
            let t = &m.issued.target;
            if let Some(out) = &m.out {
                write_outside(out, m.cert_pem.as_bytes())?;
            }
            if m.key_pem.is_some() && t.role == Role::Device && m.had_csr {
                // The device no longer uses the key of its old CSR.
                self.store.remove(&t.csr_file())?;
            }
            if m.issued.key == KeyOrigin::Csr && m.had_key {
                // The device's own key replaces one generated here.
                self.store.remove(&t.key_file())?;
            }
        }
        Ok(())
    }

    /// Issues one certificate and writes its files one by one (`pki sign`).
    fn run_job(&self, ca: &Ca, job: Job) -> Result<Issued, Diagnostic> {
        let m = self.make(ca, job)?;
        let t = &m.issued.target;
        if let Some(key) = &m.key_pem {
            self.store.write(
                &t.key_file(),
                key.as_bytes(),
                t.key_mode(),
                self.key_owner(t),
                Durability::Lazy,
            )?;
            if t.role == Role::Device {
                // The device no longer uses the key of its old CSR.
                self.store.remove(&t.csr_file())?;
            }
        }
        if m.issued.key == KeyOrigin::Csr {
            // The device's own key replaces one generated here.
            self.store.remove(&t.key_file())?;
        }
        match &m.out {
            Some(out) => write_outside(out, m.cert_pem.as_bytes())?,
            None => self.store.write(
                &t.cert_file(),
                m.cert_pem.as_bytes(),
                store::MODE_PUBLIC,
                None,
                Durability::Lazy,
            )?,
        }
        Ok(m.issued)
    }

    /// Generates the key (when asked) and signs the certificate of one job;
    /// writes nothing.
    fn make(&self, ca: &Ca, job: Job) -> Result<Made, Diagnostic> {
        let t = &job.target;
        let serial = keys::random_serial(&self.rng)?;
        let mut params = self.leaf_params(t, &job.key, serial)?;
        // A certificate never outlives its CA.
        if params.not_after > ca.info.not_after {
            params.not_after = ca.info.not_after;
        }
        let sign_error = |e: rcgen::Error| {
            Diagnostic::error(
                Code::Pki,
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
        let info = inspect::cert_from_der(&Self::display(&cert_path), cert.der().to_vec())?;
        Ok(Made {
            key_pem: new_key.as_ref().map(KeyPair::serialize_pem),
            cert_pem: cert.pem(),
            out: job.out,
            had_csr: job.had_csr,
            had_key: job.had_key,
            issued: Issued {
                target: t.clone(),
                subject: info.subject,
                serial: info.serial,
                not_after: info.not_after,
                cert_path,
                new_key: new_key.map(|_| key_path),
                key: origin,
            },
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
                    .find(|n| n.name.as_str() == t.name.as_str())
                    .ok_or_else(|| {
                        Diagnostic::error(
                            Code::Pki,
                            format!("`{}` is not a node of the site", t.name),
                        )
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
            Role::Device => Ok(self
                .profile
                .device_params(t.name.as_str(), serial, self.now)),
            Role::Ca => Err(Diagnostic::error(
                Code::Pki,
                "the CA is created by `init`, not issued as a leaf",
            )),
        }
    }

    /// Records every certificate on disk the state file lacks: a writer
    /// that stopped between writing certificates and the state file (a full
    /// disk, a kill) must not lose their serials. Reads only certificates
    /// written since the state file (by modification time) and those of
    /// targets it has no record of. Returns how many were recorded.
    fn reconcile_index(&mut self) -> Result<usize, Diagnostic> {
        let since = self.store.meta(store::INDEX)?.map(|m| m.modified_ns);
        let mut suspects = Vec::new();
        for (role, sub) in [
            (Role::Ca, ""),
            (Role::Server, store::SERVERS),
            (Role::Device, store::DEVICES),
        ] {
            // A certificate written since the state file changed its
            // directory (renamed into it): skip directories unchanged since.
            let dir_changed = self.store.dir_meta(sub)?.map(|m| m.modified_ns);
            if since.is_some_and(|ix| dir_changed.is_some_and(|d| d < ix)) {
                continue;
            }
            for (file, meta) in self.store.certificates(sub)? {
                let Some(name) = file.strip_suffix(".pem") else {
                    continue;
                };
                let target = match role {
                    Role::Ca if file == store::CA_CERT => Target::ca(),
                    Role::Ca => continue,
                    _ => match Target::named(role, name) {
                        Some(t) => t,
                        None => continue,
                    },
                };
                let recorded = self.index.issued.contains_key(&target.key());
                if !recorded || since.is_none_or(|ix| meta.modified_ns >= ix) {
                    suspects.push(target);
                }
            }
        }
        let mut added = 0;
        for t in suspects {
            // A corrupt certificate is for status to report, not to block writers.
            let Ok(Some(info)) = self.current_cert(&t) else {
                continue;
            };
            let known = self
                .index
                .issued
                .get(&t.key())
                .is_some_and(|h| h.iter().any(|r| r.serial == info.serial));
            if !known {
                self.index
                    .issued
                    .entry(t.key())
                    .or_default()
                    .push(IssuedRecord {
                        serial: info.serial,
                        subject: info.subject,
                        not_after: rfc3339(info.not_after),
                    });
                self.index_dirty = true;
                added += 1;
            }
        }
        Ok(added)
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
        self.store.write(
            store::INDEX,
            self.index.to_json().as_bytes(),
            store::MODE_PUBLIC,
            None,
            Durability::Sync,
        )?;
        self.index_dirty = false;
        self.index_seen = self.store.meta(store::INDEX)?;
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
        let load_key = || self.load_key(t);
        let load_csr = || self.load_csr(t);
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
                    Code::Pki,
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

    /// Whether `rel` may exist: listed, or no listing taken.
    fn may_exist(&self, rel: &str) -> bool {
        self.listing.as_ref().is_none_or(|l| l.contains(rel))
    }

    /// Lists `servers/` and `devices/` for the jobs planned next.
    fn take_listing(&mut self) -> Result<(), Diagnostic> {
        let mut names = HashSet::new();
        for sub in [store::SERVERS, store::DEVICES] {
            names.extend(
                self.store
                    .names(sub)?
                    .into_iter()
                    .map(|n| format!("{sub}/{n}")),
            );
        }
        self.listing = Some(names);
        Ok(())
    }

    fn current_cert(&self, t: &Target) -> Result<Option<CertInfo>, Diagnostic> {
        if !self.may_exist(&t.cert_file()) {
            return Ok(None);
        }
        let path = self.store.cert_path(t);
        self.store
            .read(&t.cert_file())?
            .map(|pem| inspect::parse_cert(&Self::display(&path), &pem))
            .transpose()
    }

    /// The private key file of `t`, when there is one.
    fn load_key(&self, t: &Target) -> Result<Option<KeyPair>, Diagnostic> {
        if !self.may_exist(&t.key_file()) {
            return Ok(None);
        }
        let path = self.store.key_path(t);
        self.store
            .read(&t.key_file())?
            .map(|pem| keys::load(&Self::display(&path), &pem))
            .transpose()
    }

    /// The kept CSR of a device, when there is one.
    fn load_csr(&self, t: &Target) -> Result<Option<Csr>, Diagnostic> {
        if t.role != Role::Device || !self.may_exist(&t.csr_file()) {
            return Ok(None);
        }
        let path = self.store.csr_path(t);
        self.store
            .read(&t.csr_file())?
            .map(|pem| inspect::parse_csr(&Self::display(&path), pem.as_bytes()))
            .transpose()
    }

    /// Who owns a new private key: root and the broker's group for a
    /// server's key when running as root (the broker reads it after
    /// dropping root), else whoever runs the command.
    fn key_owner(&self, t: &Target) -> Option<Owner> {
        if t.role != Role::Server {
            return None;
        }
        crate::fs::owner::Ownership::detect().wanted(Some(self.broker_group()))
    }

    /// The group of the broker's service user (`mosquitto`, `emqx`, ...).
    pub fn broker_group(&self) -> &'static str {
        crate::spec::layout::ENGINE_LAYOUTS
            .iter()
            .find(|l| l.engine == self.site.spec.engine)
            .map(|l| l.user)
            .unwrap_or("mosquitto")
    }

    /// Running as root, hands every server key of the spec's nodes to
    /// root and the broker's group, through the open file (a link in
    /// `servers/` is refused, never followed). Keys written by an earlier
    /// run as another user need it; new keys get their owner when written.
    pub fn hand_server_keys(&mut self) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
        let Some(owner) = crate::fs::owner::Ownership::detect().wanted(Some(self.broker_group()))
        else {
            return Ok(Vec::new());
        };
        self.locked(|p| p.hand_server_keys_to(owner).map_err(|d| vec![d]))
    }

    /// Server keys of the spec's nodes whose owner this run cannot make
    /// root:<broker's group> (not root, or the group does not exist here):
    /// what an operator must run as root.
    pub fn pending_key_owners(&self) -> Result<Vec<crate::fs::owner::OwnershipFix>, Diagnostic> {
        use crate::fs::owner::{installed_owner, Ownership, OwnershipFix};
        let group = self.broker_group();
        if Ownership::detect().wanted(Some(group)).is_some() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for node in self.node_targets()? {
            let Some(meta) = self.store.meta(&node.key_file())? else {
                continue;
            };
            if installed_owner(Some(group)) != Some(meta.owner)
                || meta.mode != store::MODE_BROKER_KEY
            {
                out.push(OwnershipFix {
                    path: self.store.key_path(&node),
                    owner: format!("root:{group}"),
                    mode: store::MODE_BROKER_KEY,
                    mode_differs: meta.mode != store::MODE_BROKER_KEY,
                });
            }
        }
        Ok(out)
    }

    fn hand_server_keys_to(&mut self, owner: Owner) -> Result<Vec<PathBuf>, Diagnostic> {
        let mut handed = Vec::new();
        for node in self.node_targets()? {
            let key = node.key_file();
            match self.store.meta(&key)? {
                Some(m) if m.owner != owner => {
                    self.store.set_owner(&key, owner)?;
                    handed.push(self.store.key_path(&node));
                }
                _ => {}
            }
        }
        Ok(handed)
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

    /// The spec's nodes or devices as targets, in spec order.
    fn targets(&self, role: Role) -> Result<Vec<Target>, Diagnostic> {
        let names = match role {
            Role::Server => self.node_names(),
            Role::Device => self.device_ids(),
            Role::Ca => return Ok(vec![Target::ca()]),
        };
        names
            .iter()
            .map(|n| {
                Target::named(role, n).ok_or_else(|| {
                    Diagnostic::error(Code::Pki, format!("`{n}` cannot be a file name"))
                        .with_help("node names and device ids are identifiers (letters, digits, `.`, `_`, `-`)")
                })
            })
            .collect()
    }

    fn node_targets(&self) -> Result<Vec<Target>, Diagnostic> {
        self.targets(Role::Server)
    }

    /// "`x` is not a device of site `s`", with a did-you-mean over `known`.
    fn not_of_site(&self, role: Role, name: &str, known: &[String]) -> Diagnostic {
        let (what, listed) = match role {
            Role::Server => ("node", "nodes"),
            _ => ("device", "devices"),
        };
        let d = Diagnostic::error(
            Code::Pki,
            format!("`{name}` is not a {what} of site `{}`", self.site.name()),
        );
        match did_you_mean(name, known.iter().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!(
                "the {what}s are listed under `{listed}` in the spec"
            )),
        }
    }

    /// Checks `names` against the spec's nodes or devices; empty means all.
    fn select(&self, role: Role, names: &[String]) -> Result<Vec<Target>, Vec<Diagnostic>> {
        let all = self.targets(role).map_err(|d| vec![d])?;
        if names.is_empty() {
            return Ok(all);
        }
        let known: Vec<String> = all.iter().map(|t| t.name.to_string()).collect();
        let mut diags = Vec::new();
        let mut out: Vec<Target> = Vec::new();
        for n in names {
            match all.iter().find(|t| t.name.as_str() == n.as_str()) {
                Some(t) if !out.contains(t) => out.push(t.clone()),
                Some(_) => {}
                None => diags.push(self.not_of_site(role, n, &known)),
            }
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
        self.locked(|p| p.issue_locked(role, names, new_keys))
    }

    fn issue_locked(
        &mut self,
        role: Role,
        names: &[String],
        new_keys: bool,
    ) -> Result<Vec<Issued>, Vec<Diagnostic>> {
        let targets = self.select(role, names)?;
        let ca = self.load_ca().map_err(|d| vec![d])?;
        self.take_listing().map_err(|d| vec![d])?;
        let mut jobs = Vec::new();
        let mut diags = Vec::new();
        for target in targets {
            let planned = self
                .current_cert(&target)
                .and_then(|cur| self.key_for(&target, cur.as_ref(), new_keys));
            match planned {
                Ok(key) => jobs.push(Job {
                    had_csr: self.may_exist(&target.csr_file()),
                    had_key: self.may_exist(&target.key_file()),
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

    /// Signs a device's own CSR (PEM, or DER) with the device profile. The
    /// CSR's common name must be a device of the spec; its requested
    /// extensions are ignored. The certificate goes to `out` (default
    /// `devices/<cn>.pem`) and the CSR is kept as `devices/<cn>.csr` for
    /// renewals. When the device had another key (one generated here, or an
    /// earlier CSR's), its unexpired certificates are revoked (superseded)
    /// and a generated key is deleted: only the device's own key remains.
    pub fn sign_csr(
        &mut self,
        csr_name: &str,
        csr_bytes: &[u8],
        out: Option<&Path>,
    ) -> Result<Signed, Vec<Diagnostic>> {
        let csr = inspect::parse_csr(csr_name, csr_bytes).map_err(|d| vec![d])?;
        let target = self.csr_target(csr_name, &csr).map_err(|d| vec![d])?;
        self.locked(|p| p.sign_locked(target, csr, out))
    }

    /// The device a CSR is for: its CN, which must be a device of the spec.
    fn csr_target(&self, csr_name: &str, csr: &Csr) -> Result<Target, Diagnostic> {
        let Some(cn) = csr.common_name.clone() else {
            return Err(Diagnostic::error(
                Code::Pki,
                format!("{csr_name}: the request has no common name (CN)"),
            )
            .with_help("the CN must be the device id (client id = certificate CN = topic segment): `openssl req -new -key device.key -subj /CN=<device id>`"));
        };
        let ids = self.device_ids();
        let target = Target::named(Role::Device, &cn).filter(|_| ids.contains(&cn));
        target.ok_or_else(|| {
            let d = Diagnostic::error(
                Code::Pki,
                format!(
                    "{csr_name}: the request's common name `{cn}` is not a device of site `{}`; refusing to sign it",
                    self.site.name()
                ),
            );
            match did_you_mean(&cn, ids.iter().map(String::as_str)) {
                Some(s) => d.with_help(format!(
                    "did you mean `{s}`? The CN must be exactly the device id"
                )),
                None => d.with_help(
                    "add the device to `devices:` in the spec first, or fix the CN of the request",
                ),
            }
        })
    }

    fn sign_locked(
        &mut self,
        target: Target,
        csr: Csr,
        out: Option<&Path>,
    ) -> Result<Signed, Vec<Diagnostic>> {
        let ca = self.load_ca().map_err(|d| vec![d])?;
        let superseded = self
            .supersede(&ca, &target, csr.public_key_bits())
            .map_err(|d| vec![d])?;
        let issued = self
            .run_job(
                &ca,
                Job {
                    target: target.clone(),
                    key: KeySource::Csr(csr.clone()),
                    out: out.map(Path::to_path_buf),
                    had_csr: true,
                    had_key: true,
                },
            )
            .map_err(|d| vec![d])?;
        self.store
            .write(
                &target.csr_file(),
                csr.pem.as_bytes(),
                store::MODE_PUBLIC,
                None,
                Durability::Lazy,
            )
            .map_err(|d| vec![d])?;
        self.record(&issued);
        self.save_index().map_err(|d| vec![d])?;
        Ok(Signed { issued, superseded })
    }

    /// Before a device's own key replaces another: revokes (superseded) the
    /// device's unexpired certificates when the current one is for another
    /// key, and writes the CRL. Returns the serials revoked.
    fn supersede(
        &mut self,
        ca: &Ca,
        t: &Target,
        new_key: &[u8],
    ) -> Result<Vec<String>, Diagnostic> {
        let Some(current) = self.current_cert(t)? else {
            return Ok(Vec::new());
        };
        if current.public_key.as_slice() == new_key {
            return Ok(Vec::new());
        }
        let fresh: Vec<(String, String)> = self
            .unexpired(t, Some(&current))
            .into_iter()
            .filter(|(serial, _)| self.index.is_revoked(serial).is_none())
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        self.add_revocations(t, &fresh, Reason::Superseded);
        self.write_crl(ca)?;
        Ok(fresh.into_iter().map(|(serial, _)| serial).collect())
    }

    // ------------------------------------------------------------- ensure

    /// See [`ensure`].
    pub fn ensure(&mut self) -> Result<EnsureReport, Vec<Diagnostic>> {
        self.locked(Self::ensure_locked)
    }

    fn ensure_locked(&mut self) -> Result<EnsureReport, Vec<Diagnostic>> {
        let mut report = EnsureReport::default();
        let exists = |p: &Self, rel: String| p.store.exists(&rel).map_err(|d| vec![d]);
        if !exists(self, Target::ca().cert_file())? {
            if let InitOutcome::Created(i) = self.init_locked()? {
                report.ca = Some(i);
            }
        }
        let ca = self.load_ca().map_err(|d| vec![d])?;
        self.take_listing().map_err(|d| vec![d])?;
        let mut jobs = Vec::new();
        let mut diags = Vec::new();
        for t in self.node_targets().map_err(|d| vec![d])? {
            let cert = exists(self, t.cert_file())?;
            let key = exists(self, t.key_file())?;
            let planned = match (cert, key) {
                (true, true) => continue,
                // The broker cannot use a certificate without its key.
                (true, false) => Ok(KeySource::Generate),
                (false, _) => self.key_for(&t, None, false),
            };
            match planned {
                Ok(key) => jobs.push(Job {
                    had_csr: self.may_exist(&t.csr_file()),
                    had_key: self.may_exist(&t.key_file()),
                    target: t,
                    key,
                    out: None,
                }),
                Err(d) => diags.push(d),
            }
        }
        // One listing, not a lookup per device (fleets of 10,000).
        let present: HashSet<String> = self
            .store
            .list(Role::Device)
            .map_err(|d| vec![d])?
            .into_iter()
            .collect();
        for t in self.targets(Role::Device).map_err(|d| vec![d])? {
            if present.contains(t.name.as_str()) {
                continue;
            }
            match self.key_for(&t, None, false) {
                Ok(key) => jobs.push(Job {
                    had_csr: self.may_exist(&t.csr_file()),
                    had_key: self.may_exist(&t.key_file()),
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
        self.locked(|p| p.renew_locked(within, new_keys))
    }

    fn renew_locked(
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
        let mut targets = self.node_targets().map_err(|d| vec![d])?;
        targets.extend(self.targets(Role::Device).map_err(|d| vec![d])?);
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
            let has_key = self.store.exists(&t.key_file()).map_err(|d| vec![d])?;
            let has_csr = self.store.exists(&t.csr_file()).map_err(|d| vec![d])?;
            if new_keys && t.role == Role::Device && !has_key && has_csr {
                report.skipped.push(Skipped {
                    target: t,
                    reason: "its key lives on the device: sign a new CSR from it with `mqttforge pki sign`".into(),
                    problem: true,
                });
                continue;
            }
            match self.key_for(&t, Some(&cur), new_keys) {
                Ok(key) => jobs.push(Job {
                    had_csr: self.may_exist(&t.csr_file()),
                    had_key: self.may_exist(&t.key_file()),
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

    /// The target a name on the command line means: one of the spec's
    /// nodes or devices, or one with a certificate in the directory (a
    /// decommissioned device). A name that cannot be a file name (`../ca`)
    /// is never used as a path: it is refused as not of the site.
    pub fn target_named(&self, role: Role, name: &str) -> Result<Target, Vec<Diagnostic>> {
        Target::named(role, name).ok_or_else(|| {
            let mut known = self.store.list(role).unwrap_or_default();
            known.extend(match role {
                Role::Server => self.node_names(),
                _ => self.device_ids(),
            });
            vec![self.not_of_site(role, name, &known)]
        })
    }

    /// (serial, subject) of every certificate of `t` still valid: the
    /// current one and earlier ones the state file lists, sorted by serial.
    fn unexpired(&self, t: &Target, current: Option<&CertInfo>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for r in self.index.issued.get(&t.key()).into_iter().flatten() {
            let expired = OffsetDateTime::parse(&r.not_after, &Rfc3339)
                .map(|n| n <= self.now)
                .unwrap_or(false);
            if !expired {
                out.push((r.serial.clone(), r.subject.clone()));
            }
        }
        if let Some(c) = current {
            out.push((c.serial.clone(), c.subject.clone()));
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    fn add_revocations(&mut self, t: &Target, serials: &[(String, String)], reason: Reason) {
        for (serial, subject) in serials {
            self.index.revoked.push(RevokedRecord {
                serial: serial.clone(),
                target: t.key(),
                subject: subject.clone(),
                revoked_at: rfc3339(self.now),
                reason: reason.as_str().into(),
            });
        }
        self.index_dirty = true;
    }

    /// Revokes every unexpired certificate issued to `t` (the current one in
    /// the directory, and earlier ones the state file lists) and writes the
    /// CRL. The target need not be in the spec any more (a decommissioned
    /// device).
    pub fn revoke(&mut self, t: &Target, reason: Reason) -> Result<Revoked, Vec<Diagnostic>> {
        self.locked(|p| p.revoke_locked(t, reason))
    }

    fn revoke_locked(&mut self, t: &Target, reason: Reason) -> Result<Revoked, Vec<Diagnostic>> {
        let current = self.current_cert(t).map_err(|d| vec![d])?;
        let candidates = self.unexpired(t, current.as_ref());
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
        self.add_revocations(t, &fresh, reason);
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
            Code::Pki,
            format!(
                "there is no certificate to revoke for {what} `{}` ({} does not exist and the state file lists none)",
                t.name,
                self.store.cert_path(t).display()
            ),
        );
        Ok(match did_you_mean(t.name.as_str(), names.iter().map(String::as_str)) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None if role == Role::Device => d.with_help(
                "name a device id with a certificate in the PKI directory (`--server` for a broker node)",
            ),
            None => d.with_help("name a broker node with a certificate in the PKI directory"),
        })
    }

    /// Re-signs the CRL from the state file (nothing revoked: no CRL).
    pub fn refresh_crl(&mut self) -> Result<Option<PathBuf>, Vec<Diagnostic>> {
        self.locked(Self::refresh_crl_locked)
    }

    fn refresh_crl_locked(&mut self) -> Result<Option<PathBuf>, Vec<Diagnostic>> {
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
        let Some(text) = self.store.read(store::CRL)? else {
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
        self.store.write(
            store::CRL,
            pem.as_bytes(),
            store::MODE_PUBLIC,
            None,
            Durability::Sync,
        )?;
        self.save_index()?;
        Ok(path)
    }

    // ------------------------------------------------------------- status

    /// Every certificate in the directory and every one the spec needs;
    /// each with its key (or kept CSR) checked against it.
    pub fn status(&self) -> Result<StatusReport, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let ca_der = match self.current_cert(&Target::ca()) {
            Ok(c) => c.map(|c| c.der),
            Err(d) => {
                diags.push(d);
                None
            }
        };
        let mut entries: Vec<(Target, bool)> = Vec::new();
        for role in [Role::Ca, Role::Server, Role::Device] {
            match self.status_targets(role) {
                Ok(list) => entries.extend(list),
                Err(d) => diags.push(d),
            }
        }
        let checked = parallel_map(entries, |(t, in_spec)| {
            self.status_of(&t, in_spec, ca_der.as_deref())
        });
        let mut certs = Vec::new();
        let mut missing = Vec::new();
        for entry in checked {
            match entry {
                Ok(Ok(c)) => certs.push(c),
                Ok(Err(m)) => missing.push(m),
                Err(d) => diags.push(d),
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
            mismatched: count(State::Mismatched),
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

    /// The targets status reports for a role, with whether the spec has
    /// them: the spec's in its order, then those only on disk, sorted.
    fn status_targets(&self, role: Role) -> Result<Vec<(Target, bool)>, Diagnostic> {
        let wanted = self.targets(role)?;
        let mut out: Vec<(Target, bool)> = wanted.iter().map(|t| (t.clone(), true)).collect();
        let in_spec: HashSet<&str> = wanted.iter().map(|t| t.name.as_str()).collect();
        for name in self.store.list(role)? {
            if !in_spec.contains(name.as_str()) {
                out.extend(Target::named(role, &name).map(|t| (t, false)));
            }
        }
        Ok(out)
    }

    /// One target's status, or what is missing.
    fn status_of(
        &self,
        t: &Target,
        in_spec: bool,
        ca_der: Option<&[u8]>,
    ) -> Result<Result<CertStatus, MissingCert>, Diagnostic> {
        let path = self.store.cert_path(t);
        let Some(info) = self.current_cert(t)? else {
            return Ok(Err(MissingCert {
                role: t.role,
                name: t.name.to_string(),
                path: Self::display(&path),
            }));
        };
        let matches = self.key_matches(t, &info)?;
        Ok(Ok(
            self.cert_status(t, &path, info, in_spec, ca_der, matches)
        ))
    }

    /// Whether the key beside a certificate (or, for a device whose key
    /// lives on the device, its kept CSR) is the certificate's key; `None`
    /// when there is neither.
    fn key_matches(&self, t: &Target, info: &CertInfo) -> Result<Option<bool>, Diagnostic> {
        if let Some(key) = self.load_key(t)? {
            return Ok(Some(key.der_bytes() == info.public_key.as_slice()));
        }
        Ok(self
            .load_csr(t)?
            .map(|csr| csr.public_key_bits() == info.public_key.as_slice()))
    }

    fn cert_status(
        &self,
        t: &Target,
        path: &Path,
        info: CertInfo,
        in_spec: bool,
        ca_der: Option<&[u8]>,
        key_matches: Option<bool>,
    ) -> CertStatus {
        let left = info.not_after - self.now;
        let days_left = left.whole_seconds().div_euclid(86_400);
        let revoked = self.index.is_revoked(&info.serial);
        let foreign =
            t.role != Role::Ca && ca_der.is_none_or(|ca| !inspect::issued_by(&info.der, ca));
        let state = if revoked.is_some() {
            State::Revoked
        } else if key_matches == Some(false) {
            State::Mismatched
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
            name: t.name.to_string(),
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
        let Some(text) = self.store.read(store::CRL)? else {
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
    /// The key beside it (or the device's kept CSR) is not its key: the
    /// broker or device holding the pair cannot use it.
    Mismatched,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Expiring => "expiring",
            State::Expired => "expired",
            State::Revoked => "revoked",
            State::Foreign => "foreign",
            State::Mismatched => "mismatched",
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
    pub mismatched: usize,
    pub missing: usize,
}

/// The files of issued certificates, written in one batch (see
/// [`Pki::run_jobs`]): staged as the jobs finish, committed at the end, then
/// what they replace is removed ([`Pki::finish_batch`]). When a temporary
/// cannot be written (a full disk), nothing more is staged, the ones
/// before it are still committed, and the error is returned beside.
struct Batch<'d> {
    dir: &'d crate::fs::root::Root,
    staged: Vec<String>,
    /// How many jobs (in the order staged) have every file staged.
    complete: usize,
    failed: Option<Diagnostic>,
}

impl<'d> Batch<'d> {
    fn new(dir: &'d crate::fs::root::Root) -> Batch<'d> {
        Batch {
            dir,
            staged: Vec::new(),
            complete: 0,
            failed: None,
        }
    }

    fn stage_file(
        &mut self,
        rel: String,
        bytes: &[u8],
        mode: u32,
        owner: Option<Owner>,
    ) -> Result<(), String> {
        let file = crate::fs::root::NewFile {
            contents: bytes,
            mode,
            owner,
            durability: Durability::Lazy,
        };
        self.dir.stage(&rel, file)?;
        self.staged.push(rel);
        Ok(())
    }

    /// Stages the key (when generated) and the certificate of one job.
    fn stage(&mut self, pki: &Pki<'_>, m: &Made) {
        if self.failed.is_some() {
            return;
        }
        let t = &m.issued.target;
        let staging = m
            .key_pem
            .as_ref()
            .map_or(Ok(()), |key| {
                self.stage_file(t.key_file(), key.as_bytes(), t.key_mode(), pki.key_owner(t))
            })
            .and_then(|()| match &m.out {
                Some(_) => Ok(()),
                None => self.stage_file(
                    t.cert_file(),
                    m.cert_pem.as_bytes(),
                    store::MODE_PUBLIC,
                    None,
                ),
            });
        match staging {
            Ok(()) => self.complete += 1,
            Err(e) => self.failed = Some(store::fs_error(e)),
        }
    }

    /// Syncs, renames, syncs; `made` in the order staged. Returns how many
    /// of `made` (from the first) are written.
    fn commit(self, pki: &Pki<'_>, made: &[Made]) -> (usize, Result<(), Diagnostic>) {
        let refs: Vec<&str> = self.staged.iter().map(String::as_str).collect();
        if let Err(e) = self.dir.commit_staged(&refs) {
            // What was renamed before the error is recorded by the next
            // command (reconcile_index).
            return (0, Err(store::fs_error(e)));
        }
        let done = &made[..self.complete];
        let result = match self.failed {
            Some(d) => Err(d),
            None => Ok(()),
        };
        (self.complete, result.and_then(|()| pki.finish_batch(done)))
    }
}

/// `items` in one chunk per core (in order), or back unchanged when they
/// are better done on this thread: one core, or fewer than 32 items.
fn per_core<T>(items: Vec<T>) -> Result<Vec<Vec<T>>, Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16);
    if threads <= 1 || items.len() < 32 {
        return Err(items);
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
    Ok(chunks)
}

/// Runs `f` over `items` on every core and hands each result to `consume`
/// on this thread as soon as it is ready (in no particular order).
fn parallel_each<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
    mut consume: impl FnMut(R),
) {
    let chunks = match per_core(items) {
        Ok(chunks) => chunks,
        Err(items) => return items.into_iter().for_each(|item| consume(f(item))),
    };
    let f = &f;
    let (tx, rx) = std::sync::mpsc::sync_channel::<R>(1024);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let tx = tx.clone();
                s.spawn(move || {
                    for item in chunk {
                        if tx.send(f(item)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        rx.into_iter().for_each(&mut consume);
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

/// Maps `f` over `items` on every core, keeping the order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let chunks = match per_core(items) {
        Ok(chunks) => chunks,
        Err(items) => return items.into_iter().map(f).collect(),
    };
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
