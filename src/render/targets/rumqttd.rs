//! The bundled broker: rumqttd.toml with only the keys rumqttd 0.20 reads,
//! every value within its type.

use crate::diag::Code;
use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::{spec_error, Artifact, Comment, RenderCtx};

/// rumqttd waits this long for a CONNECT (a u16 in rumqttd).
pub const CONNECTION_TIMEOUT_MS: u64 = 10_000;
/// rumqttd serves Prometheus metrics here.
pub const PROMETHEUS_PORT: u16 = 9042;

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let d = &ctx.derived;
    let mut diags = Vec::new();
    for (i, l) in d.listeners.iter().enumerate() {
        if let Some(t) = &l.tls {
            if !t.require_client_cert {
                diags.push(spec_error(
                    ctx.site,
                    &format!("/listeners/{i}/tls"),
                    Code::Unsupported,
                    format!("listener `{}`: the bundled broker requires client certificates on every TLS listener", l.name),
                    "set `client_certs: required` (rumqttd's verify-client-cert applies to all TLS listeners)",
                ));
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut out = Vec::new();
    for node in &d.nodes {
        let l = ctx.layout.host(&node.name);
        let listeners: Vec<_> = d
            .listeners
            .iter()
            .map(|l| {
                let bind = d.bind_for(l, node).unwrap_or_else(|| "0.0.0.0".into());
                let listen = if bind.contains(':') { format!("[{bind}]:{}", l.port) } else { format!("{bind}:{}", l.port) };
                json!({"plan": l, "listen": listen, "section": if l.websockets { "ws" } else { "v4" }})
            })
            .collect();
        let max_connections: u64 = d.listeners.iter().map(|l| l.max_connections).sum();
        let context = json!({
            "node": node,
            "listeners": listeners,
            "max_connections": max_connections,
            "obs": super::observability::context(ctx),
            "limits": d.limits,
            "connection_timeout_ms": CONNECTION_TIMEOUT_MS,
            "capath": l.certs("ca.pem"),
            "certpath": l.certs(&format!("{}.pem", node.name)),
            "keypath": l.certs(&format!("{}.key", node.name)),
            "prometheus_listen": format!("{}:{PROMETHEUS_PORT}", if ctx.opts.loopback { node.address.as_str() } else { "0.0.0.0" }),
        });
        out.push(
            Artifact::config(
                format!("rumqttd/{}/rumqttd.toml", node.name),
                "rumqttd/rumqttd.toml.j2",
                Comment::Hash,
                context,
            )
            .installed_at(ctx.installed.conf("rumqttd.toml"), &[&node.name]),
        );
    }
    Ok(out)
}
