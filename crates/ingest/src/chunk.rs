//! Splitting a byte stream into chunks of whole lines for parallel parsing.
//!
//! Memory is bounded: a chunk holds about `chunk_size` bytes plus at most one line of
//! `max_line` bytes; of a longer line only the first `max_line` bytes are kept and the
//! line is marked truncated.

use crate::error::InputError;
use memchr::memchr;
use std::io::{ErrorKind, Read};

/// Default target size of a chunk (1 MiB).
pub const CHUNK_SIZE: usize = 1 << 20;
/// Default longest line kept whole (64 KiB).
pub const MAX_LINE: usize = 64 << 10;
/// Size of the read buffer.
const READ_SIZE: usize = 64 << 10;

/// A run of whole lines from a stream, with where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// The lines, each followed by `\n` (the stream's last line may lack it); overlong
    /// lines are already cut to `max_line` bytes.
    pub data: Vec<u8>,
    /// 1-based number of the first line in the chunk.
    pub first_line: u64,
    /// Stream byte offset where the chunk's first line starts.
    pub start_offset: u64,
    /// Stream byte offset just after the chunk's last line (a checkpoint to resume from).
    pub end_offset: u64,
    /// Numbers of the lines that were cut, ascending.
    truncated: Vec<u64>,
}

impl Chunk {
    /// Iterates over the chunk's lines.
    pub fn lines(&self) -> Lines<'_> {
        Lines {
            data: &self.data,
            pos: 0,
            number: self.first_line,
            truncated: &self.truncated,
        }
    }

    /// Numbers of the lines in this chunk that were longer than `max_line`.
    pub fn truncated_lines(&self) -> &[u64] {
        &self.truncated
    }
}

/// One line of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the stream.
    pub number: u64,
    /// The line without its `\n` and `\r` (the first `max_line` bytes if truncated).
    pub bytes: &'a [u8],
    /// True when the line was longer than `max_line` and has been cut.
    pub truncated: bool,
}

/// Iterator over the lines of a [`Chunk`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
    number: u64,
    truncated: &'a [u64],
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        let rest = self.data.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = memchr(b'\n', rest).unwrap_or(rest.len());
        let raw = &rest[..len];
        self.pos += len + 1;
        let number = self.number;
        self.number += 1;
        let truncated = self.truncated.first() == Some(&number);
        if truncated {
            self.truncated = &self.truncated[1..];
        }
        let bytes = if truncated {
            raw
        } else {
            raw.strip_suffix(b"\r").unwrap_or(raw)
        };
        Some(Line {
            number,
            bytes,
            truncated,
        })
    }
}

/// Reads a stream and hands it out as [`Chunk`]s of whole lines.
pub struct ChunkReader<R: Read> {
    inner: R,
    name: String,
    max_line: usize,
    chunk_size: usize,
    rbuf: Box<[u8]>,
    rpos: usize,
    rlen: usize,
    /// Stream offset of `rbuf[rpos]`.
    offset: u64,
    /// Number of the next line to start.
    next_line: u64,
    eof: bool,
    error: Option<InputError>,
    done: bool,
}

impl<R: Read> ChunkReader<R> {
    /// Reads `inner`, keeping at most `max_line` bytes (at least 1) of any line.
    pub fn new(inner: R, max_line: usize) -> Self {
        ChunkReader {
            inner,
            name: "input".to_string(),
            max_line: max_line.max(1),
            chunk_size: CHUNK_SIZE,
            rbuf: vec![0; READ_SIZE].into_boxed_slice(),
            rpos: 0,
            rlen: 0,
            offset: 0,
            next_line: 1,
            eof: false,
            error: None,
            done: false,
        }
    }

