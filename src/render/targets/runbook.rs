//! `RUNBOOK.md`: the site's disaster-recovery runbook. It is built last,
//! from the other artifacts (where each file is installed, on which hosts),
//! the derived values (nodes, listeners, the load balancer's check) and the
//! install layout, so every host, path, port and service it names is the one
//! the other files use. Its verdicts on the recovery objectives come from
//! [`crate::spec::recovery`], the reasoning MQ-DR-004 reads, and its
//! checklist from [`crate::render::checklist`], the table `mqttforge
//! checklist` prints.

use serde_json::{json, Value};

use crate::diag::Code;
use crate::diag::Diagnostic;
use crate::pki::store::{CA_CERT, CA_KEY, CRL, DEVICES, SERVERS};
use crate::render::checklist::{self, Judge};
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::model::{Engine, LbKind, RedundancyMode, Secret};
use crate::spec::recovery::{self, human, rpo_gap, RpoGap, RtoStatus, StateKeeping};

pub const PATH: &str = "RUNBOOK.md";
const TEMPLATE: &str = "runbook/RUNBOOK.md.j2";
/// The checklist table alone (also printed by `mqttforge checklist --format markdown`).
pub const CHECKLIST_TEMPLATE: &str = "runbook/checklist.md.j2";

/// The runbook, from the site and the artifacts every other target built.
pub fn artifact(ctx: &RenderCtx<'_>, others: &[Artifact]) -> Result<Artifact, Vec<Diagnostic>> {
    let rows = checklist_rows(ctx, others);
    let context = json!({
        "site": ctx.site.name(),
        // Shown, never run as is: a line hazard (or NUL) in the spec's path is
        // shown escaped, in prose and in the commands.
        "spec": crate::render::templates::show_hazards(&ctx.opts.spec_name),
        "topology": topology(ctx),
        "files": files(others),
        "backup": backup(ctx),
        "pki": pki(ctx),
        "objectives": objectives(ctx),
        "secrets": secrets(ctx),
        "checklist": checklist_context(&rows),
        "obs": super::observability::context(ctx),
    });
    Ok(Artifact::config(PATH, TEMPLATE, Comment::Html, context))
}

/// The checklist of the site whose other artifacts are `others` (the
/// runbook among its files).
pub fn checklist_rows(ctx: &RenderCtx<'_>, others: &[Artifact]) -> Vec<checklist::Row> {
    let mut paths: Vec<String> = others.iter().map(|a| a.path.clone()).collect();
    paths.push(PATH.to_string());
    paths.sort();
    checklist::rows(&Judge {
        site: ctx.site,
        derived: &ctx.derived,
        paths: &paths,
    })
}

/// The checklist rows as the template reads them.
pub fn checklist_context(rows: &[checklist::Row]) -> Value {
    json!(rows
        .iter()
        .map(|r| json!({
            "id": r.id,
            "area": r.area,
            "title": r.title,
            "status": r.status.as_str(),
            "generated": r.generated,
            "checked": r.checked,
            "proven": r.proven,
            "todo": r.todo,
        }))
        .collect::<Vec<_>>())
}

/// The checklist table alone, through the template `RUNBOOK.md` includes.
pub fn checklist_markdown(rows: &[checklist::Row]) -> Result<String, Vec<Diagnostic>> {
    let env = crate::render::templates::environment();
    let context = json!({ "checklist": checklist_context(rows) });
    env.get_template(CHECKLIST_TEMPLATE)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))))
        .map_err(|e| vec![Diagnostic::error(Code::Template, e.to_string())])
}

