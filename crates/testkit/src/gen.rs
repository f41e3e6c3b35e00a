//! The generator: a merge of two time-ordered streams.
//!
//! * The background stream carries steady traffic (readers, crawlers, feed readers,
//!   low-and-slow brute force, junk): its line times are the order statistics of uniform
//!   times over the span, and each line draws a role by share.
//! * Episodes carry bursty automated traffic (scanners, exploit kits, fast brute force,
//!   the wave): one source sends a run of requests at its own pace from a start time.
//!   A heap keeps the next request time of every episode.
//!
//! Line counts per bursty role are planned exactly, the background gets the rest, and the
//! merge writes lines in time order, so times never decrease.

use crate::clock::TimeCache;
use crate::content::*;
use crate::net::{self, Network};
use crate::rng::{self, Rng};
use crate::{CorpusConfig, Label, Role};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

/// Share of lines per role (the wave comes on top, taken from the background).
const SHARE_READER: f64 = 0.80;
const SHARE_CRAWLER: f64 = 0.08;
const SHARE_FEED: f64 = 0.04;
const SHARE_NOISE: f64 = 0.045;
const SHARE_WORDPRESS: f64 = 0.015;
const SHARE_EXPLOIT: f64 = 0.01;
const SHARE_BRUTE_FAST: f64 = 0.0035;
const SHARE_BRUTE_SLOW: f64 = 0.0035;
const SHARE_JUNK: f64 = 0.003;

/// Flush the line buffer to the output once it holds this many bytes.
const FLUSH_AT: usize = 1 << 16;

/// A source address with what the generator remembers about it.
struct Source {
    ip: IpAddr,
    text: String,
    role: Role,
    /// Index into the role's user-agent table (or crawler/feed table).
    ua: u16,
    /// Reader: speaks HTTP/2. Scanner: has sent its first request.
    flag: bool,
}

/// Kinds of bursty traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Noise,
    Wordpress,
    Exploit,
    Brute,
    Wave,
}

/// How a noise scanner walks its probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// Through the probe list in order, from some offset (a wordlist).
    List,
    /// Through dotenv locations in order.
    Env,
    /// A random probe each time (loaders spraying exploits).
    Random,
}

/// One burst of requests from one source.
#[derive(Clone, Copy)]
struct Episode {
    src: u32,
    kind: Kind,
    walk: Walk,
    remaining: u32,
    t: f64,
    gap: f64,
    cursor: u32,
    /// Loader/callback host in payloads (documentation address).
    c2: [u8; 4],
    /// HTTP/1.0 instead of HTTP/1.1.
    http10: bool,
    /// Exploit: the attack kind to prefer (index into a kind list), or u8::MAX for any.
    /// Brute force / wave: the target chosen for the burst.
    focus: u8,
}

