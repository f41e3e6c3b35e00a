//! The matching engine: one Aho-Corasick prefilter per field, exact rules second.

use crate::normalize::{decode_into, normalize_path};
use crate::rules::{Example, Field, RuleError, Signature};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use scantriage_core::{HttpRequest, SignatureIndex};
use std::borrow::Cow;
use std::collections::HashMap;

/// A compiled set of signatures, ready to match requests.
#[derive(Debug)]
pub struct RuleSet {
    sigs: Vec<Signature>,
    /// Per field: the automaton and, per pattern, the rules it makes candidates.
    prefilters: Vec<Option<(AhoCorasick, Vec<Vec<SignatureIndex>>)>>,
}

/// Per-thread working memory, reused from one request to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    fields: [Vec<u8>; Field::COUNT],
    ready: [bool; Field::COUNT],
    tmp: Vec<u8>,
    decoded_path: Vec<u8>,
    stamp: Vec<u32>,
    epoch: u32,
    candidates: Vec<SignatureIndex>,
    /// Prefilter hits per header value (user agents and referers repeat a lot).
    header_cache: [HeaderCache; 2],
    /// How many decoding passes the path needed (2 or more: multiply encoded).
    pub decode_passes: u32,
    /// Prefilter hits and suspicion per request line.
    line_cache: HashMap<Box<[u8]>, LineEntry, foldhash::fast::RandomState>,
    key: Vec<u8>,
    prepared: bool,
    /// What the heuristics found suspicious in the request line alone.
    pub(crate) line_suspicion: Option<&'static str>,
}

/// What the request-line cache keeps.
#[derive(Debug)]
struct LineEntry {
    hits: Box<[SignatureIndex]>,
    suspicion: Option<&'static str>,
}

/// Request lines cached per thread before the cache is cleared.
const LINE_CACHE_ENTRIES: usize = 16_384;
/// Longest cache key kept.
const LINE_CACHE_MAX_LEN: usize = 1024;

/// Adds rules to the candidates, once each per request.
fn mark(
    stamp: &mut [u32],
    epoch: u32,
    candidates: &mut Vec<SignatureIndex>,
    rules: &[SignatureIndex],
) {
    for &r in rules {
        if stamp[r as usize] != epoch {
            stamp[r as usize] = epoch;
            candidates.push(r);
        }
    }
}

/// Entries kept per header cache before it is cleared (bounds memory whatever the input).
const HEADER_CACHE_ENTRIES: usize = 4096;
/// Longest header value that is cached.
const HEADER_CACHE_MAX_LEN: usize = 512;

type HeaderCache = HashMap<Box<[u8]>, Box<[SignatureIndex]>, foldhash::fast::RandomState>;

impl Scratch {
    /// The prepared (lowercased, decoded) value of a field, as decoded for the last
    /// request that needed decoding: a request line found in the cache with no
    /// candidate to confirm is not decoded again, so read this only after a match.
    pub fn field(&self, f: Field) -> &[u8] {
        &self.fields[f as usize]
    }
}

