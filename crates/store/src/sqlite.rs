//! The embedded SQLite back end.

use crate::{schema, Checkpoint, RunRecord, Store, StoreCounts, StoreError, StoredCampaign};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use scantriage_core::{
    request_path, Decision, Finding, PersonAction, PersonVerdict, SourceSummary, Suppressions,
    Timestamp, Verdict, VerdictScope,
};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Display;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// How long a writer waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const FINDING_COLS: &str = "time_ms, offset_min, source, input, line, request, status, \
     user_agent, signatures, cves, category, verdict, why";

const SOURCE_COLS: &str = "ip, decision, verdict, events, findings, signatures, cves, reasons, \
     first_seen_ms, first_seen_offset_min, last_seen_ms, last_seen_offset_min, duration_secs, \
     n_benign, n_noise, n_unknown, n_relevant, n_urgent";

const DECISION_COLS: &str = "source, kind, duration_secs, reasons, made_by, at_ms, at_offset_min";

/// The decision in force per source (its latest, by event time then insertion order),
/// kept when it is `watch` or `block` and expires after `?1`.
fn active_sql() -> String {
    format!(
        "SELECT {DECISION_COLS} FROM decisions AS d \
                 WHERE d.expires_ms > ?1 AND d.kind IN ('watch', 'block') \
                   AND d.id = (SELECT l.id FROM decisions AS l WHERE l.source = d.source \
                               ORDER BY l.at_ms DESC, l.id DESC LIMIT 1) \
                 ORDER BY d.at_ms DESC, d.id DESC"
    )
}

/// A [`Store`] in one SQLite file (WAL mode, foreign keys on, 5 s busy timeout).
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens or creates the store at `path`, creating parent directories and the schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op: "open",
            source,
        })?;
        Self::setup(conn, path.to_path_buf(), true)
    }

    /// A number that changes when another connection (or process) commits to the store.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err("read data_version", e))
    }

    /// Opens a fresh store that lives in memory only (for tests and dry runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            op: "open",
            source,
        })?;
        Self::setup(conn, path, false)
    }

    /// The default database path.
    ///
    /// `$SCANTRIAGE_DB` when set; else, for root, `/var/lib/scantriage/scantriage.db`
    /// (the system store a service writes); else `$XDG_STATE_HOME/scantriage/scantriage.db`
    /// when that is an absolute path; else `~/.local/state/scantriage/scantriage.db`;
    /// with no home directory, `scantriage.db` in the working directory.
    pub fn default_path() -> PathBuf {
        default_path_from(|k| std::env::var_os(k), running_as_root())
    }

    /// The path this store was opened with (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes how long a write waits for another process's lock (default 5 s).
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|source| self.err("set busy timeout", source))
    }

    fn setup(mut conn: Connection, path: PathBuf, file: bool) -> Result<Self, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            op: "open",
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        if file {
            // Returns the mode in force; a file system without shared memory keeps its
            // old mode, which is slower for concurrent readers but still correct.
            let _mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(err)?;
            // In WAL mode NORMAL cannot corrupt the database; a power cut may lose the
            // last transactions, which the checkpoints then simply re-analyse.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(err)?;
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(32);
        schema::migrate(&mut conn, &path)?;
        Ok(SqliteStore { conn, path })
    }

    pub(crate) fn err(&self, op: &'static str, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            op,
            source,
        }
    }
}

