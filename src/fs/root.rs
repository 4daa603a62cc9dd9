//! The one way mqttforge touches an output tree: every path it writes, reads
//! back, changes the owner or mode of, or deletes inside a root (apply's
//! output directory, render's new tree, a host's install root, a PKI
//! directory) is opened relative to a directory descriptor of that root, one
//! component at a time, with `O_NOFOLLOW | O_DIRECTORY`.
//!
//! So a symbolic link planted inside the tree can never redirect a write, a
//! delete, a `chown` or a `chmod`: a link (or a file) where a directory is
//! expected is refused with an error naming it, and a link where a file is
//! expected is refused too (never followed, never overwritten through). Only
//! the root itself is opened as the user named it.
//!
//! Files are replaced atomically: a temporary beside the target created with
//! `O_CREAT | O_EXCL | O_NOFOLLOW` and its final mode (and owner, when root),
//! written, fsynced, `renameat` over the target, then the directory fsynced.
//! Directories are created 0755 whatever the umask (`fchmod` after `mkdirat`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::fs::{self as sys, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// Marker in the names of temporary files: `.<name>.mqttforge-tmp-<pid>`.
/// Leftovers of a killed run are removed by the next one, under its lock.
pub const TEMP_MARKER: &str = ".mqttforge-tmp-";

/// Mode of every directory mqttforge creates.
pub const MODE_DIR: u32 = 0o755;

/// How long a second writer waits for the lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::RDONLY);
/// A file opened to be read or to have its owner or mode changed: never
/// through a link, never blocking on a FIFO.
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

/// A numeric owner and group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// What apply compares of a file besides its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMeta {
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    pub owner: Owner,
    /// Last modification, nanoseconds since the epoch (PKI index checks).
    pub modified_ns: i128,
    /// Inode and size: an atomic replace always gives a new inode.
    pub inode: u64,
    pub size: u64,
}

/// Whether a write must reach the disk before the call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file and its directory.
    Sync,
    /// Leave it to the page cache (bulk leaf certificates and keys).
    Lazy,
}

/// A file to write: bytes, mode, and the owner to give it (only when root).
#[derive(Clone, Copy, Debug)]
pub struct NewFile<'a> {
    pub contents: &'a [u8],
    pub mode: u32,
    pub owner: Option<Owner>,
    pub durability: Durability,
}

/// What a directory entry is (links are reported, never followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// An open directory that every path below is resolved against.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
    /// The directory the last operation resolved (trees are written in
    /// path order, so most files share it), dropped whenever a directory
    /// is removed or moved.
    last_dir: Mutex<Option<(String, Arc<OwnedFd>)>>,
}

/// An exclusive `flock` on a lock file, released when dropped.
#[derive(Debug)]
pub struct Lock {
    _fd: OwnedFd,
}

fn os_error(action: &str, path: &Path, e: Errno) -> String {
    format!(
        "cannot {action} {}: {}",
        path.display(),
        std::io::Error::from(e)
    )
}

/// The components of a relative path inside a root: no empty, `.` or `..`
/// component, not absolute, no NUL.
pub fn components(rel: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let bad = rel.is_empty()
        || rel.contains('\0')
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..");
    if bad {
        return Err(format!(
            "`{rel}` is not a path inside the output tree (absolute, empty, or with `.`/`..` components)"
        ));
    }
    Ok(parts)
}

/// The error for a link or a file where a directory is expected.
fn not_a_directory(parent: &OwnedFd, name: &str, shown: &Path) -> String {
    match sys::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => format!(
            "refusing to follow the symbolic link {}: mqttforge writes only inside its output tree; replace the link with a directory",
            shown.display()
        ),
        _ => format!(
            "{} is in the way: a directory is expected there; move it away",
            shown.display()
        ),
    }
}

