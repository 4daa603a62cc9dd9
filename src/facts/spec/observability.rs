//! Observability and performance facts of a site: capacity, monitoring
//! (dashboards, tracing, logs), the scrape jobs and alerts of the rendered
//! Prometheus files, where the broker serves its own metrics, the rendered
//! sysctls, LimitNOFILE and boot-time modules, connection totals, and
//! whether a load test is declared.
//!
//! Rendered files have no positions a user edits, so every fact points at
//! the spec value that drives it: thresholds at `monitoring.alerts.*` (or
//! `capacity.clients`), the broker scrape job at `exporter_port`, backlog
//! sysctls at `limits.connect_rate`, congestion control at
//! `os.congestion_control`, and so on.

use super::Input;
use crate::facts::exporters;
use crate::facts::prometheus_files as files;
use crate::facts::{AlertFact, CapacityFact, Facts, MonitoringFact, ScrapeJobFact, SysctlFact};
use crate::formats::hocon;
use crate::formats::yaml::load_yaml;
use crate::source::{SourceFile, Span};
use crate::spec::model::{Engine, RedundancyMode};

const PROMETHEUS_YML: &str = "prometheus/prometheus.yml";
const RULES_YML: &str = "prometheus/rules/mqttforge.rules.yml";
const SYSCTL_CONF: &str = "os/sysctl.d/99-mqttforge.conf";
const MODULES_CONF: &str = "os/modules-load.d/mqttforge.conf";

/// LimitNOFILE of each engine's packaged service when no drop-in raises it
/// (rumqttd has no packaged unit: its limit is whatever starts it).
const SERVICE_DEFAULTS: &[(Engine, u64, &str)] = &[
    (Engine::Mosquitto, 1024, "mosquitto.service (Debian's unit) sets no LimitNOFILE, so systemd's default soft limit applies"),
    (Engine::Emqx, 1_048_576, "EMQX's packaged emqx.service sets LimitNOFILE=1048576"),
];

pub fn extract(input: &Input<'_>, facts: &mut Facts) {
    let rate_span = capacity(input, facts);
    monitoring(input, facts);
    thresholds(input, facts);
    // Where alerts live, or should.
    let prometheus_span = prometheus_span(input);
    facts.obs.rule_files.push(prometheus_span.clone());
    scrape_jobs(input, facts, &prometheus_span);
    alerts(input, facts, &prometheus_span);
    broker_metrics(input, facts);
    sysctls(input, facts, &rate_span);
    nofile(input, facts);
    modules(input, facts);
    connections(input, facts);
}

fn has(input: &Input<'_>, pointer: &str) -> bool {
    input.site.spans.get(pointer).is_some()
}

/// Capacity: what the site declares; the connect rate a node must take.
/// Returns where the connect rate comes from.
fn capacity(input: &Input<'_>, facts: &mut Facts) -> Span {
    let spec = &input.site.spec;
    facts.capacity = Some(CapacityFact {
        clients: spec.capacity.clients,
        connect_rate_per_s: Some(input.derived.limits.connect_rate_per_s as f64),
        max_payload: spec.capacity.max_payload.bytes(),
        span: input.span("/capacity/clients"),
    });
    facts.obs.max_payload_span = Some(input.span("/capacity/max_payload"));
    let declared = has(input, "/limits/connect_rate");
    let rate_span = if declared {
        input.span("/limits/connect_rate")
    } else {
        input.span("/capacity/clients")
    };
    facts.obs.connect_rate_source = Some(if declared {
        (rate_span.clone(), "connect rate declared here".to_string())
    } else {
        (rate_span.clone(), "connect rate derived from the capacity (a node's clients reconnecting within a minute)".to_string())
    });
    rate_span
}

/// Dashboards, tracing, central logs; a declared load test.
fn monitoring(input: &Input<'_>, facts: &mut Facts) {
    let spec = &input.site.spec;
    if let Some(m) = &spec.monitoring {
        facts.monitoring = MonitoringFact {
            dashboards: m.dashboards.is_some(),
            tracing: m.tracing.is_some(),
            logs: m.logs.is_some(),
            span: Some(input.key_span("/monitoring")),
            tracing_url: m
                .tracing
                .as_ref()
                .map(|u| (u.0.clone(), input.span("/monitoring/tracing"))),
            logs_url: m
                .logs
                .as_ref()
                .map(|u| (u.0.clone(), input.span("/monitoring/logs"))),
        };
    }
    if spec.load_test.is_some() {
        facts.load_test = Some(input.key_span("/load_test"));
    }
}

