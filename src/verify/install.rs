//! How a runtime gets a site's files onto its hosts: exactly as `apply
//! --root DIR --host NODE` installs them ([`crate::plan::install_host`]:
//! the same bytes, modes, owners and groups), never handed over by verify
//! itself. What verify adds is what the packages would provide on a real
//! host (the broker's own data, log and run directories, owned by its
//! user; a root file system whose directories anyone may traverse), what
//! systemd would do (hand a service the environment file its drop-in
//! names), and, for a site without an administrator, an observer identity
//! the probes log in with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{self, HostOptions};
use crate::render::OutputTree;
use crate::spec::model::{Ident, Permission, Secret, TopicTemplate, User};
use crate::spec::Site;

/// The user the test variant adds when no user of the site may read and
/// write every topic with a password (the probes need one to observe).
pub const OBSERVER: &str = "mqttforge-observer";
/// The environment reference of the observer's generated password.
pub const OBSERVER_SECRET: &str = "MQTTFORGE_VERIFY_OBSERVER_PASSWORD";

/// Whether a user of the site reads and writes `#` with a password.
pub fn has_admin(site: &Site) -> bool {
    site.spec.users.iter().any(|u| {
        u.password.is_some()
            && site.role(u.role.as_str()).is_some_and(|r| {
                crate::render::targets::access::grants(&r)
                    .iter()
                    .any(|g| g.topic == "#" && g.access.publishes() && g.access.subscribes())
            })
    })
}

/// The site the test variant renders: the site itself, plus an observer
/// user (role granting `#`, password from [`OBSERVER_SECRET`]) when it has
/// no administrator, so that the ACL matrix, session and retained probes run
/// on every site. The production render never sees it.
pub fn with_observer(site: &Site) -> Site {
    let mut variant = site.clone();
    if has_admin(site) {
        return variant;
    }
    let readwrite_all = Permission {
        readwrite: Some(TopicTemplate("#".into())),
        ..Permission::default()
    };
    variant
        .spec
        .roles
        .insert(OBSERVER.to_string(), vec![readwrite_all]);
    variant.spec.users.push(User {
        name: Ident(OBSERVER.into()),
        role: Ident(OBSERVER.into()),
        password: Some(Secret {
            env: Some(OBSERVER_SECRET.into()),
            ..Secret::default()
        }),
    });
    variant
}

/// Installs `host`'s files under `root` as apply does. `work` is verify's
/// own working directory, which holds `root`: the directories between the
/// two are made traversable (see [`traversable`]). Returns a note on
/// ownership for the report.
pub fn install(
    site: &Site,
    tree: &OutputTree,
    pki: Option<&Path>,
    host: &str,
    root: &Path,
    work: &Path,
) -> Result<String, String> {
    let report = plan::install_host(tree, pki, host, root, &HostOptions::for_site(site))?;
    traversable(root, work)?;
    let note = if report.pending.is_empty() {
        format!(
            "{} file(s) installed with apply's owners and modes",
            report.written.len()
        )
    } else {
        format!(
            "{} file(s) installed; owners not set ({} change(s) need root): ownership is not proven",
            report.written.len(),
            report.pending.len()
        )
    };
    Ok(note)
}

/// The staging root stands for `/`: it and the directories above it up to
/// verify's working directory (a 0700 temporary directory) get 0755, so a
/// broker that drops root can walk to its files as it would on a host.
/// Modes below the root are apply's.
fn traversable(root: &Path, work: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut dir = Some(root);
    while let Some(d) = dir.filter(|d| d.starts_with(work)) {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot open {} to the broker's user: {e}", d.display()))?;
        dir = d.parent();
    }
    Ok(())
}

/// What the Debian package provides a broker on a host (its systemd unit
/// and postinst): the data, log and run directories, owned by its user.
pub fn package_directories(root: &Path, dirs: &[&str], user: &str) -> Result<(), String> {
    for d in dirs {
        let path = root.join(d.trim_start_matches('/'));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if crate::plan::write::running_as_root() {
            let status = std::process::Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&path)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "chown {user} {} failed (does the user exist?)",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// What systemd gives `service` from its mqttforge drop-in: the variables
/// of the `EnvironmentFile=` it names, read as installed under `root`.
/// Nothing when the host has no such drop-in.
pub fn service_environment(root: &Path, service: &str) -> Result<BTreeMap<String, String>, String> {
    let dropin = root.join(format!(
        "etc/systemd/system/{service}.d/{}",
        crate::render::secrets::SECRETS_DROPIN
    ));
    let Ok(text) = std::fs::read_to_string(&dropin) else {
        return Ok(BTreeMap::new());
    };
    let mut env = BTreeMap::new();
    for line in text.lines() {
        let Some(file) = line.trim().strip_prefix("EnvironmentFile=") else {
            continue;
        };
        let path = root.join(file.trim().trim_start_matches('/'));
        let body = std::fs::read_to_string(&path).map_err(|e| {
            format!("{service}: the environment file {file} its drop-in names cannot be read: {e}")
        })?;
        env.extend(parse_environment_file(&body));
    }
    Ok(env)
}

/// systemd's `EnvironmentFile=` syntax as mqttforge writes it: `KEY=value`
/// or `KEY="value"` with `\"` and `\\` escapes; `#` and `;` lines are
/// comments.
pub fn parse_environment_file(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => unescape(inner),
            None => value.to_string(),
        };
        out.insert(key.trim().to_string(), value);
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A host's installed tree as a tar archive that keeps owner and group
/// *names* (GNU tar maps them to the container's own users on extraction),
/// for a container to unpack at `/` before its service starts.
pub fn archive(root: &Path) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["-cf", "-", "."])
        .output()
        .map_err(|e| format!("tar: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tar of {}: {}",
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Where a test variant keeps a host's files: one directory per host.
pub fn host_root(root: &Path, host: &str) -> PathBuf {
    root.join(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_files_read_as_systemd_does() {
        let env = parse_environment_file(
            "# comment\n; another\nA=plain\nB=\"\\\"quoted #1\\\"\"\n\nC=\"back\\\\slash\"\n",
        );
        assert_eq!(env["A"], "plain");
        assert_eq!(env["B"], "\"quoted #1\"");
        assert_eq!(env["C"], "back\\slash");
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn a_site_without_an_admin_gets_an_observer() {
        let site = crate::spec::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/site-examples/edge-mosquitto.yaml"
        )))
        .unwrap();
        assert!(!has_admin(&site));
        let variant = with_observer(&site);
        assert!(has_admin(&variant));
        assert_eq!(variant.spec.users.len(), site.spec.users.len() + 1);
        let ha = crate::spec::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/site-examples/mosquitto-ha.yaml"
        )))
        .unwrap();
        assert_eq!(with_observer(&ha).spec.users.len(), ha.spec.users.len());
    }
}
