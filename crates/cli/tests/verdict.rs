//! A person's verdicts from the command line, on corpora from the project's generator:
//! "cannot work here" turns stored and future findings into noise, `allow` keeps a
//! source unblocked, `block` blocks one (and revoking lifts it).

mod common;

use common::*;
use scantriage_core::{Finding, Verdict};
use scantriage_store::{SqliteStore, Store};
use scantriage_testkit::{generate_bytes, CorpusConfig, Role};
use serde_json::Value;
use std::collections::HashMap;

struct Corpus {
    dir: tempfile::TempDir,
    log: Vec<u8>,
    roles: HashMap<String, Role>,
}

fn corpus(lines: u64, seed: u64) -> Corpus {
    let (log, labels) = generate_bytes(&CorpusConfig {
        lines,
        seed,
        ..Default::default()
    });
    Corpus {
        dir: tempfile::tempdir().unwrap(),
        log,
        roles: labels.iter().map(|l| (l.ip.to_string(), l.role)).collect(),
    }
}

/// The first half of the log's lines.
fn first_half(log: &[u8]) -> &[u8] {
    let lines = log.iter().filter(|&&b| b == b'\n').count();
    let cut = log
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(lines / 2 - 1)
        .unwrap()
        .0;
    &log[..=cut]
}

/// Runs `scantriage verdict ARGS --config CFG --db DB`; returns (stdout, stderr, exit code).
fn verdict(args: &[&str], cfg: &str, db: &str) -> (String, String, i32) {
    let out = scantriage()
        .arg("verdict")
        .args(args)
        .args(["--config", cfg, "--db", db])
        .env_remove("USER")
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn findings(db: &str, ips: &[&String]) -> Vec<Finding> {
    let store = SqliteStore::open(db.as_ref()).unwrap();
    ips.iter()
        .flat_map(|ip| store.findings_for(ip.parse().unwrap(), 10_000).unwrap())
        .collect()
}

fn decision(sources: &HashMap<String, Value>, ip: &str) -> String {
    sources[ip]["decision"].as_str().unwrap().to_string()
}

#[test]
fn cannot_work_turns_stored_and_future_findings_into_noise() {
    let c = corpus(30_000, 3);
    let dir = c.dir.path();
    let cfg = write(dir, "c.toml", NO_WP_CONFIG.as_bytes());
    let db = dir.join("st.db").display().to_string();
    let log = write(dir, "access.log", first_half(&c.log));
    let (sources, _, code, stderr) = analyze_json(&["--config", &cfg, "--db", &db, &log]);
    assert_eq!(code, 0, "{stderr}");

    // WordPress is not in the inventory, yet its login page answers: "check the
    // inventory" (unknown). The person knows better: it cannot work here.
    const SIG: &str = "wp-login-recon";
    let ips: Vec<&String> = sources
        .iter()
        .filter(|(_, s)| s["signatures"].as_array().unwrap().iter().any(|x| x == SIG))
        .map(|(ip, _)| ip)
        .collect();
    let only_sig = |f: &Finding| f.signatures == [SIG];
    let open_before = findings(&db, &ips)
        .iter()
        .filter(|f| only_sig(f) && f.verdict > Verdict::Noise)
        .count();
    assert!(
        open_before > 3,
        "too few open {SIG} findings: {open_before}"
    );

    let (out, err, code) = verdict(
        &[
            "add",
            "cannot-work",
            "--signature",
            SIG,
            "--note",
            "no WordPress here",
            "--author",
            "ann",
        ],
        &cfg,
        &db,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "{open_before} open finding(s) left the queue (now noise)"
        )),
        "{out}"
    );
    let after = findings(&db, &ips);
    for f in after.iter().filter(|f| only_sig(f)) {
        assert_eq!(f.verdict, Verdict::Noise, "{f:?}");
    }
    let re_assessed: Vec<&Finding> = after.iter().filter(|f| f.why.contains(" (was ")).collect();
    assert_eq!(re_assessed.len(), open_before);
    assert!(
        re_assessed[0]
            .why
            .starts_with("marked cannot work here by ann at "),
        "{}",
        re_assessed[0].why
    );
    assert!(re_assessed[0].why.contains(", verdict #1 (was"));

    // New lines: analysed with the verdict in force.
    std::fs::write(&log, &c.log).unwrap();
    let (sources2, summary, code, stderr) = analyze_json(&["--config", &cfg, "--db", &db, &log]);
    assert_eq!(code, 0, "{stderr}");
    assert!(summary["lines"].as_u64().unwrap() > 10_000, "{summary}");
    let all = findings(&db, &sources2.keys().collect::<Vec<_>>());
    let new: Vec<&Finding> = all
        .iter()
        .filter(|f| only_sig(f) && !f.why.contains("(was "))
        .collect();
    assert!(new.len() > 3, "too few new {SIG} findings: {}", new.len());
    for f in &new {
        assert_eq!(f.verdict, Verdict::Noise, "{f:?}");
        assert!(
            f.why.starts_with("marked cannot work here by ann at ")
                && f.why.ends_with(", verdict #1"),
            "{}",
            f.why
        );
    }
    // The inventory hint for WordPress came from those answers alone: it is gone.
    assert!(
        !summary["inventory_hints"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["product"] == "wordpress"
                && h["example"]
                    .as_str()
                    .is_some_and(|e| e.contains("wp-login")))),
        "{summary}"
    );

    // Revoked: listed only with --all.
    let (_, err, code) = verdict(&["revoke", "1"], &cfg, &db);
    assert_eq!(code, 0, "{err}");
    let (list, _, _) = verdict(&["list"], &cfg, &db);
    assert!(list.is_empty(), "{list}");
    let (list, _, _) = verdict(&["list", "--all", "--output", "json"], &cfg, &db);
    let v: Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(v["active"], false);
    assert_eq!(v["scope"], SIG);
    assert_eq!(v["author"], "ann");
    assert_eq!(v["note"], "no WordPress here");
}

