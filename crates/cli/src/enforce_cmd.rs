//! `scantriage enforce apply|list|remove` and `scantriage decisions add|delete`, and the
//! `[enforce]` configuration section.
//!
//! `enforce apply` re-applies the store's active block decisions with their remaining
//! time (the same function restores bans after a restart); `decisions add` and
//! `decisions delete` append a person's decision to the store (SQLite in WAL mode, so
//! this works while `analyze` or other readers use it). A deleted decision is an
//! `ignore` that lifts the earlier one; the history stays auditable.

use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ipnet::IpNet;
use scantriage_core::{Decision, DecisionKind, Timestamp};
use scantriage_enforce::{
    Allowlist, DryRun, Enforcer, FileEnforcer, Ipset, IpsetConfig, NftConfig, Nftables, Runner,
};
use scantriage_store::{RunRecord, SqliteStore, Store};
use serde::Deserialize;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Which back end enforces the bans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The project's own nftables table with per-element timeouts.
    Nftables,
    /// ipset sets with timeouts and iptables/ip6tables rules.
    Ipset,
    /// A plain file (e.g. an nginx `deny` include) and a reload command.
    File,
    /// Print what would be done; change nothing.
    DryRun,
}

impl std::str::FromStr for Backend {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "nftables" | "nft" => Ok(Backend::Nftables),
            "ipset" => Ok(Backend::Ipset),
            "file" => Ok(Backend::File),
            "dry-run" => Ok(Backend::DryRun),
            _ => Err(()),
        }
    }
}

/// `[enforce]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnforceSection {
    /// `nftables`, `ipset`, `file` or `dry-run`.
    pub backend: Spanned<String>,
    /// nftables: our table (family `inet`).
    pub table: Spanned<String>,
    /// nftables: the chain on the input hook.
    pub chain: Spanned<String>,
    /// nftables: the chain's priority.
    pub priority: i32,
    /// nftables: the IPv4 set.
    pub set_v4: Spanned<String>,
    /// nftables: the IPv6 set.
    pub set_v6: Spanned<String>,
    /// ipset: the IPv4 set.
    pub ipset_v4: Spanned<String>,
    /// ipset: the IPv6 set.
    pub ipset_v6: Spanned<String>,
    /// file: the file written (e.g. an nginx include).
    pub file: Option<PathBuf>,
    /// file: one line per ban; `{addr}` is replaced by the address.
    pub file_line: Spanned<String>,
    /// file: command run after the file changed (program and arguments).
    pub reload: Vec<String>,
    /// Longest ban given to the back end (longer decisions are re-applied later).
    pub max_timeout: Spanned<String>,
    /// Words put before every firewall command (e.g. `["ip", "netns", "exec", "web"]`).
    pub command_prefix: Vec<String>,
    /// Also never ban this host's own addresses (read from /proc).
    pub own_addresses: bool,
    /// Ban IPv6 sources as this prefix (64: the whole subnet; 128: the address only).
    pub ipv6_prefix_len: u8,
}

impl Default for EnforceSection {
    fn default() -> Self {
        let n = NftConfig::default();
        let i = IpsetConfig::default();
        let s = |v: &str| Spanned::new(0..0, v.to_string());
        EnforceSection {
            backend: s("nftables"),
            table: s(&n.table),
            chain: s(&n.chain),
            priority: n.priority,
            set_v4: s(&n.set_v4),
            set_v6: s(&n.set_v6),
            ipset_v4: s(&i.set_v4),
            ipset_v6: s(&i.set_v6),
            file: None,
            file_line: s("deny {addr};"),
            reload: Vec::new(),
            max_timeout: s("30d"),
            command_prefix: Vec::new(),
            own_addresses: true,
            ipv6_prefix_len: 128,
        }
    }
}

/// Validated `[enforce]` settings.
#[derive(Debug, Clone)]
pub struct EnforceConfig {
    /// The default back end.
    pub backend: Backend,
    /// nftables settings (the runner is built from `command_prefix`).
    pub nft: NftConfig,
    /// ipset settings.
    pub ipset: IpsetConfig,
    /// The file of the file back end.
    pub file: Option<PathBuf>,
    /// Its line template.
    pub file_line: String,
    /// Its reload command.
    pub reload: Vec<String>,
    /// Longest timeout, in seconds.
    pub max_timeout_secs: u64,
    /// Never ban this host's own addresses.
    pub own_addresses: bool,
    /// IPv6 sources are banned as this prefix.
    pub ipv6_prefix_len: u8,
}

