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
pub mod logins;
pub mod netfilter;
pub mod pcap;
pub mod pcap_http;
pub mod sshd;
pub mod syslog;
mod timefmt;

pub use chunk::{Chunk, ChunkReader, Line, Lines, CHUNK_SIZE, MAX_LINE};
pub use error::{InputError, InputErrorKind, ParseError, ParseErrorKind};
pub use input::{open_input, order_rotated};
pub use json::JsonFields;
pub use logins::{login_service, parse_login};
pub use netfilter::{parse_netfilter, PrefixActions};
pub use scantriage_core::{AuthEvent, HttpRequest, PacketEvent};
pub use sshd::parse_sshd;
pub use syslog::{parse_envelope, Envelope, SyslogContext};

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

/// Every input format: access logs, system logs (sshd, netfilter), packet captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// An access log.
    Web(LogFormat),
    /// sshd messages (syslog, RFC 3339 or journal JSON); other lines are skipped.
    Sshd,
    /// Netfilter log lines (syslog, RFC 3339 or journal JSON); other lines are skipped.
    Netfilter,
    /// A system log with any of the messages read: sshd, netfilter, and the mail and FTP
    /// servers' (postfix, exim, dovecot, vsftpd, proftpd, pure-ftpd); other lines are
    /// skipped.
    Syslog,
    /// A pcap or pcapng capture.
    Pcap,
}

impl InputFormat {
    /// The format's name, as `--log-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Web(f) => f.name(),
            InputFormat::Sshd => "sshd",
            InputFormat::Netfilter => "netfilter",
            InputFormat::Syslog => "syslog",
            InputFormat::Pcap => "pcap",
        }
    }

    /// Whether lines are parsed by [`SystemParser`].
    pub fn is_system(self) -> bool {
        matches!(
            self,
            InputFormat::Sshd | InputFormat::Netfilter | InputFormat::Syslog
        )
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for InputFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sshd" | "auth" => Ok(InputFormat::Sshd),
            "netfilter" | "iptables" | "nftables" => Ok(InputFormat::Netfilter),
            "syslog" | "journal" => Ok(InputFormat::Syslog),
            "pcap" | "pcapng" => Ok(InputFormat::Pcap),
            _ => s.parse().map(InputFormat::Web),
        }
    }
}

/// An event from a system log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemEvent<'a> {
    /// A login service's message about a client (sshd, mail or FTP server).
    Auth(AuthEvent<'a>),
    /// A logged packet.
    Packet(PacketEvent),
}

/// Parses system-log lines: sshd, netfilter, mail and FTP messages, by program tag.
#[derive(Debug, Clone)]
pub struct SystemParser {
    /// Which messages to read ([`InputFormat::Sshd`], `Netfilter` or `Syslog`).
    pub format: InputFormat,
    /// Dating of traditional syslog prefixes.
    pub ctx: SyslogContext,
    /// Netfilter log prefixes to actions.
    pub actions: PrefixActions,
}

impl SystemParser {
    /// Parses one line: `Ok(None)` for a well-formed line that is not an event this
    /// format reads (another program's message). Never panics.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<Option<SystemEvent<'a>>, ParseError> {
        if line.len() > MAX_PARSE_LINE {
            return Err(ParseError::at(ParseErrorKind::TooLong, MAX_PARSE_LINE));
        }
        let env = parse_envelope(line, &self.ctx)?;
        let want_sshd = matches!(self.format, InputFormat::Sshd | InputFormat::Syslog);
        let want_nf = matches!(self.format, InputFormat::Netfilter | InputFormat::Syslog);
        if want_sshd && sshd::is_sshd(&env.program) {
            return Ok(parse_sshd(line, &self.ctx)?.map(SystemEvent::Auth));
        }
        if want_nf && netfilter::looks_like_netfilter(&env.message) {
            return Ok(parse_netfilter(line, &self.ctx, &self.actions)?.map(SystemEvent::Packet));
        }
        if self.format == InputFormat::Syslog && logins::login_service(&env.program).is_some() {
            return Ok(logins::login_from_envelope(env)?.map(SystemEvent::Auth));
        }
        Ok(None)
    }
}

/// Whether the first bytes of an input are a pcap or pcapng file header.
pub fn is_capture(first_bytes: &[u8]) -> bool {
    matches!(
        first_bytes.get(..4),
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
    )
}

