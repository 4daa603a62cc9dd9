//! The load balancer's health check does not speak MQTT.
//!
//! What it does: flags HAProxy backends whose servers are checked by a bare
//! TCP connect (no `option tcp-check`, or `option tcp-check` without a
//! CONNECT to send, or `tcp-check` rules without the option that enables
//! them), by a check of another protocol (`option httpchk`,
//! `option ssl-hello-chk`, ...), or by a CONNECT whose answer is never read
//! (no `tcp-check expect` after it).
//!
//! It also flags a backend of two servers or more whose `server` lines
//! have no `check` (nor `default-server check`): those servers are never
//! checked at all.
//!
//! For servers that speak MQTT over WebSocket (a `ws`/`wss` backend, or a
//! check on port 8083, 8084 or 9001) it advises a WebSocket-upgrade check,
//! never a raw CONNECT, which such a server cannot answer, and takes an
//! HTTP check of such servers as the right kind.
//!
//! Applies to audited haproxy.cfg files: the health check mqttforge
//! renders always sends a CONNECT and expects the CONNACK.
//!
//! In a spec, it flags `load_balancer.kind: nginx`: NGINX open source has
//! passive health checks only (`max_fails`, `fail_timeout`), so no check
//! speaks MQTT, and it says what that means for failover time: until
//! `max_fails` connection attempts (the spec's `health_check.fall`) have
//! failed within `fail_timeout` (its `interval`), every device NGINX sends
//! to a failed broker waits up to `proxy_connect_timeout` before the next
//! broker is tried.
//!
//! Why it matters: a broker that accepts TCP connections but no longer
//! answers MQTT (overloaded, stuck on a full disk, refusing every client)
//! stays UP, and the load balancer keeps sending devices to it. An HTTP
//! check against an MQTT port fails on every broker instead. Only a check
//! that sends a CONNECT and expects CONNACK "accepted" proves that the
//! broker serves clients.
//!
//! Example:
//!     backend brokers
//!         server mqtt1 10.0.1.10:8883 check
//!         server mqtt2 10.0.1.11:8883
//!
//! Or, in a spec:
//!     load_balancer: { kind: nginx, tls: passthrough }
//!
//! Use instead:
//!     load_balancer: { kind: haproxy, tls: passthrough, health_check: { interval: 5s, fall: 3, rise: 2 } }
//!
//! or, in haproxy.cfg:
//!     backend brokers
//!         option tcp-check
//!         tcp-check connect
//!         tcp-check send-binary 100c00044d5154540402003c0000
//!         tcp-check expect binary 20020000
//!         tcp-check send-binary e000
//!         server mqtt1 10.0.1.10:8883 check port 1884
//!         server mqtt2 10.0.1.11:8883 check port 1884
//!
//! Severity: warning.

use std::collections::HashMap;

use super::{place, same_place, Place};
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-HA-002",
    name: "health_check_not_mqtt",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_ha_002_health_check_not_mqtt.rs"),
    check,
};

/// The WebSocket handshake a check of an MQTT-over-WebSocket server expects
/// (EMQX serves it at `/mqtt`; `101 Switching Protocols` proves the broker
/// took the upgrade).
const WS_CHECK: &str = "`option httpchk`, `http-check send meth GET uri /mqtt ver HTTP/1.1 hdr Host broker hdr Connection Upgrade hdr Upgrade websocket hdr Sec-WebSocket-Version 13 hdr Sec-WebSocket-Key dGhlIHNhbXBsZSBub25jZQ== hdr Sec-WebSocket-Protocol mqtt`, `http-check expect status 101`";

/// Whether a backend's servers serve MQTT over WebSocket: its name says so
/// (`ws`, `wss`, `websocket`), or the check goes to a port brokers use for
/// WebSocket by default (EMQX 8083/8084, Mosquitto's customary 9001).
fn websocket(backend: &str, port: Option<u16>) -> bool {
    let name = backend.to_ascii_lowercase();
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "ws" | "wss" | "websocket" | "websockets"))
        || matches!(port, Some(8083 | 8084 | 9001))
}

