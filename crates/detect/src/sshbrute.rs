//! Login brute-force detection per source, from [`AuthEvent`]s: sshd's, and with one
//! detector per service, SMTP AUTH, IMAP/POP3 and FTP servers' (the messages map onto
//! the same kinds: failed login, unknown user, success, connection closed before
//! authentication, recon such as refused relaying).
//!
//! Per source: a decaying count of failed authentications (each failure adds one, the
//! count decays with time constant `window_secs`), the distinct user names tried, the
//! invalid users, and a decaying count of connections closed before authentication
//! (preauth floods: scripts that connect, try one thing and leave). Brute force is
//! detected when any of these crosses its threshold; `maximum authentication attempts
//! exceeded` counts as `max_attempts_weight` failures. Connections that never try a
//! login (no identification string, banner, key exchange and negotiation failures) are
//! banner grabbing: counted as recon, never brute force on their own.
//!
//! Memory is bounded: at most `max_sources` sources (the least recently seen of a sample
//! is evicted, counted), and per source at most [`MAX_USERS`] distinct names are
//! remembered (as hashes; ten are kept as text).

use scantriage_core::{escape_for_display, AuthEvent, AuthKind, SshSummary, Timestamp};
use std::collections::HashMap;
use std::net::IpAddr;

/// Distinct user names remembered per source.
pub const MAX_USERS: usize = 256;
/// User names kept as text per source.
const USERS_SHOWN: usize = 10;

/// Thresholds of the SSH brute-force detector.
#[derive(Debug, Clone, PartialEq)]
pub struct SshConfig {
    /// Decaying failures that make brute force.
    pub failures: f64,
    /// Distinct user names (with at least as many failures) that make brute force.
    pub users: u64,
    /// Decaying preauth closes that make a flood.
    pub preauth: f64,
    /// Time constant of the decaying counts, in seconds.
    pub window_secs: u64,
    /// Failures a `maximum authentication attempts exceeded` counts for.
    pub max_attempts_weight: f64,
    /// Sources tracked at most.
    pub max_sources: usize,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            failures: 10.0,
            users: 5,
            preauth: 20.0,
            window_secs: 3600,
            max_attempts_weight: 3.0,
            max_sources: 100_000,
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    summary: SshSummary,
    fail_score: f64,
    preauth_score: f64,
    last_ms: i64,
    user_hashes: Vec<u64>,
    events: u64,
}

/// The brute-force detector. Feed it sshd events in time order.
#[derive(Debug, Clone)]
pub struct SshDetector {
    cfg: SshConfig,
    sources: HashMap<IpAddr, State, foldhash::fast::RandomState>,
    /// Sources evicted to bound memory.
    pub evicted: u64,
}

