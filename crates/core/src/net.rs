//! Network-view events: SSH authentication messages and packets (from firewall logs
//! and packet captures). Plain types; the parsers live in `scantriage-ingest`, the
//! detectors in `scantriage-detect`.

use crate::Timestamp;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// What one sshd message says about a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthKind {
    /// `Failed password|publickey|... for [invalid user] U from A port P`.
    Failed,
    /// `Invalid user U from A port P` (the name does not exist here).
    InvalidUser,
    /// `Accepted password|publickey for U from A port P`.
    Accepted,
    /// `Connection closed|reset by [authenticating|invalid] user U A port P [preauth]`,
    /// `Disconnected from ... [preauth]`, `Received disconnect from A ... [preauth]`.
    PreauthClose,
    /// `error: maximum authentication attempts exceeded for U from A`.
    MaxAttempts,
    /// `Did not receive identification string from A` (a bare TCP connect: banner grab).
    NoIdent,
    /// `banner exchange: Connection from A port P: invalid format` and similar.
    BannerError,
    /// `kex_exchange_identification`, `ssh_dispatch_run_fatal ... from A`: a key
    /// exchange that failed.
    KexError,
    /// `Unable to negotiate with A port P: no matching ...`.
    NoMatchingAlgo,
    /// Mail relaying refused (postfix `Relay access denied`): probing for an open relay,
    /// recon rather than a login attempt.
    RelayDenied,
}

impl AuthKind {
    /// Every kind, in declaration order.
    pub const ALL: [AuthKind; 10] = [
        AuthKind::Failed,
        AuthKind::InvalidUser,
        AuthKind::Accepted,
        AuthKind::PreauthClose,
        AuthKind::MaxAttempts,
        AuthKind::NoIdent,
        AuthKind::BannerError,
        AuthKind::KexError,
        AuthKind::NoMatchingAlgo,
        AuthKind::RelayDenied,
    ];

    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Failed => "failed",
            AuthKind::InvalidUser => "invalid-user",
            AuthKind::Accepted => "accepted",
            AuthKind::PreauthClose => "preauth-close",
            AuthKind::MaxAttempts => "max-attempts",
            AuthKind::NoIdent => "no-ident",
            AuthKind::BannerError => "banner-error",
            AuthKind::KexError => "kex-error",
            AuthKind::NoMatchingAlgo => "no-matching-algo",
            AuthKind::RelayDenied => "relay-denied",
        }
    }

    /// True for messages that show a connection without a login attempt (recon).
    pub fn is_recon(self) -> bool {
        matches!(
            self,
            AuthKind::NoIdent
                | AuthKind::BannerError
                | AuthKind::KexError
                | AuthKind::NoMatchingAlgo
                | AuthKind::RelayDenied
        )
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The login service an authentication message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthService {
    /// OpenSSH.
    #[default]
    Ssh,
    /// SMTP AUTH and relaying (postfix smtpd, exim).
    Smtp,
    /// IMAP, POP3 and submission logins through dovecot.
    Imap,
    /// FTP (vsftpd, proftpd, pure-ftpd).
    Ftp,
}

impl AuthService {
    /// Every service, in declaration order.
    pub const ALL: [AuthService; 4] = [
        AuthService::Ssh,
        AuthService::Smtp,
        AuthService::Imap,
        AuthService::Ftp,
    ];

    /// The word used in JSON (`ssh`, `smtp`, `imap`, `ftp`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthService::Ssh => "ssh",
            AuthService::Smtp => "smtp",
            AuthService::Imap => "imap",
            AuthService::Ftp => "ftp",
        }
    }

    /// The name used in reasons and reports (`SSH`, `SMTP AUTH`, `IMAP/POP3`, `FTP`).
    pub fn label(self) -> &'static str {
        match self {
            AuthService::Ssh => "SSH",
            AuthService::Smtp => "SMTP AUTH",
            AuthService::Imap => "IMAP/POP3",
            AuthService::Ftp => "FTP",
        }
    }
}

impl fmt::Display for AuthService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One authentication message about a client (sshd, mail or FTP server), borrowing from
/// the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent<'a> {
    /// When the server logged it.
    pub time: Timestamp,
    /// The service the message is about.
    pub service: AuthService,
    /// Failed attempts a `Failed` message stands for: 1, or dovecot's `N attempts`.
    pub attempts: u32,
    /// The client address.
    pub source: IpAddr,
    /// The client port, when logged.
    pub port: Option<u16>,
    /// What happened.
    pub kind: AuthKind,
    /// The user name tried (empty when not logged). Attacker-controlled bytes.
    pub user: Cow<'a, [u8]>,
    /// The user name does not exist on this host (`invalid user`).
    pub invalid_user: bool,
    /// The authentication method (`password`, `publickey`, ...), empty when not logged.
    pub method: Cow<'a, [u8]>,
    /// The host name from the syslog prefix, empty when not logged.
    pub host: Cow<'a, [u8]>,
}

