//! A person's verdicts in the SQLite store: migration, round trip, revocation and the
//! re-assessment of stored findings that "cannot work here" verdicts cover.

use scantriage_core::{
    Category, DecisionKind, Finding, PersonAction, SourceSummary, Suppressions, Timestamp, Verdict,
    VerdictScope,
};
use scantriage_store::{RunRecord, SqliteStore, Store, StoreError, SCHEMA_VERSION};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn scope(kind: &str, value: &str) -> VerdictScope {
    VerdictScope::parse(kind, value).unwrap()
}

fn finding(source: &str, line: u64, request: &str, sig: &str, verdict: Verdict) -> Finding {
    Finding {
        time: Timestamp {
            unix_ms: 1_700_000_000_000 + line as i64,
            offset_min: 60,
        },
        source: ip(source),
        input: "access.log".into(),
        line,
        request: request.into(),
        status: 404,
        user_agent: "zgrab".into(),
        signatures: vec![sig.into()],
        cves: vec![],
        category: Category::Recon,
        verdict,
        why: "probe found software this server runs".into(),
    }
}

fn summary(source: &str, by_verdict: [u64; 5], verdict: Verdict) -> SourceSummary {
    SourceSummary {
        ip: ip(source),
        decision: DecisionKind::Watch,
        verdict,
        events: by_verdict.iter().sum(),
        findings: by_verdict[1..].iter().sum(),
        signatures: vec![],
        cves: vec![],
        reasons: vec![],
        first_seen: Timestamp::from_unix_secs(1_700_000_000),
        last_seen: Timestamp::from_unix_secs(1_700_000_100),
        duration_secs: 0,
        by_verdict,
        port_scan: None,
        ssh: None,
        auth: Vec::new(),
    }
}

fn save(store: &mut SqliteStore, findings: &[Finding], sources: &[SourceSummary]) {
    store
        .save_run(&RunRecord {
            started_ms: 1_700_000_000_000,
            finished_ms: 1_700_000_001_000,
            inputs: &[],
            lines: findings.len() as u64,
            parse_errors: 0,
            findings,
            sources,
            decisions: &[],
            checkpoints: &[],
        })
        .unwrap();
}

#[test]
fn verdicts_round_trip_and_revoke() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let a = store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("signature", "phpmyadmin-probe"),
            "ann",
            1_700_000_000_000,
            "no phpMyAdmin here",
        )
        .unwrap();
    let b = store
        .add_verdict(
            PersonAction::Block,
            &scope("source", "198.51.100.0/24"),
            "bob \u{1b}[31m",
            1_700_000_000_500,
            "",
        )
        .unwrap();
    let c = store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("path", "/cgi-bin/*"),
            "ann",
            1_600_000_000_000,
            "",
        )
        .unwrap();
    assert!(a < b && b < c);
    let all = store.verdicts(false).unwrap();
    // Oldest first.
    assert_eq!(
        all.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![c, a, b],
        "{all:?}"
    );
    let va = &all[1];
    assert_eq!(va.action, PersonAction::CannotWork);
    assert_eq!(va.scope, scope("signature", "phpmyadmin-probe"));
    assert_eq!(
        (va.author.as_str(), va.at_ms, va.note.as_str()),
        ("ann", 1_700_000_000_000, "no phpMyAdmin here")
    );
    assert_eq!(va.revoked_ms, None);
    assert_eq!(all[2].author, "bob \u{1b}[31m");
    assert_eq!(all[2].scope, scope("source", "198.51.100.7/24"));

    assert!(store.revoke_verdict(b, 1_700_000_002_000).unwrap());
    assert!(
        !store.revoke_verdict(b, 1_700_000_003_000).unwrap(),
        "already revoked"
    );
    assert!(!store.revoke_verdict(9999, 1).unwrap(), "no such verdict");
    let active = store.verdicts(false).unwrap();
    assert_eq!(active.iter().map(|v| v.id).collect::<Vec<_>>(), vec![c, a]);
    let with_revoked = store.verdicts(true).unwrap();
    assert_eq!(with_revoked.len(), 3);
    let revoked = with_revoked.iter().find(|v| v.id == b).unwrap();
    assert_eq!(
        revoked.revoked_ms,
        Some(1_700_000_002_000),
        "first revocation kept"
    );
}

