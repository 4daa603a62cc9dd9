//! EMQX 5 `emqx.conf` (HOCON, parsed by `crate::formats::hocon` and
//! flattened into dotted key paths): listeners with their TLS options,
//! certificate identity, authorization's default, the dashboard and its
//! credentials, the cluster's discovery, the keepalive bound, and every key
//! path (checked against EMQX 5's keys and the EMQX 4.x keys that changed).
//!
//! EMQX 4.x files are flat `key = value` lines (cuttlefish) that HOCON does
//! not always accept (`flapping_detect_policy = 30, 1m, 5m`): when HOCON
//! fails and every line has that shape, the file is read line by line so
//! MQ-CFG-001 can say which keys are 4.x (its table of 4.x keys lives in
//! the rule).
//!
//! Cost: linear in the file's bytes (HOCON parsing and flattening, see
//! `crate::formats::hocon`; keys looked up in the schema's table).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::haproxy::{bind_host, classify_password};
use super::Input;
use crate::diag::Diagnostic;
use crate::facts::{
    AdminFact, Facts, KeepaliveFact, KeyFact, ListenerFact, NodeFact, SecretFact, TlsFact,
};
use crate::formats::hocon::{self, Node, Pos, Value};
use crate::source::{SourceFile, Span};
use crate::spec::model::Engine;

/// A key of the file: dotted path, where its key starts, its value (None
/// for values read line by line from a 4.x file).
#[derive(Clone, Debug)]
pub struct Leaf {
    pub path: String,
    pub key: Pos,
    pub value: Option<Node>,
    pub text: String,
}

/// The value of a leaf as text (`verify_peer`, `"0.0.0.0:8883"` unquoted, `1883`).
fn scalar(node: &Node) -> String {
    match &node.value {
        Value::String(s) | Value::Number(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Object(_) => "{}".into(),
    }
}

/// Reads the file's leaves: HOCON first, then the 4.x line format.
pub fn leaves(text: &str) -> Result<Vec<Leaf>, hocon::ParseError> {
    match hocon::parse(text) {
        Ok(root) => Ok(hocon::flatten(&root)
            .into_iter()
            .map(|(path, key, node)| Leaf {
                text: scalar(&node),
                path,
                key,
                value: Some(node),
            })
            .collect()),
        Err(e) => flat_lines(text).ok_or(e),
    }
}

/// EMQX 4.x `key = value` lines; None when a line has another shape.
fn flat_lines(text: &str) -> Option<Vec<Leaf>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let (key, value) = trimmed.split_once('=')?;
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return None;
        }
        let col = line[..line.len() - line.trim_start().len()].chars().count() + 1;
        out.push(Leaf {
            path: key.to_string(),
            key: Pos { line: i + 1, col },
            value: None,
            text: value.trim().trim_matches('"').to_string(),
        });
    }
    Some(out)
}

/// The key as written: `max_inflight` inside `mqtt { }`, or a whole dotted `a.b.c`.
fn key_span(file: &Arc<SourceFile>, leaf: &Leaf) -> Span {
    let len = file
        .line_text(leaf.key.line)
        .map(|t| {
            t.chars()
                .skip(leaf.key.col - 1)
                .take_while(|c| !c.is_whitespace() && !"={:".contains(*c))
                .count()
        })
        .unwrap_or(1);
    Span {
        file: file.clone(),
        line: leaf.key.line,
        col: leaf.key.col,
        end_line: leaf.key.line,
        end_col: leaf.key.col + len.max(1),
    }
}

/// The span of a leaf's value (its key's when the value has no position).
fn value_span(file: &Arc<SourceFile>, leaf: &Leaf) -> Span {
    match &leaf.value {
        Some(n) => {
            let len = file
                .line_text(n.pos.line)
                .map(|t| {
                    t.chars()
                        .skip(n.pos.col - 1)
                        .take_while(|c| *c != '#' && *c != ',')
                        .collect::<String>()
                        .trim_end()
                        .chars()
                        .count()
                })
                .unwrap_or(1);
            Span {
                file: file.clone(),
                line: n.pos.line,
                col: n.pos.col,
                end_line: n.pos.line,
                end_col: n.pos.col + len.max(1),
            }
        }
        None => key_span(file, leaf),
    }
}

