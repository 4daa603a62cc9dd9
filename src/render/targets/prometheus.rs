//! Prometheus: the scrape config (targets from nodes, the engine's real
//! metrics path and exporter), the checklist alert rules with thresholds from
//! the declared capacity, and a `promtool test rules` file proving each alert
//! fires above its threshold and not at or below it.

use serde::Serialize;
use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::derive::Thresholds;
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::model::Engine;

/// How an engine shows queued messages.
#[derive(Clone, Copy, Debug)]
pub enum QueueMetric {
    /// A gauge of messages held for delivery on a node (compared with the
    /// spec's `queued_warning`/`queued_critical`).
    Gauge(&'static str),
    /// A counter of messages dropped because a client's queue was full (the
    /// engine has no queue-length gauge): any drop warns, a whole queue's
    /// worth (`limits.max_queued`) within 5 minutes is critical.
    OverflowCounter(&'static str),
}

/// Where an engine's metrics come from and what they are called.
pub struct EngineMetrics {
    pub engine: Engine,
    pub job: &'static str,
    pub default_port: u16,
    pub path: &'static str,
    /// Gauge: connected clients of a node.
    pub clients: Option<&'static str>,
    /// What shows messages piling up in clients' queues.
    pub queued: Option<QueueMetric>,
    /// Counter: failed authentications.
    pub auth_failures: Option<&'static str>,
    /// Counters: messages received from and sent to clients (dashboards).
    pub messages: Option<(&'static str, &'static str)>,
    /// Why a checklist alert is missing, when it is.
    pub gaps: &'static str,
}

pub const ENGINE_METRICS: &[EngineMetrics] = &[
    EngineMetrics {
        engine: Engine::Mosquitto,
        job: "mosquitto",
        default_port: 9234,
        path: "/metrics",
        clients: Some("broker_clients_connected"),
        queued: Some(QueueMetric::Gauge("broker_store_messages_count")),
        auth_failures: None,
        messages: Some(("broker_messages_received", "broker_messages_sent")),
        gaps: "Mosquitto's $SYS tree (what mosquitto-exporter turns into metrics) has no authentication-failure counter and no publish latency: watch auth failures in the broker log (connection_messages is on), latency with a probe",
    },
    EngineMetrics {
        engine: Engine::Emqx,
        job: "emqx",
        default_port: 18083,
        path: "/api/v5/prometheus/stats",
        clients: Some("emqx_live_connections_count"),
        // emqx_vm_process_messages_in_queues counts Erlang process
        // mailboxes, not clients' queued messages; EMQX 5.8 has no gauge of
        // those.
        queued: Some(QueueMetric::OverflowCounter("emqx_delivery_dropped_queue_full")),
        auth_failures: Some("emqx_authentication_failure"),
        messages: Some(("emqx_messages_received", "emqx_messages_sent")),
        gaps: "EMQX 5's Prometheus endpoint exports no publish-latency histogram: measure latency with a probe client",
    },
    EngineMetrics {
        engine: Engine::Rumqttd,
        job: "rumqttd",
        default_port: 9042,
        path: "/metrics",
        clients: None,
        queued: None,
        auth_failures: None,
        messages: None,
        gaps: "rumqttd's metrics carry no stable per-broker client, queue or authentication names: only host alerts are generated for the bundled broker",
    },
];

pub fn engine_metrics(engine: Engine) -> &'static EngineMetrics {
    ENGINE_METRICS
        .iter()
        .find(|m| m.engine == engine)
        .expect("every engine has metrics")
}

/// node_exporter, for CPU and memory.
pub const NODE_EXPORTER_PORT: u16 = 9100;

#[derive(Serialize)]
struct Alert {
    name: String,
    severity: &'static str,
    expr: String,
    #[serde(rename = "for")]
    for_: &'static str,
    summary: String,
    /// Labels the alert carries besides severity and site (from the series).
    labels: Vec<(String, String)>,
    test: AlertTest,
}

/// A promtool test: the series sits just at or below the threshold, then just
/// above it; the alert must be silent first and firing after.
#[derive(Serialize)]
struct AlertTest {
    series: Vec<(String, String)>,
    quiet_at: &'static str,
    firing_at: &'static str,
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Values for a gauge: `below` from 0m to 15m, then `above` from 16m to 46m.
fn step(below: f64, above: f64) -> String {
    format!("{}x15 {}x30", num(below), num(above))
}

/// A counter growing by `below_per_min` per minute until 15m, then by `above_per_min`.
fn counter(below_per_min: f64, above_per_min: f64) -> String {
    let mid = below_per_min * 15.0;
    format!(
        "0+{}x15 {}+{}x30",
        num(below_per_min),
        num(mid + above_per_min),
        num(above_per_min)
    )
}

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let d = &ctx.derived;
    let m = engine_metrics(site.spec.engine);
    let exporter_port = site
        .spec
        .monitoring
        .as_ref()
        .and_then(|mo| mo.prometheus.as_ref())
        .and_then(|p| p.exporter_port)
        .unwrap_or(m.default_port);
    let broker_targets: Vec<String> = d
        .nodes
        .iter()
        .map(|n| format!("{}:{exporter_port}", n.address))
        .collect();
    let node_targets: Vec<String> = d
        .nodes
        .iter()
        .map(|n| format!("{}:{NODE_EXPORTER_PORT}", n.address))
        .collect();
    let broker = BrokerSeries {
        job: m.job,
        instance: broker_targets.first().cloned().unwrap_or_default(),
    };
    let host = node_targets.first().cloned().unwrap_or_default();
    let t = &d.thresholds;
    let mut alerts = client_alerts(m, t, site.spec.capacity.clients, &broker);
    match m.queued {
        Some(QueueMetric::Gauge(metric)) => {
            alerts.extend(queued_gauge_alerts(metric, t, &broker.of(metric)));
        }
        Some(QueueMetric::OverflowCounter(metric)) => alerts.extend(queue_overflow_alerts(
            metric,
            d.limits.max_queued,
            &broker.of(metric),
        )),
        None => {}
    }
    alerts.extend(auth_failure_alerts(m, t, &broker));
    alerts.extend(cpu_alerts(t, &host));
    alerts.extend(memory_alerts(t, &host));
    let l = ctx.layout.host("prometheus");
    let i = &ctx.installed;
    let host = ["prometheus"];
    let scrape = json!({
        "site": site.name(),
        "interval": format!("{}s", d.scrape_interval_s),
        "rule_file": l.prometheus("rules/mqttforge.rules.yml"),
        "job": m.job,
        "path": m.path,
        "broker_targets": broker_targets,
        "node_targets": node_targets,
    });
    let rules = json!({"site": site.name(), "alerts": alerts, "gaps": m.gaps});
    Ok(vec![
        Artifact::config(
            "prometheus/prometheus.yml",
            "prometheus/prometheus.yml.j2",
            Comment::Hash,
            scrape,
        )
        .installed_at(i.prometheus("prometheus.yml"), &host),
        Artifact::config(
            "prometheus/rules/mqttforge.rules.yml",
            "prometheus/rules.yml.j2",
            Comment::Hash,
            rules.clone(),
        )
        .installed_at(i.prometheus("rules/mqttforge.rules.yml"), &host),
        Artifact::config(
            "prometheus/rules/mqttforge.rules.test.yml",
            "prometheus/rules.test.yml.j2",
            Comment::Hash,
            rules,
        )
        .installed_at(i.prometheus("rules/mqttforge.rules.test.yml"), &host),
    ])
}

/// A broker metric's series on the first node, for promtool tests.
struct BrokerSeries {
    job: &'static str,
    instance: String,
}

impl BrokerSeries {
    fn of(&self, metric: &str) -> String {
        format!(
            "{metric}{{job=\"{}\",instance=\"{}\"}}",
            self.job, self.instance
        )
    }
}

/// Connected clients above a share of the declared capacity.
fn client_alerts(
    m: &EngineMetrics,
    t: &Thresholds,
    capacity: u64,
    broker: &BrokerSeries,
) -> Vec<Alert> {
    let Some(metric) = m.clients else {
        return Vec::new();
    };
    [
        ("warning", t.clients_warning, t.clients_warning_pct),
        ("critical", t.clients_critical, t.clients_critical_pct),
    ]
    .into_iter()
    .map(|(sev, count, pct)| Alert {
        name: format!("MQTTConnections{}", cap(sev)),
        severity: sev,
        expr: format!("sum({metric}) > {count}"),
        for_: "5m",
        summary: format!(
            "Connected clients above {}% of the declared capacity ({count} of {capacity})",
            num(pct),
        ),
        labels: Vec::new(),
        test: AlertTest {
            series: vec![(broker.of(metric), step(count as f64, count as f64 + 1.0))],
            quiet_at: "15m",
            firing_at: "40m",
        },
    })
    .collect()
}

/// Authentication failures per minute.
fn auth_failure_alerts(m: &EngineMetrics, t: &Thresholds, broker: &BrokerSeries) -> Vec<Alert> {
    let Some(metric) = m.auth_failures else {
        return Vec::new();
    };
    [
        ("warning", t.auth_failures_warning),
        ("critical", t.auth_failures_critical),
    ]
    .into_iter()
    .map(|(sev, per_min)| Alert {
        name: format!("MQTTAuthFailures{}", cap(sev)),
        severity: sev,
        // rate() is per second: times 60 compares it with a per-minute figure.
        expr: format!("sum(rate({metric}[5m])) * 60 > {per_min}"),
        for_: "5m",
        summary: format!("More than {per_min} authentication failures per minute"),
        labels: Vec::new(),
        test: AlertTest {
            series: vec![(
                broker.of(metric),
                counter(per_min as f64 * 0.9, per_min as f64 * 1.1),
            )],
            quiet_at: "15m",
            firing_at: "30m",
        },
    })
    .collect()
}

/// Broker host CPU, from node_exporter.
fn cpu_alerts(t: &Thresholds, host: &str) -> Vec<Alert> {
    let idle = |used: f64| ((100.0 - used) / 100.0 * 60.0 * 1000.0).round() / 1000.0;
    [("warning", t.cpu_warning), ("critical", t.cpu_critical)]
        .into_iter()
        .map(|(sev, pct)| Alert {
            name: format!("MQTTBrokerCPU{}", cap(sev)),
            severity: sev,
            expr: format!("100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{job=\"node\",mode=\"idle\"}}[5m]))) > {}", num(pct)),
            for_: "10m",
            summary: format!("Broker host CPU above {}%", num(pct)),
            labels: vec![("instance".into(), host.to_string())],
            test: AlertTest {
                series: vec![(
                    format!("node_cpu_seconds_total{{job=\"node\",instance=\"{host}\",cpu=\"0\",mode=\"idle\"}}"),
                    counter(idle(pct - 1.0), idle((pct + 1.0).min(100.0))),
                )],
                quiet_at: "15m",
                firing_at: "40m",
            },
        })
        .collect()
}

/// Broker host memory, from node_exporter.
fn memory_alerts(t: &Thresholds, host: &str) -> Vec<Alert> {
    const TOTAL: f64 = 1_000_000.0;
    let available = |used: f64| (TOTAL * (100.0 - used) / 100.0).round();
    [("warning", t.memory_warning), ("critical", t.memory_critical)]
        .into_iter()
        .map(|(sev, pct)| Alert {
            name: format!("MQTTBrokerMemory{}", cap(sev)),
            severity: sev,
            expr: format!("100 * (1 - node_memory_MemAvailable_bytes{{job=\"node\"}} / node_memory_MemTotal_bytes{{job=\"node\"}}) > {}", num(pct)),
            for_: "5m",
            summary: format!("Broker host memory above {}%", num(pct)),
            labels: vec![("instance".into(), host.to_string()), ("job".into(), "node".into())],
            test: AlertTest {
                series: vec![
                    (format!("node_memory_MemTotal_bytes{{job=\"node\",instance=\"{host}\"}}"), step(TOTAL, TOTAL)),
                    (
                        format!("node_memory_MemAvailable_bytes{{job=\"node\",instance=\"{host}\"}}"),
                        step(available(pct - 0.5), available((pct + 0.5).min(100.0))),
                    ),
                ],
                quiet_at: "15m",
                firing_at: "40m",
            },
        })
        .collect()
}

fn queued_gauge_alerts(metric: &str, t: &Thresholds, series: &str) -> Vec<Alert> {
    [
        ("warning", t.queued_warning),
        ("critical", t.queued_critical),
    ]
    .into_iter()
    .map(|(sev, limit)| Alert {
        name: format!("MQTTQueuedMessages{}", cap(sev)),
        severity: sev,
        expr: format!("max({metric}) > {limit}"),
        for_: "5m",
        summary: format!("More than {limit} messages queued on a broker"),
        labels: Vec::new(),
        test: AlertTest {
            series: vec![(series.to_string(), step(limit as f64, limit as f64 + 1.0))],
            quiet_at: "15m",
            firing_at: "40m",
        },
    })
    .collect()
}

/// Messages dropped because a client's queue (`max_queued` long) was full.
fn queue_overflow_alerts(metric: &str, max_queued: u64, series: &str) -> Vec<Alert> {
    let per_min = max_queued as f64 / 5.0;
    [
        (
            "warning",
            0,
            "Messages dropped because a client's queue was full".to_string(),
            counter(0.0, 1.0),
        ),
        (
            "critical",
            max_queued,
            format!("More than {max_queued} messages (a whole client queue) dropped in 5 minutes because queues were full"),
            counter(per_min * 0.9, per_min * 1.1),
        ),
    ]
    .into_iter()
    .map(|(sev, limit, summary, values)| Alert {
        name: format!("MQTTQueueOverflow{}", cap(sev)),
        severity: sev,
        expr: format!("sum(increase({metric}[5m])) > {limit}"),
        for_: "1m",
        summary,
        labels: Vec::new(),
        test: AlertTest {
            series: vec![(series.to_string(), values)],
            quiet_at: "15m",
            firing_at: "30m",
        },
    })
    .collect()
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}
