//! New waves: paths that no signature knows, suddenly requested by many unrelated sources.
//!
//! A request that matched no signature is reduced to a path *template*
//! ([`template_into`]): numbers, hex tokens, UUIDs, e-mail addresses and long random
//! tokens become placeholders (`{num}`, `{hex}`, `{uuid}`, `{email}`, `{token}`), query
//! values are dropped and query keys sorted. The workers compute the template and its
//! 64-bit hash; the [`WaveDetector`] is then fed one [`WaveEvent`] per such request, in
//! input order, and does a few table look-ups per event.
//!
//! The detector learns which templates the site serves (a success answer: 2xx or 304),
//! optionally seeded from a list of the site's paths. A template the site does not serve
//! that at least `min_sources` sources from at least `min_networks` networks (/24, /48)
//! request within `window_secs` becomes an *emerging campaign*, with the event at which
//! the thresholds were crossed. Sources that the fold knows as readers (served ordinary
//! pages) never count: a reader's broken link is not a wave.
//!
//! Memory is bounded whatever the input: at most `max_templates` candidate templates
//! (the least promising, by in-window sources then age, is evicted and counted), a
//! capped source list per candidate, a fixed-size set-associative table of served
//! templates, and at most [`MAX_EMERGING`] emerging campaigns with capped source sets.
//! Everything is deterministic: no clock, no random state.

use scantriage_core::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Longest template kept, in bytes (longer ones are cut and end in `{more}`).
pub const MAX_TEMPLATE: usize = 200;
/// Longest sample request kept, in characters.
pub const MAX_SAMPLE: usize = 240;
/// Query keys kept in a template.
pub const MAX_QUERY_KEYS: usize = 16;
/// Emerging campaigns tracked at most (further ones are counted as dropped).
pub const MAX_EMERGING: usize = 64;
/// Distinct sources remembered exactly per emerging campaign.
pub const MAX_EMERGING_SOURCES: usize = 4096;
/// Sample requests kept per candidate template.
pub const CANDIDATE_SAMPLES: usize = 3;
/// Sample requests kept per emerging campaign.
pub const EMERGING_SAMPLES: usize = 5;
/// Hours of timeline kept per emerging campaign.
pub const MAX_TIMELINE_HOURS: usize = 24 * 62;
/// Served examples kept (for the negative example of drafted rules).
pub const SERVED_EXAMPLES: usize = 32;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

const HASH_STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5ca7_7219);

/// Thresholds and bounds of the wave detector (`[campaigns]` in the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveConfig {
    /// Sources and networks are counted within this many seconds.
    pub window_secs: i64,
    /// Distinct sources within the window that make a wave.
    pub min_sources: u32,
    /// Distinct networks (/24 for IPv4, /48 for IPv6) within the window that make a wave.
    pub min_networks: u32,
    /// Candidate templates tracked at most; the rest are evicted (and counted).
    pub max_templates: usize,
}

impl Default for WaveConfig {
    fn default() -> Self {
        WaveConfig {
            window_secs: 86_400,
            min_sources: 20,
            min_networks: 10,
            max_templates: 10_000,
        }
    }
}

impl WaveConfig {
    /// Source entries kept per candidate template.
    pub fn candidate_sources(&self) -> usize {
        (self.min_sources.max(self.min_networks) as usize * 2).clamp(4, 256)
    }

    /// Slots of the served-template table.
    pub fn served_slots(&self) -> usize {
        (self.max_templates * 4)
            .clamp(1024, 1 << 22)
            .next_power_of_two()
    }
}

// ------------------------------------------------------------------------- templates

/// True for paths browsers and well-behaved clients fetch by themselves (icons,
/// robots.txt, sitemaps, `.well-known`): they never form waves.
pub fn is_automatic_path(path: &[u8]) -> bool {
    const EXACT: &[&[u8]] = &[
        b"/robots.txt",
        b"/ads.txt",
        b"/app-ads.txt",
        b"/humans.txt",
        b"/security.txt",
        b"/manifest.json",
        b"/site.webmanifest",
        b"/manifest.webmanifest",
        b"/browserconfig.xml",
        b"/crossdomain.xml",
        b"/clientaccesspolicy.xml",
        b"/sw.js",
        b"/service-worker.js",
    ];
    if EXACT.contains(&path) || path.starts_with(b"/.well-known/") || path.starts_with(b"/sitemap")
    {
        return true;
    }
    let last = path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
    const PREFIXES: &[&[u8]] = &[
        b"favicon",
        b"apple-touch-icon",
        b"android-chrome-",
        b"mstile-",
        b"safari-pinned-tab",
    ];
    PREFIXES.iter().any(|p| last.starts_with(p))
        || (last.starts_with(b"sitemap") && (last.ends_with(b".xml") || last.ends_with(b".xml.gz")))
}

fn is_hex_byte(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => is_hex_byte(b),
        })
}

fn is_email(s: &[u8]) -> bool {
    match memchr::memchr(b'@', s) {
        Some(at) => at > 0 && s[at + 1..].contains(&b'.') && s.len() - at > 3,
        None => false,
    }
}

/// A long random token (base64, base64url): letters and digits mixed throughout.
fn is_token(s: &[u8]) -> bool {
    if s.len() < 16
        || !s
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'='))
    {
        return false;
    }
    let switches = s
        .windows(2)
        .filter(|w| {
            (w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
                || (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
        })
        .count();
    switches >= 4
}

fn token_kind(t: &[u8]) -> Option<&'static [u8]> {
    if t.is_empty() {
        return None;
    }
    if t.iter().all(u8::is_ascii_digit) {
        return Some(b"{num}");
    }
    if t.len() >= 6
        && t.iter().all(|&b| is_hex_byte(b))
        && (t.len() >= 8 || t.iter().any(u8::is_ascii_digit))
    {
        return Some(b"{hex}");
    }
    None
}

fn push_literal(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'{' => out.extend_from_slice(b"%7b"),
            b'}' => out.extend_from_slice(b"%7d"),
            _ => out.push(b),
        }
    }
}

fn push_segment(out: &mut Vec<u8>, seg: &[u8]) {
    if is_uuid(seg) {
        return out.extend_from_slice(b"{uuid}");
    }
    if is_email(seg) {
        return out.extend_from_slice(b"{email}");
    }
    if is_token(seg) {
        return out.extend_from_slice(b"{token}");
    }
    let mut start = 0;
    for i in 0..=seg.len() {
        let delim = i == seg.len() || matches!(seg[i], b'-' | b'_' | b'.' | b'~' | b',' | b';');
        if delim {
            let t = &seg[start..i];
            match token_kind(t) {
                Some(p) => out.extend_from_slice(p),
                None => push_literal(out, t),
            }
            if i < seg.len() {
                out.push(seg[i]);
            }
            start = i + 1;
        }
    }
}

