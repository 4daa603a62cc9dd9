//! A secret is a placeholder or a well-known default.
//!
//! What it does: checks every secret written inline (spec `value:` secrets:
//! user passwords, the load balancer's stats password, the backup
//! recipient; config values such as Mosquitto `plugin_opt_*`/`auth_opt_*`
//! passwords and bridge `remote_password`, EMQX `node.cookie` and
//! `dashboard.default_password`, HAProxy `stats auth` and `userlist`
//! passwords) against placeholders left from examples
//! ("your-secret-key-here", "changeme", "CHANGE_ME_...", "...-change-me",
//! "override-with-...", "mymqttpassword", "<password>") and well-known
//! defaults ("password", "public", "admin", "admin:admin", EMQX's shipped
//! cookie `emqxsecretcookie`, a password equal to its user name). The
//! exact values and the shapes (prefix, suffix, words inside) are two
//! tables, [`PLACEHOLDERS`] and [`SHAPES`].
//!
//! Why it matters: placeholders and vendor defaults are the first thing an
//! attacker tries; a placeholder that reached a config means the real secret
//! was never set. EMQX's default cookie lets anyone who reaches the
//! distribution port join the cluster and run code on every node.
//!
//! Example:
//!     users:
//!       - { name: admin, role: admin, password: { value: changeme } }
//!
//!     node.cookie = "emqxsecretcookie"          (emqx.conf)
//!     remote_password mymqttpassword            (mosquitto.conf bridge)
//!
//! Use instead:
//!     users:
//!       - { name: admin, role: admin, password: { env: MQTT_ADMIN_PASSWORD } }
//!
//!     (no node.cookie: EMQX_NODE__COOKIE in the service's environment)
//!     remote_password ...                       (in an `include_dir` file only mosquitto reads)
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-AUTH-001",
    name: "placeholder_secret",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_auth_001_placeholder_secret.rs"),
    check,
};

/// Placeholders from examples and well-known default credentials (compared
/// without case).
pub const PLACEHOLDERS: &[&str] = &[
    "your-secret-key-here",
    "your-secret-here",
    "your-password-here",
    "your-password",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "replaceme",
    "replace-me",
    "replace_me",
    "placeholder",
    "password",
    "passw0rd",
    "password1",
    "password123",
    "device-password",
    "device_password",
    "mqtt-password",
    "secret",
    "mysecret",
    "supersecret",
    "mypassword",
    "admin",
    "admin:admin",
    "admin123",
    "public",
    "emqx",
    "mosquitto",
    "root",
    "toor",
    "guest",
    "default",
    "test",
    "test123",
    "example",
    "todo",
    "tbd",
    "fixme",
    "xxx",
    "1234",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "emqxsecretcookie",
    "mymqttpassword",
    "mqttpassword",
    "secretpassword",
];

/// Where a placeholder's telltale part sits in the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Prefix,
    Suffix,
    Anywhere,
}

/// Shapes of placeholders (compared without case, `_` read as `-`): a
/// value that starts, ends or contains one of these was never replaced.
pub const SHAPES: &[(At, &str)] = &[
    (At::Prefix, "your-"),
    (At::Suffix, "-here"),
    (At::Anywhere, "changeme"),
    (At::Anywhere, "change-me"),
    (At::Anywhere, "change-this"),
    (At::Anywhere, "replace-me"),
    (At::Anywhere, "replace-with-"),
    (At::Prefix, "override-with-"),
    (At::Prefix, "put-your-"),
];

/// Words that make `my<word>` a placeholder (`mypassword`, `mymqttpassword`).
const MY_WORDS: &[&str] = &[
    "password", "secret", "pass", "pwd", "key", "token", "cookie",
];

/// `my` + letters + a word of [`MY_WORDS`]: `mypassword`, `mymqttpassword`.
fn my_word(v: &str) -> bool {
    v.starts_with("my")
        && v.chars().all(|c| c.is_ascii_lowercase())
        && MY_WORDS.iter().any(|w| v.ends_with(w))
}

