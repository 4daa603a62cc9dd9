//! Semantic checks: what the JSON Schema cannot say (uniqueness, references,
//! ranges of unit values, consistency between sections).
//!
//! They read the loaded JSON rather than the typed model so that they still
//! run, and report, when other parts of the spec fail the schema: one run
//! shows every problem. Each check tolerates values of the wrong type (the
//! schema reports those) and stays silent about them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde_json::Value;

use crate::catalog;
use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::source::{pointer_join, Span, SpanMap};
use crate::spec::schema::human_path;
use crate::suggest::did_you_mean;

use super::units::{self, is_ident, ByteSize, Duration, Percent, Rate};
use super::BUILTIN_ROLES;

mod deployment;

/// Most devices a site may expand to (fleets included).
pub const MAX_DEVICES: u64 = 1_000_000;

pub struct Ctx<'a> {
    pub json: &'a Value,
    pub spans: &'a SpanMap,
    pub out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn value_span(&self, pointer: &str) -> Span {
        self.spans.value(pointer)
    }

    fn error(
        &mut self,
        code: Code,
        message: String,
        span: Span,
        label: &str,
        help: impl Into<String>,
    ) -> &mut Diagnostic {
        self.out.push(
            Diagnostic::error(code, message)
                .with_label(Label::primary(span, label))
                .with_help(help),
        );
        self.out.last_mut().expect("just pushed")
    }
}

/// One semantic check.
pub struct Check {
    pub name: &'static str,
    pub run: fn(&mut Ctx<'_>),
}

/// Every semantic check, in the order they run (output is sorted by position).
pub const CHECKS: &[Check] = &[
    Check {
        name: "unique names",
        run: unique_names,
    },
    Check {
        name: "unique ports",
        run: unique_ports,
    },
    Check {
        name: "one of several keys",
        run: exactly_one_of,
    },
    Check {
        name: "references",
        run: references,
    },
    Check {
        name: "devices and fleets",
        run: devices,
    },
    Check {
        name: "topic filters",
        run: topics,
    },
    Check {
        name: "addresses",
        run: addresses,
    },
    Check {
        name: "TLS versions",
        run: tls_versions,
    },
    Check {
        name: "engine and cluster",
        run: engine_cluster,
    },
    Check {
        name: "unit ranges",
        run: unit_ranges,
    },
    Check {
        name: "consistency",
        run: consistency,
    },
    Check {
        name: "lint suppressions",
        run: lint_suppressions,
    },
    Check {
        name: "deployment",
        run: deployment::run,
    },
    Check {
        name: "line hazards in free text",
        run: line_hazards,
    },
    Check {
        name: "firmware macro names",
        run: firmware_macros,
    },
    Check {
        name: "PKI directory",
        run: pki_dir,
    },
];

pub fn run(json: &Value, spans: &SpanMap) -> Vec<Diagnostic> {
    let mut ctx = Ctx {
        json,
        spans,
        out: Vec::new(),
    };
    for check in CHECKS {
        (check.run)(&mut ctx);
    }
    ctx.out
}

/// `(pointer, value)` for each item of the list at `key` of the root.
fn list<'a>(json: &'a Value, key: &str) -> Vec<(String, &'a Value)> {
    json.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("/{key}/{i}"), v))
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn unique_names(ctx: &mut Ctx<'_>) {
    for (section, field, what) in [
        ("nodes", "name", "node name"),
        ("nodes", "address", "node address"),
        ("listeners", "name", "listener name"),
        ("users", "name", "user name"),
    ] {
        let mut seen: HashMap<String, String> = HashMap::new();
        for (ptr, item) in list(ctx.json, section) {
            let Some(name) = str_of(item, field) else {
                continue;
            };
            let here = pointer_join(&ptr, field);
            if let Some(first) = seen.get(name) {
                let first_span = ctx.value_span(first);
                let span = ctx.value_span(&here);
                ctx.error(
                    Code::DuplicateName,
                    format!("duplicate {what} `{name}`"),
                    span,
                    "used again here",
                    format!("each {what} must be unique"),
                )
                .labels
                .push(Label::secondary(first_span, "first used here"));
            } else {
                seen.insert(name.to_string(), here);
            }
        }
    }
}

fn unique_ports(ctx: &mut Ctx<'_>) {
    // (port, bind or None for all interfaces, pointer, what)
    let mut ports: Vec<(u64, Option<String>, String, String)> = Vec::new();
    for (ptr, l) in list(ctx.json, "listeners") {
        if let Some(port) = l.get("port").and_then(Value::as_u64) {
            let name = str_of(l, "name").unwrap_or("?");
            ports.push((
                port,
                str_of(l, "bind").map(String::from),
                format!("{ptr}/port"),
                format!("listener `{name}`"),
            ));
        }
    }
    if let Some(port) = ctx
        .json
        .pointer("/monitoring/prometheus/exporter_port")
        .and_then(Value::as_u64)
    {
        ports.push((
            port,
            None,
            "/monitoring/prometheus/exporter_port".into(),
            "the metrics exporter".into(),
        ));
    }
    for i in 0..ports.len() {
        for j in 0..i {
            let (pa, ba, ptr_a, what_a) = &ports[j];
            let (pb, bb, ptr_b, _) = &ports[i];
            let overlap = match (ba, bb) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if pa == pb && overlap {
                let first = ctx.value_span(ptr_a);
                let span = ctx.value_span(ptr_b);
                ctx.error(
                    Code::DuplicatePort,
                    format!("port {pb} is already used by {what_a}"),
                    span,
                    "port used again here",
                    "give every listener on a node its own port (or distinct bind addresses)",
                )
                .labels
                .push(Label::secondary(first, "first used here"));
                break;
            }
        }
    }
}

