//! The nginx / Apache `combined` and `common` parser: the hot path.
//!
//! Layout: `[VHOST[:PORT] ]ADDR IDENT USER [TIME] "REQUEST" STATUS SIZE ["REFERER" "UA"] [EXTRA...]`.
//! Hand-written over bytes with memchr; every field borrows from the line.

use crate::error::{ParseError, ParseErrorKind as K};
use crate::timefmt;
use memchr::{memchr, memchr2, memrchr};
use scantriage_core::HttpRequest;
use std::borrow::Cow;
use std::net::IpAddr;

/// Parses an address written as text; IPv4-mapped IPv6 becomes IPv4.
#[inline]
pub(crate) fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    if b.is_empty() || b.len() > 45 {
        return None;
    }
    if b.len() <= 15 {
        if let Some(v4) = parse_ipv4(b) {
            return Some(IpAddr::V4(v4));
        }
    }
    let s = std::str::from_utf8(b).ok()?;
    s.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

/// Fast path for dotted-quad IPv4 (no leading zeros beyond a lone `0`, as std requires).
#[inline]
fn parse_ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut k = 0;
    let mut val: u32 = 0;
    let mut digits = 0;
    for &c in b {
        if c.is_ascii_digit() {
            if digits > 0 && val == 0 {
                return None;
            }
            val = val * 10 + u32::from(c - b'0');
            digits += 1;
            if digits > 3 || val > 255 {
                return None;
            }
        } else if c == b'.' && digits > 0 && k < 3 {
            octets[k] = val as u8;
            k += 1;
            val = 0;
            digits = 0;
        } else {
            return None;
        }
    }
    if k != 3 || digits == 0 {
        return None;
    }
    octets[3] = val as u8;
    Some(octets.into())
}

/// Finds the closing quote of a field whose opening quote is at `open`; a quote preceded
/// by an odd number of backslashes is escaped. Returns the closing quote's index.
#[inline]
pub(crate) fn closing_quote(line: &[u8], open: usize) -> Option<usize> {
    let mut from = open + 1;
    loop {
        let q = from + memchr(b'"', line.get(from..)?)?;
        let mut bs = 0;
        while q - bs > from && line[q - bs - 1] == b'\\' {
            bs += 1;
        }
        if bs % 2 == 0 {
            return Some(q);
        }
        from = q + 1;
    }
}

/// A field value where `-` means absent.
#[inline]
fn dash_empty(b: &[u8]) -> &[u8] {
    if b == b"-" {
        b""
    } else {
        b
    }
}

/// True for method tokens: an ASCII capital, then capitals, digits, `-` or `_`, 20 bytes at most.
#[inline]
fn is_method(b: &[u8]) -> bool {
    match b.split_first() {
        Some((first, rest)) if first.is_ascii_uppercase() && b.len() <= 20 => rest
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_'),
        _ => false,
    }
}

/// Splits `METHOD TARGET [HTTP/x]`; returns empty parts when the line does not look so.
#[inline]
pub(crate) fn split_request(req: &[u8]) -> (&[u8], &[u8], &[u8]) {
    const NONE: (&[u8], &[u8], &[u8]) = (b"", b"", b"");
    let Some(sp) = memchr(b' ', req) else {
        return NONE;
    };
    let (method, rest) = (&req[..sp], &req[sp + 1..]);
    if !is_method(method) || rest.is_empty() || rest[0] == b' ' {
        return NONE;
    }
    match memrchr(b' ', rest) {
        None => (method, rest, b""),
        Some(sp2) => {
            let proto = &rest[sp2 + 1..];
            let target = &rest[..sp2];
            if proto.starts_with(b"HTTP/") && !target.is_empty() && proto.len() <= 16 {
                (method, target.strip_suffix(b" ").unwrap_or(target), proto)
            } else {
                NONE
            }
        }
    }
}

/// True when a trailing quoted field looks like a list of addresses (X-Forwarded-For).
#[inline]
fn looks_like_addresses(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter().any(|c| c.is_ascii_digit())
        && b.iter().any(|&c| c == b'.' || c == b':')
        && b.iter()
            .all(|&c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b',' | b' ' | b'[' | b']'))
}

/// Drops a `:port` suffix from a virtual host (`example.org:443`, `[::1]:443`).
#[inline]
fn strip_port(v: &[u8]) -> &[u8] {
    if let Some(c) = memrchr(b':', v) {
        let (host, port) = (&v[..c], &v[c + 1..]);
        let digits = !port.is_empty() && port.len() <= 5 && port.iter().all(u8::is_ascii_digit);
        if digits && (memchr(b':', host).is_none() || host.ends_with(b"]")) {
            return host;
        }
    }
    v
}

