//! Host tuning: sysctls scaled to the declared connections, the broker
//! service's open-file limit, and the tcp_bbr module when bbr is used.

use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::secrets::{EMQX_ENV_FILE, HAPROXY_ENV_FILE, HAPROXY_STATS_VAR, SECRETS_DROPIN};
use crate::render::{Artifact, Comment, RenderCtx};

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let d = &ctx.derived;
    let el = ctx.layout.engine_layout();
    let connections: u64 = d.listeners.iter().map(|l| l.max_connections).sum();
    let mut out = Vec::new();
    if ctx.site.spec.os.as_ref().is_some_and(|o| o.sysctl) {
        out.push(
            Artifact::config(
                "os/sysctl.d/99-mqttforge.conf",
                "os/sysctl.conf.j2",
                Comment::Hash,
                json!({"sysctl": d.sysctl, "clients_per_node": d.clients_per_node}),
            )
            .installed_at(
                ctx.installed.path("/etc/sysctl.d/99-mqttforge.conf"),
                &ctx.node_names(),
            ),
        );
    }
    out.push(
        Artifact::config(
            format!("os/systemd/{}.d/limits.conf", el.service),
            "os/limits.conf.j2",
            Comment::Hash,
            json!({"nofile": d.nofile, "connections": connections, "service": el.service}),
        )
        .installed_at(
            ctx.installed.systemd_dropin("limits.conf"),
            &ctx.node_names(),
        ),
    );
    out.extend(secrets_dropins(ctx));
    if d.bbr {
        out.push(
            Artifact::config(
                "os/modules-load.d/mqttforge.conf",
                "os/modules-load.conf.j2",
                Comment::Hash,
                json!({}),
            )
            .installed_at(
                ctx.installed.path("/etc/modules-load.d/mqttforge.conf"),
                &ctx.node_names(),
            ),
        );
    }
    Ok(out)
}

/// The drop-ins that hand EMQX and HAProxy their environment files (the
/// files themselves are secrets, rendered by `render::secrets`).
fn secrets_dropins(ctx: &RenderCtx<'_>) -> Vec<Artifact> {
    let mut out = Vec::new();
    let dropin = |service: &str, what: &str, env_file: &str, hosts: &[String]| {
        Artifact::config(
            format!("os/systemd/{service}.d/{SECRETS_DROPIN}"),
            "os/secrets-dropin.conf.j2",
            Comment::Hash,
            json!({"service": service, "what": what, "env_file": ctx.installed.secrets(env_file)}),
        )
        .installed_at(ctx.installed.service_dropin(service, SECRETS_DROPIN), hosts)
    };
    if ctx.site.spec.emqx.is_some() {
        out.push(dropin(
            ctx.layout.engine_layout().service,
            "EMQX_NODE__COOKIE, EMQX_DASHBOARD__DEFAULT_PASSWORD",
            EMQX_ENV_FILE,
            &ctx.node_names(),
        ));
    }
    let stats = ctx
        .site
        .spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.stats.as_ref());
    if stats.is_some() {
        out.push(dropin(
            "haproxy.service",
            HAPROXY_STATS_VAR,
            HAPROXY_ENV_FILE,
            &["lb".to_string()],
        ));
    }
    out
}
