//! What a deployment of the spec needs to start and be safe, beyond the
//! schema: the secrets an engine cannot start without, and settings the
//! engine cannot honour (refused here with the reason, never silently
//! dropped by a renderer).

use serde_json::Value;

use super::{list, str_of, Ctx};
use crate::diag::Code;

/// Every check of this module, run by [`super::CHECKS`].
pub fn run(ctx: &mut Ctx<'_>) {
    emqx_secrets(ctx);
    unsupported_redundancy(ctx);
    emqx_persistence(ctx);
    emqx_queue_thresholds(ctx);
    rumqttd_unproven_listeners(ctx);
}

/// rumqttd 0.20 has no topic authorization and mqttforge gives it no
/// passwords (its `auth` table would hold them in plaintext): a client that
/// reaches a listener reaches every topic. Beyond loopback, only a listener
/// that requires client certificates proves who connects.
fn rumqttd_unproven_listeners(ctx: &mut Ctx<'_>) {
    if str_of(ctx.json, "engine") != Some("rumqttd") {
        return;
    }
    for (ptr, l) in list(ctx.json, "listeners") {
        let loopback = l
            .get("bind")
            .and_then(Value::as_str)
            .and_then(|b| b.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        let certs = l.pointer("/tls/client_certs").and_then(Value::as_str) == Some("required");
        if !loopback && !certs {
            let span = ctx.spans.key(&format!("{ptr}/name"));
            ctx.error(
                Code::UnprovenIdentity,
                "rumqttd has no topic authorization: any client that reaches this listener may read and write every topic, and it is reachable beyond loopback without a client certificate".into(),
                span,
                "open to anyone who reaches it",
                "bind it to 127.0.0.1, or require client certificates: `tls: { client_certs: required }`",
            );
        }
    }
}

/// EMQX 5 refuses to start without `node.cookie` (the packaged default
/// `emqxsecretcookie` is public), and its dashboard keeps `admin`/`public`
/// unless told otherwise: both are spec secrets.
fn emqx_secrets(ctx: &mut Ctx<'_>) {
    let engine = str_of(ctx.json, "engine").unwrap_or("");
    let section = ctx.json.get("emqx");
    if engine == "emqx" && section.is_none() {
        let span = ctx.value_span("/engine");
        ctx.error(
            Code::MissingSecret,
            "an EMQX site needs its node cookie and dashboard password: EMQX 5 does not start without `node.cookie`, and the dashboard would keep admin/public".into(),
            span,
            "EMQX site",
            "add `emqx: { cookie: { env: EMQX_COOKIE }, dashboard_password: { env: EMQX_DASHBOARD_PASSWORD } }`; apply delivers them in a root-only environment file",
        );
    }
    if engine != "emqx" && section.is_some() {
        let span = ctx.spans.key("/emqx");
        ctx.error(
            Code::EngineMismatch,
            format!("`emqx` holds EMQX's secrets; this site's engine is {engine}"),
            span,
            "EMQX only",
            "remove the `emqx` section",
        );
    }
}

/// `cluster.mode: bridge` has no renderer: refused rather than accepted and
/// rendered as nothing.
fn unsupported_redundancy(ctx: &mut Ctx<'_>) {
    if ctx.json.pointer("/cluster/mode").and_then(Value::as_str) == Some("bridge") {
        let span = ctx.value_span("/cluster/mode");
        ctx.error(
            Code::Unsupported,
            "Mosquitto bridges are not rendered by mqttforge yet: the nodes would run unconnected".into(),
            span,
            "not rendered",
            "use `cluster.mode: active-standby` (a virtual IP and HAProxy backup server), or EMQX for a cluster",
        );
    }
}

/// `autosave` is Mosquitto's notion: EMQX writes persisted state as it
/// changes (what persistence means on EMQX is rendered, and stated, in
/// emqx.conf: retained messages on disc, durable sessions on a single node).
fn emqx_persistence(ctx: &mut Ctx<'_>) {
    if str_of(ctx.json, "engine") != Some("emqx") {
        return;
    }
    if ctx.json.pointer("/persistence/autosave").is_some() {
        let span = ctx.spans.key("/persistence/autosave");
        ctx.error(
            Code::EngineMismatch,
            "`persistence.autosave` is Mosquitto's save interval; EMQX writes persisted state as it changes".into(),
            span,
            "Mosquitto only",
            "remove `autosave`",
        );
    }
}

/// EMQX 5.8 exports no gauge of queued messages (its
/// `emqx_vm_process_messages_in_queues` counts Erlang mailboxes): its queue
/// alert fires on messages dropped because a client's queue was full, so
/// queue-length thresholds would be silently unused.
fn emqx_queue_thresholds(ctx: &mut Ctx<'_>) {
    if str_of(ctx.json, "engine") != Some("emqx") {
        return;
    }
    for key in ["queued_warning", "queued_critical"] {
        let pointer = format!("/monitoring/alerts/{key}");
        if ctx.json.pointer(&pointer).is_some() {
            let span = ctx.spans.key(&pointer);
            ctx.error(
                Code::EngineMismatch,
                format!("`{key}` cannot be watched on EMQX: EMQX 5.8 exports no gauge of queued messages"),
                span,
                "no such metric",
                "remove it: EMQX sites get an alert on messages dropped because a client's queue (`limits.max_queued`) was full",
            );
        }
    }
}