/// Objects whose keys are alternatives: exactly one must be present.
fn exactly_one_of(ctx: &mut Ctx<'_>) {
    let mut targets: Vec<(String, &'static [&'static str], &'static str)> = Vec::new();
    if let Some(roles) = ctx.json.get("roles").and_then(Value::as_object) {
        for (role, perms) in roles {
            if let Some(perms) = perms.as_array() {
                for i in 0..perms.len() {
                    targets.push((
                        format!("{}/{i}", pointer_join("/roles", role)),
                        &["read", "write", "readwrite", "deny"],
                        "a permission",
                    ));
                }
            }
        }
    }
    for (ptr, _) in list(ctx.json, "devices") {
        targets.push((ptr, &["id", "fleet"], "a device entry"));
    }
    for (ptr, u) in list(ctx.json, "users") {
        if u.get("password").is_some() {
            targets.push((
                format!("{ptr}/password"),
                &["env", "file", "value"],
                "a secret",
            ));
        }
    }
    for ptr in [
        "/load_balancer/stats/password",
        "/backup/encrypt/age_recipient",
    ] {
        if ctx.json.pointer(ptr).is_some() {
            targets.push((ptr.to_string(), &["env", "file", "value"], "a secret"));
        }
    }
    for (ptr, keys, what) in targets {
        let Some(obj) = ctx.json.pointer(&ptr).and_then(Value::as_object) else {
            continue;
        };
        let present: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.len() == 1 {
            continue;
        }
        let alternatives = keys
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let (message, span) = if present.is_empty() {
            (
                format!("{what} needs one of {alternatives}"),
                ctx.value_span(&ptr),
            )
        } else {
            let second = pointer_join(&ptr, present[1]);
            (
                format!(
                    "{what} takes only one of {alternatives}; found both `{}` and `{}`",
                    present[0], present[1]
                ),
                ctx.spans.key(&second),
            )
        };
        ctx.error(
            Code::OneOf,
            format!("{message} ({})", human_path(&ptr)),
            span,
            "here",
            format!("write exactly one of {alternatives}"),
        );
    }
}

fn role_names(json: &Value) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.name.to_string()).collect();
    if let Some(roles) = json.get("roles").and_then(Value::as_object) {
        names.extend(roles.keys().cloned());
    }
    names.sort();
    names.dedup();
    names
}

fn unknown_ref(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    name: &str,
    what: &str,
    known: &[String],
    define: &str,
) {
    let help = match did_you_mean(name, known.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None if known.is_empty() => format!("define it under `{define}`"),
        None => format!(
            "define it under `{define}`, or use one of: {}",
            known.join(", ")
        ),
    };
    let span = ctx.value_span(ptr);
    ctx.error(
        Code::UnknownReference,
        format!("{what} `{name}` does not exist"),
        span,
        format!("no such {what}").as_str(),
        help,
    );
}

fn references(ctx: &mut Ctx<'_>) {
    let roles = role_names(ctx.json);
    let firmware: Vec<String> = ctx
        .json
        .get("firmware")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let listeners: Vec<String> = list(ctx.json, "listeners")
        .iter()
        .filter_map(|(_, l)| str_of(l, "name").map(String::from))
        .collect();
    for section in ["users", "devices"] {
        for (ptr, item) in list(ctx.json, section) {
            if let Some(role) = str_of(item, "role") {
                if !roles.iter().any(|r| r == role) {
                    unknown_ref(ctx, &format!("{ptr}/role"), role, "role", &roles, "roles");
                }
            }
            if let Some(fw) = str_of(item, "firmware") {
                if !firmware.iter().any(|f| f == fw) {
                    unknown_ref(
                        ctx,
                        &format!("{ptr}/firmware"),
                        fw,
                        "firmware profile",
                        &firmware,
                        "firmware",
                    );
                }
            }
        }
    }
    let hc = "/load_balancer/health_check/listener";
    if let Some(name) = ctx.json.pointer(hc).and_then(Value::as_str) {
        if !listeners.iter().any(|l| l == name) {
            unknown_ref(ctx, hc, name, "listener", &listeners, "listeners");
        }
    }
}

/// Expands fleets, checks ranges and that no id is used twice.
fn devices(ctx: &mut Ctx<'_>) {
    let mut singles: BTreeMap<String, String> = BTreeMap::new();
    let mut fleets: Vec<Fleet> = Vec::new();
    let mut total: u64 = 0;
    for (ptr, d) in list(ctx.json, "devices") {
        if let Some(id) = str_of(d, "id") {
            total += 1;
            single_device(ctx, &ptr, id, &mut singles);
        }
        if let Some(fleet) = fleet(ctx, ptr, d) {
            total = total.saturating_add(fleet.to - fleet.from + 1);
            fleets.push(fleet);
        }
    }
    if total > MAX_DEVICES {
        let span = ctx.spans.key("/devices");
        ctx.error(
            Code::TooManyDevices,
            format!("the site declares {total} devices; at most {MAX_DEVICES} are supported"),
            span,
            "too many devices",
            "split the site into several specs",
        );
    }
    singles_in_fleets(ctx, &singles, &fleets);
    // Overlaps are probed over ranges bounded by MAX_DEVICES.
    if total <= MAX_DEVICES {
        overlapping_fleets(ctx, &fleets);
    }
}

/// A fleet of numbered device ids: `prefix` + `from..=to`, zero-padded to `width`.
struct Fleet {
    ptr: String,
    prefix: String,
    from: u64,
    to: u64,
    width: Option<u64>,
}

impl Fleet {
    fn id(&self, n: u64) -> String {
        format!(
            "{}{n:0w$}",
            self.prefix,
            w = self.width.unwrap_or(0) as usize
        )
    }

    /// Whether `id` is one of the fleet's ids.
    fn has(&self, id: &str) -> bool {
        let Some(rest) = id.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        let Ok(n) = rest.parse::<u64>() else {
            return false;
        };
        n >= self.from && n <= self.to && self.id(n) == id
    }
}

/// A single device's id, unless an earlier device used it.
fn single_device(ctx: &mut Ctx<'_>, ptr: &str, id: &str, singles: &mut BTreeMap<String, String>) {
    let here = format!("{ptr}/id");
    if let Some(first) = singles.get(id) {
        let first_span = ctx.value_span(first);
        let span = ctx.value_span(&here);
        ctx.error(
            Code::DuplicateName,
            format!("duplicate device id `{id}`"),
            span,
            "used again here",
            "device ids are client ids and certificate names: each must be unique",
        )
        .labels
        .push(Label::secondary(first_span, "first used here"));
    } else {
        singles.insert(id.to_string(), here);
    }
}

/// The device entry's fleet, if it has a whole one with a range that is
/// not empty (reported) and ids that fit (reported, still kept).
fn fleet(ctx: &mut Ctx<'_>, ptr: String, d: &Value) -> Option<Fleet> {
    let fleet = d.get("fleet")?;
    let (Some(prefix), Some(from), Some(to)) = (
        str_of(fleet, "prefix"),
        fleet.get("from").and_then(Value::as_u64),
        fleet.get("to").and_then(Value::as_u64),
    ) else {
        return None;
    };
    // The schema bounds the width; an out-of-range one is reported there.
    let width = match fleet.get("width") {
        None => None,
        Some(w) => match w.as_u64() {
            Some(w) if (1..=9).contains(&w) => Some(w),
            _ => return None,
        },
    };
    if from > to {
        let span = ctx.value_span(&format!("{ptr}/fleet/to"));
        ctx.error(
            Code::EmptyRange,
            format!("fleet `{prefix}` is empty: `to` ({to}) is below `from` ({from})"),
            span,
            "below `from`",
            "a fleet covers `from` to `to` inclusive; swap the two numbers",
        );
        return None;
    }
    let fleet = Fleet {
        ptr,
        prefix: prefix.to_string(),
        from,
        to,
        width,
    };
    let longest = fleet.id(to);
    if !is_ident(&longest) {
        let span = ctx.spans.key(&format!("{}/fleet", fleet.ptr));
        ctx.error(
            Code::UnsafeIdentifier,
            format!("fleet ids such as `{longest}` are longer than 63 characters"),
            span,
            "ids too long",
            "shorten the prefix or the width",
        );
    }
    Some(fleet)
}

