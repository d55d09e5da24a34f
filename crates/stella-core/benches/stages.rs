//! Where a fresh SBOM-first scan spends its time inside Core, stage by stage (read the SBOM,
//! turn it into packages, match, serialise the result, compress it for the store), over the
//! 500 distinct 500-component SBOMs of `bench/run core`, with mimalloc as in `stella`.
//! Prints mean microseconds per SBOM and stage (best of 5 passes: the matcher's memo knows
//! the packages after the first SBOM), and match and serialise with every package new to the
//! matcher (its memo forgotten before each SBOM), and the whole scan with two threads scanning
//! at once, as Core's do on two cores (what they share — the memo, its findings — shows there).
//! Run: `bench/run core` once (it writes the inputs), then `cargo bench -p stella-core --bench stages`.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    unsafe_code,
    missing_docs
)]

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// mimalloc, as in `stella`, with a count of allocations: the steady figure on a noisy
/// machine, and much of what a scan costs.
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
// SAFETY: forwards every call to mimalloc unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(p, l, new) }
    }
}
#[global_allocator]
static A: Counting = Counting;

fn main() {
    let out = PathBuf::from(
        std::env::var("STELLA_BENCH_OUT")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/out").into()),
    );
    let db_path = out.join("all-advisories.db");
    let lines = out.join("sbom-500-distinct.jsonl");
    if !db_path.exists() || !lines.exists() {
        println!("{{\"bench\":\"core_stages\",\"skipped\":\"run bench/run core first\"}}");
        return;
    }
    let db = stella_advisory::Db::open(&db_path).expect("open the DB");
    let bodies: Vec<Vec<u8>> = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    let opts = stella_scan::Options {
        db_max_age_days: 7,
        now: stella_sbom::now(),
        ..stella_scan::Options::default()
    };
    let mut best = [Duration::MAX; 5];
    let mut allocs = [0u64; 5];
    let mut bytes = 0usize;
    let mut findings = 0usize;
    for _pass in 0..5 {
        let mut t = [Duration::ZERO; 5];
        let mut a = [0u64; 5];
        let mut mark = ALLOCS.load(Relaxed);
        let mut count = |i: usize| {
            let now = ALLOCS.load(Relaxed);
            a[i] += now - mark;
            mark = now;
        };
        bytes = 0;
        findings = 0;
        for body in &bodies {
            let s = Instant::now();
            let read = stella_sbom::read(body, None).expect("read");
            t[0] += s.elapsed();
            count(0);
            let s = Instant::now();
            let input = stella_scan::input_from_sbom(read, "request body");
            t[1] += s.elapsed();
            count(1);
            let s = Instant::now();
            let report = stella_scan::scan(&db, input, target(), &opts).expect("scan");
            t[2] += s.elapsed();
            count(2);
            let s = Instant::now();
            let json = serialise(&report);
            t[3] += s.elapsed();
            count(3);
            let s = Instant::now();
            black_box(stella_store::Encoded::compress(&json));
            t[4] += s.elapsed();
            count(4);
            bytes += json.len();
            findings += report.findings.len();
            let s = Instant::now();
            drop(report);
            t[2] += s.elapsed();
            count(2);
        }
        allocs = a;
        for (b, x) in best.iter_mut().zip(t) {
            *b = (*b).min(x);
        }
    }
    // every package new to the matcher: its memo forgotten before each SBOM (best of 3)
    let cold_n = 100;
    let mut cold = [Duration::MAX; 2];
    let mut db = db;
    for _round in 0..3 {
        let mut t = [Duration::ZERO; 2];
        for body in bodies.iter().take(cold_n) {
            db.forget_derived();
            let input =
                stella_scan::input_from_sbom(stella_sbom::read(body, None).unwrap(), "body");
            let s = Instant::now();
            let report = stella_scan::scan(&db, input, target(), &opts).expect("scan");
            t[0] += s.elapsed();
            let s = Instant::now();
            black_box(serialise(&report));
            t[1] += s.elapsed();
            let s = Instant::now();
            drop(report);
            t[0] += s.elapsed();
        }
        for (b, x) in cold.iter_mut().zip(t) {
            *b = (*b).min(x);
        }
    }
    let two = two_threads(&db, &bodies, &opts);
    println!(
        "{{\"bench\":\"core_stages_two_threads\",\"sboms_per_thread\":{},\"one_thread_us\":{},\"two_threads_us\":{}}}",
        bodies.len(),
        two.0.round(),
        two.1.round()
    );
    let n = bodies.len() as f64;
    let us = |d: Duration| (d.as_secs_f64() * 1e6 / n * 10.0).round() / 10.0;
    let total: Duration = best.iter().sum();
    let per = |x: u64| x / bodies.len() as u64;
    println!(
        "{{\"bench\":\"core_stages_allocations\",\"read\":{},\"packages\":{},\"match\":{},\"serialise\":{},\"compress\":{}}}",
        per(allocs[0]),
        per(allocs[1]),
        per(allocs[2]),
        per(allocs[3]),
        per(allocs[4])
    );
    println!(
        "{{\"bench\":\"core_stages_every_package_new\",\"sboms\":{cold_n},\"match_us\":{},\"serialise_us\":{}}}",
        (cold[0].as_secs_f64() * 1e6 / cold_n as f64).round(),
        (cold[1].as_secs_f64() * 1e6 / cold_n as f64).round(),
    );
    println!(
        "{{\"bench\":\"core_stages\",\"sboms\":{},\"findings_per_sbom\":{},\"result_bytes_per_sbom\":{},\"read_us\":{},\"packages_us\":{},\"match_us\":{},\"serialise_us\":{},\"compress_us\":{},\"total_us\":{}}}",
        bodies.len(),
        findings / bodies.len(),
        bytes / bodies.len(),
        us(best[0]),
        us(best[1]),
        us(best[2]),
        us(best[3]),
        us(best[4]),
        us(total)
    );
}

