//! Netfilter log lines (iptables `LOG`, nftables `log`) into [`PacketEvent`]s.
//!
//! Both write the same kernel format, in kern.log, syslog or the journal:
//! `[12345.678901] PREFIX IN=eth0 OUT= MAC=... SRC=203.0.113.7 DST=192.0.2.1 LEN=44 ...
//! PROTO=TCP SPT=40000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0` (IPv6 adds `TC=`,
//! `HOPLIMIT=`, `FLOWLBL=`; ICMP has `TYPE=` and `CODE=` instead of ports). The log
//! prefix says what the rule did: [`PrefixActions`] maps it to an action.
//!
//! Lines that are not netfilter messages (other kernel or program messages) are
//! `Ok(None)`: not events, not errors.

use crate::combined::parse_ip;
use crate::error::{ParseError, ParseErrorKind};
use crate::syslog::{parse_envelope, SyslogContext};
use scantriage_core::{ConnOutcome, FirewallAction, PacketEvent, Proto, TcpFlags};

/// Maps log prefixes to actions: the first configured prefix that the line's log
/// prefix starts with wins; without one, a prefix containing `DROP`, `REJECT`, `BLOCK`
/// or `DENY` (any case) means dropped, one containing `ACCEPT` or `ALLOW` accepted, and
/// anything else is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixActions {
    /// (log prefix, action), tried in order.
    pub map: Vec<(String, FirewallAction)>,
}

impl PrefixActions {
    /// The action for a log prefix.
    pub fn action(&self, prefix: &[u8]) -> FirewallAction {
        let prefix = prefix.trim_ascii();
        for (p, a) in &self.map {
            if prefix.starts_with(p.trim().as_bytes()) {
                return *a;
            }
        }
        let has = |w: &[u8]| prefix.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
        if [&b"DROP"[..], b"REJECT", b"BLOCK", b"DENY"]
            .iter()
            .any(|w| has(w))
        {
            FirewallAction::Dropped
        } else if has(b"ACCEPT") || has(b"ALLOW") {
            FirewallAction::Accepted
        } else {
            FirewallAction::Unknown
        }
    }
}

/// Whether a kernel message looks like a netfilter log line (has `IN=` and `SRC=`).
pub fn looks_like_netfilter(message: &[u8]) -> bool {
    memchr::memmem::find(message, b"IN=").is_some()
        && memchr::memmem::find(message, b" SRC=").is_some()
}

