//! PEM certificates and private keys.
//!
//! Certificates (`-----BEGIN CERTIFICATE-----`, one fact per block, chains
//! included) are read with x509-parser: version, validity and days left (at
//! the current time), KeyUsage, ExtendedKeyUsage, basicConstraints,
//! SubjectAltName, key type and size, signature algorithm. The role is the
//! certificate's own claim: CA if basicConstraints says CA (or, without
//! extensions, if it is self-signed), server if it has serverAuth or SANs,
//! or no clientAuth and a host name or IP address as its CN (a server
//! certificate a CA issued without extensions), else device.
//!
//! Private keys (`-----BEGIN ... PRIVATE KEY-----`) are facts about the file:
//! its mode, owner and group, compared with the brokers' service accounts
//! ([`BROKER_ACCOUNTS`], looked up in /etc/passwd and /etc/group), and the
//! size of an RSA key. A file holding a key and certificates (a bundle) gives
//! both kinds of facts. Nothing here prints key material.
//!
//! Cost: linear in the file's bytes: one pass to find and decode the blocks,
//! one parse per certificate.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::{line_span, parse_error, Input};
use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::facts::{CertFact, CertRole, Facts, KeyFileFact};
use crate::source::SourceFile;

/// The service accounts brokers run as (user and group of the same name).
pub const BROKER_ACCOUNTS: &[&str] = &["mosquitto", "emqx", "rumqttd"];

/// Signature algorithms by OID, and their names.
const SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.2.840.10040.4.3", "dsa-with-SHA1"),
    ("2.16.840.1.101.3.4.3.2", "dsa-with-SHA256"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
];

/// rsaEncryption (1.2.840.113549.1.1.1), DER-encoded.
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

pub fn detect_cert(_path: &Path, text: &str) -> bool {
    text.lines()
        .any(|l| l.trim() == "-----BEGIN CERTIFICATE-----")
}

pub fn detect_key(_path: &Path, text: &str) -> bool {
    text.lines().any(is_key_begin)
}

/// Whether a line opens a private key block (PKCS#8, PKCS#1, SEC1, OpenSSH, encrypted).
pub(crate) fn is_key_begin(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("-----BEGIN ") && l.ends_with("PRIVATE KEY-----")
}

/// One PEM block: its label, the line of its BEGIN, its DER.
struct Block {
    label: String,
    line: usize,
    der: Vec<u8>,
}

/// Every PEM block of the file, decoded.
fn blocks(file: &Arc<SourceFile>) -> Result<Vec<Block>, Diagnostic> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (i, raw) in file.text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        match open.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    open = Some((label.to_string(), n, String::new()));
                }
            }
            Some((label, start, b64)) => {
                if let Some(end) = line
                    .strip_prefix("-----END ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    if end != label {
                        return Err(parse_error(
                            file,
                            n,
                            1,
                            "PEM file",
                            format!("`-----END {end}-----` closes a `{label}` block"),
                        ));
                    }
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(b64.as_bytes())
                        .map_err(|e| {
                            parse_error(
                                file,
                                *start,
                                1,
                                "PEM file",
                                format!("the {label} block is not valid base64 ({e})"),
                            )
                        })?;
                    out.push(Block {
                        label: label.clone(),
                        line: *start,
                        der,
                    });
                    open = None;
                } else if line.contains(':') {
                    // RFC 1421 headers of legacy encrypted keys (Proc-Type, DEK-Info).
                } else {
                    b64.push_str(line);
                }
            }
        }
    }
    if let Some((label, start, _)) = open {
        return Err(parse_error(
            file,
            start,
            1,
            "PEM file",
            format!("the {label} block has no `-----END {label}-----` line"),
        ));
    }
    Ok(out)
}

pub fn extract_cert(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let blocks = blocks(&input.file)?;
    let certs = cert_facts(&input.file, &blocks, OffsetDateTime::now_utc())?;
    if certs.is_empty() {
        return Err(parse_error(
            &input.file,
            1,
            1,
            "PEM file",
            "it holds no CERTIFICATE block",
        ));
    }
    facts.certs.extend(certs);
    Ok(())
}

