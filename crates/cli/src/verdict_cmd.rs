//! `scantriage verdict add|list|revoke`: a person's verdicts, kept in the store.
//!
//! "Cannot work here" on a signature, a target or a path pattern turns matching
//! findings into `noise` (the open findings in the store at once, future ones in
//! `analyze` and `watch`); `block` and `allow` on a source make a block decision or
//! extend the allowlist; `acknowledge` takes a source or signature out of the queue.

use crate::config::Config;
use crate::enforce_cmd;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use scantriage_assess::{block_reason, PersonVerdicts};
use scantriage_core::{
    escape_for_display, Decision, DecisionKind, PersonAction, PersonVerdict, Timestamp,
    VerdictScope,
};
use scantriage_detect::RuleSet;
use scantriage_store::{SqliteStore, Store};
use std::io::Write;
use std::path::Path;

/// `scantriage verdict`
#[derive(Args, Debug)]
pub struct VerdictArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: VerdictCommand,
}

/// The action words of `verdict add`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionArg {
    /// The probe cannot work here: its findings become noise (on --signature, --target or --path).
    CannotWork,
    /// Block a source (--source).
    Block,
    /// Never block a source (--source): extends the allowlist.
    Allow,
    /// Seen: takes a source (--source) or a signature (--signature) out of the queue.
    Acknowledge,
}

impl From<ActionArg> for PersonAction {
    fn from(a: ActionArg) -> PersonAction {
        match a {
            ActionArg::CannotWork => PersonAction::CannotWork,
            ActionArg::Block => PersonAction::Block,
            ActionArg::Allow => PersonAction::Allow,
            ActionArg::Acknowledge => PersonAction::Acknowledge,
        }
    }
}

/// What a verdict applies to: exactly one of these.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// A signature id.
    #[arg(long)]
    pub signature: Option<String>,
    /// A product that signatures target (e.g. phpmyadmin).
    #[arg(long)]
    pub target: Option<String>,
    /// A path pattern over the decoded, normalised, lowercased path; `*` matches anything.
    #[arg(long)]
    pub path: Option<String>,
    /// An address or network (ADDR or ADDR/PREFIX).
    #[arg(long)]
    pub source: Option<String>,
}

impl ScopeArgs {
    fn scope(&self) -> Result<VerdictScope> {
        let (kind, value) = [
            ("signature", &self.signature),
            ("target", &self.target),
            ("path", &self.path),
            ("source", &self.source),
        ]
        .into_iter()
        .find_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .ok_or_else(|| anyhow!("give one of --signature, --target, --path or --source"))?;
        VerdictScope::parse(kind, value).map_err(|e| anyhow!("--{kind}: {e}"))
    }
}

/// The output formats of `verdict list`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ListFormat {
    /// One line per verdict, for people.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
}

