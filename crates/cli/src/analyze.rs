//! Batch analysis: read inputs in chunks, parse and match on every core, fold the
//! results in input order into source profiles, decide, and hand back the report.
//!
//! Workers return per-chunk results; the fold consumes them strictly in order, so the
//! outcome is identical whatever the number of threads.

use crate::config::Config;
use anyhow::{Context, Result};
use scantriage_assess::{Assessor, Evidence, Observation, Policy, Profile, Why};
use scantriage_core::{
    escape_for_display, Category, Decision, DecisionKind, Finding, HttpRequest, Severity,
    SignatureIndex, SourceSummary, Timestamp, Verdict,
};
use scantriage_detect::{heuristics, RuleSet, Scratch};
use scantriage_ingest::{Chunk, ChunkReader, LogFormat, Parser, ParserConfig};
use scantriage_report::{Campaign, DecisionCounts, InputStats, InventoryHint, Summary};
use scantriage_store::{Checkpoint, RunRecord, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Findings kept as evidence per source and run; the rest are counted in the profile.
/// This bounds memory by the number of sources, whatever the number of lines.
pub const FINDINGS_PER_SOURCE: u32 = 200;

/// How many unparsable lines per input are shown.
pub const SHOWN_ERRORS: usize = 5;
/// Bytes hashed to recognise a file again (its start).
const FINGERPRINT_BYTES: usize = 4096;

/// What `analyze` was asked to do.
pub struct Options {
    /// Inputs (`-` is stdin), analysed in the given order after rotated sets are ordered.
    pub inputs: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Keep findings for the store.
    pub keep_findings: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// The outcome of a run.
pub struct Outcome {
    /// One summary per source seen in this run, sorted by address.
    pub sources: Vec<SourceSummary>,
    /// Totals.
    pub summary: Summary,
    /// Findings (only when asked to keep them).
    pub findings: Vec<Finding>,
    /// Decisions other than ignore.
    pub decisions: Vec<Decision>,
    /// Where each input stopped.
    pub checkpoints: Vec<Checkpoint>,
}

struct Ev {
    source: IpAddr,
    time: Timestamp,
    line: u64,
    verdict: Verdict,
    category: Category,
    severity: Severity,
    sig_start: u32,
    sig_len: u16,
    scripted: bool,
    finding: u32,
}

struct FindingRec {
    why: Why,
    request: String,
    user_agent: String,
    status: u16,
}

#[derive(Default)]
struct ChunkResult {
    events: Vec<Ev>,
    sigs: Vec<SignatureIndex>,
    findings: Vec<FindingRec>,
    lines: u64,
    long_lines: u64,
    errors: u64,
    first_errors: Vec<String>,
    end_offset: u64,
}

struct Worker<'a> {
    parser: &'a Parser,
    rules: &'a RuleSet,
    assessor: Assessor<'a>,
    scratch: Scratch,
    matched: Vec<SignatureIndex>,
}

fn request_text(req: &HttpRequest<'_>) -> String {
    if req.is_http() {
        let mut s = escape_for_display(&req.method, 16);
        s.push(' ');
        s.push_str(&escape_for_display(&req.target, 300));
        s
    } else {
        escape_for_display(&req.request_line, 300)
    }
}

impl Worker<'_> {
    fn process(&mut self, chunk: &Chunk) -> ChunkResult {
        let mut r = ChunkResult {
            end_offset: chunk.end_offset,
            ..Default::default()
        };
        for line in chunk.lines() {
            r.lines += 1;
            r.long_lines += u64::from(line.truncated);
            if line.bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let req = match self.parser.parse(line.bytes) {
                Ok(req) => req,
                Err(e) => {
                    r.errors += 1;
                    if r.first_errors.len() < SHOWN_ERRORS {
                        r.first_errors.push(format!(
                            "{}: {e}: {}",
                            line.number,
                            escape_for_display(line.bytes, 120)
                        ));
                    }
                    continue;
                }
            };
            self.matched.clear();
            self.rules
                .matches_into(&req, &mut self.scratch, &mut self.matched);
            let suspicion = if self.matched.is_empty() {
                heuristics::suspicion(&req, &self.scratch)
            } else {
                None
            };
            let a = self.assessor.assess(&req, &mut self.matched, suspicion);
            let sig_start = r.sigs.len() as u32;
            r.sigs.extend_from_slice(&self.matched);
            let finding = if a.verdict == Verdict::Benign {
                u32::MAX
            } else {
                r.findings.push(FindingRec {
                    why: a.why,
                    request: request_text(&req),
                    user_agent: escape_for_display(&req.user_agent, 200),
                    status: req.status,
                });
                (r.findings.len() - 1) as u32
            };
            r.events.push(Ev {
                source: req.source,
                time: req.time,
                line: line.number,
                verdict: a.verdict,
                category: a.category,
                severity: a.severity,
                sig_start,
                sig_len: self.matched.len().min(u16::MAX as usize) as u16,
                scripted: req.referer.is_empty(),
                finding,
            });
        }
        r
    }
}

