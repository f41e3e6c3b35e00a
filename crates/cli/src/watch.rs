//! `scantriage watch`: follow access logs, decide as lines arrive, enforce the blocks.
//!
//! This first version polls: every `--interval` it runs the batch analysis on what the
//! inputs gained since their checkpoint and saves it (findings, profiles, decisions and
//! the new checkpoints in one transaction), then hands the new block decisions to the
//! enforcer. A restart (even after SIGKILL) resumes from the stored checkpoints, so no
//! line is lost or counted twice, and first re-applies the store's active blocks. A file
//! replaced under its name (rotation by rename and create, or copytruncate) has a new
//! fingerprint and is read from its start. Limitation: lines written to the old file
//! after the last poll and before a rename are not read (no draining of the old file).

use crate::config::{self, Config};
use crate::enforce_cmd::{self, Backend};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use scantriage_core::DecisionKind;
use scantriage_detect::RuleSet;
use scantriage_enforce::Ban;
use scantriage_store::{SqliteStore, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `scantriage watch`
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Access logs to follow.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Back end (default: the config's `enforce.backend`).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// How often the inputs are read, e.g. 1s, 250ms.
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    /// How often the firewall is repaired (e.g. after `nft flush ruleset`) and the
    /// store's active blocks (also those a person added) are applied.
    #[arg(long, default_value = "30s", value_parser = parse_interval)]
    pub reassert: Duration,
    /// Stop after this many polls (default: run until killed).
    #[arg(long)]
    pub polls: Option<u64>,
    #[command(flatten)]
    pub site: crate::vulndb::SiteArgs,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d >= Duration::from_millis(10) => Ok(d),
        _ => Err(format!(
            "`{s}` is not a duration of at least 10ms; write e.g. 1s, 250ms"
        )),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs the watch loop until killed (or `--polls` polls).
pub fn run(a: WatchArgs, _cfg: &Config, db: &Path, w: &mut dyn Write) -> Result<()> {
    // An owned configuration: the advisory database completes the inventory.
    let mut cfg = match &a.site.config {
        Some(p) => config::load(p).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            anyhow!("invalid configuration:\n  {}", text.join("\n  "))
        })?,
        None => Config::default(),
    };
    let (rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
    for e in &errors {
        eprintln!("scantriage: rule skipped: {e}");
    }
    let vulnerable = crate::vulndb::prepare(&mut cfg, &rules, db)?;
    let mut store =
        SqliteStore::open(db).with_context(|| format!("opening the store {}", db.display()))?;
    // People's verdicts, read again on each re-assert tick: allowed sources are never
    // banned (also by the enforcer built below), blocked ones are.
    let verdicts = store.verdicts(false).context("reading people's verdicts")?;
    let mut verdict_ids: Vec<i64> = verdicts.iter().map(|v| v.id).collect();
    let person = scantriage_assess::PersonVerdicts::new(&verdicts, &rules);
    writeln!(w, "{} active verdict(s)", verdict_ids.len())?;
    cfg.policy
        .allowlist
        .extend(person.allowed().iter().copied());
    let mut enforcer = enforce_cmd::build(&cfg, a.backend)?;
    let max = cfg.enforce.max_timeout_secs;
    let v6 = cfg.enforce.ipv6_prefix_len;
    let restored = scantriage_enforce::restore(&store, enforcer.as_mut(), now_ms(), max, v6)
        .map_err(|e| anyhow!("restoring bans: {e}"))?;
    writeln!(
        w,
        "{}: {} ban(s) restored from {}",
        enforcer.name(),
        restored.applied.len(),
        db.display()
    )?;
    w.flush()?;
    let mut opts = crate::analyze::Options {
        inputs: a.inputs.clone(),
        threads: 1,
        keep_findings: true,
        progress: false,
        vulnerable,
        person,
    };
    let mut last_reassert = Instant::now();
    let mut polls = 0u64;
    loop {
        let started = now_ms();
        let out = crate::analyze::run(&cfg, &rules, &opts, Some(&store as &dyn Store))?;
        if out.summary.lines > 0 {
            crate::analyze::save(&mut store, &out, started)?;
        }
        let bans: Vec<Ban> = out
            .decisions
            .iter()
            .filter(|d| d.kind == DecisionKind::Block)
            .map(|d| Ban::addr(d.source, d.duration_secs.min(max)))
            .collect();
        let bans = scantriage_enforce::aggregate_v6(&bans, v6);
        if !bans.is_empty() {
            match enforcer.apply(&bans) {
                Ok(r) => {
                    for b in &r.applied {
                        writeln!(w, "block {} for {}s", b.net, b.timeout_secs)?;
                    }
                    for b in &r.refused {
                        writeln!(w, "refused {} (allowlisted)", b.net)?;
                    }
                }
                // The decisions are stored: the next restore or reassert applies them.
                Err(e) => eprintln!(
                    "scantriage: enforcing failed{}: {e}",
                    if e.is_retryable() {
                        " (will retry)"
                    } else {
                        ""
                    }
                ),
            }
            w.flush()?;
        }
        if last_reassert.elapsed() >= a.reassert {
            last_reassert = Instant::now();
            // Repair what someone removed, then apply what the store holds now
            // (decisions a person added with `decisions add` meanwhile).
            if let Err(e) = enforcer.reassert() {
                eprintln!("scantriage: re-asserting bans failed: {e}");
            }
            if let Err(e) =
                scantriage_enforce::restore(&store, enforcer.as_mut(), now_ms(), max, v6)
            {
                eprintln!("scantriage: applying the store's decisions failed: {e}");
            }
            // Verdicts a person added meanwhile (`verdict add`, the dashboard).
            match store.verdicts(false) {
                Ok(vs) => {
                    let ids: Vec<i64> = vs.iter().map(|v| v.id).collect();
                    if ids != verdict_ids {
                        opts.person = scantriage_assess::PersonVerdicts::new(&vs, &rules);
                        writeln!(w, "{} active verdict(s), reloaded", ids.len())?;
                        w.flush()?;
                        verdict_ids = ids;
                    }
                }
                Err(e) => eprintln!("scantriage: reading people's verdicts failed: {e}"),
            }
        }
        polls += 1;
        if a.polls.is_some_and(|n| polls >= n) {
            return Ok(());
        }
        std::thread::sleep(a.interval);
    }
}
