//! Helpers of the dashboard tests: a store filled from the corpus generator, the
//! `serve` process, raw HTTP over a TcpStream and a small WebDriver client that drives
//! Debian's chromium through `/usr/bin/chromedriver` on a loopback port.
#![allow(dead_code)]

use scantriage_testkit::{generate_bytes, CorpusConfig, Role};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The inventory of the corpus site: a WordPress blog on nginx with PHP.
pub const WP_CONFIG: &str = "[site]\ndynamic = true\n[[inventory.product]]\nname = \"nginx\"\n\
    [[inventory.product]]\nname = \"php\"\n[[inventory.product]]\nname = \"wordpress\"\nversion = \"6.4.2\"\n";

/// The address of the hostile request appended to the corpus.
pub const HOSTILE_IP: &str = "203.0.113.66";
/// The script payload put in its path.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// The image payload put in its user agent.
pub const IMG: &str = "<img src=x onerror=alert(1)>";

/// A store analysed from a generated corpus plus one hostile request.
pub struct Site {
    /// Holds the files.
    pub dir: tempfile::TempDir,
    /// The store.
    pub db: PathBuf,
    /// The config file.
    pub config: PathBuf,
    /// The role of each generated source.
    pub roles: HashMap<String, Role>,
}

/// The `scantriage` binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("scantriage")
}

/// Generates `lines` of corpus, appends the hostile request and analyses it into a new store.
pub fn site(lines: u64, seed: u64) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, labels) = generate_bytes(&CorpusConfig {
        lines,
        seed,
        ..Default::default()
    });
    log.extend_from_slice(
        format!(
            "{HOSTILE_IP} - - [05/Nov/2025:12:00:00 +0100] \"GET /wp-login.php?q={SCRIPT} HTTP/1.1\" \
             200 512 \"-\" \"{IMG}\"\n"
        )
        .as_bytes(),
    );
    let logp = dir.path().join("access.log");
    std::fs::write(&logp, &log).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, WP_CONFIG).unwrap();
    let db = dir.path().join("st.db");
    let out = Command::new(bin())
        .args(["analyze", "--no-progress", "--output", "json", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .arg(&logp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let roles = labels.iter().map(|l| (l.ip.to_string(), l.role)).collect();
    Site {
        dir,
        db,
        config,
        roles,
    }
}

/// A running `scantriage serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `serve` on the given listen address with extra arguments; waits for its address.
    pub fn start(listen: &str, db: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .args(["serve", "--listen", listen, "--db"])
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("scantriage: dashboard on http://") else {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let _ = child.kill();
            panic!("serve did not start: {line:?} {err}");
        };
        Server {
            addr: url.trim_end_matches('/').parse().unwrap(),
            child,
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange over a plain TcpStream: (status, headers, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The per-process anti-forgery token of a server.
pub fn csrf(addr: SocketAddr, auth: &[(&str, &str)]) -> String {
    let (code, _, body) = http(addr, "GET", "/api/csrf", auth, "");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// Where the tests put their screenshots: `target/artifacts/`.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on headless chromium, through a chromedriver this test started.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless chromium session.
    pub fn start(extra_args: &[&str]) -> Browser {
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/chromedriver (Debian package chromium-driver) must be installed");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut b = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
        };
        let start = Instant::now();
        loop {
            if b.raw("GET", "/status", None)
                .is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1600",
        ];
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let v = b.raw("POST", "/session", Some(caps)).expect("new session");
        b.session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let resp = resp.map_err(|e| json!({ "transport": e.to_string() }))?;
        let ok = resp.status().is_success();
        let text = resp
            .into_body()
            .read_to_string()
            .map_err(|e| json!({ "read": e.to_string() }))?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if ok {
            Ok(v)
        } else {
            Err(v)
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
            .map(|v| v["value"].clone())
    }

    /// Loads a URL and waits for the page.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// The elements matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_else(|e| panic!("find {css}: {e}"));
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> Option<String> {
        self.find_all(css).into_iter().next()
    }

    /// An element's visible text.
    pub fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .unwrap()
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// An element's attribute.
    pub fn attr(&self, el: &str, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{el}/attribute/{name}"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Clicks an element.
    pub fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})))
            .unwrap_or_else(|e| panic!("click: {e}"));
    }

    /// An element's rendered size (width, height).
    pub fn size(&self, el: &str) -> (f64, f64) {
        let v = self
            .cmd("GET", &format!("/element/{el}/rect"), None)
            .unwrap();
        (
            v["width"].as_f64().unwrap_or(0.0),
            v["height"].as_f64().unwrap_or(0.0),
        )
    }

    /// The text of an open alert, confirm or prompt dialog, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        self.cmd("GET", "/alert/text", None)
            .ok()
            .map(|v| v.as_str().unwrap_or("").to_string())
    }

    /// Runs a script in the page and returns its value.
    pub fn execute(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .unwrap_or_else(|e| panic!("execute: {e}"))
    }

    /// The current page's URL.
    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .unwrap()
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Saves a screenshot of the viewport as `target/artifacts/NAME.png`; returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.cmd("GET", "/screenshot", None).unwrap();
        let png = base64_decode(v.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Decodes standard base64 (the screenshot encoding).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
