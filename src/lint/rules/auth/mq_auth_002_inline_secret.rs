//! A secret is written inline in a spec or config that is committed.
//!
//! What it does: flags secrets whose value is written in the file itself
//! rather than referenced: spec secrets with `value:` (user passwords, the
//! load balancer's stats password, the backup recipient), and in
//! mosquitto.conf the plugin options that carry passwords, tokens or keys
//! (`plugin_opt_*`/`auth_opt_*`) and bridge passwords and pre-shared keys.
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

fn check(facts: &Facts, out: &mut Vec<Finding>) {
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
