//! `stella serve` end to end: the real binary on a loopback port, scanned over HTTP, results
//! kept across a restart.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn stella() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stella"))
}

/// A server that is killed when the test ends, however it ends.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `stella serve` on a free port; returns the child and its base URL.
fn serve(data: &Path, db: &Path, extra: &[&str]) -> (Server, String) {
    let mut child = stella()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--db")
        .arg(db)
        .args(extra)
        .env_remove("STELLA_POLICY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let url = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    // keep draining stderr so the server never blocks on it
    std::thread::spawn(move || for _ in lines {});
    (Server(Some(child)), url)
}

fn stop(mut server: Server) {
    let mut child = server.0.take().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}

fn status_of(r: Result<ureq::Response, ureq::Error>) -> (u16, String, String) {
    match r {
        Ok(resp) => {
            let ct = resp.content_type().to_string();
            (resp.status(), ct, resp.into_string().unwrap())
        }
        Err(ureq::Error::Status(code, resp)) => {
            let ct = resp.content_type().to_string();
            (code, ct, resp.into_string().unwrap())
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn core_scans_sboms_over_http_and_keeps_them() {
    let work = tempfile::tempdir().unwrap();
    let secdb = work.path().join("secdb/v3.17");
    std::fs::create_dir_all(&secdb).unwrap();
    std::fs::write(
        secdb.join("main.json"),
        r#"{"distroversion":"v3.17","reponame":"main","archs":["x86_64"],"packages":[
            {"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"],"1.6.30-r0":["CVE-2099-1111"]}}}]}"#,
    )
    .unwrap();
    let db = work.path().join("v.db");
    let out = stella()
        .args(["db", "import", "--format", "alpine-secdb", "--db"])
        .arg(&db)
        .arg(&secdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let purl = "pkg:apk/alpine/memcached@1.6.17-r0?arch=x86_64&distro=alpine-3.17.3";
    let sbom = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{{"type":"library","bom-ref":"a","name":"memcached","version":"1.6.17-r0","purl":"{purl}"}}]}}"#
    );
    let data = work.path().join("data");
    let (child, url) = serve(&data, &db, &["--max-body-mib", "1"]);

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
        .set("X-Stella-Sbom-Type", "cyclonedx-json")
        .send_string(&sbom)
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.header("Location").unwrap().to_string();
    let (code, _, body) = status_of(ureq::get(&format!("{url}{location}")).call());
    assert_eq!(code, 200);
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["findings"], v["findings"]);

    // bad input: 4xx problem documents that say what to do
    let (code, ct, body) =
        status_of(ureq::post(&format!("{url}/api/v1/scan")).send_string("not an sbom"));
    assert_eq!(
        (code, ct.as_str()),
        (400, "application/problem+json"),
        "{body}"
    );
    assert!(body.contains("not an SBOM"), "{body}");
    let (code, _, body) = status_of(
        ureq::post(&format!("{url}/api/v1/scan"))
            .set("X-Stella-Sbom-Type", "docx")
            .send_string(&sbom),
    );
    assert_eq!(code, 400, "{body}");
    let (code, _, _) = status_of(ureq::post(&format!("{url}/api/v1/scan")).send_bytes(&[]));
    assert_eq!(code, 400);
    let big = vec![b' '; 2 << 20];
    let (code, _, _) = status_of(ureq::post(&format!("{url}/api/v1/scan")).send_bytes(&big));
    assert_eq!(code, 413, "bodies over --max-body-mib are refused unread");
    let (code, ct, _) = status_of(ureq::get(&format!("{url}/api/v1/scans/nope")).call());
    assert_eq!((code, ct.as_str()), (404, "application/problem+json"));
    let (code, _, _) = status_of(ureq::get(&format!("{url}/no/such/route")).call());
    assert_eq!(code, 404);
    stop(child);

    // a restart keeps every scan
    let (child, url) = serve(&data, &db, &[]);
    let (code, _, body) = status_of(
        ureq::get(&format!(
            "{url}/api/v1/scans?image=registry.example.com/app:1"
        ))
        .call(),
    );
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["scans"].as_array().unwrap().len(), 2, "{list}");
    let (code, _, _) = status_of(ureq::get(&format!("{url}{location}")).call());
    assert_eq!(code, 200);
    stop(child);
}
