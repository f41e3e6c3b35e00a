//! Response times of every dashboard page and API endpoint over a store of one million
//! findings, through the real server on loopback.
//!
//! `cargo bench -p scantriage-web --bench pages` fills the store once (through the store
//! API, in batches of 100 000 findings per transaction) under `target/bench-web/`, reuses
//! it on later runs, then requests each page 30 times and prints the median, p95 and
//! maximum. `BENCH_FINDINGS` changes the size, `BENCH_DB` the path. Exits with 1 when a
//! page's p95 is 200 ms or more.

use scantriage_core::{
    Category, Decision, DecisionKind, Finding, SourceSummary, Suppressions, Timestamp, Verdict,
};
use scantriage_store::{RunRecord, SqliteStore, Store, StoredCampaign};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SOURCES: u32 = 20_000;
const SIGNATURES: u32 = 300;
const BATCH: u64 = 100_000;
const HOUR_MS: i64 = 3_600_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Fills a new store with `n` findings over 30 days from 20 000 sources, with their
/// summaries, 2 000 active blocks and 50 campaigns.
fn fill(path: &Path, n: u64) {
    let started = Instant::now();
    let mut st = SqliteStore::open(path).unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let end = now_ms();
    let start = end - 30 * 24 * HOUR_MS;
    let uas = [
        "Mozilla/5.0 (compatible; scanner)",
        "curl/8.5.0",
        "python-requests/2.31",
        "Go-http-client/1.1",
        "<script>alert(1)</script>",
    ];
    let mut by_source: Vec<[u64; 5]> = vec![[0; 5]; SOURCES as usize];
    let mut first_last: Vec<(i64, i64)> = vec![(i64::MAX, i64::MIN); SOURCES as usize];
    let mut done = 0u64;
    while done < n {
        let m = BATCH.min(n - done);
        let mut fs = Vec::with_capacity(m as usize);
        for k in 0..m {
            let src = (rng.unit().powi(3) * SOURCES as f64) as u32 % SOURCES;
            let sig = (rng.unit().powi(2) * SIGNATURES as f64) as u32 % SIGNATURES;
            let r = rng.unit();
            let verdict = if r < 0.90 {
                Verdict::Noise
            } else if r < 0.95 {
                Verdict::Unknown
            } else if r < 0.99 {
                Verdict::Relevant
            } else {
                Verdict::Urgent
            };
            let t = start + (rng.unit() * (end - start) as f64) as i64;
            by_source[src as usize][Verdict::ALL.iter().position(|v| *v == verdict).unwrap()] += 1;
            let fl = &mut first_last[src as usize];
            *fl = (fl.0.min(t), fl.1.max(t));
            let mut signatures = vec![format!("bench-sig-{sig:03}")];
            if k % 7 == 0 {
                signatures.push(format!("bench-sig-{:03}", (sig + 1) % SIGNATURES));
            }
            fs.push(Finding {
                time: Timestamp {
                    unix_ms: t,
                    offset_min: 0,
                },
                source: ip(src),
                input: "/var/log/nginx/access.log".into(),
                line: done + k + 1,
                request: format!("GET /probe/{sig}/{}.php?id={} -> 404", k % 97, k),
                status: 404,
                user_agent: uas[(k % uas.len() as u64) as usize].into(),
                signatures,
                cves: vec![],
                category: Category::Recon,
                verdict,
                why: "bench".into(),
            });
        }
        done += m;
        let last = done == n;
        let sources: Vec<SourceSummary> = if last {
            (0..SOURCES)
                .filter(|i| first_last[*i as usize].0 != i64::MAX)
                .map(|i| {
                    let c = by_source[i as usize];
                    let (a, b) = first_last[i as usize];
                    SourceSummary {
                        ip: ip(i),
                        decision: DecisionKind::Ignore,
                        verdict: Verdict::ALL[(0..5).rev().find(|v| c[*v] > 0).unwrap_or(0)],
                        events: c.iter().sum(),
                        findings: c.iter().sum(),
                        signatures: vec![],
                        cves: vec![],
                        reasons: vec!["bench".into()],
                        first_seen: Timestamp {
                            unix_ms: a,
                            offset_min: 0,
                        },
                        last_seen: Timestamp {
                            unix_ms: b,
                            offset_min: 0,
                        },
                        duration_secs: 0,
                        by_verdict: c,
                        port_scan: None,
                        ssh: None,
                        auth: Vec::new(),
                    }
                })
                .collect()
        } else {
            vec![]
        };
        let decisions: Vec<Decision> = if last {
            (0..2000)
                .map(|i| Decision {
                    source: ip(i * 7),
                    kind: DecisionKind::Block,
                    duration_secs: 7 * 86_400,
                    reasons: vec![format!("bench block {i}")],
                    by: "policy".into(),
                    at: Timestamp {
                        unix_ms: end - i as i64 * 60_000,
                        offset_min: 0,
                    },
                })
                .collect()
        } else {
            vec![]
        };
        st.save_run(&RunRecord {
            started_ms: end,
            finished_ms: end,
            inputs: &[],
            lines: m,
            parse_errors: 0,
            findings: &fs,
            sources: &sources,
            decisions: &decisions,
            checkpoints: &[],
        })
        .unwrap();
        eprintln!("filled {done} findings ({:.1?})", started.elapsed());
    }
    let campaigns: Vec<StoredCampaign> = (0..50)
        .map(|i| StoredCampaign {
            kind: "signature".into(),
            key: format!("bench-sig-{i:03}"),
            sources: 1000 - i * 10,
            requests: 10_000 - i * 100,
            first_seen_ms: start,
            last_seen_ms: end,
            data: "{}".into(),
        })
        .collect();
    st.save_campaigns(&campaigns).unwrap();
}

