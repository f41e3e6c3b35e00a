//! The advisory database: its own tables in an SQLite file (normally the scantriage
//! store), bulk import in one transaction, and indexed lookups by package, product and
//! CVE id.

use crate::advisory::{
    detect_kind, for_each_zip_json, parse_debian_tracker, parse_kev, parse_osv, Advisory, FeedKind,
    KevCatalog, SOURCE_DEBIAN_TRACKER, SOURCE_KEV, SOURCE_OSV,
};
use crate::discover::{Discovery, Installed};
use crate::packages::PackageMap;
use crate::version::{compare, Scheme};
use crate::VulnError;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vuln_advisories (
    adv       INTEGER PRIMARY KEY,
    source    TEXT NOT NULL,              -- osv | debian-tracker
    id        TEXT NOT NULL,
    summary   TEXT NOT NULL,
    modified  TEXT NOT NULL,
    UNIQUE (source, id)
);
CREATE TABLE IF NOT EXISTS vuln_cves (
    cve  TEXT    NOT NULL,
    adv  INTEGER NOT NULL,
    PRIMARY KEY (cve, adv)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vuln_cves_by_adv ON vuln_cves (adv);
CREATE TABLE IF NOT EXISTS vuln_ranges (
    adv            INTEGER NOT NULL,
    ecosystem      TEXT NOT NULL,
    package        TEXT NOT NULL,
    product        TEXT,                  -- from the package map at import time
    scheme         TEXT NOT NULL,         -- debian | rpm | semver | dotted
    introduced     TEXT,
    fixed          TEXT,
    last_affected  TEXT
);
CREATE INDEX IF NOT EXISTS vuln_ranges_by_adv ON vuln_ranges (adv);
CREATE INDEX IF NOT EXISTS vuln_ranges_by_package ON vuln_ranges (package);
CREATE INDEX IF NOT EXISTS vuln_ranges_by_product ON vuln_ranges (product) WHERE product IS NOT NULL;
CREATE TABLE IF NOT EXISTS vuln_kev (
    cve          TEXT PRIMARY KEY,
    vendor       TEXT NOT NULL,
    product      TEXT NOT NULL,
    name         TEXT NOT NULL,
    date_added   TEXT NOT NULL,
    due_date     TEXT NOT NULL,
    ransomware   INTEGER NOT NULL,
    description  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vuln_imports (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    origin       TEXT NOT NULL,
    imported_ms  INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    version      TEXT NOT NULL            -- catalog version or newest modified time
);
CREATE TABLE IF NOT EXISTS vuln_inventory (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    taken_ms  INTEGER NOT NULL,
    json      TEXT NOT NULL               -- a serialised Discovery
);
";

/// What one import added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    /// Files (or archive members) read.
    pub files: u64,
    /// Advisories stored, per source.
    pub advisories: BTreeMap<String, u64>,
    /// Affected ranges stored.
    pub ranges: u64,
    /// KEV entries stored.
    pub kev: u64,
    /// Files that did not parse, with why (the rest of the import goes on).
    pub errors: Vec<String>,
}

impl ImportStats {
    /// Records stored in all.
    pub fn records(&self) -> u64 {
        self.advisories.values().sum::<u64>() + self.kev
    }
}

/// What one source holds, for `vulndb status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// `osv`, `debian-tracker` or `kev`.
    pub source: String,
    /// Records held.
    pub records: u64,
    /// Affected ranges held.
    pub ranges: u64,
    /// Ecosystems and their record counts (OSV).
    pub ecosystems: BTreeMap<String, u64>,
    /// When the latest import of it finished (ms since the epoch).
    pub imported_ms: Option<i64>,
    /// Where the latest import came from.
    pub origin: Option<String>,
    /// Catalog version or newest modification time of the latest import.
    pub version: Option<String>,
}

