//! A topic the device firmware publishes or subscribes to is denied by the ACL for that device.
//!
//! What it does: asks the generated ACL (Mosquitto `mosquitto/acl` or EMQX
//! `emqx/acl.conf`, evaluated with the broker's own semantics, as
//! `mqttforge acl check` does) about every topic the generated firmware
//! header publishes to (`MQTT_TOPIC_*` and the last will `MQTT_LWT_TOPIC`)
//! and every filter it subscribes to (`MQTT_SUBSCRIBE_*`), for the device
//! the header is for (a fleet header: the fleet's first device), whose
//! username and client id are its id. A denied topic is reported at the
//! device's `firmware:` in the spec, with the ACL rule that denied it.
//!
//! Why it matters: MQTT 3.1.1 gives a publisher no signal that a publish
//! was denied (the broker still acknowledges it), and a denied subscription
//! just never delivers: the device looks online and its data silently goes
//! nowhere. A denied last-will topic makes Mosquitto refuse the connection.
//! This happens when a role's `deny` overlaps what the role grants.
//!
//! Example:
//!     roles:
//!       sensor:
//!         - { write: "devices/{id}/telemetry/#" }
//!         - { deny: "devices/{id}/telemetry" }
//!
//! Use instead:
//!     roles:
//!       sensor:
//!         - { write: "devices/{id}/telemetry/#" }
//!         - { deny: "devices/{id}/telemetry/debug/#" }
//!
//! Lint only: the firmware's topics come from the spec and the rendered
//! headers. `mqttforge audit` has no file kind for firmware headers (the
//! files it audits are broker, load-balancer, monitoring, OS, backup and
//! PEM files), so hand-written firmware cannot be checked there.
//!
//! Severity: error (a firmware whose topics are denied does not work, in
//! any environment).

use crate::acl::{decide, Access, Who};
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, LINT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-ACL-003",
    name: "firmware_topic_denied",
    severity: Severity::Error,
    scope: LINT_ONLY,
    source: include_str!("mq_acl_003_firmware_topic_denied.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for fw in &facts.firmware {
        let who = Who {
            cert_common_name: Some(fw.sample_id.clone()),
            ..Who::new(Some(&fw.sample_id), &fw.sample_id)
        };
        for acl in &facts.acl_model.files {
            let asks = fw
                .publish
                .iter()
                .map(|t| (Access::Write, t))
                .chain(fw.subscribe.iter().map(|t| (Access::Read, t)));
            for (access, topic) in asks {
                let d = decide(acl, &who, access, topic);
                if d.allowed {
                    continue;
                }
                let (what, grant) = match access {
                    Access::Write => ("publishes to", "write"),
                    Access::Read => ("subscribes to", "read"),
                };
                let who_label = if fw.device.starts_with("role-") {
                    format!(
                        "the firmware of `{}` (checked as device `{}`)",
                        fw.device, fw.sample_id
                    )
                } else {
                    format!("the firmware of device `{}`", fw.device)
                };
                let why = match (&d.rule, &d.note) {
                    (Some((span, text)), _) => {
                        format!("{}:{} `{}`", span.file.name, span.line, text)
                    }
                    (None, Some(note)) => note.clone(),
                    (None, None) => format!("nothing in {} allows it", acl.file().name),
                };
                let mut f = Finding::new(
                    &fw.span,
                    format!("{who_label} {what} `{topic}`, which the generated ACL denies: {why}"),
                    format!("grant the device's role `{grant}` on that topic (with `{{id}}` for the device id), or remove the role's `deny` that covers it"),
                );
                if let Some((span, _)) = &d.rule {
                    f = f.with_related(span, "denied by this rule");
                }
                out.push(f);
            }
        }
    }
}
