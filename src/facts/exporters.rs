//! What the known exporters serve, and the production checklist of alerts
//! (DOMAIN.md section 4): one table each, read by the OBS rules and by the
//! spec extractor (`crate::facts::spec::observability`).
//!
//! Sources: mosquitto-exporter turns each `$SYS/broker/...` topic into a
//! metric by dropping `$SYS/` and replacing `/` and spaces with `_`
//! (sapcc/mosquitto-exporter `parseTopic`); the `$SYS` topics are those of
//! Mosquitto 2.0's sys_tree.c. EMQX 5 names are those of
//! `emqx_prometheus` (`/api/v5/prometheus/stats`; counters have no `_total`
//! suffix). node_exporter's namespace is open (collectors vary).

use crate::facts::ScrapeJobFact;
use crate::spec::model::Engine;

/// A Prometheus exporter (or a broker's own endpoint) and what it serves.
pub struct Exporter {
    pub name: &'static str,
    /// The broker engine it reports on, if any.
    pub engine: Option<Engine>,
    /// The namespace of its metric names (`broker_`); empty: names are not checked.
    pub prefix: &'static str,
    pub default_port: u16,
    /// The paths that serve Prometheus text.
    pub paths: &'static [&'static str],
    /// Words in a job name that name it.
    pub job_hints: &'static [&'static str],
    /// Whether it exports a metric of its namespace.
    pub exports: fn(&str) -> bool,
    /// Names for "did you mean" suggestions.
    pub names: &'static [&'static str],
    /// The metric it offers for each checklist item it can cover.
    pub provides: &'static [(Item, &'static str)],
    /// Why it cannot cover checklist items it does not provide.
    pub gaps: &'static [(Item, &'static str)],
}

impl Exporter {
    /// Why the exporter cannot cover `item`, if it says.
    pub fn gap(&self, item: Item) -> Option<&'static str> {
        self.gaps
            .iter()
            .find(|(i, _)| *i == item)
            .map(|(_, why)| *why)
    }
}

/// The production checklist of alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Clients,
    Queued,
    LatencyP99,
    AuthFailures,
    Cpu,
    Memory,
}

pub struct ChecklistItem {
    pub item: Item,
    /// The key of its thresholds in the spec (`monitoring.alerts.<key>_warning`).
    pub key: &'static str,
    pub title: &'static str,
    /// The checklist's thresholds.
    pub thresholds: &'static str,
    /// Metrics that measure it (exact names, or prefixes ending in `_`).
    pub metrics: &'static [&'static str],
    /// Words in an alert name that say what it watches (used when its
    /// metrics are unknown).
    pub name_hints: &'static [&'static str],
}

pub const CHECKLIST: &[ChecklistItem] = &[
    ChecklistItem {
        item: Item::Clients,
        key: "clients",
        title: "connected clients vs capacity",
        thresholds: "warning at 80% of the declared capacity, critical at 95%",
        metrics: &[
            "broker_clients_connected",
            "emqx_connections_count",
            "emqx_live_connections_count",
        ],
        name_hints: &["connection", "clients"],
    },
    ChecklistItem {
        item: Item::Queued,
        key: "queued",
        title: "queued messages",
        thresholds: "warning above 10k, critical above 50k",
        metrics: &[
            "broker_store_messages_count",
            "broker_messages_stored",
            "emqx_vm_process_messages_in_queues",
        ],
        name_hints: &["queue"],
    },
    ChecklistItem {
        item: Item::LatencyP99,
        key: "latency_p99",
        title: "publish latency P99",
        thresholds: "warning above 50 ms, critical above 200 ms",
        metrics: &[],
        name_hints: &["latency"],
    },
    ChecklistItem {
        item: Item::AuthFailures,
        key: "auth_failures",
        title: "authentication failures",
        thresholds: "warning above 100/min, critical above 500/min",
        metrics: &[
            "emqx_authentication_failure",
            "emqx_packets_connack_auth_error",
            "emqx_authn_failed",
        ],
        name_hints: &["auth", "login"],
    },
    ChecklistItem {
        item: Item::Cpu,
        key: "cpu",
        title: "broker CPU",
        thresholds: "warning above 70%, critical above 90%",
        metrics: &[
            "node_cpu_seconds_total",
            "emqx_vm_cpu_use",
            "emqx_vm_cpu_idle",
            "process_cpu_seconds_total",
        ],
        name_hints: &["cpu"],
    },
    ChecklistItem {
        item: Item::Memory,
        key: "memory",
        title: "memory",
        thresholds: "warning above 80%, critical above 95%",
        metrics: &[
            "node_memory_",
            "emqx_vm_used_memory",
            "emqx_vm_total_memory",
            "process_resident_memory_bytes",
        ],
        name_hints: &["memory", "oom"],
    },
];

