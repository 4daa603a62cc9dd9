//! The lint rule ID table (../shared/RULES.md). IDs are stable: never
//! renumbered, never reused. Specs name them in `lint.ignore`, so unknown IDs
//! are reported where they are written.

pub struct RuleId {
    pub id: &'static str,
    pub title: &'static str,
}

pub const RULES: &[RuleId] = &[
    RuleId {
        id: "MQ-TLS-001",
        title: "plaintext MQTT listener reachable beyond loopback in production",
    },
    RuleId {
        id: "MQ-TLS-002",
        title: "TLS minimum version below 1.2, or below 1.3 in production",
    },
    RuleId {
        id: "MQ-TLS-003",
        title: "TLS 1.3 suite names in a TLS <= 1.2 cipher list, or no usable suite",
    },
    RuleId {
        id: "MQ-TLS-004",
        title: "a suite without forward secrecy or AEAD is allowed",
    },
    RuleId {
        id: "MQ-TLS-005",
        title: "client certificates not required on a device-facing listener in production",
    },
    RuleId {
        id: "MQ-TLS-006",
        title: "certificate identity used as username without client certificates required",
    },
    RuleId {
        id: "MQ-PKI-001",
        title: "certificate validity over 365 days",
    },
    RuleId {
        id: "MQ-PKI-002",
        title: "certificate expires within 30 days or has expired",
    },
    RuleId {
        id: "MQ-PKI-003",
        title: "certificate lacks what its role needs",
    },
    RuleId {
        id: "MQ-PKI-004",
        title: "weak key or signature",
    },
    RuleId {
        id: "MQ-PKI-005",
        title: "private key file readable by others, or unreadable by the broker",
    },
    RuleId {
        id: "MQ-AUTH-001",
        title: "placeholder secret",
    },
    RuleId {
        id: "MQ-AUTH-002",
        title: "secret written inline in a committed spec or config",
    },
    RuleId {
        id: "MQ-AUTH-003",
        title: "anonymous access on a non-loopback listener",
    },
    RuleId {
        id: "MQ-AUTH-004",
        title: "deprecated or unloadable auth plugin directive",
    },
    RuleId {
        id: "MQ-AUTH-005",
        title: "admin or stats interface with default, weak or inline credentials",
    },
    RuleId {
        id: "MQ-AUTH-006",
        title: "no rate limiting in production",
    },
    RuleId {
        id: "MQ-AUTH-007",
        title: "audit logging off",
    },
    RuleId {
        id: "MQ-ACL-001",
        title: "a non-admin principal may write `#` or span other devices",
    },
    RuleId {
        id: "MQ-ACL-002",
        title: "a device rule without identity isolation",
    },
    RuleId {
        id: "MQ-ACL-003",
        title: "a firmware topic denied by the device's ACL",
    },
    RuleId {
        id: "MQ-ACL-004",
        title: "an ACL rule that never matches, is duplicated or shadowed",
    },
    RuleId {
        id: "MQ-ACL-005",
        title: "an identifier unsafe in a line-based config",
    },
    RuleId {
        id: "MQ-HA-001",
        title: "a single broker node in production",
    },
    RuleId {
        id: "MQ-HA-002",
        title: "the load balancer's health check does not speak MQTT",
    },
    RuleId {
        id: "MQ-HA-003",
        title: "malformed MQTT CONNECT in a health check",
    },
    RuleId {
        id: "MQ-HA-004",
        title: "a health check that cannot pass",
    },
    RuleId {
        id: "MQ-HA-005",
        title: "TLS termination loses the certificate identity",
    },
    RuleId {
        id: "MQ-HA-006",
        title: "load-balancer timeouts shorter than 1.5 x the largest keepalive",
    },
    RuleId {
        id: "MQ-HA-007",
        title: "several Mosquitto nodes without bridge or standby",
    },
    RuleId {
        id: "MQ-HA-008",
        title: "sessions do not survive a reconnect",
    },
    RuleId {
        id: "MQ-OBS-001",
        title: "a scrape path or metric name the engine does not export",
    },
    RuleId {
        id: "MQ-OBS-002",
        title: "an alert whose unit contradicts its threshold",
    },
    RuleId {
        id: "MQ-OBS-003",
        title: "a checklist alert missing",
    },
    RuleId {
        id: "MQ-OBS-004",
        title: "a capacity threshold inconsistent with the declared capacity",
    },
    RuleId {
        id: "MQ-OBS-005",
        title: "a rules file promtool rejects, or scrape config and rules mixed",
    },
    RuleId {
        id: "MQ-OBS-006",
        title: "no dashboards, tracing or central logs in production",
    },
    RuleId {
        id: "MQ-PERF-001",
        title: "LimitNOFILE below the connection limit plus margin",
    },
    RuleId {
        id: "MQ-PERF-002",
        title: "listen backlog too small for the connect rate",
    },
    RuleId {
        id: "MQ-PERF-003",
        title: "bbr without the tcp_bbr module",
    },
    RuleId {
        id: "MQ-PERF-004",
        title: "no connection limit on a listener",
    },
    RuleId {
        id: "MQ-PERF-005",
        title: "device MQTT buffer smaller than the max payload",
    },
    RuleId {
        id: "MQ-PERF-006",
        title: "capacity declared but no load test profile",
    },
    RuleId {
        id: "MQ-DR-001",
        title: "no backup schedule in production",
    },
    RuleId {
        id: "MQ-DR-002",
        title: "backups not encrypted",
    },
    RuleId {
        id: "MQ-DR-003",
        title: "the backup stops the only running broker",
    },
    RuleId {
        id: "MQ-DR-004",
        title: "a declared RPO the configuration cannot meet",
    },
    RuleId {
        id: "MQ-DR-005",
        title: "a backup or restore script without strict mode or with shellcheck errors",
    },
    RuleId {
        id: "MQ-DR-006",
        title: "no restore procedure, or one never exercised",
    },
    RuleId {
        id: "MQ-DR-007",
        title: "no retention policy",
    },
    RuleId {
        id: "MQ-CFG-001",
        title: "EMQX 4.x or unknown keys in an EMQX 5 config",
    },
    RuleId {
        id: "MQ-CFG-002",
        title: "Mosquitto listener option misplaced, or persistence_location without a slash",
    },
    RuleId {
        id: "MQ-CFG-003",
        title: "an unknown or misspelled directive",
    },
    RuleId {
        id: "MQ-CFG-004",
        title: "rumqttd values it ignores or cannot hold",
    },
];

pub fn find(id: &str) -> Option<&'static RuleId> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::RULES;

    #[test]
    fn ids_are_unique_and_well_formed() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(
                RULES[i + 1..].iter().all(|o| o.id != r.id),
                "duplicate {}",
                r.id
            );
            let parts: Vec<&str> = r.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", r.id);
            assert_eq!(parts[0], "MQ");
            assert!(parts[2].len() == 3 && parts[2].bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
