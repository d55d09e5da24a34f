//! The README's quick start, as written: `stella serve` with no DB starts on the bundled
//! advisory snapshot, and `stella scan sbom:examples/python-app.cdx.json --server URL` with the
//! first-start admin credentials finds the example's vulnerabilities.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::process::Command;

#[test]
fn serve_on_the_bundled_snapshot_and_scan_the_example() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("stella-data");
    // no --db: the bundled snapshot
    let server = common::spawn_server(common::serve_command(&data), &data);
    let url = server.url.clone();
    let said = server.log.lock().unwrap().clone();
    assert!(
        said.iter().any(|l| l.contains("bundled advisory snapshot")),
        "{said:?}"
    );
    let secret = std::fs::read_to_string(data.join("admin.secret")).unwrap();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/python-app.cdx.json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args([
            "scan",
            &format!("sbom:{example}"),
            "--server",
            &url,
            "-f",
            "json",
        ])
        .env("STELLA_CLIENT_ID", "admin")
        .env("STELLA_CLIENT_SECRET", secret.trim())
        .env_remove("STELLA_TOKEN")
        .env_remove("STELLA_DB")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Core's default policy: fixable highs (requests, urllib3…) fail the build, not a
    // silent WARN
    assert_eq!(out.status.code(), Some(1), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"]["status"], "FAIL", "{}", v["verdict"]);
    assert!(
        v["verdict"]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("rule `fixable-critical-or-high` (deny)"),
        "{}",
        v["verdict"]
    );
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["vulnerabilityId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 38, "{ids:?}");
    assert!(ids.contains(&"CVE-2023-32681"), "requests 2.19.0: {ids:?}");
    // the snapshot is old and the scan says so
    assert!(
        v["warnings"].to_string().contains("old") || err.contains("old"),
        "{}",
        v["warnings"]
    );
    common::stop(server);
}
