//! Scaled out for real: two `stella serve` replicas and two `stella worker`s sharing one
//! `redis-server` and one PostgreSQL on loopback — one identity, an exact quota across
//! replicas, policy changes seen by every replica, a worker killed mid-scan whose job
//! finishes once on the other, Redis restarted and PostgreSQL stopped under a running Core.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use stella_store::servers::{PostgresServer, RedisServer, available};

/// `stella worker` with `args`; its stderr lines are kept in `Server::log`.
fn worker(data: &Path, db: &Path, args: &[String]) -> Server {
    let mut child = stella()
        .arg("worker")
        .arg("--data")
        .arg(data)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("STELLA_POLICY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the worker ended before starting")
            .unwrap();
        if line.starts_with("stella worker:") {
            break;
        }
    }
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            l.lock().unwrap().push(line);
        }
    });
    Server {
        child: Some(child),
        url: String::new(),
        data: data.to_path_buf(),
        log,
    }
}

fn started(w: &Server, job: &str) -> bool {
    w.log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("scan started") && l.contains(job))
}

fn scan(url: &str, auth: &str, image: &str, body: &str, wait: bool) -> (u16, String) {
    let (code, _, text) = status_of(
        ureq::post(&format!(
            "{url}/api/v1/scan?image={image}{}",
            if wait { "&wait=true" } else { "" }
        ))
        .set("Authorization", auth)
        .send_string(body),
    );
    (code, text)
}