/// One advisory that affects an installed product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affect {
    /// Advisory id.
    pub advisory: String,
    /// Its source.
    pub source: String,
    /// Its summary.
    pub summary: String,
    /// CVE ids it covers.
    pub cves: Vec<String>,
    /// Ecosystem and package of the affected range that matched.
    pub ecosystem: String,
    /// Package of the affected range.
    pub package: String,
    /// The version that fixes it, when one exists.
    pub fixed: Option<String>,
    /// One of its CVEs is in the KEV catalog.
    pub known_exploited: bool,
}

/// How often a CVE was probed, from the store's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeStats {
    /// Findings naming it.
    pub requests: u64,
    /// Distinct sources.
    pub sources: u64,
    /// Last time, ms since the epoch.
    pub last_seen_ms: i64,
}

/// The advisory database.
#[derive(Debug)]
pub struct VulnDb {
    conn: Connection,
    path: PathBuf,
}

fn sql<'p>(path: &'p Path, op: &'static str) -> impl Fn(rusqlite::Error) -> VulnError + 'p {
    move |source| VulnError::Sqlite {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Streams advisories into one open transaction with prepared statements.
struct Loader<'t> {
    tx: &'t Transaction<'t>,
    map: &'t PackageMap,
    stats: ImportStats,
    newest: String,
}

impl Loader<'_> {
    fn add(&mut self, a: &Advisory) -> rusqlite::Result<()> {
        let tx = self.tx;
        let old: Option<i64> = tx
            .prepare_cached("SELECT adv FROM vuln_advisories WHERE source = ?1 AND id = ?2")?
            .query_row(params![a.source, a.id], |r| r.get(0))
            .optional()?;
        let adv = match old {
            Some(adv) => {
                tx.prepare_cached("DELETE FROM vuln_ranges WHERE adv = ?1")?
                    .execute([adv])?;
                tx.prepare_cached("DELETE FROM vuln_cves WHERE adv = ?1")?
                    .execute([adv])?;
                tx.prepare_cached(
                    "UPDATE vuln_advisories SET summary = ?2, modified = ?3 WHERE adv = ?1",
                )?
                .execute(params![adv, a.summary, a.modified])?;
                adv
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO vuln_advisories (source, id, summary, modified) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![a.source, a.id, a.summary, a.modified])?;
                tx.last_insert_rowid()
            }
        };
        let mut ins_cve =
            tx.prepare_cached("INSERT OR IGNORE INTO vuln_cves (cve, adv) VALUES (?1, ?2)")?;
        for c in &a.cves {
            ins_cve.execute(params![c, adv])?;
        }
        let mut ins = tx.prepare_cached(
            "INSERT INTO vuln_ranges (adv, ecosystem, package, product, scheme, introduced, fixed, last_affected) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for r in &a.affected {
            let product = self.map.product_for_package(&r.package);
            ins.execute(params![
                adv,
                r.ecosystem,
                r.package,
                product,
                r.scheme.as_str(),
                r.introduced,
                r.fixed,
                r.last_affected
            ])?;
            self.stats.ranges += 1;
        }
        *self
            .stats
            .advisories
            .entry(a.source.to_string())
            .or_default() += 1;
        if a.modified > self.newest {
            self.newest = a.modified.clone();
        }
        Ok(())
    }

    fn add_kev(&mut self, k: &KevCatalog) -> rusqlite::Result<()> {
        let mut ins = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO vuln_kev (cve, vendor, product, name, date_added, due_date, ransomware, description) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in &k.vulnerabilities {
            ins.execute(params![
                e.cve_id,
                e.vendor_project,
                e.product,
                e.vulnerability_name,
                e.date_added,
                e.due_date,
                e.known_ransomware_campaign_use == "Known",
                e.short_description
            ])?;
            self.stats.kev += 1;
        }
        Ok(())
    }
}

/// Advisories, KEV entries or errors from one file's bytes.
enum Parsed {
    Advisories(Vec<Advisory>),
    Kev(KevCatalog),
}

