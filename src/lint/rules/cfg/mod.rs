//! Rules of the CFG area.

pub mod mq_cfg_001_emqx_unknown_key;
pub mod mq_cfg_002_misplaced_directive;
pub mod mq_cfg_003_unknown_directive;
pub mod mq_cfg_004_rumqttd_ignored_setting;

use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_cfg_001_emqx_unknown_key::RULE,
    mq_cfg_002_misplaced_directive::RULE,
    mq_cfg_003_unknown_directive::RULE,
    mq_cfg_004_rumqttd_ignored_setting::RULE,
];
