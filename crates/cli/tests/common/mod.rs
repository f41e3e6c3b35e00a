//! Helpers shared by the command-line integration tests.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The inventory of the corpus site: a WordPress blog on nginx with PHP.
pub const WP_CONFIG: &str = r#"
[site]
dynamic = true
[[inventory.product]]
name = "nginx"
[[inventory.product]]
name = "php"
[[inventory.product]]
name = "wordpress"
version = "6.4.2"
"#;

/// The same server with WordPress left out of the inventory.
pub const NO_WP_CONFIG: &str = r#"
[site]
dynamic = true
[[inventory.product]]
name = "nginx"
[[inventory.product]]
name = "php"
"#;

/// The command under test.
pub fn scantriage() -> Command {
    Command::cargo_bin("scantriage").unwrap()
}

/// Runs `analyze --output json` and returns (sources by ip, summary, exit code, stderr).
pub fn analyze_json(args: &[&str]) -> (HashMap<String, Value>, Value, i32, String) {
    let out = scantriage()
        .arg("analyze")
        .args(["--output", "json", "--no-progress"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).expect("JSON output is UTF-8");
    let mut sources = HashMap::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line}: {e}"));
        if let Some(s) = v.get("summary") {
            summary = s.clone();
        } else if v.get("campaign").is_some() {
            // Campaign objects: see `analyze_campaigns`.
        } else {
            sources.insert(v["ip"].as_str().unwrap().to_string(), v);
        }
    }
    (
        sources,
        summary,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a file and returns its path as a string.
pub fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.display().to_string()
}