pub fn checklist(item: Item) -> &'static ChecklistItem {
    CHECKLIST
        .iter()
        .find(|c| c.item == item)
        .expect("every item is in the checklist")
}

/// What publish latency needs, since no exporter here serves it.
pub const LATENCY_GAP: &str = "no exporter mqttforge knows serves a publish-latency histogram (mosquitto-exporter, EMQX 5 and rumqttd do not): measure latency with a probe client and alert on the probe's histogram";

/// The checklist items an alert watches: by its metrics, then (when none of
/// its metrics is known) by words in its name.
pub fn covers(name: &str, expr: &str) -> Vec<Item> {
    let mut out = Vec::new();
    if crate::formats::promql::histogram_quantile(expr).is_some_and(|q| q >= 0.99) {
        out.push(Item::LatencyP99);
    }
    let metrics = crate::formats::promql::metric_names(expr);
    for c in CHECKLIST {
        let hit = metrics.iter().any(|(m, _)| {
            c.metrics.iter().any(|k| {
                if k.ends_with('_') {
                    m.starts_with(k)
                } else {
                    m == k
                }
            })
        });
        if hit && !out.contains(&c.item) {
            out.push(c.item);
        }
    }
    if out.is_empty() {
        let lower = name.to_ascii_lowercase();
        for c in CHECKLIST {
            if c.name_hints.iter().any(|h| lower.contains(h)) {
                out.push(c.item);
            }
        }
    }
    out
}

/// Paths that do not serve Prometheus text, and what they are.
pub const WRONG_PATHS: &[(&str, &str)] = &[
    (
        "/api/v4/metrics",
        "is EMQX 4.x's management API: JSON, not Prometheus text, and gone in EMQX 5",
    ),
    (
        "/api/v4/stats",
        "is EMQX 4.x's management API: JSON, not Prometheus text, and gone in EMQX 5",
    ),
    (
        "/api/v4/emqx_prometheus",
        "is EMQX 4.x's Prometheus endpoint, which EMQX 5 no longer serves",
    ),
    (
        "/api/v5/metrics",
        "is EMQX 5's JSON metrics API, not Prometheus text",
    ),
    (
        "/api/v5/stats",
        "is EMQX 5's JSON statistics API, not Prometheus text",
    ),
    (
        "/api/v5/monitor",
        "is EMQX 5's JSON monitoring API, not Prometheus text",
    ),
    (
        "/api/v5/prometheus",
        "is EMQX 5's Prometheus *settings* API (JSON), not the metrics",
    ),
];

