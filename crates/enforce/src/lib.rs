//! Enforcement of block decisions: the [`Enforcer`] trait and its back ends.
//!
//! Enforcement is a sink at the end of the pipeline: it receives [`Ban`]s (an address
//! or prefix and how long to keep it out) and makes the system drop their traffic. It
//! never calls back into earlier stages; the only thing it reads from the store is the
//! list of active decisions, to re-apply them after a restart ([`restore`]).
//!
//! Back ends:
//! - [`Nftables`]: the project's own table (`inet scantriage` by default) with an IPv4 and
//!   an IPv6 set (`flags interval, timeout`) and a chain on the input hook that drops
//!   their members. Every change is one atomic `nft -f -` batch; elements carry their own
//!   timeout, so the kernel expires bans even if scantriage is gone. The user's own
//!   tables are never touched, and removing everything deletes only our table; a table
//!   of our name holding sets or chains we did not create is refused, never flushed.
//! - [`Ipset`]: `hash:net` sets with timeouts loaded by `ipset restore -exist`, and one
//!   `iptables`/`ip6tables` rule each that drops their members.
//! - [`FileEnforcer`]: a plain file such as an nginx `deny ADDR;` include, rewritten
//!   atomically (temporary file and rename), with an optional reload command.
//! - [`DryRun`]: prints what it would do and changes nothing.
//! - [`Recording`]: remembers every call, for tests where the kernel is not the point.
//!
//! Contract:
//! - Every back end filters the bans it is given through its [`Allowlist`]: loopback,
//!   the server's own addresses and the allowlisted prefixes are never banned, whatever
//!   the caller passes (defence in depth; the policy already applies the allowlist).
//!   A ban whose prefix overlaps an allowlisted prefix is refused as a whole.
//! - Timeouts are capped by the back end's `max_timeout`; a ban with a zero timeout is
//!   dropped.
//! - Errors say whether retrying makes sense ([`EnforceError::is_retryable`]).
//! - [`Enforcer::reassert`] re-creates what someone deleted (`nft flush ruleset`) and
//!   re-adds the bans this enforcer applied, with their remaining time.

#![warn(missing_docs)]

mod allow;
mod dryrun;
mod error;
mod file;
mod ipset;
mod memory;
mod nft;
mod recording;
mod run;

pub use allow::Allowlist;
pub use dryrun::DryRun;
pub use error::EnforceError;
pub use file::FileEnforcer;
pub use ipset::{Ipset, IpsetConfig};
pub use nft::{NftConfig, Nftables};
pub use recording::{Call, Recording};
pub use run::Runner;

use ipnet::IpNet;
use scantriage_core::{Decision, DecisionKind};
use scantriage_store::{Store, StoreError};
use std::net::IpAddr;

/// Default cap on a ban's timeout: 30 days.
pub const DEFAULT_MAX_TIMEOUT_SECS: u64 = 30 * 86_400;

/// One address or prefix to keep out, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The address (as a /32 or /128) or prefix.
    pub net: IpNet,
    /// How long the ban holds from now, in seconds.
    pub timeout_secs: u64,
}

impl Ban {
    /// A ban of one address.
    pub fn addr(ip: IpAddr, timeout_secs: u64) -> Self {
        Ban {
            net: IpNet::from(ip),
            timeout_secs,
        }
    }
}

/// One ban as the back end reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The address or prefix.
    pub net: IpNet,
    /// Seconds until it expires, when the back end knows (`None`: no expiry known).
    pub expires_in_secs: Option<u64>,
}

/// What [`Enforcer::apply`] did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Bans that are now in force (after capping and merging).
    pub applied: Vec<Ban>,
    /// Bans refused because they touch an allowlisted, loopback or own address.
    pub refused: Vec<Ban>,
}

/// Makes the system drop traffic from banned addresses.
pub trait Enforcer {
    /// Short name of the back end (`nftables`, `ipset`, `file`, `dry-run`, `recording`).
    fn name(&self) -> &'static str;

    /// Adds a batch of bans, each with its own timeout, all at once where the back end
    /// allows it. A ban already in force is extended, never shortened.
    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError>;

    /// Lifts the bans on exactly these addresses or prefixes; absent ones are ignored.
    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError>;

    /// The bans in force.
    fn list(&mut self) -> Result<Vec<Listed>, EnforceError>;

    /// Re-creates missing structure (table, sets, chain or rules) and re-adds the bans
    /// this enforcer applied that have not expired; returns how many were re-added.
    fn reassert(&mut self) -> Result<usize, EnforceError>;

