//! The site spec as users write it. Serde reads it, schemars turns it into
//! `schema/site.schema.json` (a test keeps the two identical), and the doc
//! comments are the descriptions editors show.
//!
//! Every integer has a range, every unit-bearing value a pattern, and every
//! object rejects unknown keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::units::{Address, ByteSize, Duration, Ident, Percent, Rate};

/// An MQTT site: its brokers, listeners, load balancer, PKI, access rules,
/// devices, monitoring, backups and recovery objectives.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mqttforge site spec")]
pub struct SiteSpec {
    /// The site's name; it prefixes generated names (cluster name, backup objects).
    pub site: Ident,
    /// How strict the production-readiness rules are.
    pub environment: Environment,
    /// The site is an edge installation (a single broker by design).
    #[serde(default)]
    pub edge: bool,
    /// The broker engine.
    pub engine: Engine,
    /// What the site must carry; limits, alert thresholds and OS tuning derive from it.
    pub capacity: Capacity,
    /// The broker nodes.
    #[schemars(length(min = 1, max = 64))]
    pub nodes: Vec<NodeSpec>,
    /// Clustering (EMQX) or redundancy (Mosquitto active/standby or bridge).
    #[serde(default)]
    pub cluster: Option<Cluster>,
    /// The MQTT listeners every node opens.
    #[schemars(length(min = 1, max = 16))]
    pub listeners: Vec<Listener>,
    /// Protocol limits; unset values derive from capacity.
    #[serde(default)]
    pub limits: Limits,
    /// Message and session persistence.
    #[serde(default)]
    pub persistence: Persistence,
    /// The load balancer in front of the nodes.
    #[serde(default)]
    pub load_balancer: Option<LoadBalancer>,
    /// The site's certificate authority and certificate profiles.
    #[serde(default)]
    pub pki: Option<Pki>,
    /// Named sets of topic permissions; `{id}` stands for the principal's own id.
    /// `admin` and `monitoring` are built in unless defined here.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": super::units::IDENT_PATTERN }))]
    pub roles: BTreeMap<String, Vec<Permission>>,
    /// People and services that log in with a username.
    #[serde(default)]
    #[schemars(length(max = 10000))]
    pub users: Vec<User>,
    /// Devices, one by one or as fleets of numbered ids.
    #[serde(default)]
    #[schemars(length(max = 10000))]
    pub devices: Vec<DeviceEntry>,
    /// Prometheus scraping, alert thresholds and where dashboards, traces and logs live.
    #[serde(default)]
    pub monitoring: Option<Monitoring>,
    /// Scheduled, encrypted, off-site backups.
    #[serde(default)]
    pub backup: Option<Backup>,
    /// Recovery objectives per disaster scenario.
    #[serde(default)]
    pub dr: Option<Dr>,
    /// Firmware profiles devices refer to by name.
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": super::units::IDENT_PATTERN }))]
    pub firmware: BTreeMap<String, FirmwareProfile>,
    /// Kernel and service tuning of the broker hosts.
    #[serde(default)]
    pub os: Option<OsTuning>,
    /// The load test that validates the declared capacity.
    #[serde(default)]
    pub load_test: Option<LoadTest>,
    /// Production-readiness rules switched off, each with the reason why.
    #[serde(default)]
    pub lint: LintConfig,
    /// EMQX only: the secrets every node needs at start. `apply` delivers them
    /// in a root-only environment file read by a systemd drop-in, never in
    /// emqx.conf.
    #[serde(default)]
    pub emqx: Option<EmqxSecrets>,
}

