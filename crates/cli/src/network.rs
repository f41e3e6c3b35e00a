//! The network view in `analyze`: the `[network]` configuration section, and reading
//! system logs (sshd, netfilter, mail and FTP servers) and packet captures into the
//! port-scan and login brute-force detectors (one per service: SSH, SMTP AUTH,
//! IMAP/POP3, FTP).

use scantriage_core::{AuthService, FirewallAction, LoginSummary, Timestamp};
use scantriage_detect::{PortScanConfig, PortScanDetector, SshConfig, SshDetector};
use scantriage_ingest::{
    ChunkReader, InputFormat, PrefixActions, SyslogContext, SystemEvent, SystemParser,
};
use scantriage_report::InputStats;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use toml::Spanned;

/// `[network]`: netfilter prefixes, syslog dating, port-scan and SSH thresholds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Netfilter log prefix → `dropped` or `accepted` (longest matching prefix wins).
    pub prefixes: BTreeMap<String, Spanned<String>>,
    /// UTC offset of traditional syslog timestamps (`+01:00`; default `+00:00`).
    pub syslog_utc_offset: Spanned<String>,
    /// Decaying distinct (host, port) count that makes a port scan.
    pub scan_distinct: f64,
    /// Decay time constant of that count (slow scans: hours).
    pub scan_decay: Spanned<String>,
    /// TRW: probability that a benign source's first attempt succeeds.
    pub trw_theta0: f64,
    /// TRW: probability that a scanner's first attempt succeeds.
    pub trw_theta1: f64,
    /// TRW: false-positive bound.
    pub trw_alpha: f64,
    /// TRW: detection probability.
    pub trw_beta: f64,
    /// Decaying failed SSH logins that make brute force.
    pub ssh_failures: f64,
    /// Distinct SSH user names that make brute force.
    pub ssh_users: u64,
    /// Decaying connections closed before authentication that make a flood.
    pub ssh_preauth: f64,
    /// Decay time constant of the SSH counts.
    pub ssh_window: Spanned<String>,
    /// Decaying failed logins that make brute force against SMTP AUTH, IMAP/POP3 or FTP
    /// (each service counted apart).
    pub login_failures: f64,
    /// Distinct user names tried against one of those services that make brute force.
    pub login_users: u64,
    /// Decaying connections closed during authentication that make a flood (postfix's
    /// `lost connection after AUTH`).
    pub login_preauth: f64,
    /// Decay time constant of the mail and FTP counts.
    pub login_window: Spanned<String>,
    /// Sources each detector tracks at most (bounds memory).
    pub max_sources: usize,
}

fn spanned(s: &str) -> Spanned<String> {
    Spanned::new(0..0, s.to_string())
}

impl Default for NetworkSection {
    fn default() -> Self {
        let p = PortScanConfig::default();
        let s = SshConfig::default();
        NetworkSection {
            prefixes: BTreeMap::new(),
            syslog_utc_offset: spanned("+00:00"),
            scan_distinct: p.distinct_threshold,
            scan_decay: spanned("6h"),
            trw_theta0: p.theta0,
            trw_theta1: p.theta1,
            trw_alpha: p.alpha,
            trw_beta: p.beta,
            ssh_failures: s.failures,
            ssh_users: s.users,
            ssh_preauth: s.preauth,
            ssh_window: spanned("1h"),
            login_failures: s.failures,
            login_users: s.users,
            login_preauth: s.preauth,
            login_window: spanned("1h"),
            max_sources: p.max_sources,
        }
    }
}

/// The validated `[network]` section.
#[derive(Debug, Clone, Default)]
pub struct NetworkConfig {
    /// Netfilter prefixes to actions.
    pub actions: PrefixActions,
    /// Offset of traditional syslog timestamps, in minutes.
    pub syslog_offset_min: i16,
    /// Port-scan thresholds.
    pub scan: PortScanConfig,
    /// SSH thresholds.
    pub ssh: SshConfig,
    /// Thresholds of the other login services (SMTP AUTH, IMAP/POP3, FTP).
    pub login: SshConfig,
}

/// Parses `+HH:MM`, `-HHMM` or `Z` into minutes.
fn offset_minutes(s: &str) -> Option<i16> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i16 = digits[..2].parse().ok()?;
    let m: i16 = digits[2..].parse().ok()?;
    (h <= 18 && m < 60).then_some(sign * (h * 60 + m))
}

