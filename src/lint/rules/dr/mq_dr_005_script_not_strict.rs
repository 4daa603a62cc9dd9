//! A backup or restore script without strict mode, or with shellcheck errors.
//!
//! What it does: flags a shell script that does not enable `set -euo
//! pipefail` (in any spelling: `set -e -u -o pipefail`, `set -o errexit -o
//! nounset -o pipefail`, shebang flags), and every error shellcheck reports
//! in it. Shellcheck findings need `shellcheck` on PATH; without it only
//! strict mode is checked. The message names the flags it lacks: a script
//! with `set -e` alone stops on a failed step, not on a failed pipeline stage.
//!
//! Why it matters: without `-e` a failed `tar` or upload does not stop the
//! script, which goes on to delete old backups and reports success; without
//! `-u` an unset variable turns `rm -rf "$DIR/"*` into `rm -rf /*`; without
//! `pipefail` `tar | age` succeeds when tar fails. Shellcheck errors are
//! lines the shell parses differently from what was meant.
//!
//! Example:
//!     #!/bin/bash
//!     tar -czf "$OUT" /etc/mosquitto
//!
//! Use instead:
//!     #!/bin/bash
//!     set -euo pipefail
//!     tar -czf "$OUT" /etc/mosquitto
//!
//! Scope: hand-written scripts. The scripts mqttforge generates start with
//! `set -euo pipefail` and are shellcheck-clean (a test runs shellcheck on
//! every one), so no spec can produce a finding.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-DR-005",
    name: "script_not_strict",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_dr_005_script_not_strict.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let lower = relaxed(facts, Severity::Warning);
    for s in &facts.scripts {
        if !s.strict {
            let message = if s.lacks.contains(&"-e") {
                format!("`{}` runs without strict mode: a failed step does not stop it, and it reports success", s.path)
            } else {
                // `set -e` alone: a failed step stops it, but not every one.
                let mut misses = Vec::new();
                if s.lacks.contains(&"-o pipefail") {
                    misses.push("a failure inside a pipeline (`tar … | gzip`)");
                }
                if s.lacks.contains(&"-u") {
                    misses.push("an unset variable (`rm -rf \"$DIR/\"`)");
                }
                format!(
                    "`{}` runs with `set -e` but without `{}`: {} does not stop it",
                    s.path,
                    s.lacks.join("`, `"),
                    misses.join(" or ")
                )
            };
            let mut f = Finding::new(
                &s.span,
                message,
                "put `set -euo pipefail` right after the shebang",
            );
            if let Some(sev) = lower {
                f = f.with_severity(sev);
            }
            out.push(f);
        }
        for (span, message) in &s.errors {
            let code = message.split(':').next().unwrap_or("");
            let mut f = Finding::new(
                span,
                format!("shellcheck error {message}"),
                format!("fix this line; https://www.shellcheck.net/wiki/{code} explains the check"),
            );
            if let Some(sev) = lower {
                f = f.with_severity(sev);
            }
            out.push(f);
        }
    }
}
