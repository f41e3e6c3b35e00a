//! `scantriage decisions add|delete` and `scantriage enforce apply|list|remove`, with the
//! file and dry-run back ends, and with nftables in network namespaces the test creates.

use assert_cmd::Command;
use predicates::prelude::*;
use scantriage_store::{SqliteStore, Store};
use scantriage_testkit::netns::Netns;
use std::path::Path;

fn st(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("scantriage").unwrap();
    c.current_dir(dir)
        .env_remove("SCANTRIAGE_CONFIG")
        .env_remove("SCANTRIAGE_DB")
        .env("USER", "ann");
    c
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_persons_decisions_are_stored_while_another_process_reads_and_enforced_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("st.db");
    // Another process has the store open (as `show` or the dashboard would).
    let reader = SqliteStore::open(&db).unwrap();
    assert!(reader.active_decisions(now_ms()).unwrap().is_empty());

    st(d)
        .args([
            "decisions",
            "add",
            "198.51.100.7",
            "--for",
            "6h",
            "--reason",
            "probing /wp-login",
            "--db",
        ])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "198.51.100.7: block for 6h by ann",
        ));
    st(d)
        .args([
            "decisions",
            "add",
            "2001:db8::9",
            "--for",
            "1d",
            "--reason",
            "scan",
            "--db",
        ])
        .arg(&db)
        .assert()
        .success();
    // Loopback is never blocked, even by a person.
    st(d)
        .args([
            "decisions",
            "add",
            "127.0.0.1",
            "--for",
            "1h",
            "--reason",
            "x",
            "--db",
        ])
        .arg(&db)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("allowlisted"));
    st(d)
        .args([
            "decisions",
            "add",
            "198.51.100.8",
            "--for",
            "soon",
            "--reason",
            "x",
            "--db",
        ])
        .arg(&db)
        .assert()
        .code(2);

    let active = reader.active_decisions(now_ms()).unwrap();
    assert_eq!(active.len(), 2);
    let d7 = active
        .iter()
        .find(|x| x.source.to_string() == "198.51.100.7")
        .unwrap();
    assert_eq!(d7.by, "ann");
    assert_eq!(d7.duration_secs, 6 * 3600);
    assert!(d7.reasons[0].contains("probing /wp-login"));

    st(d)
        .args(["decisions", "--output", "json", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"by\":\"ann\"").count(2));

    // Enforce in a file: an nginx include.
    let deny = d.join("deny.conf");
    let marker = d.join("reloaded");
    let cfg = d.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[enforce]\nbackend = \"file\"\nfile = \"{}\"\nreload = [\"sh\", \"-c\", \"echo r >> {}\"]\nmax_timeout = \"2h\"\n",
            deny.display(),
            marker.display()
        ),
    )
    .unwrap();
    st(d)
        .args(["enforce", "apply", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "file: 2 ban(s) applied, 0 refused",
        ));
    let text = std::fs::read_to_string(&deny).unwrap();
    assert!(
        text.contains("deny 198.51.100.7; # scantriage 198.51.100.7/32 until "),
        "{text}"
    );
    assert!(text.contains("deny 2001:db8::9; "), "{text}");
    assert!(marker.exists());
    let out = st(d)
        .args(["enforce", "list", "-o", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|v| v["net"] == "198.51.100.7/32"));
    for v in &listed {
        // The cap of 2h applies to the 6h and 1d decisions.
        let left = v["expires_in_secs"].as_u64().unwrap();
        assert!((7100..=7200).contains(&left), "{v}");
    }

    // The person deletes a decision: it is no longer active; the ban is lifted separately.
    st(d)
        .args(["decisions", "delete", "198.51.100.7", "--db"])
        .arg(&db)
        .assert()
        .success();
    let active = reader.active_decisions(now_ms()).unwrap();
    assert_eq!(active.len(), 1);
    st(d)
        .args(["decisions", "delete", "198.51.100.7", "--db"])
        .arg(&db)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no active decision"));
    st(d)
        .args(["enforce", "remove", "198.51.100.7", "--config"])
        .arg(&cfg)
        .assert()
        .success();
    let text = std::fs::read_to_string(&deny).unwrap();
    assert!(
        !text.contains("198.51.100.7") && text.contains("2001:db8::9"),
        "{text}"
    );
    st(d)
        .args(["enforce", "remove", "--all", "--config"])
        .arg(&cfg)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&deny).unwrap(), "");

    // Dry run from the command line, whatever the config says.
    st(d)
        .args(["enforce", "apply", "--backend", "dry-run", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "would ban 2001:db8::9/128 for 7200s",
        ));

    // IPv6 sources widened to their /64.
    let wide = d.join("wide.toml");
    std::fs::write(
        &wide,
        "[enforce]\nbackend = \"dry-run\"\nipv6_prefix_len = 64\n",
    )
    .unwrap();
    st(d)
        .args(["enforce", "apply", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&wide)
        .assert()
        .success()
        .stdout(predicate::str::contains("would ban 2001:db8::/64 for "));
}

