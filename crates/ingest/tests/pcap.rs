//! Packet captures built by hand (see `scantriage_testkit::pcap`): connection outcomes,
//! link types, pcap and pcapng, truncation; and the golden capture
//! `tests/corpus/pcap/scan.pcap` with `scan.expected.jsonl` (regenerate both with
//! `UPDATE_GOLDEN=1`, then review the diff).

use scantriage_core::{ConnOutcome, PacketEvent, Proto, TcpFlags};
use scantriage_ingest::pcap::{read_capture, CaptureError};
use scantriage_testkit::pcap::{flags::*, tcp, udp, unreachable, Capture};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn read(bytes: &[u8]) -> Vec<PacketEvent> {
    let mut v = Vec::new();
    read_capture(bytes, |e| v.push(e)).unwrap();
    v
}

/// A scanner sweeping ports 20..=30 with SYNs; 22 and 80 open (scanner resets), 25
/// silent, the rest closed; then a client that completes a handshake and sends data;
/// UDP probes (answered, unreachable, silent); FIN/NULL/XMAS/ACK probes.
fn scenario(c: &mut Capture, scanner: IpAddr, target: IpAddr, client: IpAddr) {
    let mut t = 1_762_124_401_000i64;
    for port in (20..=30).chain([80]) {
        c.add(t, &tcp(scanner, target, 40000, port, SYN, b""));
        t += 1;
        match port {
            22 | 80 => {
                c.add(t, &tcp(target, scanner, port, 40000, SYN | ACK, b""));
                c.add(t + 1, &tcp(scanner, target, 40000, port, RST, b""));
            }
            25 => {}
            _ => {
                c.add(t, &tcp(target, scanner, port, 40000, RST | ACK, b""));
            }
        }
        t += 10;
    }
    // A client: handshake, data both ways, close.
    c.add(t, &tcp(client, target, 50000, 80, SYN, b""));
    c.add(t + 1, &tcp(target, client, 80, 50000, SYN | ACK, b""));
    c.add(t + 2, &tcp(client, target, 50000, 80, ACK, b""));
    c.add(
        t + 3,
        &tcp(
            client,
            target,
            50000,
            80,
            PSH | ACK,
            b"GET / HTTP/1.1\r\n\r\n",
        ),
    );
    c.add(
        t + 4,
        &tcp(
            target,
            client,
            80,
            50000,
            PSH | ACK,
            b"HTTP/1.1 200 OK\r\n\r\n",
        ),
    );
    c.add(t + 9000, &tcp(client, target, 50000, 80, ACK, b""));
    c.add(t + 9001, &tcp(client, target, 50000, 80, FIN | ACK, b""));
    t += 10_000;
    // UDP: 53 answered, 161 unreachable, 123 silent.
    c.add(t, &udp(scanner, target, 41000, 53, b"q"));
    c.add(t + 1, &udp(target, scanner, 53, 41000, b"a"));
    let probe = udp(scanner, target, 41000, 161, b"q");
    c.add(t + 2, &probe);
    c.add(t + 3, &unreachable(target, &probe));
    c.add(t + 4, &udp(scanner, target, 41000, 123, b"q"));
    t += 100;
    // Stealth probes: closed ports answer RST, open ones nothing.
    for (port, f) in [(1000, FIN), (1001, 0), (1002, FIN | PSH | URG), (1003, ACK)] {
        c.add(t, &tcp(scanner, target, 40001, port, f, b""));
        if port != 1000 {
            c.add(t + 1, &tcp(target, scanner, port, 40001, RST, b""));
        }
        t += 10;
    }
}

