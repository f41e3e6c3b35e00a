//! Deterministic, labelled corpus generator for scantriage tests and benchmarks.
//!
//! [`generate`] writes an nginx `combined` access log of a WordPress blog as the
//! internet sees it: readers, crawlers and feed readers, plus the background of
//! scanners probing for software the blog does not run, WordPress-aware scanners,
//! generic exploit kits, credential brute force and non-HTTP junk. Every source address
//! has exactly one [`Role`], returned as [`Label`]s, so detectors can be scored against
//! ground truth. The same [`CorpusConfig`] always yields the same bytes.
//!
//! Addresses used inside payloads (loader and callback hosts) are documentation
//! addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); IPv6 sources come from
//! 2001:db8::/32. The `scantriage-gen` binary wraps [`generate`] for the command line.

#![warn(missing_docs)]

mod clock;
mod content;
mod gen;
mod net;
pub mod netns;
pub mod pcap;
mod rng;

use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use std::str::FromStr;

pub use clock::UTC_OFFSET_SECS;

/// Default start of the corpus: 2025-11-03T00:00:00+01:00, as a unix time.
pub const DEFAULT_START_UNIX: i64 = 1_762_124_400;

/// Default time span of the corpus: three days, in seconds.
pub const DEFAULT_SPAN_SECS: i64 = 3 * 86_400;

/// What to generate: size, seed, optional exploit wave, and the time window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusConfig {
    /// Number of log lines to write.
    pub lines: u64,
    /// Seed of the pseudo-random generator: same seed, same bytes.
    pub seed: u64,
    /// Add, from the middle of the span on, a new exploit wave and a new popular post.
    pub wave: bool,
    /// Unix time of the start of the log.
    pub start_unix: i64,
    /// Length of the log in seconds; line times are spread over `[start, start + span)`.
    pub span_secs: i64,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            lines: 1_000_000,
            seed: 1,
            wave: false,
            start_unix: DEFAULT_START_UNIX,
            span_secs: DEFAULT_SPAN_SECS,
        }
    }
}

/// The ground-truth role of a source address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A person with a browser reading the blog.
    Reader,
    /// A search-engine or SEO crawler.
    Crawler,
    /// A feed reader polling the RSS/Atom feeds.
    Feed,
    /// A scanner probing for software this site does not run.
    ScannerNoise,
    /// A WordPress-aware scanner fingerprinting and probing the blog.
    ScannerWordpress,
    /// An exploit kit sending generic payloads (SQLi, traversal, Log4Shell, ...).
    Exploit,
    /// A credential-guessing bot on wp-login.php and xmlrpc.php.
    Bruteforce,
    /// Non-HTTP bytes sent to the HTTP port (TLS, RDP, ...).
    Junk,
    /// A member of the new exploit wave (only with `wave`).
    Wave,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 9] = [
        Role::Reader,
        Role::Crawler,
        Role::Feed,
        Role::ScannerNoise,
        Role::ScannerWordpress,
        Role::Exploit,
        Role::Bruteforce,
        Role::Junk,
        Role::Wave,
    ];

    /// The role's label as written in label files, e.g. `"scanner-noise"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Crawler => "crawler",
            Role::Feed => "feed",
            Role::ScannerNoise => "scanner-noise",
            Role::ScannerWordpress => "scanner-wordpress",
            Role::Exploit => "exploit",
            Role::Bruteforce => "bruteforce",
            Role::Junk => "junk",
            Role::Wave => "wave",
        }
    }

    /// True for the roles whose traffic is wanted (readers, crawlers, feed readers).
    pub fn is_benign(self) -> bool {
        matches!(self, Role::Reader | Role::Crawler | Role::Feed)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a role name that is not one of [`Role::as_str`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role {:?}", self.0)
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// One source address of the corpus and its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The source address, as it appears at the start of its log lines.
    pub ip: IpAddr,
    /// What the source is.
    pub role: Role,
}

/// Writes the access log (nginx combined) to `out`; returns the labels: one (ip, role) per source, sorted by ip.
///
/// Every address in the log has exactly one label and every label's address occurs in
/// the log. Output is buffered internally; `out` gets large writes.
pub fn generate(cfg: &CorpusConfig, out: &mut dyn Write) -> io::Result<Vec<Label>> {
    gen::Generator::new(cfg).run(out)
}

/// Generates the corpus into memory: the log bytes and the labels.
pub fn generate_bytes(cfg: &CorpusConfig) -> (Vec<u8>, Vec<Label>) {
    let mut log = Vec::with_capacity((cfg.lines as usize).saturating_mul(170));
    let labels = generate(cfg, &mut log).expect("writing to a Vec cannot fail");
    (log, labels)
}

/// Writes labels as JSON lines: `{"ip": "192.0.2.1", "role": "reader"}`.
pub fn write_labels(labels: &[Label], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(labels.len() * 48);
    for l in labels {
        writeln!(buf, "{{\"ip\": \"{}\", \"role\": \"{}\"}}", l.ip, l.role)?;
    }
    out.write_all(&buf)
}
