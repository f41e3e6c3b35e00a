//! The signature pack against probe shapes seen on internet-facing servers, and against
//! ordinary site traffic: every probe is recognised (or listed as expected unmatched with
//! a reason), no ordinary request answered 200 leads to a watch or block decision, and none
//! matches an exploit signature.

mod common;

use common::*;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// A fixture file under `tests/fixtures/`.
fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The non-empty, non-comment lines of a fixture.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

/// A distinct documentation-range address for the n-th line.
fn addr(prefix: &str, n: usize) -> String {
    format!("{prefix}.{}.{}", n / 250, n % 250 + 1)
}

/// One combined-log line.
fn combined(ip: &str, n: usize, request: &str, status: u16, referer: &str, ua: &str) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let (request, referer, ua) = (esc(request), esc(referer), esc(ua));
    format!(
        "{ip} - - [25/Nov/2026:10:{:02}:{:02} +0000] \"{request} HTTP/1.1\" {status} 153 \"{referer}\" \"{ua}\"\n",
        (n / 60) % 60,
        n % 60
    )
}

/// Splits a probe line `METHOD TARGET[<TAB>ua=USER-AGENT][<TAB>referer=REFERER]` into
/// (request, user agent, referer); the user agent defaults to `Mozilla/5.0`.
fn probe_fields(line: &str, n: usize) -> (&str, &str, &str) {
    let mut parts = line.split('\t');
    let req = parts.next().unwrap_or_default();
    let (mut ua, mut referer) = ("Mozilla/5.0", "-");
    for field in parts {
        if let Some(v) = field.strip_prefix("ua=") {
            ua = v;
        } else if let Some(v) = field.strip_prefix("referer=") {
            referer = v;
        } else {
            panic!(
                "real_probes.txt probe {n} (`{line}`): field `{field}` is neither ua= nor referer="
            );
        }
    }
    (req, ua, referer)
}

#[test]
fn every_probe_shape_gets_a_signature() {
    let probes_text = fixture("real_probes.txt");
    let probes = lines(&probes_text);
    assert!(probes.len() >= 100, "only {} probe lines", probes.len());
    let unmatched_text = fixture("real_probes_unmatched.txt");
    let mut expected_unmatched = BTreeSet::new();
    for (i, l) in lines(&unmatched_text).into_iter().enumerate() {
        let (req, reason) = l.rsplit_once('\t').unwrap_or_else(|| {
            panic!(
                "real_probes_unmatched.txt line {}: no tab before the reason",
                i + 1
            )
        });
        assert!(
            !reason.trim().is_empty(),
            "real_probes_unmatched.txt: `{req}` has no reason"
        );
        assert!(
            probes.contains(&req),
            "real_probes_unmatched.txt: `{req}` is not a line of real_probes.txt"
        );
        expected_unmatched.insert(req.to_string());
    }

    let mut log = String::new();
    let mut by_ip = HashMap::new();
    for (n, line) in probes.iter().enumerate() {
        let ip = addr("198.51", n + 1);
        let (req, ua, referer) = probe_fields(line, n + 1);
        log.push_str(&combined(&ip, n, req, 404, referer, ua));
        by_ip.insert(ip, *line);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "probes.log", log.as_bytes());
    let (sources, summary, code, stderr) = analyze_json(&["--no-store", &path]);
    assert_eq!(code, 0, "analyze failed: {stderr}");
    assert_eq!(summary["lines"], probes.len(), "lines read: {summary}");

    let mut missing = Vec::new();
    let mut surprising = Vec::new();
    for (ip, req) in &by_ip {
        let signed = sources
            .get(ip)
            .and_then(|s| s["signatures"].as_array())
            .is_some_and(|a| !a.is_empty());
        match (signed, expected_unmatched.contains(*req)) {
            (false, false) => missing.push(*req),
            (true, true) => surprising.push(*req),
            _ => {}
        }
    }
    missing.sort();
    surprising.sort();
    assert!(
        missing.is_empty(),
        "probes without a signature: {missing:#?}"
    );
    assert!(
        surprising.is_empty(),
        "listed as expected unmatched but matched (drop them from real_probes_unmatched.txt): {surprising:#?}"
    );
}

/// The benign requests as (method and target, referer).
fn benign() -> Vec<(String, String)> {
    let text = fixture("benign_requests.txt");
    lines(&text)
        .into_iter()
        .map(|l| {
            let mut t = l.split_whitespace();
            let method = t.next().unwrap();
            let target = t
                .next()
                .unwrap_or_else(|| panic!("benign_requests.txt: `{l}` has no target"));
            let referer = t.next().unwrap_or("-").to_string();
            (format!("{method} {target}"), referer)
        })
        .collect()
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Analyses `log` on the WordPress site and returns the sources with a watch or block decision.
fn flagged(log: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "benign.log", log.as_bytes());
    let cfg = write(dir.path(), "c.toml", WP_CONFIG.as_bytes());
    let (sources, _, code, stderr) = analyze_json(&["--no-store", "--config", &cfg, &path]);
    assert_eq!(code, 0, "analyze failed: {stderr}");
    let mut out: Vec<String> = sources
        .values()
        .filter(|s| s["decision"] != "ignore")
        .map(|s| format!("{} {}: {}", s["ip"], s["decision"], s["reasons"]))
        .collect();
    out.sort();
    out
}

#[test]
fn ordinary_traffic_answered_200_is_never_watched() {
    let reqs = benign();
    assert!(reqs.len() >= 40, "only {} benign lines", reqs.len());
    let mut each = String::new();
    let mut one = String::new();
    for (n, (req, referer)) in reqs.iter().enumerate() {
        each.push_str(&combined(
            &addr("203.0", n + 1),
            n,
            req,
            200,
            referer,
            BROWSER,
        ));
        one.push_str(&combined("203.0.113.50", n, req, 200, referer, BROWSER));
    }
    let per_source = flagged(&each);
    assert!(
        per_source.is_empty(),
        "ordinary requests watched or blocked: {per_source:#?}"
    );
    let one_visitor = flagged(&one);
    assert!(
        one_visitor.is_empty(),
        "a visitor making all the ordinary requests is watched or blocked: {one_visitor:#?}"
    );
}

#[test]
fn ordinary_requests_carry_no_exploit_signature() {
    let out = scantriage()
        .args(["rules", "list", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "rules list failed");
    let exploit: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["category"] == "exploit")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(exploit.len() > 100, "only {} exploit rules", exploit.len());

    let reqs = benign();
    let mut log = String::new();
    let mut by_ip = HashMap::new();
    for (n, (req, referer)) in reqs.iter().enumerate() {
        let ip = addr("203.0", n + 1);
        log.push_str(&combined(&ip, n, req, 200, referer, BROWSER));
        by_ip.insert(ip, req.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "benign.log", log.as_bytes());
    let (sources, _, code, stderr) = analyze_json(&["--no-store", &path]);
    assert_eq!(code, 0, "analyze failed: {stderr}");
    let mut hits: Vec<String> = sources
        .values()
        .filter_map(|s| {
            let sigs: Vec<&str> = s["signatures"]
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str())
                .filter(|id| exploit.contains(*id))
                .collect();
            let ip = s["ip"].as_str()?;
            (!sigs.is_empty()).then(|| format!("{}: {sigs:?}", by_ip[ip]))
        })
        .collect();
    hits.sort();
    assert!(
        hits.is_empty(),
        "ordinary requests matched exploit signatures: {hits:#?}"
    );
}
