//! `stella db update` against a real HTTP server on loopback (Python's http.server serving
//! feed files): the real fetch path, conditional requests, partial failure, checksums.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> Option<(Server, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(child) = child else {
        eprintln!("SKIP: python3 is not available to serve the feeds");
        return None;
    };
    let server = Server(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "http.server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((server, port))
}

fn stella(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stella-advisory/testdata")
        .join(rel)
}

#[test]
fn update_fetches_rebuilds_and_survives_a_feed_going_down() {
    let site = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("alpine/v3.10/main.json"),
        site.path().join("main.json"),
    )
    .unwrap();
    std::fs::copy(fixture("debian/DSA/list"), site.path().join("dsa-list")).unwrap();
    std::fs::copy(
        fixture("osv/GHSA-example.json"),
        site.path().join("ghsa.json"),
    )
    .unwrap();
    let Some((_server, port)) = serve(site.path()) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("v.db");
    let config = work.path().join("feeds.json");
    let cfg = |extra: &str| {
        format!(
            r#"{{"sources":[
              {{"name":"alpine-3.10-main","url":"http://127.0.0.1:{port}/main.json","format":"alpine-secdb"}},
              {{"name":"debian-dsa","url":"http://127.0.0.1:{port}/dsa-list","format":"debian-tracker"}},
              {{"name":"ghsa-one","url":"http://127.0.0.1:{port}/ghsa.json","format":"osv"}}{extra}]}}"#
        )
    };
    std::fs::write(&config, cfg("")).unwrap();
    let args = [
        "db",
        "update",
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--attempts",
        "2",
        "--backoff-ms",
        "10",
    ];
    let (code, _, err) = stella(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("fetched").count(), 3, "{err}");
    let q = |ns: &str, pkg: &str| {
        stella(&[
            "db",
            "query",
            "--db",
            db.to_str().unwrap(),
            "--namespace",
            ns,
            "--package",
            pkg,
        ])
    };
    assert!(q("alpine:3.10", "openssl").1.contains("CVE-2019-1547"));
    assert!(q("debian:11", "examplepkg").1.contains("CVE-2023-9999"));
    assert!(q("pypi", "example-pkg").1.contains("CVE-2024-0001"));

    // Second run: the server answers 304 to If-Modified-Since; nothing is downloaded.
    let (code, _, err) = stella(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("not modified").count(), 3, "{err}");

    // One feed goes away: its earlier copy is used, the others still update, exit 10.
    std::fs::remove_file(site.path().join("dsa-list")).unwrap();
    let (code, _, err) = stella(&args);
    assert_eq!(code, 10, "{err}");
    assert!(
        err.contains("debian-dsa: HTTP 404") && err.contains("using the copy fetched earlier"),
        "{err}"
    );
    assert!(
        q("debian:11", "examplepkg").1.contains("CVE-2023-9999"),
        "the stale copy still counts"
    );

    // A checksum that does not match is refused; a server that is not there is retried, then reported.
    std::fs::write(
        &config,
        cfg(&format!(
            r#",{{"name":"pinned","url":"http://127.0.0.1:{port}/main.json","format":"alpine-secdb","sha256":"00"}},{{"name":"nowhere","url":"http://127.0.0.1:9/x.json","format":"osv"}}"#
        )),
    )
    .unwrap();
    let (code, _, err) = stella(&args);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("pinned: checksum mismatch"), "{err}");
    assert!(
        err.contains("nowhere:")
            && err.contains("after 2 attempts")
            && err.contains("missing from the DB"),
        "{err}"
    );
    assert!(
        q("alpine:3.10", "openssl").1.contains("CVE-2019-1547"),
        "the DB was still rebuilt from the rest"
    );
}

