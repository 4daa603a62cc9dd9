//! Counters every client task updates while the run goes, and the report
//! reads at the end (or at the hard deadline, whatever state it is in).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::payload::Header;
use super::tracker::{Arrival, Tracker};

/// Latencies and connect times are recorded in microseconds, 3 significant
/// digits, up to 10 minutes (a longer one is recorded as 10 minutes).
const HISTOGRAM_MAX_MICROS: u64 = 600_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3).expect("valid histogram bounds")
}

/// How often an error of one kind happened, and the first one's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    pub count: u64,
    pub first: String,
}

/// One publisher's counters.
#[derive(Default)]
pub struct PublisherCounters {
    /// Publishes handed to the client.
    pub queued: AtomicU64,
    /// Publishes the client wrote to the connection (rumqttc's outgoing event).
    pub sent: AtomicU64,
    /// PUBACKs (QoS 1) or PUBCOMPs (QoS 2) received.
    pub acked: AtomicU64,
    pub connected: AtomicBool,
}

/// What one subscriber received.
pub struct SubscriberState {
    pub tracker: Tracker,
    pub received: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Messages on the subscription that were not this run's.
    pub foreign: u64,
    /// End-to-end latency of first deliveries sent after the warm-up, in µs.
    pub latency_us: Histogram<u64>,
    pub subscribed: bool,
    pub connected: bool,
}

/// Shared by every task of a run.
pub struct Shared {
    /// Payload timestamps are nanoseconds since this instant.
    pub epoch: Instant,
    pub run_id: u32,
    pub publishers: Vec<PublisherCounters>,
    pub subscribers: Vec<Mutex<SubscriberState>>,
    /// Deliveries across subscribers (for the progress line and the window).
    pub received_total: AtomicU64,
    errors: Mutex<BTreeMap<String, ErrorCount>>,
    connect_us: Mutex<Histogram<u64>>,
    pub connections_attempted: AtomicU64,
    pub connections_failed: AtomicU64,
    /// Connections that dropped after they were established.
    pub connections_lost: AtomicU64,
    /// Set when bench itself disconnects: errors after it are expected.
    pub closing: AtomicBool,
}

