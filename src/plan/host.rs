//! Host install mode (`apply SPEC --root DIR --host NODE`): the files of one
//! host at their install paths under a root (`/` in production, a staging
//! root in tests and `verify`), plus the node's PKI material, with the same
//! guarantees as tree mode: atomic writes, a manifest
//! (`var/lib/mqttforge/<site>.manifest.json`), refusal of unmanaged files,
//! the lock, no link followed, and owners as installed (root:<broker's
//! group> for what the broker reads after dropping root).
//!
//! The PKI material comes from the PKI directory: the CA certificate
//! (0644), the node's certificate (0644) and key (0640, root:<broker's
//! group>), and the CRL once something is revoked, at the paths
//! [`Layout::certs`] gives. The CA key never leaves the PKI directory.

use std::collections::BTreeSet;
use std::path::Path;

use super::{apply, plan, ApplyOptions, ApplyReport, Destination, Plan};
use crate::fs::owner::Ownership;
use crate::fs::root::components;
use crate::pki::store::{self as pki_store, Store, Target};
use crate::render::{Layout, OutputFile, OutputTree, Sensitivity};
use crate::spec::model::Engine;
use crate::spec::Site;

/// How a host is installed.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// The site's name (the manifest and the lock are named after it).
    pub site: String,
    /// The engine (where certificates go, the broker's group).
    pub engine: Engine,
    /// The site's broker nodes: a node gets its PKI material.
    pub nodes: Vec<String>,
    /// Take over files in the way that mqttforge does not manage yet.
    pub adopt: bool,
    /// Set owners (root) or only report the commands to run.
    pub ownership: Ownership,
    /// The tree was rendered without secrets: managed secret files stay.
    pub keep_secrets: bool,
}

impl HostOptions {
    /// The options for a site: its name, engine and nodes; no adopting;
    /// owners set when running as root.
    pub fn for_site(site: &Site) -> HostOptions {
        HostOptions {
            site: site.name().to_string(),
            engine: site.spec.engine,
            nodes: site.spec.nodes.iter().map(|n| n.name.0.clone()).collect(),
            adopt: false,
            ownership: Ownership::detect(),
            keep_secrets: false,
        }
    }
}

/// Every host some file of the tree is installed on, sorted.
pub fn hosts(tree: &OutputTree) -> BTreeSet<String> {
    tree.files
        .values()
        .filter(|f| f.install.is_some())
        .flat_map(|f| f.hosts.iter().cloned())
        .collect()
}

/// The error for a host the site does not have.
fn unknown_host(host: &str, known: &BTreeSet<String>) -> String {
    let mut msg = format!("`{host}` is not a host of this site");
    if let Some(s) = crate::suggest::did_you_mean(host, known.iter().map(String::as_str)) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    let list: Vec<&str> = known.iter().map(String::as_str).collect();
    msg.push_str(&format!(" (its hosts: {})", list.join(", ")));
    msg
}

/// The files of `host` keyed by install path relative to the root, plus,
/// for a broker node, its PKI material from `pki`.
pub fn host_tree(
    tree: &OutputTree,
    pki: Option<&Path>,
    host: &str,
    opts: &HostOptions,
) -> Result<OutputTree, String> {
    let mut known = hosts(tree);
    known.extend(opts.nodes.iter().cloned());
    if !known.contains(host) {
        return Err(unknown_host(host, &known));
    }
    let mut out = OutputTree::default();
    for (path, file) in &tree.files {
        let Some(install) = file.install.as_deref() else {
            continue;
        };
        if !file.hosts.iter().any(|h| h == host) {
            continue;
        }
        let rel = install.trim_start_matches('/').to_string();
        components(&rel).map_err(|e| format!("{path}: {e}"))?;
        if out.files.insert(rel.clone(), file.clone()).is_some() {
            return Err(format!(
                "two files of the site install at /{rel} on `{host}`"
            ));
        }
    }
    if let (Some(dir), true) = (pki, opts.nodes.iter().any(|n| n == host)) {
        add_pki_material(&mut out, dir, host, opts.engine)?;
    }
    Ok(out)
}

/// The node's certificate and key, the CA certificate and the CRL, read
/// from the PKI directory without following links.
fn add_pki_material(
    out: &mut OutputTree,
    dir: &Path,
    node: &str,
    engine: Engine,
) -> Result<(), String> {
    let store = Store::new(dir);
    let target = Target::named(crate::pki::Role::Server, node)
        .ok_or_else(|| format!("the node name `{node}` cannot be a file name"))?;
    let certs = Layout::new(engine, "", false);
    let group = certs.engine_layout().user.to_string();
    let files = [
        (
            pki_store::CA_CERT.to_string(),
            "ca.pem".to_string(),
            0o644,
            None,
            true,
        ),
        (target.cert_file(), format!("{node}.pem"), 0o644, None, true),
        (
            target.key_file(),
            format!("{node}.key"),
            pki_store::MODE_BROKER_KEY,
            Some(group),
            true,
        ),
        (
            pki_store::CRL.to_string(),
            "crl.pem".to_string(),
            0o644,
            None,
            false,
        ),
    ];
    for (from, to, mode, group, required) in files {
        let text = store.read(&from).map_err(|d| d.message)?;
        let Some(text) = text else {
            if required {
                return Err(format!(
                    "{} is missing: node `{node}` cannot start without it; `mqttforge pki issue server SPEC --node {node}` (or apply without --pki) issues it",
                    store.path_of(&from).display()
                ));
            }
            continue;
        };
        let secret = from.ends_with(".key");
        out.files.insert(
            certs.certs(&to).trim_start_matches('/').to_string(),
            OutputFile {
                contents: text.into_bytes(),
                mode,
                sensitivity: if secret {
                    Sensitivity::Secret
                } else {
                    Sensitivity::Material
                },
                install: Some(certs.certs(&to)),
                hosts: vec![node.to_string()],
                group,
            },
        );
    }
    Ok(())
}

/// What [`install_host`] would change on the host (no lock taken).
pub fn plan_host(
    tree: &OutputTree,
    pki: Option<&Path>,
    host: &str,
    root: &Path,
    opts: &HostOptions,
) -> Result<Plan, String> {
    let files = host_tree(tree, pki, host, opts)?;
    plan(
        &files,
        &Destination::host(root, &opts.site)?,
        opts.keep_secrets,
        opts.ownership,
    )
}

/// Installs the files of `host` (and, for a broker node, its PKI material
/// from `pki`) at their install paths under `root`, as `apply --root --host`
/// does: under the lock, atomically, recorded in the host's manifest,
/// refusing unmanaged files unless adopting, owners set when root. The PKI
/// material must exist (`pki::ensure` first).
pub fn install_host(
    tree: &OutputTree,
    pki: Option<&Path>,
    host: &str,
    root: &Path,
    opts: &HostOptions,
) -> Result<ApplyReport, String> {
    let dest = Destination::host(root, &opts.site)?;
    let files = host_tree(tree, pki, host, opts)?;
    let _lock = dest.lock()?;
    let planned = plan(&files, &dest, opts.keep_secrets, opts.ownership)?;
    apply(
        &files,
        &dest,
        &planned,
        &ApplyOptions {
            adopt: opts.adopt,
            ownership: opts.ownership,
        },
    )
}
