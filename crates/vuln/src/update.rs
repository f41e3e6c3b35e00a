//! `vulndb update`: download the official feeds, verify them, and replace what the
//! database holds in one transaction.
//!
//! Every feed is downloaded to a temporary directory first; if any download fails,
//! nothing is imported and the database stays as it was. The import then runs in one
//! transaction that deletes the old records of each updated source and inserts the new
//! ones; it is rolled back unless every file parsed and held records.

use crate::db::{ImportStats, VulnDb};
use crate::packages::PackageMap;
use crate::VulnError;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The OSV archive of every Debian advisory (DSA, DLA, DEBIAN-CVE), one zip.
pub const OSV_DEBIAN_URL: &str =
    "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip";
/// The CISA Known Exploited Vulnerabilities catalog.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// The Debian security tracker's JSON export.
pub const DEBIAN_TRACKER_URL: &str = "https://security-tracker.debian.org/tracker/data/json";

/// One feed to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The source it replaces: `osv`, `kev` or `debian-tracker`.
    pub source: &'static str,
    /// Where it is.
    pub url: String,
}

/// The default feeds: Debian's OSV archive, the KEV catalog and the Debian tracker.
pub fn default_feeds() -> Vec<Feed> {
    vec![
        Feed {
            source: crate::advisory::SOURCE_OSV,
            url: OSV_DEBIAN_URL.into(),
        },
        Feed {
            source: crate::advisory::SOURCE_KEV,
            url: KEV_URL.into(),
        },
        Feed {
            source: crate::advisory::SOURCE_DEBIAN_TRACKER,
            url: DEBIAN_TRACKER_URL.into(),
        },
    ]
}

fn download(agent: &ureq::Agent, url: &str, to: &std::path::Path) -> Result<u64, String> {
    let resp = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut reader = resp.into_body().into_reader();
    let mut f = std::fs::File::create(to).map_err(|e| e.to_string())?;
    let n = std::io::copy(&mut reader, &mut f).map_err(|e| e.to_string())?;
    f.flush().map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("empty response".into());
    }
    Ok(n)
}

/// Downloads every feed, then imports them all in one transaction that replaces the
/// sources they belong to. On any failure the database is left as it was.
pub fn update(
    db: &mut VulnDb,
    feeds: &[Feed],
    map: &PackageMap,
    timeout: Duration,
    now_ms: i64,
) -> Result<ImportStats, VulnError> {
    let dir =
        std::env::temp_dir().join(format!("scantriage-vulndb-{}-{now_ms}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| VulnError::io(&dir, e))?;
    let result = (|| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10).min(timeout)))
            .timeout_global(Some(timeout))
            .build()
            .into();
        let mut files: Vec<PathBuf> = Vec::new();
        for (i, f) in feeds.iter().enumerate() {
            let ext = if f.url.ends_with(".zip") {
                "zip"
            } else {
                "json"
            };
            let to = dir.join(format!("{i}-{}.{ext}", f.source));
            download(&agent, &f.url, &to).map_err(|e| VulnError::Download {
                url: f.url.clone(),
                message: e,
            })?;
            files.push(to);
        }
        let mut sources: Vec<&str> = feeds.iter().map(|f| f.source).collect();
        sources.sort();
        sources.dedup();
        db.import_checked(&files, map, &sources, now_ms)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
