//! The plain-file back end, e.g. an nginx `deny ADDR;` include.

use crate::memory::Memory;
use crate::{prepare, Allowlist, Applied, Ban, EnforceError, Enforcer, Listed, Runner};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Marks our lines; what follows is the prefix and the expiry in Unix seconds.
const MARK: &str = "# scantriage ";

/// Bans written to a file, one line each (`deny 192.0.2.7; # scantriage 192.0.2.7/32 until 1764000000`).
///
/// The file is rewritten whole, atomically (a temporary file in the same directory,
/// then a rename), expired lines are dropped at each rewrite, and the reload command
/// runs after every change. Removing everything leaves an empty file, so that an
/// `include` of it stays valid.
pub struct FileEnforcer {
    path: PathBuf,
    template: String,
    reload: Vec<String>,
    max_timeout_secs: u64,
    allow: Allowlist,
    clock: Box<dyn Fn() -> u64 + Send>,
    memory: Memory,
}

impl std::fmt::Debug for FileEnforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEnforcer")
            .field("path", &self.path)
            .field("template", &self.template)
            .field("reload", &self.reload)
            .finish_non_exhaustive()
    }
}

impl FileEnforcer {
    /// Bans written to `path` as nginx `deny ADDR;` lines; `reload` (a program and its
    /// arguments, may be empty) runs after each change.
    pub fn new(path: &Path, reload: Vec<String>, max_timeout_secs: u64, allow: Allowlist) -> Self {
        FileEnforcer {
            path: path.to_path_buf(),
            template: "deny {addr};".into(),
            reload,
            max_timeout_secs,
            allow,
            clock: Box::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            memory: Memory::default(),
        }
    }

    /// Uses another line template; `{addr}` is replaced by the address or prefix.
    pub fn with_template(mut self, template: &str) -> Self {
        self.template = template.to_string();
        self
    }

    /// Uses another clock (Unix seconds), for tests.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> EnforceError + '_ {
        move |source| EnforceError::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// Our entries in the file (prefix → expiry in Unix seconds), expired ones included.
    fn read(&self) -> Result<BTreeMap<IpNet, u64>, EnforceError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io("read")(e)),
        };
        let mut out = BTreeMap::new();
        for line in text.lines() {
            let Some((_, tail)) = line.split_once(MARK) else {
                continue;
            };
            let mut w = tail.split_whitespace();
            let (Some(net), Some("until"), Some(t)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            if let (Ok(net), Ok(t)) = (net.parse::<IpNet>(), t.parse::<u64>()) {
                out.insert(net, t);
            }
        }
        Ok(out)
    }

    /// Rewrites the file with the entries not yet expired; reloads when it changed.
    fn write(&self, entries: &BTreeMap<IpNet, u64>) -> Result<(), EnforceError> {
        let now = (self.clock)();
        let mut text = String::new();
        for (net, until) in entries.iter().filter(|(_, u)| **u > now) {
            let addr = if net.prefix_len() == net.max_prefix_len() {
                net.addr().to_string()
            } else {
                net.to_string()
            };
            text.push_str(&self.template.replace("{addr}", &addr));
            text.push(' ');
            text.push_str(MARK);
            text.push_str(&format!("{net} until {until}\n"));
        }
        let old = std::fs::read_to_string(&self.path).unwrap_or_default();
        if old == text && self.path.exists() {
            return Ok(());
        }
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let r = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = r {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("write")(e));
        }
        if let Some((program, args)) = self.reload.split_first() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Runner::default().run(program, &args, None)?;
        }
        Ok(())
    }
}

impl Enforcer for FileEnforcer {
    fn name(&self) -> &'static str {
        "file"
    }

    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError> {
        let out = prepare(bans, &self.allow, self.max_timeout_secs);
        let now = (self.clock)();
        let mut entries = self.read()?;
        entries.retain(|_, u| *u > now);
        for b in &out.applied {
            if entries.keys().any(|k| *k != b.net && k.contains(&b.net)) {
                continue;
            }
            let until = now.saturating_add(b.timeout_secs);
            let e = entries.entry(b.net).or_insert(until);
            *e = (*e).max(until);
        }
        self.write(&entries)?;
        self.memory.remember(&out.applied);
        Ok(out)
    }

    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError> {
        let nets: Vec<IpNet> = nets.iter().map(IpNet::trunc).collect();
        self.memory.forget(&nets);
        let mut entries = self.read()?;
        entries.retain(|k, _| !nets.contains(k));
        self.write(&entries)
    }

    fn list(&mut self) -> Result<Vec<Listed>, EnforceError> {
        let now = (self.clock)();
        Ok(self
            .read()?
            .into_iter()
            .filter(|(_, u)| *u > now)
            .map(|(net, u)| Listed {
                net,
                expires_in_secs: Some(u - now),
            })
            .collect())
    }

    fn reassert(&mut self) -> Result<usize, EnforceError> {
        let live = self.memory.live();
        let present = self.read()?;
        let missing: Vec<Ban> = live
            .into_iter()
            .filter(|b| !present.contains_key(&b.net))
            .collect();
        self.apply(&missing)?;
        Ok(missing.len())
    }

    fn remove_all(&mut self) -> Result<(), EnforceError> {
        self.memory.clear();
        self.write(&BTreeMap::new())
    }
}