impl Root {
    /// Opens an existing directory as a root (`None` when it does not exist).
    /// The path itself is the user's: a link naming the root is followed.
    pub fn open(path: &Path) -> Result<Option<Root>, String> {
        match sys::open(path, DIR_FLAGS.difference(OFlags::NOFOLLOW), Mode::empty()) {
            Ok(fd) => Ok(Some(Root {
                fd,
                path: path.to_path_buf(),
                last_dir: Mutex::new(None),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::NOTDIR) => Err(format!("{} is not a directory", path.display())),
            Err(e) => Err(os_error("open", path, e)),
        }
    }

    /// Opens a directory as a root, creating it (and missing parents, each
    /// 0755 whatever the umask) when it does not exist.
    pub fn create(path: &Path) -> Result<Root, String> {
        if let Some(root) = Root::open(path)? {
            return Ok(root);
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => Root::create(p)?,
            _ => Root::open(Path::new("."))?.ok_or("the current directory is gone")?,
        };
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(format!("cannot create {}", path.display()));
        };
        let fd = parent.make_dir(&parent.fd, name, &parent.path.join(name))?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
            last_dir: Mutex::new(None),
        })
    }

    /// The root as the user named it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path below the root, for messages.
    pub fn shown(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// Creates `name` in `parent` (0755, fsynced) and opens it, no-follow.
    fn make_dir(&self, parent: &OwnedFd, name: &str, shown: &Path) -> Result<OwnedFd, String> {
        let created = match sys::mkdirat(parent, name, Mode::from_raw_mode(MODE_DIR)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(os_error("create", shown, e)),
        };
        let fd = match sys::openat(parent, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::LOOP | Errno::NOTDIR) => return Err(not_a_directory(parent, name, shown)),
            Err(e) => return Err(os_error("open", shown, e)),
        };
        if created {
            // The umask may have taken bits away (or, at 000, left 0777 on
            // a mkdir without a mode): state the mode.
            sys::fchmod(&fd, Mode::from_raw_mode(MODE_DIR))
                .map_err(|e| os_error("set the mode of", shown, e))?;
            sys::fsync(parent).map_err(|e| os_error("sync the directory of", shown, e))?;
        }
        Ok(fd)
    }

    /// Walks `dirs` from the root without following links; creates missing
    /// directories when `create`, else `None` when one is missing.
    fn walk(&self, dirs: &[&str], create: bool) -> Result<Option<Arc<OwnedFd>>, String> {
        let key = dirs.join("/");
        if let Ok(last) = self.last_dir.lock() {
            if let Some((k, fd)) = last.as_ref().filter(|(k, _)| *k == key) {
                debug_assert_eq!(k, &key);
                return Ok(Some(Arc::clone(fd)));
            }
        }
        let Some(fd) = self.walk_uncached(dirs, create)? else {
            return Ok(None);
        };
        let fd = Arc::new(fd);
        if let Ok(mut last) = self.last_dir.lock() {
            *last = Some((key, Arc::clone(&fd)));
        }
        Ok(Some(fd))
    }

    /// Forgets the cached directory (one was removed or moved).
    fn forget_dirs(&self) {
        if let Ok(mut last) = self.last_dir.lock() {
            *last = None;
        }
    }

    fn walk_uncached(&self, dirs: &[&str], create: bool) -> Result<Option<OwnedFd>, String> {
        let mut cur = sys::openat(&self.fd, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| os_error("open", &self.path, e))?;
        let mut shown = self.path.clone();
        for name in dirs {
            shown.push(name);
            cur = match sys::openat(&cur, *name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => self.make_dir(&cur, name, &shown)?,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(not_a_directory(&cur, name, &shown))
                }
                Err(e) => return Err(os_error("open", &shown, e)),
            };
        }
        Ok(Some(cur))
    }

    /// The directory holding `rel` and `rel`'s file name.
    fn parent_of<'r>(
        &self,
        rel: &'r str,
        create: bool,
    ) -> Result<(Option<Arc<OwnedFd>>, &'r str), String> {
        let parts = components(rel)?;
        let (name, dirs) = parts.split_last().expect("components are never empty");
        Ok((self.walk(dirs, create)?, name))
    }

    /// A directory below the root as a root of its own (the PKI directory
    /// inside an output tree), reached without following links.
    pub fn subdir(&self, rel: &str, create: bool) -> Result<Option<Root>, String> {
        let parts = components(rel)?;
        Ok(self.walk_uncached(&parts, create)?.map(|fd| Root {
            fd,
            path: self.shown(rel),
            last_dir: Mutex::new(None),
        }))
    }

    /// Opens a regular file for reading, or `None`; a link or anything else
    /// than a file at `rel` is an error naming it.
    fn open_file(&self, rel: &str) -> Result<Option<(File, sys::Stat)>, String> {
        let (Some(dir), name) = self.parent_of(rel, false)? else {
            return Ok(None);
        };
        let shown = self.shown(rel);
        let fd = match sys::openat(&dir, name, FILE_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => {
                return Err(format!(
                    "{} is a symbolic link; refusing to follow it (mqttforge manages regular files only)",
                    shown.display()
                ))
            }
            Err(e) => return Err(os_error("open", &shown, e)),
        };
        let st = sys::fstat(&fd).map_err(|e| os_error("inspect", &shown, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(format!(
                "{} exists and is not a regular file",
                shown.display()
            ));
        }
        Ok(Some((File::from(fd), st)))
    }

    /// A file's bytes and metadata; `None` when it does not exist.
    pub fn read(&self, rel: &str) -> Result<Option<(Vec<u8>, FileMeta)>, String> {
        let Some((mut file, st)) = self.open_file(rel)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(st.st_size).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {}: {e}", self.shown(rel).display()))?;
        Ok(Some((bytes, meta_of(&st))))
    }

    /// A file's bytes and full `stat` (taken before the read, on the same
    /// descriptor); `None` when it does not exist.
    pub fn read_stat(&self, rel: &str) -> Result<Option<(Vec<u8>, sys::Stat)>, String> {
        let Some((mut file, st)) = self.open_file(rel)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(st.st_size).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {}: {e}", self.shown(rel).display()))?;
        Ok(Some((bytes, st)))
    }

    /// A regular file's full `stat` without opening it (`statat`, no link
    /// followed, directories reached without following links); `None` when
    /// it or its directory does not exist, an error when something else
    /// than a regular file is there.
    pub fn stat(&self, rel: &str) -> Result<Option<sys::Stat>, String> {
        let (Some(dir), name) = self.parent_of(rel, false)? else {
            return Ok(None);
        };
        match sys::statat(&*dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => Ok(Some(st)),
            Ok(_) => Err(format!(
                "{} exists and is not a regular file",
                self.shown(rel).display()
            )),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(os_error("inspect", &self.shown(rel), e)),
        }
    }

    /// A file's metadata (no-follow); `None` when it does not exist.
    pub fn meta(&self, rel: &str) -> Result<Option<FileMeta>, String> {
        Ok(self.open_file(rel)?.map(|(_, st)| meta_of(&st)))
    }

    /// Whether a regular file exists at `rel`.
    pub fn is_file(&self, rel: &str) -> Result<bool, String> {
        Ok(self.open_file(rel)?.is_some())
    }

    /// Replaces `rel` atomically (creating missing directories 0755).
    pub fn write(&self, rel: &str, file: NewFile<'_>) -> Result<(), String> {
        let (dir, name) = self.parent_of(rel, true)?;
        let dir = dir.expect("created");
        let shown = self.shown(rel);
        let tmp = format!(".{name}{TEMP_MARKER}{}", std::process::id());
        let result = write_temporary(&dir, &tmp, file, &shown).and_then(|()| {
            sys::renameat(&dir, tmp.as_str(), &dir, name)
                .map_err(|e| os_error("replace", &shown, e))?;
            if file.durability == Durability::Sync {
                sys::fsync(&dir).map_err(|e| os_error("sync the directory of", &shown, e))?;
            }
            Ok(())
        });
        if result.is_err() {
            let _ = sys::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
        }
        result
    }

    /// Replaces many files with two durability barriers in all instead of
    /// two per file: every temporary is written, one `syncfs` makes their
    /// contents durable, every temporary is renamed over its target, and a
    /// second `syncfs` makes the renames durable. Each file is still
    /// replaced atomically (a reader, or a run killed at any point, sees the
    /// old file or the new one; a killed run's temporaries carry
    /// [`TEMP_MARKER`] and the next run removes them), and the whole batch
    /// is on disk when this returns. The files' own `durability` is ignored.
    /// On an error, the temporaries not yet renamed are removed; files
    /// already renamed stay replaced (as with one [`Root::write`] each).
    pub fn write_batch(&self, files: &[(&str, NewFile<'_>)]) -> Result<(), String> {
        let tmp_of = |name: &str| format!(".{name}{TEMP_MARKER}{}", std::process::id());
        let mut staged: Vec<&str> = Vec::with_capacity(files.len());
        let result = self
            .stage_all(files, &tmp_of, &mut staged)
            .and_then(|()| sys::syncfs(&self.fd).map_err(|e| os_error("sync", &self.path, e)))
            .and_then(|()| self.rename_staged(&mut staged, &tmp_of))
            .and_then(|()| sys::syncfs(&self.fd).map_err(|e| os_error("sync", &self.path, e)));
        for rel in staged {
            if let Ok((Some(dir), name)) = self.parent_of(rel, false) {
                let _ = sys::unlinkat(&dir, tmp_of(name).as_str(), AtFlags::empty());
            }
        }
        result
    }

    /// The first half of [`Root::write_batch`] for one file: its temporary
    /// beside `rel`, written but neither synced nor renamed. The caller
    /// passes every staged path to [`Root::commit_staged`] (or, on an
    /// error, to [`Root::discard_staged`]).
    pub fn stage(&self, rel: &str, file: NewFile<'_>) -> Result<(), String> {
        let mut staged = Vec::with_capacity(1);
        self.stage_all(&[(rel, file)], &|name| temporary_of(name), &mut staged)
            .inspect_err(|_| self.discard_staged(&[rel]))
    }

    /// The second half: one `syncfs` makes every staged temporary durable,
    /// each is renamed over its target in order, and a second `syncfs`
    /// makes the renames durable. On an error, the temporaries not yet
    /// renamed are removed.
    pub fn commit_staged(&self, rels: &[&str]) -> Result<(), String> {
        let mut staged: Vec<&str> = rels.to_vec();
        let tmp_of = |name: &str| temporary_of(name);
        let result = sys::syncfs(&self.fd)
            .map_err(|e| os_error("sync", &self.path, e))
            .and_then(|()| self.rename_staged(&mut staged, &tmp_of))
            .and_then(|()| sys::syncfs(&self.fd).map_err(|e| os_error("sync", &self.path, e)));
        self.discard_staged(&staged);
        result
    }

    /// Removes the temporaries of staged paths (best effort).
    pub fn discard_staged(&self, rels: &[&str]) {
        for rel in rels {
            if let Ok((Some(dir), name)) = self.parent_of(rel, false) {
                let _ = sys::unlinkat(&dir, temporary_of(name).as_str(), AtFlags::empty());
            }
        }
    }

    /// Writes each file's temporary beside its target; `staged` lists the
    /// targets whose temporary exists.
    fn stage_all<'f>(
        &self,
        files: &[(&'f str, NewFile<'_>)],
        tmp_of: &dyn Fn(&str) -> String,
        staged: &mut Vec<&'f str>,
    ) -> Result<(), String> {
        for (rel, file) in files {
            let (dir, name) = self.parent_of(rel, true)?;
            let dir = dir.expect("created");
            let tmp = tmp_of(name);
            let lazy = NewFile {
                durability: Durability::Lazy,
                ..*file
            };
            write_temporary(&dir, &tmp, lazy, &self.shown(rel))?;
            staged.push(rel);
        }
        Ok(())
    }

    /// Renames each staged temporary over its target, in order; what is
    /// left in `staged` was not renamed.
    fn rename_staged(
        &self,
        staged: &mut Vec<&str>,
        tmp_of: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let mut done = 0;
        let result = staged.iter().try_for_each(|rel| {
            let (dir, name) = self.parent_of(rel, false)?;
            let shown = self.shown(rel);
            let dir = dir.ok_or_else(|| format!("the directory of {} is gone", shown.display()))?;
            sys::renameat(&dir, tmp_of(name).as_str(), &dir, name)
                .map_err(|e| os_error("replace", &shown, e))?;
            done += 1;
            Ok(())
        });
        staged.drain(..done);
        result
    }

    /// Sets a file's mode through its descriptor (never through a link).
    pub fn set_mode(&self, rel: &str, mode: u32) -> Result<(), String> {
        let shown = self.shown(rel);
        let (file, _) = self
            .open_file(rel)?
            .ok_or_else(|| format!("cannot set the mode of {}: it is gone", shown.display()))?;
        sys::fchmod(&file, Mode::from_raw_mode(mode))
            .map_err(|e| os_error("set the mode of", &shown, e))
    }

    /// Sets a file's owner and group through its descriptor (never through a link).
    pub fn set_owner(&self, rel: &str, owner: Owner) -> Result<(), String> {
        let shown = self.shown(rel);
        let (file, _) = self
            .open_file(rel)?
            .ok_or_else(|| format!("cannot change the owner of {}: it is gone", shown.display()))?;
        fchown(&file, owner, &shown)
    }

    /// Deletes a file, then (with `prune`) the directories it leaves empty
    /// (never the root, never outside it).
    pub fn remove(&self, rel: &str, prune: bool) -> Result<(), String> {
        let parts = components(rel)?;
        let (name, dirs) = parts.split_last().expect("components are never empty");
        let Some(dir) = self.walk(dirs, false)? else {
            return Ok(());
        };
        match sys::unlinkat(&dir, *name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(os_error("delete", &self.shown(rel), e)),
        }
        let _ = sys::fsync(&dir);
        drop(dir);
        if !prune {
            return Ok(());
        }
        self.forget_dirs();
        for depth in (1..=dirs.len()).rev() {
            let Some(parent) = self.walk(&dirs[..depth - 1], false)? else {
                break;
            };
            if sys::unlinkat(&parent, dirs[depth - 1], AtFlags::REMOVEDIR).is_err() {
                let _ = sys::fsync(&parent);
                return Ok(());
            }
            let _ = sys::fsync(&parent);
        }
        Ok(())
    }

    /// Moves `from` to `to` (both below the root), never replacing what is
    /// at `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), String> {
        let (Some(from_dir), from_name) = self.parent_of(from, false)? else {
            return Err(format!("{} is gone", self.shown(from).display()));
        };
        let (to_dir, to_name) = self.parent_of(to, true)?;
        let to_dir = to_dir.expect("created");
        self.forget_dirs();
        let shown = self.shown(to);
        let moved = sys::renameat_with(
            &from_dir,
            from_name,
            &to_dir,
            to_name,
            sys::RenameFlags::NOREPLACE,
        );
        match moved {
            Ok(()) => {}
            // File systems without renameat2 flags: check, then rename.
            Err(Errno::INVAL | Errno::NOSYS) => {
                if sys::statat(&to_dir, to_name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    return Err(format!("{} already exists", shown.display()));
                }
                sys::renameat(&from_dir, from_name, &to_dir, to_name)
                    .map_err(|e| os_error("move into place", &shown, e))?;
            }
            Err(e) => return Err(os_error("move into place", &shown, e)),
        }
        sys::fsync(&to_dir).map_err(|e| os_error("sync the directory of", &shown, e))
    }

    /// Removes an empty directory below the root.
    pub fn remove_empty_dir(&self, rel: &str) -> Result<(), String> {
        self.forget_dirs();
        let (Some(dir), name) = self.parent_of(rel, false)? else {
            return Ok(());
        };
        match sys::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(os_error("delete", &self.shown(rel), e)),
        }
    }

    /// Deletes a file only (no pruning); absent is fine.
    pub fn remove_file(&self, rel: &str) -> Result<(), String> {
        let (Some(dir), name) = self.parent_of(rel, false)? else {
            return Ok(());
        };
        match sys::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(os_error("delete", &self.shown(rel), e)),
        }
    }

    /// The open directory at `rel` (`""`: the root), no link followed.
    fn dir_at(&self, rel: &str) -> Result<Option<Arc<OwnedFd>>, String> {
        if rel.is_empty() {
            self.walk(&[], false)
        } else {
            self.walk(&components(rel)?, false)
        }
    }

    /// The entries of the directory at `rel` whose names `keep` accepts,
    /// unsorted (`.` and `..` left out); empty when it does not exist.
    fn entries(
        &self,
        rel: &str,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Result<Vec<(String, EntryKind)>, String> {
        let Some(dir) = self.dir_at(rel)? else {
            return Ok(Vec::new());
        };
        let shown = self.shown(rel);
        let entries = sys::Dir::read_from(&dir).map_err(|e| os_error("read", &shown, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| os_error("read", &shown, e))?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." || !keep(name) {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => EntryKind::File,
                FileType::Directory => EntryKind::Dir,
                FileType::Symlink => EntryKind::Symlink,
                FileType::Unknown => kind_at(&dir, name),
                _ => EntryKind::Other,
            };
            out.push((name.to_string(), kind));
        }
        Ok(out)
    }

    /// Names and kinds of the entries of a directory below the root (`""`
    /// for the root itself), sorted; empty when it does not exist.
    pub fn list(&self, rel: &str) -> Result<Vec<(String, EntryKind)>, String> {
        let mut out = self.entries(rel, |_| true)?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// A directory's own metadata (`""`: the root); `None` when it does not exist.
    pub fn dir_meta(&self, rel: &str) -> Result<Option<FileMeta>, String> {
        let Some(dir) = self.dir_at(rel)? else {
            return Ok(None);
        };
        let st = sys::fstat(&dir).map_err(|e| os_error("inspect", &self.shown(rel), e))?;
        Ok(Some(meta_of(&st)))
    }

    /// The regular files of a directory below the root whose names end
    /// with `suffix`, with their metadata (links and other kinds left out),
    /// sorted; empty when the directory does not exist. One `readdir` and a
    /// `statat` per file.
    pub fn list_files(&self, rel: &str, suffix: &str) -> Result<Vec<(String, FileMeta)>, String> {
        let Some(dir) = self.dir_at(rel)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, kind) in self.entries(rel, |n| n.ends_with(suffix))? {
            if kind != EntryKind::File {
                continue;
            }
            match sys::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                    out.push((name, meta_of(&st)));
                }
                Ok(_) | Err(Errno::NOENT) => {}
                Err(e) => return Err(os_error("inspect", &self.shown(rel).join(&name), e)),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Removes the temporaries a killed run left in directory `rel`: every
    /// file named `.<base>.mqttforge-tmp-<pid>` for a base in `bases` (any
    /// base when `bases` is `None`). Returns how many were removed.
    pub fn remove_temporaries(&self, rel: &str, bases: Option<&[&str]>) -> Result<usize, String> {
        // A link where a directory was is reported by the write that needs it.
        let Ok(Some(fd)) = self.dir_at(rel) else {
            return Ok(0);
        };
        let mut removed = 0;
        for (name, kind) in self.entries(rel, |n| n.contains(TEMP_MARKER))? {
            let Some(at) = name.find(TEMP_MARKER) else {
                continue;
            };
            let base = name.get(1..at).unwrap_or_default();
            let ours = bases.is_none_or(|b| b.contains(&base));
            if kind == EntryKind::Dir || !name.starts_with('.') || !ours {
                continue;
            }
            match sys::unlinkat(&fd, name.as_str(), AtFlags::empty()) {
                Ok(()) => removed += 1,
                Err(Errno::NOENT) => {}
                Err(e) => return Err(os_error("delete", &self.shown(rel).join(&name), e)),
            }
        }
        Ok(removed)
    }

    /// Takes an exclusive lock on `rel` (created empty, 0644; never
    /// rewritten, so it changes nothing a snapshot compares), waiting up
    /// to `wait` for another holder; the error names the holder's pid
    /// (from /proc/locks).
    pub fn lock(&self, rel: &str, wait: Duration) -> Result<Lock, String> {
        let (dir, name) = self.parent_of(rel, true)?;
        let dir = dir.expect("created");
        let shown = self.shown(rel);
        let flags = OFlags::RDONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match sys::openat(&dir, name, flags, Mode::from_raw_mode(0o644)) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => {
                return Err(format!(
                    "{} is a symbolic link; refusing to follow it",
                    shown.display()
                ))
            }
            Err(e) => return Err(os_error("open the lock", &shown, e)),
        };
        let deadline = Instant::now() + wait;
        loop {
            match sys::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(Lock { _fd: fd }),
                Err(Errno::WOULDBLOCK | Errno::INTR) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(Errno::WOULDBLOCK) => {
                    let holder = holder_pid(&fd).map_or("unknown".to_string(), |p| p.to_string());
                    return Err(format!(
                        "{} is held by another mqttforge (pid {holder}); waited {} s for it. Run one apply or PKI command at a time on a tree",
                        shown.display(),
                        wait.as_secs(),
                    ));
                }
                Err(e) => return Err(os_error("lock", &shown, e)),
            }
        }
    }
}

