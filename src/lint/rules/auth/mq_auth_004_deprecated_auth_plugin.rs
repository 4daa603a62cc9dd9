//! An auth plugin directive is deprecated, or names a plugin that does not exist.
//!
//! What it does: flags Mosquitto 1.x plugin directives (`auth_plugin`,
//! `auth_opt_*`), which Mosquitto 2 still reads under their new names
//! `plugin` and `plugin_opt_*`, and `plugin`/`auth_plugin` paths that cannot
//! be loaded: an absolute path that does not exist while its directory does
//! (the audit runs on the broker host), or a relative path, which Mosquitto
//! resolves against its working directory. When the plugin's directory
//! does not exist either, the audit is not running where the broker runs and
//! the path is not judged.
//!
//! Applies to audited configs only: a site spec has no plugins.
//!
//! Why it matters: a plugin that cannot be loaded stops the broker at
//! startup; deprecated names are removed in later releases, and mixing
//! `auth_opt_*` with `plugin` hides which options reach which plugin.
//!
//! Example:
//!     auth_plugin /usr/lib/mosquitto-go-auth/go-auth.so
//!     auth_opt_backends files
//!
//! Use instead:
//!     plugin /usr/lib/mosquitto-go-auth/go-auth.so
//!     plugin_opt_backends files
//!
//! Severity: error for a plugin that cannot be loaded; warning for
//! deprecated names and relative paths.

use std::path::Path;

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-004",
    name: "deprecated_auth_plugin",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_auth_004_deprecated_auth_plugin.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let mut reported_opts: Vec<String> = Vec::new();
    for p in &facts.plugins {
        if p.deprecated {
            if let Some(opt) = p.directive.strip_prefix("auth_opt_") {
                // One finding per file for all its `auth_opt_*` lines.
                if reported_opts.contains(&p.span.file.name) {
                    continue;
                }
                reported_opts.push(p.span.file.name.clone());
                let count = facts
                    .plugins
                    .iter()
                    .filter(|o| {
                        o.deprecated
                            && o.directive.starts_with("auth_opt_")
                            && o.span.file.name == p.span.file.name
                    })
                    .count();
                let more = if count > 1 {
                    format!(" (and {} more `auth_opt_*` lines)", count - 1)
                } else {
                    String::new()
                };
                out.push(
                    Finding::new(&p.span, format!("`{}` is the deprecated Mosquitto 1.x name of `plugin_opt_{opt}`{more}", p.directive), "rename every `auth_opt_NAME` to `plugin_opt_NAME` (Mosquitto 2 reads both; later releases drop the old names)")
                        .with_severity(Severity::Warning),
                );
            } else {
                out.push(
                    Finding::new(
                        &p.span,
                        format!(
                            "`{}` is the deprecated Mosquitto 1.x name of `plugin`",
                            p.directive
                        ),
                        "write `plugin PATH` (and `plugin_opt_NAME` for its options)",
                    )
                    .with_severity(Severity::Warning),
                );
            }
        }
        let Some(path) = p.path.as_deref() else {
            continue;
        };
        if !path.starts_with('/') {
            out.push(
                Finding::new(&p.span, format!("plugin path `{path}` is relative: Mosquitto resolves it against its working directory (`/` under systemd)"), "write the plugin's absolute path")
                    .with_severity(Severity::Warning),
            );
            continue;
        }
        let file = Path::new(path);
        let dir_exists = file.parent().is_some_and(|d| d.is_dir());
        if dir_exists && !file.exists() {
            out.push(Finding::new(
                &p.span,
                format!("plugin `{path}` does not exist: Mosquitto stops at startup when it cannot load it"),
                "install the plugin's package, or correct the path (`ls` its directory for the `.so` file)",
            ));
        }
    }
}
