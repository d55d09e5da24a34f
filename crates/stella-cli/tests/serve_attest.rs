//! Core's Attestor end to end: a stored scan signed by Core's own key (kept across restarts,
//! rotated, published), verified by `stella attest verify` with the key Core publishes.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::path::Path;

use common::*;

fn call(
    url: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut r = ureq::request(method, &format!("{url}{path}"));
    if let Some(a) = auth {
        r = r.set("Authorization", a);
    }
    let res = match body {
        Some(b) => r.set("Content-Type", "application/json").send_string(b),
        None => r.call(),
    };
    let (code, _, text) = status_of(res);
    (code, text)
}

const DIGEST: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

/// An image scan (Delta-SBOM: one empty layer fragment), filed with its digest.
fn image_scan(url: &str, auth: &str) -> String {
    let layer = format!("sha256:{}", "b".repeat(64));
    let fragment = serde_json::json!({
        "diff_id": layer, "catalogers": stella_catalog::CATALOGERS, "locations": {}, "os": {},
        "whiteouts": [], "opaque": [], "warnings": [],
    });
    let (code, text) = call(
        url,
        "PUT",
        &format!("/api/v1/layers/{layer}/sbom"),
        Some(auth),
        Some(&fragment.to_string()),
    );
    assert_eq!(code, 204, "{text}");
    let body = serde_json::json!({"image": {"reference": "registry.example/shop:1.4", "digest": DIGEST, "layers": [layer]}});
    stored_scan(url, auth, &body.to_string())
}

/// Scans `body` and returns the stored scan's id (from `Content-Location`).
fn stored_scan(url: &str, auth: &str, body: &str) -> String {
    let r = response(
        ureq::post(&format!("{url}/api/v1/scan?wait=true"))
            .set("Authorization", auth)
            .set("Content-Type", "application/json")
            .send_string(body),
    );
    assert_eq!(r.status(), 200);
    let location = r
        .header("Content-Location")
        .expect("a stored result names itself")
        .to_string();
    location.rsplit('/').next().unwrap().to_string()
}

fn published_keys(url: &str) -> serde_json::Value {
    // public, as /jwks is: verifiers need no token
    let (code, text) = call(url, "GET", "/api/v1/attest/keys", None, None);
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn verify(dir: &Path, key_pem: &str, att: &str, extra: &[&str]) -> (i32, String) {
    let k = dir.join("core.pub");
    std::fs::write(&k, key_pem).unwrap();
    let a = dir.join("att.json");
    std::fs::write(&a, att).unwrap();
    let out = stella()
        .args(["attest", "verify", "--key"])
        .arg(&k)
        .args(extra)
        .arg(&a)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn core_signs_stored_scans_with_a_key_it_keeps_rotates_and_publishes() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let db = secdb_db(d);
    let data = d.join("data");
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let scan = image_scan(&url, &auth);
    let (code, text) = call(
        &url,
        "GET",
        &format!("/api/v1/scans/{scan}"),
        Some(&auth),
        None,
    );
    assert_eq!(code, 200, "the stored scan: {text}");

    let keys = published_keys(&url);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    let first_key = keys["keys"][0]["publicKey"].as_str().unwrap().to_string();
    assert_eq!(keys["keys"][0]["algorithm"], "ecdsa-p256");
    assert_eq!(keys["keys"][0]["active"], true);

    let (code, att) = call(
        &url,
        "POST",
        "/api/v1/attest",
        Some(&auth),
        Some(&format!(r#"{{"scan":"{scan}"}}"#)),
    );
    assert_eq!(code, 200, "{att}");
    let subject = format!("registry.example/shop@{DIGEST}");
    let (code, out) = verify(
        d,
        &first_key,
        &att,
        &["--type", "vuln", "--subject", &subject],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("https://stella-ops.org/attestation/scan-result/v1"),
        "{out}"
    );

    let (code, bundle) = call(
        &url,
        "POST",
        "/api/v1/attest?format=bundle",
        Some(&auth),
        Some(&format!(r#"{{"scan":"{scan}","type":"slsa"}}"#)),
    );
    assert_eq!(code, 200, "{bundle}");
    assert!(bundle.contains("application/vnd.dev.sigstore.bundle.v0.3+json"));
    let (code, out) = verify(d, &first_key, &bundle, &["--type", "slsa"]);
    assert_eq!(code, 0, "{out}");

    // what Core will not sign, and why
    let sbom_id = stored_scan(&url, &auth, &memcached_sbom());
    for (body, want, says) in [
        (format!(r#"{{"scan":"{sbom_id}"}}"#), 422, "no digest"),
        (
            r#"{"scan":"0123456789abcdef"}"#.to_string(),
            404,
            "no stored scan",
        ),
        (
            format!(r#"{{"scan":"{scan}","type":"sbom"}}"#),
            400,
            "stella attest sign",
        ),
        (r#"{"image":"x"}"#.to_string(), 400, "scan"),
    ] {
        let (code, text) = call(&url, "POST", "/api/v1/attest", Some(&auth), Some(&body));
        assert_eq!(code, want, "{body}: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    let (code, _) = call(
        &url,
        "POST",
        "/api/v1/attest",
        None,
        Some(&format!(r#"{{"scan":"{scan}"}}"#)),
    );
    assert_eq!(code, 401, "a token is needed to have Core sign");

    // the key survives a restart
    stop(server);
    let server = serve(&data, &db, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    assert_eq!(
        published_keys(&url)["keys"][0]["publicKey"],
        first_key.as_str()
    );

    // rotation: a new key signs, the old one stays published and its signatures still verify
    let (code, rotated) = call(
        &url,
        "POST",
        "/api/v1/attest/keys/rotate",
        Some(&auth),
        None,
    );
    assert_eq!(code, 200, "{rotated}");
    let keys = published_keys(&url);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(keys["keys"][0]["active"], false);
    assert_eq!(keys["keys"][1]["active"], true);
    let second_key = keys["keys"][1]["publicKey"].as_str().unwrap().to_string();
    assert_ne!(first_key, second_key);
    let (code, newer) = call(
        &url,
        "POST",
        "/api/v1/attest",
        Some(&auth),
        Some(&format!(r#"{{"scan":"{scan}"}}"#)),
    );
    assert_eq!(code, 200, "{newer}");
    assert_eq!(verify(d, &second_key, &newer, &[]).0, 0);
    assert_eq!(
        verify(d, &first_key, &newer, &[]).0,
        1,
        "signed by the new key only"
    );
    assert_eq!(
        verify(d, &first_key, &att, &[]).0,
        0,
        "earlier attestations keep verifying"
    );

    // the audit log says who had Core sign what
    let (code, audit) = call(&url, "GET", "/api/v1/audit", Some(&auth), None);
    assert_eq!(code, 200);
    assert!(
        audit.contains("\"attest\"") && audit.contains(&scan),
        "{audit}"
    );
    stop(server);
}
