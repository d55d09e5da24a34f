//! Signing and verifying the SBOM attestation of a 1,000-component CycloneDX SBOM, Ed25519 and
//! ECDSA P-256, in-process. Prints JSON figures (medians). Run: `bench/run attest`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use stella_attest::{
    Algorithm, Envelope, IN_TOTO_PAYLOAD_TYPE, SigningKey, Statement, Subject, predicate,
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A CycloneDX 1.6 SBOM shaped as `stella sbom` writes one for a Debian image with Python
/// packages: purl, licences, the layer each package came from.
fn sbom(n: usize) -> Vec<u8> {
    let comps: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (name, version, purl) = if i % 2 == 0 {
                let name = format!("libexample{i}");
                let v = format!("1.{i}.3-2+deb12u1");
                let p = format!("pkg:deb/debian/{name}@{v}?arch=amd64&distro=debian-12");
                (name, v, p)
            } else {
                let name = format!("example-{i}");
                let v = format!("2.{i}.0");
                let p = format!("pkg:pypi/{name}@{v}");
                (name, v, p)
            };
            serde_json::json!({
                "type": "library",
                "bom-ref": purl,
                "name": name,
                "version": version,
                "purl": purl,
                "licenses": [{"license": {"id": "MIT"}}],
                "properties": [
                    {"name": "stella:layer", "value": format!("sha256:{:064x}", i % 7)},
                    {"name": "stella:path", "value": format!("/usr/lib/python3/dist-packages/{name}")}
                ]
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"component": {"type": "container", "name": "registry.example/app", "version": "sha256:0123"}},
        "components": comps,
    }))
    .unwrap()
}

fn main() {
    let doc = sbom(1000);
    let subject = [Subject::sha256(
        "registry.example/app",
        "sha256:1f0b2e6e3c9d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d",
    )];
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256] {
        let key = SigningKey::generate(alg).unwrap();
        let trusted = [key.public().clone()];
        let mut sign_ms = Vec::new();
        let mut verify_ms = Vec::new();
        let mut envelope = String::new();
        for _ in 0..201 {
            let t = Instant::now();
            let st = Statement::encode(&subject, predicate::CYCLONEDX, &doc).unwrap();
            let e = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &st, &[&key]).unwrap();
            envelope = e.to_json();
            sign_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let e = Envelope::from_json(envelope.as_bytes()).unwrap();
            let v = e.verify(&trusted, 1).unwrap();
            let st = Statement::parse(&v.payload).unwrap();
            assert!(st.covers(None, &subject[0].digest["sha256"]));
            black_box(st);
            verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "{{\"bench\":\"attest\",\"algorithm\":\"{}\",\"sbom_components\":1000,\"sbom_bytes\":{},\"envelope_bytes\":{},\"sign_ms\":{:.3},\"verify_ms\":{:.3},\"target_ms\":2}}",
            alg.name(),
            doc.len(),
            envelope.len(),
            median(sign_ms),
            median(verify_ms)
        );
    }
}
