//! HA facts from the spec and what it renders (see `super`): the cluster,
//! session persistence, the load balancer and its health checks (read back
//! from the rendered haproxy.cfg, so the CONNECT checked is the one that
//! ships), the admin interfaces the rendered configs open (HAProxy stats,
//! EMQX dashboard), listeners whose identity comes from the certificate,
//! and what the bundled broker (rumqttd) would ignore or refuse.
//!
//! Rendered files have no positions a user edits: every fact points at the
//! spec value that drives it.

use std::sync::Arc;

use super::Input;
use crate::facts::{
    AdminFact, ClusterFact, Facts, LbFact, PassiveCheckFact, RumqttdFact, SessionFact,
};
use crate::formats::hocon;
use crate::source::SourceFile;
use crate::spec::model::{ClientCerts, Engine, Identity, LbKind, RedundancyMode};

pub fn extract(input: &Input<'_>, facts: &mut Facts) {
    cluster(input, facts);
    session(input, facts);
    load_balancer(input, facts);
    dashboard(input, facts);
    identity(input, facts);
    rumqttd(input, facts);
}

fn cluster(input: &Input<'_>, facts: &mut Facts) {
    let s = &input.site.spec;
    let emqx_cluster = s.engine == Engine::Emqx && s.nodes.len() > 1;
    match &s.cluster {
        Some(c) => {
            // A bridge counts when a rendered mosquitto.conf sets one up.
            let bridged = c.mode != Some(RedundancyMode::Bridge) || rendered_bridge(input);
            if !bridged {
                facts.ha.unrendered_bridge = Some(input.span("/cluster/mode"));
            }
            facts.cluster = ClusterFact {
                clustered: c.discovery.is_some() || emqx_cluster,
                standby_or_bridge: c.mode.is_some() && bridged,
                span: Some(input.key_span("/cluster")),
            }
        }
        // EMQX nodes without a discovery setting are joined statically.
        None if emqx_cluster => {
            facts.cluster = ClusterFact {
                clustered: true,
                standby_or_bridge: false,
                span: Some(input.key_span("/nodes")),
            }
        }
        None => {}
    }
}

/// Whether a rendered mosquitto.conf declares a bridge (`connection`).
fn rendered_bridge(input: &Input<'_>) -> bool {
    input
        .tree
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("mosquitto/") && p.ends_with("/mosquitto.conf"))
        .any(|(_, f)| {
            String::from_utf8_lossy(&f.contents)
                .lines()
                .any(|l| l.split_whitespace().next() == Some("connection"))
        })
}

/// Sessions are declared to survive reconnects when persistence is on or a
/// session expiry is set; the engine keeps them when its config can.
fn session(input: &Input<'_>, facts: &mut Facts) {
    let p = &input.site.spec.persistence;
    let expiry = p.session_expiry.map(|d| d.secs()).unwrap_or(0);
    let declared = p.enabled || expiry > 0;
    if !declared {
        return;
    }
    let kept = match input.site.spec.engine {
        // Mosquitto keeps sessions across restarts and failovers only with persistence on.
        Engine::Mosquitto => p.enabled,
        // EMQX keeps a disconnected session for `session_expiry_interval`.
        Engine::Emqx => input.derived.persistence.session_expiry_s > 0,
        // rumqttd keeps nothing on disk and has no session expiry.
        Engine::Rumqttd => false,
    };
    // Point at the value to change: Mosquitto's switch, EMQX's expiry.
    let span = match input.site.spec.engine {
        Engine::Mosquitto => input.span("/persistence/enabled"),
        Engine::Emqx => input.span("/persistence/session_expiry"),
        Engine::Rumqttd => input.key_span("/persistence"),
    };
    facts.session = Some(SessionFact {
        declared,
        kept,
        span,
    });
}

fn rendered(input: &Input<'_>, path: &str) -> Option<Arc<SourceFile>> {
    let f = input.tree.files.get(path)?;
    Some(SourceFile::new(
        path,
        String::from_utf8_lossy(&f.contents).into_owned(),
    ))
}

/// The load balancer and its health checks, read back from haproxy.cfg.
fn load_balancer(input: &Input<'_>, facts: &mut Facts) {
    let (Some(spec_lb), Some(lb)) = (&input.site.spec.load_balancer, &input.derived.lb) else {
        return;
    };
    if spec_lb.kind == LbKind::Nginx {
        facts.ha.passive_checks = Some(PassiveCheckFact {
            max_fails: lb.health_check.fall,
            fail_timeout_s: lb.health_check.interval_s(),
            connect_timeout_s: lb.connect_timeout_s,
            span: input.span("/load_balancer/kind"),
        });
        // NGINX's stream module limits no connection rate, and its PROXY
        // protocol (v1) carries no client certificate.
        facts.lb = Some(LbFact {
            terminates_tls: lb.terminate_tls,
            proxy_protocol: false,
            client_timeout_s: Some(lb.timeout_s),
            server_timeout_s: Some(lb.timeout_s),
            rate_limited: false,
            span: input.span("/load_balancer/tls"),
        });
        return;
    }
    let Some(file) = rendered(input, "haproxy/haproxy.cfg") else {
        return;
    };
    let Ok(x) = crate::facts::files::haproxy::extract_file(&file) else {
        return;
    };
    let check_span = if spec_lb.health_check.listener.is_some() {
        input.span("/load_balancer/health_check/listener")
    } else {
        input.key_span("/load_balancer/health_check")
    };
    let parsed = x.lb.as_ref();
    facts.lb = Some(LbFact {
        terminates_tls: parsed.map_or(lb.terminate_tls, |p| p.terminates_tls),
        proxy_protocol: parsed.map_or(lb.proxy_protocol, |p| p.proxy_protocol),
        client_timeout_s: parsed.and_then(|p| p.client_timeout_s),
        server_timeout_s: parsed.and_then(|p| p.server_timeout_s),
        rate_limited: parsed.is_some_and(|p| p.rate_limited),
        span: input.span("/load_balancer/tls"),
    });
    for mut hc in x.health_checks {
        hc.span = check_span.clone();
        if let Some(m) = hc.mqtt.as_mut() {
            m.send_span = check_span.clone();
            m.expect_span = check_span.clone();
        }
        if let Some((_, s)) = hc.probe.as_mut() {
            *s = check_span.clone();
        }
        facts.health_checks.push(hc);
    }
    for mut a in x.admin {
        a.span = if spec_lb.stats.is_some() {
            input.key_span("/load_balancer/stats")
        } else {
            input.key_span("/load_balancer")
        };
        facts.admin.push(a);
    }
}

