//! A production site runs on a single broker node.
//!
//! What it does: flags a production site with one broker: in a spec, a
//! single entry under `nodes`; in audited files, a load-balancer backend
//! that routes MQTT to a single server (no second node, no standby), or an
//! EMQX node configured with `cluster.discovery_strategy = singleton`.
//!
//! Why it matters: every device disconnects whenever that broker restarts,
//! is upgraded or fails, and nothing takes over: the recovery objective of
//! a single node failure is the time it takes someone to rebuild it. The
//! production checklist asks for a multi-node cluster (EMQX) or an
//! active/standby pair (Mosquitto, which has no clustering).
//!
//! Example:
//!     nodes:
//!       - { name: mqtt1, address: 10.0.1.10 }
//!
//! Use instead:
//!     nodes:
//!       - { name: mqtt1, address: 10.0.1.10 }
//!       - { name: mqtt2, address: 10.0.1.11 }
//!       - { name: mqtt3, address: 10.0.1.12 }
//!     cluster: { discovery: static }        (EMQX; Mosquitto: `mode: active-standby`)
//!
//! Severity: warning in production; info on a site that declares itself
//! `edge: true` (a single broker by design); not reported outside
//! production.

use crate::diag::Severity;
use crate::facts::{Facts, Origin};
use crate::lint::{Finding, Rule, BOTH};

pub const RULE: Rule = Rule {
    id: "MQ-HA-001",
    name: "single_node",
    severity: Severity::Warning,
    scope: BOTH,
    source: include_str!("mq_ha_001_single_node.rs"),
    check,
};

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    if !facts.production() {
        return;
    }
    let mut found = Vec::new();
    match facts.origin {
        Origin::Spec => {
            if let [node] = facts.nodes.as_slice() {
                found.push(Finding::new(
                    &node.span,
                    format!("the production site runs on one broker node (`{}`): when it stops, every device is offline until it is back", node.name),
                    "add nodes: EMQX with `cluster.discovery` (3 nodes survive one failure), or a Mosquitto active/standby pair (`cluster: { mode: active-standby, vip: ... }`)",
                ));
            }
        }
        Origin::File => {
            for b in &facts.ha.backends {
                if let [server] = b.servers.as_slice() {
                    found.push(
                        Finding::new(
                            &server.span,
                            format!("backend `{}` sends every MQTT client to one broker (`{}`), with no second node or standby", b.name, server.name),
                            "add the other brokers as `server` lines (EMQX cluster nodes), or a standby with `backup` (Mosquitto active/standby)",
                        )
                        .with_related(&b.span, "the backend"),
                    );
                }
            }
            for span in &facts.ha.single_node {
                found.push(Finding::new(
                    span,
                    "this EMQX node is configured to run alone (`discovery_strategy = singleton`)",
                    "join the nodes into a cluster: `cluster { discovery_strategy = static, static.seeds = [\"emqx@10.0.1.10\", \"emqx@10.0.1.11\", \"emqx@10.0.1.12\"] }` (or dns, etcd, k8s)",
                ));
            }
        }
    }
    for mut f in found {
        if facts.edge {
            f = f.with_severity(Severity::Info);
        }
        out.push(f);
    }
}
