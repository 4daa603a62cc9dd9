//! Secrets the spec references (`env:` or `file:`), resolved at render time
//! into the files that carry them to the services: password files that hold
//! only salted hashes (Mosquitto's passwd, EMQX's users bootstrap), and the
//! root-only environment files systemd hands to EMQX and HAProxy (the EMQX
//! cookie and dashboard password, the HAProxy stats password), never a
//! config file. These files are [`Sensitivity::Secret`]: never printed,
//! never in golden trees.

use crate::diag::Code;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{spec_error, OutputFile, RenderCtx, SecretMode, Sensitivity};
use crate::diag::Diagnostic;
use crate::spec::model::{Engine, Secret};
use crate::spec::Site;

/// Mosquitto 2's PBKDF2-SHA512 iteration count (`mosquitto_passwd` default).
const MOSQUITTO_ITERATIONS: u32 = 101;

/// Where the password file goes in the output tree.
pub const MOSQUITTO_PASSWD: &str = "mosquitto/passwd";

/// Whether the site gets a password file: users log in with passwords, or
/// a listener admits anonymous clients. Mosquitto 2 accepts an
/// anonymous-allowed client with whatever username it sends unless a
/// password file (even an empty one) checks usernames on its listener.
pub fn has_password_file(site: &Site) -> bool {
    site.spec.engine == Engine::Mosquitto
        && (has_password_users(site) || site.spec.listeners.iter().any(|l| l.anonymous))
}

fn has_password_users(site: &Site) -> bool {
    site.spec.users.iter().any(|u| u.password.is_some())
}

/// A secret the spec references, and where.
pub struct SecretRef<'a> {
    pub pointer: String,
    pub secret: &'a Secret,
    /// What the secret is (for messages).
    pub what: String,
}

/// Every secret reference of the spec that rendering resolves (the backup
/// recipient is read by the backup script at run time, not here).
pub fn references(site: &Site) -> Vec<SecretRef<'_>> {
    let spec = &site.spec;
    let mut out: Vec<SecretRef<'_>> = spec
        .users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            Some(SecretRef {
                pointer: format!("/users/{i}/password"),
                secret: u.password.as_ref()?,
                what: format!("password of user `{}`", u.name),
            })
        })
        .collect();
    if let Some(stats) = spec.load_balancer.as_ref().and_then(|lb| lb.stats.as_ref()) {
        out.push(SecretRef {
            pointer: "/load_balancer/stats/password".into(),
            secret: &stats.password,
            what: "HAProxy stats password".into(),
        });
    }
    if let Some(vrrp) = spec.load_balancer.as_ref().and_then(|lb| lb.vrrp.as_ref()) {
        out.push(SecretRef {
            pointer: "/load_balancer/vrrp/password".into(),
            secret: &vrrp.password,
            what: "VRRP password".into(),
        });
    }
    if let Some(emqx) = &spec.emqx {
        out.push(SecretRef {
            pointer: "/emqx/cookie".into(),
            secret: &emqx.cookie,
            what: "EMQX node cookie".into(),
        });
        out.push(SecretRef {
            pointer: "/emqx/dashboard_password".into(),
            secret: &emqx.dashboard_password,
            what: "EMQX dashboard password".into(),
        });
    }
    out
}

/// Reads a secret from the environment or a file.
pub fn resolve(
    site: &Site,
    values: &std::collections::BTreeMap<String, String>,
    secret: &Secret,
    pointer: &str,
) -> Result<String, Diagnostic> {
    if let Some(v) = secret
        .env
        .as_ref()
        .or(secret.file.as_ref())
        .and_then(|k| values.get(k))
    {
        return Ok(v.clone());
    }
    if let Some(var) = &secret.env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(spec_error(
                site,
                &format!("{pointer}/env"),
                Code::Secret,
                format!("the environment variable `{var}` is not set"),
                "export it before rendering, or render with --no-secrets to leave out the files that need it",
            )),
        };
    }
    if let Some(path) = &secret.file {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim_end_matches(['\n', '\r']).is_empty() => {
                Ok(v.trim_end_matches(['\n', '\r']).to_string())
            }
            Ok(_) => Err(spec_error(
                site,
                &format!("{pointer}/file"),
                Code::Secret,
                format!("the secret file `{path}` is empty"),
                "write the secret into the file",
            )),
            Err(e) => Err(spec_error(
                site,
                &format!("{pointer}/file"),
                Code::Secret,
                format!("cannot read the secret file `{path}`: {e}"),
                "create the file, or render with --no-secrets",
            )),
        };
    }
    match &secret.value {
        Some(v) => Ok(v.clone()),
        None => Err(spec_error(
            site,
            pointer,
            Code::Secret,
            "the secret has no source".into(),
            "use `env:` or `file:`",
        )),
    }
}