pub fn extract_key(input: &Input, facts: &mut Facts) -> Result<(), Diagnostic> {
    let file = &input.file;
    let blocks = blocks(file)?;
    let keys: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .collect();
    if keys.is_empty() {
        return Err(parse_error(
            file,
            1,
            1,
            "PEM file",
            "it holds no PRIVATE KEY block",
        ));
    }
    let meta = std::fs::metadata(&input.path).map_err(|e| {
        Diagnostic::error(
            Code::Audit,
            format!("cannot read the mode and owner of `{}`: {e}", file.name),
        )
        .with_label(Label::primary(line_span(file, 1), "this key"))
        .with_help("run the audit as a user that may stat the file")
    })?;
    let owner = account_name("/etc/passwd", meta.uid());
    let group = account_name("/etc/group", meta.gid());
    let work_tree = work_tree(&input.path);
    for key in keys {
        facts.keys.push(KeyFileFact {
            path: file.name.clone(),
            mode: meta.mode() & 0o7777,
            owner_is_broker: BROKER_ACCOUNTS.contains(&owner.as_str()),
            group_is_broker: BROKER_ACCOUNTS.contains(&group.as_str()),
            span: line_span(file, key.line),
            owner: owner.clone(),
            group: group.clone(),
            rsa_bits: rsa_key_bits(&key.label, &key.der),
            staged: None,
            work_tree: work_tree.clone(),
        });
    }
    facts
        .certs
        .extend(cert_facts(file, &blocks, OffsetDateTime::now_utc())?);
    Ok(())
}

/// The git work tree holding `path`: the nearest directory above it with a
/// `.git` entry (a directory, or the file of a linked work tree).
fn work_tree(path: &Path) -> Option<String> {
    let abs = std::fs::canonicalize(path).ok()?;
    abs.ancestors()
        .skip(1)
        .find(|d| d.join(".git").exists())
        .map(|d| d.display().to_string())
}

/// The name of a user (passwd) or group (group) id, else the id itself.
fn account_name(db: &str, id: u32) -> String {
    crate::source::read_bounded(Path::new(db), super::MAX_AUDIT_FILE_BYTES)
        .ok()
        .and_then(|bytes| lookup(&String::from_utf8_lossy(&bytes), id))
        .unwrap_or_else(|| id.to_string())
}

/// `name:x:id:...` lines (passwd and group share the layout of the first three fields).
fn lookup(db: &str, id: u32) -> Option<String> {
    db.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _ = f.next()?;
        let n: u32 = f.next()?.trim().parse().ok()?;
        (n == id && !name.is_empty()).then(|| name.to_string())
    })
}

fn cert_facts(
    file: &Arc<SourceFile>,
    blocks: &[Block],
    now: OffsetDateTime,
) -> Result<Vec<CertFact>, Diagnostic> {
    blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| {
            cert_fact(file, b, now).map_err(|why| parse_error(file, b.line, 1, "certificate", why))
        })
        .collect()
}

/// The subject's CN is a host name (dotted labels, not all digits) or an
/// IP address: what a server certificate is issued to. Device ids
/// (`press-01`) have no dot.
fn host_name_cn(cert: &X509Certificate<'_>) -> bool {
    let Some(cn) = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
    else {
        return false;
    };
    if cn.parse::<IpAddr>().is_ok() || cn == "localhost" {
        return true;
    }
    let labels: Vec<&str> = cn.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && !labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
}

