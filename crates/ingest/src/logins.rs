//! Mail and FTP servers' login messages into [`AuthEvent`]s.
//!
//! Reads, by program tag:
//! - postfix smtpd (`postfix/smtpd`, `postfix/submission/smtpd`, `postfix/smtps/smtpd`):
//!   `warning: host[A]: SASL LOGIN authentication failed: ...` (failed login; the user
//!   when postfix logs `sasl_username=`), `lost connection after AUTH from host[A]`
//!   (a connection closed during authentication), `reject: RCPT from host[A]: 554 5.7.1
//!   ... Relay access denied` (relay probing: recon), and `client=host[A],
//!   sasl_method=M, sasl_username=U` (a successful login). Service SMTP.
//! - exim (`exim`, `exim4`, or exim's own mainlog): `NAME authenticator failed for
//!   [host ](helo) [A]:P: 535 Incorrect authentication data (set_id=U)`. Service SMTP.
//! - dovecot (`dovecot: imap-login: ...` in syslog, or dovecot's own `log_path` file with
//!   `imap-login: Info: ...`): `Disconnected|Aborted login|Login aborted ... (auth failed,
//!   N attempts in S secs): user=<U>, method=M, rip=A, ...` (N failures), `(no auth
//!   attempts ...)` (recon), `Login: user=<U>, method=M, rip=A` (success), and the auth
//!   process's `passwd-file|pam|shadow|sql(U,A[,<session>]): unknown user` (invalid user)
//!   and `... Password mismatch` / `pam_authenticate() failed` (failed login). Service
//!   IMAP (imap, pop3, submission and managesieve logins).
//! - vsftpd (syslog, or vsftpd.log's `Wed Nov 25 10:00:00 2026 [pid N]` lines):
//!   `[U] FAIL LOGIN: Client "A"`, `[U] OK LOGIN: Client "A"`. Service FTP.
//! - proftpd: `server (host[A]) - USER U (Login failed): ...`, `USER U: no such user
//!   found from ...`, `USER U: Login successful.`, `Maximum login attempts (N) exceeded`.
//! - pure-ftpd: `(?@A) [WARNING] Authentication failed for user [U]`, `(?@A) [INFO] U is
//!   now logged in`.
//!
//! User names are attacker-controlled: every field is located from the side the server
//! writes (the last `rip=`, the last `[A]` before `(set_id=`), so a crafted name cannot
//! put another address in the event. Lines from other programs and other messages of
//! these programs are `Ok(None)`; a failure message whose address does not parse is a
//! [`ParseErrorKind::BadAddress`] error. Nothing is allocated for syslog lines.

use crate::combined::parse_ip;
use crate::error::{ParseError, ParseErrorKind};
use crate::syslog::{parse_envelope, Envelope, SyslogContext};
use memchr::memmem;
use scantriage_core::{AuthEvent, AuthKind, AuthService};
use std::borrow::Cow;
use std::net::IpAddr;

/// The login service whose messages a program tag carries, if it is one read here.
pub fn login_service(program: &[u8]) -> Option<AuthService> {
    if program.starts_with(b"postfix") && program.ends_with(b"/smtpd") {
        return Some(AuthService::Smtp);
    }
    match program {
        b"exim" | b"exim4" => Some(AuthService::Smtp),
        b"vsftpd" | b"proftpd" | b"pure-ftpd" => Some(AuthService::Ftp),
        b"dovecot" | b"auth" => Some(AuthService::Imap),
        p if p.ends_with(b"-login") || p.starts_with(b"auth-worker") => Some(AuthService::Imap),
        _ => None,
    }
}

/// Parses one syslog, RFC 3339, journal JSON, dovecot, vsftpd or exim log line. `Ok(None)`
/// for lines that are not mail or FTP login messages about a client. Never panics.
pub fn parse_login<'a>(
    line: &'a [u8],
    ctx: &SyslogContext,
) -> Result<Option<AuthEvent<'a>>, ParseError> {
    login_from_envelope(parse_envelope(line, ctx)?)
}

