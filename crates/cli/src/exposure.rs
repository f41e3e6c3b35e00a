//! `scantriage exposure`: installed products with the advisories that affect their
//! versions, ranked by known exploitation, probing seen in the logs, and reachability.

use crate::config::Config;
use crate::vulndb::{installed, open, package_map, SiteArgs};
use anyhow::Result;
use clap::Args;
use scantriage_vuln::discover::{discover, DiscoverOptions};
use scantriage_vuln::{ProbeStats, VulnDb};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// `scantriage exposure`
#[derive(Args)]
pub struct ExposureArgs {
    #[command(flatten)]
    /// Configuration and store.
    pub site: SiteArgs,
    /// Output format: table or json.
    #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
}

/// One installed product and one vulnerability that affects it.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureRow {
    /// Product.
    pub product: String,
    /// Installed version.
    pub version: String,
    /// Package, when packaged.
    pub package: Option<String>,
    /// Where the product is known from.
    pub origin: String,
    /// Listening on a non-loopback address.
    pub exposed: bool,
    /// Its listening sockets.
    pub listens: Vec<String>,
    /// The CVE (or the advisory id when it names no CVE).
    pub cve: String,
    /// Advisories that say so.
    pub advisories: Vec<String>,
    /// In the CISA KEV catalog.
    pub known_exploited: bool,
    /// Probes for it in the store's findings.
    pub probed: ProbeStats,
    /// The version to upgrade to, when one is known.
    pub fixed: Option<String>,
    /// One-line summary.
    pub summary: String,
}

/// The rows, most urgent first: known exploited, then probed (more requests first), then
/// reachable from outside.
pub fn rows(installed: &[scantriage_vuln::Installed], db: &VulnDb) -> Result<Vec<ExposureRow>> {
    let probes = db.probes()?;
    let mut out: BTreeMap<(String, String, String), ExposureRow> = BTreeMap::new();
    for inst in installed {
        let Some(version) = &inst.version else {
            continue;
        };
        for a in db.affecting(inst)? {
            let keys = if a.cves.is_empty() {
                vec![a.advisory.clone()]
            } else {
                a.cves.clone()
            };
            for cve in keys {
                let row = out
                    .entry((inst.product.clone(), inst.origin.clone(), cve.clone()))
                    .or_insert_with(|| ExposureRow {
                        product: inst.product.clone(),
                        version: version.clone(),
                        package: inst.package.clone(),
                        origin: inst.origin.clone(),
                        exposed: inst.exposed,
                        listens: inst.listens.clone(),
                        cve: cve.clone(),
                        advisories: Vec::new(),
                        known_exploited: false,
                        probed: probes.get(&cve).cloned().unwrap_or_default(),
                        fixed: None,
                        summary: a.summary.clone(),
                    });
                row.advisories.push(a.advisory.clone());
                row.known_exploited |=
                    a.known_exploited || scantriage_vuln::kev::is_known_exploited(&cve);
                if row.fixed.is_none() {
                    row.fixed = a.fixed.clone();
                }
            }
        }
    }
    let mut v: Vec<ExposureRow> = out.into_values().collect();
    v.sort_by(|a, b| {
        (b.known_exploited, b.probed.requests, b.exposed)
            .cmp(&(a.known_exploited, a.probed.requests, a.exposed))
            .then_with(|| b.cve.cmp(&a.cve))
    });
    Ok(v)
}

fn time(ms: i64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let secs = ms / 1000;
    let days = secs.div_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Runs `exposure`.
pub fn run(args: ExposureArgs, cfg: &Config, db_path: &Path, w: &mut dyn Write) -> Result<()> {
    let db = open(db_path)?;
    let (mut inst, saved) = installed(cfg, &db)?;
    if saved.is_none() {
        eprintln!(
            "scantriage: no saved inventory in {}: discovering now (save it with `scantriage inventory discover --save`)",
            db_path.display()
        );
        let map = package_map(cfg)?;
        let mut opts = DiscoverOptions {
            docroots: cfg.docroots.clone(),
            ..Default::default()
        };
        if let Some(p) = &cfg.dpkg_status {
            opts.dpkg_status = p.clone();
        }
        let d = discover(&opts, &map, 0);
        inst = scantriage_vuln::merge(scantriage_vuln::declared(&cfg.inventory), &d.products);
    }
    let empty = db.status()?.iter().all(|s| s.records == 0);
    let rows = rows(&inst, &db)?;
    if args.output == "json" {
        for r in &rows {
            writeln!(w, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    if empty {
        writeln!(
            w,
            "the advisory database is empty: run `scantriage vulndb update` or `scantriage vulndb import FILE...`"
        )?;
    }
    let exposed = rows.iter().filter(|r| r.exposed).count();
    writeln!(
        w,
        "{} vulnerabilit(ies) in {} installed product(s); {} on exposed products, {} known exploited, {} probed in the logs",
        rows.len(),
        inst.len(),
        exposed,
        rows.iter().filter(|r| r.known_exploited).count(),
        rows.iter().filter(|r| r.probed.requests > 0).count()
    )?;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "{:<16} {:<22} {:<8} {:<16} {:<4} {:<28} upgrade to",
        "product", "installed", "exposed", "cve", "kev", "probed (req/src, last)"
    )?;
    for r in &rows {
        let probed = if r.probed.requests == 0 {
            "-".to_string()
        } else {
            format!(
                "{}/{}, {}",
                r.probed.requests,
                r.probed.sources,
                time(r.probed.last_seen_ms)
            )
        };
        writeln!(
            w,
            "{:<16} {:<22} {:<8} {:<16} {:<4} {:<28} {}",
            r.product,
            r.version,
            if r.exposed { "yes" } else { "no" },
            r.cve,
            if r.known_exploited { "yes" } else { "" },
            probed,
            r.fixed.as_deref().unwrap_or("no fix yet")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_time() {
        assert_eq!(super::time(0), "-");
        assert_eq!(super::time(1_700_000_000_000), "2023-11-14 22:13Z");
    }
}