/// What an EMQX node cannot start safely without.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmqxSecrets {
    /// The Erlang distribution cookie every node of the cluster shares
    /// (`node.cookie` is required; the packaged default `emqxsecretcookie` is
    /// public). 16 to 255 characters of `A-Z a-z 0-9 _ -`.
    pub cookie: Secret,
    /// The dashboard administrator's password (EMQX's default `admin`/`public`
    /// is refused). Used when the dashboard creates its first administrator.
    pub dashboard_password: Secret,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Staging,
    Development,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Mosquitto,
    Emqx,
    Rumqttd,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mosquitto => "mosquitto",
            Engine::Emqx => "emqx",
            Engine::Rumqttd => "rumqttd",
        }
    }
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Concurrent client connections across the site.
    #[schemars(range(min = 1, max = 100_000_000))]
    pub clients: u64,
    /// Messages per second across the site.
    #[schemars(range(min = 1, max = 100_000_000))]
    pub msg_per_s: u64,
    /// Largest application payload a client sends.
    pub max_payload: ByteSize,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The node's name (host name of the broker).
    pub name: Ident,
    /// The address the load balancer and peers reach the node at.
    pub address: Address,
    /// Extra DNS names the node's server certificate must cover.
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub dns_names: Vec<Address>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// EMQX: how nodes find each other.
    #[serde(default)]
    pub discovery: Option<Discovery>,
    /// EMQX with `discovery: etcd`: the etcd endpoints.
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub etcd: Vec<Url>,
    /// EMQX with `discovery: dns`: the name whose records list the nodes.
    #[serde(default)]
    pub dns: Option<Address>,
    /// Mosquitto: how the second node takes over (Mosquitto has no clustering).
    #[serde(default)]
    pub mode: Option<RedundancyMode>,
    /// Mosquitto active/standby: the virtual address clients and the load balancer use.
    #[serde(default)]
    pub vip: Option<Address>,
}

/// A URL such as `http://etcd1:2379` or `loki://loki.example.net:3100`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Url(#[schemars(regex(pattern = super::units::URL_PATTERN))] pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Discovery {
    Static,
    Dns,
    Etcd,
    K8s,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RedundancyMode {
    ActiveStandby,
    Bridge,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// The listener's name (`devices`, `internal`, ...).
    pub name: Ident,
    /// TCP port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Address to bind; all interfaces when unset.
    #[serde(default)]
    pub bind: Option<Address>,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// Allow clients without credentials (only sensible on loopback or a health-check listener).
    #[serde(default)]
    pub anonymous: bool,
    /// Connection limit per node on this listener; derived from capacity when unset.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub max_connections: Option<u64>,
    /// TLS settings; plaintext when unset.
    #[serde(default)]
    pub tls: Option<ListenerTls>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Mqtt,
    Websockets,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// Lowest TLS version accepted.
    #[serde(default = "TlsVersion::v12")]
    pub min_version: TlsVersion,
    /// Highest TLS version accepted.
    #[serde(default = "TlsVersion::v13")]
    pub max_version: TlsVersion,
    /// Whether clients must present a certificate signed by the site's CA.
    #[serde(default)]
    pub client_certs: ClientCerts,
    /// Use the certificate's CN as the MQTT username.
    #[serde(default)]
    pub identity: Identity,
    /// TLS 1.2 cipher suites (OpenSSL names); a modern AEAD default when unset.
    #[serde(default)]
    #[schemars(length(max = 32))]
    pub ciphers: Option<Vec<CipherName>>,
    /// TLS 1.3 cipher suites; the TLS 1.3 defaults when unset.
    #[serde(default)]
    #[schemars(length(max = 8))]
    pub ciphers_tls13: Option<Vec<CipherName>>,
}

/// An OpenSSL cipher suite name.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct CipherName(#[schemars(regex(pattern = "^[A-Za-z0-9_-]{1,64}$"))] pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    V10,
    #[serde(rename = "1.1")]
    V11,
    #[serde(rename = "1.2")]
    V12,
    #[serde(rename = "1.3")]
    V13,
}