pub const EXPORTERS: &[Exporter] = &[
    Exporter {
        name: "mosquitto-exporter",
        engine: Some(Engine::Mosquitto),
        prefix: "broker_",
        default_port: 9234,
        paths: &["/metrics"],
        job_hints: &["mosquitto"],
        exports: mosquitto_exports,
        names: MOSQUITTO_METRICS,
        provides: &[(Item::Clients, "broker_clients_connected"), (Item::Queued, "broker_store_messages_count")],
        gaps: &[(Item::AuthFailures, "Mosquitto's $SYS tree (what mosquitto-exporter turns into metrics) has no authentication-failure counter")],
    },
    Exporter {
        name: "EMQX 5",
        engine: Some(Engine::Emqx),
        prefix: "emqx_",
        default_port: 18083,
        paths: &[
            "/api/v5/prometheus/stats",
            "/api/v5/prometheus/auth",
            "/api/v5/prometheus/data_integration",
            "/api/v5/prometheus/schema_validation",
            "/api/v5/prometheus/message_transformation",
        ],
        job_hints: &["emqx"],
        exports: emqx_exports,
        names: EMQX_METRICS,
        provides: &[
            (Item::Clients, "emqx_live_connections_count"),
            (Item::Queued, "emqx_vm_process_messages_in_queues"),
            (Item::AuthFailures, "emqx_authentication_failure"),
            (Item::Cpu, "emqx_vm_cpu_use"),
            (Item::Memory, "emqx_vm_used_memory"),
        ],
        gaps: &[],
    },
    Exporter {
        name: "node_exporter",
        engine: None,
        prefix: "node_",
        default_port: 9100,
        paths: &["/metrics"],
        job_hints: &["node"],
        exports: |_| true,
        names: &[],
        provides: &[(Item::Cpu, "node_cpu_seconds_total"), (Item::Memory, "node_memory_MemAvailable_bytes")],
        gaps: &[],
    },
    Exporter {
        name: "rumqttd",
        engine: Some(Engine::Rumqttd),
        prefix: "",
        default_port: 9042,
        paths: &["/metrics"],
        job_hints: &["rumqttd"],
        exports: |_| true,
        names: &[],
        provides: &[],
        gaps: &[
            (Item::Clients, "rumqttd's metrics carry no stable per-broker client count"),
            (Item::Queued, "rumqttd's metrics carry no stable per-broker queue length"),
            (Item::AuthFailures, "rumqttd's metrics carry no authentication-failure counter"),
        ],
    },
];

/// The exporter whose namespace a metric name is in.
pub fn exporter_of_metric(name: &str) -> Option<&'static Exporter> {
    EXPORTERS
        .iter()
        .find(|e| !e.prefix.is_empty() && name.starts_with(e.prefix))
}

pub fn exporter_of_engine(engine: Engine) -> Option<&'static Exporter> {
    EXPORTERS.iter().find(|e| e.engine == Some(engine))
}

/// The port of a `host:port` target.
pub fn target_port(target: &str) -> Option<u16> {
    let (_, port) = target.rsplit_once(':')?;
    port.trim_end_matches(']').parse().ok()
}

/// The exporter a scrape job collects: by its path (EMQX's API paths), the
/// default port of its targets, then the words of its job name.
pub fn exporter_of_job(job: &ScrapeJobFact) -> Option<&'static Exporter> {
    let path = job.metrics_path.trim_end_matches('/');
    if path.starts_with("/api/v5/prometheus") || WRONG_PATHS.iter().any(|(p, _)| *p == path) {
        return EXPORTERS.iter().find(|e| e.engine == Some(Engine::Emqx));
    }
    if let Some(e) = EXPORTERS.iter().find(|e| {
        job.targets
            .iter()
            .any(|t| target_port(t) == Some(e.default_port))
    }) {
        return Some(e);
    }
    let name = job.job.to_ascii_lowercase();
    let words: Vec<&str> = name.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    EXPORTERS
        .iter()
        .find(|e| e.job_hints.iter().any(|h| words.contains(h)))
        // The name is a hint, not proof: a job whose path and target ports
        // are both another's scrapes another exporter (there are several
        // `mosquitto-exporter`s, on other ports and paths).
        .filter(|e| {
            path.is_empty()
                || e.paths.contains(&path)
                || job.targets.is_empty()
                || job.targets.iter().any(|t| target_port(t).is_none())
        })
}

/// Deprecated `$SYS` aliases mosquitto-exporter skips, and their replacement.
pub const MOSQUITTO_DEPRECATED: &[(&str, &str)] = &[
    ("broker_clients_active", "broker_clients_connected"),
    ("broker_clients_inactive", "broker_clients_disconnected"),
];