/// Thresholds the spec sets.
fn thresholds(input: &Input<'_>, facts: &mut Facts) {
    for item in exporters::CHECKLIST {
        for level in ["warning", "critical"] {
            let p = format!("/monitoring/alerts/{}_{level}", item.key);
            if has(input, &p) {
                facts
                    .obs
                    .thresholds
                    .push((item.key.to_string(), input.span(&p)));
            }
        }
    }
}

/// `monitoring.prometheus`, else `monitoring`, else `environment`.
fn prometheus_span(input: &Input<'_>) -> Span {
    if has(input, "/monitoring/prometheus") {
        input.key_span("/monitoring/prometheus")
    } else if has(input, "/monitoring") {
        input.key_span("/monitoring")
    } else {
        input.span("/environment")
    }
}

/// Scrape jobs of the rendered prometheus.yml; the broker's at `exporter_port`.
fn scrape_jobs(input: &Input<'_>, facts: &mut Facts, prometheus_span: &Span) {
    let Some(doc) = rendered_yaml(input, PROMETHEUS_YML) else {
        return;
    };
    let port_span = if has(input, "/monitoring/prometheus/exporter_port") {
        input.span("/monitoring/prometheus/exporter_port")
    } else {
        prometheus_span.clone()
    };
    let broker_job = exporters::exporter_of_engine(input.site.spec.engine).map(|e| e.job_hints[0]);
    for job in files::scrape_jobs(&doc) {
        let span = if Some(job.job.as_str()) == broker_job {
            port_span.clone()
        } else {
            prometheus_span.clone()
        };
        facts.scrape_jobs.push(ScrapeJobFact { span, ..job });
    }
}

/// Alerts of the rendered rule file, each at the spec value behind its threshold.
fn alerts(input: &Input<'_>, facts: &mut Facts, prometheus_span: &Span) {
    let Some(doc) = rendered_yaml(input, RULES_YML) else {
        return;
    };
    let (alerts, recorded) = files::rules(&doc);
    facts.obs.recorded.extend(recorded);
    for a in alerts {
        let items = exporters::covers(&a.name, &a.expr);
        let key = items.first().map(|i| exporters::checklist(*i).key);
        let threshold = key
            .zip(a.severity.as_deref())
            .map(|(k, sev)| format!("/monitoring/alerts/{k}_{sev}"));
        let span = match (threshold, key) {
            (Some(p), _) if has(input, &p) => input.span(&p),
            (_, Some("clients")) => input.span("/capacity/clients"),
            _ => prometheus_span.clone(),
        };
        facts.obs.alert_text.push((span.clone(), a.text));
        facts.alerts.push(AlertFact {
            name: a.name,
            expr: a.expr,
            span,
        });
    }
}

/// Where the broker serves its own metrics (EMQX's dashboard listener, rumqttd's [prometheus]).
fn broker_metrics(input: &Input<'_>, facts: &mut Facts) {
    for (path, file) in &input.tree.files {
        let text = String::from_utf8_lossy(&file.contents);
        if path.starts_with("emqx/") && path.ends_with("/emqx.conf") {
            if let Ok(root) = hocon::parse(&text) {
                for (key, _, node) in hocon::flatten(&root) {
                    if key == "dashboard.listeners.http.bind" {
                        if let Some(port) = bind_port(&node) {
                            push_port(facts, port, format!("EMQX's dashboard listener (`dashboard.listeners.http.bind` in {path})"));
                        }
                    }
                }
            }
        } else if path.starts_with("rumqttd/") && path.ends_with(".toml") {
            if let Some(port) = toml_listen(&text, "prometheus") {
                push_port(
                    facts,
                    port,
                    format!("rumqttd's `[prometheus]` listener in {path}"),
                );
            }
        }
    }
}

