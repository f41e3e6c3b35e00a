//! Opening inputs (plain, gzip, zstd, stdin) and ordering rotated sets.

use crate::error::{InputError, InputErrorKind};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Compression of a stream, recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Gzip,
    Zstd,
}

impl Codec {
    fn sniff(magic: &[u8]) -> Option<Codec> {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Some(Codec::Gzip)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }
}

/// Wraps a decoder so that its errors name the input and say whether the stream was cut.
struct Decoded<R> {
    inner: R,
    name: String,
    codec: Codec,
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let truncated = e.kind() == io::ErrorKind::UnexpectedEof
                || e.to_string().contains("incomplete frame");
            let (kind, message) = if truncated {
                (
                    InputErrorKind::Truncated,
                    format!("unexpected end of {} stream", self.codec.name()),
                )
            } else {
                (
                    InputErrorKind::Read,
                    format!("corrupt {} stream: {e}", self.codec.name()),
                )
            };
            let err = InputError {
                name: self.name.clone(),
                message,
                kind,
            };
            io::Error::new(e.kind(), err)
        })
    }
}

/// Wraps a plain reader so that its errors name the input.
struct Named<R> {
    inner: R,
    name: String,
}

impl<R: Read> Read for Named<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let err = InputError {
                name: self.name.clone(),
                message: e.to_string(),
                kind: InputErrorKind::Read,
            };
            io::Error::new(e.kind(), err)
        })
    }
}

/// Opens a file (or `-` for stdin), decompressing gzip (also multi-member) or zstd as
/// recognised by the magic bytes, not the extension. Errors name the path.
pub fn open_input(path: &Path) -> Result<Box<dyn Read + Send>, InputError> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        return wrap(Box::new(io::stdin()), name);
    }
    let file = File::open(path).map_err(|e| InputError {
        name: name.clone(),
        message: e.to_string(),
        kind: InputErrorKind::Open,
    })?;
    wrap(Box::new(file), name)
}

/// Sniffs the first bytes of `inner` and puts the matching decoder in front of it.
fn wrap(mut inner: Box<dyn Read + Send>, name: String) -> Result<Box<dyn Read + Send>, InputError> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match inner.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(InputError {
                    name,
                    message: e.to_string(),
                    kind: InputErrorKind::Read,
                })
            }
        }
    }
    let head = io::Cursor::new(magic[..got].to_vec());
    let joined = head.chain(inner);
    Ok(match Codec::sniff(&magic[..got]) {
        Some(codec @ Codec::Gzip) => Box::new(Decoded {
            inner: flate2::read::MultiGzDecoder::new(joined),
            name,
            codec,
        }),
        Some(codec @ Codec::Zstd) => {
            let dec = zstd::Decoder::new(joined).map_err(|e| InputError {
                name: name.clone(),
                message: format!("cannot start zstd decoder: {e}"),
                kind: InputErrorKind::Open,
            })?;
            Box::new(Decoded {
                inner: dec,
                name,
                codec,
            })
        }
        None => Box::new(Named {
            inner: joined,
            name,
        }),
    })
}

/// Where a file stands in its rotated set; larger is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `access.log-20251103`: older dates first.
    Dated(u64),
    /// `access.log.3`: stored negated so that `.3` sorts before `.1`.
    Numbered(std::cmp::Reverse<u64>),
    /// The live file, `access.log`.
    Live,
}

/// Splits a path into (directory, base name, age): `logs/access.log.2.gz` →
/// (`logs`, `access.log`, Numbered(2)).
fn rotation_key(p: &Path) -> (PathBuf, String, Age) {
    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(&name);
    let digits_after = |sep: char| {
        let i = stem.rfind(sep)?;
        let (base, num) = (&stem[..i], &stem[i + 1..]);
        if base.is_empty() || num.is_empty() || num.len() > 18 {
            return None;
        }
        if !num.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some((base.to_string(), num.len(), num.parse::<u64>().ok()?))
    };
    if let Some((base, _, n)) = digits_after('.') {
        return (dir, base, Age::Numbered(std::cmp::Reverse(n)));
    }
    if let Some((base, 8, n)) = digits_after('-') {
        return (dir, base, Age::Dated(n));
    }
    (dir, stem.to_string(), Age::Live)
}

/// Orders a rotated set oldest first (`access.log.3.gz`, `access.log.2.gz`,
/// `access.log.1`, `access.log`); dated suffixes (`access.log-20251103`) sort by date.
/// Each set takes the place of its first member; unrelated files keep their order.
pub fn order_rotated(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let keys: Vec<(PathBuf, String, Age)> = paths.iter().map(|p| rotation_key(p)).collect();
    let mut done = vec![false; paths.len()];
    let mut out = Vec::with_capacity(paths.len());
    for i in 0..paths.len() {
        if done[i] {
            continue;
        }
        let mut family: Vec<usize> = (i..paths.len())
            .filter(|&j| !done[j] && keys[j].0 == keys[i].0 && keys[j].1 == keys[i].1)
            .collect();
        // Stable: equal ages keep their given order.
        family.sort_by_key(|&j| keys[j].2);
        for j in family {
            done[j] = true;
            out.push(paths[j].clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(names: &[&str]) -> Vec<String> {
        let paths = names.iter().map(PathBuf::from).collect();
        order_rotated(paths)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn rotated_set_oldest_first() {
        assert_eq!(
            order(&[
                "access.log",
                "access.log.1",
                "access.log.2.gz",
                "access.log.3.gz",
                "access.log.10.zst"
            ]),
            [
                "access.log.10.zst",
                "access.log.3.gz",
                "access.log.2.gz",
                "access.log.1",
                "access.log"
            ]
        );
    }

    #[test]
    fn unrelated_files_keep_their_order() {
        assert_eq!(
            order(&[
                "z.log",
                "error.log",
                "access.log",
                "error.log.1",
                "a.txt",
                "access.log.1.gz"
            ]),
            [
                "z.log",
                "error.log.1",
                "error.log",
                "access.log.1.gz",
                "access.log",
                "a.txt"
            ]
        );
        assert_eq!(
            order(&[
                "b/access.log",
                "a/access.log.1",
                "a/access.log",
                "b/access.log.2"
            ]),
            [
                "b/access.log.2",
                "b/access.log",
                "a/access.log.1",
                "a/access.log"
            ]
        );
    }

    #[test]
    fn dated_suffixes() {
        assert_eq!(
            order(&[
                "access.log",
                "access.log-20251103.gz",
                "access.log-20251101"
            ]),
            [
                "access.log-20251101",
                "access.log-20251103.gz",
                "access.log"
            ]
        );
    }
}
