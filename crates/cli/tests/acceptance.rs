//! Acceptance on a labelled corpus from the project's own generator: every role gets
//! the verdict and decision the triage promises.

mod common;

use common::*;
use scantriage_testkit::{generate_bytes, CorpusConfig, Role};
use serde_json::Value;
use std::collections::HashMap;

fn corpus(lines: u64, seed: u64) -> (tempfile::TempDir, String, HashMap<String, Role>) {
    let dir = tempfile::tempdir().unwrap();
    let (log, labels) = generate_bytes(&CorpusConfig {
        lines,
        seed,
        ..Default::default()
    });
    let path = write(dir.path(), "access.log", &log);
    let roles = labels.iter().map(|l| (l.ip.to_string(), l.role)).collect();
    (dir, path, roles)
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("missing {k} in {v}"))
}

#[test]
fn every_role_gets_its_decision_with_wordpress_in_the_inventory() {
    let (dir, log, roles) = corpus(120_000, 7);
    let cfg = write(dir.path(), "c.toml", WP_CONFIG.as_bytes());
    let (sources, summary, code, stderr) = analyze_json(&["--no-store", "--config", &cfg, &log]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["lines"], 120_000);
    assert_eq!(summary["parse_errors"], 0);
    let mut failures = Vec::new();
    let mut seen: HashMap<Role, usize> = HashMap::new();
    for (ip, role) in &roles {
        let s = sources
            .get(ip)
            .unwrap_or_else(|| panic!("{ip} ({role}) missing from the output"));
        *seen.entry(*role).or_default() += 1;
        let (verdict, decision) = (field(s, "verdict"), field(s, "decision"));
        let ok = match role {
            Role::Exploit | Role::Bruteforce => decision == "block",
            Role::ScannerWordpress => {
                matches!(verdict, "relevant" | "urgent") && matches!(decision, "watch" | "block")
            }
            Role::ScannerNoise => verdict == "noise" && decision == "ignore",
            Role::Reader | Role::Crawler | Role::Feed => decision == "ignore",
            Role::Junk | Role::Wave => decision != "block",
        };
        if !ok {
            failures.push(format!(
                "{role} {ip}: {verdict}/{decision} {:?} {}",
                s["signatures"], s["reasons"]
            ));
        }
    }
    for role in [
        Role::Exploit,
        Role::Bruteforce,
        Role::ScannerWordpress,
        Role::ScannerNoise,
        Role::Reader,
    ] {
        assert!(
            seen.get(&role).copied().unwrap_or(0) > 3,
            "too few {role} sources: {seen:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} sources misjudged:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every block and every CVE comes with its evidence.
    for s in sources.values() {
        if field(s, "decision") == "block" {
            let reasons = s["reasons"].as_array().unwrap();
            assert!(
                reasons
                    .iter()
                    .any(|r| r.as_str().unwrap().contains("access.log:")),
                "{s}"
            );
        }
    }
    assert!(
        summary["noise_pruned_pct"].as_f64().unwrap() > 50.0,
        "{summary}"
    );
}

#[test]
fn without_wordpress_in_the_inventory_its_probes_are_noise() {
    let (dir, log, roles) = corpus(60_000, 11);
    let cfg = write(dir.path(), "c.toml", NO_WP_CONFIG.as_bytes());
    let (sources, summary, code, stderr) = analyze_json(&["--no-store", "--config", &cfg, &log]);
    assert_eq!(code, 0, "{stderr}");
    // The person is told once that WordPress answers although the inventory lacks it.
    let hints = summary["inventory_hints"].as_array().unwrap();
    assert!(
        hints
            .iter()
            .any(|h| h["product"] == "wordpress" && h["sources"].as_u64().unwrap() > 3),
        "{hints:?}"
    );
    let mut checked = 0;
    for (ip, role) in &roles {
        if *role != Role::ScannerWordpress {
            continue;
        }
        let s = &sources[ip];
        checked += 1;
        // Probes that found nothing are noise; the login page that answered 200 says
        // the inventory may be wrong (unknown, for a person), never a block.
        assert!(matches!(field(s, "verdict"), "noise" | "unknown"), "{s}");
        assert_ne!(field(s, "decision"), "block", "{s}");
        let by = s["by_verdict"].as_array().unwrap();
        assert_eq!(
            by[3], 0,
            "no relevant WordPress probe without WordPress: {s}"
        );
    }
    assert!(checked > 3);
}
