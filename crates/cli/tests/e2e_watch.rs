//! End to end for the live service: three network namespaces (server, scanner,
//! client) joined by veth pairs. The server runs a real nginx writing a combined access
//! log and `scantriage watch --backend nftables` enforcing in its namespace; the
//! scanner runs real `dirb` (its `common.txt` wordlist) and then
//! `nmap -p80 --script http-enum,http-shellshock`; the client fetches the site's pages
//! in a loop all along.
//!
//! Asserted: the scanner's address is in the nftables set within 2 s of the first line
//! it wrote during the nmap run (the first that can warrant a block); new TCP
//! connections from the scanner then fail while the client is served throughout and
//! is never banned; `watch` killed with SIGKILL in the middle of the traffic (twice:
//! during dirb and while the ban holds) and started again loses no line and counts
//! none twice (the store's line count equals the lines nginx wrote), and the ban
//! stays in force; a rotation (`mv access.log access.log.1`, then nginx told to reopen
//! its log with SIGUSR1) in the middle of the traffic is followed; the short test ban
//! expires and the scanner connects again.
//!
//! Needs root, `ip`, `nft`, `nginx`, `dirb`, `nmap` and `curl`; skips without them,
//! except under CI (`CI` set), where it fails. `.ci/run` installs them. Every process
//! the test starts in its namespaces is killed when the test ends, also on failure.

use scantriage_store::{SqliteStore, Store};
use scantriage_testkit::netns::Netns;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER_FOR_SCANNER: &str = "10.91.1.1";
const SCANNER: &str = "10.91.1.2";
const SERVER_FOR_CLIENT: &str = "10.91.2.1";
const CLIENT: &str = "10.91.2.2";

/// Kills every process still running in these namespaces when dropped (they were all
/// started by this test), before the namespaces themselves are deleted.
struct KillAll<'a>(Vec<&'a Netns>);

impl Drop for KillAll<'_> {
    fn drop(&mut self) {
        for ns in &self.0 {
            let out = Command::new("ip")
                .args(["netns", "pids", ns.name()])
                .output();
            if let Ok(out) = out {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
        }
    }
}

/// A child process killed (SIGKILL) and reaped when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sh(ns: &Netns, cmd: &str) {
    ns.exec_ok("sh", &["-c", cmd]);
}

fn scantriage() -> &'static str {
    env!("CARGO_BIN_EXE_scantriage")
}

