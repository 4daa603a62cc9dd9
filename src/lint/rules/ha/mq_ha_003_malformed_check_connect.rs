//! The health check sends a malformed MQTT CONNECT, or expects a CONNACK that cannot come.
//!
//! What it does: decodes the bytes the load balancer's check sends
//! (`tcp-check send-binary`) as an MQTT CONNECT and says exactly what is
//! wrong: a remaining length that does not match the bytes that follow, a
//! protocol name other than `MQTT`, a protocol level other than 4 (3.1.1) or
//! 5, reserved flags, an empty client id without clean session (brokers
//! answer "identifier rejected"). It then compares the expectation
//! (`tcp-check expect binary|string`) with every CONNACK a broker can send
//! to that CONNECT (`20 02 00 RC`, return codes 0 to 5): one that matches no
//! CONNACK never passes; one that also matches a refusal lets a broker that
//! refuses every client stay UP; an MQTT 5 CONNECT gets a CONNACK with
//! properties, which a `20 02 ...` pattern never matches.
//!
//! Applies to audited haproxy.cfg files: mqttforge encodes the check's
//! CONNECT in code, so the rendered one is correct by construction.
//!
//! Why it matters: with a wrong remaining length the broker waits for bytes
//! that never come and HAProxy logs "Layer7 timeout" and marks every broker
//! DOWN: the whole site is unreachable although every broker is healthy.
//! An expectation that also matches "not authorized" is the opposite
//! failure: brokers that refuse every device stay in rotation.
//!
//! Example:
//!     tcp-check send-binary 100d00044d5154540402003c0000
//!     tcp-check expect binary 2002
//!
//! Use instead:
//!     tcp-check send-binary 100c00044d5154540402003c0000
//!     tcp-check expect binary 20020000
//!
//! Severity: error.

use super::place;
use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{Finding, Rule, AUDIT_ONLY};
use crate::mqtt::{self, Connect};

pub const RULE: Rule = Rule {
    id: "MQ-HA-003",
    name: "malformed_check_connect",
    severity: Severity::Error,
    scope: AUDIT_ONLY,
    source: include_str!("mq_ha_003_malformed_check_connect.rs"),
    check,
};

/// A valid MQTT 3.1.1 CONNECT: clean session, empty client id, keepalive 60.
fn valid_connect() -> String {
    mqtt::to_hex(&Connect::health_check(60).encode())
}

/// CONNACK return codes of MQTT 3.1.1.
const RETURN_CODES: &[(u8, &str)] = &[
    (0, "accepted"),
    (1, "unacceptable protocol version"),
    (2, "identifier rejected"),
    (3, "server unavailable"),
    (4, "bad user name or password"),
    (5, "not authorized"),
];

fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What is wrong with the CONNECT: message and help.
fn connect_problem(send: &[u8]) -> Result<Connect, (String, String)> {
    let fix = format!("send a valid MQTT 3.1.1 CONNECT (clean session, empty client id, keepalive 60): `tcp-check send-binary {}`", valid_connect());
    let connect = mqtt::decode_connect(send).map_err(|e| {
        let mut help = fix.clone();
        // A one-byte remaining length that is off: say which byte it must be.
        if send.first() == Some(&0x10)
            && send.len() >= 2
            && send[1] < 0x80
            && e.starts_with("remaining length")
        {
            let follow = send.len() - 2;
            if follow < 0x80 {
                help = format!(
                    "the second byte must be `{follow:02x}` ({follow} bytes follow it), or {fix}"
                );
            }
        }
        (
            format!(
                "the health check's CONNECT ({}) is malformed: {e}",
                spaced(send)
            ),
            help,
        )
    })?;
    if connect.client_id.is_empty() && !connect.clean_session {
        return Err((
            "the health check's CONNECT has an empty client id without clean session: brokers answer CONNACK 2 (identifier rejected)".into(),
            format!("set the clean session flag (connect flags `02`): {fix}"),
        ));
    }
    Ok(connect)
}

