//! Access facts from the spec and what it renders (see `super`):
//! - `acl`: one fact per permission of every role someone holds, at the
//!   permission in the spec (`/roles/<role>/<n>/<access>`; built-in roles at
//!   the `role:` of their first holder);
//! - `acl_default_deny`: the generated ACLs deny whatever they do not allow
//!   (Mosquitto by default, EMQX with `{deny, all}` and `no_match = deny`);
//!   unknown for rumqttd, which has no topic authorization;
//! - `firmware`: per generated firmware header, the topics it publishes
//!   (`MQTT_TOPIC_*`, the last will) and subscribes to (`MQTT_SUBSCRIBE_*`)
//!   with the device id (a fleet's first member for a fleet header), and
//!   `MQTT_BUFFER_SIZE`, read from the rendered header itself;
//! - `identifiers`: device ids, fleet prefixes, user and role names and
//!   topic filters, where they are written;
//! - `acl_model`: the rendered ACL file, for rules that evaluate it, and the
//!   permissions of each role that never decide (duplicated, covered by a
//!   broader permission, denied first, or refused by the broker).

use std::collections::BTreeMap;

use super::Input;
use crate::acl::analysis::{dead_grants, Grant};
use crate::acl::mosquitto::MosqAccess;
use crate::acl::{self, firmware};
use crate::facts::acl::normalize;
use crate::facts::{AclAccess, AclFact, Facts, FirmwareFact, IdentFact, Principal};
use crate::source::{pointer_join, Span};
use crate::spec::model::{Engine, Permission};

/// (access, topic, key) of a permission, as the renderer reads it.
fn permission(p: &Permission) -> Option<(MosqAccess, &str, &'static str)> {
    if let Some(t) = &p.deny {
        Some((MosqAccess::Deny, &t.0, "deny"))
    } else if let Some(t) = &p.readwrite {
        Some((MosqAccess::ReadWrite, &t.0, "readwrite"))
    } else if let Some(t) = &p.write {
        Some((MosqAccess::Write, &t.0, "write"))
    } else {
        p.read
            .as_ref()
            .map(|t| (MosqAccess::Read, t.0.as_str(), "read"))
    }
}

fn fact_access(a: MosqAccess) -> AclAccess {
    match a {
        MosqAccess::Read => AclAccess::Read,
        MosqAccess::Write => AclAccess::Write,
        MosqAccess::ReadWrite => AclAccess::ReadWrite,
        MosqAccess::Deny => AclAccess::Deny,
    }
}

/// Who holds a role: (first holder's `role` pointer, held by devices).
fn holders(input: &Input<'_>) -> BTreeMap<String, (String, bool)> {
    let spec = &input.site.spec;
    let mut out: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (i, u) in spec.users.iter().enumerate() {
        out.entry(u.role.0.clone())
            .or_insert((format!("/users/{i}/role"), false));
    }
    for (i, d) in spec.devices.iter().enumerate() {
        out.entry(d.role.0.clone())
            .or_insert((format!("/devices/{i}/role"), true))
            .1 = true;
    }
    out
}

pub fn extract(input: &Input<'_>, facts: &mut Facts) {
    let site = input.site;
    let spec = &site.spec;
    let engine = spec.engine;
    for (role, (holder_ptr, devices)) in holders(input) {
        let Some(perms) = site.role(&role) else {
            continue;
        };
        let defined = spec.roles.contains_key(&role);
        let mut grants = Vec::new();
        for (i, p) in perms.iter().enumerate() {
            let Some((access, topic, key)) = permission(p) else {
                continue;
            };
            let span = if defined {
                input.span(&format!("{}/{i}/{key}", pointer_join("/roles", &role)))
            } else {
                input.span(&holder_ptr)
            };
            facts.acl.push(AclFact {
                principal: Principal::Role {
                    name: role.clone(),
                    devices,
                },
                admin: role == "admin",
                access: fact_access(access),
                topic: topic.to_string(),
                normalized: normalize(topic, None),
                span: span.clone(),
            });
            if defined {
                facts.identifiers.push(IdentFact {
                    what: "topic filter".into(),
                    value: topic.to_string(),
                    span: span.clone(),
                });
                grants.push(Grant {
                    access,
                    topic: topic.to_string(),
                    text: format!("{key}: {topic}"),
                    span,
                    mosquitto: engine == Engine::Mosquitto,
                });
            }
        }
        // Built-in roles hold no grants to check; rumqttd has no ACL.
        if defined && engine != Engine::Rumqttd {
            facts.acl_model.dead.extend(dead_grants(&grants));
        }
    }
    facts.acl_default_deny = match engine {
        Engine::Mosquitto | Engine::Emqx => Some(true),
        Engine::Rumqttd => None,
    };
    if let Ok(Some(rendered)) = acl::from_tree(engine, input.tree) {
        facts.acl_model.files.push(rendered);
    }
    identifiers(input, facts);
    firmware_facts(input, facts);
}

fn identifiers(input: &Input<'_>, facts: &mut Facts) {
    let spec = &input.site.spec;
    let mut push = |what: &str, value: &str, span: Span| {
        facts.identifiers.push(IdentFact {
            what: what.into(),
            value: value.into(),
            span,
        })
    };
    for (i, d) in spec.devices.iter().enumerate() {
        if let Some(id) = &d.id {
            push("device id", &id.0, input.span(&format!("/devices/{i}/id")));
        }
        if let Some(f) = &d.fleet {
            push(
                "fleet prefix",
                &f.prefix.0,
                input.span(&format!("/devices/{i}/fleet/prefix")),
            );
        }
    }
    for (i, u) in spec.users.iter().enumerate() {
        push(
            "username",
            &u.name.0,
            input.span(&format!("/users/{i}/name")),
        );
    }
    for role in spec.roles.keys() {
        push("role", role, input.key_span(&pointer_join("/roles", role)));
    }
}