#[test]
fn enforce_config_errors_are_reported_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[enforce]\nbackend = \"iptables\"\nset_v4 = \"x; flush ruleset\"\nfile_line = \"deny;\"\n",
    )
    .unwrap();
    st(dir.path())
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("c.toml:2: enforce.backend"))
        .stderr(predicate::str::contains("c.toml:3: enforce.set_v4"))
        .stderr(predicate::str::contains("c.toml:4: enforce.file_line"));
}

/// Exit status of a TCP connection attempt from `ns` to `addr:port` within 2 s:
/// 1 when refused (the packet got through), 124 when it timed out (dropped).
fn connect(ns: &Netns, addr: &str) -> i32 {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "timeout", "2", "bash", "-c"])
        .arg(format!("echo > /dev/tcp/{addr}/9"))
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[test]
fn nftables_in_a_namespace_drops_the_banned_source_and_removes_cleanly() {
    let Some(server) = Netns::create("srv", &["nft", "bash", "timeout"]) else {
        return;
    };
    let scanner = Netns::create("scn", &[]).unwrap();
    server.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "st-srv",
            "type",
            "veth",
            "peer",
            "name",
            "st-scn",
            "netns",
            scanner.name(),
        ],
    );
    server.exec_ok("ip", &["addr", "add", "198.51.100.1/24", "dev", "st-srv"]);
    server.exec_ok("ip", &["link", "set", "st-srv", "up"]);
    scanner.exec_ok("ip", &["addr", "add", "198.51.100.7/24", "dev", "st-scn"]);
    scanner.exec_ok("ip", &["link", "set", "st-scn", "up"]);
    // The user's own table, which scantriage must never touch.
    server.nft_script("table inet mine {\n chain c {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 accept\n }\n}\n");
    let mine_before = server.exec_ok("nft", &["list", "table", "inet", "mine"]);

    // Reachable before: the closed port answers with a reset.
    assert_eq!(connect(&scanner, "198.51.100.1"), 1);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("st.db");
    let cfg = d.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[enforce]\nbackend = \"nftables\"\ncommand_prefix = [\"ip\", \"netns\", \"exec\", \"{}\"]\n",
            server.name()
        ),
    )
    .unwrap();
    for ip in ["198.51.100.7", "2001:db8::7"] {
        st(d)
            .args([
                "decisions",
                "add",
                ip,
                "--for",
                "1h",
                "--reason",
                "test",
                "--db",
            ])
            .arg(&db)
            .assert()
            .success();
    }
    st(d)
        .args(["enforce", "apply", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicate::str::contains("nftables: 2 ban(s) applied"));
    let set = server.exec_ok("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
    assert!(set.contains("198.51.100.7 timeout 1h"), "{set}");
    st(d)
        .args(["enforce", "list", "--config"])
        .arg(&cfg)
        .assert()
        .success()
        .stdout(predicate::str::contains("198.51.100.7/32"))
        .stdout(predicate::str::contains("2001:db8::7/128"));

    // Dropped now: the connection attempt times out.
    assert_eq!(connect(&scanner, "198.51.100.1"), 124);

    // Lifting the ban lets it through again.
    st(d)
        .args(["enforce", "remove", "198.51.100.7", "--config"])
        .arg(&cfg)
        .assert()
        .success();
    assert_eq!(connect(&scanner, "198.51.100.1"), 1);

    // Re-applied from the store (as after a restart), then everything removed: only
    // our table goes.
    st(d)
        .args(["enforce", "apply", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    assert_eq!(connect(&scanner, "198.51.100.1"), 124);
    st(d)
        .args(["enforce", "remove", "--all", "--config"])
        .arg(&cfg)
        .assert()
        .success();
    let (ours, _, _) = server.exec("nft", &["list", "table", "inet", "scantriage"]);
    assert!(!ours);
    assert_eq!(
        server.exec_ok("nft", &["list", "table", "inet", "mine"]),
        mine_before
    );
    assert_eq!(connect(&scanner, "198.51.100.1"), 1);
}