    /// Removes every ban and everything the back end created (and nothing else).
    fn remove_all(&mut self) -> Result<(), EnforceError>;
}

/// The bans for the active `block` decisions at `now_ms`: each with its remaining time
/// (rounded up to whole seconds), at most `max_timeout_secs`. `watch` decisions are skipped.
pub fn bans_from_decisions(decisions: &[Decision], now_ms: i64, max_timeout_secs: u64) -> Vec<Ban> {
    decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Block)
        .filter_map(|d| {
            let expires = d.at.unix_ms.saturating_add(
                i64::try_from(d.duration_secs)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000),
            );
            let left_ms = expires.saturating_sub(now_ms);
            if left_ms <= 0 {
                return None;
            }
            let secs = (left_ms as u64).div_ceil(1000).min(max_timeout_secs);
            Some(Ban::addr(d.source, secs))
        })
        .filter(|b| b.timeout_secs > 0)
        .collect()
}

/// Widens IPv6 bans to their `/v6_prefix_len` prefix (e.g. 64: one ban per subnet, as a
/// host usually owns a whole /64); 128 (or more) leaves them as they are. IPv4 bans and
/// IPv6 prefixes already wider are unchanged.
pub fn aggregate_v6(bans: &[Ban], v6_prefix_len: u8) -> Vec<Ban> {
    bans.iter()
        .map(|b| match b.net {
            IpNet::V6(n) if n.prefix_len() > v6_prefix_len => Ban {
                net: ipnet::Ipv6Net::new(n.addr(), v6_prefix_len)
                    .map(|n| IpNet::V6(n.trunc()))
                    .unwrap_or(b.net),
                timeout_secs: b.timeout_secs,
            },
            _ => b.clone(),
        })
        .collect()
}

/// Why [`restore`] failed: reading the store or applying the bans.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The back end failed.
    #[error(transparent)]
    Enforce(#[from] EnforceError),
}

impl RestoreError {
    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            RestoreError::Store(e) => e.is_retryable(),
            RestoreError::Enforce(e) => e.is_retryable(),
        }
    }
}

/// Re-applies the store's active block decisions with their remaining time (after a
/// restart, or for `enforce apply`), IPv6 sources widened to `/v6_prefix_len`.
pub fn restore(
    store: &dyn Store,
    enforcer: &mut dyn Enforcer,
    now_ms: i64,
    max_timeout_secs: u64,
    v6_prefix_len: u8,
) -> Result<Applied, RestoreError> {
    let decisions = store.active_decisions(now_ms)?;
    let bans = bans_from_decisions(&decisions, now_ms, max_timeout_secs);
    Ok(enforcer.apply(&aggregate_v6(&bans, v6_prefix_len))?)
}

/// An IPv4-mapped IPv6 prefix (`::ffff:192.0.2.7/128`) as the IPv4 prefix it stands
/// for, so that it lands in the IPv4 set where IPv4 traffic is matched.
fn unmap(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// Prepares a batch: maps IPv4-mapped IPv6 prefixes to IPv4, drops zero timeouts, caps the rest, refuses allowlisted ones,
/// keeps one ban per prefix (the longest timeout) and drops prefixes covered by a broader
/// ban of the batch (which keeps its own timeout: interval sets refuse overlaps). Shared by every back end.
pub(crate) fn prepare(bans: &[Ban], allow: &Allowlist, max_timeout_secs: u64) -> Applied {
    let mut out = Applied::default();
    let mut kept: Vec<Ban> = Vec::with_capacity(bans.len());
    for b in bans {
        let b = Ban {
            net: unmap(b.net.trunc()),
            timeout_secs: b.timeout_secs.min(max_timeout_secs),
        };
        if b.timeout_secs == 0 {
            continue;
        }
        if allow.refuses(&b.net) {
            out.refused.push(b);
            continue;
        }
        kept.push(b);
    }
    kept.sort_by(|a, b| {
        a.net
            .prefix_len()
            .cmp(&b.net.prefix_len())
            .then(b.timeout_secs.cmp(&a.timeout_secs))
    });
    for b in kept {
        // Broader prefixes come first, and for one prefix the longest timeout first:
        // anything already kept that covers `b` wins (interval sets refuse overlaps).
        if out.applied.iter().any(|k| k.net.contains(&b.net)) {
            continue;
        }
        out.applied.push(b);
    }
    out.applied.sort_by_key(|b| b.net);
    out
}

#[cfg(test)]
mod tests;
