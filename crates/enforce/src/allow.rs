//! Addresses that are never banned.

use ipnet::IpNet;
use std::net::IpAddr;

/// Prefixes that no back end ever bans: loopback always, plus what the caller adds
/// (the configured allowlist, the server's own addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist {
    nets: Vec<IpNet>,
}

impl Default for Allowlist {
    fn default() -> Self {
        Allowlist {
            nets: vec![
                "127.0.0.0/8".parse().expect("valid"),
                "::1/128".parse().expect("valid"),
                "::ffff:127.0.0.0/104".parse().expect("valid"),
                "0.0.0.0/32".parse().expect("valid"),
                "::/128".parse().expect("valid"),
            ],
        }
    }
}

impl Allowlist {
    /// Loopback and the unspecified addresses, plus `nets`.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        let mut a = Allowlist::default();
        a.extend(nets);
        a
    }

    /// Adds prefixes.
    pub fn extend(&mut self, nets: impl IntoIterator<Item = IpNet>) {
        for n in nets {
            let n = n.trunc();
            if !self.nets.contains(&n) {
                self.nets.push(n);
            }
        }
    }

    /// Adds the addresses configured on this host's interfaces (read from `/proc`).
    pub fn with_local_addresses(mut self) -> Self {
        self.extend(local_addresses().into_iter().map(IpNet::from));
        self
    }

    /// The prefixes, loopback first.
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }

    /// True when banning `net` would touch an allowlisted address: `net` lies within an
    /// allowlisted prefix or contains one.
    pub fn refuses(&self, net: &IpNet) -> bool {
        let net = match net {
            // An IPv4-mapped IPv6 address is the IPv4 address.
            IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
                Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                    .map(IpNet::V4)
                    .unwrap_or(*net),
                None => *net,
            },
            _ => *net,
        };
        self.nets
            .iter()
            .any(|a| a.contains(&net) || net.contains(a))
    }

    /// True when banning this one address would touch an allowlisted one.
    pub fn refuses_addr(&self, ip: IpAddr) -> bool {
        self.refuses(&IpNet::from(ip))
    }
}

/// The addresses of this host's interfaces: IPv4 from `/proc/net/fib_trie` (local
/// host routes), IPv6 from `/proc/net/if_inet6`. Empty where those are absent.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
        out.extend(parse_fib_trie(&text));
    }
    if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
        out.extend(parse_if_inet6(&text));
    }
    out.sort();
    out.dedup();
    out
}

fn parse_fib_trie(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("|-- ") {
            last = rest.trim().parse().ok();
        } else if t.contains("host LOCAL") {
            if let Some(ip) = last {
                out.push(ip);
            }
        }
    }
    out
}

fn parse_if_inet6(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|hex| hex.len() == 32)
        .filter_map(|hex| u128::from_str_radix(hex, 16).ok())
        .map(|v| IpAddr::V6(std::net::Ipv6Addr::from(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_overlaps_are_refused() {
        let a = Allowlist::new(["192.0.2.0/24".parse().unwrap()]);
        for s in [
            "127.0.0.1/32",
            "::1/128",
            "::ffff:127.0.0.1/128",
            "192.0.2.9/32",
            "192.0.0.0/16",
            "0.0.0.0/0",
            "::/0",
        ] {
            assert!(a.refuses(&s.parse().unwrap()), "{s}");
        }
        for s in ["198.51.100.7/32", "2001:db8::1/128", "192.0.3.0/24"] {
            assert!(!a.refuses(&s.parse().unwrap()), "{s}");
        }
    }

    #[test]
    fn proc_formats_parse() {
        let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.1.2.3\n        /32 host LOCAL\n     |-- 10.1.2.255\n        /32 link BROADCAST\n";
        assert_eq!(
            parse_fib_trie(fib),
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        let v6 = "00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 02 40 20 80     eth0\n";
        assert_eq!(
            parse_if_inet6(v6),
            vec![
                "::1".parse::<IpAddr>().unwrap(),
                "fe80::1".parse::<IpAddr>().unwrap()
            ]
        );
    }
}
