//! The bundled runtime: the site's rumqttd.toml run by the bundled broker
//! (rumqttd, in this process, the `broker` feature), probed over TLS.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::client::{Client, Tls};
use super::{mtls_probes, prepare, progress, Outcome, Prepared, Probe};
use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::spec::model::ClientCerts;
use crate::spec::Site;

/// Runs the site on the bundled broker (rumqttd, in this process) and probes it.
pub fn bundled(
    site: &Site,
    spec_name: &str,
    work: &Path,
    quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
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
    let mut probes = vec![config_loads(&parsed.unknown_keys)];
    progress(quiet, "starting rumqttd");
    let running = mqttforge_broker::start(parsed.config, Duration::from_secs(10)).map_err(fail)?;
    progress(
        quiet,
        &format!(
            "rumqttd is up on {} listener(s); probing",
            running.listeners.len()
        ),
    );
    let device = site.devices().next().map(|d| d.id);
    let server_name = node
        .dns_names
        .first()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| node.name.0.clone());
    let ca = read(&pki.join("ca.pem"))?;
    let tls_listener = site.spec.listeners.iter().find(|l| {
        l.tls
            .as_ref()
            .is_some_and(|t| t.client_certs == ClientCerts::Required)
    });
    match (tls_listener, &device) {
        (Some(l), Some(id)) => {
            let device = Device {
                addr: SocketAddr::from(([127, 0, 0, 11], ports[l.name.as_str()])),
                id,
                ca,
                server_name,
            };
            probes.extend(device.probes(l, &pki, &foreign)?);
        }
        _ => probes.push(Probe {
            name: "mTLS probes",
            outcome: Outcome::NotApplicable(
                "the site has no listener requiring client certificates, or no device".into(),
            ),
        }),
    }
    probes.extend(not_on_rumqttd());
    Ok(probes)
}

fn fail(message: String) -> Vec<Diagnostic> {
    vec![Diagnostic::error(Code::Verify, message)]
}

fn read(p: &Path) -> Result<String, Vec<Diagnostic>> {
    std::fs::read_to_string(p).map_err(|e| fail(format!("{}: {e}", p.display())))
}

/// Whether rumqttd's own Config type reads every key of the rendered file.
fn config_loads(unknown_keys: &[String]) -> Probe {
    Probe {
        name: "config loads",
        outcome: if unknown_keys.is_empty() {
            Outcome::Pass("rumqttd's own Config type reads rumqttd.toml, no key ignored".into())
        } else {
            Outcome::Fail(format!("rumqttd ignores: {}", unknown_keys.join(", ")))
        },
    }
}

/// The first device, on the first listener that requires client certificates.
struct Device<'a> {
    addr: SocketAddr,
    id: &'a str,
    ca: String,
    server_name: String,
}

impl Device<'_> {
    fn tls(&self, client: Option<(String, String)>) -> Tls {
        Tls {
            ca_pem: self.ca.clone(),
            client,
            server_name: self.server_name.clone(),
            only_tls12: false,
        }
    }

    /// The certificate and key of the device in a PKI directory.
    fn credentials(&self, pki: &Path) -> Result<Option<(String, String)>, Vec<Diagnostic>> {
        Ok(Some((
            read(&pki.join(format!("devices/{}.pem", self.id)))?,
            read(&pki.join(format!("devices/{}.key", self.id)))?,
        )))
    }

    /// mTLS, TLS version, round trip and session probes.
    fn probes(
        &self,
        l: &crate::spec::model::Listener,
        pki: &Path,
        foreign: &Path,
    ) -> Result<Vec<Probe>, Vec<Diagnostic>> {
        let mine = self.credentials(pki)?;
        let theirs = self.credentials(foreign)?;
        let mut probes = mtls_probes(
            self.addr,
            &self.tls(mine.clone()),
            &self.tls(None),
            &self.tls(theirs),
            &self.server_name,
            self.id,
        );
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
            outcome: round_trip(self.addr, &self.tls(mine.clone()), self.id),
        });
        probes.push(Probe {
            name: "session survives a reconnect",
            outcome: session(self.addr, &self.tls(mine), self.id),
        });
        Ok(probes)
    }
}

/// Probes that need what rumqttd does not have.
fn not_on_rumqttd() -> Vec<Probe> {
    vec![
        Probe {
            name: "retained message survives a restart",
            outcome: Outcome::NotApplicable(
                "the bundled broker keeps no persistence; this probe runs on Mosquitto".into(),
            ),
        },
        Probe {
            name: "ACL matrix agrees with `acl check`",
            outcome: Outcome::NotApplicable(
                "rumqttd has no topic authorization; the ACL matrix runs on Mosquitto".into(),
            ),
        },
        Probe {
            name: "load balancer health checks and failover",
            outcome: Outcome::NotApplicable("the bundled runtime runs no load balancer".into()),
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
