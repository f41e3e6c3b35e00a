//! The advisory model and the parsers of the published feeds: OSV records (single
//! files, arrays, directories, per-ecosystem zip archives), the CISA Known Exploited
//! Vulnerabilities catalog and the Debian security tracker JSON.

use crate::version::{compare, Scheme};
use crate::VulnError;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// Where an advisory came from.
pub const SOURCE_OSV: &str = "osv";
/// The Debian security tracker.
pub const SOURCE_DEBIAN_TRACKER: &str = "debian-tracker";
/// The CISA Known Exploited Vulnerabilities catalog.
pub const SOURCE_KEV: &str = "kev";

/// One vulnerability record with the package versions it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// Its id in its source (OSV id, or the CVE id for the Debian tracker).
    pub id: String,
    /// [`SOURCE_OSV`] or [`SOURCE_DEBIAN_TRACKER`].
    pub source: &'static str,
    /// One-line summary.
    pub summary: String,
    /// Last modification (RFC 3339 as published, empty when unknown).
    pub modified: String,
    /// CVE ids it covers (its id, aliases and upstream ids that are CVEs).
    pub cves: Vec<String>,
    /// Affected version ranges.
    pub affected: Vec<AffectedRange>,
}

/// One range of affected versions of one package in one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedRange {
    /// OSV ecosystem (`Debian:12`, `Packagist`, ...).
    pub ecosystem: String,
    /// Package name in that ecosystem (the source package for Debian).
    pub package: String,
    /// How versions compare.
    pub scheme: Scheme,
    /// First affected version (`None` or `0`: from the beginning).
    pub introduced: Option<String>,
    /// First fixed version.
    pub fixed: Option<String>,
    /// Last affected version (when no fix is known).
    pub last_affected: Option<String>,
}

impl AffectedRange {
    /// Whether `version` falls in this range.
    pub fn contains(&self, version: &str) -> bool {
        let s = self.scheme;
        if let Some(i) = self.introduced.as_deref().filter(|i| *i != "0") {
            if compare(s, version, i).is_lt() {
                return false;
            }
        }
        if let Some(f) = self.fixed.as_deref() {
            if !compare(s, version, f).is_lt() {
                return false;
            }
        }
        if let Some(l) = self.last_affected.as_deref() {
            if compare(s, version, l).is_gt() {
                return false;
            }
        }
        true
    }
}

/// One entry of the Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    /// The CVE id.
    #[serde(rename = "cveID")]
    pub cve_id: String,
    /// Vendor or project.
    pub vendor_project: String,
    /// Product.
    pub product: String,
    /// Name of the vulnerability.
    #[serde(default)]
    pub vulnerability_name: String,
    /// When CISA added it (YYYY-MM-DD).
    #[serde(default)]
    pub date_added: String,
    /// Remediation due date for US federal agencies.
    #[serde(default)]
    pub due_date: String,
    /// `Known` when used in ransomware campaigns, else `Unknown`.
    #[serde(default)]
    pub known_ransomware_campaign_use: String,
    /// Description.
    #[serde(default)]
    pub short_description: String,
}

/// The KEV catalog file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevCatalog {
    /// Catalog version (`2025.08.25`).
    #[serde(default)]
    pub catalog_version: String,
    /// When it was released.
    #[serde(default)]
    pub date_released: String,
    /// The entries.
    pub vulnerabilities: Vec<KevEntry>,
}

// ---- OSV (own serde structs: only the fields used, unknown fields ignored) ----

#[derive(Deserialize)]
struct OsvRecord {
    id: String,
    #[serde(default)]
    modified: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    affected: Vec<OsvAffected>,
}

#[derive(Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct OsvPackage {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

/// Explicit version lists longer than this are not stored (ranges say the same).
const MAX_LISTED_VERSIONS: usize = 500;

fn is_cve(s: &str) -> bool {
    s.starts_with("CVE-")
}

