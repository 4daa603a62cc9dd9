//! `verify`: bring a test variant of the site up and probe it.
//!
//! The test variant is rendered through the same code path as production
//! (another root, free loopback ports, each node on its own 127.0.0.x
//! address), with a throwaway PKI issued by the site's own PKI code. This
//! module holds the bundled runtime (rumqttd in this process); the probes
//! report pass, fail or not applicable, with why.

#[cfg(feature = "broker")]
mod bundled;
pub mod client;
#[cfg(feature = "docker")]
pub mod docker;
pub mod drill;
#[cfg(feature = "docker")]
pub mod drill_container;
pub mod emqx;
pub mod install;
pub mod local;
mod passive;
#[cfg(feature = "docker")]
mod vip;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::Site;
use client::{Client, Tls};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Pass(String),
    Fail(String),
    NotApplicable(String),
}

#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub name: &'static str,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A throwaway value for every secret reference of the site (the test
/// variant hashes passwords into its password files and writes the engines'
/// environment files; probes log in with them). Values are letters and
/// digits, at least 16 long, starting with a letter: valid for every kind
/// of secret (an EMQX cookie included).
pub fn generated_secrets(site: &Site) -> BTreeMap<String, String> {
    render::secrets::references(site)
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let key = r.secret.env.clone().or(r.secret.file.clone())?;
            // VRRP authentication carries 8 characters.
            if r.pointer == "/load_balancer/vrrp/password" {
                return Some((key, format!("Vr{:06}", std::process::id() % 1_000_000)));
            }
            Some((key, format!("Verify{i}x{:08}", std::process::id())))
        })
        .collect()
}

/// Every probe passed (not-applicable ones aside).
pub fn all_passed(probes: &[Probe]) -> bool {
    probes
        .iter()
        .all(|p| !matches!(p.outcome, Outcome::Fail(_)))
}

pub(crate) fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Progress lines go to stderr, so the report on stdout stays clean.
pub(crate) fn progress(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("verify: {msg}");
    }
}

/// A site rendered for the bundled broker, with its PKI in place.
pub struct Prepared {
    pub toml_path: PathBuf,
    pub pki: PathBuf,
    /// Listener name -> port.
    pub ports: BTreeMap<String, u16>,
}

/// Renders the site's rumqttd.toml under `work/root` and installs a PKI
/// (issued into `work/pki` with the site's profiles, kept if it exists).
/// `test_variant`: free loopback ports and the node on 127.0.0.11;
/// otherwise the spec's ports and binds (`mqttforge broker`).
pub fn prepare(
    site: &Site,
    spec_name: &str,
    work: &Path,
    test_variant: bool,
    quiet: bool,
) -> Result<Prepared, Vec<Diagnostic>> {
    let fail = |m: String| vec![Diagnostic::error(Code::Verify, m)];
    let root = work.join("root");
    let mut ports = BTreeMap::new();
    for l in &site.spec.listeners {
        let port = if test_variant {
            free_port().map_err(fail)?
        } else {
            l.port
        };
        ports.insert(l.name.0.clone(), port);
    }
    let opts = RenderOptions {
        spec_name: spec_name.to_string(),
        root: root.display().to_string(),
        ports: if test_variant {
            ports.clone()
        } else {
            BTreeMap::new()
        },
        loopback: test_variant,
        containers: None,
        secrets: SecretMode::Skip,
        secret_values: BTreeMap::new(),
        pki_dir: None,
        previous_secrets: Default::default(),
    };
    progress(quiet, "rendering rumqttd.toml");
    let tree = render::render_bundled(site, &opts)?;
    let node = site
        .spec
        .nodes
        .first()
        .ok_or_else(|| fail("the site has no node".into()))?;
    // A test variant gives each host its own directory under the root; the
    // development broker is one host, rooted at `work/root` itself.
    let host = if test_variant {
        root.join(&node.name.0)
    } else {
        root.clone()
    };
    if test_variant {
        tree.install_into(&root).map_err(fail)?;
    } else {
        for f in tree.files.values() {
            let Some(install) = &f.install else { continue };
            let to = host.join(install.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap_or(&host))
                .map_err(|e| fail(e.to_string()))?;
            std::fs::write(&to, &f.contents).map_err(|e| fail(e.to_string()))?;
        }
    }
    progress(
        quiet,
        "issuing the PKI with the site's profiles (existing keys are kept)",
    );
    let pki = work.join("pki");
    crate::pki::ensure(site, &pki)?;
    let certs = host.join("etc/rumqttd/certs");
    std::fs::create_dir_all(&certs).map_err(|e| fail(e.to_string()))?;
    for (from, to) in [
        ("ca.pem".to_string(), "ca.pem".to_string()),
        (
            format!("servers/{}.pem", node.name),
            format!("{}.pem", node.name),
        ),
        (
            format!("servers/{}.key", node.name),
            format!("{}.key", node.name),
        ),
    ] {
        std::fs::copy(pki.join(&from), certs.join(&to))
            .map_err(|e| fail(format!("cannot install {from}: {e}")))?;
    }
    Ok(Prepared {
        toml_path: host.join("etc/rumqttd/rumqttd.toml"),
        pki,
        ports,
    })
}

#[cfg(feature = "broker")]
pub use bundled::bundled;

/// Without the `broker` feature there is no bundled broker to run.
#[cfg(not(feature = "broker"))]
pub fn bundled(
    _site: &Site,
    _spec_name: &str,
    _work: &Path,
    _quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    Err(vec![Diagnostic::error(
        Code::Feature,
        "the bundled runtime needs the `broker` feature, which this build of mqttforge left out",
    )
    .with_help("build it in (`cargo install --path . --features broker`, or `--all-features`), or use `--runtime local` with mosquitto on PATH")])
}

/// The TLS probes of a listener that requires client certificates: the
/// handshake verifies the site's server certificate, a device certificate is
/// accepted, a client without one and one from a foreign CA are refused.
pub(crate) fn mtls_probes(
    addr: SocketAddr,
    mine: &Tls,
    none: &Tls,
    foreign: &Tls,
    server_name: &str,
    id: &str,
) -> Vec<Probe> {
    let connect = |t: &Tls| -> Result<u8, String> {
        let mut c = Client::open(addr, Some(t))?;
        let (_, rc) = c.connect(&format!("{id}-probe"), true)?;
        c.disconnect();
        Ok(rc)
    };
    vec![
        Probe {
            name: "TLS handshake with the site's server certificate",
            outcome: match Client::open(addr, Some(mine)) {
                Ok(_) => Outcome::Pass(format!("`{server_name}` verified against the site's CA")),
                Err(e) => Outcome::Fail(e),
            },
        },
        Probe {
            name: "mTLS: a device certificate is accepted",
            outcome: match connect(mine) {
                Ok(0) => Outcome::Pass(format!("device `{id}` connected (CONNACK 0)")),
                Ok(rc) => Outcome::Fail(format!("CONNACK return code {rc}")),
                Err(e) => Outcome::Fail(e),
            },
        },
        Probe {
            name: "mTLS: no client certificate is rejected",
            outcome: match connect(none) {
                Ok(rc) => Outcome::Fail(format!("a client without a certificate got CONNACK {rc}")),
                Err(e) => Outcome::Pass(format!("refused ({e})")),
            },
        },
        Probe {
            name: "mTLS: a foreign CA's certificate is rejected",
            outcome: match connect(foreign) {
                Ok(rc) => Outcome::Fail(format!("a certificate from another CA got CONNACK {rc}")),
                Err(e) => Outcome::Pass(format!("refused ({e})")),
            },
        },
    ]
}
