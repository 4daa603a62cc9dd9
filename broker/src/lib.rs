//! The bundled broker: rumqttd, configured from the `rumqttd.toml` mqttforge
//! renders for a site.
//!
//! rumqttd ignores unknown configuration keys silently; [`parse_config`]
//! reads the file with rumqttd's own `Config` type and reports every key
//! rumqttd would have ignored, so a typo cannot pass unnoticed.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub use rumqttd::Config;

/// A broker started in this process, and the addresses it listens on.
pub struct Running {
    /// (listener name, address) of every server in the config.
    pub listeners: Vec<(String, SocketAddr)>,
}

/// Starts rumqttd on its own thread (its `start()` blocks for ever) and waits
/// until every listener accepts TCP connections. rumqttd has no stop: the
/// broker lives as long as the process.
pub fn start(config: Config, ready_within: Duration) -> Result<Running, String> {
    let mut listeners: Vec<(String, SocketAddr)> = Vec::new();
    for servers in [&config.v4, &config.v5, &config.ws].into_iter().flatten() {
        let mut named: Vec<_> = servers.iter().map(|(k, s)| (k.clone(), s.listen)).collect();
        named.sort();
        listeners.extend(named);
    }
    if listeners.is_empty() {
        return Err("the configuration has no listener".into());
    }
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                eprintln!("rumqttd stopped: {e}");
            }
        })
        .map_err(|e| format!("cannot start the broker thread: {e}"))?;
    let deadline = Instant::now() + ready_within;
    for (name, addr) in &listeners {
        loop {
            if TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "listener `{name}` ({addr}) did not accept connections within {ready_within:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(Running { listeners })
}

/// Blocks until SIGINT or SIGTERM (Ctrl-C), for `mqttforge broker`.
#[allow(unsafe_code)] // libc::signal: std has no signal handler.
pub fn wait_for_interrupt() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOP: AtomicBool = AtomicBool::new(false);
    extern "C" fn on_signal(_: libc::c_int) {
        STOP.store(true, Ordering::SeqCst);
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A parsed configuration and the keys rumqttd does not know.
pub struct Parsed {
    pub config: Config,
    /// Dotted paths of keys rumqttd would silently ignore.
    pub unknown_keys: Vec<String>,
}

/// Parses a rumqttd.toml with rumqttd's own types.
pub fn parse_config(text: &str) -> Result<Parsed, String> {
    let mut unknown_keys = Vec::new();
    let de = toml::Deserializer::new(text);
    let config: Config = serde_ignored::deserialize(de, |path| unknown_keys.push(dotted(&path)))
        .map_err(|e| e.to_string())?;
    Ok(Parsed {
        config,
        unknown_keys,
    })
}

/// `v4.devices.connections.key`: map keys and field names, without the
/// markers serde_ignored adds for `Option` and newtypes.
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    let join = |parent: String, segment: &str| {
        if parent.is_empty() {
            segment.to_string()
        } else {
            format!("{parent}.{segment}")
        }
    };
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => join(dotted(parent), &index.to_string()),
        Path::Map { parent, key } => join(dotted(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = 0
[router]
max_connections = 10
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v4.devices]
name = "devices"
listen = "127.0.0.1:1883"
next_connection_delay_ms = 1
[v4.devices.connections]
connection_timeout_ms = 10000
max_payload_size = 20480
max_inflight_count = 100
"#;

    #[test]
    fn parses_a_minimal_config() {
        let p = parse_config(MINIMAL).unwrap();
        assert!(p.unknown_keys.is_empty(), "{:?}", p.unknown_keys);
        assert_eq!(p.config.router.max_connections, 10);
    }

    #[test]
    fn reports_keys_rumqttd_would_ignore() {
        let text = MINIMAL.replace(
            "max_inflight_count = 100",
            "max_inflight_count = 100\nthrottle_delay_ms = 0",
        );
        let p = parse_config(&text).unwrap();
        assert_eq!(
            p.unknown_keys,
            vec!["v4.devices.connections.throttle_delay_ms".to_string()]
        );
    }

    #[test]
    fn rejects_values_out_of_type() {
        let text = MINIMAL.replace(
            "connection_timeout_ms = 10000",
            "connection_timeout_ms = 70000",
        );
        assert!(parse_config(&text).is_err());
    }
}
