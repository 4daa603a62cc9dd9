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

/// A regular expression matching exactly the ids of a fleet's members:
/// the prefix, then the numbers `from..=to` as [`fleet_ids`] prints them
/// (zero-padded to the width), and nothing else (`sensor-0000` and
/// `sensor-5001` are not members of `sensor-` 1..5000).
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
    let alternatives = number_range_regex(f.from, f.to, f.width.unwrap_or(0) as usize);
    if alternatives.len() == 1 {
        format!("^{prefix}{}$", alternatives[0])
    } else {
        format!("^{prefix}({})$", alternatives.join("|"))
    }
}

/// Alternatives that together match exactly the decimal numbers `from..=to`
/// zero-padded to `width`.
fn number_range_regex(from: u64, to: u64, width: usize) -> Vec<String> {
    let digits = |n: u64| n.to_string().len();
    let mut out = Vec::new();
    for len in digits(from)..=digits(to) {
        let floor = if len == 1 {
            0
        } else {
            10u64.pow(len as u32 - 1)
        };
        let ceiling = 10u64.saturating_pow(len as u32) - 1;
        let (lo, hi) = (from.max(floor), to.min(ceiling));
        if lo > hi {
            continue;
        }
        let pad = "0".repeat(width.saturating_sub(len));
        for part in same_length_range(&lo.to_string(), &hi.to_string()) {
            out.push(format!("{pad}{part}"));
        }
    }
    out
}

/// Patterns matching exactly the digit strings from `lo` to `hi` (same length).
fn same_length_range(lo: &str, hi: &str) -> Vec<String> {
    let class = |a: char, b: char| {
        if a == b {
            a.to_string()
        } else {
            format!("[{a}-{b}]")
        }
    };
    let any = |n: usize| match n {
        0 => String::new(),
        1 => "[0-9]".to_string(),
        n => format!("[0-9]{{{n}}}"),
    };
    let (a, b): (Vec<char>, Vec<char>) = (lo.chars().collect(), hi.chars().collect());
    if a.len() == 1 {
        return vec![class(a[0], b[0])];
    }
    let (rest_a, rest_b) = (&lo[1..], &hi[1..]);
    if a[0] == b[0] {
        return same_length_range(rest_a, rest_b)
            .into_iter()
            .map(|p| format!("{}{p}", a[0]))
            .collect();
    }
    let tail = a.len() - 1;
    let mut out = Vec::new();
    let mut full_from = a[0];
    if rest_a.chars().any(|c| c != '0') {
        for p in same_length_range(rest_a, &"9".repeat(tail)) {
            out.push(format!("{}{p}", a[0]));
        }
        full_from = (a[0] as u8 + 1) as char;
    }
    let upper_partial = rest_b.chars().any(|c| c != '9');
    let full_to = if upper_partial {
        (b[0] as u8 - 1) as char
    } else {
        b[0]
    };
    if full_from <= full_to {
        out.push(format!("{}{}", class(full_from, full_to), any(tail)));
    }
    if upper_partial {
        for p in same_length_range(&"0".repeat(tail), rest_b) {
            out.push(format!("{}{p}", b[0]));
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Fleet;

    fn fleet(prefix: &str, from: u64, to: u64, width: Option<u32>) -> Fleet {
        serde_json::from_value(serde_json::json!({
            "prefix": prefix, "from": from, "to": to, "width": width
        }))
        .unwrap()
    }

    /// Every id the regex accepts is a member and every member is accepted,
    /// over the range and around it, for paddings and digit-count changes.
    #[test]
    fn fleet_regexes_match_exactly_the_members() {
        let cases = [
            ("sensor-", 1, 5000, Some(4)),
            ("valve-", 2, 400, Some(3)),
            ("temp-", 1, 48, Some(3)),
            ("n", 0, 0, None),
            ("n", 7, 123, None),
            ("lab.dev-", 95, 1005, Some(2)),
            ("x", 10, 99, None),
            ("x", 19, 20, Some(5)),
        ];
        for (prefix, from, to, width) in cases {
            let f = fleet(prefix, from, to, width);
            let pattern = fleet_regex(&f);
            let re = crate::acl::regex::Regex::new(&pattern).unwrap();
            let members: std::collections::HashSet<String> = fleet_ids(&f).collect();
            for m in &members {
                assert!(re.is_match(m), "{pattern} refuses member {m}");
            }
            let w = width.unwrap_or(0) as usize;
            for n in from.saturating_sub(60)..=to + 60 {
                for pad in [0, w, w + 1] {
                    let id = format!("{prefix}{n:0pad$}");
                    assert_eq!(re.is_match(&id), members.contains(&id), "{pattern} on {id}");
                }
            }
            assert!(!re.is_match(&format!("x{prefix}{from}")));
        }
        assert_eq!(
            fleet_regex(&fleet("sensor-", 1, 5000, Some(4))),
            "^sensor-(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-4][0-9]{3}|5000)$"
        );
    }
}
