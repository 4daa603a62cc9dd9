//! A site's `load_test` as a bench run on one machine, and the run judged
//! against the site's targets.
//!
//! Scaling: one process keeps at most [`MAX_PUBLISHERS_PER_PROCESS`]
//! publishers (each is a connection with two tasks; a few hundred saturate
//! neither the file-descriptor limit nor the scheduler of 2 cores) and at
//! most [`MAX_SUBSCRIBERS_PER_PROCESS`] subscribers. Fewer publishers each
//! publish faster, so the aggregate rate the broker sees is the declared
//! one; fan-out is cut only past the subscriber cap, and the report says so.
//!
//! Targets: P99 end-to-end latency under the site's latency alert
//! (`monitoring.alerts.latency_p99_warning`, else the 50 ms default of the
//! alert table), no loss at QoS 1/2 (no duplicate at QoS 2), the declared
//! rate sustained over the whole window within [`RATE_TOLERANCE`], every
//! client connected and none dropped.

use serde::Serialize;

use super::config::{BenchConfig, PublishRate, MAX_PAYLOAD};
use super::engine::StopReason;
use super::payload::HEADER_LEN;
use super::report::BenchReport;
use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::spec::model::LoadTest;
use crate::spec::Site;

/// Publishers one bench process opens for a site's load test.
pub const MAX_PUBLISHERS_PER_PROCESS: u32 = 500;
/// Subscribers one bench process opens for a site's load test.
pub const MAX_SUBSCRIBERS_PER_PROCESS: u32 = 100;
/// The measured rate may fall this far below the declared one: pacing runs on
/// a 1 ms timer and catches up on the next tick, and the window's edges cut
/// a tick's batch; the rest is headroom for a shared 2-core machine.
pub const RATE_TOLERANCE: f64 = 0.05;
/// DOMAIN.md's alert table: publish latency P99 warning at 50 ms.
pub const DEFAULT_P99_MS: u64 = 50;

/// How a site's load test became this run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Scale {
    pub declared_publishers: u32,
    pub declared_subscribers: u32,
    pub declared_rate_per_publisher: f64,
    pub declared_aggregate_rate: f64,
    pub declared_duration_s: f64,
    /// Run publishers / declared publishers.
    pub factor: f64,
    /// Each change and why, in sentences.
    pub notes: Vec<String>,
}

/// Values the command line sets over the site's.
#[derive(Clone, Debug, Default)]
pub struct SiteOverrides {
    pub duration: Option<std::time::Duration>,
    pub connect_rate: Option<f64>,
}

fn where_is(site: &Site, pointer: &str) -> String {
    let span = site.spans.value(pointer);
    format!("{}:{}:{}", span.file.name, span.line, span.col)
}

