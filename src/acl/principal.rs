//! The ACL of a site as one principal sees it (`mqttforge acl check`),
//! without rendering every device of its fleets.
//!
//! A Mosquitto ACL gives each member of a fleet whose role holds topics other
//! device roles do not a block of its own, so a 1,000,000-device fleet is a
//! file of millions of lines. Only the asking client's own lines and the
//! patterns decide for it, so the site is rendered with every fleet cut down
//! to two members (the first, and the asking device when it is a member) and
//! that file is evaluated with the broker's semantics, as the full one
//! would be. What changes is only where later lines sit: each cut fleet
//! left out members of the same shape as the two kept ones, so every line
//! after a cut moves by the number of members left out times the distance
//! between the two kept members' `user` lines. The rule that decides is
//! reported at its line in the full file (a test compares both on every
//! example and on mixed fleets). EMQX matches a fleet with one `{re, ...}`
//! rule spelling out its range, so an EMQX site is rendered whole.
//!
//! Cost: linear in the spec (the cut site renders two devices per fleet),
//! whatever the fleets' sizes.

use super::mosquitto::MosquittoAcl;
use super::{Acl, ParseError};
use crate::diag::Diagnostic;
use crate::render::targets::access;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::model::{Engine, Fleet};
use crate::spec::Site;

/// A fleet cut down to two members `kept` (ids in render order): how many
/// members the full file has between them and after the second.
struct Cut {
    kept: [String; 2],
    left_out_between: u64,
    left_out_after: u64,
}

/// Why [`acl_for`] has no ACL to evaluate.
#[derive(Debug)]
pub enum Error {
    /// The site does not render.
    Render(Vec<Diagnostic>),
    /// The rendered ACL does not parse (a bug in mqttforge).
    Parse(ParseError),
}

/// The site's ACL reduced to what `username`'s decisions read, with every
/// line where the full rendered file has it. Ok(None): the engine has no
/// ACL, or the site renders none.
pub fn acl_for(site: &Site, spec_name: &str, username: &str) -> Result<Option<Acl>, Error> {
    if site.spec.engine == Engine::Rumqttd {
        return Ok(None);
    }
    let (cut_site, cuts) = match site.spec.engine {
        Engine::Mosquitto => cut_fleets(site, username),
        // EMQX matches a whole fleet with one exact `{re, ...}` rule: the
        // full site renders as cheaply as a cut one.
        _ => (site.clone(), Vec::new()),
    };
    let opts = RenderOptions::production(spec_name.to_string(), SecretMode::Skip);
    let tree = render::render(&cut_site, &opts).map_err(Error::Render)?;
    let acl = super::from_tree(site.spec.engine, &tree).map_err(Error::Parse)?;
    Ok(acl.map(|acl| match acl {
        Acl::Mosquitto(mut a) => {
            move_lines(&mut a, &cuts);
            Acl::Mosquitto(a)
        }
        emqx => emqx,
    }))
}

/// The member number of `id` in `fleet`, if it is one of its ids exactly
/// as rendered.
fn member(fleet: &Fleet, id: &str) -> Option<u64> {
    let digits = id.strip_prefix(fleet.prefix.0.as_str())?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 19 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let one = Fleet {
        from: n,
        to: n,
        ..fleet.clone()
    };
    ((fleet.from..=fleet.to).contains(&n) && access::fleet_ids(&one).next().as_deref() == Some(id))
        .then_some(n)
}

