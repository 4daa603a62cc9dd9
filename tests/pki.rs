//! The device PKI: every certificate checked by `openssl` (chain, X.509 v3,
//! key usages, SANs, validity), key modes, a rustls mTLS handshake with the
//! issued certificates, CSR signing and refusal, status/renew/revoke through
//! the CLI, and `ensure` (what `apply` runs) never touching what exists.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::{mqttforge, root, stdout};
use mqttforge::pki::{self, inspect, KeyOrigin, Pki, Role, Target};
use mqttforge::spec::{self, Site};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const EDGE: &str = "site-examples/edge-mosquitto.yaml";
const HA: &str = "site-examples/mosquitto-ha.yaml";

fn load(spec_path: &str) -> Site {
    spec::load(&root().join(spec_path)).unwrap_or_else(|d| panic!("{spec_path}: {d:?}"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("the command runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn openssl(args: &[&str]) -> (bool, String) {
    run(Command::new("openssl").args(args))
}

fn pki_cmd(args: &[&str], dir: &Path) -> Output {
    let dir = dir.to_str().expect("UTF-8 temp path");
    let mut all: Vec<&str> = vec!["pki"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--dir", dir]);
    mqttforge(&all)
}

fn all_output(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

fn x509_text(path: &Path) -> String {
    let (ok, out) = openssl(&["x509", "-in", path.to_str().unwrap(), "-noout", "-text"]);
    assert!(ok, "openssl x509 {}:\n{out}", path.display());
    out
}

fn verify(ca: &Path, cert: &Path) -> (bool, String) {
    openssl(&[
        "verify",
        "-CAfile",
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn cert_info(path: &Path) -> inspect::CertInfo {
    let text = std::fs::read_to_string(path).unwrap();
    inspect::parse_cert(&path.display().to_string(), &text).unwrap()
}

/// Every file under `dir`: relative path -> (bytes, mode).
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, u32)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, (std::fs::read(&p).unwrap(), mode(&p)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn changed(
    a: &BTreeMap<String, (Vec<u8>, u32)>,
    b: &BTreeMap<String, (Vec<u8>, u32)>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

// ------------------------------------------------------------------ issuing

#[test]
fn cli_issues_a_site_that_openssl_verifies() {
    let d = tmp();
    let dir = d.path();
    let init = pki_cmd(&["init", EDGE], dir);
    assert_eq!(init.status.code(), Some(0), "{}", all_output(&init));
    assert!(stdout(&init).contains("created CA \"O=ACME, CN=ACME Plant Lyon Edge CA\""));
    let again = pki_cmd(&["init", EDGE], dir);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("already there"),
        "{}",
        stdout(&again)
    );
    let server = pki_cmd(&["issue", "server", EDGE], dir);
    assert_eq!(server.status.code(), Some(0), "{}", all_output(&server));
    let devices = pki_cmd(&["issue", "device", EDGE], dir);
    assert_eq!(devices.status.code(), Some(0), "{}", all_output(&devices));
    assert!(stdout(&devices).contains("issued 50 certificates (50 with new keys)"));

    // Nothing secret is printed.
    for o in [&init, &server, &devices] {
        let text = all_output(o);
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        let key = std::fs::read_to_string(dir.join("ca.key")).unwrap();
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material printed");
        }
    }

    let ca = dir.join("ca.pem");
    let ca_text = x509_text(&ca);
    assert!(ca_text.contains("Version: 3 (0x2)"), "{ca_text}");
    assert!(ca_text.contains("X509v3 Basic Constraints: critical\n                CA:TRUE"));
    assert!(
        ca_text.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign")
    );
    assert!(ca_text.contains("Subject: O = ACME, CN = ACME Plant Lyon Edge CA"));
    assert!(ca_text.contains("ecdsa-with-SHA256"));
    let ca_info = cert_info(&ca);
    let ca_days = (ca_info.not_after - ca_info.not_before).whole_days();
    assert_eq!(ca_days, 3650, "the spec's CA validity");

    let srv = dir.join("servers/edge1.pem");
    let (ok, out) = verify(&ca, &srv);
    assert!(ok, "{out}");
    let t = x509_text(&srv);
    assert!(t.contains("Version: 3 (0x2)"), "{t}");
    assert!(t.contains("Subject: CN = edge1"), "{t}");
    assert!(
        t.contains("DNS:edge1, DNS:edge1.plant-lyon.acme.example, IP Address:192.168.10.5"),
        "{t}"
    );
    assert!(
        t.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n")
    );
    assert!(t.contains("X509v3 Key Usage: critical\n                Digital Signature\n"));
    assert!(t.contains("CA:FALSE"));

    let site = load(EDGE);
    let ids: Vec<String> = site.devices().map(|d| d.id).collect();
    assert_eq!(ids.len(), 50, "fleets expanded");
    for id in &ids {
        let cert = dir.join(format!("devices/{id}.pem"));
        let (ok, out) = verify(&ca, &cert);
        assert!(ok, "{id}: {out}");
        let t = x509_text(&cert);
        assert!(t.contains("Version: 3 (0x2)"), "{id}: {t}");
        assert!(
            t.contains(&format!("Subject: O = ACME, CN = {id}\n")),
            "{id}: {t}"
        );
        assert!(
            t.contains(
                "X509v3 Extended Key Usage: \n                TLS Web Client Authentication\n"
            ),
            "{id}: {t}"
        );
        assert!(t.contains("X509v3 Key Usage: critical\n                Digital Signature\n"));
        assert!(!t.contains("Subject Alternative Name"));
        let info = cert_info(&cert);
        let validity = info.not_after - info.not_before;
        assert!(validity <= Duration::days(365), "{id}: {validity}");
        assert!(validity >= Duration::days(364), "{id}: the spec says 365d");
        assert!(info.not_before < OffsetDateTime::now_utc() - Duration::minutes(4));
        assert_eq!(mode(&dir.join(format!("devices/{id}.key"))), 0o600, "{id}");
        assert_eq!(mode(&cert), 0o644, "{id}");
    }
    // Serials are random and unique.
    let serials: std::collections::BTreeSet<String> = ids
        .iter()
        .map(|id| cert_info(&dir.join(format!("devices/{id}.pem"))).serial)
        .collect();
    assert_eq!(serials.len(), ids.len());

    assert_eq!(mode(&dir.join("ca.key")), 0o600);
    assert_eq!(mode(&dir.join("servers/edge1.key")), 0o640);
    assert_eq!(mode(&dir.join("ca.pem")), 0o644);
    assert_eq!(mode(&dir.join("index.json")), 0o644);
    for sub in ["servers", "devices"] {
        assert_eq!(mode(&dir.join(sub)), 0o755);
    }
    assert!(pki::crl_path(dir).is_none(), "no CRL before a revocation");
}

#[test]
fn server_certificates_cover_the_load_balancer_and_the_vip() {
    let d = tmp();
    let site = load(HA);
    let report = pki::ensure(&site, d.path()).unwrap();
    assert_eq!(
        report
            .issued
            .iter()
            .filter(|i| i.target.role == Role::Server)
            .count(),
        2
    );
    let t = x509_text(&d.path().join("servers/mqtt-a.pem"));
    assert!(
        t.contains("DNS:mqtt-a, DNS:mqtt-a.ber.acme.example, IP Address:10.20.0.11, DNS:mqtt.ber.acme.example, IP Address:10.20.0.10"),
        "{t}"
    );
    // 90 days, as the spec says.
    let info = cert_info(&d.path().join("servers/mqtt-b.pem"));
    assert_eq!((info.not_after - info.not_before).whole_days(), 90);
    let (ok, out) = verify(
        &d.path().join("ca.pem"),
        &d.path().join("servers/mqtt-b.pem"),
    );
    assert!(ok, "{out}");
}

#[test]
fn p384_keys_are_signed_with_sha384() {
    let d = tmp();
    let site = load("tests/fixtures/pki/p384.yaml");
    pki::ensure(&site, d.path()).unwrap();
    let ca = x509_text(&d.path().join("ca.pem"));
    assert!(ca.contains("Public-Key: (384 bit)"), "{ca}");
    assert!(ca.contains("ecdsa-with-SHA384"), "{ca}");
    let dev = d.path().join("devices/probe-x2.pem");
    let t = x509_text(&dev);
    assert!(
        t.contains("ecdsa-with-SHA384") && t.contains("Public-Key: (384 bit)"),
        "{t}"
    );
    assert!(t.contains("Subject: O = Lab, CN = probe-x2"), "{t}");
    let (ok, out) = verify(&d.path().join("ca.pem"), &dev);
    assert!(ok, "{out}");
}

const RSA: &str = "tests/fixtures/pki/rsa.yaml";

/// What openssl shows of an RSA 3072 certificate signed by an RSA CA.
fn assert_rsa3072(cert: &Path) -> String {
    let t = x509_text(cert);
    assert!(
        t.contains("Public-Key: (3072 bit)"),
        "{}: {t}",
        cert.display()
    );
    assert!(
        t.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{}: {t}",
        cert.display()
    );
    t
}

/// The certificate holds the public half of the key file, and openssl finds
/// the key consistent (`pkey -check`: primes, CRT values, exponents).
fn assert_key_of(cert: &Path, key: &Path) {
    let (ok, from_cert) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
    assert!(ok, "{from_cert}");
    let (ok, from_key) = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert!(ok, "{from_key}");
    assert_eq!(
        from_cert,
        from_key,
        "{} is not the key of {}",
        key.display(),
        cert.display()
    );
    let (ok, check) = openssl(&["pkey", "-in", key.to_str().unwrap(), "-check", "-noout"]);
    assert!(
        ok && check.contains("Key is valid"),
        "{}: {check}",
        key.display()
    );
}

fn openssl_rsa3072_key(path: &Path) {
    let (ok, out) = openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:3072",
        "-out",
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
}

#[test]
fn rsa3072_keys_are_generated_and_openssl_verifies_every_certificate() {
    let d = tmp();
    let dir = d.path();
    // The CA: one RSA key generated (the `rsa` crate), self-signed by ring.
    let started = std::time::Instant::now();
    let init = pki_cmd(&["init", RSA], dir);
    let one_key = started.elapsed();
    assert_eq!(init.status.code(), Some(0), "{}", all_output(&init));
    assert!(
        stdout(&init).contains("created CA \"O=Lab, CN=RSA Test CA\""),
        "{}",
        stdout(&init)
    );
    eprintln!("RSA 3072: `pki init` (1 key generated) took {one_key:.2?}");
    let server = pki_cmd(&["issue", "server", RSA], dir);
    assert_eq!(server.status.code(), Some(0), "{}", all_output(&server));
    let started = std::time::Instant::now();
    let devices = pki_cmd(&["issue", "device", RSA], dir);
    eprintln!(
        "RSA 3072: `pki issue device` (2 keys generated in parallel) took {:.2?}",
        started.elapsed()
    );
    assert_eq!(devices.status.code(), Some(0), "{}", all_output(&devices));
    for id in ["probe-1", "probe-2"] {
        assert!(
            stdout(&devices).contains(&format!("devices/{id}.key (0600)")),
            "{}",
            stdout(&devices)
        );
    }
    // Nothing secret is printed.
    let ca_key = std::fs::read_to_string(dir.join("ca.key")).unwrap();
    assert!(
        ca_key.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PKCS#8"
    );
    for o in [&init, &server, &devices] {
        let text = all_output(o);
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        for line in ca_key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material printed");
        }
    }

    let ca = dir.join("ca.pem");
    let t = assert_rsa3072(&ca);
    assert!(t.contains("Subject: O = Lab, CN = RSA Test CA"), "{t}");
    assert!(t.contains("CA:TRUE"), "{t}");
    assert!(t.contains("Exponent: 65537 (0x10001)"), "{t}");
    let (ok, out) = verify(&ca, &ca);
    assert!(ok, "{out}");
    assert_key_of(&ca, &dir.join("ca.key"));
    assert_eq!(mode(&dir.join("ca.key")), 0o600);

    let srv = dir.join("servers/broker1.pem");
    let (ok, out) = verify(&ca, &srv);
    assert!(ok, "{out}");
    let t = assert_rsa3072(&srv);
    assert!(
        t.contains("DNS:broker1, DNS:broker1.lab.example, IP Address:10.1.0.5"),
        "{t}"
    );
    // RSA server keys may also be used for key transport (TLS 1.2 RSA).
    assert!(
        t.contains(
            "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment\n"
        ),
        "{t}"
    );
    assert_key_of(&srv, &dir.join("servers/broker1.key"));
    assert_eq!(mode(&dir.join("servers/broker1.key")), 0o640);

    let mut moduli = std::collections::BTreeSet::new();
    for id in ["probe-1", "probe-2"] {
        let cert = dir.join(format!("devices/{id}.pem"));
        let key = dir.join(format!("devices/{id}.key"));
        let (ok, out) = verify(&ca, &cert);
        assert!(ok, "{id}: {out}");
        let t = assert_rsa3072(&cert);
        assert!(t.contains(&format!("Subject: O = Lab, CN = {id}\n")), "{t}");
        assert!(
            t.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
            "{t}"
        );
        assert_key_of(&cert, &key);
        assert_eq!(mode(&key), 0o600, "{id}");
        moduli.insert(cert_info(&cert).public_key);
    }
    moduli.insert(cert_info(&ca).public_key);
    moduli.insert(cert_info(&srv).public_key);
    assert_eq!(moduli.len(), 4, "every key is a new one");

    // Issuing again reuses the generated keys (and generates none).
    let again = pki_cmd(&["issue", "device", RSA, "--id", "probe-2"], dir);
    assert_eq!(again.status.code(), Some(0), "{}", all_output(&again));
    assert!(
        stdout(&again).contains("existing key"),
        "{}",
        stdout(&again)
    );
    let cert = dir.join("devices/probe-2.pem");
    assert_key_of(&cert, &dir.join("devices/probe-2.key"));
}

#[test]
fn existing_rsa_keys_are_used_never_replaced() {
    let d = tmp();
    let dir = d.path();
    // Keys made with openssl (PKCS#8) before mqttforge runs.
    let ca_key = dir.join("ca.key");
    openssl_rsa3072_key(&ca_key);
    std::fs::create_dir_all(dir.join("devices")).unwrap();
    let dev_key = dir.join("devices/probe-2.key");
    openssl_rsa3072_key(&dev_key);
    let (ca_before, dev_before) = (
        std::fs::read(&ca_key).unwrap(),
        std::fs::read(&dev_key).unwrap(),
    );

    let o = pki_cmd(&["init", RSA], dir);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(stdout(&o).contains("existing key"), "{}", stdout(&o));
    assert_eq!(std::fs::read(&ca_key).unwrap(), ca_before);
    let ca = dir.join("ca.pem");
    assert_rsa3072(&ca);
    assert_key_of(&ca, &ca_key);

    // A device's CSR (its own key) is signed by the RSA CA.
    let work = tmp();
    let csr = make_csr(work.path(), "probe-1", &[]);
    let o = pki_cmd(&["sign", RSA, "--csr", csr.to_str().unwrap()], dir);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let (ok, out) = verify(&ca, &dir.join("devices/probe-1.pem"));
    assert!(ok, "{out}");
    assert!(
        !dir.join("devices/probe-1.key").exists(),
        "its key stays on the device"
    );

    // A device key already in the directory is used.
    let o = pki_cmd(&["issue", "device", RSA, "--id", "probe-2"], dir);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(stdout(&o).contains("existing key"), "{}", stdout(&o));
    assert_eq!(std::fs::read(&dev_key).unwrap(), dev_before);
    let dev = dir.join("devices/probe-2.pem");
    let (ok, out) = verify(&ca, &dev);
    assert!(ok, "{out}");
    assert_rsa3072(&dev);
    assert_key_of(&dev, &dev_key);
}

#[test]
fn profiles_the_pki_cannot_honour_are_refused_at_their_spec_line() {
    let d = tmp();
    let o = pki_cmd(&["init", "tests/fixtures/pki/long-validity.yaml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(t.contains("device certificates would be valid for 400 days; mqttforge never issues a certificate for more than 365 days"), "{t}");
    assert!(
        t.contains("--> tests/fixtures/pki/long-validity.yaml:13:20"),
        "{t}"
    );

    let o = pki_cmd(&["init", "tests/fixtures/pki/rumqttd-org.yaml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.contains("device organization `acme-lab` is not alphanumeric"),
        "{t}"
    );
    assert!(
        t.contains("--> tests/fixtures/pki/rumqttd-org.yaml:14:15"),
        "{t}"
    );

    let o = pki_cmd(&["status", "tests/fixtures/pki/no-pki.yaml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("site `pki-none` has no `pki:` section"),
        "{}",
        stdout(&o)
    );

    let o = pki_cmd(
        &["init", "tests/fixtures/invalid/unknown-key-top-level.yaml"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1), "an invalid spec");
    assert!(stdout(&o).contains("unknown key `listners`"));
    assert!(
        std::fs::read_dir(d.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

// -------------------------------------------------------------------- rustls

mod tls {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
    use std::io::{Read, Write};

    fn der(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes).unwrap();
        pem.contents
    }

    fn key(path: &Path) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der(path)))
    }

    /// A TLS 1.3 handshake in memory: the broker `server` of `server_dir`
    /// requiring a client certificate from its CA, the device `device` of
    /// `client_dir` (trusting `server_dir`'s CA), then one message each way.
    pub fn handshake(
        server_dir: &Path,
        client_dir: &Path,
        device: &str,
        dial: &str,
    ) -> Result<(), String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(der(&server_dir.join("ca.pem"))))
            .unwrap();
        let roots = Arc::new(roots);
        let verifier = WebPkiClientVerifier::builder(roots.clone())
            .build()
            .unwrap();
        let server_cfg = ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(der(
                    &server_dir.join("servers/edge1.pem")
                ))],
                key(&server_dir.join("servers/edge1.key")),
            )
            .unwrap();
        let client_cfg = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![CertificateDer::from(der(
                    &client_dir.join(format!("devices/{device}.pem"))
                ))],
                key(&client_dir.join(format!("devices/{device}.key"))),
            )
            .unwrap();
        let name = ServerName::try_from(dial.to_string()).unwrap();
        let mut client = ClientConnection::new(Arc::new(client_cfg), name).unwrap();
        let mut server = ServerConnection::new(Arc::new(server_cfg)).unwrap();
        client.writer().write_all(b"CONNECT").unwrap();
        let mut got = Vec::new();
        for _ in 0..20 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            server
                .process_new_packets()
                .map_err(|e| format!("server refused: {e}"))?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut buf.as_slice()).unwrap();
            client
                .process_new_packets()
                .map_err(|e| format!("client refused: {e}"))?;
            let mut chunk = [0u8; 64];
            if let Ok(n) = server.reader().read(&mut chunk) {
                got.extend_from_slice(&chunk[..n]);
            }
            if !server.is_handshaking() && got == b"CONNECT" {
                let peer = server.peer_certificates().map(|c| c.len());
                return if peer == Some(1) {
                    Ok(())
                } else {
                    Err(format!("no client certificate seen: {peer:?}"))
                };
            }
        }
        Err("the handshake did not finish".into())
    }
}

#[test]
fn rustls_server_accepts_our_devices_and_rejects_another_cas() {
    let site = load(EDGE);
    let ours = tmp();
    pki::ensure(&site, ours.path()).unwrap();
    tls::handshake(
        ours.path(),
        ours.path(),
        "press-01",
        "edge1.plant-lyon.acme.example",
    )
    .expect("a device certificate of the site's CA is accepted");
    tls::handshake(ours.path(), ours.path(), "temp-048", "192.168.10.5")
        .expect("fleet members too, dialling the IP SAN");

    // Another CA, named differently: the issuer is unknown.
    let text = std::fs::read_to_string(root().join(EDGE))
        .unwrap()
        .replace("ACME Plant Lyon Edge CA", "Somebody Else's CA");
    let other_site =
        spec::load_source(mqttforge::source::SourceFile::new("other.yaml", text)).unwrap();
    let other = tmp();
    pki::ensure(&other_site, other.path()).unwrap();
    let err = tls::handshake(ours.path(), other.path(), "press-01", "edge1")
        .expect_err("a device certificate of another CA is refused");
    assert!(err.starts_with("server refused"), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // Another CA with the very same name (another `init` of the same spec):
    // refused too, on its signature.
    let twin = tmp();
    pki::ensure(&site, twin.path()).unwrap();
    let err = tls::handshake(ours.path(), twin.path(), "press-01", "edge1")
        .expect_err("a device certificate of a same-named CA is refused");
    assert!(err.starts_with("server refused"), "{err}");
    assert!(err.contains("BadSignature"), "{err}");
}

// ----------------------------------------------------------------------- CSR

/// A CSR made by openssl with its own P-256 key, as a device's secure element would.
fn make_csr(dir: &Path, cn: &str, extra: &[&str]) -> PathBuf {
    let key = dir.join(format!("{cn}-device.key"));
    let csr = dir.join(format!("{cn}.csr"));
    let subj = format!("/O=Evil Corp/CN={cn}");
    let mut args = vec![
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &subj,
    ];
    args.extend_from_slice(extra);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req: {out}");
    csr
}

#[test]
fn a_devices_csr_is_signed_with_the_device_profile() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    let old_cert = std::fs::read(d.path().join("devices/press-02.pem")).unwrap();
    let work = tmp();
    let csr = make_csr(
        work.path(),
        "press-02",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-addext",
            "subjectAltName=DNS:evil.example",
        ],
    );
    let out_path = work.path().join("press-02.pem");
    let o = pki_cmd(
        &[
            "sign",
            EDGE,
            "--csr",
            csr.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(
        stdout(&o).contains("key on the device (CSR)"),
        "{}",
        stdout(&o)
    );
    let (ok, out) = verify(&d.path().join("ca.pem"), &out_path);
    assert!(ok, "{out}");
    let t = x509_text(&out_path);
    assert!(t.contains("Version: 3 (0x2)"));
    assert!(
        t.contains("Subject: O = ACME, CN = press-02\n"),
        "the profile decides the subject: {t}"
    );
    assert!(t.contains("CA:FALSE") && !t.contains("CA:TRUE"), "{t}");
    assert!(
        t.contains("TLS Web Client Authentication") && !t.contains("Server Authentication"),
        "{t}"
    );
    assert!(!t.contains("evil.example"), "{t}");
    // The certificate carries the device's own key.
    let (_, cert_pub) = openssl(&[
        "x509",
        "-in",
        out_path.to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    let (_, key_pub) = openssl(&[
        "pkey",
        "-in",
        work.path().join("press-02-device.key").to_str().unwrap(),
        "-pubout",
    ]);
    assert_eq!(cert_pub, key_pub);
    // --out was honoured: the directory's certificate is untouched.
    assert_eq!(
        std::fs::read(d.path().join("devices/press-02.pem")).unwrap(),
        old_cert
    );
    // The device's own key replaces the one generated here: that key is
    // removed and its certificate revoked (superseded), so status is truthful.
    let old_serial = cert_info(&d.path().join("devices/press-02.pem")).serial;
    assert!(
        stdout(&o).contains(&format!("(superseded): serial {old_serial}")),
        "{}",
        stdout(&o)
    );
    assert!(!d.path().join("devices/press-02.key").exists());
    let (_, v, _) = status_json(d.path());
    assert_eq!(state_of(&v, "press-02")["state"], "revoked");
    // The CSR is kept: once the old certificate is gone, ensure reissues
    // from the CSR and generates no key for that device.
    assert!(d.path().join("devices/press-02.csr").exists());
    std::fs::remove_file(d.path().join("devices/press-02.pem")).unwrap();
    let report = pki::ensure(&site, d.path()).unwrap();
    assert_eq!(report.issued.len(), 1);
    assert_eq!(
        report.issued[0].target,
        Target::named(Role::Device, "press-02").unwrap()
    );
    assert_eq!(report.issued[0].key, KeyOrigin::Csr);
    assert!(!d.path().join("devices/press-02.key").exists());
    let (_, reissued_pub) = openssl(&[
        "x509",
        "-in",
        d.path().join("devices/press-02.pem").to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    assert_eq!(reissued_pub, key_pub, "reissued from the kept CSR");
}

#[test]
fn a_csr_for_an_unknown_device_is_refused() {
    let d = tmp();
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let work = tmp();
    let before = snapshot(d.path());

    let csr = make_csr(work.path(), "intruder-9", &[]);
    let o = pki_cmd(&["sign", EDGE, "--csr", csr.to_str().unwrap()], d.path());
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.contains("the request's common name `intruder-9` is not a device of site `plant-lyon-edge`; refusing to sign it"),
        "{t}"
    );

    let csr = make_csr(work.path(), "press-1", &[]);
    let o = pki_cmd(&["sign", EDGE, "--csr", csr.to_str().unwrap()], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("did you mean `press-01`?"),
        "{}",
        stdout(&o)
    );

    // A request whose signature does not verify.
    let csr = make_csr(work.path(), "press-01", &[]);
    let text = std::fs::read_to_string(&csr).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).unwrap();
    let mut der = pem.contents.clone();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = work.path().join("tampered.csr");
    std::fs::write(&tampered, inspect::pem_text("CERTIFICATE REQUEST", &der)).unwrap();
    let o = pki_cmd(
        &["sign", EDGE, "--csr", tampered.to_str().unwrap()],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("signature does not verify"),
        "{}",
        stdout(&o)
    );

    let garbage = work.path().join("garbage.csr");
    std::fs::write(&garbage, "hello\n").unwrap();
    let o = pki_cmd(
        &["sign", EDGE, "--csr", garbage.to_str().unwrap()],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("is not a valid certificate signing request"),
        "{}",
        stdout(&o)
    );

    assert!(
        changed(&before, &snapshot(d.path())).is_empty(),
        "nothing was written"
    );
}

// -------------------------------------------------------------------- ensure

#[test]
fn ensure_twice_changes_no_file() {
    let d = tmp();
    let site = load(EDGE);
    let first = pki::ensure(&site, d.path()).unwrap();
    assert!(first.ca.is_some());
    assert_eq!(first.issued.len(), 51, "one server, 50 devices");
    assert!(first.issued.iter().all(|i| i.key == KeyOrigin::Generated));
    let before = snapshot(d.path());
    let second = pki::ensure(&site, d.path()).unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert!(changed(&before, &snapshot(d.path())).is_empty());
}

#[test]
fn deleting_one_certificate_reissues_only_that_one_with_its_key() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    let before = snapshot(d.path());
    let cert = d.path().join("devices/temp-007.pem");
    let old = cert_info(&cert);
    std::fs::remove_file(&cert).unwrap();

    let report = pki::ensure(&site, d.path()).unwrap();
    assert!(report.ca.is_none() && report.crl.is_none());
    assert_eq!(report.issued.len(), 1, "{report:?}");
    let i = &report.issued[0];
    assert_eq!(i.target, Target::named(Role::Device, "temp-007").unwrap());
    assert_eq!(i.key, KeyOrigin::Existing);
    assert!(i.new_key.is_none());
    assert_eq!(
        changed(&before, &snapshot(d.path())),
        ["devices/temp-007.pem", "index.json"]
    );
    let new = cert_info(&cert);
    assert_eq!(new.public_key, old.public_key, "the existing key");
    assert_ne!(new.serial, old.serial);
    let (ok, out) = verify(&d.path().join("ca.pem"), &cert);
    assert!(ok, "{out}");

    // A server whose key is gone gets a new key and certificate (the broker
    // cannot use a certificate without its key); nothing else changes.
    let before = snapshot(d.path());
    std::fs::remove_file(d.path().join("servers/edge1.key")).unwrap();
    let report = pki::ensure(&site, d.path()).unwrap();
    assert_eq!(report.issued.len(), 1);
    assert_eq!(report.issued[0].key, KeyOrigin::Generated);
    assert_eq!(
        changed(&before, &snapshot(d.path())),
        ["index.json", "servers/edge1.key", "servers/edge1.pem"]
    );
    assert_eq!(mode(&d.path().join("servers/edge1.key")), 0o640);
}

#[test]
fn a_lost_ca_certificate_is_reissued_with_its_key_and_a_lost_ca_key_is_refused() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    let key = std::fs::read(d.path().join("ca.key")).unwrap();
    std::fs::remove_file(d.path().join("ca.pem")).unwrap();
    let report = pki::ensure(&site, d.path()).unwrap();
    let ca = report.ca.expect("the CA certificate is reissued");
    assert_eq!(ca.key, KeyOrigin::Existing);
    assert!(report.issued.is_empty());
    assert_eq!(std::fs::read(d.path().join("ca.key")).unwrap(), key);
    // Same key, same name: what the old CA certificate signed still verifies.
    let (ok, out) = verify(
        &d.path().join("ca.pem"),
        &d.path().join("devices/press-01.pem"),
    );
    assert!(ok, "{out}");

    std::fs::remove_file(d.path().join("ca.pem")).unwrap();
    std::fs::remove_file(d.path().join("ca.key")).unwrap();
    let err = pki::ensure(&site, d.path()).unwrap_err();
    assert!(
        err[0].message.contains("but 1 server and 50 device certificates it issued remain; refusing to create a new CA over them"),
        "{}",
        err[0].message
    );
    assert!(!d.path().join("ca.key").exists());
}

#[test]
fn a_corrupt_file_is_named_in_the_error() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    std::fs::write(d.path().join("devices/press-01.pem"), "not a certificate\n").unwrap();
    let o = pki_cmd(&["status", EDGE], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("devices/press-01.pem is not a valid certificate"),
        "{}",
        stdout(&o)
    );

    std::fs::write(
        d.path().join("ca.key"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let o = pki_cmd(&["issue", "device", EDGE, "--id", "press-02"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("cannot read the private key"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("ca.key"));
    let err = pki::ensure(&site, d.path()).unwrap_err();
    assert!(err[0].message.contains("ca.key"), "{:?}", err[0].message);

    let o = pki_cmd(&["issue", "device", EDGE, "--id", "press-3"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("`press-3` is not a device of site `plant-lyon-edge`"));
}

// ------------------------------------------------------ status, renew, revoke

/// A PKI whose CA and press-01 date from 400 days ago (press-01 expired),
/// press-02 from 350 days ago (15 days left), the rest from now.
fn aged(site: &Site, dir: &Path) {
    let now = OffsetDateTime::now_utc();
    let mut old = Pki::open(site, dir).unwrap().at(now - Duration::days(400));
    assert!(old.init().is_ok());
    old.issue(Role::Device, &["press-01".into()], false)
        .unwrap();
    let mut less = Pki::open(site, dir).unwrap().at(now - Duration::days(350));
    less.issue(Role::Device, &["press-02".into()], false)
        .unwrap();
    pki::ensure(site, dir).unwrap();
}

fn status_json(dir: &Path) -> (Option<i32>, Value, String) {
    let o = pki_cmd(&["status", EDGE, "--format", "json"], dir);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", all_output(&o)));
    (
        o.status.code(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn state_of<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {v:#}"))
}

#[test]
fn status_flags_expiring_and_expired_certificates() {
    let d = tmp();
    let site = load(EDGE);
    aged(&site, d.path());
    std::fs::remove_file(d.path().join("devices/temp-010.pem")).unwrap();

    let (code, v, err) = status_json(d.path());
    assert_eq!(code, Some(1), "an expired certificate fails the status");
    assert!(err.contains("device `press-01` expired on"), "{err}");
    let p1 = state_of(&v, "press-01");
    assert_eq!(p1["state"], "expired");
    assert_eq!(p1["role"], "device");
    assert!(p1["days_left"].as_i64().unwrap() < 0);
    let p2 = state_of(&v, "press-02");
    assert_eq!(p2["state"], "expiring");
    assert_eq!(p2["days_left"], 14);
    assert_eq!(state_of(&v, "temp-001")["state"], "ok");
    assert_eq!(state_of(&v, "edge1")["role"], "server");
    let ca = state_of(&v, "ca");
    assert_eq!(ca["state"], "ok");
    assert_eq!(ca["subject"], "O=ACME, CN=ACME Plant Lyon Edge CA");
    assert!(ca["not_after"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["missing"][0]["name"], "temp-010");
    assert_eq!(v["summary"]["expired"], 1);
    assert_eq!(v["summary"]["expiring"], 1);
    assert_eq!(v["summary"]["missing"], 1);
    assert_eq!(v["summary"]["certificates"], 51);

    let o = pki_cmd(&["status", EDGE], d.path());
    assert_eq!(o.status.code(), Some(1));
    let t = stdout(&o);
    assert!(
        t.starts_with("ROLE    NAME      STATE     DAYS  NOT AFTER             SUBJECT\n"),
        "{t}"
    );
    assert!(t.contains("device  press-02  expiring  14  "), "{t}");
    assert!(t.contains("device  temp-010  missing   -"), "{t}");
    assert!(t.contains("51 certificates in "), "{t}");
    assert!(
        t.contains(": 49 ok, 1 expiring, 1 expired, 0 revoked; 1 missing"),
        "{t}"
    );
}

#[test]
fn renew_reissues_what_expires_and_keeps_keys_and_the_ca() {
    let d = tmp();
    let site = load(EDGE);
    aged(&site, d.path());
    let before = snapshot(d.path());

    let o = pki_cmd(&["renew", EDGE, "--within", "30d"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(stdout(&o).contains("issued device \"O=ACME, CN=press-01\""));
    assert!(stdout(&o).contains("existing key"));
    assert_eq!(
        changed(&before, &snapshot(d.path())),
        ["devices/press-01.pem", "devices/press-02.pem", "index.json"]
    );
    let (code, v, _) = status_json(d.path());
    assert_eq!(code, Some(0));
    assert_eq!(v["summary"]["ok"], 52);

    let o = pki_cmd(&["renew", EDGE, "--within", "30d"], d.path());
    assert!(stdout(&o).contains("nothing to renew"), "{}", stdout(&o));

    // New keys for everything valid for less than 400 days; the CA stays.
    let before = snapshot(d.path());
    let o = pki_cmd(&["renew", EDGE, "--within", "400d", "--new-keys"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let diff = changed(&before, &snapshot(d.path()));
    assert!(diff.contains(&"devices/temp-001.key".to_string()));
    assert!(diff.contains(&"servers/edge1.key".to_string()));
    assert!(!diff.iter().any(|p| p.starts_with("ca.")), "{diff:?}");
    let (ok, out) = verify(
        &d.path().join("ca.pem"),
        &d.path().join("devices/temp-001.pem"),
    );
    assert!(ok, "{out}");
}

#[test]
fn revoke_writes_a_crl_that_openssl_reads_and_enforces() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    // press-01 gets a second certificate for the same key: both must go.
    let first = d.path().join("press-01-first.pem");
    std::fs::copy(d.path().join("devices/press-01.pem"), &first).unwrap();
    let first_serial = cert_info(&first).serial;
    let o = pki_cmd(&["issue", "device", EDGE, "--id", "press-01"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let serial = cert_info(&d.path().join("devices/press-01.pem")).serial;
    assert_ne!(serial, first_serial);

    let o = pki_cmd(
        &["revoke", EDGE, "press-01", "--reason", "keyCompromise"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let mut both = [first_serial.clone(), serial.clone()];
    both.sort();
    assert!(
        stdout(&o).contains(&format!(
            "revoked device \"O=ACME, CN=press-01\" serials {}, {} (keyCompromise)",
            both[0], both[1]
        )),
        "{}",
        stdout(&o)
    );
    let crl = pki::crl_path(d.path()).expect("crl.pem exists now");
    assert_eq!(mode(&crl), 0o644);
    let crl_s = crl.to_str().unwrap();
    let ca_s = d.path().join("ca.pem");
    let ca_s = ca_s.to_str().unwrap();

    let (ok, text) = openssl(&["crl", "-in", crl_s, "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("Serial Number: {serial}")), "{text}");
    assert!(
        text.contains(&format!("Serial Number: {first_serial}")),
        "{text}"
    );
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(
        text.contains("Issuer: O = ACME, CN = ACME Plant Lyon Edge CA"),
        "{text}"
    );
    assert!(text.contains("Next Update:"), "{text}");
    let (ok, out) = openssl(&["crl", "-in", crl_s, "-CAfile", ca_s, "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");

    let check = |id: &str| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            ca_s,
            "-CRLfile",
            crl_s,
            d.path().join(format!("devices/{id}.pem")).to_str().unwrap(),
        ])
    };
    let (ok, out) = check("press-01");
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        ca_s,
        "-CRLfile",
        crl_s,
        first.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("certificate revoked"),
        "the older certificate too: {out}"
    );
    let (ok, out) = check("press-02");
    assert!(ok, "{out}");

    let (code, v, _) = status_json(d.path());
    assert_eq!(code, Some(0), "revoked is not a failure of the status");
    let p1 = state_of(&v, "press-01");
    assert_eq!(p1["state"], "revoked");
    assert_eq!(p1["revoked"]["reason"], "keyCompromise");
    assert_eq!(v["crl"]["revoked"], 2);
    assert_eq!(v["crl"]["state"], "ok");

    // Idempotent; ensure leaves the fresh CRL alone; renew skips revoked.
    let before = snapshot(d.path());
    let o = pki_cmd(&["revoke", EDGE, "press-01"], d.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("already revoked"), "{}", stdout(&o));
    assert!(pki::ensure(&site, d.path()).unwrap().is_empty());
    assert!(changed(&before, &snapshot(d.path())).is_empty());

    // A second revocation: both serials, a new CRL number.
    let o = pki_cmd(
        &[
            "revoke",
            EDGE,
            "edge1",
            "--server",
            "--reason",
            "superseded",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let (_, text) = openssl(&["crl", "-in", crl_s, "-noout", "-text"]);
    assert!(
        text.contains(&format!("Serial Number: {serial}")) && text.contains("Superseded"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 CRL Number: \n                2"),
        "{text}"
    );

    let o = pki_cmd(&["revoke", EDGE, "press-1"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("did you mean `press-01`?"),
        "{}",
        stdout(&o)
    );

    // A deleted CRL is written again by ensure (what apply runs).
    std::fs::remove_file(&crl).unwrap();
    let report = pki::ensure(&site, d.path()).unwrap();
    assert_eq!(report.crl.as_deref(), Some(crl.as_path()));
    let (_, text) = openssl(&["crl", "-in", crl_s, "-noout", "-text"]);
    assert!(text.contains(&format!("Serial Number: {serial}")), "{text}");
}

#[test]
fn the_pki_dir_defaults_to_the_specs_pki_dir() {
    let d = tmp();
    let spec_path = d.path().join("site.yaml");
    let text = std::fs::read_to_string(root().join("tests/fixtures/pki/p384.yaml"))
        .unwrap()
        .replace(
            "  key: ecdsa-p384\n",
            "  key: ecdsa-p384\n  dir: certs/site\n",
        );
    std::fs::write(&spec_path, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["pki", "init", "site.yaml"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(d.path().join("certs/site/ca.pem").exists());
    let o = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["pki", "status", "site.yaml"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(stdout(&o).contains("in certs/site: 1 ok"), "{}", stdout(&o));
}

// ------------------------------------------------------- hardening (issue 11)

/// `pki revoke SPEC ../ca` revoked the root CA into its own CRL: a name
/// that is a path is now refused as not a device (or node) of the site,
/// with a did-you-mean, and nothing is written.
#[test]
fn revoke_refuses_a_name_that_is_a_path() {
    let d = tmp();
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let before = snapshot(d.path());
    let o = pki_cmd(&["revoke", EDGE, "../ca"], d.path());
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(
        stdout(&o).contains("`../ca` is not a device of site `plant-lyon-edge`"),
        "{}",
        stdout(&o)
    );
    let o = pki_cmd(&["revoke", EDGE, "../press-01"], d.path());
    assert!(
        stdout(&o).contains("did you mean `press-01`?"),
        "{}",
        stdout(&o)
    );
    let o = pki_cmd(&["revoke", EDGE, "--server", "../edge1"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("`../edge1` is not a node of site `plant-lyon-edge`"),
        "{}",
        stdout(&o)
    );
    assert!(changed(&before, &snapshot(d.path())).is_empty());
    assert!(!d.path().join("crl.pem").exists());
}

/// Two `pki issue device --new-keys` at once on one directory: the lock
/// serialises them, so every certificate matches its key and index.json
/// keeps every serial of both runs.
#[test]
fn two_concurrent_issues_keep_every_serial() {
    let d = tmp();
    let site = load(EDGE);
    pki::ensure(&site, d.path()).unwrap();
    let dir = d.path().to_str().unwrap().to_string();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_mqttforge"))
                .args(["pki", "issue", "device", EDGE, "--new-keys", "--dir", &dir])
                .current_dir(root())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert_eq!(o.status.code(), Some(0), "{}", all_output(o));
    }
    let index: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("index.json")).unwrap()).unwrap();
    for id in site.devices().map(|dev| dev.id) {
        let history = index["issued"][format!("devices/{id}")].as_array().unwrap();
        assert_eq!(history.len(), 3, "{id}: {history:?}");
        let cert = d.path().join(format!("devices/{id}.pem"));
        assert_key_of(&cert, &d.path().join(format!("devices/{id}.key")));
        assert_eq!(
            history.last().unwrap()["serial"],
            cert_info(&cert).serial.as_str()
        );
    }
}

/// `pki status` said ok for a certificate that did not belong to its key:
/// now the state is `mismatched` and the exit status 1.
#[test]
fn status_finds_a_key_that_is_not_its_certificates() {
    let d = tmp();
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let (code, _, _) = status_json(d.path());
    assert_eq!(code, Some(0));
    std::fs::copy(
        d.path().join("devices/press-01.key"),
        d.path().join("devices/press-02.key"),
    )
    .unwrap();
    std::fs::copy(
        d.path().join("devices/temp-001.key"),
        d.path().join("servers/edge1.key"),
    )
    .unwrap();
    let (code, v, stderr) = status_json(d.path());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(state_of(&v, "press-02")["state"], "mismatched");
    assert_eq!(state_of(&v, "edge1")["state"], "mismatched");
    assert_eq!(state_of(&v, "press-01")["state"], "ok");
    assert_eq!(v["summary"]["mismatched"], 2);
    assert!(
        stderr.contains("error[pki]: server `edge1`")
            && stderr.contains("does not belong to the key beside it"),
        "{stderr}"
    );
    let o = pki_cmd(&["status", EDGE], d.path());
    assert!(stdout(&o).contains(", 2 mismatched;"), "{}", stdout(&o));
}

/// A writer stopped after writing certificates but before index.json (a
/// full disk, a kill): the next writer records what index.json lacks.
#[test]
fn the_index_records_certificates_it_lacks() {
    let d = tmp();
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let index = d.path().join("index.json");
    let kept = d.path().join("index.kept");
    // `cp -p`: the old state file keeps its old time, as a failed write leaves it.
    assert!(Command::new("cp")
        .arg("-p")
        .arg(&index)
        .arg(&kept)
        .status()
        .unwrap()
        .success());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = pki_cmd(&["issue", "device", EDGE, "--id", "press-01"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    std::fs::remove_file(d.path().join("devices/temp-007.pem")).unwrap();
    let lost = cert_info(&d.path().join("devices/press-01.pem")).serial;
    assert!(Command::new("cp")
        .arg("-p")
        .arg(&kept)
        .arg(&index)
        .status()
        .unwrap()
        .success());
    std::fs::remove_file(&kept).unwrap();
    assert!(!std::fs::read_to_string(&index).unwrap().contains(&lost));
    // The next writer (ensure reissues temp-007) records press-01's serial.
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains(&lost), "serial {lost} still missing:\n{text}");
}

fn openssl_csr(dir: &Path, name: &str, key_args: &[&str], req_args: &[&str]) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut args = vec!["genpkey"];
    args.extend_from_slice(key_args);
    args.extend_from_slice(&["-out", key.to_str().unwrap()]);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl genpkey {key_args:?}: {out}");
    let mut args = vec![
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=press-01",
        "-out",
        csr.to_str().unwrap(),
    ];
    args.extend_from_slice(req_args);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req {req_args:?}: {out}");
    csr
}

/// Hostile CSRs each get a refusal naming what is wrong and what is
/// accepted (they all got "signature does not verify"); a DER CSR is
/// converted and signed.
#[test]
fn csrs_are_refused_precisely_and_der_is_accepted() {
    let d = tmp();
    pki::ensure(&load(EDGE), d.path()).unwrap();
    let work = tmp();
    let w = work.path();
    let cases: [(&str, PathBuf, &str); 6] = [
        (
            "RSA-1024",
            openssl_csr(
                w,
                "rsa1024",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                &[],
            ),
            "the request's RSA key has 1024 bits; at least 2048 are required",
        ),
        (
            "SHA-1",
            openssl_csr(
                w,
                "sha1",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                &["-sha1"],
            ),
            "the request is signed with SHA-1, which is not accepted",
        ),
        (
            "PSS signature",
            openssl_csr(
                w,
                "pss-sig",
                &["-algorithm", "RSA"],
                &["-sigopt", "rsa_padding_mode:pss"],
            ),
            "the request is signed with RSA-PSS (RSASSA-PSS), which is not accepted",
        ),
        (
            "PSS key",
            openssl_csr(w, "pss-key", &["-algorithm", "RSA-PSS"], &[]),
            "the request's key is an RSA-PSS key (RSASSA-PSS), which mqttforge does not certify",
        ),
        (
            "P-521",
            openssl_csr(
                w,
                "p521",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
                &[],
            ),
            "the request's key is on curve P-521 (secp521r1), which mqttforge does not certify",
        ),
        (
            "secp256k1",
            openssl_csr(
                w,
                "k1",
                &[
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:secp256k1",
                ],
                &[],
            ),
            "the request's key is on curve secp256k1, which mqttforge does not certify",
        ),
    ];
    let before = snapshot(d.path());
    for (what, csr, expected) in &cases {
        let o = pki_cmd(&["sign", EDGE, "--csr", csr.to_str().unwrap()], d.path());
        assert_eq!(o.status.code(), Some(1), "{what}: {}", all_output(&o));
        let text = stdout(&o);
        assert!(text.contains(expected), "{what}: {text}");
        assert!(
            text.contains("accepted"),
            "{what} says what is accepted: {text}"
        );
        assert!(!text.contains("does not verify"), "{what}: {text}");
    }
    assert!(changed(&before, &snapshot(d.path())).is_empty());
    // DER: converted, signed, kept as PEM.
    let pem = openssl_csr(
        w,
        "der",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &[],
    );
    let der = w.join("der.der");
    let (ok, out) = openssl(&[
        "req",
        "-in",
        pem.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let o = pki_cmd(&["sign", EDGE, "--csr", der.to_str().unwrap()], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert_key_of(&d.path().join("devices/press-01.pem"), &w.join("der.key"));
    let kept = std::fs::read_to_string(d.path().join("devices/press-01.csr")).unwrap();
    assert!(
        kept.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{kept}"
    );
}

/// `pki issue device` killed (SIGKILL) at random points while it writes a
/// batch: every key and certificate under its final name is whole (the
/// batch renames only temporaries already synced), keys are 0600 from the
/// start, and a rerun issues what is missing and leaves no temporary.
#[test]
fn issue_killed_at_random_points_never_leaves_a_partial_key_or_certificate() {
    let work = tmp();
    let text = std::fs::read_to_string(root().join("site-examples/emqx-cluster.yaml"))
        .unwrap()
        .replace("from: 1, to: 5000, width: 4", "from: 1, to: 700, width: 4")
        .replace("from: 2, to: 400, width: 3", "from: 2, to: 100, width: 3");
    let spec = work.path().join("site.yaml");
    std::fs::write(&spec, text).unwrap();
    let spec = spec.to_str().unwrap().to_string();
    let mut seed = 0x5eed_u64;
    for round in 0..4 {
        let dir = work.path().join(format!("pki-{round}"));
        let d = dir.to_str().unwrap();
        for what in [["init"], ["issue"]] {
            let mut args = vec!["pki"];
            args.extend_from_slice(&what);
            if what == ["issue"] {
                args.push("server");
            }
            args.extend_from_slice(&[&spec, "--dir", d]);
            assert!(mqttforge(&args).status.success(), "{args:?}");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
            .args(["pki", "issue", "device", &spec, "--dir", d])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_millis(50 + (seed >> 33) % 1500));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let mut whole = 0;
        for e in std::fs::read_dir(dir.join("devices")).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            if name.starts_with('.') {
                continue; // a temporary: never under a final name
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let kind = if name.ends_with(".key") {
                assert_eq!(mode(&p), 0o600, "{name}");
                "PRIVATE KEY"
            } else {
                "CERTIFICATE"
            };
            assert!(
                text.starts_with(&format!("-----BEGIN {kind}-----\n"))
                    && text.ends_with(&format!("-----END {kind}-----\n")),
                "round {round}: {name} is not whole:\n{text}"
            );
            whole += 1;
        }
        let o = pki_cmd(&["issue", "device", &spec], &dir);
        assert!(o.status.success(), "{}", all_output(&o));
        let names: Vec<String> = std::fs::read_dir(dir.join("devices"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains(".mqttforge-tmp-")),
            "round {round}: a temporary survived the rerun"
        );
        assert_eq!(
            names.len(),
            2 * 801,
            "round {round} ({whole} whole files after the kill)"
        );
        let o = pki_cmd(&["status", &spec], &dir);
        assert!(o.status.success(), "{}", all_output(&o));
    }
}
