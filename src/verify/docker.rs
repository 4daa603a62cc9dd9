//! The docker runtime: the same probes as the local runtime, with each node
//! and the load balancer in a container (testcontainers) on a network the
//! run creates for itself. The rendered files are copied in at their
//! production paths; readiness is read from the broker's log lines.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testcontainers::core::{ContainerPort, ExecCommand, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use super::client::Tls;
use super::local::{probe_site, Hosts};
use super::{install, progress, vip, Outcome, Probe};
use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::model::{Engine, LbKind};
use crate::spec::Site;

/// Image names (`name:tag`) per role.
#[derive(Clone, Debug)]
pub struct Images {
    pub mosquitto: String,
    pub haproxy: String,
}

impl Default for Images {
    /// The official images.
    fn default() -> Images {
        Images {
            mosquitto: "eclipse-mosquitto:2.0.11".into(),
            haproxy: "haproxy:2.6".into(),
        }
    }
}

fn image(name: &str) -> GenericImage {
    let (repo, tag) = name.rsplit_once(':').unwrap_or((name, "latest"));
    GenericImage::new(repo, tag)
}

/// Whether a docker engine answers.
pub fn engine_available() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A docker network that is removed when dropped.
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["network", "rm", &self.0])
            .output();
    }
}

/// Where a container finds the tree apply installed for its host (a tar
/// that keeps owner and group names: GNU tar maps them to the image's own
/// users when root unpacks it).
pub(crate) const INSTALL_TAR: &str = "/mqttforge-install.tar";

/// How a broker container starts: the host's installed tree unpacked at
/// `/` with its owners and modes, then what the Debian package provides
/// (the data, log and run directories, owned by `mosquitto`), the log on
/// stdout for readiness, and mosquitto in the foreground as root: it drops
/// to `mosquitto` before it reads keys, ACL and password file, as on a host.
const MOSQUITTO_START: &str = "set -e
tar -xpf /mqttforge-install.tar -C /
mkdir -p /run/mosquitto /var/lib/mosquitto /var/log/mosquitto
chown mosquitto: /run/mosquitto /var/lib/mosquitto /var/log/mosquitto
touch /var/log/mosquitto/mosquitto.log
chown mosquitto: /var/log/mosquitto/mosquitto.log
tail -n +1 -F /var/log/mosquitto/mosquitto.log &
mosquitto -c /etc/mosquitto/mosquitto.conf &
pid=$!
trap 'kill -TERM $pid; wait $pid' TERM INT
set +e
wait $pid
status=$?
sleep 1
exit $status";

/// How the load balancer's container starts: its installed tree, the run
/// directory of the stats socket, haproxy in the foreground (its
/// environment is the one its systemd drop-in names, passed in).
const HAPROXY_START: &str = "tar -xpf /mqttforge-install.tar -C / \
    && mkdir -p /run/haproxy && exec haproxy -db -f /etc/haproxy/haproxy.cfg";

/// NGINX's: its installed tree, nginx in the foreground (the rendered
/// nginx.conf logs to stderr).
const NGINX_START: &str = "tar -xpf /mqttforge-install.tar -C / && exec nginx -g 'daemon off;'";

/// A container's output so far, stdout then stderr (empty when docker
/// cannot say).
pub(super) fn logs(container: &str) -> String {
    Command::new("docker")
        .args(["logs", container])
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text
        })
        .unwrap_or_default()
}

