//! Plan and apply: what the rendered tree would change in an output
//! directory (or on a host, at install paths), and writing it there safely.
//!
//! A manifest records every file mqttforge manages in the destination with
//! its hash and mode, so apply deletes only files it manages and never
//! overwrites one it does not (unless adopted on purpose). Every file is
//! written atomically (temporary file in the same directory, fsync, rename,
//! directory fsync), and the manifest is widened before any write and
//! narrowed after the last one, so an apply killed at any point leaves every
//! file whole (old or new) and a rerun converges. Every path is opened
//! through [`crate::fs::root::Root`], relative to the destination without following
//! links; an apply holds the destination's lock from its plan to its end.

pub mod host;
pub mod manifest;
pub mod stamp;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fs::owner::{self, Ownership, OwnershipFix};
use crate::fs::root::{self, FileMeta, Lock, NewFile, Owner, Root};
use crate::render::{OutputFile, OutputTree, Sensitivity};
pub use host::{host_tree, install_host, plan_host, HostOptions};
pub use manifest::{Manifest, MANIFEST_PATH};
pub use write::write_new_tree;

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Only the mode differs (and perhaps the owner).
    Mode,
    /// Only the owner or group differs (running as root).
    Owner,
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
    /// `user:group` on disk, when apply sets owners and they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_owner: Option<String>,
    /// `user:group` apply gives the file, when it differs from the disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_owner: Option<String>,
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

    /// Updates, mode and owner changes.
    pub fn to_change(&self) -> usize {
        self.count(Action::Update) + self.count(Action::Mode) + self.count(Action::Owner)
    }

    /// "Plan: 3 to add, 2 to change, 1 to destroy."
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "No changes. The directory matches the spec.".into();
        }
        let mut s = format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            self.count(Action::Create),
            self.to_change(),
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

/// Where a plan applies: a directory, and where its manifest and lock live
/// in it.
#[derive(Clone, Debug)]
pub struct Destination {
    pub dir: PathBuf,
    /// The manifest, relative to `dir`.
    pub manifest: String,
    /// The lock file, relative to `dir`.
    pub lock: String,
    /// Remove directories a delete leaves empty (tree mode; never on a host).
    pub prune: bool,
}

impl Destination {
    /// An output directory apply owns (`--out`): `.mqttforge/manifest.json`.
    pub fn tree(out: &Path) -> Destination {
        Destination {
            dir: out.to_path_buf(),
            manifest: MANIFEST_PATH.into(),
            lock: ".mqttforge/lock".into(),
            prune: true,
        }
    }

    /// A host's root (`--root`, `/` in production), files at their install
    /// paths: `var/lib/mqttforge/<site>.manifest.json`.
    pub fn host(root: &Path, site: &str) -> Result<Destination, String> {
        let site = crate::spec::model::PathSegment::new(site)
            .ok_or_else(|| format!("the site name `{site}` cannot be a file name"))?;
        Ok(Destination {
            dir: root.to_path_buf(),
            manifest: format!("var/lib/mqttforge/{site}.manifest.json"),
            lock: format!("var/lib/mqttforge/{site}.lock"),
            prune: false,
        })
    }

    /// Takes the destination's lock (creating the directory), waiting a few
    /// seconds for another apply; the error names the holder's pid.
    pub fn lock(&self) -> Result<Lock, String> {
        Root::create(&self.dir)?.lock(&self.lock, root::LOCK_WAIT)
    }
}

/// The owner wanted for `file`, and whether the disk differs.
fn owner_change(ownership: Ownership, file: &OutputFile, on_disk: &FileMeta) -> Option<Owner> {
    ownership
        .wanted(file.group.as_deref())
        .filter(|w| *w != on_disk.owner)
}

/// One change of a file the tree has.
fn change_of(
    path: &str,
    file: &OutputFile,
    on_disk: Option<(Vec<u8>, FileMeta)>,
    managed: Option<&manifest::Entry>,
    ownership: Ownership,
) -> Option<Change> {
    let mut change = Change {
        path: path.to_string(),
        action: Action::Create,
        sensitive: file.sensitivity == Sensitivity::Secret,
        old_mode: on_disk.as_ref().map(|(_, m)| m.mode),
        new_mode: Some(file.mode),
        old_owner: None,
        new_owner: None,
        drifted: false,
        old: None,
        new: Some(file.contents.clone()),
    };
    let Some((bytes, meta)) = on_disk else {
        return Some(change);
    };
    let Some(entry) = managed else {
        change.action = Action::Conflict;
        change.old = Some(bytes);
        return Some(change);
    };
    let owner = owner_change(ownership, file, &meta);
    if let Some(wanted) = owner {
        change.old_owner = Some(owner::display(meta.owner));
        change.new_owner = Some(owner::display(wanted));
    }
    change.action = if bytes != file.contents {
        change.drifted = manifest::sha256(&bytes) != entry.sha256;
        Action::Update
    } else if meta.mode != file.mode {
        Action::Mode
    } else if owner.is_some() {
        Action::Owner
    } else {
        return None;
    };
    change.old = Some(bytes);
    Some(change)
}