/// A same-site referer or an external one.
#[derive(Clone, Copy)]
enum Referer {
    Dash,
    External(&'static str),
    Site(&'static str),
}

/// A request a reader's browser is about to make.
#[derive(Clone, Copy)]
struct Planned {
    method: &'static str,
    path: &'static str,
    /// Non-zero: a comment redirect, `?unapproved=<hi>&moderation-hash=<lo hex>`.
    extra: u64,
    status: u16,
    size: u32,
    referer: Referer,
}

/// A reader's visit: a queue of requests and where it stands.
struct Session {
    src: u32,
    queue: VecDeque<Planned>,
    pages: u32,
    last_page: &'static str,
    cold: bool,
    ios: bool,
}

/// The request being written.
struct Req {
    method: &'static str,
    path: String,
    proto: &'static str,
    status: u16,
    size: u32,
    referer: String,
    ua: String,
    /// The request line is raw bytes (junk), without method and protocol.
    raw: bool,
}

pub(crate) struct Generator {
    cfg: CorpusConfig,
    rng: Rng,
    span: f64,
    mid: f64,
    sources: Vec<Source>,
    used: HashSet<IpAddr>,
    readers: Vec<u32>,
    reuse: [Vec<u32>; 5],
    crawler_slots: Vec<Option<(u32, u8)>>,
    feed_slots: Vec<Option<u32>>,
    junk_slots: Vec<Option<u32>>,
    slow_slots: Vec<Option<u32>>,
    sessions: Vec<Session>,
    max_sessions: usize,
    episodes: Vec<Episode>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    req: Req,
    buf: Vec<u8>,
    clock: TimeCache,
}

fn kind_index(k: Kind) -> usize {
    match k {
        Kind::Noise => 0,
        Kind::Wordpress => 1,
        Kind::Exploit => 2,
        Kind::Brute => 3,
        Kind::Wave => 4,
    }
}

fn kind_role(k: Kind) -> Role {
    match k {
        Kind::Noise => Role::ScannerNoise,
        Kind::Wordpress => Role::ScannerWordpress,
        Kind::Exploit => Role::Exploit,
        Kind::Brute => Role::Bruteforce,
        Kind::Wave => Role::Wave,
    }
}

/// Stable pseudo-random number from a string (FNV-1a), for per-path sizes.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Size of a rendered WordPress page.
fn page_size(path: &str) -> u32 {
    21_000 + (fnv(path) % 47_000) as u32
}

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_hex(s: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        s.push(HEX[((v >> (4 * i)) & 0xf) as usize] as char);
    }
}

/// Expands `§c2`, `§hex8` and `§num` placeholders of `template` into `out`.
fn expand(template: &str, out: &mut String, rng: &mut Rng, c2: [u8; 4]) {
    let mut rest = template;
    while let Some(at) = rest.find('§') {
        out.push_str(&rest[..at]);
        let after = &rest[at + '§'.len_utf8()..];
        let key_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        match &after[..key_len] {
            "c2" => {
                let _ = write!(out, "{}.{}.{}.{}", c2[0], c2[1], c2[2], c2[3]);
            }
            "hex8" => push_hex(out, rng.next_u64(), 8),
            "num" => {
                let _ = write!(out, "{}", rng.range(1, 2400));
            }
            other => panic!("unknown placeholder §{other}"),
        }
        rest = &after[key_len..];
    }
    out.push_str(rest);
}

/// A documentation address standing for a loader or callback server.
fn doc_host(rng: &mut Rng) -> [u8; 4] {
    let nets: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    let n = rng.pick(&nets);
    [n[0], n[1], n[2], rng.range(1, 254) as u8]
}

/// Weighted choice returning the index.
fn weighted_index<T>(rng: &mut Rng, items: &[(T, u32)]) -> usize {
    let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut x = rng.below(total);
    for (i, (_, w)) in items.iter().enumerate() {
        if x < u64::from(*w) {
            return i;
        }
        x -= u64::from(*w);
    }
    items.len() - 1
}

impl Generator {
    pub(crate) fn new(cfg: &CorpusConfig) -> Self {
        let span = cfg.span_secs.max(1) as f64;
        let rate = cfg.lines as f64 / span;
        let max_sessions = ((rate * 8.0).round() as usize).clamp(1, 48);
        Generator {
            cfg: cfg.clone(),
            rng: Rng::new(cfg.seed),
            span,
            mid: span / 2.0,
            sources: Vec::new(),
            used: HashSet::new(),
            readers: Vec::new(),
            reuse: Default::default(),
            crawler_slots: vec![None; 40],
            feed_slots: vec![None; ((cfg.lines / 25_000) as usize).clamp(6, 30)],
            junk_slots: vec![None; ((cfg.lines / 10_000) as usize).clamp(3, 200)],
            slow_slots: vec![None; ((cfg.lines / 60_000) as usize).clamp(2, 64)],
            sessions: Vec::new(),
            max_sessions,
            episodes: Vec::new(),
            heap: BinaryHeap::new(),
            req: Req {
                method: "GET",
                path: String::with_capacity(256),
                proto: "HTTP/1.1",
                status: 200,
                size: 0,
                referer: String::with_capacity(128),
                ua: String::with_capacity(256),
                raw: false,
            },
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            clock: TimeCache::new(),
        }
    }

    /// Creates a source with a fresh, globally unique address.
    fn new_source(&mut self, role: Role, network: Network, v6_share: f64, ua: u16) -> u32 {
        let ip = loop {
            let ip = net::address(&mut self.rng, network, v6_share);
            if self.used.insert(ip) {
                break ip;
            }
        };
        self.push_source(ip, role, ua)
    }

    fn push_source(&mut self, ip: IpAddr, role: Role, ua: u16) -> u32 {
        let id = self.sources.len() as u32;
        self.sources.push(Source {
            ip,
            text: ip.to_string(),
            role,
            ua,
            flag: false,
        });
        id
    }