/// [`parse_login`] on an envelope already parsed.
pub fn login_from_envelope(env: Envelope<'_>) -> Result<Option<AuthEvent<'_>>, ParseError> {
    let Some(service) = login_service(&env.program) else {
        return Ok(None);
    };
    let program: &[u8] = &env.program;
    let msg = match &env.message {
        Cow::Borrowed(m) => Message::parse(program, m).map(Message::borrowed),
        Cow::Owned(m) => Message::parse(program, m).map(Message::owned),
    };
    let Some(m) = msg else {
        if failed(&env.message) {
            return Err(ParseError::at(ParseErrorKind::BadAddress, 0));
        }
        return Ok(None);
    };
    Ok(Some(AuthEvent {
        time: env.time,
        service: m.service.unwrap_or(service),
        attempts: m.attempts,
        source: m.source,
        port: m.port,
        kind: m.kind,
        user: m.user,
        invalid_user: m.kind == AuthKind::InvalidUser,
        method: m.method,
        host: env.host,
    }))
}

/// Whether a message that did not parse still says a login failed (so its address is
/// damaged rather than the message being another one).
fn failed(m: &[u8]) -> bool {
    [
        &b" authentication failed"[..],
        b"authenticator failed for ",
        b"(auth failed, ",
        b"FAIL LOGIN: Client ",
        b" (Login failed): ",
        b"Authentication failed for user [",
    ]
    .iter()
    .any(|p| memmem::find(m, p).is_some())
}

/// A recognised message, before the envelope is attached.
struct Message<'m> {
    service: Option<AuthService>,
    source: IpAddr,
    port: Option<u16>,
    kind: AuthKind,
    user: &'m [u8],
    method: &'m [u8],
    attempts: u32,
}

struct Parsed<'a> {
    service: Option<AuthService>,
    source: IpAddr,
    port: Option<u16>,
    kind: AuthKind,
    user: Cow<'a, [u8]>,
    method: Cow<'a, [u8]>,
    attempts: u32,
}

fn ev<'m>(kind: AuthKind, (source, port): (IpAddr, Option<u16>)) -> Message<'m> {
    Message {
        service: None,
        source,
        port,
        kind,
        user: b"",
        method: b"",
        attempts: 1,
    }
}

impl<'m> Message<'m> {
    fn borrowed(self) -> Parsed<'m> {
        Parsed {
            service: self.service,
            source: self.source,
            port: self.port,
            kind: self.kind,
            user: Cow::Borrowed(self.user),
            method: Cow::Borrowed(self.method),
            attempts: self.attempts,
        }
    }

    fn owned(self) -> Parsed<'static> {
        Parsed {
            service: self.service,
            source: self.source,
            port: self.port,
            kind: self.kind,
            user: Cow::Owned(self.user.to_vec()),
            method: Cow::Owned(self.method.to_vec()),
            attempts: self.attempts,
        }
    }

    fn user(mut self, user: &'m [u8]) -> Self {
        self.user = user;
        self
    }

    fn method(mut self, method: &'m [u8]) -> Self {
        self.method = method;
        self
    }

    fn parse(program: &[u8], m: &'m [u8]) -> Option<Message<'m>> {
        let mut m = m.trim_ascii();
        // rsyslog's `message repeated N times: [ ... ]` is read as the message (once).
        if let Some(rest) = m.strip_prefix(b"message repeated ") {
            let k = memmem::find(rest, b": [ ")?;
            m = rest[k + 4..].strip_suffix(b" ]").unwrap_or(&rest[k + 4..]);
        }
        match program {
            b"exim" | b"exim4" => exim(m),
            b"vsftpd" => vsftpd(m),
            b"proftpd" => proftpd(m),
            b"pure-ftpd" => pureftpd(m),
            p if p.starts_with(b"postfix") => postfix(m),
            b"dovecot" => {
                // `imap-login: ...`: the dovecot process is the first word.
                let k = memmem::find(m, b": ")?;
                dovecot(&m[..k], &m[k + 2..])
            }
            p => dovecot(p, m),
        }
    }
}

/// A client's address and port (when logged).
type At = (IpAddr, Option<u16>);

/// `host[A]` or `host[A]:P` → the address (and port).
fn bracketed(b: &[u8]) -> Option<At> {
    let open = memchr::memrchr(b'[', b)?;
    let close = open + memchr::memchr(b']', &b[open..])?;
    let ip = parse_ip(&b[open + 1..close])?;
    Some((ip, port_after(&b[close + 1..])))
}

