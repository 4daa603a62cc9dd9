//! Reading existing material: certificates, CSRs and CRLs in PEM form. Every
//! error names the file; nothing here panics on bad input.

use rcgen::{PublicKeyData, SubjectPublicKeyInfo};
use time::OffsetDateTime;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::X509Name;

use super::keys::hex_upper;
use crate::diag::Code;
use crate::diag::Diagnostic;

/// What mqttforge needs to know about a certificate.
#[derive(Clone, Debug)]
pub struct CertInfo {
    /// `O=ACME, CN=press-01`
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    /// Upper-case hex.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The subjectPublicKey bits (what a key pair's public key is compared with).
    pub public_key: Vec<u8>,
    pub der: Vec<u8>,
}

/// The one PEM block of `label` in `text`.
fn pem_block(path: &str, text: &str, labels: &[&str], what: &str) -> Result<Vec<u8>, Diagnostic> {
    let bad = |why: String| {
        Diagnostic::error(Code::Pki, format!("{path} is not a valid {what}: {why}")).with_help(format!(
            "{path} must hold one PEM block ({}); restore it from a backup, or delete it to have it issued anew",
            labels
                .iter()
                .map(|l| format!("`-----BEGIN {l}-----`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    };
    let mut found = None;
    for block in Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| bad(format!("bad PEM ({e})")))?;
        if labels.contains(&block.label.as_str()) {
            if found.is_some() {
                return Err(bad(format!("more than one {what}")));
            }
            found = Some(block.contents);
        }
    }
    found.ok_or_else(|| bad(format!("no {} block", labels[0])))
}

pub fn name_string(name: &X509Name<'_>) -> String {
    name.to_string()
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// Parses a PEM certificate.
pub fn parse_cert(path: &str, text: &str) -> Result<CertInfo, Diagnostic> {
    let der = pem_block(path, text, &["CERTIFICATE"], "certificate")?;
    cert_from_der(path, der)
}

pub fn cert_from_der(path: &str, der: Vec<u8>) -> Result<CertInfo, Diagnostic> {
    let bad = |why: String| {
        Diagnostic::error(
            Code::Pki,
            format!("{path} is not a valid certificate: {why}"),
        )
        .with_help(format!(
            "restore {path} from a backup, or delete it to have it issued anew"
        ))
    };
    let (rest, cert) = X509Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the certificate".into()));
    }
    let info = CertInfo {
        subject: name_string(cert.subject()),
        issuer: name_string(cert.issuer()),
        common_name: common_name(cert.subject()),
        serial: hex_upper(cert.tbs_certificate.raw_serial()),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        der: Vec::new(),
    };
    Ok(CertInfo { der, ..info })
}

/// A device's own certificate signing request, verified.
#[derive(Clone, Debug)]
pub struct Csr {
    pub common_name: Option<String>,
    pub public_key: SubjectPublicKeyInfo,
    /// The PEM text, as kept in `devices/<id>.csr`.
    pub pem: String,
}

impl Csr {
    /// The subjectPublicKey bits.
    pub fn public_key_bits(&self) -> &[u8] {
        self.public_key.der_bytes()
    }
}

/// Smallest RSA modulus accepted in a CSR (MQ-PKI-004).
pub const MIN_RSA_BITS: usize = 2048;

/// What a CSR's key and signature may be, said in every refusal.
const ACCEPTED_KEYS: &str =
    "accepted keys: ECDSA P-256 (recommended for devices) or P-384, Ed25519, RSA of 2048 bits or more";
const ACCEPTED_SIGNATURES: &str =
    "accepted signatures: ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512, or Ed25519";

/// The DER of a CSR given as PEM, or as DER (converted).
fn csr_der(path: &str, bytes: &[u8]) -> Result<Vec<u8>, Diagnostic> {
    let pem_marker = b"-----BEGIN";
    let is_pem = bytes.windows(pem_marker.len()).any(|w| w == pem_marker);
    if !is_pem && bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Diagnostic::error(Code::Pki, format!("{path} is neither a PEM nor a DER certificate signing request"))
            .with_help("give the CSR as PEM (`openssl req -new -key device.key -subj /CN=<device id> -outform PEM`)")
    })?;
    pem_block(
        path,
        text,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "certificate signing request",
    )
}

/// Refuses a CSR key mqttforge will not certify: RSA below 2048 bits,
/// RSA-PSS keys, curves other than P-256 and P-384 (P-521 and secp256k1
/// among them), unknown algorithms.
fn check_csr_key(
    info: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Result<(), (String, String)> {
    let alg = info.algorithm.algorithm.to_id_string();
    let curve = info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let refuse = |what: String, why: &str| Err((what, format!("{why}; {ACCEPTED_KEYS}")));
    match (alg.as_str(), curve.as_deref()) {
        (OID_EC_KEY, Some(OID_P256 | OID_P384)) | (OID_ED25519, _) => Ok(()),
        (OID_EC_KEY, Some(OID_P521)) => refuse(
            "the request's key is on curve P-521 (secp521r1), which mqttforge does not certify".into(),
            "ring and rustls (the bundled broker, `verify`) and most device TLS stacks cannot use P-521",
        ),
        (OID_EC_KEY, Some(OID_SECP256K1)) => refuse(
            "the request's key is on curve secp256k1, which mqttforge does not certify".into(),
            "secp256k1 is not a TLS curve: no broker or device TLS stack accepts it",
        ),
        (OID_EC_KEY, c) => refuse(
            format!("the request's key is on an unsupported curve ({})", c.unwrap_or("none named")),
            "use a named curve TLS supports",
        ),
        (OID_RSA_PSS, _) => refuse(
            "the request's key is an RSA-PSS key (RSASSA-PSS), which mqttforge does not certify".into(),
            "device TLS stacks (mbedTLS on ESP32) and many brokers cannot use RSA-PSS keys in certificates; make an ordinary RSA key (`openssl genpkey -algorithm RSA`)",
        ),
        (OID_RSA, _) => match info.parsed() {
            Ok(PublicKey::RSA(rsa)) if rsa.key_size() < MIN_RSA_BITS => refuse(
                format!(
                    "the request's RSA key has {} bits; at least {MIN_RSA_BITS} are required",
                    rsa.key_size()
                ),
                "RSA below 2048 bits can be factored",
            ),
            Ok(PublicKey::RSA(_)) => Ok(()),
            _ => refuse("the request's RSA key cannot be read".into(), "the CSR is damaged"),
        },
        (other, _) => refuse(
            format!("the request's key algorithm ({other}) is not accepted"),
            "mqttforge certifies the key types TLS clients use",
        ),
    }
}

/// Refuses a CSR signature algorithm: SHA-1, MD5, RSA-PSS, unknown ones.
fn check_csr_signature(alg: &str) -> Result<(), (String, String)> {
    let refuse = |what: &str, why: &str| {
        Err((
            format!("the request is signed with {what}, which is not accepted"),
            format!("{why}; {ACCEPTED_SIGNATURES} (`openssl req -new -sha256 ...`)"),
        ))
    };
    match alg {
        OID_SHA256_RSA | OID_SHA384_RSA | OID_SHA512_RSA | OID_ECDSA_SHA256 | OID_ECDSA_SHA384
        | OID_ECDSA_SHA512 | OID_ED25519 => Ok(()),
        OID_SHA1_RSA | OID_ECDSA_SHA1 => refuse("SHA-1", "SHA-1 is broken (chosen-prefix collisions)"),
        OID_MD5_RSA => refuse("MD5", "MD5 is broken"),
        OID_RSA_PSS => refuse(
            "RSA-PSS (RSASSA-PSS)",
            "sign the request with PKCS#1 v1.5 (openssl's default: leave out `-sigopt rsa_padding_mode:pss`)",
        ),
        other => refuse(&format!("the algorithm {other}"), "it is not one mqttforge verifies"),
    }
}

const OID_EC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_SECP256K1: &str = "1.3.132.0.10";
const OID_ED25519: &str = "1.3.101.112";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_MD5_RSA: &str = "1.2.840.113549.1.1.4";
const OID_SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const OID_ECDSA_SHA1: &str = "1.2.840.10045.4.1";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";

/// Parses a CSR (PEM, or DER) and checks its key, its signature algorithm
/// and then its self-signature, each refusal naming what is wrong and what
/// is accepted. Requested extensions are ignored: the device profile
/// decides what the certificate holds.
pub fn parse_csr(path: &str, bytes: &[u8]) -> Result<Csr, Diagnostic> {
    let der = csr_der(path, bytes)?;
    let bad = |why: String, help: &str| {
        Diagnostic::error(Code::Pki, format!("{path}: {why}")).with_help(help.to_string())
    };
    let (rest, csr) = X509CertificationRequest::from_der(&der).map_err(|e| {
        bad(
            format!("not a valid certificate signing request ({e})"),
            "create the CSR with `openssl req -new -key device.key -subj /CN=<device id>` or the device's secure element",
        )
    })?;
    if !rest.is_empty() {
        return Err(bad(
            "trailing bytes after the certificate signing request".into(),
            "send the CSR exactly as the device produced it",
        ));
    }
    let info = &csr.certification_request_info;
    check_csr_key(&info.subject_pki).map_err(|(why, help)| bad(why, &help))?;
    check_csr_signature(&csr.signature_algorithm.algorithm.to_id_string())
        .map_err(|(why, help)| bad(why, &help))?;
    csr.verify_signature().map_err(|_| {
        bad(
            "the request's signature does not verify against its own public key".into(),
            "the CSR was altered or not signed with the key it carries; have the device create a new one",
        )
    })?;
    let public_key = SubjectPublicKeyInfo::from_der(info.subject_pki.raw).map_err(|_| {
        bad(
            "the request's key algorithm is not supported".into(),
            ACCEPTED_KEYS,
        )
    })?;
    Ok(Csr {
        common_name: common_name(&info.subject),
        public_key,
        pem: pem_text("CERTIFICATE REQUEST", &der),
    })
}

/// What status needs from the CRL.
#[derive(Clone, Debug)]
pub struct CrlInfo {
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
    pub serials: Vec<String>,
}

pub fn parse_crl(path: &str, text: &str) -> Result<CrlInfo, Diagnostic> {
    let der = pem_block(path, text, &["X509 CRL"], "certificate revocation list")?;
    let (_, crl) = CertificateRevocationList::from_der(&der).map_err(|e| {
        Diagnostic::error(Code::Pki, format!("{path} is not a valid CRL: {e}")).with_help(
            "delete it and run `mqttforge pki crl SPEC` to write it anew from the state file",
        )
    })?;
    Ok(CrlInfo {
        this_update: crl.last_update().to_datetime(),
        next_update: crl.next_update().map(|t| t.to_datetime()),
        serials: crl
            .iter_revoked_certificates()
            .map(|r| hex_upper(r.raw_serial()))
            .collect(),
    })
}

/// PEM-encodes DER with 64-character lines.
pub fn pem_text(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Whether the certificate `leaf` (DER) carries a valid signature of `ca` (DER).
pub fn issued_by(leaf: &[u8], ca: &[u8]) -> bool {
    let (Ok((_, leaf)), Ok((_, ca))) = (
        X509Certificate::from_der(leaf),
        X509Certificate::from_der(ca),
    ) else {
        return false;
    };
    leaf.issuer() == ca.subject() && leaf.verify_signature(Some(ca.public_key())).is_ok()
}