/// The site's load test, scaled to this process, over `base` (URL, TLS,
/// credentials, patterns and bounds come from there).
pub fn from_site(
    site: &Site,
    mut base: BenchConfig,
    overrides: &SiteOverrides,
) -> Result<BenchConfig, Vec<Diagnostic>> {
    let Some(load) = &site.spec.load_test else {
        return Err(vec![Diagnostic::error(Code::Bench, "the site declares no `load_test`")
            .with_label(Label::primary(site.spans.key(""), "no load_test in this spec"))
            .with_help("add the load that validates the capacity, e.g. `load_test: { publishers: 200, subscribers: 2, rate: 10/s, payload: 256B, qos: 1, duration: 10m }`, or run bench without --spec")]);
    };
    if load.payload.bytes() > MAX_PAYLOAD as u64 {
        return Err(vec![Diagnostic::error(
            Code::Bench,
            format!(
                "a {} B payload is more than bench sends ({MAX_PAYLOAD} B)",
                load.payload.bytes()
            ),
        )
        .with_label(Label::primary(
            site.spans.value("/load_test/payload"),
            "too large for bench",
        ))]);
    }
    let declared_rate = load.rate.per_second();
    let aggregate = declared_rate * f64::from(load.publishers);
    let publishers = load.publishers.min(MAX_PUBLISHERS_PER_PROCESS);
    let subscribers = load.subscribers.min(MAX_SUBSCRIBERS_PER_PROCESS);
    let mut notes = Vec::new();
    if publishers < load.publishers {
        notes.push(format!(
            "{} publishers at {declared_rate}/s become {publishers} at {}/s: the same {aggregate} msg/s, as one process keeps at most {MAX_PUBLISHERS_PER_PROCESS} publishers",
            load.publishers,
            round3(aggregate / f64::from(publishers)),
        ));
    }
    if subscribers < load.subscribers {
        notes.push(format!(
            "{} subscribers become {subscribers} (one process keeps at most {MAX_SUBSCRIBERS_PER_PROCESS}): the fan-out is {subscribers}x, not {}x",
            load.subscribers, load.subscribers
        ));
    }
    let payload = (load.payload.bytes() as usize).max(HEADER_LEN);
    if payload > load.payload.bytes() as usize {
        notes.push(format!(
            "the declared {} B payload becomes {HEADER_LEN} B: bench's header (publisher, sequence, send time) needs them",
            load.payload.bytes()
        ));
    }
    let declared_duration = std::time::Duration::from_millis(load.duration.millis());
    let duration = overrides.duration.unwrap_or(declared_duration);
    if duration != declared_duration {
        notes.push(format!(
            "the window is {} s (--duration), not the declared {} s",
            duration.as_secs_f64(),
            declared_duration.as_secs_f64()
        ));
    }
    base.connect_rate = overrides
        .connect_rate
        .or(site.spec.limits.connect_rate.map(|r| r.per_second()))
        .unwrap_or(base.connect_rate);
    base.publishers = publishers;
    base.subscribers = subscribers;
    base.rate = PublishRate::PerSecond(aggregate / f64::from(publishers));
    base.payload_bytes = payload;
    base.qos = load.qos;
    base.duration = duration;
    base.scale = Some(Scale {
        declared_publishers: load.publishers,
        declared_subscribers: load.subscribers,
        declared_rate_per_publisher: declared_rate,
        declared_aggregate_rate: aggregate,
        declared_duration_s: declared_duration.as_secs_f64(),
        factor: round3(f64::from(publishers) / f64::from(load.publishers)),
        notes,
    });
    Ok(base)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Whether a target held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetOutcome {
    Held,
    Missed,
    NotApplicable,
}

/// One of the site's targets: what it requires, where that comes from, what was measured.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub required: String,
    /// The spec value (file:line:col) or default the requirement comes from.
    pub source: String,
    pub measured: String,
    pub outcome: TargetOutcome,
}

/// The run judged against the site's targets.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// No target was missed.
    pub held: bool,
    pub targets: Vec<Target>,
}

fn outcome(held: bool) -> TargetOutcome {
    if held {
        TargetOutcome::Held
    } else {
        TargetOutcome::Missed
    }
}

/// Judges a run against the site's targets.
pub fn judge(site: &Site, report: &BenchReport) -> Verdict {
    let mut targets = vec![latency_target(site, report)];
    match &site.spec.load_test {
        Some(load) => {
            targets.extend(delivery_targets(site, load, report));
            targets.push(rate_target(site, load, report));
        }
        None => targets.push(Target {
            name: "the site's load test",
            required: "a `load_test` in the spec".into(),
            source: where_is(site, ""),
            measured: "none declared".into(),
            outcome: TargetOutcome::Missed,
        }),
    }
    targets.push(connection_target(report));
    Verdict {
        held: targets.iter().all(|t| t.outcome != TargetOutcome::Missed),
        targets,
    }
}

fn latency_target(site: &Site, report: &BenchReport) -> Target {
    let declared = site
        .spec
        .monitoring
        .as_ref()
        .and_then(|m| m.alerts.latency_p99_warning);
    let (limit_ms, source) = match declared {
        Some(d) => (
            d.millis(),
            format!(
                "monitoring.alerts.latency_p99_warning at {}",
                where_is(site, "/monitoring/alerts/latency_p99_warning")
            ),
        ),
        None => (
            DEFAULT_P99_MS,
            "the alert table's default (monitoring.alerts.latency_p99_warning unset)".into(),
        ),
    };
    let (measured, held) = match &report.latency_ms {
        Some(p) => (
            format!("{:.3} ms over {} messages", p.p99, p.count),
            p.p99 < limit_ms as f64,
        ),
        None => ("no message was timed".into(), false),
    };
    Target {
        name: "latency P99 under the alert threshold",
        required: format!("< {limit_ms} ms"),
        source,
        measured,
        outcome: outcome(held),
    }
}

