//! Whether a site's configuration can meet its recovery objectives: the one
//! piece of reasoning both MQ-DR-004 (through its facts) and the runbook
//! (`RUNBOOK.md`, `mqttforge runbook`) read, so the two cannot disagree.
//!
//! The recovery point of a scenario is bounded by how the broker keeps its
//! state: an RPO of 0 needs the state replicated to another node (only an
//! EMQX cluster does), persistence off loses every retained message and
//! session on a restart, and Mosquitto loses up to its autosave interval on a
//! crash. [`rpo_gap`] says which of these, if any, breaks an objective.

use crate::spec::derive::Derived;
use crate::spec::model::{BackupSchedule, Engine, LbKind};
use crate::spec::Site;

/// The scenarios of `dr:`, in the order the spec, the lint rule and the
/// runbook list them: (key, title).
pub const SCENARIOS: &[(&str, &str)] = &[
    ("single_node_failure", "single node failure"),
    ("corruption", "data corruption"),
    ("datacenter_loss", "datacentre loss"),
    ("security_compromise", "security compromise"),
];

/// How the site keeps broker state: what a recovery point depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateKeeping {
    pub engine: Option<Engine>,
    pub nodes: usize,
    /// `None` where nothing is known about persistence (hand-written files).
    pub persistence_enabled: Option<bool>,
    /// Mosquitto's autosave interval in seconds, when it saves on one.
    pub autosave_s: Option<u64>,
    /// How often a backup runs, in seconds; `None` without a backup (MQ-DR-001
    /// reports that) or where the schedule is not known.
    pub backup_every_s: Option<u64>,
}

/// Mosquitto's autosave interval when the site persists: the only engine
/// that saves its in-memory state on an interval.
pub fn autosave_s(site: &Site, derived: &Derived) -> Option<u64> {
    (site.spec.engine == Engine::Mosquitto && site.spec.persistence.enabled)
        .then_some(derived.persistence.autosave_s)
}

/// Seconds between two backups of a schedule.
pub fn backup_every_s(schedule: BackupSchedule) -> u64 {
    match schedule {
        BackupSchedule::Hourly => 3_600,
        BackupSchedule::Daily => 86_400,
        BackupSchedule::Weekly => 604_800,
    }
}

/// Scenarios recovered by restoring the newest backup (DOMAIN.md section 7):
/// their recovery point is at best the age of that backup.
pub fn restored_from_backup(scenario: &str) -> bool {
    matches!(scenario, "corruption" | "datacenter_loss")
}

impl StateKeeping {
    pub fn of_site(site: &Site, derived: &Derived) -> StateKeeping {
        StateKeeping {
            engine: Some(site.spec.engine),
            nodes: site.spec.nodes.len(),
            persistence_enabled: Some(site.spec.persistence.enabled),
            autosave_s: autosave_s(site, derived),
            backup_every_s: site
                .spec
                .backup
                .as_ref()
                .map(|b| backup_every_s(b.schedule)),
        }
    }

    /// EMQX replicates sessions and retained messages across its nodes.
    pub fn replicated(&self) -> bool {
        self.engine == Some(Engine::Emqx) && self.nodes > 1
    }

    fn engine_name(&self) -> &'static str {
        match self.engine {
            Some(Engine::Mosquitto) => "Mosquitto",
            Some(Engine::Rumqttd) => "rumqttd",
            Some(Engine::Emqx) => "EMQX",
            None => "these",
        }
    }
}

/// Why a recovery point objective cannot be met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpoGap {
    /// RPO 0 on one node, or on nodes that do not replicate state.
    NotReplicated,
    /// Persistence off: a restart loses everything.
    PersistenceOff,
    /// Mosquitto saves less often than the RPO allows.
    Autosave { autosave_s: u64 },
    /// The scenario is recovered from a backup, and backups run less often
    /// than the RPO allows.
    BackupInterval { every_s: u64 },
}