/// Starts `watch` in the server namespace.
fn start_watch(srv: &Netns, dir: &Path, n: u32) -> Proc {
    let out = std::fs::File::create(dir.join(format!("watch{n}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("watch{n}.err"))).unwrap();
    Proc(
        Command::new("ip")
            .args(["netns", "exec", srv.name(), scantriage()])
            .args(["watch", "--backend", "nftables", "--interval", "100ms"])
            .args(["--db", dir.join("st.db").to_str().unwrap()])
            .args(["--config", dir.join("c.toml").to_str().unwrap()])
            .arg(dir.join("access.log"))
            .env_remove("SCANTRIAGE_CONFIG")
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn watch"),
    )
}

/// True when `addr` is in the server's nftables set.
fn banned(srv: &Netns, addr: &str) -> bool {
    let (ok, out, _) = srv.exec("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
    ok && out.contains(addr)
}

/// Whether a new TCP connection from `ns` to `addr` port 80 gets an HTTP answer
/// within 2 s.
fn connects(ns: &Netns, addr: &str) -> bool {
    let (ok, out, _) = ns.exec(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "2",
            &format!("http://{addr}/"),
        ],
    );
    ok && out.trim() == "200"
}

fn lines_of(paths: &[PathBuf]) -> u64 {
    paths
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
                .unwrap_or(0)
        })
        .sum()
}

fn stored_lines(dir: &Path) -> u64 {
    SqliteStore::open(&dir.join("st.db"))
        .and_then(|s| s.counts())
        .map(|c| c.lines)
        .unwrap_or(0)
}

/// Waits (at most `secs`) for `cond`; returns whether it held.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[test]
fn watch_blocks_real_scanners_in_the_kernel_and_loses_no_line() {
    let needs = ["nft", "nginx", "dirb", "nmap", "curl"];
    let Some(srv) = Netns::create("wsrv", &needs) else {
        return;
    };
    let Some(scn) = Netns::create("wscn", &needs) else {
        return;
    };
    let Some(cli) = Netns::create("wcli", &needs) else {
        return;
    };
    let _kill_all = KillAll(vec![&srv, &scn, &cli]);
    let link = |a: &Netns, an: &str, b: &Netns, bn: &str| {
        let ok = Command::new("ip")
            .args(["link", "add", an, "netns", a.name(), "type", "veth"])
            .args(["peer", "name", bn, "netns", b.name()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link add veth failed");
    };
    link(&scn, "veth0", &srv, "veths");
    link(&cli, "veth0", &srv, "vethc");
    sh(
        &scn,
        &format!("ip addr add {SCANNER}/24 dev veth0 && ip link set veth0 up"),
    );
    sh(
        &cli,
        &format!("ip addr add {CLIENT}/24 dev veth0 && ip link set veth0 up"),
    );
    sh(
        &srv,
        &format!(
            "ip addr add {SERVER_FOR_SCANNER}/24 dev veths && ip link set veths up && \
             ip addr add {SERVER_FOR_CLIENT}/24 dev vethc && ip link set vethc up"
        ),
    );

    // nginx with a few static pages and a combined access log.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("blog")).unwrap();
    std::fs::write(www.join("index.html"), "<html><body>home</body></html>\n").unwrap();
    std::fs::write(www.join("about.html"), "<html><body>about</body></html>\n").unwrap();
    std::fs::write(
        www.join("blog/index.html"),
        "<html><body>blog</body></html>\n",
    )
    .unwrap();
    let nginx = Proc(srv.spawn_nginx(dir, ""));
    assert!(
        wait_for(10, || connects(&cli, SERVER_FOR_CLIENT)),
        "nginx does not answer"
    );
    // Short bans, so that the test can see one expire.
    std::fs::write(
        dir.join("c.toml"),
        "[policy]\nblock_urgent = \"12s\"\nblock_exploit = \"12s\"\nblock_relevant = \"12s\"\n\
         block_bruteforce = \"12s\"\nblock_portscan = \"12s\"\nmax_block = \"12s\"\n",
    )
    .unwrap();
    let mut watch = start_watch(&srv, dir, 1);

    // The client browses all along, in a bounded loop; one status per request.
    let client_log = dir.join("client.txt");
    let client = Proc(
        Command::new("ip")
            .args(["netns", "exec", cli.name(), "sh", "-c"])
            .arg(format!(
                "for i in $(seq 1 3000); do for p in / /about.html /blog/; do \
                 curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 3 http://{SERVER_FOR_CLIENT}$p; \
                 done; sleep 0.05; done"
            ))
            .stdout(std::fs::File::create(&client_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn client"),
    );

    // dirb; in its middle the log is rotated and watch is killed and restarted.
    let dirb = Proc(
        Command::new("ip")
            .args(["netns", "exec", scn.name(), "timeout", "120", "dirb"])
            .arg(format!("http://{SERVER_FOR_SCANNER}/"))
            .args([
                "/usr/share/dirb/wordlists/common.txt",
                "-S",
                "-r",
                "-z",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dirb"),
    );
    let log = dir.join("access.log");
    let rotated = dir.join("access.log.1");
    assert!(
        wait_for(20, || lines_of(std::slice::from_ref(&log)) > 600),
        "dirb's requests do not reach the log"
    );
    std::fs::rename(&log, &rotated).unwrap();
    // nginx goes on writing to the renamed file until it reopens its log.
    std::thread::sleep(Duration::from_millis(300));
    let pid = std::fs::read_to_string(dir.join("nginx.pid")).unwrap();
    let ok = Command::new("kill")
        .args(["-USR1", pid.trim()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(
        wait_for(10, || log.exists()),
        "nginx did not reopen its log"
    );
    std::thread::sleep(Duration::from_millis(500));
    // Killed without warning in the middle of the traffic, and started again.
    watch.0.kill().unwrap();
    watch.0.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut watch = start_watch(&srv, dir, 2);
    let mut dirb = dirb;
    assert!(
        wait_for(120, || dirb.0.try_wait().unwrap().is_some()),
        "dirb did not finish"
    );
    assert!(
        !banned(&srv, SCANNER),
        "dirb's path guessing alone (noise here) got the scanner banned"
    );

    // nmap: the first line it makes nginx write is the earliest that can warrant a
    // block. Its time of appearance is taken from the log as the test polls it.
    let from = std::fs::metadata(&log).unwrap().len();
    let nmap = Proc(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                scn.name(),
                "timeout",
                "120",
                "nmap",
                "-Pn",
                "-n",
            ])
            .args([
                "-p80",
                "--script",
                "http-enum,http-shellshock",
                SERVER_FOR_SCANNER,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nmap"),
    );
    let mut first_line: Option<Instant> = None;
    let mut in_set: Option<Instant> = None;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) && in_set.is_none() {
        if first_line.is_none() {
            let text = std::fs::read(&log).unwrap_or_default();
            let new = &text[(from as usize).min(text.len())..];
            if String::from_utf8_lossy(new)
                .lines()
                .any(|l| l.starts_with(&format!("{SCANNER} ")))
            {
                first_line = Some(Instant::now());
            }
        }
        if banned(&srv, SCANNER) {
            in_set = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_line = first_line.expect("nmap's requests do not reach the log");
    let in_set = in_set.expect("the scanner was not banned within 60 s");
    let delay = in_set.saturating_duration_since(first_line);
    eprintln!(
        "scanner banned {} ms after its first nmap line appeared",
        delay.as_millis()
    );
    assert!(
        delay < Duration::from_secs(2),
        "banned {} ms after the first probe, not within 2 s",
        delay.as_millis()
    );
    drop(nmap);
    // New connections from the scanner fail; the client is still served.
    assert!(
        !connects(&scn, SERVER_FOR_SCANNER),
        "the banned scanner still connects"
    );
    assert!(
        connects(&cli, SERVER_FOR_CLIENT),
        "the client is not served"
    );

    // Killed again while the ban holds: the ban stays (the kernel keeps it, and the
    // restart restores it from the store).
    watch.0.kill().unwrap();
    watch.0.wait().unwrap();
    let watch = start_watch(&srv, dir, 3);
    assert!(
        wait_for(5, || std::fs::read_to_string(dir.join("watch3.out"))
            .is_ok_and(|t| t.contains("ban(s) restored"))),
        "watch did not start again"
    );
    assert!(banned(&srv, SCANNER), "the ban was lost across the restart");
    assert!(
        !connects(&scn, SERVER_FOR_SCANNER),
        "the banned scanner connects after the restart"
    );

    // The short ban expires; the scanner connects again.
    assert!(
        wait_for(40, || connects(&scn, SERVER_FOR_SCANNER)),
        "the scanner still cannot connect after its ban expired"
    );

    // Traffic stops; every line nginx wrote is counted exactly once.
    drop(client);
    let files = [rotated.clone(), log.clone()];
    let written = lines_of(&files);
    assert!(
        wait_for(20, || stored_lines(dir) == lines_of(&files)),
        "the store counts {} lines, nginx wrote {}",
        stored_lines(dir),
        lines_of(&files)
    );
    assert!(written > 5000, "too little traffic: {written} lines");
    let statuses = std::fs::read_to_string(&client_log).unwrap();
    let served = statuses.lines().filter(|l| *l == "200").count();
    let failed: Vec<&str> = statuses.lines().filter(|l| *l != "200").collect();
    assert!(served > 50, "the client made too few requests: {served}");
    // The last status may be cut off by the kill.
    assert!(failed.len() <= 1, "client requests failed: {failed:?}");
    let outs: String = (1..=3)
        .map(|n| std::fs::read_to_string(dir.join(format!("watch{n}.out"))).unwrap_or_default())
        .collect();
    assert!(!outs.contains(CLIENT), "the client was banned:\n{outs}");
    assert!(outs.contains(&format!("block {SCANNER}/32")), "{outs}");
    let mut watch = watch;
    let ok = Command::new("kill")
        .args(["-TERM", &watch.0.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(
        wait_for(10, || watch.0.try_wait().unwrap().is_some()),
        "watch did not stop on SIGTERM"
    );
    drop(nginx);
}
