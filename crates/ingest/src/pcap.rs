//! Packet captures (pcap and pcapng) into [`PacketEvent`]s with connection outcomes.
//!
//! Pure Rust: `pcap-parser` reads the file (streaming, nanosecond or microsecond
//! timestamps, any pcapng interface), `etherparse` decodes Ethernet (with VLAN tags) and
//! IP. Link types: Ethernet (1), Linux cooked v1 (113) and v2 (276), raw IP (101, 12,
//! 228, 229) and BSD loopback (0). IPv4 and IPv6; TCP, UDP and ICMP/ICMPv6.
//!
//! Only connection *attempts* become events: a TCP packet that opens or probes a flow
//! (SYN, or FIN/NULL/XMAS/ACK on an unknown flow), a UDP datagram on a new flow, an ICMP
//! echo request. Answers are not events; they set the attempt's [`ConnOutcome`]: SYN-ACK
//! (or a UDP reply) is `Open`, RST is `Reset`, ICMP destination unreachable quoting the
//! attempt is `Unreachable`, nothing within [`ANSWER_WINDOW_MS`] is `NoAnswer`. The
//! prober's ACK after a SYN-ACK sets [`PacketEvent::completed`] (a `connect()` scan, or a
//! client). Later packets of a flow that was answered are not events.
//!
//! Memory is bounded: at most [`MAX_PENDING`] attempts wait for their answer (the oldest
//! is released early with `NoAnswer` when more arrive), and at most [`MAX_FLOWS`] flows
//! are remembered (the table is cleared when full, counted in [`CaptureStats`]).

use crate::pcap_http::HttpExtractor;
use scantriage_core::{ConnOutcome, PacketEvent, Proto, TcpFlags, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::IpAddr;

/// How long an attempt waits for its answer, in capture time.
pub const ANSWER_WINDOW_MS: i64 = 3_000;
/// Attempts waiting for an answer, at most.
pub const MAX_PENDING: usize = 65_536;
/// Flows remembered, at most.
pub const MAX_FLOWS: usize = 262_144;

/// Why a capture could not be read (to the end).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Not a pcap or pcapng file.
    #[error("not a pcap or pcapng capture")]
    NotACapture,
    /// The file ends inside a block (a capture still being written, or cut).
    #[error("truncated capture: the last block is incomplete")]
    Truncated,
    /// A block could not be parsed.
    #[error("malformed capture block")]
    Malformed,
    /// Reading failed.
    #[error("read error")]
    Read,
}

/// Counters of one capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets (blocks with packet data) read.
    pub packets: u64,
    /// Packets that were not IPv4/IPv6 with TCP, UDP or ICMP, or not decodable.
    pub skipped: u64,
    /// Attempts released early because [`MAX_PENDING`] was reached.
    pub evicted_pending: u64,
    /// Times the flow table was cleared because [`MAX_FLOWS`] was reached.
    pub flow_resets: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    proto: u8,
}

