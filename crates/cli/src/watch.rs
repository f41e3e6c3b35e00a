//! `scantriage watch`: follow logs and the journal, decide as lines arrive, enforce the
//! blocks; the long-running service.
//!
//! Every `--interval` (200 ms by default) each input is read from where it stopped:
//! files through a [`FileFollower`] (kept open, so a file renamed by rotation is read to
//! its end before and while the new one is read from its start; copytruncate is read
//! again from 0), the journal through `journalctl -o json --follow` (sshd and kernel
//! messages, resumed after the stored cursor). What arrived is analysed in one batch,
//! the new block decisions go to the firewall at once, and then the findings,
//! profiles, decisions and the inputs' new checkpoints are saved in one transaction: a
//! restart, even after SIGKILL, resumes exactly there, so no line is lost or counted
//! twice, and first re-applies the store's active blocks (the kernel also keeps its
//! own timeouts meanwhile).
//!
//! Service habits: SIGTERM and SIGINT finish the current batch, save it and exit 0;
//! SIGHUP re-reads the configuration (inputs of `[watch]`, rules, allowlist, policy,
//! enforcement), logs what changed, and keeps the old one if the new one is invalid.
//! `--metrics 127.0.0.1:9477` (or `watch.metrics`) serves Prometheus metrics on
//! loopback.

use crate::analyze::Feed;
use crate::config::{self, Config};
use crate::enforce_cmd::{self, Backend};
use crate::follow::FileFollower;
use crate::metrics::Metrics;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use ipnet::IpNet;
use scantriage_core::SourceSummary;
use scantriage_core::{DecisionKind, SignatureIndex};
use scantriage_detect::RuleSet;
use scantriage_enforce::{Ban, Enforcer};
use scantriage_ingest::InputFormat;
use scantriage_store::{Checkpoint, SqliteStore, Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// `scantriage watch`
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Logs to follow (access logs, auth.log, kernel logs), and `journal`,
    /// `journal:sshd`, `journal:kernel`, `journal:mail` or `journal:ftp` for the systemd journal; more in the
    /// config's `watch.inputs`.
    pub inputs: Vec<String>,
    /// Also follow the journal's sshd and kernel messages (same as the input `journal`).
    #[arg(long)]
    pub journal: bool,
    /// Back end (default: the config's `enforce.backend`).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// How often the inputs are read, e.g. 200ms, 1s.
    #[arg(long, default_value = "200ms", value_parser = parse_interval)]
    pub interval: Duration,
    /// How often the firewall is repaired (e.g. after `nft flush ruleset`) and the
    /// store's active blocks (also those a person added) are applied.
    #[arg(long, default_value = "30s", value_parser = parse_interval)]
    pub reassert: Duration,
    /// Serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9477
    /// (default: the config's `watch.metrics`).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Stop after this many polls (default: run until stopped).
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

/// Bytes read from one file per poll at most (a backlog is read over several polls).
const MAX_BYTES_PER_POLL: u64 = 8 << 20;

/// Programs whose messages the journal input `journal:mail` reads.
const JOURNAL_MAIL: [&str; 6] = [
    "SYSLOG_IDENTIFIER=postfix/smtpd",
    "SYSLOG_IDENTIFIER=postfix/submission/smtpd",
    "SYSLOG_IDENTIFIER=postfix/smtps/smtpd",
    "SYSLOG_IDENTIFIER=dovecot",
    "SYSLOG_IDENTIFIER=exim",
    "SYSLOG_IDENTIFIER=exim4",
];
/// Programs whose messages the journal input `journal:ftp` reads.
const JOURNAL_FTP: [&str; 3] = [
    "SYSLOG_IDENTIFIER=vsftpd",
    "SYSLOG_IDENTIFIER=proftpd",
    "SYSLOG_IDENTIFIER=pure-ftpd",
];
/// sshd's identifiers (OpenSSH 9.8+ logs as `sshd-session`).
const JOURNAL_SSHD: [&str; 2] = ["SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session"];
/// The kernel's messages (netfilter logs).
const JOURNAL_KERNEL: [&str; 1] = ["_TRANSPORT=kernel"];

/// The journalctl matches of a journal input: `journal` (sshd, kernel, mail and FTP
/// messages), `journal:sshd`, `journal:kernel`, `journal:mail` or `journal:ftp`; `None`
/// for anything else.
pub fn journal_matches(spec: &str) -> Option<Vec<&'static str>> {
    let groups: &[&[&'static str]] = match spec {
        "journal" => &[&JOURNAL_SSHD, &JOURNAL_KERNEL, &JOURNAL_MAIL, &JOURNAL_FTP],
        "journal:sshd" => &[&JOURNAL_SSHD],
        "journal:kernel" => &[&JOURNAL_KERNEL],
        "journal:mail" => &[&JOURNAL_MAIL],
        "journal:ftp" => &[&JOURNAL_FTP],
        _ => return None,
    };
    // Matches joined by `+` are alternatives.
    let mut v = Vec::new();
    for m in groups.iter().flat_map(|g| g.iter()) {
        if !v.is_empty() {
            v.push("+");
        }
        v.push(*m);
    }
    Some(v)
}

/// Follows the journal through `journalctl -o json --follow`; the cursor of the last
/// entry read is its checkpoint.
struct JournalFollower {
    spec: String,
    child: Option<Child>,
    rx: Option<mpsc::Receiver<Vec<u8>>>,
    cursor: Option<String>,
    offset: u64,
    lines: u64,
    restart_at: Option<Instant>,
    lines_read: u64,
}

fn cursor_of(line: &[u8]) -> Option<String> {
    let key = b"\"__CURSOR\":\"";
    let i = line.windows(key.len()).position(|w| w == key)? + key.len();
    let end = line[i..].iter().position(|&b| b == b'"')?;
    String::from_utf8(line[i..i + end].to_vec()).ok()
}

impl JournalFollower {
    fn resume(spec: &str, store: &dyn Store) -> Result<JournalFollower> {
        let cp = store.checkpoint(spec)?;
        let mut j = JournalFollower {
            spec: spec.to_string(),
            child: None,
            rx: None,
            cursor: cp
                .as_ref()
                .map(|c| c.fingerprint.clone())
                .filter(|c| !c.is_empty()),
            offset: cp.as_ref().map_or(0, |c| c.offset),
            lines: cp.as_ref().map_or(0, |c| c.lines),
            restart_at: None,
            lines_read: 0,
        };
        j.spawn();
        Ok(j)
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("journalctl");
        cmd.args(["-o", "json", "--follow", "--no-pager"]);
        match &self.cursor {
            Some(c) => cmd.arg(format!("--after-cursor={c}")),
            // First start: from now on (the journal's past is for `analyze`).
            None => cmd.arg("--lines=0"),
        };
        cmd.args(journal_matches(&self.spec).unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match cmd.spawn() {
            Ok(mut child) => {
                let out = child.stdout.take().expect("piped stdout");
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let mut r = std::io::BufReader::with_capacity(1 << 16, out);
                    loop {
                        let mut line = Vec::new();
                        match r.read_until(b'\n', &mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line.ends_with(b"\n") => {
                                if tx.send(line).is_err() {
                                    return;
                                }
                            }
                            // A last line without its newline: journalctl was cut off.
                            Ok(_) => return,
                        }
                    }
                });
                self.child = Some(child);
                self.rx = Some(rx);
                self.restart_at = None;
            }
            Err(e) => {
                eprintln!("scantriage: {}: cannot run journalctl: {e}", self.spec);
                self.restart_at = Some(Instant::now() + Duration::from_secs(5));
            }
        }
    }

    fn poll(&mut self, max: u64) -> Option<Feed> {
        let mut data = Vec::new();
        let mut last = None;
        let mut gone = false;
        if let Some(rx) = &self.rx {
            while (data.len() as u64) < max {
                match rx.try_recv() {
                    Ok(line) => {
                        if let Some(c) = cursor_of(&line) {
                            last = Some(c);
                        }
                        data.extend_from_slice(&line);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        gone = true;
                        break;
                    }
                }
            }
        }
        if gone {
            if let Some(mut c) = self.child.take() {
                let status = c.wait().map(|s| s.to_string()).unwrap_or_default();
                eprintln!(
                    "scantriage: {}: journalctl stopped ({status}); restarting it in 1s",
                    self.spec
                );
            }
            self.rx = None;
            self.restart_at = Some(Instant::now() + Duration::from_secs(1));
        }
        if self.rx.is_none() && self.restart_at.is_some_and(|t| Instant::now() >= t) {
            if let Some(c) = last.clone() {
                self.cursor = Some(c);
            }
            self.spawn();
        }
        if data.is_empty() {
            return None;
        }
        let n = data.iter().filter(|&&b| b == b'\n').count() as u64;
        let f = Feed {
            name: self.spec.clone(),
            key: self.spec.clone(),
            fingerprint: last.clone().or(self.cursor.clone()).unwrap_or_default(),
            offset: self.offset,
            lines: self.lines,
            format: Some(InputFormat::Syslog),
            data,
        };
        self.offset += f.data.len() as u64;
        self.lines += n;
        self.lines_read += n;
        if last.is_some() {
            self.cursor = last;
        }
        Some(f)
    }
}

