//! Rules of the PKI area.

pub mod mq_pki_001_long_validity;
pub mod mq_pki_002_expiring_certificate;
pub mod mq_pki_003_incomplete_certificate;
pub mod mq_pki_004_weak_crypto;
pub mod mq_pki_005_key_permissions;

use crate::facts::CertRole;
use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_pki_001_long_validity::RULE,
    mq_pki_002_expiring_certificate::RULE,
    mq_pki_003_incomplete_certificate::RULE,
    mq_pki_004_weak_crypto::RULE,
    mq_pki_005_key_permissions::RULE,
];

/// How messages name a certificate's role.
fn role_name(role: CertRole) -> &'static str {
    match role {
        CertRole::Ca => "CA",
        CertRole::Server => "server",
        CertRole::Device => "device",
    }
}