impl Store for SqliteStore {
    fn checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, StoreError> {
        let op = "read checkpoint";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT key, fingerprint, byte_offset, lines, updated_ms \
                 FROM checkpoints WHERE key = ?1",
            )
            .map_err(|e| self.err(op, e))?;
        stmt.query_row([key], |r| {
            Ok(Checkpoint {
                key: r.get(0)?,
                fingerprint: r.get(1)?,
                offset: r.get(2)?,
                lines: r.get(3)?,
                updated_ms: r.get(4)?,
            })
        })
        .optional()
        .map_err(|e| self.err(op, e))
    }

    fn load_sources(&self, ips: &[IpAddr]) -> Result<HashMap<IpAddr, SourceSummary>, StoreError> {
        let op = "load sources";
        // One read transaction: a consistent snapshot even while a writer commits.
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.err(op, e))?;
        let mut out = HashMap::with_capacity(ips.len());
        {
            let mut stmt = tx
                .prepare_cached(&format!("SELECT {SOURCE_COLS} FROM sources WHERE ip = ?1"))
                .map_err(|e| self.err(op, e))?;
            for ip in ips {
                if out.contains_key(ip) {
                    continue;
                }
                let found = stmt
                    .query_row([ip.to_string()], source_from_row)
                    .optional()
                    .map_err(|e| self.err(op, e))?;
                if let Some(s) = found {
                    out.insert(*ip, s);
                }
            }
        }
        tx.finish().map_err(|e| self.err(op, e))?;
        Ok(out)
    }

    fn save_run(&mut self, run: &RunRecord<'_>) -> Result<(), StoreError> {
        let path = &self.path;
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            op: "save run",
            source,
        };
        // Immediate: take the write lock up front (waiting up to the busy timeout) rather
        // than fail half-way when a reader's snapshot would have to be upgraded.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        write_run(&tx, run).map_err(err)?;
        // Dropping `tx` on the error path above rolls everything back.
        tx.commit().map_err(err)
    }

    fn active_decisions(&self, now_ms: i64) -> Result<Vec<Decision>, StoreError> {
        let op = "read active decisions";
        let mut stmt = self
            .conn
            .prepare_cached(&active_sql())
            .map_err(|e| self.err(op, e))?;
        let rows = stmt
            .query_map([now_ms], decision_from_row)
            .map_err(|e| self.err(op, e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(op, e))
    }

    fn findings_for(&self, ip: IpAddr, limit: usize) -> Result<Vec<Finding>, StoreError> {
        let op = "read findings";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FINDING_COLS} FROM findings WHERE source = ?1 \
                 ORDER BY time_ms DESC, id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(op, e))?;
        let rows = stmt
            .query_map(params![ip.to_string(), limit], finding_from_row)
            .map_err(|e| self.err(op, e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(op, e))
    }

    fn source(&self, ip: IpAddr) -> Result<Option<SourceSummary>, StoreError> {
        let op = "read source";
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {SOURCE_COLS} FROM sources WHERE ip = ?1"))
            .map_err(|e| self.err(op, e))?;
        stmt.query_row([ip.to_string()], source_from_row)
            .optional()
            .map_err(|e| self.err(op, e))
    }

    fn save_campaigns(&mut self, campaigns: &[StoredCampaign]) -> Result<(), StoreError> {
        self.write_campaigns(campaigns)
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                op: "save campaigns (after a run)",
                source,
            })
    }

    fn latest_campaigns(&self, limit: usize) -> Result<Vec<StoredCampaign>, StoreError> {
        let op = "read campaigns";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, key, sources, requests, first_seen_ms, last_seen_ms, data \
                 FROM campaigns WHERE run_id = (SELECT max(run_id) FROM campaigns) \
                 ORDER BY sources DESC, requests DESC, kind, key LIMIT ?1",
            )
            .map_err(|e| self.err(op, e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(StoredCampaign {
                    kind: r.get(0)?,
                    key: r.get(1)?,
                    sources: r.get::<_, i64>(2)?.max(0) as u64,
                    requests: r.get::<_, i64>(3)?.max(0) as u64,
                    first_seen_ms: r.get(4)?,
                    last_seen_ms: r.get(5)?,
                    data: r.get(6)?,
                })
            })
            .map_err(|e| self.err(op, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(op, e))
    }

    fn add_verdict(
        &mut self,
        action: PersonAction,
        scope: &VerdictScope,
        author: &str,
        at_ms: i64,
        note: &str,
    ) -> Result<i64, StoreError> {
        action
            .check_scope(scope)
            .map_err(|source| StoreError::InvalidVerdict {
                path: self.path.clone(),
                source,
            })?;
        let op = "add verdict";
        self.conn
            .prepare_cached(
                "INSERT INTO verdicts (action, scope_kind, scope, author, at_ms, note) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    action.as_str(),
                    scope.kind(),
                    scope.value(),
                    author,
                    at_ms,
                    note
                ])
            })
            .map_err(|e| self.err(op, e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn revoke_verdict(&mut self, id: i64, at_ms: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE verdicts SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            )
            .and_then(|mut st| st.execute(params![id, at_ms]))
            .map_err(|e| self.err("revoke verdict", e))?;
        Ok(n > 0)
    }

    fn verdicts(&self, include_revoked: bool) -> Result<Vec<PersonVerdict>, StoreError> {
        let op = "read verdicts";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, action, scope_kind, scope, author, at_ms, note, revoked_ms \
                 FROM verdicts WHERE ?1 OR revoked_ms IS NULL ORDER BY at_ms, id",
            )
            .map_err(|e| self.err(op, e))?;
        let rows = stmt
            .query_map([include_revoked], verdict_from_row)
            .map_err(|e| self.err(op, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(op, e))
    }

    fn apply_suppressions(&mut self, sup: &Suppressions) -> Result<usize, StoreError> {
        if sup.is_empty() {
            return Ok(0);
        }
        let path = &self.path;
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            op: "apply suppressions",
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let n = suppress_findings(&tx, sup).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let op = "count rows";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM findings), \
                        (SELECT count(*) FROM sources), (SELECT count(*) FROM decisions), \
                        (SELECT coalesce(sum(lines), 0) FROM runs)",
            )
            .map_err(|e| self.err(op, e))?;
        stmt.query_row([], |r| {
            Ok(StoreCounts {
                runs: r.get(0)?,
                findings: r.get(1)?,
                sources: r.get(2)?,
                decisions: r.get(3)?,
                lines: r.get(4)?,
            })
        })
        .map_err(|e| self.err(op, e))
    }
}

