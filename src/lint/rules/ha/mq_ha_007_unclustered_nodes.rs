//! Several Mosquitto brokers serve one site with neither a bridge nor a standby.
//!
//! What it does: flags a site with more than one Mosquitto node and no
//! redundancy mode: in a spec, several `nodes` with `engine: mosquitto` and
//! no `cluster.mode`, or `cluster.mode: bridge` when no rendered
//! mosquitto.conf sets a bridge up; in audited files, several mosquitto.conf files, none
//! with a bridge (`connection`), and no standby server (`backup`) in the
//! load balancer's configuration. A file read through another's
//! `include_dir` (matched by the included directory's name) belongs to
//! that broker and is not a broker of its own.
//!
//! Why it matters: Mosquitto has no clustering. Two brokers side by side
//! are two separate worlds: each holds its own sessions, subscriptions and
//! retained messages, so a device balanced to one broker never receives
//! what a device on the other publishes, and a reconnect to the other
//! broker finds no session. High availability with Mosquitto means an
//! active/standby pair (one broker serving, the other taking over) or a
//! bridge that forwards topics between them.
//!
//! Example:
//!     engine: mosquitto
//!     nodes: [ { name: mqtt-a, address: 10.20.0.11 }, { name: mqtt-b, address: 10.20.0.12 } ]
//!
//! Use instead:
//!     cluster: { mode: active-standby, vip: 10.20.0.10 }
//!
//! Severity: error in production; warning elsewhere.

use super::{and_list, mosquitto_files};
use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{relaxed, Finding, Rule, BOTH};
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-HA-007",
    name: "unclustered_nodes",
    severity: Severity::Error,
    scope: BOTH,
    source: include_str!("mq_ha_007_unclustered_nodes.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    if facts.cluster.standby_or_bridge {
        return;
    }
    let finding = match facts.origin {
        Origin::Spec => {
            if facts.engine != Some(Engine::Mosquitto) || facts.nodes.len() < 2 {
                return;
            }
            let names: Vec<String> = facts
                .nodes
                .iter()
                .map(|n| format!("`{}`", n.name))
                .collect();
            if let Some(mode) = &facts.ha.unrendered_bridge {
                let mut f = Finding::new(
                    mode,
                    format!("`cluster.mode: bridge` is declared for {}, but no rendered mosquitto.conf sets up a bridge (`connection`): the brokers stay separate, each with its own sessions, subscriptions and retained messages", and_list(&names)),
                    "use `cluster: { mode: active-standby, vip: <address> }`, which mqttforge renders (HAProxy sends clients to the standby only when the active broker is down)",
                );
                if let Some(s) = relaxed(facts, Severity::Warning) {
                    f = f.with_severity(s);
                }
                out.push(f);
                return;
            }
            Finding::new(
                &facts.nodes[1].span,
                format!("{} Mosquitto nodes ({}) and no `cluster.mode`: Mosquitto has no clustering, so each node keeps its own sessions, subscriptions and retained messages", facts.nodes.len(), and_list(&names)),
                "declare how they back each other up: `cluster: { mode: active-standby, vip: <address> }` (two nodes) or `cluster: { mode: bridge }`",
            )
            .with_related(&facts.nodes[0].span, "first node")
        }
        Origin::File => {
            let files = mosquitto_files(facts);
            if files.len() < 2
                || files
                    .iter()
                    .any(|(_, ds)| ds.iter().any(|d| d.name == "connection"))
            {
                return;
            }
            let names: Vec<String> = files.iter().map(|(f, _)| format!("`{f}`")).collect();
            let why = "Mosquitto has no clustering, so each keeps its own sessions, subscriptions and retained messages";
            let help = "make one the standby (`backup` on its `server` line, behind a virtual IP), or bridge them (`connection` with `address` and the `topic` patterns to share)";
            // Where the load balancer spreads clients over them, point at the server to make the standby.
            match facts.ha.backends.iter().find(|b| b.servers.len() >= 2) {
                Some(b) => {
                    let servers: Vec<String> = b.servers.iter().map(|s| format!("`{}`", s.name)).collect();
                    Finding::new(
                        &b.servers[1].span,
                        format!("backend `{}` spreads clients over {} while the {} Mosquitto brokers ({}) have no bridge (`connection`): {why}", b.name, and_list(&servers), files.len(), and_list(&names)),
                        help,
                    )
                    .with_related(&files[1].1[0].span, "a second broker, not bridged")
                }
                None => Finding::new(
                    &files[1].1[0].span,
                    format!("{} Mosquitto brokers ({}) with no bridge (`connection`) and no standby: {why}", files.len(), and_list(&names)),
                    help,
                )
                .with_related(&files[0].1[0].span, "first broker"),
            }
        }
    };
    let mut f = finding;
    if let Some(s) = relaxed(facts, Severity::Warning) {
        f = f.with_severity(s);
    }
    out.push(f);
}
