//! `stella ouk` end to end: a kit built, verified, and imported under a running Core, which
//! keeps answering scans and picks the new DB up; a tampered or older kit changes nothing.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;

fn run(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = stella().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new(&$a)),*] };
}

fn built(db: &std::path::Path) -> String {
    stella_advisory::Db::open(db)
        .unwrap()
        .manifest()
        .built
        .clone()
}

#[test]
fn a_kit_installs_under_a_running_core_and_wrong_ones_change_nothing() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let old = secdb_db(d);
    // a later DB (built at least a second later, with one more fix)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let new = secdb_db_with(
        d,
        "v3.18",
        r#"{"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"]}}}"#,
    );
    assert!(built(&new) > built(&old));
    let prefix = d.join("vendor");
    assert_eq!(
        run(args!["attest", "keygen", "-o", prefix.as_os_str()]).0,
        0
    );
    let (key, public) = (d.join("vendor.key"), d.join("vendor.pub"));
    let kit = d.join("kit.tar");
    let old_kit = d.join("old-kit.tar");
    for (db, out) in [(&new, &kit), (&old, &old_kit)] {
        let (code, text) = run(args![
            "ouk",
            "build",
            "--db",
            db.as_os_str(),
            "--key",
            key.as_os_str(),
            "-o",
            out.as_os_str()
        ]);
        assert_eq!(code, 0, "{text}");
    }
    let (code, text) = run(args![
        "ouk",
        "verify",
        "--key",
        public.as_os_str(),
        kit.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("verified") && text.contains(&built(&new)),
        "{text}"
    );
    // a delta against the old DB installs onto exactly that DB
    let delta = d.join("delta.tar");
    let (code, text) = run(args![
        "ouk",
        "build",
        "--db",
        new.as_os_str(),
        "--base",
        old.as_os_str(),
        "--key",
        key.as_os_str(),
        "-o",
        delta.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(args![
        "ouk",
        "verify",
        "--key",
        public.as_os_str(),
        delta.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("delta    applies to the DB built"), "{text}");
    let copy = d.join("copy.db");
    std::fs::copy(&old, &copy).unwrap();
    let (code, text) = run(args![
        "ouk",
        "import",
        "--key",
        public.as_os_str(),
        "--db",
        copy.as_os_str(),
        delta.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&new).unwrap());

    // the site: Core serving the old DB
    let site = d.join("site.db");
    std::fs::copy(&old, &site).unwrap();
    let data = d.join("data");
    let server = serve(&data, &site, &[]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);

    // a tampered kit is refused before anything changes
    let mut bytes = std::fs::read(&kit).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 1;
    let bad = d.join("bad.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let (code, text) = run(args![
        "ouk",
        "import",
        "--key",
        public.as_os_str(),
        "--db",
        site.as_os_str(),
        bad.as_os_str()
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("kit refused") && text.contains("nothing installed was changed"),
        "{text}"
    );
    assert_eq!(std::fs::read(&site).unwrap(), std::fs::read(&old).unwrap());

    // scans keep being answered while the kit goes in
    let stop_scans = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let scanner = {
        let (url, auth, stop_scans, ok, failed) = (
            url.clone(),
            auth.clone(),
            stop_scans.clone(),
            ok.clone(),
            failed.clone(),
        );
        std::thread::spawn(move || {
            while !stop_scans.load(Ordering::Relaxed) {
                let (code, _, text) = status_of(
                    ureq::post(&format!("{url}/api/v1/scan?wait=true"))
                        .set("Authorization", &auth)
                        .set("Content-Type", "application/json")
                        .send_string(&memcached_sbom()),
                );
                if code == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("scan during the import: {code} {text}");
                }
                // a steady stream, well inside the token's daily quota (333 scans)
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (code, text) = run(args![
        "ouk",
        "import",
        "--key",
        public.as_os_str(),
        "--db",
        site.as_os_str(),
        kit.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("installed the DB"), "{text}");
    // Core loads the new file by itself (it watches it)
    let want = built(&new);
    let mut seen = String::new();
    for _ in 0..50 {
        let (_, _, feeds) = status_of(
            ureq::get(&format!("{url}/api/v1/feeds"))
                .set("Authorization", &auth)
                .call(),
        );
        seen = serde_json::from_str::<serde_json::Value>(&feeds).unwrap()["built"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if seen == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(seen, want, "Core serves the kit's DB");
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop_scans.store(true, Ordering::Relaxed);
    scanner.join().unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no scan failed during the import"
    );
    assert!(ok.load(Ordering::Relaxed) > 0);

    // the older kit now is a replay: refused, Core keeps the new DB
    let (code, text) = run(args![
        "ouk",
        "import",
        "--key",
        public.as_os_str(),
        "--db",
        site.as_os_str(),
        old_kit.as_os_str()
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("older kit"), "{text}");
    assert_eq!(built(&site), want);
    // importing the same kit again changes nothing
    let (code, text) = run(args![
        "ouk",
        "import",
        "--key",
        public.as_os_str(),
        "--db",
        site.as_os_str(),
        kit.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("already installed"), "{text}");
    stop(server);
}

#[test]
fn core_takes_a_kit_over_its_api() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let old = secdb_db(d);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let new = secdb_db_with(
        d,
        "v3.18",
        r#"{"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"]}}}"#,
    );
    let prefix = d.join("vendor");
    assert_eq!(
        run(args!["attest", "keygen", "-o", prefix.as_os_str()]).0,
        0
    );
    let (key, public) = (d.join("vendor.key"), d.join("vendor.pub"));
    let kit = d.join("kit.tar");
    let (code, text) = run(args![
        "ouk",
        "build",
        "--db",
        new.as_os_str(),
        "--key",
        key.as_os_str(),
        "-o",
        kit.as_os_str()
    ]);
    assert_eq!(code, 0, "{text}");
    let post = |url: &str, auth: &str, body: &[u8], q: &str| {
        status_of(
            ureq::post(&format!("{url}/api/v1/ouk{q}"))
                .set("Authorization", auth)
                .set("Content-Type", "application/x-tar")
                .send_bytes(body),
        )
    };
    let site = d.join("site.db");
    std::fs::copy(&old, &site).unwrap();
    let data = d.join("data");
    // without a kit key Core takes no kit
    let server = serve(&data, &site, &[]);
    let auth = admin_bearer(&server);
    let (code, _, text) = post(&server.url, &auth, &std::fs::read(&kit).unwrap(), "");
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("--kit-key"), "{text}");
    stop(server);

    let server = serve(&data, &site, &["--kit-key", public.to_str().unwrap()]);
    let url = server.url.clone();
    let auth = admin_bearer(&server);
    let mut bad = std::fs::read(&kit).unwrap();
    let n = bad.len() / 2;
    bad[n] ^= 1;
    let (code, _, text) = post(&url, &auth, &bad, "");
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("changed after the kit was signed"), "{text}");
    let (code, _, text) = post(&url, &auth, &std::fs::read(&kit).unwrap(), "");
    assert_eq!(code, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["built"], built(&new).as_str());
    assert_eq!(v["changed"], true);
    let (_, _, feeds) = status_of(
        ureq::get(&format!("{url}/api/v1/feeds"))
            .set("Authorization", &auth)
            .call(),
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&feeds).unwrap()["built"],
        built(&new).as_str(),
        "served at once"
    );
    // an older kit is a replay
    let old_kit = d.join("old.tar");
    assert_eq!(
        run(args![
            "ouk",
            "build",
            "--db",
            old.as_os_str(),
            "--key",
            key.as_os_str(),
            "-o",
            old_kit.as_os_str()
        ])
        .0,
        0
    );
    let (code, _, text) = post(&url, &auth, &std::fs::read(&old_kit).unwrap(), "");
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("older kit"), "{text}");
    let (code, _, text) = post(
        &url,
        &auth,
        &std::fs::read(&old_kit).unwrap(),
        "?force=true",
    );
    assert_eq!(code, 200, "{text}");
    // no upload left behind in the data directory
    assert!(std::fs::read_dir(&data).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".ouk-upload")
    }));
    stop(server);
}
