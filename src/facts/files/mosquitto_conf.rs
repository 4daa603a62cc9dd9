//! mosquitto.conf (Mosquitto 2.0), read the way Mosquitto reads it.
//!
//! A line whose first character is `#` is a comment; otherwise leading
//! spaces are skipped and the directive's name runs to the next space (only
//! spaces separate: `allow_anonymous<TAB>true` is one unknown name, and an
//! indented `# comment` is a directive named `#`). Trailing whitespace is
//! dropped; string values run to the end of the line, other values are
//! their first word.
//!
//! Options are positional: listener options apply to the `listener` declared
//! above them, and before any `listener` line to Mosquitto's default
//! listener, which most of them make it open on port 1883 on all interfaces.
//! Security options (`allow_anonymous`, `password_file`, `plugin`, ...) are
//! global unless `per_listener_settings true`, then per listener.
//! `include_dir` is recorded but not followed: audit the included files too.
//!
//! Facts: every directive (known to Mosquitto 2.0, misplaced), listeners with
//! their TLS settings and anonymous access, plugins, inline secrets, logging
//! and persistence.
//!
//! Cost: linear in the file's bytes: one pass over its lines, directives looked
//! up in fixed tables (a "did you mean" compares an unknown name only with
//! directives of a similar length).

use std::path::Path;
use std::sync::Arc;

use super::{parse_error, Input};
use crate::diag::Diagnostic;
use crate::facts::{
    DirectiveFact, Facts, ListenerFact, LoggingFact, NodeFact, PersistenceFact, PlaintextFact,
    PlaintextKind, PluginFact, SecretFact, TlsFact,
};
use crate::source::{SourceFile, Span};
use crate::spec::model::Engine;

/// How a directive applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Global,
    /// Global, or per listener with `per_listener_settings true`.
    Security,
    /// `listener PORT [ADDRESS]`.
    Listener,
    /// Configures the listener above it; before any `listener` line, the
    /// default listener, which it makes Mosquitto open.
    ListenerOpening,
    /// Configures the listener above it (the default listener before any
    /// `listener` line), without opening it.
    ListenerOption,
    /// Configures the default listener only (deprecated `port`, `bind_address`).
    DefaultListener,
    /// A bridge option, after a `connection` line.
    Bridge,
}

use Class::*;

/// Every directive Mosquitto 2.0 knows (checked against 2.0.11).
pub const DIRECTIVES: &[(&str, Class)] = &[
    ("acl_file", Security),
    ("allow_anonymous", Security),
    ("allow_duplicate_messages", Global),
    ("allow_zero_length_clientid", Security),
    ("auth_plugin", Security),
    ("auth_plugin_deny_special_chars", Global),
    ("auto_id_prefix", Security),
    ("autosave_interval", Global),
    ("autosave_on_changes", Global),
    ("bind_address", DefaultListener),
    ("bind_interface", ListenerOpening),
    ("cafile", ListenerOpening),
    ("capath", ListenerOpening),
    ("certfile", ListenerOpening),
    ("check_retain_source", Global),
    ("ciphers", ListenerOpening),
    ("ciphers_tls1.3", ListenerOpening),
    ("clientid_prefixes", Global),
    ("connection_messages", Global),
    ("crlfile", ListenerOpening),
    ("dhparamfile", ListenerOpening),
    ("http_dir", ListenerOption),
    ("include_dir", Global),
    ("keyfile", ListenerOpening),
    ("listener", Listener),
    ("log_dest", Global),
    ("log_facility", Global),
    ("log_timestamp", Global),
    ("log_timestamp_format", Global),
    ("log_type", Global),
    ("max_connections", ListenerOpening),
    ("max_inflight_bytes", Global),
    ("max_inflight_messages", Global),
    ("max_keepalive", Global),
    ("max_packet_size", Global),
    ("max_qos", ListenerOpening),
    ("max_queued_bytes", Global),
    ("max_queued_messages", Global),
    ("max_topic_alias", ListenerOption),
    ("memory_limit", Global),
    ("message_size_limit", Global),
    ("mount_point", ListenerOption),
    ("password_file", Security),
    ("per_listener_settings", Global),
    ("persistence", Global),
    ("persistence_file", Global),
    ("persistence_location", Global),
    ("persistent_client_expiration", Global),
    ("pid_file", Global),
    ("plugin", Security),
    ("port", DefaultListener),
    ("protocol", ListenerOption),
    ("psk_file", Security),
    ("psk_hint", ListenerOpening),
    ("queue_qos0_messages", Global),
    ("require_certificate", ListenerOpening),
    ("retain_available", Global),
    ("retry_interval", Global),
    ("set_tcp_nodelay", Global),
    ("socket_domain", ListenerOpening),
    ("sys_interval", Global),
    ("tls_engine", ListenerOpening),
    ("tls_engine_kpass_sha1", ListenerOption),
    ("tls_keyform", ListenerOption),
    ("tls_version", ListenerOption),
    ("upgrade_outgoing_qos", Global),
    ("use_identity_as_username", ListenerOpening),
    ("use_subject_as_username", ListenerOpening),
    ("use_username_as_clientid", ListenerOpening),
    ("user", Global),
    ("websockets_headers_size", Global),
    ("websockets_log_level", Global),
    // Bridges.
    ("address", Bridge),
    ("addresses", Bridge),
    ("bridge_alpn", Bridge),
    ("bridge_attempt_unsubscribe", Bridge),
    ("bridge_bind_address", Bridge),
    ("bridge_cafile", Bridge),
    ("bridge_capath", Bridge),
    ("bridge_certfile", Bridge),
    ("bridge_identity", Bridge),
    ("bridge_insecure", Bridge),
    ("bridge_keyfile", Bridge),
    ("bridge_max_packet_size", Bridge),
    ("bridge_outgoing_retain", Bridge),
    ("bridge_protocol_version", Bridge),
    ("bridge_psk", Bridge),
    ("bridge_require_ocsp", Bridge),
    ("bridge_tls_version", Bridge),
    ("cleansession", Bridge),
    ("clientid", Bridge),
    ("connection", Bridge),
    ("idle_timeout", Bridge),
    ("keepalive_interval", Bridge),
    ("local_cleansession", Bridge),
    ("local_clientid", Bridge),
    ("local_password", Bridge),
    ("local_username", Bridge),
    ("notification_topic", Bridge),
    ("notifications", Bridge),
    ("notifications_local_only", Bridge),
    ("password", Bridge),
    ("remote_clientid", Bridge),
    ("remote_password", Bridge),
    ("remote_username", Bridge),
    ("restart_timeout", Bridge),
    ("round_robin", Bridge),
    ("start_type", Bridge),
    ("threshold", Bridge),
    ("topic", Bridge),
    ("try_private", Bridge),
    ("username", Bridge),
];

