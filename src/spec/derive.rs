//! Values derived from the spec, computed once and read by every target:
//! per-node connection limits from capacity, LimitNOFILE and sysctls from
//! connections, load-balancer timeouts from the keepalive, alert thresholds
//! from capacity, the health check's CONNECT from code.

use serde::Serialize;

use crate::mqtt::{self, Connect};
use crate::spec::model::{
    ClientCerts, CongestionControl, Engine, Identity, LbKind, LbTls, Listener, ListenerTls,
    LoadBalancer, RedundancyMode, SiteSpec, TlsVersion,
};
use crate::spec::Site;

/// TLS 1.2 suites offered when the spec names none: ECDHE key exchange, AEAD only.
pub const DEFAULT_TLS12_CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
];
/// TLS 1.3 suites offered when the spec names none.
pub const DEFAULT_TLS13_CIPHERS: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
];

/// Connection limit of a loopback-only listener whose limit is not set.
pub const LOOPBACK_MAX_CONNECTIONS: u64 = 1024;
/// Keepalive the health check's CONNECT announces.
pub const HEALTH_CHECK_KEEPALIVE: u16 = 60;
/// How long the load balancer waits for a health check's answer (HAProxy
/// `timeout check`): a silent broker is DOWN after fall x (inter + this).
pub const HEALTH_CHECK_TIMEOUT_S: u64 = 5;

