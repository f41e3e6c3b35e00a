//! Plain data types that every scantriage stage exchanges.
//!
//! Data flows one way: ingest produces [`HttpRequest`] events, detect attaches
//! signature matches, assess turns them into [`Finding`]s with a [`Verdict`] and
//! per-source [`Decision`]s, and the store and report stages consume those. This crate
//! does no I/O and has no opinion on formats; it only fixes the vocabulary of
//! `DESIGN.md` as types. Events borrow from the input buffer so that the hot path
//! allocates nothing per line.

#![warn(missing_docs)]

pub mod cdn;
mod level;
mod net;
mod person;
mod time;

pub use level::{Category, DecisionKind, Severity, Verdict};
pub use net::{
    AuthEvent, AuthKind, AuthService, ConnOutcome, FirewallAction, LoginSummary, PacketEvent,
    Proto, ScanSummary, ScanTechnique, SshSummary, TcpFlags,
};
pub use person::{
    glob_match, request_path, PersonAction, PersonVerdict, Suppressions, VerdictError, VerdictScope,
};
pub use time::Timestamp;

use std::borrow::Cow;
use std::net::IpAddr;

/// Where an event came from: the input's index in the run and its line number (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Provenance {
    /// Index of the input in the run's list of inputs.
    pub input: u32,
    /// Line number within the input, counting from 1.
    pub line: u64,
}

/// One HTTP request as recorded in an access log, borrowing from the input line.
///
/// Fields that a format does not record are empty (`b""`), and `status` is 0 when
/// unknown. `Cow` lets JSON parsers hand out unescaped copies where they must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    /// Time of the request, with the offset the log recorded.
    pub time: Timestamp,
    /// Client address (already resolved through trusted proxies, when configured).
    pub source: IpAddr,
    /// Address of the direct peer when it differs from `source` (proxy), else `None`.
    pub peer: Option<IpAddr>,
    /// Virtual host, when the log records one.
    pub vhost: Cow<'a, [u8]>,
    /// The request line exactly as logged (may be binary junk).
    pub request_line: Cow<'a, [u8]>,
    /// The method (`GET`), or empty when the request line is not HTTP.
    pub method: Cow<'a, [u8]>,
    /// The raw request target (`/path?query`), not decoded.
    pub target: Cow<'a, [u8]>,
    /// The protocol (`HTTP/1.1`), or empty.
    pub protocol: Cow<'a, [u8]>,
    /// Response status code, 0 when unknown.
    pub status: u16,
    /// Response body size in bytes.
    pub bytes: u64,
    /// Referer header, empty when `-` or absent.
    pub referer: Cow<'a, [u8]>,
    /// User-Agent header, empty when `-` or absent.
    pub user_agent: Cow<'a, [u8]>,
    /// X-Forwarded-For value as logged, when present.
    pub forwarded_for: Cow<'a, [u8]>,
    /// The user name of HTTP authentication as logged (`$remote_user`), empty when `-`
    /// or absent. Attacker-controlled bytes.
    pub remote_user: Cow<'a, [u8]>,
}

impl HttpRequest<'_> {
    /// True when the request line parsed as `METHOD TARGET [PROTOCOL]`.
    pub fn is_http(&self) -> bool {
        !self.method.is_empty()
    }

    /// Converts into an owned event that no longer borrows the input.
    pub fn into_owned(self) -> HttpRequest<'static> {
        HttpRequest {
            time: self.time,
            source: self.source,
            peer: self.peer,
            vhost: Cow::Owned(self.vhost.into_owned()),
            request_line: Cow::Owned(self.request_line.into_owned()),
            method: Cow::Owned(self.method.into_owned()),
            target: Cow::Owned(self.target.into_owned()),
            protocol: Cow::Owned(self.protocol.into_owned()),
            status: self.status,
            bytes: self.bytes,
            referer: Cow::Owned(self.referer.into_owned()),
            user_agent: Cow::Owned(self.user_agent.into_owned()),
            forwarded_for: Cow::Owned(self.forwarded_for.into_owned()),
            remote_user: Cow::Owned(self.remote_user.into_owned()),
        }
    }
}