/// Mosquitto 2.0 `$SYS/broker/...` topics as mosquitto-exporter names them
/// (the `load/*` averages are built from [`MOSQUITTO_LOADS`]).
pub const MOSQUITTO_METRICS: &[&str] = &[
    "broker_bytes_received",
    "broker_bytes_sent",
    "broker_clients_connected",
    "broker_clients_disconnected",
    "broker_clients_expired",
    "broker_clients_maximum",
    "broker_clients_total",
    "broker_heap_current",
    "broker_heap_maximum",
    "broker_messages_inflight",
    "broker_messages_received",
    "broker_messages_sent",
    "broker_messages_stored",
    "broker_store_messages_count",
    "broker_store_messages_bytes",
    "broker_publish_bytes_received",
    "broker_publish_bytes_sent",
    "broker_publish_messages_dropped",
    "broker_publish_messages_received",
    "broker_publish_messages_sent",
    "broker_retained_messages_count",
    "broker_subscriptions_count",
    "broker_shared_subscriptions_count",
    "broker_uptime",
    "broker_packet_out_count",
    "broker_packet_out_bytes",
    "broker_connections_socket_count",
];

/// `$SYS/broker/load/<what>/<1min|5min|15min>`.
pub const MOSQUITTO_LOADS: &[&str] = &[
    "messages_received",
    "messages_sent",
    "publish_dropped",
    "publish_received",
    "publish_sent",
    "bytes_received",
    "bytes_sent",
    "sockets",
    "connections",
];

fn mosquitto_exports(name: &str) -> bool {
    if MOSQUITTO_METRICS.contains(&name) {
        return true;
    }
    // Bridges: $SYS/broker/connection/<name>/state.
    if name.starts_with("broker_connection_") {
        return true;
    }
    if let Some(rest) = name.strip_prefix("broker_load_") {
        return ["_1min", "_5min", "_15min"].iter().any(|w| {
            rest.strip_suffix(w)
                .is_some_and(|what| MOSQUITTO_LOADS.contains(&what))
        });
    }
    false
}

