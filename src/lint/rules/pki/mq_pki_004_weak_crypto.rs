//! A weak key or signature: RSA under 2048 bits, SHA-1 or MD5.
//!
//! What it does: flags certificates whose public key is RSA under 2048 bits
//! (or an elliptic curve under 256 bits), or whose signature uses SHA-1, MD5
//! or MD2; and RSA private key files under 2048 bits.
//!
//! Why it matters: 1024-bit RSA and SHA-1 signatures are within reach of
//! attackers and are refused by current TLS stacks (OpenSSL security level
//! 2, rustls, browsers): the certificate is both unsafe and, increasingly,
//! unusable. MD5 signatures have been forged in practice.
//!
//! Example:
//!     openssl req -x509 -newkey rsa:1024 -sha1 -keyout server.key -out server.pem
//!
//! Use instead:
//!     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -keyout server.key -out server.pem
//!     (or `pki: { key: ecdsa-p256 }` and `mqttforge pki`)
//!
//! Severity: error in every environment.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PKI-004",
    name: "weak_crypto",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_pki_004_weak_crypto.rs"),
    check,
};

pub const MIN_RSA_BITS: u32 = 2048;
pub const MIN_EC_BITS: u32 = 256;
/// Digests that no longer protect a signature: (in the algorithm's name, as said).
const WEAK_DIGESTS: &[(&str, &str)] = &[("sha1", "SHA-1"), ("md5", "MD5"), ("md2", "MD2")];

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for c in &facts.certs {
        let mut weak = Vec::new();
        if c.rsa && c.key_bits > 0 && c.key_bits < MIN_RSA_BITS {
            weak.push(format!("an RSA key of {} bits", c.key_bits));
        } else if !c.rsa && c.key_bits > 0 && c.key_bits < MIN_EC_BITS {
            weak.push(format!("a {}-bit key", c.key_bits));
        }
        let sig = c.signature.to_ascii_lowercase();
        if let Some((_, digest)) = WEAK_DIGESTS.iter().find(|(d, _)| sig.contains(d)) {
            weak.push(format!("a {digest} signature ({})", c.signature));
        }
        if weak.is_empty() {
            continue;
        }
        out.push(Finding::new(
            &c.span,
            format!("certificate `{}` has {}", c.path, weak.join(" and ")),
            "reissue it with an ECDSA P-256 key (or RSA of at least 2048 bits) signed with SHA-256",
        ));
    }
    for k in &facts.keys {
        if let Some(bits) = k.rsa_bits.filter(|b| *b < MIN_RSA_BITS) {
            out.push(Finding::new(
                &k.span,
                format!("private key `{}` is RSA of {bits} bits", k.path),
                "replace it with an ECDSA P-256 key (or RSA of at least 2048 bits) and reissue its certificate",
            ));
        }
    }
}
