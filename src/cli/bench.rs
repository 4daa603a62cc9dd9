//! `mqttforge bench URL [--spec SPEC]`: load-test a broker.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::bench::config::{DEFAULT_DEVICE_CLIENT_ID, DEFAULT_DEVICE_TOPIC};
use crate::bench::{
    self, BenchConfig, BrokerUrl, ClientIdentity, Password, PublishRate, SiteOverrides, TlsSettings,
};
use crate::diag;
use crate::diag::Code;
use crate::spec::{self, Site};

/// Load-test an MQTT broker: sent, received, lost, duplicated and out-of-order
/// messages, throughput and end-to-end latency percentiles.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Every message carries its publisher, a sequence number and its send time; subscribers
(subscribed to the topic pattern with `+` for the per-publisher level) count what is lost,
duplicated or out of order and time each delivery. Connections are not re-opened: a broker
that goes away ends the run with the loss and the errors reported. A run stops by itself:
connect ramp + --connect-timeout, --warmup, --duration, --drain-timeout, then a hard deadline.

With --spec, the load is the site's `load_test` (publishers capped at 500 per process, each
publishing faster so the aggregate rate is the declared one; --duration may shorten the
window) and the run is judged against the site's targets: P99 latency under
monitoring.alerts.latency_p99_warning (default 50 ms), no loss at QoS 1/2, the declared rate
sustained within 5%, every client connected. With an mqtts:// URL and no --cert, clients
present the site's device certificates from --pki (default: the spec's pki.dir, else `pki`).

Exit status: 0 every target held (without --spec: nothing lost, no error), 1 otherwise,
2 bad command line.

Examples:
  mqttforge bench mqtt://127.0.0.1:1883 --publishers 10 --rate 100/s --qos 1 --duration 30s
  mqttforge bench mqtt://127.0.0.1:1883 --rate max --qos 0 --duration 10s --format json
  MQTT_PASSWORD=... mqttforge bench mqtt://broker:1883 --username bench --password-env MQTT_PASSWORD
  mqttforge bench mqtts://127.0.0.1:8883 --ca pki/ca.pem --cert pki/devices/press-01.pem \\
      --key pki/devices/press-01.key --server-name edge1.plant-lyon.acme.example
  mqttforge bench mqtts://edge1.plant-lyon.acme.example:8883 --spec site.yaml --duration 60s")]