#[derive(Default)]
struct CampaignAcc {
    sources: HashSet<IpAddr>,
    requests: u64,
    verdict: Verdict,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// The state folded in input order.
struct Fold<'a> {
    cfg: &'a Config,
    rules: &'a RuleSet,
    profiles: FastMap<IpAddr, Profile>,
    campaigns: FastMap<SignatureIndex, CampaignAcc>,
    /// Products the inventory does not list that answered success: (sources, example).
    unlisted: BTreeMap<String, (HashSet<IpAddr>, String)>,
    by_verdict: [u64; 5],
    findings: Vec<Finding>,
    kept: FastMap<IpAddr, u32>,
    keep_findings: bool,
}

impl Fold<'_> {
    fn apply(&mut self, input: u32, input_name: &str, r: ChunkResult) {
        let mut recs: Vec<Option<FindingRec>> = r.findings.into_iter().map(Some).collect();
        for ev in &r.events {
            self.by_verdict[ev.verdict as usize] += 1;
            let sigs = &r.sigs[ev.sig_start as usize..ev.sig_start as usize + ev.sig_len as usize];
            let rec = (ev.finding != u32::MAX)
                .then(|| recs[ev.finding as usize].take())
                .flatten();
            let why = rec.as_ref().map(|f| match f.why {
                Why::Suspicious(s) => s,
                w => w.text(),
            });
            let p = self
                .profiles
                .entry(ev.source)
                .or_insert_with(|| Profile::new(ev.time));
            let o = Observation {
                time: ev.time,
                verdict: ev.verdict,
                category: ev.category,
                severity: ev.severity,
                sigs,
                scripted: ev.scripted,
                why,
            };
            p.observe(&o, &self.cfg.policy, || {
                let f = rec.as_ref().expect("findings carry a record");
                Evidence {
                    input,
                    line: ev.line,
                    time: ev.time,
                    request: f.request.clone(),
                    status: f.status,
                }
            });
            let Some(f) = rec else { continue };
            if f.why == Why::SuccessForUnlisted {
                for &s in sigs {
                    for t in &self.rules.get(s).targets {
                        if t != scantriage_detect::GENERIC && !self.cfg.inventory.has(t) {
                            let e = self.unlisted.entry(t.clone()).or_insert_with(|| {
                                (
                                    HashSet::new(),
                                    format!(
                                        "{input_name}:{} \"{}\" -> {}",
                                        ev.line, f.request, f.status
                                    ),
                                )
                            });
                            e.0.insert(ev.source);
                        }
                    }
                }
            }
            for &s in sigs {
                let c = self.campaigns.entry(s).or_default();
                c.sources.insert(ev.source);
                c.requests += 1;
                c.verdict = c.verdict.max(ev.verdict);
                c.first = Some(c.first.map_or(ev.time, |t| t.min(ev.time)));
                c.last = Some(c.last.map_or(ev.time, |t| t.max(ev.time)));
            }
            let keep = self.keep_findings && {
                let kept = self.kept.entry(ev.source).or_default();
                *kept += 1;
                *kept <= FINDINGS_PER_SOURCE
            };
            if keep {
                let mut cves: Vec<String> = sigs
                    .iter()
                    .flat_map(|&s| self.rules.get(s).cves.clone())
                    .collect();
                cves.sort();
                cves.dedup();
                self.findings.push(Finding {
                    time: ev.time,
                    source: ev.source,
                    input: input_name.to_string(),
                    line: ev.line,
                    request: f.request,
                    status: f.status,
                    user_agent: f.user_agent,
                    signatures: sigs.iter().map(|&s| self.rules.get(s).id.clone()).collect(),
                    cves,
                    category: ev.category,
                    verdict: ev.verdict,
                    why: match f.why {
                        Why::Suspicious(s) => s.to_string(),
                        w => w.text().to_string(),
                    },
                });
            }
        }
    }
}

