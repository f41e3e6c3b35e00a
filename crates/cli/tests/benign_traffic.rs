//! Precision on realistic benign traffic: three sites' access logs
//! (`tests/fixtures/benign_sites/`, written by its `generate.py`) with what real
//! internet-facing servers get that is not an attack: readers, a logged-in WordPress
//! admin, Jetpack, Nextcloud and DAV clients, a Git forge and its runner, Grafana, Home
//! Assistant, Jellyfin, Matrix and ActivityPub federation, Roundcube, phpMyAdmin used by
//! its admin, mail autoconfiguration, crawlers and their 404s after a site migration,
//! link previews, feed readers, monitors, API integrations, webhooks, OAuth callbacks,
//! signed URLs, range requests, mobile apps, CORS preflights, WebSockets, a corporate
//! proxy and IPv6 clients. A few real attack shapes are mixed in from known addresses.
//!
//! Analysed with and without an inventory, no ordinary source may be blocked or
//! watched, and the few that keep a finding are listed here with the reason; every
//! attacker must still be blocked.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The inventory of the self-hosting box in `cloud.log`.
const CLOUD_CONFIG: &str = r#"
[site]
dynamic = true
[[inventory.product]]
name = "nginx"
[[inventory.product]]
name = "php"
[[inventory.product]]
name = "nextcloud"
[[inventory.product]]
name = "gitlab"
[[inventory.product]]
name = "grafana"
[[inventory.product]]
name = "phpmyadmin"
[[inventory.product]]
name = "roundcube"
[[inventory.product]]
name = "jenkins"
"#;

/// The attack shapes mixed into the corpus (see `generate.py`), by address.
const BRUTE_FORCE_WP: &str = "45.148.10.81"; // 12 scripted wp-login.php POSTs in a minute
const DOTENV_LEAK: &str = "193.32.162.40"; // GET /.env answered 200
const TRAVERSAL: &str = "80.94.95.112"; // ../../../../etc/passwd through Nextcloud paths, 200
const SQLMAP: &str = "2a0e:97c0:3e3:1a::66"; // UNION SELECT and a tautology, 200
const LOG4SHELL: &str = "141.98.11.9"; // ${jndi:ldap://...} in the User-Agent and a query
const SSRF_CONFIG: &str = "185.220.101.33"; // ?url=http://127.0.0.1:6379/, /config.json 200
const USER_ENUM: &str = "103.145.13.20"; // three REST user listings answered 200
const XMLRPC_BRUTE: &str = "91.92.241.10"; // 30 XML-RPC POSTs in 15 minutes, browser UA
const ATTACKERS: [&str; 8] = [
    BRUTE_FORCE_WP,
    DOTENV_LEAK,
    TRAVERSAL,
    SQLMAP,
    LOG4SHELL,
    SSRF_CONFIG,
    USER_ENUM,
    XMLRPC_BRUTE,
];

/// A log of the corpus.
fn site(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "benign_sites",
        name,
    ]
    .iter()
    .collect();
    assert!(p.exists(), "missing fixture {}", p.display());
    p.display().to_string()
}

