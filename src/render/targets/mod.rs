//! The artifact registry: which targets a site gets, and the files each
//! target renders. One module per target. Every site also gets
//! [`runbook`], which is not in [`TARGETS`]: it describes the files the
//! targets render, so `render` builds it from them, last.

pub mod access;
mod backup;
pub(crate) mod emqx;
mod firmware;
mod grafana;
mod haproxy;
pub(crate) mod keepalived;
mod mosquitto;
mod nginx;
pub mod observability;
mod os;
mod prometheus;
pub(crate) mod rumqttd;
pub mod runbook;

use super::{Artifact, RenderCtx};
use crate::diag::Diagnostic;
use crate::spec::model::{Engine, LbKind};
use crate::spec::Site;

/// The load balancer's servers, one per node, in node order; in an
/// active-standby cluster every node but the first is a backup. HAProxy and
/// NGINX render the same list.
fn lb_servers(ctx: &RenderCtx<'_>) -> Vec<serde_json::Value> {
    let standby = ctx.site.spec.cluster.as_ref().and_then(|c| c.mode)
        == Some(crate::spec::model::RedundancyMode::ActiveStandby);
    ctx.derived
        .nodes
        .iter()
        .map(|n| serde_json::json!({"name": n.name, "address": n.address, "backup": standby && n.index > 0}))
        .collect()
}

pub struct Target {
    pub name: &'static str,
    pub applies: fn(&Site) -> bool,
    pub artifacts: fn(&RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>>,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "mosquitto",
        applies: |s| s.spec.engine == Engine::Mosquitto,
        artifacts: mosquitto::artifacts,
    },
    Target {
        name: "emqx",
        applies: |s| s.spec.engine == Engine::Emqx,
        artifacts: emqx::artifacts,
    },
    Target {
        name: "rumqttd",
        applies: |s| s.spec.engine == Engine::Rumqttd,
        artifacts: rumqttd::artifacts,
    },
    Target {
        name: "haproxy",
        applies: |s| {
            s.spec
                .load_balancer
                .as_ref()
                .is_some_and(|lb| lb.kind == LbKind::Haproxy)
        },
        artifacts: haproxy::artifacts,
    },
    Target {
        name: "nginx",
        applies: |s| {
            s.spec
                .load_balancer
                .as_ref()
                .is_some_and(|lb| lb.kind == LbKind::Nginx)
        },
        artifacts: nginx::artifacts,
    },
    Target {
        name: "keepalived",
        applies: |s| {
            s.spec
                .load_balancer
                .as_ref()
                .is_some_and(|lb| lb.vrrp.is_some())
        },
        artifacts: keepalived::artifacts,
    },
    Target {
        name: "os",
        applies: |s| s.spec.os.is_some(),
        artifacts: os::artifacts,
    },
    Target {
        name: "prometheus",
        applies: |s| {
            s.spec
                .monitoring
                .as_ref()
                .is_some_and(|m| m.prometheus.is_some())
        },
        artifacts: prometheus::artifacts,
    },
    Target {
        name: "grafana",
        applies: |s| {
            s.spec
                .monitoring
                .as_ref()
                .is_some_and(|m| m.dashboards.is_some() && m.prometheus.is_some())
        },
        artifacts: grafana::artifacts,
    },
    Target {
        name: "logs",
        applies: |s| s.spec.monitoring.as_ref().is_some_and(|m| m.logs.is_some()),
        artifacts: observability::artifacts,
    },
    Target {
        name: "backup",
        applies: |s| s.spec.backup.is_some(),
        artifacts: backup::artifacts,
    },
    Target {
        name: "firmware",
        applies: |s| s.spec.devices.iter().any(|d| d.firmware.is_some()),
        artifacts: firmware::artifacts,
    },
];
