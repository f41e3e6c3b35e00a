//! Hand-built packets and capture files for tests: IPv4/IPv6 with TCP, UDP or ICMP,
//! framed as Ethernet, Linux cooked v1/v2 or raw IP, written as pcap or pcapng.
//! Checksums are left zero (readers of captures do not check them).

use std::net::IpAddr;

/// TCP flag bits.
pub mod flags {
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
}

fn ip(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = (20 + payload.len()) as u16;
            let mut v = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
            v[2..4].copy_from_slice(&len.to_be_bytes());
            v.extend_from_slice(&s.octets());
            v.extend_from_slice(&d.octets());
            v.extend_from_slice(payload);
            v
        }
        (s, d) => {
            let to6 = |a: IpAddr| match a {
                IpAddr::V4(x) => x.to_ipv6_mapped(),
                IpAddr::V6(x) => x,
            };
            let mut v = vec![0x60, 0, 0, 0];
            v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            v.push(if proto == 1 { 58 } else { proto });
            v.push(64);
            v.extend_from_slice(&to6(s).octets());
            v.extend_from_slice(&to6(d).octets());
            v.extend_from_slice(payload);
            v
        }
    }
}

/// An IP packet carrying TCP with these flags and payload.
pub fn tcp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.push(5 << 4);
    t.push(flags);
    t.extend_from_slice(&1024u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(payload);
    ip(src, dst, 6, &t)
}

/// An IP packet carrying UDP.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ip(src, dst, 17, &u)
}

/// An ICMP (ICMPv6 for IPv6) message of this type and code, with `rest` after the
/// 4-byte header word (for errors: 4 unused bytes, then the quoted packet).
pub fn icmp(src: IpAddr, dst: IpAddr, ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(rest);
    ip(src, dst, 1, &m)
}

/// Destination unreachable (port unreachable) from `from` quoting `original`.
pub fn unreachable(from: IpAddr, original: &[u8]) -> Vec<u8> {
    let to = match original.first().map(|b| b >> 4) {
        Some(6) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&original[8..24]);
            IpAddr::from(a)
        }
        _ => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&original[12..16]);
            IpAddr::from(a)
        }
    };
    let (ty, code) = if from.is_ipv6() { (1, 4) } else { (3, 3) };
    let mut rest = vec![0, 0, 0, 0];
    rest.extend_from_slice(&original[..original.len().min(48 + 8)]);
    icmp(from, to, ty, code, &rest)
}

/// Frames an IP packet for a link type: 1 Ethernet, 113 Linux cooked v1, 276 Linux
/// cooked v2, 101 raw IP.
pub fn frame(linktype: u32, packet: &[u8]) -> Vec<u8> {
    let ethertype: [u8; 2] = if packet.first().map(|b| b >> 4) == Some(6) {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    };
    let mut v = Vec::with_capacity(packet.len() + 20);
    match linktype {
        1 => {
            v.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
            v.extend_from_slice(&ethertype);
        }
        113 => {
            v.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0]);
            v.extend_from_slice(&ethertype);
        }
        276 => {
            v.extend_from_slice(&ethertype);
            v.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0]);
        }
        _ => {}
    }
    v.extend_from_slice(packet);
    v
}

/// A capture being written in memory.
#[derive(Debug, Clone)]
pub struct Capture {
    linktype: u32,
    ng: bool,
    bytes: Vec<u8>,
}

impl Capture {
    /// A classic pcap (microsecond timestamps, little-endian) of this link type.
    pub fn pcap(linktype: u32) -> Capture {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&linktype.to_le_bytes());
        Capture {
            linktype,
            ng: false,
            bytes,
        }
    }

    /// A pcapng with one interface of this link type (microsecond timestamps).
    pub fn pcapng(linktype: u32) -> Capture {
        let mut bytes = Vec::new();
        // Section header block.
        bytes.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        bytes.extend_from_slice(&28u32.to_le_bytes());
        bytes.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(&(-1i64).to_le_bytes());
        bytes.extend_from_slice(&28u32.to_le_bytes());
        // Interface description block.
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&20u32.to_le_bytes());
        bytes.extend_from_slice(&(linktype as u16).to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&20u32.to_le_bytes());
        Capture {
            linktype,
            ng: true,
            bytes,
        }
    }

    /// Adds an IP packet at `unix_ms`, framed for the capture's link type.
    pub fn add(&mut self, unix_ms: i64, packet: &[u8]) -> &mut Capture {
        let data = frame(self.linktype, packet);
        let len = data.len() as u32;
        if self.ng {
            let pad = (4 - data.len() % 4) % 4;
            let total = 32 + data.len() as u32 + pad as u32;
            let us = (unix_ms as u64) * 1000;
            let b = &mut self.bytes;
            b.extend_from_slice(&6u32.to_le_bytes());
            b.extend_from_slice(&total.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&((us >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(us as u32).to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&data);
            b.extend(std::iter::repeat_n(0u8, pad));
            b.extend_from_slice(&total.to_le_bytes());
        } else {
            let b = &mut self.bytes;
            b.extend_from_slice(&((unix_ms / 1000) as u32).to_le_bytes());
            b.extend_from_slice(&(((unix_ms % 1000) * 1000) as u32).to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&data);
        }
        self
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}