/// Analyses the logs with the config (none when `None`) and returns the sources.
fn analyze(config: Option<&str>, logs: &[&str]) -> HashMap<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--no-store".to_string()];
    if let Some(c) = config {
        args.push("--config".into());
        args.push(write(dir.path(), "c.toml", c.as_bytes()));
    }
    args.extend(logs.iter().map(|l| site(l)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (sources, summary, code, stderr) = analyze_json(&args);
    assert_eq!(code, 0, "analyze failed: {stderr}");
    assert_eq!(summary["parse_errors"], 0, "{summary}");
    assert!(sources.len() >= 25, "only {} sources", sources.len());
    sources
}

/// One line per source: decision, verdict, signatures and first reason.
fn describe(s: &Value) -> String {
    format!(
        "{} {} {} {} {}",
        s["ip"].as_str().unwrap(),
        s["decision"],
        s["verdict"],
        s["signatures"],
        s["reasons"].get(0).unwrap_or(&Value::Null)
    )
}

/// Checks one run: the attackers listed are blocked; every other source is ignored,
/// its verdict is neither urgent nor unknown unless listed in `inventory_check`, and it
/// is relevant only when listed in `relevant`. Returns the ordinary sources in the queue
/// (watched with an open verdict, as the terminal report lists them).
fn check(
    sources: &HashMap<String, Value>,
    blocked: &[&str],
    relevant: &[&str],
    inventory_check: &[&str],
) -> Vec<String> {
    for a in blocked {
        let s = sources
            .get(*a)
            .unwrap_or_else(|| panic!("attacker {a} not seen"));
        assert_eq!(
            s["decision"],
            "block",
            "attacker not blocked: {}",
            describe(s)
        );
    }
    let mut wrong = BTreeMap::new();
    let mut queue = Vec::new();
    for (ip, s) in sources {
        let verdict = s["verdict"].as_str().unwrap();
        let decision = s["decision"].as_str().unwrap();
        if ATTACKERS.contains(&ip.as_str()) {
            continue;
        }
        if decision == "watch" && matches!(verdict, "unknown" | "relevant" | "urgent") {
            queue.push(ip.clone());
        }
        let ok = match (decision, verdict) {
            ("ignore", "benign" | "noise") => true,
            ("ignore", "relevant") => relevant.contains(&ip.as_str()),
            ("watch", "unknown") => inventory_check.contains(&ip.as_str()),
            _ => false,
        };
        if !ok {
            wrong.insert(ip.clone(), describe(s));
        }
    }
    assert!(
        wrong.is_empty(),
        "benign sources flagged: {:#?}",
        wrong.values().collect::<Vec<_>>()
    );
    for ip in relevant.iter().chain(inventory_check) {
        assert!(sources.contains_key(*ip), "{ip} not seen");
    }
    queue.sort();
    queue
}

#[test]
fn wordpress_blog_with_its_inventory() {
    let sources = analyze(Some(WP_CONFIG), &["blog.log"]);
    // Kept as `relevant` findings (ignored, never queued):
    // - 203.0.113.45, the admin: one POST to wp-login.php from the form (Referer set,
    //   302). Every login attempt on installed software is kept for the brute-force
    //   count; one from a form is no concern.
    // - 198.51.100.77, a pingback from another WordPress blog: one POST to xmlrpc.php,
    //   below the brute-force thresholds.
    let queue = check(
        &sources,
        &[BRUTE_FORCE_WP, DOTENV_LEAK, USER_ENUM, XMLRPC_BRUTE],
        &["203.0.113.45", "198.51.100.77"],
        &[],
    );
    assert!(queue.is_empty(), "queue: {queue:?}");
    // Jetpack's signed XML-RPC calls from WordPress.com, the WordPress app's sessions
    // (92.184.61.7) and the admin's SEO audit (203.0.113.46) are no password guessing.
    for ip in ["192.0.84.33", "92.184.61.7", "203.0.113.46"] {
        assert_eq!(
            sources[ip]["verdict"],
            "benign",
            "{}",
            describe(&sources[ip])
        );
    }
    // The admin's block editor (author list, users/me, load-scripts.php): only the one
    // form login is a finding.
    assert_eq!(sources["203.0.113.45"]["findings"], 1);
    assert_eq!(
        sources["203.0.113.45"]["signatures"],
        serde_json::json!(["wp-login-bruteforce"])
    );
    // Googlebot's 404s on the old URLs after the migration, and monitors.
    for ip in [
        "66.249.66.1",
        "66.249.66.33",
        "69.162.124.227",
        "76.72.167.90",
    ] {
        assert_eq!(
            sources[ip]["decision"],
            "ignore",
            "{}",
            describe(&sources[ip])
        );
        assert_eq!(sources[ip]["findings"], 0, "{}", describe(&sources[ip]));
    }
}

#[test]
fn self_hosting_box_with_its_inventory() {
    let sources = analyze(Some(CLOUD_CONFIG), &["cloud.log"]);
    // Kept as `relevant` findings (ignored, never queued): a user who opens an
    // application's entry page directly (a bookmark, no Referer) makes the very request
    // a scanner makes; what follows (pages reached by links) shows a person, so the
    // source is ignored. 24.48.12.200 opens /roundcube/, 109.190.44.2 /grafana/login,
    // 203.0.113.45 /phpmyadmin/ and Jenkins' login form (and then signs in).
    let queue = check(
        &sources,
        &[TRAVERSAL],
        &["24.48.12.200", "109.190.44.2", "203.0.113.45"],
        &[],
    );
    assert!(queue.is_empty(), "queue: {queue:?}");
    // Monitors polling status.php, the Git forge's views of repository files named like
    // secrets, its CI runner and API clients, a sign-in whose return address is encoded
    // twice plus Element Web's config.json (86.12.40.7, whose one finding is Outlook's
    // 404 on /Autodiscover/Autodiscover.xml: noise), git-credential-oauth's loopback
    // redirect (151.49.20.3), a public share's preview with file=/photos/...
    // (188.165.80.9), and the Nextcloud clients syncing a project folder (.env,
    // .git/config, .DS_Store, backup.sql, id_rsa...): no open finding (unknown,
    // relevant, urgent) at all.
    // GitHub's webhook deliveries to Jenkins (140.82.115.12) neither.
    for ip in [
        "140.82.115.12",
        "92.184.100.9",
        "2a01:cb00:1234:5600:8d2f:1e2a:4b3c:9d01",
        "78.54.3.210",
        "76.72.167.90",
        "3.105.190.221",
        "151.49.20.3",
        "34.74.90.64",
        "188.165.7.40",
        "86.12.40.7",
        "188.165.80.9",
    ] {
        let v = &sources[ip]["by_verdict"];
        let open: u64 = (2..5).map(|i| v[i].as_u64().unwrap()).sum();
        assert_eq!(open, 0, "{}", describe(&sources[ip]));
    }
}

#[test]
fn api_host_and_blog_without_inventory() {
    let sources = analyze(None, &["blog.log", "api.log"]);
    // Without an inventory WordPress is unknown here: the brute force against it is
    // noise (nothing to guess on a site without WordPress), the rest is still blocked.
    let queue = check(
        &sources,
        &[DOTENV_LEAK, SQLMAP, LOG4SHELL, SSRF_CONFIG],
        &[],
        &[],
    );
    assert!(queue.is_empty(), "queue: {queue:?}");
    // The corporate proxy (hundreds of users, searches for script tags and alert
    // boxes, OAuth callbacks, signed URLs) and the scripted API integrations.
    for ip in [
        "194.150.168.10",
        "34.201.10.7",
        "35.180.4.19",
        "52.29.100.2",
    ] {
        assert_eq!(sources[ip]["findings"], 0, "{}", describe(&sources[ip]));
    }
}

#[test]
fn all_sites_without_inventory() {
    let sources = analyze(None, &["blog.log", "cloud.log", "api.log"]);
    // Queued for the inventory check: without an inventory, a success answer from
    // Roundcube, Grafana, phpMyAdmin or Jenkins is unexplained, and the report asks to
    // check the inventory. Each is an entry page its user opened directly, one request
    // per application (the pages reached from it by links are ordinary): Grafana's
    // login (109.190.44.2), Roundcube (24.48.12.200), phpMyAdmin and Jenkins' login
    // (203.0.113.45, the admin). With the inventory they leave the queue
    // (`self_hosting_box_with_its_inventory`).
    let expected = [
        ("109.190.44.2", 1),
        ("203.0.113.45", 2),
        ("24.48.12.200", 1),
    ];
    let listed: Vec<&str> = expected.iter().map(|e| e.0).collect();
    let queue = check(
        &sources,
        &[DOTENV_LEAK, TRAVERSAL, SQLMAP, LOG4SHELL, SSRF_CONFIG],
        &[],
        &listed,
    );
    assert_eq!(queue.len(), expected.len(), "queue: {queue:?}");
    for (ip, unknown) in expected {
        assert!(queue.contains(&ip.to_string()), "queue: {queue:?}");
        let s = &sources[ip];
        assert_eq!(s["by_verdict"][2], unknown, "{}", describe(s));
        assert!(
            s["reasons"][0]
                .as_str()
                .unwrap()
                .contains("check the inventory"),
            "{}",
            describe(s)
        );
    }
}
