//! `analyze` with the network view: packet captures, sshd and netfilter logs next to an
//! access log, each input's format detected, detections in the per-source JSON objects,
//! the policy and the terminal report.

mod common;

use common::*;

fn corpus(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn captures_and_system_logs_feed_the_same_profiles_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let web = write(
        dir.path(),
        "access.log",
        b"192.0.2.10 - - [03/Nov/2025:00:00:01 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n",
    );
    let (sources, summary, code, stderr) = analyze_json(&[
        "--no-store",
        &web,
        &corpus("pcap/scan.pcap"),
        &corpus("pcap/scan6.pcapng"),
        &corpus("sshd/openssh.log"),
        &corpus("netfilter/iptables.log"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let formats: Vec<&str> = summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats[..5],
        ["combined", "pcap", "pcap", "sshd", "netfilter"]
    );
    // The HTTP requests the captures carry follow as inputs of their own.
    for i in &summary["inputs"].as_array().unwrap()[5..] {
        assert_eq!(i["format"], "combined", "{i}");
        assert!(i["name"].as_str().unwrap().ends_with("#http"), "{i}");
    }

    // The scanner of the capture: a vertical SYN scan, decided within 10 probes.
    let s = &sources["203.0.113.7"];
    assert_eq!(s["decision"], "block", "{s}");
    let scan = &s["port_scan"];
    assert_eq!(scan["kind"], "vertical");
    assert_eq!(scan["method"], "trw");
    let techniques = scan["techniques"].as_array().unwrap();
    assert!(techniques.iter().any(|t| t == "syn") && techniques.iter().any(|t| t == "udp"));
    assert!(
        scan["probes_before_detection"].as_u64().unwrap() <= 10,
        "{scan}"
    );
    assert!(scan["ports"].as_array().unwrap().iter().any(|p| p == 22));
    // The same source brute-forced sshd.
    assert!(s["ssh"]["brute_force"].is_string(), "{s}");
    let reasons: Vec<&str> = s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("port scan (vertical")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("SSH brute force")),
        "{reasons:?}"
    );
    // IPv6 scanner from the pcapng.
    assert_eq!(sources["2001:db8::7"]["decision"], "block");
    // The client that completed a handshake, browsed and logged in is not blocked.
    let c = &sources["192.0.2.10"];
    assert_ne!(c["decision"], "block", "{c}");
    assert!(c.get("port_scan").is_none());
    assert_eq!(c["ssh"]["accepted"], 1);
    // Banner grabbing alone is watched, not blocked.
    assert_eq!(sources["198.51.100.50"]["decision"], "watch");
    assert_eq!(sources["198.51.100.50"]["ssh"]["recon"], 1);
    // Unparsable lines are counted per input.
    let ssh_input = &summary["inputs"][3];
    assert_eq!(ssh_input["parse_errors"], 3, "{ssh_input}");

    // The terminal report shows both sections.
    let out = scantriage()
        .args(["analyze", "--no-store", "--no-progress"])
        .arg(corpus("pcap/scan.pcap"))
        .arg(corpus("sshd/openssh.log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PORT SCANS (1)"), "{text}");
    assert!(text.contains("SSH BRUTE FORCE"), "{text}");
}

#[test]
fn ssh_brute_force_loop_is_blocked_and_a_good_login_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..40 {
        log.push_str(&format!(
            "Nov  3 00:{:02}:{:02} web1 sshd[{}]: Failed password for invalid user user{} from 198.51.100.77 port {} ssh2\n",
            i / 60,
            i % 60,
            1000 + i,
            i % 7,
            40000 + i
        ));
    }
    log.push_str("Nov  3 00:01:00 web1 sshd[2000]: Failed password for alice from 192.0.2.44 port 50000 ssh2\n");
    log.push_str("Nov  3 00:01:05 web1 sshd[2000]: Accepted password for alice from 192.0.2.44 port 50000 ssh2\n");
    let path = write(dir.path(), "auth.log", log.as_bytes());
    let (sources, _, code, stderr) = analyze_json(&["--no-store", &path]);
    assert_eq!(code, 0, "{stderr}");
    let b = &sources["198.51.100.77"];
    assert_eq!(b["decision"], "block");
    assert_eq!(b["ssh"]["failures"], 40);
    assert_eq!(b["ssh"]["distinct_users"], 7);
    assert_eq!(b["verdict"], "relevant");
    let g = &sources["192.0.2.44"];
    assert_ne!(g["decision"], "block", "{g}");
}