/// A single id inside a fleet.
fn singles_in_fleets(ctx: &mut Ctx<'_>, singles: &BTreeMap<String, String>, fleets: &[Fleet]) {
    for (id, here) in singles {
        for fleet in fleets {
            if fleet.has(id) {
                let fleet_span = ctx.spans.key(&format!("{}/fleet", fleet.ptr));
                let span = ctx.value_span(here);
                ctx.error(
                    Code::DuplicateName,
                    format!(
                        "device id `{id}` is also a member of fleet `{}`",
                        fleet.prefix
                    ),
                    span,
                    "also in a fleet",
                    "remove the device or shrink the fleet's range",
                )
                .labels
                .push(Label::secondary(fleet_span, "fleet declared here"));
            }
        }
    }
}

/// Two fleets sharing ids.
fn overlapping_fleets(ctx: &mut Ctx<'_>, fleets: &[Fleet]) {
    for i in 0..fleets.len() {
        for j in 0..i {
            let (a, b) = (&fleets[j], &fleets[i]);
            // Probe the smaller range for members of the other one.
            let (small, big) = if a.to - a.from <= b.to - b.from {
                (a, b)
            } else {
                (b, a)
            };
            let shared = (small.from..=small.to)
                .map(|n| small.id(n))
                .find(|id| big.has(id));
            if let Some(id) = shared {
                let first = ctx.spans.key(&format!("{}/fleet", a.ptr));
                let span = ctx.spans.key(&format!("{}/fleet", b.ptr));
                ctx.error(
                    Code::DuplicateName,
                    format!("fleets overlap: `{id}` belongs to both"),
                    span,
                    "overlapping fleet",
                    "give the fleets distinct prefixes or disjoint ranges",
                )
                .labels
                .push(Label::secondary(first, "overlaps this fleet"));
            }
        }
    }
}

/// Why a topic filter is invalid, if it is.
pub fn topic_problem(topic: &str) -> Option<String> {
    if let Some(c) = topic.chars().find(|c| c.is_control() || c.is_whitespace()) {
        let what = match c {
            '\n' | '\r' => "a line break, which would inject a line into the ACL file".to_string(),
            '\0' => "a NUL byte".to_string(),
            c if c.is_whitespace() => "whitespace".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        return Some(format!("it contains {what}"));
    }
    if let Some(problem) = broker_placeholder(topic) {
        return Some(problem);
    }
    let levels: Vec<&str> = topic.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Some("`#` must be a whole level and the last one".into());
        }
        if level.contains('+') && *level != "+" {
            return Some("`+` must be a whole level".into());
        }
        if (level.contains('{') || level.contains('}')) && *level != "{id}" {
            return Some("the only placeholder is `{id}`, and it must be a whole level".into());
        }
    }
    None
}

/// Topics reach the brokers' ACLs, where some text is a placeholder of the
/// broker's own: Mosquitto replaces `%c` (client id) and `%u` (username) in
/// `pattern` lines, EMQX replaces `${...}`. A spec topic holding one would
/// grant through another device's identity.
fn broker_placeholder(topic: &str) -> Option<String> {
    if let Some(token) = ["%c", "%u"].into_iter().find(|t| topic.contains(t)) {
        return Some(format!(
            "it contains `{token}`, which Mosquitto replaces with the {} in ACL pattern lines, granting through another client's identity",
            if token == "%c" { "client id" } else { "username" }
        ));
    }
    if topic.contains("${") {
        return Some(
            "it contains `${`, which starts an EMQX placeholder such as `${clientid}` in ACL topics"
                .into(),
        );
    }
    None
}

fn topics(ctx: &mut Ctx<'_>) {
    let Some(roles) = ctx.json.get("roles").and_then(Value::as_object) else {
        return;
    };
    let mut found = Vec::new();
    for (role, perms) in roles {
        let role_ptr = pointer_join("/roles", role);
        let Some(perms) = perms.as_array() else {
            continue;
        };
        if perms.is_empty() {
            found.push((
                role_ptr.clone(),
                format!("role `{role}` grants nothing"),
                "add at least one permission, or remove the role".to_string(),
                Code::EmptyRole,
            ));
        }
        for (i, p) in perms.iter().enumerate() {
            let Some(obj) = p.as_object() else { continue };
            for (access, topic) in obj {
                let Some(topic) = topic.as_str() else {
                    continue;
                };
                if let Some(problem) = topic_problem(topic) {
                    let help = if broker_placeholder(topic).is_some() {
                        "write `{id}` for the principal's own id (mqttforge turns it into each broker's placeholder); a topic level cannot hold `%c`, `%u` or `${`"
                    } else {
                        "write a topic filter such as `devices/{id}/telemetry/#`"
                    };
                    found.push((
                        format!("{role_ptr}/{i}/{access}"),
                        format!(
                            "`{}` is not a valid topic filter: {problem}",
                            topic.escape_debug()
                        ),
                        help.to_string(),
                        Code::InvalidTopic,
                    ));
                }
            }
        }
    }
    for (ptr, msg, help, code) in found {
        let span = ctx.value_span(&ptr);
        ctx.error(code, msg, span, "here", help);
    }
}

fn host_problem(value: &str) -> Option<String> {
    if value.parse::<IpAddr>().is_ok() {
        return None;
    }
    if value.contains(':') {
        return Some("it is not a valid IPv6 address".into());
    }
    let labels: Vec<&str> = value.split('.').collect();
    if labels
        .iter()
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(
            "it looks like an IPv4 address but is not one (four numbers from 0 to 255)".into(),
        );
    }
    for l in &labels {
        if l.is_empty() {
            return Some("it has an empty label (`..` or a leading or trailing dot)".into());
        }
        if l.len() > 63 {
            return Some("a label is longer than 63 characters".into());
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Some(format!("the label `{l}` starts or ends with `-`"));
        }
    }
    None
}

