//! EMQX 5: one emqx.conf (HOCON) per node and the file authorization source
//! (acl.conf, Erlang terms, first match wins, ending in `{deny, all}.`).

use serde_json::json;

use super::access::{self, Access};
use crate::diag::Diagnostic;
use crate::render::derive::{ListenerPlan, NodePlan};
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::model::Discovery;

/// EMQX's byte size: B, KB, MB, GB (powers of 1024).
pub fn size(bytes: u64) -> String {
    for (unit, n) in [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if bytes >= n && bytes.is_multiple_of(n) {
            return format!("{}{unit}", bytes / n);
        }
    }
    format!("{bytes}B")
}

/// EMQX's duration: `2h`, `5m`, `30s`.
pub fn duration(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// The release every EMQX file is written for (docs/emqx-target.md: the
/// newest open-source 5.8; its key table is src/formats/emqx/emqx-5.8.keys).
pub const RELEASE: &str = "5.8.9";

/// Where an anonymous listener (the load balancer's health check) mounts
/// what its clients publish and subscribe: EMQX prefixes every topic and
/// filter (shared subscriptions included, emqx_mountpoint), so they reach
/// no site topic whatever username they claim.
pub const ISOLATION_MOUNTPOINT: &str = "anonymous/${clientid}/";

/// PBKDF2-SHA512 rounds of the users' bootstrap hashes (the authenticator
/// and the hashes must agree).
pub const PBKDF2_ITERATIONS: u32 = 100_000;

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    for node in &ctx.derived.nodes {
        let context = node_context(ctx, node);
        out.push(
            Artifact::config(
                format!("emqx/{}/emqx.conf", node.name),
                "emqx/emqx.conf.j2",
                Comment::Hash,
                context,
            )
            .installed_at(ctx.installed.conf("emqx.conf"), &[&node.name]),
        );
    }
    out.push(
        Artifact::config(
            "emqx/acl.conf",
            "emqx/acl.conf.j2",
            Comment::Percent,
            acl_context(ctx),
        )
        .read_by_broker(ctx.layout.engine_layout().user)
        .installed_at(ctx.installed.conf("acl.conf"), &ctx.node_names()),
    );
    Ok(out)
}

