//! Inputs: compressed files, truncated streams, resume, long lines and chunk boundaries.

use proptest::prelude::*;
use scantriage_ingest::{open_input, order_rotated, Chunk, ChunkReader, InputError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A line's number, bytes and truncated flag.
type OwnedLine = (u64, Vec<u8>, bool);

/// Reads a whole input through open_input and a ChunkReader; returns lines and the error.
fn read_all(path: &Path, max_line: usize) -> (Vec<OwnedLine>, Option<InputError>) {
    let r = open_input(path).unwrap();
    let mut cr = ChunkReader::new(r, max_line).with_chunk_size(4096);
    let mut out = Vec::new();
    loop {
        match cr.next_chunk() {
            Ok(Some(c)) => out.extend(c.lines().map(|l| (l.number, l.bytes.to_vec(), l.truncated))),
            Ok(None) => return (out, None),
            Err(e) => {
                assert!(cr.next_chunk().unwrap().is_none(), "nothing after an error");
                return (out, Some(e));
            }
        }
    }
}

fn sample(lines: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..lines {
        writeln!(
            v,
            r#"192.0.2.{} - - [03/Nov/2025:00:00:01 +0000] "GET /p{i} HTTP/1.1" 404 0 "-" "ua""#,
            i % 250
        )
        .unwrap();
    }
    v
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn plain_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = data.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

#[test]
fn gzip_zstd_and_plain_give_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(2000);
    let want = plain_lines(&data);
    let plain = write(dir.path(), "access.log", &data);
    // Extensions lie on purpose: detection is by magic bytes.
    let gzp = write(dir.path(), "access.log.1", &gz(&data));
    let zst = write(
        dir.path(),
        "access.log.2.gz",
        &zstd::encode_all(&data[..], 3).unwrap(),
    );
    for p in [plain, gzp, zst] {
        let (lines, err) = read_all(&p, 64 << 10);
        assert!(err.is_none(), "{p:?}: {err:?}");
        let got: Vec<Vec<u8>> = lines.iter().map(|l| l.1.clone()).collect();
        assert_eq!(got, want, "{p:?}");
        assert_eq!(lines.last().unwrap().0, 2000);
    }
}

#[test]
fn multi_member_gzip_reads_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (sample(10), b"last line without newline".to_vec());
    let mut both = gz(&a);
    both.extend(gz(&b));
    let p = write(dir.path(), "m.gz", &both);
    let (lines, err) = read_all(&p, 1000);
    assert!(err.is_none());
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[10].1, b);
}

#[test]
fn truncated_gzip_delivers_the_data_then_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(5000);
    let full = gz(&data);
    let cut = &full[..full.len() * 2 / 3];
    let p = write(dir.path(), "cut.log.gz", cut);
    let (lines, err) = read_all(&p, 64 << 10);
    let err = err.expect("a truncated stream is an error");
    assert!(err.is_truncated(), "{err}");
    assert!(err.to_string().contains("cut.log.gz"), "{err}");
    assert!(
        err.to_string().contains("unexpected end of gzip stream"),
        "{err}"
    );
    // Everything decoded before the cut came out, in order, and is a prefix of the input.
    assert!(lines.len() > 1000, "only {} lines", lines.len());
    let want = plain_lines(&data);
    for (i, l) in lines.iter().enumerate().take(lines.len() - 1) {
        assert_eq!(l.1, want[i]);
    }
    assert!(want[lines.len() - 1].starts_with(&lines.last().unwrap().1));
}

#[test]
fn truncated_zstd_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let full = zstd::encode_all(&sample(5000)[..], 3).unwrap();
    let p = write(dir.path(), "cut.zst", &full[..full.len() - 20]);
    let (lines, err) = read_all(&p, 64 << 10);
    let err = err.expect("a truncated stream is an error");
    assert!(err.is_truncated(), "{err}");
    assert!(!lines.is_empty(), "{} {}", full.len(), err);
}

#[test]
fn corrupt_gzip_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = gz(&sample(100));
    for b in bad.iter_mut().skip(20).take(40) {
        *b = 0x55;
    }
    let p = write(dir.path(), "bad.gz", &bad);
    let (_, err) = read_all(&p, 1000);
    let err = err.expect("corrupt data is an error");
    assert!(!err.is_truncated());
    assert!(err.to_string().contains("bad.gz"));
}

#[test]
fn empty_and_tiny_files() {
    let dir = tempfile::tempdir().unwrap();
    let (lines, err) = read_all(&write(dir.path(), "empty", b""), 10);
    assert!(lines.is_empty() && err.is_none());
    let (lines, err) = read_all(&write(dir.path(), "one", b"\x1f"), 10);
    assert_eq!(lines, vec![(1, b"\x1f".to_vec(), false)]);
    assert!(err.is_none());
    let (lines, _) = read_all(&write(dir.path(), "empty.gz", &gz(b"")), 10);
    assert!(lines.is_empty());
}

#[test]
fn missing_file_names_the_path() {
    let e = open_input(Path::new("/nonexistent/dir/access.log"))
        .err()
        .unwrap();
    assert!(
        e.to_string().starts_with("/nonexistent/dir/access.log: "),
        "{e}"
    );
}