/// A URL's scheme, host (an IPv6 address without its brackets) and port as
/// written, if it has `scheme://`.
pub fn url_parts(url: &str) -> Option<(&str, &str, Option<&str>)> {
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
    Some((scheme, host, port))
}

/// Why the host or port of a URL is invalid, if it is.
fn url_problem(url: &str) -> Option<String> {
    let (_, host, port) = url_parts(url)?;
    if let Some(port) = port {
        match port.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => {}
            _ => return Some(format!("the port `{port}` is not a number from 1 to 65535")),
        }
    }
    host_problem(host).map(|p| format!("the host {}", p.trim_start_matches("it ")))
}

fn addresses(ctx: &mut Ctx<'_>) {
    let mut hosts: Vec<(String, bool)> = Vec::new(); // (pointer, must be an IP)
    for (ptr, n) in list(ctx.json, "nodes") {
        hosts.push((format!("{ptr}/address"), false));
        if let Some(names) = n.get("dns_names").and_then(Value::as_array) {
            for i in 0..names.len() {
                hosts.push((format!("{ptr}/dns_names/{i}"), false));
            }
        }
    }
    for (ptr, _) in list(ctx.json, "listeners") {
        hosts.push((format!("{ptr}/bind"), true));
    }
    hosts.push(("/cluster/dns".into(), false));
    hosts.push(("/cluster/vip".into(), true));
    hosts.push(("/load_balancer/dns_name".into(), false));
    // keepalived sends VRRP adverts from and to addresses, not names.
    for ptr in expand(ctx.json, "/load_balancer/vrrp/hosts/*") {
        hosts.push((format!("{ptr}/address"), true));
    }
    let mut urls: Vec<String> = expand(ctx.json, "/cluster/etcd/*");
    urls.extend([
        "/monitoring/tracing".to_string(),
        "/monitoring/logs".to_string(),
    ]);
    for ptr in urls {
        let Some(value) = ctx.json.pointer(&ptr).and_then(Value::as_str) else {
            continue;
        };
        if let Some(problem) = url_problem(value) {
            let span = ctx.value_span(&ptr);
            ctx.error(
                Code::InvalidAddress,
                format!(
                    "`{value}` is not a valid URL ({}): {problem}",
                    human_path(&ptr)
                ),
                span,
                "invalid URL",
                "write a URL such as `http://etcd1.example.net:2379`",
            );
        }
    }
    for (ptr, must_be_ip) in hosts {
        let Some(value) = ctx.json.pointer(&ptr).and_then(Value::as_str) else {
            continue;
        };
        let problem = if must_be_ip {
            value
                .parse::<IpAddr>()
                .err()
                .map(|_| "it must be an IP address".to_string())
        } else {
            host_problem(value)
        };
        if let Some(problem) = problem {
            let span = ctx.value_span(&ptr);
            ctx.error(
                Code::InvalidAddress,
                format!(
                    "`{value}` is not a valid address ({}): {problem}",
                    human_path(&ptr)
                ),
                span,
                "invalid address",
                "write an IPv4 or IPv6 address (`10.0.1.10`, `127.0.0.1`) or a DNS name",
            );
        }
    }
}

fn tls_versions(ctx: &mut Ctx<'_>) {
    use super::model::TlsVersion;
    for (ptr, l) in list(ctx.json, "listeners") {
        let Some(tls) = l.get("tls") else { continue };
        let min = str_of(tls, "min_version")
            .and_then(TlsVersion::parse)
            .unwrap_or(TlsVersion::V12);
        let max = str_of(tls, "max_version")
            .and_then(TlsVersion::parse)
            .unwrap_or(TlsVersion::V13);
        if min > max {
            let name = str_of(l, "name").unwrap_or("?");
            let at = if tls.get("min_version").is_some() {
                "min_version"
            } else {
                "max_version"
            };
            let span = ctx.value_span(&format!("{ptr}/tls/{at}"));
            let mut d = ctx
                .error(
                    Code::TlsVersion,
                    format!(
                        "listener `{name}` requires TLS {} or newer but allows at most TLS {}",
                        min.as_str(),
                        max.as_str()
                    ),
                    span,
                    "above the listener's maximum",
                    "raise `max_version` or lower `min_version`; no client could connect",
                )
                .clone();
            if tls.get("max_version").is_some() && at == "min_version" {
                d.labels.push(Label::secondary(
                    ctx.value_span(&format!("{ptr}/tls/max_version")),
                    "maximum set here",
                ));
                *ctx.out.last_mut().expect("pushed") = d;
            }
        }
    }
}

fn engine_cluster(ctx: &mut Ctx<'_>) {
    let engine = str_of(ctx.json, "engine").unwrap_or("");
    let nodes = list(ctx.json, "nodes").len();
    let cluster = ctx.json.get("cluster");
    let get = |k: &str| cluster.and_then(|c| c.get(k));
    let discovery = get("discovery").and_then(Value::as_str);
    let mode = get("mode").and_then(Value::as_str);
    let mut found: Vec<(String, String, String)> = Vec::new();
    if discovery.is_some() && engine != "emqx" {
        found.push((
            "/cluster/discovery".into(),
            format!("`cluster.discovery` is for EMQX; {engine} has no clustering"),
            "for Mosquitto use `cluster.mode: active-standby` or `bridge`".into(),
        ));
    }
    if mode.is_some() && engine != "mosquitto" {
        found.push((
            "/cluster/mode".into(),
            format!("`cluster.mode` is for Mosquitto; {engine} does not use it"),
            "EMQX clusters itself: use `cluster.discovery`".into(),
        ));
    }
    if discovery == Some("etcd")
        && get("etcd")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty())
    {
        found.push((
            "/cluster/discovery".into(),
            "etcd discovery needs the etcd endpoints".into(),
            "add `cluster.etcd: [\"http://etcd1:2379\"]`".into(),
        ));
    }
    if discovery == Some("dns") && get("dns").is_none() {
        found.push((
            "/cluster/discovery".into(),
            "DNS discovery needs the name to resolve".into(),
            "add `cluster.dns: mqtt.example.net`".into(),
        ));
    }
    if get("etcd").is_some() && discovery != Some("etcd") {
        found.push((
            "/cluster/etcd".into(),
            "`cluster.etcd` is set but discovery is not etcd".into(),
            "set `cluster.discovery: etcd` or remove `cluster.etcd`".into(),
        ));
    }
    if mode == Some("active-standby") && nodes != 2 {
        found.push((
            "/cluster/mode".into(),
            format!("active/standby needs exactly 2 nodes; the site has {nodes}"),
            "declare one active and one standby node".into(),
        ));
    }
    if get("vip").is_some() && mode != Some("active-standby") {
        found.push((
            "/cluster/vip".into(),
            "a virtual IP only applies to active/standby".into(),
            "set `cluster.mode: active-standby` or remove `vip`".into(),
        ));
    }

    if engine == "rumqttd" && nodes > 1 {
        found.push((
            "/nodes".into(),
            format!("the bundled broker (rumqttd) runs on one node; the site has {nodes}"),
            "use one node, or choose `engine: emqx` for a cluster".into(),
        ));
    }
    let vrrp = ctx.json.get("load_balancer").and_then(|lb| lb.get("vrrp"));
    if vrrp.is_some() && get("vip").is_none() {
        let span = ctx.spans.key("/load_balancer/vrrp");
        ctx.error(
            Code::Inconsistent,
            "VRRP moves a virtual IP, and the site declares none".into(),
            span,
            "here",
            "set `cluster.vip` to the address clients dial, or remove `load_balancer.vrrp`",
        );
    }
    for (ptr, msg, help) in found {
        let span = if ptr == "/nodes" {
            ctx.spans.key(&ptr)
        } else {
            ctx.value_span(&ptr)
        };
        ctx.error(Code::EngineMismatch, msg, span, "here", help);
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Duration,
    Size,
    Rate,
    Percent,
}

