//! The certificate identity is the username, but client certificates are not required.
//!
//! What it does: flags listeners that take the MQTT username from the
//! client certificate (spec `identity: username`, Mosquitto
//! `use_identity_as_username` or `use_subject_as_username`) without
//! requiring a verified certificate (spec `client_certs: required`,
//! Mosquitto `require_certificate true`).
//!
//! Why it matters: the identity is only as good as the certificate check.
//! Without `require_certificate`, Mosquitto never asks for a certificate, so
//! every certificate client is refused, or, on stacks that accept an
//! unverified certificate, any self-signed certificate with CN `admin`
//! becomes user `admin`.
//!
//! Example:
//!     listener 8883
//!     use_identity_as_username true
//!
//! Use instead:
//!     listener 8883
//!     cafile /etc/mosquitto/certs/ca.pem
//!     require_certificate true
//!     use_identity_as_username true
//!
//! Severity: error in every environment.

use super::label;
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-006",
    name: "identity_without_client_cert",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_006_identity_without_client_cert.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        let Some(tls) = &l.tls else { continue };
        if !tls.identity_as_username || tls.require_client_cert {
            continue;
        }
        let span = tls.identity_span.as_ref().unwrap_or(&l.span);
        let help = match facts.origin {
            Origin::Spec => "set `client_certs: required` on this listener, or drop `identity: username`",
            Origin::File => "add `require_certificate true` (with the device CA in `cafile`) to this listener, or drop the identity option",
        };
        let mut f = Finding::new(
            span,
            format!(
                "{} takes the MQTT username from the client certificate but does not require one",
                label(l)
            ),
            help,
        );
        if let Some(r) = &tls.require_span {
            f = f.with_related(r, "client certificates not required here");
        }
        out.push(f);
    }
}
