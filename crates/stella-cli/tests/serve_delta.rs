//! Delta-SBOM and the job queue end to end: `stella scan IMAGE --server` uploads only the
//! layers Core lacks and reports Core's verdict; queued scans stream their progress, fail
//! with the reason when their layers are missing, and survive `kill -9` of Core mid-queue.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;

fn shared_image(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = std::path::Path::new(&dir).join("images").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent (STELLA_SHARED_DATA)", p.display());
        None
    }
}

/// Alpine 3.10's secdb fact: musl 1.1.22-r4 fixed CVE-2020-28928 (the shared alpine 3.10.4
/// image has 1.1.22-r3).
fn alpine310_db(work: &std::path::Path) -> std::path::PathBuf {
    secdb_db_with(
        work,
        "v3.10",
        r#"{"pkg":{"name":"musl","secfixes":{"1.1.22-r4":["CVE-2020-28928"]}}}"#,
    )
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let cache = tempfile::tempdir().unwrap();
    let mut c = stella();
    c.args(args)
        .env("STELLA_CACHE", cache.path())
        .env_remove("STELLA_TOKEN")
        .env_remove("STELLA_SERVER")
        .env_remove("STELLA_DB")
        .env_remove("STELLA_CLIENT_ID")
        .env_remove("STELLA_CLIENT_SECRET");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn findings(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}@{} {}",
                f["vulnerabilityId"].as_str().unwrap(),
                f["package"]["name"].as_str().unwrap(),
                f["package"]["version"].as_str().unwrap(),
                f["package"]["layer"]
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn delta_sbom_uploads_only_missing_layers_and_matches_a_local_scan() {
    let Some(image) = shared_image("alpine-3.10.4.docker-archive.tar.gz") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let db = alpine310_db(work.path());
    // Core's policy denies the CVE: its verdict is the CLI's exit code
    let policy = work.path().join("gate.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: no-musl-cve\n    action: deny\n    when: { vulnerability: CVE-2020-28928 }\n",
    )
    .unwrap();
    let server = serve(
        &work.path().join("data"),
        &db,
        &["--policy", policy.to_str().unwrap()],
    );
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let token = auth.trim_start_matches("Bearer ").to_string();
    let target = format!("docker-archive:{}", image.display());

    let (code, local, err) = run(
        &["scan", &target, "--db", db.to_str().unwrap(), "-f", "json"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let expected = findings(&local);
    assert!(
        expected
            .iter()
            .any(|f| f.starts_with("CVE-2020-28928 musl@1.1.22-r3")),
        "{expected:?}"
    );

    let (code, remote, err) = run(
        &[
            "scan", &target, "--server", &url, "--token", &token, "-f", "json",
        ],
        &[],
    );
    assert_eq!(code, 1, "Core's policy fails the image: {err}");
    assert!(err.contains("1 layer(s), 1 new to Core"), "{err}");
    assert_eq!(
        findings(&remote),
        expected,
        "Core composes what the CLI would have found"
    );
    let v: serde_json::Value = serde_json::from_str(&remote).unwrap();
    assert_eq!(v["target"]["kind"], "image");
    assert_eq!(v["target"]["os"]["family"], "alpine");

    // the second scan uploads nothing; the token can come from the environment
    let (code, again, err) = run(
        &["scan", &target, "--server", &url, "-f", "json"],
        &[("STELLA_TOKEN", &token)],
    );
    assert!(err.contains("1 layer(s), 0 new to Core"), "{err}");
    assert_eq!(findings(&again), expected);
    assert_eq!(code, 1, "{err}");
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["verdict"]["details"][0]["rule"], "no-musl-cve");
    // the image's history holds both scans
    let (_, _, body) = status_of(
        ureq::get(&format!("{url}/api/v1/scans"))
            .query("image", v["target"]["reference"].as_str().unwrap())
            .set("Authorization", &auth)
            .call(),
    );
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["scans"].as_array().unwrap().len(), 2, "{list}");

    // exit codes a pipeline can act on
    let (code, _, err) = run(&["scan", &target, "--server", &url, "--token", "nope"], &[]);
    assert_eq!(code, 3, "a refused token: {err}");
    let (code, _, err) = run(
        &[
            "scan",
            &target,
            "--server",
            "http://127.0.0.1:9",
            "--token",
            &token,
        ],
        &[],
    );
    assert_eq!(code, 10, "Core unreachable is worth retrying: {err}");
    stop(server);
}

#[test]
fn layer_routes_refuse_bad_input_and_failed_jobs_say_why() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let server = serve(&work.path().join("data"), &db, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    let post = |path: &str, body: &str| {
        status_of(
            ureq::post(&format!("{url}{path}"))
                .set("Authorization", &auth)
                .send_string(body),
        )
    };
    let (code, _, body) = post(
        "/api/v1/layers/missing",
        &format!(r#"{{"layers":["{d1}","{d2}"]}}"#),
    );
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["missing"],
        serde_json::json!([d1, d2])
    );
    for (body, why) in [
        (r#"{"layers":["../../etc/passwd"]}"#, "not a diffID"),
        (r#"{"layers":"x"}"#, "expected"),
        ("[", "expected"),
    ] {
        let (code, ct, text) = post("/api/v1/layers/missing", body);
        assert_eq!(
            (code, ct.as_str()),
            (400, "application/problem+json"),
            "{body}"
        );
        assert!(text.contains(why), "{text}");
    }
    // a fragment: the shape `stella sbom --per-layer` writes; the path must name its layer
    let fragment = serde_json::json!({
        "diff_id": d1,
        "catalogers": "os@2,apk@1,dpkg@3,rpm@3,python@1,npm@1,go-binary@1,java@1,gemspec@1,composer@1,dotnet@1,cargo-auditable@1,lockfiles@1",
        "locations": {},
        "os": {},
        "whiteouts": [],
        "opaque": [],
        "warnings": [],
    });
    let put = |d: &str, body: &str| {
        status_of(
            ureq::put(&format!("{url}/api/v1/layers/{d}/sbom"))
                .set("Authorization", &auth)
                .send_string(body),
        )
    };
    let (code, _, text) = put(&d2, &fragment.to_string());
    assert_eq!(code, 400, "{text}");
    let (code, _, _) = put("sha256:..%2F..%2Fx", &fragment.to_string());
    assert_eq!(code, 400);
    let (code, _, _) = put(&d1, "{\"not\": \"a fragment\"}");
    assert_eq!(code, 400);
    let (code, _, text) = put(&d1, &fragment.to_string());
    assert_eq!(code, 204, "{text}");
    let (_, _, body) = post(
        "/layers/missing",
        &format!(r#"{{"layers":["{d1}","{d2}"]}}"#),
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["missing"],
        serde_json::json!([d2])
    );

    // queued with a layer Core has no fragment of: the job fails and says which
    let (code, _, body) = post(
        "/api/v1/scan",
        &format!(r#"{{"image":{{"reference":"x/y:1","layers":["{d1}","{d2}"]}}}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // the event stream ends with `failed`
    let events = ureq::get(&format!("{url}/api/v1/scans/{id}/events"))
        .set("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(events.content_type(), "text/event-stream");
    let text = events.into_string().unwrap();
    assert!(text.contains("event: failed"), "{text}");
    let (code, ct, text) = status_of(
        ureq::get(&format!("{url}/api/v1/scans/{id}"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(
        (code, ct.as_str()),
        (409, "application/problem+json"),
        "{text}"
    );
    assert!(text.contains(&d2) && !text.contains(&d1), "{text}");
    // an image request with neither layers nor reference, and ids that are no scan's
    let (code, _, _) = post("/api/v1/scan", r#"{"image":{}}"#);
    assert_eq!(code, 400);
    let (code, _, _) = status_of(
        ureq::get(&format!("{url}/api/v1/scans/..%2F..%2Fetc"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(code, 404);
    stop(server);
}

#[test]
fn queued_scans_survive_kill_9_and_finish_exactly_once() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    // one worker, so jobs are still queued (and one running) when Core is killed
    let server = serve(&data, &db, &["--workers", "1"]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    // a large SBOM: 20,000 components, so each scan takes a while
    let comps: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"type":"library","bom-ref":"c{i}","name":"memcached{i}","version":"1.6.17-r0","purl":"pkg:apk/alpine/memcached{i}@1.6.17-r0?distro=alpine-3.17.3"}}"#
            )
        })
        .collect();
    let sbom = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{},{{"type":"library","bom-ref":"m","name":"memcached","version":"1.6.17-r0","purl":"pkg:apk/alpine/memcached@1.6.17-r0?distro=alpine-3.17.3"}}]}}"#,
        comps.join(",")
    );
    let mut ids = Vec::new();
    for _ in 0..6 {
        let (code, _, body) = status_of(
            ureq::post(&format!("{url}/api/v1/scan?image=kill/app:1"))
                .set("Authorization", &auth)
                .send_string(&sbom),
        );
        assert_eq!(code, 202, "{body}");
        ids.push(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // the last one is still waiting behind the others
    let (code, _, body) = status_of(
        ureq::get(&format!("{url}/api/v1/scans/{}", ids[5]))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(code, 202, "{body}");
    let mut server = server;
    let mut child = server.child.take().unwrap();
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed
    child.wait().unwrap();
    drop(server);

    let server = serve(&data, &db, &["--workers", "1"]);
    let auth = admin_bearer(&server);
    for id in &ids {
        let body = wait_for(&server.url, &format!("/api/v1/scans/{id}"), &auth);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["findings"].as_array().unwrap().len(), 2, "{id}");
    }
    let (_, _, body) = status_of(
        ureq::get(&format!("{}/api/v1/scans?image=kill/app:1", server.url))
            .set("Authorization", &auth)
            .call(),
    );
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut listed: Vec<String> = list["scans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want, "every job stored exactly once, none lost");
    // and the metrics say the queue is empty
    let (_, _, metrics) = status_of(ureq::get(&format!("{}/metrics", server.url)).call());
    assert!(metrics.contains("stella_queue_depth 0"), "{metrics}");
    stop(server);
}

#[test]
fn a_full_queue_answers_503_and_a_spent_quota_exits_10() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let data = work.path().join("data");
    drop(serve(&data, &db, &[]));
    let secret = add_client(&data, "ci", &["--max-scans-per-day", "1"]);
    let server = serve(&data, &db, &["--workers", "1", "--queue-limit", "1"]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    // a large SBOM keeps the one worker busy while the others arrive
    let comps: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"type":"library","bom-ref":"c{i}","name":"m{i}","version":"1.0-r0","purl":"pkg:apk/alpine/m{i}@1.0-r0?distro=alpine-3.17.3"}}"#
            )
        })
        .collect();
    let sbom = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{}]}}"#,
        comps.join(",")
    );
    let answers: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let r = response(
                        ureq::post(&format!("{url}/api/v1/scan"))
                            .set("Authorization", &auth)
                            .send_string(&sbom),
                    );
                    (r.status(), r.header("Retry-After").map(str::to_string))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().any(|a| a.0 == 202), "{answers:?}");
    assert!(
        answers.iter().any(|a| a.0 == 503 && a.1.is_some()),
        "a full queue pushes back with Retry-After: {answers:?}"
    );
    // let the queue drain
    let t = std::time::Instant::now();
    loop {
        let (_, _, m) = status_of(ureq::get(&format!("{url}/metrics")).call());
        if m.contains("stella_queue_depth 0") {
            break;
        }
        assert!(t.elapsed().as_secs() < 120, "the queue never drained");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // the pipeline helper: a spent quota is worth retrying later (exit 10), not a failure
    let example = work.path().join("sbom.json");
    std::fs::write(&example, memcached_sbom()).unwrap();
    let target = format!("sbom:{}", example.display());
    let env = [
        ("STELLA_CLIENT_ID", "ci"),
        ("STELLA_CLIENT_SECRET", secret.as_str()),
    ];
    let (code, _, err) = run(&["scan", &target, "--server", &url], &env);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["scan", &target, "--server", &url], &env);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("429") && err.contains("--quota-wait"), "{err}");
    stop(server);
}

#[test]
fn a_directory_without_layer_ids_goes_as_a_whole_sbom() {
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    let root = work.path().join("rootfs");
    for (p, c) in [
        (
            "etc/os-release",
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.17.3\n",
        ),
        (
            "lib/apk/db/installed",
            "P:memcached\nV:1.6.17-r0\nA:x86_64\no:memcached\n",
        ),
    ] {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, c).unwrap();
    }
    let server = serve(&work.path().join("data"), &db, &[]);
    let token = admin_bearer(&server)
        .trim_start_matches("Bearer ")
        .to_string();
    let target = format!("dir:{}", root.display());
    let (code, local, err) = run(
        &["scan", &target, "--db", db.to_str().unwrap(), "-f", "json"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let (code, remote, err) = run(
        &[
            "scan",
            &target,
            "--server",
            &server.url,
            "--token",
            &token,
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("goes whole"), "{err}");
    let ids = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut ids: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["vulnerabilityId"], f["package"]["name"]))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&remote), ids(&local));
    assert_eq!(ids(&remote).len(), 2, "{remote}");
    stop(server);
}