fn cert_fact(
    file: &Arc<SourceFile>,
    block: &Block,
    now: OffsetDateTime,
) -> Result<CertFact, String> {
    let (rest, cert) = X509Certificate::from_der(&block.der)
        .map_err(|e| format!("not an X.509 certificate ({e})"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".into());
    }
    let validity = cert.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|b| b.value.ca);
    let key_usage = cert
        .key_usage()
        .ok()
        .flatten()
        .map(|k| (k.value.digital_signature(), k.value.key_cert_sign()));
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|e| (e.value.any, e.value.server_auth, e.value.client_auth));
    // RFC 5280 4.2.1.12: without an ExtendedKeyUsage extension the key may
    // serve any purpose, so it permits both; only a listed EKU restricts.
    let (server_auth, client_auth) = match eku {
        Some((any, server, client)) => (any || server, any || client),
        None => (true, true),
    };
    let listed_server_auth = eku.is_some_and(|(any, server, _)| any || server);
    let listed_client_auth = eku.is_some_and(|(any, _, client)| any || client);
    let mut san = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => san.push(d.to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        san.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let self_signed = cert.subject() == cert.issuer();
    let role = if is_ca {
        CertRole::Ca
    } else if listed_server_auth
        || !san.is_empty()
        || (!listed_client_auth && !self_signed && host_name_cn(&cert))
    {
        CertRole::Server
    } else if self_signed && eku.is_none() {
        CertRole::Ca
    } else {
        CertRole::Device
    };
    // RFC 5280 4.2.1.3: without a KeyUsage extension nothing is restricted.
    let key_usage = match key_usage {
        Some((digital, cert_sign)) => {
            if role == CertRole::Ca {
                cert_sign
            } else {
                digital
            }
        }
        None => true,
    };
    let (key_bits, rsa) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(r)) => (integer_bits(r.modulus), true),
        Ok(PublicKey::EC(ec)) => (ec.key_size() as u32, false),
        Ok(PublicKey::DSA(y)) => ((y.len() * 8) as u32, false),
        _ => match cert
            .public_key()
            .algorithm
            .algorithm
            .to_id_string()
            .as_str()
        {
            "1.3.101.112" => (256, false),
            "1.3.101.113" => (456, false),
            _ => (0, false),
        },
    };
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let signature = SIGNATURES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, n)| n.to_string())
        .unwrap_or(oid);
    let d = not_after.date();
    Ok(CertFact {
        path: file.name.clone(),
        role,
        version: cert.version().0 + 1,
        validity_days: (not_after - not_before).whole_days(),
        days_left: (not_after - now).whole_seconds().div_euclid(86_400),
        key_usage,
        client_auth,
        server_auth,
        is_ca,
        san,
        key_bits,
        rsa,
        signature,
        span: line_span(file, block.line),
        dialled: Vec::new(),
        not_after: format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
    })
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// Bits of a big-endian unsigned integer (leading zero bytes ignored).
fn integer_bits(bytes: &[u8]) -> u32 {
    let bytes: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => return 0,
    };
    (bytes.len() as u32 - 1) * 8 + (8 - bytes[0].leading_zeros())
}

/// One DER element: (tag, contents, rest). None on anything malformed.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Modulus size of an RSA private key: PKCS#1 (`RSA PRIVATE KEY`) or
/// PKCS#8 (`PRIVATE KEY`) holding rsaEncryption. None for other keys.
fn rsa_key_bits(label: &str, der: &[u8]) -> Option<u32> {
    const SEQ: u8 = 0x30;
    const INT: u8 = 0x02;
    const OID: u8 = 0x06;
    const OCTETS: u8 = 0x04;
    let pkcs1 = |der: &[u8]| -> Option<u32> {
        let (SEQ, body, _) = tlv(der)? else {
            return None;
        };
        let (INT, _version, rest) = tlv(body)? else {
            return None;
        };
        let (INT, modulus, _) = tlv(rest)? else {
            return None;
        };
        Some(integer_bits(modulus))
    };
    match label {
        "RSA PRIVATE KEY" => pkcs1(der),
        "PRIVATE KEY" => {
            let (SEQ, body, _) = tlv(der)? else {
                return None;
            };
            let (INT, _version, rest) = tlv(body)? else {
                return None;
            };
            let (SEQ, alg, rest) = tlv(rest)? else {
                return None;
            };
            let (OID, oid, _) = tlv(alg)? else {
                return None;
            };
            if oid != RSA_OID {
                return None;
            }
            let (OCTETS, key, _) = tlv(rest)? else {
                return None;
            };
            pkcs1(key)
        }
        _ => None,
    }
}

