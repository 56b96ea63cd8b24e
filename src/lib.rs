//! planguard: proves Salam ingestion configs and orchestration plans are
//! well-formed, safe and consistent before they become Temporal Schedules.
//!
//! The pipeline is discover → load → check → report; each stage is a module
//! and depends only on the ones before it.

#[cfg(feature = "deploy")]
pub mod apply;
pub mod check;
pub mod cli;
pub mod cron;
pub mod deployable;
pub mod diagnostic;
pub mod digest;
pub mod discover;
pub mod duration;
pub mod fix;
pub mod fsutil;
#[cfg(feature = "testing")]
pub mod fuzzing;
pub mod init;
pub mod links;
pub mod load;
pub mod log;
pub mod lsp;
pub mod policy_test;
pub mod rego;
pub mod report;
pub mod rules;
pub mod select;
pub mod settings;
pub mod source;
#[cfg(feature = "deploy")]
pub mod status;
pub mod suggest;
