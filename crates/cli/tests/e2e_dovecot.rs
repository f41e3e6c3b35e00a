//! End to end with a real dovecot: in a network namespace the test creates, dovecot
//! serves IMAP on 10.89.0.1 with one passwd-file user and writes its own log file
//! (`log_path`, with `auth_verbose`). A python3 `imaplib` client bound to 10.89.0.2
//! guesses passwords for a dozen user names (one bounded batch of parallel connections:
//! dovecot delays failures from one address, so a sequential loop would take minutes);
//! another bound to 10.89.0.3 mistypes once and then logs in. `analyze` on dovecot's log
//! must recognise it as a system log, block the guesser for IMAP/POP3 brute force and not
//! block the user.
//!
//! Needs root, `ip`, `dovecot` and `python3`; skips without them, except under CI (`CI`
//! set), where it fails. `.ci/run` installs them (Debian `dovecot-imapd`).

mod common;

use common::*;
use scantriage_testkit::netns::Netns;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT: &str = r#"
import imaplib, socket, sys, threading

class From(imaplib.IMAP4):
    def __init__(self, src):
        self.src = src
        super().__init__("10.89.0.1", 143, timeout=60)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.src, 0))

src, mode = sys.argv[1], sys.argv[2]
if mode == "guess":
    errors = []
    def one(i):
        try:
            c = From(src)
            try:
                c.login("alice" if i % 3 == 0 else "guess%d" % (i % 8), "wrong%d" % i)
                errors.append("guess %d logged in" % i)
            except imaplib.IMAP4.error:
                pass
            c.logout()
        except Exception as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("; ".join(errors))
else:
    c = From(src)
    try:
        c.login("alice", "correct-horze")
        sys.exit("a wrong password was accepted")
    except imaplib.IMAP4.error:
        pass
    c.login("alice", "correct-horse")
    c.logout()
"#;

/// Stops dovecot (TERM, then KILL) before the namespace goes, also when the test fails.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn imap_guessing_is_blocked_and_a_user_who_logs_in_is_not() {
    let Some(ns) = Netns::create("dovecot", &["dovecot", "python3"]) else {
        return;
    };
    ns.exec_ok(
        "sh",
        &[
            "-c",
            "ip addr add 10.89.0.1/32 dev lo && ip addr add 10.89.0.2/32 dev lo && \
             ip addr add 10.89.0.3/32 dev lo",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // dovecot's unprivileged processes must reach their directories.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    for sub in ["home", "mail"] {
        std::fs::create_dir(d.join(sub)).unwrap();
        std::fs::set_permissions(d.join(sub), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let path = |n: &str| d.join(n).display().to_string();
    write(d, "passwd", b"alice:{PLAIN}correct-horse\n");
    let log = path("dovecot.log");
    let conf = format!(
        "base_dir = {run}\nstate_dir = {run}/state\nlog_path = {log}\n\
         protocols = imap\nlisten = 10.89.0.1\nssl = no\ndisable_plaintext_auth = no\n\
         auth_mechanisms = plain login\nauth_verbose = yes\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {passwd}\n}}\n\
         userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={home}/%u\n}}\n\
         mail_location = maildir:{mail}/%u\n",
        run = path("run"),
        passwd = path("passwd"),
        home = path("home"),
        mail = path("mail"),
    );
    let conf_path = write(d, "dovecot.conf", conf.as_bytes());
    let client = write(d, "client.py", CLIENT.as_bytes());
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "dovecot",
            "-F",
            "-c",
            &conf_path,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dovecot");
    let _dovecot = Daemon(child);
    let t = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("starting up")) {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "dovecot did not start: {:?}",
            std::fs::read_to_string(&log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (ok, _, err) = ns.exec("python3", &[&client, "10.89.0.2", "guess"]);
    assert!(ok, "guessing client: {err}");
    let (ok, _, err) = ns.exec("python3", &[&client, "10.89.0.3", "login"]);
    assert!(ok, "login client: {err}");
    drop(_dovecot);
    let text = std::fs::read_to_string(&log).unwrap();

    let (sources, summary, code, stderr) = analyze_json(&["--no-store", &log]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        summary["inputs"][0]["format"], "syslog",
        "{summary}\n{text}"
    );
    assert_eq!(summary["inputs"][0]["parse_errors"], 0, "{summary}\n{text}");
    let imap = |s: &serde_json::Value| {
        s["auth"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["service"] == "imap"))
            .cloned()
            .unwrap_or_else(|| panic!("no imap object: {s}\n{text}"))
    };
    let b = sources
        .get("10.89.0.2")
        .unwrap_or_else(|| panic!("guessing client missing:\n{text}"));
    assert_eq!(b["decision"], "block", "{b}\n{text}");
    let bi = imap(b);
    assert!(bi["brute_force"].is_string(), "{bi}");
    // 12 connections with one failed attempt each, and dovecot's auth lines.
    assert!(bi["failures"].as_u64().unwrap() >= 12, "{bi}\n{text}");
    assert!(bi["distinct_users"].as_u64().unwrap() >= 5, "{bi}");
    assert!(
        b["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("IMAP/POP3 brute force: "),
        "{b}"
    );
    let g = sources
        .get("10.89.0.3")
        .unwrap_or_else(|| panic!("login client missing:\n{text}"));
    assert_ne!(g["decision"], "block", "{g}\n{text}");
    let gi = imap(g);
    assert_eq!(gi["accepted"], 1, "{gi}\n{text}");
    assert_eq!(gi["accepted_users"][0], "alice", "{gi}");
    assert!(gi.get("brute_force").is_none(), "{gi}");
}
