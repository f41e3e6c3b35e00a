//! The dashboard and the HTML report in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), over a store filled by `analyze` from the corpus generator.
//! Screenshots of each page go to `target/artifacts/`.

mod web_support;

use scantriage_testkit::Role;
use std::collections::HashMap;
use std::process::Command;
use web_support::*;

/// The queue as the page shows it: verdict per source address.
fn queue_on_page(b: &Browser) -> HashMap<String, String> {
    b.find_all("div.src")
        .iter()
        .map(|el| {
            (
                b.attr(el, "data-source").unwrap_or_default(),
                b.attr(el, "data-verdict").unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn queue_pages_and_hostile_values_in_chromium() {
    let site = site(20_000, 7);
    let cfg = site.config.to_str().unwrap().to_string();
    let srv = Server::start("127.0.0.1:0", &site.db, &["--config", &cfg]);
    let b = Browser::start(&[]);

    b.goto(&format!("{}/queue", srv.url()));
    let shown = queue_on_page(&b);
    assert!(!shown.is_empty(), "the queue is empty");
    assert!(shown.len() < 100, "the corpus fits on one queue page");
    let mut wordpress = 0;
    for (ip, role) in &site.roles {
        match role {
            Role::Exploit | Role::Bruteforce => {
                let v = shown
                    .get(ip)
                    .unwrap_or_else(|| panic!("{role} {ip} is not in the queue"));
                assert!(
                    matches!(v.as_str(), "urgent" | "relevant"),
                    "{role} {ip}: {v}"
                );
            }
            Role::ScannerWordpress => wordpress += usize::from(shown.contains_key(ip)),
            Role::ScannerNoise | Role::Reader | Role::Crawler | Role::Feed => {
                assert!(!shown.contains_key(ip), "{role} {ip} is in the queue")
            }
            _ => {}
        }
    }
    assert!(wordpress > 0, "no WordPress scanner in the queue");
    assert!(b.alert_text().is_none());
    b.screenshot("web-queue");

    for (path, name) in [
        ("/", "web-overview"),
        ("/decisions", "web-decisions"),
        ("/rules", "web-rules"),
    ] {
        b.goto(&format!("{}{path}", srv.url()));
        assert!(b.find("header").is_some(), "{path} rendered");
        b.screenshot(name);
    }
    b.goto(&format!("{}/", srv.url()));
    for id in ["chart-traffic", "chart-noise", "chart-campaigns"] {
        let el = b
            .find(&format!("#{id}"))
            .unwrap_or_else(|| panic!("no #{id}"));
        let (w, h) = b.size(&el);
        assert!(w > 0.0 && h > 0.0, "#{id} has no size");
    }
    let exploit = site
        .roles
        .iter()
        .find(|(_, r)| **r == Role::Exploit)
        .map(|(ip, _)| ip.clone())
        .unwrap();
    b.goto(&format!("{}/source/{exploit}", srv.url()));
    assert!(b.find("table.evidence").is_some());
    b.screenshot("web-source");

    // The hostile request renders as text: no dialog, no injected element, text visible.
    b.goto(&format!("{}/source/{HOSTILE_IP}", srv.url()));
    assert_eq!(b.alert_text(), None, "a dialog fired");
    let req = b.find("td.request").expect("the request is listed");
    assert!(b.text(&req).contains(SCRIPT), "{}", b.text(&req));
    let ua = b.find("td.ua").expect("the user agent is listed");
    assert!(b.text(&ua).contains(IMG), "{}", b.text(&ua));
    assert_eq!(
        b.execute("return document.querySelectorAll('script, img').length"),
        0
    );
    b.screenshot("web-hostile");
    b.goto(&format!("{}/queue", srv.url()));
    assert_eq!(b.alert_text(), None, "a dialog fired on the queue");
    let body = b.text(&b.find("main").unwrap());
    assert!(body.contains(SCRIPT) && body.contains(IMG));
}

#[test]
fn html_report_opens_offline_with_its_charts() {
    let site = site(8_000, 11);
    let html = site.dir.path().join("report.html");
    let out = Command::new(bin())
        .args(["report", "--html"])
        .arg(&html)
        .arg("--db")
        .arg(&site.db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every name resolves to nothing and every proxied request goes nowhere.
    let b = Browser::start(&[
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
    ]);
    b.goto(&format!("file://{}", html.display()));
    for id in [
        "chart-traffic",
        "chart-noise",
        "chart-campaigns",
        "chart-rules",
    ] {
        let el = b
            .find(&format!("#{id}"))
            .unwrap_or_else(|| panic!("no #{id}"));
        let (w, h) = b.size(&el);
        assert!(w > 0.0 && h > 0.0, "#{id} has no size");
    }
    let bars = b.find_all("#chart-traffic rect");
    assert!(!bars.is_empty(), "the traffic chart has no bars");
    let (w, h) = b.size(&bars[0]);
    assert!(w > 0.0 && h > 0.0);
    assert_eq!(
        b.execute("return performance.getEntriesByType('resource').length"),
        0,
        "the report loaded something"
    );
    assert_eq!(b.alert_text(), None);
    let text = b.text(&b.find("main").unwrap());
    assert!(text.contains(SCRIPT) && text.contains(IMG));
    b.screenshot("report");
}

/// The queue as the API gives it: (signature groups, evidence signature lists).
fn queue_api(srv: &Server) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let (code, _, body) = http(srv.addr, "GET", "/api/queue", &[], "");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let groups = v["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| list(&g["signatures"]))
        .collect();
    let evidence = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["evidence"].as_array().unwrap().iter())
        .map(|f| list(&f["signatures"]))
        .collect();
    (groups, evidence)
}

fn campaign_rows(b: &Browser) -> Vec<String> {
    b.find_all("table.queue-campaigns tr[data-signatures]")
        .iter()
        .map(|r| b.attr(r, "data-signatures").unwrap_or_default())
        .collect()
}

#[test]
fn cannot_work_here_leaves_the_queue_and_stays_out_after_a_restart() {
    let site = site(20_000, 7);
    let cfg = site.config.to_str().unwrap().to_string();
    let srv = Server::start("127.0.0.1:0", &site.db, &["--config", &cfg]);
    // The campaign of the queue decided by one signature alone with the most findings.
    let (code, _, body) = http(srv.addr, "GET", "/api/queue", &[], "");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let sig = v["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["signatures"].as_array().unwrap().len() == 1)
        .max_by_key(|g| g["findings"].as_u64().unwrap())
        .map(|g| g["signatures"][0].as_str().unwrap().to_string())
        .expect("a campaign decided by one signature");
    let alone = vec![sig.clone()];

    let b = Browser::start(&[]);
    b.goto(&format!("{}/queue", srv.url()));
    assert!(
        campaign_rows(&b).contains(&sig),
        "{sig} is in the queue first"
    );
    let button = b
        .find(&format!(
            "table.queue-campaigns form.cannot-work[data-value=\"{sig}\"] button"
        ))
        .expect("a cannot-work button for the signature");
    b.click(&button);
    assert!(
        b.current_url().ends_with("/queue"),
        "{}: {}",
        b.current_url(),
        b.text(&b.find("body").unwrap())
    );
    assert!(
        !campaign_rows(&b).contains(&sig),
        "{sig} is still in the queue"
    );
    let (groups, evidence) = queue_api(&srv);
    assert!(!groups.contains(&alone) && !evidence.contains(&alone));
    b.screenshot("web-queue-after-cannot-work");
    b.goto(&format!("{}/rules", srv.url()));
    let row = b
        .find(&format!("table.rules tr[data-signature=\"{sig}\"]"))
        .expect("the signature is on the rules page");
    assert!(b.text(&row).contains("cannot_work by"), "{}", b.text(&row));

    // After a restart the verdict still holds.
    drop(srv);
    let srv = Server::start("127.0.0.1:0", &site.db, &["--config", &cfg]);
    b.goto(&format!("{}/queue", srv.url()));
    assert!(
        !b.find_all("div.src").is_empty(),
        "the rest of the queue is there"
    );
    assert!(
        !campaign_rows(&b).contains(&sig),
        "{sig} came back after a restart"
    );
    let (groups, evidence) = queue_api(&srv);
    assert!(!groups.contains(&alone) && !evidence.contains(&alone));
}