/// Directive families: any name with the prefix.
/// Directives Mosquitto 2.1 added (the `strcmp(token, ...)` names of
/// `src/conf.c` at v2.1.2 that v2.0.18 lacks): valid on a 2.1 broker, an
/// "Unknown configuration variable" on 2.0, the release audited by default.
pub const SINCE_2_1: &[&str] = &[
    "accept_protocol_versions",
    "bridge_ciphers",
    "bridge_ciphers_tls1.3",
    "bridge_max_topic_alias",
    "bridge_receive_maximum",
    "bridge_reload_type",
    "bridge_session_expiry_interval",
    "bridge_tcp_keepalive",
    "bridge_tcp_user_timeout",
    "bridge_tls_use_os_certs",
    "disable_client_cert_date_checks",
    "enable_control_api",
    "enable_proxy_protocol",
    "global_max_clients",
    "global_max_connections",
    "global_plugin",
    "listener_allow_anonymous",
    "listener_auto_id_prefix",
    "max_topic_alias_broker",
    "packet_buffer_size",
    "plugin_load",
    "plugin_use",
    "proxy_protocol_v2_require_tls",
    "retain_expiry_interval",
    "websockets_origin",
];

pub const PREFIXES: &[(&str, Class)] = &[("plugin_opt_", Security), ("auth_opt_", Security)];

/// Directives earlier versions knew and Mosquitto 2.0 rejects.
pub const REMOVED: &[(&str, &str)] = &[("store_clean_interval", "`store_clean_interval` is obsolete (dropped from the documentation in 1.6) and Mosquitto 2.0 rejects it: delete the line")];

/// Options that name a password, key or token (`plugin_opt_NAME` words).
const SECRET_WORDS: &[&str] = &[
    "password", "passwd", "pass", "pwd", "secret", "token", "apikey", "psk", "key",
];
/// Words that make an option a reference to a secret, not the secret itself.
const REFERENCE_WORDS: &[&str] = &["file", "path", "dir", "filename", "env"];

/// The TLS <= 1.2 cipher list Mosquitto uses when `ciphers` is not set.
pub const DEFAULT_CIPHERS: &str = "DEFAULT:!aNULL:!eNULL:!LOW:!EXPORT:!SSLv2:@STRENGTH";

/// How a directive applies; None for a name Mosquitto 2.0 does not know.
pub fn class(name: &str) -> Option<Class> {
    DIRECTIVES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .or_else(|| {
            PREFIXES
                .iter()
                .find(|(p, _)| name.len() > p.len() && name.starts_with(p))
                .map(|(_, c)| *c)
        })
}

/// How to fix an unknown directive name (for MQ-CFG-003).
pub fn unknown_help(name: &str) -> Option<String> {
    if name.contains('\t') {
        let word = name.split('\t').find(|w| !w.is_empty()).unwrap_or("");
        return Some(match (class(word).is_some(), name.starts_with('\t')) {
            (true, true) => format!("Mosquitto skips spaces before a directive, not tabs: remove the tab before `{word}`"),
            (true, false) => format!("separate `{word}` and its value with a space: Mosquitto splits on spaces only, so the tab makes one unknown name"),
            (false, _) => "replace the tabs with spaces: Mosquitto splits on spaces only".into(),
        });
    }
    if name.starts_with('#') {
        return Some("Mosquitto only reads `#` as a comment in the first column: remove the indentation before `#`".into());
    }
    if let Some((_, why)) = REMOVED.iter().find(|(n, _)| *n == name) {
        return Some(why.to_string());
    }
    if let Some((n, _)) = DIRECTIVES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Some(format!("directives are case-sensitive: write `{n}`"));
    }
    crate::suggest::did_you_mean(name, DIRECTIVES.iter().map(|(n, _)| *n))
        .map(|s| format!("did you mean `{s}`?"))
}

/// One directive line: its name and value with their columns (1-based, in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub line: usize,
    pub name: String,
    pub name_col: usize,
    /// The rest of the line after the name and its separating spaces.
    pub value: String,
    pub value_col: usize,
}

impl Line {
    /// The first word of the value (booleans, numbers).
    pub fn word(&self) -> &str {
        self.value.split(' ').next().unwrap_or("")
    }
}

