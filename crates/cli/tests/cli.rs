//! The `scantriage` command end to end: store and checkpoints, bad input, threads,
//! formats, configuration errors.

mod common;

use common::*;
use flate2::{write::GzEncoder, Compression};
use predicates::prelude::*;
use scantriage_testkit::{generate_bytes, CorpusConfig};
use std::io::Write;

fn corpus(lines: u64, seed: u64) -> Vec<u8> {
    generate_bytes(&CorpusConfig {
        lines,
        seed,
        ..Default::default()
    })
    .0
}

/// A corpus that ends now, so that its decisions are still in force.
fn recent_corpus(lines: u64, seed: u64) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    generate_bytes(&CorpusConfig {
        lines,
        seed,
        start_unix: now - 86_400,
        span_secs: 43_200,
        ..Default::default()
    })
    .0
}

/// Active decisions in the store, read through the command as a user would.
fn count_decisions(db: &str) -> i64 {
    let out = scantriage()
        .args(["decisions", "--output", "json", "--db", db])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().count() as i64
}

#[test]
fn analysing_the_same_file_twice_adds_nothing_and_a_grown_file_is_read_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = recent_corpus(20_000, 3);
    let log = write(dir.path(), "access.log", &data);
    let db = dir.path().join("st.db").display().to_string();
    let (first, s1, code, err) = analyze_json(&["--db", &db, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s1["lines"], 20_000);
    assert!(!first.is_empty());
    let decisions = count_decisions(&db);
    assert!(decisions > 0);

    let (second, s2, code, err) = analyze_json(&["--db", &db, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s2["lines"], 0, "{s2}");
    assert_eq!(s2["inputs"][0]["skipped_lines"], 20_000);
    assert!(second.is_empty());
    assert_eq!(
        count_decisions(&db),
        decisions,
        "second run added decisions"
    );

    // The file grows: only the new lines are read, and numbered as in the file.
    let more = corpus(1_000, 4);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&more).unwrap();
    drop(f);
    let (_, s3, code, err) = analyze_json(&["--db", &db, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s3["lines"], 1_000, "{s3}");

    // `show` finds a source from the store, with evidence lines from the file.
    let blocked = first
        .values()
        .find(|s| s["decision"] == "block")
        .expect("the corpus has sources to block");
    scantriage()
        .args(["show", blocked["ip"].as_str().unwrap(), "--db", &db])
        .assert()
        .success()
        .stdout(predicate::str::contains("access.log:"));
}

#[test]
fn a_replaced_file_under_the_same_name_is_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &corpus(5_000, 5));
    let db = dir.path().join("st.db").display().to_string();
    assert_eq!(analyze_json(&["--db", &db, &log]).1["lines"], 5_000);
    write(dir.path(), "access.log", &corpus(3_000, 6));
    assert_eq!(analyze_json(&["--db", &db, &log]).1["lines"], 3_000);
}

#[test]
fn one_thread_and_many_give_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    // Big enough for several chunks.
    let log = write(dir.path(), "access.log", &corpus(30_000, 8));
    let run = |j: &str| {
        let out = scantriage()
            .args(["analyze", "--no-store", "--output", "json", "-j", j, &log])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        // Drop the timing, which differs from run to run.
        strip_timing(&text)
    };
    let one = run("1");
    assert!(one.lines().count() > 100);
    assert_eq!(one, run("2"));
    assert_eq!(one, run("5"));
}

