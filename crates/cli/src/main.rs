//! The `scantriage` binary.

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use scantriage_cli::{analyze, config};
use scantriage_detect::RuleSet;
use scantriage_store::{SqliteStore, Store};
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for a configuration, rule or usage error.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a runtime failure (input, store).
const EXIT_FAILURE: u8 = 1;

#[derive(Parser)]
#[command(
    name = "scantriage",
    version,
    about = "Triage internet scanning and exploit probing from your server's own logs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse access logs: verdicts, sources to block, the queue for a person.
    Analyze(AnalyzeArgs),
    /// List or test the signatures.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Validate the configuration and the rules, and print every problem found.
    Check(CommonArgs),
    /// Show what the store knows about one source address.
    Show {
        /// The address.
        ip: IpAddr,
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// List the active block and watch decisions in the store; add or delete one.
    Decisions {
        /// `add` or `delete` (without one: list the active decisions).
        #[command(subcommand)]
        command: Option<scantriage_cli::enforce_cmd::DecisionsCommand>,
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// The campaigns of the latest analysis in the store, most sources first.
    Campaigns {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Import, update and inspect the advisory database.
    Vulndb(scantriage_cli::vulndb::VulndbArgs),
    /// Discover what this server runs (packages, listening sockets, web applications).
    Inventory(scantriage_cli::inventory_cmd::InventoryArgs),
    /// Installed products with the advisories that affect their versions, most urgent first.
    Exposure(scantriage_cli::exposure::ExposureArgs),
    /// Apply the store's block decisions to the firewall (nftables, ipset, a file), list or remove bans.
    Enforce(scantriage_cli::enforce_cmd::EnforceArgs),
    /// Follow access logs, decide as lines arrive, and enforce the blocks.
    Watch(scantriage_cli::watch::WatchArgs),
    /// Serve the dashboard and its JSON API (loopback by default).
    Serve {
        /// Address to listen on; off loopback, `serve.token` must be set in the config.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a report of the store.
    Report {
        /// Write one self-contained HTML file (no script, no external asset).
        #[arg(long, value_name = "FILE")]
        html: PathBuf,
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A person's verdicts: mark probes that cannot work here, block, allow, acknowledge.
    Verdict(scantriage_cli::verdict_cmd::VerdictArgs),
}

/// Loads the config and resolves the store path for the vulnerability commands.
fn vuln_site(site: &scantriage_cli::vulndb::SiteArgs) -> Result<(config::Config, PathBuf), Exit> {
    let cfg = load_config(&CommonArgs {
        config: site.config.clone(),
        strict: false,
    })?;
    let path = store_path(
        &cfg,
        &StoreArgs {
            db: site.db.clone(),
        },
    );
    Ok((cfg, path))
}

fn cmd_vuln(
    site: &scantriage_cli::vulndb::SiteArgs,
    run: impl FnOnce(&config::Config, &std::path::Path, &mut dyn Write) -> Result<()>,
) -> Result<(), Exit> {
    let (cfg, path) = vuln_site(site)?;
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    run(&cfg, &path, &mut w)
        .and_then(|_| Ok(w.flush()?))
        .map_err(failure)
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List every signature.
    List {
        #[command(flatten)]
        common: CommonArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Run every signature's examples; exit 1 if any fails.
    Test(CommonArgs),
    /// How many web-exposed CVEs of the shipped CISA KEV list the signatures cover.
    Coverage {
        #[command(flatten)]
        common: CommonArgs,
        /// Count only entries added in or after this year (e.g. 2022).
        #[arg(long)]
        since: Option<String>,
        /// Also list the entries no signature covers.
        #[arg(long)]
        missing: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Check a drafted signature (it loads, its examples pass) and move it into the
    /// local rule directory (`--to`, else the first of the config's `rules.dirs`).
    Accept {
        /// The draft file (as written by `analyze --drafts DIR`).
        draft: PathBuf,
        /// The rule directory to move it into.
        #[arg(long)]
        to: Option<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Args, Clone)]
struct CommonArgs {
    /// Configuration file (TOML).
    #[arg(long, short = 'c', env = "SCANTRIAGE_CONFIG")]
    config: Option<PathBuf>,
    /// Treat bad rules as fatal.
    #[arg(long)]
    strict: bool,
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// SQLite store path (default: the config's `store.path`, else a per-user state file).
    #[arg(long)]
    db: Option<PathBuf>,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// A report for people.
    Table,
    /// JSON lines for programs.
    Json,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Access logs (plain, .gz or .zst; `-` for stdin). Rotated sets are read oldest first.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Do not read or write the store.
    #[arg(long)]
    no_store: bool,
    /// Force the log format instead of detecting it per input.
    #[arg(long, value_parser = ["combined", "common", "nginx-json", "json", "caddy"])]
    log_format: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Do not group campaigns nor look for new waves (`campaigns.enabled = false`).
    #[arg(long)]
    no_campaigns: bool,
    /// Write a drafted signature per emerging campaign into this directory.
    #[arg(long, value_name = "DIR")]
    drafts: Option<PathBuf>,
}

/// An error that maps to a given exit code.
struct Exit(u8, anyhow::Error);

fn config_error(e: impl Into<anyhow::Error>) -> Exit {
    Exit(EXIT_CONFIG, e.into())
}

fn failure(e: impl Into<anyhow::Error>) -> Exit {
    Exit(EXIT_FAILURE, e.into())
}

fn load_config(args: &CommonArgs) -> Result<config::Config, Exit> {
    match &args.config {
        None => Ok(config::Config::default()),
        Some(p) => config::load(p).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            config_error(anyhow!("invalid configuration:\n  {}", text.join("\n  ")))
        }),
    }
}

fn load_rules(cfg: &config::Config, strict: bool) -> Result<RuleSet, Exit> {
    let (rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
    for e in &errors {
        eprintln!("scantriage: rule skipped: {e}");
    }
    if !errors.is_empty() && (strict || cfg.strict_rules) {
        return Err(config_error(anyhow!(
            "{} bad rule(s) (strict mode)",
            errors.len()
        )));
    }
    Ok(rules)
}

fn store_path(cfg: &config::Config, args: &StoreArgs) -> PathBuf {
    args.db
        .clone()
        .or_else(|| cfg.store_path.clone())
        .unwrap_or_else(SqliteStore::default_path)
}

fn open_store(cfg: &config::Config, args: &StoreArgs) -> Result<SqliteStore, Exit> {
    let path = store_path(cfg, args);
    SqliteStore::open(&path).map_err(failure)
}

/// Standard output for a command: buffered, and for tables through
/// [`scantriage_report::TerminalSafe`] so that no control sequence reaches a terminal raw.
fn stdout_for(output: OutputFormat) -> Box<dyn Write> {
    let w = std::io::BufWriter::new(std::io::stdout().lock());
    match output {
        OutputFormat::Json => Box::new(w),
        OutputFormat::Table => Box::new(scantriage_report::TerminalSafe::new(w)),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn cmd_analyze(a: AnalyzeArgs) -> Result<(), Exit> {
    let started_ms = now_ms();
    let mut cfg = load_config(&a.common)?;
    if let Some(f) = &a.log_format {
        cfg.format = Some(
            f.parse()
                .map_err(|_| config_error(anyhow!("unknown format {f}")))?,
        );
    }
    if a.no_campaigns {
        cfg.campaigns.enabled = false;
    }
    if a.drafts.is_some() {
        cfg.campaigns.drafts_dir = a.drafts.clone();
    }
    let rules = load_rules(&cfg, a.common.strict)?;
    let mut store = if a.no_store {
        None
    } else {
        Some(open_store(&cfg, &a.store)?)
    };
    // People's verdicts: suppressions, allowed and blocked sources.
    let person = match &store {
        Some(s) => scantriage_cli::verdict_cmd::load(s, &rules).map_err(failure)?,
        None => Default::default(),
    };
    // Signatures whose CVEs affect an installed version (from the advisory database
    // and the saved discovery, which also completes the inventory).
    let vulnerable = if a.no_store {
        Default::default()
    } else {
        let path = store_path(&cfg, &a.store);
        scantriage_cli::vulndb::prepare(&mut cfg, &rules, &path).map_err(failure)?
    };
    let opts = analyze::Options {
        inputs: a.inputs,
        threads: a.threads,
        keep_findings: store.is_some(),
        progress: !a.no_progress && std::io::stderr().is_terminal(),
        vulnerable,
        person,
    };
    let mut out = analyze::run(&cfg, &rules, &opts, store.as_ref().map(|s| s as &dyn Store))
        .map_err(failure)?;
    if let Some(s) = store.as_mut() {
        analyze::save(s, &out, started_ms)
            .with_context(|| format!("saving to {}", s.path().display()))
            .map_err(failure)?;
        out.summary.store = Some(s.path().display().to_string());
    }
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let r = match a.output {
        OutputFormat::Json => scantriage_report::write_json(&out.sources, &out.summary, &mut w),
        OutputFormat::Table => {
            // Watched sources a person acknowledged (the source, or every signature it
            // matched) leave the queue; blocks are still listed.
            let acknowledged = |s: &scantriage_core::SourceSummary| {
                s.decision == scantriage_core::DecisionKind::Watch
                    && (opts.person.source_acknowledged(s.ip)
                        || (!s.signatures.is_empty()
                            && s.signatures
                                .iter()
                                .all(|id| opts.person.signature_acknowledged(id))))
            };
            let hidden = out.sources.iter().filter(|s| acknowledged(s)).count();
            let shown: Vec<scantriage_core::SourceSummary> = if hidden == 0 {
                Vec::new()
            } else {
                out.sources
                    .iter()
                    .filter(|s| !acknowledged(s))
                    .cloned()
                    .collect()
            };
            scantriage_report::write_terminal(
                if hidden == 0 { &out.sources } else { &shown },
                &out.summary,
                Default::default(),
                &mut w,
            )
            .and_then(|_| {
                if hidden > 0 {
                    writeln!(
                        w,
                        "{hidden} watched source(s) a person acknowledged are left out of the queue (`scantriage verdict list`)"
                    )?;
                }
                Ok(())
            })
        }
    };
    r.and_then(|_| w.flush()).map_err(failure)?;
    for i in &out.summary.inputs {
        if let Some(e) = &i.read_error {
            return Err(failure(anyhow!("{}: {e}", i.name)));
        }
    }
    Ok(())
}

fn cmd_rules(c: RulesCommand) -> Result<(), Exit> {
    match c {
        RulesCommand::List { common, output } => {
            let cfg = load_config(&common)?;
            let rules = load_rules(&cfg, common.strict)?;
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            for s in rules.signatures() {
                let r = match output {
                    OutputFormat::Json => writeln!(
                        w,
                        "{}",
                        serde_json::json!({
                            "id": s.id, "name": s.name, "description": s.description,
                            "targets": s.targets, "cves": s.cves, "category": s.category,
                            "severity": s.severity, "origin": s.origin,
                        })
                    ),
                    OutputFormat::Table => writeln!(
                        w,
                        "{:<40} {:<10} {:<8} {:<24} {}",
                        s.id,
                        s.category.as_str(),
                        s.severity.as_str(),
                        s.targets.join(","),
                        s.cves.join(",")
                    ),
                };
                r.map_err(failure)?;
            }
            w.flush().map_err(failure)?;
            Ok(())
        }
        RulesCommand::Coverage {
            common,
            since,
            missing,
            output,
        } => {
            let cfg = load_config(&common)?;
            let rules = load_rules(&cfg, common.strict)?;
            let c = scantriage_cli::coverage::coverage(
                &rules,
                scantriage_vuln::kev::KevList::embedded(),
                since.as_deref(),
            );
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            match output {
                OutputFormat::Json => serde_json::to_writer(&mut w, &c)
                    .map_err(std::io::Error::other)
                    .and_then(|()| writeln!(w)),
                OutputFormat::Table => scantriage_cli::coverage::write_table(&mut w, &c, missing),
            }
            .and_then(|()| w.flush())
            .map_err(failure)?;
            Ok(())
        }
        RulesCommand::Accept { draft, to, common } => {
            let cfg = load_config(&common)?;
            let text = std::fs::read_to_string(&draft)
                .with_context(|| format!("cannot read {}", draft.display()))
                .map_err(config_error)?;
            let name = draft.display().to_string();
            let problems = scantriage_assess::waves::validate_draft(&name, &text, &cfg.vocab);
            if !problems.is_empty() {
                return Err(config_error(anyhow!(
                    "{name}: not accepted:\n  {}",
                    problems.join("\n  ")
                )));
            }
            let dir = to
                .or_else(|| cfg.rule_dirs.first().cloned())
                .ok_or_else(|| {
                    config_error(anyhow!(
                        "no local rule directory: give --to DIR, or set rules.dirs in the config"
                    ))
                })?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))
                .map_err(failure)?;
            let file = draft
                .file_name()
                .ok_or_else(|| config_error(anyhow!("{name}: not a file")))?;
            let dest = dir.join(file);
            if dest.exists() {
                return Err(config_error(anyhow!("{} exists already", dest.display())));
            }
            // Move: rename, or copy and remove across file systems.
            if std::fs::rename(&draft, &dest).is_err() {
                std::fs::write(&dest, &text)
                    .and_then(|_| std::fs::remove_file(&draft))
                    .with_context(|| format!("cannot move {name} to {}", dest.display()))
                    .map_err(failure)?;
            }
            println!(
                "accepted {name} into {}; add {} to rules.dirs if it is not there yet",
                dest.display(),
                dir.display()
            );
            Ok(())
        }
        RulesCommand::Test(common) => {
            let cfg = load_config(&common)?;
            let (rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
            for e in &errors {
                println!("BAD RULE {e}");
            }
            let failures = rules.test_examples();
            for f in &failures {
                println!("FAIL {f}");
            }
            let examples: usize = rules
                .signatures()
                .iter()
                .map(|s| s.examples_match.len() + s.examples_no_match.len())
                .sum();
            println!(
                "{} rules, {} examples: {} passed, {} failed; {} bad rule(s)",
                rules.len(),
                examples,
                examples - failures.len(),
                failures.len(),
                errors.len()
            );
            if failures.is_empty() && errors.is_empty() {
                Ok(())
            } else {
                Err(failure(anyhow!("rule tests failed")))
            }
        }
    }
}

fn cmd_check(common: CommonArgs) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let (rules, errors) = RuleSet::load(&cfg.rule_dirs, &cfg.vocab);
    for e in &errors {
        println!("{e}");
    }
    println!(
        "configuration {}: ok; {} rules loaded, {} bad; inventory: {}",
        cfg.source
            .as_ref()
            .map_or("<defaults>".into(), |p| p.display().to_string()),
        rules.len(),
        errors.len(),
        cfg.inventory
            .products()
            .map(|p| match &p.version {
                Some(v) => format!("{} {v}", p.name),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(config_error(anyhow!("{} bad rule(s)", errors.len())))
    }
}

fn cmd_show(
    ip: IpAddr,
    common: CommonArgs,
    store: StoreArgs,
    output: OutputFormat,
) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let st = open_store(&cfg, &store)?;
    let src = st.source(ip).map_err(failure)?;
    let findings = st.findings_for(ip, 50).map_err(failure)?;
    let Some(src) = src else {
        return Err(failure(anyhow!(
            "{ip}: not in the store {}",
            st.path().display()
        )));
    };
    let mut w = stdout_for(output);
    let r = (|| -> std::io::Result<()> {
        match output {
            OutputFormat::Json => {
                writeln!(w, "{}", serde_json::to_string(&src)?)?;
                for f in &findings {
                    writeln!(w, "{}", serde_json::json!({ "finding": f }))?;
                }
            }
            OutputFormat::Table => {
                writeln!(
                    w,
                    "{}: {} ({}), {} events, {} findings, {} .. {}",
                    src.ip,
                    src.decision,
                    src.verdict,
                    src.events,
                    src.findings,
                    src.first_seen,
                    src.last_seen
                )?;
                for r in &src.reasons {
                    writeln!(w, "  reason: {r}")?;
                }
                writeln!(w, "  signatures: {}", src.signatures.join(", "))?;
                for f in &findings {
                    writeln!(
                        w,
                        "  {} {}:{} {} \"{}\" -> {} [{}] ua \"{}\"",
                        f.time,
                        f.input,
                        f.line,
                        f.verdict,
                        f.request,
                        f.status,
                        f.signatures.join(","),
                        f.user_agent
                    )?;
                    writeln!(w, "      why: {}", f.why)?;
                }
            }
        }
        w.flush()
    })();
    r.map_err(failure)
}

fn cmd_campaigns(
    common: CommonArgs,
    store: StoreArgs,
    limit: usize,
    output: OutputFormat,
) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let st = open_store(&cfg, &store)?;
    let rows = st.latest_campaigns(limit).map_err(failure)?;
    let mut w = stdout_for(output);
    let r = (|| -> std::io::Result<()> {
        for c in &rows {
            match output {
                OutputFormat::Json => writeln!(w, "{{\"campaign\":{}}}", c.data)?,
                OutputFormat::Table => writeln!(
                    w,
                    "{:<10} {:<48} {:>8} sources {:>9} requests",
                    c.kind,
                    scantriage_core::escape_for_display(c.key.as_bytes(), 48),
                    c.sources,
                    c.requests
                )?,
            }
        }
        w.flush()
    })();
    r.map_err(failure)
}

fn cmd_decisions(common: CommonArgs, store: StoreArgs, output: OutputFormat) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let st = open_store(&cfg, &store)?;
    let ds = st.active_decisions(now_ms()).map_err(failure)?;
    let mut w = stdout_for(output);
    let r = (|| -> std::io::Result<()> {
        for d in &ds {
            match output {
                OutputFormat::Json => writeln!(w, "{}", serde_json::to_string(d)?)?,
                OutputFormat::Table => writeln!(
                    w,
                    "{:<40} {:<6} {:>8}  {}",
                    d.source.to_string(),
                    d.kind.as_str(),
                    scantriage_report::human_duration(d.duration_secs),
                    d.reasons.first().map(String::as_str).unwrap_or("")
                )?,
            }
        }
        w.flush()
    })();
    r.map_err(failure)
}

fn cmd_serve(
    listen: std::net::SocketAddr,
    common: CommonArgs,
    store: StoreArgs,
) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let token = cfg.serve.token.clone();
    scantriage_web::check_binding(&listen, token.as_deref())
        .map_err(|e| config_error(anyhow!(e)))?;
    let allow = scantriage_cli::enforce_cmd::allowlist(&cfg);
    let rules = load_rules(&cfg, common.strict)?;
    let opts = scantriage_web::ServeOptions {
        suppressions: std::sync::Arc::new(move |vs: &[scantriage_core::PersonVerdict]| {
            scantriage_assess::PersonVerdicts::new(vs, &rules)
                .suppressions()
                .clone()
        }),
        block_secs: cfg.policy.max_block_secs,
        db: store_path(&cfg, &store),
        listen,
        token,
        author: scantriage_cli::enforce_cmd::user_name(),
        refuse_block: std::sync::Arc::new(move |net: ipnet::IpNet| allow.refuses(&net)),
    };
    scantriage_web::serve(opts, |addr| {
        println!("scantriage: dashboard on http://{addr}/");
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| failure(anyhow!(e)))
}

fn cmd_report(html: PathBuf, common: CommonArgs, store: StoreArgs) -> Result<(), Exit> {
    let cfg = load_config(&common)?;
    let st = open_store(&cfg, &store)?;
    let text = scantriage_web::report_html(&st).map_err(failure)?;
    std::fs::write(&html, text)
        .with_context(|| format!("cannot write {}", html.display()))
        .map_err(failure)?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Analyze(a) => cmd_analyze(a),
        Command::Rules { command } => cmd_rules(command),
        Command::Check(c) => cmd_check(c),
        Command::Show {
            ip,
            common,
            store,
            output,
        } => cmd_show(ip, common, store, output),
        Command::Decisions {
            command: Some(c), ..
        } => cmd_vuln(&c.site().clone(), |cfg, p, w| {
            scantriage_cli::enforce_cmd::run_decisions(c, cfg, p, w)
        }),
        Command::Decisions {
            command: None,
            common,
            store,
            output,
        } => cmd_decisions(common, store, output),
        Command::Enforce(a) => cmd_vuln(&a.command.site().clone(), |c, p, w| {
            scantriage_cli::enforce_cmd::run(a.command, c, p, w)
        }),
        Command::Watch(a) => cmd_vuln(&a.site.clone(), |c, p, w| {
            scantriage_cli::watch::run(a, c, p, w)
        }),
        Command::Verdict(a) => cmd_vuln(&a.command.site().clone(), |c, p, w| {
            scantriage_cli::verdict_cmd::run(a.command, c, p, w)
        }),
        Command::Campaigns {
            common,
            store,
            limit,
            output,
        } => cmd_campaigns(common, store, limit, output),
        Command::Vulndb(a) => cmd_vuln(&a.command.site().clone(), |c, p, w| {
            scantriage_cli::vulndb::run(a.command, c, p, w)
        }),
        Command::Inventory(a) => cmd_vuln(&a.command.site().clone(), |c, p, w| {
            scantriage_cli::inventory_cmd::run(a.command, c, p, w)
        }),
        Command::Exposure(a) => cmd_vuln(&a.site.clone(), |c, p, w| {
            scantriage_cli::exposure::run(a, c, p, w)
        }),
        Command::Serve {
            listen,
            common,
            store,
        } => cmd_serve(listen, common, store),
        Command::Report {
            html,
            common,
            store,
        } => cmd_report(html, common, store),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code, e)) => {
            // A closed pipe (`scantriage ... | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("scantriage: {e:#}");
            ExitCode::from(code)
        }
    }
}
