//! A plaintext MQTT listener is reachable beyond loopback in production.
//!
//! What it does: flags listeners without TLS that bind to a non-loopback
//! address (or to all interfaces), except a listener that only serves the
//! load balancer's health check. In a spec: a listener without `tls:` and
//! without a loopback `bind:`; in a mosquitto.conf: a `listener` without
//! `certfile`/`keyfile` (or `psk_hint`), including the default listener
//! Mosquitto opens on port 1883 when listener options precede any
//! `listener` line.
//!
//! Beyond the brokers' listeners (audit): an HAProxy TCP frontend that
//! accepts plaintext MQTT beyond loopback (a bind without `ssl` on port
//! 1883, or one whose servers are all dialled on 1883 without TLS; TLS
//! passed through to 8883 is not plaintext); an HAProxy that terminates
//! TLS and forwards in clear to a server on a public address (what counts
//! as public: an address literal that is not loopback, private (RFC 1918,
//! fc00::/7), link-local, shared (100.64.0.0/10) or unspecified; host
//! names are not judged, audit cannot tell where they resolve); and a
//! Mosquitto bridge that sends `remote_username`/`remote_password` without
//! TLS (no `bridge_cafile`, `bridge_capath` or `bridge_psk`). In a
//! rumqttd.toml: a `[v4.*]`/`[v5.*]`/`[ws.*]` server without a `tls` table
//! whose `listen` is not a loopback address.
//!
//! Why it matters: usernames, passwords and every payload cross the network
//! in clear text; anyone on the path can read them, or inject commands to
//! devices.
//!
//! Example:
//!     listener 1883
//!     allow_anonymous false
//!
//! Use instead:
//!     listener 1883 127.0.0.1        (local tools only)
//!     listener 8883                  (devices, with TLS)
//!     certfile /etc/mosquitto/certs/server.pem
//!     keyfile /etc/mosquitto/certs/server.key
//!
//! Example (haproxy.cfg):
//!     frontend mqtt
//!         bind *:1883
//!         default_backend brokers
//!
//! Use instead:
//!     frontend mqtt
//!         bind *:8883 ssl crt /etc/haproxy/certs/mqtt.pem
//!         default_backend brokers
//!
//! Severity: error in production; warning elsewhere.

use super::{exposed, label};
use crate::diag::Severity;
use crate::facts::{Facts, PlaintextKind};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-001",
    name: "plaintext_listener",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_001_plaintext_listener.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        if l.tls.is_some() || !exposed(facts, l) {
            continue;
        }
        let bind = match l.bind.as_deref() {
            None | Some("") | Some("0.0.0.0") | Some("::") => "all interfaces".to_string(),
            Some(b) => format!("`{b}`"),
        };
        let mut f = Finding::new(
            &l.span,
            format!("{} accepts plaintext MQTT on {bind}", label(l)),
            "bind it to 127.0.0.1 if only local tools use it; otherwise give it TLS (a certificate and key, port 8883)",
        );
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
    for r in &facts.tls_auth.rumqttd_listeners {
        if r.tls || r.local() {
            continue;
        }
        let at = r.shown_bind();
        let mut f = Finding::new(
            &r.span,
            format!("rumqttd server `{}` (`listen = \"{}\"`) accepts plaintext MQTT on {at}", r.name, r.listen),
            format!("bind it to 127.0.0.1 if only local tools use it; otherwise give it TLS: a `[{}.tls]` table with `certpath` and `keypath` (and `capath` to require client certificates), on port 8883", r.name),
        );
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
    for p in &facts.tls_auth.plaintext {
        let (message, help) = match p.kind {
            PlaintextKind::LbFrontend => (
                format!("{} accepts plaintext MQTT beyond loopback", p.what),
                "terminate TLS on it (`bind :8883 ssl crt /etc/haproxy/certs/mqtt.pem`) or pass TLS through to the brokers' 8883 listeners; bind it to 127.0.0.1 if only local tools use it",
            ),
            PlaintextKind::LbForward => (
                p.what.clone(),
                "re-encrypt to the server (`ssl verify required ca-file /etc/haproxy/certs/ca.pem` on its `server` line, to the broker's TLS port), or reach it over a private network",
            ),
            PlaintextKind::Bridge => (
                p.what.clone(),
                "give the bridge TLS: `bridge_cafile` (or `bridge_capath`) with the remote broker's CA, and its TLS port (`address host:8883`)",
            ),
        };
        let mut f = Finding::new(&p.span, message, help);
        if let Some((span, note)) = &p.related {
            f = f.with_related(span, note.clone());
        }
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
