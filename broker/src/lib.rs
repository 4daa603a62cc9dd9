//! The bundled broker: rumqttd, configured from the `rumqttd.toml` mqttforge
//! renders for a site.
//!
//! rumqttd ignores unknown configuration keys silently; [`parse_config`]
//! reads the file with rumqttd's own `Config` type and reports every key
//! rumqttd would have ignored, so a typo cannot pass unnoticed.

pub use rumqttd::Config;

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