/// The reason an RPO of `rpo_s` seconds for `scenario` cannot be met, or
/// `None`.
pub fn rpo_gap(state: &StateKeeping, scenario: &str, rpo_s: u64) -> Option<RpoGap> {
    if rpo_s == 0 && !state.replicated() {
        return Some(RpoGap::NotReplicated);
    }
    if state.persistence_enabled == Some(false) {
        return Some(RpoGap::PersistenceOff);
    }
    if let Some(autosave_s) = state.autosave_s.filter(|a| *a > rpo_s && rpo_s > 0) {
        return Some(RpoGap::Autosave { autosave_s });
    }
    state
        .backup_every_s
        .filter(|every| restored_from_backup(scenario) && *every > rpo_s)
        .map(|every_s| RpoGap::BackupInterval { every_s })
}

impl RpoGap {
    /// What is wrong, for the objective of `scenario`.
    pub fn message(&self, state: &StateKeeping, scenario: &str, rpo_s: u64) -> String {
        match self {
            RpoGap::NotReplicated => {
                let why = if state.nodes <= 1 {
                    "a single node loses whatever it has not yet written when it fails".to_string()
                } else {
                    format!(
                        "{} nodes do not replicate state: a standby starts from what was last saved",
                        state.engine_name()
                    )
                };
                format!("RPO 0 for `{scenario}` cannot be met: {why}")
            }
            RpoGap::PersistenceOff => format!(
                "RPO {} for `{scenario}` cannot be met with persistence off: a broker restart loses every retained message and session",
                human(rpo_s)
            ),
            RpoGap::Autosave { autosave_s } => format!(
                "RPO {} for `{scenario}` cannot be met: Mosquitto saves its state every {}, so a crash loses up to {} of it",
                human(rpo_s),
                human(*autosave_s),
                human(*autosave_s)
            ),
            RpoGap::BackupInterval { every_s } => format!(
                "RPO {} for `{scenario}` cannot be met: it is recovered from the newest backup, and backups run every {}, so a restore returns state up to {} old",
                human(rpo_s),
                human(*every_s),
                human(*every_s)
            ),
        }
    }

    /// What to change in the spec.
    pub fn help(&self, state: &StateKeeping, rpo_s: u64) -> String {
        match self {
            RpoGap::NotReplicated => "declare the RPO the site can meet (at least the autosave interval), or run a cluster that replicates state (EMQX, 3 nodes)".to_string(),
            RpoGap::PersistenceOff if state.engine == Some(Engine::Mosquitto) => format!(
                "enable it: `persistence: {{ enabled: true, autosave: {} }}` (at most the RPO)",
                human(rpo_s.max(1))
            ),
            RpoGap::PersistenceOff => "enable it: `persistence: { enabled: true }`".to_string(),
            RpoGap::Autosave { autosave_s } => format!(
                "set `persistence.autosave` to at most {}, or declare an RPO of at least {}",
                human(rpo_s),
                human(*autosave_s)
            ),
            RpoGap::BackupInterval { every_s } => format!(
                "back up at least as often as the RPO (`backup.schedule: hourly` runs every 1h), or declare an RPO of at least {}",
                human(*every_s)
            ),
        }
    }

    /// Why the objective holds when there is no gap (for the runbook).
    pub fn why_met(state: &StateKeeping, rpo_s: u64) -> String {
        if state.replicated() {
            format!(
                "{} nodes replicate sessions and retained messages: a surviving node holds them",
                state.nodes
            )
        } else if let Some(a) = state.autosave_s {
            format!(
                "Mosquitto saves its state every {}, within the RPO of {}",
                human(a),
                human(rpo_s)
            )
        } else {
            format!(
                "persistence is on: state written to disk survives a restart (RPO {})",
                human(rpo_s)
            )
        }
    }
}

/// How far a recovery time objective can be trusted from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RtoStatus {
    /// Automatic: the configuration recovers within the RTO by itself.
    Met,
    /// A person carries out the runbook's procedure; met only if that takes
    /// less than the RTO (the drill measures it).
    Manual,
    /// The configuration cannot recover within the RTO.
    NotMet,
}