/// Writes the template of a decoded, normalised, lowercased `path` and decoded `query`
/// into `out` (cleared first). Returns false when the path never forms waves (empty, or
/// fetched by browsers automatically; see [`is_automatic_path`]).
pub fn template_into(path: &[u8], query: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if path.is_empty() || is_automatic_path(path) {
        return false;
    }
    for (i, seg) in path.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        push_segment(out, seg);
        if out.len() > MAX_TEMPLATE {
            break;
        }
    }
    if !query.is_empty() {
        let mut keys: [&[u8]; MAX_QUERY_KEYS] = [b""; MAX_QUERY_KEYS];
        let mut n = 0;
        for pair in query.split(|&b| b == b'&') {
            let key = pair.split(|&b| b == b'=').next().unwrap_or(b"");
            let key = &key[..key.len().min(40)];
            if !key.is_empty() && n < MAX_QUERY_KEYS && !keys[..n].contains(&key) {
                keys[n] = key;
                n += 1;
            }
        }
        keys[..n].sort_unstable();
        for (i, k) in keys[..n].iter().enumerate() {
            out.push(if i == 0 { b'?' } else { b'&' });
            match token_kind(k) {
                Some(p) => out.extend_from_slice(p),
                None => push_literal(out, k),
            }
        }
    }
    if out.len() > MAX_TEMPLATE {
        out.truncate(MAX_TEMPLATE);
        out.extend_from_slice(b"{more}");
    }
    true
}

/// The 64-bit key of a template (never 0, which means "no template").
pub fn template_hash(template: &[u8]) -> u64 {
    HASH_STATE.hash_one(template).max(1)
}

/// A stable 32-bit digest of a template, used in campaign and draft ids.
pub fn stable_id(template: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in template.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("wave-{:08x}", (h ^ (h >> 32)) as u32)
}

/// The network of an address: its /24 (IPv4) or /48 (IPv6), as a comparable key.
pub fn network_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (1u128 << 120) | u128::from(u32::from(v4) & 0xffff_ff00),
        IpAddr::V6(v6) => u128::from(v6) & !((1u128 << 80) - 1),
    }
}

/// The method of a request as a small code: GET, POST, HEAD, PUT, other.
pub fn method_code(method: &[u8]) -> u8 {
    match method {
        b"GET" => 0,
        b"POST" => 1,
        b"HEAD" => 2,
        b"PUT" => 3,
        _ => 4,
    }
}

/// Names of the [`method_code`]s (the last one is "any other method").
pub const METHODS: [&str; 5] = ["GET", "POST", "HEAD", "PUT", "other"];

/// What an answer says about whether the site serves a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx or 304: the site serves it.
    Served,
    /// 4xx or 5xx: the site does not serve it.
    Failed,
}

impl Answer {
    /// The answer class of a status; `None` for redirects, 1xx and unknown statuses.
    pub fn of(status: u16) -> Option<Answer> {
        match status {
            200..=299 | 304 => Some(Answer::Served),
            400..=599 => Some(Answer::Failed),
            _ => None,
        }
    }
}

// ------------------------------------------------------------------------- detector

/// One request without a signature, as the fold hands it to the detector.
#[derive(Debug, Clone, Copy)]
pub struct WaveEvent<'a> {
    /// [`template_hash`] of its template (0: not tracked).
    pub template: u64,
    /// Event time.
    pub time: Timestamp,
    /// Client address.
    pub source: IpAddr,
    /// Response status.
    pub status: u16,
    /// [`method_code`] of the method.
    pub method: u8,
    /// The source has been served ordinary pages (a reader): it never counts.
    pub reader: bool,
    /// Input index.
    pub input: u32,
    /// Line in the input.
    pub line: u64,
    /// The template text (may be empty when the worker did not attach it).
    pub template_text: &'a str,
    /// The request as a person reads it (`GET /path?query`), or empty.
    pub request: &'a str,
}

/// A sample request: where it is and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Input index.
    pub input: u32,
    /// Line in the input.
    pub line: u64,
    /// The request (`GET /path?query`).
    pub request: String,
    /// The answer's status.
    pub status: u16,
}

#[derive(Debug)]
struct Candidate {
    hash: u64,
    template: Box<str>,
    first: Timestamp,
    last_secs: i64,
    requests: u32,
    methods: [u32; 5],
    /// Input and line of the first request.
    first_line: (u32, u64),
    /// The only source while there is one (no heap memory for single-source templates).
    first_src: Option<(IpAddr, i64)>,
    /// (source, last seen in unix seconds), distinct, at most `candidate_sources`;
    /// empty while there is only `first_src`.
    sources: Vec<(IpAddr, i64)>,
    samples: Vec<Sample>,
    /// Requests per hour (unix hour), at most 48 entries, from the second source on.
    hours: Vec<(i64, u32)>,
    /// Requests per status, for the first four statuses seen.
    statuses: [(u16, u32); 4],
    dropped: bool,
}

impl Candidate {
    /// Every source with its last time.
    fn srcs(&self) -> &[(IpAddr, i64)] {
        if self.sources.is_empty() {
            self.first_src.as_slice()
        } else {
            &self.sources
        }
    }
}

/// Where and when a wave's thresholds were crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// Event time.
    pub time: Timestamp,
    /// Input index.
    pub input: u32,
    /// Line in the input.
    pub line: u64,
}

/// An emerging campaign: a template the site does not serve, requested by many sources.
#[derive(Debug, Clone)]
pub struct Emerging {
    /// Stable id (`wave-xxxxxxxx`, from the template).
    pub id: String,
    /// The template.
    pub template: String,
    /// Further templates requested by the same sources (one campaign probing several
    /// paths; see [`group_related`]); empty for a campaign of one template.
    pub also: Vec<String>,
    /// Requests per [`method_code`].
    pub methods: [u64; 5],
    /// Distinct sources, in order of first request (readers removed).
    pub sources: Vec<IpAddr>,
    /// Sources beyond [`MAX_EMERGING_SOURCES`] (counted, not listed; may double count).
    pub sources_overflow: u64,
    /// Distinct networks of the listed sources.
    pub networks: u64,
    /// Requests.
    pub requests: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Where the first request is.
    pub first_request: Detection,
    /// Last request.
    pub last_seen: Timestamp,
    /// When the thresholds were crossed.
    pub detected: Detection,
    /// Requests per hour: (unix time of the hour, requests).
    pub timeline: Vec<(i64, u64)>,
    /// Requests per status.
    pub statuses: BTreeMap<u16, u64>,
    /// The first few requests.
    pub samples: Vec<Sample>,
    /// Distinct sources in the window (`unix time / window`) of the run's last event.
    pub sources_last_window: u64,
    /// Distinct sources in the window before that.
    pub sources_prev_window: u64,
    /// The site answered success for this template after it was detected.
    pub served_later: bool,
}

#[derive(Debug)]
struct EmergingAcc {
    e: Emerging,
    /// Source → last seen (unix seconds).
    seen: FastMap<IpAddr, i64>,
    hours: BTreeMap<i64, u64>,
    /// Distinct sources per window (index = unix seconds / window).
    windows: BTreeMap<i64, u64>,
}

/// Counters of the detector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaveStats {
    /// Candidate templates tracked now.
    pub templates: u64,
    /// Candidate templates evicted to stay within `max_templates`.
    pub evicted: u64,
    /// Served templates remembered.
    pub served: u64,
    /// Served templates forgotten to stay within the table.
    pub served_evicted: u64,
    /// Emerging campaigns.
    pub emerging: u64,
    /// Campaigns not tracked because [`MAX_EMERGING`] were already.
    pub emerging_dropped: u64,
    /// Events seen.
    pub events: u64,
}

/// A set-associative table of served templates: fixed size, LRU within a bucket.
#[derive(Debug)]
struct ServedSet {
    buckets: Vec<[u64; 4]>,
    len: u64,
    evicted: u64,
}

