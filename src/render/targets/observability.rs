//! Traces and logs: what each engine can export itself for
//! `monitoring.tracing`, and the log shipper rendered for `monitoring.logs`.
//! Two tables, read by the broker templates, the runbook, the checklist and
//! lint rule MQ-OBS-006.
//!
//! Traces. No engine mqttforge targets exports traces itself:
//! - EMQX 5.8.9 open source (docs/emqx-target.md; emqx/emqx tag v5.8.9,
//!   commit a8319fe2390169e1f2483e3ec80dd01a6cdb233d): OpenTelemetry
//!   (traces, logs and metrics over OTLP) is the `emqx_opentelemetry`
//!   application, an Enterprise one from 5.8 on: `{emqx_otel_schema, ee}` in
//!   `MERGED_CONFIGS` of apps/emqx_conf/src/emqx_conf_schema.erl (the
//!   `opentelemetry` root exists only when `emqx_release:edition()` is ee),
//!   `:emqx_opentelemetry` in `enterprise_umbrella_apps` of mix.exs,
//!   `is_community_umbrella_app("apps/emqx_opentelemetry") -> false` in
//!   rebar.config.erl, `ee_business_apps` in
//!   apps/emqx_machine/priv/reboot_lists.eterm, and the app carries BSL.txt.
//!   The 5.8 key table (src/formats/emqx/emqx-5.8.keys) has no
//!   `opentelemetry` key; other-releases.keys lists it for 5.7.2 and e5.8.9.
//! - Mosquitto 2: no tracing of any kind (its `$SYS` topics and its log only).
//! - rumqttd: no OpenTelemetry exporter.
//!
//! Logs. The shipper is rsyslog (Debian's `rsyslog`), which reads the
//! broker's log file (imfile) and forwards it as RFC 5424 syslog (omfwd);
//! `rsyslogd -N1` checks the rendered file in the tests. Loki's push API is
//! HTTP: no shipper Debian packages speaks it (Debian's rsyslog has no
//! omhttp; promtail, Grafana Alloy, Fluent Bit and Vector are not Debian
//! packages), so nothing here could check such a file, and none is
//! rendered: the runbook says so and what to do instead.

use serde_json::{json, Value};

use crate::diag::Diagnostic;
use crate::render::{Artifact, Comment, RenderCtx};
use crate::spec::model::Engine;

/// What an engine does with traces: nothing, and why (one line of prose,
/// ending without a full stop).
pub struct TraceExport {
    pub engine: Engine,
    pub why_none: &'static str,
}

pub const TRACES: &[TraceExport] = &[
    TraceExport {
        engine: Engine::Emqx,
        why_none: "EMQX 5.8 open source has no OpenTelemetry: its exporter of traces, logs and metrics (the opentelemetry configuration root) is EMQX Enterprise only from 5.8 on",
    },
    TraceExport {
        engine: Engine::Mosquitto,
        why_none: "Mosquitto has no tracing of any kind: it exports no OpenTelemetry traces, logs or metrics",
    },
    TraceExport {
        engine: Engine::Rumqttd,
        why_none: "rumqttd has no OpenTelemetry exporter",
    },
];

/// Why the engine exports no traces.
pub fn why_no_traces(engine: Engine) -> &'static str {
    TRACES
        .iter()
        .find(|t| t.engine == engine)
        .map(|t| t.why_none)
        .unwrap_or("this engine exports no traces")
}

/// A `monitoring.logs` backend, by URL scheme.
pub struct LogBackend {
    pub scheme: &'static str,
    pub name: &'static str,
    /// omfwd's protocol when rsyslog ships to it; None: nothing is rendered.
    pub rsyslog_protocol: Option<&'static str>,
    pub default_port: u16,
    /// Why nothing is rendered for it, and what to do instead (when
    /// `rsyslog_protocol` is None).
    pub not_rendered: &'static str,
}

const NO_LOKI_SHIPPER: &str = "Loki takes logs over HTTP (its push API) and no shipper Debian packages speaks it (Debian's rsyslog has no omhttp; promtail, Grafana Alloy, Fluent Bit and Vector are not Debian packages), so no file for it could be checked and none is rendered. Run a syslog receiver in front of Loki (the loki.source.syslog component of Grafana Alloy, or a syslog job of promtail) and declare it as logs: syslog://RECEIVER:PORT; mqttforge then renders the rsyslog configuration that ships to it, checked by rsyslogd -N1";

pub const LOG_BACKENDS: &[LogBackend] = &[
    LogBackend {
        scheme: "syslog",
        name: "syslog over TCP",
        rsyslog_protocol: Some("tcp"),
        default_port: 514,
        not_rendered: "",
    },
    LogBackend {
        scheme: "syslog+tcp",
        name: "syslog over TCP",
        rsyslog_protocol: Some("tcp"),
        default_port: 514,
        not_rendered: "",
    },
    LogBackend {
        scheme: "syslog+udp",
        name: "syslog over UDP",
        rsyslog_protocol: Some("udp"),
        default_port: 514,
        not_rendered: "",
    },
    LogBackend {
        scheme: "loki",
        name: "Grafana Loki",
        rsyslog_protocol: None,
        default_port: 3100,
        not_rendered: NO_LOKI_SHIPPER,
    },
];