/// Sysctls, each at the spec value that drives it; without a rendered
/// file, the kernel's defaults.
fn sysctls(input: &Input<'_>, facts: &mut Facts, rate_span: &Span) {
    let Some(file) = input.tree.files.get(SYSCTL_CONF) else {
        facts.obs.kernel_defaults = Some(if has(input, "/os/sysctl") {
            input.span("/os/sysctl")
        } else {
            input.key_span("/capacity")
        });
        return;
    };
    let text = String::from_utf8_lossy(&file.contents);
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let span = match key {
            "net.core.somaxconn" | "net.ipv4.tcp_max_syn_backlog" => rate_span.clone(),
            "net.ipv4.tcp_congestion_control" | "net.core.default_qdisc" => {
                input.span("/os/congestion_control")
            }
            k if k.starts_with("fs.") || k == "net.core.netdev_max_backlog" => {
                input.span("/capacity/clients")
            }
            _ => input.key_span("/os"),
        };
        facts.sysctls.push(SysctlFact {
            key: key.to_string(),
            value: value.trim().to_string(),
            span,
        });
    }
}

/// LimitNOFILE: the rendered drop-in, or the service's own default.
fn nofile(input: &Input<'_>, facts: &mut Facts) {
    let dropin = input
        .tree
        .files
        .iter()
        .find(|(p, _)| p.starts_with("os/systemd/") && p.ends_with("/limits.conf"));
    match dropin.and_then(|(_, f)| limit_nofile(&String::from_utf8_lossy(&f.contents))) {
        Some(n) => facts.nofile = Some((n, input.span("/capacity/clients"))),
        None => {
            let engine = input.site.spec.engine;
            if let Some((_, n, why)) = SERVICE_DEFAULTS.iter().find(|(e, _, _)| *e == engine) {
                facts.nofile = Some((*n, input.span("/engine")));
                facts.obs.nofile_default = Some(format!(
                    "{why} and no drop-in raises it (the spec has no `os` section)"
                ));
            }
        }
    }
}

/// Kernel modules loaded at boot.
fn modules(input: &Input<'_>, facts: &mut Facts) {
    if let Some(file) = input.tree.files.get(MODULES_CONF) {
        let text = String::from_utf8_lossy(&file.contents);
        facts.modules.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
}

/// Connections one broker process accepts, and what the site accepts from devices.
fn connections(input: &Input<'_>, facts: &mut Facts) {
    let spec = &input.site.spec;
    let d = input.derived;
    let per_node: u64 = d.listeners.iter().map(|l| l.max_connections).sum();
    facts.obs.connections_per_node = Some((per_node, input.span("/capacity/clients")));
    let active = match (spec.engine, spec.cluster.as_ref().and_then(|c| c.mode)) {
        (Engine::Mosquitto, Some(RedundancyMode::ActiveStandby)) => 1,
        _ => d.nodes.len().max(1) as u64,
    };
    let device: Vec<(usize, &crate::render::derive::ListenerPlan)> = d
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| l.device_facing)
        .collect();
    if device.is_empty() {
        return;
    }
    let per_node_devices: u64 = device.iter().map(|(_, l)| l.max_connections).sum();
    let names: Vec<String> = device
        .iter()
        .map(|(_, l)| format!("{} on `{}`", l.max_connections, l.name))
        .collect();
    let explicit = device
        .iter()
        .find(|(i, _)| has(input, &format!("/listeners/{i}/max_connections")));
    let span = match explicit {
        Some((i, _)) => input.span(&format!("/listeners/{i}/max_connections")),
        None => input.span("/capacity/clients"),
    };
    let how = format!(
        "{active} active node{} x {}",
        if active == 1 { "" } else { "s" },
        names.join(" + ")
    );
    facts.obs.device_connection_ceiling = Some((per_node_devices * active, how, span));
}

fn rendered_yaml(input: &Input<'_>, path: &str) -> Option<crate::formats::yaml::Document> {
    let file = input.tree.files.get(path)?;
    let text = String::from_utf8(file.contents.clone()).ok()?;
    load_yaml(&SourceFile::new(path, text)).ok()
}

fn push_port(facts: &mut Facts, port: u16, what: String) {
    if !facts
        .obs
        .broker_metrics_ports
        .iter()
        .any(|(p, _)| *p == port)
    {
        facts.obs.broker_metrics_ports.push((port, what));
    }
}

/// The port of a HOCON bind value: `"0.0.0.0:18083"` or `18083`.
fn bind_port(node: &hocon::Node) -> Option<u16> {
    match &node.value {
        hocon::Value::String(s) | hocon::Value::Number(s) => {
            s.rsplit(':').next()?.trim().parse().ok()
        }
        _ => None,
    }
}

