//! Vulnerabilities: what this server runs, which advisories affect it, and which probes
//! can really hurt it.
//!
//! Design and contract:
//! - [`version`] compares versions by each ecosystem's rules (dpkg, rpmvercmp, semver,
//!   dotted); [`advisory`] parses the published feeds (OSV, CISA KEV, the Debian security
//!   tracker) into one model of advisories with affected ranges.
//! - [`VulnDb`] keeps advisories in its own `vuln_*` tables of an SQLite file (normally
//!   the scantriage store): bulk import in one transaction with prepared statements,
//!   indexes by package, product and CVE id. It never touches the store's own tables,
//!   and only reads `findings` (for [`VulnDb::probes`]).
//! - [`discover`] finds packages, listening sockets with their processes and web
//!   applications without root-only assumptions; [`PackageMap`] maps package and process
//!   names onto the signatures' product vocabulary, as data users can extend.
//! - [`vulnerable_signatures`] is computed once at startup: per signature, the first of
//!   its CVEs that affects an installed version. The assessor looks it up by index, so
//!   the hot path pays one map probe per matched signature and nothing else.
//! - Nothing here reads the clock on its own: callers pass `now_ms`.

#![warn(missing_docs)]

pub mod advisory;
mod db;
pub mod discover;
pub mod kev;
mod packages;
pub mod update;
pub mod version;

pub use db::{Affect, ImportStats, ProbeStats, SourceStatus, VulnDb};
pub use discover::{Discovery, Installed};
pub use packages::{PackageMap, DEFAULT_MAP};
pub use scantriage_assess::VulnMatch;

use scantriage_assess::Inventory;
use scantriage_core::SignatureIndex;
use scantriage_detect::RuleSet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Everything that can go wrong here.
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An SQLite call failed.
    #[error("advisory database {}: {op}: {source}", path.display())]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// What it was doing.
        op: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A feed is not in the expected format.
    #[error("{0}")]
    Format(String),
    /// A download failed (no network, refused, HTTP error).
    #[error("cannot download {url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A downloaded feed did not verify: the database was left as it was.
    #[error("update rejected, the database was left as it was: {0}")]
    Verify(String),
}

impl VulnError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> VulnError {
        VulnError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The installed products of a declared inventory (the config's
/// `[[inventory.product]]`), for matching by product name.
pub fn declared(inv: &Inventory) -> Vec<Installed> {
    inv.products()
        .map(|p| Installed {
            product: p.name.clone(),
            version: p.version.clone(),
            package: None,
            source_package: None,
            ecosystem: None,
            origin: "config".into(),
            exposed: false,
            listens: Vec::new(),
        })
        .collect()
}

/// The declared inventory followed by the discovered products. A declared product with a
/// version replaces discovered entries of the same product without a package (its
/// version is what the administrator says runs), packaged entries are kept (their
/// package versions match distribution advisories exactly).
pub fn merge(declared: Vec<Installed>, discovered: &[Installed]) -> Vec<Installed> {
    let mut out = declared;
    for d in discovered {
        let shadowed = d.package.is_none()
            && out
                .iter()
                .any(|o| o.origin == "config" && o.product == d.product && o.version.is_some());
        if !shadowed {
            out.push(d.clone());
        } else if let Some(o) = out
            .iter_mut()
            .find(|o| o.origin == "config" && o.product == d.product)
        {
            o.exposed |= d.exposed;
            o.listens.extend(d.listens.iter().cloned());
        }
    }
    for o in &mut out {
        if o.origin == "config" {
            let (exposed, listens): (bool, Vec<String>) = discovered
                .iter()
                .filter(|d| d.product == o.product)
                .fold((o.exposed, o.listens.clone()), |(e, mut l), d| {
                    for x in &d.listens {
                        if !l.contains(x) {
                            l.push(x.clone());
                        }
                    }
                    (e || d.exposed, l)
                });
            o.exposed = exposed;
            o.listens = listens;
        }
    }
    out
}

/// Adds discovered products to an assessment inventory (products it does not list yet,
/// with their versions), so that relevance sees them too. Returns how many were added.
pub fn extend_inventory(
    inv: &mut Inventory,
    vocab: &scantriage_detect::Vocabulary,
    discovered: &[Installed],
) -> usize {
    let mut n = 0;
    for d in discovered {
        if !inv.has(&d.product) && inv.add(vocab, &d.product, d.version.clone()).is_ok() {
            n += 1;
        }
    }
    n
}

/// Per CVE, the installed product and version it affects, with the fixing version.
pub fn affected_cves(
    installed: &[Installed],
    db: &VulnDb,
) -> Result<HashMap<String, VulnMatch>, VulnError> {
    let mut out: HashMap<String, VulnMatch> = HashMap::new();
    for inst in installed {
        let Some(version) = &inst.version else {
            continue;
        };
        for a in db.affecting(inst)? {
            for cve in &a.cves {
                out.entry(cve.clone()).or_insert_with(|| {
                    VulnMatch::new(
                        cve,
                        &inst.product,
                        version,
                        inst.package.as_deref(),
                        a.fixed.as_deref(),
                        a.known_exploited,
                    )
                });
            }
        }
    }
    Ok(out)
}

/// Per signature, the first of its CVEs that affects an installed version. Computed once
/// at startup and handed to [`scantriage_assess::Assessor::with_vulnerable`].
pub fn vulnerable_signatures(
    rules: &RuleSet,
    installed: &[Installed],
    db: &VulnDb,
) -> Result<HashMap<SignatureIndex, VulnMatch>, VulnError> {
    let cves = affected_cves(installed, db)?;
    let mut out = HashMap::new();
    for (i, sig) in rules.signatures().iter().enumerate() {
        if let Some(m) = sig.cves.iter().find_map(|c| cves.get(c)) {
            out.insert(i as SignatureIndex, m.clone());
        }
    }
    Ok(out)
}
