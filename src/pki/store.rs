//! The PKI directory on disk: where each file lives, the modes it gets, atomic
//! writes, and the state file (`index.json`).
//!
//! Every write goes to a temporary file in the same directory, created with
//! its final mode (so a key is never readable by others, not even for a
//! moment), then renamed over the target: a crash leaves the old file or the
//! new one, never half of one.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;

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

/// The CA key and device keys: owner only.
pub const MODE_SECRET: u32 = 0o600;
/// A broker's own key: owner and the broker's group (ownership is set by `apply`).
pub const MODE_BROKER_KEY: u32 = 0o640;
/// Certificates, CSRs, the CRL and the state file.
pub const MODE_PUBLIC: u32 = 0o644;
/// Directories.
pub const MODE_DIR: u32 = 0o755;

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

/// One certificate of the site: the CA, a broker node's or a device's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub role: Role,
    /// The node name or device id (`ca` for the CA).
    pub name: String,
}

impl Target {
    pub fn ca() -> Target {
        Target {
            role: Role::Ca,
            name: "ca".into(),
        }
    }

    pub fn server(name: impl Into<String>) -> Target {
        Target {
            role: Role::Server,
            name: name.into(),
        }
    }

    pub fn device(name: impl Into<String>) -> Target {
        Target {
            role: Role::Device,
            name: name.into(),
        }
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
}

/// Whether a write must reach the disk before the command reports success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file: the CA, the CRL and the state file.
    Sync,
    /// Leave it to the page cache: bulk leaf certificates and keys.
    Lazy,
}

/// The PKI directory of a site.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn cert_path(&self, t: &Target) -> PathBuf {
        match t.role {
            Role::Ca => self.root.join(CA_CERT),
            Role::Server => self.root.join(SERVERS).join(format!("{}.pem", t.name)),
            Role::Device => self.root.join(DEVICES).join(format!("{}.pem", t.name)),
        }
    }

    pub fn key_path(&self, t: &Target) -> PathBuf {
        match t.role {
            Role::Ca => self.root.join(CA_KEY),
            Role::Server => self.root.join(SERVERS).join(format!("{}.key", t.name)),
            Role::Device => self.root.join(DEVICES).join(format!("{}.key", t.name)),
        }
    }

    /// Where a device's own CSR is kept once signed (its key lives on the device).
    pub fn csr_path(&self, t: &Target) -> PathBuf {
        self.root.join(DEVICES).join(format!("{}.csr", t.name))
    }

    pub fn crl_path(&self) -> PathBuf {
        self.root.join(CRL)
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join(INDEX)
    }

    /// Creates the directory and its `servers/` and `devices/` folders (0755).
    pub fn create_dirs(&self) -> Result<(), Diagnostic> {
        for dir in [
            self.root.clone(),
            self.root.join(SERVERS),
            self.root.join(DEVICES),
        ] {
            if dir.is_dir() {
                continue;
            }
            fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, &e))?;
            fs::set_permissions(&dir, Permissions::from_mode(MODE_DIR))
                .map_err(|e| io_error("set the mode of", &dir, &e))?;
        }
        Ok(())
    }

    /// Names of the certificates (`<name>.pem`) in `servers/` or `devices/`, sorted.
    pub fn list(&self, role: Role) -> Result<Vec<String>, Diagnostic> {
        let dir = match role {
            Role::Ca => return Ok(vec!["ca".into()]),
            Role::Server => self.root.join(SERVERS),
            Role::Device => self.root.join(DEVICES),
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("read", &dir, &e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("read", &dir, &e))?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if let Some(name) = file.strip_suffix(".pem") {
                if !name.starts_with('.') {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

/// Reads a text file; `None` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, Diagnostic> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Diagnostic::error(
                "pki",
                format!("{} is not a PEM text file (not UTF-8)", path.display()),
            )
            .with_help("replace it with a PEM file, or delete it to have mqttforge create it")
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, &e)),
    }
}

/// Writes `bytes` to `path` atomically with `mode`.
pub fn write_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> Result<(), Diagnostic> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = parent.join(format!(".{name}.mqttforge-{}", std::process::id()));
    let result = (|| -> io::Result<()> {
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have taken bits away from `mode`; never added any.
        f.set_permissions(Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        if durability == Durability::Sync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error("write", path, &e)
    })
}

/// Removes a file that may not exist.
pub fn remove_file(path: &Path) -> Result<(), Diagnostic> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", path, &e)),
    }
}

pub fn io_error(action: &str, path: &Path, e: &io::Error) -> Diagnostic {
    Diagnostic::error("io", format!("cannot {action} {}: {e}", path.display()))
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
    pub fn load(path: &Path) -> Result<Index, Diagnostic> {
        let Some(text) = read_text(path)? else {
            return Ok(Index {
                version: INDEX_VERSION,
                ..Index::default()
            });
        };
        let index: Index = serde_json::from_str(&text).map_err(|e| {
            Diagnostic::error(
                "pki",
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
                "pki",
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
        let dir = std::env::temp_dir().join(format!("mqttforge-store-{}", std::process::id()));
        let store = Store::new(&dir);
        store.create_dirs().expect("dirs");
        let key = store.key_path(&Target::device("d1"));
        write_file(&key, b"k", MODE_SECRET, Durability::Sync).expect("write");
        write_file(&key, b"k2", MODE_SECRET, Durability::Lazy).expect("overwrite");
        let meta = fs::metadata(&key).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&key).expect("read"), b"k2");
        assert_eq!(
            store.list(Role::Device).expect("list"),
            Vec::<String>::new()
        );
        write_file(
            &store.cert_path(&Target::device("d1")),
            b"c",
            MODE_PUBLIC,
            Durability::Lazy,
        )
        .expect("cert");
        assert_eq!(store.list(Role::Device).expect("list"), ["d1"]);
        let _ = fs::remove_dir_all(&dir);
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
