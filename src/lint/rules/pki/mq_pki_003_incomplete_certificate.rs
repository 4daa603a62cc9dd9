//! A certificate lacks what its role needs.
//!
//! What it does: checks each certificate against its role. Every one must be
//! X.509 v3. A CA needs basicConstraints CA:TRUE and KeyUsage keyCertSign;
//! a server certificate KeyUsage digitalSignature, ExtendedKeyUsage
//! serverAuth and a SubjectAltName covering the names clients dial (in a
//! spec: node name, DNS names, address, load-balancer name, VIP); a device
//! certificate KeyUsage digitalSignature and ExtendedKeyUsage clientAuth.
//! Leaves must not be CAs. The role is where the file sits in the spec's
//! `pki.dir`; for audited PEM files, what the certificate claims (CA if
//! basicConstraints says so or it is self-signed without extensions, server
//! with serverAuth or SANs, or without clientAuth and with a host name or
//! IP address as its CN, as a CA-issued server certificate made without an
//! extensions file has, or a leaf an audited mosquitto.conf serves as
//! `certfile`; else device). A v3 certificate without a KeyUsage or
//! ExtendedKeyUsage extension is unrestricted in that respect (RFC 5280
//! 4.2.1.3, 4.2.1.12): only an extension that is present and lacks the
//! usage is reported.
//!
//! Why it matters: `openssl x509 -req` without an extensions file issues v1
//! certificates, which rustls/webpki-based clients and brokers reject
//! outright; a server certificate whose SANs do not cover the dialled name
//! fails hostname verification (the CN is not checked); a device
//! certificate without clientAuth is refused by brokers that check EKU.
//!
//! Example:
//!     openssl x509 -req -in device.csr -CA ca.pem -CAkey ca.key -days 365 -out device.pem
//!
//! Use instead:
//!     printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > device.ext
//!     openssl x509 -req -in device.csr -CA ca.pem -CAkey ca.key -days 365 -extfile device.ext -out device.pem
//!
//! Example (a server certificate, CN=broker.plant.example, no SAN):
//!     openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -days 365 -out broker.pem
//!
//! Use instead:
//!     printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:broker.plant.example\n' > server.ext
//!     openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -days 365 -extfile server.ext -out broker.pem
//!
//! Severity: error in every environment (the certificate is rejected there too).

use super::role_name;
use crate::diag::Severity;
use crate::facts::{CertFact, CertRole, Facts};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-PKI-003",
    name: "incomplete_certificate",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_pki_003_incomplete_certificate.rs"),
    check,
};

/// Whether a SAN entry covers a dialled name (`*.example.net` covers one label).
fn covers(san: &str, name: &str) -> bool {
    let (san, name) = (san.to_ascii_lowercase(), name.to_ascii_lowercase());
    if san == name {
        return true;
    }
    match (san.strip_prefix("*."), name.split_once('.')) {
        (Some(suffix), Some((label, rest))) => !label.is_empty() && rest == suffix,
        _ => false,
    }
}

/// What the certificate lacks for its role.
fn missing(c: &CertFact) -> Vec<String> {
    let mut m = Vec::new();
    match c.role {
        CertRole::Ca => {
            if !c.is_ca {
                m.push("basicConstraints CA:TRUE".into());
            }
            if !c.key_usage {
                m.push("KeyUsage keyCertSign".into());
            }
        }
        CertRole::Server | CertRole::Device => {
            if c.is_ca {
                m.push("basicConstraints CA:FALSE (it is a CA certificate)".into());
            }
            if !c.key_usage {
                m.push("KeyUsage digitalSignature".into());
            }
            if c.role == CertRole::Device && !c.client_auth {
                m.push("ExtendedKeyUsage clientAuth".into());
            }
            if c.role == CertRole::Server {
                if !c.server_auth {
                    m.push("ExtendedKeyUsage serverAuth".into());
                }
                if c.san.is_empty() {
                    m.push("a SubjectAltName (clients match the name they dial against SANs, not the CN)".into());
                } else {
                    let uncovered: Vec<&str> = c
                        .dialled
                        .iter()
                        .filter(|d| !c.san.iter().any(|s| covers(s, d)))
                        .map(String::as_str)
                        .collect();
                    if !uncovered.is_empty() {
                        m.push(format!(
                            "SubjectAltName entries for {} (names clients dial)",
                            uncovered.join(", ")
                        ));
                    }
                }
            }
        }
    }
    m
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    for c in &facts.certs {
        let role = role_name(c.role);
        let message = if c.version < 3 {
            let needs = match c.role {
                CertRole::Ca => "basicConstraints CA:TRUE, KeyUsage keyCertSign",
                CertRole::Server => "KeyUsage, ExtendedKeyUsage serverAuth, SubjectAltName",
                CertRole::Device => "KeyUsage, ExtendedKeyUsage clientAuth",
            };
            format!("{role} certificate `{}` is X.509 v{}: it carries no extensions ({needs}), and rustls/webpki-based stacks reject it", c.path, c.version)
        } else {
            let m = missing(c);
            if m.is_empty() {
                continue;
            }
            format!("{role} certificate `{}` lacks {}", c.path, m.join("; "))
        };
        let help = match c.role {
            CertRole::Ca => "reissue the CA with `basicConstraints=critical,CA:TRUE` and `keyUsage=critical,keyCertSign,cRLSign` (`mqttforge pki init` does)",
            CertRole::Server => "reissue it with an extensions file: `keyUsage=critical,digitalSignature`, `extendedKeyUsage=serverAuth`, `subjectAltName=DNS:<each name clients dial>` (`openssl x509 -req ... -extfile server.ext`), or `mqttforge pki renew`",
            CertRole::Device => "reissue it with an extensions file: `basicConstraints=CA:FALSE`, `keyUsage=critical,digitalSignature`, `extendedKeyUsage=clientAuth` (`openssl x509 -req ... -extfile device.ext`), or `mqttforge pki renew`",
        };
        out.push(Finding::new(&c.span, message, help));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("mqtt.example.net", "MQTT.example.net"));
        assert!(covers("*.example.net", "mqtt.example.net"));
        assert!(!covers("*.example.net", "a.b.example.net"));
        assert!(!covers("*.example.net", "example.net"));
        assert!(!covers("10.0.0.1", "10.0.0.2"));
    }
}
