//! The VIP failover probe of the docker runtime: two load-balancer
//! containers, each with its host's address from the spec and running
//! keepalived with the rendered keepalived.conf (its `@host` lines picked by
//! the container's config id) next to the load balancer, on a network whose
//! subnet holds the virtual IP and both hosts. A device connects through the
//! virtual IP from this host (the network's bridge is on-link here); the run
//! kills the container that holds it and measures how long until a device
//! connects through it again, against the spec's single-node RTO.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::client::Tls;
use super::docker::logs;
use super::{progress, Outcome, Probe};
use crate::spec::model::LbKind;
use crate::spec::Site;

/// The network the run creates for a site with a virtual IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
    /// Not one of the spec's addresses.
    pub gateway: Ipv4Addr,
    /// Where docker puts containers without a fixed address (brokers, the
    /// single load balancer): a block that holds none of the spec's
    /// addresses, so none of them is taken before the LB hosts start.
    pub range: (Ipv4Addr, u8),
}

impl Subnet {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.base, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn within(base: Ipv4Addr, prefix: u8, a: Ipv4Addr) -> bool {
    u32::from(a) & mask(prefix) == u32::from(base) & mask(prefix)
}

/// The smallest subnet (a /24 at least, a /16 at most) around the virtual
/// IP that holds every address in `fixed`, with a gateway and a block for
/// dynamic addresses that avoid them.
pub fn plan(vip: Ipv4Addr, fixed: &[Ipv4Addr]) -> Result<Subnet, String> {
    let prefix = (16..=24)
        .rev()
        .find(|p| fixed.iter().all(|a| within(vip, *p, *a)))
        .ok_or_else(|| {
            format!(
                "the virtual IP {vip} and the load-balancer hosts ({}) are not in one /16: no test network can hold them",
                fixed.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
            )
        })?;
    let base = Ipv4Addr::from(u32::from(vip) & mask(prefix));
    let first = u32::from(base) + 1;
    let last = u32::from(base) | !mask(prefix);
    let taken = |a: u32| a == u32::from(vip) || fixed.iter().any(|f| u32::from(*f) == a);
    // The highest host address nobody declared.
    let gateway = (first..last)
        .rev()
        .find(|a| !taken(*a))
        .map(Ipv4Addr::from)
        .ok_or("no free gateway address")?;
    // The first /28 that holds neither a declared address nor the gateway.
    let range = (u32::from(base)..last)
        .step_by(16)
        .find(|b| (*b..b + 16).all(|a| !taken(a) && a != u32::from(gateway)))
        .map(|b| (Ipv4Addr::from(b), 28))
        .ok_or("no free /28 for the containers without a fixed address")?;
    Ok(Subnet {
        base,
        prefix,
        gateway,
        range,
    })
}

/// Docker's networks whose subnet overlaps `subnet`: (name, subnet).
pub fn collisions(subnet: &Subnet) -> Vec<(String, String)> {
    let Ok(out) = Command::new("docker")
        .args(["network", "ls", "--format", "{{.Name}}"])
        .output()
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for name in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(o) = Command::new("docker")
            .args([
                "network",
                "inspect",
                name,
                "--format",
                "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
            ])
            .output()
        else {
            continue;
        };
        for cidr in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            let Some((a, p)) = cidr.split_once('/') else {
                continue;
            };
            let (Ok(a), Ok(p)) = (a.parse::<Ipv4Addr>(), p.parse::<u8>()) else {
                continue;
            };
            // Two subnets overlap when the shorter prefix holds the other's base.
            let shorter = p.min(subnet.prefix);
            if within(a, shorter, subnet.base) {
                found.push((name.to_string(), cidr.to_string()));
            }
        }
    }
    found
}

/// Containers removed when dropped (`docker rm -f`), also on failure.
#[derive(Default)]
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
    }
}

