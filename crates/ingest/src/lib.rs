//! Inputs and access-log parsers: bytes in, [`HttpRequest`] events out.
//!
//! Design: reading and parsing are separate. [`open_input`] opens a file or stdin and
//! decompresses gzip or zstd by magic bytes; [`order_rotated`] puts a rotated set in
//! time order; [`ChunkReader`] cuts the stream into ~1 MiB [`Chunk`]s of whole lines so
//! that chunks can be parsed on several threads, with every line length capped. A
//! [`Parser`] turns one line into an event.
//!
//! Contract:
//! - `Parser::parse` never panics, whatever the bytes; a line that does not parse gives a
//!   [`ParseError`] with its kind and 1-based byte column, so the caller can count it,
//!   show it and go on. Junk that still has the log's shape (a TLS handshake sent to
//!   port 80) parses as an event whose request line is not HTTP.
//! - The `combined` parser is the hot path: hand-written over bytes, no allocation, every
//!   field borrowed from the line and kept as logged (escapes such as `\x16` and `\"` are
//!   not decoded). JSON parsers allocate and hand out owned fields.
//! - Fields a format does not record are empty and `-` means empty; an unknown status or
//!   size is 0.
//! - The source address is resolved through trusted proxies here, once, for every format.
//! - `ChunkReader` returns every complete line before reporting a read error (such as a
//!   truncated gzip stream), and chunk offsets are checkpoints to resume from.

#![warn(missing_docs)]

mod chunk;
mod combined;
mod error;
mod input;
mod json;
mod timefmt;

pub use chunk::{Chunk, ChunkReader, Line, Lines, CHUNK_SIZE, MAX_LINE};
pub use error::{InputError, InputErrorKind, ParseError, ParseErrorKind};
pub use input::{open_input, order_rotated};
pub use json::JsonFields;
pub use scantriage_core::HttpRequest;

use ipnet::IpNet;
use std::net::IpAddr;

/// Lines longer than this (1 MiB) are refused by [`Parser::parse`] with `TooLong`.
pub const MAX_PARSE_LINE: usize = 1 << 20;

/// Access-log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// nginx / Apache `combined` or `common`, with or without a virtual-host prefix and
    /// with any trailing extra fields.
    Combined,
    /// nginx `escape=json` logs with configurable keys ([`JsonFields`]).
    NginxJson,
    /// Caddy's structured access log.
    Caddy,
}

impl LogFormat {
    /// All formats, in the order [`detect_format`] prefers them on a tie.
    pub const ALL: [LogFormat; 3] = [LogFormat::Combined, LogFormat::Caddy, LogFormat::NginxJson];

