//! Which broker release audited files are judged as: the one
//! `--mosquitto-version` / `--emqx-version` names, else the one the files
//! themselves say, else the release mqttforge targets (Mosquitto 2.0,
//! EMQX 5.8).
//!
//! Only signals that cannot be wrong about a working file are read:
//! - a directory of the file's path named as a release's unpacked archive,
//!   `emqx-5.9.0/` or `mosquitto-2.1.2/` (exactly that: `emqx-5.9-notes/`
//!   says nothing), for a release mqttforge has tables for;
//! - a Mosquitto directive that only 2.1 has (`enable_control_api`, ...):
//!   2.0 refuses to start on it, so a file that uses one is for 2.1.
//!
//! What real files do not say, and is therefore not read: EMQX's shipped
//! `emqx.conf` and `base.hocon` name no release (their header links to the
//! `latest` docs), an EMQX 5.x file's shape is the same from 5.0 to 6.0, and
//! the docs URLs people paste (`docs.emqx.com/en/enterprise/v5.0/...`) name
//! whatever page they copied from. An EMQX 4.x file is already told apart
//! by its shape (its keys are reported as 4.x's by MQ-CFG-001).

use std::path::{Path, PathBuf};

use crate::facts::files::mosquitto_conf::SINCE_2_1;
use crate::facts::{Facts, Releases, EMQX_RELEASES, MOSQUITTO_RELEASES};

/// A release a run judges files as, and why, when it is not the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub broker: &'static str,
    pub release: (u32, u32),
    pub why: String,
}

impl Judged {
    /// `EMQX 5.9 (a.conf is under emqx-5.9.0/)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}.{} ({})",
            self.broker, self.release.0, self.release.1, self.why
        )
    }
}

/// The release a directory named like an unpacked release archive says:
/// `emqx-5.9.0` -> (5, 9) for `prefix` "emqx-".
fn dir_release(dir: &str, prefix: &str) -> Option<(u32, u32)> {
    let version = dir.strip_prefix(prefix)?;
    let version = version.strip_prefix('v').unwrap_or(version);
    let parts: Vec<&str> = version.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Releases::parse(version)
}

/// The first release a directory of one of `paths` names for a broker.
fn from_paths(
    paths: &[PathBuf],
    prefix: &str,
    known: &[(u32, u32)],
) -> Option<((u32, u32), String)> {
    for path in paths {
        let dirs = path.parent().map(Path::components).into_iter().flatten();
        for dir in dirs {
            let name = dir.as_os_str().to_string_lossy();
            if let Some(v) = dir_release(&name, prefix).filter(|v| known.contains(v)) {
                return Some((v, format!("{} is under {name}/", path.display())));
            }
        }
    }
    None
}

/// A broker whose release files are judged as.
struct Broker {
    name: &'static str,
    /// The directory prefix of its unpacked release archives.
    prefix: &'static str,
    known: &'static [(u32, u32)],
    /// The release mqttforge targets.
    target: (u32, u32),
}

const MOSQUITTO: Broker = Broker {
    name: "Mosquitto",
    prefix: "mosquitto-",
    known: MOSQUITTO_RELEASES,
    target: (2, 0),
};

const EMQX: Broker = Broker {
    name: "EMQX",
    prefix: "emqx-",
    known: EMQX_RELEASES,
    target: (5, 8),
};

/// The releases to judge the files as before their facts are read: the
/// flags, else what the files' paths say. Also what to tell the user.
pub fn before_extraction(flags: Releases, paths: &[PathBuf]) -> (Releases, Vec<Judged>) {
    let mut judged = Vec::new();
    let mut pick = |broker: &Broker, flag: Option<(u32, u32)>| {
        let found = match flag {
            Some(v) => Some((v, format!("--{}-version", broker.name.to_ascii_lowercase()))),
            None => from_paths(paths, broker.prefix, broker.known),
        };
        let (release, why) = found?;
        if release != broker.target {
            judged.push(Judged {
                broker: broker.name,
                release,
                why,
            });
        }
        Some(release)
    };
    let releases = Releases {
        mosquitto: pick(&MOSQUITTO, flags.mosquitto),
        emqx: pick(&EMQX, flags.emqx),
    };
    (releases, judged)
}

/// After the facts are read: a Mosquitto config using a directive only 2.1
/// has is for 2.1 (unless a flag or path already said which release).
pub fn after_extraction(facts: &mut Facts, judged: &mut Vec<Judged>) {
    if facts.releases.mosquitto.is_some() {
        return;
    }
    let Some(d) = facts
        .directives
        .iter()
        .find(|d| d.format == "mosquitto" && SINCE_2_1.contains(&d.name.as_str()))
    else {
        return;
    };
    facts.releases.mosquitto = Some((2, 1));
    judged.push(Judged {
        broker: "Mosquitto",
        release: (2, 1),
        why: format!(
            "{}:{} uses `{}`, which only 2.1 has",
            d.span.file.name, d.span.line, d.name
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_directories() {
        assert_eq!(dir_release("emqx-5.9.0", "emqx-"), Some((5, 9)));
        assert_eq!(dir_release("emqx-v5.10.1", "emqx-"), Some((5, 10)));
        assert_eq!(dir_release("emqx-6.0", "emqx-"), Some((6, 0)));
        assert_eq!(dir_release("mosquitto-2.1.2", "mosquitto-"), Some((2, 1)));
        for not in [
            "emqx-5.8.9-shipped",
            "emqx-5",
            "emqx-5.9.x",
            "emqx",
            "myemqx-5.9.0",
        ] {
            assert_eq!(dir_release(not, "emqx-"), None, "{not}");
        }
    }

    #[test]
    fn flags_win_and_paths_say_the_rest() {
        let paths = [PathBuf::from("/opt/emqx-5.9.0/etc/acl.conf")];
        let (r, j) = before_extraction(Releases::default(), &paths);
        assert_eq!(r.emqx, Some((5, 9)));
        assert_eq!(r.mosquitto, None);
        assert_eq!(
            j[0].describe(),
            "EMQX 5.9 (/opt/emqx-5.9.0/etc/acl.conf is under emqx-5.9.0/)"
        );
        let flags = Releases {
            mosquitto: None,
            emqx: Some((5, 8)),
        };
        let (r, j) = before_extraction(flags, &paths);
        assert_eq!(r.emqx, Some((5, 8)));
        assert!(j.is_empty(), "{j:?}");
        // A release mqttforge has no tables for says nothing.
        let (r, _) = before_extraction(Releases::default(), &[PathBuf::from("emqx-4.4.9/etc/x")]);
        assert_eq!(r.emqx, None);
        // The file name itself is not a directory.
        let (r, _) = before_extraction(Releases::default(), &[PathBuf::from("emqx-5.9.0")]);
        assert_eq!(r.emqx, None);
    }
}
