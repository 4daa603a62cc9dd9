//! Just enough MQTT 3.1.1 packet encoding and decoding for health checks:
//! the CONNECT a load balancer sends (remaining length correct by
//! construction), the CONNACK it expects, and a decoder that explains what is
//! wrong with a hand-written one.

/// A CONNECT packet's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub protocol_name: String,
    pub protocol_level: u8,
    pub clean_session: bool,
    pub keepalive: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
}

impl Connect {
    /// The health check's CONNECT: MQTT 3.1.1, clean session, empty client id.
    pub fn health_check(keepalive: u16) -> Connect {
        Connect {
            protocol_name: "MQTT".into(),
            protocol_level: 4,
            clean_session: true,
            keepalive,
            client_id: String::new(),
            username: None,
            password: None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_str(&mut body, self.protocol_name.as_bytes());
        body.push(self.protocol_level);
        let mut flags = 0u8;
        if self.clean_session {
            flags |= 0x02;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        body.push(flags);
        body.extend_from_slice(&self.keepalive.to_be_bytes());
        put_str(&mut body, self.client_id.as_bytes());
        if let Some(u) = &self.username {
            put_str(&mut body, u.as_bytes());
        }
        if let Some(p) = &self.password {
            put_str(&mut body, p);
        }
        let mut packet = vec![0x10];
        packet.extend(remaining_length(body.len()));
        packet.extend(body);
        packet
    }
}

/// CONNACK with session present 0 and return code 0 (accepted).
pub const CONNACK_ACCEPTED: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
/// DISCONNECT, sent after the CONNACK so the broker logs a clean close.
pub const DISCONNECT: [u8; 2] = [0xe0, 0x00];

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// MQTT's variable-length "remaining length" encoding.
pub fn remaining_length(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            return out;
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if !hex.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", hex.len()));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| format!("`{}` is not a hex byte", &hex[i..i + 2]))
        })
        .collect()
}

/// Decodes a CONNECT packet, explaining the first thing that is wrong.
pub fn decode_connect(bytes: &[u8]) -> Result<Connect, String> {
    let (&first, rest) = bytes.split_first().ok_or("empty packet")?;
    if first != 0x10 {
        return Err(format!("first byte is 0x{first:02x}, not 0x10 (CONNECT)"));
    }
    let mut len = 0usize;
    let mut mult = 1usize;
    let mut used = 0;
    loop {
        let b = *rest
            .get(used)
            .ok_or("packet ends inside the remaining length")?;
        used += 1;
        len += (b & 0x7f) as usize * mult;
        if b & 0x80 == 0 {
            break;
        }
        mult *= 128;
        if used == 4 {
            return Err("remaining length longer than 4 bytes".into());
        }
    }
    let body = &rest[used..];
    if body.len() != len {
        return Err(format!(
            "remaining length says {len} bytes follow but {} do",
            body.len()
        ));
    }
    let mut r = Reader { buf: body, pos: 0 };
    let name = r.string("protocol name")?;
    if name != "MQTT" {
        return Err(format!("protocol name is `{name}`, not `MQTT`"));
    }
    let level = r.byte("protocol level")?;
    if level != 4 && level != 5 {
        return Err(format!(
            "protocol level is {level}, not 4 (MQTT 3.1.1) or 5"
        ));
    }
    let flags = r.byte("connect flags")?;
    if flags & 0x01 != 0 {
        return Err("reserved connect flag bit 0 is set".into());
    }
    let keepalive = u16::from_be_bytes([r.byte("keepalive")?, r.byte("keepalive")?]);
    if level == 5 {
        let props = r.byte("properties length")? as usize;
        r.take(props, "properties")?;
    }
    let client_id = r.string("client id")?;
    if flags & 0x04 != 0 {
        return Err("the health check sets a will; it should not".into());
    }
    let username = if flags & 0x80 != 0 {
        Some(r.string("username")?)
    } else {
        None
    };
    let password = if flags & 0x40 != 0 {
        let n = u16::from_be_bytes([r.byte("password")?, r.byte("password")?]) as usize;
        Some(r.take(n, "password")?.to_vec())
    } else {
        None
    };
    if r.pos != body.len() {
        return Err(format!(
            "{} unexpected bytes after the payload",
            body.len() - r.pos
        ));
    }
    Ok(Connect {
        protocol_name: name,
        protocol_level: level,
        clean_session: flags & 0x02 != 0,
        keepalive,
        client_id,
        username,
        password,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self, what: &str) -> Result<u8, String> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| format!("packet ends before the {what}"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], String> {
        let end = self.pos + n;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| format!("packet ends inside the {what}"))?;
        self.pos = end;
        Ok(s)
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = u16::from_be_bytes([self.byte(what)?, self.byte(what)?]) as usize;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| format!("the {what} is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_health_check_connect_is_the_canonical_one() {
        // DOMAIN.md: a valid MQTT 3.1.1 CONNECT (clean session, empty client id, keepalive 60).
        let bytes = Connect::health_check(60).encode();
        assert_eq!(to_hex(&bytes), "100c00044d5154540402003c0000");
    }

    #[test]
    fn decoding_the_health_check_connect_checks_every_field() {
        let bytes = Connect::health_check(30).encode();
        assert_eq!(bytes[0], 0x10, "packet type CONNECT");
        assert_eq!(bytes[1] as usize, bytes.len() - 2, "remaining length");
        let c = decode_connect(&bytes).unwrap();
        assert_eq!(c.protocol_name, "MQTT");
        assert_eq!(c.protocol_level, 4);
        assert!(c.clean_session);
        assert_eq!(c.keepalive, 30);
        assert_eq!(c.client_id, "");
        assert_eq!(c.username, None);
        assert_eq!(c.password, None);
    }

    #[test]
    fn credentials_round_trip() {
        let c = Connect {
            username: Some("hc".into()),
            password: Some(b"pw".to_vec()),
            ..Connect::health_check(60)
        };
        assert_eq!(decode_connect(&c.encode()).unwrap(), c);
    }

    #[test]
    fn long_packets_use_multi_byte_lengths() {
        assert_eq!(remaining_length(127), vec![0x7f]);
        assert_eq!(remaining_length(128), vec![0x80, 0x01]);
        assert_eq!(remaining_length(16_383), vec![0xff, 0x7f]);
        let c = Connect {
            client_id: "x".repeat(200),
            ..Connect::health_check(60)
        };
        assert_eq!(decode_connect(&c.encode()).unwrap(), c);
    }

    #[test]
    fn wrong_lengths_and_names_are_explained() {
        let mut bytes = from_hex("100d00044d5154540402003c0000").unwrap();
        assert!(decode_connect(&bytes)
            .unwrap_err()
            .contains("remaining length says 13"));
        bytes = from_hex("100c00044d5154580402003c0000").unwrap();
        assert!(decode_connect(&bytes)
            .unwrap_err()
            .contains("protocol name"));
        bytes = from_hex("100c00044d5154540302003c0000").unwrap();
        assert!(decode_connect(&bytes)
            .unwrap_err()
            .contains("protocol level is 3"));
        assert!(from_hex("10c").is_err());
    }
}
