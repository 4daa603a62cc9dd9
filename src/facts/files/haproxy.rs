//! haproxy.cfg: sections (global, defaults, frontend, backend, listen, ...)
//! with positions, the keywords HAProxy 2.6 knows, and the facts the HA,
//! AUTH and CFG rules read: the load balancer (TLS termination, PROXY
//! protocol, timeouts, rate limiting), each server's health check (the MQTT
//! CONNECT it sends and the CONNACK it expects, its port, TLS and client
//! certificate), backends and standby servers, the stats page and socket.
//!
//! Lines are tokenised the way HAProxy does: words split on blanks, `#`
//! starts a comment, double quotes expand `$VAR`/`${VAR}` (kept verbatim
//! here and marked as a reference), single quotes are literal, and a
//! backslash escapes the next character (`\xNN`, `\t`, `\n`, `\r`).
//!
//! `lint` parses the rendered haproxy.cfg with the same code
//! (`crate::facts::spec::ha`), so what is checked is what ships.
//!
//! Cost: linear in the file's bytes: one pass to tokenize the lines into
//! sections, proxies and backends looked up by name.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::Input;
use crate::diag::Diagnostic;
use crate::facts::{
    AdminFact, BackendFact, CipherListFact, DirectiveFact, Facts, HealthCheckFact, LbFact,
    LbTimeoutFact, MqttCheck, PlaintextFact, PlaintextKind, SecretFact, ServerFact,
};
use crate::source::{SourceFile, Span};

/// A word of a line, unquoted, with its position (1-based char columns, end exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub col: usize,
    pub end_col: usize,
    /// The word holds a `$VAR` / `${VAR}` expanded inside double quotes.
    pub env: bool,
}

#[derive(Clone, Debug)]
pub struct Line {
    pub line: usize,
    pub words: Vec<Word>,
}

impl Line {
    fn word(&self, i: usize) -> &str {
        self.words.get(i).map(|w| w.text.as_str()).unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    /// userlist, peers, resolvers, mailers, program, http-errors, ring, cache, fcgi-app.
    Other,
}

#[derive(Clone, Debug)]
pub struct Section {
    pub kind: SectionKind,
    /// The section keyword as written (`listen`, `userlist`, ...).
    pub keyword: String,
    pub name: String,
    /// The header line.
    pub header: Line,
    pub lines: Vec<Line>,
}

impl Section {
    fn label(&self) -> String {
        if self.name.is_empty() {
            self.keyword.clone()
        } else {
            format!("{} `{}`", self.keyword, self.name)
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub sections: Vec<Section>,
}

/// A syntax error: 1-based line and column, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

const SECTIONS: &[(&str, SectionKind)] = &[
    ("global", SectionKind::Global),
    ("defaults", SectionKind::Defaults),
    ("frontend", SectionKind::Frontend),
    ("backend", SectionKind::Backend),
    ("listen", SectionKind::Listen),
    ("userlist", SectionKind::Other),
    ("peers", SectionKind::Other),
    ("resolvers", SectionKind::Other),
    ("mailers", SectionKind::Other),
    ("program", SectionKind::Other),
    ("http-errors", SectionKind::Other),
    ("ring", SectionKind::Other),
    ("cache", SectionKind::Other),
    ("fcgi-app", SectionKind::Other),
];

/// Splits one line into words the way HAProxy's configuration parser does.
pub fn tokenize(text: &str, line: usize) -> Result<Vec<Word>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    let err = |col: usize, message: String| SyntaxError { line, col, message };
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] == '#' {
            break;
        }
        let start = i;
        let mut word = String::new();
        let mut env = false;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '#' {
            match chars[i] {
                '"' => {
                    let open = i;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(err(open + 1, "unterminated double quote".into())),
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('\\') => {
                                let (c, used) = escape(&chars, i).map_err(|m| err(i + 1, m))?;
                                word.push(c);
                                i += used;
                            }
                            Some('$') => {
                                if chars.get(i + 1).is_some_and(|c| {
                                    *c == '{' || c.is_ascii_alphabetic() || *c == '_'
                                }) {
                                    env = true;
                                }
                                word.push('$');
                                i += 1;
                            }
                            Some(c) => {
                                word.push(*c);
                                i += 1;
                            }
                        }
                    }
                }
                '\'' => {
                    let open = i;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(err(open + 1, "unterminated single quote".into())),
                            Some('\'') => {
                                i += 1;
                                break;
                            }
                            Some(c) => {
                                word.push(*c);
                                i += 1;
                            }
                        }
                    }
                }
                '\\' => {
                    let (c, used) = escape(&chars, i).map_err(|m| err(i + 1, m))?;
                    word.push(c);
                    i += used;
                }
                c => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        words.push(Word {
            text: word,
            col: start + 1,
            end_col: i + 1,
            env,
        });
    }
    Ok(words)
}

/// A backslash escape at `chars[i]`: the character and how many chars it used.
fn escape(chars: &[char], i: usize) -> Result<(char, usize), String> {
    match chars.get(i + 1) {
        None => Err("a backslash ends the line".into()),
        Some('x') => {
            let hex: String = chars.iter().skip(i + 2).take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(b) if hex.len() == 2 => Ok((b as char, 4)),
                _ => Err(format!("`\\x{hex}` is not a hex escape (\\xNN)")),
            }
        }
        Some('t') => Ok(('\t', 2)),
        Some('n') => Ok(('\n', 2)),
        Some('r') => Ok(('\r', 2)),
        Some(c) => Ok((*c, 2)),
    }
}

/// Parses a whole haproxy.cfg into sections; never panics.
pub fn parse(text: &str) -> Result<Config, SyntaxError> {
    let (cfg, errors) = parse_recovering(text);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(cfg),
    }
}

/// [`parse`] that skips the lines HAProxy would refuse and reads on, so
/// the rest of a broken file can still be audited: the configuration of
/// the lines it could read, and the errors of the others in file order.
pub fn parse_recovering(text: &str) -> (Config, Vec<SyntaxError>) {
    let mut cfg = Config::default();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let words = match tokenize(raw, line) {
            Ok(w) => w,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if words.is_empty() {
            continue;
        }
        let l = Line { line, words };
        if let Some((kw, kind)) = SECTIONS.iter().find(|(k, _)| *k == l.word(0)) {
            let name = l.word(1).to_string();
            cfg.sections.push(Section {
                kind: *kind,
                keyword: kw.to_string(),
                name,
                header: l,
                lines: Vec::new(),
            });
            continue;
        }
        match cfg.sections.last_mut() {
            Some(s) => s.lines.push(l),
            None => errors.push(SyntaxError {
                line,
                col: l.words[0].col,
                message: format!(
                    "`{}` appears before any section (global, defaults, frontend, backend, listen)",
                    l.word(0)
                ),
            }),
        }
    }
    (cfg, errors)
}

// ---------------------------------------------------------------------------
// The keywords HAProxy 2.6 knows
// ---------------------------------------------------------------------------

/// Keywords of the `global` section (`tune.*`, `ssl-*`, `51degrees-*`,
/// `deviceatlas-*` and `wurfl-*` are matched by prefix).
const GLOBAL_KEYWORDS: &[&str] = &[
    "busy-polling",
    "ca-base",
    "chroot",
    "cluster-secret",
    "cpu-map",
    "crt-base",
    "daemon",
    "debug",
    "default-path",
    "description",
    "expose-experimental-directives",
    "external-check",
    "gid",
    "grace",
    "group",
    "h1-case-adjust",
    "h1-case-adjust-file",
    "h2-workaround-bogus-websocket-clients",
    "hard-stop-after",
    "httpclient.resolvers.disabled",
    "httpclient.resolvers.id",
    "httpclient.resolvers.prefer",
    "httpclient.ssl.ca-file",
    "httpclient.ssl.verify",
    "insecure-fork-wanted",
    "insecure-setuid-wanted",
    "issuers-chain-path",
    "localpeer",
    "log",
    "log-send-hostname",
    "log-tag",
    "lua-load",
    "lua-load-per-thread",
    "lua-prepend-path",
    "master-worker",
    "max-spread-checks",
    "maxcompcpuusage",
    "maxcomprate",
    "maxconn",
    "maxconnrate",
    "maxpipes",
    "maxsessrate",
    "maxsslconn",
    "maxsslrate",
    "maxzlibmem",
    "mworker-max-reloads",
    "nbthread",
    "node",
    "noepoll",
    "noevports",
    "nogetaddrinfo",
    "nokqueue",
    "nopoll",
    "noreuseport",
    "nosplice",
    "numa-cpu-mapping",
    "pidfile",
    "pp2-never-send-local",
    "presetenv",
    "profiling.memory",
    "profiling.tasks",
    "quiet",
    "resetenv",
    "server-state-base",
    "server-state-file",
    "set-dumpable",
    "set-var",
    "set-var-fmt",
    "setenv",
    "spread-checks",
    "stats",
    "strict-limits",
    "thread-group",
    "thread-groups",
    "uid",
    "ulimit-n",
    "unix-bind",
    "unsetenv",
    "user",
    "zero-warning",
];

const GLOBAL_PREFIXES: &[&str] = &["tune.", "ssl-", "51degrees-", "deviceatlas-", "wurfl-"];

