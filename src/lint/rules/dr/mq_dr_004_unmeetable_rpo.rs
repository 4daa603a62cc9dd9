//! A declared RPO that the configuration cannot meet.
//!
//! What it does: checks each recovery point objective of `dr:` against the
//! broker's configuration: an RPO of 0 needs the state replicated to another
//! node (a single node, or Mosquitto, which does not replicate, cannot);
//! with persistence off a restart loses every retained message and session,
//! whatever the RPO; and Mosquitto loses up to `persistence.autosave` of
//! state on a crash, so an RPO shorter than the autosave interval is not met.
//!
//! Why it matters: recovery objectives are promises to the business and the
//! basis of the runbook. An RPO the site cannot meet is discovered during
//! the incident it was written for.
//!
//! Example:
//!     nodes: [ { name: edge1, address: 192.168.10.5 } ]
//!     persistence: { enabled: true, autosave: 5m }
//!     dr: { single_node_failure: { rto: 15m, rpo: 0 }, corruption: { rto: 15m, rpo: 1m } }
//!
//! Use instead:
//!     persistence: { enabled: true, autosave: 1m }
//!     dr: { single_node_failure: { rto: 15m, rpo: 1m }, corruption: { rto: 15m, rpo: 1h } }
//!
//! Scope: specs only; hand-written configs declare no recovery objectives.
//!
//! Severity: error in production; warning elsewhere.

use crate::diag::Severity;
use crate::facts::Facts;
use crate::lint::{relaxed, Finding, Rule, LINT_ONLY};
use crate::spec::model::Engine;

pub const RULE: Rule = Rule {
    id: "MQ-DR-004",
    name: "unmeetable_rpo",
    severity: Severity::Error,
    scope: LINT_ONLY,
    source: include_str!("mq_dr_004_unmeetable_rpo.rs"),
    check,
};

/// `90` -> `90s`, `300` -> `5m`, `3600` -> `1h`.
fn human(s: u64) -> String {
    match s {
        0 => "0".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let nodes = facts.nodes.len();
    let replicated = facts.engine == Some(Engine::Emqx) && nodes > 1;
    for o in &facts.dr {
        let scenario = &o.scenario;
        let f = if o.rpo_s == 0 && !replicated {
            let why = if nodes <= 1 {
                "a single node loses whatever it has not yet written when it fails".to_string()
            } else {
                let engine = match facts.engine {
                    Some(Engine::Mosquitto) => "Mosquitto",
                    Some(Engine::Rumqttd) => "rumqttd",
                    _ => "these",
                };
                format!("{engine} nodes do not replicate state: a standby starts from what was last saved")
            };
            Finding::new(
                &o.span,
                format!("RPO 0 for `{scenario}` cannot be met: {why}"),
                "declare the RPO the site can meet (at least the autosave interval), or run a cluster that replicates state (EMQX, 3 nodes)",
            )
        } else if let Some(p) = facts.persistence.as_ref().filter(|p| !p.enabled) {
            Finding::new(
                &o.span,
                format!("RPO {} for `{scenario}` cannot be met with persistence off: a broker restart loses every retained message and session", human(o.rpo_s)),
                if facts.engine == Some(Engine::Mosquitto) {
                    format!("enable it: `persistence: {{ enabled: true, autosave: {} }}` (at most the RPO)", human(o.rpo_s.max(1)))
                } else {
                    "enable it: `persistence: { enabled: true }`".to_string()
                },
            )
            .with_related(&p.span, "persistence is off (`persistence.enabled` defaults to false)")
        } else if let Some((p, autosave)) = facts.persistence.as_ref().and_then(|p| {
            p.autosave_s
                .filter(|a| *a > o.rpo_s && o.rpo_s > 0)
                .map(|a| (p, a))
        }) {
            Finding::new(
                &o.span,
                format!("RPO {} for `{scenario}` cannot be met: Mosquitto saves its state every {}, so a crash loses up to {} of it", human(o.rpo_s), human(autosave), human(autosave)),
                format!("set `persistence.autosave` to at most {}, or declare an RPO of at least {}", human(o.rpo_s), human(autosave)),
            )
            .with_related(&p.span, "autosave interval")
        } else {
            continue;
        };
        out.push(match relaxed(facts, Severity::Warning) {
            Some(s) => f.with_severity(s),
            None => f,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{NodeFact, ObjectiveFact, Origin, PersistenceFact};
    use crate::source::{SourceFile, Span};
    use crate::spec::model::Environment;

    fn facts(
        engine: Engine,
        nodes: usize,
        enabled: bool,
        autosave: Option<u64>,
        rpo: u64,
    ) -> Facts {
        let file = SourceFile::new("s.yaml", "x\n");
        let span = Span::point(&file, 1, 1);
        let mut f = Facts::new(Origin::Spec, Environment::Production);
        f.engine = Some(engine);
        f.nodes = (0..nodes)
            .map(|i| NodeFact {
                name: format!("n{i}"),
                span: span.clone(),
            })
            .collect();
        f.persistence = Some(PersistenceFact {
            enabled,
            autosave_s: autosave,
            span: span.clone(),
        });
        f.dr.push(ObjectiveFact {
            scenario: "corruption".into(),
            rpo_s: rpo,
            span,
        });
        f
    }

    fn run(f: &Facts) -> Vec<String> {
        let mut out = Vec::new();
        check(f, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn each_reason_and_its_near_misses() {
        assert!(run(&facts(Engine::Mosquitto, 1, true, Some(60), 0))[0].contains("single node"));
        assert!(run(&facts(Engine::Mosquitto, 2, true, Some(30), 0))[0]
            .contains("Mosquitto nodes do not replicate"));
        assert!(run(&facts(Engine::Emqx, 3, true, None, 0)).is_empty());
        assert!(run(&facts(Engine::Emqx, 1, true, None, 0))[0].contains("single node"));
        assert!(run(&facts(Engine::Emqx, 3, false, None, 3600))[0].contains("persistence off"));
        assert!(run(&facts(Engine::Mosquitto, 1, false, None, 86_400))[0].contains("RPO 1d"));
        assert_eq!(run(&facts(Engine::Mosquitto, 1, true, Some(300), 60)), vec!["RPO 1m for `corruption` cannot be met: Mosquitto saves its state every 5m, so a crash loses up to 5m of it".to_string()]);
        assert!(run(&facts(Engine::Mosquitto, 1, true, Some(60), 60)).is_empty());
        assert!(run(&facts(Engine::Mosquitto, 1, true, Some(30), 3600)).is_empty());
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
