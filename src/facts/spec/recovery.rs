//! Facts about recovery and the PKI, from the spec and what it renders:
//! - persistence (enabled, Mosquitto's autosave interval);
//! - recovery objectives (RPO per scenario, at `/dr/<scenario>/rpo`);
//! - the backup: declared or not, encrypted, and what the rendered
//!   `backup/*.sh` scripts do, read by the audit's own shell reader (strict
//!   mode, shellcheck errors when shellcheck is on PATH, retention, restore,
//!   stopping the broker);
//! - certificates: the profiles the spec issues (`pki.device_validity`,
//!   `pki.server_validity`), and, when the spec sets `pki.dir` and that
//!   directory exists (relative to the spec's directory), the certificates
//!   and keys already in it, read by the audit's PEM reader with their role
//!   taken from where they sit (`ca.pem`, `servers/`, `devices/`). Files
//!   that cannot be read are left to `mqttforge pki status`, which reports
//!   them.

use std::path::{Path, PathBuf};

use super::Input;
use crate::facts::files;
use crate::facts::{BackupFact, CertFact, CertRole, Facts, ObjectiveFact, Origin, PersistenceFact};
use crate::pki::profile::{self, SubjectName};
use crate::pki::store::{CA_CERT, CA_KEY, DEVICES, SERVERS};
use crate::source::{SourceFile, Span};
use crate::spec::model::KeyAlgorithm;

const DAY_MS: u64 = 86_400_000;

pub fn extract(input: &Input<'_>, facts: &mut Facts) {
    persistence(input, facts);
    objectives(input, facts);
    backup(input, facts);
    profiles(input, facts);
    pki_dir(input, facts);
}

/// The span of the first pointer present in the spec, else the `site` key.
fn first_present(input: &Input<'_>, pointers: &[&str]) -> Span {
    pointers
        .iter()
        .find(|p| input.site.spans.get(p).is_some())
        .map(|p| input.span(p))
        .unwrap_or_else(|| input.key_span("/site"))
}

fn persistence(input: &Input<'_>, facts: &mut Facts) {
    let p = &input.site.spec.persistence;
    let span = if p.enabled && p.autosave.is_some() {
        input.span("/persistence/autosave")
    } else {
        first_present(input, &["/persistence/enabled", "/persistence"])
    };
    facts.persistence = Some(PersistenceFact {
        enabled: p.enabled,
        // Only Mosquitto saves its in-memory state on an interval.
        autosave_s: crate::spec::recovery::autosave_s(input.site, input.derived),
        span,
    });
}

fn objectives(input: &Input<'_>, facts: &mut Facts) {
    let Some(dr) = &input.site.spec.dr else {
        return;
    };
    for (scenario, _) in crate::spec::recovery::SCENARIOS {
        if let Some(o) = dr.objective(scenario) {
            facts.dr.push(ObjectiveFact {
                scenario: scenario.to_string(),
                rpo_s: o.rpo.millis().div_ceil(1000),
                span: input.span(&format!("/dr/{scenario}/rpo")),
            });
        }
    }
}