/// Index of a signature in the loaded rule set.
pub type SignatureIndex = u32;

/// A request that matched at least one signature (or a heuristic), with its verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// When the request was made.
    pub time: Timestamp,
    /// Client address.
    pub source: IpAddr,
    /// Input name and line of the evidence.
    pub input: String,
    /// Line number within the input.
    pub line: u64,
    /// Method, target and status, as a person would read them (control bytes escaped).
    pub request: String,
    /// Response status.
    pub status: u16,
    /// User agent (control bytes escaped).
    pub user_agent: String,
    /// Ids of the signatures that decided the verdict.
    pub signatures: Vec<String>,
    /// CVE ids named by those signatures.
    pub cves: Vec<String>,
    /// The worst category among the deciding signatures.
    pub category: Category,
    /// The verdict for this request.
    pub verdict: Verdict,
    /// Why the verdict was given, in words.
    pub why: String,
}

/// What to do about one source address, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// The source address.
    pub source: IpAddr,
    /// `ignore`, `watch` or `block`.
    pub kind: DecisionKind,
    /// How long the decision holds, in seconds (0 for `ignore`).
    pub duration_secs: u64,
    /// Evidence a person can check, one sentence each.
    pub reasons: Vec<String>,
    /// Who made it: `policy` or a person's name.
    pub by: String,
    /// Time of the event that triggered the decision.
    pub at: Timestamp,
}

/// Everything one run concluded about one source address: the per-source JSON object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceSummary {
    /// The source address.
    pub ip: IpAddr,
    /// What to do about it.
    pub decision: DecisionKind,
    /// The worst verdict among its findings, or `benign`.
    pub verdict: Verdict,
    /// Events (requests) seen from it.
    pub events: u64,
    /// Events that became findings (verdict other than benign).
    pub findings: u64,
    /// Ids of the signatures it matched, sorted.
    pub signatures: Vec<String>,
    /// CVE ids named by those signatures, sorted.
    pub cves: Vec<String>,
    /// Why the decision was made, one sentence each.
    pub reasons: Vec<String>,
    /// Time of its first event.
    pub first_seen: Timestamp,
    /// Time of its last event.
    pub last_seen: Timestamp,
    /// How long the decision holds, in seconds (0 for `ignore`).
    pub duration_secs: u64,
    /// Event counts per verdict, indexed like [`Verdict::ALL`].
    pub by_verdict: [u64; 5],
    /// The port scan detected from it (firewall logs, captures), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_scan: Option<ScanSummary>,
    /// What it did against sshd, when it appears in sshd logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSummary>,
    /// What it did against the other login services (SMTP AUTH, IMAP/POP3, FTP), one
    /// object per service it appears in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<LoginSummary>,
}

/// Renders attacker-controlled bytes safely for people: printable ASCII and valid
/// non-control UTF-8 stay, everything else (control bytes, ANSI escapes, invalid
/// UTF-8) becomes `\xNN`, and the result is cut to `max` characters (with `…`).
pub fn escape_for_display(bytes: &[u8], max: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len().min(max) + 8);
    let mut count = 0usize;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if count >= max {
                out.push('…');
                return out;
            }
            if c.is_control() {
                for b in c.to_string().bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else {
                out.push(c);
            }
            count += 1;
        }
        for b in chunk.invalid() {
            if count >= max {
                out.push('…');
                return out;
            }
            let _ = write!(out, "\\x{b:02x}");
            count += 1;
        }
    }
    out
}

#[cfg(test)]
mod escape_tests {
    use super::escape_for_display;

    #[test]
    fn control_bytes_and_invalid_utf8_are_escaped() {
        assert_eq!(
            escape_for_display(b"GET /a\x1b[31mred", 100),
            "GET /a\\x1b[31mred"
        );
        assert_eq!(escape_for_display(b"\xff\xfeok", 100), "\\xff\\xfeok");
        assert_eq!(escape_for_display("caf\u{e9}".as_bytes(), 100), "caf\u{e9}");
        assert_eq!(escape_for_display(b"abcdef", 3), "abc…");
        assert_eq!(escape_for_display("\u{9b}x".as_bytes(), 10), "\\xc2\\x9bx");
    }
}
