//! Reads a log through `open_input` and `ChunkReader`, parses every line on one thread,
//! and prints counts and throughput: `cargo run --release --example parse_file -- FILE [FORMAT]`.

use scantriage_ingest::{
    detect_format, open_input, Chunk, ChunkReader, LogFormat, Parser, ParserConfig, MAX_LINE,
};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: parse_file FILE [FORMAT]")?);
    let mut reader =
        ChunkReader::new(open_input(&path)?, MAX_LINE).with_name(path.display().to_string());
    let mut chunk = Chunk::default();
    let started = Instant::now();
    let (mut ok, mut bad, mut http, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut parser: Option<Parser> = args
        .next()
        .map(|f| f.parse::<LogFormat>())
        .transpose()?
        .map(|f| Parser::new(ParserConfig::new(f)));
    while reader.next_chunk_into(&mut chunk)? {
        bytes += chunk.data.len() as u64;
        let p = parser.get_or_insert_with(|| {
            let sample: Vec<&[u8]> = chunk.lines().take(20).map(|l| l.bytes).collect();
            let format = detect_format(&sample).unwrap_or(LogFormat::Combined);
            eprintln!("format: {format}");
            Parser::new(ParserConfig::new(format))
        });
        for line in chunk.lines() {
            match p.parse(line.bytes) {
                Ok(r) => {
                    ok += 1;
                    http += u64::from(r.is_http());
                }
                Err(e) => {
                    if bad < 5 {
                        eprintln!("line {}: {e}", line.number);
                    }
                    bad += 1;
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let lines = ok + bad;
    println!(
        "{lines} lines ({ok} parsed, {http} HTTP, {bad} malformed), {:.1} MB in {secs:.3} s: {:.2} M lines/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        lines as f64 / secs / 1e6,
        bytes as f64 / secs / 1e6
    );
    Ok(())
}
