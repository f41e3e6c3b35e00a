//! `analyze` on mail and FTP servers' logs: a mail.log (postfix and dovecot through
//! syslog) and a vsftpd.log, each recognised as a system log; guessing sources blocked
//! per service with the service named, a user who mistypes twice not blocked.

mod common;

use common::*;
use serde_json::Value;
use std::fmt::Write as _;

/// `Nov 25 HH:MM:SS` for a second of the day.
fn syslog_time(s: u32) -> String {
    format!("Nov 25 {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn mail_log() -> String {
    let mut l = String::new();
    let t0 = 10 * 3600;
    let users = ["admin", "info", "test", "office", "sales", "support", "web"];
    for i in 0..15u32 {
        let t = syslog_time(t0 + i * 7);
        let pid = 2000 + i;
        let _ = writeln!(
            l,
            "{t} mx postfix/smtpd[{pid}]: connect from unknown[203.0.113.5]"
        );
        let _ = writeln!(
            l,
            "{t} mx postfix/smtpd[{pid}]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={}@example.org",
            users[i as usize % users.len()]
        );
        let _ = writeln!(
            l,
            "{t} mx postfix/smtpd[{pid}]: lost connection after AUTH from unknown[203.0.113.5]"
        );
        let _ = writeln!(l, "{t} mx postfix/smtpd[{pid}]: disconnect from unknown[203.0.113.5] ehlo=1 auth=0/1 commands=1/2");
    }
    for (i, u) in users.iter().enumerate() {
        let t = syslog_time(t0 + 300 + i as u32 * 20);
        let _ = writeln!(
            l,
            "{t} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 4 secs): user=<{u}>, method=PLAIN, rip=203.0.113.6, lip=192.0.2.1, TLS, session=<Sx{i}>"
        );
    }
    // alice mistypes her password twice, then reads her mail and sends one.
    let t = syslog_time(t0 + 400);
    let _ = writeln!(l, "{t} mx dovecot: imap-login: Disconnected (auth failed, 2 attempts in 9 secs): user=<alice>, method=PLAIN, rip=192.0.2.44, lip=192.0.2.1, TLS, session=<A1>");
    let t = syslog_time(t0 + 430);
    let _ = writeln!(l, "{t} mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.44, lip=192.0.2.1, mpid=4242, TLS, session=<A2>");
    let t = syslog_time(t0 + 500);
    let _ = writeln!(l, "{t} mx postfix/submission/smtpd[3001]: 4Bc2Xx1234z: client=laptop.example[192.0.2.44], sasl_method=PLAIN, sasl_username=alice");
    // Relay probing: recon, watched.
    for i in 0..3u32 {
        let t = syslog_time(t0 + 600 + i);
        let _ = writeln!(l, "{t} mx postfix/smtpd[3100]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 <v{i}@example.net>: Relay access denied; from=<a@example.com> to=<v{i}@example.net> proto=ESMTP helo=<x>");
    }
    // Near misses and noise.
    let t = syslog_time(t0 + 700);
    let _ = writeln!(l, "{t} mx postfix/smtpd[3200]: warning: hostname mail.example does not resolve to address 198.51.100.77: Name or service not known");
    let _ = writeln!(l, "{t} mx postfix/qmgr[900]: 4Bc2Xx1234z: from=<alice@example.org>, size=1234, nrcpt=1 (queue active)");
    let _ = writeln!(
        l,
        "{t} mx dovecot: master: Dovecot v2.3.19.1 (9b53102964) starting up for imap, pop3"
    );
    // A damaged failure line: an error naming the line, the rest still read.
    let _ = writeln!(l, "{t} mx postfix/smtpd[3201]: warning: unknown[203.0.113.999]: SASL LOGIN authentication failed: x");
    l
}

fn vsftpd_log() -> String {
    let mut l = String::new();
    for i in 0..12u32 {
        let (m, s) = (i / 60, i % 60);
        let _ = writeln!(
            l,
            "Wed Nov 25 11:{m:02}:{s:02} 2026 [pid {}] CONNECT: Client \"::ffff:203.0.113.5\"",
            500 + i
        );
        let _ = writeln!(l, "Wed Nov 25 11:{m:02}:{s:02} 2026 [pid {}] [ftp{i}] FAIL LOGIN: Client \"::ffff:203.0.113.5\"", 500 + i);
    }
    let _ = writeln!(
        l,
        "Wed Nov 25 11:05:00 2026 [pid 700] [alice] FAIL LOGIN: Client \"::ffff:192.0.2.44\""
    );
    let _ = writeln!(
        l,
        "Wed Nov 25 11:05:09 2026 [pid 701] [alice] FAIL LOGIN: Client \"::ffff:192.0.2.44\""
    );
    let _ = writeln!(
        l,
        "Wed Nov 25 11:05:20 2026 [pid 702] [alice] OK LOGIN: Client \"::ffff:192.0.2.44\""
    );
    l
}

fn auth<'a>(s: &'a Value, service: &str) -> &'a Value {
    s["auth"]
        .as_array()
        .unwrap_or_else(|| panic!("no auth list: {s}"))
        .iter()
        .find(|a| a["service"] == service)
        .unwrap_or_else(|| panic!("no {service} object: {s}"))
}