fn fingerprint(prefix: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in prefix {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}:{h:016x}", prefix.len())
}

fn read_prefix(r: &mut dyn Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Runs the analysis. `store` gives checkpoints (resume) and earlier decisions.
pub fn run(
    cfg: &Config,
    rules: &RuleSet,
    opts: &Options,
    store: Option<&dyn Store>,
) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let threads = match if opts.threads > 0 {
        opts.threads
    } else {
        cfg.threads
    } {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let assessor_inv = &cfg.inventory;
    let mut fold = Fold {
        cfg,
        rules,
        profiles: FastMap::default(),
        campaigns: FastMap::default(),
        unlisted: BTreeMap::new(),
        by_verdict: [0; 5],
        findings: Vec::new(),
        kept: FastMap::default(),
        keep_findings: opts.keep_findings,
    };
    let progress = opts.progress.then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .expect("valid template"),
        );
        pb
    });
    let mut stats = Vec::new();
    let mut checkpoints = Vec::new();
    let mut names = Vec::new();
    let mut total_lines = 0u64;
    let inputs = scantriage_ingest::order_rotated(opts.inputs.clone());
    for (idx, path) in inputs.iter().enumerate() {
        let name = path.display().to_string();
        names.push(name.clone());
        let mut st = InputStats {
            name: name.clone(),
            ..Default::default()
        };
        let is_stdin = name == "-";
        let key = if is_stdin {
            None
        } else {
            Some(
                std::fs::canonicalize(path)
                    .with_context(|| format!("{name}: cannot open"))?
                    .display()
                    .to_string(),
            )
        };
        let mut reader = scantriage_ingest::open_input(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let prev = match (&key, store) {
            (Some(k), Some(s)) => s.checkpoint(k)?,
            _ => None,
        };
        // The fingerprint covers as many bytes as the checkpoint saw (up to 4 KiB), so a
        // file that grew is still recognised, and a replaced one is not.
        let want = prev
            .as_ref()
            .and_then(|c| c.fingerprint.split_once(':'))
            .and_then(|(n, _)| n.parse::<usize>().ok())
            .unwrap_or(FINGERPRINT_BYTES)
            .min(FINGERPRINT_BYTES);
        let prefix = read_prefix(&mut reader, FINGERPRINT_BYTES)
            .with_context(|| format!("{name}: cannot read"))?;
        let fp_now = fingerprint(&prefix[..want.min(prefix.len())]);
        let resume = prev.filter(|c| c.fingerprint == fp_now && c.offset > 0);
        let chained: Box<dyn Read + Send> =
            Box::new(std::io::Cursor::new(prefix.clone()).chain(reader));
        let mut cr = ChunkReader::new(chained, cfg.max_line_bytes).with_name(name.clone());
        let mut base_lines = 0;
        if let Some(c) = &resume {
            match cr.skip(c.offset) {
                Ok(true) => {
                    base_lines = c.lines;
                    st.skipped_lines = c.lines;
                }
                Ok(false) | Err(_) => {
                    // Shorter than what was analysed: a new file under the old name.
                    let reader =
                        scantriage_ingest::open_input(path).map_err(|e| anyhow::anyhow!("{e}"))?;
                    cr = ChunkReader::new(reader, cfg.max_line_bytes).with_name(name.clone());
                }
            }
        }
        let first = match cr.next_chunk() {
            Ok(c) => c,
            Err(e) => {
                st.read_error = Some(e.to_string());
                None
            }
        };
        let format = match (cfg.format, &first) {
            (Some(f), _) => f,
            (None, Some(c)) => {
                let sample: Vec<&[u8]> = c.lines().take(50).map(|l| l.bytes).collect();
                scantriage_ingest::detect_format(&sample).unwrap_or(LogFormat::Combined)
            }
            (None, None) => LogFormat::Combined,
        };
        st.format = format.name().to_string();
        let parser = Parser::new(ParserConfig {
            format,
            json: cfg.json_fields.clone(),
            trusted_proxies: cfg.trusted_proxies.clone(),
        });
        let mut end_offset = resume.as_ref().map_or(0, |c| c.offset);
        if let Some(first) = first {
            let read_error = std::thread::scope(|sc| -> Option<String> {
                let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Chunk)>(threads * 2);
                let work_rx = Arc::new(Mutex::new(work_rx));
                let (res_tx, res_rx) = mpsc::channel::<(u64, ChunkResult)>();
                for _ in 0..threads {
                    let work_rx = Arc::clone(&work_rx);
                    let res_tx = res_tx.clone();
                    let parser = &parser;
                    sc.spawn(move || {
                        let mut w = Worker {
                            parser,
                            rules,
                            assessor: Assessor::new(rules, assessor_inv),
                            scratch: Scratch::default(),
                            matched: Vec::new(),
                        };
                        loop {
                            let job = work_rx.lock().expect("queue lock").recv();
                            let Ok((seq, chunk)) = job else { break };
                            if res_tx.send((seq, w.process(&chunk))).is_err() {
                                break;
                            }
                        }
                    });
                }
                drop(res_tx);
                let reader = sc.spawn(move || -> Option<String> {
                    let mut seq = 0u64;
                    if work_tx.send((seq, first)).is_err() {
                        return None;
                    }
                    loop {
                        seq += 1;
                        match cr.next_chunk() {
                            Ok(Some(c)) => {
                                if work_tx.send((seq, c)).is_err() {
                                    return None;
                                }
                            }
                            Ok(None) => return None,
                            Err(e) => return Some(e.to_string()),
                        }
                    }
                });
                let mut pending = BTreeMap::new();
                let mut next = 0u64;
                for (seq, res) in res_rx {
                    pending.insert(seq, res);
                    while let Some(res) = pending.remove(&next) {
                        next += 1;
                        st.lines += res.lines;
                        st.long_lines += res.long_lines;
                        st.parse_errors += res.errors;
                        for e in &res.first_errors {
                            if st.first_errors.len() < SHOWN_ERRORS {
                                st.first_errors.push(e.clone());
                            }
                        }
                        end_offset = res.end_offset;
                        fold.apply(idx as u32, &name, res);
                        if let Some(pb) = &progress {
                            pb.set_message(format!("{name}: {} lines", st.lines));
                            pb.tick();
                        }
                    }
                }
                reader.join().expect("reader thread")
            });
            if read_error.is_some() {
                st.read_error = read_error;
            }
        }
        total_lines += st.lines;
        if let Some(k) = key {
            checkpoints.push(Checkpoint {
                key: k,
                fingerprint: fingerprint(&prefix[..prefix.len().min(FINGERPRINT_BYTES)]),
                offset: end_offset,
                lines: base_lines + st.lines,
                updated_ms: 0,
            });
        }
        stats.push(st);
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }

    // Decisions.
    let policy = Policy::new(cfg.policy.clone());
    let ips: Vec<IpAddr> = fold.profiles.keys().copied().collect();
    let earlier = match store {
        Some(s) => s.load_sources(&ips)?,
        None => HashMap::new(),
    };
    let mut sources = Vec::with_capacity(fold.profiles.len());
    let mut decisions = Vec::new();
    let mut counts = DecisionCounts::default();
    for (ip, p) in &fold.profiles {
        let earlier_blocks = earlier
            .get(ip)
            .map_or(0, |s| u32::from(s.decision == DecisionKind::Block));
        let o = policy.decide(*ip, p, rules, &names, earlier_blocks);
        match o.kind {
            DecisionKind::Block => counts.block += 1,
            DecisionKind::Watch => counts.watch += 1,
            DecisionKind::Ignore => counts.ignore += 1,
        }
        let mut signatures: Vec<String> = p
            .signatures
            .iter()
            .map(|s| rules.get(s.sig).id.clone())
            .collect();
        signatures.sort();
        let mut cves: Vec<String> = p
            .signatures
            .iter()
            .flat_map(|s| rules.get(s.sig).cves.iter().cloned())
            .collect();
        cves.sort();
        cves.dedup();
        if o.kind != DecisionKind::Ignore {
            decisions.push(Decision {
                source: *ip,
                kind: o.kind,
                duration_secs: o.duration_secs,
                reasons: o.reasons.clone(),
                by: "policy".into(),
                at: p.last_seen,
            });
        }
        sources.push(SourceSummary {
            ip: *ip,
            decision: o.kind,
            verdict: p.verdict(),
            events: p.events,
            findings: p.events - p.by_verdict[0],
            signatures,
            cves,
            reasons: o.reasons,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            duration_secs: o.duration_secs,
            by_verdict: p.by_verdict,
        });
    }
    sources.sort_by_key(|s| s.ip);
    decisions.sort_by_key(|d| d.source);

    let mut campaigns: Vec<Campaign> = fold
        .campaigns
        .iter()
        .filter(|(_, c)| c.verdict > Verdict::Benign)
        .map(|(&s, c)| {
            let sig = rules.get(s);
            Campaign {
                signature: sig.id.clone(),
                name: sig.name.clone(),
                targets: sig.targets.clone(),
                category: sig.category.to_string(),
                cves: sig.cves.clone(),
                verdict: c.verdict,
                sources: c.sources.len() as u64,
                requests: c.requests,
                first_seen: c.first.unwrap_or_default(),
                last_seen: c.last.unwrap_or_default(),
            }
        })
        .collect();
    campaigns.sort_by(|a, b| {
        b.sources
            .cmp(&a.sources)
            .then(b.requests.cmp(&a.requests))
            .then(a.signature.cmp(&b.signature))
    });
    campaigns.truncate(50);

    let events: u64 = fold.by_verdict.iter().sum();
    let summary = Summary {
        lines: total_lines,
        events,
        parse_errors: stats.iter().map(|s| s.parse_errors).sum(),
        by_verdict: fold.by_verdict.into(),
        noise_pruned_pct: scantriage_report::noise_share(&fold.by_verdict),
        sources: sources.len() as u64,
        decisions: counts,
        campaigns,
        inventory_hints: fold
            .unlisted
            .iter()
            .map(|(product, (sources, example))| InventoryHint {
                product: product.clone(),
                sources: sources.len() as u64,
                example: example.clone(),
            })
            .collect(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        store: None,
        inputs: stats,
    };
    Ok(Outcome {
        sources,
        summary,
        findings: fold.findings,
        decisions,
        checkpoints,
    })
}

