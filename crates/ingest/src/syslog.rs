//! The envelope around a system log message: the traditional syslog prefix
//! (`Nov  3 00:00:01 host sshd[812]: `), the RFC 3339 prefix that rsyslog and
//! syslog-ng write with high-precision timestamps
//! (`2025-11-03T00:00:01.123456+01:00 host sshd[812]: `), and `journalctl -o json`
//! lines (one JSON object per entry).
//!
//! **Year inference.** The traditional prefix has no year and no offset. The year is
//! taken from [`SyslogContext::reference`] (the caller passes the input's modification
//! time, or the current time): the reference's year, unless that would put the line more
//! than seven days after the reference, in which case the year before. So a file read in
//! January that starts in December is placed correctly, and a file is never dated in the
//! future. The time is read in [`SyslogContext::offset_min`] (UTC by default).

use crate::error::{ParseError, ParseErrorKind};
use crate::timefmt;
use scantriage_core::Timestamp;
use std::borrow::Cow;

/// How to date lines whose prefix lacks a year or an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogContext {
    /// The time of reading (usually the input's modification time); see the module docs.
    pub reference: Timestamp,
    /// The offset (minutes east of UTC) of traditional timestamps.
    pub offset_min: i16,
    year: i64,
}

impl SyslogContext {
    /// A context with this reference time and offset.
    pub fn new(reference: Timestamp, offset_min: i16) -> SyslogContext {
        let local = Timestamp {
            unix_ms: reference.unix_ms,
            offset_min,
        };
        let year = local
            .to_string()
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(1970);
        SyslogContext {
            reference,
            offset_min,
            year,
        }
    }
}

impl Default for SyslogContext {
    /// Reference 2000-01-01 UTC: only tests should rely on it.
    fn default() -> Self {
        SyslogContext::new(Timestamp::from_unix_secs(946_684_800), 0)
    }
}

/// A parsed envelope: when, which host and program, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// When the message was logged.
    pub time: Timestamp,
    /// The host name (empty when absent).
    pub host: Cow<'a, [u8]>,
    /// The program tag without the pid (`sshd`, `sshd-session`, `kernel`).
    pub program: Cow<'a, [u8]>,
    /// The message text.
    pub message: Cow<'a, [u8]>,
}

const WEEK_MS: i64 = 7 * 86_400_000;

fn bad_time(i: usize) -> ParseError {
    ParseError::at(ParseErrorKind::BadTimestamp, i)
}

/// `Mmm dd HH:MM:SS` (day space- or zero-padded): month, day, hour, minute, second, and
/// the index after it.
fn civil(b: &[u8]) -> Option<([u32; 5], usize)> {
    let mo = timefmt::month(b.get(..3)?)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let (day, i) = match (b.get(4)?, b.get(5)?) {
        (b' ', d) if d.is_ascii_digit() => (u32::from(d - b'0'), 6),
        (a, b' ') if a.is_ascii_digit() => (u32::from(a - b'0'), 5),
        (a, d) if a.is_ascii_digit() && d.is_ascii_digit() => {
            (u32::from(a - b'0') * 10 + u32::from(d - b'0'), 6)
        }
        _ => return None,
    };
    let t = b.get(i..i + 9)?;
    if t[0] != b' ' || t[3] != b':' || t[6] != b':' {
        return None;
    }
    let num = |k: usize| -> Option<u32> {
        let (x, y) = (t[k], t[k + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit())
            .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
    };
    Some(([mo, day, num(1)?, num(4)?, num(7)?], i + 9))
}

/// `Mmm dd HH:MM:SS` (day space- or zero-padded); returns the time and the index after it.
fn traditional(b: &[u8], ctx: &SyslogContext) -> Option<(Timestamp, usize)> {
    let ([mo, day, h, mi, s], i) = civil(b)?;
    let off = i32::from(ctx.offset_min);
    let mut year = ctx.year;
    // 29 February needs a leap year: look back up to 7 years for one.
    let mut ts = None;
    for _ in 0..8 {
        let y = u32::try_from(year).ok()?;
        if let Some(x) = timefmt::build(y, mo, day, h, mi, s, 0, off) {
            if x.unix_ms <= ctx.reference.unix_ms + WEEK_MS {
                ts = Some(x);
                break;
            }
        }
        year -= 1;
    }
    Some((ts?, i))
}

/// The envelopes of servers' own log files, which have no host and no program tag:
/// vsftpd.log (`Wed Nov 25 10:00:00 2026 [pid 12] ...`, program `vsftpd`) and exim's
/// mainlog (`2026-11-25 10:00:00[.123] [+0100] ...`, program `exim`).
fn own_file<'a>(line: &'a [u8], ctx: &SyslogContext) -> Option<Envelope<'a>> {
    let off = i32::from(ctx.offset_min);
    let env = |time, program: &'static [u8], message| Envelope {
        time,
        host: Cow::Borrowed(&b""[..]),
        program: Cow::Borrowed(program),
        message: Cow::Borrowed(message),
    };
    const DAYS: [&[u8]; 7] = [
        b"Mon ", b"Tue ", b"Wed ", b"Thu ", b"Fri ", b"Sat ", b"Sun ",
    ];
    if line.len() > 4 && DAYS.contains(&&line[..4]) {
        let ([mo, day, h, mi, s], i) = civil(&line[4..])?;
        let rest = line.get(4 + i..)?.strip_prefix(b" ")?;
        let y = rest.get(..4)?;
        if !y.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let y: u32 = std::str::from_utf8(y).ok()?.parse().ok()?;
        let message = rest[4..].trim_ascii_start();
        if !message.starts_with(b"[pid ") {
            return None;
        }
        let t = timefmt::build(y, mo, day, h, mi, s, 0, off)?;
        return Some(env(t, b"vsftpd", message));
    }
    if line.len() > 20 && line[4] == b'-' && line[10] == b' ' && line[13] == b':' {
        let end = 11 + line[11..].iter().position(|&c| c == b' ')?;
        let mut t = timefmt::parse_iso8601(&line[..end])?;
        let mut rest = &line[end + 1..];
        let zone = rest
            .get(..5)
            .filter(|z| matches!(z[0], b'+' | b'-') && z[1..].iter().all(u8::is_ascii_digit));
        if let Some(z) = zone {
            let n = |k: usize| i64::from(z[k] - b'0') * 10 + i64::from(z[k + 1] - b'0');
            let sign = if z[0] == b'-' { -1 } else { 1 };
            let min = sign * (n(1) * 60 + n(3));
            t.unix_ms -= min * 60_000;
            t.offset_min = i16::try_from(min).ok()?;
            rest = rest[5..].trim_ascii_start();
        } else {
            t.unix_ms -= i64::from(off) * 60_000;
            t.offset_min = ctx.offset_min;
        }
        return Some(env(t, b"exim", rest));
    }
    None
}

