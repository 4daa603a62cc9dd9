//! EMQX sites without an EMQX binary. EMQX is not packaged for Debian and no
//! image can be pulled on the build machines, so `verify` runs every check
//! that needs no EMQX process on the files apply installs, and lists by name
//! the probes that need a running EMQX:
//!
//! - the key table: every key of every emqx.conf is a documented key of the
//!   targeted release (not deprecated, hidden or an alias);
//! - a second HOCON parser (pyhocon, when python3 has it) reads the same
//!   values as mqttforge's parser, and sees only known keys, arrays of
//!   objects included;
//! - authentication: an authenticator exists, and every listener either
//!   authenticates passwords, takes the certificate's CN on a listener that
//!   requires certificates, or is isolated by a mountpoint; the default
//!   listeners are off;
//! - authorization: `no_match = deny`, and mqttforge's evaluator, with
//!   EMQX's semantics, over acl.conf: every device role may use its own
//!   topics and none of another device's.

use std::process::Command;

use super::{Outcome, Probe};
use crate::acl::{self, Access, Who};
use crate::diag::Diagnostic;
use crate::formats::{emqx_keys, hocon};
use crate::render::targets::access;
use crate::render::{self, OutputTree, RenderOptions, SecretMode};
use crate::spec::model::Engine;
use crate::spec::Site;

/// The probes that need a running EMQX, and why they cannot run here.
pub const NEEDS_EMQX: &[&str] = &[
    "config loads",
    "mTLS probes",
    "TLS 1.2 refused where 1.3 is required",
    "publish/subscribe round trip",
    "session survives a reconnect",
    "retained message survives a broker restart",
    "ACL matrix agrees with `acl check`",
    "load balancer health checks and failover",
];

/// The structural probes of an EMQX site, then the ones needing EMQX.
pub fn structural(site: &Site, spec_name: &str) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    let tree = render::render(
        site,
        &RenderOptions::production(spec_name, SecretMode::Skip),
    )?;
    let confs: Vec<(&String, String)> = tree
        .files
        .iter()
        .filter(|(p, _)| p.ends_with("emqx.conf"))
        .map(|(p, f)| (p, String::from_utf8_lossy(&f.contents).into_owned()))
        .collect();
    let mut probes = vec![
        Probe {
            name: "emqx.conf holds only keys of the targeted EMQX release",
            outcome: key_table(&confs),
        },
        Probe {
            name: "a second HOCON parser reads the same configuration",
            outcome: second_parser(&confs),
        },
        Probe {
            name: "no listener admits an unproven identity",
            outcome: authentication(&confs),
        },
        Probe {
            name: "acl.conf isolates devices (mqttforge's evaluator)",
            outcome: acl_isolation(site, &tree),
        },
    ];
    for name in NEEDS_EMQX {
        probes.push(Probe {
            name,
            outcome: Outcome::NotApplicable(format!(
                "needs a running EMQX {}: EMQX is not packaged for Debian and no image can be pulled here",
                emqx_keys::TARGET
            )),
        });
    }
    Ok(probes)
}

fn leaves(text: &str) -> Result<Vec<(String, hocon::Pos, hocon::Node)>, String> {
    hocon::parse(text)
        .map(|root| hocon::flatten(&root))
        .map_err(|e| e.to_string())
}

