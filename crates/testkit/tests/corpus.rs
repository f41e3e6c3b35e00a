//! Properties of the generated corpus: determinism, format, time order, labels, role mix
//! and the behaviour each role promises.

use scantriage_testkit::{
    generate, generate_bytes, write_labels, CorpusConfig, Label, Role, DEFAULT_SPAN_SECS,
    DEFAULT_START_UNIX,
};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::OnceLock;

/// One parsed `combined` line.
#[derive(Debug)]
struct Line<'a> {
    ip: IpAddr,
    unix: i64,
    request: &'a str,
    status: u16,
    #[allow(dead_code)]
    size: u64,
    referer: &'a str,
    ua: &'a str,
}

impl Line<'_> {
    fn method(&self) -> &str {
        self.request.split(' ').next().unwrap_or("")
    }
    fn target(&self) -> &str {
        self.request.split(' ').nth(1).unwrap_or("")
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `dd/Mon/yyyy:HH:MM:SS +hhmm`.
fn parse_time(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if s.len() != 26 || &s[2..3] != "/" || &s[6..7] != "/" || &s[20..21] != " " {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let day = num(0..2)?;
    let month = MONTHS.iter().position(|m| *m == &s[3..6])? as i64 + 1;
    let year = num(7..11)?;
    let (h, mi, se) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let sign = match &s[21..22] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let off = sign * (num(22..24)? * 3600 + num(24..26)? * 60);
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + se - off)
}

/// Splits `s` at the first `"`, returning (before, after).
fn until_quote(s: &str) -> Option<(&str, &str)> {
    let i = s.find('"')?;
    Some((&s[..i], &s[i + 1..]))
}

/// Checks the combined format without regular expressions.
fn parse(line: &str) -> Result<Line<'_>, String> {
    let err = |what: &str| format!("{what}: {line:?}");
    let (ip, rest) = line.split_once(' ').ok_or_else(|| err("no space"))?;
    let ip: IpAddr = ip.parse().map_err(|_| err("bad address"))?;
    let rest = rest
        .strip_prefix("- - [")
        .ok_or_else(|| err("no ident/user"))?;
    let (time, rest) = rest.split_once("] \"").ok_or_else(|| err("no time"))?;
    let unix = parse_time(time).ok_or_else(|| err("bad time"))?;
    let (request, rest) = until_quote(rest).ok_or_else(|| err("unterminated request"))?;
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| err("no space after request"))?;
    let (status, rest) = rest.split_once(' ').ok_or_else(|| err("no status"))?;
    let (size, rest) = rest.split_once(' ').ok_or_else(|| err("no size"))?;
    let rest = rest.strip_prefix('"').ok_or_else(|| err("no referer"))?;
    let (referer, rest) = until_quote(rest).ok_or_else(|| err("unterminated referer"))?;
    let rest = rest
        .strip_prefix(" \"")
        .ok_or_else(|| err("no user agent"))?;
    let (ua, rest) = until_quote(rest).ok_or_else(|| err("unterminated user agent"))?;
    if !rest.is_empty() {
        return Err(err("trailing bytes"));
    }
    if status.len() != 3 {
        return Err(err("status is not three digits"));
    }
    Ok(Line {
        ip,
        unix,
        request,
        status: status.parse().map_err(|_| err("bad status"))?,
        size: size.parse().map_err(|_| err("bad size"))?,
        referer,
        ua,
    })
}

fn cfg(lines: u64, seed: u64, wave: bool) -> CorpusConfig {
    CorpusConfig {
        lines,
        seed,
        wave,
        ..CorpusConfig::default()
    }
}

/// A 100k-line corpus with the wave, shared by the tests that only read it.
fn big_wave() -> &'static (String, Vec<Label>) {
    static CORPUS: OnceLock<(String, Vec<Label>)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let (log, labels) = generate_bytes(&cfg(100_000, 11, true));
        (String::from_utf8(log).expect("the log is ASCII"), labels)
    })
}

/// A 100k-line corpus without the wave.
fn big_plain() -> &'static (String, Vec<Label>) {
    static CORPUS: OnceLock<(String, Vec<Label>)> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let (log, labels) = generate_bytes(&cfg(100_000, 5, false));
        (String::from_utf8(log).expect("the log is ASCII"), labels)
    })
}

fn roles(labels: &[Label]) -> HashMap<IpAddr, Role> {
    labels.iter().map(|l| (l.ip, l.role)).collect()
}

