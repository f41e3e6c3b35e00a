//! Debian version comparison agrees with the real `dpkg --compare-versions` on 10,000
//! generated pairs with epochs, tildes, plus signs, letters and revisions.
//!
//! dpkg is asked one question per pair: the relation our comparison predicts (`lt`,
//! `eq` or `gt`). A yes confirms the prediction completely, so one dpkg run per pair
//! suffices; the pairs are fed to long-lived shells, one per core.

use scantriage_vuln::version::{compare, Scheme};
use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

const PAIRS: usize = 10_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick(&mut self, s: &[u8]) -> char {
        s[self.below(s.len() as u64) as usize] as char
    }
}

fn component(r: &mut Rng, first: bool) -> String {
    let mut s = String::new();
    if first {
        s.push(r.pick(b"0123456789"));
    }
    for _ in 0..r.below(6) {
        match r.below(10) {
            0..=3 => s.push(r.pick(b"0123456789")),
            4 | 5 => s.push(r.pick(b"abczAZ")),
            6 => s.push('.'),
            7 => s.push('~'),
            8 => s.push('+'),
            _ => s.push_str(&r.below(200).to_string()),
        }
    }
    s
}

fn version(r: &mut Rng) -> String {
    let mut v = String::new();
    if r.below(4) == 0 {
        v.push_str(&format!("{}:", r.below(3)));
    }
    v.push_str(&component(r, true));
    if r.below(2) == 0 {
        v.push('-');
        let mut rev = component(r, false);
        if rev.is_empty() {
            rev.push(r.pick(b"0123456789a"));
        }
        // A revision cannot start with what dpkg rejects; digits and letters are fine.
        v.push_str(&rev);
    }
    v
}

fn mutate(r: &mut Rng, a: &str) -> String {
    let mut b = a.to_string();
    match r.below(6) {
        0 => b.push('~'),
        1 => b.push_str(&format!("+deb{}u{}", r.below(13), r.below(3))),
        2 => b.push(r.pick(b"a0~.+")),
        3 if b.len() > 2 && !b.ends_with('-') => {
            b.pop();
        }
        4 => b = format!("{}:{b}", r.below(2)).replacen("::", ":", 1),
        _ => {}
    }
    if b.ends_with('-') || b.contains(":-") {
        b.push('1');
    }
    b
}

fn valid(v: &str) -> bool {
    // Keep only what dpkg accepts without complaint: upstream starts with a digit, at
    // most one epoch, no empty revision.
    let rest = match v.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) || rest.contains(':') {
                return false;
            }
            rest
        }
        None => v,
    };
    let upstream = rest.rsplit_once('-').map_or(rest, |(u, _)| u);
    upstream.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !rest.ends_with('-')
}

#[test]
fn debian_comparison_agrees_with_dpkg() {
    let dpkg = Command::new("dpkg").arg("--version").output();
    if dpkg.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "dpkg must be installed in CI: this test uses it as the oracle"
        );
        eprintln!("dpkg not found: skipping the oracle test");
        return;
    }
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let mut pairs = Vec::with_capacity(PAIRS);
    while pairs.len() < PAIRS {
        let a = version(&mut r);
        let b = if r.below(2) == 0 {
            mutate(&mut r, &a)
        } else {
            version(&mut r)
        };
        if valid(&a) && valid(&b) {
            pairs.push((a, b));
        }
    }
    let kinds = |f: &dyn Fn(&str) -> bool| pairs.iter().filter(|(a, b)| f(a) || f(b)).count();
    assert!(kinds(&|v| v.contains(':')) > 1000, "epochs");
    assert!(kinds(&|v| v.contains('~')) > 1000, "tildes");
    assert!(kinds(&|v| v.contains('+')) > 1000, "plus signs");
    assert!(
        kinds(&|v| v.bytes().any(|b| b.is_ascii_alphabetic())) > 1000,
        "letters"
    );
    assert!(kinds(&|v| v.contains('-')) > 1000, "revisions");

    let ops: Vec<&str> = pairs
        .iter()
        .map(|(a, b)| match compare(Scheme::Debian, a, b) {
            Ordering::Less => "lt",
            Ordering::Equal => "eq",
            Ordering::Greater => "gt",
        })
        .collect();
    let equal = ops.iter().filter(|o| **o == "eq").count();
    assert!(equal > 100, "too few equal pairs to be a test: {equal}");

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let chunk = PAIRS.div_ceil(workers);
    let script = r#"while read -r a op b; do if dpkg --compare-versions "$a" "$op" "$b" 2>/dev/null; then echo 1; else echo 0; fi; done"#;
    let answers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let lo = w * chunk;
                let hi = ((w + 1) * chunk).min(PAIRS);
                let input: String = (lo..hi)
                    .map(|i| format!("{} {} {}\n", pairs[i].0, ops[i], pairs[i].1))
                    .collect();
                s.spawn(move || {
                    let mut child = Command::new("sh")
                        .args(["-c", script])
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .spawn()
                        .expect("sh runs");
                    let mut stdin = child.stdin.take().unwrap();
                    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
                    let out = child.wait_with_output().expect("sh finishes");
                    writer.join().unwrap().unwrap();
                    String::from_utf8(out.stdout).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let answers: Vec<&str> = answers.iter().flat_map(|s| s.lines()).collect();
    assert_eq!(answers.len(), PAIRS, "dpkg answered every pair");
    let wrong: Vec<String> = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| **a != "1")
        .map(|(i, _)| format!("{} {} {}", pairs[i].0, ops[i], pairs[i].1))
        .take(20)
        .collect();
    assert!(wrong.is_empty(), "dpkg disagrees on: {wrong:#?}");
}
