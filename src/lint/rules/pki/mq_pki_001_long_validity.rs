//! A device or server certificate is valid for more than 365 days.
//!
//! What it does: flags a spec whose `pki.device_validity` or
//! `pki.server_validity` is over 365 days, and device or server certificates
//! (PEM files, or those already in the spec's `pki.dir`) issued for longer.
//! CA certificates are not concerned.
//!
//! Why it matters: the production checklist caps certificate lifetime at one
//! year. A long-lived certificate is a long-lived credential: a key copied
//! from a device stays usable for years, and revocation lists are rarely
//! checked by constrained clients. A short lifetime forces the renewal path
//! (OTA) to exist and to be exercised. mqttforge itself refuses to issue
//! leaf certificates for more than 365 days.
//!
//! Example:
//!     pki: { ca: { cn: "ACME Root CA" }, device_validity: 730d }
//!
//! Use instead:
//!     pki: { ca: { cn: "ACME Root CA" }, device_validity: 365d, server_validity: 90d }
//!
//! Severity: error in production; warning elsewhere.

use super::role_name;
use crate::diag::Severity;
use crate::facts::{CertRole, Facts};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PKI-001",
    name: "long_validity",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_pki_001_long_validity.rs"),
    check,
};

pub const MAX_DAYS: i64 = 365;

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for c in &facts.certs {
        if c.role == CertRole::Ca || c.validity_days <= MAX_DAYS {
            continue;
        }
        let role = role_name(c.role);
        let mut f = if c.not_after.is_empty() {
            // A profile of the spec: what would be issued.
            Finding::new(
                &c.span,
                format!(
                    "{role} certificates would be valid for {} days, over the one-year maximum",
                    c.validity_days
                ),
                format!(
                    "set `{}` to at most `365d` and renew with `mqttforge pki renew` before expiry",
                    c.path
                ),
            )
        } else {
            Finding::new(
                &c.span,
                format!("{role} certificate `{}` is valid for {} days, over the one-year maximum", c.path, c.validity_days),
                "reissue it for at most 365 days (`openssl x509 -req -days 365 ...`, or `mqttforge pki renew`) and monitor its expiry 30 days ahead",
            )
        };
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
