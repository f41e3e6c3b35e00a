//! Batch analysis: read inputs in chunks, parse and match on every core, fold the
//! results in input order into source profiles, decide, and hand back the report.
//!
//! Workers return per-chunk results; the fold consumes them strictly in order, so the
//! outcome is identical whatever the number of threads.

use crate::config::Config;
use anyhow::{Context, Result};
use scantriage_assess::waves::{self, Answer, WaveDetector, WaveEvent};
use scantriage_assess::{
    block_reason, Assessor, Evidence, Observation, PersonVerdicts, Policy, Profile, Why,
};
use scantriage_core::{
    escape_for_display, Category, Decision, DecisionKind, Finding, HttpRequest, Severity,
    SignatureIndex, SourceSummary, Timestamp, Verdict,
};
use scantriage_detect::{heuristics, RuleSet, Scratch};
use scantriage_ingest::{Chunk, ChunkReader, InputFormat, LogFormat, Parser, ParserConfig};
use scantriage_report::{
    At, Campaign, CampaignObject, CveProbe, DecisionCounts, DraftRef, EmergingCampaign, Growth,
    HourCount, InputStats, InventoryHint, SignatureCampaign, Summary, TargetCampaign, WaveSummary,
    Window,
};
use scantriage_store::{Checkpoint, RunRecord, Store, StoredCampaign};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    /// Signatures whose CVEs affect an installed version: their relevant probes are urgent.
    pub vulnerable: HashMap<SignatureIndex, scantriage_assess::VulnMatch>,
    /// People's verdicts: cannot-work suppressions, allowed and blocked sources.
    pub person: PersonVerdicts,
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
    status: u16,
    /// Template hash of a request without a signature (0: none, see [`waves`]).
    wave: u64,
    /// Method code ([`waves::method_code`]), for `wave` events.
    method: u8,
    /// Index in the chunk's `wave_spans` of the template and request text (or `u32::MAX`).
    wave_text: u32,
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
    /// Texts of wave events, one arena per chunk (no allocation per line once warm).
    wave_arena: String,
    /// (template start, request start, end) in `wave_arena`.
    wave_spans: Vec<(u32, u32, u32)>,
}

fn memchr_q(t: &[u8]) -> Option<usize> {
    t.iter().position(|&b| b == b'?')
}

/// Served requests per chunk whose text is handed to the fold (examples for drafts).
const SERVED_TEXTS_PER_CHUNK: u32 = 4;

/// Appends `bytes` to `out` escaped for display (see `escape_for_display`), at most `max` chars.
fn push_escaped(out: &mut String, bytes: &[u8], max: usize) {
    let cut = &bytes[..bytes.len().min(max)];
    match std::str::from_utf8(cut) {
        Ok(s) if bytes.len() <= max && s.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
            out.push_str(s)
        }
        _ => out.push_str(&escape_for_display(bytes, max)),
    }
}

struct Worker<'a> {
    parser: &'a Parser,
    rules: &'a RuleSet,
    assessor: Assessor<'a>,
    person: &'a PersonVerdicts,
    scratch: Scratch,
    matched: Vec<SignatureIndex>,
    /// Compute path templates for the wave detector.
    waves: bool,
    /// The template of the last request given to `template_of`.
    template: Vec<u8>,
    /// Raw target → (template hash, template); 0 for targets that never form waves.
    templates: TemplateCache,
    decoded: Vec<u8>,
    normalized: Vec<u8>,
    query: Vec<u8>,
    tmp: Vec<u8>,
}

type TemplateCache = FastMap<Box<[u8]>, (u64, Box<[u8]>)>;