#[test]
fn a_verdict_that_does_not_apply_to_its_scope_is_refused() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    for (action, s) in [
        (PersonAction::CannotWork, scope("source", "192.0.2.1")),
        (PersonAction::Block, scope("signature", "x")),
        (PersonAction::Allow, scope("path", "/x")),
        (PersonAction::Acknowledge, scope("target", "wordpress")),
    ] {
        let err = store.add_verdict(action, &s, "ann", 0, "").unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidVerdict { .. }),
            "{action} on {s}: {err:?}"
        );
        assert!(err.to_string().contains("cannot apply to a"), "{err}");
    }
    assert!(store.verdicts(true).unwrap().is_empty());
}

#[test]
fn apply_suppressions_turns_covered_open_findings_into_noise() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let findings = [
        finding(
            "192.0.2.1",
            1,
            "GET /phpmyadmin/index.php",
            "pma",
            Verdict::Relevant,
        ),
        finding(
            "192.0.2.1",
            2,
            "GET /phpMyAdmin/setup.php?x=1",
            "pma",
            Verdict::Unknown,
        ),
        finding(
            "192.0.2.1",
            3,
            "GET /wp-login.php",
            "wp-login",
            Verdict::Relevant,
        ),
        // Already noise: not counted as a change.
        finding("192.0.2.2", 4, "GET /pma/", "pma", Verdict::Noise),
        finding(
            "192.0.2.2",
            5,
            "GET /cgi-bin/test.cgi",
            "shellshock",
            Verdict::Urgent,
        ),
    ];
    let sources = [
        summary("192.0.2.1", [10, 0, 1, 2, 0], Verdict::Relevant),
        summary("192.0.2.2", [3, 1, 0, 0, 1], Verdict::Urgent),
    ];
    save(&mut store, &findings, &sources);

    let pma = store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("signature", "pma"),
            "ann",
            1_700_000_500_000,
            "",
        )
        .unwrap();
    let cgi = store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("path", "/cgi-bin/*"),
            "bob",
            1_700_000_600_000,
            "",
        )
        .unwrap();
    // Not a suppression: ignored by `Suppressions`.
    store
        .add_verdict(
            PersonAction::Acknowledge,
            &scope("signature", "wp-login"),
            "ann",
            1_700_000_700_000,
            "",
        )
        .unwrap();
    let sup = Suppressions::from_verdicts(&store.verdicts(false).unwrap());
    assert_eq!(store.apply_suppressions(&sup).unwrap(), 3);
    // Idempotent: nothing left to change.
    assert_eq!(store.apply_suppressions(&sup).unwrap(), 0);

    let one = store.findings_for(ip("192.0.2.1"), 10).unwrap();
    let by_line = |fs: &[Finding], line: u64| fs.iter().find(|f| f.line == line).unwrap().clone();
    let f1 = by_line(&one, 1);
    assert_eq!(f1.verdict, Verdict::Noise);
    assert_eq!(
        f1.why,
        format!(
            "marked cannot work here by ann at 2023-11-14T22:21:40Z, verdict #{pma} \
             (was relevant: probe found software this server runs)"
        )
    );
    assert_eq!(by_line(&one, 2).verdict, Verdict::Noise);
    assert_eq!(by_line(&one, 3).verdict, Verdict::Relevant);
    let two = store.findings_for(ip("192.0.2.2"), 10).unwrap();
    let f5 = by_line(&two, 5);
    assert_eq!(f5.verdict, Verdict::Noise);
    assert!(f5.why.contains("by bob at "), "{}", f5.why);
    assert!(
        f5.why.contains(&format!("verdict #{cgi} (was urgent")),
        "{}",
        f5.why
    );
    assert_eq!(
        by_line(&two, 4).why,
        "probe found software this server runs"
    );

    // Source counts moved to noise; the worst verdict follows.
    let s1 = store.source(ip("192.0.2.1")).unwrap().unwrap();
    assert_eq!(s1.by_verdict, [10, 2, 0, 1, 0]);
    assert_eq!(s1.verdict, Verdict::Relevant);
    let s2 = store.source(ip("192.0.2.2")).unwrap().unwrap();
    assert_eq!(s2.by_verdict, [3, 2, 0, 0, 0]);
    assert_eq!(s2.verdict, Verdict::Noise);

    // A revoked verdict no longer suppresses new findings.
    assert!(store.revoke_verdict(pma, 1_700_000_800_000).unwrap());
    save(
        &mut store,
        &[finding(
            "192.0.2.3",
            6,
            "GET /phpmyadmin/",
            "pma",
            Verdict::Relevant,
        )],
        &[],
    );
    let sup = Suppressions::from_verdicts(&store.verdicts(false).unwrap());
    assert_eq!(store.apply_suppressions(&sup).unwrap(), 0);
    assert_eq!(
        store.findings_for(ip("192.0.2.3"), 1).unwrap()[0].verdict,
        Verdict::Relevant
    );
}

