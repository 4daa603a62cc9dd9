//! An EMQX 5 configuration holds an EMQX 4.x key, or a key EMQX 5 does not know.
//!
//! What it does: checks every key path of an audited emqx.conf against the
//! key table of the EMQX release mqttforge targets (5.8.9, generated from
//! that release's schema source: `src/formats/emqx_keys.rs`). EMQX 4.x keys
//! that changed in 5.x (`listener.ssl.external.*`, `zone.*`,
//! `allow_anonymous`, `acl_nomatch`, `acl_file`, `log.level`,
//! `dashboard.default_user.*`, ...) are flagged with their 5.x replacement;
//! a key of another 5.x release (5.7, 5.9, 5.10, the 5.8 enterprise build)
//! is flagged naming the releases that have it, unless `audit
//! --emqx-version` names one of them; any other unknown key under
//! a known root is flagged with the nearest known key. Official aliases
//! (`log.console_handler`) are keys, and so is `log.file { ... }` written as
//! an object (5.x's single file handler; `log.file = emqx.log` is 4.x). An
//! unknown root, 4.x roots such as `allow_anonymous`, `listener.*` and
//! `zone.*` included, is a warning: EMQX 5 logs and ignores it. A 4.x file in `key = value` lines that HOCON cannot
//! read is still checked line by line.
//!
//! Applies to audited files: the emqx.conf mqttforge renders is checked
//! against the same key table when it is rendered.
//!
//! Why it matters: EMQX 5 validates its configuration against a schema and
//! refuses to start on an unknown key under a known root, so a config carried over from 4.x,
//! or a typo, keeps the node down; and a 4.x setting that did start under
//! another name (`acl_nomatch = deny`) no longer protects anything.
//!
//! Example:
//!     listener.ssl.external = 8883
//!     listener.ssl.external.keyfile = etc/certs/key.pem
//!     acl_nomatch = deny
//!
//! Use instead:
//!     listeners.ssl.default {
//!       bind = "0.0.0.0:8883"
//!       ssl_options { keyfile = "etc/certs/key.pem" }
//!     }
//!     authorization { no_match = deny }
//!
//! Severity: error; warning for an unknown root (ignored by EMQX).

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};

pub const RULE: Rule = Rule {
    id: "MQ-CFG-001",
    name: "emqx_unknown_key",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_cfg_001_emqx_unknown_key.rs"),
    check,
};

/// The EMQX 4.x keys (not valid in 5.x) and what replaced them. A pattern
/// ending with `.` is a prefix; others match the path exactly.
const V4_KEYS: &[(&str, &str)] = &[
    ("listener.", "5.x listeners are `listeners.<tcp|ssl|ws|wss>.<name>.*`, e.g. `listeners.ssl.default { bind = \"0.0.0.0:8883\" }`"),
    ("zone.", "5.x has no zones of this shape: MQTT settings live under `mqtt.*`"),
    ("allow_anonymous", "5.x has no `allow_anonymous`: clients are anonymous when no `authentication` is configured"),
    ("acl_nomatch", "5.x: `authorization.no_match = deny`"),
    ("acl_file", "5.x: `authorization.sources = [{ type = file, path = \"etc/acl.conf\" }]`"),
    ("acl_deny_action", "5.x: `authorization.deny_action`"),
    ("enable_acl_cache", "5.x: `authorization.cache.enable`"),
    ("acl_cache_max_size", "5.x: `authorization.cache.max_size`"),
    ("acl_cache_ttl", "5.x: `authorization.cache.ttl`"),
    ("flapping_detect_policy", "5.x: `flapping_detect { enable, max_count, window_time, ban_time }`"),
    ("cluster.discovery", "5.x: `cluster.discovery_strategy`"),
    ("cluster.dns.app", "5.x: `cluster.dns.name` and `record_type`"),
    ("cluster.k8s.app_name", "5.x: `cluster.k8s.service_name`"),
    ("cluster.etcd.ssl.", "5.x: `cluster.etcd.ssl_options.*`"),
    ("cluster.mcast.", "multicast discovery is gone in 5.x: use static, dns, etcd or k8s"),
    ("node.heartbeat", "not an EMQX 5 key: remove it"),
    ("node.async_threads", "not an EMQX 5 key: remove it"),
    ("node.fullsweep_after", "not an EMQX 5 key: remove it"),
    ("node.crash_dump", "5.x: `node.crash_dump_file`"),
    ("node.ssl_dist_optfile", "5.x: `rpc.ssl_options` / the Erlang distribution settings"),
    ("node.dist_listen_min", "not an EMQX 5 key: remove it"),
    ("node.dist_listen_max", "not an EMQX 5 key: remove it"),
    ("rpc.tcp_server_port", "5.x: `rpc.server_port`"),
    ("rpc.tcp_client_port", "5.x: `rpc.client_port`"),
    ("rpc.tcp_client_num", "5.x: `rpc.client_num`"),
    ("log.to", "5.x: `log.console.enable` / `log.file.<handler>.enable`"),
    ("log.level", "5.x: `log.console.level` / `log.file.<handler>.level`"),
    ("log.dir", "5.x: `log.file.<handler>.path`"),
    ("log.file", "5.x: `log.file.<handler>.path` (`log.file` is a group of handlers)"),
    ("log.chars_limit", "5.x: `log.console.max_depth` / `log.file.<handler>.max_depth`"),
    ("log.rotation.", "5.x: `log.file.<handler>.rotation_count` / `rotation_size`"),
    ("dashboard.listener.", "5.x: `dashboard.listeners.http.bind`"),
    ("dashboard.default_user.", "5.x: `dashboard.default_username` / `dashboard.default_password`"),
    ("management.", "5.x REST API credentials are API keys (`api_key.bootstrap_file`)"),
    ("prometheus.push.gateway.server", "5.x: `prometheus.push_gateway.url`"),
    ("auth.", "5.x: `authentication = [ { mechanism = password_based, backend = ... } ]`"),
    ("plugins.loaded_file", "5.x: `plugins.states`"),
    ("broker.sys_interval", "5.x: `sys_topics.sys_msg_interval`"),
    ("module.", "5.x modules are configured under their own roots (`delayed`, `topic_metrics`, ...)"),
];