impl SqliteStore {
    fn write_campaigns(&mut self, campaigns: &[StoredCampaign]) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let run_id: Option<i64> = tx.query_row("SELECT max(id) FROM runs", [], |r| r.get(0))?;
            let Some(run_id) = run_id else {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            };
            let mut stmt = tx.prepare_cached(
                "INSERT INTO campaigns (run_id, kind, key, sources, requests, first_seen_ms, \
                 last_seen_ms, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for c in campaigns {
                stmt.execute(rusqlite::params![
                    run_id,
                    c.kind,
                    c.key,
                    i64::try_from(c.sources).unwrap_or(i64::MAX),
                    i64::try_from(c.requests).unwrap_or(i64::MAX),
                    c.first_seen_ms,
                    c.last_seen_ms,
                    c.data
                ])?;
            }
        }
        tx.commit()
    }
}

/// Inserts everything in `run` inside the caller's transaction.
fn write_run(tx: &Transaction<'_>, run: &RunRecord<'_>) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO runs (started_ms, finished_ms, inputs, lines, parse_errors, findings, decisions) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        run.started_ms,
        run.finished_ms,
        json(run.inputs)?,
        run.lines,
        run.parse_errors,
        run.findings.len(),
        run.decisions.len(),
    ])?;
    let run_id = tx.last_insert_rowid();

    let mut stmt = tx.prepare_cached(
        "INSERT INTO findings (run_id, time_ms, offset_min, source, input, line, request, status, \
         user_agent, signatures, cves, category, verdict, why) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for f in run.findings {
        stmt.execute(params![
            run_id,
            f.time.unix_ms,
            f.time.offset_min,
            f.source.to_string(),
            f.input,
            f.line,
            f.request,
            f.status,
            f.user_agent,
            json(&f.signatures)?,
            json(&f.cves)?,
            f.category.as_str(),
            f.verdict.as_str(),
            f.why,
        ])?;
    }
    crate::query::add_to_summaries(tx, run.findings)?;

    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO sources ({SOURCE_COLS}, run_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (ip) DO UPDATE SET {}",
        // Every column replaced in place (cheaper than a delete and an insert).
        SOURCE_COLS
            .split(", ")
            .skip(1)
            .chain(["run_id"])
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    for s in run.sources {
        let [b, n, u, r, g] = s.by_verdict;
        stmt.execute(params![
            s.ip.to_string(),
            s.decision.as_str(),
            s.verdict.as_str(),
            s.events,
            s.findings,
            json(&s.signatures)?,
            json(&s.cves)?,
            json(&s.reasons)?,
            s.first_seen.unix_ms,
            s.first_seen.offset_min,
            s.last_seen.unix_ms,
            s.last_seen.offset_min,
            s.duration_secs,
            b,
            n,
            u,
            r,
            g,
            run_id,
        ])?;
    }

    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO decisions (run_id, {DECISION_COLS}, expires_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for d in run.decisions {
        stmt.execute(params![
            run_id,
            d.source.to_string(),
            d.kind.as_str(),
            d.duration_secs,
            json(&d.reasons)?,
            d.by,
            d.at.unix_ms,
            d.at.offset_min,
            expires_ms(d),
        ])?;
    }

    let mut stmt = tx.prepare_cached(
        "INSERT INTO checkpoints (key, fingerprint, byte_offset, lines, updated_ms, run_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             byte_offset = excluded.byte_offset, lines = excluded.lines, \
             updated_ms = excluded.updated_ms, run_id = excluded.run_id",
    )?;
    for c in run.checkpoints {
        stmt.execute(params![
            c.key,
            c.fingerprint,
            c.offset,
            c.lines,
            c.updated_ms,
            run_id
        ])?;
    }
    Ok(())
}

/// Verdicts a finding can leave the queue from.
const OPEN_VERDICTS: [Verdict; 3] = [Verdict::Unknown, Verdict::Relevant, Verdict::Urgent];

/// Turns the open findings that `sup` covers into noise and moves their source counts.
fn suppress_findings(tx: &Transaction<'_>, sup: &Suppressions) -> rusqlite::Result<usize> {
    // (finding id, source, old verdict, new reason)
    let mut changes: Vec<(i64, String, Verdict, String)> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, source, request, signatures, verdict, why FROM findings \
             WHERE verdict IN ('unknown', 'relevant', 'urgent')",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let sigs = json_list(r, 3)?;
            let request: String = r.get(2)?;
            let Some(vid) = sup.suppresses(&sigs, None, &request_path(&request)) else {
                continue;
            };
            let old: Verdict = parsed(r, 4)?;
            let why: String = r.get(5)?;
            let reason = format!("{} (was {old}: {why})", sup.reason(vid));
            changes.push((r.get(0)?, r.get(1)?, old, reason));
        }
    }
    let mut update =
        tx.prepare_cached("UPDATE findings SET verdict = 'noise', why = ?2 WHERE id = ?1")?;
    // Per source: how many findings left each open verdict.
    let mut moved: HashMap<&str, [u64; 5]> = HashMap::new();
    for (id, source, old, reason) in &changes {
        update.execute(params![id, reason])?;
        moved.entry(source.as_str()).or_default()[verdict_index(*old)] += 1;
    }
    let mut read = tx.prepare_cached(
        "SELECT n_benign, n_noise, n_unknown, n_relevant, n_urgent FROM sources WHERE ip = ?1",
    )?;
    let mut write = tx.prepare_cached(
        "UPDATE sources SET verdict = ?2, n_noise = ?3, n_unknown = ?4, n_relevant = ?5, \
         n_urgent = ?6 WHERE ip = ?1",
    )?;
    for (source, counts) in moved {
        let Some(mut n) = read
            .query_row([source], |r| {
                let mut n = [0u64; 5];
                for (i, c) in n.iter_mut().enumerate() {
                    *c = r.get(i)?;
                }
                Ok(n)
            })
            .optional()?
        else {
            continue;
        };
        for v in OPEN_VERDICTS {
            let i = verdict_index(v);
            let k = counts[i].min(n[i]);
            n[i] -= k;
            n[verdict_index(Verdict::Noise)] += k;
        }
        let worst = Verdict::ALL
            .iter()
            .zip(n)
            .filter(|&(_, c)| c > 0)
            .map(|(&v, _)| v)
            .max()
            .unwrap_or(Verdict::Benign);
        write.execute(params![source, worst.as_str(), n[1], n[2], n[3], n[4]])?;
    }
    Ok(changes.len())
}

