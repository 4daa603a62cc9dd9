//! An admin or stats interface is reachable beyond loopback with default, weak, inline or no credentials.
//!
//! What it does: flags the HAProxy stats page (`stats enable`/`stats uri`
//! with its `stats auth` lines), an HAProxy stats socket on a TCP address,
//! and the EMQX dashboard (`dashboard.listeners.http|https.bind`, with
//! `dashboard.default_password`) when they listen beyond loopback and their
//! credentials are a default pair (`admin:admin`, EMQX's first-boot
//! `admin`/`public` when `default_password` is not set), weak (a common
//! password, the user name again, fewer than 12 characters), written
//! inline in the config, or absent. Credentials taken from the environment
//! (`"ops:${HAPROXY_STATS_PASSWORD}"`, `"${EMQX_DASHBOARD_PASSWORD}"`) and
//! interfaces bound to 127.0.0.1 or a Unix socket pass.
//!
//! The rumqttd console (`[console] listen`), an HTTP API without any
//! authentication, is flagged whenever it listens beyond loopback.
//!
//! An HAProxy stats page is also flagged where another frontend sends its
//! connections to it (`use_backend`/`default_backend` naming the backend
//! or listen section that serves it): it is then reachable on that
//! frontend's binds.
//!
//! In a spec: the stats page mqttforge renders (loopback, password by
//! environment reference) and the EMQX dashboard as the rendered emqx.conf
//! opens it, whose password is the spec's `emqx.dashboard_password`
//! delivered by apply in the service's environment.
//!
//! Why it matters: these interfaces control the site: the HAProxy stats
//! page in admin mode and the stats socket can drain or disable brokers,
//! and the EMQX dashboard can kick clients, change authorization and read
//! every topic. Scanners try default credentials first; an inline password
//! is in every copy of the repository.
//!
//! Example:
//!     listen stats
//!         bind :8404
//!         stats enable
//!         stats auth admin:admin
//!
//! Use instead:
//!     listen stats
//!         bind 127.0.0.1:8404
//!         stats enable
//!         stats auth "ops:${HAPROXY_STATS_PASSWORD}"
//!
//! Example (a local stats page reached through a public frontend; the
//! rumqttd console):
//!     frontend web
//!         bind :80
//!         use_backend stats_local if { path_beg /stats }
//!
//!     [console]
//!     listen = "0.0.0.0:3030"
//!
//! Use instead:
//!     frontend web
//!         bind :80
//!         default_backend portal    (the stats page only on 127.0.0.1)
//!
//!     [console]
//!     listen = "127.0.0.1:3030"
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{AdminFact, Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-005",
    name: "exposed_admin_interface",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_auth_005_exposed_admin_interface.rs"),
    check,
};

/// Only local clients reach this bind address (loopback, Unix socket).
fn local(bind: Option<&str>) -> bool {
    match bind {
        None => false,
        Some(h) => {
            h.starts_with('/')
                || ["unix@", "abns@", "fd@", "sockpair@"]
                    .iter()
                    .any(|p| h.starts_with(p))
                || h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    }
}

fn help(facts: &Facts, a: &AdminFact) -> String {
    if a.what.contains("EMQX dashboard") {
        if facts.origin == Origin::Spec {
            "declare the password as a spec secret: `emqx: { dashboard_password: { env: EMQX_DASHBOARD_PASSWORD } }` (apply delivers it in a root-only environment file), and restrict port 18083 to the operators' network".into()
        } else {
            "bind it to loopback (`dashboard.listeners.http.bind = \"127.0.0.1:18083\"`, reached through an SSH tunnel or VPN) and give the password in the service's environment (`EMQX_DASHBOARD__DEFAULT_PASSWORD` from a root-only EnvironmentFile): EMQX's HOCON does not expand `${VAR}`".into()
        }
    } else if a.what.contains("rumqttd console") {
        "bind the console to loopback (`[console] listen = \"127.0.0.1:3030\"`, reached through an SSH tunnel); it has no authentication to turn on".into()
    } else if a.what.contains("stats socket") {
        "serve the stats socket on a Unix socket (`stats socket /run/haproxy/admin.sock mode 660 level admin`), or bind it to 127.0.0.1".into()
    } else {
        "bind the stats page to 127.0.0.1 and take the password from the environment: `stats auth \"ops:${HAPROXY_STATS_PASSWORD}\"`".into()
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for a in &facts.admin {
        if local(a.bind.as_deref()) {
            continue;
        }
        let emqx = a.what.contains("EMQX dashboard");
        let creds = match a.credentials.as_str() {
            "default" if emqx => "its default login (admin/public)",
            "default" => "default credentials",
            "weak" => "a weak password",
            "inline" => "a password written inline in the config",
            "none" => "no credentials at all",
            _ => continue,
        };
        let at = match &a.bind {
            Some(b) => format!("on `{b}`"),
            None => "on all interfaces".to_string(),
        };
        let mut f = Finding::new(
            &a.span,
            format!("{} is reachable {at} with {creds}", a.what),
            help(facts, a),
        );
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn local_binds() {
        assert!(
            local(Some("127.0.0.1"))
                && local(Some("::1"))
                && local(Some("[::1]"))
                && local(Some("/run/haproxy.sock"))
                && local(Some("unix@/x"))
        );
        assert!(!local(None) && !local(Some("10.0.0.1")) && !local(Some("mqtt.example")));
    }
}
