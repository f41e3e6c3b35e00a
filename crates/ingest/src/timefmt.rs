//! Hand-written timestamp parsers: the access-log form `03/Nov/2025:00:00:01 +0100`,
//! ISO 8601 / RFC 3339, and seconds since the epoch. All return `None` on anything odd.

use scantriage_core::Timestamp;

#[inline]
fn d2(b: &[u8], i: usize) -> Option<u32> {
    let (a, c) = (*b.get(i)?, *b.get(i + 1)?);
    if a.is_ascii_digit() && c.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(c - b'0'))
    } else {
        None
    }
}

#[inline]
fn d4(b: &[u8], i: usize) -> Option<u32> {
    Some(d2(b, i)? * 100 + d2(b, i + 2)?)
}

#[inline]
pub(crate) fn month(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks the civil fields and builds the timestamp.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    y: u32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
    off: i32,
) -> Option<Timestamp> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    if s > 60 || off.abs() > 18 * 60 {
        return None;
    }
    // A leap second is folded into the one before it.
    let s = s.min(59);
    Some(Timestamp::from_civil(
        i64::from(y),
        mo,
        d,
        h,
        mi,
        s,
        ms,
        off as i16,
    ))
}

/// Parses an optional `.fraction` at `i`; returns (milliseconds, index after it).
#[inline]
fn fraction(b: &[u8], mut i: usize) -> (u32, usize) {
    if b.get(i) != Some(&b'.') && b.get(i) != Some(&b',') {
        return (0, i);
    }
    let start = i + 1;
    i = start;
    let mut ms = 0u32;
    while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        if i - start < 3 {
            ms = ms * 10 + u32::from(c - b'0');
        }
        i += 1;
    }
    if i == start {
        return (0, start - 1);
    }
    for _ in (i - start)..3 {
        ms *= 10;
    }
    (ms, i)
}

/// Parses `+hhmm`, `+hh:mm`, `+hh` or `Z` at `i`; the whole rest of `b` must be consumed.
fn offset(b: &[u8], i: usize) -> Option<i32> {
    let rest = b.get(i..)?;
    if rest == b"Z" || rest == b"z" {
        return Some(0);
    }
    let sign = match rest.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = d2(rest, 1)?;
    let m = match rest.len() {
        3 => 0,
        5 => d2(rest, 3)?,
        6 if rest[3] == b':' => d2(rest, 4)?,
        _ => return None,
    };
    if m > 59 {
        return None;
    }
    Some(sign * (h as i32 * 60 + m as i32))
}

/// Parses the access-log time `03/Nov/2025:00:00:01 +0100` (brackets already removed).
/// A fraction after the seconds (`:01.123`) is accepted.
pub fn parse_clf(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let d = d2(b, 0)?;
    let mo = month(&b[3..6])?;
    let y = d4(b, 7)?;
    let h = d2(b, 12)?;
    let mi = d2(b, 15)?;
    let s = d2(b, 18)?;
    let (ms, i) = fraction(b, 20);
    if b.get(i) != Some(&b' ') {
        return None;
    }
    let off = offset(b, i + 1)?;
    build(y, mo, d, h, mi, s, ms, off)
}

/// Parses ISO 8601 / RFC 3339: `2025-11-03T00:00:01+01:00`, with `Z`, `+0100`, a
/// fraction, or a space instead of `T`. Without an offset the time is taken as UTC.
pub fn parse_iso8601(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let y = d4(b, 0)?;
    let mo = d2(b, 5)?;
    let d = d2(b, 8)?;
    let h = d2(b, 11)?;
    let mi = d2(b, 14)?;
    let s = d2(b, 17)?;
    let (ms, i) = fraction(b, 19);
    let off = if i == b.len() { 0 } else { offset(b, i)? };
    build(y, mo, d, h, mi, s, ms, off)
}

/// Converts seconds since the epoch (possibly fractional) to a UTC timestamp.
pub fn from_epoch_secs(secs: f64) -> Option<Timestamp> {
    // Refuse NaN, infinities and anything past year ~2286 or before 1970.
    if !secs.is_finite() || !(0.0..1e10).contains(&secs) {
        return None;
    }
    Some(Timestamp {
        unix_ms: (secs * 1000.0).round() as i64,
        offset_min: 0,
    })
}

/// Parses any of the forms above, trying the cheapest distinguishing test first.
pub fn parse_any(b: &[u8]) -> Option<Timestamp> {
    if b.len() >= 26 && b.get(2) == Some(&b'/') {
        return parse_clf(b);
    }
    if b.get(4) == Some(&b'-') {
        return parse_iso8601(b);
    }
    let s = std::str::from_utf8(b).ok()?;
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return from_epoch_secs(s.parse().ok()?);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_keeps_offset() {
        let t = parse_clf(b"03/Nov/2025:00:00:01 +0100").unwrap();
        assert_eq!(t.to_string(), "2025-11-03T00:00:01+01:00");
        assert_eq!(t.unix_secs(), 1_762_124_401);
        let t = parse_clf(b"03/Nov/2025:00:00:01 -0530").unwrap();
        assert_eq!(t.to_string(), "2025-11-03T00:00:01-05:30");
        assert_eq!(t.unix_secs(), 1_762_124_401 + 6 * 3600 + 1800);
        let t = parse_clf(b"29/Feb/2024:23:59:59.250 +0000").unwrap();
        assert_eq!(t.to_string(), "2024-02-29T23:59:59.250Z");
    }

    #[test]
    fn clf_rejects_nonsense() {
        for bad in [
            &b"03/Nov/2025:00:00:01"[..],
            b"03/Nox/2025:00:00:01 +0100",
            b"32/Nov/2025:00:00:01 +0100",
            b"29/Feb/2025:00:00:01 +0100",
            b"03/Nov/2025:24:00:01 +0100",
            b"03/Nov/2025:00:00:01 +0100 ",
            b"03/Nov/2025:00:00:01 0100",
            b"03/Nov/2025:00:00:01 +01",
            b"03/Nov/2025:00:00:01 +9900",
            b"0x/Nov/2025:00:00:01 +0100",
        ] {
            assert_eq!(parse_clf(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn iso_forms() {
        let cases = [
            ("2025-11-03T00:00:01+01:00", "2025-11-03T00:00:01+01:00"),
            ("2025-11-03T00:00:01Z", "2025-11-03T00:00:01Z"),
            (
                "2025-11-03 00:00:01.5-0530",
                "2025-11-03T00:00:01.500-05:30",
            ),
            ("2025-11-03T00:00:01.123456789Z", "2025-11-03T00:00:01.123Z"),
            ("2025-11-03T00:00:01", "2025-11-03T00:00:01Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_iso8601(input.as_bytes()).unwrap().to_string(), want);
        }
        assert_eq!(parse_iso8601(b"2025-13-03T00:00:01Z"), None);
        assert_eq!(parse_iso8601(b"2025-11-03T00:00:01+01:0"), None);
    }

    #[test]
    fn epoch_and_any() {
        let t = parse_any(b"1730592001.123").unwrap();
        assert_eq!(t.unix_ms, 1_730_592_001_123);
        assert_eq!(parse_any(b"-5"), None);
        assert_eq!(from_epoch_secs(f64::NAN), None);
        assert!(parse_any(b"03/Nov/2025:00:00:01 +0100").is_some());
        assert!(parse_any(b"2025-11-03T00:00:01Z").is_some());
        assert_eq!(parse_any(b""), None);
    }
}
