//! What a bench run does: the broker, the load, the client identities, the
//! bounds. [`BenchConfig::problems`] checks every value at once before
//! anything connects.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::payload::HEADER_LEN;

/// Clients (publishers + subscribers) one run may open.
pub const MAX_CLIENTS: u32 = 10_000;
/// Largest payload bench sends (MQTT allows 256 MiB; a load test needs far less).
pub const MAX_PAYLOAD: usize = 16 << 20;
/// Default topic: the site convention (client id == topic segment), one topic per publisher.
pub const DEFAULT_TOPIC: &str = "devices/{id}/telemetry/bench";
/// Default topic when clients present device certificates: the device id is the identity.
pub const DEFAULT_DEVICE_TOPIC: &str = "devices/{device}/telemetry/bench";
/// Default client id: unique per run, role and index.
pub const DEFAULT_CLIENT_ID: &str = "mqttforge-{run}-{role}{i}";
/// Default client id with device certificates.
pub const DEFAULT_DEVICE_CLIENT_ID: &str = "{device}-{run}-{role}{i}";

const TOPIC_PLACEHOLDERS: &[&str] = &["i", "id", "device", "run"];
const CLIENT_ID_PLACEHOLDERS: &[&str] = &["i", "role", "device", "run"];

/// `mqtt://host:port` or `mqtts://host:port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    pub fn parse(text: &str) -> Result<BrokerUrl, String> {
        let (tls, rest) = if let Some(r) = text.strip_prefix("mqtt://") {
            (false, r)
        } else if let Some(r) = text.strip_prefix("mqtts://") {
            (true, r)
        } else {
            return Err(format!(
                "`{text}` is not an MQTT URL: write mqtt://HOST:PORT or mqtts://HOST:PORT"
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('@') {
            return Err("credentials do not belong in the URL (shell history, process lists): use --username and --password-env or --password-file".into());
        }
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "`{text}`: an MQTT URL has no path or query, only a host and a port"
            ));
        }
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = split_host_port(rest, default_port)
            .ok_or_else(|| format!("`{text}`: the port must be a number from 1 to 65535"))?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
        {
            return Err(format!(
                "`{text}`: `{host}` is not a host name or IP address"
            ));
        }
        Ok(BrokerUrl { tls, host, port })
    }
}

fn split_host_port(rest: &str, default_port: u16) -> Option<(String, u16)> {
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|&p| p > 0);
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match rest.rsplit_once(':') {
        Some((host, p)) => Some((host.to_string(), parse_port(p)?)),
        None => Some((rest.to_string(), default_port)),
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// How fast each publisher publishes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PublishRate {
    /// Messages per second, paced on a 1 ms tick (several per tick above 1000/s).
    PerSecond(f64),
    /// As fast as the client takes them (its request queue pushes back).
    Max,
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Which certificate each client presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientIdentity {
    /// No client certificate.
    None,
    /// One certificate and key for every client.
    Shared { cert: PathBuf, key: PathBuf },
    /// A site PKI directory: client k presents `devices/<ids[k % n]>.pem` and `.key`.
    Devices { pki_dir: PathBuf, ids: Vec<String> },
}

/// TLS for `mqtts://` URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The CA the server certificate must chain to.
    pub ca_file: PathBuf,
    pub identity: ClientIdentity,
    /// The name the server certificate must cover, when it is not the URL's host
    /// (a test variant on 127.0.0.1 of a broker named `edge1.example`).
    pub server_name: Option<String>,
}

/// Everything a run needs; [`BenchConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub url: BrokerUrl,
    pub publishers: u32,
    pub subscribers: u32,
    pub rate: PublishRate,
    pub payload_bytes: usize,
    pub qos: u8,
    /// The measured window; publishers stop at its end.
    pub duration: Duration,
    /// Publishing before the window: counted, but not in latency or throughput.
    pub warmup: Duration,
    /// How long to wait, after the window, for messages still on their way.
    pub drain_timeout: Duration,
    /// Per connection: TCP + TLS + CONNACK.
    pub connect_timeout: Duration,
    /// New connections per second; 0 opens them all at once.
    pub connect_rate: f64,
    /// Stop a publisher after this many messages, even before the window ends.
    pub max_messages_per_publisher: Option<u64>,
    /// Topic pattern: `{i}` publisher index, `{id}` its client id, `{device}`, `{run}`.
    pub topic: String,
    /// Client id pattern: `{i}`, `{role}` (pub or sub), `{device}`, `{run}`.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Password>,
    pub tls: Option<TlsSettings>,
    pub keepalive: Duration,
    /// QoS 1/2 publishes in flight per publisher.
    pub inflight: u16,
    /// A live progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// How the load was derived from a site, reported as is.
    pub scale: Option<super::site::Scale>,
}