/// The port in `:P...`, if any.
fn port_after(b: &[u8]) -> Option<u16> {
    let p = b.strip_prefix(b":")?;
    let n = p.iter().take_while(|c| c.is_ascii_digit()).count();
    std::str::from_utf8(&p[..n]).ok()?.parse().ok()
}

/// The word (up to a space or comma) at the start of `b`.
fn word(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .position(|&c| c == b' ' || c == b',')
        .unwrap_or(b.len());
    &b[..n]
}

/// `host[A][:P]: rest` (postfix's client, with the port when `smtpd_client_port_logging`
/// is on) → the address, port and rest. Host names have no `]`, so the first one ends it.
fn client_then(b: &[u8]) -> Option<(At, &[u8])> {
    let mut end = memchr::memchr(b']', b)? + 1;
    if b.get(end) == Some(&b':') {
        let n = b[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n > 0 {
            end += 1 + n;
        }
    }
    Some((bracketed(&b[..end])?, b[end..].strip_prefix(b": ")?))
}

fn postfix(m: &[u8]) -> Option<Message<'_>> {
    if let Some(r) = m.strip_prefix(b"warning: ") {
        // `host[A]: SASL LOGIN authentication failed: ...[, sasl_username=U]`.
        let (at, rest) = client_then(r)?;
        let rest = rest.strip_prefix(b"SASL ")?;
        let method = word(rest);
        memmem::find(rest, b" authentication failed")?;
        let e = ev(AuthKind::Failed, at).method(method);
        return Some(match memmem::rfind(rest, b", sasl_username=") {
            Some(u) => e.user(&rest[u + 16..]),
            None => e,
        });
    }
    if let Some(r) = m.strip_prefix(b"lost connection after AUTH from ") {
        return Some(ev(AuthKind::PreauthClose, bracketed(word(r))?));
    }
    if let Some(k) = memmem::find(m, b"reject: RCPT from ") {
        memmem::find(m, b"Relay access denied")?;
        let (at, _) = client_then(&m[k + 18..])?;
        return Some(ev(AuthKind::RelayDenied, at));
    }
    if let Some(k) = memmem::find(m, b": client=") {
        // `QUEUEID: client=host[A], sasl_method=M, sasl_username=U`: a login.
        let r = &m[k + 9..];
        let u = memmem::rfind(r, b", sasl_username=")?;
        let end = memchr::memchr(b',', r)?;
        let method =
            memmem::find(&r[..u], b", sasl_method=").map_or(&b""[..], |s| word(&r[s + 14..]));
        return Some(
            ev(AuthKind::Accepted, bracketed(&r[..end])?)
                .user(&r[u + 16..])
                .method(method),
        );
    }
    None
}

/// Skips exim's own `YYYY-MM-DD HH:MM:SS[.fff] [+zzzz] ` and `[pid] ` prefixes (in
/// syslog, exim may still write its timestamp).
fn exim_body(mut m: &[u8]) -> &[u8] {
    if m.len() >= 20 && m[4] == b'-' && m[10] == b' ' && m[13] == b':' {
        let skip = |b: &[u8]| b.iter().position(|&c| c == b' ').map_or(b.len(), |k| k + 1);
        m = &m[11..];
        m = &m[skip(m)..];
        if m.first().is_some_and(|c| *c == b'+' || *c == b'-') {
            m = &m[skip(m)..];
        }
    }
    if m.first() == Some(&b'[') {
        if let Some(k) = memchr::memchr(b']', m) {
            if m[1..k].iter().all(u8::is_ascii_digit) {
                m = m[k + 1..].trim_ascii_start();
            }
        }
    }
    m
}

fn exim(m: &[u8]) -> Option<Message<'_>> {
    let m = exim_body(m);
    let k = memmem::find(m, b" authenticator failed for ")?;
    let method = &m[..k];
    if method.contains(&b' ') {
        return None;
    }
    let r = &m[k + 26..];
    // The helo before the address and the user after it are the client's: search
    // between them, from the right.
    let (head, user) = match memmem::rfind(r, b"(set_id=") {
        Some(s) => {
            let u = &r[s + 8..];
            (&r[..s], u.strip_suffix(b")").unwrap_or(u))
        }
        None => (r, &b""[..]),
    };
    let mut end = head.len();
    while let Some(open) = memchr::memrchr(b'[', &head[..end]) {
        if let Some(close) = memchr::memchr(b']', &head[open..end]) {
            if let Some(ip) = parse_ip(&head[open + 1..open + close]) {
                let port = port_after(&head[open + close + 1..]);
                return Some(ev(AuthKind::Failed, (ip, port)).user(user).method(method));
            }
        }
        end = open;
    }
    None
}