/// A `mosquitto_passwd` line: `user:$7$101$salt$hash` (PBKDF2-SHA512) with
/// a random 12-byte salt. A salt derived from the password would let anyone
/// holding the file test guesses faster than the hash it protects.
pub fn mosquitto_hash(user: &str, password: &str) -> String {
    let salt: [u8; 12] = random_bytes();
    mosquitto_line(user, password, &salt)
}

fn mosquitto_line(user: &str, password: &str, salt: &[u8]) -> String {
    let mut hash = [0u8; 64];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        std::num::NonZeroU32::new(MOSQUITTO_ITERATIONS).expect("non-zero"),
        salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{user}:$7${MOSQUITTO_ITERATIONS}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(hash)
    )
}

/// The line of `previous` (a password file rendered before) that holds
/// `user` with exactly this password, to keep it: the same secret keeps the
/// same bytes, so `plan` stays clean.
fn kept_mosquitto_line<'a>(previous: &'a str, user: &str, password: &str) -> Option<&'a str> {
    let line = previous
        .lines()
        .find(|l| l.split_once(':').is_some_and(|(u, _)| u == user))?;
    let fields: Vec<&str> = line.split_once(':')?.1.split('$').collect();
    let ["", "7", iterations, salt, _] = fields.as_slice() else {
        return None;
    };
    if *iterations != MOSQUITTO_ITERATIONS.to_string() {
        return None;
    }
    let salt = STANDARD.decode(salt).ok()?;
    (mosquitto_line(user, password, &salt) == line).then_some(line)
}

/// Cryptographically random bytes (the system's generator).
fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .expect("the system random generator works");
    out
}

/// A row of EMQX's built-in database bootstrap file (`bootstrap_type =
/// hash`): `user_id,password_hash,salt,is_superuser`, the hash being the
/// lowercase hex of PBKDF2-SHA512 over the salt string's bytes (EMQX uses
/// the salt as given, not decoded), 64 bytes long.
pub fn emqx_row(user: &str, password: &str) -> String {
    let salt: String = random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    emqx_row_with(user, password, &salt)
}

fn emqx_row_with(user: &str, password: &str, salt: &str) -> String {
    let mut hash = [0u8; 64];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        std::num::NonZeroU32::new(crate::render::targets::emqx::PBKDF2_ITERATIONS)
            .expect("non-zero"),
        salt.as_bytes(),
        password.as_bytes(),
        &mut hash,
    );
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{user},{hex},{salt},false")
}

fn kept_emqx_row<'a>(previous: &'a str, user: &str, password: &str) -> Option<&'a str> {
    let row = previous
        .lines()
        .find(|l| l.split(',').next() == Some(user))?;
    let salt = row.split(',').nth(2)?;
    (emqx_row_with(user, password, salt) == row).then_some(row)
}

/// Header of the EMQX users bootstrap file.
const EMQX_USERS_HEADER: &str = "user_id,password_hash,salt,is_superuser";

/// Where the secret-bearing files go in the output tree, and their names
/// under the install layout's secrets directory (`/etc/mqttforge`: outside
/// `/etc/emqx`, whose files the EMQX package makes world-readable on every
/// upgrade).
pub const EMQX_USERS: &str = "emqx/users.csv";
pub const EMQX_USERS_FILE: &str = "emqx-users.csv";
pub const EMQX_ENV: &str = "emqx/emqx.env";
pub const EMQX_ENV_FILE: &str = "emqx.env";
pub const HAPROXY_ENV: &str = "haproxy/haproxy.env";
pub const HAPROXY_ENV_FILE: &str = "haproxy.env";
pub const KEEPALIVED_AUTH: &str = "keepalived/auth.conf";
pub const KEEPALIVED_AUTH_FILE: &str = "keepalived-auth.conf";
/// The systemd drop-in that hands a service its environment file.
pub const SECRETS_DROPIN: &str = "mqttforge-secrets.conf";
/// The variable haproxy.cfg reads the stats password from.
pub const HAPROXY_STATS_VAR: &str = "MQTTFORGE_HAPROXY_STATS_PASSWORD";

/// The hashed-password files as an earlier apply left them in an output
/// directory (for `RenderOptions::previous_secrets`): unreadable or absent
/// files are simply not kept.
pub fn read_previous(out: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    [MOSQUITTO_PASSWD, EMQX_USERS]
        .into_iter()
        .filter_map(|path| Some((path.to_string(), std::fs::read(out.join(path)).ok()?)))
        .collect()
}