fn osv_to_advisory(r: OsvRecord) -> Option<Advisory> {
    if r.withdrawn.is_some() {
        return None;
    }
    let mut cves: Vec<String> = std::iter::once(&r.id)
        .chain(&r.aliases)
        .chain(&r.upstream)
        .filter(|s| is_cve(s))
        .cloned()
        .collect();
    cves.sort();
    cves.dedup();
    let mut affected = Vec::new();
    for a in r.affected {
        let Some(pkg) = a.package else { continue };
        if pkg.name.is_empty() {
            continue;
        }
        let mut any_range = false;
        for range in &a.ranges {
            let scheme = match range.kind.as_str() {
                "SEMVER" => Scheme::Semver,
                "ECOSYSTEM" => Scheme::for_ecosystem(&pkg.ecosystem),
                _ => continue, // GIT ranges name commits, not versions.
            };
            any_range = true;
            let mut start: Option<String> = None;
            let mut open = false;
            for ev in &range.events {
                if let Some(i) = ev.get("introduced") {
                    start = Some(i.clone());
                    open = true;
                } else if let Some(f) = ev.get("fixed") {
                    affected.push(AffectedRange {
                        ecosystem: pkg.ecosystem.clone(),
                        package: pkg.name.clone(),
                        scheme,
                        introduced: start.take(),
                        fixed: Some(f.clone()),
                        last_affected: None,
                    });
                    open = false;
                } else if let Some(l) = ev.get("last_affected") {
                    affected.push(AffectedRange {
                        ecosystem: pkg.ecosystem.clone(),
                        package: pkg.name.clone(),
                        scheme,
                        introduced: start.take(),
                        fixed: None,
                        last_affected: Some(l.clone()),
                    });
                    open = false;
                }
            }
            if open {
                affected.push(AffectedRange {
                    ecosystem: pkg.ecosystem.clone(),
                    package: pkg.name.clone(),
                    scheme,
                    introduced: start,
                    fixed: None,
                    last_affected: None,
                });
            }
        }
        if !any_range && a.versions.len() <= MAX_LISTED_VERSIONS {
            let scheme = Scheme::for_ecosystem(&pkg.ecosystem);
            for v in a.versions {
                affected.push(AffectedRange {
                    ecosystem: pkg.ecosystem.clone(),
                    package: pkg.name.clone(),
                    scheme,
                    introduced: Some(v.clone()),
                    fixed: None,
                    last_affected: Some(v),
                });
            }
        }
    }
    let summary = if r.summary.is_empty() {
        r.details
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect()
    } else {
        r.summary
    };
    Some(Advisory {
        id: r.id,
        source: SOURCE_OSV,
        summary,
        modified: r.modified,
        cves,
        affected,
    })
}

/// Parses one OSV JSON document: a record or an array of records. Withdrawn records are
/// dropped.
pub fn parse_osv(bytes: &[u8]) -> Result<Vec<Advisory>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Box<OsvRecord>),
        Many(Vec<OsvRecord>),
    }
    Ok(match serde_json::from_slice::<OneOrMany>(bytes)? {
        OneOrMany::One(r) => osv_to_advisory(*r).into_iter().collect(),
        OneOrMany::Many(v) => v.into_iter().filter_map(osv_to_advisory).collect(),
    })
}

/// Parses the KEV catalog JSON.
pub fn parse_kev(bytes: &[u8]) -> Result<KevCatalog, serde_json::Error> {
    serde_json::from_slice(bytes)
}

// ---- Debian security tracker ----

#[derive(Deserialize)]
struct TrackerEntry {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: HashMap<String, TrackerRelease>,
}

#[derive(Deserialize)]
struct TrackerRelease {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
}

/// The OSV ecosystem name of a Debian release codename (`bookworm` → `Debian:12`).
pub fn debian_ecosystem(codename: &str) -> String {
    let n = match codename {
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        "duke" => "15",
        other => other,
    };
    format!("Debian:{n}")
}