/// Keywords of defaults, frontend, backend and listen sections.
const PROXY_KEYWORDS: &[&str] = &[
    "acl",
    "backlog",
    "balance",
    "bind",
    "capture",
    "clitcpka-cnt",
    "clitcpka-idle",
    "clitcpka-intvl",
    "compression",
    "cookie",
    "declare",
    "default-server",
    "default_backend",
    "description",
    "disabled",
    "dispatch",
    "email-alert",
    "enabled",
    "error-log-format",
    "errorfile",
    "errorfiles",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "external-check",
    "filter",
    "force-persist",
    "fullconn",
    "hash-balance-factor",
    "hash-type",
    "http-after-response",
    "http-check",
    "http-error",
    "http-request",
    "http-response",
    "http-reuse",
    "http-send-name-header",
    "id",
    "ignore-persist",
    "load-server-state-from-file",
    "log",
    "log-format",
    "log-format-sd",
    "log-tag",
    "max-keep-alive-queue",
    "maxconn",
    "mode",
    "monitor",
    "monitor-uri",
    "no",
    "option",
    "persist",
    "rate-limit",
    "redirect",
    "retries",
    "retry-on",
    "server",
    "server-state-file-name",
    "server-template",
    "source",
    "srvtcpka-cnt",
    "srvtcpka-idle",
    "srvtcpka-intvl",
    "stats",
    "stick",
    "stick-table",
    "tcp-check",
    "tcp-request",
    "tcp-response",
    "timeout",
    "unique-id-format",
    "unique-id-header",
    "use-fcgi-app",
    "use-server",
    "use_backend",
];

/// `option <name>` values.
const OPTIONS: &[&str] = &[
    "abortonclose",
    "accept-invalid-http-request",
    "accept-invalid-http-response",
    "allbackups",
    "checkcache",
    "clitcpka",
    "contstats",
    "disable-h2-upgrade",
    "dontlog-normal",
    "dontlognull",
    "external-check",
    "forwardfor",
    "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server",
    "http-buffer-request",
    "http-ignore-probes",
    "http-keep-alive",
    "http-no-delay",
    "http-pretend-keepalive",
    "http-restrict-req-hdr-names",
    "http-server-close",
    "http-use-proxy-header",
    "http_proxy",
    "httpchk",
    "httpclose",
    "httplog",
    "idle-close-on-response",
    "independent-streams",
    "ldap-check",
    "log-health-checks",
    "log-separate-errors",
    "logasap",
    "mysql-check",
    "nolinger",
    "originalto",
    "persist",
    "pgsql-check",
    "prefer-last-server",
    "redis-check",
    "redispatch",
    "smtpchk",
    "socket-stats",
    "splice-auto",
    "splice-request",
    "splice-response",
    "spop-check",
    "srvtcpka",
    "ssl-hello-chk",
    "tcp-check",
    "tcp-smart-accept",
    "tcp-smart-connect",
    "tcpka",
    "tcplog",
    "transparent",
];

/// `timeout <name>` values.
const TIMEOUTS: &[&str] = &[
    "check",
    "client",
    "client-fin",
    "client-hs",
    "connect",
    "http-keep-alive",
    "http-request",
    "queue",
    "server",
    "server-fin",
    "tarpit",
    "tunnel",
];

/// `tcp-check <action>` values.
const TCP_CHECK_ACTIONS: &[&str] = &[
    "comment",
    "connect",
    "expect",
    "send",
    "send-binary",
    "send-binary-lf",
    "send-lf",
    "set-var",
    "set-var-fmt",
    "unset-var",
];

/// `stats <keyword>` values in proxies.
const STATS_PROXY: &[&str] = &[
    "admin",
    "auth",
    "enable",
    "hide-version",
    "http-request",
    "realm",
    "refresh",
    "scope",
    "show-desc",
    "show-legends",
    "show-modules",
    "show-node",
    "uri",
];

/// `stats <keyword>` values in global.
const STATS_GLOBAL: &[&str] = &["bind-process", "maxconn", "socket", "timeout"];

/// The directive's name as HAProxy's documentation names it
/// (`timeout client`, `option tcp-check`, `tcp-check send-binary`), and
/// whether HAProxy 2.6 knows it in this kind of section.
pub fn keyword(kind: SectionKind, line: &Line) -> (String, bool) {
    let first = line.word(0);
    match kind {
        SectionKind::Global => {
            if first == "stats" {
                let sub = line.word(1);
                return (format!("stats {sub}"), STATS_GLOBAL.contains(&sub));
            }
            let known = GLOBAL_KEYWORDS.contains(&first)
                || GLOBAL_PREFIXES.iter().any(|p| first.starts_with(p));
            (first.to_string(), known)
        }
        SectionKind::Defaults
        | SectionKind::Frontend
        | SectionKind::Backend
        | SectionKind::Listen => {
            let (offset, first) = if first == "no" {
                (1, line.word(1))
            } else {
                (0, first)
            };
            let sub = line.word(offset + 1);
            let table: Option<&[&str]> = match first {
                "option" => Some(OPTIONS),
                "timeout" => Some(TIMEOUTS),
                "tcp-check" => Some(TCP_CHECK_ACTIONS),
                "stats" => Some(STATS_PROXY),
                _ => None,
            };
            match table {
                Some(t) => (format!("{first} {sub}"), t.contains(&sub)),
                None => (
                    first.to_string(),
                    offset == 0 && PROXY_KEYWORDS.contains(&first),
                ),
            }
        }
        SectionKind::Other => (first.to_string(), true),
    }
}

/// Keywords HAProxy removed, and what replaced them.
const REMOVED: &[(&str, &str)] = &[
    ("nbproc", "HAProxy 2.5 removed `nbproc`: use `nbthread`"),
    (
        "clitimeout",
        "HAProxy 2.1 removed `clitimeout`: use `timeout client`",
    ),
    (
        "srvtimeout",
        "HAProxy 2.1 removed `srvtimeout`: use `timeout server`",
    ),
    (
        "contimeout",
        "HAProxy 2.1 removed `contimeout`: use `timeout connect`",
    ),
    (
        "redispatch",
        "HAProxy 2.1 removed `redispatch`: use `option redispatch`",
    ),
    (
        "block",
        "HAProxy 2.1 removed `block`: use `http-request deny`",
    ),
    (
        "reqadd",
        "HAProxy 2.1 removed `reqadd`: use `http-request add-header`",
    ),
    (
        "reqrep",
        "HAProxy 2.1 removed `reqrep`: use `http-request replace-header`",
    ),
    (
        "rspadd",
        "HAProxy 2.1 removed `rspadd`: use `http-response add-header`",
    ),
    (
        "monitor-net",
        "HAProxy 2.5 removed `monitor-net`: use `http-request return` with an ACL on `src`",
    ),
    (
        "bind-process",
        "HAProxy 2.5 removed `bind-process` with `nbproc`: remove it",
    ),
];

/// How to fix a keyword HAProxy 2.6 does not know (MQ-CFG-003): its
/// replacement when it was removed, else the known keyword it is closest to.
pub fn unknown_keyword_help(name: &str) -> Option<String> {
    if let Some((_, hint)) = REMOVED.iter().find(|(k, _)| *k == name) {
        return Some(hint.to_string());
    }
    let mut known: Vec<String> = GLOBAL_KEYWORDS
        .iter()
        .chain(PROXY_KEYWORDS)
        .map(|k| k.to_string())
        .collect();
    known.extend(STATS_GLOBAL.iter().map(|s| format!("stats {s}")));
    for (kw, table) in [
        ("option", OPTIONS),
        ("timeout", TIMEOUTS),
        ("tcp-check", TCP_CHECK_ACTIONS),
        ("stats", STATS_PROXY),
    ] {
        known.extend(table.iter().map(|s| format!("{kw} {s}")));
    }
    crate::suggest::did_you_mean(name, known.iter().map(String::as_str)).map(|s| {
        format!(
            "did you mean `{s}`? (HAProxy refuses to load a configuration with an unknown keyword)"
        )
    })
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// An HAProxy time: a number with an optional unit (us, ms, s, m, h, d;
/// milliseconds when none), in milliseconds.
pub fn parse_time(s: &str) -> Option<u64> {
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = s[..digits].parse().ok()?;
    let ms = match &s[digits..] {
        "" | "ms" => n,
        "us" => n / 1000,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(ms)
}

/// The port at the end of an address (`10.0.0.1:8883`, `[::1]:1883`, `:8404`).
pub fn addr_port(addr: &str) -> Option<u16> {
    let (_, port) = addr.rsplit_once(':')?;
    port.parse().ok()
}

/// The host part of a bind address; None for all interfaces (`:8404`,
/// `*:8404`, `0.0.0.0:8404`, `:::8404`). Unix sockets keep their path.
pub fn bind_host(addr: &str) -> Option<String> {
    let addr = addr.split(',').next().unwrap_or(addr);
    for p in ["unix@", "abns@", "fd@", "sockpair@"] {
        if addr.starts_with(p) {
            return Some(addr.to_string());
        }
    }
    if addr.starts_with('/') {
        return Some(addr.to_string());
    }
    let addr = addr
        .strip_prefix("ipv4@")
        .or_else(|| addr.strip_prefix("ipv6@"))
        .unwrap_or(addr);
    let host = match addr.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit() || c == '-') => h,
        _ => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host {
        "" | "*" | "0.0.0.0" | "::" | ":" => None,
        h => Some(h.to_string()),
    }
}

/// Credentials HAProxy stats or an EMQX dashboard come with, as AdminFact says them.
pub fn classify_password(user: &str, password: &str) -> &'static str {
    const DEFAULT_PAIRS: &[(&str, &str)] = &[
        ("admin", "admin"),
        ("admin", "public"),
        ("admin", "password"),
        ("admin", "haproxy"),
        ("haproxy", "haproxy"),
        ("stats", "stats"),
        ("root", "root"),
    ];
    const WEAK: &[&str] = &[
        "admin",
        "public",
        "password",
        "passw0rd",
        "changeme",
        "change-me",
        "secret",
        "haproxy",
        "stats",
        "123456",
        "12345678",
        "qwerty",
        "letmein",
        "test",
        "default",
    ];
    let p = password.to_ascii_lowercase();
    if DEFAULT_PAIRS
        .iter()
        .any(|(u, pw)| user.eq_ignore_ascii_case(u) && p == *pw)
        || (!user.is_empty() && user.eq_ignore_ascii_case(password))
    {
        "default"
    } else if WEAK.contains(&p.as_str()) || password.chars().count() < 12 {
        "weak"
    } else {
        "inline"
    }
}

