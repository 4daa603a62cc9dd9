//! A listener accepts a TLS version below 1.2, or below 1.3 in production.
//!
//! What it does: reads each TLS listener's lowest accepted version (spec
//! `tls.min_version`, Mosquitto `tls_version`). TLS 1.0 and 1.1 are errors
//! everywhere; TLS 1.2 is a warning in production, where devices and
//! brokers are expected to speak TLS 1.3. A listener that leaves the
//! version unset accepts the library default, TLS 1.2 (Mosquitto 2,
//! OpenSSL 3), and is reported as such.
//!
//! Why it matters: TLS 1.0/1.1 are deprecated (RFC 8996) and rely on
//! SHA-1/MD5 constructions; TLS 1.2 is safe only with a carefully pruned
//! cipher list, while TLS 1.3 offers forward-secret AEAD suites only and a
//! faster handshake, which matters for reconnecting fleets.
//!
//! Example:
//!     listener 8883
//!     tls_version tlsv1.1
//!
//! Use instead:
//!     listener 8883
//!     tls_version tlsv1.3
//!
//! Severity: error for TLS 1.0/1.1 everywhere; warning for TLS 1.2 in
//! production only.

use super::label;
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-002",
    name: "old_tls_version",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_002_old_tls_version.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for l in &facts.listeners {
        let Some(tls) = &l.tls else { continue };
        let span = tls.min_version_span.as_ref().unwrap_or(&l.span);
        match tls.min_version.as_deref() {
            Some(v @ ("1.0" | "1.1")) => out.push(Finding::new(
                span,
                format!("{} has minimum TLS version {v}, which is deprecated (RFC 8996)", label(l)),
                "raise the minimum to TLS 1.3 (`min_version: \"1.3\"`, `tls_version tlsv1.3`), or 1.2 for devices that cannot do 1.3",
            )),
            Some("1.2") if facts.production() => out.push(
                Finding::new(
                    span,
                    format!("{} has minimum TLS version 1.2; in production it should require TLS 1.3", label(l)),
                    "require TLS 1.3 (`min_version: \"1.3\"`, `tls_version tlsv1.3`); keep 1.2 only for devices that cannot do 1.3, with AEAD forward-secret suites",
                )
                .with_severity(Severity::Warning),
            ),
            None if facts.production() => out.push(
                Finding::new(
                    span,
                    format!("{} leaves its minimum TLS version to the default, which accepts TLS 1.2", label(l)),
                    "set the minimum explicitly: `tls_version tlsv1.3` (Mosquitto), `versions = [tlsv1.3]` (EMQX)",
                )
                .with_severity(Severity::Warning),
            ),
            _ => {}
        }
    }
}