/// The 4.x key a path is, and its 5.x replacement.
fn v4_key(path: &str) -> Option<&'static str> {
    V4_KEYS
        .iter()
        .find(|(p, _)| {
            if p.ends_with('.') {
                path.starts_with(p)
            } else {
                path == *p
            }
        })
        .map(|(_, hint)| *hint)
}

/// Why a key path is not a key of the targeted EMQX release (None: it is
/// one): the message, the help, and the severity when it is not an error.
fn key_problem(
    path: &str,
    object: bool,
    release: Option<(u32, u32)>,
) -> Option<(String, String, Option<Severity>)> {
    use crate::formats::emqx_keys::{self, TARGET};
    // `log.file { ... }` is the 5.x handler struct; `log.file = emqx.log` is 4.x.
    if object && emqx_keys::is_known(path) {
        return None;
    }
    if let Some(hint) = v4_key(path) {
        let root = path.split('.').next().unwrap_or(path);
        if !emqx_keys::is_root(root) {
            // EMQX 5 logs unknown roots (`config_key_not_recognized`) and starts.
            return Some((
                format!("`{path}` is an EMQX 4.x key; EMQX 5 does not know `{root}` and ignores it (and logs it), so what it set has no effect"),
                hint.to_string(),
                Some(Severity::Warning),
            ));
        }
        return Some((
            format!("`{path}` is an EMQX 4.x key; EMQX 5 refuses to start on it"),
            hint.to_string(),
            None,
        ));
    }
    if emqx_keys::is_known(path) {
        return None;
    }
    if let Some(releases) = emqx_keys::other_releases(path) {
        // A key of the release the files are for (`--emqx-version`); 6.0
        // has no key table of its own, its keys are judged as 5.10's.
        let release = release.map(|r| if r >= (6, 0) { (5, 10) } else { r });
        if let Some((major, minor)) = release {
            let of_it = |r: &str| {
                r.split('.').take(2).collect::<Vec<_>>() == [major.to_string(), minor.to_string()]
            };
            if releases.split(',').any(of_it) {
                return None;
            }
        }
        return Some((
            format!("`{path}` is a key of EMQX {}, not of EMQX {TARGET} (the release mqttforge targets), which refuses to start on it", releases.replace(',', ", ")),
            format!("remove it, or configure what it does the way EMQX {TARGET} does (docs/emqx-target.md)"),
            None,
        ));
    }
    let root = path.split('.').next().unwrap_or(path);
    if !emqx_keys::is_root(root) {
        // EMQX 5 logs unknown top-level keys and ignores them.
        let help = match crate::suggest::did_you_mean(root, emqx_keys::roots()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "remove it: it has no effect".to_string(),
        };
        return Some((
            format!("`{root}` (in `{path}`) is not an EMQX {TARGET} configuration root: EMQX ignores it (and logs it), so what it sets has no effect"),
            help,
            Some(Severity::Warning),
        ));
    }
    let segments = path.split('.').count();
    let candidates: Vec<String> = emqx_keys::paths()
        .iter()
        .filter(|k| k.split('.').count() == segments && k.starts_with(root))
        .map(|k| {
            k.split('.')
                .zip(path.split('.'))
                .map(|(p, s)| if p == "<name>" { s } else { p })
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    let help = match crate::suggest::did_you_mean(path, candidates.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("remove it, or check it against the EMQX {TARGET} configuration manual"),
    };
    Some((
        format!("`{path}` is not an EMQX {TARGET} key; EMQX refuses to start on an unknown key under a known root"),
        help,
        None,
    ))
}

/// The group a 4.x key belongs to, to report `listener.ssl.external.*` once.
fn v4_group(path: &str) -> Option<String> {
    let (pattern, _) = V4_KEYS.iter().find(|(p, _)| {
        if p.ends_with('.') {
            path.starts_with(p)
        } else {
            path == *p
        }
    })?;
    if !pattern.ends_with('.') {
        return Some(path.to_string());
    }
    let depth = if *pattern == "listener." {
        3
    } else {
        pattern.matches('.').count() + 1
    };
    Some(path.split('.').take(depth).collect::<Vec<_>>().join("."))
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    // 4.x keys of one group (`listener.ssl.external.*`) in one file are reported once.
    // (file and 4.x group, keys in the group, the finding at its first key)
    type Group = Option<(String, String)>;
    let mut found: Vec<(Group, usize, Finding)> = Vec::new();
    for k in &facts.emqx_keys {
        let Some((message, help, severity)) = key_problem(&k.path, k.object, facts.releases.emqx)
        else {
            continue;
        };
        let group = v4_group(&k.path).map(|g| (k.span.file.name.clone(), g));
        if let Some((_, n, _)) = found
            .iter_mut()
            .find(|(g, _, _)| g.is_some() && *g == group)
        {
            *n += 1;
            continue;
        }
        let mut f = Finding::new(&k.span, message, help);
        if let Some(sev) = severity {
            f = f.with_severity(sev);
        }
        found.push((group, 1, f));
    }
    for (group, n, mut f) in found {
        if let (Some((_, prefix)), true) = (group, n > 1) {
            let root = prefix.split('.').next().unwrap_or(&prefix);
            f.message = if crate::formats::emqx_keys::is_root(root) {
                format!(
                    "`{prefix}.*` ({n} keys) are EMQX 4.x keys; EMQX 5 refuses to start on them"
                )
            } else {
                format!("`{prefix}.*` ({n} keys) are EMQX 4.x keys; EMQX 5 does not know `{root}` and ignores them (and logs it), so what they set has no effect")
            };
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_x_keys() {
        assert!(key_problem("listener.ssl.external.keyfile", false, None)
            .unwrap()
            .1
            .contains("listeners."));
        assert!(key_problem("zone.external.idle_timeout", false, None).is_some());
        assert!(key_problem("zones.default.mqtt.max_inflight", false, None).is_none());
        assert!(key_problem("allow_anonymous", false, None).is_some());
        assert!(key_problem("log.file", false, None).is_some());
        // `log.file { level = warning }`: the 5.x single-handler form.
        assert!(key_problem("log.file", true, None).is_none());
        // An unknown 5.x root: EMQX warns and starts.
        assert_eq!(
            key_problem("allow_anonymous", false, None).unwrap().2,
            Some(Severity::Warning)
        );
        assert_eq!(key_problem("node.crash_dump", false, None).unwrap().2, None);
        // A key of 5.9 and 5.10: flagged for 5.8, known for a 5.9 file.
        assert!(key_problem("dashboard.default_mfa", false, None).is_some());
        assert!(key_problem("dashboard.default_mfa", false, Some((5, 9))).is_none());
        assert!(key_problem("dashboard.default_mfa", false, Some((5, 7))).is_some());
        assert!(key_problem("dashboard.default_mfa", false, Some((6, 0))).is_none());
        assert!(key_problem("log.file.default.path", false, None).is_none());
        assert_eq!(
            key_problem("mqtt.max_packet_sise", false, None).unwrap().1,
            "did you mean `mqtt.max_packet_size`?"
        );
        assert!(key_problem("listeners.wss.default.ssl_options.certfile", false, None).is_none());
        assert!(key_problem("listeners.ssl.devices.ssl_options.verfy", false, None).is_some());
        assert!(key_problem("retainer.max_payload_size", false, None).is_none());
        assert!(key_problem("mqttt.max_inflight", false, None)
            .unwrap()
            .1
            .contains("`mqtt`"));
        assert_eq!(
            v4_group("listener.ssl.external.keyfile").as_deref(),
            Some("listener.ssl.external")
        );
        assert_eq!(
            v4_group("listener.ssl.external").as_deref(),
            Some("listener.ssl.external")
        );
        assert_eq!(
            v4_group("zone.external.idle_timeout").as_deref(),
            Some("zone.external")
        );
        assert_eq!(v4_group("mqtt.max_inflight"), None);
    }

    #[test]
    fn the_generated_config_has_only_emqx_5_keys() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/golden/emqx-cluster/emqx/mqtt1/emqx.conf"
        ))
        .unwrap();
        let root = crate::formats::hocon::parse(&text).unwrap();
        let problems: Vec<_> = crate::formats::hocon::flatten(&root)
            .into_iter()
            .filter_map(|(p, _, _)| key_problem(&p, false, None))
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
    }
}