#[test]
fn update_with_nothing_reachable_leaves_the_db_alone() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("v.db");
    std::fs::write(&db, b"previous").unwrap();
    let config = work.path().join("feeds.json");
    std::fs::write(
        &config,
        r#"{"sources":[{"name":"gone","url":"http://127.0.0.1:9/a.json","format":"osv"}]}"#,
    )
    .unwrap();
    let (code, _, err) = stella(&[
        "db",
        "update",
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--attempts",
        "1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unchanged"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), b"previous");
    std::fs::write(
        &config,
        r#"{"sources":[{"name":"../evil","url":"http://127.0.0.1:9/a","format":"osv"}]}"#,
    )
    .unwrap();
    let (code, _, err) = stella(&[
        "db",
        "update",
        "--db",
        db.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("must be a plain file name"), "{err}");
}

#[test]
fn update_installs_a_signed_prebuilt_db_only_when_it_verifies() {
    let openssl = |args: &[&str]| Command::new("openssl").args(args).output();
    if openssl(&["version"]).is_err() {
        eprintln!("SKIP: openssl is not installed; it makes the signing keys");
        return;
    }
    let site = tempfile::tempdir().unwrap();
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
    // the mirror's DB, signed
    let served = site.path().join("vulns.db");
    let served_s = served.to_str().unwrap();
    let (code, _, err) = stella(&[
        "db",
        "import",
        "--db",
        served_s,
        fixture("alpine").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = stella(&["db", "sign", "--db", served_s, "--key", &w("key.pem")]);
    assert_eq!(code, 0, "{err}");
    let Some((_server, port)) = serve(site.path()) else {
        return;
    };
    std::fs::write(
        w("feeds.json"),
        format!(r#"{{"sources":[{{"name":"mirror","url":"http://127.0.0.1:{port}/vulns.db","format":"stella-db"}}]}}"#),
    )
    .unwrap();
    let local = w("local.db");
    let feeds = w("feeds.json");
    let update = |pubkey: Option<&str>| {
        let mut args = vec!["db", "update", "--db", &local, "--config", &feeds];
        args.extend(["--attempts", "1", "--backoff-ms", "10"]);
        if let Some(k) = pubkey {
            args.extend(["--pubkey", k]);
        }
        stella(&args)
    };
    // a key that did not sign it: refused, nothing installed
    let other = w("other.pub");
    let (code, _, err) = update(Some(&other));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("trusted key") && err.contains("refused"),
        "{err}"
    );
    assert!(!Path::new(&local).exists());
    // the right key: installed with its signature, byte for byte
    let key = w("key.pub");
    let (code, _, err) = update(Some(&key));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("signature verified") && err.contains("installed"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(&served).unwrap()
    );
    let (code, _, err) = stella(&["db", "info", "--db", &local, "--pubkey", &key]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = update(Some(&key));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("up to date"), "{err}");
    // a mirror serving a damaged DB: refused, the local one stays (another URL, so that the
    // server's one-second Last-Modified cannot answer "not modified")
    let good = std::fs::read(&served).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x55;
    std::fs::write(site.path().join("bad.db"), &bad).unwrap();
    std::fs::copy(
        site.path().join("vulns.db.sig"),
        site.path().join("bad.db.sig"),
    )
    .unwrap();
    std::fs::write(
        &feeds,
        format!(r#"{{"sources":[{{"name":"mirror","url":"http://127.0.0.1:{port}/bad.db","format":"stella-db"}}]}}"#),
    )
    .unwrap();
    let (code, _, err) = update(Some(&key));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(std::fs::read(&local).unwrap(), good);
    // a prebuilt DB replaces everything, so it comes alone
    std::fs::write(
        w("mixed.json"),
        format!(r#"{{"sources":[{{"name":"mirror","url":"http://127.0.0.1:{port}/vulns.db","format":"stella-db"}},{{"name":"x","url":"http://127.0.0.1:{port}/x","format":"osv"}}]}}"#),
    )
    .unwrap();
    let (code, _, err) = stella(&["db", "update", "--db", &local, "--config", &w("mixed.json")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only source"), "{err}");
}
