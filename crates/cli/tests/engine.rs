//! One input, every code path: the prefiltered, cached engine agrees with exhaustive
//! evaluation on every line of a labelled corpus and of hostile variants of it.

use scantriage_detect::{heuristics, RuleSet, Scratch, Vocabulary};
use scantriage_ingest::{LogFormat, Parser, ParserConfig};
use scantriage_testkit::{generate_bytes, CorpusConfig};

#[test]
fn prefilter_never_misses_a_match() {
    let (rules, errors) = RuleSet::load(&[], &Vocabulary::default());
    assert!(errors.is_empty(), "{errors:?}");
    let (log, _) = generate_bytes(&CorpusConfig {
        lines: 15_000,
        seed: 21,
        wave: true,
        ..Default::default()
    });
    let parser = Parser::new(ParserConfig::new(LogFormat::Combined));
    let (mut s1, mut s2) = (Scratch::default(), Scratch::default());
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    let mut matched_lines = 0;
    for (n, line) in log.split(|&b| b == b'\n').enumerate() {
        let Ok(req) = parser.parse(line) else {
            continue;
        };
        // The line as logged, and the same request with its target upper-cased and
        // percent-encoded once more, as evasive scanners send it.
        let mut variants = vec![req.clone()];
        let mut evasive = req.clone();
        let upper: Vec<u8> = req.target.iter().map(u8::to_ascii_uppercase).collect();
        let mut enc = Vec::new();
        for &b in &upper {
            if b == b'.' || b == b'/' && !enc.is_empty() {
                enc.extend_from_slice(format!("%{b:02X}").as_bytes());
            } else {
                enc.push(b);
            }
        }
        evasive.target = enc.into();
        variants.push(evasive);
        for r in &variants {
            fast.clear();
            slow.clear();
            rules.matches_into(r, &mut s1, &mut fast);
            rules.matches_exhaustive_into(r, &mut s2, &mut slow);
            assert_eq!(
                fast,
                slow,
                "line {}: {:?}",
                n + 1,
                String::from_utf8_lossy(&r.request_line)
            );
            // The cached suspicion agrees with a fresh evaluation too.
            assert_eq!(
                heuristics::suspicion(r, &s1),
                heuristics::suspicion(r, &s2),
                "line {}",
                n + 1
            );
            matched_lines += usize::from(!fast.is_empty());
        }
    }
    assert!(
        matched_lines > 500,
        "too few matches to mean anything: {matched_lines}"
    );
}
