//! The manifest of an output directory: every file mqttforge manages there,
//! with its hash and mode. Written atomically like every other file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fs::root::{Durability, NewFile, Root};
use crate::render::{OutputTree, Sensitivity};

/// Where the manifest lives, relative to an output directory (tree mode).
pub const MANIFEST_PATH: &str = ".mqttforge/manifest.json";
const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub sha256: String,
    pub mode: u32,
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub files: BTreeMap<String, Entry>,
}

pub fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    pub fn of_tree(tree: &OutputTree) -> Manifest {
        Manifest {
            version: VERSION,
            files: tree
                .files
                .iter()
                .map(|(p, f)| {
                    (
                        p.clone(),
                        Entry {
                            sha256: sha256(&f.contents),
                            mode: f.mode,
                            sensitive: f.sensitivity == Sensitivity::Secret,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The manifest at `rel` in `root`; empty when there is none yet (or
    /// no root yet).
    pub fn load(root: Option<&Root>, rel: &str) -> Result<Manifest, String> {
        let path = match root {
            Some(r) => r.shown(rel),
            None => std::path::PathBuf::from(rel),
        };
        let existing = match root {
            Some(r) => r.read(rel)?,
            None => None,
        };
        match existing {
            None => Ok(Manifest {
                version: VERSION,
                files: BTreeMap::new(),
            }),
            Some((bytes, _)) => {
                let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                    format!(
                        "{} is not a valid manifest ({e}); restore it from version control",
                        path.display()
                    )
                })?;
                if m.version != VERSION {
                    return Err(format!(
                        "{} has version {}; this mqttforge reads version {VERSION}",
                        path.display(),
                        m.version
                    ));
                }
                for p in m.files.keys() {
                    if !is_safe_relative(p) {
                        return Err(format!(
                            "{} names `{p}`, which is outside the directory",
                            path.display()
                        ));
                    }
                }
                Ok(m)
            }
        }
    }

    pub fn save(&self, root: &Root, rel: &str) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        root.write(
            rel,
            NewFile {
                contents: text.as_bytes(),
                mode: 0o644,
                owner: None,
                durability: Durability::Sync,
            },
        )
    }
}

/// A relative path that stays inside its directory.
pub fn is_safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(is_safe_relative("mosquitto/acl"));
        assert!(!is_safe_relative("../etc/passwd"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
    }

    #[test]
    fn hashes() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
