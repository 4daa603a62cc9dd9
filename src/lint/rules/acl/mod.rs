//! Rules of the ACL area, and the helpers they share.

pub mod mq_acl_001_wildcard_write;
pub mod mq_acl_002_no_identity_isolation;
pub mod mq_acl_003_firmware_topic_denied;
pub mod mq_acl_004_dead_rule;
pub mod mq_acl_005_unsafe_identifier;

use crate::facts::{AclAccess, AclFact, Principal};
use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_acl_001_wildcard_write::RULE,
    mq_acl_002_no_identity_isolation::RULE,
    mq_acl_003_firmware_topic_denied::RULE,
    mq_acl_004_dead_rule::RULE,
    mq_acl_005_unsafe_identifier::RULE,
];

/// How a finding names the principal of an ACL fact.
pub fn principal(f: &AclFact) -> String {
    match &f.principal {
        Principal::User(u) => format!("user `{u}`"),
        Principal::Device(d) => format!("device `{d}`"),
        Principal::Role {
            name,
            devices: true,
        } if name.starts_with('{') => format!("the clients matching `{name}`"),
        Principal::Role {
            name,
            devices: true,
        } => format!("role `{name}` (held by devices)"),
        Principal::Role {
            name,
            devices: false,
        } => format!("role `{name}`"),
        Principal::Pattern => "every client (a pattern rule)".to_string(),
        Principal::All => {
            "every client (`all`; in a Mosquitto ACL, the clients without a username)".to_string()
        }
    }
}

/// Whether a principal stands for devices (or for every client, devices included).
pub fn device_principal(p: &Principal) -> bool {
    matches!(
        p,
        Principal::Device(_)
            | Principal::Role { devices: true, .. }
            | Principal::Pattern
            | Principal::All
    )
}

/// Whether the fact lets its principal publish.
pub fn writes(a: AclAccess) -> bool {
    matches!(a, AclAccess::Write | AclAccess::ReadWrite)
}

/// "publish to" or "publish and subscribe to".
pub fn verb(a: AclAccess) -> &'static str {
    if a == AclAccess::ReadWrite {
        "publish and subscribe to"
    } else {
        "publish to"
    }
}
