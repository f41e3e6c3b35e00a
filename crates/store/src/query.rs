//! Read-only queries for the dashboard and the HTML report.
//!
//! Each query is bounded (a `LIMIT`, or an aggregate over summary tables when the
//! schema has them) so that a page answers quickly on a store of millions of findings.
//! Where the summary tables (`finding_hours`, `signature_stats`) exist they are used;
//! otherwise the same figures are computed from `findings` directly.

use crate::sqlite::{decision_from_row, finding_from_row};
use crate::{SqliteStore, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};
use scantriage_core::{Decision, Finding, Verdict};
use std::collections::HashMap;
use std::net::IpAddr;

/// Findings per verdict in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictBucket {
    /// Start of the bucket, milliseconds since the epoch.
    pub start_ms: i64,
    /// Findings per verdict, indexed like [`Verdict::ALL`].
    pub counts: [u64; 5],
}

/// One source in the queue: its worst open verdict, how many open findings, the newest evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSource {
    /// The source address.
    pub ip: IpAddr,
    /// The worst verdict among its open findings.
    pub worst: Verdict,
    /// Open findings (urgent, relevant or unknown).
    pub findings: u64,
    /// The newest open finding, milliseconds since the epoch.
    pub last_ms: i64,
    /// The newest open findings, newest first.
    pub evidence: Vec<Finding>,
}

/// Open findings grouped by the signatures that decided them (a campaign of the queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup {
    /// The deciding signatures (empty for heuristics).
    pub signatures: Vec<String>,
    /// The worst verdict in the group.
    pub worst: Verdict,
    /// Open findings.
    pub findings: u64,
    /// Distinct sources.
    pub sources: u64,
    /// The newest finding, milliseconds since the epoch.
    pub last_ms: i64,
}

/// What one signature matched over the whole store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureStat {
    /// The signature id.
    pub id: String,
    /// Findings it decided.
    pub matches: u64,
    /// Its newest match, milliseconds since the epoch.
    pub last_ms: i64,
}

/// The verdicts that put a finding in the queue.
const OPEN: &str = "('urgent', 'relevant', 'unknown')";
/// Ranks a verdict column in SQL (higher is worse).
const RANK: &str = "CASE verdict WHEN 'urgent' THEN 4 WHEN 'relevant' THEN 3 \
                    WHEN 'unknown' THEN 2 WHEN 'noise' THEN 1 ELSE 0 END";
/// One hour in milliseconds, the grain of the summary table.
pub(crate) const HOUR_MS: i64 = 3_600_000;

fn verdict_of_rank(rank: i64) -> Verdict {
    Verdict::ALL[rank.clamp(0, 4) as usize]
}

fn verdict_index(word: &str) -> Option<usize> {
    Verdict::ALL.iter().position(|v| v.as_str() == word)
}

