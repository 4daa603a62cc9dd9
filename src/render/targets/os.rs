//! Host tuning: sysctls scaled to the declared connections, the broker
//! service's open-file limit, and the tcp_bbr module when bbr is used.

use serde_json::json;

use crate::diag::Diagnostic;
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