/// Splits `host tag[pid]: message` (or `host tag: message`, or `tag: message` without a
/// host, as in dovecot's own log file: `imap-login: Info: ...`).
fn host_tag(rest: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let rest = rest.trim_ascii_start();
    let sp = rest.iter().position(|&c| c == b' ')?;
    if sp > 1 && rest[sp - 1] == b':' {
        let tag = &rest[..sp - 1];
        let program = match tag.iter().position(|&c| c == b'[') {
            Some(k) => &tag[..k],
            None => tag,
        };
        return Some((&b""[..], program, rest[sp + 1..].trim_ascii_start()));
    }
    let host = &rest[..sp];
    let rest = rest[sp + 1..].trim_ascii_start();
    let colon = memchr::memmem::find(rest, b": ").or_else(|| {
        // A message may be empty: `tag:` at the end of the line.
        rest.ends_with(b":").then(|| rest.len() - 1)
    })?;
    let tag = &rest[..colon];
    if tag.is_empty() || tag.contains(&b' ') {
        return None;
    }
    let program = match tag.iter().position(|&c| c == b'[') {
        Some(k) => &tag[..k],
        None => tag,
    };
    let message = rest.get(colon + 2..).unwrap_or(b"");
    Some((host, program, message))
}

/// Parses the envelope of one line. Never panics.
pub fn parse_envelope<'a>(line: &'a [u8], ctx: &SyslogContext) -> Result<Envelope<'a>, ParseError> {
    let line = line.trim_ascii_end();
    if line.is_empty() {
        return Err(ParseError::at(ParseErrorKind::Empty, 0));
    }
    if line[0] == b'{' {
        return journal(line);
    }
    if let Some(e) = own_file(line, ctx) {
        return Ok(e);
    }
    let (time, i) = if line.first().is_some_and(u8::is_ascii_digit) {
        let end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        let t = timefmt::parse_iso8601(&line[..end]).ok_or_else(|| bad_time(0))?;
        (t, end)
    } else {
        traditional(line, ctx).ok_or_else(|| bad_time(0))?
    };
    let (host, program, message) =
        host_tag(&line[i..]).ok_or(ParseError::at(ParseErrorKind::MissingField("tag"), i))?;
    Ok(Envelope {
        time,
        host: Cow::Borrowed(host),
        program: Cow::Borrowed(program),
        message: Cow::Borrowed(message),
    })
}

