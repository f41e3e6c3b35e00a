//! Hostile log content never reaches the terminal raw: ANSI escapes (colours, screen
//! clearing), OSC 8 hyperlinks and C1 controls in paths and user agents are shown
//! escaped by `analyze`, `show` and `verdict list`.

mod common;

use common::*;

const SOURCE: &str = "198.51.100.23";

/// Requests whose path and user agent carry raw control sequences.
fn hostile_log() -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..6 {
        log.extend_from_slice(
            format!("{SOURCE} - - [03/Nov/2025:10:00:0{i} +0100] \"GET /index.php?file=../../../../etc/passwd&n={i}&x=")
                .as_bytes(),
        );
        // Colour, OSC 8 hyperlink, clear screen, C1 CSI (as UTF-8 and as a raw byte).
        log.extend_from_slice(
            b"\x1b[31mRED\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\x1b[2J\xc2\x9b6n\x9b0m HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0 \x1b[2J\x1b]8;;http://evil.example/\x07ua\x1b]8;;\x07 \x9b31m\"\n",
        );
    }
    log
}

/// Fails when `out` holds an ESC, a BEL, a raw 0x9b byte or U+009B.
fn assert_no_raw_controls(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    assert!(!out.contains(&0x1b), "{what}: raw ESC in\n{text}");
    assert!(!out.contains(&0x07), "{what}: raw BEL in\n{text}");
    assert!(!out.contains(&0x9b), "{what}: raw 0x9b in\n{text}");
    assert!(!text.contains('\u{9b}'), "{what}: raw U+009B in\n{text}");
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = scantriage().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_raw_controls(&format!("{args:?} (stderr)"), &out.stderr);
    out.stdout
}

#[test]
fn control_sequences_in_log_fields_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", NO_WP_CONFIG.as_bytes());
    let log = write(dir.path(), "access.log", &hostile_log());
    let db = dir.path().join("st.db").display().to_string();

    // The default terminal report.
    let report = run(&[
        "analyze",
        "--no-progress",
        "--config",
        &cfg,
        "--db",
        &db,
        &log,
    ]);
    assert_no_raw_controls("analyze", &report);
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains(SOURCE), "{report}");
    assert!(
        report.contains("\\x1b[31mRED\\x1b]8;;http://evil.example/\\x07click"),
        "{report}"
    );

    // One source: its findings with request and user agent.
    let show = run(&["show", SOURCE, "--config", &cfg, "--db", &db]);
    assert_no_raw_controls("show", &show);
    let show = String::from_utf8(show).unwrap();
    assert!(
        show.contains("x=\\x1b[31mRED\\x1b]8;;http://evil.example/\\x07click\\x1b]8;;\\x07\\x1b[2J\\xc2\\x9b6n\\x9b0m"),
        "{show}"
    );
    assert!(
        show.contains("ua \"Mozilla/5.0 \\x1b[2J\\x1b]8;;http://evil.example/\\x07ua\\x1b]8;;\\x07 \\x9b31m\""),
        "{show}"
    );

    // A verdict whose note and author carry the same sequences (the dashboard takes
    // them from a form; here the command line).
    let note = "see \u{1b}[2J\u{1b}]8;;http://evil.example/\u{7}link\u{1b}]8;;\u{7} \u{9b}31m";
    let added = run(&[
        "verdict",
        "add",
        "acknowledge",
        "--source",
        SOURCE,
        "--note",
        note,
        "--author",
        "mal\u{1b}[31mlory",
        "--config",
        &cfg,
        "--db",
        &db,
    ]);
    assert_no_raw_controls("verdict add", &added);
    let list = run(&["verdict", "list", "--config", &cfg, "--db", &db]);
    assert_no_raw_controls("verdict list", &list);
    let list = String::from_utf8(list).unwrap();
    assert!(list.contains("by mal\\x1b[31mlory at "), "{list}");
    assert!(
        list.contains(
            "see \\x1b[2J\\x1b]8;;http://evil.example/\\x07link\\x1b]8;;\\x07 \\xc2\\x9b31m"
        ),
        "{list}"
    );
    // JSON keeps the exact text for programs (escaped as JSON requires).
    let json = run(&[
        "verdict", "list", "--output", "json", "--config", &cfg, "--db", &db,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["note"], note);
}