/// Mean microseconds per SBOM for read, match, serialise, drop and compress: one thread alone,
/// then two threads each scanning every SBOM at once (best of 3 rounds each). Two threads in
/// step over the same SBOMs touch the same memo findings' reference counts at once (the
/// counts' cache lines bounce between the cores): with a count per field (13 per finding)
/// that cost them ≈ 25 %, with two per finding (since findings share their data) ≈ 5–10 %.
fn two_threads(
    db: &stella_advisory::Db,
    bodies: &[Vec<u8>],
    opts: &stella_scan::Options,
) -> (f64, f64) {
    let scan_all = || {
        let s = Instant::now();
        for body in bodies {
            let input =
                stella_scan::input_from_sbom(stella_sbom::read(body, None).unwrap(), "body");
            let report = stella_scan::scan(db, input, target(), opts).unwrap();
            let json = serialise(&report);
            drop(report);
            black_box(stella_store::Encoded::compress(&json));
        }
        s.elapsed().as_secs_f64() * 1e6 / bodies.len() as f64
    };
    let mut one = f64::MAX;
    let mut two = f64::MAX;
    for _ in 0..3 {
        one = one.min(scan_all());
        let both = std::thread::scope(|s| {
            let a = s.spawn(scan_all);
            let b = s.spawn(scan_all);
            a.join().unwrap().max(b.join().unwrap())
        });
        two = two.min(both);
    }
    (one, two)
}

fn target() -> stella_scan::Target {
    stella_scan::Target {
        kind: "sbom".into(),
        reference: "bench/app:1".into(),
        digest: None,
    }
}

/// As Core writes a result: compact, into a buffer sized for it.
fn serialise(report: &stella_report::Report) -> Vec<u8> {
    let mut json = Vec::with_capacity(1024 + 1024 * report.findings.len());
    stella_json::to_writer(&mut json, report).unwrap();
    json
}
