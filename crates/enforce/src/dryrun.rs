//! The dry-run back end: says what it would do.

use crate::{prepare, Allowlist, Applied, Ban, EnforceError, Enforcer, Listed};
use ipnet::IpNet;
use std::io::Write;

/// Prints what it would do to a writer (stdout by default) and changes nothing.
pub struct DryRun {
    out: Box<dyn Write + Send>,
    allow: Allowlist,
    max_timeout_secs: u64,
}

impl std::fmt::Debug for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DryRun")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl DryRun {
    /// Prints to stdout.
    pub fn new(max_timeout_secs: u64, allow: Allowlist) -> Self {
        Self::to_writer(Box::new(std::io::stdout()), max_timeout_secs, allow)
    }

    /// Prints to `out`.
    pub fn to_writer(out: Box<dyn Write + Send>, max_timeout_secs: u64, allow: Allowlist) -> Self {
        DryRun {
            out,
            allow,
            max_timeout_secs,
        }
    }

    fn say(&mut self, line: std::fmt::Arguments<'_>) -> Result<(), EnforceError> {
        writeln!(self.out, "{line}").map_err(|source| EnforceError::Io {
            path: "<dry-run output>".into(),
            op: "write",
            source,
        })
    }
}

impl Enforcer for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError> {
        let out = prepare(bans, &self.allow, self.max_timeout_secs);
        for b in &out.applied {
            self.say(format_args!("would ban {} for {}s", b.net, b.timeout_secs))?;
        }
        for b in &out.refused {
            self.say(format_args!("would refuse {} (allowlisted)", b.net))?;
        }
        Ok(out)
    }

    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError> {
        for n in nets {
            self.say(format_args!("would remove {n}"))?;
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Listed>, EnforceError> {
        Ok(Vec::new())
    }

    fn reassert(&mut self) -> Result<usize, EnforceError> {
        Ok(0)
    }

    fn remove_all(&mut self) -> Result<(), EnforceError> {
        self.say(format_args!("would remove every ban"))
    }
}
