//! A secret is written inline in a spec or config that is committed.
//!
//! What it does: flags secrets whose value is written in the file itself
//! rather than referenced: spec secrets with `value:` (user passwords, the
//! load balancer's stats password, the backup recipient), and in
//! mosquitto.conf the plugin options that carry passwords, tokens or keys
//! (`plugin_opt_*`/`auth_opt_*`) and bridge passwords and pre-shared keys.
//!
//! In audit it also flags a private key file found inside a git work tree
//! (a `.git` in its directory or above): the key itself is the secret, and
//! it sits where a commit takes it. (MQ-PKI-005 judges who may read a key
//! on the host; this rule judges where it is kept.) A key inside another
//! kind of file (a config) is refused before any rule runs.
//!
//! Why it matters: specs and configs live in version control, are copied to
//! CI logs, backups and laptops; a secret written there leaks with every
//! copy and cannot be rotated without a commit. A reference (environment
//! variable, file readable only by the service) keeps the secret where it
//! can be protected and rotated.
//!
//! Example:
//!     users:
//!       - { name: gateway-01, role: gateway, password: { value: "k3J9-vQx2!mP" } }
//!
//! Use instead:
//!     users:
//!       - { name: gateway-01, role: gateway, password: { env: MQTT_GATEWAY_PASSWORD } }
//!
//! (For keys: generate them on the host, or deliver them from a secret
//! store, into a directory outside the repository such as
//! /etc/mosquitto/certs.)
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-002",
    name: "inline_secret",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_auth_002_inline_secret.rs"),
    check,
};

/// Audited private key files inside a git work tree, one finding per file.
fn keys_in_work_trees(facts: &Facts, out: &mut Vec<Finding>) {
    if facts.origin != Origin::File {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for k in &facts.keys {
        if k.work_tree.is_none() {
            continue;
        }
        if !seen.insert(k.path.as_str()) {
            continue;
        }
        let mut f = Finding::new(
            &k.span,
            format!("private key `{}` is kept inside a git work tree: a commit puts it in every clone of the repository", k.path),
            "keep keys out of repositories: generate the key on the host (or deliver it from a secret store) into a directory outside the work tree such as /etc/mosquitto/certs, ignore it in `.gitignore`; if it was ever committed, issue a new key and certificate",
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    keys_in_work_trees(facts, out);
    for s in &facts.secrets {
        if s.inline.is_none() {
            continue;
        }
        let help = match facts.origin {
            Origin::Spec => "reference it instead: `{ env: VARIABLE }` (read at apply time) or `{ file: /path/readable/by/the/service }`, and rotate the value that was committed",
            Origin::File => "move it out of the committed file: into a file included with `include_dir` and readable only by the broker (mode 0640, group of the broker), kept out of version control; then rotate the value that was committed",
        };
        let mut f = Finding::new(
            &s.span,
            format!("the {} is written inline in `{}`", s.what, s.span.file.name),
            help,
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}
