//! NGINX (stream module) in front of the brokers: least connections, the
//! same connect timeout and keepalive-derived idle timeout as HAProxy, TLS
//! passthrough or termination, and passive health checks only (NGINX open
//! source has no active ones): `max_fails` from the spec's health-check
//! `fall`, `fail_timeout` from its interval.

use serde_json::json;

use crate::diag::{Code, Diagnostic};
use crate::render::{spec_error, Artifact, Comment, RenderCtx};
use crate::spec::derive::{LbPlan, TlsPlan};
use crate::spec::model::Engine;

/// `ssl_protocols` for a listener's TLS versions, oldest allowed first.
fn protocols(tls: &TlsPlan) -> String {
    ["1.0", "1.1", "1.2", "1.3"]
        .iter()
        .filter(|v| **v >= tls.min_version && **v <= tls.max_version)
        .map(|v| format!("TLSv{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a load balancer of this spec cannot do in NGINX open source.
fn unsupported(ctx: &RenderCtx<'_>, lb: &LbPlan) -> Vec<Diagnostic> {
    let site = ctx.site;
    let mut diags = Vec::new();
    if site
        .spec
        .load_balancer
        .as_ref()
        .is_some_and(|l| l.stats.is_some())
    {
        diags.push(spec_error(
            site,
            "/load_balancer/stats",
            Code::Unsupported,
            "NGINX open source has no statistics page for stream upstreams".into(),
            "remove `stats`, or use `kind: haproxy`",
        ));
    }
    if lb.terminate_tls && lb.proxy_protocol && site.spec.engine == Engine::Mosquitto {
        diags.push(spec_error(
            site,
            "/load_balancer/proxy_protocol",
            Code::Unsupported,
            "Mosquitto 2.0 does not read the PROXY protocol".into(),
            "use TLS passthrough so the broker sees the client certificate, or EMQX",
        ));
    }
    diags
}

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let Some(lb) = &ctx.derived.lb else {
        return Ok(Vec::new());
    };
    let diags = unsupported(ctx, lb);
    if !diags.is_empty() {
        return Err(diags);
    }
    let site = ctx.site;
    let servers = super::lb_servers(ctx);
    let frontends: Vec<_> = lb
        .frontends
        .iter()
        .map(|(port, l)| {
            let tls = l.tls.as_ref().filter(|_| lb.terminate_tls);
            json!({
                "port": port,
                "name": l.name,
                "upstream_port": l.port,
                "terminate": tls.is_some(),
                "protocols": tls.map(protocols),
                "client_cert": tls.is_some_and(|t| t.require_client_cert),
            })
        })
        .collect();
    let l = ctx.layout.host("lb");
    let hc = &lb.health_check;
    let context = json!({
        "site": site.name(),
        "lb": lb,
        "servers": servers,
        "frontends": frontends,
        "proxy_protocol": lb.proxy_protocol,
        "worker_connections": (lb.maxconn * 2).max(1024),
        "max_fails": hc.fall,
        "fail_timeout_s": hc.interval_s(),
        "cafile": l.nginx("certs/ca.pem"),
        "server_pem": l.nginx("certs/frontend.pem"),
    });
    Ok(vec![Artifact::config(
        "nginx/nginx.conf",
        "nginx/nginx.conf.j2",
        Comment::Hash,
        context,
    )
    .installed_at(ctx.installed.nginx("nginx.conf"), &["lb"])])
}
