//! The scheduler's jobs end to end against a real `stella serve`: feeds served over HTTP by
//! the test, a feed merge that adds a critical advisory for a package a stored SBOM holds,
//! the re-scan after it that files the image under new criticals and sends the signed
//! webhook (checked with Python's own HMAC), and a failing feed that is retried and leaves
//! the DB in use as it was.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::*;

/// A request the test server received: (method, path, headers lower-cased, body).
type Received = (String, String, Vec<(String, String)>, Vec<u8>);

/// Serves files of `dir` on GET and records POSTs (the webhook's receiver).
fn http_server(dir: PathBuf) -> (String, Arc<Mutex<Vec<Received>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            let reply = if method == "GET" {
                match std::fs::read(dir.join(path.trim_start_matches('/'))) {
                    Ok(b) => {
                        let mut v = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            b.len()
                        )
                        .into_bytes();
                        v.extend_from_slice(&b);
                        v
                    }
                    Err(_) => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                }
            } else {
                let mut got = g.lock().unwrap();
                got.push((method, path, headers, body));
                // the receiver is busy the first time: the delivery is tried again
                if got.len() == 1 {
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
                } else {
                    b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec()
                }
            };
            let _ = s.write_all(&reply);
        }
    });
    (url, got)
}

fn osv(id: &str, cve: &str, vector: &str, summary: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2026-11-01T00:00:00Z","published":"2026-10-01T00:00:00Z","aliases":["{cve}"],"summary":"{summary}","severity":[{{"type":"CVSS_V3","score":"{vector}"}}],"affected":[{{"package":{{"ecosystem":"PyPI","name":"example-pkg"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"2.0"}}]}}]}}]}}"#
    )
}

