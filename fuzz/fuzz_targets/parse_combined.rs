//! Fuzzes the combined parser: any bytes must give an event or an error, never a panic,
//! and every field of an event must borrow from the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scantriage_ingest::{LogFormat, Parser, ParserConfig};
use std::borrow::Cow;

fn inside(field: &Cow<'_, [u8]>, data: &[u8]) -> bool {
    match field {
        Cow::Borrowed(f) => {
            let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
            f.is_empty() || (f.as_ptr() as usize >= start && f.as_ptr() as usize + f.len() <= end)
        }
        Cow::Owned(_) => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let parser = Parser::new(ParserConfig {
        trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::/0".parse().unwrap()],
        ..ParserConfig::new(LogFormat::Combined)
    });
    if let Ok(r) = parser.parse(data) {
        for f in [
            &r.vhost,
            &r.request_line,
            &r.method,
            &r.target,
            &r.protocol,
            &r.referer,
            &r.user_agent,
            &r.forwarded_for,
        ] {
            assert!(inside(f, data));
        }
    }
    let _ = scantriage_ingest::detect_format(&[data]);
});
