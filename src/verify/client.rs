//! A small synchronous MQTT 3.1.1 client for probes: CONNECT, SUBSCRIBE,
//! PUBLISH (QoS 0/1), over TCP or TLS (rustls, with or without a client
//! certificate). Every read has a deadline, so a probe never hangs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::mqtt::{remaining_length, Connect};

pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS settings of a probe.
pub struct Tls {
    pub ca_pem: String,
    /// (certificate chain PEM, key PEM) presented to the broker.
    pub client: Option<(String, String)>,
    /// The name the server certificate must cover.
    pub server_name: String,
    /// Offer only TLS 1.2.
    pub only_tls12: bool,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

pub struct Client {
    stream: Stream,
    next_id: u16,
}

fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad certificate PEM: {e}"))
}

fn tls_config(tls: &Tls) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    for c in certs(&tls.ca_pem)? {
        roots
            .add(c)
            .map_err(|e| format!("bad CA certificate: {e}"))?;
    }
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls.only_tls12 {
        &[&rustls::version::TLS12]
    } else {
        rustls::ALL_VERSIONS
    };
    let builder =
        ClientConfig::builder_with_protocol_versions(versions).with_root_certificates(roots);
    match &tls.client {
        None => Ok(builder.with_no_client_auth()),
        Some((chain, key)) => {
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key.as_bytes())
                .map_err(|e| format!("bad key PEM: {e}"))?
                .ok_or("no private key in the key file")?;
            builder
                .with_client_auth_cert(certs(chain)?, key)
                .map_err(|e| format!("client certificate refused by rustls: {e}"))
        }
    }
}

impl Client {
    /// Opens the connection (and completes the TLS handshake, if any).
    pub fn open(addr: SocketAddr, tls: Option<&Tls>) -> Result<Client, String> {
        let tcp = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .map_err(|e| format!("TCP connect to {addr}: {e}"))?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let stream = match tls {
            None => Stream::Plain(tcp),
            Some(t) => {
                let name = ServerName::try_from(t.server_name.clone())
                    .map_err(|e| format!("bad server name: {e}"))?;
                let conn = ClientConnection::new(Arc::new(tls_config(t)?), name)
                    .map_err(|e| format!("TLS setup: {e}"))?;
                let mut s = StreamOwned::new(conn, tcp);
                while s.conn.is_handshaking() {
                    s.conn
                        .complete_io(&mut s.sock)
                        .map_err(|e| format!("TLS handshake: {e}"))?;
                }
                Stream::Tls(Box::new(s))
            }
        };
        Ok(Client { stream, next_id: 1 })
    }

    fn send(&mut self, packet: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(packet)
            .and_then(|()| self.stream.flush())
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads one packet: (first byte, body).
    fn read_packet(&mut self) -> Result<(u8, Vec<u8>), String> {
        let mut first = [0u8; 1];
        self.stream
            .read_exact(&mut first)
            .map_err(|e| format!("read: {e}"))?;
        let mut len = 0usize;
        let mut mult = 1usize;
        for _ in 0..4 {
            let mut b = [0u8; 1];
            self.stream
                .read_exact(&mut b)
                .map_err(|e| format!("read: {e}"))?;
            len += (b[0] & 0x7f) as usize * mult;
            if b[0] & 0x80 == 0 {
                let mut body = vec![0u8; len];
                self.stream
                    .read_exact(&mut body)
                    .map_err(|e| format!("read: {e}"))?;
                return Ok((first[0], body));
            }
            mult *= 128;
        }
        Err("malformed remaining length".into())
    }

    /// CONNECT and wait for CONNACK; returns (session present, return code).
    pub fn connect(&mut self, client_id: &str, clean: bool) -> Result<(bool, u8), String> {
        let c = Connect {
            client_id: client_id.into(),
            clean_session: clean,
            ..Connect::health_check(60)
        };
        self.connect_packet(&c)
    }

    /// CONNECT with a username and password (clean session).
    pub fn connect_with_credentials(
        &mut self,
        client_id: &str,
        user: &str,
        password: &str,
    ) -> Result<(bool, u8), String> {
        let c = Connect {
            client_id: client_id.into(),
            username: Some(user.into()),
            password: Some(password.as_bytes().to_vec()),
            ..Connect::health_check(60)
        };
        self.connect_packet(&c)
    }

    fn connect_packet(&mut self, c: &Connect) -> Result<(bool, u8), String> {
        self.send(&c.encode())?;
        let (kind, body) = self.read_packet()?;
        if kind != 0x20 || body.len() != 2 {
            return Err(format!("expected CONNACK, got packet 0x{kind:02x}"));
        }
        Ok((body[0] & 1 == 1, body[1]))
    }

    /// SUBSCRIBE to one filter; returns the granted QoS (0x80 = failure).
    pub fn subscribe(&mut self, filter: &str, qos: u8) -> Result<u8, String> {
        let id = self.id();
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        body.extend_from_slice(filter.as_bytes());
        body.push(qos);
        let mut packet = vec![0x82];
        packet.extend(remaining_length(body.len()));
        packet.extend(body);
        self.send(&packet)?;
        loop {
            let (kind, body) = self.read_packet()?;
            if kind == 0x90 && body.len() >= 3 && body[..2] == id.to_be_bytes() {
                return Ok(body[2]);
            }
        }
    }

    /// PUBLISH; with QoS 1, waits for the PUBACK.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
    ) -> Result<(), String> {
        let mut body = (topic.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(topic.as_bytes());
        let id = self.id();
        if qos > 0 {
            body.extend_from_slice(&id.to_be_bytes());
        }
        body.extend_from_slice(payload);
        let mut packet = vec![0x30 | (qos << 1) | u8::from(retain)];
        packet.extend(remaining_length(body.len()));
        packet.extend(body);
        self.send(&packet)?;
        if qos == 0 {
            return Ok(());
        }
        loop {
            let (kind, body) = self.read_packet()?;
            if kind == 0x40 && body.len() >= 2 && body[..2] == id.to_be_bytes() {
                return Ok(());
            }
        }
    }

    /// Waits for the next PUBLISH (acknowledging QoS 1); returns (topic, payload).
    pub fn next_message(&mut self) -> Result<(String, Vec<u8>), String> {
        loop {
            let (kind, body) = self.read_packet()?;
            if kind & 0xf0 != 0x30 {
                continue;
            }
            let qos = (kind >> 1) & 3;
            let tlen = u16::from_be_bytes([
                *body.first().ok_or("short PUBLISH")?,
                *body.get(1).ok_or("short PUBLISH")?,
            ]) as usize;
            let topic =
                String::from_utf8_lossy(body.get(2..2 + tlen).ok_or("short PUBLISH")?).into_owned();
            let mut rest = 2 + tlen;
            if qos > 0 {
                let id = body.get(rest..rest + 2).ok_or("short PUBLISH")?.to_vec();
                rest += 2;
                let mut ack = vec![0x40, 0x02];
                ack.extend(id);
                self.send(&ack)?;
            }
            return Ok((topic, body[rest..].to_vec()));
        }
    }

    /// Changes how long reads wait (a denied publish shows as silence).
    pub fn set_read_timeout(&mut self, d: Duration) {
        let sock = match &mut self.stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &mut s.sock,
        };
        let _ = sock.set_read_timeout(Some(d));
    }

    pub fn disconnect(mut self) {
        let _ = self.send(&crate::mqtt::DISCONNECT);
    }

    fn id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }
}
