//! A timestamp that keeps the UTC offset the log recorded.

use serde::{Serialize, Serializer};
use std::fmt;

/// Milliseconds since the Unix epoch plus the UTC offset (in minutes) the log used.
///
/// Equality and order compare the instant only; the offset is kept so that output can
/// show the time as the log wrote it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub unix_ms: i64,
    /// Offset from UTC in minutes, as recorded (e.g. +60 for `+0100`).
    pub offset_min: i16,
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.unix_ms == other.unix_ms
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.unix_ms.cmp(&other.unix_ms)
    }
}

/// Days since the epoch for a proleptic Gregorian civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Timestamp {
    /// Builds a timestamp from civil local time fields and the offset they are in.
    #[allow(clippy::too_many_arguments)]
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
        millis: u32,
        offset_min: i16,
    ) -> Timestamp {
        let days = days_from_civil(year, month, day);
        let local = days * 86_400 + (hour * 3600 + min * 60 + sec) as i64;
        let utc = local - offset_min as i64 * 60;
        Timestamp {
            unix_ms: utc * 1000 + millis as i64,
            offset_min,
        }
    }

    /// Builds a UTC timestamp from seconds since the epoch.
    pub fn from_unix_secs(secs: i64) -> Timestamp {
        Timestamp {
            unix_ms: secs * 1000,
            offset_min: 0,
        }
    }

    /// Seconds since the epoch (rounded down).
    pub fn unix_secs(self) -> i64 {
        self.unix_ms.div_euclid(1000)
    }

    /// RFC 3339 text in the recorded offset, e.g. `2025-11-03T00:00:01+01:00`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local_ms = self.unix_ms + self.offset_min as i64 * 60_000;
        let secs = local_ms.div_euclid(1000);
        let ms = local_ms.rem_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if ms != 0 {
            write!(f, ".{ms:03}")?;
        }
        if self.offset_min == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_min < 0 { '-' } else { '+' };
            let o = self.offset_min.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", o / 60, o % 60)
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_keeps_offset() {
        let t = Timestamp::from_civil(2025, 11, 3, 0, 0, 1, 0, 60);
        assert_eq!(t.unix_secs(), 1_762_124_401);
        assert_eq!(t.to_string(), "2025-11-03T00:00:01+01:00");
        let u = Timestamp::from_civil(2025, 11, 2, 23, 0, 1, 0, 0);
        assert_eq!(t, u);
        assert_eq!(u.to_string(), "2025-11-02T23:00:01Z");
        let n = Timestamp::from_civil(2024, 2, 29, 12, 30, 0, 250, -330);
        assert_eq!(n.to_string(), "2024-02-29T12:30:00.250-05:30");
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-800_000i64, -1, 0, 59, 11_016, 20_000, 800_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
