use super::*;
use scantriage_core::Timestamp;
use scantriage_store::{RunRecord, SqliteStore};
use std::sync::{Arc, Mutex};

fn net(s: &str) -> IpNet {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .unwrap()
}

fn ban(s: &str, secs: u64) -> Ban {
    Ban {
        net: net(s),
        timeout_secs: secs,
    }
}

fn decision(ip: &str, kind: DecisionKind, at_secs: i64, duration_secs: u64) -> Decision {
    Decision {
        source: ip.parse().unwrap(),
        kind,
        duration_secs,
        reasons: vec!["test".into()],
        by: "policy".into(),
        at: Timestamp::from_unix_secs(at_secs),
    }
}

#[test]
fn prepare_caps_refuses_and_merges() {
    let allow = Allowlist::new([net("192.0.2.0/24")]);
    let out = prepare(
        &[
            ban("198.51.100.7", 60),
            ban("198.51.100.7", 600),
            ban("127.0.0.1", 60),
            ban("192.0.2.5", 60),
            ban("203.0.113.0/24", 100),
            ban("203.0.113.9", 1000),
            ban("2001:db8::1", 10_000),
            ban("198.51.100.8", 0),
            ban("::ffff:198.51.100.9", 60),
        ],
        &allow,
        5000,
    );
    let applied: Vec<String> = out
        .applied
        .iter()
        .map(|b| format!("{} {}", b.net, b.timeout_secs))
        .collect();
    assert_eq!(
        applied,
        [
            "198.51.100.7/32 600",
            "198.51.100.9/32 60",
            "203.0.113.0/24 100",
            "2001:db8::1/128 5000"
        ]
    );
    let refused: Vec<String> = out.refused.iter().map(|b| b.net.to_string()).collect();
    assert_eq!(refused, ["127.0.0.1/32", "192.0.2.5/32"]);
}

#[test]
fn decisions_become_bans_with_remaining_time() {
    let now_ms = 1_700_000_100_000;
    let ds = [
        decision("198.51.100.1", DecisionKind::Block, 1_700_000_000, 3600),
        decision("198.51.100.2", DecisionKind::Watch, 1_700_000_000, 3600),
        decision("198.51.100.3", DecisionKind::Block, 1_700_000_000, 50),
        decision(
            "198.51.100.4",
            DecisionKind::Block,
            1_700_000_000,
            100 * 86_400,
        ),
    ];
    let bans = bans_from_decisions(&ds, now_ms, DEFAULT_MAX_TIMEOUT_SECS);
    assert_eq!(
        bans,
        [
            ban("198.51.100.1", 3500),
            ban("198.51.100.4", DEFAULT_MAX_TIMEOUT_SECS)
        ]
    );
}

#[test]
fn restore_reapplies_the_stores_active_blocks() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let ds = [
        decision("198.51.100.1", DecisionKind::Block, 1_700_000_000, 3600),
        decision("127.0.0.1", DecisionKind::Block, 1_700_000_000, 3600),
        decision("198.51.100.9", DecisionKind::Block, 1_700_000_000, 3600),
        // A later ignore lifts the earlier block.
        decision("198.51.100.9", DecisionKind::Ignore, 1_700_000_010, 0),
    ];
    store
        .save_run(&RunRecord {
            started_ms: 0,
            finished_ms: 0,
            inputs: &[],
            lines: 0,
            parse_errors: 0,
            findings: &[],
            sources: &[],
            decisions: &ds,
            checkpoints: &[],
        })
        .unwrap();
    let mut rec = Recording::new(Allowlist::default());
    let out = restore(&store, &mut rec, 1_700_000_600_000, 86_400, 128).unwrap();
    assert_eq!(out.applied, [ban("198.51.100.1", 3000)]);
    assert_eq!(out.refused, [ban("127.0.0.1", 3000)]);
    assert_eq!(rec.calls, [Call::Apply(vec![ban("198.51.100.1", 3000)])]);
    rec.fail = Some(true);
    let e = restore(&store, &mut rec, 1_700_000_600_000, 86_400, 128).unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

#[test]
fn file_backend_rewrites_atomically_expires_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deny.conf");
    let marker = dir.path().join("reloaded");
    let now = Arc::new(Mutex::new(1_000u64));
    let clock = now.clone();
    let reload = vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("echo x >> {}", marker.display()),
    ];
    let mut f = FileEnforcer::new(&path, reload, 86_400, Allowlist::default())
        .with_clock(move || *clock.lock().unwrap());
    let out = f
        .apply(&[
            ban("198.51.100.7", 60),
            ban("2001:db8::/64", 120),
            ban("::1", 60),
        ])
        .unwrap();
    assert_eq!(out.refused.len(), 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "deny 198.51.100.7; # scantriage 198.51.100.7/32 until 1060\n\
         deny 2001:db8::/64; # scantriage 2001:db8::/64 until 1120\n"
    );
    // Extending, never shortening.
    f.apply(&[ban("198.51.100.7", 10)]).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("until 1060"));
    *now.lock().unwrap() = 1_100;
    let listed = f.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].expires_in_secs, Some(20));
    f.remove(&[net("2001:db8::/64")]).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    f.apply(&[ban("203.0.113.1", 60)]).unwrap();
    f.remove_all().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    // One reload per change (the unchanged rewrite did not reload).
    let reloads = std::fs::read_to_string(&marker).unwrap().lines().count();
    assert_eq!(reloads, 4);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 2);
}

#[test]
fn file_backend_reports_io_errors_as_not_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("deny.conf");
    let mut f = FileEnforcer::new(&path, vec![], 60, Allowlist::default());
    let e = f.apply(&[ban("198.51.100.7", 60)]).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("deny.conf"), "{e}");
}

#[test]
fn dry_run_says_what_it_would_do() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let mut d = DryRun::to_writer(Box::new(buf.clone()), 3600, Allowlist::default());
    d.apply(&[ban("198.51.100.7", 7200), ban("127.0.0.2", 60)])
        .unwrap();
    d.remove_all().unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text,
        "would ban 198.51.100.7/32 for 3600s\nwould refuse 127.0.0.2/32 (allowlisted)\nwould remove every ban\n"
    );
    assert!(d.list().unwrap().is_empty());
}

#[test]
fn ipv6_sources_can_be_widened_to_a_prefix() {
    let bans = [
        ban("2001:db8:1:2:3:4:5:6", 60),
        ban("2001:db8::/32", 60),
        ban("192.0.2.1", 60),
    ];
    let wide: Vec<String> = aggregate_v6(&bans, 64)
        .iter()
        .map(|b| b.net.to_string())
        .collect();
    assert_eq!(wide, ["2001:db8:1:2::/64", "2001:db8::/32", "192.0.2.1/32"]);
    assert_eq!(aggregate_v6(&bans, 128), bans);
}