/// How a load-balancer host's container starts: its installed tree, a
/// `systemctl` that answers the track script's `is-active --quiet UNIT`
/// from the process table (a container has no systemd), the load balancer
/// in the background, and keepalived in the foreground with the host's
/// config id, logging to the console.
const START: &str = r#"set -e
tar -xpf /mqttforge-install.tar -C /
cat >/usr/bin/systemctl <<'EOF'
#!/bin/sh
[ "$1" = is-active ] || exit 3
for unit; do :; done
pidof "${unit%.service}" >/dev/null
EOF
chmod 755 /usr/bin/systemctl
mkdir -p /run/haproxy
case "$MQTTFORGE_LB" in
nginx) nginx ;;
haproxy) haproxy -D -f /etc/haproxy/haproxy.cfg ;;
esac
exec keepalived --dont-fork --log-console --log-detail -f /etc/keepalived/keepalived.conf --config-id "$MQTTFORGE_HOST""#;

/// What the VIP probe needs from the run.
pub struct Vip {
    pub network: String,
    pub tag: String,
    pub image: String,
    pub kind: LbKind,
    /// The load balancer's installed tree (keepalived, its password file,
    /// the load balancer's config), as a tar.
    pub install_tar: PathBuf,
    /// The load balancer's service environment, as an env file.
    pub env_file: PathBuf,
    pub nofile: i64,
    /// (host name, address) of both load-balancer hosts, preferred first.
    pub hosts: Vec<(String, Ipv4Addr)>,
    pub vip: Ipv4Addr,
    /// The device listener's port on the load balancer.
    pub port: u16,
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {}: {e}", args[0]))?;
    if !out.status.success() {
        return Err(format!(
            "docker {}: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// keepalived's last state in a container's log, with its track script's
/// last result (an instance whose script fails from the start enters FAULT
/// without a state line).
fn state(container: &str) -> String {
    let log = logs(container);
    let entered = log
        .lines()
        .rev()
        .find(|l| l.contains("Entering ") && l.contains(" STATE"))
        .and_then(|l| l.split("Entering ").nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "none entered".into());
    match log
        .lines()
        .rev()
        .find(|l| l.contains("VRRP_Script(") && (l.contains(" failed") || l.contains(" succeeded")))
        .and_then(|l| l.split("VRRP_Script(").nth(1))
    {
        Some(script) => format!("{entered}; track script VRRP_Script({})", script.trim()),
        None => entered,
    }
}

/// Whether the container has the virtual IP on its interface.
fn holds(container: &str, vip: Ipv4Addr) -> bool {
    docker(&["exec", container, "ip", "-o", "-4", "addr", "show"])
        .is_ok_and(|out| out.split_whitespace().any(|w| w == format!("{vip}/32")))
}

impl Vip {
    fn container(&self, host: &str) -> String {
        format!("{host}-{}", self.tag)
    }

    fn start(&self, host: &str, address: Ipv4Addr, started: &mut Containers) -> Result<(), String> {
        let name = self.container(host);
        let kind = match self.kind {
            LbKind::Haproxy => "haproxy",
            LbKind::Nginx => "nginx",
        };
        let nofile = format!("nofile={0}:{0}", self.nofile);
        let ip = address.to_string();
        docker(&[
            "create",
            "--name",
            &name,
            "--hostname",
            host,
            "--network",
            &self.network,
            "--ip",
            &ip,
            // VRRP: adding the address, raw IP protocol 112 and gratuitous ARP.
            "--cap-add",
            "NET_ADMIN",
            "--cap-add",
            "NET_RAW",
            "--cap-add",
            "NET_BROADCAST",
            "--ulimit",
            &nofile,
            "--env-file",
            &self.env_file.display().to_string(),
            "-e",
            &format!("MQTTFORGE_LB={kind}"),
            "-e",
            &format!("MQTTFORGE_HOST={host}"),
            &self.image,
            "sh",
            "-c",
            START,
        ])?;
        started.0.push(name.clone());
        docker(&[
            "cp",
            &self.install_tar.display().to_string(),
            &format!("{name}:{}", super::docker::INSTALL_TAR),
        ])?;
        docker(&["start", &name])?;
        Ok(())
    }

    /// Waits until `container` holds the virtual IP; a container that
    /// exits first gives its last log lines.
    fn wait_master(&self, container: &str, within: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            if holds(container, self.vip) {
                return Ok(start.elapsed());
            }
            let running = docker(&["inspect", "-f", "{{.State.Running}}", container])
                .is_ok_and(|o| o.trim() == "true");
            if !running || start.elapsed() > within {
                let log = logs(container);
                let tail: Vec<&str> = log.lines().rev().take(4).collect();
                return Err(format!(
                    "`{container}` {} ({}): {}",
                    if running {
                        format!("did not take {} within {} s", self.vip, within.as_secs())
                    } else {
                        "exited".into()
                    },
                    state(container),
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the standby is BACKUP and stays so for longer than its
    /// track script takes to fail (`fall` runs of `interval`): ready to take
    /// the virtual IP over. Otherwise its state.
    fn wait_standby(&self, container: &str, within: Duration) -> Result<Duration, String> {
        use crate::render::targets::keepalived::{TRACK_FALL, TRACK_INTERVAL_S};
        let settle = Duration::from_secs(TRACK_INTERVAL_S * u64::from(TRACK_FALL) + 1);
        let start = Instant::now();
        let mut backup_since: Option<Instant> = None;
        loop {
            let now = state(container);
            if now.starts_with("BACKUP") {
                let since = *backup_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= settle {
                    return Ok(start.elapsed());
                }
            } else {
                backup_since = None;
            }
            if start.elapsed() > within {
                return Err(format!(
                    "`{container}` is not ready to take over: its VRRP state after {} s is {now}, not BACKUP",
                    within.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Starts both load-balancer hosts, the preferred one first (so it
    /// holds the virtual IP: both are BACKUP with nopreempt), connects a
    /// device through the virtual IP, kills the holder and measures the
    /// takeover a device sees.
    pub fn probes(&self, site: &Site, tls: &Tls, device: &str, quiet: bool) -> Vec<Probe> {
        let mut started = Containers::default();
        let mut out = Vec::new();
        let rto = site
            .spec
            .dr
            .as_ref()
            .and_then(|d| d.single_node_failure.as_ref())
            .map(|o| Duration::from_millis(o.rto.millis()));
        let (first, second) = (&self.hosts[0], &self.hosts[1]);
        progress(
            quiet,
            &format!(
                "starting the load-balancer hosts {} and {} (keepalived, VRRP) for {}",
                first.0, second.0, self.vip
            ),
        );
        let up = self
            .start(&first.0, first.1, &mut started)
            .and_then(|()| self.wait_master(&self.container(&first.0), Duration::from_secs(20)))
            .and_then(|t| {
                self.start(&second.0, second.1, &mut started)?;
                Ok(t)
            });
        out.push(Probe {
            name: "the virtual IP is held by one load balancer",
            outcome: match &up {
                Ok(t) => Outcome::Pass(format!(
                    "`{}` ({}) took {} {:.1} s after it started (keepalived, unicast VRRP with `{}`)",
                    first.0,
                    first.1,
                    self.vip,
                    t.as_secs_f64(),
                    second.0
                )),
                Err(e) => Outcome::Fail(e.clone()),
            },
        });
        let front = SocketAddr::from((self.vip, self.port));
        let connected = up.and_then(|_| {
            super::passive::connect_within(
                front,
                tls,
                &format!("{device}-via-vip"),
                Duration::from_secs(20),
            )
        });
        out.push(Probe {
            name: "a device connects through the virtual IP",
            outcome: match &connected {
                Ok((_, took)) => Outcome::Pass(format!(
                    "device `{device}` got CONNACK 0 through {front} in {:.2} s",
                    took.as_secs_f64()
                )),
                Err(e) => Outcome::Fail(format!("through {front}: {e}")),
            },
        });
        out.push(Probe {
            name: "the virtual IP moves when the active load balancer dies",
            outcome: match connected {
                Ok(_) => self.takeover(rto, tls, device, quiet),
                Err(_) => Outcome::Fail(
                    "not measured: no device connected through the virtual IP first".into(),
                ),
            },
        });
        out
    }

    /// Kills the load balancer holding the virtual IP (once the other one
    /// is ready to take over) and measures the time until a device gets
    /// CONNACK through the virtual IP again, against the single-node RTO.
    fn takeover(&self, rto: Option<Duration>, tls: &Tls, device: &str, quiet: bool) -> Outcome {
        let (first, second) = (&self.hosts[0], &self.hosts[1]);
        let front = SocketAddr::from((self.vip, self.port));
        let holder = self.container(&first.0);
        let standby = self.container(&second.0);
        // A standby that cannot take over fails the probe without the wait.
        if let Err(e) = self.wait_standby(&standby, Duration::from_secs(20)) {
            return Outcome::Fail(format!("not measured: {e}"));
        }
        progress(
            quiet,
            &format!("killing `{}`, which holds {}", first.0, self.vip),
        );
        if let Err(e) = docker(&["kill", &holder]) {
            return Outcome::Fail(e);
        }
        // Past the RTO the probe has failed: wait no longer.
        let within = rto.unwrap_or(Duration::from_secs(60)) + Duration::from_secs(5);
        let again =
            super::passive::connect_within(front, tls, &format!("{device}-after-vip"), within);
        let moved = holds(&standby, self.vip);
        let rto_text = rto
            .map(|r| format!("dr.single_node_failure RTO {} s", r.as_secs()))
            .unwrap_or_else(|| "no dr.single_node_failure RTO declared".into());
        match again {
                Ok((since, _)) if rto.is_none_or(|r| since <= r) && moved => {
                    Outcome::Pass(format!(
                        "`{}` was killed; `{}` took {} and a device got CONNACK 0 through it {:.1} s later (takeover; {rto_text})",
                        first.0,
                        second.0,
                        self.vip,
                        since.as_secs_f64()
                    ))
                }
                Ok((since, _)) if !moved => Outcome::Fail(format!(
                    "a device connected through {} {:.1} s after `{}` was killed, but `{}` does not hold it ({})",
                    self.vip,
                    since.as_secs_f64(),
                    first.0,
                    second.0,
                    state(&standby)
                )),
                Ok((since, _)) => Outcome::Fail(format!(
                    "takeover took {:.1} s, above the {rto_text}",
                    since.as_secs_f64()
                )),
                Err(e) => Outcome::Fail(format!(
                    "after `{}` was killed: {e} (`{}`: {}; {rto_text})",
                    first.0,
                    second.0,
                    state(&standby)
                )),
        }
    }
}

/// Writes `env` as a docker env file (the load balancer's service
/// environment; its values stay out of command lines and logs).
pub fn env_file(
    path: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut text = String::new();
    for (k, v) in env {
        if v.contains('\n') {
            return Err(format!("{k}: a value on several lines cannot be passed"));
        }
        text.push_str(&format!("{k}={v}\n"));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subnet_holds_the_vip_and_hosts_and_avoids_them() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let s = plan(ip("10.30.0.10"), &[ip("10.30.0.21"), ip("10.30.0.22")]).unwrap();
        assert_eq!(s.cidr(), "10.30.0.0/24");
        assert_eq!(s.gateway, ip("10.30.0.254"));
        assert_eq!(s.range, (ip("10.30.0.32"), 28));
        assert!(within(s.base, s.prefix, ip("10.30.0.22")));
        let wide = plan(ip("10.30.0.10"), &[ip("10.30.5.21")]).unwrap();
        assert_eq!(wide.cidr(), "10.30.0.0/21");
        assert!(plan(ip("10.30.0.10"), &[ip("10.31.0.21")]).is_err());
    }
}