fn delivery_targets(site: &Site, load: &LoadTest, report: &BenchReport) -> Vec<Target> {
    let messages = &report.messages;
    let source = format!("load_test.qos at {}", where_is(site, "/load_test/qos"));
    let ran_lower = report.load.qos < load.qos;
    let measured = format!(
        "{} lost of {} expected at QoS {}",
        messages.lost, messages.expected, report.load.qos
    );
    let mut targets = vec![Target {
        name: "no loss",
        required: format!("0 lost at QoS {}", load.qos),
        source: source.clone(),
        outcome: if load.qos == 0 {
            TargetOutcome::NotApplicable
        } else {
            outcome(!ran_lower && messages.expected > 0 && messages.lost == 0)
        },
        measured: if load.qos == 0 {
            format!("{measured} (QoS 0 is at most once: loss is reported, not a target)")
        } else {
            measured
        },
    }];
    if load.qos == 2 {
        targets.push(Target {
            name: "no duplicate",
            required: "0 duplicated at QoS 2 (exactly once)".into(),
            source,
            measured: format!(
                "{} duplicated at QoS {}",
                messages.duplicated, report.load.qos
            ),
            outcome: outcome(!ran_lower && messages.duplicated == 0),
        });
    }
    targets
}

fn rate_target(site: &Site, load: &LoadTest, report: &BenchReport) -> Target {
    let aggregate = load.rate.per_second() * f64::from(load.publishers);
    let fan_out = f64::from(report.load.subscribers);
    let floor = 1.0 - RATE_TOLERANCE;
    let throughput = &report.throughput;
    let full_window = report.stopped_by == StopReason::Completed
        && throughput.window_s >= report.load.duration_s * 0.99;
    let held = full_window
        && throughput.sent_per_s >= aggregate * floor
        && throughput.received_per_s >= aggregate * fan_out * floor;
    let mut measured = format!(
        "sent {:.1} msg/s, received {:.1} msg/s over {:.1} s",
        throughput.sent_per_s, throughput.received_per_s, throughput.window_s
    );
    if !held && throughput.sent_per_s < aggregate * floor {
        measured.push_str(" (if bench's own CPU was saturated, the generator is the limit: see the README's bench ceiling and split the load over several processes)");
    }
    Target {
        name: "declared rate sustained",
        required: format!(
            ">= {:.1} msg/s sent and {:.1} msg/s received ({}x fan-out) over the {} s window, {}% tolerance",
            aggregate * floor,
            aggregate * fan_out * floor,
            report.load.subscribers,
            report.load.duration_s,
            RATE_TOLERANCE * 100.0
        ),
        source: format!("load_test at {}", where_is(site, "/load_test")),
        measured,
        outcome: outcome(held),
    }
}

fn connection_target(report: &BenchReport) -> Target {
    let connections = &report.connections;
    let clients = u64::from(report.load.publishers + report.load.subscribers);
    let held = connections.attempted == clients
        && connections.failed == 0
        && connections.lost == 0
        && connections.subscribed == u64::from(report.load.subscribers)
        && report.errors.is_empty();
    let error_count: u64 = report.errors.values().map(|e| e.count).sum();
    Target {
        name: "every client connected and stayed connected",
        required: format!("{clients} connected, 0 failed, 0 dropped, 0 errors"),
        source: "the load itself".into(),
        measured: format!(
            "{} connected, {} failed, {} dropped, {error_count} errors",
            connections.attempted - connections.failed,
            connections.failed,
            connections.lost
        ),
        outcome: outcome(held),
    }
}

