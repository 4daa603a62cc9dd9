//! The load balancer's health check can never pass against the listener it checks.
//!
//! What it does: matches each health check with the broker listener on the
//! port it connects to (in audit, across files: haproxy.cfg `check port`
//! against a mosquitto.conf `listener` or an emqx.conf listener) and flags
//! a check that listener must refuse: the listener requires client
//! certificates (`require_certificate true`, EMQX
//! `fail_if_no_peer_cert = true`) and the check presents none; the check
//! sends a plaintext CONNECT to a TLS listener, or speaks TLS to a
//! plaintext one; or the listener refuses anonymous clients and the
//! check's CONNECT carries no username (and no certificate identity). In a
//! spec, the listener named by `load_balancer.health_check.listener` (or
//! the first device-facing one) must let the check's anonymous CONNECT in.
//!
//! Why it matters: a check that cannot pass marks every broker DOWN, so the
//! load balancer refuses all devices although every broker is healthy.
//! Brokers that require client certificates need a certificate-free
//! internal listener for the check (bound where only the load balancer
//! reaches it), or a check that presents a client certificate.
//!
//! Example:
//!     server mqtt1 10.0.1.10:8883 check         (listener 8883: require_certificate true)
//!
//! Use instead:
//!     server mqtt1 10.0.1.10:8883 check port 1884
//!     (mosquitto.conf: `listener 1884` with `allow_anonymous true`, reachable only from the load balancer)
//!
//! Severity: error in production; warning elsewhere.

use super::{and_list, same_place};
use crate::diag::Severity;
use crate::facts::{Facts, HealthCheckFact, ListenerFact, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;

pub const RULE: Rule = Rule {
    id: "MQ-HA-004",
    name: "check_cannot_pass",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_ha_004_check_cannot_pass.rs"),
    check,
};

struct Problem {
    /// What the check does wrong, after "the health check".
    message: String,
    help: String,
    related: (Span, &'static str),
}

fn listener_label(l: &ListenerFact) -> String {
    if l.name == l.port.to_string() {
        format!("the listener on port {}", l.port)
    } else {
        format!("listener `{}` (port {})", l.name, l.port)
    }
}

fn problem(facts: &Facts, hc: &HealthCheckFact, l: &ListenerFact) -> Option<Problem> {
    let spec = facts.origin == Origin::Spec;
    let internal = if spec {
        "name a listener without client certificates in `load_balancer.health_check.listener`, e.g. `{ name: health, port: 1884, anonymous: true }`"
    } else {
        "check a certificate-free internal listener instead (`check port 1884`: one that lets the check's anonymous CONNECT in and that only the load balancer reaches)"
    };
    if let Some(t) = &l.tls {
        if t.require_client_cert && !hc.presents_cert && (hc.tls || hc.mqtt.is_some()) {
            return Some(Problem {
                message: format!("connects to {} without a client certificate, but that listener requires one: the check never passes and every broker is marked DOWN", listener_label(l)),
                help: format!("{internal}, or give the check a client certificate (`check-ssl crt /etc/haproxy/certs/healthcheck.pem`)"),
                related: (t.require_span.clone().unwrap_or_else(|| l.span.clone()), "client certificates required here"),
            });
        }
        if !hc.tls && hc.mqtt.is_some() {
            return Some(Problem {
                message: format!("sends a plaintext MQTT CONNECT to {}, which expects a TLS handshake: the check times out and every broker is marked DOWN", listener_label(l)),
                help: format!("add `check-ssl` (or `tcp-check connect ssl`) to the check, or {internal}"),
                related: (l.span.clone(), "TLS listener"),
            });
        }
    } else if hc.tls {
        return Some(Problem {
            message: format!("speaks TLS to {}, a plaintext listener: the handshake fails and every broker is marked DOWN", listener_label(l)),
            help: "drop `check-ssl` for a plaintext check listener, or check the TLS listener".into(),
            related: (l.span.clone(), "plaintext listener"),
        });
    }
    let Some(m) = &hc.mqtt else { return None };
    let username = crate::mqtt::decode_connect(&m.send)
        .ok()
        .is_some_and(|c| c.username.is_some());
    let cert_identity = l
        .tls
        .as_ref()
        .is_some_and(|t| t.require_client_cert && t.identity_as_username)
        && hc.presents_cert;
    if !l.anonymous && !username && !cert_identity {
        let related = facts
            .tls_auth
            .listener_settings
            .iter()
            .find(|(i, setting, _)| {
                *setting == "anonymous"
                    && facts
                        .listeners
                        .get(*i)
                        .is_some_and(|o| same_place(&o.span, &l.span))
            })
            .map(|(_, _, s)| s.clone())
            .unwrap_or_else(|| l.span.clone());
        return Some(Problem {
            message: format!("sends a CONNECT without a username, and {} refuses anonymous clients: the broker answers CONNACK 5 (not authorized), so the check never passes and every broker is marked DOWN", listener_label(l)),
            help: if spec {
                format!("if only the load balancer reaches listener `{}`, give it `anonymous: true`; otherwise name such a listener in `load_balancer.health_check.listener`", l.name)
            } else {
                "check a listener that allows anonymous clients and that only the load balancer reaches (`listener 1884` with `allow_anonymous true`)".into()
            },
            related: (related, "anonymous clients refused here"),
        });
    }
    None
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    // One finding per backend and problem, naming its servers (in a spec,
    // every backend's check is the one `load_balancer.health_check` renders).
    let spec = facts.origin == Origin::Spec;
    let mut found: Vec<(String, Span, Problem, Vec<String>)> = Vec::new();
    for hc in &facts.health_checks {
        let Some(port) = hc.port else { continue };
        let Some(p) = facts
            .listeners
            .iter()
            .filter(|l| l.port == port)
            .find_map(|l| problem(facts, hc, l))
        else {
            continue;
        };
        match found
            .iter_mut()
            .find(|(b, _, q, _)| (spec || *b == hc.backend) && q.message == p.message)
        {
            Some((_, _, _, servers)) => servers.push(format!("`{}`", hc.server)),
            None => found.push((
                hc.backend.clone(),
                hc.span.clone(),
                p,
                vec![format!("`{}`", hc.server)],
            )),
        }
    }
    for (backend, span, p, servers) in found {
        let who = if spec {
            String::new()
        } else {
            format!(" of {} (backend `{backend}`)", and_list(&servers))
        };
        let mut f = Finding::new(
            &span,
            format!("the health check{who} {}", p.message),
            p.help,
        )
        .with_related(&p.related.0, p.related.1);
        if let Some(s) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(s);
        }
        out.push(f);
    }
}