/// The same, from a host's file system under `root` (apply --root): each
/// file at its production install path, keyed by its tree path.
pub fn read_previous_installed(
    site: &Site,
    root: &std::path::Path,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let installed = super::Layout::new(site.spec.engine, "", false);
    [
        (MOSQUITTO_PASSWD, installed.conf("passwd")),
        (EMQX_USERS, installed.secrets(EMQX_USERS_FILE)),
    ]
    .into_iter()
    .filter_map(|(path, install)| {
        let bytes = std::fs::read(root.join(install.trim_start_matches('/'))).ok()?;
        Some((path.to_string(), bytes))
    })
    .collect()
}

/// The secret-bearing files of the site (none with [`SecretMode::Skip`]).
pub fn files(ctx: &RenderCtx<'_>) -> Result<Vec<(String, OutputFile)>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    if ctx.opts.secrets == SecretMode::Skip {
        // Without users, the password file holds no secret: it is rendered
        // all the same.
        if !has_password_users(ctx.site) {
            out.extend(password_file(ctx)?);
        }
        return Ok(out);
    }
    let mut diags = Vec::new();
    let mut collect = |r: Result<Option<(String, OutputFile)>, Vec<Diagnostic>>| match r {
        Ok(f) => out.extend(f),
        Err(d) => diags.extend(d),
    };
    collect(password_file(ctx));
    collect(emqx_users(ctx));
    collect(emqx_env(ctx));
    collect(haproxy_env(ctx));
    collect(keepalived_auth(ctx));
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// Every user with a password, resolved: (user, password).
fn user_passwords(ctx: &RenderCtx<'_>) -> Result<Vec<(String, String)>, Vec<Diagnostic>> {
    let mut found = Vec::new();
    let mut diags = Vec::new();
    for (i, user) in ctx.site.spec.users.iter().enumerate() {
        let Some(secret) = &user.password else {
            continue;
        };
        match resolve(
            ctx.site,
            &ctx.opts.secret_values,
            secret,
            &format!("/users/{i}/password"),
        ) {
            Ok(pw) => found.push((user.name.to_string(), pw)),
            Err(d) => diags.push(d),
        }
    }
    if diags.is_empty() {
        Ok(found)
    } else {
        Err(diags)
    }
}

fn previous(ctx: &RenderCtx<'_>, path: &str) -> String {
    ctx.opts
        .previous_secrets
        .get(path)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// A secret file only root and the broker's group read.
fn broker_secret(ctx: &RenderCtx<'_>, contents: String, install: String) -> OutputFile {
    OutputFile {
        contents: contents.into_bytes(),
        mode: 0o640,
        sensitivity: Sensitivity::Secret,
        install: Some(install),
        hosts: ctx.node_names(),
        group: Some(ctx.layout.engine_layout().user.to_string()),
    }
}

/// A secret file only root reads (systemd reads environment files as root).
fn root_secret(contents: String, install: String, hosts: Vec<String>) -> OutputFile {
    OutputFile {
        contents: contents.into_bytes(),
        mode: 0o600,
        sensitivity: Sensitivity::Secret,
        install: Some(install),
        hosts,
        group: None,
    }
}

fn password_file(ctx: &RenderCtx<'_>) -> Result<Option<(String, OutputFile)>, Vec<Diagnostic>> {
    if !has_password_file(ctx.site) {
        return Ok(None);
    }
    let before = previous(ctx, MOSQUITTO_PASSWD);
    let lines: Vec<String> = user_passwords(ctx)?
        .iter()
        .map(|(user, pw)| match kept_mosquitto_line(&before, user, pw) {
            Some(line) => line.to_string(),
            None => mosquitto_hash(user, pw),
        })
        .collect();
    let mut file = broker_secret(ctx, String::new(), ctx.installed.conf("passwd"));
    if lines.is_empty() {
        // No user has a password: the file only makes Mosquitto refuse a
        // username sent on an anonymous listener.
        file.sensitivity = Sensitivity::Public;
    } else {
        file.contents = format!("{}\n", lines.join("\n")).into_bytes();
    }
    Ok(Some((MOSQUITTO_PASSWD.to_string(), file)))
}

fn emqx_users(ctx: &RenderCtx<'_>) -> Result<Option<(String, OutputFile)>, Vec<Diagnostic>> {
    if ctx.site.spec.engine != Engine::Emqx {
        return Ok(None);
    }
    let before = previous(ctx, EMQX_USERS);
    let mut contents = format!("{EMQX_USERS_HEADER}\n");
    for (user, pw) in user_passwords(ctx)? {
        match kept_emqx_row(&before, &user, &pw) {
            Some(row) => contents.push_str(row),
            None => contents.push_str(&emqx_row(&user, &pw)),
        }
        contents.push('\n');
    }
    let file = broker_secret(ctx, contents, ctx.installed.secrets(EMQX_USERS_FILE));
    Ok(Some((EMQX_USERS.to_string(), file)))
}

/// A resolved secret that goes into an environment file: no control
/// character (it would add a line), and, when `charset` is given, only
/// those characters.
fn env_value(
    ctx: &RenderCtx<'_>,
    secret: &Secret,
    pointer: &str,
    check: fn(&str) -> Option<&'static str>,
) -> Result<String, Diagnostic> {
    let value = resolve(ctx.site, &ctx.opts.secret_values, secret, pointer)?;
    let problem = if value.chars().any(char::is_control) {
        Some("it contains a control character (a line break would add a line to the environment file)")
    } else {
        check(&value)
    };
    match problem {
        None => Ok(value),
        Some(why) => Err(spec_error(
            ctx.site,
            pointer,
            Code::Secret,
            format!("the secret's value cannot be used: {why}"),
            "choose another value (the value itself is never printed)",
        )),
    }
}

/// The Erlang cookie is used verbatim by `bin/emqx` and parsed as a HOCON
/// value: letters first, then letters, digits, `_` and `-`, 16 to 255 long.
fn cookie_problem(value: &str) -> Option<&'static str> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let starts = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    (!(ok_chars && starts && (16..=255).contains(&value.len()))).then_some(
        "a node cookie is 16 to 255 characters of A-Z a-z 0-9 _ -, starting with a letter",
    )
}