/// The port of `listen = "host:port"` in a TOML `[table]`.
fn toml_listen(text: &str, table: &str) -> Option<u16> {
    let mut in_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == format!("[{table}]");
            continue;
        }
        if !in_table {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "listen" {
                return v.trim().trim_matches('"').rsplit(':').next()?.parse().ok();
            }
        }
    }
    None
}

/// `LimitNOFILE=` of a rendered drop-in.
fn limit_nofile(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("LimitNOFILE=")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{self, Derived, RenderOptions, SecretMode};

    fn facts_of(example: &str) -> Facts {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("site-examples")
            .join(example);
        let site = crate::spec::load(&path).expect("example validates");
        let opts = RenderOptions::production(example, SecretMode::Skip);
        let tree = render::render(&site, &opts).expect("example renders");
        let derived = Derived::new(&site, &opts.placement());
        crate::facts::spec::facts(&site, &derived, &tree)
    }

    #[test]
    fn an_emqx_cluster() {
        let f = facts_of("emqx-cluster.yaml");
        let c = f.capacity.as_ref().unwrap();
        assert_eq!(
            (c.clients, c.connect_rate_per_s, c.max_payload),
            (300_000, Some(1000.0), 4096)
        );
        assert_eq!(f.scrape_jobs.len(), 2);
        assert_eq!(f.scrape_jobs[0].metrics_path, "/api/v5/prometheus/stats");
        assert_eq!(f.alerts.len(), 10);
        // Connection alerts point at their thresholds in the spec.
        let conn = f
            .alerts
            .iter()
            .find(|a| a.name == "MQTTConnectionsWarning")
            .unwrap();
        assert_eq!(
            conn.span
                .file
                .text
                .lines()
                .nth(conn.span.line - 1)
                .unwrap()
                .trim(),
            "clients_warning: 80%"
        );
        assert_eq!(f.obs.broker_metrics_ports[0].0, 18083);
        assert!(f.sysctl("net.core.somaxconn").is_some());
        assert!(f.modules.contains(&"tcp_bbr".to_string()));
        // One node carries 165000 device connections plus the health and internal listeners.
        assert!(f.nofile.as_ref().unwrap().0 > 166_088);
        assert!(f.obs.nofile_default.is_none());
        assert!(f.load_test.is_some());
        assert!(f.monitoring.dashboards && f.monitoring.tracing && f.monitoring.logs);
        let (ceiling, how, _) = f.obs.device_connection_ceiling.clone().unwrap();
        assert_eq!(ceiling, 3 * 165_000);
        assert!(how.starts_with("3 active nodes"), "{how}");
    }

    #[test]
    fn a_dev_broker() {
        let f = facts_of("dev-rumqttd.yaml");
        assert_eq!(f.obs.broker_metrics_ports[0].0, 9042);
        assert!(f.sysctls.is_empty());
        assert!(f.obs.kernel_defaults.is_some());
        assert!(f.nofile.is_none());
        assert!(f.load_test.is_none());
    }

    /// What the generator renders passes the OBS and PERF rules: at most
    /// info findings (documented gaps, missing tracing, no load test).
    #[test]
    fn the_examples_pass_their_own_rules() {
        for example in [
            "edge-mosquitto.yaml",
            "emqx-cluster.yaml",
            "mosquitto-ha.yaml",
            "dev-rumqttd.yaml",
        ] {
            let f = facts_of(example);
            let diags = crate::lint::run(&f, false, &[]);
            let bad: Vec<String> = diags
                .iter()
                .filter(|d| {
                    (d.code.as_str().starts_with("MQ-OBS-")
                        || d.code.as_str().starts_with("MQ-PERF-"))
                        && d.severity > crate::diag::Severity::Info
                })
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            assert!(bad.is_empty(), "{example}: {bad:#?}");
        }
    }

    #[test]
    fn parsers_of_rendered_bits() {
        assert_eq!(
            toml_listen(
                "[a]\nlisten = \"x:1\"\n[prometheus]\nlisten = \"0.0.0.0:9042\"\n",
                "prometheus"
            ),
            Some(9042)
        );
        assert_eq!(toml_listen("[prometheus]\n", "prometheus"), None);
        assert_eq!(limit_nofile("[Service]\nLimitNOFILE=8192\n"), Some(8192));
        assert_eq!(limit_nofile("garbage"), None);
    }
}