/// Splits a mosquitto.conf into its directive lines. Errors: (line, column, message).
pub fn parse(text: &str) -> Result<Vec<Line>, (usize, usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        if let Some(pos) = raw.find('\0') {
            return Err((
                line,
                raw[..pos].chars().count() + 1,
                "a NUL byte: this is not a text config".into(),
            ));
        }
        let trimmed = raw.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let chars: Vec<char> = trimmed.chars().collect();
        let mut k = 0;
        while k < chars.len() && chars[k] == ' ' {
            k += 1;
        }
        let name_col = k + 1;
        let start = k;
        while k < chars.len() && chars[k] != ' ' {
            k += 1;
        }
        let name: String = chars[start..k].iter().collect();
        while k < chars.len() && chars[k] == ' ' {
            k += 1;
        }
        let value: String = chars[k..].iter().collect();
        out.push(Line {
            line,
            name,
            name_col,
            value,
            value_col: k + 1,
        });
    }
    Ok(out)
}

pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path);
    if name.contains("mosquitto") && name.ends_with(".conf") {
        return true;
    }
    // A fragment of `include_dir` (conf.d) counts like a file of the
    // broker's own directory.
    let in_mosquitto_dir = path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c.contains("mosquitto") || c == "conf.d"
    });
    let Ok(lines) = parse(text) else { return false };
    let lines = &lines[..lines.len().min(500)];
    let known = lines.iter().filter(|l| class(&l.name).is_some()).count();
    let telling = [
        "listener",
        "allow_anonymous",
        "per_listener_settings",
        "persistence_location",
        "password_file",
        "acl_file",
        "require_certificate",
        "use_identity_as_username",
        "connection_messages",
        "autosave_interval",
        "max_inflight_messages",
        "max_queued_messages",
        "persistent_client_expiration",
        "log_dest",
        // A bridge fragment.
        "connection",
        "remote_username",
        "remote_password",
        "remote_clientid",
        "bridge_cafile",
        "bridge_capath",
        "bridge_protocol_version",
    ];
    // An auth plugin's fragment (`auth_plugin` + its `auth_opt_*` lines) is
    // Mosquitto's too: the plugin counts once, its options once.
    let plugin = lines
        .iter()
        .any(|l| l.name == "auth_plugin" || l.name == "plugin");
    let plugin_opts = lines
        .iter()
        .any(|l| l.name.starts_with("auth_opt_") || l.name.starts_with("plugin_opt_"));
    let telling = lines
        .iter()
        .filter(|l| telling.contains(&l.name.as_str()))
        .count()
        + usize::from(plugin)
        + usize::from(plugin_opts);
    !lines.is_empty()
        && known * 10 >= lines.len() * 8
        && (telling >= 2 || (in_mosquitto_dir && name.ends_with(".conf") && telling >= 1))
}

/// A listener while the file is read.
#[derive(Default)]
struct Listener {
    port: u16,
    bind: Option<String>,
    span: Option<Span>,
    /// The default listener: Mosquitto opens it.
    opened: bool,
    tls_files: bool,
    psk: bool,
    tls_version: Option<(String, Span)>,
    ciphers: Option<(String, Span)>,
    ciphers13: Option<(String, Span)>,
    require: Option<(bool, Span)>,
    identity: Option<(bool, Span)>,
    max_connections: Option<i64>,
    anonymous: Option<(bool, Span)>,
    /// A `password_file` or auth plugin checks the usernames clients send.
    checks_usernames: bool,
}

/// The span of `len` characters at `col` of `line`.
fn span(file: &Arc<SourceFile>, line: usize, col: usize, len: usize) -> Span {
    Span {
        file: file.clone(),
        line,
        col,
        end_line: line,
        end_col: col + len.max(1),
    }
}

fn name_span(file: &Arc<SourceFile>, l: &Line) -> Span {
    span(file, l.line, l.name_col, l.name.chars().count())
}

fn value_span(file: &Arc<SourceFile>, l: &Line) -> Span {
    if l.value.is_empty() {
        return name_span(file, l);
    }
    span(file, l.line, l.value_col, l.value.chars().count())
}

fn word_span(file: &Arc<SourceFile>, l: &Line) -> Span {
    if l.value.is_empty() {
        return name_span(file, l);
    }
    span(file, l.line, l.value_col, l.word().chars().count())
}

fn line_span(file: &Arc<SourceFile>, l: &Line) -> Span {
    let end = if l.value.is_empty() {
        l.name_col + l.name.chars().count()
    } else {
        l.value_col + l.value.chars().count()
    };
    Span {
        file: file.clone(),
        line: l.line,
        col: l.name_col,
        end_line: l.line,
        end_col: end,
    }
}

/// A boolean value, as Mosquitto reads it (`true`/`false` only).
fn boolean(file: &Arc<SourceFile>, l: &Line) -> Result<bool, Diagnostic> {
    match l.word() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(parse_error(
            file,
            l.line,
            l.value_col,
            "mosquitto.conf",
            format!(
                "`{}` takes `true` or `false`, not `{other}` (Mosquitto refuses to start)",
                l.name
            ),
        )),
    }
}

/// Whether a plugin option carries a secret itself (not a reference to one).
fn secret_option(option: &str) -> bool {
    let words: Vec<String> = option
        .split(['_', '-', '.'])
        .map(str::to_ascii_lowercase)
        .collect();
    let secret = words.iter().any(|w| {
        SECRET_WORDS.contains(&w.as_str())
            || w.ends_with("password")
            || w.ends_with("secret")
            || w.ends_with("token")
    });
    secret && !words.iter().any(|w| REFERENCE_WORDS.contains(&w.as_str()))
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    let lines = parse(&file.text)
        .map_err(|(line, col, msg)| parse_error(file, line, col, "mosquitto.conf", msg))?;
    let mut reader = Reader::new(file, lines.iter().any(|l| l.name == "listener"));
    // A line Mosquitto refuses is reported at its position; the other
    // lines are still read, so the rest of the file is audited.
    let mut refused = None;
    for l in &lines {
        if let Err(d) = reader.read(l) {
            refused.get_or_insert(d);
        }
    }
    reader.finish(facts);
    refused.map_or(Ok(()), Err)
}

