//! OpenSSH server messages into [`AuthEvent`]s.
//!
//! Reads the messages of OpenSSH 6.x to 9.x (`sshd` and, from 9.8, `sshd-session`):
//! failed and accepted logins, invalid users, connections closed or reset before
//! authentication, maximum authentication attempts, missing identification strings,
//! banner and key exchange failures, and algorithm negotiation failures. rsyslog's
//! `message repeated N times: [ ... ]` is read as the message it repeats (once).
//!
//! Lines from other programs, and sshd messages without a client address (`Server
//! listening on ...`, session opened/closed), are `Ok(None)`: not events, not errors.

use crate::combined::parse_ip;
use crate::error::{ParseError, ParseErrorKind};
use crate::syslog::{parse_envelope, SyslogContext};
use scantriage_core::{AuthEvent, AuthKind, AuthService};
use std::borrow::Cow;
use std::net::IpAddr;

/// Whether a program tag is OpenSSH's server.
pub fn is_sshd(program: &[u8]) -> bool {
    matches!(program, b"sshd" | b"sshd-session" | b"sshd-auth")
}

/// Parses one syslog, RFC 3339 or journal JSON line. `Ok(None)` for lines that are not
/// sshd messages about a client. Never panics.
pub fn parse_sshd<'a>(
    line: &'a [u8],
    ctx: &SyslogContext,
) -> Result<Option<AuthEvent<'a>>, ParseError> {
    let env = parse_envelope(line, ctx)?;
    if !is_sshd(&env.program) {
        return Ok(None);
    }
    let msg = match &env.message {
        Cow::Borrowed(m) => Message::parse(m).map(|m| m.borrowed()),
        Cow::Owned(m) => Message::parse(m).map(|m| m.owned()),
    };
    // A login message whose address does not parse is damaged, not another message.
    let login = [&b"Failed "[..], b"Accepted ", b"Invalid user "];
    if msg.is_none() && login.iter().any(|p| env.message.starts_with(p)) {
        return Err(ParseError::at(ParseErrorKind::BadAddress, 0));
    }
    Ok(msg.map(|m| AuthEvent {
        time: env.time,
        service: AuthService::Ssh,
        attempts: 1,
        source: m.source,
        port: m.port,
        kind: m.kind,
        user: m.user,
        invalid_user: m.invalid_user,
        method: m.method,
        host: env.host,
    }))
}

/// A recognised message, before the envelope is attached.
struct Message<'m> {
    source: IpAddr,
    port: Option<u16>,
    kind: AuthKind,
    user: &'m [u8],
    invalid_user: bool,
    method: &'m [u8],
}

struct Owned<'a> {
    source: IpAddr,
    port: Option<u16>,
    kind: AuthKind,
    user: Cow<'a, [u8]>,
    invalid_user: bool,
    method: Cow<'a, [u8]>,
}

