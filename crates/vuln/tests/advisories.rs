//! Advisory import, matching against discovered packages, and the urgent-by-version
//! verdict, on the fixtures in tests/fixtures/vuln (published formats).

use scantriage_assess::{Assessor, Inventory};
use scantriage_core::{HttpRequest, Verdict};
use scantriage_detect::{example_request, Example, RuleSet, Scratch, Vocabulary};
use scantriage_vuln::discover::{parse_dpkg_status, products_of};
use scantriage_vuln::{
    declared, extend_inventory, merge, vulnerable_signatures, Discovery, Installed, PackageMap,
    VulnDb, VulnError,
};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/vuln")
        .join(name)
}

fn loaded_db() -> VulnDb {
    let mut db = VulnDb::open_in_memory().unwrap();
    let stats = db
        .import(
            &[
                fixture("osv"),
                fixture("kev-excerpt.json"),
                fixture("debian-tracker.json"),
            ],
            &PackageMap::default(),
            &[],
            1_700_000_000_000,
        )
        .unwrap();
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert_eq!(stats.advisories["osv"], 2);
    assert_eq!(stats.advisories["debian-tracker"], 4);
    assert_eq!(stats.kev, 3);
    db
}

fn discovered(status: &str) -> Vec<Installed> {
    let text = std::fs::read_to_string(fixture(status)).unwrap();
    let d = Discovery {
        ecosystem: Some("Debian:12".into()),
        packages: parse_dpkg_status(&text),
        ..Default::default()
    };
    products_of(&d, &PackageMap::default())
}

#[test]
fn dpkg_status_fixture_parses() {
    let text = std::fs::read_to_string(fixture("dpkg-status-affected")).unwrap();
    let p = parse_dpkg_status(&text);
    let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
    // nginx-common is only config files: not installed.
    assert_eq!(
        names,
        [
            "apache2",
            "apache2-bin",
            "openssh-server",
            "php8.2-fpm",
            "libc6"
        ]
    );
    assert_eq!(p[1].source, "apache2");
    assert_eq!(p[2].version, "1:9.2p1-2+deb12u3");
    assert_eq!(p[3].source, "php8.2");
    let products: Vec<(String, String)> = discovered("dpkg-status-affected")
        .into_iter()
        .map(|i| (i.product, i.version.unwrap()))
        .collect();
    assert_eq!(
        products,
        [
            ("apache-httpd".to_string(), "2.4.49-1".to_string()),
            ("openssh".into(), "1:9.2p1-2+deb12u3".into()),
            ("php".into(), "8.2.7-1~deb12u1".into()),
        ]
    );
}

#[test]
fn import_indexes_by_cve_and_counts_per_source() {
    let db = loaded_db();
    assert_eq!(
        db.advisories_for_cve("CVE-2021-41773").unwrap(),
        ["CVE-2021-41773", "DEBIAN-CVE-2021-41773"]
    );
    assert!(db.known_exploited("CVE-2018-7600").unwrap());
    assert!(!db.known_exploited("CVE-2024-6387").unwrap());
    let st = db.status().unwrap();
    let kev = st.iter().find(|s| s.source == "kev").unwrap();
    assert_eq!(kev.records, 3);
    assert_eq!(kev.version.as_deref(), Some("2025.08.25"));
    let osv = st.iter().find(|s| s.source == "osv").unwrap();
    assert_eq!(osv.ecosystems["Debian:12"], 1);
    assert_eq!(osv.ecosystems["Packagist"], 1);
}

#[test]
fn zip_archive_imports_and_reimport_replaces() {
    let mut db = VulnDb::open_in_memory().unwrap();
    let map = PackageMap::default();
    let s = db
        .import(&[fixture("osv-debian.zip")], &map, &[], 1)
        .unwrap();
    assert_eq!(s.files, 3);
    assert_eq!(s.advisories["osv"], 3);
    let s2 = db
        .import(&[fixture("osv-debian.zip")], &map, &[], 2)
        .unwrap();
    assert_eq!(s2.advisories["osv"], 3);
    let st = db.status().unwrap();
    assert_eq!(st[0].records, 3, "re-import replaces, never duplicates");
    assert_eq!(st[0].ranges, 2 + 1 + 4, "{st:?}");
}

#[test]
fn affected_version_is_matched_with_its_fix() {
    let db = loaded_db();
    let affected = discovered("dpkg-status-affected");
    let apache = affected
        .iter()
        .find(|i| i.product == "apache-httpd")
        .unwrap();
    let hits = db.affecting(apache).unwrap();
    let cves: Vec<&str> = hits
        .iter()
        .flat_map(|a| a.cves.iter().map(String::as_str))
        .collect();
    assert!(cves.contains(&"CVE-2021-41773"), "{hits:?}");
    assert!(cves.contains(&"CVE-2021-42013"), "{hits:?}");
    assert!(hits.iter().all(|a| a.fixed.as_deref() == Some("2.4.51-1")));
    assert!(hits.iter().all(|a| a.known_exploited));
    // openssh 1:9.2p1-2+deb12u3 is the fixed version; the open low-urgency CVE remains.
    let ssh = affected.iter().find(|i| i.product == "openssh").unwrap();
    let ssh_hits = db.affecting(ssh).unwrap();
    assert_eq!(ssh_hits.len(), 1, "{ssh_hits:?}");
    assert_eq!(ssh_hits[0].cves, ["CVE-2023-51767"]);
    assert_eq!(ssh_hits[0].fixed, None);

    let fixed = discovered("dpkg-status-fixed");
    let apache = fixed.iter().find(|i| i.product == "apache-httpd").unwrap();
    assert!(db.affecting(apache).unwrap().is_empty());
    // On another release, the Debian:12 ranges do not apply.
    let mut other = affected[0].clone();
    other.ecosystem = Some("Debian:11".into());
    assert!(db.affecting(&other).unwrap().is_empty());
}

