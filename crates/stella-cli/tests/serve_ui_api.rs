//! The API behind the UI's views, end to end against a real Core: an image's scans with their
//! verdicts (the timeline), open findings over time and what to fix first (the dashboard), a
//! vulnerability as every source states it (the finding page), a draft policy's verdict on a
//! stored image (the editor's preview), the live stream of stored scans, and translations an
//! operator adds without a rebuild.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use common::*;

const DENY: &str = "version: 1\nrules:\n  - id: no-memcached-cve\n    action: deny\n    when: { vulnerability: CVE-2023-46853 }\n";

/// The secdb DB of `secdb_db` with a CVSS vector (OSV), a KEV entry and an EPSS score for
/// CVE-2023-46853 (each in its source's own format).
fn rich_db(work: &Path) -> PathBuf {
    let db = secdb_db(work);
    let osv = work.join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("CVE-2023-46853.json"),
        r#"{"id":"CVE-2023-46853","modified":"2023-11-07T00:00:00Z","published":"2023-11-03T00:00:00Z","summary":"memcached proxy mode out-of-bounds read","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#,
    )
    .unwrap();
    let kev = work.join("kev.json");
    std::fs::write(
        &kev,
        r#"{"vulnerabilities":[{"cveID":"CVE-2023-46853","dateAdded":"2024-01-10","dueDate":"2024-01-31","knownRansomwareCampaignUse":"Known"}]}"#,
    )
    .unwrap();
    let epss = work.join("epss.csv");
    std::fs::write(
        &epss,
        "#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\nCVE-2023-46853,0.42,0.97\n",
    )
    .unwrap();
    // the OSV record first: its rating (it has no package statements) must survive the
    // incremental KEV and EPSS imports that follow
    for (format, path) in [("osv", &osv), ("kev", &kev), ("epss", &epss)] {
        let out = stella()
            .args(["db", "import", "--format", format, "--db"])
            .arg(&db)
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    db
}

struct Api {
    url: String,
    auth: String,
}

impl Api {
    fn send(&self, method: &str, path: &str, ct: &str, body: &str) -> (u16, serde_json::Value) {
        let (code, _, text) = status_of(
            ureq::request(method, &format!("{}{path}", self.url))
                .set("Authorization", &self.auth)
                .set("Content-Type", ct)
                .send_string(body),
        );
        (code, serde_json::from_str(&text).unwrap_or_default())
    }
    fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let (code, _, text) = status_of(
            ureq::get(&format!("{}{path}", self.url))
                .set("Authorization", &self.auth)
                .call(),
        );
        (code, serde_json::from_str(&text).unwrap_or_default())
    }
    fn scan(&self, image: &str) -> serde_json::Value {
        let (code, v) = self.send(
            "POST",
            &format!("/api/v1/scan?wait=true&image={image}"),
            "application/json",
            &memcached_sbom(),
        );
        assert_eq!(code, 200, "{v}");
        v
    }
}

