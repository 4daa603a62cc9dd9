//! The PKI directory on disk: where each file lives, the modes it gets, and
//! the state file (`index.json`).
//!
//! Every path is resolved through [`Root`]: relative to a descriptor of the
//! PKI directory, never following a symbolic link (a link planted in
//! `servers/` or `devices/` is refused, never written, chowned or read
//! through). Every write goes to a temporary file in the same directory,
//! created with its final mode and owner (so a key is never readable by
//! others, not even for a moment), then renamed over the target: a crash
//! leaves the old file or the new one, never half of one. Writers hold the
//! directory's lock ([`LOCK`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::fs::root::{self, FileMeta, Lock, NewFile, Owner, Root};
use crate::spec::model::PathSegment;

pub use crate::fs::root::Durability;

/// The CA certificate.
pub const CA_CERT: &str = "ca.pem";
/// The CA private key.
pub const CA_KEY: &str = "ca.key";
/// The certificate revocation list, once something is revoked.
pub const CRL: &str = "crl.pem";
/// Serials issued, revocations, the CRL number.
pub const INDEX: &str = "index.json";
/// One certificate and key per broker node.
pub const SERVERS: &str = "servers";
/// One certificate per device, with its key (or the device's CSR).
pub const DEVICES: &str = "devices";
/// The lock every command that writes holds (`flock`, the holder's pid inside).
pub const LOCK: &str = ".mqttforge.lock";

/// The CA key and device keys: owner only.
pub const MODE_SECRET: u32 = 0o600;
/// A broker's own key: owner and the broker's group (root:<broker's group> when run as root).
pub const MODE_BROKER_KEY: u32 = 0o640;
/// Certificates, CSRs, the CRL and the state file.
pub const MODE_PUBLIC: u32 = 0o644;
/// Directories.
pub const MODE_DIR: u32 = root::MODE_DIR;

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Ca,
    Server,
    Device,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ca => "ca",
            Role::Server => "server",
            Role::Device => "device",
        }
    }
}

/// One certificate of the site: the CA, a broker node's or a device's. Its
/// name is one file-name segment, so no target names a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub role: Role,
    /// The node name or device id (`ca` for the CA).
    pub name: PathSegment,
}

impl Target {
    pub fn ca() -> Target {
        Target {
            role: Role::Ca,
            name: PathSegment::new("ca").expect("a segment"),
        }
    }

    pub fn server(name: PathSegment) -> Target {
        Target {
            role: Role::Server,
            name,
        }
    }

    pub fn device(name: PathSegment) -> Target {
        Target {
            role: Role::Device,
            name,
        }
    }

    /// A target named by a string (the spec, the command line, a directory
    /// listing); `None` when the name cannot be a file name.
    pub fn named(role: Role, name: &str) -> Option<Target> {
        Some(Target {
            role,
            name: PathSegment::new(name)?,
        })
    }

    /// The key of this certificate in the state file: `ca`, `servers/<node>`,
    /// `devices/<id>`.
    pub fn key(&self) -> String {
        match self.role {
            Role::Ca => "ca".into(),
            Role::Server => format!("{SERVERS}/{}", self.name),
            Role::Device => format!("{DEVICES}/{}", self.name),
        }
    }

    /// Mode of this target's private key.
    pub fn key_mode(&self) -> u32 {
        match self.role {
            Role::Server => MODE_BROKER_KEY,
            Role::Ca | Role::Device => MODE_SECRET,
        }
    }

    /// Its certificate, relative to the PKI directory.
    pub fn cert_file(&self) -> String {
        match self.role {
            Role::Ca => CA_CERT.into(),
            _ => format!("{}.pem", self.key()),
        }
    }

    /// Its private key, relative to the PKI directory.
    pub fn key_file(&self) -> String {
        match self.role {
            Role::Ca => CA_KEY.into(),
            _ => format!("{}.key", self.key()),
        }
    }

    /// A device's own CSR, kept once signed (its key lives on the device).
    pub fn csr_file(&self) -> String {
        format!("{DEVICES}/{}.csr", self.name)
    }
}

