//! Following files across rotation, for `scantriage watch`.
//!
//! A [`FileFollower`] keeps the followed file open and reads what it gained since the
//! last call (complete lines only). When the name points at another file (rotation by
//! rename and create), the old file is kept open and read to its end (drained) until
//! it has been quiet for [`DRAIN_QUIET`], while the new one is read from its start; the
//! old file's progress is checkpointed under the key `KEY#rotated`. A file shorter than
//! what was read, or whose first bytes changed (copytruncate), is read again from 0.
//!
//! After a restart the stored checkpoint names the file by its fingerprint (its first
//! bytes): if the file under the name is no longer that file, the rotated file is
//! looked for next to it (`access.log.1`, `access.log-20250101`, ...; compressed ones
//! are skipped) and drained from the checkpoint's offset before the new one is read.

use crate::analyze::{fingerprint, Feed};
use anyhow::Result;
use scantriage_ingest::InputFormat;
use scantriage_store::Store;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes of the start of a file that identify it.
const FP_BYTES: u64 = 4096;
/// How long a rotated file must stay quiet (after the new one appeared) before it is
/// closed: a writer keeps writing to it until it reopens its log.
pub const DRAIN_QUIET: Duration = Duration::from_secs(2);

/// One open file and how far it was read.
#[derive(Debug)]
struct Open {
    file: File,
    dev: u64,
    ino: u64,
    offset: u64,
    lines: u64,
    fp: String,
    /// The checkpoint must be saved even without new lines (its file changed).
    dirty: bool,
    last_data: Instant,
}

impl Open {
    fn new(file: File, offset: u64, lines: u64, fp: String) -> std::io::Result<Open> {
        let m = file.metadata()?;
        Ok(Open {
            file,
            dev: m.dev(),
            ino: m.ino(),
            offset,
            lines,
            fp,
            dirty: true,
            last_data: Instant::now(),
        })
    }

    /// Reads complete lines from `offset`, at most about `max` bytes.
    fn read_lines(&mut self, max: u64) -> std::io::Result<Vec<u8>> {
        let size = self.file.metadata()?.len();
        if size <= self.offset {
            return Ok(Vec::new());
        }
        let want = (size - self.offset).min(max);
        let mut buf = Vec::with_capacity(want as usize);
        self.file.seek(SeekFrom::Start(self.offset))?;
        (&mut self.file).take(want).read_to_end(&mut buf)?;
        match memchr_last_nl(&buf) {
            Some(i) => buf.truncate(i + 1),
            None => {
                if want == max {
                    // One line longer than the budget: take it whole.
                    let mut rest = Vec::new();
                    let mut b = [0u8; 65536];
                    loop {
                        let n = self.file.read(&mut b)?;
                        if n == 0 {
                            break;
                        }
                        if let Some(i) = b[..n].iter().position(|&c| c == b'\n') {
                            rest.extend_from_slice(&b[..=i]);
                            buf.extend_from_slice(&rest);
                            return Ok(buf);
                        }
                        rest.extend_from_slice(&b[..n]);
                    }
                }
                buf.clear();
            }
        }
        Ok(buf)
    }

    /// Fingerprint of the first `min(len, 4 KiB)` bytes.
    fn fingerprint_of(&mut self, len: u64) -> std::io::Result<String> {
        let mut buf = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        (&mut self.file)
            .take(len.min(FP_BYTES))
            .read_to_end(&mut buf)?;
        Ok(fingerprint(&buf))
    }
}

fn memchr_last_nl(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b'\n')
}

/// The length a stored fingerprint covers.
fn fp_len(fp: &str) -> Option<u64> {
    fp.split_once(':').and_then(|(n, _)| n.parse().ok())
}

/// Follows one file by name, across rotations (see the module documentation).
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    name: String,
    key: String,
    cur: Option<Open>,
    /// Rotated files still read to their end, oldest first.
    old: Vec<Open>,
    /// The format, once detected.
    pub format: Option<InputFormat>,
    /// Lines read since start (for metrics).
    pub lines_read: u64,
}

