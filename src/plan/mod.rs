//! Plan and apply: what the rendered tree would change in an output
//! directory, and writing it there safely.
//!
//! A manifest (`.mqttforge/manifest.json`) records every file mqttforge
//! manages in the directory with its hash and mode, so apply deletes only
//! files it manages and never overwrites one it does not (unless adopted on
//! purpose). Every file is written atomically (temporary file in the same
//! directory, fsync, rename, directory fsync), and the manifest is widened
//! before any write and narrowed after the last one, so an apply killed at
//! any point leaves every file whole (old or new) and a rerun converges.

pub mod manifest;
pub mod write;

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use serde::Serialize;

use crate::render::{OutputTree, Sensitivity};
pub use manifest::{Manifest, MANIFEST_PATH};

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Only the mode differs.
    Mode,
    /// Exists but mqttforge does not manage it: apply refuses unless adopting.
    Conflict,
}

#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub path: String,
    pub action: Action,
    pub sensitive: bool,
    pub old_mode: Option<u32>,
    pub new_mode: Option<u32>,
    /// The file on disk no longer matches what the last apply wrote.
    pub drifted: bool,
    #[serde(skip)]
    pub old: Option<Vec<u8>>,
    #[serde(skip)]
    pub new: Option<Vec<u8>>,
}

/// Every change apply would make, sorted by path.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action == Action::Conflict)
    }

    /// "Plan: 3 to add, 2 to change, 1 to destroy."
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "No changes. The directory matches the spec.".into();
        }
        let mut s = format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            self.count(Action::Create),
            self.count(Action::Update) + self.count(Action::Mode),
            self.count(Action::Delete)
        );
        let conflicts = self.count(Action::Conflict);
        if conflicts > 0 {
            s.push_str(&format!(
                " {conflicts} unmanaged file{} in the way.",
                if conflicts == 1 { "" } else { "s" }
            ));
        }
        s
    }
}

/// Reads a file if it exists (and is a file).
pub fn read_existing(path: &Path) -> Result<Option<(Vec<u8>, u32)>, String> {
    use std::os::unix::fs::PermissionsExt;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {
            let bytes =
                fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(Some((bytes, meta.permissions().mode() & 0o7777)))
        }
        Ok(_) => Err(format!(
            "{} exists and is not a regular file",
            path.display()
        )),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Compares the rendered tree with the directory. With `keep_secrets`, the
/// tree was rendered without secrets: managed secret files are left alone.
pub fn plan(tree: &OutputTree, dir: &Path, keep_secrets: bool) -> Result<Plan, String> {
    let manifest = Manifest::load(dir)?;
    let mut changes = Vec::new();
    for (path, file) in &tree.files {
        let on_disk = read_existing(&dir.join(path))?;
        let managed = manifest.files.get(path);
        let sensitive = file.sensitivity == Sensitivity::Secret;
        let change = |action: Action, old: Option<(Vec<u8>, u32)>, drifted: bool| Change {
            path: path.clone(),
            action,
            sensitive,
            old_mode: old.as_ref().map(|(_, m)| *m),
            new_mode: Some(file.mode),
            drifted,
            old: old.map(|(b, _)| b),
            new: Some(file.contents.clone()),
        };
        match (on_disk, managed) {
            (None, _) => changes.push(change(Action::Create, None, false)),
            (Some(old), None) => changes.push(change(Action::Conflict, Some(old), false)),
            (Some(old), Some(entry)) => {
                let drifted = manifest::sha256(&old.0) != entry.sha256;
                if old.0 != file.contents {
                    changes.push(change(Action::Update, Some(old), drifted));
                } else if old.1 != file.mode {
                    changes.push(change(Action::Mode, Some(old), false));
                }
            }
        }
    }
    for (path, entry) in &manifest.files {
        if tree.files.contains_key(path) || (keep_secrets && entry.sensitive) {
            continue;
        }
        if let Some(old) = read_existing(&dir.join(path))? {
            let sensitive = manifest.files[path].sensitive;
            changes.push(Change {
                path: path.clone(),
                action: Action::Delete,
                sensitive,
                old_mode: Some(old.1),
                new_mode: None,
                drifted: false,
                old: Some(old.0),
                new: None,
            });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { changes })
}

/// Options of an apply.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Take over files that exist but are not managed.
    pub adopt: bool,
}

/// What apply did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ApplyReport {
    pub written: Vec<String>,
    pub deleted: Vec<String>,
    pub modes: Vec<String>,
}

/// Makes the directory match the tree. Refuses (before writing anything) when
/// an unmanaged file is in the way and `adopt` is off.
pub fn apply(
    tree: &OutputTree,
    dir: &Path,
    plan: &Plan,
    opts: &ApplyOptions,
) -> Result<ApplyReport, String> {
    if !opts.adopt {
        let conflicts: Vec<&str> = plan.conflicts().map(|c| c.path.as_str()).collect();
        if !conflicts.is_empty() {
            return Err(format!(
                "refusing to overwrite {} file{} mqttforge does not manage: {}\n  \
                 move {} away, or pass --adopt to let mqttforge manage {} from now on",
                conflicts.len(),
                if conflicts.len() == 1 { "" } else { "s" },
                conflicts.join(", "),
                if conflicts.len() == 1 { "it" } else { "them" },
                if conflicts.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write::remove_stale_temporaries(dir)?;
    let old = Manifest::load(dir)?;
    let mut new = Manifest::of_tree(tree);
    // Entries the plan keeps (secret files left alone) stay managed.
    let deleted: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.path.as_str())
        .collect();
    for (path, entry) in &old.files {
        if !new.files.contains_key(path) && !deleted.contains(&path.as_str()) && entry.sensitive {
            new.files.insert(path.clone(), entry.clone());
        }
    }
    // Widen first: every path this apply may write or still has to delete is
    // managed before anything is touched, so a rerun after a crash converges.
    let mut widened = old.clone();
    for (path, entry) in &new.files {
        widened.files.insert(path.clone(), entry.clone());
    }
    if widened != old {
        widened.save(dir)?;
    }
    let mut report = ApplyReport::default();
    for change in &plan.changes {
        let target = dir.join(&change.path);
        match change.action {
            Action::Create | Action::Update | Action::Conflict => {
                let file = &tree.files[&change.path];
                write::atomic_write(&target, &file.contents, file.mode)?;
                write::set_owner(&target, file)?;
                report.written.push(change.path.clone());
            }
            Action::Mode => {
                let file = &tree.files[&change.path];
                write::set_mode(&target, file.mode)?;
                report.modes.push(change.path.clone());
            }
            Action::Delete => {
                write::remove(&target, dir)?;
                report.deleted.push(change.path.clone());
            }
        }
    }
    if new != widened {
        new.save(dir)?;
    }
    Ok(report)
}

/// Hashes of the files apply manages, by path (for tests and status).
pub fn managed(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    Ok(Manifest::load(dir)?
        .files
        .into_iter()
        .map(|(p, e)| (p, e.sha256))
        .collect())
}