impl Drop for JournalFollower {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

enum Follower {
    File(FileFollower),
    Journal(JournalFollower),
}

impl Follower {
    fn open(spec: &str, store: &dyn Store) -> Result<Follower> {
        if journal_matches(spec).is_some() {
            Ok(Follower::Journal(JournalFollower::resume(spec, store)?))
        } else {
            Ok(Follower::File(FileFollower::resume(
                Path::new(spec),
                store,
            )?))
        }
    }

    fn poll(&mut self, max: u64) -> Vec<Feed> {
        match self {
            Follower::File(f) => f.poll(max),
            Follower::Journal(j) => j.poll(max).into_iter().collect(),
        }
    }

    fn lines_read(&self) -> u64 {
        match self {
            Follower::File(f) => f.lines_read,
            Follower::Journal(j) => j.lines_read,
        }
    }
}

/// A map with the fast, randomly seeded hasher the analysis uses for its per-source maps.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Batches waiting for the store writer at most (reading waits beyond that).
const QUEUED_BATCHES: usize = 8;

/// Least time between two saves: the batches that arrive meanwhile are saved together
/// in one transaction, so that a source active in every batch costs one row written
/// per save rather than one per batch (the first batch after a quiet spell is saved at
/// once; a crash re-reads at most this much from the saved checkpoints).
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// Batches waiting to be saved together, their sources merged by address as the store
/// merges runs, their checkpoints in order (the later ones win).
struct Pending {
    out: crate::analyze::Outcome,
    by_ip: FastMap<IpAddr, SourceSummary>,
}

impl Pending {
    fn new(mut out: crate::analyze::Outcome) -> Pending {
        let by_ip = out.sources.drain(..).map(|s| (s.ip, s)).collect();
        Pending { out, by_ip }
    }

