//! Fuzzes the NginxJson parser: any bytes must give an event or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scantriage_ingest::{LogFormat, Parser, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let parser = Parser::new(ParserConfig {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::/0".parse().unwrap()],
        ..ParserConfig::new(LogFormat::NginxJson)
    });
    let _ = parser.parse(data);
    let _ = scantriage_ingest::detect_format(&[data]);
});
