//! Comparisons per second on pre-parsed versions, and heap allocations per parse.
//! Prints one JSON object per scheme (median of 7 runs). Run: `cargo bench -p stella-version`.

#![allow(clippy::print_stdout, clippy::unwrap_used, unsafe_code, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use stella_version::apk::ApkVersion;
use stella_version::dpkg::DpkgVersion;
use stella_version::rpm::RpmVersion;
use stella_version::semver::SemVer;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Counting = Counting;

fn versions(file: &str) -> Vec<String> {
    let path = format!("{}/testdata/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for c in stella_version::parse_vectors(&text).unwrap() {
        out.push(c.a);
        out.push(c.b);
    }
    out
}

fn bench<T: Ord>(name: &str, parsed: &[T], allocs_per_parse: f64) {
    let n = parsed.len();
    let rounds = 20_000_000 / (n * n).max(1) + 1;
    let mut rates = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let mut count = 0u64;
        let mut acc = 0i64;
        for _ in 0..rounds {
            for a in parsed {
                for b in parsed {
                    acc += black_box(a).cmp(black_box(b)) as i64;
                    count += 1;
                }
            }
        }
        black_box(acc);
        rates.push(count as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{{\"bench\":\"version_compare\",\"scheme\":\"{name}\",\"versions\":{n},\"compares_per_sec_median\":{:.0},\"compares_per_sec_min\":{:.0},\"allocs_per_parse\":{allocs_per_parse}}}",
        rates[3], rates[0]
    );
}

fn allocs<F: Fn(&str)>(vs: &[String], f: F) -> f64 {
    let before = ALLOCS.load(Relaxed);
    for v in vs {
        f(v);
    }
    (ALLOCS.load(Relaxed) - before) as f64 / vs.len() as f64
}

fn main() {
    let deb = versions("debian-versions.txt");
    let apk: Vec<String> = versions("alpine-versions.txt");
    let sem = versions("semver-versions.txt");
    let rpm = versions("redhat-versions.txt");

    let a = allocs(&deb, |v| drop(black_box(DpkgVersion::parse(v))));
    let p: Vec<_> = deb
        .iter()
        .filter_map(|v| DpkgVersion::parse(v).ok())
        .collect();
    bench("dpkg", &p, a);

    let valid: Vec<&String> = apk
        .iter()
        .filter(|v| ApkVersion::parse_strict(v).is_ok())
        .take(200)
        .collect();
    let owned: Vec<String> = valid.into_iter().cloned().collect();
    let a = allocs(&owned, |v| drop(black_box(ApkVersion::parse(v))));
    let p: Vec<_> = owned
        .iter()
        .map(|v| ApkVersion::parse(v).unwrap())
        .collect();
    bench("apk", &p, a);

    let a = allocs(&sem, |v| drop(black_box(SemVer::parse_loose(v))));
    let p: Vec<_> = sem
        .iter()
        .filter_map(|v| SemVer::parse_loose(v).ok())
        .collect();
    bench("semver", &p, a);

    let a = allocs(&rpm, |v| drop(black_box(RpmVersion::parse(v))));
    let p: Vec<_> = rpm
        .iter()
        .filter_map(|v| RpmVersion::parse(v).ok())
        .collect();
    bench("rpm", &p, a);
}
