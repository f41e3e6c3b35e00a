//! Terminal output never carries raw control sequences from the logs: ANSI escapes in
//! paths, user agents and referers of findings reach the screen escaped, in every
//! command that prints stored values.

mod common;

use common::*;

/// Bytes that would act on a terminal: ESC, BEL, the 8-bit CSI, backspace, carriage return.
fn raw_controls(text: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(text);
    s.chars()
        .filter(|c| matches!(c, '\u{1b}' | '\u{7}' | '\u{9b}' | '\u{8}' | '\r'))
        .map(|c| c as u32 as u8)
        .collect()
}

#[test]
fn escape_sequences_in_log_fields_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    for i in 0..3 {
        log.extend_from_slice(
            format!(
                "203.0.113.9 - - [03/Nov/2025:10:00:0{i} +0100] \"GET /wp-login.php?x=\x1b[2J\x1b]0;owned\x07 HTTP/1.1\" 200 10 \"http://r/\x1b[31m\" \"evil\x1b[1;31mUA\x08\x08\r\u{9b}6n\"\n"
            )
            .as_bytes(),
        );
        log.extend_from_slice(
            format!(
                "203.0.113.10 - - [03/Nov/2025:10:00:1{i} +0100] \"GET /.env\x1b[8m HTTP/1.1\" 404 10 \"-\" \"curl\x1b[0m\"\n"
            )
            .as_bytes(),
        );
    }
    let log = write(dir.path(), "access.log", &log);
    let db = dir.path().join("st.db");
    let db = db.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["analyze", "--no-progress", "--db", db, &log],
        vec!["show", "203.0.113.9", "--db", db],
        vec!["show", "203.0.113.10", "--db", db],
        vec!["decisions", "--db", db],
        vec!["campaigns", "--db", db],
    ];
    for args in runs {
        let out = scantriage().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert_eq!(
                raw_controls(stream),
                Vec::<u8>::new(),
                "{args:?} {name} carries raw control bytes:\n{}",
                String::from_utf8_lossy(stream)
            );
        }
        if args[0] == "show" && args[1] == "203.0.113.9" {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("\\x1b[2J"),
                "the escape is shown, escaped: {text}"
            );
        }
    }
}