/// EMQX 5 `/api/v5/prometheus/stats` names.
pub const EMQX_METRICS: &[&str] = &[
    // Stats (gauges).
    "emqx_connections_count",
    "emqx_connections_max",
    "emqx_live_connections_count",
    "emqx_live_connections_max",
    "emqx_sessions_count",
    "emqx_sessions_max",
    "emqx_channels_count",
    "emqx_channels_max",
    "emqx_suboptions_count",
    "emqx_suboptions_max",
    "emqx_subscribers_count",
    "emqx_subscribers_max",
    "emqx_subscriptions_count",
    "emqx_subscriptions_max",
    "emqx_durable_subscriptions_count",
    "emqx_durable_subscriptions_max",
    "emqx_delayed_count",
    "emqx_delayed_max",
    "emqx_cluster_sessions_count",
    "emqx_cluster_sessions_max",
    "emqx_topics_count",
    "emqx_topics_max",
    "emqx_retained_count",
    "emqx_retained_max",
    "emqx_subscriptions_shared_count",
    "emqx_subscriptions_shared_max",
    // VM and cluster (gauges).
    "emqx_vm_cpu_use",
    "emqx_vm_cpu_idle",
    "emqx_vm_run_queue",
    "emqx_vm_process_messages_in_queues",
    "emqx_vm_total_memory",
    "emqx_vm_used_memory",
    "emqx_vm_mnesia_tm_mailbox_size",
    "emqx_vm_broker_pool_max_mailbox_size",
    "emqx_cluster_nodes_running",
    "emqx_cluster_nodes_stopped",
    // Packets and bytes (counters).
    "emqx_bytes_received",
    "emqx_bytes_sent",
    "emqx_packets_received",
    "emqx_packets_sent",
    "emqx_packets_connect",
    "emqx_packets_connack_sent",
    "emqx_packets_connack_error",
    "emqx_packets_connack_auth_error",
    "emqx_packets_subscribe_received",
    "emqx_packets_subscribe_auth_error",
    "emqx_packets_subscribe_error",
    "emqx_packets_suback_sent",
    "emqx_packets_unsubscribe_received",
    "emqx_packets_unsubscribe_error",
    "emqx_packets_unsuback_sent",
    "emqx_packets_publish_received",
    "emqx_packets_publish_sent",
    "emqx_packets_publish_inuse",
    "emqx_packets_publish_error",
    "emqx_packets_publish_auth_error",
    "emqx_packets_publish_dropped",
    "emqx_packets_puback_received",
    "emqx_packets_puback_sent",
    "emqx_packets_puback_inuse",
    "emqx_packets_puback_missed",
    "emqx_packets_pubrec_received",
    "emqx_packets_pubrec_sent",
    "emqx_packets_pubrec_inuse",
    "emqx_packets_pubrec_missed",
    "emqx_packets_pubrel_received",
    "emqx_packets_pubrel_sent",
    "emqx_packets_pubrel_missed",
    "emqx_packets_pubcomp_received",
    "emqx_packets_pubcomp_sent",
    "emqx_packets_pubcomp_inuse",
    "emqx_packets_pubcomp_missed",
    "emqx_packets_pingreq_received",
    "emqx_packets_pingresp_sent",
    "emqx_packets_disconnect_received",
    "emqx_packets_disconnect_sent",
    "emqx_packets_auth_received",
    "emqx_packets_auth_sent",
    // Messages and delivery (counters).
    "emqx_messages_received",
    "emqx_messages_sent",
    "emqx_messages_qos0_received",
    "emqx_messages_qos0_sent",
    "emqx_messages_qos1_received",
    "emqx_messages_qos1_sent",
    "emqx_messages_qos2_received",
    "emqx_messages_qos2_sent",
    "emqx_messages_publish",
    "emqx_messages_dropped",
    "emqx_messages_dropped_expired",
    "emqx_messages_dropped_no_subscribers",
    "emqx_messages_dropped_quota_exceeded",
    "emqx_messages_dropped_receive_maximum",
    "emqx_messages_forward",
    "emqx_messages_retained",
    "emqx_messages_delayed",
    "emqx_messages_delivered",
    "emqx_messages_acked",
    "emqx_delivery_dropped",
    "emqx_delivery_dropped_no_local",
    "emqx_delivery_dropped_too_large",
    "emqx_delivery_dropped_qos0_msg",
    "emqx_delivery_dropped_queue_full",
    "emqx_delivery_dropped_expired",
    // Clients, sessions, authorization, authentication (counters).
    "emqx_client_connect",
    "emqx_client_connack",
    "emqx_client_connected",
    "emqx_client_authenticate",
    "emqx_client_auth_anonymous",
    "emqx_client_authorize",
    "emqx_client_subscribe",
    "emqx_client_unsubscribe",
    "emqx_client_disconnected",
    "emqx_client_disconnected_reason",
    "emqx_session_created",
    "emqx_session_resumed",
    "emqx_session_takenover",
    "emqx_session_discarded",
    "emqx_session_terminated",
    "emqx_authorization_allow",
    "emqx_authorization_deny",
    "emqx_authorization_cache_hit",
    "emqx_authorization_cache_miss",
    "emqx_authorization_superuser",
    "emqx_authorization_nomatch",
    "emqx_authorization_matched_allow",
    "emqx_authorization_matched_deny",
    "emqx_authentication_success",
    "emqx_authentication_success_anonymous",
    "emqx_authentication_failure",
    // Others.
    "emqx_cert_expiry_at",
    "emqx_license_expiry_at",
    "emqx_conf_sync_txid",
];

/// EMQX 5 namespaces served by the other `/api/v5/prometheus/*` paths or
/// present only with optional features; names under them are accepted.
const EMQX_OPEN_PREFIXES: &[&str] = &[
    "emqx_authn_",
    "emqx_authz_",
    "emqx_rule_",
    "emqx_action_",
    "emqx_connector_",
    "emqx_schema_validation_",
    "emqx_message_transformation_",
    "emqx_overload_protection_",
    "emqx_mria_",
    "emqx_ds_",
    "emqx_instr_",
];

