//! mqttforge: one declarative MQTT site spec in, a whole production site out.
//!
//! The pipeline (see DESIGN.md): [`source`] loads YAML with positions,
//! [`schema`] and [`spec::checks`] validate it into a [`spec::Site`], and
//! every problem is a [`diag::Diagnostic`] at file:line:col.

pub mod acl;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
pub mod catalog;
pub mod checklist;
pub mod cli;
pub mod diag;
pub mod facts;
pub mod formats;
pub mod fs;
pub mod lint;
pub mod mqtt;
pub mod pki;
pub mod plan;
pub mod render;
pub mod runbook;

pub mod source;
pub mod spec;
pub mod suggest;
pub mod verify;