impl Default for EnforceConfig {
    fn default() -> Self {
        validate(&EnforceSection::default(), &mut |_, m| panic!("{m}"))
    }
}

fn name_ok(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && s.len() <= 31
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks `[enforce]`, reporting each problem with its span through `err`.
pub fn validate(
    s: &EnforceSection,
    err: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> EnforceConfig {
    let backend = s.backend.get_ref().parse().unwrap_or_else(|_| {
        err(
            s.backend.span(),
            format!(
                "enforce.backend: unknown back end `{}`, expected nftables, ipset, file or dry-run",
                s.backend.get_ref()
            ),
        );
        Backend::DryRun
    });
    for (what, v) in [
        ("table", &s.table),
        ("chain", &s.chain),
        ("set_v4", &s.set_v4),
        ("set_v6", &s.set_v6),
        ("ipset_v4", &s.ipset_v4),
        ("ipset_v6", &s.ipset_v6),
    ] {
        if !name_ok(v.get_ref()) {
            err(
                v.span(),
                format!(
                    "enforce.{what}: `{}` is not a name: a letter, then at most 30 letters, digits, _ or -",
                    v.get_ref()
                ),
            );
        }
    }
    if !s.file_line.get_ref().contains("{addr}") {
        err(
            s.file_line.span(),
            "enforce.file_line: must contain {addr}".into(),
        );
    }
    if backend == Backend::File && s.file.is_none() {
        err(
            s.backend.span(),
            "enforce.file: the file back end needs a file".into(),
        );
    }
    let max_timeout_secs = match humantime::parse_duration(s.max_timeout.get_ref()) {
        Ok(d) if d.as_secs() > 0 => d.as_secs(),
        _ => {
            err(
                s.max_timeout.span(),
                format!(
                    "enforce.max_timeout: `{}` is not a positive duration; write e.g. 30d",
                    s.max_timeout.get_ref()
                ),
            );
            1
        }
    };
    if !(32..=128).contains(&s.ipv6_prefix_len) {
        err(
            0..0,
            format!(
                "enforce.ipv6_prefix_len: {} is out of range; use 32 to 128 (e.g. 64)",
                s.ipv6_prefix_len
            ),
        );
    }
    let runner = Runner::with_prefix(s.command_prefix.clone());
    EnforceConfig {
        backend,
        nft: NftConfig {
            table: s.table.get_ref().clone(),
            set_v4: s.set_v4.get_ref().clone(),
            set_v6: s.set_v6.get_ref().clone(),
            chain: s.chain.get_ref().clone(),
            priority: s.priority,
            max_timeout_secs,
            runner: runner.clone(),
        },
        ipset: IpsetConfig {
            set_v4: s.ipset_v4.get_ref().clone(),
            set_v6: s.ipset_v6.get_ref().clone(),
            max_timeout_secs,
            runner,
        },
        file: s.file.clone(),
        file_line: s.file_line.get_ref().clone(),
        reload: s.reload.clone(),
        max_timeout_secs,
        own_addresses: s.own_addresses,
        ipv6_prefix_len: s.ipv6_prefix_len.clamp(32, 128),
    }
}

/// The addresses never banned: the policy's allowlist (with loopback) and, when
/// configured, this host's own addresses.
pub fn allowlist(cfg: &Config) -> Allowlist {
    let a = Allowlist::new(cfg.policy.allowlist.iter().copied());
    if cfg.enforce.own_addresses {
        a.with_local_addresses()
    } else {
        a
    }
}

/// Builds the back end (`backend` overrides the configured one).
pub fn build(cfg: &Config, backend: Option<Backend>) -> Result<Box<dyn Enforcer>> {
    let e = &cfg.enforce;
    let allow = allowlist(cfg);
    Ok(match backend.unwrap_or(e.backend) {
        Backend::Nftables => Box::new(Nftables::new(e.nft.clone(), allow)?),
        Backend::Ipset => Box::new(Ipset::new(e.ipset.clone(), allow)?),
        Backend::File => {
            let path = e
                .file
                .as_deref()
                .ok_or_else(|| anyhow!("the file back end needs enforce.file in the config"))?;
            Box::new(
                FileEnforcer::new(path, e.reload.clone(), e.max_timeout_secs, allow)
                    .with_template(&e.file_line),
            )
        }
        Backend::DryRun => Box::new(DryRun::new(e.max_timeout_secs, allow)),
    })
}

/// `scantriage enforce ...`
#[derive(Args, Debug)]
pub struct EnforceArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EnforceCommand,
}

/// The `enforce` subcommands.
#[derive(Subcommand, Debug)]
pub enum EnforceCommand {
    /// Apply the store's active block decisions, each for its remaining time.
    Apply {
        /// Back end (default: the config's `enforce.backend`, else nftables).
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
    /// List the bans the back end holds, with their remaining time.
    List {
        /// Back end (default: the config's).
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        /// Output format: table or json.
        #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
        output: String,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
    /// Lift the ban on one address or prefix, or (`--all`) remove every ban and what
    /// scantriage created in the firewall (and nothing else).
    Remove {
        /// The address or prefix.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        target: Option<String>,
        /// Remove everything scantriage created.
        #[arg(long)]
        all: bool,
        /// Back end (default: the config's).
        #[arg(long, value_enum)]
        backend: Option<Backend>,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
}

impl EnforceCommand {
    /// The shared arguments of the subcommand.
    pub fn site(&self) -> &crate::vulndb::SiteArgs {
        match self {
            EnforceCommand::Apply { site, .. }
            | EnforceCommand::List { site, .. }
            | EnforceCommand::Remove { site, .. } => site,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn parse_net(s: &str) -> Result<IpNet> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| anyhow!("`{s}` is not an address or prefix"))
}

fn explain(e: scantriage_enforce::EnforceError) -> anyhow::Error {
    let hint = if e.is_retryable() {
        " (transient: retrying may work)"
    } else {
        ""
    };
    anyhow!("{e}{hint}")
}

/// Runs one `enforce` subcommand.
pub fn run(cmd: EnforceCommand, cfg: &Config, db: &Path, w: &mut dyn Write) -> Result<()> {
    match cmd {
        EnforceCommand::Apply { backend, .. } => {
            let store = SqliteStore::open(db)
                .with_context(|| format!("opening the store {}", db.display()))?;
            let mut e = build(cfg, backend)?;
            let out = scantriage_enforce::restore(
                &store,
                e.as_mut(),
                now_ms(),
                cfg.enforce.max_timeout_secs,
                cfg.enforce.ipv6_prefix_len,
            )
            .map_err(|err| {
                let retry = err.is_retryable();
                anyhow!(
                    "{err}{}",
                    if retry {
                        " (transient: retrying may work)"
                    } else {
                        ""
                    }
                )
            })?;
            for b in &out.refused {
                writeln!(
                    w,
                    "refused {} (allowlisted, loopback or own address)",
                    b.net
                )?;
            }
            writeln!(
                w,
                "{}: {} ban(s) applied, {} refused",
                e.name(),
                out.applied.len(),
                out.refused.len()
            )?;
        }
        EnforceCommand::List {
            backend, output, ..
        } => {
            let mut e = build(cfg, backend)?;
            for l in e.list().map_err(explain)? {
                if output == "json" {
                    writeln!(
                        w,
                        "{}",
                        serde_json::json!({"net": l.net.to_string(), "expires_in_secs": l.expires_in_secs})
                    )?;
                } else {
                    let left = l
                        .expires_in_secs
                        .map_or("-".to_string(), scantriage_report::human_duration);
                    writeln!(w, "{:<44} {left}", l.net.to_string())?;
                }
            }
        }
        EnforceCommand::Remove {
            target,
            all,
            backend,
            ..
        } => {
            let mut e = build(cfg, backend)?;
            if all {
                e.remove_all().map_err(explain)?;
                writeln!(w, "{}: every ban removed", e.name())?;
            } else {
                let net = parse_net(target.as_deref().unwrap_or_default())?;
                e.remove(&[net]).map_err(explain)?;
                writeln!(w, "{}: {net} removed", e.name())?;
            }
        }
    }
    Ok(())
}

/// `scantriage decisions add|delete|list`
#[derive(Subcommand, Debug)]
pub enum DecisionsCommand {
    /// Record a person's decision to block (or watch) a source.
    Add {
        /// The address.
        ip: IpAddr,
        /// How long it holds, e.g. 6h, 7d.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: u64,
        /// Why (shown with the decision).
        #[arg(long)]
        reason: String,
        /// `block` (default) or `watch`.
        #[arg(long, default_value = "block", value_parser = ["block", "watch"])]
        kind: String,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
    /// Lift the decision in force for a source (recorded as a person's `ignore`).
    Delete {
        /// The address.
        ip: IpAddr,
        /// Why (default: "deleted by USER").
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
}

impl DecisionsCommand {
    /// The shared arguments of the subcommand.
    pub fn site(&self) -> &crate::vulndb::SiteArgs {
        match self {
            DecisionsCommand::Add { site, .. } | DecisionsCommand::Delete { site, .. } => site,
        }
    }
}

fn parse_duration(s: &str) -> Result<u64, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.as_secs() > 0 => Ok(d.as_secs()),
        _ => Err(format!(
            "`{s}` is not a positive duration; write e.g. 6h, 7d, 30m"
        )),
    }
}

/// The person running the command: `$SUDO_USER`, `$USER`, `$LOGNAME`, else the name of
/// the real user id in `/etc/passwd`, else `uid N`.
pub fn user_name() -> String {
    if let Some(n) = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    {
        return n;
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_default();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Appends one decision to the store (in its own small run record).
pub fn record(store: &mut dyn Store, d: Decision) -> Result<()> {
    let now = now_ms();
    store.save_run(&RunRecord {
        started_ms: now,
        finished_ms: now,
        inputs: &[],
        lines: 0,
        parse_errors: 0,
        findings: &[],
        sources: &[],
        decisions: std::slice::from_ref(&d),
        checkpoints: &[],
    })?;
    Ok(())
}

/// Runs `decisions add` or `decisions delete`.
pub fn run_decisions(
    cmd: DecisionsCommand,
    cfg: &Config,
    db: &Path,
    w: &mut dyn Write,
) -> Result<()> {
    let mut store =
        SqliteStore::open(db).with_context(|| format!("opening the store {}", db.display()))?;
    let by = user_name();
    let at = Timestamp {
        unix_ms: now_ms(),
        offset_min: 0,
    };
    match cmd {
        DecisionsCommand::Add {
            ip,
            duration,
            reason,
            kind,
            ..
        } => {
            let kind = if kind == "watch" {
                DecisionKind::Watch
            } else {
                DecisionKind::Block
            };
            if kind == DecisionKind::Block && allowlist(cfg).refuses_addr(ip) {
                bail!("{ip} is allowlisted (policy.allowlist, loopback or this host's address): not blocked");
            }
            record(
                &mut store,
                Decision {
                    source: ip,
                    kind,
                    duration_secs: duration,
                    reasons: vec![format!("{reason} (by {by})")],
                    by: by.clone(),
                    at,
                },
            )?;
            writeln!(
                w,
                "{ip}: {} for {} by {by}; `scantriage enforce apply` enforces it now",
                kind.as_str(),
                scantriage_report::human_duration(duration)
            )?;
        }
        DecisionsCommand::Delete { ip, reason, .. } => {
            let active = store.active_decisions(at.unix_ms)?;
            if !active.iter().any(|d| d.source == ip) {
                bail!("{ip}: no active decision in {}", db.display());
            }
            record(
                &mut store,
                Decision {
                    source: ip,
                    kind: DecisionKind::Ignore,
                    duration_secs: 0,
                    reasons: vec![reason.unwrap_or_else(|| format!("deleted by {by}"))],
                    by: by.clone(),
                    at,
                },
            )?;
            writeln!(
                w,
                "{ip}: decision lifted by {by}; `scantriage enforce remove {ip}` lifts a ban in force"
            )?;
        }
    }
    Ok(())
}
