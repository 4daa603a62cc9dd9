//! The docker runtime: the same probes as the local runtime, with each node
//! and the load balancer in a container (testcontainers) on a network the
//! run creates for itself. The rendered files are copied in at their
//! production paths; readiness is read from the broker's log lines.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testcontainers::core::{ContainerPort, ExecCommand, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use super::local::{probe_site, Hosts};
use super::{progress, Outcome, Probe};
use crate::diag::Diagnostic;
use crate::render::{self, RenderOptions, SecretMode};
use crate::spec::model::Engine;
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

/// How a broker container starts: the directories and key ownership the
/// Debian package's systemd unit would provide, the log on stdout for
/// readiness, then mosquitto in the foreground.
const MOSQUITTO_START: &str = "mkdir -p /run/mosquitto /var/lib/mosquitto /var/log/mosquitto \
    && chown -R mosquitto: /run/mosquitto /var/lib/mosquitto /var/log/mosquitto /etc/mosquitto/certs \
    && chmod 0640 /etc/mosquitto/certs/*.key \
    && touch /var/log/mosquitto/mosquitto.log && chown mosquitto: /var/log/mosquitto/mosquitto.log \
    && (tail -n +1 -F /var/log/mosquitto/mosquitto.log &) \
    && exec mosquitto -c /etc/mosquitto/mosquitto.conf";

struct DockerHosts {
    nodes: Vec<(String, Container<GenericImage>)>,
    /// Listener name -> port inside the containers.
    ports: BTreeMap<String, u16>,
    lb: std::cell::RefCell<Option<Container<GenericImage>>>,
    lb_request: std::cell::RefCell<Option<testcontainers::ContainerRequest<GenericImage>>>,
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
        let c = request
            .start()
            .map_err(|e| format!("the HAProxy container did not start: {e}"))?;
        *self.lb.borrow_mut() = Some(c);
        Ok(())
    }

    fn lb_stat(&self) -> Result<String, String> {
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
    let fail = |m: String| vec![Diagnostic::error("verify", m)];
    if site.spec.engine != Engine::Mosquitto {
        return super::local::run(site, spec_name, work, quiet);
    }
    if !engine_available() {
        return Err(fail(
            "no docker engine answers (`docker info` failed)".into(),
        ));
    }
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
    let tree = render::render(site, &opts)?;
    let pki = work.join("pki");
    crate::pki::ensure(site, &pki)?;
    let foreign = work.join("foreign-pki");
    crate::pki::ensure(site, &foreign)?;
    let out = Command::new("docker")
        .args(["network", "create", &tag])
        .output()
        .map_err(|e| fail(format!("docker network create: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "docker network create: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let _network = Network(tag.clone());
    let ports: BTreeMap<String, u16> = site
        .spec
        .listeners
        .iter()
        .map(|l| (l.name.0.clone(), l.port))
        .collect();
    let mut nodes = Vec::new();
    for node in &site.spec.nodes {
        let cname = &names[node.name.as_str()];
        let mut img =
            image(&images.mosquitto).with_wait_for(WaitFor::message_on_stdout(" running"));
        for port in ports.values() {
            img = img.with_exposed_port(ContainerPort::Tcp(*port));
        }
        let mut request = img
            .with_network(tag.clone())
            .with_container_name(cname.clone())
            .with_hostname(cname.clone())
            .with_cmd(["sh", "-c", MOSQUITTO_START])
            .with_startup_timeout(Duration::from_secs(30));
        for f in tree.files.values() {
            if let (Some(install), true) =
                (&f.install, f.hosts.iter().any(|h| h == node.name.as_str()))
            {
                request = request.with_copy_to(install.clone(), f.contents.clone());
            }
        }
        for (from, to) in [
            ("ca.pem".to_string(), "ca.pem".to_string()),
            (
                format!("servers/{}.pem", node.name),
                format!("{}.pem", node.name),
            ),
            (
                format!("servers/{}.key", node.name),
                format!("{}.key", node.name),
            ),
        ] {
            let bytes = std::fs::read(pki.join(&from)).map_err(|e| fail(format!("{from}: {e}")))?;
            request = request.with_copy_to(format!("/etc/mosquitto/certs/{to}"), bytes);
        }
        progress(
            quiet,
            &format!("starting container {cname} ({})", images.mosquitto),
        );
        match request.start() {
            Ok(c) => nodes.push((node.name.0.clone(), c)),
            Err(e) => {
                return Ok(vec![Probe {
                    name: "config loads",
                    outcome: Outcome::Fail(format!("node {}: {e}", node.name)),
                }]);
            }
        }
    }
    let nofile = (site.spec.capacity.clients * 11 / 10 * 2 + 2048) as i64;
    let lb_request = site.spec.load_balancer.as_ref().map(|_| {
        let mut img = image(&images.haproxy).with_wait_for(WaitFor::seconds(1));
        for port in ports.values() {
            img = img.with_exposed_port(ContainerPort::Tcp(*port));
        }
        let mut r = img
            .with_network(tag.clone())
            .with_container_name(format!("lb-{tag}"))
            .with_env_var("HAPROXY_STATS_PASSWORD", "verify-stats")
            // HAProxy raises its open-file limit to about 2 x maxconn.
            .with_ulimit("nofile", nofile, Some(nofile))
            .with_cmd([
                "sh",
                "-c",
                "mkdir -p /run/haproxy && exec haproxy -db -f /etc/haproxy/haproxy.cfg",
            ]);
        if let Some(f) = tree.files.get("haproxy/haproxy.cfg") {
            r = r.with_copy_to("/etc/haproxy/haproxy.cfg", f.contents.clone());
        }
        r
    });
    let hosts = DockerHosts {
        nodes,
        ports,
        lb: std::cell::RefCell::new(None),
        lb_request: std::cell::RefCell::new(lb_request),
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