/// Adds a run's findings to the summary tables, aggregated first so that a run costs one
/// upsert per distinct hour, signature and open (source, signatures, verdict), not per finding.
pub(crate) fn add_to_summaries(tx: &Transaction<'_>, findings: &[Finding]) -> rusqlite::Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    let mut hours: HashMap<(i64, &'static str), i64> = HashMap::new();
    let mut sigs: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut queue: HashMap<(String, String, &'static str), (i64, i64)> = HashMap::new();
    for f in findings {
        let t = f.time.unix_ms;
        *hours
            .entry((t.div_euclid(HOUR_MS) * HOUR_MS, f.verdict.as_str()))
            .or_default() += 1;
        for s in &f.signatures {
            let e = sigs.entry(s.as_str()).or_insert((0, i64::MIN));
            e.0 += 1;
            e.1 = e.1.max(t);
        }
        if f.verdict >= Verdict::Unknown {
            let list = serde_json::to_string(&f.signatures)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            let e = queue
                .entry((f.source.to_string(), list, f.verdict.as_str()))
                .or_insert((0, i64::MIN));
            e.0 += 1;
            e.1 = e.1.max(t);
        }
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO finding_hours (hour_ms, verdict, n) VALUES (?1, ?2, ?3) \
         ON CONFLICT (hour_ms, verdict) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((hour, verdict), n) in hours {
        stmt.execute(params![hour, verdict, n])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO signature_stats (signature, matches, last_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (signature) DO UPDATE SET matches = matches + excluded.matches, \
         last_ms = max(last_ms, excluded.last_ms)",
    )?;
    for (sig, (n, last)) in sigs {
        stmt.execute(params![sig, n, last])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO queue_summary (source, signatures, verdict, n, last_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source, signatures, verdict) DO UPDATE \
         SET n = n + excluded.n, last_ms = max(last_ms, excluded.last_ms)",
    )?;
    for ((source, list, verdict), (n, last)) in queue {
        stmt.execute(params![source, list, verdict, n, last])?;
    }
    Ok(())
}

impl SqliteStore {
    fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
            .and_then(|mut s| s.query_row([name], |r| r.get::<_, i64>(0)))
            .map(|n| n > 0)
            .map_err(|e| self.err("read the schema", e))
    }

    /// The time span of the stored findings (first, last), in milliseconds since the epoch.
    pub fn finding_span(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let op = "read the findings' time span";
        let row: (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached(
                "SELECT (SELECT time_ms FROM findings ORDER BY time_ms LIMIT 1), \
                        (SELECT time_ms FROM findings ORDER BY time_ms DESC LIMIT 1)",
            )
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(|e| self.err(op, e))?;
        Ok(row.0.zip(row.1))
    }

    /// Findings per verdict per bucket of `bucket_ms` (a multiple of one hour when the
    /// summary table is used), oldest first; empty buckets are left out.
    pub fn verdict_histogram(&self, bucket_ms: i64) -> Result<Vec<VerdictBucket>, StoreError> {
        let op = "read findings per verdict over time";
        let bucket_ms = bucket_ms.max(1);
        let sql = if self.has_table("finding_hours")? {
            "SELECT (hour_ms / ?1) * ?1 AS b, verdict, sum(n) FROM finding_hours \
             GROUP BY b, verdict ORDER BY b"
        } else {
            "SELECT (time_ms / ?1) * ?1 AS b, verdict, count(*) FROM findings \
             GROUP BY b, verdict ORDER BY b"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(op, e))?;
        let mut rows = stmt.query([bucket_ms]).map_err(|e| self.err(op, e))?;
        let mut out: Vec<VerdictBucket> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(op, e))? {
            let start: i64 = r.get(0).map_err(|e| self.err(op, e))?;
            let verdict: String = r.get(1).map_err(|e| self.err(op, e))?;
            let n: i64 = r.get(2).map_err(|e| self.err(op, e))?;
            if out.last().is_none_or(|b| b.start_ms != start) {
                out.push(VerdictBucket {
                    start_ms: start,
                    counts: [0; 5],
                });
            }
            if let (Some(i), Some(b)) = (verdict_index(&verdict), out.last_mut()) {
                b.counts[i] += n.max(0) as u64;
            }
        }
        Ok(out)
    }

    /// Queue entries for `(source, worst rank, findings, newest)` rows, each with up to
    /// `evidence` of the source's newest open findings; unparsable addresses are left out.
    fn with_evidence(
        &self,
        heads: Vec<(String, i64, i64, i64)>,
        evidence: usize,
        op: &'static str,
    ) -> Result<Vec<QueueSource>, StoreError> {
        let mut ev = self
            .conn
            .prepare_cached(&format!(
                "SELECT time_ms, offset_min, source, input, line, request, status, user_agent, \
                 signatures, cves, category, verdict, why FROM findings \
                 WHERE source = ?1 AND verdict IN {OPEN} ORDER BY time_ms DESC, id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(op, e))?;
        let mut out = Vec::with_capacity(heads.len());
        for (ip, rank, n, last) in heads {
            let Ok(addr) = ip.parse::<IpAddr>() else {
                continue;
            };
            let found: Vec<Finding> = ev
                .query_map(params![ip, evidence as i64], finding_from_row)
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(op, e))?;
            out.push(QueueSource {
                ip: addr,
                worst: verdict_of_rank(rank),
                findings: n.max(0) as u64,
                last_ms: last,
                evidence: found,
            });
        }
        Ok(out)
    }

    /// Open findings (urgent, relevant, unknown) grouped by source, worst and newest
    /// first, each with up to `evidence` of its newest open findings.
    pub fn queue_sources(
        &self,
        limit: usize,
        evidence: usize,
    ) -> Result<Vec<QueueSource>, StoreError> {
        let op = "read the queue";
        let sql = if self.has_table("queue_summary")? {
            format!(
                "SELECT source, max({RANK}) AS w, sum(n), max(last_ms) AS last FROM queue_summary \
                 WHERE n > 0 GROUP BY source ORDER BY w DESC, last DESC LIMIT ?1"
            )
        } else {
            format!(
                "SELECT source, max({RANK}) AS w, count(*), max(time_ms) AS last FROM findings \
                 WHERE verdict IN {OPEN} GROUP BY source ORDER BY w DESC, last DESC LIMIT ?1"
            )
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.err(op, e))?;
        let heads: Vec<(String, i64, i64, i64)> = stmt
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(op, e))?;
        self.with_evidence(heads, evidence, op)
    }

    /// The whole queue: open findings by source (worst and newest first, at most
    /// `limit_sources`, each with up to `evidence` newest open findings) and by deciding
    /// signatures (worst and largest first, at most `limit_groups`), from one pass over
    /// the summary table when the schema has it.
    pub fn queue(
        &self,
        limit_sources: usize,
        limit_groups: usize,
        evidence: usize,
    ) -> Result<(Vec<QueueSource>, Vec<QueueGroup>), StoreError> {
        if !self.has_table("queue_summary")? {
            return Ok((
                self.queue_sources(limit_sources, evidence)?,
                self.queue_groups(limit_groups)?,
            ));
        }
        let op = "read the queue";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT source, signatures, {RANK}, n, last_ms FROM queue_summary WHERE n > 0"
            ))
            .map_err(|e| self.err(op, e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(op, e))?;
        // (source, worst rank, findings, newest)
        let mut sources: Vec<(String, i64, i64, i64)> = Vec::new();
        // signatures → (worst rank, findings, distinct sources, newest, last source block)
        let mut groups: HashMap<String, (i64, i64, u64, i64, usize)> = HashMap::new();
        while let Some(r) = rows.next().map_err(|e| self.err(op, e))? {
            let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, i64, i64, i64)> {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            };
            let (source, sigs, rank, n, last) = get(r).map_err(|e| self.err(op, e))?;
            // Rows come in primary key order: all rows of a source are adjacent.
            match sources.last_mut() {
                Some(s) if s.0 == source => {
                    s.1 = s.1.max(rank);
                    s.2 += n;
                    s.3 = s.3.max(last);
                }
                _ => sources.push((source, rank, n, last)),
            }
            let block = sources.len();
            let g = groups.entry(sigs).or_insert((0, 0, 0, i64::MIN, 0));
            g.0 = g.0.max(rank);
            g.1 += n;
            g.3 = g.3.max(last);
            if g.4 != block {
                g.2 += 1;
                g.4 = block;
            }
        }
        drop(rows);
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(b.3.cmp(&a.3)));
        sources.truncate(limit_sources);
        let out = self.with_evidence(sources, evidence, op)?;
        let mut gs: Vec<QueueGroup> = groups
            .into_iter()
            .map(|(sigs, (rank, n, srcs, last, _))| QueueGroup {
                signatures: serde_json::from_str(&sigs).unwrap_or_default(),
                worst: verdict_of_rank(rank),
                findings: n.max(0) as u64,
                sources: srcs,
                last_ms: last,
            })
            .collect();
        gs.sort_by(|a, b| {
            b.worst
                .cmp(&a.worst)
                .then(b.findings.cmp(&a.findings))
                .then(a.signatures.cmp(&b.signatures))
        });
        gs.truncate(limit_groups);
        Ok((out, gs))
    }

    /// Open findings grouped by their deciding signatures, worst and largest first.
    pub fn queue_groups(&self, limit: usize) -> Result<Vec<QueueGroup>, StoreError> {
        let op = "read the queue's campaigns";
        let sql = if self.has_table("queue_summary")? {
            format!(
                "SELECT signatures, max({RANK}) AS w, sum(n) AS total, count(DISTINCT source), \
                 max(last_ms) FROM queue_summary WHERE n > 0 \
                 GROUP BY signatures ORDER BY w DESC, total DESC LIMIT ?1"
            )
        } else {
            format!(
                "SELECT signatures, max({RANK}) AS w, count(*) AS n, count(DISTINCT source), \
                 max(time_ms) FROM findings WHERE verdict IN {OPEN} \
                 GROUP BY signatures ORDER BY w DESC, n DESC LIMIT ?1"
            )
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(|e| self.err(op, e))?;
        let rows: Vec<(String, i64, i64, i64, i64)> = stmt
            .query_map([limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(op, e))?;
        Ok(rows
            .into_iter()
            .map(|(sigs, rank, n, sources, last)| QueueGroup {
                signatures: serde_json::from_str(&sigs).unwrap_or_default(),
                worst: verdict_of_rank(rank),
                findings: n.max(0) as u64,
                sources: sources.max(0) as u64,
                last_ms: last,
            })
            .collect())
    }

    /// One source's findings per verdict per hour, oldest first.
    pub fn source_histogram(&self, ip: IpAddr) -> Result<Vec<VerdictBucket>, StoreError> {
        let op = "read a source's timeline";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT (time_ms / ?2) * ?2 AS b, verdict, count(*) FROM findings \
                 WHERE source = ?1 GROUP BY b, verdict ORDER BY b",
            )
            .map_err(|e| self.err(op, e))?;
        let rows: Vec<(i64, String, i64)> = stmt
            .query_map(params![ip.to_string(), HOUR_MS], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(op, e))?;
        let mut out: Vec<VerdictBucket> = Vec::new();
        for (start, verdict, n) in rows {
            if out.last().is_none_or(|b| b.start_ms != start) {
                out.push(VerdictBucket {
                    start_ms: start,
                    counts: [0; 5],
                });
            }
            if let (Some(i), Some(b)) = (verdict_index(&verdict), out.last_mut()) {
                b.counts[i] += n.max(0) as u64;
            }
        }
        Ok(out)
    }

    /// The decision history of one source (person's and policy's), newest first.
    pub fn decisions_of(&self, ip: IpAddr, limit: usize) -> Result<Vec<Decision>, StoreError> {
        let op = "read a source's decisions";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source, kind, duration_secs, reasons, made_by, at_ms, at_offset_min \
                 FROM decisions WHERE source = ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(op, e))?;
        stmt.query_map(params![ip.to_string(), limit as i64], decision_from_row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(op, e))
    }

    /// Per signature: findings it decided and its newest match, most matches first.
    pub fn signature_stats(&self, limit: usize) -> Result<Vec<SignatureStat>, StoreError> {
        let op = "read signature statistics";
        let sql = if self.has_table("signature_stats")? {
            "SELECT signature, matches, last_ms FROM signature_stats \
             ORDER BY matches DESC, signature LIMIT ?1"
        } else {
            "SELECT j.value, count(*) AS n, max(f.time_ms) FROM findings AS f, \
             json_each(f.signatures) AS j GROUP BY j.value ORDER BY n DESC, j.value LIMIT ?1"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(op, e))?;
        stmt.query_map([limit as i64], |r| {
            Ok(SignatureStat {
                id: r.get(0)?,
                matches: r.get::<_, i64>(1)?.max(0) as u64,
                last_ms: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(op, e))
    }

    /// The newest findings that a signature decided, newest first.
    pub fn findings_of_signature(
        &self,
        id: &str,
        limit: usize,
    ) -> Result<Vec<Finding>, StoreError> {
        let op = "read a signature's findings";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_ms, offset_min, source, input, line, request, status, user_agent, \
                 signatures, cves, category, verdict, why FROM findings \
                 WHERE id IN (SELECT f.id FROM findings AS f, json_each(f.signatures) AS j \
                              WHERE j.value = ?1 ORDER BY f.time_ms DESC LIMIT ?2) \
                 ORDER BY time_ms DESC",
            )
            .map_err(|e| self.err(op, e))?;
        stmt.query_map(params![id, limit as i64], finding_from_row)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(op, e))
    }

    /// When the latest run finished, if any.
    pub fn last_run_ms(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT finished_ms FROM runs ORDER BY id DESC LIMIT 1")
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(|e| self.err("read the latest run", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RunRecord, Store};
    use scantriage_core::{Category, Timestamp};

    fn finding(ip: &str, t: i64, v: Verdict, sig: &str) -> Finding {
        Finding {
            time: Timestamp::from_unix_secs(t),
            source: ip.parse().unwrap(),
            input: "access.log".into(),
            line: t as u64,
            request: "GET /x".into(),
            status: 404,
            user_agent: "ua".into(),
            signatures: vec![sig.into()],
            cves: vec![],
            category: Category::Recon,
            verdict: v,
            why: "because".into(),
        }
    }

    #[test]
    fn queue_histogram_and_signature_stats() {
        let mut st = SqliteStore::open_in_memory().unwrap();
        let fs = vec![
            finding("192.0.2.1", 3600, Verdict::Urgent, "a"),
            finding("192.0.2.1", 3700, Verdict::Noise, "b"),
            finding("192.0.2.2", 7300, Verdict::Unknown, "b"),
            finding("192.0.2.3", 7400, Verdict::Noise, "b"),
        ];
        st.save_run(&RunRecord {
            started_ms: 0,
            finished_ms: 1,
            inputs: &[],
            lines: 4,
            parse_errors: 0,
            findings: &fs,
            sources: &[],
            decisions: &[],
            checkpoints: &[],
        })
        .unwrap();
        let q = st.queue_sources(10, 5).unwrap();
        assert_eq!(
            st.queue(10, 10, 5).unwrap(),
            (q.clone(), st.queue_groups(10).unwrap())
        );
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].ip.to_string(), "192.0.2.1");
        assert_eq!(q[0].worst, Verdict::Urgent);
        assert_eq!(q[0].evidence.len(), 1, "noise is not evidence of the queue");
        let g = st.queue_groups(10).unwrap();
        assert_eq!(g[0].signatures, vec!["a".to_string()]);
        let h = st.verdict_histogram(HOUR_MS).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].counts, [0, 1, 0, 0, 1]);
        assert_eq!(h[1].start_ms, 7_200_000);
        let s = st.signature_stats(10).unwrap();
        assert_eq!((s[0].id.as_str(), s[0].matches), ("b", 3));
        assert_eq!(st.finding_span().unwrap(), Some((3_600_000, 7_400_000)));
        assert_eq!(st.findings_of_signature("a", 5).unwrap().len(), 1);
    }

    /// Findings per (hour, verdict) and (signature, matches, newest match).
    type Tables = (Vec<(i64, String, i64)>, Vec<(String, i64, i64)>);

    /// The summary tables agree with the findings after inserts, a re-assessment and a
    /// migration from a store that had findings before the tables existed.
    #[test]
    fn summary_tables_follow_the_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("st.db");
        let mut st = SqliteStore::open(&path).unwrap();
        assert!(st.has_table("finding_hours").unwrap());
        let run = |st: &mut SqliteStore, fs: &[Finding]| {
            st.save_run(&RunRecord {
                started_ms: 0,
                finished_ms: 1,
                inputs: &[],
                lines: fs.len() as u64,
                parse_errors: 0,
                findings: fs,
                sources: &[],
                decisions: &[],
                checkpoints: &[],
            })
            .unwrap()
        };
        run(
            &mut st,
            &[
                finding("192.0.2.1", 3600, Verdict::Urgent, "a"),
                finding("192.0.2.2", 3700, Verdict::Unknown, "b"),
                finding("192.0.2.3", 90_000, Verdict::Relevant, "b"),
            ],
        );
        st.conn
            .execute(
                "UPDATE findings SET verdict = 'noise' WHERE signatures = '[\"b\"]'",
                [],
            )
            .unwrap();
        let direct = |st: &SqliteStore| -> Tables {
            let hours = st
                .conn
                .prepare(
                    "SELECT (time_ms / 3600000) * 3600000, verdict, count(*) FROM findings \
                     GROUP BY 1, 2 ORDER BY 1, 2",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let sigs = st
                .conn
                .prepare(
                    "SELECT j.value, count(*), max(time_ms) FROM findings, json_each(signatures) \
                     AS j GROUP BY 1 ORDER BY 1",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (hours, sigs)
        };
        let summary = |st: &SqliteStore| -> Tables {
            let hours = st
                .conn
                .prepare("SELECT hour_ms, verdict, n FROM finding_hours WHERE n > 0 ORDER BY 1, 2")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let sigs = st
                .conn
                .prepare("SELECT signature, matches, last_ms FROM signature_stats ORDER BY 1")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (hours, sigs)
        };
        assert_eq!(summary(&st), direct(&st));
        assert_eq!(
            st.verdict_histogram(HOUR_MS).unwrap()[0].counts,
            [0, 1, 0, 0, 1]
        );
        // The queue read from the summary only holds what is still open.
        let q = st.queue_sources(10, 3).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].ip.to_string(), q[0].findings),
            ("192.0.2.1".into(), 1)
        );
        let g = st.queue_groups(10).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].signatures, vec!["a".to_string()]);
        assert_eq!(st.queue(10, 10, 3).unwrap(), (q, g));

        run(
            &mut st,
            &[finding("192.0.2.4", 200_000, Verdict::Noise, "c")],
        );
        // A store migrated from version 3 gets the tables filled from its findings.
        st.conn
            .execute_batch(
                "DROP TRIGGER finding_hours_update; DROP TRIGGER finding_hours_delete; \
                 DROP TRIGGER queue_summary_update_old; DROP TRIGGER queue_summary_update_new; \
                 DROP TRIGGER queue_summary_delete; DROP TABLE finding_hours; \
                 DROP TABLE signature_stats; DROP TABLE queue_summary; \
                 DROP INDEX findings_by_source_time_verdict; \
                 CREATE INDEX findings_by_source_time ON findings (source, time_ms); \
                 PRAGMA user_version = 3;",
            )
            .unwrap();
        drop(st);
        let st = SqliteStore::open(&path).unwrap();
        assert_eq!(summary(&st), direct(&st));
        assert_eq!(st.signature_stats(10).unwrap().len(), 3);
        assert_eq!(st.queue_sources(10, 3).unwrap().len(), 1);
    }
}
