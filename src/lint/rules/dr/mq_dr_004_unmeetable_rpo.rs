//! A declared RPO that the configuration cannot meet.
//!
//! What it does: checks each recovery point objective of `dr:` against the
//! broker's configuration: an RPO of 0 needs the state replicated to another
//! node (a single node, or Mosquitto, which does not replicate, cannot);
//! with persistence off a restart loses every retained message and session,
//! whatever the RPO; and Mosquitto loses up to `persistence.autosave` of
//! state on a crash, so an RPO shorter than the autosave interval is not met;
//! a scenario recovered from a backup (corruption, datacentre loss) returns
//! state as old as the newest backup, so an RPO shorter than the backup
//! schedule is not met either.
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
use crate::spec::recovery::{rpo_gap, RpoGap, StateKeeping};

pub const RULE: Rule = Rule {
    id: "MQ-DR-004",
    name: "unmeetable_rpo",
    severity: Severity::Error,
    scope: LINT_ONLY,
    source: include_str!("mq_dr_004_unmeetable_rpo.rs"),
    check,
};

/// The facts as the shared recovery reasoning reads them
/// ([`crate::spec::recovery`], which the runbook reads too).
fn state_keeping(facts: &Facts) -> StateKeeping {
    StateKeeping {
        engine: facts.engine,
        nodes: facts.nodes.len(),
        persistence_enabled: facts.persistence.as_ref().map(|p| p.enabled),
        autosave_s: facts.persistence.as_ref().and_then(|p| p.autosave_s),
        backup_every_s: facts.backup.as_ref().and_then(|b| b.every_s),
    }
}

fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let state = state_keeping(facts);
    for o in &facts.dr {
        let Some(gap) = rpo_gap(&state, &o.scenario, o.rpo_s) else {
            continue;
        };
        let mut f = Finding::new(
            &o.span,
            gap.message(&state, &o.scenario, o.rpo_s),
            gap.help(&state, o.rpo_s),
        );
        if let Some(p) = &facts.persistence {
            match gap {
                RpoGap::PersistenceOff => {
                    f = f.with_related(
                        &p.span,
                        "persistence is off (`persistence.enabled` defaults to false)",
                    )
                }
                RpoGap::Autosave { .. } => f = f.with_related(&p.span, "autosave interval"),
                RpoGap::NotReplicated | RpoGap::BackupInterval { .. } => {}
            }
        }
        if let (RpoGap::BackupInterval { .. }, Some(b)) = (gap, &facts.backup) {
            f = f.with_related(&b.span, "backup schedule");
        }
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
    use crate::spec::model::{Engine, Environment};

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
}