impl FlowKey {
    fn reverse(self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            proto: self.proto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowState {
    /// We saw packets from this side.
    Seen,
    /// An attempt from this side is waiting (its sequence number in the queue).
    Pending(u64),
    /// Answered as open: later packets are ordinary traffic.
    Established,
}

/// One decoded packet.
#[derive(Debug, Clone, Copy)]
struct Pkt {
    time: Timestamp,
    key: FlowKey,
    proto: Proto,
    flags: u8,
    payload: usize,
    /// ICMP type, for ICMP.
    icmp_type: u8,
    /// The flow an ICMP error quotes.
    quoted: Option<FlowKey>,
    /// TCP sequence number.
    seq: u32,
}

/// Turns packets into attempts with outcomes; feed packets in capture order.
#[derive(Debug, Default)]
pub struct Tracker {
    flows: HashMap<FlowKey, FlowState, foldhash::fast::RandomState>,
    queue: VecDeque<(u64, PacketEvent, FlowKey)>,
    next_seq: u64,
    /// Counters.
    pub stats: CaptureStats,
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;

impl Tracker {
    fn pending_mut(&mut self, seq: u64) -> Option<&mut PacketEvent> {
        let first = self.queue.front()?.0;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.queue.get_mut(i).map(|e| &mut e.1)
    }

    fn answer(&mut self, attempt: FlowKey, outcome: ConnOutcome) -> bool {
        match self.flows.get(&attempt).copied() {
            Some(FlowState::Pending(seq)) => {
                if let Some(ev) = self.pending_mut(seq) {
                    if ev.outcome == ConnOutcome::NoAnswer {
                        ev.outcome = outcome;
                    }
                }
                if outcome == ConnOutcome::Open {
                    self.flows.insert(attempt, FlowState::Established);
                    self.flows.insert(attempt.reverse(), FlowState::Established);
                }
                true
            }
            _ => false,
        }
    }

    fn remember(&mut self, key: FlowKey, state: FlowState) {
        if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&key) {
            // Keep the attempts still waiting; forget the rest.
            self.flows.retain(|_, s| matches!(s, FlowState::Pending(_)));
            self.stats.flow_resets += 1;
        }
        self.flows.insert(key, state);
    }

    /// Releases attempts whose answer window has passed at `now` (all with `None`).
    fn release(&mut self, now: Option<Timestamp>, out: &mut Vec<PacketEvent>) {
        while let Some((seq, ev, key)) = self.queue.front().copied() {
            let due = match now {
                Some(t) => t.unix_ms - ev.time.unix_ms > ANSWER_WINDOW_MS,
                None => true,
            };
            if !due && self.queue.len() <= MAX_PENDING {
                break;
            }
            if !due {
                self.stats.evicted_pending += 1;
            }
            self.queue.pop_front();
            if self.flows.get(&key) == Some(&FlowState::Pending(seq)) {
                self.flows.insert(key, FlowState::Seen);
            }
            out.push(ev);
        }
    }

    fn packet(&mut self, p: Pkt, out: &mut Vec<PacketEvent>) {
        self.release(Some(p.time), out);
        let k = p.key;
        let r = k.reverse();
        if p.proto == Proto::Icmp {
            if let Some(q) = p.quoted {
                self.answer(q, ConnOutcome::Unreachable);
                return;
            }
            // Echo requests are attempts; replies answer them.
            if matches!(p.icmp_type, 0 | 129) {
                self.answer(r, ConnOutcome::Open);
                return;
            }
            if !matches!(p.icmp_type, 8 | 128) {
                return;
            }
        }
        let f = TcpFlags(p.flags);
        // An answer to an attempt from the other side?
        if matches!(self.flows.get(&r), Some(FlowState::Pending(_))) {
            let outcome = match p.proto {
                Proto::Tcp if f.has(TcpFlags::RST) => Some(ConnOutcome::Reset),
                Proto::Tcp if f.has(TcpFlags::SYN | TcpFlags::ACK) => Some(ConnOutcome::Open),
                Proto::Tcp => None,
                _ => Some(ConnOutcome::Open),
            };
            if let Some(o) = outcome {
                self.answer(r, o);
                return;
            }
        }
        match self.flows.get(&k).copied() {
            Some(FlowState::Established) => {
                // The prober's ACK completing the handshake.
                if p.proto == Proto::Tcp && f.has(TcpFlags::ACK) && !f.has(TcpFlags::SYN) {
                    for (_, ev, key) in self.queue.iter_mut().rev() {
                        if *key == k {
                            ev.completed = true;
                            break;
                        }
                    }
                }
                return;
            }
            Some(FlowState::Pending(_)) => return, // retransmission, or its own RST
            _ => {}
        }
        if matches!(
            self.flows.get(&r),
            Some(FlowState::Seen | FlowState::Established)
        ) {
            self.remember(k, FlowState::Seen);
            return; // the other side spoke first: this is an answer or traffic
        }
        if p.proto == Proto::Tcp {
            let mid_stream = f.has(TcpFlags::ACK) && (p.payload > 0 || f.has(TcpFlags::PSH));
            let answer_like = f.has(TcpFlags::SYN | TcpFlags::ACK) || f.has(TcpFlags::RST);
            if mid_stream || answer_like {
                self.remember(k, FlowState::Seen);
                return;
            }
        }
        let ev = PacketEvent {
            time: p.time,
            source: k.src,
            dest: k.dst,
            proto: p.proto,
            sport: k.sport,
            dport: if p.proto == Proto::Icmp {
                u16::from(p.icmp_type)
            } else {
                k.dport
            },
            flags: TcpFlags(if p.proto == Proto::Tcp { p.flags } else { 0 }),
            action: Default::default(),
            outcome: ConnOutcome::NoAnswer,
            completed: false,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push_back((seq, ev, k));
        self.remember(k, FlowState::Pending(seq));
    }

    /// Releases every attempt still waiting (end of capture).
    pub fn finish(&mut self, out: &mut Vec<PacketEvent>) {
        self.release(None, out);
    }
}

/// Decodes one frame of the given link type.
fn decode(linktype: i32, data: &[u8], time: Timestamp) -> Option<(Pkt, &[u8])> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let ip_at = |off: usize| data.get(off..).and_then(|d| SlicedPacket::from_ip(d).ok());
    let sliced = match linktype {
        1 => SlicedPacket::from_ethernet(data).ok()?,
        113 => ip_at(16)?,
        276 => ip_at(20)?,
        101 | 12 | 14 | 228 | 229 => ip_at(0)?,
        0 | 108 => ip_at(4)?,
        _ => return None,
    };
    let (src, dst, ipproto) = match sliced.net? {
        NetSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.protocol().0,
            )
        }
        NetSlice::Ipv6(v6) => {
            let h = v6.header();
            (
                IpAddr::V6(h.source_addr()).to_canonical(),
                IpAddr::V6(h.destination_addr()).to_canonical(),
                0,
            )
        }
        _ => return None,
    };
    let mut p = Pkt {
        time,
        key: FlowKey {
            src,
            dst,
            sport: 0,
            dport: 0,
            proto: ipproto,
        },
        proto: Proto::Other(ipproto),
        flags: 0,
        payload: 0,
        icmp_type: 0,
        quoted: None,
        seq: 0,
    };
    let mut payload: &[u8] = &[];
    match sliced.transport? {
        TransportSlice::Tcp(t) => {
            p.proto = Proto::Tcp;
            p.key.proto = TCP;
            p.key.sport = t.source_port();
            p.key.dport = t.destination_port();
            let bit = |b: bool, v: u8| if b { v } else { 0 };
            p.flags = bit(t.fin(), TcpFlags::FIN)
                | bit(t.syn(), TcpFlags::SYN)
                | bit(t.rst(), TcpFlags::RST)
                | bit(t.psh(), TcpFlags::PSH)
                | bit(t.ack(), TcpFlags::ACK)
                | bit(t.urg(), TcpFlags::URG);
            p.payload = t.payload().len();
            p.seq = t.sequence_number();
            payload = t.payload();
        }
        TransportSlice::Udp(u) => {
            p.proto = Proto::Udp;
            p.key.proto = UDP;
            p.key.sport = u.source_port();
            p.key.dport = u.destination_port();
            p.payload = u.payload().len();
        }
        TransportSlice::Icmpv4(i) => {
            p.proto = Proto::Icmp;
            p.key.proto = ICMP;
            p.icmp_type = i.type_u8();
            if p.icmp_type == 3 {
                p.quoted = quoted_flow(i.payload());
            }
        }
        TransportSlice::Icmpv6(i) => {
            p.proto = Proto::Icmp;
            p.key.proto = ICMP;
            p.icmp_type = i.type_u8();
            if p.icmp_type == 1 {
                p.quoted = quoted_flow(i.payload());
            }
        }
        _ => return None,
    }
    Some((p, payload))
}

