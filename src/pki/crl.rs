//! The certificate revocation list: every serial revoked in the state file,
//! signed by the CA, with a next update [`CRL_VALIDITY`] ahead.
//!
//! OpenSSL-based brokers (Mosquitto's `crlfile`) reject every client once the
//! CRL is past its next update, so the CRL is re-signed by `mqttforge pki crl`
//! and by [`super::ensure`] (which `apply` runs) when it is due within
//! [`CRL_REFRESH`].

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::store::{Index, RevokedRecord};
use super::Ca;
use crate::diag::Code;
use crate::diag::Diagnostic;

/// How long a CRL is valid: its nextUpdate is this far after its thisUpdate.
pub const CRL_VALIDITY: Duration = Duration::days(7);
/// A CRL due within this time is re-signed by `ensure`.
pub const CRL_REFRESH: Duration = Duration::days(2);

/// RFC 5280 revocation reasons, by the names OpenSSL prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
}

impl Reason {
    pub const ALL: &'static [Reason] = &[
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::CertificateHold,
        Reason::PrivilegeWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CaCompromise => RevocationReason::CaCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::CertificateHold => RevocationReason::CertificateHold,
            Reason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        }
    }
}

fn serial_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 42 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn revoked_params(r: &RevokedRecord, index_path: &str) -> Result<RevokedCertParams, Diagnostic> {
    let bad = |what: &str| {
        Diagnostic::error(
            Code::Pki,
            format!(
                "{index_path}: revocation of `{}` has an invalid {what}",
                r.target
            ),
        )
        .with_help("restore the state file from a backup")
    };
    let serial = serial_bytes(&r.serial).ok_or_else(|| bad("serial"))?;
    let when = OffsetDateTime::parse(&r.revoked_at, &Rfc3339).map_err(|_| bad("time"))?;
    let reason = Reason::parse(&r.reason).ok_or_else(|| bad("reason"))?;
    Ok(RevokedCertParams {
        serial_number: SerialNumber::from_slice(&serial),
        revocation_time: when,
        reason_code: Some(reason.rcgen()),
        invalidity_date: None,
    })
}

/// Signs a CRL listing every revocation of the state file; returns its PEM.
/// The caller bumps `index.crl_number` first.
pub fn sign(
    ca: &Ca,
    index: &Index,
    index_path: &str,
    now: OffsetDateTime,
) -> Result<String, Diagnostic> {
    let revoked = index
        .revoked
        .iter()
        .map(|r| revoked_params(r, index_path))
        .collect::<Result<Vec<_>, _>>()?;
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + CRL_VALIDITY,
        crl_number: SerialNumber::from(index.crl_number),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: match &ca.key_id {
            Some(id) => KeyIdMethod::PreSpecified(id.clone()),
            None => KeyIdMethod::Sha256,
        },
    };
    let crl = params.signed_by(&ca.issuer).map_err(|e| {
        Diagnostic::error(Code::Pki, format!("cannot sign the CRL: {e}"))
            .with_help("the CA certificate must allow cRLSign (mqttforge's CA does)")
    })?;
    crl.pem()
        .map_err(|e| Diagnostic::error(Code::Pki, format!("cannot encode the CRL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_by_openssl_name() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Reason::parse("keycompromise"), Some(Reason::KeyCompromise));
        assert_eq!(Reason::parse("lost"), None);
    }

    #[test]
    fn serials_parse_from_hex() {
        assert_eq!(serial_bytes("0AFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(serial_bytes("ABC"), None);
        assert_eq!(serial_bytes("ZZ"), None);
        assert_eq!(serial_bytes(""), None);
    }
}