/// Values delivered as a double-quoted HOCON string inside a double-quoted
/// systemd value: no `"` or `\\` (nothing to escape twice).
fn quoted_problem(value: &str) -> Option<&'static str> {
    if value.contains(['"', '\\']) {
        Some("it contains `\"` or `\\`, which the environment file cannot carry")
    } else if value.len() < 8 {
        Some("it is shorter than 8 characters")
    } else {
        None
    }
}

fn emqx_env(ctx: &RenderCtx<'_>) -> Result<Option<(String, OutputFile)>, Vec<Diagnostic>> {
    let Some(emqx) = &ctx.site.spec.emqx else {
        return Ok(None);
    };
    let cookie = env_value(ctx, &emqx.cookie, "/emqx/cookie", cookie_problem);
    let dashboard = env_value(
        ctx,
        &emqx.dashboard_password,
        "/emqx/dashboard_password",
        quoted_problem,
    );
    let (cookie, dashboard) = match (cookie, dashboard) {
        (Ok(c), Ok(d)) => (c, d),
        (c, d) => return Err(c.err().into_iter().chain(d.err()).collect()),
    };
    // bin/emqx passes the cookie to Erlang as it is; EMQX parses every
    // EMQX_* value as HOCON, so the password travels as a quoted string.
    let contents = format!(
        "# generated by mqttforge: secrets of emqx.service (root only)\n\
         EMQX_NODE__COOKIE={cookie}\n\
         EMQX_DASHBOARD__DEFAULT_PASSWORD=\"\\\"{dashboard}\\\"\"\n"
    );
    let file = root_secret(
        contents,
        ctx.installed.secrets(EMQX_ENV_FILE),
        ctx.node_names(),
    );
    Ok(Some((EMQX_ENV.to_string(), file)))
}

fn haproxy_env(ctx: &RenderCtx<'_>) -> Result<Option<(String, OutputFile)>, Vec<Diagnostic>> {
    let Some(stats) = ctx
        .site
        .spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.stats.as_ref())
    else {
        return Ok(None);
    };
    let password = env_value(
        ctx,
        &stats.password,
        "/load_balancer/stats/password",
        quoted_problem,
    )
    .map_err(|d| vec![d])?;
    let contents = format!(
        "# generated by mqttforge: secrets of haproxy.service (root only)\n\
         {HAPROXY_STATS_VAR}=\"{password}\"\n"
    );
    let file = root_secret(
        contents,
        ctx.installed.secrets(HAPROXY_ENV_FILE),
        vec!["lb".to_string()],
    );
    Ok(Some((HAPROXY_ENV.to_string(), file)))
}