impl<'m> Message<'m> {
    fn borrowed(self) -> Owned<'m> {
        Owned {
            source: self.source,
            port: self.port,
            kind: self.kind,
            user: Cow::Borrowed(self.user),
            invalid_user: self.invalid_user,
            method: Cow::Borrowed(self.method),
        }
    }

    fn owned(self) -> Owned<'static> {
        Owned {
            source: self.source,
            port: self.port,
            kind: self.kind,
            user: Cow::Owned(self.user.to_vec()),
            invalid_user: self.invalid_user,
            method: Cow::Owned(self.method.to_vec()),
        }
    }

    fn parse(m: &'m [u8]) -> Option<Message<'m>> {
        let mut m = m.trim_ascii();
        if let Some(rest) = m.strip_prefix(b"message repeated ") {
            let k = memchr::memmem::find(rest, b": [ ")?;
            m = rest[k + 4..].strip_suffix(b" ]").unwrap_or(&rest[k + 4..]);
        }
        for p in [&b"error: "[..], b"fatal: ", b"warning: "] {
            if let Some(r) = m.strip_prefix(p) {
                m = r;
            }
        }
        let preauth = m.ends_with(b" [preauth]");
        let m = m.strip_suffix(b" [preauth]").unwrap_or(m);
        let msg = |kind, user, invalid_user, method, (source, port)| Message {
            source,
            port,
            kind,
            user,
            invalid_user,
            method,
        };
        if let Some(r) = m.strip_prefix(b"Failed ") {
            let (method, rest) = split_word(r)?;
            let rest = rest.strip_prefix(b"for ")?;
            let (user, invalid, tail) = user_from(rest)?;
            return Some(msg(AuthKind::Failed, user, invalid, method, tail));
        }
        if let Some(r) = m.strip_prefix(b"Accepted ") {
            let (method, rest) = split_word(r)?;
            let rest = rest.strip_prefix(b"for ")?;
            let (user, invalid, tail) = user_from(rest)?;
            return Some(msg(AuthKind::Accepted, user, invalid, method, tail));
        }
        if let Some(r) = m.strip_prefix(b"Invalid user ") {
            // `Invalid user U from A [port P]`; U may be empty or contain spaces.
            let k = rfind(r, b"from ")?;
            let user = r[..k].strip_suffix(b" ").unwrap_or(&r[..k]);
            return Some(msg(
                AuthKind::InvalidUser,
                user,
                true,
                b"",
                addr_port(&r[k + 5..])?,
            ));
        }
        if let Some(r) = m.strip_prefix(b"maximum authentication attempts exceeded for ") {
            let (user, invalid, tail) = user_from(r)?;
            return Some(msg(AuthKind::MaxAttempts, user, invalid, b"", tail));
        }
        if let Some(r) = m.strip_prefix(b"Disconnecting ") {
            // `Disconnecting [authenticating|invalid] user U A port P: Too many authentication failures`
            let (who, why) = split_colon(r);
            if !why.starts_with(b"Too many authentication failures") {
                return None;
            }
            let (user, invalid, tail) = user_addr(who)?;
            return Some(msg(AuthKind::MaxAttempts, user, invalid, b"", tail));
        }
        for p in [
            &b"Connection closed by "[..],
            b"Connection reset by ",
            b"Disconnected from ",
        ] {
            if let Some(r) = m.strip_prefix(p) {
                // Only before authentication: the `[preauth]` tag, or an unauthenticated
                // user (`authenticating user`, `invalid user`), or a bare address.
                let (user, invalid, tail) = user_addr(r)?;
                let authenticated =
                    !user.is_empty() && !invalid && !r.starts_with(b"authenticating ");
                if authenticated && !preauth {
                    return None;
                }
                return Some(msg(AuthKind::PreauthClose, user, invalid, b"", tail));
            }
        }
        if let Some(r) = m.strip_prefix(b"Received disconnect from ") {
            let (who, _) = split_colon(r);
            return Some(msg(
                AuthKind::PreauthClose,
                b"",
                false,
                b"",
                addr_port(who)?,
            ));
        }
        if let Some(r) = m.strip_prefix(b"Did not receive identification string from ") {
            return Some(msg(AuthKind::NoIdent, b"", false, b"", addr_port(r)?));
        }
        if let Some(r) = m.strip_prefix(b"banner exchange: Connection from ") {
            let (who, _) = split_colon(r);
            return Some(msg(AuthKind::BannerError, b"", false, b"", addr_port(who)?));
        }
        if let Some(r) = m.strip_prefix(b"Bad protocol version identification ") {
            let k = rfind(r, b"from ")?;
            return Some(msg(
                AuthKind::BannerError,
                b"",
                false,
                b"",
                addr_port(&r[k + 5..])?,
            ));
        }
        if let Some(r) = m.strip_prefix(b"Protocol major versions differ for ") {
            let (who, _) = split_colon(r);
            return Some(msg(AuthKind::BannerError, b"", false, b"", addr_port(who)?));
        }
        if let Some(r) = m.strip_prefix(b"ssh_dispatch_run_fatal: Connection from ") {
            let (who, _) = split_colon(r);
            let (user, invalid, tail) = user_addr(who)?;
            return Some(msg(AuthKind::KexError, user, invalid, b"", tail));
        }
        // OpenSSH 9.8+ penalties: a connection refused because its source is penalised
        // (`drop connection #N from [A]:P on [B]:P penalty: failed authentication`, or
        // `past MaxStartups`), and the penalty itself (`srclimit_penalise: ipv4: new
        // A/32 ...`): sshd already judged the source.
        if let Some(r) = m.strip_prefix(b"drop connection #") {
            let r = &r[memchr::memmem::find(r, b" from [")? + 7..];
            let end = memchr::memchr(b']', r)?;
            let ip = parse_ip(&r[..end])?;
            let port = r[end + 1..].strip_prefix(b":").and_then(|p| {
                let n = p.iter().take_while(|c| c.is_ascii_digit()).count();
                std::str::from_utf8(&p[..n]).ok()?.parse().ok()
            });
            let failed = memchr::memmem::find(r, b"penalty: failed authentication").is_some()
                || memchr::memmem::find(r, b"penalty: exceeded MaxAuthTries").is_some();
            let kind = if failed {
                AuthKind::Failed
            } else {
                AuthKind::PreauthClose
            };
            return Some(msg(kind, b"", false, b"", (ip, port)));
        }
        if let Some(r) = m.strip_prefix(b"srclimit_penalise: ") {
            let r = &r[memchr::memmem::find(r, b"new ")? + 4..];
            let end = r
                .iter()
                .position(|&c| c == b' ' || c == b'/')
                .unwrap_or(r.len());
            let ip = parse_ip(&r[..end])?;
            // A penalty on a whole network (PerSourceNetBlockSize) names no one source.
            if let Some(len) = r[end..].strip_prefix(b"/") {
                let n = len.iter().take_while(|c| c.is_ascii_digit()).count();
                let full = if ip.is_ipv4() { &b"32"[..] } else { b"128" };
                if &len[..n] != full {
                    return None;
                }
            }
            return Some(msg(AuthKind::MaxAttempts, b"", false, b"", (ip, None)));
        }
        if let Some(r) = m.strip_prefix(b"Timeout before authentication for connection from ") {
            let end = r.iter().position(|&c| c == b' ').unwrap_or(r.len());
            let ip = parse_ip(&r[..end])?;
            return Some(msg(AuthKind::PreauthClose, b"", false, b"", (ip, None)));
        }
        if let Some(r) = m.strip_prefix(b"Unable to negotiate with ") {
            let (who, _) = split_colon(r);
            return Some(msg(
                AuthKind::NoMatchingAlgo,
                b"",
                false,
                b"",
                addr_port(who)?,
            ));
        }
        None
    }
}

