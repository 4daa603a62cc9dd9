//! Devices may publish to a topic that does not hold their own id: one device can publish as another.
//!
//! What it does: flags write (or readwrite) permissions held by devices (a
//! device, a role devices hold, a Mosquitto `pattern`, EMQX `all`) on a
//! topic without wildcards that names no device identity: no `{id}` in a
//! spec role, no `%u`/`%c` in a Mosquitto pattern, no `${username}` /
//! `${clientid}` in EMQX, and not the device's own id. Filters with
//! wildcards are MQ-ACL-001's.
//!
//! Why it matters: when every device of a role may publish to
//! `plant/alarms` or `devices/status`, nothing tells the consumer which
//! device spoke, and any one of them (a stolen key, a buggy firmware) can
//! overwrite another's retained status or raise its alarms. Identity
//! isolation is the device id in the topic, enforced by the broker from
//! the certificate.
//!
//! Example:
//!     roles:
//!       sensor:
//!         - { write: "plant/alarms" }
//!
//! Use instead:
//!     roles:
//!       sensor:
//!         - { write: "plant/alarms/{id}" }
//!
//! (In a Mosquitto ACL, `pattern write plant/alarms/%u`; in EMQX,
//! `["plant/alarms/${username}"]`.)
//!
//! Severity: error in production; warning elsewhere.

use super::{device_principal, principal, verb, writes};
use crate::acl::topic::has_wildcard;
use crate::diag::Severity;
use crate::facts::{Facts, Principal};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-ACL-002",
    name: "no_identity_isolation",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_acl_002_no_identity_isolation.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for f in &facts.acl {
        if f.admin || !writes(f.access) || !device_principal(&f.principal) {
            continue;
        }
        if has_wildcard(&f.normalized) || f.normalized.split('/').any(|l| l == "{id}") {
            continue;
        }
        let help = match &f.principal {
            Principal::Role { name, .. } if !name.starts_with('{') => format!("put the device id in the topic, e.g. `{}/{{id}}`", f.topic),
            _ => "put the device id in the topic: `%u` in a Mosquitto pattern, `${username}` in EMQX (e.g. `devices/${username}/status`)".to_string(),
        };
        let finding = Finding::new(
            &f.span,
            format!("{} may {} `{}`, a topic that does not hold the publishing device's own id: any device holding it can publish as another", principal(f), verb(f.access), f.topic),
            help,
        );
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => finding.with_severity(s),
            None => finding,
        });
    }
}
