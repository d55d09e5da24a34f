//! Operating Core: TLS from a certificate and key, Prometheus metrics, JSON request logs,
//! slow clients dropped, and bad TLS material refused with a clear error.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::process::Command;

use common::*;

#[test]
fn tls_metrics_logs_and_slow_clients() {
    if !have("openssl", "version") || !have("curl", "--version") {
        eprintln!("SKIP: openssl and curl are needed");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let (cert, key) = (work.path().join("cert.pem"), work.path().join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = serve(
        &work.path().join("data"),
        &db,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--header-timeout-secs",
            "1",
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "--cacert", cert.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(curl(&[&format!("{}/healthz", server.url)]), "ok\n");
    let secret = std::fs::read_to_string(server.data.join("admin.secret")).unwrap();
    let tok: serde_json::Value = serde_json::from_str(&curl(&[
        "-d",
        &format!(
            "grant_type=client_credentials&client_id=admin&client_secret={}",
            secret.trim()
        ),
        &format!("{}/connect/token", server.url),
    ]))
    .unwrap();
    let auth = format!(
        "Authorization: Bearer {}",
        tok["access_token"].as_str().unwrap()
    );
    let sbom = work.path().join("sbom.json");
    std::fs::write(&sbom, memcached_sbom()).unwrap();
    let result: serde_json::Value = serde_json::from_str(&curl(&[
        "-H",
        &auth,
        "--data-binary",
        &format!("@{}", sbom.display()),
        &format!("{}/api/v1/scan?wait=true", server.url),
    ]))
    .unwrap();
    assert_eq!(result["findings"].as_array().unwrap().len(), 2);
    // plain HTTP on the TLS port is no request
    let plain = server.url.replace("https://", "http://");
    let out = Command::new("curl")
        .args(["-sS", "-m", "5", &format!("{plain}/healthz")])
        .output()
        .unwrap();
    assert!(!out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("ok"));

    // Prometheus exposition
    let m = curl(&[&format!("{}/metrics", server.url)]);
    for needle in [
        "# TYPE stella_http_request_duration_seconds histogram",
        "stella_http_request_duration_seconds_bucket{route=\"scan\",le=\"+Inf\"} 1",
        "stella_scans_total 1",
        "stella_scan_verdicts_total{verdict=\"WARN\"}",
        "stella_queue_depth 0",
        "stella_quota_rejections_total 0",
        "stella_db_age_seconds ",
    ] {
        assert!(m.contains(needle), "{needle} in\n{m}");
    }
    if scaled() {
        // Redis and PostgreSQL commit on their own: no embedded-store figures
        assert!(!m.contains("stella_store_commit"), "{m}");
    } else {
        store_commits(&m);
    }

    // a client that never finishes its headers is dropped after --header-timeout-secs
    {
        use std::io::{Read as _, Write as _};
        let addr = server.url.trim_start_matches("https://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        // a TLS ClientHello never sent either: the handshake deadline closes it
        s.write_all(b"\x16\x03\x01").unwrap();
        let t = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed");
        assert!(
            t.elapsed().as_secs() < 14,
            "dropped by a deadline, not the test's timeout"
        );
    }
    stop_keep_log(server, |log| {
        // JSON request logs: one object per line with method, path, status, latency, caller
        let reqs: Vec<serde_json::Value> = log
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == "request")
            .collect();
        let scan = reqs
            .iter()
            .find(|v| v["path"] == "/api/v1/scan")
            .unwrap_or_else(|| panic!("no scan request logged in {log:?}"));
        assert_eq!(scan["status"], 200);
        assert_eq!(scan["who"], "client:admin");
        assert!(scan["ms"].as_f64().unwrap() > 0.0);
        assert_eq!(scan["level"], "INFO");
    });
}

#[test]
fn slow_plain_clients_are_dropped_and_bad_tls_material_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(
        &work.path().join("data"),
        &db,
        &["--header-timeout-secs", "1"],
    );
    {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(t.elapsed().as_secs() < 14, "dropped by the header deadline");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    stop(server);
    let junk = work.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = stella()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(work.path().join("d2"))
        .arg("--db")
        .arg(&db)
        .arg("--tls-cert")
        .arg(&junk)
        .arg("--tls-key")
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.pem"), "{err}");
}

/// The embedded store's commits in `/metrics`: the scan's result was committed (and, before
/// it, the server's own writes).
fn store_commits(m: &str) {
    assert!(
        m.contains("# TYPE stella_store_commit_duration_seconds histogram"),
        "{m}"
    );
    let count = |name: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{m}"))
    };
    let commits = count("stella_store_commit_duration_seconds_count");
    assert!(commits >= 1, "{m}");
    assert!(
        count("stella_store_committed_writes_total") >= commits,
        "{m}"
    );
}
