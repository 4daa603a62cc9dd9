//! Rules of the AUTH area.

pub mod mq_auth_001_placeholder_secret;
pub mod mq_auth_002_inline_secret;
pub mod mq_auth_003_anonymous_listener;
pub mod mq_auth_004_deprecated_auth_plugin;
pub mod mq_auth_005_exposed_admin_interface;
pub mod mq_auth_006_no_rate_limit;
pub mod mq_auth_007_audit_logging_off;

use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_auth_001_placeholder_secret::RULE,
    mq_auth_002_inline_secret::RULE,
    mq_auth_003_anonymous_listener::RULE,
    mq_auth_004_deprecated_auth_plugin::RULE,
    mq_auth_005_exposed_admin_interface::RULE,
    mq_auth_006_no_rate_limit::RULE,
    mq_auth_007_audit_logging_off::RULE,
];
