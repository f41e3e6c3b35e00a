//! The nftables back end: our own table, two sets with per-element timeouts, one chain.

use crate::memory::Memory;
use crate::{prepare, Allowlist, Applied, Ban, EnforceError, Enforcer, Listed, Runner};
use ipnet::IpNet;
use std::fmt::Write as _;

/// Settings of the [`Nftables`] back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftConfig {
    /// Our table, in the `inet` family (default `scantriage`).
    pub table: String,
    /// The IPv4 set (default `banned_v4`).
    pub set_v4: String,
    /// The IPv6 set (default `banned_v6`).
    pub set_v6: String,
    /// The chain on the input hook (default `input`).
    pub chain: String,
    /// The chain's priority (default -10: before the usual `filter` chains at 0).
    pub priority: i32,
    /// Longest timeout given to an element, in seconds.
    pub max_timeout_secs: u64,
    /// How `nft` is run (e.g. behind `ip netns exec NS`).
    pub runner: Runner,
}

impl Default for NftConfig {
    fn default() -> Self {
        NftConfig {
            table: "scantriage".into(),
            set_v4: "banned_v4".into(),
            set_v6: "banned_v6".into(),
            chain: "input".into(),
            priority: -10,
            max_timeout_secs: crate::DEFAULT_MAX_TIMEOUT_SECS,
            runner: Runner::default(),
        }
    }
}

/// True for a name nft reads as one identifier: a letter, then letters, digits, `_` or `-`.
pub(crate) fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && s.len() <= 64
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Bans in an nftables table of our own (see the crate documentation).
#[derive(Debug)]
pub struct Nftables {
    cfg: NftConfig,
    allow: Allowlist,
    memory: Memory,
}

impl Nftables {
    /// A back end with these settings; names are checked so that nft cannot misread them.
    pub fn new(cfg: NftConfig, allow: Allowlist) -> Result<Self, EnforceError> {
        for (what, name) in [
            ("table", &cfg.table),
            ("set_v4", &cfg.set_v4),
            ("set_v6", &cfg.set_v6),
            ("chain", &cfg.chain),
        ] {
            if !valid_name(name) {
                return Err(EnforceError::Config {
                    message: format!("{what} `{name}`: use a letter, then letters, digits, _ or -"),
                });
            }
        }
        if cfg.set_v4 == cfg.set_v6 {
            return Err(EnforceError::Config {
                message: "set_v4 and set_v6 must differ".into(),
            });
        }
        Ok(Nftables {
            cfg,
            allow,
            memory: Memory::default(),
        })
    }

    /// The batch that creates our table, sets and chain if missing and (re)writes the
    /// chain's two rules; idempotent, and it never touches another table.
    pub fn setup_script(&self) -> String {
        let NftConfig {
            table: t,
            set_v4: s4,
            set_v6: s6,
            chain: c,
            priority: p,
            ..
        } = &self.cfg;
        format!(
            "add table inet {t}\n\
             add set inet {t} {s4} {{ type ipv4_addr; flags interval, timeout; }}\n\
             add set inet {t} {s6} {{ type ipv6_addr; flags interval, timeout; }}\n\
             add chain inet {t} {c} {{ type filter hook input priority {p}; policy accept; }}\n\
             flush chain inet {t} {c}\n\
             add rule inet {t} {c} ip saddr @{s4} drop\n\
             add rule inet {t} {c} ip6 saddr @{s6} drop\n"
        )
    }

    fn nft(&self, args: &[&str], stdin: Option<&str>) -> Result<String, EnforceError> {
        self.cfg.runner.run("nft", args, stdin)
    }

