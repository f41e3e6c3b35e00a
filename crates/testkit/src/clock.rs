//! nginx `$time_local` formatting (`03/Nov/2025:00:00:01 +0100`), cached per second.

/// Offset of the imitated server's local time from UTC, in seconds (UTC+01:00, CET).
pub const UTC_OFFSET_SECS: i64 = 3600;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Proleptic Gregorian (year, month 1..=12, day 1..=31) of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year
    let mp = (5 * doy + 2) / 153; // March-based month, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats unix times as nginx does, reformatting only when the second changes.
pub(crate) struct TimeCache {
    unix: i64,
    text: [u8; 26],
}

impl TimeCache {
    pub(crate) fn new() -> Self {
        let mut c = TimeCache {
            unix: i64::MIN,
            text: [b' '; 26],
        };
        c.set(0);
        c
    }

    /// The `dd/Mon/yyyy:hh:mm:ss +hhmm` text of `unix` (26 bytes).
    #[inline]
    pub(crate) fn get(&mut self, unix: i64) -> &[u8; 26] {
        if unix != self.unix {
            self.set(unix);
        }
        &self.text
    }

    fn set(&mut self, unix: i64) {
        self.unix = unix;
        let local = unix + UTC_OFFSET_SECS;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let t = &mut self.text;
        two(&mut t[0..2], day as i64);
        t[2] = b'/';
        t[3..6].copy_from_slice(MONTHS[month as usize - 1]);
        t[6] = b'/';
        let y = year.clamp(0, 9999);
        two(&mut t[7..9], y / 100);
        two(&mut t[9..11], y % 100);
        t[11] = b':';
        two(&mut t[12..14], secs / 3600);
        t[14] = b':';
        two(&mut t[15..17], secs / 60 % 60);
        t[17] = b':';
        two(&mut t[18..20], secs % 60);
        t[20] = b' ';
        let off = UTC_OFFSET_SECS;
        t[21] = if off < 0 { b'-' } else { b'+' };
        two(&mut t[22..24], off.abs() / 3600);
        two(&mut t[24..26], off.abs() / 60 % 60);
    }
}

#[inline]
fn two(dst: &mut [u8], v: i64) {
    dst[0] = b'0' + (v / 10) as u8;
    dst[1] = b'0' + (v % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(unix: i64) -> String {
        String::from_utf8(TimeCache::new().get(unix).to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(fmt(0), "01/Jan/1970:01:00:00 +0100");
        // 2025-11-03T00:00:00+01:00
        assert_eq!(fmt(1_762_124_400), "03/Nov/2025:00:00:00 +0100");
        assert_eq!(fmt(1_762_124_401), "03/Nov/2025:00:00:01 +0100");
        // 2024-02-29T12:34:56Z, a leap day
        assert_eq!(fmt(1_709_210_096), "29/Feb/2024:13:34:56 +0100");
        // 2025-12-31T23:30:00Z crosses into the new year locally
        assert_eq!(fmt(1_767_223_800), "01/Jan/2026:00:30:00 +0100");
    }

    #[test]
    fn civil_round_trip_on_month_starts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_395), (2025, 11, 3));
    }
}
