//! A recording back end for tests where the kernel is not the point.

use crate::{prepare, Allowlist, Applied, Ban, EnforceError, Enforcer, Listed};
use ipnet::IpNet;
use std::collections::BTreeMap;

/// One call made to a [`Recording`] enforcer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `apply`, with the bans after allowlist filtering and capping.
    Apply(Vec<Ban>),
    /// `remove`.
    Remove(Vec<IpNet>),
    /// `reassert`.
    Reassert,
    /// `remove_all`.
    RemoveAll,
}

/// Remembers every call and keeps the bans in memory (no expiry).
#[derive(Debug, Default)]
pub struct Recording {
    /// The calls, in order.
    pub calls: Vec<Call>,
    /// Bans in force: prefix → timeout last given.
    pub bans: BTreeMap<IpNet, u64>,
    allow: Allowlist,
    /// When set, every call fails with this (retryable when the flag says so).
    pub fail: Option<bool>,
}

impl Recording {
    /// An empty recorder with this allowlist.
    pub fn new(allow: Allowlist) -> Self {
        Recording {
            allow,
            ..Recording::default()
        }
    }

    fn check(&self) -> Result<(), EnforceError> {
        match self.fail {
            None => Ok(()),
            Some(retryable) => Err(EnforceError::Command {
                command: "recording".into(),
                status: "exit status: 1".into(),
                stderr: if retryable {
                    "resource busy"
                } else {
                    "rejected"
                }
                .into(),
            }),
        }
    }
}

impl Enforcer for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError> {
        self.check()?;
        let out = prepare(bans, &self.allow, u64::MAX);
        for b in &out.applied {
            let e = self.bans.entry(b.net).or_insert(0);
            *e = (*e).max(b.timeout_secs);
        }
        self.calls.push(Call::Apply(out.applied.clone()));
        Ok(out)
    }

    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError> {
        self.check()?;
        for n in nets {
            self.bans.remove(n);
        }
        self.calls.push(Call::Remove(nets.to_vec()));
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Listed>, EnforceError> {
        self.check()?;
        Ok(self
            .bans
            .iter()
            .map(|(n, t)| Listed {
                net: *n,
                expires_in_secs: Some(*t),
            })
            .collect())
    }

    fn reassert(&mut self) -> Result<usize, EnforceError> {
        self.check()?;
        self.calls.push(Call::Reassert);
        Ok(0)
    }

    fn remove_all(&mut self) -> Result<(), EnforceError> {
        self.check()?;
        self.bans.clear();
        self.calls.push(Call::RemoveAll);
        Ok(())
    }
}