/// Bounds of every unit-bearing value (`*` matches one key or index). A
/// meta-test checks that every such field of the schema is listed here.
pub const UNIT_LIMITS: &[(&str, UnitLimit)] = &[
    ("/capacity/max_payload", UnitLimit::size(1, 256 << 20)),
    (
        "/limits/max_keepalive",
        UnitLimit::duration(1_000, 65_535_000),
    ),
    ("/limits/max_packet", UnitLimit::size(16, 256 << 20)),
    ("/limits/connect_rate", UnitLimit::rate(1, 10_000_000)),
    ("/limits/message_rate", UnitLimit::rate(1, 10_000_000)),
    (
        "/persistence/autosave",
        UnitLimit::duration(1_000, 86_400_000),
    ),
    (
        "/persistence/session_expiry",
        UnitLimit::duration(0, 365 * 86_400_000),
    ),
    (
        "/load_balancer/health_check/interval",
        UnitLimit::duration(100, 3_600_000),
    ),
    (
        "/pki/device_validity",
        UnitLimit::duration(86_400_000, 3650 * 86_400_000),
    ),
    (
        "/pki/server_validity",
        UnitLimit::duration(86_400_000, 3650 * 86_400_000),
    ),
    (
        "/pki/ca/validity",
        UnitLimit::duration(86_400_000, 36_500 * 86_400_000),
    ),
    (
        "/monitoring/prometheus/scrape_interval",
        UnitLimit::duration(1_000, 3_600_000),
    ),
    ("/monitoring/alerts/clients_warning", UnitLimit::percent()),
    ("/monitoring/alerts/clients_critical", UnitLimit::percent()),
    (
        "/monitoring/alerts/latency_p99_warning",
        UnitLimit::duration(1, 3_600_000),
    ),
    (
        "/monitoring/alerts/latency_p99_critical",
        UnitLimit::duration(1, 3_600_000),
    ),
    (
        "/monitoring/alerts/auth_failures_warning",
        UnitLimit::rate(1, 10_000_000),
    ),
    (
        "/monitoring/alerts/auth_failures_critical",
        UnitLimit::rate(1, 10_000_000),
    ),
    ("/monitoring/alerts/cpu_warning", UnitLimit::percent()),
    ("/monitoring/alerts/cpu_critical", UnitLimit::percent()),
    ("/monitoring/alerts/memory_warning", UnitLimit::percent()),
    ("/monitoring/alerts/memory_critical", UnitLimit::percent()),
    (
        "/backup/retention",
        UnitLimit::duration(86_400_000, 3650 * 86_400_000),
    ),
    ("/dr/*/rto", UnitLimit::duration(0, 365 * 86_400_000)),
    ("/dr/*/rpo", UnitLimit::duration(0, 365 * 86_400_000)),
    (
        "/firmware/*/backoff/initial",
        UnitLimit::duration(100, 3_600_000),
    ),
    (
        "/firmware/*/backoff/max",
        UnitLimit::duration(1_000, 86_400_000),
    ),
    (
        "/firmware/*/backoff/jitter",
        UnitLimit::duration(0, 3_600_000),
    ),
    ("/load_test/rate", UnitLimit::rate(1, 10_000_000)),
    ("/load_test/payload", UnitLimit::size(1, 256 << 20)),
    (
        "/load_test/duration",
        UnitLimit::duration(1_000, 86_400_000),
    ),
];

/// Inclusive bounds of a unit value, in its base unit (ms, bytes, events per
/// second, percent).
#[derive(Clone, Copy)]
pub struct UnitLimit {
    unit: Unit,
    min: u64,
    max: u64,
}

impl UnitLimit {
    const fn duration(min: u64, max: u64) -> Self {
        UnitLimit {
            unit: Unit::Duration,
            min,
            max,
        }
    }
    const fn size(min: u64, max: u64) -> Self {
        UnitLimit {
            unit: Unit::Size,
            min,
            max,
        }
    }
    const fn rate(min: u64, max: u64) -> Self {
        UnitLimit {
            unit: Unit::Rate,
            min,
            max,
        }
    }
    const fn percent() -> Self {
        UnitLimit {
            unit: Unit::Percent,
            min: 0,
            max: 100,
        }
    }

    /// The schema definition name of the unit (`Duration`, `ByteSize`, ...).
    pub fn schema_name(&self) -> &'static str {
        match self.unit {
            Unit::Duration => "Duration",
            Unit::Size => "ByteSize",
            Unit::Rate => "Rate",
            Unit::Percent => "Percent",
        }
    }

    fn show(&self, v: u64) -> String {
        match self.unit {
            Unit::Duration => show_duration(v),
            Unit::Size => show_size(v),
            Unit::Rate => format!("{v}/s"),
            Unit::Percent => format!("{v}%"),
        }
    }
}

fn show_duration(ms: u64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    if ms == 0 {
        "0".into()
    } else {
        format!("{ms}ms")
    }
}

fn show_size(b: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if b >= size && b.is_multiple_of(size) {
            return format!("{}{unit}", b / size);
        }
    }
    format!("{b}B")
}

