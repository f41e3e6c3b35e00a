//! Fuzzes the chunk reader: the lines it yields must equal a plain split on `\n`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scantriage_ingest::ChunkReader;

fuzz_target!(|input: &[u8]| {
    // The first two bytes choose the line cap and the chunk size.
    let (max_line, chunk_size, data) = match input {
        [a, b, rest @ ..] => (usize::from(*a) + 1, usize::from(*b) + 1, rest),
        _ => return,
    };
    let mut reader = ChunkReader::new(data, max_line).with_chunk_size(chunk_size);
    let mut got = Vec::new();
    while let Some(chunk) = reader.next_chunk().expect("reading a slice cannot fail") {
        got.extend(chunk.lines().map(|l| (l.bytes.to_vec(), l.truncated)));
    }
    let mut want: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
    if want.last().is_some_and(|l| l.is_empty()) {
        want.pop();
    }
    assert_eq!(got.len(), want.len());
    for ((bytes, truncated), raw) in got.iter().zip(want) {
        let content = raw.strip_suffix(b"\r").unwrap_or(raw);
        if content.len() > max_line {
            assert!(*truncated);
            assert_eq!(&bytes[..], &raw[..max_line]);
        } else {
            assert!(!*truncated);
            assert_eq!(&bytes[..], content);
        }
    }
});