fn strip_timing(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("\"elapsed_ms\":") {
            Some(i) => {
                let end = l[i..].find(',').map_or(l.len(), |e| i + e);
                format!("{}{}", &l[..i], &l[end..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bad_lines_are_counted_shown_and_the_rest_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    data.extend_from_slice(b"198.51.100.1 - - [03/Nov/2025:10:00:00 +0100] \"GET /.env HTTP/1.1\" 404 0 \"-\" \"curl/8.0\"\n");
    data.extend_from_slice(b"this is not a log line\n");
    // Binary junk in the request field, as nginx logs a TLS handshake on port 80.
    data.extend_from_slice(b"198.51.100.2 - - [03/Nov/2025:10:00:01 +0100] \"\\x16\\x03\\x01\\x00\\xa5\\x01\\x00\\x00\" 400 157 \"-\" \"-\"\n");
    // Raw non-UTF-8 bytes and ANSI escapes in the user agent.
    data.extend_from_slice(b"198.51.100.3 - - [03/Nov/2025:10:00:02 +0100] \"GET / HTTP/1.1\" 200 10 \"-\" \"\xff\xfe\x1b[31mred\"\n");
    data.extend_from_slice(b"\xde\xad\xbe\xef garbage \x00\x01\n");
    // A very long line (200 KB).
    data.extend_from_slice(b"198.51.100.4 - - [03/Nov/2025:10:00:03 +0100] \"GET /?q=");
    data.extend(std::iter::repeat_n(b'a', 200_000));
    data.extend_from_slice(b" HTTP/1.1\" 414 0 \"-\" \"x\"\n");
    // A truncated last line (no newline, cut in the middle).
    data.extend_from_slice(b"198.51.100.5 - - [03/Nov/2025:10:00:04 +0100] \"GET /wp-login.php HTTP/1.1\" 200 10 \"-\" \"curl/8.0\"");
    let log = write(dir.path(), "bad.log", &data);
    let (sources, summary, code, err) = analyze_json(&["--no-store", &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["lines"], 7);
    let input = &summary["inputs"][0];
    assert!(input["parse_errors"].as_u64().unwrap() >= 2, "{input}");
    let shown = input["first_errors"].as_array().unwrap();
    assert!(shown[0].as_str().unwrap().starts_with("2: "), "{shown:?}");
    assert_eq!(input["long_lines"], 1);
    for ip in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.5",
    ] {
        assert!(
            sources.contains_key(ip),
            "{ip} lost; have {:?}",
            sources.keys()
        );
    }
    // The terminal report shows the bad lines with input and line number, escaped.
    let out = scantriage()
        .args(["analyze", "--no-store", &log])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).expect("terminal output is UTF-8");
    assert!(text.contains("bad.log:2: "), "{text}");
    assert!(
        !text.contains('\x1b'),
        "an escape sequence reached the terminal"
    );
}

#[test]
fn empty_and_truncated_gzip_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.log", b"");
    let (sources, summary, code, _) = analyze_json(&["--no-store", &empty]);
    assert_eq!(code, 0);
    assert!(sources.is_empty());
    assert_eq!(summary["lines"], 0);

    let data = corpus(5_000, 9);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    let whole = write(dir.path(), "whole.log.gz", &gz);
    assert_eq!(analyze_json(&["--no-store", &whole]).1["lines"], 5_000);
    let cut = write(dir.path(), "cut.log.gz", &gz[..gz.len() * 2 / 3]);
    let (sources, summary, code, err) = analyze_json(&["--no-store", &cut]);
    assert_eq!(code, 1, "a truncated archive is an error");
    assert!(err.contains("cut.log.gz"), "{err}");
    let lines = summary["lines"].as_u64().unwrap();
    assert!(
        lines > 1_000 && lines < 5_000,
        "everything before the damage is analysed: {lines}"
    );
    assert!(!sources.is_empty());
    assert!(summary["inputs"][0]["read_error"].is_string());
}

#[test]
fn rotated_sets_are_read_oldest_first_and_stdin_works() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "access.log", &corpus(100, 1));
    let b = write(dir.path(), "access.log.1", &corpus(100, 2));
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&corpus(100, 3)).unwrap();
    let c = write(dir.path(), "access.log.2.gz", &gz.finish().unwrap());
    let (_, summary, code, err) = analyze_json(&["--no-store", &a, &b, &c]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> = summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        names[0].ends_with("access.log.2.gz") && names[2].ends_with("access.log"),
        "{names:?}"
    );

    scantriage()
        .args(["analyze", "--no-store", "--output", "json", "-"])
        .write_stdin(corpus(500, 4))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"lines\":500"));
}