/// The flow quoted in an ICMP error: the original IP header and the first 8 bytes.
fn quoted_flow(b: &[u8]) -> Option<FlowKey> {
    let v = b.first()? >> 4;
    let (src, dst, proto, off) = match v {
        4 => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            let s: [u8; 4] = b.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = b.get(16..20)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), *b.get(9)?, ihl)
        }
        6 => {
            let s: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = b.get(24..40)?.try_into().ok()?;
            (
                IpAddr::from(s).to_canonical(),
                IpAddr::from(d).to_canonical(),
                *b.get(6)?,
                40,
            )
        }
        _ => return None,
    };
    let ports = b.get(off..off + 4)?;
    let (sport, dport) = match proto {
        TCP | UDP => (
            u16::from_be_bytes([ports[0], ports[1]]),
            u16::from_be_bytes([ports[2], ports[3]]),
        ),
        _ => return None,
    };
    Some(FlowKey {
        src,
        dst,
        sport,
        dport,
        proto,
    })
}

/// Reads a whole capture and hands its attempts, in time order of the attempt, to
/// `sink`. Returns the counters; on a truncated or damaged file, everything before the
/// damage is handed over and the error returned with the counters.
pub fn read_capture<R: Read + Send>(
    input: R,
    sink: impl FnMut(PacketEvent),
) -> Result<CaptureStats, (CaptureError, CaptureStats)> {
    read_capture_with(input, sink, None)
}