#[test]
fn the_views_api_timeline_risk_finding_preview_and_live_scans() {
    let work = tempfile::tempdir().unwrap();
    let db = rich_db(work.path());
    let data = work.path().join("data");
    let policy = work.path().join("deny.yaml");
    std::fs::write(&policy, DENY).unwrap();
    let server = serve(&data, &db, &["--policy", policy.to_str().unwrap()]);
    let api = Api {
        url: server.url.clone(),
        auth: admin_bearer(&server),
    };

    // the live stream: opened before the scans, it hears each one stored in this tenant
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    {
        let url = format!("{}/api/v1/events", server.url);
        let auth = api.auth.clone();
        std::thread::spawn(move || {
            let r = ureq::get(&url).set("Authorization", &auth).call().unwrap();
            assert!(
                r.header("content-type")
                    .unwrap_or("")
                    .starts_with("text/event-stream")
            );
            for line in BufReader::new(r.into_reader()).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    let wait_line = |want: &str| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx.recv_timeout(left).expect("the event stream went quiet");
            if line.contains(want) {
                return line;
            }
        }
    };
    wait_line("event: hello");

    api.scan("ui/app:1");
    let event = wait_line("\"image\"");
    let stored: serde_json::Value = serde_json::from_str(&event["data: ".len()..]).unwrap();
    assert_eq!(stored["image"], "ui/app:1", "{stored}");
    assert_eq!(stored["verdict"], "FAIL", "{stored}");
    assert_eq!(stored["summary"]["critical"], 1, "{stored}");
    api.scan("ui/app:1");

    // the timeline: every scan of the image with its verdict and counts, oldest first
    let (code, list) = api.get("/api/v1/scans?image=ui/app:1");
    assert_eq!(code, 200, "{list}");
    let scans = list["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 2, "{list}");
    for s in scans {
        assert_eq!(s["verdict"], "FAIL", "{list}");
        assert_eq!(s["summary"]["critical"], 1, "{list}");
        assert_eq!(s["summary"]["unknown"], 1, "{list}");
    }
    assert!(scans[0]["createdAt"].as_str() <= scans[1]["createdAt"].as_str());

    // the dashboard: today's open findings (the image counts once, with its latest scan)
    // and the known-exploited finding first
    let (code, stats) = api.get("/api/v1/stats?days=7");
    assert_eq!(code, 200, "{stats}");
    let risk = stats["risk"].as_array().unwrap();
    assert_eq!(risk.len(), 7, "{stats}");
    let today = risk.last().unwrap();
    assert_eq!(today["images"], 1, "{stats}");
    assert_eq!(today["severity"]["critical"], 1, "{stats}");
    assert_eq!(today["severity"]["unknown"], 1, "{stats}");
    assert_eq!(risk[0]["images"], 0, "no scan a week ago: {stats}");
    let hot = stats["hot"].as_array().unwrap();
    assert_eq!(hot.len(), 1, "only the KEV finding is hot: {stats}");
    assert_eq!(hot[0]["vulnerabilityId"], "CVE-2023-46853");
    assert_eq!(hot[0]["kev"], true);
    assert_eq!(hot[0]["image"], "ui/app:1");
    assert_eq!(hot[0]["package"]["name"], "memcached");

    // the finding page: every source, the vector scored, KEV and EPSS as published
    let (code, v) = api.get("/api/v1/vulnerabilities/CVE-2023-46853");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["severity"], "critical", "{v}");
    assert_eq!(
        v["summary"], "memcached proxy mode out-of-bounds read",
        "{v}"
    );
    let sources: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"osv") && sources.iter().any(|s| s.starts_with("alpine-secdb")),
        "{v}"
    );
    let sev = &v["severities"][0];
    assert_eq!(sev["kind"], "CVSS_V3", "{v}");
    assert_eq!(sev["score"], 9.8, "{v}");
    assert_eq!(sev["level"], "critical", "{v}");
    assert_eq!(sev["chosen"], true, "{v}");
    assert_eq!(v["kev"]["dateAdded"], "2024-01-10", "{v}");
    assert_eq!(v["kev"]["ransomware"], true, "{v}");
    assert!(
        (v["epss"]["percentile"].as_f64().unwrap() - 0.97).abs() < 1e-6,
        "{v}"
    );
    let (code, none) = api.get("/api/v1/vulnerabilities/CVE-1999-0001");
    assert_eq!(code, 404, "{none}");
    assert!(none["detail"].as_str().unwrap().contains("CVE-1999-0001"));
    let (code, _) = api.get("/api/v1/vulnerabilities/..%2Fetc");
    assert_eq!(code, 404);

    // the editor's preview: the draft on the stored image, beside the active policy, with
    // what it decides differently — and nothing stored or charged
    let (_, quota_before) = api.get("/api/v1/quota");
    let warn = DENY.replace("action: deny", "action: warn");
    let (code, p) = api.send(
        "POST",
        "/api/v1/policy/preview?image=ui/app:1",
        "application/x-yaml",
        &warn,
    );
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["active"]["verdict"]["status"], "FAIL", "{p}");
    assert_eq!(p["draft"]["verdict"]["status"], "WARN", "{p}");
    let changed = p["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{p}");
    assert_eq!(changed[0]["vulnerabilityId"], "CVE-2023-46853");
    assert_eq!(changed[0]["was"], "deny");
    assert_eq!(changed[0]["now"], "warn");
    let (_, quota_after) = api.get("/api/v1/quota");
    assert_eq!(
        quota_before["used"], quota_after["used"],
        "a preview is not charged"
    );
    let (_, list) = api.get("/api/v1/scans?image=ui/app:1");
    assert_eq!(list["scans"].as_array().unwrap().len(), 2, "nor stored");
    // a draft that does not load: its line, as validate says it
    let (code, bad) = api.send(
        "POST",
        "/api/v1/policy/preview?image=ui/app:1",
        "application/x-yaml",
        &DENY.replace("action: deny", "action: denyy"),
    );
    assert_eq!(code, 422, "{bad}");
    assert_eq!(bad["error"]["line"], 4, "{bad}");
    let (code, missing) = api.send(
        "POST",
        "/api/v1/policy/preview?image=nope:1",
        "application/x-yaml",
        &warn,
    );
    assert_eq!(code, 404, "{missing}");
    let (code, _) = api.send(
        "POST",
        "/api/v1/policy/preview",
        "application/x-yaml",
        &warn,
    );
    assert_eq!(code, 400);
    stop(server);
}

#[test]
fn operators_add_translations_without_a_rebuild() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    std::fs::create_dir_all(data.join("locales")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(
        data.join("locales/ar.json"),
        r#"{"lang.name":"العربية","lang.dir":"rtl","nav.scans":"عمليات الفحص"}"#,
    )
    .unwrap();
    std::fs::write(data.join("locales/xx.json"), r#"{"nav.scans": 3}"#).unwrap();
    std::fs::write(data.join("locales/..json"), "{}").unwrap();
    let server = serve(&data, &db, &[]);
    let get = |p: &str| status_of(ureq::get(&format!("{}{p}", server.url)).call());
    let (code, _, index) = get("/locales/index.json");
    assert_eq!(code, 200, "{index}");
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    let langs: Vec<(&str, &str, &str)> = v["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lang"].as_str().unwrap(),
                l["name"].as_str().unwrap(),
                l["dir"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(langs.contains(&("en", "English", "ltr")), "{index}");
    assert!(langs.contains(&("de", "Deutsch", "ltr")), "{index}");
    assert!(langs.contains(&("ar", "العربية", "rtl")), "{index}");
    let (code, _, ar) = get("/locales/ar.json");
    assert_eq!(code, 200, "{ar}");
    assert!(ar.contains("عمليات الفحص"));
    // not an object of strings: refused with what to do, never served half
    let (code, _, bad) = get("/locales/xx.json");
    assert_eq!(code, 500, "{bad}");
    assert!(bad.contains("not a JSON object of strings"), "{bad}");
    let (code, _, _) = get("/locales/..%2Fadmin.secret");
    assert_eq!(code, 404);
    stop(server);
}