fn key_table(confs: &[(&String, String)]) -> Outcome {
    let mut problems = Vec::new();
    for (path, text) in confs {
        match leaves(text) {
            Ok(leaves) => {
                for (key, pos, _) in leaves {
                    match emqx_keys::info(&key) {
                        None => problems.push(format!("{path}:{pos}: `{key}` is not a key")),
                        Some(i) if i.deprecated || i.hidden || i.alias_of.is_some() => problems
                            .push(format!(
                                "{path}:{pos}: `{key}` is deprecated, hidden or an alias"
                            )),
                        Some(_) => {}
                    }
                }
            }
            Err(e) => problems.push(format!("{path}: {e}")),
        }
    }
    if problems.is_empty() {
        Outcome::Pass(format!(
            "{} node config(s) against the key table of EMQX {} (generated from its schema source)",
            confs.len(),
            emqx_keys::TARGET
        ))
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

/// The program pyhocon runs (scripts/hocon-keys.py): every leaf as
/// `["s", text]` or `["o", repr]`, objects in arrays under `[]`.
const HOCON_KEYS_PY: &str = include_str!("../../scripts/hocon-keys.py");

fn second_parser(confs: &[(&String, String)]) -> Outcome {
    let has_pyhocon = Command::new("python3")
        .args(["-c", "import pyhocon"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pyhocon {
        return Outcome::NotApplicable(
            "needs python3 with pyhocon (`python3 -m pip install pyhocon`)".into(),
        );
    }
    let mut problems = Vec::new();
    for (path, text) in confs {
        if let Err(e) = compare_with_pyhocon(text) {
            problems.push(format!("{path}: {e}"));
        }
    }
    if problems.is_empty() {
        Outcome::Pass(format!(
            "pyhocon reads {} node config(s) to the same values, every key known",
            confs.len()
        ))
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

fn compare_with_pyhocon(text: &str) -> Result<(), String> {
    let dir = tempfile_in_work()?;
    let file = dir.join("emqx.conf");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let out = Command::new("python3")
        .args(["-c", HOCON_KEYS_PY])
        .arg(&file)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(format!(
            "pyhocon cannot read it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let theirs: std::collections::BTreeMap<String, (String, String)> =
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    for key in theirs.keys() {
        if emqx_keys::info(key).is_none() {
            return Err(format!("pyhocon reads `{key}`, not a key"));
        }
    }
    for (key, _, node) in leaves(text)? {
        let hocon::Value::String(ours) = node.value else {
            continue;
        };
        match theirs.get(&key) {
            Some((kind, value)) if kind == "s" && *value != ours => {
                return Err(format!(
                    "`{key}` reads `{ours}` here and `{value}` in pyhocon"
                ))
            }
            None => return Err(format!("pyhocon does not see `{key}`")),
            _ => {}
        }
    }
    Ok(())
}

fn tempfile_in_work() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("mqttforge-pyhocon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// EMQX 5.8 admits a client when no authenticator exists, and a listener
/// with `enable_authn = false` takes any username a client sends unless the
/// certificate's CN is the username on a listener requiring certificates,
/// or a mountpoint confines what its clients do (emqx_access_control,
/// emqx_channel, emqx_mountpoint).
fn authentication(confs: &[(&String, String)]) -> Outcome {
    let mut problems = Vec::new();
    let mut listeners = 0;
    for (path, text) in confs {
        let leaves = match leaves(text) {
            Ok(l) => l,
            Err(e) => return Outcome::Fail(format!("{path}: {e}")),
        };
        let get = |k: &str| {
            leaves
                .iter()
                .find(|(p, _, _)| p == k)
                .map(|(_, _, n)| match &n.value {
                    hocon::Value::String(s) | hocon::Value::Number(s) => s.clone(),
                    hocon::Value::Bool(b) => b.to_string(),
                    _ => "<set>".into(),
                })
        };
        if get("authentication").is_none() {
            problems.push(format!(
                "{path}: no authenticator, so EMQX admits every client"
            ));
        }
        if get("authorization.no_match").as_deref() != Some("deny") {
            problems.push(format!("{path}: authorization.no_match is not deny"));
        }
        let cert_cn = get("mqtt.peer_cert_as_username").as_deref() == Some("cn");
        for kind in ["tcp", "ssl", "ws", "wss"] {
            if get(&format!("listeners.{kind}.default.enable")).as_deref() != Some("false") {
                problems.push(format!(
                    "{path}: the default {kind} listener is not switched off"
                ));
            }
        }
        let names: std::collections::BTreeSet<String> = leaves
            .iter()
            .filter_map(|(k, _, _)| {
                let rest = k.strip_prefix("listeners.")?;
                let mut parts = rest.splitn(3, '.');
                let (kind, name) = (parts.next()?, parts.next()?);
                (name != "default").then(|| format!("{kind}.{name}"))
            })
            .collect();
        for l in names {
            listeners += 1;
            let field = |f: &str| get(&format!("listeners.{l}.{f}"));
            let authn = field("enable_authn").as_deref() != Some("false");
            let proven_by_cert = cert_cn
                && field("ssl_options.verify").as_deref() == Some("verify_peer")
                && field("ssl_options.fail_if_no_peer_cert").as_deref() == Some("true");
            let isolated = field("mountpoint").is_some_and(|m| !m.is_empty());
            if !(authn || proven_by_cert || isolated) {
                problems.push(format!(
                    "{path}: listener `{l}` takes whatever username a client sends"
                ));
            }
        }
    }
    if problems.is_empty() {
        Outcome::Pass(format!(
            "an authenticator, no_match = deny, default listeners off; each of {listeners} listener(s) authenticates, takes a required certificate's CN, or is mounted apart"
        ))
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

/// Every device role, with its first device and another one: its own
/// topics allowed as its role grants, another device's denied.
fn acl_isolation(site: &Site, tree: &OutputTree) -> Outcome {
    let acl = match acl::from_tree(Engine::Emqx, tree) {
        Ok(Some(a)) => a,
        Ok(None) => return Outcome::Fail("no acl.conf rendered".into()),
        Err(e) => return Outcome::Fail(format!("acl.conf does not parse: {e:?}")),
    };
    let ids: Vec<String> = site.devices().map(|d| d.id).collect();
    let mut roles: Vec<(String, String)> = Vec::new();
    for d in site.devices() {
        if !roles.iter().any(|(r, _)| r == d.role) {
            roles.push((d.role.to_string(), d.id.clone()));
        }
    }
    let (mut cells, mut problems) = (0, Vec::new());
    for (role, own) in &roles {
        let Some(other) = ids.iter().find(|i| *i != own) else {
            continue;
        };
        let who = Who::new(Some(own), own);
        for g in access::grants(&site.role(role).unwrap_or_default())
            .iter()
            .filter(|g| g.topic.contains("{id}"))
        {
            for (target, mine) in [(own.as_str(), true), (other.as_str(), false)] {
                let topic = g.topic_for(target).replace('#', "verify").replace('+', "x");
                for (access, granted) in [
                    (Access::Write, g.access.publishes()),
                    (Access::Read, g.access.subscribes()),
                ] {
                    cells += 1;
                    let allowed = acl::decide(&acl, &who, access, &topic).allowed;
                    if allowed != (granted && mine) {
                        problems.push(format!(
                            "`{own}` ({role}) {access:?} `{topic}`: {}",
                            if allowed { "allowed" } else { "denied" }
                        ));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Outcome::Pass(format!(
            "{cells} cells over {} device role(s): each device reaches its own topics as its role grants, none of another's",
            roles.len()
        ))
    } else {
        Outcome::Fail(problems.join("; "))
    }
}
