//! A load-balancer timeout cuts MQTT connections that are idle for less than 1.5 x the keepalive.
//!
//! What it does: compares each HAProxy timeout in force on MQTT (TCP mode)
//! connections (`timeout client` of frontends, `timeout server` of
//! backends, or `timeout tunnel`, which supersedes both once a TCP
//! connection is established) with the largest keepalive the brokers let
//! clients use: Mosquitto `max_keepalive`, EMQX `mqtt.server_keepalive`.
//! A timeout shorter than 1.5 x that keepalive is flagged.
//!
//! Applies to audited files (haproxy.cfg together with the broker
//! configs): mqttforge derives the load balancer's timeouts from the
//! spec's `limits.max_keepalive`, so the rendered ones are always long
//! enough. Without a broker config that bounds the keepalive (Mosquitto
//! `max_keepalive`, EMQX `mqtt.server_keepalive`), nothing is compared.
//!
//! Why it matters: a client with keepalive K may stay silent for up to
//! 1.5 x K before the broker considers it gone (MQTT 3.1.1, 3.1.2.10). A
//! load balancer that gives up earlier closes healthy idle connections;
//! thousands of devices then reconnect at once, in storms, and every
//! QoS 0 message sent meanwhile is lost.
//!
//! Example:
//!     defaults
//!         timeout client 30s       (mosquitto.conf: max_keepalive 1800)
//!
//! Use instead:
//!     defaults
//!         timeout client 2700s
//!         timeout server 2700s
//!
//! Severity: warning.

use super::{last, mosquitto_files};
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-HA-006",
    name: "lb_timeout_below_keepalive",
    severity: Severity::Warning,
    scope: AUDIT_ONLY,
    source: include_str!("mq_ha_006_lb_timeout_below_keepalive.rs"),
    check,
};

/// Milliseconds the way HAProxy configs write them.
fn show_ms(ms: u64) -> String {
    for (unit, n) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= n && ms.is_multiple_of(n) {
            return format!("{}{unit}", ms / n);
        }
    }
    format!("{ms}ms")
}

/// The largest keepalive the brokers accept: seconds, what sets it, where.
fn largest_keepalive(facts: &Facts) -> Option<(u64, String, Span)> {
    let mosquitto = mosquitto_files(facts).into_iter().filter_map(|(_, ds)| {
        let d = last(&ds, "max_keepalive")?;
        let s: u64 = d.value.trim().parse().ok()?;
        Some((s, format!("Mosquitto `max_keepalive {s}`"), d.span.clone()))
    });
    let emqx = facts
        .ha
        .keepalives
        .iter()
        .map(|k| (k.seconds, k.what.clone(), k.span.clone()));
    mosquitto.chain(emqx).max_by_key(|(s, _, _)| *s)
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some((keepalive, what, ka_span)) = largest_keepalive(facts) else {
        return;
    };
    let needed_ms = keepalive * 1500;
    for t in facts.ha.timeouts.iter().filter(|t| t.ms < needed_ms) {
        out.push(
            Finding::new(
                &t.span,
                format!(
                    "`{} {}` (in force for {}) closes MQTT connections idle for {}, but clients may stay silent for 1.5 x {keepalive} s = {} ({what}): the load balancer drops healthy idle devices",
                    t.what,
                    show_ms(t.ms),
                    t.section,
                    show_ms(t.ms),
                    show_ms(needed_ms)
                ),
                format!("raise it to at least {} (`{} {}s`), or lower the brokers' keepalive bound", show_ms(needed_ms), t.what, needed_ms.div_ceil(1000)),
            )
            .with_related(&ka_span, "largest keepalive allowed here"),
        );
    }
}
