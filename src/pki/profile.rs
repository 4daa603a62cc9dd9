//! Certificate profiles: what the CA, a server and a device certificate
//! contain, decided by the spec and by this module only (a CSR's requested
//! extensions are ignored).
//!
//! | | CA | server | device |
//! |---|---|---|---|
//! | subject | O, CN from `pki.ca` | CN = node name | O = `pki.device_org`, CN = device id |
//! | basicConstraints (critical) | CA:TRUE, pathlen 0 | CA:FALSE | CA:FALSE |
//! | keyUsage (critical) | keyCertSign, cRLSign | digitalSignature (+ keyEncipherment for RSA) | digitalSignature |
//! | extendedKeyUsage | - | serverAuth | clientAuth |
//! | subjectAltName | - | node name, dns_names, address, load balancer name, VIP | - |
//! | validity | `pki.ca.validity` (3650d) | `pki.server_validity` (90d, at most 365d) | `pki.device_validity` (365d, at most 365d) |
//!
//! Every certificate is X.509 v3 with a random positive 16-byte serial,
//! subject and authority key identifiers, `notBefore` five minutes in the
//! past (clock skew), and is signed with the CA key's algorithm
//! (ECDSA-SHA256 for P-256, ECDSA-SHA384 for P-384, RSA-SHA256 for RSA).

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::diag::Code;
use crate::diag::{Diagnostic, Label};
use crate::spec::model::{Engine, KeyAlgorithm, NodeSpec};
use crate::spec::spec_error;
use crate::spec::Site;

/// No leaf certificate is ever issued for longer than this (the production
/// checklist: certificate lifetime at most one year).
pub const MAX_LEAF_VALIDITY_DAYS: i64 = 365;
pub const DEFAULT_CA_VALIDITY_DAYS: i64 = 3650;
pub const DEFAULT_SERVER_VALIDITY_DAYS: i64 = 90;
pub const DEFAULT_DEVICE_VALIDITY_DAYS: i64 = 365;
/// How far in the past `notBefore` is set, for clients whose clock is behind.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Certificates with this much validity left or less are "expiring".
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The site's certificate profiles, checked against the PKI's own limits.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Algorithm of new keys.
    pub key: KeyAlgorithm,
    pub ca_cn: String,
    pub ca_org: Option<String>,
    pub ca_validity: Duration,
    pub server_validity: Duration,
    pub device_validity: Duration,
    pub device_org: Option<String>,
}

/// A name a server certificate covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectName {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for SubjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectName::Dns(d) => write!(f, "DNS:{d}"),
            SubjectName::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// The error for a site without a `pki:` section.
pub fn no_pki(site: &Site) -> Diagnostic {
    Diagnostic::error(
        Code::Pki,
        format!("site `{}` has no `pki:` section", site.name()),
    )
    .with_label(Label::primary(site.spans.key("/site"), "this site"))
    .with_help("add one, e.g. `pki: { ca: { cn: \"ACME Root CA\", org: ACME }, device_org: ACME }`")
}

