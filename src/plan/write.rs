//! Atomic file operations: a temporary file in the same directory, fsync,
//! rename over the target, fsync of the directory. A reader (or a crash)
//! sees the old file or the new one, never a part.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::render::OutputFile;

/// Marker in the names of temporary files; leftovers of a killed apply are removed by the next.
pub const TEMP_MARKER: &str = ".mqttforge-tmp-";

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))
}

/// Creates the directories above `path`, syncing each new one's parent.
fn create_parents(path: &Path) -> Result<(), String> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(());
    }
    create_parents(parent)?;
    match fs::create_dir(parent) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", parent.display())),
    }
    if let Some(grand) = parent.parent().filter(|g| !g.as_os_str().is_empty()) {
        sync_dir(grand)?;
    }
    Ok(())
}

/// Replaces `path` with `contents` and `mode`, atomically.
pub fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    create_parents(path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}{TEMP_MARKER}{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        // The umask may have narrowed the creation mode.
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", tmp.display()))?;
        f.write_all(contents)
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
}

/// Removes a managed file and the directories it leaves empty (up to `root`).
pub fn remove(path: &Path, root: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot delete {}: {e}", path.display())),
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    if let Some(d) = path.parent() {
        if d.exists() {
            sync_dir(d)?;
        }
    }
    Ok(())
}

/// Deletes temporary files a killed apply left behind.
pub fn remove_stale_temporaries(dir: &Path) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            remove_stale_temporaries(&p)?;
        } else if e.file_name().to_string_lossy().contains(TEMP_MARKER) {
            fs::remove_file(&p).map_err(|err| format!("cannot delete {}: {err}", p.display()))?;
        }
    }
    Ok(())
}

/// Where running as root, hands secret files to the group of the broker's
/// user (files are 0640: root writes, the broker reads).
pub fn set_owner(path: &Path, file: &OutputFile) -> Result<(), String> {
    let Some(group) = file.group.as_deref() else {
        return Ok(());
    };
    if !running_as_root() {
        return Ok(());
    }
    let Some(gid) = group_id(group) else {
        return Ok(());
    };
    std::os::unix::fs::chown(path, Some(0), Some(gid))
        .map_err(|e| format!("cannot hand {} to group {group}: {e}", path.display()))
}

/// Where running as root, gives the broker's group read access to the
/// server keys of a PKI directory (they are 0640): Mosquitto drops root
/// before it reads its key.
pub fn hand_keys_to_broker(
    pki_dir: &Path,
    engine: crate::spec::model::Engine,
) -> Result<(), String> {
    if !running_as_root() {
        return Ok(());
    }
    let user = crate::render::layout::ENGINE_LAYOUTS
        .iter()
        .find(|l| l.engine == engine)
        .map(|l| l.user)
        .unwrap_or("mosquitto");
    let Some(gid) = group_id(user) else {
        return Ok(());
    };
    let Ok(entries) = fs::read_dir(pki_dir.join("servers")) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "key") {
            std::os::unix::fs::chown(&p, Some(0), Some(gid))
                .map_err(|err| format!("cannot hand {} to group {user}: {err}", p.display()))?;
        }
    }
    Ok(())
}

/// Whether this process runs as root (ownership changes need it).
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A group's id from /etc/group.
fn group_id(name: &str) -> Option<u32> {
    let groups = fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.conf");
        atomic_write(&p, b"one", 0o640).unwrap();
        atomic_write(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("inside"), b"keep").unwrap();
        assert!(atomic_write(&p, b"new", 0o644).is_err());
        assert_eq!(fs::read(p.join("inside")).unwrap(), b"keep");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left behind"
        );
    }

    #[test]
    fn removes_empty_parents_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("d/e/f");
        let b = dir.path().join("d/g");
        atomic_write(&a, b"1", 0o644).unwrap();
        atomic_write(&b, b"2", 0o644).unwrap();
        remove(&a, dir.path()).unwrap();
        assert!(!dir.path().join("d/e").exists());
        assert!(b.exists());
    }
}
