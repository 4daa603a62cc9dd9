//! Backups are not encrypted, or keys and credentials are shipped off-site in plaintext.
//!
//! What it does: flags a backup without an encryption step before it leaves
//! the host (a spec's `backup:` without `encrypt:`; a script with no `age`,
//! `gpg -e/-c`, `openssl enc`, restic, borg or duplicity), and every
//! command of a backup script that copies a key, a password file or the
//! broker's configuration directory off-site as it is.
//!
//! Why it matters: a broker backup holds the server's private key, the
//! password database and the ACL. Whoever can read the bucket or the remote
//! host can impersonate the broker and every user. Server-side encryption
//! of the bucket (`aws s3 cp --sse`) does not help: the bucket's readers
//! get the plaintext.
//!
//! Example:
//!     tar -czf /tmp/mqtt.tgz /etc/mosquitto /var/lib/mosquitto
//!     aws s3 cp /tmp/mqtt.tgz s3://acme-backups/
//!     scp /etc/mosquitto/certs/server.key backup@vault:/keys/
//!
//! Use instead:
//!     tar -czf /tmp/mqtt.tgz /etc/mosquitto /var/lib/mosquitto
//!     age -r "$BACKUP_AGE_RECIPIENT" -o /tmp/mqtt.tgz.age /tmp/mqtt.tgz
//!     aws s3 cp /tmp/mqtt.tgz.age s3://acme-backups/
//!
//! In a spec: `encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } }`.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-DR-002",
    name: "unencrypted_backup",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_dr_002_unencrypted_backup.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(b) = &facts.backup else { return };
    if !b.declared {
        return;
    }
    let mut push = |f: Finding| {
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => f.with_severity(s),
            None => f,
        })
    };
    if !b.encrypted {
        let f = match (facts.origin, &b.ship_span) {
            (Origin::Spec, Some(target)) => Finding::new(
                target,
                "backups are shipped to this target unencrypted: each archive holds the broker's private key, password file and ACL",
                "add `encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } }` to `backup:`; the generated script then encrypts with age before anything leaves the host",
            ),
            (Origin::File, Some(ship)) => Finding::new(
                ship,
                "the backup leaves the host unencrypted: the script has no encryption step (age, gpg, openssl enc) before this copy",
                "encrypt the archive first, e.g. `age -r \"$BACKUP_AGE_RECIPIENT\" -o backup.tgz.age backup.tgz`, and ship only the .age file",
            ),
            (_, None) => Finding::new(
                &b.span,
                "the backup archive is never encrypted: it holds the broker's private key, password file and ACL",
                "encrypt it with age or gpg as soon as it is written, and keep only the encrypted file",
            ),
        };
        push(f);
    }
    for (span, what) in &b.plaintext {
        push(Finding::new(
            span,
            format!("{what} is copied off-site as it is, unencrypted"),
            "keep keys and credentials inside the encrypted archive instead of copying them on their own, or encrypt them first (age, gpg)",
        ));
    }
}