fn hash(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl SshDetector {
    /// A detector with these thresholds.
    pub fn new(cfg: SshConfig) -> SshDetector {
        SshDetector {
            cfg,
            sources: HashMap::default(),
            evicted: 0,
        }
    }

    /// Takes one event; returns true when it made its source a brute forcer.
    pub fn observe(&mut self, e: &AuthEvent<'_>) -> bool {
        if !self.sources.contains_key(&e.source) && self.sources.len() >= self.cfg.max_sources {
            let victim = self
                .sources
                .iter()
                .filter(|(_, s)| s.summary.brute_force.is_none())
                .take(8)
                .min_by_key(|(_, s)| s.last_ms)
                .map(|(ip, _)| *ip)
                .or_else(|| self.sources.keys().next().copied());
            if let Some(ip) = victim {
                self.sources.remove(&ip);
                self.evicted += 1;
            }
        }
        let cfg = &self.cfg;
        let st = self.sources.entry(e.source).or_insert_with(|| State {
            summary: SshSummary {
                first_seen: e.time,
                last_seen: e.time,
                ..SshSummary::default()
            },
            fail_score: 0.0,
            preauth_score: 0.0,
            last_ms: e.time.unix_ms,
            user_hashes: Vec::new(),
            events: 0,
        });
        let dt = (e.time.unix_ms - st.last_ms).max(0) as f64 / 1000.0;
        let decay = (-dt / cfg.window_secs.max(1) as f64).exp();
        st.fail_score *= decay;
        st.preauth_score *= decay;
        st.last_ms = st.last_ms.max(e.time.unix_ms);
        st.events += 1;
        let s = &mut st.summary;
        s.first_seen = s.first_seen.min(e.time);
        s.last_seen = s.last_seen.max(e.time);
        let name = || escape_for_display(&e.user, 64);
        let mut tried_user = false;
        match e.kind {
            AuthKind::Failed => {
                let n = e.attempts.max(1);
                s.failures += u64::from(n);
                st.fail_score += f64::from(n);
                tried_user = true;
            }
            AuthKind::InvalidUser => {
                s.invalid_users += 1;
                tried_user = true;
            }
            AuthKind::MaxAttempts => {
                s.max_attempts += 1;
                st.fail_score += cfg.max_attempts_weight;
                tried_user = true;
            }
            AuthKind::Accepted => {
                s.accepted += 1;
                let n = name();
                if s.accepted_users.len() < USERS_SHOWN && !s.accepted_users.contains(&n) {
                    s.accepted_users.push(n);
                }
            }
            AuthKind::PreauthClose => {
                s.preauth_closes += 1;
                st.preauth_score += 1.0;
            }
            AuthKind::NoIdent
            | AuthKind::BannerError
            | AuthKind::KexError
            | AuthKind::NoMatchingAlgo
            | AuthKind::RelayDenied => s.recon += 1,
        }
        if tried_user && !e.user.is_empty() {
            let h = hash(&e.user);
            if !st.user_hashes.contains(&h) && st.user_hashes.len() < MAX_USERS {
                st.user_hashes.push(h);
                s.distinct_users = st.user_hashes.len() as u64;
                if s.users.len() < USERS_SHOWN {
                    s.users.push(name());
                }
            }
        }
        if s.brute_force.is_some() {
            return false;
        }
        let w = cfg.window_secs;
        let why = if st.fail_score >= cfg.failures {
            Some(format!(
                "{} failed logins (decaying over {w}s; threshold {})",
                s.failures, cfg.failures
            ))
        } else if s.distinct_users >= cfg.users.max(1) && s.failures + s.invalid_users >= cfg.users
        {
            Some(format!(
                "{} distinct user names tried (threshold {})",
                s.distinct_users, cfg.users
            ))
        } else if st.preauth_score >= cfg.preauth {
            Some(format!(
                "{} connections closed before authentication (decaying over {w}s; threshold {})",
                s.preauth_closes, cfg.preauth
            ))
        } else {
            None
        };
        let Some(why) = why else { return false };
        s.brute_force = Some(why);
        s.detected_at = Some(e.time);
        s.events_before_detection = Some(st.events);
        true
    }

    /// What a source did, if it appeared in sshd logs.
    pub fn summary(&self, ip: IpAddr) -> Option<&SshSummary> {
        self.sources.get(&ip).map(|s| &s.summary)
    }

    /// Every source seen, sorted by address.
    pub fn summaries(&self) -> Vec<(IpAddr, &SshSummary)> {
        let mut v: Vec<(IpAddr, &SshSummary)> = self
            .sources
            .iter()
            .map(|(ip, s)| (*ip, &s.summary))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Time of the latest event seen from a source.
    pub fn last_seen(&self, ip: IpAddr) -> Option<Timestamp> {
        self.sources.get(&ip).map(|s| s.summary.last_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn ev(src: &str, kind: AuthKind, user: &str, t_secs: i64) -> AuthEvent<'static> {
        AuthEvent {
            time: Timestamp::from_unix_secs(t_secs),
            service: scantriage_core::AuthService::Ssh,
            attempts: 1,
            source: src.parse().unwrap(),
            port: Some(1),
            kind,
            user: Cow::Owned(user.as_bytes().to_vec()),
            invalid_user: false,
            method: Cow::Borrowed(b"password"),
            host: Cow::Borrowed(b""),
        }
    }

    #[test]
    fn failures_decay_and_make_brute_force() {
        let mut d = SshDetector::new(SshConfig::default());
        let mut fired = None;
        for i in 0..30 {
            if d.observe(&ev("203.0.113.7", AuthKind::Failed, "root", i * 2)) && fired.is_none() {
                fired = Some(i + 1);
            }
        }
        // Ten failures 2 s apart have decayed a little: the eleventh crosses.
        assert_eq!(fired, Some(11));
        let s = d.summary("203.0.113.7".parse().unwrap()).unwrap();
        assert_eq!((s.failures, s.distinct_users), (30, 1));
        assert_eq!(s.events_before_detection, Some(11));
        // One failure a day never adds up.
        let mut d = SshDetector::new(SshConfig::default());
        for i in 0..50 {
            assert!(!d.observe(&ev("198.51.100.1", AuthKind::Failed, "alice", i * 86_400)));
        }
    }

    #[test]
    fn distinct_users_preauth_floods_and_recon() {
        let mut d = SshDetector::new(SshConfig::default());
        for (i, u) in ["admin", "oracle", "test", "ubuntu", "pi"]
            .iter()
            .enumerate()
        {
            d.observe(&ev("203.0.113.8", AuthKind::InvalidUser, u, i as i64));
        }
        let s = d.summary("203.0.113.8".parse().unwrap()).unwrap();
        assert!(s
            .brute_force
            .as_deref()
            .unwrap()
            .contains("5 distinct user names"));
        assert_eq!(s.users.len(), 5);
        for i in 0..25 {
            d.observe(&ev("203.0.113.9", AuthKind::PreauthClose, "", i));
        }
        let s = d.summary("203.0.113.9".parse().unwrap()).unwrap();
        assert!(s
            .brute_force
            .as_deref()
            .unwrap()
            .contains("closed before authentication"));
        for i in 0..100 {
            assert!(!d.observe(&ev("198.51.100.50", AuthKind::NoIdent, "", i)));
        }
        let s = d.summary("198.51.100.50".parse().unwrap()).unwrap();
        assert_eq!((s.recon, s.brute_force.is_none()), (100, true));
    }

    #[test]
    fn a_user_who_mistypes_then_logs_in_is_not_brute_force() {
        let mut d = SshDetector::new(SshConfig::default());
        for i in 0..3 {
            d.observe(&ev("192.0.2.10", AuthKind::Failed, "alice", i));
        }
        d.observe(&ev("192.0.2.10", AuthKind::Accepted, "alice", 5));
        let s = d.summary("192.0.2.10".parse().unwrap()).unwrap();
        assert_eq!(
            (s.failures, s.accepted, s.brute_force.is_none()),
            (3, 1, true)
        );
        assert_eq!(s.accepted_users, vec!["alice".to_string()]);
    }

    #[test]
    fn a_message_for_several_attempts_counts_them_all() {
        let mut d = SshDetector::new(SshConfig::default());
        let mut e = ev("203.0.113.20", AuthKind::Failed, "info", 0);
        e.attempts = 3;
        assert!(!d.observe(&e));
        assert!(!d.observe(&ev("203.0.113.20", AuthKind::RelayDenied, "", 1)));
        let s = d.summary("203.0.113.20".parse().unwrap()).unwrap();
        assert_eq!((s.failures, s.recon), (3, 1));
        e.time = Timestamp::from_unix_secs(2);
        d.observe(&e);
        e.time = Timestamp::from_unix_secs(3);
        d.observe(&e);
        assert!(d.observe(&e), "12 attempts cross the threshold of 10");
    }

    #[test]
    fn memory_is_bounded() {
        let mut d = SshDetector::new(SshConfig {
            max_sources: 50,
            ..SshConfig::default()
        });
        for i in 0..500u32 {
            let src = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            d.observe(&ev(&src, AuthKind::Failed, &format!("u{i}"), i64::from(i)));
        }
        assert!(d.summaries().len() <= 50);
        assert_eq!(d.evicted, 450);
        for i in 0..1000 {
            d.observe(&ev(
                "10.9.9.9",
                AuthKind::InvalidUser,
                &format!("user{i}"),
                1000,
            ));
        }
        let s = d.summary("10.9.9.9".parse().unwrap()).unwrap();
        assert_eq!((s.distinct_users, s.users.len()), (MAX_USERS as u64, 10));
    }
}