    /// The elements of our sets, or `None` when our table does not exist. A table of
    /// that name holding sets or chains we did not create is someone else's: refused,
    /// so that we never flush or delete it.
    fn current(&self) -> Result<Option<Vec<Listed>>, EnforceError> {
        let args = ["-j", "list", "table", "inet", self.cfg.table.as_str()];
        match self.nft(&args, None) {
            Ok(out) => {
                let c = &self.cfg;
                let foreign = foreign_objects(&out, &[&c.set_v4, &c.set_v6], &c.chain);
                if !foreign.is_empty() {
                    return Err(EnforceError::Config {
                        message: format!(
                            "table inet {} holds {} that scantriage did not create: it is not ours; \
                             choose another enforce.table",
                            c.table,
                            foreign.join(", ")
                        ),
                    });
                }
                parse_table(&out, &[&self.cfg.set_v4, &self.cfg.set_v6])
                    .map(Some)
                    .map_err(|message| EnforceError::Output {
                        command: format!("nft {}", args.join(" ")),
                        message,
                    })
            }
            Err(EnforceError::Command { stderr, .. })
                if stderr.contains("No such file or directory")
                    || stderr.contains("does not exist") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn set_of(&self, net: &IpNet) -> &str {
        match net {
            IpNet::V4(_) => &self.cfg.set_v4,
            IpNet::V6(_) => &self.cfg.set_v6,
        }
    }

    /// Writes the prepared bans in one batch; returns how many elements were written.
    fn write(&self, bans: &[Ban]) -> Result<usize, EnforceError> {
        let existing = self.current()?.unwrap_or_default();
        let mut delete: Vec<IpNet> = Vec::new();
        let mut add: Vec<&Ban> = Vec::new();
        for b in bans {
            let same = existing.iter().find(|e| e.net == b.net);
            if let Some(e) = same {
                match e.expires_in_secs {
                    Some(left) if left < b.timeout_secs => delete.push(e.net),
                    // Already in force at least as long (or without expiry).
                    _ => continue,
                }
            } else if existing.iter().any(|e| e.net.contains(&b.net)) {
                // Covered by a broader element; interval sets refuse the overlap.
                continue;
            }
            for e in &existing {
                if e.net != b.net && b.net.contains(&e.net) && !delete.contains(&e.net) {
                    delete.push(e.net);
                }
            }
            add.push(b);
        }
        let mut script = self.setup_script();
        let t = &self.cfg.table;
        for n in &delete {
            let _ = writeln!(
                script,
                "delete element inet {t} {} {{ {n} }}",
                self.set_of(n)
            );
        }
        for b in &add {
            let _ = writeln!(
                script,
                "add element inet {t} {} {{ {} timeout {}s }}",
                self.set_of(&b.net),
                b.net,
                b.timeout_secs
            );
        }
        self.nft(&["-f", "-"], Some(&script))?;
        Ok(add.len())
    }
}

impl Enforcer for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError> {
        let out = prepare(bans, &self.allow, self.cfg.max_timeout_secs);
        self.write(&out.applied)?;
        self.memory.remember(&out.applied);
        Ok(out)
    }

    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError> {
        let nets: Vec<IpNet> = nets.iter().map(IpNet::trunc).collect();
        self.memory.forget(&nets);
        let Some(existing) = self.current()? else {
            return Ok(());
        };
        let mut script = String::new();
        for e in existing.iter().filter(|e| nets.contains(&e.net)) {
            let _ = writeln!(
                script,
                "delete element inet {} {} {{ {} }}",
                self.cfg.table,
                self.set_of(&e.net),
                e.net
            );
        }
        if !script.is_empty() {
            self.nft(&["-f", "-"], Some(&script))?;
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Listed>, EnforceError> {
        Ok(self.current()?.unwrap_or_default())
    }

    fn reassert(&mut self) -> Result<usize, EnforceError> {
        let live = self.memory.live();
        self.write(&live)
    }

    fn remove_all(&mut self) -> Result<(), EnforceError> {
        self.memory.clear();
        if self.current()?.is_some() {
            self.nft(&["delete", "table", "inet", &self.cfg.table], None)?;
        }
        Ok(())
    }
}

/// Sets, chains and other objects in `nft -j list table` output that are not ours.
pub(crate) fn foreign_objects(json: &str, sets: &[&str], chain: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in v
        .get("nftables")
        .and_then(|n| n.as_array())
        .into_iter()
        .flatten()
    {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let name = body.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let ours = match kind.as_str() {
            "metainfo" | "table" | "rule" => true,
            "set" => sets.contains(&name),
            "chain" => name == chain,
            _ => false,
        };
        if !ours {
            out.push(format!("{kind} {name}"));
        }
    }
    out
}

/// The elements of the named sets in `nft -j list table` output.
pub(crate) fn parse_table(json: &str, sets: &[&str]) -> Result<Vec<Listed>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let items = v
        .get("nftables")
        .and_then(|n| n.as_array())
        .ok_or("no `nftables` array")?;
    let mut out = Vec::new();
    for item in items {
        let Some(set) = item.get("set") else { continue };
        if !set
            .get("name")
            .and_then(|n| n.as_str())
            .is_some_and(|n| sets.contains(&n))
        {
            continue;
        }
        for e in set
            .get("elem")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let (val, expires) = match e.get("elem") {
                Some(inner) => (
                    inner.get("val").ok_or("element without `val`")?,
                    inner
                        .get("expires")
                        .and_then(|x| x.as_f64())
                        .map(|x| x.max(0.0).ceil() as u64),
                ),
                None => (e, None),
            };
            // A range that is not a prefix cannot come from us; skip it.
            if let Some(net) = parse_val(val) {
                out.push(Listed {
                    net,
                    expires_in_secs: expires,
                });
            }
        }
    }
    out.sort_by_key(|b| b.net);
    Ok(out)
}

fn parse_val(v: &serde_json::Value) -> Option<IpNet> {
    if let Some(s) = v.as_str() {
        return s.parse::<std::net::IpAddr>().ok().map(IpNet::from);
    }
    let p = v.get("prefix")?;
    let addr: std::net::IpAddr = p.get("addr")?.as_str()?.parse().ok()?;
    let len = u8::try_from(p.get("len")?.as_u64()?).ok()?;
    IpNet::new(addr, len).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nft_json_elements() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
          {"table": {"family": "inet", "name": "scantriage", "handle": 1}},
          {"set": {"family": "inet", "name": "banned_v4", "table": "scantriage", "type": "ipv4_addr",
            "flags": ["interval", "timeout"], "elem": [
              {"elem": {"val": "192.0.2.1", "timeout": 300, "expires": 299}},
              {"elem": {"val": {"prefix": {"addr": "198.51.100.0", "len": 24}}, "timeout": 50, "expires": 49.5}},
              "203.0.113.9"]}},
          {"set": {"family": "inet", "name": "banned_v6", "table": "scantriage", "type": "ipv6_addr",
            "flags": ["interval", "timeout"], "elem": [
              {"elem": {"val": {"prefix": {"addr": "2001:db8::", "len": 64}}, "timeout": 60, "expires": 10}}]}},
          {"set": {"family": "inet", "name": "other", "table": "scantriage", "elem": ["10.0.0.1"]}}]}"#;
        let l = parse_table(json, &["banned_v4", "banned_v6"]).unwrap();
        let shown: Vec<String> = l
            .iter()
            .map(|l| format!("{} {:?}", l.net, l.expires_in_secs))
            .collect();
        assert_eq!(
            shown,
            [
                "192.0.2.1/32 Some(299)",
                "198.51.100.0/24 Some(50)",
                "203.0.113.9/32 None",
                "2001:db8::/64 Some(10)"
            ]
        );
        assert!(parse_table("{}", &["x"]).is_err());
        assert_eq!(
            foreign_objects(json, &["banned_v4", "banned_v6"], "input"),
            ["set other"]
        );
    }

    #[test]
    fn names_are_checked_and_setup_only_names_our_table() {
        let bad = NftConfig {
            set_v4: "x; flush ruleset".into(),
            ..NftConfig::default()
        };
        assert!(Nftables::new(bad, Allowlist::default()).is_err());
        let n = Nftables::new(NftConfig::default(), Allowlist::default()).unwrap();
        let s = n.setup_script();
        assert!(s.lines().all(|l| l.contains(" inet scantriage")), "{s}");
        assert!(s.contains("flags interval, timeout"));
        assert!(s.contains("hook input priority -10"));
        assert!(!s.contains("flush ruleset") && !s.contains("delete"));
    }
}
