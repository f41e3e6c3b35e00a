//! The Prometheus `/metrics` endpoint of `scantriage watch`: a small text-format
//! server on a loopback address, in its own thread.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the decision latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// What the service counts.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    /// Lines read per input.
    pub lines: BTreeMap<String, u64>,
    /// Unparsable lines per input.
    pub parse_errors: BTreeMap<String, u64>,
    /// Events by verdict name.
    pub events: BTreeMap<String, u64>,
    /// Bans handed to the firewall.
    pub bans_applied: u64,
    /// Seconds between the newest line's timestamp and its analysis.
    pub lag_secs: f64,
    /// Histogram counts per bucket of [`LATENCY_BUCKETS`] (not cumulative), then +Inf.
    pub latency_buckets: [u64; LATENCY_BUCKETS.len() + 1],
    /// Sum of the observed latencies.
    pub latency_sum: f64,
    /// Configuration reloads that failed.
    pub reload_failures: u64,
}

impl Metrics {
    /// Records one decision latency.
    pub fn observe_latency(&mut self, secs: f64) {
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency_buckets[i] += 1;
        self.latency_sum += secs;
    }

    /// The text exposition format, with `active` decisions.
    pub fn render(&self, active: Option<u64>) -> String {
        let mut s = String::new();
        let esc = |v: &str| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let _ = writeln!(
            s,
            "# HELP scantriage_lines_read_total Lines read per input."
        );
        let _ = writeln!(s, "# TYPE scantriage_lines_read_total counter");
        for (k, v) in &self.lines {
            let _ = writeln!(s, "scantriage_lines_read_total{{input=\"{}\"}} {v}", esc(k));
        }
        let _ = writeln!(
            s,
            "# HELP scantriage_parse_errors_total Unparsable lines per input."
        );
        let _ = writeln!(s, "# TYPE scantriage_parse_errors_total counter");
        for (k, v) in &self.parse_errors {
            let _ = writeln!(
                s,
                "scantriage_parse_errors_total{{input=\"{}\"}} {v}",
                esc(k)
            );
        }
        let _ = writeln!(s, "# HELP scantriage_events_total Events by verdict.");
        let _ = writeln!(s, "# TYPE scantriage_events_total counter");
        for (k, v) in &self.events {
            let _ = writeln!(s, "scantriage_events_total{{verdict=\"{}\"}} {v}", esc(k));
        }
        let _ = writeln!(
            s,
            "# HELP scantriage_bans_applied_total Bans handed to the firewall."
        );
        let _ = writeln!(s, "# TYPE scantriage_bans_applied_total counter");
        let _ = writeln!(s, "scantriage_bans_applied_total {}", self.bans_applied);
        if let Some(a) = active {
            let _ = writeln!(
                s,
                "# HELP scantriage_active_decisions Active block and watch decisions in the store."
            );
            let _ = writeln!(s, "# TYPE scantriage_active_decisions gauge");
            let _ = writeln!(s, "scantriage_active_decisions {a}");
        }
        let _ = writeln!(s, "# HELP scantriage_lag_seconds Time between the newest line's timestamp and its analysis.");
        let _ = writeln!(s, "# TYPE scantriage_lag_seconds gauge");
        let _ = writeln!(s, "scantriage_lag_seconds {:.3}", self.lag_secs);
        let _ = writeln!(
            s,
            "# HELP scantriage_reload_failures_total Configuration reloads refused."
        );
        let _ = writeln!(s, "# TYPE scantriage_reload_failures_total counter");
        let _ = writeln!(
            s,
            "scantriage_reload_failures_total {}",
            self.reload_failures
        );
        let _ = writeln!(s, "# HELP scantriage_decision_latency_seconds Time from reading a line to its block being in the firewall.");
        let _ = writeln!(s, "# TYPE scantriage_decision_latency_seconds histogram");
        let mut cum = 0;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            cum += self.latency_buckets[i];
            let _ = writeln!(
                s,
                "scantriage_decision_latency_seconds_bucket{{le=\"{b}\"}} {cum}"
            );
        }
        cum += self.latency_buckets[LATENCY_BUCKETS.len()];
        let _ = writeln!(
            s,
            "scantriage_decision_latency_seconds_bucket{{le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            s,
            "scantriage_decision_latency_seconds_sum {:.6}",
            self.latency_sum
        );
        let _ = writeln!(s, "scantriage_decision_latency_seconds_count {cum}");
        s
    }
}

/// Checks that `addr` is a loopback address and binds it.
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    if !addr.ip().is_loopback() {
        bail!("--metrics {addr}: only a loopback address is allowed (e.g. 127.0.0.1:9477)");
    }
    TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))
}

/// Serves `GET /metrics` from `listener` in a thread; active decisions are read from
/// the store at `db` on each request (its own connection).
pub fn serve(listener: TcpListener, metrics: Arc<Mutex<Metrics>>, db: PathBuf) {
    std::thread::spawn(move || {
        let store = scantriage_store::SqliteStore::open(&db).ok();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if line.starts_with("GET ") && (path == "/metrics" || path == "/")
            {
                let active = store.as_ref().and_then(|s| {
                    use scantriage_store::Store;
                    s.active_decisions(now_ms()).ok().map(|d| d.len() as u64)
                });
                let m = metrics.lock().map(|m| m.clone()).unwrap_or_default();
                ("200 OK", m.render(active))
            } else {
                ("404 Not Found", "not found; try /metrics\n".to_string())
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