/// A value that EMQX reads from the environment (`${EMQX_X}`, `${?X}`).
fn is_reference(text: &str) -> bool {
    text.contains("${")
}

/// Minimum TLS version of an EMQX `versions` list (`tlsv1.2` -> "1.2").
fn min_version(versions: &str) -> Option<String> {
    versions
        .split(',')
        .filter_map(|v| {
            v.trim()
                .trim_matches('"')
                .strip_prefix("tlsv")
                .map(str::to_string)
        })
        .min()
}

/// EMQX reads the files of one node's `etc/` as layers (`base.hocon` <
/// `cluster.hocon` < `emqx.conf`), so the EMQX files of one directory are
/// one node. Each file was read on its own, with EMQX's defaults (the four
/// default listeners, the dashboard); keep one of each per node: the one a
/// file declares, else the one of the file that takes precedence.
pub fn one_node_per_directory(facts: &mut Facts) {
    fn dir(f: &SourceFile) -> String {
        Path::new(&f.name)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
    fn rank(f: &SourceFile) -> u8 {
        match super::file_name(Path::new(&f.name)).as_str() {
            "base.hocon" => 0,
            "emqx.conf" => 2,
            _ => 1,
        }
    }
    // (explicit, precedence): the larger wins.
    fn weight(span: &Span, explicit: bool) -> (bool, u8) {
        (explicit, rank(&span.file))
    }
    fn keep<T>(
        items: &mut Vec<T>,
        key: impl Fn(&T) -> Option<String>,
        weight: impl Fn(&T) -> (bool, u8),
    ) {
        let mut best: BTreeMap<String, (usize, (bool, u8))> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let Some(k) = key(item) else { continue };
            let w = weight(item);
            match best.get(&k) {
                Some((_, bw)) if *bw >= w => {}
                _ => {
                    best.insert(k, (i, w));
                }
            }
        }
        let mut i = 0;
        items.retain(|item| {
            let index = i;
            i += 1;
            key(item).is_none_or(|k| best.get(&k).is_some_and(|(b, _)| *b == index))
        });
    }
    let emqx_files: Vec<String> = facts
        .emqx_keys
        .iter()
        .map(|k| k.span.file.name.clone())
        .chain(
            facts
                .listeners
                .iter()
                .filter(|l| l.engine == Some(Engine::Emqx))
                .map(|l| l.span.file.name.clone()),
        )
        .collect();
    let is_emqx = |f: &SourceFile| emqx_files.contains(&f.name);
    keep(
        &mut facts.listeners,
        |l| (l.engine == Some(Engine::Emqx)).then(|| format!("{}\n{}", dir(&l.span.file), l.name)),
        |l| weight(&l.span, (l.span.line, l.span.col) != (1, 1)),
    );
    keep(
        &mut facts.admin,
        |a| {
            let scheme = a
                .what
                .strip_prefix("the EMQX dashboard (")?
                .split(',')
                .next()?;
            Some(format!("{}\n{scheme}", dir(&a.span.file)))
        },
        |a| weight(&a.span, !a.what.contains("by EMQX's default")),
    );
    keep(
        &mut facts.nodes,
        |n| is_emqx(&n.span.file).then(|| dir(&n.span.file)),
        |n| weight(&n.span, n.name != n.span.file.name),
    );
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    let leaves = leaves(&file.text)
        .map_err(|e| super::parse_error(file, e.pos.line, e.pos.col, "emqx.conf", e.message))?;
    facts.engine.get_or_insert(Engine::Emqx);
    let get = |path: &str| leaves.iter().find(|l| l.path == path);
    // Every key, for MQ-CFG-001.
    facts.emqx_keys.extend(leaves.iter().map(|l| KeyFact {
        path: l.path.clone(),
        object: matches!(l.value.as_ref().map(|n| &n.value), Some(Value::Object(_))),
        span: key_span(file, l),
    }));
    let first_line = Span::point(file, 1, 1);
    facts.nodes.push(NodeFact {
        name: get("node.name")
            .map(|l| l.text.clone())
            .unwrap_or_else(|| input.path.display().to_string()),
        span: get("node.name")
            .map(|l| value_span(file, l))
            .unwrap_or_else(|| first_line.clone()),
    });
    if let Some(l) = get("cluster.discovery_strategy") {
        match l.text.as_str() {
            "singleton" => facts.ha.single_node.push(value_span(file, l)),
            "static" | "dns" | "etcd" | "k8s" | "mcast" => {
                facts.cluster.clustered = true;
                facts
                    .cluster
                    .span
                    .get_or_insert_with(|| value_span(file, l));
            }
            _ => {}
        }
    }
    if let Some(l) = get("mqtt.server_keepalive") {
        if let Ok(s) = l.text.parse::<u64>() {
            facts.ha.keepalives.push(KeepaliveFact {
                what: format!("EMQX `mqtt.server_keepalive = {s}`"),
                seconds: s,
                span: value_span(file, l),
            });
        }
    }
    let identity = ["mqtt.peer_cert_as_username", "mqtt.peer_cert_as_clientid"]
        .iter()
        .filter_map(|k| get(k))
        .find(|l| l.text != "disabled");
    if let Some(l) = identity {
        facts.ha.cert_identity.push((
            format!(
                "EMQX takes the MQTT identity from the client certificate (`{} = {}`)",
                l.path, l.text
            ),
            value_span(file, l),
        ));
    }
    authorization(file, &leaves, facts);
    let authn_global = leaves.iter().any(|l| {
        l.path == "authentication"
            && !matches!(&l.value, Some(Node { value: Value::Array(a), .. }) if a.is_empty())
    });
    listeners(input, &leaves, authn_global, identity, facts);
    dashboard(file, &leaves, facts);
    if let Some(l) = get("node.cookie") {
        facts.secrets.push(SecretFact {
            what: "EMQX Erlang cookie (`node.cookie`)".into(),
            inline: (!is_reference(&l.text)).then(|| l.text.clone()),
            span: value_span(file, l),
        });
    }
    Ok(())
}