/// Pointers matching a pattern with `*` wildcards, present in the document.
fn expand(json: &Value, pattern: &str) -> Vec<String> {
    let mut found = vec![(String::new(), json)];
    for seg in pattern.trim_start_matches('/').split('/') {
        let mut next = Vec::new();
        for (ptr, v) in found {
            match (seg, v) {
                ("*", Value::Object(m)) => {
                    next.extend(m.iter().map(|(k, c)| (pointer_join(&ptr, k), c)))
                }
                ("*", Value::Array(a)) => next.extend(
                    a.iter()
                        .enumerate()
                        .map(|(i, c)| (pointer_join(&ptr, i), c)),
                ),
                (key, Value::Object(m)) => {
                    if let Some(c) = m.get(key) {
                        next.push((pointer_join(&ptr, key), c));
                    }
                }
                _ => {}
            }
        }
        found = next;
    }
    found.into_iter().map(|(p, _)| p).collect()
}

fn unit_ranges(ctx: &mut Ctx<'_>) {
    for (pattern, limit) in UNIT_LIMITS {
        for ptr in expand(ctx.json, pattern) {
            let Some(value) = ctx.json.pointer(&ptr) else {
                continue;
            };
            let base: Option<f64> = match (limit.unit, value) {
                (Unit::Duration, Value::String(s)) => Duration::parse(s).map(|d| d.0 as f64),
                (Unit::Duration, Value::Number(n)) if n.as_u64() == Some(0) => Some(0.0),
                (Unit::Size, Value::String(s)) => ByteSize::parse(s).map(|b| b.0 as f64),
                (Unit::Rate, Value::String(s)) => Rate::parse(s).map(|r| r.per_second()),
                (Unit::Percent, Value::String(s)) => Percent::parse(s).map(|p| p.0),
                _ => None,
            };
            let Some(base) = base else { continue };
            let too_low =
                base < limit.min as f64 || (matches!(limit.unit, Unit::Rate) && base <= 0.0);
            let too_high = base > limit.max as f64;
            if too_low || too_high {
                let shown = value
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| value.to_string());
                let span = ctx.value_span(&ptr);
                ctx.error(
                    Code::OutOfRange,
                    format!(
                        "{} is `{shown}`: {} the {} {}",
                        human_path(&ptr),
                        if too_low { "below" } else { "above" },
                        if too_low { "minimum" } else { "maximum" },
                        limit.show(if too_low { limit.min } else { limit.max }),
                    ),
                    span,
                    "out of range",
                    format!(
                        "use a value from {} to {}",
                        limit.show(limit.min),
                        limit.show(limit.max)
                    ),
                );
            }
        }
    }
}

/// Reads a threshold value in a comparable base unit.
type ParseThreshold = fn(&str) -> Option<f64>;

