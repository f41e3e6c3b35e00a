//! Golden files: `tests/corpus/<format>/<case>.log` must parse to `<case>.expected.jsonl`.
//!
//! Each input line gives one JSON object: the parsed fields, or `{"error": ...}`. Lines
//! are read through `ChunkReader` with the default 64 KiB line cap, so overlong lines show
//! `"truncated": true`. An optional `<case>.proxies` lists trusted proxy prefixes, one a
//! line. Run with `UPDATE_GOLDEN=1` to rewrite the expectations, then review the diff.

use scantriage_ingest::{ChunkReader, HttpRequest, LogFormat, Parser, ParserConfig, MAX_LINE};
use std::path::{Path, PathBuf};

#[derive(serde::Serialize)]
struct Record {
    line: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    event: Option<Event>,
}

#[derive(serde::Serialize)]
struct Event {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<String>,
    time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    vhost: String,
    method: String,
    target: String,
    /// The raw request line, shown only when it is not HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_line: Option<String>,
    status: u16,
    bytes: u64,
    referer: String,
    user_agent: String,
}

/// Shows bytes as text, escaping what is not UTF-8 as `\xNN`.
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

fn event(r: &HttpRequest<'_>) -> Event {
    Event {
        source: r.source.to_string(),
        peer: r.peer.map(|p| p.to_string()),
        time: r.time.to_string(),
        vhost: text(&r.vhost),
        method: text(&r.method),
        target: text(&r.target),
        request_line: (!r.is_http()).then(|| text(&r.request_line)),
        status: r.status,
        bytes: r.bytes,
        referer: text(&r.referer),
        user_agent: text(&r.user_agent),
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn render(format: LogFormat, log: &Path) -> String {
    let proxies = log.with_extension("proxies");
    let trusted_proxies = match std::fs::read_to_string(&proxies) {
        Ok(s) => s
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().parse().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    let parser = Parser::new(ParserConfig {
        trusted_proxies,
        ..ParserConfig::new(format)
    });
    let file = std::fs::File::open(log).unwrap();
    let mut reader = ChunkReader::new(file, MAX_LINE);
    let mut out = String::new();
    while let Some(chunk) = reader.next_chunk().unwrap() {
        for line in chunk.lines() {
            let (error, event) = match parser.parse(line.bytes) {
                Ok(r) => (None, Some(event(&r))),
                Err(e) => (Some(e.to_string()), None),
            };
            let rec = Record {
                line: line.number,
                truncated: line.truncated,
                error,
                event,
            };
            out.push_str(&serde_json::to_string(&rec).unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn corpus_matches_expectations() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut checked = 0;
    let mut failures = Vec::new();
    for format in LogFormat::ALL {
        let dir = corpus().join(format.name());
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        assert!(!logs.is_empty(), "no cases in {}", dir.display());
        for log in logs {
            let got = render(format, &log);
            let expected_path = log.with_extension("expected.jsonl");
            if update {
                std::fs::write(&expected_path, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
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
        "golden mismatch (rerun with UPDATE_GOLDEN=1 and review the diff):\n{}",
        failures.join("\n")
    );
    assert!(update || checked >= 6, "only {checked} cases");
}
