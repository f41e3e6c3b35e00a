//! Percent-decoding and path normalisation, into caller-owned buffers.

/// How many decoding passes are tried at most (catches double and triple encoding).
pub const MAX_DECODE_PASSES: u32 = 3;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn has_escape(s: &[u8]) -> bool {
    memchr::memchr_iter(b'%', s)
        .any(|i| i + 2 < s.len() && hex(s[i + 1]).is_some() && hex(s[i + 2]).is_some())
}

/// One pass of percent-decoding of `input` appended to `out`, lowercasing ASCII.
/// From byte `plus_from` on, `+` becomes a space (the query part).
fn decode_once(input: &[u8], plus_from: usize, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h << 4 | l).to_ascii_lowercase());
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' && i >= plus_from {
            b' '
        } else {
            b.to_ascii_lowercase()
        });
        i += 1;
    }
}

/// Percent-decodes `input` repeatedly (up to [`MAX_DECODE_PASSES`]) into `out`, lowercased;
/// `+` from byte `plus_from` on becomes a space. Returns how many passes changed something.
pub fn decode_into(input: &[u8], plus_from: usize, out: &mut Vec<u8>, tmp: &mut Vec<u8>) -> u32 {
    out.clear();
    let plus = plus_from < input.len() && memchr::memchr(b'+', &input[plus_from..]).is_some();
    if !plus && memchr::memchr(b'%', input).is_none() {
        out.extend_from_slice(input);
        out.make_ascii_lowercase();
        return 0;
    }
    decode_once(input, plus_from, out);
    let mut passes = u32::from(out.len() != input.len());
    while passes < MAX_DECODE_PASSES && has_escape(out) {
        tmp.clear();
        decode_once(out, usize::MAX, tmp);
        std::mem::swap(out, tmp);
        passes += 1;
    }
    passes
}

/// Normalises a decoded path the way a server resolves it: `\` as `/`, `//` and `/./`
/// collapsed, `..` popping a segment (never above the root). Appends to `out`.
pub fn normalize_path(path: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if path.first() == Some(&b'/')
        && memchr::memchr(b'\\', path).is_none()
        && !memchr::memchr_iter(b'/', path).any(|i| matches!(path.get(i + 1), Some(b'/' | b'.')))
    {
        out.extend_from_slice(path);
        return;
    }
    out.push(b'/');
    let trailing = matches!(path.last(), Some(b'/' | b'\\'));
    for seg in path.split(|&b| b == b'/' || b == b'\\') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if out.len() > 1 {
                    out.pop();
                    let cut = memchr::memrchr(b'/', out).map_or(0, |i| i + 1);
                    out.truncate(cut.max(1));
                }
            }
            _ => {
                out.extend_from_slice(seg);
                out.push(b'/');
            }
        }
    }
    if !trailing && out.len() > 1 {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str, plus_from: usize) -> (String, u32) {
        let (mut o, mut t) = (Vec::new(), Vec::new());
        let n = decode_into(s.as_bytes(), plus_from, &mut o, &mut t);
        (String::from_utf8_lossy(&o).into_owned(), n)
    }

    fn norm(s: &str) -> String {
        let mut o = Vec::new();
        normalize_path(s.as_bytes(), &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn decodes_single_double_and_nested_escapes() {
        assert_eq!(dec("/a%2Fb", usize::MAX), ("/a/b".into(), 1));
        assert_eq!(dec("/%252e%252e/", usize::MAX).0, "/../");
        assert_eq!(dec("/%%32%65%%32%65/bin/sh", usize::MAX).0, "/../bin/sh");
        assert_eq!(dec("/Plain/Path", usize::MAX), ("/plain/path".into(), 0));
        assert_eq!(dec("/x?a=cd+/tmp", 2).0, "/x?a=cd /tmp");
        assert_eq!(dec("/a+b", usize::MAX).0, "/a+b");
        assert_eq!(dec("%", 0).0, "%");
        assert_eq!(dec("%4", 0).0, "%4");
        assert_eq!(dec("%41", 0).0, "a");
    }

    #[test]
    fn normalizes_like_a_server() {
        assert_eq!(norm("/vpn/../vpns/cfg/smb.conf"), "/vpns/cfg/smb.conf");
        assert_eq!(norm("//a/./b//c/"), "/a/b/c/");
        assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/cgi-bin/../../bin/sh"), "/bin/sh");
        assert_eq!(norm("\\windows\\win.ini"), "/windows/win.ini");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm(""), "/");
        assert_eq!(norm("/a/b/.."), "/a");
    }
}