impl Profile {
    /// The profiles of a site; every problem at once.
    pub fn from_site(site: &Site) -> Result<Profile, Vec<Diagnostic>> {
        let Some(pki) = &site.spec.pki else {
            return Err(vec![no_pki(site)]);
        };
        let mut diags = Vec::new();
        let days = |d: &Option<crate::spec::model::Duration>, default: i64| match d {
            Some(d) => Duration::milliseconds(i64::try_from(d.millis()).unwrap_or(i64::MAX)),
            None => Duration::days(default),
        };
        let ca_validity = days(&pki.ca.validity, DEFAULT_CA_VALIDITY_DAYS);
        let server_validity = days(&pki.server_validity, DEFAULT_SERVER_VALIDITY_DAYS);
        let device_validity = days(&pki.device_validity, DEFAULT_DEVICE_VALIDITY_DAYS);
        for (pointer, what, v) in [
            ("/pki/server_validity", "server", server_validity),
            ("/pki/device_validity", "device", device_validity),
        ] {
            if v > Duration::days(MAX_LEAF_VALIDITY_DAYS) {
                diags.push(spec_error(
                    site,
                    pointer,
                    Code::Pki,
                    format!(
                        "{what} certificates would be valid for {} days; mqttforge never issues a certificate for more than {MAX_LEAF_VALIDITY_DAYS} days",
                        v.whole_days()
                    ),
                    "set at most `365d` (and plan the renewal: `mqttforge pki renew`); see MQ-PKI-001",
                ));
            }
        }
        let device_org = pki.device_org.as_ref().map(|o| o.0.clone());
        if site.spec.engine == Engine::Rumqttd {
            if let Some(org) = &device_org {
                if !org.chars().all(|c| c.is_ascii_alphanumeric()) {
                    diags.push(spec_error(
                        site,
                        "/pki/device_org",
                        Code::Pki,
                        format!("device organization `{org}` is not alphanumeric; rumqttd, the bundled broker, drops clients whose certificate Organization is not"),
                        "use letters and digits only (rumqttd makes the Organization a tenant prefix); see MQ-CFG-004",
                    ));
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Profile {
            key: pki.key,
            ca_cn: pki.ca.cn.clone(),
            ca_org: pki.ca.org.clone(),
            ca_validity,
            server_validity,
            device_validity,
            device_org,
        })
    }

    /// The CA certificate's parameters.
    pub fn ca_params(&self, serial: SerialNumber, now: OffsetDateTime) -> CertificateParams {
        let mut p = base_params(serial, now, self.ca_validity);
        p.distinguished_name = dn(self.ca_org.as_deref(), &self.ca_cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    }

    /// A broker node's server certificate parameters.
    pub fn server_params(
        &self,
        site: &Site,
        node: &NodeSpec,
        rsa_key: bool,
        serial: SerialNumber,
        now: OffsetDateTime,
    ) -> Result<CertificateParams, Diagnostic> {
        let mut p = leaf_params(serial, now, self.server_validity);
        p.distinguished_name = dn(None, node.name.as_str());
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if rsa_key {
            p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        for name in server_names(site, node) {
            p.subject_alt_names.push(match name {
                SubjectName::Ip(ip) => SanType::IpAddress(ip),
                SubjectName::Dns(d) => SanType::DnsName(d.as_str().try_into().map_err(|_| {
                    Diagnostic::error(
                        Code::Pki,
                        format!("`{d}` cannot be a DNS name in a certificate"),
                    )
                    .with_help("use ASCII host names (punycode for international names)")
                })?),
            });
        }
        Ok(p)
    }

    /// A device certificate's parameters.
    pub fn device_params(
        &self,
        id: &str,
        serial: SerialNumber,
        now: OffsetDateTime,
    ) -> CertificateParams {
        let mut p = leaf_params(serial, now, self.device_validity);
        p.distinguished_name = dn(self.device_org.as_deref(), id);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p
    }
}

/// Every name a node's server certificate covers, in order, without
/// duplicates: the node name, its extra DNS names, its address, the load
/// balancer's name, the cluster's virtual IP.
pub fn server_names(site: &Site, node: &NodeSpec) -> Vec<SubjectName> {
    let mut raw: Vec<&str> = vec![node.name.as_str()];
    raw.extend(node.dns_names.iter().map(|a| a.0.as_str()));
    raw.push(node.address.0.as_str());
    if let Some(lb) = &site.spec.load_balancer {
        if let Some(name) = &lb.dns_name {
            raw.push(name.0.as_str());
        }
    }
    if let Some(vip) = site.spec.cluster.as_ref().and_then(|c| c.vip.as_ref()) {
        raw.push(vip.0.as_str());
    }
    let mut names = Vec::new();
    for r in raw {
        let name = match r.parse::<IpAddr>() {
            Ok(ip) => SubjectName::Ip(ip),
            Err(_) => SubjectName::Dns(r.to_ascii_lowercase()),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn dn(org: Option<&str>, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

fn base_params(serial: SerialNumber, now: OffsetDateTime, validity: Duration) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.serial_number = Some(serial);
    p.not_before = now - CLOCK_SKEW;
    p.not_after = p.not_before + validity;
    p
}

fn leaf_params(serial: SerialNumber, now: OffsetDateTime, validity: Duration) -> CertificateParams {
    let mut p = base_params(serial, now, validity);
    p.is_ca = IsCa::ExplicitNoCa;
    p.use_authority_key_identifier_extension = true;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn site(extra: &str) -> Site {
        let text = format!(
            "site: t\nenvironment: staging\nengine: mosquitto\ncapacity: {{ clients: 10, msg_per_s: 10, max_payload: 1KiB }}\n\
             nodes:\n  - {{ name: n1, address: 10.0.0.1, dns_names: [N1.example, 10.0.0.1, n1] }}\n\
             listeners:\n  - {{ name: l, port: 8883, tls: {{ client_certs: required }} }}\n{extra}"
        );
        crate::spec::load_source(SourceFile::new("t.yaml", text)).expect("valid spec")
    }

    #[test]
    fn server_names_are_deduplicated_and_typed() {
        let s = site("load_balancer: { kind: haproxy, tls: passthrough, dns_name: mqtt.example }\npki: { ca: { cn: CA } }\n");
        let names: Vec<String> = server_names(&s, &s.spec.nodes[0])
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "DNS:n1",
                "DNS:n1.example",
                "IP:10.0.0.1",
                "DNS:mqtt.example"
            ]
        );
    }

    #[test]
    fn defaults_and_limits() {
        let p = Profile::from_site(&site("pki: { ca: { cn: CA } }\n")).expect("profile");
        assert_eq!(p.ca_validity, Duration::days(3650));
        assert_eq!(p.server_validity, Duration::days(90));
        assert_eq!(p.device_validity, Duration::days(365));
        assert_eq!(p.key, KeyAlgorithm::EcdsaP256);
        assert!(
            Profile::from_site(&site("pki: { ca: { cn: CA }, server_validity: 366d }\n")).is_err()
        );
        assert!(
            Profile::from_site(&site("pki: { ca: { cn: CA }, device_validity: 53w }\n")).is_err()
        );
        let none = Profile::from_site(&site("")).expect_err("no pki");
        assert!(none[0].message.contains("has no `pki:` section"));
    }

    #[test]
    fn validity_starts_before_now_and_lasts_exactly_the_profile() {
        let p = Profile::from_site(&site("pki: { ca: { cn: CA } }\n")).expect("profile");
        let now = OffsetDateTime::now_utc();
        let c = p.device_params("d1", SerialNumber::from(1u64), now);
        assert_eq!(c.not_before, now - CLOCK_SKEW);
        assert_eq!(c.not_after - c.not_before, Duration::days(365));
    }
}
