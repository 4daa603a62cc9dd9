//! Connections, authentication failures or timestamps are not logged.
//!
//! What it does: reads the broker's logging configuration and flags
//! connection messages that are off or filtered out, and log lines without
//! timestamps. In a mosquitto.conf: `connection_messages false`, a `log_type`
//! set that omits `notice` (Mosquitto logs connections, disconnections and
//! refused logins at that level), `log_dest none`, or `log_timestamp false`.
//!
//! Applies to audited configs only: the configs mqttforge generates always
//! log connections with timestamps, and a spec cannot turn that off.
//!
//! Why it matters: audit logging is a production checklist item: without
//! connection and authentication-failure logs, a credential-stuffing attack
//! or a rogue device is invisible, and without timestamps nothing can be
//! correlated with the load balancer, the firewall or the alert that fired.
//!
//! Example:
//!     log_type error
//!     log_type warning
//!     connection_messages false
//!
//! Use instead:
//!     log_type error
//!     log_type warning
//!     log_type notice
//!     log_type information
//!     connection_messages true
//!     log_timestamp true
//!
//! Severity: warning in production; info elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-007",
    name: "audit_logging_off",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_auth_007_audit_logging_off.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(log) = &facts.logging else { return };
    let mut off = Vec::new();
    if !log.connection_messages {
        off.push("connections, disconnections and authentication failures are not logged");
    }
    if !log.timestamps {
        off.push("log lines carry no timestamp");
    }
    if off.is_empty() {
        return;
    }
    let mut f = Finding::new(
        &log.span,
        format!("audit logging is off: {}", off.join("; ")),
        "log connections with timestamps: `connection_messages true`, `log_timestamp true`, and `log_type` including `notice` (or no `log_type` at all), to a `log_dest` that is kept",
    );
    if let Some(s) = relaxed(facts, Severity::Info) {
        f = f.with_severity(s);
    }
    out.push(f);
}