/// Logging and persistence directives, as read.
#[derive(Default)]
struct Logging {
    dests: Vec<(String, Span)>,
    types: Vec<(String, Span)>,
    connection_messages: Option<(bool, Span)>,
    timestamp: Option<(bool, Span)>,
    persistence: Option<(bool, Span)>,
    autosave: Option<u64>,
    autosave_on_changes: bool,
}

/// What the file says so far, gathered in one pass over its lines.
struct Reader<'a> {
    file: &'a Arc<SourceFile>,
    has_listener_line: bool,
    directives: Vec<DirectiveFact>,
    plugins: Vec<PluginFact>,
    secrets: Vec<SecretFact>,
    /// Index 0: the default listener.
    listeners: Vec<Listener>,
    /// The listener the options apply to (0 before any `listener` line).
    current: usize,
    per_listener: bool,
    security_seen: bool,
    plugin_seen: bool,
    global_anonymous: Option<(bool, Span)>,
    global_checks_usernames: bool,
    logging: Logging,
    bridges: Vec<BridgeConn>,
}

/// A bridge (`connection NAME` and the options below it) as read.
struct BridgeConn {
    name: String,
    connection: Span,
    address: String,
    /// `bridge_cafile`, `bridge_capath`, `bridge_psk` or
    /// `bridge_tls_use_os_certs`: the bridge connects with TLS.
    tls: bool,
    /// The first `remote_password` or `remote_username` value.
    credentials: Option<(String, Span)>,
}

impl<'a> Reader<'a> {
    fn new(file: &'a Arc<SourceFile>, has_listener_line: bool) -> Self {
        Reader {
            file,
            has_listener_line,
            directives: Vec::new(),
            plugins: Vec::new(),
            secrets: Vec::new(),
            listeners: vec![Listener {
                port: 1883,
                ..Listener::default()
            }],
            current: 0,
            per_listener: false,
            security_seen: false,
            plugin_seen: false,
            global_anonymous: None,
            global_checks_usernames: false,
            logging: Logging::default(),
            bridges: Vec::new(),
        }
    }

    /// Reads one directive line: dispatches on its class, then records it.
    fn read(&mut self, l: &Line) -> Result<(), Diagnostic> {
        let class = class(&l.name);
        let misplaced = match class {
            Some(Listener) => self.listener(l).map(|()| false)?,
            Some(DefaultListener) => {
                self.default_listener(l);
                false
            }
            Some(c @ (ListenerOpening | ListenerOption)) => self.listener_option(c, l)?,
            Some(Security) => self.security(l)?,
            Some(Bridge) => {
                self.bridge(l);
                false
            }
            Some(Global) => self.global(l)?,
            None if l.name == "bridge_tls_use_os_certs" => {
                self.bridge_transport(l);
                false
            }
            None => false,
        };
        self.directives.push(DirectiveFact {
            format: "mosquitto",
            name: l.name.clone(),
            known: class.is_some(),
            misplaced,
            value: l.value.clone(),
            span: name_span(self.file, l),
        });
        Ok(())
    }

    /// `listener PORT [ADDRESS]`: a new listener the options below apply to.
    fn listener(&mut self, l: &Line) -> Result<(), Diagnostic> {
        let file = self.file;
        let port = l.word();
        let port: u16 = port.parse().map_err(|_| {
            let given = if port.is_empty() {
                String::new()
            } else {
                format!(", not `{port}`")
            };
            parse_error(
                file,
                l.line,
                l.value_col,
                "mosquitto.conf",
                format!("`listener` needs a port number from 0 to 65535{given}"),
            )
        })?;
        let bind = l
            .value
            .split(' ')
            .filter(|w| !w.is_empty())
            .nth(1)
            .map(str::to_string);
        self.listeners.push(Listener {
            port,
            bind,
            span: Some(line_span(file, l)),
            ..Listener::default()
        });
        self.current = self.listeners.len() - 1;
        Ok(())
    }

    /// `port` or `bind_address`: opens and configures the default listener.
    fn default_listener(&mut self, l: &Line) {
        let d = &mut self.listeners[0];
        d.opened = true;
        d.span.get_or_insert_with(|| line_span(self.file, l));
        if l.name == "port" {
            if let Ok(p) = l.word().parse() {
                d.port = p;
            }
        } else {
            d.bind = Some(l.word().to_string());
        }
    }

    /// An option of the listener above it. Returns whether it is misplaced.
    fn listener_option(&mut self, class: Class, l: &Line) -> Result<bool, Diagnostic> {
        let file = self.file;
        let before_listeners = self.current == 0;
        let misplaced = before_listeners && (self.has_listener_line || l.name == "mount_point");
        let target = &mut self.listeners[self.current];
        if before_listeners && class == ListenerOpening {
            target.opened = true;
            target.span.get_or_insert_with(|| line_span(file, l));
        }
        match l.name.as_str() {
            "certfile" | "keyfile" => target.tls_files = true,
            "psk_hint" => target.psk = true,
            "tls_version" => target.tls_version = Some((l.word().to_string(), word_span(file, l))),
            "ciphers" => target.ciphers = Some((l.value.clone(), value_span(file, l))),
            "ciphers_tls1.3" => target.ciphers13 = Some((l.value.clone(), value_span(file, l))),
            "require_certificate" => target.require = Some((boolean(file, l)?, line_span(file, l))),
            "use_identity_as_username" | "use_subject_as_username" => {
                let on = boolean(file, l)?;
                // Either option turns the identity on.
                if on || target.identity.is_none() {
                    target.identity = Some((on, line_span(file, l)));
                }
            }
            "max_connections" => target.max_connections = l.word().parse().ok(),
            _ => {}
        }
        Ok(misplaced)
    }

