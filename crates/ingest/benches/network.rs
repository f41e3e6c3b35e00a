//! Throughput of the network-view parsers: sshd, mail/FTP and netfilter lines per second, and
//! packets per second from a pcap (with connection tracking). One core.
//!
//! `cargo bench -p scantriage-ingest --bench network`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scantriage_ingest::pcap::read_capture;
use scantriage_ingest::{InputFormat, PrefixActions, SyslogContext, SystemParser};
use scantriage_testkit::pcap::{flags, tcp, Capture};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn sshd_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let ip = format!("203.0.{}.{}", (i / 250) % 250, i % 250 + 1);
            match i % 4 {
                0 => format!("Nov  3 00:00:{:02} web1 sshd[812]: Failed password for invalid user admin{} from {ip} port {} ssh2", i % 60, i % 50, 40000 + i % 20000),
                1 => format!("Nov  3 00:00:{:02} web1 sshd[812]: Invalid user oracle from {ip} port {}", i % 60, 40000 + i % 20000),
                2 => format!("Nov  3 00:00:{:02} web1 sshd[812]: Connection closed by authenticating user root {ip} port {} [preauth]", i % 60, 40000 + i % 20000),
                _ => format!("2025-11-03T00:00:{:02}.123456+00:00 web1 sshd[812]: Accepted publickey for alice from {ip} port {} ssh2: ED25519 SHA256:x", i % 60, 40000 + i % 20000),
            }
        })
        .collect()
}

fn mail_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let ip = format!("203.0.{}.{}", (i / 250) % 250, i % 250 + 1);
            let s = i % 60;
            match i % 4 {
                0 => format!("Nov  3 00:00:{s:02} mx postfix/smtpd[812]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"),
                1 => format!("Nov  3 00:00:{s:02} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<info{}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<abcdef>", i % 50),
                2 => format!("Nov  3 00:00:{s:02} mx postfix/smtpd[812]: connect from unknown[{ip}]"),
                _ => format!("Nov  3 00:00:{s:02} ftp vsftpd[812]: [admin{}] FAIL LOGIN: Client \"::ffff:{ip}\"", i % 50),
            }
        })
        .collect()
}

fn netfilter_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "Nov  3 00:00:{:02} web1 kernel: [123456.789012] DROP-IN: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.{}.{} DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=49 ID=54321 PROTO=TCP SPT=40000 DPT={} WINDOW=1024 RES=0x00 SYN URGP=0",
                i % 60,
                (i / 250) % 250,
                i % 250 + 1,
                i % 65535
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("network");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(10);
    for (name, format, lines) in [
        ("sshd_lines", InputFormat::Sshd, sshd_lines(20_000)),
        ("mail_ftp_lines", InputFormat::Syslog, mail_lines(20_000)),
        (
            "netfilter_lines",
            InputFormat::Netfilter,
            netfilter_lines(20_000),
        ),
    ] {
        let p = SystemParser {
            format,
            ctx: SyslogContext::default(),
            actions: PrefixActions::default(),
        };
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for l in &lines {
                    n += usize::from(matches!(p.parse(black_box(l.as_bytes())), Ok(Some(_))));
                }
                n
            })
        });
    }
    // A SYN sweep with RST answers: 2 packets per attempt.
    let mut cap = Capture::pcap(1);
    let target = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut packets = 0u64;
    for i in 0..100_000u32 {
        let s = IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + i % 4096));
        let port = (i % 60_000) as u16 + 1;
        cap.add(
            1_762_124_401_000 + i64::from(i),
            &tcp(s, target, 40000, port, flags::SYN, b""),
        );
        cap.add(
            1_762_124_401_000 + i64::from(i),
            &tcp(target, s, port, 40000, flags::RST | flags::ACK, b""),
        );
        packets += 2;
    }
    let bytes = cap.bytes().to_vec();
    g.throughput(Throughput::Elements(packets));
    g.bench_function("pcap_packets", |b| {
        b.iter(|| {
            let mut n = 0u64;
            read_capture(black_box(&bytes[..]), |_| n += 1).unwrap();
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
