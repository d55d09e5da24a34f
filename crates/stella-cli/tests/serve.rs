//! `stella serve` end to end: the real binary on a loopback port, scanned over HTTP, results
//! kept across a restart.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

#[test]
fn core_scans_sboms_over_http_and_keeps_them() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let sbom = memcached_sbom();
    let data = work.path().join("data");
    let child = serve(&data, &db, &["--max-body-mib", "1"]);
    let url = child.url.clone();
    let auth = admin_bearer(&child);

    let (code, _, body) = status_of(ureq::get(&format!("{url}/healthz")).call());
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, _, _) = status_of(ureq::get(&format!("{url}/readyz")).call());
    assert_eq!(code, 200);
    let (code, _, body) = status_of(ureq::get(&format!("{url}/openapi.json")).call());
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/scan"]["post"].is_object());

    // ?wait=true answers with the result
    let (code, ct, body) = status_of(
        ureq::post(&format!(
            "{url}/api/v1/scan?wait=true&image=registry.example.com/app:1"
        ))
        .set("Authorization", &auth)
        .set("Content-Type", "application/json")
        .send_string(&sbom),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(ct, "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["target"]["reference"], "registry.example.com/app:1");
    let mut ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["vulnerabilityId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["CVE-2023-46853", "CVE-2099-1111"]);
    // without it: 202 and where to fetch it; the seed's unversioned path and a type hint work
    let resp = ureq::post(&format!("{url}/scan?image=registry.example.com/app:1"))
        .set("Authorization", &auth)
        .set("X-Stella-Sbom-Type", "cyclonedx-json")
        .send_string(&sbom)
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.header("Location").unwrap().to_string();
    // queued: 202 with its state until a worker has stored the result
    let body = wait_for(&url, &location, &auth);
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["findings"], v["findings"]);

    // bad input: 4xx problem documents that say what to do
    let (code, ct, body) = status_of(
        ureq::post(&format!("{url}/api/v1/scan"))
            .set("Authorization", &auth)
            .send_string("not an sbom"),
    );
    assert_eq!(
        (code, ct.as_str()),
        (400, "application/problem+json"),
        "{body}"
    );
    assert!(body.contains("not an SBOM"), "{body}");
    let (code, _, body) = status_of(
        ureq::post(&format!("{url}/api/v1/scan"))
            .set("Authorization", &auth)
            .set("X-Stella-Sbom-Type", "docx")
            .send_string(&sbom),
    );
    assert_eq!(code, 400, "{body}");
    let (code, _, _) = status_of(
        ureq::post(&format!("{url}/api/v1/scan"))
            .set("Authorization", &auth)
            .send_bytes(&[]),
    );
    assert_eq!(code, 400);
    // announce 2 MiB, send 1 KiB: the 413 comes from the length alone, unread (a client that
    // kept writing would race the server's close)
    let answer = raw_request(
        &url,
        &format!(
            "POST /api/v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{}",
            2 << 20,
            " ".repeat(1024)
        ),
    );
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "bodies over --max-body-mib are refused unread: {answer}"
    );
    let (code, ct, _) = status_of(
        ureq::get(&format!("{url}/api/v1/scans/nope"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!((code, ct.as_str()), (404, "application/problem+json"));
    let (code, _, _) = status_of(ureq::get(&format!("{url}/no/such/route")).call());
    assert_eq!(code, 404);
    stop(child);

    // a restart keeps every scan
    let child = serve(&data, &db, &[]);
    let url = child.url.clone();
    let auth = admin_bearer(&child);
    let (code, _, body) = status_of(
        ureq::get(&format!(
            "{url}/api/v1/scans?image=registry.example.com/app:1"
        ))
        .set("Authorization", &auth)
        .call(),
    );
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["scans"].as_array().unwrap().len(), 2, "{list}");
    let (code, _, _) = status_of(
        ureq::get(&format!("{url}{location}"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(code, 200);
    stop(child);
}

#[test]
fn scan_diffs_feeds_and_db_reload() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(&work.path().join("data"), &db, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let scan = |version: &str| {
        let sbom = memcached_sbom().replace("1.6.17-r0", version);
        let (code, _, body) = status_of(
            ureq::post(&format!("{url}/api/v1/scan?wait=true&image=diff/app:1"))
                .set("Authorization", &auth)
                .send_string(&sbom),
        );
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v
    };
    let get = |path: &str| {
        let (code, _, body) = status_of(
            ureq::get(&format!("{url}{path}"))
                .set("Authorization", &auth)
                .call(),
        );
        (
            code,
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default(),
        )
    };
    scan("1.6.17-r0");
    // the key of the stored scan: from the history
    let first = get("/api/v1/scans?image=diff/app:1").1["scans"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, body) = get(&format!("/api/v1/scans/{first}/diff"));
    assert_eq!(code, 404, "the first scan has nothing before it: {body}");
    // an upgrade fixes one CVE and keeps the other
    scan("1.6.25-r0");
    let second = get("/api/v1/scans?image=diff/app:1").1["scans"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, d) = get(&format!("/api/v1/scans/{second}/diff"));
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["base"]["id"], first.as_str());
    assert_eq!(d["new"].as_array().unwrap().len(), 0, "{d}");
    assert_eq!(d["fixed"][0]["vulnerabilityId"], "CVE-2023-46853", "{d}");
    assert_eq!(d["unchanged"], 1);
    // and the other way round
    let (_, back) = get(&format!("/api/v1/scans/{first}/diff?against={second}"));
    assert_eq!(
        back["new"][0]["vulnerabilityId"], "CVE-2023-46853",
        "{back}"
    );

    // feeds: what the DB holds and how old it is
    let (code, f) = get("/api/v1/feeds");
    assert_eq!(code, 200);
    assert!(
        f["feeds"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.contains("alpine")),
        "{f}"
    );
    assert!(f["ageSeconds"].as_u64().is_some(), "{f}");
    // a DB rebuilt in place is taken up by POST /feeds/update; a broken one is refused
    let digest = f["digest"].clone();
    let secdb = work.path().join("secdb-v3.17/v3.17/main.json");
    let text = std::fs::read_to_string(&secdb).unwrap();
    std::fs::write(&secdb, text.replace("CVE-2099-1111", "CVE-2099-2222")).unwrap();
    let fresh = work.path().join("fresh.db");
    let out = stella()
        .args(["db", "import", "--format", "alpine-secdb", "--db"])
        .arg(&fresh)
        .arg(secdb.parent().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::rename(&fresh, &db).unwrap();
    let post = |path: &str| {
        status_of(
            ureq::post(&format!("{url}{path}"))
                .set("Authorization", &auth)
                .send_string(""),
        )
    };
    let (code, _, body) = post("/api/v1/feeds/update");
    assert_eq!(code, 200, "{body}");
    assert_ne!(get("/api/v1/feeds").1["digest"], digest);
    let v = scan("1.6.17-r0");
    assert!(
        v.to_string().contains("CVE-2099-2222"),
        "the new DB matches"
    );
    // replaced as `stella db update` does (a new file renamed over), never rewritten in place
    let junk = work.path().join("junk.db");
    std::fs::write(&junk, b"garbage").unwrap();
    std::fs::rename(&junk, &db).unwrap();
    let (code, _, body) = post("/api/v1/feeds/update");
    assert_eq!(code, 422, "{body}");
    assert!(
        scan("1.6.17-r0").to_string().contains("CVE-2099-2222"),
        "the old DB stays"
    );
    stop(server);
}

#[test]
fn identical_requests_reuse_the_result_until_the_policy_changes() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(&work.path().join("data"), &db, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let scan = || {
        let r = response(
            ureq::post(&format!("{url}/api/v1/scan?wait=true&image=same/app:1"))
                .set("Authorization", &auth)
                .send_string(&memcached_sbom()),
        );
        assert_eq!(r.status(), 200);
        let how = r.header("X-Stella-Result").unwrap().to_string();
        let location = r.header("Content-Location").unwrap().to_string();
        let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        (how, location, v)
    };
    let (how1, _, first) = scan();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (how2, location, second) = scan();
    assert_eq!((how1.as_str(), how2.as_str()), ("scanned", "reused"));
    assert_eq!(first["findings"], second["findings"]);
    assert_eq!(first["scanId"], second["scanId"], "content-derived");
    assert_ne!(
        first["createdAt"], second["createdAt"],
        "a new scan, a new time"
    );
    // the stored copy reads back exactly as answered
    let (_, _, stored) = status_of(
        ureq::get(&format!("{url}{location}"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        second
    );
    // another body, or a policy change, scans again
    let r = response(
        ureq::put(&format!("{url}/api/v1/policy"))
            .set("Authorization", &auth)
            .send_string("version: 1\nrules:\n  - id: d\n    action: deny\n    when: { vulnerability: CVE-2023-46853 }\n"),
    );
    assert_eq!(r.status(), 200);
    let (how3, _, third) = scan();
    assert_eq!(how3, "scanned");
    assert_eq!(third["verdict"]["status"], "FAIL");
    stop(server);
}