#[test]
fn same_config_same_bytes_different_seed_different_bytes() {
    for wave in [false, true] {
        let a = generate_bytes(&cfg(20_000, 7, wave));
        let b = generate_bytes(&cfg(20_000, 7, wave));
        assert!(a.0 == b.0, "same seed gave different logs");
        assert_eq!(a.1, b.1);
        let c = generate_bytes(&cfg(20_000, 8, wave));
        assert!(a.0 != c.0, "different seeds gave the same log");
    }
    // Writing through `generate` gives the same bytes as `generate_bytes`.
    let mut out = Vec::new();
    let labels = generate(&cfg(5_000, 3, true), &mut out).unwrap();
    assert_eq!((out, labels), generate_bytes(&cfg(5_000, 3, true)));
}

/// FNV-1a of the whole output, to notice any change of the corpus.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn output_is_pinned() {
    // The corpus for a seed must stay byte-identical across releases, since benchmark
    // results and recorded expectations refer to it. If a change to the generator is
    // intended, update these values and say so in the change log.
    let (log, labels) = generate_bytes(&cfg(3_000, 1, true));
    assert_eq!(
        (fingerprint(&log), log.len(), labels.len()),
        (PINNED_HASH, PINNED_LEN, PINNED_LABELS)
    );
}

const PINNED_HASH: u64 = 8_312_945_249_859_436_195;
const PINNED_LEN: usize = 789_507;
const PINNED_LABELS: usize = 277;

#[test]
fn every_line_parses_and_times_never_decrease() {
    for (log, labels) in [big_wave(), big_plain()] {
        assert_eq!(log.lines().count(), 100_000);
        assert!(log.ends_with('\n'));
        let mut last = i64::MIN;
        for line in log.lines() {
            let l = parse(line).unwrap();
            assert!(l.unix >= last, "time went back at {line}");
            assert!(
                (DEFAULT_START_UNIX..DEFAULT_START_UNIX + DEFAULT_SPAN_SECS).contains(&l.unix),
                "{line}"
            );
            last = l.unix;
            assert!(!l.ua.is_empty() && !l.referer.is_empty(), "{line}");
        }
        // The span is used: first line in the first hour, last in the last hour.
        let first = parse(log.lines().next().unwrap()).unwrap().unix;
        assert!(first < DEFAULT_START_UNIX + 3600);
        assert!(last >= DEFAULT_START_UNIX + DEFAULT_SPAN_SECS - 3600);
        assert!(!labels.is_empty());
    }
}

#[test]
fn labels_cover_every_source_once() {
    for (log, labels) in [big_wave(), big_plain()] {
        let mut sorted = labels.clone();
        sorted.sort();
        assert_eq!(&sorted, labels, "labels are not sorted by address");
        let unique: HashSet<IpAddr> = labels.iter().map(|l| l.ip).collect();
        assert_eq!(unique.len(), labels.len(), "an address has two labels");
        let in_log: HashSet<IpAddr> = log.lines().map(|l| parse(l).unwrap().ip).collect();
        assert_eq!(in_log, unique, "labels and log sources differ");
        let v6 = labels.iter().filter(|l| l.ip.is_ipv6()).count();
        let share = v6 as f64 / labels.len() as f64;
        assert!((0.05..0.2).contains(&share), "IPv6 share {share}");
        for l in labels {
            if let IpAddr::V6(a) = l.ip {
                assert_eq!(&a.segments()[..2], &[0x2001, 0x0db8], "{a}");
            }
        }
    }
}

#[test]
fn role_mix_is_within_tolerance() {
    let (log, labels) = big_plain();
    let roles = roles(labels);
    let mut counts: HashMap<Role, usize> = HashMap::new();
    for line in log.lines() {
        *counts.entry(roles[&parse(line).unwrap().ip]).or_default() += 1;
    }
    let expected = [
        (Role::Reader, 0.80, 0.015),
        (Role::Crawler, 0.08, 0.005),
        (Role::Feed, 0.04, 0.004),
        (Role::ScannerNoise, 0.045, 0.002),
        (Role::ScannerWordpress, 0.015, 0.001),
        (Role::Exploit, 0.01, 0.001),
        (Role::Bruteforce, 0.007, 0.0015),
        (Role::Junk, 0.003, 0.001),
        (Role::Wave, 0.0, 0.0),
    ];
    for (role, share, tolerance) in expected {
        let got = *counts.get(&role).unwrap_or(&0) as f64 / 100_000.0;
        assert!(
            (got - share).abs() <= tolerance,
            "{role}: {got:.4} instead of {share} ± {tolerance}"
        );
    }
    // Every role but the wave has sources.
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Wave) {
        assert!(labels.iter().any(|l| l.role == role), "no {role} source");
    }
}

