//! Network namespaces for tests that need a real kernel firewall.
//!
//! [`Netns::create`] makes a fresh namespace named `st-test-<pid>-<tag>` and deletes it
//! when dropped, also when the test fails. Such tests need root and the `ip` and `nft`
//! programs: elsewhere they skip (returning `None`), but under CI (the `CI` variable is
//! set) a missing requirement is a failure, so that CI never passes by skipping.

use std::process::{Command, Stdio};

/// A network namespace that is deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

/// True when `program` can be found on `PATH` (or in the sbin directories).
fn have(program: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|d| std::path::Path::new(d).join(program).is_file());
    found
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Netns {
    /// Creates `st-test-<pid>-<tag>` when running as root with `ip` and every program
    /// in `needs`; `None` (skip) otherwise, except under CI where it panics.
    pub fn create(tag: &str, needs: &[&str]) -> Option<Netns> {
        let mut missing: Vec<String> = ["ip"]
            .iter()
            .chain(needs)
            .filter(|p| !have(p))
            .map(|p| p.to_string())
            .collect();
        if !is_root() {
            missing.push("root".into());
        }
        if !missing.is_empty() {
            let why = format!("network namespace test needs {}", missing.join(", "));
            if std::env::var_os("CI").is_some() {
                panic!("{why} (CI is set: not skipping)");
            }
            eprintln!("skipped: {why}");
            return None;
        }
        let name = format!("st-test-{}-{tag}", std::process::id());
        // A leftover from a crashed run of the same pid would make `add` fail.
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed");
        let ns = Netns { name };
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The words that run a command inside the namespace: `ip netns exec NAME`.
    pub fn prefix(&self) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.name.clone(),
        ]
    }

    /// Runs `program args...` in the namespace; returns (success, stdout, stderr).
    pub fn exec(&self, program: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Like [`Netns::exec`], panicking on failure; returns stdout.
    pub fn exec_ok(&self, program: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.exec(program, args);
        assert!(ok, "{program} {args:?} in {} failed: {err}", self.name);
        out
    }

    /// Starts a real nginx in the namespace (in the foreground, as root), serving
    /// `dir/www` on port 80 and writing a combined access log to `dir/access.log`;
    /// `locations` is added inside its `server` block. Its config, pid file, error log
    /// and temporary files live in `dir`. The caller waits for it to answer and kills it.
    pub fn spawn_nginx(&self, dir: &std::path::Path, locations: &str) -> std::process::Child {
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx temp dir");
        let d = dir.display();
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 512; }}\n\
                 http {{\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  \
                 fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  \
                 scgi_temp_path {d}/tmp/scgi;\n  access_log {d}/access.log combined;\n  \
                 server {{ listen 80; root {d}/www;\n{locations}\n  }}\n}}\n"
            ),
        )
        .expect("write nginx.conf");
        Command::new("ip")
            .args(["netns", "exec", &self.name, "nginx", "-e"])
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx")
    }

    /// Runs `nft -f -` with `script` in the namespace, panicking on failure.
    pub fn nft_script(&self, script: &str) {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn nft");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write script");
        assert!(
            child.wait().expect("wait nft").success(),
            "nft -f failed:\n{script}"
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
