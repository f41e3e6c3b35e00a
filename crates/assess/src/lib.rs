//! Assessment: from matched signatures to verdicts, source profiles and decisions.
//!
//! Everything here is pure: no I/O, no clock. Time comes from the events, so a batch
//! run and a live run over the same lines reach the same decisions, and tests are
//! exact. [`Assessor`] gives one request its [`Verdict`](scantriage_core::Verdict)
//! from the inventory and the server's answer; [`Profile`] accumulates what one source
//! did; [`Policy`] turns a profile into a decision with reasons a person can check.
//! [`waves`] finds new exploit waves among the requests no signature recognises and
//! drafts signatures for them.

#![warn(missing_docs)]

mod inventory;
mod person;
mod policy;
mod profile;
mod verdict;
pub mod waves;

pub use inventory::{Inventory, InventoryError, Product};
pub use person::{block_reason, PersonVerdicts};
pub use policy::{Outcome, Policy, PolicyConfig};
pub use profile::{Class, Evidence, LoginWindow, Observation, Profile, SignatureStat, CLASSES};
/// The active "cannot work here" verdicts (defined in core so that the store can apply them).
pub use scantriage_core::Suppressions;
pub use verdict::{Assessment, Assessor, VulnMatch, Why};

#[cfg(test)]
mod tests;