fn backup(input: &Input<'_>, facts: &mut Facts) {
    // The rendered scripts, read exactly as `audit` reads hand-written ones.
    let mut rendered = Facts::new(Origin::File, facts.environment);
    {
        for (path, file) in input
            .tree
            .files
            .iter()
            .filter(|(p, _)| p.starts_with("backup/") && p.ends_with(".sh"))
        {
            let text = String::from_utf8_lossy(&file.contents).into_owned();
            let source = files::Input {
                path: PathBuf::from(path),
                file: SourceFile::new(format!("{path} (rendered)"), text),
            };
            let _ = files::shell::extract(&source, &mut rendered);
        }
    }
    facts.scripts.append(&mut rendered.scripts);
    let r = rendered.backup.as_ref();
    facts.backup = Some(match &input.site.spec.backup {
        Some(b) => BackupFact {
            scheduled: true,
            encrypted: b.encrypt.is_some() && r.is_some_and(|r| r.encrypted),
            retention: r.is_some_and(|r| r.retention),
            restore: r.is_some_and(|r| r.restore),
            stops_broker: r.is_some_and(|r| r.stops_broker),
            span: input.span("/backup/schedule"),
            every_s: Some(crate::spec::recovery::backup_every_s(b.schedule)),
            declared: true,
            ship_span: Some(input.span("/backup/target")),
            stop_span: r.and_then(|r| r.stop_span.clone()),
            plaintext: r.map(|r| r.plaintext.clone()).unwrap_or_default(),
        },
        None => BackupFact {
            every_s: None,
            scheduled: false,
            encrypted: false,
            retention: false,
            restore: false,
            stops_broker: false,
            span: input.span("/environment"),
            declared: false,
            ship_span: None,
            stop_span: None,
            plaintext: Vec::new(),
        },
    });
}

/// The names a subject-alternative-name list holds, as plain strings.
fn plain(names: Vec<SubjectName>) -> Vec<String> {
    names
        .into_iter()
        .map(|n| match n {
            SubjectName::Dns(d) => d,
            SubjectName::Ip(ip) => ip.to_string(),
        })
        .collect()
}

/// The certificates the spec's profiles issue (what `mqttforge pki` and
/// `apply` would write), as facts about their declared validity.
fn profiles(input: &Input<'_>, facts: &mut Facts) {
    let Some(pki) = &input.site.spec.pki else {
        return;
    };
    let (key_bits, rsa, signature) = match pki.key {
        KeyAlgorithm::EcdsaP256 => (256, false, "ecdsa-with-SHA256"),
        KeyAlgorithm::EcdsaP384 => (384, false, "ecdsa-with-SHA384"),
        KeyAlgorithm::Rsa3072 => (3072, true, "sha256WithRSAEncryption"),
    };
    let server_names = input
        .site
        .spec
        .nodes
        .first()
        .map(|n| plain(profile::server_names(input.site, n)))
        .unwrap_or_default();
    for (role, field, validity, default_days) in [
        (
            CertRole::Device,
            "device_validity",
            pki.device_validity,
            profile::DEFAULT_DEVICE_VALIDITY_DAYS,
        ),
        (
            CertRole::Server,
            "server_validity",
            pki.server_validity,
            profile::DEFAULT_SERVER_VALIDITY_DAYS,
        ),
    ] {
        let pointer = format!("/pki/{field}");
        let days = validity
            .map(|d| d.millis().div_ceil(DAY_MS) as i64)
            .unwrap_or(default_days);
        let names = if role == CertRole::Server {
            server_names.clone()
        } else {
            Vec::new()
        };
        facts.certs.push(CertFact {
            path: format!("pki.{field}"),
            role,
            version: 3,
            validity_days: days,
            days_left: days,
            key_usage: true,
            client_auth: role == CertRole::Device,
            server_auth: role == CertRole::Server,
            is_ca: false,
            san: names.clone(),
            key_bits,
            rsa,
            signature: signature.to_string(),
            span: if validity.is_some() {
                input.span(&pointer)
            } else {
                input.key_span("/pki")
            },
            dialled: names,
            not_after: String::new(),
        });
    }
}