impl AuthEvent<'_> {
    /// Converts into an owned event that no longer borrows the input.
    pub fn into_owned(self) -> AuthEvent<'static> {
        AuthEvent {
            time: self.time,
            service: self.service,
            attempts: self.attempts,
            source: self.source,
            port: self.port,
            kind: self.kind,
            user: Cow::Owned(self.user.into_owned()),
            invalid_user: self.invalid_user,
            method: Cow::Owned(self.method.into_owned()),
            host: Cow::Owned(self.host.into_owned()),
        }
    }
}

/// Transport protocol of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6.
    Icmp,
    /// Anything else, with its IP protocol number.
    Other(u8),
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => f.write_str("tcp"),
            Proto::Udp => f.write_str("udp"),
            Proto::Icmp => f.write_str("icmp"),
            Proto::Other(n) => write!(f, "proto-{n}"),
        }
    }
}

/// TCP flags as a bit set (the bits of the TCP header's flags byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }

    /// The flags among FIN, SYN, RST, PSH, ACK, URG (the others are ignored).
    pub fn core(self) -> u8 {
        self.0 & 0x3f
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::SYN, "SYN"),
            (Self::ACK, "ACK"),
            (Self::FIN, "FIN"),
            (Self::RST, "RST"),
            (Self::PSH, "PSH"),
            (Self::URG, "URG"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// What the firewall did with a logged packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FirewallAction {
    /// Not known (a capture, or a log prefix without a mapping or a known word).
    #[default]
    Unknown,
    /// Dropped or rejected.
    Dropped,
    /// Accepted.
    Accepted,
}

impl FirewallAction {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallAction::Unknown => "unknown",
            FirewallAction::Dropped => "dropped",
            FirewallAction::Accepted => "accepted",
        }
    }
}

/// How a connection attempt was answered, where the answer is visible (captures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnOutcome {
    /// Not known (firewall logs, or a packet that is not a connection attempt).
    #[default]
    Unknown,
    /// Answered by SYN-ACK (TCP) or by a UDP reply: the port is open.
    Open,
    /// Answered by RST (TCP).
    Reset,
    /// Answered by ICMP destination unreachable.
    Unreachable,
    /// No answer seen.
    NoAnswer,
}

impl ConnOutcome {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnOutcome::Unknown => "unknown",
            ConnOutcome::Open => "open",
            ConnOutcome::Reset => "reset",
            ConnOutcome::Unreachable => "unreachable",
            ConnOutcome::NoAnswer => "no-answer",
        }
    }

    /// Whether the attempt succeeded (TRW's "success"); `None` when not known.
    pub fn succeeded(self) -> Option<bool> {
        match self {
            ConnOutcome::Unknown => None,
            ConnOutcome::Open => Some(true),
            _ => Some(false),
        }
    }
}

/// One packet, from a firewall log line or a capture. Owns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketEvent {
    /// When it was logged or captured.
    pub time: Timestamp,
    /// Source address.
    pub source: IpAddr,
    /// Destination address.
    pub dest: IpAddr,
    /// Transport protocol.
    pub proto: Proto,
    /// Source port (0 when none).
    pub sport: u16,
    /// Destination port (0 when none; ICMP type for ICMP).
    pub dport: u16,
    /// TCP flags (empty for other protocols).
    pub flags: TcpFlags,
    /// What the firewall did (firewall logs).
    pub action: FirewallAction,
    /// How the attempt was answered (captures).
    pub outcome: ConnOutcome,
    /// The prober completed the handshake after a SYN-ACK (a `connect()` scan or a client).
    pub completed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_display_and_bits() {
        let f = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(f.to_string(), "SYN,ACK");
        assert!(f.has(TcpFlags::SYN) && !f.has(TcpFlags::FIN));
        assert_eq!(TcpFlags(0).to_string(), "none");
        assert_eq!(TcpFlags(0xc2).core(), TcpFlags::SYN);
    }

    #[test]
    fn outcomes_and_kinds() {
        assert_eq!(ConnOutcome::Open.succeeded(), Some(true));
        assert_eq!(ConnOutcome::Reset.succeeded(), Some(false));
        assert_eq!(ConnOutcome::Unknown.succeeded(), None);
        assert!(AuthKind::NoIdent.is_recon() && !AuthKind::Failed.is_recon());
        assert_eq!(AuthKind::ALL.len(), 10);
        assert!(AuthKind::RelayDenied.is_recon());
        assert_eq!(AuthService::Smtp.to_string(), "smtp");
        assert_eq!(AuthService::Imap.label(), "IMAP/POP3");
    }
}

/// A port-scan technique, from the probes' flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanTechnique {
    /// Half-open: SYN, then RST after a SYN-ACK (`nmap -sS`).
    Syn,
    /// Full `connect()`: the handshake is completed (`nmap -sT`); in firewall logs it
    /// looks like `Syn`.
    Connect,
    /// FIN alone (`-sF`).
    Fin,
    /// No flags (`-sN`).
    Null,
    /// FIN, PSH and URG (`-sX`).
    Xmas,
    /// ACK alone (`-sA`, firewall mapping).
    Ack,
    /// UDP datagrams (`-sU`).
    Udp,
    /// Any other flag combination.
    Other,
}