fn parse_bytes(name: &str, bytes: &[u8]) -> Result<Parsed, String> {
    let r = match detect_kind(bytes) {
        FeedKind::Kev => parse_kev(bytes).map(Parsed::Kev),
        FeedKind::DebianTracker => parse_debian_tracker(bytes).map(Parsed::Advisories),
        FeedKind::Osv => parse_osv(bytes).map(Parsed::Advisories),
    };
    r.map_err(|e| format!("{name}: {e}"))
}

impl VulnDb {
    /// Opens (or creates) the advisory tables in the SQLite file at `path`. When that
    /// file is the scantriage store, open the store first so that its schema exists.
    pub fn open(path: &Path) -> Result<VulnDb, VulnError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| VulnError::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(sql(path, "open"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql(path, "open"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql(path, "open"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sql(path, "create the advisory tables"))?;
        Ok(VulnDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// An empty database in memory (for tests).
    pub fn open_in_memory() -> Result<VulnDb, VulnError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(sql(&path, "open"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sql(&path, "create the advisory tables"))?;
        Ok(VulnDb { conn, path })
    }

    /// The file it lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Imports files, directories (searched recursively for `*.json` and `*.zip`) and OSV
    /// zip archives, in one transaction. Advisories already present (same source and id)
    /// are replaced. A file that does not parse is reported in the stats and skipped.
    /// `replace` names sources whose old records are deleted first (for `update`).
    pub fn import(
        &mut self,
        paths: &[PathBuf],
        map: &PackageMap,
        replace: &[&str],
        now_ms: i64,
    ) -> Result<ImportStats, VulnError> {
        self.import_inner(paths, map, replace, now_ms, false)
    }

    /// Like [`VulnDb::import`], but verified: unless every file parsed and held
    /// records, the transaction is rolled back and the database stays as it was.
    pub fn import_checked(
        &mut self,
        paths: &[PathBuf],
        map: &PackageMap,
        replace: &[&str],
        now_ms: i64,
    ) -> Result<ImportStats, VulnError> {
        self.import_inner(paths, map, replace, now_ms, true)
    }

    fn import_inner(
        &mut self,
        paths: &[PathBuf],
        map: &PackageMap,
        replace: &[&str],
        now_ms: i64,
        strict: bool,
    ) -> Result<ImportStats, VulnError> {
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files)?;
        }
        let path = self.path.clone();
        let e = sql(&path, "import advisories");
        let tx = self.conn.transaction().map_err(&e)?;
        for s in replace {
            delete_source(&tx, s).map_err(&e)?;
        }
        let mut l = Loader {
            tx: &tx,
            map,
            stats: ImportStats::default(),
            newest: String::new(),
        };
        let mut kev_version = None;
        let mut per_file: Vec<(String, &'static str, u64, String)> = Vec::new();
        for f in &files {
            let name = f.display().to_string();
            let before = l.stats.records();
            let mut source = SOURCE_OSV;
            l.newest.clear();
            if f.extension().is_some_and(|x| x == "zip") {
                let mut inner = Vec::new();
                let r = for_each_zip_json(f, |member, bytes| {
                    l.stats.files += 1;
                    match parse_bytes(member, bytes) {
                        Ok(Parsed::Advisories(v)) => {
                            for a in &v {
                                l.add(a).map_err(&e)?;
                            }
                        }
                        Ok(Parsed::Kev(_)) => {}
                        Err(m) => inner.push(format!("{name}: {m}")),
                    }
                    Ok(())
                });
                if let Err(err) = r {
                    l.stats.errors.push(err.to_string());
                }
                inner.truncate(20);
                l.stats.errors.extend(inner);
            } else {
                l.stats.files += 1;
                let bytes = std::fs::read(f).map_err(|err| VulnError::io(f, err))?;
                match parse_bytes(&name, &bytes) {
                    Ok(Parsed::Advisories(v)) => {
                        if v.first().is_some_and(|a| a.source == SOURCE_DEBIAN_TRACKER) {
                            source = SOURCE_DEBIAN_TRACKER;
                        }
                        for a in &v {
                            l.add(a).map_err(&e)?;
                        }
                    }
                    Ok(Parsed::Kev(k)) => {
                        source = SOURCE_KEV;
                        kev_version = Some(k.catalog_version.clone());
                        l.add_kev(&k).map_err(&e)?;
                    }
                    Err(m) => l.stats.errors.push(m),
                }
            }
            let n = l.stats.records() - before;
            let version = if source == SOURCE_KEV {
                kev_version.clone().unwrap_or_default()
            } else {
                l.newest.clone()
            };
            if n > 0 {
                per_file.push((name, source, n, version));
            }
        }
        let stats = l.stats;
        if strict {
            if let Some(err) = stats.errors.first() {
                return Err(VulnError::Verify(err.clone()));
            }
            let empty: Vec<String> = files
                .iter()
                .map(|f| f.display().to_string())
                .filter(|f| !per_file.iter().any(|p| &p.0 == f))
                .collect();
            if !empty.is_empty() {
                return Err(VulnError::Verify(format!(
                    "no records in {}",
                    empty.join(", ")
                )));
            }
        }
        for (origin, source, n, version) in per_file {
            tx.execute(
                "INSERT INTO vuln_imports (source, origin, imported_ms, records, version) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![source, origin, now_ms, n, version],
            )
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)?;
        Ok(stats)
    }

    /// What is loaded, per source.
    pub fn status(&self) -> Result<Vec<SourceStatus>, VulnError> {
        let e = sql(&self.path, "read the status");
        let mut out = Vec::new();
        for source in [SOURCE_OSV, SOURCE_DEBIAN_TRACKER, SOURCE_KEV] {
            let (records, ranges, ecosystems) = if source == SOURCE_KEV {
                let n: u64 = self
                    .conn
                    .query_row("SELECT count(*) FROM vuln_kev", [], |r| r.get(0))
                    .map_err(&e)?;
                (n, 0, BTreeMap::new())
            } else {
                let n: u64 = self
                    .conn
                    .query_row(
                        "SELECT count(*) FROM vuln_advisories WHERE source = ?1",
                        [source],
                        |r| r.get(0),
                    )
                    .map_err(&e)?;
                let mut st = self
                    .conn
                    .prepare(
                        "SELECT r.ecosystem, count(DISTINCT r.adv), count(*) FROM vuln_ranges r \
                         JOIN vuln_advisories a ON a.adv = r.adv WHERE a.source = ?1 GROUP BY r.ecosystem",
                    )
                    .map_err(&e)?;
                let mut eco = BTreeMap::new();
                let mut ranges = 0u64;
                let rows = st
                    .query_map([source], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, u64>(1)?,
                            r.get::<_, u64>(2)?,
                        ))
                    })
                    .map_err(&e)?;
                for row in rows {
                    let (k, advs, n) = row.map_err(&e)?;
                    eco.insert(k, advs);
                    ranges += n;
                }
                (n, ranges, eco)
            };
            let last: Option<(i64, String, String)> = self
                .conn
                .query_row(
                    "SELECT imported_ms, origin, version FROM vuln_imports WHERE source = ?1 ORDER BY imported_ms DESC, id DESC LIMIT 1",
                    [source],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(&e)?;
            out.push(SourceStatus {
                source: source.to_string(),
                records,
                ranges,
                ecosystems,
                imported_ms: last.as_ref().map(|l| l.0),
                origin: last.as_ref().map(|l| l.1.clone()),
                version: last.map(|l| l.2).filter(|v| !v.is_empty()),
            });
        }
        Ok(out)
    }

    /// Whether a CVE is in the KEV catalog.
    pub fn known_exploited(&self, cve: &str) -> Result<bool, VulnError> {
        self.conn
            .prepare_cached("SELECT 1 FROM vuln_kev WHERE cve = ?1")
            .and_then(|mut s| s.exists([cve]))
            .map_err(sql(&self.path, "look up KEV"))
    }

    /// The CVE ids of the imported KEV catalog (empty when none was imported).
    pub fn kev_ids(&self) -> Result<std::collections::HashSet<String>, VulnError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT cve FROM vuln_kev")
            .map_err(sql(&self.path, "read KEV"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql(&self.path, "read KEV"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql(&self.path, "read KEV"))
    }

    /// Advisory ids that cover a CVE.
    pub fn advisories_for_cve(&self, cve: &str) -> Result<Vec<String>, VulnError> {
        let e = sql(&self.path, "look up a CVE");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT a.id FROM vuln_cves c JOIN vuln_advisories a ON a.adv = c.adv WHERE c.cve = ?1 ORDER BY a.id",
            )
            .map_err(&e)?;
        let v = st
            .query_map([cve], |r| r.get(0))
            .map_err(&e)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(&e);
        v
    }

    /// The advisories that affect an installed product at its version. Packaged
    /// products are matched by package and source package within the host's ecosystem
    /// (`Debian:13` matches `Debian:13` and `Debian:13:...`); declared products and web
    /// applications by product name across ecosystems. Without a version, nothing can be
    /// said and nothing is returned.
    pub fn affecting(&self, inst: &Installed) -> Result<Vec<Affect>, VulnError> {
        let Some(version) = inst.version.as_deref() else {
            return Ok(Vec::new());
        };
        let e = sql(&self.path, "match advisories");
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = {
            let map = |r: &rusqlite::Row<'_>| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            };
            const COLS: &str =
                "SELECT adv, ecosystem, package, scheme, introduced, fixed, last_affected FROM vuln_ranges";
            if let Some(pkg) = inst.package.as_deref() {
                let src = inst.source_package.as_deref().unwrap_or(pkg);
                let mut st = self
                    .conn
                    .prepare_cached(&format!("{COLS} WHERE package = ?1 OR package = ?2"))
                    .map_err(&e)?;
                let v = st
                    .query_map([pkg, src], map)
                    .map_err(&e)?
                    .collect::<Result<_, _>>()
                    .map_err(&e)?;
                v
            } else {
                let mut st = self
                    .conn
                    .prepare_cached(&format!("{COLS} WHERE product = ?1"))
                    .map_err(&e)?;
                let v = st
                    .query_map([&inst.product], map)
                    .map_err(&e)?
                    .collect::<Result<_, _>>()
                    .map_err(&e)?;
                v
            }
        };
        let packaged_scheme = match inst.origin.as_str() {
            "dpkg" => Some(Scheme::Debian),
            "rpm" => Some(Scheme::Rpm),
            _ => None,
        };
        // adv → (ecosystem, package, fixed)
        let mut hits: BTreeMap<i64, (String, String, Option<String>)> = BTreeMap::new();
        for (adv, eco, package, scheme, introduced, fixed, last_affected) in rows {
            let Some(scheme) = Scheme::parse(&scheme) else {
                continue;
            };
            if inst.package.is_some() {
                if let Some(want) = packaged_scheme {
                    if scheme != want {
                        continue;
                    }
                }
                if let Some(host) = inst.ecosystem.as_deref() {
                    if !(eco == host || eco.starts_with(&format!("{host}:"))) {
                        continue;
                    }
                }
            }
            let range = crate::advisory::AffectedRange {
                ecosystem: eco,
                package,
                scheme,
                introduced,
                fixed,
                last_affected,
            };
            if !range.contains(version) {
                continue;
            }
            let crate::advisory::AffectedRange {
                ecosystem,
                package,
                fixed,
                ..
            } = range;
            match hits.get_mut(&adv) {
                // Keep the lowest fix above the installed version.
                Some(h) => {
                    if let (Some(old), Some(new)) = (&h.2, &fixed) {
                        if compare(scheme, new, old).is_lt() {
                            h.2 = fixed;
                        }
                    }
                }
                None => {
                    hits.insert(adv, (ecosystem, package, fixed));
                }
            }
        }
        let mut out = Vec::new();
        for (adv, (ecosystem, package, fixed)) in hits {
            let (source, id, summary): (String, String, String) = self
                .conn
                .prepare_cached("SELECT source, id, summary FROM vuln_advisories WHERE adv = ?1")
                .and_then(|mut s| s.query_row([adv], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
                .map_err(&e)?;
            let cves: Vec<String> = self
                .conn
                .prepare_cached("SELECT cve FROM vuln_cves WHERE adv = ?1 ORDER BY cve")
                .and_then(|mut s| {
                    s.query_map([adv], |r| r.get(0))?
                        .collect::<Result<Vec<String>, _>>()
                })
                .map_err(&e)?;
            let mut known_exploited = false;
            for c in &cves {
                known_exploited |= self.known_exploited(c)?;
            }
            out.push(Affect {
                advisory: id,
                source,
                summary,
                cves,
                ecosystem,
                package,
                fixed,
                known_exploited,
            });
        }
        Ok(out)
    }

    /// Saves a discovery as the current inventory (replacing the previous one).
    pub fn save_inventory(&self, d: &Discovery) -> Result<(), VulnError> {
        let json = serde_json::to_string(d).map_err(|e| VulnError::Format(e.to_string()))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO vuln_inventory (id, taken_ms, json) VALUES (1, ?1, ?2)",
                params![d.taken_ms, json],
            )
            .map(|_| ())
            .map_err(sql(&self.path, "save the inventory"))
    }

    /// The saved discovery, if any.
    pub fn load_inventory(&self) -> Result<Option<Discovery>, VulnError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM vuln_inventory WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql(&self.path, "load the inventory"))?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| VulnError::Format(e.to_string())))
            .transpose()
    }

    /// Per CVE, how often findings in the store named it, from how many sources, and
    /// when last. Empty when the file holds no findings table.
    pub fn probes(&self) -> Result<HashMap<String, ProbeStats>, VulnError> {
        let e = sql(&self.path, "read the findings");
        let has: bool = self
            .conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'findings'")
            .and_then(|mut s| s.exists([]))
            .map_err(&e)?;
        let mut out: HashMap<String, (ProbeStats, std::collections::HashSet<String>)> =
            HashMap::new();
        if !has {
            return Ok(HashMap::new());
        }
        let mut st = self
            .conn
            .prepare("SELECT cves, source, time_ms FROM findings WHERE cves <> '[]'")
            .map_err(&e)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(&e)?;
        for row in rows {
            let (cves, source, t) = row.map_err(&e)?;
            let cves: Vec<String> = serde_json::from_str(&cves).unwrap_or_default();
            for c in cves {
                let (s, srcs) = out.entry(c).or_default();
                s.requests += 1;
                s.last_seen_ms = s.last_seen_ms.max(t);
                srcs.insert(source.clone());
            }
        }
        Ok(out
            .into_iter()
            .map(|(c, (mut s, srcs))| {
                s.sources = srcs.len() as u64;
                (c, s)
            })
            .collect())
    }
}

fn delete_source(tx: &Transaction<'_>, source: &str) -> rusqlite::Result<()> {
    if source == SOURCE_KEV {
        tx.execute("DELETE FROM vuln_kev", [])?;
        return Ok(());
    }
    tx.execute(
        "DELETE FROM vuln_ranges WHERE adv IN (SELECT adv FROM vuln_advisories WHERE source = ?1)",
        [source],
    )?;
    tx.execute(
        "DELETE FROM vuln_cves WHERE adv IN (SELECT adv FROM vuln_advisories WHERE source = ?1)",
        [source],
    )?;
    tx.execute("DELETE FROM vuln_advisories WHERE source = ?1", [source])?;
    Ok(())
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), VulnError> {
    let meta = std::fs::metadata(p).map_err(|e| VulnError::io(p, e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| VulnError::io(p, e))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "json" || x == "zip") {
                collect(&e, out)?;
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
    Ok(())
}
