//! The load balancer terminates TLS while the brokers take the client's identity from its certificate.
//!
//! What it does: flags a load balancer that terminates TLS (spec
//! `load_balancer.tls: terminate`; haproxy.cfg `bind ... ssl crt ...`)
//! when a broker relies on the client certificate for identity (a listener
//! with `identity: username`, Mosquitto `use_identity_as_username true`,
//! EMQX `mqtt.peer_cert_as_username = cn`) and the load balancer does not
//! forward the certificate's CN with PROXY protocol v2
//! (`send-proxy-v2-ssl-cn`), or forwards it to Mosquitto, which does not
//! read the PROXY protocol.
//!
//! Why it matters: once TLS ends at the load balancer, the broker sees a
//! plain TCP connection with no certificate: devices either all fail to
//! authenticate, or (with anonymous fallbacks) all become the same
//! nameless client, and the ACL's per-device isolation (`%u`,
//! `${username}`) no longer holds. Passthrough keeps mTLS at the broker;
//! termination needs PROXY protocol v2 with SSL TLVs, which EMQX reads.
//!
//! Example:
//!     load_balancer: { kind: haproxy, tls: terminate }
//!     listeners: [ { name: devices, port: 8883, tls: { client_certs: required, identity: username } } ]
//!
//! Use instead:
//!     load_balancer: { kind: haproxy, tls: passthrough }
//!     (or, with EMQX: `tls: terminate` and `proxy_protocol: true`)
//!
//! Severity: error.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{Finding, Rule, BOTH};
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-HA-005",
    name: "tls_mode_contradiction",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_ha_005_tls_mode_contradiction.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(lb) = &facts.lb else { return };
    if !lb.terminates_tls {
        return;
    }
    let mosquitto = facts.engine == Some(Engine::Mosquitto);
    if lb.proxy_protocol && !mosquitto {
        return;
    }
    // Where identity comes from the certificate: broker settings, then listeners.
    let source = facts
        .ha
        .cert_identity
        .first()
        .map(|(what, span)| (what.clone(), span.clone()))
        .or_else(|| {
            facts.listeners.iter().find_map(|l| {
                l.tls.as_ref().filter(|t| t.identity_as_username).map(|t| {
                    (
                        format!(
                            "listener `{}` takes the username from the client certificate",
                            l.name
                        ),
                        t.identity_span.clone().unwrap_or_else(|| l.span.clone()),
                    )
                })
            })
        });
    let Some((what, span)) = source else { return };
    let (message, help) = match (lb.proxy_protocol, facts.origin) {
        (true, _) => (
            format!("the load balancer terminates TLS and sends the certificate's CN with PROXY protocol v2, which Mosquitto does not read, yet {what}: devices lose their identity"),
            "pass TLS through to Mosquitto (`mode tcp` without `ssl` on the `bind`), so the broker checks the certificate itself",
        ),
        (false, Origin::Spec) => (
            format!("the load balancer terminates TLS, so brokers never see the client certificate, yet {what}: devices lose their identity"),
            "use `load_balancer.tls: passthrough`, or (EMQX) forward the certificate with `proxy_protocol: true`",
        ),
        (false, Origin::File) => (
            format!("this `bind` terminates TLS at the load balancer, so brokers never see the client certificate, yet {what}: devices lose their identity"),
            "pass TLS through (remove `ssl crt ...` from the `bind`), or (EMQX) add `send-proxy-v2-ssl-cn` to the `server` lines and `proxy_protocol = true` to the broker's listener",
        ),
    };
    out.push(
        Finding::new(&lb.span, message, help)
            .with_related(&span, "identity taken from the certificate here"),
    );
}
