//! The production checklist (DOMAIN.md section 8, 24 items) as a table, and
//! each item's status for a site: generated (which rendered file), checked
//! (which lint rules), proven (which `verify` probe), or missing (what to
//! do). It is judged from the spec and the files the site renders, so the
//! runbook can embed it; `mqttforge checklist` (crate::checklist) adds the
//! lint findings of each item's rules.

use serde::Serialize;

use crate::render::targets::observability;
use crate::spec::derive::Derived;
use crate::spec::model::{Engine, LbKind};
use crate::spec::recovery::{rpo_gap, StateKeeping, SCENARIOS};
use crate::spec::Site;

/// How an item is satisfied for a site, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A `verify` probe exercises it on a running site.
    Proven,
    /// mqttforge renders it.
    Generated,
    /// Lint rules check it; nothing is rendered for it.
    Checked,
    /// Nothing covers it for this site.
    Missing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proven => "proven",
            Status::Generated => "generated",
            Status::Checked => "checked",
            Status::Missing => "missing",
        }
    }
}

/// One item of the checklist: what it asks, and where mqttforge covers it.
pub struct ItemDef {
    pub id: &'static str,
    pub area: &'static str,
    pub title: &'static str,
    /// Lint rules that check it.
    pub rules: &'static [&'static str],
    /// The `verify` probes that exercise it (their names as verify reports
    /// them): the first whose engines include the site's applies.
    pub probes: &'static [ProbeRef],
    /// For the site: the rendered files that satisfy it (tree paths; a
    /// trailing `/` takes a directory, a `*` one path segment), or why it
    /// is missing and what to do.
    pub judge: fn(&Judge<'_>) -> Result<Vec<&'static str>, String>,
}

/// A `verify` probe and the engines it runs on (none listed: every engine,
/// as the bundled runtime runs any site).
pub struct ProbeRef {
    pub engines: &'static [Engine],
    pub name: &'static str,
}

const fn every_engine(name: &'static str) -> ProbeRef {
    ProbeRef { engines: &[], name }
}

/// Probes of the local runtime, which runs Mosquitto sites.
const fn mosquitto(name: &'static str) -> ProbeRef {
    ProbeRef {
        engines: &[Engine::Mosquitto],
        name,
    }
}

/// What an item is judged from.
pub struct Judge<'a> {
    pub site: &'a Site,
    pub derived: &'a Derived,
    /// Tree paths of the files the site renders.
    pub paths: &'a [String],
}

impl Judge<'_> {
    fn broker_config(&self) -> &'static str {
        match self.site.spec.engine {
            Engine::Mosquitto => "mosquitto/*/mosquitto.conf",
            Engine::Emqx => "emqx/*/emqx.conf",
            Engine::Rumqttd => "rumqttd/*/rumqttd.toml",
        }
    }

    fn lb_kind(&self) -> Option<LbKind> {
        self.site.spec.load_balancer.as_ref().map(|lb| lb.kind)
    }

    fn device_listeners(&self) -> impl Iterator<Item = &crate::spec::derive::ListenerPlan> {
        self.derived.listeners.iter().filter(|l| l.device_facing)
    }
}

/// One row of a site's checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub id: &'static str,
    pub area: &'static str,
    pub title: &'static str,
    pub status: Status,
    /// Rendered files that satisfy it (tree paths).
    pub generated: Vec<String>,
    pub checked: Vec<&'static str>,
    pub proven: Option<&'static str>,
    /// What to do, when missing.
    pub todo: Option<String>,
}