fn consistency(ctx: &mut Ctx<'_>) {
    let size = |p: &str| {
        ctx.json
            .pointer(p)
            .and_then(Value::as_str)
            .and_then(ByteSize::parse)
    };
    if let (Some(payload), Some(packet)) =
        (size("/capacity/max_payload"), size("/limits/max_packet"))
    {
        if payload.0 > packet.0 {
            let span = ctx.value_span("/capacity/max_payload");
            let packet_span = ctx.value_span("/limits/max_packet");
            ctx.error(
                Code::Inconsistent,
                "`capacity.max_payload` is larger than `limits.max_packet`: the largest message could never be delivered".into(),
                span,
                "larger than the packet limit",
                "raise `limits.max_packet` above the payload (plus topic and header bytes) or lower `max_payload`",
            )
            .labels
            .push(Label::secondary(packet_span, "packet limit set here"));
        }
    }
    let pairs: [(&str, ParseThreshold); 6] = [
        ("clients", |s| Percent::parse(s).map(|p| p.0)),
        ("queued", |_| None),
        ("latency_p99", |s| Duration::parse(s).map(|d| d.0 as f64)),
        ("auth_failures", |s| Rate::parse(s).map(|r| r.per_second())),
        ("cpu", |s| Percent::parse(s).map(|p| p.0)),
        ("memory", |s| Percent::parse(s).map(|p| p.0)),
    ];
    for (metric, parse) in pairs {
        let w_ptr = format!("/monitoring/alerts/{metric}_warning");
        let c_ptr = format!("/monitoring/alerts/{metric}_critical");
        let read = |p: &str| match ctx.json.pointer(p) {
            Some(Value::String(s)) => parse(s),
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        if let (Some(w), Some(c)) = (read(&w_ptr), read(&c_ptr)) {
            if w >= c {
                let span = ctx.value_span(&w_ptr);
                let c_span = ctx.value_span(&c_ptr);
                ctx.error(
                    Code::ThresholdOrder,
                    format!("the {metric} warning threshold is not below its critical threshold"),
                    span,
                    "warning threshold",
                    "the warning must fire before the critical alert: make it lower",
                )
                .labels
                .push(Label::secondary(c_span, "critical threshold"));
            }
        }
    }
    if let Some(fw) = ctx.json.get("firmware").and_then(Value::as_object) {
        for name in fw.keys() {
            let base = format!("{}/backoff", pointer_join("/firmware", name));
            let dur = |k: &str| {
                ctx.json
                    .pointer(&format!("{base}/{k}"))
                    .and_then(Value::as_str)
                    .and_then(Duration::parse)
            };
            if let (Some(initial), Some(max)) = (dur("initial"), dur("max")) {
                if initial > max {
                    let span = ctx.value_span(&format!("{base}/initial"));
                    ctx.error(
                        Code::Inconsistent,
                        format!(
                            "firmware `{name}`: the initial backoff is longer than the maximum"
                        ),
                        span,
                        "above `max`",
                        "the backoff starts at `initial` and doubles up to `max`",
                    );
                }
            }
        }
    }
}

fn lint_suppressions(ctx: &mut Ctx<'_>) {
    let Some(ignore) = ctx.json.pointer("/lint/ignore").and_then(Value::as_object) else {
        return;
    };
    let ids: Vec<&str> = catalog::RULES.iter().map(|r| r.id).collect();
    let mut unknown = Vec::new();
    for id in ignore.keys() {
        let well_formed = id.starts_with("MQ-") && id.len() >= 10;
        if well_formed && catalog::find(id).is_none() {
            unknown.push(id.clone());
        }
    }
    for (id, entry) in ignore {
        let Some(until) = entry.get("until").and_then(Value::as_str) else {
            continue;
        };
        // A value of the wrong form is the schema's (pattern) error.
        if units::is_date_shaped(until) && units::parse_date(until).is_none() {
            let span = ctx
                .spans
                .value(&pointer_join(&pointer_join("/lint/ignore", id), "until"));
            ctx.error(
                Code::Pattern,
                format!("`{until}` is not a day of the calendar (`lint.ignore.{id}.until`)"),
                span,
                "no such day",
                "write the last day the suppression applies as YYYY-MM-DD, such as `2027-03-01`",
            );
        }
    }
    for id in unknown {
        let span = ctx.spans.key(&pointer_join("/lint/ignore", &id));
        let help = match did_you_mean(&id, ids.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "no rule of the catalog has this ID; IDs look like `MQ-TLS-001`".into(),
        };
        ctx.error(
            Code::UnknownRule,
            format!("`{id}` is not a rule of the catalog"),
            span,
            "unknown rule",
            help,
        );
    }
}

/// A character that ends or splits a line in some syntax: every control
/// character (C0, DEL, C1 including U+0085 NEL) and U+2028, U+2029.
pub fn is_line_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Names a character for a message: "a line break (U+000A)".
pub fn describe_char(c: char) -> String {
    let what = match c {
        '\n' => "a line break",
        '\r' => "a carriage return",
        '\0' => "a NUL byte",
        '\t' => "a tab",
        '\u{85}' | '\u{2028}' | '\u{2029}' => "a Unicode line separator",
        c if c.is_control() => "a control character",
        c if c.is_whitespace() => "whitespace",
        _ => return format!("`{c}`"),
    };
    format!("{what} (U+{:04X})", c as u32)
}

/// A schema pattern that already refuses every line hazard (a positive
/// character class of ASCII): the schema reports those values.
fn pattern_refuses_hazards(pattern: &str) -> bool {
    pattern != super::units::REASON_PATTERN && !pattern.contains("[^")
}

/// The pattern of the CA's CN and organization: it refuses C0 controls
/// only, so the others (DEL, C1, U+2028, U+2029) are reported here.
const NOT_C0_PATTERN: &str = "^[^\\u0000-\\u001f]+$";

/// Every free-form string of the spec (CA names, reasons, dashboards,
/// secret references, ...) ends up in some file or message that is line
/// based: a line hazard (control character, U+2028, U+2029) is refused at
/// its position. Values the schema's patterns already restrict, and topics
/// (checked above), are left to those checks. The value is never echoed:
/// it may be a secret.
fn line_hazards(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    collect_hazards(ctx.json, String::new(), &mut found);
    for (ptr, index, c) in found {
        let span = ctx.value_span(&ptr);
        ctx.error(
            Code::UnsafeCharacter,
            format!(
                "{} contains {} at character {}",
                human_path(&ptr),
                describe_char(c),
                index + 1
            ),
            span,
            "here",
            "write the value on one line without control characters: it ends up in line-based configs and comments",
        );
    }
}

/// `pki.dir` is a path inside the output tree: relative, without `..`,
/// `.` or empty components (the CA key must never be written elsewhere).
fn pki_dir(ctx: &mut Ctx<'_>) {
    let Some(dir) = ctx.json.pointer("/pki/dir").and_then(Value::as_str) else {
        return;
    };
    let problem = if dir.starts_with('/') {
        Some("is an absolute path")
    } else if dir.split('/').any(|c| c == "..") {
        Some("climbs out with `..`")
    } else if dir.split('/').any(|c| c.is_empty() || c == ".") {
        Some("has an empty or `.` component")
    } else {
        None
    };
    if let Some(problem) = problem {
        let span = ctx.value_span("/pki/dir");
        ctx.error(
            Code::PkiDirOutside,
            format!("`pki.dir` `{dir}` {problem}: the PKI directory must stay inside the output tree"),
            span,
            "outside the output tree",
            "write a relative path inside the output directory, such as `pki` or `secrets/pki`; keep a PKI elsewhere with `mqttforge pki --dir DIR`",
        );
    }
}

fn collect_hazards(json: &Value, ptr: String, found: &mut Vec<(String, usize, char)>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                collect_hazards(v, pointer_join(&ptr, k), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_hazards(v, pointer_join(&ptr, i), found);
            }
        }
        Value::String(s) if !ptr.starts_with("/roles/") => {
            let Some(node) = crate::spec::schema::schema_for(&ptr) else {
                return; // an unknown key: the schema reports it
            };
            if node.get("enum").is_some() || node.get("const").is_some() {
                return;
            }
            let pattern = node.get("pattern").and_then(Value::as_str);
            if pattern.is_some_and(pattern_refuses_hazards) {
                return;
            }
            let c0_reported = pattern == Some(NOT_C0_PATTERN);
            let hazard = s
                .chars()
                .enumerate()
                .find(|&(_, c)| is_line_hazard(c) && !(c0_reported && (c as u32) < 0x20));
            if let Some((index, c)) = hazard {
                found.push((ptr, index, c));
            }
        }
        _ => {}
    }
}