/// Strips dovecot's log level (`Info: `, `Warning: `, ...) from a `log_path` line.
fn strip_level(m: &[u8]) -> &[u8] {
    for p in [
        &b"Info: "[..],
        b"Warning: ",
        b"Error: ",
        b"Fatal: ",
        b"Panic: ",
        b"Debug: ",
    ] {
        if let Some(r) = m.strip_prefix(p) {
            return r;
        }
    }
    m
}

fn dovecot<'m>(process: &[u8], m: &'m [u8]) -> Option<Message<'m>> {
    let m = strip_level(m);
    if process.ends_with(b"-login") {
        return dovecot_login(m);
    }
    if process == b"auth" || process.starts_with(b"auth-worker") {
        return dovecot_auth(m);
    }
    None
}

/// A login process's message: `Login: ...`, or a disconnection before login.
fn dovecot_login(m: &[u8]) -> Option<Message<'_>> {
    let kind = if m.starts_with(b"Login: ") {
        AuthKind::Accepted
    } else if m.starts_with(b"Disconnected")
        || m.starts_with(b"Aborted login")
        || m.starts_with(b"Login aborted")
    {
        if memmem::find(m, b"(auth failed, ").is_some() {
            AuthKind::Failed
        } else if memmem::find(m, b"(no auth attempts").is_some() {
            AuthKind::NoIdent
        } else {
            return None;
        }
    } else {
        return None;
    };
    // The fields after the user name are dovecot's: the last `rip=` is the client.
    let rip = memmem::rfind(m, b"rip=")?;
    let ip = parse_ip(word(&m[rip + 4..]))?;
    let mut e = ev(kind, (ip, None));
    if let Some(s) = memmem::find(&m[..rip], b"user=<") {
        let u = &m[s + 6..rip];
        if let Some(end) = memchr::memrchr(b'>', u) {
            e.user = &u[..end];
        }
        if let Some(mm) = memmem::rfind(&m[s..rip], b"method=") {
            e.method = word(&m[s + mm + 7..]);
        }
    }
    if kind == AuthKind::Failed {
        // `(auth failed, N attempts in S secs)`
        let k = memmem::find(m, b"(auth failed, ")? + 14;
        let n = m[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        e.attempts = std::str::from_utf8(&m[k..k + n])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1u32)
            .clamp(1, 1000);
    }
    Some(e)
}

/// The auth process: `driver(U,A[,<session>]): unknown user | Password mismatch | ...`.
fn dovecot_auth(m: &[u8]) -> Option<Message<'_>> {
    let open = memchr::memchr(b'(', m)?;
    let driver = &m[..open];
    if driver.is_empty()
        || !driver
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
    {
        return None;
    }
    let close = memmem::rfind(m, b"): ")?;
    if close < open {
        return None;
    }
    let reason = &m[close + 3..];
    let kind = if reason.starts_with(b"unknown user") {
        AuthKind::InvalidUser
    } else if reason.starts_with(b"Password mismatch")
        || reason.starts_with(b"pam_authenticate() failed")
    {
        AuthKind::Failed
    } else {
        return None;
    };
    let mut inside = &m[open + 1..close];
    if inside.ends_with(b">") {
        inside = &inside[..memmem::rfind(inside, b",<")?];
    }
    let comma = memchr::memrchr(b',', inside)?;
    let ip = parse_ip(&inside[comma + 1..])?;
    Some(ev(kind, (ip, None)).user(&inside[..comma]))
}

fn vsftpd(m: &[u8]) -> Option<Message<'_>> {
    let mut m = m;
    if let Some(r) = m.strip_prefix(b"[pid ") {
        m = r[memchr::memchr(b']', r)? + 1..].trim_ascii_start();
    }
    // `[U] FAIL LOGIN: Client "A"`: the last ` LOGIN: Client "` is vsftpd's.
    let k = memmem::rfind(m, b" LOGIN: Client \"")?;
    let (head, tail) = (&m[..k], &m[k + 16..]);
    let (kind, user) = if let Some(u) = head.strip_suffix(b"FAIL") {
        (AuthKind::Failed, u)
    } else if let Some(u) = head.strip_suffix(b"OK") {
        (AuthKind::Accepted, u)
    } else {
        return None;
    };
    let user = user.trim_ascii();
    let user = user
        .strip_prefix(b"[")
        .and_then(|u| u.strip_suffix(b"]"))
        .unwrap_or(user);
    let end = memchr::memchr(b'"', tail)?;
    let ip = parse_ip(&tail[..end])?;
    Some(ev(kind, (ip, None)).user(user))
}

