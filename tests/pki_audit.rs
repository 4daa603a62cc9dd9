//! MQ-PKI-005 on real files: git keeps no modes but 0644 and 0755, so the
//! key files here are written into a temporary directory with the mode,
//! owner and group each case needs, then audited by the binary.
//!
//! Cases that need a file owned by the broker's account (`mosquitto`) need
//! root to `chown` and the account to exist; without them they are skipped
//! with a visible reason.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{mqttforge, stdout};
use serde_json::Value;

fn write_key(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    let key = rcgen::KeyPair::generate().expect("an ECDSA key");
    std::fs::write(&path, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// The PKI-005 findings of `audit FILE`: (severity, message).
fn audit(path: &Path, env: &str) -> Vec<(String, String)> {
    let file = path.display().to_string();
    let out = mqttforge(&[
        "audit",
        &file,
        "--select=MQ-PKI-005",
        "--format=json",
        &format!("--environment={env}"),
    ]);
    let doc: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "MQ-PKI-005");
            assert_eq!(d["file"].as_str(), Some(file.as_str()));
            assert_eq!(d["line"], 1);
            (
                d["severity"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// uid and gid of the broker's account, from the system's databases.
fn broker_ids() -> Option<(u32, u32)> {
    let id = |db: &str| -> Option<u32> {
        std::fs::read_to_string(db)
            .ok()?
            .lines()
            .find(|l| l.starts_with("mosquitto:"))
            .and_then(|l| l.split(':').nth(2))
            .and_then(|n| n.parse().ok())
    };
    Some((id("/etc/passwd")?, id("/etc/group")?))
}

fn is_root() -> bool {
    current_uid() == 0
}

#[test]
fn a_world_readable_key_is_flagged_with_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o604, 0o666] {
        let key = write_key(dir.path(), &format!("k{mode:o}.key"), mode);
        let found = audit(&key, "production");
        assert_eq!(found.len(), 1, "{mode:o}: {found:?}");
        assert_eq!(found[0].0, "error");
        assert!(
            found[0].1.contains("readable by every user")
                && found[0].1.contains(&format!("mode {mode:04o}")),
            "{found:?}"
        );
        // Outside production exposure is a warning.
        assert_eq!(audit(&key, "development")[0].0, "warning");
    }
    let key = write_key(dir.path(), "x.key", 0o601);
    assert!(audit(&key, "production")[0]
        .1
        .contains("open to every user"));
}

#[test]
fn a_key_the_broker_cannot_read_is_an_error_everywhere() {
    if broker_ids().is_some_and(|(uid, _)| uid == current_uid()) {
        eprintln!("skipped: the test runs as the broker's own user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Owned by whoever runs the test (root in CI containers), 0600: Mosquitto,
    // once it has dropped to its own user, cannot open it.
    let key = write_key(dir.path(), "server.key", 0o600);
    for env in ["production", "development"] {
        let found = audit(&key, env);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "error", "{env}");
        assert!(
            found[0].1.contains("broker cannot read") && found[0].1.contains("mode 0600"),
            "{found:?}"
        );
    }
}

#[test]
fn a_key_open_to_a_group_other_than_the_brokers() {
    let gid = std::os::unix::fs::MetadataExt::gid(&std::fs::metadata("/proc/self").unwrap());
    if broker_ids().is_some_and(|(_, g)| g == gid) {
        eprintln!("skipped: the test runs with the broker's group");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), "server.key", 0o640);
    let found = audit(&key, "production");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].1.contains("which is not the broker's") && found[0].1.contains("mode 0640"),
        "{found:?}"
    );
}

#[test]
fn keys_the_broker_reads_and_nobody_else_pass() {
    let Some((uid, gid)) = broker_ids() else {
        eprintln!("skipped: no `mosquitto` account in /etc/passwd and /etc/group");
        return;
    };
    if !is_root() {
        eprintln!("skipped: giving a file to the `mosquitto` account needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // root:mosquitto 0640, what `apply` installs.
    let key = write_key(dir.path(), "group.key", 0o640);
    std::os::unix::fs::chown(&key, Some(0), Some(gid)).unwrap();
    assert_eq!(audit(&key, "production"), vec![]);
    // mosquitto:mosquitto 0600, and mosquitto:root 0400.
    let key = write_key(dir.path(), "owner.key", 0o600);
    std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
    assert_eq!(audit(&key, "production"), vec![]);
    let key = write_key(dir.path(), "owner-ro.key", 0o400);
    std::os::unix::fs::chown(&key, Some(uid), Some(0)).unwrap();
    assert_eq!(audit(&key, "production"), vec![]);
    // Near misses: the broker's group, but without read; the broker's user, but others too.
    let key = write_key(dir.path(), "group-noread.key", 0o600);
    std::os::unix::fs::chown(&key, Some(0), Some(gid)).unwrap();
    assert!(audit(&key, "production")[0]
        .1
        .contains("broker cannot read"));
    let key = write_key(dir.path(), "owner-world.key", 0o644);
    std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
    assert!(audit(&key, "production")[0]
        .1
        .contains("readable by every user"));
}

/// The uid the test runs as (the owner of files it creates).
fn current_uid() -> u32 {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap())
}

#[test]
fn keys_staged_in_the_pki_directory_are_checked_by_lint() {
    // A spec next to its PKI directory: `apply` sets owner and group when it
    // installs keys, so only modes matter here.
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(common::root().join("site-examples/edge-mosquitto.yaml")).unwrap();
    let spec = example.replace("pki:\n  ca:", "pki:\n  dir: pki\n  ca:");
    assert_ne!(spec, example);
    let spec_path = dir.path().join("site.yaml");
    std::fs::write(&spec_path, spec).unwrap();
    for sub in ["pki/servers", "pki/devices"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let pki = dir.path().join("pki");
    write_key(&pki, "ca.key", 0o600);
    write_key(&pki.join("servers"), "edge1.key", 0o640);
    write_key(&pki.join("devices"), "press-01.key", 0o600);
    let device = write_key(&pki.join("devices"), "press-02.key", 0o640);
    let out = mqttforge(&[
        "lint",
        &spec_path.display().to_string(),
        "--select=MQ-PKI-005",
        "--format=json",
    ]);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found = doc["diagnostics"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["file"].as_str(),
        Some(device.display().to_string().as_str())
    );
    assert!(
        found[0]["message"].as_str().unwrap().contains("device key"),
        "{found:?}"
    );
}
