//! The run on a tokio runtime: open the connections at the ramp rate
//! (subscribers first, so nothing is published before they listen), pace
//! the publishers through the warm-up and the window, drain, disconnect.
//!
//! Every client has its own rumqttc event loop task; a publisher also has a
//! pacing task that hands it messages. Connections are never re-opened: a
//! dropped connection is reported, not hidden behind a reconnect that would
//! resend and blur the counts.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, Outgoing, Packet, StateError,
    SubscribeReasonCode,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant, MissedTickBehavior};

use super::client::{self, TlsConfigs};
use super::config::{BenchConfig, PublishRate, Role};
use super::payload::Header;
use super::progress;
use super::state::{lock, Shared};

/// Everything a client task needs.
pub struct Ctx {
    pub config: BenchConfig,
    pub shared: Arc<Shared>,
    pub tls: Option<TlsConfigs>,
    /// The `{run}` placeholder: 8 hex digits of the run id.
    pub run_tag: String,
    pub stop: watch::Receiver<bool>,
    pub show_progress: bool,
}

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The window ran to its end (or every publisher reached its message count).
    Completed,
    /// Every publisher lost its connection before the window ended.
    PublishersDisconnected,
    /// No publisher (or no subscriber, when there should be some) could connect.
    NoConnection,
    /// The hard deadline stopped the run.
    HardDeadline,
}

/// The measured window as it happened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    pub length: Duration,
    pub sent: u64,
    pub received: u64,
}

/// What the run reports besides the counters in [`Shared`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline {
    pub window: Window,
    /// Every expected message and acknowledgement arrived before the drain timeout.
    pub drained: bool,
}

/// Event-loop tasks and clients of the open connections.
type Opened = Vec<(u32, AsyncClient, JoinHandle<()>)>;

/// The whole run; `timeline` is filled in as phases complete, so a hard
/// deadline still reports the window if it had been measured.
pub async fn drive(ctx: Arc<Ctx>, timeline: &Mutex<Timeline>) -> StopReason {
    let config = &ctx.config;
    let ramp_start = Instant::now();
    let subscribers = open_all(&ctx, Role::Subscriber, ramp_start).await;
    let publishers = open_all(&ctx, Role::Publisher, ramp_start).await;
    if publishers.is_empty() || (config.subscribers > 0 && subscribers.is_empty()) {
        close(&ctx, subscribers.into_iter().chain(publishers)).await;
        return StopReason::NoConnection;
    }
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let end = measure_from + config.duration;
    let mut pacing: Vec<Option<JoinHandle<()>>> = publishers
        .iter()
        .map(|(i, c, _)| {
            Some(tokio::spawn(pace(
                ctx.clone(),
                *i,
                c.clone(),
                start,
                measure_from,
                end,
            )))
        })
        .collect();
    let progress = ctx
        .show_progress
        .then(|| tokio::spawn(progress::run(ctx.clone(), start, end)));
    let window = measure_window(&ctx, &mut pacing, measure_from, end).await;
    lock(timeline).window = window;
    if timeout_at(end + Duration::from_secs(1), wait_all(&mut pacing))
        .await
        .is_err()
    {
        for handle in pacing.iter().flatten() {
            handle.abort();
            ctx.shared.error("run: publisher stalled", "a publisher could not hand its messages to the client for 1 s after the window (the broker stopped reading?)");
        }
    }
    let reason = if window.length < config.duration && !ctx.shared.any_publisher_connected() {
        StopReason::PublishersDisconnected
    } else {
        StopReason::Completed
    };
    let drained = drain(&ctx).await;
    lock(timeline).drained = drained;
    if let Some(p) = progress {
        p.abort();
        progress::clear();
    }
    close(&ctx, subscribers.into_iter().chain(publishers)).await;
    reason
}