/// A certificate's role from its use, where its extensions do not say: a
/// leaf that lists no ExtendedKeyUsage and no SubjectAltName, named by an
/// audited mosquitto.conf's `certfile`, is that broker's server certificate
/// (`bridge_certfile`: a client one). Names match by file name, as the
/// audited copy rarely sits at the path the broker reads.
pub fn roles_from_use(facts: &mut Facts) {
    let base = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_string();
    let uses: Vec<(String, CertRole)> = facts
        .directives
        .iter()
        .filter(|d| d.format == "mosquitto")
        .filter_map(|d| match d.name.as_str() {
            "certfile" => Some((base(d.value.trim()), CertRole::Server)),
            "bridge_certfile" => Some((base(d.value.trim()), CertRole::Device)),
            _ => None,
        })
        .collect();
    for c in facts.certs.iter_mut() {
        // A Device role permitting serverAuth lists no ExtendedKeyUsage.
        if c.role != CertRole::Device || !c.server_auth {
            continue;
        }
        if let Some((_, role)) = uses.iter().find(|(name, _)| *name == base(&c.path)) {
            c.role = *role;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Environment;
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use std::path::PathBuf;
    use time::Duration;

    fn facts() -> Facts {
        Facts::new(crate::facts::Origin::File, Environment::Production)
    }

    fn cert_of(pem: &str) -> CertFact {
        let mut f = facts();
        let file = SourceFile::new("c.pem", pem);
        extract_cert(
            &Input {
                path: PathBuf::from("c.pem"),
                file,
            },
            &mut f,
        )
        .unwrap();
        assert_eq!(f.certs.len(), 1);
        f.certs.remove(0)
    }

    fn params(not_after: OffsetDateTime) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.not_before = OffsetDateTime::now_utc() - Duration::days(300);
        p.not_after = not_after;
        p
    }

    #[test]
    fn a_device_certificate_expiring_soon() {
        let key = KeyPair::generate().unwrap();
        let mut p = params(OffsetDateTime::now_utc() + Duration::days(10) + Duration::hours(1));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.is_ca = IsCa::ExplicitNoCa;
        let c = cert_of(&p.self_signed(&key).unwrap().pem());
        assert_eq!(c.role, CertRole::Device);
        assert_eq!(c.days_left, 10);
        assert_eq!(c.validity_days, 310);
        assert_eq!(
            (
                c.version,
                c.key_usage,
                c.client_auth,
                c.server_auth,
                c.is_ca
            ),
            (3, true, true, false, false)
        );
        assert_eq!(
            (c.key_bits, c.rsa, c.signature.as_str()),
            (256, false, "ecdsa-with-SHA256")
        );
        // The rule sees it as expiring, not expired.
        let mut f = facts();
        f.certs.push(c);
        let rule = crate::lint::rules::find("MQ-PKI-002").unwrap();
        let mut out = Vec::new();
        (rule.check)(&f, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Some(crate::diag::Severity::Warning));
        assert!(
            out[0].message.contains("expires in 10 days"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn expired_an_hour_ago_is_expired() {
        let key = KeyPair::generate().unwrap();
        let c = cert_of(
            &params(OffsetDateTime::now_utc() - Duration::hours(1))
                .self_signed(&key)
                .unwrap()
                .pem(),
        );
        assert_eq!(c.days_left, -1);
    }

    #[test]
    fn roles_from_what_certificates_claim() {
        let key = KeyPair::generate().unwrap();
        let mut ca = params(OffsetDateTime::now_utc() + Duration::days(3000));
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let c = cert_of(&ca.self_signed(&key).unwrap().pem());
        assert_eq!((c.role, c.is_ca, c.key_usage), (CertRole::Ca, true, true));

        let mut server =
            CertificateParams::new(vec!["mqtt.example".to_string(), "10.0.0.1".to_string()])
                .unwrap();
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let c = cert_of(&server.self_signed(&key).unwrap().pem());
        assert_eq!(c.role, CertRole::Server);
        assert_eq!(
            c.san,
            vec!["mqtt.example".to_string(), "10.0.0.1".to_string()]
        );
        // No KeyUsage extension: nothing restricted (RFC 5280 4.2.1.3).
        assert!(c.server_auth && c.key_usage);

        // A leaf with a KeyUsage but no ExtendedKeyUsage: any purpose.
        let mut leaf = params(OffsetDateTime::now_utc() + Duration::days(300));
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let c = cert_of(&leaf.self_signed(&key).unwrap().pem());
        assert!(c.client_auth && c.server_auth);
        // Listed usages do restrict.
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let c = cert_of(&leaf.self_signed(&key).unwrap().pem());
        assert!(c.server_auth && !c.client_auth);

        // Self-signed, no extensions at all: a CA by intent.
        let bare = CertificateParams::new(Vec::<String>::new()).unwrap();
        assert_eq!(
            cert_of(&bare.self_signed(&key).unwrap().pem()).role,
            CertRole::Ca
        );
    }

    #[test]
    fn rsa_key_sizes_from_certificates_and_key_files() {
        // An RSA-2048 PKCS#8 key (the ring backend cannot generate RSA; this one was made with openssl).
        let pem =
            include_str!("../../../tests/fixtures/rules/MQ-PKI-004/audit-pass/broker-rsa.pem");
        let file = SourceFile::new("k.pem", pem);
        let all = blocks(&file).unwrap();
        let cert = cert_facts(&file, &all, OffsetDateTime::now_utc()).unwrap();
        assert_eq!((cert[0].key_bits, cert[0].rsa), (2048, true));
        let key = include_str!("../../../tests/fixtures/rules/MQ-PKI-004/audit-fire/weak.key");
        let b = blocks(&SourceFile::new("w.key", key)).unwrap();
        assert_eq!(rsa_key_bits(&b[0].label, &b[0].der), Some(1024));
        let ec = KeyPair::generate().unwrap().serialize_pem();
        let b = blocks(&SourceFile::new("ec.key", ec)).unwrap();
        assert_eq!(rsa_key_bits(&b[0].label, &b[0].der), None);
    }

    #[test]
    fn integers_and_der_are_read_safely() {
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_bits(&[0x01]), 1);
        assert_eq!(integer_bits(&[0, 0]), 0);
        assert_eq!(integer_bits(&[]), 0);
        assert!(tlv(&[]).is_none());
        assert!(tlv(&[0x30]).is_none());
        assert!(tlv(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_none());
        assert!(tlv(&[0x30, 0x82, 0xff, 0xff, 0]).is_none());
        assert_eq!(
            tlv(&[0x02, 0x01, 0x05, 0x09]),
            Some((0x02, &[0x05][..], &[0x09][..]))
        );
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01",
            b"\x30\x80",
            b"\xff\xff\xff",
        ] {
            assert_eq!(rsa_key_bits("PRIVATE KEY", garbage), None);
            assert_eq!(rsa_key_bits("RSA PRIVATE KEY", garbage), None);
        }
    }

    #[test]
    fn account_databases() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nbroken\nmosquitto:x:102:106::/var/lib/mosquitto:/usr/sbin/nologin\n::7:\n";
        assert_eq!(lookup(passwd, 102).as_deref(), Some("mosquitto"));
        assert_eq!(lookup(passwd, 0).as_deref(), Some("root"));
        assert_eq!(lookup(passwd, 7), None);
        assert_eq!(lookup("garbage\n:::\nx:y:notanumber", 1), None);
    }

    #[test]
    fn bad_pem_is_a_positioned_error() {
        for (text, line) in [
            (
                "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
                1,
            ),
            ("junk\n-----BEGIN CERTIFICATE-----\nMIIB\n", 2),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n",
                3,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                1,
            ),
            (
                "\n\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                3,
            ),
            ("no pem at all", 1),
        ] {
            let mut f = facts();
            let file = SourceFile::new("bad.pem", text);
            let err = extract_cert(
                &Input {
                    path: PathBuf::from("bad.pem"),
                    file,
                },
                &mut f,
            )
            .unwrap_err();
            assert_eq!(err.labels[0].span.line, line, "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "\0\0",
            "-----BEGIN ",
            "-----BEGIN -----\n-----END -----\n",
            "-----BEGIN RSA PRIVATE KEY-----\n=\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let file = SourceFile::new("g.pem", text);
            let mut f = facts();
            let _ = extract_cert(
                &Input {
                    path: PathBuf::from("/nonexistent/g.pem"),
                    file: file.clone(),
                },
                &mut f,
            );
            let _ = extract_key(
                &Input {
                    path: PathBuf::from("/nonexistent/g.pem"),
                    file,
                },
                &mut f,
            );
        }
    }

    #[test]
    fn detection() {
        assert!(detect_cert(Path::new("x"), "-----BEGIN CERTIFICATE-----\n"));
        assert!(!detect_cert(
            Path::new("x"),
            "-----BEGIN PRIVATE KEY-----\n"
        ));
        for label in [
            "PRIVATE KEY",
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ] {
            assert!(detect_key(
                Path::new("x"),
                &format!("-----BEGIN {label}-----\n")
            ));
        }
        assert!(!detect_key(Path::new("x"), "-----BEGIN PUBLIC KEY-----\n"));
    }

    #[test]
    fn a_key_inside_a_work_tree_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("certs").join("server.key");
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::write(&key, "k").unwrap();
        assert_eq!(work_tree(&key), None);
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(work_tree(&key), Some(root.display().to_string()));
    }
}