    /// Appends batch `next`.
    fn add(&mut self, next: crate::analyze::Outcome) {
        let into = &mut self.out;
        for s in next.sources {
            match self.by_ip.entry(s.ip) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let m = crate::analyze::merge_with_stored(&s, Some(e.get()));
                    e.insert(m);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(s);
                }
            }
        }
        into.findings.extend(next.findings);
        into.decisions.extend(next.decisions);
        into.checkpoints.extend(next.checkpoints);
        into.summary.lines += next.summary.lines;
        into.summary.parse_errors += next.summary.parse_errors;
        for i in next.summary.inputs {
            if !into.summary.inputs.iter().any(|o| o.name == i.name) {
                into.summary.inputs.push(i);
            }
        }
        if !next.summary.campaign_objects.is_empty() {
            into.summary.campaign_objects = next.summary.campaign_objects;
        }
    }

    /// The batches as one outcome, sources in address order.
    fn finish(self) -> crate::analyze::Outcome {
        let mut out = self.out;
        let mut ips: Vec<IpAddr> = self.by_ip.keys().copied().collect();
        ips.sort_unstable();
        let mut by_ip = self.by_ip;
        out.sources = ips.iter().filter_map(|ip| by_ip.remove(ip)).collect();
        out
    }
}

/// Batches `a` and `b` as one (see [`Pending`]).
#[cfg(test)]
fn merge(a: crate::analyze::Outcome, b: crate::analyze::Outcome) -> crate::analyze::Outcome {
    let mut p = Pending::new(a);
    p.add(b);
    p.finish()
}

/// Sources the store writer remembers before it starts afresh.
const SAVED_CACHE_MAX: usize = 1 << 17;

/// The summaries the store writer saved last, per source: what the store has as long
/// as no other connection committed since (`PRAGMA data_version` unchanged), so that
/// saving a source active in every batch does not read its row back each time.
#[derive(Default)]
struct Saved {
    by_ip: FastMap<IpAddr, SourceSummary>,
    version: Option<i64>,
}

impl Saved {
    /// Saves `out` over the stored summaries, read from the store only for the sources
    /// not remembered.
    fn save(
        &mut self,
        store: &mut SqliteStore,
        out: &crate::analyze::Outcome,
        started: i64,
    ) -> Result<()> {
        let version = store.data_version()?;
        if self.version != Some(version) || self.by_ip.len() + out.sources.len() > SAVED_CACHE_MAX {
            self.by_ip.clear();
        }
        let missing: Vec<IpAddr> = out
            .sources
            .iter()
            .map(|s| s.ip)
            .filter(|ip| !self.by_ip.contains_key(ip))
            .collect();
        let loaded = store.load_sources(&missing)?;
        // Unknown to the store: nothing to merge with.
        for ip in missing {
            if let Some(s) = loaded.get(&ip) {
                self.by_ip.insert(ip, s.clone());
            }
        }
        // Until this save is known to be through, nothing is remembered.
        self.version = None;
        let merged = crate::analyze::save_over(store, out, &self.by_ip, started)?;
        for s in merged {
            self.by_ip.insert(s.ip, s);
        }
        // A commit by another connection meanwhile may have changed what is remembered.
        let after = store.data_version()?;
        self.version = (after == version).then_some(after);
        Ok(())
    }
}

