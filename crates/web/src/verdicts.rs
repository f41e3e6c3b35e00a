//! A person's verdicts (cannot work here, block, allow, acknowledge) as the pages and
//! the API see them, and the actions that record them.

use scantriage_core::{
    Decision, DecisionKind, Finding, PersonAction, PersonVerdict, Suppressions, Timestamp,
    VerdictError, VerdictScope,
};
use scantriage_store::{RunRecord, SqliteStore, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;

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
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::Invalid(m) => f.write_str(m),
            ActionError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Store(e)
    }
}

/// Builds the suppressions of a set of verdicts (resolving targets through the rules).
pub type SuppressionsOf = Arc<dyn Fn(&[PersonVerdict]) -> Suppressions + Send + Sync>;

/// What recording a verdict needs besides the store.
#[derive(Clone)]
pub struct VerdictContext {
    /// The suppressions of the active verdicts (from the loaded rules).
    pub suppressions: SuppressionsOf,
    /// Refuses blocks of allowlisted addresses.
    pub refuse_block: crate::server::RefuseBlock,
    /// How long a person's block verdict blocks a single address, in seconds.
    pub block_secs: u64,
}

impl VerdictView {
    fn new(v: &PersonVerdict) -> Self {
        VerdictView {
            id: v.id,
            action: v.action.as_str().to_string(),
            scope_kind: v.scope.kind().to_string(),
            scope_value: v.scope.value(),
            author: v.author.clone(),
            at_ms: v.at_ms,
            note: v.note.clone(),
            revoked_ms: v.revoked_ms,
        }
    }
}

/// The verdicts in the store (with the revoked ones when `include_revoked`), newest first.
pub fn list(st: &SqliteStore, include_revoked: bool) -> Result<Vec<VerdictView>, StoreError> {
    let mut out: Vec<VerdictView> = st
        .verdicts(include_revoked)?
        .iter()
        .map(VerdictView::new)
        .collect();
    out.reverse();
    Ok(out)
}

/// The acknowledgements in force.
pub fn acknowledgements(st: &SqliteStore) -> Result<Vec<VerdictView>, StoreError> {
    Ok(list(st, false)?
        .into_iter()
        .filter(|v| v.action == "acknowledge")
        .collect())
}

/// True when an acknowledgement made after the finding covers it (newer findings come back).
pub fn acknowledged(acks: &[VerdictView], f: &Finding) -> bool {
    acks.iter().any(|a| {
        a.at_ms >= f.time.unix_ms
            && match a.scope_kind.as_str() {
                "source" => a.covers_source(f.source),
                "signature" => f.signatures.contains(&a.scope_value),
                _ => false,
            }
    })
}

fn now_ts(ms: i64) -> Timestamp {
    Timestamp {
        unix_ms: ms,
        offset_min: 0,
    }
}

/// Appends one decision in its own small run record.
pub(crate) fn record(st: &mut SqliteStore, d: Decision) -> Result<(), StoreError> {
    let now = d.at.unix_ms;
    st.save_run(&RunRecord {
        started_ms: now,
        finished_ms: now,
        inputs: &[],
        lines: 0,
        parse_errors: 0,
        findings: &[],
        sources: &[],
        decisions: std::slice::from_ref(&d),
        checkpoints: &[],
    })
}

fn lift(
    st: &mut SqliteStore,
    ip: IpAddr,
    reason: String,
    by: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    record(
        st,
        Decision {
            source: ip,
            kind: DecisionKind::Ignore,
            duration_secs: 0,
            reasons: vec![reason],
            by: by.to_string(),
            at: now_ts(at_ms),
        },
    )
}

/// Records a verdict and acts on it as `scantriage verdict add` does: a cannot-work
/// verdict turns the open findings it covers into noise, a block of one address makes a
/// block decision, an allow lifts the decisions in force within it. Returns its id.
pub fn add(
    st: &mut SqliteStore,
    ctx: &VerdictContext,
    v: &NewVerdict,
    author: &str,
    at_ms: i64,
) -> Result<i64, ActionError> {
    let action: PersonAction = v
        .action
        .parse()
        .map_err(|e: VerdictError| ActionError::Invalid(e.to_string()))?;
    let scope = VerdictScope::parse(v.scope.trim(), v.value.trim())
        .map_err(|e| ActionError::Invalid(format!("{}: {e}", v.scope)))?;
    action
        .check_scope(&scope)
        .map_err(|e| ActionError::Invalid(e.to_string()))?;
    if let (PersonAction::Block, VerdictScope::Source(net)) = (action, &scope) {
        if (ctx.refuse_block)(*net) {
            return Err(ActionError::Invalid(format!(
                "{net} is allowlisted (policy.allowlist, loopback or this host's address): not blocked"
            )));
        }
    }
    let id = st.add_verdict(action, &scope, author, at_ms, &v.note)?;
    let all = st.verdicts(false)?;
    match (action, &scope) {
        (PersonAction::CannotWork, _) => {
            let sup = (ctx.suppressions)(&all);
            st.apply_suppressions(&sup)?;
        }
        (PersonAction::Block, VerdictScope::Source(net))
            if net.prefix_len() == net.max_prefix_len() =>
        {
            if let Some(pv) = all.iter().find(|x| x.id == id) {
                record(
                    st,
                    Decision {
                        source: net.addr(),
                        kind: DecisionKind::Block,
                        duration_secs: ctx.block_secs,
                        reasons: vec![scantriage_assess::block_reason(pv)],
                        by: author.to_string(),
                        at: pv.at(),
                    },
                )?;
            }
        }
        (PersonAction::Allow, VerdictScope::Source(net)) => {
            for d in st.active_decisions(at_ms)? {
                if net.contains(&d.source) {
                    lift(
                        st,
                        d.source,
                        format!("allowed by {author}, verdict #{id}"),
                        author,
                        at_ms,
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(id)
}

/// Revokes a verdict (a revoked block lifts the decisions it made); false when there is no such verdict in force.
pub fn revoke(
    st: &mut SqliteStore,
    id: i64,
    author: &str,
    at_ms: i64,
) -> Result<bool, ActionError> {
    let found = st.verdicts(false)?.into_iter().find(|v| v.id == id);
    if !st.revoke_verdict(id, at_ms)? {
        return Ok(false);
    }
    if let Some(v) = found.filter(|v| v.action == PersonAction::Block) {
        let mark = format!("verdict #{id}");
        for d in st.active_decisions(at_ms)? {
            let made_by_it = d
                .reasons
                .first()
                .is_some_and(|r| r.ends_with(&mark) || r.contains(&format!("{mark}:")));
            if v.scope.contains_source(d.source) && made_by_it {
                lift(
                    st,
                    d.source,
                    format!("block verdict #{id} revoked"),
                    author,
                    at_ms,
                )?;
            }
        }
    }
    Ok(true)
}
