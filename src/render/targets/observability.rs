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
//! Logs. For a syslog receiver the shipper is rsyslog (Debian's `rsyslog`),
//! which reads the broker's log file (imfile) and forwards it as RFC 5424
//! syslog (omfwd); `rsyslogd -N1` checks the rendered file in the tests.
//! For Loki (`loki://`, `lokis://` for HTTPS) the shipper is Grafana Alloy
//! (promtail's successor; promtail is end-of-life): `local.file_match`
//! finds the same log file, `loki.source.file` tails it and `loki.write`
//! pushes to `<url>/loki/api/v1/push`. No Debian package has Alloy (nor
//! promtail, Fluent Bit or Vector; Debian's rsyslog has no omhttp), so that
//! file is not checked by Alloy itself: tests/alloy.rs checks its structure
//! only, and the file, the runbook and the README say so. Component names
//! and arguments: grafana/alloy at commit
//! 66ebea856dffb242f921775e9552a133f60dc5c1,
//! docs/sources/reference/components/local/local.file_match.md,
//! docs/sources/reference/components/loki/loki.source.file.md,
//! docs/sources/reference/components/loki/loki.write.md and
//! docs/sources/reference/stdlib/constants.md (`constants.hostname`); the
//! install path /etc/alloy/config.alloy is `CONFIG_FILE` of
//! packaging/environment-file there (Grafana's own Debian package).

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
    /// omfwd's protocol when rsyslog ships to it.
    pub rsyslog_protocol: Option<&'static str>,
    /// The HTTP scheme of Loki's push API when Grafana Alloy ships to it.
    pub loki_http: Option<&'static str>,
    pub default_port: u16,
}

/// The program that ships a broker's log to a backend, and its file.
pub struct Shipper {
    pub name: &'static str,
    /// The rendered configuration's tree path.
    pub file: &'static str,
    /// Where it is installed on every broker node.
    pub install: &'static str,
    /// Whether the tests check the file with the program itself.
    pub checked: bool,
}

pub const RSYSLOG: Shipper = Shipper {
    name: "rsyslog",
    file: RSYSLOG_PATH,
    install: "/etc/rsyslog.d/60-mqttforge.conf",
    checked: true,
};

pub const ALLOY: Shipper = Shipper {
    name: "Grafana Alloy",
    file: ALLOY_PATH,
    // `CONFIG_FILE` of Grafana's Alloy package (packaging/environment-file).
    install: "/etc/alloy/config.alloy",
    checked: false,
};

impl LogBackend {
    /// The program that ships to it, if mqttforge renders one.
    pub fn shipper(&self) -> Option<&'static Shipper> {
        if self.rsyslog_protocol.is_some() {
            Some(&RSYSLOG)
        } else if self.loki_http.is_some() {
            Some(&ALLOY)
        } else {
            None
        }
    }
}

pub const LOG_BACKENDS: &[LogBackend] = &[
    LogBackend {
        scheme: "syslog",
        name: "syslog over TCP",
        rsyslog_protocol: Some("tcp"),
        loki_http: None,
        default_port: 514,
    },
    LogBackend {
        scheme: "syslog+tcp",
        name: "syslog over TCP",
        rsyslog_protocol: Some("tcp"),
        loki_http: None,
        default_port: 514,
    },
    LogBackend {
        scheme: "syslog+udp",
        name: "syslog over UDP",
        rsyslog_protocol: Some("udp"),
        loki_http: None,
        default_port: 514,
    },
    LogBackend {
        scheme: "loki",
        name: "Grafana Loki",
        rsyslog_protocol: None,
        loki_http: Some("http"),
        default_port: 3100,
    },
    LogBackend {
        scheme: "lokis",
        name: "Grafana Loki over HTTPS",
        rsyslog_protocol: None,
        loki_http: Some("https"),
        default_port: 3100,
    },
];

/// What the runbook and the checklist say of the Alloy file: rendered, and
/// checked by nothing that runs Alloy.
pub const ALLOY_UNCHECKED: &str = "no Debian package has Grafana Alloy (nor promtail, Fluent Bit or Vector, and Debian's rsyslog has no omhttp), so Alloy itself never checks this file in mqttforge's tests: they check its structure only (balanced braces, the three components, the push URL and the labels)";
/// What to do about it.
pub const ALLOY_CHECK: &str =
    "check it with Alloy from Grafana's package (alloy fmt, then alloy run) before relying on it";

pub const UNKNOWN_BACKEND: &str = "mqttforge knows no shipper for this scheme (it renders one for syslog://, syslog+tcp://, syslog+udp://, loki:// and lokis://); ship the broker's log yourself";

/// Where the rendered shipper configuration lives in the tree.
pub const RSYSLOG_PATH: &str = "logs/rsyslog.conf";
/// Where the rendered Grafana Alloy configuration lives in the tree.
pub const ALLOY_PATH: &str = "logs/config.alloy";

