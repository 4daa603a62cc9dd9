//! A production site declares no backup schedule.
//!
//! What it does: flags a production spec without a `backup:` section, so
//! nothing schedules a backup of the broker's configuration, ACL and
//! password file, certificates and keys, and persisted messages.
//!
//! Why it matters: a lost disk, a bad upgrade or a deleted ACL can only be
//! undone from a backup, and the production checklist asks for automated
//! daily backups. With `backup:` mqttforge generates the backup and restore
//! scripts and schedules them.
//!
//! Example:
//!     environment: production
//!     # no backup: section
//!
//! Use instead:
//!     backup:
//!       schedule: daily
//!       retention: 30d
//!       target: "s3://acme-mqtt-backups/factory-lyon"
//!       encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } }
//!
//! Scope: specs only. Whether a hand-written script is scheduled lives in a
//! crontab or a systemd timer, not in the script, so `audit` cannot tell.
//!
//! Severity: error in production; the rule does not apply elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, LINT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-DR-001",
    name: "no_backup_schedule",
    severity: Severity::Error,
    scope: LINT_ONLY,
    source: include_str!("mq_dr_001_no_backup_schedule.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(b) = &facts.backup else { return };
    if facts.production() && !b.scheduled {
        out.push(Finding::new(
            &b.span,
            "production site without a backup: nothing backs up its configuration, ACL and password file, keys and persisted messages",
            "add `backup: { schedule: daily, retention: 30d, target: \"s3://<bucket>/<site>\", encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } } }`",
        ));
    }
}
