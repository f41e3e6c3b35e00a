//! `scantriage rules coverage`: how many known exploited CVEs with a web exposure the
//! signature pack recognises, per year added, and which ones it misses.

use scantriage_detect::RuleSet;
use scantriage_vuln::kev::{KevId, KevList};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Coverage of one year (by the date CISA added the entries).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct YearCoverage {
    /// The year added.
    pub year: String,
    /// Web-exposed entries added that year.
    pub web: usize,
    /// Of those, entries named by at least one signature's `cves`.
    pub covered: usize,
}

/// A web-exposed entry no signature names.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Missing {
    /// The CVE id.
    pub cve: String,
    /// When CISA added it.
    pub date_added: String,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
}

/// The coverage report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// The catalog version of the list.
    pub catalog_version: Option<String>,
    /// Entries in the list.
    pub entries: usize,
    /// Entries counted: web-exposed and added in or after `since`.
    pub web: usize,
    /// Of those, entries some signature names.
    pub covered: usize,
    /// Per year added.
    pub by_year: Vec<YearCoverage>,
    /// Per covered CVE, the signatures that name it.
    pub signatures: BTreeMap<String, Vec<String>>,
    /// The entries counted that no signature names.
    pub missing: Vec<Missing>,
}

/// Counts the web-exposed entries of `kev` added in or after the year `since` (all when
/// `None`) that the signatures of `rules` name in their `cves`.
pub fn coverage(rules: &RuleSet, kev: &KevList, since: Option<&str>) -> Coverage {
    let mut by_cve: HashMap<String, Vec<String>> = HashMap::new();
    for s in rules.signatures() {
        for c in &s.cves {
            by_cve
                .entry(c.to_ascii_uppercase())
                .or_default()
                .push(s.id.clone());
        }
    }
    let counted: Vec<&KevId> = kev
        .entries()
        .into_iter()
        .filter(|e| e.web && since.is_none_or(|y| e.date_added.as_str() >= y))
        .collect();
    let mut out = Coverage {
        catalog_version: kev.version().map(str::to_string),
        entries: kev.len(),
        web: counted.len(),
        ..Default::default()
    };
    let mut years: BTreeMap<String, YearCoverage> = BTreeMap::new();
    for e in counted {
        let year = e.date_added.get(..4).unwrap_or("?").to_string();
        let y = years.entry(year.clone()).or_insert_with(|| YearCoverage {
            year,
            ..Default::default()
        });
        y.web += 1;
        match by_cve.get(&e.cve) {
            Some(sigs) => {
                y.covered += 1;
                out.covered += 1;
                out.signatures.insert(e.cve.clone(), sigs.clone());
            }
            None => out.missing.push(Missing {
                cve: e.cve.clone(),
                date_added: e.date_added.clone(),
                vendor: e.vendor.clone(),
                product: e.product.clone(),
            }),
        }
    }
    out.by_year = years.into_values().collect();
    out
}

/// Writes the report for people; `missing` adds the uncovered entries.
pub fn write_table(w: &mut dyn Write, c: &Coverage, missing: bool) -> std::io::Result<()> {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    writeln!(
        w,
        "KEV catalog {} ({} entries): {} of {} web-exposed entries covered by a signature ({:.0}%)",
        c.catalog_version.as_deref().unwrap_or("?"),
        c.entries,
        c.covered,
        c.web,
        pct(c.covered, c.web)
    )?;
    writeln!(w, "{:<6} {:>5} {:>8}", "added", "web", "covered")?;
    for y in &c.by_year {
        writeln!(w, "{:<6} {:>5} {:>8}", y.year, y.web, y.covered)?;
    }
    if missing {
        writeln!(w, "\nNOT COVERED ({})", c.missing.len())?;
        for m in &c.missing {
            writeln!(
                w,
                "  {:<16} {}  {} | {}",
                m.cve, m.date_added, m.vendor, m.product
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scantriage_detect::Vocabulary;

    #[test]
    fn counts_web_entries_named_by_signatures_per_year() {
        let vocab = Vocabulary::default();
        let (rules, errors) = RuleSet::load(&[], &vocab);
        assert!(errors.is_empty(), "{errors:?}");
        let (kev, errs) = KevList::parse(
            "t.tsv",
            "CVE-2021-44228\t2021-12-10\t1\tApache\tLog4j2\n\
             CVE-2099-0001\t2023-01-01\t1\tAcme\tGateway\n\
             CVE-2099-0002\t2023-01-01\t0\tAcme\tDesktop\n",
        );
        assert!(errs.is_empty());
        let all = coverage(&rules, &kev, None);
        assert_eq!((all.web, all.covered), (2, 1));
        assert!(all.signatures["CVE-2021-44228"].contains(&"log4shell-jndi".to_string()));
        assert_eq!(all.missing.len(), 1);
        assert_eq!(all.missing[0].cve, "CVE-2099-0001");
        assert_eq!(all.by_year.len(), 2);
        let recent = coverage(&rules, &kev, Some("2022"));
        assert_eq!((recent.web, recent.covered), (1, 0));
        let mut text = Vec::new();
        write_table(&mut text, &recent, true).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("0 of 1 web-exposed"), "{text}");
        assert!(text.contains("CVE-2099-0001"), "{text}");
    }
}
