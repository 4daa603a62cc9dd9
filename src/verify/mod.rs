//! `verify`: bring a test variant of the site up and probe it.
//!
//! The test variant is rendered through the same code path as production
//! (another root, free loopback ports, each node on its own 127.0.0.x
//! address), with a throwaway PKI issued by the site's own PKI code. This
//! module holds the bundled runtime (rumqttd in this process); the probes
//! report pass, fail or not applicable, with why.

pub mod client;
pub mod docker;
pub mod emqx;
pub mod install;
pub mod local;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::model::ClientCerts;
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
    let fail = |m: String| vec![Diagnostic::error("verify", m)];
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

/// Runs the site on the bundled broker (rumqttd, in this process) and probes it.
pub fn bundled(
    site: &Site,
    spec_name: &str,
    work: &Path,
    quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    let fail = |m: String| vec![Diagnostic::error("verify", m)];
    let Prepared {
        toml_path,
        pki,
        ports,
    } = prepare(site, spec_name, work, true, quiet)?;
    let foreign = work.join("foreign-pki");
    crate::pki::ensure(site, &foreign)?;
    let node = site
        .spec
        .nodes
        .first()
        .ok_or_else(|| fail("the site has no node".into()))?;
    let text = std::fs::read_to_string(&toml_path).map_err(|e| fail(e.to_string()))?;
    let parsed = mqttforge_broker::parse_config(&text)
        .map_err(|e| fail(format!("rumqttd rejects the rendered config: {e}")))?;
    let mut probes = vec![Probe {
        name: "config loads",
        outcome: if parsed.unknown_keys.is_empty() {
            Outcome::Pass("rumqttd's own Config type reads rumqttd.toml, no key ignored".into())
        } else {
            Outcome::Fail(format!(
                "rumqttd ignores: {}",
                parsed.unknown_keys.join(", ")
            ))
        },
    }];
    progress(quiet, "starting rumqttd");
    let running = mqttforge_broker::start(parsed.config, Duration::from_secs(10)).map_err(fail)?;
    progress(
        quiet,
        &format!(
            "rumqttd is up on {} listener(s); probing",
            running.listeners.len()
        ),
    );
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| fail(format!("{}: {e}", p.display())));
    let device = site.devices().next().map(|d| d.id);
    let server_name = node
        .dns_names
        .first()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| node.name.0.clone());
    let ca = read(pki.join("ca.pem"))?;
    let tls_listener = site.spec.listeners.iter().find(|l| {
        l.tls
            .as_ref()
            .is_some_and(|t| t.client_certs == ClientCerts::Required)
    });
    let address = |name: &str| -> SocketAddr { SocketAddr::from(([127, 0, 0, 11], ports[name])) };
    match (tls_listener, &device) {
        (Some(l), Some(id)) => {
            let addr = address(l.name.as_str());
            let mine = Some((
                read(pki.join(format!("devices/{id}.pem")))?,
                read(pki.join(format!("devices/{id}.key")))?,
            ));
            let theirs = Some((
                read(foreign.join(format!("devices/{id}.pem")))?,
                read(foreign.join(format!("devices/{id}.key")))?,
            ));
            let tls = |client: Option<(String, String)>, only_tls12: bool| Tls {
                ca_pem: ca.clone(),
                client,
                server_name: server_name.clone(),
                only_tls12,
            };
            probes.extend(mtls_probes(
                addr,
                &tls(mine.clone(), false),
                &tls(None, false),
                &tls(theirs, false),
                &server_name,
                id,
            ));
            let min13 = l
                .tls
                .as_ref()
                .is_some_and(|t| t.min_version == crate::spec::model::TlsVersion::V13);
            probes.push(Probe {
                name: "TLS 1.2 refused where 1.3 is required",
                outcome: if min13 {
                    Outcome::NotApplicable("rumqttd accepts TLS 1.2 and 1.3 and cannot be restricted; this probe runs on Mosquitto".into())
                } else {
                    Outcome::NotApplicable(format!("listener `{}` allows TLS 1.2", l.name))
                },
            });
            probes.push(Probe {
                name: "publish/subscribe round trip",
                outcome: round_trip(addr, &tls(mine.clone(), false), id),
            });
            probes.push(Probe {
                name: "session survives a reconnect",
                outcome: session(addr, &tls(mine, false), id),
            });
        }
        _ => probes.push(Probe {
            name: "mTLS probes",
            outcome: Outcome::NotApplicable(
                "the site has no listener requiring client certificates, or no device".into(),
            ),
        }),
    }
    probes.push(Probe {
        name: "retained message survives a restart",
        outcome: Outcome::NotApplicable(
            "the bundled broker keeps no persistence; this probe runs on Mosquitto".into(),
        ),
    });
    probes.push(Probe {
        name: "ACL matrix agrees with `acl check`",
        outcome: Outcome::NotApplicable(
            "rumqttd has no topic authorization; the ACL matrix runs on Mosquitto".into(),
        ),
    });
    probes.push(Probe {
        name: "load balancer health checks and failover",
        outcome: Outcome::NotApplicable("the bundled runtime runs no load balancer".into()),
    });
    Ok(probes)
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

