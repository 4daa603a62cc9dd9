//! The local runtime: Mosquitto and HAProxy from PATH, each node started on
//! its own loopback address with the rendered files of the site's test
//! variant, a PKI issued with the site's profiles, and generated passwords.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{Client, Tls};
use super::{free_port, install, progress, Outcome, Probe};
use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::model::{ClientCerts, Engine, LbKind, TlsVersion};
use crate::spec::Site;

/// A process that is stopped when dropped (teardown also on failure).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends SIGTERM (through the shell's builtin `kill`: a minimal Debian has
/// no procps) and waits up to 15 s for the process to exit; SIGKILL after.
/// Err when it had to be killed: whatever it writes on the way out (Mosquitto's
/// persistence database) was not written.
pub(crate) fn terminate(child: &mut Child) -> Result<(), String> {
    let pid = child.id();
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .is_ok_and(|s| s.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while sent && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(if sent {
        format!("process {pid} did not exit within 15 s of SIGTERM and was killed")
    } else {
        format!("cannot send SIGTERM to process {pid}; it was killed")
    })
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

fn start_mosquitto(bin: &Path, conf: &Path, log: &Path) -> Result<Proc, String> {
    let seen = std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(" running")
        .count();
    let child = Command::new(bin)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start mosquitto: {e}"))?;
    let mut proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logged = std::fs::read_to_string(log).unwrap_or_default();
        if logged.matches(" running").count() > seen {
            return Ok(proc);
        }
        if let Ok(Some(status)) = proc.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = proc.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            let tail: Vec<&str> = logged.lines().rev().take(5).collect();
            return Err(format!(
                "mosquitto exited ({status}): {} {}",
                err.trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        if Instant::now() > deadline {
            return Err("mosquitto did not report running within 15 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Server name -> (status, last check status) of a backend, from `show stat`.
fn parse_stat(csv: &str, backend: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let mut columns: Vec<String> = Vec::new();
    for line in csv.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            columns = header.split(',').map(String::from).collect();
            continue;
        }
        let col = |name: &str| columns.iter().position(|c| c == name);
        let f: Vec<&str> = line.split(',').collect();
        let (Some(status), Some(check)) = (col("status"), col("check_status")) else {
            continue;
        };
        if f.len() > status.max(check) && f[0] == backend && f[1] != "BACKEND" && f[1] != "FRONTEND"
        {
            out.insert(
                f[1].to_string(),
                (f[status].to_string(), f[check].to_string()),
            );
        }
    }
    out
}

/// Waits until a server's status starts with `want` — for UP, after a
/// health check has really passed (`L7OK`: the CONNACK matched).
fn wait_for(
    hosts: &dyn Hosts,
    backend: &str,
    server: &str,
    want: &str,
    within: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        if let Ok(csv) = hosts.lb_stat() {
            let st = parse_stat(&csv, backend);
            if st.get(server).is_some_and(|(status, check)| {
                status.starts_with(want) && (want != "UP" || check == "L7OK")
            }) {
                return Ok(start.elapsed());
            }
        }
        if start.elapsed() > within {
            let status = match hosts.lb_stat() {
                Ok(csv) => {
                    let st = parse_stat(&csv, backend);
                    st.get(server)
                        .map(|(status, check)| format!("{status} (last check {check})"))
                        .unwrap_or_else(|| {
                            format!(
                                "not in backend `{backend}` ({})",
                                st.keys().cloned().collect::<Vec<_>>().join(", ")
                            )
                        })
                }
                Err(e) => format!("unknown ({e})"),
            };
            return Err(format!(
                "`{server}` is {status} after {within:?}, expected {want}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs a Mosquitto site (and its HAProxy) from PATH and probes it.
pub fn run(
    site: &Site,
    spec_name: &str,
    work: &Path,
    quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    run_with(site, spec_name, work, quiet, &|_| {})
}

/// What the local runtime runs beyond the default probes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// The backup→restore drill ([`super::drill`]), after the other probes.
    pub drill: bool,
}

/// [`run`], with a change to the rendered tree before anything starts (tests
/// prove that a broken config makes the matching probe fail).
pub fn run_with(
    site: &Site,
    spec_name: &str,
    work: &Path,
    quiet: bool,
    tamper: &dyn Fn(&mut crate::render::OutputTree),
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    run_with_options(site, spec_name, work, quiet, Options::default(), tamper)
}

/// [`run_with`], with [`Options`].
pub fn run_with_options(
    site: &Site,
    spec_name: &str,
    work: &Path,
    quiet: bool,
    options: Options,
    tamper: &dyn Fn(&mut crate::render::OutputTree),
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    let fail = |m: String| vec![Diagnostic::error(Code::Verify, m)];
    if site.spec.engine == Engine::Emqx {
        let mut probes = super::emqx::structural(site, spec_name)?;
        if options.drill {
            probes.push(super::drill::emqx_not_run());
        }
        return Ok(probes);
    }
    if site.spec.engine != Engine::Mosquitto {
        return Ok(vec![Probe {
            name: "local runtime",
            outcome: Outcome::NotApplicable(format!(
                "the local runtime runs Mosquitto sites; {} runs on the bundled runtime",
                site.spec.engine.as_str()
            )),
        }]);
    }
    let mosquitto = which("mosquitto")
        .ok_or_else(|| fail("`mosquitto` is not on PATH (Debian package mosquitto)".into()))?;
    let variant = Variant::render(site, spec_name, work, quiet, tamper)?;
    let site = &variant.site;
    let mut brokers = Vec::new();
    let mut notes = Vec::new();
    for (i, node) in site.spec.nodes.iter().enumerate() {
        let host = install::host_root(&variant.root, &node.name.0);
        let installed = install::install(
            site,
            &variant.tree,
            Some(&variant.pki),
            &node.name.0,
            &host,
            work,
        )
        .and_then(|note| {
            install::package_directories(&host, MOSQUITTO_PACKAGE_DIRS, "mosquitto")?;
            Ok(note)
        });
        let note = match installed {
            Ok(note) => note,
            Err(e) => return Ok(vec![config_loads_failed(&node.name.0, &e)]),
        };
        notes.push(note);
        progress(quiet, &format!("starting mosquitto for node {}", node.name));
        let conf = host.join("etc/mosquitto/mosquitto.conf");
        let log = host.join("var/log/mosquitto/mosquitto.log");
        match start_mosquitto(&mosquitto, &conf, &log) {
            Ok(p) => brokers.push((
                node.name.0.clone(),
                format!("127.0.0.{}", 11 + i),
                conf,
                log,
                Some(p),
            )),
            Err(e) => return Ok(vec![config_loads_failed(&node.name.0, &e)]),
        }
    }
    let mut probes = vec![Probe {
        name: "config loads",
        outcome: Outcome::Pass(format!(
            "{} mosquitto node(s) running from the tree apply installs ({})",
            brokers.len(),
            notes.first().cloned().unwrap_or_default()
        )),
    }];
    if site.spec.load_balancer.is_some() {
        let lb = install::host_root(&variant.root, "lb");
        install::install(site, &variant.tree, None, "lb", &lb, work).map_err(fail)?;
    }
    let hosts = LocalHosts {
        mosquitto: mosquitto.clone(),
        brokers: std::cell::RefCell::new(brokers),
        ports: variant.ports.clone(),
        root: variant.root.clone(),
        haproxy: std::cell::RefCell::new(None),
        nofile: site.spec.capacity.clients * 11 / 10 * 2 + 2048,
    };
    probes.extend(probe_site(
        site,
        &hosts,
        &variant.tree,
        &variant.pki,
        &variant.foreign,
        &variant.secrets,
        quiet,
    )?);
    if options.drill {
        progress(quiet, "backup→restore drill");
        probes.extend(drill(site, &hosts, &variant, work));
    }
    Ok(probes)
}

/// The drill on node 0 (started again if the failover probe stopped it).
fn drill(site: &Site, hosts: &LocalHosts, variant: &Variant, work: &Path) -> Vec<Probe> {
    let not_run = |why: String| {
        vec![Probe {
            name: super::drill::DRILL,
            outcome: Outcome::NotApplicable(why),
        }]
    };
    let fail = |why: String| {
        vec![Probe {
            name: super::drill::DRILL,
            outcome: Outcome::Fail(why),
        }]
    };
    let device = site.devices().next().map(|d| d.id);
    let device_listener = site.spec.listeners.iter().find(|l| {
        l.tls
            .as_ref()
            .is_some_and(|t| t.client_certs == ClientCerts::Required)
    });
    let plain = site.spec.listeners.iter().find(|l| l.tls.is_none());
    let admin = site.spec.users.iter().find_map(|u| {
        let key = u
            .password
            .as_ref()?
            .env
            .clone()
            .or(u.password.as_ref()?.file.clone())?;
        let all = site.role(u.role.as_str()).is_some_and(|r| {
            crate::render::targets::access::grants(&r)
                .iter()
                .any(|g| g.topic == "#" && g.access.publishes() && g.access.subscribes())
        });
        all.then(|| (u.name.0.clone(), variant.secrets.get(&key).cloned()))
    });
    let (Some(id), Some(l), Some(plain), Some((user, Some(password)))) =
        (device, device_listener, plain, admin)
    else {
        return not_run(
            "needs a device, an mTLS listener, and an admin user on a plaintext listener".into(),
        );
    };
    let node = &site.spec.nodes[0];
    let server_name = node
        .dns_names
        .first()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| node.name.0.clone());
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
    let tls = (|| -> Result<Tls, String> {
        Ok(Tls {
            ca_pem: read(variant.pki.join("ca.pem"))?,
            client: Some((
                read(variant.pki.join(format!("devices/{id}.pem")))?,
                read(variant.pki.join(format!("devices/{id}.key")))?,
            )),
            server_name,
            only_tls12: false,
        })
    })();
    let tls = match tls {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if let Err(e) = hosts.ensure_running(0) {
        return fail(format!("node {} did not start again: {e}", node.name));
    }
    let Some(main_pid) = hosts.pid(0) else {
        return fail(format!("node {} is not running", node.name));
    };
    let stop = || hosts.stop(0);
    super::drill::run(&super::drill::Ctx {
        site,
        tree: &variant.tree,
        mosquitto: &hosts.mosquitto,
        host: install::host_root(&variant.root, &node.name.0),
        work,
        device_addr: hosts.addr(0, l.name.as_str()),
        plain_addr: hosts.addr(0, plain.name.as_str()),
        device_tls: tls,
        device: id,
        admin: (user, password),
        main_pid,
        stop: &stop,
    })
}

/// What the Debian package's unit gives Mosquitto (its data, log and run
/// directories, owned by `mosquitto`).
pub(crate) const MOSQUITTO_PACKAGE_DIRS: &[&str] =
    &["/run/mosquitto", "/var/log/mosquitto", "/var/lib/mosquitto"];

fn config_loads_failed(node: &str, why: &str) -> Probe {
    Probe {
        name: "config loads",
        outcome: Outcome::Fail(format!("node {node}: {why}")),
    }
}

/// The test variant of a site for the local runtime: the site with an
/// observer when it has no administrator, rendered on loopback ports with
/// generated secrets, a PKI with the site's profiles and a foreign one.
pub(crate) struct Variant {
    pub site: Site,
    pub tree: crate::render::OutputTree,
    pub root: PathBuf,
    pub ports: BTreeMap<String, u16>,
    pub secrets: BTreeMap<String, String>,
    pub pki: PathBuf,
    pub foreign: PathBuf,
}

impl Variant {
    fn render(
        site: &Site,
        spec_name: &str,
        work: &Path,
        quiet: bool,
        tamper: &dyn Fn(&mut crate::render::OutputTree),
    ) -> Result<Variant, Vec<Diagnostic>> {
        let fail = |m: String| vec![Diagnostic::error(Code::Verify, m)];
        let site = install::with_observer(site);
        let root = work.join("root");
        let mut ports = BTreeMap::new();
        for l in &site.spec.listeners {
            ports.insert(l.name.0.clone(), free_port().map_err(fail)?);
            ports.insert(format!("lb.{}", l.name), free_port().map_err(fail)?);
        }
        ports.insert("lb.stats".into(), free_port().map_err(fail)?);
        // Backups go to a local directory standing in for the off-site target.
        let mut site = site;
        if let Some(b) = site.spec.backup.as_mut() {
            b.target = super::drill::offsite(work).display().to_string();
        }
        let secrets = super::generated_secrets(&site);
        progress(quiet, "issuing a PKI with the site's profiles");
        let pki = work.join("pki");
        crate::pki::ensure(&site, &pki)?;
        let foreign = work.join("foreign-pki");
        crate::pki::ensure(&site, &foreign)?;
        let opts = RenderOptions {
            spec_name: spec_name.to_string(),
            root: root.display().to_string(),
            ports: ports.clone(),
            loopback: true,
            containers: None,
            secrets: SecretMode::Resolve,
            secret_values: secrets.clone(),
            pki_dir: Some(pki.clone()),
            previous_secrets: Default::default(),
        };
        progress(
            quiet,
            "rendering the test variant (loopback ports, generated passwords)",
        );
        let mut tree = render::render(&site, &opts)?;
        tamper(&mut tree);
        Ok(Variant {
            site,
            tree,
            root,
            ports,
            secrets,
            pki,
            foreign,
        })
    }
}

/// Where a runtime runs the site: each node's listeners, restarting and
/// stopping a node, and the load balancer's `show stat`.
pub(crate) trait Hosts {
    /// How a client reaches a node's listener.
    fn addr(&self, node: usize, listener: &str) -> SocketAddr;
    fn node_names(&self) -> Vec<String>;
    /// Stops a broker gracefully (it saves its persistence) and starts it again.
    fn restart(&self, node: usize) -> Result<(), String>;
    fn stop(&self, node: usize);
    fn start_lb(&self, site: &Site) -> Result<(), String>;
    /// HAProxy's `show stat` CSV.
    fn lb_stat(&self) -> Result<String, String>;
    fn lb_front(&self, listener: &str) -> SocketAddr;
    /// Whether this runtime runs NGINX as the load balancer, or why not.
    fn runs_nginx(&self) -> Result<(), String> {
        Err(
            "the local runtime runs HAProxy only: `--runtime docker` runs NGINX and its probes"
                .into(),
        )
    }
    /// The load balancer's log so far (NGINX's passive check reports there).
    fn lb_log(&self) -> String {
        String::new()
    }
    /// The VIP failover probes (two load balancers with keepalived).
    fn vip_failover(&self, _site: &Site, _tls: &Tls, _device: &str, _quiet: bool) -> Vec<Probe> {
        vec![Probe {
            name: "the virtual IP moves when the active load balancer dies",
            outcome: Outcome::NotApplicable(
                "the local runtime runs no VRRP: `--runtime docker` runs both load balancers with keepalived on a network of its own".into(),
            ),
        }]
    }
}

/// Every probe after the brokers are up.
pub(crate) fn probe_site(
    site: &Site,
    hosts: &dyn Hosts,
    tree: &crate::render::OutputTree,
    pki: &Path,
    foreign: &Path,
    secrets: &BTreeMap<String, String>,
    quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    let fail = |m: String| vec![Diagnostic::error(Code::Verify, m)];
    let node = &site.spec.nodes[0];
    let server_name = node
        .dns_names
        .first()
        .map(|d| d.0.clone())
        .unwrap_or_else(|| node.name.0.clone());
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| fail(format!("{}: {e}", p.display())));
    let ca = read(pki.join("ca.pem"))?;
    let device = site.devices().next().map(|d| d.id);
    let listener = site.spec.listeners.iter().find(|l| {
        l.tls
            .as_ref()
            .is_some_and(|t| t.client_certs == ClientCerts::Required)
    });
    let (Some(listener), Some(id)) = (listener, device) else {
        return Ok(vec![Probe {
            name: "mTLS probes",
            outcome: Outcome::NotApplicable(
                "no listener requires client certificates, or no device".into(),
            ),
        }]);
    };
    let mine = Some((
        read(pki.join(format!("devices/{id}.pem")))?,
        read(pki.join(format!("devices/{id}.key")))?,
    ));
    let theirs = Some((
        read(foreign.join(format!("devices/{id}.pem")))?,
        read(foreign.join(format!("devices/{id}.key")))?,
    ));
    let plain = site.spec.listeners.iter().find(|x| x.tls.is_none());
    let p = Prober {
        site,
        hosts,
        tree,
        pki,
        secrets,
        quiet,
        ca,
        server_name,
        id,
        listener,
        mine,
        admin: admin_user(site),
        plain: plain.map(|x| x.name.as_str()),
    };
    let mut probes = super::mtls_probes(
        p.dev_addr(),
        &p.device_tls(),
        &p.tls(None, false),
        &p.tls(theirs, false),
        &p.server_name,
        &p.id,
    );
    probes.extend([
        p.tls12_refused(),
        p.round_trip(),
        p.session_survives_a_reconnect(),
        p.retained_survives_a_restart(),
        p.acl_matrix(),
    ]);
    probes.extend(p.load_balancer());
    Ok(probes)
}

/// A user with a password whose role may publish and subscribe to `#`.
fn admin_user(site: &Site) -> Option<&crate::spec::model::User> {
    site.spec.users.iter().find(|u| {
        u.password.is_some()
            && site.role(u.role.as_str()).is_some_and(|r| {
                crate::render::targets::access::grants(&r)
                    .iter()
                    .any(|g| g.topic == "#" && g.access.publishes() && g.access.subscribes())
            })
    })
}

/// What the probes share: the site, where it runs, the first device and
/// its mTLS listener, and the admin user that observes.
struct Prober<'a> {
    site: &'a Site,
    hosts: &'a dyn Hosts,
    tree: &'a crate::render::OutputTree,
    pki: &'a Path,
    secrets: &'a BTreeMap<String, String>,
    quiet: bool,
    ca: String,
    server_name: String,
    /// The first device.
    id: String,
    /// The first listener that requires client certificates.
    listener: &'a crate::spec::model::Listener,
    /// The device's certificate and key.
    mine: Option<(String, String)>,
    admin: Option<&'a crate::spec::model::User>,
    /// The first plaintext listener.
    plain: Option<&'a str>,
}

impl Prober<'_> {
    /// The device listener on node 0, looked up at each use: a container's
    /// mapped ports change when it restarts.
    fn dev_addr(&self) -> SocketAddr {
        self.hosts.addr(0, self.listener.name.as_str())
    }

    fn tls(&self, client: Option<(String, String)>, only_tls12: bool) -> Tls {
        Tls {
            ca_pem: self.ca.clone(),
            client,
            server_name: self.server_name.clone(),
            only_tls12,
        }
    }

    /// The device's own certificate.
    fn device_tls(&self) -> Tls {
        self.tls(self.mine.clone(), false)
    }

    /// A client connected as the admin user on the plaintext listener.
    fn admin_client(&self, cid: &str) -> Result<Client, String> {
        let (Some(a), Some(p)) = (self.admin, self.plain) else {
            return Err("no admin user with a password on a plaintext listener".into());
        };
        let key = a
            .password
            .as_ref()
            .and_then(|p| p.env.clone().or(p.file.clone()))
            .unwrap_or_default();
        let mut c = Client::open(self.hosts.addr(0, p), None)?;
        let (_, rc) = c.connect_with_credentials(cid, a.name.as_str(), &self.secrets[&key])?;
        if rc != 0 {
            return Err(format!("admin CONNACK {rc}"));
        }
        Ok(c)
    }

    fn has_admin(&self) -> bool {
        self.admin.is_some() && self.plain.is_some()
    }

    fn tls12_refused(&self) -> Probe {
        let min13 = self
            .listener
            .tls
            .as_ref()
            .is_some_and(|t| t.min_version == TlsVersion::V13);
        Probe {
            name: "TLS 1.2 refused where 1.3 is required",
            outcome: if !min13 {
                Outcome::NotApplicable(format!("listener `{}` allows TLS 1.2", self.listener.name))
            } else {
                match Client::open(self.dev_addr(), Some(&self.tls(self.mine.clone(), true))) {
                    Ok(_) => Outcome::Fail("a TLS 1.2-only client completed the handshake".into()),
                    Err(e) => Outcome::Pass(format!("refused ({e})")),
                }
            },
        }
    }

    /// A round trip along the site's own roles: the device publishes on a
    /// topic its role writes, and a user whose role reads it receives the
    /// message.
    fn round_trip(&self) -> Probe {
        Probe {
            name: "publish/subscribe round trip",
            outcome: self.try_round_trip().unwrap_or_else(Outcome::Fail),
        }
    }

    fn try_round_trip(&self) -> Result<Outcome, String> {
        let id = &self.id;
        let Some((topic, user, key)) = round_trip_pair(self.site, id) else {
            return Ok(Outcome::NotApplicable(
                "no user with a password whose role reads a topic the device writes".into(),
            ));
        };
        let local = self.plain.ok_or("no plaintext listener for users")?;
        let mut sub = Client::open(self.hosts.addr(0, local), None)?;
        let (_, rc) = sub.connect_with_credentials("verify-reader", &user, &self.secrets[&key])?;
        if rc != 0 {
            return Ok(Outcome::Fail(format!(
                "user `{user}`'s generated password was refused (CONNACK {rc})"
            )));
        }
        let granted = sub.subscribe(&topic, 1)?;
        if granted > 1 {
            return Ok(Outcome::Fail(format!(
                "SUBACK refused `{topic}` for `{user}` (0x{granted:02x})"
            )));
        }
        let mut publ = Client::open(self.dev_addr(), Some(&self.device_tls()))?;
        publ.connect(id, true)?;
        publ.publish(&topic, b"mqttforge verify", 1, false)?;
        let got = sub.next_message();
        publ.disconnect();
        sub.disconnect();
        Ok(match got {
            Ok((t, p)) if t == topic && p == b"mqttforge verify" => Outcome::Pass(format!(
                "device `{id}` published `{topic}`; user `{user}` received it"
            )),
            Ok((t, _)) => Outcome::Fail(format!("received `{t}` instead")),
            Err(e) => Outcome::Fail(format!("`{user}` never received `{topic}` ({e})")),
        })
    }

    fn session_survives_a_reconnect(&self) -> Probe {
        Probe {
            name: "session survives a reconnect",
            outcome: if !self.has_admin() {
                Outcome::NotApplicable(
                    "no admin user to send a command while the device is away".into(),
                )
            } else {
                self.try_session().unwrap_or_else(Outcome::Fail)
            },
        }
    }

    /// The device subscribes and leaves; the admin sends it a command; the
    /// device comes back to it.
    fn try_session(&self) -> Result<Outcome, String> {
        let id = &self.id;
        let device_tls = self.device_tls();
        let topic = format!("devices/{id}/cmd/verify-session");
        let mut c = Client::open(self.dev_addr(), Some(&device_tls))?;
        c.connect(id, false)?;
        c.subscribe(&topic, 1)?;
        c.disconnect();
        std::thread::sleep(Duration::from_millis(200));
        let mut a = self.admin_client("verify-admin-session")?;
        a.publish(&topic, b"while you were away", 1, false)?;
        a.disconnect();
        let mut back = Client::open(self.dev_addr(), Some(&device_tls))?;
        let (present, _) = back.connect(id, false)?;
        let got = back.next_message();
        back.disconnect();
        // Leave no persistent session behind.
        let mut clean = Client::open(self.dev_addr(), Some(&device_tls))?;
        clean.connect(id, true)?;
        clean.disconnect();
        Ok(match got {
            Ok((t, p)) if t == topic && p == b"while you were away" => Outcome::Pass(format!(
                "session present = {present}; the command queued while offline was delivered"
            )),
            Ok((t, _)) => Outcome::Fail(format!("received `{t}` instead of the queued command")),
            Err(e) => Outcome::Fail(format!("the queued command never came ({e})")),
        })
    }

    fn retained_survives_a_restart(&self) -> Probe {
        Probe {
            name: "retained message survives a broker restart",
            outcome: if !self.site.spec.persistence.enabled {
                Outcome::NotApplicable("persistence is off in the spec".into())
            } else if !self.has_admin() {
                Outcome::NotApplicable("no admin user to read the retained message back".into())
            } else {
                self.try_retained().unwrap_or_else(Outcome::Fail)
            },
        }
    }

    /// The device retains a status; node 0 restarts; the admin reads it back.
    fn try_retained(&self) -> Result<Outcome, String> {
        let topic = format!("devices/{}/status", self.id);
        let mut d = Client::open(self.dev_addr(), Some(&self.device_tls()))?;
        d.connect(&self.id, true)?;
        d.publish(&topic, b"{\"status\":\"verify\"}", 1, true)?;
        d.disconnect();
        std::thread::sleep(Duration::from_millis(200));
        self.hosts.restart(0)?;
        let mut a = self.admin_client("verify-admin-retained")?;
        a.subscribe(&topic, 1)?;
        let got = a.next_message();
        a.disconnect();
        Ok(match got {
            Ok((t, p)) if t == topic && p == b"{\"status\":\"verify\"}" => Outcome::Pass(format!(
                "`{topic}` was still retained after mosquitto restarted"
            )),
            Ok((t, _)) => Outcome::Fail(format!("received `{t}` instead")),
            Err(e) => Outcome::Fail(format!(
                "the retained message was lost across the restart ({e})"
            )),
        })
    }

    fn acl_matrix(&self) -> Probe {
        Probe {
            name: "ACL matrix agrees with `acl check`",
            outcome: if !self.has_admin() {
                Outcome::NotApplicable(
                    "no admin user to observe publishes and deliver to subscriptions".into(),
                )
            } else {
                acl_matrix(
                    self.site,
                    self.tree,
                    self.dev_addr(),
                    self.pki,
                    &self.ca,
                    &self.server_name,
                    &|cid| self.admin_client(cid),
                )
                .unwrap_or_else(Outcome::Fail)
            },
        }
    }

    /// Health checks and failover through the load balancer, with the
    /// device's certificate.
    fn load_balancer(&self) -> Vec<Probe> {
        let Some(lb) = &self.site.spec.load_balancer else {
            return vec![Probe {
                name: "load balancer health checks and failover",
                outcome: Outcome::NotApplicable("the site has no load balancer".into()),
            }];
        };
        let via_lb = Tls {
            ca_pem: self.ca.clone(),
            client: self.mine.clone(),
            server_name: lb
                .dns_name
                .as_ref()
                .map(|d| d.0.clone())
                .unwrap_or_else(|| self.server_name.clone()),
            only_tls12: false,
        };
        let interval = lb
            .health_check
            .interval
            .map(|d| d.millis())
            .unwrap_or(10_000);
        let mut out = load_balancer(
            self.site, self.hosts, interval, &via_lb, &self.id, self.quiet,
        );
        let vrrp = lb.vrrp.is_some()
            && self
                .site
                .spec
                .cluster
                .as_ref()
                .is_some_and(|c| c.vip.is_some());
        if vrrp {
            out.extend(
                self.hosts
                    .vip_failover(self.site, &via_lb, &self.id, self.quiet),
            );
        }
        out
    }
}

type Broker = (String, String, PathBuf, PathBuf, Option<Proc>);

/// Every device role x own device / another device x read / write of each of
/// the role's topics, observed on Mosquitto over MQTT 3.1.1 (a denied publish
/// is silence at an admin subscriber; a denied subscription receives
/// nothing), compared with mqttforge's own ACL evaluator. Cells on another
/// device's topics must also be denied (isolation).
#[allow(clippy::too_many_arguments)]
fn acl_matrix(
    site: &Site,
    tree: &crate::render::OutputTree,
    dev_addr: SocketAddr,
    pki: &Path,
    ca: &str,
    server_name: &str,
    admin_client: &dyn Fn(&str) -> Result<Client, String>,
) -> Result<Outcome, String> {
    use crate::acl::{self, Access, Who};
    use crate::render::targets::access;
    let acl = acl::from_tree(Engine::Mosquitto, tree)
        .map_err(|e| format!("the rendered ACL does not parse: {e:?}"))?
        .ok_or("no rendered ACL")?;
    let ids: Vec<String> = site.devices().map(|d| d.id).collect();
    let mut roles: Vec<(String, String)> = Vec::new();
    for d in site.devices() {
        if !roles.iter().any(|(r, _)| r == d.role) {
            roles.push((d.role.to_string(), d.id.clone()));
        }
    }
    let quiet = Duration::from_millis(300);
    let mut cells = 0;
    let mut problems = Vec::new();
    for (role, own) in &roles {
        let Some(other) = ids.iter().find(|i| *i != own) else {
            continue;
        };
        let tls = Tls {
            ca_pem: ca.to_string(),
            client: Some((
                std::fs::read_to_string(pki.join(format!("devices/{own}.pem")))
                    .map_err(|e| e.to_string())?,
                std::fs::read_to_string(pki.join(format!("devices/{own}.key")))
                    .map_err(|e| e.to_string())?,
            )),
            server_name: server_name.to_string(),
            only_tls12: false,
        };
        let grants = access::grants(&site.role(role).unwrap_or_default());
        // Device-scoped grants: `{id}`, or a `+` level standing for any device.
        for g in grants
            .iter()
            .filter(|g| g.topic.contains("{id}") || g.topic.split('/').any(|l| l == "+"))
        {
            for (whose, target) in [("own", own.as_str()), ("another device's", other.as_str())] {
                let filter = g
                    .topic_for(target)
                    .split('/')
                    .map(|l| if l == "+" { target } else { l })
                    .collect::<Vec<_>>()
                    .join("/");
                let concrete = filter.replace('#', "verify").replace('+', "x");
                let who = Who::new(Some(own), own);
                // write
                let expected = acl::decide(&acl, &who, Access::Write, &concrete).allowed;
                let mut observer = admin_client("verify-acl-observer")?;
                observer.subscribe(&concrete, 1)?;
                let mut dev = Client::open(dev_addr, Some(&tls))?;
                dev.connect(own, true)?;
                let nonce = format!("acl-{cells}-{}", std::process::id());
                dev.publish(&concrete, nonce.as_bytes(), 1, false)?;
                observer.set_read_timeout(quiet);
                let observed = receives(&mut observer, &concrete, &nonce);
                observer.disconnect();
                cells += 1;
                if observed != expected {
                    problems.push(format!(
                        "{own} ({role}) write {concrete}: Mosquitto {}, acl check {}",
                        verdict(observed),
                        verdict(expected)
                    ));
                }
                if whose != "own" && observed {
                    problems.push(format!(
                        "device `{own}` may write {whose} topic `{concrete}`"
                    ));
                }
                // read
                let expected = acl::decide(&acl, &who, Access::Read, &filter).allowed;
                let granted = dev.subscribe(&filter, 1)?;
                let nonce = format!("acl-{cells}-{}-read", std::process::id());
                let mut publisher = admin_client("verify-acl-publisher")?;
                publisher.publish(&concrete, nonce.as_bytes(), 1, false)?;
                publisher.disconnect();
                dev.set_read_timeout(quiet);
                let observed = granted <= 1 && receives(&mut dev, &concrete, &nonce);
                dev.disconnect();
                cells += 1;
                if observed != expected {
                    problems.push(format!(
                        "{own} ({role}) read {filter}: Mosquitto {}, acl check {}",
                        verdict(observed),
                        verdict(expected)
                    ));
                }
                if whose != "own" && observed {
                    problems.push(format!("device `{own}` may read {whose} topic `{filter}`"));
                }
            }
        }
    }
    Ok(if problems.is_empty() {
        Outcome::Pass(format!("{cells} cells over {} device role(s): Mosquitto and `acl check` agree; no device reaches another's topics", roles.len()))
    } else {
        Outcome::Fail(problems.join("; "))
    })
}

/// Reads until this exact message arrives (retained messages and others
/// are skipped) or the read times out.
pub(crate) fn receives(c: &mut Client, topic: &str, payload: &str) -> bool {
    loop {
        match c.next_message() {
            Ok((t, p)) if t == topic && p == payload.as_bytes() => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

fn verdict(allowed: bool) -> &'static str {
    if allowed {
        "allows"
    } else {
        "denies"
    }
}

/// Whether an MQTT filter matches a topic.
fn filter_matches(filter: &str, topic: &str) -> bool {
    let (f, t): (Vec<&str>, Vec<&str>) = (filter.split('/').collect(), topic.split('/').collect());
    for (i, level) in f.iter().enumerate() {
        match *level {
            "#" => return true,
            "+" if i < t.len() => {}
            l if t.get(i) == Some(&l) => {}
            _ => return false,
        }
    }
    f.len() == t.len()
}

/// A topic the device's role writes and a user (with a password) whose role
/// reads it: (topic, user, secret reference).
fn round_trip_pair(site: &Site, id: &str) -> Option<(String, String, String)> {
    use crate::render::targets::access;
    let device = site.devices().find(|d| d.id == id)?;
    let writes = access::grants(&site.role(device.role)?);
    writes
        .iter()
        .filter(|g| g.access.publishes() && g.topic.contains("{id}"))
        .find_map(|g| {
            let topic = g.topic_for(id).replace('#', "verify").replace('+', "x");
            site.spec.users.iter().find_map(|u| {
                let key = u
                    .password
                    .as_ref()
                    .and_then(|p| p.env.clone().or(p.file.clone()))?;
                let reads = access::grants(&site.role(u.role.as_str())?);
                reads
                    .iter()
                    .any(|r| {
                        r.access.subscribes()
                            && filter_matches(&r.topic_for(u.name.as_str()), &topic)
                    })
                    .then(|| (topic.clone(), u.name.0.clone(), key))
            })
        })
}

fn load_balancer(
    site: &Site,
    hosts: &dyn Hosts,
    inter_ms: u64,
    tls: &Tls,
    device: &str,
    quiet: bool,
) -> Vec<Probe> {
    let lb = site
        .spec
        .load_balancer
        .as_ref()
        .expect("checked by the caller");
    let device_listener = site
        .spec
        .listeners
        .iter()
        .find(|l| l.tls.is_some())
        .map(|l| l.name.0.clone())
        .unwrap_or_default();
    if lb.kind == LbKind::Nginx {
        return super::passive::nginx(site, hosts, tls, device, &device_listener, quiet);
    }
    progress(quiet, "starting the load balancer");
    if let Err(e) = hosts.start_lb(site) {
        return vec![Probe {
            name: "the load balancer's config loads",
            outcome: Outcome::Fail(e),
        }];
    }
    let fall = lb.health_check.fall.unwrap_or(3) as u64;
    let rise = lb.health_check.rise.unwrap_or(2) as u64;
    let backend = format!("brokers_{device_listener}");
    let servers = hosts.node_names();
    let mut out = Vec::new();
    let up_within = Duration::from_millis(inter_ms * (rise + 2) + 5000);
    let mut all_up = Ok(Duration::ZERO);
    for server in &servers {
        match wait_for(hosts, &backend, server, "UP", up_within) {
            Ok(t) => all_up = all_up.map(|m: Duration| m.max(t)),
            Err(e) => all_up = Err(e),
        }
    }
    out.push(Probe {
        name: "every broker's health check goes UP",
        outcome: match &all_up {
            Ok(t) => Outcome::Pass(format!(
                "{} server(s) UP with check status L7OK (CONNACK matched) within {:.1} s",
                servers.len(),
                t.as_secs_f64()
            )),
            Err(e) => Outcome::Fail(e.clone()),
        },
    });
    if all_up.is_err() {
        return out;
    }
    let first = servers[0].clone();
    hosts.stop(0);
    // A stopped process refuses connections at once; a stopped container's
    // address just goes silent, so each failing check can also wait for
    // HAProxy's `timeout check` (5 s in the rendered config).
    let down_within = Duration::from_millis(fall * (inter_ms + 5000) + 5000);
    out.push(Probe {
        name: "a stopped broker goes DOWN",
        outcome: match wait_for(hosts, &backend, &first, "DOWN", down_within) {
            Ok(t) => Outcome::Pass(format!(
                "`{first}` DOWN {:.1} s after it stopped (fall {fall} x (inter {inter_ms} ms + check timeout))",
                t.as_secs_f64()
            )),
            Err(e) => Outcome::Fail(e),
        },
    });
    let front = hosts.lb_front(&device_listener);
    out.push(Probe {
        name: "clients fail over through the load balancer",
        outcome: if servers.len() < 2 {
            Outcome::NotApplicable("one broker: nothing to fail over to".into())
        } else {
            let attempt = || -> Result<u8, String> {
                let mut c = Client::open(front, Some(tls))?;
                let (_, rc) = c.connect(&format!("{device}-failover"), true)?;
                c.disconnect();
                Ok(rc)
            };
            match attempt() {
                Ok(0) => Outcome::Pass(format!("device `{device}` reconnected through {front} (TLS passthrough, mTLS) to a live broker")),
                Ok(rc) => Outcome::Fail(format!("CONNACK {rc} through {front}")),
                Err(e) => Outcome::Fail(format!("no live broker through {front}: {e}")),
            }
        },
    });
    out
}

/// The local runtime's hosts: processes on loopback addresses.
struct LocalHosts {
    mosquitto: PathBuf,
    brokers: std::cell::RefCell<Vec<Broker>>,
    ports: BTreeMap<String, u16>,
    root: PathBuf,
    haproxy: std::cell::RefCell<Option<Proc>>,
    /// HAProxy raises its own open-file limit to about 2 x maxconn.
    nofile: u64,
}

impl LocalHosts {
    /// Starts a node again if a probe stopped it.
    fn ensure_running(&self, node: usize) -> Result<(), String> {
        if self.pid(node).is_some() {
            return Ok(());
        }
        self.restart(node)
    }

    /// The pid of a node's broker, if it runs.
    fn pid(&self, node: usize) -> Option<u32> {
        let mut brokers = self.brokers.borrow_mut();
        let proc = brokers[node].4.as_mut()?;
        match proc.0.try_wait() {
            Ok(None) => Some(proc.0.id()),
            _ => None,
        }
    }
}

impl Hosts for LocalHosts {
    fn addr(&self, node: usize, listener: &str) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 11 + node as u8], self.ports[listener]))
    }

    fn node_names(&self) -> Vec<String> {
        self.brokers.borrow().iter().map(|b| b.0.clone()).collect()
    }

    fn restart(&self, node: usize) -> Result<(), String> {
        let mut brokers = self.brokers.borrow_mut();
        let (_, _, conf, log, proc) = &mut brokers[node];
        if let Some(mut p) = proc.take() {
            // SIGTERM: Mosquitto writes its persistence database on the way out.
            terminate(&mut p.0)?;
        }
        *proc = Some(start_mosquitto(&self.mosquitto, conf, log)?);
        Ok(())
    }

    fn stop(&self, node: usize) {
        drop(self.brokers.borrow_mut()[node].4.take());
    }

    fn start_lb(&self, _site: &Site) -> Result<(), String> {
        let haproxy =
            which("haproxy").ok_or("`haproxy` is not on PATH (Debian package haproxy)")?;
        let cfg = self.root.join("lb/etc/haproxy/haproxy.cfg");
        let socket = self.root.join("lb/run/haproxy/admin.sock");
        if let Some(p) = socket.parent() {
            let _ = std::fs::create_dir_all(p);
        }
        let nofile = self.nofile;
        // What systemd would hand haproxy.service: its drop-in's EnvironmentFile.
        let env = install::service_environment(&self.root.join("lb"), "haproxy.service")?;
        let mut proc = Proc(
            Command::new("sh")
                .arg("-c")
                .arg(format!("ulimit -Hn {nofile} 2>/dev/null; ulimit -Sn {nofile} 2>/dev/null; exec \"$0\" \"$@\""))
                .arg(&haproxy)
                .arg("-db")
                .arg("-f")
                .arg(&cfg)
                .envs(&env)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start haproxy: {e}"))?,
        );
        let started = Instant::now();
        while !socket.exists() && started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(status)) = proc.0.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = proc.0.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("haproxy exited ({status}): {}", err.trim()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        *self.haproxy.borrow_mut() = Some(proc);
        Ok(())
    }

    fn lb_stat(&self) -> Result<String, String> {
        let socket = self.root.join("lb/run/haproxy/admin.sock");
        let mut s = UnixStream::connect(&socket).map_err(|e| format!("stats socket: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"show stat\n").map_err(|e| e.to_string())?;
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn lb_front(&self, listener: &str) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[&format!("lb.{listener}")]))
    }
}
