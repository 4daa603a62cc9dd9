//! A device's MQTT buffer is smaller than the site's largest payload.
//!
//! What it does: compares each firmware profile's MQTT buffer (what its
//! generated header sets: the max payload plus the longest topic and the
//! packet header) with `capacity.max_payload`, and with the 65535 bytes a
//! PubSubClient buffer can hold (`setBufferSize()` takes a `uint16_t`).
//!
//! Why it matters: PubSubClient drops any packet larger than its buffer
//! without an error: the device never sees the command, or its publish
//! never leaves. A buffer size past 65535 wraps around in `uint16_t`, so
//! the buffer ends up tiny.
//!
//! Example:
//!     capacity: { clients: 2000, msg_per_s: 500, max_payload: 128KiB }
//!     devices: [ { id: press-01, role: actuator, firmware: esp32-line } ]
//!
//! Use instead:
//!     capacity: { clients: 2000, msg_per_s: 500, max_payload: 48KiB }
//!     (or split large payloads; or a client library without the limit)
//!
//! Lint only: hand-written firmware sizes its buffer in code
//! (`setBufferSize()` at run time), which a configuration audit cannot see.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, LINT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-PERF-005",
    name: "device_buffer_too_small",
    severity: Severity::Error,
    scope: LINT_ONLY,
    source: include_str!("mq_perf_005_device_buffer_too_small.rs"),
    check,
};

/// The largest buffer PubSubClient's `setBufferSize(uint16_t)` can set.
pub const PUBSUBCLIENT_MAX_BUFFER: u64 = 65_535;

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(cap) = &facts.capacity else { return };
    if cap.max_payload == 0 {
        return;
    }
    for fw in &facts.firmware {
        let Some(buffer) = fw.buffer else { continue };
        let who = match fw.device.strip_prefix("role-") {
            Some(role) => format!("the firmware of the `{role}` fleet"),
            None => format!("the firmware of `{}`", fw.device),
        };
        let (message, help) = if buffer > PUBSUBCLIENT_MAX_BUFFER {
            (
                format!(
                    "{who} needs an MQTT buffer of {buffer} bytes for the site's max payload ({} bytes), but PubSubClient's buffer holds at most {PUBSUBCLIENT_MAX_BUFFER} (`setBufferSize()` takes a uint16_t): larger messages are dropped silently",
                    cap.max_payload
                ),
                format!(
                    "lower `capacity.max_payload` so payload, topic and header fit in {PUBSUBCLIENT_MAX_BUFFER} bytes (about {} bytes of payload), or split large payloads",
                    PUBSUBCLIENT_MAX_BUFFER - (buffer - cap.max_payload).min(PUBSUBCLIENT_MAX_BUFFER)
                ),
            )
        } else if buffer < cap.max_payload {
            (
                format!(
                    "{who} has an MQTT buffer of {buffer} bytes, smaller than the site's max payload ({} bytes): PubSubClient drops larger messages silently",
                    cap.max_payload
                ),
                "size the buffer for the max payload plus topic and header (`setBufferSize(MQTT_BUFFER_SIZE)` with the generated header)".to_string(),
            )
        } else {
            continue;
        };
        let payload_span = facts.obs.max_payload_span.as_ref().unwrap_or(&cap.span);
        let mut f = Finding::new(&fw.span, message, help)
            .with_related(payload_span, "max payload declared here");
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
