//! Import of every shared advisory feed, DB open time, and (namespace, package) lookups.
//! Prints JSON figures (medians). Run: `cargo bench -p stella-advisory --bench db`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use stella_advisory::import::import;
use stella_advisory::{Db, DbBuilder};

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
            "{{\"bench\":\"db\",\"skipped\":\"{} absent: set STELLA_SHARED_DATA\"}}",
            src.display()
        );
        return;
    }
    let out = std::env::temp_dir().join(format!("stella-bench-{}.db", std::process::id()));
    let mut import_ms = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut b = DbBuilder::new();
        import(
            &mut b,
            None,
            std::slice::from_ref(&src),
            "2026-11-29T00:00:00Z",
        )
        .unwrap();
        b.write(&out, "2026-11-29T00:00:00Z").unwrap();
        import_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let zipped = zipped_size(&src);
    let mut open_us = Vec::new();
    for _ in 0..101 {
        let t = Instant::now();
        let db = Db::open(&out).unwrap();
        black_box(db.manifest().packages);
        open_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let db = Db::open(&out).unwrap();
    let keys: Vec<(String, String)> = db
        .all_packages()
        .unwrap()
        .into_iter()
        .map(|(n, p, _)| (n, p))
        .collect();
    // raw lookup (binary search to the record) and decoded lookup, over every key
    let mut raw_ns = Vec::new();
    let mut decoded_ns = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for (n, p) in &keys {
            black_box(db.package_record(n, p));
        }
        raw_ns.push(t.elapsed().as_secs_f64() * 1e9 / keys.len() as f64);
        let t = Instant::now();
        for (n, p) in &keys {
            black_box(db.package(n, p).unwrap());
        }
        decoded_ns.push(t.elapsed().as_secs_f64() * 1e9 / keys.len() as f64);
    }
    let t = Instant::now();
    db.verify().unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"bench\":\"db\",\"import_all_shared_ms_median\":{:.0},\"db_bytes\":{},\"sources_zipped_bytes\":{zipped},\"open_us_median\":{:.1},\"lookup_raw_ns_mean\":{:.0},\"lookup_decoded_ns_mean\":{:.0},\"keys\":{},\"verify_digest_ms\":{verify_ms:.1},\"targets\":\"import<=10s open<=5ms lookup<=2us db<=zipped sources\"}}",
        median(import_ms),
        db.len(),
        median(open_us),
        median(raw_ns),
        median(decoded_ns),
        keys.len()
    );
    let _ = std::fs::remove_file(&out);
}

/// The size of one zip archive (deflate) of every source file under `dir`: what "no larger
/// than the zipped sources" is measured against.
fn zipped_size(dir: &Path) -> u64 {
    use std::io::Write as _;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        let name = f.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        w.start_file(name, opts).unwrap();
        w.write_all(&std::fs::read(&f).unwrap()).unwrap();
    }
    w.finish().unwrap().into_inner().len() as u64
}