/// Parses one line. `Ok(None)` when it is not a netfilter message. Never panics.
pub fn parse_netfilter(
    line: &[u8],
    ctx: &SyslogContext,
    actions: &PrefixActions,
) -> Result<Option<PacketEvent>, ParseError> {
    let env = parse_envelope(line, ctx)?;
    let msg: &[u8] = &env.message;
    if !looks_like_netfilter(msg) {
        return Ok(None);
    }
    // Skip the kernel's own `[12345.678]` stamp.
    let mut m = msg.trim_ascii_start();
    if m.first() == Some(&b'[') {
        if let Some(k) = m.iter().position(|&c| c == b']') {
            m = m[k + 1..].trim_ascii_start();
        }
    }
    let Some(in_at) = find_field(m, b"IN=") else {
        return Ok(None);
    };
    let prefix = &m[..in_at];
    let fields = &m[in_at..];
    let err = |kind| ParseError::at(kind, 0);
    let mut src = None;
    let mut dst = None;
    let mut proto = None;
    let mut sport = 0u16;
    let mut dport = 0u16;
    let mut icmp_type = None;
    let mut flags = 0u8;
    let mut after_proto = false;
    for tok in fields.split(|&c| c == b' ').filter(|t| !t.is_empty()) {
        let (k, v) = match tok.iter().position(|&c| c == b'=') {
            Some(i) => (&tok[..i], &tok[i + 1..]),
            None => (tok, &b""[..]),
        };
        match k {
            b"SRC" => src = parse_ip(v),
            b"DST" => dst = parse_ip(v),
            b"PROTO" => {
                after_proto = true;
                proto = Some(match v {
                    b"TCP" => Proto::Tcp,
                    b"UDP" | b"UDPLITE" => Proto::Udp,
                    b"ICMP" | b"ICMPv6" => Proto::Icmp,
                    n => Proto::Other(
                        std::str::from_utf8(n)
                            .ok()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0),
                    ),
                });
            }
            b"SPT" if after_proto => sport = num(v).unwrap_or(0),
            b"DPT" if after_proto => dport = num(v).unwrap_or(0),
            b"TYPE" if after_proto && icmp_type.is_none() => icmp_type = num(v),
            b"SYN" if after_proto => flags |= TcpFlags::SYN,
            b"ACK" if after_proto => flags |= TcpFlags::ACK,
            b"FIN" if after_proto => flags |= TcpFlags::FIN,
            b"RST" if after_proto => flags |= TcpFlags::RST,
            b"PSH" if after_proto => flags |= TcpFlags::PSH,
            b"URG" if after_proto => flags |= TcpFlags::URG,
            _ => {}
        }
    }
    let source = src.ok_or(err(ParseErrorKind::BadAddress))?;
    let dest = dst.ok_or(err(ParseErrorKind::BadAddress))?;
    let proto = proto.ok_or(err(ParseErrorKind::MissingField("PROTO")))?;
    if proto == Proto::Icmp {
        dport = icmp_type.unwrap_or(0);
    }
    Ok(Some(PacketEvent {
        time: env.time,
        source,
        dest,
        proto,
        sport,
        dport,
        flags: TcpFlags(if proto == Proto::Tcp { flags } else { 0 }),
        action: actions.action(prefix),
        outcome: ConnOutcome::Unknown,
        completed: false,
    }))
}

/// Index of `IN=` at the start of a token.
fn find_field(m: &[u8], key: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&m[from..], key) {
        let at = from + k;
        if at == 0 || m[at - 1] == b' ' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn num(v: &[u8]) -> Option<u16> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_actions() {
        let d = PrefixActions::default();
        assert_eq!(d.action(b"[UFW BLOCK] "), FirewallAction::Dropped);
        assert_eq!(d.action(b"nft-drop: "), FirewallAction::Dropped);
        assert_eq!(d.action(b"iptables-reject "), FirewallAction::Dropped);
        assert_eq!(d.action(b"[UFW ALLOW] "), FirewallAction::Accepted);
        assert_eq!(d.action(b"inbound: "), FirewallAction::Unknown);
        let m = PrefixActions {
            map: vec![("inbound".into(), FirewallAction::Accepted)],
        };
        assert_eq!(m.action(b"inbound: "), FirewallAction::Accepted);
        assert_eq!(m.action(b"DROP "), FirewallAction::Dropped);
    }

    #[test]
    fn iptables_ipv4_syn() {
        let l = b"Nov  3 00:00:01 web1 kernel: [123456.789012] DROP-IN: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.7 DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID=54321 PROTO=TCP SPT=40000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0";
        let ctx = SyslogContext::new(scantriage_core::Timestamp::from_unix_secs(1_762_300_000), 0);
        let e = parse_netfilter(l, &ctx, &PrefixActions::default())
            .unwrap()
            .unwrap();
        assert_eq!(e.source.to_string(), "203.0.113.7");
        assert_eq!((e.proto, e.sport, e.dport), (Proto::Tcp, 40000, 22));
        assert_eq!(e.flags, TcpFlags(TcpFlags::SYN));
        assert_eq!(e.action, FirewallAction::Dropped);
    }

    #[test]
    fn not_netfilter_is_none() {
        let ctx = SyslogContext::default();
        let l = b"Nov  3 00:00:01 web1 kernel: [1.0] eth0: link up";
        assert_eq!(
            parse_netfilter(l, &ctx, &PrefixActions::default()),
            Ok(None)
        );
        let l = b"Nov  3 00:00:01 web1 kernel: IN=eth0 OUT= SRC=1.2.3.4 DST=bogus PROTO=TCP";
        assert!(parse_netfilter(l, &ctx, &PrefixActions::default()).is_err());
    }
}
