//! The backup→restore drill (`verify --drill`, local runtime): state a
//! restore must bring back (retained messages, a persistent session with
//! queued QoS 1 messages), the RENDERED backup script run against the
//! serving broker (a client stays connected and has every publish acked),
//! encrypted with age to a local directory standing in for the off-site
//! target, then the host is lost: a replacement host with only the
//! package's empty directories and mqttforge's scripts runs the RENDERED
//! restore script, and the drill checks what came back, how long it took
//! (beside the spec's RTO) and how old the restored data is (beside its RPO).
//!
//! What the drill supplies that a real host would: the off-site directory
//! (the test variant renders the site with its backup target pointing
//! there), the age identity (generated), and `systemctl` — a stand-in on
//! PATH that runs Mosquitto as the package's unit does (`mosquitto -c
//! CONF`), daemonized so the script can return. The scripts themselves run
//! as apply installs them, unchanged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::{Client, Tls};
use super::{install, Outcome, Probe};
use crate::render::OutputTree;
use crate::spec::Site;

/// Where the test variant ships backups: a directory under verify's work
/// directory stands in for the off-site target.
pub fn offsite(work: &Path) -> PathBuf {
    work.join("offsite")
}

/// The name of the drill's probes when the drill cannot run at all.
pub const DRILL: &str = "backup→restore drill";

/// Every probe the drill reports, by name (the docker runtime reads them
/// back from the drill it runs in a container).
pub const PROBES: &[&str] = &[
    DRILL,
    BACKUP,
    RESTORE,
    RTO,
    RPO,
    RETAINED_BACK,
    SESSION_BACK,
    ACL_BACK,
    PASSWORDS_BACK,
    CERTS_BACK,
];
const BACKUP: &str = "drill: the rendered backup script runs while the broker serves";
const RTO: &str = "drill: restore time within the RTO";
const RPO: &str = "drill: restored data age within the RPO";
const RETAINED_BACK: &str = "drill: retained messages restored";
const SESSION_BACK: &str = "drill: queued session messages restored";
const ACL_BACK: &str = "drill: ACL restored";
const PASSWORDS_BACK: &str = "drill: password file restored";
const CERTS_BACK: &str = "drill: certificates restored";

/// The drill's probe on an EMQX site: not run, and why.
pub fn emqx_not_run() -> Probe {
    Probe {
        name: DRILL,
        outcome: Outcome::NotApplicable(
            "not run: the EMQX drill needs an EMQX image (emqx/emqx:5, docker runtime) to run \
             `emqx ctl data export`/`import`; the local runtime runs Mosquitto only"
                .into(),
        ),
    }
}

/// What the drill needs from the runtime that started the site.
pub(crate) struct Ctx<'a> {
    pub site: &'a Site,
    pub tree: &'a OutputTree,
    pub mosquitto: &'a Path,
    /// Node 0's root (it stands for `/` on that host).
    pub host: PathBuf,
    pub work: &'a Path,
    /// Node 0's device (mTLS) and plaintext listeners.
    pub device_addr: SocketAddr,
    pub plain_addr: SocketAddr,
    pub device_tls: Tls,
    pub device: String,
    /// An admin user and its password.
    pub admin: (String, String),
    /// The pid of node 0's broker (run in the foreground, as systemd does).
    pub main_pid: u32,
    /// Stops node 0's broker (the host is lost).
    pub stop: &'a dyn Fn(),
}

/// The `systemctl` the drill puts on PATH: `show` (MainPID), `stop`,
/// `start` and `is-active` of the one broker, tracked in a state file.
const SYSTEMCTL: &str = r#"#!/bin/sh
# verify --drill: a stand-in for systemctl on the drill's host. It runs the
# broker as the package's unit does (mosquitto -c CONF), daemonized so the
# calling script can go on, and tracks its pid as systemd's MainPID.
set -eu
state="${MQTTFORGE_DRILL_STATE:?}/mainpid"
cmd=$1
pid=$(cat "$state" 2>/dev/null || echo 0)
case "$cmd" in
  show) echo "$pid" ;;
  is-active) [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null ;;
  stop)
    if [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      i=0
      while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    echo 0 >"$state" ;;
  start)
    rm -f "$MQTTFORGE_DRILL_PID_FILE"
    "$MQTTFORGE_DRILL_MOSQUITTO" -c "$MQTTFORGE_DRILL_CONF" -d
    i=0
    while [ ! -s "$MQTTFORGE_DRILL_PID_FILE" ] && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    cat "$MQTTFORGE_DRILL_PID_FILE" >"$state" ;;
  *) echo "drill systemctl: $cmd is not supported" >&2; exit 1 ;;
