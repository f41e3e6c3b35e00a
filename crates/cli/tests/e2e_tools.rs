//! End to end with real attack tools: a `server` namespace runs a real nginx (static
//! pages, a search endpoint) writing a combined access log; a `tools` namespace runs,
//! one after the other and each from its own address, `sqlmap` (SQL injection),
//! `wapiti` (XSS, SQL, command execution and file inclusion payloads) and `whatweb`
//! (fingerprinting), and in between a reader fetches pages and searches with `curl`.
//! `scantriage analyze` on nginx's log must block sqlmap and wapiti with the payloads
//! as evidence, and leave the fingerprinting and the reader alone.
//!
//! Needs root, `ip`, `nginx`, `curl`, `sqlmap`, `wapiti` and `whatweb` (Debian
//! packages, installed by `.ci/run`); skips without them, except under CI (`CI` set),
//! where it fails. Nothing here depends on timing: every tool runs to its end (with a
//! bound), then the log is analysed.

mod common;

use common::*;
use scantriage_testkit::netns::Netns;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = "10.93.1.1";
const SQLMAP: &str = "10.93.1.11";
const WAPITI: &str = "10.93.1.12";
const WHATWEB: &str = "10.93.1.13";
const READER: &str = "10.93.1.20";

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

/// Gives the tools namespace `addr` as its only address (the next tool's source).
fn use_address(ns: &Netns, addr: &str) {
    sh(
        ns,
        &format!("ip addr flush dev veth0 && ip addr add {addr}/24 dev veth0"),
    );
}

/// Runs `program args` in `ns` to its end, killed after `secs`.
fn run_bounded(ns: &Netns, secs: u64, program: &str, args: &[&str]) {
    let mut child = Proc(
        Command::new("ip")
            .args(["netns", "exec", ns.name(), program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}")),
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if child.0.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Dropping kills it: what it sent so far is in the log.
}

fn reader(ns: &Netns) {
    use_address(ns, READER);
    for path in [
        "/",
        "/page.html?id=1",
        "/search?q=select+a+union+rep",
        "/search?q=o%27reilly+books",
        "/about.html",
        "/favicon.ico",
    ] {
        ns.exec(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "--max-time",
                "5",
                "-A",
                "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
                "-e",
                &format!("http://{SERVER}/"),
                &format!("http://{SERVER}{path}"),
            ],
        );
    }
}

#[test]
fn sqlmap_and_wapiti_are_blocked_and_fingerprinting_and_readers_are_not() {
    let needs = ["nginx", "curl", "sqlmap", "wapiti", "whatweb"];
    let Some(srv) = Netns::create("tsrv", &needs) else {
        return;
    };
    let Some(tools) = Netns::create("ttls", &needs) else {
        return;
    };
    let ok = Command::new("ip")
        .args([
            "link",
            "add",
            "veth0",
            "netns",
            tools.name(),
            "type",
            "veth",
        ])
        .args(["peer", "name", "veths", "netns", srv.name()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip link add veth failed");
    sh(&tools, "ip link set veth0 up && ip link set lo up");
    sh(
        &srv,
        &format!("ip addr add {SERVER}/24 dev veths && ip link set veths up && ip link set lo up"),
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<html><body><a href=\"/page.html?id=1\">post</a> <a href=\"/about.html\">about</a>\
         <form action=\"/search\" method=\"get\"><input name=\"q\"></form></body></html>\n",
    )
    .unwrap();
    std::fs::write(www.join("page.html"), "<html><body>a post</body></html>\n").unwrap();
    std::fs::write(www.join("about.html"), "<html><body>about</body></html>\n").unwrap();
    let _nginx = Proc(srv.spawn_nginx(
        dir,
        "    location /search { default_type text/html; return 200 \"<html><body>results</body></html>\"; }",
    ));
    use_address(&tools, READER);
    let up = (0..100).any(|_| {
        let (ok, out, _) = tools.exec(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "1",
                &format!("http://{SERVER}/"),
            ],
        );
        let up = ok && out.trim() == "200";
        if !up {
            std::thread::sleep(Duration::from_millis(100));
        }
        up
    });
    assert!(up, "nginx does not answer");

    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let work_s = work.display().to_string();
    reader(&tools);
    use_address(&tools, SQLMAP);
    run_bounded(
        &tools,
        180,
        "sqlmap",
        &[
            "-u",
            &format!("http://{SERVER}/page.html?id=1"),
            "--batch",
            "--flush-session",
            "--technique=BEUT",
            "--level",
            "1",
            "--output-dir",
            &work_s,
        ],
    );
    reader(&tools);
    use_address(&tools, WAPITI);
    run_bounded(
        &tools,
        240,
        "wapiti",
        &[
            "-u",
            &format!("http://{SERVER}/"),
            "-m",
            "xss,sql,exec,file",
            "--flush-session",
            "-d",
            "2",
            "--max-scan-time",
            "120",
            "-f",
            "txt",
            "-o",
            &format!("{work_s}/wapiti.txt"),
        ],
    );
    use_address(&tools, WHATWEB);
    run_bounded(
        &tools,
        60,
        "whatweb",
        &["-a", "3", &format!("http://{SERVER}/")],
    );
    reader(&tools);

    let log = dir.join("access.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines_from = |ip: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{ip} ")))
            .count()
    };
    assert!(lines_from(SQLMAP) >= 20, "sqlmap sent too little:\n{text}");
    assert!(lines_from(WAPITI) >= 20, "wapiti sent too little:\n{text}");
    assert!(lines_from(WHATWEB) >= 1, "whatweb sent nothing");

    let cfg = write(dir, "c.toml", b"[site]\ndynamic = true\n");
    let (sources, _, code, err) =
        analyze_json(&["--no-store", "--config", &cfg, log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let s = &sources[SQLMAP];
    assert_eq!(s["decision"], "block", "sqlmap: {s}");
    let sigs = s["signatures"].to_string();
    assert!(sigs.contains("scanner-sqlmap"), "sqlmap: {s}");
    assert!(sigs.contains("\"sqli-"), "sqlmap: {s}");
    let w = &sources[WAPITI];
    assert_eq!(w["decision"], "block", "wapiti: {w}");
    let sigs = w["signatures"].to_string();
    assert!(
        ["path-traversal", "xss-", "cmdi-", "sqli-"]
            .iter()
            .filter(|k| sigs.contains(*k))
            .count()
            >= 2,
        "wapiti: {w}"
    );
    let f = &sources[WHATWEB];
    assert_eq!(f["decision"], "ignore", "whatweb: {f}");
    let r = &sources[READER];
    assert_eq!(r["decision"], "ignore", "reader: {r}");
    assert_eq!(r["verdict"], "benign", "reader: {r}");
}