/// Guesses any input's format from its first bytes and lines: a capture by its magic
/// number; a system log when at least as many of the first 20 non-empty lines have a
/// syslog or journal envelope (or are dovecot, vsftpd or exim log file lines) as parse as
/// an access log (`sshd` or `netfilter` when only one kind of message is seen among the
/// first 50 lines, else `syslog`); else
/// [`detect_format`].
pub fn detect_input(first_bytes: &[u8], lines: &[&[u8]]) -> Option<InputFormat> {
    if is_capture(first_bytes) {
        return Some(InputFormat::Pcap);
    }
    let ctx = SyslogContext::default();
    let nonempty = || {
        lines
            .iter()
            .map(|l| l.trim_ascii())
            .filter(|l| !l.is_empty())
    };
    let mut system = 0usize;
    let (mut ssh, mut nf, mut other) = (false, false, false);
    for (i, l) in nonempty().take(50).enumerate() {
        if let Ok(e) = parse_envelope(l, &ctx) {
            system += usize::from(i < 20);
            ssh |= sshd::is_sshd(&e.program);
            nf |= netfilter::looks_like_netfilter(&e.message);
            other |= logins::login_service(&e.program).is_some();
        }
    }
    let web = detect_format(lines);
    let web_votes = match web {
        Some(f) => {
            let p = Parser::new(ParserConfig::new(f));
            nonempty().take(20).filter(|l| p.parse(l).is_ok()).count()
        }
        None => 0,
    };
    if system > 0 && system >= web_votes {
        return Some(match (ssh, nf, other) {
            (true, false, false) => InputFormat::Sshd,
            (false, true, false) => InputFormat::Netfilter,
            _ => InputFormat::Syslog,
        });
    }
    web.map(InputFormat::Web)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_system_logs_and_captures() {
        let ssh: &[u8] = b"Nov  3 00:00:01 h sshd[1]: Invalid user a from 192.0.2.1 port 2";
        let nf: &[u8] = b"Nov  3 00:00:01 h kernel: [1.0] DROP IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2 PROTO=TCP SPT=1 DPT=2 SYN";
        let other: &[u8] = b"Nov  3 00:00:01 h cron[2]: (root) CMD (true)";
        let j: &[u8] = br#"{"__REALTIME_TIMESTAMP":"1762124401000000","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"x"}"#;
        let web: &[u8] =
            br#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
        assert_eq!(detect_input(b"", &[ssh, other]), Some(InputFormat::Sshd));
        assert_eq!(
            detect_input(b"", &[nf, other]),
            Some(InputFormat::Netfilter)
        );
        assert_eq!(detect_input(b"", &[nf, ssh]), Some(InputFormat::Syslog));
        assert_eq!(detect_input(b"", &[other]), Some(InputFormat::Syslog));
        assert_eq!(detect_input(b"", &[j]), Some(InputFormat::Sshd));
        assert_eq!(
            detect_input(b"", &[web, web]),
            Some(InputFormat::Web(LogFormat::Combined))
        );
        assert_eq!(
            detect_input(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0], &[]),
            Some(InputFormat::Pcap)
        );
        assert_eq!(
            detect_input(&[0x0a, 0x0d, 0x0d, 0x0a], &[]),
            Some(InputFormat::Pcap)
        );
        for n in ["sshd", "netfilter", "syslog", "pcap", "combined", "caddy"] {
            assert_eq!(n.parse::<InputFormat>().unwrap().name(), n);
        }
    }

    #[test]
    fn detects_mail_and_ftp_logs_as_system_logs() {
        let mail: &[&[u8]] = &[
            b"Nov 25 10:00:01 mx postfix/smtpd[1]: connect from unknown[203.0.113.5]",
            b"Nov 25 10:00:01 mx postfix/smtpd[1]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            b"Nov 25 10:00:02 mx dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=192.0.2.4, lip=192.0.2.1",
        ];
        assert_eq!(detect_input(b"", mail), Some(InputFormat::Syslog));
        let vsftpd: &[&[u8]] = &[
            b"Wed Nov 25 10:00:01 2026 [pid 2] CONNECT: Client \"::ffff:203.0.113.5\"",
            b"Wed Nov 25 10:00:03 2026 [pid 1] [x] FAIL LOGIN: Client \"::ffff:203.0.113.5\"",
        ];
        assert_eq!(detect_input(b"", vsftpd), Some(InputFormat::Syslog));
        let dovecot: &[&[u8]] = &[
            b"Nov 25 10:00:01 master: Info: Dovecot v2.3.19.1 starting up for imap",
            b"Nov 25 10:00:02 imap-login: Info: Login: user=<a>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1",
        ];
        assert_eq!(detect_input(b"", dovecot), Some(InputFormat::Syslog));
        let exim: &[&[u8]] = &[
            b"2026-11-25 10:00:01 dovecot_login authenticator failed for (x) [203.0.113.5]:1: 535 Incorrect authentication data (set_id=a)",
        ];
        assert_eq!(detect_input(b"", exim), Some(InputFormat::Syslog));
        // sshd alone stays sshd; sshd with mail is a syslog.
        let ssh: &[u8] = b"Nov  3 00:00:01 h sshd[1]: Invalid user a from 192.0.2.1 port 2";
        assert_eq!(detect_input(b"", &[ssh]), Some(InputFormat::Sshd));
        assert_eq!(
            detect_input(b"", &[ssh, mail[1]]),
            Some(InputFormat::Syslog)
        );
    }

    #[test]
    fn system_parser_dispatches_by_program() {
        let p = SystemParser {
            format: InputFormat::Syslog,
            ctx: SyslogContext::default(),
            actions: PrefixActions::default(),
        };
        let ssh: &[u8] = b"Nov  3 00:00:01 h sshd[1]: Invalid user a from 192.0.2.1 port 2";
        let nf: &[u8] = b"Nov  3 00:00:01 h kernel: DROP IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2 PROTO=UDP SPT=1 DPT=53";
        assert!(matches!(p.parse(ssh), Ok(Some(SystemEvent::Auth(_)))));
        assert!(matches!(p.parse(nf), Ok(Some(SystemEvent::Packet(_)))));
        assert_eq!(p.parse(b"Nov  3 00:00:01 h cron[2]: x"), Ok(None));
        assert!(p.parse(b"garbage").is_err());
        let only_ssh = SystemParser {
            format: InputFormat::Sshd,
            ..p
        };
        assert_eq!(only_ssh.parse(nf), Ok(None));
    }

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