fn round_trip(addr: SocketAddr, tls: &Tls, id: &str) -> Outcome {
    let topic = format!("devices/{id}/verify/round-trip");
    let run = || -> Result<Outcome, String> {
        let mut sub = Client::open(addr, Some(tls))?;
        sub.connect(&format!("{id}-sub"), true)?;
        let granted = sub.subscribe(&topic, 1)?;
        if granted > 1 {
            return Ok(Outcome::Fail(format!(
                "SUBACK refused the subscription (0x{granted:02x})"
            )));
        }
        let mut publ = Client::open(addr, Some(tls))?;
        publ.connect(&format!("{id}-pub"), true)?;
        publ.publish(&topic, b"mqttforge verify", 1, false)?;
        let (t, payload) = sub.next_message()?;
        publ.disconnect();
        sub.disconnect();
        Ok(if t == topic && payload == b"mqttforge verify" {
            Outcome::Pass(format!("QoS 1 message on `{topic}` delivered"))
        } else {
            Outcome::Fail(format!(
                "received `{t}` with {} bytes instead",
                payload.len()
            ))
        })
    };
    run().unwrap_or_else(Outcome::Fail)
}

fn session(addr: SocketAddr, tls: &Tls, id: &str) -> Outcome {
    let topic = format!("devices/{id}/verify/session");
    let client_id = format!("{id}-session");
    let run = || -> Result<Outcome, String> {
        let mut c = Client::open(addr, Some(tls))?;
        c.connect(&client_id, false)?;
        c.subscribe(&topic, 1)?;
        c.disconnect();
        std::thread::sleep(Duration::from_millis(200));
        let mut publ = Client::open(addr, Some(tls))?;
        publ.connect(&format!("{id}-session-pub"), true)?;
        publ.publish(&topic, b"while you were away", 1, false)?;
        publ.disconnect();
        let mut back = Client::open(addr, Some(tls))?;
        let (present, rc) = back.connect(&client_id, false)?;
        if rc != 0 {
            return Ok(Outcome::Fail(format!("reconnect refused (CONNACK {rc})")));
        }
        let got = back.next_message();
        back.disconnect();
        Ok(match got {
            Ok((t, p)) if t == topic && p == b"while you were away" => Outcome::Pass(format!(
                "session present = {present}; the message queued while offline was delivered"
            )),
            Ok((t, _)) => Outcome::Fail(format!("received `{t}` instead of the queued message")),
            Err(e) => Outcome::Fail(format!("the queued message never came ({e})")),
        })
    };
    run().unwrap_or_else(Outcome::Fail)
}