/// Locks even if a task panicked while holding the lock: counters stay readable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(run_id: u32, publishers: u32, subscribers: u32) -> Shared {
        Shared {
            epoch: Instant::now(),
            run_id,
            publishers: (0..publishers)
                .map(|_| PublisherCounters::default())
                .collect(),
            subscribers: (0..subscribers)
                .map(|_| {
                    Mutex::new(SubscriberState {
                        tracker: Tracker::new(publishers as usize),
                        received: 0,
                        duplicated: 0,
                        out_of_order: 0,
                        foreign: 0,
                        latency_us: new_histogram(),
                        subscribed: false,
                        connected: false,
                    })
                })
                .collect(),
            received_total: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            connect_us: Mutex::new(new_histogram()),
            connections_attempted: AtomicU64::new(0),
            connections_failed: AtomicU64::new(0),
            connections_lost: AtomicU64::new(0),
            closing: AtomicBool::new(false),
        }
    }

    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn error(&self, kind: &str, detail: &str) {
        lock(&self.errors)
            .entry(kind.to_string())
            .or_insert_with(|| ErrorCount {
                count: 0,
                first: detail.to_string(),
            })
            .count += 1;
    }

    pub fn errors(&self) -> BTreeMap<String, ErrorCount> {
        lock(&self.errors).clone()
    }

    pub fn connected_in(&self, micros: u64) {
        lock(&self.connect_us).saturating_record(micros.max(1));
    }

    pub fn connect_histogram(&self) -> Histogram<u64> {
        lock(&self.connect_us).clone()
    }

    pub fn sent_total(&self) -> u64 {
        self.publishers.iter().map(|p| p.sent.load(Relaxed)).sum()
    }

    pub fn sent_per_publisher(&self) -> Vec<u64> {
        self.publishers
            .iter()
            .map(|p| p.sent.load(Relaxed))
            .collect()
    }

    /// Records one delivery to subscriber `index`.
    pub fn delivered(&self, index: usize, payload: &[u8]) {
        let now = self.now_nanos();
        let header = Header::decode(payload).filter(|h| h.run_id == self.run_id);
        let mut state = lock(&self.subscribers[index]);
        let Some(h) = header else {
            state.foreign += 1;
            return;
        };
        match state.tracker.observe(h.publisher, h.sequence) {
            None => state.foreign += 1,
            Some(arrival) => {
                state.received += 1;
                self.received_total.fetch_add(1, Relaxed);
                match arrival {
                    Arrival::Duplicate => state.duplicated += 1,
                    Arrival::OutOfOrder => state.out_of_order += 1,
                    Arrival::InOrder => {}
                }
                if arrival != Arrival::Duplicate && !h.warmup {
                    let micros = now.saturating_sub(h.sent_nanos) / 1000;
                    state.latency_us.saturating_record(micros.max(1));
                }
            }
        }
    }

    /// Every connected publisher has written what it was handed, every
    /// subscribed subscriber has every message sent, and (QoS 1/2) every
    /// connected publisher has its acknowledgements.
    pub fn drained(&self, qos: u8) -> bool {
        let written = self
            .publishers
            .iter()
            .all(|p| !p.connected.load(Relaxed) || p.sent.load(Relaxed) >= p.queued.load(Relaxed));
        if !written {
            return false;
        }
        let sent = self.sent_per_publisher();
        let subscribers_done = self.subscribers.iter().all(|s| {
            let s = lock(s);
            !(s.subscribed && s.connected) || s.tracker.missing(&sent) == 0
        });
        let acks_done = qos == 0
            || self.publishers.iter().all(|p| {
                !p.connected.load(Relaxed) || p.acked.load(Relaxed) >= p.sent.load(Relaxed)
            });
        subscribers_done && acks_done
    }

    pub fn any_publisher_connected(&self) -> bool {
        self.publishers.iter().any(|p| p.connected.load(Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(shared: &Shared, publisher: u32, sequence: u64, warmup: bool) -> Vec<u8> {
        Header {
            run_id: shared.run_id,
            publisher,
            sequence,
            sent_nanos: shared.now_nanos(),
            warmup,
        }
        .encode(64)
    }

    #[test]
    fn deliveries_are_classified_and_timed() {
        let shared = Shared::new(7, 2, 1);
        lock(&shared.subscribers[0]).subscribed = true;
        shared.delivered(0, &payload(&shared, 0, 0, true));
        shared.delivered(0, &payload(&shared, 0, 1, false));
        shared.delivered(0, &payload(&shared, 0, 1, false));
        shared.delivered(0, &payload(&shared, 1, 3, false));
        shared.delivered(0, &payload(&shared, 1, 2, false));
        shared.delivered(0, b"not ours");
        let other_run = Header::decode(&payload(&shared, 0, 5, false))
            .map(|h| Header { run_id: 8, ..h })
            .unwrap()
            .encode(64);
        shared.delivered(0, &other_run);
        shared.delivered(0, &payload(&shared, 9, 0, false));
        let s = lock(&shared.subscribers[0]);
        assert_eq!(
            (s.received, s.duplicated, s.out_of_order, s.foreign),
            (5, 1, 1, 3)
        );
        // The warm-up message and the duplicate are not timed.
        assert_eq!(s.latency_us.len(), 3);
        assert_eq!(shared.received_total.load(Relaxed), 5);
    }

    #[test]
    fn drained_waits_for_subscribed_subscribers_and_acks() {
        let shared = Shared::new(1, 1, 1);
        {
            let mut s = lock(&shared.subscribers[0]);
            s.subscribed = true;
            s.connected = true;
        }
        let p = &shared.publishers[0];
        p.connected.store(true, Relaxed);
        p.queued.store(2, Relaxed);
        p.sent.store(2, Relaxed);
        assert!(!shared.drained(0), "the subscriber has nothing yet");
        shared.delivered(0, &payload(&shared, 0, 0, false));
        shared.delivered(0, &payload(&shared, 0, 1, false));
        assert!(shared.drained(0));
        p.queued.store(3, Relaxed);
        assert!(
            !shared.drained(0),
            "a message handed to the client is not written yet"
        );
        p.queued.store(2, Relaxed);
        assert!(!shared.drained(1), "QoS 1 waits for the PUBACKs");
        p.acked.store(2, Relaxed);
        assert!(shared.drained(1));
    }
}