impl TlsVersion {
    fn v12() -> Self {
        TlsVersion::V12
    }
    fn v13() -> Self {
        TlsVersion::V13
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V10 => "1.0",
            TlsVersion::V11 => "1.1",
            TlsVersion::V12 => "1.2",
            TlsVersion::V13 => "1.3",
        }
    }

    pub fn parse(s: &str) -> Option<TlsVersion> {
        [
            TlsVersion::V10,
            TlsVersion::V11,
            TlsVersion::V12,
            TlsVersion::V13,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientCerts {
    #[default]
    None,
    Optional,
    Required,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Identity {
    #[default]
    None,
    Username,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// QoS 1/2 messages in flight per client.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub max_inflight: Option<u32>,
    /// Messages queued per offline or slow client.
    #[serde(default)]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub max_queued: Option<u64>,
    /// Largest keepalive a client may ask for (MQTT allows at most 65535 s).
    #[serde(default)]
    pub max_keepalive: Option<Duration>,
    /// Largest MQTT packet accepted.
    #[serde(default)]
    pub max_packet: Option<ByteSize>,
    /// New connections accepted per node.
    #[serde(default)]
    pub connect_rate: Option<Rate>,
    /// Messages one client may publish.
    #[serde(default)]
    pub message_rate: Option<Rate>,
    /// Topic levels allowed.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1024))]
    pub max_topic_levels: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// Keep retained messages and sessions on disk.
    #[serde(default)]
    pub enabled: bool,
    /// How often in-memory state is written (Mosquitto `autosave_interval`).
    #[serde(default)]
    pub autosave: Option<Duration>,
    /// How long a disconnected persistent session is kept.
    #[serde(default)]
    pub session_expiry: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    pub kind: LbKind,
    /// What the load balancer does with TLS: pass it through to the brokers
    /// (mTLS identity stays at the broker) or terminate it.
    pub tls: LbTls,
    /// Send PROXY protocol v2 (with SSL TLVs) to the brokers.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// The name clients dial; server certificates cover it.
    #[serde(default)]
    pub dns_name: Option<Address>,
    #[serde(default)]
    pub health_check: HealthCheck,
    /// The statistics page, bound to loopback.
    #[serde(default)]
    pub stats: Option<LbStats>,
    /// Two load-balancer hosts sharing `cluster.vip` with keepalived (VRRP).
    #[serde(default)]
    pub vrrp: Option<Vrrp>,
}

/// keepalived on two load-balancer hosts: the one holding `cluster.vip`
/// fails over to the other when its load balancer stops.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vrrp {
    /// The network interface the virtual IP is added to (same on both hosts).
    pub interface: Ident,
    /// VRRP virtual router id, unique on the network segment.
    #[serde(default)]
    #[schemars(range(min = 1, max = 255))]
    pub router_id: Option<u8>,
    /// The two load-balancer hosts: their host names (keepalived's config id)
    /// and the addresses they send VRRP adverts from, unicast.
    #[schemars(length(min = 2, max = 2))]
    pub hosts: Vec<LbHost>,
    /// The VRRP authentication password (8 characters are used).
    pub password: Secret,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LbHost {
    pub name: Ident,
    pub address: Address,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LbKind {
    Haproxy,
    /// NGINX open source, stream module: passive health checks only.
    Nginx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LbTls {
    Passthrough,
    Terminate,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Time between checks.
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Failed checks before a broker is marked down.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub fall: Option<u32>,
    /// Passed checks before a broker is marked up again.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub rise: Option<u32>,
    /// The listener the check connects to (an internal listener when device
    /// listeners require client certificates).
    #[serde(default)]
    pub listener: Option<Ident>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LbStats {
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    pub user: Ident,
    pub password: Secret,
}

/// A secret, by reference. `value` (inline) is accepted but flagged by the linter.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// Name of the environment variable holding the secret at apply time.
    #[serde(default)]
    #[schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]{0,127}$"))]
    pub env: Option<String>,
    /// Path of a file holding the secret at apply time.
    #[serde(default)]
    #[schemars(length(min = 1, max = 4096))]
    pub file: Option<String>,
    /// The secret itself (discouraged: committed specs leak it).
    #[serde(default)]
    #[schemars(length(max = 4096))]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pki {
    /// Where certificates and keys live, relative to the output tree.
    #[serde(default)]
    #[schemars(regex(pattern = "^[A-Za-z0-9._/-]{1,255}$"))]
    pub dir: Option<String>,
    pub ca: CaSpec,
    /// Validity of device certificates (at most 365d).
    #[serde(default)]
    pub device_validity: Option<Duration>,
    /// Validity of server certificates (at most 365d).
    #[serde(default)]
    pub server_validity: Option<Duration>,
    /// Key algorithm for new keys.
    #[serde(default)]
    pub key: KeyAlgorithm,
    /// Organization (O) of device certificates.
    #[serde(default)]
    pub device_org: Option<Ident>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaSpec {
    /// Common name of the root CA.
    #[schemars(length(min = 1, max = 64), regex(pattern = "^[^\\u0000-\\u001f]+$"))]
    pub cn: String,
    /// Organization of the root CA.
    #[serde(default)]
    #[schemars(length(min = 1, max = 64), regex(pattern = "^[^\\u0000-\\u001f]+$"))]
    pub org: Option<String>,
    /// Validity of the root CA.
    #[serde(default)]
    pub validity: Option<Duration>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Rsa3072,
}

/// One permission: exactly one of `read`, `write`, `readwrite` or `deny`,
/// naming a topic filter where `{id}` is the principal's own id.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    #[serde(default)]
    pub read: Option<TopicTemplate>,
    #[serde(default)]
    pub write: Option<TopicTemplate>,
    #[serde(default)]
    pub readwrite: Option<TopicTemplate>,
    #[serde(default)]
    pub deny: Option<TopicTemplate>,
}

/// A topic filter, possibly with the `{id}` placeholder.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TopicTemplate(#[schemars(length(min = 1, max = 1024))] pub String);

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: Ident,
    pub role: Ident,
    /// Password, by reference; hashed when the password file is written.
    #[serde(default)]
    pub password: Option<Secret>,
}

/// A device (`id`) or a fleet of numbered devices (`fleet`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// The device id: client id, certificate CN and topic segment at once.
    #[serde(default)]
    pub id: Option<Ident>,
    /// A fleet: ids `prefix` + number, `from` to `to` inclusive.
    #[serde(default)]
    pub fleet: Option<Fleet>,
    pub role: Ident,
    /// Firmware profile (a key of `firmware`).
    #[serde(default)]
    pub firmware: Option<Ident>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub prefix: Ident,
    #[schemars(range(min = 0, max = 999_999_999))]
    pub from: u64,
    #[schemars(range(min = 0, max = 999_999_999))]
    pub to: u64,
    /// Zero-pad numbers to this many digits (`sensor-0001`).
    #[serde(default)]
    #[schemars(range(min = 1, max = 9))]
    pub width: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    #[serde(default)]
    pub prometheus: Option<Prometheus>,
    /// Alert thresholds; unset ones take the production defaults.
    #[serde(default)]
    pub alerts: Alerts,
    /// Where dashboards live (e.g. `grafana`).
    #[serde(default)]
    #[schemars(length(min = 1, max = 256))]
    pub dashboards: Option<String>,
    /// OpenTelemetry endpoint traces go to.
    #[serde(default)]
    pub tracing: Option<Url>,
    /// Central log destination (Loki, ELK).
    #[serde(default)]
    pub logs: Option<Url>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    #[serde(default)]
    pub scrape_interval: Option<Duration>,
    /// Port of the metrics exporter on each node (Mosquitto exporter: 9234).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub exporter_port: Option<u16>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    #[serde(default)]
    pub clients_warning: Option<Percent>,
    #[serde(default)]
    pub clients_critical: Option<Percent>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub queued_warning: Option<u64>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub queued_critical: Option<u64>,
    #[serde(default)]
    pub latency_p99_warning: Option<Duration>,
    #[serde(default)]
    pub latency_p99_critical: Option<Duration>,
    #[serde(default)]
    pub auth_failures_warning: Option<Rate>,
    #[serde(default)]
    pub auth_failures_critical: Option<Rate>,
    #[serde(default)]
    pub cpu_warning: Option<Percent>,
    #[serde(default)]
    pub cpu_critical: Option<Percent>,
    #[serde(default)]
    pub memory_warning: Option<Percent>,
    #[serde(default)]
    pub memory_critical: Option<Percent>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    pub schedule: BackupSchedule,
    /// How long backups are kept.
    pub retention: Duration,
    /// Where backups are shipped: `s3://bucket/prefix` or an absolute path.
    #[schemars(regex(
        pattern = "^(s3://[a-z0-9][a-z0-9.-]{2,62}(/[A-Za-z0-9._/-]*)?|/[A-Za-z0-9._/-]+)$"
    ))]
    pub target: String,
    /// Encryption before shipping.
    #[serde(default)]
    pub encrypt: Option<BackupEncryption>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupSchedule {
    Hourly,
    Daily,
    Weekly,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupEncryption {
    /// The age recipient (public key) backups are encrypted to.
    pub age_recipient: Secret,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dr {
    #[serde(default)]
    pub single_node_failure: Option<Objective>,
    #[serde(default)]
    pub corruption: Option<Objective>,
    #[serde(default)]
    pub datacenter_loss: Option<Objective>,
    #[serde(default)]
    pub security_compromise: Option<Objective>,
}

impl Dr {
    /// The objective of a scenario by its key (`single_node_failure`, ...).
    pub fn objective(&self, scenario: &str) -> Option<&Objective> {
        match scenario {
            "single_node_failure" => self.single_node_failure.as_ref(),
            "corruption" => self.corruption.as_ref(),
            "datacenter_loss" => self.datacenter_loss.as_ref(),
            "security_compromise" => self.security_compromise.as_ref(),
            _ => None,
        }
    }
}

/// Recovery time and recovery point objectives.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub rto: Duration,
    pub rpo: Duration,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmwareProfile {
    pub platform: Platform,
    /// Firmware version announced in the online message.
    #[schemars(regex(pattern = "^[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}$"))]
    pub version: String,
    /// Reconnect backoff.
    #[serde(default)]
    pub backoff: Option<Backoff>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Esp32,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub jitter: Duration,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OsTuning {
    /// Write the sysctl file.
    #[serde(default = "default_true")]
    pub sysctl: bool,
    #[serde(default)]
    pub congestion_control: CongestionControl,
}

fn default_true() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CongestionControl {
    #[default]
    Cubic,
    Bbr,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadTest {
    #[schemars(range(min = 1, max = 1_000_000))]
    pub publishers: u32,
    #[schemars(range(min = 0, max = 1_000_000))]
    pub subscribers: u32,
    /// Messages per second per publisher.
    pub rate: Rate,
    pub payload: ByteSize,
    #[schemars(range(min = 0, max = 2))]
    pub qos: u8,
    pub duration: Duration,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Rule ID -> the reason it does not apply to this site, either alone
    /// (`MQ-HA-001: "edge site"`) or with the last day it applies
    /// (`MQ-HA-001: { reason: "edge site", until: 2027-03-01 }`).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^MQ-[A-Z]+-[0-9]{3}$" }))]
    pub ignore: BTreeMap<String, Ignore>,
}

/// A suppression: its reason alone, or its reason and the last day it applies.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Ignore {
    Reason(Reason),
    Detailed(IgnoreDetailed),
}

impl Ignore {
    pub fn reason(&self) -> &str {
        match self {
            Ignore::Reason(r) => &r.0,
            Ignore::Detailed(d) => &d.reason.0,
        }
    }

    /// The last day the suppression applies, as written (`YYYY-MM-DD`).
    pub fn until(&self) -> Option<&str> {
        match self {
            Ignore::Reason(_) => None,
            Ignore::Detailed(d) => d.until.as_ref().map(|u| u.0.as_str()),
        }
    }
}

/// A suppression with its reason and, optionally, when it expires.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreDetailed {
    pub reason: Reason,
    /// The last day the suppression applies (`YYYY-MM-DD`). After it, lint
    /// reports the suppression as expired and the rule applies again.
    #[serde(default)]
    pub until: Option<IsoDate>,
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct IsoDate(#[schemars(regex(pattern = super::units::DATE_PATTERN))] pub String);

/// Why a rule is switched off (required, not blank).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Reason(
    #[schemars(length(min = 1, max = 500), regex(pattern = super::units::REASON_PATTERN))]
    pub  String,
);

/// One file-name segment made from a name: a device id, a node name, a site
/// name, an id given on the command line (`pki revoke SPEC ID`). Anything
/// used as a file name goes through it, so no name can become a path: it is
/// never empty, never `.` or `..`, never starts with `.` (hidden and
/// temporary files are mqttforge's own), and holds no `/`, no NUL, no
/// control character, at most 255 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathSegment(String);

impl PathSegment {
    /// `None` when `name` cannot be one file-name segment.
    pub fn new(name: &str) -> Option<PathSegment> {
        let ok = !name.is_empty()
            && name.len() <= 255
            && !name.starts_with('.')
            && !name.chars().any(|c| c == '/' || c.is_control());
        ok.then(|| PathSegment(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Ident> for PathSegment {
    /// Identifiers (letters, digits, `.`, `_`, `-`, starting with a letter or
    /// a digit, validated at load) are always one segment.
    fn from(id: &Ident) -> PathSegment {
        PathSegment(id.0.clone())
    }
}

impl std::fmt::Display for PathSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod path_segment_tests {
    use super::PathSegment;

    #[test]
    fn names_that_would_be_paths_are_refused() {
        for bad in ["", ".", "..", "../ca", "a/b", ".hidden", "a\0b", "a\nb"] {
            assert!(PathSegment::new(bad).is_none(), "{bad:?}");
        }
        assert_eq!(
            PathSegment::new("press-01").map(|s| s.to_string()),
            Some("press-01".into())
        );
    }
}
