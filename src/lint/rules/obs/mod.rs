//! Rules of the OBS area, and what they share: the exporters' metric
//! tables and the alert checklist (`exporters`), a PromQL tokenizer
//! (`promql`) and readers of Prometheus files (`files`).

pub use crate::facts::exporters;
pub use crate::facts::prometheus_files as files;
pub use crate::formats::promql;

pub mod mq_obs_001_metric_not_exported;
pub mod mq_obs_002_rate_unit_mismatch;
pub mod mq_obs_003_checklist_alert_missing;
pub mod mq_obs_004_capacity_threshold_mismatch;
pub mod mq_obs_005_invalid_rule_file;
pub mod mq_obs_006_no_dashboards_tracing_logs;

use crate::lint::Rule;

pub const RULES: &[Rule] = &[
    mq_obs_001_metric_not_exported::RULE,
    mq_obs_002_rate_unit_mismatch::RULE,
    mq_obs_003_checklist_alert_missing::RULE,
    mq_obs_004_capacity_threshold_mismatch::RULE,
    mq_obs_005_invalid_rule_file::RULE,
    mq_obs_006_no_dashboards_tracing_logs::RULE,
];
