//! Campaigns and new waves on a labelled corpus from the project's own generator: the
//! wave is found before the end of the log, its sources are the wave-labelled ones, the
//! new popular page is not reported, and the drafted signature, once accepted, matches
//! every wave request and nothing else.

mod common;

use common::*;
use scantriage_detect::{parse_rule_file, RuleSet, Scratch, Vocabulary};
use scantriage_ingest::{LogFormat, Parser, ParserConfig};
use scantriage_testkit::{generate_bytes, CorpusConfig, Role};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

const LINES: u64 = 200_000;

/// The 200k-line corpus with the wave (seed 3): (log, roles by address).
fn corpus() -> &'static (Vec<u8>, HashMap<String, Role>) {
    static C: OnceLock<(Vec<u8>, HashMap<String, Role>)> = OnceLock::new();
    C.get_or_init(|| {
        let (log, labels) = generate_bytes(&CorpusConfig {
            lines: LINES,
            wave: true,
            seed: 3,
            ..Default::default()
        });
        let roles = labels.iter().map(|l| (l.ip.to_string(), l.role)).collect();
        (log, roles)
    })
}

/// Runs `analyze --output json --no-store` and returns (sources, campaign objects, summary).
fn analyze(args: &[&str]) -> (HashMap<String, Value>, Vec<Value>, Value) {
    let out = scantriage()
        .arg("analyze")
        .args(["--output", "json", "--no-progress", "--no-store"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut sources, mut campaigns, mut summary) = (HashMap::new(), Vec::new(), Value::Null);
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else if let Some(c) = v.get("campaign") {
            assert!(summary.is_null(), "campaigns come before the summary");
            campaigns.push(c.clone());
        } else {
            sources.insert(v["ip"].as_str().unwrap().to_string(), v);
        }
    }
    (sources, campaigns, summary)
}

fn emerging(campaigns: &[Value]) -> Vec<&Value> {
    campaigns
        .iter()
        .filter(|c| c["kind"] == "emerging")
        .collect()
}

/// The site's readers fetch the new post; it must never be reported.
const VIRAL: &str = "the-night-our-dns-went-dark";

#[test]
fn the_wave_is_found_with_default_thresholds_and_the_new_post_is_not() {
    let (log, roles) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", log);
    let cfg = write(dir.path(), "c.toml", WP_CONFIG.as_bytes());
    let (_, campaigns, summary) = analyze(&["--config", &cfg, &path]);
    let em = emerging(&campaigns);
    assert!(!em.is_empty(), "no emerging campaign: {}", summary["waves"]);
    for c in &em {
        let t = c["template"].as_str().unwrap();
        assert!(!t.contains(VIRAL) && !t.contains("dns-outage"), "{c}");
        let line = c["detected_at"]["line"].as_u64().unwrap();
        assert!(line < LINES, "detected at the last line: {c}");
        for ip in c["source_sample"].as_array().unwrap() {
            assert_eq!(roles[ip.as_str().unwrap()], Role::Wave, "{c}");
        }
        assert!(c["draft"]["id"]
            .as_str()
            .unwrap()
            .starts_with("draft-wave-"));
        assert_eq!(c["draft"]["file"], Value::Null, "no drafts unless asked");
    }
    // The larger of the two new templates is found whatever the thresholds.
    assert!(em
        .iter()
        .any(|c| c["template"] == "/cgi-bin/vpnapi/status/{hex}"));
    assert_eq!(summary["waves"]["emerging"], em.len() as u64);
    assert!(
        summary["waves"]["memory_bytes"].as_u64()
            <= summary["waves"]["memory_bound_bytes"].as_u64()
    );
}

/// The corpus has 66 wave sources split over two templates across 36 hours, so the
/// smaller template stays below the default 20 sources in any 24 hours: this test
/// lowers the thresholds to see every wave source.
const LOW: &str = "\n[campaigns]\nmin_sources = 10\nmin_networks = 8\n";

