//! `bbr` congestion control is set without loading the tcp_bbr module.
//!
//! What it does: flags `net.ipv4.tcp_congestion_control = bbr` when no
//! modules-load file among the audited files (`/etc/modules-load.d/*.conf`,
//! `/etc/modules`) loads `tcp_bbr`.
//!
//! Why it matters: on distribution kernels BBR is a module. sysctl files
//! are applied early at boot, before anything loads it, so the write fails
//! ("No such file or directory") and the kernel keeps cubic: the tuning
//! that was load-tested silently is not the one running. (Kernels built
//! with CONFIG_TCP_CONG_BBR=y need no module; suppress the finding there.)
//!
//! Example:
//!     # /etc/sysctl.d/99-mqtt.conf
//!     net.ipv4.tcp_congestion_control = bbr
//!
//! Use instead:
//!     # /etc/modules-load.d/bbr.conf
//!     tcp_bbr
//!     # /etc/sysctl.d/99-mqtt.conf
//!     net.core.default_qdisc = fq
//!     net.ipv4.tcp_congestion_control = bbr
//!
//! Audit only: a spec with `os.congestion_control: bbr` always renders the
//! modules-load file next to the sysctl file.
//!
//! Severity: warning.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-PERF-003",
    name: "bbr_without_module",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_perf_003_bbr_without_module.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(cc) = facts.sysctl("net.ipv4.tcp_congestion_control") else {
        return;
    };
    if cc.value.trim() != "bbr" || facts.modules.iter().any(|m| m == "tcp_bbr") {
        return;
    }
    out.push(Finding::new(
        &cc.span,
        "tcp_congestion_control is `bbr`, but no modules-load file among the audited files loads tcp_bbr: at boot the setting fails and the kernel keeps cubic",
        "add /etc/modules-load.d/bbr.conf containing `tcp_bbr` (and audit it with the sysctl file)",
    ));
}