    /// Names the input in errors that the reader itself does not name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the target chunk size (at least 1 byte; default [`CHUNK_SIZE`]).
    pub fn with_chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Stream offset up to which data has been handed out or skipped.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Refills the read buffer; false at end of stream or after an error (kept for later).
    fn fill(&mut self) -> bool {
        if self.rpos < self.rlen {
            return true;
        }
        while !self.eof {
            match self.inner.read(&mut self.rbuf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.rpos = 0;
                    self.rlen = n;
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(InputError::from_io(&self.name, e));
                    self.eof = true;
                }
            }
        }
        false
    }

    /// Skips this many bytes of the (decompressed) stream, to resume from a checkpoint.
    /// Line numbers keep counting through the skipped part. Returns `Ok(false)` if the
    /// stream is shorter.
    pub fn skip(&mut self, bytes: u64) -> Result<bool, InputError> {
        let mut left = bytes;
        while left > 0 {
            if !self.fill() {
                return match self.error.take() {
                    Some(e) => {
                        self.done = true;
                        Err(e)
                    }
                    None => Ok(false),
                };
            }
            let avail = &self.rbuf[self.rpos..self.rlen];
            let take = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.next_line += memchr::memchr_iter(b'\n', &avail[..take]).count() as u64;
            self.rpos += take;
            self.offset += take as u64;
            left -= take as u64;
        }
        Ok(true)
    }

    /// Returns the next chunk, `None` at the end. A read error comes after every complete
    /// line read before it has been returned.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, InputError> {
        let mut chunk = Chunk::default();
        Ok(self.next_chunk_into(&mut chunk)?.then_some(chunk))
    }

    /// Like [`next_chunk`](Self::next_chunk) but fills a caller's chunk, reusing its
    /// buffers; returns false at the end.
    pub fn next_chunk_into(&mut self, chunk: &mut Chunk) -> Result<bool, InputError> {
        chunk.data.clear();
        chunk.truncated.clear();
        chunk.first_line = self.next_line;
        chunk.start_offset = self.offset;
        chunk.end_offset = self.offset;
        if self.done {
            return Ok(false);
        }
        let keep = self.max_line.saturating_add(1);
        let mut line_start = 0usize;
        // Raw length of the current line so far, including bytes not kept.
        let mut cur_len = 0usize;
        loop {
            if !self.fill() {
                if cur_len > 0 {
                    self.finish_line(chunk, line_start, cur_len, false);
                }
                break;
            }
            let avail = &self.rbuf[self.rpos..self.rlen];
            let (seg, nl) = match memchr(b'\n', avail) {
                Some(i) => (&avail[..i], true),
                None => (avail, false),
            };
            let room = keep.saturating_sub(cur_len);
            chunk.data.extend_from_slice(&seg[..seg.len().min(room)]);
            cur_len += seg.len();
            let used = seg.len() + usize::from(nl);
            self.rpos += used;
            self.offset += used as u64;
            if nl {
                self.finish_line(chunk, line_start, cur_len, true);
                line_start = chunk.data.len();
                cur_len = 0;
                if chunk.data.len() >= self.chunk_size {
                    break;
                }
            }
        }
        chunk.end_offset = self.offset;
        if chunk.data.is_empty() {
            self.done = true;
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(false),
            };
        }
        Ok(true)
    }

    /// Closes the line that starts at `line_start`, cutting it if it is too long.
    fn finish_line(&mut self, chunk: &mut Chunk, line_start: usize, raw_len: usize, newline: bool) {
        let max = self.max_line;
        let too_long = raw_len > max.saturating_add(1)
            || (raw_len == max.saturating_add(1) && chunk.data.last() != Some(&b'\r'));
        if too_long {
            chunk.data.truncate(line_start + max);
            chunk.truncated.push(self.next_line);
        }
        if newline {
            chunk.data.push(b'\n');
        }
        self.next_line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(data: &[u8], max_line: usize, chunk: usize) -> Vec<(u64, Vec<u8>, bool)> {
        let mut r = ChunkReader::new(data, max_line).with_chunk_size(chunk);
        let mut out = Vec::new();
        let mut c = Chunk::default();
        while r.next_chunk_into(&mut c).unwrap() {
            out.extend(c.lines().map(|l| (l.number, l.bytes.to_vec(), l.truncated)));
        }
        out
    }

    #[test]
    fn last_line_without_newline_and_crlf() {
        let got = all_lines(b"a\r\n\nbc", 10, 1);
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec(), false),
                (2, vec![], false),
                (3, b"bc".to_vec(), false)
            ]
        );
        assert!(all_lines(b"", 10, 1).is_empty());
    }

    #[test]
    fn long_line_is_cut_and_memory_stays_bounded() {
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 3 << 20));
        data.extend_from_slice(b"\nafter\n");
        let mut r = ChunkReader::new(&data[..], 1000).with_chunk_size(4096);
        let mut lines = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            assert!(
                c.data.len() <= 4096 + 1002,
                "chunk of {} bytes",
                c.data.len()
            );
            lines.extend(c.lines().map(|l| (l.number, l.bytes.len(), l.truncated)));
        }
        assert_eq!(lines, vec![(1, 5, false), (2, 1000, true), (3, 5, false)]);
        assert_eq!(r.offset(), data.len() as u64);
    }

    #[test]
    fn offsets_and_line_numbers_chain() {
        let data = b"one\ntwo\nthree\nfour\n";
        let mut r = ChunkReader::new(&data[..], 100).with_chunk_size(5);
        let mut prev_end = 0;
        let mut next_line = 1;
        while let Some(c) = r.next_chunk().unwrap() {
            assert_eq!(c.start_offset, prev_end);
            assert_eq!(c.first_line, next_line);
            assert_eq!(c.end_offset - c.start_offset, c.data.len() as u64);
            prev_end = c.end_offset;
            next_line += c.lines().count() as u64;
        }
        assert_eq!(prev_end, data.len() as u64);
        assert_eq!(next_line, 5);
    }

    #[test]
    fn skip_resumes_with_true_line_numbers() {
        let data = b"one\ntwo\nthree\n";
        let mut r = ChunkReader::new(&data[..], 100);
        assert!(r.skip(8).unwrap());
        let c = r.next_chunk().unwrap().unwrap();
        let lines: Vec<_> = c.lines().map(|l| (l.number, l.bytes)).collect();
        assert_eq!(lines, vec![(3, &b"three"[..])]);
        assert_eq!(c.start_offset, 8);
        let mut r = ChunkReader::new(&data[..], 100);
        assert!(!r.skip(100).unwrap());
        assert!(r.next_chunk().unwrap().is_none());
    }

    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn error_comes_after_the_data() {
        let mut r = ChunkReader::new(Failing(b"a\nbb\nccc"), 100).with_name("x.log");
        let c = r.next_chunk().unwrap().unwrap();
        let lines: Vec<_> = c.lines().map(|l| l.bytes.to_vec()).collect();
        assert_eq!(lines, vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]);
        let e = r.next_chunk().unwrap_err();
        assert_eq!(e.to_string(), "x.log: disk on fire");
        assert!(!e.is_truncated());
        assert!(r.next_chunk().unwrap().is_none());
    }
}