fn emqx_exports(name: &str) -> bool {
    EMQX_METRICS.contains(&name) || EMQX_OPEN_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_exporters() {
        assert!(mosquitto_exports("broker_clients_connected"));
        assert!(mosquitto_exports("broker_load_publish_dropped_15min"));
        assert!(!mosquitto_exports("broker_load_publish_dropped_2min"));
        assert!(!mosquitto_exports("broker_clients_connected_total"));
        assert!(mosquitto_exports("broker_connection_bridge1_state"));
        assert!(emqx_exports("emqx_live_connections_count"));
        assert!(emqx_exports("emqx_authn_total"));
        assert!(!emqx_exports("emqx_connections"));
        assert!(!emqx_exports("emqx_messages_received_total"));
    }

    #[test]
    fn checklist_coverage() {
        assert_eq!(
            covers("X", "sum(emqx_live_connections_count) > 1"),
            [Item::Clients]
        );
        assert_eq!(
            covers(
                "X",
                "histogram_quantile(0.99, sum(rate(probe_bucket[5m])) by (le)) > 0.05"
            ),
            [Item::LatencyP99]
        );
        assert_eq!(covers("HighCPU", "my_cpu > 1"), [Item::Cpu]);
        assert_eq!(
            covers(
                "X",
                "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 80"
            ),
            [Item::Memory]
        );
        assert!(covers("Something", "up == 0").is_empty());
    }

    #[test]
    fn every_checklist_metric_is_exported() {
        for e in EXPORTERS {
            for (item, metric) in e.provides {
                assert!((e.exports)(metric), "{} does not export {metric}", e.name);
                assert!(
                    covers("", &format!("{metric} > 1")).contains(item),
                    "{metric}"
                );
            }
        }
    }

    #[test]
    fn every_item_of_an_engine_is_provided_or_a_named_gap() {
        let node = EXPORTERS
            .iter()
            .find(|e| e.name == "node_exporter")
            .unwrap();
        for e in EXPORTERS.iter().filter(|e| e.engine.is_some()) {
            for c in CHECKLIST.iter().filter(|c| c.item != Item::LatencyP99) {
                let provided = e
                    .provides
                    .iter()
                    .chain(node.provides)
                    .any(|(i, _)| *i == c.item);
                assert!(
                    provided || e.gap(c.item).is_some(),
                    "{}: {} is neither provided nor a gap",
                    e.name,
                    c.key
                );
            }
        }
    }

    #[test]
    fn jobs_name_their_exporter() {
        let job = |name: &str, path: &str, target: &str| ScrapeJobFact {
            job: name.into(),
            metrics_path: path.into(),
            targets: vec![target.into()],
            span: crate::source::Span::point(&crate::source::SourceFile::new("t", "x"), 1, 1),
        };
        assert_eq!(
            exporter_of_job(&job("x", "/api/v4/metrics", "h:18083"))
                .unwrap()
                .name,
            "EMQX 5"
        );
        assert_eq!(
            exporter_of_job(&job("brokers", "/metrics", "h:9234"))
                .unwrap()
                .name,
            "mosquitto-exporter"
        );
        assert_eq!(
            exporter_of_job(&job("node", "/metrics", "h:9999"))
                .unwrap()
                .name,
            "node_exporter"
        );
        assert!(exporter_of_job(&job("app", "/metrics", "h:8080")).is_none());
        assert!(exporter_of_job(&job("nodered", "/api/metrics", "h:1880")).is_none());
        assert_eq!(
            exporter_of_job(&job("mosquitto-exporter", "/metrics", "h:1"))
                .unwrap()
                .name,
            "mosquitto-exporter"
        );
        // Another exporter of the same name: its own port and path.
        assert!(exporter_of_job(&job(
            "mosquitto-exporter-job",
            "/prometheus-metrics",
            "mosquitto-exporter:9180"
        ))
        .is_none());
        assert_eq!(target_port("[::1]:9100"), Some(9100));
    }
}