fn topology(ctx: &RenderCtx<'_>) -> Value {
    let s = &ctx.site.spec;
    let l = &ctx.installed;
    let el = l.engine_layout();
    let nodes: Vec<Value> = ctx
        .derived
        .nodes
        .iter()
        .map(|n| json!({"name": n.name, "address": n.address, "dns_names": n.dns_names}))
        .collect();
    let listeners: Vec<Value> = ctx
        .derived
        .listeners
        .iter()
        .map(|lp| {
            let tls = match &lp.tls {
                None => "plaintext".to_string(),
                Some(t) if t.require_client_cert => format!("TLS {}+, client certificate required", t.min_version),
                Some(t) => format!("TLS {}+", t.min_version),
            };
            json!({
                "name": lp.name,
                "port": lp.port,
                "bind": lp.bind.clone().unwrap_or_else(|| "all interfaces".into()),
                "security": tls,
                "use": if lp.device_facing { "devices" } else if lp.loopback { "local tools" } else { "load balancer health check" },
                "max_connections": lp.max_connections,
            })
        })
        .collect();
    let lb = ctx.derived.lb.as_ref().map(|lb| {
        let lbl = ctx.installed.host("lb");
        let spec_lb = s.load_balancer.as_ref();
        json!({
            "host": "lb",
            "dns_name": spec_lb.and_then(|b| b.dns_name.as_ref()).map(|d| d.0.clone()),
            "frontends": lb.frontends.iter().map(|(port, lp)| json!({"port": port, "listener": lp.name})).collect::<Vec<_>>(),
            "tls": if lb.terminate_tls { "terminated at the load balancer" } else { "passed through to the brokers" },
            "check_listener": lb.health_check.listener,
            "check_port": lb.health_check.port,
            "interval": human(lb.health_check.inter_ms.div_ceil(1000)),
            "fall": lb.health_check.fall,
            "rise": lb.health_check.rise,
            "down_after": human(lb.failover_s()),
            "stats": lb.stats_port.map(|p| format!("{}:{p}", lb.stats_bind)),
            "kind": match lb.kind { LbKind::Haproxy => "HAProxy", LbKind::Nginx => "NGINX" },
            "passive": lb.kind == LbKind::Nginx,
            "config": match lb.kind { LbKind::Haproxy => lbl.haproxy("haproxy.cfg"), LbKind::Nginx => lbl.nginx("nginx.conf") },
            "socket": (lb.kind == LbKind::Haproxy).then(|| lbl.haproxy_socket()),
            "service": match lb.kind { LbKind::Haproxy => "haproxy.service", LbKind::Nginx => "nginx.service" },
            "user": match lb.kind { LbKind::Haproxy => "haproxy", LbKind::Nginx => "www-data" },
            "fail_timeout": human(lb.health_check.interval_s()),
            "vrrp": spec_lb.and_then(|b| b.vrrp.as_ref()).zip(s.cluster.as_ref().and_then(|c| c.vip.as_ref())).map(|(v, vip)| json!({
                "vip": vip.0,
                "interface": v.interface.as_str(),
                "hosts": v.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
                "track_fall": super::keepalived::TRACK_FALL,
                "track_interval": human(super::keepalived::TRACK_INTERVAL_S),
            })),
        })
    });
    let cluster = s.cluster.as_ref();
    let redundancy = match (s.engine, cluster.and_then(|c| c.mode)) {
        (Engine::Emqx, _) if s.nodes.len() > 1 => "an EMQX cluster: every node serves clients and replicates sessions and retained messages",
        (_, Some(RedundancyMode::ActiveStandby)) => "active/standby: the first node serves, the others stand by behind the load balancer",
        (_, Some(_)) => "bridged nodes",
        _ if s.nodes.len() == 1 => "a single node",
        _ => "independent nodes",
    };
    let first = &ctx.derived.nodes[0].name;
    json!({
        "engine": s.engine.as_str(),
        "environment": format!("{:?}", s.environment).to_lowercase(),
        "redundancy": redundancy,
        "nodes": nodes,
        "first": first,
        "others": ctx.derived.nodes.iter().skip(1).map(|n| n.name.clone()).collect::<Vec<_>>(),
        "vip": cluster.and_then(|c| c.vip.as_ref()).map(|v| v.0.clone()),
        "listeners": listeners,
        "lb": lb,
        "service": el.service,
        "user": el.user,
        "conf_dir": l.path(el.conf_dir),
        "certs_dir": l.certs(""),
        "ca": l.certs(CA_CERT),
        "server_cert": l.certs(&format!("{first}.pem")),
        "server_key": l.certs(&format!("{first}.key")),
        "data_dir": l.data_dir(),
        "log_file": l.log_file(),
        "pid_file": l.pid_file(),
        "secrets_dir": l.secrets(""),
        "staging": l.backup_staging(),
        "before_restore": format!("{}/before-restore.tar.gz", l.backup_staging()),
        "check_cmd": match s.engine {
            Engine::Emqx => "emqx ctl status".to_string(),
            Engine::Mosquitto | Engine::Rumqttd => format!("systemctl is-active {}", el.service),
        },
    })
}

fn files(others: &[Artifact]) -> Value {
    json!(others
        .iter()
        .filter_map(|a| a.install.as_ref().map(|i| json!({
            "path": a.path,
            "install": i,
            "hosts": a.hosts.join(", "),
        })))
        .collect::<Vec<_>>())
}