pub struct Args {
    /// The broker: mqtt://HOST:PORT or mqtts://HOST:PORT.
    pub url: String,
    /// Take the load from this site's `load_test` and judge the run against its targets.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Publishing clients [default: 1].
    #[arg(long)]
    pub publishers: Option<u32>,
    /// Subscribing clients, each subscribed to every publisher's topic [default: 1].
    #[arg(long)]
    pub subscribers: Option<u32>,
    /// Per publisher: `100/s`, `600/min`, a number per second, or `max` [default: 100/s].
    #[arg(long, value_parser = parse_publish_rate)]
    pub rate: Option<PublishRate>,
    /// Payload size: `256B`, `4KiB`, or a number of bytes (at least 28) [default: 256B].
    #[arg(long, value_parser = parse_size)]
    pub payload: Option<usize>,
    /// QoS of publishes and subscriptions: 0, 1 or 2 [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: Option<u8>,
    /// The measured window: `30s`, `5m` [default: 10s; with --spec, the load test's].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Publishing before the window, left out of latency and throughput.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub warmup: Duration,
    /// After the window, how long to wait for messages and acks still on their way.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub drain_timeout: Duration,
    /// Per connection (TCP, TLS, CONNACK); whole seconds.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub connect_timeout: Duration,
    /// New connections per second (`0` opens all at once) [default: 500/s; with --spec,
    /// limits.connect_rate when set].
    #[arg(long, value_parser = parse_connect_rate)]
    pub connect_rate: Option<f64>,
    /// Stop each publisher after this many messages (even before the window ends).
    #[arg(long)]
    pub count: Option<u64>,
    /// Topic pattern: `{i}` publisher index, `{id}` its client id, `{device}`, `{run}`
    /// [default: devices/{id}/telemetry/bench; with device certificates
    /// devices/{device}/telemetry/bench].
    #[arg(long)]
    pub topic: Option<String>,
    /// Client id pattern: `{i}`, `{role}` (pub or sub), `{device}`, `{run}` (per run)
    /// [default: mqttforge-{run}-{role}{i}; with device certificates {device}-{run}-{role}{i}].
    #[arg(long)]
    pub client_id: Option<String>,
    /// Username every client logs in with.
    #[arg(long)]
    pub username: Option<String>,
    /// The environment variable holding the password (never the password itself).
    #[arg(
        long,
        value_name = "VAR",
        conflicts_with = "password_file",
        requires = "username"
    )]
    pub password_env: Option<String>,
    /// A file holding the password (its first line).
    #[arg(long, value_name = "PATH", requires = "username")]
    pub password_file: Option<PathBuf>,
    /// CA certificate (PEM) the server's certificate must chain to (mqtts://).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) every client presents.
    #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "pki")]
    pub cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// A site PKI directory: each client presents a device certificate from DIR/devices/
    /// (and DIR/ca.pem is the default --ca).
    #[arg(long, value_name = "DIR")]
    pub pki: Option<PathBuf>,
    /// The name the server certificate must cover, if not the URL's host.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// MQTT keepalive (`0` for none).
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub keepalive: Duration,
    /// QoS 1/2 publishes in flight per publisher.
    #[arg(long, default_value_t = 100)]
    pub inflight: u16,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No live progress line on stderr (it only shows on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    spec::units::Duration::parse(s)
        .map(|d| Duration::from_millis(d.millis()))
        .ok_or_else(|| format!("`{s}` is not a duration: write `500ms`, `30s`, `5m`, `1h`"))
}

fn parse_size(s: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return Ok(n);
    }
    spec::units::ByteSize::parse(s)
        .and_then(|b| usize::try_from(b.bytes()).ok())
        .ok_or_else(|| {
            format!("`{s}` is not a size: write `256B`, `4KiB`, `1MiB` or a number of bytes")
        })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    if let Ok(n) = s.parse::<f64>() {
        if n.is_finite() && n >= 0.0 {
            return Ok(n);
        }
    }
    spec::units::Rate::parse(s)
        .map(|r| r.per_second())
        .ok_or_else(|| {
            format!("`{s}` is not a rate: write `100/s`, `600/min` or a number per second")
        })
}

fn parse_publish_rate(s: &str) -> Result<PublishRate, String> {
    if s == "max" {
        return Ok(PublishRate::Max);
    }
    parse_rate(s).map(PublishRate::PerSecond)
}

fn parse_connect_rate(s: &str) -> Result<f64, String> {
    parse_rate(s)
}

/// A problem with the command line (exit 2) or with the files and spec it names (exit 1).
enum Refusal {
    Usage(Vec<String>),
    Input(String),
}

