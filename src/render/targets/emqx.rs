//! EMQX 5: one emqx.conf (HOCON) per node and the file authorization source
//! (acl.conf, Erlang terms, first match wins, ending in `{deny, all}.`).

use serde_json::json;

use super::access::{self, Access};
use crate::diag::Diagnostic;
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

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let d = &ctx.derived;
    let cluster = site.spec.cluster.as_ref();
    let discovery = match cluster.and_then(|c| c.discovery) {
        Some(Discovery::Etcd) => "etcd",
        Some(Discovery::Dns) => "dns",
        Some(Discovery::K8s) => "k8s",
        Some(Discovery::Static) => "static",
        None if d.nodes.len() > 1 => "static",
        None => "singleton",
    };
    let node_names: Vec<String> = d
        .nodes
        .iter()
        .map(|n| format!("emqx@{}", n.address))
        .collect();
    let etcd: Vec<String> = cluster
        .map(|c| c.etcd.iter().map(|u| u.0.clone()).collect())
        .unwrap_or_default();
    let identity = d
        .listeners
        .iter()
        .any(|lp| lp.tls.as_ref().is_some_and(|t| t.identity_as_username));
    let mut out = Vec::new();
    for node in &d.nodes {
        let l = ctx.layout.host(&node.name);
        let listeners: Vec<_> = d
            .listeners
            .iter()
            .map(|lp| {
                let bind = d.bind_for(lp, node).unwrap_or_else(|| "0.0.0.0".into());
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
                json!({
                    "plan": lp,
                    "kind": kind,
                    "bind": format!("{bind}:{}", lp.port),
                    "versions": versions,
                    "ciphers": ciphers,
                    // Certificate-authenticated listeners need no password authentication.
                    "enable_authn": !lp.tls.as_ref().is_some_and(|t| t.require_client_cert),
                    "max_conn_rate": format!("{}/s", d.limits.connect_rate_per_s),
                    "messages_rate": d.limits.message_rate_per_s.map(|r| format!("{}/s", r.ceil() as u64)),
                    "proxy_protocol": site.spec.load_balancer.as_ref().is_some_and(|lb| lb.proxy_protocol) && lp.device_facing,
                })
            })
            .collect();
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
        let context = json!({
            "site": site.name(),
            "node": node,
            "node_name": format!("emqx@{}", node.address),
            "data_dir": l.data_dir(),
            "discovery": discovery,
            "seeds": node_names,
            "etcd": etcd.join(","),
            "dns": cluster.and_then(|c| c.dns.as_ref()).map(|a| a.0.clone()),
            "listeners": listeners,
            "defaults_off": defaults_off,
            "cafile": l.certs("ca.pem"),
            "certfile": l.certs(&format!("{}.pem", node.name)),
            "keyfile": l.certs(&format!("{}.key", node.name)),
            "max_packet": size(d.limits.max_packet),
            "limits": d.limits,
            "session_expiry": duration(d.persistence.session_expiry_s),
            "identity": identity,
            "acl_file": l.conf("acl.conf"),
            "log_file": l.log_file(),
            // Prometheus scrapes /api/v5/prometheus/stats here: the node's own
            // address, not every interface.
            "dashboard_bind": format!("{}:18083", node.address),
        });
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
            crate::render::templates::quote(u.name.as_str())
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
                    format!("{{username, {}}}", crate::render::templates::quote(id)),
                )
            })
            .collect();
        whos.extend(g.fleets.iter().map(|f| {
            (
                format!("fleet {}{}..{}", f.prefix, f.from, f.to),
                format!(
                    "{{username, {{re, {}}}}}",
                    crate::render::templates::quote(&access::fleet_regex(f))
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