/// VRRP PASS authentication carries 8 characters; keepalived reads the
/// value as one word, `#` and `!` start comments.
fn vrrp_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() || value.len() > 8 {
        Some("VRRP authentication carries 1 to 8 characters, and keepalived would cut a longer one")
    } else if !value
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '#' | '!' | '"' | '\'' | '\\' | '{' | '}'))
    {
        Some("it holds a blank, a control character or one of `# ! \" ' \\ { }`, which keepalived's config cannot carry")
    } else {
        None
    }
}

/// The VRRP password, in a root-only file keepalived.conf includes.
fn keepalived_auth(ctx: &RenderCtx<'_>) -> Result<Option<(String, OutputFile)>, Vec<Diagnostic>> {
    let Some(vrrp) = ctx
        .site
        .spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.vrrp.as_ref())
    else {
        return Ok(None);
    };
    let password = env_value(
        ctx,
        &vrrp.password,
        "/load_balancer/vrrp/password",
        vrrp_problem,
    )
    .map_err(|d| vec![d])?;
    let contents = format!(
        "# generated by mqttforge: VRRP password of keepalived.conf (root only)\n\
         auth_pass {password}\n"
    );
    let file = root_secret(
        contents,
        ctx.installed.secrets(KEEPALIVED_AUTH_FILE),
        vec!["lb".to_string()],
    );
    Ok(Some((KEEPALIVED_AUTH.to_string(), file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_have_mosquittos_shape() {
        let line = mosquitto_hash("admin", "s3cret");
        let parts: Vec<&str> = line.split('$').collect();
        assert_eq!(parts[0], "admin:");
        assert_eq!(parts[1], "7");
        assert_eq!(parts[2], "101");
        assert_eq!(STANDARD.decode(parts[3]).unwrap().len(), 12);
        assert_eq!(STANDARD.decode(parts[4]).unwrap().len(), 64);
        assert!(!line.contains("s3cret"));
    }

    #[test]
    fn salts_are_random_not_derived_from_the_password() {
        let a = mosquitto_hash("admin", "s3cret");
        let b = mosquitto_hash("admin", "s3cret");
        assert_ne!(a, b, "two hashes of one password share a salt");
        assert_ne!(emqx_row("admin", "s3cret"), emqx_row("admin", "s3cret"));
    }

    #[test]
    fn an_unchanged_secret_keeps_its_line_and_a_changed_one_does_not() {
        let before = format!(
            "{}\n{}\n",
            mosquitto_hash("ops", "x"),
            mosquitto_hash("admin", "s3cret")
        );
        let kept = kept_mosquitto_line(&before, "admin", "s3cret").unwrap();
        assert!(before.contains(kept) && kept.starts_with("admin:"));
        assert_eq!(kept_mosquitto_line(&before, "admin", "other"), None);
        assert_eq!(kept_mosquitto_line(&before, "nobody", "s3cret"), None);
        let rows = format!("{EMQX_USERS_HEADER}\n{}\n", emqx_row("admin", "s3cret"));
        assert!(kept_emqx_row(&rows, "admin", "s3cret").is_some());
        assert_eq!(kept_emqx_row(&rows, "admin", "other"), None);
    }

    /// The worked example of docs/emqx-target.md, computed there with
    /// Python's hashlib.pbkdf2_hmac('sha512', pw, salt, 100000, 64) (what
    /// EMQX's emqx_passwd verifies).
    #[test]
    fn emqx_rows_match_emqxs_pbkdf2() {
        let row = emqx_row_with(
            "device-01",
            "Dev1ce-Pa55word",
            "0f7e5c3a9b1d4e6f8a2c4e6f8a0b1c2d",
        );
        assert_eq!(
            row,
            "device-01,e60a81d393afd602c78cd884c1ccc7b15a8ae607a1d0c81387c04c03114d3af3db47b744a6c6cbf2f8fc99fa4eb0463e48a21a7d659c939b0e850a5d461aa2f3,0f7e5c3a9b1d4e6f8a2c4e6f8a0b1c2d,false"
        );
    }

    #[test]
    fn cookies_and_quoted_values_are_checked() {
        assert_eq!(cookie_problem("Abcdefghijklmnop_-1"), None);
        assert!(cookie_problem("short").is_some());
        assert!(cookie_problem("1234567890123456789").is_some());
        assert!(cookie_problem("abcdefghijklmnop qr").is_some());
        assert_eq!(quoted_problem("correct horse #1"), None);
        assert!(quoted_problem("has\"quote").is_some());
        assert!(quoted_problem("back\\slash").is_some());
    }
}