fn reasons(s: &Value) -> Vec<&str> {
    s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
fn mail_and_ftp_guessers_are_blocked_per_service_and_a_mistyping_user_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mail = write(dir.path(), "mail.log", mail_log().as_bytes());
    let ftp_log = write(dir.path(), "vsftpd.log", vsftpd_log().as_bytes());
    let (sources, summary, code, stderr) = analyze_json(&["--no-store", &mail, &ftp_log]);
    assert_eq!(code, 0, "{stderr}");
    let inputs = summary["inputs"].as_array().unwrap();
    let formats: Vec<&str> = inputs
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["syslog", "syslog"], "{summary}");
    // The damaged line is counted and shown with its line number; the rest is read.
    assert_eq!(inputs[0]["parse_errors"], 1, "{}", inputs[0]);
    assert_eq!(inputs[1]["parse_errors"], 0, "{}", inputs[1]);

    // SMTP AUTH and FTP guessing from one source: two services, two block reasons.
    let s = &sources["203.0.113.5"];
    assert_eq!(s["decision"], "block", "{s}");
    assert!(s.get("ssh").is_none(), "{s}");
    let smtp = auth(s, "smtp");
    assert_eq!(smtp["failures"], 15, "{smtp}");
    assert_eq!(smtp["preauth_closes"], 15, "{smtp}");
    assert_eq!(smtp["distinct_users"], 7, "{smtp}");
    assert!(smtp["brute_force"].is_string(), "{smtp}");
    let ftp = auth(s, "ftp");
    assert_eq!(ftp["failures"], 12, "{ftp}");
    assert!(ftp["brute_force"].is_string(), "{ftp}");
    let r = reasons(s);
    assert!(
        r.iter()
            .any(|r| r.starts_with("SMTP AUTH brute force: ") && r.contains("mail.log:")),
        "{r:?}"
    );
    assert!(
        r.iter().any(|r| r.starts_with("FTP brute force: ")),
        "{r:?}"
    );
    assert_eq!(s["verdict"], "relevant", "{s}");

    // IMAP guessing: seven user names, one failure each.
    let s = &sources["203.0.113.6"];
    assert_eq!(s["decision"], "block", "{s}");
    let imap = auth(s, "imap");
    assert_eq!(
        (imap["failures"].as_u64(), imap["distinct_users"].as_u64()),
        (Some(7), Some(7))
    );
    assert!(
        imap["brute_force"]
            .as_str()
            .unwrap()
            .contains("distinct user names"),
        "{imap}"
    );
    assert!(
        reasons(s)
            .iter()
            .any(|r| r.starts_with("IMAP/POP3 brute force: ")),
        "{s}"
    );

    // alice: two mistypes on IMAP and two on FTP, then logins; watched at most, never
    // blocked, her logins recorded.
    let a = &sources["192.0.2.44"];
    assert_ne!(a["decision"], "block", "{a}");
    let imap = auth(a, "imap");
    assert_eq!(
        (imap["failures"].as_u64(), imap["accepted"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(imap.get("brute_force").is_none(), "{imap}");
    assert_eq!(auth(a, "smtp")["accepted_users"][0], "alice");
    assert_eq!(auth(a, "ftp")["accepted"], 1);

    // Relay probing is recon: watched, not blocked.
    let rp = &sources["198.51.100.9"];
    assert_eq!(rp["decision"], "watch", "{rp}");
    assert_eq!(auth(rp, "smtp")["recon"], 3);
    // The near miss is no event at all.
    assert!(!sources.contains_key("198.51.100.77"));

    // The terminal report lists both guessers' services.
    let out = scantriage()
        .args(["analyze", "--no-store", "--no-progress"])
        .arg(&mail)
        .arg(&ftp_log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MAIL AND FTP BRUTE FORCE (3)"), "{text}");
    assert!(
        text.contains("SMTP AUTH") && text.contains("IMAP/POP3"),
        "{text}"
    );
}

#[test]
fn login_thresholds_come_from_the_network_section() {
    let dir = tempfile::tempdir().unwrap();
    let ftp = write(dir.path(), "vsftpd.log", vsftpd_log().as_bytes());
    // Raised thresholds: twelve FTP failures are no longer brute force.
    let cfg = write(
        dir.path(),
        "c.toml",
        b"[network]\nlogin_failures = 50\nlogin_users = 20\nlogin_window = \"10m\"\n",
    );
    let (sources, _, code, stderr) = analyze_json(&["--no-store", "--config", &cfg, &ftp]);
    assert_eq!(code, 0, "{stderr}");
    let s = &sources["203.0.113.5"];
    assert_eq!(s["decision"], "watch", "{s}");
    assert!(auth(s, "ftp").get("brute_force").is_none(), "{s}");
    assert!(reasons(s)[0].starts_with("FTP: 12 failed login(s)"), "{s}");
    // A bad value is refused with the key named.
    let bad = write(
        dir.path(),
        "bad.toml",
        b"[network]\nlogin_window = \"soon\"\n",
    );
    let out = scantriage()
        .args(["analyze", "--no-store", "--config", &bad, &ftp])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("login_window"), "{err}");
}