/// Merges this run's view of a source with what the store knew (for saving).
pub fn merge_with_stored(now: &SourceSummary, old: Option<&SourceSummary>) -> SourceSummary {
    let Some(old) = old else { return now.clone() };
    let union = |a: &[String], b: &[String]| {
        let mut v: Vec<String> = a.iter().chain(b).cloned().collect();
        v.sort();
        v.dedup();
        v
    };
    let mut by_verdict = old.by_verdict;
    for (a, b) in by_verdict.iter_mut().zip(now.by_verdict) {
        *a += b;
    }
    SourceSummary {
        ip: now.ip,
        decision: now.decision.max(old.decision),
        verdict: now.verdict.max(old.verdict),
        events: old.events + now.events,
        findings: old.findings + now.findings,
        signatures: union(&old.signatures, &now.signatures),
        cves: union(&old.cves, &now.cves),
        reasons: if now.reasons.is_empty() {
            old.reasons.clone()
        } else {
            now.reasons.clone()
        },
        first_seen: old.first_seen.min(now.first_seen),
        last_seen: old.last_seen.max(now.last_seen),
        duration_secs: now.duration_secs.max(old.duration_secs),
        by_verdict,
    }
}

/// Writes a run to the store in one transaction.
pub fn save(store: &mut dyn Store, out: &Outcome, started_ms: i64) -> Result<()> {
    let ips: Vec<IpAddr> = out.sources.iter().map(|s| s.ip).collect();
    let old = store.load_sources(&ips)?;
    let merged: Vec<SourceSummary> = out
        .sources
        .iter()
        .map(|s| merge_with_stored(s, old.get(&s.ip)))
        .collect();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let checkpoints: Vec<Checkpoint> = out
        .checkpoints
        .iter()
        .map(|c| Checkpoint {
            updated_ms: now_ms,
            ..c.clone()
        })
        .collect();
    let inputs: Vec<String> = out.summary.inputs.iter().map(|i| i.name.clone()).collect();
    store.save_run(&RunRecord {
        started_ms,
        finished_ms: now_ms,
        inputs: &inputs,
        lines: out.summary.lines,
        parse_errors: out.summary.parse_errors,
        findings: &out.findings,
        sources: &merged,
        decisions: &out.decisions,
        checkpoints: &checkpoints,
    })?;
    Ok(())
}