/// `authorization.no_match`: EMQX 5 allows what no source decides unless it
/// is `deny` (its default is `allow`); only a file with an `authorization`
/// block is judged when it leaves the default.
fn authorization(file: &Arc<SourceFile>, leaves: &[Leaf], facts: &mut Facts) {
    let no_match = leaves.iter().find(|l| l.path == "authorization.no_match");
    match no_match.map(|l| l.text.as_str()) {
        Some("deny") => facts.acl_default_deny = Some(true),
        _ => {
            facts.acl_default_deny.get_or_insert(false);
        }
    }
    let allow = match no_match {
        Some(l) if l.text == "allow" => Some((value_span(file, l), true)),
        Some(_) => None,
        None => leaves
            .iter()
            .find(|l| l.path.starts_with("authorization."))
            .map(|l| (key_span(file, l), false)),
    };
    if allow.is_some() {
        facts.acl_model.no_match_allow = allow;
    }
}

/// EMQX 5's listeners, the ones the file declares and the default ones it
/// leaves enabled (tcp 1883, ssl 8883, ws 8083, wss 8084).
fn listeners(
    input: &Input,
    leaves: &[Leaf],
    authn_global: bool,
    identity: Option<&Leaf>,
    facts: &mut Facts,
) {
    for ((kind, name), leaves) in listener_groups(leaves) {
        let l = Declared {
            file: &input.file,
            kind: &kind,
            name: &name,
            leaves,
        };
        if let Some(fact) = l.fact(authn_global, identity, facts) {
            facts.listeners.push(fact);
        }
    }
}

const DEFAULT_PORTS: [(&str, u16); 4] = [("tcp", 1883), ("ssl", 8883), ("ws", 8083), ("wss", 8084)];

