//! Results of the external checkers (shellcheck, promtool) kept by their
//! input, so `lint` in pre-commit and an unchanged `audit` do not start a
//! checker again for a file it has already judged.
//!
//! The key is a SHA-256 of the checker's identity (its path on PATH, size
//! and modification time: an upgrade is a new checker), its arguments and
//! the bytes it judges. The value is the checker's output, byte for byte; a
//! result is only kept when the checker finished. Entries live in
//! `$MQTTFORGE_CACHE_DIR`, else `$XDG_CACHE_HOME/mqttforge`, else
//! `~/.cache/mqttforge`, under `checkers/`, written atomically (0600, in a
//! 0700 directory). `MQTTFORGE_CACHE_DIR=off` turns the cache off. A cache
//! that cannot be read or written is ignored: the checker runs.

use std::ffi::OsString;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Largest output kept (a checker's JSON for one generated file is small).
const MAX_ENTRY_BYTES: u64 = 1 << 20;

/// The cached output of `tool args` over `input`, or the result of `run`
/// (kept when it is `Some`). Without the tool on PATH, `run` decides alone.
pub fn cached(
    tool: &str,
    args: &[&str],
    input: &[u8],
    run: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let cache = Cache {
        dir: cache_dir(),
        path: std::env::var_os("PATH"),
    };
    cache.get_or_run(tool, args, input, run)
}

/// Where entries live and where checkers are looked up.
struct Cache {
    dir: Option<PathBuf>,
    path: Option<OsString>,
}

impl Cache {
    fn get_or_run(
        &self,
        tool: &str,
        args: &[&str],
        input: &[u8],
        run: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let Some(entry) = self.entry_path(tool, args, input) else {
            return run();
        };
        if let Some(hit) = read_entry(&entry) {
            return Some(hit);
        }
        let out = run()?;
        write_entry(&entry, &out);
        Some(out)
    }

    /// The checker's executable on PATH and what tells one build from another.
    fn identity(&self, tool: &str) -> Option<String> {
        std::env::split_paths(self.path.as_ref()?).find_map(|dir| {
            let candidate = dir.join(tool);
            let meta = std::fs::metadata(&candidate).ok()?;
            let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
            executable.then(|| {
                format!(
                    "{}\0{}\0{}",
                    candidate.display(),
                    meta.len(),
                    modified.as_nanos()
                )
            })
        })
    }

    fn entry_path(&self, tool: &str, args: &[&str], input: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let who = self.identity(tool)?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(who.as_bytes());
        ctx.update(&[0]);
        for arg in args {
            ctx.update(arg.as_bytes());
            ctx.update(&[0]);
        }
        ctx.update(input);
        let hex: String = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(dir.join("checkers").join(format!("{tool}-{hex}")))
    }
}

fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("MQTTFORGE_CACHE_DIR") {
        Some(dir) if dir == "off" => return None,
        Some(dir) if !dir.is_empty() => return Some(PathBuf::from(dir)),
        _ => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("mqttforge"))
}

fn read_entry(entry: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(entry).ok()?;
    if !meta.is_file() || meta.len() > MAX_ENTRY_BYTES {
        return None;
    }
    std::fs::read(entry).ok()
}

fn write_entry(entry: &Path, out: &[u8]) {
    if out.len() as u64 > MAX_ENTRY_BYTES {
        return;
    }
    let Some(dir) = entry.parent() else {
        return;
    };
    if std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .is_err()
    {
        return;
    }
    let tmp = entry.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(out));
    if written.is_err() || std::fs::rename(&tmp, entry).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A cache in a fresh directory with a PATH holding one fake `checker`.
    fn with_cache(f: impl FnOnce(&Cache, &Path)) {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let tool = bin.join("checker");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = Cache {
            dir: Some(dir.path().join("cache")),
            path: Some(bin.into_os_string()),
        };
        f(&cache, dir.path());
    }

    #[test]
    fn a_second_run_on_the_same_input_does_not_start_the_checker() {
        with_cache(|cache, _| {
            let runs = Cell::new(0);
            let run = || {
                runs.set(runs.get() + 1);
                Some(b"verdict".to_vec())
            };
            assert_eq!(
                cache
                    .get_or_run("checker", &["-x"], b"script", run)
                    .unwrap(),
                b"verdict"
            );
            assert_eq!(
                cache
                    .get_or_run("checker", &["-x"], b"script", run)
                    .unwrap(),
                b"verdict"
            );
            assert_eq!(runs.get(), 1);
            // Other bytes, other arguments: the checker runs again.
            cache.get_or_run("checker", &["-x"], b"script2", run);
            cache.get_or_run("checker", &["-y"], b"script", run);
            assert_eq!(runs.get(), 3);
        });
    }

    #[test]
    fn a_new_build_of_the_checker_is_a_new_checker() {
        with_cache(|cache, root| {
            let runs = Cell::new(0);
            let run = || {
                runs.set(runs.get() + 1);
                Some(b"v".to_vec())
            };
            cache.get_or_run("checker", &[], b"s", run);
            std::fs::write(root.join("bin/checker"), "#!/bin/sh\n# upgraded\n").unwrap();
            cache.get_or_run("checker", &[], b"s", run);
            assert_eq!(runs.get(), 2);
        });
    }

    #[test]
    fn failures_are_not_kept_and_entries_are_private() {
        with_cache(|cache, root| {
            assert_eq!(cache.get_or_run("checker", &[], b"s", || None), None);
            assert_eq!(
                cache
                    .get_or_run("checker", &[], b"s", || Some(b"ok".to_vec()))
                    .unwrap(),
                b"ok"
            );
            let dir = root.join("cache/checkers");
            let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
            assert_eq!(entries.len(), 1);
            let mode = entries[0].metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(dir_mode, 0o700);
        });
    }

    #[test]
    fn without_the_checker_on_path_nothing_is_kept() {
        with_cache(|cache, root| {
            assert_eq!(
                cache
                    .get_or_run("absent-checker", &[], b"s", || Some(b"x".to_vec()))
                    .unwrap(),
                b"x"
            );
            assert!(!root.join("cache/checkers").exists());
        });
    }
}
