//! Facts: the one model every rule reads, whatever it came from. `lint SPEC`
//! extracts facts from the validated site and what it renders
//! (`from_spec.rs`); `audit FILE...` extracts them from hand-written files
//! (`crate::audit`). Every fact carries the span of the text it came from,
//! so a finding points at the offending value in the spec or the file.
//!
//! A rule only sees facts; when a fact is unknown (a file kind was not given
//! to `audit`), the field is empty or `None` and rules that need it stay
//! silent.

pub mod acl;
pub mod ciphers;
pub mod exporters;
pub mod files;
pub mod prometheus_files;
pub mod spec;
pub mod tool_cache;

use crate::source::Span;
use crate::spec::model::{Engine, Environment};

/// Where a fact came from, to say so in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Spec,
    File,
}

/// Broker releases as (major, minor).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Releases {
    /// None: Mosquitto 2.0.
    pub mosquitto: Option<(u32, u32)>,
    /// None: EMQX 5.8 (docs/emqx-target.md).
    pub emqx: Option<(u32, u32)>,
}

/// The Mosquitto releases mqttforge has tables for (2.0 is the default).
pub const MOSQUITTO_RELEASES: &[(u32, u32)] = &[(2, 0), (2, 1)];
/// The EMQX releases mqttforge has tables for (5.8 is the default). 6.0's
/// acl.conf forms are known; its configuration keys are judged against 5.10's.
pub const EMQX_RELEASES: &[(u32, u32)] = &[(5, 7), (5, 8), (5, 9), (5, 10), (6, 0)];

impl Releases {
    /// The EMQX release files are judged as.
    pub fn emqx_or_target(&self) -> (u32, u32) {
        self.emqx.unwrap_or((5, 8))
    }