/// Opens `path` and checks that its first bytes are those of `fp`.
fn open_matching(path: &Path, fp: &str) -> Option<File> {
    let mut f = File::open(path).ok()?;
    let n = fp_len(fp)?;
    let mut buf = Vec::new();
    (&mut f).take(n).read_to_end(&mut buf).ok()?;
    (buf.len() as u64 == n && fingerprint(&buf) == fp).then_some(f)
}

/// Files next to `path` whose name starts with its name (rotated copies), not compressed.
fn rotated_candidates(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let base = base.to_string_lossy().to_string();
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            n.len() > base.len()
                && n.starts_with(&base)
                && ![".gz", ".zst", ".xz", ".bz2"]
                    .iter()
                    .any(|s| n.ends_with(s))
        })
        .collect();
    out.sort();
    out
}

impl FileFollower {
    /// The key under which `path`'s checkpoint is stored (its canonical path, also
    /// when the file does not exist yet).
    pub fn key_of(path: &Path) -> String {
        if let Ok(p) = std::fs::canonicalize(path) {
            return p.display().to_string();
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match (std::fs::canonicalize(parent), path.file_name()) {
            (Ok(d), Some(n)) => d.join(n).display().to_string(),
            _ => path.display().to_string(),
        }
    }

    /// Starts following `path` where the store's checkpoints say it stopped.
    pub fn resume(path: &Path, store: &dyn Store) -> Result<FileFollower> {
        let key = Self::key_of(path);
        let mut f = FileFollower {
            path: path.to_path_buf(),
            name: path.display().to_string(),
            key: key.clone(),
            cur: None,
            old: Vec::new(),
            format: None,
            lines_read: 0,
        };
        let cp = store.checkpoint(&key)?;
        let rot = store.checkpoint(&f.rot_key())?;
        let here = File::open(path).ok();
        let here_id = here
            .as_ref()
            .and_then(|h| h.metadata().ok())
            .map(|m| (m.dev(), m.ino()));
        let candidates = rotated_candidates(path);
        let mut taken: Vec<(u64, u64)> = here_id.into_iter().collect();
        // Finds the file a checkpoint describes among the rotated copies.
        let find_rotated = |c: &scantriage_store::Checkpoint, taken: &mut Vec<(u64, u64)>| {
            for p in &candidates {
                if let Some(file) = open_matching(p, &c.fingerprint) {
                    let Ok(m) = file.metadata() else { continue };
                    if taken.contains(&(m.dev(), m.ino())) {
                        continue;
                    }
                    taken.push((m.dev(), m.ino()));
                    return Open::new(file, c.offset, c.lines, c.fingerprint.clone()).ok();
                }
            }
            None
        };
        let mut cur_from_cp = false;
        if let Some(c) = &cp {
            if open_matching(path, &c.fingerprint).is_some() {
                if let Some(h) = here.as_ref().and_then(|h| h.try_clone().ok()) {
                    let size = h.metadata().map(|m| m.len()).unwrap_or(0);
                    // Shorter than what was read: truncated, read again from 0.
                    let (off, lines) = if size < c.offset {
                        (0, 0)
                    } else {
                        (c.offset, c.lines)
                    };
                    let mut o = Open::new(h, off, lines, c.fingerprint.clone())?;
                    o.dirty = false;
                    f.cur = Some(o);
                    cur_from_cp = true;
                }
            }
        }
        // The rotated file of an earlier rotation first (it is older), then the file
        // the main checkpoint described if it was renamed while we were away.
        if let Some(r) = &rot {
            if let Some(o) = find_rotated(r, &mut taken) {
                if o.file.metadata().map(|m| m.len()).unwrap_or(0) > o.offset {
                    f.old.push(o);
                }
            }
        }
        if let (Some(c), false) = (&cp, cur_from_cp) {
            if let Some(o) = find_rotated(c, &mut taken) {
                f.old.push(o);
            }
        }
        if f.cur.is_none() {
            if let Some(h) = here {
                f.cur = Some(Open::new(h, 0, 0, fingerprint(b""))?);
            }
        }
        Ok(f)
    }

    fn rot_key(&self) -> String {
        format!("{}#rotated", self.key)
    }

    /// The input's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads what the file (and rotated files still drained) gained, at most about
    /// `max` bytes per file; returns feeds for the analysis, rotated files first.
    /// Problems (a file gone, unreadable) are reported on stderr and retried later.
    pub fn poll(&mut self, max: u64) -> Vec<Feed> {
        match self.poll_inner(max) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("scantriage: {}: {e}", self.name);
                Vec::new()
            }
        }
    }

    /// Moves `o` forward past `data` (keeping its fingerprint covering what was read)
    /// and returns the feed of `data`, when there is something to save.
    fn advance(&self, o: &mut Open, key: String, data: Vec<u8>) -> std::io::Result<Option<Feed>> {
        let had = !data.is_empty() || o.dirty;
        o.dirty = false;
        let (offset, lines) = (o.offset, o.lines);
        if !data.is_empty() {
            Self::forward(o, &data)?;
        }
        Ok(had.then(|| Feed {
            name: self.name.clone(),
            key,
            fingerprint: o.fp.clone(),
            offset,
            lines,
            format: self.format,
            data,
        }))
    }

    fn forward(o: &mut Open, data: &[u8]) -> std::io::Result<()> {
        o.offset += data.len() as u64;
        o.lines += data.iter().filter(|&&c| c == b'\n').count() as u64;
        o.last_data = Instant::now();
        if fp_len(&o.fp).unwrap_or(0) < FP_BYTES {
            o.fp = o.fingerprint_of(o.offset)?;
        }
        Ok(())
    }

    fn poll_inner(&mut self, max: u64) -> std::io::Result<Vec<Feed>> {
        let mut feeds = Vec::new();
        // Where the name points now.
        let here = std::fs::metadata(&self.path).ok();
        let rotated = match (&self.cur, &here) {
            (Some(c), Some(m)) => (m.dev(), m.ino()) != (c.dev, c.ino),
            _ => false,
        };
        if rotated {
            if let Some(mut c) = self.cur.take() {
                c.dirty = true;
                c.last_data = Instant::now();
                self.old.push(c);
            }
        }
        if self.cur.is_none() && here.is_some() {
            if let Ok(h) = File::open(&self.path) {
                self.cur = Some(Open::new(h, 0, 0, fingerprint(b""))?);
            }
        }
        // Rotated files: read to their end (all of it: they no longer grow much).
        let rot_key = self.rot_key();
        let mut old = std::mem::take(&mut self.old);
        let mut keep = Vec::new();
        for mut o in old.drain(..) {
            let data = o.read_lines(u64::MAX)?;
            self.lines_read += data.iter().filter(|&&c| c == b'\n').count() as u64;
            if let Some(f) = self.advance(&mut o, rot_key.clone(), data)? {
                feeds.push(f);
            }
            // Quiet long enough since the new file appeared: closed (its checkpoint
            // stays, at its end).
            if o.last_data.elapsed() < DRAIN_QUIET || self.cur.is_none() {
                keep.push(o);
            }
        }
        self.old = keep;
        if let Some(mut c) = self.cur.take() {
            // Copytruncate: shorter than what was read, or other first bytes.
            let size = c.file.metadata()?.len();
            let n = fp_len(&c.fp).unwrap_or(0);
            let truncated = size < c.offset || (n > 0 && size >= n && c.fingerprint_of(n)? != c.fp);
            if truncated {
                c.offset = 0;
                c.lines = 0;
                c.fp = fingerprint(b"");
                c.dirty = true;
            }
            let data = c.read_lines(max)?;
            self.lines_read += data.iter().filter(|&&b| b == b'\n').count() as u64;
            let f = self.advance(&mut c, self.key.clone(), data);
            self.cur = Some(c);
            if let Some(f) = f? {
                feeds.push(f);
            }
        }
        Ok(feeds)
    }
}