esac
"#;

/// Stops the broker the stand-in started (by its pid) when the drill ends.
struct Daemon(PathBuf);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.join("mainpid")) {
            let pid = pid.trim();
            if pid != "0" && !pid.is_empty() {
                let _ = Command::new("sh")
                    .args(["-c", &format!("kill -TERM {pid}")])
                    .status();
            }
        }
    }
}

fn fail(name: &'static str, why: String) -> Vec<Probe> {
    vec![Probe {
        name,
        outcome: Outcome::Fail(why),
    }]
}

fn run_script(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        return Err(format!("{what} exited ({}): {stderr}", out.status));
    }
    Ok(stderr)
}

/// The objective a restore from backup is held to: corruption's, else a
/// datacenter loss's, else a single node failure's.
fn objective(site: &Site) -> Option<(&'static str, &crate::spec::model::Objective)> {
    let dr = site.spec.dr.as_ref()?;
    ["corruption", "datacenter_loss", "single_node_failure"]
        .into_iter()
        .find_map(|s| dr.objective(s).map(|o| (s, o)))
}

/// A spec duration as written (`15m`, `1h`).
fn human(d: crate::spec::model::Duration) -> String {
    let ms = d.millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

const RETAINED: [&str; 2] = ["status", "drill/config"];
const QUEUED: usize = 3;

pub(crate) fn run(c: &Ctx<'_>) -> Vec<Probe> {
    let backup = match preconditions(c.site) {
        Ok(backup) => backup,
        Err(why) => {
            return vec![Probe {
                name: DRILL,
                outcome: Outcome::NotApplicable(why),
            }]
        }
    };
    let drill = match Drill::prepare(c, backup) {
        Ok(drill) => drill,
        Err(e) => return fail(DRILL, e),
    };
    let _daemon = Daemon(drill.dir.clone());
    if let Err(e) = drill.seed_state() {
        return fail(DRILL, format!("cannot set up the state to back up: {e}"));
    }
    let taken_at = Instant::now();
    let (probe, artifact) = drill.backup_while_serving();
    let mut probes = vec![probe];
    let Some(artifact) = artifact else {
        return probes;
    };
    let lost = c.host.with_extension("lost");
    let restored = drill
        .replace_host(&lost)
        .and_then(|()| drill.restore(&artifact));
    let restore_took = match restored {
        Ok(took) => took,
        Err(e) => {
            probes.extend(fail(RESTORE, e));
            return probes;
        }
    };
    let data_age = taken_at.elapsed();
    probes.push(Probe {
        name: RESTORE,
        outcome: Outcome::Pass(format!(
            "{artifact} decrypted, checked and restored; serving mTLS {:.1} s after the restore began",
            restore_took.as_secs_f64()
        )),
    });
    probes.push(rto_probe(c.site, restore_took));
    probes.push(rpo_probe(c.site, backup, data_age));
    probes.push(Probe {
        name: RETAINED_BACK,
        outcome: drill.retained_back().unwrap_or_else(Outcome::Fail),
    });
    probes.push(Probe {
        name: SESSION_BACK,
        outcome: drill.session_back().unwrap_or_else(Outcome::Fail),
    });
    probes.extend(file_probes(&lost, &c.host));
    probes
}

const RESTORE: &str = "drill: the rendered restore script restores onto a fresh host";

/// Why the drill cannot run on this site, or its backup.
fn preconditions(site: &Site) -> Result<&crate::spec::model::Backup, String> {
    let Some(backup) = &site.spec.backup else {
        return Err("the spec has no backup".into());
    };
    if !site.spec.persistence.enabled {
        return Err(
            "persistence is off in the spec: a backup holds no retained messages or sessions"
                .into(),
        );
    }
    if !crate::plan::write::running_as_root() {
        return Err(
            "not run: the restore script runs as root (sudo, as the runbook says) so that \
             the archive's owners and modes come back; run verify as root to drill"
                .into(),
        );
    }
    Ok(backup)
}

/// One drill: the runtime's site, the drill's directory with its
/// `systemctl` stand-in, and the age key pair backups are encrypted to.
struct Drill<'c, 'a> {
    c: &'c Ctx<'a>,
    dir: PathBuf,
    /// PATH with the stand-in first.
    path: String,
    /// The variable the backup script reads the recipient from, when the
    /// spec encrypts.
    recipient_env: Option<String>,
    recipient: String,
    identity: PathBuf,
    cmd_topic: String,
}

impl<'c, 'a> Drill<'c, 'a> {
    fn prepare(c: &'c Ctx<'a>, backup: &crate::spec::model::Backup) -> Result<Self, String> {
        let dir = c.work.join("drill");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin)
            .and_then(|_| {
                use std::os::unix::fs::PermissionsExt;
                let p = bin.join("systemctl");
                std::fs::write(&p, SYSTEMCTL)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
                std::fs::write(dir.join("mainpid"), format!("{}\n", c.main_pid))
            })
            .map_err(|e| format!("cannot prepare the drill: {e}"))?;
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let recipient_env = backup
            .encrypt
            .as_ref()
            .and_then(|e| e.age_recipient.env.clone());
        let identity = dir.join("identity.txt");
        let recipient = if recipient_env.is_some() {
            age_key_pair(&identity)?
        } else {
            String::new()
        };
        Ok(Drill {
            cmd_topic: format!("devices/{}/cmd/drill", c.device),
            c,
            dir,
            path,
            recipient_env,
            recipient,
            identity,
        })
    }

    /// A rendered script, run as the host runs it, with the stand-in.
    fn script(&self, script: &Path) -> Command {
        let c = self.c;
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .env("PATH", &self.path)
            .env("MQTTFORGE_DRILL_STATE", &self.dir)
            .env("MQTTFORGE_DRILL_MOSQUITTO", c.mosquitto)
            .env(
                "MQTTFORGE_DRILL_CONF",
                c.host.join("etc/mosquitto/mosquitto.conf"),
            )
            .env(
                "MQTTFORGE_DRILL_PID_FILE",
                c.host.join("run/mosquitto/mosquitto.pid"),
            );
        cmd
    }

    fn admin(&self, cid: &str) -> Result<Client, String> {
        admin_client(self.c.plain_addr, &self.c.admin, cid)
    }

    /// State a restore must bring back: retained messages, and a device's
    /// persistent session with commands queued while it is away.
    fn seed_state(&self) -> Result<(), String> {
        let (c, id) = (self.c, &self.c.device);
        let mut a = self.admin("verify-drill-seed")?;
        for t in RETAINED {
            a.publish(
                &format!("devices/{id}/{t}"),
                format!("drill retained {t}").as_bytes(),
                1,
                true,
            )?;
        }
        let mut d = Client::open(c.device_addr, Some(&c.device_tls))?;
        d.connect(id, false)?;
        if d.subscribe(&self.cmd_topic, 1)? > 1 {
            return Err(format!(
                "SUBACK refused `{}` for device `{id}`",
                self.cmd_topic
            ));
        }
        d.disconnect();
        // The broker must have seen the device go before the commands queue.
        std::thread::sleep(Duration::from_millis(200));
        for n in 1..=QUEUED {
            a.publish(&self.cmd_topic, format!("queued {n}").as_bytes(), 1, false)?;
        }
        a.disconnect();
        Ok(())
    }

    /// Runs the rendered backup script while a client stays connected and
    /// publishes; the probe, and the shipped archive's name.
    fn backup_while_serving(&self) -> (Probe, Option<String>) {
        let c = self.c;
        let stop = AtomicBool::new(false);
        let started = Instant::now();
        let (backup_result, serving) = std::thread::scope(|s| {
            let (addr, admin, stop) = (c.plain_addr, &c.admin, &stop);
            let serving = s.spawn(move || keep_publishing(addr, admin, stop));
            let mut cmd = self.script(&c.host.join("usr/local/sbin/mqttforge-backup"));
            if let Some(var) = &self.recipient_env {
                cmd.env(var, &self.recipient);
            }
            let r = run_script(cmd, "the rendered backup script");
            stop.store(true, Ordering::Relaxed);
            let serving = serving
                .join()
                .unwrap_or_else(|_| Err("the serving client panicked".into()));
            (r, serving)
        });
        let took = started.elapsed();
        let backed_up = backup_result.and_then(|_| self.shipped_archive());
        let outcome = match (&backed_up, &serving) {
            (Err(e), _) => Outcome::Fail(e.clone()),
            (_, Err(e)) => Outcome::Fail(format!("the broker stopped serving: {e}")),
            (Ok(name), Ok((acked, worst))) => Outcome::Pass(format!(
                "{name} ({}) shipped to the off-site stand-in in {:.1} s; a client stayed connected, {acked} QoS 1 publishes acked (slowest {} ms)",
                if self.recipient_env.is_some() { "age-encrypted" } else { "not encrypted: the spec has no encrypt" },
                took.as_secs_f64(),
                worst.as_millis()
            )),
        };
        let probe = Probe {
            name: BACKUP,
            outcome,
        };
        (probe, backed_up.ok())
    }

    /// The archive the backup shipped to the off-site stand-in.
    fn shipped_archive(&self) -> Result<String, String> {
        let site = self.c.site;
        let target = PathBuf::from(&site.spec.backup.as_ref().expect("checked").target);
        let name = std::fs::read_dir(&target)
            .ok()
            .and_then(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .find(|n| {
                        n.starts_with(&format!("{}-", site.name())) && !n.ends_with(".sha256")
                    })
            })
            .ok_or_else(|| format!("no backup of `{}` in {}", site.name(), target.display()))?;
        let head = std::fs::read(target.join(&name)).unwrap_or_default();
        if self.recipient_env.is_some() && !head.starts_with(b"age-encryption.org/v1") {
            return Err(format!("{name} is not age-encrypted"));
        }
        Ok(name)
    }

    /// The host is lost; a replacement has the package's empty directories
    /// and mqttforge's scripts, nothing else.
    fn replace_host(&self, lost: &Path) -> Result<(), String> {
        let c = self.c;
        (c.stop)();
        std::fs::rename(&c.host, lost).map_err(|e| format!("cannot move the host away: {e}"))?;
        let mut scripts = c.tree.clone();
        scripts.files.retain(|k, _| k.starts_with("backup/"));
        let node = &c.site.spec.nodes[0].name.0;
        install::install(c.site, &scripts, None, node, &c.host, c.work)?;
        for d in ["etc", "var/lib", "var/log", "run"] {
            let p = c.host.join(d);
            std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        install::package_directories(&c.host, super::local::MOSQUITTO_PACKAGE_DIRS, "mosquitto")
    }

    /// Runs the rendered restore script; how long until a device is served
    /// again (mTLS handshake and CONNACK).
    fn restore(&self, artifact: &str) -> Result<Duration, String> {
        let c = self.c;
        let started = Instant::now();
        let mut cmd = self.script(&c.host.join("usr/local/sbin/mqttforge-restore"));
        cmd.arg(artifact).env("BACKUP_AGE_IDENTITY", &self.identity);
        run_script(cmd, "the rendered restore script")?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let attempt = Client::open(c.device_addr, Some(&c.device_tls)).and_then(|mut d| {
                d.connect(&format!("{}-drill", c.device), true)
                    .map(|r| (d, r))
            });
            match attempt {
                Ok((d, (_, 0))) => {
                    d.disconnect();
                    return Ok(started.elapsed());
                }
                Ok((_, (_, rc))) if Instant::now() > deadline => {
                    return Err(format!("the restored broker answers CONNACK {rc}"))
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("the restored broker does not serve: {e}"))
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn retained_back(&self) -> Result<Outcome, String> {
        let id = &self.c.device;
        let mut a = self.admin("verify-drill-retained")?;
        a.set_read_timeout(Duration::from_secs(2));
        let mut missing = Vec::new();
        for t in RETAINED {
            let topic = format!("devices/{id}/{t}");
            a.subscribe(&topic, 1)?;
            let want = format!("drill retained {t}");
            if !super::local::receives(&mut a, &topic, &want) {
                missing.push(topic);
            }
        }
        a.disconnect();
        Ok(if missing.is_empty() {
            Outcome::Pass(format!(
                "{} retained message(s) back after the restore",
                RETAINED.len()
            ))
        } else {
            Outcome::Fail(format!(
                "the retained store was not restored: no retained message on {}",
                missing.join(", ")
            ))
        })
    }

    fn session_back(&self) -> Result<Outcome, String> {
        let (c, id) = (self.c, &self.c.device);
        let mut d = Client::open(c.device_addr, Some(&c.device_tls))?;
        let (present, _) = d.connect(id, false)?;
        d.set_read_timeout(Duration::from_secs(2));
        let mut got = 0;
        for n in 1..=QUEUED {
            if super::local::receives(&mut d, &self.cmd_topic, &format!("queued {n}")) {
                got += 1;
            }
        }
        d.disconnect();
        // Leave no persistent session behind.
        let mut clean = Client::open(c.device_addr, Some(&c.device_tls))?;
        clean.connect(id, true)?;
        clean.disconnect();
        Ok(if present && got == QUEUED {
            Outcome::Pass(format!(
                "device `{id}`'s persistent session is back (session present) with its {QUEUED} queued QoS 1 messages"
            ))
        } else {
            Outcome::Fail(format!(
                "the persistent session was not restored: session present = {present}, {got} of {QUEUED} queued messages delivered"
            ))
        })
    }
}

/// The admin user's client on the plaintext listener.
fn admin_client(
    addr: SocketAddr,
    (user, password): &(String, String),
    cid: &str,
) -> Result<Client, String> {
    let mut a = Client::open(addr, None)?;
    let (_, rc) = a.connect_with_credentials(cid, user, password)?;
    if rc != 0 {
        return Err(format!("user `{user}` refused (CONNACK {rc})"));
    }
    Ok(a)
}

/// QoS 1 publishes until `stop`: how many were acked and the slowest.
fn keep_publishing(
    addr: SocketAddr,
    admin: &(String, String),
    stop: &AtomicBool,
) -> Result<(usize, Duration), String> {
    let mut cl = admin_client(addr, admin, "verify-drill-serving")?;
    let (mut acked, mut worst) = (0usize, Duration::ZERO);
    while !stop.load(Ordering::Relaxed) || acked == 0 {
        let t = Instant::now();
        cl.publish("drill/serving", format!("{acked}").as_bytes(), 1, false)
            .map_err(|e| format!("publish {} during the backup: {e}", acked + 1))?;
        worst = worst.max(t.elapsed());
        acked += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    cl.disconnect();
    Ok((acked, worst))
}

/// A new age key pair in `identity`; its public recipient.
fn age_key_pair(identity: &Path) -> Result<String, String> {
    let keygen = Command::new("age-keygen").arg("-o").arg(identity).output();
    let public = Command::new("age-keygen").arg("-y").arg(identity).output();
    match (keygen, public) {
        (Ok(k), Ok(p)) if k.status.success() && p.status.success() => {
            Ok(String::from_utf8_lossy(&p.stdout).trim().to_string())
        }
        _ => Err("`age-keygen` failed or is not on PATH (Debian package age)".into()),
    }
}

fn rto_probe(site: &Site, restore_took: Duration) -> Probe {
    let took = restore_took.as_secs_f64();
    Probe {
        name: RTO,
        outcome: match objective(site) {
            None => Outcome::NotApplicable(format!(
                "measured restore time {took:.1} s; the spec states no RTO (dr)"
            )),
            Some((scenario, o)) if restore_took.as_millis() as u64 <= o.rto.millis() => {
                Outcome::Pass(format!(
                    "measured restore time {took:.1} s; RTO {} ({scenario})",
                    human(o.rto)
                ))
            }
            Some((scenario, o)) => Outcome::Fail(format!(
                "measured restore time {took:.1} s exceeds the RTO {} ({scenario})",
                human(o.rto)
            )),
        },
    }
}

fn rpo_probe(site: &Site, backup: &crate::spec::model::Backup, data_age: Duration) -> Probe {
    let age = data_age.as_secs_f64();
    Probe {
        name: RPO,
        outcome: match objective(site) {
            None => Outcome::NotApplicable(format!(
                "the restored data is {age:.1} s old; the spec states no RPO (dr)"
            )),
            Some((scenario, o)) if data_age.as_millis() as u64 <= o.rpo.millis() => {
                // The schedule's interval is the one MQ-DR-004 and the
                // runbook weigh (spec::recovery), not a second table.
                let every_s = crate::spec::recovery::backup_every_s(backup.schedule);
                let label = format!("{:?}", backup.schedule).to_lowercase();
                let caveat = if every_s * 1000 > o.rpo.millis() {
                    format!(
                        "; but {label} backups restore state up to {} old, beyond the RPO",
                        crate::spec::recovery::human(every_s)
                    )
                } else {
                    format!("; {label} backups keep within it")
                };
                Outcome::Pass(format!(
                    "the restored data is {age:.1} s old (taken when the backup began); RPO {} ({scenario}){caveat}",
                    human(o.rpo),
                ))
            }
            Some((scenario, o)) => Outcome::Fail(format!(
                "the restored data is {age:.1} s old, beyond the RPO {} ({scenario})",
                human(o.rpo)
            )),
        },
    }
}

/// The ACL, password file and certificates of the restored host against
/// the lost one's.
fn file_probes(lost: &Path, host: &Path) -> Vec<Probe> {
    let files = compare_conf(lost, host);
    let mut probes = Vec::new();
    for (name, kind, pred) in [
        (
            ACL_BACK,
            "ACL",
            (|p: &str| p.ends_with("/acl") || p.contains("acl")) as fn(&str) -> bool,
        ),
        (PASSWORDS_BACK, "password file", |p: &str| {
            p.contains("passw")
        }),
        (CERTS_BACK, "certificate", |p: &str| p.contains("/certs/")),
    ] {
        let mine: Vec<_> = files.iter().filter(|(p, _)| pred(p)).collect();
        let bad: Vec<String> = mine
            .iter()
            .filter_map(|(p, r)| r.as_ref().err().map(|e| format!("{p}: {e}")))
            .collect();
        probes.push(Probe {
            name,
            outcome: if mine.is_empty() {
                Outcome::NotApplicable(format!("the host had no {kind}"))
            } else if bad.is_empty() {
                Outcome::Pass(format!(
                    "{} file(s) back with the same bytes, mode and owner; the broker serves with them",
                    mine.len()
                ))
            } else {
                Outcome::Fail(format!("{kind} not restored: {}", bad.join("; ")))
            },
        });
    }
    probes
}

/// Every file of the lost host's Mosquitto configuration directory against
/// the restored host's: path (relative to the host) -> same or what differs.
fn compare_conf(lost: &Path, restored: &Path) -> BTreeMap<String, Result<(), String>> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![lost.join("etc/mosquitto")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(lost).unwrap_or(&p).to_path_buf();
            let there = restored.join(&rel);
            let verdict = match (std::fs::metadata(&p), std::fs::metadata(&there)) {
                (_, Err(_)) => Err("missing".to_string()),
                (Ok(a), Ok(b)) => {
                    if std::fs::read(&p).ok() != std::fs::read(&there).ok() {
                        Err("different contents".into())
                    } else if a.mode() != b.mode() {
                        Err(format!(
                            "mode {:o}, was {:o}",
                            b.mode() & 0o7777,
                            a.mode() & 0o7777
                        ))
                    } else if (a.uid(), a.gid()) != (b.uid(), b.gid()) {
                        Err("owner or group differs".into())
                    } else {
                        Ok(())
                    }
                }
                (Err(e), _) => Err(e.to_string()),
            };
            out.insert(format!("/{}", rel.display()), verdict);
        }
    }
    out
}
