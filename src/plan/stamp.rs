//! The stamp of an output directory: what a successful apply left there,
//! so that a plan with nothing to change need not render the site and read
//! every file back.
//!
//! Apply writes `.mqttforge/stamp.json` last, with a fingerprint of what the
//! rendered tree depends on (the mqttforge binary, the spec's name and text,
//! `--no-secrets`), the SHA-256 of the manifest it left, and for every file
//! of the tree its SHA-256 and full `stat` data (size, modification and
//! change times in nanoseconds, device, inode, mode, owner). A plan whose
//! fingerprint, manifest and `stat` data all match reports no change
//! without rendering; anything that differs (the spec, the binary, a mode,
//! a file edited, deleted or replaced, even one whose size and modification
//! time were put back: its change time cannot be) sends it to the full
//! render and compare.
//!
//! A file whose change time was within the timestamp granularity of the
//! moment apply took its `stat` is marked racy (a later edit in the same
//! clock tick could leave the same times): a plan hashes its bytes instead
//! of trusting its `stat`. A file apply did not write is read and hashed
//! before it is stamped when it changed after the apply began (the plan
//! read it earlier), so an edit racing an apply is never stamped as clean.
//!
//! Only what the spec alone decides is stamped: a render that reads secrets
//! or the PKI (without `--no-secrets`) leaves no stamp. Run as root, where
//! apply sets owners by the group database, the fingerprint includes
//! `/etc/group` too.
//! Apply removes the stamp before it changes anything, and a stamp that
//! cannot be read is no stamp.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::Stat;
use serde::{Deserialize, Serialize};

use super::manifest::sha256;
use crate::fs::owner::Ownership;
use crate::fs::root::{Durability, NewFile, Root};
use crate::render::OutputTree;

/// Where the stamp lives in an output directory (tree mode only).
pub const STAMP_PATH: &str = ".mqttforge/stamp.json";
const VERSION: u32 = 1;
/// How close to "now" a change time must be for a later edit in the same
/// tick to leave it unchanged: one clock tick is at most 10 ms on Linux;
/// a file system with whole-second times needs two seconds.
const MARGIN_FINE_NS: i64 = 100_000_000;
const MARGIN_COARSE_NS: i64 = 2_000_000_000;

/// The `stat` data a plan compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub size: i64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub dev: u64,
    pub inode: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl FileStat {
    fn of(st: &Stat) -> FileStat {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        FileStat {
            size: st.st_size,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec as i64),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec as i64),
            dev: st.st_dev,
            inode: st.st_ino,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
        }
    }

    /// The timestamp granularity this file's times suggest: whole seconds
    /// when neither time has a fraction.
    fn margin(&self) -> i64 {
        let whole = |t: i64| t.rem_euclid(1_000_000_000) == 0;
        if whole(self.mtime_ns) && whole(self.ctime_ns) {
            MARGIN_COARSE_NS
        } else {
            MARGIN_FINE_NS
        }
    }

    /// Changed after `since` (nanoseconds), within the margin.
    fn changed_since(&self, since: i64) -> bool {
        self.ctime_ns >= since.saturating_sub(self.margin())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub sha256: String,
    pub stat: FileStat,
    /// Its `stat` cannot be trusted alone: a plan hashes its bytes.
    pub racy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    pub version: u32,
    pub fingerprint: String,
    pub manifest_sha256: String,
    pub files: BTreeMap<String, Entry>,
}

/// What a stamp is recorded from: the fingerprint of the render's inputs,
/// and when the apply began (before its plan read the files).
#[derive(Clone, Debug)]
pub struct StampInputs {
    pub fingerprint: String,
    pub since: SystemTime,
}

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The identity of the running mqttforge: its version and its executable's
/// path, size, times and inode (a rebuilt binary is another binary).
fn binary_identity() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    Some(format!(
        "{} {} {} {} {} {} {}",
        env!("CARGO_PKG_VERSION"),
        exe.display(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.dev(),
        meta.ino()
    ))
}

