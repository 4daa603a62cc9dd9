//! A device-facing TLS listener does not require client certificates in production.
//!
//! What it does: flags TLS listeners reachable beyond loopback (and not the
//! load balancer's health-check listener) that accept clients without a
//! certificate: spec `client_certs: none` or `optional`, Mosquitto without
//! `require_certificate true`. Plaintext listeners are MQ-TLS-001's.
//!
//! Why it matters: mutual TLS with one X.509 certificate per device is the
//! transport layer of defence in depth: a device that loses its password
//! still cannot be impersonated without its key, a stolen device is revoked
//! by its certificate, and the certificate's identity becomes the username
//! the ACL isolates on.
//!
//! Example:
//!     listeners:
//!       - { name: devices, port: 8883, tls: { min_version: "1.3", client_certs: optional } }
//!
//! Use instead:
//!     listeners:
//!       - { name: devices, port: 8883, tls: { min_version: "1.3", client_certs: required, identity: username } }
//!
//! Severity: error in production; warning elsewhere.

use super::{exposed, label};
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-005",
    name: "client_certs_not_required",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_005_client_certs_not_required.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        let Some(tls) = &l.tls else { continue };
        if tls.require_client_cert || !exposed(facts, l) {
            continue;
        }
        let span = tls.require_span.as_ref().unwrap_or(&l.span);
        let help = match facts.origin {
            Origin::Spec => "set `client_certs: required` (and `identity: username`) and issue each device its certificate with `mqttforge pki`",
            Origin::File => "set `require_certificate true` with a `cafile` of the device CA (and `use_identity_as_username true`)",
        };
        let mut f = Finding::new(
            span,
            format!(
                "{} lets devices connect without a client certificate",
                label(l)
            ),
            help,
        );
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