fn verdict_index(v: Verdict) -> usize {
    Verdict::ALL.iter().position(|&x| x == v).unwrap_or(0)
}

fn verdict_from_row(r: &Row<'_>) -> rusqlite::Result<PersonVerdict> {
    let kind: String = r.get(2)?;
    let value: String = r.get(3)?;
    let scope = VerdictScope::parse(&kind, &value)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e)))?;
    Ok(PersonVerdict {
        id: r.get(0)?,
        action: parsed(r, 1)?,
        scope,
        author: r.get(4)?,
        at_ms: r.get(5)?,
        note: r.get(6)?,
        revoked_ms: r.get(7)?,
    })
}

/// When a decision stops holding: `at + duration`, saturating at the end of time.
fn expires_ms(d: &Decision) -> i64 {
    let ms = i64::try_from(d.duration_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    d.at.unix_ms.saturating_add(ms)
}

fn json(v: &[String]) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    let text: String = row.get(idx)?;
    text.parse().map_err(|e: T::Err| {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.to_string().into())
    })
}

fn json_list(row: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

fn timestamp(row: &Row<'_>, ms: usize, offset: usize) -> rusqlite::Result<Timestamp> {
    Ok(Timestamp {
        unix_ms: row.get(ms)?,
        offset_min: row.get(offset)?,
    })
}

pub(crate) fn finding_from_row(r: &Row<'_>) -> rusqlite::Result<Finding> {
    Ok(Finding {
        time: timestamp(r, 0, 1)?,
        source: parsed(r, 2)?,
        input: r.get(3)?,
        line: r.get(4)?,
        request: r.get(5)?,
        status: r.get(6)?,
        user_agent: r.get(7)?,
        signatures: json_list(r, 8)?,
        cves: json_list(r, 9)?,
        category: parsed(r, 10)?,
        verdict: parsed(r, 11)?,
        why: r.get(12)?,
    })
}

fn source_from_row(r: &Row<'_>) -> rusqlite::Result<SourceSummary> {
    let mut by_verdict = [0u64; Verdict::ALL.len()];
    for (i, n) in by_verdict.iter_mut().enumerate() {
        *n = r.get(13 + i)?;
    }
    Ok(SourceSummary {
        ip: parsed(r, 0)?,
        decision: parsed(r, 1)?,
        verdict: parsed(r, 2)?,
        events: r.get(3)?,
        findings: r.get(4)?,
        signatures: json_list(r, 5)?,
        cves: json_list(r, 6)?,
        reasons: json_list(r, 7)?,
        first_seen: timestamp(r, 8, 9)?,
        last_seen: timestamp(r, 10, 11)?,
        duration_secs: r.get(12)?,
        by_verdict,
        // Not stored: the reasons carry the evidence.
        port_scan: None,
        ssh: None,
        auth: Vec::new(),
    })
}

pub(crate) fn decision_from_row(r: &Row<'_>) -> rusqlite::Result<Decision> {
    Ok(Decision {
        source: parsed(r, 0)?,
        kind: parsed(r, 1)?,
        duration_secs: r.get(2)?,
        reasons: json_list(r, 3)?,
        by: r.get(4)?,
        at: timestamp(r, 5, 6)?,
    })
}

/// The default path given an environment lookup and whether the process runs as root.
fn default_path_from(var: impl Fn(&str) -> Option<OsString>, root: bool) -> PathBuf {
    const TAIL: &str = "scantriage/scantriage.db";
    if let Some(p) = var("SCANTRIAGE_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if root {
        return Path::new("/var/lib").join(TAIL);
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(p) = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return p.join(TAIL);
    }
    match var("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state").join(TAIL),
        None => PathBuf::from("scantriage.db"),
    }
}