/// The fingerprint of what a plan with `--no-secrets` depends on: this
/// binary, the spec's name as given (it is in every file's header) and its
/// text, and whether owners are compared (root), with the group database
/// they are compared by. `None` when the binary cannot be identified (no
/// stamp then).
pub fn fingerprint(spec_name: &str, spec_text: &str, ownership: Ownership) -> Option<String> {
    let identity = binary_identity()?;
    let owners = match ownership {
        Ownership::Report => "owners reported".to_string(),
        Ownership::Manage => format!(
            "owners set by /etc/group {}",
            std::fs::read("/etc/group").map_or_else(|e| e.to_string(), |b| sha256(&b))
        ),
    };
    let mut input = Vec::new();
    for part in [
        "mqttforge stamp 1",
        "no-secrets",
        identity.as_str(),
        owners.as_str(),
        spec_name,
        spec_text,
    ] {
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    Some(sha256(&input))
}

/// Removes the stamp (before an apply changes anything).
pub fn remove(root: &Root) -> Result<(), String> {
    root.remove_file(STAMP_PATH)
}

/// Records the stamp after a successful apply of `tree` (with `--no-secrets`):
/// nothing is written when a file is not what the tree says (an edit raced
/// the apply) or the manifest manages more than the tree's files and
/// secret files.
pub fn record(
    root: &Root,
    manifest: &str,
    tree: &OutputTree,
    ownership: Ownership,
    inputs: &StampInputs,
) -> Result<(), String> {
    let Some((manifest_bytes, _)) = root.read_stat(manifest)? else {
        return Ok(());
    };
    let managed = super::Manifest::load(Some(root), manifest)?;
    if managed
        .files
        .iter()
        .any(|(path, entry)| !entry.sensitive && !tree.files.contains_key(path))
    {
        return Ok(());
    }
    let since = nanos(inputs.since);
    let mut files = BTreeMap::new();
    for (path, file) in &tree.files {
        let wanted = sha256(&file.contents);
        let Some(st) = root.stat(path)? else {
            return Ok(());
        };
        let mut stat = FileStat::of(&st);
        if stat.changed_since(since) {
            // Changed during this apply: check the bytes it has now.
            let Some((bytes, st)) = root.read_stat(path)? else {
                return Ok(());
            };
            if sha256(&bytes) != wanted {
                return Ok(());
            }
            stat = FileStat::of(&st);
        }
        if stat.mode & 0o7777 != file.mode || stat.size != file.contents.len() as i64 {
            return Ok(());
        }
        if let Some(owner) = ownership.wanted(file.group.as_deref()) {
            if (stat.uid, stat.gid) != (owner.uid, owner.gid) {
                return Ok(());
            }
        }
        let racy = stat.changed_since(nanos(SystemTime::now()));
        files.insert(
            path.clone(),
            Entry {
                sha256: wanted,
                stat,
                racy,
            },
        );
    }
    let stamp = Stamp {
        version: VERSION,
        fingerprint: inputs.fingerprint.clone(),
        manifest_sha256: sha256(&manifest_bytes),
        files,
    };
    let text = serde_json::to_vec(&stamp).map_err(|e| e.to_string())?;
    // A stamp lost in a crash is no stamp: the next plan renders.
    root.write(
        STAMP_PATH,
        NewFile {
            contents: &text,
            mode: 0o644,
            owner: None,
            durability: Durability::Lazy,
        },
    )
}

/// Whether the directory is exactly as the stamp recorded it for this
/// fingerprint, so a plan has nothing to change. Any doubt (no stamp, an
/// unreadable one, another fingerprint or manifest, a file whose `stat`
/// differs or whose bytes differ when racy, an error) is `false`.
pub fn unchanged(root: &Root, manifest: &str, fingerprint: &str) -> bool {
    matches(root, manifest, fingerprint).unwrap_or(false)
}

fn matches(root: &Root, manifest: &str, fingerprint: &str) -> Result<bool, String> {
    let Some((bytes, _)) = root.read_stat(STAMP_PATH)? else {
        return Ok(false);
    };
    let Ok(stamp) = serde_json::from_slice::<Stamp>(&bytes) else {
        return Ok(false);
    };
    if stamp.version != VERSION || stamp.fingerprint != fingerprint {
        return Ok(false);
    }
    let Some((manifest_bytes, _)) = root.read_stat(manifest)? else {
        return Ok(false);
    };
    if sha256(&manifest_bytes) != stamp.manifest_sha256 {
        return Ok(false);
    }
    for (path, entry) in &stamp.files {
        let Some(st) = root.stat(path)? else {
            return Ok(false);
        };
        if FileStat::of(&st) != entry.stat {
            return Ok(false);
        }
        if entry.racy {
            let Some((bytes, st)) = root.read_stat(path)? else {
                return Ok(false);
            };
            if FileStat::of(&st) != entry.stat || sha256(&bytes) != entry.sha256 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = ".mqttforge/manifest.json";

    fn file(contents: &[u8], mode: u32) -> NewFile<'_> {
        NewFile {
            contents,
            mode,
            owner: None,
            durability: Durability::Lazy,
        }
    }

    /// A directory with one file `a` and a manifest, and a stamp of them.
    fn stamped(racy: bool, sha: &str) -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().expect("dir");
        let root = Root::create(dir.path()).expect("root");
        root.write("a", file(b"alpha\n", 0o644)).expect("a");
        root.write(MANIFEST, file(b"{}\n", 0o644))
            .expect("manifest");
        let stat = FileStat::of(&root.stat("a").expect("stat").expect("there"));
        let stamp = Stamp {
            version: VERSION,
            fingerprint: "f".into(),
            manifest_sha256: sha256(b"{}\n"),
            files: BTreeMap::from([(
                "a".to_string(),
                Entry {
                    sha256: sha.to_string(),
                    stat,
                    racy,
                },
            )]),
        };
        let text = serde_json::to_vec(&stamp).expect("json");
        root.write(STAMP_PATH, file(&text, 0o644)).expect("stamp");
        (dir, root)
    }

    #[test]
    fn the_same_stat_and_fingerprint_is_unchanged() {
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        assert!(unchanged(&root, MANIFEST, "f"));
        assert!(!unchanged(&root, MANIFEST, "g"), "another fingerprint");
    }

    #[test]
    fn a_racy_entry_is_checked_by_its_bytes() {
        let (_dir, root) = stamped(true, &sha256(b"alpha\n"));
        assert!(unchanged(&root, MANIFEST, "f"));
        let (_dir, root) = stamped(true, &sha256(b"other\n"));
        assert!(!unchanged(&root, MANIFEST, "f"));
    }

    #[test]
    fn any_difference_is_a_change() {
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        root.set_mode("a", 0o600).expect("chmod");
        assert!(!unchanged(&root, MANIFEST, "f"), "a mode");
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        root.write(MANIFEST, file(b"{ }\n", 0o644))
            .expect("manifest");
        assert!(!unchanged(&root, MANIFEST, "f"), "another manifest");
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        root.remove_file("a").expect("rm");
        assert!(!unchanged(&root, MANIFEST, "f"), "a deleted file");
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        root.write("a", file(b"alpha\n", 0o644)).expect("rewrite");
        assert!(!unchanged(&root, MANIFEST, "f"), "a new inode");
        let (_dir, root) = stamped(false, &sha256(b"alpha\n"));
        root.write(STAMP_PATH, file(b"not json", 0o644))
            .expect("stamp");
        assert!(!unchanged(&root, MANIFEST, "f"), "a damaged stamp");
    }

    #[test]
    fn whole_second_times_get_the_wide_margin() {
        let mut st = FileStat {
            size: 1,
            mtime_ns: 5_000_000_000,
            ctime_ns: 5_000_000_000,
            dev: 1,
            inode: 1,
            mode: 0o100644,
            uid: 0,
            gid: 0,
        };
        assert_eq!(st.margin(), MARGIN_COARSE_NS);
        assert!(st.changed_since(6_500_000_000));
        st.ctime_ns += 1;
        assert_eq!(st.margin(), MARGIN_FINE_NS);
        assert!(!st.changed_since(6_500_000_000));
    }
}
