//! Golden files for system logs: `tests/corpus/{sshd,netfilter}/<case>.log` must parse
//! to `<case>.expected.jsonl`, one object per line: the event, `{"skip": true}` for a
//! well-formed line that is not an event (another program), or `{"error": ...}`.
//!
//! Traditional syslog timestamps are dated against the fixed reference
//! 2025-11-10T00:00:00Z (so `Dec 31` is 2024). An optional `<case>.prefixes` maps
//! netfilter log prefixes to actions, `prefix=dropped|accepted` one a line. Run with
//! `UPDATE_GOLDEN=1` to rewrite the expectations, then review the diff.

use scantriage_core::{FirewallAction, Timestamp};
use scantriage_ingest::{
    ChunkReader, InputFormat, PrefixActions, SyslogContext, SystemEvent, SystemParser, MAX_LINE,
};
use std::path::{Path, PathBuf};

fn text(b: &[u8]) -> String {
    let mut s = String::new();
    for chunk in b.utf8_chunks() {
        s.push_str(chunk.valid());
        for byte in chunk.invalid() {
            s.push_str(&format!("\\x{byte:02X}"));
        }
    }
    s
}

fn render_event(e: &SystemEvent<'_>) -> serde_json::Value {
    match e {
        SystemEvent::Auth(a) => serde_json::json!({
            "auth": a.kind.as_str(),
            "time": a.time.to_string(),
            "source": a.source.to_string(),
            "port": a.port,
            "user": text(&a.user),
            "invalid_user": a.invalid_user,
            "method": text(&a.method),
            "host": text(&a.host),
        }),
        SystemEvent::Packet(p) => serde_json::json!({
            "packet": p.proto.to_string(),
            "time": p.time.to_string(),
            "source": p.source.to_string(),
            "dest": p.dest.to_string(),
            "sport": p.sport,
            "dport": p.dport,
            "flags": p.flags.to_string(),
            "action": p.action.as_str(),
        }),
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn render(format: InputFormat, log: &Path) -> String {
    let mut actions = PrefixActions::default();
    if let Ok(s) = std::fs::read_to_string(log.with_extension("prefixes")) {
        for l in s.lines().filter(|l| !l.trim().is_empty()) {
            let (p, a) = l.split_once('=').unwrap();
            let a = match a.trim() {
                "dropped" => FirewallAction::Dropped,
                "accepted" => FirewallAction::Accepted,
                other => panic!("bad action {other}"),
            };
            actions.map.push((p.to_string(), a));
        }
    }
    let parser = SystemParser {
        format,
        ctx: SyslogContext::new(Timestamp::from_civil(2025, 11, 10, 0, 0, 0, 0, 0), 0),
        actions,
    };
    let mut reader = ChunkReader::new(std::fs::File::open(log).unwrap(), MAX_LINE);
    let mut out = String::new();
    while let Some(chunk) = reader.next_chunk().unwrap() {
        for line in chunk.lines() {
            let mut v = match parser.parse(line.bytes) {
                Ok(Some(e)) => render_event(&e),
                Ok(None) => serde_json::json!({"skip": true}),
                Err(e) => serde_json::json!({"error": e.to_string()}),
            };
            let obj = v.as_object_mut().unwrap();
            let mut rec = serde_json::Map::new();
            rec.insert("line".into(), line.number.into());
            rec.extend(std::mem::take(obj));
            out.push_str(&serde_json::to_string(&rec).unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn system_corpus_matches_expectations() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut checked = 0;
    for format in [InputFormat::Sshd, InputFormat::Netfilter] {
        let dir = corpus().join(format.name());
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        assert!(!logs.is_empty(), "no cases in {}", dir.display());
        for log in logs {
            let got = render(format, &log);
            let expected = log.with_extension("expected.jsonl");
            if update {
                std::fs::write(&expected, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&expected).unwrap_or_default();
            if got != want {
                let first = got
                    .lines()
                    .zip(want.lines().chain(std::iter::repeat("<missing>")))
                    .find(|(g, w)| g != w)
                    .map(|(g, w)| format!("\n  got:  {g}\n  want: {w}"))
                    .unwrap_or_else(|| "\n  (extra expected lines)".into());
                failures.push(format!("{}{first}", log.display()));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
    assert!(update || checked >= 4);
}