/// The MQTT conversation to put in its place.
const MQTT_CHECK: &str = "`option tcp-check`, `tcp-check connect`, `tcp-check send-binary 100c00044d5154540402003c0000` (MQTT 3.1.1 CONNECT), `tcp-check expect binary 20020000` (CONNACK accepted), `tcp-check send-binary e000` (DISCONNECT)";

/// Backends of two servers or more whose servers are not all checked:
/// HAProxy keeps sending clients to a server it never checks, down or not.
fn unchecked_servers(facts: &Facts, out: &mut Vec<Finding>) {
    for b in facts.ha.backends.iter().filter(|b| b.servers.len() >= 2) {
        let unchecked: Vec<String> = b
            .servers
            .iter()
            .filter(|s| !s.checked)
            .map(|s| format!("`{}`", s.name))
            .collect();
        let Some(first) = b.servers.iter().find(|s| !s.checked) else {
            continue;
        };
        out.push(
            Finding::new(
                &first.span,
                format!(
                    "backend `{}` never checks {} (no `check` on {} `server` line{}): HAProxy keeps sending devices to a broker that is down",
                    b.name,
                    super::and_list(&unchecked),
                    if unchecked.len() == 1 { "its" } else { "their" },
                    if unchecked.len() == 1 { "" } else { "s" }
                ),
                format!("add `check` to each `server` line (or `default-server check`), with a check that speaks MQTT: {MQTT_CHECK}"),
            )
            .with_related(&b.span, "in this backend"),
        );
    }
}

/// A load balancer that checks only passively (NGINX open source): what
/// that means for failover time.
fn passive_checks(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(p) = &facts.ha.passive_checks else {
        return;
    };
    out.push(Finding::new(
        &p.span,
        format!(
            "NGINX open source checks brokers only passively: no check speaks MQTT, so a broker that accepts TCP but serves no client stays in rotation, and a failed broker leaves rotation only after {} failed connection attempts within {}s (max_fails, fail_timeout); until then every device sent to it waits up to {}s (proxy_connect_timeout) before NGINX tries the next broker",
            p.max_fails, p.fail_timeout_s, p.connect_timeout_s
        ),
        "use `kind: haproxy`, whose check sends an MQTT CONNECT and expects CONNACK \"accepted\", taking a failed broker out of rotation for every device at once; with NGINX, keep `health_check.fall` low".to_string(),
    ));
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    passive_checks(facts, out);
    unchecked_servers(facts, out);
    // The servers of each backend checked by each probe, in order.
    let mut servers_of: HashMap<(&str, Place<'_>), Vec<String>> = HashMap::new();
    for o in &facts.health_checks {
        if let Some((_, s)) = &o.probe {
            servers_of
                .entry((o.backend.as_str(), place(s)))
                .or_default()
                .push(format!("`{}`", o.server));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for hc in &facts.health_checks {
        let Some((probe, span)) = &hc.probe else {
            continue;
        };
        if !seen.insert(place(span)) {
            continue;
        }
        // An HTTP check is the kind a WebSocket server answers.
        if probe.starts_with("an HTTP request") && websocket(&hc.backend, hc.port) {
            continue;
        }
        let servers = &servers_of[&(hc.backend.as_str(), place(span))];
        let help = if hc.mqtt.is_some() {
            "add `tcp-check expect binary 20020000` right after the CONNECT, so only CONNACK \"accepted\" marks the broker UP".to_string()
        } else if websocket(&hc.backend, hc.port) {
            format!("these servers speak MQTT over WebSocket, where a raw CONNECT marks every one DOWN: check the WebSocket upgrade ({WS_CHECK}), or probe the broker's MQTT TCP listener on the same host (`port 1883` on the server line) with {MQTT_CHECK}")
        } else {
            format!("make the check speak MQTT: {MQTT_CHECK}")
        };
        let mut f = Finding::new(
            span,
            format!(
                "backend `{}` checks {} with {probe}",
                hc.backend,
                super::and_list(servers)
            ),
            help,
        );
        if !same_place(span, &hc.span) {
            f = f.with_related(&hc.span, "checked server");
        }
        out.push(f);
    }
}