/// `scantriage verdict add|list|revoke`
#[derive(Subcommand, Debug)]
pub enum VerdictCommand {
    /// Record a verdict.
    Add {
        /// cannot-work, block, allow or acknowledge.
        #[arg(value_enum)]
        action: ActionArg,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Why, in the author's words.
        #[arg(long, default_value = "")]
        note: String,
        /// Who decides (default: $USER, else "cli").
        #[arg(long)]
        author: Option<String>,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
    /// List the active verdicts, oldest first.
    List {
        /// Include revoked verdicts.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
    /// Revoke a verdict by id (findings already turned into noise stay so).
    Revoke {
        /// The verdict's id (see `verdict list`).
        id: i64,
        #[command(flatten)]
        site: crate::vulndb::SiteArgs,
    },
}

impl VerdictCommand {
    /// The shared arguments of the subcommand.
    pub fn site(&self) -> &crate::vulndb::SiteArgs {
        match self {
            VerdictCommand::Add { site, .. }
            | VerdictCommand::List { site, .. }
            | VerdictCommand::Revoke { site, .. } => site,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn author_default() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "cli".to_string())
}

/// Loads the rules of the configuration, reporting skipped ones on stderr.
fn load_rules(cfg: &Config) -> RuleSet {
    let (rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
    for e in &errors {
        eprintln!("scantriage: rule skipped: {e}");
    }
    rules
}

/// The store's active verdicts, resolved against `rules`.
pub fn load(store: &dyn Store, rules: &RuleSet) -> Result<PersonVerdicts> {
    let verdicts = store.verdicts(false).context("reading people's verdicts")?;
    Ok(PersonVerdicts::new(&verdicts, rules))
}

/// One verdict as a line for a terminal (every field escaped).
pub fn verdict_line(v: &PersonVerdict) -> String {
    let e = |s: &str, max| escape_for_display(s.as_bytes(), max);
    let mut line = format!(
        "#{:<5} {:<12} {:<10} {:<40} by {} at {}",
        v.id,
        v.action.as_str(),
        v.scope.kind(),
        e(&v.scope.value(), 200),
        e(&v.author, 64),
        v.at()
    );
    if let Some(ms) = v.revoked_ms {
        line.push_str(&format!(
            " (revoked at {})",
            Timestamp {
                unix_ms: ms,
                offset_min: 0
            }
        ));
    }
    if !v.note.is_empty() {
        line.push_str(" -- ");
        line.push_str(&e(&v.note, 300));
    }
    line
}

/// Records an `ignore` decision for `source` that lifts the decision in force, naming why.
fn lift(store: &mut dyn Store, source: std::net::IpAddr, reason: String, by: &str) -> Result<()> {
    enforce_cmd::record(
        store,
        Decision {
            source,
            kind: DecisionKind::Ignore,
            duration_secs: 0,
            reasons: vec![reason],
            by: by.to_string(),
            at: Timestamp {
                unix_ms: now_ms(),
                offset_min: 0,
            },
        },
    )
}

/// Runs `verdict add|list|revoke` against the store at `db`.
pub fn run(cmd: VerdictCommand, cfg: &Config, db: &Path, w: &mut dyn Write) -> Result<()> {
    let mut store =
        SqliteStore::open(db).with_context(|| format!("opening the store {}", db.display()))?;
    match cmd {
        VerdictCommand::Add {
            action,
            scope,
            note,
            author,
            ..
        } => {
            let action = PersonAction::from(action);
            let scope = scope.scope()?;
            action.check_scope(&scope)?;
            let author = author.unwrap_or_else(author_default);
            if author.trim().is_empty() {
                bail!("--author: the author is empty");
            }
            if let (PersonAction::Block, VerdictScope::Source(net)) = (action, &scope) {
                if enforce_cmd::allowlist(cfg).refuses(net) {
                    bail!("{net} is allowlisted (policy.allowlist, loopback or this host's address): not blocked");
                }
            }
            let rules = (action == PersonAction::CannotWork
                || matches!(scope, VerdictScope::Signature(_)))
            .then(|| load_rules(cfg));
            if let (Some(rules), VerdictScope::Signature(id)) = (&rules, &scope) {
                if !rules.signatures().iter().any(|s| &s.id == id) {
                    eprintln!(
                        "scantriage: note: no loaded signature has the id {}",
                        escape_for_display(id.as_bytes(), 100)
                    );
                }
            }
            let at = now_ms();
            let id = store.add_verdict(action, &scope, &author, at, &note)?;
            let v = store
                .verdicts(false)?
                .into_iter()
                .find(|v| v.id == id)
                .ok_or_else(|| anyhow!("verdict #{id} vanished from {}", db.display()))?;
            writeln!(w, "recorded verdict {}", verdict_line(&v))?;
            match (action, &scope) {
                (PersonAction::CannotWork, _) => {
                    let person = load(&store, rules.as_ref().expect("rules loaded"))?;
                    let n = store.apply_suppressions(person.suppressions())?;
                    writeln!(w, "{n} open finding(s) left the queue (now noise)")?;
                }
                (PersonAction::Block, VerdictScope::Source(net)) => {
                    if net.prefix_len() == net.max_prefix_len() {
                        enforce_cmd::record(
                            &mut store,
                            Decision {
                                source: net.addr(),
                                kind: DecisionKind::Block,
                                duration_secs: cfg.policy.max_block_secs,
                                reasons: vec![block_reason(&v)],
                                by: author.clone(),
                                at: v.at(),
                            },
                        )?;
                        writeln!(
                            w,
                            "{}: block for {} by {author}; `scantriage enforce apply` enforces it now",
                            net.addr(),
                            scantriage_report::human_duration(cfg.policy.max_block_secs)
                        )?;
                    } else {
                        writeln!(
                            w,
                            "every source in {net} that analyze or watch sees is blocked"
                        )?;
                    }
                }
                (PersonAction::Allow, VerdictScope::Source(net)) => {
                    let active = store.active_decisions(at)?;
                    for d in active.iter().filter(|d| net.contains(&d.source)) {
                        lift(
                            &mut store,
                            d.source,
                            format!("allowed by {author}, verdict #{id}"),
                            &author,
                        )?;
                        writeln!(w, "{}: decision lifted; `scantriage enforce remove {}` lifts a ban in force", d.source, d.source)?;
                    }
                }
                _ => {}
            }
        }
        VerdictCommand::List { all, output, .. } => {
            for v in store.verdicts(all)? {
                match output {
                    ListFormat::Json => writeln!(w, "{}", serde_json::to_string(&v)?)?,
                    ListFormat::Table => writeln!(w, "{}", verdict_line(&v))?,
                }
            }
        }
        VerdictCommand::Revoke { id, .. } => {
            let at = now_ms();
            let found = store.verdicts(false)?.into_iter().find(|v| v.id == id);
            if !store.revoke_verdict(id, at)? {
                bail!("no active verdict #{id} in {}", db.display());
            }
            writeln!(w, "verdict #{id} revoked")?;
            if let Some(v) = found.filter(|v| v.action == PersonAction::Block) {
                let mark = format!("verdict #{id}");
                let active = store.active_decisions(at)?;
                for d in active.iter().filter(|d| {
                    v.scope.contains_source(d.source)
                        && d.reasons
                            .first()
                            .is_some_and(|r| r.ends_with(&mark) || r.contains(&format!("{mark}:")))
                }) {
                    lift(
                        &mut store,
                        d.source,
                        format!("block verdict #{id} revoked"),
                        &author_default(),
                    )?;
                    writeln!(
                        w,
                        "{}: decision lifted; `scantriage enforce remove {}` lifts a ban in force",
                        d.source, d.source
                    )?;
                }
            }
        }
    }
    Ok(())
}