impl BenchConfig {
    pub fn new(url: BrokerUrl) -> BenchConfig {
        BenchConfig {
            url,
            publishers: 1,
            subscribers: 1,
            rate: PublishRate::PerSecond(100.0),
            payload_bytes: 256,
            qos: 1,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(1),
            drain_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            connect_rate: 500.0,
            max_messages_per_publisher: None,
            topic: DEFAULT_TOPIC.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            username: None,
            password: None,
            tls: None,
            keepalive: Duration::from_secs(30),
            inflight: 100,
            progress: true,
            scale: None,
        }
    }

    pub fn clients(&self) -> u32 {
        self.publishers.saturating_add(self.subscribers)
    }

    /// Time to open every connection at the ramp rate, then wait for the
    /// last subscriber (connect timeout + 1 s, SUBACK within the connect
    /// timeout) and the last publisher (connect timeout + 1 s).
    pub fn connect_budget(&self) -> Duration {
        let ramp = if self.connect_rate > 0.0 {
            Duration::from_secs_f64(f64::from(self.clients()) / self.connect_rate)
        } else {
            Duration::ZERO
        };
        ramp + 3 * self.connect_timeout + Duration::from_secs(2)
    }

    /// The run stops by this time whatever happens: connect budget, warm-up,
    /// window, drain, and 5 s for stalled publishers (1 s) and the disconnect (1 s).
    pub fn hard_deadline(&self) -> Duration {
        self.connect_budget()
            + self.warmup
            + self.duration
            + self.drain_timeout
            + Duration::from_secs(5)
    }

    /// Messages per second across all publishers (`None` at `max`).
    pub fn aggregate_rate(&self) -> Option<f64> {
        match self.rate {
            PublishRate::PerSecond(r) => Some(r * f64::from(self.publishers)),
            PublishRate::Max => None,
        }
    }

    /// The device id client `index` (publishers first, then subscribers) presents.
    pub fn device_of(&self, index: u32) -> Option<&str> {
        match self.tls.as_ref().map(|t| &t.identity) {
            Some(ClientIdentity::Devices { ids, .. }) if !ids.is_empty() => {
                Some(ids[index as usize % ids.len()].as_str())
            }
            _ => None,
        }
    }

    /// The client id of publisher or subscriber `index`.
    pub fn client_id_of(&self, role: Role, index: u32, run: &str) -> String {
        let global = match role {
            Role::Publisher => index,
            Role::Subscriber => self.publishers + index,
        };
        let device = self.device_of(global).unwrap_or("");
        expand(
            &self.client_id,
            &[
                ("i", &index.to_string()),
                ("role", role.as_str()),
                ("device", device),
                ("run", run),
            ],
        )
    }

    /// The topic publisher `index` publishes on.
    pub fn topic_of(&self, index: u32, run: &str) -> String {
        let id = self.client_id_of(Role::Publisher, index, run);
        let device = self.device_of(index).unwrap_or("");
        expand(
            &self.topic,
            &[
                ("i", &index.to_string()),
                ("id", &id),
                ("device", device),
                ("run", run),
            ],
        )
    }