/// Every CONNACK a broker may send to this CONNECT (MQTT 3.1.1).
fn replies(connect: &Connect) -> Vec<(Vec<u8>, u8)> {
    let mut out = Vec::new();
    for (rc, _) in RETURN_CODES {
        out.push((vec![0x20, 0x02, 0x00, *rc], *rc));
        if *rc == 0 && !connect.clean_session {
            out.push((vec![0x20, 0x02, 0x01, 0x00], 0));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn expect_problem(connect: &Connect, expect: &[u8]) -> Option<(String, String)> {
    let fix = "expect CONNACK \"accepted\": `tcp-check expect binary 20020000`";
    let shown = spaced(expect);
    if connect.protocol_level == 5 {
        return expect.starts_with(&[0x20, 0x02]).then(|| {
            (
                format!("the check sends an MQTT 5 CONNECT but expects `{shown}`: an MQTT 5 CONNACK carries properties, so its length is never 02 and the check never passes"),
                format!("send an MQTT 3.1.1 CONNECT instead (`tcp-check send-binary {}`) and {fix}", valid_connect()),
            )
        });
    }
    let matched: Vec<u8> = replies(connect)
        .into_iter()
        .filter(|(r, _)| contains(r, expect))
        .map(|(_, rc)| rc)
        .collect();
    let name = |rc: u8| {
        RETURN_CODES
            .iter()
            .find(|(c, _)| *c == rc)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    };
    let refusals: Vec<String> = matched
        .iter()
        .filter(|rc| **rc != 0)
        .map(|rc| format!("{rc} ({})", name(*rc)))
        .collect();
    if matched.is_empty() {
        Some((format!("the health check expects `{shown}`, which no CONNACK contains (a broker answers `20 02 00 00` when it accepts): the check never passes"), fix.into()))
    } else if !matched.contains(&0) {
        Some((format!("the health check expects `{shown}`, a refusal ({}): brokers are UP only while they refuse clients", super::and_list(&refusals)), fix.into()))
    } else if !refusals.is_empty() {
        Some((format!("the health check expects `{shown}`, which also matches CONNACK return code {}: a broker that refuses every client stays UP", super::and_list(&refusals)), fix.into()))
    } else {
        None
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    for m in facts.health_checks.iter().filter_map(|hc| hc.mqtt.as_ref()) {
        if !seen.insert(place(&m.send_span)) {
            continue;
        }
        let connect = match connect_problem(&m.send) {
            Ok(c) => c,
            Err((message, help)) => {
                out.push(Finding::new(&m.send_span, message, help));
                continue;
            }
        };
        if m.expect.is_empty() {
            continue;
        }
        if let Some((message, help)) = expect_problem(&connect, &m.expect) {
            out.push(
                Finding::new(&m.expect_span, message, help)
                    .with_related(&m.send_span, "the CONNECT it answers"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        mqtt::from_hex(s).unwrap()
    }

    #[test]
    fn explains_the_connect() {
        let (m, h) = connect_problem(&hex("100d00044d5154540402003c0000")).unwrap_err();
        assert!(
            m.contains("remaining length says 13 bytes follow but 12 do"),
            "{m}"
        );
        assert!(
            h.starts_with("the second byte must be `0c` (12 bytes follow it)"),
            "{h}"
        );
        let (m, _) = connect_problem(&hex("100c00044d5154580402003c0000")).unwrap_err();
        assert!(m.contains("protocol name is `MQTX`"), "{m}");
        let (m, _) = connect_problem(&hex("100c00044d5154540302003c0000")).unwrap_err();
        assert!(m.contains("protocol level is 3"), "{m}");
        let (m, _) = connect_problem(&hex("100c00044d5154540400003c0000")).unwrap_err();
        assert!(m.contains("identifier rejected"), "{m}");
        assert!(connect_problem(&hex("100c00044d5154540402003c0000")).is_ok());
    }

    #[test]
    fn compares_the_expectation_with_every_connack() {
        let c = Connect::health_check(60);
        assert!(expect_problem(&c, &hex("20020000")).is_none());
        assert!(expect_problem(&c, &hex("2002")).unwrap().0.contains("also matches CONNACK return code 1 (unacceptable protocol version), 2 (identifier rejected), 3 (server unavailable), 4 (bad user name or password) and 5 (not authorized)"));
        assert!(expect_problem(&c, &hex("20020005"))
            .unwrap()
            .0
            .contains("a refusal (5 (not authorized))"));
        assert!(expect_problem(&c, &hex("20030000"))
            .unwrap()
            .0
            .contains("never passes"));
        assert!(expect_problem(&c, b"CONNACK")
            .unwrap()
            .0
            .contains("never passes"));
        let mut v5 = c.clone();
        v5.protocol_level = 5;
        assert!(expect_problem(&v5, &hex("20020000"))
            .unwrap()
            .0
            .contains("MQTT 5"));
    }
}