impl ServedSet {
    fn new(slots: usize) -> ServedSet {
        ServedSet {
            buckets: vec![[0; 4]; (slots / 4).max(1)],
            len: 0,
            evicted: 0,
        }
    }

    fn bucket(&self, h: u64) -> usize {
        ((h >> 7) as usize) & (self.buckets.len() - 1)
    }

    fn contains(&self, h: u64) -> bool {
        self.buckets[self.bucket(h)].contains(&h)
    }

    /// Inserts (or refreshes) `h`; returns true when it was not there.
    fn insert(&mut self, h: u64) -> bool {
        let i = self.bucket(h);
        let b = &mut self.buckets[i];
        let pos = b.iter().position(|&x| x == h);
        let new = pos.is_none();
        let end = match pos {
            Some(p) => p,
            None => {
                if b[3] != 0 {
                    self.evicted += 1;
                } else {
                    self.len += 1;
                }
                3
            }
        };
        b.copy_within(0..end, 1);
        b[0] = h;
        new
    }

    fn bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<[u64; 4]>()
    }
}

/// Finds new waves in the requests that match no signature (see the module notes).
#[derive(Debug)]
pub struct WaveDetector {
    cfg: WaveConfig,
    served: ServedSet,
    slab: Vec<Candidate>,
    index: FastMap<u64, u32>,
    hand: usize,
    emerging: Vec<EmergingAcc>,
    emerging_index: FastMap<u64, u32>,
    served_examples: Vec<(u64, String)>,
    now: i64,
    stats: WaveStats,
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Counts a source in a window, keeping at most [`MAX_TIMELINE_HOURS`] windows.
fn count_window(windows: &mut BTreeMap<i64, u64>, idx: i64) {
    if windows.len() < MAX_TIMELINE_HOURS || windows.contains_key(&idx) {
        *windows.entry(idx).or_default() += 1;
    }
}

impl WaveDetector {
    /// A detector with the given thresholds and bounds.
    pub fn new(cfg: WaveConfig) -> WaveDetector {
        let cfg = WaveConfig {
            max_templates: cfg.max_templates.max(1),
            min_sources: cfg.min_sources.max(1),
            window_secs: cfg.window_secs.max(1),
            ..cfg
        };
        WaveDetector {
            served: ServedSet::new(cfg.served_slots()),
            slab: Vec::new(),
            index: FastMap::default(),
            hand: 0,
            emerging: Vec::new(),
            emerging_index: FastMap::default(),
            served_examples: Vec::new(),
            now: i64::MIN,
            stats: WaveStats::default(),
            cfg,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &WaveConfig {
        &self.cfg
    }

    /// Marks a path of the site as served (from a sitemap or a document-root listing).
    pub fn seed_served(&mut self, path: &str) {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let p = p.to_ascii_lowercase();
        let q = q.to_ascii_lowercase();
        let mut buf = Vec::new();
        if template_into(p.as_bytes(), q.as_bytes(), &mut buf) {
            self.served.insert(template_hash(&buf));
        }
    }

    /// True when the site is known to serve this template.
    pub fn is_served(&self, template: u64) -> bool {
        self.served.contains(template)
    }

    /// Feeds one request without a signature (in input order).
    pub fn observe(&mut self, e: &WaveEvent<'_>) {
        if e.template == 0 {
            return;
        }
        let Some(answer) = Answer::of(e.status) else {
            return;
        };
        self.stats.events += 1;
        let secs = e.time.unix_secs();
        self.now = self.now.max(secs);
        match answer {
            Answer::Served => self.served_answer(e),
            Answer::Failed => {
                if e.reader || self.served.contains(e.template) {
                    return;
                }
                if let Some(&i) = self.emerging_index.get(&e.template) {
                    self.update_emerging(i as usize, e);
                } else {
                    self.update_candidate(e);
                }
            }
        }
    }

    fn served_answer(&mut self, e: &WaveEvent<'_>) {
        if !self.served.insert(e.template) {
            return;
        }
        if let Some(slot) = self.index.get(&e.template).copied() {
            self.remove_slot(slot as usize);
        }
        if let Some(&i) = self.emerging_index.get(&e.template) {
            self.emerging[i as usize].e.served_later = true;
        }
        if self.served_examples.len() < SERVED_EXAMPLES
            && !e.request.is_empty()
            && !self.served_examples.iter().any(|(h, _)| *h == e.template)
        {
            self.served_examples
                .push((e.template, cut(e.request, MAX_SAMPLE)));
        }
    }

    fn remove_slot(&mut self, slot: usize) -> Candidate {
        let c = self.slab.swap_remove(slot);
        self.index.remove(&c.hash);
        if let Some(moved) = self.slab.get(slot) {
            self.index.insert(moved.hash, slot as u32);
        }
        c
    }

    fn in_window(&self, secs: i64) -> bool {
        secs > self.now - self.cfg.window_secs
    }

    /// Eviction score: fewer in-window sources first, then the least recently seen.
    fn score(&self, c: &Candidate) -> (usize, i64) {
        let live = if self.in_window(c.last_secs) {
            c.srcs().iter().filter(|s| self.in_window(s.1)).count()
        } else {
            0
        };
        (live, c.last_secs)
    }

    /// Evicts the least promising of a few candidates after the clock hand; returns its slot.
    fn evict_one(&mut self) -> usize {
        let n = self.slab.len();
        let mut best = self.hand % n;
        let mut best_score = self.score(&self.slab[best]);
        for k in 1..8.min(n) {
            let i = (self.hand + k) % n;
            let s = self.score(&self.slab[i]);
            if s < best_score {
                best = i;
                best_score = s;
            }
        }
        self.hand = (self.hand + 8) % n;
        let old = self.slab[best].hash;
        self.index.remove(&old);
        self.stats.evicted += 1;
        best
    }

    fn update_candidate(&mut self, e: &WaveEvent<'_>) {
        let secs = e.time.unix_secs();
        let slot = match self.index.get(&e.template) {
            Some(&s) => s as usize,
            None => {
                // A new candidate owns no heap memory until a second source comes.
                let c = Candidate {
                    hash: e.template,
                    template: Box::default(),
                    first: e.time,
                    first_line: (e.input, e.line),
                    last_secs: secs,
                    requests: 0,
                    methods: [0; 5],
                    first_src: None,
                    sources: Vec::new(),
                    samples: Vec::new(),
                    hours: Vec::new(),
                    statuses: [(0, 0); 4],
                    dropped: false,
                };
                let slot = if self.slab.len() >= self.cfg.max_templates {
                    let slot = self.evict_one();
                    self.slab[slot] = c;
                    slot
                } else {
                    self.slab.push(c);
                    self.slab.len() - 1
                };
                self.index.insert(e.template, slot as u32);
                slot
            }
        };
        let cap = self.cfg.candidate_sources();
        let window = self.cfg.window_secs;
        let now = self.now;
        let c = &mut self.slab[slot];
        c.requests += 1;
        c.last_secs = c.last_secs.max(secs);
        c.methods[usize::from(e.method.min(4))] += 1;
        if let Some(s) = c.statuses.iter_mut().find(|s| s.0 == e.status || s.1 == 0) {
            *s = (e.status, s.1 + 1);
        }
        if !c.hours.is_empty() {
            let hour = secs.div_euclid(3600) * 3600;
            let full = c.hours.len() >= 48;
            match c.hours.iter_mut().find(|h| h.0 == hour) {
                Some(h) => h.1 += 1,
                None if !full => c.hours.push((hour, 1)),
                None => {}
            }
        }
        if c.dropped {
            return;
        }
        if let Some(s) = c
            .first_src
            .iter_mut()
            .chain(c.sources.iter_mut())
            .find(|s| s.0 == e.source)
        {
            s.1 = s.1.max(secs);
            return;
        }
        if c.first_src.is_none() {
            c.first_src = Some((e.source, secs));
        } else {
            if c.sources.is_empty() {
                // The second source: now the candidate is worth its text and samples.
                c.sources.extend(c.first_src);
                c.template = cut(e.template_text, MAX_TEMPLATE + 8).into_boxed_str();
                let first_hour = c.first.unix_secs().div_euclid(3600) * 3600;
                c.hours.push((first_hour, c.requests - 1));
                let hour = secs.div_euclid(3600) * 3600;
                match c.hours.iter_mut().find(|h| h.0 == hour) {
                    Some(h) => h.1 += 1,
                    None => c.hours.push((hour, 1)),
                }
            }
            if c.samples.len() < CANDIDATE_SAMPLES && !e.request.is_empty() {
                c.samples.push(Sample {
                    input: e.input,
                    line: e.line,
                    request: cut(e.request, MAX_SAMPLE),
                    status: e.status,
                });
            }
            if c.sources.len() >= cap {
                c.sources.retain(|s| s.1 > now - window);
            }
            if c.sources.len() >= cap {
                // Full of in-window sources, yet too few networks: make room for
                // diversity by dropping the oldest source whose network another shares.
                let mut nets: Vec<u128> = c.sources.iter().map(|s| network_of(s.0)).collect();
                nets.sort_unstable();
                let shared = |n: u128| {
                    let i = nets.partition_point(|&x| x < n);
                    nets.get(i + 1) == Some(&n)
                };
                let mut victim = None;
                for (i, s) in c.sources.iter().enumerate() {
                    if shared(network_of(s.0)) && victim.is_none_or(|(_, t)| s.1 < t) {
                        victim = Some((i, s.1));
                    }
                }
                match victim {
                    Some((i, _)) => {
                        c.sources.swap_remove(i);
                    }
                    None => return,
                }
            }
            c.sources.push((e.source, secs));
        }
        // Check the thresholds.
        let mut live = 0u32;
        let mut nets: Vec<u128> = Vec::new();
        for s in c.srcs() {
            if s.1 > now - window {
                live += 1;
            }
        }
        if live < self.cfg.min_sources {
            return;
        }
        for s in c.srcs() {
            if s.1 > now - window {
                nets.push(network_of(s.0));
            }
        }
        nets.sort_unstable();
        nets.dedup();
        if (nets.len() as u32) < self.cfg.min_networks || c.dropped {
            return;
        }
        if self.emerging.len() >= MAX_EMERGING {
            c.dropped = true;
            self.stats.emerging_dropped += 1;
            return;
        }
        if c.template.is_empty() {
            c.template = cut(e.template_text, MAX_TEMPLATE + 8).into_boxed_str();
        }
        let c = self.remove_slot(slot);
        self.promote(c, e);
    }

    fn promote(&mut self, c: Candidate, e: &WaveEvent<'_>) {
        let mut seen = FastMap::default();
        let mut windows = BTreeMap::new();
        for &(ip, t) in c.srcs() {
            seen.insert(ip, t);
            *windows
                .entry(t.div_euclid(self.cfg.window_secs))
                .or_default() += 1;
        }
        let template = if c.template.is_empty() {
            e.template_text.to_string()
        } else {
            c.template.to_string()
        };
        let mut methods = [0u64; 5];
        for (m, n) in methods.iter_mut().zip(c.methods) {
            *m = u64::from(n);
        }
        let e = Emerging {
            id: stable_id(&template),
            template,
            also: Vec::new(),
            methods,
            sources: c.srcs().iter().map(|s| s.0).collect(),
            sources_overflow: 0,
            networks: 0,
            requests: u64::from(c.requests),
            first_seen: c.first,
            first_request: Detection {
                time: c.first,
                input: c.first_line.0,
                line: c.first_line.1,
            },
            last_seen: e.time,
            detected: Detection {
                time: e.time,
                input: e.input,
                line: e.line,
            },
            timeline: Vec::new(),
            statuses: c
                .statuses
                .iter()
                .filter(|s| s.1 > 0)
                .map(|&(s, n)| (s, u64::from(n)))
                .collect(),
            samples: c.samples,
            sources_last_window: 0,
            sources_prev_window: 0,
            served_later: false,
        };
        self.emerging_index
            .insert(c.hash, self.emerging.len() as u32);
        self.emerging.push(EmergingAcc {
            e,
            seen,
            hours: c.hours.iter().map(|&(h, n)| (h, u64::from(n))).collect(),
            windows,
        });
        self.stats.emerging += 1;
    }

    fn update_emerging(&mut self, i: usize, e: &WaveEvent<'_>) {
        let secs = e.time.unix_secs();
        let acc = &mut self.emerging[i];
        let x = &mut acc.e;
        x.requests += 1;
        x.last_seen = x.last_seen.max(e.time);
        x.methods[usize::from(e.method.min(4))] += 1;
        *x.statuses.entry(e.status).or_default() += 1;
        let hour = secs.div_euclid(3600) * 3600;
        if acc.hours.len() < MAX_TIMELINE_HOURS || acc.hours.contains_key(&hour) {
            *acc.hours.entry(hour).or_default() += 1;
        }
        let full = acc.seen.len() >= MAX_EMERGING_SOURCES;
        let w = self.cfg.window_secs;
        let idx = secs.div_euclid(w);
        match acc.seen.get_mut(&e.source) {
            Some(t) => {
                if t.div_euclid(w) < idx {
                    count_window(&mut acc.windows, idx);
                }
                *t = (*t).max(secs);
            }
            None if !full => {
                acc.seen.insert(e.source, secs);
                count_window(&mut acc.windows, idx);
                x.sources.push(e.source);
            }
            None => x.sources_overflow += 1,
        }
        if x.samples.len() < EMERGING_SAMPLES && !e.request.is_empty() {
            x.samples.push(Sample {
                input: e.input,
                line: e.line,
                request: cut(e.request, MAX_SAMPLE),
                status: e.status,
            });
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> WaveStats {
        WaveStats {
            templates: self.slab.len() as u64,
            served: self.served.len,
            served_evicted: self.served.evicted,
            ..self.stats
        }
    }

    /// Bytes the detector holds now (tables and everything they own), estimated from capacities.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let sample = |s: &Sample| size_of::<Sample>() + s.request.capacity();
        let mut n = size_of::<Self>() + self.served.bytes();
        n += self.slab.capacity() * size_of::<Candidate>();
        for c in &self.slab {
            n += c.template.len()
                + c.sources.capacity() * size_of::<(IpAddr, i64)>()
                + c.samples.capacity() * size_of::<Sample>()
                + c.samples
                    .iter()
                    .map(|s| s.request.capacity())
                    .sum::<usize>()
                + c.hours.capacity() * size_of::<(i64, u32)>();
        }
        n += self.index.capacity() * (size_of::<(u64, u32)>() + 1);
        n += self.emerging_index.capacity() * (size_of::<(u64, u32)>() + 1);
        n += self.emerging.capacity() * size_of::<EmergingAcc>();
        for a in &self.emerging {
            n += a.e.template.capacity()
                + a.e.sources.capacity() * size_of::<IpAddr>()
                + a.seen.capacity() * (size_of::<(IpAddr, i64)>() + 1)
                + (a.hours.len() + a.windows.len()) * (size_of::<(i64, u64)>() + 16)
                + a.e.statuses.len() * (size_of::<(u16, u64)>() + 16)
                + a.e.samples.capacity() * size_of::<Sample>()
                + a.e.samples.iter().map(sample).sum::<usize>();
        }
        n += self
            .served_examples
            .iter()
            .map(|(_, s)| size_of::<(u64, String)>() + s.capacity())
            .sum::<usize>();
        n
    }

    /// The most [`memory_bytes`](Self::memory_bytes) can reach with this configuration.
    pub fn memory_bound(&self) -> usize {
        use std::mem::size_of;
        let cfg = &self.cfg;
        // Vectors grow by doubling: count twice the cap for those that grow.
        let sample = size_of::<Sample>() + MAX_SAMPLE * 4 + 8;
        let per_candidate = size_of::<Candidate>() * 2
            + MAX_TEMPLATE * 4 + 16
            + 2 * cfg.candidate_sources() * size_of::<(IpAddr, i64)>()
            + 4 * sample
            + 64 * size_of::<(i64, u32)>()
            // Hash index: up to 8/7 buckets per entry, rounded up to a power of two.
            + 3 * (size_of::<(u64, u32)>() + 1);
        let per_emerging = size_of::<EmergingAcc>() * 2
            + MAX_TEMPLATE * 4
            + 16
            + 2 * MAX_EMERGING_SOURCES * size_of::<IpAddr>()
            + 3 * MAX_EMERGING_SOURCES * (size_of::<(IpAddr, i64)>() + 1)
            + 2 * MAX_TIMELINE_HOURS * (size_of::<(i64, u64)>() + 16)
            + 64 * (size_of::<(u16, u64)>() + 16)
            + 8 * sample
            + 3 * (size_of::<(u64, u32)>() + 1);
        size_of::<Self>()
            + cfg.served_slots() * size_of::<u64>()
            + cfg.max_templates * per_candidate
            + MAX_EMERGING * per_emerging
            + SERVED_EXAMPLES * (size_of::<(u64, String)>() + MAX_SAMPLE * 4 + 8)
    }

    /// Requests the site answered with success (one per template, first seen first).
    pub fn served_examples(&self) -> impl Iterator<Item = &str> {
        self.served_examples.iter().map(|(_, s)| s.as_str())
    }

    /// The emerging campaigns, in order of detection. Sources for which `is_reader`
    /// holds at the end (they were served ordinary pages later) are removed; a campaign
    /// left below the thresholds is dropped.
    pub fn finish(&self, is_reader: impl Fn(IpAddr) -> bool) -> Vec<Emerging> {
        let w = self.cfg.window_secs;
        let mut out = Vec::new();
        for a in &self.emerging {
            let mut e = a.e.clone();
            e.sources.retain(|&ip| !is_reader(ip));
            let mut nets: Vec<u128> = e.sources.iter().map(|&ip| network_of(ip)).collect();
            nets.sort_unstable();
            nets.dedup();
            e.networks = nets.len() as u64;
            if (e.sources.len() as u64 + e.sources_overflow) < u64::from(self.cfg.min_sources)
                || e.networks < u64::from(self.cfg.min_networks)
            {
                continue;
            }
            let end = self.now.div_euclid(w);
            e.sources_last_window = a.windows.get(&end).copied().unwrap_or(0);
            e.sources_prev_window = a.windows.get(&(end - 1)).copied().unwrap_or(0);
            e.timeline = a.hours.iter().map(|(&h, &n)| (h, n)).collect();
            out.push(e);
        }
        out
    }
}

/// Share of the smaller campaign's sources that must also be the other's for two
/// templates to be one campaign.
const RELATED_OVERLAP: f64 = 0.5;

/// Merges emerging campaigns whose listed sources are mostly the same: an exploit kit
/// that probes two or three paths of one product is one campaign, with one drafted
/// signature covering all its templates. Campaigns are compared with the smaller one's
/// sources ([`RELATED_OVERLAP`]); the merged campaign keeps the id and template of the
/// one detected first and lists the others in [`Emerging::also`].
pub fn group_related(list: Vec<Emerging>) -> Vec<Emerging> {
    let n = list.len();
    let sets: Vec<std::collections::HashSet<IpAddr>> = list
        .iter()
        .map(|e| e.sources.iter().copied().collect())
        .collect();
    // Union-find over the pairs that overlap enough.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let small = sets[i].len().min(sets[j].len());
            if small == 0 {
                continue;
            }
            let (a, b) = if sets[i].len() <= sets[j].len() {
                (&sets[i], &sets[j])
            } else {
                (&sets[j], &sets[i])
            };
            let shared = a.iter().filter(|ip| b.contains(ip)).count();
            if shared as f64 >= RELATED_OVERLAP * small as f64 {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                // The earlier one (in detection order) stays the root.
                let (lo, hi) = (ri.min(rj), ri.max(rj));
                parent[hi] = lo;
            }
        }
    }
    let mut out: Vec<Emerging> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for (i, e) in list.into_iter().enumerate() {
        let r = root(&mut parent, i);
        match slot.get(&r) {
            None => {
                slot.insert(r, out.len());
                out.push(e);
            }
            Some(&k) => merge_into(&mut out[k], e),
        }
    }
    out
}

/// Adds campaign `b` (a further template of the same sources) to `a`.
fn merge_into(a: &mut Emerging, b: Emerging) {
    // Samples: three of the first template, two of each further one.
    a.samples.truncate(3 + 2 * a.also.len());
    a.also.push(b.template);
    a.also.extend(b.also);
    for (x, y) in a.methods.iter_mut().zip(b.methods) {
        *x += y;
    }
    let known: std::collections::HashSet<IpAddr> = a.sources.iter().copied().collect();
    a.sources
        .extend(b.sources.iter().filter(|ip| !known.contains(ip)));
    a.sources_overflow += b.sources_overflow;
    let mut nets: Vec<u128> = a.sources.iter().map(|&ip| network_of(ip)).collect();
    nets.sort_unstable();
    nets.dedup();
    a.networks = nets.len() as u64;
    a.requests += b.requests;
    if b.first_seen < a.first_seen {
        a.first_seen = b.first_seen;
        a.first_request = b.first_request;
    }
    a.last_seen = a.last_seen.max(b.last_seen);
    if b.detected.time < a.detected.time {
        a.detected = b.detected;
    }
    let mut hours: BTreeMap<i64, u64> = a.timeline.iter().copied().collect();
    for (h, k) in b.timeline {
        *hours.entry(h).or_default() += k;
    }
    a.timeline = hours.into_iter().collect();
    for (st, k) in b.statuses {
        *a.statuses.entry(st).or_default() += k;
    }
    // Samples of every template, so that the draft's examples cover each of them.
    a.samples.extend(b.samples.into_iter().take(2));
    a.sources_last_window = a.sources_last_window.max(b.sources_last_window);
    a.sources_prev_window = a.sources_prev_window.max(b.sources_prev_window);
    a.served_later |= b.served_later;
}

// ------------------------------------------------------------------------- drafts

/// A drafted signature for an emerging campaign, in the rule-pack format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Rule id (`draft-wave-xxxxxxxx`).
    pub id: String,
    /// The rule file text (TOML).
    pub text: String,
}

fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn regex_escape_into(out: &mut String, lit: &str) {
    for c in lit.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Splits a template's path into literal parts and placeholders.
fn template_parts(path: &str) -> Vec<(bool, String)> {
    let mut parts = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let ph = ["{num}", "{hex}", "{uuid}", "{email}", "{token}", "{more}"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        match ph {
            Some((i, p)) => {
                if i > 0 {
                    parts.push((false, rest[..i].replace("%7b", "{").replace("%7d", "}")));
                }
                parts.push((true, p.to_string()));
                rest = &rest[i + p.len()..];
            }
            None => {
                parts.push((false, rest.replace("%7b", "{").replace("%7d", "}")));
                rest = "";
            }
        }
    }
    parts
}

fn placeholder_regex(p: &str) -> &'static str {
    match p {
        "{num}" => "[0-9]+",
        "{hex}" => "[0-9a-f]{6,}",
        "{uuid}" => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "{email}" => "[^/@]+@[^/]+",
        "{token}" => "[a-z0-9_=+-]{16,}",
        _ => ".*",
    }
}

/// Writes a draft rule for an emerging campaign: literals from the template's constant
/// parts, the methods seen, match examples from its sample requests and a no-match
/// example from the site's own served traffic (`served`, requests as `GET /path`).
/// `detected_on` names when it was detected (e.g. an RFC 3339 time).
pub fn draft_rule<'a>(
    e: &Emerging,
    served: impl IntoIterator<Item = &'a str>,
    detected_on: &str,
) -> Option<Draft> {
    let clean = |t: &str| t.is_ascii() && !t.chars().any(|c| c.is_ascii_control());
    if !clean(&e.template) {
        return None;
    }
    let id = format!("draft-{}", e.id);
    // One path pattern per template: its longest constant part and an anchored regex.
    let mut pats: Vec<PathPattern> = Vec::new();
    for t in std::iter::once(&e.template)
        .chain(&e.also)
        .filter(|t| clean(t))
    {
        let p = path_pattern(t)?;
        pats.push(p);
    }
    let templates: Vec<&str> = std::iter::once(e.template.as_str())
        .chain(e.also.iter().map(String::as_str))
        .collect();
    let mut t = String::new();
    t.push_str(&format!(
        "# Drafted by scantriage from emerging campaign {} (template{} `{}`): {} sources, {} networks,\n\
         # {} requests, first seen {}, detected {}. Review before `scantriage rules accept`.\n\n",
        e.id,
        if templates.len() > 1 { "s" } else { "" },
        templates.join("`, `"),
        e.sources.len() as u64 + e.sources_overflow,
        e.networks,
        e.requests,
        e.first_seen,
        detected_on
    ));
    t.push_str("[[rule]]\n");
    t.push_str(&format!("id = {}\n", toml_str(&id)));
    t.push_str(&format!(
        "name = {}\n",
        toml_str(&format!("Emerging campaign: {}", templates.join(", ")))
    ));
    t.push_str(&format!(
        "description = {}\n",
        toml_str(&format!(
            "Drafted from campaign {} on {}: {} the site does not serve, requested by {} sources from {} networks.",
            e.id,
            detected_on,
            if templates.len() > 1 { "paths" } else { "a path" },
            e.sources.len() as u64 + e.sources_overflow,
            e.networks
        ))
    ));
    t.push_str("targets = [\"generic\"]\ncategory = \"recon\"\nseverity = \"medium\"\n");
    if e.methods[4] == 0 {
        let ms: Vec<String> = (0..4)
            .filter(|&i| e.methods[i] > 0)
            .map(|i| toml_str(METHODS[i]))
            .collect();
        if !ms.is_empty() {
            t.push_str(&format!("method = [{}]\n", ms.join(", ")));
        }
    }
    if let [p] = pats.as_slice() {
        match &p.regex {
            Some(re) => t.push_str(&format!(
                "path = {{ {} = [{}], regex = {} }}\n",
                if p.is_prefix { "prefix" } else { "contains" },
                toml_str(&p.literal),
                toml_str(re)
            )),
            None => t.push_str(&format!(
                "path = {{ equals = [{}] }}\n",
                toml_str(&p.literal)
            )),
        }
        let keys: Vec<String> = p
            .query_keys
            .iter()
            .map(|k| toml_str(&format!("{k}=")))
            .collect();
        if !keys.is_empty() {
            t.push_str(&format!("query = {{ all = [{}] }}\n", keys.join(", ")));
        }
    } else {
        // Several templates: any of their literals, then one alternation of their
        // anchored regexes (query keys differ between templates, so none is required).
        let mut lits: Vec<String> = pats.iter().map(|p| toml_str(&p.literal)).collect();
        lits.dedup();
        let alts: Vec<String> = pats
            .iter()
            .map(|p| {
                p.regex.clone().unwrap_or_else(|| {
                    let mut r = String::from("^");
                    regex_escape_into(&mut r, &p.literal);
                    r.push('$');
                    r
                })
            })
            .map(|r| r[1..r.len() - 1].to_string())
            .collect();
        let kind = if pats.iter().all(|p| p.is_prefix || p.regex.is_none()) {
            "prefix"
        } else {
            "contains"
        };
        t.push_str(&format!(
            "path = {{ {kind} = [{}], regex = {} }}\n",
            lits.join(", "),
            toml_str(&format!("^(?:{})$", alts.join("|")))
        ));
    }
    // Examples of every template: the campaign's first samples, then those of each
    // further template (merged campaigns append theirs).
    for s in e.samples.iter().take(3 + 2 * e.also.len()) {
        t.push_str(&format!(
            "\n[[rule.examples.match]]\nrequest = {}\nstatus = {}\n",
            toml_str(&format!("{} HTTP/1.1", s.request)),
            s.status
        ));
    }
    // The served request closest to the template (longest common prefix) is the best
    // negative example; the front page otherwise.
    let path = e
        .template
        .split_once('?')
        .map_or(e.template.as_str(), |x| x.0);
    let common = |a: &str| {
        let target = a.split_once(' ').map_or(a, |x| x.1);
        target
            .bytes()
            .zip(path.bytes())
            .take_while(|(x, y)| x == y)
            .count()
    };
    let neg = served
        .into_iter()
        .filter(|s| clean(s))
        .max_by_key(|s| common(s))
        .unwrap_or("GET /");
    t.push_str(&format!(
        "\n[[rule.examples.no_match]]\nrequest = {}\n",
        toml_str(&format!("{neg} HTTP/1.1"))
    ));
    Some(Draft { id, text: t })
}