    /// What subscribers subscribe to: the topic pattern with every level that
    /// varies per publisher replaced by `+`.
    pub fn subscription(&self, run: &str) -> String {
        self.topic
            .split('/')
            .map(|level| {
                if ["{i}", "{id}", "{device}"]
                    .iter()
                    .any(|p| level.contains(p))
                {
                    "+".to_string()
                } else {
                    expand(level, &[("run", run)])
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every problem of the configuration, each a sentence; empty when it can run.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.load_problems(&mut out);
        self.time_problems(&mut out);
        self.identity_problems(&mut out);
        out
    }

    fn load_problems(&self, out: &mut Vec<String>) {
        if self.publishers == 0 {
            out.push("--publishers must be at least 1".into());
        }
        if self.clients() > MAX_CLIENTS {
            out.push(format!(
                "{} publishers and {} subscribers are {} clients; one bench process opens at most {MAX_CLIENTS}",
                self.publishers,
                self.subscribers,
                self.clients()
            ));
        }
        if let PublishRate::PerSecond(r) = self.rate {
            if !(r > 0.0 && r <= 1_000_000.0) {
                out.push(format!(
                    "--rate {r}/s: write a rate above 0 and at most 1000000/s per publisher, or `max`"
                ));
            }
        }
        if !(HEADER_LEN..=MAX_PAYLOAD).contains(&self.payload_bytes) {
            out.push(format!(
                "--payload {} B: bench needs at least {HEADER_LEN} B (publisher, sequence number and send time travel in the payload) and sends at most {MAX_PAYLOAD} B",
                self.payload_bytes
            ));
        }
        if self.qos > 2 {
            out.push(format!("--qos {}: MQTT has QoS 0, 1 and 2", self.qos));
        }
        if self.inflight == 0 {
            out.push("--inflight must be at least 1".into());
        }
        if self.connect_rate < 0.0 || !self.connect_rate.is_finite() {
            out.push("--connect-rate must be 0 (all at once) or a positive rate".into());
        }
    }

    fn time_problems(&self, out: &mut Vec<String>) {
        let hour = Duration::from_secs(3600);
        let checks = [
            (
                "--duration",
                self.duration,
                Duration::from_millis(100),
                24 * hour,
            ),
            ("--warmup", self.warmup, Duration::ZERO, hour),
            (
                "--drain-timeout",
                self.drain_timeout,
                Duration::from_millis(100),
                Duration::from_secs(600),
            ),
            (
                "--connect-timeout",
                self.connect_timeout,
                Duration::from_secs(1),
                Duration::from_secs(300),
            ),
            (
                "--keepalive",
                self.keepalive,
                Duration::ZERO,
                Duration::from_secs(65535),
            ),
        ];
        for (flag, value, min, max) in checks {
            if value < min || value > max {
                out.push(format!("{flag} {value:?} is outside {min:?} to {max:?}"));
            }
        }
        if !self.keepalive.is_zero() && self.keepalive < Duration::from_secs(1) {
            out.push("--keepalive: MQTT counts keepalive in whole seconds (or 0 for none)".into());
        }
    }

    fn identity_problems(&self, out: &mut Vec<String>) {
        out.extend(pattern_problems("--topic", &self.topic, TOPIC_PLACEHOLDERS));
        out.extend(pattern_problems(
            "--client-id",
            &self.client_id,
            CLIENT_ID_PLACEHOLDERS,
        ));
        if self.topic.contains(['+', '#']) || self.topic.starts_with('$') {
            out.push(format!(
                "--topic `{}`: a publish topic has no wildcard (`+`, `#`) and does not start with `$`",
                self.topic
            ));
        }
        if self.url.tls != self.tls.is_some() {
            out.push(if self.url.tls {
                "mqtts:// needs TLS settings: --ca (and --cert/--key or --pki for client certificates)".into()
            } else {
                "TLS settings were given for an mqtt:// URL: use mqtts://".into()
            });
        }
        if let Some(ClientIdentity::Devices { ids, .. }) = self.tls.as_ref().map(|t| &t.identity) {
            if ids.is_empty() {
                out.push("the PKI gives no device certificate to present".into());
            }
        }
        if out.is_empty() && self.clients() <= MAX_CLIENTS {
            self.unique_client_ids(out);
        }
    }

    fn unique_client_ids(&self, out: &mut Vec<String>) {
        let mut seen = BTreeSet::new();
        let roles = [
            (Role::Publisher, self.publishers),
            (Role::Subscriber, self.subscribers),
        ];
        for (role, count) in roles {
            for i in 0..count {
                let id = self.client_id_of(role, i, "r");
                if id.is_empty() || id.len() > 256 {
                    out.push(format!(
                        "--client-id `{}` gives `{id}`: a client id must have 1 to 256 characters",
                        self.client_id
                    ));
                    return;
                }
                if !seen.insert(id.clone()) {
                    out.push(format!(
                        "--client-id `{}` gives `{id}` to two clients; the broker would disconnect one of them: add {{i}} and {{role}}",
                        self.client_id
                    ));
                    return;
                }
            }
        }
    }
}

/// Publishers publish, subscribers subscribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Publisher,
    Subscriber,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publisher => "pub",
            Role::Subscriber => "sub",
        }
    }
}