/// Counts at the start and end of the window; it ends early when every
/// pacing task has ended (message count reached, or connections lost).
async fn measure_window(
    ctx: &Ctx,
    pacing: &mut [Option<JoinHandle<()>>],
    measure_from: Instant,
    end: Instant,
) -> Window {
    let snapshot = || {
        (
            ctx.shared.sent_total(),
            ctx.shared.received_total.load(Relaxed),
        )
    };
    let finished_early = tokio::select! {
        _ = sleep_until(measure_from) => false,
        _ = wait_all(pacing) => true,
    };
    if finished_early {
        return Window::default();
    }
    let (sent0, received0) = snapshot();
    let started = Instant::now();
    tokio::select! {
        _ = sleep_until(end) => {},
        _ = wait_all(pacing) => {},
    }
    let (sent1, received1) = snapshot();
    Window {
        length: started.elapsed(),
        sent: sent1 - sent0,
        received: received1 - received0,
    }
}

/// Awaits every handle still there; cancel-safe (a finished handle is taken out).
async fn wait_all(handles: &mut [Option<JoinHandle<()>>]) {
    for slot in handles.iter_mut() {
        if let Some(handle) = slot {
            let _ = handle.await;
            *slot = None;
        }
    }
}

/// Waits until every message sent has reached every subscriber and every
/// QoS 1/2 publish is acknowledged, or the drain timeout.
async fn drain(ctx: &Ctx) -> bool {
    let deadline = Instant::now() + ctx.config.drain_timeout;
    loop {
        if ctx.shared.drained(ctx.config.qos) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// DISCONNECT on every connection, then stops whatever did not end within 1 s.
async fn close(ctx: &Ctx, clients: impl Iterator<Item = (u32, AsyncClient, JoinHandle<()>)>) {
    ctx.shared.closing.store(true, Relaxed);
    let mut handles = Vec::new();
    for (_, client, handle) in clients {
        let _ = client.try_disconnect();
        handles.push(Some(handle));
    }
    if timeout(Duration::from_secs(1), wait_all(&mut handles))
        .await
        .is_err()
    {
        for handle in handles.iter().flatten() {
            handle.abort();
        }
    }
}

/// Opens every client of a role at the ramp rate (subscribers take the first
/// slots, publishers the next), concurrently, and keeps those that connected.
async fn open_all(ctx: &Arc<Ctx>, role: Role, ramp_start: Instant) -> Opened {
    let config = &ctx.config;
    let (count, first_slot) = match role {
        Role::Subscriber => (config.subscribers, 0),
        Role::Publisher => (config.publishers, config.subscribers),
    };
    let mut tasks = Vec::with_capacity(count as usize);
    for index in 0..count {
        if config.connect_rate > 0.0 {
            let slot = f64::from(first_slot + index) / config.connect_rate;
            sleep_until(ramp_start + Duration::from_secs_f64(slot)).await;
        }
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let opened = match role {
                Role::Subscriber => open_subscriber(&ctx, index).await,
                Role::Publisher => open_publisher(&ctx, index).await,
            };
            opened.map(|(client, events)| (index, client, events))
        }));
    }
    let mut opened = Vec::new();
    for task in tasks {
        if let Ok(Some(o)) = task.await {
            opened.push(o);
        }
    }
    opened
}

/// TCP, TLS and CONNECT/CONNACK of one client; the connect time is recorded.
async fn connect(ctx: &Ctx, role: Role, index: u32) -> Option<(AsyncClient, EventLoop)> {
    let config = &ctx.config;
    let slot = match role {
        Role::Publisher => index,
        Role::Subscriber => config.publishers + index,
    };
    let id = config.client_id_of(role, index, &ctx.run_tag);
    let options = client::options(config, &id, config.device_of(slot), ctx.tls.as_ref());
    let (client, mut events) = AsyncClient::new(options, usize::from(config.inflight).max(10));
    let mut network = events.network_options();
    network.set_connection_timeout(config.connect_timeout.as_secs().max(1));
    // Without it Nagle holds a second message written within a round trip
    // until the broker's delayed ACK: tens of milliseconds that are the
    // generator's, not the broker's (QoS 0 P50 11 ms instead of 0.2 ms).
    network.set_tcp_nodelay(true);
    events.set_network_options(network);
    ctx.shared.connections_attempted.fetch_add(1, Relaxed);
    let started = Instant::now();
    let failure = match timeout(
        config.connect_timeout + Duration::from_secs(1),
        events.poll(),
    )
    .await
    {
        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            ctx.shared.connected_in(micros);
            return Some((client, events));
        }
        Ok(Ok(other)) => (
            "protocol".to_string(),
            format!("expected CONNACK, got {other:?}"),
        ),
        Ok(Err(e)) => (classify(&e), e.to_string()),
        Err(_) => (
            "timeout".to_string(),
            "no CONNACK within the connect timeout".into(),
        ),
    };
    ctx.shared.connections_failed.fetch_add(1, Relaxed);
    ctx.shared.error(
        &format!("connect: {}", failure.0),
        &format!("{id}: {}", failure.1),
    );
    None
}