// ---------------------------------------------------------------------------
// Proxies with what they inherit from `defaults`
// ---------------------------------------------------------------------------

/// A server line's parameters that matter here.
#[derive(Clone, Debug, Default)]
struct ServerParams {
    check: bool,
    check_port: Option<u16>,
    check_addr: bool,
    check_ssl: Option<bool>,
    ssl: bool,
    crt: bool,
    proxy_v2: Option<String>,
    backup: bool,
}

/// Server keywords that take an argument (the others are flags).
const SERVER_ARGS: &[&str] = &[
    "addr",
    "agent-addr",
    "agent-inter",
    "agent-port",
    "agent-send",
    "alpn",
    "ca-file",
    "check-alpn",
    "check-proto",
    "check-sni",
    "ciphers",
    "ciphersuites",
    "client-sigalgs",
    "cookie",
    "crl-file",
    "crt",
    "curves",
    "downinter",
    "error-limit",
    "fall",
    "fastinter",
    "id",
    "init-addr",
    "inter",
    "log-proto",
    "max-reuse",
    "maxconn",
    "maxqueue",
    "minconn",
    "namespace",
    "npn",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "pool-low-conn",
    "pool-max-conn",
    "pool-purge-delay",
    "port",
    "proto",
    "proxy-v2-options",
    "redir",
    "resolve-net",
    "resolve-opts",
    "resolve-prefer",
    "resolvers",
    "rise",
    "shard",
    "sigalgs",
    "slowstart",
    "sni",
    "socks4",
    "source",
    "ssl-max-ver",
    "ssl-min-ver",
    "tcp-ut",
    "track",
    "verify",
    "verifyhost",
    "weight",
    "ws",
];

impl ServerParams {
    fn apply(&mut self, words: &[Word]) {
        let mut i = 0;
        while i < words.len() {
            let w = words[i].text.as_str();
            let arg = words.get(i + 1).map(|w| w.text.as_str());
            match w {
                "check" => self.check = true,
                "no-check" => self.check = false,
                "port" => self.check_port = arg.and_then(|p| p.parse().ok()),
                "addr" => self.check_addr = true,
                "check-ssl" => self.check_ssl = Some(true),
                "no-check-ssl" => self.check_ssl = Some(false),
                "ssl" => self.ssl = true,
                "no-ssl" => self.ssl = false,
                "crt" => self.crt = true,
                "backup" => self.backup = true,
                "no-backup" => self.backup = false,
                "send-proxy" | "send-proxy-v2" | "send-proxy-v2-ssl" | "send-proxy-v2-ssl-cn" => {
                    self.proxy_v2 = Some(w.to_string())
                }
                "no-send-proxy"
                | "no-send-proxy-v2"
                | "no-send-proxy-v2-ssl"
                | "no-send-proxy-v2-ssl-cn" => self.proxy_v2 = None,
                _ => {}
            }
            i += if SERVER_ARGS.contains(&w) { 2 } else { 1 };
        }
    }

    /// Health checks use TLS: `check-ssl`, or `ssl` inherited when the check
    /// goes to the traffic port.
    fn check_tls(&self) -> bool {
        self.check_ssl
            .unwrap_or(self.ssl && self.check_port.is_none() && !self.check_addr)
    }
}

/// A proxy (frontend, backend or listen) with the `defaults` section in force for it.
struct Proxy<'a> {
    section: &'a Section,
    defaults: Option<&'a Section>,
}