fn split_word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let k = b.iter().position(|&c| c == b' ')?;
    Some((&b[..k], &b[k + 1..]))
}

/// Splits at the first `: ` (or returns the whole text).
fn split_colon(b: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memmem::find(b, b": ") {
        Some(k) => (&b[..k], &b[k + 2..]),
        None => (b.strip_suffix(b":").unwrap_or(b), b""),
    }
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(h, n)
}

/// `A port P [ssh2[: ...]]` or a bare `A` (older OpenSSH).
fn addr_port(b: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let b = b.trim_ascii();
    let end = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
    let ip = parse_ip(&b[..end])?;
    let rest = &b[end..];
    let port = rest.strip_prefix(b" port ").and_then(|r| {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        std::str::from_utf8(&r[..n]).ok()?.parse().ok()
    });
    Some((ip, port))
}

type UserTail<'m> = (&'m [u8], bool, (IpAddr, Option<u16>));

/// `[invalid user ]U from A port P ...` (the last ` from ` followed by an address).
fn user_from(b: &[u8]) -> Option<UserTail<'_>> {
    let (b, invalid) = match b.strip_prefix(b"invalid user ") {
        Some(r) => (r, true),
        None => (b, false),
    };
    let mut end = b.len();
    while let Some(k) = rfind(&b[..end], b"from ") {
        if let Some(tail) = addr_port(&b[k + 5..]) {
            let user = b[..k].strip_suffix(b" ").unwrap_or(&b[..k]);
            return Some((user, invalid, tail));
        }
        end = k;
    }
    None
}

/// `[authenticating |invalid ]user U A port P`, or `A port P`.
fn user_addr(b: &[u8]) -> Option<UserTail<'_>> {
    let (b, invalid, has_user) = if let Some(r) = b.strip_prefix(b"authenticating user ") {
        (r, false, true)
    } else if let Some(r) = b.strip_prefix(b"invalid user ") {
        (r, true, true)
    } else if let Some(r) = b.strip_prefix(b"user ") {
        (r, false, true)
    } else {
        (b, false, false)
    };
    if !has_user {
        return Some((b"", false, addr_port(b)?));
    }
    // The address is the token before ` port `, or the last token.
    let before = match rfind(b, b" port ") {
        Some(k) => &b[..k],
        None => b,
    };
    let k = before.iter().rposition(|&c| c == b' ');
    let (user, addr) = match k {
        Some(k) => (&b[..k], &b[k + 1..]),
        None => (&b""[..], b),
    };
    Some((user, invalid, addr_port(addr)?))
}
