//! `scantriage inventory discover`: packages, listening sockets and web applications,
//! merged with the declared inventory, optionally saved in the store.

use crate::config::Config;
use crate::vulndb::{open, package_map, SiteArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use scantriage_vuln::discover::{discover, sock, DiscoverOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `scantriage inventory ...`
#[derive(Args)]
pub struct InventoryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: InventoryCommand,
}

/// The `inventory` subcommands.
#[derive(Subcommand)]
pub enum InventoryCommand {
    /// Find installed packages, listening sockets and web applications.
    Discover {
        #[command(flatten)]
        site: SiteArgs,
        /// Output format: table or json.
        #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
        output: String,
        /// Save the result in the store (used by `analyze` and `exposure`).
        #[arg(long)]
        save: bool,
        /// The dpkg status file (default: the config's, else /var/lib/dpkg/status).
        #[arg(long)]
        dpkg_status: Option<PathBuf>,
        /// The proc file system to read sockets from.
        #[arg(long, default_value = "/proc", hide = true)]
        proc_root: PathBuf,
    },
}

impl InventoryCommand {
    /// The shared arguments of the subcommand.
    pub fn site(&self) -> &SiteArgs {
        match self {
            InventoryCommand::Discover { site, .. } => site,
        }
    }
}

/// Runs an `inventory` subcommand.
pub fn run(cmd: InventoryCommand, cfg: &Config, db_path: &Path, w: &mut dyn Write) -> Result<()> {
    let InventoryCommand::Discover {
        output,
        save,
        dpkg_status,
        proc_root,
        ..
    } = cmd;
    let map = package_map(cfg)?;
    let mut opts = DiscoverOptions {
        docroots: cfg.docroots.clone(),
        proc_root,
        ..Default::default()
    };
    if let Some(p) = dpkg_status.or_else(|| cfg.dpkg_status.clone()) {
        opts.dpkg_status = p;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let d = discover(&opts, &map, now);
    let merged = scantriage_vuln::merge(scantriage_vuln::declared(&cfg.inventory), &d.products);
    if save {
        open(db_path)?.save_inventory(&d)?;
    }
    if output == "json" {
        let v = serde_json::json!({
            "ecosystem": d.ecosystem,
            "products": merged,
            "listeners": d.listeners,
            "webapps": d.webapps,
            "packages": d.packages.len(),
            "notes": d.notes,
            "saved": save.then(|| db_path.display().to_string()),
        });
        writeln!(w, "{v}")?;
        return Ok(());
    }
    writeln!(
        w,
        "{} package(s) ({}), {} listening socket(s), {} web application(s)",
        d.packages.len(),
        d.ecosystem.as_deref().unwrap_or("unknown distribution"),
        d.listeners.len(),
        d.webapps.len()
    )?;
    writeln!(w, "\nproducts:")?;
    writeln!(
        w,
        "  {:<16} {:<26} {:<22} {:<8} listening",
        "product", "version", "from", "exposed"
    )?;
    for p in &merged {
        writeln!(
            w,
            "  {:<16} {:<26} {:<22} {:<8} {}",
            p.product,
            p.version.as_deref().unwrap_or("?"),
            p.package
                .as_ref()
                .map_or(p.origin.clone(), |pk| format!("{} {pk}", p.origin)),
            if p.exposed { "yes" } else { "no" },
            p.listens.join(", ")
        )?;
    }
    writeln!(w, "\nlistening sockets:")?;
    for l in &d.listeners {
        writeln!(
            w,
            "  {:<4} {:<28} {:<8} {:<16} {}",
            l.proto,
            sock(l.addr, l.port),
            if l.exposed { "exposed" } else { "local" },
            l.process.as_deref().unwrap_or("?"),
            l.pids
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    for n in &d.notes {
        writeln!(w, "note: {n}")?;
    }
    if save {
        writeln!(w, "saved in {}", db_path.display())?;
    }
    Ok(())
}