fn verdict(
    rules: &RuleSet,
    inv: &Inventory,
    assessor: &Assessor<'_>,
    request: &str,
    status: u16,
) -> (Verdict, String) {
    let _ = inv;
    let ex = Example {
        request: request.into(),
        user_agent: String::new(),
        referer: String::new(),
        status,
    };
    let req: HttpRequest<'_> = example_request(&ex);
    let mut s = Scratch::default();
    let mut m = Vec::new();
    rules.matches_into(&req, &mut s, &mut m);
    let a = assessor.assess(&req, &mut m, None);
    (a.verdict, a.why.text().to_string())
}

/// The acceptance test: a dpkg status with an affected apache2 turns a matching probe
/// urgent, naming the CVE, the installed version and the fix; the fixed version leaves
/// it relevant.
#[test]
fn affected_version_makes_the_probe_urgent_fixed_leaves_it_relevant() {
    let vocab = Vocabulary::default();
    let (rules, errs) = RuleSet::load(&[], &vocab);
    assert!(errs.is_empty());
    let db = loaded_db();
    let probe = "GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh HTTP/1.1";
    for (status_file, want) in [
        ("dpkg-status-affected", Verdict::Urgent),
        ("dpkg-status-fixed", Verdict::Relevant),
    ] {
        let found = discovered(status_file);
        let mut inv = Inventory::new(true);
        extend_inventory(&mut inv, &vocab, &found);
        let vulnerable = vulnerable_signatures(&rules, &found, &db).unwrap();
        let assessor = Assessor::new(&rules, &inv).with_vulnerable(&vulnerable);
        let (v, why) = verdict(&rules, &inv, &assessor, probe, 400);
        assert_eq!(v, want, "{status_file}: {why}");
        if want == Verdict::Urgent {
            assert!(why.contains("CVE-2021-41773"), "{why}");
            assert!(why.contains("apache-httpd 2.4.49-1"), "{why}");
            assert!(why.contains("fixed in 2.4.51-1"), "{why}");
            assert!(why.contains("known exploited"), "{why}");
        }
        // A probe that got nothing stays noise whatever the version.
        let (v, _) = verdict(&rules, &inv, &assessor, "GET /wp-login.php HTTP/1.1", 404);
        assert_eq!(v, Verdict::Noise);
    }
}

#[test]
fn declared_version_counts_too() {
    let vocab = Vocabulary::default();
    let (rules, _) = RuleSet::load(&[], &vocab);
    let db = loaded_db();
    for (version, want) in [("8.3.1", true), ("8.3.9", false), ("7.57", true)] {
        let mut inv = Inventory::new(true);
        inv.add(&vocab, "drupal", Some(version.into())).unwrap();
        let installed = merge(declared(&inv), &[]);
        let v = vulnerable_signatures(&rules, &installed, &db).unwrap();
        let drupal_sigs: Vec<&str> = v
            .iter()
            .filter(|(_, m)| m.cve == "CVE-2018-7600")
            .map(|(i, _)| rules.get(*i).id.as_str())
            .collect();
        assert_eq!(
            !drupal_sigs.is_empty(),
            want,
            "drupal {version}: {drupal_sigs:?}"
        );
    }
}

#[test]
fn update_without_network_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let mut db = VulnDb::open(&path).unwrap();
    let map = PackageMap::default();
    db.import(&[fixture("kev-excerpt.json")], &map, &[], 1)
        .unwrap();
    let before = db.status().unwrap();
    let feeds = vec![scantriage_vuln::update::Feed {
        source: "kev",
        url: "http://127.0.0.1:9/known_exploited_vulnerabilities.json".into(),
    }];
    let err = scantriage_vuln::update::update(
        &mut db,
        &feeds,
        &map,
        std::time::Duration::from_secs(5),
        2,
    )
    .unwrap_err();
    assert!(matches!(err, VulnError::Download { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert_eq!(db.status().unwrap(), before);
}

#[test]
fn update_rejects_a_feed_that_does_not_verify() {
    // A served file that is not a feed: the import is rolled back.
    let mut db = VulnDb::open_in_memory().unwrap();
    let map = PackageMap::default();
    db.import(&[fixture("kev-excerpt.json")], &map, &[], 1)
        .unwrap();
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), b"<html>captive portal</html>").unwrap();
    let err = db
        .import_checked(&[bad.path().to_path_buf()], &map, &["kev"], 2)
        .unwrap_err();
    assert!(matches!(err, VulnError::Verify(_)), "{err}");
    assert_eq!(db.status().unwrap()[2].records, 3);
}