impl RuleSet {
    /// Compiles signatures (later ones with the same id replace earlier ones).
    pub fn new(sigs: Vec<Signature>) -> RuleSet {
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut uniq: Vec<Signature> = Vec::new();
        for s in sigs {
            if let Some(&i) = by_id.get(&s.id) {
                uniq[i] = s;
            } else {
                by_id.insert(s.id.clone(), uniq.len());
                uniq.push(s);
            }
        }
        let mut pats: Vec<HashMap<Vec<u8>, Vec<SignatureIndex>>> =
            vec![HashMap::new(); Field::COUNT];
        for (i, s) in uniq.iter().enumerate() {
            for c in &s.conditions {
                for lit in c.prefilter_literals() {
                    for f in &c.fields {
                        let e = pats[prefilter_group(*f) as usize]
                            .entry(lit.to_vec())
                            .or_default();
                        if e.last() != Some(&(i as u32)) {
                            e.push(i as u32);
                        }
                    }
                }
            }
        }
        let prefilters = pats
            .into_iter()
            .map(|m| {
                if m.is_empty() {
                    return None;
                }
                let (lits, owners): (Vec<_>, Vec<_>) = m.into_iter().unzip();
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&lits)
                    .expect("literal automaton builds");
                Some((ac, owners))
            })
            .collect();
        RuleSet {
            sigs: uniq,
            prefilters,
        }
    }

    /// Loads the embedded pack plus extra rule directories; bad rules are reported and skipped.
    pub fn load(
        extra_dirs: &[std::path::PathBuf],
        vocab: &crate::Vocabulary,
    ) -> (RuleSet, Vec<RuleError>) {
        let mut sigs = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in crate::EMBEDDED {
            let (s, e) = crate::parse_rule_file(&format!("embedded:{name}"), text, vocab);
            sigs.extend(s);
            errors.extend(e);
        }
        for dir in extra_dirs {
            let mut files: Vec<_> = match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect(),
                Err(e) => {
                    errors.push(RuleError {
                        file: dir.display().to_string(),
                        line: 0,
                        id: None,
                        message: format!("cannot read rule directory: {e}"),
                    });
                    continue;
                }
            };
            files.sort();
            for f in files {
                match std::fs::read_to_string(&f) {
                    Ok(text) => {
                        let (s, e) = crate::parse_rule_file(&f.display().to_string(), &text, vocab);
                        sigs.extend(s);
                        errors.extend(e);
                    }
                    Err(e) => errors.push(RuleError {
                        file: f.display().to_string(),
                        line: 0,
                        id: None,
                        message: format!("cannot read: {e}"),
                    }),
                }
            }
        }
        let mut seen = HashMap::new();
        for s in &sigs {
            if let Some(prev) = seen.insert(s.id.clone(), s.origin.clone()) {
                if prev.starts_with("embedded:") == s.origin.starts_with("embedded:") {
                    errors.push(RuleError {
                        file: s.origin.clone(),
                        line: 0,
                        id: Some(s.id.clone()),
                        message: format!(
                            "duplicate id, also defined at {prev}; the later one wins"
                        ),
                    });
                }
            }
        }
        (RuleSet::new(sigs), errors)
    }

    /// The signatures, indexed by [`SignatureIndex`].
    pub fn signatures(&self) -> &[Signature] {
        &self.sigs
    }

    /// The signature at an index.
    pub fn get(&self, i: SignatureIndex) -> &Signature {
        &self.sigs[i as usize]
    }

    /// Number of signatures.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// True when there is no signature.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// Prepares the fields of `req` in `scratch` (decoding, normalising, lowercasing).
    fn prepare(&self, req: &HttpRequest<'_>, s: &mut Scratch) {
        let target: &[u8] = &req.target;
        let q = memchr::memchr(b'?', target);
        let (mut path, query) = match q {
            Some(i) => (&target[..i], &target[i + 1..]),
            None => (target, &b""[..]),
        };
        // Proxy-form targets (`GET http://host/x`): the path is what follows the host.
        if let Some(rest) = strip_scheme(path) {
            path = memchr::memchr(b'/', rest).map_or(&b""[..], |i| &rest[i..]);
        }
        let [pf, uf, qf, ..] = &mut s.fields;
        decode_into(target, q.unwrap_or(usize::MAX), uf, &mut s.tmp);
        // Only the path counts for the "encoded more than once" heuristic: a query value
        // that is itself a URL with an encoded query (`?next=%2Fa%3Fq%3Dx%2520y`, SSO
        // return addresses) is legitimately encoded twice.
        s.decode_passes = decode_into(path, usize::MAX, &mut s.decoded_path, &mut s.tmp);
        normalize_path(&s.decoded_path, pf);
        decode_into(query, 0, qf, &mut s.tmp);
        s.ready = [true, true, true, false, false, false];
    }

    fn raw_field<'r>(req: &'r HttpRequest<'_>, f: Field) -> &'r [u8] {
        match f {
            Field::UserAgent => &req.user_agent,
            Field::Referer => &req.referer,
            Field::Request => &req.request_line,
            _ => unreachable!("decoded fields are prepared"),
        }
    }

    fn lowered<'s>(req: &HttpRequest<'_>, s: &'s mut Scratch, f: Field) -> &'s [u8] {
        let i = f as usize;
        if !s.ready[i] {
            let buf = &mut s.fields[i];
            buf.clear();
            buf.extend(Self::raw_field(req, f).iter().map(u8::to_ascii_lowercase));
            s.ready[i] = true;
        }
        &s.fields[i]
    }

    /// Appends the indices of the signatures `req` matches to `out` (sorted, unique).
    ///
    /// Prefilter hits are cached per thread: per request line (method, target and
    /// protocol, with the target-only suspicion of [`crate::heuristics`]) and per user
    /// agent and referer, since ordinary traffic repeats them. On a hit nothing is
    /// decoded unless a candidate needs confirming.
    pub fn matches_into(
        &self,
        req: &HttpRequest<'_>,
        s: &mut Scratch,
        out: &mut Vec<SignatureIndex>,
    ) {
        if s.stamp.len() != self.sigs.len() {
            s.stamp = vec![0; self.sigs.len()];
            s.epoch = 0;
        }
        s.epoch = s.epoch.wrapping_add(1);
        if s.epoch == 0 {
            s.stamp.fill(0);
            s.epoch = 1;
        }
        s.candidates.clear();
        s.prepared = false;
        self.line_candidates(req, s);
        for (c, f) in [(0, Field::UserAgent), (1, Field::Referer)] {
            let Some((ac, owners)) = &self.prefilters[f as usize] else {
                continue;
            };
            let hay: &[u8] = Self::raw_field(req, f);
            if hay.len() <= HEADER_CACHE_MAX_LEN {
                if let Some(hits) = s.header_cache[c].get(hay) {
                    mark(&mut s.stamp, s.epoch, &mut s.candidates, hits);
                    continue;
                }
            }
            let mut hits: Vec<SignatureIndex> = Vec::new();
            for m in ac.find_overlapping_iter(hay) {
                for &r in &owners[m.pattern().as_usize()] {
                    if !hits.contains(&r) {
                        hits.push(r);
                    }
                }
            }
            mark(&mut s.stamp, s.epoch, &mut s.candidates, &hits);
            if hay.len() <= HEADER_CACHE_MAX_LEN {
                if s.header_cache[c].len() >= HEADER_CACHE_ENTRIES {
                    s.header_cache[c].clear();
                }
                s.header_cache[c].insert(hay.into(), hits.into_boxed_slice());
            }
        }
        if s.candidates.is_empty() {
            return;
        }
        if !s.prepared {
            self.prepare(req, s);
        }
        let start = out.len();
        let cands = std::mem::take(&mut s.candidates);
        for &r in &cands {
            if self.confirm(&self.sigs[r as usize], req, s) {
                out.push(r);
            }
        }
        s.candidates = cands;
        out[start..].sort_unstable();
    }

    /// Marks the candidates proposed by the request line (path, uri, query and the raw
    /// line), from the cache or by decoding and scanning.
    fn line_candidates(&self, req: &HttpRequest<'_>, s: &mut Scratch) {
        // The request line decides method, target and protocol in access logs; where
        // a format builds them apart (JSON logs), all four make the key.
        let line: &[u8] = &req.request_line;
        let (m, t, p) = (&*req.method, &*req.target, &*req.protocol);
        let whole = !m.is_empty()
            && line.len() == m.len() + 1 + t.len() + if p.is_empty() { 0 } else { 1 + p.len() }
            && line.starts_with(m)
            && &line[m.len() + 1..m.len() + 1 + t.len()] == t
            && line.ends_with(p);
        let mut key = std::mem::take(&mut s.key);
        key.clear();
        if whole || (m.is_empty() && t.is_empty()) {
            key.extend_from_slice(line);
        } else {
            for part in [m, t, p, line] {
                key.extend_from_slice(part);
                key.push(0);
            }
        }
        let cacheable = key.len() <= LINE_CACHE_MAX_LEN;
        if cacheable {
            if let Some(e) = s.line_cache.get(key.as_slice()) {
                s.line_suspicion = e.suspicion;
                mark(&mut s.stamp, s.epoch, &mut s.candidates, &e.hits);
                s.key = key;
                return;
            }
        }
        self.prepare(req, s);
        s.prepared = true;
        let mut hits: Vec<SignatureIndex> = Vec::new();
        let mut add = |ac: &AhoCorasick, owners: &[Vec<SignatureIndex>], hay: &[u8]| {
            for m in ac.find_overlapping_iter(hay) {
                for &r in &owners[m.pattern().as_usize()] {
                    if !hits.contains(&r) {
                        hits.push(r);
                    }
                }
            }
        };
        if let Some((ac, owners)) = &self.prefilters[Field::Uri as usize] {
            // One automaton serves path, uri and query. Usually the uri holds the
            // other two whole, and one scan of it proposes every candidate.
            let (p, u, q) = (&s.fields[0], &s.fields[1], &s.fields[2]);
            add(ac, owners, u);
            if !(u.starts_with(p) && u.ends_with(q)) {
                add(ac, owners, p);
                add(ac, owners, q);
            }
        }
        if let Some((ac, owners)) = &self.prefilters[Field::Request as usize] {
            add(ac, owners, line);
        }
        s.line_suspicion = crate::heuristics::line_suspicion(req, s);
        mark(&mut s.stamp, s.epoch, &mut s.candidates, &hits);
        if cacheable {
            if s.line_cache.len() >= LINE_CACHE_ENTRIES {
                s.line_cache.clear();
            }
            s.line_cache.insert(
                key.as_slice().into(),
                LineEntry {
                    hits: hits.into_boxed_slice(),
                    suspicion: s.line_suspicion,
                },
            );
        }
        s.key = key;
    }

    /// Like [`matches_into`](Self::matches_into) but evaluates every signature exactly,
    /// without the prefilter: slow, the reference the prefilter must agree with.
    pub fn matches_exhaustive_into(
        &self,
        req: &HttpRequest<'_>,
        s: &mut Scratch,
        out: &mut Vec<SignatureIndex>,
    ) {
        self.prepare(req, s);
        s.line_suspicion = crate::heuristics::line_suspicion(req, s);
        for (i, sig) in self.sigs.iter().enumerate() {
            if self.confirm(sig, req, s) {
                out.push(i as SignatureIndex);
            }
        }
    }

    fn confirm(&self, sig: &Signature, req: &HttpRequest<'_>, s: &mut Scratch) -> bool {
        if !sig.methods.is_empty()
            && !sig
                .methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&req.method))
        {
            return false;
        }
        if !sig.status.is_empty() && !sig.status.contains(&req.status) {
            return false;
        }
        sig.conditions.iter().all(|c| {
            c.fields
                .iter()
                .any(|&f| c.holds_on(Self::lowered(req, s, f)))
        })
    }

    /// Runs every signature's examples; returns one message per failure.
    pub fn test_examples(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut s = Scratch::default();
        let mut out = Vec::new();
        for (i, sig) in self.sigs.iter().enumerate() {
            for (ex, want) in sig
                .examples_match
                .iter()
                .map(|e| (e, true))
                .chain(sig.examples_no_match.iter().map(|e| (e, false)))
            {
                out.clear();
                let req = example_request(ex);
                self.matches_into(&req, &mut s, &mut out);
                let got = out.contains(&(i as u32));
                if got != want {
                    failures.push(format!(
                        "{} ({}): {} example `{}`{} {}",
                        sig.id,
                        sig.origin,
                        if want { "match" } else { "no_match" },
                        ex.request,
                        if ex.user_agent.is_empty() {
                            String::new()
                        } else {
                            format!(" (user agent `{}`)", ex.user_agent)
                        },
                        if want { "did not match" } else { "matched" }
                    ));
                }
            }
        }
        failures
    }
}

