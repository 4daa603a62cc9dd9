//! Roles resolved into grants and the principals that hold them: the one
//! source both the Mosquitto and the EMQX ACL files are written from.

use serde::Serialize;

use crate::spec::model::{Fleet, Permission};
use crate::spec::Site;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Deny,
    Read,
    Write,
    Readwrite,
}

impl Access {
    pub fn publishes(self) -> bool {
        matches!(self, Access::Write | Access::Readwrite)
    }
    pub fn subscribes(self) -> bool {
        matches!(self, Access::Read | Access::Readwrite)
    }
}

/// One permission: an access to a topic filter with `{id}` for the holder's id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    pub access: Access,
    pub topic: String,
}

impl Grant {
    /// The topic with `{id}` replaced.
    pub fn topic_for(&self, id: &str) -> String {
        self.topic.replace("{id}", id)
    }
}

pub fn grants(perms: &[Permission]) -> Vec<Grant> {
    perms
        .iter()
        .filter_map(|p| {
            let (access, t) = if let Some(t) = &p.deny {
                (Access::Deny, t)
            } else if let Some(t) = &p.readwrite {
                (Access::Readwrite, t)
            } else if let Some(t) = &p.write {
                (Access::Write, t)
            } else {
                (Access::Read, p.read.as_ref()?)
            };
            Some(Grant {
                access,
                topic: t.0.clone(),
            })
        })
        .collect()
}

/// Devices of one role: single ids and fleets.
#[derive(Clone, Debug, Default)]
pub struct DeviceGroup {
    pub role: String,
    pub grants: Vec<Grant>,
    pub ids: Vec<String>,
    pub fleets: Vec<Fleet>,
}

/// Device roles in order of first use, with their devices.
pub fn device_groups(site: &Site) -> Vec<DeviceGroup> {
    let mut groups: Vec<DeviceGroup> = Vec::new();
    for d in &site.spec.devices {
        let role = d.role.as_str();
        let idx = match groups.iter().position(|g| g.role == role) {
            Some(i) => i,
            None => {
                groups.push(DeviceGroup {
                    role: role.to_string(),
                    grants: grants(&site.role(role).unwrap_or_default()),
                    ..Default::default()
                });
                groups.len() - 1
            }
        };
        if let Some(id) = &d.id {
            groups[idx].ids.push(id.0.clone());
        }
        if let Some(f) = &d.fleet {
            groups[idx].fleets.push(f.clone());
        }
    }
    groups
}

/// The ids of a fleet.
pub fn fleet_ids(f: &Fleet) -> impl Iterator<Item = String> + '_ {
    let w = f.width.unwrap_or(0) as usize;
    (f.from..=f.to).map(move |n| format!("{}{n:0w$}", f.prefix.0))
}

/// A regular expression matching exactly the id shape of a fleet's members.
pub fn fleet_regex(f: &Fleet) -> String {
    let prefix: String = f
        .prefix
        .0
        .chars()
        .map(|c| {
            if c == '.' {
                "[.]".to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    match f.width {
        Some(w) => format!("^{prefix}[0-9]{{{w}}}$"),
        None => format!("^{prefix}[0-9]+$"),
    }
}

/// Grants every device group holds (Mosquitto writes these as `pattern` lines).
pub fn common_grants(groups: &[DeviceGroup]) -> Vec<Grant> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    first
        .grants
        .iter()
        .filter(|g| groups.iter().all(|o| o.grants.contains(g)))
        .cloned()
        .collect()
}