/// Targets whose template a worker remembers before it clears the cache.
const TEMPLATE_CACHE_ENTRIES: usize = 8192;
/// Longest target cached.
const TEMPLATE_CACHE_MAX_LEN: usize = 512;

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
    /// The template hash of a raw request target (decoded and normalised as the
    /// signatures see it), with the template in `self.template`; `None` when the path
    /// never forms waves. Repeated targets come from a small cache.
    fn template_of(&mut self, target: &[u8]) -> Option<u64> {
        use scantriage_detect::normalize::{decode_into, normalize_path};
        if let Some((h, t)) = self.templates.get(target) {
            self.template.clear();
            self.template.extend_from_slice(t);
            return (*h != 0).then_some(*h);
        }
        let q = memchr_q(target);
        let (mut path, query) = match q {
            Some(i) => (&target[..i], &target[i + 1..]),
            None => (target, &b""[..]),
        };
        for scheme in [&b"http://"[..], b"https://"] {
            if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
                let rest = &path[scheme.len()..];
                path = rest
                    .iter()
                    .position(|&b| b == b'/')
                    .map_or(&b""[..], |i| &rest[i..]);
            }
        }
        decode_into(path, usize::MAX, &mut self.decoded, &mut self.tmp);
        normalize_path(&self.decoded, &mut self.normalized);
        decode_into(query, 0, &mut self.query, &mut self.tmp);
        let h = if waves::template_into(&self.normalized, &self.query, &mut self.template) {
            waves::template_hash(&self.template)
        } else {
            0
        };
        if target.len() <= TEMPLATE_CACHE_MAX_LEN {
            if self.templates.len() >= TEMPLATE_CACHE_ENTRIES {
                self.templates.clear();
            }
            self.templates
                .insert(target.into(), (h, self.template.as_slice().into()));
        }
        (h != 0).then_some(h)
    }

    /// The decoded, normalised, lowercased path of a raw request target (as signatures see it).
    fn path_of(&mut self, target: &[u8]) -> Vec<u8> {
        use scantriage_detect::normalize::{decode_into, normalize_path};
        let path = &target[..memchr_q(target).unwrap_or(target.len())];
        decode_into(path, usize::MAX, &mut self.decoded, &mut self.tmp);
        let mut out = Vec::with_capacity(self.decoded.len() + 1);
        normalize_path(&self.decoded, &mut out);
        out
    }

    fn process(&mut self, chunk: &Chunk) -> ChunkResult {
        let mut r = ChunkResult {
            end_offset: chunk.end_offset,
            ..Default::default()
        };
        let mut served_texts = 0;
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
            // Also for matched requests: when the assessor drops an informational look
            // (Referer, crawler), what a heuristic found still counts.
            let suspicion = heuristics::suspicion(&req, &self.scratch);
            // Requests without a signature feed the wave detector: their template's hash,
            // and its text only when the fold may need it (failures, a few successes).
            let (mut wave, mut wave_text) = (0, u32::MAX);
            let answer = Answer::of(req.status);
            // A scanning tool's fingerprint (its user agent) says who asks, not what for:
            // such requests still feed the wave detector.
            let path_unknown = self
                .matched
                .iter()
                .all(|&s| self.rules.get(s).category == Category::Scanner);
            if self.waves && path_unknown && req.is_http() && answer.is_some() {
                if let Some(hash) = self.template_of(&req.target) {
                    wave = hash;
                    let want = answer == Some(Answer::Failed) || {
                        served_texts += 1;
                        served_texts <= SERVED_TEXTS_PER_CHUNK
                    };
                    if want {
                        let a = &mut r.wave_arena;
                        let start = a.len() as u32;
                        push_escaped(a, &self.template, waves::MAX_TEMPLATE + 8);
                        let mid = a.len() as u32;
                        push_escaped(a, &req.method, 16);
                        a.push(' ');
                        push_escaped(a, &req.target, 300);
                        r.wave_spans.push((start, mid, a.len() as u32));
                        wave_text = (r.wave_spans.len() - 1) as u32;
                    }
                }
            }
            let mut a = self.assessor.assess(&req, &mut self.matched, suspicion);
            if a.verdict > Verdict::Noise && !self.person.suppresses_nothing() {
                let path = self.person.needs_path().then(|| self.path_of(&req.target));
                if let Some(why) = self.person.suppression(&self.matched, path.as_deref()) {
                    a.verdict = Verdict::Noise;
                    a.why = why;
                }
            }
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
                status: req.status,
                wave,
                method: if wave != 0 {
                    waves::method_code(&req.method)
                } else {
                    0
                },
                wave_text,
            });
        }
        r
    }
}

/// Windows kept per campaign (older activity still counts in the totals).
const MAX_WINDOWS: usize = 512;

struct WinAcc {
    idx: i64,
    sources: u64,
    networks: u64,
    requests: u64,
}

/// Findings of one signature (or one target) across sources.
#[derive(Default)]
struct CampaignAcc {
    /// Source → the last window in which it was counted.
    sources: FastMap<IpAddr, i64>,
    /// Network → the last window in which it was counted (only with campaigns on).
    nets: FastMap<u128, i64>,
    windows: Vec<WinAcc>,
    requests: u64,
    verdict: Verdict,
    by_verdict: [u64; 5],
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// Requests per signature (targets only).
    sigs: FastMap<SignatureIndex, u64>,
}

impl CampaignAcc {
    /// Counts one request; `window` is `Some(index)` when campaigns are on.
    fn add(&mut self, ev: &Ev, window: Option<i64>) {
        self.requests += 1;
        self.verdict = self.verdict.max(ev.verdict);
        self.by_verdict[ev.verdict as usize] += 1;
        self.first = Some(self.first.map_or(ev.time, |t| t.min(ev.time)));
        self.last = Some(self.last.map_or(ev.time, |t| t.max(ev.time)));
        let Some(idx) = window else {
            self.sources.entry(ev.source).or_insert(i64::MIN);
            return;
        };
        let w = match self.windows.binary_search_by_key(&idx, |w| w.idx) {
            Ok(i) => Some(i),
            Err(i) if self.windows.len() < MAX_WINDOWS => {
                self.windows.insert(
                    i,
                    WinAcc {
                        idx,
                        sources: 0,
                        networks: 0,
                        requests: 0,
                    },
                );
                Some(i)
            }
            Err(_) => None,
        };
        // A source (network) counts once per window; events out of time order may be
        // missed in a window's count, never in the totals.
        let s = self.sources.entry(ev.source).or_insert(i64::MIN);
        let new_source = *s < idx;
        *s = (*s).max(idx);
        let n = self
            .nets
            .entry(waves::network_of(ev.source))
            .or_insert(i64::MIN);
        let new_net = *n < idx;
        *n = (*n).max(idx);
        if let Some(i) = w {
            let w = &mut self.windows[i];
            w.requests += 1;
            w.sources += u64::from(new_source);
            w.networks += u64::from(new_net);
        }
    }