pub const UNKNOWN_BACKEND: &str = "mqttforge knows no shipper for this scheme (it renders one for syslog://, syslog+tcp:// and syslog+udp://); ship the broker's log yourself";

/// Where the rendered shipper configuration lives in the tree.
pub const RSYSLOG_PATH: &str = "logs/rsyslog.conf";

/// A URL's scheme, host (IPv6 without brackets) and port.
fn split_url(url: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    Some((scheme, host, port))
}

pub fn log_backend(url: &str) -> Option<&'static LogBackend> {
    let (scheme, _, _) = split_url(url)?;
    LOG_BACKENDS.iter().find(|b| b.scheme == scheme)
}

/// What the broker templates and the runbook say about traces and logs.
pub fn context(ctx: &RenderCtx<'_>) -> Value {
    let m = ctx.site.spec.monitoring.as_ref();
    let engine = ctx.site.spec.engine;
    let tracing = m
        .and_then(|m| m.tracing.as_ref())
        .map(|u| json!({"url": u.0, "why_none": why_no_traces(engine)}));
    let logs = m.and_then(|m| m.logs.as_ref()).map(|u| {
        let backend = log_backend(&u.0);
        let shipped = backend.is_some_and(|b| b.rsyslog_protocol.is_some());
        json!({
            "url": u.0,
            "backend": backend.map(|b| b.name).unwrap_or("an unknown backend"),
            "file": shipped.then_some(RSYSLOG_PATH),
            "install": shipped.then(|| ctx.installed.path(RSYSLOG_INSTALL)),
            "not_rendered": match backend {
                Some(b) if !shipped => b.not_rendered,
                None => UNKNOWN_BACKEND,
                _ => "",
            },
        })
    });
    json!({"tracing": tracing, "logs": logs, "log_file": ctx.layout.log_file()})
}

const RSYSLOG_INSTALL: &str = "/etc/rsyslog.d/60-mqttforge.conf";

/// The rsyslog configuration that ships the broker's log, when
/// `monitoring.logs` names a syslog receiver.
pub fn artifacts(ctx: &RenderCtx<'_>) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let Some(url) = ctx
        .site
        .spec
        .monitoring
        .as_ref()
        .and_then(|m| m.logs.as_ref())
    else {
        return Ok(Vec::new());
    };
    let Some((backend, (_, host, port))) = log_backend(&url.0).zip(split_url(&url.0)) else {
        return Ok(Vec::new());
    };
    let Some(protocol) = backend.rsyslog_protocol else {
        return Ok(Vec::new());
    };
    let engine = ctx.site.spec.engine.as_str();
    let hosts: Vec<&str> = ctx.derived.nodes.iter().map(|n| n.name.as_str()).collect();
    let context = json!({
        "site": ctx.site.name(),
        "url": url.0,
        "backend": backend.name,
        "host": host,
        "port": port.unwrap_or(backend.default_port).to_string(),
        "protocol": protocol,
        "log_file": ctx.layout.log_file(),
        "tag": format!("{engine}:"),
        "queue": format!("mqttforge-{engine}-ship"),
    });
    Ok(vec![Artifact::config(
        RSYSLOG_PATH,
        "logs/rsyslog.conf.j2",
        Comment::Hash,
        context,
    )
    .installed_at(ctx.installed.path(RSYSLOG_INSTALL), &hosts)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_host_and_port() {
        assert_eq!(
            split_url("syslog://logs.example:6514"),
            Some(("syslog", "logs.example", Some(6514)))
        );
        assert_eq!(
            split_url("syslog+udp://[2001:db8::1]:514"),
            Some(("syslog+udp", "2001:db8::1", Some(514)))
        );
        assert_eq!(
            split_url("loki://loki.example"),
            Some(("loki", "loki.example", None))
        );
        assert_eq!(split_url("loki://loki.example:99999"), None);
        assert_eq!(split_url("no scheme"), None);
    }

    #[test]
    fn every_engine_says_why_it_exports_no_traces() {
        for e in [Engine::Emqx, Engine::Mosquitto, Engine::Rumqttd] {
            assert!(TRACES.iter().any(|t| t.engine == e), "{e:?}");
            let why = why_no_traces(e);
            assert!(!why.ends_with('.') && !why.contains('\n'), "{why}");
        }
    }

    #[test]
    fn backends_by_scheme() {
        let b = log_backend("syslog+udp://h:1").unwrap();
        assert_eq!(b.rsyslog_protocol, Some("udp"));
        let loki = log_backend("loki://h:3100").unwrap();
        assert!(loki.rsyslog_protocol.is_none() && !loki.not_rendered.is_empty());
        assert!(log_backend("elasticsearch://h:9200").is_none());
        for b in LOG_BACKENDS {
            assert_eq!(
                b.rsyslog_protocol.is_none(),
                !b.not_rendered.is_empty(),
                "{}",
                b.scheme
            );
        }
    }
}
