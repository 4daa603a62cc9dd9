//! ESP32 firmware configuration headers: broker, identity (client id =
//! certificate CN = topic segment, one value), the role's topics, last will
//! and online message, reconnect backoff, and an MQTT buffer sized for the
//! site's largest payload. Fleets get one header per role with the id given
//! at build time (`-DMQTT_DEVICE_ID=...`); single devices get their own.

use serde_json::json;

use super::access::{self, Grant};
use crate::diag::Diagnostic;
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::checks::{firmware_macro_name, firmware_publish_topic};
use crate::spec::model::{DeviceEntry, FirmwareProfile};
use crate::spec::units::Duration;

/// MQTT overhead on top of topic and payload: fixed header (up to 5 bytes),
/// topic length (2), packet id (2).
const PACKET_OVERHEAD: u64 = 9;
const DEFAULT_BACKOFF: (u64, u64, u64) = (1_000, 300_000, 1_000);

/// The topic's literal pieces around `{id}` (the template joins them, each
/// a C string, with the id macro); the wildcard suffix is dropped for
/// publishing.
fn topic_parts(topic: &str, publish: bool) -> Vec<String> {
    let t = if publish {
        firmware_publish_topic(topic)
    } else {
        topic
    };
    t.split("{id}").map(String::from).collect()
}

/// The `#define`s of one family (publish or subscribe): one per macro name.
/// Validation refuses two topics with one name and different values
/// (`firmware-macro`); the same value twice (a `write` and a `readwrite` of
/// one topic) is written once.
fn topic_macros<'g>(
    grants: impl Iterator<Item = &'g Grant>,
    publish: bool,
) -> Vec<serde_json::Value> {
    let mut seen = std::collections::BTreeSet::new();
    grants
        .filter(|g| g.topic.contains("{id}"))
        .filter(|g| seen.insert(firmware_macro_name(&g.topic)))
        .map(|g| {
            json!({
                "name": firmware_macro_name(&g.topic),
                "parts": topic_parts(&g.topic, publish),
                "filter": g.topic,
            })
        })
        .collect()
}

struct Header {
    path: String,
    context: serde_json::Value,
}

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let d = &ctx.derived;
    let Some(port) = d
        .listeners
        .iter()
        .find(|l| l.device_facing && l.tls.is_some())
        .or(d.listeners.iter().find(|l| l.device_facing))
        .map(|l| l.port)
    else {
        return Ok(Vec::new());
    };
    let broker = Broker {
        host: broker_host(site),
        port,
        tls: d
            .listeners
            .iter()
            .any(|l| l.device_facing && l.port == port && l.tls.is_some()),
    };
    let mut headers: Vec<Header> = Vec::new();
    // One header per path (a fleet's role header once), found in a set: a
    // scan of the headers so far made 10,000 listed devices quadratic.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for dev in &site.spec.devices {
        let Some(profile_name) = &dev.firmware else {
            continue;
        };
        let Some(profile) = site.spec.firmware.get(profile_name.as_str()) else {
            continue;
        };
        let Some(target) = HeaderTarget::of(dev, profile_name.as_str()) else {
            continue;
        };
        if !seen.insert(target.path.clone()) {
            continue;
        }
        let context = header_context(
            ctx,
            &broker,
            &target,
            dev.role.as_str(),
            profile_name.as_str(),
            profile,
        );
        headers.push(Header {
            path: target.path,
            context,
        });
    }
    let mut out: Vec<Artifact> = headers
        .into_iter()
        .map(|h| Artifact::config(h.path, "firmware/mqtt_config.h.j2", Comment::C, h.context))
        .collect();
    if let Some(ca) = ca_certificate(ctx) {
        out.push(ca);
    }
    Ok(out)
}

/// Where devices connect: the first device-facing listener (TLS first).
struct Broker {
    host: String,
    port: u16,
    tls: bool,
}

/// The name devices connect to: the load balancer's, the cluster's virtual
/// address, or the first node's.
fn broker_host(site: &crate::spec::Site) -> String {
    site.spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.dns_name.as_ref().map(|a| a.0.clone()))
        .or_else(|| {
            site.spec
                .cluster
                .as_ref()
                .and_then(|c| c.vip.as_ref().map(|a| a.0.clone()))
        })
        .or_else(|| {
            site.spec
                .nodes
                .first()
                .map(|n| n.dns_names.first().unwrap_or(&n.address).0.clone())
        })
        .unwrap_or_default()
}

