//! A rule file `promtool check rules` rejects, or scrape config and rule groups in one file.
//!
//! What it does: flags a file holding both `scrape_configs` and `groups`,
//! and reports what `promtool check rules` rejects in each rule file, at
//! its line. When `promtool` is not on PATH, the auditor checks the rule
//! file's structure itself: known keys of groups and rules, unique group
//! names, `alert` or `record` (a valid metric name), an `expr` with
//! balanced brackets and closed strings, `for` as a duration, valid label
//! names; PromQL semantics beyond that need promtool.
//!
//! Why it matters: Prometheus refuses to load a rule file it cannot parse
//! and keeps running without it, and it loads rules only from the files
//! `rule_files` lists: groups written into prometheus.yml are silently
//! ignored. Either way, no alert is evaluated.
//!
//! Example:
//!     # prometheus.yml
//!     scrape_configs: [...]
//!     groups:
//!       - name: mqtt
//!         rules: [...]
//!
//! Use instead:
//!     # prometheus.yml
//!     rule_files: [/etc/prometheus/rules/mqtt.rules.yml]
//!     scrape_configs: [...]
//!     # rules/mqtt.rules.yml
//!     groups: [...]
//!
//! Audit only: the generated scrape config and rule file are separate, and
//! `mqttforge verify` runs `promtool check rules` and `promtool test rules`
//! on them.
//!
//! Severity: error.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-OBS-005",
    name: "invalid_rule_file",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_obs_005_invalid_rule_file.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for (message, span) in &facts.prometheus_problems {
        let help = if message.contains("scrape_configs") && message.contains("groups") {
            "move `groups:` into a rule file of its own (e.g. rules/mqtt.rules.yml) and list that file under `rule_files:` in prometheus.yml"
        } else {
            "fix the rule file until `promtool check rules` accepts it"
        };
        out.push(Finding::new(span, message.clone(), help));
    }
}