/// The firmware macro of a topic: its literal levels after `{id}`, letters
/// and digits upper-cased, anything else `_` (`devices/{id}/telemetry/temp`
/// is `TELEMETRY_TEMP`); `TOPIC` when there is none.
pub fn firmware_macro_name(topic: &str) -> String {
    let after = topic.split_once("{id}").map(|(_, a)| a).unwrap_or(topic);
    let levels: Vec<String> = after
        .split('/')
        .filter(|l| !l.is_empty() && *l != "#" && *l != "+")
        .map(|l| {
            l.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect();
    if levels.is_empty() {
        "TOPIC".into()
    } else {
        levels.join("_")
    }
}

/// What a firmware header publishes to for a topic: the filter without a
/// trailing `/#` (the header's value; subscriptions keep the filter).
pub fn firmware_publish_topic(topic: &str) -> &str {
    topic.trim_end_matches("/#")
}

/// Two topics of a role compiled into firmware must not share a macro name
/// with different values: the header would define the name twice and the
/// device would use the second topic only. Names are derived from the topic
/// alone (no counters) so that adding a topic never renames another.
fn firmware_macros(ctx: &mut Ctx<'_>) {
    let mut roles: Vec<String> = list(ctx.json, "devices")
        .into_iter()
        .filter(|(_, d)| d.get("firmware").is_some())
        .filter_map(|(_, d)| str_of(d, "role").map(String::from))
        .collect();
    roles.sort();
    roles.dedup();
    let mut found = Vec::new();
    for role in roles {
        let role_ptr = pointer_join("/roles", &role);
        let Some(perms) = ctx.json.pointer(&role_ptr).and_then(Value::as_array) else {
            continue;
        };
        // (family, name) -> (value, pointer of the topic that defined it)
        let mut defined: BTreeMap<(&str, String), (String, String)> = BTreeMap::new();
        for (i, p) in perms.iter().enumerate() {
            let Some(obj) = p.as_object() else { continue };
            for (access, topic) in obj {
                let Some(topic) = topic.as_str().filter(|t| t.contains("{id}")) else {
                    continue;
                };
                let families: &[(&str, &str)] = match access.as_str() {
                    "write" => &[("MQTT_TOPIC_", "publish")],
                    "read" => &[("MQTT_SUBSCRIBE_", "subscribe")],
                    "readwrite" => &[("MQTT_TOPIC_", "publish"), ("MQTT_SUBSCRIBE_", "subscribe")],
                    _ => &[],
                };
                let here = format!("{role_ptr}/{i}/{access}");
                for &(family, kind) in families {
                    let value = if kind == "publish" {
                        firmware_publish_topic(topic)
                    } else {
                        topic
                    };
                    let name = firmware_macro_name(topic);
                    match defined.get(&(family, name.clone())) {
                        Some((first, first_ptr)) if first != value => found.push((
                            here.clone(),
                            first_ptr.clone(),
                            format!(
                                "role `{role}`: `{}` and `{}` would both be the firmware macro `{family}{name}`",
                                first.escape_debug(),
                                value.escape_debug()
                            ),
                        )),
                        Some(_) => {}
                        None => {
                            defined.insert((family, name), (value.to_string(), here.clone()));
                        }
                    }
                }
            }
        }
    }
    for (ptr, first_ptr, message) in found {
        let span = ctx.value_span(&ptr);
        let first = ctx.value_span(&first_ptr);
        ctx.error(
            Code::FirmwareMacro,
            message,
            span,
            "second topic with this name",
            "firmware macros are named after the topic's levels after `{id}` (other characters than letters and digits become `_`): make those levels differ by a letter or digit",
        )
        .labels
        .push(Label::secondary(first, "first topic with this name"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters() {
        assert_eq!(topic_problem("devices/{id}/telemetry/#"), None);
        assert_eq!(topic_problem("$SYS/#"), None);
        assert_eq!(topic_problem("devices/+/status"), None);
        assert!(topic_problem("a/#/b").is_some());
        assert!(topic_problem("a/b+").is_some());
        assert!(topic_problem("a/{id}x").is_some());
        assert!(topic_problem("a\ntopic b").unwrap().contains("line break"));
        assert!(topic_problem("devices/%c/cmd")
            .unwrap()
            .contains("client id"));
        assert!(topic_problem("devices/x%u/cmd")
            .unwrap()
            .contains("username"));
        assert!(topic_problem("devices/${clientid}/cmd")
            .unwrap()
            .contains("EMQX"));
        assert!(topic_problem("devices/$x/%d/{id}").is_none());
    }

    #[test]
    fn firmware_macro_names() {
        assert_eq!(firmware_macro_name("devices/{id}/telemetry/#"), "TELEMETRY");
        assert_eq!(
            firmware_macro_name("devices/{id}/telemetry/temp"),
            "TELEMETRY_TEMP"
        );
        assert_eq!(firmware_macro_name("devices/{id}/+/a-b"), "A_B");
        assert_eq!(firmware_macro_name("devices/{id}"), "TOPIC");
    }

    #[test]
    fn only_hazard_free_patterns_are_left_to_the_schema() {
        fn patterns(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(p) = m.get("pattern").and_then(Value::as_str) {
                        out.push(p.to_string());
                    }
                    m.values().for_each(|c| patterns(c, out));
                }
                Value::Array(a) => a.iter().for_each(|c| patterns(c, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        patterns(crate::spec::schema::schema(), &mut all);
        let validator = |p: &str| {
            jsonschema::validator_for(&serde_json::json!({"type": "string", "pattern": p})).unwrap()
        };
        for p in all.iter().filter(|p| pattern_refuses_hazards(p)) {
            // A pattern left to the schema uses positive ASCII classes and
            // literals only, so no line hazard can match it.
            assert!(
                !p.contains("\\S") && !p.contains("\\W") && !p.contains("\\D"),
                "{p}"
            );
            let v = validator(p);
            for probe in ["a\nb", "0\n", "1.2.3\u{2028}", "s3://abc\u{85}"] {
                assert!(
                    !v.is_valid(&Value::String(probe.into())),
                    "{p} accepts {probe:?}"
                );
            }
        }
        assert!(all.iter().any(|p| p == NOT_C0_PATTERN));
    }

    #[test]
    fn hosts() {
        assert_eq!(host_problem("10.0.1.10"), None);
        assert_eq!(host_problem("mqtt1.example.net"), None);
        assert_eq!(host_problem("::1"), None);
        assert!(host_problem("10.0.1.999").is_some());
        assert!(host_problem("a..b").is_some());
        assert_eq!(url_problem("http://etcd1:2379"), None);
        assert_eq!(url_problem("http://[::1]:2379/x"), None);
        assert!(url_problem("http://etcd1:99999").unwrap().contains("port"));
        assert!(url_problem("http://10.0.0.300:80")
            .unwrap()
            .contains("host"));
    }

    /// `*` in the pattern matches any one segment (including a `*` of the path).
    fn glob(pattern: &str, path: &str) -> bool {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| *x == "*" || x == y)
    }

    /// Every unit-bearing field of the schema has bounds in UNIT_LIMITS, and
    /// every entry of UNIT_LIMITS names such a field with the right unit.
    #[test]
    fn every_unit_field_is_bounded() {
        fn walk(node: &Value, path: String, root: &Value, found: &mut Vec<(String, String)>) {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or("");
                if ["Duration", "ByteSize", "Rate", "Percent"].contains(&name) {
                    found.push((path, name.to_string()));
                    return;
                }
                let target = root
                    .pointer(r.trim_start_matches('#'))
                    .expect("ref resolves");
                return walk(target, path, root, found);
            }
            if let Some(props) = node.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    walk(v, format!("{path}/{k}"), root, found);
                }
            }
            if let Some(items) = node.get("items") {
                walk(items, format!("{path}/*"), root, found);
            }
            if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
                walk(extra, format!("{path}/*"), root, found);
            }
        }
        let root = crate::spec::schema::schema();
        let mut found = Vec::new();
        walk(root, String::new(), root, &mut found);
        assert!(found.len() > 20);
        for (path, unit) in &found {
            let limit = UNIT_LIMITS.iter().find(|(p, _)| glob(p, path));
            let limit =
                limit.unwrap_or_else(|| panic!("{path} ({unit}) has no entry in UNIT_LIMITS"));
            assert_eq!(limit.1.schema_name(), unit, "{path}");
        }
        for (path, _) in UNIT_LIMITS {
            assert!(
                found.iter().any(|(p, _)| glob(path, p)),
                "UNIT_LIMITS names {path}, which is not a unit field"
            );
        }
    }

    #[test]
    fn expands_wildcards() {
        let json = serde_json::json!({"dr": {"a": {"rto": "1m"}, "b": {"rpo": "0"}}});
        assert_eq!(expand(&json, "/dr/*/rto"), vec!["/dr/a/rto".to_string()]);
    }
}