/// The verdict on one recovery time objective.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtoVerdict {
    pub status: RtoStatus,
    pub why: String,
    /// What to change in the spec, where the site falls short.
    pub fix: Option<String>,
    /// The lint rule that reports the shortfall, if one does.
    pub rule: Option<&'static str>,
}

fn verdict(
    status: RtoStatus,
    why: String,
    fix: Option<String>,
    rule: Option<&'static str>,
) -> RtoVerdict {
    RtoVerdict {
        status,
        why,
        fix,
        rule,
    }
}

/// Whether the site can recover from `scenario` within `rto_s` seconds.
pub fn rto_verdict(site: &Site, derived: &Derived, scenario: &str, rto_s: u64) -> RtoVerdict {
    let s = &site.spec;
    let rto = human(rto_s);
    let backup = s.backup.as_ref();
    let no_backup = || {
        verdict(
            RtoStatus::NotMet,
            "there is no backup to recover from".into(),
            Some("add `backup: { schedule: daily, retention: 30d, target: ..., encrypt: { age_recipient: { env: BACKUP_AGE_RECIPIENT } } }`".into()),
            Some("MQ-DR-001"),
        )
    };
    match scenario {
        "single_node_failure" => single_node_rto(site, derived, rto_s),
        "corruption" => match backup {
            None => no_backup(),
            Some(_) => verdict(
                RtoStatus::Manual,
                format!("restoring the newest backup (fetch, verify, decrypt, stop, extract, start) must take less than {rto}"),
                None,
                None,
            ),
        },
        "datacenter_loss" => match backup {
            None => no_backup(),
            Some(b) => verdict(
                RtoStatus::Manual,
                format!("the spec declares no second site: the site is rebuilt in another datacentre (apply, then restore from {}) within {rto}, or not at all", b.target),
                Some("keep a second site's hosts ready (a second spec applied there) so a rebuild is a restore, not an installation".into()),
                None,
            ),
        },
        "security_compromise" => match &s.pki {
            None => verdict(
                RtoStatus::Manual,
                "the site has no PKI of its own: certificates are revoked and reissued outside mqttforge".into(),
                Some("declare `pki:` so `mqttforge pki` can revoke, reissue and re-sign the CRL".into()),
                None,
            ),
            Some(_) => verdict(
                RtoStatus::Manual,
                format!("revoking, rotating the CA and every secret, and rebuilding must take less than {rto}; devices come back as they receive new certificates"),
                None,
                None,
            ),
        },
        _ => verdict(RtoStatus::Manual, String::new(), None, None),
    }
}

fn single_node_rto(site: &Site, derived: &Derived, rto_s: u64) -> RtoVerdict {
    let s = &site.spec;
    let rto = human(rto_s);
    let nodes = s.nodes.len();
    if nodes <= 1 {
        return verdict(
            RtoStatus::Manual,
            format!("a single node has no failover: clients wait until it is restarted or rebuilt by hand, which must take less than {rto}"),
            Some("add a second node (for Mosquitto: `cluster: { mode: active-standby, vip: ... }`) and a `load_balancer:`".into()),
            Some("MQ-HA-001"),
        );
    }
    let redundant =
        s.engine == Engine::Emqx || s.cluster.as_ref().is_some_and(|c| c.mode.is_some());
    if !redundant {
        return verdict(
            RtoStatus::NotMet,
            format!("{nodes} nodes that neither cluster nor stand by for each other: clients of a failed node have nowhere to go"),
            Some("declare `cluster: { mode: active-standby, vip: ... }`".into()),
            Some("MQ-HA-007"),
        );
    }
    let Some(lb) = &derived.lb else {
        return verdict(
            RtoStatus::Manual,
            format!("no load balancer: clients must be pointed at another node (DNS or their own list of brokers) within {rto}"),
            Some("add `load_balancer: { kind: haproxy, tls: passthrough, health_check: { interval: 5s, fall: 3, rise: 2 } }`".into()),
            None,
        );
    };
    let down = lb.failover_s();
    let to = if s.engine == Engine::Emqx {
        "the other nodes"
    } else {
        "the standby"
    };
    let passive = lb.kind == LbKind::Nginx;
    if down > rto_s {
        let why = if passive {
            format!("NGINX waits up to {} (proxy_connect_timeout) on every connection attempt to a failed node before trying {to}, longer than {rto}", human(down))
        } else {
            format!("the load balancer marks a failed node DOWN only after {} (fall {} x (interval {} + check timeout {})), longer than {rto}", human(down), lb.health_check.fall, human(lb.health_check.inter_ms.div_ceil(1000)), human(lb.health_check.timeout_s))
        };
        return verdict(
            RtoStatus::NotMet,
            why,
            Some(if passive {
                "use `load_balancer.kind: haproxy`, whose active MQTT check takes a failed node out of rotation for every device at once".into()
            } else {
                "shorten `load_balancer.health_check.interval` or `fall`".into()
            }),
            None,
        );
    }
    let how = if passive {
        format!("NGINX checks passively: each connection attempt to a failed node fails within {} and goes to {to}, and after {} failures within {} NGINX skips the node for {}; clients reconnect with their backoff", human(down), lb.health_check.fall, human(lb.health_check.interval_s()), human(lb.health_check.interval_s()))
    } else {
        format!("the load balancer marks a failed node DOWN within {} and sends clients to {to}; they reconnect with their backoff", human(down))
    };
    verdict(RtoStatus::Met, how, None, None)
}

