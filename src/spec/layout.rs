//! The install layout: every absolute path a rendered file names comes from
//! here (per engine, plus a root prefix), so a test variant of the site can
//! be rendered into a temporary directory through the same code path.

use crate::spec::model::Engine;

/// Where an engine lives on a host.
pub struct EngineLayout {
    pub engine: Engine,
    /// The system user the broker runs as (and that must read its keys).
    pub user: &'static str,
    pub service: &'static str,
    pub conf_dir: &'static str,
    pub data_dir: &'static str,
    pub log_dir: &'static str,
    pub run_dir: &'static str,
}

pub const ENGINE_LAYOUTS: &[EngineLayout] = &[
    EngineLayout {
        engine: Engine::Mosquitto,
        user: "mosquitto",
        service: "mosquitto.service",
        conf_dir: "/etc/mosquitto",
        data_dir: "/var/lib/mosquitto",
        log_dir: "/var/log/mosquitto",
        run_dir: "/run/mosquitto",
    },
    EngineLayout {
        engine: Engine::Emqx,
        user: "emqx",
        service: "emqx.service",
        conf_dir: "/etc/emqx",
        data_dir: "/var/lib/emqx",
        log_dir: "/var/log/emqx",
        run_dir: "/run/emqx",
    },
    EngineLayout {
        engine: Engine::Rumqttd,
        user: "rumqttd",
        service: "rumqttd.service",
        conf_dir: "/etc/rumqttd",
        data_dir: "/var/lib/rumqttd",
        log_dir: "/var/log/rumqttd",
        run_dir: "/run/rumqttd",
    },
];

/// Paths of a site's hosts, under a root prefix ("" in production).
#[derive(Clone, Debug)]
pub struct Layout {
    pub engine: Engine,
    root: String,
    /// Test variants: every host gets its own directory under the root.
    per_host: bool,
}

impl Layout {
    pub fn new(engine: Engine, root: &str, per_host: bool) -> Layout {
        Layout {
            engine,
            root: root.trim_end_matches('/').to_string(),
            per_host,
        }
    }

    /// The layout of one host (a node, `lb`, `prometheus`): the same in
    /// production, a directory of its own in a test variant.
    pub fn host(&self, host: &str) -> Layout {
        let mut l = self.clone();
        if self.per_host {
            l.root = format!("{}/{host}", self.root);
            l.per_host = false;
        }
        l
    }

    pub fn engine_layout(&self) -> &'static EngineLayout {
        ENGINE_LAYOUTS
            .iter()
            .find(|l| l.engine == self.engine)
            .expect("every engine has a layout")
    }

    /// An absolute path under the root.
    pub fn path(&self, absolute: &str) -> String {
        format!("{}{absolute}", self.root)
    }

    pub fn conf(&self, file: &str) -> String {
        self.path(&format!("{}/{file}", self.engine_layout().conf_dir))
    }

    pub fn certs(&self, file: &str) -> String {
        self.conf(&format!("certs/{file}"))
    }

    pub fn data_dir(&self) -> String {
        self.path(self.engine_layout().data_dir)
    }

    pub fn log_file(&self) -> String {
        let l = self.engine_layout();
        self.path(&format!("{}/{}.log", l.log_dir, l.user))
    }

    pub fn pid_file(&self) -> String {
        let l = self.engine_layout();
        self.path(&format!("{}/{}.pid", l.run_dir, l.user))
    }

    pub fn haproxy(&self, file: &str) -> String {
        self.path(&format!("/etc/haproxy/{file}"))
    }

    pub fn nginx(&self, file: &str) -> String {
        self.path(&format!("/etc/nginx/{file}"))
    }

    pub fn haproxy_socket(&self) -> String {
        self.path("/run/haproxy/admin.sock")
    }

    pub fn backup_staging(&self) -> String {
        self.path("/var/backups/mqttforge")
    }

    pub fn prometheus(&self, file: &str) -> String {
        self.path(&format!("/etc/prometheus/{file}"))
    }

    /// The broker service's systemd drop-in directory.
    pub fn systemd_dropin(&self, file: &str) -> String {
        self.service_dropin(self.engine_layout().service, file)
    }

    /// A file of any service's systemd drop-in directory.
    pub fn service_dropin(&self, service: &str, file: &str) -> String {
        self.path(&format!("/etc/systemd/system/{service}.d/{file}"))
    }

    /// mqttforge's own directory for secrets services read at start
    /// (environment files, EMQX's users): outside the engines' directories,
    /// whose package scripts may widen modes (EMQX's postinst makes
    /// `/etc/emqx/*` 0644 on every upgrade).
    pub fn secrets(&self, file: &str) -> String {
        self.path(&format!("/etc/mqttforge/{file}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rooted() {
        let prod = Layout::new(Engine::Mosquitto, "", false);
        assert_eq!(prod.conf("acl"), "/etc/mosquitto/acl");
        assert_eq!(prod.host("n1").conf("acl"), "/etc/mosquitto/acl");
        let test = Layout::new(Engine::Mosquitto, "/tmp/x/", true);
        assert_eq!(
            test.host("n1").certs("ca.pem"),
            "/tmp/x/n1/etc/mosquitto/certs/ca.pem"
        );
        assert_eq!(
            test.host("n2").pid_file(),
            "/tmp/x/n2/run/mosquitto/mosquitto.pid"
        );
    }
}
