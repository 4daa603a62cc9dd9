//! Secrets the spec references (`env:` or `file:`), resolved at render time
//! into files that hold only hashes, never plaintext: the Mosquitto password
//! file. These files are [`Sensitivity::Secret`]: never printed, never in
//! golden trees.

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

/// Whether the site gets a password file.
pub fn has_password_file(site: &Site) -> bool {
    site.spec.engine == Engine::Mosquitto && site.spec.users.iter().any(|u| u.password.is_some())
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
                "secret",
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
                "secret",
                format!("the secret file `{path}` is empty"),
                "write the secret into the file",
            )),
            Err(e) => Err(spec_error(
                site,
                &format!("{pointer}/file"),
                "secret",
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
            "secret",
            "the secret has no source".into(),
            "use `env:` or `file:`",
        )),
    }
}

/// A `mosquitto_passwd` line: `user:$7$101$salt$hash` (PBKDF2-SHA512).
///
/// The salt is derived from the site, the user and the password (HMAC-SHA256
/// keyed with the password), so rendering an unchanged secret again gives
/// the same bytes and `plan` stays clean, while another user, site or
/// password gets another salt. Guessing a password costs the same PBKDF2 work
/// as with a random salt.
pub fn mosquitto_hash(site: &str, user: &str, password: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, password.as_bytes());
    let tag = ring::hmac::sign(&key, format!("mqttforge-salt/{site}/{user}").as_bytes());
    let mut salt = [0u8; 12];
    salt.copy_from_slice(&tag.as_ref()[..12]);
    let mut hash = [0u8; 64];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        std::num::NonZeroU32::new(MOSQUITTO_ITERATIONS).expect("non-zero"),
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{user}:$7${MOSQUITTO_ITERATIONS}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(hash)
    )
}

/// The secret-bearing files of the site (empty with [`SecretMode::Skip`]).
pub fn files(ctx: &RenderCtx<'_>) -> Result<Vec<(String, OutputFile)>, Vec<Diagnostic>> {
    if ctx.opts.secrets == SecretMode::Skip || !has_password_file(ctx.site) {
        return Ok(Vec::new());
    }
    let mut lines = Vec::new();
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
            Ok(pw) => lines.push(mosquitto_hash(ctx.site.name(), user.name.as_str(), &pw)),
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut contents = lines.join("\n");
    contents.push('\n');
    Ok(vec![(
        MOSQUITTO_PASSWD.to_string(),
        OutputFile {
            contents: contents.into_bytes(),
            mode: 0o640,
            sensitivity: Sensitivity::Secret,
            install: Some(ctx.installed.conf("passwd")),
            hosts: ctx.node_names(),
            group: Some(ctx.layout.engine_layout().user.to_string()),
        },
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_have_mosquittos_shape() {
        let line = mosquitto_hash("site", "admin", "s3cret");
        let parts: Vec<&str> = line.split('$').collect();
        assert_eq!(parts[0], "admin:");
        assert_eq!(parts[1], "7");
        assert_eq!(parts[2], "101");
        assert_eq!(STANDARD.decode(parts[3]).unwrap().len(), 12);
        assert_eq!(STANDARD.decode(parts[4]).unwrap().len(), 64);
        assert!(!line.contains("s3cret"));
    }

    #[test]
    fn hashes_are_stable_for_the_same_secret_only() {
        let a = mosquitto_hash("site", "admin", "s3cret");
        assert_eq!(a, mosquitto_hash("site", "admin", "s3cret"));
        assert_ne!(a, mosquitto_hash("site", "admin", "other"));
        assert_ne!(a, mosquitto_hash("site", "ops", "s3cret"));
        assert_ne!(a, mosquitto_hash("site2", "admin", "s3cret"));
    }
}