fn check(events: &[PacketEvent], scanner: IpAddr, client: IpAddr) {
    let from_scanner: Vec<&PacketEvent> = events.iter().filter(|e| e.source == scanner).collect();
    assert_eq!(events.len(), from_scanner.len() + 1, "{events:#?}");
    let outcome = |proto: Proto, port: u16| {
        events
            .iter()
            .find(|e| e.source == scanner && e.proto == proto && e.dport == port)
            .unwrap_or_else(|| panic!("no {proto} {port}"))
            .outcome
    };
    assert_eq!(outcome(Proto::Tcp, 22), ConnOutcome::Open);
    assert_eq!(outcome(Proto::Tcp, 80), ConnOutcome::Open);
    assert_eq!(outcome(Proto::Tcp, 25), ConnOutcome::NoAnswer);
    assert_eq!(outcome(Proto::Tcp, 23), ConnOutcome::Reset);
    assert_eq!(outcome(Proto::Udp, 53), ConnOutcome::Open);
    assert_eq!(outcome(Proto::Udp, 161), ConnOutcome::Unreachable);
    assert_eq!(outcome(Proto::Udp, 123), ConnOutcome::NoAnswer);
    assert_eq!(outcome(Proto::Tcp, 1000), ConnOutcome::NoAnswer);
    assert_eq!(outcome(Proto::Tcp, 1001), ConnOutcome::Reset);
    let flags = |port| {
        events
            .iter()
            .find(|e| e.dport == port && e.source == scanner)
            .unwrap()
            .flags
    };
    assert_eq!(
        flags(1002),
        TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG)
    );
    assert_eq!(flags(1003), TcpFlags(TcpFlags::ACK));
    assert_eq!(from_scanner.len(), 12 + 3 + 4);
    // The scanner's own RST after a SYN-ACK does not complete the handshake.
    assert!(from_scanner.iter().all(|e| !e.completed));
    let c: Vec<&PacketEvent> = events.iter().filter(|e| e.source == client).collect();
    assert_eq!(
        c.len(),
        1,
        "one attempt from the client, its data is not probes"
    );
    assert_eq!((c[0].outcome, c[0].completed), (ConnOutcome::Open, true));
}

#[test]
fn outcomes_for_every_link_type_and_both_file_formats() {
    for v6 in [false, true] {
        let (s, t, c) = if v6 {
            (ip("2001:db8::7"), ip("2001:db8::1"), ip("2001:db8::10"))
        } else {
            (ip("203.0.113.7"), ip("192.0.2.1"), ip("192.0.2.10"))
        };
        for lt in [1, 113, 276, 101] {
            for ng in [false, true] {
                let mut cap = if ng {
                    Capture::pcapng(lt)
                } else {
                    Capture::pcap(lt)
                };
                scenario(&mut cap, s, t, c);
                let events = read(cap.bytes());
                check(&events, s, c);
            }
        }
    }
}

#[test]
fn truncated_capture_keeps_what_came_before() {
    let (s, t, c) = (ip("203.0.113.7"), ip("192.0.2.1"), ip("192.0.2.10"));
    let mut cap = Capture::pcap(1);
    scenario(&mut cap, s, t, c);
    let b = cap.bytes();
    let mut got = Vec::new();
    let err = read_capture(&b[..b.len() - 5], |e| got.push(e)).unwrap_err();
    assert_eq!(err.0, CaptureError::Truncated);
    assert!(got.len() >= 15, "{}", got.len());
    assert!(read_capture(&b"not a capture at all"[..], |_| {}).is_err());
    assert!(read_capture(&b""[..], |_| {}).is_ok());
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/pcap")
}

#[test]
fn golden_capture() {
    let mut cap = Capture::pcap(1);
    scenario(
        &mut cap,
        ip("203.0.113.7"),
        ip("192.0.2.1"),
        ip("192.0.2.10"),
    );
    let mut v6 = Capture::pcapng(113);
    scenario(
        &mut v6,
        ip("2001:db8::7"),
        ip("2001:db8::1"),
        ip("2001:db8::10"),
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    for (name, cap) in [("scan.pcap", &cap), ("scan6.pcapng", &v6)] {
        let path = corpus().join(name);
        if update {
            std::fs::write(&path, cap.bytes()).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            bytes,
            cap.bytes(),
            "{name} differs from the builder's output"
        );
        let mut out = String::new();
        for e in read(&bytes) {
            out.push_str(
                &serde_json::json!({
                    "time": e.time.to_string(),
                    "source": e.source.to_string(),
                    "dest": e.dest.to_string(),
                    "proto": e.proto.to_string(),
                    "sport": e.sport,
                    "dport": e.dport,
                    "flags": e.flags.to_string(),
                    "outcome": e.outcome.as_str(),
                    "completed": e.completed,
                })
                .to_string(),
            );
            out.push('\n');
        }
        let expected = path.with_extension("expected.jsonl");
        if update {
            std::fs::write(&expected, &out).unwrap();
        }
        assert_eq!(out, std::fs::read_to_string(&expected).unwrap(), "{name}");
    }
}