impl Verdict {
    pub fn to_text(&self) -> String {
        let mut out = String::from(if self.held {
            "\nverdict: every target held\n"
        } else {
            "\nverdict: a target was missed\n"
        });
        for t in &self.targets {
            let mark = match t.outcome {
                TargetOutcome::Held => "held  ",
                TargetOutcome::Missed => "MISSED",
                TargetOutcome::NotApplicable => "n/a   ",
            };
            out.push_str(&format!(
                "{mark}  {}\n        required {} ({})\n        measured {}\n",
                t.name, t.required, t.source, t.measured
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::bench::config::BrokerUrl;
    use crate::bench::report::{Connections, Load, Messages, Percentiles, Throughput};
    use crate::source::SourceFile;

    fn example(name: &str) -> String {
        let path = format!("{}/site-examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    /// The edge example with its load_test line (and more) replaced.
    fn edge_with(replacements: &[(&str, &str)]) -> Site {
        let mut text = example("edge-mosquitto");
        for (from, to) in replacements {
            assert!(text.contains(from), "{from}");
            text = text.replace(from, to);
        }
        crate::spec::load_source(SourceFile::new("edge.yaml", text)).unwrap()
    }

    const EDGE_LOAD: &str =
        "load_test: { publishers: 200, subscribers: 2, rate: 10/s, payload: 256B, qos: 1, duration: 10m }";

    fn base() -> BenchConfig {
        BenchConfig::new(BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap())
    }

    #[test]
    fn keeps_the_aggregate_rate_with_fewer_publishers() {
        let site = crate::spec::load_source(SourceFile::new("emqx.yaml", example("emqx-cluster")))
            .unwrap();
        let c = from_site(&site, base(), &SiteOverrides::default()).unwrap();
        assert_eq!((c.publishers, c.subscribers, c.qos), (500, 10, 1));
        assert_eq!(c.rate, PublishRate::PerSecond(200.0));
        assert_eq!(c.aggregate_rate(), Some(100_000.0));
        assert_eq!(c.duration, Duration::from_secs(1800));
        assert_eq!(c.connect_rate, 1000.0, "limits.connect_rate paces the ramp");
        let scale = c.scale.unwrap();
        assert_eq!(scale.factor, 0.1);
        assert!(
            scale.notes[0]
                .contains("5000 publishers at 20/s become 500 at 200/s: the same 100000 msg/s"),
            "{:?}",
            scale.notes
        );
    }

    #[test]
    fn states_every_other_change() {
        let site = edge_with(&[(
            EDGE_LOAD,
            "load_test: { publishers: 2, subscribers: 150, rate: 10/s, payload: 16B, qos: 2, duration: 10m }",
        )]);
        let overrides = SiteOverrides {
            duration: Some(Duration::from_secs(5)),
            connect_rate: Some(0.0),
        };
        let c = from_site(&site, base(), &overrides).unwrap();
        assert_eq!(
            (c.publishers, c.subscribers, c.payload_bytes, c.qos),
            (2, 100, HEADER_LEN, 2)
        );
        assert_eq!((c.duration, c.connect_rate), (Duration::from_secs(5), 0.0));
        let notes = c.scale.unwrap().notes.join("\n");
        for needle in [
            "150 subscribers become 100",
            "16 B payload becomes 28 B",
            "the window is 5 s (--duration), not the declared 600 s",
        ] {
            assert!(notes.contains(needle), "{needle} not in {notes}");
        }
    }

    #[test]
    fn a_site_without_load_test_is_an_error_at_its_file() {
        let site = edge_with(&[(EDGE_LOAD, "")]);
        let d = from_site(&site, base(), &SiteOverrides::default()).unwrap_err();
        assert!(d[0].message.contains("no `load_test`"));
        assert_eq!(d[0].primary_span().unwrap().file.name, "edge.yaml");
    }

    fn good_report() -> BenchReport {
        BenchReport {
            url: "mqtt://127.0.0.1:1883".into(),
            load: Load {
                publishers: 200,
                subscribers: 2,
                rate_per_publisher: Some(10.0),
                aggregate_rate: Some(2000.0),
                payload_bytes: 256,
                qos: 1,
                duration_s: 600.0,
                warmup_s: 1.0,
                drain_timeout_s: 5.0,
                max_messages_per_publisher: None,
                topic: "t/{i}".into(),
                subscription: "t/+".into(),
            },
            scale: None,
            stopped_by: StopReason::Completed,
            elapsed_s: 602.0,
            drained: true,
            messages: Messages {
                sent: 1_202_000,
                acked: 1_202_000,
                expected: 2_404_000,
                received: 2_404_000,
                ..Messages::default()
            },
            throughput: Throughput {
                window_s: 600.0,
                sent_per_s: 1999.0,
                received_per_s: 3998.0,
            },
            latency_ms: Some(Percentiles {
                count: 2_400_000,
                p50: 1.0,
                p95: 3.0,
                p99: 8.5,
                p99_9: 20.0,
                max: 40.0,
                mean: 1.5,
            }),
            connect_ms: None,
            connections: Connections {
                attempted: 202,
                failed: 0,
                lost: 0,
                subscribed: 2,
            },
            errors: BTreeMap::new(),
        }
    }

    fn outcomes(v: &Verdict) -> Vec<(&'static str, TargetOutcome)> {
        v.targets.iter().map(|t| (t.name, t.outcome)).collect()
    }

    fn missed(v: &Verdict) -> Vec<&'static str> {
        v.targets
            .iter()
            .filter(|t| t.outcome == TargetOutcome::Missed)
            .map(|t| t.name)
            .collect()
    }

    #[test]
    fn a_run_within_every_target_holds() {
        let site = edge_with(&[]);
        let v = judge(&site, &good_report());
        assert!(v.held, "{}", v.to_text());
        assert_eq!(v.targets.len(), 4);
        assert_eq!(v.targets[0].required, "< 50 ms");
        assert!(v.targets[0].source.contains("default"));
        assert!(
            v.targets[2]
                .source
                .starts_with("load_test at edge.yaml:78:"),
            "{}",
            v.targets[2].source
        );
    }

    #[test]
    fn each_target_fails_on_its_own() {
        let site = edge_with(&[]);
        let mut slow = good_report();
        slow.latency_ms.as_mut().unwrap().p99 = 50.0;
        assert_eq!(
            missed(&judge(&site, &slow)),
            ["latency P99 under the alert threshold"]
        );
        let mut lossy = good_report();
        lossy.messages.lost = 1;
        assert_eq!(missed(&judge(&site, &lossy)), ["no loss"]);
        let mut short = good_report();
        short.throughput.sent_per_s = 1899.0;
        assert_eq!(missed(&judge(&site, &short)), ["declared rate sustained"]);
        let mut fan_out = good_report();
        fan_out.throughput.received_per_s = 3700.0;
        assert_eq!(missed(&judge(&site, &fan_out)), ["declared rate sustained"]);
        let mut cut = good_report();
        cut.stopped_by = StopReason::PublishersDisconnected;
        cut.connections.lost = 3;
        assert_eq!(
            missed(&judge(&site, &cut)),
            [
                "declared rate sustained",
                "every client connected and stayed connected"
            ]
        );
        let mut lower_qos = good_report();
        lower_qos.load.qos = 0;
        assert_eq!(missed(&judge(&site, &lower_qos)), ["no loss"]);
        let mut untimed = good_report();
        untimed.latency_ms = None;
        assert_eq!(
            missed(&judge(&site, &untimed)),
            ["latency P99 under the alert threshold"]
        );
    }

    #[test]
    fn the_sites_latency_alert_is_the_threshold() {
        let site = edge_with(&[(
            "alerts: { clients_warning: 80%, clients_critical: 95% }",
            "alerts: { clients_warning: 80%, clients_critical: 95%, latency_p99_warning: 5ms }",
        )]);
        let v = judge(&site, &good_report());
        assert_eq!(v.targets[0].required, "< 5 ms");
        assert!(
            v.targets[0]
                .source
                .contains("latency_p99_warning at edge.yaml:62:"),
            "{}",
            v.targets[0].source
        );
        assert_eq!(missed(&v), ["latency P99 under the alert threshold"]);
    }

    #[test]
    fn qos0_loss_is_reported_not_judged_and_qos2_forbids_duplicates() {
        let qos0 = edge_with(&[(EDGE_LOAD, &EDGE_LOAD.replace("qos: 1", "qos: 0"))]);
        let mut report = good_report();
        report.load.qos = 0;
        report.messages.lost = 10;
        let v = judge(&qos0, &report);
        assert!(v.held, "{}", v.to_text());
        assert_eq!(v.targets[1].outcome, TargetOutcome::NotApplicable);
        let qos2 = edge_with(&[(EDGE_LOAD, &EDGE_LOAD.replace("qos: 1", "qos: 2"))]);
        let mut report = good_report();
        report.load.qos = 2;
        report.messages.duplicated = 1;
        let v = judge(&qos2, &report);
        assert_eq!(
            outcomes(&v)[1..3],
            [
                ("no loss", TargetOutcome::Held),
                ("no duplicate", TargetOutcome::Missed)
            ]
        );
    }
}
