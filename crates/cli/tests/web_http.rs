//! The dashboard over plain HTTP (no browser): hostile values are escaped, actions need
//! the anti-forgery token and a same-site origin, and off loopback every request needs
//! the configured token.

mod web_support;

use std::net::SocketAddr;
use std::process::Command;
use web_support::*;

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn active_sources(addr: SocketAddr) -> Vec<String> {
    let (code, _, body) = http(addr, "GET", "/api/decisions", &[], "");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pages_escape_hostile_values_and_actions_need_the_token() {
    let site = site(6_000, 3);
    let srv = Server::start("127.0.0.1:0", &site.db, &[]);
    let a = srv.addr;

    for path in [
        "/",
        "/queue",
        "/decisions",
        "/rules",
        "/source/203.0.113.66",
    ] {
        let (code, head, body) = http(a, "GET", path, &[], "");
        assert_eq!(code, 200, "{path}: {body}");
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("content-security-policy: default-src 'none'"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(
            !body.contains(SCRIPT) && !body.contains(IMG),
            "{path} raw payload"
        );
        assert!(!body.contains("<script"), "{path} has a script element");
    }
    for path in ["/queue", "/source/203.0.113.66"] {
        let (_, _, body) = http(a, "GET", path, &[], "");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: the path is shown as text"
        );
        assert!(
            body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}: the user agent is shown as text"
        );
    }
    let (code, _, _) = http(a, "GET", "/source/not-an-ip", &[], "");
    assert_eq!(code, 400);
    // A name of another site that resolves to loopback (DNS rebinding) gets nothing.
    let (code, _, body) = http(a, "GET", "/api/csrf", &[("Host", "evil.example:8080")], "");
    assert_eq!(code, 421, "{body}");

    // Actions without the token, with a wrong one, or from another site are refused.
    let target = "198.51.100.7";
    let form = format!("action=block&ip={target}&duration=1d&back=%2Fdecisions");
    let (code, _, _) = http(a, "POST", "/api/decisions", &[FORM], &form);
    assert_eq!(code, 403, "no token");
    let (code, _, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM],
        &format!("{form}&csrf=00"),
    );
    assert_eq!(code, 403, "wrong token");
    let token = csrf(a, &[]);
    let good = format!("{form}&csrf={token}");
    let (code, _, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM, ("Origin", "http://evil.example")],
        &good,
    );
    assert_eq!(code, 403, "foreign origin");
    let (code, _, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM, ("Sec-Fetch-Site", "cross-site")],
        &good,
    );
    assert_eq!(code, 403, "cross-site fetch");
    let json_body = format!(r#"{{"action":"block","ip":"{target}","duration":"1d"}}"#);
    let (code, _, _) = http(a, "POST", "/api/decisions", &[JSON], &json_body);
    assert_eq!(code, 403, "JSON without X-CSRF-Token");
    let (code, _, _) = http(a, "DELETE", "/api/verdicts/1", &[], "");
    assert_eq!(code, 403, "DELETE without X-CSRF-Token");
    assert!(!active_sources(a).contains(&target.to_string()));

    // With the token from the same origin the action is recorded.
    let origin = format!("http://{a}");
    let (code, head, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM, ("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        &good,
    );
    assert_eq!(code, 303, "{head}");
    assert!(head.to_ascii_lowercase().contains("location: /decisions"));
    assert!(active_sources(a).contains(&target.to_string()));
    let (code, _, body) = http(
        a,
        "POST",
        "/api/decisions",
        &[JSON, ("X-CSRF-Token", &token)],
        &format!(r#"{{"action":"unblock","ip":"{target}"}}"#),
    );
    assert_eq!(code, 200, "{body}");
    assert!(!active_sources(a).contains(&target.to_string()));
    // A redirect never leaves the site.
    let (code, head, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM],
        &format!("action=block&ip={target}&duration=1d&back=%2F%2Fevil.example&csrf={token}"),
    );
    assert_eq!(code, 303);
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or("");
    assert_eq!(location, "/", "{head}");
    // Loopback is never blocked.
    let (code, _, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[JSON, ("X-CSRF-Token", &token)],
        r#"{"action":"block","ip":"127.0.0.1","duration":"1d"}"#,
    );
    assert_eq!(code, 400);

    // The report is one file without script, with the hostile values as text.
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
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(!text.contains("<script") && !text.contains(IMG));
    assert!(text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(text.contains("<svg id=\"chart-traffic\""));
    assert!(
        !text.contains("src=\"http") && !text.contains("href=\"http"),
        "no external asset"
    );
}

#[test]
fn off_loopback_every_request_needs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("st.db");
    // Without a token the server refuses to listen off loopback.
    let out = Command::new(bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("serve.token"));

    let token = "0123456789abcdef-test-token";
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, format!("[serve]\ntoken = \"{token}\"\n")).unwrap();
    let srv = Server::start("0.0.0.0:0", &db, &["--config", cfg.to_str().unwrap()]);
    let a: SocketAddr = ([127, 0, 0, 1], srv.addr.port()).into();
    let (code, head, _) = http(a, "GET", "/", &[], "");
    assert_eq!(code, 401);
    assert!(head
        .to_ascii_lowercase()
        .contains("www-authenticate: bearer"));
    let (code, _, _) = http(
        a,
        "GET",
        "/api/overview",
        &[("Authorization", "Bearer wrong-token-xxxxxxxx")],
        "",
    );
    assert_eq!(code, 401);
    let bearer = format!("Bearer {token}");
    let (code, _, body) = http(a, "GET", "/api/overview", &[("Authorization", &bearer)], "");
    assert_eq!(code, 200, "{body}");
    let (code, head, _) = http(a, "GET", &format!("/login?token={token}"), &[], "");
    assert_eq!(code, 303);
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("login sets a cookie");
    assert!(cookie_line.contains("SameSite=Strict") && cookie_line.contains("HttpOnly"));
    let cookie = format!("st_auth={token}");
    let (code, _, _) = http(a, "GET", "/queue", &[("Cookie", &cookie)], "");
    assert_eq!(code, 200);
    let (code, _, _) = http(a, "GET", "/login?token=wrong-token-xxxxxxxx", &[], "");
    assert_eq!(code, 401);
    // The token alone does not make a forged action pass.
    let (code, _, _) = http(
        a,
        "POST",
        "/api/decisions",
        &[FORM, ("Cookie", &cookie)],
        "action=block&ip=198.51.100.9&duration=1d",
    );
    assert_eq!(code, 403);
}

