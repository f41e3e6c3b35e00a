//! Port-scan detection per source, from packet events (firewall logs and captures).
//!
//! Two tests run side by side on every source, and the first to fire detects the scan:
//!
//! - **Threshold Random Walk** (Jung, Paxson, Berger, Balakrishnan, *Fast Portscan
//!   Detection Using Sequential Hypothesis Testing*, 2004), where the outcome of an
//!   attempt is known (captures). Adapted to the ports of a single server: every *first*
//!   attempt at a distinct (host, port, protocol) is a trial; an answer as open is a
//!   success, a reset, an ICMP unreachable or silence a failure. The log-likelihood ratio
//!   moves by `ln(θ1/θ0)` on success and `ln((1-θ1)/(1-θ0))` on failure; crossing
//!   `ln(β/α)` means scanner, falling below `ln((1-β)/(1-α))` means benign (and the walk
//!   restarts at zero, so a source that turns to scanning later is still caught). With
//!   the defaults (θ0 = 0.8, θ1 = 0.2, α = 0.01, β = 0.99) four failures in a row decide.
//! - **Decaying distinct count**, where only dropped packets are logged: each distinct
//!   (host, port, protocol) a source touched weighs `exp(-age / decay)`; the sum reaching
//!   `distinct_threshold` means scanner. A long decay (six hours by default) catches slow
//!   scans, and memory stays bounded whatever the window: per source at most
//!   [`MAX_KEYS`] keys are kept (the oldest is dropped), and at most
//!   `max_sources` sources (the least recently seen of a sample is evicted, counted).
//!
//! Time comes from the events. The kind is `vertical` (one host, many ports),
//! `horizontal` (one port, many hosts) or `block` (many of both); the technique comes
//! from the flags ([`ScanTechnique::of`]). Each detection reports the ports and hosts
//! touched, the probes before detection and the duration.

use scantriage_core::{
    ConnOutcome, FirewallAction, PacketEvent, Proto, ScanSummary, ScanTechnique, Timestamp,
};
use std::collections::HashMap;
use std::net::IpAddr;

/// Distinct (host, port, protocol) keys remembered per source.
pub const MAX_KEYS: usize = 256;
/// Ports listed per detection once detected (the count goes on).
const MAX_PORTS_KEPT: usize = 4096;
/// Hosts listed per detection once detected (the count goes on).
const MAX_HOSTS_KEPT: usize = 256;

/// Thresholds of the port-scan detector; the defaults serve a typical server.
#[derive(Debug, Clone, PartialEq)]
pub struct PortScanConfig {
    /// TRW: probability that a benign source's first attempt succeeds.
    pub theta0: f64,
    /// TRW: probability that a scanner's first attempt succeeds.
    pub theta1: f64,
    /// TRW: false-positive bound.
    pub alpha: f64,
    /// TRW: detection probability.
    pub beta: f64,
    /// Decaying distinct (host, port) count that makes a scan.
    pub distinct_threshold: f64,
    /// Decay time constant of the distinct count, in seconds.
    pub decay_secs: u64,
    /// Sources tracked at most.
    pub max_sources: usize,
    /// Ignore packets the firewall accepted (only with firewall logs that log accepts).
    pub ignore_accepted: bool,
}

