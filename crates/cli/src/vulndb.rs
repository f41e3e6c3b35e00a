//! `scantriage vulndb`: import, update and inspect the advisory database, and what
//! analysis needs from it (the discovered inventory and the vulnerable signatures).

use crate::config::Config;
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use scantriage_core::SignatureIndex;
use scantriage_detect::RuleSet;
use scantriage_store::SqliteStore;
use scantriage_vuln::update::{default_feeds, Feed};
use scantriage_vuln::{Discovery, Installed, PackageMap, VulnDb, VulnMatch};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `scantriage vulndb ...`
#[derive(Args)]
pub struct VulndbArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: VulndbCommand,
}

/// The `vulndb` subcommands.
#[derive(Subcommand)]
pub enum VulndbCommand {
    /// Import OSV JSON (files, directories, per-ecosystem zip archives), the CISA KEV JSON
    /// or the Debian security tracker JSON.
    Import {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Download the official feeds and replace what the database holds (all or nothing).
    Update {
        /// OSV archive URL (default: Debian's all.zip); repeat for several ecosystems.
        #[arg(long = "osv-url")]
        osv_urls: Vec<String>,
        /// KEV catalog URL.
        #[arg(long, default_value = scantriage_vuln::update::KEV_URL)]
        kev_url: String,
        /// Debian security tracker JSON URL.
        #[arg(long, default_value = scantriage_vuln::update::DEBIAN_TRACKER_URL)]
        debian_tracker_url: String,
        /// Give up after this long per run (e.g. 10m).
        #[arg(long, default_value = "10m")]
        timeout: humantime::Duration,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// What is loaded: records per source, and how old.
    Status {
        #[command(flatten)]
        site: SiteArgs,
        /// Output format: table or json.
        #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
        output: String,
    },
}

/// Where the configuration and the database are.
#[derive(Args, Clone, Debug, Default)]
pub struct SiteArgs {
    /// Configuration file (TOML).
    #[arg(long, short = 'c', env = "SCANTRIAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// SQLite store path; the advisory tables live in it (default: as for `analyze`).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

impl VulndbCommand {
    /// The shared arguments of the subcommand.
    pub fn site(&self) -> &SiteArgs {
        match self {
            VulndbCommand::Import { site, .. }
            | VulndbCommand::Update { site, .. }
            | VulndbCommand::Status { site, .. } => site,
        }
    }
}

/// Opens the advisory tables in the store at `path` (creating the store first, so that
/// the file is a scantriage store).
pub fn open(path: &Path) -> Result<VulnDb> {
    SqliteStore::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    Ok(VulnDb::open(path)?)
}

/// The package map: the shipped one, extended by `inventory.package_map`; every product
/// it names must be in the vocabulary.
pub fn package_map(cfg: &Config) -> Result<PackageMap> {
    let mut map = PackageMap::default();
    if let Some(p) = &cfg.package_map {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("inventory.package_map {}", p.display()))?;
        map.extend_from_toml(&text)
            .map_err(|e| anyhow!("inventory.package_map {}: {e}", p.display()))?;
    }
    let unknown: Vec<&str> = map
        .products()
        .filter(|p| cfg.vocab.canonical(p).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(anyhow!(
            "package map names unknown product(s): {} (see the product vocabulary in rules/README.md)",
            unknown.join(", ")
        ));
    }
    Ok(map)
}

/// The declared inventory merged with the saved discovery, if any.
pub fn installed(cfg: &Config, db: &VulnDb) -> Result<(Vec<Installed>, Option<Discovery>)> {
    let saved = db.load_inventory()?;
    let discovered = saved.as_ref().map_or(&[][..], |d| &d.products[..]);
    Ok((
        scantriage_vuln::merge(scantriage_vuln::declared(&cfg.inventory), discovered),
        saved,
    ))
}

/// What `analyze` needs, computed once at startup: registers the store's KEV catalog,
/// adds the saved discovery's products to `cfg.inventory` (so relevance sees them) and
/// returns, per signature, the CVE that
/// affects an installed version. An empty map when the store holds no advisories.
pub fn prepare(
    cfg: &mut Config,
    rules: &RuleSet,
    db_path: &Path,
) -> Result<HashMap<SignatureIndex, VulnMatch>> {
    let db = open(db_path)?;
    // A catalog imported into the store flags the CVEs added since the shipped list.
    scantriage_vuln::kev::register_imported(db.kev_ids()?);
    let (installed, saved) = installed(cfg, &db)?;
    if let Some(d) = &saved {
        scantriage_vuln::extend_inventory(&mut cfg.inventory, &cfg.vocab, &d.products);
    }
    Ok(scantriage_vuln::vulnerable_signatures(
        rules, &installed, &db,
    )?)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long ago, in words.
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let secs = ((now_ms - then_ms).max(0) / 1000) as u64;
    if secs < 60 {
        return "just now".into();
    }
    let d = humantime::format_duration(Duration::from_secs(secs - secs % 60)).to_string();
    let short: Vec<&str> = d.split(' ').take(2).collect();
    format!("{} ago", short.join(" "))
}

/// Runs a `vulndb` subcommand against the store at `db_path`.
pub fn run(cmd: VulndbCommand, cfg: &Config, db_path: &Path, w: &mut dyn Write) -> Result<()> {
    let map = package_map(cfg)?;
    match cmd {
        VulndbCommand::Import { paths, .. } => {
            let mut db = open(db_path)?;
            let started = std::time::Instant::now();
            let s = db.import(&paths, &map, &[], now_ms())?;
            for e in s.errors.iter().take(10) {
                eprintln!("scantriage: skipped: {e}");
            }
            writeln!(
                w,
                "imported {} file(s) into {} in {:.1}s: {} advisories ({}), {} affected ranges, {} KEV entries; {} file(s) skipped",
                s.files,
                db_path.display(),
                started.elapsed().as_secs_f64(),
                s.advisories.values().sum::<u64>(),
                s.advisories
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.ranges,
                s.kev,
                s.errors.len()
            )?;
            if s.records() == 0 {
                return Err(anyhow!("nothing imported"));
            }
        }
        VulndbCommand::Update {
            osv_urls,
            kev_url,
            debian_tracker_url,
            timeout,
            ..
        } => {
            let mut feeds: Vec<Feed> = if osv_urls.is_empty() {
                default_feeds()
                    .into_iter()
                    .filter(|f| f.source == scantriage_vuln::advisory::SOURCE_OSV)
                    .collect()
            } else {
                osv_urls
                    .into_iter()
                    .map(|url| Feed {
                        source: scantriage_vuln::advisory::SOURCE_OSV,
                        url,
                    })
                    .collect()
            };
            feeds.push(Feed {
                source: scantriage_vuln::advisory::SOURCE_KEV,
                url: kev_url,
            });
            feeds.push(Feed {
                source: scantriage_vuln::advisory::SOURCE_DEBIAN_TRACKER,
                url: debian_tracker_url,
            });
            let mut db = open(db_path)?;
            let started = std::time::Instant::now();
            let s =
                scantriage_vuln::update::update(&mut db, &feeds, &map, timeout.into(), now_ms())
                    .context("vulndb update (the database was left as it was)")?;
            writeln!(
                w,
                "updated {} from {} feed(s) in {:.1}s: {} advisories, {} affected ranges, {} KEV entries",
                db_path.display(),
                feeds.len(),
                started.elapsed().as_secs_f64(),
                s.advisories.values().sum::<u64>(),
                s.ranges,
                s.kev
            )?;
        }
        VulndbCommand::Status { output, .. } => {
            let db = open(db_path)?;
            let st = db.status()?;
            let now = now_ms();
            if output == "json" {
                for s in &st {
                    writeln!(w, "{}", serde_json::to_string(s)?)?;
                }
            } else {
                writeln!(w, "advisory database {}", db_path.display())?;
                for s in &st {
                    let when = s.imported_ms.map_or("never imported".to_string(), |t| {
                        format!("imported {}", age(now, t))
                    });
                    writeln!(
                        w,
                        "  {:<15} {:>8} records {:>9} ranges  {}{}{}",
                        s.source,
                        s.records,
                        s.ranges,
                        when,
                        s.version
                            .as_ref()
                            .map_or(String::new(), |v| format!(", version {v}")),
                        s.origin
                            .as_ref()
                            .map_or(String::new(), |o| format!(", from {o}"))
                    )?;
                    if !s.ecosystems.is_empty() {
                        let e: Vec<String> = s
                            .ecosystems
                            .iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect();
                        writeln!(w, "  {:<15} ecosystems: {}", "", e.join(", "))?;
                    }
                }
                if st.iter().all(|s| s.records == 0) {
                    writeln!(
                        w,
                        "  empty: run `scantriage vulndb update`, or `scantriage vulndb import FILE...`"
                    )?;
                }
            }
        }
    }
    Ok(())
}