    fn growth(&self, end_idx: i64) -> Growth {
        let count = |idx: i64| {
            self.windows
                .binary_search_by_key(&idx, |w| w.idx)
                .map_or(0, |i| self.windows[i].sources)
        };
        let (last, prev) = (count(end_idx), count(end_idx - 1));
        let hours = match (self.first, self.last) {
            (Some(a), Some(b)) => ((b.unix_ms - a.unix_ms) as f64 / 3_600_000.0).max(1.0),
            _ => 1.0,
        };
        Growth {
            sources_last_window: last,
            sources_prev_window: prev,
            ratio: (prev > 0).then(|| ((last as f64 / prev as f64) * 100.0).round() / 100.0),
            sources_per_hour: ((self.sources.len() as f64 / hours) * 100.0).round() / 100.0,
        }
    }

    fn windows(&self, window_secs: i64, offset_min: i16) -> Vec<Window> {
        self.windows
            .iter()
            .map(|w| Window {
                start: Timestamp {
                    unix_ms: w.idx * window_secs * 1000,
                    offset_min,
                },
                sources: w.sources,
                networks: w.networks,
                requests: w.requests,
            })
            .collect()
    }
}

/// What the fold knows of one source.
struct SourceState {
    profile: Profile,
    /// It was served an ordinary page (a reader): it never counts towards a wave.
    reader: bool,
}

/// Sources whose profile map a run hands to the next one on its thread at most.
const SPARE_PROFILES_MAX: usize = 1 << 18;

thread_local! {
    /// The last run's emptied profile map: a service analysing batch after batch does
    /// not grow and fault in a new one for each.
    static SPARE_PROFILES: std::cell::RefCell<Option<FastMap<IpAddr, SourceState>>> =
        const { std::cell::RefCell::new(None) };
}

/// The state folded in input order.
struct Fold<'a> {
    cfg: &'a Config,
    rules: &'a RuleSet,
    profiles: FastMap<IpAddr, SourceState>,
    campaigns: FastMap<SignatureIndex, CampaignAcc>,
    /// Per target id (see `target_names`), with campaigns on.
    targets: Vec<CampaignAcc>,
    target_names: Vec<String>,
    /// Target ids per signature.
    sig_targets: Vec<Vec<u16>>,
    /// The new-wave detector, with campaigns on.
    waves: Option<WaveDetector>,
    /// Template hash of the front page (`/`), which does not make a source a reader.
    root: u64,
    /// Latest event time.
    latest: Option<Timestamp>,
    /// Products the inventory does not list that answered success: (sources, example).
    unlisted: BTreeMap<String, (HashSet<IpAddr>, String)>,
    by_verdict: [u64; 5],
    findings: Vec<Finding>,
    kept: FastMap<IpAddr, u32>,
    keep_findings: bool,
    /// Port-scan and SSH brute-force detectors (system logs and captures).
    net: crate::network::NetDetectors,
}

/// Counts one network event in its source's profile.
fn see_network(
    profiles: &mut FastMap<IpAddr, SourceState>,
    input: u32,
    (ip, t, line): crate::network::Seen,
) {
    let st = profiles.entry(ip).or_insert_with(|| SourceState {
        profile: Profile::new(t),
        reader: false,
    });
    st.profile.observe_network(t, input, line);
}

