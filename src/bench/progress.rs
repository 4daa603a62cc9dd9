//! The live progress line on stderr (only when stderr is a terminal: the
//! caller decides), rewritten in place once a second.

use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{interval, Instant};

use super::engine::Ctx;

/// Prints until aborted.
pub async fn run(ctx: Arc<Ctx>, start: Instant, end: Instant) {
    let total = (end - start).as_secs_f64();
    let mut tick = interval(Duration::from_secs(1));
    let (mut last_sent, mut last_received) = (0u64, 0u64);
    loop {
        tick.tick().await;
        let sent = ctx.shared.sent_total();
        let received = ctx.shared.received_total.load(Relaxed);
        let errors: u64 = ctx.shared.errors().values().map(|e| e.count).sum();
        let line = format!(
            "bench {:>6.1}/{total:.0} s  sent {sent} ({}/s)  received {received} ({}/s)  errors {errors}",
            start.elapsed().as_secs_f64().min(total),
            sent - last_sent,
            received - last_received,
        );
        (last_sent, last_received) = (sent, received);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }
}

/// Erases the line.
pub fn clear() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}