fn backup(ctx: &RenderCtx<'_>) -> Value {
    let Some(b) = &ctx.site.spec.backup else {
        return Value::Null;
    };
    let every_s = backup_every_s(ctx).unwrap_or_default();
    json!({
        "schedule": format!("{:?}", b.schedule).to_lowercase(),
        "every": human(every_s),
        "every_s": every_s,
        "retention": human(b.retention.secs()),
        "target": b.target,
        "encrypted": b.encrypt.is_some(),
        "recipient_env": b.encrypt.as_ref().and_then(|e| e.age_recipient.env.clone()),
        "backup_cmd": ctx.installed.path("/usr/local/sbin/mqttforge-backup"),
        "restore_cmd": ctx.installed.path("/usr/local/sbin/mqttforge-restore"),
        "example": format!("{}-20260101T020000Z.tar.gz{}", ctx.site.name(), if b.encrypt.is_some() { ".age" } else { "" }),
        "s3": b.target.starts_with("s3://"),
    })
}

/// Every secret the spec references, by what it protects.
fn secrets(ctx: &RenderCtx<'_>) -> Value {
    let s = &ctx.site.spec;
    let mut out: Vec<(String, &Secret)> = Vec::new();
    for u in &s.users {
        if let Some(p) = &u.password {
            out.push((format!("password of user {}", u.name.as_str()), p));
        }
    }
    if let Some(st) = s.load_balancer.as_ref().and_then(|lb| lb.stats.as_ref()) {
        out.push(("HAProxy stats password".into(), &st.password));
    }
    if let Some(e) = &s.emqx {
        out.push(("EMQX node cookie".into(), &e.cookie));
        out.push(("EMQX dashboard password".into(), &e.dashboard_password));
    }
    if let Some(e) = s.backup.as_ref().and_then(|b| b.encrypt.as_ref()) {
        out.push((
            "backup encryption recipient (with its identity)".into(),
            &e.age_recipient,
        ));
    }
    json!(out
        .into_iter()
        .map(|(what, secret)| {
            let reference = match (&secret.env, &secret.file) {
                (Some(env), _) => format!("env {env}"),
                (None, Some(file)) => format!("file {file}"),
                _ => "inline in the spec".to_string(),
            };
            json!({"what": what, "reference": reference})
        })
        .collect::<Vec<_>>())
}

fn pki(ctx: &RenderCtx<'_>) -> Value {
    let Some(p) = &ctx.site.spec.pki else {
        return Value::Null;
    };
    json!({
        "dir": p.dir.clone().unwrap_or_else(|| "pki".into()),
        "ca_cn": p.ca.cn,
        "ca_cert": CA_CERT,
        "ca_key": CA_KEY,
        "crl": CRL,
        "servers": SERVERS,
        "devices": DEVICES,
        "device_validity": p.device_validity.map(|d| human(d.secs())).unwrap_or_else(|| "365d".into()),
        "server_validity": p.server_validity.map(|d| human(d.secs())).unwrap_or_else(|| "365d".into()),
    })
}

/// How often backups run, in seconds.
fn backup_every_s(ctx: &RenderCtx<'_>) -> Option<u64> {
    ctx.site
        .spec
        .backup
        .as_ref()
        .map(|b| recovery::backup_every_s(b.schedule))
}

/// Every declared objective with the verdicts of [`crate::spec::recovery`].
pub fn objectives(ctx: &RenderCtx<'_>) -> Value {
    let Some(dr) = &ctx.site.spec.dr else {
        return json!([]);
    };
    let state = StateKeeping::of_site(ctx.site, &ctx.derived);
    let mut out = Vec::new();
    for (scenario, title) in recovery::SCENARIOS {
        let Some(o) = dr.objective(scenario) else {
            continue;
        };
        let rpo_s = o.rpo.millis().div_ceil(1000);
        let rto_s = o.rto.millis().div_ceil(1000);
        let gap = rpo_gap(&state, scenario, rpo_s);
        let rto = recovery::rto_verdict(ctx.site, &ctx.derived, scenario, rto_s);
        out.push(json!({
            "scenario": scenario,
            "title": title,
            "rto": human(rto_s),
            "rpo": human(rpo_s),
            "rpo_met": gap.is_none(),
            "rpo_why": match gap {
                Some(g) => g.message(&state, scenario, rpo_s),
                None => RpoGap::why_met(&state, rpo_s),
            },
            "rpo_fix": gap.map(|g| g.help(&state, rpo_s)),
            "rto_status": match rto.status {
                RtoStatus::Met => "met",
                RtoStatus::Manual => "manual",
                RtoStatus::NotMet => "not met",
            },
            "rto_why": rto.why,
            "rto_fix": rto.fix,
            "rto_rule": rto.rule,
            "rto_ignored": rto.rule.and_then(|r| ctx.site.spec.lint.ignore.get(r)).map(|entry| match entry.until() {
                // The date as written, not judged: the same spec renders
                // the same bytes on every day; lint reports the expiry.
                Some(until) => format!("{} (until {until})", entry.reason()),
                None => entry.reason().to_string(),
            }),
        }));
    }
    json!(out)
}