/// The field whose automaton holds a field's literals: path, uri and query share one.
fn prefilter_group(f: Field) -> Field {
    match f {
        Field::Path | Field::Query => Field::Uri,
        f => f,
    }
}

/// The part after `http://` or `https://` (any case), if the target is in proxy form.
fn strip_scheme(t: &[u8]) -> Option<&[u8]> {
    for scheme in [&b"http://"[..], b"https://"] {
        if t.len() >= scheme.len() && t[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&t[scheme.len()..]);
        }
    }
    None
}

/// Builds the request an example describes.
pub fn example_request(ex: &Example) -> HttpRequest<'_> {
    let line = ex.request.as_bytes();
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (m, t, p) = (parts.next(), parts.next(), parts.next());
    let is_method = m.is_some_and(|m| {
        !m.is_empty()
            && m.iter()
                .all(|b| b.is_ascii_uppercase() || *b == b'_' || *b == b'-')
    });
    let (method, target, protocol) = match (is_method, t) {
        (true, Some(t)) => (m.unwrap(), t, p.unwrap_or(b"")),
        _ => (&b""[..], &b""[..], &b""[..]),
    };
    HttpRequest {
        time: Default::default(),
        source: std::net::IpAddr::from([192, 0, 2, 1]),
        peer: None,
        vhost: Cow::Borrowed(b""),
        request_line: Cow::Borrowed(line),
        method: Cow::Borrowed(method),
        target: Cow::Borrowed(target),
        protocol: Cow::Borrowed(protocol),
        status: ex.status,
        bytes: 0,
        referer: Cow::Borrowed(ex.referer.as_bytes()),
        user_agent: Cow::Borrowed(ex.user_agent.as_bytes()),
        forwarded_for: Cow::Borrowed(b""),
        remote_user: Cow::Borrowed(b""),
    }
}
