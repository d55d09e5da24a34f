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
    let _ = std::fs::remove_dir_all(&work);
}
