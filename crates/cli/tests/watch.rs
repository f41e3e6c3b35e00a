//! `scantriage watch`: following a log, blocking as probes arrive, resuming after a kill.

use assert_cmd::cargo::CommandCargoExt;
use scantriage_store::{SqliteStore, Store};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A combined log line `sec` seconds after the test started (decisions hold from the
/// event time, so the log must be current for the restored bans to be active).
fn line(ip: &str, sec: u32, target: &str, status: u16) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // 2026-11-25T11:53:27+00:00 -> 25/Nov/2026:11:53:27 +0000
    let t = scantriage_core::Timestamp::from_unix_secs(now - 60 + i64::from(sec)).to_rfc3339();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[t[5..7].parse::<usize>().unwrap() - 1];
    format!(
        "{ip} - - [{}/{month}/{}:{} +0000] \"GET {target} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
        &t[8..10],
        &t[0..4],
        &t[11..19]
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn watch(dir: &Path, log: &Path, extra: &[&str]) -> Command {
    let mut c = Command::cargo_bin("scantriage").unwrap();
    c.current_dir(dir)
        .env_remove("SCANTRIAGE_CONFIG")
        .env_remove("SCANTRIAGE_DB")
        .args([
            "watch",
            "--interval",
            "100ms",
            "--db",
            "st.db",
            "--config",
            "c.toml",
        ])
        .args(extra)
        .arg(log);
    c
}

#[test]
fn watch_blocks_while_following_and_resumes_after_a_kill_without_double_counting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    let deny = d.join("deny.conf");
    std::fs::write(
        d.join("c.toml"),
        format!(
            "[enforce]\nbackend = \"file\"\nfile = \"{}\"\n",
            deny.display()
        ),
    )
    .unwrap();
    let mut written = 0u64;
    for i in 0..5 {
        append(&log, &line("203.0.113.20", i, "/", 200));
        written += 1;
    }
    let mut child = watch(d, &log, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The probes arrive while it runs.
    std::thread::sleep(Duration::from_millis(300));
    for i in 10..14 {
        append(
            &log,
            &line(
                "198.51.100.7",
                i,
                "/index.php?id=1%20UNION%20SELECT%201,2,3--",
                200,
            ),
        );
        append(
            &log,
            &line("198.51.100.7", i, "/?page=../../../../etc/passwd", 200),
        );
        written += 2;
    }
    let start = Instant::now();
    let mut blocked = false;
    while start.elapsed() < Duration::from_secs(15) {
        if std::fs::read_to_string(&deny).is_ok_and(|t| t.contains("deny 198.51.100.7;")) {
            blocked = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Rotation (rename and create) once the old file was read; then killed without
    // warning in the middle of the traffic.
    std::thread::sleep(Duration::from_millis(400));
    std::fs::rename(&log, d.join("access.log.1")).unwrap();
    for i in 20..30 {
        append(&log, &line("203.0.113.21", i, "/about/", 200));
        written += 1;
        if i == 24 {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(blocked, "198.51.100.7 not blocked within 15 s");
    for i in 30..40 {
        append(&log, &line("203.0.113.22", i, "/contact/", 200));
        written += 1;
    }
    // The ban is lifted by hand; the restart restores it from the store.
    std::fs::write(&deny, "").unwrap();
    let out = watch(d, &log, &["--polls", "2"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("file: 1 ban(s) restored"), "{stdout}");
    assert!(std::fs::read_to_string(&deny)
        .unwrap()
        .contains("deny 198.51.100.7;"));
    let store = SqliteStore::open(&d.join("st.db")).unwrap();
    assert_eq!(store.counts().unwrap().lines, written);
}

/// Exit status of a TCP connection attempt from `ns` to `addr` port 9 within 2 s:
/// 1 when refused (the packet got through), 124 when it timed out (dropped).
fn connect(ns: &scantriage_testkit::netns::Netns, addr: &str) -> i32 {
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), "timeout", "2", "bash", "-c"])
        .arg(format!("echo > /dev/tcp/{addr}/9"))
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[test]
fn watch_blocks_a_prober_in_the_kernel_within_two_seconds() {
    use scantriage_testkit::netns::Netns;
    let Some(server) = Netns::create("wsrv", &["nft", "bash", "timeout"]) else {
        return;
    };
    let scanner = Netns::create("wscn", &[]).unwrap();
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
    assert_eq!(connect(&scanner, "198.51.100.1"), 1);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    std::fs::write(
        d.join("c.toml"),
        format!(
            "[enforce]\nbackend = \"nftables\"\ncommand_prefix = [\"ip\", \"netns\", \"exec\", \"{}\"]\n",
            server.name()
        ),
    )
    .unwrap();
    append(&log, &line("203.0.113.20", 0, "/", 200));
    let mut child = watch(d, &log, &["--reassert", "200ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    append(
        &log,
        &line("198.51.100.7", 5, "/?page=../../../../etc/passwd", 200),
    );
    append(
        &log,
        &line(
            "198.51.100.7",
            6,
            "/index.php?id=1%20UNION%20SELECT%201,2,3--",
            200,
        ),
    );
    let probe = Instant::now();
    let mut in_set = None;
    while probe.elapsed() < Duration::from_secs(10) {
        let (_, set, _) = server.exec("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
        if set.contains("198.51.100.7") {
            in_set = Some(probe.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = in_set.expect("198.51.100.7 never reached the nftables set");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Someone flushes the whole ruleset: the running service puts the ban back.
    server.exec_ok("nft", &["flush", "ruleset"]);
    let flushed = Instant::now();
    let mut back = false;
    while flushed.elapsed() < Duration::from_secs(10) {
        let (_, set, _) = server.exec("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
        if set.contains("198.51.100.7") {
            back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A person's decision, added while the service runs, reaches the kernel too.
    let added = Command::cargo_bin("scantriage")
        .unwrap()
        .current_dir(d)
        .args([
            "decisions",
            "add",
            "198.51.100.50",
            "--for",
            "1h",
            "--reason",
            "by hand",
            "--db",
            "st.db",
        ])
        .output()
        .unwrap();
    assert!(added.status.success());
    let start = Instant::now();
    let mut person = false;
    while back && start.elapsed() < Duration::from_secs(10) {
        let (_, set, _) = server.exec("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
        if set.contains("198.51.100.50") {
            person = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(back, "the ban was not re-asserted after nft flush ruleset");
    assert!(person, "the person's decision was not enforced");
    // The ban outlives the process: the kernel holds it.
    assert_eq!(connect(&scanner, "198.51.100.1"), 124);
}

#[test]
fn watch_follows_a_copytruncate_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    std::fs::write(d.join("c.toml"), "[enforce]\nbackend = \"dry-run\"\n").unwrap();
    let mut written = 0u64;
    let poll = |written: u64| {
        let out = watch(d, &log, &["--polls", "1"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store = SqliteStore::open(&d.join("st.db")).unwrap();
        assert_eq!(store.counts().unwrap().lines, written);
    };
    for i in 0..20 {
        append(
            &log,
            &line("203.0.113.20", i, "/a-rather-long-page-name/", 200),
        );
        written += 1;
    }
    poll(written);
    // copytruncate: copied away, then emptied in place; polled while empty, then written to.
    std::fs::copy(&log, d.join("access.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    poll(written);
    for i in 20..23 {
        append(&log, &line("203.0.113.21", i, "/b/", 200));
        written += 1;
    }
    poll(written);
    for i in 23..25 {
        append(&log, &line("203.0.113.21", i, "/b/", 200));
        written += 1;
    }
    poll(written);
}

fn lines_in(d: &Path) -> u64 {
    SqliteStore::open(&d.join("st.db"))
        .unwrap()
        .counts()
        .unwrap()
        .lines
}

/// Waits (at most 10 s) until the store holds `n` lines.
fn wait_lines(d: &Path, n: u64) -> u64 {
    let start = Instant::now();
    let mut got = 0;
    while start.elapsed() < Duration::from_secs(10) {
        if d.join("st.db").exists() {
            got = lines_in(d);
            if got == n {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    got
}

/// A running `watch`, killed when dropped (also when the test fails).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stop(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "watch did not stop on {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_drains_a_renamed_file_while_its_writer_still_writes_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    std::fs::write(d.join("c.toml"), "[enforce]\nbackend = \"dry-run\"\n").unwrap();
    // The writer keeps its file open across the rename, as a web server does until it
    // is told to reopen its log.
    let mut writer = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut written = 0u64;
    for i in 0..30 {
        writer
            .write_all(line("203.0.113.20", i, "/", 200).as_bytes())
            .unwrap();
        written += 1;
    }
    let mut child = Running(
        watch(d, &log, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    assert_eq!(wait_lines(d, written), written);
    std::fs::rename(&log, d.join("access.log.1")).unwrap();
    // Lines written to the renamed file before and after the new one appears.
    for i in 30..40 {
        writer
            .write_all(line("203.0.113.21", i, "/old/", 200).as_bytes())
            .unwrap();
        written += 1;
    }
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &line("203.0.113.22", 40, "/new/", 200));
    written += 1;
    for i in 41..50 {
        writer
            .write_all(line("203.0.113.21", i, "/old/", 200).as_bytes())
            .unwrap();
        written += 1;
    }
    // The writer reopens its log.
    drop(writer);
    for i in 50..60 {
        append(&log, &line("203.0.113.22", i, "/new/", 200));
        written += 1;
    }
    assert_eq!(wait_lines(d, written), written);
    let status = stop(&mut child.0, "-TERM");
    assert!(status.success(), "SIGTERM: {status}");

    // Stopped, then rotated while it is away, with lines added to the old file after
    // its last poll: the restart finds the renamed file by its first bytes and reads
    // it to its end, then the new one from its start.
    let mut old = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::fs::rename(&log, d.join("access.log.0")).unwrap();
    for i in 60..65 {
        old.write_all(line("203.0.113.23", i, "/late/", 200).as_bytes())
            .unwrap();
        written += 1;
    }
    for i in 65..70 {
        append(&log, &line("203.0.113.24", i, "/fresh/", 200));
        written += 1;
    }
    let out = watch(d, &log, &["--polls", "2"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines_in(d), written);
    // And a further restart reads nothing twice.
    let out = watch(d, &log, &["--polls", "2"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(lines_in(d), written);
}

#[test]
fn watch_reloads_on_sighup_keeps_a_bad_config_and_serves_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("access.log");
    let extra = d.join("other.log");
    std::fs::write(d.join("c.toml"), "[enforce]\nbackend = \"dry-run\"\n").unwrap();
    append(&log, &line("203.0.113.20", 0, "/", 200));
    append(&extra, &line("203.0.113.30", 0, "/other/", 200));
    // A free loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out_path = d.join("out.txt");
    let err_path = d.join("err.txt");
    let mut child = Running(
        watch(d, &log, &["--metrics", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap(),
    );
    assert_eq!(wait_lines(d, 1), 1);
    // A probe and a parse error, then the metrics.
    append(
        &log,
        &line("198.51.100.7", 1, "/?page=../../../../etc/passwd", 200),
    );
    append(&log, "this is not an access log line\n");
    assert_eq!(wait_lines(d, 3), 3);
    let get = |path: &str| -> String {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    let m = get("/metrics");
    let key = format!(
        "scantriage_lines_read_total{{input=\"{}\"}} 3",
        log.display()
    );
    assert!(m.starts_with("HTTP/1.1 200"), "{m}");
    assert!(m.contains(&key), "{m}");
    assert!(m.contains("scantriage_parse_errors_total{input="), "{m}");
    assert!(m.contains("} 1\n"), "{m}");
    assert!(
        m.contains("scantriage_events_total{verdict=\"benign\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("scantriage_decision_latency_seconds_bucket{le=\"+Inf\"}"),
        "{m}"
    );
    assert!(m.contains("scantriage_active_decisions"), "{m}");
    assert!(m.contains("scantriage_lag_seconds"), "{m}");
    assert!(get("/nope").starts_with("HTTP/1.1 404"));

    // An invalid configuration is refused with its file and line; the old one stays.
    std::fs::write(
        d.join("c.toml"),
        "[enforce]\nbackend = \"dry-run\"\n\n[policy]\nblock_exploit = \"soon\"\n",
    )
    .unwrap();
    let hup = |child: &std::process::Child| {
        assert!(Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
    };
    hup(&child.0);
    let start = Instant::now();
    while !std::fs::read_to_string(&err_path)
        .unwrap()
        .contains("keeping the running configuration")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no refusal logged"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(err.contains("c.toml:5:"), "{err}");
    // A valid one with a new input: followed without a restart.
    std::fs::write(
        d.join("c.toml"),
        format!(
            "[enforce]\nbackend = \"dry-run\"\n\n[policy]\nallowlist = [\"192.0.2.0/24\"]\n\n[watch]\ninputs = [\"{}\"]\n",
            extra.display()
        ),
    )
    .unwrap();
    hup(&child.0);
    assert_eq!(wait_lines(d, 4), 4, "the new input was not followed");
    let status = stop(&mut child.0, "-TERM");
    assert!(status.success(), "SIGTERM: {status}");
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(out.contains("configuration reloaded"), "{out}");
    assert!(
        out.contains(&format!("input {} added", extra.display())),
        "{out}"
    );
    assert!(out.contains("allowlist: 192.0.2.0/24 added"), "{out}");
}

/// Kills the fake journalctl processes (their pids are in `pids`) when dropped.
struct KillPids(std::path::PathBuf);

impl Drop for KillPids {
    fn drop(&mut self) {
        for pid in std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .split_whitespace()
        {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

/// `journalctl -o json` entry number `n` (cursor `cN`): a failed sshd password.
fn journal_entry(n: u32, ip: &str) -> String {
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    format!(
        "{{\"__CURSOR\":\"c{n}\",\"__REALTIME_TIMESTAMP\":\"{now_us}\",\"_HOSTNAME\":\"web1\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"_PID\":\"812\",\"MESSAGE\":\"Failed password for root from {ip} port {} ssh2\"}}\n",
        40000 + n
    )
}

/// The journal input, with a stand-in `journalctl` on PATH: there is no systemd
/// journal where the tests run. It plays the journal from a file with `tail -f`,
/// honouring `--after-cursor=cN` and `--lines=0`, and records its arguments.
#[test]
fn watch_follows_the_journal_and_resumes_after_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("journalctl");
    std::fs::write(
        &fake,
        format!(
            r#"#!/bin/sh
echo "$@" >> {d}/args.txt
echo $$ >> {d}/pids.txt
start=$(( $(wc -l < {d}/journal.json) + 1 ))
for a in "$@"; do
  case "$a" in
    --after-cursor=c*) start=$(( ${{a#--after-cursor=c}} + 1 ));;
  esac
done
exec tail -n +$start -f {d}/journal.json
"#,
            d = d.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let _guard = KillPids(d.join("pids.txt"));
    std::fs::write(d.join("c.toml"), "[enforce]\nbackend = \"dry-run\"\n").unwrap();
    let journal = d.join("journal.json");
    // Entries before the first start are history, for `analyze`.
    for n in 1..=3 {
        append(&journal, &journal_entry(n, "203.0.113.5"));
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out_path = d.join("out.txt");
    let mut child = Running(
        watch(d, Path::new("journal:sshd"), &[])
            .env("PATH", &path)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // Once the journal is followed (the first start reads from its end).
    let start = Instant::now();
    while !d.join("args.txt").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "journalctl not started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    for n in 4..=15 {
        append(&journal, &journal_entry(n, "198.51.100.9"));
    }
    assert_eq!(wait_lines(d, 12), 12);
    let start = Instant::now();
    while !std::fs::read_to_string(&out_path)
        .unwrap()
        .contains("block 198.51.100.9/32")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "SSH brute force from the journal not blocked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    for n in 16..=17 {
        append(&journal, &journal_entry(n, "198.51.100.9"));
    }
    let mut child = Running(
        watch(d, Path::new("journal:sshd"), &[])
            .env("PATH", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    assert_eq!(wait_lines(d, 14), 14);
    let status = stop(&mut child.0, "-TERM");
    assert!(status.success());
    let args = std::fs::read_to_string(d.join("args.txt")).unwrap();
    assert!(args.lines().next().unwrap().contains("--lines=0"), "{args}");
    assert!(args.contains("--after-cursor=c15"), "{args}");
    assert!(args.contains("SYSLOG_IDENTIFIER=sshd"), "{args}");
}
