//! A cipher list holds suites of the wrong TLS version, or no usable suite at all.
//!
//! What it does: evaluates each TLS listener's cipher lists the way OpenSSL
//! does. In the TLS <= 1.2 list (spec `tls.ciphers`, Mosquitto `ciphers`),
//! TLS 1.3 suite names (`TLS_AES_256_GCM_SHA384`) and unknown names are
//! ignored; when nothing usable is left, the list is an error. In the TLS 1.3
//! list (spec `tls.ciphers_tls13`, Mosquitto `ciphers_tls1.3`), TLS 1.2
//! names are ignored the same way.
//!
//! Why it matters: `ciphers` only governs TLS 1.2 and below; TLS 1.3 suites
//! belong in `ciphers_tls1.3`. Mosquitto 2.0 refuses to start ("Unable to set
//! TLS ciphers", exit 1) when `ciphers` holds only TLS 1.3 names, and
//! ("Unable to set TLS 1.3 ciphersuites") when `ciphers_tls1.3` holds none.
//! A partly ignored list does not do what its author believes.
//!
//! Example:
//!     listener 8883
//!     tls_version tlsv1.2
//!     ciphers TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
//!
//! Use instead:
//!     listener 8883
//!     tls_version tlsv1.2
//!     ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305
//!     ciphers_tls1.3 TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
//!
//! Severity: error when no usable suite is left; warning for ignored entries.

use super::ciphers::{self, EntryKind};
use super::{label, narrow, setting_span};
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-TLS-003",
    name: "unusable_cipher_list",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_tls_003_unusable_cipher_list.rs"),
    check,
};

/// The names of the two lists where the facts came from.
fn keys(facts: &Facts) -> (&'static str, &'static str) {
    match facts.origin {
        Origin::Spec => ("tls.ciphers", "tls.ciphers_tls13"),
        Origin::File => ("ciphers", "ciphers_tls1.3"),
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let (key12, key13) = keys(facts);
    for (i, l) in facts.listeners.iter().enumerate() {
        let Some(tls) = &l.tls else { continue };
        // An explicit TLS <= 1.2 list (a default one has no span).
        if let (Some(span), false) = (&tls.ciphers_span, tls.ciphers.is_empty()) {
            let sel = ciphers::evaluate(&tls.ciphers);
            let tls13: Vec<&str> = sel
                .entries_of(EntryKind::Tls13)
                .map(|e| tls.ciphers[e].as_str())
                .collect();
            let unknown: Vec<&str> = sel
                .entries_of(EntryKind::Unknown)
                .map(|e| tls.ciphers[e].as_str())
                .collect();
            if sel.suites.is_empty() {
                let (message, first) = if let Some(first) = tls13.first() {
                    (
                        format!("`{key12}` of {} holds only TLS 1.3 suite names, which a TLS 1.2 cipher list ignores: no TLS 1.2 suite is left", label(l)),
                        *first,
                    )
                } else if let Some(first) = unknown.first() {
                    (
                        format!("no entry of `{key12}` of {} selects a cipher suite OpenSSL knows (`{first}` is not one)", label(l)),
                        *first,
                    )
                } else {
                    (
                        format!("`{key12}` of {} selects no cipher suite: its exclusions remove every suite it adds", label(l)),
                        "",
                    )
                };
                out.push(Finding::new(
                    &narrow(span, first),
                    message,
                    format!(
                        "Mosquitto 2 refuses to start on such a list (\"Unable to set TLS ciphers\"): put TLS 1.3 suites in `{key13}` and TLS 1.2 suites (ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256, ...) in `{key12}`, or drop `{key12}`"
                    ),
                ));
            } else {
                for name in tls13 {
                    out.push(
                        Finding::new(
                            &narrow(span, name),
                            format!("TLS 1.3 suite `{name}` in the TLS 1.2 list `{key12}` of {} is ignored", label(l)),
                            format!("move it to `{key13}`, which governs TLS 1.3"),
                        )
                        .with_severity(Severity::Warning),
                    );
                }
                for name in unknown {
                    let known = ciphers::SUITES.iter().map(|s| s.name);
                    let help = match crate::suggest::did_you_mean(
                        name.trim_start_matches(['!', '-', '+']),
                        known,
                    ) {
                        Some(s) => format!(
                            "did you mean `{s}`? OpenSSL silently ignores names it does not know"
                        ),
                        None => "remove it, or use an OpenSSL suite name (`openssl ciphers -v`)"
                            .to_string(),
                    };
                    out.push(
                        Finding::new(
                            &narrow(span, name),
                            format!("`{name}` in `{key12}` of {} is not a cipher suite OpenSSL knows; it is ignored", label(l)),
                            help,
                        )
                        .with_severity(Severity::Warning),
                    );
                }
            }
        }
        if !tls.ciphers_tls13.is_empty() {
            let span = setting_span(facts, i, "ciphers_tls13").unwrap_or(&l.span);
            let wrong: Vec<&String> = tls
                .ciphers_tls13
                .iter()
                .filter(|c| !ciphers::is_tls13(c))
                .collect();
            if wrong.len() == tls.ciphers_tls13.len() {
                out.push(Finding::new(
                    &narrow(span, wrong[0]),
                    format!("`{key13}` of {} names no TLS 1.3 suite (`{}` is not one): TLS 1.3 cannot be negotiated", label(l), wrong[0]),
                    format!(
                        "Mosquitto 2 refuses to start on such a list (\"Unable to set TLS 1.3 ciphersuites\"): list TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256 in `{key13}`; TLS 1.2 suites belong in `{key12}`"
                    ),
                ));
            } else {
                for name in wrong {
                    out.push(
                        Finding::new(
                            &narrow(span, name),
                            format!("`{name}` in the TLS 1.3 list `{key13}` of {} is not a TLS 1.3 suite; it is ignored", label(l)),
                            format!("TLS 1.2 suites belong in `{key12}`; `{key13}` takes TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256"),
                        )
                        .with_severity(Severity::Warning),
                    );
                }
            }
        }
    }
}
