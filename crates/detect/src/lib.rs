//! Signature engine and rule-pack loader.
//!
//! Signatures are data (`rules/*.toml`, embedded at build time, plus directories named
//! in the config). [`RuleSet`] compiles every literal of every rule into one
//! Aho-Corasick automaton per request field; a rule is evaluated exactly (methods,
//! statuses, every condition, regexes) only when one of its literals was seen, so the
//! cost per request stays nearly flat as the pack grows. Matching sees decoded,
//! lowercased fields (see [`normalize`]); per-thread buffers live in a [`Scratch`] so
//! that matching allocates nothing per request once warm. Bad rules are reported with
//! their file and line and skipped, never fatal here: the caller decides (`--strict`).
//!
//! The network view has its own detectors, pure and fed in time order: [`portscan`]
//! (vertical, horizontal and block scans, technique from the flags, Threshold Random
//! Walk where outcomes are known, decaying distinct counts where only drops are logged)
//! and [`sshbrute`] (SSH brute force and banner grabbing).

#![warn(missing_docs)]

mod engine;
pub mod heuristics;
pub mod normalize;
pub mod portscan;
pub mod products;
mod rules;
pub mod sshbrute;

pub use engine::{example_request, RuleSet, Scratch};
pub use portscan::{PortScanConfig, PortScanDetector};
pub use products::{Vocabulary, GENERIC};
pub use rules::{parse_rule_file, Example, Field, RuleError, Signature};
pub use sshbrute::{SshConfig, SshDetector};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

#[cfg(test)]
mod tests;