/// The header a device entry gets: its own (a single device) or its role's
/// (a fleet, the id given at build time).
struct HeaderTarget {
    path: String,
    fixed_id: Option<String>,
    /// The longest id the header serves.
    id_len: u64,
}

impl HeaderTarget {
    fn of(dev: &DeviceEntry, profile_name: &str) -> Option<HeaderTarget> {
        let role = dev.role.as_str();
        match (&dev.id, &dev.fleet) {
            (Some(id), _) => Some(HeaderTarget {
                path: format!("firmware/{profile_name}/device-{id}.h"),
                fixed_id: Some(id.0.clone()),
                id_len: id.0.len() as u64,
            }),
            (None, Some(f)) => Some(HeaderTarget {
                path: format!("firmware/{profile_name}/role-{role}.h"),
                fixed_id: None,
                id_len: access::fleet_ids(f)
                    .map(|i| i.len() as u64)
                    .max()
                    .unwrap_or(0),
            }),
            (None, None) => None,
        }
    }
}

/// The template context of one header: broker, identity, the role's
/// topics, last will, backoff and buffer size.
fn header_context(
    ctx: &RenderCtx<'_>,
    broker: &Broker,
    target: &HeaderTarget,
    role: &str,
    profile_name: &str,
    profile: &FirmwareProfile,
) -> serde_json::Value {
    let site = ctx.site;
    let grants = access::grants(&site.role(role).unwrap_or_default());
    let publish = topic_macros(grants.iter().filter(|g| g.access.publishes()), true);
    let subscribe = topic_macros(grants.iter().filter(|g| g.access.subscribes()), false);
    let status = grants
        .iter()
        .find(|g| g.access.publishes() && g.topic.ends_with("{id}/status"))
        .map(|g| topic_parts(&g.topic, true));
    let longest_topic = grants
        .iter()
        .map(|g| g.topic.replace("{id}", "").len() as u64 + target.id_len)
        .max()
        .unwrap_or(0);
    let (initial, max, jitter) = profile
        .backoff
        .as_ref()
        .map(|b| (b.initial.millis(), b.max.millis(), b.jitter.millis()))
        .unwrap_or(DEFAULT_BACKOFF);
    let online = format!("{{\"status\":\"online\",\"fw\":\"{}\"}}", profile.version);
    json!({
        "guard": include_guard(site.name(), &target.path),
        "site": site.name(),
        "role": role,
        "profile": profile_name,
        "fixed_id": target.fixed_id,
        "host": broker.host,
        "port": broker.port,
        "tls": broker.tls,
        "publish": publish,
        "subscribe": subscribe,
        "status": status,
        "offline_payload": "{\"status\":\"offline\"}",
        "online_payload": online,
        "version": profile.version,
        "keepalive_s": ctx.derived.limits.keepalive_s.min(Duration(300_000).secs()),
        "backoff": {"initial": initial, "max": max, "jitter": jitter},
        "buffer": site.spec.capacity.max_payload.bytes() + longest_topic + PACKET_OVERHEAD,
        "max_payload": site.spec.capacity.max_payload.bytes(),
    })
}

/// `MQTTFORGE_<SITE>_<FILE>`, every other character an underscore.
fn include_guard(site: &str, path: &str) -> String {
    format!(
        "MQTTFORGE_{}_{}",
        site,
        path.rsplit('/').next().unwrap_or("")
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    })
    .collect()
}

/// `firmware/mqtt_ca.h`: the site's CA certificate as a C string, when the
/// PKI has a CA (it differs per PKI, so it is never part of a golden tree).
fn ca_certificate(ctx: &RenderCtx<'_>) -> Option<Artifact> {
    let dir = ctx.opts.pki_dir.as_ref()?;
    let pem = std::fs::read_to_string(dir.join("ca.pem")).ok()?;
    let lines: Vec<String> = pem
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    if !lines
        .first()
        .is_some_and(|l| l.contains("BEGIN CERTIFICATE"))
    {
        return None;
    }
    let guard = format!("MQTTFORGE_{}_MQTT_CA_H", ctx.site.name())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect::<String>();
    let mut a = Artifact::config(
        "firmware/mqtt_ca.h",
        "firmware/mqtt_ca.h.j2",
        Comment::C,
        json!({"guard": guard, "lines": lines}),
    );
    a.sensitivity = crate::render::Sensitivity::Material;
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_macros() {
        assert_eq!(
            topic_parts("devices/{id}/telemetry/#", true),
            ["devices/", "/telemetry"]
        );
        assert_eq!(
            topic_parts("devices/{id}/cmd/#", false),
            ["devices/", "/cmd/#"]
        );
    }
}