pub fn run(args: Args) -> u8 {
    let site = match &args.spec {
        None => None,
        Some(path) => match spec::load(path) {
            Ok(s) => Some(s),
            Err(d) => {
                print!("{}", diag::render_text(&d, stdout_style()));
                return exit::FAILED;
            }
        },
    };
    let config = match configure(&args, site.as_ref()) {
        Ok(c) => c,
        Err(Refusal::Usage(problems)) => {
            for p in problems {
                super::report(
                    Code::Usage,
                    p,
                    "`mqttforge bench --help` lists the options and examples",
                );
            }
            return exit::USAGE;
        }
        Err(Refusal::Input(message)) => {
            super::report(
                Code::Bench,
                message,
                "`mqttforge validate SPEC` checks the spec the benchmark reads",
            );
            return exit::FAILED;
        }
    };
    let report = match bench::run(&config) {
        Ok(r) => r,
        Err(problems) => {
            for p in problems {
                super::report(
                    Code::Bench,
                    p,
                    "is the broker up and reachable at --host/--port? `mqttforge verify SPEC` probes a site end to end",
                );
            }
            return exit::FAILED;
        }
    };
    let verdict = site.as_ref().map(|s| bench::judge(s, &report));
    let passed = match &verdict {
        Some(v) => v.held,
        None => report.clean(),
    };
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&report).expect("the report serializes");
            value["verdict"] = json!(verdict);
            value["passed"] = json!(passed);
            println!("{}", serde_json::to_string_pretty(&value).expect("JSON"));
        }
        Format::Text => {
            print!("{}", report.to_text());
            match &verdict {
                Some(v) => print!("{}", v.to_text()),
                None => println!(
                    "\nresult: {}",
                    if passed {
                        "nothing lost, no error"
                    } else {
                        "FAILED: messages lost, an error, or the run did not complete"
                    }
                ),
            }
        }
    }
    if passed {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// The run's configuration from the flags (and the site's load test).
fn configure(args: &Args, site: Option<&Site>) -> Result<BenchConfig, Refusal> {
    let url = BrokerUrl::parse(&args.url).map_err(|e| Refusal::Usage(vec![e]))?;
    let mut config = BenchConfig::new(url);
    config.warmup = args.warmup;
    config.drain_timeout = args.drain_timeout;
    config.connect_timeout = args.connect_timeout;
    config.max_messages_per_publisher = args.count;
    config.keepalive = args.keepalive;
    config.inflight = args.inflight;
    config.progress = !args.no_progress;
    config.username = args.username.clone();
    config.password = password(args)?;
    config.tls = tls_settings(args, site)?;
    let devices = matches!(
        config.tls.as_ref().map(|t| &t.identity),
        Some(ClientIdentity::Devices { .. })
    );
    config.topic = args.topic.clone().unwrap_or_else(|| {
        if devices {
            DEFAULT_DEVICE_TOPIC
        } else {
            bench::config::DEFAULT_TOPIC
        }
        .into()
    });
    config.client_id = args.client_id.clone().unwrap_or_else(|| {
        if devices {
            DEFAULT_DEVICE_CLIENT_ID
        } else {
            bench::config::DEFAULT_CLIENT_ID
        }
        .into()
    });
    let config = match site {
        Some(site) => with_site_load(args, site, config)?,
        None => with_flag_load(args, config),
    };
    let problems = config.problems();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Refusal::Usage(problems))
    }
}

fn with_flag_load(args: &Args, mut config: BenchConfig) -> BenchConfig {
    config.publishers = args.publishers.unwrap_or(config.publishers);
    config.subscribers = args.subscribers.unwrap_or(config.subscribers);
    config.rate = args.rate.unwrap_or(config.rate);
    config.payload_bytes = args.payload.unwrap_or(config.payload_bytes);
    config.qos = args.qos.unwrap_or(config.qos);
    config.duration = args.duration.unwrap_or(config.duration);
    config.connect_rate = args.connect_rate.unwrap_or(config.connect_rate);
    config
}