/// The site with every fleet of more than two members cut to two: the
/// first, and the second or `username`'s member.
fn cut_fleets(site: &Site, username: &str) -> (Site, Vec<Cut>) {
    let mut spec = site.spec.clone();
    let mut cuts = Vec::new();
    let mut devices = Vec::with_capacity(spec.devices.len());
    for entry in &site.spec.devices {
        let Some(fleet) = entry
            .fleet
            .as_ref()
            .filter(|f| f.to.saturating_sub(f.from) >= 2)
        else {
            devices.push(entry.clone());
            continue;
        };
        let second = member(fleet, username)
            .filter(|n| *n > fleet.from)
            .unwrap_or(fleet.from + 1);
        let part = |from: u64, to: u64| {
            let mut e = entry.clone();
            e.fleet = Some(Fleet {
                from,
                to,
                ..fleet.clone()
            });
            e
        };
        let first_part = part(fleet.from, fleet.from);
        let second_part = part(second, second);
        let id = |e: &crate::spec::model::DeviceEntry| {
            access::fleet_ids(e.fleet.as_ref().expect("a fleet"))
                .next()
                .unwrap_or_default()
        };
        cuts.push(Cut {
            kept: [id(&first_part), id(&second_part)],
            left_out_between: second - fleet.from - 1,
            left_out_after: fleet.to - second,
        });
        devices.push(first_part);
        devices.push(second_part);
    }
    spec.devices = devices;
    (
        Site {
            spec,
            spans: site.spans.clone(),
        },
        cuts,
    )
}

