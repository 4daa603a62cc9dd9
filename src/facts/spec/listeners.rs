//! Facts from the spec (see `super`): listeners with their effective TLS
//! settings (the spec's values, or the defaults mqttforge renders), and the
//! spec's secrets.
//!
//! Logging is left unknown: a spec has no logging settings to get wrong (the
//! Mosquitto and EMQX configs it renders log connections with timestamps),
//! so MQ-AUTH-007 is an audit rule. A listener counts as rate limited when
//! the spec declares `limits.connect_rate` (which EMQX and the load balancer
//! enforce), and on EMQX, which always renders one.

use super::Input;
use crate::facts::{Facts, ListenerFact, SecretFact, TlsFact};
use crate::source::Span;
use crate::spec::model::{ClientCerts, Engine, Identity, Secret};

pub fn extract(input: &Input<'_>, facts: &mut Facts) {
    let spec = &input.site.spec;
    // EMQX renders `max_conn_rate` on every listener (derived from capacity
    // when the spec declares no rate); other engines only get the declared
    // rate, through the load balancer.
    let rate_limited = spec.limits.connect_rate.is_some() || spec.engine == Engine::Emqx;
    for (i, (l, plan)) in spec
        .listeners
        .iter()
        .zip(&input.derived.listeners)
        .enumerate()
    {
        let ptr = format!("/listeners/{i}");
        let index = facts.listeners.len();
        let present = |key: &str| input.site.spans.get(&format!("{ptr}/tls/{key}")).is_some();
        let tls = l.tls.as_ref().zip(plan.tls.as_ref()).map(|(t, p)| {
            let tls_key = input.key_span(&format!("{ptr}/tls"));
            let at = |key: &str| {
                if present(key) {
                    input.span(&format!("{ptr}/tls/{key}"))
                } else {
                    tls_key.clone()
                }
            };
            if present("ciphers_tls13") {
                facts.tls_auth.listener_settings.push((
                    index,
                    "ciphers_tls13",
                    list_span(input, &format!("{ptr}/tls/ciphers_tls13")),
                ));
            }
            TlsFact {
                min_version: Some(t.min_version.as_str().to_string()),
                min_version_span: Some(at("min_version")),
                ciphers: p.ciphers_tls12.clone(),
                ciphers_span: present("ciphers")
                    .then(|| list_span(input, &format!("{ptr}/tls/ciphers"))),
                ciphers_tls13: p.ciphers_tls13.clone(),
                require_client_cert: t.client_certs == ClientCerts::Required,
                require_span: Some(at("client_certs")),
                identity_as_username: t.identity == Identity::Username,
                identity_span: present("identity")
                    .then(|| input.span(&format!("{ptr}/tls/identity"))),
            }
        });
        if l.anonymous {
            facts.tls_auth.listener_settings.push((
                index,
                "anonymous",
                input.span(&format!("{ptr}/anonymous")),
            ));
        }
        facts.listeners.push(ListenerFact {
            engine: Some(spec.engine),
            name: l.name.0.clone(),
            port: l.port,
            bind: l.bind.as_ref().map(|b| b.0.clone()),
            tls,
            anonymous: l.anonymous,
            max_connections: Some(plan.max_connections),
            rate_limited,
            health_check_only: !plan.loopback && !plan.device_facing,
            // Rendered anonymous listeners carry a password file (Mosquitto:
            // a claimed username must be proven) or are isolated (EMQX).
            usernames_unproven: false,
            isolated: l.anonymous && spec.engine == Engine::Emqx,
            span: input.span(&format!("{ptr}/name")),
        });
    }

    for (i, u) in spec.users.iter().enumerate() {
        if let Some(p) = &u.password {
            push_secret(
                input,
                facts,
                &format!("/users/{i}/password"),
                p,
                format!("password of user `{}`", u.name.0),
            );
        }
    }
    if let Some(stats) = spec.load_balancer.as_ref().and_then(|lb| lb.stats.as_ref()) {
        push_secret(
            input,
            facts,
            "/load_balancer/stats/password",
            &stats.password,
            format!(
                "password of the load balancer's stats page (user `{}`)",
                stats.user.0
            ),
        );
    }
    if let Some(enc) = spec.backup.as_ref().and_then(|b| b.encrypt.as_ref()) {
        push_secret(
            input,
            facts,
            "/backup/encrypt/age_recipient",
            &enc.age_recipient,
            "backup encryption recipient".to_string(),
        );
    }
}

/// The span from a list's first item to its last (the list's own span
/// when it is empty), so a rule can point at one item in it.
fn list_span(input: &Input<'_>, ptr: &str) -> Span {
    let spans = &input.site.spans;
    let first = spans.get(&format!("{ptr}/0"));
    let last = (0..).map_while(|i| spans.get(&format!("{ptr}/{i}"))).last();
    match (first, last) {
        (Some(first), Some(last)) => Span {
            end_line: last.value.end_line,
            end_col: last.value.end_col,
            ..first.value.clone()
        },
        _ => input.span(ptr),
    }
}

/// A secret of the spec: inline when written with `value:`, by reference otherwise.
fn push_secret(input: &Input<'_>, facts: &mut Facts, ptr: &str, secret: &Secret, what: String) {
    let span = match (&secret.value, &secret.env, &secret.file) {
        (Some(_), _, _) => input.span(&format!("{ptr}/value")),
        (None, Some(_), _) => input.span(&format!("{ptr}/env")),
        (None, None, Some(_)) => input.span(&format!("{ptr}/file")),
        (None, None, None) => input.span(ptr),
    };
    facts.secrets.push(SecretFact {
        what,
        inline: secret.value.clone(),
        span,
    });
}