/// A URL's scheme, host (IPv6 without brackets) and port.
fn split_url(url: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, host, port) = crate::spec::checks::url_parts(url)?;
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
        let shipper = backend.and_then(LogBackend::shipper);
        json!({
            "url": u.0,
            "backend": backend.map(|b| b.name).unwrap_or("an unknown backend"),
            "file": shipper.map(|s| s.file),
            "install": shipper.map(|s| ctx.installed.path(s.install)),
            "shipper": shipper.map(|s| s.name),
            "checked": shipper.is_some_and(|s| s.checked),
            "push_url": push_url(&u.0),
            "unchecked": ALLOY_UNCHECKED,
            "check": ALLOY_CHECK,
            "not_rendered": if shipper.is_none() { UNKNOWN_BACKEND } else { "" },
        })
    });
    let broker_note = broker_note(
        m.and_then(|m| m.tracing.as_ref()).map(|u| u.0.as_str()),
        engine,
        m.and_then(|m| m.logs.as_ref()).map(|u| u.0.as_str()),
    );
    json!({"tracing": tracing, "logs": logs, "log_file": ctx.layout.log_file(), "broker_note": broker_note})
}

/// The comment lines each broker config carries about traces and logs
/// (the same words in emqx.conf, mosquitto.conf and rumqttd.toml; each
/// template writes them in its own comment syntax).
fn broker_note(tracing: Option<&str>, engine: Engine, logs: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(url) = tracing {
        lines.extend([
            format!("Traces: monitoring.tracing names the OTLP endpoint {url},"),
            "and nothing in this file sends to it:".to_string(),
            format!("{}.", why_no_traces(engine)),
            "Only clients and applications that trace themselves reach it (RUNBOOK.md, section 1)."
                .to_string(),
        ]);
    }
    if let Some(url) = logs {
        let backend = log_backend(url);
        match backend.and_then(LogBackend::shipper) {
            Some(shipper) => {
                lines.push(format!(
                    "Central logs: {} ({}) ships this node's log to {url}.",
                    shipper.file, shipper.name
                ));
                if !shipper.checked {
                    lines.push(format!(
                        "Not checked by {} itself (no Debian package has it): see RUNBOOK.md, section 1.",
                        shipper.name
                    ));
                }
            }
            None => lines.push(format!(
                "Central logs: nothing ships this node's log to {url} ({}): see RUNBOOK.md, section 1.",
                backend.map(|b| b.name).unwrap_or("an unknown backend")
            )),
        }
    }
    lines
}

/// Loki's push endpoint for a `loki://` or `lokis://` URL: the host, port
/// and path prefix kept, `/loki/api/v1/push` appended.
pub fn push_url(url: &str) -> Option<String> {
    let backend = log_backend(url)?;
    let http = backend.loki_http?;
    let (_, host, port) = split_url(url)?;
    let rest = url.split_once("://")?.1;
    let prefix = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let port = port.unwrap_or(backend.default_port);
    Some(format!(
        "{http}://{host}:{port}{}/loki/api/v1/push",
        prefix.trim_end_matches('/')
    ))
}

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
    let engine = ctx.site.spec.engine.as_str();
    let hosts: Vec<&str> = ctx.derived.nodes.iter().map(|n| n.name.as_str()).collect();
    if let Some(push) = push_url(&url.0) {
        let context = json!({
            "site": ctx.site.name(),
            "url": url.0,
            "backend": backend.name,
            "push_url": push,
            "engine": engine,
            "log_file": ctx.layout.log_file(),
            "nodes": hosts.join(", "),
        });
        return Ok(vec![Artifact::config(
            ALLOY_PATH,
            "logs/config.alloy.j2",
            Comment::C,
            context,
        )
        .installed_at(ctx.installed.path(ALLOY.install), &hosts)]);
    }
    let Some(protocol) = backend.rsyslog_protocol else {
        return Ok(Vec::new());
    };
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
    .installed_at(ctx.installed.path(RSYSLOG.install), &hosts)])
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
        let alloy = loki.shipper().unwrap();
        assert_eq!(
            (alloy.name, alloy.file, alloy.checked),
            ("Grafana Alloy", ALLOY_PATH, false)
        );
        let rsyslog = b.shipper().unwrap();
        assert_eq!(
            (rsyslog.name, rsyslog.file, rsyslog.checked),
            ("rsyslog", RSYSLOG_PATH, true)
        );
        assert!(log_backend("elasticsearch://h:9200").is_none());
        for b in LOG_BACKENDS {
            // Exactly one shipper for every known scheme.
            assert!(
                b.rsyslog_protocol.is_some() != b.loki_http.is_some(),
                "{}",
                b.scheme
            );
        }
    }

    #[test]
    fn push_urls() {
        assert_eq!(
            push_url("loki://loki.example:3100").as_deref(),
            Some("http://loki.example:3100/loki/api/v1/push")
        );
        assert_eq!(
            push_url("lokis://loki.example").as_deref(),
            Some("https://loki.example:3100/loki/api/v1/push")
        );
        assert_eq!(
            push_url("loki://[2001:db8::1]:80/tenant/").as_deref(),
            Some("http://[2001:db8::1]:80/tenant/loki/api/v1/push")
        );
        assert_eq!(push_url("syslog://h:514"), None);
        assert_eq!(push_url("elasticsearch://h:9200"), None);
    }
}