fn discovery(ctx: &RenderCtx<'_>) -> &'static str {
    match ctx.site.spec.cluster.as_ref().and_then(|c| c.discovery) {
        Some(Discovery::Etcd) => "etcd",
        Some(Discovery::Dns) => "dns",
        Some(Discovery::K8s) => "k8s",
        Some(Discovery::Static) => "static",
        None if ctx.derived.nodes.len() > 1 => "static",
        None => "singleton",
    }
}

/// The template context of one node's emqx.conf.
fn node_context(ctx: &RenderCtx<'_>, node: &NodePlan) -> serde_json::Value {
    let site = ctx.site;
    let derived = &ctx.derived;
    let cluster = site.spec.cluster.as_ref();
    let layout = ctx.layout.host(&node.name);
    let listeners = listener_contexts(ctx, node);
    let ours: Vec<String> = listeners
        .iter()
        .map(|x| {
            format!(
                "{}.{}",
                x["kind"].as_str().unwrap_or(""),
                x["plan"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    let defaults_off: Vec<&str> = ["tcp", "ssl", "ws", "wss"]
        .into_iter()
        .filter(|k| !ours.contains(&format!("{k}.default")))
        .collect();
    let seeds: Vec<String> = derived
        .nodes
        .iter()
        .map(|n| format!("emqx@{}", n.address))
        .collect();
    let etcd: Vec<String> = cluster
        .map(|c| c.etcd.iter().map(|u| u.0.clone()).collect())
        .unwrap_or_default();
    let identity = derived
        .listeners
        .iter()
        .any(|lp| lp.tls.as_ref().is_some_and(|t| t.identity_as_username));
    json!({
        "release": RELEASE,
        "site": site.name(),
        "node": node,
        "node_name": format!("emqx@{}", node.address),
        "data_dir": layout.data_dir(),
        "discovery": discovery(ctx),
        "seeds": seeds,
        "etcd": etcd.join(","),
        "dns": cluster.and_then(|c| c.dns.as_ref()).map(|a| a.0.clone()),
        "listeners": listeners,
        "defaults_off": defaults_off,
        "connect_rate": derived.limits.connect_rate_per_s,
        "cafile": layout.certs("ca.pem"),
        "certfile": layout.certs(&format!("{}.pem", node.name)),
        "keyfile": layout.certs(&format!("{}.key", node.name)),
        "max_packet": size(derived.limits.max_packet),
        "limits": derived.limits,
        "session_expiry": duration(derived.persistence.session_expiry_s),
        "persistence": derived.persistence.enabled,
        "identity": identity,
        "acl_file": layout.conf("acl.conf"),
        "users_file": layout.secrets(crate::render::secrets::EMQX_USERS_FILE),
        "pbkdf2_iterations": PBKDF2_ITERATIONS,
        "env_file": ctx.installed.secrets(crate::render::secrets::EMQX_ENV_FILE),
        "dropin": ctx.installed.systemd_dropin(crate::render::secrets::SECRETS_DROPIN),
        "log_file": layout.log_file(),
            "obs": super::observability::context(ctx),
        // Prometheus scrapes /api/v5/prometheus/stats here: the node's own
        // address, not every interface.
        "dashboard_bind": format!("{}:18083", node.address),
    })
}

/// How a listener admits clients: the certificate's CN is the identity
/// (mTLS, no password), an anonymous listener is isolated (everything its
/// clients do is mounted under their own prefix, whatever username they
/// claim), every other listener authenticates passwords.
fn admission(lp: &ListenerPlan) -> (&'static str, bool, bool) {
    let cert_identity = lp
        .tls
        .as_ref()
        .is_some_and(|t| t.require_client_cert && t.identity_as_username);
    if cert_identity {
        (
            "the client certificate's CN is the username; no password",
            false,
            false,
        )
    } else if lp.anonymous {
        (
            "anonymous (the load balancer's health check); isolated, grants nothing",
            false,
            true,
        )
    } else {
        ("username and password (built-in database)", true, false)
    }
}

fn listener_contexts(ctx: &RenderCtx<'_>, node: &NodePlan) -> Vec<serde_json::Value> {
    let derived = &ctx.derived;
    let proxy = ctx
        .site
        .spec
        .load_balancer
        .as_ref()
        .is_some_and(|lb| lb.proxy_protocol);
    let rates = connect_rate_shares(derived.limits.connect_rate_per_s, &derived.listeners);
    derived
        .listeners
        .iter()
        .zip(rates)
        .map(|(lp, rate)| {
            let bind = derived
                .bind_for(lp, node)
                .unwrap_or_else(|| "0.0.0.0".into());
            let kind = match (lp.websockets, lp.tls.is_some()) {
                (false, false) => "tcp",
                (false, true) => "ssl",
                (true, false) => "ws",
                (true, true) => "wss",
            };
            let versions: Vec<&str> = match &lp.tls {
                Some(t) if t.min_version == "1.3" => vec!["tlsv1.3"],
                Some(_) => vec!["tlsv1.3", "tlsv1.2"],
                None => Vec::new(),
            };
            let ciphers: Vec<String> = lp
                .tls
                .as_ref()
                .map(|t| t.ciphers_tls13.iter().chain(t.ciphers_tls12.iter()).cloned().collect())
                .unwrap_or_default();
            let (identity, enable_authn, isolated) = admission(lp);
            json!({
                "plan": lp,
                "kind": kind,
                "bind": format!("{bind}:{}", lp.port),
                "versions": versions,
                "ciphers": ciphers,
                "identity": identity,
                "enable_authn": enable_authn,
                "mountpoint": isolated.then_some(ISOLATION_MOUNTPOINT),
                "max_conn_rate": format!("{rate}/s"),
                "messages_rate": derived.limits.message_rate_per_s.map(|r| format!("{}/s", r.ceil() as u64)),
                "proxy_protocol": proxy && lp.device_facing,
            })
        })
        .collect()
}

/// The spec's connect rate is per node; EMQX applies `max_conn_rate` per
/// listener. Each listener gets a share in proportion to its connection
/// limit (at least 1/s), so the shares add up to no more than the node's
/// rate (beyond the 1/s floors).
pub fn connect_rate_shares(per_node: u64, listeners: &[ListenerPlan]) -> Vec<u64> {
    let total: u128 = listeners.iter().map(|l| l.max_connections as u128).sum();
    listeners
        .iter()
        .map(|l| {
            let share = per_node as u128 * l.max_connections as u128 / total.max(1);
            (share as u64).max(1)
        })
        .collect()
}

fn action(a: Access) -> (&'static str, &'static str) {
    match a {
        Access::Deny => ("deny", "all"),
        Access::Read => ("allow", "subscribe"),
        Access::Write => ("allow", "publish"),
        Access::Readwrite => ("allow", "all"),
    }
}

/// Rules in first-match order: for each principal, its denials, then its allows.
fn acl_context(ctx: &RenderCtx<'_>) -> serde_json::Value {
    let site = ctx.site;
    let rule = |who: String, g: &access::Grant, id: &str| {
        let (perm, act) = action(g.access);
        json!({"perm": perm, "who": who, "action": act, "topic": g.topic_for(id)})
    };
    let ordered = |grants: &[access::Grant]| {
        let mut v = grants.to_vec();
        v.sort_by_key(|g| g.access != Access::Deny);
        v
    };
    let mut sections = Vec::new();
    for u in &site.spec.users {
        let grants = access::grants(&site.role(u.role.as_str()).unwrap_or_default());
        let who = format!(
            "{{username, {}}}",
            crate::render::templates::erlang_str(u.name.as_str())
        );
        sections.push(json!({
            "comment": format!("user {} (role {})", u.name, u.role),
            "rules": ordered(&grants).iter().map(|g| rule(who.clone(), g, u.name.as_str())).collect::<Vec<_>>(),
        }));
    }
    for g in access::device_groups(site) {
        let mut whos: Vec<(String, String)> = g
            .ids
            .iter()
            .map(|id| {
                (
                    format!("device {id}"),
                    format!("{{username, {}}}", crate::render::templates::erlang_str(id)),
                )
            })
            .collect();
        whos.extend(g.fleets.iter().map(|f| {
            (
                format!("fleet {}{}..{}", f.prefix, f.from, f.to),
                format!(
                    "{{username, {{re, {}}}}}",
                    crate::render::templates::erlang_str(&access::fleet_regex(f))
                ),
            )
        }));
        for (comment, who) in whos {
            sections.push(json!({
                "comment": format!("{comment} (role {})", g.role),
                // The username is the certificate CN (peer_cert_as_username = cn).
                "rules": ordered(&g.grants).iter().map(|x| rule(who.clone(), x, "${username}")).collect::<Vec<_>>(),
            }));
        }
    }
    json!({"sections": sections})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emqx_units() {
        assert_eq!(size(1 << 20), "1MB");
        assert_eq!(size(64 << 10), "64KB");
        assert_eq!(size(1000), "1000B");
        assert_eq!(duration(7200), "2h");
        assert_eq!(duration(90), "90s");
        assert_eq!(duration(86_400), "1d");
    }
}