/// Compares the rendered tree with the destination. With `keep_secrets`,
/// the tree was rendered without secrets: managed secret files are left
/// alone. Owners are compared only when `ownership` sets them.
pub fn plan(
    tree: &OutputTree,
    dest: &Destination,
    keep_secrets: bool,
    ownership: Ownership,
) -> Result<Plan, String> {
    let root = Root::open(&dest.dir)?;
    let manifest = Manifest::load(root.as_ref(), &dest.manifest)?;
    let read = |path: &str| match &root {
        Some(r) => r.read(path),
        None => Ok(None),
    };
    let mut changes = Vec::new();
    for (path, file) in &tree.files {
        let managed = manifest.files.get(path);
        changes.extend(change_of(path, file, read(path)?, managed, ownership));
    }
    for (path, entry) in &manifest.files {
        if tree.files.contains_key(path) || (keep_secrets && entry.sensitive) {
            continue;
        }
        if let Some((bytes, meta)) = read(path)? {
            changes.push(Change {
                path: path.clone(),
                action: Action::Delete,
                sensitive: entry.sensitive,
                old_mode: Some(meta.mode),
                new_mode: None,
                old_owner: None,
                new_owner: None,
                drifted: false,
                old: Some(bytes),
                new: None,
            });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { changes })
}

/// Options of an apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Take over files that exist but are not managed.
    pub adopt: bool,
    /// Set owners (root), or only report the commands to run (not root).
    pub ownership: Ownership,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions {
            adopt: false,
            ownership: Ownership::detect(),
        }
    }
}

/// What apply did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ApplyReport {
    pub written: Vec<String>,
    pub deleted: Vec<String>,
    pub modes: Vec<String>,
    pub owners: Vec<String>,
    /// Files whose owner apply could not set (not root, or the broker's
    /// group does not exist here): what to run as root. Sorted.
    pub pending: Vec<OwnershipFix>,
}

/// The refusal when unmanaged files are in the way.
fn refuse_conflicts(plan: &Plan) -> Result<(), String> {
    let conflicts: Vec<&str> = plan.conflicts().map(|c| c.path.as_str()).collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    let (s, it, them) = if conflicts.len() == 1 {
        ("", "it", "it")
    } else {
        ("s", "them", "them")
    };
    Err(format!(
        "refusing to overwrite {} file{s} mqttforge does not manage: {}\n  \
         move {it} away, or pass --adopt to let mqttforge manage {them} from now on",
        conflicts.len(),
        conflicts.join(", "),
    ))
}

/// Removes the temporaries a killed apply left beside the files it
/// manages (and its manifest): only in their directories, only theirs.
fn remove_stale_temporaries(
    root: &Root,
    dest: &Destination,
    old: &Manifest,
    tree: &OutputTree,
) -> Result<(), String> {
    let mut by_dir: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let paths = old.files.keys().chain(tree.files.keys());
    for path in paths.chain(std::iter::once(&dest.manifest)) {
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        by_dir.entry(dir).or_default().insert(base);
    }
    for (dir, bases) in by_dir {
        let bases: Vec<&str> = bases.into_iter().collect();
        root.remove_temporaries(dir, Some(&bases))?;
    }
    Ok(())
}

/// The manifest after this apply: the tree's files, plus secret files the
/// plan leaves alone (rendered without secrets).
fn narrowed(tree: &OutputTree, old: &Manifest, plan: &Plan) -> Manifest {
    let mut new = Manifest::of_tree(tree);
    let deleted: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.path.as_str())
        .collect();
    for (path, entry) in &old.files {
        if !new.files.contains_key(path) && !deleted.contains(path.as_str()) && entry.sensitive {
            new.files.insert(path.clone(), entry.clone());
        }
    }
    new
}

/// Makes the destination match the tree. Refuses (before writing anything)
/// when an unmanaged file is in the way and `adopt` is off. The caller
/// holds the destination's lock ([`Destination::lock`]) from the plan on.
pub fn apply(
    tree: &OutputTree,
    dest: &Destination,
    plan: &Plan,
    opts: &ApplyOptions,
) -> Result<ApplyReport, String> {
    apply_stamped(tree, dest, plan, opts, None)
}

