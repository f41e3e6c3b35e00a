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
    memchr::memchr_iter(b'%', s).any(|i| {
        i + 2 < s.len()
            && ((hex(s[i + 1]).is_some() && hex(s[i + 2]).is_some())
                || (s[i + 1] == b'u'
                    && i + 5 < s.len()
                    && s[i + 2..i + 6].iter().all(|&c| hex(c).is_some())))
    })
}

/// One pass of percent-decoding of `input` appended to `out`, lowercasing ASCII.
/// From byte `plus_from` on, `+` becomes a space (the query part).
/// Overlong UTF-8 encodings of ASCII (`%c0%af` for `/`, `%c0%ae` for `.`, `%e0%80%af`),
/// which old servers and some decoders accept: the byte just pushed may complete one, and
/// the sequence is replaced by the ASCII character it encodes.
fn fold_overlong(out: &mut Vec<u8>) {
    let n = out.len();
    let cont = |b: u8| (0x80..=0xbf).contains(&b);
    if n >= 2 && matches!(out[n - 2], 0xc0 | 0xc1) && cont(out[n - 1]) {
        let c = ((out[n - 2] & 0x1f) << 6) | (out[n - 1] & 0x3f);
        out.truncate(n - 2);
        out.push(c.to_ascii_lowercase());
    } else if n >= 3 && out[n - 3] == 0xe0 && matches!(out[n - 2], 0x80 | 0x81) && cont(out[n - 1])
    {
        let c = ((out[n - 2] & 0x3f) << 6) | (out[n - 1] & 0x3f);
        out.truncate(n - 3);
        out.push(c.to_ascii_lowercase());
    }
}

/// One decoding pass. With `log_escapes`, the escapes access logs write for bytes they
/// will not print as they are (nginx `\x5C` and `\x22`, Apache `\\` and `\"`) are undone
/// too, so that a backslash or quote the client sent reads the same from every log.
fn decode_once(input: &[u8], plus_from: usize, log_escapes: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if log_escapes && b == b'\\' && i + 1 < input.len() {
            match input[i + 1] {
                b'x' | b'X' if i + 3 < input.len() => {
                    if let (Some(h), Some(l)) = (hex(input[i + 2]), hex(input[i + 3])) {
                        out.push((h << 4 | l).to_ascii_lowercase());
                        if out.len() >= 2 && out[out.len() - 1] >= 0x80 {
                            fold_overlong(out);
                        }
                        i += 4;
                        continue;
                    }
                }
                b'\\' | b'"' => {
                    out.push(input[i + 1]);
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        if b == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h << 4 | l).to_ascii_lowercase());
                if out.len() >= 2 && out[out.len() - 1] >= 0x80 {
                    fold_overlong(out);
                }
                i += 3;
                continue;
            }
            // IIS-style `%u002f`: an ASCII code point is decoded, anything else kept.
            if matches!(input[i + 1], b'u' | b'U') && i + 5 < input.len() {
                let d = &input[i + 2..i + 6];
                if d.iter().all(|&c| hex(c).is_some()) {
                    let v = d
                        .iter()
                        .fold(0u32, |a, &c| a << 4 | u32::from(hex(c).unwrap_or(0)));
                    if v < 0x80 {
                        out.push((v as u8).to_ascii_lowercase());
                        i += 6;
                        continue;
                    }
                }
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

/// Undoes access-log escapes (`\x5C`, `\\`, `\"`) once and percent-decodes `input` repeatedly (up to [`MAX_DECODE_PASSES`]) into `out`, lowercased;
/// `+` from byte `plus_from` on becomes a space. Returns how many passes changed something.
pub fn decode_into(input: &[u8], plus_from: usize, out: &mut Vec<u8>, tmp: &mut Vec<u8>) -> u32 {
    out.clear();
    let plus = plus_from < input.len() && memchr::memchr(b'+', &input[plus_from..]).is_some();
    if !plus && memchr::memchr2(b'%', b'\\', input).is_none() {
        out.extend_from_slice(input);
        out.make_ascii_lowercase();
        return 0;
    }
    decode_once(input, plus_from, true, out);
    let mut passes = u32::from(out.len() != input.len());
    while passes < MAX_DECODE_PASSES && has_escape(out) {
        tmp.clear();
        decode_once(out, usize::MAX, false, tmp);
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

    #[test]
    fn overlong_utf8_and_iis_unicode_escapes_decode_to_ascii() {
        assert_eq!(
            dec("/static/..%c0%af..%c0%afetc/passwd", usize::MAX).0,
            "/static/../../etc/passwd"
        );
        assert_eq!(
            dec("/%c0%ae%c0%ae/%c0%ae%c0%ae/x", usize::MAX).0,
            "/../../x"
        );
        assert_eq!(
            dec("/..%c1%9c..%c1%9cwin.ini", usize::MAX).0,
            "/..\\..\\win.ini"
        );
        assert_eq!(dec("/..%e0%80%af..%e0%80%afx", usize::MAX).0, "/../../x");
        assert_eq!(dec("/..%u002f..%u002fetc", usize::MAX).0, "/../../etc");
        assert_eq!(
            dec("/..%25c0%25af..%25c0%25afetc", usize::MAX).0,
            "/../../etc"
        );
        // Real UTF-8 stays as it is.
        assert_eq!(
            dec("/caf%c3%a9/%e2%82%ac", usize::MAX).0,
            "/caf\u{e9}/\u{20ac}"
        );
        assert_eq!(dec("/%u20ac", usize::MAX).0, "/%u20ac");
    }

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
    fn log_escapes_are_undone_once() {
        // nginx writes a backslash as \x5C and a quote as \x22; Apache as \\ and \".
        assert_eq!(
            dec(r"/index.php?s=index/think\x5Crequest/input", usize::MAX).0,
            r"/index.php?s=index/think\request/input"
        );
        assert_eq!(dec(r"/?q=\x22%3E", usize::MAX).0, "/?q=\">");
        assert_eq!(dec(r#"/a\\b\"c"#, usize::MAX).0, r#"/a\b"c"#);
        assert_eq!(
            dec(r"/..\x5C..\x5Cwin.ini", usize::MAX).0,
            r"/..\..\win.ini"
        );
        // A lone backslash, or one not followed by a log escape, stays.
        assert_eq!(dec(r"/a\b\x4", usize::MAX).0, r"/a\b\x4");
        // Only once: a percent-encoded escape is not a log escape.
        assert_eq!(dec("/%5Cx41", usize::MAX).0, r"/\x41");
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