/// The EMQX dashboard as the rendered emqx.conf opens it.
fn dashboard(input: &Input<'_>, facts: &mut Facts) {
    if input.site.spec.engine != Engine::Emqx {
        return;
    }
    let Some(path) = input
        .tree
        .files
        .keys()
        .find(|p| p.starts_with("emqx/") && p.ends_with("/emqx.conf"))
    else {
        return;
    };
    let Some(file) = rendered(input, path) else {
        return;
    };
    let Ok(root) = hocon::parse(&file.text) else {
        return;
    };
    let leaves = hocon::flatten(&root);
    let get = |key: &str| {
        leaves
            .iter()
            .find(|(p, _, _)| p == key)
            .map(|(_, _, n)| match &n.value {
                hocon::Value::String(s) | hocon::Value::Number(s) => s.clone(),
                _ => String::new(),
            })
    };
    let bind = get("dashboard.listeners.http.bind").unwrap_or_else(|| "18083".into());
    if bind == "0" {
        return;
    }
    let host = if bind.contains(':') {
        crate::facts::files::haproxy::bind_host(&bind)
    } else {
        None
    };
    // The spec's dashboard password reaches EMQX as
    // EMQX_DASHBOARD__DEFAULT_PASSWORD through the rendered drop-in: judged
    // as written in the spec (inline values by what they are).
    let delivered = input
        .site
        .spec
        .emqx
        .as_ref()
        .map(|e| &e.dashboard_password)
        .filter(|_| {
            input.tree.files.keys().any(|p| {
                p.ends_with(crate::render::secrets::SECRETS_DROPIN)
                    && p.contains("/emqx.service.d/")
            })
        });
    let credentials = match (get("dashboard.default_password"), delivered) {
        (None, Some(secret)) => match &secret.value {
            Some(v) => crate::facts::files::haproxy::classify_password("admin", v),
            None => "reference",
        },
        (None, None) => "default",
        (Some(p), _) if p.contains("${") => "reference",
        (Some(p), _) => crate::facts::files::haproxy::classify_password("admin", &p),
    };
    let span = match delivered {
        Some(secret) if secret.value.is_some() => input.span("/emqx/dashboard_password/value"),
        Some(_) => input.span("/emqx/dashboard_password"),
        None => input.span("/engine"),
    };
    let port = crate::facts::files::haproxy::addr_port(&bind)
        .map(|p| p.to_string())
        .unwrap_or(bind.clone());
    facts.admin.push(AdminFact {
        what: format!("the EMQX dashboard of the rendered emqx.conf (http, port {port})"),
        bind: host,
        credentials: credentials.into(),
        span,
    });
}

/// Listeners that make the certificate's CN the MQTT username.
fn identity(input: &Input<'_>, facts: &mut Facts) {
    for (i, l) in input.site.spec.listeners.iter().enumerate() {
        if let Some(t) = &l.tls {
            if t.identity == Identity::Username {
                let what = format!(
                    "listener `{}` takes the MQTT username from the client certificate (`identity: username`{})",
                    l.name.as_str(),
                    if t.client_certs == ClientCerts::Required { ", `client_certs: required`" } else { "" }
                );
                facts
                    .ha
                    .cert_identity
                    .push((what, input.span(&format!("/listeners/{i}/tls/identity"))));
            }
        }
    }
}

/// The bundled broker: its rendered rumqttd.toml against rumqttd 0.20's
/// config, and the device certificates' Organization (rumqttd drops a
/// client whose Organization is not alphanumeric).
fn rumqttd(input: &Input<'_>, facts: &mut Facts) {
    if input.site.spec.engine != Engine::Rumqttd {
        return;
    }
    if let Some(org) = input
        .site
        .spec
        .pki
        .as_ref()
        .and_then(|p| p.device_org.as_ref())
    {
        if !org.0.chars().all(char::is_alphanumeric) {
            let bad: String = org.0.chars().filter(|c| !c.is_alphanumeric()).collect();
            facts.rumqttd.push(RumqttdFact {
                problem: format!("device certificates get Organization `{}`, which holds `{bad}`: rumqttd makes the Organization a tenant id and drops every client whose Organization is not alphanumeric", org.0),
                span: input.span("/pki/device_org"),
                help: format!("use letters and digits only, e.g. `device_org: {}`", org.0.chars().filter(|c| c.is_alphanumeric()).collect::<String>()),
            });
        }
    }
    let engine = input.span("/engine");
    for (path, f) in input
        .tree
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("rumqttd/") && p.ends_with(".toml"))
    {
        let file = SourceFile::new(
            path.as_str(),
            String::from_utf8_lossy(&f.contents).into_owned(),
        );
        let Ok(found) = crate::facts::files::rumqttd::problems(&file) else {
            continue;
        };
        for mut p in found {
            p.problem = format!("the rendered {path}: {}", p.problem);
            p.span = engine.clone();
            facts.rumqttd.push(p);
        }
    }
}
