//! Property tests: parsing and format detection never panic, whatever the bytes.

use proptest::prelude::*;
use scantriage_ingest::{detect_format, LogFormat, Parser, ParserConfig};

fn parser(f: LogFormat) -> Parser {
    Parser::new(ParserConfig {
        trusted_proxies: vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
        ..ParserConfig::new(f)
    })
}

/// Bytes drawn from the alphabet of log lines, so that parsing gets deep.
fn loggy() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b" -[]\"\\:/.,{}0123456789+abcfGETHTP\x00\xff\r".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..200)
}

/// A valid line with a random splice, to reach the later fields.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (0..base.len(), 0..base.len(), loggy()).prop_map(move |(a, b, ins)| {
        let (a, b) = (a.min(b), a.max(b));
        let mut v = base[..a].to_vec();
        v.extend(ins);
        v.extend_from_slice(&base[b..]);
        v
    })
}

const COMBINED: &[u8] = br#"example.org:443 10.0.0.1 - - [03/Nov/2025:00:00:01 +0100] "GET /a\"b HTTP/1.1" 200 12 "-" "ua \"x\"" "1.2.3.4, 10.0.0.2" 0.1"#;
const NGINX: &[u8] = br#"{"remote_addr":"10.0.0.1","time_local":"03/Nov/2025:00:00:01 +0100","request":"GET / HTTP/1.1","status":"200","body_bytes_sent":"1","http_x_forwarded_for":"1.2.3.4"}"#;
const CADDY: &[u8] = br#"{"ts":1730592001.5,"request":{"remote_ip":"10.0.0.1","client_ip":"1.2.3.4","method":"GET","uri":"/","proto":"HTTP/1.1","headers":{"User-Agent":["x"]}},"status":200,"size":1}"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_any_bytes(line in prop::collection::vec(any::<u8>(), 0..300)) {
        for f in LogFormat::ALL {
            let _ = parser(f).parse(&line);
        }
    }

    #[test]
    fn parse_never_panics_on_loggy_bytes(line in loggy()) {
        for f in LogFormat::ALL {
            let _ = parser(f).parse(&line);
        }
    }

    #[test]
    fn combined_never_panics_on_mutated_lines(line in mutated(COMBINED)) {
        let _ = parser(LogFormat::Combined).parse(&line);
    }

    #[test]
    fn json_never_panics_on_mutated_lines(a in mutated(NGINX), b in mutated(CADDY)) {
        for l in [&a, &b] {
            let _ = parser(LogFormat::NginxJson).parse(l);
            let _ = parser(LogFormat::Caddy).parse(l);
        }
    }

    #[test]
    fn detect_never_panics(lines in prop::collection::vec(loggy(), 0..30)) {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let _ = detect_format(&refs);
    }
}

#[test]
fn the_login_bases_are_events() {
    use scantriage_ingest::{InputFormat, PrefixActions, SyslogContext, SystemEvent, SystemParser};
    let p = SystemParser {
        format: InputFormat::Syslog,
        ctx: SyslogContext::default(),
        actions: PrefixActions::default(),
    };
    for l in system::LOGINS {
        assert!(
            matches!(p.parse(l), Ok(Some(SystemEvent::Auth(_)))),
            "{}",
            String::from_utf8_lossy(l)
        );
    }
}

#[test]
fn the_mutation_bases_parse() {
    assert!(parser(LogFormat::Combined).parse(COMBINED).is_ok());
    assert!(parser(LogFormat::NginxJson).parse(NGINX).is_ok());
    assert!(parser(LogFormat::Caddy).parse(CADDY).is_ok());
}

mod system {
    use proptest::prelude::*;
    use scantriage_ingest::pcap::read_capture;
    use scantriage_ingest::{
        detect_input, InputFormat, PrefixActions, SyslogContext, SystemParser,
    };

    const SSHD: &[u8] = b"Nov  3 00:00:01 web1 sshd[812]: Failed password for invalid user admin from 203.0.113.7 port 52312 ssh2";
    const CLOSED: &[u8] = b"2025-11-03T00:00:01+01:00 web1 sshd[1]: Connection closed by authenticating user root 203.0.113.7 port 52316 [preauth]";
    const NF: &[u8] = b"Nov  3 00:00:01 web1 kernel: [1.2] DROP IN=eth0 OUT= SRC=2001:db8::1 DST=192.0.2.1 LEN=44 PROTO=TCP SPT=40000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0";
    const JOURNAL: &[u8] = br#"{"__REALTIME_TIMESTAMP":"1762124401123456","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Invalid user a from 192.0.2.1 port 2"}"#;