/// Why `value` is a placeholder, if it is one.
pub fn placeholder(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Some("empty".into());
    }
    if PLACEHOLDERS.contains(&v.as_str()) {
        return Some(format!("the placeholder or default `{}`", value.trim()));
    }
    let dashed = v.replace('_', "-");
    let shape = SHAPES.iter().any(|(at, s)| match at {
        At::Prefix => dashed.starts_with(s),
        At::Suffix => dashed.ends_with(s),
        At::Anywhere => dashed.contains(s),
    }) || (v.starts_with('<') && v.ends_with('>'))
        || my_word(&v);
    if shape {
        return Some(format!("the placeholder `{}`", value.trim()));
    }
    // Fillers: `xxxx`, `****`, `....`.
    let first = v.chars().next();
    let repeated = v.chars().count() >= 3 && v.chars().all(|c| Some(c) == first);
    if (repeated && !first.is_some_and(|c| c.is_ascii_alphanumeric()))
        || v.chars().all(|c| c == 'x')
    {
        return Some(format!("the filler `{}`", value.trim()));
    }
    // `user:password` credentials: a default password, or the user name again.
    if let Some((user, pass)) = v.split_once(':') {
        if !pass.is_empty() && (user == pass || PLACEHOLDERS.contains(&pass)) {
            return Some(format!("the default credential `{}`", value.trim()));
        }
    }
    None
}

/// How to pass a secret by reference, by what the secret is (the start of
/// [`SecretFact::what`](crate::facts::SecretFact)); the first match wins.
const HELP_BY_WHAT: &[(&str, &str)] = &[
    ("EMQX Erlang cookie", "generate a cookie (`openssl rand -hex 32`), the same on every node of the cluster, and give it in the service's environment (`EMQX_NODE__COOKIE` from a root-only EnvironmentFile) instead of `node.cookie`"),
    ("EMQX dashboard", "generate a password (`openssl rand -base64 24`) and give it in the service's environment (`EMQX_DASHBOARD__DEFAULT_PASSWORD` from a root-only EnvironmentFile) instead of `dashboard.default_password`; change it at first login"),
    ("HAProxy stats", "generate a password (`openssl rand -base64 24`) and take it from the environment: `stats auth \"ops:${HAPROXY_STATS_PASSWORD}\"`"),
    ("password of user `", "generate a password (`openssl rand -base64 24`); in a userlist store only its hash (`user NAME password $6$...`, from `mkpasswd -m sha-512`)"),
    ("bridge", "generate a password (`openssl rand -base64 24`), set it on the remote broker, and write the bridge's `remote_password` in a file included with `include_dir` that only mosquitto can read (mode 0640)"),
    ("plugin option", "generate a password (`openssl rand -base64 24`) and write the option in a file included with `include_dir` that only mosquitto can read (mode 0640)"),
];

const HELP: &str = "generate a real secret (e.g. `openssl rand -base64 24`) and pass it by reference: an environment variable or a file readable only by the service";

fn help(facts: &Facts, what: &str) -> &'static str {
    if facts.origin == Origin::Spec {
        return HELP;
    }
    HELP_BY_WHAT
        .iter()
        .find(|(start, _)| what.starts_with(start))
        .map_or(HELP, |(_, h)| h)
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for s in &facts.secrets {
        let Some(value) = &s.inline else { continue };
        let Some(why) = placeholder(value) else {
            continue;
        };
        let mut f = Finding::new(
            &s.span,
            format!("the {} is {why}", s.what),
            help(facts, &s.what),
        );
        if let Some(sev) = relaxed(facts, Severity::Warning) {
            f = f.with_severity(sev);
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::placeholder;

    #[test]
    fn placeholders_and_defaults_are_recognised() {
        for v in [
            "changeme",
            "ChangeMe",
            "your-secret-key-here",
            "device-password",
            "admin:admin",
            "ops:ops",
            "<password>",
            "xxxxxxxx",
            "********",
            "",
            "public",
            "emqxsecretcookie",
            "CHANGE_ME_TO_A_LONG_RANDOM_STRING",
            "stats-password-change-me",
            "override-with-a-real-cookie",
            "mymqttpassword",
            "MySecret",
        ] {
            assert!(placeholder(v).is_some(), "{v:?}");
        }
    }

    #[test]
    fn real_secrets_are_not() {
        for v in [
            "k3J9-vQx2!mP",
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            "ops:Zx81-pQ",
            "myQ8-zk2L-4rTp",
            "mountain-river-glass-47",
        ] {
            assert!(placeholder(v).is_none(), "{v:?}");
        }
    }
}