/// `90` -> `90s`, `300` -> `5m`, `3600` -> `1h`.
pub fn human(s: u64) -> String {
    match s {
        0 => "0".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(engine: Engine, nodes: usize, enabled: bool, autosave: Option<u64>) -> StateKeeping {
        StateKeeping {
            engine: Some(engine),
            nodes,
            persistence_enabled: Some(enabled),
            autosave_s: autosave,
            backup_every_s: None,
        }
    }

    #[test]
    fn each_gap_and_its_near_misses() {
        let m = state(Engine::Mosquitto, 1, true, Some(60));
        assert_eq!(rpo_gap(&m, "corruption", 0), Some(RpoGap::NotReplicated));
        assert_eq!(rpo_gap(&m, "corruption", 60), None);
        assert_eq!(
            rpo_gap(&m, "corruption", 30),
            Some(RpoGap::Autosave { autosave_s: 60 })
        );
        assert_eq!(
            rpo_gap(
                &state(Engine::Emqx, 3, true, None),
                "single_node_failure",
                0
            ),
            None
        );
        assert_eq!(
            rpo_gap(&state(Engine::Emqx, 3, false, None), "corruption", 3600),
            Some(RpoGap::PersistenceOff)
        );
    }

    #[test]
    fn a_scenario_restored_from_backup_is_bounded_by_the_backup_interval() {
        let daily = StateKeeping {
            backup_every_s: Some(backup_every_s(BackupSchedule::Daily)),
            ..state(Engine::Emqx, 3, true, None)
        };
        let interval = RpoGap::BackupInterval { every_s: 86_400 };
        let gap = Some(interval);
        assert_eq!(rpo_gap(&daily, "corruption", 3_600), gap);
        assert_eq!(rpo_gap(&daily, "datacenter_loss", 300), gap);
        assert_eq!(rpo_gap(&daily, "corruption", 86_400), None);
        // Not recovered from a backup: the interval does not bound it.
        assert_eq!(rpo_gap(&daily, "single_node_failure", 0), None);
        assert_eq!(rpo_gap(&daily, "security_compromise", 3_600), None);
        let hourly = StateKeeping {
            backup_every_s: Some(backup_every_s(BackupSchedule::Hourly)),
            ..daily
        };
        assert_eq!(rpo_gap(&hourly, "corruption", 3_600), None);
        let message = interval.message(&daily, "corruption", 3_600);
        assert!(message.contains("backups run every 1d"), "{message}");
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(human(30), "30s");
        assert_eq!(human(90), "90s");
        assert_eq!(human(300), "5m");
        assert_eq!(human(7200), "2h");
        assert_eq!(human(86_400), "1d");
    }
}
