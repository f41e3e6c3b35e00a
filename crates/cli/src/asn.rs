//! Autonomous systems of sources, from a local MaxMind-format ASN database
//! (`campaigns.asn_db`, e.g. GeoLite2-ASN.mmdb or any database with the
//! `autonomous_system_number` / `autonomous_system_organization` fields).

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One autonomous system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asn {
    /// Its number.
    pub number: u32,
    /// Its organisation, when the database names it.
    pub org: Option<String>,
}

/// An opened ASN database with a per-address cache.
pub struct AsnDb {
    reader: Arc<maxminddb::Reader<Vec<u8>>>,
    cache: HashMap<IpAddr, Option<Asn>>,
    /// Lookups that failed on a corrupt record (counted, not fatal).
    pub errors: u64,
}

impl AsnDb {
    /// Opens the database, with an error naming the file. A file opened before by this
    /// process (a long-running `watch` analyses many times) is read once while unchanged.
    pub fn open(path: &Path) -> Result<AsnDb> {
        type Opened = Mutex<
            Vec<(
                PathBuf,
                std::time::SystemTime,
                Arc<maxminddb::Reader<Vec<u8>>>,
            )>,
        >;
        static OPENED: OnceLock<Opened> = OnceLock::new();
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .with_context(|| format!("campaigns.asn_db: cannot read {}", path.display()))?;
        let mut opened = OPENED
            .get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let reader = match opened.iter().find(|(p, m, _)| p == path && *m == modified) {
            Some((_, _, r)) => Arc::clone(r),
            None => {
                let r = Arc::new(maxminddb::Reader::open_readfile(path).with_context(|| {
                    format!(
                        "campaigns.asn_db: cannot read {} as a MaxMind database",
                        path.display()
                    )
                })?);
                opened.retain(|(p, _, _)| p != path);
                opened.push((path.to_path_buf(), modified, Arc::clone(&r)));
                r
            }
        };
        Ok(AsnDb {
            reader,
            cache: HashMap::new(),
            errors: 0,
        })
    }

    /// The autonomous system announcing `ip`, if the database knows it.
    pub fn lookup(&mut self, ip: IpAddr) -> Option<Asn> {
        if let Some(hit) = self.cache.get(&ip) {
            return hit.clone();
        }
        let found = match self
            .reader
            .lookup(ip)
            .and_then(|r| r.decode::<maxminddb::geoip2::Asn<'_>>())
        {
            Ok(Some(a)) => a.autonomous_system_number.map(|number| Asn {
                number,
                org: a.autonomous_system_organization.map(str::to_owned),
            }),
            Ok(None) => None,
            Err(_) => {
                self.errors += 1;
                None
            }
        };
        self.cache.insert(ip, found.clone());
        found
    }

    /// Distinct autonomous systems of `sources` and the ones with most sources (at most `top`).
    pub fn group<I: IntoIterator<Item = IpAddr>>(
        &mut self,
        sources: I,
        top: usize,
    ) -> (u64, Vec<scantriage_report::AsnCount>) {
        let mut by: HashMap<u32, (u64, Option<String>)> = HashMap::new();
        for ip in sources {
            if let Some(a) = self.lookup(ip) {
                let e = by.entry(a.number).or_insert((0, a.org));
                e.0 += 1;
            }
        }
        let distinct = by.len() as u64;
        let mut list: Vec<scantriage_report::AsnCount> = by
            .into_iter()
            .map(|(asn, (sources, org))| scantriage_report::AsnCount { asn, org, sources })
            .collect();
        list.sort_by(|a, b| b.sources.cmp(&a.sources).then(a.asn.cmp(&b.asn)));
        list.truncate(top);
        (distinct, list)
    }
}