/// Like [`read_capture`], and hands every TCP segment with payload (or FIN/RST) to
/// `http`, which collects the HTTP requests the capture carries.
pub fn read_capture_with<R: Read + Send>(
    input: R,
    mut sink: impl FnMut(PacketEvent),
    mut http: Option<&mut HttpExtractor>,
) -> Result<CaptureStats, (CaptureError, CaptureStats)> {
    use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};
    let mut tracker = Tracker::default();
    let mut out = Vec::new();
    let mut reader = match create_reader(1 << 16, input) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Ok(tracker.stats),
        Err(_) => return Err((CaptureError::NotACapture, tracker.stats)),
    };
    // Per interface: link type, resolution (units per second), offset (seconds).
    let mut ifaces: Vec<(i32, u64, u64)> = Vec::new();
    let mut legacy = (1i32, false);
    let mut stalls = 0;
    let result = loop {
        let (consumed, pkt) = match reader.next() {
            Ok((offset, block)) => {
                stalls = 0;
                let pkt = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = (h.network.0, h.is_nanosecond_precision());
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if legacy.1 {
                            i64::from(b.ts_usec) / 1_000_000
                        } else {
                            i64::from(b.ts_usec) / 1000
                        };
                        let t = Timestamp {
                            unix_ms: i64::from(b.ts_sec) * 1000 + frac,
                            offset_min: 0,
                        };
                        tracker.stats.packets += 1;
                        let cut = b.data.get(..b.caplen as usize).unwrap_or(b.data);
                        Some(decode(legacy.0, cut, t))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        ifaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push((
                            idb.linktype.0,
                            idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            idb.ts_offset().max(0) as u64,
                        ));
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        tracker.stats.packets += 1;
                        ifaces.get(epb.if_id as usize).map(|&(lt, res, off)| {
                            let (s, frac) = epb.decode_ts(off, res);
                            let ms = (u128::from(frac) * 1000 / u128::from(res)) as i64;
                            let t = Timestamp {
                                unix_ms: i64::from(s) * 1000 + ms,
                                offset_min: 0,
                            };
                            let cut = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
                            decode(lt, cut, t)
                        })
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(_)) => {
                        // No timestamp: counted, not used.
                        tracker.stats.packets += 1;
                        Some(None)
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                (offset, pkt)
            }
            Err(PcapError::Eof) => break Ok(()),
            Err(PcapError::Incomplete(_)) => {
                stalls += 1;
                if stalls > 2 || reader.refill().is_err() {
                    break Err(CaptureError::Truncated);
                }
                continue;
            }
            Err(PcapError::UnexpectedEof) => break Err(CaptureError::Truncated),
            Err(PcapError::ReadError) => break Err(CaptureError::Read),
            Err(_) => break Err(CaptureError::Malformed),
        };
        match pkt {
            Some(Some((p, payload))) => {
                if let Some(h) = http.as_deref_mut() {
                    let closing = TcpFlags(p.flags).has(TcpFlags::FIN)
                        || TcpFlags(p.flags).has(TcpFlags::RST);
                    if p.proto == Proto::Tcp && (!payload.is_empty() || closing) {
                        let k = p.key;
                        h.segment(
                            p.time, k.src, k.sport, k.dst, k.dport, p.seq, closing, payload,
                        );
                    }
                }
                tracker.packet(p, &mut out)
            }
            Some(None) => tracker.stats.skipped += 1,
            None => {}
        }
        reader.consume(consumed);
        for ev in out.drain(..) {
            sink(ev);
        }
    };
    tracker.finish(&mut out);
    for ev in out.drain(..) {
        sink(ev);
    }
    match result {
        Ok(()) => Ok(tracker.stats),
        Err(e) => Err((e, tracker.stats)),
    }
}