impl ScanTechnique {
    /// Every technique.
    pub const ALL: [ScanTechnique; 8] = [
        ScanTechnique::Syn,
        ScanTechnique::Connect,
        ScanTechnique::Fin,
        ScanTechnique::Null,
        ScanTechnique::Xmas,
        ScanTechnique::Ack,
        ScanTechnique::Udp,
        ScanTechnique::Other,
    ];

    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanTechnique::Syn => "syn",
            ScanTechnique::Connect => "connect",
            ScanTechnique::Fin => "fin",
            ScanTechnique::Null => "null",
            ScanTechnique::Xmas => "xmas",
            ScanTechnique::Ack => "ack",
            ScanTechnique::Udp => "udp",
            ScanTechnique::Other => "other",
        }
    }

    /// The technique of one probe; `None` for packets that are not port probes (ICMP,
    /// other protocols, TCP answers such as SYN-ACK or RST).
    pub fn of(p: &PacketEvent) -> Option<ScanTechnique> {
        match p.proto {
            Proto::Udp => Some(ScanTechnique::Udp),
            Proto::Tcp => {
                let f = p.flags.core();
                Some(match f {
                    TcpFlags::SYN if p.completed => ScanTechnique::Connect,
                    TcpFlags::SYN => ScanTechnique::Syn,
                    TcpFlags::FIN => ScanTechnique::Fin,
                    0 => ScanTechnique::Null,
                    x if x == TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG => ScanTechnique::Xmas,
                    TcpFlags::ACK => ScanTechnique::Ack,
                    x if x & TcpFlags::RST != 0 => return None,
                    x if x == TcpFlags::SYN | TcpFlags::ACK => return None,
                    _ => ScanTechnique::Other,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for ScanTechnique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port scan detected from one source: the `port_scan` object of a source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanSummary {
    /// `vertical` (many ports, one host), `horizontal` (one port, many hosts) or `block`.
    pub kind: &'static str,
    /// The dominant technique (most probes).
    pub technique: ScanTechnique,
    /// Every technique seen, most probes first.
    pub techniques: Vec<ScanTechnique>,
    /// How it was recognised: `trw` (sequential hypothesis test on known outcomes) or
    /// `distinct` (decaying count of distinct ports and hosts).
    pub method: &'static str,
    /// Distinct ports touched (up to 100 listed, sorted).
    pub ports: Vec<u16>,
    /// Number of distinct ports touched.
    pub port_count: u64,
    /// Distinct hosts touched (up to 20 listed, sorted).
    pub hosts: Vec<IpAddr>,
    /// Number of distinct hosts touched.
    pub host_count: u64,
    /// Probes seen in all.
    pub probes: u64,
    /// Probes seen up to and including the one at which it was detected.
    pub probes_before_detection: u64,
    /// Probes answered as open (captures only).
    pub open: u64,
    /// First probe.
    pub first_seen: Timestamp,
    /// The probe at which it was detected.
    pub detected_at: Timestamp,
    /// Last probe.
    pub last_seen: Timestamp,
    /// Seconds from the first to the last probe.
    pub duration_secs: u64,
}

/// What one source did against one login service other than SSH: an element of a
/// source's `auth` list (`{"service": "smtp", "failures": ..., ...}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoginSummary {
    /// The service.
    pub service: AuthService,
    /// The counts, as for SSH.
    #[serde(flatten)]
    pub summary: SshSummary,
}

/// What one source did against sshd: the `ssh` object of a source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Default)]
pub struct SshSummary {
    /// Failed authentications (`Failed ...`).
    pub failures: u64,
    /// `Invalid user` messages (names that do not exist here).
    pub invalid_users: u64,
    /// Distinct user names tried (counted up to a cap).
    pub distinct_users: u64,
    /// Some of the names tried (up to 10, control bytes escaped).
    pub users: Vec<String>,
    /// Connections closed or reset before authentication.
    pub preauth_closes: u64,
    /// `maximum authentication attempts exceeded` and `Too many authentication failures`.
    pub max_attempts: u64,
    /// Successful logins.
    pub accepted: u64,
    /// Users it logged in as (up to 10).
    pub accepted_users: Vec<String>,
    /// Connections without a login attempt: no identification string, banner, key
    /// exchange or negotiation failures (banner grabbing: recon).
    pub recon: u64,
    /// Brute force was detected: the rule that fired, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brute_force: Option<String>,
    /// When brute force was detected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<Timestamp>,
    /// sshd messages seen up to detection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_before_detection: Option<u64>,
    /// First sshd message.
    pub first_seen: Timestamp,
    /// Last sshd message.
    pub last_seen: Timestamp,
}
