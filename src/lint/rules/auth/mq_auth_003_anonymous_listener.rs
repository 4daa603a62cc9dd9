//! A listener reachable beyond loopback accepts anonymous clients.
//!
//! What it does: flags listeners that let clients connect without
//! credentials (spec `anonymous: true`, Mosquitto `allow_anonymous true`,
//! which applies to every listener when `per_listener_settings` is false)
//! and that bind a non-loopback address. Exempt: listeners that require a
//! client certificate (the TLS handshake authenticates the client), and the
//! listener that only serves the load balancer's MQTT health check, which
//! must connect without credentials (spec:
//! `load_balancer.health_check.listener`; audit: the port an HAProxy
//! `check port` targets, next to the listener clients use).
//!
//! It also flags, on every listener reachable beyond loopback (the health
//! check's included), a client that may claim a username it does not prove:
//! Mosquitto 2 accepts an anonymous-allowed client with whatever username it
//! sends when the listener has no `password_file` or auth plugin (and gives
//! it that user's ACL lines); EMQX 5 takes the username a client sends on a
//! listener with `enable_authn = false`, or with no authenticator at all,
//! unless the username is the certificate's CN on a listener that requires
//! certificates. Exempt from both: an EMQX listener with a `mountpoint`,
//! whose clients reach only their own prefix (anonymous or not, they are
//! given nothing of the site).
//!
//! An EMQX file with no authenticator (no `authentication`, globally or on
//! the listener) is named as the cause, with an authenticator to add.
//!
//! In a rumqttd.toml: a `[v4.*]`/`[v5.*]`/`[ws.*]` server beyond loopback
//! with neither a `connections.auth` table nor `tls.capath` (client
//! certificates).
//!
//! Why it matters: anonymous clients are only limited by the ACL's default
//! rules; on a network listener anyone who can reach the port can publish
//! commands or read telemetry, and exhaust connection slots. A client that
//! can call itself `admin` or a device's id gets what the ACL grants that
//! principal: the health listener becomes a back door.
//!
//! Example:
//!     listener 1883
//!     allow_anonymous true
//!
//! Use instead:
//!     listener 1883 127.0.0.1
//!     allow_anonymous true
//!
//!     listener 8883
//!     allow_anonymous false
//!     password_file /etc/mosquitto/passwd
//!
//! Example (rumqttd.toml, emqx.conf without `authentication`):
//!     [v4.1]
//!     listen = "0.0.0.0:1883"
//!
//! Use instead:
//!     [v4.1.connections.auth]
//!     gateway-01 = "..."          (or `[v4.1.tls]` with `capath`)
//!
//!     authentication = [{mechanism = password_based, backend = built_in_database}]
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, ListenerFact, Origin};
use crate::lint::rules::tls::{exposed, label, local_only, setting_span};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::source::Span;
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-003",
    name: "anonymous_listener",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_auth_003_anonymous_listener.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    anonymous_access(facts, out);
    unproven_usernames(facts, out);
    rumqttd_servers(facts, out);
}

/// rumqttd servers without a `connections.auth` table or client
/// certificates: any client connects, with any client id.
fn rumqttd_servers(facts: &Facts, out: &mut Vec<Finding>) {
    for r in &facts.tls_auth.rumqttd_listeners {
        if !r.anonymous || r.client_certs || r.local() {
            continue;
        }
        let at = r.shown_bind();
        let mut f = Finding::new(
            &r.span,
            format!("rumqttd server `{}` (`listen = \"{}\"`) accepts anonymous clients on {at}", r.name, r.listen),
            format!("authenticate its clients: a `[{}.connections.auth]` table of users and passwords, or `capath` in `[{}.tls]` to require client certificates; or bind it to 127.0.0.1", r.name, r.name),
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}

fn unproven_usernames(facts: &Facts, out: &mut Vec<Finding>) {
    for (i, l) in facts.listeners.iter().enumerate() {
        if !l.usernames_unproven || l.isolated || local_only(l) || anonymous_finding(facts, l) {
            continue;
        }
        let span = setting_span(facts, i, "anonymous").unwrap_or(&l.span);
        let help = match l.engine {
            Some(Engine::Emqx) => "isolate the listener (`mountpoint = \"health/${clientid}/\"`: all its clients do stays under their prefix) or authenticate its clients (`enable_authn = true` with an authenticator)",
            _ => "give the listener a `password_file` (a username sent without its password is then refused; clients without a username still connect), or set `allow_anonymous false`",
        };
        let mut f = Finding::new(
            span,
            format!(
                "clients of {} can claim any username without proving it (`admin`, a device's id) and get what the ACL grants it",
                label(l)
            ),
            help,
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}

/// The listener gets the anonymous-access finding (which covers what its
/// clients may claim).
fn anonymous_finding(facts: &Facts, l: &ListenerFact) -> bool {
    let cert_required = l.tls.as_ref().is_some_and(|t| t.require_client_cert);
    l.anonymous && !cert_required && !l.isolated && exposed(facts, l)
}

fn anonymous_access(facts: &Facts, out: &mut Vec<Finding>) {
    // One finding per place that turns anonymous access on (a global
    // `allow_anonymous true` covers several listeners).
    // The bool: the listener's anonymous access is set where the span is
    // (`allow_anonymous true`, `enable_authn = false`), not the lack of an
    // authenticator.
    let mut groups: Vec<(Span, Vec<String>, Option<Engine>, bool)> = Vec::new();
    let mut group_at: std::collections::HashMap<(String, usize, usize), usize> =
        std::collections::HashMap::new();
    for (i, l) in facts.listeners.iter().enumerate() {
        if !anonymous_finding(facts, l) {
            continue;
        }
        let setting = setting_span(facts, i, "anonymous");
        let span = setting.unwrap_or(&l.span).clone();
        let key = (span.file.name.clone(), span.line, span.col);
        match group_at.get(&key) {
            Some(&g) => groups[g].1.push(label(l)),
            None => {
                group_at.insert(key, groups.len());
                groups.push((span, vec![label(l)], l.engine, setting.is_some()));
            }
        }
    }
    for (span, labels, engine, set_here) in groups {
        let no_authenticator =
            facts.origin == Origin::File && engine == Some(Engine::Emqx) && !set_here;
        let help = match (facts.origin, engine) {
            (Origin::Spec, _) => "drop `anonymous: true`, or bind the listener to 127.0.0.1; a listener only the load balancer's health check uses is named by `load_balancer.health_check.listener`",
            (Origin::File, Some(Engine::Emqx)) if no_authenticator => "add an authenticator (e.g. `authentication = [{mechanism = password_based, backend = built_in_database, user_id_type = username}]`), or bind the listeners to 127.0.0.1",
            (Origin::File, Some(Engine::Emqx)) => "authenticate the listener's clients (`enable_authn = true` with an authenticator in `authentication`), or bind it to 127.0.0.1",
            (Origin::File, _) => "set `allow_anonymous false` and authenticate clients (`password_file`, client certificates), or bind the listener to 127.0.0.1",
        };
        let mut f = Finding::new(
            &span,
            format!(
                "{} accept{} anonymous clients from beyond loopback{}",
                labels.join(" and "),
                if labels.len() == 1 { "s" } else { "" },
                if no_authenticator {
                    ": the file configures no authenticator (`authentication`)"
                } else {
                    ""
                }
            ),
            help,
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}