async fn open_publisher(ctx: &Arc<Ctx>, index: u32) -> Option<(AsyncClient, JoinHandle<()>)> {
    let (client, events) = connect(ctx, Role::Publisher, index).await?;
    ctx.shared.publishers[index as usize]
        .connected
        .store(true, Relaxed);
    let handle = tokio::spawn(publisher_events(ctx.clone(), index, events));
    Some((client, handle))
}

async fn open_subscriber(ctx: &Arc<Ctx>, index: u32) -> Option<(AsyncClient, JoinHandle<()>)> {
    let (client, mut events) = connect(ctx, Role::Subscriber, index).await?;
    let filter = ctx.config.subscription(&ctx.run_tag);
    let refused = |detail: String| {
        ctx.shared.error("subscribe: refused", &detail);
        None
    };
    if client
        .subscribe(filter.clone(), client::qos(ctx.config.qos))
        .await
        .is_err()
    {
        return refused(format!("`{filter}`: the client closed"));
    }
    let deadline = Instant::now() + ctx.config.connect_timeout;
    loop {
        match timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => {
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                    return refused(format!(
                        "`{filter}`: SUBACK failure (does the ACL let this client read it?)"
                    ));
                }
                break;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return refused(format!("`{filter}`: {e}")),
            Err(_) => return refused(format!("`{filter}`: no SUBACK within the connect timeout")),
        }
    }
    {
        let mut state = lock(&ctx.shared.subscribers[index as usize]);
        state.subscribed = true;
        state.connected = true;
    }
    let handle = tokio::spawn(subscriber_events(ctx.clone(), index, events));
    Some((client, handle))
}

/// Drives a publisher's connection: counts what it writes and the acks.
async fn publisher_events(ctx: Arc<Ctx>, index: u32, mut events: EventLoop) {
    let counters = &ctx.shared.publishers[index as usize];
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            event = events.poll() => match event {
                Ok(Event::Outgoing(Outgoing::Publish(_))) => {
                    counters.sent.fetch_add(1, Relaxed);
                }
                Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                    counters.acked.fetch_add(1, Relaxed);
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    connection_lost(&ctx, &e);
                    break;
                }
            }
        }
    }
    counters.connected.store(false, Relaxed);
}

/// Drives a subscriber's connection: every delivery goes to its tracker.
async fn subscriber_events(ctx: Arc<Ctx>, index: u32, mut events: EventLoop) {
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            event = events.poll() => match event {
                Ok(Event::Incoming(Packet::Publish(p))) => ctx.shared.delivered(index as usize, &p.payload),
                Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    connection_lost(&ctx, &e);
                    break;
                }
            }
        }
    }
    lock(&ctx.shared.subscribers[index as usize]).connected = false;
}

fn connection_lost(ctx: &Ctx, e: &ConnectionError) {
    if !ctx.shared.closing.load(Relaxed) {
        ctx.shared.connections_lost.fetch_add(1, Relaxed);
        ctx.shared
            .error(&format!("run: {}", classify(e)), &e.to_string());
    }
}

/// Messages publisher `index` is due to have published `elapsed` into the
/// run: message k is due at (k + offset) / rate, offset in [0, 1) spreading
/// publishers over the first period.
pub fn scheduled(elapsed: Duration, rate: f64, offset: f64) -> u64 {
    let position = elapsed.as_secs_f64() * rate - offset;
    if position <= 0.0 {
        0
    } else {
        position.ceil() as u64
    }
}