    /// The format's name: `combined`, `nginx-json` or `caddy`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Combined => "combined",
            LogFormat::NginxJson => "nginx-json",
            LogFormat::Caddy => "caddy",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format `{0}` (expected combined, common, nginx-json, json or caddy)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for LogFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "combined" | "common" => Ok(LogFormat::Combined),
            "nginx-json" | "json" => Ok(LogFormat::NginxJson),
            "caddy" => Ok(LogFormat::Caddy),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// How to parse: the format, JSON key names, and the proxies whose forwarded-for to trust.
#[derive(Debug, Clone)]
pub struct ParserConfig {
    /// The log format.
    pub format: LogFormat,
    /// Key names for [`LogFormat::NginxJson`].
    pub json: JsonFields,
    /// Prefixes of reverse proxies; their X-Forwarded-For names the real client.
    pub trusted_proxies: Vec<IpNet>,
}

impl ParserConfig {
    /// A configuration for `format` with default keys and no trusted proxies.
    pub fn new(format: LogFormat) -> ParserConfig {
        ParserConfig {
            format,
            json: JsonFields::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Turns one log line into an [`HttpRequest`].
#[derive(Debug, Clone)]
pub struct Parser {
    cfg: ParserConfig,
}

impl Parser {
    /// Builds a parser.
    pub fn new(cfg: ParserConfig) -> Parser {
        Parser { cfg }
    }

    /// The format this parser reads.
    pub fn format(&self) -> LogFormat {
        self.cfg.format
    }

    /// Parses one line (without its trailing `\n` / `\r\n`). Never panics on any bytes.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<HttpRequest<'a>, ParseError> {
        if line.len() > MAX_PARSE_LINE {
            return Err(ParseError::at(ParseErrorKind::TooLong, MAX_PARSE_LINE));
        }
        let mut req = match self.cfg.format {
            LogFormat::Combined => combined::parse(line)?,
            LogFormat::NginxJson => json::parse_nginx(line, &self.cfg.json)?,
            LogFormat::Caddy => json::parse_caddy(line)?,
        };
        // A peer already set means the format resolved the client itself (Caddy).
        let proxies = &self.cfg.trusted_proxies;
        if !proxies.is_empty() && req.peer.is_none() && !req.forwarded_for.is_empty() {
            let peer = req.source;
            if let Some(client) = resolve_forwarded(peer, &req.forwarded_for, proxies) {
                req.source = client;
                req.peer = Some(peer);
            }
        }
        Ok(req)
    }
}

/// Parses one X-Forwarded-For entry: an address, optionally with a port or brackets.
fn parse_forwarded_entry(e: &[u8]) -> Option<IpAddr> {
    let e = e.trim_ascii();
    if let Some(ip) = combined::parse_ip(e) {
        return Some(ip);
    }
    let s = std::str::from_utf8(e).ok()?;
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return combined::parse_ip(inner.as_bytes());
    }
    let (host, port) = s.rsplit_once(':')?;
    if port.bytes().all(|c| c.is_ascii_digit()) && !host.contains(':') {
        return combined::parse_ip(host.as_bytes());
    }
    None
}

/// The client behind a trusted peer: the right-most forwarded-for address that is not a
/// trusted proxy. `None` when the peer is not trusted, every entry is trusted, or the
/// right-most untrusted entry is not an address.
pub fn resolve_forwarded(peer: IpAddr, forwarded_for: &[u8], trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return None;
    }
    for entry in forwarded_for.rsplit(|&c| c == b',') {
        let ip = parse_forwarded_entry(entry)?;
        if !is_trusted(&ip) {
            return Some(ip);
        }
    }
    None
}

/// Guesses the format from the first lines of an input: empty lines are skipped, and up
/// to 20 lines vote. `None` when no line looks like any known format.
pub fn detect_format(lines: &[&[u8]]) -> Option<LogFormat> {
    let parsers = LogFormat::ALL.map(|f| Parser::new(ParserConfig::new(f)));
    let mut votes = [0usize; 3];
    for line in lines
        .iter()
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .take(20)
    {
        if let Some(k) = parsers.iter().position(|p| p.parse(line).is_ok()) {
            votes[k] += 1;
        } else if line.starts_with(b"{") {
            // A JSON object that the defaults do not read: Caddy if it has its nested
            // request object, else nginx JSON with custom keys.
            let caddyish = memchr::memmem::find(line, b"\"request\":{").is_some()
                || memchr::memmem::find(line, b"\"request\": {").is_some();
            votes[if caddyish { 1 } else { 2 }] += 1;
        }
    }
    let best = (0..3).max_by_key(|&k| (votes[k], std::cmp::Reverse(k)))?;
    (votes[best] > 0).then_some(LogFormat::ALL[best])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(format: LogFormat, proxies: &[&str]) -> Parser {
        Parser::new(ParserConfig {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            ..ParserConfig::new(format)
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn format_names_round_trip() {
        for f in LogFormat::ALL {
            assert_eq!(f.name().parse::<LogFormat>().unwrap(), f);
        }
        assert_eq!("common".parse::<LogFormat>().unwrap(), LogFormat::Combined);
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::NginxJson);
        assert!("syslog".parse::<LogFormat>().is_err());
    }

    #[test]
    fn trusted_proxy_resolution() {
        let p = cfg(LogFormat::Combined, &["10.0.0.0/8", "2001:db8:ffff::/48"]);
        let line = |addr: &str, xff: &str| {
            format!(
                r#"{addr} - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "{xff}""#
            )
        };
        // Right-most untrusted entry wins; trusted hops are skipped; ports are dropped.
        let l = line("10.0.0.5", "198.51.100.1, 203.0.113.9:4444, 10.0.0.7");
        let r = p.parse(l.as_bytes()).unwrap();
        assert_eq!(
            (r.source, r.peer),
            (ip("203.0.113.9"), Some(ip("10.0.0.5")))
        );
        // An untrusted peer's forwarded-for is ignored.
        let l = line("192.0.2.1", "198.51.100.1");
        let r = p.parse(l.as_bytes()).unwrap();
        assert_eq!((r.source, r.peer), (ip("192.0.2.1"), None));
        // All entries trusted: stay with the peer.
        let l = line("10.0.0.5", "10.1.1.1");
        let r = p.parse(l.as_bytes()).unwrap();
        assert_eq!((r.source, r.peer), (ip("10.0.0.5"), None));
        // IPv6 proxy and bracketed client.
        let l = line("2001:db8:ffff::1", "[2001:db8::42]:443");
        let r = p.parse(l.as_bytes()).unwrap();
        assert_eq!(r.source, ip("2001:db8::42"));
        // No trusted proxies configured: nothing changes.
        let l = line("10.0.0.5", "198.51.100.1");
        let r = cfg(LogFormat::Combined, &[]).parse(l.as_bytes()).unwrap();
        assert_eq!((r.source, r.peer), (ip("10.0.0.5"), None));
    }

    #[test]
    fn trusted_proxy_garbage_entry_keeps_the_peer() {
        let nets: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve_forwarded(ip("10.0.0.1"), b"1.2.3.4, unknown", &nets),
            None
        );
        assert_eq!(
            resolve_forwarded(ip("10.0.0.1"), b"unknown, 1.2.3.4", &nets),
            Some(ip("1.2.3.4"))
        );
    }

    #[test]
    fn trusted_proxy_for_json() {
        let p = cfg(LogFormat::NginxJson, &["127.0.0.1/32"]);
        let l = br#"{"remote_addr":"127.0.0.1","time_local":"03/Nov/2025:00:00:01 +0100","request":"GET / HTTP/1.1","status":"200","http_x_forwarded_for":"192.0.2.77"}"#;
        let r = p.parse(l).unwrap();
        assert_eq!(
            (r.source, r.peer),
            (ip("192.0.2.77"), Some(ip("127.0.0.1")))
        );
    }

    #[test]
    fn too_long_is_refused() {
        let p = cfg(LogFormat::Combined, &[]);
        let big = vec![b'a'; MAX_PARSE_LINE + 1];
        assert_eq!(p.parse(&big).unwrap_err().kind, ParseErrorKind::TooLong);
    }

    #[test]
    fn detects_each_format() {
        let combined: &[u8] =
            br#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
        let nginx: &[u8] = br#"{"remote_addr":"192.0.2.1","time_local":"03/Nov/2025:00:00:01 +0000","request":"GET / HTTP/1.1","status":"200"}"#;
        let custom: &[u8] = br#"{"ip":"192.0.2.1","when":"x"}"#;
        let caddy: &[u8] = br#"{"ts":1730592001.1,"request":{"remote_ip":"192.0.2.1","method":"GET","uri":"/"},"status":200}"#;
        assert_eq!(
            detect_format(&[b"", combined, b"junk", combined]),
            Some(LogFormat::Combined)
        );
        assert_eq!(
            detect_format(&[nginx, nginx, combined]),
            Some(LogFormat::NginxJson)
        );
        assert_eq!(detect_format(&[custom]), Some(LogFormat::NginxJson));
        assert_eq!(detect_format(&[caddy, b"\n"]), Some(LogFormat::Caddy));
        assert_eq!(detect_format(&[b"hello", b""]), None);
        assert_eq!(detect_format(&[]), None);
    }
}