    /// A security option: a plugin option, or one that is global or per
    /// listener. Returns whether it is misplaced.
    fn security(&mut self, l: &Line) -> Result<bool, Diagnostic> {
        match PREFIXES.iter().find_map(|(p, _)| l.name.strip_prefix(p)) {
            Some(option) => {
                self.plugin_option(option, l);
                Ok(!self.plugin_seen)
            }
            None => {
                self.security_seen = true;
                match l.name.as_str() {
                    "allow_anonymous" => self.allow_anonymous(l)?,
                    "password_file" => self.checks_usernames(),
                    "plugin" | "auth_plugin" => self.plugin(l),
                    _ => {}
                }
                Ok(false)
            }
        }
    }

    /// `plugin_opt_*`, `auth_opt_*`: a deprecated directive, or an inline secret.
    fn plugin_option(&mut self, option: &str, l: &Line) {
        if l.name.starts_with("auth_opt_") {
            self.plugins.push(PluginFact {
                directive: l.name.clone(),
                path: None,
                deprecated: true,
                span: name_span(self.file, l),
            });
        }
        if secret_option(option) {
            self.secrets.push(SecretFact {
                what: format!("plugin option `{}`", l.name),
                inline: Some(l.value.clone()),
                span: value_span(self.file, l),
            });
        }
    }

    fn allow_anonymous(&mut self, l: &Line) -> Result<(), Diagnostic> {
        let v = Some((boolean(self.file, l)?, line_span(self.file, l)));
        if self.per_listener {
            self.listeners[self.current].anonymous = v;
        } else {
            self.global_anonymous = v;
        }
        Ok(())
    }

    /// A password file or auth plugin: usernames are checked, globally or on
    /// the current listener.
    fn checks_usernames(&mut self) {
        if self.per_listener {
            self.listeners[self.current].checks_usernames = true;
        } else {
            self.global_checks_usernames = true;
        }
    }

    /// `plugin PATH`, `auth_plugin PATH`.
    fn plugin(&mut self, l: &Line) {
        self.checks_usernames();
        self.plugin_seen = true;
        self.plugins.push(PluginFact {
            directive: l.name.clone(),
            path: Some(l.value.clone()).filter(|v| !v.is_empty()),
            deprecated: l.name == "auth_plugin",
            span: line_span(self.file, l),
        });
    }

    /// A bridge option: only inline passwords and keys, and whether the
    /// bridge sends credentials without TLS, matter.
    fn bridge(&mut self, l: &Line) {
        self.bridge_transport(l);
        let what = match l.name.as_str() {
            "remote_password" | "local_password" | "password" => {
                format!("bridge password (`{}`)", l.name)
            }
            "bridge_psk" => "bridge pre-shared key (`bridge_psk`)".into(),
            _ => return,
        };
        self.secrets.push(SecretFact {
            what,
            inline: Some(l.value.clone()),
            span: value_span(self.file, l),
        });
    }

    /// `connection` opens a bridge; its TLS options and credentials follow.
    fn bridge_transport(&mut self, l: &Line) {
        if l.name == "connection" {
            self.bridges.push(BridgeConn {
                name: l.word().to_string(),
                connection: line_span(self.file, l),
                address: String::new(),
                tls: false,
                credentials: None,
            });
            return;
        }
        let Some(b) = self.bridges.last_mut() else {
            return;
        };
        match l.name.as_str() {
            "address" | "addresses" => b.address = l.word().to_string(),
            "bridge_cafile" | "bridge_capath" | "bridge_psk" | "bridge_tls_use_os_certs" => {
                b.tls = true
            }
            "remote_password" | "remote_username" => {
                // The password is named rather than the username.
                let replace = match &b.credentials {
                    None => true,
                    Some((key, _)) => key != "remote_password" && l.name == "remote_password",
                };
                if replace {
                    b.credentials = Some((l.name.clone(), value_span(self.file, l)));
                }
            }
            _ => {}
        }
    }

    /// Bridges that send a username or password without TLS (MQ-TLS-001).
    fn bridge_facts(&self, facts: &mut Facts) {
        for b in self.bridges.iter().filter(|b| !b.tls) {
            let Some((key, span)) = &b.credentials else {
                continue;
            };
            facts.tls_auth.plaintext.push(PlaintextFact {
                kind: PlaintextKind::Bridge,
                what: format!(
                    "bridge `{}` sends its credentials (`{key}`) to `{}` without TLS (no `bridge_cafile`, `bridge_capath` or `bridge_psk`)",
                    b.name, b.address
                ),
                span: span.clone(),
                related: Some((b.connection.clone(), "the bridge".into())),
            });
        }
    }

    /// A global option. Returns whether it is misplaced.
    fn global(&mut self, l: &Line) -> Result<bool, Diagnostic> {
        let file = self.file;
        let log = &mut self.logging;
        match l.name.as_str() {
            "per_listener_settings" => {
                self.per_listener = boolean(file, l)?;
                return Ok(self.per_listener && self.security_seen);
            }
            "log_dest" => log.dests.push((l.word().to_string(), line_span(file, l))),
            "log_type" => log.types.push((l.word().to_string(), line_span(file, l))),
            "connection_messages" => {
                log.connection_messages = Some((boolean(file, l)?, line_span(file, l)))
            }
            "log_timestamp" => log.timestamp = Some((boolean(file, l)?, line_span(file, l))),
            "persistence" => log.persistence = Some((boolean(file, l)?, line_span(file, l))),
            "autosave_interval" => log.autosave = l.word().parse().ok(),
            "autosave_on_changes" => log.autosave_on_changes = boolean(file, l)?,
            _ => {}
        }
        Ok(false)
    }

