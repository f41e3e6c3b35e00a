//! Import speed on an OSV archive the size of Debian's (`Debian/all.zip`: tens of
//! thousands of DEBIAN-CVE, DSA and DLA records with ranges per release). A benchmark,
//! not a test: run with
//! `cargo run --release -p scantriage-vuln --example bulk_import`
//! (`SCANTRIAGE_BULK_RECORDS` changes the record count, default 80,000).

use scantriage_vuln::{PackageMap, VulnDb};
use std::io::Write;
use std::time::Instant;

fn record(i: usize) -> String {
    let pkg = format!("package{}", i % 6000);
    let year = 2000 + i % 26;
    let id = match i % 10 {
        0 => format!("DSA-{}-1", 1000 + i),
        1 => format!("DLA-{}-1", 1000 + i),
        _ => format!("DEBIAN-CVE-{year}-{}", 10000 + i),
    };
    let affected: Vec<String> = ["11", "12", "13", "14"]
        .iter()
        .map(|rel| {
            format!(
                r#"{{"package": {{"name": "{pkg}", "ecosystem": "Debian:{rel}", "purl": "pkg:deb/debian/{pkg}?arch=source"}}, "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{}.{}.{}-{}+deb{rel}u1"}}]}}], "ecosystem_specific": {{"urgency": "not yet assigned"}}}}"#,
                i % 9 + 1,
                i % 17,
                i % 5,
                i % 4 + 1
            )
        })
        .collect();
    format!(
        r#"{{"id": "{id}", "modified": "2025-08-{:02}T10:00:00Z", "published": "{year}-03-01T12:00:00Z", "upstream": ["CVE-{year}-{}"], "details": "A flaw was found in {pkg} that allows a remote attacker to cause a denial of service or possibly execute arbitrary code via a crafted request; this text is about as long as a typical Debian advisory description in the archive.", "affected": [{}], "schema_version": "1.7.0"}}"#,
        i % 28 + 1,
        10000 + i,
        affected.join(", ")
    )
}

fn main() {
    let n: usize = std::env::var("SCANTRIAGE_BULK_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(80_000);
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("all.zip");
    let t = Instant::now();
    {
        let f = std::fs::File::create(&zpath).unwrap();
        let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..n {
            let r = record(i);
            let id = r[8..r[8..].find('"').unwrap() + 8].to_string();
            z.start_file(format!("{id}.json"), opts).unwrap();
            z.write_all(r.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    let size = std::fs::metadata(&zpath).unwrap().len();
    eprintln!(
        "generated {n} records, {:.1} MB zip, in {:.1}s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let db_path = dir.path().join("v.db");
    let mut db = VulnDb::open(&db_path).unwrap();
    let t = Instant::now();
    let s = db
        .import(std::slice::from_ref(&zpath), &PackageMap::default(), &[], 1)
        .unwrap();
    let first = t.elapsed().as_secs_f64();
    eprintln!(
        "first import: {} advisories, {} ranges in {first:.1}s",
        s.advisories["osv"], s.ranges
    );
    assert_eq!(s.advisories["osv"], n as u64);
    let t = Instant::now();
    db.import(&[zpath], &PackageMap::default(), &["osv"], 2)
        .unwrap();
    let again = t.elapsed().as_secs_f64();
    eprintln!("replacing import (update path): {again:.1}s");
    let t = Instant::now();
    let hits = db.advisories_for_cve("CVE-2010-10010").unwrap();
    eprintln!("CVE lookup: {:?} in {:?}", hits, t.elapsed());
    assert!(
        first < 60.0 && again < 60.0,
        "import must take under a minute"
    );
}