/// Where a variant of the site puts its nodes and listeners: the spec's
/// own values in production; free loopback ports and addresses (or
/// containers' names) in the test variants `verify` renders.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// Ports replacing the spec's: listener name -> port, `lb.<listener>`
    /// -> load-balancer frontend port, `lb.stats` -> stats port.
    pub ports: std::collections::BTreeMap<String, u16>,
    /// Node N at 127.0.0.(11+N), every listener bound there.
    pub loopback: bool,
    /// Node name -> the host name its container answers to.
    pub containers: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodePlan {
    pub name: String,
    /// Where peers, the load balancer and Prometheus reach the node.
    pub address: String,
    pub dns_names: Vec<String>,
    pub index: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct TlsPlan {
    pub min_version: &'static str,
    pub max_version: &'static str,
    /// Only when TLS 1.2 is allowed.
    pub ciphers_tls12: Vec<String>,
    pub ciphers_tls13: Vec<String>,
    pub require_client_cert: bool,
    pub verify_client_cert: bool,
    pub identity_as_username: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ListenerPlan {
    pub name: String,
    pub port: u16,
    /// The address to bind, or None for all interfaces.
    pub bind: Option<String>,
    pub loopback: bool,
    pub websockets: bool,
    pub anonymous: bool,
    pub max_connections: u64,
    pub tls: Option<TlsPlan>,
    /// Reached by devices through the load balancer (not loopback, not the check listener).
    pub device_facing: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct LimitsPlan {
    pub max_inflight: u32,
    pub max_queued: u64,
    pub keepalive_s: u64,
    pub max_packet: u64,
    pub connect_rate_per_s: u64,
    pub message_rate_per_s: Option<f64>,
    pub max_topic_levels: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct PersistencePlan {
    pub enabled: bool,
    pub autosave_s: u64,
    pub session_expiry_s: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealthCheckPlan {
    pub inter_ms: u64,
    /// HAProxy `timeout check`, seconds.
    pub timeout_s: u64,
    pub fall: u32,
    pub rise: u32,
    /// The listener the check connects to.
    pub listener: String,
    pub port: u16,
    pub tls: bool,
    /// The check must present a client certificate.
    pub client_cert: bool,
    pub connect_hex: String,
    pub connack_hex: String,
    pub disconnect_hex: String,
}

impl HealthCheckPlan {
    /// The check interval in whole seconds (at least 1): also NGINX's
    /// `fail_timeout`, the window for `max_fails` and the time a failed
    /// broker stays out of rotation.
    pub fn interval_s(&self) -> u64 {
        self.inter_ms.div_ceil(1000).max(1)
    }

    /// The longest a failed broker can stay UP in the load balancer: fall
    /// checks, each waiting up to its interval and its timeout.
    pub fn down_after_s(&self) -> u64 {
        u64::from(self.fall) * (self.inter_ms.div_ceil(1000) + self.timeout_s)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LbPlan {
    pub kind: LbKind,
    pub terminate_tls: bool,
    pub proxy_protocol: bool,
    pub timeout_s: u64,
    /// How long a connection to a broker may take to open (HAProxy
    /// `timeout connect`, NGINX `proxy_connect_timeout`).
    pub connect_timeout_s: u64,
    pub maxconn: u64,
    pub rate_limit_sessions: u64,
    pub health_check: HealthCheckPlan,
    /// (frontend port, listener) for every device-facing listener.
    pub frontends: Vec<(u16, ListenerPlan)>,
    pub stats_port: Option<u16>,
    pub stats_bind: String,
}

impl LbPlan {
    /// The longest a device's connection is sent to a failed broker. HAProxy
    /// checks actively: until the check marks it DOWN. NGINX open source
    /// checks passively: every connection attempt to the failed broker
    /// waits up to the connect timeout before NGINX tries the next one,
    /// until `max_fails` (the spec's `fall`) failures take it out of
    /// rotation for `fail_timeout`.
    pub fn failover_s(&self) -> u64 {
        match self.kind {
            LbKind::Haproxy => self.health_check.down_after_s(),
            LbKind::Nginx => self.connect_timeout_s,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Thresholds {
    pub clients_warning: u64,
    pub clients_critical: u64,
    pub clients_warning_pct: f64,
    pub clients_critical_pct: f64,
    pub queued_warning: u64,
    pub queued_critical: u64,
    pub latency_p99_warning_s: f64,
    pub latency_p99_critical_s: f64,
    /// Authentication failures per minute.
    pub auth_failures_warning: u64,
    pub auth_failures_critical: u64,
    pub cpu_warning: f64,
    pub cpu_critical: f64,
    pub memory_warning: f64,
    pub memory_critical: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Derived {
    pub nodes: Vec<NodePlan>,
    /// Nodes that must carry the whole load after one failure.
    pub failover_nodes: u64,
    pub clients_per_node: u64,
    pub listeners: Vec<ListenerPlan>,
    pub limits: LimitsPlan,
    pub persistence: PersistencePlan,
    /// The broker service's open-file limit (systemd LimitNOFILE).
    pub nofile: u64,
    pub sysctl: Vec<(String, String)>,
    pub bbr: bool,
    pub lb: Option<LbPlan>,
    pub thresholds: Thresholds,
    pub scrape_interval_s: u64,
}

fn next_pow2(n: u64) -> u64 {
    n.max(1).next_power_of_two()
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

impl Derived {
    pub fn new(site: &Site, opts: &Placement) -> Derived {
        let s = &site.spec;
        let nodes = node_plans(s, opts);
        let failover_nodes = failover_nodes(s, nodes.len() as u64);
        let clients_per_node = ceil_div(s.capacity.clients * 11, 10 * failover_nodes);
        let health_listener = s
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.health_check.listener.as_ref())
            .map(|l| l.0.as_str());
        let listeners: Vec<ListenerPlan> = s
            .listeners
            .iter()
            .map(|l| listener_plan(l, opts, health_listener, clients_per_node))
            .collect();
        let limits = limits_plan(s, clients_per_node);
        let persistence = PersistencePlan {
            enabled: s.persistence.enabled,
            autosave_s: s.persistence.autosave.map(|d| d.secs()).unwrap_or(300),
            session_expiry_s: s
                .persistence
                .session_expiry
                .map(|d| d.secs())
                .unwrap_or(7200),
        };
        let connections: u64 = listeners.iter().map(|l| l.max_connections).sum();
        let nofile = (connections + connections / 10 + 4096).div_ceil(1024) * 1024;
        let bbr =
            s.os.as_ref()
                .is_some_and(|o| o.congestion_control == CongestionControl::Bbr);
        let sysctl = sysctls(nofile, clients_per_node, limits.connect_rate_per_s, bbr);
        let lb = s.load_balancer.as_ref().map(|lb| {
            LbInputs {
                spec: s,
                lb,
                opts,
                listeners: &listeners,
                keepalive_s: limits.keepalive_s,
                connect_rate_per_s: limits.connect_rate_per_s,
                failover_nodes,
            }
            .plan()
        });
        let thresholds = thresholds(s);
        let scrape_interval_s = s
            .monitoring
            .as_ref()
            .and_then(|m| m.prometheus.as_ref())
            .and_then(|p| p.scrape_interval)
            .map(|d| d.secs().max(1))
            .unwrap_or(15);
        Derived {
            nodes,
            failover_nodes,
            clients_per_node,
            listeners,
            limits,
            persistence,
            nofile,
            sysctl,
            bbr,
            lb,
            thresholds,
            scrape_interval_s,
        }
    }

    /// The bind address of a listener on a node: the spec's, or the node's
    /// own loopback address in a test variant ("" marks that case).
    pub fn bind_for(&self, listener: &ListenerPlan, node: &NodePlan) -> Option<String> {
        match &listener.bind {
            Some(b) if b.is_empty() => Some(node.address.clone()),
            other => other.clone(),
        }
    }
}

/// The nodes, where this variant of the site puts them.
fn node_plans(s: &SiteSpec, opts: &Placement) -> Vec<NodePlan> {
    s.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodePlan {
            name: n.name.0.clone(),
            address: match (&opts.containers, opts.loopback) {
                (Some(names), _) => names
                    .get(n.name.as_str())
                    .cloned()
                    .unwrap_or_else(|| n.name.0.clone()),
                (None, true) => format!("127.0.0.{}", 11 + i),
                (None, false) => n.address.0.clone(),
            },
            dns_names: n.dns_names.iter().map(|d| d.0.clone()).collect(),
            index: i,
        })
        .collect()
}

/// Nodes that must carry the whole load after one failure.
fn failover_nodes(s: &SiteSpec, n: u64) -> u64 {
    match (s.engine, s.cluster.as_ref().and_then(|c| c.mode)) {
        (Engine::Mosquitto, Some(RedundancyMode::ActiveStandby)) => 1,
        (Engine::Emqx, _) if n > 1 => n - 1,
        _ => n.max(1),
    }
}

/// One listener: its port and bind in this variant, its connection limit
/// and TLS settings.
fn listener_plan(
    l: &Listener,
    opts: &Placement,
    health_listener: Option<&str>,
    clients_per_node: u64,
) -> ListenerPlan {
    let loopback = l
        .bind
        .as_ref()
        .and_then(|b| b.0.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    let is_check = health_listener == Some(l.name.as_str());
    ListenerPlan {
        name: l.name.0.clone(),
        port: opts.ports.get(l.name.as_str()).copied().unwrap_or(l.port),
        bind: if opts.containers.is_some() {
            None
        } else if opts.loopback {
            Some(String::new())
        } else {
            l.bind.as_ref().map(|b| b.0.clone())
        },
        loopback,
        websockets: l.protocol == crate::spec::model::Protocol::Websockets,
        anonymous: l.anonymous,
        max_connections: l.max_connections.unwrap_or(if loopback {
            LOOPBACK_MAX_CONNECTIONS
        } else {
            clients_per_node
        }),
        tls: l.tls.as_ref().map(tls_plan),
        device_facing: !loopback && !is_check,
    }
}

/// A listener's TLS: the spec's suites, or the defaults.
fn tls_plan(t: &ListenerTls) -> TlsPlan {
    let ciphers12 = match &t.ciphers {
        Some(c) => c.iter().map(|c| c.0.clone()).collect(),
        None => DEFAULT_TLS12_CIPHERS
            .iter()
            .map(|c| c.to_string())
            .collect(),
    };
    TlsPlan {
        min_version: t.min_version.as_str(),
        max_version: t.max_version.as_str(),
        ciphers_tls12: if t.min_version <= TlsVersion::V12 {
            ciphers12
        } else {
            Vec::new()
        },
        ciphers_tls13: match &t.ciphers_tls13 {
            Some(c) => c.iter().map(|c| c.0.clone()).collect(),
            None => DEFAULT_TLS13_CIPHERS
                .iter()
                .map(|c| c.to_string())
                .collect(),
        },
        require_client_cert: t.client_certs == ClientCerts::Required,
        verify_client_cert: t.client_certs != ClientCerts::None,
        identity_as_username: t.identity == Identity::Username,
    }
}

/// Broker limits: the spec's, or defaults sized from capacity.
fn limits_plan(s: &SiteSpec, clients_per_node: u64) -> LimitsPlan {
    let lim = &s.limits;
    let max_packet = lim
        .max_packet
        .map(|b| b.bytes())
        .unwrap_or_else(|| (1u64 << 20).max(s.capacity.max_payload.bytes() + 65_536));
    // Without a declared rate, plan for every client of a node reconnecting within a minute.
    let connect_rate_per_s = lim
        .connect_rate
        .map(|r| r.per_second().ceil() as u64)
        .unwrap_or_else(|| ceil_div(clients_per_node, 60));
    LimitsPlan {
        max_inflight: lim.max_inflight.unwrap_or(32),
        max_queued: lim.max_queued.unwrap_or(10_000),
        keepalive_s: lim.max_keepalive.map(|d| d.secs()).unwrap_or(3600),
        max_packet,
        connect_rate_per_s,
        message_rate_per_s: lim.message_rate.map(|r| r.per_second()),
        max_topic_levels: lim.max_topic_levels.unwrap_or(128),
    }
}

/// Kernel settings sized from the open-file limit and the connect rate.
fn sysctls(
    nofile: u64,
    clients_per_node: u64,
    connect_rate_per_s: u64,
    bbr: bool,
) -> Vec<(String, String)> {
    let backlog = next_pow2(connect_rate_per_s * 2).clamp(4096, 65535);
    let mut sysctl: Vec<(String, String)> = vec![
        (
            "fs.file-max".into(),
            (1u64 << 20).max(next_pow2(nofile * 2)).to_string(),
        ),
        (
            "fs.nr_open".into(),
            (1u64 << 20).max(next_pow2(nofile)).to_string(),
        ),
        ("net.core.somaxconn".into(), backlog.to_string()),
        ("net.ipv4.tcp_max_syn_backlog".into(), backlog.to_string()),
        (
            "net.core.netdev_max_backlog".into(),
            if clients_per_node > 10_000 {
                "65535"
            } else {
                "16384"
            }
            .into(),
        ),
        ("net.core.rmem_max".into(), "134217728".into()),
        ("net.core.wmem_max".into(), "134217728".into()),
        ("net.ipv4.tcp_rmem".into(), "4096 87380 67108864".into()),
        ("net.ipv4.tcp_wmem".into(), "4096 65536 67108864".into()),
        ("net.ipv4.ip_local_port_range".into(), "1024 65535".into()),
        ("net.ipv4.tcp_fin_timeout".into(), "30".into()),
        ("net.ipv4.tcp_keepalive_time".into(), "600".into()),
        ("net.ipv4.tcp_keepalive_intvl".into(), "60".into()),
        ("net.ipv4.tcp_keepalive_probes".into(), "3".into()),
        ("net.ipv4.tcp_fastopen".into(), "3".into()),
    ];
    if bbr {
        sysctl.push(("net.core.default_qdisc".into(), "fq".into()));
        sysctl.push(("net.ipv4.tcp_congestion_control".into(), "bbr".into()));
    }
    sysctl
}

/// What the load balancer's plan is derived from.
/// The load balancer's connect timeout to a broker, seconds.
pub const LB_CONNECT_TIMEOUT_S: u64 = 5;

struct LbInputs<'a> {
    spec: &'a SiteSpec,
    lb: &'a LoadBalancer,
    opts: &'a Placement,
    listeners: &'a [ListenerPlan],
    keepalive_s: u64,
    connect_rate_per_s: u64,
    failover_nodes: u64,
}

impl LbInputs<'_> {
    fn plan(&self) -> LbPlan {
        let (lb, opts) = (self.lb, self.opts);
        let frontends = self
            .listeners
            .iter()
            .filter(|l| l.device_facing)
            .map(|l| {
                let port = opts
                    .ports
                    .get(&format!("lb.{}", l.name))
                    .copied()
                    .unwrap_or(l.port);
                (port, l.clone())
            })
            .collect();
        LbPlan {
            kind: lb.kind,
            terminate_tls: lb.tls == LbTls::Terminate,
            proxy_protocol: lb.proxy_protocol,
            timeout_s: (self.keepalive_s * 3).div_ceil(2).max(60),
            connect_timeout_s: LB_CONNECT_TIMEOUT_S,
            maxconn: self.spec.capacity.clients * 11 / 10,
            rate_limit_sessions: self.connect_rate_per_s * self.failover_nodes,
            health_check: self.health_check(),
            frontends,
            stats_port: lb
                .stats
                .as_ref()
                .map(|st| opts.ports.get("lb.stats").copied().unwrap_or(st.port)),
            stats_bind: "127.0.0.1".into(),
        }
    }

    /// The health check: the named listener, else the first device-facing one.
    fn health_check(&self) -> HealthCheckPlan {
        let hc = &self.lb.health_check;
        let target = hc
            .listener
            .as_ref()
            .and_then(|name| self.listeners.iter().find(|l| l.name == name.0))
            .or_else(|| self.listeners.iter().find(|l| l.device_facing))
            .unwrap_or(&self.listeners[0]);
        HealthCheckPlan {
            inter_ms: hc.interval.map(|d| d.millis()).unwrap_or(10_000),
            timeout_s: HEALTH_CHECK_TIMEOUT_S,
            fall: hc.fall.unwrap_or(3),
            rise: hc.rise.unwrap_or(2),
            listener: target.name.clone(),
            port: target.port,
            tls: target.tls.is_some(),
            client_cert: target.tls.as_ref().is_some_and(|t| t.require_client_cert),
            connect_hex: mqtt::to_hex(&Connect::health_check(HEALTH_CHECK_KEEPALIVE).encode()),
            connack_hex: mqtt::to_hex(&mqtt::CONNACK_ACCEPTED),
            disconnect_hex: mqtt::to_hex(&mqtt::DISCONNECT),
        }
    }
}

/// Alert thresholds: the spec's, or defaults, the client counts from capacity.
fn thresholds(s: &SiteSpec) -> Thresholds {
    let a = s
        .monitoring
        .as_ref()
        .map(|m| m.alerts.clone())
        .unwrap_or_default();
    let pct = |p: Option<crate::spec::units::Percent>, d: f64| p.map(|p| p.0).unwrap_or(d);
    let clients_warning_pct = pct(a.clients_warning, 80.0);
    let clients_critical_pct = pct(a.clients_critical, 95.0);
    let per_min = |r: Option<crate::spec::units::Rate>, d: u64| {
        r.map(|r| (r.per_second() * 60.0).round() as u64)
            .unwrap_or(d)
    };
    Thresholds {
        clients_warning: (s.capacity.clients as f64 * clients_warning_pct / 100.0).floor() as u64,
        clients_critical: (s.capacity.clients as f64 * clients_critical_pct / 100.0).floor() as u64,
        clients_warning_pct,
        clients_critical_pct,
        queued_warning: a.queued_warning.unwrap_or(10_000),
        queued_critical: a.queued_critical.unwrap_or(50_000),
        latency_p99_warning_s: a.latency_p99_warning.map(|d| d.millis()).unwrap_or(50) as f64
            / 1000.0,
        latency_p99_critical_s: a.latency_p99_critical.map(|d| d.millis()).unwrap_or(200) as f64
            / 1000.0,
        auth_failures_warning: per_min(a.auth_failures_warning, 100),
        auth_failures_critical: per_min(a.auth_failures_critical, 500),
        cpu_warning: pct(a.cpu_warning, 70.0),
        cpu_critical: pct(a.cpu_critical, 90.0),
        memory_warning: pct(a.memory_warning, 80.0),
        memory_critical: pct(a.memory_critical, 95.0),
    }
}
