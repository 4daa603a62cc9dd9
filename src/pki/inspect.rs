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
        Diagnostic::error("pki", format!("{path} is not a valid {what}: {why}")).with_help(format!(
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
        Diagnostic::error("pki", format!("{path} is not a valid certificate: {why}")).with_help(
            format!("restore {path} from a backup, or delete it to have it issued anew"),
        )
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

/// Parses a PEM CSR and verifies its self-signature. Requested extensions are
/// ignored: the device profile decides what the certificate holds.
pub fn parse_csr(path: &str, text: &str) -> Result<Csr, Diagnostic> {
    let der = pem_block(
        path,
        text,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
        "certificate signing request",
    )?;
    let bad = |why: String, help: &str| {
        Diagnostic::error("pki", format!("{path}: {why}")).with_help(help.to_string())
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
    csr.verify_signature().map_err(|_| {
        bad(
            "the request's signature does not verify against its own public key".into(),
            "the CSR was altered or not signed with the key it carries; have the device create a new one",
        )
    })?;
    let info = &csr.certification_request_info;
    if let Ok(PublicKey::RSA(rsa)) = info.subject_pki.parsed() {
        if rsa.key_size() < MIN_RSA_BITS {
            return Err(bad(
                format!(
                    "the request's RSA key has {} bits; at least {MIN_RSA_BITS} are required",
                    rsa.key_size()
                ),
                "use an ECDSA P-256 key (recommended for devices) or RSA of 3072 bits",
            ));
        }
    }
    let public_key = SubjectPublicKeyInfo::from_der(info.subject_pki.raw).map_err(|_| {
        bad(
            "the request's key algorithm is not supported".into(),
            "use an ECDSA P-256 or P-384 key, Ed25519, or RSA (2048 bits or more)",
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
        Diagnostic::error("pki", format!("{path} is not a valid CRL: {e}")).with_help(
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
