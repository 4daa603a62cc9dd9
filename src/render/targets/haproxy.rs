//! HAProxy in front of the brokers: TCP mode, leastconn, timeouts from the
//! keepalive, an MQTT health check whose CONNECT is encoded by code, TLS
//! passthrough or termination, stats on loopback with credentials by
//! reference.

use crate::diag::Code;
use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::{spec_error, Artifact, Comment, RenderCtx};
use crate::spec::model::Engine;

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let (Some(spec_lb), Some(lb)) = (&site.spec.load_balancer, &ctx.derived.lb) else {
        return Ok(Vec::new());
    };
    let mut diags = Vec::new();
    // The password reaches HAProxy's environment from a root-only file
    // (render::secrets): any secret reference works.
    let stats = spec_lb.stats.as_ref().map(|st| {
        json!({
            "port": lb.stats_port,
            "bind": lb.stats_bind,
            "user": st.user.as_str(),
            "password_ref": format!("${{{}}}", crate::render::secrets::HAPROXY_STATS_VAR),
        })
    });
    // A broker whose client listener requires certificates and no
    // certificate-free check listener: the check presents its own certificate.
    let l = ctx.layout.host("lb");
    let check_cert = lb
        .health_check
        .client_cert
        .then(|| l.haproxy("certs/healthcheck.pem"));
    if lb.terminate_tls && site.spec.engine == Engine::Mosquitto && lb.proxy_protocol {
        diags.push(spec_error(
            site,
            "/load_balancer/proxy_protocol",
            Code::Unsupported,
            "Mosquitto 2.0 does not read the PROXY protocol".into(),
            "use TLS passthrough so the broker sees the client certificate, or EMQX",
        ));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let servers = super::lb_servers(ctx);
    let context = json!({
        "site": site.name(),
        "lb": lb,
        "servers": servers,
        "socket": l.haproxy_socket(),
        "stats": stats,
        "check_cert": check_cert,
        "cafile": l.haproxy("certs/ca.pem"),
        "server_pem": l.haproxy("certs/frontend.pem"),
    });
    Ok(vec![Artifact::config(
        "haproxy/haproxy.cfg",
        "haproxy/haproxy.cfg.j2",
        Comment::Hash,
        context,
    )
    .installed_at(ctx.installed.haproxy("haproxy.cfg"), &["lb"])])
}
