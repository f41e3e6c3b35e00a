//! A person's verdicts (cannot work here, block, allow, acknowledge) as the pages and
//! the API see them, and the actions that record them.

use scantriage_core::Finding;
use scantriage_store::{SqliteStore, StoreError};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One verdict of a person, flattened for pages and JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictView {
    /// Its id in the store.
    pub id: i64,
    /// `cannot_work`, `block`, `allow` or `acknowledge`.
    pub action: String,
    /// `signature`, `target`, `path` or `source`.
    pub scope_kind: String,
    /// The signature id, target, path pattern or address/network.
    pub scope_value: String,
    /// Who recorded it.
    pub author: String,
    /// When, milliseconds since the epoch.
    pub at_ms: i64,
    /// The person's note.
    pub note: String,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

impl VerdictView {
    /// True when the verdict's scope is a source network that contains `ip`.
    pub fn covers_source(&self, ip: IpAddr) -> bool {
        self.scope_kind == "source"
            && self
                .scope_value
                .parse::<ipnet::IpNet>()
                .map(|n| n.contains(&ip))
                .or_else(|_| self.scope_value.parse::<IpAddr>().map(|a| a == ip))
                .unwrap_or(false)
    }
}

/// A verdict to record, as the API and the forms send it.
#[derive(Debug, Clone, Deserialize)]
pub struct NewVerdict {
    /// `cannot_work`, `block`, `allow` or `acknowledge`.
    pub action: String,
    /// `signature`, `target`, `path` or `source`.
    pub scope: String,
    /// The signature id, target, path pattern or address/network.
    pub value: String,
    /// The person's note.
    #[serde(default)]
    pub note: String,
}

/// Why an action was refused or failed.
#[derive(Debug)]
pub enum ActionError {
    /// The request is malformed; the text says what is wrong.
    Invalid(String),
    /// This build's store cannot record verdicts.
    Unavailable,
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::Invalid(m) => f.write_str(m),
            ActionError::Unavailable => f.write_str("this store cannot record verdicts"),
            ActionError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Store(e)
    }
}

/// The verdicts in the store (with the revoked ones when `include_revoked`), newest first.
pub fn list(_st: &SqliteStore, _include_revoked: bool) -> Result<Vec<VerdictView>, StoreError> {
    Ok(Vec::new())
}

/// The acknowledgements in force.
pub fn acknowledgements(st: &SqliteStore) -> Result<Vec<VerdictView>, StoreError> {
    Ok(list(st, false)?
        .into_iter()
        .filter(|v| v.action == "acknowledge")
        .collect())
}

/// True when an acknowledgement made after the finding covers it.
pub fn acknowledged(acks: &[VerdictView], f: &Finding) -> bool {
    acks.iter().any(|a| {
        a.at_ms >= f.time.unix_ms
            && match a.scope_kind.as_str() {
                "source" => a.covers_source(f.source),
                "signature" => f.signatures.contains(&a.scope_value),
                "path" => f.request.contains(&a.scope_value),
                _ => false,
            }
    })
}

/// Records a verdict and re-assesses the stored findings it covers; returns its id.
pub fn add(
    _st: &mut SqliteStore,
    v: &NewVerdict,
    _author: &str,
    _at_ms: i64,
) -> Result<i64, ActionError> {
    if v.value.trim().is_empty() {
        return Err(ActionError::Invalid("the scope value is empty".into()));
    }
    Err(ActionError::Unavailable)
}

/// Revokes a verdict; false when there is no such verdict in force.
pub fn revoke(_st: &mut SqliteStore, _id: i64, _at_ms: i64) -> Result<bool, ActionError> {
    Err(ActionError::Unavailable)
}