/// Certificates and keys already in the spec's PKI directory.
fn pki_dir(input: &Input<'_>, facts: &mut Facts) {
    let Some(dir) = input.site.spec.pki.as_ref().and_then(|p| p.dir.as_ref()) else {
        return;
    };
    let spec_dir = Path::new(&input.site.file().name)
        .parent()
        .unwrap_or(Path::new(""));
    let root = spec_dir.join(dir);
    if !root.is_dir() {
        return;
    }
    let mut files: Vec<(PathBuf, CertRole)> = vec![
        (root.join(CA_CERT), CertRole::Ca),
        (root.join(CA_KEY), CertRole::Ca),
    ];
    for (sub, role) in [(SERVERS, CertRole::Server), (DEVICES, CertRole::Device)] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pem" || e == "key"))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|p| (p, role)));
    }
    for (path, role) in files {
        if !path.is_file() {
            continue;
        }
        let Ok(file) = files::read_text(&path) else {
            continue;
        };
        let source = files::Input {
            path: path.clone(),
            file,
        };
        let mut found = Facts::new(Origin::File, facts.environment);
        let is_key = path.extension().is_some_and(|e| e == "key");
        let extract = if is_key {
            files::pem::extract_key
        } else {
            files::pem::extract_cert
        };
        if extract(&source, &mut found).is_err() {
            continue;
        }
        if is_key {
            for mut k in found.keys {
                k.staged = Some(role);
                facts.keys.push(k);
            }
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dialled = match role {
            CertRole::Server => input
                .site
                .spec
                .nodes
                .iter()
                .find(|n| n.name.as_str() == stem)
                .map(|n| plain(profile::server_names(input.site, n)))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for (i, mut c) in found.certs.into_iter().enumerate() {
            // The leaf is what the file's place says; a chain's others keep their own claim.
            if i == 0 {
                c.role = role;
                c.dialled = dialled.clone();
            }
            facts.certs.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::facts::{CertRole, Facts};
    use crate::render::{self, Derived, RenderOptions, SecretMode};

    fn facts(example: &str) -> Facts {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("site-examples")
            .join(example);
        let site = crate::spec::load(&path).unwrap();
        let opts = RenderOptions::production(example, SecretMode::Skip);
        let tree = render::render(&site, &opts).unwrap();
        let derived = Derived::new(&site, &opts.placement());
        crate::facts::spec::facts(&site, &derived, &tree)
    }

    #[test]
    fn the_rendered_backup_is_read_like_a_hand_written_one() {
        let f = facts("edge-mosquitto.yaml");
        let b = f.backup.as_ref().unwrap();
        assert!(
            b.declared && b.scheduled && b.encrypted && b.retention && b.restore && !b.stops_broker
        );
        let at = |s: &crate::source::Span| s.file.line_text(s.line).unwrap_or("").to_string();
        assert!(at(b.ship_span.as_ref().unwrap()).contains("target:"));
        assert!(at(&b.span).contains("schedule:"));
        assert_eq!(f.scripts.len(), 2);
        assert!(
            f.scripts.iter().all(|s| s.strict && s.errors.is_empty()),
            "{:?}",
            f.scripts
        );
        let p = f.persistence.as_ref().unwrap();
        assert_eq!((p.enabled, p.autosave_s), (true, Some(60)));
        let rpo: Vec<(&str, u64)> =
            f.dr.iter()
                .map(|o| (o.scenario.as_str(), o.rpo_s))
                .collect();
        assert_eq!(rpo, vec![("single_node_failure", 60), ("corruption", 3600)]);
        // The profiles the spec issues.
        let profiles: Vec<(CertRole, i64)> =
            f.certs.iter().map(|c| (c.role, c.validity_days)).collect();
        assert_eq!(
            profiles,
            vec![(CertRole::Device, 365), (CertRole::Server, 365)]
        );
        assert_eq!(
            f.certs[1].dialled,
            vec!["edge1", "edge1.plant-lyon.acme.example", "192.168.10.5"]
        );
    }

    #[test]
    fn emqx_has_no_autosave_and_a_site_without_backup_says_so() {
        let f = facts("emqx-cluster.yaml");
        assert_eq!(f.persistence.as_ref().unwrap().autosave_s, None);
        assert_eq!(f.dr.len(), 4);
        let f = facts("dev-rumqttd.yaml");
        let b = f.backup.as_ref().unwrap();
        assert!(!b.declared && !b.scheduled);
        assert!(f.scripts.is_empty() && f.dr.is_empty());
    }
}