/// The leaves of each listener (`listeners.KIND.NAME.*`), with the default
/// ones, in the file's order: declared listeners first, by position.
fn listener_groups(leaves: &[Leaf]) -> Vec<((String, String), Vec<&Leaf>)> {
    let mut groups: BTreeMap<(String, String), Vec<&Leaf>> = BTreeMap::new();
    for l in leaves {
        let segs: Vec<&str> = l.path.splitn(4, '.').collect();
        if segs.len() == 4
            && segs[0] == "listeners"
            && ["tcp", "ssl", "ws", "wss"].contains(&segs[1])
        {
            groups
                .entry((segs[1].to_string(), segs[2].to_string()))
                .or_default()
                .push(l);
        }
    }
    for (kind, _) in DEFAULT_PORTS {
        groups
            .entry((kind.to_string(), "default".to_string()))
            .or_default();
    }
    let mut ordered: Vec<((String, String), Vec<&Leaf>)> = groups.into_iter().collect();
    ordered.sort_by_key(|(_, ls)| {
        ls.first()
            .map(|l| (l.key.line, l.key.col))
            .unwrap_or((usize::MAX, 0))
    });
    ordered
}

/// One listener (`listeners.KIND.NAME`) and the leaves the file sets for it.
struct Declared<'a> {
    file: &'a Arc<SourceFile>,
    kind: &'a str,
    name: &'a str,
    leaves: Vec<&'a Leaf>,
}

