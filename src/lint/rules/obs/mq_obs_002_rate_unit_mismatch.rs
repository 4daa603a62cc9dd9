//! An alert compares a counter's rate in one time unit with a threshold in another.
//!
//! What it does: works out the unit of the side of the alert's comparison:
//! `rate()`/`irate()` are per second, `increase(x[W])` is per window `W`,
//! and constant factors scale them (`rate(x[5m]) * 60` is per minute,
//! `increase(x[5m]) / 5` too). It compares that with the unit the alert's
//! name, summary or description speaks of ("per minute", "/min", "per
//! second", "per hour"), and flags them when they differ.
//!
//! Why it matters: `rate(auth_failures[1m]) > 100` fires at 100 failures
//! per *second* — 6000 a minute — while its summary promises 100 per
//! minute. The alert stays silent through the attack it was written for.
//!
//! Example:
//!     - alert: AuthFailuresHigh
//!       expr: sum(rate(emqx_authentication_failure[1m])) > 100
//!       annotations: { summary: "More than 100 authentication failures per minute" }
//!
//! Use instead:
//!     expr: sum(rate(emqx_authentication_failure[5m])) * 60 > 100
//!     (or sum(increase(emqx_authentication_failure[1m])) > 100)
//!
//! Audit only: the generated rules scale every rate to the unit of its
//! threshold (`rate(..) * 60` for the spec's per-minute figures), and no
//! spec value can change an expression.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::rules::obs::{files, promql};
use crate::lint::{relaxed, Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-OBS-002",
    name: "rate_unit_mismatch",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_obs_002_rate_unit_mismatch.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for alert in &facts.alerts {
        let text = files::alert_text(facts, alert);
        let words = if text.is_empty() {
            alert.name.as_str()
        } else {
            text
        };
        let Some(said) = promql::text_unit_seconds(words) else {
            continue;
        };
        for cmp in promql::comparisons(&alert.expr) {
            let Some(unit) = promql::per_unit_seconds(&cmp.lhs) else {
                continue;
            };
            if (unit - said).abs() / said < 0.01 {
                continue;
            }
            let is_rate = promql::calls(&cmp.lhs, &["rate", "irate"]);
            let what = if is_rate {
                format!("a rate() scaled to {}", promql::unit_words(unit))
            } else {
                format!("an increase() counted {}", promql::unit_words(unit))
            };
            let what = if is_rate && unit == 1.0 {
                "a per-second rate()".to_string()
            } else {
                what
            };
            let fix = if said == 60.0 && is_rate {
                "multiply the per-second rate by 60 (`sum(rate(x[5m])) * 60 > N`), or count over one minute (`sum(increase(x[1m])) > N`)".to_string()
            } else if said == 60.0 {
                "count over one minute (`sum(increase(x[1m])) > N`), or divide by the window in minutes (`sum(increase(x[5m])) / 5 > N`)".to_string()
            } else if said == 1.0 {
                "compare a per-second `rate(x[5m])` with a per-second figure".to_string()
            } else {
                format!(
                    "scale the expression to {} (rate() is per second, increase() per window)",
                    promql::unit_words(said)
                )
            };
            let mut f = Finding::new(
                &alert.span,
                format!(
                    "alert `{}` compares {what} with {}, while its text speaks {}: the threshold is in effect {} {} ({} times too {})",
                    alert.name,
                    fmt_num(cmp.threshold),
                    promql::unit_words(said),
                    fmt_num(cmp.threshold * said / unit),
                    promql::unit_words(said),
                    fmt_num(if unit < said { said / unit } else { unit / said }),
                    if unit < said { "high" } else { "low" },
                ),
                fix,
            );
            if let Some(s) = relaxed(facts, Severity::Warning) {
                f = f.with_severity(s);
            }
            out.push(f);
            break;
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}
