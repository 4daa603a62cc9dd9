//! The report of a run: counts, throughput over the window, latency and
//! connect-time percentiles, connections, errors by kind; as data (JSON)
//! and as text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::config::BenchConfig;
use super::engine::{StopReason, Timeline};
use super::site::Scale;
use super::state::{lock, new_histogram, ErrorCount, Shared};

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub url: String,
    pub load: Load,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    pub stopped_by: StopReason,
    pub elapsed_s: f64,
    /// Every expected message and acknowledgement arrived before the drain timeout.
    pub drained: bool,
    pub messages: Messages,
    pub throughput: Throughput,
    /// End-to-end, first deliveries of messages sent after the warm-up; `null` if none.
    pub latency_ms: Option<Percentiles>,
    /// TCP + TLS + CONNECT/CONNACK; `null` if nothing connected.
    pub connect_ms: Option<Percentiles>,
    pub connections: Connections,
    pub errors: BTreeMap<String, ErrorCount>,
}

/// The load as it ran.
#[derive(Clone, Debug, Serialize)]
pub struct Load {
    pub publishers: u32,
    pub subscribers: u32,
    /// Messages per second per publisher; `null` at `max`.
    pub rate_per_publisher: Option<f64>,
    pub aggregate_rate: Option<f64>,
    pub payload_bytes: usize,
    pub qos: u8,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub drain_timeout_s: f64,
    pub max_messages_per_publisher: Option<u64>,
    pub topic: String,
    pub subscription: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Messages {
    /// Publishes written to the connection (warm-up included).
    pub sent: u64,
    /// QoS 1/2: acknowledged by the broker (PUBACK / PUBCOMP).
    pub acked: u64,
    /// Sent x subscribers that held their subscription.
    pub expected: u64,
    /// Deliveries, duplicates included.
    pub received: u64,
    /// Expected and never delivered.
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Deliveries on the subscription that another client or run published.
    pub foreign: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Throughput {
    /// The measured window (after the warm-up), as it ran.
    pub window_s: f64,
    pub sent_per_s: f64,
    /// Deliveries per second across subscribers.
    pub received_per_s: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Connections {
    pub attempted: u64,
    pub failed: u64,
    /// Established, then dropped before bench disconnected.
    pub lost: u64,
    pub subscribed: u64,
}

/// Milliseconds, to the microsecond.
fn ms(micros: f64) -> f64 {
    (micros).round() / 1000.0
}

pub fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    if h.is_empty() {
        return None;
    }
    let at = |q: f64| ms(h.value_at_quantile(q) as f64);
    Some(Percentiles {
        count: h.len(),
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        p99_9: at(0.999),
        max: ms(h.max() as f64),
        mean: ms(h.mean()),
    })
}

fn per_second(count: u64, window: Duration) -> f64 {
    if window.is_zero() {
        0.0
    } else {
        (count as f64 / window.as_secs_f64() * 10.0).round() / 10.0
    }
}

impl BenchReport {
    pub fn build(
        config: &BenchConfig,
        shared: &Shared,
        timeline: Timeline,
        stopped_by: StopReason,
        elapsed: Duration,
        run_tag: &str,
    ) -> BenchReport {
        let sent = shared.sent_per_publisher();
        let mut messages = Messages {
            sent: sent.iter().sum(),
            acked: shared
                .publishers
                .iter()
                .map(|p| p.acked.load(Relaxed))
                .sum(),
            ..Messages::default()
        };
        let mut latency = new_histogram();
        let mut subscribed = 0u64;
        for sub in &shared.subscribers {
            let s = lock(sub);
            if s.subscribed {
                subscribed += 1;
                messages.expected += messages.sent;
                messages.lost += s.tracker.missing(&sent);
            }
            messages.received += s.received;
            messages.duplicated += s.duplicated;
            messages.out_of_order += s.out_of_order;
            messages.foreign += s.foreign;
            let _ = latency.add(&s.latency_us);
        }
        let window = timeline.window;
        BenchReport {
            url: config.url.to_string(),
            load: Load::of(config, run_tag),
            scale: config.scale.clone(),
            stopped_by,
            elapsed_s: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            drained: timeline.drained,
            messages,
            throughput: Throughput {
                window_s: (window.length.as_secs_f64() * 1000.0).round() / 1000.0,
                sent_per_s: per_second(window.sent, window.length),
                received_per_s: per_second(window.received, window.length),
            },
            latency_ms: percentiles(&latency),
            connect_ms: percentiles(&shared.connect_histogram()),
            connections: Connections {
                attempted: shared.connections_attempted.load(Relaxed),
                failed: shared.connections_failed.load(Relaxed),
                lost: shared.connections_lost.load(Relaxed),
                subscribed,
            },
            errors: shared.errors(),
        }
    }

    /// Without targets: the run completed, sent something, lost nothing, and
    /// nothing went wrong.
    pub fn clean(&self) -> bool {
        self.stopped_by == StopReason::Completed
            && self.messages.sent > 0
            && self.messages.lost == 0
            && self.errors.is_empty()
    }

    /// The report as text (the verdict, if any, is printed after it).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "mqttforge bench {}", self.url);
        self.write_load(&mut out);
        let messages = &self.messages;
        let stop = match self.stopped_by {
            StopReason::Completed => "the window ran to its end",
            StopReason::PublishersDisconnected => "every publisher lost its connection",
            StopReason::NoConnection => "the clients could not connect",
            StopReason::HardDeadline => "the hard deadline",
        };
        let drained = match (self.stopped_by, self.drained) {
            (StopReason::NoConnection, _) => "",
            (_, true) => " (drained)",
            (_, false) => " (not drained: the drain timeout ended the wait)",
        };
        let _ = writeln!(
            out,
            "stopped by   {stop} after {:.1} s{drained}",
            self.elapsed_s
        );
        let _ = writeln!(
            out,
            "messages     sent {}  received {} of {} expected  lost {}  duplicated {}  out of order {}",
            messages.sent, messages.received, messages.expected, messages.lost, messages.duplicated, messages.out_of_order
        );
        if self.load.qos > 0 {
            let _ = writeln!(
                out,
                "             acknowledged {} of {} sent",
                messages.acked, messages.sent
            );
        }
        if messages.foreign > 0 {
            let _ = writeln!(
                out,
                "             {} messages on the subscription were not this run's",
                messages.foreign
            );
        }
        let throughput = &self.throughput;
        let _ = writeln!(
            out,
            "throughput   sent {:.1} msg/s  received {:.1} msg/s  (window {:.1} s)",
            throughput.sent_per_s, throughput.received_per_s, throughput.window_s
        );
        let _ = writeln!(
            out,
            "latency      {}",
            percentile_text(&self.latency_ms, "messages")
        );
        let _ = writeln!(
            out,
            "connect      {}",
            percentile_text(&self.connect_ms, "connections")
        );
        let connections = &self.connections;
        let _ = writeln!(
            out,
            "connections  {} attempted, {} failed, {} lost during the run, {} subscribed",
            connections.attempted, connections.failed, connections.lost, connections.subscribed
        );
        self.write_errors(&mut out);
        self.write_hints(&mut out);
        out
    }

    fn write_load(&self, out: &mut String) {
        let load = &self.load;
        let rate = match (load.rate_per_publisher, load.aggregate_rate) {
            (Some(r), Some(a)) => format!("{r}/s ({a} msg/s)"),
            _ => "max rate".into(),
        };
        let _ = writeln!(
            out,
            "load         {} x {rate}, {}, {} B, QoS {}, {} s after a {} s warm-up",
            plural(u64::from(load.publishers), "publisher"),
            plural(u64::from(load.subscribers), "subscriber"),
            load.payload_bytes,
            load.qos,
            load.duration_s,
            load.warmup_s
        );
        let _ = writeln!(
            out,
            "topic        {} (subscription {})",
            load.topic, load.subscription
        );
        if let Some(scale) = &self.scale {
            for note in &scale.notes {
                let _ = writeln!(out, "scale        {note}");
            }
        }
    }

    fn write_errors(&self, out: &mut String) {
        if self.errors.is_empty() {
            let _ = writeln!(out, "errors       none");
        }
        for (kind, e) in &self.errors {
            let _ = writeln!(out, "error        {kind}: {} (first: {})", e.count, e.first);
        }
    }

    fn write_hints(&self, out: &mut String) {
        let messages = &self.messages;
        if messages.sent > 0 && messages.expected > 0 && messages.received == 0 {
            let _ = writeln!(
                out,
                "hint         the subscribers received nothing: does the broker's ACL let them read `{}`?",
                self.load.subscription
            );
        }
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn percentile_text(p: &Option<Percentiles>, what: &str) -> String {
    match p {
        None => format!("no {what}"),
        Some(p) => format!(
            "p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  ({} {what})",
            p.p50, p.p95, p.p99, p.p99_9, p.max, p.count
        ),
    }
}

impl Load {
    fn of(config: &BenchConfig, run_tag: &str) -> Load {
        let secs = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        Load {
            publishers: config.publishers,
            subscribers: config.subscribers,
            rate_per_publisher: match config.rate {
                super::config::PublishRate::PerSecond(r) => Some(r),
                super::config::PublishRate::Max => None,
            },
            aggregate_rate: config.aggregate_rate(),
            payload_bytes: config.payload_bytes,
            qos: config.qos,
            duration_s: secs(config.duration),
            warmup_s: secs(config.warmup),
            drain_timeout_s: secs(config.drain_timeout),
            max_messages_per_publisher: config.max_messages_per_publisher,
            topic: config.topic.clone(),
            subscription: config.subscription(run_tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = new_histogram();
        for micros in 1..=1000u64 {
            h.record(micros).unwrap();
        }
        let p = percentiles(&h).unwrap();
        assert_eq!(p.count, 1000);
        assert_eq!(p.p50, 0.5);
        assert_eq!(p.p99, 0.99);
        assert_eq!(p.max, 1.0);
        assert!(percentiles(&new_histogram()).is_none());
    }

    #[test]
    fn per_second_over_the_window() {
        assert_eq!(per_second(1000, Duration::from_secs(2)), 500.0);
        assert_eq!(per_second(1000, Duration::ZERO), 0.0);
    }
}
