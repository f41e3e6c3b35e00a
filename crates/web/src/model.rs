//! What each page shows, read from the store: the same values feed the HTML pages, the
//! JSON API and the HTML report.

use crate::verdicts::{self, VerdictView};
use scantriage_core::{Decision, Finding, SourceSummary, Verdict};
use scantriage_store::{SqliteStore, Store, StoreError, VerdictBucket};
use serde::Serialize;
use std::net::IpAddr;

/// At most this many bars in a time chart.
const MAX_BUCKETS: i64 = 60;
/// One hour in milliseconds.
const HOUR_MS: i64 = 3_600_000;

/// Findings per verdict in one time bucket, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Start of the bucket, milliseconds since the epoch.
    pub start_ms: i64,
    /// Benign findings.
    pub benign: u64,
    /// Noise findings.
    pub noise: u64,
    /// Unknown findings.
    pub unknown: u64,
    /// Relevant findings.
    pub relevant: u64,
    /// Urgent findings.
    pub urgent: u64,
}

impl Bucket {
    fn from_store(b: &VerdictBucket) -> Self {
        let [benign, noise, unknown, relevant, urgent] = b.counts;
        Bucket {
            start_ms: b.start_ms,
            benign,
            noise,
            unknown,
            relevant,
            urgent,
        }
    }

    /// The counts indexed like `Verdict::ALL`.
    pub fn counts(&self) -> [u64; 5] {
        [
            self.benign,
            self.noise,
            self.unknown,
            self.relevant,
            self.urgent,
        ]
    }
}

/// A decision with its expiry, as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    /// The decision itself.
    #[serde(flatten)]
    pub decision: Decision,
    /// When it stops holding, milliseconds since the epoch.
    pub expires_ms: i64,
}

impl DecisionView {
    fn new(decision: Decision) -> Self {
        let ms = i64::try_from(decision.duration_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        DecisionView {
            expires_ms: decision.at.unix_ms.saturating_add(ms),
            decision,
        }
    }
}

/// One stored campaign, as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    /// `target`, `signature` or `emerging`.
    pub kind: String,
    /// The target, signature id or path template.
    pub key: String,
    /// Distinct sources.
    pub sources: u64,
    /// Requests.
    pub requests: u64,
    /// First request, milliseconds since the epoch.
    pub first_seen_ms: i64,
    /// Last request, milliseconds since the epoch.
    pub last_seen_ms: i64,
}

/// The overview page.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Runs saved.
    pub runs: u64,
    /// Lines analysed over all runs.
    pub lines: u64,
    /// Findings stored.
    pub findings: u64,
    /// Sources with a summary.
    pub sources: u64,
    /// Findings per verdict over the whole store, indexed like `Verdict::ALL`.
    pub by_verdict: [u64; 5],
    /// Share of non-benign findings that were pruned as noise, in percent.
    pub noise_share_pct: f64,
    /// Width of one bucket of `traffic`, in milliseconds.
    pub bucket_ms: i64,
    /// Findings by verdict over time.
    pub traffic: Vec<Bucket>,
    /// Active blocks.
    pub active_blocks: u64,
    /// Active watches.
    pub active_watches: u64,
    /// The newest active decisions (at most 10).
    pub latest_decisions: Vec<DecisionView>,
    /// The largest campaigns of the latest analysis (at most 10).
    pub campaigns: Vec<CampaignView>,
}

/// One source of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueSourceView {
    /// The address.
    pub ip: IpAddr,
    /// Its worst open verdict.
    pub worst: Verdict,
    /// Open findings.
    pub findings: u64,
    /// Newest open finding, milliseconds since the epoch.
    pub last_ms: i64,
    /// The newest open findings (input, line, request, user agent, signatures, why).
    pub evidence: Vec<Finding>,
}

/// A campaign of the queue: open findings sharing their deciding signatures.
#[derive(Debug, Clone, Serialize)]
pub struct QueueGroupView {
    /// The deciding signatures.
    pub signatures: Vec<String>,
    /// The worst verdict.
    pub worst: Verdict,
    /// Open findings.
    pub findings: u64,
    /// Distinct sources.
    pub sources: u64,
    /// Newest finding, milliseconds since the epoch.
    pub last_ms: i64,
}

/// The queue page: what a person should look at.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// By source, worst and newest first.
    pub sources: Vec<QueueSourceView>,
    /// By campaign (deciding signatures), worst and largest first.
    pub campaigns: Vec<QueueGroupView>,
}

/// The page of one source address.
#[derive(Debug, Clone, Serialize)]
pub struct SourcePage {
    /// The address.
    pub ip: IpAddr,
    /// Its stored summary (verdict, decision, reasons, signatures), when it has one.
    pub summary: Option<SourceSummary>,
    /// Its findings per verdict per hour.
    pub timeline: Vec<Bucket>,
    /// Its newest findings (requests), newest first.
    pub findings: Vec<Finding>,
    /// Its decision history, newest first.
    pub decisions: Vec<DecisionView>,
    /// The person's verdicts that name it.
    pub verdicts: Vec<VerdictView>,
}

/// The decisions page.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionsPage {
    /// When the page was made, milliseconds since the epoch.
    pub now_ms: i64,
    /// Active block and watch decisions, newest first.
    pub active: Vec<DecisionView>,
}

/// One signature on the rules page.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// The signature id.
    pub id: String,
    /// Findings it decided.
    pub matches: u64,
    /// Its newest match, milliseconds since the epoch.
    pub last_ms: i64,
    /// The person's verdicts on it (suppressions in force).
    pub verdicts: Vec<VerdictView>,
}