    /// Adds what was read to the facts.
    fn finish(self, facts: &mut Facts) {
        let file = self.file;
        self.listener_facts(facts);
        self.bridge_facts(facts);
        logging_fact(file, &self.logging, facts);
        persistence_fact(file, self.logging, facts);
        facts.engine.get_or_insert(Engine::Mosquitto);
        facts.nodes.push(NodeFact {
            name: file.name.clone(),
            span: span(file, 1, 1, 1),
        });
        facts.directives.extend(self.directives);
        facts.plugins.extend(self.plugins);
        facts.secrets.extend(self.secrets);
        if !facts
            .tls_auth
            .unknown_directive_help
            .iter()
            .any(|(f, _)| *f == "mosquitto")
        {
            facts
                .tls_auth
                .unknown_directive_help
                .push(("mosquitto", unknown_help));
        }
    }

    /// Listeners: the default one when something opened it, then the declared ones.
    fn listener_facts(&self, facts: &mut Facts) {
        let base = facts.listeners.len();
        let mut out = Vec::new();
        for (i, l) in self.listeners.iter().enumerate() {
            if i == 0 && !l.opened {
                continue;
            }
            let index = base + out.len();
            out.push(self.listener_fact(i, l, index, facts));
        }
        facts.listeners.extend(out);
    }

    /// One listener's fact; `index` is its place in `facts.listeners`.
    fn listener_fact(
        &self,
        i: usize,
        l: &Listener,
        index: usize,
        facts: &mut Facts,
    ) -> ListenerFact {
        let span = l.span.clone().unwrap_or_else(|| span(self.file, 1, 1, 1));
        let anonymous = if self.per_listener {
            l.anonymous.clone()
        } else {
            self.global_anonymous.clone()
        };
        // Mosquitto 2 (security.c): with no password file or plugin on the
        // listener, an anonymous-allowed client is accepted with whatever
        // username it sends, and gets that user's ACL lines.
        let checks = if self.per_listener {
            l.checks_usernames
        } else {
            self.global_checks_usernames
        };
        if let Some((true, s)) = &anonymous {
            facts
                .tls_auth
                .listener_settings
                .push((index, "anonymous", s.clone()));
        }
        let tls = (l.tls_files || l.psk).then(|| tls_fact(l, index, facts));
        ListenerFact {
            engine: Some(Engine::Mosquitto),
            name: if i == 0 {
                "default".into()
            } else {
                l.port.to_string()
            },
            port: l.port,
            bind: l.bind.clone(),
            tls,
            anonymous: anonymous.as_ref().is_some_and(|(a, _)| *a),
            max_connections: l.max_connections.and_then(|m| u64::try_from(m).ok()),
            rate_limited: false,
            health_check_only: false,
            usernames_unproven: anonymous.as_ref().is_some_and(|(a, _)| *a)
                && !checks
                && !l.identity.as_ref().is_some_and(|(on, _)| *on),
            isolated: false,
            span,
        }
    }
}