fn get(addr: SocketAddr, path: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let status = std::str::from_utf8(&buf[..12.min(buf.len())])
        .ok()
        .and_then(|h| h.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, buf.len())
}

fn main() {
    let n: u64 = std::env::var("BENCH_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path = std::env::var_os("BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/bench-web/st-{n}.db"))
        });
    let have = SqliteStore::open(&path)
        .and_then(|s| s.counts())
        .map(|c| c.findings)
        .unwrap_or(0);
    if have != n {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        fill(&path, n);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let opts = scantriage_web::ServeOptions {
        db: path.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        token: None,
        author: "bench".into(),
        refuse_block: Arc::new(|_| false),
        suppressions: Arc::new(|vs: &[scantriage_core::PersonVerdict]| {
            Suppressions::from_verdicts(vs)
        }),
        block_secs: 86_400,
    };
    std::thread::spawn(move || {
        scantriage_web::serve(opts, |a| tx.send(a).unwrap()).unwrap();
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    // The source with the most findings.
    let heavy = ip(0);
    let pages = [
        "/".to_string(),
        "/queue".into(),
        "/decisions".into(),
        "/rules".into(),
        format!("/source/{heavy}"),
        "/api/overview".into(),
        "/api/queue".into(),
        "/api/decisions".into(),
        "/api/rules".into(),
        format!("/api/source/{heavy}"),
        "/api/campaigns".into(),
    ];
    println!("store: {} ({n} findings)", path.display());
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10}",
        "page", "median ms", "p95 ms", "max ms", "bytes"
    );
    let mut slow = false;
    for p in &pages {
        for _ in 0..2 {
            get(addr, p);
        }
        let mut times: Vec<f64> = Vec::new();
        let mut bytes = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let (status, len) = get(addr, p);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{p}");
            bytes = len;
        }
        times.sort_by(f64::total_cmp);
        let (median, p95, max) = (times[15], times[28], times[29]);
        slow |= p95 >= 200.0;
        println!("{p:<28} {median:>10.1} {p95:>10.1} {max:>10.1} {bytes:>10}");
    }
    if slow {
        eprintln!("a page's p95 is 200 ms or more");
        std::process::exit(1);
    }
}
