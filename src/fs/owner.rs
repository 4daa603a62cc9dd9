//! Ownership as installed: a file the broker reads after dropping root (an
//! ACL, a password file, a server key) belongs to root and the broker's
//! group; every other file to root:root. Running as root, apply sets that
//! through the open file (never through a link) and `plan` shows a
//! difference as a change; not running as root, apply leaves owners alone and
//! lists the exact commands an operator must run as root.

use std::path::PathBuf;

use super::root::Owner;

/// Root's user and group id.
pub const ROOT: Owner = Owner { uid: 0, gid: 0 };

/// Whether owners are set, or only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Running as root: set root:<group> / root:root, show drift in plans.
    Manage,
    /// Not root: leave owners alone, list the commands to run as root.
    Report,
}

impl Ownership {
    /// What this process can do: [`Ownership::Manage`] when its effective
    /// user is root.
    pub fn detect() -> Ownership {
        if running_as_root() {
            Ownership::Manage
        } else {
            Ownership::Report
        }
    }

    /// The owner apply gives a file with this group (`None`: root:root),
    /// when it sets owners at all and the group exists here.
    pub fn wanted(self, group: Option<&str>) -> Option<Owner> {
        match self {
            Ownership::Manage => installed_owner(group),
            Ownership::Report => None,
        }
    }
}

/// The owner a file must have where it is installed: root and the group's
/// id, or root:root without a group; `None` when the group does not exist
/// on this machine.
pub fn installed_owner(group: Option<&str>) -> Option<Owner> {
    match group {
        None => Some(ROOT),
        Some(name) => group_id(name).map(|gid| Owner { uid: 0, gid }),
    }
}

/// Whether this process's effective user is root.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A group's id from /etc/group.
pub fn group_id(name: &str) -> Option<u32> {
    id_of("/etc/group", name)
}

fn id_of(file: &str, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

fn name_of(file: &str, id: u32) -> String {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2].parse() == Ok(id)).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

/// `user:group` by name where /etc/passwd and /etc/group know them.
pub fn display(owner: Owner) -> String {
    format!(
        "{}:{}",
        name_of("/etc/passwd", owner.uid),
        name_of("/etc/group", owner.gid)
    )
}

/// What an operator must run as root for one file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct OwnershipFix {
    /// The file, as the user named its root.
    pub path: PathBuf,
    /// `root:mosquitto`, `root:root`.
    pub owner: String,
    /// The mode it must keep (chown by root keeps it; stated for clarity
    /// only where the mode differs too).
    pub mode: u32,
    /// The mode on disk differs as well.
    pub mode_differs: bool,
}

/// Single-quotes a path for a POSIX shell.
fn quote(path: &std::path::Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The commands that make every file's owner (and, where it differs, mode)
/// what apply would set as root: one `chown` per owner and one `chmod` per
/// mode, paths sorted, one per line.
pub fn commands(fixes: &[OwnershipFix]) -> Vec<String> {
    let mut by_owner: std::collections::BTreeMap<&str, Vec<&OwnershipFix>> = Default::default();
    let mut by_mode: std::collections::BTreeMap<u32, Vec<&OwnershipFix>> = Default::default();
    for f in fixes {
        by_owner.entry(f.owner.as_str()).or_default().push(f);
        if f.mode_differs {
            by_mode.entry(f.mode).or_default().push(f);
        }
    }
    let line = |head: String, files: &mut Vec<&OwnershipFix>| {
        files.sort();
        let paths: Vec<String> = files.iter().map(|f| quote(&f.path)).collect();
        format!("{head} {}", paths.join(" \\\n    "))
    };
    let mut out = Vec::new();
    for (owner, mut files) in by_owner {
        out.push(line(format!("chown {owner}"), &mut files));
    }
    for (mode, mut files) in by_mode {
        out.push(line(format!("chmod {mode:04o}"), &mut files));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_grouped_sorted_and_quoted() {
        let fix = |p: &str, owner: &str, mode: u32, mode_differs: bool| OwnershipFix {
            path: PathBuf::from(p),
            owner: owner.into(),
            mode,
            mode_differs,
        };
        let cmds = commands(&[
            fix("out/mosquitto/passwd", "root:mosquitto", 0o640, false),
            fix("out/it's.conf", "root:root", 0o644, false),
            fix("out/mosquitto/acl", "root:mosquitto", 0o640, true),
        ]);
        assert_eq!(
            cmds,
            [
                "chown root:mosquitto 'out/mosquitto/acl' \\\n    'out/mosquitto/passwd'",
                "chown root:root 'out/it'\\''s.conf'",
                "chmod 0640 'out/mosquitto/acl'",
            ]
        );
    }

    #[test]
    fn root_is_root_and_a_missing_group_has_no_owner() {
        assert_eq!(installed_owner(None), Some(ROOT));
        assert_eq!(installed_owner(Some("no-such-group-mqttforge")), None);
        assert_eq!(Ownership::Report.wanted(None), None);
        assert_eq!(display(ROOT), "root:root");
    }
}