/// The pid holding a `flock` on the file, from /proc/locks
/// (`1: FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF`).
fn holder_pid(fd: &OwnedFd) -> Option<u32> {
    let st = sys::fstat(fd).ok()?;
    let device = format!(
        "{:02x}:{:02x}:{}",
        sys::major(st.st_dev),
        sys::minor(st.st_dev),
        st.st_ino
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&device.as_str()))
            .then(|| fields.get(4)?.parse().ok())?
    })
}

fn kind_at(dir: &OwnedFd, name: &str) -> EntryKind {
    match sys::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        },
        Err(_) => EntryKind::Other,
    }
}

fn meta_of(st: &sys::Stat) -> FileMeta {
    FileMeta {
        mode: st.st_mode & 0o7777,
        owner: Owner {
            uid: st.st_uid,
            gid: st.st_gid,
        },
        modified_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
        inode: st.st_ino,
        size: u64::try_from(st.st_size).unwrap_or(0),
    }
}

fn fchown(fd: &impl AsFd, owner: Owner, shown: &Path) -> Result<(), String> {
    sys::fchown(
        fd,
        Some(sys::Uid::from_raw(owner.uid)),
        Some(sys::Gid::from_raw(owner.gid)),
    )
    .map_err(|e| os_error("change the owner of", shown, e))
}