/// The path condition drafted for one template.
struct PathPattern {
    /// The template's longest constant part.
    literal: String,
    /// The literal starts the path.
    is_prefix: bool,
    /// The anchored regex, when the template has placeholders.
    regex: Option<String>,
    /// Query keys (values dropped).
    query_keys: Vec<String>,
}

fn path_pattern(template: &str) -> Option<PathPattern> {
    let (path, query) = template.split_once('?').unwrap_or((template, ""));
    let parts = template_parts(path);
    let literal = parts
        .iter()
        .filter(|(ph, _)| !ph)
        .map(|(_, s)| s.as_str())
        .max_by_key(|s| s.len())
        .unwrap_or("");
    if literal.len() < 3 {
        return None;
    }
    let regex = parts.iter().any(|(ph, _)| *ph).then(|| {
        let mut re = String::from("^");
        for (ph, s) in &parts {
            if *ph {
                re.push_str(placeholder_regex(s));
            } else {
                regex_escape_into(&mut re, s);
            }
        }
        re.push('$');
        re
    });
    Some(PathPattern {
        literal: literal.to_string(),
        is_prefix: parts.first().is_some_and(|(ph, s)| !ph && s == literal),
        regex,
        query_keys: query
            .split('&')
            .filter(|k| !k.is_empty() && !k.contains('{'))
            .map(str::to_string)
            .collect(),
    })
}