impl<'a> Proxy<'a> {
    /// Lines of the proxy itself, after those of its defaults section.
    fn lines(&self) -> impl Iterator<Item = &'a Line> {
        self.defaults
            .into_iter()
            .flat_map(|d| d.lines.iter())
            .chain(self.section.lines.iter())
    }

    /// The last line that sets this directive (own lines win over defaults).
    fn last(&self, matches: impl Fn(&Line) -> bool) -> Option<&'a Line> {
        self.lines().filter(|l| matches(l)).last()
    }

    fn mode_tcp(&self) -> bool {
        self.last(|l| l.word(0) == "mode")
            .is_none_or(|l| l.word(1) == "tcp")
    }

    fn timeout(&self, name: &str) -> Option<(&'a Line, Option<u64>)> {
        self.last(|l| l.word(0) == "timeout" && l.word(1) == name)
            .map(|l| (l, parse_time(l.word(2))))
    }

    /// The health-check method an `option` sets (the last one wins).
    fn check_option(&self) -> Option<&'a Line> {
        const CHECKS: &[&str] = &[
            "tcp-check",
            "httpchk",
            "ssl-hello-chk",
            "mysql-check",
            "pgsql-check",
            "redis-check",
            "ldap-check",
            "smtpchk",
            "spop-check",
            "external-check",
        ];
        self.last(|l| l.word(0) == "option" && CHECKS.contains(&l.word(1)))
    }

    /// `tcp-check` rules: the proxy's own, else its defaults'.
    fn tcp_check_rules(&self) -> Vec<&'a Line> {
        let own: Vec<&Line> = self
            .section
            .lines
            .iter()
            .filter(|l| l.word(0) == "tcp-check")
            .collect();
        if !own.is_empty() {
            return own;
        }
        self.defaults
            .map(|d| {
                d.lines
                    .iter()
                    .filter(|l| l.word(0) == "tcp-check")
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn proxies(cfg: &Config) -> Vec<Proxy<'_>> {
    let mut out = Vec::new();
    let mut defaults: Option<&Section> = None;
    for s in &cfg.sections {
        match s.kind {
            SectionKind::Defaults => defaults = Some(s),
            SectionKind::Frontend | SectionKind::Backend | SectionKind::Listen => out.push(Proxy {
                section: s,
                defaults,
            }),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------

/// What one haproxy.cfg says, as facts (spans in that file).
#[derive(Clone, Debug, Default)]
pub struct Extracted {
    pub lb: Option<LbFact>,
    pub health_checks: Vec<HealthCheckFact>,
    pub timeouts: Vec<LbTimeoutFact>,
    pub backends: Vec<BackendFact>,
    /// The first standby (`backup`) server line.
    pub standby: Option<Span>,
    pub admin: Vec<AdminFact>,
    pub secrets: Vec<SecretFact>,
    pub directives: Vec<DirectiveFact>,
    /// Plaintext MQTT frontends and forwarding (MQ-TLS-001).
    pub plaintext: Vec<PlaintextFact>,
    /// Cipher lists of TLS binds (MQ-TLS-004).
    pub cipher_lists: Vec<CipherListFact>,
    /// Values HAProxy refuses to load (bad hex, bad time), reported after the facts.
    pub errors: Vec<Diagnostic>,
}

fn word_span(file: &Arc<SourceFile>, line: usize, w: &Word) -> Span {
    Span {
        file: file.clone(),
        line,
        col: w.col,
        end_line: line,
        end_col: w.end_col,
    }
}

/// From a line's `n`th word to its last.
fn words_span(file: &Arc<SourceFile>, l: &Line, n: usize) -> Span {
    let n = n.min(l.words.len().saturating_sub(1));
    let first = &l.words[n];
    let last = l.words.last().unwrap_or(first);
    Span {
        file: file.clone(),
        line: l.line,
        col: first.col,
        end_line: l.line,
        end_col: last.end_col,
    }
}

fn line_span(file: &Arc<SourceFile>, l: &Line) -> Span {
    words_span(file, l, 0)
}

fn value_error(file: &Arc<SourceFile>, l: &Line, n: usize, message: String) -> Diagnostic {
    let col = l
        .words
        .get(n)
        .or(l.words.last())
        .map(|w| w.col)
        .unwrap_or(1);
    super::parse_error(file, l.line, col, "haproxy.cfg", message)
}

/// The MQTT conversation of a backend's `tcp-check` rules.
struct CheckPlan {
    connect_port: Option<u16>,
    connect_ssl: bool,
    mqtt: Option<MqttCheck>,
    probe: Option<(String, Span)>,
}

fn check_plan(
    file: &Arc<SourceFile>,
    p: &Proxy<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<CheckPlan> {
    let mut plan = CheckPlan {
        connect_port: None,
        connect_ssl: false,
        mqtt: None,
        probe: None,
    };
    let rules = p.tcp_check_rules();
    let opt = match p.check_option() {
        Some(opt) if opt.word(1) == "tcp-check" => opt,
        option => {
            plan.probe = Some(not_tcp_check(file, p, option, &rules));
            return Some(plan);
        }
    };
    let mut send: Option<(Vec<u8>, Span)> = None;
    let mut expect: Option<(Vec<u8>, Span)> = None;
    let mut expect_seen = false;
    for r in &rules {
        match r.word(1) {
            "connect" if send.is_none() => connect_options(&mut plan, r),
            "send-binary" if send.is_none() => match crate::mqtt::from_hex(r.word(2)) {
                Ok(b) => send = Some((b, words_span(file, r, 2))),
                Err(e) => {
                    errors.push(value_error(
                        file,
                        r,
                        2,
                        format!("`tcp-check send-binary {}`: {e}", r.word(2)),
                    ));
                    return None;
                }
            },
            "send" if send.is_none() => {
                send = Some((r.word(2).as_bytes().to_vec(), words_span(file, r, 2)))
            }
            // A log-format payload is built at run time: nothing to check.
            "send-lf" | "send-binary-lf" if send.is_none() => return Some(plan),
            "expect" if send.is_some() && !expect_seen => {
                expect_seen = true;
                match expected_literal(file, r) {
                    Ok(found) => expect = found.or(expect),
                    Err(e) => {
                        errors.push(e);
                        return None;
                    }
                }
            }
            _ => {}
        }
    }
    match send {
        None => {
            let span = rules
                .first()
                .map(|r| line_span(file, r))
                .unwrap_or_else(|| line_span(file, opt));
            plan.probe = Some(("a bare TCP connect (`option tcp-check` without a `tcp-check send-binary` CONNECT): a broker that accepts TCP but serves no MQTT client stays UP".to_string(), span));
        }
        Some((bytes, send_span)) => {
            if !expect_seen {
                plan.probe = Some(("an MQTT CONNECT whose answer is never read (no `tcp-check expect` after it): a broker that refuses every client stays UP".to_string(), send_span.clone()));
            }
            let (expect, expect_span) = expect.unwrap_or_else(|| (Vec::new(), send_span.clone()));
            plan.mqtt = Some(MqttCheck {
                send: bytes,
                send_span,
                expect,
                expect_span,
            });
        }
    }
    Some(plan)
}

/// What a backend without `option tcp-check` probes: a bare TCP connect, or
/// another protocol's check.
fn not_tcp_check(
    file: &Arc<SourceFile>,
    p: &Proxy<'_>,
    option: Option<&Line>,
    rules: &[&Line],
) -> (String, Span) {
    let Some(opt) = option else {
        return match rules.first() {
            Some(r) => ("a bare TCP connect (`tcp-check` rules are ignored without `option tcp-check`): a broker that accepts TCP but serves no MQTT client stays UP".to_string(), line_span(file, r)),
            None => ("a bare TCP connect (no `option tcp-check`): a broker that accepts TCP but serves no MQTT client stays UP".to_string(), line_span(file, &p.section.header)),
        };
    };
    let what = match opt.word(1) {
        "httpchk" => "an HTTP request (`option httpchk`): an MQTT broker closes the connection, so every server is marked DOWN".to_string(),
        "ssl-hello-chk" => "a TLS hello (`option ssl-hello-chk`): it proves TLS, not MQTT, so a broker that serves no MQTT client stays UP".to_string(),
        o => format!("`option {o}`, a check of another protocol: it fails on every MQTT broker"),
    };
    (what, line_span(file, opt))
}

/// `tcp-check connect [port N] [ssl] ...`.
fn connect_options(plan: &mut CheckPlan, r: &Line) {
    let mut i = 2;
    while i < r.words.len() {
        match r.word(i) {
            "port" => {
                plan.connect_port = r.word(i + 1).parse().ok();
                i += 1;
            }
            "ssl" => plan.connect_ssl = true,
            // Options with an argument (flags such as `send-proxy` take none).
            "addr" | "sni" | "alpn" | "proto" | "comment" => i += 1,
            _ => {}
        }
        i += 1;
    }
}

/// The bytes a `tcp-check expect` rule matches literally, if it does (not
/// negated; `binary`, a plain `rbinary` or `string`).
fn expected_literal(
    file: &Arc<SourceFile>,
    r: &Line,
) -> Result<Option<(Vec<u8>, Span)>, Diagnostic> {
    // tcp-check expect [min-recv N] [comment M] [*-status S] [on-*] [!] <match> <pattern>
    let mut i = 2;
    let mut negate = false;
    while i < r.words.len() {
        match r.word(i) {
            "min-recv" | "comment" | "ok-status" | "error-status" | "tout-status"
            | "on-success" | "on-error" | "status-code" => i += 2,
            "!" => {
                negate = true;
                i += 1;
            }
            _ => break,
        }
    }
    let kind = r.word(i);
    let pattern = r.word(i + 1);
    let literal = match kind {
        "binary" => match crate::mqtt::from_hex(pattern) {
            Ok(b) => Some(b),
            Err(e) => {
                return Err(value_error(
                    file,
                    r,
                    i + 1,
                    format!("`tcp-check expect binary {pattern}`: {e}"),
                ))
            }
        },
        "rbinary" => {
            let p = pattern.trim_start_matches('^');
            (!p.is_empty() && p.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| crate::mqtt::from_hex(p).ok())
                .flatten()
        }
        "string" => Some(pattern.as_bytes().to_vec()),
        _ => None,
    };
    Ok(match (literal, negate) {
        (Some(b), false) => Some((
            b,
            words_span(file, r, i.min(r.words.len().saturating_sub(1))),
        )),
        _ => None,
    })
}

/// Extracts the facts of one haproxy.cfg. A syntax error stops extraction;
/// values HAProxy would refuse are in `errors`, after the facts that could be read.
pub fn extract_file(file: &Arc<SourceFile>) -> Result<Extracted, Diagnostic> {
    let (cfg, syntax) = parse_recovering(&file.text);
    let mut out = Extracted::default();
    // Lines HAProxy refuses are reported, first in the file first; the
    // others are still audited.
    out.errors.extend(
        syntax
            .into_iter()
            .map(|e| super::parse_error(file, e.line, e.col, "haproxy.cfg", e.message)),
    );
    directives(file, &cfg, &mut out);
    unreadable_times(file, &cfg, &mut out);
    let proxies = proxies(&cfg);
    let tcp: Vec<&Proxy<'_>> = proxies.iter().filter(|p| p.mode_tcp()).collect();
    let front = Front::of(file, &cfg, &tcp);
    let forwarding = backends(file, &tcp, &mut out);
    timeouts(file, &tcp, &mut out);
    lb_fact(&front, forwarding, &mut out);
    stats(file, &cfg, &proxies, &mut out);
    plaintext(file, &tcp, &mut out);
    cipher_lists(file, &cfg, &mut out);
    Ok(out)
}

/// Every directive, for MQ-CFG-003.
fn directives(file: &Arc<SourceFile>, cfg: &Config, out: &mut Extracted) {
    for s in &cfg.sections {
        if s.kind == SectionKind::Other {
            continue;
        }
        for l in &s.lines {
            let (name, known) = keyword(s.kind, l);
            let value = l
                .words
                .iter()
                .skip(1)
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            out.directives.push(DirectiveFact {
                format: "haproxy",
                name,
                known,
                misplaced: false,
                value,
                span: line_span(file, l),
            });
        }
    }
}

/// Times HAProxy cannot read.
fn unreadable_times(file: &Arc<SourceFile>, cfg: &Config, out: &mut Extracted) {
    for s in &cfg.sections {
        for l in &s.lines {
            if l.word(0) == "timeout" && !l.word(1).is_empty() && parse_time(l.word(2)).is_none() {
                out.errors.push(value_error(
                    file,
                    l,
                    2,
                    format!(
                        "`timeout {} {}` is not a time (a number with us, ms, s, m, h or d)",
                        l.word(1),
                        l.word(2)
                    ),
                ));
            }
        }
    }
}

/// What the TCP frontends (and listen sections) say about the load balancer.
struct Front {
    /// The first `bind ... ssl` line.
    terminating: Option<Span>,
    rate_limited: bool,
    /// The first frontend's header.
    lb_span: Option<Span>,
}

impl Front {
    fn of(file: &Arc<SourceFile>, cfg: &Config, tcp: &[&Proxy<'_>]) -> Front {
        let mut front = Front {
            terminating: None,
            rate_limited: false,
            lb_span: None,
        };
        for p in tcp {
            if matches!(p.section.kind, SectionKind::Frontend | SectionKind::Listen) {
                front
                    .lb_span
                    .get_or_insert_with(|| line_span(file, &p.section.header));
                for l in p.section.lines.iter().filter(|l| l.word(0) == "bind") {
                    if front.terminating.is_none()
                        && l.words.iter().skip(2).any(|w| w.text == "ssl")
                    {
                        front.terminating = Some(line_span(file, l));
                    }
                }
                front.rate_limited |= rate_limits(p);
            }
        }
        for s in cfg
            .sections
            .iter()
            .filter(|s| s.kind == SectionKind::Global)
        {
            if s.lines
                .iter()
                .any(|l| matches!(l.word(0), "maxconnrate" | "maxsessrate"))
            {
                front.rate_limited = true;
            }
        }
        front
    }
}

/// A frontend's `rate-limit sessions N`, or a `tcp-request ... reject` on a rate.
fn rate_limits(p: &Proxy<'_>) -> bool {
    p.last(|l| l.word(0) == "rate-limit" && l.word(1) == "sessions")
        .is_some_and(|l| l.word(2).parse::<u64>().is_ok_and(|n| n > 0))
        || p.lines().any(|l| {
            l.word(0) == "tcp-request"
                && l.words.iter().any(|w| w.text == "reject")
                && l.words.iter().any(|w| w.text.contains("_rate"))
        })
}

/// Whether the backends' servers forward the client's certificate name.
#[derive(Clone, Copy)]
struct Forwarding {
    any_server: bool,
    all_servers_forward_cn: bool,
}

/// Backends, servers and their health checks.
fn backends(file: &Arc<SourceFile>, tcp: &[&Proxy<'_>], out: &mut Extracted) -> Forwarding {
    let mut forwarding = Forwarding {
        any_server: false,
        all_servers_forward_cn: true,
    };
    for p in tcp
        .iter()
        .filter(|p| matches!(p.section.kind, SectionKind::Backend | SectionKind::Listen))
    {
        let mut defaults = ServerParams::default();
        let mut servers = Vec::new();
        let mut plan: Option<Option<CheckPlan>> = None;
        for l in p.lines() {
            match l.word(0) {
                "default-server" => defaults.apply(&l.words[1..]),
                "server" | "server-template" => {
                    let server = Server::of(l, &defaults);
                    forwarding.any_server = true;
                    if server.params.proxy_v2.as_deref() != Some("send-proxy-v2-ssl-cn") {
                        forwarding.all_servers_forward_cn = false;
                    }
                    servers.push(server.fact(file, out));
                    if server.params.check {
                        let plan = plan.get_or_insert_with(|| check_plan(file, p, &mut out.errors));
                        if let Some(plan) = plan {
                            out.health_checks.push(server.health_check(
                                file,
                                &p.section.name,
                                plan,
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if !servers.is_empty() {
            out.backends.push(BackendFact {
                name: p.section.name.clone(),
                servers,
                span: line_span(file, &p.section.header),
            });
        }
    }
    forwarding
}

/// A `server` or `server-template` line with its parameters (after `default-server`).
struct Server<'a> {
    line: &'a Line,
    name: &'a str,
    addr: &'a str,
    params: ServerParams,
}

impl<'a> Server<'a> {
    fn of(l: &'a Line, defaults: &ServerParams) -> Self {
        let (name, addr, params) = if l.word(0) == "server" {
            (l.word(1), l.word(2), 3)
        } else {
            (l.word(1), l.word(3), 4)
        };
        let mut sp = defaults.clone();
        sp.apply(l.words.get(params..).unwrap_or(&[]));
        Server {
            line: l,
            name,
            addr,
            params: sp,
        }
    }

    /// The server's fact; the first backup server is the standby.
    fn fact(&self, file: &Arc<SourceFile>, out: &mut Extracted) -> ServerFact {
        let span = line_span(file, self.line);
        if self.params.backup && out.standby.is_none() {
            out.standby = Some(span.clone());
        }
        ServerFact {
            name: self.name.to_string(),
            backup: self.params.backup,
            checked: self.params.check,
            span,
        }
    }

    /// The server's health check, following its backend's check plan.
    fn health_check(
        &self,
        file: &Arc<SourceFile>,
        backend: &str,
        plan: &CheckPlan,
    ) -> HealthCheckFact {
        let sp = &self.params;
        let port = plan
            .connect_port
            .or(sp.check_port)
            .or_else(|| addr_port(self.addr));
        let tls = plan.connect_ssl || sp.check_tls();
        HealthCheckFact {
            mqtt: plan.mqtt.clone(),
            port,
            presents_cert: tls && sp.crt,
            span: line_span(file, self.line),
            backend: backend.to_string(),
            server: self.name.to_string(),
            tls,
            probe: plan.probe.clone(),
        }
    }
}

/// Idle timeouts of MQTT connections: `timeout tunnel` supersedes client
/// and server timeouts once a TCP connection is established.
fn timeouts(file: &Arc<SourceFile>, tcp: &[&Proxy<'_>], out: &mut Extracted) {
    // The first TCP backend (or listen section) of each name.
    let mut backends_by_name: std::collections::HashMap<&str, &Proxy<'_>> =
        std::collections::HashMap::new();
    for b in tcp
        .iter()
        .filter(|b| matches!(b.section.kind, SectionKind::Backend | SectionKind::Listen))
    {
        backends_by_name.entry(b.section.name.as_str()).or_insert(b);
    }
    let backend_tunnel = |name: &str| backends_by_name.get(name).and_then(|b| b.timeout("tunnel"));
    let mut timeout_lines = std::collections::HashSet::new();
    let mut push_timeout = |out: &mut Extracted, p: &Proxy<'_>, what: &str, found| {
        let (l, ms): (&Line, Option<u64>) = found;
        let Some(ms) = ms else { return };
        let span = words_span(file, l, 2);
        if !timeout_lines.insert(span.line) {
            return;
        }
        out.timeouts.push(LbTimeoutFact {
            what: format!("timeout {what}"),
            section: p.section.label(),
            ms,
            span,
        });
    };
    for p in tcp {
        match p.section.kind {
            SectionKind::Frontend => {
                let targets: Vec<&str> = p
                    .lines()
                    .filter(|l| matches!(l.word(0), "default_backend" | "use_backend"))
                    .map(|l| l.word(1))
                    .collect();
                let covered =
                    !targets.is_empty() && targets.iter().all(|t| backend_tunnel(t).is_some());
                if !covered {
                    if let Some(t) = p.timeout("client") {
                        push_timeout(out, p, "client", t);
                    }
                }
            }
            SectionKind::Backend | SectionKind::Listen => match p.timeout("tunnel") {
                Some(t) => push_timeout(out, p, "tunnel", t),
                None => {
                    if p.section.kind == SectionKind::Listen {
                        if let Some(t) = p.timeout("client") {
                            push_timeout(out, p, "client", t);
                        }
                    }
                    if let Some(t) = p.timeout("server") {
                        push_timeout(out, p, "server", t);
                    }
                }
            },
            _ => {}
        }
    }
}

/// The load balancer, when there is a TCP frontend or backend.
fn lb_fact(front: &Front, forwarding: Forwarding, out: &mut Extracted) {
    let Some(span) = front
        .lb_span
        .clone()
        .or_else(|| out.backends.first().map(|b| b.span.clone()))
    else {
        return;
    };
    let min_s = |what: &str| {
        out.timeouts
            .iter()
            .filter(|t| t.what == what || t.what == "timeout tunnel")
            .map(|t| t.ms.div_ceil(1000))
            .min()
    };
    out.lb = Some(LbFact {
        terminates_tls: front.terminating.is_some(),
        proxy_protocol: forwarding.any_server && forwarding.all_servers_forward_cn,
        client_timeout_s: min_s("timeout client"),
        server_timeout_s: min_s("timeout server"),
        rate_limited: front.rate_limited,
        span: front.terminating.clone().unwrap_or(span),
    });
}

/// The stats page (any proxy with `stats enable`/`stats uri`) and a stats socket on TCP.
fn stats(file: &Arc<SourceFile>, cfg: &Config, proxies: &[Proxy<'_>], out: &mut Extracted) {
    for p in proxies {
        if matches!(p.section.kind, SectionKind::Backend) {
            continue;
        }
        let own = |kw: &str| {
            p.section
                .lines
                .iter()
                .find(|l| l.word(0) == "stats" && l.word(1) == kw)
        };
        let enabled = own("enable").or(own("uri"));
        let Some(enabled) = enabled else { continue };
        let bind = p.section.lines.iter().find(|l| l.word(0) == "bind");
        let host = bind.map(|b| bind_host(b.word(1))).unwrap_or(None);
        let port = bind
            .and_then(|b| addr_port(b.word(1).split(',').next().unwrap_or("")))
            .map(|p| format!(", port {p}"))
            .unwrap_or_default();
        let what = format!("the HAProxy stats page ({}{port})", p.section.label());
        let auths: Vec<&Line> = p
            .section
            .lines
            .iter()
            .filter(|l| l.word(0) == "stats" && l.word(1) == "auth")
            .collect();
        if auths.is_empty() {
            out.admin.push(AdminFact {
                what,
                bind: host.clone(),
                credentials: "none".into(),
                span: line_span(file, enabled),
            });
            continue;
        }
        for a in auths {
            let Some(w) = a.words.get(2) else { continue };
            let (user, password) = w.text.split_once(':').unwrap_or((w.text.as_str(), ""));
            let credentials = if w.env {
                "reference"
            } else {
                classify_password(user, password)
            };
            out.secrets.push(SecretFact {
                what: format!("HAProxy stats password of user `{user}`"),
                inline: (!w.env).then(|| password.to_string()),
                span: word_span(file, a.line, w),
            });
            out.admin.push(AdminFact {
                what: what.clone(),
                bind: host.clone(),
                credentials: credentials.into(),
                span: word_span(file, a.line, w),
            });
        }
    }
    stats_through_frontends(file, proxies, out);
    for s in cfg
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Global)
    {
        for l in s
            .lines
            .iter()
            .filter(|l| l.word(0) == "stats" && l.word(1) == "socket")
        {
            let addr = l.word(2);
            let tcp = addr.starts_with("ipv4@")
                || addr.starts_with("ipv6@")
                || (!addr.starts_with('/') && !addr.contains('@') && addr.contains(':'));
            if !tcp {
                continue;
            }
            let level = l
                .words
                .iter()
                .position(|w| w.text == "level")
                .map(|i| l.word(i + 1))
                .unwrap_or("user");
            out.admin.push(AdminFact {
                what: format!("the HAProxy stats socket `{addr}` (level {level})"),
                bind: bind_host(addr),
                credentials: "none".into(),
                span: words_span(file, l, 2),
            });
        }
    }
    for s in cfg.sections.iter().filter(|s| s.keyword == "userlist") {
        for l in s.lines.iter().filter(|l| l.word(0) == "user") {
            if let Some(i) = l.words.iter().position(|w| w.text == "insecure-password") {
                if let Some(w) = l.words.get(i + 1) {
                    out.secrets.push(SecretFact {
                        what: format!("password of user `{}` in userlist `{}`", l.word(1), s.name),
                        inline: (!w.env).then(|| w.text.clone()),
                        span: word_span(file, l.line, w),
                    });
                }
            }
        }
    }
}

/// A stats page (in a backend, or a listen section) that another frontend
/// sends its connections to: reachable on that frontend's binds, with the
/// stats page's credentials.
fn stats_through_frontends(file: &Arc<SourceFile>, proxies: &[Proxy<'_>], out: &mut Extracted) {
    let all: Vec<&Proxy<'_>> = proxies.iter().collect();
    let index = by_name(&all);
    // The frontends that send connections to each proxy (by its section).
    let mut reached_by: HashMap<*const Section, Vec<&Proxy<'_>>> = HashMap::new();
    for q in proxies
        .iter()
        .filter(|q| q.section.kind == SectionKind::Frontend)
    {
        for t in targets(q, &index) {
            reached_by
                .entry(std::ptr::from_ref(t.section))
                .or_default()
                .push(q);
        }
    }
    for p in proxies {
        let enabled = p
            .section
            .lines
            .iter()
            .any(|l| l.word(0) == "stats" && matches!(l.word(1), "enable" | "uri"));
        if !enabled {
            continue;
        }
        let auths: Vec<&Word> = p
            .section
            .lines
            .iter()
            .filter(|l| l.word(0) == "stats" && l.word(1) == "auth")
            .filter_map(|l| l.words.get(2))
            .collect();
        let credentials = auths
            .iter()
            .map(|w| match w.text.split_once(':') {
                _ if w.env => "reference",
                Some((user, password)) => classify_password(user, password),
                None => classify_password(&w.text, ""),
            })
            .max_by_key(|c| {
                ["reference", "inline", "weak", "default"]
                    .iter()
                    .position(|x| x == c)
            })
            .unwrap_or("none");
        let frontends = reached_by
            .get(&std::ptr::from_ref(p.section))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for q in frontends
            .iter()
            .filter(|q| !std::ptr::eq(q.section, p.section))
        {
            for l in q.section.lines.iter().filter(|l| l.word(0) == "bind") {
                let addr = l.word(1).split(',').next().unwrap_or("");
                let port = addr_port(addr)
                    .map(|n| format!(", port {n}"))
                    .unwrap_or_default();
                out.admin.push(AdminFact {
                    what: format!(
                        "the HAProxy stats page ({}, reached through {}{port})",
                        p.section.label(),
                        q.section.label()
                    ),
                    bind: bind_host(addr),
                    credentials: credentials.into(),
                    span: word_span(file, l.line, &l.words[1]),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Plaintext MQTT and cipher lists
// ---------------------------------------------------------------------------

/// The port clients dial for MQTT without TLS.
const PLAINTEXT_MQTT_PORT: u16 = 1883;

/// Whether an address reaches only the host itself.
pub fn local_address(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host.contains('@')
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether an address literal is routed on the Internet: not loopback,
/// private (RFC 1918, fc00::/7), link-local, shared (100.64.0.0/10) or
/// unspecified. Host names are not judged: audit cannot tell where they
/// resolve (a compose service name stays on its network).
pub fn public_address(host: &str) -> bool {
    use std::net::IpAddr;
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        Ok(IpAddr::V6(v6)) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

/// Backends and listen sections by name (the first of each name), so that
/// resolving a frontend's targets costs a lookup per name.
fn by_name<'a, 'b>(proxies: &[&'b Proxy<'a>]) -> HashMap<&'a str, &'b Proxy<'a>> {
    let mut out = HashMap::new();
    for p in proxies
        .iter()
        .filter(|p| matches!(p.section.kind, SectionKind::Backend | SectionKind::Listen))
    {
        out.entry(p.section.name.as_str()).or_insert(*p);
    }
    out
}

/// The proxies a frontend sends its connections to: itself (a `listen`
/// section), its `default_backend` and `use_backend` targets.
fn targets<'a, 'b>(
    p: &'b Proxy<'a>,
    by_name: &HashMap<&'a str, &'b Proxy<'a>>,
) -> Vec<&'b Proxy<'a>> {
    if p.section.kind == SectionKind::Listen {
        return vec![p];
    }
    let mut out: Vec<&'b Proxy<'a>> = Vec::new();
    for l in p
        .lines()
        .filter(|l| matches!(l.word(0), "default_backend" | "use_backend"))
    {
        if let Some(t) = by_name.get(l.word(1)) {
            if !out.iter().any(|o| std::ptr::eq(o.section, t.section)) {
                out.push(t);
            }
        }
    }
    out
}

/// The servers of the target proxies, with `default-server` applied.
fn servers_of<'a>(targets: &[&Proxy<'a>]) -> Vec<Server<'a>> {
    let mut out = Vec::new();
    for b in targets {
        let mut defaults = ServerParams::default();
        for l in b.lines() {
            match l.word(0) {
                "default-server" => defaults.apply(&l.words[1..]),
                "server" | "server-template" => out.push(Server::of(l, &defaults)),
                _ => {}
            }
        }
    }
    out
}

/// TCP frontends accepting plaintext MQTT beyond loopback (a bind without
/// `ssl` on port 1883, or whose servers are all dialled on 1883 without
/// TLS: passthrough of TLS on 8883 is not plaintext), and frontends that
/// terminate TLS and forward in clear to servers on public addresses.
fn plaintext(file: &Arc<SourceFile>, tcp: &[&Proxy<'_>], out: &mut Extracted) {
    let index = by_name(tcp);
    let mut forwarded = HashSet::new();
    for p in tcp
        .iter()
        .filter(|p| matches!(p.section.kind, SectionKind::Frontend | SectionKind::Listen))
    {
        let servers = servers_of(&targets(p, &index));
        let to_plain_mqtt = !servers.is_empty()
            && servers
                .iter()
                .all(|s| !s.params.ssl && addr_port(s.addr) == Some(PLAINTEXT_MQTT_PORT));
        for l in p.section.lines.iter().filter(|l| l.word(0) == "bind") {
            let ssl = l.words.iter().skip(2).any(|w| w.text == "ssl");
            if ssl {
                forwarded_in_clear(file, p, l, &servers, &mut forwarded, out);
                continue;
            }
            for addr in l.word(1).split(',') {
                let host = bind_host(addr);
                if host.as_deref().is_some_and(local_address) {
                    continue;
                }
                if addr_port(addr) == Some(PLAINTEXT_MQTT_PORT) || to_plain_mqtt {
                    out.plaintext.push(PlaintextFact {
                        kind: PlaintextKind::LbFrontend,
                        what: format!("HAProxy {} (`bind {addr}`)", p.section.label()),
                        span: word_span(file, l.line, &l.words[1]),
                        related: None,
                    });
                }
            }
        }
    }
}

/// Servers a TLS-terminating bind forwards to in clear on a public address.
fn forwarded_in_clear(
    file: &Arc<SourceFile>,
    p: &Proxy<'_>,
    bind: &Line,
    servers: &[Server<'_>],
    reported: &mut HashSet<usize>,
    out: &mut Extracted,
) {
    for s in servers.iter().filter(|s| !s.params.ssl) {
        let Some(host) = bind_host(s.addr) else {
            continue;
        };
        if !public_address(&host) || !reported.insert(s.line.line) {
            continue;
        }
        out.plaintext.push(PlaintextFact {
            kind: PlaintextKind::LbForward,
            what: format!(
                "HAProxy {} decrypts TLS and forwards to server `{}` at `{}`, a public address, in clear",
                p.section.label(),
                s.name,
                s.addr
            ),
            span: line_span(file, s.line),
            related: Some((line_span(file, bind), "TLS ends here".into())),
        });
    }
}

/// `ssl-default-bind-ciphers` (global) when a TLS bind has no list of its
/// own, and each TLS bind's `ciphers`.
fn cipher_lists(file: &Arc<SourceFile>, cfg: &Config, out: &mut Extracted) {
    let binds: Vec<&Line> = cfg
        .sections
        .iter()
        .filter(|s| matches!(s.kind, SectionKind::Frontend | SectionKind::Listen))
        .flat_map(|s| s.lines.iter())
        .filter(|l| l.word(0) == "bind" && l.words.iter().skip(2).any(|w| w.text == "ssl"))
        .collect();
    let list = |l: &Line, i: usize| -> Option<(Vec<String>, Span)> {
        let w = l.words.get(i)?;
        let ciphers = w.text.split(':').map(str::to_string).collect();
        Some((ciphers, word_span(file, l.line, w)))
    };
    let global_options: Vec<&Line> = cfg
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Global)
        .flat_map(|s| s.lines.iter())
        .filter(|l| l.word(0) == "ssl-default-bind-options")
        .collect();
    let min_ver = |l: &Line| {
        l.words
            .iter()
            .position(|w| w.text == "ssl-min-ver")
            .map(|i| l.word(i + 1).to_string())
    };
    let global_min = global_options.iter().rev().find_map(|l| min_ver(l));
    let mut uses_default = false;
    for l in binds
        .iter()
        .filter(|l| min_ver(l).or_else(|| global_min.clone()).as_deref() != Some("TLSv1.3"))
    {
        match l.words.iter().position(|w| w.text == "ciphers") {
            Some(i) => {
                if let Some((ciphers, span)) = list(l, i + 1) {
                    out.cipher_lists.push(CipherListFact {
                        what: format!("the HAProxy bind `{}`", l.word(1)),
                        key: "ciphers".into(),
                        ciphers,
                        span,
                    });
                }
            }
            None => uses_default = true,
        }
    }
    if !uses_default {
        return;
    }
    let global = cfg
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Global)
        .flat_map(|s| s.lines.iter())
        .rev()
        .find(|l| l.word(0) == "ssl-default-bind-ciphers");
    if let Some((ciphers, span)) = global.and_then(|l| list(l, 1)) {
        out.cipher_lists.push(CipherListFact {
            what: "HAProxy's TLS binds".into(),
            key: "ssl-default-bind-ciphers".into(),
            ciphers,
            span,
        });
    }
}

pub fn detect(path: &Path, text: &str) -> bool {
    let name = super::file_name(path);
    if name == "haproxy.cfg" || name.ends_with(".haproxy.cfg") {
        return true;
    }
    if [".yml", ".yaml", ".toml", ".json", ".sh", ".pem", ".service"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        return false;
    }
    let in_haproxy_dir = path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().contains("haproxy"));
    let mut proxies = 0;
    let mut sections = 0;
    // Indented proxy keywords: a fragment holding only a backend is still
    // HAProxy's.
    let mut proxy_lines = 0;
    for l in text.lines() {
        let first = l.split_whitespace().next().unwrap_or("");
        if l.starts_with(char::is_whitespace) {
            if matches!(
                first,
                "server" | "bind" | "default_backend" | "use_backend" | "balance"
            ) {
                proxy_lines += 1;
            }
            continue;
        }
        match first {
            "frontend" | "backend" | "listen" => {
                proxies += 1;
                sections += 1
            }
            "global" | "defaults" => sections += 1,
            _ => {}
        }
    }
    proxies > 0 && (sections >= 2 || name.ends_with(".cfg") || in_haproxy_dir || proxy_lines > 0)
}

pub fn extract(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let x = extract_file(&input.file)?;
    if let Some(lb) = x.lb {
        // Several load-balancer files: keep TLS termination and rate limiting from any.
        match &mut facts.lb {
            Some(prev) => {
                prev.terminates_tls |= lb.terminates_tls;
                prev.rate_limited |= lb.rate_limited;
                prev.proxy_protocol &= lb.proxy_protocol;
                prev.client_timeout_s = prev
                    .client_timeout_s
                    .into_iter()
                    .chain(lb.client_timeout_s)
                    .min();
                prev.server_timeout_s = prev
                    .server_timeout_s
                    .into_iter()
                    .chain(lb.server_timeout_s)
                    .min();
            }
            None => facts.lb = Some(lb),
        }
    }
    if let Some(s) = x.standby {
        facts.cluster.standby_or_bridge = true;
        facts.cluster.span.get_or_insert(s);
    }
    facts.health_checks.extend(x.health_checks);
    facts.ha.timeouts.extend(x.timeouts);
    facts.ha.backends.extend(x.backends);
    facts.admin.extend(x.admin);
    facts.secrets.extend(x.secrets);
    facts.directives.extend(x.directives);
    facts.tls_auth.plaintext.extend(x.plaintext);
    facts.tls_auth.cipher_lists.extend(x.cipher_lists);
    if !facts
        .tls_auth
        .unknown_directive_help
        .iter()
        .any(|(f, _)| *f == "haproxy")
    {
        facts
            .tls_auth
            .unknown_directive_help
            .push(("haproxy", unknown_keyword_help));
    }
    match x.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new("haproxy.cfg", text)
    }

    const GOOD: &str = "global\n    maxconn 1000\n    stats socket /run/haproxy/admin.sock mode 660 level admin\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 5400s\n    timeout server 5400s\n\nfrontend mqtt_devices\n    bind :8883\n    rate-limit sessions 2000\n    default_backend brokers\n\nbackend brokers\n    balance leastconn\n    option tcp-check\n    tcp-check connect\n    tcp-check send-binary 100c00044d5154540402003c0000\n    tcp-check expect binary 20020000\n    tcp-check send-binary e000\n    server mqtt1 10.0.1.10:8883 check port 1884\n    server mqtt2 10.0.1.11:8883 check port 1884 backup\n\nlisten stats\n    bind 127.0.0.1:8404\n    mode http\n    stats enable\n    stats uri /stats\n    stats auth \"ops:${HAPROXY_STATS_PASSWORD}\"\n";

    #[test]
    fn tokenizes_quotes_escapes_and_comments() {
        let w = tokenize(r#"  stats auth "ops:${PASS}" 'a b' c\ d # comment"#, 1).unwrap();
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["stats", "auth", "ops:${PASS}", "a b", "c d"]);
        assert!(w[2].env && !w[3].env);
        assert_eq!((w[0].col, w[0].end_col), (3, 8));
        assert_eq!(
            tokenize("send \"\\x10\\x0c\"", 1).unwrap()[1].text,
            "\u{10}\u{c}"
        );
        assert!(tokenize("stats auth \"ops", 3)
            .unwrap_err()
            .message
            .contains("unterminated"));
        assert!(tokenize("x \\", 1).is_err());
        assert!(tokenize("x \\xZZ", 1).is_err());
        // Unquoted `${VAR}` is not expanded by HAProxy.
        assert!(!tokenize("stats auth ops:${PASS}", 1).unwrap()[2].env);
    }

    #[test]
    fn times_and_addresses() {
        assert_eq!(parse_time("5400s"), Some(5_400_000));
        assert_eq!(parse_time("30"), Some(30));
        assert_eq!(parse_time("1h"), Some(3_600_000));
        assert_eq!(parse_time("2d"), Some(172_800_000));
        assert_eq!(parse_time("500us"), Some(0));
        assert_eq!(parse_time("1x"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("99999999999999999999d"), None);
        assert_eq!(addr_port("10.0.0.1:8883"), Some(8883));
        assert_eq!(addr_port("[::1]:1883"), Some(1883));
        assert_eq!(bind_host(":8404"), None);
        assert_eq!(bind_host("*:8404"), None);
        assert_eq!(bind_host("127.0.0.1:8404").as_deref(), Some("127.0.0.1"));
        assert_eq!(bind_host("ipv4@0.0.0.0:9999"), None);
        assert_eq!(bind_host("[::1]:80").as_deref(), Some("::1"));
    }

    #[test]
    fn keywords_of_haproxy_2_6() {
        let l = |t: &str| Line {
            line: 1,
            words: tokenize(t, 1).unwrap(),
        };
        assert_eq!(
            keyword(SectionKind::Defaults, &l("timeout client 1h")),
            ("timeout client".into(), true)
        );
        assert_eq!(
            keyword(SectionKind::Defaults, &l("timeout clinet 1h")),
            ("timeout clinet".into(), false)
        );
        assert_eq!(
            keyword(SectionKind::Backend, &l("option tcp-check")),
            ("option tcp-check".into(), true)
        );
        assert_eq!(
            keyword(SectionKind::Backend, &l("no option httpclose")),
            ("option httpclose".into(), true)
        );
        assert_eq!(
            keyword(SectionKind::Backend, &l("balanse leastconn")),
            ("balanse".into(), false)
        );
        assert!(keyword(SectionKind::Global, &l("tune.ssl.default-dh-param 2048")).1);
        assert!(keyword(SectionKind::Global, &l("stats socket /x")).1);
        assert!(!keyword(SectionKind::Global, &l("nbproc 2")).1);
        assert!(unknown_keyword_help("nbproc").unwrap().contains("nbthread"));
        assert_eq!(unknown_keyword_help("timeout clinet").unwrap(), "did you mean `timeout client`? (HAProxy refuses to load a configuration with an unknown keyword)");
        assert!(unknown_keyword_help("balanse")
            .unwrap()
            .contains("`balance`"));
    }

    #[test]
    fn extracts_the_generated_config() {
        let x = extract_file(&file(GOOD)).unwrap();
        assert!(x.errors.is_empty());
        let lb = x.lb.unwrap();
        assert!(!lb.terminates_tls && !lb.proxy_protocol && lb.rate_limited);
        assert_eq!(
            (lb.client_timeout_s, lb.server_timeout_s),
            (Some(5400), Some(5400))
        );
        assert_eq!(x.health_checks.len(), 2);
        let hc = &x.health_checks[0];
        assert_eq!(hc.port, Some(1884));
        assert!(!hc.tls && !hc.presents_cert && hc.probe.is_none());
        let m = hc.mqtt.as_ref().unwrap();
        assert_eq!(m.send, crate::mqtt::Connect::health_check(60).encode());
        assert_eq!(m.expect, crate::mqtt::CONNACK_ACCEPTED);
        assert_eq!((m.send_span.line, m.send_span.col), (20, 27));
        assert_eq!(x.backends[0].servers.len(), 2);
        assert_eq!(x.standby.unwrap().line, 24);
        assert_eq!(x.timeouts.len(), 2);
        assert_eq!(x.admin.len(), 1);
        assert_eq!(x.admin[0].credentials, "reference");
        assert_eq!(x.admin[0].bind.as_deref(), Some("127.0.0.1"));
        assert!(x.secrets[0].inline.is_none());
        assert!(
            x.directives.iter().all(|d| d.known),
            "{:?}",
            x.directives.iter().filter(|d| !d.known).collect::<Vec<_>>()
        );
    }

    #[test]
    fn checks_that_do_not_speak_mqtt() {
        let bare = "defaults\n mode tcp\nbackend b\n server s1 10.0.0.1:1883 check\n";
        let x = extract_file(&file(bare)).unwrap();
        assert!(x.health_checks[0].mqtt.is_none());
        assert!(x.health_checks[0]
            .probe
            .as_ref()
            .unwrap()
            .0
            .contains("bare TCP"));
        let http = "backend b\n mode tcp\n option httpchk GET /\n server s1 10.0.0.1:1883 check\n";
        let x = extract_file(&file(http)).unwrap();
        assert_eq!(x.health_checks[0].probe.as_ref().unwrap().1.line, 3);
        let unread = "backend b\n option tcp-check\n tcp-check send-binary 100c00044d5154540402003c0000\n server s1 10.0.0.1:1883 check\n";
        let x = extract_file(&file(unread)).unwrap();
        assert!(x.health_checks[0].mqtt.is_some());
        assert!(x.health_checks[0]
            .probe
            .as_ref()
            .unwrap()
            .0
            .contains("never read"));
        // Servers without `check` are not checked at all.
        let x = extract_file(&file("backend b\n server s1 10.0.0.1:1883\n")).unwrap();
        assert!(x.health_checks.is_empty() && x.backends.len() == 1);
    }

    #[test]
    fn check_tls_port_and_certificate() {
        let t = "backend b\n option tcp-check\n tcp-check connect port 8883 ssl\n tcp-check send-binary 100c00044d5154540402003c0000\n tcp-check expect binary 20020000\n default-server crt /etc/haproxy/check.pem\n server s1 10.0.0.1:8883 check\n server s2 10.0.0.2:8883 check no-check-ssl\n";
        let x = extract_file(&file(t)).unwrap();
        assert_eq!(x.health_checks[0].port, Some(8883));
        assert!(x.health_checks[0].tls && x.health_checks[0].presents_cert);
        let t = "backend b\n server s1 10.0.0.1:8883 check check-ssl verify none\n server s2 10.0.0.2:8883 ssl check port 1884\n server s3 10.0.0.3:8883 ssl crt /c.pem check\n";
        let x = extract_file(&file(t)).unwrap();
        assert!(x.health_checks[0].tls && !x.health_checks[0].presents_cert);
        assert!(!x.health_checks[1].tls);
        assert!(x.health_checks[2].tls && x.health_checks[2].presents_cert);
    }

    #[test]
    fn termination_proxy_protocol_and_timeouts() {
        let t = "defaults\n mode tcp\n timeout client 30s\n timeout server 30s\nfrontend f\n bind :8883 ssl crt /etc/haproxy/site.pem\n default_backend b\nbackend b\n server s1 10.0.0.1:1883 send-proxy-v2-ssl-cn\n";
        let x = extract_file(&file(t)).unwrap();
        let lb = x.lb.unwrap();
        assert!(lb.terminates_tls && lb.proxy_protocol);
        assert_eq!(lb.span.line, 6);
        assert_eq!(x.timeouts.len(), 2);
        assert_eq!(x.timeouts[0].what, "timeout client");
        assert_eq!(x.timeouts[0].section, "frontend `f`");
        assert_eq!((x.timeouts[0].span.line, x.timeouts[0].span.col), (3, 17));
        // A tunnel timeout supersedes client and server timeouts in TCP mode.
        let t = "defaults\n mode tcp\n timeout client 30s\n timeout server 30s\nfrontend f\n bind :1883\n default_backend b\nbackend b\n timeout tunnel 2h\n server s1 10.0.0.1:1883\n";
        let x = extract_file(&file(t)).unwrap();
        assert_eq!(x.timeouts.len(), 1);
        assert_eq!(x.timeouts[0].what, "timeout tunnel");
        assert_eq!(x.lb.unwrap().client_timeout_s, Some(7200));
        // HTTP proxies are not MQTT.
        let x = extract_file(&file(
            "frontend web\n mode http\n bind :80\n timeout client 5s\n",
        ))
        .unwrap();
        assert!(x.timeouts.is_empty() && x.lb.is_none());
    }

    #[test]
    fn stats_credentials() {
        let t = "listen stats\n bind :8404\n mode http\n stats enable\n stats auth admin:admin\n stats auth ops:S3cure-and-long-enough\n";
        let x = extract_file(&file(t)).unwrap();
        assert_eq!(x.admin.len(), 2);
        assert_eq!(x.admin[0].credentials, "default");
        assert_eq!(x.admin[1].credentials, "inline");
        assert!(x.admin[0].bind.is_none());
        assert_eq!(x.admin[0].span.col, 13);
        assert_eq!(x.secrets[0].inline.as_deref(), Some("admin"));
        let x = extract_file(&file(
            "listen stats\n bind 0.0.0.0:8404\n mode http\n stats uri /\n",
        ))
        .unwrap();
        assert_eq!(x.admin[0].credentials, "none");
        let x = extract_file(&file(
            "global\n stats socket ipv4@0.0.0.0:9999 level admin\n",
        ))
        .unwrap();
        assert_eq!(x.admin[0].credentials, "none");
        assert_eq!(classify_password("ops", "short"), "weak");
        assert_eq!(classify_password("ops", "ops"), "default");
    }

    #[test]
    fn bad_values_are_positioned_errors() {
        let t = "backend b\n option tcp-check\n tcp-check send-binary 100c0zz\n server s1 10.0.0.1:1883 check\n timeout server 5x\n";
        let x = extract_file(&file(t)).unwrap();
        assert_eq!(x.errors.len(), 2);
        assert!(x.health_checks.is_empty());
        let d = &x.errors[0];
        assert_eq!(d.labels[0].span.line, 5);
        // Lines HAProxy refuses are reported at their position, and the
        // rest of the file is still read.
        let t = "  maxconn 10\nglobal\n  log \"unterminated\nfrontend f\n  bind *:1883\n  default_backend b\nbackend b\n  server s1 10.0.0.1:1883 check\n";
        let x = extract_file(&file(t)).unwrap();
        let at: Vec<(usize, usize)> = x
            .errors
            .iter()
            .map(|e| (e.labels[0].span.line, e.labels[0].span.col))
            .collect();
        assert_eq!(at[..2], [(1, 3), (3, 7)], "{:?}", x.errors);
        assert_eq!(x.plaintext.len(), 1);
        assert_eq!(x.plaintext[0].span.line, 5);
    }

    #[test]
    fn plaintext_frontends_forwarding_and_public_addresses() {
        for (host, public) in [
            ("203.0.113.20", true),
            ("8.8.8.8", true),
            ("10.0.0.1", false),
            ("172.16.3.4", false),
            ("192.168.1.1", false),
            ("100.64.0.1", false),
            ("127.0.0.1", false),
            ("169.254.1.1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("2001:db8::1", true),
            ("broker.internal", false),
        ] {
            assert_eq!(public_address(host), public, "{host}");
        }
        // TLS passed through to 8883 is not plaintext; a bind on 1883 and a
        // bind whose servers are all on 1883 are.
        let t = "defaults\n mode tcp\nfrontend tls\n bind :8883\n default_backend tls\nfrontend plain\n bind 10.0.0.5:9000\n default_backend plain\nfrontend local\n bind 127.0.0.1:1883\n default_backend plain\nbackend tls\n server a 10.0.0.1:8883 check\nbackend plain\n server a 10.0.0.1:1883 check\n";
        let x = extract_file(&file(t)).unwrap();
        let lines: Vec<usize> = x.plaintext.iter().map(|p| p.span.line).collect();
        assert_eq!(lines, [7]);
        // Terminated here, then re-encrypted (`ssl`) or sent to a private
        // address: not in clear on a public path.
        let t = "frontend f\n mode tcp\n bind :8883 ssl crt /c.pem\n default_backend b\nbackend b\n mode tcp\n server pub 198.51.100.7:1883\n server enc 198.51.100.8:8883 ssl verify required ca-file /ca.pem\n server lan 10.0.0.9:1883\n";
        let x = extract_file(&file(t)).unwrap();
        let lines: Vec<usize> = x.plaintext.iter().map(|p| p.span.line).collect();
        assert_eq!(lines, [7]);
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "\u{0}\u{1}\"",
            "backend\n server",
            "listen x\n stats auth",
            "backend b\n option tcp-check\n tcp-check expect",
            "frontend f\n bind",
            "defaults\n timeout",
            "backend b\n server-template",
            "\\",
            "backend b\n tcp-check expect ! rbinary ^20\n",
            "backend b\n server s 1:2 port",
        ] {
            let _ = extract_file(&file(t));
        }
    }

    #[test]
    fn detection() {
        // A fragment holding only a backend.
        assert!(detect(
            Path::new("lb/brokers.conf"),
            "backend brokers\n    server mqtt1 10.0.1.10:1883 check\n"
        ));
        assert!(detect(
            Path::new("/etc/haproxy/conf.d/20-mqtt.conf"),
            "frontend mqtt\n"
        ));
        assert!(!detect(
            Path::new("notes.txt"),
            "backend work\nmore notes\n"
        ));
        assert!(detect(Path::new("haproxy.cfg"), ""));
        assert!(detect(
            Path::new("lb.conf"),
            "global\n  maxconn 10\nfrontend f\n  bind :1\n"
        ));
        assert!(!detect(
            Path::new("mosquitto.conf"),
            "listener 1883\nallow_anonymous false\n"
        ));
        assert!(!detect(Path::new("rules.yml"), "frontend\nbackend\n"));
    }
}