/// Validates the section, reporting each problem through `err` with its span.
pub fn validate(
    n: &NetworkSection,
    err: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> NetworkConfig {
    let mut map = Vec::new();
    for (prefix, action) in &n.prefixes {
        let a = match action.get_ref().as_str() {
            "dropped" | "drop" => FirewallAction::Dropped,
            "accepted" | "accept" => FirewallAction::Accepted,
            other => {
                err(
                    action.span(),
                    format!(
                        "network.prefixes: `{other}` for `{prefix}`: expected dropped or accepted"
                    ),
                );
                continue;
            }
        };
        map.push((prefix.clone(), a));
    }
    map.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let syslog_offset_min = offset_minutes(n.syslog_utc_offset.get_ref()).unwrap_or_else(|| {
        err(
            n.syslog_utc_offset.span(),
            format!(
                "network.syslog_utc_offset: `{}` is not an offset; write e.g. +01:00, -05:00, Z",
                n.syslog_utc_offset.get_ref()
            ),
        );
        0
    });
    let mut secs = |s: &Spanned<String>, what: &str| -> u64 {
        match humantime::parse_duration(s.get_ref()) {
            Ok(d) if d.as_secs() > 0 => d.as_secs(),
            _ => {
                err(
                    s.span(),
                    format!(
                        "network.{what}: `{}` is not a positive duration; write e.g. 1h, 6h",
                        s.get_ref()
                    ),
                );
                1
            }
        }
    };
    let decay_secs = secs(&n.scan_decay, "scan_decay");
    let window_secs = secs(&n.ssh_window, "ssh_window");
    let login_window_secs = secs(&n.login_window, "login_window");
    let prob = [
        ("trw_theta0", n.trw_theta0),
        ("trw_theta1", n.trw_theta1),
        ("trw_alpha", n.trw_alpha),
        ("trw_beta", n.trw_beta),
    ];
    for (what, v) in prob {
        if !(v > 0.0 && v < 1.0) {
            err(
                0..0,
                format!("network.{what}: {v} must be strictly between 0 and 1"),
            );
        }
    }
    if n.trw_theta1 >= n.trw_theta0 || n.trw_alpha >= n.trw_beta {
        err(
            0..0,
            "network: TRW needs trw_theta1 < trw_theta0 and trw_alpha < trw_beta".into(),
        );
    }
    if n.scan_distinct < 1.0 || n.ssh_failures < 1.0 || n.ssh_preauth < 1.0 || n.max_sources == 0 {
        err(
            0..0,
            "network: scan_distinct, ssh_failures, ssh_preauth and max_sources must be at least 1"
                .into(),
        );
    }
    if n.login_failures < 1.0 || n.login_preauth < 1.0 || n.login_users == 0 {
        err(
            0..0,
            "network: login_failures, login_users and login_preauth must be at least 1".into(),
        );
    }
    NetworkConfig {
        actions: PrefixActions { map },
        syslog_offset_min,
        scan: PortScanConfig {
            theta0: n.trw_theta0,
            theta1: n.trw_theta1,
            alpha: n.trw_alpha,
            beta: n.trw_beta,
            distinct_threshold: n.scan_distinct,
            decay_secs,
            max_sources: n.max_sources.max(1),
            ignore_accepted: false,
        },
        ssh: SshConfig {
            failures: n.ssh_failures,
            users: n.ssh_users,
            preauth: n.ssh_preauth,
            window_secs,
            max_sources: n.max_sources.max(1),
            ..SshConfig::default()
        },
        login: SshConfig {
            failures: n.login_failures,
            users: n.login_users,
            preauth: n.login_preauth,
            window_secs: login_window_secs,
            max_sources: n.max_sources.max(1),
            ..SshConfig::default()
        },
    }
}

/// The detectors of one run, and what they were fed.
#[derive(Debug)]
pub struct NetDetectors {
    /// Port scans.
    pub scans: PortScanDetector,
    /// SSH brute force.
    pub ssh: SshDetector,
    /// Brute force against the other login services, one detector per service seen.
    pub logins: BTreeMap<AuthService, SshDetector>,
    /// Thresholds of those detectors.
    login_cfg: SshConfig,
    /// Packet events read.
    pub packets: u64,
    /// Login events read (sshd, mail and FTP servers).
    pub auth: u64,
}

impl NetDetectors {
    /// Detectors with the configured thresholds.
    pub fn new(cfg: &NetworkConfig) -> NetDetectors {
        NetDetectors {
            scans: PortScanDetector::new(cfg.scan.clone()),
            ssh: SshDetector::new(cfg.ssh.clone()),
            logins: BTreeMap::new(),
            login_cfg: cfg.login.clone(),
            packets: 0,
            auth: 0,
        }
    }

    /// Feeds one login event to its service's detector.
    pub fn observe_auth(&mut self, e: &scantriage_core::AuthEvent<'_>) {
        self.auth += 1;
        if e.service == AuthService::Ssh {
            self.ssh.observe(e);
            return;
        }
        let cfg = &self.login_cfg;
        self.logins
            .entry(e.service)
            .or_insert_with(|| SshDetector::new(cfg.clone()))
            .observe(e);
    }

    /// What a source did against the login services other than SSH, per service.
    pub fn login_summaries(&self, ip: IpAddr) -> Vec<LoginSummary> {
        self.logins
            .iter()
            .filter_map(|(service, d)| {
                Some(LoginSummary {
                    service: *service,
                    summary: d.summary(ip)?.clone(),
                })
            })
            .collect()
    }
}

/// One network event's source and time with its input line, for the source profiles.
pub type Seen = (IpAddr, Timestamp, u64);

/// Reads a system log (sshd, netfilter, mail and FTP lines) to its end from `cr`, starting with
/// `first`, feeding the detectors and calling `seen` per event. Returns the last offset.
#[allow(clippy::too_many_arguments)]
pub fn read_system<R: Read>(
    format: InputFormat,
    cfg: &NetworkConfig,
    reference: Timestamp,
    first: scantriage_ingest::Chunk,
    cr: &mut ChunkReader<R>,
    st: &mut InputStats,
    det: &mut NetDetectors,
    mut seen: impl FnMut(Seen),
) -> u64 {
    let parser = SystemParser {
        format,
        ctx: SyslogContext::new(reference, cfg.syslog_offset_min),
        actions: cfg.actions.clone(),
    };
    let mut chunk = Some(first);
    let mut end = 0;
    while let Some(c) = chunk.take() {
        end = c.end_offset;
        for line in c.lines() {
            st.lines += 1;
            st.long_lines += u64::from(line.truncated);
            if line.bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            match parser.parse(line.bytes) {
                Ok(Some(SystemEvent::Auth(a))) => {
                    det.observe_auth(&a);
                    seen((a.source, a.time, line.number));
                }
                Ok(Some(SystemEvent::Packet(p))) => {
                    det.packets += 1;
                    det.scans.observe(&p);
                    seen((p.source, p.time, line.number));
                }
                Ok(None) => {}
                Err(e) => {
                    st.parse_errors += 1;
                    if st.first_errors.len() < crate::analyze::SHOWN_ERRORS {
                        st.first_errors.push(format!(
                            "{}: {e}: {}",
                            line.number,
                            scantriage_core::escape_for_display(line.bytes, 120)
                        ));
                    }
                }
            }
        }
        match cr.next_chunk() {
            Ok(c) => chunk = c,
            Err(e) => st.read_error = Some(e.to_string()),
        }
    }
    end
}

/// Reads a capture from `input`, feeding the port-scan detector; `seen` gets each
/// connection attempt with its number (1-based) in place of a line. Returns the HTTP
/// requests the capture carries, in time order.
pub fn read_pcap<R: Read + Send>(
    input: R,
    st: &mut InputStats,
    det: &mut NetDetectors,
    mut seen: impl FnMut(Seen),
) -> Vec<scantriage_ingest::pcap_http::HttpRecord> {
    let mut http = scantriage_ingest::pcap_http::HttpExtractor::default();
    let mut n = 0u64;
    let mut sink = |p: scantriage_core::PacketEvent| {
        n += 1;
        det.packets += 1;
        det.scans.observe(&p);
        seen((p.source, p.time, n));
    };
    let stats = match scantriage_ingest::pcap::read_capture_with(input, &mut sink, Some(&mut http))
    {
        Ok(s) => s,
        Err((e, s)) => {
            st.read_error = Some(format!("{}: {e}", st.name));
            s
        }
    };
    // `lines` counts packets; packets that are not IP with TCP, UDP or ICMP (ARP, ...)
    // are ordinary traffic to ignore, not errors.
    st.lines = stats.packets;
    if http.dropped > 0 && st.first_errors.len() < crate::analyze::SHOWN_ERRORS {
        st.first_errors.push(format!(
            "{} HTTP requests beyond the first {} were not analysed",
            http.dropped,
            scantriage_ingest::pcap_http::MAX_RECORDS
        ));
    }
    http.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(offset_minutes("+01:00"), Some(60));
        assert_eq!(offset_minutes("-0530"), Some(-330));
        assert_eq!(offset_minutes("Z"), Some(0));
        assert_eq!(offset_minutes("1h"), None);
    }

    #[test]
    fn section_validates() {
        let mut errors = Vec::new();
        let mut s = NetworkSection::default();
        s.prefixes.insert("inbound".into(), spanned("accepted"));
        s.prefixes.insert("in".into(), spanned("dropped"));
        let c = validate(&s, &mut |_, m| errors.push(m));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.actions.map[0].0, "inbound");
        assert_eq!(c.actions.action(b"inbound: "), FirewallAction::Accepted);
        assert_eq!(c.scan.decay_secs, 6 * 3600);
        s.prefixes.insert("x".into(), spanned("maybe"));
        s.trw_alpha = 2.0;
        s.ssh_window = spanned("soon");
        validate(&s, &mut |_, m| errors.push(m));
        assert_eq!(errors.len(), 4, "{errors:?}");
    }

    #[test]
    fn login_services_get_their_own_detectors_and_thresholds() {
        let mut s = NetworkSection {
            login_failures: 3.0,
            login_window: spanned("10m"),
            ..NetworkSection::default()
        };
        let mut errors = Vec::new();
        let c = validate(&s, &mut |_, m| errors.push(m));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((c.login.failures, c.login.window_secs), (3.0, 600));
        assert_eq!(c.ssh.failures, SshConfig::default().failures);
        let mut det = NetDetectors::new(&c);
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let services = [
            AuthService::Smtp,
            AuthService::Smtp,
            AuthService::Smtp,
            AuthService::Ftp,
            AuthService::Ssh,
        ];
        for service in services {
            det.observe_auth(&scantriage_core::AuthEvent {
                time: Timestamp::from_unix_secs(1_764_064_801),
                service,
                attempts: 1,
                source: ip,
                port: None,
                kind: scantriage_core::AuthKind::Failed,
                user: std::borrow::Cow::Borrowed(b"admin"),
                invalid_user: false,
                method: std::borrow::Cow::Borrowed(b""),
                host: std::borrow::Cow::Borrowed(b""),
            });
        }
        assert_eq!(det.auth, 5);
        let v = det.login_summaries(ip);
        let got: Vec<(AuthService, u64, bool)> = v
            .iter()
            .map(|l| {
                (
                    l.service,
                    l.summary.failures,
                    l.summary.brute_force.is_some(),
                )
            })
            .collect();
        // Three SMTP failures cross the lowered threshold; FTP's one does not; SSH is apart.
        assert_eq!(
            got,
            [(AuthService::Smtp, 3, true), (AuthService::Ftp, 1, false)]
        );
        assert_eq!(det.ssh.summary(ip).unwrap().failures, 1);
        assert!(det.login_summaries("192.0.2.1".parse().unwrap()).is_empty());
        s.login_users = 0;
        s.login_window = spanned("soon");
        validate(&s, &mut |_, m| errors.push(m));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("login_window")));
    }

    #[test]
    fn config_file_section_with_lines() {
        let c = crate::config::parse(
            "[network]\nprefixes = { inbound = \"accepted\" }\nsyslog_utc_offset = \"+01:00\"\n[policy]\nblock_portscan = \"2d\"\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.network.syslog_offset_min, 60);
        assert_eq!(c.policy.block_portscan_secs, 2 * 86_400);
        assert_eq!(
            c.network.actions.action(b"inbound:"),
            FirewallAction::Accepted
        );
        let errs =
            crate::config::parse("[network]\n\nssh_window = \"soon\"\n", "c.toml").unwrap_err();
        assert_eq!(errs[0].line, 3, "{errs:?}");
        assert!(crate::config::parse("[network]\nbogus = 1\n", "c.toml").is_err());
    }
}