/// Checks a draft rule file: it must load and its examples must pass. Returns the
/// problems found (empty when it is good).
pub fn validate_draft(
    name: &str,
    text: &str,
    vocab: &scantriage_detect::Vocabulary,
) -> Vec<String> {
    let (sigs, errors) = scantriage_detect::parse_rule_file(name, text, vocab);
    let mut problems: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    if sigs.is_empty() && problems.is_empty() {
        problems.push(format!("{name}: no [[rule]] in the file"));
    }
    problems.extend(scantriage_detect::RuleSet::new(sigs).test_examples());
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(path: &str) -> String {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let mut out = Vec::new();
        if !template_into(p.as_bytes(), q.as_bytes(), &mut out) {
            return "-".into();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn templates_replace_variable_parts() {
        assert_eq!(
            tpl("/cgi-bin/vpnapi/status/1a2b3c4d"),
            "/cgi-bin/vpnapi/status/{hex}"
        );
        assert_eq!(
            tpl("/cgi-bin/vpnapi/status/deadbeef"),
            "/cgi-bin/vpnapi/status/{hex}"
        );
        assert_eq!(
            tpl("/rest/v3/sysinfo/export?id=0a1b2c3d4e5f6071"),
            "/rest/v3/sysinfo/export?id"
        );
        assert_eq!(
            tpl("/2025/11/the-night-our-dns-went-dark/"),
            "/{num}/{num}/the-night-our-dns-went-dark/"
        );
        assert_eq!(
            tpl("/u/123e4567-e89b-12d3-a456-426614174000/x"),
            "/u/{uuid}/x"
        );
        assert_eq!(tpl("/unsubscribe/jo@example.org"), "/unsubscribe/{email}");
        assert_eq!(tpl("/reset/q8zX3k9Lm2Np4Rt7Vw1Y"), "/reset/{token}");
        assert_eq!(
            tpl("/js/jquery-3.7.1.min.js"),
            "/js/jquery-{num}.{num}.{num}.min.js"
        );
        assert_eq!(tpl("/?s=nginx&b=1&a=2&s=3"), "/?a&b&s");
        assert_eq!(
            tpl("/top-10-tips-for-2024-and-beyond/"),
            "/top-{num}-tips-for-{num}-and-beyond/"
        );
        assert_eq!(tpl("/a{b}"), "/a%7bb%7d");
        // Words made of hex letters stay words when short.
        assert_eq!(tpl("/facade/cafe"), "/facade/cafe");
    }

    #[test]
    fn automatic_paths_never_form_templates() {
        for p in [
            "/favicon.ico",
            "/apple-touch-icon-precomposed.png",
            "/blog/apple-touch-icon.png",
            "/robots.txt",
            "/sitemap_index.xml",
            "/.well-known/traffic-advice",
            "/ads.txt",
            "/manifest.json",
            "/browserconfig.xml",
            "",
        ] {
            assert_eq!(tpl(p), "-", "{p}");
        }
    }

    #[test]
    fn long_templates_are_cut() {
        let long = format!("/{}", "abcdefghij/".repeat(50));
        let t = tpl(&long);
        assert!(t.len() <= MAX_TEMPLATE + 6 && t.ends_with("{more}"), "{t}");
    }

    fn ev<'a>(tmpl: &'a str, ip: IpAddr, secs: i64, status: u16, line: u64) -> WaveEvent<'a> {
        WaveEvent {
            template: template_hash(tmpl.as_bytes()),
            time: Timestamp::from_unix_secs(secs),
            source: ip,
            status,
            method: 0,
            reader: false,
            input: 0,
            line,
            template_text: tmpl,
            request: tmpl,
        }
    }

    fn ip(i: u32) -> IpAddr {
        IpAddr::from((i << 8 | 7).to_be_bytes())
    }

    #[test]
    fn many_sources_on_an_unserved_template_make_a_wave() {
        let mut d = WaveDetector::new(WaveConfig::default());
        let t0 = 1_762_124_400;
        for i in 0..30u32 {
            d.observe(&ev(
                "/new/{hex}",
                ip(1000 + i),
                t0 + i64::from(i) * 60,
                404,
                u64::from(i) + 1,
            ));
        }
        let e = d.finish(|_| false);
        assert_eq!(e.len(), 1);
        let e = &e[0];
        assert_eq!(e.sources.len(), 30);
        assert_eq!(e.detected.line, 20, "crossed at the 20th source");
        assert_eq!(e.networks, 30);
        assert_eq!(e.requests, 30);
        assert_eq!(e.statuses[&404], 30);
        assert!(e.samples.len() <= EMERGING_SAMPLES && !e.samples.is_empty());
    }

    #[test]
    fn served_templates_readers_and_one_network_do_not_make_waves() {
        let t0 = 1_762_124_400;
        // The site serves it: a popular page.
        let mut d = WaveDetector::new(WaveConfig::default());
        d.observe(&ev("/new-post/", ip(1), t0, 200, 1));
        for i in 0..50u32 {
            d.observe(&ev(
                "/new-post/",
                ip(100 + i),
                t0 + 1,
                if i % 3 == 0 { 304 } else { 404 },
                2,
            ));
        }
        assert!(d.finish(|_| false).is_empty());
        // Readers with a broken link.
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..50u32 {
            let mut e = ev("/old-image.jpg", ip(100 + i), t0, 404, 2);
            e.reader = true;
            d.observe(&e);
        }
        assert!(d.finish(|_| false).is_empty());
        // Fifty addresses of one /24.
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..50u8 {
            d.observe(&ev("/x/{hex}", IpAddr::from([198, 51, 100, i]), t0, 404, 2));
        }
        assert!(d.finish(|_| false).is_empty());
        // Spread over more than the window.
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..50u32 {
            d.observe(&ev(
                "/slow/{hex}",
                ip(100 + i),
                t0 + i64::from(i) * 7200,
                404,
                2,
            ));
        }
        assert!(d.finish(|_| false).is_empty());
        // Seeded as served from the site's list of paths.
        let mut d = WaveDetector::new(WaveConfig::default());
        d.seed_served("/docs/item-123.html");
        for i in 0..50u32 {
            d.observe(&ev("/docs/item-{num}.html", ip(100 + i), t0, 404, 2));
        }
        assert!(d.finish(|_| false).is_empty());
    }

    #[test]
    fn late_readers_are_removed_from_the_wave() {
        let t0 = 1_762_124_400;
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..25u32 {
            d.observe(&ev("/w/{hex}", ip(100 + i), t0, 404, 2));
        }
        assert_eq!(d.finish(|_| false).len(), 1);
        assert!(
            d.finish(|a| a != ip(100)).is_empty(),
            "below the threshold without readers"
        );
    }

    /// A flood of 10 million random unknown paths from many sources stays within the bound.
    #[test]
    fn memory_stays_bounded_under_a_flood_of_random_paths() {
        let cfg = WaveConfig {
            max_templates: 5_000,
            ..WaveConfig::default()
        };
        let mut d = WaveDetector::new(cfg.clone());
        let bound = d.memory_bound();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut path = Vec::with_capacity(64);
        let mut tmpl = Vec::with_capacity(64);
        let mut peak = 0;
        let t0 = 1_762_124_400;
        const N: u64 = 10_000_000;
        for i in 0..N {
            let r = next();
            path.clear();
            path.push(b'/');
            // Letters g..z only, so nothing collapses into a placeholder: every path is a
            // new template. One in eight comes from a small pool, which grows source lists.
            let word = if r & 7 == 0 { r >> 40 & 0x3ff } else { r >> 3 };
            let mut w = word;
            for _ in 0..10 {
                path.push(b'g' + (w % 20) as u8);
                w /= 20;
            }
            let ok = template_into(&path, b"", &mut tmpl);
            debug_assert!(ok);
            let text = std::str::from_utf8(&tmpl).unwrap();
            let e = WaveEvent {
                template: template_hash(&tmpl),
                time: Timestamp::from_unix_secs(t0 + (i / 100) as i64),
                source: IpAddr::from(((r >> 17) as u32).to_be_bytes()),
                status: 404,
                method: 0,
                reader: false,
                input: 0,
                line: i + 1,
                template_text: text,
                request: text,
            };
            d.observe(&e);
            if i % 500_000 == 0 || i == N - 1 {
                let m = d.memory_bytes();
                peak = peak.max(m);
                assert!(m <= bound, "{m} bytes over the bound {bound} at {i}");
                assert!(d.stats().templates <= cfg.max_templates as u64);
            }
        }
        let s = d.stats();
        assert!(s.evicted > 0, "{s:?}");
        assert!(s.templates <= cfg.max_templates as u64);
        assert!(s.emerging as usize <= MAX_EMERGING);
        assert!(
            peak <= bound && bound < 512 << 20,
            "peak {peak}, bound {bound}"
        );
    }

    #[test]
    fn drafts_load_and_pass_their_examples() {
        let t0 = 1_762_124_400;
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..25u32 {
            let tmpl = "/cgi-bin/vpnapi/status/{hex}";
            let req = format!("GET /cgi-bin/vpnapi/status/{:08x}", 0x1a2b_3c4d + i);
            let mut e = ev(tmpl, ip(100 + i), t0, 404, u64::from(i));
            e.request = &req;
            d.observe(&e);
        }
        let e = d.finish(|_| false).remove(0);
        let vocab = scantriage_detect::Vocabulary::default();
        let draft = draft_rule(
            &e,
            ["GET /2025/11/post/", "GET /cgi-bin/other"],
            "2025-11-04",
        )
        .unwrap();
        assert!(
            draft
                .text
                .contains("prefix = [\"/cgi-bin/vpnapi/status/\"]"),
            "{}",
            draft.text
        );
        assert!(
            draft
                .text
                .contains("request = \"GET /cgi-bin/other HTTP/1.1\""),
            "{}",
            draft.text
        );
        assert_eq!(
            validate_draft("d.toml", &draft.text, &vocab),
            Vec::<String>::new(),
            "{}",
            draft.text
        );
        // A template with query keys and no placeholder.
        let mut d = WaveDetector::new(WaveConfig::default());
        for i in 0..25u32 {
            let req = format!("POST /rest/v3/sysinfo/export?id={i:x}");
            let mut e = ev(
                "/rest/v3/sysinfo/export?id",
                ip(100 + i),
                t0,
                403,
                u64::from(i),
            );
            e.request = &req;
            e.method = 1;
            d.observe(&e);
        }
        let e = d.finish(|_| false).remove(0);
        let draft = draft_rule(&e, ["GET /"], "2025-11-04").unwrap();
        assert!(draft.text.contains("method = [\"POST\"]"), "{}", draft.text);
        assert_eq!(
            validate_draft("d.toml", &draft.text, &vocab),
            Vec::<String>::new(),
            "{}",
            draft.text
        );
        assert!(!validate_draft("bad.toml", "[[rule]]\nid = 1\n", &vocab).is_empty());
    }

    #[test]
    fn templates_requested_by_the_same_sources_are_one_campaign_with_one_draft() {
        let t0 = 1_762_124_400;
        let mut d = WaveDetector::new(WaveConfig::default());
        let mut reqs = Vec::new();
        for i in 0..30u32 {
            reqs.push((
                format!("GET /api/v1/totp/backup-code/{:08x}", 0x1a2b_3c4d + i),
                format!("GET /api/v2/cluster/probe-status?node={i:x}"),
            ));
        }
        // Thirty sources probe both paths; twenty-five others (disjoint) a third one.
        for (i, (a, b)) in reqs.iter().enumerate() {
            let i = i as u32;
            let mut e = ev(
                "/api/v1/totp/backup-code/{hex}",
                ip(100 + i),
                t0,
                404,
                u64::from(2 * i),
            );
            e.request = a;
            d.observe(&e);
            let mut e = ev(
                "/api/v2/cluster/probe-status?node",
                ip(100 + i),
                t0 + 1,
                400,
                u64::from(2 * i + 1),
            );
            e.request = b;
            d.observe(&e);
        }
        let other: Vec<String> = (0..25u32)
            .map(|i| format!("GET /hnap1/setup/{i:08x}"))
            .collect();
        for (i, r) in other.iter().enumerate() {
            let i = i as u32;
            let mut e = ev(
                "/hnap1/setup/{hex}",
                ip(200 + i),
                t0 + 2,
                404,
                100 + u64::from(i),
            );
            e.request = r;
            d.observe(&e);
        }
        let found = d.finish(|_| false);
        assert_eq!(found.len(), 3);
        let grouped = group_related(found);
        assert_eq!(grouped.len(), 2, "{grouped:#?}");
        let both = &grouped[0];
        assert_eq!(both.template, "/api/v1/totp/backup-code/{hex}");
        assert_eq!(
            both.also,
            vec!["/api/v2/cluster/probe-status?node".to_string()]
        );
        assert_eq!(both.sources.len(), 30);
        assert_eq!(both.requests, 60);
        assert_eq!(grouped[1].template, "/hnap1/setup/{hex}");
        assert!(grouped[1].also.is_empty());

        // One draft covering both templates, with examples of each, that loads and passes.
        let vocab = scantriage_detect::Vocabulary::default();
        let draft = draft_rule(both, ["GET /2025/11/post/"], "2025-11-04").unwrap();
        assert!(
            draft
                .text
                .contains("GET /api/v2/cluster/probe-status?node="),
            "{}",
            draft.text
        );
        assert!(
            draft.text.contains("GET /api/v1/totp/backup-code/1a2b3c4"),
            "{}",
            draft.text
        );
        assert_eq!(
            validate_draft("d.toml", &draft.text, &vocab),
            Vec::<String>::new(),
            "{}",
            draft.text
        );
    }
}