#[test]
fn wave_sources_are_exactly_the_wave_and_the_draft_matches_only_the_wave() {
    let (log, roles) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", log);
    let cfg = write(dir.path(), "c.toml", format!("{WP_CONFIG}{LOW}").as_bytes());
    let drafts = dir.path().join("drafts");
    let (_, campaigns, _) = analyze(&[
        "--config",
        &cfg,
        "--drafts",
        drafts.to_str().unwrap(),
        &path,
    ]);
    let em = emerging(&campaigns);
    let wave: BTreeSet<&str> = roles
        .iter()
        .filter(|(_, r)| **r == Role::Wave)
        .map(|(ip, _)| ip.as_str())
        .collect();
    let total: u64 = em.iter().map(|c| c["sources"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, wave.len(), "{em:?}");
    for c in &em {
        assert!(!c["template"].as_str().unwrap().contains(VIRAL));
        for ip in c["source_sample"].as_array().unwrap() {
            assert!(wave.contains(ip.as_str().unwrap()), "{ip} in {c}");
        }
        assert_eq!(c["draft"]["problems"], serde_json::json!([]), "{c}");
    }

    // Accept every draft into a local rule directory.
    let rules_dir = dir.path().join("local-rules");
    let mut ids = Vec::new();
    for c in &em {
        let file = c["draft"]["file"].as_str().unwrap();
        ids.push(c["draft"]["id"].as_str().unwrap().to_string());
        let out = scantriage()
            .args(["rules", "accept", file, "--to", rules_dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!std::path::Path::new(file).exists(), "moved, not copied");
    }
    let cfg2 = write(
        dir.path(),
        "c2.toml",
        format!(
            "[rules]\ndirs = [\"{}\"]\n{WP_CONFIG}{LOW}",
            rules_dir.display()
        )
        .as_bytes(),
    );
    let out = scantriage()
        .args(["rules", "test", "--config", &cfg2])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Request by request: the drafted rules match every wave request and nothing else.
    let vocab = Vocabulary::default();
    let mut sigs = Vec::new();
    for f in std::fs::read_dir(&rules_dir).unwrap() {
        let f = f.unwrap().path();
        let (s, e) = parse_rule_file("draft", &std::fs::read_to_string(&f).unwrap(), &vocab);
        assert!(e.is_empty(), "{e:?}");
        sigs.extend(s);
    }
    let drafted = RuleSet::new(sigs);
    let parser = Parser::new(ParserConfig {
        format: LogFormat::Combined,
        json: Default::default(),
        trusted_proxies: Vec::new(),
    });
    let (mut scratch, mut out, mut wave_requests) = (Scratch::default(), Vec::new(), 0);
    for (n, line) in log.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let req = parser.parse(line).unwrap();
        out.clear();
        drafted.matches_into(&req, &mut scratch, &mut out);
        let is_wave = roles[&req.source.to_string()] == Role::Wave;
        wave_requests += usize::from(is_wave);
        assert_eq!(
            !out.is_empty(),
            is_wave,
            "line {}: {}",
            n + 1,
            String::from_utf8_lossy(line)
        );
    }
    assert!(wave_requests > 60);

    // A second analysis names the signature for every wave source, and only for them.
    let (sources, campaigns, _) = analyze(&["--config", &cfg2, &path]);
    for (ip, s) in &sources {
        let named = s["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| ids.iter().any(|id| x == id.as_str()));
        assert_eq!(named, wave.contains(ip.as_str()), "{ip}: {s}");
        if wave.contains(ip.as_str()) {
            assert_eq!(
                s["by_verdict"][0], 0,
                "every wave request is recognised: {s}"
            );
        }
    }
    assert!(emerging(&campaigns).is_empty(), "the wave is no longer new");
}

#[test]
fn campaigns_list_noise_probes_by_target_in_json_and_terminal() {
    let (log, _) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", log);
    let cfg = write(dir.path(), "c.toml", WP_CONFIG.as_bytes());
    let (_, campaigns, summary) = analyze(&["--config", &cfg, &path]);
    let targets: HashMap<&str, &Value> = campaigns
        .iter()
        .filter(|c| c["kind"] == "target")
        .map(|c| (c["target"].as_str().unwrap(), c))
        .collect();
    for t in ["phpmyadmin", "thinkphp", "router"] {
        let c = targets
            .get(t)
            .unwrap_or_else(|| panic!("no campaign for {t}"));
        assert_eq!(c["verdict"], "noise", "{c}");
        assert_eq!(c["installed"], false);
        assert!(c["sources"].as_u64().unwrap() >= 10, "{c}");
        assert!(c["networks"].as_u64().unwrap() <= c["sources"].as_u64().unwrap());
        assert!(!c["windows"].as_array().unwrap().is_empty());
        assert!(c["growth"]["sources_last_window"].is_u64());
    }
    assert_eq!(targets["wordpress"]["installed"], true);
    let sig = campaigns
        .iter()
        .find(|c| c["kind"] == "signature" && c["signature"] == "phpmyadmin-recon")
        .expect("signature campaign");
    let windows = sig["windows"].as_array().unwrap();
    let in_windows: u64 = windows
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(in_windows, sig["requests"].as_u64().unwrap());
    // The summary's campaigns are still there, unchanged.
    assert!(summary["campaigns"][0]["signature"].is_string());

    let out = scantriage()
        .args([
            "analyze",
            "--no-store",
            "--no-progress",
            "--config",
            &cfg,
            &path,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let section = text
        .split("CAMPAIGNS BY TARGET")
        .nth(1)
        .expect("campaigns section");
    for t in ["phpmyadmin", "thinkphp", "router"] {
        let row = section
            .lines()
            .find(|l| l.trim_start().starts_with(t))
            .unwrap_or_else(|| panic!("{t} missing:\n{section}"));
        assert!(row.contains("not run here"), "{row}");
    }
    assert!(text.contains("EMERGING CAMPAIGNS"));
}

#[test]
fn no_campaigns_turns_it_off_and_site_paths_seed_the_served_set() {
    let (log, _) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", log);
    let cfg = write(dir.path(), "c.toml", format!("{WP_CONFIG}{LOW}").as_bytes());
    let (_, campaigns, summary) = analyze(&["--config", &cfg, "--no-campaigns", &path]);
    assert!(campaigns.is_empty());
    assert_eq!(summary["waves"]["enabled"], false);
    assert!(summary["campaigns"][0]["signature"].is_string());
    // A sitemap that lists the probed path makes it the site's own.
    let sitemap = write(
        dir.path(),
        "sitemap.xml",
        b"<urlset><url><loc>https://blog.example.org/cgi-bin/vpnapi/status/0a1b2c3d</loc></url></urlset>",
    );
    let cfg = write(
        dir.path(),
        "c3.toml",
        format!("{WP_CONFIG}{LOW}site_paths = [\"{sitemap}\"]\n").as_bytes(),
    );
    let (_, campaigns, _) = analyze(&["--config", &cfg, &path]);
    let em = emerging(&campaigns);
    assert!(!em.is_empty());
    assert!(em
        .iter()
        .all(|c| c["template"] != "/cgi-bin/vpnapi/status/{hex}"));
}

#[test]
fn a_bad_draft_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "draft-wave-bad.toml",
        b"[[rule]]\nid = \"draft-wave-bad\"\nname = \"x\"\ntargets = [\"generic\"]\ncategory = \"recon\"\nseverity = \"medium\"\npath = { prefix = [\"/zzz/\"] }\n[[rule.examples.match]]\nrequest = \"GET /other HTTP/1.1\"\n[[rule.examples.no_match]]\nrequest = \"GET / HTTP/1.1\"\n",
    );
    let to = dir.path().join("rules");
    let out = scantriage()
        .args(["rules", "accept", &bad, "--to", to.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not match"));
    assert!(std::path::Path::new(&bad).exists() && !to.exists());
}

#[test]
fn campaigns_do_not_depend_on_the_thread_count() {
    let (log, _) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "access.log",
        &log[..log.len() / 2 + log.len() / 4],
    );
    let cfg = write(dir.path(), "c.toml", format!("{WP_CONFIG}{LOW}").as_bytes());
    let (_, one, s1) = analyze(&["--config", &cfg, "-j", "1", &path]);
    let (_, many, s4) = analyze(&["--config", &cfg, "-j", "4", &path]);
    assert!(!emerging(&one).is_empty());
    assert_eq!(one, many);
    assert_eq!(s1["waves"], s4["waves"]);
}

#[test]
fn campaigns_are_kept_in_the_store_for_later() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = scantriage_testkit::generate_bytes(&scantriage_testkit::CorpusConfig {
        lines: 60_000,
        seed: 12,
        wave: true,
        ..Default::default()
    });
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let db = dir.path().join("s.db").display().to_string();
    let ok = assert_cmd::Command::cargo_bin("scantriage")
        .unwrap()
        .args(["analyze", "--no-progress", "--output", "json", "--db", &db])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed = String::from_utf8(ok.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"campaign\""))
        .count();
    let out = assert_cmd::Command::cargo_bin("scantriage")
        .unwrap()
        .args([
            "campaigns",
            "--output",
            "json",
            "--limit",
            "100000",
            "--db",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stored.len(), printed, "every printed campaign is stored");
    let kinds: std::collections::BTreeSet<&str> = stored
        .iter()
        .map(|c| c["campaign"]["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("target") && kinds.contains("signature"),
        "{kinds:?}"
    );
}

/// An ASN database for the test: every IPv4 /8 is its own autonomous system
/// (64512 + first octet, from the private-use range), named `AS-<octet>`.
fn asn_db(dir: &std::path::Path) -> String {
    let mut w = mmdb_writer::Writer::new("GeoLite2-ASN");
    for octet in 0u8..=255 {
        let net: ipnet::IpNet = format!("{octet}.0.0.0/8").parse().unwrap();
        let value = mmdb_writer::Value::map([
            (
                "autonomous_system_number",
                mmdb_writer::Value::from(64512u32 + u32::from(octet)),
            ),
            (
                "autonomous_system_organization",
                mmdb_writer::Value::from(format!("AS-{octet}")),
            ),
        ]);
        w.insert_value(net, value).unwrap();
    }
    write(dir, "asn.mmdb", &w.to_bytes().unwrap())
}

fn first_octet(ip: &str) -> Option<u8> {
    match ip.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.octets()[0]),
        std::net::IpAddr::V6(_) => None,
    }
}

#[test]
fn campaigns_count_autonomous_systems_when_an_asn_database_is_configured() {
    let (log, roles) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "access.log", log);
    let db = asn_db(dir.path());
    let cfg = format!("{WP_CONFIG}\n[campaigns]\nasn_db = {db:?}\n");
    let cfg = write(dir.path(), "c.toml", cfg.as_bytes());

    let (_, campaigns, _) = analyze(&["--config", &cfg, &path]);
    // The wave's sources: one autonomous system per distinct first octet.
    let em = emerging(&campaigns);
    assert!(!em.is_empty());
    let wave = em
        .iter()
        .find(|c| c["template"] == "/cgi-bin/vpnapi/status/{hex}")
        .expect("the wave's campaign");
    for ip in wave["source_sample"].as_array().unwrap() {
        assert_eq!(roles[ip.as_str().unwrap()], Role::Wave);
    }
    // The template's sources, read from the log itself.
    let prefix = wave["template"]
        .as_str()
        .unwrap()
        .split('{')
        .next()
        .unwrap();
    let expected: BTreeSet<u8> = String::from_utf8_lossy(log)
        .lines()
        .filter(|l| l.contains(&format!("GET {prefix}")))
        .filter_map(|l| first_octet(l.split(' ').next().unwrap()))
        .collect();
    assert_eq!(wave["asns"].as_u64(), Some(expected.len() as u64), "{wave}");
    let top = wave["top_asns"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 5);
    for t in top {
        let asn = t["asn"].as_u64().unwrap();
        assert!((64512..64512 + 256).contains(&asn));
        assert_eq!(t["org"], format!("AS-{}", asn - 64512));
    }
    // Most sources first.
    let counts: Vec<u64> = top.iter().map(|t| t["sources"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");

    // Target and signature campaigns: at least one system, never more than sources.
    let mut seen = 0;
    for c in campaigns.iter().filter(|c| c["kind"] != "emerging") {
        let (asns, sources) = (c["asns"].as_u64().unwrap(), c["sources"].as_u64().unwrap());
        assert!(asns <= sources.min(256), "{c}");
        let in_top: u64 = c["top_asns"].as_array().map_or(0, |t| {
            t.iter().map(|t| t["sources"].as_u64().unwrap()).sum()
        });
        assert!(in_top <= sources, "{c}");
        seen += usize::from(asns > 1);
    }
    assert!(seen > 0, "no campaign spans several systems");

    // Without a database the count is null; a broken database is named in the error.
    let plain = write(dir.path(), "plain.toml", WP_CONFIG.as_bytes());
    let (_, campaigns, _) = analyze(&["--config", &plain, &path]);
    assert!(campaigns
        .iter()
        .all(|c| c["asns"].is_null() && c.get("top_asns").is_none()));
    let bad = write(dir.path(), "bad.mmdb", b"not a database");
    let cfg = format!("{WP_CONFIG}\n[campaigns]\nasn_db = {bad:?}\n");
    let cfg = write(dir.path(), "bad.toml", cfg.as_bytes());
    let out = scantriage()
        .args([
            "analyze",
            "--no-store",
            "--no-progress",
            "--config",
            &cfg,
            &path,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.mmdb") && err.contains("campaigns.asn_db"),
        "{err}"
    );
}
