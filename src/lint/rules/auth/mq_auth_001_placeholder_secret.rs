//! A secret is a placeholder or a well-known default.
//!
//! What it does: checks every secret written inline (spec `value:` secrets:
//! user passwords, the load balancer's stats password, the backup
//! recipient; config values such as Mosquitto `plugin_opt_*`/`auth_opt_*`
//! passwords and bridge `remote_password`) against placeholders left from
//! examples ("your-secret-key-here", "changeme", "device-password", ...)
//! and well-known defaults ("password", "public", "admin", "admin:admin",
//! a password equal to its user name).
//!
//! Why it matters: placeholders and vendor defaults are the first thing an
//! attacker tries; a placeholder that reached a config means the real secret
//! was never set.
//!
//! Example:
//!     users:
//!       - { name: admin, role: admin, password: { value: changeme } }
//!
//! Use instead:
//!     users:
//!       - { name: admin, role: admin, password: { env: MQTT_ADMIN_PASSWORD } }
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
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
];

/// Why `value` is a placeholder, if it is one.
pub fn placeholder(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Some("empty".into());
    }
    if PLACEHOLDERS.contains(&v.as_str()) {
        return Some(format!("the placeholder or default `{}`", value.trim()));
    }
    let shape = v.starts_with("your-")
        || v.starts_with("your_")
        || v.ends_with("-here")
        || v.ends_with("_here")
        || v.contains("changeme")
        || (v.starts_with('<') && v.ends_with('>'));
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

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for s in &facts.secrets {
        let Some(value) = &s.inline else { continue };
        let Some(why) = placeholder(value) else {
            continue;
        };
        let mut f = Finding::new(&s.span, format!("the {} is {why}", s.what), "generate a real secret (e.g. `openssl rand -base64 24`) and pass it by reference: an environment variable or a file readable only by the service");
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
        ] {
            assert!(placeholder(v).is_none(), "{v:?}");
        }
    }
}
