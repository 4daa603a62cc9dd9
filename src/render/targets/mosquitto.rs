//! Mosquitto: one mosquitto.conf per node, the ACL file (users first, then
//! patterns), and, from `secrets`, the password file.

use serde_json::json;

use super::access::{self, Access};
use crate::diag::Diagnostic;
use crate::render::secrets::has_password_file;
use crate::render::{Artifact, Comment, RenderCtx};

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let d = &ctx.derived;
    let mut out = Vec::new();
    for node in &d.nodes {
        let l = ctx.layout.host(&node.name);
        let password_file = has_password_file(ctx.site).then(|| l.conf("passwd"));
        let listeners: Vec<_> = d
            .listeners
            .iter()
            .map(|lp| {
                json!({
                    "plan": lp,
                    "bind": d.bind_for(lp, node),
                    "tls_version": lp.tls.as_ref().map(|t| format!("tlsv{}", t.min_version)),
                })
            })
            .collect();
        let context = json!({
            "node": node,
            "listeners": listeners,
            "limits": d.limits,
            "persistence": d.persistence,
            "client_expiration": client_expiration(d.persistence.session_expiry_s),
            "user": l.engine_layout().user,
            "pid_file": l.pid_file(),
            "log_file": l.log_file(),
            "obs": super::observability::context(ctx),
            "data_dir": format!("{}/", l.data_dir()),
            "acl_file": l.conf("acl"),
            "password_file": password_file,
            "cafile": l.certs("ca.pem"),
            "certfile": l.certs(&format!("{}.pem", node.name)),
            "keyfile": l.certs(&format!("{}.key", node.name)),
            // Once something is revoked, brokers check the CRL.
            "crlfile": ctx.opts.pki_dir.as_deref().and_then(crate::pki::crl_path).map(|_| l.certs("crl.pem")),
        });
        out.push(
            Artifact::config(
                format!("mosquitto/{}/mosquitto.conf", node.name),
                "mosquitto/mosquitto.conf.j2",
                Comment::Hash,
                context,
            )
            .installed_at(ctx.installed.conf("mosquitto.conf"), &[&node.name]),
        );
    }
    out.push(
        Artifact::config(
            "mosquitto/acl",
            "mosquitto/acl.j2",
            Comment::Hash,
            acl_context(ctx),
        )
        .read_by_broker(ctx.layout.engine_layout().user)
        .installed_at(ctx.installed.conf("acl"), &ctx.node_names()),
    );
    Ok(out)
}

/// `persistent_client_expiration` takes hours, days or weeks (not seconds).
fn client_expiration(secs: u64) -> String {
    for (unit, n) in [("w", 604_800), ("d", 86_400)] {
        if secs >= n && secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{}h", secs.div_ceil(3600).max(1))
}

/// Users get `user` blocks with their own name for `{id}`; grants every
/// device role shares become `pattern` lines (`%u`: the certificate CN is the
/// username); grants only some roles hold become per-device `user` blocks.
fn acl_context(ctx: &RenderCtx<'_>) -> serde_json::Value {
    let site = ctx.site;
    let mosq = |a: Access| match a {
        Access::Deny => "deny",
        Access::Read => "read",
        Access::Write => "write",
        Access::Readwrite => "readwrite",
    };
    let users: Vec<_> = site
        .spec
        .users
        .iter()
        .map(|u| {
            let grants = access::grants(&site.role(u.role.as_str()).unwrap_or_default());
            json!({
                "name": u.name.as_str(),
                "role": u.role.as_str(),
                "topics": grants.iter().map(|g| json!({"access": mosq(g.access), "topic": g.topic_for(u.name.as_str())})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let groups = access::device_groups(site);
    // Denials stay in each device's own block: Mosquitto reads a user's own
    // lines before the patterns, so a `pattern deny` would not override them.
    let common: Vec<_> = access::common_grants(&groups)
        .into_iter()
        .filter(|g| g.access != Access::Deny)
        .collect();
    let patterns: Vec<_> = common
        .iter()
        .map(|g| json!({"access": mosq(g.access), "topic": g.topic_for("%u")}))
        .collect();
    let mut devices = Vec::new();
    for g in &groups {
        let own: Vec<_> = g.grants.iter().filter(|x| !common.contains(x)).collect();
        if own.is_empty() {
            continue;
        }
        let ids = g
            .ids
            .iter()
            .cloned()
            .chain(g.fleets.iter().flat_map(access::fleet_ids));
        for id in ids {
            devices.push(json!({
                "id": id,
                "role": g.role,
                "topics": own.iter().map(|x| json!({"access": mosq(x.access), "topic": x.topic_for(&id)})).collect::<Vec<_>>(),
            }));
        }
    }
    json!({
        "users": users,
        "patterns": patterns,
        "pattern_roles": groups.iter().map(|g| g.role.clone()).collect::<Vec<_>>(),
        "devices": devices,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn expiration_units() {
        assert_eq!(super::client_expiration(86_400), "1d");
        assert_eq!(super::client_expiration(7_200), "2h");
        assert_eq!(super::client_expiration(1_800), "1h");
        assert_eq!(super::client_expiration(1_209_600), "2w");
    }
}
