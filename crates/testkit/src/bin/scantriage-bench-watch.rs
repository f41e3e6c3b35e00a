//! `scantriage-bench-watch`: measures `scantriage watch` live: appends combined log
//! lines at a fixed rate while `watch` follows the file, and reports the time from a
//! blocking line being written to its ban being in force (`watch` prints
//! `block ADDR` once the back end, e.g. `nft -f`, has returned), and the lines per
//! second it sustained. Run it inside a network namespace with the nftables back end
//! (see `scripts/bench_watch.sh`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: scantriage-bench-watch --scantriage BIN --dir DIR [--rate N] [--secs S] [--backend B]
                              [--probers-per-sec P] [--sources K]

Starts `BIN watch --backend B DIR/access.log` (store DIR/st.db, metrics on
127.0.0.1:9479), appends N lines/s (default 100000) for S seconds (default 15):
benign requests from K sources (default 20000) and, P times a second (default 10), a new source
sending an exploit (shellshock) line. Prints the latency percentiles from a
blocking line's write to its ban, and the sustained rate.
";

struct Args {
    bin: String,
    dir: std::path::PathBuf,
    rate: u64,
    secs: u64,
    backend: String,
    probers: u64,
    sources: u64,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        bin: String::new(),
        dir: std::path::PathBuf::new(),
        rate: 100_000,
        secs: 15,
        backend: "nftables".into(),
        probers: 10,
        sources: 20_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--scantriage" => a.bin = v()?,
            "--dir" => a.dir = v()?.into(),
            "--rate" => a.rate = v()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--secs" => a.secs = v()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--backend" => a.backend = v()?,
            "--probers-per-sec" => {
                a.probers = v()?
                    .parse()
                    .map_err(|e| format!("--probers-per-sec: {e}"))?
            }
            "--sources" => a.sources = v()?.parse().map_err(|e| format!("--sources: {e}"))?,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.bin.is_empty() || a.dir.as_os_str().is_empty() {
        return Err("--scantriage and --dir are required".into());
    }
    Ok(a)
}

/// `25/Nov/2026:13:05:01 +0000`
fn clf(unix: i64) -> String {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let s = unix.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        M[(m - 1) as usize],
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

fn metric(port: u16, name: &str) -> Option<f64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let v: f64 = body
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    Some(v)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("scantriage-bench-watch: {e}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    std::fs::create_dir_all(&a.dir).expect("create --dir");
    let log = a.dir.join("access.log");
    let _ = std::fs::remove_file(&log);
    for f in ["st.db", "st.db-wal", "st.db-shm"] {
        let _ = std::fs::remove_file(a.dir.join(f));
    }
    std::fs::write(&log, "").expect("create the log");
    let cfg = a.dir.join("bench.toml");
    std::fs::write(&cfg, "[policy]\nmax_block = \"10m\"\n").expect("write config");
    let port = 9479;
    let mut child = Command::new(&a.bin)
        .args(["watch", "--backend", &a.backend, "--interval", "100ms"])
        .args(["--metrics", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(a.dir.join("st.db"))
        .arg("--config")
        .arg(&cfg)
        .arg(&log)
        .env_remove("SCANTRIAGE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scantriage watch");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<(String, Instant)>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.strip_prefix("block ") {
                let addr = rest.split('/').next().unwrap_or("").to_string();
                if tx.send((addr, Instant::now())).is_err() {
                    return;
                }
            }
        }
    });
    // Wait for the metrics endpoint: watch is up.
    let up = Instant::now();
    while metric(port, "scantriage_lines_read_total").is_none() {
        if up.elapsed() > Duration::from_secs(30) {
            eprintln!("scantriage-bench-watch: watch did not come up");
            let _ = child.kill();
            let _ = child.wait();
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open the log");
    let tick = Duration::from_millis(10);
    let per_tick = (a.rate / 100).max(1);
    let probe_every = (100 / a.probers.max(1)).max(1);
    let mut written_at: HashMap<String, Instant> = HashMap::new();
    let mut lines = 0u64;
    let start = Instant::now();
    let ticks = a.secs * 100;
    let pages = [
        "/",
        "/about/",
        "/blog/",
        "/blog/post-1/",
        "/feed/",
        "/static/app.css",
    ];
    let mut buf = String::with_capacity(per_tick as usize * 160);
    for t in 0..ticks {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let when = clf(unix);
        buf.clear();
        let mut prober = None;
        for i in 0..per_tick {
            let n = lines + i;
            if i == per_tick / 2 && t % probe_every == 0 {
                let id = t / probe_every;
                let ip = format!(
                    "172.{}.{}.{}",
                    16 + (id >> 16) % 16,
                    (id >> 8) % 256,
                    id % 256
                );
                buf.push_str(&format!(
                    "{ip} - - [{when}] \"GET /cgi-bin/status HTTP/1.1\" 200 512 \"-\" \"() {{ :;}}; /bin/bash -c 'cat /etc/passwd'\"\n"
                ));
                prober = Some(ip);
                continue;
            }
            let src = n % a.sources.max(1);
            buf.push_str(&format!(
                "10.{}.{}.{} - - [{when}] \"GET {} HTTP/1.1\" 200 5120 \"https://example.org/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\"\n",
                src >> 16, (src >> 8) & 255, src & 255, pages[(n % pages.len() as u64) as usize]
            ));
        }
        f.write_all(buf.as_bytes()).expect("append");
        if let Some(ip) = prober {
            written_at.insert(ip, Instant::now());
        }
        lines += per_tick;
        let next = start + tick * (t as u32 + 1);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let gen_secs = start.elapsed().as_secs_f64();
    // Until every line is read (at most 60 s more).
    let mut read = 0.0;
    while start.elapsed() < Duration::from_secs_f64(gen_secs + 60.0) {
        read = metric(port, "scantriage_lines_read_total").unwrap_or(0.0);
        if read as u64 >= lines {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let caught_up = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let mut lat: Vec<f64> = Vec::new();
    let mut blocked = 0;
    while let Ok((addr, at)) = rx.try_recv() {
        if let Some(w) = written_at.get(&addr) {
            lat.push(at.saturating_duration_since(*w).as_secs_f64() * 1000.0);
            blocked += 1;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    lat.sort_by(f64::total_cmp);
    println!(
        "lines written: {lines} in {gen_secs:.1} s ({:.0} lines/s offered)",
        lines as f64 / gen_secs
    );
    println!(
        "lines read by watch: {read:.0}; caught up {:.2} s after the last write; sustained {:.0} lines/s",
        caught_up - gen_secs,
        read / caught_up
    );
    println!(
        "probers: {} written, {blocked} banned; write->ban latency ms: p50 {:.0}, p99 {:.0}, max {:.0}",
        written_at.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    if blocked < written_at.len() || (read as u64) < lines {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