impl<'a> Declared<'a> {
    fn field(&self, k: &str) -> Option<&'a Leaf> {
        let path = format!("listeners.{}.{}.{k}", self.kind, self.name);
        self.leaves.iter().find(|l| l.path == path).copied()
    }

    /// The listener's fact, unless it is disabled, an implicit listener
    /// other than the defaults, or has no port.
    fn fact(
        &self,
        authn_global: bool,
        identity: Option<&Leaf>,
        facts: &mut Facts,
    ) -> Option<ListenerFact> {
        let file = self.file;
        if self.field("enable").is_some_and(|l| l.text == "false") {
            return None;
        }
        let implicit = self.leaves.is_empty();
        if implicit && self.name != "default" {
            return None;
        }
        let (port, host) = self.address();
        let port = port?;
        let span = match (self.field("bind"), self.leaves.first()) {
            (Some(b), _) if !implicit => value_span(file, b),
            (None, Some(l)) => key_span(file, l),
            _ => Span::point(file, 1, 1),
        };
        let tls = (self.kind == "ssl" || self.kind == "wss").then(|| self.tls(identity));
        let authn_off = self
            .field("enable_authn")
            .is_some_and(|l| l.text == "false");
        let authn_own = self.field("authentication").is_some();
        let cert_required = tls.as_ref().is_some_and(|t| t.require_client_cert);
        let anonymous = !cert_required && (authn_off || !(authn_global || authn_own));
        if anonymous {
            if let Some(off) = self.field("enable_authn").filter(|_| authn_off) {
                facts.tls_auth.listener_settings.push((
                    facts.listeners.len(),
                    "anonymous",
                    value_span(file, off),
                ));
            }
        }
        let max_connections = self
            .field("max_connections")
            .and_then(|l| l.text.parse().ok());
        let rate_limited = ["max_conn_rate", "limiter.connection.rate"]
            .iter()
            .filter_map(|k| self.field(k))
            .any(|l| l.text != "infinity");
        // EMQX 5 (emqx_channel set_peercert_infos): with the certificate's
        // CN as username on a listener that requires certificates, the
        // client cannot choose it; otherwise an unauthenticated client's
        // username is whatever it sends. A mountpoint puts everything its
        // clients do under a prefix no other client uses.
        let cert_identity = cert_required && tls.as_ref().is_some_and(|t| t.identity_as_username);
        let usernames_unproven =
            anonymous_by_config(authn_off, authn_global, authn_own) && !cert_identity;
        let isolated = self
            .field("mountpoint")
            .is_some_and(|l| !l.text.trim_matches('"').is_empty());
        Some(ListenerFact {
            engine: Some(Engine::Emqx),
            name: format!("{}.{}", self.kind, self.name),
            port,
            bind: host,
            tls,
            anonymous,
            max_connections,
            rate_limited,
            health_check_only: false,
            usernames_unproven,
            isolated,
            span,
        })
    }

    /// The port and host of `bind`, or the kind's default port.
    fn address(&self) -> (Option<u16>, Option<String>) {
        match self.field("bind") {
            Some(b) => {
                let port = super::haproxy::addr_port(&b.text).or_else(|| b.text.parse().ok());
                let host = if b.text.contains(':') {
                    bind_host(&b.text)
                } else {
                    None
                };
                (port, host)
            }
            None => (
                DEFAULT_PORTS
                    .iter()
                    .find(|(k, _)| *k == self.kind)
                    .map(|(_, p)| *p),
                None,
            ),
        }
    }

    /// An ssl or wss listener's `ssl_options`.
    fn tls(&self, identity: Option<&Leaf>) -> TlsFact {
        let file = self.file;
        let opt = |k: &str| self.field(&format!("ssl_options.{k}"));
        let verify = opt("verify").is_some_and(|l| l.text == "verify_peer");
        let fail = opt("fail_if_no_peer_cert").is_some_and(|l| l.text == "true");
        let (tls13, tls12): (Vec<String>, Vec<String>) = opt("ciphers")
            .map(|l| {
                l.text
                    .split(',')
                    .map(|c| c.trim().trim_matches('"').to_string())
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .partition(|c| c.starts_with("TLS_"));
        TlsFact {
            min_version: opt("versions").and_then(|l| min_version(&l.text)),
            min_version_span: opt("versions").map(|l| value_span(file, l)),
            ciphers: tls12,
            ciphers_span: opt("ciphers").map(|l| value_span(file, l)),
            ciphers_tls13: tls13,
            require_client_cert: verify && fail,
            require_span: if verify && fail {
                opt("fail_if_no_peer_cert").map(|l| value_span(file, l))
            } else {
                opt("verify")
                    .or(opt("fail_if_no_peer_cert"))
                    .map(|l| value_span(file, l))
            },
            identity_as_username: identity.is_some(),
            identity_span: identity.map(|l| value_span(file, l)),
        }
    }
}

/// Clients of a listener get in without authenticating: `enable_authn =
/// false`, or no authenticator (listener or global) at all.
fn anonymous_by_config(authn_off: bool, authn_global: bool, authn_own: bool) -> bool {
    authn_off || !(authn_global || authn_own)
}

/// The dashboard's HTTP(S) listeners and the credentials it starts with.
fn dashboard(file: &Arc<SourceFile>, leaves: &[Leaf], facts: &mut Facts) {
    let get = |path: &str| leaves.iter().find(|l| l.path == path);
    let user = get("dashboard.default_username")
        .map(|l| l.text.clone())
        .unwrap_or_else(|| "admin".into());
    let password = get("dashboard.default_password");
    let credentials = match password {
        None => "default",
        Some(p) if is_reference(&p.text) => "reference",
        Some(p) => classify_password(&user, &p.text),
    };
    if let Some(p) = password {
        facts.secrets.push(SecretFact {
            what: "EMQX dashboard default password".into(),
            inline: (!is_reference(&p.text)).then(|| p.text.clone()),
            span: value_span(file, p),
        });
    }
    for (scheme, path, default) in [
        ("http", "dashboard.listeners.http.bind", Some("18083")),
        ("https", "dashboard.listeners.https.bind", None),
    ] {
        let bind = get(path);
        let text = bind.map(|b| b.text.as_str()).or(default);
        let Some(text) = text else { continue };
        if text == "0" || get(&path.replace(".bind", ".enable")).is_some_and(|l| l.text == "false")
        {
            continue;
        }
        let host = if text.contains(':') {
            bind_host(text)
        } else {
            None
        };
        let port = super::haproxy::addr_port(text)
            .map(|p| p.to_string())
            .unwrap_or_else(|| text.to_string());
        let span = match (credentials, password, bind) {
            ("default", _, Some(b)) => value_span(file, b),
            (_, Some(p), _) => value_span(file, p),
            (_, None, Some(b)) => value_span(file, b),
            _ => Span::point(file, 1, 1),
        };
        facts.admin.push(AdminFact {
            what: format!(
                "the EMQX dashboard ({scheme}, port {port}{})",
                if bind.is_none() {
                    " by EMQX's default"
                } else {
                    ""
                }
            ),
            bind: host,
            credentials: credentials.into(),
            span,
        });
    }
}

pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path);
    if name == "emqx.conf" || name.ends_with(".hocon") || name == "base.hocon" {
        return true;
    }
    if [
        ".yml", ".yaml", ".toml", ".json", ".sh", ".pem", ".cfg", ".service", ".h",
    ]
    .iter()
    .any(|e| name.ends_with(e))
    {
        return false;
    }
    const ROOTS: &[&str] = &[
        "node",
        "cluster",
        "listeners",
        "listener",
        "zone",
        "mqtt",
        "authorization",
        "authentication",
        "dashboard",
        "allow_anonymous",
        "acl_nomatch",
        "acl_file",
    ];
    let mut hits = 0;
    // `log.file {`, `listeners.ssl.default {`, `mqtt.max_inflight = 32`: a
    // root of the EMQX 5 schema written the HOCON way. One is enough for the
    // single-topic files EMQX ships (`rel/config/examples/*.conf.example`).
    let mut hocon_roots = 0;
    for l in text.lines() {
        let t = l.trim_start();
        if t.starts_with('#') || t.starts_with('{') || t.starts_with('%') {
            continue;
        }
        let key: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let rest = t[key.len()..].trim_start();
        let root = key.split('.').next().unwrap_or("");
        if ROOTS.contains(&root)
            && (rest.starts_with('=') || rest.starts_with('{') || rest.starts_with(':'))
        {
            hits += 1;
        }
        if crate::formats::emqx_keys::is_root(root)
            && (rest.starts_with('{') || (key.contains('.') && rest.starts_with('=')))
        {
            hocon_roots += 1;
        }
    }
    hits >= 2 || hocon_roots >= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Origin;
    use crate::spec::model::Environment;

    fn run(text: &str) -> Result<Facts, Diagnostic> {
        let file = SourceFile::new("emqx.conf", text);
        let input = Input {
            path: "emqx.conf".into(),
            file,
        };
        let mut facts = Facts::new(Origin::File, Environment::Production);
        extract(&input, &mut facts).map(|_| facts)
    }

    #[test]
    fn no_match_allow_written_or_left_to_the_default() {
        let f = run("authorization {\n  no_match = allow\n}\n").unwrap();
        let (s, written) = f.acl_model.no_match_allow.clone().unwrap();
        assert!(written && (s.line, s.col) == (2, 14), "{s:?}");
        let f = run("authorization {\n  deny_action = ignore\n}\n").unwrap();
        assert_eq!(
            f.acl_model.no_match_allow.map(|(s, w)| (s.line, w)),
            Some((2, false))
        );
        let f = run("authorization {\n  no_match = deny\n}\n").unwrap();
        assert!(f.acl_model.no_match_allow.is_none());
        // No authorization block: a fragment or an untouched default, not judged.
        let f = run("node {\n  name = \"emqx@10.0.0.1\"\n}\n").unwrap();
        assert!(f.acl_model.no_match_allow.is_none());
    }

    #[test]
    fn reads_the_generated_config() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/golden/emqx-cluster/emqx/mqtt1/emqx.conf"
        ))
        .unwrap();
        let f = run(&text).unwrap();
        assert!(f
            .emqx_keys
            .iter()
            .any(|k| k.path == "listeners.ssl.devices.ssl_options.fail_if_no_peer_cert"));
        assert!(f.cluster.clustered);
        let names: Vec<&str> = f.listeners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["ssl.devices", "tcp.health", "tcp.internal"]);
        let devices = &f.listeners[0];
        assert_eq!(devices.port, 8883);
        assert!(devices.bind.is_none() && !devices.anonymous);
        let tls = devices.tls.as_ref().unwrap();
        assert!(tls.require_client_cert && tls.identity_as_username);
        assert_eq!(tls.min_version.as_deref(), Some("1.3"));
        assert_eq!(tls.ciphers_tls13.len(), 3);
        assert!(f.listeners[1].anonymous);
        assert_eq!(f.listeners[2].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(f.acl_default_deny, Some(true));
        assert_eq!(f.admin.len(), 1);
        assert_eq!(f.admin[0].credentials, "default");
        assert_eq!(f.admin[0].bind.as_deref(), Some("10.0.1.10"));
        assert_eq!(f.ha.cert_identity.len(), 1);
        assert_eq!(f.nodes[0].name, "emqx@10.0.1.10");
    }

    #[test]
    fn default_listeners_and_dashboard() {
        let f = run("node.name = \"emqx@10.0.0.1\"\nmqtt.server_keepalive = 120\ndashboard.listeners.http.bind = \"127.0.0.1:18083\"\ndashboard.default_password = \"${EMQX_DASHBOARD_PASSWORD}\"\ncluster.discovery_strategy = singleton\n").unwrap();
        let names: Vec<&str> = f.listeners.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            ["ssl.default", "tcp.default", "ws.default", "wss.default"]
        );
        assert!(f.listeners[1].anonymous && f.listeners[1].port == 1883);
        assert_eq!(f.admin[0].credentials, "reference");
        assert_eq!(f.admin[0].bind.as_deref(), Some("127.0.0.1"));
        assert_eq!(f.ha.keepalives[0].seconds, 120);
        assert_eq!(f.ha.single_node.len(), 1);
        assert!(f.secrets[0].inline.is_none());
        let f = run("dashboard.listeners.http.bind = 0\ndashboard.default_password = public\nlisteners.tcp.default.enable = false\n").unwrap();
        assert!(f.admin.is_empty());
        assert_eq!(f.secrets[0].inline.as_deref(), Some("public"));
        assert!(!f.listeners.iter().any(|l| l.name == "tcp.default"));
    }

    #[test]
    fn four_x_files_are_read_line_by_line() {
        // A 4.x file that HOCON cannot read is still read line by line.
        let f = run("node.name = emqx@127.0.0.1\nlistener.tcp.external = 0.0.0.0:1883\nflapping_detect_policy = 30, 1m, 5m\nallow_anonymous = true\n").unwrap();
        let paths: Vec<&str> = f.emqx_keys.iter().map(|k| k.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "node.name",
                "listener.tcp.external",
                "flapping_detect_policy",
                "allow_anonymous"
            ]
        );
        assert_eq!(f.emqx_keys[1].span.line, 2);
    }

    #[test]
    fn garbage_is_a_positioned_error() {
        let e = run("mqtt {\n  max_inflight = \n").unwrap_err();
        assert!(e.message.contains("emqx.conf"));
        for t in [
            "{",
            "}",
            "\"",
            "a.b.c {",
            "listeners.ssl.x.bind = \"::\"",
            "\u{0}",
            "dashboard.listeners.http.bind = {}",
        ] {
            let _ = run(t);
        }
    }

    #[test]
    fn detection() {
        assert!(detect(Path::new("emqx.conf"), ""));
        assert!(detect(
            Path::new("broker.conf"),
            "node {\n name = \"a@b\"\n}\nmqtt {\n}\n"
        ));
        assert!(detect(
            Path::new("old.conf"),
            "listener.tcp.external = 0.0.0.0:1883\nallow_anonymous = true\n"
        ));
        assert!(!detect(
            Path::new("mosquitto.conf"),
            "listener 1883\nallow_anonymous false\n"
        ));
        assert!(!detect(
            Path::new("99-mqtt.conf"),
            "net.core.somaxconn = 65535\nfs.file-max = 100\n"
        ));
        // The one-topic examples EMQX ships (rel/config/examples/*.conf.example).
        assert!(detect(
            Path::new("mqtt.conf.example"),
            "## MQTT settings\nmqtt {\n    max_qos_allowed = 2\n}\n"
        ));
        assert!(detect(
            Path::new("log.file.conf.example"),
            "log.file {\n    level = warning\n}\n"
        ));
        assert!(!detect(
            Path::new("rumqttd.conf"),
            "id = 0\n[router]\nmax_connections = 10\n"
        ));
    }
}
