//! A TLS listener allows a cipher suite without forward secrecy or AEAD.
//!
//! What it does: evaluates the TLS <= 1.2 cipher list of every listener that
//! accepts TLS 1.2 or lower (spec `tls.ciphers`, Mosquitto `ciphers`, or the
//! engine's default list when none is written) as OpenSSL does, and reports
//! the entries that let in weak suites: static RSA/PSK/SRP key exchange (no
//! forward secrecy), CBC mode (no AEAD), and the broken ones: 3DES, DES, RC4,
//! RC2, IDEA, NULL encryption, anonymous key exchange, EXPORT grades, MD5.
//! TLS 1.3 suites are all AEAD with forward secrecy, so listeners that only
//! accept TLS 1.3 are not checked.
//!
//! In audit, HAProxy's lists too: `ssl-default-bind-ciphers` (when a TLS
//! bind has no `ciphers` of its own) and each TLS bind's `ciphers`, unless
//! the bind accepts TLS 1.3 only (`ssl-min-ver TLSv1.3`, on the bind or in
//! `ssl-default-bind-options`); and EMQX's `ssl_options.ciphers`.
//!
//! Why it matters: without forward secrecy, whoever obtains the server key
//! later decrypts every recorded session; CBC suites have a history of
//! padding-oracle attacks (Lucky13); the broken ones are practically
//! breakable. Mosquitto's default list (`DEFAULT:!aNULL:!eNULL:!LOW:!EXPORT:
//! !SSLv2:@STRENGTH`) still allows AES-CBC with static RSA key exchange.
//!
//! Example:
//!     listener 8883
//!     tls_version tlsv1.2
//!     ciphers HIGH:!aNULL
//!
//! Use instead:
//!     listener 8883
//!     tls_version tlsv1.2
//!     ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256
//!
//! Example (haproxy.cfg):
//!     ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA:AES128-SHA
//!
//! Use instead:
//!     ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305
//!
//! Severity: in production, error for broken suites and warning for suites
//! without forward secrecy or AEAD; one step lower elsewhere.

use super::ciphers::{self, Suite};
use super::{label, narrow};
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-004",
    name: "weak_cipher_suite",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_004_weak_cipher_suite.rs"),
    check,
};

const HELP: &str = "allow only ECDHE suites with AES-GCM or ChaCha20-Poly1305 (ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-CHACHA20-POLY1305, ECDHE-RSA-AES128-GCM-SHA256, ...), or accept TLS 1.3 only";

fn describe(s: &Suite) -> String {
    let w: Vec<String> = ciphers::weaknesses(s)
        .iter()
        .map(|w| w.describe_in(s))
        .collect();
    format!("`{}` ({})", s.name, w.join("; "))
}

/// The suite to show as an example: the most serious weakness, then the
/// most weaknesses, then a certificate-based suite (the familiar kind).
fn example<'a>(suites: &[&'a Suite]) -> &'a Suite {
    let key = |s: &&&'a Suite| {
        let w = ciphers::weaknesses(s);
        (
            w.first().copied(),
            std::cmp::Reverse(w.len()),
            matches!(s.au, ciphers::Au::Psk | ciphers::Au::Srp),
        )
    };
    suites.iter().min_by_key(key).copied().unwrap_or(suites[0])
}

fn severity(facts: &Facts, broken: bool) -> Severity {
    match (broken, facts.production()) {
        (true, true) => Severity::Error,
        (true, false) | (false, true) => Severity::Warning,
        (false, false) => Severity::Info,
    }
}

/// Cipher lists outside the brokers' listeners (HAProxy binds).
fn other_lists(facts: &Facts, out: &mut Vec<Finding>) {
    for c in &facts.tls_auth.cipher_lists {
        let sel = ciphers::evaluate(&c.ciphers);
        let mut entries: Vec<usize> = sel
            .suites
            .iter()
            .filter(|(s, _)| !ciphers::weaknesses(s).is_empty())
            .map(|(_, e)| *e)
            .collect();
        entries.sort_unstable();
        entries.dedup();
        for e in entries {
            let entry = &c.ciphers[e];
            let suites: Vec<&Suite> = sel
                .suites
                .iter()
                .filter(|(s, x)| *x == e && !ciphers::weaknesses(s).is_empty())
                .map(|(s, _)| *s)
                .collect();
            let broken = suites
                .iter()
                .any(|s| ciphers::weaknesses(s).iter().any(|w| w.broken()));
            let message = if ciphers::suite(entry).is_some() {
                format!("`{}` of {} allows {}", c.key, c.what, describe(suites[0]))
            } else {
                format!(
                    "`{entry}` in `{}` of {} lets in {} suite{} without forward secrecy or AEAD, e.g. {}",
                    c.key,
                    c.what,
                    suites.len(),
                    if suites.len() == 1 { "" } else { "s" },
                    describe(example(&suites))
                )
            };
            out.push(
                Finding::new(
                    &narrow(&c.span, entry),
                    message,
                    format!("in `{}`, {HELP} (`ssl-min-ver TLSv1.3`)", c.key),
                )
                .with_severity(severity(facts, broken)),
            );
        }
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    other_lists(facts, out);
    let key = if facts.origin == Origin::Spec {
        "tls.ciphers"
    } else {
        "ciphers"
    };
    for l in &facts.listeners {
        let Some(tls) = &l.tls else { continue };
        if tls.min_version.as_deref() == Some("1.3") || tls.ciphers.is_empty() {
            continue;
        }
        let sel = ciphers::evaluate(&tls.ciphers);
        let weak: Vec<(&Suite, usize)> = sel
            .suites
            .iter()
            .filter(|(s, _)| !ciphers::weaknesses(s).is_empty())
            .map(|(s, e)| (*s, *e))
            .collect();
        if weak.is_empty() {
            continue;
        }
        let Some(span) = &tls.ciphers_span else {
            // The engine's default list.
            let suites: Vec<&Suite> = weak.iter().map(|(s, _)| *s).collect();
            let broken = suites
                .iter()
                .any(|s| ciphers::weaknesses(s).iter().any(|w| w.broken()));
            out.push(
                Finding::new(
                    &l.span,
                    format!(
                        "{} accepts TLS 1.2 with the default cipher list (`{}`), which lets in {} suites without forward secrecy or AEAD, e.g. {}",
                        label(l),
                        tls.ciphers.join(":"),
                        suites.len(),
                        describe(example(&suites))
                    ),
                    format!("set `{key}`: {HELP}"),
                )
                .with_severity(severity(facts, broken)),
            );
            continue;
        };
        let mut entries: Vec<usize> = weak.iter().map(|(_, e)| *e).collect();
        entries.sort_unstable();
        entries.dedup();
        for e in entries {
            let entry = &tls.ciphers[e];
            let suites: Vec<&Suite> = weak
                .iter()
                .filter(|(_, x)| *x == e)
                .map(|(s, _)| *s)
                .collect();
            let broken = suites
                .iter()
                .any(|s| ciphers::weaknesses(s).iter().any(|w| w.broken()));
            let message = if ciphers::suite(entry).is_some() {
                format!("{} allows {} in `{key}`", label(l), describe(suites[0]))
            } else {
                format!(
                    "`{entry}` in `{key}` of {} lets in {} suite{} without forward secrecy or AEAD, e.g. {}",
                    label(l),
                    suites.len(),
                    if suites.len() == 1 { "" } else { "s" },
                    describe(example(&suites))
                )
            };
            out.push(
                Finding::new(&narrow(span, entry), message, HELP)
                    .with_severity(severity(facts, broken)),
            );
        }
    }
}