fn id_of(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Retries `f` for up to `secs` until it answers `Some`.
fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed().as_secs() < secs, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn replicas_and_workers_share_redis_and_postgres() {
    if !available("replicas_and_workers_share_redis_and_postgres") {
        return;
    }
    let mut redis = RedisServer::start().unwrap();
    let mut pg = PostgresServer::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = secdb_db(work.path());
    // replicas and workers share the store, so they share its key-encryption key
    let kek = work.path().join("shared.kek");
    std::fs::write(&kek, stella_auth::Kek::generate().unwrap().encode()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let kek = kek.display().to_string();
    let shared: Vec<String> = [
        "--kek-file",
        &kek,
        "--redis",
        &redis.url(),
        "--postgres",
        &pg.url(),
        // behind one load balancer, replicas name one issuer
        "--issuer",
        "http://stella.test",
        "--lease-secs",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let replica = |name: &str| {
        let mut args: Vec<&str> = shared.iter().map(String::as_str).collect();
        args.push("--no-workers");
        serve(&work.path().join(name), &db, &args)
    };
    // the first replica creates the signing key and the admin client
    let a = replica("a");
    let b = replica("b");
    let w1 = worker(&work.path().join("w1"), &db, &shared);
    let w2 = worker(&work.path().join("w2"), &db, &shared);
    let admin = admin_bearer(&a);

    // one identity: a client added on A gets tokens from B
    let (code, _, text) = status_of(
        ureq::post(&format!("{}/api/v1/principals", a.url))
            .set("Authorization", &admin)
            .set("Content-Type", "application/json")
            .send_string(r#"{"kind":"client","name":"ci","scopes":["scan"],"maxScansPerDay":7}"#),
    );
    assert_eq!(code, 201, "{text}");
    let secret = serde_json::from_str::<serde_json::Value>(&text).unwrap()["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let ci = eventually(10, "replica B knows the new client", || {
        let r = ureq::post(&format!("{}/connect/token", b.url)).send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "ci"),
            ("client_secret", &secret),
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.ok()?.into_string().ok()?).ok()?;
        Some(format!("Bearer {}", v["access_token"].as_str()?))
    });

    // the quota is exact across replicas: 20 parallel scans, half on each, 7 admitted
    let sbom = memcached_sbom();
    let codes: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|i| {
                let (url, ci, sbom) = (if i % 2 == 0 { &a.url } else { &b.url }, &ci, &sbom);
                s.spawn(move || scan(url, ci, &format!("quota/app:{i}"), sbom, true).0)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 7, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 13, "{codes:?}");

    // a mute made on A applies to scans on B
    let (code, _, text) = status_of(
        ureq::post(&format!("{}/api/v1/policy/mute", a.url))
            .set("Authorization", &admin)
            .set("Content-Type", "application/json")
            .send_string(
                r#"{"vulnerability":"CVE-2023-46853","until":"2099-01-01","reason":"not reachable"}"#,
            ),
    );
    assert_eq!(code, 201, "{text}");
    eventually(10, "replica B applies A's mute", || {
        let (code, text) = scan(&b.url, &admin, "mute/app:1", &sbom, true);
        assert_eq!(code, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["vulnerabilityId"] == "CVE-2023-46853" && f["policy"]["action"] == "muted")
            .then_some(())
    });

    // an identical request on the other replica reuses the stored result (Redis points at it)
    let reused = |url: &str| {
        let r = response(
            ureq::post(&format!("{url}/api/v1/scan?image=reuse/app:1&wait=true"))
                .set("Authorization", &admin)
                .send_string(&sbom),
        );
        assert_eq!(r.status(), 200);
        r.header("x-stella-result").unwrap().to_string()
    };
    assert_eq!(reused(&a.url), "scanned");
    assert_eq!(reused(&b.url), "reused");

    // the DB file replaced on the volume every process reads (as a feed merge or
    // `stella db update` does): each replica and worker loads it within seconds
    let newer = secdb_db_with(
        &work.path().join("newer"),
        "v3.17",
        r#"{"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"],"1.6.30-r0":["CVE-2099-1111"],"1.6.40-r0":["CVE-2099-2222"]}}}"#,
    );
    std::fs::rename(&newer, &db).unwrap();
    for (url, wait) in [(&a.url, true), (&b.url, true), (&a.url, false)] {
        eventually(10, "every process loads the replaced DB", || {
            let (code, text) = scan(url, &admin, "db/app:1", &sbom, wait);
            let text = if wait {
                text
            } else {
                assert_eq!(code, 202, "{text}");
                // queued: a worker scans it
                wait_for(url, &format!("/api/v1/scans/{}", id_of(&text)), &admin)
            };
            text.contains("CVE-2099-2222").then_some(())
        });
    }

    // a worker killed mid-scan: the other finishes the job, and it is stored once
    let comps: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"type":"library","bom-ref":"c{i}","name":"memcached{i}","version":"1.6.17-r0","purl":"pkg:apk/alpine/memcached{i}@1.6.17-r0?distro=alpine-3.17.3"}}"#
            )
        })
        .collect();
    let big = format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{}]}}"#,
        comps.join(",")
    );
    let (code, text) = scan(&a.url, &admin, "kill/app:1", &big, false);
    assert_eq!(code, 202, "{text}");
    let job = id_of(&text);
    let holder = eventually(30, "a worker starts the scan", || {
        if started(&w1, &job) {
            Some(1)
        } else if started(&w2, &job) {
            Some(2)
        } else {
            None
        }
    });
    let (mut dead, other) = if holder == 1 { (w1, w2) } else { (w2, w1) };
    let mut child = dead.child.take().unwrap();
    child.kill().unwrap(); // SIGKILL, mid-scan
    child.wait().unwrap();
    let body = wait_for(&b.url, &format!("/api/v1/scans/{job}"), &admin);
    assert!(body.contains("\"findings\""), "{body}");
    assert!(started(&other, &job), "the other worker took the job over");
    let (_, _, list) = status_of(
        ureq::get(&format!("{}/api/v1/scans?image=kill/app:1", a.url))
            .set("Authorization", &admin)
            .call(),
    );
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        list["scans"].as_array().unwrap().len(),
        1,
        "stored once: {list}"
    );

    // Redis restarts: answers are 503 while it is away, and Core reconnects by itself
    redis.stop();
    let (code, text) = scan(&a.url, &admin, "redis/app:1", &sbom, true);
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("Redis"), "{text}");
    redis.resume().unwrap();
    let (code, text) = scan(&a.url, &admin, "redis/app:1", &sbom, true);
    assert_eq!(code, 200, "{text}");

    // PostgreSQL stops: /readyz says so; a queued scan waits and completes once it is back
    pg.stop();
    let (code, _, text) = status_of(ureq::get(&format!("{}/readyz", b.url)).call());
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("PostgreSQL"), "{text}");
    let (code, text) = scan(&b.url, &admin, "pg/app:1", &sbom, false);
    assert_eq!(code, 202, "{text}");
    let job = id_of(&text);
    std::thread::sleep(Duration::from_secs(2));
    pg.resume().unwrap();
    let body = wait_for(&a.url, &format!("/api/v1/scans/{job}"), &admin);
    assert!(body.contains("CVE-2023-46853"), "{body}");
    let (code, _, _) = status_of(ureq::get(&format!("{}/readyz", b.url)).call());
    assert_eq!(code, 200);

    stop(a);
    stop(b);
    stop(other);
}