/// One `journalctl -o json` entry.
fn journal(line: &[u8]) -> Result<Envelope<'static>, ParseError> {
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|_| ParseError::at(ParseErrorKind::BadJson, 0))?;
    let obj = v
        .as_object()
        .ok_or(ParseError::at(ParseErrorKind::BadJson, 0))?;
    let text = |k: &str| -> Option<Vec<u8>> {
        match obj.get(k)? {
            serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
            // Non-UTF-8 fields are arrays of byte values.
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect(),
            _ => None,
        }
    };
    let micros: i64 = text("__REALTIME_TIMESTAMP")
        .and_then(|t| std::str::from_utf8(&t).ok()?.parse().ok())
        .ok_or(ParseError::at(
            ParseErrorKind::MissingField("__REALTIME_TIMESTAMP"),
            0,
        ))?;
    if !(0..10_000_000_000_000_000).contains(&micros) {
        return Err(bad_time(0));
    }
    let message =
        text("MESSAGE").ok_or(ParseError::at(ParseErrorKind::MissingField("MESSAGE"), 0))?;
    let program = text("SYSLOG_IDENTIFIER")
        .or_else(|| text("_COMM"))
        .or_else(|| (text("_TRANSPORT").as_deref() == Some(b"kernel")).then(|| b"kernel".to_vec()))
        .unwrap_or_default();
    Ok(Envelope {
        time: Timestamp {
            unix_ms: micros / 1000,
            offset_min: 0,
        },
        host: Cow::Owned(text("_HOSTNAME").unwrap_or_default()),
        program: Cow::Owned(program),
        message: Cow::Owned(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(y: i32, m: u32, d: u32) -> SyslogContext {
        SyslogContext::new(Timestamp::from_civil(i64::from(y), m, d, 12, 0, 0, 0, 0), 0)
    }

    #[test]
    fn traditional_prefix_and_year_inference() {
        let c = ctx(2025, 11, 5);
        let e = parse_envelope(b"Nov  3 00:00:01 web1 sshd[812]: Invalid user x", &c).unwrap();
        assert_eq!(e.time.to_string(), "2025-11-03T00:00:01Z");
        assert_eq!(&*e.host, b"web1");
        assert_eq!(&*e.program, b"sshd");
        assert_eq!(&*e.message, b"Invalid user x");
        // Read in early January: December lines belong to the year before.
        let c = ctx(2026, 1, 2);
        let e = parse_envelope(b"Dec 31 23:59:59 h sshd[1]: m", &c).unwrap();
        assert_eq!(e.time.to_string(), "2025-12-31T23:59:59Z");
        // Up to a week ahead of the reference is still this year (clock skew).
        let e = parse_envelope(b"Jan  5 00:00:00 h kernel: m", &c).unwrap();
        assert_eq!(e.time.to_string(), "2026-01-05T00:00:00Z");
        // 29 February goes back to the last leap year.
        let e = parse_envelope(b"Feb 29 10:00:00 h sshd[1]: m", &ctx(2026, 6, 1)).unwrap();
        assert_eq!(e.time.to_string(), "2024-02-29T10:00:00Z");
        // The configured offset applies.
        let c = SyslogContext::new(Timestamp::from_unix_secs(1_762_300_000), 60);
        let e = parse_envelope(b"Nov 03 01:00:00 h sshd[1]: m", &c).unwrap();
        assert_eq!(e.time.to_string(), "2025-11-03T01:00:00+01:00");
    }

    #[test]
    fn rfc3339_prefix_and_journal() {
        let c = SyslogContext::default();
        let e = parse_envelope(
            b"2025-11-03T00:00:01.123456+01:00 web1 sshd-session[9]: Connection closed",
            &c,
        )
        .unwrap();
        assert_eq!(e.time.to_string(), "2025-11-03T00:00:01.123+01:00");
        assert_eq!(&*e.program, b"sshd-session");
        let j = br#"{"__REALTIME_TIMESTAMP":"1762124401123456","_HOSTNAME":"web1","SYSLOG_IDENTIFIER":"sshd","_PID":"812","MESSAGE":"Failed password for root from 203.0.113.7 port 1 ssh2"}"#;
        let e = parse_envelope(j, &c).unwrap();
        assert_eq!(e.time.to_string(), "2025-11-02T23:00:01.123Z");
        assert_eq!(&*e.program, b"sshd");
        let j = br#"{"__REALTIME_TIMESTAMP":"1762124401000000","_TRANSPORT":"kernel","MESSAGE":[104,105,255]}"#;
        let e = parse_envelope(j, &c).unwrap();
        assert_eq!((&*e.program, &*e.message), (&b"kernel"[..], &b"hi\xff"[..]));
    }

    #[test]
    fn junk_is_an_error() {
        let c = SyslogContext::default();
        for l in [
            &b""[..],
            b"Nov",
            b"Foo  3 00:00:01 h sshd[1]: m",
            b"Nov 33 00:00:01 h sshd[1]: m",
            b"Nov  3 00:00:01 h",
            b"2025-13-03T00:00:01Z h sshd: m",
            b"{\"MESSAGE\":\"x\"}",
            b"{",
        ] {
            assert!(
                parse_envelope(l, &c).is_err(),
                "{:?}",
                String::from_utf8_lossy(l)
            );
        }
    }
}
