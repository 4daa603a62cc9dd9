//! keepalived on two load-balancer hosts sharing `cluster.vip` (VRRP):
//! unicast adverts between the two, both BACKUP with `nopreempt` (the
//! virtual IP moves only when its holder's load balancer stops), a track
//! script on the load-balancer service, and PASS authentication whose
//! password stays in a root-only file (render::secrets).

use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::model::LbKind;

/// How often the track script runs, seconds, and how many failures in a
/// row give the virtual IP up (also in the runbook).
pub const TRACK_INTERVAL_S: u64 = 2;
pub const TRACK_FALL: u32 = 2;

/// The VRRP virtual router id when the spec sets none.
pub const DEFAULT_ROUTER_ID: u8 = 51;

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let Some(lb) = &site.spec.load_balancer else {
        return Ok(Vec::new());
    };
    let (Some(vrrp), Some(vip)) = (
        &lb.vrrp,
        site.spec.cluster.as_ref().and_then(|c| c.vip.as_ref()),
    ) else {
        return Ok(Vec::new());
    };
    // The first host is preferred when both start together.
    let hosts: Vec<_> = vrrp
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let peer = &vrrp.hosts[1 - i.min(1)];
            json!({
                "name": h.name.as_str(),
                "address": h.address.0,
                "peer": peer.address.0,
                "priority": 101 - i,
            })
        })
        .collect();
    let service = match lb.kind {
        LbKind::Haproxy => "haproxy.service",
        LbKind::Nginx => "nginx.service",
    };
    let l = ctx.layout.host("lb");
    let context = json!({
        "site": site.name(),
        "service": service,
        "track_interval_s": TRACK_INTERVAL_S,
        "track_fall": TRACK_FALL,
        "router_name": format!("mqtt_{}", site.name()),
        "interface": vrrp.interface.as_str(),
        "router_id": vrrp.router_id.unwrap_or(DEFAULT_ROUTER_ID),
        "hosts": hosts,
        "vip": vip.0,
        "auth_file": l.secrets(crate::render::secrets::KEEPALIVED_AUTH_FILE),
    });
    Ok(vec![Artifact::config(
        "keepalived/keepalived.conf",
        "keepalived/keepalived.conf.j2",
        Comment::Hash,
        context,
    )
    .installed_at(
        ctx.installed.path("/etc/keepalived/keepalived.conf"),
        &["lb"],
    )])
}