impl Fold<'_> {
    fn apply(&mut self, input: u32, input_name: &str, r: ChunkResult) {
        let mut recs: Vec<Option<FindingRec>> = r.findings.into_iter().map(Some).collect();
        let rich = self.waves.is_some();
        let window_secs = self.cfg.campaigns.waves.window_secs.max(1);
        for ev in &r.events {
            self.by_verdict[ev.verdict as usize] += 1;
            if rich {
                self.latest = Some(self.latest.map_or(ev.time, |t| t.max(ev.time)));
            }
            let sigs = &r.sigs[ev.sig_start as usize..ev.sig_start as usize + ev.sig_len as usize];
            let rec = (ev.finding != u32::MAX)
                .then(|| recs[ev.finding as usize].take())
                .flatten();
            let why = rec.as_ref().map(|f| match f.why {
                Why::Suspicious(s) => s,
                w => w.text(),
            });
            let st = self
                .profiles
                .entry(ev.source)
                .or_insert_with(|| SourceState {
                    profile: Profile::new(ev.time),
                    reader: false,
                });
            let o = Observation {
                time: ev.time,
                verdict: ev.verdict,
                category: ev.category,
                severity: ev.severity,
                sigs,
                scripted: ev.scripted,
                why,
            };
            st.profile.observe(&o, &self.cfg.policy, || {
                let f = rec.as_ref().expect("findings carry a record");
                Evidence {
                    input,
                    line: ev.line,
                    time: ev.time,
                    request: f.request.clone(),
                    status: f.status,
                }
            });
            if ev.wave != 0 {
                if let Some(w) = self.waves.as_mut() {
                    let (template_text, request) = match r.wave_spans.get(ev.wave_text as usize) {
                        Some(&(a, b, c)) => (
                            &r.wave_arena[a as usize..b as usize],
                            &r.wave_arena[b as usize..c as usize],
                        ),
                        None => ("", ""),
                    };
                    w.observe(&WaveEvent {
                        template: ev.wave,
                        time: ev.time,
                        source: ev.source,
                        status: ev.status,
                        method: ev.method,
                        reader: st.reader,
                        input,
                        line: ev.line,
                        template_text,
                        request,
                    });
                    if ev.wave != self.root && Answer::of(ev.status) == Some(Answer::Served) {
                        st.reader = true;
                    }
                }
            }
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
            let window = rich.then(|| ev.time.unix_secs().div_euclid(window_secs));
            for &s in sigs {
                self.campaigns.entry(s).or_default().add(ev, window);
            }
            if rich && ev.verdict > Verdict::Benign {
                let mut seen: [u16; 8] = [u16::MAX; 8];
                let mut n = 0;
                for &s in sigs {
                    for &t in &self.sig_targets[s as usize] {
                        if !seen[..n].contains(&t) && n < seen.len() {
                            seen[n] = t;
                            n += 1;
                            let acc = &mut self.targets[t as usize];
                            acc.add(ev, window);
                        }
                        *self.targets[t as usize].sigs.entry(s).or_default() += 1;
                    }
                }
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

/// Reads the site's own paths: one per line (`#` comments), or a sitemap's `<loc>` URLs.
/// A full URL counts by its path; `dir/index.html` also marks `dir/` as served.
pub fn read_site_paths(text: &str) -> Vec<String> {
    let strip = |u: &str| -> String {
        let u = u.trim();
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        let p = match rest {
            Some(r) => r.find('/').map_or("/", |i| &r[i..]),
            None => u.trim_start_matches('.'),
        };
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    };
    let mut out = Vec::new();
    if text.contains("<loc>") {
        for part in text.split("<loc>").skip(1) {
            if let Some(end) = part.find("</loc>") {
                out.push(strip(&part[..end].replace("&amp;", "&")));
            }
        }
    } else {
        for line in text.lines() {
            let l = line.trim();
            if !l.is_empty() && !l.starts_with('#') {
                out.push(strip(l));
            }
        }
    }
    let dirs: Vec<String> = out
        .iter()
        .filter_map(|p| {
            ["/index.html", "/index.htm", "/index.php"]
                .iter()
                .find_map(|i| p.strip_suffix(&i[1..]))
                .map(str::to_string)
        })
        .collect();
    out.extend(dirs);
    out
}

/// Recognises a file again: `LEN:HASH` of its first bytes (at most 4 KiB are used).
pub fn fingerprint(prefix: &[u8]) -> String {
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

/// Bytes of one followed input already read by the caller (`watch`): complete lines
/// that start at `offset` of the input whose checkpoint is `key`.
pub struct Feed {
    /// Name in the report and in messages.
    pub name: String,
    /// Checkpoint key.
    pub key: String,
    /// Checkpoint fingerprint saved with the new offset (for the journal: its cursor).
    pub fingerprint: String,
    /// Offset of `data` in the input.
    pub offset: u64,
    /// Lines before `offset`.
    pub lines: u64,
    /// The format, when known (else detected from `data`).
    pub format: Option<InputFormat>,
    /// Complete lines.
    pub data: Vec<u8>,
}

enum Src {
    Path(PathBuf),
    Feed(Feed),
}

/// Runs the analysis. `store` gives checkpoints (resume) and earlier decisions.
pub fn run(
    cfg: &Config,
    rules: &RuleSet,
    opts: &Options,
    store: Option<&dyn Store>,
) -> Result<Outcome> {
    let inputs = scantriage_ingest::order_rotated(opts.inputs.clone());
    run_sources(
        cfg,
        rules,
        opts,
        inputs.into_iter().map(Src::Path).collect(),
        store,
    )
}

/// Runs the analysis over bytes already read (`opts.inputs` is ignored); the outcome's
/// checkpoints are the feeds' keys with their new offsets.
pub fn run_feeds(
    cfg: &Config,
    rules: &RuleSet,
    opts: &Options,
    feeds: Vec<Feed>,
    store: Option<&dyn Store>,
) -> Result<Outcome> {
    run_sources(
        cfg,
        rules,
        opts,
        feeds.into_iter().map(Src::Feed).collect(),
        store,
    )
}

fn run_sources(
    cfg: &Config,
    rules: &RuleSet,
    opts: &Options,
    sources: Vec<Src>,
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
    let rich = cfg.campaigns.enabled;
    let mut target_names: Vec<String> = Vec::new();
    let sig_targets: Vec<Vec<u16>> = rules
        .signatures()
        .iter()
        .map(|s| {
            s.targets
                .iter()
                .map(|t| match target_names.iter().position(|n| n == t) {
                    Some(i) => i as u16,
                    None => {
                        target_names.push(t.clone());
                        (target_names.len() - 1) as u16
                    }
                })
                .collect()
        })
        .collect();
    let detector = if rich {
        let mut d = WaveDetector::new(cfg.campaigns.waves.clone());
        for f in &cfg.campaigns.site_paths {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("campaigns.site_paths: cannot read {}", f.display()))?;
            for p in read_site_paths(&text) {
                d.seed_served(&p);
            }
        }
        Some(d)
    } else {
        None
    };
    let mut root_buf = Vec::new();
    waves::template_into(b"/", b"", &mut root_buf);
    let mut fold = Fold {
        cfg,
        rules,
        profiles: SPARE_PROFILES.with(|s| s.borrow_mut().take().unwrap_or_default()),
        campaigns: FastMap::default(),
        targets: (0..target_names.len())
            .map(|_| CampaignAcc::default())
            .collect(),
        target_names,
        sig_targets,
        waves: detector,
        root: waves::template_hash(&root_buf),
        latest: None,
        unlisted: BTreeMap::new(),
        by_verdict: [0; 5],
        findings: Vec::new(),
        kept: FastMap::default(),
        keep_findings: opts.keep_findings,
        net: crate::network::NetDetectors::new(&cfg.network),
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
    let mut queue: std::collections::VecDeque<Src> = sources.into();
    for idx in 0.. {
        let Some(src) = queue.pop_front() else { break };
        let (path, mut feed) = match src {
            Src::Path(p) => (p, None),
            Src::Feed(f) => (PathBuf::from(&f.name), Some(f)),
        };
        let path = &path;
        let name = path.display().to_string();
        names.push(name.clone());
        let mut st = InputStats {
            name: name.clone(),
            ..Default::default()
        };
        let is_stdin = name == "-" && feed.is_none();
        let key = if let Some(f) = &feed {
            Some(f.key.clone())
        } else if is_stdin {
            None
        } else {
            Some(
                std::fs::canonicalize(path)
                    .with_context(|| format!("{name}: cannot open"))?
                    .display()
                    .to_string(),
            )
        };
        let mut reader: Box<dyn Read + Send> = match &mut feed {
            Some(f) => Box::new(std::io::Cursor::new(std::mem::take(&mut f.data))),
            None => scantriage_ingest::open_input(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        let prev = match (&key, store, &feed) {
            (Some(k), Some(s), None) => s.checkpoint(k)?,
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
        if feed.is_none() && scantriage_ingest::is_capture(&prefix) {
            // A capture: read whole (again when it changed), unless already analysed.
            st.format = InputFormat::Pcap.name().to_string();
            let size = (!is_stdin)
                .then(|| std::fs::metadata(path).ok().map(|m| m.len()))
                .flatten();
            match (&resume, size) {
                (Some(c), Some(n)) if c.offset >= n => st.skipped_lines = c.lines,
                _ => {
                    let input = std::io::Cursor::new(prefix.clone()).chain(reader);
                    let profiles = &mut fold.profiles;
                    let http = crate::network::read_pcap(input, &mut st, &mut fold.net, |seen| {
                        see_network(profiles, idx as u32, seen)
                    });
                    // The HTTP requests it carries are analysed like an access log.
                    if !http.is_empty() {
                        let mut data = Vec::with_capacity(http.len() * 160);
                        for r in &http {
                            r.write_combined(&mut data);
                        }
                        queue.push_back(Src::Feed(Feed {
                            name: format!("{name}#http"),
                            key: String::new(),
                            fingerprint: String::new(),
                            offset: 0,
                            lines: 0,
                            format: Some(InputFormat::Web(LogFormat::Combined)),
                            data,
                        }));
                    }
                }
            }
            total_lines += st.lines;
            if let Some(k) = key {
                checkpoints.push(Checkpoint {
                    key: k,
                    fingerprint: fingerprint(&prefix[..prefix.len().min(FINGERPRINT_BYTES)]),
                    offset: size.unwrap_or(0),
                    lines: st.lines.max(st.skipped_lines),
                    updated_ms: 0,
                });
            }
            stats.push(st);
            continue;
        }
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
        let mut first = match cr.next_chunk() {
            Ok(c) => c,
            Err(e) => {
                st.read_error = Some(e.to_string());
                None
            }
        };
        let input_format = match (cfg.format, &first) {
            _ if feed.as_ref().is_some_and(|f| f.format.is_some()) => {
                feed.as_ref().and_then(|f| f.format).expect("checked")
            }
            (Some(f), _) => InputFormat::Web(f),
            (None, Some(c)) => {
                let sample: Vec<&[u8]> = c.lines().take(50).map(|l| l.bytes).collect();
                scantriage_ingest::detect_input(&prefix, &sample)
                    .unwrap_or(InputFormat::Web(LogFormat::Combined))
            }
            (None, None) => InputFormat::Web(LogFormat::Combined),
        };
        st.format = input_format.name().to_string();
        let format = match input_format {
            InputFormat::Web(f) => f,
            _ => LogFormat::Combined,
        };
        let parser = Parser::new(ParserConfig {
            format,
            json: cfg.json_fields.clone(),
            trusted_proxies: cfg.trusted_proxies.clone(),
        });
        let mut end_offset = resume.as_ref().map_or(0, |c| c.offset);
        if input_format.is_system() {
            if let Some(first) = first.take() {
                // Traditional syslog timestamps are dated against the input's mtime.
                let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                let reference = mtime
                    .unwrap_or_else(std::time::SystemTime::now)
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let profiles = &mut fold.profiles;
                end_offset = crate::network::read_system(
                    input_format,
                    &cfg.network,
                    Timestamp::from_unix_secs(reference),
                    first,
                    &mut cr,
                    &mut st,
                    &mut fold.net,
                    |seen| see_network(profiles, idx as u32, seen),
                );
            }
        }
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
                            assessor: Assessor::new(rules, assessor_inv)
                                .with_vulnerable(&opts.vulnerable),
                            person: &opts.person,
                            scratch: Scratch::default(),
                            matched: Vec::new(),
                            waves: rich,
                            template: Vec::new(),
                            templates: TemplateCache::default(),
                            decoded: Vec::new(),
                            normalized: Vec::new(),
                            query: Vec::new(),
                            tmp: Vec::new(),
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
        if let Some(f) = feed {
            // A derived feed (a capture's HTTP requests) has no checkpoint of its own.
            if !f.key.is_empty() {
                checkpoints.push(Checkpoint {
                    key: f.key,
                    fingerprint: f.fingerprint,
                    offset: f.offset + end_offset,
                    lines: f.lines + st.lines,
                    updated_ms: 0,
                });
            }
        } else if let Some(k) = key {
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
    // A person's allow verdicts extend the allowlist.
    let mut policy_cfg = cfg.policy.clone();
    policy_cfg
        .allowlist
        .extend(opts.person.allowed().iter().copied());
    let policy = Policy::new(policy_cfg);
    // In address order: the sources and decisions are built sorted.
    let mut ips: Vec<IpAddr> = fold.profiles.keys().copied().collect();
    ips.sort_unstable();
    let (campaign_objects, wave_summary) = campaign_view(&fold, &names)?;
    let earlier = match store {
        Some(s) => s.load_sources(&ips)?,
        None => HashMap::new(),
    };
    for (ip, st) in fold.profiles.iter_mut() {
        st.profile.scan = fold.net.scans.detection(*ip);
        st.profile.ssh = fold.net.ssh.summary(*ip).cloned();
        st.profile.auth = fold.net.login_summaries(*ip);
    }
    let mut sources = Vec::with_capacity(fold.profiles.len());
    let mut decisions = Vec::new();
    let mut counts = DecisionCounts::default();
    for ip in &ips {
        let p = &fold.profiles[ip].profile;
        let earlier_blocks = earlier
            .get(ip)
            .map_or(0, |s| u32::from(s.decision == DecisionKind::Block));
        let mut o = policy.decide(*ip, p, rules, &names, earlier_blocks);
        let mut by = "policy".to_string();
        // A person's block verdict blocks whatever the policy concluded (never an allowlisted source).
        if let Some(v) = opts
            .person
            .block_for(*ip)
            .filter(|_| !policy.allowlisted(*ip))
        {
            o.kind = DecisionKind::Block;
            o.duration_secs = o.duration_secs.max(cfg.policy.max_block_secs);
            o.reasons.insert(0, block_reason(v));
            by = v.author.clone();
        }
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
                by,
                at: p.last_seen,
            });
        }
        // A port scan or brute force aims at this server: at least relevant.
        let net_relevant = p.scan.is_some()
            || p.ssh.as_ref().is_some_and(|s| s.brute_force.is_some())
            || p.auth.iter().any(|a| a.summary.brute_force.is_some());
        let verdict = if net_relevant {
            p.verdict().max(Verdict::Relevant)
        } else {
            p.verdict()
        };
        sources.push(SourceSummary {
            ip: *ip,
            decision: o.kind,
            verdict,
            events: p.events + p.net_events,
            findings: p.events - p.by_verdict[0],
            signatures,
            cves,
            reasons: o.reasons,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            duration_secs: o.duration_secs,
            by_verdict: p.by_verdict,
            port_scan: p.scan.clone(),
            ssh: p.ssh.clone(),
            auth: p.auth.clone(),
        });
    }

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

    // The CVEs sources are probing for, whether this server is affected by each, and
    // whether each is known exploited (shipped KEV list, or the catalog in the store).
    #[derive(Default)]
    struct CveAcc<'r> {
        sources: HashSet<IpAddr>,
        requests: u64,
        last_seen: Timestamp,
        signatures: BTreeSet<&'r str>,
    }
    let mut by_cve: BTreeMap<&str, CveAcc<'_>> = BTreeMap::new();
    for (&s, c) in &fold.campaigns {
        let sig = rules.get(s);
        for cve in &sig.cves {
            let e = by_cve.entry(cve.as_str()).or_default();
            e.sources.extend(c.sources.keys().copied());
            e.requests += c.requests;
            e.last_seen = e.last_seen.max(c.last.unwrap_or_default());
            e.signatures.insert(sig.id.as_str());
        }
    }
    let mut cves_probed: Vec<CveProbe> = by_cve
        .into_iter()
        .map(|(cve, a)| {
            let hit = opts.vulnerable.values().find(|m| m.cve == cve);
            CveProbe {
                cve: cve.to_string(),
                signatures: a.signatures.into_iter().map(str::to_string).collect(),
                sources: a.sources.len() as u64,
                requests: a.requests,
                last_seen: a.last_seen,
                affected: hit.is_some(),
                product: hit.map(|m| m.product.clone()),
                installed: hit.map(|m| m.installed.clone()),
                fixed: hit.and_then(|m| m.fixed.clone()),
                known_exploited: hit.is_some_and(|m| m.known_exploited)
                    || scantriage_vuln::kev::is_known_exploited(cve),
            }
        })
        .collect();
    cves_probed.sort_by(|a, b| {
        b.affected
            .cmp(&a.affected)
            .then(b.sources.cmp(&a.sources))
            .then(a.cve.cmp(&b.cve))
    });

    // Sources that are CDN edge addresses: the log names the edge, not the visitors.
    let mut cdn_edges: Vec<scantriage_report::CdnEdges> = Vec::new();
    if !cfg.cdn.is_empty() {
        for s in &sources {
            if let Some(p) = scantriage_core::cdn::cdn_provider(&cfg.cdn, &s.ip) {
                match cdn_edges.iter_mut().find(|c| c.provider == p) {
                    Some(c) => {
                        c.sources += 1;
                        c.requests += s.events;
                    }
                    None => cdn_edges.push(scantriage_report::CdnEdges {
                        provider: p.to_string(),
                        sources: 1,
                        requests: s.events,
                    }),
                }
            }
        }
    }
    let events: u64 = fold.by_verdict.iter().sum();
    let summary = Summary {
        cdn_edges,
        cves_probed,
        lines: total_lines,
        events,
        parse_errors: stats.iter().map(|s| s.parse_errors).sum(),
        by_verdict: fold.by_verdict.into(),
        noise_pruned_pct: scantriage_report::noise_share(&fold.by_verdict),
        sources: sources.len() as u64,
        decisions: counts,
        campaigns,
        waves: wave_summary,
        campaign_objects,
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
    // The emptied map is the next run's (a service analyses batch after batch).
    let mut spare = std::mem::take(&mut fold.profiles);
    if spare.capacity() <= SPARE_PROFILES_MAX {
        spare.clear();
        SPARE_PROFILES.with(|s| *s.borrow_mut() = Some(spare));
    }
    Ok(Outcome {
        sources,
        summary,
        findings: fold.findings,
        decisions,
        checkpoints,
    })
}

/// Campaign objects (by target, by signature, emerging) and the wave counters; writes
/// drafted signatures when a drafts directory is configured.
fn campaign_view(fold: &Fold<'_>, names: &[String]) -> Result<(Vec<CampaignObject>, WaveSummary)> {
    let Some(det) = &fold.waves else {
        return Ok((Vec::new(), WaveSummary::default()));
    };
    let cfg = fold.cfg;
    let rules = fold.rules;
    let window_secs = cfg.campaigns.waves.window_secs.max(1);
    let latest = fold.latest.unwrap_or_default();
    let end_idx = latest.unix_secs().div_euclid(window_secs);
    let offset = latest.offset_min;
    let mut out = Vec::new();
    let mut asn_db = match &cfg.campaigns.asn_db {
        Some(p) => Some(crate::asn::AsnDb::open(p)?),
        None => None,
    };
    let mut asns = |sources: &mut dyn Iterator<Item = IpAddr>| match asn_db.as_mut() {
        Some(db) => {
            let (n, top) = db.group(sources, 5);
            (Some(n), top)
        }
        None => (None, Vec::new()),
    };

    let mut targets: Vec<TargetCampaign> = fold
        .targets
        .iter()
        .zip(&fold.target_names)
        .filter(|(c, _)| c.requests > 0)
        .map(|(c, name)| {
            let mut sigs: Vec<(&SignatureIndex, &u64)> = c.sigs.iter().collect();
            sigs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let (asns, top_asns) = asns(&mut c.sources.keys().copied());
            TargetCampaign {
                target: name.clone(),
                installed: cfg.inventory.has(name),
                verdict: c.verdict,
                by_verdict: c.by_verdict.into(),
                sources: c.sources.len() as u64,
                networks: c.nets.len() as u64,
                asns,
                top_asns,
                requests: c.requests,
                first_seen: c.first.unwrap_or_default(),
                last_seen: c.last.unwrap_or_default(),
                signatures: sigs
                    .iter()
                    .take(5)
                    .map(|(&s, _)| rules.get(s).id.clone())
                    .collect(),
                growth: c.growth(end_idx),
                windows: c.windows(window_secs, offset),
            }
        })
        .collect();
    targets.sort_by(|a, b| {
        b.sources
            .cmp(&a.sources)
            .then(b.requests.cmp(&a.requests))
            .then(a.target.cmp(&b.target))
    });
    out.extend(targets.into_iter().map(CampaignObject::Target));

    let mut sigs: Vec<SignatureCampaign> = fold
        .campaigns
        .iter()
        .filter(|(_, c)| c.verdict > Verdict::Benign)
        .map(|(&s, c)| {
            let sig = rules.get(s);
            let (asns, top_asns) = asns(&mut c.sources.keys().copied());
            SignatureCampaign {
                signature: sig.id.clone(),
                name: sig.name.clone(),
                targets: sig.targets.clone(),
                category: sig.category.to_string(),
                cves: sig.cves.clone(),
                verdict: c.verdict,
                sources: c.sources.len() as u64,
                networks: c.nets.len() as u64,
                asns,
                top_asns,
                requests: c.requests,
                first_seen: c.first.unwrap_or_default(),
                last_seen: c.last.unwrap_or_default(),
                growth: c.growth(end_idx),
                windows: c.windows(window_secs, offset),
            }
        })
        .collect();
    sigs.sort_by(|a, b| {
        b.sources
            .cmp(&a.sources)
            .then(b.requests.cmp(&a.requests))
            .then(a.signature.cmp(&b.signature))
    });
    out.extend(sigs.into_iter().map(CampaignObject::Signature));

    let input_name = |i: u32| names.get(i as usize).cloned().unwrap_or_default();
    let at = |d: &waves::Detection| At {
        time: d.time,
        input: input_name(d.input),
        line: d.line,
    };
    let emerging =
        waves::group_related(det.finish(|ip| fold.profiles.get(&ip).is_some_and(|s| s.reader)));
    if let Some(dir) = &cfg.campaigns.drafts_dir {
        if !emerging.is_empty() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the drafts directory {}", dir.display()))?;
        }
    }
    for e in &emerging {
        let draft = waves::draft_rule(e, det.served_examples(), &e.detected.time.to_rfc3339())
            .map(|d| -> Result<DraftRef> {
                let problems =
                    waves::validate_draft(&format!("{}.toml", d.id), &d.text, &cfg.vocab);
                let file = match &cfg.campaigns.drafts_dir {
                    Some(dir) => {
                        let path = dir.join(format!("{}.toml", d.id));
                        std::fs::write(&path, &d.text)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        Some(path.display().to_string())
                    }
                    None => None,
                };
                Ok(DraftRef {
                    id: d.id,
                    file,
                    problems,
                })
            })
            .transpose()?;
        let mut methods: Vec<(u64, &str)> = e
            .methods
            .iter()
            .zip(waves::METHODS)
            .filter(|(n, _)| **n > 0)
            .map(|(&n, m)| (n, m))
            .collect();
        methods.sort_by_key(|m| std::cmp::Reverse(m.0));
        let hours = ((e.last_seen.unix_ms - e.first_seen.unix_ms) as f64 / 3_600_000.0).max(1.0);
        let sources = e.sources.len() as u64 + e.sources_overflow;
        let (asns, top_asns) = asns(&mut e.sources.iter().copied());
        out.push(CampaignObject::Emerging(EmergingCampaign {
            id: e.id.clone(),
            template: e.template.clone(),
            templates: std::iter::once(&e.template)
                .chain(&e.also)
                .cloned()
                .collect(),
            methods: methods.iter().map(|m| m.1.to_string()).collect(),
            sources,
            source_sample: e.sources.iter().take(20).map(|ip| ip.to_string()).collect(),
            networks: e.networks,
            asns,
            top_asns,
            requests: e.requests,
            first_seen: at(&e.first_request),
            last_seen: e.last_seen,
            detected_at: at(&e.detected),
            timeline: e
                .timeline
                .iter()
                .map(|&(h, n)| HourCount {
                    hour: Timestamp {
                        unix_ms: h * 1000,
                        offset_min: e.first_seen.offset_min,
                    },
                    requests: n,
                })
                .collect(),
            statuses: e
                .statuses
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            samples: e
                .samples
                .iter()
                .map(|s| {
                    format!(
                        "{}:{} \"{}\" -> {}",
                        input_name(s.input),
                        s.line,
                        s.request,
                        s.status
                    )
                })
                .collect(),
            growth: Growth {
                sources_last_window: e.sources_last_window,
                sources_prev_window: e.sources_prev_window,
                ratio: (e.sources_prev_window > 0).then(|| {
                    ((e.sources_last_window as f64 / e.sources_prev_window as f64) * 100.0).round()
                        / 100.0
                }),
                sources_per_hour: ((sources as f64 / hours) * 100.0).round() / 100.0,
            },
            served_later: e.served_later,
            draft,
        }));
    }
    let st = det.stats();
    let summary = WaveSummary {
        enabled: true,
        window_secs: window_secs as u64,
        events: st.events,
        templates: st.templates,
        evicted: st.evicted,
        served_templates: st.served,
        emerging: emerging.len() as u64,
        memory_bytes: det.memory_bytes() as u64,
        memory_bound_bytes: det.memory_bound() as u64,
    };
    Ok((out, summary))
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
        port_scan: now.port_scan.clone().or_else(|| old.port_scan.clone()),
        ssh: now.ssh.clone().or_else(|| old.ssh.clone()),
        auth: if now.auth.is_empty() {
            old.auth.clone()
        } else {
            now.auth.clone()
        },
    }
}

/// Writes a run to the store in one transaction.
pub fn save(store: &mut dyn Store, out: &Outcome, started_ms: i64) -> Result<()> {
    let ips: Vec<IpAddr> = out.sources.iter().map(|s| s.ip).collect();
    let old = store.load_sources(&ips)?;
    save_over(store, out, &old, started_ms).map(drop)
}

/// Writes a run to the store in one transaction, over `old`, the store's summaries of
/// its sources; returns the sources as saved.
pub fn save_over<S: std::hash::BuildHasher>(
    store: &mut dyn Store,
    out: &Outcome,
    old: &HashMap<IpAddr, SourceSummary, S>,
    started_ms: i64,
) -> Result<Vec<SourceSummary>> {
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
    let campaigns: Vec<StoredCampaign> = out
        .summary
        .campaign_objects
        .iter()
        .map(stored_campaign)
        .collect();
    if !campaigns.is_empty() {
        store.save_campaigns(&campaigns)?;
    }
    Ok(merged)
}

/// The store's row for a campaign object of the report.
fn stored_campaign(c: &CampaignObject) -> StoredCampaign {
    let (kind, key, sources, requests, first, last) = match c {
        CampaignObject::Target(t) => (
            "target",
            t.target.clone(),
            t.sources,
            t.requests,
            t.first_seen,
            t.last_seen,
        ),
        CampaignObject::Signature(t) => (
            "signature",
            t.signature.clone(),
            t.sources,
            t.requests,
            t.first_seen,
            t.last_seen,
        ),
        CampaignObject::Emerging(t) => (
            "emerging",
            t.template.clone(),
            t.sources,
            t.requests,
            t.first_seen.time,
            t.last_seen,
        ),
    };
    StoredCampaign {
        kind: kind.to_string(),
        key,
        sources,
        requests,
        first_seen_ms: first.unix_ms,
        last_seen_ms: last.unix_ms,
        data: serde_json::to_string(c).unwrap_or_default(),
    }
}