#[test]
fn target_verdicts_reach_stored_findings_through_signature_targets() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    save(
        &mut store,
        &[
            finding("192.0.2.1", 1, "GET /pma/", "pma", Verdict::Relevant),
            finding(
                "192.0.2.1",
                2,
                "GET /wp-login.php",
                "wp-login",
                Verdict::Relevant,
            ),
        ],
        &[],
    );
    store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("target", "phpMyAdmin"),
            "ann",
            1,
            "",
        )
        .unwrap();
    let verdicts = store.verdicts(false).unwrap();
    // Without the rule set's signature targets, the store cannot tell.
    assert_eq!(
        store
            .apply_suppressions(&Suppressions::from_verdicts(&verdicts))
            .unwrap(),
        0
    );
    let sup = Suppressions::from_verdicts(&verdicts).with_signature_targets([
        ("pma", vec!["phpmyadmin".to_string()]),
        ("wp-login", vec!["wordpress".to_string()]),
    ]);
    assert_eq!(store.apply_suppressions(&sup).unwrap(), 1);
}

#[test]
fn a_version_2_store_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("st.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        save(
            &mut store,
            &[finding(
                "192.0.2.1",
                1,
                "GET /pma/",
                "pma",
                Verdict::Relevant,
            )],
            &[summary("192.0.2.1", [0, 0, 0, 1, 0], Verdict::Relevant)],
        );
    }
    // Turn it back into exactly what version 2 created: versions 3 and 4 only add these.
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "DROP TRIGGER finding_hours_update; DROP TRIGGER finding_hours_delete; \
             DROP TRIGGER queue_summary_update_old; DROP TRIGGER queue_summary_update_new; \
             DROP TRIGGER queue_summary_delete; DROP TABLE finding_hours; \
             DROP TABLE signature_stats; DROP TABLE queue_summary; \
             DROP INDEX findings_by_source_time_verdict; \
             CREATE INDEX findings_by_source_time ON findings (source, time_ms); \
             DROP INDEX findings_by_verdict_time; DROP INDEX verdicts_by_scope; \
             DROP TABLE verdicts; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!((version, SCHEMA_VERSION), (4, 4));
    let index: i64 = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' \
             AND name = 'findings_by_verdict_time'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
    assert_eq!(store.counts().unwrap().findings, 1);
    assert!(store.verdicts(true).unwrap().is_empty());
    let id = store
        .add_verdict(
            PersonAction::CannotWork,
            &scope("signature", "pma"),
            "ann",
            5,
            "",
        )
        .unwrap();
    let sup = Suppressions::from_verdicts(&store.verdicts(false).unwrap());
    assert_eq!(store.apply_suppressions(&sup).unwrap(), 1);
    let f = &store.findings_for(ip("192.0.2.1"), 1).unwrap()[0];
    assert!(
        f.why.ends_with(&format!(
            "verdict #{id} (was relevant: probe found software this server runs)"
        )),
        "{}",
        f.why
    );
}

#[test]
fn the_queue_query_uses_the_verdict_time_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("st.db");
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let plan: Vec<String> = raw
        .prepare(
            "EXPLAIN QUERY PLAN SELECT * FROM findings \
             WHERE verdict IN ('unknown', 'relevant', 'urgent') ORDER BY time_ms DESC LIMIT 50",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("findings_by_verdict_time"), "{plan}");
}