/// Waits for Mosquitto's "running" line in a container's output (stdout and
/// stderr); when the container exits first, its last lines are the error.
fn wait_running(container: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = logs(container);
        if logs.contains(" running") {
            return Ok(());
        }
        let running = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", container])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
        if !running || Instant::now() > deadline {
            let tail: Vec<&str> = logs.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "mosquitto {} in its container: {}",
                if running {
                    "did not report running within 30 s"
                } else {
                    "exited"
                },
                tail.join(" | ")
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Images the runtime needs are present, or can be pulled; where neither,
/// say how to build them here instead of the engine's pull error.
fn ensure_image(name: &str) -> Result<(), String> {
    let present = Command::new("docker")
        .args(["image", "inspect", name])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    let pulled = Command::new("timeout")
        .args(["120", "docker", "pull", "--quiet", name])
        .output()
        .is_ok_and(|o| o.status.success());
    if pulled {
        return Ok(());
    }
    Err(format!(
        "the image `{name}` is not here and cannot be pulled (no registry answers): build local images from Debian packages with `scripts/build-images.sh` (about a minute; no registry needed) and pass them: `--image mosquitto=mqttforge-local/mosquitto:2.0.11 --image haproxy=mqttforge-local/haproxy:2.6.12`"
    ))
}

struct DockerHosts {
    nodes: Vec<(String, Container<GenericImage>)>,
    /// Listener name -> port inside the containers.
    ports: BTreeMap<String, u16>,
    lb: std::cell::RefCell<Option<Container<GenericImage>>>,
    lb_request: std::cell::RefCell<Option<testcontainers::ContainerRequest<GenericImage>>>,
    lb_kind: LbKind,
    /// The load balancer's container name.
    lb_name: String,
    /// The VIP failover probe's setup, when the spec declares a VIP.
    vip: Option<super::vip::Vip>,
}

impl DockerHosts {
    fn lb_label(&self) -> &'static str {
        match self.lb_kind {
            LbKind::Haproxy => "HAProxy",
            LbKind::Nginx => "NGINX",
        }
    }
}

impl Hosts for DockerHosts {
    fn addr(&self, node: usize, listener: &str) -> SocketAddr {
        let port = self.nodes[node]
            .1
            .get_host_port_ipv4(ContainerPort::Tcp(self.ports[listener]))
            .unwrap_or(0);
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|(n, _)| n.clone()).collect()
    }

    fn restart(&self, node: usize) -> Result<(), String> {
        let c = &self.nodes[node].1;
        c.stop_with_timeout(Some(10))
            .map_err(|e| format!("docker stop: {e}"))?;
        c.start().map_err(|e| format!("docker start: {e}"))?;
        // Ready again when the first listener accepts connections.
        let first = self.ports.keys().next().cloned().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let addr = self.addr(node, &first);
            if addr.port() != 0
                && std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
            {
                std::thread::sleep(Duration::from_millis(300));
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the broker container did not come back within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&self, node: usize) {
        let _ = self.nodes[node].1.stop_with_timeout(Some(0));
    }

    fn start_lb(&self, _site: &Site) -> Result<(), String> {
        let request = self
            .lb_request
            .borrow_mut()
            .take()
            .ok_or("the load balancer was started already")?;
        let c = request.start().map_err(|e| {
            // testcontainers leaves a container it created but could not start.
            let _ = Command::new("docker")
                .args(["rm", "-f", &self.lb_name])
                .output();
            format!("the {} container did not start: {e}", self.lb_label())
        })?;
        *self.lb.borrow_mut() = Some(c);
        // A config the load balancer refuses makes it exit at once.
        let running = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", &self.lb_name])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
        if !running {
            let log = self.lb_log();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(format!(
                "{} exited in its container: {}",
                self.lb_label(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        Ok(())
    }

    fn runs_nginx(&self) -> Result<(), String> {
        Ok(())
    }

    fn lb_log(&self) -> String {
        logs(&self.lb_name)
    }

    fn vip_failover(&self, site: &Site, tls: &Tls, device: &str, quiet: bool) -> Vec<Probe> {
        let Some(vip) = &self.vip else {
            return vec![Probe {
                name: "the virtual IP moves when the active load balancer dies",
                outcome: Outcome::NotApplicable(
                    "the virtual IP or a load-balancer host address is not an IPv4 address: no test network can hold it".into(),
                ),
            }];
        };
        // Every broker serving again, so the takeover measured is the
        // load balancers' alone.
        for node in 0..self.nodes.len() {
            if let Err(e) = self.restart(node) {
                return vec![Probe {
                    name: "the virtual IP moves when the active load balancer dies",
                    outcome: Outcome::Fail(format!("a broker did not come back first: {e}")),
                }];
            }
        }
        // The single load balancer's probes are done: it holds no address of
        // the spec's, but it need not run beside the two.
        if let Some(c) = self.lb.borrow_mut().take() {
            let _ = c.rm();
        }
        vip.probes(site, tls, device, quiet)
    }

    fn lb_stat(&self) -> Result<String, String> {
        if self.lb_kind == LbKind::Nginx {
            return Err("NGINX open source has no statistics for stream upstreams".into());
        }
        let lb = self.lb.borrow();
        let c = lb.as_ref().ok_or("no load balancer")?;
        let mut r = c
            .exec(ExecCommand::new([
                "sh",
                "-c",
                "echo 'show stat' | socat stdio /run/haproxy/admin.sock",
            ]))
            .map_err(|e| format!("docker exec: {e}"))?;
        let out = r.stdout_to_vec().map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn lb_front(&self, listener: &str) -> SocketAddr {
        let port = self
            .lb
            .borrow()
            .as_ref()
            .and_then(|c| {
                c.get_host_port_ipv4(ContainerPort::Tcp(self.ports[listener]))
                    .ok()
            })
            .unwrap_or(0);
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// Runs a Mosquitto site in containers and probes it.
pub fn run(
    site: &Site,
    spec_name: &str,
    work: &Path,
    images: &Images,
    quiet: bool,
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    run_with(site, spec_name, work, images, quiet, &|_| {})
}

/// [`run`], with a change to the rendered tree before anything is installed
/// (tests prove a broken file makes the matching probe fail).
pub fn run_with(
    site: &Site,
    spec_name: &str,
    work: &Path,
    images: &Images,
    quiet: bool,
    tamper: &dyn Fn(&mut crate::render::OutputTree),
) -> Result<Vec<Probe>, Vec<Diagnostic>> {
    if site.spec.engine != Engine::Mosquitto {
        return super::local::run(site, spec_name, work, quiet);
    }
    preflight(site, images)?;
    let site = &install::with_observer(site);
    let tag = format!("mqttforge-verify-{}", std::process::id());
    let names: BTreeMap<String, String> = site
        .spec
        .nodes
        .iter()
        .map(|n| (n.name.0.clone(), format!("{}-{tag}", n.name)))
        .collect();
    let secrets = super::generated_secrets(site);
    let opts = RenderOptions {
        spec_name: spec_name.to_string(),
        root: String::new(),
        ports: BTreeMap::new(),
        loopback: false,
        containers: Some(names.clone()),
        secrets: SecretMode::Resolve,
        secret_values: secrets.clone(),
        pki_dir: None,
        previous_secrets: Default::default(),
    };
    progress(
        quiet,
        "rendering the container variant (production paths, node names on the test network)",
    );
    let mut tree = render::render(site, &opts)?;
    tamper(&mut tree);
    let pki = work.join("pki");
    crate::pki::ensure(site, &pki)?;
    let foreign = work.join("foreign-pki");
    crate::pki::ensure(site, &foreign)?;
    let subnet = vip_subnet(site)?;
    let _network = Network::create(&tag, subnet.as_ref())?;
    let run = Run {
        site,
        tree: &tree,
        work,
        images,
        quiet,
        tag: &tag,
        ports: site
            .spec
            .listeners
            .iter()
            .map(|l| (l.name.0.clone(), l.port))
            .collect(),
        stage: work.join("stage"),
    };
    let nodes = match run.start_nodes(&names, &pki)? {
        Ok(nodes) => nodes,
        Err(failed) => return Ok(vec![failed]),
    };
    let lb_request = run.lb_request()?;
    let vip = match &subnet {
        Some(_) => run.vip()?,
        None => None,
    };
    let hosts = DockerHosts {
        nodes,
        lb: std::cell::RefCell::new(None),
        lb_request: std::cell::RefCell::new(lb_request),
        lb_kind: site
            .spec
            .load_balancer
            .as_ref()
            .map(|l| l.kind)
            .unwrap_or(LbKind::Haproxy),
        lb_name: format!("lb-{tag}"),
        vip,
        ports: run.ports,
    };
    let mut probes = vec![Probe {
        name: "config loads",
        outcome: Outcome::Pass(format!(
            "{} broker container(s) reported running ({})",
            hosts.nodes.len(),
            images.mosquitto
        )),
    }];
    probes.extend(probe_site(
        site, &hosts, &tree, &pki, &foreign, &secrets, quiet,
    )?);
    Ok(probes)
}

fn fail(message: String) -> Vec<Diagnostic> {
    vec![Diagnostic::error(Code::Verify, message)]
}

/// A docker engine answers and the images the site needs are there.
fn preflight(site: &Site, images: &Images) -> Result<(), Vec<Diagnostic>> {
    if !engine_available() {
        return Err(fail(
            "no docker engine answers (`docker info` failed)".into(),
        ));
    }
    ensure_image(&images.mosquitto).map_err(fail)?;
    if site.spec.load_balancer.is_some() {
        ensure_image(&images.haproxy).map_err(fail)?;
    }
    Ok(())
}

impl Network {
    /// `docker network create NAME`, with the subnet of a site with a
    /// virtual IP: one that overlaps a network docker has is refused by
    /// name before docker is asked.
    fn create(name: &str, subnet: Option<&vip::Subnet>) -> Result<Network, Vec<Diagnostic>> {
        let mut args = vec!["network".to_string(), "create".to_string()];
        if let Some(s) = subnet {
            let taken = vip::collisions(s);
            if !taken.is_empty() {
                let list: Vec<String> = taken.iter().map(|(n, c)| format!("`{n}` ({c})")).collect();
                return Err(vec![Diagnostic::error(
                    Code::Verify,
                    format!(
                        "the VIP failover probe needs a test network on {} (it holds the virtual IP and the load-balancer hosts' addresses), and it overlaps the docker network(s) {}",
                        s.cidr(),
                        list.join(", ")
                    ),
                )
                .with_help("remove that network (`docker network rm NAME`; a verify run still going holds it until it ends), or run where the spec's addresses are free")]);
            }
            args.extend([
                format!("--subnet={}", s.cidr()),
                format!("--gateway={}", s.gateway),
                format!("--ip-range={}/{}", s.range.0, s.range.1),
            ]);
        }
        args.push(name.to_string());
        let out = Command::new("docker")
            .args(&args)
            .output()
            .map_err(|e| fail(format!("docker network create: {e}")))?;
        if !out.status.success() {
            return Err(fail(format!(
                "docker network create {}: {}",
                subnet.map(|s| s.cidr()).unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Network(name.to_string()))
    }
}

/// The VIP and the load-balancer hosts' addresses of a site that declares
/// `cluster.vip` with `load_balancer.vrrp`, when all are IPv4 addresses.
fn vip_addresses(site: &Site) -> Option<(Ipv4Addr, Vec<(String, Ipv4Addr)>)> {
    let lb = site.spec.load_balancer.as_ref()?;
    let vrrp = lb.vrrp.as_ref()?;
    let vip = site.spec.cluster.as_ref()?.vip.as_ref()?.0.parse().ok()?;
    let hosts = vrrp
        .hosts
        .iter()
        .map(|h| Some((h.name.0.clone(), h.address.0.parse().ok()?)))
        .collect::<Option<Vec<_>>>()?;
    Some((vip, hosts))
}

/// The test network's subnet of a site with a virtual IP.
fn vip_subnet(site: &Site) -> Result<Option<vip::Subnet>, Vec<Diagnostic>> {
    let Some((vip, hosts)) = vip_addresses(site) else {
        return Ok(None);
    };
    let fixed: Vec<Ipv4Addr> = hosts.iter().map(|h| h.1).collect();
    vip::plan(vip, &fixed).map(Some).map_err(fail)
}

/// What starting the site's containers needs.
struct Run<'a> {
    site: &'a Site,
    tree: &'a crate::render::OutputTree,
    work: &'a Path,
    images: &'a Images,
    quiet: bool,
    /// The network's name, also the suffix of the containers' names.
    tag: &'a str,
    /// Listener name -> port inside the containers.
    ports: BTreeMap<String, u16>,
    /// Where each host's installed tree is staged.
    stage: std::path::PathBuf,
}

impl Run<'_> {
    /// The tree apply installs on `host`, as a tar.
    fn installed(
        &self,
        pki: Option<&Path>,
        host: &str,
        dir: &str,
    ) -> Result<Vec<u8>, Vec<Diagnostic>> {
        let staged = self.stage.join(dir);
        install::install(self.site, self.tree, pki, host, &staged, self.work)
            .and_then(|_| install::archive(&staged))
            .map_err(fail)
    }

    /// Starts a broker container per node, each running before the next.
    /// Inner error: the "config loads" probe of a node that did not start.
    #[allow(clippy::type_complexity)]
    fn start_nodes(
        &self,
        names: &BTreeMap<String, String>,
        pki: &Path,
    ) -> Result<Result<Vec<(String, Container<GenericImage>)>, Probe>, Vec<Diagnostic>> {
        let mut nodes = Vec::new();
        for node in &self.site.spec.nodes {
            let cname = &names[node.name.as_str()];
            let bytes = self.installed(Some(pki), &node.name.0, &node.name.0)?;
            let mut img = image(&self.images.mosquitto).with_wait_for(WaitFor::Nothing);
            for port in self.ports.values() {
                img = img.with_exposed_port(ContainerPort::Tcp(*port));
            }
            let request = img
                .with_network(self.tag.to_string())
                .with_container_name(cname.clone())
                .with_hostname(cname.clone())
                .with_cmd(["sh", "-c", MOSQUITTO_START])
                .with_copy_to(INSTALL_TAR, bytes)
                .with_startup_timeout(Duration::from_secs(30));
            progress(
                self.quiet,
                &format!("starting container {cname} ({})", self.images.mosquitto),
            );
            let started = request
                .start()
                .map_err(|e| e.to_string())
                .and_then(|c| wait_running(cname).map(|()| c));
            match started {
                Ok(c) => nodes.push((node.name.0.clone(), c)),
                Err(e) => {
                    return Ok(Err(Probe {
                        name: "config loads",
                        outcome: Outcome::Fail(format!("node {}: {e}", node.name)),
                    }));
                }
            }
        }
        Ok(Ok(nodes))
    }

    /// The load balancer's container, to start when a probe needs it.
    fn lb_request(
        &self,
    ) -> Result<Option<testcontainers::ContainerRequest<GenericImage>>, Vec<Diagnostic>> {
        if self.site.spec.load_balancer.is_none() {
            return Ok(None);
        }
        let bytes = self.installed(None, "lb", "lb")?;
        let (nofile, env, cmd) = self.lb_setup()?;
        let mut img = image(&self.images.haproxy).with_wait_for(WaitFor::seconds(1));
        for port in self.ports.values() {
            img = img.with_exposed_port(ContainerPort::Tcp(*port));
        }
        let mut r = img
            .with_network(self.tag.to_string())
            .with_container_name(format!("lb-{}", self.tag))
            .with_ulimit("nofile", nofile, Some(nofile))
            .with_cmd(["sh", "-c", cmd])
            .with_copy_to(INSTALL_TAR, bytes);
        for (k, v) in env {
            r = r.with_env_var(k, v);
        }
        Ok(Some(r))
    }
    /// The load balancer's open-file limit, its service environment (what
    /// systemd would hand it from its drop-in's EnvironmentFile) and how its
    /// container starts. Needs the `lb` tree staged.
    #[allow(clippy::type_complexity)]
    fn lb_setup(&self) -> Result<(i64, BTreeMap<String, String>, &'static str), Vec<Diagnostic>> {
        let kind = self
            .site
            .spec
            .load_balancer
            .as_ref()
            .map(|l| l.kind)
            .unwrap_or(LbKind::Haproxy);
        // HAProxy raises its open-file limit to about 2 x maxconn. NGINX's
        // worker_rlimit_nofile may be above what the engine grants a
        // container: it logs the refused setrlimit and runs on.
        let nofile = (self.site.spec.capacity.clients * 11 / 10 * 2 + 2048) as i64;
        let (service, cmd) = match kind {
            LbKind::Haproxy => ("haproxy.service", HAPROXY_START),
            LbKind::Nginx => ("nginx.service", NGINX_START),
        };
        let env = install::service_environment(&self.stage.join("lb"), service).map_err(fail)?;
        Ok((nofile, env, cmd))
    }

    /// What the VIP probe needs: the `lb` tree as a tar and its
    /// environment in files of the work directory.
    fn vip(&self) -> Result<Option<vip::Vip>, Vec<Diagnostic>> {
        let (Some((vip, hosts)), Some(lb)) =
            (vip_addresses(self.site), &self.site.spec.load_balancer)
        else {
            return Ok(None);
        };
        let device = self
            .site
            .spec
            .listeners
            .iter()
            .find(|l| l.tls.is_some())
            .map(|l| l.port)
            .unwrap_or(0);
        let bytes = self.installed(None, "lb", "lb")?;
        let install_tar = self.work.join("lb-vip.tar");
        std::fs::write(&install_tar, bytes)
            .map_err(|e| fail(format!("{}: {e}", install_tar.display())))?;
        let (nofile, env, _) = self.lb_setup()?;
        let env_file = self.work.join("lb-vip.env");
        vip::env_file(&env_file, &env).map_err(fail)?;
        Ok(Some(vip::Vip {
            network: self.tag.to_string(),
            tag: self.tag.to_string(),
            image: self.images.haproxy.clone(),
            kind: lb.kind,
            install_tar,
            env_file,
            nofile,
            hosts,
            vip,
            port: device,
        }))
    }
}