/// Parses a decimal number, `-` as zero.
#[inline]
fn number(b: &[u8]) -> Option<u64> {
    if b == b"-" {
        return Some(0);
    }
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// Index of the next byte at or after `i` that is not a space.
#[inline]
fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Index of the next space (or the end) at or after `i`.
#[inline]
fn token_end(line: &[u8], i: usize) -> usize {
    match line.get(i..).and_then(|r| memchr(b' ', r)) {
        Some(n) => i + n,
        None => line.len(),
    }
}

/// Parses one combined/common line. `source` is the logged client address; proxies are
/// resolved by the caller.
pub(crate) fn parse(line: &[u8]) -> Result<HttpRequest<'_>, ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let start = skip_spaces(line, 0);
    if line[start..].iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::at(K::Empty, 0));
    }

    // Prefix fields before the timestamp: ADDR IDENT USER, or VHOST ADDR IDENT USER.
    // The timestamp's bracket follows a space (a bracketed IPv6 vhost may come first).
    let mut from = start;
    let lb = loop {
        match line.get(from..).and_then(|r| memchr(b'[', r)) {
            Some(i) if from + i > start && line[from + i - 1] == b' ' => break from + i,
            Some(i) => from += i + 1,
            None => return Err(ParseError::at(K::BadTimestamp, line.len())),
        }
    };
    let mut toks = [(0usize, 0usize); 4];
    let mut n = 0;
    let mut i = start;
    while i < lb {
        let e = token_end(line, i).min(lb);
        if e > i {
            if n < toks.len() {
                toks[n] = (i, e);
            }
            n += 1;
        }
        i = skip_spaces(line, e);
    }
    if n == 0 {
        return Err(ParseError::at(K::BadAddress, start));
    }
    let tok = |k: usize| &line[toks[k].0..toks[k].1];
    let (vhost, addr_at) = if n == 4 && parse_ip(tok(1)).is_some() {
        (strip_port(tok(0)), 1)
    } else {
        (&b""[..], 0)
    };
    let source = parse_ip(tok(addr_at)).ok_or(ParseError::at(K::BadAddress, toks[addr_at].0))?;
    let remote_user = if n > addr_at + 2 && addr_at + 2 < toks.len() {
        dash_empty(tok(addr_at + 2))
    } else {
        &b""[..]
    };

    // [TIME]
    let rb = memchr(b']', &line[lb..])
        .map(|r| lb + r)
        .ok_or(ParseError::at(K::BadTimestamp, lb))?;
    // `[$time_local]`, or `[$time_iso8601]` in custom nginx formats.
    let stamp = &line[lb + 1..rb];
    let time = timefmt::parse_clf(stamp)
        .or_else(|| timefmt::parse_iso8601(stamp))
        .ok_or(ParseError::at(K::BadTimestamp, lb + 1))?;

    // "REQUEST"
    let q = skip_spaces(line, rb + 1);
    if line.get(q) != Some(&b'"') {
        return Err(ParseError::at(K::BadRequestField, q));
    }
    let qe = closing_quote(line, q).ok_or(ParseError::at(K::UnterminatedQuote, q))?;
    let request_line = dash_empty(&line[q + 1..qe]);
    let (method, target, protocol) = split_request(request_line);

    // STATUS SIZE
    let s = skip_spaces(line, qe + 1);
    let se = token_end(line, s);
    let status = number(&line[s..se])
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(ParseError::at(K::BadStatus, s))?;
    let b = skip_spaces(line, se);
    let be = token_end(line, b);
    let bytes = number(&line[b..be]).ok_or(ParseError::at(K::BadSize, b))?;

    // Optional: "REFERER" "UA", then extra fields; a quoted address list is X-Forwarded-For.
    let mut referer: &[u8] = b"";
    let mut user_agent: &[u8] = b"";
    let mut forwarded_for: &[u8] = b"";
    let mut pos = 0;
    let mut i = skip_spaces(line, be);
    while i < line.len() {
        let end;
        if line[i] == b'"' {
            let c = closing_quote(line, i).ok_or(ParseError::at(K::UnterminatedQuote, i))?;
            let v = &line[i + 1..c];
            match pos {
                0 => referer = dash_empty(v),
                1 => user_agent = dash_empty(v),
                _ if forwarded_for.is_empty() && looks_like_addresses(v) => forwarded_for = v,
                _ => {}
            }
            end = c + 1;
        } else {
            // Unquoted extra field (request time, upstream time, ...).
            end = match line.get(i..).and_then(|r| memchr2(b' ', b'"', r)) {
                Some(n) => i + n.max(1),
                None => line.len(),
            };
        }
        pos += 1;
        i = skip_spaces(line, end);
    }

    Ok(HttpRequest {
        time,
        source,
        peer: None,
        vhost: Cow::Borrowed(vhost),
        request_line: Cow::Borrowed(request_line),
        method: Cow::Borrowed(method),
        target: Cow::Borrowed(target),
        protocol: Cow::Borrowed(protocol),
        status,
        bytes,
        referer: Cow::Borrowed(referer),
        user_agent: Cow::Borrowed(user_agent),
        forwarded_for: Cow::Borrowed(forwarded_for),
        remote_user: Cow::Borrowed(remote_user),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> HttpRequest<'_> {
        parse(line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn s(c: &[u8]) -> String {
        String::from_utf8_lossy(c).into_owned()
    }

    #[test]
    fn combined_line() {
        let r = ok(
            r#"203.0.113.7 - - [03/Nov/2025:00:00:01 +0100] "GET /wp-login.php?x=1 HTTP/1.1" 404 153 "http://example.org/" "Mozilla/5.0 (X11)""#,
        );
        assert_eq!(r.source, "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(r.time.to_string(), "2025-11-03T00:00:01+01:00");
        assert_eq!(s(&r.method), "GET");
        assert_eq!(s(&r.target), "/wp-login.php?x=1");
        assert_eq!(s(&r.protocol), "HTTP/1.1");
        assert_eq!(s(&r.request_line), "GET /wp-login.php?x=1 HTTP/1.1");
        assert_eq!((r.status, r.bytes), (404, 153));
        assert_eq!(s(&r.referer), "http://example.org/");
        assert_eq!(s(&r.user_agent), "Mozilla/5.0 (X11)");
        assert!(r.vhost.is_empty() && r.forwarded_for.is_empty() && r.peer.is_none());
        assert!(r.is_http());
        assert!(matches!(r.target, Cow::Borrowed(_)));
    }

    #[test]
    fn common_line_has_no_referer_or_ua() {
        let r = ok(
            r#"198.51.100.2 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        );
        assert_eq!((r.status, r.bytes), (200, 2326));
        assert_eq!(s(&r.remote_user), "frank");
        assert!(r.referer.is_empty() && r.user_agent.is_empty());
        assert_eq!(r.time.to_string(), "2000-10-10T13:55:36-07:00");
    }

    #[test]
    fn iso8601_time_in_brackets() {
        let r = ok(
            r#"198.51.100.2 - - [2025-11-03T00:00:01+01:00] "GET /.env HTTP/1.1" 404 153 "-" "curl/8""#,
        );
        assert_eq!(r.time.to_string(), "2025-11-03T00:00:01+01:00");
        assert_eq!(s(&r.target), "/.env");
    }

    #[test]
    fn vhost_both_forms() {
        let r = ok(
            r#"example.org 192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0""#,
        );
        assert_eq!(s(&r.vhost), "example.org");
        assert_eq!(r.source, "192.0.2.1".parse::<IpAddr>().unwrap());
        let r = ok(
            r#"example.org:443 192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0""#,
        );
        assert_eq!(s(&r.vhost), "example.org");
        assert_eq!(s(&r.user_agent), "curl/8.0");
        let r = ok(
            r#"[2001:db8::1]:8443 192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 5"#,
        );
        assert_eq!(s(&r.vhost), "[2001:db8::1]");
    }

    #[test]
    fn trailing_fields_forwarded_for_and_times() {
        let r = ok(
            r#"10.0.0.5 - - [03/Nov/2025:00:00:01 +0000] "GET /.env HTTP/1.1" 404 0 "-" "zgrab/0.x" "198.51.100.9, 10.0.0.4" 0.123 0.120"#,
        );
        assert_eq!(s(&r.forwarded_for), "198.51.100.9, 10.0.0.4");
        assert_eq!(s(&r.user_agent), "zgrab/0.x");
        let r = ok(
            r#"10.0.0.5 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" 0.004 "-" "2001:db8::7""#,
        );
        assert_eq!(s(&r.forwarded_for), "2001:db8::7");
        let r =
            ok(r#"10.0.0.5 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "-""#);
        assert!(r.forwarded_for.is_empty());
    }

    #[test]
    fn ipv6_source_and_mapped_v4() {
        let r = ok(
            r#"2001:db8::dead:beef - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/2.0" 200 1 "-" "-""#,
        );
        assert_eq!(r.source, "2001:db8::dead:beef".parse::<IpAddr>().unwrap());
        let r = ok(
            r#"::ffff:192.0.2.9 - - [03/Nov/2025:00:00:01 +0000] "GET / HTTP/2.0" 200 1 "-" "-""#,
        );
        assert_eq!(r.source, "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn escaped_quotes_in_ua_and_request() {
        let r = ok(
            r#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "GET /?q=\"x\" HTTP/1.1" 200 1 "-" "Mozilla \"quoted\" \\" 0.1"#,
        );
        assert_eq!(s(&r.target), r#"/?q=\"x\""#);
        assert_eq!(s(&r.user_agent), r#"Mozilla \"quoted\" \\"#);
    }

    #[test]
    fn tls_handshake_junk_is_an_event() {
        let r = ok(
            r#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "\x16\x03\x01\x00\xF7\x01\x00\x00\xF3\x03\x03" 400 157 "-" "-""#,
        );
        assert_eq!(r.status, 400);
        assert!(!r.is_http());
        assert!(r.target.is_empty() && r.protocol.is_empty());
        assert!(s(&r.request_line).starts_with(r"\x16\x03"));
    }

    #[test]
    fn dash_fields() {
        let r = ok(r#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] "-" - - "-" "-""#);
        assert!(r.request_line.is_empty() && !r.is_http());
        assert_eq!((r.status, r.bytes), (0, 0));
        assert!(r.referer.is_empty() && r.user_agent.is_empty());
    }

    #[test]
    fn crlf_is_tolerated() {
        let r = ok(
            "192.0.2.1 - - [03/Nov/2025:00:00:01 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"\r",
        );
        assert_eq!(s(&r.user_agent), "ua");
    }

    #[test]
    fn offsets() {
        let a = ok(r#"192.0.2.1 - - [03/Nov/2025:00:00:01 +0100] "GET / HTTP/1.1" 200 1"#);
        let b = ok(r#"192.0.2.1 - - [02/Nov/2025:17:30:01 -0530] "GET / HTTP/1.1" 200 1"#);
        assert_eq!(a.time, b.time);
        assert_eq!(b.time.offset_min, -330);
        assert_eq!(b.time.to_string(), "2025-11-02T17:30:01-05:30");
    }

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4 ",
            "00.1.1.1",
            "10.0.0.10",
        ] {
            let want = s.parse::<std::net::Ipv4Addr>().ok();
            assert_eq!(parse_ipv4(s.as_bytes()), want, "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ipv4_fast_path_agrees_with_std_on_random_text(s in "[0-9.]{0,16}") {
            proptest::prop_assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok());
        }
    }

    #[test]
    fn request_splitting() {
        assert_eq!(
            split_request(b"GET / HTTP/1.1"),
            (&b"GET"[..], &b"/"[..], &b"HTTP/1.1"[..])
        );
        assert_eq!(split_request(b"GET /"), (&b"GET"[..], &b"/"[..], &b""[..]));
        assert_eq!(split_request(b"GET /a b HTTP/1.0").1, b"/a b");
        assert_eq!(split_request(b"get / HTTP/1.1").0, b"");
        assert_eq!(split_request(b"GET /a b").0, b"");
        assert_eq!(split_request(b"GET").0, b"");
        assert_eq!(
            split_request(b"SSTP_DUPLEX_POST /sra_{BA195980}/ HTTP/1.1").0,
            b"SSTP_DUPLEX_POST"
        );
        assert_eq!(split_request(b"ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1").0, b"");
    }

    #[test]
    fn errors_name_the_field_and_column() {
        let e = |l: &str| parse(l.as_bytes()).unwrap_err();
        assert_eq!(e("").kind, K::Empty);
        assert_eq!(e("   ").kind, K::Empty);
        let err = e(r#"1.2.3.4 - - [03/Nov/2025:00:00:61 +0100] "GET / HTTP/1.1" 200 1"#);
        assert_eq!(err.kind, K::BadTimestamp);
        assert_eq!(err.to_string(), "bad timestamp at column 14");
        assert_eq!(
            e(r#"host.example - - [03/Nov/2025:00:00:01 +0100] "GET /" 200 1"#).kind,
            K::BadAddress
        );
        assert_eq!(
            e(r#"1.2.3.4 - - [03/Nov/2025:00:00:01 +0100] GET / 200 1"#).kind,
            K::BadRequestField
        );
        assert_eq!(
            e(r#"1.2.3.4 - - [03/Nov/2025:00:00:01 +0100] "GET / 200 1"#).kind,
            K::UnterminatedQuote
        );
        assert_eq!(
            e(r#"1.2.3.4 - - [03/Nov/2025:00:00:01 +0100] "GET /" 2x0 1"#).kind,
            K::BadStatus
        );
        assert_eq!(
            e(r#"1.2.3.4 - - [03/Nov/2025:00:00:01 +0100] "GET /" 200 99999999999999999999"#).kind,
            K::BadSize
        );
        assert_eq!(
            e(r#"1.2.3.4 - - [03/Nov/2025:00:00:01 +0100] "GET /" 200 1 "-" "Mozilla/5."#).kind,
            K::UnterminatedQuote
        );
        assert_eq!(e("no brackets here").kind, K::BadTimestamp);
    }
}
