//! `bench`: an MQTT load generator on rumqttc (the client of the bundled
//! broker's family, on the tokio runtime rumqttd already brings).
//!
//! Publishers put their index, a sequence number and a send time in every
//! payload ([`payload`]); subscribers track each publisher's sequence
//! ([`tracker`]) and time every first delivery into an HDR histogram, so a
//! run reports sent, received, lost, duplicated and out-of-order messages,
//! throughput over the window and end-to-end latency percentiles.
//!
//! Every run is bounded: connections open within the ramp and a connect
//! timeout, publishers stop at the end of the window (or their message
//! count), the drain waits at most its timeout, and a hard deadline
//! ([`BenchConfig::hard_deadline`]) stops whatever is left. A broker that
//! goes away ends the run early with the loss and the errors reported.
//!
//! With a site ([`site::from_site`], [`judge`]), the load is the site's
//! `load_test` scaled to one process, and the run is judged against the
//! site's targets.
//!
//! `verify --bench` (a short run as a probe) would call, on the test
//! variant's TLS listener and PKI:
//!
//! ```text
//! let url = BrokerUrl { tls: true, host: "127.0.0.11".into(), port: ports["devices"] };
//! let mut base = BenchConfig::new(url);
//! base.tls = Some(TlsSettings {
//!     ca_file: pki.join("ca.pem"),
//!     identity: ClientIdentity::Devices { pki_dir: pki.clone(), ids: site.devices().map(|d| d.id).collect() },
//!     server_name: Some(server_name),
//! });
//! base.topic = config::DEFAULT_DEVICE_TOPIC.into();
//! base.client_id = config::DEFAULT_DEVICE_CLIENT_ID.into();
//! base.progress = false;
//! base.warmup = Duration::from_millis(500);
//! let overrides = SiteOverrides { duration: Some(Duration::from_secs(3)), connect_rate: None };
//! let config = bench::from_site(&site, base, &overrides)?;      // Err: Vec<Diagnostic>
//! let report = bench::run(&config).map_err(...)?;               // Err: setup problems
//! let verdict = bench::judge(&site, &report);                   // verdict.held -> Pass / Fail
//! ```

pub mod client;
pub mod config;
pub mod engine;
pub mod payload;
pub mod progress;
pub mod report;
pub mod site;
pub mod state;
pub mod tracker;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::{BenchConfig, BrokerUrl, ClientIdentity, Password, PublishRate, TlsSettings};
pub use engine::StopReason;
pub use report::BenchReport;
pub use site::{from_site, judge, SiteOverrides, Verdict};

use engine::{Ctx, Timeline};
use state::Shared;

/// Runs the load and reports it. `Err` holds every problem found before
/// anything connected (the configuration, unreadable certificates); a
/// broker that cannot be reached or goes away is a report, not an error.
pub fn run(config: &BenchConfig) -> Result<BenchReport, Vec<String>> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    let tls = client::TlsConfigs::load(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mqttforge-bench")
        .build()
        .map_err(|e| vec![format!("cannot start the tokio runtime: {e}")])?;
    let run_id = new_run_id();
    let shared = Arc::new(Shared::new(run_id, config.publishers, config.subscribers));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run_tag = format!("{run_id:08x}");
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        shared: shared.clone(),
        tls,
        run_tag: run_tag.clone(),
        stop: stop_rx,
        show_progress: config.progress && std::io::stderr().is_terminal(),
    });
    let timeline = Mutex::new(Timeline::default());
    let started = Instant::now();
    let deadline = config.hard_deadline();
    let stopped_by = runtime.block_on(async {
        match tokio::time::timeout(deadline, engine::drive(ctx.clone(), &timeline)).await {
            Ok(reason) => reason,
            Err(_) => {
                shared.error(
                    "run: hard deadline",
                    &format!("the run was stopped after {deadline:?}"),
                );
                StopReason::HardDeadline
            }
        }
    });
    let _ = stop_tx.send(true);
    if ctx.show_progress {
        progress::clear();
    }
    let elapsed = started.elapsed();
    runtime.shutdown_timeout(Duration::from_secs(1));
    let timeline = *state::lock(&timeline);
    Ok(BenchReport::build(
        config, &shared, timeline, stopped_by, elapsed, &run_tag,
    ))
}

/// A run id that differs between runs and processes (not a secret: it only
/// tells this run's messages from another's).
fn new_run_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ (nanos >> 64) as u64;
    (mixed ^ (mixed >> 32)) as u32
}