    pub(crate) fn run(mut self, out: &mut dyn Write) -> io::Result<Vec<Label>> {
        let lines = self.cfg.lines;
        let share = |s: f64| (s * lines as f64).round() as u64;
        let mut planned = 0u64;
        planned += self.plan(Kind::Noise, share(SHARE_NOISE));
        planned += self.plan(Kind::Wordpress, share(SHARE_WORDPRESS));
        planned += self.plan(Kind::Exploit, share(SHARE_EXPLOIT));
        planned += self.plan(Kind::Brute, share(SHARE_BRUTE_FAST));
        if self.cfg.wave {
            let sources = (lines / 3000).max(30);
            // Never let the wave take more than a twentieth of a tiny corpus.
            planned += self.plan_wave(sources, lines / 20);
        }
        let planned = planned.min(lines);

        // Background: ascending order statistics of `background` uniform times.
        let mut background = lines - planned;
        let mut frac = 0.0f64;
        let mut next_bg = if background > 0 {
            self.next_order_stat(&mut frac, background)
        } else {
            f64::INFINITY
        };
        for _ in 0..lines {
            let ep_t = self
                .heap
                .peek()
                .map_or(f64::INFINITY, |Reverse((t, _))| f64::from_bits(*t));
            if background > 0 && next_bg <= ep_t {
                let t = next_bg;
                background -= 1;
                if background > 0 {
                    next_bg = self.next_order_stat(&mut frac, background);
                }
                self.background_line(t);
            } else if let Some(Reverse((_, idx))) = self.heap.pop() {
                self.episode_line(idx as usize);
            } else {
                break;
            }
            if self.buf.len() >= FLUSH_AT {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        out.write_all(&self.buf)?;
        self.buf.clear();
        out.flush()?;

        let mut labels: Vec<Label> = self
            .sources
            .iter()
            .map(|s| Label {
                ip: s.ip,
                role: s.role,
            })
            .collect();
        labels.sort();
        Ok(labels)
    }

    /// Next of `remaining` sorted uniform times over the span, given the previous fraction.
    fn next_order_stat(&mut self, frac: &mut f64, remaining: u64) -> f64 {
        // The minimum of m uniforms on (f, 1) is 1 - (1 - f) * V^(1/m).
        let v = self.rng.unit_open();
        *frac = 1.0 - (1.0 - *frac) * rng::exp(rng::ln(v) / remaining as f64);
        (*frac * self.span).min(self.span - 1e-6)
    }

    // ---------------------------------------------------------------- planning

    /// Plans episodes of `kind` totalling exactly `target` lines; returns `target`.
    fn plan(&mut self, kind: Kind, target: u64) -> u64 {
        let mut left = target;
        while left > 0 {
            let rng = &mut self.rng;
            let (count, gap, reuse_p) = match kind {
                Kind::Noise => (1 + rng.exp(13.0) as u64, 0.3 + rng.exp(1.5), 0.25),
                Kind::Wordpress => (4 + rng.exp(20.0) as u64, 0.5 + rng.exp(3.0), 0.2),
                Kind::Exploit => (rng.range(3, 25), 0.2 + rng.exp(1.5), 0.15),
                Kind::Brute => (rng.range(40, 400), 1.0 + rng.unit() * 2.0, 0.1),
                Kind::Wave => unreachable!("the wave is planned by plan_wave"),
            };
            let count = count.clamp(1, 400).min(left);
            left -= count;
            self.add_episode(kind, count, gap, reuse_p);
        }
        target
    }

    /// Plans the wave: `sources` new sources of one to three requests each, at most
    /// `cap` lines in all; returns the number of lines planned.
    fn plan_wave(&mut self, sources: u64, cap: u64) -> u64 {
        let mut planned = 0;
        for _ in 0..sources {
            let count = self.rng.range(1, 3).min(cap - planned);
            if count == 0 {
                break;
            }
            let gap = 1.0 + self.rng.exp(8.0);
            self.add_episode(Kind::Wave, count, gap, 0.0);
            planned += count;
        }
        planned
    }

    /// Adds one episode of `count` requests spaced `gap` seconds apart on average.
    fn add_episode(&mut self, kind: Kind, count: u64, gap: f64, reuse_p: f64) {
        let duration = count as f64 * gap;
        let (lo, hi) = match kind {
            Kind::Wave => (self.mid, self.span - duration.min(self.mid / 2.0)),
            _ => (0.0, (self.span - duration).max(0.0)),
        };
        let start = lo + self.rng.unit() * (hi - lo).max(0.0);
        let src = self.episode_source(kind, reuse_p);
        let walk = match self.rng.below(10) {
            0..=5 => Walk::List,
            6..=7 => Walk::Env,
            _ => Walk::Random,
        };
        let focus = match kind {
            Kind::Exploit if self.rng.chance(0.4) => self.rng.below(6) as u8,
            Kind::Exploit => u8::MAX,
            Kind::Brute => u8::from(self.rng.chance(0.4)),
            Kind::Wave => weighted_index(&mut self.rng, WAVE_TEMPLATES) as u8,
            _ => 0,
        };
        let cursor = match (kind, walk) {
            (Kind::Noise, Walk::List) => self.rng.index(NOISE_PROBES.len()) as u32,
            (Kind::Noise, Walk::Env) => self.rng.index(ENV_DIRS.len() * 2) as u32,
            (Kind::Wordpress, _) if self.rng.chance(0.5) => 0,
            (Kind::Wordpress, _) => self.rng.index(WP_PROBES.len()) as u32,
            _ => 0,
        };
        let ep = Episode {
            src,
            kind,
            walk,
            remaining: count as u32,
            t: start,
            gap,
            cursor,
            c2: doc_host(&mut self.rng),
            http10: self.rng.chance(0.12),
            focus,
        };
        let idx = self.episodes.len() as u32;
        self.episodes.push(ep);
        self.heap.push(Reverse((start.to_bits(), idx)));
    }

    /// A new source for an episode, or (sometimes) one of the kind that came before.
    fn episode_source(&mut self, kind: Kind, reuse_p: f64) -> u32 {
        let k = kind_index(kind);
        if !self.reuse[k].is_empty() && self.rng.chance(reuse_p) {
            let i = self.rng.index(self.reuse[k].len());
            return self.reuse[k][i];
        }
        let (network, v6, ua) = match kind {
            Kind::Noise => (
                Network::Hosting,
                0.04,
                weighted_index(&mut self.rng, SCANNER_UAS),
            ),
            Kind::Wordpress => (
                Network::Hosting,
                0.04,
                weighted_index(&mut self.rng, WP_SCANNER_UAS),
            ),
            Kind::Exploit => {
                // Kits either announce a tool or pose as a browser.
                let ua = if self.rng.chance(0.6) {
                    weighted_index(&mut self.rng, SCANNER_UAS)
                } else {
                    1000 + weighted_index(&mut self.rng, BROWSERS)
                };
                (Network::Hosting, 0.02, ua)
            }
            Kind::Brute => (
                Network::Hosting,
                0.02,
                weighted_index(&mut self.rng, BRUTE_UAS),
            ),
            Kind::Wave => {
                let net = if self.rng.chance(0.35) {
                    Network::Residential
                } else {
                    Network::Hosting
                };
                (net, 0.03, weighted_index(&mut self.rng, SCANNER_UAS))
            }
        };
        let id = self.new_source(kind_role(kind), network, v6, ua as u16);
        self.reuse[k].push(id);
        id
    }

    // ---------------------------------------------------------------- writing

    fn set_req(&mut self, method: &'static str, proto: &'static str, status: u16, size: u32) {
        let r = &mut self.req;
        r.method = method;
        r.proto = proto;
        r.status = status;
        r.size = size;
        r.raw = false;
        r.path.clear();
        r.referer.clear();
        r.referer.push('-');
        r.ua.clear();
    }

    /// Appends the current request as a log line from `src` at offset `t`.
    fn emit(&mut self, src: u32, t: f64) {
        let unix = self.cfg.start_unix + t.floor() as i64;
        let b = &mut self.buf;
        let r = &self.req;
        b.extend_from_slice(self.sources[src as usize].text.as_bytes());
        b.extend_from_slice(b" - - [");
        b.extend_from_slice(self.clock.get(unix));
        b.extend_from_slice(b"] \"");
        if r.raw {
            b.extend_from_slice(r.path.as_bytes());
        } else {
            b.extend_from_slice(r.method.as_bytes());
            b.push(b' ');
            b.extend_from_slice(r.path.as_bytes());
            b.push(b' ');
            b.extend_from_slice(r.proto.as_bytes());
        }
        b.extend_from_slice(b"\" ");
        push_u64(b, u64::from(r.status));
        b.push(b' ');
        push_u64(b, u64::from(r.size));
        b.extend_from_slice(b" \"");
        b.extend_from_slice(r.referer.as_bytes());
        b.extend_from_slice(b"\" \"");
        b.extend_from_slice(if r.ua.is_empty() {
            b"-"
        } else {
            r.ua.as_bytes()
        });
        b.extend_from_slice(b"\"\n");
    }

    // ---------------------------------------------------------------- background

    fn background_line(&mut self, t: f64) {
        let total = SHARE_READER + SHARE_CRAWLER + SHARE_FEED + SHARE_JUNK + SHARE_BRUTE_SLOW;
        let mut x = self.rng.unit() * total;
        x -= SHARE_READER;
        if x < 0.0 {
            return self.reader_line(t);
        }
        x -= SHARE_CRAWLER;
        if x < 0.0 {
            return self.crawler_line(t);
        }
        x -= SHARE_FEED;
        if x < 0.0 {
            return self.feed_line(t);
        }
        x -= SHARE_JUNK;
        if x < 0.0 {
            return self.junk_line(t);
        }
        self.slow_brute_line(t)
    }

    fn reader_line(&mut self, t: f64) {
        let mut k = self.rng.index(self.max_sessions);
        if k >= self.sessions.len() {
            let s = self.new_session(t);
            self.sessions.push(s);
            k = self.sessions.len() - 1;
        }
        let planned = loop {
            if let Some(p) = self.sessions[k].queue.pop_front() {
                break p;
            }
            if !self.continue_session(k) {
                self.sessions[k] = self.new_session(t);
            }
        };
        let src = self.sessions[k].src;
        let proto = if self.sources[src as usize].flag {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        };
        self.set_req(planned.method, proto, planned.status, planned.size);
        let r = &mut self.req;
        r.path.push_str(planned.path);
        if planned.extra != 0 {
            let _ = write!(
                r.path,
                "?unapproved={}&moderation-hash=",
                planned.extra >> 32
            );
            push_hex(&mut r.path, planned.extra & 0xffff_ffff, 8);
            r.path.push_str("a1d4");
        }
        match planned.referer {
            Referer::Dash => {}
            Referer::External(s) => {
                r.referer.clear();
                r.referer.push_str(s);
            }
            Referer::Site(p) => {
                r.referer.clear();
                r.referer.push_str(SITE);
                r.referer.push_str(p);
            }
        }
        let ua = self.sources[src as usize].ua as usize;
        r.ua.push_str(BROWSERS[ua].0);
        self.emit(src, t);
    }

    /// Starts a visit: picks or creates the reader and plans the landing page.
    fn new_session(&mut self, t: f64) -> Session {
        let viral = self.cfg.wave && t >= self.mid && {
            let age = (t - self.mid) / (self.span / 4.0);
            self.rng.chance(0.03 + 0.22 * rng::exp(-age))
        };
        let returning_p = if viral { 0.1 } else { 0.4 };
        // Returning visitors need a readership first: ramp up over the first few hundred.
        let ramp = (self.readers.len() as f64 / 300.0).min(1.0);
        let returning = !self.readers.is_empty() && self.rng.chance(returning_p * ramp);
        let src = if returning {
            // Loyal readers (created early) come back more often.
            let i = self.rng.skewed(self.readers.len(), 2);
            self.readers[i]
        } else {
            let ua = weighted_index(&mut self.rng, BROWSERS) as u16;
            let id = self.new_source(Role::Reader, Network::Residential, 0.12, ua);
            self.sources[id as usize].flag = self.rng.chance(0.8);
            self.readers.push(id);
            id
        };
        let ua = BROWSERS[self.sources[src as usize].ua as usize].0;
        let mut s = Session {
            src,
            queue: VecDeque::with_capacity(16),
            pages: 0,
            last_page: "/",
            cold: !(returning && self.rng.chance(0.5)),
            ios: ua.contains("iPhone") || ua.contains("iPad"),
        };
        let (page, referer) = if viral {
            (
                VIRAL_POST,
                Referer::External(self.rng.weighted::<&str>(VIRAL_REFERERS)),
            )
        } else {
            let page = self.pick_page();
            let r = *self.rng.weighted(LANDING_REFERERS);
            (
                page,
                if r == "-" {
                    Referer::Dash
                } else {
                    Referer::External(r)
                },
            )
        };
        plan_page(&mut self.rng, &mut s, page, referer);
        s
    }

    fn pick_page(&mut self) -> &'static str {
        if self.rng.chance(0.6) {
            POSTS[self.rng.skewed(POSTS.len(), 2)]
        } else {
            PAGES[self.rng.skewed(PAGES.len(), 2)]
        }
    }

    /// Plans the next page of visit `k`, or returns false when the visit ends.
    fn continue_session(&mut self, k: usize) -> bool {
        if self.sessions[k].pages >= 6 || !self.rng.chance(0.4) {
            return false;
        }
        let page = self.pick_page();
        let s = &mut self.sessions[k];
        let from = s.last_page;
        plan_page(&mut self.rng, s, page, Referer::Site(from));
        true
    }

    fn crawler_line(&mut self, t: f64) {
        let slot = self.rng.skewed(self.crawler_slots.len(), 2);
        let (src, bot) = match self.crawler_slots[slot] {
            Some(v) => v,
            None => {
                let bot = {
                    let w: Vec<(usize, u32)> =
                        CRAWLERS.iter().enumerate().map(|(i, c)| (i, c.2)).collect();
                    *self.rng.weighted(&w)
                };
                let ip = loop {
                    let (first, len) = *self.rng.pick(CRAWLERS[bot].1);
                    let ip = IpAddr::V4(net::v4_in(&mut self.rng, first, len));
                    if self.used.insert(ip) {
                        break ip;
                    }
                };
                let id = self.push_source(ip, Role::Crawler, bot as u16);
                self.crawler_slots[slot] = Some((id, bot as u8));
                (id, bot as u8)
            }
        };
        self.set_req("GET", "HTTP/1.1", 200, 0);
        let x = self.rng.below(1000);
        let (path, status, size): (&str, u16, u32) = match x {
            0..=29 => ("/robots.txt", 200, 67),
            30..=39 => ("/sitemap.xml", 301, 0),
            40..=54 => ("/wp-sitemap.xml", 200, 1_243),
            55..=79 => ("/wp-sitemap-posts-post-1.xml", 200, 6_872),
            80..=94 => ("/wp-sitemap-taxonomies-category-1.xml", 200, 1_019),
            95..=124 => {
                let (p, s) = *self.rng.pick(POST_IMAGES);
                (p, 200, s)
            }
            125..=154 => (*self.rng.pick(BROWSER_MISSES), 404, 15_812),
            155..=179 => {
                let p = *self.rng.pick(POSTS);
                (&p[..p.len() - 1], 301, 0)
            }
            180..=199 => ("/feed/", 200, 41_226),
            200..=749 => {
                let p = POSTS[self.rng.skewed(POSTS.len(), 1)];
                (p, 200, page_size(p))
            }
            _ => {
                let p = *self.rng.pick(PAGES);
                (p, 200, page_size(p))
            }
        };
        let (path, status, size) = if self.cfg.wave && t >= self.mid && self.rng.chance(0.05) {
            (VIRAL_POST, 200, page_size(VIRAL_POST))
        } else {
            (path, status, size)
        };
        let r = &mut self.req;
        r.path.push_str(path);
        r.status = status;
        r.size = size;
        r.ua.push_str(CRAWLERS[bot as usize].0);
        self.emit(src, t);
    }

    fn feed_line(&mut self, t: f64) {
        let slot = self.rng.skewed(self.feed_slots.len(), 1);
        let src = match self.feed_slots[slot] {
            Some(s) => s,
            None => {
                let ua = (slot % FEED_READERS.len()) as u16;
                let network = if FEED_READERS[ua as usize].starts_with("NetNewsWire") {
                    Network::Residential
                } else {
                    Network::Hosting
                };
                let id = self.new_source(Role::Feed, network, 0.1, ua);
                self.feed_slots[slot] = Some(id);
                id
            }
        };
        let (path, full) = *self.rng.weighted(FEED_PATHS);
        let (status, size) = if full == 0 {
            (301, 0)
        } else if self.rng.chance(0.65) {
            (304, 0)
        } else {
            (200, full)
        };
        self.set_req("GET", "HTTP/1.1", status, size);
        self.req.path.push_str(path);
        let ua = self.sources[src as usize].ua as usize;
        self.req.ua.push_str(FEED_READERS[ua]);
        self.emit(src, t);
    }

    fn junk_line(&mut self, t: f64) {
        let slot = self.rng.index(self.junk_slots.len());
        let src = match self.junk_slots[slot] {
            Some(s) => s,
            None => {
                let id = self.new_source(Role::Junk, Network::Hosting, 0.03, 0);
                self.junk_slots[slot] = Some(id);
                id
            }
        };
        let i = self
            .rng
            .below(JUNK_REQUESTS.iter().map(|j| u64::from(j.2)).sum());
        let mut acc = 0u64;
        let mut pick = JUNK_REQUESTS[0];
        for j in JUNK_REQUESTS {
            acc += u64::from(j.2);
            if i < acc {
                pick = *j;
                break;
            }
        }
        self.set_req("", "", 400, pick.1);
        self.req.raw = true;
        self.req.path.push_str(pick.0);
        self.emit(src, t);
    }

    fn slow_brute_line(&mut self, t: f64) {
        let slot = self.rng.index(self.slow_slots.len());
        let src = match self.slow_slots[slot] {
            Some(s) => s,
            None => {
                let ua = weighted_index(&mut self.rng, BRUTE_UAS) as u16;
                let network = if self.rng.chance(0.5) {
                    Network::Residential
                } else {
                    Network::Hosting
                };
                let id = self.new_source(Role::Bruteforce, network, 0.05, ua);
                // Slow sources keep to one target: flag = xmlrpc.php.
                self.sources[id as usize].flag = self.rng.chance(0.4);
                self.slow_slots[slot] = Some(id);
                id
            }
        };
        let xmlrpc = self.sources[src as usize].flag;
        self.brute_request(src, xmlrpc);
        self.emit(src, t);
    }

    fn brute_request(&mut self, src: u32, xmlrpc: bool) {
        let ua = BRUTE_UAS[self.sources[src as usize].ua as usize].0;
        if xmlrpc {
            let size = 403 + self.rng.below(3) as u32;
            self.set_req("POST", "HTTP/1.1", 200, size);
            self.req.path.push_str("/xmlrpc.php");
        } else {
            let size = 4_870 + self.rng.below(40) as u32;
            self.set_req("POST", "HTTP/1.1", 200, size);
            self.req.path.push_str("/wp-login.php");
            if self.rng.chance(0.5) {
                self.req.referer.clear();
                self.req.referer.push_str(SITE);
                self.req.referer.push_str("/wp-login.php");
            }
        }
        self.req.ua.push_str(ua);
    }

    // ---------------------------------------------------------------- episodes

    fn episode_line(&mut self, idx: usize) {
        let mut ep = self.episodes[idx];
        let t = ep.t;
        match ep.kind {
            Kind::Noise => self.noise_request(&mut ep),
            Kind::Wordpress => self.wordpress_request(&mut ep),
            Kind::Exploit => self.exploit_request(&ep),
            Kind::Brute => {
                let xmlrpc = (ep.focus == 1) != self.rng.chance(0.08);
                self.brute_request(ep.src, xmlrpc);
            }
            Kind::Wave => self.wave_request(&ep),
        }
        self.emit(ep.src, t);
        ep.remaining -= 1;
        if ep.remaining > 0 {
            ep.t = (t + self.rng.exp(ep.gap)).min(self.span - 1e-6);
            self.heap.push(Reverse((ep.t.to_bits(), idx as u32)));
        }
        self.episodes[idx] = ep;
    }

    fn proto(ep: &Episode) -> &'static str {
        if ep.http10 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        }
    }