/// The PKI directory of a site, opened when first needed.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    dir: OnceLock<Root>,
}

impl Store {
    /// The PKI directory at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store {
            path: path.into(),
            dir: OnceLock::new(),
        }
    }

    /// A PKI directory already opened (inside an output tree, through its root).
    pub fn within(dir: Root) -> Store {
        let path = dir.path().to_path_buf();
        let cell = OnceLock::new();
        let _ = cell.set(dir);
        Store { path, dir: cell }
    }

    pub fn root(&self) -> &Path {
        &self.path
    }

    /// The directory, opened (and created, with `create`) on first use.
    fn dir(&self, create: bool) -> Result<Option<&Root>, Diagnostic> {
        if let Some(d) = self.dir.get() {
            return Ok(Some(d));
        }
        let opened = if create {
            Some(Root::create(&self.path).map_err(fs_error)?)
        } else {
            Root::open(&self.path).map_err(fs_error)?
        };
        if let Some(d) = opened {
            let _ = self.dir.set(d);
        }
        Ok(self.dir.get())
    }

    /// A file of the directory, for messages.
    pub fn path_of(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    pub fn cert_path(&self, t: &Target) -> PathBuf {
        self.path_of(&t.cert_file())
    }

    pub fn key_path(&self, t: &Target) -> PathBuf {
        self.path_of(&t.key_file())
    }

    pub fn csr_path(&self, t: &Target) -> PathBuf {
        self.path_of(&t.csr_file())
    }

    pub fn crl_path(&self) -> PathBuf {
        self.path_of(CRL)
    }

    pub fn index_path(&self) -> PathBuf {
        self.path_of(INDEX)
    }

    /// Creates the directory and its `servers/` and `devices/` folders (0755).
    pub fn create_dirs(&self) -> Result<(), Diagnostic> {
        let dir = self.dir(true)?.expect("created");
        for sub in [SERVERS, DEVICES] {
            dir.subdir(sub, true).map_err(fs_error)?;
        }
        Ok(())
    }

    /// Takes the directory's lock (waiting a few seconds for another
    /// writer) and removes the temporaries a killed writer left.
    pub fn lock(&self) -> Result<Lock, Diagnostic> {
        self.create_dirs()?;
        let dir = self.dir(false)?.expect("created");
        let lock = dir.lock(LOCK, root::LOCK_WAIT).map_err(|e| {
            Diagnostic::error(Code::Pki, e).with_help(
                "another `mqttforge pki` or `apply` is writing this PKI directory; wait for it",
            )
        })?;
        for sub in ["", SERVERS, DEVICES] {
            dir.remove_temporaries(sub, None).map_err(fs_error)?;
        }
        Ok(lock)
    }

    /// A text file's contents; `None` when it does not exist.
    pub fn read(&self, rel: &str) -> Result<Option<String>, Diagnostic> {
        let Some(dir) = self.dir(false)? else {
            return Ok(None);
        };
        let Some((bytes, _)) = dir.read(rel).map_err(fs_error)? else {
            return Ok(None);
        };
        String::from_utf8(bytes).map(Some).map_err(|_| {
            Diagnostic::error(
                Code::Pki,
                format!(
                    "{} is not a PEM text file (not UTF-8)",
                    self.path_of(rel).display()
                ),
            )
            .with_help("replace it with a PEM file, or delete it to have mqttforge create it")
        })
    }

    /// Whether a regular file is there (a link there is an error).
    pub fn exists(&self, rel: &str) -> Result<bool, Diagnostic> {
        match self.dir(false)? {
            Some(dir) => dir.is_file(rel).map_err(fs_error),
            None => Ok(false),
        }
    }

    /// A file's mode, owner and modification time.
    pub fn meta(&self, rel: &str) -> Result<Option<FileMeta>, Diagnostic> {
        match self.dir(false)? {
            Some(dir) => dir.meta(rel).map_err(fs_error),
            None => Ok(None),
        }
    }

    /// A directory's metadata (`""`: the PKI directory itself).
    pub fn dir_meta(&self, rel: &str) -> Result<Option<FileMeta>, Diagnostic> {
        match self.dir(false)? {
            Some(dir) => dir.dir_meta(rel).map_err(fs_error),
            None => Ok(None),
        }
    }

    /// Writes `bytes` to `rel` atomically with `mode` (and `owner`, when given).
    pub fn write(
        &self,
        rel: &str,
        bytes: &[u8],
        mode: u32,
        owner: Option<Owner>,
        durability: Durability,
    ) -> Result<(), Diagnostic> {
        let dir = self.dir(true)?.expect("created");
        dir.write(
            rel,
            NewFile {
                contents: bytes,
                mode,
                owner,
                durability,
            },
        )
        .map_err(fs_error)
    }

    /// Sets the owner of an existing file, through its descriptor.
    pub fn set_owner(&self, rel: &str, owner: Owner) -> Result<(), Diagnostic> {
        let dir = self.dir(true)?.expect("created");
        dir.set_owner(rel, owner).map_err(fs_error)
    }

    /// Removes a file that may not exist.
    pub fn remove(&self, rel: &str) -> Result<(), Diagnostic> {
        match self.dir(false)? {
            Some(dir) => dir.remove_file(rel).map_err(fs_error),
            None => Ok(()),
        }
    }

    /// The certificates (`*.pem` regular files) of `servers/`, `devices/`
    /// or the directory itself (`""`) with their metadata: one listing
    /// instead of a lookup per file.
    pub fn certificates(&self, sub: &str) -> Result<BTreeMap<String, FileMeta>, Diagnostic> {
        let Some(dir) = self.dir(false)? else {
            return Ok(BTreeMap::new());
        };
        Ok(dir
            .list_files(sub, ".pem")
            .map_err(fs_error)?
            .into_iter()
            .collect())
    }

    /// Every name in `servers/`, `devices/` or the directory itself (`""`),
    /// whatever it is (a link is listed too, and refused when read).
    pub fn names(&self, sub: &str) -> Result<Vec<String>, Diagnostic> {
        let Some(dir) = self.dir(false)? else {
            return Ok(Vec::new());
        };
        Ok(dir
            .list(sub)
            .map_err(fs_error)?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// The directory, created and opened (for batches of writes).
    pub fn open_dir(&self) -> Result<&Root, Diagnostic> {
        Ok(self.dir(true)?.expect("created"))
    }

    /// Names of the certificates (`<name>.pem`) in `servers/` or `devices/`, sorted.
    pub fn list(&self, role: Role) -> Result<Vec<String>, Diagnostic> {
        let sub = match role {
            Role::Ca => return Ok(vec!["ca".into()]),
            Role::Server => SERVERS,
            Role::Device => DEVICES,
        };
        let Some(dir) = self.dir(false)? else {
            return Ok(Vec::new());
        };
        let mut names = Vec::new();
        for (file, _) in dir.list(sub).map_err(fs_error)? {
            if let Some(name) = file.strip_suffix(".pem") {
                if PathSegment::new(name).is_some() {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }
}

/// A file-system error of the PKI directory (the message names the path).
pub fn fs_error(message: String) -> Diagnostic {
    Diagnostic::error(Code::Io, message).with_help("check the path and its permissions")
}

pub fn io_error(action: &str, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(Code::Io, format!("cannot {action} {}: {e}", path.display()))
        .with_help("check the path and its permissions")
}

/// The state file: what was issued, what is revoked, the CRL number.
/// Pretty JSON with sorted keys, so it diffs well and the same state always
/// gives the same bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Format version of this file.
    pub version: u32,
    /// Every certificate issued to each target (`ca`, `servers/<node>`,
    /// `devices/<id>`), oldest first: the last is the current one. Revoking a
    /// target revokes all of them that have not expired (a renewal keeps the
    /// key, so an older certificate of a compromised key is just as usable).
    pub issued: BTreeMap<String, Vec<IssuedRecord>>,
    /// Revoked certificates, oldest first.
    pub revoked: Vec<RevokedRecord>,
    /// Number of the last CRL written (0: none yet).
    pub crl_number: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedRecord {
    /// Serial number, upper-case hex (as `openssl x509 -serial` prints it).
    pub serial: String,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedRecord {
    pub serial: String,
    /// The target it was issued to (`devices/<id>`, `servers/<node>`).
    pub target: String,
    pub subject: String,
    /// RFC 3339.
    pub revoked_at: String,
    /// RFC 5280 reason, as named by OpenSSL (`keyCompromise`, `superseded`, ...).
    pub reason: String,
}

pub const INDEX_VERSION: u32 = 1;

impl Index {
    pub fn load(store: &Store) -> Result<Index, Diagnostic> {
        let path = &store.index_path();
        let Some(text) = store.read(INDEX)? else {
            return Ok(Index {
                version: INDEX_VERSION,
                ..Index::default()
            });
        };
        let index: Index = serde_json::from_str(&text).map_err(|e| {
            Diagnostic::error(
                Code::Pki,
                format!(
                    "{} is not a valid mqttforge PKI state file: {e}",
                    path.display()
                ),
            )
            .with_help(
                "restore it from a backup; it records revocations, which a new file would lose",
            )
        })?;
        if index.version != INDEX_VERSION {
            return Err(Diagnostic::error(
                Code::Pki,
                format!(
                    "{} has format version {}; this mqttforge reads version {INDEX_VERSION}",
                    path.display(),
                    index.version
                ),
            )
            .with_help("use the mqttforge release that wrote it"));
        }
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn is_revoked(&self, serial: &str) -> Option<&RevokedRecord> {
        self.revoked.iter().find(|r| r.serial == serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_atomic_with_the_mode_asked_for() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::new(dir.path().join("pki"));
        store.create_dirs().expect("dirs");
        let d1 = Target::named(Role::Device, "d1").expect("a segment");
        store
            .write(&d1.key_file(), b"k", MODE_SECRET, None, Durability::Sync)
            .expect("write");
        store
            .write(&d1.key_file(), b"k2", MODE_SECRET, None, Durability::Lazy)
            .expect("overwrite");
        let meta = store.meta(&d1.key_file()).expect("meta").expect("there");
        assert_eq!(meta.mode, 0o600);
        assert_eq!(
            store.read(&d1.key_file()).expect("read").as_deref(),
            Some("k2")
        );
        assert_eq!(
            store.list(Role::Device).expect("list"),
            Vec::<String>::new()
        );
        store
            .write(&d1.cert_file(), b"c", MODE_PUBLIC, None, Durability::Lazy)
            .expect("cert");
        assert_eq!(store.list(Role::Device).expect("list"), ["d1"]);
    }

    #[test]
    fn names_that_are_paths_are_no_targets() {
        assert!(Target::named(Role::Device, "../ca").is_none());
        assert!(Target::named(Role::Server, "a/b").is_none());
        assert_eq!(
            Target::named(Role::Server, "mqtt1").map(|t| t.key_file()),
            Some("servers/mqtt1.key".to_string())
        );
    }

    #[test]
    fn the_index_is_pretty_sorted_and_round_trips() {
        let mut i = Index {
            version: INDEX_VERSION,
            ..Index::default()
        };
        for name in ["devices/b", "devices/a", "ca"] {
            i.issued.insert(
                name.into(),
                vec![IssuedRecord {
                    serial: "01".into(),
                    subject: "CN=x".into(),
                    not_after: "2030-01-01T00:00:00Z".into(),
                }],
            );
        }
        let json = i.to_json();
        let a = json.find("devices/a").expect("a");
        let b = json.find("devices/b").expect("b");
        assert!(json.find("\"ca\"").expect("ca") < a && a < b);
        assert!(json.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<Index>(&json).expect("parse"), i);
    }
}
