//! Persistent state for scantriage: the [`Store`] trait and its SQLite back end.
//!
//! The store is the last stage of the pipeline: it receives what a run concluded and
//! keeps it for later runs, the enforcer (bans are restored from it after a restart)
//! and the person reading reports. It never calls back into earlier stages.
//!
//! Contract:
//! - A run is written with one call, [`Store::save_run`], in one transaction: either
//!   everything in the [`RunRecord`] is stored or nothing is. The input checkpoints go
//!   into the same transaction, so a crash can never record an input as analysed
//!   without its findings (or the reverse).
//! - Source summaries are *replaced*, not merged: the caller loads the previous totals
//!   with [`Store::load_sources`], merges them (the merge rules belong to assessment),
//!   and hands back the result. Findings, runs and decisions are only ever appended, so
//!   the decision history stays auditable.
//! - The decision in force for a source is its latest decision (by event time, then by
//!   insertion order), whatever its kind; it is active while it is `watch` or `block`
//!   and has not expired. A later `ignore` therefore lifts an earlier block.
//! - A person's verdicts are appended and revoked (with the revocation time), never
//!   deleted. [`Store::apply_suppressions`] is the one place where stored findings
//!   change: open findings that a "cannot work here" verdict covers become `noise`,
//!   their reason naming the verdict and keeping the original. The suppressions are a
//!   core type ([`scantriage_core::Suppressions`]) so that the store needs no later stage.
//! - Timestamps cross the database boundary as integers (milliseconds since the epoch
//!   plus the recorded UTC offset in minutes), addresses as canonical text.
//!
//! [`SqliteStore`] is the embedded default: one file in WAL mode, so readers (`show`,
//! the dashboard) never wait for a writer (`watch`), with a 5 s busy timeout for
//! writers. Errors say whether retrying makes sense ([`StoreError::is_retryable`]).

#![warn(missing_docs)]

mod error;
mod query;
mod schema;
mod sqlite;

pub use error::StoreError;
pub use query::{QueueGroup, QueueSource, SignatureStat, VerdictBucket};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use sqlite::SqliteStore;

use scantriage_core::{
    Decision, Finding, PersonAction, PersonVerdict, SourceSummary, Suppressions, VerdictScope,
};
use std::collections::HashMap;
use std::net::IpAddr;

/// One input's resume point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Canonical input path.
    pub key: String,
    /// Hex hash of the input's first bytes (decompressed); a changed fingerprint means a new file.
    pub fingerprint: String,
    /// Bytes of the decompressed stream already analysed.
    pub offset: u64,
    /// Lines already analysed.
    pub lines: u64,
    /// When the checkpoint was written, in milliseconds since the epoch.
    pub updated_ms: i64,
}

/// What one analysis run writes, in one transaction (all or nothing).
#[derive(Debug, Clone, Copy)]
pub struct RunRecord<'a> {
    /// When the run started, in milliseconds since the epoch.
    pub started_ms: i64,
    /// When the run finished, in milliseconds since the epoch.
    pub finished_ms: i64,
    /// The inputs the run read.
    pub inputs: &'a [String],
    /// Lines analysed.
    pub lines: u64,
    /// Lines that did not parse.
    pub parse_errors: u64,
    /// Findings to append.
    pub findings: &'a [Finding],
    /// Per-source totals, already merged by the caller with what `load_sources` returned: each replaces its row.
    pub sources: &'a [SourceSummary],
    /// New decisions (history is kept: decisions are appended, never updated).
    pub decisions: &'a [Decision],
    /// Input checkpoints to insert or replace.
    pub checkpoints: &'a [Checkpoint],
}

/// One campaign of a run, as stored: its kind, key and totals, and the whole object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCampaign {
    /// `target`, `signature` or `emerging`.
    pub kind: String,
    /// The target, signature id or path template.
    pub key: String,
    /// Distinct sources.
    pub sources: u64,
    /// Requests.
    pub requests: u64,
    /// First request, milliseconds since the epoch.
    pub first_seen_ms: i64,
    /// Last request, milliseconds since the epoch.
    pub last_seen_ms: i64,
    /// The campaign object as JSON (the `campaign` value of the JSON output).
    pub data: String,
}

/// How much the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCounts {
    /// Runs saved.
    pub runs: u64,
    /// Findings stored.
    pub findings: u64,
    /// Distinct sources with a summary.
    pub sources: u64,
    /// Decisions stored (the whole history).
    pub decisions: u64,
    /// Lines analysed over all runs.
    pub lines: u64,
}

/// Persistent state: findings, source summaries, decisions and input checkpoints.
pub trait Store {
    /// The resume point of one input, if it was analysed before.
    fn checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, StoreError>;

    /// The stored summaries of the given sources; sources never seen are absent from the map.
    fn load_sources(&self, ips: &[IpAddr]) -> Result<HashMap<IpAddr, SourceSummary>, StoreError>;

    /// Writes one run in one transaction; on error the store is left as it was.
    fn save_run(&mut self, run: &RunRecord<'_>) -> Result<(), StoreError>;

    /// Decisions whose expiry (at + duration) is after `now_ms` and whose kind is block or watch, newest first; one per source (the latest).
    fn active_decisions(&self, now_ms: i64) -> Result<Vec<Decision>, StoreError>;

    /// The newest `limit` findings of one source, newest first.
    fn findings_for(&self, ip: IpAddr, limit: usize) -> Result<Vec<Finding>, StoreError>;

    /// The stored summary of one source.
    fn source(&self, ip: IpAddr) -> Result<Option<SourceSummary>, StoreError>;

    /// How many runs, findings, sources and decisions the store holds, and lines analysed.
    fn counts(&self) -> Result<StoreCounts, StoreError>;
    /// Attaches campaigns to the latest run, in one transaction.
    fn save_campaigns(&mut self, campaigns: &[StoredCampaign]) -> Result<(), StoreError>;
    /// Campaigns of the latest run that has any, most sources first.
    fn latest_campaigns(&self, limit: usize) -> Result<Vec<StoredCampaign>, StoreError>;

    /// Records a person's verdict; returns its id. Refuses an action that does not apply to the scope.
    fn add_verdict(
        &mut self,
        action: PersonAction,
        scope: &VerdictScope,
        author: &str,
        at_ms: i64,
        note: &str,
    ) -> Result<i64, StoreError>;

    /// Revokes a verdict; false if no such active verdict.
    fn revoke_verdict(&mut self, id: i64, at_ms: i64) -> Result<bool, StoreError>;

    /// Verdicts, oldest first; revoked ones only if asked.
    fn verdicts(&self, include_revoked: bool) -> Result<Vec<PersonVerdict>, StoreError>;

    /// Re-assesses the stored open findings (`unknown`, `relevant`, `urgent`) that an
    /// active cannot-work verdict now covers: sets their verdict to `noise` (the reason
    /// names the verdict and keeps the original verdict and reason), moves their counts
    /// in their source's summary from the old verdict to `noise`, and returns how many
    /// findings changed. One transaction.
    fn apply_suppressions(&mut self, sup: &Suppressions) -> Result<usize, StoreError>;
}
