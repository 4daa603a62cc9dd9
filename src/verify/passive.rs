//! The load-balancer probes for NGINX open source, whose health checks are
//! passive only: there is no UP/DOWN state to read, so what HAProxy's
//! `show stat` proves is measured here as a device sees it. A device
//! connects through NGINX; a broker is stopped; devices keep connecting
//! until one gets CONNACK 0 (the failover time a device sees), and until
//! NGINX logs that it took the stopped broker out of rotation (`max_fails`
//! failed connection attempts within `fail_timeout`). Both are reported
//! beside what MQ-HA-002 says about passive checks.

use std::time::{Duration, Instant};

use super::client::{Client, Tls};
use super::local::Hosts;
use super::{progress, Outcome, Probe};
use crate::spec::derive::LB_CONNECT_TIMEOUT_S;
use crate::spec::Site;

/// What NGINX's stream module logs (warn) when a server reaches
/// `max_fails` failed attempts and leaves rotation for `fail_timeout`.
pub const DISABLED: &str = "upstream server temporarily disabled";

/// The passive-check figures of the rendered nginx.conf, as MQ-HA-002
/// states them.
struct Passive {
    max_fails: u32,
    fail_timeout_s: u64,
    connect_timeout_s: u64,
}

impl Passive {
    fn of(site: &Site) -> Passive {
        let hc = site.spec.load_balancer.as_ref().map(|l| &l.health_check);
        Passive {
            max_fails: hc.and_then(|h| h.fall).unwrap_or(3),
            fail_timeout_s: hc
                .and_then(|h| h.interval)
                .map(|d| d.millis().div_ceil(1000).max(1))
                .unwrap_or(10),
            connect_timeout_s: LB_CONNECT_TIMEOUT_S,
        }
    }

    /// MQ-HA-002's statement, in short.
    fn lint(&self) -> String {
        format!(
            "MQ-HA-002: a failed broker leaves rotation only after {} failed connection attempts within {}s (max_fails, fail_timeout); until then every device sent to it waits up to {}s (proxy_connect_timeout)",
            self.max_fails, self.fail_timeout_s, self.connect_timeout_s
        )
    }
}

/// One device connection through `front`: its time, or why it failed.
fn attempt(front: std::net::SocketAddr, tls: &Tls, cid: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut c = Client::open(front, Some(tls))?;
    let (_, rc) = c.connect(cid, true)?;
    c.disconnect();
    if rc != 0 {
        return Err(format!("CONNACK {rc}"));
    }
    Ok(start.elapsed())
}

