//! The ipset back end: `hash:net` sets with timeouts and one iptables rule per family.

use crate::memory::Memory;
use crate::nft::valid_name;
use crate::{prepare, Allowlist, Applied, Ban, EnforceError, Enforcer, Listed, Runner};
use ipnet::IpNet;
use std::fmt::Write as _;

/// ipset's largest timeout, in seconds.
pub const IPSET_MAX_TIMEOUT_SECS: u64 = 2_147_483;

/// Settings of the [`Ipset`] back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetConfig {
    /// The IPv4 set (default `scantriage4`).
    pub set_v4: String,
    /// The IPv6 set (default `scantriage6`).
    pub set_v6: String,
    /// Longest timeout given to an entry (capped at ipset's own limit, about 24 days).
    pub max_timeout_secs: u64,
    /// How `ipset`, `iptables` and `ip6tables` are run.
    pub runner: Runner,
}

impl Default for IpsetConfig {
    fn default() -> Self {
        IpsetConfig {
            set_v4: "scantriage4".into(),
            set_v6: "scantriage6".into(),
            max_timeout_secs: IPSET_MAX_TIMEOUT_SECS,
            runner: Runner::default(),
        }
    }
}

/// Bans in two ipsets, dropped by `iptables`/`ip6tables` rules at the top of `INPUT`.
#[derive(Debug)]
pub struct Ipset {
    cfg: IpsetConfig,
    allow: Allowlist,
    memory: Memory,
}

impl Ipset {
    /// A back end with these settings.
    pub fn new(cfg: IpsetConfig, allow: Allowlist) -> Result<Self, EnforceError> {
        for name in [&cfg.set_v4, &cfg.set_v6] {
            if !valid_name(name) || name.len() > 31 {
                return Err(EnforceError::Config {
                    message: format!("ipset name `{name}`: at most 31 letters, digits, _ or -"),
                });
            }
        }
        Ok(Ipset {
            cfg,
            allow,
            memory: Memory::default(),
        })
    }