#[test]
fn configuration_errors_name_file_and_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "bad.toml",
        b"[site]\ndynamic = true\n\n[[inventory.product]]\nname = \"wordpres\"\n\n[policy]\nwatch = \"soon\"\n",
    );
    let log = write(dir.path(), "a.log", &corpus(10, 1));
    scantriage()
        .args(["analyze", "--no-store", "--config", &cfg, &log])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad.toml:5: inventory.product: unknown product `wordpres`",
        ))
        .stderr(predicate::str::contains("bad.toml:8: policy.watch"));
    scantriage()
        .args(["check", "--config", &cfg])
        .assert()
        .code(2);
}

#[test]
fn rules_list_and_test() {
    scantriage()
        .args(["rules", "test"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 failed; 0 bad rule(s)"));
    let out = scantriage()
        .args(["rules", "list", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let n = String::from_utf8(out.stdout).unwrap().lines().count();
    assert!(n >= 120, "only {n} rules");

    // A user rule directory: a bad rule is reported with file and line and skipped,
    // fatal under --strict; a good one is used.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("local.toml"),
        "[[rule]]\nid = \"local-probe\"\nname = \"x\"\ntargets = [\"generic\"]\ncategory = \"recon\"\nseverity = \"low\"\npath = { equals = [\"/secret-admin-panel\"] }\n[[rule.examples.match]]\nrequest = \"GET /secret-admin-panel HTTP/1.1\"\n[[rule.examples.no_match]]\nrequest = \"GET / HTTP/1.1\"\n\n[[rule]]\nid = \"broken\"\nname = \"y\"\ntargets = [\"nosuch\"]\ncategory = \"recon\"\nseverity = \"low\"\npath = { contains = [\"/x\"] }\n",
    )
    .unwrap();
    let cfg = write(
        dir.path(),
        "c.toml",
        format!("[rules]\ndirs = [{:?}]\n", rules.display().to_string()).as_bytes(),
    );
    let log = write(
        dir.path(),
        "a.log",
        b"198.51.100.9 - - [03/Nov/2025:10:00:00 +0100] \"GET /secret-admin-panel HTTP/1.1\" 404 0 \"-\" \"x\"\n",
    );
    let out = scantriage()
        .args([
            "analyze",
            "--no-store",
            "--output",
            "json",
            "--config",
            &cfg,
            &log,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("local.toml:13: rule `broken`: unknown target `nosuch`"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("local-probe"));
    scantriage()
        .args(["analyze", "--no-store", "--strict", "--config", &cfg, &log])
        .assert()
        .code(2);
}

/// Behind a CDN: an edge address's X-Forwarded-For names the visitor (the attacker is
/// blocked, not the edge); an edge address without one is never blocked, and the
/// summary says the log does not name the visitors. `input.cdn_ranges = false` turns
/// both off.
#[test]
fn cdn_edge_addresses_are_resolved_and_never_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = write(
        d,
        "access.log",
        concat!(
            "173.245.48.10 - - [25/Nov/2026:10:00:00 +0000] \"GET /?id=1%27%20UNION%20SELECT%201,2,3-- HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"198.51.100.9\"\n",
            "173.245.48.10 - - [25/Nov/2026:10:00:01 +0000] \"GET /about/ HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"203.0.113.77\"\n",
            "2606:4700::6810:1 - - [25/Nov/2026:10:00:02 +0000] \"GET /?id=1%27%20UNION%20SELECT%201,2,3-- HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\"\n",
            "2606:4700::6810:1 - - [25/Nov/2026:10:00:03 +0000] \"GET /?page=../../../../etc/passwd HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\"\n",
        )
        .as_bytes(),
    );
    let on = write(d, "on.toml", b"[site]\ndynamic = true\n");
    let (sources, summary, code, err) = analyze_json(&["--no-store", "--config", &on, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sources["198.51.100.9"]["decision"], "block", "{sources:?}");
    assert_eq!(sources["203.0.113.77"]["decision"], "ignore");
    assert!(!sources.contains_key("173.245.48.10"), "{sources:?}");
    let edge = &sources["2606:4700::6810:1"];
    assert_eq!(edge["decision"], "ignore", "{edge}");
    assert_eq!(
        summary["cdn_edges"][0]["provider"], "Cloudflare",
        "{summary}"
    );
    assert_eq!(summary["cdn_edges"][0]["sources"], 1, "{summary}");
    assert_eq!(summary["cdn_edges"][0]["requests"], 2, "{summary}");

    let off = write(
        d,
        "off.toml",
        b"[site]\ndynamic = true\n[input]\ncdn_ranges = false\n",
    );
    let (sources, summary, code, err) = analyze_json(&["--no-store", "--config", &off, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sources["173.245.48.10"]["decision"], "block", "{sources:?}");
    assert_eq!(sources["2606:4700::6810:1"]["decision"], "block");
    assert_eq!(summary["cdn_edges"].as_array().unwrap().len(), 0);
}

/// A private peer that logs X-Forwarded-For is the site's own proxy: the client it
/// names is judged; a private peer without the field stays its own source.
#[test]
fn a_local_proxy_forwards_the_client_address() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = write(
        d,
        "access.log",
        concat!(
            "10.0.0.5 - - [25/Nov/2026:10:00:00 +0000] \"GET /?page=../../../../etc/passwd HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"198.51.100.9\"\n",
            "10.0.0.5 - - [25/Nov/2026:10:00:01 +0000] \"GET /about/ HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"203.0.113.77\"\n",
            "10.0.0.6 - - [25/Nov/2026:10:00:02 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.29\"\n",
        )
        .as_bytes(),
    );
    let cfg = write(d, "c.toml", b"[site]\ndynamic = true\n");
    let (sources, _, code, err) = analyze_json(&["--no-store", "--config", &cfg, &log]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sources["198.51.100.9"]["decision"], "block", "{sources:?}");
    assert!(!sources.contains_key("10.0.0.5"), "{sources:?}");
    assert!(sources.contains_key("10.0.0.6"), "{sources:?}");
    let off = write(
        d,
        "off.toml",
        b"[site]\ndynamic = true\n[input]\nprivate_proxies = false\n",
    );
    let (sources, _, _, _) = analyze_json(&["--no-store", "--config", &off, &log]);
    assert_eq!(sources["10.0.0.5"]["decision"], "block", "{sources:?}");
}

/// HTTP authentication: credentials refused with 401 (the log names the user tried) are
/// login attempts; many are brute force and blocked. A person who mistypes once is not,
/// and neither is an application answering 401 to a visitor who is not logged in.
#[test]
fn refused_http_credentials_are_login_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::new();
    for i in 0..15 {
        text.push_str(&format!("203.0.113.60 - admin [25/Nov/2026:10:00:{i:02} +0000] \"GET /admin/ HTTP/1.1\" 401 188 \"-\" \"Mozilla/5.0\"\n"));
    }
    text.push_str("203.0.113.61 - - [25/Nov/2026:10:01:00 +0000] \"GET /admin/ HTTP/1.1\" 401 188 \"-\" \"Mozilla/5.0\"\n");
    text.push_str("203.0.113.61 - alice [25/Nov/2026:10:01:03 +0000] \"GET /admin/ HTTP/1.1\" 401 188 \"-\" \"Mozilla/5.0\"\n");
    text.push_str("203.0.113.61 - alice [25/Nov/2026:10:01:09 +0000] \"GET /admin/ HTTP/1.1\" 200 1000 \"-\" \"Mozilla/5.0\"\n");
    for i in 0..30 {
        text.push_str(&format!("203.0.113.62 - - [25/Nov/2026:10:02:{i:02} +0000] \"GET /api/me HTTP/1.1\" 401 20 \"https://example.com/\" \"Mozilla/5.0\"\n"));
    }
    let log = write(d, "access.log", text.as_bytes());
    let (sources, _, code, err) = analyze_json(&["--no-store", &log]);
    assert_eq!(code, 0, "{err}");
    let b = &sources["203.0.113.60"];
    assert_eq!(b["decision"], "block", "{b}");
    assert!(
        b["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("login brute force: 15 attempts"),
        "{b}"
    );
    assert_eq!(sources["203.0.113.61"]["decision"], "ignore");
    assert_eq!(sources["203.0.113.62"]["decision"], "ignore");
    assert_eq!(sources["203.0.113.62"]["verdict"], "benign");
}