#[test]
fn wordpress_scanners_fingerprint_first() {
    for (log, labels) in [big_wave(), big_plain()] {
        let roles = roles(labels);
        let mut seen = HashSet::new();
        let mut sources = 0;
        for line in log.lines() {
            let l = parse(line).unwrap();
            if roles[&l.ip] == Role::ScannerWordpress && seen.insert(l.ip) {
                sources += 1;
                assert_eq!(
                    (l.method(), l.target(), l.status),
                    ("GET", "/wp-login.php", 200),
                    "{line}"
                );
            }
        }
        assert!(sources >= 20, "only {sources} WordPress scanners");
    }
}

#[test]
fn each_role_behaves_as_promised() {
    let (log, labels) = big_wave();
    let roles = roles(labels);
    let mut per_source: HashMap<IpAddr, usize> = HashMap::new();
    for line in log.lines() {
        let l = parse(line).unwrap();
        let role = roles[&l.ip];
        *per_source.entry(l.ip).or_default() += 1;
        match role {
            Role::ScannerNoise => {
                assert_ne!(l.status, 200, "noise answered 200: {line}");
                assert!(matches!(l.status, 301 | 400 | 403 | 404), "{line}");
            }
            Role::Bruteforce => {
                assert_eq!(l.method(), "POST", "{line}");
                assert!(
                    matches!(l.target(), "/wp-login.php" | "/xmlrpc.php"),
                    "{line}"
                );
                assert_eq!(l.status, 200, "{line}");
            }
            Role::Junk => {
                assert_eq!(l.status, 400, "{line}");
                assert!(!l.request.ends_with(" HTTP/1.1") || l.request.starts_with("SSTP"));
            }
            Role::Exploit => {
                assert!(matches!(l.status, 200 | 400 | 403 | 404 | 500), "{line}");
            }
            Role::Wave => {
                assert!(matches!(l.status, 400 | 403 | 404), "{line}");
                assert!(!l.ua.starts_with("Mozilla/5.0 (compatible; Googlebot"));
            }
            Role::Reader => {
                assert!(matches!(l.status, 200 | 301 | 302 | 304 | 404), "{line}");
                assert!(l.ua.starts_with("Mozilla/5.0 ("), "{line}");
            }
            Role::Crawler => {
                let ua = l.ua.to_ascii_lowercase();
                assert!(ua.contains("bot") || ua.contains("spider"), "{line}");
            }
            Role::Feed => assert!(l.target().contains("feed"), "{line}"),
            Role::ScannerWordpress => {}
        }
    }
    // Exploit kits send bursts, not single requests.
    let exploit: Vec<usize> = labels
        .iter()
        .filter(|l| l.role == Role::Exploit)
        .map(|l| per_source[&l.ip])
        .collect();
    let mean = exploit.iter().sum::<usize>() as f64 / exploit.len() as f64;
    assert!(
        mean >= 3.0,
        "exploit sources send {mean} requests on average"
    );
    // A reader keeps one user agent.
    let mut ua_of: HashMap<IpAddr, &str> = HashMap::new();
    for line in log.lines() {
        let l = parse(line).unwrap();
        if roles[&l.ip] == Role::Reader {
            assert_eq!(*ua_of.entry(l.ip).or_insert(l.ua), l.ua, "{line}");
        }
    }
}

#[test]
fn exploit_payloads_are_all_there() {
    let (log, labels) = big_plain();
    let roles = roles(labels);
    let exploit: String = log
        .lines()
        .filter(|l| roles[&parse(l).unwrap().ip] == Role::Exploit)
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "UNION",
        "SLEEP(",
        "etc/passwd",
        "%2e%2e/",
        "php://filter",
        "%3Cscript%3E",
        "${jndi:",
        "() { :; };",
        "%ADd+allow_url_include%3d1",
        "wget+http://",
    ] {
        assert!(
            exploit.contains(needle),
            "no exploit line contains {needle}"
        );
    }
}

#[test]
fn bruteforce_is_fast_and_slow() {
    let (log, labels) = big_plain();
    let roles = roles(labels);
    let mut times: HashMap<IpAddr, Vec<i64>> = HashMap::new();
    for line in log.lines() {
        let l = parse(line).unwrap();
        if roles[&l.ip] == Role::Bruteforce {
            times.entry(l.ip).or_default().push(l.unix);
        }
    }
    let mut fast = 0;
    let mut slow = 0;
    for ts in times.values() {
        let busiest_minute = ts
            .iter()
            .map(|t| ts.iter().filter(|u| (*t..t + 60).contains(*u)).count())
            .max()
            .unwrap();
        let spread = ts.last().unwrap() - ts.first().unwrap();
        if busiest_minute >= 10 {
            fast += 1;
        } else if busiest_minute <= 3 && spread > 86_400 {
            slow += 1;
        }
    }
    assert!(fast >= 1 && slow >= 1, "fast {fast}, slow {slow}");
}

