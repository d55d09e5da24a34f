//! Reads a synthetic 10,000-component CycloneDX 1.6 JSON document; prints JSON figures
//! (median of 9 runs). Run: `cargo bench -p stella-sbom --bench read`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

fn synthetic(n: usize) -> String {
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

fn main() {
    let doc = synthetic(10_000);
    let mut ms = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let r = stella_sbom::read(black_box(doc.as_bytes()), None).unwrap();
        black_box(&r);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.sbom.components.len(), 10_000);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "{{\"bench\":\"cyclonedx_json_read\",\"components\":10000,\"bytes\":{},\"median_ms\":{:.2},\"min_ms\":{:.2},\"target_ms\":50}}",
        doc.len(),
        ms[4],
        ms[0]
    );
}
