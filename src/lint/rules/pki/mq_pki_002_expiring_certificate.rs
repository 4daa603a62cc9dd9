//! A certificate expires within 30 days, or has expired.
//!
//! What it does: flags certificates (PEM files, or those in the spec's
//! `pki.dir`) whose validity ends within 30 days (warning) or has ended
//! (error), at the time of the run.
//!
//! Why it matters: an expired server certificate takes every client down at
//! once; an expired device certificate locks that device out until someone
//! renews it, often on site. An expired CA invalidates everything it signed.
//! The production checklist monitors expiry 30 days ahead so that renewal
//! (OTA for devices) has time to run.
//!
//! Example:
//!     notAfter=Jan  1 00:00:00 2021 GMT      (openssl x509 -noout -enddate)
//!
//! Use instead:
//!     mqttforge pki renew SPEC               (or reissue with your CA, and alert 30 days ahead)
//!
//! Severity: error when expired, warning when it expires within 30 days, in
//! every environment (an expired certificate breaks a development site too).

use super::role_name;
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PKI-002",
    name: "expiring_certificate",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_pki_002_expiring_certificate.rs"),
    check,
};

/// Certificates with less validity left than this are expiring.
pub const WARNING_DAYS: i64 = 30;

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for c in &facts.certs {
        // Profiles of the spec are not issued certificates.
        if c.not_after.is_empty() {
            continue;
        }
        let role = role_name(c.role);
        if c.days_left < 0 {
            out.push(Finding::new(
                &c.span,
                format!("{role} certificate `{}` expired on {}", c.path, c.not_after),
                "renew it now (`mqttforge pki renew`, or reissue it with your CA); clients refuse an expired certificate",
            ));
        } else if c.days_left < WARNING_DAYS {
            out.push(
                Finding::new(
                    &c.span,
                    format!("{role} certificate `{}` expires in {} day{}, on {}", c.path, c.days_left, if c.days_left == 1 { "" } else { "s" }, c.not_after),
                    format!("renew it before {} (`mqttforge pki renew`), and alert on certificates 30 days before they expire", c.not_after),
                )
                .with_severity(Severity::Warning),
            );
        }
    }
}