/// Parses the Debian security tracker JSON (source package → CVE → release → status):
/// one advisory per CVE, with a range per package and release. `resolved` with a fixed
/// version gives a range up to it (`0` means never affected), `open` an unbounded
/// range; `undetermined` and non-CVE ids (`TEMP-...`) are skipped.
pub fn parse_debian_tracker(bytes: &[u8]) -> Result<Vec<Advisory>, serde_json::Error> {
    let raw: HashMap<String, HashMap<String, TrackerEntry>> = serde_json::from_slice(bytes)?;
    let mut by_cve: BTreeMap<String, Advisory> = BTreeMap::new();
    for (package, cves) in raw {
        for (cve, entry) in cves {
            if !is_cve(&cve) {
                continue;
            }
            let adv = by_cve.entry(cve.clone()).or_insert_with(|| Advisory {
                id: cve.clone(),
                source: SOURCE_DEBIAN_TRACKER,
                summary: entry
                    .description
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
                modified: String::new(),
                cves: vec![cve.clone()],
                affected: Vec::new(),
            });
            let mut releases: Vec<_> = entry.releases.into_iter().collect();
            releases.sort_by(|a, b| a.0.cmp(&b.0));
            for (codename, rel) in releases {
                let fixed = match (rel.status.as_str(), rel.fixed_version) {
                    ("resolved", Some(f)) if f == "0" => continue,
                    ("resolved", Some(f)) => Some(f),
                    ("open", _) => None,
                    _ => continue,
                };
                adv.affected.push(AffectedRange {
                    ecosystem: debian_ecosystem(&codename),
                    package: package.clone(),
                    scheme: Scheme::Debian,
                    introduced: None,
                    fixed,
                    last_affected: None,
                });
            }
        }
    }
    Ok(by_cve.into_values().collect())
}

/// What a JSON feed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// OSV record(s).
    Osv,
    /// The KEV catalog.
    Kev,
    /// The Debian security tracker.
    DebianTracker,
}

/// Recognises a JSON feed from its first bytes.
pub fn detect_kind(bytes: &[u8]) -> FeedKind {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"\"catalogVersion\"") && has(b"\"vulnerabilities\"") {
        FeedKind::Kev
    } else if has(b"\"releases\"") && !has(b"\"affected\"") {
        FeedKind::DebianTracker
    } else {
        FeedKind::Osv
    }
}

/// Calls `each` with the bytes of every `.json` member of an OSV zip archive.
pub fn for_each_zip_json(
    path: &Path,
    mut each: impl FnMut(&str, &[u8]) -> Result<(), VulnError>,
) -> Result<(), VulnError> {
    let file = std::fs::File::open(path).map_err(|e| VulnError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        VulnError::Format(format!(
            "{}: not a readable zip archive: {e}",
            path.display()
        ))
    })?;
    let mut buf = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| VulnError::Format(format!("{}: member {i}: {e}", path.display())))?;
        if !f.is_file() || !f.name().ends_with(".json") {
            continue;
        }
        let name = f.name().to_string();
        buf.clear();
        f.read_to_end(&mut buf)
            .map_err(|e| VulnError::Format(format!("{}: {name}: {e}", path.display())))?;
        each(&name, &buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_ranges_flatten() {
        let j = br#"{"id":"DSA-1","aliases":["CVE-2021-1"],"upstream":["CVE-2021-2"],"modified":"2024-01-01T00:00:00Z",
          "affected":[{"package":{"ecosystem":"Debian:12","name":"apache2"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.4.51-1"},{"introduced":"2.4.60-1"}]},
                      {"type":"GIT","repo":"x","events":[{"introduced":"abc"}]}]}]}"#;
        let a = &parse_osv(j).unwrap()[0];
        assert_eq!(a.cves, ["CVE-2021-1", "CVE-2021-2"]);
        assert_eq!(a.affected.len(), 2);
        assert!(a.affected[0].contains("2.4.49-1"));
        assert!(!a.affected[0].contains("2.4.51-1"));
        assert!(!a.affected[1].contains("2.4.59-1"));
        assert!(a.affected[1].contains("2.4.62-1"));
    }

    #[test]
    fn withdrawn_and_last_affected() {
        let j = br#"[{"id":"A","withdrawn":"2024-01-01T00:00:00Z","affected":[]},
          {"id":"B","affected":[{"package":{"ecosystem":"Packagist","name":"x/y"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"last_affected":"1.4"}]}]}]}]"#;
        let v = parse_osv(j).unwrap();
        assert_eq!(v.len(), 1);
        assert!(v[0].affected[0].contains("1.4"));
        assert!(!v[0].affected[0].contains("1.5"));
        assert!(!v[0].affected[0].contains("0.9"));
    }
}