impl Default for PortScanConfig {
    fn default() -> Self {
        PortScanConfig {
            theta0: 0.8,
            theta1: 0.2,
            alpha: 0.01,
            beta: 0.99,
            distinct_threshold: 8.0,
            decay_secs: 6 * 3600,
            max_sources: 100_000,
            ignore_accepted: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    host: IpAddr,
    port: u16,
    udp: bool,
    last_ms: i64,
}

#[derive(Debug, Clone)]
struct Detected {
    method: &'static str,
    at: Timestamp,
    probes_before: u64,
    ports: Vec<u16>,
    hosts: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
struct SourceState {
    first: Timestamp,
    last: Timestamp,
    keys: Vec<Key>,
    probes: u64,
    open: u64,
    techniques: [u64; 8],
    /// SYN probes answered open whose handshake the prober completed / did not.
    open_completed: u64,
    open_half: u64,
    llr: f64,
    detected: Option<Box<Detected>>,
}

impl SourceState {
    fn new(t: Timestamp) -> SourceState {
        SourceState {
            first: t,
            last: t,
            keys: Vec::new(),
            probes: 0,
            open: 0,
            techniques: [0; 8],
            open_completed: 0,
            open_half: 0,
            llr: 0.0,
            detected: None,
        }
    }

    fn distinct(&self, now_ms: i64, decay_ms: f64) -> f64 {
        self.keys
            .iter()
            .map(|k| (-((now_ms - k.last_ms).max(0) as f64) / decay_ms).exp())
            .sum()
    }
}

/// Counters of the detector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortScanStats {
    /// Probes considered.
    pub probes: u64,
    /// Sources evicted to bound memory.
    pub evicted: u64,
}

/// The port-scan detector. Feed it packet events in time order.
#[derive(Debug, Clone)]
pub struct PortScanDetector {
    cfg: PortScanConfig,
    step_success: f64,
    step_failure: f64,
    upper: f64,
    lower: f64,
    sources: HashMap<IpAddr, SourceState, foldhash::fast::RandomState>,
    /// Counters.
    pub stats: PortScanStats,
}

impl PortScanDetector {
    /// A detector with these thresholds.
    pub fn new(cfg: PortScanConfig) -> PortScanDetector {
        let c = |x: f64| x.clamp(1e-9, 1.0 - 1e-9);
        let (t0, t1, a, b) = (c(cfg.theta0), c(cfg.theta1), c(cfg.alpha), c(cfg.beta));
        PortScanDetector {
            step_success: (t1 / t0).ln(),
            step_failure: ((1.0 - t1) / (1.0 - t0)).ln(),
            upper: (b / a).ln(),
            lower: ((1.0 - b) / (1.0 - a)).ln(),
            cfg,
            sources: HashMap::default(),
            stats: PortScanStats::default(),
        }
    }

    /// Takes one packet event; returns true when it made its source a detected scanner.
    pub fn observe(&mut self, p: &PacketEvent) -> bool {
        let Some(tech) = ScanTechnique::of(p) else {
            return false;
        };
        if self.cfg.ignore_accepted && p.action == FirewallAction::Accepted {
            return false;
        }
        self.stats.probes += 1;
        if !self.sources.contains_key(&p.source) && self.sources.len() >= self.cfg.max_sources {
            self.evict();
        }
        let decay_ms = (self.cfg.decay_secs.max(1) * 1000) as f64;
        let (upper, lower) = (self.upper, self.lower);
        let (ss, sf) = (self.step_success, self.step_failure);
        let threshold = self.cfg.distinct_threshold;
        let s = self
            .sources
            .entry(p.source)
            .or_insert_with(|| SourceState::new(p.time));
        let now = p.time.unix_ms;
        s.first = s.first.min(p.time);
        s.last = s.last.max(p.time);
        s.probes += 1;
        s.techniques[tech as usize] += 1;
        s.open += u64::from(p.outcome == ConnOutcome::Open);
        if p.outcome == ConnOutcome::Open
            && matches!(tech, ScanTechnique::Syn | ScanTechnique::Connect)
        {
            if p.completed {
                s.open_completed += 1;
            } else {
                s.open_half += 1;
            }
        }
        let udp = p.proto == Proto::Udp;
        let new_key = match s
            .keys
            .iter_mut()
            .find(|k| k.host == p.dest && k.port == p.dport && k.udp == udp)
        {
            Some(k) => {
                k.last_ms = k.last_ms.max(now);
                false
            }
            None => {
                if s.keys.len() >= MAX_KEYS {
                    let oldest = (0..s.keys.len())
                        .min_by_key(|&i| s.keys[i].last_ms)
                        .unwrap_or(0);
                    s.keys.swap_remove(oldest);
                }
                s.keys.push(Key {
                    host: p.dest,
                    port: p.dport,
                    udp,
                    last_ms: now,
                });
                true
            }
        };
        if let Some(d) = &mut s.detected {
            if new_key {
                if d.ports.len() < MAX_PORTS_KEPT {
                    if let Err(i) = d.ports.binary_search(&p.dport) {
                        d.ports.insert(i, p.dport);
                    }
                }
                if d.hosts.len() < MAX_HOSTS_KEPT {
                    if let Err(i) = d.hosts.binary_search(&p.dest) {
                        d.hosts.insert(i, p.dest);
                    }
                }
            }
            return false;
        }
        let mut method = None;
        if new_key {
            if let Some(ok) = p.outcome.succeeded() {
                s.llr += if ok { ss } else { sf };
                if s.llr >= upper {
                    method = Some("trw");
                } else if s.llr <= lower {
                    s.llr = 0.0;
                }
            }
        }
        if method.is_none() && new_key && s.distinct(now, decay_ms) >= threshold {
            method = Some("distinct");
        }
        let Some(method) = method else { return false };
        let mut ports: Vec<u16> = s.keys.iter().map(|k| k.port).collect();
        ports.sort_unstable();
        ports.dedup();
        let mut hosts: Vec<IpAddr> = s.keys.iter().map(|k| k.host).collect();
        hosts.sort_unstable();
        hosts.dedup();
        s.detected = Some(Box::new(Detected {
            method,
            at: p.time,
            probes_before: s.probes,
            ports,
            hosts,
        }));
        true
    }

    fn evict(&mut self) {
        // Among a sample of undetected sources, the least recently seen goes.
        let victim = self
            .sources
            .iter()
            .filter(|(_, s)| s.detected.is_none())
            .take(8)
            .min_by_key(|(_, s)| s.last)
            .map(|(ip, _)| *ip)
            .or_else(|| self.sources.keys().next().copied());
        if let Some(ip) = victim {
            self.sources.remove(&ip);
            self.stats.evicted += 1;
        }
    }

    /// The detection for a source, if it was detected as a scanner.
    pub fn detection(&self, ip: IpAddr) -> Option<ScanSummary> {
        let s = self.sources.get(&ip)?;
        let d = s.detected.as_ref()?;
        // Closed ports answer a SYN scan and a connect() scan alike; the open ones tell
        // them apart (the prober completes the handshake, or resets it).
        let mut counts = s.techniques;
        let (syn, conn) = (ScanTechnique::Syn as usize, ScanTechnique::Connect as usize);
        if s.open_completed > s.open_half {
            counts[conn] += std::mem::take(&mut counts[syn]);
        } else if s.open_half > 0 {
            counts[syn] += std::mem::take(&mut counts[conn]);
        }
        let mut techniques: Vec<(u64, ScanTechnique)> = ScanTechnique::ALL
            .iter()
            .map(|&t| (counts[t as usize], t))
            .filter(|x| x.0 > 0)
            .collect();
        techniques.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let (pc, hc) = (d.ports.len() as u64, d.hosts.len() as u64);
        let kind = if hc <= 1 {
            "vertical"
        } else if pc <= 1 {
            "horizontal"
        } else {
            "block"
        };
        Some(ScanSummary {
            kind,
            technique: techniques.first().map_or(ScanTechnique::Other, |t| t.1),
            techniques: techniques.iter().map(|t| t.1).collect(),
            method: d.method,
            ports: d.ports.iter().take(100).copied().collect(),
            port_count: pc,
            hosts: d.hosts.iter().take(20).copied().collect(),
            host_count: hc,
            probes: s.probes,
            probes_before_detection: d.probes_before,
            open: s.open,
            first_seen: s.first,
            detected_at: d.at,
            last_seen: s.last,
            duration_secs: ((s.last.unix_ms - s.first.unix_ms).max(0) / 1000) as u64,
        })
    }

    /// Every source detected as a scanner, sorted by address.
    pub fn detections(&self) -> Vec<(IpAddr, ScanSummary)> {
        let mut v: Vec<(IpAddr, ScanSummary)> = self
            .sources
            .keys()
            .filter_map(|&ip| self.detection(ip).map(|d| (ip, d)))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Sources tracked now.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scantriage_core::TcpFlags;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn probe(
        src: &str,
        dst: &str,
        port: u16,
        flags: u8,
        t_ms: i64,
        outcome: ConnOutcome,
    ) -> PacketEvent {
        PacketEvent {
            time: Timestamp {
                unix_ms: t_ms,
                offset_min: 0,
            },
            source: ip(src),
            dest: ip(dst),
            proto: Proto::Tcp,
            sport: 40000,
            dport: port,
            flags: TcpFlags(flags),
            action: FirewallAction::Dropped,
            outcome,
            completed: false,
        }
    }

    #[test]
    fn trw_decides_after_four_failures() {
        let mut d = PortScanDetector::new(PortScanConfig::default());
        let mut fired = None;
        for (i, port) in (1..=20).enumerate() {
            let p = probe(
                "203.0.113.7",
                "192.0.2.1",
                port,
                TcpFlags::SYN,
                i as i64 * 10,
                ConnOutcome::Reset,
            );
            if d.observe(&p) && fired.is_none() {
                fired = Some(i + 1);
            }
        }
        assert_eq!(fired, Some(4));
        let s = d.detection(ip("203.0.113.7")).unwrap();
        assert_eq!(
            (s.kind, s.method, s.technique),
            ("vertical", "trw", ScanTechnique::Syn)
        );
        assert_eq!(
            (s.probes_before_detection, s.probes, s.port_count),
            (4, 20, 20)
        );
        assert_eq!(s.duration_secs, 0);
    }

    #[test]
    fn benign_client_to_open_ports_is_never_a_scanner() {
        let mut d = PortScanDetector::new(PortScanConfig::default());
        for i in 0..10_000i64 {
            let port = [80, 443, 22][(i % 3) as usize];
            let p = probe(
                "192.0.2.10",
                "192.0.2.1",
                port,
                TcpFlags::SYN,
                i * 1000,
                ConnOutcome::Open,
            );
            assert!(!d.observe(&p));
        }
        // A couple of closed ports among many successes do not make a scanner either.
        for (i, port) in [8080u16, 8443].iter().enumerate() {
            let p = probe(
                "192.0.2.10",
                "192.0.2.1",
                *port,
                TcpFlags::SYN,
                20_000_000 + i as i64,
                ConnOutcome::Reset,
            );
            assert!(!d.observe(&p));
        }
        assert!(d.detections().is_empty());
    }

    #[test]
    fn dropped_only_uses_decaying_distinct_counts_and_catches_slow_scans() {
        let cfg = PortScanConfig::default();
        let mut d = PortScanDetector::new(cfg.clone());
        // One FIN probe every five minutes: a slow scan, outcomes unknown.
        let mut fired = None;
        for i in 0..100i64 {
            let mut p = probe(
                "198.51.100.9",
                "192.0.2.1",
                1000 + i as u16,
                TcpFlags::FIN,
                i * 300_000,
                ConnOutcome::Unknown,
            );
            p.outcome = ConnOutcome::Unknown;
            if d.observe(&p) && fired.is_none() {
                fired = Some(i + 1);
            }
        }
        let s = d.detection(ip("198.51.100.9")).unwrap();
        assert_eq!(s.method, "distinct");
        assert_eq!(s.technique, ScanTechnique::Fin);
        assert!(fired.unwrap() >= 8 && fired.unwrap() <= 20, "{fired:?}");
        assert!(s.duration_secs >= 99 * 300);
        // The same probes a day apart each never add up.
        let mut d = PortScanDetector::new(cfg);
        for i in 0..100i64 {
            let p = probe(
                "198.51.100.9",
                "192.0.2.1",
                1000 + i as u16,
                TcpFlags::FIN,
                i * 86_400_000,
                ConnOutcome::Unknown,
            );
            assert!(!d.observe(&p));
        }
    }

    #[test]
    fn kinds_and_techniques() {
        let mut d = PortScanDetector::new(PortScanConfig::default());
        for h in 1..=30u8 {
            let p = probe(
                "203.0.113.1",
                &format!("192.0.2.{h}"),
                3389,
                0,
                i64::from(h),
                ConnOutcome::Unknown,
            );
            d.observe(&p);
        }
        for i in 0..40u16 {
            let f = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG;
            let p = probe(
                "203.0.113.2",
                &format!("192.0.2.{}", i % 5),
                100 + i,
                f,
                i64::from(i),
                ConnOutcome::Unknown,
            );
            d.observe(&p);
        }
        let h = d.detection(ip("203.0.113.1")).unwrap();
        assert_eq!((h.kind, h.technique), ("horizontal", ScanTechnique::Null));
        assert_eq!(h.port_count, 1);
        let b = d.detection(ip("203.0.113.2")).unwrap();
        assert_eq!((b.kind, b.technique), ("block", ScanTechnique::Xmas));
        let mut ack = probe(
            "203.0.113.3",
            "192.0.2.1",
            1,
            TcpFlags::ACK,
            0,
            ConnOutcome::Unknown,
        );
        assert_eq!(ScanTechnique::of(&ack), Some(ScanTechnique::Ack));
        ack.flags = TcpFlags(TcpFlags::SYN);
        ack.completed = true;
        assert_eq!(ScanTechnique::of(&ack), Some(ScanTechnique::Connect));
        ack.flags = TcpFlags(TcpFlags::RST);
        assert_eq!(ScanTechnique::of(&ack), None);
        ack.proto = Proto::Udp;
        assert_eq!(ScanTechnique::of(&ack), Some(ScanTechnique::Udp));
    }

    #[test]
    fn memory_is_bounded() {
        let mut d = PortScanDetector::new(PortScanConfig {
            max_sources: 100,
            ..PortScanConfig::default()
        });
        for i in 0..1000u32 {
            let src = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            d.observe(&probe(
                &src,
                "192.0.2.1",
                22,
                TcpFlags::SYN,
                i64::from(i),
                ConnOutcome::Unknown,
            ));
        }
        assert!(d.sources() <= 100);
        assert_eq!(d.stats.evicted, 900);
        // Keys per source are capped too.
        for port in 0..2000u16 {
            d.observe(&probe(
                "10.9.9.9",
                "192.0.2.1",
                port,
                TcpFlags::SYN,
                5000,
                ConnOutcome::Unknown,
            ));
        }
        let s = d.detection(ip("10.9.9.9")).unwrap();
        assert_eq!(s.port_count, 2000);
        assert_eq!(s.ports.len(), 100);
    }
}