#[test]
fn a_path_pattern_covers_every_signature_on_it() {
    let c = corpus(20_000, 3);
    let dir = c.dir.path();
    let cfg = write(dir, "c.toml", NO_WP_CONFIG.as_bytes());
    let db = dir.join("st.db").display().to_string();
    let log = write(dir, "access.log", &c.log);
    let (out, err, code) = verdict(&["add", "cannot-work", "--path", "/CGI-BIN/*"], &cfg, &db);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("by cli at"), "default author: {out}");
    let (sources, _, code, stderr) = analyze_json(&["--config", &cfg, "--db", &db, &log]);
    assert_eq!(code, 0, "{stderr}");
    let all = findings(&db, &sources.keys().collect::<Vec<_>>());
    let cgi: Vec<&Finding> = all
        .iter()
        .filter(|f| f.request.to_ascii_lowercase().contains(" /cgi-bin/"))
        .collect();
    assert!(cgi.len() > 3, "too few /cgi-bin/ findings: {}", cgi.len());
    for f in &cgi {
        assert_eq!(f.verdict, Verdict::Noise, "{f:?}");
    }
    // Those that were noise anyway keep their own reason; the others name the verdict.
    let marked = cgi.iter().filter(|f| f.why.ends_with("verdict #1")).count();
    assert!(
        marked > 3,
        "too few findings marked by the verdict: {marked}"
    );
}