/// The header path the firmware target writes for a device entry.
fn header_path(profile: &str, id: Option<&str>, role: &str) -> String {
    match id {
        Some(id) => format!("firmware/{profile}/device-{id}.h"),
        None => format!("firmware/{profile}/role-{role}.h"),
    }
}

fn firmware_facts(input: &Input<'_>, facts: &mut Facts) {
    let mut seen = std::collections::HashSet::new();
    for (i, d) in input.site.spec.devices.iter().enumerate() {
        let Some(profile) = &d.firmware else { continue };
        let (path, device, sample) = match (&d.id, &d.fleet) {
            (Some(id), _) => (
                header_path(&profile.0, Some(&id.0), &d.role.0),
                id.0.clone(),
                id.0.clone(),
            ),
            (None, Some(f)) => {
                let Some(first) = first_fleet_id(f) else {
                    continue;
                };
                (
                    header_path(&profile.0, None, &d.role.0),
                    format!("role-{}", d.role.0),
                    first,
                )
            }
            (None, None) => continue,
        };
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(file) = input.tree.files.get(&path) else {
            continue;
        };
        let Ok(header) = firmware::parse(&String::from_utf8_lossy(&file.contents)) else {
            continue;
        };
        let given = [("MQTT_DEVICE_ID", sample.as_str())];
        let mut publish: Vec<String> = Vec::new();
        let mut published = std::collections::HashSet::new();
        for (_, t) in header.publish(&given) {
            if let Ok(t) = t {
                if published.insert(t.clone()) {
                    publish.push(t);
                }
            }
        }
        let subscribe = header
            .subscribe(&given)
            .into_iter()
            .filter_map(|(_, t)| t.ok())
            .collect();
        facts.firmware.push(FirmwareFact {
            device,
            buffer: header.integer("MQTT_BUFFER_SIZE"),
            publish,
            subscribe,
            sample_id: sample,
            span: input.span(&format!("/devices/{i}/firmware")),
        });
    }
}

/// The first id of a fleet, as the renderer numbers them.
fn first_fleet_id(f: &crate::spec::model::Fleet) -> Option<String> {
    crate::render::targets::access::fleet_ids(f).next()
}

#[cfg(test)]
mod tests {
    use crate::facts::{AclAccess, Principal};
    use crate::render::{self, Derived, RenderOptions, SecretMode};

    fn facts(example: &str) -> crate::facts::Facts {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("site-examples")
            .join(example);
        let site = crate::spec::load(&path).expect("valid example");
        let opts = RenderOptions::production(example, SecretMode::Skip);
        let tree = render::render(&site, &opts).expect("renders");
        let derived = Derived::new(&site, &opts.placement());
        crate::facts::spec::facts(&site, &derived, &tree)
    }

    #[test]
    fn firmware_facts_come_from_the_rendered_headers() {
        let f = facts("emqx-cluster.yaml");
        let devices: Vec<&str> = f.firmware.iter().map(|x| x.device.as_str()).collect();
        assert_eq!(
            devices,
            vec!["esp32-001", "valve-001", "role-sensor", "role-actuator"]
        );
        let s = &f.firmware[2];
        assert_eq!(s.sample_id, "sensor-0001");
        assert_eq!(
            s.buffer,
            Some(4136),
            "MQTT_BUFFER_SIZE of golden/emqx-cluster/firmware/esp32/role-sensor.h"
        );
        assert_eq!(
            s.publish,
            vec![
                "devices/sensor-0001/telemetry",
                "devices/sensor-0001/status"
            ]
        );
        assert_eq!(s.subscribe, vec!["devices/sensor-0001/cmd/#"]);
        assert_eq!((s.span.line, s.span.col), (73, 88));
        assert_eq!(f.acl_model.files.len(), 1);
        assert_eq!(f.acl_default_deny, Some(true));
    }

    #[test]
    fn acl_facts_come_from_the_roles() {
        let f = facts("edge-mosquitto.yaml");
        let gateway: Vec<_> = f
            .acl
            .iter()
            .filter(|a| {
                a.principal
                    == Principal::Role {
                        name: "gateway".into(),
                        devices: false,
                    }
            })
            .collect();
        assert_eq!(gateway.len(), 3);
        assert_eq!(
            (gateway[0].access, gateway[0].topic.as_str()),
            (AclAccess::ReadWrite, "devices/+/telemetry/#")
        );
        let sensor = f
            .acl
            .iter()
            .find(|a| {
                a.principal
                    == Principal::Role {
                        name: "sensor".into(),
                        devices: true,
                    }
            })
            .unwrap();
        assert_eq!(sensor.normalized, "devices/{id}/cmd/#");
        // The built-in monitoring role points at the user's `role:`.
        let mon = f.acl.iter().find(|a| a.topic == "$SYS/#").unwrap();
        assert!(mon
            .span
            .file
            .line_text(mon.span.line)
            .unwrap()
            .contains("role: monitoring"));
        assert!(f.acl_model.dead.is_empty());
        assert!(f
            .identifiers
            .iter()
            .any(|i| i.what == "fleet prefix" && i.value == "temp-"));
        let rumqttd = facts("dev-rumqttd.yaml");
        assert!(rumqttd.acl_model.files.is_empty());
        assert_eq!(rumqttd.acl_default_deny, None);
        assert_eq!(rumqttd.firmware.len(), 1);
    }
}