/// The rules page.
#[derive(Debug, Clone, Serialize)]
pub struct RulesPage {
    /// Signatures with matches, most first.
    pub signatures: Vec<RuleView>,
    /// Every verdict in force (suppressions, acknowledgements, blocks, allows).
    pub verdicts: Vec<VerdictView>,
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A bucket width (a whole number of hours) that shows `span_ms` in at most 60 bars.
pub fn bucket_for(span_ms: i64) -> i64 {
    let hours = (span_ms.max(0) / HOUR_MS + 1 + MAX_BUCKETS - 1) / MAX_BUCKETS;
    hours.max(1) * HOUR_MS
}

/// Reads the overview.
pub fn overview(st: &SqliteStore, now: i64) -> Result<Overview, StoreError> {
    let counts = st.counts()?;
    let bucket_ms = match st.finding_span()? {
        Some((a, b)) => bucket_for(b - a),
        None => HOUR_MS,
    };
    let traffic: Vec<Bucket> = st
        .verdict_histogram(bucket_ms)?
        .iter()
        .map(Bucket::from_store)
        .collect();
    let mut by_verdict = [0u64; 5];
    for b in &traffic {
        for (t, n) in by_verdict.iter_mut().zip(b.counts()) {
            *t += n;
        }
    }
    let active = st.active_decisions(now)?;
    let active_blocks = active
        .iter()
        .filter(|d| d.kind == scantriage_core::DecisionKind::Block)
        .count() as u64;
    let campaigns = st
        .latest_campaigns(10)?
        .into_iter()
        .map(|c| CampaignView {
            kind: c.kind,
            key: c.key,
            sources: c.sources,
            requests: c.requests,
            first_seen_ms: c.first_seen_ms,
            last_seen_ms: c.last_seen_ms,
        })
        .collect();
    Ok(Overview {
        runs: counts.runs,
        lines: counts.lines,
        findings: counts.findings,
        sources: counts.sources,
        noise_share_pct: scantriage_report::noise_share(&by_verdict),
        by_verdict,
        bucket_ms,
        traffic,
        active_watches: active.len() as u64 - active_blocks,
        active_blocks,
        latest_decisions: active.into_iter().take(10).map(DecisionView::new).collect(),
        campaigns,
    })
}

/// Reads the queue (at most `limit` sources and campaigns), leaving out what a person acknowledged.
pub fn queue(st: &SqliteStore, limit: usize) -> Result<Queue, StoreError> {
    let acks = verdicts::acknowledgements(st)?;
    // Read a little more than shown, so acknowledged sources do not shorten the page.
    let (open, groups) = st.queue(
        limit + acks.len().min(1000),
        limit,
        if acks.is_empty() { 3 } else { 10 },
    )?;
    let mut sources: Vec<QueueSourceView> = open
        .into_iter()
        .filter_map(|q| {
            let mut evidence: Vec<Finding> = q
                .evidence
                .into_iter()
                .filter(|f| !verdicts::acknowledged(&acks, f))
                .collect();
            evidence.truncate(3);
            (!evidence.is_empty() || acks.is_empty()).then_some(QueueSourceView {
                ip: q.ip,
                worst: q.worst,
                findings: q.findings,
                last_ms: q.last_ms,
                evidence,
            })
        })
        .collect();
    sources.truncate(limit);
    let campaigns = groups
        .into_iter()
        .filter(|g| {
            // A campaign whose every signature was acknowledged since its last finding is done.
            g.signatures.is_empty()
                || !g.signatures.iter().all(|s| {
                    acks.iter().any(|a| {
                        a.scope_kind == "signature" && a.scope_value == *s && a.at_ms >= g.last_ms
                    })
                })
        })
        .map(|g| QueueGroupView {
            signatures: g.signatures,
            worst: g.worst,
            findings: g.findings,
            sources: g.sources,
            last_ms: g.last_ms,
        })
        .collect();
    Ok(Queue { sources, campaigns })
}

/// Reads the page of one source.
pub fn source(st: &SqliteStore, ip: IpAddr) -> Result<SourcePage, StoreError> {
    let all = verdicts::list(st, false)?;
    Ok(SourcePage {
        ip,
        summary: st.source(ip)?,
        timeline: st
            .source_histogram(ip)?
            .iter()
            .map(Bucket::from_store)
            .collect(),
        findings: st.findings_for(ip, 200)?,
        decisions: st
            .decisions_of(ip, 100)?
            .into_iter()
            .map(DecisionView::new)
            .collect(),
        verdicts: all.into_iter().filter(|v| v.covers_source(ip)).collect(),
    })
}

/// Reads the active decisions.
pub fn decisions(st: &SqliteStore, now: i64) -> Result<DecisionsPage, StoreError> {
    Ok(DecisionsPage {
        now_ms: now,
        active: st
            .active_decisions(now)?
            .into_iter()
            .map(DecisionView::new)
            .collect(),
    })
}

/// Reads the rules page (at most `limit` signatures).
pub fn rules(st: &SqliteStore, limit: usize) -> Result<RulesPage, StoreError> {
    let all = verdicts::list(st, false)?;
    let signatures = st
        .signature_stats(limit)?
        .into_iter()
        .map(|s| RuleView {
            verdicts: all
                .iter()
                .filter(|v| v.scope_kind == "signature" && v.scope_value == s.id)
                .cloned()
                .collect(),
            id: s.id,
            matches: s.matches,
            last_ms: s.last_ms,
        })
        .collect();
    Ok(RulesPage {
        signatures,
        verdicts: all,
    })
}

/// Reads the campaigns of the latest analysis.
pub fn campaigns(st: &SqliteStore, limit: usize) -> Result<Vec<serde_json::Value>, StoreError> {
    Ok(st
        .latest_campaigns(limit)?
        .into_iter()
        .map(|c| serde_json::from_str(&c.data).unwrap_or(serde_json::Value::Null))
        .collect())
}