    fn scanner_ua(&mut self, src: u32, table: &[(&'static str, u32)]) {
        let ua = table[self.sources[src as usize].ua as usize].0;
        self.req.ua.push_str(ua);
    }

    fn noise_request(&mut self, ep: &mut Episode) {
        let proto = Self::proto(ep);
        let env_count = (ENV_DIRS.len() * ENV_FILES.len()) as u32;
        let walk = if ep.walk == Walk::Random && self.rng.chance(0.3) {
            Walk::Env
        } else {
            ep.walk
        };
        let answer = match walk {
            Walk::Env => {
                let c = if ep.walk == Walk::Env {
                    ep.cursor += 1;
                    ep.cursor % env_count
                } else {
                    self.rng.below(u64::from(env_count)) as u32
                };
                // Directories vary fastest: each file name is tried everywhere in turn.
                let dir = ENV_DIRS[(c as usize) % ENV_DIRS.len()];
                let file = ENV_FILES[(c as usize) / ENV_DIRS.len()];
                self.set_req("GET", proto, 0, 0);
                self.req.path.push_str(dir);
                self.req.path.push_str(file);
                Answer::Denied
            }
            Walk::List | Walk::Random => {
                let i = if walk == Walk::List {
                    ep.cursor = (ep.cursor + 1) % NOISE_PROBES.len() as u32;
                    ep.cursor as usize
                } else {
                    self.rng.index(NOISE_PROBES.len())
                };
                let (method, template, answer) = NOISE_PROBES[i];
                self.set_req(method, proto, 0, 0);
                expand(template, &mut self.req.path, &mut self.rng, ep.c2);
                answer
            }
        };
        let x = self.rng.below(100);
        let status = match answer {
            Answer::Denied if x < 70 => 403,
            Answer::Bad if x < 90 => 400,
            Answer::Missing if x < 4 => 301,
            Answer::Missing if x < 7 => 400,
            _ => 404,
        };
        let path_only = self.req.path.split('?').next().unwrap_or("");
        let size = match status {
            403 => 153,
            400 => 157,
            301 => 169,
            _ if path_only.ends_with(".php") => 16,
            _ => 15_700 + self.rng.below(200) as u32,
        };
        self.req.status = status;
        self.req.size = size;
        self.scanner_ua(ep.src, SCANNER_UAS);
    }

    fn wordpress_request(&mut self, ep: &mut Episode) {
        let proto = Self::proto(ep);
        let src = ep.src as usize;
        if !self.sources[src].flag || self.rng.chance(0.04) {
            // Fingerprinting: is there a WordPress login page?
            self.sources[src].flag = true;
            let size = 4_600 + self.rng.below(120) as u32;
            self.set_req("GET", proto, 200, size);
            self.req.path.push_str("/wp-login.php");
            self.scanner_ua(ep.src, WP_SCANNER_UAS);
            return;
        }
        let i = if self.rng.chance(0.6) {
            ep.cursor = (ep.cursor + 1) % WP_PROBES.len() as u32;
            ep.cursor as usize
        } else {
            self.rng.index(WP_PROBES.len())
        };
        let (method, path, answer, found) = WP_PROBES[i];
        let (status, size) = match answer {
            WpAnswer::Exists => (200, found),
            WpAnswer::PostOnly if self.rng.chance(0.85) => (405, 42),
            WpAnswer::PostOnly => (200, found),
            WpAnswer::Missing if method == "POST" => (404, 16),
            WpAnswer::Missing => (404, 15_700 + self.rng.below(200) as u32),
            WpAnswer::Denied => (403, 153),
            WpAnswer::Redirect if path.starts_with("/wp-") => (302, 0),
            WpAnswer::Redirect => (301, 0),
            WpAnswer::AjaxUnknown => (400, 1),
        };
        self.set_req(method, proto, status, size);
        self.req.path.push_str(path);
        self.scanner_ua(ep.src, WP_SCANNER_UAS);
    }

    fn exploit_request(&mut self, ep: &Episode) {
        const KINDS: [Attack; 6] = [
            Attack::Sqli,
            Attack::Traversal,
            Attack::Reflect,
            Attack::Header,
            Attack::PhpCgi,
            Attack::Command,
        ];
        let (method, template, ua_template, attack) = loop {
            let e = *self.rng.pick(EXPLOITS);
            if ep.focus == u8::MAX || e.3 == KINDS[ep.focus as usize] || self.rng.chance(0.15) {
                break e;
            }
        };
        self.set_req(method, Self::proto(ep), 0, 0);
        expand(template, &mut self.req.path, &mut self.rng, ep.c2);
        if !ua_template.is_empty() {
            expand(ua_template, &mut self.req.ua, &mut self.rng, ep.c2);
        } else {
            let ua = self.sources[ep.src as usize].ua as usize;
            let s = if ua >= 1000 {
                BROWSERS[ua - 1000].0
            } else {
                SCANNER_UAS[ua].0
            };
            self.req.ua.push_str(s);
        }
        let x = self.rng.below(100);
        let path = self.req.path.as_str();
        let status = match attack {
            _ if path.starts_with("/%2e%2e") || path.starts_with("/..%") => 400,
            _ if path.starts_with("/cgi-bin/") => {
                if x < 85 {
                    404
                } else {
                    403
                }
            }
            Attack::Sqli => match x {
                0..=49 => 200,
                50..=74 => 404,
                75..=84 => 500,
                _ => 403,
            },
            Attack::Traversal => match x {
                0..=44 => 200,
                45..=79 => 404,
                _ => 403,
            },
            Attack::Reflect => match x {
                0..=59 => 200,
                60..=79 => 403,
                _ => 404,
            },
            Attack::Header => 200,
            Attack::PhpCgi => match x {
                0..=59 => 200,
                60..=84 => 404,
                _ => 403,
            },
            Attack::Command => match x {
                0..=54 => 200,
                55..=74 => 403,
                75..=89 => 404,
                _ => 500,
            },
        };
        let size = match status {
            200 => page_size(path) + self.rng.below(300) as u32,
            400 => 157,
            403 => 153,
            500 => 2_611,
            _ => 15_700 + self.rng.below(200) as u32,
        };
        self.req.status = status;
        self.req.size = size;
    }

    fn wave_request(&mut self, ep: &Episode) {
        let x = self.rng.below(4);
        let (status, size) = match x {
            0 => (400, 157),
            1 => (403, 153),
            _ => (404, 15_700 + self.rng.below(200) as u32),
        };
        self.set_req("GET", "HTTP/1.1", status, size);
        let template = WAVE_TEMPLATES[ep.focus as usize].0;
        expand(template, &mut self.req.path, &mut self.rng, ep.c2);
        self.scanner_ua(ep.src, SCANNER_UAS);
    }
}

/// Plans one page view of a visit: the page, then what the browser fetches for it.
fn plan_page(rng: &mut Rng, s: &mut Session, page: &'static str, referer: Referer) {
    let here = Referer::Site(page);
    let q = &mut s.queue;
    let get = |path, status, size, referer| Planned {
        method: "GET",
        path,
        extra: 0,
        status,
        size,
        referer,
    };
    // A link without the trailing slash is redirected first.
    if page.len() > 1 && page.ends_with('/') && rng.chance(0.01) {
        q.push_back(get(&page[..page.len() - 1], 301, 0, referer));
    }
    let page_status = if !s.cold && rng.chance(0.08) {
        304
    } else {
        200
    };
    let size = if page_status == 304 {
        0
    } else {
        page_size(page)
    };
    q.push_back(get(page, page_status, size, referer));
    for &(asset, asset_size) in PAGE_ASSETS {
        if s.cold {
            if rng.chance(0.93) {
                q.push_back(get(asset, 200, asset_size, here));
            }
        } else if rng.chance(0.08) {
            q.push_back(get(asset, 304, 0, here));
        }
    }
    if page == VIRAL_POST {
        let status = if s.cold { 200 } else { 304 };
        let size = if s.cold { VIRAL_IMAGE.1 } else { 0 };
        q.push_back(get(VIRAL_IMAGE.0, status, size, here));
    } else if let Some(i) = POSTS.iter().position(|p| *p == page) {
        if let Some(&(img, img_size)) = POST_IMAGES.get(i) {
            let (status, size) = if s.cold { (200, img_size) } else { (304, 0) };
            q.push_back(get(img, status, size, here));
        }
        // Now and then a reader leaves a comment: POST, redirect, and the held comment.
        if rng.chance(0.012) {
            q.push_back(Planned {
                method: "POST",
                path: "/wp-comments-post.php",
                extra: 0,
                status: 302,
                size: 5,
                referer: here,
            });
            let id = rng.range(1_200, 9_999);
            let extra = (id << 32) | (rng.next_u64() & 0xffff_ffff);
            q.push_back(Planned {
                extra,
                ..get(page, 200, page_size(page) + 900, here)
            });
        }
    }
    if s.cold {
        if rng.chance(0.7) {
            q.push_back(get(FAVICON.0, 200, FAVICON.1, here));
        }
        if s.ios {
            q.push_back(get(BROWSER_MISSES[1], 404, 15_812, Referer::Dash));
            q.push_back(get(BROWSER_MISSES[0], 404, 15_812, Referer::Dash));
        }
    }
    if rng.chance(0.02) {
        q.push_back(get(*rng.pick(&BROWSER_MISSES[2..]), 404, 15_812, here));
    }
    s.pages += 1;
    s.last_page = page;
    s.cold = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand() {
        let mut rng = Rng::new(1);
        let mut s = String::new();
        expand("/x?a=§hex8&h=§c2/y§num", &mut s, &mut rng, [203, 0, 113, 9]);
        assert!(s.starts_with("/x?a="), "{s}");
        assert!(s.contains("&h=203.0.113.9/y"), "{s}");
        assert!(!s.contains('§'));
    }

    #[test]
    fn every_template_expands_and_has_no_quote() {
        let mut rng = Rng::new(2);
        let templates = NOISE_PROBES
            .iter()
            .map(|p| p.1)
            .chain(EXPLOITS.iter().flat_map(|e| [e.1, e.2]))
            .chain(WAVE_TEMPLATES.iter().map(|w| w.0))
            .chain(WP_PROBES.iter().map(|w| w.1))
            .chain(JUNK_REQUESTS.iter().map(|j| j.0));
        for t in templates {
            let mut s = String::new();
            expand(t, &mut s, &mut rng, [192, 0, 2, 1]);
            assert!(!s.contains('"') && !s.contains('§'), "{t}");
            assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{t}");
            // A backslash only ever starts an nginx `\xHH` escape.
            for (i, _) in s.match_indices('\\') {
                let esc = s.as_bytes().get(i + 1..i + 4).unwrap_or(b"");
                assert!(
                    esc.len() == 3 && esc[0] == b'x' && esc[1..].iter().all(u8::is_ascii_hexdigit),
                    "unescaped backslash in {t}"
                );
            }
        }
    }

    #[test]
    fn crawler_prefixes_are_network_addresses() {
        for (_, nets, _) in CRAWLERS {
            for (first, len) in *nets {
                let a = u32::from_be_bytes(*first);
                assert_eq!(a & !(u32::MAX << (32 - len)), 0, "{first:?}/{len}");
            }
        }
    }

    #[test]
    fn integers_format() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        b.push(b' ');
        push_u64(&mut b, 1_234_567);
        assert_eq!(b, b"0 1234567");
    }
}