/// Hands publisher `index` its messages at the configured rate (or as fast
/// as its client takes them) until the window ends or its count is reached.
async fn pace(
    ctx: Arc<Ctx>,
    index: u32,
    client: AsyncClient,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) {
    let config = &ctx.config;
    let topic = config.topic_of(index, &ctx.run_tag);
    let cap = config.max_messages_per_publisher.unwrap_or(u64::MAX);
    let qos = client::qos(config.qos);
    let counters = &ctx.shared.publishers[index as usize];
    let publish = |sequence: u64, warmup: bool| {
        let header = Header {
            run_id: ctx.shared.run_id,
            publisher: index,
            sequence,
            sent_nanos: ctx.shared.now_nanos(),
            warmup,
        };
        client.publish(
            topic.clone(),
            qos,
            false,
            header.encode(config.payload_bytes),
        )
    };
    let mut sequence = 0u64;
    match config.rate {
        PublishRate::Max => {
            while sequence < cap && Instant::now() < end {
                if publish(sequence, Instant::now() < measure_from)
                    .await
                    .is_err()
                {
                    return;
                }
                counters.queued.fetch_add(1, Relaxed);
                sequence += 1;
            }
        }
        PublishRate::PerSecond(rate) => {
            let offset = f64::from(index) / f64::from(config.publishers.max(1));
            let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_millis(1));
            let mut tick = tokio::time::interval_at(start, period);
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let total = scheduled(end - start, rate, offset).min(cap);
            // Warm-up messages are those scheduled before the window, wherever
            // a late tick puts them.
            let warmup = scheduled(measure_from - start, rate, offset);
            while sequence < total {
                tick.tick().await;
                let due = scheduled(Instant::now().min(end) - start, rate, offset).min(total);
                let due = if Instant::now() >= end { total } else { due };
                while sequence < due {
                    if publish(sequence, sequence < warmup).await.is_err() {
                        return;
                    }
                    counters.queued.fetch_add(1, Relaxed);
                    sequence += 1;
                }
            }
        }
    }
}

/// A stable, short name for what went wrong.
pub fn classify(e: &ConnectionError) -> String {
    use std::io::ErrorKind;
    let io_kind = |io: &std::io::Error| match io.kind() {
        ErrorKind::ConnectionRefused => "tcp refused",
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => "connection lost",
        ErrorKind::TimedOut => "timeout",
        _ => "io",
    };
    match e {
        ConnectionError::Io(io) | ConnectionError::MqttState(StateError::Io(io)) => {
            io_kind(io).into()
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => "connection lost".into(),
        ConnectionError::MqttState(StateError::AwaitPingResp) => "keepalive timeout".into(),
        ConnectionError::MqttState(_) | ConnectionError::NotConnAck(_) => "protocol".into(),
        ConnectionError::NetworkTimeout => "timeout".into(),
        ConnectionError::FlushTimeout => "write timeout".into(),
        ConnectionError::Tls(_) => "tls".into(),
        ConnectionError::ConnectionRefused(code) => format!("refused ({code:?})"),
        ConnectionError::RequestsDone => "client closed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_messages_at_the_rate_with_an_offset() {
        let s =
            |ms: u64, rate: f64, offset: f64| scheduled(Duration::from_millis(ms), rate, offset);
        assert_eq!(s(0, 100.0, 0.0), 0);
        assert_eq!(s(1, 100.0, 0.0), 1);
        assert_eq!(s(2000, 100.0, 0.0), 200);
        assert_eq!(s(2000, 100.0, 0.5), 200);
        assert_eq!(
            s(4, 100.0, 0.5),
            0,
            "the second of two publishers starts half a period later"
        );
        assert_eq!(s(6, 100.0, 0.5), 1);
        assert_eq!(s(1000, 0.5, 0.0), 1, "slower than 1/s");
        assert_eq!(s(1000, 55_000.0, 0.0), 55_000);
    }
}