#[test]
fn wave_only_in_second_half_and_only_when_asked() {
    let (log, labels) = big_wave();
    let roles = roles(labels);
    let mid = DEFAULT_START_UNIX + DEFAULT_SPAN_SECS / 2;
    let mut wave_sources = HashSet::new();
    let mut viral_sources = HashSet::new();
    for line in log.lines() {
        let l = parse(line).unwrap();
        if roles[&l.ip] == Role::Wave {
            assert!(l.unix >= mid, "wave before the middle: {line}");
            wave_sources.insert(l.ip);
        }
        if l.target() == "/2025/11/the-night-our-dns-went-dark/" {
            assert!(l.unix >= mid, "new post before the middle: {line}");
            assert!(roles[&l.ip].is_benign(), "{line}");
            assert!(matches!(l.status, 200 | 304), "{line}");
            viral_sources.insert(l.ip);
        }
    }
    assert!(
        wave_sources.len() >= 30,
        "{} wave sources",
        wave_sources.len()
    );
    assert!(
        viral_sources.len() >= 100,
        "{} readers of the new post",
        viral_sources.len()
    );
    // Each wave source sends one to three requests.
    let labelled = labels.iter().filter(|l| l.role == Role::Wave).count();
    assert_eq!(labelled, wave_sources.len());

    let (plain, plain_labels) = big_plain();
    assert!(plain_labels.iter().all(|l| l.role != Role::Wave));
    assert!(!plain.contains("/cgi-bin/vpnapi/") && !plain.contains("/rest/v3/sysinfo/"));
    assert!(!plain.contains("the-night-our-dns-went-dark"));
}

#[test]
fn small_and_custom_configs() {
    for lines in [0u64, 1, 2, 10, 99, 1_000] {
        for wave in [false, true] {
            let (log, labels) = generate_bytes(&cfg(lines, 4, wave));
            let text = String::from_utf8(log).unwrap();
            assert_eq!(
                text.lines().count() as u64,
                lines,
                "lines={lines} wave={wave}"
            );
            let in_log: HashSet<IpAddr> = text.lines().map(|l| parse(l).unwrap().ip).collect();
            assert_eq!(in_log.len(), labels.len());
        }
    }
    let c = CorpusConfig {
        lines: 2_000,
        seed: 9,
        wave: true,
        start_unix: 1_700_000_000,
        span_secs: 3_600,
    };
    let (log, _) = generate_bytes(&c);
    let text = String::from_utf8(log).unwrap();
    let first = parse(text.lines().next().unwrap()).unwrap();
    assert!(text.starts_with(&format!("{} - - [14/Nov/2023:23:", first.ip)));
    for line in text.lines() {
        let t = parse(line).unwrap().unix;
        assert!((1_700_000_000..1_700_003_600).contains(&t), "{line}");
    }
}

#[test]
fn labels_serialise_as_json_lines() {
    let labels = [
        Label {
            ip: "192.0.2.7".parse().unwrap(),
            role: Role::ScannerWordpress,
        },
        Label {
            ip: "2001:db8::1".parse().unwrap(),
            role: Role::Reader,
        },
    ];
    let mut out = Vec::new();
    write_labels(&labels, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"ip\": \"192.0.2.7\", \"role\": \"scanner-wordpress\"}\n\
         {\"ip\": \"2001:db8::1\", \"role\": \"reader\"}\n"
    );
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
    }
    assert!("scanner".parse::<Role>().is_err());
}

#[test]
fn binary_writes_the_same_corpus_and_labels() {
    let dir = std::env::temp_dir().join(format!("scantriage-gen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let labels_path = dir.join("labels.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scantriage-gen"))
        .args(["--lines", "3000", "--seed", "5", "--wave", "--labels"])
        .arg(&labels_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (log, labels) = generate_bytes(&cfg(3_000, 5, true));
    assert!(out.stdout == log, "binary and library disagree");
    let mut expected = Vec::new();
    write_labels(&labels, &mut expected).unwrap();
    assert_eq!(std::fs::read(&labels_path).unwrap(), expected);
    std::fs::remove_dir_all(&dir).unwrap();

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_scantriage-gen"))
        .arg("--lines")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
