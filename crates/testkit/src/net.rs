//! Source addresses: public-looking IPv4 ranges by kind of network, and IPv6 from the
//! documentation prefix 2001:db8::/32.

use crate::rng::Rng;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address comes from, which decides the ranges it is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network {
    /// Home and mobile access networks (readers, botnet members).
    Residential,
    /// Data centres and clouds (scanners, fetchers, rented attack boxes).
    Hosting,
}

/// Access-network ranges: (first address, prefix length).
const RESIDENTIAL: &[([u8; 4], u8)] = &[
    ([79, 192, 0, 0], 10),
    ([87, 128, 0, 0], 10),
    ([93, 192, 0, 0], 10),
    ([84, 128, 0, 0], 10),
    ([91, 0, 0, 0], 10),
    ([2, 200, 0, 0], 13),
    ([90, 0, 0, 0], 9),
    ([86, 192, 0, 0], 11),
    ([81, 96, 0, 0], 12),
    ([24, 0, 0, 0], 12),
    ([73, 0, 0, 0], 8),
    ([98, 192, 0, 0], 10),
    ([71, 192, 0, 0], 10),
    ([76, 96, 0, 0], 11),
    ([68, 32, 0, 0], 11),
    ([109, 40, 0, 0], 13),
    ([188, 96, 0, 0], 12),
    ([178, 0, 0, 0], 12),
    ([151, 24, 0, 0], 13),
    ([37, 160, 0, 0], 12),
    ([46, 114, 0, 0], 15),
    ([95, 88, 0, 0], 13),
    ([83, 128, 0, 0], 11),
    ([213, 160, 0, 0], 12),
    ([62, 224, 0, 0], 12),
    ([80, 128, 0, 0], 11),
    ([92, 192, 0, 0], 11),
    ([89, 0, 0, 0], 11),
    ([176, 0, 0, 0], 12),
    ([82, 64, 0, 0], 12),
    ([49, 192, 0, 0], 12),
    ([1, 144, 0, 0], 13),
    ([177, 32, 0, 0], 11),
    ([190, 16, 0, 0], 12),
];

/// Data-centre and cloud ranges: (first address, prefix length).
const HOSTING: &[([u8; 4], u8)] = &[
    ([159, 89, 0, 0], 16),
    ([167, 99, 0, 0], 16),
    ([164, 90, 0, 0], 16),
    ([138, 68, 0, 0], 16),
    ([142, 93, 0, 0], 16),
    ([206, 189, 0, 0], 16),
    ([64, 227, 0, 0], 16),
    ([45, 55, 0, 0], 16),
    ([51, 75, 0, 0], 16),
    ([5, 135, 0, 0], 16),
    ([5, 75, 128, 0], 17),
    ([78, 46, 0, 0], 15),
    ([88, 99, 0, 0], 16),
    ([95, 216, 0, 0], 16),
    ([116, 202, 0, 0], 16),
    ([157, 90, 0, 0], 16),
    ([168, 119, 0, 0], 16),
    ([138, 201, 0, 0], 16),
    ([3, 0, 0, 0], 9),
    ([18, 128, 0, 0], 9),
    ([34, 64, 0, 0], 10),
    ([35, 192, 0, 0], 11),
    ([20, 0, 0, 0], 11),
    ([43, 128, 0, 0], 11),
    ([47, 74, 0, 0], 15),
    ([8, 208, 0, 0], 12),
    ([101, 32, 0, 0], 12),
    ([121, 40, 0, 0], 14),
    ([61, 177, 0, 0], 16),
    ([183, 136, 0, 0], 13),
    ([218, 92, 0, 0], 14),
    ([222, 186, 0, 0], 15),
    ([117, 50, 0, 0], 15),
    ([185, 220, 100, 0], 22),
    ([45, 148, 10, 0], 24),
    ([193, 142, 146, 0], 24),
    ([194, 165, 16, 0], 24),
    ([167, 94, 138, 0], 24),
    ([162, 142, 125, 0], 24),
    ([71, 6, 128, 0], 17),
    ([104, 248, 0, 0], 16),
    ([141, 98, 0, 0], 16),
    ([87, 236, 176, 0], 24),
    ([91, 92, 240, 0], 22),
    ([2, 57, 121, 0], 24),
    ([196, 251, 0, 0], 16),
    ([103, 0, 0, 0], 10),
    ([14, 160, 0, 0], 11),
    ([116, 96, 0, 0], 12),
    ([212, 70, 0, 0], 16),
];

/// A random host address inside `first/len`, avoiding the all-zero and all-one last octets.
pub(crate) fn v4_in(rng: &mut Rng, first: [u8; 4], len: u8) -> Ipv4Addr {
    let base = u32::from_be_bytes(first);
    let host_bits = 32 - u32::from(len);
    let mask = if host_bits == 32 {
        u32::MAX
    } else {
        (1u32 << host_bits) - 1
    };
    loop {
        let addr = (base & !mask) | (rng.next_u64() as u32 & mask);
        let last = addr & 0xff;
        if last != 0 && last != 255 {
            return Ipv4Addr::from(addr);
        }
    }
}

/// A fresh-looking address of the given network kind; `v6_share` of them are IPv6.
pub(crate) fn address(rng: &mut Rng, network: Network, v6_share: f64) -> IpAddr {
    if rng.chance(v6_share) {
        let a = rng.below(0x1_0000) as u16;
        let b = rng.below(0x1_0000) as u16;
        return IpAddr::V6(match network {
            // Privacy addresses: a random 64-bit interface identifier.
            Network::Residential => {
                let iid = rng.next_u64();
                Ipv6Addr::new(
                    0x2001,
                    0x0db8,
                    a,
                    b,
                    (iid >> 48) as u16,
                    (iid >> 32) as u16,
                    (iid >> 16) as u16,
                    iid as u16,
                )
            }
            // Servers: small, hand-assigned interface identifiers.
            Network::Hosting => {
                Ipv6Addr::new(0x2001, 0x0db8, a, b, 0, 0, 0, rng.range(1, 0x1ff) as u16)
            }
        });
    }
    let table = match network {
        Network::Residential => RESIDENTIAL,
        Network::Hosting => HOSTING,
    };
    let (first, len) = *rng.pick(table);
    IpAddr::V4(v4_in(rng, first, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(a: Ipv4Addr) -> bool {
        let o = a.octets();
        !(a.is_private()
            || a.is_loopback()
            || a.is_link_local()
            || a.is_multicast()
            || a.is_broadcast()
            || a.is_documentation()
            || a.is_unspecified()
            || o[0] == 0
            || o[0] >= 224
            || (o[0] == 100 && (64..128).contains(&o[1])))
    }

    #[test]
    fn ranges_are_public() {
        for (first, len) in RESIDENTIAL.iter().chain(HOSTING) {
            let a = Ipv4Addr::from(*first);
            assert!(public(a), "{a}/{len}");
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            assert_eq!(
                u32::from(a) & !mask,
                0,
                "{a}/{len} is not a network address"
            );
        }
    }

    #[test]
    fn addresses_stay_in_their_ranges() {
        let mut rng = Rng::new(3);
        for _ in 0..2000 {
            match address(&mut rng, Network::Hosting, 0.1) {
                IpAddr::V4(a) => assert!(public(a)),
                IpAddr::V6(a) => assert_eq!(&a.segments()[..2], &[0x2001, 0x0db8]),
            }
        }
        let a = v4_in(&mut rng, [66, 249, 64, 0], 19);
        assert_eq!(
            u32::from(a) >> 13,
            u32::from(Ipv4Addr::new(66, 249, 64, 0)) >> 13
        );
    }
}
