//! Backup and restore scripts: strict mode, shellcheck-clean, encrypted with
//! age before anything leaves the host, retention applied, no downtime (a
//! Mosquitto persistence save on SIGUSR1, EMQX's own export), and a restore
//! that checks what it restores before it touches the broker.

use crate::diag::Code;
use serde_json::json;

use crate::diag::Diagnostic;
use crate::render::{spec_error, Artifact, Comment, RenderCtx};

pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let site = ctx.site;
    let Some(b) = &site.spec.backup else {
        return Ok(Vec::new());
    };
    let recipient_env = match b.encrypt.as_ref().map(|e| &e.age_recipient) {
        Some(secret) => match &secret.env {
            Some(var) => Some(var.clone()),
            None => {
                return Err(vec![spec_error(
                    site,
                    "/backup/encrypt/age_recipient",
                    Code::Secret,
                    "the backup script reads the age recipient from an environment variable".into(),
                    "use `age_recipient: { env: BACKUP_AGE_RECIPIENT }`",
                )])
            }
        },
        None => None,
    };
    // In a test variant the scripts name the first node's directories.
    let l = &ctx.layout.host(&ctx.derived.nodes[0].name);
    let el = l.engine_layout();
    let context = json!({
        "site": site.name(),
        "engine": site.spec.engine.as_str(),
        "target": b.target,
        "s3": b.target.starts_with("s3://"),
        "retention_days": b.retention.secs().div_ceil(86_400),
        "recipient_env": recipient_env,
        "staging": l.backup_staging(),
        "conf_dir": l.path(el.conf_dir),
        "data_dir": l.data_dir(),
        "pid_file": l.pid_file(),
        "service": el.service,
        "persistence": ctx.derived.persistence.enabled,
        "nodes": ctx.derived.nodes.len(),
    });
    let nodes = ctx.node_names();
    Ok(vec![
        Artifact::config(
            "backup/backup.sh",
            "backup/backup.sh.j2",
            Comment::Shell,
            context.clone(),
        )
        .with_mode(0o750)
        .installed_at(
            ctx.installed.path("/usr/local/sbin/mqttforge-backup"),
            &nodes,
        ),
        Artifact::config(
            "backup/restore.sh",
            "backup/restore.sh.j2",
            Comment::Shell,
            context,
        )
        .with_mode(0o750)
        .installed_at(
            ctx.installed.path("/usr/local/sbin/mqttforge-restore"),
            &nodes,
        ),
    ])
}
