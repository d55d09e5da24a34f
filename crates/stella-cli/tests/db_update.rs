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
    started(child, port)
}

/// The server `child` is, once it listens on `port`; `None` (the test skips) without python3.
fn started(child: std::io::Result<Child>, port: u16) -> Option<(Server, u16)> {
    let Ok(child) = child else {
        eprintln!("SKIP: python3 is not available to serve the feeds");
        return None;
    };
    let server = Server(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the feed server did not start"
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

/// The test feed server (`tests/feed_server.py`): upstream URL layouts, NVD's API.
fn feed_server(root: &Path, nvd: &Path, log: &Path) -> Option<(Server, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/feed_server.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(root)
        .arg(nvd)
        .arg(log)
        .args(["--max-page", "2"])
        .stdout(std::process::Stdio::null())
        .spawn();
    started(child, port)
}

fn zip_of(path: &Path, records: &[(&str, String)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, body) in records {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn the_default_feeds_work_out_of_the_box_through_a_mirror_of_their_upstreams() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path().join("www");
    let nvd = site.path().join("nvd");
    std::fs::create_dir_all(&nvd).unwrap();
    for f in std::fs::read_dir(fixture("nvd-api")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, nvd.join(f.file_name().unwrap())).unwrap();
    }
    let log = site.path().join("nvd.log");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("v.db");
    let config = work.path().join("feeds.json");
    let Some((_server, port)) = feed_server(&root, &nvd, &log) else {
        return;
    };
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        &config,
        format!(
            r#"{{"defaults": true, "mirrors": {{
                "https://osv-vulnerabilities.storage.googleapis.com": "{base}/osv",
                "https://services.nvd.nist.gov": "{base}/nvd",
                "https://www.cisa.gov": "{base}/cisa",
                "https://epss.empiricalsecurity.com": "{base}/epss"}}}}"#
        ),
    )
    .unwrap();
    let db_s = db.to_str().unwrap();
    let cfg_s = config.to_str().unwrap();
    let update = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_stella"));
        c.args(["db", "update", "--db", db_s, "--config", cfg_s])
            .args([
                "--attempts",
                "3",
                "--backoff-ms",
                "10",
                "--nvd-window-ms",
                "300",
            ])
            .args(extra)
            .env_remove("NVD_API_KEY");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // every default feed, at its upstream path under the mirror
    let (code, listing, err) = update(&["--list"], &[]);
    assert_eq!(code, 0, "{err}");
    let mut osv_paths = Vec::new();
    for line in listing.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols[2].starts_with(&base), "{line}");
        if cols[1] == "osv" {
            osv_paths.push(urlish_path(&cols[2][base.len()..]));
        }
    }
    assert!(osv_paths.len() >= 20, "{listing}");
    for p in &osv_paths {
        zip_of(&root.join(p), &[]);
    }
    zip_of(
        &root.join("osv/PyPI/all.zip"),
        &[(
            "GHSA-xxxx-yyyy-zzzz.json",
            std::fs::read_to_string(fixture("osv/GHSA-example.json")).unwrap(),
        )],
    );
    zip_of(
        &root.join("osv/Ubuntu/all.zip"),
        &[(
            "UBUNTU-CVE-2099-1.json",
            r#"{"schema_version":"1.6.0","id":"UBUNTU-CVE-2099-1","modified":"2024-01-01T00:00:00Z","upstream":["CVE-2099-1"],"affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.2-0ubuntu1.15"}]}]}]}"#.to_string(),
        )],
    );
    let kev = root.join("cisa/sites/default/files/feeds/known_exploited_vulnerabilities.json");
    std::fs::create_dir_all(kev.parent().unwrap()).unwrap();
    std::fs::write(
        &kev,
        r#"{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2024.01.01","dateReleased":"2024-01-01T00:00:00.000Z","count":1,"vulnerabilities":[{"cveID":"CVE-2023-0001","vendorProject":"Palo Alto Networks","product":"Cortex XDR Agent","vulnerabilityName":"x","dateAdded":"2024-01-01","shortDescription":"x","requiredAction":"x","dueDate":"2024-01-22","knownRansomwareCampaignUse":"Unknown","notes":""}]}"#,
    )
    .unwrap();
    let epss = root.join("epss/epss_scores-current.csv.gz");
    std::fs::create_dir_all(epss.parent().unwrap()).unwrap();
    {
        let out = Command::new("python3")
            .args([
                "-c",
                "import gzip,sys; open(sys.argv[1],'wb').write(gzip.compress(b'#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\\ncve,epss,percentile\\nCVE-2023-0001,0.97,0.99\\n'))",
            ])
            .arg(&epss)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    // NVD's first answer is its rate-limit 503: retried
    std::fs::write(root.join("nvd-fail-once"), "").unwrap();

    let (code, _, err) = update(&[], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nvd: fetched"), "{err}");
    let q = |ns: &str, pkg: &str| {
        stella(&[
            "db",
            "query",
            "--db",
            db_s,
            "--namespace",
            ns,
            "--package",
            pkg,
        ])
        .1
    };
    assert!(q("pypi", "example-pkg").contains("CVE-2024-0001"));
    assert!(q("ubuntu:22.04", "openssl").contains("CVE-2099-1"));
    let (_, info, _) = stella(&["db", "info", "--db", db_s, "--json"]);
    let m: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(m["kev"], 1, "{info}");
    assert_eq!(m["epss"], 1, "{info}");
    assert!(
        m["feeds"]["nvd"]["records"].as_u64().unwrap() == 4,
        "{info}"
    );
    // NVD paged (2 a page), no date range the first time, no key
    let requests = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let first = requests();
    let starts: Vec<&str> = first
        .iter()
        .map(|r| r["query"]["startIndex"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["0", "0", "2"],
        "the 503, its retry, the second page"
    );
    assert!(
        first
            .iter()
            .all(|r| r["query"].get("lastModStartDate").is_none())
    );
    assert!(first.iter().all(|r| r["apiKey"].is_null()));

    // Unchanged upstreams: every file 304, NVD asked for changes since (none), with the key;
    // the DB is not rebuilt
    let t = Instant::now();
    let (code, _, err) = update(&[], &[("NVD_API_KEY", "k-123")]);
    let took = t.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is up to date"), "{err}");
    assert!(err.contains("nvd: not modified"), "{err}");
    eprintln!("db update of unchanged feeds took {took:?}");
    let again = requests();
    let last = &again[first.len()..];
    assert_eq!(last.len(), 1, "{last:?}");
    assert!(last[0]["query"]["lastModStartDate"].is_string(), "{last:?}");
    assert!(last[0]["query"]["lastModEndDate"].is_string(), "{last:?}");
    assert_eq!(last[0]["apiKey"], "k-123");

    // NVD changes one record: only it is fetched, and it replaces the earlier one
    let p = nvd.join("CVE-2020-0001.json");
    let mut rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    rec["lastModified"] = serde_json::Value::String(
        // after the last run's end, before the next one's (NVD's times: UTC, no zone)
        stella_now_nvd(),
    );
    rec["descriptions"][0]["value"] = "Changed description.".into();
    std::fs::write(&p, rec.to_string()).unwrap();
    let (code, _, err) = update(&[], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("nvd: fetched") && err.contains("wrote"),
        "{err}"
    );
    let (_, info, _) = stella(&["db", "info", "--db", db_s, "--json"]);
    let m: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(
        m["feeds"]["nvd"]["records"], 4,
        "the changed record replaced its page's"
    );

    // One feed goes away upstream: its earlier copy is used, exit 10
    std::fs::remove_file(root.join("osv/Ubuntu/all.zip")).unwrap();
    let (code, _, err) = update(&[], &[]);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("osv-ubuntu: HTTP 404"), "{err}");
    assert!(q("ubuntu:22.04", "openssl").contains("CVE-2099-1"));
    // and it can be switched off
    let (code, _, err) = update(&["--disable", "osv-ubuntu"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!q("ubuntu:22.04", "openssl").contains("CVE-2099-1"));
    let (code, _, err) = update(&["--disable", "osv-ubunt"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no feed named `osv-ubunt`"), "{err}");
}

/// A URL's path with its `%20`s decoded, as a file under the server's root.
fn urlish_path(p: &str) -> String {
    p.trim_start_matches('/').replace("%20", " ")
}

/// Now (to the second), as NVD writes `lastModified` (UTC, milliseconds, no zone).
fn stella_now_nvd() -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import datetime; print((datetime.datetime.now(datetime.timezone.utc)).strftime('%Y-%m-%dT%H:%M:%S.000'))",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
