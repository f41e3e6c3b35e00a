//! Context-aware escaping for HTML text, attribute values and URL path segments.
//!
//! Every value that comes from a log (paths, user agents, referers, user names,
//! signature ids from local rules) is attacker-controlled and goes through one of these
//! functions before it reaches a page. Attribute values are always written quoted.

use std::fmt::Write as _;

/// Escapes text for an HTML text node or a quoted attribute value (`& < > " '`).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters never reach a page raw (the store keeps them escaped,
            // this is a second line of defence).
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a value for one URL path segment or query value (unreserved characters stay).
pub fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Formats milliseconds since the epoch as a UTC time a person reads (`2026-11-25 12:00:00Z`).
pub fn time(ms: i64) -> String {
    scantriage_core::Timestamp {
        unix_ms: ms,
        offset_min: 0,
    }
    .to_string()
    .replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_become_text() {
        assert_eq!(
            esc("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            esc("\" onmouseover='x' &"),
            "&quot; onmouseover=&#39;x&#39; &amp;"
        );
        assert_eq!(esc("a\u{1b}[31m"), "a\\u{1b}[31m");
        assert_eq!(url_component("a/b?c=<d>"), "a%2Fb%3Fc%3D%3Cd%3E");
        assert_eq!(time(0), "1970-01-01 00:00:00Z");
    }
}