#[test]
fn rotated_set_from_a_directory_listing() {
    let names = [
        "access.log.2.gz",
        "other.log",
        "access.log",
        "access.log.1",
        "access.log.3.gz",
    ];
    let got = order_rotated(
        names
            .iter()
            .map(|n| PathBuf::from("/var/log/nginx").join(n))
            .collect(),
    );
    let got: Vec<_> = got
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "access.log.3.gz",
            "access.log.2.gz",
            "access.log.1",
            "access.log",
            "other.log"
        ]
    );
}

#[test]
fn resume_from_a_chunk_checkpoint_in_a_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(3000);
    let p = write(dir.path(), "a.gz", &gz(&data));
    let mut cr = ChunkReader::new(open_input(&p).unwrap(), 1000).with_chunk_size(10_000);
    let first = cr.next_chunk().unwrap().unwrap();
    let resume_line = first.first_line + first.lines().count() as u64;
    let mut cr = ChunkReader::new(open_input(&p).unwrap(), 1000);
    assert!(cr.skip(first.end_offset).unwrap());
    let next = cr.next_chunk().unwrap().unwrap();
    assert_eq!(next.first_line, resume_line);
    assert_eq!(next.start_offset, first.end_offset);
    assert_eq!(
        next.lines().next().unwrap().bytes,
        &plain_lines(&data)[resume_line as usize - 1][..]
    );
    // Past the end: false, and no data.
    let mut cr = ChunkReader::new(open_input(&p).unwrap(), 1000);
    assert!(!cr.skip(data.len() as u64 + 1).unwrap());
    assert!(cr.next_chunk().unwrap().is_none());
}

#[test]
fn long_line_in_a_file_is_cut_without_reading_it_whole() {
    let mut data = b"first\n".to_vec();
    data.extend(std::iter::repeat_n(b'A', 5 << 20));
    data.extend_from_slice(b"\r\nthird");
    let mut cr = ChunkReader::new(&data[..], 64 << 10);
    let mut seen = Vec::new();
    let mut peak = 0;
    let mut c = Chunk::default();
    while cr.next_chunk_into(&mut c).unwrap() {
        peak = peak.max(c.data.capacity());
        seen.extend(c.lines().map(|l| (l.number, l.bytes.len(), l.truncated)));
    }
    assert_eq!(
        seen,
        vec![(1, 5, false), (2, 64 << 10, true), (3, 5, false)]
    );
    assert!(peak < (1 << 20) + (256 << 10), "chunk grew to {peak} bytes");
}

/// Expected lines: split on `\n`, no empty line after a final `\n`, one `\r` stripped,
/// lines longer than `max` cut to `max` and marked.
fn reference(data: &[u8], max: usize) -> Vec<OwnedLine> {
    plain_lines(data)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let content = l.strip_suffix(b"\r").unwrap_or(&l);
            if content.len() > max {
                (i as u64 + 1, l[..max].to_vec(), true)
            } else {
                (i as u64 + 1, content.to_vec(), false)
            }
        })
        .collect()
}

/// A reader that returns at most `step` bytes per read, to move read boundaries around.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(buf.len()).min(self.step);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    // Mostly short lines with \r and \n mixed in, sometimes long runs.
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![b'a', b'b', b'\n', b'\r', b'"', 0u8, 0xff]),
            1 => Just(b'\n'),
        ],
        0..600,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunks_of_any_size_give_exactly_the_split_lines(
        data in content(),
        max_line in 1usize..40,
        chunk_size in 1usize..200,
        step in 1usize..70,
    ) {
        let mut cr = ChunkReader::new(Dribble { data: &data, step }, max_line).with_chunk_size(chunk_size);
        let mut got = Vec::new();
        let mut last_end = 0;
        let mut c = Chunk::default();
        while cr.next_chunk_into(&mut c).unwrap() {
            prop_assert_eq!(c.start_offset, last_end);
            prop_assert!(c.data.len() <= chunk_size + max_line + 2);
            last_end = c.end_offset;
            got.extend(c.lines().map(|l| (l.number, l.bytes.to_vec(), l.truncated)));
        }
        prop_assert_eq!(last_end, data.len() as u64);
        prop_assert_eq!(got, reference(&data, max_line));
    }

    #[test]
    fn skip_then_read_equals_reading_the_rest(data in content(), at in 0usize..700) {
        let mut cr = ChunkReader::new(&data[..], 1 << 20).with_chunk_size(16);
        let fits = cr.skip(at as u64).unwrap();
        prop_assert_eq!(fits, at <= data.len());
        let mut got = Vec::new();
        while let Some(c) = cr.next_chunk().unwrap() {
            got.extend(c.lines().map(|l| (l.number, l.bytes.to_vec())));
        }
        let at = at.min(data.len());
        let skipped_lines = data[..at].iter().filter(|&&c| c == b'\n').count() as u64;
        let want: Vec<_> = reference(&data[at..], 1 << 20)
            .into_iter()
            .map(|(n, l, _)| (n + skipped_lines, l))
            .collect();
        prop_assert_eq!(got, want);
    }
}