fn queue_sources(addr: SocketAddr) -> Vec<String> {
    let (code, _, body) = http(addr, "GET", "/api/queue", &[], "");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn verdicts_through_the_json_api() {
    let site = site(6_000, 5);
    let cfg = site.config.to_str().unwrap().to_string();
    let srv = Server::start("127.0.0.1:0", &site.db, &["--config", &cfg]);
    let a = srv.addr;
    let token = csrf(a, &[]);
    let post = |body: &str| {
        http(
            a,
            "POST",
            "/api/verdicts",
            &[JSON, ("X-CSRF-Token", &token)],
            body,
        )
    };
    assert!(queue_sources(a).contains(&HOSTILE_IP.to_string()));

    // Acknowledging a source takes it out of the queue; revoking brings it back.
    let (code, _, body) = post(&format!(
        r#"{{"action":"acknowledge","scope":"source","value":"{HOSTILE_IP}","note":"seen <b>"}}"#
    ));
    assert_eq!(code, 200, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(!queue_sources(a).contains(&HOSTILE_IP.to_string()));
    let (_, _, rules) = http(a, "GET", "/rules", &[], "");
    assert!(rules.contains("seen &lt;b&gt;") && !rules.contains("seen <b>"));
    let (code, _, _) = http(a, "DELETE", &format!("/api/verdicts/{id}"), &[], "");
    assert_eq!(code, 403, "no token");
    let (code, _, body) = http(
        a,
        "DELETE",
        &format!("/api/verdicts/{id}"),
        &[("X-CSRF-Token", &token)],
        "",
    );
    assert_eq!(code, 200, "{body}");
    assert!(queue_sources(a).contains(&HOSTILE_IP.to_string()));
    let (code, _, _) = http(
        a,
        "DELETE",
        &format!("/api/verdicts/{id}"),
        &[("X-CSRF-Token", &token)],
        "",
    );
    assert_eq!(code, 404, "already revoked");

    // A block verdict blocks; an allow verdict lifts it; loopback is never blocked.
    let target = "198.51.100.77";
    let (code, _, body) = post(&format!(
        r#"{{"action":"block","scope":"source","value":"{target}"}}"#
    ));
    assert_eq!(code, 200, "{body}");
    assert!(active_sources(a).contains(&target.to_string()));
    let (code, _, body) = post(&format!(
        r#"{{"action":"allow","scope":"source","value":"{target}"}}"#
    ));
    assert_eq!(code, 200, "{body}");
    assert!(!active_sources(a).contains(&target.to_string()));
    let (code, _, _) = post(r#"{"action":"block","scope":"source","value":"127.0.0.1"}"#);
    assert_eq!(code, 400);
    // Malformed verdicts are refused with a reason.
    let (code, _, body) = post(r#"{"action":"cannot_work","scope":"source","value":"10.0.0.1"}"#);
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = post(r#"{"action":"explode","scope":"signature","value":"x"}"#);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("error"));

    // The verdicts are listed, with their authors and the revoked one.
    let (code, _, body) = http(a, "GET", "/api/verdicts", &[], "");
    assert_eq!(code, 200);
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{body}");
    assert!(all
        .iter()
        .any(|v| v["id"] == id && v["revoked_ms"].is_i64()));
}
