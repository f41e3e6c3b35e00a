//! Version comparison by each ecosystem's rules.
//!
//! Debian versions use the dpkg algorithm (epoch, upstream, revision; `~` sorts before
//! everything, letters before non-letters), RPM versions use rpmvercmp, semver follows
//! the semver specification, and anything else is compared as a plain dotted version.

use std::cmp::Ordering;

/// How versions of one ecosystem are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// dpkg: `[epoch:]upstream[-revision]`.
    Debian,
    /// rpmvercmp: `[epoch:]version[-release]`.
    Rpm,
    /// Semantic versioning (a leading `v` is accepted).
    Semver,
    /// Dotted numbers with optional suffixes, compared part by part.
    Dotted,
}

impl Scheme {
    /// The scheme's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Debian => "debian",
            Scheme::Rpm => "rpm",
            Scheme::Semver => "semver",
            Scheme::Dotted => "dotted",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Scheme> {
        Some(match s {
            "debian" => Scheme::Debian,
            "rpm" => Scheme::Rpm,
            "semver" => Scheme::Semver,
            "dotted" => Scheme::Dotted,
            _ => return None,
        })
    }

    /// The scheme an OSV ecosystem (`Debian:12`, `npm`, `Red Hat`, ...) orders versions by.
    pub fn for_ecosystem(ecosystem: &str) -> Scheme {
        let base = ecosystem.split(':').next().unwrap_or("");
        match base {
            "Debian" | "Ubuntu" => Scheme::Debian,
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia"
            | "openEuler" | "Azure Linux" => Scheme::Rpm,
            "npm" | "crates.io" | "Go" | "Hex" | "NuGet" | "Pub" => Scheme::Semver,
            _ => Scheme::Dotted,
        }
    }
}

/// Compares two versions under a scheme. Semver falls back to dotted comparison when
/// either side is not valid semver.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Ordering {
    match scheme {
        Scheme::Debian => debian_cmp(a, b),
        Scheme::Rpm => rpm_version::Evr::parse(a.trim()).cmp(&rpm_version::Evr::parse(b.trim())),
        Scheme::Semver => {
            let p = |s: &str| semver::Version::parse(s.trim().trim_start_matches('v'));
            match (p(a), p(b)) {
                (Ok(x), Ok(y)) => x.cmp_precedence(&y),
                _ => dotted_cmp(a, b),
            }
        }
        Scheme::Dotted => dotted_cmp(a, b),
    }
}

/// Splits `[epoch:]upstream[-revision]`: the epoch ends at the first colon, the
/// revision starts after the last hyphen.
fn debian_parts(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((up, rev)) => (epoch, up, rev),
        None => (epoch, rest, ""),
    }
}

/// dpkg's ordering of one character of a non-digit run: `~` before the end of the
/// string, the end before letters, letters before everything else.
fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares upstream versions or revisions the way dpkg does: alternating runs of
/// non-digits (by [`dpkg_order`]) and digits (as numbers, so `0` equals an empty run).
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = dpkg_order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = dpkg_order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let (na, nb) = (&a[si..i], &b[sj..j]);
        let o = na.len().cmp(&nb.len()).then(na.cmp(nb));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The dpkg algorithm: epoch as a number, then upstream version, then revision.
pub fn debian_cmp(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = debian_parts(a);
    let (eb, ub, rb) = debian_parts(b);
    ea.cmp(&eb)
        .then_with(|| dpkg_verrevcmp(ua, ub))
        .then_with(|| dpkg_verrevcmp(ra, rb))
}

/// Plain dotted comparison: `v` prefixes and `+build` suffixes are dropped, parts split on
/// `.`, `-` and `_`, numbers compared as numbers, other parts as text; a release sorts
/// after its pre-releases (`1.0` > `1.0-rc1`, `1.0` > `1.0beta`).
pub fn dotted_cmp(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<Part<'_>> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        let s = s.split('+').next().unwrap_or("");
        let mut out = Vec::new();
        for seg in s.split(['.', '-', '_']) {
            // Split runs of digits from runs of other characters: `0beta2` → 0, beta, 2.
            let bytes = seg.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                let digit = bytes[i].is_ascii_digit();
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() == digit {
                    i += 1;
                }
                let t = &seg[start..i];
                out.push(if digit {
                    Part::Num(t.trim_start_matches('0'))
                } else {
                    Part::Text(t)
                });
            }
        }
        out
    }
    #[derive(Debug)]
    enum Part<'a> {
        Num(&'a str),
        Text(&'a str),
    }
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let o = match (pa.get(i), pb.get(i)) {
            (Some(Part::Num(x)), Some(Part::Num(y))) => x.len().cmp(&y.len()).then(x.cmp(y)),
            (Some(Part::Text(x)), Some(Part::Text(y))) => {
                x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase())
            }
            (Some(Part::Num(_)), Some(Part::Text(_))) => Ordering::Greater,
            (Some(Part::Text(_)), Some(Part::Num(_))) => Ordering::Less,
            // A trailing text part is a pre-release; a trailing number is a later version.
            (Some(Part::Num(x)), None) => {
                if x.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (None, Some(Part::Num(y))) => {
                if y.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Less
                }
            }
            (Some(Part::Text(_)), None) => Ordering::Less,
            (None, Some(Part::Text(_))) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn debian_epochs_tildes_and_revisions() {
        let c = |a, b| compare(Scheme::Debian, a, b);
        assert_eq!(c("1:1.0", "2.0"), Greater);
        assert_eq!(c("1.0~rc1", "1.0"), Less);
        assert_eq!(c("1.0~~", "1.0~"), Less);
        assert_eq!(c("1.0+deb12u1", "1.0"), Greater);
        assert_eq!(c("2.4.57-2", "2.4.57-2+deb12u1"), Less);
        assert_eq!(c("1.0a", "1.0"), Greater);
        assert_eq!(c("1.0-1", "1.0-1"), Equal);
        assert_eq!(c("7.9p1-10+deb10u2", "1:7.9p1-10"), Less);
    }

    #[test]
    fn rpm_semver_dotted() {
        assert_eq!(compare(Scheme::Rpm, "1.0-1.el9", "1.0-2.el9"), Less);
        assert_eq!(compare(Scheme::Rpm, "1:1.0-1", "2.0-1"), Greater);
        assert_eq!(compare(Scheme::Rpm, "1.0~rc1-1", "1.0-1"), Less);
        assert_eq!(compare(Scheme::Semver, "1.2.3-alpha", "1.2.3"), Less);
        assert_eq!(compare(Scheme::Semver, "v10.48.4", "10.48.29"), Less);
        assert_eq!(compare(Scheme::Dotted, "6.4.2", "6.4.10"), Less);
        assert_eq!(compare(Scheme::Dotted, "5.2", "5.2.0"), Equal);
        assert_eq!(compare(Scheme::Dotted, "4.9.0-rc1", "4.9.0"), Less);
        assert_eq!(compare(Scheme::Dotted, "2.4.49", "2.4.5"), Greater);
        assert_eq!(compare(Scheme::Dotted, "1.0beta2", "1.0"), Less);
    }

    #[test]
    fn ecosystems_pick_schemes() {
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Scheme::Debian);
        assert_eq!(Scheme::for_ecosystem("Red Hat"), Scheme::Rpm);
        assert_eq!(Scheme::for_ecosystem("npm"), Scheme::Semver);
        assert_eq!(Scheme::for_ecosystem("Packagist"), Scheme::Dotted);
    }
}