fn get(url: &str, auth: &str, path: &str) -> serde_json::Value {
    let (code, _, text) = status_of(
        ureq::get(&format!("{url}{path}"))
            .set("Authorization", auth)
            .call(),
    );
    assert_eq!(code, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Waits for a finished run of `job` beyond the first `seen`.
fn wait_run(url: &str, auth: &str, job: &str, seen: usize) -> serde_json::Value {
    for _ in 0..600 {
        let runs = get(url, auth, &format!("/api/v1/jobs/runs?job={job}"))["runs"].clone();
        let runs = runs.as_array().unwrap();
        let done: Vec<_> = runs.iter().filter(|r| r["outcome"] != "running").collect();
        if done.len() > seen {
            return done[0].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no {job} run finished");
}

#[test]
fn feed_merge_then_rescan_files_new_criticals_and_signs_the_webhook() {
    let work = tempfile::tempdir().unwrap();
    let feeds = work.path().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    let low = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";
    let critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    std::fs::write(
        feeds.join("a.json"),
        osv("GHSA-aaaa-aaaa-aaaa", "CVE-2026-1001", low, "a minor leak"),
    )
    .unwrap();
    let (feed_url, received) = http_server(feeds.clone());
    let config = |sources: &[(&str, &str)]| {
        let s: Vec<String> = sources
            .iter()
            .map(|(n, u)| format!(r#"{{"name":"{n}","url":"{u}","format":"osv"}}"#))
            .collect();
        format!(r#"{{"sources":[{}]}}"#, s.join(","))
    };
    // the DB Core starts with: feed a only
    let first = work.path().join("first.json");
    std::fs::write(&first, config(&[("pypi-a", &format!("{feed_url}/a.json"))])).unwrap();
    let db = work.path().join("advisories.db");
    let out = stella()
        .args(["db", "update", "--config"])
        .arg(&first)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Core's nightly feeds: a and b (b is published later)
    let nightly = work.path().join("nightly.json");
    std::fs::write(
        &nightly,
        config(&[
            ("pypi-a", &format!("{feed_url}/a.json")),
            ("pypi-b", &format!("{feed_url}/b.json")),
        ]),
    )
    .unwrap();
    let data = work.path().join("data");
    let server = serve(
        &data,
        &db,
        &[
            "--feeds",
            nightly.to_str().unwrap(),
            "--feeds-cron",
            "off",
            "--job-retries",
            "1",
            "--job-backoff-secs",
            "0",
            "--webhook",
            &format!("{feed_url}/hook"),
            "--webhook-secret",
            "s3cret-key",
            "--rescan-label",
            "env=prod",
        ],
    );
    let auth = admin_bearer(&server);
    let url = server.url.clone();
    let sbom = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","bom-ref":"p","name":"example-pkg","version":"1.0","purl":"pkg:pypi/example-pkg@1.0"}]}"#;
    let scan = |query: &str| {
        status_of(
            ureq::post(&format!("{url}/api/v1/scan?wait=true&{query}"))
                .set("Authorization", &auth)
                .set("Content-Type", "application/json")
                .send_string(sbom),
        )
    };
    let (code, _, text) = scan("image=app:1&labels=env=prod,team=payments");
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("CVE-2026-1001") && !text.contains("CVE-2026-1002"));
    // another image, not labelled for re-scans
    assert_eq!(scan("image=app:2&labels=env=dev").0, 200);
    let (code, ct, text) = scan("image=app:3&labels=no-value");
    assert_eq!(
        (code, ct.as_str()),
        (400, "application/problem+json"),
        "{text}"
    );
    assert!(text.contains("KEY=VALUE"), "{text}");
    let jobs = get(&url, &auth, "/api/v1/jobs");
    assert_eq!(jobs["jobs"][0]["name"], "feeds");
    assert_eq!(jobs["jobs"][1]["after"], "feeds");

    // b is not published yet: the merge fails (after its retry) and the DB stays
    let digest = get(&url, &auth, "/api/v1/feeds")["digest"].clone();
    let run = |job: &str| {
        let (code, _, text) = status_of(
            ureq::post(&format!("{url}/api/v1/jobs/{job}/run"))
                .set("Authorization", &auth)
                .call(),
        );
        assert_eq!(code, 202, "{text}");
    };
    run("feeds");
    let r = wait_run(&url, &auth, "feeds", 0);
    assert_eq!(r["outcome"], "failed", "{r}");
    assert_eq!(
        r["errors"].as_array().unwrap().len(),
        2,
        "first try and one retry: {r}"
    );
    assert!(r["errors"][1].as_str().unwrap().contains("pypi-b"), "{r}");
    let feeds_now = get(&url, &auth, "/api/v1/feeds");
    assert_eq!(feeds_now["digest"], digest, "the DB in use stays");
    assert_eq!(feeds_now["sources"]["pypi-b"]["outcome"], "failed");
    assert!(feeds_now["sources"]["pypi-a"]["lastSuccess"].is_string());
    assert!(
        get(&url, &auth, "/api/v1/jobs/runs?job=rescan")["runs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no re-scan after a failed merge"
    );

    // b is published with a critical advisory for the package app:1 holds
    std::fs::write(
        feeds.join("b.json"),
        osv(
            "GHSA-bbbb-bbbb-bbbb",
            "CVE-2026-1002",
            critical,
            "remote code execution",
        ),
    )
    .unwrap();
    run("feeds");
    let r = wait_run(&url, &auth, "feeds", 1);
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_ne!(get(&url, &auth, "/api/v1/feeds")["digest"], digest);
    let r = wait_run(&url, &auth, "rescan", 0);
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(r["trigger"], "after feeds");
    assert_eq!(r["detail"]["imagesWithNewCriticals"][0], "app:1", "{r}");
    assert_eq!(
        r["detail"]["images"], 1,
        "app:2 lacks the label env=prod: {r}"
    );

    let crit = get(&url, &auth, "/api/v1/criticals");
    let image = &crit["images"][0];
    assert_eq!(image["image"], "app:1", "{crit}");
    let ids = image["newCriticals"].to_string();
    assert!(
        ids.contains("CVE-2026-1002") || ids.contains("GHSA-bbbb-bbbb-bbbb"),
        "{crit}"
    );
    assert!(
        !ids.contains("CVE-2026-1001") && !ids.contains("GHSA-aaaa"),
        "{crit}"
    );
    // the re-scan is the image's newest scan, and its diff says the same
    let scans = get(&url, &auth, "/api/v1/scans?image=app:1");
    let list = scans["scans"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{scans}");
    let diff = get(
        &url,
        &auth,
        &format!("/api/v1/scans/{}/diff", image["scanId"].as_str().unwrap()),
    );
    assert_eq!(diff["new"].as_array().unwrap().len(), 1, "{diff}");

    // the webhook: refused once (503), delivered on the second attempt, the same signed body
    assert_eq!(r["detail"]["webhook"]["status"], 204, "{r}");
    assert_eq!(r["detail"]["webhook"]["attempts"], 2, "{r}");
    let got = received.lock().unwrap().clone();
    let hooks: Vec<_> = got.iter().filter(|r| r.1 == "/hook").collect();
    assert_eq!(hooks.len(), 2, "{got:?}");
    assert_eq!(hooks[0].3, hooks[1].3);
    let (_, _, headers, body) = hooks[1];
    let sig = headers
        .iter()
        .find(|(k, _)| k == "x-stella-signature-256")
        .map(|(_, v)| v.clone())
        .unwrap();
    let body_file = work.path().join("hook-body");
    std::fs::write(&body_file, body).unwrap();
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys; print('sha256=' + hmac.new(b's3cret-key', open(sys.argv[1],'rb').read(), hashlib.sha256).hexdigest())",
        ])
        .arg(&body_file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), sig);
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["newCriticals"][0]["image"], "app:1");

    // the same from the command line: list, and a re-scan run now (nothing new this time)
    let token = auth.trim_start_matches("Bearer ");
    let out = stella()
        .args(["jobs", "list", "--server", &url, "--token", token])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("feeds") && text.contains("after feeds"),
        "{text}"
    );
    let out = stella()
        .args(["jobs", "run", "rescan", "--server", &url, "--token", token])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["trigger"].as_str(), r["detail"]["newCriticals"].as_u64()),
        (Some("manual"), Some(0))
    );
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "nothing new: no more webhooks"
    );
    stop(server);
}

