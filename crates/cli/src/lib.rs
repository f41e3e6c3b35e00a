//! The `scantriage` command: configuration, wiring of the stages, and commands.
//!
//! The binary is a thin layer: [`config`] reads and validates the TOML file,
//! [`analyze`] wires ingest → detect → assess in parallel and folds results in order,
//! and the report and store crates take the outcome.

pub mod analyze;
pub mod asn;
pub mod config;
pub mod coverage;
pub mod enforce_cmd;
pub mod exposure;
pub mod follow;
pub mod inventory_cmd;
pub mod metrics;
pub mod network;
pub mod verdict_cmd;
pub mod vulndb;
pub mod watch;
