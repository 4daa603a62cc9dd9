//! No restore procedure, or one never exercised.
//!
//! What it does: flags a backup script audited without a restore script
//! (a file named `restore*`, or one that fetches, decrypts and extracts a
//! backup) among the files of the same audit.
//!
//! Why it matters: a backup is only as good as the restore that has been
//! run. Without a written, tested restore, recovery is improvised during the
//! outage: which archive, which key decrypts it, what to stop, where each
//! file goes. mqttforge generates a restore script next to every backup
//! script, and `mqttforge verify` exercises both (a backup, then a restore
//! into a fresh broker that must keep the retained messages).
//!
//! Example:
//!     mqttforge audit backup.sh
//!
//! Use instead:
//!     mqttforge audit backup.sh restore.sh
//!     # restore.sh: fetch, verify the checksum, decrypt, check the archive,
//!     # then stop the broker, extract, start it and check it runs
//!
//! Scope: hand-written scripts. A spec with a `backup:` section always gets
//! its restore script (and a spec without one is MQ-DR-001).
//!
//! Severity: warning (the restore may exist outside the audited files).

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-DR-006",
    name: "no_restore_procedure",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_dr_006_no_restore_procedure.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(b) = &facts.backup else { return };
    if b.declared && !b.restore {
        out.push(Finding::new(
            &b.span,
            "this backup has no restore procedure: no restore script among the audited files",
            "write the restore next to the backup (fetch, verify the checksum, decrypt, check the archive, stop, extract, start, check), audit them together, and run it on a spare host regularly",
        ));
    }
}