/// A feed job whose one source is a DB built elsewhere (another Core, a mirror): fetched,
/// checked against the trusted key, swapped in; refused when another key signed it.
#[test]
fn the_feed_job_takes_a_signed_prebuilt_db() {
    let openssl = |args: &[&str]| std::process::Command::new("openssl").args(args).output();
    if openssl(&["version"]).is_err() {
        eprintln!("SKIP: openssl is not installed; it makes the signing keys");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = |n: &str| work.path().join(n).to_str().unwrap().to_string();
    for (k, p) in [("key.pem", "key.pub"), ("other.pem", "other.pub")] {
        assert!(
            openssl(&["genpkey", "-algorithm", "ed25519", "-out", &w(k)])
                .unwrap()
                .status
                .success()
        );
        assert!(
            openssl(&["pkey", "-in", &w(k), "-pubout", "-out", &w(p)])
                .unwrap()
                .status
                .success()
        );
    }
    let site = work.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    // the mirror's DB: another memcached advisory than the local one has
    let upstream = secdb_db_with(
        &work.path().join("upstream"),
        "v3.17",
        r#"{"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"],"1.6.40-r0":["CVE-2099-7777"]}}}"#,
    );
    std::fs::copy(&upstream, site.join("vulns.db")).unwrap();
    let sign = |key: &str| {
        let out = stella()
            .args(["db", "sign", "--db"])
            .arg(site.join("vulns.db"))
            .args(["--key", &w(key)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    sign("other.pem");
    let (site_url, _) = http_server(site.clone());
    std::fs::write(
        w("feeds.json"),
        format!(r#"{{"sources":[{{"name":"mirror","url":"{site_url}/vulns.db","format":"stella-db"}}]}}"#),
    )
    .unwrap();
    let db = secdb_db(work.path());
    let server = serve(
        &work.path().join("data"),
        &db,
        &[
            "--feeds",
            &w("feeds.json"),
            "--feeds-cron",
            "off",
            "--db-pubkey",
            &w("key.pub"),
            "--job-retries",
            "0",
        ],
    );
    let (url, auth) = (server.url.clone(), admin_bearer(&server));
    let run = || {
        let (code, _, text) = status_of(
            ureq::post(&format!("{url}/api/v1/jobs/feeds/run"))
                .set("Authorization", &auth)
                .call(),
        );
        assert_eq!(code, 202, "{text}");
    };
    let digest = get(&url, &auth, "/api/v1/feeds")["digest"].clone();
    // signed by a key Core does not trust: refused, the DB in use stays
    run();
    let r = wait_run(&url, &auth, "feeds", 0);
    assert_eq!(r["outcome"], "failed", "{r}");
    assert!(r["errors"][0].as_str().unwrap().contains("refused"), "{r}");
    assert_eq!(get(&url, &auth, "/api/v1/feeds")["digest"], digest);
    // signed by the trusted key: swapped in, and scans see its advisories
    sign("key.pem");
    run();
    let r = wait_run(&url, &auth, "feeds", 1);
    assert_eq!(r["outcome"], "ok", "{r}");
    assert!(r["detail"]["signedBy"].is_string(), "{r}");
    let feeds = get(&url, &auth, "/api/v1/feeds");
    assert_ne!(feeds["digest"], digest);
    assert_eq!(feeds["sources"]["mirror"]["outcome"], "fetched");
    let (code, _, text) = status_of(
        ureq::post(&format!("{url}/api/v1/scan?wait=true"))
            .set("Authorization", &auth)
            .send_string(&memcached_sbom()),
    );
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("CVE-2099-7777"), "{text}");
    // the same DB again: nothing to swap
    run();
    let r = wait_run(&url, &auth, "feeds", 2);
    assert_eq!(r["outcome"], "ok", "{r}");
    assert_eq!(r["detail"]["upToDate"], true, "{r}");
    stop(server);
}