/// Saves batches in order in a thread of its own (its own connection to the store),
/// so that reading and enforcing the next batch does not wait for the disk.
struct Saver {
    tx: Option<mpsc::SyncSender<(Box<crate::analyze::Outcome>, i64)>>,
    handle: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Saver {
    fn start(db: &Path) -> Result<Saver> {
        let mut store =
            SqliteStore::open(db).with_context(|| format!("opening the store {}", db.display()))?;
        let (tx, rx) = mpsc::sync_channel::<(Box<crate::analyze::Outcome>, i64)>(QUEUED_BATCHES);
        let handle = std::thread::spawn(move || -> Result<()> {
            let mut last_save: Option<Instant> = None;
            let mut saved = Saved::default();
            while let Ok((out, started)) = rx.recv() {
                let mut pending = Pending::new(*out);
                // Batches that arrive until the next save is due, or queued up
                // meanwhile, are saved together, in one transaction: the store keeps
                // up whatever the rate.
                if let Some(due) = last_save.map(|t| t + SAVE_EVERY) {
                    while let Some(left) = due.checked_duration_since(Instant::now()) {
                        match rx.recv_timeout(left) {
                            Ok((next, _)) => pending.add(*next),
                            Err(_) => break,
                        }
                    }
                }
                while let Ok((next, _)) = rx.try_recv() {
                    pending.add(*next);
                }
                last_save = Some(Instant::now());
                saved.save(&mut store, &pending.finish(), started)?;
            }
            Ok(())
        });
        Ok(Saver {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Queues a batch; fails when saving an earlier one failed (the service then
    /// stops: a restart resumes from the last saved checkpoints).
    fn save(&mut self, out: crate::analyze::Outcome, started: i64) -> Result<()> {
        if let Some(tx) = &self.tx {
            if tx.send((Box::new(out), started)).is_ok() {
                return Ok(());
            }
        }
        self.finish()?;
        Err(anyhow!("the store writer stopped"))
    }

    /// Waits until every queued batch is saved.
    fn finish(&mut self) -> Result<()> {
        self.tx = None;
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r.context("saving a batch"),
            Some(Err(_)) => Err(anyhow!("the store writer panicked")),
            None => Ok(()),
        }
    }
}

/// Sources remembered by [`Earlier`] before it starts afresh.
const EARLIER_CACHE_MAX: usize = 1 << 18;

/// Per source: its stored summary when it was blocked before, else `None`.
type EarlierCache = HashMap<IpAddr, Option<Box<SourceSummary>>>;

/// The store as the analysis of a batch sees it: whether a source was blocked before
/// (all the analysis asks of earlier summaries, for escalation) comes from a cache
/// filled from the store once per source and kept current from each batch; the rest
/// goes to the store.
struct Earlier<'a> {
    store: &'a mut SqliteStore,
    cache: std::cell::RefCell<&'a mut EarlierCache>,
}

impl Store for Earlier<'_> {
    fn checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.store.checkpoint(key)
    }
    fn load_sources(&self, ips: &[IpAddr]) -> Result<HashMap<IpAddr, SourceSummary>, StoreError> {
        let mut cache = self.cache.borrow_mut();
        if cache.len() + ips.len() > EARLIER_CACHE_MAX {
            cache.clear();
        }
        let missing: Vec<IpAddr> = ips
            .iter()
            .filter(|ip| !cache.contains_key(ip))
            .copied()
            .collect();
        if !missing.is_empty() {
            let mut found = self.store.load_sources(&missing)?;
            for ip in missing {
                let s = found
                    .remove(&ip)
                    .filter(|s| s.decision == DecisionKind::Block);
                cache.insert(ip, s.map(Box::new));
            }
        }
        Ok(ips
            .iter()
            .filter_map(|ip| {
                let s = cache.get(ip)?.as_deref()?;
                Some((*ip, s.clone()))
            })
            .collect())
    }
    fn save_run(&mut self, run: &scantriage_store::RunRecord<'_>) -> Result<(), StoreError> {
        self.store.save_run(run)
    }
    fn active_decisions(&self, now_ms: i64) -> Result<Vec<scantriage_core::Decision>, StoreError> {
        self.store.active_decisions(now_ms)
    }
    fn findings_for(
        &self,
        ip: IpAddr,
        limit: usize,
    ) -> Result<Vec<scantriage_core::Finding>, StoreError> {
        self.store.findings_for(ip, limit)
    }
    fn source(&self, ip: IpAddr) -> Result<Option<SourceSummary>, StoreError> {
        self.store.source(ip)
    }
    fn counts(&self) -> Result<scantriage_store::StoreCounts, StoreError> {
        self.store.counts()
    }
    fn save_campaigns(&mut self, c: &[scantriage_store::StoredCampaign]) -> Result<(), StoreError> {
        self.store.save_campaigns(c)
    }
    fn latest_campaigns(
        &self,
        limit: usize,
    ) -> Result<Vec<scantriage_store::StoredCampaign>, StoreError> {
        self.store.latest_campaigns(limit)
    }
    fn add_verdict(
        &mut self,
        action: scantriage_core::PersonAction,
        scope: &scantriage_core::VerdictScope,
        author: &str,
        at_ms: i64,
        note: &str,
    ) -> Result<i64, StoreError> {
        self.store.add_verdict(action, scope, author, at_ms, note)
    }
    fn revoke_verdict(&mut self, id: i64, at_ms: i64) -> Result<bool, StoreError> {
        self.store.revoke_verdict(id, at_ms)
    }
    fn verdicts(
        &self,
        include_revoked: bool,
    ) -> Result<Vec<scantriage_core::PersonVerdict>, StoreError> {
        self.store.verdicts(include_revoked)
    }
    fn apply_suppressions(
        &mut self,
        sup: &scantriage_core::Suppressions,
    ) -> Result<usize, StoreError> {
        self.store.apply_suppressions(sup)
    }
}

/// Everything the configuration decides, rebuilt on SIGHUP.
struct Loaded {
    cfg: Config,
    rules: RuleSet,
    vulnerable: HashMap<SignatureIndex, scantriage_assess::VulnMatch>,
    /// People's active verdicts (re-read on each re-assert tick).
    person: scantriage_assess::PersonVerdicts,
    /// Their ids, to notice a change.
    verdict_ids: Vec<i64>,
    /// The configured allowlist, before allow verdicts extend it.
    config_allowlist: Vec<ipnet::IpNet>,
}

impl Loaded {
    /// Takes `verdicts` (the store's active ones): allowed sources join the allowlist
    /// (never banned, also by the enforcer), blocked ones are blocked.
    fn set_verdicts(&mut self, verdicts: &[scantriage_core::PersonVerdict]) {
        self.person = scantriage_assess::PersonVerdicts::new(verdicts, &self.rules);
        self.verdict_ids = verdicts.iter().map(|v| v.id).collect();
        self.cfg.policy.allowlist = self.config_allowlist.clone();
        self.cfg
            .policy
            .allowlist
            .extend(self.person.allowed().iter().copied());
    }
}

fn load(path: Option<&Path>, db: &Path) -> Result<Loaded> {
    let mut cfg = match path {
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
    if cfg.strict_rules && !errors.is_empty() {
        return Err(anyhow!(
            "{} bad rule(s) and rules.strict is set",
            errors.len()
        ));
    }
    let vulnerable = crate::vulndb::prepare(&mut cfg, &rules, db)?;
    let verdicts = SqliteStore::open(db)
        .and_then(|s| s.verdicts(false))
        .with_context(|| format!("reading people's verdicts from {}", db.display()))?;
    let config_allowlist = cfg.policy.allowlist.clone();
    let mut l = Loaded {
        cfg,
        rules,
        vulnerable,
        person: Default::default(),
        verdict_ids: Vec::new(),
        config_allowlist,
    };
    l.set_verdicts(&verdicts);
    Ok(l)
}

/// What changed between two configurations, one phrase each.
fn changes(
    old: &Loaded,
    new: &Loaded,
    old_inputs: &[String],
    new_inputs: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for i in new_inputs.iter().filter(|i| !old_inputs.contains(i)) {
        out.push(format!("input {i} added"));
    }
    for i in old_inputs.iter().filter(|i| !new_inputs.contains(i)) {
        out.push(format!("input {i} no longer followed"));
    }
    if old.rules.signatures().len() != new.rules.signatures().len() {
        out.push(format!(
            "rules: {} -> {} signatures",
            old.rules.signatures().len(),
            new.rules.signatures().len()
        ));
    }
    let (oa, na) = (&old.cfg.policy.allowlist, &new.cfg.policy.allowlist);
    for n in na.iter().filter(|n| !oa.contains(n)) {
        out.push(format!("allowlist: {n} added"));
    }
    for n in oa.iter().filter(|n| !na.contains(n)) {
        out.push(format!("allowlist: {n} removed"));
    }
    let (mut op, mut np) = (old.cfg.policy.clone(), new.cfg.policy.clone());
    op.allowlist.clear();
    np.allowlist.clear();
    if op != np {
        out.push("policy thresholds changed".into());
    }
    if format!("{:?}", old.cfg.enforce) != format!("{:?}", new.cfg.enforce) {
        out.push("enforcement settings changed".into());
    }
    out
}

fn wanted_inputs(a: &WatchArgs, cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = a.inputs.clone();
    if a.journal {
        v.push("journal".into());
    }
    for i in &cfg.watch_inputs {
        if !v.contains(i) {
            v.push(i.clone());
        }
    }
    v
}

fn install_signals() -> Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for s in [SIGTERM, SIGINT] {
        signal_hook::flag::register(s, Arc::clone(&stop)).context("installing signal handlers")?;
    }
    signal_hook::flag::register(SIGHUP, Arc::clone(&hup)).context("installing signal handlers")?;
    Ok((stop, hup))
}

/// Runs the service until SIGTERM/SIGINT (or `--polls` polls).
pub fn run(a: WatchArgs, _cfg: &Config, db: &Path, w: &mut dyn Write) -> Result<()> {
    let (stop, hup) = install_signals()?;
    let config_path: Option<PathBuf> = a.site.config.clone();
    let mut l = load(config_path.as_deref(), db)?;
    let mut inputs = wanted_inputs(&a, &l.cfg);
    if inputs.is_empty() {
        return Err(anyhow!(
            "no input to follow: name files (or `journal`) on the command line or in watch.inputs"
        ));
    }
    let mut store =
        SqliteStore::open(db).with_context(|| format!("opening the store {}", db.display()))?;
    let mut earlier = EarlierCache::new();
    let mut saver = Saver::start(db)?;
    let mut enforcer = enforce_cmd::build(&l.cfg, a.backend)?;
    let restored = scantriage_enforce::restore(
        &store,
        enforcer.as_mut(),
        now_ms(),
        l.cfg.enforce.max_timeout_secs,
        l.cfg.enforce.ipv6_prefix_len,
    )
    .map_err(|e| anyhow!("restoring bans: {e}"))?;
    writeln!(
        w,
        "{}: {} ban(s) restored from {}",
        enforcer.name(),
        restored.applied.len(),
        db.display()
    )?;
    writeln!(w, "{} active verdict(s)", l.verdict_ids.len())?;
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    if let Some(addr) = a.metrics.or(l.cfg.metrics) {
        let listener = crate::metrics::bind(addr)?;
        writeln!(w, "metrics on http://{}/metrics", listener.local_addr()?)?;
        crate::metrics::serve(listener, Arc::clone(&metrics), db.to_path_buf());
    }
    let mut followers: BTreeMap<String, Follower> = BTreeMap::new();
    for i in &inputs {
        followers.insert(i.clone(), Follower::open(i, &store)?);
    }
    writeln!(w, "following {}", inputs.join(", "))?;
    w.flush()?;
    let mut last_reassert = Instant::now();
    // Bans this process applied lately, whose decisions the writer may not have saved yet.
    let mut recent: HashMap<IpNet, Instant> = HashMap::new();
    let mut polls = 0u64;
    loop {
        let tick = Instant::now();
        let mut feeds = Vec::new();
        for f in followers.values_mut() {
            feeds.extend(f.poll(MAX_BYTES_PER_POLL));
        }
        if !feeds.is_empty() {
            process(
                &mut l,
                feeds,
                &mut Earlier {
                    store: &mut store,
                    cache: std::cell::RefCell::new(&mut earlier),
                },
                &mut saver,
                enforcer.as_mut(),
                &metrics,
                &mut followers,
                tick,
                &mut recent,
                w,
            )?;
        }
        if let Ok(mut m) = metrics.lock() {
            for (k, f) in &followers {
                m.lines.insert(k.clone(), f.lines_read());
            }
        }
        if last_reassert.elapsed() >= a.reassert {
            last_reassert = Instant::now();
            // Repair what someone removed, then apply what the store holds now
            // (decisions a person added with `decisions add` meanwhile).
            if let Err(e) = enforcer.reassert() {
                eprintln!("scantriage: re-asserting bans failed: {e}");
            }
            if let Err(e) = scantriage_enforce::restore(
                &store,
                enforcer.as_mut(),
                now_ms(),
                l.cfg.enforce.max_timeout_secs,
                l.cfg.enforce.ipv6_prefix_len,
            ) {
                eprintln!("scantriage: applying the store's decisions failed: {e}");
            }
            // Bans whose decision a person lifted meanwhile (`decisions delete`, an
            // allow verdict, the dashboard's unblock) leave the firewall.
            recent.retain(|_, t| t.elapsed() < RECENT_BAN);
            match lift_released(&store, enforcer.as_mut(), &l.cfg, &recent) {
                Ok(lifted) => {
                    for n in &lifted {
                        writeln!(w, "unblock {n} (its decision was lifted)")?;
                    }
                    if !lifted.is_empty() {
                        w.flush()?;
                    }
                }
                Err(e) => eprintln!("scantriage: lifting released bans failed: {e:#}"),
            }
            // Verdicts a person added meanwhile (`verdict add`, the dashboard).
            match store.verdicts(false) {
                Ok(vs) => {
                    let ids: Vec<i64> = vs.iter().map(|v| v.id).collect();
                    if ids != l.verdict_ids {
                        l.set_verdicts(&vs);
                        writeln!(w, "{} active verdict(s), reloaded", ids.len())?;
                        w.flush()?;
                    }
                }
                Err(e) => eprintln!("scantriage: reading people's verdicts failed: {e}"),
            }
        }
        polls += 1;
        if stop.load(Ordering::SeqCst) || a.polls.is_some_and(|n| polls >= n) {
            saver.finish()?;
            writeln!(w, "stopped after saving the last batch")?;
            w.flush()?;
            return Ok(());
        }
        if hup.swap(false, Ordering::SeqCst) {
            reload(
                &a,
                config_path.as_deref(),
                db,
                &mut l,
                &mut inputs,
                &mut followers,
                &store,
                &mut enforcer,
                &metrics,
                w,
            )?;
        }
        // Sleep out the interval, waking early to stop.
        while tick.elapsed() < a.interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(
                (a.interval - tick.elapsed().min(a.interval)).min(Duration::from_millis(20)),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn reload(
    a: &WatchArgs,
    path: Option<&Path>,
    db: &Path,
    l: &mut Loaded,
    inputs: &mut Vec<String>,
    followers: &mut BTreeMap<String, Follower>,
    store: &SqliteStore,
    enforcer: &mut Box<dyn Enforcer>,
    metrics: &Arc<Mutex<Metrics>>,
    w: &mut dyn Write,
) -> Result<()> {
    let Some(path) = path else {
        writeln!(w, "SIGHUP: no configuration file to reload (--config)")?;
        return Ok(());
    };
    let new = match load(Some(path), db) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("scantriage: SIGHUP: keeping the running configuration: {e:#}");
            if let Ok(mut m) = metrics.lock() {
                m.reload_failures += 1;
            }
            return Ok(());
        }
    };
    let new_inputs = wanted_inputs(a, &new.cfg);
    let changed = changes(l, &new, inputs, &new_inputs);
    let enforce_changed = format!("{:?}", l.cfg.enforce) != format!("{:?}", new.cfg.enforce)
        || l.cfg.policy.allowlist != new.cfg.policy.allowlist;
    for i in &new_inputs {
        if !followers.contains_key(i) {
            match Follower::open(i, store) {
                Ok(f) => {
                    followers.insert(i.clone(), f);
                }
                Err(e) => eprintln!("scantriage: SIGHUP: cannot follow {i}: {e:#}"),
            }
        }
    }
    followers.retain(|k, _| new_inputs.contains(k));
    *inputs = new_inputs;
    *l = new;
    if enforce_changed {
        match enforce_cmd::build(&l.cfg, a.backend) {
            Ok(e) => {
                *enforcer = e;
                let c = &l.cfg.enforce;
                if let Err(e) = scantriage_enforce::restore(
                    store,
                    enforcer.as_mut(),
                    now_ms(),
                    c.max_timeout_secs,
                    c.ipv6_prefix_len,
                ) {
                    eprintln!("scantriage: SIGHUP: applying the store's decisions failed: {e}");
                }
            }
            Err(e) => eprintln!("scantriage: SIGHUP: keeping the running back end: {e:#}"),
        }
    }
    writeln!(
        w,
        "configuration reloaded from {}: {}",
        path.display(),
        if changed.is_empty() {
            "nothing changed".to_string()
        } else {
            changed.join("; ")
        }
    )?;
    w.flush()?;
    Ok(())
}

/// How long a ban this process applied is kept even without a stored decision (the
/// writer saves batches at most every 0.5 s; this leaves a wide margin).
const RECENT_BAN: Duration = Duration::from_secs(10);

/// Removes the bans in force that no active block decision of the store covers any more
/// (a person lifted it), except those applied within [`RECENT_BAN`]. Returns what it removed.
fn lift_released(
    store: &dyn Store,
    enforcer: &mut dyn Enforcer,
    cfg: &Config,
    recent: &HashMap<IpNet, Instant>,
) -> Result<Vec<IpNet>> {
    let now = now_ms();
    let active = store.active_decisions(now)?;
    let wanted = scantriage_enforce::aggregate_v6(
        &scantriage_enforce::bans_from_decisions(&active, now, cfg.enforce.max_timeout_secs),
        cfg.enforce.ipv6_prefix_len,
    );
    let lifted: Vec<IpNet> = enforcer
        .list()?
        .into_iter()
        .map(|b| b.net)
        .filter(|n| !recent.contains_key(n))
        .filter(|n| !wanted.iter().any(|w| w.net.contains(n)))
        .collect();
    if !lifted.is_empty() {
        enforcer.remove(&lifted)?;
    }
    Ok(lifted)
}

/// Analyses one batch, enforces its blocks, then saves it with the checkpoints.
#[allow(clippy::too_many_arguments)]
fn process(
    l: &mut Loaded,
    feeds: Vec<Feed>,
    store: &mut Earlier<'_>,
    saver: &mut Saver,
    enforcer: &mut dyn Enforcer,
    metrics: &Arc<Mutex<Metrics>>,
    followers: &mut BTreeMap<String, Follower>,
    read_at: Instant,
    recent: &mut HashMap<IpNet, Instant>,
    w: &mut dyn Write,
) -> Result<()> {
    let started = now_ms();
    // The options borrow the loaded tables for the batch (no copy per batch).
    let opts = crate::analyze::Options {
        inputs: Vec::new(),
        threads: if l.cfg.threads == 0 { 2 } else { l.cfg.threads },
        keep_findings: true,
        progress: false,
        vulnerable: std::mem::take(&mut l.vulnerable),
        person: std::mem::take(&mut l.person),
    };
    let out =
        crate::analyze::run_feeds(&l.cfg, &l.rules, &opts, feeds, Some(&*store as &dyn Store));
    l.vulnerable = opts.vulnerable;
    l.person = opts.person;
    let out = out?;
    {
        let mut cache = store.cache.borrow_mut();
        for s in out
            .sources
            .iter()
            .filter(|s| s.decision == DecisionKind::Block)
        {
            cache.insert(s.ip, Some(Box::new(s.clone())));
        }
    }
    let max = l.cfg.enforce.max_timeout_secs;
    let bans: Vec<Ban> = out
        .decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Block)
        .map(|d| Ban::addr(d.source, d.duration_secs.min(max)))
        .collect();
    let bans = scantriage_enforce::aggregate_v6(&bans, l.cfg.enforce.ipv6_prefix_len);
    if !bans.is_empty() {
        match enforcer.apply(&bans) {
            Ok(r) => {
                let latency = read_at.elapsed().as_secs_f64();
                if let Ok(mut m) = metrics.lock() {
                    for _ in &r.applied {
                        m.observe_latency(latency);
                    }
                    m.bans_applied += r.applied.len() as u64;
                }
                for b in &r.applied {
                    recent.insert(b.net, read_at);
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
    for st in &out.summary.inputs {
        for e in &st.first_errors {
            eprintln!("scantriage: {}:{e}", st.name);
        }
        if let Some(e) = &st.read_error {
            eprintln!("scantriage: {}: {e}", st.name);
        }
        if st.lines > 0 {
            if let Some(Follower::File(f)) = followers.get_mut(&st.name) {
                if f.format.is_none() {
                    f.format = st.format.parse().ok();
                }
            }
        }
    }
    if let Ok(mut m) = metrics.lock() {
        for st in &out.summary.inputs {
            *m.parse_errors.entry(st.name.clone()).or_default() += st.parse_errors;
        }
        let v = &out.summary.by_verdict;
        for (k, n) in [
            ("benign", v.benign),
            ("noise", v.noise),
            ("unknown", v.unknown),
            ("relevant", v.relevant),
            ("urgent", v.urgent),
        ] {
            *m.events.entry(k.to_string()).or_default() += n;
        }
        if let Some(newest) = out.sources.iter().map(|s| s.last_seen.unix_ms).max() {
            m.lag_secs = ((now_ms() - newest) as f64 / 1000.0).max(0.0);
        }
    }
    // The blocks are in force; now the batch and where each input stopped, together.
    saver.save(out, started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_inputs_select_their_programs() {
        let all = journal_matches("journal").unwrap();
        for m in [
            "SYSLOG_IDENTIFIER=sshd-session",
            "_TRANSPORT=kernel",
            "SYSLOG_IDENTIFIER=postfix/submission/smtpd",
            "SYSLOG_IDENTIFIER=dovecot",
            "SYSLOG_IDENTIFIER=vsftpd",
        ] {
            assert!(all.contains(&m), "{m}: {all:?}");
        }
        // Alternatives joined by `+`, never two in a row, none at the ends.
        assert!(all.windows(2).all(|w| (w[0] == "+") != (w[1] == "+")));
        assert_ne!(all[0], "+");
        assert_ne!(*all.last().unwrap(), "+");
        assert_eq!(
            journal_matches("journal:ftp").unwrap(),
            [
                "SYSLOG_IDENTIFIER=vsftpd",
                "+",
                "SYSLOG_IDENTIFIER=proftpd",
                "+",
                "SYSLOG_IDENTIFIER=pure-ftpd"
            ]
        );
        assert!(journal_matches("journal:mail")
            .unwrap()
            .contains(&"SYSLOG_IDENTIFIER=exim4"));
        assert!(journal_matches("journal:nope").is_none());
    }

    fn feed(key: &str, lines: &[(&str, &str)]) -> Feed {
        let mut data = String::new();
        for (ip, target) in lines {
            data.push_str(&format!(
                "{ip} - - [25/Nov/2026:10:00:00 +0000] \"GET {target} HTTP/1.1\" 200 512 \"-\" \"curl/8\"\n"
            ));
        }
        Feed {
            name: key.into(),
            key: key.into(),
            fingerprint: "0:0".into(),
            offset: 0,
            lines: 0,
            format: None,
            data: data.into_bytes(),
        }
    }

    fn outcomes() -> Vec<crate::analyze::Outcome> {
        let cfg = Config::default();
        let (rules, _) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
        let opts = crate::analyze::Options {
            inputs: Vec::new(),
            threads: 1,
            keep_findings: true,
            progress: false,
            vulnerable: HashMap::new(),
            person: Default::default(),
        };
        let a = feed(
            "a.log",
            &[
                ("192.0.2.1", "/"),
                ("192.0.2.1", "/about/"),
                ("198.51.100.7", "/?page=../../../../etc/passwd"),
            ],
        );
        let b = feed(
            "a.log",
            &[
                ("192.0.2.1", "/blog/"),
                ("192.0.2.9", "/"),
                ("198.51.100.7", "/.env"),
            ],
        );
        [a, b]
            .into_iter()
            .map(|f| crate::analyze::run_feeds(&cfg, &rules, &opts, vec![f], None).unwrap())
            .collect()
    }

    #[test]
    fn batches_saved_together_store_what_they_store_one_by_one() {
        let mut one_by_one = SqliteStore::open_in_memory().unwrap();
        for o in outcomes() {
            crate::analyze::save(&mut one_by_one, &o, 0).unwrap();
        }
        let mut together = SqliteStore::open_in_memory().unwrap();
        let mut o = outcomes().into_iter();
        let first = merge(o.next().unwrap(), o.next().unwrap());
        crate::analyze::save(&mut together, &first, 0).unwrap();
        let (a, b) = (one_by_one.counts().unwrap(), together.counts().unwrap());
        assert_eq!(a.lines, 6);
        assert_eq!(b.lines, 6);
        assert_eq!(a.findings, b.findings);
        assert_eq!(a.sources, b.sources);
        for ip in ["192.0.2.1", "192.0.2.9", "198.51.100.7"] {
            let ip: IpAddr = ip.parse().unwrap();
            let (x, y) = (
                one_by_one.source(ip).unwrap().unwrap(),
                together.source(ip).unwrap().unwrap(),
            );
            assert_eq!(
                (x.events, x.decision, x.by_verdict),
                (y.events, y.decision, y.by_verdict),
                "{ip}"
            );
        }
        // The later checkpoint of the input wins.
        assert_eq!(
            together.checkpoint("a.log").unwrap().unwrap().offset,
            first.checkpoints[1].offset
        );
    }

    #[test]
    fn batches_within_the_save_interval_are_saved_as_one_run_with_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let (db, reference) = (dir.path().join("st.db"), dir.path().join("ref.db"));
        let mut want = SqliteStore::open(&reference).unwrap();
        for o in outcomes().into_iter().chain(outcomes()) {
            crate::analyze::save(&mut want, &o, 0).unwrap();
        }
        let mut saver = Saver::start(&db).unwrap();
        let started = Instant::now();
        let mut o = outcomes().into_iter();
        // The first batch is saved at once.
        saver.save(o.next().unwrap(), 0).unwrap();
        let store = SqliteStore::open(&db).unwrap();
        while store.counts().unwrap().runs < 1 {
            assert!(started.elapsed() < Duration::from_secs(10), "not saved");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The next ones, before the interval is over, wait for it and go together.
        saver.save(o.next().unwrap(), 0).unwrap();
        for b in outcomes() {
            saver.save(b, 0).unwrap();
        }
        saver.finish().unwrap();
        let c = store.counts().unwrap();
        if started.elapsed() < SAVE_EVERY {
            assert_eq!(c.runs, 2);
        }
        assert_eq!(c.lines, 12);
        assert_eq!(c.findings, want.counts().unwrap().findings);
        assert_eq!(rows(&store), rows(&want));
        // The later checkpoint of the input wins.
        assert_eq!(
            store.checkpoint("a.log").unwrap().unwrap().offset,
            want.checkpoint("a.log").unwrap().unwrap().offset
        );
    }

    /// A stored source's counts, decision and signatures.
    type Row = (u64, u64, [u64; 5], DecisionKind, Vec<String>);

    /// The stored rows of the test's sources.
    fn rows(store: &SqliteStore) -> Vec<Row> {
        ["192.0.2.1", "192.0.2.9", "198.51.100.7"]
            .iter()
            .map(|ip| {
                let s = store.source(ip.parse().unwrap()).unwrap().unwrap();
                (s.events, s.findings, s.by_verdict, s.decision, s.signatures)
            })
            .collect()
    }

    #[test]
    fn the_writer_remembers_what_it_saved_and_forgets_it_when_another_connection_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (mine, theirs) = (dir.path().join("mine.db"), dir.path().join("theirs.db"));
        // Reference: every batch saved by `analyze::save`, which reads the rows back.
        let mut want = SqliteStore::open(&theirs).unwrap();
        for o in outcomes().into_iter().chain(outcomes()) {
            crate::analyze::save(&mut want, &o, 0).unwrap();
        }
        let mut store = SqliteStore::open(&mine).unwrap();
        let mut other = SqliteStore::open(&mine).unwrap();
        let mut saved = Saved::default();
        let mut o = outcomes().into_iter();
        saved.save(&mut store, &o.next().unwrap(), 0).unwrap();
        saved.save(&mut store, &o.next().unwrap(), 0).unwrap();
        assert!(saved.version.is_some());
        assert_eq!(saved.by_ip.len(), 3);
        // Another connection's run changes the rows the writer remembers.
        let mut o = outcomes().into_iter();
        crate::analyze::save(&mut other, &o.next().unwrap(), 0).unwrap();
        saved.save(&mut store, &o.next().unwrap(), 0).unwrap();
        assert_eq!(rows(&store), rows(&want));
        assert_eq!(store.counts().unwrap().lines, 12);
    }

    #[test]
    fn earlier_blocks_come_from_the_cache_as_the_store_has_them() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        for o in outcomes() {
            crate::analyze::save(&mut store, &o, 0).unwrap();
        }
        let ips: Vec<IpAddr> = ["192.0.2.1", "192.0.2.9", "198.51.100.7", "203.0.113.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let want: Vec<IpAddr> = {
            let mut v: Vec<IpAddr> = store
                .load_sources(&ips)
                .unwrap()
                .into_values()
                .filter(|s| s.decision == DecisionKind::Block)
                .map(|s| s.ip)
                .collect();
            v.sort();
            v
        };
        assert!(
            !want.is_empty(),
            "the probing source should have been blocked"
        );
        let mut cache = EarlierCache::new();
        for _ in 0..2 {
            let e = Earlier {
                store: &mut store,
                cache: std::cell::RefCell::new(&mut cache),
            };
            let mut got: Vec<IpAddr> = e.load_sources(&ips).unwrap().into_keys().collect();
            got.sort();
            assert_eq!(got, want);
        }
        assert_eq!(cache.len(), ips.len());
    }
}