fn when(cond: bool, files: Vec<&'static str>, todo: &str) -> Result<Vec<&'static str>, String> {
    if cond {
        Ok(files)
    } else {
        Err(todo.to_string())
    }
}

const RUNBOOK: &str = "RUNBOOK.md";

pub const ITEMS: &[ItemDef] = &[
    ItemDef {
        id: "SEC-1",
        area: "security",
        title: "TLS 1.3 with modern ciphers only",
        rules: &["MQ-TLS-001", "MQ-TLS-002", "MQ-TLS-003", "MQ-TLS-004"],
        probes: &[every_engine("TLS 1.2 refused where 1.3 is required")],
        judge: |j| {
            let all = j
                .device_listeners()
                .all(|l| l.tls.as_ref().is_some_and(|t| t.min_version == "1.3"));
            when(
                all && j.device_listeners().next().is_some(),
                vec![j.broker_config()],
                "set `tls: { min_version: \"1.3\" }` on every device-facing listener",
            )
        },
    },
    ItemDef {
        id: "SEC-2",
        area: "security",
        title: "mTLS configured and tested",
        rules: &["MQ-TLS-005", "MQ-TLS-006", "MQ-PKI-003"],
        probes: &[every_engine("mTLS probes")],
        judge: |j| {
            let all = j
                .device_listeners()
                .all(|l| l.tls.as_ref().is_some_and(|t| t.require_client_cert));
            when(
                all && j.device_listeners().next().is_some(),
                vec![j.broker_config()],
                "set `tls: { client_certs: required, identity: username }` on every device-facing listener",
            )
        },
    },
    ItemDef {
        id: "SEC-3",
        area: "security",
        title: "Per-device/group ACLs",
        rules: &[
            "MQ-ACL-001",
            "MQ-ACL-002",
            "MQ-ACL-003",
            "MQ-ACL-004",
            "MQ-ACL-005",
        ],
        probes: &[
            mosquitto("ACL matrix agrees with `acl check`"),
            ProbeRef {
                engines: &[Engine::Emqx],
                name: "acl.conf isolates devices (mqttforge's evaluator)",
            },
        ],
        judge: |j| {
            match j.site.spec.engine {
            Engine::Mosquitto => Ok(vec!["mosquitto/acl"]),
            Engine::Emqx => Ok(vec!["emqx/acl.conf"]),
            Engine::Rumqttd => Err("rumqttd has no topic authorization: run the site on `engine: mosquitto` or `engine: emqx`".into()),
        }
        },
    },
    ItemDef {
        id: "SEC-4",
        area: "security",
        title: "Rate limiting (anti-DDoS)",
        rules: &["MQ-AUTH-006", "MQ-PERF-004"],
        probes: &[],
        judge: |j| {
            let l = &j.site.spec.limits;
            let mut files = vec![j.broker_config()];
            // NGINX's stream module has no limit on new connections per
            // second: only HAProxy's `rate-limit sessions` counts here.
            if j.lb_kind() == Some(LbKind::Haproxy) {
                files.push("haproxy/");
            }
            when(
                l.connect_rate.is_some() || l.message_rate.is_some(),
                files,
                "set `limits: { connect_rate: ... }` (and `message_rate`)",
            )
        },
    },
    ItemDef {
        id: "SEC-5",
        area: "security",
        title: "Certificate lifetime <= 1 year",
        rules: &["MQ-PKI-001", "MQ-PKI-002"],
        probes: &[],
        judge: |j| {
            when(
                j.site.spec.pki.is_some(),
                Vec::new(),
                "declare `pki:` with `device_validity` and `server_validity` of at most 365d",
            )
        },
    },
    ItemDef {
        id: "SEC-6",
        area: "security",
        title: "Automatic secret rotation planned",
        rules: &["MQ-AUTH-001", "MQ-AUTH-002"],
        probes: &[],
        judge: |_| Ok(vec![RUNBOOK]),
    },
    ItemDef {
        id: "SEC-7",
        area: "security",
        title: "Audit logging (connections, pub/sub)",
        rules: &["MQ-AUTH-007"],
        probes: &[],
        judge: |j| {
            Ok(match j.site.spec.engine {
                Engine::Rumqttd => Vec::new(),
                _ => vec![j.broker_config()],
            })
        },
    },
    ItemDef {
        id: "HA-1",
        area: "availability",
        title: "Multi-node cluster",
        rules: &["MQ-HA-001", "MQ-HA-007"],
        probes: &[],
        judge: |j| {
            when(j.site.spec.nodes.len() > 1, vec![j.broker_config()], "add nodes (EMQX: a 3-node cluster; Mosquitto: `cluster: { mode: active-standby, vip: ... }`)")
        },
    },
    ItemDef {
        id: "HA-2",
        area: "availability",
        title: "Load balancer with health checks",
        rules: &[
            "MQ-HA-002",
            "MQ-HA-003",
            "MQ-HA-004",
            "MQ-HA-005",
            "MQ-HA-006",
        ],
        probes: &[mosquitto("load balancer health checks and failover")],
        judge: |j| {
            when(
                j.site.spec.load_balancer.is_some(),
                match j.lb_kind() {
                    Some(LbKind::Nginx) => vec!["nginx/nginx.conf"],
                    _ => vec!["haproxy/haproxy.cfg"],
                },
                "add `load_balancer: { kind: haproxy, tls: passthrough, health_check: { ... } }`",
            )
        },
    },
    ItemDef {
        id: "HA-3",
        area: "availability",
        title: "Session persistence tested on reconnect",
        rules: &["MQ-HA-008"],
        probes: &[every_engine("session survives a reconnect")],
        judge: |j| {
            when(
                j.site.spec.persistence.enabled,
                vec![j.broker_config()],
                "set `persistence: { enabled: true, session_expiry: 2h }`",
            )
        },
    },
    ItemDef {
        id: "HA-4",
        area: "availability",
        title: "Failover plan documented and tested",
        rules: &[],
        probes: &[mosquitto("load balancer health checks and failover")],
        judge: |j| {
            when(
                j.site.spec.nodes.len() > 1,
                vec![RUNBOOK],
                "a single node has no failover: add a node and a load balancer",
            )
        },
    },
    ItemDef {
        id: "OBS-1",
        area: "observability",
        title: "Prometheus metrics",
        rules: &["MQ-OBS-001"],
        probes: &[],
        judge: |j| {
            when(
                has_prometheus(j),
                vec!["prometheus/prometheus.yml"],
                "add `monitoring: { prometheus: { scrape_interval: 15s } }`",
            )
        },
    },
    ItemDef {
        id: "OBS-2",
        area: "observability",
        title: "Alerts with validated thresholds",
        rules: &["MQ-OBS-002", "MQ-OBS-003", "MQ-OBS-004", "MQ-OBS-005"],
        probes: &[],
        judge: |j| {
            when(
                has_prometheus(j),
                vec!["prometheus/rules/"],
                "add `monitoring: { prometheus: {}, alerts: default }`",
            )
        },
    },
    ItemDef {
        id: "OBS-3",
        area: "observability",
        title: "Grafana dashboards",
        rules: &["MQ-OBS-006"],
        probes: &[],
        judge: |j| {
            when(
                monitoring(j, |m| m.dashboards.is_some()),
                Vec::new(),
                "declare where dashboards live: `monitoring: { dashboards: grafana }`",
            )
        },
    },
    ItemDef {
        id: "OBS-4",
        area: "observability",
        title: "Distributed tracing",
        rules: &["MQ-OBS-006"],
        probes: &[],
        judge: |j| {
            if !monitoring(j, |m| m.tracing.is_some()) {
                return Err(
                    "declare the collector: `monitoring: { tracing: \"http://otel:4317\" }`".into(),
                );
            }
            // Declared, but no engine mqttforge targets exports traces.
            Err(format!(
                "the brokers export no traces ({}): trace in the clients and applications, which send to the collector themselves",
                observability::why_no_traces(j.site.spec.engine)
            ))
        },
    },
    ItemDef {
        id: "OBS-5",
        area: "observability",
        title: "Centralised logs",
        rules: &["MQ-OBS-006"],
        probes: &[],
        judge: |j| {
            let Some(url) = j
                .site
                .spec
                .monitoring
                .as_ref()
                .and_then(|m| m.logs.as_ref())
            else {
                return Err(
                    "declare the log store: `monitoring: { logs: \"syslog://logs:514\" }`".into(),
                );
            };
            // Generated either way; the Alloy file (Loki) is unchecked, which
            // the runbook and MQ-OBS-006 say (the checklist has no state for
            // "generated, unchecked").
            match observability::log_backend(&url.0).and_then(|b| b.shipper()) {
                Some(shipper) => Ok(vec![shipper.file]),
                None => Err(observability::UNKNOWN_BACKEND.to_string()),
            }
        },
    },
    ItemDef {
        id: "PERF-1",
        area: "performance",
        title: "Load test done (capacity validated)",
        rules: &["MQ-PERF-006"],
        probes: &[],
        judge: |j| {
            when(
                j.site.spec.load_test.is_some(),
                Vec::new(),
                "declare `load_test:` and run `mqttforge bench URL --spec SPEC`",
            )
        },
    },
    ItemDef {
        id: "PERF-2",
        area: "performance",
        title: "OS tuning applied",
        rules: &["MQ-PERF-001", "MQ-PERF-002", "MQ-PERF-003"],
        probes: &[],
        judge: |j| {
            when(
                j.site.spec.os.is_some(),
                vec!["os/"],
                "add `os: { sysctl: true }`",
            )
        },
    },
    ItemDef {
        id: "PERF-3",
        area: "performance",
        title: "Connection limits set",
        rules: &["MQ-PERF-004", "MQ-PERF-001"],
        probes: &[],
        judge: |j| Ok(vec![j.broker_config()]),
    },
    ItemDef {
        id: "PERF-4",
        area: "performance",
        title: "QoS strategy per message type",
        rules: &[],
        probes: &[],
        judge: |_| {
            Err("the spec has no place for a QoS strategy yet: document which QoS each topic class uses".into())
        },
    },
    ItemDef {
        id: "DR-1",
        area: "recovery",
        title: "Automated daily backups",
        rules: &[
            "MQ-DR-001",
            "MQ-DR-002",
            "MQ-DR-003",
            "MQ-DR-005",
            "MQ-DR-007",
        ],
        probes: &[],
        judge: |j| {
            when(j.site.spec.backup.is_some(), vec!["backup/backup.sh"], "add `backup: { schedule: daily, retention: 30d, target: ..., encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } } }`")
        },
    },
    ItemDef {
        id: "DR-2",
        area: "recovery",
        title: "Restore procedure tested",
        rules: &["MQ-DR-005", "MQ-DR-006"],
        // `verify --runtime local --drill`: the rendered scripts, run.
        probes: &[mosquitto(
            "drill: the rendered restore script restores onto a fresh host",
        )],
        judge: |j| {
            when(
                j.site.spec.backup.is_some(),
                vec!["backup/restore.sh", RUNBOOK],
                "add `backup:`; mqttforge then renders restore.sh and its procedure",
            )
        },
    },
    ItemDef {
        id: "DR-3",
        area: "recovery",
        title: "RTO/RPO defined and validated",
        rules: &["MQ-DR-004"],
        probes: &[],
        judge: objectives_validated,
    },
    ItemDef {
        id: "DR-4",
        area: "recovery",
        title: "Runbooks documented",
        rules: &[],
        probes: &[],
        judge: |_| Ok(vec![RUNBOOK]),
    },
];

fn has_prometheus(j: &Judge<'_>) -> bool {
    monitoring(j, |m| m.prometheus.is_some())
}

fn monitoring(j: &Judge<'_>, what: fn(&crate::spec::model::Monitoring) -> bool) -> bool {
    j.site.spec.monitoring.as_ref().is_some_and(what)
}

fn objectives_validated(j: &Judge<'_>) -> Result<Vec<&'static str>, String> {
    let Some(dr) = &j.site.spec.dr else {
        return Err("declare `dr:` with an RTO and RPO per scenario".into());
    };
    let state = StateKeeping::of_site(j.site, j.derived);
    for (scenario, _) in SCENARIOS {
        if let Some(o) = dr.objective(scenario) {
            let rpo_s = o.rpo.millis().div_ceil(1000);
            if let Some(gap) = rpo_gap(&state, scenario, rpo_s) {
                return Err(gap.help(&state, rpo_s));
            }
        }
    }
    Ok(vec![RUNBOOK])
}

/// Whether a tree path is one a pattern of [`ItemDef::judge`] names.
fn matches(pattern: &str, path: &str) -> bool {
    if let Some(dir) = pattern.strip_suffix('/') {
        return path.starts_with(dir) && path[dir.len()..].starts_with('/');
    }
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == t.len() && p.iter().zip(&t).all(|(a, b)| *a == "*" || a == b)
}

/// The site's checklist, one row per item.
pub fn rows(judge: &Judge<'_>) -> Vec<Row> {
    ITEMS
        .iter()
        .map(|item| {
            let (generated, todo) = match (item.judge)(judge) {
                Ok(prefixes) => (
                    prefixes
                        .iter()
                        .flat_map(|p| {
                            let found: Vec<String> = judge
                                .paths
                                .iter()
                                .filter(|path| matches(p, path))
                                .cloned()
                                .collect();
                            found
                        })
                        .collect::<Vec<_>>(),
                    None,
                ),
                Err(todo) => (Vec::new(), Some(todo)),
            };
            let engine = judge.site.spec.engine;
            let probe = item
                .probes
                .iter()
                .find(|p| p.engines.is_empty() || p.engines.contains(&engine))
                .map(|p| p.name);
            let status = match (&todo, probe) {
                (Some(_), _) => Status::Missing,
                (None, Some(_)) => Status::Proven,
                (None, _) if !generated.is_empty() => Status::Generated,
                (None, _) if !item.rules.is_empty() => Status::Checked,
                (None, _) => Status::Missing,
            };
            Row {
                id: item.id,
                area: item.area,
                title: item.title,
                status,
                generated,
                checked: item.rules.to_vec(),
                proven: probe,
                todo,
            }
        })
        .collect()
}