#[test]
fn allow_keeps_a_brute_forcer_unblocked_and_block_blocks_a_reader() {
    let c = corpus(30_000, 5);
    let dir = c.dir.path();
    let cfg = write(dir, "c.toml", WP_CONFIG.as_bytes());
    let log = write(dir, "access.log", &c.log);
    let (sources, _, code, stderr) = analyze_json(&["--no-store", "--config", &cfg, &log]);
    assert_eq!(code, 0, "{stderr}");
    let pick = |role: Role, decision_is: &str| -> String {
        let mut ips: Vec<&String> = c
            .roles
            .iter()
            .filter(|(ip, r)| {
                **r == role
                    && sources
                        .get(*ip)
                        .is_some_and(|s| s["decision"] == decision_is)
            })
            .map(|(ip, _)| ip)
            .collect();
        ips.sort();
        ips.first()
            .unwrap_or_else(|| panic!("no {role} source with decision {decision_is}"))
            .to_string()
    };
    let brute = pick(Role::Bruteforce, "block");
    let reader = pick(Role::Reader, "ignore");

    let db = dir.join("st.db").display().to_string();
    let (_, err, code) = verdict(
        &["add", "allow", "--source", &brute, "--author", "ann"],
        &cfg,
        &db,
    );
    assert_eq!(code, 0, "{err}");
    let (out, err, code) = verdict(
        &[
            "add", "block", "--source", &reader, "--author", "bob", "--note", "scraper",
        ],
        &cfg,
        &db,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{reader}: block for ")), "{out}");
    // Recorded as a decision by its author, so `enforce apply` and `watch` enforce it.
    // The active decisions, as `decisions --output json` prints them.
    let decisions = || {
        let out = scantriage()
            .args([
                "decisions",
                "--output",
                "json",
                "--db",
                &db,
                "--config",
                &cfg,
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let dec = decisions();
    let d: Value = serde_json::from_str(dec.lines().next().unwrap()).unwrap();
    assert_eq!(
        (d["source"].as_str(), d["kind"].as_str()),
        (Some(reader.as_str()), Some("block"))
    );
    assert_eq!(d["by"], "bob");
    assert_eq!(
        d["reasons"][0].as_str().unwrap(),
        format!(
            "blocked by bob at {}, verdict #2: scraper",
            d["at"].as_str().unwrap()
        )
    );

    let (sources, _, code, stderr) = analyze_json(&["--config", &cfg, "--db", &db, &log]);
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(decision(&sources, &brute), "block", "{}", sources[&brute]);
    assert!(
        sources[&brute]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("allowlisted")),
        "{}",
        sources[&brute]
    );
    assert_eq!(decision(&sources, &reader), "block", "{}", sources[&reader]);
    assert!(
        sources[&reader]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("blocked by bob at "),
        "{}",
        sources[&reader]
    );

    // Revoking the block lifts the decision in force.
    let (out, err, code) = verdict(&["revoke", "2"], &cfg, &db);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{reader}: decision lifted")), "{out}");
    assert!(!decisions().contains(&reader), "still active");
}

#[test]
fn verdicts_that_make_no_sense_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", NO_WP_CONFIG.as_bytes());
    let db = dir.path().join("st.db").display().to_string();
    for (args, expected) in [
        (
            &["add", "block", "--signature", "x"][..],
            "a block verdict cannot apply to a signature (it applies to: source)",
        ),
        (
            &["add", "cannot-work", "--source", "192.0.2.1"][..],
            "a cannot_work verdict cannot apply to a source",
        ),
        (
            &["add", "allow", "--source", "not-an-ip"][..],
            "--source: bad source scope \"not-an-ip\": not an IP address or network",
        ),
        (
            &["add", "cannot-work", "--path", "phpmyadmin"][..],
            "--path: bad path scope \"phpmyadmin\": a path pattern starts with `/` or `*`",
        ),
        (
            &["add", "block", "--source", "127.0.0.1"][..],
            "is allowlisted",
        ),
        (&["revoke", "7"][..], "no active verdict #7"),
    ] {
        let (_, err, code) = verdict(args, &cfg, &db);
        assert_ne!(code, 0, "{args:?} accepted");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let (list, _, code) = verdict(&["list", "--all"], &cfg, &db);
    assert_eq!((list.as_str(), code), ("", 0));
}

/// A combined log line from a minute ago (decisions hold from the event time).
fn recent_line(ip: &str, target: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = scantriage_core::Timestamp::from_unix_secs(now - 60).to_rfc3339();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[t[5..7].parse::<usize>().unwrap() - 1];
    format!(
        "{ip} - - [{}/{month}/{}:{} +0000] \"GET {target} HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n",
        &t[8..10],
        &t[0..4],
        &t[11..19]
    )
}

#[test]
fn watch_honours_allow_and_block_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deny = d.join("deny.conf");
    let cfg = write(
        d,
        "c.toml",
        format!(
            "[site]\ndynamic = true\n[enforce]\nbackend = \"file\"\nfile = \"{}\"\n",
            deny.display()
        )
        .as_bytes(),
    );
    let db = d.join("st.db").display().to_string();
    let mut log = String::new();
    for ip in ["198.51.100.7", "198.51.100.8"] {
        log.push_str(&recent_line(
            ip,
            "/index.php?id=1%20UNION%20SELECT%201,2,3--",
        ));
        log.push_str(&recent_line(ip, "/?page=../../../../etc/passwd"));
    }
    log.push_str(&recent_line("203.0.113.20", "/about/"));
    let log = write(d, "access.log", log.as_bytes());
    for args in [
        &["add", "allow", "--source", "198.51.100.8"][..],
        &["add", "block", "--source", "203.0.113.0/24"][..],
    ] {
        let (out, err, code) = verdict(args, &cfg, &db);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.starts_with("recorded verdict #"), "{out}");
    }
    let out = scantriage()
        .args(["watch", "--interval", "10ms", "--polls", "1"])
        .args(["--config", &cfg, "--db", &db, &log])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let denied = std::fs::read_to_string(&deny).unwrap();
    assert!(denied.contains("deny 198.51.100.7;"), "{denied}");
    assert!(
        denied.contains("deny 203.0.113.20;"),
        "network block: {denied}"
    );
    assert!(!denied.contains("198.51.100.8"), "allowed: {denied}");
}

/// A running `scantriage watch` with its standard output read line by line.
struct Watching {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watching {
    fn start(args: &[&str]) -> Watching {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scantriage"))
            .arg("watch")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }

    /// Waits at most `secs` seconds for an output line that `wanted` accepts.
    fn wait_for(&self, secs: u64, wanted: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if wanted(&l) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_reads_new_verdicts_on_its_reassert_tick() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deny = d.join("deny.conf");
    let cfg = write(
        d,
        "c.toml",
        format!(
            "[enforce]\nbackend = \"file\"\nfile = \"{}\"\n",
            deny.display()
        )
        .as_bytes(),
    );
    let db = d.join("st.db").display().to_string();
    let log = write(
        d,
        "access.log",
        recent_line("203.0.113.20", "/about/").as_bytes(),
    );
    let watching = Watching::start(&[
        "--interval",
        "50ms",
        "--reassert",
        "100ms",
        "--polls",
        "600",
        "--config",
        &cfg,
        "--db",
        &db,
        &log,
    ]);
    let wait_for = |what: &str| watching.wait_for(15, |l| l == what);
    let started = wait_for("0 active verdict(s)");
    let (_, err, code) = verdict(&["add", "block", "--source", "203.0.113.0/24"], &cfg, &db);
    let reloaded = started && code == 0 && wait_for("1 active verdict(s), reloaded");
    let mut blocked = false;
    if reloaded {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, recent_line("203.0.113.20", "/contact/").as_bytes())
            .unwrap();
        for _ in 0..150 {
            if std::fs::read_to_string(&deny).is_ok_and(|t| t.contains("deny 203.0.113.20;")) {
                blocked = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(watching);
    assert!(started, "watch did not report its verdicts");
    assert_eq!(code, 0, "{err}");
    assert!(reloaded, "watch did not reload the verdicts");
    assert!(blocked, "203.0.113.20 not blocked after the verdict");
}

/// A ban whose decision a person lifts while `watch` runs (`decisions delete`) leaves
/// the firewall at the next re-assert tick (once the ban is older than the margin that
/// protects bans whose decisions are not saved yet).
#[test]
fn watch_lifts_a_ban_whose_decision_a_person_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deny = d.join("deny.conf");
    let cfg = write(
        d,
        "c.toml",
        format!(
            "[site]\ndynamic = true\n[enforce]\nbackend = \"file\"\nfile = \"{}\"\n",
            deny.display()
        )
        .as_bytes(),
    );
    let db = d.join("st.db").display().to_string();
    let mut log = recent_line("198.51.100.7", "/?page=../../../../etc/passwd");
    log.push_str(&recent_line("203.0.113.20", "/about/"));
    let log = write(d, "access.log", log.as_bytes());
    let watching = Watching::start(&[
        "--interval",
        "50ms",
        "--reassert",
        "200ms",
        "--polls",
        "1200",
        "--config",
        &cfg,
        "--db",
        &db,
        &log,
    ]);
    let wait_for = |what: &str, secs: u64| watching.wait_for(secs, |l| l.starts_with(what));
    let denied = |t: &str| std::fs::read_to_string(&deny).is_ok_and(|s| s.contains(t));
    let blocked = wait_for("block 198.51.100.7/32", 15) && denied("deny 198.51.100.7;");
    // The ban reaches the firewall before the writer thread saves its decision (at most
    // every half second), so the delete is retried until the decision is in the store.
    let delete = || {
        scantriage()
            .args([
                "decisions",
                "delete",
                "198.51.100.7",
                "--config",
                &cfg,
                "--db",
                &db,
            ])
            .output()
            .unwrap()
    };
    let mut out = delete();
    for _ in 0..50 {
        if out.status.success() || !blocked {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        out = delete();
    }
    let lifted = blocked && out.status.success() && wait_for("unblock 198.51.100.7/32", 30);
    let gone = !denied("deny 198.51.100.7;");
    drop(watching);
    assert!(blocked, "the prober was not blocked");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lifted, "watch did not lift the ban");
    assert!(gone, "the deny file still lists the source");
}

/// A watched source a person acknowledged leaves the terminal report's queue, also when
/// it sends more; an unacknowledged one stays.
#[test]
fn acknowledged_sources_leave_the_terminal_queue() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write(d, "c.toml", WP_CONFIG.as_bytes());
    let db = d.join("st.db").display().to_string();
    let log = d.join("access.log");
    let mut text = recent_line("198.51.100.9", "/wp-json/wp/v2/users");
    text.push_str(&recent_line("198.51.100.10", "/wp-json/wp/v2/users"));
    std::fs::write(&log, &text).unwrap();
    let analyze = || {
        let out = scantriage()
            .args(["analyze", "--no-progress", "--config", &cfg, "--db", &db])
            .arg(&log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let queue: String = text
            .split("QUEUE FOR A PERSON")
            .nth(1)
            .and_then(|q| q.split("\n\n").next())
            .unwrap_or_default()
            .to_string();
        (text, queue)
    };
    let (_, queue) = analyze();
    assert!(queue.contains("198.51.100.9 "), "{queue}");
    assert!(queue.contains("198.51.100.10 "), "{queue}");
    let (_, err, code) = verdict(
        &["add", "acknowledge", "--source", "198.51.100.9"],
        &cfg,
        &db,
    );
    assert_eq!(code, 0, "{err}");
    let mut more = recent_line("198.51.100.9", "/wp-json/wp/v2/users?per_page=100");
    more.push_str(&recent_line(
        "198.51.100.10",
        "/wp-json/wp/v2/users?per_page=100",
    ));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, more.as_bytes()))
        .unwrap();
    let (text, queue) = analyze();
    assert!(!queue.contains("198.51.100.9 "), "{queue}");
    assert!(queue.contains("198.51.100.10 "), "{queue}");
    assert!(
        text.contains("1 watched source(s) a person acknowledged are left out of the queue"),
        "{text}"
    );
}