    fn families(&self) -> [(&str, &str, &'static str); 2] {
        [
            (self.cfg.set_v4.as_str(), "inet", "iptables"),
            (self.cfg.set_v6.as_str(), "inet6", "ip6tables"),
        ]
    }

    /// The `ipset restore` script that creates both sets if missing and adds `bans`.
    pub fn restore_script(&self, bans: &[Ban]) -> String {
        let mut s = String::new();
        for (set, family, _) in self.families() {
            let _ = writeln!(s, "create {set} hash:net family {family} timeout 0");
        }
        for b in bans {
            let set = match b.net {
                IpNet::V4(_) => &self.cfg.set_v4,
                IpNet::V6(_) => &self.cfg.set_v6,
            };
            let _ = writeln!(s, "add {set} {} timeout {}", b.net, b.timeout_secs);
        }
        s
    }

    fn rule(set: &str) -> [&str; 8] {
        [
            "INPUT",
            "-m",
            "set",
            "--match-set",
            set,
            "src",
            "-j",
            "DROP",
        ]
    }

    /// Refuses sets of our names that we did not create (another type or family, or
    /// without timeouts), so that we never fill or destroy someone else's set.
    fn check_ours(&self) -> Result<(), EnforceError> {
        for (set, family, _) in self.families() {
            match self.cfg.runner.run("ipset", &["list", "-t", set], None) {
                Ok(header) => {
                    if !is_our_header(&header, family) {
                        return Err(EnforceError::Config {
                            message: format!(
                                "ipset {set} exists but scantriage did not create it \
                                 (not hash:net family {family} with timeouts); choose another name"
                            ),
                        });
                    }
                }
                Err(EnforceError::Command { stderr, .. }) if stderr.contains("does not exist") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn write(&self, bans: &[Ban]) -> Result<(), EnforceError> {
        self.check_ours()?;
        let r = &self.cfg.runner;
        r.run(
            "ipset",
            &["restore", "-exist"],
            Some(&self.restore_script(bans)),
        )?;
        for (set, _, tables) in self.families() {
            let rule = Self::rule(set);
            let mut check = vec!["-C"];
            check.extend_from_slice(&rule);
            if r.run(tables, &check, None).is_err() {
                let mut insert = vec!["-I", "INPUT", "1"];
                insert.extend_from_slice(&rule[1..]);
                r.run(tables, &insert, None)?;
            }
        }
        Ok(())
    }
}

impl Enforcer for Ipset {
    fn name(&self) -> &'static str {
        "ipset"
    }

    fn apply(&mut self, bans: &[Ban]) -> Result<Applied, EnforceError> {
        let max = self.cfg.max_timeout_secs.min(IPSET_MAX_TIMEOUT_SECS);
        let out = prepare(bans, &self.allow, max);
        self.write(&out.applied)?;
        self.memory.remember(&out.applied);
        Ok(out)
    }

    fn remove(&mut self, nets: &[IpNet]) -> Result<(), EnforceError> {
        let nets: Vec<IpNet> = nets.iter().map(IpNet::trunc).collect();
        self.memory.forget(&nets);
        let present = self.list()?;
        let mut script = String::new();
        for n in present.iter().map(|l| l.net).filter(|n| nets.contains(n)) {
            let set = match n {
                IpNet::V4(_) => &self.cfg.set_v4,
                IpNet::V6(_) => &self.cfg.set_v6,
            };
            let _ = writeln!(script, "del {set} {n}");
        }
        if !script.is_empty() {
            self.cfg
                .runner
                .run("ipset", &["restore", "-exist"], Some(&script))?;
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Listed>, EnforceError> {
        let mut out = Vec::new();
        for (set, _, _) in self.families() {
            match self.cfg.runner.run("ipset", &["save", set], None) {
                Ok(text) => out.extend(parse_save(&text)),
                Err(EnforceError::Command { stderr, .. }) if stderr.contains("does not exist") => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by_key(|b| b.net);
        Ok(out)
    }

    fn reassert(&mut self) -> Result<usize, EnforceError> {
        let live = self.memory.live();
        self.write(&live)?;
        Ok(live.len())
    }

    fn remove_all(&mut self) -> Result<(), EnforceError> {
        self.check_ours()?;
        self.memory.clear();
        let r = &self.cfg.runner;
        for (set, _, tables) in self.families() {
            let rule = Self::rule(set);
            let mut delete = vec!["-D"];
            delete.extend_from_slice(&rule);
            // Our rule may have been inserted more than once; bounded.
            for _ in 0..16 {
                if r.run(tables, &delete, None).is_err() {
                    break;
                }
            }
            match r.run("ipset", &["destroy", set], None) {
                Ok(_) => {}
                Err(EnforceError::Command { stderr, .. }) if stderr.contains("does not exist") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// True when an `ipset list -t` header describes a set as we create it.
pub(crate) fn is_our_header(header: &str, family: &str) -> bool {
    let field = |name: &str| {
        header
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("")
    };
    let head: Vec<&str> = field("Header:").split_whitespace().collect();
    field("Type:") == "hash:net"
        && head.windows(2).any(|w| w == ["family", family])
        && head.contains(&"timeout")
}

/// Entries of `ipset save` output: `add SET ADDR[/LEN] [timeout N]`.
pub(crate) fn parse_save(text: &str) -> Vec<Listed> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            if w.next()? != "add" {
                return None;
            }
            let _set = w.next()?;
            let a = w.next()?;
            let net = a
                .parse::<IpNet>()
                .ok()
                .or_else(|| a.parse::<std::net::IpAddr>().ok().map(IpNet::from))?;
            let mut expires = None;
            while let Some(k) = w.next() {
                if k == "timeout" {
                    expires = w.next().and_then(|v| v.parse().ok());
                }
            }
            Some(Listed {
                net,
                expires_in_secs: expires,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_output_parses_and_script_is_exist_safe() {
        let l = parse_save(
            "create scantriage4 hash:net family inet hashsize 1024 maxelem 65536 timeout 0\n\
             add scantriage4 192.0.2.1 timeout 3591\nadd scantriage4 198.51.100.0/24 timeout 10\n",
        );
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].net.to_string(), "192.0.2.1/32");
        assert_eq!(l[0].expires_in_secs, Some(3591));
        assert_eq!(l[1].net.to_string(), "198.51.100.0/24");
        let ours = "Name: scantriage4\nType: hash:net\nRevision: 7\n\
                    Header: family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12\n";
        assert!(is_our_header(ours, "inet"));
        assert!(!is_our_header(ours, "inet6"));
        assert!(!is_our_header(&ours.replace("hash:net", "hash:ip"), "inet"));
        assert!(!is_our_header(&ours.replace(" timeout 0", ""), "inet"));
        let i = Ipset::new(IpsetConfig::default(), Allowlist::default()).unwrap();
        let s = i.restore_script(&[Ban::addr("2001:db8::7".parse().unwrap(), 60)]);
        assert_eq!(
            s,
            "create scantriage4 hash:net family inet timeout 0\n\
             create scantriage6 hash:net family inet6 timeout 0\n\
             add scantriage6 2001:db8::7/128 timeout 60\n"
        );
    }
}