/// Replaces `{name}` by its value; unknown names stay as they are (checked before).
pub fn expand(pattern: &str, values: &[(&str, &str)]) -> String {
    let mut out = pattern.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Unknown or unbalanced placeholders, and characters no MQTT string may hold.
fn pattern_problems(flag: &str, pattern: &str, known: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if pattern.is_empty() {
        out.push(format!("{flag} is empty"));
    }
    if pattern.chars().any(|c| c.is_control()) {
        out.push(format!("{flag} holds a control character"));
    }
    let mut rest = pattern;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            out.push(format!("{flag} `{pattern}`: a `}}` without its `{{`"));
            break;
        }
        let Some(close) = rest[open..].find('}') else {
            out.push(format!("{flag} `{pattern}`: a `{{` without its `}}`"));
            break;
        };
        let name = &rest[open + 1..open + close];
        if !known.contains(&name) {
            let list: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
            out.push(format!(
                "{flag} `{pattern}`: unknown placeholder `{{{name}}}` (known: {})",
                list.join(", ")
            ));
        }
        rest = &rest[open + close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BenchConfig {
        BenchConfig::new(BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap())
    }

    #[test]
    fn parses_mqtt_urls() {
        let u = BrokerUrl::parse("mqtts://broker.example:8884").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (true, "broker.example", 8884)
        );
        assert_eq!(BrokerUrl::parse("mqtt://h").unwrap().port, 1883);
        assert_eq!(BrokerUrl::parse("mqtts://h/").unwrap().port, 8883);
        let v6 = BrokerUrl::parse("mqtt://[::1]:1884").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 1884));
        assert_eq!(v6.to_string(), "mqtt://[::1]:1884");
        for bad in [
            "http://h:1",
            "mqtt://h:0",
            "mqtt://h:x",
            "mqtt://",
            "mqtt://h/topic",
            "mqtt://u:p@h",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(BrokerUrl::parse("mqtt://u:p@h")
            .unwrap_err()
            .contains("--password-env"));
    }

    #[test]
    fn expands_patterns_and_derives_the_subscription() {
        let c = config();
        assert_eq!(
            c.client_id_of(Role::Publisher, 3, "ab12"),
            "mqttforge-ab12-pub3"
        );
        assert_eq!(
            c.client_id_of(Role::Subscriber, 0, "ab12"),
            "mqttforge-ab12-sub0"
        );
        assert_eq!(
            c.topic_of(3, "ab12"),
            "devices/mqttforge-ab12-pub3/telemetry/bench"
        );
        assert_eq!(c.subscription("ab12"), "devices/+/telemetry/bench");
        let c = BenchConfig {
            topic: "bench/{run}/dev-{i}/t".into(),
            ..config()
        };
        assert_eq!(c.topic_of(7, "r1"), "bench/r1/dev-7/t");
        assert_eq!(c.subscription("r1"), "bench/r1/+/t");
    }

    #[test]
    fn device_identities_cycle_over_publishers_then_subscribers() {
        let c = BenchConfig {
            url: BrokerUrl::parse("mqtts://h").unwrap(),
            publishers: 3,
            subscribers: 1,
            client_id: DEFAULT_DEVICE_CLIENT_ID.into(),
            topic: DEFAULT_DEVICE_TOPIC.into(),
            tls: Some(TlsSettings {
                ca_file: "ca.pem".into(),
                identity: ClientIdentity::Devices {
                    pki_dir: "pki".into(),
                    ids: vec!["a".into(), "b".into()],
                },
                server_name: None,
            }),
            ..config()
        };
        assert_eq!(c.client_id_of(Role::Publisher, 2, "r"), "a-r-pub2");
        assert_eq!(c.client_id_of(Role::Subscriber, 0, "r"), "b-r-sub0");
        assert_eq!(c.topic_of(1, "r"), "devices/b/telemetry/bench");
        assert!(c.problems().is_empty(), "{:?}", c.problems());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let c = BenchConfig {
            publishers: 0,
            payload_bytes: 10,
            qos: 3,
            rate: PublishRate::PerSecond(0.0),
            topic: "a/{x}/#".into(),
            client_id: "same".into(),
            duration: Duration::ZERO,
            ..config()
        };
        let p = c.problems().join("\n");
        for needle in [
            "--publishers",
            "--payload 10 B",
            "--qos 3",
            "--rate",
            "{x}",
            "wildcard",
            "--duration",
        ] {
            assert!(p.contains(needle), "{needle} missing from:\n{p}");
        }
    }

    #[test]
    fn client_ids_must_differ() {
        let c = BenchConfig {
            client_id: "bench-{i}".into(),
            ..config()
        };
        let p = c.problems().join("\n");
        assert!(p.contains("`bench-0` to two clients"), "{p}");
        assert!(config().problems().is_empty(), "{:?}", config().problems());
    }

    #[test]
    fn tls_settings_match_the_scheme() {
        let c = BenchConfig::new(BrokerUrl::parse("mqtts://h").unwrap());
        assert!(c.problems().join("\n").contains("--ca"));
    }

    #[test]
    fn passwords_never_print() {
        let c = BenchConfig {
            password: Some(Password("hunter2-secret".into())),
            ..config()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn the_hard_deadline_covers_every_phase() {
        let c = BenchConfig {
            publishers: 100,
            subscribers: 0,
            connect_rate: 50.0,
            ..config()
        };
        // 2 s ramp + 3 x 5 s + 2 s to connect and subscribe, 1 s warm-up,
        // 10 s window, 5 s drain, 5 s for stalled publishers and the disconnect.
        assert_eq!(c.hard_deadline(), Duration::from_secs(40));
    }
}
