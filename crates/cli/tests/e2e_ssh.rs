//! End to end with a real sshd: the target namespace runs OpenSSH's `sshd`; a client in
//! the scanner namespace loops logins under guessed user names, and a client in a third
//! namespace logs in with its key. No syslog daemon runs here, so the test is sshd's
//! syslog receiver: it runs `sshd -D -e` and stamps each line sshd writes as an RFC 3339
//! syslog line (`TIME target sshd[PID]: message`), as rsyslog would. `analyze` on that
//! log must block the guessing client for SSH brute force and not the one that logs in.
//!
//! Needs root, `ip`, `sshd`, `ssh` and `ssh-keygen`; skips without them, except under CI
//! (`CI` set), where it fails. `.ci/run` installs them.

mod common;

use common::*;
use scantriage_testkit::netns::Netns;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

fn sh(ns: &Netns, cmd: &str) {
    ns.exec_ok("sh", &["-c", cmd]);
}

#[test]
fn ssh_guessing_is_blocked_and_a_key_login_is_not() {
    let needs = ["sshd", "ssh", "ssh-keygen"];
    let Some(tgt) = Netns::create("stgt", &needs) else {
        return;
    };
    let Some(bad) = Netns::create("sbad", &needs) else {
        return;
    };
    let Some(good) = Netns::create("sgood", &needs) else {
        return;
    };
    for (ns, local, peer) in [(&bad, "veth0", "vethb"), (&good, "veth0", "vethg")] {
        let ok = Command::new("ip")
            .args(["link", "add", local, "netns", ns.name(), "type", "veth"])
            .args(["peer", "name", peer, "netns", tgt.name()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link add veth failed");
    }
    sh(
        &bad,
        "ip addr add 10.87.0.1/24 dev veth0 && ip link set veth0 up",
    );
    sh(
        &good,
        "ip addr add 10.88.0.1/24 dev veth0 && ip link set veth0 up",
    );
    sh(
        &tgt,
        "ip addr add 10.87.0.2/24 dev vethb && ip link set vethb up && \
         ip addr add 10.88.0.2/24 dev vethg && ip link set vethg up",
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = |n: &str| d.join(n).display().to_string();
    for key in ["hostkey", "clientkey"] {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f", &path(key)])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ssh-keygen failed");
    }
    std::fs::copy(path("clientkey.pub"), path("authorized_keys")).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let opts = [
        "Port=22".to_string(),
        "ListenAddress=10.87.0.2".into(),
        "ListenAddress=10.88.0.2".into(),
        format!("HostKey={}", path("hostkey")),
        "PidFile=none".into(),
        format!("AuthorizedKeysFile={}", path("authorized_keys")),
        "StrictModes=no".into(),
        "PasswordAuthentication=no".into(),
        "KbdInteractiveAuthentication=no".into(),
        "UsePAM=no".into(),
        "PermitRootLogin=prohibit-password".into(),
        "LogLevel=INFO".into(),
    ];
    let mut args: Vec<String> = vec!["/usr/sbin/sshd".into(), "-D".into(), "-e".into()];
    args.extend(["-f".into(), "/dev/null".into()]);
    for o in &opts {
        args.push("-o".into());
        args.push(o.clone());
    }
    let mut sshd = Command::new("ip")
        .args(["netns", "exec", tgt.name()])
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sshd");
    let pid = sshd.id();
    let stderr = sshd.stderr.take().unwrap();
    // The syslog receiver: stamp each line as it arrives.
    let receiver = std::thread::spawn(move || {
        let mut out = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let t = scantriage_core::Timestamp {
                unix_ms: now.as_millis() as i64,
                offset_min: 0,
            };
            out.push_str(&format!("{t} target sshd[{pid}]: {line}\n"));
        }
        out
    });
    std::thread::sleep(Duration::from_millis(1000));
    let ssh = |ns: &Netns, extra: &[&str], dest: &str| -> bool {
        let mut a = vec![
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
        ];
        a.extend_from_slice(extra);
        a.extend([dest, "true"]);
        ns.exec("ssh", &a).0
    };
    let key = path("clientkey");
    let wrong = path("hostkey");
    assert!(
        ssh(&good, &["-i", &key], "root@10.88.0.2"),
        "key login failed"
    );
    for i in 0..12 {
        let user = format!("guess{}@10.87.0.2", i % 8);
        assert!(!ssh(&bad, &["-i", &wrong], &user));
    }
    assert!(
        ssh(&good, &["-i", &key], "root@10.88.0.2"),
        "key login failed"
    );
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = sshd.wait();
    let log = receiver.join().unwrap();
    let auth = d.join("auth.log");
    std::fs::write(&auth, &log).unwrap();

    let (sources, summary, code, stderr) = analyze_json(&["--no-store", auth.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["inputs"][0]["format"], "sshd", "{summary}\n{log}");
    let b = sources
        .get("10.87.0.1")
        .unwrap_or_else(|| panic!("guessing client missing:\n{log}"));
    assert_eq!(b["decision"], "block", "{b}\n{log}");
    assert!(b["ssh"]["brute_force"].is_string(), "{b}");
    assert!(b["ssh"]["invalid_users"].as_u64().unwrap() >= 8, "{b}");
    let g = sources
        .get("10.88.0.1")
        .unwrap_or_else(|| panic!("key client missing:\n{log}"));
    assert_ne!(g["decision"], "block", "{g}");
    assert_eq!(g["ssh"]["accepted"], 2, "{g}\n{log}");
}
