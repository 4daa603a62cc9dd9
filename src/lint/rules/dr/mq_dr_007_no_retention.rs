//! No retention policy.
//!
//! What it does: flags a backup script that never deletes old backups: no
//! `find ... -mtime +N -delete`, no `aws s3 rm` with a date cutoff, no
//! `rclone delete --min-age`, `restic forget`, `borg prune`, `ls -t | tail
//! -n +N | xargs rm`, and no bucket lifecycle rule (a
//! `put-bucket-lifecycle-configuration` call, or a comment saying the
//! bucket's lifecycle rule expires them).
//!
//! Why it matters: without retention backups pile up until the disk or the
//! bill is full, and keep data (credentials, messages) longer than any
//! policy allows. The DR plan keeps 30 days.
//!
//! Example:
//!     aws s3 cp "$ARCHIVE.age" "s3://acme-backups/mqtt/"
//!
//! Use instead:
//!     aws s3 cp "$ARCHIVE.age" "s3://acme-backups/mqtt/"
//!     # Retention: the bucket's lifecycle rule expires mqtt/ objects after 30 days.
//!
//! or, for a local target:
//!     find /srv/backups/mqtt -name 'mqtt-*.tgz.age' -mtime +30 -delete
//!
//! Scope: hand-written scripts. A spec's `backup.retention` is required,
//! and the generated script applies it, so no spec can produce a finding.
//!
//! Severity: warning.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-DR-007",
    name: "no_retention",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_dr_007_no_retention.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(b) = &facts.backup else { return };
    if b.declared && !b.retention {
        out.push(Finding::new(
            b.ship_span.as_ref().unwrap_or(&b.span),
            "backups are written here and never deleted: the script has no retention",
            "delete backups older than the retention period (`find DIR -name '<site>-*' -mtime +30 -delete`, or `aws s3 rm` of objects older than a `date -d '-30 days'` cutoff), or give the bucket a lifecycle rule and say so in a comment",
        ));
    }
}
