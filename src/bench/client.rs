//! rumqttc options for each bench client: address, identity, TLS (the CA,
//! an optional client certificate, and an optional server name other than
//! the URL's host), limits sized for the payload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{MqttOptions, QoS, TlsConfiguration, Transport};
// rumqttc 0.25 speaks rustls 0.23 (the crate's own `rustls` is rumqttd's 0.22).
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_023 as rustls;

use super::config::{BenchConfig, ClientIdentity, TlsSettings};

pub fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// TLS client configurations, built once per distinct certificate before the run.
pub struct TlsConfigs {
    /// Key: the device id (or "" for the shared identity / none).
    by_identity: BTreeMap<String, Arc<ClientConfig>>,
}

impl TlsConfigs {
    /// Reads the CA and every client certificate the run needs; every
    /// unreadable file is reported.
    pub fn load(config: &BenchConfig) -> Result<Option<TlsConfigs>, Vec<String>> {
        let Some(tls) = &config.tls else {
            return Ok(None);
        };
        let roots = Arc::new(load_roots(&tls.ca_file).map_err(|e| vec![e])?);
        let mut by_identity = BTreeMap::new();
        let mut problems = Vec::new();
        let mut add = |key: &str, pair: Option<(PathBuf, PathBuf)>| match client_config(
            tls,
            roots.clone(),
            pair.as_ref(),
        ) {
            Ok(c) => {
                by_identity.insert(key.to_string(), Arc::new(c));
            }
            Err(e) => problems.push(e),
        };
        match &tls.identity {
            ClientIdentity::None => add("", None),
            ClientIdentity::Shared { cert, key } => add("", Some((cert.clone(), key.clone()))),
            ClientIdentity::Devices { pki_dir, .. } => {
                let used = (0..config.clients().min(device_count(tls)))
                    .filter_map(|k| config.device_of(k).map(str::to_string));
                for id in used {
                    let dir = pki_dir.join("devices");
                    add(
                        &id,
                        Some((dir.join(format!("{id}.pem")), dir.join(format!("{id}.key")))),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(Some(TlsConfigs { by_identity }))
        } else {
            Err(problems)
        }
    }

    fn for_device(&self, device: Option<&str>) -> Option<Arc<ClientConfig>> {
        self.by_identity.get(device.unwrap_or("")).cloned()
    }
}

fn device_count(tls: &TlsSettings) -> u32 {
    match &tls.identity {
        ClientIdentity::Devices { ids, .. } => u32::try_from(ids.len()).unwrap_or(u32::MAX),
        _ => 0,
    }
}

/// The rumqttc options of one client.
pub fn options(
    config: &BenchConfig,
    client_id: &str,
    device: Option<&str>,
    tls: Option<&TlsConfigs>,
) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, config.url.host.clone(), config.url.port);
    opts.set_keep_alive(config.keepalive);
    opts.set_clean_session(true);
    opts.set_inflight(config.inflight);
    opts.set_request_channel_capacity(usize::from(config.inflight).max(10));
    // Topic, packet header and a margin on top of the payload.
    let packet = config.payload_bytes + config.topic.len() + 1024;
    opts.set_max_packet_size(packet, packet);
    if let Some(user) = &config.username {
        let password = config
            .password
            .as_ref()
            .map(|p| p.0.clone())
            .unwrap_or_default();
        opts.set_credentials(user.clone(), password);
    }
    if let Some(client_config) = tls.and_then(|t| t.for_device(device)) {
        opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            client_config,
        )));
    }
    opts
}

fn pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut text.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

fn load_roots(ca_file: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in pem_certs(ca_file)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: not a usable CA certificate: {e}", ca_file.display()))?;
    }
    Ok(roots)
}

fn client_config(
    tls: &TlsSettings,
    roots: Arc<RootCertStore>,
    identity: Option<&(PathBuf, PathBuf)>,
) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match &tls.server_name {
        None => versions.with_root_certificates(roots),
        Some(name) => {
            let expected = ServerName::try_from(name.clone())
                .map_err(|e| format!("--server-name `{name}`: {e}"))?;
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| format!("the CA cannot verify servers: {e}"))?;
            versions
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NamedServer { expected, webpki }))
        }
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = pem_certs(cert)?;
            let key_text = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
            let key_der: PrivateKeyDer<'static> =
                rustls_pemfile::private_key(&mut key_text.as_slice())
                    .map_err(|e| format!("{}: not a PEM key: {e}", key.display()))?
                    .ok_or_else(|| format!("{}: no private key in the file", key.display()))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("{}: refused by rustls: {e}", cert.display()))
        }
    }
}

/// Full WebPKI verification of the server certificate, against a fixed name
/// instead of the host the client dialled.
#[derive(Debug)]
struct NamedServer {
    expected: ServerName<'static>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for NamedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            &self.expected,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