/// Creates the temporary (exclusively, never through a link) with its final
/// mode and owner, writes and (when asked) fsyncs it.
/// The temporary a write of `name` goes through.
fn temporary_of(name: &str) -> String {
    format!(".{name}{TEMP_MARKER}{}", std::process::id())
}

fn write_temporary(
    dir: &OwnedFd,
    tmp: &str,
    file: NewFile<'_>,
    shown: &Path,
) -> Result<(), String> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(file.mode);
    let fd = match sys::openat(dir, tmp, flags, mode) {
        // A leftover of a killed run with the same pid (the lock holder
        // removes the others): removed, then created anew.
        Err(Errno::EXIST) => {
            let _ = sys::unlinkat(dir, tmp, AtFlags::empty());
            sys::openat(dir, tmp, flags, mode)
        }
        other => other,
    }
    .map_err(|e| os_error("write", shown, e))?;
    // The umask may have taken bits away from the mode; never added any.
    sys::fchmod(&fd, mode).map_err(|e| os_error("set the mode of", shown, e))?;
    let created_as = |fd: &OwnedFd| sys::fstat(fd).map(|st| meta_of(&st).owner).ok();
    if let Some(owner) = file.owner.filter(|o| Some(*o) != created_as(&fd)) {
        fchown(&fd, owner, shown)?;
        // chown clears set-id bits; state the mode again after it.
        sys::fchmod(&fd, Mode::from_raw_mode(file.mode))
            .map_err(|e| os_error("set the mode of", shown, e))?;
    }
    let mut out = File::from(fd);
    out.write_all(file.contents)
        .map_err(|e| format!("cannot write {}: {e}", shown.display()))?;
    if file.durability == Durability::Sync {
        out.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", shown.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn file(contents: &[u8], mode: u32) -> NewFile<'_> {
        NewFile {
            contents,
            mode,
            owner: None,
            durability: Durability::Sync,
        }
    }

    #[test]
    fn writes_atomically_with_mode_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(&dir.path().join("out")).unwrap();
        root.write("a/b/c.conf", file(b"one", 0o640)).unwrap();
        root.write("a/b/c.conf", file(b"two", 0o600)).unwrap();
        let (bytes, meta) = root.read("a/b/c.conf").unwrap().unwrap();
        assert_eq!((bytes.as_slice(), meta.mode), (&b"two"[..], 0o600));
        assert_eq!(root.list("a/b").unwrap().len(), 1, "no temporary left");
        assert_eq!(root.read("a/none").unwrap(), None);
    }

    #[test]
    fn a_batch_replaces_every_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(&dir.path().join("out")).unwrap();
        root.write("a/old.conf", file(b"old", 0o644)).unwrap();
        root.write_batch(&[
            ("a/old.conf", file(b"new", 0o600)),
            ("a/b/c.conf", file(b"c", 0o640)),
            ("d.conf", file(b"d", 0o644)),
        ])
        .unwrap();
        let (bytes, meta) = root.read("a/old.conf").unwrap().unwrap();
        assert_eq!((bytes.as_slice(), meta.mode), (&b"new"[..], 0o600));
        assert_eq!(root.read("a/b/c.conf").unwrap().unwrap().0, b"c");
        assert_eq!(root.read("d.conf").unwrap().unwrap().0, b"d");
        let names: Vec<String> = root.list("a").unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names.len(), 2, "no temporary left: {names:?}");
    }

    #[test]
    fn a_failed_batch_removes_its_temporaries_and_keeps_the_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(&dir.path().join("out")).unwrap();
        root.write("a/keep.conf", file(b"old", 0o644)).unwrap();
        root.write("blocker", file(b"a file", 0o644)).unwrap();
        // The second file needs `blocker` to be a directory: staging fails
        // before anything is renamed.
        let err = root
            .write_batch(&[
                ("a/keep.conf", file(b"new", 0o644)),
                ("blocker/x.conf", file(b"x", 0o644)),
            ])
            .unwrap_err();
        assert!(err.contains("blocker"), "{err}");
        assert_eq!(root.read("a/keep.conf").unwrap().unwrap().0, b"old");
        assert_eq!(root.list("a").unwrap().len(), 1, "no temporary left");
    }

    #[test]
    fn a_link_where_a_directory_is_expected_is_refused_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("backup.sh"), "theirs").unwrap();
        let root = Root::create(&dir.path().join("out")).unwrap();
        symlink(&other, dir.path().join("out/backup")).unwrap();
        for result in [
            root.write("backup/backup.sh", file(b"ours", 0o750)),
            root.remove("backup/backup.sh", true),
            root.set_mode("backup/backup.sh", 0o777),
            root.read("backup/backup.sh").map(|_| ()),
        ] {
            let e = result.unwrap_err();
            assert!(
                e.contains("refusing to follow the symbolic link") && e.contains("out/backup"),
                "{e}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(other.join("backup.sh")).unwrap(),
            "theirs"
        );
        let meta = std::fs::metadata(other.join("backup.sh")).unwrap();
        assert_ne!(meta.permissions().mode() & 0o777, 0o777);
    }

    #[test]
    fn a_link_where_a_file_is_expected_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, "root only").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let root = Root::create(&dir.path().join("out")).unwrap();
        symlink(&target, dir.path().join("out/key")).unwrap();
        assert!(root
            .set_mode("key", 0o644)
            .unwrap_err()
            .contains("symbolic link"));
        assert!(root
            .set_owner("key", Owner { uid: 0, gid: 0 })
            .unwrap_err()
            .contains("symbolic link"));
        assert!(root.read("key").unwrap_err().contains("symbolic link"));
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        // Replacing it writes a file in place of the link, not through it.
        root.write("key", file(b"new", 0o600)).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "root only");
    }

    #[test]
    fn paths_must_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", "", "a/.."] {
            assert!(root.write(bad, file(b"x", 0o644)).is_err(), "{bad}");
        }
    }

    #[test]
    fn removes_empty_parents_only_and_never_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        root.write("d/e/f", file(b"1", 0o644)).unwrap();
        root.write("d/g", file(b"2", 0o644)).unwrap();
        root.remove("d/e/f", true).unwrap();
        assert!(!dir.path().join("d/e").exists());
        assert!(dir.path().join("d/g").exists());
        root.remove("d/g", true).unwrap();
        assert!(!dir.path().join("d").exists() && dir.path().exists());
    }

    #[test]
    fn temporaries_of_the_named_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        std::fs::write(dir.path().join(".acl.mqttforge-tmp-12"), "x").unwrap();
        std::fs::write(dir.path().join(".other.mqttforge-tmp-12"), "x").unwrap();
        std::fs::write(dir.path().join("acl"), "keep").unwrap();
        assert_eq!(root.remove_temporaries("", Some(&["acl"])).unwrap(), 1);
        assert!(dir.path().join(".other.mqttforge-tmp-12").exists());
        assert_eq!(root.remove_temporaries("", None).unwrap(), 1);
        assert!(dir.path().join("acl").exists());
    }

    #[test]
    fn a_second_lock_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::create(dir.path()).unwrap();
        let held = root.lock(".mqttforge/lock", LOCK_WAIT).unwrap();
        let e = root
            .lock(".mqttforge/lock", Duration::from_millis(100))
            .unwrap_err();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(held);
        root.lock(".mqttforge/lock", Duration::from_millis(100))
            .unwrap();
    }
}
