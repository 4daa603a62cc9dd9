//! A private key file is readable by others, or by a group other than the broker's, or not readable by the broker.
//!
//! What it does: checks the mode, owner and group of private key files.
//! Any access for "others" is a finding. On a broker host (audited key
//! files), the key may be group-readable only by the broker's group
//! (`mosquitto`, `emqx`, `rumqttd`), and the broker must be able to read it:
//! owned by the broker's user, or group-readable by its group. In the spec's
//! `pki.dir`, where keys wait for `apply` to install them (it sets owner and
//! group), the CA and device keys must be 0600; server keys may be 0640.
//!
//! Why it matters: a private key readable by every local user lets any
//! compromised service impersonate the broker. And Mosquitto started as root
//! drops to the `mosquitto` user before it reads certificates and keys: a
//! root-owned 0600 key makes it exit with "Unable to load server key file".
//!
//! Example:
//!     -rw-r--r-- root root      /etc/mosquitto/certs/server.key
//!     -rw------- root root      /etc/mosquitto/certs/server.key
//!
//! Use instead:
//!     -rw-r----- root mosquitto /etc/mosquitto/certs/server.key
//!     (chgrp mosquitto server.key && chmod 0640 server.key)
//!
//! Severity: error; a key others can read is a warning outside production;
//! a key the broker cannot read is an error everywhere (the broker does not
//! start).

use super::role_name;
use crate::diag::Severity;
use crate::facts::{CertRole, Facts};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PKI-005",
    name: "key_permissions",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_pki_005_key_permissions.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let exposed = |f: Finding| match relaxed(facts, Severity::Warning) {
        Some(s) => f.with_severity(s),
        None => f,
    };
    for k in &facts.keys {
        let m = k.mode;
        let path = &k.path;
        if m & 0o007 != 0 {
            let what = if m & 0o004 != 0 {
                "readable by every user on the host"
            } else {
                "open to every user on the host"
            };
            let help = match k.staged {
                Some(CertRole::Server) | None => "`chgrp mosquitto` it (or the engine's group: emqx, rumqttd) and `chmod 0640`, or make the broker's user its owner with `chmod 0600`",
                Some(_) => "`chmod 0600` it: only its owner needs it",
            };
            out.push(exposed(Finding::new(
                &k.span,
                format!("private key `{path}` is {what} (mode {m:04o})"),
                help,
            )));
            continue;
        }
        match k.staged {
            Some(role) if role != CertRole::Server && m & 0o070 != 0 => {
                out.push(exposed(Finding::new(
                    &k.span,
                    format!("{} key `{path}` is open to its group `{}` (mode {m:04o}); only its owner should read it", role_name(role), k.group),
                    "`chmod 0600` it: no broker ever needs this key",
                )));
            }
            Some(_) => {}
            None => {
                let broker_reads =
                    (k.owner_is_broker && m & 0o400 != 0) || (k.group_is_broker && m & 0o040 != 0);
                if m & 0o070 != 0 && !k.group_is_broker {
                    out.push(exposed(Finding::new(
                        &k.span,
                        format!("private key `{path}` is open to group `{}`, which is not the broker's (mode {m:04o})", k.group),
                        "`chgrp mosquitto` it (or the engine's group: emqx, rumqttd) and `chmod 0640`",
                    )));
                } else if !broker_reads {
                    out.push(Finding::new(
                        &k.span,
                        format!("the broker cannot read private key `{path}`: owned by {}:{} with mode {m:04o}, and Mosquitto drops root before it loads keys", k.owner, k.group),
                        "`chgrp mosquitto` it and `chmod 0640` (or make the broker's user its owner, mode 0600)",
                    ));
                }
            }
        }
    }
}