/// Moves every line of the cut file to where the full file has it.
fn move_lines(acl: &mut MosquittoAcl, cuts: &[Cut]) {
    // The last `user` line of each name: devices come after users.
    let mut user_lines: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for u in &acl.users {
        user_lines.insert(u.name.as_str(), u.span.line);
    }
    let mut sorted: Vec<usize> = acl.users.iter().map(|u| u.span.line).collect();
    sorted.sort_unstable();
    // (first line that moves, by how many lines)
    let mut moves: Vec<(usize, usize)> = Vec::new();
    for cut in cuts {
        let (Some(&a), Some(&b)) = (
            user_lines.get(cut.kept[0].as_str()),
            user_lines.get(cut.kept[1].as_str()),
        ) else {
            // The role gives its devices no block of their own.
            continue;
        };
        let block = b.saturating_sub(a);
        let next = sorted
            .get(sorted.partition_point(|l| *l <= b))
            .copied()
            .unwrap_or(usize::MAX);
        moves.push((b, block * cut.left_out_between as usize));
        moves.push((next, block * cut.left_out_after as usize));
    }
    moves.sort_unstable();
    let mut total = 0;
    let prefix: Vec<(usize, usize)> = moves
        .iter()
        .map(|(from, by)| {
            total += by;
            (*from, total)
        })
        .collect();
    let moved = |line: usize| {
        let i = prefix.partition_point(|(from, _)| *from <= line);
        line + if i == 0 { 0 } else { prefix[i - 1].1 }
    };
    for e in &mut acl.entries {
        for span in [&mut e.span, &mut e.topic_span] {
            span.line = moved(span.line);
            span.end_line = moved(span.end_line);
        }
    }
    for u in &mut acl.users {
        u.span.line = moved(u.span.line);
        u.span.end_line = moved(u.span.end_line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{decide, Access, Who};
    use crate::source::SourceFile;

    fn site(text: &str) -> Site {
        crate::spec::load_source(SourceFile::new("site.yaml", text)).unwrap_or_else(|d| {
            panic!(
                "{}",
                crate::diag::render_text(&d, crate::diag::Style::Plain)
            )
        })
    }

    fn example(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/site-examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Every answer of the cut ACL equals the full file's: allowed, the rule
    /// (line, column, text) and the note.
    fn assert_same_answers(site: &Site, users: &[String]) {
        let opts = RenderOptions::production("site.yaml", SecretMode::Skip);
        let tree = render::render(site, &opts).unwrap();
        let full = super::super::from_tree(site.spec.engine, &tree)
            .unwrap()
            .unwrap();
        let mut topics: Vec<String> = vec!["#".into(), "devices/+/status".into(), "$SYS/x".into()];
        for user in users {
            for level in [
                "cmd/x",
                "cmd/#",
                "telemetry/t",
                "response/r",
                "status",
                "secret",
            ] {
                topics.push(format!("devices/{user}/{level}"));
            }
        }
        let mut compared = 0;
        for user in users {
            let cut = acl_for(site, "site.yaml", user).unwrap().unwrap();
            let who = Who {
                cert_common_name: Some(user.clone()),
                ..Who::new(Some(user), user)
            };
            for topic in &topics {
                for access in [Access::Read, Access::Write] {
                    let want = decide(&full, &who, access, topic);
                    let got = decide(&cut, &who, access, topic);
                    let shape = |d: &crate::acl::Decision| {
                        (
                            d.allowed,
                            d.rule
                                .as_ref()
                                .map(|(s, t)| (s.line, s.col, s.end_col, t.clone())),
                            d.note.clone(),
                        )
                    };
                    assert_eq!(shape(&got), shape(&want), "{user} {access:?} {topic}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 0);
    }

    fn ids_of(site: &Site) -> Vec<String> {
        let mut users: Vec<String> = site.spec.users.iter().map(|u| u.name.to_string()).collect();
        for d in &site.spec.devices {
            if let Some(id) = &d.id {
                users.push(id.to_string());
            }
            if let Some(f) = &d.fleet {
                let ids: Vec<String> = access::fleet_ids(f).collect();
                let picks = [
                    0,
                    1,
                    2,
                    3,
                    ids.len() / 3,
                    ids.len() / 2,
                    ids.len() - 2,
                    ids.len() - 1,
                ];
                users.extend(picks.iter().filter_map(|i| ids.get(*i).cloned()));
                users.push(format!("{}{}", f.prefix, f.to + 1));
            }
        }
        users.push("stranger".into());
        users.sort();
        users.dedup();
        users
    }

    #[test]
    fn the_cut_acl_answers_as_the_full_file_on_every_example() {
        for name in [
            "edge-mosquitto.yaml",
            "mosquitto-ha.yaml",
            "emqx-cluster.yaml",
        ] {
            let s = site(&example(name));
            let users = ids_of(&s);
            assert_same_answers(&s, &users);
        }
    }

    #[test]
    fn the_cut_acl_answers_as_the_full_file_on_mixed_fleets() {
        let text = example("edge-mosquitto.yaml").replace(
            "  - { fleet: { prefix: temp-, from: 1, to: 48, width: 3 }, role: sensor, firmware: esp32-line }\n",
            concat!(
                "  - { fleet: { prefix: temp-, from: 1, to: 48, width: 3 }, role: sensor }\n",
                "  - { fleet: { prefix: valve-, from: 5, to: 17 }, role: actuator }\n",
                "  - { id: pump-1, role: actuator }\n",
                "  - { fleet: { prefix: door-, from: 0, to: 2, width: 1 }, role: actuator }\n",
                "  - { fleet: { prefix: lamp-, from: 7, to: 8 }, role: actuator }\n",
                "  - { fleet: { prefix: heat-, from: 1, to: 30, width: 2 }, role: sensor }\n",
                "  - { fleet: { prefix: fan-, from: 95, to: 120 }, role: actuator }\n",
            ),
        );
        let s = site(&text);
        let users = ids_of(&s);
        assert!(users.contains(&"valve-11".to_string()) && users.contains(&"fan-108".to_string()));
        assert_same_answers(&s, &users);
    }

    #[test]
    fn fleet_members_are_recognised_exactly_as_rendered() {
        let fleet = |from, to, width| Fleet {
            prefix: serde_json::from_value(serde_json::json!("s-")).unwrap(),
            from,
            to,
            width,
        };
        assert_eq!(member(&fleet(1, 100, Some(3)), "s-042"), Some(42));
        assert_eq!(member(&fleet(1, 100, Some(3)), "s-42"), None);
        assert_eq!(member(&fleet(1, 100, None), "s-42"), Some(42));
        assert_eq!(member(&fleet(1, 100, None), "s-042"), None);
        assert_eq!(member(&fleet(1, 100, None), "s-101"), None);
        assert_eq!(member(&fleet(1, 100, None), "s-+1"), None);
        assert_eq!(member(&fleet(1, 100, None), "x-1"), None);
        assert_eq!(
            member(&fleet(1, 100, None), "s-99999999999999999999999"),
            None
        );
    }
}
