//! SBOM read and write figures: a synthetic 10,000-component CycloneDX 1.6 JSON document and
//! the largest real documents of the shared examples. Prints one JSON object per document:
//! median read and write times (of 9 runs) and the peak heap used by a read, measured with
//! a tracking allocator. Run: `cargo bench -p stella-sbom --bench read`.

#![allow(clippy::print_stdout, clippy::unwrap_used, unsafe_code, missing_docs)]

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use mimalloc::MiMalloc;
use stella_sbom::{OutputFormat, WriteOptions};

struct Tracking;
/// Counting is switched off while timing, so the atomics do not inflate the figures.
static TRACK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static CURRENT: AtomicUsize = AtomicUsize::new(0); // wraps harmlessly: reset to 0 before each tracked call
static PEAK: AtomicUsize = AtomicUsize::new(0);
// SAFETY: forwards to mimalloc (the allocator the `stella` binary uses); only keeps counts.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !TRACK.load(Relaxed) {
            return unsafe { MiMalloc.alloc(l) };
        }
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if !TRACK.load(Relaxed) {
            return unsafe { MiMalloc.dealloc(p, l) };
        }
        CURRENT.fetch_sub(l.size(), Relaxed);
        unsafe { MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if !TRACK.load(Relaxed) {
            return unsafe { MiMalloc.realloc(p, l, new) };
        }
        if new > l.size() {
            let now = CURRENT.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            CURRENT.fetch_sub(l.size() - new, Relaxed);
        }
        unsafe { MiMalloc.realloc(p, l, new) }
    }
}
#[global_allocator]
static A: Tracking = Tracking;

pub fn synthetic(n: usize) -> String {
    let mut comps = Vec::with_capacity(n);
    let mut deps = Vec::with_capacity(n);
    for i in 0..n {
        comps.push(format!(
            r#"{{"type":"library","bom-ref":"pkg-{i}","name":"package-{i}","version":"1.{}.{}-r{}","purl":"pkg:apk/alpine/package-{i}@1.{}.{}-r{}?arch=x86_64&distro=alpine-3.19","cpe":"cpe:2.3:a:vendor{i}:package-{i}:1.{}.{}:*:*:*:*:*:*:*","licenses":[{{"license":{{"id":"MIT"}}}}],"hashes":[{{"alg":"SHA-256","content":"{:064x}"}}]}}"#,
            i % 97, i % 13, i % 5, i % 97, i % 13, i % 5, i % 97, i % 13, i
        ));
        deps.push(format!(
            r#"{{"ref":"pkg-{i}","dependsOn":["pkg-{}"]}}"#,
            (i + 1) % n
        ));
    }
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"metadata":{{"timestamp":"2026-11-29T00:00:00Z"}},"components":[{}],"dependencies":[{}]}}"#,
        comps.join(","),
        deps.join(",")
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(name: &str, doc: &[u8]) {
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    TRACK.store(true, Relaxed);
    let r = stella_sbom::read(doc, None).unwrap();
    TRACK.store(false, Relaxed);
    let peak_read = PEAK.load(Relaxed);
    let model_heap = CURRENT.load(Relaxed);
    let mut read_ms = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        black_box(stella_sbom::read(black_box(doc), None).unwrap());
        read_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let opts = WriteOptions {
        timestamp: Some("2026-11-29T00:00:00Z".into()),
        ..WriteOptions::default()
    };
    let mut write_ms = Vec::new();
    let mut out_len = 0;
    for _ in 0..9 {
        let t = Instant::now();
        let out = stella_sbom::write(black_box(&r.sbom), OutputFormat::CycloneDxJson(6), &opts);
        write_ms.push(t.elapsed().as_secs_f64() * 1e3);
        out_len = out.len();
    }
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    TRACK.store(true, Relaxed);
    black_box(stella_sbom::write(
        &r.sbom,
        OutputFormat::CycloneDxJson(6),
        &opts,
    ));
    TRACK.store(false, Relaxed);
    let peak_write = PEAK.load(Relaxed);
    println!(
        "{{\"bench\":\"sbom\",\"document\":\"{name}\",\"format\":\"{}\",\"bytes\":{},\"components\":{},\"read_ms_median\":{:.2},\"write_cdx_json_ms_median\":{:.2},\"written_bytes\":{out_len},\"read_peak_heap_bytes\":{peak_read},\"read_peak_heap_x_doc\":{:.2},\"model_heap_bytes\":{model_heap},\"write_peak_heap_bytes\":{peak_write},\"targets\":\"10k: read<=50ms write<=30ms heap<=5x\"}}",
        r.format.name(),
        doc.len(),
        r.sbom.components.len(),
        median(read_ms),
        median(write_ms),
        peak_read as f64 / doc.len() as f64,
    );
}

fn main() {
    measure("synthetic-10000.cdx.json", synthetic(10_000).as_bytes());
    let dir = std::env::var("STELLA_SHARED_DATA")
        .unwrap_or_else(|_| format!("{}/../../../shared/data", env!("CARGO_MANIFEST_DIR")));
    for rel in [
        "sbom/cyclonedx/examples/SBOM/keycloak-10.0.2/bom.json",
        "sbom/cyclonedx/examples/SBOM/keycloak-10.0.2/bom.xml",
        "sbom/cyclonedx/examples/SBOM/juice-shop/via_npm/bare/bom.1.4.json",
        "sbom/cyclonedx/examples/SBOM/juice-shop/via_npm/bare/bom.1.4.xml",
    ] {
        let p = std::path::Path::new(&dir).join(rel);
        match std::fs::read(&p) {
            Ok(b) => measure(rel, &b),
            Err(_) => println!(
                "{{\"bench\":\"sbom\",\"document\":\"{rel}\",\"skipped\":\"absent: set STELLA_SHARED_DATA\"}}"
            ),
        }
    }
}
