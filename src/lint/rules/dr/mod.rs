//! Rules of the DR area.

pub mod mq_dr_001_no_backup_schedule;
pub mod mq_dr_002_unencrypted_backup;
pub mod mq_dr_003_backup_stops_broker;
pub mod mq_dr_004_unmeetable_rpo;
pub mod mq_dr_005_script_not_strict;
pub mod mq_dr_006_no_restore_procedure;
pub mod mq_dr_007_no_retention;

use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_dr_001_no_backup_schedule::RULE,
    mq_dr_002_unencrypted_backup::RULE,
    mq_dr_003_backup_stops_broker::RULE,
    mq_dr_004_unmeetable_rpo::RULE,
    mq_dr_005_script_not_strict::RULE,
    mq_dr_006_no_restore_procedure::RULE,
    mq_dr_007_no_retention::RULE,
];