/// True when the effective user id is 0 (read from `/proc`; false where that is absent).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn default_path_precedence() {
        let all = [
            ("SCANTRIAGE_DB", "/srv/st.db"),
            ("XDG_STATE_HOME", "/x/state"),
            ("HOME", "/home/ann"),
        ];
        assert_eq!(default_path_from(env(&all), true), Path::new("/srv/st.db"));
        assert_eq!(
            default_path_from(env(&all[1..]), true),
            Path::new("/var/lib/scantriage/scantriage.db")
        );
        assert_eq!(
            default_path_from(env(&all[1..]), false),
            Path::new("/x/state/scantriage/scantriage.db")
        );
        assert_eq!(
            default_path_from(env(&all[2..]), false),
            Path::new("/home/ann/.local/state/scantriage/scantriage.db")
        );
        let relative_xdg = [("XDG_STATE_HOME", "state"), ("HOME", "/home/ann")];
        assert_eq!(
            default_path_from(env(&relative_xdg), false),
            Path::new("/home/ann/.local/state/scantriage/scantriage.db")
        );
        let empty_override = [("SCANTRIAGE_DB", ""), ("HOME", "/h")];
        assert_eq!(
            default_path_from(env(&empty_override), false),
            Path::new("/h/.local/state/scantriage/scantriage.db")
        );
        assert_eq!(
            default_path_from(env(&[]), false),
            Path::new("scantriage.db")
        );
    }

    #[test]
    fn connection_has_foreign_keys_and_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("st.db")).unwrap();
        let pragma = |name: &str| -> i64 {
            store
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pragma("foreign_keys"), 1);
        assert_eq!(pragma("busy_timeout"), 5000);
        // synchronous = NORMAL
        assert_eq!(pragma("synchronous"), 1);
    }

    #[test]
    fn expiry_saturates() {
        let d = Decision {
            source: "192.0.2.1".parse().unwrap(),
            kind: scantriage_core::DecisionKind::Block,
            duration_secs: u64::MAX,
            reasons: vec![],
            by: "policy".into(),
            at: Timestamp::from_unix_secs(1_700_000_000),
        };
        assert_eq!(expires_ms(&d), i64::MAX);
        let d = Decision {
            duration_secs: 60,
            ..d
        };
        assert_eq!(expires_ms(&d), 1_700_000_060_000);
    }

    #[test]
    fn active_decisions_query_uses_the_expiry_index() {
        let store = SqliteStore::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", active_sql()))
            .unwrap()
            .query_map([0i64], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("decisions_by_expiry"), "{plan}");
        assert!(plan.contains("decisions_by_source_time"), "{plan}");
    }
}
