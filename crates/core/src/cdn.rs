//! Published address ranges of content delivery networks and cloud load balancers.
//!
//! A site behind one of them sees the network's edge addresses as its clients: each
//! edge address carries the traffic of many unrelated visitors. Blocking one at the
//! server's firewall cuts off all of them, so these ranges are never blocked, and when
//! a log line also records `X-Forwarded-For`, the client is read from it (the edge
//! address is a trusted proxy). Only ranges the providers publish for this purpose are
//! listed; `input.trusted_proxies` adds others.

use ipnet::IpNet;

/// The ranges, each with its provider's name.
pub const CDN_RANGES: &[(&str, &str)] = &[
    // Cloudflare (https://www.cloudflare.com/ips/)
    ("173.245.48.0/20", "Cloudflare"),
    ("103.21.244.0/22", "Cloudflare"),
    ("103.22.200.0/22", "Cloudflare"),
    ("103.31.4.0/22", "Cloudflare"),
    ("141.101.64.0/18", "Cloudflare"),
    ("108.162.192.0/18", "Cloudflare"),
    ("190.93.240.0/20", "Cloudflare"),
    ("188.114.96.0/20", "Cloudflare"),
    ("197.234.240.0/22", "Cloudflare"),
    ("198.41.128.0/17", "Cloudflare"),
    ("162.158.0.0/15", "Cloudflare"),
    ("104.16.0.0/13", "Cloudflare"),
    ("104.24.0.0/14", "Cloudflare"),
    ("172.64.0.0/13", "Cloudflare"),
    ("131.0.72.0/22", "Cloudflare"),
    ("2400:cb00::/32", "Cloudflare"),
    ("2606:4700::/32", "Cloudflare"),
    ("2803:f800::/32", "Cloudflare"),
    ("2405:b500::/32", "Cloudflare"),
    ("2405:8100::/32", "Cloudflare"),
    ("2a06:98c0::/29", "Cloudflare"),
    ("2c0f:f248::/32", "Cloudflare"),
    // Fastly (https://api.fastly.com/public-ip-list)
    ("23.235.32.0/20", "Fastly"),
    ("43.249.72.0/22", "Fastly"),
    ("103.244.50.0/24", "Fastly"),
    ("103.245.222.0/23", "Fastly"),
    ("103.245.224.0/24", "Fastly"),
    ("104.156.80.0/20", "Fastly"),
    ("140.248.64.0/18", "Fastly"),
    ("140.248.128.0/17", "Fastly"),
    ("146.75.0.0/17", "Fastly"),
    ("151.101.0.0/16", "Fastly"),
    ("157.52.64.0/18", "Fastly"),
    ("167.82.0.0/17", "Fastly"),
    ("167.82.128.0/20", "Fastly"),
    ("167.82.160.0/20", "Fastly"),
    ("167.82.224.0/20", "Fastly"),
    ("172.111.64.0/18", "Fastly"),
    ("185.31.16.0/22", "Fastly"),
    ("199.27.72.0/21", "Fastly"),
    ("199.232.0.0/16", "Fastly"),
    ("2a04:4e40::/32", "Fastly"),
    ("2a04:4e42::/32", "Fastly"),
    // Google Cloud load balancers and health checks (proxied traffic comes from these)
    ("130.211.0.0/22", "Google Cloud load balancer"),
    ("35.191.0.0/16", "Google Cloud load balancer"),
];

/// The ranges, parsed.
pub fn cdn_networks() -> Vec<(IpNet, &'static str)> {
    CDN_RANGES
        .iter()
        .map(|(n, p)| (n.parse().expect("valid built-in range"), *p))
        .collect()
}

/// The provider whose range holds `ip`, if any.
pub fn cdn_provider(nets: &[(IpNet, &'static str)], ip: &std::net::IpAddr) -> Option<&'static str> {
    nets.iter().find(|(n, _)| n.contains(ip)).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_answer() {
        let nets = cdn_networks();
        assert_eq!(nets.len(), CDN_RANGES.len());
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            cdn_provider(&nets, &ip("173.245.48.10")),
            Some("Cloudflare")
        );
        assert_eq!(cdn_provider(&nets, &ip("2606:4700::1")), Some("Cloudflare"));
        assert_eq!(cdn_provider(&nets, &ip("151.101.1.1")), Some("Fastly"));
        assert_eq!(cdn_provider(&nets, &ip("198.51.100.1")), None);
    }
}
