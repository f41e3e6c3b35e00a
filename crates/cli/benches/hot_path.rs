//! Benchmarks of the hot path on the testkit corpus (nginx combined, WordPress blog).
//!
//! `cargo bench -p scantriage --bench hot_path` (add `-- --quick` for a fast pass).
//!
//! One corpus of [`LINES`] lines (seed 1) is generated in memory, then:
//!
//! - `parse`: `ChunkReader` over the bytes and `Parser::parse` per line;
//! - `parse_match`: the same plus `RuleSet::matches_into` with the embedded rules;
//! - `analyze_1thread` / `analyze_all_threads`: the whole `analyze::run` on a temporary
//!   file, with an nginx + php + WordPress inventory and no store.
//!
//! Each benchmark is in two groups: `bytes` (throughput in bytes/s) and `lines`
//! (throughput in lines/s); both time the same work.

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use scantriage_cli::{analyze, config};
use scantriage_detect::{RuleSet, Scratch, Vocabulary};
use scantriage_ingest::{Chunk, ChunkReader, LogFormat, Parser, ParserConfig, MAX_LINE};
use scantriage_testkit::{generate_bytes, CorpusConfig};
use std::io::Write;
use std::time::Duration;

/// Lines in the benchmark corpus.
const LINES: u64 = 200_000;

/// The inventory the example configuration describes: WordPress on nginx with PHP.
const INVENTORY: &str = r#"
[site]
dynamic = true

[[inventory.product]]
name = "nginx"
version = "1.22.1"

[[inventory.product]]
name = "php"
version = "8.2.7"

[[inventory.product]]
name = "wordpress"
version = "6.4.2"
"#;

struct Corpus {
    log: Vec<u8>,
    lines: u64,
}

fn corpus() -> Corpus {
    let (log, _labels) = generate_bytes(&CorpusConfig {
        lines: LINES,
        seed: 1,
        ..CorpusConfig::default()
    });
    let lines = log.iter().filter(|&&b| b == b'\n').count() as u64;
    Corpus { log, lines }
}

/// Parses every line; returns how many parsed.
fn parse_all(log: &[u8], parser: &Parser, chunk: &mut Chunk) -> u64 {
    let mut reader = ChunkReader::new(log, MAX_LINE);
    let mut ok = 0u64;
    while reader.next_chunk_into(chunk).expect("reading memory") {
        for line in chunk.lines() {
            if let Ok(req) = parser.parse(line.bytes) {
                ok += u64::from(black_box(&req).is_http());
            }
        }
    }
    ok
}

/// Parses and matches every line; returns the number of signature hits.
fn parse_match_all(
    log: &[u8],
    parser: &Parser,
    rules: &RuleSet,
    chunk: &mut Chunk,
    scratch: &mut Scratch,
    matched: &mut Vec<scantriage_core::SignatureIndex>,
) -> u64 {
    let mut reader = ChunkReader::new(log, MAX_LINE);
    let mut hits = 0u64;
    while reader.next_chunk_into(chunk).expect("reading memory") {
        for line in chunk.lines() {
            if let Ok(req) = parser.parse(line.bytes) {
                matched.clear();
                rules.matches_into(&req, scratch, matched);
                hits += matched.len() as u64;
            }
        }
    }
    hits
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    let parser = Parser::new(ParserConfig::new(LogFormat::Combined));
    let (rules, errors) = RuleSet::load(&[], &Vocabulary::default());
    assert!(
        errors.is_empty(),
        "embedded rules failed to load: {errors:?}"
    );

    let cfg = match config::parse(INVENTORY, "bench") {
        Ok(cfg) => cfg,
        Err(e) => panic!("bench configuration is invalid: {e:?}"),
    };
    let (cfg_rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
    assert!(errors.is_empty(), "rules failed to load: {errors:?}");

    let mut file = tempfile::Builder::new()
        .prefix("scantriage-bench-")
        .suffix(".log")
        .tempfile()
        .expect("creating a temporary file");
    file.write_all(&corpus.log).expect("writing the corpus");
    file.flush().expect("flushing the corpus");
    let path = file.path().to_path_buf();
    let options = |threads: usize| analyze::Options {
        inputs: vec![path.clone()],
        threads,
        keep_findings: false,
        progress: false,
        vulnerable: Default::default(),
        person: Default::default(),
    };
    let (opts_1, opts_all) = (options(1), options(0));

    // Sanity: the whole corpus is read and parsed.
    let out = analyze::run(&cfg, &cfg_rules, &opts_1, None).expect("analyze");
    assert_eq!(out.summary.lines, corpus.lines);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "hot_path corpus: {} lines, {:.1} MB, {} parse errors, {} sources; {cores} core(s) available",
        corpus.lines,
        corpus.log.len() as f64 / 1e6,
        out.summary.parse_errors,
        out.summary.sources,
    );

    let throughputs = [
        ("bytes", Throughput::Bytes(corpus.log.len() as u64)),
        ("lines", Throughput::Elements(corpus.lines)),
    ];
    let mut chunk = Chunk::default();
    let mut scratch = Scratch::default();
    let mut matched = Vec::new();
    for (unit, throughput) in throughputs {
        let mut g = c.benchmark_group(format!("hot_path_{unit}_{}k_lines", corpus.lines / 1000));
        // Every iteration handles the whole corpus (tens of ms or more): flat sampling,
        // few samples, so a run stays short on a shared machine.
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(throughput);
        g.bench_function("parse", |b| {
            b.iter(|| parse_all(black_box(&corpus.log), &parser, &mut chunk))
        });
        g.bench_function("parse_match", |b| {
            b.iter(|| {
                parse_match_all(
                    black_box(&corpus.log),
                    &parser,
                    &rules,
                    &mut chunk,
                    &mut scratch,
                    &mut matched,
                )
            })
        });
        g.bench_function("analyze_1thread", |b| {
            b.iter(|| analyze::run(&cfg, &cfg_rules, &opts_1, None).expect("analyze"))
        });
        g.bench_function("analyze_all_threads", |b| {
            b.iter(|| analyze::run(&cfg, &cfg_rules, &opts_all, None).expect("analyze"))
        });
        g.finish();
    }
}

criterion_group!(hot_path, benches);
criterion_main!(hot_path);
