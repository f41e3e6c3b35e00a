//! Suspicion heuristics for requests that match no signature.
//!
//! Each heuristic is cheap, looks at one request, and names what it saw. A request
//! that matches no signature but trips one of them is `unknown` and goes to a person's
//! queue; they are deliberately narrow so that ordinary browsing never trips them:
//!
//! | heuristic | trips on |
//! |---|---|
//! | not HTTP | a non-empty request line that is not `METHOD TARGET [PROTOCOL]` |
//! | unusual method | a method outside the registered HTTP and WebDAV methods |
//! | control bytes | NUL or other control bytes in the decoded target |
//! | multiple encoding | a path that needed two or more rounds of percent-decoding (a query value may be a URL encoded in turn) |
//! | long query | a query string over 2,048 bytes |
//! | expression | `${` or `#{` in the target, user agent or referer |

use crate::engine::Scratch;
use crate::rules::Field;
use scantriage_core::HttpRequest;

const METHODS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"PRI",
];

/// Why an unmatched request looks suspicious, or `None`. Call after matching, with the
/// same scratch (it holds what the request line alone revealed).
pub fn suspicion(req: &HttpRequest<'_>, s: &Scratch) -> Option<&'static str> {
    if s.line_suspicion.is_some() {
        return s.line_suspicion;
    }
    if has_expression(&req.user_agent) || has_expression(&req.referer) {
        return Some(EXPRESSION);
    }
    None
}

const EXPRESSION: &str = "expression syntax (`${` or `#{`) in a request field";

fn has_expression(v: &[u8]) -> bool {
    memchr::memchr_iter(b'{', v).any(|i| i > 0 && matches!(v[i - 1], b'$' | b'#'))
}

/// The part of [`suspicion`] that depends on the request line alone (method, target,
/// protocol), computed from the decoded fields in `s`.
pub(crate) fn line_suspicion(req: &HttpRequest<'_>, s: &Scratch) -> Option<&'static str> {
    if !req.is_http() {
        return (!req.request_line.is_empty()).then_some("request line is not HTTP");
    }
    if !METHODS.contains(&&*req.method) {
        return Some("unusual HTTP method");
    }
    let uri = s.field(Field::Uri);
    if uri.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Some("control bytes in the decoded request target");
    }
    if s.decode_passes >= 2 {
        return Some("request path percent-encoded more than once");
    }
    if s.field(Field::Query).len() > 2048 {
        return Some("query string longer than 2048 bytes");
    }
    if has_expression(uri) {
        return Some(EXPRESSION);
    }
    None
}