fn proftpd(m: &[u8]) -> Option<Message<'_>> {
    // `server (host[A]) - ...`: host and address are proftpd's, the first `]) - ` ends them.
    let k = memmem::find(m, b"]) - ")?;
    let (source, _) = bracketed(&m[..k + 1])?;
    let rest = &m[k + 5..];
    let at = (source, None);
    if let Some(r) = rest.strip_prefix(b"USER ") {
        if let Some(u) = memmem::rfind(r, b" (Login failed): ") {
            return Some(ev(AuthKind::Failed, at).user(&r[..u]));
        }
        if let Some(u) = memmem::rfind(r, b": no such user found") {
            return Some(ev(AuthKind::InvalidUser, at).user(&r[..u]));
        }
        if let Some(u) = r.strip_suffix(b": Login successful.") {
            return Some(ev(AuthKind::Accepted, at).user(u));
        }
        return None;
    }
    if rest.starts_with(b"Maximum login attempts") {
        return Some(ev(AuthKind::MaxAttempts, at));
    }
    None
}

fn pureftpd(m: &[u8]) -> Option<Message<'_>> {
    // `(U@A) [LEVEL] text`; before a login U is `?`.
    let r = m.strip_prefix(b"(")?;
    let k = memmem::find(r, b") [")?;
    let who = &r[..k];
    let ip = parse_ip(&who[memchr::memrchr(b'@', who)? + 1..])?;
    let text = &r[k + 2..];
    if let Some(u) = text.strip_prefix(b"[WARNING] Authentication failed for user [") {
        return Some(ev(AuthKind::Failed, (ip, None)).user(u.strip_suffix(b"]").unwrap_or(u)));
    }
    if let Some(u) = text
        .strip_prefix(b"[INFO] ")
        .and_then(|t| t.strip_suffix(b" is now logged in"))
    {
        return Some(ev(AuthKind::Accepted, (ip, None)).user(u));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InputFormat, PrefixActions, SystemEvent, SystemParser};

    fn one(line: &str) -> Option<AuthEvent<'_>> {
        parse_login(line.as_bytes(), &SyslogContext::default()).unwrap()
    }

    /// (service, kind, source, user, attempts) of a line that must parse.
    fn shape(line: &str) -> (AuthService, AuthKind, String, String, u32) {
        let e = one(line).unwrap_or_else(|| panic!("not an event: {line}"));
        (
            e.service,
            e.kind,
            e.source.to_string(),
            String::from_utf8_lossy(&e.user).into_owned(),
            e.attempts,
        )
    }

    use AuthKind::*;
    use AuthService::*;

    fn s(
        svc: AuthService,
        kind: AuthKind,
        ip: &str,
        user: &str,
        n: u32,
    ) -> (AuthService, AuthKind, String, String, u32) {
        (svc, kind, ip.to_string(), user.to_string(), n)
    }

    #[test]
    fn postfix_messages() {
        let cases = [
            ("Nov 25 10:00:01 mx postfix/smtpd[123]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", s(Smtp, Failed, "203.0.113.5", "", 1)),
            ("Nov 25 10:00:01 mx postfix/submission/smtpd[9]: warning: mail.example[203.0.113.6]: SASL PLAIN authentication failed: ", s(Smtp, Failed, "203.0.113.6", "", 1)),
            ("Nov 25 10:00:01 mx postfix/smtps/smtpd[9]: warning: unknown[2001:db8::5]: SASL LOGIN authentication failed: (reason unavailable)", s(Smtp, Failed, "2001:db8::5", "", 1)),
            ("Nov 25 10:00:01 mx postfix/smtpd[9]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=admin@example.org", s(Smtp, Failed, "203.0.113.5", "admin@example.org", 1)),
            ("Nov 25 10:00:02 mx postfix/smtpd[123]: lost connection after AUTH from unknown[203.0.113.5]", s(Smtp, PreauthClose, "203.0.113.5", "", 1)),
            ("Nov 25 10:00:03 mx postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 <spam@example.net>: Relay access denied; from=<a@b.c> to=<spam@example.net> proto=ESMTP helo=<x>", s(Smtp, RelayDenied, "198.51.100.9", "", 1)),
            ("Nov 25 10:00:04 mx postfix/submission/smtpd[77]: 4Bc2Xx1234z: client=laptop.example[192.0.2.44], sasl_method=PLAIN, sasl_username=alice", s(Smtp, Accepted, "192.0.2.44", "alice", 1)),
            // smtpd_client_port_logging = yes
            ("Nov 25 10:00:01 mx postfix/smtpd[123]: warning: unknown[203.0.113.5]:54321: SASL LOGIN authentication failed: UGFzc3dvcmQ6", s(Smtp, Failed, "203.0.113.5", "", 1)),
            ("Nov 25 10:00:03 mx postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]:2525: 554 5.7.1 <s@x>: Relay access denied; from=<a@b.c>", s(Smtp, RelayDenied, "198.51.100.9", "", 1)),
            ("Nov 25 10:00:02 mx postfix/smtpd[123]: lost connection after AUTH from unknown[203.0.113.5]:54321", s(Smtp, PreauthClose, "203.0.113.5", "", 1)),
            // rsyslog's repeat compression.
            ("Nov 25 10:00:09 mx postfix/smtpd[123]: message repeated 3 times: [ warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6]", s(Smtp, Failed, "203.0.113.5", "", 1)),
        ];
        for (line, want) in cases.clone() {
            assert_eq!(shape(line), want, "{line}");
        }
        let e = one(cases[1].0).unwrap();
        assert_eq!(&*e.method, b"PLAIN");
        // Near misses: not login events.
        for l in [
            "Nov 25 10:00:05 mx postfix/smtpd[123]: warning: hostname mail.example does not resolve to address 203.0.113.5",
            "Nov 25 10:00:05 mx postfix/smtpd[123]: warning: hostname mail.example does not resolve to address 203.0.113.5: Name or service not known",
            "Nov 25 10:00:05 mx postfix/smtpd[123]: connect from unknown[203.0.113.5]",
            "Nov 25 10:00:05 mx postfix/smtpd[123]: lost connection after CONNECT from unknown[203.0.113.5]",
            "Nov 25 10:00:05 mx postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[203.0.113.5]: 450 4.1.8 <a@b>: Sender address rejected: Domain not found",
            "Nov 25 10:00:05 mx postfix/smtpd[123]: warning: SASL authentication failure: Password verification failed",
            "Nov 25 10:00:05 mx postfix/qmgr[5]: 4Bc2Xx1234z: from=<a@b.c>, size=1, nrcpt=1 (queue active)",
            "Nov 25 10:00:05 mx postfix/smtpd[5]: 4Bc2Xx1234z: client=unknown[203.0.113.5]",
        ] {
            assert_eq!(one(l), None, "{l}");
        }
        // A failure whose address is damaged is an error, not silence.
        let bad = b"Nov 25 10:00:01 mx postfix/smtpd[1]: warning: unknown[203.0.113.999]: SASL LOGIN authentication failed: x";
        assert_eq!(
            parse_login(bad, &SyslogContext::default())
                .unwrap_err()
                .kind,
            ParseErrorKind::BadAddress
        );
    }

    #[test]
    fn exim_messages() {
        let cases = [
            ("2026-11-25 10:00:01 dovecot_login authenticator failed for (helo) [203.0.113.5]:54321: 535 Incorrect authentication data (set_id=user)", s(Smtp, Failed, "203.0.113.5", "user", 1)),
            ("2026-11-25 10:00:01 +0100 [1234] login authenticator failed for mail.example ([192.0.2.1]) [203.0.113.7]:1025: 535 Incorrect authentication data (set_id=info@example.org)", s(Smtp, Failed, "203.0.113.7", "info@example.org", 1)),
            ("Nov 25 10:00:01 mx exim[77]: 2026-11-25 10:00:01 fixed_plain authenticator failed for (User) [2001:db8::7]: 535 Incorrect authentication data", s(Smtp, Failed, "2001:db8::7", "", 1)),
            // A crafted user name cannot name another address.
            ("2026-11-25 10:00:01 dovecot_login authenticator failed for (x) [203.0.113.8]:1: 535 Incorrect authentication data (set_id=a [192.0.2.1]:2)", s(Smtp, Failed, "203.0.113.8", "a [192.0.2.1]:2", 1)),
        ];
        for (line, want) in cases.clone() {
            assert_eq!(shape(line), want, "{line}");
        }
        let e = one(cases[0].0).unwrap();
        assert_eq!((&*e.method, e.port), (&b"dovecot_login"[..], Some(54321)));
        assert_eq!(e.time.to_string(), "2026-11-25T10:00:01Z");
        let e = one(cases[1].0).unwrap();
        assert_eq!(e.time.to_string(), "2026-11-25T10:00:01+01:00");
        for l in [
            "2026-11-25 10:00:05 1vAbcD-0001234-5x <= a@b.c H=(x) [203.0.113.5] P=esmtpa A=dovecot_login:alice S=1",
            "2026-11-25 10:00:05 SMTP connection from (x) [203.0.113.5]:1 lost",
        ] {
            assert_eq!(one(l), None, "{l}");
        }
    }

    #[test]
    fn dovecot_messages() {
        let cases = [
            ("Nov 25 10:00:01 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<info>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1, TLS, session=<abcDEF>", s(Imap, Failed, "203.0.113.5", "info", 1)),
            ("Nov 25 10:00:01 mx dovecot: pop3-login: Aborted login (auth failed, 3 attempts in 12 secs): user=<admin>, method=LOGIN, rip=203.0.113.6, lip=192.0.2.1, session=<x>", s(Imap, Failed, "203.0.113.6", "admin", 3)),
            ("Nov 25 10:00:01 mx dovecot: submission-login: Login aborted: Connection closed (auth failed, 3 attempts in 15 secs) (auth_failed): user=<x>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.1, TLS, session=<y>", s(Imap, Failed, "203.0.113.7", "x", 3)),
            ("Nov 25 10:00:01 mx dovecot: auth: passwd-file(user,203.0.113.5): unknown user", s(Imap, InvalidUser, "203.0.113.5", "user", 1)),
            ("Nov 25 10:00:01 mx dovecot: auth: passwd-file(bob,203.0.113.5,<Ab12>): Password mismatch", s(Imap, Failed, "203.0.113.5", "bob", 1)),
            ("Nov 25 10:00:01 mx dovecot: auth-worker(123): pam(user,203.0.113.5,<sess>): pam_authenticate() failed: Authentication failure (password mismatch?)", s(Imap, Failed, "203.0.113.5", "user", 1)),
            ("Nov 25 10:00:01 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.44, lip=192.0.2.1, mpid=4242, TLS, session=<z>", s(Imap, Accepted, "192.0.2.44", "alice", 1)),
            ("Nov 25 10:00:01 mx dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=198.51.100.3, lip=192.0.2.1, session=<q>", s(Imap, NoIdent, "198.51.100.3", "", 1)),
            // dovecot's own log file (log_path).
            ("Nov 25 10:00:01 imap-login: Info: Disconnected (auth failed, 2 attempts in 4 secs): user=<root>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, secured, session=<s>", s(Imap, Failed, "127.0.0.1", "root", 2)),
            ("Nov 25 10:00:01 auth: Info: passwd-file(nobody,127.0.0.2): unknown user", s(Imap, InvalidUser, "127.0.0.2", "nobody", 1)),
            // A crafted user name cannot name another address.
            ("Nov 25 10:00:01 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=192.0.2.9, x>, method=PLAIN, rip=203.0.113.10, lip=192.0.2.1, session=<s>", s(Imap, Failed, "203.0.113.10", "a>, method=PLAIN, rip=192.0.2.9, x", 1)),
        ];
        for (line, want) in cases.clone() {
            assert_eq!(shape(line), want, "{line}");
        }
        assert_eq!(&*one(cases[1].0).unwrap().method, b"LOGIN");
        assert_eq!(&*one(cases[8].0).unwrap().host, b"");
        for l in [
            "Nov 25 10:00:01 mx dovecot: imap(alice)<1><s>: Logged out in=1 out=2",
            "Nov 25 10:00:01 mx dovecot: imap-login: Disconnected: Too many invalid commands (no auth attempts in 0 secs): user=<>",
            "Nov 25 10:00:01 mx dovecot: master: Dovecot v2.3.19.1 starting up for imap",
            "Nov 25 10:00:01 mx dovecot: auth: Debug: client in: AUTH\t1\tPLAIN",
        ] {
            assert_eq!(one(l), None, "{l}");
        }
    }

    #[test]
    fn ftp_messages() {
        let cases = [
            ("Wed Nov 25 10:00:01 2026 [pid 1234] [alice] FAIL LOGIN: Client \"::ffff:203.0.113.5\"", s(Ftp, Failed, "203.0.113.5", "alice", 1)),
            ("Wed Nov  5 10:00:01 2026 [pid 1234] [alice] OK LOGIN: Client \"::ffff:192.0.2.44\"", s(Ftp, Accepted, "192.0.2.44", "alice", 1)),
            ("Nov 25 10:00:01 ftp vsftpd[1234]: [root] FAIL LOGIN: Client \"203.0.113.6\"", s(Ftp, Failed, "203.0.113.6", "root", 1)),
            ("Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (203.0.113.5[203.0.113.5]) - USER x (Login failed): Incorrect password", s(Ftp, Failed, "203.0.113.5", "x", 1)),
            ("Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (host.example[203.0.113.5]) - USER bad: no such user found from host.example [203.0.113.5] to 192.0.2.1:21", s(Ftp, InvalidUser, "203.0.113.5", "bad", 1)),
            ("Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (192.0.2.44[192.0.2.44]) - USER alice: Login successful.", s(Ftp, Accepted, "192.0.2.44", "alice", 1)),
            ("Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (203.0.113.5[203.0.113.5]) - Maximum login attempts (3) exceeded, connection refused", s(Ftp, MaxAttempts, "203.0.113.5", "", 1)),
            ("Nov 25 10:00:01 ftp pure-ftpd: (?@203.0.113.5) [WARNING] Authentication failed for user [x]", s(Ftp, Failed, "203.0.113.5", "x", 1)),
            ("Nov 25 10:00:01 ftp pure-ftpd: (?@192.0.2.44) [INFO] alice is now logged in", s(Ftp, Accepted, "192.0.2.44", "alice", 1)),
            // A crafted user name cannot name another address.
            ("Wed Nov 25 10:00:01 2026 [pid 1] [a] OK LOGIN: Client \"192.0.2.1\"] FAIL LOGIN: Client \"203.0.113.11\"", s(Ftp, Failed, "203.0.113.11", "a] OK LOGIN: Client \"192.0.2.1\"", 1)),
        ];
        for (line, want) in cases.clone() {
            assert_eq!(shape(line), want, "{line}");
        }
        assert_eq!(
            one(cases[0].0).unwrap().time.to_string(),
            "2026-11-25T10:00:01Z"
        );
        for l in [
            "Wed Nov 25 10:00:01 2026 [pid 1234] CONNECT: Client \"::ffff:203.0.113.5\"",
            "Wed Nov 25 10:00:01 2026 [pid 1234] [alice] OK UPLOAD: Client \"::ffff:192.0.2.44\", \"/a\", 1 bytes",
            "Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (203.0.113.5[203.0.113.5]) - FTP session opened.",
            "Nov 25 10:00:01 ftp pure-ftpd: (?@203.0.113.5) [INFO] New connection from 203.0.113.5",
        ] {
            assert_eq!(one(l), None, "{l}");
        }
    }

    #[test]
    fn journal_lines_own_their_fields() {
        let j = br#"{"__REALTIME_TIMESTAMP":"1764064801000000","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":"imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<info>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1"}"#;
        let e = parse_login(j, &SyslogContext::default()).unwrap().unwrap();
        assert_eq!((e.service, e.kind, &*e.user), (Imap, Failed, &b"info"[..]));
    }

    #[test]
    fn system_parser_reads_them_only_as_syslog() {
        let p = SystemParser {
            format: InputFormat::Syslog,
            ctx: SyslogContext::default(),
            actions: PrefixActions::default(),
        };
        let l: &[u8] = b"Nov 25 10:00:01 mx dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=192.0.2.4, lip=192.0.2.1";
        assert!(matches!(p.parse(l), Ok(Some(SystemEvent::Auth(e))) if e.service == Imap));
        let sshd = SystemParser {
            format: InputFormat::Sshd,
            ..p
        };
        assert_eq!(sshd.parse(l), Ok(None));
    }
}
