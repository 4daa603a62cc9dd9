//! Writing whole trees: `render`'s new output directory, and the test
//! variants' per-host install (`OutputTree::install_into`). Every file goes
//! through [`Root`](crate::fs::root::Root): relative to the directory, no link
//! followed, directories 0755 whatever the umask.

use std::path::{Path, PathBuf};

use crate::fs::root::{components, Durability, EntryKind, NewFile, Root};
use crate::render::OutputTree;

/// Kept for the verify runtimes, which ask before handing files over.
pub use crate::fs::owner::running_as_root;
pub use crate::fs::root::TEMP_MARKER;

/// Writes every file of the tree below `dir` with its mode (owners are
/// left to apply).
pub fn write_tree_into(tree: &OutputTree, dir: &Root) -> Result<(), String> {
    for (rel, file) in &tree.files {
        dir.write(
            rel,
            NewFile {
                contents: &file.contents,
                mode: file.mode,
                owner: None,
                durability: Durability::Lazy,
            },
        )?;
    }
    Ok(())
}

/// Deletes a directory below `root` and everything in it, never following
/// a link (a link inside is deleted as a link).
fn remove_tree(root: &Root, rel: &str) -> Result<(), String> {
    for (name, kind) in root.list(rel)? {
        let child = format!("{rel}/{name}");
        if kind == EntryKind::Dir {
            remove_tree(root, &child)?;
        } else {
            root.remove_file(&child)?;
        }
    }
    root.remove_empty_dir(rel)
}

/// Writes a tree into `out`, which must not exist or be empty. A new
/// directory is staged beside `out` and renamed into place, so a failure
/// leaves nothing; an existing empty directory (the current one included)
/// is staged inside and filled by renaming each top entry into it, and a
/// failure removes what was moved.
pub fn write_new_tree(tree: &OutputTree, out: &Path) -> Result<(), String> {
    match Root::open(out)? {
        Some(existing) => fill_empty_dir(tree, &existing),
        None => write_beside(tree, out),
    }
}

/// `out` does not exist: stage `.<name>.mqttforge-<pid>` beside it, rename.
fn write_beside(tree: &OutputTree, out: &Path) -> Result<(), String> {
    let parent_path = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = out.file_name().and_then(|n| n.to_str()) else {
        return Err(format!("{} is not a directory name", out.display()));
    };
    components(name)?;
    let parent = Root::create(&parent_path)?;
    let staging = format!(".{name}.mqttforge-{}", std::process::id());
    let result = parent
        .subdir(&staging, true)?
        .ok_or_else(|| format!("cannot create {}", parent.shown(&staging).display()))
        .and_then(|dir| write_tree_into(tree, &dir))
        .and_then(|()| parent.rename(&staging, name));
    if result.is_err() {
        let _ = remove_tree(&parent, &staging);
    }
    result
}

/// `out` exists: it must be empty; stage inside, then move each top entry.
fn fill_empty_dir(tree: &OutputTree, out: &Root) -> Result<(), String> {
    if !out.list("")?.is_empty() {
        return Err(format!(
            "{} is not empty; render writes a new tree (use `mqttforge apply` to update one)",
            out.path().display()
        ));
    }
    let staging = format!(".mqttforge-staging-{}", std::process::id());
    let mut moved: Vec<String> = Vec::new();
    let result = out
        .subdir(&staging, true)?
        .ok_or_else(|| format!("cannot create {}", out.shown(&staging).display()))
        .and_then(|dir| write_tree_into(tree, &dir))
        .and_then(|()| {
            for (name, _) in out.list(&staging)? {
                out.rename(&format!("{staging}/{name}"), &name)?;
                moved.push(name);
            }
            out.remove_empty_dir(&staging)
        });
    if result.is_err() {
        let _ = remove_tree(out, &staging);
        for name in moved {
            let _ = remove_tree(out, &name).or_else(|_| out.remove_file(&name));
        }
    }
    result
}

impl OutputTree {
    /// Installs the tree the way a test variant expects it: each file at its
    /// install path under `root/<host>/` for each of its hosts, with its
    /// mode (owners untouched). Prefer [`super::install_host`], which is
    /// what `apply --root --host` does: manifest, lock and owners included.
    pub fn install_into(&self, root: &Path) -> Result<(), String> {
        let dir = Root::create(root)?;
        for file in self.files.values() {
            let Some(install) = &file.install else {
                continue;
            };
            for host in &file.hosts {
                dir.write(
                    &format!("{host}/{}", install.trim_start_matches('/')),
                    NewFile {
                        contents: &file.contents,
                        mode: file.mode,
                        owner: None,
                        durability: Durability::Lazy,
                    },
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{OutputFile, Sensitivity};

    fn tree() -> OutputTree {
        let mut t = OutputTree::default();
        for (path, mode) in [("a/b.conf", 0o644), ("c.sh", 0o750)] {
            t.files.insert(
                path.into(),
                OutputFile {
                    contents: b"x\n".to_vec(),
                    mode,
                    sensitivity: Sensitivity::Public,
                    install: None,
                    hosts: Vec::new(),
                    group: None,
                },
            );
        }
        t
    }

    #[test]
    fn a_new_tree_is_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write_new_tree(&tree(), &out).unwrap();
        assert!(out.join("a/b.conf").is_file() && out.join("c.sh").is_file());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging left"
        );
        let e = write_new_tree(&tree(), &out).unwrap_err();
        assert!(e.contains("is not empty"), "{e}");
    }

    #[test]
    fn an_empty_existing_directory_is_filled_in_place() {
        let dir = tempfile::tempdir().unwrap();
        write_new_tree(&tree(), dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "c.sh"]);
    }
}