/// A TLS listener's settings; `index` is its place in `facts.listeners`.
fn tls_fact(l: &Listener, index: usize, facts: &mut Facts) -> TlsFact {
    let min_version = l.tls_version.as_ref().map(|(v, _)| match v.as_str() {
        "tlsv1.3" => "1.3".to_string(),
        "tlsv1.2" => "1.2".to_string(),
        "tlsv1.1" => "1.1".to_string(),
        "tlsv1" | "tlsv1.0" => "1.0".to_string(),
        other => other.trim_start_matches("tlsv").to_string(),
    });
    if let Some((_, s)) = &l.ciphers13 {
        facts
            .tls_auth
            .listener_settings
            .push((index, "ciphers_tls13", s.clone()));
    }
    TlsFact {
        min_version,
        min_version_span: l.tls_version.as_ref().map(|(_, s)| s.clone()),
        ciphers: crate::facts::ciphers::split(
            l.ciphers
                .as_ref()
                .map_or(DEFAULT_CIPHERS, |(c, _)| c.as_str()),
        ),
        ciphers_span: l.ciphers.as_ref().map(|(_, s)| s.clone()),
        ciphers_tls13: l
            .ciphers13
            .as_ref()
            .map(|(c, _)| {
                c.split(':')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        require_client_cert: l.require.as_ref().is_some_and(|(r, _)| *r),
        require_span: l.require.as_ref().map(|(_, s)| s.clone()),
        identity_as_username: l.identity.as_ref().is_some_and(|(r, _)| *r),
        identity_span: l.identity.as_ref().map(|(_, s)| s.clone()),
    }
}

/// Logging: what reaches a log, with timestamps. Replaces an earlier file's
/// fact only when that one had no problem and this one has.
fn logging_fact(file: &Arc<SourceFile>, log: &Logging, facts: &mut Facts) {
    let logging_off = log.dests.iter().find(|(d, _)| d == "none");
    let notice = log.types.is_empty() || log.types.iter().any(|(t, _)| t == "notice" || t == "all");
    let conn_off = log.connection_messages.as_ref().filter(|(on, _)| !on);
    let ts_off = log.timestamp.as_ref().filter(|(on, _)| !on);
    let problem_span = logging_off
        .map(|(_, s)| s)
        .or(conn_off.map(|(_, s)| s))
        .or(if notice {
            None
        } else {
            log.types.first().map(|(_, s)| s)
        })
        .or(ts_off.map(|(_, s)| s))
        .cloned();
    let logging = LoggingFact {
        timestamps: logging_off.is_none() && ts_off.is_none(),
        connection_messages: logging_off.is_none() && conn_off.is_none() && notice,
        span: problem_span
            .clone()
            .or_else(|| log.dests.first().map(|(_, s)| s.clone()))
            .unwrap_or_else(|| span(file, 1, 1, 1)),
    };
    if facts.logging.is_none()
        || (problem_span.is_some()
            && facts
                .logging
                .as_ref()
                .is_some_and(|l| l.timestamps && l.connection_messages))
    {
        facts.logging = Some(logging);
    }
}

/// Persistence, unless an earlier file set it.
fn persistence_fact(file: &Arc<SourceFile>, log: Logging, facts: &mut Facts) {
    if facts.persistence.is_none() {
        let enabled = log.persistence.as_ref().is_some_and(|(p, _)| *p);
        facts.persistence = Some(PersistenceFact {
            enabled,
            autosave_s: (enabled && !log.autosave_on_changes)
                .then_some(log.autosave.unwrap_or(1800)),
            span: log
                .persistence
                .map(|(_, s)| s)
                .unwrap_or_else(|| span(file, 1, 1, 1)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Origin;
    use crate::spec::model::Environment;

    fn facts_of(text: &str) -> Result<Facts, Diagnostic> {
        let file = SourceFile::new("mosquitto.conf", text);
        let input = Input {
            path: "mosquitto.conf".into(),
            file,
        };
        let mut facts = Facts::new(Origin::File, Environment::Production);
        extract(&input, &mut facts)?;
        Ok(facts)
    }

    #[test]
    fn lines_split_like_mosquitto() {
        let lines = parse("# comment\n\n  listener 8883 10.0.0.1  \nallow_anonymous\ttrue\n   # indented\nciphers A:B C\r\n").unwrap();
        let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["listener", "allow_anonymous\ttrue", "#", "ciphers"]);
        assert_eq!(
            (
                lines[0].line,
                lines[0].name_col,
                lines[0].value.as_str(),
                lines[0].value_col
            ),
            (3, 3, "8883 10.0.0.1", 12)
        );
        assert_eq!(lines[3].value, "A:B C");
    }

    #[test]
    fn listener_options_apply_to_the_listener_above() {
        let f = facts_of(
            "per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\n\nlistener 8883\ncertfile /c.pem\nkeyfile /k.pem\ntls_version tlsv1.2\nrequire_certificate true\nuse_identity_as_username true\nmax_connections 500\n",
        )
        .unwrap();
        assert_eq!(f.listeners.len(), 2);
        let (local, tls) = (&f.listeners[0], &f.listeners[1]);
        assert!(local.anonymous && local.loopback() && local.tls.is_none());
        assert!(!tls.anonymous && tls.bind.is_none() && tls.max_connections == Some(500));
        let t = tls.tls.as_ref().unwrap();
        assert_eq!(t.min_version.as_deref(), Some("1.2"));
        assert!(t.require_client_cert && t.identity_as_username);
        assert_eq!(
            t.ciphers,
            [
                "DEFAULT",
                "!aNULL",
                "!eNULL",
                "!LOW",
                "!EXPORT",
                "!SSLv2",
                "@STRENGTH"
            ]
        );
        assert!(t.ciphers_span.is_none());
        assert!(f.directives.iter().all(|d| d.known && !d.misplaced));
    }

    #[test]
    fn options_before_the_first_listener_open_the_default_listener() {
        let f = facts_of("certfile /c.pem\nkeyfile /k.pem\nlistener 8883\nallow_anonymous true\n")
            .unwrap();
        assert_eq!(f.listeners.len(), 2);
        assert_eq!(
            (f.listeners[0].name.as_str(), f.listeners[0].port),
            ("default", 1883)
        );
        assert!(f.listeners[0].tls.is_some() && f.listeners[1].tls.is_none());
        let misplaced: Vec<&str> = f
            .directives
            .iter()
            .filter(|d| d.misplaced)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(misplaced, ["certfile", "keyfile"]);
        // Global allow_anonymous (per_listener_settings false) covers both.
        assert!(f.listeners.iter().all(|l| l.anonymous));
        assert_eq!(f.tls_auth.listener_settings.len(), 2);
    }

    #[test]
    fn a_file_without_listener_lines_configures_the_default_listener() {
        let f = facts_of("port 8883\ncertfile /c.pem\nkeyfile /k.pem\n").unwrap();
        assert_eq!(f.listeners.len(), 1);
        assert_eq!(f.listeners[0].port, 8883);
        assert!(f.directives.iter().all(|d| !d.misplaced));
    }

    #[test]
    fn security_ordering_is_checked() {
        let f = facts_of("allow_anonymous false\nper_listener_settings true\nplugin_opt_x 1\nplugin /p.so\nplugin_opt_y 2\n").unwrap();
        let misplaced: Vec<&str> = f
            .directives
            .iter()
            .filter(|d| d.misplaced)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(misplaced, ["per_listener_settings", "plugin_opt_x"]);
    }

    #[test]
    fn unknown_directives_get_help() {
        let f = facts_of("allow_anonymos false\nListener 1883\nstore_clean_interval 10\n").unwrap();
        let unknown: Vec<&str> = f
            .directives
            .iter()
            .filter(|d| !d.known)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            unknown,
            ["allow_anonymos", "Listener", "store_clean_interval"]
        );
        assert_eq!(
            unknown_help("allow_anonymos").unwrap(),
            "did you mean `allow_anonymous`?"
        );
        assert!(unknown_help("Listener").unwrap().contains("case-sensitive"));
        assert!(unknown_help("store_clean_interval")
            .unwrap()
            .contains("2.0 rejects it"));
        assert!(unknown_help("allow_anonymous\ttrue")
            .unwrap()
            .contains("separate `allow_anonymous`"));
        assert!(unknown_help("\tallow_anonymous")
            .unwrap()
            .contains("remove the tab"));
        assert!(unknown_help("#").unwrap().contains("first column"));
        assert_eq!(unknown_help("completely_unrelated_thing"), None);
        assert!(class("plugin_opt_anything").is_some() && class("plugin_opt_").is_none());
    }

    #[test]
    fn secrets_plugins_logging_and_persistence() {
        let f = facts_of(
            "auth_plugin /usr/lib/auth.so\nauth_opt_pg_password changeme\nauth_opt_password_file /etc/x\nauth_opt_hasher_keylen 64\nlog_type error\nconnection_messages true\npersistence true\npersistence_location /var/lib/mosquitto\n",
        )
        .unwrap();
        assert_eq!(f.plugins.len(), 4);
        assert!(
            f.plugins[0].deprecated && f.plugins[0].path.as_deref() == Some("/usr/lib/auth.so")
        );
        assert_eq!(f.secrets.len(), 1);
        assert_eq!(f.secrets[0].inline.as_deref(), Some("changeme"));
        let log = f.logging.as_ref().unwrap();
        assert!(!log.connection_messages && log.timestamps);
        assert_eq!(log.span.line, 5);
        assert_eq!(f.persistence.as_ref().unwrap().autosave_s, Some(1800));
    }

    #[test]
    fn bad_values_are_positioned_errors() {
        let e = facts_of("listener 1883\nallow_anonymous yes\n").unwrap_err();
        assert!(
            e.message
                .contains("`allow_anonymous` takes `true` or `false`"),
            "{}",
            e.message
        );
        assert_eq!(e.labels[0].span.line, 2);
        assert!(facts_of("listener http\n")
            .unwrap_err()
            .message
            .contains("port number"));
        assert!(facts_of("listener 70000\n").is_err());
        assert!(facts_of("listener 1883\n\0\n")
            .unwrap_err()
            .message
            .contains("NUL"));
    }

    #[test]
    fn garbage_never_panics() {
        let samples = [
            "",
            "\n\n\n",
            "listener",
            "listener ",
            "listener  \t",
            "é ü ß\n",
            "ciphers\n",
            "# only\n",
            "  ",
            "\t\t\n",
            "listener 1 2 3 4\ncertfile",
            "allow_anonymous",
            "port x\nbind_address",
        ];
        for s in samples {
            let _ = facts_of(s);
        }
        let mut seed: u32 = 7;
        for _ in 0..300 {
            let mut s = String::new();
            for _ in 0..60 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let pool = [
                    ' ', '\t', '\n', '#', 'l', 'i', 's', 't', 'e', 'n', 'r', '1', '8', 'é', '_',
                    ':', '\r',
                ];
                s.push(pool[(seed >> 16) as usize % pool.len()]);
            }
            let _ = facts_of(&s);
            let _ = detect(Path::new("x.conf"), &s);
        }
    }

    #[test]
    fn a_refused_line_is_reported_and_the_rest_still_read() {
        let text = "per_listener_settings true\nlistener 8883\nallow_anonymous maybe\ncertfile /c.pem\nkeyfile /k.pem\nlistener 1883\nallow_anonymous true\n";
        let file = SourceFile::new("mosquitto.conf", text);
        let input = Input {
            path: "mosquitto.conf".into(),
            file,
        };
        let mut facts = Facts::new(Origin::File, Environment::Production);
        let d = extract(&input, &mut facts).unwrap_err();
        let s = d.primary_span().unwrap();
        assert_eq!((s.line, s.col), (3, 17), "{}", d.message);
        let plain = facts.listeners.iter().find(|l| l.port == 1883).unwrap();
        assert!(plain.anonymous && plain.tls.is_none());
    }

    #[test]
    fn bridges_sending_credentials_without_tls() {
        let f = facts_of("connection a\naddress a.example:1883\nremote_username u\nremote_password p4ss-Wx81-zz\nconnection b\naddress b.example:8883\nbridge_cafile /ca.pem\nremote_password q4ss-Wx81-zz\nconnection c\naddress c.example:1883\n").unwrap();
        let p = &f.tls_auth.plaintext;
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].kind, PlaintextKind::Bridge);
        assert_eq!((p[0].span.line, p[0].span.col), (4, 17));
        assert!(p[0].what.contains("`a`") && p[0].what.contains("remote_password"));
    }

    #[test]
    fn detection() {
        assert!(detect(
            Path::new("conf.d/bridge.conf"),
            "connection cloud\naddress cloud.example:8883\nremote_username u\nbridge_cafile /ca.pem\ntopic # out 1\n"
        ));
        assert!(detect(
            Path::new("bridge.conf"),
            "connection cloud\naddress cloud.example:8883\nremote_username u\ntopic # out 1\n"
        ));
        assert!(detect(Path::new("/etc/mosquitto/mosquitto.conf"), ""));
        assert!(detect(
            Path::new("broker.conf"),
            "listener 8883\nallow_anonymous false\ncertfile /c\n"
        ));
        assert!(!detect(
            Path::new("broker.conf"),
            "net.core.somaxconn = 4096\n"
        ));
        assert!(!detect(
            Path::new("haproxy.cfg"),
            "global\n    maxconn 100\nfrontend x\n    bind :1883\n"
        ));
        // An auth plugin's fragment, included from mosquitto.conf.
        assert!(detect(
            Path::new("conf.d/go-auth.conf"),
            "auth_plugin /mosquitto/go-auth.so\nauth_opt_backends files\nauth_opt_log_level debug\n"
        ));
    }
}