    /// `2.1`, `5.10.4` -> (major, minor).
    pub fn parse(text: &str) -> Option<(u32, u32)> {
        let mut parts = text.trim().trim_start_matches('v').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

#[derive(Clone, Debug)]
pub struct Facts {
    pub origin: Origin,
    pub environment: Environment,
    /// The broker releases audited files are for (`audit --mosquitto-version`,
    /// `--emqx-version`); None: the releases mqttforge targets.
    pub releases: Releases,
    /// Parse errors a file had besides the one its extractor returned: the
    /// file was audited past them (error recovery), each is reported.
    pub recovered: Vec<crate::diag::Diagnostic>,
    /// The site declares itself an edge installation.
    pub edge: bool,
    pub engine: Option<Engine>,
    /// Broker nodes (spec) or broker config files (audit).
    pub nodes: Vec<NodeFact>,
    pub cluster: ClusterFact,
    pub listeners: Vec<ListenerFact>,
    pub acl: Vec<AclFact>,
    /// The ACL file(s) end with a catch-all deny / `no_match = deny` (EMQX).
    pub acl_default_deny: Option<bool>,
    pub secrets: Vec<SecretFact>,
    pub plugins: Vec<PluginFact>,
    pub admin: Vec<AdminFact>,
    pub logging: Option<LoggingFact>,
    pub lb: Option<LbFact>,
    pub health_checks: Vec<HealthCheckFact>,
    pub session: Option<SessionFact>,
    pub persistence: Option<PersistenceFact>,
    pub monitoring: MonitoringFact,
    pub scrape_jobs: Vec<ScrapeJobFact>,
    pub alerts: Vec<AlertFact>,
    /// Files holding both scrape config and rule groups, or rule files promtool rejects.
    pub prometheus_problems: Vec<(String, Span)>,
    pub capacity: Option<CapacityFact>,
    pub sysctls: Vec<SysctlFact>,
    /// LimitNOFILE of the broker service.
    pub nofile: Option<(u64, Span)>,
    /// Kernel modules loaded at boot.
    pub modules: Vec<String>,
    pub firmware: Vec<FirmwareFact>,
    pub backup: Option<BackupFact>,
    pub scripts: Vec<ScriptFact>,
    pub dr: Vec<ObjectiveFact>,
    pub certs: Vec<CertFact>,
    pub keys: Vec<KeyFileFact>,
    pub load_test: Option<Span>,
    pub directives: Vec<DirectiveFact>,
    pub emqx_keys: Vec<KeyFact>,
    pub rumqttd: Vec<RumqttdFact>,
    /// Identifiers that reach line-based configs.
    pub identifiers: Vec<IdentFact>,
    /// HA area (MQ-HA-*): what the shared model has no place for (see [`HaFacts`]).
    pub ha: HaFacts,
    /// OBS/PERF areas (MQ-OBS-*, MQ-PERF-*): what the shared model has no place for (see [`ObsFacts`]).
    pub obs: ObsFacts,
    /// ACL area (MQ-ACL-*): the parsed ACL files and their dead rules (see [`crate::acl::AclFacts`]).
    pub acl_model: crate::acl::AclFacts,
    /// TLS/AUTH/CFG areas (MQ-TLS-*, MQ-AUTH-*, MQ-CFG-002/003): what the shared model has no place for (see [`TlsAuthFacts`]).
    pub tls_auth: TlsAuthFacts,
}

impl Facts {
    pub fn new(origin: Origin, environment: Environment) -> Facts {
        Facts {
            origin,
            environment,
            releases: Releases::default(),
            recovered: Vec::new(),
            edge: false,
            engine: None,
            nodes: Vec::new(),
            cluster: ClusterFact::default(),
            listeners: Vec::new(),
            acl: Vec::new(),
            acl_default_deny: None,
            secrets: Vec::new(),
            plugins: Vec::new(),
            admin: Vec::new(),
            logging: None,
            lb: None,
            health_checks: Vec::new(),
            session: None,
            persistence: None,
            monitoring: MonitoringFact::default(),
            scrape_jobs: Vec::new(),
            alerts: Vec::new(),
            prometheus_problems: Vec::new(),
            capacity: None,
            sysctls: Vec::new(),
            nofile: None,
            modules: Vec::new(),
            firmware: Vec::new(),
            backup: None,
            scripts: Vec::new(),
            dr: Vec::new(),
            certs: Vec::new(),
            keys: Vec::new(),
            load_test: None,
            directives: Vec::new(),
            emqx_keys: Vec::new(),
            rumqttd: Vec::new(),
            identifiers: Vec::new(),
            ha: HaFacts::default(),
            obs: ObsFacts::default(),
            acl_model: crate::acl::AclFacts::default(),
            tls_auth: TlsAuthFacts::default(),
        }
    }

    pub fn production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn sysctl(&self, key: &str) -> Option<&SysctlFact> {
        self.sysctls.iter().rev().find(|s| s.key == key)
    }
}

#[derive(Clone, Debug)]
pub struct NodeFact {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct ClusterFact {
    /// EMQX discovery or Mosquitto bridge/standby declared.
    pub clustered: bool,
    pub standby_or_bridge: bool,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct ListenerFact {
    /// The broker the listener belongs to.
    pub engine: Option<Engine>,
    pub name: String,
    pub port: u16,
    /// None: all interfaces.
    pub bind: Option<String>,
    pub tls: Option<TlsFact>,
    pub anonymous: bool,
    pub max_connections: Option<u64>,
    /// Connection rate limit on this listener (or in front of it).
    pub rate_limited: bool,
    /// The listener only the load balancer's health check uses.
    pub health_check_only: bool,
    /// A client may assert a username it does not prove: anonymous access
    /// with nothing checking a username that is sent (Mosquitto: no
    /// `password_file` or auth plugin on the listener; EMQX: `enable_authn =
    /// false` or no authenticator) and no certificate identity.
    pub usernames_unproven: bool,
    /// Whatever its clients claim, they reach no topic of the site (EMQX: a
    /// `mountpoint` isolates them).
    pub isolated: bool,
    pub span: Span,
}

impl ListenerFact {
    pub fn loopback(&self) -> bool {
        self.bind
            .as_deref()
            .and_then(|b| b.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback())
    }
}

#[derive(Clone, Debug)]
pub struct TlsFact {
    /// "1.0".."1.3"; None when the config leaves it to the library default.
    pub min_version: Option<String>,
    pub min_version_span: Option<Span>,
    /// TLS <= 1.2 suites (Mosquitto `ciphers`, OpenSSL names).
    pub ciphers: Vec<String>,
    pub ciphers_span: Option<Span>,
    /// TLS 1.3 suites.
    pub ciphers_tls13: Vec<String>,
    pub require_client_cert: bool,
    pub require_span: Option<Span>,
    pub identity_as_username: bool,
    pub identity_span: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A named user (Mosquitto `user`, EMQX `{username, "x"}`).
    User(String),
    /// A device id (spec devices).
    Device(String),
    /// Everyone, with the principal's id substituted (`pattern`, `%u`/`%c`, `${username}`).
    Pattern,
    /// Everyone (Mosquitto topics before any user line, EMQX `all`).
    All,
    /// A role of the spec, held by `holders` (device ids and fleet prefixes).
    Role { name: String, devices: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclAccess {
    Read,
    Write,
    ReadWrite,
    Deny,
}

#[derive(Clone, Debug)]
pub struct AclFact {
    pub principal: Principal,
    /// Whether the principal is an admin (the built-in `admin` role, a user named admin).
    pub admin: bool,
    pub access: AclAccess,
    /// The topic filter as written (`%u`, `%c`, `{id}`, `${username}` kept).
    pub topic: String,
    /// The filter with identity placeholders normalised to `{id}`.
    pub normalized: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SecretFact {
    /// What the secret is ("password of user admin", "stats auth").
    pub what: String,
    /// The value as written, when inline (None: by reference).
    pub inline: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct PluginFact {
    pub directive: String,
    pub path: Option<String>,
    pub deprecated: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct AdminFact {
    pub what: String,
    pub bind: Option<String>,
    /// "default", "inline", "weak", "reference", "none".
    pub credentials: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct LoggingFact {
    pub timestamps: bool,
    pub connection_messages: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct LbFact {
    pub terminates_tls: bool,
    pub proxy_protocol: bool,
    pub client_timeout_s: Option<u64>,
    pub server_timeout_s: Option<u64>,
    pub rate_limited: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct HealthCheckFact {
    /// None: a bare TCP connect.
    pub mqtt: Option<MqttCheck>,
    /// The broker port the check connects to.
    pub port: Option<u16>,
    /// The check presents a client certificate.
    pub presents_cert: bool,
    pub span: Span,
    // HA area (MQ-HA-002..004):
    /// The backend (or `listen` section) whose server the check probes.
    pub backend: String,
    /// The server the check probes.
    pub server: String,
    /// The check connects with TLS.
    pub tls: bool,
    /// How a check that does not speak MQTT probes, and where that is set
    /// ("a bare TCP connect", "an HTTP request", "a CONNECT whose answer is never read").
    pub probe: Option<(String, Span)>,
}

#[derive(Clone, Debug)]
pub struct MqttCheck {
    /// Bytes the check sends first (the CONNECT).
    pub send: Vec<u8>,
    pub send_span: Span,
    /// Bytes it expects (the CONNACK).
    pub expect: Vec<u8>,
    pub expect_span: Span,
}

#[derive(Clone, Debug)]
pub struct SessionFact {
    /// Sessions declared to survive reconnects.
    pub declared: bool,
    /// The config keeps sessions (persistence / session expiry > 0).
    pub kept: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct PersistenceFact {
    pub enabled: bool,
    pub autosave_s: Option<u64>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct MonitoringFact {
    pub dashboards: bool,
    pub tracing: bool,
    pub logs: bool,
    pub span: Option<Span>,
    /// `monitoring.tracing`: the endpoint and where it is written.
    pub tracing_url: Option<(String, Span)>,
    /// `monitoring.logs`: the URL and where it is written.
    pub logs_url: Option<(String, Span)>,
}

#[derive(Clone, Debug)]
pub struct ScrapeJobFact {
    pub job: String,
    pub metrics_path: String,
    pub targets: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct AlertFact {
    pub name: String,
    pub expr: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct CapacityFact {
    pub clients: u64,
    pub connect_rate_per_s: Option<f64>,
    pub max_payload: u64,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SysctlFact {
    pub key: String,
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FirmwareFact {
    /// Device id, or `role-<role>` for a fleet header.
    pub device: String,
    pub buffer: Option<u64>,
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    /// The device's id for topic checks (a sample fleet member for fleets).
    pub sample_id: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct BackupFact {
    pub scheduled: bool,
    pub encrypted: bool,
    pub retention: bool,
    pub restore: bool,
    /// The backup stops the broker.
    pub stops_broker: bool,
    pub span: Span,
    // DR area (lint/spec/recovery.rs, audit/shell.rs):
    /// Seconds between backups, when the schedule is known (a spec's
    /// `backup.schedule`).
    pub every_s: Option<u64>,
    /// A backup exists (a spec's `backup:`, an audited backup script); false
    /// for a spec without one, or when only a restore script was audited.
    pub declared: bool,
    /// Where backups leave the host (the spec's target, a shipping command).
    pub ship_span: Option<Span>,
    /// The command that stops the broker.
    pub stop_span: Option<Span>,
    /// Keys or credentials shipped off-site unencrypted: where, and what.
    pub plaintext: Vec<(Span, String)>,
}

#[derive(Clone, Debug)]
pub struct ScriptFact {
    pub path: String,
    pub strict: bool,
    /// The strict-mode flags it lacks (`-e`, `-u`, `-o pipefail`); empty
    /// when strict.
    pub lacks: Vec<&'static str>,
    /// (line, column, message) of shellcheck errors.
    pub errors: Vec<(Span, String)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ObjectiveFact {
    pub scenario: String,
    pub rpo_s: u64,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct CertFact {
    pub path: String,
    pub role: CertRole,
    pub version: u32,
    pub validity_days: i64,
    pub days_left: i64,
    pub key_usage: bool,
    pub client_auth: bool,
    pub server_auth: bool,
    pub is_ca: bool,
    pub san: Vec<String>,
    pub key_bits: u32,
    pub rsa: bool,
    pub signature: String,
    pub span: Span,
    // PKI area (audit/pem.rs, lint/spec/recovery.rs):
    /// Names clients dial that a server certificate must cover (empty: unknown).
    pub dialled: Vec<String>,
    /// End of validity, `YYYY-MM-DD` (UTC); empty for a spec's certificate
    /// profile (what would be issued, not an issued certificate).
    pub not_after: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRole {
    Ca,
    Server,
    Device,
}

#[derive(Clone, Debug)]
pub struct KeyFileFact {
    pub path: String,
    pub mode: u32,
    pub owner_is_broker: bool,
    pub group_is_broker: bool,
    pub span: Span,
    // PKI area (audit/pem.rs, lint/spec/recovery.rs):
    /// Owner and group names (numeric ids when unknown).
    pub owner: String,
    pub group: String,
    /// Size of an RSA key's modulus, in bits.
    pub rsa_bits: Option<u32>,
    /// The key sits in the site's PKI directory, staged for `apply` (which
    /// sets owner and group), as the key of this role; None: a key where the
    /// broker reads it.
    pub staged: Option<CertRole>,
    /// The git work tree the audited key file sits in (AUTH area, MQ-AUTH-002).
    pub work_tree: Option<String>,
}

/// A configuration directive as written (Mosquitto, HAProxy).
#[derive(Clone, Debug)]
pub struct DirectiveFact {
    pub format: &'static str,
    pub name: String,
    pub known: bool,
    /// Listener-only option written before any listener (Mosquitto).
    pub misplaced: bool,
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct KeyFact {
    pub path: String,
    /// Written as an object (`log.file { }`), not a value: a struct of the
    /// schema, whatever an older release meant by the same path.
    pub object: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct RumqttdFact {
    pub problem: String,
    pub span: Span,
    // CFG area (MQ-CFG-004): how to fix it.
    pub help: String,
}

#[derive(Clone, Debug)]
pub struct IdentFact {
    pub what: String,
    pub value: String,
    pub span: Span,
}

/// HA area (MQ-HA-*): facts the shared model has no place for, filled by
/// `lint::spec::ha`, `audit::haproxy` and `audit::emqx_conf`.
#[derive(Clone, Debug, Default)]
pub struct HaFacts {
    /// Load-balancer idle timeouts in force on MQTT connections, each where it is set.
    pub timeouts: Vec<LbTimeoutFact>,
    /// Keepalive bounds the brokers enforce (EMQX `mqtt.server_keepalive`;
    /// Mosquitto's `max_keepalive` is read from `directives`).
    pub keepalives: Vec<KeepaliveFact>,
    /// Load-balancer backends and their servers.
    pub backends: Vec<BackendFact>,
    /// Broker settings that take the MQTT identity from the client certificate
    /// beyond a listener's own TLS settings (EMQX `mqtt.peer_cert_as_username`,
    /// spec `identity: username`): (what, where).
    pub cert_identity: Vec<(String, Span)>,
    /// Broker configs that declare a single node (EMQX `discovery_strategy = singleton`).
    pub single_node: Vec<Span>,
    /// A bridge the spec declares (`cluster.mode: bridge`) that no rendered
    /// mosquitto.conf sets up (no `connection`).
    pub unrendered_bridge: Option<Span>,
    /// A load balancer that checks brokers only passively (NGINX open
    /// source), where the spec chooses it.
    pub passive_checks: Option<PassiveCheckFact>,
}

/// Passive health checking: a broker leaves rotation only after failed
/// client connections, never because a probe failed.
#[derive(Clone, Debug)]
pub struct PassiveCheckFact {
    /// Failed connection attempts (`max_fails`) within `fail_timeout_s`
    /// that take a broker out of rotation, for `fail_timeout_s`.
    pub max_fails: u32,
    pub fail_timeout_s: u64,
    /// How long each device's attempt to a failed broker may wait before
    /// the next broker is tried.
    pub connect_timeout_s: u64,
    pub span: Span,
}

/// A load-balancer timeout that cuts idle MQTT connections.
#[derive(Clone, Debug)]
pub struct LbTimeoutFact {
    /// `timeout client`, `timeout server` or `timeout tunnel`.
    pub what: String,
    /// The section it governs (frontend `mqtt_devices`).
    pub section: String,
    pub ms: u64,
    pub span: Span,
}

/// A keepalive a broker lets clients use (seconds).
#[derive(Clone, Debug)]
pub struct KeepaliveFact {
    pub what: String,
    pub seconds: u64,
    pub span: Span,
}

/// A load-balancer backend (or `listen` section) routing MQTT to brokers.
#[derive(Clone, Debug)]
pub struct BackendFact {
    pub name: String,
    pub servers: Vec<ServerFact>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ServerFact {
    pub name: String,
    /// A standby (`backup`) server.
    pub backup: bool,
    /// The server line has `check` (itself or from `default-server`).
    pub checked: bool,
    pub span: Span,
}

/// OBS/PERF areas: alert details, where metrics are served, connection
/// totals and defaults that apply when a file is absent.
#[derive(Clone, Debug, Default)]
pub struct ObsFacts {
    /// Where alert rules live: the `groups` key of each audited rule file,
    /// or the spec's `monitoring.prometheus` (or `monitoring`/`environment`
    /// when absent) in lint. Missing checklist alerts are reported here.
    pub rule_files: Vec<Span>,
    /// The annotations (summary, description) and name of each alert, keyed
    /// by the alert's span (the span of its `expr`).
    pub alert_text: Vec<(Span, String)>,
    /// Metric names recording rules define (`record:`).
    pub recorded: Vec<String>,
    /// Alert thresholds the spec sets explicitly (lint): checklist item
    /// (`clients`, `queued`, `latency_p99`, `auth_failures`, `cpu`,
    /// `memory`) and the span of the value.
    pub thresholds: Vec<(String, Span)>,
    /// Ports where the broker serves its own Prometheus metrics, with what
    /// serves them (lint: the rendered EMQX dashboard listener, rumqttd's
    /// `[prometheus]`).
    pub broker_metrics_ports: Vec<(u16, String)>,
    /// Connections one broker process accepts across its listeners, and the
    /// spec value that drives it (lint; audit reads `listeners`).
    pub connections_per_node: Option<(u64, Span)>,
    /// Device connections the site accepts across its active nodes, how
    /// that was computed, and where the limit is set (lint).
    pub device_connection_ceiling: Option<(u64, String, Span)>,
    /// When `nofile` is not written anywhere but known: why (the service's
    /// default applies).
    pub nofile_default: Option<String>,
    /// No sysctl file applies, so kernel defaults hold (lint: `os.sysctl`
    /// false or no `os`): the spec value that decides it.
    pub kernel_defaults: Option<Span>,
    /// Where the connect rate of `capacity` comes from, and how (lint:
    /// `limits.connect_rate`, or derived from `capacity.clients`).
    pub connect_rate_source: Option<(Span, String)>,
    /// Where the max payload of `capacity` is declared (lint: `capacity.max_payload`).
    pub max_payload_span: Option<Span>,
}

/// TLS/AUTH/CFG areas: where individual listener settings are written, and
/// how to help with a directive a format does not know.
#[derive(Clone, Debug, Default)]
pub struct TlsAuthFacts {
    /// Where a listener setting is written: (index in `listeners`, setting,
    /// span). Settings: `anonymous`, `ciphers_tls13`. Rules fall back to the
    /// listener's span for a setting that has none.
    pub listener_settings: Vec<(usize, &'static str, Span)>,
    /// Per directive format (`mosquitto`): given an unknown directive's name,
    /// how to fix it ("did you mean ...", a removed directive's replacement).
    pub unknown_directive_help: Vec<(&'static str, DirectiveHelp)>,
    /// MQTT that crosses the network in clear outside a broker's own
    /// listeners: a load balancer's frontend, its forwarding after TLS
    /// termination, a bridge (MQ-TLS-001).
    pub plaintext: Vec<PlaintextFact>,
    /// TLS cipher lists outside the brokers' listeners (HAProxy), for MQ-TLS-004.
    pub cipher_lists: Vec<CipherListFact>,
    /// Listeners of the bundled broker (rumqttd servers), for MQ-TLS-001
    /// and MQ-AUTH-003 only: they have no per-listener connection limit or
    /// TLS version to set, which the rules reading [`ListenerFact`] advise.
    pub rumqttd_listeners: Vec<RumqttdListenerFact>,
}

#[derive(Clone, Debug)]
pub struct RumqttdListenerFact {
    /// `v4.1`, `v5.1`, `ws.1`.
    pub name: String,
    pub listen: String,
    /// None: all interfaces.
    pub bind: Option<String>,
    pub tls: bool,
    /// No `connections.auth` table: any client connects.
    pub anonymous: bool,
    /// Client certificates required (`tls.capath`).
    pub client_certs: bool,
    /// The `listen` value.
    pub span: Span,
}

impl RumqttdListenerFact {
    /// Bound to a loopback address only.
    pub fn local(&self) -> bool {
        files::haproxy::local_address(self.bind.as_deref().unwrap_or(""))
    }

    /// Where it listens, as findings name it: `` `10.0.0.5` `` or "all interfaces".
    pub fn shown_bind(&self) -> String {
        self.bind
            .as_deref()
            .map_or("all interfaces".to_string(), |b| format!("`{b}`"))
    }
}

/// Where plaintext MQTT leaves the host (see [`TlsAuthFacts::plaintext`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaintextKind {
    /// A load balancer frontend accepting plaintext MQTT beyond loopback.
    LbFrontend,
    /// A load balancer terminating TLS and forwarding in clear to a
    /// server on a public address.
    LbForward,
    /// A bridge sending its credentials to the remote broker without TLS.
    Bridge,
}

#[derive(Clone, Debug)]
pub struct PlaintextFact {
    pub kind: PlaintextKind,
    /// What it is, for the message ("HAProxy frontend `mqtt` (`*:1883`)").
    pub what: String,
    pub span: Span,
    /// A second location (the `bind ... ssl` line that terminates TLS).
    pub related: Option<(Span, String)>,
}

#[derive(Clone, Debug)]
pub struct CipherListFact {
    /// What sets the list ("HAProxy `ssl-default-bind-ciphers`").
    pub what: String,
    /// The directive to change, for the help (`ssl-default-bind-ciphers`).
    pub key: String,
    pub ciphers: Vec<String>,
    pub span: Span,
}

/// Given an unknown directive's name, how to fix it (see [`TlsAuthFacts`]).
pub type DirectiveHelp = fn(&str) -> Option<String>;