/// [`apply`], then (in an output directory, when `stamp` is given) the stamp that lets the next plan skip the render
/// when nothing changed ([`stamp`]). The old stamp is removed first, whatever
/// `stamp` is.
pub fn apply_stamped(
    tree: &OutputTree,
    dest: &Destination,
    plan: &Plan,
    opts: &ApplyOptions,
    stamp: Option<&stamp::StampInputs>,
) -> Result<ApplyReport, String> {
    if !opts.adopt {
        refuse_conflicts(plan)?;
    }
    let root = Root::create(&dest.dir)?;
    let stamped = dest.manifest == MANIFEST_PATH;
    if stamped {
        stamp::remove(&root)?;
    }
    let old = Manifest::load(Some(&root), &dest.manifest)?;
    remove_stale_temporaries(&root, dest, &old, tree)?;
    let new = narrowed(tree, &old, plan);
    // Widen first: every path this apply may write or still has to delete is
    // managed before anything is touched, so a rerun after a crash converges.
    let mut widened = old.clone();
    for (path, entry) in &new.files {
        widened.files.insert(path.clone(), entry.clone());
    }
    if widened != old {
        widened.save(&root, &dest.manifest)?;
    }
    let mut report = ApplyReport::default();
    // Deletions first (a file may give way to a directory of the same
    // name), then every write as one batch (two syncs, not two per file),
    // then modes and owners of files whose bytes did not change.
    for change in plan.changes.iter().filter(|c| c.action == Action::Delete) {
        root.remove(&change.path, dest.prune)?;
        report.deleted.push(change.path.clone());
    }
    write_changed(&root, tree, plan, opts.ownership, &mut report)?;
    for change in &plan.changes {
        if matches!(change.action, Action::Mode | Action::Owner) {
            set_mode_and_owner(&root, tree, change, opts.ownership, &mut report)?;
        }
    }
    if new != widened {
        new.save(&root, &dest.manifest)?;
    }
    report.pending = pending_ownership(&root, tree, opts.ownership)?;
    if let Some(inputs) = stamp.filter(|_| stamped) {
        // The apply is done: a stamp that cannot be written only means the
        // next plan renders.
        let _ = stamp::record(&root, &dest.manifest, tree, opts.ownership, inputs);
    }
    Ok(report)
}

/// Writes every created, updated or adopted file in one batch.
fn write_changed(
    root: &Root,
    tree: &OutputTree,
    plan: &Plan,
    ownership: Ownership,
    report: &mut ApplyReport,
) -> Result<(), String> {
    let writes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Conflict))
        .collect();
    let files: Vec<(&str, NewFile)> = writes
        .iter()
        .map(|change| {
            let file = &tree.files[change.path.as_str()];
            let new = NewFile {
                contents: &file.contents,
                mode: file.mode,
                owner: ownership.wanted(file.group.as_deref()),
                durability: root::Durability::Sync,
            };
            (change.path.as_str(), new)
        })
        .collect();
    root.write_batch(&files)?;
    report
        .written
        .extend(writes.iter().map(|change| change.path.clone()));
    Ok(())
}

/// Sets the mode and owner of a file whose bytes are already right.
fn set_mode_and_owner(
    root: &Root,
    tree: &OutputTree,
    change: &Change,
    ownership: Ownership,
    report: &mut ApplyReport,
) -> Result<(), String> {
    let path = change.path.as_str();
    let file = &tree.files[path];
    if let Some(owner) = ownership.wanted(file.group.as_deref()) {
        root.set_owner(path, owner)?;
    }
    root.set_mode(path, file.mode)?;
    if change.action == Action::Mode {
        report.modes.push(change.path.clone());
    } else {
        report.owners.push(change.path.clone());
    }
    Ok(())
}

/// The files whose owner is not what it must be where installed and that
/// apply did not set: every one when not root, those of a group missing
/// here when root.
fn pending_ownership(
    root: &Root,
    tree: &OutputTree,
    ownership: Ownership,
) -> Result<Vec<OwnershipFix>, String> {
    let mut out = Vec::new();
    for (path, file) in &tree.files {
        let group = file.group.as_deref();
        if ownership.wanted(group).is_some() {
            continue;
        }
        let Some(meta) = root.meta(path)? else {
            continue;
        };
        let wanted = owner::installed_owner(group);
        if wanted == Some(meta.owner) && meta.mode == file.mode {
            continue;
        }
        out.push(OwnershipFix {
            path: root.shown(path),
            owner: format!("root:{}", group.unwrap_or("root")),
            mode: file.mode,
            mode_differs: meta.mode != file.mode,
        });
    }
    out.sort();
    Ok(out)
}

/// Hashes of the files apply manages in a destination, by path.
pub fn managed(dest: &Destination) -> Result<BTreeMap<String, String>, String> {
    let root = Root::open(&dest.dir)?;
    Ok(Manifest::load(root.as_ref(), &dest.manifest)?
        .files
        .into_iter()
        .map(|(p, e)| (p, e.sha256))
        .collect())
}