    /// Mail and FTP login lines, one per parser and envelope.
    pub const LOGINS: [&[u8]; 9] = [
        b"Nov 25 10:00:01 mx postfix/smtpd[123]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=a",
        b"Nov 25 10:00:04 mx postfix/submission/smtpd[77]: 4Bc2Xx1234z: client=l[192.0.2.44], sasl_method=PLAIN, sasl_username=alice",
        b"2026-11-25 10:00:01 +0100 [12] dovecot_login authenticator failed for (helo) [203.0.113.5]:54321: 535 Incorrect authentication data (set_id=user)",
        b"Nov 25 10:00:01 mx dovecot: imap-login: Disconnected (auth failed, 3 attempts in 2 secs): user=<info>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1, TLS, session=<s>",
        b"Nov 25 10:00:01 auth-worker(123): Info: pam(user,203.0.113.5,<sess>): pam_authenticate() failed: Authentication failure",
        b"Wed Nov 25 10:00:01 2026 [pid 1234] [alice] FAIL LOGIN: Client \"::ffff:203.0.113.5\"",
        b"Nov 25 10:00:01 ftp proftpd[1234]: ftp.example (h[203.0.113.5]) - USER x (Login failed): Incorrect password",
        b"Nov 25 10:00:01 ftp pure-ftpd: (?@203.0.113.5) [WARNING] Authentication failed for user [x]",
        b"Nov 25 10:00:01 mx postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 <s@x>: Relay access denied; from=<a@b.c>",
    ];

    fn parser() -> SystemParser {
        SystemParser {
            format: InputFormat::Syslog,
            ctx: SyslogContext::default(),
            actions: PrefixActions::default(),
        }
    }

    fn spliced(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        let alphabet: Vec<u8> = b" :[]=.0123456789abcdefSYNACKINportfrom\"{}\xff".to_vec();
        (
            0..base.len(),
            0..base.len(),
            prop::collection::vec(prop::sample::select(alphabet), 0..40),
        )
            .prop_map(move |(a, b, ins)| {
                let (a, b) = (a.min(b), a.max(b));
                let mut v = base[..a].to_vec();
                v.extend(ins);
                v.extend_from_slice(&base[b..]);
                v
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn system_parsers_never_panic(line in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parser().parse(&line);
            let _ = detect_input(&line, &[&line]);
        }

        #[test]
        fn mutated_system_lines_never_panic(
            a in spliced(SSHD), b in spliced(CLOSED), c in spliced(NF), d in spliced(JOURNAL)
        ) {
            for l in [&a, &b, &c, &d] {
                let _ = parser().parse(l);
            }
        }

        #[test]
        fn spliced_login_lines_never_panic(
            a in spliced(LOGINS[0]), b in spliced(LOGINS[2]), c in spliced(LOGINS[3]),
            d in spliced(LOGINS[4]), e in spliced(LOGINS[5]), f in spliced(LOGINS[6]),
            g in spliced(LOGINS[7]), h in spliced(LOGINS[1])
        ) {
            for l in [&a, &b, &c, &d, &e, &f, &g, &h] {
                let _ = parser().parse(l);
            }
        }

        #[test]
        fn mutated_login_lines_never_panic(k in 0usize..9, seed in any::<u64>(), ins in prop::collection::vec(any::<u8>(), 0..40)) {
            let base = LOGINS[k];
            let a = (seed as usize) % base.len();
            let b = ((seed >> 32) as usize) % base.len();
            let (a, b) = (a.min(b), a.max(b));
            let mut v = base[..a].to_vec();
            v.extend(&ins);
            v.extend_from_slice(&base[b..]);
            let _ = parser().parse(&v);
            let _ = scantriage_ingest::parse_login(&v, &SyslogContext::default());
            let _ = detect_input(b"", &[&v]);
        }

        #[test]
        fn captures_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
            let _ = read_capture(&bytes[..], |_| {});
            // A real header followed by junk, cut anywhere.
            let mut f = scantriage_testkit::pcap::Capture::pcap(1);
            f.add(1000, &bytes);
            let b = f.bytes();
            let _ = read_capture(&b[..cut.min(b.len())], |_| {});
            let mut g = scantriage_testkit::pcap::Capture::pcapng(101);
            g.add(1000, &bytes);
            let _ = read_capture(g.bytes(), |_| {});
        }
    }
}