/// Connects until one attempt succeeds or `within` passes: the time from
/// the start to the end of the successful attempt, and that attempt's own
/// time; or the last error.
pub(crate) fn connect_within(
    front: std::net::SocketAddr,
    tls: &Tls,
    cid: &str,
    within: Duration,
) -> Result<(Duration, Duration), String> {
    let start = Instant::now();
    loop {
        match attempt(front, tls, cid) {
            Ok(took) => return Ok((start.elapsed(), took)),
            Err(e) if start.elapsed() >= within => {
                return Err(format!(
                    "no connection within {:.0} s, last: {e}",
                    within.as_secs_f64()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The load-balancer probes on NGINX: the same names as HAProxy's where
/// they apply, and what does not apply said as such.
pub(crate) fn nginx(
    site: &Site,
    hosts: &dyn Hosts,
    tls: &Tls,
    device: &str,
    device_listener: &str,
    quiet: bool,
) -> Vec<Probe> {
    let p = Passive::of(site);
    let mut out = Vec::new();
    if let Err(e) = hosts.runs_nginx() {
        out.push(Probe {
            name: "the load balancer's config loads",
            outcome: Outcome::NotApplicable(e),
        });
        return out;
    }
    progress(
        quiet,
        "starting NGINX (stream module) with the rendered nginx.conf",
    );
    if let Err(e) = hosts.start_lb(site) {
        out.push(Probe {
            name: "the load balancer's config loads",
            outcome: Outcome::Fail(e),
        });
        return out;
    }
    out.push(Probe {
        name: "the load balancer's config loads",
        outcome: Outcome::Pass("NGINX runs the rendered nginx.conf (stream module)".into()),
    });
    out.push(Probe {
        name: "every broker's health check goes UP",
        outcome: Outcome::NotApplicable(
            "NGINX open source has no active health check: it keeps no UP/DOWN state to read; a broker stays in rotation until connections to it fail (passive, measured below)".into(),
        ),
    });
    let front = hosts.lb_front(device_listener);
    let servers = hosts.node_names();
    let connected = connect_within(
        front,
        tls,
        &format!("{device}-via-lb"),
        Duration::from_secs(15),
    );
    out.push(Probe {
        name: "a device connects through the load balancer",
        outcome: match &connected {
            Ok((_, took)) => Outcome::Pass(format!(
                "device `{device}` got CONNACK 0 through NGINX ({front}, TLS passthrough, mTLS) in {:.2} s",
                took.as_secs_f64()
            )),
            Err(e) => Outcome::Fail(format!("through NGINX ({front}): {e}")),
        },
    });
    if connected.is_err() {
        for name in [
            "a stopped broker goes DOWN",
            "clients fail over through the load balancer",
        ] {
            out.push(Probe {
                name,
                outcome: Outcome::Fail(
                    "not measured: no device connected through NGINX before a broker stopped"
                        .into(),
                ),
            });
        }
        return out;
    }
    if servers.len() < 2 {
        for name in [
            "a stopped broker goes DOWN",
            "clients fail over through the load balancer",
        ] {
            out.push(Probe {
                name,
                outcome: Outcome::NotApplicable("one broker: nothing to fail over to".into()),
            });
        }
        return out;
    }
    out.extend(failover(&p, hosts, front, tls, device, &servers[0], quiet));
    out
}

/// Stops the first broker while devices keep connecting through NGINX:
/// the failover a device sees, then the moment NGINX's passive check takes
/// the broker out of rotation.
fn failover(
    p: &Passive,
    hosts: &dyn Hosts,
    front: std::net::SocketAddr,
    tls: &Tls,
    device: &str,
    first: &str,
    quiet: bool,
) -> Vec<Probe> {
    let mut out = Vec::new();
    progress(
        quiet,
        &format!("stopping `{first}`: devices keep connecting through NGINX"),
    );
    let logged_before = hosts.lb_log().matches(DISABLED).count();
    let stopped = Instant::now();
    hosts.stop(0);
    // Each attempt sent to the stopped broker can wait the connect timeout,
    // then the device's own read timeout; max_fails of them take it out.
    let bound = Duration::from_secs(
        u64::from(p.max_fails) * (p.connect_timeout_s + 5) + p.fail_timeout_s + 10,
    );
    let failover = connect_within(front, tls, &format!("{device}-failover"), bound);
    out.push(Probe {
        name: "clients fail over through the load balancer",
        outcome: match &failover {
            Ok((since, took)) => Outcome::Pass(format!(
                "a device got CONNACK 0 through NGINX {:.1} s after `{first}` stopped (that connection took {:.1} s: NGINX tried the stopped broker first); {}",
                since.as_secs_f64(),
                took.as_secs_f64(),
                p.lint()
            )),
            Err(e) => Outcome::Fail(format!("after `{first}` stopped: {e}; {}", p.lint())),
        },
    });
    // Devices keep arriving until NGINX takes the broker out of rotation;
    // then a device's connection no longer waits for it.
    let mut attempts = 0u32;
    let taken_out = loop {
        if hosts.lb_log().matches(DISABLED).count() > logged_before {
            break Some(stopped.elapsed());
        }
        if stopped.elapsed() > bound {
            break None;
        }
        attempts += 1;
        let _ = attempt(front, tls, &format!("{device}-passive-{attempts}"));
    };
    out.push(Probe {
        name: "a stopped broker goes DOWN",
        outcome: match taken_out {
            Some(at) => {
                let next = attempt(front, tls, &format!("{device}-after"));
                match next {
                    Ok(took) if took.as_secs() < p.connect_timeout_s => Outcome::Pass(format!(
                        "passive check: NGINX logged `{DISABLED}` for `{first}` {:.1} s after it stopped, once devices' connections to it had failed; the next device connected in {:.2} s without waiting for it; {}",
                        at.as_secs_f64(),
                        took.as_secs_f64(),
                        p.lint()
                    )),
                    Ok(took) => Outcome::Fail(format!(
                        "NGINX logged `{DISABLED}` {:.1} s after `{first}` stopped, but the next device still took {:.1} s to connect",
                        at.as_secs_f64(),
                        took.as_secs_f64()
                    )),
                    Err(e) => Outcome::Fail(format!(
                        "NGINX took `{first}` out of rotation, then a device could not connect: {e}"
                    )),
                }
            }
            None => Outcome::Fail(format!(
                "NGINX did not log `{DISABLED}` within {} s of `{first}` stopping; {}",
                bound.as_secs(),
                p.lint()
            )),
        },
    });
    out
}
