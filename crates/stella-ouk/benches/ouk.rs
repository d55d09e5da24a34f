//! Offline Update Kits of the DB of every shared advisory: build, verify and import times,
//! and the kit's size against the DB's. Prints JSON figures (medians). Run: `bench/run ouk`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::time::Instant;

use stella_advisory::DbBuilder;
use stella_advisory::import::import;
use stella_attest::{Algorithm, SigningKey};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::var("STELLA_SHARED_DATA")
        .unwrap_or_else(|_| format!("{}/../../../shared/data", env!("CARGO_MANIFEST_DIR")));
    let src = Path::new(&dir).join("advisories");
    if !src.is_dir() {
        println!(
            "{{\"bench\":\"ouk\",\"skipped\":\"{} absent: set STELLA_SHARED_DATA\"}}",
            src.display()
        );
        return;
    }
    let work = std::env::temp_dir().join(format!("stella-bench-ouk-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let db = work.join("all.db");
    let mut b = DbBuilder::new();
    import(
        &mut b,
        None,
        std::slice::from_ref(&src),
        "2026-12-01T00:00:00Z",
    )
    .unwrap();
    b.write(&db, "2026-12-01T00:00:00Z").unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
    let trusted = [key.public().clone()];
    let kit = work.join("kit.tar");
    let (mut build_ms, mut verify_ms, mut import_ms) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        let t = Instant::now();
        stella_ouk::build(
            &stella_ouk::Build {
                db: &db,
                tokens: Vec::new(),
                installation: None,
                created: "2026-12-01T00:00:00Z".into(),
                now: 0,
                base: None,
            },
            &key,
            &kit,
        )
        .unwrap();
        build_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        stella_ouk::verify(&kit, &trusted, None).unwrap();
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let target = work.join(format!("installed-{i}.db"));
        let t = Instant::now();
        let r = stella_ouk::import_db(&kit, &trusted, &target, None, false).unwrap();
        import_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(r.changed);
    }
    let db_bytes = std::fs::metadata(&db).unwrap().len();
    let kit_bytes = std::fs::metadata(&kit).unwrap().len();
    println!(
        "{{\"bench\":\"ouk\",\"db_bytes\":{db_bytes},\"kit_bytes\":{kit_bytes},\"build_ms\":{:.1},\"verify_ms\":{:.1},\"import_ms\":{:.1},\"target_ms\":10000}}",
        median(build_ms),
        median(verify_ms),
        median(import_ms)
    );

    // the next day: 1 % of the DB's vulnerabilities published anew (OSV records over the
    // ecosystems the DB has), rebuilt from all feeds as the nightly merge does
    let vulns = stella_advisory::Db::open(&db)
        .unwrap()
        .manifest()
        .vulnerabilities;
    let new_records = (vulns / 100).max(1);
    let day2 = work.join("day2");
    std::fs::create_dir_all(&day2).unwrap();
    let ecosystems = ["PyPI", "npm", "Go", "Maven", "crates.io", "RubyGems"];
    for i in 0..new_records {
        let eco = ecosystems[i as usize % ecosystems.len()];
        let rec = serde_json::json!({
            "id": format!("BENCH-2026-{i:05}"),
            "modified": "2026-12-02T00:00:00Z",
            "published": "2026-12-02T00:00:00Z",
            "aliases": [format!("CVE-2026-9{i:04}")],
            "summary": format!("a vulnerability published on day two, number {i}"),
            "affected": [{
                "package": {"ecosystem": eco, "name": format!("package-{i}")},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": format!("1.{i}.0")}]}]
            }]
        });
        std::fs::write(day2.join(format!("BENCH-{i}.json")), rec.to_string()).unwrap();
    }
    let db2 = work.join("day2.db");
    let mut b = DbBuilder::new();
    import(
        &mut b,
        None,
        &[src.clone(), day2.clone()],
        "2026-12-02T00:00:00Z",
    )
    .unwrap();
    b.write(&db2, "2026-12-02T00:00:00Z").unwrap();
    let (mut full_bytes, mut delta_bytes, mut delta_build_ms, mut delta_import_ms) =
        (0, 0, Vec::new(), Vec::new());
    for i in 0..3 {
        let full = work.join("full2.tar");
        stella_ouk::build(
            &stella_ouk::Build {
                db: &db2,
                tokens: Vec::new(),
                installation: None,
                created: "2026-12-02T00:00:00Z".into(),
                now: 0,
                base: None,
            },
            &key,
            &full,
        )
        .unwrap();
        full_bytes = std::fs::metadata(&full).unwrap().len();
        let delta = work.join("delta2.tar");
        let t = Instant::now();
        stella_ouk::build(
            &stella_ouk::Build {
                db: &db2,
                tokens: Vec::new(),
                installation: None,
                created: "2026-12-02T00:00:00Z".into(),
                now: 0,
                base: Some(&db),
            },
            &key,
            &delta,
        )
        .unwrap();
        delta_build_ms.push(t.elapsed().as_secs_f64() * 1e3);
        delta_bytes = std::fs::metadata(&delta).unwrap().len();
        let site = work.join(format!("site-{i}.db"));
        std::fs::copy(&db, &site).unwrap();
        let t = Instant::now();
        stella_ouk::import_db(&delta, &trusted, &site, None, false).unwrap();
        delta_import_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(std::fs::read(&site).unwrap(), std::fs::read(&db2).unwrap());
    }
    println!(
        "{{\"bench\":\"ouk-delta\",\"vulnerabilities\":{vulns},\"new_records\":{new_records},\"full_kit_bytes\":{full_bytes},\"delta_kit_bytes\":{delta_bytes},\"ratio\":{:.4},\"delta_build_ms\":{:.1},\"delta_import_ms\":{:.1},\"target_ratio\":0.10}}",
        delta_bytes as f64 / full_bytes as f64,
        median(delta_build_ms),
        median(delta_import_ms)
    );
    let _ = std::fs::remove_dir_all(&work);
}
