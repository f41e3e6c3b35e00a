//! What an enforcer applied, so that it can re-assert it.

use crate::Ban;
use ipnet::IpNet;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The bans applied by this process, with when each expires (monotonic clock).
#[derive(Debug, Default, Clone)]
pub(crate) struct Memory {
    until: HashMap<IpNet, Instant>,
}

impl Memory {
    pub(crate) fn remember(&mut self, bans: &[Ban]) {
        let now = Instant::now();
        for b in bans {
            let t = now + Duration::from_secs(b.timeout_secs);
            let e = self.until.entry(b.net).or_insert(t);
            if *e < t {
                *e = t;
            }
        }
    }

    pub(crate) fn forget(&mut self, nets: &[IpNet]) {
        for n in nets {
            self.until.remove(&n.trunc());
        }
    }

    pub(crate) fn clear(&mut self) {
        self.until.clear();
    }

    /// The bans not yet expired, with their remaining whole seconds (rounded up).
    pub(crate) fn live(&mut self) -> Vec<Ban> {
        let now = Instant::now();
        self.until.retain(|_, t| *t > now);
        let mut out: Vec<Ban> = self
            .until
            .iter()
            .map(|(net, t)| Ban {
                net: *net,
                timeout_secs: (*t - now).as_millis().div_ceil(1000) as u64,
            })
            .collect();
        out.sort_by_key(|b| b.net);
        out
    }
}