fn with_site_load(args: &Args, site: &Site, config: BenchConfig) -> Result<BenchConfig, Refusal> {
    let from_flags: Vec<&str> = [
        ("--publishers", args.publishers.is_some()),
        ("--subscribers", args.subscribers.is_some()),
        ("--rate", args.rate.is_some()),
        ("--payload", args.payload.is_some()),
        ("--qos", args.qos.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect();
    if !from_flags.is_empty() {
        return Err(Refusal::Usage(vec![format!(
            "{} set the load, which --spec takes from the site's load_test (only --duration and --connect-rate may change it)",
            from_flags.join(", ")
        )]));
    }
    let overrides = SiteOverrides {
        duration: args.duration,
        connect_rate: args.connect_rate,
    };
    bench::from_site(site, config, &overrides)
        .map_err(|d| Refusal::Input(diag::render_text(&d, stdout_style()).trim_end().to_string()))
}

fn password(args: &Args) -> Result<Option<Password>, Refusal> {
    if let Some(var) = &args.password_env {
        return match std::env::var(var) {
            Ok(p) if !p.is_empty() => Ok(Some(Password(p))),
            _ => Err(Refusal::Usage(vec![format!(
                "--password-env {var}: the environment variable is not set (or empty)"
            )])),
        };
    }
    if let Some(path) = &args.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Refusal::Input(format!("--password-file {}: {e}", path.display())))?;
        let first = text.lines().next().unwrap_or("").to_string();
        if first.is_empty() {
            return Err(Refusal::Input(format!(
                "--password-file {}: the first line is empty",
                path.display()
            )));
        }
        return Ok(Some(Password(first)));
    }
    Ok(None)
}

/// TLS for mqtts:// URLs: the CA, and a shared certificate, device
/// certificates from a PKI directory, or none.
fn tls_settings(args: &Args, site: Option<&Site>) -> Result<Option<TlsSettings>, Refusal> {
    let url_tls = args.url.starts_with("mqtts://");
    let any_tls_flag = args.ca.is_some() || args.cert.is_some() || args.pki.is_some();
    if !url_tls {
        if any_tls_flag || args.server_name.is_some() {
            return Err(Refusal::Usage(vec![
                "--ca, --cert, --pki and --server-name need an mqtts:// URL".into(),
            ]));
        }
        return Ok(None);
    }
    let pki_dir = args.pki.clone().or_else(|| {
        let site = site?;
        if args.cert.is_some() {
            return None;
        }
        let dir = site.spec.pki.as_ref().and_then(|p| p.dir.clone());
        Some(PathBuf::from(dir.unwrap_or_else(|| "pki".into())))
    });
    let ca_file = match (&args.ca, &pki_dir) {
        (Some(ca), _) => ca.clone(),
        (None, Some(dir)) => dir.join("ca.pem"),
        (None, None) => {
            return Err(Refusal::Usage(vec![
                "an mqtts:// URL needs --ca FILE (or --pki DIR holding ca.pem)".into(),
            ]))
        }
    };
    let identity = match (&args.cert, &args.key, &pki_dir) {
        (Some(cert), Some(key), _) => ClientIdentity::Shared {
            cert: cert.clone(),
            key: key.clone(),
        },
        (_, _, Some(dir)) => ClientIdentity::Devices {
            pki_dir: dir.clone(),
            ids: device_ids(dir, site)?,
        },
        _ => ClientIdentity::None,
    };
    Ok(Some(TlsSettings {
        ca_file,
        identity,
        server_name: args.server_name.clone(),
    }))
}

/// The site's devices that have a certificate in DIR/devices (spec order),
/// or without a site every certificate there (name order).
fn device_ids(dir: &Path, site: Option<&Site>) -> Result<Vec<String>, Refusal> {
    let devices = dir.join("devices");
    let has_cert = |id: &str| devices.join(format!("{id}.pem")).is_file();
    let ids: Vec<String> = match site {
        Some(site) => site
            .devices()
            .map(|d| d.id)
            .filter(|id| has_cert(id))
            .collect(),
        None => {
            let entries = std::fs::read_dir(&devices)
                .map_err(|e| Refusal::Input(format!("{}: {e}", devices.display())))?;
            let mut ids: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(".pem").map(str::to_string)
                })
                .collect();
            ids.sort();
            ids
        }
    };
    if ids.is_empty() {
        let hint = match site {
            Some(_) => format!(
                "issue them with `mqttforge pki issue device SPEC --dir {}`",
                dir.display()
            ),
            None => "give --pki the directory `mqttforge pki` writes".into(),
        };
        return Err(Refusal::Input(format!(
            "no device certificate in {}: {hint}",
            devices.display()
        )));
    }
    Ok(ids)
}
